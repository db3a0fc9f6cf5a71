//! Settings of `deliver`; each is a flag with an environment fallback.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use pipeline::settings::{StageSettings, parse_duration};

use crate::retry::RetrySchedule;

/// Signs standardized notifications and POSTs them to each instance's callback URL.
#[derive(Debug, Clone, Parser)]
#[command(name = "deliver", version)]
pub struct Settings {
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_LISTEN", default_value = "0.0.0.0:9103")]
    pub metrics_listen: SocketAddr,
    /// Kafka consumer group shared by the copies of deliver.
    #[arg(long, env = "DELIVER_GROUP", default_value = "deliver")]
    pub group: String,
    /// Delays before each retry of a failed callback; after the last, the event is parked in events.dlq.
    #[arg(
        long,
        env = "RETRY_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h"
    )]
    pub retry_schedule: RetrySchedule,
    /// Time allowed to connect to a callback URL.
    #[arg(long, env = "CONNECT_TIMEOUT", value_parser = parse_duration, default_value = "5s")]
    pub connect_timeout: Duration,
    /// Time allowed for a whole callback request, answer included.
    #[arg(long, env = "REQUEST_TIMEOUT", value_parser = parse_duration, default_value = "15s")]
    pub request_timeout: Duration,
    /// Allow callback URLs on loopback, private, link-local and other non-global addresses.
    #[arg(long, env = "ALLOW_PRIVATE_CALLBACKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_callbacks: bool,
    #[command(flatten)]
    pub common: StageSettings,
}
