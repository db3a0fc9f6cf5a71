//! The Kafka client context the stages use: it reports consumer lag per partition from
//! librdkafka's statistics, tells readiness whether any broker is reachable, and remembers
//! revoked partitions for the stage to let go of.

use std::sync::Mutex;

use prometheus::IntGaugeVec;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::statistics::Statistics;

use crate::ops::Readiness;

/// How often librdkafka reports statistics, hence how fresh the lag gauge is.
pub const STATISTICS_INTERVAL_MS: &str = "5000";

/// The readiness condition this context keeps.
pub const KAFKA_READINESS: &str = "kafka";

#[derive(Default)]
pub struct StageContext {
    /// `<stage>_consumer_lag{topic, partition}`, when the stage reports it.
    lag: Option<IntGaugeVec>,
    /// Told when no broker is reachable, and when one is again.
    readiness: Option<Readiness>,
    revoked: Mutex<Vec<i32>>,
}

impl StageContext {
    pub fn with_lag(lag: IntGaugeVec) -> Self {
        Self {
            lag: Some(lag),
            ..Self::default()
        }
    }

    /// Keeps readiness's `kafka` condition: not ready while every broker is down.
    pub fn reporting_to(mut self, readiness: Readiness) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// Partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<i32> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ClientContext for StageContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, %reason, "Kafka client error.");
        if let (Some(readiness), KafkaError::Global(RDKafkaErrorCode::AllBrokersDown)) =
            (&self.readiness, &error)
        {
            readiness.waiting(KAFKA_READINESS, "no Kafka broker is reachable");
        }
    }

    fn stats(&self, statistics: Statistics) {
        if let Some(readiness) = &self.readiness
            && statistics
                .brokers
                .values()
                .any(|broker| broker.nodeid >= 0 && broker.state == "UP")
        {
            readiness.ready(KAFKA_READINESS);
        }
        let Some(lag) = &self.lag else {
            return;
        };
        for (topic, stats) in &statistics.topics {
            for (partition, stats) in &stats.partitions {
                // librdkafka lists an internal partition -1, and -1 lag while it does not know.
                if *partition >= 0 && stats.consumer_lag >= 0 {
                    lag.with_label_values(&[topic, &partition.to_string()])
                        .set(stats.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for StageContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let mut revoked = self.revoked.lock().unwrap_or_else(|p| p.into_inner());
            revoked.extend(partitions.elements().iter().map(|p| p.partition()));
            if let Some(lag) = &self.lag {
                for element in partitions.elements() {
                    let _ = lag
                        .remove_label_values(&[element.topic(), &element.partition().to_string()]);
                }
            }
        }
    }
}
