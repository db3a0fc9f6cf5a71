//! The consume → resolve → produce loop: one raw record at a time per copy, in partition order.

use std::sync::Arc;
use std::time::Duration;

use pipeline::StageError;
use pipeline::element::ElementKey;
use pipeline::element::dropbox::api::DropboxError;
use pipeline::instances::{Instance, InstanceCatalog};
use pipeline::kafka::{RECEIVED_AT_HEADER, Topics, next_message};
use pipeline::ops::Readiness;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use schemas::RawEnvelope;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::resolve::Resolver;
use crate::state::{self, StateStore};
use crate::{Settings, notification};

/// How long a send may wait for Kafka before the stage gives up and restarts from its offsets.
const PRODUCE_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why a raw record was not normalized.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// It never will be: it goes to `webhooks.dlq` with this reason.
    #[error("{0}")]
    Permanent(String),
    /// Shutdown came first; the record is left for the next copy.
    #[error("interrupted by shutdown")]
    Interrupted,
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
}

pub struct Processor {
    consumer: StreamConsumer,
    worker: Worker,
}

struct Worker {
    producer: FutureProducer,
    topics: Topics,
    catalog: Arc<InstanceCatalog>,
    store: StateStore,
    resolver: Resolver,
    metrics: Metrics,
}

impl Processor {
    pub fn new(
        settings: &Settings,
        topics: Topics,
        catalog: Arc<InstanceCatalog>,
        store: StateStore,
        resolver: Resolver,
        metrics: Metrics,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            consumer: pipeline::kafka::consumer(&settings.common.kafka, &settings.group)?,
            worker: Worker {
                producer: pipeline::kafka::producer(
                    &settings.common.kafka,
                    PRODUCE_TIMEOUT.as_millis() as u64,
                )?,
                topics,
                catalog,
                store,
                resolver,
                metrics,
            },
        })
    }

    pub async fn run(
        self,
        readiness: &Readiness,
        shutdown: &CancellationToken,
    ) -> Result<(), StageError> {
        let Processor {
            consumer,
            mut worker,
        } = self;
        consumer.subscribe(&[&worker.topics.webhooks_raw])?;
        readiness.ready(crate::CONSUMER);
        tracing::info!(topic = %worker.topics.webhooks_raw, "normalize is consuming.");
        loop {
            let Some(message) = next_message(&consumer, shutdown).await else {
                break;
            };
            match worker.handle(&message, shutdown).await {
                Ok(()) => {}
                Err(Failure::Interrupted) => break,
                Err(Failure::Permanent(reason)) => worker.dead_letter(&message, &reason).await?,
                Err(Failure::Kafka(error)) => return Err(error.into()),
            }
            consumer.store_offset_from_message(&message)?;
        }
        worker.producer.flush(Duration::from_secs(10))?;
        if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::warn!(%error, "Final offset commit failed; the next copy re-reads from the last commit.");
        }
        Ok(())
    }
}

impl Worker {
    async fn handle(
        &mut self,
        message: &impl Message,
        shutdown: &CancellationToken,
    ) -> Result<(), Failure> {
        let envelope: RawEnvelope = message
            .payload()
            .ok_or_else(|| Failure::Permanent("the record has no value".into()))
            .and_then(|payload| {
                serde_json::from_slice(payload)
                    .map_err(|error| Failure::Permanent(format!("not a raw envelope: {error}")))
            })?;
        let element = ElementKey::parse(&envelope.element_key).ok_or_else(|| {
            Failure::Permanent(format!("unknown element `{}`", envelope.element_key))
        })?;
        let instances: Vec<Arc<Instance>> = self
            .catalog
            .for_account(element, &envelope.account)
            .into_iter()
            .filter(|instance| instance.events_enabled())
            .collect();
        if instances.is_empty() {
            self.metrics
                .records
                .with_label_values(&["no_instance"])
                .inc();
            tracing::debug!(account = %envelope.account, "No instance with events for this account.");
            return Ok(());
        }
        let webhook: Value = serde_json::from_str(&envelope.body).unwrap_or(json!(envelope.body));
        for instance in &instances {
            for account in accounts_to_resolve(instance, &envelope.account) {
                self.normalize_account(
                    instance,
                    &account,
                    &webhook,
                    envelope.received_at_ms,
                    shutdown,
                )
                .await?;
            }
        }
        self.metrics
            .records
            .with_label_values(&["normalized"])
            .inc();
        Ok(())
    }

