//! json-smart's `JSONParserString` in `MODE_PERMISSIVE`, the mode Jayway's default provider uses.
//!
//! Permissive mode accepts far more than RFC 8259 and the accepted extras change results, so the
//! parser follows json-smart step by step rather than using a strict JSON library:
//! * strings in single or double quotes, and unquoted strings and keys (`{a: hello world}` is
//!   `{a=hello world}`); unquoted text is trimmed of Java whitespace;
//! * `NaN` (a Float), leading zeros (`007` is 7), a bare `-` (the integer 0);
//! * useless commas (`[1,,2,]` is `[1,2]`), any data after the first value (ignored);
//! * raw control characters inside strings (kept, or dropped when the string also contains a
//!   backslash escape), unknown escapes (dropped), `\xHH` escapes;
//! * integers become Integer, Long or BigInteger; decimals become Double, or BigDecimal when the
//!   literal is longer than 18 characters;
//! * nesting deeper than 400 arrays/objects is rejected, as json-smart does since 2.4.9.
//!
//! Positions in messages count UTF-16 code units, like Java string indexes. Lone surrogates
//! produced by `\u` escapes become U+FFFD in the resulting Rust strings.

use std::sync::Arc;

use crate::value::{BigDec, Map, Value};

/// End-of-input marker; a literal U+001A in the text behaves the same, as in json-smart.
const EOI: u16 = 0x1A;
const MAX_DEPTH: u32 = 400;

/// Why a text is not a json-smart document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseFailure {
    /// A `ParseException`; the text is json-smart's message.
    Syntax(String),
    /// A `NumberFormatException` escaping json-smart (an over-long integer mixed with control
    /// characters); the text is the Java message.
    Number(String),
}

#[derive(Clone, Copy)]
enum Stop {
    /// top-level value: only the end of input
    Top,
    /// object key: `:`
    Key,
    /// object value: `,` `}`
    ObjectValue,
    /// array element: `,` `]`
    ArrayElement,
}

impl Stop {
    fn stops_at(self, c: u16) -> bool {
        if c == EOI {
            return true;
        }
        let Ok(c) = u8::try_from(c) else {
            return false;
        };
        match self {
            Stop::Top => false,
            Stop::Key => c == b':',
            Stop::ObjectValue => c == b',' || c == b'}',
            Stop::ArrayElement => c == b',' || c == b']',
        }
    }

    /// The `c < MAX_STOP && !stop[c]` test json-smart uses after a number: characters from `~`
    /// upwards never turn a number into text.
    fn continues_number_as_text(self, c: u16) -> bool {
        c < 126 && !self.stops_at(c)
    }
}

/// Parses `text` the way `new JSONParser(MODE_PERMISSIVE).parse(text, DEFAULT_ORDERED)` does.
pub(crate) fn parse(text: &str) -> Result<Value, ParseFailure> {
    let mut parser = Parser {
        input: text.encode_utf16().collect(),
        pos: -1,
        c: EOI,
        sb: Vec::new(),
        depth: 0,
    };
    parser.read();
    parser.read_main(Stop::Top)
}

struct Parser {
    input: Vec<u16>,
    pos: i64,
    c: u16,
    sb: Vec<u16>,
    depth: u32,
}

fn syntax<T>(message: String) -> Result<T, ParseFailure> {
    Err(ParseFailure::Syntax(message))
}

fn unexpected_char<T>(pos: i64, c: u16) -> Result<T, ParseFailure> {
    syntax(format!(
        "Unexpected character ({}) at position {pos}.",
        char_text(c)
    ))
}

fn unexpected_token<T>(pos: i64, token: &str) -> Result<T, ParseFailure> {
    syntax(format!("Unexpected token {token} at position {pos}."))
}

fn unexpected_eof<T>(pos: i64, what: &str) -> Result<T, ParseFailure> {
    syntax(format!("Unexpected End Of File position {pos}: {what}"))
}

fn char_text(c: u16) -> String {
    String::from_utf16_lossy(&[c])
}

fn text(units: &[u16]) -> String {
    String::from_utf16_lossy(units)
}

