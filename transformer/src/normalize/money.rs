//! Money: an ISO 4217 currency and an exact amount in its minor units.
//!
//! Amounts are read as decimal text and rescaled with integer arithmetic to
//! the currency's exponent (JPY 0, EUR 2, KWD 3, from `iso_currency`'s ISO
//! data). Never a float, never a rounded cent: an amount that does not fit
//! the currency exactly is invalid.

use iso_currency::Currency;
use serde_json::Value;

use super::Invalid;
use super::decimal::{Decimal, Rounding, ScaleError};

/// An amount in minor units (cents for EUR, yen for JPY, fils for KWD) of
/// an ISO 4217 alphabetic code: the canonical model's own type.
pub use canonflow_canonical::Money;

/// An active ISO 4217 code, trimmed and upper-cased: `"eur"` is `"EUR"`.
///
/// Active means not superseded (HRK, SLL, VES are refused) and with a minor
/// unit, since money needs one: precious metals, SDRs and the testing and
/// "no currency" codes (XAU, XDR, XTS, XXX) are refused too.
pub fn currency(value: &Value) -> Result<String, Invalid> {
    active_currency(value).map(|currency| currency.code().to_owned())
}

/// Money from an amount (a JSON number or a decimal string) and a currency.
///
/// The amount may have more decimal places than the currency only when the
/// extra digits are zeros (`"12.500"` EUR is 1250 cents); `-0` is zero.
pub fn money(amount: &Value, currency: &Value) -> Result<Money, Invalid> {
    let currency = active_currency(currency)?;
    let code = currency.code();
    let exponent = currency
        .exponent()
        .map(u32::from)
        .ok_or_else(|| Invalid::new(CURRENCY_EXPECTED, &Value::from(code)))?;
    let decimal =
        Decimal::from_json(amount).map_err(|error| Invalid::new(error.expected(), amount))?;
    let amount_minor = decimal
        .to_units(exponent, Rounding::Exact)
        .map_err(|error| match error {
            ScaleError::TooPrecise => Invalid::new(
                format!("an amount with at most {exponent} decimal places ({code} has {exponent} decimal places)"),
                amount,
            ),
            ScaleError::Overflow => Invalid::new(
                format!("an amount that fits a 64-bit count of {code} minor units"),
                amount,
            ),
        })?;
    Ok(Money {
        amount_minor,
        currency: code.to_owned(),
    })
}

/// How many decimal places `code`'s minor unit has (JPY 0, EUR 2, KWD 3);
/// `None` for codes ISO 4217 does not know or that have no minor unit.
/// Takes the code as it is: trimming and case are [`currency`]'s job.
pub fn currency_exponent(code: &str) -> Option<u32> {
    Currency::from_code(code)?.exponent().map(u32::from)
}

const CURRENCY_EXPECTED: &str = "an active ISO 4217 currency code like EUR";

