//! `deliver`: parse settings, build, run until SIGTERM.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = deliver::Settings::parse();
    pipeline::telemetry::init_tracing(settings.common.log.log_format);
    let shutdown = pipeline::shutdown::on_signal();
    deliver::Deliver::build(settings)
        .await?
        .run(shutdown)
        .await?;
    Ok(())
}
