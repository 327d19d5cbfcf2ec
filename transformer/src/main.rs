//! The `transformer` binary: configuration and signals, then [`canonflow_transformer::run`].

use canonflow_common::observe::Stage;
use canonflow_common::startup::{StageArgs, start};
use clap::Parser;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let startup = start(&StageArgs::parse(), Stage::Transformer)?;
    canonflow_transformer::run(startup.source, startup.shutdown).await?;
    Ok(())
}