fn active_currency(value: &Value) -> Result<Currency, Invalid> {
    value
        .as_str()
        .map(|text| text.trim().to_ascii_uppercase())
        .and_then(|code| Currency::from_code(&code))
        .filter(|currency| currency.is_superseded().is_none() && currency.exponent().is_some())
        .ok_or_else(|| Invalid::new(CURRENCY_EXPECTED, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minor(amount: Value, code: &str) -> Result<i64, Invalid> {
        money(&amount, &json!(code)).map(|money| money.amount_minor)
    }

    #[test]
    fn currency_codes_are_trimmed_upper_cased_and_checked() {
        for (input, expected) in [
            ("EUR", "EUR"),
            ("eur", "EUR"),
            (" usd ", "USD"),
            ("jPy", "JPY"),
        ] {
            assert_eq!(currency(&json!(input)).unwrap(), expected, "{input}");
        }
        for input in [
            json!("XYZ"),
            json!("ABC"),
            json!(""),
            json!("EURO"),
            json!("€"),
            json!("HRK"),
            json!("XXX"),
            json!("XAU"),
            json!(978),
            json!(null),
        ] {
            let error = currency(&input).unwrap_err();
            assert_eq!(error.expected, CURRENCY_EXPECTED, "{input}");
        }
    }

    #[test]
    fn exponents_come_from_the_iso_data() {
        for (code, exponent) in [
            ("JPY", Some(0)),
            ("EUR", Some(2)),
            ("USD", Some(2)),
            ("KWD", Some(3)),
            ("CLF", Some(4)),
            ("XAU", None),
            ("ABC", None),
            ("eur", None),
        ] {
            assert_eq!(currency_exponent(code), exponent, "{code}");
        }
    }

    #[test]
    fn amounts_in_each_exponent() {
        for (amount, code, expected) in [
            (json!("1500"), "JPY", 1500),
            (json!(1500), "JPY", 1500),
            (json!("12.345"), "KWD", 12345),
            (json!(1234.5), "EUR", 123_450),
            (json!("1234.50"), "EUR", 123_450),
            (json!("0.1"), "EUR", 10),
            (json!("0.2"), "EUR", 20),
            (json!("0.3"), "EUR", 30),
            (json!(0.1), "USD", 10),
            (json!(" 12 "), "EUR", 1200),
            (json!("+12"), "EUR", 1200),
            (json!("-0.05"), "EUR", -5),
            (json!("12.500"), "EUR", 1250),
            (json!("1500.000"), "JPY", 1500),
            (json!("-0"), "EUR", 0),
            (json!("-0.00"), "EUR", 0),
            (json!(-0.0), "EUR", 0),
        ] {
            assert_eq!(minor(amount.clone(), code), Ok(expected), "{amount} {code}");
        }
    }

    #[test]
    fn extra_non_zero_decimals_are_refused() {
        let error = minor(json!("12.345"), "EUR").unwrap_err();
        assert!(
            error.expected.contains("EUR has 2 decimal places"),
            "{error}"
        );
        assert!(minor(json!("1.5"), "JPY").is_err());
        assert!(minor(json!("1.0001"), "KWD").is_err());
    }

    #[test]
    fn inexact_floats_are_refused_with_a_reason() {
        let error = minor(json!(0.1 + 0.2), "EUR").unwrap_err();
        assert!(error.expected.contains("15 significant digits"), "{error}");
        assert!(minor(json!(1e20), "EUR").is_err());
    }

    #[test]
    fn overflow_is_invalid() {
        for amount in [
            json!(u64::MAX),
            json!("92233720368547758.08"),
            json!("99999999999999999999999"),
            json!("9".repeat(100)),
        ] {
            assert!(minor(amount.clone(), "EUR").is_err(), "{amount}");
        }
        assert_eq!(minor(json!(i64::MAX), "JPY"), Ok(i64::MAX));
        assert_eq!(minor(json!("-92233720368547758.08"), "EUR"), Ok(i64::MIN));
    }

    #[test]
    fn non_amounts_are_invalid() {
        for amount in [
            json!(""),
            json!("abc"),
            json!("1.2.3"),
            json!("+-1"),
            json!("1,5"),
            json!("1,000.00"),
            json!("1e3"),
            json!(null),
            json!(true),
            json!({"amount": 1}),
            json!([1]),
            json!("1".repeat(100_000)),
        ] {
            assert!(minor(amount.clone(), "EUR").is_err(), "{amount}");
        }
    }

    #[test]
    fn the_currency_is_checked_before_the_amount() {
        let error = money(&json!("abc"), &json!("eu")).unwrap_err();
        assert_eq!(error.expected, CURRENCY_EXPECTED);
        assert_eq!(error.found, "\"eu\"");
    }

    #[test]
    fn money_serializes_as_a_plain_object() {
        let money = money(&json!("12.34"), &json!("eur")).unwrap();
        assert_eq!(
            serde_json::to_value(&money).unwrap(),
            json!({"amount_minor": 1234, "currency": "EUR"})
        );
    }
}
