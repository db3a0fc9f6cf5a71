//! Non-blocking delivery. Each consumed event is tried in a task of its own, under a
//! per-endpoint concurrency limit, so a slow or failing endpoint holds up only its own events;
//! a failed try goes to the next retry tier topic instead of waiting here. Offsets are stored
//! in order (`OffsetTracker`): only once every event before has been delivered, handed to a
//! retry tier, parked in `events.dlq` or skipped. A crash re-delivers; it never skips.
//!
//! The same loop serves `events` and each retry tier `events.retry.<n>`; a tier's records all
//! wait the same delay, so it waits for each record's time in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use pipeline::instances::InstanceCatalog;
use pipeline::kafka::StageContext;
use pipeline::kafka::{RECEIVED_AT_HEADER, Topics, header_str, next_message};
use pipeline::{StageError, now_ms};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::value::RawValue;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::attempt::{AttemptLog, Attempter, Event, Next};
use crate::client::CallbackClient;
use crate::metrics::Metrics;
use crate::retry::RetrySchedule;
use crate::tracker::OffsetTracker;

pub const ATTEMPTS_HEADER: &str = "deliver-attempts";
pub const NOT_BEFORE_HEADER: &str = "deliver-not-before";
const PRODUCE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every delivery task shares.
pub struct Shared {
    pub catalog: Arc<InstanceCatalog>,
    pub client: CallbackClient,
    pub schedule: RetrySchedule,
    pub producer: FutureProducer,
    pub topics: Topics,
    pub metrics: Metrics,
    pub per_endpoint: usize,
    /// How long an event may wait for its endpoint's limit before it counts as a failed try.
    pub endpoint_wait: Duration,
    endpoints: Mutex<Endpoints>,
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        catalog: Arc<InstanceCatalog>,
        client: CallbackClient,
        schedule: RetrySchedule,
        producer: FutureProducer,
        topics: Topics,
        metrics: Metrics,
        per_endpoint: usize,
        endpoint_wait: Duration,
    ) -> Self {
        Self {
            catalog,
            client,
            schedule,
            producer,
            topics,
            metrics,
            per_endpoint,
            endpoint_wait,
            endpoints: Mutex::default(),
        }
    }

    /// The concurrency limit of the endpoint (scheme, host, port) `instance_id` calls back.
    fn endpoint_limit(&self, instance_id: u64) -> Arc<Semaphore> {
        let instance = self.catalog.get(instance_id);
        let url = instance
            .as_ref()
            .and_then(|i| i.callback_url())
            .unwrap_or_default();
        let mut endpoints = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(limit) = endpoints.by_url.get(url) {
            return limit.clone();
        }
        // First time this URL is seen: find its endpoint, shared with other URLs on it.
        let origin = url::Url::parse(url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        let limit = endpoints
            .by_origin
            .entry(origin)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint)))
            .clone();
        endpoints.by_url.insert(url.to_owned(), limit.clone());
        limit
    }
}

/// Per-endpoint limits, found by callback URL without parsing it each time.
#[derive(Default)]
struct Endpoints {
    by_url: HashMap<String, Arc<Semaphore>>,
    by_origin: HashMap<String, Arc<Semaphore>>,
}

/// Where a loop reads from.
pub struct Source {
    pub topic: String,
    /// 0 for `events`, `n` for retry tier `n`.
    pub retries: usize,
    pub consumer: StreamConsumer<StageContext>,
}

/// Consumes `source` until shutdown, then lets tries in flight finish (up to `drain`) and commits.
pub async fn run(
    source: Source,
    shared: Arc<Shared>,
    max_in_flight: usize,
    drain: Duration,
    shutdown: &CancellationToken,
) -> Result<(), StageError> {
    let Source {
        topic,
        retries,
        consumer,
    } = source;
    consumer.subscribe(&[&topic])?;
    let in_flight = Arc::new(Semaphore::new(max_in_flight));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(i32, i64)>();
    let mut tracker = OffsetTracker::default();
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            Some((partition, offset)) = done_rx.recv() => {
                finish(&consumer, &topic, &mut tracker, partition, offset);
                continue;
            }
            permit = in_flight.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let message = loop {
            tokio::select! {
                message = next_message(&consumer, shutdown) => break message,
                Some((partition, offset)) = done_rx.recv() => finish(&consumer, &topic, &mut tracker, partition, offset),
            }
        };
        let Some(message) = message else {
            break;
        };
        let (partition, offset) = (message.partition(), message.offset());
        let due = header_str(&message, NOT_BEFORE_HEADER).and_then(|v| v.parse::<i64>().ok());
        let event = parse(&message, retries);
        drop(message);
        tracker.begin(partition, offset);
        // A tier's records wait in order; meanwhile finished tries still move offsets on.
        if let Some(due) = due {
            let sleep = tokio::time::sleep(Duration::from_millis((due - now_ms()).max(0) as u64));
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    _ = shutdown.cancelled() => break,
                    Some((partition, offset)) = done_rx.recv() => finish(&consumer, &topic, &mut tracker, partition, offset),
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
        }
        let (shared, done_tx) = (shared.clone(), done_tx.clone());
        tokio::spawn(async move {
            handle(&shared, event).await;
            drop(permit);
            let _ = done_tx.send((partition, offset));
        });
    }
    // Drain: tries in flight finish and their offsets are stored before the final commit.
    drop(done_tx);
    let deadline = tokio::time::Instant::now() + drain;
    while tracker.in_flight() > 0 {
        match tokio::time::timeout_at(deadline, done_rx.recv()).await {
            Ok(Some((partition, offset))) => {
                finish(&consumer, &topic, &mut tracker, partition, offset)
            }
            _ => break,
        }
    }
    if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(%topic, %error, "Nothing to commit at shutdown.");
    }
    Ok(())
}

