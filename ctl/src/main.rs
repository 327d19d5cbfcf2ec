//! The `canonflow` operator CLI: parses arguments, then [`canonflow_ctl::run`].

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    match canonflow_ctl::run(canonflow_ctl::Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            // The cause chain, for people; no backtrace.
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
