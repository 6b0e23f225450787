//! Parsing of date/time text with java.time `DateTimeFormatter.ofPattern` patterns, as
//! behind SIF's formula function `AS_TIMESTAMP(value, pattern, timezone, locale, roundDownTo)`.
//!
//! A [`TimestampPattern`] compiles the pattern, locale, zone and rounding once; each
//! [`TimestampPattern::parse_millis`] then parses one value to epoch milliseconds truncated to
//! whole seconds. Parsing is strict and case-sensitive and resolves fields with java.time's
//! SMART resolver; error messages follow java.time's texts.

mod civil;
mod data;
mod field;
mod locale;
mod parse;
mod pattern;
mod resolve;
mod trie;
mod week;
mod zone;

use std::fmt;

use civil::{Date, Time};
use locale::Locale;
use parse::{Fail, Parsed, utf16_index};
use pattern::Element;
use zone::{Zone, ZoneRef};

/// Locale used when none is given (the JVM default of the deployed SIF).
pub const DEFAULT_LOCALE: &str = "en-US";

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `timezone` is not a valid zone id or offset.
    Zone,
    /// The pattern is invalid or uses an unsupported letter.
    Pattern,
    /// The pattern needs locale texts or zone names that are not bundled for the locale.
    Locale,
    /// The value does not match the pattern or does not resolve to a date/time.
    Parse,
    /// `roundDownTo` is not one of `day`, `week`, `month`, `quarter`, `year`.
    Rounding,
    /// The date-time is outside the range the time-zone rules cover.
    Range,
}

/// An error with its user-facing message (java.time's text for parse failures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampError {
    kind: ErrorKind,
    message: String,
    index: Option<usize>,
}

impl TimestampError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> TimestampError {
        TimestampError {
            kind,
            message: message.into(),
            index: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// For parse failures at a position: the index (UTF-16 units, as java.time reports it).
    pub fn index(&self) -> Option<usize> {
        self.index
    }
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TimestampError {}

/// `roundDownTo` values (case-sensitive in formulas).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundDownTo {
    Day,
    /// Start of the week; the first day of the week comes from the locale's region.
    Week,
    Month,
    Quarter,
    Year,
}

impl RoundDownTo {
    /// Parses a formula's `roundDownTo` text; others fail with `Unexpected value: <v>`.
    pub fn parse(text: &str) -> Result<RoundDownTo, TimestampError> {
        match text {
            "day" => Ok(RoundDownTo::Day),
            "week" => Ok(RoundDownTo::Week),
            "month" => Ok(RoundDownTo::Month),
            "quarter" => Ok(RoundDownTo::Quarter),
            "year" => Ok(RoundDownTo::Year),
            _ => Err(TimestampError::new(
                ErrorKind::Rounding,
                format!("Unexpected value: {text}"),
            )),
        }
    }
}

/// How a rounded local date-time becomes an instant again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoundingOffset {
    /// SIF's behaviour: the UTC offset of the original value is reused even if the rounded
    /// date-time has another offset (across a DST change the result is off by the DST delta).
    #[default]
    OriginalOffset,
    /// The rounded local date-time is resolved in the zone (gap: shifted forward; overlap:
    /// earlier offset), giving the true start of the day/week/month/quarter/year.
    ZoneRules,
}

/// How the value is parsed, chosen by SIF's naive letter checks on the pattern text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `LocalDate.parse`, at 00:00 in the zone.
    Date,
    /// `LocalDateTime.parse`, placed in the zone; a zone in the value is ignored.
    LocalDateTime,
    /// `ZonedDateTime.parse`: the zone or offset comes from the value.
    Zoned,
}

/// A compiled `AS_TIMESTAMP` pattern with its zone, locale and rounding.
pub struct TimestampPattern {
    elements: Vec<Element>,
    locale: Locale,
    zone: ZoneRef,
    mode: Mode,
    /// An invalid `roundDownTo` is reported after a successful parse, as SIF does.
    rounding: Result<Option<RoundDownTo>, TimestampError>,
    rounding_offset: RoundingOffset,
}

impl fmt::Debug for TimestampPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimestampPattern")
            .field("elements", &self.elements.len())
            .field("locale", &self.locale)
            .field("zone", &self.zone.to_string())
            .field("mode", &self.mode)
            .field("rounding", &self.rounding)
            .field("rounding_offset", &self.rounding_offset)
            .finish()
    }
}

