//! `ingest`: the pipeline's front door. Dropbox webhooks are verified and written durably to
//! `webhooks.raw` before they are answered; operators manage connector instances at `/instances`.

mod instances_api;
mod metrics;
mod settings;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use pipeline::StageError;
use pipeline::crypto::Sealer;
use pipeline::element::dropbox::api::DropboxApi;
use pipeline::instances::InstanceCatalog;
use pipeline::kafka::{Topics, ensure_topics};
use pipeline::ops::Readiness;
use pipeline::server::Limits;
use pipeline::stage::{Background, BackgroundSettings};
use rdkafka::producer::{FutureProducer, Producer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

use crate::metrics::Metrics;

/// What every request handler shares.
#[derive(Clone)]
struct AppState {
    catalog: Arc<InstanceCatalog>,
    producer: FutureProducer,
    topics: Arc<Topics>,
    sealer: Sealer,
    dropbox: DropboxApi,
    metrics: Metrics,
    admin_token: Arc<str>,
    produce_timeout: Duration,
}

/// A built `ingest`: sockets bound, Kafka reachable and topics created; `run` serves.
pub struct Ingest {
    settings: Settings,
    state: AppState,
    listener: TcpListener,
    ops_listener: TcpListener,
    registry: prometheus::Registry,
    readiness: Readiness,
}

impl Ingest {
    pub async fn build(settings: Settings) -> Result<Self, StageError> {
        let topics = Topics::new(&settings.kafka.topic_prefix);
        ensure_topics(&settings.kafka, &topics).await?;
        let producer = pipeline::kafka::producer(
            &settings.kafka,
            settings.produce_timeout.as_millis() as u64,
        )?;
        let registry = prometheus::Registry::new();
        let metrics = Metrics::register(&registry).expect("metric names are unique and valid");
        let state = AppState {
            catalog: Arc::default(),
            producer,
            topics: Arc::new(topics),
            sealer: Sealer::new(&settings.secrets.secrets_key),
            dropbox: DropboxApi::new(&settings.dropbox_api_url, settings.dropbox_timeout)?,
            metrics,
            admin_token: settings.admin_token.as_str().into(),
            produce_timeout: settings.produce_timeout,
        };
        Ok(Self {
            listener: TcpListener::bind(settings.listen).await?,
            ops_listener: TcpListener::bind(settings.metrics_listen).await?,
            settings,
            state,
            registry,
            readiness: Readiness::default(),
        })
    }

    /// Where webhooks and the /instances API are served.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where /metrics, /healthz and /readyz are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown`; then stops taking requests, finishes those in flight and flushes.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StageError> {
        let Ingest {
            settings,
            state,
            listener,
            ops_listener,
            registry,
            readiness,
        } = self;
        let background = Background::spawn(
            BackgroundSettings {
                kafka: &settings.kafka,
                instances_topic: &state.topics.instances,
                secrets_key: &settings.secrets.secrets_key,
                ops_listener,
                registry,
                readiness,
                catalog: state.catalog.clone(),
            },
            &shutdown,
        );
        let producer = state.producer.clone();
        let app = router(state, settings.max_body_bytes);
        tracing::info!(listen = %listener.local_addr()?, "ingest is serving.");
        pipeline::server::serve(listener, app, Limits::default(), shutdown.clone()).await;
        shutdown.cancel();
        producer.flush(Duration::from_secs(10))?;
        background.join().await?;
        tracing::info!("ingest stopped.");
        Ok(())
    }
}

fn router(state: AppState, max_body_bytes: usize) -> Router {
    let webhook = get(webhooks::challenge).post(webhooks::notification);
    Router::new()
        .route("/events/{element_key}", webhook.clone())
        .route("/elements/api-v2/events/{element_key}", webhook)
        .merge(instances_api::router(state.clone()))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}
