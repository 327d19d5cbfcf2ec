//! Exact decimal numbers read from JSON, shared by money and quantities.
//!
//! A decimal is read from its text (a string, or a JSON number's shortest
//! round-trip form) into an integer coefficient and a decimal scale, and then
//! rescaled to integer minor or micro units with checked integer arithmetic.
//! It must never go through a float, and never panic or overflow.

use serde_json::Value;

/// Most significant digits a coefficient may have: 10^38 - 1 < u128::MAX.
const MAX_DIGITS: usize = 38;

/// Most significant decimal digits an f64 is guaranteed to stand for
/// exactly (DBL_DIG): beyond that its shortest form may not be what the
/// source wrote.
const F64_EXACT_DIGITS: u32 = 15;

/// `(-1)^negative * coefficient * 10^-scale`, with no trailing zeros after
/// the point and no negative zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    coefficient: u128,
    scale: u32,
}

/// Why a value is not an exact decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    NotADecimal,
    InexactFloat,
    TooManyDigits,
}

impl DecimalError {
    /// What was expected instead, for [`super::Invalid`].
    pub(crate) fn expected(self) -> &'static str {
        match self {
            Self::NotADecimal => {
                "a decimal number like 1234.50 (digits, an optional sign and point; \
                 no exponent or thousands separators)"
            }
            Self::InexactFloat => {
                "a JSON number with at most 15 significant digits and no exponent \
                 (an f64 cannot stand for a longer exact decimal; send it as a string)"
            }
            Self::TooManyDigits => "a decimal with at most 38 significant digits",
        }
    }
}

/// Why a decimal does not fit the requested integer units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScaleError {
    /// It has non-zero digits below the smallest unit.
    TooPrecise,
    /// It does not fit an i64 of those units.
    Overflow,
}

/// What to do with non-zero digits below the smallest unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// Refuse them ([`ScaleError::TooPrecise`]).
    Exact,
    /// Round to the nearest unit, ties to even.
    HalfEven,
}

impl Decimal {
    /// A decimal from an integer and a scale: `coefficient * 10^-scale`.
    pub(crate) const fn new(coefficient: u128, scale: u32) -> Self {
        Self {
            negative: false,
            coefficient,
            scale,
        }
    }

    /// Reads a JSON string or number. Integers are exact; a float is read
    /// from its shortest round-trip text and refused when that text has an
    /// exponent or more than 15 significant digits.
    pub(crate) fn from_json(value: &Value) -> Result<Self, DecimalError> {
        match value {
            Value::String(text) => Self::parse(text),
            Value::Number(number) if number.is_f64() => {
                let text = number.to_string();
                if text.contains(['e', 'E']) {
                    return Err(DecimalError::InexactFloat);
                }
                let decimal = Self::parse(&text)?;
                if decimal.significant_digits() > F64_EXACT_DIGITS {
                    return Err(DecimalError::InexactFloat);
                }
                Ok(decimal)
            }
            Value::Number(number) => Self::parse(&number.to_string()),
            _ => Err(DecimalError::NotADecimal),
        }
    }

    /// Reads `[+-]digits[.digits]` with surrounding whitespace; at least one
    /// digit, ASCII digits only, no exponent, no separators.
    pub(crate) fn parse(text: &str) -> Result<Self, DecimalError> {
        let text = text.trim();
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if (integer.is_empty() && fraction.is_empty())
            || !all_digits(integer)
            || !all_digits(fraction)
        {
            return Err(DecimalError::NotADecimal);
        }
        let fraction = fraction.trim_end_matches('0');
        let scale = u32::try_from(fraction.len()).map_err(|_| DecimalError::TooManyDigits)?;
        let mut coefficient: u128 = 0;
        let mut digits = 0_usize;
        for byte in integer.bytes().chain(fraction.bytes()) {
            if coefficient == 0 && byte == b'0' {
                continue; // a leading zero
            }
            digits = digits.saturating_add(1);
            if digits > MAX_DIGITS {
                return Err(DecimalError::TooManyDigits);
            }
            coefficient = coefficient
                .checked_mul(10)
                .and_then(|c| c.checked_add(u128::from(byte.wrapping_sub(b'0'))))
                .ok_or(DecimalError::TooManyDigits)?;
        }
        Ok(Self {
            negative: negative && coefficient != 0,
            coefficient,
            scale,
        })
    }

    /// Digits from the first to the last non-zero one.
    fn significant_digits(self) -> u32 {
        let mut rest = self.coefficient;
        while rest != 0 && rest.is_multiple_of(10) {
            rest /= 10;
        }
        rest.checked_ilog10().map_or(0, |log| log.saturating_add(1))
    }

    /// `self * factor`, or `None` when the product does not fit.
    pub(crate) fn checked_mul(self, factor: Self) -> Option<Self> {
        let coefficient = self.coefficient.checked_mul(factor.coefficient)?;
        Some(Self {
            negative: (self.negative != factor.negative) && coefficient != 0,
            coefficient,
            scale: self.scale.checked_add(factor.scale)?,
        })
    }

    /// The value in units of `10^-scale` (2 for cents), as an i64.
    pub(crate) fn to_units(self, scale: u32, rounding: Rounding) -> Result<i64, ScaleError> {
        let magnitude = if self.scale <= scale {
            10_u128
                .checked_pow(scale.abs_diff(self.scale))
                .and_then(|shift| self.coefficient.checked_mul(shift))
                .ok_or(ScaleError::Overflow)?
        } else {
            self.drop_digits(self.scale.abs_diff(scale), rounding)?
        };
        let signed = i128::try_from(magnitude).map_err(|_| ScaleError::Overflow)?;
        let signed = if self.negative {
            signed.checked_neg().ok_or(ScaleError::Overflow)?
        } else {
            signed
        };
        i64::try_from(signed).map_err(|_| ScaleError::Overflow)
    }

    /// The coefficient divided by `10^count`, rounded as asked.
    fn drop_digits(self, count: u32, rounding: Rounding) -> Result<u128, ScaleError> {
        let Some(divisor) = 10_u128.checked_pow(count) else {
            // divisor >= 10^39 > 2 * u128::MAX: the value is below half a unit.
            return match (self.coefficient, rounding) {
                (0, _) | (_, Rounding::HalfEven) => Ok(0),
                (_, Rounding::Exact) => Err(ScaleError::TooPrecise),
            };
        };
        let quotient = self.coefficient / divisor;
        let remainder = self.coefficient % divisor;
        if remainder == 0 {
            return Ok(quotient);
        }
        if rounding == Rounding::Exact {
            return Err(ScaleError::TooPrecise);
        }
        // remainder < divisor, so `divisor - remainder` cannot underflow.
        let round_up = match remainder.cmp(&(divisor - remainder)) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => quotient % 2 == 1,
        };
        if round_up {
            quotient.checked_add(1).ok_or(ScaleError::Overflow)
        } else {
            Ok(quotient)
        }
    }
}

#[cfg(test)]
mod tests;
