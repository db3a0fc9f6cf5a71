//! Prometheus metrics of `normalize`.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    /// Raw records by outcome: `normalized`, `no_instance`, `put_off`, `dead_lettered`.
    pub records: IntCounterVec,
    /// Transactions by outcome: `committed`, `aborted`.
    pub transactions: IntCounterVec,
    pub notifications: IntCounter,
    /// Dropbox calls retried after a transient failure.
    pub dropbox_retries: IntCounter,
}

impl Metrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            records: IntCounterVec::new(
                Opts::new(
                    "normalize_records_total",
                    "Raw webhook records consumed, by outcome.",
                ),
                &["outcome"],
            )?,
            transactions: IntCounterVec::new(
                Opts::new(
                    "normalize_transactions_total",
                    "Kafka transactions, by outcome.",
                ),
                &["outcome"],
            )?,
            notifications: IntCounter::new(
                "normalize_notifications_total",
                "Standardized notifications written to the events topic.",
            )?,
            dropbox_retries: IntCounter::new(
                "normalize_dropbox_retries_total",
                "Dropbox calls retried after a transient failure.",
            )?,
        };
        registry.register(Box::new(metrics.records.clone()))?;
        registry.register(Box::new(metrics.notifications.clone()))?;
        registry.register(Box::new(metrics.transactions.clone()))?;
        registry.register(Box::new(metrics.dropbox_retries.clone()))?;
        Ok(metrics)
    }
}
