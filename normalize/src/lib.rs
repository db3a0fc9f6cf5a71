//! `normalize`: from "this Dropbox account changed" to standardized event notifications.
//!
//! Delivery guarantee: exactly once from `webhooks.raw` to `events` (see `transact`). State
//! (cursors, known objects) lives in the compacted `normalize.state` topic, partitioned like the
//! raw records, so any copy can take over any partition.

mod metrics;
mod notification;
mod resolve;
mod retry;
mod settings;
mod state;
mod transact;
mod work;
mod write;

use std::net::SocketAddr;

use pipeline::StageError;
use pipeline::element::dropbox::api::DropboxApi;
use pipeline::stage::StageBase;
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

use crate::metrics::Metrics;
use crate::resolve::Resolver;
use crate::transact::Normalizer;

/// Readiness condition of normalize besides the catalog.
pub(crate) const CONSUMER: &str = "consumer";

pub struct Normalize {
    base: StageBase,
    settings: Settings,
    metrics: Metrics,
    dropbox: DropboxApi,
}

impl Normalize {
    pub async fn build(settings: Settings) -> Result<Self, StageError> {
        let base = StageBase::build(settings.common.clone(), settings.metrics_listen).await?;
        base.readiness.waiting(CONSUMER, "not consuming yet");
        let metrics = Metrics::register(&base.registry).expect("metric names are unique and valid");
        Ok(Self {
            dropbox: settings.dropbox.client(metrics.dropbox_calls.clone())?,
            base,
            settings,
            metrics,
        })
    }

    pub fn ops_addr(&self) -> SocketAddr {
        self.base.ops_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StageError> {
        let Normalize {
            base,
            settings,
            metrics,
            dropbox,
        } = self;
        let background = base.start(&shutdown);
        background.catalog_loaded(&shutdown).await;
        let retries = {
            let (kafka, group) = (settings.common.kafka.clone(), settings.group.clone());
            let (topics, shutdown) = (background.topics.clone(), shutdown.clone());
            let copy_id = settings.copy_id.clone();
            tokio::spawn(async move {
                retry::forward(&kafka, &group, copy_id.as_deref(), &topics, &shutdown).await
            })
        };
        let normalizer = Normalizer::new(
            &settings,
            background.topics.clone(),
            background.catalog.clone(),
            Resolver::new(dropbox),
            metrics,
            &background.readiness,
        )?;
        let result = normalizer.run(&background.readiness, &shutdown).await;
        shutdown.cancel();
        retries.await??;
        background.join().await?;
        tracing::info!("normalize stopped.");
        result
    }
}
