//! java.time's SMART resolution of parsed fields into a date and a time, with its
//! cross-checks and messages.

use crate::civil::{Date, Time, is_leap, month_length};
use crate::field::{Field, WeekDef};
use crate::parse::Parsed;
use crate::week;

const MJD_OFFSET: i64 = 40_587;

/// The outcome of resolution: what `LocalDate`/`LocalTime` queries see.
pub(crate) struct Resolved {
    pub date: Option<Date>,
    pub time: Option<Time>,
}

struct Resolver<'a> {
    p: &'a mut Parsed,
    week: WeekDef,
    date: Option<Date>,
    time: Option<Time>,
    excess_days: i64,
}

/// Resolves in place: fields that were used up are removed from `parsed`.
pub(crate) fn resolve(parsed: &mut Parsed, week: WeekDef) -> Result<Resolved, String> {
    let mut r = Resolver {
        p: parsed,
        week,
        date: None,
        time: None,
        excess_days: 0,
    };
    r.resolve_fields()?;
    r.resolve_time_lenient()?;
    r.cross_check()?;
    r.resolve_fractional();
    if let (Some(d), Some(_)) = (r.date, r.time) {
        if r.excess_days != 0 {
            r.date = Some(d.plus_days(r.excess_days));
        }
        // `resolveInstant` builds a `ZoneOffset` whenever an offset was parsed.
        if r.p
            .get(Field::OffsetSeconds)
            .is_some_and(|o| o.abs() > 18 * 3600)
        {
            return Err("Zone offset not in valid range: -18:00 to +18:00".to_string());
        }
    }
    Ok(Resolved {
        date: r.date,
        time: r.time,
    })
}

