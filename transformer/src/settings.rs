//! The transformer's own configuration section, `[transformer]`.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformerConfig {
    /// Directory of mapping files: every `*.toml` in it.
    pub mappings_dir: PathBuf,
    /// Consumer group of all transformer copies (on the raw topic).
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Names this copy's transactional producer (`<prefix>-transformer-<id>`).
    /// Give each copy a stable one (e.g. the pod name) so that a restarted
    /// copy fences and aborts its predecessor's open transaction at once;
    /// default: random per start.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Partitions of each canonical topic and of the dead-letter topic when
    /// the transformer creates them.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// One transaction per this many raw records…
    #[serde(default = "default_transaction_records")]
    pub transaction_records: usize,
    /// …or per this many milliseconds of consuming, whichever comes first.
    #[serde(default = "default_transaction_max_ms")]
    pub transaction_max_ms: u64,
    /// Threads that map each batch, in parallel chunks put back in order.
    /// Default: the cores available, at most 4.
    #[serde(default = "default_map_threads")]
    pub map_threads: usize,
    /// Raw payloads larger than this are dead-lettered unread.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    #[serde(default)]
    pub dead_letter_limit: DeadLetterLimit,
    /// Exit once no raw record has arrived for this many seconds while
    /// partitions were assigned: for the demo, backfills and replays run as
    /// a job. Unset (the default): run until stopped.
    #[serde(default)]
    pub exit_when_idle_secs: Option<u64>,
    /// At most this many entities wait in memory for a late reference; more
    /// are enriched only when they next change (or on a replay).
    #[serde(default = "default_max_pending")]
    pub max_pending_enrichments: usize,
    /// Watch each stream's raw records for drift (fields added, removed,
    /// retyped, null rates moved): log events and metrics, see `drift`.
    #[serde(default = "yes")]
    pub watch_drift: bool,
    /// A Confluent-compatible schema registry to register the canonical
    /// schemas with and take their ids from. Unset: the embedded catalog
    /// (stable ids derived from the schemas, no server).
    #[serde(default)]
    pub schema_registry: Option<canonflow_canonical::registry::RegistryConfig>,
}

/// When dead letters mean a bad deploy rather than bad records: the
/// transformer stops with a fatal error instead of draining the raw topic
/// into the dead-letter topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLetterLimit {
    /// Stop after this many dead letters in a row on one partition…
    #[serde(default = "default_consecutive")]
    pub consecutive: u64,
    /// …or when more than this share of the last `window` records of a
    /// partition were dead-lettered.
    #[serde(default = "default_ratio")]
    pub ratio: f64,
    #[serde(default = "default_window")]
    pub window: u64,
}

impl Default for DeadLetterLimit {
    fn default() -> Self {
        Self {
            consecutive: default_consecutive(),
            ratio: default_ratio(),
            window: default_window(),
        }
    }
}

/// The transformer copies' consumer group unless `group_id` says otherwise.
pub const DEFAULT_GROUP_ID: &str = "canonflow-transformer";

fn default_group_id() -> String {
    DEFAULT_GROUP_ID.to_owned()
}
fn default_partitions() -> i32 {
    6
}
// Measured (scripts/bench-transformer, docs/performance.md): 20 000 / 3 s
// is ~70 % faster than 5 000 / 1 s on the local broker, whose commit costs
// the same however many records it covers. Since a batch is mapped while
// the one before it is produced, 10 000 is as fast as 20 000 and keeps
// peak RSS under 256 MiB.
fn default_transaction_records() -> usize {
    10_000
}
fn default_transaction_max_ms() -> u64 {
    3_000
}
fn default_map_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}
fn default_max_record_bytes() -> usize {
    1024 * 1024
}
fn default_max_pending() -> usize {
    100_000
}
fn default_consecutive() -> u64 {
    1_000
}
fn default_ratio() -> f64 {
    0.5
}
fn default_window() -> u64 {
    10_000
}

fn yes() -> bool {
    true
}