/// `Character.isWhitespace` for a UTF-16 unit.
fn is_java_whitespace(c: u16) -> bool {
    matches!(
        c,
        0x09..=0x0D
            | 0x1C..=0x20
            | 0x1680
            | 0x2000..=0x2006
            | 0x2008..=0x200A
            | 0x2028
            | 0x2029
            | 0x205F
            | 0x3000
    )
}

impl Parser {
    fn len(&self) -> i64 {
        self.input.len() as i64
    }

    fn read(&mut self) {
        self.pos += 1;
        self.c = usize::try_from(self.pos)
            .ok()
            .and_then(|p| self.input.get(p).copied())
            .unwrap_or(EOI);
    }

    /// A read where the end of input is an error (the character after a key's `:`).
    fn read_no_end(&mut self) -> Result<(), ParseFailure> {
        self.read();
        if self.pos >= self.len() {
            return unexpected_eof(self.pos - 1, "EOF");
        }
        Ok(())
    }

    fn units(&self, start: i64, stop: i64) -> &[u16] {
        let clamp = |p: i64| p.clamp(0, self.len()) as usize;
        let (start, stop) = (clamp(start), clamp(stop));
        &self.input[start..stop.max(start)]
    }

    /// `extractStringTrim`: Java whitespace is trimmed, but a single character is always kept.
    fn extract_trimmed(&self, mut start: i64, mut stop: i64) -> Vec<u16> {
        let at = |p: i64| self.units(p, p + 1).first().copied().unwrap_or(0);
        while start < stop - 1 && is_java_whitespace(at(start)) {
            start += 1;
        }
        while stop - 1 > start && is_java_whitespace(at(stop - 1)) {
            stop -= 1;
        }
        self.units(start, stop).to_vec()
    }

    fn skip_space(&mut self) {
        while !(self.c > u16::from(b' ') || self.c == EOI) {
            self.read();
        }
    }

    fn skip_digits(&mut self) {
        while is_digit(self.c) {
            self.read();
        }
    }

    fn skip_unquoted(&mut self, stop: Stop) {
        while !stop.stops_at(self.c) {
            self.read();
        }
    }

    fn read_unquoted(&mut self, stop: Stop) -> Vec<u16> {
        let start = self.pos;
        self.skip_unquoted(stop);
        self.extract_trimmed(start, self.pos)
    }

    /// A value; at the end of input it is the empty string (json-smart reads it as unquoted text).
    fn read_main(&mut self, stop: Stop) -> Result<Value, ParseFailure> {
        loop {
            match self.c {
                0x20 | 0x0D | 0x0A | 0x09 => self.read(),
                0x3A | 0x7D | 0x5D => return unexpected_char(self.pos, self.c),
                0x7B => return self.read_object(),
                0x5B => return self.read_array(),
                0x22 | 0x27 => return Ok(Value::str(&text(&self.read_string()?))),
                0x30..=0x39 | 0x2D => return self.read_number(stop),
                _ => return Ok(self.read_word(stop)),
            }
        }
    }

    /// Unquoted text, recognising the `null`, `true`, `false` and `NaN` keywords.
    fn read_word(&mut self, stop: Stop) -> Value {
        let word = text(&self.read_unquoted(stop));
        match word.as_str() {
            "null" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "NaN" => Value::FloatNaN,
            _ => Value::str(&word),
        }
    }

