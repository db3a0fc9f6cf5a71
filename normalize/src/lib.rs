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
use pipeline::kafka::{AtEnd, Topics, ensure_topics, read_compacted};
use pipeline::ops::Readiness;
use pipeline::stage::{Background, BackgroundSettings};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

use crate::metrics::Metrics;
use crate::process::Processor;
use crate::resolve::Resolver;
use crate::state::StateStore;

pub struct Normalize {
    settings: Settings,
    topics: Topics,
    ops_listener: TcpListener,
    registry: prometheus::Registry,
    metrics: Metrics,
    readiness: Readiness,
    dropbox: DropboxApi,
}

impl Normalize {
    pub async fn build(settings: Settings) -> Result<Self, StageError> {
        let topics = Topics::new(&settings.kafka.topic_prefix);
        ensure_topics(&settings.kafka, &topics).await?;
        let registry = prometheus::Registry::new();
        let metrics = Metrics::register(&registry).expect("metric names are unique and valid");
        Ok(Self {
            dropbox: DropboxApi::new(&settings.dropbox_api_url, settings.dropbox_timeout)?,
            ops_listener: TcpListener::bind(settings.metrics_listen).await?,
            settings,
            topics,
            registry,
            metrics,
            readiness: Readiness::waiting_on("consumer", "not consuming yet"),
        })
    }

    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StageError> {
        let Normalize {
            settings,
            topics,
            ops_listener,
            registry,
            metrics,
            readiness,
            dropbox,
        } = self;
        let background = Background::spawn(
            BackgroundSettings {
                kafka: &settings.kafka,
                instances_topic: &topics.instances,
                secrets_key: &settings.secrets.secrets_key,
                ops_listener,
                registry,
                readiness: readiness.clone(),
                catalog: Default::default(),
            },
            &shutdown,
        );
        readiness.waiting("state", "loading normalize state");
        let store = Mutex::new(StateStore::default());
        read_compacted(
            &settings.kafka,
            &topics.normalize_state,
            AtEnd::Stop,
            |key, value| {
                store
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .apply_record(key, value)
            },
            || readiness.ready("state"),
            &shutdown,
        )
        .await?;
        let store = store.into_inner().unwrap_or_else(|p| p.into_inner());
        tracing::info!(accounts = store.len(), "Normalize state loaded.");
        background.catalog_loaded(&shutdown).await;
        let catalog = background.catalog.clone();
        let processor = Processor::new(
            &settings,
            topics,
            catalog,
            store,
            Resolver::new(dropbox),
            metrics,
        )?;
        processor.run(&readiness, &shutdown).await?;
        shutdown.cancel();
        background.join().await?;
        tracing::info!("normalize stopped.");
        Ok(())
    }
}
