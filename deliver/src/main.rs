//! `deliver`: parse settings, then run until SIGTERM, or replay parked events.

use clap::Parser;
use deliver::{Command, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::parse();
    pipeline::telemetry::init_tracing(settings.common.log.log_format);
    if let Some(Command::Replay { instance }) = settings.command {
        let report = deliver::replay(&settings, instance).await?;
        println!(
            "Replayed {} of {} parked events.",
            report.replayed, report.parked
        );
        return Ok(());
    }
    let shutdown = pipeline::shutdown::on_signal();
    deliver::Deliver::build(settings)
        .await?
        .run(shutdown)
        .await?;
    Ok(())
}
