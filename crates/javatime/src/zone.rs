//! Time zones: `ZoneId.of` rules, the region registry backed by jiff's bundled tz database,
//! and `ZonedDateTime.ofLocal` resolution (gap: shift forward; overlap: earlier offset).

use std::fmt;
use std::sync::OnceLock;

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::civil::Date;
use crate::data;
use crate::trie::Trie;

/// tz database names that java.time does not list as region ids (it treats `EST`, `MST`
/// and `HST` as short ids only, and `GMT+0`-style names are offset-prefix ids).
const NOT_JAVA_REGIONS: [&str; 7] = ["EST", "Factory", "GMT+0", "GMT-0", "HST", "MST", "ROC"];

/// The prefix of an offset-based `ZoneId` such as `UTC+05:30`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prefix {
    None,
    Utc,
    Gmt,
    Ut,
}

/// A zone as java.time's `ZoneId`: a fixed offset (possibly prefixed) or a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ZoneRef {
    Offset { seconds: i32, prefix: Prefix },
    Region(u16),
}

impl ZoneRef {
    pub const UTC: ZoneRef = ZoneRef::Offset {
        seconds: 0,
        prefix: Prefix::None,
    };

    pub fn offset(seconds: i32) -> ZoneRef {
        ZoneRef::Offset {
            seconds,
            prefix: Prefix::None,
        }
    }

    /// `ZoneId.ofOffset(prefix, offset)`.
    fn prefixed(prefix: Prefix, seconds: i32) -> ZoneRef {
        ZoneRef::Offset { seconds, prefix }
    }
}

impl fmt::Display for ZoneRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ZoneRef::Region(i) => f.write_str(registry().name(i)),
            ZoneRef::Offset { seconds, prefix } => {
                let p = match prefix {
                    Prefix::None => "",
                    Prefix::Utc => "UTC",
                    Prefix::Gmt => "GMT",
                    Prefix::Ut => "UT",
                };
                if seconds == 0 && prefix != Prefix::None {
                    f.write_str(p)
                } else {
                    write!(f, "{p}{}", OffsetId(seconds))
                }
            }
        }
    }
}

/// `ZoneOffset.getId()`: `Z`, `+05:30` or `-08:00:15`.
pub(crate) struct OffsetId(pub i32);

impl fmt::Display for OffsetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.0;
        if total == 0 {
            return f.write_str("Z");
        }
        let abs = total.unsigned_abs();
        let sign = if total < 0 { '-' } else { '+' };
        write!(f, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)?;
        if !abs.is_multiple_of(60) {
            write!(f, ":{:02}", abs % 60)?;
        }
        Ok(())
    }
}

/// java.time's `SystemV/*` ids, which the tz database dropped, and the zones with their rules.
const SYSTEM_V: [(&str, &str); 13] = [
    ("SystemV/AST4", "Etc/GMT+4"),
    ("SystemV/AST4ADT", "America/Halifax"),
    ("SystemV/CST6", "Etc/GMT+6"),
    ("SystemV/CST6CDT", "CST6CDT"),
    ("SystemV/EST5", "Etc/GMT+5"),
    ("SystemV/EST5EDT", "EST5EDT"),
    ("SystemV/HST10", "Etc/GMT+10"),
    ("SystemV/MST7", "Etc/GMT+7"),
    ("SystemV/MST7MDT", "MST7MDT"),
    ("SystemV/PST8", "Etc/GMT+8"),
    ("SystemV/PST8PDT", "PST8PDT"),
    ("SystemV/YST9", "Etc/GMT+9"),
    ("SystemV/YST9YDT", "America/Anchorage"),
];

/// Region ids visible to java.time, each loaded on first use.
pub(crate) struct Registry {
    /// (java.time id, tz database name holding its rules), sorted by id.
    names: Vec<(String, String)>,
    zones: Vec<OnceLock<Option<TimeZone>>>,
    trie: Trie,
}

pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut names: Vec<(String, String)> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .filter(|n| !NOT_JAVA_REGIONS.contains(&n.as_str()))
            .map(|n| (n.clone(), n))
            .chain(
                SYSTEM_V
                    .iter()
                    .map(|(id, db)| (id.to_string(), db.to_string())),
            )
            .collect();
        names.sort();
        names.dedup();
        let mut trie = Trie::default();
        for (i, (name, _)) in names.iter().enumerate() {
            trie.insert(name, i as u16);
        }
        let zones = names.iter().map(|_| OnceLock::new()).collect();
        Registry { names, zones, trie }
    })
}

