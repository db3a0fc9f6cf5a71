//! What every stage has besides its own work: its topics, its metrics registry and readiness, the
//! ops endpoints, and the instance catalog loaded from Kafka.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::StageError;
use crate::crypto::Sealer;
use crate::instances::InstanceCatalog;
use crate::kafka::{Topics, ensure_topics};
use crate::ops::Readiness;
use crate::settings::StageSettings;

/// A stage's shared parts, built before it runs: topics exist, and the ops endpoints already
/// answer (`/readyz` says what the stage is still waiting for).
pub struct StageBase {
    pub settings: StageSettings,
    pub topics: Topics,
    /// Register the stage's metrics here; `/metrics` shows them as soon as they exist.
    pub registry: Registry,
    /// Add the stage's own conditions here; the catalog adds its own.
    pub readiness: Readiness,
    pub catalog: Arc<InstanceCatalog>,
    ops_addr: SocketAddr,
    ops: JoinHandle<std::io::Result<()>>,
    /// Stops the ops endpoints; also when the stage is dropped without running.
    ops_shutdown: DropGuard,
}

impl StageBase {
    /// Creates missing topics and binds `metrics_listen`.
    pub async fn build(
        settings: StageSettings,
        metrics_listen: SocketAddr,
    ) -> Result<Self, StageError> {
        let topics = Topics::new(&settings.kafka.topic_prefix);
        ensure_topics(&settings.kafka, &topics).await?;
        let readiness = Readiness::default();
        // Not ready from the first moment, not only once the loading task has started.
        readiness.waiting(crate::instances::READINESS, "loading the instances topic");
        let listener = TcpListener::bind(metrics_listen).await?;
        let ops_addr = listener.local_addr()?;
        let registry = Registry::new();
        let ops_shutdown = CancellationToken::new();
        let ops = tokio::spawn(crate::ops::serve(
            listener,
            registry.clone(),
            readiness.clone(),
            ops_shutdown.clone(),
        ));
        Ok(Self {
            settings,
            topics,
            registry,
            readiness,
            catalog: Arc::default(),
            ops_addr,
            ops,
            ops_shutdown: ops_shutdown.drop_guard(),
        })
    }

    /// Where /metrics, /healthz and /readyz are served.
    pub fn ops_addr(&self) -> SocketAddr {
        self.ops_addr
    }

    /// Starts loading the instance catalog; the ops endpoints stop with `shutdown`.
    pub fn start(self, shutdown: &CancellationToken) -> Background {
        let ops_shutdown = self.ops_shutdown.disarm();
        let stage_shutdown = shutdown.clone();
        tokio::spawn(async move {
            stage_shutdown.cancelled().await;
            ops_shutdown.cancel();
        });
        let ops = self.ops;
        let follow = {
            let (kafka, topic) = (self.settings.kafka.clone(), self.topics.instances.clone());
            let sealer = Sealer::new(&self.settings.secrets.secrets_key);
            let (catalog, readiness) = (self.catalog.clone(), self.readiness.clone());
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                crate::instances::follow(&kafka, &topic, sealer, catalog, readiness, shutdown).await
            })
        };
        Background {
            topics: self.topics,
            readiness: self.readiness,
            catalog: self.catalog,
            ops,
            follow,
        }
    }
}

/// A started stage's shared parts; `join` waits for its background tasks after shutdown.
pub struct Background {
    pub topics: Topics,
    pub readiness: Readiness,
    pub catalog: Arc<InstanceCatalog>,
    ops: JoinHandle<std::io::Result<()>>,
    follow: JoinHandle<Result<(), rdkafka::error::KafkaError>>,
}

impl Background {
    /// Resolves once the catalog has caught up, or at shutdown, whichever comes first.
    pub async fn catalog_loaded(&self, shutdown: &CancellationToken) {
        tokio::select! {
            _ = self.catalog.wait_caught_up() => {}
            _ = shutdown.cancelled() => {}
        }
    }

    /// Waits for the background tasks, which end once `shutdown` is cancelled.
    pub async fn join(self) -> Result<(), StageError> {
        self.ops.await??;
        self.follow.await??;
        Ok(())
    }
}
