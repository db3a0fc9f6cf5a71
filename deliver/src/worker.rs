//! The consume → sign → POST loop. Each event is tried on the retry schedule until it is
//! delivered, refused for good (410) or out of retries (then parked in `events.dlq`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pipeline::StageError;
use pipeline::instances::InstanceCatalog;
use pipeline::kafka::{RECEIVED_AT_HEADER, Topics, header_str, next_message};
use pipeline::ops::Readiness;
use pipeline::{now_ms, signing};
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::client::{Attempt, CallbackClient};
use crate::metrics::Metrics;
use crate::retry::{RetrySchedule, Verdict, verdict};
use crate::settings::Settings;

const PRODUCE_TIMEOUT: Duration = Duration::from_secs(30);

/// What became of one event.
enum Outcome {
    Delivered,
    Skipped(&'static str),
    Parked {
        reason: String,
        attempts: Vec<AttemptLog>,
    },
    Interrupted,
}

/// One try, as recorded in `events.dlq`.
#[derive(Debug, Serialize)]
struct AttemptLog {
    at: String,
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub struct Worker {
    consumer: StreamConsumer,
    producer: FutureProducer,
    topics: Topics,
    catalog: Arc<InstanceCatalog>,
    client: CallbackClient,
    schedule: RetrySchedule,
    metrics: Metrics,
}

impl Worker {
    pub fn new(
        settings: &Settings,
        topics: Topics,
        catalog: Arc<InstanceCatalog>,
        client: CallbackClient,
        metrics: Metrics,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            consumer: pipeline::kafka::consumer(&settings.common.kafka, &settings.group)?,
            producer: pipeline::kafka::producer(
                &settings.common.kafka,
                PRODUCE_TIMEOUT.as_millis() as u64,
            )?,
            topics,
            catalog,
            client,
            schedule: settings.retry_schedule.clone(),
            metrics,
        })
    }

    pub async fn run(
        self,
        readiness: &Readiness,
        shutdown: &CancellationToken,
    ) -> Result<(), StageError> {
        self.consumer.subscribe(&[&self.topics.events])?;
        readiness.ready(crate::CONSUMER);
        tracing::info!(topic = %self.topics.events, "deliver is consuming.");
        loop {
            let Some(message) = next_message(&self.consumer, shutdown).await else {
                break;
            };
            match self.deliver(&message, shutdown).await {
                Outcome::Delivered => self.metrics.events.with_label_values(&["delivered"]).inc(),
                Outcome::Skipped(why) => self.metrics.events.with_label_values(&[why]).inc(),
                Outcome::Parked { reason, attempts } => {
                    self.park(&message, &reason, attempts).await?;
                    self.metrics
                        .events
                        .with_label_values(&["dead_lettered"])
                        .inc();
                }
                Outcome::Interrupted => break,
            }
            self.consumer.store_offset_from_message(&message)?;
        }
        self.producer.flush(Duration::from_secs(10))?;
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::warn!(%error, "Final offset commit failed; the next copy re-delivers from the last commit.");
        }
        Ok(())
    }

    async fn deliver(&self, message: &impl Message, shutdown: &CancellationToken) -> Outcome {
        let Some(instance_id) = message
            .key()
            .and_then(|key| std::str::from_utf8(key).ok()?.parse::<u64>().ok())
        else {
            return Outcome::Skipped("skipped_bad_record");
        };
        let body = Bytes::copy_from_slice(message.payload().unwrap_or_default());
        let event_id = event_id(&body).unwrap_or_default();
        let mut attempts = Vec::new();
        for retry in 0.. {
            // Read the instance at each try: a moved URL or rotated key applies to what is pending.
            let Some(instance) = self.catalog.get(instance_id) else {
                return Outcome::Skipped("skipped_instance_gone");
            };
            let Some(url) = instance
                .callback_url()
                .filter(|_| instance.events_enabled())
            else {
                return Outcome::Skipped("skipped_disabled");
            };
            let key = instance.signature_key.as_ref().map(|key| key.expose());
            let timestamp = OffsetDateTime::now_utc().unix_timestamp();
            let headers = signing::callback_headers(key, &event_id, timestamp, &body);
            if retry > 0 {
                self.metrics.retries.inc();
            }
            let attempt = self.client.post(url, body.clone(), &headers).await;
            self.record(&attempt, instance_id, &event_id, &mut attempts);
            match verdict(attempt.status) {
                Verdict::Delivered => {
                    self.observe_latency(message);
                    return Outcome::Delivered;
                }
                Verdict::Stop => {
                    let reason = "the receiver answered 410 Gone".to_owned();
                    return Outcome::Parked { reason, attempts };
                }
                Verdict::Retry => {}
            }
            let Some(wait) = self
                .schedule
                .delay(retry, attempt.retry_after, &mut rand::rng())
            else {
                let reason = format!("no success after {} attempts", attempts.len());
                return Outcome::Parked { reason, attempts };
            };
            tokio::select! {
                _ = shutdown.cancelled() => return Outcome::Interrupted,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        unreachable!("the retry loop returns")
    }

    fn record(
        &self,
        attempt: &Attempt,
        instance_id: u64,
        event_id: &str,
        log: &mut Vec<AttemptLog>,
    ) {
        let class = match attempt.status {
            Some(status) => ["1xx", "2xx", "3xx", "4xx", "5xx"]
                .get((status / 100) as usize - 1)
                .copied()
                .unwrap_or("error"),
            None => "error",
        };
        self.metrics.attempts.with_label_values(&[class]).inc();
        match (&attempt.status, &attempt.error) {
            (Some(status), _) if (200..300).contains(status) => {
                tracing::info!(instance_id, %event_id, status, "Delivered.");
            }
            (status, error) => {
                tracing::warn!(instance_id, %event_id, ?status, error = error.as_deref(), "Callback failed.");
            }
        }
        log.push(AttemptLog {
            at: schemas::timestamp::format(OffsetDateTime::now_utc()),
            status: attempt.status,
            error: attempt.error.clone(),
        });
    }

    fn observe_latency(&self, message: &impl Message) {
        if let Some(received_at) =
            header_str(message, RECEIVED_AT_HEADER).and_then(|v| v.parse::<i64>().ok())
        {
            let seconds = (now_ms() - received_at).max(0) as f64 / 1000.0;
            self.metrics.end_to_end_seconds.observe(seconds);
        }
    }

    /// Writes the event to `events.dlq` with every attempt, for `deliver replay`.
    async fn park(
        &self,
        message: &impl Message,
        reason: &str,
        attempts: Vec<AttemptLog>,
    ) -> Result<(), KafkaError> {
        let notification: Value = message
            .payload()
            .and_then(|payload| serde_json::from_slice(payload).ok())
            .unwrap_or(Value::Null);
        let value = json!({
            "reason": reason,
            "parkedAt": schemas::timestamp::format(OffsetDateTime::now_utc()),
            "attempts": attempts,
            "notification": notification,
        });
        let payload = serde_json::to_vec(&value).expect("JSON serializes");
        let key = message.key().unwrap_or_default();
        let record = FutureRecord::to(&self.topics.events_dlq)
            .key(key)
            .payload(&payload);
        self.producer
            .send(record, PRODUCE_TIMEOUT)
            .await
            .map_err(|(error, _)| error)?;
        self.metrics.dlq_writes.inc();
        tracing::error!(%reason, "Parked an event in events.dlq.");
        Ok(())
    }
}

/// The notification's `message.eventId`.
fn event_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Notification {
        message: Message,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Message {
        event_id: String,
    }
    serde_json::from_slice::<Notification>(body)
        .ok()
        .map(|n| n.message.event_id)
}