impl Registry {
    pub fn name(&self, index: u16) -> &str {
        self.names
            .get(usize::from(index))
            .map_or("", |n| n.0.as_str())
    }

    /// Exact (case-sensitive) region id lookup.
    pub fn find(&self, id: &str) -> Option<u16> {
        self.names
            .binary_search_by(|n| n.0.as_str().cmp(id))
            .ok()
            .map(|i| i as u16)
    }

    pub fn trie(&self) -> &Trie {
        &self.trie
    }

    fn tz(&self, index: u16) -> Result<&TimeZone, String> {
        let i = usize::from(index);
        let missing = || format!("Unknown time-zone ID: {}", self.name(index));
        let (Some((_, db_name)), Some(cell)) = (self.names.get(i), self.zones.get(i)) else {
            return Err(missing());
        };
        cell.get_or_init(|| jiff::tz::db().get(db_name).ok())
            .as_ref()
            .ok_or_else(missing)
    }
}

/// The trie of zone names the `z`/`zzzz` letters accept for one locale name set.
pub(crate) fn zone_name_trie(set: usize) -> &'static Trie {
    static TRIES: OnceLock<Vec<OnceLock<Trie>>> = OnceLock::new();
    let tries = TRIES.get_or_init(|| {
        data::ZONE_NAME_SETS
            .iter()
            .map(|_| OnceLock::new())
            .collect()
    });
    tries[set].get_or_init(|| {
        let reg = registry();
        let mut trie = Trie::default();
        for id in data::ZONE_ID_NAMES {
            if let Some(region) = reg.find(id) {
                trie.insert(id, region);
            }
        }
        for &pair in data::ZONE_NAME_SETS[set] {
            let (name, target) = data::ZONE_NAME_PAIRS[usize::from(pair)];
            if let Some(region) = reg.find(data::ZONE_TARGETS[usize::from(target)]) {
                trie.insert(name, region);
            }
        }
        trie
    })
}

/// `ZoneId.of(id)` with java.time's messages.
pub(crate) fn zone_of(id: &str) -> Result<ZoneRef, String> {
    if id.chars().count() <= 1 || id.starts_with('+') || id.starts_with('-') {
        return offset_of(id).map(ZoneRef::offset);
    }
    let prefixed = [
        ("UTC", Prefix::Utc),
        ("GMT", Prefix::Gmt),
        ("UT", Prefix::Ut),
    ];
    for (text, prefix) in prefixed {
        if let Some(rest) = id.strip_prefix(text) {
            if rest.is_empty() {
                return Ok(ZoneRef::prefixed(prefix, 0));
            }
            if rest.starts_with('+') || rest.starts_with('-') {
                return offset_of(rest)
                    .map(|s| ZoneRef::prefixed(prefix, s))
                    .map_err(|_| format!("Invalid ID for offset-based ZoneId: {id}"));
            }
            break;
        }
    }
    region_of(id)
}

/// `ZoneRegion.ofId`: format check, then an exact region id.
fn region_of(id: &str) -> Result<ZoneRef, String> {
    let b = id.as_bytes();
    let well_formed = b.len() >= 2
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"~/._+-".contains(&c));
    if !well_formed {
        return Err(format!(
            "Invalid ID for region-based ZoneId, invalid format: {id}"
        ));
    }
    registry()
        .find(id)
        .map(ZoneRef::Region)
        .ok_or_else(|| format!("Unknown time-zone ID: {id}"))
}

/// `ZoneOffset.of(id)`: `Z`, `±h`, `±hh`, `±hh:mm`, `±hhmm`, `±hh:mm:ss`, `±hhmmss`.
pub(crate) fn offset_of(id: &str) -> Result<i32, String> {
    if id == "Z" {
        return Ok(0);
    }
    let b = id.as_bytes();
    let invalid = |what: &str| format!("Invalid ID for ZoneOffset, {what}: {id}");
    let num = |pos: usize, colon: bool| -> Result<i32, String> {
        if colon && b[pos - 1] != b':' {
            return Err(invalid("colon not found when expected"));
        }
        let (c1, c2) = (b[pos], b[pos + 1]);
        if !c1.is_ascii_digit() || !c2.is_ascii_digit() {
            return Err(invalid("non numeric characters found"));
        }
        Ok(i32::from(c1 - b'0') * 10 + i32::from(c2 - b'0'))
    };
    if !id.is_ascii() {
        return Err(invalid("invalid format"));
    }
    let (h, m, s) = match b.len() {
        2 => {
            let c = b[1];
            if !c.is_ascii_digit() {
                return Err(invalid("non numeric characters found"));
            }
            (i32::from(c - b'0'), 0, 0)
        }
        3 => (num(1, false)?, 0, 0),
        5 => (num(1, false)?, num(3, false)?, 0),
        6 => (num(1, false)?, num(4, true)?, 0),
        7 => (num(1, false)?, num(3, false)?, num(5, false)?),
        9 => (num(1, false)?, num(4, true)?, num(7, true)?),
        _ => return Err(invalid("invalid format")),
    };
    let negative = match b[0] {
        b'+' => false,
        b'-' => true,
        _ => return Err(invalid("plus/minus not found when expected")),
    };
    offset_from_hms(h, m, s, negative)
}

