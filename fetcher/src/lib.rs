//! The fetcher stage: pulls source APIs incrementally and publishes raw records with their watermarks, atomically.
//!
//! Only the entry point exists so far; the stage itself is issue 3.

use canonflow_common::config::ConfigSource;
use canonflow_common::{Classify, ErrorClass, Shutdown};

/// Why the fetcher stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the fetcher is not built yet (issue 3)")]
    NotBuilt,
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

/// Runs the fetcher until `shutdown` is triggered or a fatal error occurs.
pub async fn run(_config: ConfigSource, _shutdown: Shutdown) -> Result<(), Error> {
    Err(Error::NotBuilt)
}
