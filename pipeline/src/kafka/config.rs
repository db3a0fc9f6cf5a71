//! librdkafka client settings, chosen once for every stage.

use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::KafkaResult;
use rdkafka::producer::FutureProducer;

use super::context::{STATISTICS_INTERVAL_MS, StageContext};
use crate::settings::KafkaSettings;

fn base(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("client.id", env!("CARGO_PKG_NAME"));
    config
}

/// An idempotent producer that waits for every in-sync replica: an acknowledged record is durable
/// and written once. `delivery_timeout_ms` bounds how long a send may wait before it fails.
pub fn producer(settings: &KafkaSettings, delivery_timeout_ms: u64) -> KafkaResult<FutureProducer> {
    producer_config(settings, delivery_timeout_ms).create()
}

/// The same producer, with a context (e.g. one that reports broker reachability).
pub fn producer_with_context(
    settings: &KafkaSettings,
    delivery_timeout_ms: u64,
    context: StageContext,
) -> KafkaResult<FutureProducer<StageContext>> {
    producer_config(settings, delivery_timeout_ms)
        .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
        .create_with_context(context)
}

fn producer_config(settings: &KafkaSettings, delivery_timeout_ms: u64) -> ClientConfig {
    let mut config = base(settings);
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("compression.type", &settings.compression)
        .set("message.timeout.ms", delivery_timeout_ms.to_string());
    config
}

/// A transactional producer. Zombie copies are fenced through the consumer group's generation
/// (KIP-447), so the id need only be unique per running copy.
pub fn transactional_producer(
    settings: &KafkaSettings,
    transactional_id: &str,
) -> KafkaResult<FutureProducer> {
    // Transactions hold only Kafka writes (no remote calls), so they are short; a crashed copy's
    // open transaction then blocks read_committed readers for 10 s at most. A send may not
    // outlive its transaction.
    producer_config(settings, TRANSACTION_TIMEOUT_MS)
        .set("transactional.id", transactional_id)
        .set("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS.to_string())
        .create()
}

const TRANSACTION_TIMEOUT_MS: u64 = 10_000;

/// A consumer for read-process-write in transactions: offsets are committed only with the
/// transaction that holds the output (`send_offsets_to_transaction`), never on their own.
pub fn transactional_consumer(
    settings: &KafkaSettings,
    group: &str,
    member_id: Option<&str>,
    context: StageContext,
) -> KafkaResult<StreamConsumer<StageContext>> {
    group_config(settings, group, member_id)
        .set("enable.auto.commit", "false")
        .create_with_context(context)
}

/// A consumer that never commits on its own: the stage stores each offset once the record's
/// output is acknowledged, and librdkafka commits the stored offsets every second.
pub fn consumer(
    settings: &KafkaSettings,
    group: &str,
    member_id: Option<&str>,
    context: StageContext,
) -> KafkaResult<StreamConsumer<StageContext>> {
    group_config(settings, group, member_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .create_with_context(context)
}

/// What every consumer in a group shares. It reads committed transactional records only. With
/// a `member_id` (a stable name of this copy) the membership is static: a copy restarted after
/// a crash takes its partitions back at once instead of after the session timeout.
fn group_config(settings: &KafkaSettings, group: &str, member_id: Option<&str>) -> ClientConfig {
    let mut config = base(settings);
    if let Some(member_id) = member_id {
        config.set("group.instance.id", member_id);
    }
    config
        .set("group.id", group)
        .set("session.timeout.ms", "10000")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
    config
}