impl TimestampPattern {
    /// Compiles a pattern. `timezone` follows `ZoneId.of` (region ids, `UTC`, `+05:30`;
    /// default UTC), `locale` is a BCP-47 tag (default `en-US`). Errors are reported in SIF's
    /// order: zone, then pattern; an invalid `round_down_to` only after a value parsed.
    pub fn new(
        pattern: &str,
        timezone: Option<&str>,
        locale: Option<&str>,
        round_down_to: Option<&str>,
    ) -> Result<TimestampPattern, TimestampError> {
        let locale = Locale::from_tag(locale.unwrap_or(DEFAULT_LOCALE));
        let zone = match timezone {
            Some(id) => zone::zone_of(id).map_err(|m| TimestampError::new(ErrorKind::Zone, m))?,
            None => ZoneRef::UTC,
        };
        // Loads the zone's rules now so that a broken database entry fails here.
        Zone::of(zone).map_err(|m| TimestampError::new(ErrorKind::Zone, m))?;
        let elements = pattern::compile(pattern, &locale).map_err(|e| match e {
            pattern::CompileError::Pattern(m) => TimestampError::new(ErrorKind::Pattern, m),
            pattern::CompileError::Locale(m) => TimestampError::new(ErrorKind::Locale, m),
        })?;
        let mode = if !pattern::has_time_letters(pattern) {
            Mode::Date
        } else if pattern::has_zone_letters(pattern) && timezone.is_none() {
            Mode::Zoned
        } else {
            Mode::LocalDateTime
        };
        Ok(TimestampPattern {
            elements,
            locale,
            zone,
            mode,
            rounding: round_down_to.map(RoundDownTo::parse).transpose(),
            rounding_offset: RoundingOffset::default(),
        })
    }

    /// Chooses how rounded values are converted back to instants (default: SIF's behaviour).
    pub fn with_rounding_offset(mut self, rounding_offset: RoundingOffset) -> TimestampPattern {
        self.rounding_offset = rounding_offset;
        self
    }

    /// Parses a value to epoch milliseconds, truncated to whole seconds.
    pub fn parse_millis(&self, value: &str) -> Result<i64, TimestampError> {
        let mut parsed = Parsed::default();
        let end = parse::parse_elements(&self.elements, &mut parsed, value, 0)
            .map_err(|fail| parse_error(value, fail))?;
        if end < value.len() {
            let index = utf16_index(value, end);
            return Err(TimestampError {
                kind: ErrorKind::Parse,
                message: format!(
                    "Text '{}' could not be parsed, unparsed text found at index {index}",
                    abbreviate(value)
                ),
                index: Some(index),
            });
        }
        let week = self.locale.week;
        let resolved = resolve::resolve(&mut parsed, week).map_err(|m| {
            TimestampError::new(
                ErrorKind::Parse,
                format!("Text '{}' could not be parsed: {m}", abbreviate(value)),
            )
        })?;
        let unable = |what: &str| {
            let mut m = format!(
                "Text '{}' could not be parsed: Unable to obtain {what} from TemporalAccessor: {},ISO",
                abbreviate(value),
                parsed.describe(week)
            );
            if let Some(z) = parsed.zone {
                m.push_str(&format!(",{z}"));
            }
            match (resolved.date, resolved.time) {
                (Some(d), Some(t)) => m.push_str(&format!(" resolved to {d}T{t}")),
                (Some(d), None) => m.push_str(&format!(" resolved to {d}")),
                (None, Some(t)) => m.push_str(&format!(" resolved to {t}")),
                (None, None) => {}
            }
            m.push_str(" of type java.time.format.Parsed");
            TimestampError::new(ErrorKind::Parse, m)
        };
        // The value's instant, its zone and, when already known, the UTC offset in force.
        let (epoch_second, zone, offset) = match self.mode {
            Mode::Date => {
                let date = resolved.date.ok_or_else(|| unable("LocalDate"))?;
                let (s, o) = self.local_to_instant(self.zone, date, Time::MIDNIGHT)?;
                (s, self.zone, Some(o))
            }
            Mode::LocalDateTime => {
                let (Some(date), Some(time)) = (resolved.date, resolved.time) else {
                    return Err(unable("LocalDateTime"));
                };
                let (s, o) = self.local_to_instant(self.zone, date, time)?;
                (s, self.zone, Some(o))
            }
            Mode::Zoned => {
                let offset = parsed.get(field::Field::OffsetSeconds).map(|o| o as i32);
                let zone = parsed.zone.or(offset.map(ZoneRef::offset));
                let (Some(zone), Some(date), Some(time)) = (zone, resolved.date, resolved.time)
                else {
                    return Err(unable("ZonedDateTime"));
                };
                let local = date.epoch_day() * 86_400 + time.second_of_day();
                match (offset, parsed.zone) {
                    // An offset in the value fixes the instant; a zone also given only
                    // determines the offset shown for that instant.
                    (Some(o), None) => (local - i64::from(o), zone, Some(o)),
                    (Some(o), Some(_)) => (local - i64::from(o), zone, None),
                    (None, _) => {
                        let (s, o) = self.local_to_instant(zone, date, time)?;
                        (s, zone, Some(o))
                    }
                }
            }
        };
        let epoch_second = match self.rounding.clone()? {
            None => epoch_second,
            Some(r) => {
                let offset = match offset {
                    Some(o) => o,
                    None => Zone::of(zone)
                        .and_then(|z| z.offset_at(epoch_second))
                        .map_err(|m| TimestampError::new(ErrorKind::Range, m))?,
                };
                let local = epoch_second + i64::from(offset);
                let rounded = round_date(Date::from_epoch_day(local.div_euclid(86_400)), r, week);
                match self.rounding_offset {
                    RoundingOffset::OriginalOffset => {
                        rounded.epoch_day() * 86_400 - i64::from(offset)
                    }
                    RoundingOffset::ZoneRules => {
                        self.local_to_instant(zone, rounded, Time::MIDNIGHT)?.0
                    }
                }
            }
        };
        // java.time's toEpochSecond() * 1000 on a long.
        Ok(epoch_second.wrapping_mul(1000))
    }

