//! Settings of `normalize`; each is a flag with an environment fallback.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pipeline::settings::{DropboxSettings, StageSettings, parse_duration};

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
    /// Stable name of this copy (e.g. the pod name): its transactional id is `<group>-<copy id>`
    /// and its group membership static, so a restarted copy fences its crashed self and takes
    /// its partitions back at once. Unset: a random id, and failover after the session timeout.
    #[arg(long, env = "NORMALIZE_COPY_ID")]
    pub copy_id: Option<String>,
    /// Most raw records normalized in one transaction.
    #[arg(long, env = "NORMALIZE_BATCH_SIZE", default_value_t = 2000)]
    pub batch_size: usize,
    /// How long a batch waits for more records after its first.
    #[arg(long, env = "NORMALIZE_BATCH_LINGER", value_parser = parse_duration, default_value = "2ms")]
    pub batch_linger: Duration,
    /// Accounts resolved with Dropbox at once.
    #[arg(long, env = "NORMALIZE_CONCURRENCY", default_value_t = 16)]
    pub concurrency: usize,
    /// How long one account's Dropbox calls are retried within a batch before its record is put
    /// off to `normalize.retry`, so one failing account delays the others at most this long.
    #[arg(long, env = "DROPBOX_RETRY_BUDGET", value_parser = parse_duration, default_value = "10s")]
    pub dropbox_retry_budget: Duration,
    #[command(flatten)]
    pub dropbox: DropboxSettings,
    #[command(flatten)]
    pub common: StageSettings,
}
