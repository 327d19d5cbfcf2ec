//! Cursor values: how a stream's incremental position is read from source
//! records, compared, stored, and written back into requests.
//!
//! Sources send cursor values in their own formats (RFC 3339 with or
//! without offset, naive local times, epoch seconds or milliseconds, OData
//! v2 `/Date(…)/`). They are normalized on the way in — timestamps to UTC,
//! numbers to integers — so that watermarks compare correctly, and rendered
//! back in the source's own format (e.g. an OData v2 `datetimeoffset'…'`
//! literal) on the way out. Parsing never panics: bad values are errors that
//! say what was expected.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A normalized cursor value, as stored in watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CursorValue {
    Timestamp(DateTime<Utc>),
    Number(i64),
}

/// How a source writes timestamps in its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

/// How a watermark is written into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenderFormat {
    Rfc3339,
    Naive,
    EpochSeconds,
    EpochMillis,
    /// An OData v2 filter literal: `datetimeoffset'2024-05-01T08:00:00Z'`.
    OdataV2Datetimeoffset,
}

impl TimestampFormat {
    /// The request format that matches this record format.
    pub fn default_render(self) -> RenderFormat {
        match self {
            Self::Rfc3339 => RenderFormat::Rfc3339,
            Self::Naive => RenderFormat::Naive,
            Self::EpochSeconds => RenderFormat::EpochSeconds,
            Self::EpochMillis => RenderFormat::EpochMillis,
            Self::OdataV2Date => RenderFormat::OdataV2Datetimeoffset,
        }
    }
}

/// A cursor value that cannot be read; names what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct CursorError {
    pub expected: &'static str,
    pub found: String,
}

fn error(expected: &'static str, found: &Value) -> CursorError {
    let mut found = found.to_string();
    if found.len() > 80 {
        found.truncate(80);
        found.push('…');
    }
    CursorError { expected, found }
}

/// Reads an integer cursor from a JSON number or numeric string.
pub fn parse_number(value: &Value) -> Result<CursorValue, CursorError> {
    as_i64(value)
        .map(CursorValue::Number)
        .ok_or_else(|| error("an integer (or a string of one)", value))
}

/// Reads a timestamp cursor in `format`; `zone` is used by `Naive` only.
pub fn parse_timestamp(
    value: &Value,
    format: TimestampFormat,
    zone: Tz,
) -> Result<CursorValue, CursorError> {
    let parsed = match format {
        TimestampFormat::Rfc3339 => value
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| error("an RFC 3339 timestamp with offset", value)),
        TimestampFormat::Naive => value
            .as_str()
            .and_then(|s| parse_naive(s.trim()))
            .and_then(|naive| zone.from_local_datetime(&naive).earliest())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| error("a local timestamp like 2024-05-01 10:00:00", value)),
        TimestampFormat::EpochSeconds => as_i64(value)
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or_else(|| error("epoch seconds", value)),
        TimestampFormat::EpochMillis => as_i64(value)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(|| error("epoch milliseconds", value)),
        TimestampFormat::OdataV2Date => value
            .as_str()
            .and_then(parse_odata_v2_date)
            .ok_or_else(|| error("an OData v2 date like /Date(1717279200000+0000)/", value)),
    }?;
    Ok(CursorValue::Timestamp(parsed))
}

