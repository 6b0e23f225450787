//! Output values as they are stored: numbers with 8 decimal places, timestamps in epoch
//! seconds, text, booleans, nulls and failed cells.
//!
//! SIF stored a `number` output by truncating it to 16 decimal places (rounding towards negative
//! infinity) and printing it with 8 decimal places, half-up (`%.8f`); sifr stores the same
//! number, so values, aggregates and metrics agree with what SIF kept. Stored numbers are kept as
//! integers of 10⁻⁸, which makes sums exact and cheap.

use std::fmt;
use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::definition::ValueType;

/// A stored number: an integer count of 10⁻⁸.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fixed(i128);

/// Decimal places of a stored number.
pub const STORED_SCALE: u32 = 8;
const UNIT: i128 = 100_000_000;

impl Fixed {
    pub const ZERO: Fixed = Fixed(0);

    /// The stored form of a computed number (see the module documentation).
    pub fn from_decimal(value: Decimal) -> Fixed {
        let mut value = value;
        if value.scale() > 16 {
            value = value.round_dp_with_strategy(16, RoundingStrategy::ToNegativeInfinity);
        }
        if value.scale() > STORED_SCALE {
            value =
                value.round_dp_with_strategy(STORED_SCALE, RoundingStrategy::MidpointAwayFromZero);
        }
        // |mantissa| < 2^96 and the factor ≤ 10^8, so the product fits an i128.
        Fixed(value.mantissa() * 10i128.pow(STORED_SCALE - value.scale()))
    }

    /// Reads the plain decimal notation [`Display`](fmt::Display) writes (`-12.5`, `300`);
    /// `None` for anything else, including more than eight decimal places.
    pub fn parse(text: &str) -> Option<Fixed> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((_, "")) => return None,
            Some(parts) => parts,
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || fraction.len() > STORED_SCALE as usize {
            return None;
        }
        if !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let mut units: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            units = units.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        units = units.checked_mul(10i128.pow(STORED_SCALE - fraction.len() as u32))?;
        Some(Fixed(if negative { -units } else { units }))
    }

    /// The number of 10⁻⁸ units.
    pub fn units(self) -> i128 {
        self.0
    }

    pub fn from_units(units: i128) -> Fixed {
        Fixed(units)
    }

    /// A whole number.
    pub fn from_count(count: u64) -> Fixed {
        Fixed(i128::from(count) * UNIT)
    }

    pub fn checked_add(self, other: Fixed) -> Option<Fixed> {
        self.0.checked_add(other.0).map(Fixed)
    }

    pub fn checked_sub(self, other: Fixed) -> Option<Fixed> {
        self.0.checked_sub(other.0).map(Fixed)
    }

    /// `self / count`, rounded half-up to 8 decimal places; `None` when `count` is 0.
    pub fn mean(self, count: u64) -> Option<Fixed> {
        let n = i128::from(count);
        if n == 0 {
            return None;
        }
        let (quotient, remainder) = (self.0 / n, self.0 % n);
        let round_away = remainder.unsigned_abs() * 2 >= n.unsigned_abs();
        Some(Fixed(if round_away {
            quotient + self.0.signum()
        } else {
            quotient
        }))
    }

    /// The value as a decimal; `None` when it exceeds the decimal range (sums can).
    pub fn to_decimal(self) -> Option<Decimal> {
        Decimal::try_from_i128_with_scale(self.0, STORED_SCALE)
            .ok()
            .map(|d| d.normalize())
    }
}

/// The text of a stored number, formatted without allocating.
pub(crate) struct NumberText {
    buf: [u8; 48],
    start: usize,
}

impl NumberText {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn push(&mut self, byte: u8) {
        self.start -= 1;
        self.buf[self.start] = byte;
    }

    fn push_integer(&mut self, mut n: u64) {
        loop {
            self.push(b'0' + (n % 10) as u8);
            n /= 10;
            if n == 0 {
                break;
            }
        }
    }
}

impl Fixed {
    /// Plain notation without trailing zeros.
    pub(crate) fn text(self) -> NumberText {
        let mut text = NumberText {
            buf: [0; 48],
            start: 48,
        };
        let magnitude = self.0.unsigned_abs();
        let unit = UNIT.unsigned_abs();
        // 64-bit division is much cheaper than 128-bit division, and most numbers fit.
        let (integer, fraction) = match u64::try_from(magnitude) {
            Ok(m) => (u128::from(m / UNIT as u64), m % UNIT as u64),
            Err(_) => (magnitude / unit, (magnitude % unit) as u64),
        };
        if fraction != 0 {
            let (mut digits, mut places) = (fraction, STORED_SCALE);
            while digits % 10 == 0 {
                digits /= 10;
                places -= 1;
            }
            for _ in 0..places {
                text.push(b'0' + (digits % 10) as u8);
                digits /= 10;
            }
            text.push(b'.');
        }
        match u64::try_from(integer) {
            Ok(n) => text.push_integer(n),
            Err(_) => {
                // Beyond 2^64: peel off 19 digits at a time.
                let low = (integer % 10_000_000_000_000_000_000) as u64;
                let high = integer / 10_000_000_000_000_000_000;
                for i in 0..19 {
                    text.push(b'0' + ((low / 10u64.pow(i)) % 10) as u8);
                }
                // |units| < 2^127, so the integer part is below 1.8·10^30 and `high` below 10^12.
                text.push_integer(high as u64);
            }
        }
        if self.0 < 0 {
            text.push(b'-');
        }
        text
    }
}

