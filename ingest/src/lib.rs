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
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use pipeline::StageError;
use pipeline::crypto::{Sealer, Secret};
use pipeline::element::dropbox::api::DropboxApi;
use pipeline::instances::InstanceCatalog;
use pipeline::kafka::{StageContext, Topics};
use pipeline::server::Limits;
use pipeline::stage::StageBase;
use rdkafka::producer::{FutureProducer, Producer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use settings::Settings;

use crate::metrics::Metrics;

/// What every request handler shares.
#[derive(Clone)]
struct AppState {
    catalog: Arc<InstanceCatalog>,
    producer: FutureProducer<StageContext>,
    topics: Arc<Topics>,
    sealer: Sealer,
    dropbox: DropboxApi,
    metrics: Metrics,
    admin_token: Secret,
    produce_timeout: Duration,
    max_body_bytes: usize,
    read_timeout: Duration,
}

/// A built `ingest`: sockets bound, Kafka reachable and topics created; `run` serves.
pub struct Ingest {
    base: StageBase,
    state: AppState,
    listener: TcpListener,
}

impl Ingest {
    pub async fn build(settings: Settings) -> Result<Self, StageError> {
        let base = StageBase::build(settings.common, settings.metrics_listen).await?;
        let kafka = &base.settings.kafka;
        // Its context tells /readyz when no broker can be reached.
        let health = StageContext::default().reporting_to(base.readiness.clone());
        let timeout_ms = settings.produce_timeout.as_millis() as u64;
        let producer = pipeline::kafka::producer_with_context(kafka, timeout_ms, health)?;
        let metrics = Metrics::register(&base.registry).expect("metric names are unique and valid");
        let state = AppState {
            catalog: base.catalog.clone(),
            producer,
            topics: Arc::new(base.topics.clone()),
            sealer: Sealer::new(&base.settings.secrets.secrets_key),
            dropbox: settings.dropbox.client(metrics.dropbox_calls.clone())?,
            metrics,
            admin_token: settings.admin_token,
            produce_timeout: settings.produce_timeout,
            max_body_bytes: settings.max_body_bytes,
            read_timeout: settings.read_timeout,
        };
        Ok(Self {
            listener: TcpListener::bind(settings.listen).await?,
            base,
            state,
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
        self.base.ops_addr()
    }

    /// Serves until `shutdown`; then stops taking requests, finishes those in flight and flushes.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StageError> {
        let Ingest {
            base,
            state,
            listener,
        } = self;
        let background = base.start(&shutdown);
        let producer = state.producer.clone();
        let read_timeout = state.read_timeout;
        let app = router(state);
        tracing::info!(listen = %listener.local_addr()?, "ingest is serving.");
        let limits = Limits {
            header_read_timeout: read_timeout,
            ..Limits::default()
        };
        pipeline::server::serve(listener, app, limits, shutdown.clone()).await;
        shutdown.cancel();
        producer.flush(Duration::from_secs(10))?;
        background.join().await?;
        tracing::info!("ingest stopped.");
        Ok(())
    }
}

fn router(state: AppState) -> Router {
    let webhook = get(webhooks::challenge).post(webhooks::notification);
    Router::new()
        .route("/events/{element_key}", webhook.clone())
        .route("/elements/api-v2/events/{element_key}", webhook)
        .merge(instances_api::router(state.clone()))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .with_state(state)
}

/// Counts every answer by status class.
async fn count_responses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let class = pipeline::status_class(response.status().as_u16());
    state
        .metrics
        .http_responses
        .with_label_values(&[class])
        .inc();
    response
}
