//! The sink stage: writes canonical entities to PostgreSQL with batched, version-guarded upserts.
//!
//! Only the entry point exists so far; the stage itself is issue 5.

use canonflow_common::config::ConfigSource;
use canonflow_common::{Classify, ErrorClass, Shutdown};

/// Why the sink stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the sink is not built yet (issue 5)")]
    NotBuilt,
}

impl Classify for Error {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

/// Runs the sink until `shutdown` is triggered or a fatal error occurs.
pub async fn run(_config: ConfigSource, _shutdown: Shutdown) -> Result<(), Error> {
    Err(Error::NotBuilt)
}
