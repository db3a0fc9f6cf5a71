//! `bench`: measures a stage and its baseline in one run and reports the ratio.
//!
//! `cargo run --release -p bench -- ingest|normalize|deliver|end-to-end` needs Kafka on `KAFKA_BROKERS`
//! (`scripts/kafka.sh start`).

mod deliver;
mod end_to_end;
mod fixture;
mod ingest;
mod load;
mod normalize;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "bench",
    about = "Stage benchmarks, as ratios against a baseline run alongside"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Accepted webhooks per second and answer times: ingest against a bare axum handler doing
    /// only the same signature check.
    Ingest(load::LoadSettings),
    /// Raw records normalized per second against a plain consume-produce copy of the same
    /// records on the same broker.
    Normalize(normalize::NormalizeBench),
    /// Callbacks delivered per second against a plain reqwest loop to the same receiver at the
    /// same concurrency.
    Deliver(deliver::DeliverBench),
    /// The whole pipeline at a steady webhook rate, stages as processes: webhook-to-callback
    /// latency and each stage's peak memory. Needs `cargo build --release --bins` first.
    EndToEnd(end_to_end::EndToEndBench),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Warnings only by default; RUST_LOG=info shows the stages at work.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match Cli::parse().command {
        Command::Ingest(settings) => ingest::run(settings).await,
        Command::Normalize(bench) => normalize::run(bench).await,
        Command::Deliver(bench) => deliver::run(bench).await,
        Command::EndToEnd(bench) => end_to_end::run(bench).await,
    }
}
