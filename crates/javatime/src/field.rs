//! The temporal fields a pattern can produce, with java.time's names and value ranges.

use std::fmt;

/// A locale's week definition (`WeekFields`): first day (ISO 1 = Monday … 7 = Sunday) and
/// the minimal number of days in the first week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WeekDef {
    pub first_day: u8,
    pub minimal_days: u8,
}

impl fmt::Display for WeekDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DAYS: [&str; 7] = [
            "MONDAY",
            "TUESDAY",
            "WEDNESDAY",
            "THURSDAY",
            "FRIDAY",
            "SATURDAY",
            "SUNDAY",
        ];
        let day = DAYS[usize::from(self.first_day.clamp(1, 7) - 1)];
        write!(f, "WeekFields[{day},{}]", self.minimal_days)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Field {
    Era,
    YearOfEra,
    Year,
    QuarterOfYear,
    MonthOfYear,
    DayOfYear,
    DayOfMonth,
    AlignedDayOfWeekInMonth,
    DayOfWeek,
    AmPmOfDay,
    HourOfDay,
    ClockHourOfDay,
    HourOfAmPm,
    ClockHourOfAmPm,
    MinuteOfHour,
    SecondOfMinute,
    NanoOfSecond,
    MilliOfDay,
    NanoOfDay,
    SecondOfDay,
    MilliOfSecond,
    MicroOfSecond,
    ModifiedJulianDay,
    OffsetSeconds,
    /// `WeekFields.dayOfWeek()` (pattern `e`/`c`).
    LocalizedDayOfWeek,
    /// `WeekFields.weekOfMonth()` (pattern `W`).
    WeekOfMonth,
    /// `WeekFields.weekOfWeekBasedYear()` (pattern `w`).
    WeekOfWeekBasedYear,
    /// `WeekFields.weekBasedYear()` (pattern `Y`).
    WeekBasedYear,
}

pub(crate) const FIELD_COUNT: usize = Field::WeekBasedYear as usize + 1;

/// Iteration order used wherever java.time walks its (hash-ordered) field map.
pub(crate) const ALL_FIELDS: [Field; FIELD_COUNT] = [
    Field::Era,
    Field::YearOfEra,
    Field::Year,
    Field::QuarterOfYear,
    Field::MonthOfYear,
    Field::DayOfYear,
    Field::DayOfMonth,
    Field::AlignedDayOfWeekInMonth,
    Field::DayOfWeek,
    Field::AmPmOfDay,
    Field::HourOfDay,
    Field::ClockHourOfDay,
    Field::HourOfAmPm,
    Field::ClockHourOfAmPm,
    Field::MinuteOfHour,
    Field::SecondOfMinute,
    Field::NanoOfSecond,
    Field::MilliOfDay,
    Field::NanoOfDay,
    Field::SecondOfDay,
    Field::MilliOfSecond,
    Field::MicroOfSecond,
    Field::ModifiedJulianDay,
    Field::OffsetSeconds,
    Field::LocalizedDayOfWeek,
    Field::WeekOfMonth,
    Field::WeekOfWeekBasedYear,
    Field::WeekBasedYear,
];

/// A `ValueRange`: `min/largest_min - smallest_max/max`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub min: i64,
    pub largest_min: i64,
    pub smallest_max: i64,
    pub max: i64,
}

impl Range {
    const fn of(min: i64, max: i64) -> Range {
        Range {
            min,
            largest_min: min,
            smallest_max: max,
            max,
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.min)?;
        if self.min != self.largest_min {
            write!(f, "/{}", self.largest_min)?;
        }
        write!(f, " - {}", self.smallest_max)?;
        if self.smallest_max != self.max {
            write!(f, "/{}", self.max)?;
        }
        Ok(())
    }
}

const YEAR_MAX: i64 = 999_999_999;
const MJD_OFFSET: i64 = 40_587;

impl Field {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_time_based(self) -> bool {
        matches!(
            self,
            Field::AmPmOfDay
                | Field::HourOfDay
                | Field::ClockHourOfDay
                | Field::HourOfAmPm
                | Field::ClockHourOfAmPm
                | Field::MinuteOfHour
                | Field::SecondOfMinute
                | Field::NanoOfSecond
                | Field::MilliOfDay
                | Field::NanoOfDay
                | Field::SecondOfDay
                | Field::MilliOfSecond
                | Field::MicroOfSecond
        )
    }

    /// Fields java.time resolves through `TemporalField.resolve` rather than the chronology.
    pub fn is_chrono_field(self) -> bool {
        !matches!(
            self,
            Field::QuarterOfYear
                | Field::ModifiedJulianDay
                | Field::LocalizedDayOfWeek
                | Field::WeekOfMonth
                | Field::WeekOfWeekBasedYear
                | Field::WeekBasedYear
        )
    }

