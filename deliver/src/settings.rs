//! Settings of `deliver`; each is a flag with an environment fallback.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};
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
    /// Stable name of this copy (e.g. the pod name): its group membership is static, so a
    /// restarted copy takes its partitions back at once instead of after the session timeout.
    #[arg(long, env = "DELIVER_COPY_ID")]
    pub copy_id: Option<String>,
    /// Callback requests in flight at once to one endpoint (scheme, host and port), so one slow
    /// customer cannot take every connection.
    #[arg(long, env = "ENDPOINT_CONCURRENCY", default_value_t = 8)]
    pub endpoint_concurrency: usize,
    /// Events being delivered at once from each topic (events and each retry tier); beyond
    /// that, consuming waits.
    #[arg(long, env = "MAX_IN_FLIGHT", default_value_t = 1000)]
    pub max_in_flight: usize,
    /// Also count tries per instance (`deliver_instance_events_total`); off by default, as the
    /// label grows with the number of instances.
    #[arg(long, env = "METRICS_PER_INSTANCE", default_value_t = false, action = clap::ArgAction::Set)]
    pub metrics_per_instance: bool,
    #[command(flatten)]
    pub common: StageSettings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Re-deliver the events parked in events.dlq: all of them, or one instance's.
    Replay {
        /// Only the events of this instance.
        #[arg(long)]
        instance: Option<u64>,
    },
}
