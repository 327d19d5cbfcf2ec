//! The `[postgres]` configuration section, shared by the sink and the CLI.
//!
//! Only configuration lives here: the connection pool is built by its users,
//! so that stages without a database do not link a database driver.

use secrecy::SecretString;
use serde::Deserialize;

/// `[postgres]`: where the canonical tables live.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// A libpq-style URL, e.g. `postgres://canonflow@db:5432/canonflow?sslmode=verify-full`.
    /// Held as a secret because URLs often carry a password; prefer setting
    /// it through `CANONFLOW__POSTGRES__URL` rather than in the file.
    pub url: SecretString,
    /// Upper bound of the connection pool.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_connections() -> u32 {
    8
}
