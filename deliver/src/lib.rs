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
use pipeline::kafka::{Topics, ensure_topics};
use pipeline::ops::Readiness;
use pipeline::stage::{Background, BackgroundSettings};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

use crate::client::CallbackClient;
use crate::metrics::Metrics;
use crate::worker::Worker;

pub struct Deliver {
    settings: Settings,
    topics: Topics,
    ops_listener: TcpListener,
    registry: prometheus::Registry,
    metrics: Metrics,
    readiness: Readiness,
    client: CallbackClient,
}

impl Deliver {
    pub async fn build(settings: Settings) -> Result<Self, StageError> {
        let topics = Topics::new(&settings.kafka.topic_prefix);
        ensure_topics(&settings.kafka, &topics).await?;
        let registry = prometheus::Registry::new();
        let metrics = Metrics::register(&registry).expect("metric names are unique and valid");
        let client = CallbackClient::new(
            settings.connect_timeout,
            settings.request_timeout,
            settings.allow_private_callbacks,
        )?;
        Ok(Self {
            ops_listener: TcpListener::bind(settings.metrics_listen).await?,
            settings,
            topics,
            registry,
            metrics,
            readiness: Readiness::waiting_on("consumer", "not consuming yet"),
            client,
        })
    }

    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StageError> {
        let Deliver {
            settings,
            topics,
            ops_listener,
            registry,
            metrics,
            readiness,
            client,
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
        background.catalog_loaded(&shutdown).await;
        let catalog = background.catalog.clone();
        let worker = Worker::new(&settings, topics, catalog, client, metrics)?;
        worker.run(&readiness, &shutdown).await?;
        shutdown.cancel();
        background.join().await?;
        tracing::info!("deliver stopped.");
        Ok(())
    }
}
