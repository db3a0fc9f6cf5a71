//! Reading a compacted topic into memory: every partition from the beginning to its end, then
//! (optionally) following it. Used for the `instances` catalog and for stage state.

use std::collections::HashSet;
use std::time::Duration;

use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientContext, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::settings::KafkaSettings;

/// What the reader does after the topic's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtEnd {
    /// Return once every partition has been read to its end.
    Stop,
    /// Keep applying new records until shutdown.
    Follow,
}

/// Which partitions the reader reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitions {
    All,
    /// Some partitions, e.g. the state of the input partitions this copy was just assigned.
    Only(Vec<i32>),
}

impl Partitions {
    fn includes(&self, partition: i32) -> bool {
        match self {
            Partitions::All => true,
            Partitions::Only(partitions) => partitions.contains(&partition),
        }
    }
}

/// Calls `apply(partition, key, value)` for every record (`None` for a tombstone) and
/// `caught_up()` once, when every partition read has been read to the end it had.
pub async fn read_compacted(
    settings: &KafkaSettings,
    topic: &str,
    partitions_read: Partitions,
    at_end: AtEnd,
    mut apply: impl FnMut(i32, &[u8], Option<&[u8]>),
    mut caught_up: impl FnMut(),
    shutdown: &CancellationToken,
) -> Result<(), KafkaError> {
    // Every reader reads all partitions itself: no group membership, nothing committed.
    let consumer: StreamConsumer<EndIsNotAnError> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .set(
            "group.id",
            format!("compacted-reader-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        // A catch-up read: answer as soon as the end is reached, not after the default 500 ms.
        .set("fetch.wait.max.ms", "10")
        .set("isolation.level", "read_committed")
        .create_with_context(EndIsNotAnError)?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(30))?;
    let mut partitions = TopicPartitionList::new();
    let mut loading = HashSet::new();
    let ids = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions())
        .map(|p| p.id());
    for id in ids.filter(|id| partitions_read.includes(*id)) {
        partitions.add_partition_offset(topic, id, Offset::Beginning)?;
        loading.insert(id);
    }
    consumer.assign(&partitions)?;
    let mut done = loading.is_empty();
    if done {
        caught_up();
        if at_end == AtEnd::Stop {
            return Ok(());
        }
    }
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            message = consumer.recv() => message,
        };
        match message {
            Ok(message) => match message.key() {
                Some(key) => apply(message.partition(), key, message.payload()),
                None => {
                    tracing::warn!(%topic, offset = message.offset(), "Skipping a record without a key.")
                }
            },
            Err(KafkaError::PartitionEOF(partition)) => {
                loading.remove(&partition);
                if loading.is_empty() && !done {
                    done = true;
                    caught_up();
                    if at_end == AtEnd::Stop {
                        return Ok(());
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%topic, %error, "Reading a compacted topic failed; retrying.");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Reaching a partition's end is how the reader knows it caught up, not a failure to log.
struct EndIsNotAnError;

impl ClientContext for EndIsNotAnError {
    fn error(&self, error: KafkaError, reason: &str) {
        let end_of_partition = matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        );
        if !end_of_partition {
            tracing::error!(%error, %reason, "Kafka client error.");
        }
    }
}

impl ConsumerContext for EndIsNotAnError {}
