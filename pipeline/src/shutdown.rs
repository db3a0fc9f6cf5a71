//! Turns SIGTERM and SIGINT into a cancellation every task of a stage watches.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("Could not install signal handlers; stop with SIGKILL.");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "Shutting down."),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "Shutting down."),
        }
        cancel.cancel();
    });
    token
}
