//! The document model and its Java renderings.
//!
//! json-smart (as configured by Jayway's default `JsonSmartJsonProvider`) builds a tree of
//! `LinkedHashMap`, `JSONArray`, `String`, `Boolean`, `Integer`, `Long`, `BigInteger`, `Double`,
//! `BigDecimal` and `Float` (NaN only). The number class decides how a value prints, so the model
//! keeps it. Containers are reference counted because path results are references into the
//! document, exactly as in Java.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

use indexmap::IndexMap;

/// A JSON object with `LinkedHashMap` semantics: insertion order, a repeated key keeps its first
/// position and takes the last value.
pub(crate) type Map = IndexMap<Arc<str>, Value>;

#[derive(Clone, Debug)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    /// `java.lang.Integer`
    Int(i32),
    /// `java.lang.Long`
    Long(i64),
    /// `java.math.BigInteger`, canonical decimal text.
    BigInt(Arc<str>),
    /// `java.lang.Double`
    Double(f64),
    /// `java.math.BigDecimal`
    BigDec(Arc<BigDec>),
    /// `java.lang.Float` NaN, what json-smart makes of a bare `NaN`.
    FloatNaN,
    Str(Arc<str>),
    /// `net.minidev.json.JSONArray`
    Array(Arc<Vec<Value>>),
    /// `java.util.LinkedHashMap`
    Object(Arc<Map>),
    /// The key set that Jayway's `keys()` returns (`LinkedHashMap$LinkedKeySet`).
    KeySet(Arc<Vec<Arc<str>>>),
}

impl Value {
    pub(crate) fn str(text: &str) -> Self {
        Value::Str(Arc::from(text))
    }

    pub(crate) fn is_number(&self) -> bool {
        matches!(
            self,
            Value::Int(_)
                | Value::Long(_)
                | Value::BigInt(_)
                | Value::Double(_)
                | Value::BigDec(_)
                | Value::FloatNaN
        )
    }

