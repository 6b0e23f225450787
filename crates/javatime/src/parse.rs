//! Strict, case-sensitive parsing of a value against compiled pattern elements into a set of
//! field values, following the java.time printer-parsers.

use std::fmt;

use crate::field::{ALL_FIELDS, FIELD_COUNT, Field, WeekDef};
use crate::pattern::{Element, Number, NumberKind, OffsetFormat, SignStyle};
use crate::trie::Trie;
use crate::zone::{self, Prefix, ZoneRef};

/// Field values and zone collected while parsing (java.time's `Parsed` before resolution).
#[derive(Clone, Copy)]
pub(crate) struct Parsed {
    present: u32,
    values: [i64; FIELD_COUNT],
    pub zone: Option<ZoneRef>,
}

impl Default for Parsed {
    fn default() -> Parsed {
        Parsed {
            present: 0,
            values: [0; FIELD_COUNT],
            zone: None,
        }
    }
}

impl Parsed {
    pub fn has(&self, f: Field) -> bool {
        self.present & (1 << f.index()) != 0
    }

    pub fn get(&self, f: Field) -> Option<i64> {
        self.has(f).then(|| self.values[f.index()])
    }

    /// Stores a value, returning the previous one.
    pub fn put(&mut self, f: Field, value: i64) -> Option<i64> {
        let old = self.get(f);
        self.values[f.index()] = value;
        self.present |= 1 << f.index();
        old
    }

    pub fn remove(&mut self, f: Field) -> Option<i64> {
        let old = self.get(f);
        self.present &= !(1 << f.index());
        old
    }

    /// The fields present now, in `ALL_FIELDS` order (a snapshot: the set may change after).
    pub fn present(&self) -> impl Iterator<Item = Field> + use<> {
        let mut bits = self.present;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(ALL_FIELDS[i])
        })
    }

    /// `setParsedField`: a second, different value for a field fails at the field's start.
    fn set_parsed(&mut self, f: Field, value: i64, start: usize, end: usize) -> Step {
        match self.put(f, value) {
            Some(old) if old != value => Err(Fail::At(start)),
            _ => Ok(end),
        }
    }

    /// The field map part of `Parsed.toString()`.
    pub fn describe(&self, week: WeekDef) -> impl fmt::Display + '_ {
        FieldMap { parsed: self, week }
    }
}

struct FieldMap<'a> {
    parsed: &'a Parsed,
    week: WeekDef,
}

impl fmt::Display for FieldMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, field) in self.parsed.present().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let value = self.parsed.values[field.index()];
            write!(f, "{sep}{}={value}", field.name(self.week))?;
        }
        f.write_str("}")
    }
}

/// Why parsing stopped.
#[derive(Debug)]
pub(crate) enum Fail {
    /// No match at this byte offset.
    At(usize),
    /// No match at this UTF-16 index (already converted).
    AtIndex(usize),
    /// An exception raised while parsing (its message).
    Error(String),
}

type Step = Result<usize, Fail>;

pub(crate) fn parse_elements(
    elements: &[Element],
    parsed: &mut Parsed,
    text: &str,
    pos: usize,
) -> Step {
    let mut pos = pos;
    for e in elements {
        pos = parse_element(e, parsed, text, pos)?;
    }
    Ok(pos)
}

fn parse_element(element: &Element, parsed: &mut Parsed, text: &str, pos: usize) -> Step {
    match element {
        Element::Char(c) => match text[pos..].chars().next() {
            Some(ch) if ch == *c => Ok(pos + ch.len_utf8()),
            _ => Err(Fail::At(pos)),
        },
        Element::Str(s) => {
            if text[pos..].starts_with(&**s) {
                Ok(pos + s.len())
            } else {
                Err(Fail::At(pos))
            }
        }
        Element::Number(n) => parse_number(n, parsed, text, pos),
        Element::Text { field, texts } => match texts {
            Some(list) => {
                let rest = &text[pos..];
                for &(t, v) in list.iter() {
                    if rest.starts_with(t) {
                        return parsed.set_parsed(*field, i64::from(v), pos, pos + t.len());
                    }
                }
                Err(Fail::At(pos))
            }
            None => {
                let n = Number {
                    field: *field,
                    min: 1,
                    max: 19,
                    sign: SignStyle::Normal,
                    subsequent: 0,
                    kind: NumberKind::Plain,
                };
                parse_number(&n, parsed, text, pos)
            }
        },
        Element::Offset { format, no_offset } => {
            let (end, seconds) = parse_offset(text, pos, *format, no_offset)?;
            parsed.set_parsed(Field::OffsetSeconds, i64::from(seconds), pos, end)
        }
        Element::LocalizedOffset { full, gmt } => {
            parse_localized_offset(parsed, text, pos, *full, gmt)
        }
        Element::Zone { names } => parse_zone(names, parsed, text, pos),
        Element::Optional(elements) => {
            let saved = *parsed;
            match parse_elements(elements, parsed, text, pos) {
                Ok(end) => Ok(end),
                Err(Fail::Error(e)) => Err(Fail::Error(e)),
                Err(_) => {
                    *parsed = saved;
                    Ok(pos)
                }
            }
        }
        Element::Pad { width, pad, inner } => parse_padded(inner, *width, *pad, parsed, text, pos),
    }
}

