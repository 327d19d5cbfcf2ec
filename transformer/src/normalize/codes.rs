//! Codes: ISO 3166-1 countries and the identifier codes sources use for
//! departments, cost centres, statuses and the like.
//!
//! Both come out trimmed and upper-cased, so that `"de"`, `" DEU "` and
//! `"DE"` are one country and `"hr-01"` and `"HR-01"` one code.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::Invalid;

/// Longest identifier code, in characters.
const CODE_MAX_CHARS: usize = 64;

/// Alpha-2 and alpha-3 codes, each to its alpha-2 code, from `iso_country`'s
/// ISO 3166-1 data (249 countries).
static COUNTRIES: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    iso_country::data::all()
        .into_iter()
        .flat_map(|country| {
            [
                (country.alpha2, country.alpha2),
                (country.alpha3, country.alpha2),
            ]
        })
        .collect()
});

/// An ISO 3166-1 alpha-2 country code, trimmed and upper-cased; an alpha-3
/// code is accepted and given as its alpha-2 code (`"DEU"` is `"DE"`).
pub fn country(value: &Value) -> Result<String, Invalid> {
    value
        .as_str()
        .map(|text| text.trim().to_ascii_uppercase())
        .and_then(|code| COUNTRIES.get(code.as_str()).copied())
        .map(str::to_owned)
        .ok_or_else(|| Invalid::new("an ISO 3166-1 alpha-2 or alpha-3 country code", value))
}

/// An identifier code: a string or an integer, trimmed and upper-cased, not
/// empty, at most 64 characters, no control characters.
pub fn code(value: &Value) -> Result<String, Invalid> {
    let expected = "an identifier code (1 to 64 characters, no control characters)";
    let raw = match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Number(number) if !number.is_f64() => number.to_string(),
        _ => return Err(Invalid::new(expected, value)),
    };
    // Checked before upper-casing so a huge string costs no more than a scan.
    if raw.is_empty()
        || super::text::longer_than(&raw, CODE_MAX_CHARS)
        || raw.chars().any(char::is_control)
    {
        return Err(Invalid::new(expected, value));
    }
    let code = raw.to_uppercase();
    // Upper-casing can lengthen a code ("ß" is "SS").
    if super::text::longer_than(&code, CODE_MAX_CHARS) {
        return Err(Invalid::new(expected, value));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn countries_by_alpha_2_and_alpha_3() {
        for (input, expected) in [
            ("DE", "DE"),
            ("de", "DE"),
            (" fr ", "FR"),
            ("DEU", "DE"),
            ("deu", "DE"),
            ("USA", "US"),
            ("GBR", "GB"),
            ("SS", "SS"),
            ("CUW", "CW"),
        ] {
            assert_eq!(country(&json!(input)), Ok(expected.to_owned()), "{input}");
        }
    }

    #[test]
    fn unknown_countries_are_invalid() {
        for input in [
            json!("XX"),
            json!("UK"),
            json!("ZZZ"),
            json!(""),
            json!("D"),
            json!("Germany"),
            json!("ДЕ"),
            json!(276),
            json!(null),
            json!("D".repeat(100_000)),
        ] {
            assert!(country(&input).is_err(), "{input}");
        }
    }

    #[test]
    fn all_249_countries_map_both_ways() {
        assert_eq!(COUNTRIES.len(), 2 * 249);
        assert!(
            COUNTRIES.iter().all(
                |(from, to)| COUNTRIES.get(to) == Some(to) && (from.len() == 2) == (from == to)
            )
        );
    }

    #[test]
    fn codes_from_strings_and_integers() {
        for (input, expected) in [
            (json!("hr-01"), "HR-01"),
            (json!("  cc 100 "), "CC 100"),
            (json!(4711), "4711"),
            (json!(-3), "-3"),
            (json!("straße"), "STRASSE"),
            (json!("x".repeat(64)), &*"X".repeat(64)),
        ] {
            assert_eq!(code(&input), Ok(expected.to_owned()), "{input}");
        }
    }

    #[test]
    fn bad_codes_are_invalid() {
        for input in [
            json!(""),
            json!("   "),
            json!("x".repeat(65)),
            json!(format!("{}ß", "x".repeat(63))),
            json!("a\u{0}b"),
            json!("a\nb"),
            json!("a\u{7f}"),
            json!(1.5),
            json!(true),
            json!(null),
            json!(["A"]),
            json!("é".repeat(100_000)),
        ] {
            assert!(code(&input).is_err(), "{input}");
        }
    }
}