    /// The Java class name, as Jayway quotes it in its messages.
    pub(crate) fn class_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "java.lang.Boolean",
            Value::Int(_) => "java.lang.Integer",
            Value::Long(_) => "java.lang.Long",
            Value::BigInt(_) => "java.math.BigInteger",
            Value::Double(_) => "java.lang.Double",
            Value::BigDec(_) => "java.math.BigDecimal",
            Value::FloatNaN => "java.lang.Float",
            Value::Str(_) => "java.lang.String",
            Value::Array(_) => "net.minidev.json.JSONArray",
            Value::Object(_) => "java.util.LinkedHashMap",
            Value::KeySet(_) => "java.util.LinkedHashMap$LinkedKeySet",
        }
    }

    /// `Number.doubleValue()`; `None` for non-numbers.
    pub(crate) fn double_value(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(f64::from(*i)),
            // Same rounding as Java's long-to-double conversion.
            Value::Long(l) => Some(*l as f64),
            Value::BigInt(text) => text.parse().ok(),
            Value::Double(d) => Some(*d),
            Value::BigDec(d) => Some(d.to_f64()),
            Value::FloatNaN => Some(f64::NAN),
            _ => None,
        }
    }

    /// `Number.intValue()`; `None` for non-numbers.
    pub(crate) fn int_value(&self) -> Option<i32> {
        match self {
            Value::Int(i) => Some(*i),
            // Java narrows a long to its low 32 bits.
            Value::Long(l) => Some(*l as i32),
            Value::BigInt(text) => BigDec::parse(text).map(|d| d.int_value()),
            // Java's double-to-int conversion saturates and maps NaN to 0, as `as` does.
            Value::Double(d) => Some(*d as i32),
            Value::BigDec(d) => Some(d.int_value()),
            Value::FloatNaN => Some(0),
            _ => None,
        }
    }

    /// `Number.toString()` for numbers; `None` otherwise.
    pub(crate) fn number_text(&self) -> Option<String> {
        match self {
            Value::Int(i) => Some(i.to_string()),
            Value::Long(l) => Some(l.to_string()),
            Value::BigInt(text) => Some(text.to_string()),
            Value::Double(d) => Some(java_double(*d)),
            Value::BigDec(d) => Some(d.to_java_string()),
            Value::FloatNaN => Some("NaN".to_string()),
            _ => None,
        }
    }

    /// `String.valueOf(value)`: the Java `toString()` of the element.
    pub(crate) fn java_string(&self) -> String {
        let mut out = String::new();
        self.write_java_string(&mut out);
        out
    }

    fn write_java_string(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Str(s) => out.push_str(s),
            Value::Array(_) => self.write_json(out),
            Value::Object(map) => {
                // AbstractMap.toString
                out.push('{');
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                    out.push('=');
                    value.write_java_string(out);
                }
                out.push('}');
            }
            Value::KeySet(keys) => {
                // AbstractCollection.toString
                out.push('[');
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                }
                out.push(']');
            }
            number => {
                if let Some(text) = number.number_text() {
                    out.push_str(&text);
                }
            }
        }
    }

    /// json-smart's `JSONValue.writeJSONString` with the default (`NO_COMPRESS`) style, which is
    /// what `JSONArray.toString()` produces.
    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Double(d) if d.is_infinite() => out.push_str("null"),
            Value::Str(s) => write_json_string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Value::KeySet(keys) => {
                out.push('[');
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(key, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(key, out);
                    out.push(':');
                    value.write_json(out);
                }
                out.push('}');
            }
            number => {
                if let Some(text) = number.number_text() {
                    out.push_str(&text);
                }
            }
        }
    }

    /// `Object.equals` between two document values (`List.equals`, `Map.equals`, and the
    /// per-class equality of the boxed scalars: `Integer(1)` differs from `Long(1)`).
    pub(crate) fn java_equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Long(a), Value::Long(b)) => a == b,
            (Value::BigInt(a), Value::BigInt(b)) => a == b,
            // Double.equals compares bit patterns: NaN equals NaN, 0.0 differs from -0.0.
            (Value::Double(a), Value::Double(b)) => a.to_bits() == b.to_bits(),
            (Value::BigDec(a), Value::BigDec(b)) => a == b,
            (Value::FloatNaN, Value::FloatNaN) => true,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.java_equals(y))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(key, value)| {
                        b.get(key.as_ref())
                            .is_some_and(|other| value.java_equals(other))
                    })
            }
            (Value::KeySet(a), Value::KeySet(b)) => {
                a.len() == b.len() && a.iter().all(|key| b.contains(key))
            }
            _ => false,
        }
    }
}

/// json-smart's `Escape4Web` string protection, inside double quotes.
fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '/' => out.push_str("\\/"),
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2000}'..='\u{20ff}' => {
                let _ = write!(out, "\\u{:04X}", u32::from(ch));
            }
            _ => out.push(ch),
        }
    }
    out.push('"');
}

/// `Double.toString` as Java 17 (SIF's runtime) prints it.
///
/// Java 17 does not print the shortest decimal that reads back as the same double: integral
/// values up to 2^63 print their exact integer digits (`5.8715605414862872E16`), and the general
/// digit loop stops on a symmetric half-ULP test whose last digit sometimes differs from the
/// correctly rounded one (`7.278301533628012E13`). Those digits decide what GET_VALUE returns, so
/// the digit generation below follows Java 17's algorithm, including its three arithmetic
/// precisions (32-bit, 64-bit and arbitrary) which differ in one boundary comparison.
pub(crate) fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, exponent) = java_digits(value.abs());
    format!("{sign}{}", layout(&digits, exponent))
}

