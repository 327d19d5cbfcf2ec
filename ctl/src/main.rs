//! The `canonflow` operator CLI: parses arguments, then [`canonflow_ctl::run`].

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    canonflow_ctl::run(canonflow_ctl::Cli::parse()).await
}