    pub fn range(self) -> Range {
        match self {
            Field::Era | Field::AmPmOfDay => Range::of(0, 1),
            Field::YearOfEra => Range {
                min: 1,
                largest_min: 1,
                smallest_max: YEAR_MAX,
                max: YEAR_MAX + 1,
            },
            Field::Year | Field::WeekBasedYear => Range::of(-YEAR_MAX, YEAR_MAX),
            Field::QuarterOfYear => Range::of(1, 4),
            Field::MonthOfYear => Range::of(1, 12),
            Field::DayOfYear => Range {
                min: 1,
                largest_min: 1,
                smallest_max: 365,
                max: 366,
            },
            Field::DayOfMonth => Range {
                min: 1,
                largest_min: 1,
                smallest_max: 28,
                max: 31,
            },
            Field::AlignedDayOfWeekInMonth | Field::DayOfWeek | Field::LocalizedDayOfWeek => {
                Range::of(1, 7)
            }
            Field::HourOfDay => Range::of(0, 23),
            Field::ClockHourOfDay => Range::of(1, 24),
            Field::HourOfAmPm => Range::of(0, 11),
            Field::ClockHourOfAmPm => Range::of(1, 12),
            Field::MinuteOfHour | Field::SecondOfMinute => Range::of(0, 59),
            Field::NanoOfSecond => Range::of(0, 999_999_999),
            Field::MilliOfDay => Range::of(0, 86_400_000 - 1),
            Field::NanoOfDay => Range::of(0, 86_400_000_000_000 - 1),
            Field::SecondOfDay => Range::of(0, 86_399),
            Field::MilliOfSecond => Range::of(0, 999),
            Field::MicroOfSecond => Range::of(0, 999_999),
            Field::ModifiedJulianDay => {
                Range::of(-365_243_219_162 + MJD_OFFSET, 365_241_780_471 + MJD_OFFSET)
            }
            Field::OffsetSeconds => Range::of(-64_800, 64_800),
            Field::WeekOfMonth => Range {
                min: 0,
                largest_min: 1,
                smallest_max: 4,
                max: 6,
            },
            Field::WeekOfWeekBasedYear => Range {
                min: 1,
                largest_min: 1,
                smallest_max: 52,
                max: 53,
            },
        }
    }

    fn base_name(self) -> &'static str {
        match self {
            Field::Era => "Era",
            Field::YearOfEra => "YearOfEra",
            Field::Year => "Year",
            Field::QuarterOfYear => "QuarterOfYear",
            Field::MonthOfYear => "MonthOfYear",
            Field::DayOfYear => "DayOfYear",
            Field::DayOfMonth => "DayOfMonth",
            Field::AlignedDayOfWeekInMonth => "AlignedDayOfWeekInMonth",
            Field::DayOfWeek | Field::LocalizedDayOfWeek => "DayOfWeek",
            Field::AmPmOfDay => "AmPmOfDay",
            Field::HourOfDay => "HourOfDay",
            Field::ClockHourOfDay => "ClockHourOfDay",
            Field::HourOfAmPm => "HourOfAmPm",
            Field::ClockHourOfAmPm => "ClockHourOfAmPm",
            Field::MinuteOfHour => "MinuteOfHour",
            Field::SecondOfMinute => "SecondOfMinute",
            Field::NanoOfSecond => "NanoOfSecond",
            Field::MilliOfDay => "MilliOfDay",
            Field::NanoOfDay => "NanoOfDay",
            Field::SecondOfDay => "SecondOfDay",
            Field::MilliOfSecond => "MilliOfSecond",
            Field::MicroOfSecond => "MicroOfSecond",
            Field::ModifiedJulianDay => "ModifiedJulianDay",
            Field::OffsetSeconds => "OffsetSeconds",
            Field::WeekOfMonth => "WeekOfMonth",
            Field::WeekOfWeekBasedYear => "WeekOfWeekBasedYear",
            Field::WeekBasedYear => "WeekBasedYear",
        }
    }

    /// The field's `toString()`; locale-dependent week fields carry their week definition.
    pub fn name(self, week: WeekDef) -> String {
        match self {
            Field::LocalizedDayOfWeek
            | Field::WeekOfMonth
            | Field::WeekOfWeekBasedYear
            | Field::WeekBasedYear => format!("{}[{week}]", self.base_name()),
            _ => self.base_name().to_string(),
        }
    }

    /// `ValueRange.checkValidValue`: the java.time message on failure.
    pub fn check(self, value: i64, week: WeekDef) -> Result<i64, String> {
        let r = self.range();
        if value < r.min || value > r.max {
            Err(format!(
                "Invalid value for {} (valid values {r}): {value}",
                self.name(week)
            ))
        } else {
            Ok(value)
        }
    }
}
