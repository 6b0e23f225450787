//! Proleptic ISO calendar arithmetic over the full java.time year range (±999,999,999).

use std::fmt;

/// Days from 0000-03-01 to 1970-01-01.
const DAYS_0000_TO_1970: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

pub(crate) fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(crate) fn month_length(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(crate) fn year_length(year: i64) -> i64 {
    if is_leap(year) { 366 } else { 365 }
}

/// A calendar date; always valid (callers validate before constructing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Date {
    pub year: i64,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn new(year: i64, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Days since 1970-01-01 (March-based era computation).
    pub fn epoch_day(self) -> i64 {
        let (y, m) = if self.month <= 2 {
            (self.year - 1, i64::from(self.month) + 9)
        } else {
            (self.year, i64::from(self.month) - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * m + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * DAYS_PER_ERA + doe - DAYS_0000_TO_1970
    }

    pub fn from_epoch_day(epoch_day: i64) -> Date {
        let z = epoch_day + DAYS_0000_TO_1970;
        let era = z.div_euclid(DAYS_PER_ERA);
        let doe = z.rem_euclid(DAYS_PER_ERA);
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date { year, month, day }
    }

    pub fn from_year_day(year: i64, day_of_year: i64) -> Date {
        Date::from_epoch_day(Date::new(year, 1, 1).epoch_day() + day_of_year - 1)
    }

    pub fn plus_days(self, days: i64) -> Date {
        Date::from_epoch_day(self.epoch_day() + days)
    }

    /// ISO day-of-week, Monday = 1 … Sunday = 7.
    pub fn day_of_week(self) -> u8 {
        (self.epoch_day() + 3).rem_euclid(7) as u8 + 1
    }

    pub fn day_of_year(self) -> i64 {
        self.epoch_day() - Date::new(self.year, 1, 1).epoch_day() + 1
    }
}

/// `LocalDate.toString()`: four-digit years padded, years beyond 9999 signed.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let y = self.year;
        if y.abs() < 1000 {
            let sign = if y < 0 { "-" } else { "" };
            write!(f, "{sign}{:04}", y.abs())?;
        } else if y > 9999 {
            write!(f, "+{y}")?;
        } else {
            write!(f, "{y}")?;
        }
        write!(f, "-{:02}-{:02}", self.month, self.day)
    }
}

/// A time of day with nanosecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Time {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nano: u32,
}

impl Time {
    pub const MIDNIGHT: Time = Time {
        hour: 0,
        minute: 0,
        second: 0,
        nano: 0,
    };

    pub fn second_of_day(self) -> i64 {
        i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second)
    }
}

/// `LocalTime.toString()`.
impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)?;
        if self.second > 0 || self.nano > 0 {
            write!(f, ":{:02}", self.second)?;
            if self.nano > 0 {
                if self.nano.is_multiple_of(1_000_000) {
                    write!(f, ".{:03}", self.nano / 1_000_000)?;
                } else if self.nano.is_multiple_of(1000) {
                    write!(f, ".{:06}", self.nano / 1000)?;
                } else {
                    write!(f, ".{:09}", self.nano)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_day_round_trips() {
        for ed in (-800_000..800_000).step_by(37) {
            let d = Date::from_epoch_day(ed);
            assert_eq!(d.epoch_day(), ed, "{d}");
            assert!(d.day >= 1 && d.day <= month_length(d.year, d.month));
        }
        assert_eq!(Date::new(1970, 1, 1).epoch_day(), 0);
        assert_eq!(Date::new(1969, 12, 31).epoch_day(), -1);
        assert_eq!(Date::new(2000, 3, 1).epoch_day(), 11_017);
        assert_eq!(Date::new(2022, 1, 21).day_of_week(), 5);
        assert_eq!(
            Date::new(-999_999_999, 1, 1).to_string(),
            "-999999999-01-01"
        );
        assert_eq!(Date::new(12, 1, 1).to_string(), "0012-01-01");
        assert_eq!(Date::new(-5, 1, 1).to_string(), "-0005-01-01");
        assert_eq!(Date::new(10_000, 1, 1).to_string(), "+10000-01-01");
    }

    #[test]
    fn leap_years() {
        assert!(is_leap(2000) && is_leap(2024) && is_leap(-4) && is_leap(0));
        assert!(!is_leap(1900) && !is_leap(2023) && !is_leap(-1));
        assert_eq!(month_length(2024, 2), 29);
        assert_eq!(month_length(2100, 2), 28);
    }

    #[test]
    fn time_display_matches_local_time() {
        let t = |h, m, s, n| {
            Time {
                hour: h,
                minute: m,
                second: s,
                nano: n,
            }
            .to_string()
        };
        assert_eq!(t(10, 0, 0, 0), "10:00");
        assert_eq!(t(10, 0, 5, 0), "10:00:05");
        assert_eq!(t(10, 0, 0, 97_000_000), "10:00:00.097");
        assert_eq!(t(10, 0, 0, 1000), "10:00:00.000001");
        assert_eq!(t(10, 0, 0, 1), "10:00:00.000000001");
    }
}
