//! Prometheus metrics of `deliver`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    /// Events by outcome: `delivered`, `dead_lettered`, `skipped_instance_gone`, `skipped_disabled`.
    pub events: IntCounterVec,
    /// Attempts by answer class: `2xx`, `3xx`, `4xx`, `5xx`, `error`.
    pub attempts: IntCounterVec,
    pub retries: IntCounter,
    pub dlq_writes: IntCounter,
    /// From ingest's receipt of the webhook to the callback's 2xx.
    pub end_to_end_seconds: Histogram,
}

impl Metrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            events: IntCounterVec::new(
                Opts::new(
                    "deliver_events_total",
                    "Notifications consumed, by outcome.",
                ),
                &["outcome"],
            )?,
            attempts: IntCounterVec::new(
                Opts::new(
                    "deliver_attempts_total",
                    "Callback attempts, by answer class.",
                ),
                &["outcome"],
            )?,
            retries: IntCounter::new(
                "deliver_retries_total",
                "Callback attempts that were retries.",
            )?,
            dlq_writes: IntCounter::new(
                "deliver_dlq_writes_total",
                "Events parked in events.dlq.",
            )?,
            // 1 ms to about 17 minutes, doubling.
            end_to_end_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "deliver_end_to_end_seconds",
                    "Time from ingest's receipt of a webhook to a callback's 2xx.",
                )
                .buckets(prometheus::exponential_buckets(0.001, 2.0, 21)?),
            )?,
        };
        registry.register(Box::new(metrics.events.clone()))?;
        registry.register(Box::new(metrics.attempts.clone()))?;
        registry.register(Box::new(metrics.retries.clone()))?;
        registry.register(Box::new(metrics.dlq_writes.clone()))?;
        registry.register(Box::new(metrics.end_to_end_seconds.clone()))?;
        Ok(metrics)
    }
}