/// `PadPrinterParserDecorator`: the field must end exactly at the padded width.
fn parse_padded(
    inner: &Element,
    width: usize,
    pad: char,
    parsed: &mut Parsed,
    text: &str,
    pos: usize,
) -> Step {
    if pos == text.len() {
        return Err(Fail::At(pos));
    }
    let mut end = pos;
    let mut units = 0;
    for c in text[pos..].chars() {
        if units >= width {
            break;
        }
        units += c.len_utf16();
        end += c.len_utf8();
    }
    if units < width {
        return Err(Fail::At(pos));
    }
    let mut start = pos;
    while start < end && text[start..].starts_with(pad) {
        start += pad.len_utf8();
    }
    match parse_element(inner, parsed, &text[..end], start) {
        Ok(r) if r == end => Ok(r),
        Err(Fail::Error(e)) => Err(Fail::Error(e)),
        // java.time reports `position + pos` here (both absolute).
        _ => Err(Fail::AtIndex(
            utf16_index(text, pos) + utf16_index(text, start),
        )),
    }
}

/// `SignStyle.parse` in strict mode.
fn sign_allowed(style: SignStyle, positive: bool) -> bool {
    match style {
        SignStyle::Normal => !positive,
        SignStyle::NotNegative => false,
        SignStyle::ExceedsPad => true,
    }
}

fn parse_number(n: &Number, parsed: &mut Parsed, text: &str, pos: usize) -> Step {
    if n.kind == NumberKind::Fraction {
        return parse_fraction(n, parsed, text, pos);
    }
    let b = text.as_bytes();
    let len = b.len();
    let mut pos = pos;
    if pos == len {
        return Err(Fail::At(pos));
    }
    let (mut negative, mut positive) = (false, false);
    if b[pos] == b'+' || b[pos] == b'-' {
        let plus = b[pos] == b'+';
        if !sign_allowed(n.sign, plus) {
            return Err(Fail::At(pos));
        }
        (negative, positive) = (!plus, plus);
        pos += 1;
    }
    let min_end = pos + n.min;
    if min_end > len {
        return Err(Fail::At(pos));
    }
    let mut max_width = n.max + n.subsequent.max(0) as usize;
    let mut total: i128 = 0;
    let mut end = pos;
    for pass in 0..2 {
        let max_end = (pos + max_width).min(len);
        while end < max_end {
            let c = b[end];
            if !c.is_ascii_digit() {
                if end < min_end {
                    return Err(Fail::At(pos));
                }
                break;
            }
            end += 1;
            total = total
                .saturating_mul(10)
                .saturating_add(i128::from(c - b'0'));
        }
        if n.subsequent > 0 && pass == 0 {
            // Re-parse leaving room for the adjacent fixed-width values.
            let parsed_len = end - pos;
            max_width = n.min.max(parsed_len.saturating_sub(n.subsequent as usize));
            end = pos;
            total = 0;
        } else {
            break;
        }
    }
    if negative {
        if total == 0 {
            return Err(Fail::At(pos - 1));
        }
        total = -total;
    } else if n.sign == SignStyle::ExceedsPad {
        let parsed_len = end - pos;
        if positive && parsed_len <= n.min {
            return Err(Fail::At(pos - 1));
        }
        if !positive && parsed_len > n.min {
            return Err(Fail::At(pos));
        }
    }
    if total > i128::from(i64::MAX) || total < i128::from(i64::MIN) {
        // Too large for a long: one digit fewer is parsed.
        total /= 10;
        end -= 1;
    }
    let mut value = total as i64;
    if let NumberKind::Reduced { base } = n.kind
        && end - pos == n.min
        && value >= 0
    {
        let range = 10i64.pow(n.min as u32);
        let base_part = base - base % range;
        value = if base > 0 {
            base_part + value
        } else {
            base_part - value
        };
        if value < base {
            value += range;
        }
    }
    parsed.set_parsed(n.field, value, pos, end)
}

