//! The `sink` binary: configuration and signals, then [`canonflow_sink::run`].

use canonflow_common::observe::Stage;
use canonflow_common::startup::{StageArgs, start};
use clap::Parser;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let startup = start(&StageArgs::parse(), Stage::Sink)?;
    canonflow_sink::run(startup.source, startup.shutdown).await?;
    Ok(())
}
