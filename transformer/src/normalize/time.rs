//! Canonical instants (UTC) and calendar dates.
//!
//! Instants are read by `canonflow_common::time`, the same code the fetcher
//! reads its watermarks with, so both stages agree on what a record's
//! timestamp means. Dates are calendar days with no zone: a birth date or a
//! contract start, which must not shift by a day when a zone is applied.

use canonflow_common::time::{TimestampFormat, parse_timestamp};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::Invalid;

/// Years a real record's date can fall in; outside them a date is a typo or
/// a placeholder (0001-01-01, 9999-12-31), not a fact to store.
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 1800..=2200;

/// An instant as the stream writes it (`zone` is used by
/// [`TimestampFormat::Naive`] only), in UTC.
pub fn timestamp(
    value: &Value,
    format: TimestampFormat,
    zone: Tz,
) -> Result<DateTime<Utc>, Invalid> {
    parse_timestamp(value, format, zone).map_err(Invalid::from)
}

/// A calendar date from `"YYYY-MM-DD"`, from an RFC 3339 timestamp (the date
/// where it was written, not in UTC), or from an OData v2 `/Date(ms)/` (the
/// UTC date, which is how OData v2 sends `Edm.DateTime` dates). Impossible
/// dates and years outside 1800..=2200 are invalid.
pub fn date(value: &Value) -> Result<NaiveDate, Invalid> {
    let date = value
        .as_str()
        .map(str::trim)
        .and_then(|text| {
            plain_date(text)
                .or_else(|| {
                    DateTime::parse_from_rfc3339(text)
                        .ok()
                        .map(|t| t.date_naive())
                })
                .or_else(|| odata_date(value))
        })
        .ok_or_else(|| {
            Invalid::new(
                "a date like 2024-05-01, an RFC 3339 timestamp or an OData v2 /Date(ms)/",
                value,
            )
        })?;
    if !PLAUSIBLE_YEARS.contains(&date.year()) {
        return Err(Invalid::new("a plausible date (years 1800 to 2200)", value));
    }
    Ok(date)
}

/// Exactly `YYYY-MM-DD`: chrono alone would also take unpadded and signed
/// fields.
fn plain_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, byte)| match i {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    shaped
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

fn odata_date(value: &Value) -> Option<NaiveDate> {
    parse_timestamp(value, TimestampFormat::OdataV2Date, Tz::UTC)
        .ok()
        .map(|instant| instant.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn timestamps_are_read_by_the_common_parser() {
        let expected = Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap();
        for (input, format) in [
            (json!("2024-05-01T10:00:00+02:00"), TimestampFormat::Rfc3339),
            (json!("2024-05-01 10:00:00"), TimestampFormat::Naive),
            (json!(1_714_550_400), TimestampFormat::EpochSeconds),
            (json!("1714550400000"), TimestampFormat::EpochMillis),
            (
                json!("/Date(1714550400000+0200)/"),
                TimestampFormat::OdataV2Date,
            ),
        ] {
            let parsed = timestamp(&input, format, chrono_tz::Europe::Berlin);
            assert_eq!(parsed, Ok(expected), "{input}");
        }
    }

    #[test]
    fn timestamp_errors_say_what_was_expected() {
        let error = timestamp(&json!("yesterday"), TimestampFormat::Rfc3339, Tz::UTC).unwrap_err();
        assert_eq!(error.expected, "an RFC 3339 timestamp with offset");
        assert_eq!(error.found, "\"yesterday\"");
    }

    #[test]
    fn dates_in_each_shape() {
        for (input, expected) in [
            ("2024-02-29", day(2024, 2, 29)),
            (" 2024-05-01 ", day(2024, 5, 1)),
            ("1800-01-01", day(1800, 1, 1)),
            ("2200-12-31", day(2200, 12, 31)),
            ("2024-05-01T23:30:00-05:00", day(2024, 5, 1)),
            ("2024-05-01T00:30:00+02:00", day(2024, 5, 1)),
            ("2024-05-01T10:00:00Z", day(2024, 5, 1)),
            ("/Date(1714521600000)/", day(2024, 5, 1)),
            ("/Date(1714607999999+0200)/", day(2024, 5, 1)),
            ("/Date(-86400000)/", day(1969, 12, 31)),
        ] {
            assert_eq!(date(&json!(input)), Ok(expected), "{input}");
        }
    }

    #[test]
    fn impossible_and_malformed_dates_are_invalid() {
        for input in [
            json!("2024-02-30"),
            json!("2023-02-29"),
            json!("2024-13-01"),
            json!("2024-00-10"),
            json!("2024-5-1"),
            json!("+2024-05-01"),
            json!("01.05.2024"),
            json!("2024/05/01"),
            json!("2024-05-01T25:00:00Z"),
            json!("/Date(abc)/"),
            json!("/Date(99999999999999999999)/"),
            json!(""),
            json!(20_240_501),
            json!(null),
            json!("2024-05-01".repeat(10_000)),
            json!("２０２４-05-01"),
        ] {
            let error = date(&input).unwrap_err();
            assert!(error.expected.starts_with("a date like"), "{input}");
        }
    }

    #[test]
    fn implausible_years_are_invalid() {
        for input in [
            "0001-01-01",
            "1799-12-31",
            "2201-01-01",
            "9999-12-31",
            "/Date(-62135596800000)/",
            "0001-01-01T00:00:00Z",
        ] {
            let error = date(&json!(input)).unwrap_err();
            assert_eq!(
                error.expected, "a plausible date (years 1800 to 2200)",
                "{input}"
            );
        }
    }
}
