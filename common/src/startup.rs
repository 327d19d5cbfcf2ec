//! What every stage binary does before its own work: read the command line,
//! load and validate the configuration, install logging, metrics and the
//! signal watcher. Keeps each `main.rs` to a few lines.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{ConfigError, ConfigSource, Deployment};
use crate::observe::trace::Traces;
use crate::observe::{self, ObserveError, Stage};
use crate::shutdown::Shutdown;
use crate::telemetry::{self, TelemetryError};

/// Command-line arguments shared by the stage binaries.
#[derive(Debug, clap::Parser)]
pub struct StageArgs {
    /// The deployment's configuration file (TOML); every key can also be set
    /// through `CANONFLOW__SECTION__KEY` environment variables.
    #[arg(long, short, env = "CANONFLOW_CONFIG")]
    pub config: Option<PathBuf>,
}

/// A configured, logging, signal-aware process, ready to `run`.
#[derive(Debug)]
pub struct Startup {
    pub source: ConfigSource,
    pub deployment: Deployment,
    pub shutdown: Shutdown,
    /// Flushes unexported spans when dropped: keep it until `run` returns.
    pub traces: Traces,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error(transparent)]
    Observe(#[from] ObserveError),
}

/// How long a stage may take to stop after SIGTERM before it is ended.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Loads configuration, installs logging, tracing, metrics with their HTTP
/// endpoint, and the signal watcher. Must be called inside a Tokio runtime.
pub fn start(args: &StageArgs, stage: Stage) -> Result<Startup, StartupError> {
    let source = ConfigSource::load(args.config.as_deref())?;
    let deployment = source.deployment()?;
    let traces = telemetry::init(
        &deployment.telemetry,
        &format!("canonflow-{}", stage.as_str()),
    )?;
    observe::install(stage, &deployment.telemetry)?;
    let shutdown = Shutdown::on_signals(SHUTDOWN_GRACE);
    Ok(Startup {
        source,
        deployment,
        shutdown,
        traces,
    })
}