    fn enter(&mut self) -> Result<(), ParseFailure> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return syntax(format!(
                "Malicious payload, having non natural depths, parsing stoped on {} at position {}.",
                char_text(self.c),
                self.pos
            ));
        }
        Ok(())
    }

    fn read_array(&mut self) -> Result<Value, ParseFailure> {
        self.enter()?;
        let mut items = Vec::new();
        self.read();
        loop {
            match self.c {
                0x20 | 0x0D | 0x0A | 0x09 | 0x2C => self.read(),
                0x5D => {
                    self.depth -= 1;
                    self.read();
                    return Ok(Value::Array(Arc::new(items)));
                }
                0x3A | 0x7D => return unexpected_char(self.pos, self.c),
                EOI => return unexpected_eof(self.pos - 1, "EOF"),
                _ => items.push(self.read_main(Stop::ArrayElement)?),
            }
        }
    }

    fn read_object(&mut self) -> Result<Value, ParseFailure> {
        self.enter()?;
        let mut map = Map::new();
        loop {
            self.read();
            match self.c {
                0x20 | 0x0D | 0x09 | 0x0A | 0x2C => {}
                0x3A | 0x5D | 0x5B | 0x7B => return unexpected_char(self.pos, self.c),
                0x7D => {
                    self.depth -= 1;
                    self.read();
                    return Ok(Value::Object(Arc::new(map)));
                }
                _ => {
                    let key = if self.c == 0x22 || self.c == 0x27 {
                        self.read_string()?
                    } else {
                        self.read_unquoted(Stop::Key)
                    };
                    self.skip_space();
                    if self.c != 0x3A {
                        if self.c == EOI {
                            return unexpected_eof(self.pos - 1, "null");
                        }
                        return unexpected_char(self.pos - 1, self.c);
                    }
                    self.read_no_end()?;
                    let value = self.read_main(Stop::ObjectValue)?;
                    map.insert(Arc::from(text(&key)), value);
                    self.skip_space();
                    match self.c {
                        0x7D => {
                            self.depth -= 1;
                            self.read();
                            return Ok(Value::Object(Arc::new(map)));
                        }
                        EOI => return unexpected_eof(self.pos - 1, "null"),
                        0x2C => {}
                        other => return unexpected_token(self.pos - 1, &char_text(other)),
                    }
                }
            }
        }
    }

    /// A quoted string; the quote character is current.
    fn read_string(&mut self) -> Result<Vec<u16>, ParseFailure> {
        let quote = self.c;
        let start = self.pos + 1;
        let close = self
            .input
            .iter()
            .enumerate()
            .skip(start.max(0) as usize)
            .find(|(_, unit)| **unit == quote)
            .map(|(i, _)| i as i64);
        let Some(close) = close else {
            return unexpected_eof(self.len(), "null");
        };
        let raw = self.units(start, close).to_vec();
        if !raw.contains(&u16::from(b'\\')) {
            // The fast path keeps raw control characters (IGNORE_CONTROL_CHAR skips the check).
            self.pos = close;
            self.read();
            return Ok(raw);
        }
        self.sb.clear();
        self.read_escaped_string(quote)
    }

    /// `readString2`: character by character, decoding escapes and dropping control characters.
    fn read_escaped_string(&mut self, quote: u16) -> Result<Vec<u16>, ParseFailure> {
        loop {
            self.read();
            match self.c {
                EOI => return unexpected_eof(self.pos - 1, "null"),
                0x22 | 0x27 if self.c == quote => {
                    self.read();
                    return Ok(std::mem::take(&mut self.sb));
                }
                0x5C => {
                    self.read();
                    let decoded = match self.c {
                        0x74 => Some(0x09),
                        0x6E => Some(0x0A),
                        0x72 => Some(0x0D),
                        0x66 => Some(0x0C),
                        0x62 => Some(0x08),
                        0x5C | 0x2F | 0x27 | 0x22 => Some(self.c),
                        0x75 => Some(self.read_hex(4)?),
                        0x78 => Some(self.read_hex(2)?),
                        _ => None,
                    };
                    self.sb.extend(decoded);
                }
                0x00..=0x1F | 0x7F => {}
                other => self.sb.push(other),
            }
        }
    }

    fn read_hex(&mut self, count: usize) -> Result<u16, ParseFailure> {
        let mut value: u16 = 0;
        for _ in 0..count {
            self.read();
            let digit = char::from_u32(u32::from(self.c)).and_then(|c| c.to_digit(16));
            match digit {
                Some(d) => value = value.wrapping_mul(16).wrapping_add(d as u16),
                None if self.c == EOI => return unexpected_eof(self.pos, "EOF"),
                None => {
                    return syntax(format!(
                        "Unexpected unicode escape sequence {} at position {}.",
                        char_text(self.c),
                        self.pos
                    ));
                }
            }
        }
        Ok(value)
    }

    fn read_number(&mut self, stop: Stop) -> Result<Value, ParseFailure> {
        let start = self.pos;
        self.read();
        self.skip_digits();
        let is_float = matches!(self.c, 0x2E | 0x45 | 0x65);
        if is_float && self.c == 0x2E {
            self.read();
            self.skip_digits();
        }
        if is_float && (self.c == 0x45 || self.c == 0x65) {
            self.read();
            if !(self.c == 0x2B || self.c == 0x2D || is_digit(self.c)) {
                // `1e` followed by anything else is text.
                self.skip_unquoted(stop);
                return Ok(Value::str(&text(&self.extract_trimmed(start, self.pos))));
            }
            self.read();
            self.skip_digits();
        }
        self.skip_space();
        if stop.continues_number_as_text(self.c) && self.c != EOI {
            self.skip_unquoted(stop);
            return Ok(Value::str(&text(&self.extract_trimmed(start, self.pos))));
        }
        let literal = self.extract_trimmed(start, self.pos);
        if is_float {
            self.extract_float(&text(&literal))
        } else {
            parse_integer(&literal)
        }
    }

    fn extract_float(&self, literal: &str) -> Result<Value, ParseFailure> {
        let parsed = if literal.encode_utf16().count() > 18 {
            BigDec::parse(literal).map(|d| Value::BigDec(Arc::new(d)))
        } else {
            java_parse_double(literal).map(Value::Double)
        };
        match parsed {
            Some(value) => Ok(value),
            None => unexpected_token(self.pos, literal),
        }
    }
}

