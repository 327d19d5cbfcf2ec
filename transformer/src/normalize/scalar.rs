//! Scalars: integers, ratios, booleans and values from a fixed set.
//!
//! Sources often send these as strings ("42", "0.8", "yes"), so each reads
//! both the JSON type and its usual spellings, and nothing else: no
//! truncation of `1.5` to `1`, no `"maybe"` as false.

use serde_json::Value;

use super::Invalid;
use super::decimal::{Decimal, Rounding};

/// A whole number that fits an i64: a JSON integer, or a string of one.
/// A decimal with only zeros after the point (`1.0`, `"7.00"`) is whole;
/// `1.5` and exponents (`"1e3"`) are not accepted.
pub fn integer(value: &Value) -> Result<i64, Invalid> {
    let expected = "an integer within the 64-bit range";
    if let Some(integer) = value.as_i64() {
        return Ok(integer);
    }
    Decimal::from_json(value)
        .ok()
        .and_then(|decimal| decimal.to_units(0, Rounding::Exact).ok())
        .ok_or_else(|| Invalid::new(expected, value))
}

/// A finite number, as a JSON number or a numeric string (an FTE of 0.8, a
/// percentage): for measures where a float is the right type, never money.
pub fn ratio(value: &Value) -> Result<f64, Invalid> {
    let parsed = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    parsed
        .filter(|number| number.is_finite())
        .ok_or_else(|| Invalid::new("a finite number", value))
}

/// A boolean: JSON `true`/`false`, the integers 1 and 0, or the strings
/// true/false, yes/no, 1/0 in any case, trimmed.
pub fn boolean(value: &Value) -> Result<bool, Invalid> {
    let parsed = match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => match number.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(text) => {
            let text = text.trim();
            if ["true", "yes", "1"]
                .iter()
                .any(|t| text.eq_ignore_ascii_case(t))
            {
                Some(true)
            } else if ["false", "no", "0"]
                .iter()
                .any(|f| text.eq_ignore_ascii_case(f))
            {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    };
    parsed.ok_or_else(|| Invalid::new("a boolean (true/false, yes/no or 1/0)", value))
}

/// The entry of `allowed` that a string matches, trimmed and ignoring case;
/// returns the canonical spelling from `allowed`.
pub fn one_of(value: &Value, allowed: &[&'static str]) -> Result<&'static str, Invalid> {
    let found = value.as_str().map(str::trim).and_then(|text| {
        allowed
            .iter()
            .find(|candidate| same_ignoring_case(text, candidate))
            .copied()
    });
    found.ok_or_else(|| Invalid::new(format!("one of {}", allowed.join(", ")), value))
}

/// Case-insensitive equality for any script, not only ASCII.
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || ((!a.is_ascii() || !b.is_ascii()) && a.to_lowercase() == b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_from_numbers_and_strings() {
        for (input, expected) in [
            (json!(42), 42),
            (json!(-7), -7),
            (json!(i64::MAX), i64::MAX),
            (json!(i64::MIN), i64::MIN),
            (json!(" 42 "), 42),
            (json!("+42"), 42),
            (json!("-0"), 0),
            (json!(1.0), 1),
            (json!("7.00"), 7),
            (json!("-9223372036854775808"), i64::MIN),
        ] {
            assert_eq!(integer(&input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn non_integers_are_invalid() {
        for input in [
            json!(1.5),
            json!("1.5"),
            json!(u64::MAX),
            json!("9223372036854775808"),
            json!("1e3"),
            json!(1e300),
            json!(""),
            json!("abc"),
            json!("1,000"),
            json!(true),
            json!(null),
            json!([1]),
            json!("9".repeat(100_000)),
        ] {
            assert!(integer(&input).is_err(), "{input}");
        }
    }

    #[test]
    fn ratios_are_finite_numbers() {
        for (input, expected) in [
            (json!(0.8), 0.8),
            (json!(1), 1.0),
            (json!(" 0.5 "), 0.5),
            (json!("-1.25"), -1.25),
            (json!("1e-3"), 0.001),
        ] {
            assert_eq!(ratio(&input), Ok(expected), "{input}");
        }
        for input in [
            json!("NaN"),
            json!("inf"),
            json!("-infinity"),
            json!("1e400"),
            json!(""),
            json!("0,8"),
            json!(true),
            json!(null),
        ] {
            assert!(ratio(&input).is_err(), "{input}");
        }
    }

    #[test]
    fn booleans_in_their_usual_spellings() {
        for (input, expected) in [
            (json!(true), true),
            (json!(false), false),
            (json!(1), true),
            (json!(0), false),
            (json!("TRUE"), true),
            (json!(" yes "), true),
            (json!("Yes"), true),
            (json!("1"), true),
            (json!("False"), false),
            (json!("NO"), false),
            (json!("0"), false),
        ] {
            assert_eq!(boolean(&input), Ok(expected), "{input}");
        }
        for input in [
            json!(2),
            json!(0.5),
            json!("y"),
            json!("maybe"),
            json!(""),
            json!(null),
            json!([true]),
        ] {
            assert!(boolean(&input).is_err(), "{input}");
        }
    }

    #[test]
    fn one_of_returns_the_canonical_spelling() {
        let allowed = ["active", "on_leave", "Terminated", "GEÄNDERT"];
        for (input, expected) in [
            ("active", "active"),
            (" ACTIVE ", "active"),
            ("On_Leave", "on_leave"),
            ("terminated", "Terminated"),
            ("geändert", "GEÄNDERT"),
        ] {
            assert_eq!(one_of(&json!(input), &allowed), Ok(expected), "{input}");
        }
        let error = one_of(&json!("retired"), &allowed).unwrap_err();
        assert_eq!(
            error.expected,
            "one of active, on_leave, Terminated, GEÄNDERT"
        );
        assert!(one_of(&json!(1), &allowed).is_err());
        assert!(one_of(&json!("active"), &[]).is_err());
    }
}
