//! `deliver`: signs each standardized notification with its instance's key and POSTs it to the
//! instance's callback URL, retrying on a schedule and parking what never succeeds in `events.dlq`.
//!
//! Delivery guarantee: at least once. An event's offset is stored only once it was delivered,
//! skipped (instance gone or events off) or parked in `events.dlq`; a crash re-delivers.

mod client;
mod metrics;
mod retry;
mod settings;
mod ssrf;
mod worker;

use std::net::SocketAddr;

use pipeline::StageError;
use pipeline::stage::StageBase;
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

use crate::client::CallbackClient;
use crate::metrics::Metrics;
use crate::worker::Worker;

/// Readiness condition of deliver besides the catalog.
pub(crate) const CONSUMER: &str = "consumer";

pub struct Deliver {
    base: StageBase,
    settings: Settings,
    metrics: Metrics,
    client: CallbackClient,
}

impl Deliver {
    pub async fn build(settings: Settings) -> Result<Self, StageError> {
        let base = StageBase::build(settings.common.clone(), settings.metrics_listen).await?;
        base.readiness.waiting(CONSUMER, "not consuming yet");
        let metrics = Metrics::register(&base.registry).expect("metric names are unique and valid");
        let client = CallbackClient::new(
            settings.connect_timeout,
            settings.request_timeout,
            settings.allow_private_callbacks,
        )?;
        Ok(Self {
            base,
            settings,
            metrics,
            client,
        })
    }

    pub fn ops_addr(&self) -> SocketAddr {
        self.base.ops_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StageError> {
        let Deliver {
            base,
            settings,
            metrics,
            client,
        } = self;
        let background = base.start(&shutdown);
        background.catalog_loaded(&shutdown).await;
        let worker = Worker::new(
            &settings,
            background.topics.clone(),
            background.catalog.clone(),
            client,
            metrics,
        )?;
        worker.run(&background.readiness, &shutdown).await?;
        shutdown.cancel();
        background.join().await?;
        tracing::info!("deliver stopped.");
        Ok(())
    }
}
