//! `bench`: measures a stage and its baseline in one run and reports the ratio.
//!
//! `cargo run --release -p bench -- ingest` needs Kafka on `KAFKA_BROKERS` (`scripts/kafka.sh start`).

mod ingest;
mod load;

use clap::{Parser, Subcommand};

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Ingest(settings) => ingest::run(settings).await,
    }
}
