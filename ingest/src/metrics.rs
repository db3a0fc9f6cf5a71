//! Prometheus metrics of `ingest`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    /// Webhooks by outcome (`accepted`, `bad_signature`, `malformed`, `too_large`, …).
    pub webhooks: IntCounterVec,
    /// Accounts named by accepted webhooks that no instance is connected to.
    pub unknown_accounts: IntCounter,
    pub records_produced: IntCounter,
    pub produce_seconds: Histogram,
    /// Dropbox API calls by endpoint and outcome.
    pub dropbox_calls: IntCounterVec,
    /// Every HTTP answer, by status class (`2xx`, `4xx`, `5xx`…).
    pub http_responses: IntCounterVec,
    /// /instances requests by method and status class.
    pub instance_requests: IntCounterVec,
}

impl Metrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            webhooks: IntCounterVec::new(
                Opts::new("ingest_webhooks_total", "Webhooks received, by outcome."),
                &["outcome"],
            )?,
            unknown_accounts: IntCounter::new(
                "ingest_unknown_accounts_total",
                "Accounts named by accepted webhooks that no instance is connected to.",
            )?,
            records_produced: IntCounter::new(
                "ingest_records_produced_total",
                "Records acknowledged by Kafka on webhooks.raw.",
            )?,
            produce_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "ingest_produce_seconds",
                    "Time from send to Kafka's acknowledgement of a webhook's records.",
                )
                .buckets(prometheus::exponential_buckets(0.0005, 2.0, 16)?),
            )?,
            dropbox_calls: IntCounterVec::new(
                Opts::new(
                    "ingest_dropbox_calls_total",
                    "Dropbox API calls, by endpoint and outcome.",
                ),
                &["endpoint", "outcome"],
            )?,
            http_responses: IntCounterVec::new(
                Opts::new(
                    "ingest_http_responses_total",
                    "HTTP answers, by status class.",
                ),
                &["class"],
            )?,
            instance_requests: IntCounterVec::new(
                Opts::new("ingest_instance_requests_total", "/instances API requests."),
                &["method", "status"],
            )?,
        };
        registry.register(Box::new(metrics.webhooks.clone()))?;
        registry.register(Box::new(metrics.unknown_accounts.clone()))?;
        registry.register(Box::new(metrics.records_produced.clone()))?;
        registry.register(Box::new(metrics.produce_seconds.clone()))?;
        registry.register(Box::new(metrics.instance_requests.clone()))?;
        registry.register(Box::new(metrics.dropbox_calls.clone()))?;
        registry.register(Box::new(metrics.http_responses.clone()))?;
        Ok(metrics)
    }
}
