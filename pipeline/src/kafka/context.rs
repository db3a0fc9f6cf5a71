//! The consumer context every stage uses: it reports consumer lag per partition from
//! librdkafka's statistics, and remembers revoked partitions for the stage to let go of.

use std::sync::Mutex;

use prometheus::IntGaugeVec;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::statistics::Statistics;

/// How often librdkafka reports statistics, hence how fresh the lag gauge is.
pub const STATISTICS_INTERVAL_MS: &str = "5000";

#[derive(Default)]
pub struct StageContext {
    /// `<stage>_consumer_lag{topic, partition}`, when the stage reports it.
    lag: Option<IntGaugeVec>,
    revoked: Mutex<Vec<i32>>,
}

impl StageContext {
    pub fn with_lag(lag: IntGaugeVec) -> Self {
        Self {
            lag: Some(lag),
            revoked: Mutex::default(),
        }
    }

    /// Partitions revoked since the last call.
    pub fn take_revoked(&self) -> Vec<i32> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ClientContext for StageContext {
    fn stats(&self, statistics: Statistics) {
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
