//! Test support for canonflow's integration and end-to-end tests.
//!
//! Tests talk to the real local stack (`scripts/stack up`): [`Stack`] finds
//! it, [`unique`] names give each test its own topics, consumer groups and
//! PostgreSQL schema so tests run in parallel, [`TestTopics`] and
//! [`TestSchema`] clean up after themselves, and [`eventually`] polls with a
//! deadline instead of sleeping. Failures are real: [`TcpProxy`] cuts
//! connections, [`PostgresServer`] is a PostgreSQL server a test may crash. Nothing here may be used by product code.

pub mod bench;
mod broker;
mod drain;
mod group;
mod poll;
mod postgres;
mod proxy;
mod registry;
mod server;
mod stack;
mod stages;
mod topics;

pub use broker::PrivateBroker;
pub use drain::{DRAIN_SENTINEL_PREFIX, drain, drain_if_exists};
pub use group::{KillOnDrop, committed, reset_offsets};
pub use poll::eventually;
pub use postgres::TestSchema;
pub use proxy::TcpProxy;
pub use registry::SchemaRegistryDouble;
pub use server::PostgresServer;
pub use stack::{BrokerKind, Stack};
pub use stages::{Scrape, StageProcess, free_port, stage_binary};
pub use topics::TestTopics;

/// `prefix` plus a random suffix: a name no other test run uses.
pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}
