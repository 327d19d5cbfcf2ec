//! Ground truth for tests: every stream's ids and versions exactly as served.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Stream;

/// Every stream's records, keyed by stream name (`"hr/workers"`, `"finance/invoices"`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Snapshot {
    pub streams: BTreeMap<String, StreamSnapshot>,
}

/// One stream's records in the order the source keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamSnapshot {
    pub total: usize,
    pub records: Vec<SnapshotRecord>,
}

/// One record: its id and its cursor value as served (`None` for full-refresh streams).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub id: String,
    pub version: Option<Value>,
}

impl Snapshot {
    pub(super) fn of(streams: &[Stream]) -> Self {
        let streams = streams
            .iter()
            .map(|stream| {
                let records = stream
                    .records()
                    .iter()
                    .map(|r| SnapshotRecord {
                        id: r.id.clone(),
                        version: (!r.version.is_null()).then(|| r.version.clone()),
                    })
                    .collect::<Vec<_>>();
                let snapshot = StreamSnapshot {
                    total: records.len(),
                    records,
                };
                (stream.name.to_owned(), snapshot)
            })
            .collect();
        Self { streams }
    }

    /// The named stream, if the source has it.
    pub fn stream(&self, name: &str) -> Option<&StreamSnapshot> {
        self.streams.get(name)
    }
}

impl StreamSnapshot {
    /// The stream's ids in the order the source keeps them.
    pub fn ids(&self) -> Vec<&str> {
        self.records.iter().map(|r| r.id.as_str()).collect()
    }

    /// The version of the record with this id.
    pub fn version_of(&self, id: &str) -> Option<&Value> {
        self.records
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.version.as_ref())
    }
}
