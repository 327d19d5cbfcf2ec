//! The transformer stage: maps raw records to canonical entities and dead-letters what cannot be mapped.
//!
//! Only the entry point exists so far; the stage itself is issue 4.

pub mod normalize;

use canonflow_common::config::ConfigSource;
use canonflow_common::{Classify, ErrorClass, Shutdown};

/// Why the transformer stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the transformer is not built yet (issue 4)")]
    NotBuilt,
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

/// Runs the transformer until `shutdown` is triggered or a fatal error occurs.
pub async fn run(_config: ConfigSource, _shutdown: Shutdown) -> Result<(), Error> {
    Err(Error::NotBuilt)
}
