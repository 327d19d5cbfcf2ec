//! The in-memory record store. Each stream keeps its records pre-serialized in
//! a `Vec` sorted by (cursor, id) — by id alone for full-refresh streams — so
//! a page is found by binary search and served by copying bytes.

mod mutate;
mod page;
mod snapshot;

use std::fmt::Debug;

use fastrand::Rng;
use serde_json::Value;

use crate::timestamps::{HISTORY_END_MS, HISTORY_START_MS};

pub use snapshot::{Snapshot, SnapshotRecord, StreamSnapshot};

pub(crate) use page::{Position, json_array};

/// How a stream is synchronised, which decides its order and its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Sorted by (cursor, id); the cursor advances in steps of `resolution_ms`.
    Incremental { resolution_ms: i64 },
    /// Sorted by id; no version, never changed.
    FullRefresh,
}

/// How one stream's records are made and changed.
pub(crate) trait Generator: Debug + Send + Sync {
    fn mode(&self) -> Mode;
    /// The id of the record with this 0-based index.
    fn id(&self, index: usize) -> String;
    /// A new record without a meaningful cursor value (see [`Generator::stamp`]).
    fn make(&self, rng: &mut Rng, index: usize) -> Value;
    /// Writes the cursor field for `key_ms` and returns it exactly as served.
    /// Full-refresh streams have no cursor field.
    fn stamp(&self, _record: &mut Value, _key_ms: i64) -> Value {
        Value::Null
    }
    /// Changes some field other than the cursor. Full-refresh streams never change.
    fn change(&self, _rng: &mut Rng, _record: &mut Value) {}
}

/// One record as stored: its sort position and its JSON text.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) key: i64,
    pub(crate) id: String,
    pub(crate) version: Value,
    pub(crate) json: String,
}

/// One stream's records and the generator that made them.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) name: &'static str,
    generator: Box<dyn Generator>,
    records: Vec<Record>,
    next_index: usize,
}

impl Stream {
    /// Generates `count` records with cursor values spread over the history window.
    pub(crate) fn generate(
        name: &'static str,
        generator: Box<dyn Generator>,
        count: usize,
        rng: &mut Rng,
    ) -> Self {
        let mut records = Vec::with_capacity(count);
        for index in 0..count {
            let mut value = generator.make(rng, index);
            let key = match generator.mode() {
                Mode::Incremental { resolution_ms } => {
                    let ms = rng.i64(HISTORY_START_MS..HISTORY_END_MS);
                    ms - ms.rem_euclid(resolution_ms)
                }
                Mode::FullRefresh => 0,
            };
            records.push(record(generator.as_ref(), index, key, &mut value));
        }
        records.sort_unstable_by(|a, b| (a.key, &a.id).cmp(&(b.key, &b.id)));
        Self {
            name,
            generator,
            records,
            next_index: count,
        }
    }

    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    pub(crate) fn mode(&self) -> Mode {
        self.generator.mode()
    }

    /// Index of the first record whose cursor is at or after `key`.
    pub(crate) fn lower_bound(&self, key: i64) -> usize {
        self.records.partition_point(|r| r.key < key)
    }

    /// Index of the first record strictly after the position (key, id).
    pub(crate) fn after(&self, position: &Position) -> usize {
        self.records
            .partition_point(|r| (r.key, r.id.as_str()) <= (position.key, position.id.as_str()))
    }

    fn insert(&mut self, record: Record) {
        let at = self.after(&Position {
            key: record.key,
            id: record.id.clone(),
        });
        self.records.insert(at, record);
    }
}

fn record(generator: &dyn Generator, index: usize, key: i64, value: &mut Value) -> Record {
    let version = match generator.mode() {
        Mode::Incremental { .. } => generator.stamp(value, key),
        Mode::FullRefresh => Value::Null,
    };
    Record {
        key,
        id: generator.id(index),
        version,
        json: value.to_string(),
    }
}

/// Every stream of every demo system, and the generator of future changes.
#[derive(Debug)]
pub(crate) struct Store {
    streams: Vec<Stream>,
    rng: Rng,
}

impl Store {
    pub(crate) fn new(streams: Vec<Stream>, seed: u64) -> Self {
        Self {
            streams,
            rng: Rng::with_seed(seed ^ 0x6d75_7461_7465),
        }
    }

    /// The stream with this snapshot name (`"hr/workers"`, …).
    pub(crate) fn stream(&self, name: &str) -> Option<&Stream> {
        self.streams.iter().find(|s| s.name == name)
    }

    /// Ground truth of every stream: ids and versions as served.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.streams)
    }

    /// Changes (or, about one in ten times, creates) `count` records across the
    /// incremental streams; returns how many were changed or created.
    pub(crate) fn mutate(&mut self, count: usize, now_ms: i64) -> usize {
        mutate::mutate(&mut self.streams, &mut self.rng, count, now_ms)
    }
}

/// A stable per-stream seed, so adding a stream never reshuffles the others.
pub(crate) fn stream_rng(seed: u64, name: &str) -> Rng {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Rng::with_seed(seed ^ hash)
}
