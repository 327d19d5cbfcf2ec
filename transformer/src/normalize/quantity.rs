//! Quantities: a measured value in any unit sources use, as an exact count
//! of millionths of its SI unit (kg, m, s, m3, or 1 for counts).
//!
//! The value is read as exact decimal text, like money, and multiplied by
//! the unit's factor with integer arithmetic. Metric and time factors are
//! exact, so a value finer than a micro-unit is invalid rather than rounded;
//! only pounds (0.45359237 kg exactly) may produce digits below a micro-kg,
//! and those are rounded half to even.

use serde_json::Value;

use super::Invalid;
use super::decimal::{Decimal, Rounding, ScaleError};

/// A value in millionths of the SI unit named by `unit` ("kg", "m", "s",
/// "m3", or "1" for dimensionless counts): the canonical model's own type.
pub use canonflow_canonical::Quantity;

/// Micro-units are units at scale 6.
const MICRO: u32 = 6;

/// A unit a source may write, and how to turn it into its SI unit.
struct Unit {
    names: &'static [&'static str],
    si: &'static str,
    /// One of this unit in the SI unit.
    factor: Decimal,
    rounding: Rounding,
}

const fn unit(names: &'static [&'static str], si: &'static str, factor: Decimal) -> Unit {
    Unit {
        names,
        si,
        factor,
        rounding: Rounding::Exact,
    }
}

/// `coefficient * 10^-scale`.
const fn times(coefficient: u128, scale: u32) -> Decimal {
    Decimal::new(coefficient, scale)
}

const UNITS: &[Unit] = &[
    // Mass.
    unit(&["mg"], "kg", times(1, 6)),
    unit(&["g"], "kg", times(1, 3)),
    unit(&["kg"], "kg", times(1, 0)),
    unit(&["t"], "kg", times(1000, 0)),
    Unit {
        names: &["lb", "lbs"],
        si: "kg",
        factor: times(45_359_237, 8),
        rounding: Rounding::HalfEven,
    },
    // Length.
    unit(&["mm"], "m", times(1, 3)),
    unit(&["cm"], "m", times(1, 2)),
    unit(&["m"], "m", times(1, 0)),
    unit(&["km"], "m", times(1000, 0)),
    // Time.
    unit(&["s"], "s", times(1, 0)),
    unit(&["min"], "s", times(60, 0)),
    unit(&["h", "hr", "hrs", "hour", "hours"], "s", times(3600, 0)),
    unit(&["d", "day", "days"], "s", times(86_400, 0)),
    // Volume.
    unit(&["ml"], "m3", times(1, 6)),
    unit(&["l"], "m3", times(1, 3)),
    unit(&["m3"], "m3", times(1, 0)),
    // Counts.
    unit(
        &["pcs", "pc", "ea", "each", "unit", "units"],
        "1",
        times(1, 0),
    ),
];

/// Checks that `unit` names a unit this module converts, so that a caller
/// can blame the unit rather than the number.
pub fn check_unit(unit: &Value) -> Result<(), Invalid> {
    known_unit(unit).map(|_| ())
}

fn known_unit(unit: &Value) -> Result<&'static Unit, Invalid> {
    unit.as_str()
        .map(str::trim)
        .and_then(|name| {
            UNITS
                .iter()
                .find(|u| u.names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        })
        .ok_or_else(|| Invalid::new("a known unit (mass, length, time, volume or count)", unit))
}

