//! `normalize`: from "this Dropbox account changed" to standardized event notifications.
//!
//! Delivery guarantee: at least once. A raw record's offset is stored only after every
//! notification it produced and the state it changed were acknowledged by Kafka; a crash
//! re-processes from the last stored offset, and re-built notifications keep their event ids.

mod metrics;
mod notification;
mod process;
mod resolve;
mod settings;
mod state;

use std::net::SocketAddr;
use std::sync::Mutex;

use pipeline::StageError;
use pipeline::element::dropbox::api::DropboxApi;
use pipeline::kafka::{AtEnd, read_compacted};
use pipeline::stage::StageBase;
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

use crate::metrics::Metrics;
use crate::process::Processor;
use crate::resolve::Resolver;
use crate::state::StateStore;

/// Readiness conditions of normalize besides the catalog.
pub(crate) const STATE: &str = "state";
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
        base.readiness.waiting(STATE, "loading normalize state");
        base.readiness.waiting(CONSUMER, "not consuming yet");
        let metrics = Metrics::register(&base.registry).expect("metric names are unique and valid");
        Ok(Self {
            dropbox: settings.dropbox.client()?,
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
        let store = Mutex::new(StateStore::default());
        read_compacted(
            &settings.common.kafka,
            &background.topics.normalize_state,
            AtEnd::Stop,
            |key, value| {
                store
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .apply_record(key, value)
            },
            || background.readiness.ready(STATE),
            &shutdown,
        )
        .await?;
        let store = store.into_inner().unwrap_or_else(|p| p.into_inner());
        tracing::info!(accounts = store.len(), "Normalize state loaded.");
        background.catalog_loaded(&shutdown).await;
        let processor = Processor::new(
            &settings,
            background.topics.clone(),
            background.catalog.clone(),
            store,
            Resolver::new(dropbox),
            metrics,
        )?;
        processor.run(&background.readiness, &shutdown).await?;
        shutdown.cancel();
        background.join().await?;
        tracing::info!("normalize stopped.");
        Ok(())
    }
}
