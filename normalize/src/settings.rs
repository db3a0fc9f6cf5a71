//! Settings of `normalize`; each is a flag with an environment fallback.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pipeline::settings::{KafkaSettings, LogSettings, SecretsSettings, parse_duration};

/// Turns raw Dropbox notifications into standardized event notifications.
#[derive(Debug, Clone, Parser)]
#[command(name = "normalize", version)]
pub struct Settings {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_LISTEN", default_value = "0.0.0.0:9102")]
    pub metrics_listen: SocketAddr,
    /// Base URL of Dropbox's API (the simulator's in tests and the demo).
    #[arg(
        long,
        env = "DROPBOX_API_URL",
        default_value = "https://api.dropboxapi.com"
    )]
    pub dropbox_api_url: String,
    /// Timeout of calls to Dropbox's API.
    #[arg(long, env = "DROPBOX_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    pub dropbox_timeout: Duration,
    /// Kafka consumer group shared by the copies of normalize.
    #[arg(long, env = "NORMALIZE_GROUP", default_value = "normalize")]
    pub group: String,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    #[command(flatten)]
    pub secrets: SecretsSettings,
    #[command(flatten)]
    pub log: LogSettings,
}