fn as_i64(value: &Value) -> Option<i64> {
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

impl CursorValue {
    /// Moves the value back by the lookback window (seconds for timestamps,
    /// units for numbers), so that late or same-time updates are re-read.
    pub fn minus_lookback(self, lookback: u64) -> Self {
        let lookback = i64::try_from(lookback).unwrap_or(i64::MAX);
        match self {
            Self::Timestamp(t) => Self::Timestamp(
                t.checked_sub_signed(chrono::TimeDelta::seconds(lookback))
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ),
            Self::Number(n) => Self::Number(n.saturating_sub(lookback)),
        }
    }

    /// The value as the source expects it in a request. Precision the
    /// format cannot carry is dropped downwards, so a `>=` filter re-reads
    /// rather than skips.
    pub fn render(self, format: RenderFormat, zone: Tz) -> String {
        let t = match self {
            Self::Number(n) => return n.to_string(),
            Self::Timestamp(t) => t,
        };
        match format {
            RenderFormat::Rfc3339 => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            RenderFormat::Naive => t
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
            RenderFormat::EpochSeconds => t.timestamp().to_string(),
            RenderFormat::EpochMillis => t.timestamp_millis().to_string(),
            RenderFormat::OdataV2Datetimeoffset => format!(
                "datetimeoffset'{}'",
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> CursorValue {
        CursorValue::Timestamp(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn every_source_format_normalizes_to_the_same_instant() {
        let want = ts("2024-05-01T08:00:00Z");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let cases = [
            (json!("2024-05-01T10:00:00+02:00"), TimestampFormat::Rfc3339),
            (json!("2024-05-01T08:00:00Z"), TimestampFormat::Rfc3339),
            (json!("2024-05-01 10:00:00"), TimestampFormat::Naive),
            (json!("2024-05-01T10:00:00"), TimestampFormat::Naive),
            (json!(1714550400), TimestampFormat::EpochSeconds),
            (json!("1714550400"), TimestampFormat::EpochSeconds),
            (json!(1714550400000_i64), TimestampFormat::EpochMillis),
            (
                json!("/Date(1714550400000+0200)/"),
                TimestampFormat::OdataV2Date,
            ),
            (json!("/Date(1714550400000)/"), TimestampFormat::OdataV2Date),
        ];
        for (value, format) in cases {
            assert_eq!(
                parse_timestamp(&value, format, berlin),
                Ok(want),
                "{value} as {format:?}"
            );
        }
    }

    #[test]
    fn bad_values_say_what_was_expected() {
        let utc = Tz::UTC;
        let err = parse_timestamp(&json!("yesterday"), TimestampFormat::Rfc3339, utc).unwrap_err();
        assert_eq!(err.expected, "an RFC 3339 timestamp with offset");
        assert_eq!(err.found, "\"yesterday\"");
        assert!(
            parse_timestamp(&json!("2024-05-01 10:00:00"), TimestampFormat::Rfc3339, utc).is_err()
        );
        assert!(parse_timestamp(&json!("/Date(12x)/"), TimestampFormat::OdataV2Date, utc).is_err());
        assert!(parse_timestamp(&json!(null), TimestampFormat::EpochMillis, utc).is_err());
        assert!(parse_number(&json!(1.5)).is_err());
        assert_eq!(parse_number(&json!("42")), Ok(CursorValue::Number(42)));
    }

    #[test]
    fn watermarks_render_in_the_source_format() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let t = ts("2024-05-01T08:00:00.250Z");
        assert_eq!(
            t.render(RenderFormat::Rfc3339, berlin),
            "2024-05-01T08:00:00.250Z"
        );
        assert_eq!(t.render(RenderFormat::Naive, berlin), "2024-05-01 10:00:00");
        assert_eq!(t.render(RenderFormat::EpochSeconds, berlin), "1714550400");
        assert_eq!(t.render(RenderFormat::EpochMillis, berlin), "1714550400250");
        assert_eq!(
            t.render(RenderFormat::OdataV2Datetimeoffset, berlin),
            "datetimeoffset'2024-05-01T08:00:00.250Z'"
        );
        assert_eq!(
            CursorValue::Number(7).render(RenderFormat::Rfc3339, berlin),
            "7"
        );
    }

    #[test]
    fn lookback_moves_back_and_saturates() {
        assert_eq!(
            ts("2024-05-01T08:01:00Z").minus_lookback(60),
            ts("2024-05-01T08:00:00Z")
        );
        assert_eq!(
            CursorValue::Number(5).minus_lookback(10),
            CursorValue::Number(-5)
        );
        assert_eq!(
            CursorValue::Number(i64::MIN).minus_lookback(1),
            CursorValue::Number(i64::MIN)
        );
    }

    #[test]
    fn stored_form_round_trips() {
        let t = ts("2024-05-01T08:00:00Z");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"timestamp":"2024-05-01T08:00:00Z"}"#);
        assert_eq!(serde_json::from_str::<CursorValue>(&json).unwrap(), t);
    }
}