impl Resolver<'_> {
    fn check(&self, f: Field, v: i64) -> Result<i64, String> {
        f.check(v, self.week)
    }

    fn resolve_fields(&mut self) -> Result<(), String> {
        self.resolve_date_fields()?;
        self.resolve_time_fields()?;
        let mut changed = false;
        while self.resolve_other_field()? {
            changed = true;
        }
        if changed {
            self.resolve_date_fields()?;
            self.resolve_time_fields()?;
        }
        Ok(())
    }

    /// One step of `TemporalField.resolve` over the non-ISO fields; true if anything changed.
    fn resolve_other_field(&mut self) -> Result<bool, String> {
        if let Some(v) = self.p.get(Field::LocalizedDayOfWeek) {
            let v = self.check(Field::LocalizedDayOfWeek, v)?;
            let iso = (i64::from(self.week.first_day) - 1 + (v - 1)).rem_euclid(7) + 1;
            self.p.remove(Field::LocalizedDayOfWeek);
            self.p.put(Field::DayOfWeek, iso);
            return Ok(true);
        }
        if let Some(mjd) = self.p.remove(Field::ModifiedJulianDay) {
            let mjd = self.check(Field::ModifiedJulianDay, mjd)?;
            self.set_date(Date::from_epoch_day(mjd - MJD_OFFSET))?;
            return Ok(true);
        }
        for f in [
            Field::WeekOfMonth,
            Field::WeekOfWeekBasedYear,
            Field::WeekBasedYear,
        ] {
            if let Some(v) = self.p.get(f)
                && self.resolve_week_field(f, v)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn resolve_week_field(&mut self, f: Field, value: i64) -> Result<bool, String> {
        if i32::try_from(value).is_err() {
            return Err("integer overflow".to_string());
        }
        let Some(iso_dow) = self.p.get(Field::DayOfWeek) else {
            return Ok(false);
        };
        let iso_dow = self.check(Field::DayOfWeek, iso_dow)? as u8;
        let dow = week::localized_day_of_week(iso_dow, self.week);
        if let Some(year) = self.p.get(Field::Year) {
            let year = self.check(Field::Year, year)?;
            if f == Field::WeekOfMonth
                && let Some(month) = self.p.get(Field::MonthOfYear)
            {
                let month = self.check(Field::MonthOfYear, month)? as u8;
                let wom = self.check(Field::WeekOfMonth, value)?;
                let date = week::resolve_week_of_month(year, month, wom, dow, self.week);
                for r in [f, Field::Year, Field::MonthOfYear, Field::DayOfWeek] {
                    self.p.remove(r);
                }
                self.set_date(date)?;
                return Ok(true);
            }
            return Ok(false);
        }
        let (Some(wby), Some(wowby)) = (
            self.p.get(Field::WeekBasedYear),
            self.p.get(Field::WeekOfWeekBasedYear),
        ) else {
            return Ok(false);
        };
        if f == Field::WeekOfMonth {
            return Ok(false);
        }
        let wby = self.check(Field::WeekBasedYear, wby)?;
        let wowby = self.check(Field::WeekOfWeekBasedYear, wowby)?;
        let date = week::of_week_based_year(wby, wowby, dow, self.week);
        for r in [
            f,
            Field::WeekBasedYear,
            Field::WeekOfWeekBasedYear,
            Field::DayOfWeek,
        ] {
            self.p.remove(r);
        }
        self.set_date(date)?;
        Ok(true)
    }

    fn set_date(&mut self, date: Date) -> Result<(), String> {
        match self.date {
            Some(old) if old != date => Err(format!(
                "Conflict found: Fields resolved to two different dates: {old} {date}"
            )),
            _ => {
                self.date = Some(date);
                Ok(())
            }
        }
    }

    /// `AbstractChronology.addFieldValue`.
    fn add_field(&mut self, f: Field, value: i64) -> Result<(), String> {
        match self.p.get(f) {
            Some(old) if old != value => {
                let name = f.name(self.week);
                Err(format!(
                    "Conflict found: {name} {old} differs from {name} {value}"
                ))
            }
            _ => {
                self.p.put(f, value);
                Ok(())
            }
        }
    }

    /// `IsoChronology.resolveDate` in SMART mode.
    fn resolve_date_fields(&mut self) -> Result<(), String> {
        if let Some(yoe) = self.p.remove(Field::YearOfEra) {
            self.check(Field::YearOfEra, yoe)?;
            match self.p.remove(Field::Era) {
                None => {
                    let year = self.p.get(Field::Year);
                    let y = if year.is_none_or(|y| y > 0) {
                        yoe
                    } else {
                        1 - yoe
                    };
                    self.add_field(Field::Year, y)?;
                }
                Some(1) => self.add_field(Field::Year, yoe)?,
                Some(0) => self.add_field(Field::Year, 1 - yoe)?,
                Some(era) => return Err(format!("Invalid value for era: {era}")),
            }
        } else if let Some(era) = self.p.get(Field::Era) {
            self.check(Field::Era, era)?;
        }
        if !self.p.has(Field::Year) {
            return Ok(());
        }
        if self.p.has(Field::MonthOfYear) && self.p.has(Field::DayOfMonth) {
            let y = self.take_checked(Field::Year)?;
            let m = self.take_checked(Field::MonthOfYear)? as u8;
            let d = self.take_checked(Field::DayOfMonth)? as u8;
            // SMART: an invalid day-of-month becomes the month's last day.
            let d = d.min(month_length(y, m));
            return self.set_date(Date::new(y, m, d));
        }
        if self.p.has(Field::DayOfYear) {
            let y = self.take_checked(Field::Year)?;
            let doy = self.take_checked(Field::DayOfYear)?;
            if doy == 366 && !is_leap(y) {
                return Err(format!(
                    "Invalid date 'DayOfYear 366' as '{y}' is not a leap year"
                ));
            }
            return self.set_date(Date::from_year_day(y, doy));
        }
        Ok(())
    }

    fn take_checked(&mut self, f: Field) -> Result<i64, String> {
        let v = self.p.remove(f).unwrap_or_default();
        self.check(f, v)
    }

    /// `Parsed.updateCheckConflict(targetField, changeField, value)`.
    fn derive(&mut self, target: Field, change: Field, value: i64) -> Result<(), String> {
        match self.p.put(change, value) {
            Some(old) if old != value => {
                let name = change.name(self.week);
                Err(format!(
                    "Conflict found: {name} {old} differs from {name} {value} while resolving  {}",
                    target.name(self.week)
                ))
            }
            _ => Ok(()),
        }
    }

    fn resolve_time_fields(&mut self) -> Result<(), String> {
        if let Some(ch) = self.p.remove(Field::ClockHourOfDay) {
            if ch != 0 {
                self.check(Field::ClockHourOfDay, ch)?;
            }
            let h = if ch == 24 { 0 } else { ch };
            self.derive(Field::ClockHourOfDay, Field::HourOfDay, h)?;
        }
        if let Some(ch) = self.p.remove(Field::ClockHourOfAmPm) {
            if ch != 0 {
                self.check(Field::ClockHourOfAmPm, ch)?;
            }
            let h = if ch == 12 { 0 } else { ch };
            self.derive(Field::ClockHourOfAmPm, Field::HourOfAmPm, h)?;
        }
        if self.p.has(Field::AmPmOfDay) && self.p.has(Field::HourOfAmPm) {
            let ap = self.take_checked(Field::AmPmOfDay)?;
            let hap = self.take_checked(Field::HourOfAmPm)?;
            self.derive(Field::AmPmOfDay, Field::HourOfDay, ap * 12 + hap)?;
        }
        if let Some(nod) = self.p.remove(Field::NanoOfDay) {
            let nod = self.check(Field::NanoOfDay, nod)?;
            let t = Field::NanoOfDay;
            self.derive(t, Field::HourOfDay, nod / 3_600_000_000_000)?;
            self.derive(t, Field::MinuteOfHour, nod / 60_000_000_000 % 60)?;
            self.derive(t, Field::SecondOfMinute, nod / 1_000_000_000 % 60)?;
            self.derive(t, Field::NanoOfSecond, nod % 1_000_000_000)?;
        }
        if let Some(lod) = self.p.remove(Field::MilliOfDay) {
            let lod = self.check(Field::MilliOfDay, lod)?;
            self.derive(Field::MilliOfDay, Field::SecondOfDay, lod / 1000)?;
            self.derive(Field::MilliOfDay, Field::MilliOfSecond, lod % 1000)?;
        }
        if let Some(sod) = self.p.remove(Field::SecondOfDay) {
            let sod = self.check(Field::SecondOfDay, sod)?;
            let t = Field::SecondOfDay;
            self.derive(t, Field::HourOfDay, sod / 3600)?;
            self.derive(t, Field::MinuteOfHour, sod / 60 % 60)?;
            self.derive(t, Field::SecondOfMinute, sod % 60)?;
        }
        if let Some(nos) = self.p.get(Field::NanoOfSecond) {
            self.check(Field::NanoOfSecond, nos)?;
            if let Some(los) = self.p.remove(Field::MilliOfSecond) {
                let los = self.check(Field::MilliOfSecond, los)?;
                let nanos = los * 1_000_000 + nos % 1_000_000;
                self.derive(Field::MilliOfSecond, Field::NanoOfSecond, nanos)?;
            }
        }
        let hmsn = [
            Field::HourOfDay,
            Field::MinuteOfHour,
            Field::SecondOfMinute,
            Field::NanoOfSecond,
        ];
        if hmsn.iter().all(|&f| self.p.has(f)) {
            let [h, m, s, n] = hmsn.map(|f| self.p.remove(f).unwrap_or_default());
            self.resolve_time(h, m, s, n)?;
        }
        Ok(())
    }

    fn resolve_time(&mut self, h: i64, m: i64, s: i64, n: i64) -> Result<(), String> {
        let m = self.check(Field::MinuteOfHour, m)?;
        let n = self.check(Field::NanoOfSecond, n)?;
        if h == 24 && m == 0 && s == 0 && n == 0 {
            // SMART accepts 24:00 as midnight of the next day.
            return self.set_time(Time::MIDNIGHT, 1);
        }
        let h = self.check(Field::HourOfDay, h)?;
        let s = self.check(Field::SecondOfMinute, s)?;
        let time = Time {
            hour: h as u8,
            minute: m as u8,
            second: s as u8,
            nano: n as u32,
        };
        self.set_time(time, 0)
    }

    fn set_time(&mut self, time: Time, days: i64) -> Result<(), String> {
        if let Some(old) = self.time {
            if old != time {
                return Err(format!(
                    "Conflict found: Fields resolved to different times: {old} {time}"
                ));
            }
            if self.excess_days != 0 && days != 0 && self.excess_days != days {
                return Err(format!(
                    "Conflict found: Fields resolved to different excess periods: P{}D P{days}D",
                    self.excess_days
                ));
            }
        }
        self.time = Some(time);
        self.excess_days = days;
        Ok(())
    }

    /// Builds a time from an hour with defaulted smaller fields, or from AM/PM alone.
    fn resolve_time_lenient(&mut self) -> Result<(), String> {
        if self.time.is_none() {
            if let Some(los) = self.p.remove(Field::MilliOfSecond) {
                self.p.put(Field::NanoOfSecond, los * 1_000_000);
            }
            let hmsn = [
                Field::HourOfDay,
                Field::MinuteOfHour,
                Field::SecondOfMinute,
                Field::NanoOfSecond,
            ];
            if !hmsn.iter().any(|&f| self.p.has(f))
                && let Some(ap) = self.p.remove(Field::AmPmOfDay)
            {
                // SMART: "AM" alone is 06:00, "PM" alone 18:00.
                let ap = self.check(Field::AmPmOfDay, ap)?;
                self.resolve_time(ap * 12 + 6, 0, 0, 0)?;
            }
            if let Some(h) = self.p.get(Field::HourOfDay) {
                let m = self.p.get(Field::MinuteOfHour);
                let s = self.p.get(Field::SecondOfMinute);
                let n = self.p.get(Field::NanoOfSecond);
                if (m.is_none() && (s.is_some() || n.is_some()))
                    || (m.is_some() && s.is_none() && n.is_some())
                {
                    return Ok(());
                }
                self.resolve_time(h, m.unwrap_or(0), s.unwrap_or(0), n.unwrap_or(0))?;
                for f in [
                    Field::HourOfDay,
                    Field::MinuteOfHour,
                    Field::SecondOfMinute,
                    Field::NanoOfSecond,
                ] {
                    self.p.remove(f);
                }
            }
        }
        for f in self.p.present() {
            if f.is_chrono_field() && f.is_time_based() {
                self.check(f, self.p.get(f).unwrap_or_default())?;
            }
        }
        Ok(())
    }

    /// Seconds without a time get zero sub-second fields (they only show in messages).
    fn resolve_fractional(&mut self) {
        if self.time.is_none()
            && (self.p.has(Field::SecondOfDay) || self.p.has(Field::SecondOfMinute))
        {
            let nanos = self.p.get(Field::NanoOfSecond).unwrap_or(0);
            self.p.put(Field::NanoOfSecond, nanos);
            self.p.put(Field::MicroOfSecond, nanos / 1000);
            self.p.put(Field::MilliOfSecond, nanos / 1_000_000);
        }
    }

    fn cross_check(&mut self) -> Result<(), String> {
        if let Some(date) = self.date {
            for f in self.p.present() {
                if let Some(derived) = date_field(date, f, self.week) {
                    self.compare(f, derived, &date)?;
                }
            }
        }
        if let Some(time) = self.time {
            for f in self.p.present() {
                if let Some(derived) = time_field(time, f) {
                    self.compare(f, derived, &time)?;
                }
            }
        }
        Ok(())
    }

    fn compare(
        &mut self,
        f: Field,
        derived: i64,
        from: &dyn std::fmt::Display,
    ) -> Result<(), String> {
        let parsed = self.p.get(f).unwrap_or_default();
        if derived != parsed {
            let name = f.name(self.week);
            return Err(format!(
                "Conflict found: Field {name} {derived} differs from {name} {parsed} derived from {from}"
            ));
        }
        self.p.remove(f);
        Ok(())
    }
}

/// The value of a date-based field for a date (`None` if a date does not support it).
fn date_field(d: Date, f: Field, week: WeekDef) -> Option<i64> {
    Some(match f {
        Field::Era => i64::from(d.year >= 1),
        Field::YearOfEra => {
            if d.year >= 1 {
                d.year
            } else {
                1 - d.year
            }
        }
        Field::Year => d.year,
        Field::QuarterOfYear => (i64::from(d.month) + 2) / 3,
        Field::MonthOfYear => i64::from(d.month),
        Field::DayOfYear => d.day_of_year(),
        Field::DayOfMonth => i64::from(d.day),
        Field::AlignedDayOfWeekInMonth => (i64::from(d.day) - 1) % 7 + 1,
        Field::DayOfWeek => i64::from(d.day_of_week()),
        Field::ModifiedJulianDay => d.epoch_day() + MJD_OFFSET,
        Field::LocalizedDayOfWeek => week::localized_day_of_week(d.day_of_week(), week),
        Field::WeekOfMonth => week::week_of_month(d, week),
        Field::WeekOfWeekBasedYear => week::week_of_week_based_year(d, week),
        Field::WeekBasedYear => week::week_based_year(d, week),
        _ => return None,
    })
}

/// The value of a time-based field for a time (`None` if a time does not support it).
fn time_field(t: Time, f: Field) -> Option<i64> {
    let h = i64::from(t.hour);
    let nano_of_day = t.second_of_day() * 1_000_000_000 + i64::from(t.nano);
    Some(match f {
        Field::AmPmOfDay => h / 12,
        Field::HourOfDay => h,
        Field::ClockHourOfDay => {
            if h == 0 {
                24
            } else {
                h
            }
        }
        Field::HourOfAmPm => h % 12,
        Field::ClockHourOfAmPm => {
            if h % 12 == 0 {
                12
            } else {
                h % 12
            }
        }
        Field::MinuteOfHour => i64::from(t.minute),
        Field::SecondOfMinute => i64::from(t.second),
        Field::NanoOfSecond => i64::from(t.nano),
        Field::MilliOfDay => nano_of_day / 1_000_000,
        Field::NanoOfDay => nano_of_day,
        Field::SecondOfDay => t.second_of_day(),
        Field::MilliOfSecond => i64::from(t.nano) / 1_000_000,
        _ => return None,
    })
}
