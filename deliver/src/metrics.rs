//! Prometheus metrics of `deliver`.

use crate::attempt::{Event, Next};
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct Metrics {
    /// Tries by outcome: `delivered`, `retried`, `dead_lettered`, `skipped_instance_gone`,
    /// `skipped_disabled`.
    pub events: IntCounterVec,
    /// Attempts by answer class: `2xx`, `3xx`, `4xx`, `5xx`, `error`.
    pub attempts: IntCounterVec,
    /// Events handed to a retry tier.
    pub retries: IntCounter,
    pub dlq_writes: IntCounter,
    /// `deliver_consumer_lag{topic, partition}`: events (or retries) not yet consumed.
    pub consumer_lag: IntGaugeVec,
    /// `deliver_instance_events_total{instance, outcome}`: only when the operator asks for a
    /// per-instance label (`METRICS_PER_INSTANCE`), as it grows with the number of instances.
    pub per_instance: Option<IntCounterVec>,
    /// From ingest's receipt of the webhook to the callback's 2xx.
    pub end_to_end_seconds: Histogram,
}

impl Metrics {
    /// Counts one try of `event` and what comes next.
    pub fn record(&self, event: &Event, next: &Next) {
        let outcome = match next {
            Next::Delivered { .. } => "delivered",
            Next::Skipped(why) => why,
            Next::Retry { .. } => "retried",
            Next::Park { .. } => "dead_lettered",
        };
        self.events.with_label_values(&[outcome]).inc();
        if let Some(per_instance) = &self.per_instance {
            per_instance
                .with_label_values(&[event.instance_id.to_string().as_str(), outcome])
                .inc();
        }
        if let Some(last) = event.attempts.last() {
            let class = last.status.map_or("error", pipeline::status_class);
            self.attempts.with_label_values(&[class]).inc();
        }
        match next {
            Next::Retry { .. } => self.retries.inc(),
            Next::Park { .. } => self.dlq_writes.inc(),
            Next::Delivered { .. } => {
                if let Some(received_at) = event.received_at_ms {
                    let seconds = (pipeline::now_ms() - received_at).max(0) as f64 / 1000.0;
                    self.end_to_end_seconds.observe(seconds);
                }
            }
            Next::Skipped(_) => {}
        }
    }

    pub fn register(registry: &Registry, per_instance: bool) -> prometheus::Result<Self> {
        let per_instance = per_instance
            .then(|| {
                IntCounterVec::new(
                    Opts::new(
                        "deliver_instance_events_total",
                        "Tries by instance and outcome.",
                    ),
                    &["instance", "outcome"],
                )
            })
            .transpose()?;
        if let Some(counter) = &per_instance {
            registry.register(Box::new(counter.clone()))?;
        }
        let metrics = Self {
            per_instance,
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
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "deliver_consumer_lag",
                    "Events not yet consumed, per topic and partition.",
                ),
                &["topic", "partition"],
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
        registry.register(Box::new(metrics.consumer_lag.clone()))?;
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn delivered(metrics: &Metrics) {
        let event = Event {
            instance_id: 42,
            body: Bytes::new(),
            event_id: "e".into(),
            received_at_ms: None,
            retries: 0,
            attempts: vec![],
        };
        metrics.record(&event, &Next::Delivered { status: 200 });
    }

    fn families(registry: &Registry) -> Vec<String> {
        registry
            .gather()
            .iter()
            .map(|f| f.name().to_owned())
            .collect()
    }

    #[test]
    fn the_instance_label_exists_only_when_asked_for() {
        let registry = Registry::new();
        let metrics = Metrics::register(&registry, false).unwrap();
        delivered(&metrics);
        assert!(!families(&registry).contains(&"deliver_instance_events_total".to_owned()));

        let registry = Registry::new();
        let metrics = Metrics::register(&registry, true).unwrap();
        delivered(&metrics);
        let per_instance = metrics.per_instance.as_ref().unwrap();
        assert_eq!(
            per_instance.with_label_values(&["42", "delivered"]).get(),
            1
        );
        assert!(families(&registry).contains(&"deliver_instance_events_total".to_owned()));
    }
}
