//! Amounts the way the demo systems send them: in the currency's minor unit
//! precision (JPY none, KWD three decimals, else two), sometimes as a decimal
//! string and sometimes as a JSON number.

use fastrand::Rng;
use serde_json::Value;

/// Decimal places of a currency's minor unit.
pub(crate) fn decimals(currency: &str) -> u32 {
    match currency {
        "JPY" => 0,
        "KWD" => 3,
        _ => 2,
    }
}

/// `minor` units as a decimal string: `123450` EUR → `"1234.50"`.
pub(crate) fn decimal_string(minor: i64, currency: &str) -> String {
    let places = decimals(currency);
    if places == 0 {
        return minor.to_string();
    }
    let unit = 10_i64.pow(places);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let unit = unit.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = places as usize
    )
}

/// `minor` units as a JSON number: `123450` EUR → `1234.5`, JPY stays an integer.
pub(crate) fn number(minor: i64, currency: &str) -> Value {
    let places = decimals(currency);
    if places == 0 {
        return Value::from(minor);
    }
    let major = minor as f64 / 10_f64.powi(places as i32);
    serde_json::Number::from_f64(major).map_or_else(|| Value::from(minor), Value::Number)
}

/// An amount as a string or, one time in three, as a number.
pub(crate) fn messy(rng: &mut Rng, minor: i64, currency: &str) -> Value {
    if rng.u8(..3) == 0 {
        number(minor, currency)
    } else {
        Value::String(decimal_string(minor, currency))
    }
}

/// A yearly salary in minor units, in a plausible range for the currency.
pub(crate) fn salary_minor(rng: &mut Rng, currency: &str) -> i64 {
    let (low, high) = match currency {
        "USD" => (55_000, 210_000),
        "GBP" => (32_000, 130_000),
        "JPY" => (4_000_000, 16_000_000),
        "KWD" => (9_000, 42_000),
        _ => (42_000, 160_000),
    };
    // Salaries are round to the hundred (or 10 000 yen); then scaled to minor units.
    let step = if currency == "JPY" { 10_000 } else { 100 };
    let major = rng.i64(low / step..high / step) * step;
    major * 10_i64.pow(decimals(currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_currencys_precision() {
        assert_eq!(decimal_string(123_450, "EUR"), "1234.50");
        assert_eq!(decimal_string(1_500, "JPY"), "1500");
        assert_eq!(decimal_string(12_345, "KWD"), "12.345");
        assert_eq!(decimal_string(-5, "USD"), "-0.05");
        assert_eq!(number(123_450, "EUR"), serde_json::json!(1234.5));
        assert_eq!(number(1_500, "JPY"), serde_json::json!(1500));
    }
}
