//! Kafka record header names shared by all stages, so that what the fetcher
//! writes, the transformer and the CLI read under the same name.
//!
//! Header values are UTF-8 text. Provenance headers travel with a record
//! from stage to stage; error headers are added to dead letters.

use rdkafka::message::{Header, Headers, OwnedHeaders};

/// Source system name, e.g. `hr`.
pub const SOURCE: &str = "canonflow.source";
/// Stream within the source, e.g. `workers`.
pub const STREAM: &str = "canonflow.stream";
/// When the fetcher received the page (RFC 3339, UTC).
pub const FETCHED_AT: &str = "canonflow.fetched_at";
/// The sync run that fetched the record.
pub const SYNC_RUN: &str = "canonflow.sync_run";
/// The request that returned the record, without credentials.
pub const REQUEST_URL: &str = "canonflow.request_url";
/// 1-based page number within the sync run.
pub const PAGE: &str = "canonflow.page";
/// The record's normalized cursor value (JSON), when the stream has one.
pub const CURSOR: &str = "canonflow.cursor";

/// W3C trace context (`00-<trace id>-<span id>-<flags>`) of the span that
/// sent the record, so the next stage's spans continue its trace
/// (`observe::trace`). The standard header name, as other Kafka
/// instrumentation writes it.
pub const TRACEPARENT: &str = "traceparent";

/// Canonical records of entities enrichment reads back: the references it
/// consulted and those it missed (JSON), so that reading the entity back
/// needs no decoding while they are unchanged. The transformer
/// writes it last; only the last of that name counts.
pub const ENRICHED_FROM: &str = "canonflow.enriched_from";

/// Dead letters: the stage that rejected the record.
pub const ERROR_STAGE: &str = "canonflow.error.stage";
/// Dead letters: `retryable`, `invalid_input` or `fatal`.
pub const ERROR_CLASS: &str = "canonflow.error.class";
/// Dead letters: what was wrong, for people.
pub const ERROR_MESSAGE: &str = "canonflow.error.message";
/// Dead letters: where in the record (a JSON pointer), if known.
pub const ERROR_PATH: &str = "canonflow.error.path";
/// Dead letters: when the record was rejected (RFC 3339, UTC).
pub const ERROR_TIME: &str = "canonflow.error.time";
/// Dead letters: where the original came from (`topic/partition/offset`),
/// or for the fetcher the request URL.
pub const ERROR_ORIGIN: &str = "canonflow.error.origin";
/// Dead letters: the mapping version that rejected the record, if any.
pub const ERROR_MAPPING_VERSION: &str = "canonflow.error.mapping_version";

/// Redriven records: how often the record has been redriven from a
/// dead-letter topic (a number); too many and a redrive refuses it.
pub const REDRIVE_COUNT: &str = "canonflow.redrive.count";
/// Redriven records: the dead letter they were redriven from
/// (`topic/partition/offset`).
pub const REDRIVE_OF: &str = "canonflow.redrive.of";

/// The error headers every stage adds to a dead letter, on top of the
/// original record's headers.
#[derive(Debug, Clone, Copy)]
pub struct ErrorHeaders<'a> {
    pub stage: &'a str,
    /// `retryable`, `invalid_input` or `fatal`.
    pub class: &'a str,
    pub message: &'a str,
    pub path: &'a str,
    pub time: &'a str,
    /// See [`origin`].
    pub origin: &'a str,
}

impl ErrorHeaders<'_> {
    /// `headers` with the error headers added.
    pub fn add_to(&self, headers: OwnedHeaders) -> OwnedHeaders {
        [
            (ERROR_STAGE, self.stage),
            (ERROR_CLASS, self.class),
            (ERROR_MESSAGE, self.message),
            (ERROR_PATH, self.path),
            (ERROR_TIME, self.time),
            (ERROR_ORIGIN, self.origin),
        ]
        .into_iter()
        .fold(headers, |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value),
            })
        })
    }
}

/// The value of header `name`, if present and UTF-8 text.
pub fn text<'a, H: Headers>(headers: Option<&'a H>, name: &str) -> Option<&'a str> {
    let value = headers?.iter().find(|h| h.key == name)?.value?;
    std::str::from_utf8(value).ok()
}

/// A record's headers for what a stage sends on from it: all `count` of
/// `own`, with `traceparent`, when the stage traces, in place of the
/// record's own [`TRACEPARENT`].
pub fn carried<'a>(
    own: impl IntoIterator<Item = Header<'a, &'a [u8]>>,
    count: usize,
    traceparent: Option<&str>,
) -> OwnedHeaders {
    let mut out = OwnedHeaders::new_with_capacity(count + 1);
    for header in own {
        if traceparent.is_none() || header.key != TRACEPARENT {
            out = out.insert(header);
        }
    }
    match traceparent {
        Some(traceparent) => out.insert(Header {
            key: TRACEPARENT,
            value: Some(traceparent),
        }),
        None => out,
    }
}

/// A record's coordinates as [`ERROR_ORIGIN`] holds them: `topic/partition/offset`.
pub fn origin(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}/{partition}/{offset}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carried_headers_replace_only_the_trace_context() {
        let own = OwnedHeaders::new()
            .insert(Header {
                key: SOURCE,
                value: Some("hr"),
            })
            .insert(Header {
                key: TRACEPARENT,
                value: Some("00-a-b-01"),
            });
        let out = carried(own.iter(), own.count(), Some("00-c-d-01"));
        assert_eq!(out.count(), 2);
        assert_eq!(text(Some(&out), SOURCE), Some("hr"));
        assert_eq!(text(Some(&out), TRACEPARENT), Some("00-c-d-01"));
        let untraced = carried(own.iter(), own.count(), None);
        assert_eq!(text(Some(&untraced), TRACEPARENT), Some("00-a-b-01"));
        assert_eq!(text(None::<&OwnedHeaders>, SOURCE), None);
    }
}
