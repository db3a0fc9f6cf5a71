//! Settings of `normalize`; each is a flag with an environment fallback.

use std::net::SocketAddr;

use clap::Parser;
use pipeline::settings::{DropboxSettings, StageSettings};

/// Turns raw Dropbox notifications into standardized event notifications.
#[derive(Debug, Clone, Parser)]
#[command(name = "normalize", version)]
pub struct Settings {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_LISTEN", default_value = "0.0.0.0:9102")]
    pub metrics_listen: SocketAddr,
    /// Kafka consumer group shared by the copies of normalize.
    #[arg(long, env = "NORMALIZE_GROUP", default_value = "normalize")]
    pub group: String,
    #[command(flatten)]
    pub dropbox: DropboxSettings,
    #[command(flatten)]
    pub common: StageSettings,
}