    fn local_to_instant(
        &self,
        zone: ZoneRef,
        date: Date,
        time: Time,
    ) -> Result<(i64, i32), TimestampError> {
        Zone::of(zone)
            .and_then(|z| z.local_to_instant(date, time.second_of_day()))
            .map_err(|m| TimestampError::new(ErrorKind::Range, m))
    }
}

fn round_date(d: Date, r: RoundDownTo, week: field::WeekDef) -> Date {
    match r {
        RoundDownTo::Day => d,
        RoundDownTo::Week => d.plus_days(1 - week::localized_day_of_week(d.day_of_week(), week)),
        RoundDownTo::Month => Date::new(d.year, d.month, 1),
        RoundDownTo::Quarter => Date::new(d.year, (d.month - 1) / 3 * 3 + 1, 1),
        RoundDownTo::Year => Date::new(d.year, 1, 1),
    }
}

/// The value as java.time quotes it in messages: cut to 64 UTF-16 units plus `...`.
fn abbreviate(value: &str) -> String {
    if value.encode_utf16().count() <= 64 {
        return value.to_string();
    }
    let mut units = 0;
    let mut out = String::new();
    for c in value.chars() {
        units += c.len_utf16();
        if units > 64 {
            break;
        }
        out.push(c);
    }
    out.push_str("...");
    out
}

fn parse_error(value: &str, fail: Fail) -> TimestampError {
    let (index, message) = match fail {
        Fail::At(byte) => {
            let i = utf16_index(value, byte);
            (
                Some(i),
                format!(
                    "Text '{}' could not be parsed at index {i}",
                    abbreviate(value)
                ),
            )
        }
        Fail::AtIndex(i) => (
            Some(i),
            format!(
                "Text '{}' could not be parsed at index {i}",
                abbreviate(value)
            ),
        ),
        Fail::Error(m) => (
            None,
            format!("Text '{}' could not be parsed: {m}", abbreviate(value)),
        ),
    };
    TimestampError {
        kind: ErrorKind::Parse,
        message,
        index,
    }
}

/// One-off `AS_TIMESTAMP`: compiles the pattern and parses one value.
pub fn as_timestamp(
    value: &str,
    pattern: &str,
    timezone: Option<&str>,
    locale: Option<&str>,
    round_down_to: Option<&str>,
) -> Result<i64, TimestampError> {
    TimestampPattern::new(pattern, timezone, locale, round_down_to)?.parse_millis(value)
}
