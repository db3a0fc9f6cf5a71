//! Exactly once from `webhooks.raw` to `events`: each batch's notifications, state changes,
//! retries, dead letters and consumer offsets are committed in one Kafka transaction. A batch
//! whose transaction fails is aborted and consumed again from its first offsets; in-memory state
//! changes only once Kafka committed them. Downstream reads `read_committed`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use pipeline::StageError;
use pipeline::instances::InstanceCatalog;
use pipeline::kafka::{AtEnd, Partitions, StageContext, Topics, next_message, read_compacted};
use pipeline::ops::Readiness;
use pipeline::settings::KafkaSettings;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::{Message, Offset};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::resolve::Resolver;
use crate::retry::ATTEMPT_HEADER;
use crate::state::{self, AccountState, StateStore};
use crate::work::{Input, Outputs, Planner};
use crate::write;
use crate::{CONSUMER, Settings};

const TXN_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Normalizer {
    consumer: StreamConsumer<StageContext>,
    producer: FutureProducer,
    transactional_id: String,
    kafka: KafkaSettings,
    topics: Topics,
    catalog: Arc<InstanceCatalog>,
    resolver: Resolver,
    store: StateStore,
    metrics: Metrics,
    settings: Settings,
}

impl Normalizer {
    pub fn new(
        settings: &Settings,
        topics: Topics,
        catalog: Arc<InstanceCatalog>,
        resolver: Resolver,
        metrics: Metrics,
        readiness: &Readiness,
    ) -> Result<Self, KafkaError> {
        let kafka = settings.common.kafka.clone();
        let copy_id = settings
            .copy_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let transactional_id = format!("{}-{copy_id}", settings.group);
        Ok(Self {
            consumer: pipeline::kafka::transactional_consumer(
                &kafka,
                &settings.group,
                settings.copy_id.as_deref(),
                StageContext::with_lag(metrics.consumer_lag.clone())
                    .reporting_to(readiness.clone()),
            )?,
            producer: pipeline::kafka::transactional_producer(&kafka, &transactional_id)?,
            transactional_id,
            kafka,
            topics,
            catalog,
            resolver,
            store: StateStore::default(),
            metrics,
            settings: settings.clone(),
        })
    }

