//! Mapping one batch on the mapping threads ([`Threads`]), while the
//! pipeline's thread produces the batch before it and gathers the one
//! after.
//!
//! Mapping a raw record needs only the record, the mappings and the
//! references known (`Enrichment`, behind its own lock), so a batch is cut
//! into contiguous chunks, one per thread, and the results are put back in
//! the batch's order: what follows mapping (the dead-letter guard, the
//! counts, producing) sees the records exactly as they were read.
//!
//! Inside a batch, a worker mapped on one thread may miss a cost center
//! mapped at the same moment on another; it is then re-emitted enriched
//! once the cost center is known, as for any late reference.

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use canonflow_canonical::Catalog;
use canonflow_common::observe::trace::Fanout;
use canonflow_common::topics::Topics;

use crate::drift::DriftWatch;
use crate::enrich::Enrichment;
use crate::mapping::Mappings;
use crate::outputs::{Destinations, Transformed, transform};
use crate::record::Record;

use super::threads::{Pending, Threads};

/// A chunk of fewer records than this is not worth a thread of its own.
const MIN_CHUNK: usize = 512;

/// What mapping needs, owned, so that its threads can outlive a call.
#[derive(Debug, Clone)]
pub struct Mapper {
    pub mappings: Arc<Mappings>,
    pub enrichment: Enrichment,
    pub catalog: Arc<Catalog>,
    pub topics: Topics,
    /// The same topics, named once for every output.
    pub destinations: Destinations,
    /// Drift in the raw records' shape, when `watch_drift` is on.
    pub drift: Option<Arc<Mutex<DriftWatch>>>,
    /// The threads that map a batch (`map_threads` of them).
    pub threads: Threads,
}

/// One raw record mapped, and how long that took.
pub(super) struct Mapped {
    pub transformed: Transformed,
    pub seconds: f64,
}

/// A batch being mapped.
pub(super) struct Job {
    pub batch: Arc<Vec<Record>>,
    /// Each record's trace context (`traceparent` header), read once.
    parents: Arc<Vec<Option<String>>>,
    /// The batch's spans, every record counted (`Fanout::count`).
    pub fanout: Arc<Fanout>,
    pub started: Instant,
    chunks: Vec<Chunk>,
}

/// A contiguous part of a batch, and its mapping on a thread (none if no
/// thread took it).
type Chunk = (Range<usize>, Option<Pending<Vec<Mapped>>>);

impl Job {
    /// Whether every thread is done, so that [`finish`](Self::finish)
    /// will not wait.
    pub fn is_done(&self) -> bool {
        self.chunks
            .iter()
            .all(|(_, p)| p.as_ref().is_none_or(Pending::is_done))
    }

    /// Waits for the threads; the records mapped, in the batch's order, and
    /// how long mapping took. A chunk no thread took (or whose mapping
    /// panicked, which mapping does not do) is mapped on this one.
    pub fn finish(&mut self, mapper: &Mapper) -> (Vec<Mapped>, Duration) {
        let mut mapped = Vec::with_capacity(self.batch.len());
        for (range, pending) in std::mem::take(&mut self.chunks) {
            match pending.and_then(Pending::wait) {
                Some(chunk) => mapped.extend(chunk),
                None => {
                    mapped.extend(mapper.map_chunk(&self.batch, &self.parents, &self.fanout, range))
                }
            }
        }
        (mapped, self.started.elapsed())
    }
}

impl Mapper {
    /// Starts mapping `batch` on the mapping threads, a chunk each (fewer
    /// for a small batch); `fanout` must have counted every record's trace
    /// context, `parents[i]` being record `i`'s.
    pub(super) fn start(
        &self,
        batch: Vec<Record>,
        parents: Vec<Option<String>>,
        fanout: Fanout,
    ) -> Job {
        let started = Instant::now();
        let batch = Arc::new(batch);
        let parents = Arc::new(parents);
        let fanout = Arc::new(fanout);
        let threads = self
            .threads
            .count()
            .clamp(1, batch.len().div_ceil(MIN_CHUNK).max(1));
        let chunk = batch.len().div_ceil(threads).max(1);
        let chunks = (0..batch.len())
            .step_by(chunk)
            .enumerate()
            .map(|(index, start)| {
                let range = start..(start + chunk).min(batch.len());
                let mapper = self.clone();
                let (batch, parents) = (Arc::clone(&batch), Arc::clone(&parents));
                let fanout = Arc::clone(&fanout);
                let chunk_range = range.clone();
                let pending = self.threads.run(index, move || {
                    mapper.map_chunk(&batch, &parents, &fanout, chunk_range)
                });
                (range, pending)
            })
            .collect();
        Job {
            batch,
            parents,
            fanout,
            started,
            chunks,
        }
    }

    fn map_chunk(
        &self,
        batch: &[Record],
        parents: &[Option<String>],
        fanout: &Fanout,
        range: Range<usize>,
    ) -> Vec<Mapped> {
        let _entered = fanout.batch().enter();
        batch[range.clone()]
            .iter()
            .zip(&parents[range])
            .map(|(record, parent)| self.map_one(record, parent.as_deref(), fanout))
            .collect()
    }

    fn map_one(&self, record: &Record, parent: Option<&str>, fanout: &Fanout) -> Mapped {
        let started = Instant::now();
        // The drift watch sees the payload the mapping parsed; only records
        // the mapping did not parse are parsed for it alone.
        let mut observed = false;
        let transformed = transform(
            record,
            &self.mappings,
            &self.enrichment,
            &self.catalog,
            fanout.traceparent(parent),
            &mut |source, stream, record| {
                if let Some(drift) = &self.drift {
                    lock(drift).observe_parsed(source, stream, record);
                }
                observed = true;
            },
        );
        if let Some(drift) = self.drift.as_ref().filter(|_| !observed) {
            lock(drift).observe_record(record);
        }
        Mapped {
            transformed,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// The drift watch only counts: a panic elsewhere cannot leave it in a
/// state worth stopping for.
fn lock(drift: &Mutex<DriftWatch>) -> std::sync::MutexGuard<'_, DriftWatch> {
    drift
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
