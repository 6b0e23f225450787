//! Compiling a `DateTimeFormatter.ofPattern` pattern into parser elements, including the
//! builder's adjacent-value rules (`yyyyMMdd`) and optional sections.

use crate::civil::Date;
use crate::field::{Field, WeekDef};
use crate::locale::{Locale, LocaleTexts, TextList};
use crate::trie::Trie;
use crate::week;
use crate::zone;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignStyle {
    Normal,
    NotNegative,
    ExceedsPad,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumberKind {
    Plain,
    /// Two-digit value relative to a base (`yy`: 2000 → 2000..2099).
    Reduced {
        base: i64,
    },
    /// Fraction of a second (`S`), stored as nanoseconds.
    Fraction,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Number {
    pub field: Field,
    pub min: usize,
    pub max: usize,
    pub sign: SignStyle,
    /// Width reserved for adjacent fixed-width values; -1 when this value is fixed width.
    pub subsequent: i32,
    pub kind: NumberKind,
}

impl Number {
    fn new(field: Field, min: usize, max: usize, sign: SignStyle) -> Number {
        Number {
            field,
            min,
            max,
            sign,
            subsequent: 0,
            kind: NumberKind::Plain,
        }
    }

    fn fixed(self) -> Number {
        Number {
            subsequent: -1,
            ..self
        }
    }
}

/// The ISO offset formats reachable from pattern letters (`OffsetIdPrinterParser` types).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OffsetFormat {
    /// `+HHmm`: minutes optional.
    OptMinute,
    /// `+HHMM`.
    Minute,
    /// `+HH:MM`.
    ColonMinute,
    /// `+HHMMss`: seconds optional.
    MinuteOptSecond,
    /// `+HH:MM:ss`: seconds optional.
    ColonMinuteOptSecond,
}

impl OffsetFormat {
    pub fn colon(self) -> bool {
        matches!(
            self,
            OffsetFormat::ColonMinute | OffsetFormat::ColonMinuteOptSecond
        )
    }
}

pub(crate) enum Element {
    Char(char),
    Str(Box<str>),
    Number(Number),
    /// Text of a field; `None` when the locale has no text and a number is parsed instead.
    Text {
        field: Field,
        texts: Option<TextList>,
    },
    Offset {
        format: OffsetFormat,
        no_offset: &'static str,
    },
    LocalizedOffset {
        full: bool,
        gmt: &'static str,
    },
    /// A zone id (`VV`) or a zone name (`z`); both share java.time's id-prefix rules.
    Zone {
        names: &'static Trie,
    },
    Optional(Vec<Element>),
    Pad {
        width: usize,
        pad: char,
        inner: Box<Element>,
    },
}

struct Level {
    elements: Vec<Element>,
    value_index: Option<usize>,
    pad: Option<(usize, char)>,
}

impl Level {
    fn new() -> Level {
        Level {
            elements: Vec::new(),
            value_index: None,
            pad: None,
        }
    }
}

/// Mirrors `DateTimeFormatterBuilder` state while a pattern is compiled.
struct Builder<'a> {
    levels: Vec<Level>,
    locale: &'a Locale,
    texts: Option<&'static LocaleTexts>,
    /// Missing locale data, reported only if the pattern itself is valid.
    locale_error: Option<String>,
}

/// Why a pattern did not compile.
pub(crate) enum CompileError {
    Pattern(String),
    Locale(String),
}

