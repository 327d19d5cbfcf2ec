//! What the sink reports to Prometheus (names and meaning: `docs/metrics.md`),
//! recorded once per batch, never per row.

use std::time::Duration;

use ::metrics::{counter, histogram};
use canonflow_common::ErrorClass;
use canonflow_common::headers;
use canonflow_common::observe::{self, Dependency, Stage, health, names};
use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};

use crate::write::Applied;

/// The sink starts: its error counters exist (at zero) from now on.
pub fn started() {
    for class in [
        ErrorClass::Retryable,
        ErrorClass::InvalidInput,
        ErrorClass::Fatal,
    ] {
        counter!(names::SINK_DATABASE_ERRORS, "class" => class.as_str()).increment(0);
    }
}

/// A batch is durable and its offsets are on their way.
pub fn batch_written(
    messages: &[OwnedMessage],
    applied: Applied,
    superseded: u64,
    dead_letters: usize,
    took: Duration,
) {
    counter!(names::SINK_RECORDS_IN).increment(messages.len() as u64);
    for (outcome, rows) in [
        ("inserted", applied.inserted),
        ("updated", applied.updated),
        ("unchanged", applied.unchanged),
        ("deleted", applied.deleted),
        ("superseded", superseded),
    ] {
        counter!(names::SINK_ROWS, "outcome" => outcome).increment(rows);
    }
    // The sink dead-letters only data PostgreSQL or the decoder refused.
    counter!(names::SINK_DEAD_LETTERS, "class" => ErrorClass::InvalidInput.as_str())
        .increment(dead_letters as u64);
    histogram!(names::SINK_BATCH_RECORDS).record(messages.len() as f64);
    histogram!(names::SINK_BATCH_SECONDS).record(took.as_secs_f64());
    freshness(messages);
    observe::kafka::record_processed(Stage::Sink, messages);
    health().set(Dependency::Postgres, true);
}

/// From the fetcher's `fetched_at` header (carried through the transformer)
/// to now, for every record that has one.
fn freshness(messages: &[OwnedMessage]) {
    let now = chrono::Utc::now();
    let histogram = histogram!(names::SINK_FRESHNESS_SECONDS);
    for message in messages {
        let fetched_at = message.headers().and_then(|h| {
            h.iter()
                .find(|h| h.key == headers::FETCHED_AT)
                .and_then(|h| std::str::from_utf8(h.value?).ok())
                .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
        });
        if let Some(at) = fetched_at {
            let seconds = (now - at.to_utc()).num_milliseconds().max(0) as f64 / 1000.0;
            histogram.record(seconds);
        }
    }
}

/// A write failed: `class` says whether it is retried, a row's fault, or fatal.
pub fn database_error(class: ErrorClass, count: usize) {
    counter!(names::SINK_DATABASE_ERRORS, "class" => class.as_str()).increment(count as u64);
    if class == ErrorClass::Retryable {
        health().set(Dependency::Postgres, false);
    }
}
