//! Time as the demo systems serve it: every record's cursor is kept as epoch
//! milliseconds and rendered in the format its system uses (RFC 3339 with an
//! offset, OData `/Date()/`, epoch seconds, naive Europe/Berlin local time).

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, Offset as _, SecondsFormat, TimeDelta, Utc,
    Weekday,
};

/// First day of the generated history; dates are counted in days from it.
pub(crate) const EPOCH_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2020, 1, 1) {
    Some(day) => day,
    None => NaiveDate::MIN,
};

/// Window the generated cursor values fall in: 2023-01-01 to 2024-06-01 (UTC).
pub(crate) const HISTORY_START_MS: i64 = 1_672_531_200_000;
pub(crate) const HISTORY_END_MS: i64 = 1_717_200_000_000;

/// Wall-clock time in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// A calendar date `days` after [`EPOCH_DAY`], as `YYYY-MM-DD`.
pub(crate) fn date(days: u64) -> String {
    EPOCH_DAY
        .checked_add_days(Days::new(days))
        .unwrap_or(EPOCH_DAY)
        .format("%Y-%m-%d")
        .to_string()
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// RFC 3339 in the given offset, whole seconds (`2024-05-01T10:00:00+02:00`).
pub(crate) fn rfc3339_in(ms: i64, offset: FixedOffset) -> String {
    utc(ms)
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// RFC 3339 in UTC with a `Z`, whole seconds or milliseconds.
pub(crate) fn rfc3339_z(ms: i64, millis: bool) -> String {
    let format = if millis {
        SecondsFormat::Millis
    } else {
        SecondsFormat::Secs
    };
    utc(ms).to_rfc3339_opts(format, true)
}

/// The offset of an RFC 3339 timestamp, UTC when it does not parse.
pub(crate) fn offset_of(rfc3339: &str) -> FixedOffset {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| *t.offset())
        .unwrap_or_else(|_| Utc.fix())
}

/// OData v2 JSON date: `/Date(1717279200000+0000)/`.
pub(crate) fn odata_v2_date(ms: i64) -> String {
    format!("/Date({ms}+0000)/")
}

/// Naive local time in Europe/Berlin, as the ops tickets API serves it.
pub(crate) fn berlin_naive(ms: i64) -> String {
    let at = utc(ms);
    let offset = TimeDelta::seconds(i64::from(berlin_offset_secs(at)));
    (at.naive_utc() + offset)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Europe/Berlin's UTC offset at an instant: CEST (+2 h) from 01:00 UTC on the
/// last Sunday of March to 01:00 UTC on the last Sunday of October, else CET.
pub(crate) fn berlin_offset_secs(at: DateTime<Utc>) -> i32 {
    let year = at.year();
    let summer_starts = last_sunday_1am_utc(year, 3);
    let summer_ends = last_sunday_1am_utc(year, 10);
    if at >= summer_starts && at < summer_ends {
        7200
    } else {
        3600
    }
}

fn last_sunday_1am_utc(year: i32, month: u32) -> DateTime<Utc> {
    let last_day = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or(EPOCH_DAY);
    let back = u64::from(last_day.weekday().days_since(Weekday::Sun));
    let sunday = last_day
        .checked_sub_days(Days::new(back))
        .unwrap_or(last_day);
    sunday.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc()
}

/// Parses an RFC 3339 filter value. The `+` of an offset that arrived
/// unencoded in a query string has been decoded to a space; it is put back.
pub(crate) fn parse_rfc3339(raw: &str) -> Option<DateTime<FixedOffset>> {
    let trimmed = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(trimmed) {
        return Some(at);
    }
    let space = trimmed.rfind(' ')?;
    let repaired = format!("{}+{}", &trimmed[..space], &trimmed[space + 1..]);
    DateTime::parse_from_rfc3339(&repaired).ok()
}

/// The smallest whole millisecond at or after an instant.
pub(crate) fn ceil_ms(at: DateTime<FixedOffset>) -> i64 {
    let floor = at.timestamp_millis();
    if at.timestamp_subsec_nanos().is_multiple_of(1_000_000) {
        floor
    } else {
        floor.saturating_add(1)
    }
}

/// The smallest whole millisecond strictly after an instant.
pub(crate) fn after_ms(at: DateTime<FixedOffset>) -> i64 {
    at.timestamp_millis().saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_switches_between_cet_and_cest() {
        // 2024: CEST from 2024-03-31 01:00 UTC to 2024-10-27 01:00 UTC.
        let winter = DateTime::parse_from_rfc3339("2024-03-31T00:59:59Z").unwrap();
        let summer = DateTime::parse_from_rfc3339("2024-03-31T01:00:00Z").unwrap();
        let autumn = DateTime::parse_from_rfc3339("2024-10-27T01:00:00Z").unwrap();
        assert_eq!(
            berlin_naive(winter.timestamp_millis()),
            "2024-03-31 01:59:59"
        );
        assert_eq!(
            berlin_naive(summer.timestamp_millis()),
            "2024-03-31 03:00:00"
        );
        assert_eq!(
            berlin_naive(autumn.timestamp_millis()),
            "2024-10-27 02:00:00"
        );
    }

    #[test]
    fn renders_each_format() {
        let ms = 1_714_550_400_000; // 2024-05-01T08:00:00Z
        let plus2 = FixedOffset::east_opt(7200).unwrap();
        assert_eq!(rfc3339_in(ms, plus2), "2024-05-01T10:00:00+02:00");
        assert_eq!(rfc3339_z(ms + 5, true), "2024-05-01T08:00:00.005Z");
        assert_eq!(odata_v2_date(ms), "/Date(1714550400000+0000)/");
        assert_eq!(
            offset_of("2024-05-01T10:00:00-05:00").local_minus_utc(),
            -18000
        );
        assert_eq!(date(0), "2020-01-01");
    }

    #[test]
    fn filter_values_round_to_whole_milliseconds() {
        let exact = parse_rfc3339("2024-05-01T10:00:00 02:00").unwrap();
        assert_eq!(ceil_ms(exact), 1_714_550_400_000);
        let fraction = parse_rfc3339("2024-05-01T08:00:00.0005Z").unwrap();
        assert_eq!(ceil_ms(fraction), 1_714_550_400_001);
        assert_eq!(after_ms(fraction), 1_714_550_400_001);
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
