//! Settings of `ingest`; each is a flag with an environment fallback.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pipeline::crypto::Secret;
use pipeline::settings::{DropboxSettings, StageSettings, parse_duration};

/// Keeps the token out of `Debug` output from the moment it is read.
fn parse_secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
}

/// Receives Dropbox webhooks into Kafka and serves the operator's /instances API.
#[derive(Debug, Clone, Parser)]
#[command(name = "ingest", version)]
pub struct Settings {
    /// Address of the webhook and /instances HTTP server.
    #[arg(long, env = "INGEST_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_LISTEN", default_value = "0.0.0.0:9101")]
    pub metrics_listen: SocketAddr,
    /// Bearer token the /instances API requires.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub admin_token: Secret,
    /// Largest webhook body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// How long a webhook may wait for Kafka before it is answered 503 (Dropbox allows 10s).
    #[arg(long, env = "PRODUCE_TIMEOUT", value_parser = parse_duration, default_value = "5s")]
    pub produce_timeout: Duration,
    /// A client must send its request head, and then its body, within this; else it is cut off.
    #[arg(long, env = "READ_TIMEOUT", value_parser = parse_duration, default_value = "5s")]
    pub read_timeout: Duration,
    #[command(flatten)]
    pub dropbox: DropboxSettings,
    #[command(flatten)]
    pub common: StageSettings,
}
