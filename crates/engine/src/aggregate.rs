//! Pipeline aggregation (SIF §7): per group, per day of the period output, per value of the
//! other `groupBy` outputs, the sum, mean, min, max or count of the aggregated outputs.
//!
//! Accumulators are updated while rows are evaluated (one set per evaluation thread, merged at
//! the end), so an execution holds one accumulator per (group, day, dimensions), however many
//! rows it reads. Groups are numbered by their position in a group table, which keeps keys
//! small and cheap to hash; a sink that keeps per-chunk accumulators numbers them by the
//! chunk's [`StoredRows::groups`](crate::StoredRows::groups). Sums are exact
//! (stored numbers are integers of 10⁻⁸) and means are rounded half-up to 8 decimal places, as
//! stored numbers are; SIF's loss of non-integer results is not reproduced.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::definition::Aggregate;
use crate::stored::{Fixed, Stored};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Which outputs an aggregation reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregationPlan {
    /// The timestamp output grouped by (truncated to the day): the date of each result row.
    pub period: usize,
    /// The other `groupBy` outputs, in output order.
    pub dimensions: Vec<usize>,
    /// The aggregated outputs and their functions, in output order.
    pub measures: Vec<(usize, Aggregate)>,
}

/// A sum that remembers when it left the range of stored numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sum(Option<Fixed>);

impl Default for Sum {
    fn default() -> Self {
        Sum(Some(Fixed::ZERO))
    }
}

impl Sum {
    pub fn add(&mut self, value: Fixed) {
        self.0 = self.0.and_then(|sum| sum.checked_add(value));
    }

    /// `self - other`.
    pub fn minus(self, other: Sum) -> Sum {
        Sum(match (self.0, other.0) {
            (Some(a), Some(b)) => a.checked_sub(b),
            _ => None,
        })
    }

    pub fn merge(&mut self, other: Sum) {
        self.0 = match (self.0, other.0) {
            (Some(a), Some(b)) => a.checked_add(b),
            _ => None,
        };
    }

    /// The total; `None` once it overflowed (beyond ±1.7·10³⁰).
    pub fn value(self) -> Option<Fixed> {
        self.0
    }
}

/// The running values of one aggregated output for one result row (64 bytes: one cache
/// line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accumulator {
    sum: Fixed,
    min: Fixed,
    max: Fixed,
    /// Non-null values seen (all numbers, for the number outputs sum, mean, min and max apply
    /// to).
    count: u64,
    overflowed: bool,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            sum: Fixed::ZERO,
            min: Fixed::from_units(i128::MAX),
            max: Fixed::from_units(i128::MIN),
            count: 0,
            overflowed: false,
        }
    }
}

impl Accumulator {
    fn add(&mut self, value: &Stored) {
        if value.is_null_or_error() {
            return;
        }
        self.count += 1;
        if let Stored::Number(n) = *value {
            match self.sum.checked_add(n) {
                Some(sum) => self.sum = sum,
                None => self.overflowed = true,
            }
            self.min = self.min.min(n);
            self.max = self.max.max(n);
        }
    }

    fn merge(&mut self, other: &Accumulator) {
        self.count += other.count;
        match self.sum.checked_add(other.sum) {
            Some(sum) => self.sum = sum,
            None => self.overflowed = true,
        }
        self.overflowed |= other.overflowed;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Non-null values seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The aggregated value; `Null` when no value was seen (SIF skips such rows), an error
    /// when a sum overflowed.
    pub fn result(&self, function: Aggregate) -> Stored {
        if function == Aggregate::Count {
            return Stored::Number(Fixed::from_count(self.count));
        }
        if self.count == 0 || function == Aggregate::GroupBy {
            return Stored::Null;
        }
        match function {
            Aggregate::Min => Stored::Number(self.min),
            Aggregate::Max => Stored::Number(self.max),
            _ if self.overflowed => overflow(),
            Aggregate::Mean => self
                .sum
                .mean(self.count)
                .map_or(Stored::Null, Stored::Number),
            _ => Stored::Number(self.sum),
        }
    }
}

fn overflow() -> Stored {
    Stored::Error(Arc::from(
        "the total exceeds the range of stored numbers (±1.7E+30)",
    ))
}

/// The key of one aggregated row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregateKey {
    /// Position of the group in the accumulators' group table.
    pub group: u32,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// Values of the dimension outputs.
    pub dimensions: Vec<Stored>,
}

