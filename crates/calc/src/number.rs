//! Decimal numbers as the formula language computes them.
//!
//! Values are exact decimals ([`Decimal`], 28–29 significant digits). The rounding points follow
//! the language's rules: number inputs and text turned into numbers keep 16 significant digits
//! (half-even), division keeps 10 decimal places (half-up), powers go through IEEE doubles and
//! come back with 16 significant digits, and `+ - *` are exact within the decimal's range.

use std::fmt::Write as _;

use rust_decimal::{Decimal, RoundingStrategy};

/// Significant digits kept for number inputs, re-typed text and powers.
pub const INPUT_DIGITS: usize = 16;
/// Decimal places kept by division.
const DIVISION_SCALE: u32 = 10;
/// The largest scale the decimal type can hold.
const MAX_SCALE: i32 = 28;

/// A number that does not fit the decimal range (about ±7.9e28 with up to 28 decimal places).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("numeric overflow: the number is outside the supported range of about ±7.9E+28")]
pub struct Overflow;

/// Parses a number literal of the formula language (`12`, `1.5`, `1e3`, `2.5E-3`) exactly.
///
/// Literals with more digits than the decimal type holds are rounded half-even to fit.
pub fn parse_literal(text: &str) -> Result<Decimal, Overflow> {
    parse_java_decimal(text, None)
        .ok_or(Overflow)?
        .map_err(|()| Overflow)
}

/// Parses text written in Java `BigDecimal` syntax (optional sign, digits with an optional point
/// — `.5` and `5.` included — and an optional exponent) rounded to 16 significant digits
/// half-even. `None` when the text is not a number at all (`""`, `" 5"`, `"1,5"`).
pub fn parse_input(text: &str) -> Option<Result<Decimal, Overflow>> {
    parse_java_decimal(text, Some(INPUT_DIGITS)).map(|result| result.map_err(|()| Overflow))
}

/// Splits Java `BigDecimal` text into sign, digits and exponent, then builds the decimal.
/// Outer `None`: not number syntax. Inner `Err`: out of range.
fn parse_java_decimal(text: &str, significant: Option<usize>) -> Option<Result<Decimal, ()>> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            pos = 1;
            true
        }
        Some(b'+') => {
            pos = 1;
            false
        }
        _ => false,
    };
    let mut digits = Vec::with_capacity(bytes.len());
    let mut exponent: i64 = 0;
    let mut seen_point = false;
    let mut seen_digit = false;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'0'..=b'9' => {
                digits.push(b - b'0');
                seen_digit = true;
                if seen_point {
                    exponent -= 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        pos += 1;
    }
    if !seen_digit {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(pos) {
        pos += 1;
        let start = pos;
        if let Some(b'+' | b'-') = bytes.get(pos) {
            pos += 1;
        }
        let digits_start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == digits_start {
            return None;
        }
        let written: i64 = text[start..pos].parse().ok()?;
        exponent = exponent.checked_add(written)?;
    }
    if pos != bytes.len() {
        return None;
    }
    Some(build(negative, digits, exponent, significant))
}

/// Builds `±digits × 10^exponent`, rounding half-even to `significant` digits when given and
/// then as far as needed to fit the decimal type's scale and mantissa.
fn build(
    negative: bool,
    mut digits: Vec<u8>,
    mut exponent: i64,
    significant: Option<usize>,
) -> Result<Decimal, ()> {
    let leading_zeros = digits.iter().take_while(|&&d| d == 0).count();
    digits.drain(..leading_zeros);
    if digits.is_empty() {
        return Ok(Decimal::ZERO);
    }
    if let Some(keep) = significant
        && digits.len() > keep
    {
        exponent += round_half_even(&mut digits, keep) as i64;
    }
    // Trailing zeros carry no information once the exponent absorbs them.
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
        exponent += 1;
    }
    if exponent > 0 {
        if exponent > 40 {
            return Err(());
        }
        digits.extend(std::iter::repeat_n(0, exponent as usize));
        exponent = 0;
    }
    if exponent < -(MAX_SCALE as i64) {
        let excess = (-(MAX_SCALE as i64) - exponent) as usize;
        if excess > digits.len() {
            return Ok(Decimal::ZERO);
        }
        let keep = digits.len() - excess;
        exponent += round_half_even(&mut digits, keep) as i64;
    }
    loop {
        match mantissa(&digits) {
            Some(m) => {
                let scale = (-exponent) as u32;
                let value = Decimal::try_from_i128_with_scale(if negative { -m } else { m }, scale)
                    .map_err(|_| ())?;
                return Ok(value);
            }
            None if exponent < 0 => {
                let keep = digits.len() - 1;
                exponent += round_half_even(&mut digits, keep) as i64;
            }
            None => return Err(()),
        }
    }
}

