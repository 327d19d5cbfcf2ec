//! What the fetcher reports to Prometheus (names and meaning:
//! `docs/metrics.md`), per request, page batch and sync — never per record.

use std::time::Duration;

use ::metrics::{counter, gauge, histogram};
use canonflow_common::observe::names;
use reqwest::StatusCode;

use crate::checkpoint::Checkpoint;
use crate::cursor::CursorValue;
use crate::http::BreakerState;

/// A stream's task starts: its counters exist (at zero) from now on, so a
/// rate of retries or dead letters is 0 rather than absent.
pub fn stream_started(source: &str, stream: &str) {
    let labels = [("source", source.to_owned()), ("stream", stream.to_owned())];
    for name in [
        names::FETCHER_PAGES,
        names::FETCHER_RECORDS,
        names::FETCHER_BYTES,
        names::FETCHER_RETRIES,
        names::FETCHER_DEAD_LETTERS,
    ] {
        counter!(name, &labels).increment(0);
    }
    counter!(names::FETCHER_RATE_LIMIT_WAITS, "source" => source.to_owned()).increment(0);
}

/// One HTTP exchange ended: `status` is `None` when no response came
/// (timeout, connection refused or reset).
pub fn request(
    source: &str,
    stream: &str,
    status: Option<StatusCode>,
    took: Duration,
    bytes: usize,
) {
    let class = match status.map(|s| s.as_u16() / 100) {
        Some(2) => "2xx",
        Some(3) => "3xx",
        Some(4) => "4xx",
        Some(5) => "5xx",
        _ => "error",
    };
    let labels = [("source", source.to_owned()), ("stream", stream.to_owned())];
    counter!(names::FETCHER_REQUESTS, "source" => source.to_owned(), "stream" => stream.to_owned(), "status" => class)
        .increment(1);
    histogram!(names::FETCHER_REQUEST_SECONDS, &labels).record(took.as_secs_f64());
    counter!(names::FETCHER_BYTES, &labels).increment(bytes as u64);
}

pub fn retry(source: &str, stream: &str) {
    counter!(names::FETCHER_RETRIES, "source" => source.to_owned(), "stream" => stream.to_owned())
        .increment(1);
}

pub fn rate_limit_wait(source: &str) {
    counter!(names::FETCHER_RATE_LIMIT_WAITS, "source" => source.to_owned()).increment(1);
}

pub fn breaker(source: &str, state: BreakerState) {
    let value = match state {
        BreakerState::Closed => 0.0,
        BreakerState::HalfOpen => 1.0,
        BreakerState::Open => 2.0,
    };
    gauge!(names::FETCHER_CIRCUIT_STATE, "source" => source.to_owned()).set(value);
}

/// A batch of pages and its checkpoint committed.
pub fn published(source: &str, stream: &str, pages: usize, records: usize, dead_letters: usize) {
    let labels = [("source", source.to_owned()), ("stream", stream.to_owned())];
    counter!(names::FETCHER_PAGES, &labels).increment(pages as u64);
    counter!(names::FETCHER_RECORDS, &labels).increment(records as u64);
    counter!(names::FETCHER_DEAD_LETTERS, &labels).increment(dead_letters as u64);
}

/// A sync ended; `completed` is its last checkpoint when it succeeded.
pub fn sync_ended(source: &str, stream: &str, took: Duration, completed: Option<&Checkpoint>) {
    let outcome = if completed.is_some() { "ok" } else { "failed" };
    histogram!(names::FETCHER_SYNC_SECONDS, "source" => source.to_owned(), "stream" => stream.to_owned(), "outcome" => outcome)
        .record(took.as_secs_f64());
    if let Some(CursorValue::Timestamp(at)) = completed.and_then(Checkpoint::watermark) {
        let age = (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0;
        gauge!(names::FETCHER_WATERMARK_AGE, "source" => source.to_owned(), "stream" => stream.to_owned())
            .set(age);
    }
}