impl Builder<'_> {
    fn active(&mut self) -> &mut Level {
        // The stack always holds the root level.
        let last = self.levels.len() - 1;
        &mut self.levels[last]
    }

    fn texts(&mut self) -> Option<&'static LocaleTexts> {
        if self.texts.is_none() {
            match self.locale.texts() {
                Ok(t) => self.texts = Some(t),
                Err(e) => self.locale_error = Some(e),
            }
        }
        self.texts
    }

    fn append_internal(&mut self, element: Element) -> usize {
        let level = self.active();
        let element = match level.pad.take() {
            Some((width, pad)) => Element::Pad {
                width,
                pad,
                inner: Box::new(element),
            },
            None => element,
        };
        level.elements.push(element);
        level.value_index = None;
        level.elements.len() - 1
    }

    fn append_value(&mut self, number: Number) -> Result<(), String> {
        let Some(base_index) = self.active().value_index else {
            let index = self.append_internal(Element::Number(number));
            self.active().value_index = Some(index);
            return Ok(());
        };
        let adjacent = number.min == number.max && number.sign == SignStyle::NotNegative;
        match &mut self.active().elements[base_index] {
            Element::Number(base) if adjacent => base.subsequent += number.max as i32,
            Element::Number(base) => *base = base.fixed(),
            _ => {
                return Err(
                    "Padding (p) cannot be applied to a value followed by an adjacent value"
                        .to_string(),
                );
            }
        }
        if adjacent {
            self.append_internal(Element::Number(number.fixed()));
            self.active().value_index = Some(base_index);
        } else {
            let index = self.append_internal(Element::Number(number));
            self.active().value_index = Some(index);
        }
        Ok(())
    }

    /// `appendValue(field, min, max, sign)` with the builder's width checks.
    fn value(
        &mut self,
        field: Field,
        min: usize,
        max: usize,
        sign: SignStyle,
    ) -> Result<(), String> {
        if min == max && sign == SignStyle::NotNegative {
            return self.value_width(field, max);
        }
        if !(1..=19).contains(&min) {
            return Err(format!(
                "The minimum width must be from 1 to 19 inclusive but was {min}"
            ));
        }
        if !(1..=19).contains(&max) {
            return Err(format!(
                "The maximum width must be from 1 to 19 inclusive but was {max}"
            ));
        }
        if max < min {
            return Err(format!(
                "The maximum width must exceed or equal the minimum width but {max} < {min}"
            ));
        }
        self.append_value(Number::new(field, min, max, sign))
    }

    /// `appendValue(field, width)`.
    fn value_width(&mut self, field: Field, width: usize) -> Result<(), String> {
        if !(1..=19).contains(&width) {
            return Err(format!(
                "The width must be from 1 to 19 inclusive but was {width}"
            ));
        }
        self.append_value(Number::new(field, width, width, SignStyle::NotNegative))
    }

    fn text(&mut self, field: Field, style: usize) -> Result<(), String> {
        let texts = self.texts().and_then(|t| match field {
            Field::MonthOfYear => t.month[style],
            Field::DayOfWeek => t.day_of_week[style],
            Field::QuarterOfYear => t.quarter[style],
            Field::AmPmOfDay => t.am_pm,
            _ => t.era[style / 2],
        });
        self.append_internal(Element::Text { field, texts });
        Ok(())
    }

    fn offset(&mut self, format: OffsetFormat, no_offset: &'static str) {
        self.append_internal(Element::Offset { format, no_offset });
    }

    fn localized_offset(&mut self, full: bool) -> Result<(), String> {
        let gmt = self.locale.gmt_text();
        self.append_internal(Element::LocalizedOffset { full, gmt });
        Ok(())
    }

    /// Week-based values (`Y`, `w`, `W`, `e`, `c`) use the locale's week definition.
    fn week_value(&mut self, letter: char, count: usize) -> Result<(), String> {
        let week = self.locale.week;
        let number = match letter {
            'Y' if count == 2 => Number {
                kind: NumberKind::Reduced {
                    base: week_based_year_2000(week),
                },
                ..Number::new(Field::WeekBasedYear, 2, 2, SignStyle::NotNegative)
            },
            'Y' => {
                let sign = if count < 4 {
                    SignStyle::Normal
                } else {
                    SignStyle::ExceedsPad
                };
                Number::new(Field::WeekBasedYear, count, 19, sign)
            }
            'w' => Number::new(Field::WeekOfWeekBasedYear, count, 2, SignStyle::NotNegative),
            'W' => Number::new(Field::WeekOfMonth, count, count, SignStyle::NotNegative),
            _ => Number::new(
                Field::LocalizedDayOfWeek,
                count,
                count,
                SignStyle::NotNegative,
            ),
        };
        self.append_value(number)
    }

    fn field(&mut self, letter: char, count: usize) -> Result<(), String> {
        let too_many = || Err(format!("Too many pattern letters: {letter}"));
        match letter {
            'u' | 'y' => {
                let field = if letter == 'y' {
                    Field::YearOfEra
                } else {
                    Field::Year
                };
                match count {
                    2 => self.append_value(Number {
                        kind: NumberKind::Reduced { base: 2000 },
                        ..Number::new(field, 2, 2, SignStyle::NotNegative)
                    }),
                    1 | 3 => self.value(field, count, 19, SignStyle::Normal),
                    _ => self.value(field, count, 19, SignStyle::ExceedsPad),
                }
            }
            'c' if count == 1 => self.week_value(letter, count),
            'c' if count == 2 => Err("Invalid pattern \"cc\"".to_string()),
            'e' if count <= 2 => self.week_value(letter, count),
            'M' | 'L' | 'Q' | 'q' | 'E' | 'e' | 'c' => {
                let standalone = matches!(letter, 'L' | 'q' | 'c');
                let field = match letter {
                    'M' | 'L' => Field::MonthOfYear,
                    'Q' | 'q' => Field::QuarterOfYear,
                    _ => Field::DayOfWeek,
                };
                let style = match count {
                    1 | 2 if letter == 'E' => return self.text(field, 2),
                    1 => return self.value(field, 1, 19, SignStyle::Normal),
                    2 => return self.value_width(field, 2),
                    3 => 2,
                    4 => 0,
                    5 => 4,
                    _ => return too_many(),
                };
                self.text(field, style + usize::from(standalone))
            }
            'a' if count == 1 => self.text(Field::AmPmOfDay, 2),
            'G' => match count {
                1..=3 => self.text(Field::Era, 2),
                4 => self.text(Field::Era, 0),
                5 => self.text(Field::Era, 4),
                _ => too_many(),
            },
            'S' => {
                if count > 9 {
                    return Err(format!(
                        "Minimum width must be from 0 to 9 inclusive but was {count}"
                    ));
                }
                self.append_value(Number {
                    kind: NumberKind::Fraction,
                    ..Number::new(Field::NanoOfSecond, count, count, SignStyle::NotNegative)
                })
            }
            'F' if count == 1 => {
                self.value(Field::AlignedDayOfWeekInMonth, 1, 19, SignStyle::Normal)
            }
            'd' | 'h' | 'H' | 'k' | 'K' | 'm' | 's' => {
                let field = match letter {
                    'd' => Field::DayOfMonth,
                    'h' => Field::ClockHourOfAmPm,
                    'H' => Field::HourOfDay,
                    'k' => Field::ClockHourOfDay,
                    'K' => Field::HourOfAmPm,
                    'm' => Field::MinuteOfHour,
                    _ => Field::SecondOfMinute,
                };
                match count {
                    1 => self.value(field, 1, 19, SignStyle::Normal),
                    2 => self.value_width(field, 2),
                    _ => too_many(),
                }
            }
            'D' => match count {
                1 => self.value(Field::DayOfYear, 1, 19, SignStyle::Normal),
                2 | 3 => self.value(Field::DayOfYear, count, 3, SignStyle::NotNegative),
                _ => too_many(),
            },
            'g' => self.value(Field::ModifiedJulianDay, count, 19, SignStyle::Normal),
            'A' => self.value(Field::MilliOfDay, count, 19, SignStyle::NotNegative),
            'n' => self.value(Field::NanoOfSecond, count, 19, SignStyle::NotNegative),
            'N' => self.value(Field::NanoOfDay, count, 19, SignStyle::NotNegative),
            'a' | 'F' => too_many(),
            'z' => match count {
                1..=3 => self.zone_text(false),
                4 => self.zone_text(true),
                _ => too_many(),
            },
            'V' if count == 2 => {
                self.append_internal(Element::Zone {
                    names: zone::registry().trie(),
                });
                Ok(())
            }
            'V' => Err("Pattern letter count must be 2: V".to_string()),
            'Z' => {
                match count {
                    1..=3 => self.offset(OffsetFormat::Minute, "+0000"),
                    4 => return self.localized_offset(true),
                    5 => self.offset(OffsetFormat::ColonMinuteOptSecond, "Z"),
                    _ => return too_many(),
                }
                Ok(())
            }
            'O' => match count {
                1 => self.localized_offset(false),
                4 => self.localized_offset(true),
                _ => Err("Pattern letter count must be 1 or 4: O".to_string()),
            },
            'X' | 'x' => {
                let format = match count {
                    1 => OffsetFormat::OptMinute,
                    2 => OffsetFormat::Minute,
                    3 => OffsetFormat::ColonMinute,
                    4 => OffsetFormat::MinuteOptSecond,
                    5 => OffsetFormat::ColonMinuteOptSecond,
                    _ => return too_many(),
                };
                let no_offset = match (letter, count) {
                    ('X', _) => "Z",
                    (_, 1) => "+00",
                    (_, c) if c % 2 == 0 => "+0000",
                    _ => "+00:00",
                };
                self.offset(format, no_offset);
                Ok(())
            }
            'W' if count == 1 => self.week_value(letter, count),
            'w' if count <= 2 => self.week_value(letter, count),
            'Y' => self.week_value(letter, count),
            'W' | 'w' => too_many(),
            'B' | 'v' => Err(format!(
                "Pattern letter '{letter}' is not supported (day periods and generic zone names)"
            )),
            _ => Err(format!("Unknown pattern letter: {letter}")),
        }
    }

    fn zone_text(&mut self, full: bool) -> Result<(), String> {
        let names = match self.locale.zone_name_set(full) {
            Ok(set) => zone::zone_name_trie(set),
            Err(e) => {
                self.locale_error = Some(e);
                zone::registry().trie()
            }
        };
        self.append_internal(Element::Zone { names });
        Ok(())
    }
}