    pub async fn run(
        mut self,
        readiness: &Readiness,
        shutdown: &CancellationToken,
    ) -> Result<(), StageError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || producer.init_transactions(TXN_TIMEOUT)).await??;
        self.consumer.subscribe(&[&self.topics.webhooks_raw])?;
        readiness.ready(CONSUMER);
        tracing::info!(topic = %self.topics.webhooks_raw, "normalize is consuming.");
        while let Some(batch) = self.next_batch(shutdown).await {
            self.forget_revoked();
            // Every owned partition not restored yet, at once: a fresh copy reads its state in
            // one pass rather than a partition at a time as records arrive.
            let mut owned = partitions_of(&batch);
            owned.extend(self.assigned_partitions());
            owned.sort_unstable();
            owned.dedup();
            let unrestored: Vec<i32> = owned
                .into_iter()
                .filter(|p| !self.store.is_restored(*p))
                .collect();
            if !unrestored.is_empty() {
                self.restore(unrestored, shutdown).await?;
            }
            let mut planner = Planner {
                catalog: &self.catalog,
                resolver: &self.resolver,
                store: &mut self.store,
                retry_budget: self.settings.dropbox_retry_budget,
                concurrency: self.settings.concurrency,
            };
            let Ok(outputs) = planner.plan(&batch, shutdown).await else {
                break; // Shutdown: nothing was written; the next owner reads the batch again.
            };
            let committing = std::time::Instant::now();
            match self.commit(&batch, &outputs).await {
                Ok(()) => {
                    self.metrics
                        .commit_seconds
                        .observe(committing.elapsed().as_secs_f64());
                    self.committed(outputs, batch.len());
                }
                Err(error) => self.abort(&batch, error, shutdown).await?,
            }
        }
        Ok(())
    }

    /// Waits for one record, then takes what else arrives within the linger, up to the batch size.
    async fn next_batch(&self, shutdown: &CancellationToken) -> Option<Vec<Input>> {
        let first = next_message(&self.consumer, shutdown).await?;
        let mut batch = vec![input(&first)];
        drop(first);
        let deadline = tokio::time::Instant::now() + self.settings.batch_linger;
        while batch.len() < self.settings.batch_size {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(input(&message)),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "Consuming webhooks.raw failed.");
                    break;
                }
                Err(_) => break,
            }
        }
        Some(batch)
    }

    fn assigned_partitions(&self) -> Vec<i32> {
        let assignment = self.consumer.assignment().unwrap_or_default();
        assignment
            .elements()
            .iter()
            .map(|p| p.partition())
            .collect()
    }

    fn forget_revoked(&mut self) {
        for partition in self.consumer.context().take_revoked() {
            self.store.forget(partition);
        }
    }

    /// Reads newly owned partitions' state back from the state topic.
    async fn restore(
        &mut self,
        partitions: Vec<i32>,
        shutdown: &CancellationToken,
    ) -> Result<(), KafkaError> {
        let mut restored: HashMap<i32, HashMap<String, AccountState>> =
            partitions.iter().map(|p| (*p, HashMap::new())).collect();
        read_compacted(
            &self.kafka,
            &self.topics.normalize_state,
            Partitions::Only(partitions),
            AtEnd::Stop,
            |partition, key, value| {
                state::apply_record(restored.entry(partition).or_default(), key, value)
            },
            || {},
            shutdown,
        )
        .await?;
        for (partition, accounts) in restored {
            tracing::info!(
                partition,
                accounts = accounts.len(),
                "Restored normalize state."
            );
            self.store.restore(partition, accounts);
        }
        Ok(())
    }

    async fn commit(&self, batch: &[Input], outputs: &Outputs) -> Result<(), KafkaError> {
        self.producer.begin_transaction()?;
        let sends = write::enqueue(&self.producer, &self.topics, outputs)?;
        for send in sends {
            match send.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(error),
                Err(_) => return Err(KafkaError::Canceled),
            }
        }
        let offsets = write::next_offsets(&self.topics.webhooks_raw, batch)?;
        let metadata = self
            .consumer
            .group_metadata()
            .ok_or(KafkaError::NoMessageReceived)?;
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer.send_offsets_to_transaction(&offsets, &metadata, TXN_TIMEOUT)?;
            producer.commit_transaction(TXN_TIMEOUT)
        })
        .await
        .map_err(|_| KafkaError::Canceled)?
    }

    fn committed(&mut self, outputs: Outputs, records: usize) {
        let metrics = &self.metrics;
        let set_aside = outputs.no_instance + outputs.dead_letters.len() + outputs.retries.len();
        metrics
            .records
            .with_label_values(&["normalized"])
            .inc_by(records.saturating_sub(set_aside) as u64);
        metrics
            .records
            .with_label_values(&["no_instance"])
            .inc_by(outputs.no_instance as u64);
        metrics
            .records
            .with_label_values(&["dead_lettered"])
            .inc_by(outputs.dead_letters.len() as u64);
        metrics
            .records
            .with_label_values(&["put_off"])
            .inc_by(outputs.retries.len() as u64);
        metrics.notifications.inc_by(outputs.events.len() as u64);
        metrics
            .dropbox_retries
            .inc_by(outputs.dropbox_retries as u64);
        metrics.transactions.with_label_values(&["committed"]).inc();
        for (partition, key, state) in outputs.state.into_iter().chain(outputs.unchanged) {
            self.store.put(partition, key, state);
        }
    }

    /// Aborts the open transaction and rewinds to the batch's first offsets, so it is consumed
    /// again (by this copy, or by the partition's new owner after a rebalance).
    async fn abort(
        &mut self,
        batch: &[Input],
        error: KafkaError,
        shutdown: &CancellationToken,
    ) -> Result<(), StageError> {
        self.metrics
            .transactions
            .with_label_values(&["aborted"])
            .inc();
        tracing::warn!(%error, "A transaction failed; aborting and consuming the batch again.");
        let fatal = matches!(&error, KafkaError::Transaction(rd) if rd.is_fatal());
        let producer = self.producer.clone();
        let aborted = !fatal
            && tokio::task::spawn_blocking(move || producer.abort_transaction(TXN_TIMEOUT))
                .await
                .is_ok_and(|aborted| aborted.is_ok());
        if !aborted {
            // Fenced (e.g. the broker timed the transaction out during an outage): a new
            // producer with the same transactional id takes over.
            self.renew_producer(shutdown).await?;
        }
        let mut first: BTreeMap<i32, i64> = BTreeMap::new();
        for input in batch {
            first.entry(input.partition).or_insert(input.offset);
        }
        let assigned = self.consumer.assignment()?;
        for (partition, offset) in first {
            if assigned
                .find_partition(&self.topics.webhooks_raw, partition)
                .is_some()
            {
                self.consumer.seek(
                    &self.topics.webhooks_raw,
                    partition,
                    Offset::Offset(offset),
                    Duration::from_secs(10),
                )?;
            }
            // State may hold nothing of this batch, but a revoked partition's must be re-read.
            self.store.forget(partition);
        }
        Ok(())
    }
}

impl Normalizer {
    /// Replaces the transactional producer, retrying while Kafka is unreachable.
    async fn renew_producer(&mut self, shutdown: &CancellationToken) -> Result<(), StageError> {
        let mut backoff = Duration::from_secs(1);
        loop {
            let producer =
                pipeline::kafka::transactional_producer(&self.kafka, &self.transactional_id)?;
            let initializing = producer.clone();
            match tokio::task::spawn_blocking(move || initializing.init_transactions(TXN_TIMEOUT))
                .await?
            {
                Ok(()) => {
                    tracing::info!("A new transactional producer took over.");
                    self.producer = producer;
                    return Ok(());
                }
                Err(error) if shutdown.is_cancelled() => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(%error, "Starting a transactional producer failed; retrying.")
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }
}

fn input(message: &impl Message) -> Input {
    let attempt = message
        .headers()
        .and_then(|headers| headers.iter().find(|h| h.key == ATTEMPT_HEADER))
        .and_then(|header| std::str::from_utf8(header.value?).ok()?.parse().ok())
        .unwrap_or(0);
    Input {
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().unwrap_or_default().to_vec(),
        payload: message.payload().map(<[u8]>::to_vec),
        attempt,
    }
}

fn partitions_of(batch: &[Input]) -> Vec<i32> {
    let mut partitions: Vec<i32> = batch.iter().map(|input| input.partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    partitions
}
