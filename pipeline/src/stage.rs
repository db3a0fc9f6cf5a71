//! What runs beside every stage's own work: the ops endpoints and the instance catalog.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::StageError;
use crate::crypto::{Sealer, SecretsKey};
use crate::instances::InstanceCatalog;
use crate::ops::Readiness;
use crate::settings::KafkaSettings;

/// The background tasks of a stage; `join` waits for them after shutdown.
pub struct Background {
    pub catalog: Arc<InstanceCatalog>,
    ops: JoinHandle<std::io::Result<()>>,
    follow: JoinHandle<Result<(), rdkafka::error::KafkaError>>,
}

/// Everything `spawn` needs, gathered so stages pass one value.
pub struct BackgroundSettings<'a> {
    pub kafka: &'a KafkaSettings,
    pub instances_topic: &'a str,
    pub secrets_key: &'a SecretsKey,
    pub ops_listener: TcpListener,
    pub registry: prometheus::Registry,
    pub readiness: Readiness,
    /// The catalog to fill; the stage may share it with its own handlers.
    pub catalog: Arc<InstanceCatalog>,
}

impl Background {
    /// Serves the ops endpoints and starts loading the instance catalog.
    pub fn spawn(settings: BackgroundSettings<'_>, shutdown: &CancellationToken) -> Self {
        let BackgroundSettings {
            kafka,
            instances_topic,
            secrets_key,
            ops_listener,
            registry,
            readiness,
            catalog,
        } = settings;
        // Not ready from the first moment, not only once the task has started.
        readiness.waiting(crate::instances::READINESS, "loading the instances topic");
        let ops = tokio::spawn(crate::ops::serve(
            ops_listener,
            registry,
            readiness.clone(),
            shutdown.clone(),
        ));
        let follow = {
            let (kafka, topic) = (kafka.clone(), instances_topic.to_owned());
            let (sealer, catalog) = (Sealer::new(secrets_key), catalog.clone());
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                crate::instances::follow(&kafka, &topic, sealer, catalog, readiness, shutdown).await
            })
        };
        Self {
            catalog,
            ops,
            follow,
        }
    }

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
