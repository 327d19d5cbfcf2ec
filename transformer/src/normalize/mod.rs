//! Unit normalization: source values in their many shapes to the one shape
//! the canonical model uses.
//!
//! Every function here is pure (no I/O, no Kafka) and total: any JSON value
//! yields either the canonical value or an [`Invalid`] that says what was
//! expected and shows a bounded part of what was found, so a mapping can put
//! the field path in front of it and dead-letter the record. Nothing here may
//! panic on input, and money and quantities never pass through a float.

mod codes;
mod decimal;
mod money;
mod quantity;
mod scalar;
mod text;
mod time;

#[cfg(test)]
mod proptests;

pub use codes::{code, country};
pub use money::{Money, currency, currency_exponent, money};
pub use quantity::{Quantity, check_unit, quantity};
pub use scalar::{boolean, integer, one_of, ratio};
pub use text::{email, name, text};
pub use time::{date, timestamp};

use serde_json::Value;

/// How many characters of an offending value an [`Invalid`] keeps.
const FOUND_MAX_CHARS: usize = 80;

/// A value that cannot be normalized: what was expected, and what was found
/// (bounded to 80 chars, char-boundary safe).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct Invalid {
    pub expected: String,
    pub found: String,
}

impl Invalid {
    /// What was expected, and `found` as JSON cut to 80 characters.
    pub fn new(expected: impl Into<String>, found: &Value) -> Self {
        Self {
            expected: expected.into(),
            found: bounded(found),
        }
    }
}

impl From<canonflow_common::time::ValueError> for Invalid {
    fn from(error: canonflow_common::time::ValueError) -> Self {
        Self {
            expected: error.expected.to_owned(),
            found: error.found,
        }
    }
}

/// `value` as JSON, cut after [`FOUND_MAX_CHARS`] characters (never inside
/// one) with an ellipsis to show the cut.
fn bounded(value: &Value) -> String {
    let mut text = value.to_string();
    if let Some((cut, _)) = text.char_indices().nth(FOUND_MAX_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use canonflow_common::time::ValueError;
    use serde_json::json;

    #[test]
    fn found_is_bounded_to_80_chars() {
        let invalid = Invalid::new("x", &json!("a".repeat(100_000)));
        // The opening quote plus 79 letters, then the ellipsis.
        assert_eq!(invalid.found.chars().count(), 81);
        assert!(invalid.found.ends_with('…'));
    }

    #[test]
    fn cut_never_splits_a_multi_byte_char() {
        for prefix in 75..=82 {
            let text = format!("{}{}", "a".repeat(prefix), "€😀é".repeat(10));
            let invalid = Invalid::new("x", &json!(text));
            assert!(invalid.found.chars().count() <= 81, "prefix {prefix}");
        }
    }

    #[test]
    fn short_values_are_kept_whole() {
        assert_eq!(Invalid::new("x", &json!("abc")).found, "\"abc\"");
        assert_eq!(Invalid::new("x", &json!(null)).found, "null");
    }

    #[test]
    fn displays_expected_and_found() {
        let invalid = Invalid::new("a number", &json!(true));
        assert_eq!(invalid.to_string(), "expected a number, found true");
    }

    #[test]
    fn converts_from_a_common_value_error() {
        let invalid = Invalid::from(ValueError::new("epoch seconds", &json!("x")));
        assert_eq!(invalid, Invalid::new("epoch seconds", &json!("x")));
    }
}
