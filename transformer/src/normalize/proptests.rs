//! Property tests: money and quantities never panic on any input, and money
//! round-trips every i64 amount through its decimal text exactly.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{money, quantity};

const CURRENCIES: [(&str, u32); 4] = [("JPY", 0), ("EUR", 2), ("KWD", 3), ("USD", 2)];
const UNITS: [&str; 8] = ["g", "lb", "t", "mg", "h", "km", "ml", "pcs"];

/// `minor` as the decimal a source would write: 123456 with exponent 2 is
/// "1234.56", -5 is "-0.05".
fn decimal_text(minor: i64, exponent: u32) -> String {
    let exponent = exponent as usize;
    let digits = format!("{:0>width$}", minor.unsigned_abs(), width = exponent + 1);
    let (units, fraction) = digits.split_at(digits.len() - exponent);
    let sign = if minor < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{units}")
    } else {
        format!("{sign}{units}.{fraction}")
    }
}

/// Strings that look like decimals, to reach past the syntax checks.
fn decimal_like() -> impl Strategy<Value = String> {
    "[ +-]{0,2}[0-9]{0,45}(\\.[0-9]{0,45})?[ ]?"
}

proptest! {
    #[test]
    fn money_round_trips(minor in any::<i64>(), index in 0..CURRENCIES.len()) {
        let (code, exponent) = CURRENCIES[index];
        let text = decimal_text(minor, exponent);
        let parsed = money(&json!(text), &json!(code)).unwrap();
        prop_assert_eq!(parsed.amount_minor, minor);
        prop_assert_eq!(parsed.currency, code);
    }

    #[test]
    fn money_round_trips_through_json_numbers(
        minor in -999_999_999_999_999_i64..=999_999_999_999_999,
        index in 0..CURRENCIES.len(),
    ) {
        let (code, exponent) = CURRENCIES[index];
        let number: Value = serde_json::from_str(&decimal_text(minor, exponent)).unwrap();
        prop_assert_eq!(money(&number, &json!(code)).unwrap().amount_minor, minor);
    }

    #[test]
    fn money_never_panics(amount in any::<String>(), currency in any::<String>()) {
        let _ = money(&json!(amount), &json!(currency));
        let _ = money(&json!(amount), &json!("EUR"));
    }

    #[test]
    fn money_never_panics_on_decimal_like_text(amount in decimal_like(), index in 0..CURRENCIES.len()) {
        let _ = money(&json!(amount), &json!(CURRENCIES[index].0));
    }

    #[test]
    fn money_never_panics_on_any_float(amount in any::<f64>()) {
        let _ = money(&json!(amount), &json!("KWD"));
    }

    #[test]
    fn quantity_never_panics(value in any::<String>(), unit in any::<String>()) {
        let _ = quantity(&json!(value), &json!(unit));
        let _ = quantity(&json!(value), &json!("lb"));
    }

    #[test]
    fn quantity_never_panics_on_decimal_like_text(value in decimal_like(), index in 0..UNITS.len()) {
        let _ = quantity(&json!(value), &json!(UNITS[index]));
    }
}
