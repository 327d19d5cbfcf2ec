//! One fetched page turned into raw records and, for records that cannot be
//! keyed or whose cursor cannot be read, dead letters.
//!
//! The payload of each raw record is the record's bytes exactly as the
//! source sent them; provenance goes into headers. A page whose every record
//! is rejected is not dead-lettered but fails the stream: that is almost
//! always a configuration error (a wrong primary key or cursor field), and
//! draining a whole source into the dead-letter topic helps nobody.

use bytes::Bytes;
use canonflow_common::headers;
use rdkafka::message::{Header, OwnedHeaders};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::cursor::{self, CursorValue};
use crate::records::{self, ShapeError};
use crate::source::{CursorConfig, StreamConfig};

/// Provenance shared by every record of a page.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub source: String,
    pub stream: String,
    pub sync_run: String,
    pub fetched_at: String,
    /// Already redacted.
    pub request_url: String,
    pub page: u64,
    /// W3C trace context of the page's `fetch_page` span, if traced.
    pub trace: Option<String>,
}

/// A record ready for the raw topic. The payload shares the response
/// body's buffer (no copy).
#[derive(Debug)]
pub struct RawRecord {
    pub key: String,
    pub payload: Bytes,
    pub cursor: Option<CursorValue>,
}

/// A record that cannot be published as a raw record, and why.
#[derive(Debug)]
pub struct Rejected {
    pub payload: Bytes,
    pub error: ShapeError,
}

/// A page's records, split into good and rejected.
#[derive(Debug, Default)]
pub struct SplitPage {
    pub records: Vec<RawRecord>,
    pub rejected: Vec<Rejected>,
}

impl SplitPage {
    pub fn len(&self) -> usize {
        self.records.len() + self.rejected.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn max_cursor(&self) -> Option<CursorValue> {
        self.records.iter().filter_map(|r| r.cursor).max()
    }
}

/// Splits the records at the stream's pointer into raw records and rejects.
/// `body` is parsed from `bytes`, whose buffer the payloads share.
pub fn split(
    bytes: &Bytes,
    body: &RawValue,
    stream: &StreamConfig,
    source: &str,
) -> Result<SplitPage, ShapeError> {
    let mut page = SplitPage::default();
    let names = key_members(stream);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for raw in records::select(body, &stream.records)? {
        let payload = bytes.slice_ref(raw.get().as_bytes());
        match key_and_cursor(raw, &names, stream, source) {
            Ok((key, cursor)) => page.records.push(RawRecord {
                key,
                payload,
                cursor,
            }),
            Err(error) => page.rejected.push(Rejected { payload, error }),
        }
    }
    Ok(page)
}

/// The top-level members a stream's primary key and cursor are read from.
fn key_members(stream: &StreamConfig) -> Vec<String> {
    let cursor = stream.cursor.as_ref().map(CursorConfig::field);
    let fields = stream.primary_key.iter().map(String::as_str).chain(cursor);
    let mut names: Vec<String> = fields
        .filter_map(|field| records::first_member(&records::field_pointer(field)))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// A record's key and cursor, read from its members `names` alone.
fn key_and_cursor(
    raw: &RawValue,
    names: &[&str],
    stream: &StreamConfig,
    source: &str,
) -> Result<(String, Option<CursorValue>), ShapeError> {
    let value = records::sparse(raw, names)?;
    let key = format!(
        "{source}/{}/{}",
        stream.name,
        records::primary_key(&value, &stream.primary_key)?
    );
    let cursor = match &stream.cursor {
        None => None,
        Some(config) => Some(read_cursor(&value, config)?),
    };
    Ok((key, cursor))
}

fn read_cursor(record: &Value, config: &CursorConfig) -> Result<CursorValue, ShapeError> {
    let pointer = records::field_pointer(config.field());
    let value = record.pointer(&pointer).unwrap_or(&Value::Null);
    let parsed = match config {
        CursorConfig::Timestamp { format, zone, .. } => {
            cursor::parse_timestamp(value, *format, zone.unwrap_or(chrono_tz::UTC))
        }
        CursorConfig::Number { .. } => cursor::parse_number(value),
    };
    parsed.map_err(|e| ShapeError {
        pointer,
        problem: format!("cursor: {e}"),
    })
}

/// Provenance headers of a raw record, with the trace context of the span
/// that publishes it.
pub fn headers(
    context: &PageContext,
    cursor: Option<CursorValue>,
    traceparent: Option<&str>,
) -> OwnedHeaders {
    let page = context.page.to_string();
    let mut headers = OwnedHeaders::new_with_capacity(8)
        .insert(header(headers::SOURCE, &context.source))
        .insert(header(headers::STREAM, &context.stream))
        .insert(header(headers::FETCHED_AT, &context.fetched_at))
        .insert(header(headers::SYNC_RUN, &context.sync_run))
        .insert(header(headers::REQUEST_URL, &context.request_url))
        .insert(header(headers::PAGE, &page));
    if let Some(cursor) = cursor {
        let json = serde_json::to_string(&cursor).unwrap_or_default();
        headers = headers.insert(header(headers::CURSOR, &json));
    }
    if let Some(traceparent) = traceparent {
        headers = headers.insert(header(headers::TRACEPARENT, traceparent));
    }
    headers
}

/// Headers of a fetcher dead letter: provenance plus the error.
pub fn dead_letter_headers(
    context: &PageContext,
    error: &ShapeError,
    traceparent: Option<&str>,
) -> OwnedHeaders {
    headers::ErrorHeaders {
        stage: "fetcher",
        class: "invalid_input",
        message: &error.to_string(),
        path: &error.pointer,
        time: &context.fetched_at,
        origin: &context.request_url,
    }
    .add_to(headers(context, None, traceparent))
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

#[cfg(test)]
#[path = "page_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> StreamConfig {
        crate::source::stream_from_toml(
            r#"
            name = "workers"
            path = "workers"
            records = "/data"
            primary_key = ["id"]
            pagination = { type = "none" }
            cursor = { type = "timestamp", field = "updatedAt", format = "rfc3339", request = { type = "param", param = "since" } }
            "#,
        )
    }

    #[test]
    fn good_records_keep_their_bytes_and_bad_ones_say_why() {
        let bytes = Bytes::from_static(
            br#"{"data":[{"id":"W1", "updatedAt":"2024-05-01T10:00:00+02:00"},{"id":"W2","updatedAt":"later"},{"updatedAt":"2024-05-01T08:00:00Z"}]}"#,
        );
        let body: &RawValue = serde_json::from_slice(&bytes).unwrap();
        let page = split(&bytes, body, &stream(), "hr").unwrap();
        assert_eq!(page.records.len(), 1);
        assert_eq!(page.records[0].key, "hr/workers/W1");
        assert_eq!(
            page.records[0].payload.as_ref(),
            br#"{"id":"W1", "updatedAt":"2024-05-01T10:00:00+02:00"}"#
        );
        let problems: Vec<(&str, bool)> = page
            .rejected
            .iter()
            .map(|r| (r.error.pointer.as_str(), r.error.problem.contains("cursor")))
            .collect();
        assert_eq!(problems, [("/updatedAt", true), ("/id", false)]);
        assert_eq!(page.len(), 3);
        assert!(page.max_cursor().is_some());
    }
}
