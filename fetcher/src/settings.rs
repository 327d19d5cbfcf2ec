//! The fetcher's own configuration section, `[fetcher]`.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetcherConfig {
    /// Directory of source files: every `*.toml` in it is one source.
    pub sources_dir: PathBuf,
    /// Consumer group of all fetcher copies (on the watermarks topic).
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Sync every stream once, then exit (streams' `every_seconds` is
    /// ignored). Takes every watermarks partition outside the group: run
    /// it as the only copy (scripts, tests, the demo, a backfill).
    #[serde(default)]
    pub once: bool,
    /// Partitions of the raw topic when the fetcher creates it.
    #[serde(default = "default_partitions")]
    pub raw_partitions: i32,
    /// Partitions of the watermarks topic when the fetcher creates it: the
    /// most fetcher copies that can share the work.
    #[serde(default = "default_partitions")]
    pub watermarks_partitions: i32,
    /// After a failed sync (not a fatal one), try again this much later.
    #[serde(default = "default_retry_after_secs")]
    pub retry_failed_after_secs: u64,
    /// A sync publishes its pages in one transaction per this many records…
    #[serde(default = "default_transaction_records")]
    pub transaction_records: usize,
    /// …or per this many milliseconds of fetching, whichever comes first.
    #[serde(default = "default_transaction_max_ms")]
    pub transaction_max_ms: u64,
    /// Transactions this copy may have open at once, across its watermarks
    /// partitions. One by default: the local broker (Tansu) mishandles
    /// overlapping transactions (`docs/broker-compat.md`, deviation 10).
    #[serde(default = "default_concurrent_transactions")]
    pub concurrent_transactions: usize,
    /// In `once` mode, sync attempts per stream before giving up.
    #[serde(default = "default_once_attempts")]
    pub once_attempts: u32,
}

/// The fetcher copies' consumer group unless `group_id` says otherwise.
pub const DEFAULT_GROUP_ID: &str = "canonflow-fetcher";

fn default_group_id() -> String {
    DEFAULT_GROUP_ID.to_owned()
}
fn default_partitions() -> i32 {
    6
}
fn default_retry_after_secs() -> u64 {
    30
}
fn default_transaction_records() -> usize {
    5_000
}
fn default_transaction_max_ms() -> u64 {
    1_000
}
fn default_concurrent_transactions() -> usize {
    1
}
fn default_once_attempts() -> u32 {
    3
}
