//! The sink's own configuration section, `[sink]`.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Consumer group of all sink copies (on the canonical topics).
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// The canonical entities to write (default: all).
    #[serde(default)]
    pub entities: Option<Vec<String>>,
    /// PostgreSQL schema of the canonical tables.
    #[serde(default = "default_schema")]
    pub schema: String,
    /// Apply the embedded migrations on start (safe from several copies at
    /// once: they take an advisory lock).
    #[serde(default = "default_true")]
    pub migrate: bool,
    /// One database transaction per this many canonical records…
    #[serde(default = "default_batch_records")]
    pub batch_records: usize,
    /// …or per this many milliseconds of consuming, whichever comes first.
    #[serde(default = "default_batch_max_ms")]
    pub batch_max_ms: u64,
    /// Prepared batches waiting for the writer: when this many are queued,
    /// the partitions are paused until one is written.
    #[serde(default = "default_queue_batches")]
    pub queue_batches: usize,
    /// Batches written to PostgreSQL at once; their offsets are still
    /// committed in order, each after its own transactions.
    #[serde(default = "default_concurrent_batches")]
    pub concurrent_batches: usize,
    /// Exit once no record has arrived for this many seconds while
    /// partitions were assigned (jobs, the demo). Unset: run until stopped.
    #[serde(default)]
    pub exit_when_idle_secs: Option<u64>,
    /// The schema registry the transformer uses, if any: the sink takes the
    /// same ids from it (registering the same schemas returns their ids).
    #[serde(default)]
    pub schema_registry: Option<canonflow_canonical::registry::RegistryConfig>,
    /// Entities whose deleted records remove the row (version-guarded)
    /// instead of flagging it. A hard-deleted row keeps no version, so an
    /// older version delivered later (a replay) inserts it again; the
    /// default soft delete has no such window.
    #[serde(default)]
    pub hard_delete: Vec<String>,
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self {
            group_id: default_group_id(),
            entities: None,
            schema: default_schema(),
            migrate: true,
            batch_records: default_batch_records(),
            batch_max_ms: default_batch_max_ms(),
            queue_batches: default_queue_batches(),
            concurrent_batches: default_concurrent_batches(),
            exit_when_idle_secs: None,
            schema_registry: None,
            hard_delete: Vec::new(),
        }
    }
}

fn default_group_id() -> String {
    "canonflow-sink".to_owned()
}
fn default_schema() -> String {
    "public".to_owned()
}
fn default_true() -> bool {
    true
}
fn default_batch_records() -> usize {
    5_000
}
fn default_queue_batches() -> usize {
    2
}
// Measured (scripts/bench-sink at 1M, docs/performance.md, 2026-12-06,
// fourth session): 2 → 3 is ~20 % more rows/s for ~20 MiB; 4 was faster
// still but within ~10 MiB of 256 MiB.
fn default_concurrent_batches() -> usize {
    3
}
fn default_batch_max_ms() -> u64 {
    500
}

impl SinkConfig {
    /// Checks what serde cannot: the schema name goes into SQL as an
    /// identifier, so it must be a plain one.
    pub fn validate(&self) -> Result<(), String> {
        let plain = !self.schema.is_empty()
            && self.schema.len() <= 63
            && self
                .schema
                .starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && self
                .schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !plain {
            return Err(format!(
                "sink.schema {:?} must be a plain lower-case identifier (a-z, 0-9, _)",
                self.schema
            ));
        }
        Ok(())
    }
}