fn is_digit(unit: u16) -> bool {
    (0x30..=0x39).contains(&unit)
}

/// `Double.parseDouble` for the literals json-smart hands it (digits, one point, an exponent,
/// possibly followed by control characters that Java's `trim` removes).
fn java_parse_double(literal: &str) -> Option<f64> {
    let trimmed = literal.trim_matches(|c: char| c <= ' ');
    let body = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int_part)
        && all_digits(fraction)
        && !(int_part.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && all_digits(digits)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    trimmed.parse().ok()
}

/// json-smart's `parseNumber`: Integer when it fits, else Long, else BigInteger. The digit loop is
/// reproduced literally (with wrapping arithmetic) because trailing control characters reach it.
fn parse_integer(literal: &[u16]) -> Result<Value, ParseFailure> {
    let len = literal.len();
    let negative = literal.first() == Some(&u16::from(b'-'));
    let mut p = usize::from(negative);
    let mut max = if negative { 20 } else { 19 };
    let must_check;
    if len < max {
        max = len;
        must_check = false;
    } else if len > max {
        return big_integer(literal);
    } else {
        max = len - 1;
        must_check = true;
    }
    let digit = |unit: u16| i64::from(b'0') - i64::from(unit);
    let mut r: i64 = 0;
    while p < max {
        r = r.wrapping_mul(10).wrapping_add(digit(literal[p]));
        p += 1;
    }
    if must_check {
        let is_big = if r > -922_337_203_685_477_580 {
            false
        } else if r < -922_337_203_685_477_580 {
            true
        } else if negative {
            literal[p] > u16::from(b'8')
        } else {
            literal[p] > u16::from(b'7')
        };
        if is_big {
            return big_integer(literal);
        }
        r = r.wrapping_mul(10).wrapping_add(digit(literal[p]));
    }
    if !negative {
        r = r.wrapping_neg();
    }
    let fits_int = if negative {
        r >= i64::from(i32::MIN)
    } else {
        r <= i64::from(i32::MAX)
    };
    // Java narrows with `(int) r`, keeping the low 32 bits.
    Ok(if fits_int {
        Value::Int(r as i32)
    } else {
        Value::Long(r)
    })
}