/// `ZoneOffset.ofHoursMinutesSeconds` validation.
fn offset_from_hms(h: i32, m: i32, s: i32, negative: bool) -> Result<i32, String> {
    if h > 18 {
        let h = if negative { -h } else { h };
        return Err(format!(
            "Zone offset hours not in valid range: value {h} is not in the range -18 to 18"
        ));
    }
    if m > 59 {
        let m = if negative { -m } else { m };
        return Err(format!(
            "Zone offset minutes not in valid range: value {m} is not in the range -59 to 59"
        ));
    }
    if s > 59 {
        let s = if negative { -s } else { s };
        return Err(format!(
            "Zone offset seconds not in valid range: value {s} is not in the range -59 to 59"
        ));
    }
    if h == 18 && (m > 0 || s > 0) {
        return Err("Zone offset not in valid range: -18:00 to +18:00".to_string());
    }
    let total = h * 3600 + m * 60 + s;
    Ok(if negative { -total } else { total })
}

/// A zone ready for conversions.
pub(crate) enum Zone {
    Fixed(i32),
    Rules(&'static TimeZone),
}

impl Zone {
    pub fn of(zone: ZoneRef) -> Result<Zone, String> {
        match zone {
            ZoneRef::Offset { seconds, .. } => Ok(Zone::Fixed(seconds)),
            ZoneRef::Region(i) => registry().tz(i).map(Zone::Rules),
        }
    }

    /// `ZonedDateTime.ofLocal(ldt, zone, null)`: epoch second and the offset in force.
    pub fn local_to_instant(&self, date: Date, second_of_day: i64) -> Result<(i64, i32), String> {
        let local = date.epoch_day() * 86_400 + second_of_day;
        match self {
            Zone::Fixed(offset) => Ok((local - i64::from(*offset), *offset)),
            Zone::Rules(tz) => {
                // Rules repeat every 400 years beyond the tz data: move the year into range.
                let cycles = cycles_out_of_range(date.year);
                let year = date.year - 400 * cycles;
                let dt = civil_datetime(Date::new(year, date.month, date.day), second_of_day)?;
                let (instant_offset, offset) = match tz.to_ambiguous_timestamp(dt).offset() {
                    AmbiguousOffset::Unambiguous { offset } => (offset, offset),
                    // The local time moves forward by the gap: same instant as the old offset.
                    AmbiguousOffset::Gap { before, after } => (before, after),
                    AmbiguousOffset::Fold { before, .. } => (before, before),
                };
                Ok((
                    local - i64::from(instant_offset.seconds()),
                    offset.seconds(),
                ))
            }
        }
    }

