//! `sim`: run the Dropbox simulator or a callback receiver that shows each delivered callback.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sim::{CallbackReceiver, DropboxSim, Received, Reply, verify_elements_signature};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "sim",
    version,
    about = "Local stand-ins for Dropbox's HTTP API and for a webhook customer"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the simulated Dropbox API (/oauth2/token, /2/...) and its control API (/sim/...).
    Dropbox {
        #[arg(long, env = "SIM_DROPBOX_LISTEN", default_value = "127.0.0.1:7070")]
        listen: SocketAddr,
        /// Keep apps, accounts, files and tokens across restarts in this JSON file.
        #[arg(long, env = "SIM_STATE_FILE")]
        state_file: Option<PathBuf>,
    },
    /// Accept callbacks on any path and print each one with its signature check.
    Receiver {
        #[arg(long, env = "SIM_RECEIVER_LISTEN", default_value = "127.0.0.1:7080")]
        listen: SocketAddr,
        /// Key for checking Elements-Webhook-Signature (its UTF-8 bytes are the HMAC key).
        #[arg(long, env = "SIM_SIGNATURE_KEY")]
        signature_key: Option<String>,
        /// Status to answer every callback with.
        #[arg(long, default_value_t = 200)]
        status: u16,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match Cli::parse().command {
        Command::Dropbox { listen, state_file } => run_dropbox(listen, state_file).await,
        Command::Receiver {
            listen,
            signature_key,
            status,
        } => run_receiver(listen, signature_key, status).await,
    }
}

async fn run_dropbox(listen: SocketAddr, state_file: Option<PathBuf>) -> anyhow::Result<()> {
    let sim = match &state_file {
        Some(path) => {
            DropboxSim::load_state(path).with_context(|| format!("loading {}", path.display()))?
        }
        None => DropboxSim::new(),
    };
    let addr = sim
        .spawn_on(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    eprintln!("dropbox simulator on http://{addr} (control API under /sim/)");
    if let Some(path) = &state_file {
        sim.autosave(path.clone(), Duration::from_secs(1));
    }
    shutdown_signal().await;
    if let Some(path) = &state_file {
        sim.save_state(path)
            .with_context(|| format!("saving {}", path.display()))?;
    }
    Ok(())
}

async fn run_receiver(
    listen: SocketAddr,
    signature_key: Option<String>,
    status: u16,
) -> anyhow::Result<()> {
    let receiver = CallbackReceiver::new();
    receiver.set_default(Reply::Status(status));
    let addr = receiver
        .spawn_on(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    eprintln!("callback receiver on http://{addr}");
    let key = signature_key.as_deref().map(str::as_bytes);
    let printing = async {
        let mut seen = 0;
        loop {
            let received = receiver.wait_for(seen + 1, Duration::from_secs(3600)).await;
            for callback in &received[seen..] {
                println!("{}", describe(callback, key));
            }
            seen = received.len();
        }
    };
    tokio::select! {
        () = printing => Ok(()),
        () = shutdown_signal() => Ok(()),
    }
}

/// `POST /path id=… signature=valid` and the body, pretty-printed when it is JSON.
fn describe(callback: &Received, key: Option<&[u8]>) -> String {
    let id = callback.header("elements-webhook-id").unwrap_or("-");
    let signature = match (key, callback.header("elements-webhook-signature")) {
        (None, _) => "unchecked",
        (Some(_), None) => "MISSING",
        (Some(key), Some(header)) if verify_elements_signature(key, &callback.body, header) => {
            "valid"
        }
        (Some(_), Some(_)) => "INVALID",
    };
    let body = callback
        .json()
        .ok()
        .and_then(|json| serde_json::to_string_pretty(&json).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(&callback.body).into_owned());
    format!(
        "POST {} id={id} signature={signature}\n{body}",
        callback.path
    )
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