/// `FractionPrinterParser` without a decimal point: digits scaled to nanoseconds.
fn parse_fraction(n: &Number, parsed: &mut Parsed, text: &str, pos: usize) -> Step {
    let b = text.as_bytes();
    let len = b.len();
    if pos == len {
        return if n.min > 0 {
            Err(Fail::At(pos))
        } else {
            Ok(pos)
        };
    }
    let min_end = pos + n.min;
    if min_end > len {
        return Err(Fail::At(pos));
    }
    let max_end = (pos + n.max).min(len);
    let mut total: i64 = 0;
    let mut end = pos;
    while end < max_end {
        let c = b[end];
        if !c.is_ascii_digit() {
            if end < min_end {
                return Err(Fail::At(pos));
            }
            break;
        }
        end += 1;
        total = total * 10 + i64::from(c - b'0');
    }
    let nanos = total * 10i64.pow(9 - (end - pos) as u32);
    parsed.set_parsed(Field::NanoOfSecond, nanos, pos, end)
}

/// Two digits (0-59) at `pos`, optionally preceded by a colon.
fn two_digits(b: &[u8], pos: usize, colon: bool) -> Option<(i32, usize)> {
    let mut p = pos;
    if colon {
        if b.get(p) != Some(&b':') {
            return None;
        }
        p += 1;
    }
    let (c1, c2) = (*b.get(p)?, *b.get(p + 1)?);
    if !c1.is_ascii_digit() || !c2.is_ascii_digit() {
        return None;
    }
    let v = i32::from(c1 - b'0') * 10 + i32::from(c2 - b'0');
    (v <= 59).then_some((v, p + 2))
}

/// `OffsetIdPrinterParser` (strict): the end position and offset in seconds.
fn parse_offset(
    text: &str,
    pos: usize,
    format: OffsetFormat,
    no_offset: &str,
) -> Result<(usize, i32), Fail> {
    let b = text.as_bytes();
    if pos == b.len() {
        return Err(Fail::At(pos));
    }
    if text[pos..].starts_with(no_offset) {
        return Ok((pos + no_offset.len(), 0));
    }
    let sign = b[pos];
    if sign != b'+' && sign != b'-' {
        return Err(Fail::At(pos));
    }
    let colon = format.colon();
    let Some((hours, mut end)) = two_digits(b, pos + 1, false) else {
        return Err(Fail::At(pos));
    };
    let (mut minutes, mut seconds) = (0, 0);
    match two_digits(b, end, colon) {
        Some((m, e)) => {
            minutes = m;
            end = e;
            if matches!(
                format,
                OffsetFormat::MinuteOptSecond | OffsetFormat::ColonMinuteOptSecond
            ) && let Some((s, e)) = two_digits(b, end, colon)
            {
                seconds = s;
                end = e;
            }
        }
        None if format == OffsetFormat::OptMinute => {}
        None => return Err(Fail::At(pos)),
    }
    if hours > 23 {
        return Err(Fail::Error(
            "Value out of range: Hour[0-23], Minute[0-59], Second[0-59]".to_string(),
        ));
    }
    let total = hours * 3600 + minutes * 60 + seconds;
    Ok((end, if sign == b'-' { -total } else { total }))
}

/// A digit at `i` (-1 if not a digit); reading past the end is java.time's index exception.
fn digit_at(text: &str, i: usize) -> Result<i32, Fail> {
    match text.as_bytes().get(i) {
        Some(c) if c.is_ascii_digit() => Ok(i32::from(c - b'0')),
        Some(_) => Ok(-1),
        None => Err(index_error(text, i)),
    }
}

/// The exception `String.charAt` raises past the end of the text.
fn index_error(text: &str, i: usize) -> Fail {
    Fail::Error(format!(
        "String index out of range: {}",
        utf16_index(text, i)
    ))
}