/// Places the decimal point: plain notation for 10^-3 <= v < 10^7, else `d.dddE±n`. `exponent`
/// is the position of the point relative to the digits (value = 0.d1d2... * 10^exponent).
fn layout(digits: &[u8], exponent: i32) -> String {
    let text = |d: &[u8]| String::from_utf8_lossy(d).into_owned();
    if exponent > 0 && exponent < 8 {
        let int_len = (exponent as usize).min(digits.len());
        let integer = text(&digits[..int_len]);
        if int_len < exponent as usize {
            let zeros = "0".repeat(exponent as usize - int_len);
            format!("{integer}{zeros}.0")
        } else if int_len < digits.len() {
            format!("{integer}.{}", text(&digits[int_len..]))
        } else {
            format!("{integer}.0")
        }
    } else if exponent <= 0 && exponent > -3 {
        format!("0.{}{}", "0".repeat((-exponent) as usize), text(digits))
    } else {
        let rest = if digits.len() > 1 {
            text(&digits[1..])
        } else {
            "0".to_string()
        };
        format!("{}.{rest}E{}", text(&digits[..1]), exponent - 1)
    }
}

const SIGNIFICAND_MASK: u64 = (1 << 52) - 1;

/// ceil(log2(5^i)) for small i, as Java's table has it.
const FIVE_POW_BITS: [i32; 27] = [
    0, 3, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28, 31, 33, 35, 38, 40, 42, 45, 47, 49, 52, 54, 56,
    59, 61,
];

fn five_pow_bits(i: i32) -> i32 {
    usize::try_from(i)
        .ok()
        .and_then(|i| FIVE_POW_BITS.get(i).copied())
        .unwrap_or(i * 3)
}

/// Decimal digits and point position of a positive finite double, per Java 17.
fn java_digits(value: f64) -> (Vec<u8>, i32) {
    let bits = value.to_bits();
    let mut fraction = bits & SIGNIFICAND_MASK;
    let mut bin_exp = ((bits >> 52) & 0x7ff) as i32;
    let significant_bits;
    if bin_exp == 0 {
        // Subnormal: normalise so that bit 52 is set.
        let leading = fraction.leading_zeros() as i32;
        let shift = leading - 11;
        fraction <<= shift;
        bin_exp = 1 - shift;
        significant_bits = 64 - leading;
    } else {
        fraction |= 1 << 52;
        significant_bits = 53;
    }
    bin_exp -= 1023;

    let tail_zeros = fraction.trailing_zeros() as i32;
    let fraction_bits = 53 - tail_zeros;
    let tiny_bits = (fraction_bits - bin_exp - 1).max(0);
    if (-21..=62).contains(&bin_exp) && tiny_bits == 0 {
        // An integer below 2^63: its exact digits, less the ones finer than the double's
        // precision.
        let insignificant = if bin_exp > significant_bits {
            insignificant_digits(bin_exp - significant_bits - 1)
        } else {
            0
        };
        let integer = if bin_exp >= 52 {
            fraction << (bin_exp - 52)
        } else {
            fraction >> (52 - bin_exp)
        };
        return integer_digits(integer, insignificant);
    }

    let mut dec_exp = estimate_decimal_exponent(fraction, bin_exp);
    let b5 = (-dec_exp).max(0);
    let mut b2 = b5 + tiny_bits + bin_exp;
    let s5 = dec_exp.max(0);
    let mut s2 = s5 + tiny_bits;
    let m5 = b5;
    let mut m2 = b2 - significant_bits;
    let fraction = fraction >> tail_zeros;
    b2 -= fraction_bits - 1;
    let common = b2.min(s2);
    b2 -= common;
    s2 -= common;
    m2 -= common;
    if fraction_bits == 1 {
        // Below a power of two the next double is only half as far away.
        m2 -= 1;
    }
    if m2 < 0 {
        b2 -= m2;
        s2 -= m2;
        m2 = 0;
    }
    let b_bits = fraction_bits + b2 + five_pow_bits(b5);
    let ten_s_bits = s2 + 1 + five_pow_bits(s5 + 1);
    let scales = Scales {
        b5,
        b2,
        s5,
        s2,
        m5,
        m2,
    };
    let developed = if b_bits < 32 && ten_s_bits < 32 {
        develop::<i32>(fraction, &scales, &mut dec_exp)
    } else if b_bits < 64 && ten_s_bits < 64 {
        develop::<i64>(fraction, &scales, &mut dec_exp)
    } else {
        develop_big(fraction, &scales, &mut dec_exp)
    };
    let Developed {
        mut digits,
        low,
        high,
        low_digit_difference,
    } = developed;
    let mut exponent = dec_exp + 1;
    let round_up = high
        && (!low
            || low_digit_difference > 0
            || (low_digit_difference == 0 && digits.last().is_some_and(|d| d % 2 == 1)));
    if round_up {
        increment_last_digit(&mut digits, &mut exponent);
    }
    if digits.is_empty() {
        // Java's loop always yields a digit for a positive value; this keeps the layout total.
        digits.push(b'0');
    }
    (digits, exponent)
}

