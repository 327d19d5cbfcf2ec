//! Changing data: picks records of the incremental streams, changes a field
//! and moves their cursor to "now". A stream's new cursor value is always
//! strictly later than every value it served before, even when the wall
//! clock stands still or steps back, so `>=` and `>` queries from an old
//! watermark both see every change.

use std::collections::{HashMap, HashSet};

use fastrand::Rng;

use super::{Mode, Stream, record};

/// Tries per mutation to find a record not already changed in this batch.
const PICK_ATTEMPTS: usize = 8;

pub(super) fn mutate(streams: &mut [Stream], rng: &mut Rng, count: usize, now_ms: i64) -> usize {
    let incremental: Vec<usize> = (0..streams.len())
        .filter(|&i| matches!(streams[i].mode(), Mode::Incremental { .. }))
        .collect();
    if incremental.is_empty() {
        return 0;
    }
    // One cursor value per stream and batch: changes made together may share
    // it, but never with anything served earlier.
    let mut batch_keys: HashMap<usize, i64> = HashMap::new();
    let mut touched: HashSet<(usize, String)> = HashSet::new();
    let mut changed = 0;
    for _ in 0..count {
        let s = incremental[rng.usize(..incremental.len())];
        let stream = &mut streams[s];
        let key = *batch_keys
            .entry(s)
            .or_insert_with(|| stream.next_key(now_ms));
        if rng.u8(..10) == 0 || stream.records.is_empty() {
            let id = stream.create(rng, key);
            touched.insert((s, id));
            changed += 1;
            continue;
        }
        for _ in 0..PICK_ATTEMPTS {
            let at = rng.usize(..stream.records.len());
            let id = stream.records[at].id.clone();
            if touched.contains(&(s, id.clone())) {
                continue;
            }
            if stream.change_at(at, rng, key) {
                touched.insert((s, id));
                changed += 1;
            }
            break;
        }
    }
    changed
}

impl Stream {
    /// The cursor value for the next change: now, or one step after the
    /// stream's latest value if that is not earlier.
    fn next_key(&self, now_ms: i64) -> i64 {
        let step = match self.mode() {
            Mode::Incremental { resolution_ms } => resolution_ms.max(1),
            Mode::FullRefresh => 1,
        };
        let now = now_ms - now_ms.rem_euclid(step);
        // Sorted by cursor, so the last record holds the latest value.
        match self.records.last() {
            Some(latest) => now.max(latest.key.saturating_add(step)),
            None => now,
        }
    }

    /// Appends a newly created record; returns its id.
    fn create(&mut self, rng: &mut Rng, key: i64) -> String {
        let index = self.next_index;
        self.next_index += 1;
        let mut value = self.generator.make(rng, index);
        let created = record(self.generator.as_ref(), index, key, &mut value);
        let id = created.id.clone();
        self.insert(created);
        id
    }

    /// Changes the record at `at` and moves it to cursor `key`; false (and
    /// nothing changed) if its stored JSON does not parse.
    fn change_at(&mut self, at: usize, rng: &mut Rng, key: i64) -> bool {
        let Ok(mut value) = serde_json::from_str(&self.records[at].json) else {
            return false;
        };
        let old = self.records.remove(at);
        self.generator.change(rng, &mut value);
        let version = self.generator.stamp(&mut value, key);
        self.insert(super::Record {
            key,
            id: old.id,
            version,
            json: value.to_string(),
        });
        true
    }
}
