//! `normalize`: parse settings, build, run until SIGTERM.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = normalize::Settings::parse();
    pipeline::telemetry::init_tracing(settings.common.log.log_format);
    let shutdown = pipeline::shutdown::on_signal();
    normalize::Normalize::build(settings)
        .await?
        .run(shutdown)
        .await?;
    Ok(())
}
