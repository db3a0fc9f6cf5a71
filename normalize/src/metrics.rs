//! Prometheus metrics of `normalize`.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct Metrics {
    /// Raw records by outcome: `normalized`, `no_instance`, `put_off`, `dead_lettered`.
    pub records: IntCounterVec,
    /// Transactions by outcome: `committed`, `aborted`.
    pub transactions: IntCounterVec,
    pub notifications: IntCounter,
    /// `normalize_consumer_lag{topic, partition}`: records not yet consumed.
    pub consumer_lag: IntGaugeVec,
    /// Dropbox API calls by endpoint and outcome.
    pub dropbox_calls: IntCounterVec,
    /// Time to commit one batch's transaction.
    pub commit_seconds: Histogram,
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
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "normalize_consumer_lag",
                    "Records of webhooks.raw not yet consumed, per partition.",
                ),
                &["topic", "partition"],
            )?,
            dropbox_calls: IntCounterVec::new(
                Opts::new(
                    "normalize_dropbox_calls_total",
                    "Dropbox API calls, by endpoint and outcome.",
                ),
                &["endpoint", "outcome"],
            )?,
            commit_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "normalize_commit_seconds",
                    "Time to write and commit one batch's transaction.",
                )
                .buckets(prometheus::exponential_buckets(0.001, 2.0, 14)?),
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
        registry.register(Box::new(metrics.consumer_lag.clone()))?;
        registry.register(Box::new(metrics.dropbox_calls.clone()))?;
        registry.register(Box::new(metrics.commit_seconds.clone()))?;
        registry.register(Box::new(metrics.dropbox_retries.clone()))?;
        Ok(metrics)
    }
}