    async fn normalize_account(
        &mut self,
        instance: &Instance,
        account: &str,
        webhook: &Value,
        received_at_ms: i64,
        shutdown: &CancellationToken,
    ) -> Result<(), Failure> {
        let key = state::key(instance.id(), account);
        let mut account_state = self.store.get(&key);
        let initial = instance
            .record
            .accounts
            .iter()
            .find(|connected| connected.id == account)
            .map(|connected| connected.initial_cursor.clone());
        let Some(cursor) = account_state.cursor.clone().or(initial) else {
            return Err(Failure::Permanent(format!(
                "instance {} has no cursor for {account}",
                instance.id()
            )));
        };
        let fetched = self
            .fetch_with_retry(instance, account, &cursor, shutdown)
            .await?;
        let changes = account_state.known.apply(&fetched.entries);
        account_state.cursor = Some(fetched.cursor);
        let now = schemas::timestamp::format(OffsetDateTime::now_utc());
        let notifications = notification::build(instance, account, webhook, &changes, &now);

        let instance_key = instance.id().to_string();
        let received_at = received_at_ms.to_string();
        for notification in &notifications {
            let payload = serde_json::to_vec(notification).expect("a notification serializes");
            let headers = OwnedHeaders::new().insert(Header {
                key: RECEIVED_AT_HEADER,
                value: Some(&received_at),
            });
            let record = FutureRecord::to(&self.topics.events)
                .key(&instance_key)
                .payload(&payload)
                .headers(headers);
            self.send(record).await?;
        }
        let state_payload = serde_json::to_vec(&account_state).expect("state serializes");
        let record = FutureRecord::to(&self.topics.normalize_state)
            .key(&key)
            .payload(&state_payload);
        self.send(record).await?;
        self.store.put(key, account_state);
        self.metrics
            .notifications
            .inc_by(notifications.len() as u64);
        tracing::info!(
            instance_id = instance.id(),
            %account,
            changes = changes.len(),
            notifications = notifications.len(),
            "Normalized account changes."
        );
        Ok(())
    }

    async fn fetch_with_retry(
        &self,
        instance: &Instance,
        account: &str,
        cursor: &str,
        shutdown: &CancellationToken,
    ) -> Result<crate::resolve::Fetched, Failure> {
        let mut backoff = Duration::from_millis(200);
        loop {
            let wait = match self.resolver.changes_since(instance, account, cursor).await {
                Ok(fetched) => return Ok(fetched),
                Err(DropboxError::RateLimited { retry_after }) => retry_after,
                Err(error) if error.is_transient() => backoff,
                Err(error) => {
                    return Err(Failure::Permanent(format!(
                        "instance {}: {error}",
                        instance.id()
                    )));
                }
            };
            self.metrics.dropbox_retries.inc();
            tracing::warn!(instance_id = instance.id(), %account, ?wait, "Dropbox call failed; retrying.");
            tokio::select! {
                _ = shutdown.cancelled() => return Err(Failure::Interrupted),
                _ = tokio::time::sleep(wait) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn send(&self, record: FutureRecord<'_, String, Vec<u8>>) -> Result<(), KafkaError> {
        self.producer
            .send(record, PRODUCE_TIMEOUT)
            .await
            .map(|_| ())
            .map_err(|(error, _)| error)
    }

    /// Parks a record that can never be normalized in `webhooks.dlq`, with why.
    async fn dead_letter(&self, message: &impl Message, reason: &str) -> Result<(), KafkaError> {
        tracing::error!(partition = message.partition(), offset = message.offset(), %reason, "Dead-lettering a raw record.");
        let value = json!({
            "reason": reason,
            "topic": message.topic(),
            "partition": message.partition(),
            "offset": message.offset(),
            "failedAt": schemas::timestamp::format(OffsetDateTime::now_utc()),
            "record": message.payload().map(String::from_utf8_lossy),
        });
        let key = message
            .key()
            .map(|key| String::from_utf8_lossy(key).into_owned())
            .unwrap_or_default();
        let payload = serde_json::to_vec(&value).expect("JSON serializes");
        let record = FutureRecord::to(&self.topics.webhooks_dlq)
            .key(&key)
            .payload(&payload);
        self.send(record).await?;
        self.metrics
            .records
            .with_label_values(&["dead_lettered"])
            .inc();
        Ok(())
    }
}

/// A team-level notification (no member named) concerns every connected member.
fn accounts_to_resolve(instance: &Instance, account: &str) -> Vec<String> {
    if account.starts_with("dbtid:") {
        instance
            .record
            .accounts
            .iter()
            .map(|a| a.id.clone())
            .collect()
    } else {
        vec![account.to_owned()]
    }
}
