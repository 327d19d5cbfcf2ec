//! Graceful, bounded shutdown.
//!
//! A [`Shutdown`] is handed to every `run(config, shutdown)`. Stages check it
//! between units of work: on trigger they finish (or roll back) what is in
//! flight, commit nothing that is not durable, and return. The signal watcher
//! installed by binaries turns SIGINT/SIGTERM into a trigger, and ends the
//! process if shutdown outlives its grace period or a second signal arrives,
//! so that a hung client (see `docs/broker-compat.md`) cannot keep it alive.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A cloneable shutdown trigger.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once shutdown was triggered; use in `tokio::select!`.
    pub async fn triggered(&self) {
        self.token.cancelled().await;
    }

    /// A shutdown triggered by SIGINT or SIGTERM. If the process is still
    /// alive `grace` after the first signal, or a second signal arrives, it
    /// exits with status 130. Must be called inside a Tokio runtime.
    pub fn on_signals(grace: Duration) -> Self {
        let shutdown = Self::new();
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(?grace, "shutdown requested; finishing in-flight work");
            trigger.trigger();
            tokio::select! {
                () = wait_for_signal() => tracing::warn!("second signal; exiting now"),
                () = tokio::time::sleep(grace) => {
                    tracing::error!(?grace, "shutdown took longer than its grace period; exiting");
                }
            }
            std::process::exit(130);
        });
        shutdown
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; only a kill will stop this process");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trigger_reaches_every_clone() {
        let shutdown = Shutdown::new();
        let worker = shutdown.clone();
        let waiting = tokio::spawn(async move {
            worker.triggered().await;
            worker.is_triggered()
        });
        assert!(!shutdown.is_triggered());
        shutdown.trigger();
        assert!(waiting.await.unwrap());
    }
}
