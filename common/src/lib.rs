//! Shared plumbing for canonflow's three stages and its operator CLI.
//!
//! Everything a stage needs that is not its own data logic lives here:
//! layered configuration ([`config`]), secrets that never print ([`secret`]),
//! Kafka client set-up ([`kafka`]), logging ([`telemetry`]), metrics and health ([`observe`]), the three error
//! classes that decide retry / dead-letter / stop ([`error`]), and graceful
//! shutdown ([`shutdown`]). It must never hold stage-specific logic.

pub mod config;
pub mod error;
pub mod headers;
pub mod kafka;
pub mod observe;
pub mod postgres;
pub mod secret;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod time;
pub mod topics;

pub use config::{ConfigError, Deployment};
pub use error::{Classify, ErrorClass};
pub use shutdown::Shutdown;
