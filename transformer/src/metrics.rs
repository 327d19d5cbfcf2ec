//! What the transformer reports to Prometheus (names and meaning:
//! `docs/metrics.md`). Counts are gathered per batch and recorded only once
//! its transaction committed, so they count what downstream sees.

use std::time::Duration;

use ::metrics::{Histogram, counter, histogram};
use canonflow_canonical::EntityKind;
use canonflow_common::ErrorClass;
use canonflow_common::observe::{self, Stage, names};

use crate::Totals;
use crate::pipeline::Positions;

/// One batch's counts, gathered while it is mapped.
#[derive(Debug)]
pub struct BatchCounts {
    /// Canonical records per entity, in `EntityKind::ALL` order.
    out: [u64; EntityKind::ALL.len()],
    /// Time to map and encode each record.
    pub map_seconds: Histogram,
}

impl BatchCounts {
    pub fn new() -> Self {
        Self {
            out: [0; EntityKind::ALL.len()],
            map_seconds: histogram!(names::TRANSFORMER_MAP_SECONDS),
        }
    }

    pub fn produced(&mut self, kind: EntityKind) {
        if let Some(i) = EntityKind::ALL.iter().position(|k| *k == kind) {
            self.out[i] += 1;
        }
    }

    /// The batch's transaction committed.
    pub fn committed(&self, totals: &Totals, read: &Positions, took: Duration) {
        counter!(names::TRANSFORMER_RECORDS_IN).increment(totals.raw);
        for (kind, n) in EntityKind::ALL.iter().zip(self.out) {
            counter!(names::TRANSFORMER_RECORDS_OUT, "entity" => kind.name()).increment(n);
        }
        // Mapping and encoding errors are the data's: the only class the
        // transformer dead-letters.
        counter!(names::TRANSFORMER_DEAD_LETTERS, "class" => ErrorClass::InvalidInput.as_str())
            .increment(totals.dead_letters);
        counter!(names::TRANSFORMER_UNMAPPED).increment(totals.unmapped);
        counter!(names::TRANSFORMER_REEMITTED).increment(totals.reemitted);
        counter!(names::TRANSFORMER_TRANSACTIONS, "outcome" => "committed").increment(1);
        histogram!(names::TRANSFORMER_TRANSACTION_SECONDS).record(took.as_secs_f64());
        observe::kafka::record_newest(Stage::Transformer, read.newest());
    }
}

/// The transformer starts: the aborted count exists (at zero) from now on.
pub fn started() {
    counter!(names::TRANSFORMER_TRANSACTIONS, "outcome" => "aborted").increment(0);
}

/// A batch's transaction was aborted (it is retried or the stage stops).
pub fn aborted() {
    counter!(names::TRANSFORMER_TRANSACTIONS, "outcome" => "aborted").increment(1);
}