/// The localized week-based-year of 2000-01-01: the base of a two-letter `YY`.
fn week_based_year_2000(week: WeekDef) -> i64 {
    week::week_based_year(Date::new(2000, 1, 1), week)
}

/// Compiles `pattern` as `DateTimeFormatter.ofPattern(pattern, locale)` does.
pub(crate) fn compile(pattern: &str, locale: &Locale) -> Result<Vec<Element>, CompileError> {
    let mut b = Builder {
        levels: vec![Level::new()],
        locale,
        texts: None,
        locale_error: None,
    };
    compile_into(&mut b, pattern).map_err(CompileError::Pattern)?;
    if let Some(e) = b.locale_error {
        return Err(CompileError::Locale(e));
    }
    while b.levels.len() > 1 {
        end_optional(&mut b);
    }
    Ok(b.levels.pop().map(|l| l.elements).unwrap_or_default())
}

fn compile_into(b: &mut Builder<'_>, pattern: &str) -> Result<(), String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pos = 0;
    while pos < chars.len() {
        let cur = chars[pos];
        if cur.is_ascii_alphabetic() {
            let run = |from: usize| {
                chars[from..]
                    .iter()
                    .take_while(|&&c| c == chars[from])
                    .count()
            };
            let mut count = run(pos);
            let mut letter = cur;
            pos += count;
            if cur == 'p' {
                match chars.get(pos) {
                    Some(&next) if next.is_ascii_alphabetic() => {
                        let width = count;
                        letter = next;
                        count = run(pos);
                        pos += count;
                        let level = b.active();
                        level.pad = Some((width, ' '));
                        level.value_index = None;
                    }
                    _ => {
                        return Err(format!(
                            "Pad letter 'p' must be followed by valid pad pattern: {pattern}"
                        ));
                    }
                }
            }
            b.field(letter, count)?;
        } else if cur == '\'' {
            let start = pos + 1;
            pos += 1;
            loop {
                match chars.get(pos) {
                    None => {
                        return Err(format!(
                            "Pattern ends with an incomplete string literal: {pattern}"
                        ));
                    }
                    Some('\'') if chars.get(pos + 1) == Some(&'\'') => pos += 2,
                    Some('\'') => break,
                    Some(_) => pos += 1,
                }
            }
            let literal: String = chars[start..pos].iter().collect();
            pos += 1;
            if literal.is_empty() {
                b.append_internal(Element::Char('\''));
            } else {
                let literal = literal.replace("''", "'");
                let mut it = literal.chars();
                let element = match (it.next(), it.next()) {
                    (Some(c), None) => Element::Char(c),
                    _ => Element::Str(literal.into_boxed_str()),
                };
                b.append_internal(element);
            }
        } else {
            pos += 1;
            match cur {
                '[' => {
                    b.active().value_index = None;
                    b.levels.push(Level::new());
                }
                ']' => {
                    if b.levels.len() == 1 {
                        return Err(
                            "Pattern invalid as it contains ] without previous [".to_string()
                        );
                    }
                    end_optional(b);
                }
                '{' | '}' | '#' => {
                    return Err(format!("Pattern includes reserved character: '{cur}'"));
                }
                _ => {
                    b.append_internal(Element::Char(cur));
                }
            }
        }
    }
    Ok(())
}

/// `optionalEnd()`: an empty section leaves no element behind.
fn end_optional(b: &mut Builder<'_>) {
    if let Some(level) = b.levels.pop()
        && !level.elements.is_empty()
    {
        b.append_internal(Element::Optional(level.elements));
    }
}

/// SIF's naive checks on the raw pattern text (including quoted literals).
pub(crate) fn has_time_letters(pattern: &str) -> bool {
    pattern.contains(['H', 'k', 'K', 'h', 'm', 's', 'S'])
}

pub(crate) fn has_zone_letters(pattern: &str) -> bool {
    pattern.contains(['X', 'x', 'Z', 'z'])
}
