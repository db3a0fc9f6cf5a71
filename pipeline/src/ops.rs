//! The operator's endpoints every stage serves on `METRICS_LISTEN`: `/metrics`, `/healthz`, `/readyz`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::server::Limits;
use tokio_util::sync::CancellationToken;

/// Named readiness conditions; the stage is ready when all hold. Each not-ready one keeps a reason
/// that `/readyz` shows.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Mutex<BTreeMap<&'static str, Option<String>>>>,
}

impl Readiness {
    /// Registers a condition as not ready yet, with why.
    pub fn waiting(&self, name: &'static str, reason: impl Into<String>) {
        self.lock().insert(name, Some(reason.into()));
    }

    pub fn ready(&self, name: &'static str) {
        self.lock().insert(name, None);
    }

    pub fn is_ready(&self) -> bool {
        self.lock().values().all(Option::is_none)
    }

    /// One line per condition: `name: ok` or `name: <reason>`.
    pub fn report(&self) -> String {
        self.lock()
            .iter()
            .map(|(name, reason)| format!("{name}: {}\n", reason.as_deref().unwrap_or("ok")))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Option<String>>> {
        self.checks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Clone)]
struct OpsState {
    registry: Registry,
    readiness: Readiness,
}

/// Serves the ops endpoints until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(OpsState {
            registry,
            readiness,
        });
    crate::server::serve(listener, app, Limits::default(), shutdown).await;
    Ok(())
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(error) = encoder.encode(&state.registry.gather(), &mut body) {
        tracing::error!(%error, "Could not encode metrics.");
        return (StatusCode::INTERNAL_SERVER_ERROR, Vec::new()).into_response();
    }
    (
        [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
        body,
    )
        .into_response()
}

async fn readyz(State(state): State<OpsState>) -> impl IntoResponse {
    let status = if state.readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, state.readiness.report())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_condition_holds() {
        let readiness = Readiness::default();
        assert!(readiness.is_ready());
        readiness.waiting("instances", "loading the instances topic");
        readiness.ready("consumer");
        assert!(!readiness.is_ready());
        assert_eq!(
            readiness.report(),
            "consumer: ok\ninstances: loading the instances topic\n"
        );
        readiness.ready("instances");
        assert!(readiness.is_ready());
    }
}