/// `LocalizedOffsetIdPrinterParser`: `GMT`, `GMT+8`, `GMT+08:00` (full form `GMT+08:00`).
fn parse_localized_offset(
    parsed: &mut Parsed,
    text: &str,
    pos: usize,
    full: bool,
    gmt: &str,
) -> Step {
    let b = text.as_bytes();
    let end = b.len();
    if !text[pos..].starts_with(gmt) {
        return Err(Fail::At(pos));
    }
    let mut p = pos + gmt.len();
    if p == end {
        return parsed.set_parsed(Field::OffsetSeconds, 0, pos, p);
    }
    let negative = match b[p] {
        b'+' => false,
        b'-' => true,
        _ => return parsed.set_parsed(Field::OffsetSeconds, 0, pos, p),
    };
    p += 1;
    let (mut m, mut s) = (0, 0);
    let two_after_colon = |p: usize| -> Result<Option<i32>, Fail> {
        if p + 2 < end && b[p] == b':' {
            let (s1, s2) = (digit_at(text, p + 1)?, digit_at(text, p + 2)?);
            if s1 >= 0 && s2 >= 0 {
                return Ok(Some(s1 * 10 + s2));
            }
        }
        Ok(None)
    };
    let h = if full {
        let (h1, h2) = (digit_at(text, p)?, digit_at(text, p + 1)?);
        p += 2;
        if h1 < 0 || h2 < 0 {
            return Err(Fail::At(pos));
        }
        if *b.get(p).ok_or_else(|| index_error(text, p))? != b':' {
            return Err(Fail::At(pos));
        }
        let (m1, m2) = (digit_at(text, p + 1)?, digit_at(text, p + 2)?);
        p += 3;
        if m1 < 0 || m2 < 0 {
            return Err(Fail::At(pos));
        }
        m = m1 * 10 + m2;
        if let Some(sec) = two_after_colon(p)? {
            s = sec;
            p += 3;
        }
        h1 * 10 + h2
    } else {
        let mut h = digit_at(text, p)?;
        p += 1;
        if h < 0 {
            return Err(Fail::At(pos));
        }
        if p < end {
            let h2 = digit_at(text, p)?;
            if h2 >= 0 {
                h = h * 10 + h2;
                p += 1;
            }
            if let Some(min) = two_after_colon(p)? {
                m = min;
                p += 3;
                if let Some(sec) = two_after_colon(p)? {
                    s = sec;
                    p += 3;
                }
            }
        }
        h
    };
    let total = i64::from(h * 3600 + m * 60 + s);
    parsed.set_parsed(
        Field::OffsetSeconds,
        if negative { -total } else { total },
        pos,
        p,
    )
}

/// `ZoneIdPrinterParser`: offset-style ids (`+01:00`, `UTC+1`, `GMT`), then the longest
/// matching name, then `Z`.
fn parse_zone(names: &Trie, parsed: &mut Parsed, text: &str, pos: usize) -> Step {
    let b = &text.as_bytes()[pos..];
    let Some(&first) = b.first() else {
        return Err(Fail::At(pos));
    };
    if first == b'+' || first == b'-' {
        return parse_offset_based(parsed, text, pos, pos, Prefix::None);
    }
    if b.len() >= 2 {
        if b[0] == b'U' && b[1] == b'T' {
            if b.get(2) == Some(&b'C') {
                if b.len() == 3 || b[3] == b'+' || b[3] == b'-' {
                    return parse_offset_based(parsed, text, pos, pos + 3, Prefix::Utc);
                }
            } else {
                return parse_offset_based(parsed, text, pos, pos + 2, Prefix::Ut);
            }
        } else if b.starts_with(b"GMT") {
            if b.get(3) == Some(&b'0') {
                let reg = zone::registry();
                parsed.zone = Some(reg.find("GMT0").map_or(
                    ZoneRef::Offset {
                        seconds: 0,
                        prefix: Prefix::Gmt,
                    },
                    ZoneRef::Region,
                ));
                return Ok(pos + 4);
            }
            return parse_offset_based(parsed, text, pos, pos + 3, Prefix::Gmt);
        }
    }
    if let Some((region, len)) = names.longest_prefix(&text[pos..]) {
        parsed.zone = Some(ZoneRef::Region(region));
        return Ok(pos + len);
    }
    if first == b'Z' {
        parsed.zone = Some(ZoneRef::UTC);
        return Ok(pos + 1);
    }
    Err(Fail::At(pos))
}

/// The offset after a `UTC`/`GMT`/`UT` prefix (or a bare signed offset).
fn parse_offset_based(
    parsed: &mut Parsed,
    text: &str,
    prefix_pos: usize,
    pos: usize,
    prefix: Prefix,
) -> Step {
    let bare = ZoneRef::Offset { seconds: 0, prefix };
    let b = text.as_bytes();
    if pos >= b.len() || b[pos] == b'0' || b[pos] == b'Z' {
        parsed.zone = Some(bare);
        return Ok(pos);
    }
    let no_offset = if prefix == Prefix::None { "Z" } else { "0" };
    match parse_offset(text, pos, OffsetFormat::ColonMinuteOptSecond, no_offset) {
        Ok((end, seconds)) if seconds.abs() <= 18 * 3600 => {
            parsed.zone = Some(ZoneRef::Offset { seconds, prefix });
            Ok(end)
        }
        Ok(_) => Err(Fail::At(prefix_pos)),
        Err(Fail::At(_)) if prefix == Prefix::None => Err(Fail::At(prefix_pos)),
        Err(Fail::At(_)) => {
            parsed.zone = Some(bare);
            Ok(pos)
        }
        Err(e) => Err(e),
    }
}

/// UTF-16 index of a byte offset (java.time reports positions in UTF-16 units).
pub(crate) fn utf16_index(text: &str, byte: usize) -> usize {
    if byte >= text.len() {
        return text.encode_utf16().count() + (byte - text.len());
    }
    text[..byte].encode_utf16().count()
}