    /// The offset in force at an instant.
    pub fn offset_at(&self, epoch_second: i64) -> Result<i32, String> {
        match self {
            Zone::Fixed(offset) => Ok(*offset),
            Zone::Rules(tz) => {
                let year = Date::from_epoch_day(epoch_second.div_euclid(86_400)).year;
                let shifted = epoch_second - cycles_out_of_range(year) * CYCLE_SECONDS;
                let ts = jiff::Timestamp::from_second(shifted)
                    .map_err(|e| format!("Instant out of range for time-zone rules: {e}"))?;
                Ok(tz.to_offset(ts).seconds())
            }
        }
    }
}

const CYCLE_SECONDS: i64 = 146_097 * 86_400;
/// Years kept clear of the ends of jiff's supported range (-9999..=9999).
const SAFE_YEAR: i64 = 9000;

/// Whole 400-year cycles that bring `year` into ±`SAFE_YEAR`.
fn cycles_out_of_range(year: i64) -> i64 {
    if year > SAFE_YEAR {
        (year - SAFE_YEAR + 399) / 400
    } else if year < -SAFE_YEAR {
        -((-SAFE_YEAR - year + 399) / 400)
    } else {
        0
    }
}

fn civil_datetime(date: Date, second_of_day: i64) -> Result<DateTime, String> {
    let out_of_range = |e: jiff::Error| format!("Date-time out of range for time-zone rules: {e}");
    let year = i16::try_from(date.year).map_err(|_| format!("Year out of range: {}", date.year))?;
    let (h, m, s) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    DateTime::new(
        year,
        date.month as i8,
        date.day as i8,
        h as i8,
        m as i8,
        s as i8,
        0,
    )
    .map_err(out_of_range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Result<String, String> {
        zone_of(s).map(|z| z.to_string())
    }

    #[test]
    fn zone_ids_follow_java_rules() {
        assert_eq!(id("America/Denver").unwrap(), "America/Denver");
        assert_eq!(id("UTC").unwrap(), "UTC");
        assert_eq!(id("Z").unwrap(), "Z");
        assert_eq!(id("+05:30").unwrap(), "+05:30");
        assert_eq!(id("+5").unwrap(), "+05:00");
        assert_eq!(id("-0830").unwrap(), "-08:30");
        assert_eq!(id("UTC+5").unwrap(), "UTC+05:00");
        assert_eq!(id("GMT-01:30").unwrap(), "GMT-01:30");
        assert_eq!(id("UT").unwrap(), "UT");
        assert_eq!(id("Etc/GMT+5").unwrap(), "Etc/GMT+5");
        assert_eq!(
            id("Mars/Base").unwrap_err(),
            "Unknown time-zone ID: Mars/Base"
        );
        assert_eq!(
            id("america/denver").unwrap_err(),
            "Unknown time-zone ID: america/denver"
        );
        assert_eq!(id("EST").unwrap_err(), "Unknown time-zone ID: EST");
        assert_eq!(
            id("+19").unwrap_err(),
            "Zone offset hours not in valid range: value 19 is not in the range -18 to 18"
        );
        assert_eq!(
            id("UTC+x").unwrap_err(),
            "Invalid ID for offset-based ZoneId: UTC+x"
        );
        assert_eq!(
            id("America Denver").unwrap_err(),
            "Invalid ID for region-based ZoneId, invalid format: America Denver"
        );
        assert_eq!(
            id("").unwrap_err(),
            "Invalid ID for ZoneOffset, invalid format: "
        );
        assert_eq!(
            id("+05:3x").unwrap_err(),
            "Invalid ID for ZoneOffset, non numeric characters found: +05:3x"
        );
    }

    #[test]
    fn dst_gap_and_overlap_follow_of_local() {
        let denver = Zone::of(zone_of("America/Denver").unwrap()).unwrap();
        // 2022-03-13 02:30 does not exist in Denver: shifted to 03:30 MDT (09:30Z).
        let (s, off) = denver
            .local_to_instant(Date::new(2022, 3, 13), 2 * 3600 + 1800)
            .unwrap();
        assert_eq!((s, off), (1_647_163_800, -6 * 3600));
        // 2022-11-06 01:30 happens twice: the earlier offset (MDT) wins.
        let (s, off) = denver
            .local_to_instant(Date::new(2022, 11, 6), 3600 + 1800)
            .unwrap();
        assert_eq!((s, off), (1_667_719_800, -6 * 3600));
        assert_eq!(denver.offset_at(1_667_719_800 + 3600).unwrap(), -7 * 3600);
    }

    #[test]
    fn years_beyond_the_tz_data_repeat_the_rules() {
        let denver = Zone::of(zone_of("America/Denver").unwrap()).unwrap();
        let at = |year, month| {
            denver
                .local_to_instant(Date::new(year, month, 1), 0)
                .unwrap()
        };
        assert_eq!(at(99_999, 7).1, -6 * 3600);
        assert_eq!(at(99_999, 1).1, -7 * 3600);
        assert_eq!(at(99_999, 1).0.rem_euclid(86_400), 7 * 3600);
        let far = Date::new(99_999, 1, 21).epoch_day() * 86_400;
        assert_eq!(denver.offset_at(far).unwrap(), -7 * 3600);
        // Before the first transition: local mean time (-6:59:56).
        assert_eq!(at(-50_000, 1).1, -25_196);
    }
}
