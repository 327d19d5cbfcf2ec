//! The operator CLI: what users of canonflow do by hand.
//!
//! Each subcommand lives in a module of its own. Commands that change
//! anything print a plan and apply it only when asked to. Output goes to
//! stdout for people (or `--json` for scripts); logs go to stderr.
#![allow(clippy::print_stdout, reason = "a CLI's output is its product")]

mod check;
mod dlq;
mod offsets;
mod read;
pub mod replay;
mod status;
mod topics;
mod watermarks;

use std::path::PathBuf;
use std::process::ExitCode;

use canonflow_common::config::ConfigSource;
use canonflow_common::telemetry::{self, TelemetryConfig};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "canonflow", version, about = "Operate a canonflow deployment")]
pub struct Cli {
    /// The deployment's configuration file (TOML); every key can also be set
    /// through `CANONFLOW__SECTION__KEY` environment variables.
    #[arg(long, short, global = true, env = "CANONFLOW_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that Kafka and PostgreSQL answer with the configured settings.
    Check(check::Args),
    /// Dead letters: list, show, redrive.
    #[command(subcommand)]
    Dlq(dlq::Command),
    /// Move a stage's consumer-group offsets to process records again
    /// (dry run unless --execute).
    Replay(replay::Args),
    /// Each stage's group: members, committed and end offsets, lag in
    /// records and seconds, dead letters; exits 1 past a threshold.
    Status(status::Args),
    /// Every stage's topics with their settings, created before any stage
    /// runs (a deployment's one-shot job; a plan unless --execute).
    #[command(subcommand)]
    Topics(topics::Command),
    /// Streams' sync positions on the watermarks topic.
    #[command(subcommand)]
    Watermarks(watermarks::Command),
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = ConfigSource::load(cli.config.as_deref())?;
    let deployment = config.deployment()?;
    // Quiet by default: the CLI's output is on stdout.
    let _traces = telemetry::init(
        &TelemetryConfig {
            log_level: "warn".into(),
            ..deployment.telemetry.clone()
        },
        "canonflow-ctl",
    );
    match cli.command {
        Command::Check(args) => check::run(&deployment, &args).await,
        Command::Dlq(command) => dlq::run(&deployment, command).await,
        Command::Replay(args) => replay::run(&config, &deployment, &args).await,
        Command::Status(args) => status::run(&config, &deployment, &args).await,
        Command::Topics(command) => topics::run(&config, &deployment, &command).await,
        Command::Watermarks(command) => watermarks::run(&config, &deployment, &command).await,
    }
}