/// Powers of 5 and 2 in the numerator B (the value), the denominator S and the half-ULP M.
struct Scales {
    b5: i32,
    b2: i32,
    s5: i32,
    s2: i32,
    m5: i32,
    m2: i32,
}

struct Developed {
    digits: Vec<u8>,
    low: bool,
    high: bool,
    /// Sign of 2B - 10S when both stopping tests hold.
    low_digit_difference: i64,
}

/// Java's truncated log10(2): the exact constant would change some exponent estimates.
#[allow(clippy::approx_constant)]
const JAVA_LOG10_2: f64 = 0.301029995663981;

/// floor(log10(value)) estimated as Java does (it may be one too high).
fn estimate_decimal_exponent(fraction: u64, bin_exp: i32) -> i32 {
    let normalised = f64::from_bits(0x3ff0_0000_0000_0000 | (fraction & SIGNIFICAND_MASK));
    let estimate =
        (normalised - 1.5) * 0.289529654 + 0.176091259 + f64::from(bin_exp) * JAVA_LOG10_2;
    estimate.floor() as i32
}

/// Java's table of decimal digits in 2^p beyond the precision of a double.
fn insignificant_digits(p2: i32) -> u32 {
    const TABLE: [u32; 64] = [
        0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 8,
        9, 9, 9, 9, 10, 10, 10, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15, 15,
        16, 16, 16, 17, 17, 17, 18, 18, 18, 19,
    ];
    if p2 > 1 {
        usize::try_from(p2)
            .ok()
            .and_then(|p| TABLE.get(p).copied())
            .unwrap_or(0)
    } else {
        0
    }
}

/// Digits of an integer after dropping `insignificant` low digits (rounding half up), with
/// trailing zeros removed.
fn integer_digits(mut integer: u64, insignificant: u32) -> (Vec<u8>, i32) {
    let mut exponent = 0;
    if insignificant != 0 {
        let pow10 = 10u64.pow(insignificant);
        let residue = integer % pow10;
        integer /= pow10;
        exponent += insignificant as i32;
        if residue >= pow10 / 2 {
            integer += 1;
        }
    }
    let text = integer.to_string();
    exponent += text.len() as i32;
    let digits = text.trim_end_matches('0').as_bytes().to_vec();
    (digits, exponent)
}

fn increment_last_digit(digits: &mut [u8], exponent: &mut i32) {
    let mut i = digits.len();
    while i > 0 {
        i -= 1;
        if digits[i] == b'9' && i > 0 {
            digits[i] = b'0';
            continue;
        }
        if digits[i] == b'9' {
            // Carry out of the first digit: 99.. becomes 1 with a larger exponent.
            digits[i] = b'1';
            *exponent += 1;
        } else {
            digits[i] += 1;
        }
        return;
    }
}

