//! Localized week arithmetic of `WeekFields` (first day of week, minimal days in week one).

use crate::civil::{Date, year_length};
use crate::field::WeekDef;

/// Day of week counted from the locale's first day (1 … 7).
pub(crate) fn localized_day_of_week(iso_dow: u8, week: WeekDef) -> i64 {
    (i64::from(iso_dow) - i64::from(week.first_day)).rem_euclid(7) + 1
}

/// Offset of the first day of week one relative to day 1 of the month or year.
fn start_of_week_offset(day: i64, dow: i64, week: WeekDef) -> i64 {
    let week_start = (day - dow).rem_euclid(7);
    if week_start + 1 > i64::from(week.minimal_days) {
        7 - week_start
    } else {
        -week_start
    }
}

fn compute_week(offset: i64, day: i64) -> i64 {
    (7 + offset + (day - 1)) / 7
}

pub(crate) fn week_of_month(date: Date, week: WeekDef) -> i64 {
    let dow = localized_day_of_week(date.day_of_week(), week);
    let dom = i64::from(date.day);
    compute_week(start_of_week_offset(dom, dow, week), dom)
}

pub(crate) fn week_of_week_based_year(date: Date, week: WeekDef) -> i64 {
    let dow = localized_day_of_week(date.day_of_week(), week);
    let doy = date.day_of_year();
    let offset = start_of_week_offset(doy, dow, week);
    let w = compute_week(offset, doy);
    if w == 0 {
        // Still in the last week of the previous year.
        return week_of_week_based_year(date.plus_days(-doy), week);
    }
    if w > 50 {
        let new_year_week = compute_week(
            offset,
            year_length(date.year) + i64::from(week.minimal_days),
        );
        if w >= new_year_week {
            return w - new_year_week + 1;
        }
    }
    w
}

pub(crate) fn week_based_year(date: Date, week: WeekDef) -> i64 {
    let dow = localized_day_of_week(date.day_of_week(), week);
    let doy = date.day_of_year();
    let offset = start_of_week_offset(doy, dow, week);
    let w = compute_week(offset, doy);
    if w == 0 {
        return date.year - 1;
    }
    let new_year_week = compute_week(
        offset,
        year_length(date.year) + i64::from(week.minimal_days),
    );
    if w >= new_year_week {
        date.year + 1
    } else {
        date.year
    }
}

/// Date of a localized day in a week of a month (SMART resolution of `W`).
pub(crate) fn resolve_week_of_month(
    year: i64,
    month: u8,
    week_of_month_value: i64,
    local_dow: i64,
    week: WeekDef,
) -> Date {
    let first = Date::new(year, month, 1);
    let weeks = week_of_month_value - week_of_month(first, week);
    let days = local_dow - localized_day_of_week(first.day_of_week(), week);
    first.plus_days(weeks * 7 + days)
}

/// Date of a localized day in a week of a week-based year (clamped to the year's last week).
pub(crate) fn of_week_based_year(year: i64, week_no: i64, local_dow: i64, week: WeekDef) -> Date {
    let first = Date::new(year, 1, 1);
    let ldow = localized_day_of_week(first.day_of_week(), week);
    let offset = start_of_week_offset(1, ldow, week);
    let new_year_week = compute_week(offset, year_length(year) + i64::from(week.minimal_days));
    let week_no = week_no.min(new_year_week - 1);
    first.plus_days(-offset + (local_dow - 1) + (week_no - 1) * 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISO: WeekDef = WeekDef {
        first_day: 1,
        minimal_days: 4,
    };
    const US: WeekDef = WeekDef {
        first_day: 7,
        minimal_days: 1,
    };

    #[test]
    fn iso_weeks() {
        // 2021-01-03 is a Sunday in ISO week 53 of 2020.
        let d = Date::new(2021, 1, 3);
        assert_eq!(week_based_year(d, ISO), 2020);
        assert_eq!(week_of_week_based_year(d, ISO), 53);
        assert_eq!(week_of_week_based_year(Date::new(2021, 1, 4), ISO), 1);
        // 2024-12-30 (Monday) is in ISO week 1 of 2025.
        assert_eq!(week_based_year(Date::new(2024, 12, 30), ISO), 2025);
        assert_eq!(week_of_week_based_year(Date::new(2024, 12, 30), ISO), 1);
        assert_eq!(of_week_based_year(2020, 53, 7, ISO), d);
    }

    #[test]
    fn us_weeks() {
        // 2000-01-01 is a Saturday: week 1 of 2000 in the US, ISO week-year 1999.
        assert_eq!(week_based_year(Date::new(2000, 1, 1), US), 2000);
        assert_eq!(week_based_year(Date::new(2000, 1, 1), ISO), 1999);
        assert_eq!(week_of_month(Date::new(2022, 1, 21), US), 4);
        assert_eq!(
            resolve_week_of_month(2022, 1, 4, 6, US),
            Date::new(2022, 1, 21)
        );
        assert_eq!(localized_day_of_week(7, US), 1);
    }
}
