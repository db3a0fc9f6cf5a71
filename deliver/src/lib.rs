//! `deliver`: signs each standardized notification with its instance's key and POSTs it to the
//! instance's callback URL; failed tries wait in retry tier topics (`events.retry.<n>`, one per
//! step of the schedule) and what never succeeds is parked in `events.dlq` for `deliver replay`.
//!
//! Delivery guarantee: at least once (see `dispatch`). An endpoint that fails or hangs holds up
//! only its own events.

mod attempt;
mod client;
mod dispatch;
mod metrics;
mod replay;
mod retry;
mod settings;
mod ssrf;
mod tracker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pipeline::StageError;
use pipeline::kafka::{StageContext, ensure_retry_topics};
use pipeline::stage::StageBase;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use replay::{ReplayReport, replay};
pub use settings::{Command, Settings};

use crate::client::CallbackClient;
use crate::dispatch::{Shared, Source};
use crate::metrics::Metrics;

/// Readiness condition of deliver besides the catalog.
const CONSUMER: &str = "consumer";
/// At shutdown, tries in flight get this long to finish before offsets are committed.
const DRAIN: Duration = Duration::from_secs(20);

pub struct Deliver {
    base: StageBase,
    settings: Settings,
    metrics: Metrics,
    client: CallbackClient,
}

impl Deliver {
    pub async fn build(settings: Settings) -> Result<Self, StageError> {
        let base = StageBase::build(settings.common.clone(), settings.metrics_listen).await?;
        ensure_retry_topics(
            &settings.common.kafka,
            &base.topics,
            settings.retry_schedule.retries(),
        )
        .await?;
        base.readiness.waiting(CONSUMER, "not consuming yet");
        let metrics = Metrics::register(&base.registry, settings.metrics_per_instance)
            .expect("metric names are unique and valid");
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
        let kafka = &settings.common.kafka;
        let producer = pipeline::kafka::producer(kafka, 30_000)?;
        let shared = Arc::new(Shared::new(
            background.catalog.clone(),
            client,
            settings.retry_schedule.clone(),
            producer,
            background.topics.clone(),
            metrics,
            settings.endpoint_concurrency,
            settings.request_timeout,
        ));
        let lag = || {
            StageContext::with_lag(shared.metrics.consumer_lag.clone())
                .reporting_to(background.readiness.clone())
        };
        // `events` itself, then one source per retry tier, each its own consumer group.
        let mut sources = vec![Source {
            topic: background.topics.events.clone(),
            retries: 0,
            consumer: pipeline::kafka::consumer(
                kafka,
                &settings.group,
                settings.copy_id.as_deref(),
                lag(),
            )?,
        }];
        let member = |tier: usize| {
            settings
                .copy_id
                .as_ref()
                .map(|id| format!("{id}-retry-{tier}"))
        };
        for tier in 1..=settings.retry_schedule.retries() {
            sources.push(Source {
                topic: background.topics.delivery_retry(tier),
                retries: tier,
                consumer: pipeline::kafka::consumer(
                    kafka,
                    &format!("{}-retry-{tier}", settings.group),
                    member(tier).as_deref(),
                    lag(),
                )?,
            });
        }
        let mut loops = JoinSet::new();
        for source in sources {
            let (shared, shutdown) = (shared.clone(), shutdown.clone());
            let max_in_flight = settings.max_in_flight;
            loops.spawn(async move {
                dispatch::run(source, shared, max_in_flight, DRAIN, &shutdown).await
            });
        }
        background.readiness.ready(CONSUMER);
        tracing::info!(topic = %background.topics.events, "deliver is consuming.");
        let mut result = Ok(());
        while let Some(finished) = loops.join_next().await {
            if let Err(error) = finished? {
                tracing::error!(%error, "A delivery loop failed; stopping.");
                shutdown.cancel();
                result = Err(error);
            }
        }
        shutdown.cancel();
        background.join().await?;
        tracing::info!("deliver stopped.");
        result
    }
}