impl fmt::Display for Fixed {
    /// Plain decimal notation without trailing zeros: `12.5`, `-0.00000001`, `300`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text is ASCII digits, a sign and a point.
        f.write_str(std::str::from_utf8(self.text().as_bytes()).unwrap_or_default())
    }
}

/// One stored output value of a row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stored {
    Null,
    Number(Fixed),
    Bool(bool),
    Text(Arc<str>),
    /// Epoch seconds (UTC).
    Timestamp(i64),
    /// The formula failed; the message is also in the chunk's errors.
    Error(Arc<str>),
}

impl Stored {
    pub fn is_null_or_error(&self) -> bool {
        matches!(self, Stored::Null | Stored::Error(_))
    }

    /// The value's text as written to files: numbers in plain notation, timestamps in
    /// RFC 3339 (`2022-01-04T00:00:00Z`), empty for null and failed cells.
    pub fn write_text(&self, out: &mut String) {
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = match self {
            Stored::Null | Stored::Error(_) => Ok(()),
            Stored::Number(n) => write!(out, "{n}"),
            Stored::Bool(b) => write!(out, "{b}"),
            Stored::Text(t) => write!(out, "{t}"),
            Stored::Timestamp(seconds) => write_timestamp(out, *seconds),
        };
    }
}

/// Writes epoch seconds as RFC 3339 in UTC.
pub fn write_timestamp(out: &mut String, seconds: i64) -> fmt::Result {
    use std::fmt::Write as _;
    match jiff::Timestamp::from_second(seconds) {
        Ok(ts) => write!(out, "{ts}"),
        // Stored timestamps are checked on the way in; this is unreachable in practice.
        Err(_) => write!(out, "{seconds}"),
    }
}

/// Epoch milliseconds → epoch seconds, half-up, as SIF stores timestamps; `None` outside the
/// years -9999..=9999.
pub fn seconds_from_millis(millis: Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    let seconds = (millis / Decimal::ONE_THOUSAND)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()?;
    jiff::Timestamp::from_second(seconds).ok()?;
    Some(seconds)
}

/// Why a computed value cannot be stored as its output's declared type.
pub fn type_mismatch(kind: ValueType, found: &sifr_calc::Value) -> String {
    format!(
        "the output is declared {} but the formula gave the {} '{found}'",
        kind.name(),
        found.kind().name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> Fixed {
        Fixed::from_decimal(text.parse().unwrap())
    }

    #[test]
    fn stored_text_reads_back_exactly() {
        for text in [
            "0",
            "-12.5",
            "300",
            "0.00000001",
            "-0.12345678",
            "31531578092645.04854",
        ] {
            assert_eq!(
                Fixed::parse(text).map(|f| f.to_string()),
                Some(text.to_owned())
            );
        }
        for bad in [
            "",
            "-",
            ".5",
            "1.",
            "1e5",
            "0.123456789",
            "1,5",
            "+1",
            "--1",
        ] {
            assert_eq!(Fixed::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn numbers_are_stored_with_eight_places_half_up() {
        assert_eq!(fixed("1.5").to_string(), "1.5");
        assert_eq!(fixed("0.123456785").to_string(), "0.12345679");
        assert_eq!(fixed("0.123456784999").to_string(), "0.12345678");
        assert_eq!(fixed("-0.123456785").to_string(), "-0.12345679");
        assert_eq!(fixed("100").to_string(), "100");
        assert_eq!(fixed("0.000000004").to_string(), "0");
        assert_eq!(fixed("-12.3").to_string(), "-12.3");
        assert_eq!(
            fixed("79228162514264337593543950335").to_string(),
            "79228162514264337593543950335"
        );
        assert_eq!(
            Fixed::from_units(i128::MIN + 1).to_string(),
            "-1701411834604692317316873037158.84105727"
        );
    }

    #[test]
    fn truncation_to_sixteen_places_rounds_towards_negative_infinity_first() {
        // -0.00000000499999999999 truncates to -0.0000000050000000, which then rounds away.
        assert_eq!(fixed("-0.00000000499999999999").to_string(), "-0.00000001");
        assert_eq!(fixed("0.00000000499999999999").to_string(), "0");
    }

    #[test]
    fn means_round_half_up() {
        assert_eq!(fixed("10").mean(3).unwrap().to_string(), "3.33333333");
        assert_eq!(fixed("20").mean(3).unwrap().to_string(), "6.66666667");
        assert_eq!(fixed("-20").mean(3).unwrap().to_string(), "-6.66666667");
        assert_eq!(fixed("5").mean(0), None);
    }

    #[test]
    fn millis_become_seconds_half_up() {
        assert_eq!(seconds_from_millis("1500".parse().unwrap()), Some(2));
        assert_eq!(seconds_from_millis("1499".parse().unwrap()), Some(1));
        assert_eq!(seconds_from_millis("-1500".parse().unwrap()), Some(-2));
        assert_eq!(seconds_from_millis(Decimal::MAX), None);
    }
}