/// A quantity from a value (a JSON number or a decimal string) and a unit
/// (matched trimmed and ignoring case), in micro-units of the SI unit.
pub fn quantity(value: &Value, unit: &Value) -> Result<Quantity, Invalid> {
    let known = known_unit(unit)?;
    let decimal =
        Decimal::from_json(value).map_err(|error| Invalid::new(error.expected(), value))?;
    let overflow = || {
        Invalid::new(
            format!("a quantity that fits a 64-bit count of micro-{}", known.si),
            value,
        )
    };
    let micro_units = decimal
        .checked_mul(known.factor)
        .ok_or_else(overflow)?
        .to_units(MICRO, known.rounding)
        .map_err(|error| match error {
            ScaleError::TooPrecise => Invalid::new(
                format!("a quantity no finer than a millionth of {}", known.si),
                value,
            ),
            ScaleError::Overflow => overflow(),
        })?;
    Ok(Quantity {
        micro_units,
        unit: known.si.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn micro(value: Value, unit: &str) -> Result<(i64, String), Invalid> {
        quantity(&value, &json!(unit)).map(|q| (q.micro_units, q.unit))
    }

    #[test]
    fn units_convert_exactly_to_si() {
        for (value, unit, expected, si) in [
            (json!(5), "g", 5_000, "kg"),
            (json!("5"), "G", 5_000, "kg"),
            (json!("2.5"), "kg", 2_500_000, "kg"),
            (json!(1), "t", 1_000_000_000, "kg"),
            (json!(7), "mg", 7, "kg"),
            (json!(1), "lb", 453_592, "kg"),
            (json!("0.5"), "lbs", 226_796, "kg"),
            (json!(-1), "lb", -453_592, "kg"),
            (json!(12), "mm", 12_000, "m"),
            (json!("1.5"), "cm", 15_000, "m"),
            (json!(3), "m", 3_000_000, "m"),
            (json!("0.001"), "km", 1_000_000, "m"),
            (json!(1.5), "h", 5_400_000_000, "s"),
            (json!("1.5"), " Hours ", 5_400_000_000, "s"),
            (json!(2), "hrs", 7_200_000_000, "s"),
            (json!(1), "hour", 3_600_000_000, "s"),
            (json!(90), "min", 5_400_000_000, "s"),
            (json!(1), "d", 86_400_000_000, "s"),
            (json!("0.25"), "s", 250_000, "s"),
            (json!(250), "ml", 250, "m3"),
            (json!("1.5"), "L", 1_500, "m3"),
            (json!(3), "pcs", 3_000_000, "1"),
            (json!(1), "EA", 1_000_000, "1"),
            (json!("-0.00"), "units", 0, "1"),
        ] {
            let expected = Ok((expected, si.to_owned()));
            assert_eq!(micro(value.clone(), unit), expected, "{value} {unit}");
        }
    }

    #[test]
    fn pounds_round_half_to_even() {
        // 0.000001 lb = 0.45359237 micro-kg, 0.000002 lb = 0.90718474.
        assert_eq!(micro(json!("0.000001"), "lb"), Ok((0, "kg".to_owned())));
        assert_eq!(micro(json!("0.000002"), "lb"), Ok((1, "kg".to_owned())));
        assert_eq!(micro(json!("0.0000001"), "lb"), Ok((0, "kg".to_owned())));
    }

    #[test]
    fn finer_than_a_micro_unit_is_invalid_for_exact_units() {
        let error = micro(json!("0.5"), "mg").unwrap_err();
        assert!(error.expected.contains("millionth of kg"), "{error}");
        assert!(micro(json!("0.0000001"), "s").is_err());
        assert!(micro(json!("0.1"), "ml").is_err());
    }

    #[test]
    fn unknown_units_are_invalid_and_named() {
        for unit in [
            json!("furlong"),
            json!(""),
            json!("kgs "),
            json!(1),
            json!(null),
        ] {
            let error = quantity(&json!(1), &unit).unwrap_err();
            assert_eq!(error.found, unit.to_string());
        }
    }

    #[test]
    fn overflow_is_invalid() {
        for (value, unit) in [
            (json!(i64::MAX), "kg"),
            (json!(9_223_372_036_855_u64), "s"),
            (json!("9".repeat(38)), "lb"),
            (json!("9".repeat(100_000)), "kg"),
            (json!(u64::MAX), "t"),
        ] {
            let error = micro(value.clone(), unit).unwrap_err();
            assert!(!error.expected.is_empty(), "{value} {unit}");
        }
        assert_eq!(
            micro(json!(9_223_372_036_854_u64), "s"),
            Ok((9_223_372_036_854_000_000, "s".to_owned()))
        );
    }

    #[test]
    fn bad_values_are_invalid() {
        for value in [
            json!(""),
            json!("abc"),
            json!("1,5"),
            json!("1e3"),
            json!(null),
            json!(true),
            json!(0.1 + 0.2),
        ] {
            assert!(micro(value.clone(), "kg").is_err(), "{value}");
        }
    }
}
