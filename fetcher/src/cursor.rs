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

use canonflow_common::time;
pub use canonflow_common::time::{TimestampFormat, ValueError as CursorError};
use chrono::{DateTime, SecondsFormat, Utc};
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

impl RenderFormat {
    /// The request format that matches a record format.
    pub fn matching(format: TimestampFormat) -> Self {
        match format {
            TimestampFormat::Rfc3339 => Self::Rfc3339,
            TimestampFormat::Naive => Self::Naive,
            TimestampFormat::EpochSeconds => Self::EpochSeconds,
            TimestampFormat::EpochMillis => Self::EpochMillis,
            TimestampFormat::OdataV2Date => Self::OdataV2Datetimeoffset,
        }
    }
}

/// Reads an integer cursor from a JSON number or numeric string.
pub fn parse_number(value: &Value) -> Result<CursorValue, CursorError> {
    time::as_i64(value)
        .map(CursorValue::Number)
        .ok_or_else(|| CursorError::new("an integer (or a string of one)", value))
}

/// Reads a timestamp cursor in `format`; `zone` is used by `Naive` only.
pub fn parse_timestamp(
    value: &Value,
    format: TimestampFormat,
    zone: Tz,
) -> Result<CursorValue, CursorError> {
    time::parse_timestamp(value, format, zone).map(CursorValue::Timestamp)
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
