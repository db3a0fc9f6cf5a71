//! Kafka plumbing shared by the stages: client configuration, topic names and creation.

mod compacted;
mod config;
mod context;
mod topics;

pub use compacted::{AtEnd, Partitions, read_compacted};
pub use config::{
    consumer, producer, producer_with_context, transactional_consumer, transactional_producer,
};
pub use context::{KAFKA_READINESS, StageContext};
pub use topics::{Topics, delete_prefixed_topics, ensure_retry_topics, ensure_topics};

/// A Kafka header value as UTF-8, if present.
pub fn header_str<'a>(message: &'a impl rdkafka::Message, name: &str) -> Option<&'a str> {
    use rdkafka::message::Headers;
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == name)
        .and_then(|header| std::str::from_utf8(header.value?).ok())
}

/// Header carrying ingest's receipt time (ms since the epoch) downstream, for end-to-end latency.
pub const RECEIVED_AT_HEADER: &str = "received-at-ms";

/// The next message of a consumer, or `None` once `shutdown` is cancelled. Errors are logged
/// and the wait goes on: librdkafka recovers from broker and network failures by itself.
pub async fn next_message<'a, C: rdkafka::consumer::ConsumerContext + 'static>(
    consumer: &'a rdkafka::consumer::StreamConsumer<C>,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Option<rdkafka::message::BorrowedMessage<'a>> {
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return None,
            received = consumer.recv() => received,
        };
        match received {
            Ok(message) => return Some(message),
            Err(error) => {
                tracing::warn!(%error, "Consuming failed; retrying.");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}
