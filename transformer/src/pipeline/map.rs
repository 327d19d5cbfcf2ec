//! Mapping one batch on several threads.
//!
//! Mapping a raw record needs only the record, the mappings and the
//! references known (`Enrichment`, behind its own lock), so a batch is cut
//! into contiguous chunks, one per thread, and the results are put back in
//! the batch's order: what follows mapping (the dead-letter guard, the
//! counts, producing) sees the records exactly as they were read. One
//! thread maps on the pipeline's own thread without spawning.
//!
//! Inside a batch, a worker mapped on one thread may miss a cost center
//! mapped at the same moment on another; it is then re-emitted enriched
//! once the cost center is known, as for any late reference.

use std::sync::Mutex;
use std::time::Instant;

use canonflow_canonical::Catalog;
use canonflow_common::observe::trace::Fanout;
use canonflow_common::topics::Topics;
use rdkafka::message::OwnedMessage;

use crate::drift::DriftWatch;
use crate::enrich::Enrichment;
use crate::mapping::Mappings;
use crate::outputs::{Transformed, transform};

/// Fewer records than this per thread are not worth a thread.
const MIN_CHUNK: usize = 512;

/// What mapping needs, shared by the threads.
pub(super) struct Mapper<'a> {
    pub mappings: &'a Mappings,
    pub enrichment: &'a Enrichment,
    pub catalog: &'a Catalog,
    pub topics: &'a Topics,
    pub drift: Option<&'a Mutex<DriftWatch>>,
    /// The batch's spans, every record counted (`Fanout::count`).
    pub fanout: &'a Fanout,
    /// The batch's span, entered by each thread for what it logs.
    pub span: &'a tracing::Span,
}

/// One raw record mapped, and how long that took.
pub(super) struct Mapped {
    pub transformed: Transformed,
    pub seconds: f64,
}

impl Mapper<'_> {
    /// Maps `batch` (each record with its trace context from `parents`) on
    /// up to `threads` threads; the results are in `batch`'s order.
    pub fn map(
        &self,
        batch: &[OwnedMessage],
        parents: &[Option<&str>],
        threads: usize,
    ) -> Vec<Mapped> {
        let threads = threads.clamp(1, batch.len().div_ceil(MIN_CHUNK).max(1));
        if threads == 1 {
            return self.map_chunk(batch, parents);
        }
        let chunk = batch.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(chunk)
                .zip(parents.chunks(chunk))
                .map(|(records, parents)| {
                    std::thread::Builder::new()
                        .name("transformer-map".into())
                        .spawn_scoped(scope, move || self.map_chunk(records, parents))
                })
                .collect();
            let mut mapped = Vec::with_capacity(batch.len());
            for (handle, (records, parents)) in handles
                .into_iter()
                .zip(batch.chunks(chunk).zip(parents.chunks(chunk)))
            {
                // A thread that could not be started (or that panicked,
                // which mapping does not do) leaves its chunk to this one.
                match handle
                    .map_err(|_| ())
                    .and_then(|h| h.join().map_err(|_| ()))
                {
                    Ok(chunk) => mapped.extend(chunk),
                    Err(()) => mapped.extend(self.map_chunk(records, parents)),
                }
            }
            mapped
        })
    }

    fn map_chunk(&self, records: &[OwnedMessage], parents: &[Option<&str>]) -> Vec<Mapped> {
        let _entered = self.span.enter();
        records
            .iter()
            .zip(parents)
            .map(|(message, parent)| self.map_one(message, *parent))
            .collect()
    }

    fn map_one(&self, message: &OwnedMessage, parent: Option<&str>) -> Mapped {
        let started = Instant::now();
        // The drift watch sees the payload the mapping parsed; only records
        // the mapping did not parse are parsed for it alone.
        let mut observed = false;
        let transformed = transform(
            message,
            self.mappings,
            self.enrichment,
            self.catalog,
            self.topics,
            self.fanout.traceparent(parent),
            &mut |source, stream, record| {
                if let Some(drift) = self.drift {
                    lock(drift).observe_parsed(source, stream, record);
                }
                observed = true;
            },
        );
        if let Some(drift) = self.drift.filter(|_| !observed) {
            lock(drift).observe_record(message);
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
