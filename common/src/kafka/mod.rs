//! Kafka client set-up: one `[kafka]` section turned into librdkafka
//! settings for producers, consumers and admin clients.
//!
//! Stages never build a `ClientConfig` by hand: they ask [`KafkaConfig`] for
//! one, so that connection security, producer durability (`acks=all`,
//! idempotence) and consumer offset discipline (no auto-commit, no automatic
//! offset store, `read_committed`) are the same everywhere. Settings that
//! exist only to cope with the local broker live in [`local`].

mod admin;
mod clients;
mod close;
mod config;
mod group;
mod transaction;

pub use admin::{AdminError, TopicSpec, ensure_topics, partition_count};
pub use close::close_with_deadline;
pub use config::{KafkaConfig, SaslConfig, SaslMechanism, SecurityProtocol, TlsConfig};
pub use group::{CommitGuard, CommitInFlight, GroupContext, IdleExit};
pub use transaction::commit_transaction;

/// Client settings for the local stack's broker (Tansu) and for tests.
///
/// Each value exists because of a measured deviation from Apache Kafka; see
/// `docs/broker-compat.md`. They are fine on Apache Kafka too, only tuned for
/// one machine rather than a cluster.
pub mod local {
    use std::time::Duration;

    /// Tansu holds a JoinGroup for about half the session timeout (deviation
    /// 6); 6 s keeps a join at ~3–5 s instead of ~25 s with librdkafka's 45 s.
    pub const SESSION_TIMEOUT_MS: u32 = 6_000;

    /// Closing a consumer can hang after a rebalance or a transaction
    /// (deviation 7); drop it on a helper thread and stop waiting after this.
    pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
}