fn finish(
    consumer: &StreamConsumer<StageContext>,
    topic: &str,
    tracker: &mut OffsetTracker,
    partition: i32,
    offset: i64,
) {
    let Some(next) = tracker.finish(partition, offset) else {
        return;
    };
    let mut offsets = TopicPartitionList::new();
    if offsets
        .add_partition_offset(topic, partition, Offset::Offset(next))
        .is_ok()
        && let Err(error) = consumer.store_offsets(&offsets)
    {
        // The partition moved to another copy, which re-delivers from the last commit.
        tracing::debug!(%topic, partition, %error, "Could not store an offset.");
        tracker.forget(partition);
    }
}

/// An event as read from `events` or a retry tier. A record that is no notification still
/// flows through, and is skipped for want of an instance.
fn parse(message: &impl Message, retries: usize) -> Event {
    let instance_id = message
        .key()
        .and_then(|key| std::str::from_utf8(key).ok()?.parse().ok())
        .unwrap_or(0);
    let body = Bytes::copy_from_slice(message.payload().unwrap_or_default());
    let attempts = header_str(message, ATTEMPTS_HEADER)
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    Event {
        instance_id,
        event_id: event_id(&body).unwrap_or_default(),
        body,
        received_at_ms: header_str(message, RECEIVED_AT_HEADER).and_then(|v| v.parse().ok()),
        retries,
        attempts,
    }
}

/// Tries the event once and puts it where it goes next; only returns once that is durable.
async fn handle(shared: &Shared, mut event: Event) {
    let attempter = Attempter {
        catalog: &shared.catalog,
        client: &shared.client,
        schedule: &shared.schedule,
    };
    let limit = shared.endpoint_limit(event.instance_id);
    let next = match tokio::time::timeout(shared.endpoint_wait, limit.acquire_owned()).await {
        Ok(Ok(_permit)) => attempter.try_once(&mut event).await,
        _ => attempter.endpoint_busy(&mut event),
    };
    shared.metrics.record(&event, &next);
    let (instance_id, event_id) = (event.instance_id, event.event_id.clone());
    match &next {
        Next::Delivered { status } => tracing::info!(instance_id, %event_id, status, "Delivered."),
        Next::Skipped(why) => tracing::info!(instance_id, %event_id, why, "Skipped."),
        Next::Retry { tier, .. } => {
            let last = event.attempts.last();
            tracing::warn!(instance_id, %event_id, tier, status = ?last.and_then(|a| a.status), error = ?last.and_then(|a| a.error.as_deref()), "Callback failed; will retry.")
        }
        Next::Park { reason } => {
            tracing::error!(instance_id, %event_id, %reason, "Parking the event in events.dlq.")
        }
    }
    // Kafka must take the event before its offset may move: keep trying.
    let mut backoff = Duration::from_millis(100);
    while let Err(error) = forward(shared, &event, &next).await {
        tracing::error!(%error, "Could not hand an event on; retrying.");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Writes the event to its retry tier or to `events.dlq`, as `next` says.
async fn forward(shared: &Shared, event: &Event, next: &Next) -> Result<(), KafkaError> {
    let key = event.instance_id.to_string();
    let attempts = serde_json::to_string(&event.attempts).expect("attempts serialize");
    let received_at = event.received_at_ms.map(|ms| ms.to_string());
    let mut headers = OwnedHeaders::new().insert(Header {
        key: ATTEMPTS_HEADER,
        value: Some(&attempts),
    });
    if let Some(received_at) = &received_at {
        headers = headers.insert(Header {
            key: RECEIVED_AT_HEADER,
            value: Some(received_at),
        });
    }
    let (topic, payload) = match next {
        Next::Delivered { .. } | Next::Skipped(_) => return Ok(()),
        Next::Retry {
            tier,
            not_before_ms,
        } => {
            let due = not_before_ms.to_string();
            headers = headers.insert(Header {
                key: NOT_BEFORE_HEADER,
                value: Some(&due),
            });
            (shared.topics.delivery_retry(*tier), event.body.to_vec())
        }
        Next::Park { reason } => (shared.topics.events_dlq.clone(), parked(event, reason)),
    };
    let record = FutureRecord::to(&topic)
        .key(&key)
        .payload(&payload)
        .headers(headers);
    shared
        .producer
        .send(record, PRODUCE_TIMEOUT)
        .await
        .map_err(|(error, _)| error)?;
    Ok(())
}

/// An `events.dlq` value: the notification exactly as it was, why it was parked, every try.
fn parked(event: &Event, reason: &str) -> Vec<u8> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Parked<'a> {
        reason: &'a str,
        parked_at: String,
        instance_id: u64,
        event_id: &'a str,
        attempts: &'a [AttemptLog],
        notification: Option<&'a RawValue>,
    }
    let notification = std::str::from_utf8(&event.body)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok());
    let value = Parked {
        reason,
        parked_at: schemas::timestamp::format(time::OffsetDateTime::now_utc()),
        instance_id: event.instance_id,
        event_id: &event.event_id,
        attempts: &event.attempts,
        notification,
    };
    serde_json::to_vec(&value).expect("a parked event serializes")
}

/// The notification's `message.eventId`.
fn event_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Notification {
        message: MessageIds,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct MessageIds {
        event_id: String,
    }
    serde_json::from_slice::<Notification>(body)
        .ok()
        .map(|n| n.message.event_id)
}
