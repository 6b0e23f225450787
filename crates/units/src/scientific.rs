//! Decimals split into a coefficient in `[1, 10)` and a power of ten.
//!
//! A `Decimal` holds 28 to 29 significant digits, but only up to 28 decimal places and
//! magnitudes below about 7.9e28, while QUDT multipliers range from 1e-110 to 1e108.
//! Multiplying and dividing the coefficients and adding the exponents keeps every
//! intermediate step at full precision whatever the magnitudes involved; only the final
//! result has to fit into a `Decimal`.

use rust_decimal::Decimal;

/// Significant digits a `Decimal` mantissa always holds (10^28 < 2^96).
const DIGITS: u32 = 28;

/// Most digits an `i128` holds.
const I128_DIGITS: usize = 38;

/// `coefficient × 10^exponent`, with `coefficient` zero or `1 <= |coefficient| < 10`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scientific {
    coefficient: Decimal,
    exponent: i32,
}

impl Scientific {
    pub(crate) const ONE: Self = Self {
        coefficient: Decimal::ONE,
        exponent: 0,
    };

    /// `mantissa × 10^exponent`, for a mantissa of at most 29 digits.
    fn new(mantissa: i128, exponent: i64) -> Option<Self> {
        if mantissa == 0 {
            return Some(Self {
                coefficient: Decimal::ZERO,
                exponent: 0,
            });
        }
        let shift = mantissa.unsigned_abs().ilog10();
        Some(Self {
            coefficient: Decimal::try_from_i128_with_scale(mantissa, shift).ok()?,
            exponent: i32::try_from(exponent + i64::from(shift)).ok()?,
        })
    }

    pub(crate) fn from_decimal(value: Decimal) -> Option<Self> {
        Self::new(value.mantissa(), -i64::from(value.scale()))
    }

    /// Parses a plain decimal (`123`, `0.0254`) of up to 38 significant digits, rounding it
    /// half-even to 28 significant digits.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (integer, fraction) = match text.split_once('.') {
            Some((_, "")) => return None,
            Some(parts) => parts,
            None => (text, ""),
        };
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if integer.is_empty() || !all_digits(integer) || !all_digits(fraction) {
            return None;
        }
        let digits = format!("{integer}{fraction}");
        let significant = digits.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        let mut exponent = i64::try_from(significant.len() - trimmed.len()).ok()?
            - i64::try_from(fraction.len()).ok()?;
        if trimmed.len() > I128_DIGITS {
            return None;
        }
        let mut mantissa: i128 = if trimmed.is_empty() {
            0
        } else {
            trimmed.parse().ok()?
        };
        let excess = u32::try_from(trimmed.len()).ok()?.saturating_sub(DIGITS);
        if excess > 0 {
            mantissa = divide_by_power_of_ten(mantissa, excess);
            exponent += i64::from(excess);
        }
        Self::new(mantissa, exponent)
    }

    pub(crate) fn is_zero(self) -> bool {
        self.coefficient.is_zero()
    }
}

/// `value × multiplier / divisor`, or `None` when the result does not fit into a `Decimal`
/// (including a non-zero result too small for 28 decimal places).
pub(crate) fn multiply_divide(
    value: Decimal,
    multiplier: Scientific,
    divisor: Scientific,
) -> Option<Decimal> {
    let value = Scientific::from_decimal(value)?;
    let quotient = value
        .coefficient
        .checked_mul(multiplier.coefficient)?
        .checked_div(divisor.coefficient)?;
    let exponent =
        i64::from(value.exponent) + i64::from(multiplier.exponent) - i64::from(divisor.exponent);
    let result = times_power_of_ten(quotient, exponent)?;
    (value.is_zero() || !result.is_zero()).then_some(result)
}

/// `value × 10^power`, rounded half-even to 28 decimal places.
fn times_power_of_ten(value: Decimal, power: i64) -> Option<Decimal> {
    let mantissa = value.mantissa();
    // value == mantissa × 10^exponent
    let exponent = power - i64::from(value.scale());
    if exponent > 0 {
        let factor = 10_i128.checked_pow(u32::try_from(exponent).ok()?)?;
        Decimal::try_from_i128_with_scale(mantissa.checked_mul(factor)?, 0).ok()
    } else {
        let scale = u32::try_from(-exponent).ok()?;
        let excess = scale.saturating_sub(DIGITS);
        let mantissa = divide_by_power_of_ten(mantissa, excess);
        Decimal::try_from_i128_with_scale(mantissa, scale - excess).ok()
    }
}