/// The digits as an integer if it fits the decimal type's 96-bit mantissa.
fn mantissa(digits: &[u8]) -> Option<i128> {
    const LIMIT: i128 = (1i128 << 96) - 1;
    let mut value: i128 = 0;
    for &d in digits {
        value = value.checked_mul(10)?.checked_add(d as i128)?;
        if value > LIMIT {
            return None;
        }
    }
    Some(value)
}

/// Rounds a digit string to `keep` digits half-even; returns how many digits were dropped
/// (the exponent shift). A carry out of the top digit keeps the count right.
fn round_half_even(digits: &mut Vec<u8>, keep: usize) -> usize {
    if keep == 0 {
        // Only the rounding decision remains: the value rounds to 0 or to one unit.
        let dropped = digits.len();
        let first = digits[0];
        let rest_nonzero = digits[1..].iter().any(|&d| d != 0);
        let round_up = first > 5 || (first == 5 && rest_nonzero);
        digits.clear();
        digits.push(u8::from(round_up));
        return dropped;
    }
    let dropped = digits.len() - keep;
    let first = digits[keep];
    let rest_nonzero = digits[keep + 1..].iter().any(|&d| d != 0);
    let last_odd = digits[keep - 1] % 2 == 1;
    let round_up = first > 5 || (first == 5 && (rest_nonzero || last_odd));
    digits.truncate(keep);
    if round_up {
        let mut i = keep;
        loop {
            if i == 0 {
                digits.insert(0, 1);
                digits.pop();
                return dropped + 1;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    dropped
}

/// Rounds to 16 significant digits, half-even (SIF's DECIMAL64 context).
pub fn round_input(value: Decimal) -> Decimal {
    value
        .round_sf_with_strategy(INPUT_DIGITS as u32, RoundingStrategy::MidpointNearestEven)
        .unwrap_or(value)
}

// Most values in carbon accounting have mantissas that fit 64 bits (a meter reading with a few
// decimals, an emission factor). For those, + - * / run on machine integers; anything larger
// takes the general 96-bit path. Both give the same exact result.

/// Powers of ten that fit an i64.
const POW10: [i64; 19] = {
    let mut table = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// The mantissa and scale, when the mantissa fits an i64.
fn small(value: Decimal) -> Option<(i64, u32)> {
    i64::try_from(value.mantissa())
        .ok()
        .map(|m| (m, value.scale()))
}

/// Both mantissas at the larger scale, when they fit.
fn aligned(a: Decimal, b: Decimal) -> Option<(i64, i64, u32)> {
    let ((ma, sa), (mb, sb)) = (small(a)?, small(b)?);
    match sa.cmp(&sb) {
        std::cmp::Ordering::Equal => Some((ma, mb, sa)),
        std::cmp::Ordering::Less => {
            Some((ma.checked_mul(*POW10.get((sb - sa) as usize)?)?, mb, sb))
        }
        std::cmp::Ordering::Greater => {
            Some((ma, mb.checked_mul(*POW10.get((sa - sb) as usize)?)?, sa))
        }
    }
}

pub fn add(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    if let Some((ma, mb, scale)) = aligned(a, b)
        && let Some(sum) = ma.checked_add(mb)
    {
        return Ok(Decimal::new(sum, scale));
    }
    a.checked_add(b).ok_or(Overflow)
}

pub fn sub(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    if let Some((ma, mb, scale)) = aligned(a, b)
        && let Some(difference) = ma.checked_sub(mb)
    {
        return Ok(Decimal::new(difference, scale));
    }
    a.checked_sub(b).ok_or(Overflow)
}

pub fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    if let (Some((ma, sa)), Some((mb, sb))) = (small(a), small(b))
        && sa + sb <= MAX_SCALE as u32
        && let Some(product) = ma.checked_mul(mb)
    {
        return Ok(Decimal::new(product, sa + sb));
    }
    a.checked_mul(b).ok_or(Overflow)
}

/// Division errors: a zero divisor, or a quotient out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DivisionError {
    #[error("/ by zero")]
    ByZero,
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// `a / b` rounded half-up to 10 decimal places, trailing zeros stripped.
///
/// The quotient is computed exactly in 128-bit integers whenever the operands allow it, so the
/// half-up decision is made on the true quotient, not on an already-rounded one.
pub fn div(a: Decimal, b: Decimal) -> Result<Decimal, DivisionError> {
    if b.is_zero() {
        return Err(DivisionError::ByZero);
    }
    // Trailing zeros are kept (`6/2` is 3.0000000000): they change no result, and the canonical
    // text strips them.
    if let Some(q) = exact_div(a, b) {
        return Ok(q);
    }
    let q = a.checked_div(b).ok_or(Overflow)?;
    Ok(q.round_dp_with_strategy(DIVISION_SCALE, RoundingStrategy::MidpointAwayFromZero))
}

fn exact_div(a: Decimal, b: Decimal) -> Option<Decimal> {
    // q × 10^10 = (ma / 10^sa) / (mb / 10^sb) × 10^10 = ma × 10^(10 + sb − sa) / mb
    let shift = DIVISION_SCALE as i32 + b.scale() as i32 - a.scale() as i32;
    if let Some(q) = small_div(a, b, shift) {
        return Some(Decimal::new(q, DIVISION_SCALE));
    }
    Decimal::try_from_i128_with_scale(exact_div_wide(a, b, shift)?, DIVISION_SCALE).ok()
}

/// The quotient's mantissa at scale 10 in 128-bit integers.
fn exact_div_wide(a: Decimal, b: Decimal, shift: i32) -> Option<i128> {
    let (mut numerator, mut denominator) = (a.mantissa(), b.mantissa());
    if shift >= 0 {
        numerator = numerator.checked_mul(10i128.checked_pow(shift as u32)?)?;
    } else {
        denominator = denominator.checked_mul(10i128.checked_pow((-shift) as u32)?)?;
    }
    let mut quotient = numerator / denominator;
    let remainder = numerator - quotient * denominator;
    if remainder.unsigned_abs().checked_mul(2)? >= denominator.unsigned_abs() {
        quotient += if (numerator < 0) == (denominator < 0) {
            1
        } else {
            -1
        };
    }
    Some(quotient)
}

/// [`exact_div`] on 64-bit integers, when the operands allow it.
fn small_div(a: Decimal, b: Decimal, shift: i32) -> Option<i64> {
    let ((ma, _), (mb, _)) = (small(a)?, small(b)?);
    let (numerator, denominator) = if shift >= 0 {
        (ma.checked_mul(*POW10.get(shift as usize)?)?, mb)
    } else {
        (ma, mb.checked_mul(*POW10.get((-shift) as usize)?)?)
    };
    let quotient = numerator / denominator;
    let remainder = numerator - quotient * denominator;
    let round_up = remainder.unsigned_abs().checked_mul(2)? >= denominator.unsigned_abs();
    Some(match (round_up, (numerator < 0) == (denominator < 0)) {
        (false, _) => quotient,
        (true, true) => quotient + 1,
        (true, false) => quotient - 1,
    })
}

/// Power errors: the double result is not a finite number, or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PowerError {
    #[error("{base}^{exponent} is not a finite number")]
    NotFinite { base: String, exponent: String },
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// `a ^ b` computed in IEEE-754 double precision and returned with 16 significant digits
/// (half-even on the double's exact value), as the language has always defined powers.
pub fn pow(a: Decimal, b: Decimal) -> Result<Decimal, PowerError> {
    let base: f64 = to_text(a).parse().unwrap_or(f64::NAN);
    let exponent: f64 = to_text(b).parse().unwrap_or(f64::NAN);
    let result = base.powf(exponent);
    if !result.is_finite() {
        return Err(PowerError::NotFinite {
            base: to_text(a),
            exponent: to_text(b),
        });
    }
    from_f64(result).map_err(PowerError::from)
}

/// A finite double as a decimal with 16 significant digits, rounded on its exact binary value.
pub fn from_f64(value: f64) -> Result<Decimal, Overflow> {
    // `{:e}` with a precision formats the exact binary value correctly rounded.
    let text = format!("{:.*e}", INPUT_DIGITS - 1, value);
    parse_java_decimal(&text, Some(INPUT_DIGITS))
        .and_then(Result::ok)
        .ok_or(Overflow)
}

/// The canonical text of a number: trailing zeros stripped, plain notation unless the value is
/// non-zero and smaller in magnitude than 1e-6, which is written `1.2E-7`.
pub fn to_text(value: Decimal) -> String {
    let mut out = String::new();
    write_text(&mut out, value);
    out
}

/// Appends the canonical text of a number to `out` without an intermediate allocation.
pub fn write_text(out: &mut String, value: Decimal) {
    let value = value.normalize();
    if value.is_zero() {
        out.push('0');
        return;
    }
    let scale = value.scale() as i64;
    let mut digits = value.mantissa().unsigned_abs().to_string();
    if value.is_sign_negative() {
        out.push('-');
    }
    let adjusted = digits.len() as i64 - 1 - scale;
    if scale == 0 {
        out.push_str(&digits);
    } else if adjusted >= -6 {
        if adjusted >= 0 {
            let split = (adjusted + 1) as usize;
            out.push_str(&digits[..split]);
            out.push('.');
            out.push_str(&digits[split..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-adjusted - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        let rest = digits.split_off(1);
        out.push_str(&digits);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(&rest);
        }
        let _ = write!(out, "E{adjusted}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        parse_literal(text).unwrap()
    }

    #[test]
    fn canonical_text() {
        let cases = [
            ("2.50", "2.5"),
            ("0.0", "0"),
            ("-0", "0"),
            ("1e3", "1000"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1E-7"),
            ("0.00000012", "1.2E-7"),
            ("-0.0000001", "-1E-7"),
            ("123.456", "123.456"),
            ("-42", "-42"),
            ("12345678901234567890", "12345678901234567890"),
        ];
        for (input, expected) in cases {
            assert_eq!(to_text(d(input)), expected, "{input}");
        }
    }

    #[test]
    fn division_rounds_half_up_to_ten_places() {
        assert_eq!(to_text(div(d("2"), d("3")).unwrap()), "0.6666666667");
        assert_eq!(to_text(div(d("1"), d("30000000000")).unwrap()), "0");
        assert_eq!(to_text(div(d("1"), d("3000000000")).unwrap()), "3E-10");
        assert_eq!(to_text(div(d("-2"), d("3")).unwrap()), "-0.6666666667");
        assert_eq!(to_text(div(d("1"), d("20000000000")).unwrap()), "1E-10");
        assert_eq!(to_text(div(d("6"), d("2")).unwrap()), "3");
        assert_eq!(div(d("1"), d("0")), Err(DivisionError::ByZero));
    }

    #[test]
    fn inputs_keep_sixteen_significant_digits() {
        let parse = |t: &str| parse_input(t).map(|r| to_text(r.unwrap()));
        assert_eq!(
            parse("12345678901234567890").as_deref(),
            Some("12345678901234570000")
        );
        assert_eq!(parse("007").as_deref(), Some("7"));
        assert_eq!(parse("1.50").as_deref(), Some("1.5"));
        assert_eq!(parse("1e3").as_deref(), Some("1000"));
        assert_eq!(parse(".5").as_deref(), Some("0.5"));
        assert_eq!(parse("5.").as_deref(), Some("5"));
        assert_eq!(parse("+2").as_deref(), Some("2"));
        assert_eq!(
            parse("0.12345678901234565").as_deref(),
            Some("0.1234567890123456")
        );
        assert_eq!(
            parse("9999999999999999.5").as_deref(),
            Some("10000000000000000")
        );
        for not_a_number in [
            "", " 5", "5 ", "1,5", ".", "e3", "1e", "--1", "abc", "1.2.3",
        ] {
            assert_eq!(parse(not_a_number), None, "{not_a_number:?}");
        }
    }

    #[test]
    fn powers_go_through_doubles() {
        let p = |a: &str, b: &str| to_text(pow(d(a), d(b)).unwrap());
        assert_eq!(p("2", "0.5"), "1.414213562373095");
        assert_eq!(p("2", "62"), "4611686018427388000");
        assert_eq!(p("1.1", "2"), "1.21");
        assert_eq!(p("10", "20"), "100000000000000000000");
        assert!(pow(d("-8"), div(d("1"), d("3")).unwrap()).is_err());
        assert!(pow(d("10"), d("400")).is_err());
    }

    fn decimal() -> impl proptest::strategy::Strategy<Value = Decimal> {
        use proptest::prelude::*;
        prop_oneof![
            (any::<i32>(), 0u32..8).prop_map(|(m, s)| Decimal::new(m as i64, s)),
            (any::<i64>(), 0u32..20).prop_map(|(m, s)| Decimal::new(m, s)),
            (any::<i128>(), 0u32..28).prop_map(|(m, s)| {
                Decimal::try_from_i128_with_scale(m >> 32, s).unwrap_or(Decimal::ONE)
            }),
        ]
    }

    proptest::proptest! {
        #[test]
        fn fast_paths_agree_with_general_decimal_arithmetic(a in decimal(), b in decimal()) {
            proptest::prop_assert_eq!(add(a, b).ok(), a.checked_add(b));
            proptest::prop_assert_eq!(sub(a, b).ok(), a.checked_sub(b));
            if let Ok(product) = mul(a, b) {
                proptest::prop_assert_eq!(Some(product), a.checked_mul(b));
            }
            if !b.is_zero() {
                let shift = DIVISION_SCALE as i32 + b.scale() as i32 - a.scale() as i32;
                if let Some(fast) = small_div(a, b, shift) {
                    let general = exact_div_wide(a, b, shift);
                    proptest::prop_assert_eq!(Some(fast as i128), general);
                }
            }
        }
    }

    #[test]
    fn arithmetic_is_exact() {
        assert_eq!(to_text(add(d("0.1"), d("0.2")).unwrap()), "0.3");
        assert_eq!(to_text(mul(d("0.1"), d("0.1")).unwrap()), "0.01");
        assert_eq!(
            to_text(mul(d("12345678901234567890"), d("10")).unwrap()),
            "123456789012345678900"
        );
        assert!(mul(d("1e28"), d("100")).is_err());
    }
}
