//! The way back for raw records put off because Dropbox kept failing: they wait in
//! `normalize.retry` until their time, then return to `webhooks.raw`. At least once is enough
//! here: resolving an account twice reports nothing twice, since the cursor moved.

use std::time::Duration;

use pipeline::StageError;
use pipeline::kafka::{Topics, header_str, next_message};
use pipeline::now_ms;
use pipeline::settings::KafkaSettings;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

/// How many times the record was put off.
pub const ATTEMPT_HEADER: &str = "normalize-attempt";
/// Milliseconds since the epoch before which the record must not be tried again.
pub const NOT_BEFORE_HEADER: &str = "normalize-not-before";

const FIRST_DELAY: Duration = Duration::from_secs(5);
const MAX_DELAY: Duration = Duration::from_secs(600);

/// The wait before attempt `attempt`: 5 s doubling to 10 min.
pub fn delay(attempt: u32) -> Duration {
    FIRST_DELAY
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_DELAY)
}

pub fn not_before_header(attempt: u32) -> String {
    (now_ms() + delay(attempt).as_millis() as i64).to_string()
}

/// Moves due records from `normalize.retry` back to `webhooks.raw`, in order, until shutdown.
pub async fn forward(
    kafka: &KafkaSettings,
    group: &str,
    copy_id: Option<&str>,
    topics: &Topics,
    shutdown: &CancellationToken,
) -> Result<(), StageError> {
    let member = copy_id.map(|id| format!("{id}-retry"));
    let context = pipeline::kafka::StageContext::default();
    let consumer =
        pipeline::kafka::consumer(kafka, &format!("{group}-retry"), member.as_deref(), context)?;
    let producer: FutureProducer = pipeline::kafka::producer(kafka, 30_000)?;
    consumer.subscribe(&[&topics.normalize_retry])?;
    while let Some(message) = next_message(&consumer, shutdown).await {
        let due = header_str(&message, NOT_BEFORE_HEADER)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let wait = Duration::from_millis((due - now_ms()).max(0) as u64);
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        let attempt = header_str(&message, ATTEMPT_HEADER).unwrap_or("1");
        let headers = OwnedHeaders::new().insert(Header {
            key: ATTEMPT_HEADER,
            value: Some(attempt),
        });
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&topics.webhooks_raw).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(error, _)| error)?;
        consumer.store_offset_from_message(&message)?;
    }
    if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(%error, "No retry offsets to commit at shutdown.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_ten_minutes() {
        assert_eq!(delay(1), Duration::from_secs(5));
        assert_eq!(delay(2), Duration::from_secs(10));
        assert_eq!(delay(5), Duration::from_secs(80));
        assert_eq!(delay(30), MAX_DELAY);
    }
}
