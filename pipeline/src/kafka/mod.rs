//! Kafka plumbing shared by the stages: client configuration, topic names and creation.

mod compacted;
mod config;
mod topics;

pub use compacted::{AtEnd, read_compacted};
pub use config::{consumer, producer, transactional_producer};
pub use topics::{Topics, ensure_topics};

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
