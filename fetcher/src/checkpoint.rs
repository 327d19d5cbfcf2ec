//! Checkpoints: each stream's sync position, as records on the compacted
//! watermarks topic keyed by `source/stream`.
//!
//! A checkpoint goes out in the same Kafka transaction as the raw records
//! of the page it follows, and only after those records were acknowledged,
//! so a visible checkpoint never points past a record that is not on the
//! raw topic — even on a broker that shows aborted transactions to
//! `read_committed` readers (see `docs/broker-compat.md`). It also carries
//! the raw offsets it covers, for verification and provenance.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cursor::CursorValue;
use crate::paginate::PagePosition;

/// Prefix of keys that are not stream checkpoints (start-up sentinels).
pub const SENTINEL_PREFIX: &str = "__sentinel__/";

/// The latest known state of one stream's sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version of this record.
    pub v: u32,
    pub source: String,
    pub stream: String,
    /// The fetcher copy that wrote it (`pid@instance`), for operators.
    #[serde(default)]
    pub owner: String,
    /// Identifies one pass over the stream, from its first page to its last.
    pub sync_run: String,
    pub state: SyncState,
    /// The completed watermark this sync started from; `None` for an
    /// initial or full-refresh sync.
    pub base: Option<CursorValue>,
    /// The highest cursor value published by this sync so far.
    pub max_cursor: Option<CursorValue>,
    /// The page to fetch next, while in progress.
    pub next_page: Option<PagePosition>,
    pub pages: u64,
    pub records: u64,
    /// Last raw-topic offset per partition written by the page this
    /// checkpoint follows.
    pub published: Vec<PublishedOffset>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    InProgress,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedOffset {
    pub partition: i32,
    pub offset: i64,
}

impl Checkpoint {
    pub const VERSION: u32 = 1;

    /// The key on the watermarks topic.
    pub fn key(source: &str, stream: &str) -> String {
        format!("{source}/{stream}")
    }

    /// The watermark a new sync starts from: where the last completed sync
    /// got to, or, while a sync is in progress, where it started.
    pub fn watermark(&self) -> Option<CursorValue> {
        match self.state {
            SyncState::Completed => self.max_cursor.max(self.base),
            SyncState::InProgress => self.base,
        }
    }
}

/// The watermarks-topic partition that holds a stream's checkpoints, and
/// so decides which fetcher copy owns the stream. FNV-1a: stable across
/// versions, platforms and client libraries.
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let hash = key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (hash % partitions.max(1).unsigned_abs()) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(state: SyncState, base: Option<i64>, max: Option<i64>) -> Checkpoint {
        Checkpoint {
            v: Checkpoint::VERSION,
            source: "hr".into(),
            stream: "workers".into(),
            owner: "1@test".into(),
            sync_run: "r1".into(),
            state,
            base: base.map(CursorValue::Number),
            max_cursor: max.map(CursorValue::Number),
            next_page: None,
            pages: 1,
            records: 10,
            published: vec![PublishedOffset {
                partition: 0,
                offset: 9,
            }],
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_sync_in_progress_keeps_its_starting_watermark() {
        let running = checkpoint(SyncState::InProgress, Some(5), Some(9));
        assert_eq!(running.watermark(), Some(CursorValue::Number(5)));
        let done = checkpoint(SyncState::Completed, Some(5), Some(9));
        assert_eq!(done.watermark(), Some(CursorValue::Number(9)));
        let empty_sync = checkpoint(SyncState::Completed, Some(5), None);
        assert_eq!(empty_sync.watermark(), Some(CursorValue::Number(5)));
    }

    #[test]
    fn partitions_are_stable_and_in_range() {
        assert_eq!(
            partition_for("hr/workers", 6),
            partition_for("hr/workers", 6)
        );
        for key in ["a/b", "hr/workers", "finance/invoices", ""] {
            assert!((0..6).contains(&partition_for(key, 6)));
        }
        // Pinned: changing the hash would move every stream to a new owner.
        assert_eq!(
            partition_for("hr/workers", 1_000_003),
            0x6cfc_2847 % 1_000_003
        );
    }

    #[test]
    fn round_trips_as_json() {
        let c = checkpoint(SyncState::InProgress, None, Some(3));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), c);
    }
}