/// `mantissa / 10^digits`, rounded half-even.
fn divide_by_power_of_ten(mantissa: i128, digits: u32) -> i128 {
    if digits == 0 {
        return mantissa;
    }
    let Some(divisor) = 10_i128.checked_pow(digits) else {
        // 10^digits exceeds i128, so |mantissa| / 10^digits < 1/2.
        return 0;
    };
    let quotient = mantissa / divisor;
    let remainder = (mantissa % divisor).unsigned_abs();
    let half = divisor.unsigned_abs() / 2;
    if remainder > half || (remainder == half && quotient % 2 != 0) {
        quotient + mantissa.signum()
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).expect("test literal")
    }

    fn sci(text: &str) -> Scientific {
        Scientific::parse(text).expect("test literal")
    }

    #[test]
    fn parse_normalises_into_coefficient_and_exponent() {
        assert_eq!(
            sci("3600000.0"),
            Scientific {
                coefficient: dec("3.6"),
                exponent: 6
            }
        );
        assert_eq!(
            sci("0.0254"),
            Scientific {
                coefficient: dec("2.54"),
                exponent: -2
            }
        );
        assert_eq!(sci("1.0"), Scientific::ONE);
        assert!(sci("0.0").is_zero());
    }

    #[test]
    fn parse_keeps_magnitudes_beyond_decimal_range() {
        let planck =
            sci("0.000000000000000000000000000000000000000000000000000000000000000000000261223");
        assert_eq!(planck.coefficient, dec("2.61223"));
        assert_eq!(planck.exponent, -70);
    }

    #[test]
    fn parse_rounds_half_even_to_28_significant_digits() {
        // 34 significant digits, from QUDT's NUM-PER-YR.
        let value = sci("0.00000003168808781402895023702689684893655");
        assert_eq!(value.coefficient, dec("3.168808781402895023702689685"));
        assert_eq!(value.exponent, -8);
        // A tie rounds to the even neighbour.
        assert_eq!(sci("10000000000000000000000000005").coefficient, dec("1"));
        assert_eq!(
            sci("10000000000000000000000000015").coefficient,
            dec("1.000000000000000000000000002")
        );
    }

    #[test]
    fn parse_rejects_what_is_not_a_plain_decimal() {
        for text in ["", ".5", "1.", "-1", "1e3", "1.2.3", " 1", "x"] {
            assert_eq!(Scientific::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn multiply_divide_is_exact_when_digits_allow() {
        let foot = sci("0.3048");
        assert_eq!(
            multiply_divide(dec("10"), foot, Scientific::ONE),
            Some(dec("3.048"))
        );
        assert_eq!(
            multiply_divide(dec("3.048"), Scientific::ONE, foot),
            Some(dec("10"))
        );
    }

    #[test]
    fn multiply_divide_spans_magnitudes_a_decimal_cannot_hold() {
        let huge = sci(&format!("1{}", "0".repeat(40)));
        let large = sci(&format!("1{}", "0".repeat(39)));
        assert_eq!(multiply_divide(dec("2.5"), huge, large), Some(dec("25")));
        let small = sci(&format!("0.{}1", "0".repeat(60)));
        let tiny = sci(&format!("0.{}1", "0".repeat(61)));
        assert_eq!(multiply_divide(dec("2.5"), small, tiny), Some(dec("25")));
    }

    #[test]
    fn multiply_divide_reports_overflow_and_underflow() {
        let huge = sci("1000000000000000000000000000000");
        assert_eq!(multiply_divide(dec("1"), huge, Scientific::ONE), None);
        assert_eq!(multiply_divide(dec("1"), Scientific::ONE, huge), None);
        assert_eq!(
            multiply_divide(Decimal::ZERO, Scientific::ONE, huge),
            Some(Decimal::ZERO)
        );
    }

    #[test]
    fn tiny_results_round_to_28_places() {
        let value = times_power_of_ten(dec("1.25"), -27);
        assert_eq!(value, Some(dec("0.0000000000000000000000000012")));
        let value = times_power_of_ten(dec("1.35"), -27);
        assert_eq!(value, Some(dec("0.0000000000000000000000000014")));
    }

    #[test]
    fn division_by_powers_of_ten_rounds_half_even_both_signs() {
        assert_eq!(divide_by_power_of_ten(25, 0), 25);
        assert_eq!(divide_by_power_of_ten(25, 1), 2);
        assert_eq!(divide_by_power_of_ten(35, 1), 4);
        assert_eq!(divide_by_power_of_ten(-35, 1), -4);
        assert_eq!(divide_by_power_of_ten(-36, 1), -4);
        assert_eq!(divide_by_power_of_ten(i128::MAX, 39), 0);
    }
}
