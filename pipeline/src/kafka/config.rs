//! librdkafka client settings, chosen once for every stage.

use rdkafka::ClientConfig;
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::KafkaResult;
use rdkafka::producer::FutureProducer;

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
    base(settings)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("compression.type", "lz4")
        .set("message.timeout.ms", delivery_timeout_ms.to_string())
        .create()
}

/// A transactional producer (`transactional.id` must be stable per stage copy and partition set).
pub fn transactional_producer(
    settings: &KafkaSettings,
    transactional_id: &str,
) -> KafkaResult<FutureProducer> {
    base(settings)
        .set("transactional.id", transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("compression.type", "lz4")
        .create()
}

/// A consumer in `group` that never commits on its own: the stage stores each offset once the
/// record's output is acknowledged, and librdkafka commits the stored offsets. Reads only
/// committed transactional records.
pub fn consumer(settings: &KafkaSettings, group: &str) -> KafkaResult<StreamConsumer> {
    base(settings)
        .set("group.id", group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .create()
}
