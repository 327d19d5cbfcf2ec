//! Unit tests of the exact decimal parser and rescaling.

use super::*;
use serde_json::json;

fn units(text: &str, scale: u32) -> Result<i64, ScaleError> {
    Decimal::parse(text)
        .unwrap()
        .to_units(scale, Rounding::Exact)
}

#[test]
fn parses_decimal_text() {
    for (text, expected) in [
        ("0", 0),
        ("12", 1200),
        (" 12 ", 1200),
        ("+12.5", 1250),
        ("-0.05", -5),
        ("12.500", 1250),
        (".5", 50),
        ("5.", 500),
        ("-0", 0),
        ("-0.00", 0),
        ("-0.000", 0),
        ("0000012.34", 1234),
    ] {
        assert_eq!(units(text, 2), Ok(expected), "{text}");
    }
}

#[test]
fn refuses_what_is_not_a_plain_decimal() {
    for text in [
        "", " ", ".", "-", "+", "abc", "1.2.3", "+-1", "-+1", "--1", "1,5", "1 000", "1_000",
        "1e3", "1E3", "0x10", "١٢", "12€", "NaN", "inf",
    ] {
        assert_eq!(
            Decimal::parse(text),
            Err(DecimalError::NotADecimal),
            "{text:?}"
        );
    }
}

#[test]
fn more_than_38_digits_are_refused_but_padding_zeros_are_not() {
    let long = "9".repeat(39);
    assert_eq!(Decimal::parse(&long), Err(DecimalError::TooManyDigits));
    let padded = format!("{}1.5{}", "0".repeat(100_000), "0".repeat(100_000));
    assert_eq!(units(&padded, 1), Ok(15));
}

#[test]
fn json_floats_must_be_short_and_without_exponent() {
    assert_eq!(Decimal::from_json(&json!(1234.5)), Decimal::parse("1234.5"));
    assert_eq!(Decimal::from_json(&json!(1500.0)), Decimal::parse("1500"));
    assert_eq!(Decimal::from_json(&json!(-0.0)), Decimal::parse("0"));
    for inexact in [0.1 + 0.2, 1e300, 1e-7, 123_456_789.012_345_67] {
        assert_eq!(
            Decimal::from_json(&json!(inexact)),
            Err(DecimalError::InexactFloat),
            "{inexact}"
        );
    }
}

#[test]
fn json_integers_are_exact_at_any_size() {
    assert_eq!(
        Decimal::from_json(&json!(u64::MAX)),
        Decimal::parse("18446744073709551615")
    );
    assert_eq!(
        Decimal::from_json(&json!(i64::MIN)),
        Decimal::parse("-9223372036854775808")
    );
}

#[test]
fn rescaling_refuses_extra_digits_and_overflow() {
    assert_eq!(units("1.234", 2), Err(ScaleError::TooPrecise));
    assert_eq!(units("0.001", 0), Err(ScaleError::TooPrecise));
    assert_eq!(units("9223372036854775807", 0), Ok(i64::MAX));
    assert_eq!(units("-9223372036854775808", 0), Ok(i64::MIN));
    assert_eq!(units("9223372036854775808", 0), Err(ScaleError::Overflow));
    assert_eq!(units("92233720368547758.08", 3), Err(ScaleError::Overflow));
    assert_eq!(units("1", 40), Err(ScaleError::Overflow));
}

#[test]
fn rounds_half_to_even() {
    let round = |text: &str| {
        Decimal::parse(text)
            .unwrap()
            .to_units(0, Rounding::HalfEven)
    };
    for (text, expected) in [
        ("0.5", 0),
        ("1.5", 2),
        ("2.5", 2),
        ("2.51", 3),
        ("2.49", 2),
        ("-2.5", -2),
        ("-3.5", -4),
        ("-0.4", 0),
    ] {
        assert_eq!(round(text), Ok(expected), "{text}");
    }
    let tiny = format!("0.{}1", "0".repeat(50));
    assert_eq!(round(&tiny), Ok(0));
}

#[test]
fn multiplies_exactly() {
    let pound = Decimal::new(45_359_237, 8);
    let product = Decimal::parse("-2").unwrap().checked_mul(pound).unwrap();
    assert_eq!(product.to_units(8, Rounding::Exact), Ok(-90_718_474));
    let huge = Decimal::parse(&"9".repeat(38)).unwrap();
    assert_eq!(huge.checked_mul(pound), None);
}