/// The fixed-width integer types Java's digit loop runs in, with Java's wrapping arithmetic.
trait JavaInt: Copy + PartialOrd {
    const ZERO: Self;
    fn from_u64(v: u64) -> Self;
    fn five_pow(n: i32) -> Self;
    fn mul(self, other: Self) -> Self;
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    fn div(self, other: Self) -> Self;
    fn rem(self, other: Self) -> Self;
    fn shl(self, n: i32) -> Self;
    fn ten() -> Self;
    fn digit(self) -> u8;
    fn to_i64(self) -> i64;
}

macro_rules! java_int {
    ($t:ty) => {
        impl JavaInt for $t {
            const ZERO: Self = 0;
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            fn five_pow(n: i32) -> Self {
                (5 as $t).wrapping_pow(n.max(0) as u32)
            }
            fn mul(self, other: Self) -> Self {
                self.wrapping_mul(other)
            }
            fn add(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            fn sub(self, other: Self) -> Self {
                self.wrapping_sub(other)
            }
            fn div(self, other: Self) -> Self {
                self.checked_div(other).unwrap_or(0)
            }
            fn rem(self, other: Self) -> Self {
                self.checked_rem(other).unwrap_or(0)
            }
            fn shl(self, n: i32) -> Self {
                self.wrapping_shl(n as u32)
            }
            fn ten() -> Self {
                10
            }
            fn digit(self) -> u8 {
                b'0'.wrapping_add(self as u8)
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    };
}

java_int!(i32);
java_int!(i64);

/// The digit loop in 32- or 64-bit arithmetic (`high` uses a strict comparison here).
fn develop<T: JavaInt>(fraction: u64, sc: &Scales, dec_exp: &mut i32) -> Developed {
    let mut b = T::from_u64(fraction).mul(T::five_pow(sc.b5)).shl(sc.b2);
    let s = T::five_pow(sc.s5).shl(sc.s2);
    let mut m = T::five_pow(sc.m5).shl(sc.m2);
    let tens = s.mul(T::ten());
    let mut digits = Vec::new();
    let mut q = b.div(s);
    b = T::ten().mul(b.rem(s));
    m = m.mul(T::ten());
    let mut low = b < m;
    let mut high = b.add(m) > tens;
    if q.to_i64() == 0 && !high {
        // The exponent estimate was one too high.
        *dec_exp -= 1;
    } else {
        digits.push(q.digit());
    }
    if *dec_exp < -3 || *dec_exp >= 8 {
        // Scientific notation always shows a digit after the point.
        low = false;
        high = false;
    }
    while !low && !high {
        q = b.div(s);
        b = T::ten().mul(b.rem(s));
        m = m.mul(T::ten());
        if m > T::ZERO {
            low = b < m;
            high = b.add(m) > tens;
        } else {
            // m overflowed: both tests hold.
            low = true;
            high = true;
        }
        digits.push(q.digit());
    }
    Developed {
        digits,
        low,
        high,
        low_digit_difference: b.shl(1).sub(tens).to_i64(),
    }
}

/// The digit loop in arbitrary precision (`high` includes equality here).
fn develop_big(fraction: u64, sc: &Scales, dec_exp: &mut i32) -> Developed {
    let s = BigNat::pow52(sc.s5, sc.s2);
    let mut b = BigNat::from_u64(fraction).times_pow52(sc.b5, sc.b2);
    let mut m = BigNat::pow52(sc.m5 + 1, sc.m2 + 1);
    let ten_s = BigNat::pow52(sc.s5 + 1, sc.s2 + 1);
    let mut digits = Vec::new();
    let mut q = b.quotient_digit(&s);
    let mut low = b < m;
    let mut high = b.sum(&m) >= ten_s;
    if q == 0 && !high {
        *dec_exp -= 1;
    } else {
        digits.push(b'0' + q);
    }
    if *dec_exp < -3 || *dec_exp >= 8 {
        low = false;
        high = false;
    }
    while !low && !high {
        q = b.quotient_digit(&s);
        m = m.times_pow52(1, 1);
        low = b < m;
        high = b.sum(&m) >= ten_s;
        digits.push(b'0' + q);
    }
    let low_digit_difference = if high && low {
        match b.times_pow52(0, 1).cmp(&ten_s) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }
    } else {
        0
    };
    Developed {
        digits,
        low,
        high,
        low_digit_difference,
    }
}

/// A natural number in base 2^32 (least significant limb first, no trailing zero limbs).
#[derive(Clone, PartialEq, Eq)]
struct BigNat(Vec<u32>);

impl BigNat {
    fn from_u64(v: u64) -> Self {
        let mut n = BigNat(vec![v as u32, (v >> 32) as u32]);
        n.trim();
        n
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn pow52(p5: i32, p2: i32) -> Self {
        BigNat::from_u64(1).times_pow52(p5, p2)
    }

    /// self * 5^p5 * 2^p2
    fn times_pow52(&self, p5: i32, p2: i32) -> Self {
        let mut out = self.clone();
        for _ in 0..p5.max(0) {
            out.mul_small(5);
        }
        out.shift_left(p2.max(0) as u32);
        out
    }

    fn mul_small(&mut self, factor: u32) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn shift_left(&mut self, bits: u32) {
        let (words, bits) = ((bits / 32) as usize, bits % 32);
        if bits != 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let shifted = (u64::from(*limb) << bits) | u64::from(carry);
                *limb = shifted as u32;
                carry = (shifted >> 32) as u32;
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        if !self.0.is_empty() {
            self.0.splice(0..0, std::iter::repeat_n(0, words));
        }
    }

    fn sum(&self, other: &BigNat) -> BigNat {
        let len = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(len + 1);
        let mut carry = 0u64;
        for i in 0..len {
            let a = u64::from(self.0.get(i).copied().unwrap_or(0));
            let b = u64::from(other.0.get(i).copied().unwrap_or(0));
            let total = a + b + carry;
            out.push(total as u32);
            carry = total >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        BigNat(out)
    }

    /// self - other, for self >= other.
    fn subtract(&mut self, other: &BigNat) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let difference =
                i64::from(self.0[i]) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(difference < 0);
            self.0[i] = difference.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }

    /// Returns self / divisor (a single digit) and replaces self by 10 * (self % divisor).
    fn quotient_digit(&mut self, divisor: &BigNat) -> u8 {
        let mut q = 0;
        while *self >= *divisor && q < 9 {
            self.subtract(divisor);
            q += 1;
        }
        self.mul_small(10);
        q
    }
}

impl PartialOrd for BigNat {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BigNat {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

/// A `java.math.BigDecimal`: `unscaled × 10^-scale`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BigDec {
    negative: bool,
    /// Decimal digits of the unscaled value without leading zeros ("0" for zero).
    digits: String,
    scale: i32,
}

impl BigDec {
    /// `new BigDecimal(String)`; `None` where Java throws `NumberFormatException`.
    pub(crate) fn parse(text: &str) -> Option<BigDec> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if let Some(&sign) = bytes.first()
            && (sign == b'-' || sign == b'+')
        {
            negative = sign == b'-';
            i = 1;
        }
        let mut digits = String::new();
        let mut fraction_len: i64 = 0;
        let mut seen_point = false;
        let mut seen_digit = false;
        while i < bytes.len() {
            match bytes[i] {
                b'0'..=b'9' => {
                    digits.push(char::from(bytes[i]));
                    seen_digit = true;
                    if seen_point {
                        fraction_len += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                b'e' | b'E' => break,
                _ => return None,
            }
            i += 1;
        }
        if !seen_digit {
            return None;
        }
        let mut exponent: i64 = 0;
        if i < bytes.len() {
            let exp_text = &text[i + 1..];
            let unsigned = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            exponent = exp_text.parse::<i32>().ok()?.into();
        }
        let scale = i32::try_from(fraction_len - exponent).ok()?;
        let trimmed = digits.trim_start_matches('0');
        let digits = if trimmed.is_empty() { "0" } else { trimmed }.to_string();
        Some(BigDec {
            negative: negative && digits != "0",
            digits,
            scale,
        })
    }

    fn is_zero(&self) -> bool {
        self.digits == "0"
    }

    /// `BigDecimal.toString()` (scientific notation when the exponent is small or the scale
    /// negative).
    pub(crate) fn to_java_string(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        let coefficient = &self.digits;
        let scale = i64::from(self.scale);
        let adjusted = -scale + (coefficient.len() as i64 - 1);
        if scale == 0 {
            return format!("{sign}{coefficient}");
        }
        if scale > 0 && adjusted >= -6 {
            let len = coefficient.len() as i64;
            let body = if len > scale {
                let point = (len - scale) as usize;
                format!("{}.{}", &coefficient[..point], &coefficient[point..])
            } else {
                format!("0.{}{}", "0".repeat((scale - len) as usize), coefficient)
            };
            return format!("{sign}{body}");
        }
        let mut out = format!("{sign}{}", &coefficient[..1]);
        if coefficient.len() > 1 {
            out.push('.');
            out.push_str(&coefficient[1..]);
        }
        if adjusted != 0 {
            out.push('E');
            if adjusted > 0 {
                out.push('+');
            }
            out.push_str(&adjusted.to_string());
        }
        out
    }

    /// `BigDecimal.compareTo`: numeric order, scale ignored.
    pub(crate) fn compare(&self, other: &BigDec) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => {
                return if other.negative {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            (false, true) => {
                return if self.negative {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            (false, false) => {}
        }
        if self.negative != other.negative {
            return if self.negative {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let magnitude = self.compare_magnitude(other);
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }

    fn compare_magnitude(&self, other: &BigDec) -> Ordering {
        let order = |d: &BigDec| d.digits.len() as i64 - i64::from(d.scale);
        order(self).cmp(&order(other)).then_with(|| {
            let a = self.digits.trim_end_matches('0').as_bytes();
            let b = other.digits.trim_end_matches('0').as_bytes();
            a.cmp(b)
        })
    }

    /// `BigDecimal.intValue()`: the integer part, truncated to its low 32 bits.
    pub(crate) fn int_value(&self) -> i32 {
        let scale = i64::from(self.scale);
        let len = self.digits.len() as i64;
        let integer_digits = if scale >= len {
            ""
        } else if scale > 0 {
            &self.digits[..(len - scale) as usize]
        } else {
            &self.digits
        };
        let mut low: u32 = 0;
        for b in integer_digits.bytes() {
            low = low.wrapping_mul(10).wrapping_add(u32::from(b - b'0'));
        }
        // Appended zeros: after 32 of them the low 32 bits are all zero (2^32 divides 10^32).
        if scale < 0 {
            for _ in 0..(-scale).min(32) {
                low = low.wrapping_mul(10);
            }
        }
        if self.negative {
            low = low.wrapping_neg();
        }
        low as i32
    }

    /// `BigDecimal.doubleValue()` (correctly rounded).
    pub(crate) fn to_f64(&self) -> f64 {
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}e{}", self.digits, -i64::from(self.scale))
            .parse()
            .unwrap_or(f64::NAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java_17() {
        let cases = [
            (1.5, "1.5"),
            (1000.0, "1000.0"),
            (1e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (0.001, "0.001"),
            (0.000_1, "1.0E-4"),
            (1.234e-5, "1.234E-5"),
            (5.304733389, "5.304733389"),
            (0.143_000_000_000_000_02, "0.14300000000000002"),
            (1e23, "9.999999999999999E22"),
            (2e23, "1.9999999999999998E23"),
            (1e22, "1.0E22"),
            (-2.5e-10, "-2.5E-10"),
            (123_456_789.0, "1.23456789E8"),
            (f64::MIN_POSITIVE * f64::EPSILON, "4.9E-324"),
            (f64::MAX, "1.7976931348623157E308"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (f64::INFINITY, "Infinity"),
            (f64::NAN, "NaN"),
            // Java 17 prints integral values below 2^63 with all their digits...
            (58_715_605_414_862_872.0, "5.8715605414862872E16"),
            (1_958_764_207_423_156_019.0, "1.95876420742315597E18"),
            // ...and its digit loop can stop one below the correctly rounded last digit.
            (7.278301533628013e13, "7.278301533628012E13"),
            (-8.339840063750243e14, "-8.339840063750242E14"),
        ];
        for (value, expected) in cases {
            assert_eq!(java_double(value), expected, "{value:e}");
        }
    }

    #[test]
    fn big_decimals_print_like_java() {
        let cases = [
            ("1.50", "1.50"),
            ("12345678901234567890.5", "12345678901234567890.5"),
            ("0.0000001", "1E-7"),
            ("0.000001", "0.000001"),
            ("1E+3", "1E+3"),
            ("1.5e3", "1.5E+3"),
            ("123e-2", "1.23"),
            ("-0.00", "0.00"),
            ("0E-10", "0E-10"),
            ("-1.2345678901234567890e-20", "-1.2345678901234567890E-20"),
            (".5", "0.5"),
            ("5.", "5"),
            ("+7", "7"),
        ];
        for (text, expected) in cases {
            let parsed = BigDec::parse(text).map(|d| d.to_java_string());
            assert_eq!(parsed.as_deref(), Some(expected), "{text}");
        }
        for bad in [
            "",
            "-",
            ".",
            "1e",
            "1e+",
            "1.2.3",
            "abc",
            "1e99999999999",
            "1 ",
        ] {
            assert_eq!(BigDec::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn big_decimals_compare_numerically() {
        let d = |t: &str| BigDec::parse(t).expect("valid decimal");
        assert_eq!(d("1.0").compare(&d("1")), Ordering::Equal);
        assert_eq!(d("0.00").compare(&d("-0")), Ordering::Equal);
        assert_eq!(d("-2").compare(&d("-10")), Ordering::Greater);
        assert_eq!(d("1E+3").compare(&d("999.99")), Ordering::Greater);
        assert_eq!(d("0.5").compare(&d("0.50001")), Ordering::Less);
        assert_eq!(d("-0.1").compare(&d("0")), Ordering::Less);
    }

    #[test]
    fn big_decimal_int_value_truncates_to_low_bits() {
        let d = |t: &str| BigDec::parse(t).expect("valid decimal");
        assert_eq!(d("2.9").int_value(), 2);
        assert_eq!(d("-2.9").int_value(), -2);
        assert_eq!(d("4294967297").int_value(), 1);
        assert_eq!(d("1E+40").int_value(), 0);
        assert_eq!(d("0.001").int_value(), 0);
    }

    #[test]
    fn maps_and_arrays_render_like_java() {
        let mut inner = Map::new();
        inner.insert(Arc::from("u"), Value::str("a/b"));
        let array = Value::Array(Arc::new(vec![
            Value::Int(1),
            Value::str("x\"y"),
            Value::Null,
            Value::Double(f64::INFINITY),
            Value::Object(Arc::new(inner.clone())),
        ]));
        assert_eq!(array.java_string(), r#"[1,"x\"y",null,null,{"u":"a\/b"}]"#);
        let mut outer = Map::new();
        outer.insert(Arc::from("a"), Value::Double(2.0));
        outer.insert(Arc::from("b"), array);
        outer.insert(Arc::from("c"), Value::Object(Arc::new(inner)));
        assert_eq!(
            Value::Object(Arc::new(outer)).java_string(),
            r#"{a=2.0, b=[1,"x\"y",null,null,{"u":"a\/b"}], c={u=a/b}}"#
        );
        let keys = Value::KeySet(Arc::new(vec![Arc::from("a"), Arc::from("b")]));
        assert_eq!(keys.java_string(), "[a, b]");
    }
}