/// Aggregation accumulators: for one chunk, or merged for a whole execution. Each aggregated
/// row's accumulators (one per aggregated output) lie side by side in one array.
#[derive(Clone, Debug, Default)]
pub struct Aggregates {
    rows: FxHashMap<AggregateKey, u32>,
    /// `width` accumulators per row, in row number order.
    accumulators: Vec<Accumulator>,
    width: usize,
}

impl Aggregates {
    /// Adds one stored row (its group's number and its output values, in output order).
    pub fn add_row(&mut self, plan: &AggregationPlan, group: u32, values: &[Stored]) {
        // A row without a period has no aggregated row to go to.
        let Stored::Timestamp(seconds) = values[plan.period] else {
            return;
        };
        let key = AggregateKey {
            group,
            day: seconds.div_euclid(DAY),
            dimensions: plan
                .dimensions
                .iter()
                .map(|&d| match &values[d] {
                    Stored::Error(_) => Stored::Null,
                    value => value.clone(),
                })
                .collect(),
        };
        let row = self.row(key, plan.measures.len());
        for (accumulator, &(output, _)) in row.iter_mut().zip(&plan.measures) {
            accumulator.add(&values[output]);
        }
    }

    /// The accumulators of the row with `key`, added when new.
    fn row(&mut self, key: AggregateKey, width: usize) -> &mut [Accumulator] {
        self.width = width;
        let next = (self.accumulators.len() / width.max(1)) as u32;
        let n = *self.rows.entry(key).or_insert(next) as usize;
        if n == next as usize {
            self.accumulators
                .extend(std::iter::repeat_n(Accumulator::default(), width));
        }
        &mut self.accumulators[n * width..(n + 1) * width]
    }

    /// Adds another set of accumulators (a chunk's, or another thread's) to these; `groups`
    /// maps the other's group numbers to these accumulators' numbers.
    pub fn merge(&mut self, other: &Aggregates, groups: &[u32]) {
        for (key, accumulators) in other.iter() {
            let key = AggregateKey {
                group: groups[key.group as usize],
                ..key.clone()
            };
            for (mine, theirs) in self.row(key, other.width).iter_mut().zip(accumulators) {
                mine.merge(theirs);
            }
        }
    }

    /// The accumulators of each aggregated row, unordered.
    pub fn iter(&self) -> impl Iterator<Item = (&AggregateKey, &[Accumulator])> {
        self.rows.iter().map(|(key, &n)| {
            let n = n as usize;
            (
                key,
                &self.accumulators[n * self.width..(n + 1) * self.width],
            )
        })
    }

    /// The aggregated rows, ordered by group, day and dimensions; `groups` is the group table.
    /// Rows where an aggregated value is null (no number to aggregate) are left out, as SIF
    /// leaves them out.
    pub fn results(&self, plan: &AggregationPlan, groups: &[Arc<str>]) -> Vec<AggregateRow> {
        let mut rows: Vec<AggregateRow> = self
            .iter()
            .filter_map(|(key, accumulators)| {
                let values: Vec<Stored> = accumulators
                    .iter()
                    .zip(&plan.measures)
                    .map(|(a, &(_, function))| a.result(function))
                    .collect();
                (!values.contains(&Stored::Null)).then(|| AggregateRow {
                    group: groups[key.group as usize].clone(),
                    date: key.day * DAY,
                    dimensions: key.dimensions.clone(),
                    values,
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            (&a.group, a.date, &a.dimensions).cmp(&(&b.group, b.date, &b.dimensions))
        });
        rows
    }
}

/// One aggregated activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateRow {
    pub group: Arc<str>,
    /// Epoch seconds of the day's start (UTC).
    pub date: i64,
    /// Values of the dimension outputs, in [`AggregationPlan::dimensions`] order.
    pub dimensions: Vec<Stored>,
    /// Aggregated values, in [`AggregationPlan::measures`] order.
    pub values: Vec<Stored>,
}