/// `new BigInteger(text, 10)`.
fn big_integer(literal: &[u16]) -> Result<Value, ParseFailure> {
    let literal = text(literal);
    let unsigned = literal.strip_prefix(['-', '+']).unwrap_or(&literal);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseFailure::Number(format!(
            "For input string: \"{literal}\""
        )));
    }
    let digits = unsigned.trim_start_matches('0');
    let canonical = if digits.is_empty() {
        "0".to_string()
    } else if literal.starts_with('-') {
        format!("-{digits}")
    } else {
        digits.to_string()
    };
    Ok(Value::BigInt(Arc::from(canonical)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(json: &str) -> String {
        match parse(json) {
            Ok(value) => value.java_string(),
            Err(ParseFailure::Syntax(m) | ParseFailure::Number(m)) => format!("error: {m}"),
        }
    }

    #[test]
    fn numbers_keep_their_java_class() {
        assert!(matches!(parse("1"), Ok(Value::Int(1))));
        assert!(matches!(parse("-2147483648"), Ok(Value::Int(i32::MIN))));
        assert!(matches!(
            parse("2147483648"),
            Ok(Value::Long(2_147_483_648))
        ));
        assert!(matches!(
            parse("9223372036854775807"),
            Ok(Value::Long(i64::MAX))
        ));
        assert!(matches!(
            parse("-9223372036854775808"),
            Ok(Value::Long(i64::MIN))
        ));
        assert_eq!(render("9223372036854775808"), "9223372036854775808");
        assert_eq!(
            render("-0009223372036854775808123"),
            "-9223372036854775808123"
        );
        assert_eq!(render("007"), "7");
        assert_eq!(render("-"), "0");
        assert_eq!(render("1.50"), "1.5");
        assert_eq!(render("1e3"), "1000.0");
        assert_eq!(render("1E-7"), "1.0E-7");
        assert_eq!(render("0.14300000000000002"), "0.14300000000000002");
        assert_eq!(render("1.0000000000000000000"), "1.0000000000000000000");
        assert_eq!(render("1e400"), "Infinity");
        assert_eq!(render("NaN"), "NaN");
    }

    #[test]
    fn permissive_syntax_is_accepted() {
        assert_eq!(render("{'a':'x'}"), "{a=x}");
        assert_eq!(render("{a: hello world , b:2}"), "{a=hello world, b=2}");
        assert_eq!(render("[1,,2,]"), "[1,2]");
        assert_eq!(render("[1 2]"), r#"["1 2"]"#);
        assert_eq!(render("[1e]"), r#"["1e"]"#);
        assert_eq!(render("[1.5.3]"), r#"["1.5.3"]"#);
        assert_eq!(render("{\"a\":1} trailing"), "{a=1}");
        assert_eq!(render("  "), "");
        assert_eq!(render("abc"), "abc");
        assert_eq!(render("{\"a\":1,\"a\":2,\"b\":3}"), "{a=2, b=3}");
        assert_eq!(render(r#""a\u0041\x42\q\/""#), "aAB/");
        assert_eq!(render(r#"["it's"]"#), r#"["it's"]"#);
    }

    #[test]
    fn errors_carry_json_smart_messages() {
        assert_eq!(
            render("{[,}"),
            "error: Unexpected character ([) at position 1."
        );
        assert_eq!(
            render("{"),
            "error: Unexpected End Of File position 0: null"
        );
        assert_eq!(
            render("}"),
            "error: Unexpected character (}) at position 0."
        );
        assert_eq!(
            render("[1,"),
            "error: Unexpected End Of File position 2: EOF"
        );
        assert_eq!(
            render("{\"a\" 1}"),
            "error: Unexpected character (1) at position 4."
        );
        assert_eq!(render("{\"a\":1 2}"), "{a=1 2}");
        assert_eq!(
            render("{\"a\":\"x\" \"y\"}"),
            "error: Unexpected token \" at position 8."
        );
        assert_eq!(
            render("\"abc"),
            "error: Unexpected End Of File position 4: null"
        );
        assert_eq!(
            render("{\"a\":"),
            "error: Unexpected End Of File position 4: EOF"
        );
        assert_eq!(
            render("[1e+]"),
            "error: Unexpected token 1e+ at position 4."
        );
        assert_eq!(
            render(r#"["\u12G4"]"#),
            "error: Unexpected unicode escape sequence G at position 6."
        );
        let deep = "[".repeat(401);
        assert_eq!(
            render(&deep),
            "error: Malicious payload, having non natural depths, parsing stoped on [ at position 400."
        );
        assert!(render(&"[".repeat(400)).starts_with("error: Unexpected End Of File"));
    }
}
