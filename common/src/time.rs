//! Timestamps as sources write them, read into UTC instants.
//!
//! Sources send instants in their own formats (RFC 3339 with or without
//! offset, naive local times in a named zone, epoch seconds or milliseconds,
//! OData v2 `/Date(…)/`). The fetcher reads its cursors and the transformer
//! its canonical timestamps with the same functions, so both stages agree on
//! what an instant in a record means. Parsing never panics: a bad value is an
//! error that says what was expected and shows (a bounded part of) what was
//! found.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

/// How a source writes timestamps in its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// `2024-05-01T10:00:00+02:00` or `…Z`.
    Rfc3339,
    /// `2024-05-01 10:00:00` (or with `T`), local time in the stream's `zone`.
    Naive,
    EpochSeconds,
    EpochMillis,
    /// OData v2 JSON dates: `/Date(1717279200000+0000)/`.
    OdataV2Date,
}

/// A value that cannot be read; names what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct ValueError {
    pub expected: &'static str,
    pub found: String,
}

impl ValueError {
    /// What was expected, and the value found cut to 80 characters.
    pub fn new(expected: &'static str, found: &Value) -> Self {
        let mut text = found.to_string();
        if let Some((cut, _)) = text.char_indices().nth(80) {
            text.truncate(cut);
            text.push('…');
        }
        Self {
            expected,
            found: text,
        }
    }
}

/// Reads a timestamp in `format`; `zone` is used by `Naive` only.
pub fn parse_timestamp(
    value: &Value,
    format: TimestampFormat,
    zone: Tz,
) -> Result<DateTime<Utc>, ValueError> {
    match format {
        TimestampFormat::Rfc3339 => value
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ValueError::new("an RFC 3339 timestamp with offset", value)),
        TimestampFormat::Naive => value
            .as_str()
            .and_then(|s| parse_naive(s.trim()))
            .and_then(|naive| zone.from_local_datetime(&naive).earliest())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ValueError::new("a local timestamp like 2024-05-01 10:00:00", value)),
        TimestampFormat::EpochSeconds => as_i64(value)
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or_else(|| ValueError::new("epoch seconds", value)),
        TimestampFormat::EpochMillis => as_i64(value)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(|| ValueError::new("epoch milliseconds", value)),
        TimestampFormat::OdataV2Date => {
            value.as_str().and_then(parse_odata_v2_date).ok_or_else(|| {
                ValueError::new("an OData v2 date like /Date(1717279200000+0000)/", value)
            })
        }
    }
}

/// An integer from a JSON number or a numeric string.
pub fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|pattern| NaiveDateTime::parse_from_str(s, pattern).ok())
}

/// `/Date(ms)/` or `/Date(ms±hhmm)/`: `ms` is UTC; the offset only says
/// which local time the source displayed, so it does not shift the instant.
fn parse_odata_v2_date(s: &str) -> Option<DateTime<Utc>> {
    let inner = s.trim().strip_prefix("/Date(")?.strip_suffix(")/")?;
    let digits_end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map_or(inner.len(), |(i, _)| i);
    let (millis, offset) = inner.split_at(digits_end);
    let offset_ok =
        offset.is_empty() || (offset.len() == 5 && offset[1..].bytes().all(|b| b.is_ascii_digit()));
    if !offset_ok {
        return None;
    }
    Utc.timestamp_millis_opt(millis.parse().ok()?).single()
}
