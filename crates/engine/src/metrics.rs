//! Metrics (KPIs, SIF §3 and §8): per group and day, the sum of the pipeline outputs that feed
//! a metric (its group value); the sum over all descendant groups (its sub-group value); every
//! ancestor group up to `/`; and the day values rolled up to ISO weeks (starting Monday),
//! months, quarters and years. A metric fed by other metrics (their `outputMetrics` name it)
//! has as group value the sum of their group values.
//!
//! Day sums are accumulated while rows stream (one set per evaluation thread, merged at the
//! end); they are keyed by metric × group × day, so their size does not grow with the number
//! of rows.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::aggregate::{DAY, Sum};
use crate::definition::MetricDefinition;
use crate::stored::Fixed;

/// The metrics an execution computes, in evaluation order (inputs before the metrics they feed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricPlan {
    metrics: Vec<MetricNode>,
}

/// One metric of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricNode {
    pub name: Arc<str>,
    /// Indexes (in the plan) of the metrics that feed this one.
    pub inputs: Vec<usize>,
}

impl MetricPlan {
    /// The metrics fed by `fed` (metric names named by pipeline outputs) and every metric they
    /// feed in turn, through `outputMetrics`. Fails naming the metric at fault when a name is
    /// undefined, an aggregation other than `sum` is asked for, or the links loop or reach a
    /// metric by two paths (which would count the same values twice).
    pub fn new(definitions: &[MetricDefinition], fed: &[&str]) -> Result<MetricPlan, Vec<String>> {
        let by_name: HashMap<&str, &MetricDefinition> =
            definitions.iter().map(|d| (d.name.as_str(), d)).collect();
        let mut problems = Vec::new();
        let mut reachable: Vec<&str> = Vec::new();
        let mut queue: VecDeque<&str> = fed.iter().copied().collect();
        let mut seen = HashSet::new();
        while let Some(name) = queue.pop_front() {
            if !seen.insert(name) {
                continue;
            }
            let Some(definition) = by_name.get(name) else {
                // Undefined names fed by outputs are reported by validation.
                continue;
            };
            reachable.push(name);
            if definition.aggregation_type != "sum" {
                problems.push(format!(
                    "metric '{name}': aggregationType '{}' is not implemented; metrics sum their inputs",
                    definition.aggregation_type
                ));
            }
            for target in &definition.output_metrics {
                if by_name.contains_key(target.as_str()) {
                    queue.push_back(target);
                } else {
                    problems.push(format!(
                        "metric '{name}': outputMetrics names '{target}', which is not defined"
                    ));
                }
            }
        }
        for &source in &reachable {
            check_paths(source, &by_name, &mut problems);
        }
        if !problems.is_empty() {
            problems.sort();
            problems.dedup();
            return Err(problems);
        }

        // Order: a metric comes after every metric that feeds it.
        let position: HashMap<&str, usize> =
            reachable.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let mut inputs: Vec<Vec<usize>> = vec![Vec::new(); reachable.len()];
        for (i, &name) in reachable.iter().enumerate() {
            for target in &by_name[name].output_metrics {
                if let Some(&t) = position.get(target.as_str()) {
                    inputs[t].push(i);
                }
            }
        }
        let mut order = Vec::with_capacity(reachable.len());
        let mut placed = vec![false; reachable.len()];
        while order.len() < reachable.len() {
            let before = order.len();
            for i in 0..reachable.len() {
                if !placed[i] && inputs[i].iter().all(|&j| placed[j]) {
                    placed[i] = true;
                    order.push(i);
                }
            }
            if order.len() == before {
                // Loops were rejected above; this cannot happen, but never spin.
                return Err(vec!["metric links form a loop".into()]);
            }
        }
        let new_index: HashMap<usize, usize> = order
            .iter()
            .enumerate()
            .map(|(new, &old)| (old, new))
            .collect();
        let metrics = order
            .iter()
            .map(|&old| MetricNode {
                name: Arc::from(reachable[old]),
                inputs: inputs[old].iter().map(|i| new_index[i]).collect(),
            })
            .collect();
        Ok(MetricPlan { metrics })
    }

    pub fn metrics(&self) -> &[MetricNode] {
        &self.metrics
    }

    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The index of a metric by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.metrics.iter().position(|m| &*m.name == name)
    }

    /// Every metric value: each metric × group (with every ancestor) × time unit × period;
    /// `groups` is the day sums' group table.
    pub fn roll_up(&self, days: &MetricDays, groups: &[Arc<str>]) -> Vec<MetricRow> {
        // Group values per metric, by (group, day).
        let mut group_values: Vec<HashMap<(Arc<str>, i64), Sum>> =
            vec![HashMap::new(); self.metrics.len()];
        for (&(metric, group, day), sum) in &days.sums {
            if let Some(values) = group_values.get_mut(metric as usize) {
                let group = groups[group as usize].clone();
                values.entry((group, day)).or_default().merge(*sum);
            }
        }
        for (m, metric) in self.metrics.iter().enumerate() {
            for &input in &metric.inputs {
                let fed: Vec<((Arc<str>, i64), Sum)> = group_values[input]
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                for (key, sum) in fed {
                    group_values[m].entry(key).or_default().merge(sum);
                }
            }
        }

        let mut rows = Vec::new();
        for (metric, values) in self.metrics.iter().zip(&group_values) {
            // Hierarchy value of every group and ancestor, per day.
            let mut hierarchy: HashMap<(Arc<str>, i64), Sum> = HashMap::new();
            let mut interned: HashMap<&str, Arc<str>> = HashMap::new();
            for ((group, day), sum) in values {
                for ancestor in ancestors(group) {
                    let ancestor = interned
                        .entry(ancestor)
                        .or_insert_with(|| Arc::from(ancestor))
                        .clone();
                    hierarchy.entry((ancestor, *day)).or_default().merge(*sum);
                }
            }
            let mut periods: BTreeMap<(Arc<str>, TimeUnit, i64), (Sum, Sum)> = BTreeMap::new();
            for ((group, day), total) in hierarchy {
                let own = values
                    .get(&(group.clone(), day))
                    .copied()
                    .unwrap_or_default();
                let sub = total.minus(own);
                for unit in TimeUnit::ALL {
                    let (g, s) = periods
                        .entry((group.clone(), unit, unit.period_start(day)))
                        .or_default();
                    g.merge(own);
                    s.merge(sub);
                }
            }
            rows.extend(
                periods
                    .into_iter()
                    .map(|((group, unit, day), (g, s))| MetricRow {
                        metric: metric.name.clone(),
                        group,
                        unit,
                        day,
                        group_value: g,
                        sub_groups_value: s,
                    }),
            );
        }
        rows
    }
}

/// Rejects loops and metrics reached from `source` by more than one path.
fn check_paths(
    source: &str,
    by_name: &HashMap<&str, &MetricDefinition>,
    problems: &mut Vec<String>,
) {
    fn visit<'a>(
        name: &'a str,
        by_name: &HashMap<&str, &'a MetricDefinition>,
        stack: &mut Vec<&'a str>,
        reached: &mut HashSet<&'a str>,
        source: &str,
        problems: &mut Vec<String>,
    ) {
        let Some(definition) = by_name.get(name) else {
            return;
        };
        for target in &definition.output_metrics {
            let target = target.as_str();
            if stack.contains(&target) {
                problems.push(format!(
                    "metrics {} → {target} form a loop through outputMetrics",
                    stack.join(" → ")
                ));
                continue;
            }
            if !reached.insert(target) {
                problems.push(format!(
                    "metric '{target}' is reached from '{source}' by more than one path of outputMetrics, so it would count '{source}' more than once"
                ));
                continue;
            }
            stack.push(target);
            visit(target, by_name, stack, reached, source, problems);
            stack.pop();
        }
    }
    let mut stack = vec![source];
    let mut reached = HashSet::new();
    visit(source, by_name, &mut stack, &mut reached, source, problems);
}

/// `/a/b` → `/a/b`, `/a`, `/`.
pub fn ancestors(group: &str) -> impl Iterator<Item = &str> {
    let trimmed = if group.len() > 1 {
        group.trim_end_matches('/')
    } else {
        group
    };
    let mut next = Some(trimmed);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.rfind('/') {
            _ if current == "/" || current.is_empty() => None,
            Some(0) => Some("/"),
            Some(i) => Some(&current[..i]),
            None => None,
        };
        Some(current)
    })
}

/// Day sums of pipeline-fed metrics: for one chunk, or merged for a whole execution. Groups
/// are numbered by their position in a group table, as in [`Aggregates`](crate::Aggregates).
#[derive(Clone, Debug, Default)]
pub struct MetricDays {
    sums: FxHashMap<(u32, u32, i64), Sum>,
}

impl MetricDays {
    /// Adds a value of metric `metric` (its index in the plan) for group number `group` at an
    /// instant (epoch seconds).
    pub fn add(&mut self, metric: usize, group: u32, seconds: i64, value: Fixed) {
        self.sums
            .entry((metric as u32, group, seconds.div_euclid(DAY)))
            .or_default()
            .add(value);
    }

    /// Adds another set of sums (a chunk's, or another thread's); `groups` maps the other's
    /// group numbers to these sums'.
    pub fn merge(&mut self, other: &MetricDays, groups: &[u32]) {
        for (&(metric, group, day), sum) in &other.sums {
            self.sums
                .entry((metric, groups[group as usize], day))
                .or_default()
                .merge(*sum);
        }
    }

    /// (metric index, group number, day since 1970-01-01, sum), unordered.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u32, i64, Sum)> + '_ {
        self.sums
            .iter()
            .map(|(&(m, g, d), s)| (m as usize, g, d, *s))
    }
}

/// The periods metrics are reported in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl TimeUnit {
    pub const ALL: [TimeUnit; 5] = [
        TimeUnit::Day,
        TimeUnit::Week,
        TimeUnit::Month,
        TimeUnit::Quarter,
        TimeUnit::Year,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
            TimeUnit::Month => "month",
            TimeUnit::Quarter => "quarter",
            TimeUnit::Year => "year",
        }
    }

    /// The first day (days since 1970-01-01) of the period holding `day`; weeks start on
    /// Monday (ISO 8601), quarters in January, April, July and October.
    pub fn period_start(self, day: i64) -> i64 {
        match self {
            TimeUnit::Day => day,
            // 1970-01-01 was a Thursday, three days after a Monday.
            TimeUnit::Week => day - (day + 3).rem_euclid(7),
            TimeUnit::Month | TimeUnit::Quarter | TimeUnit::Year => {
                let Some(date) = civil_date(day) else {
                    return day;
                };
                let month = match self {
                    TimeUnit::Month => date.month(),
                    TimeUnit::Quarter => (date.month() - 1) / 3 * 3 + 1,
                    _ => 1,
                };
                jiff::civil::Date::new(date.year(), month, 1)
                    .ok()
                    .and_then(day_number)
                    .unwrap_or(day)
            }
        }
    }
}

/// The calendar date of a day number (days since 1970-01-01).
pub fn civil_date(day: i64) -> Option<jiff::civil::Date> {
    jiff::Timestamp::from_second(day.checked_mul(DAY)?)
        .ok()
        .map(|ts| jiff::tz::Offset::UTC.to_datetime(ts).date())
}

fn day_number(date: jiff::civil::Date) -> Option<i64> {
    jiff::tz::Offset::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()
        .map(|ts| ts.as_second().div_euclid(DAY))
}

/// One metric value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricRow {
    pub metric: Arc<str>,
    pub group: Arc<str>,
    pub unit: TimeUnit,
    /// First day of the period (days since 1970-01-01).
    pub day: i64,
    /// From the group's own activities (and input metrics).
    pub group_value: Sum,
    /// From all descendant groups.
    pub sub_groups_value: Sum,
}

impl MetricRow {
    /// Group value plus sub-group value.
    pub fn hierarchy_value(&self) -> Sum {
        let mut total = self.group_value;
        total.merge(self.sub_groups_value);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_run_up_to_the_root() {
        assert_eq!(
            ancestors("/usa/co1/sub2").collect::<Vec<_>>(),
            ["/usa/co1/sub2", "/usa/co1", "/usa", "/"]
        );
        assert_eq!(ancestors("/").collect::<Vec<_>>(), ["/"]);
        assert_eq!(ancestors("/a/").collect::<Vec<_>>(), ["/a", "/"]);
    }

    #[test]
    fn periods_start_on_monday_and_calendar_boundaries() {
        let day = |y, m, d| day_number(jiff::civil::Date::new(y, m, d).unwrap()).unwrap();
        // 2022-01-05 is a Wednesday; its ISO week starts on Monday 2022-01-03.
        assert_eq!(
            TimeUnit::Week.period_start(day(2022, 1, 5)),
            day(2022, 1, 3)
        );
        // 2022-01-02 is a Sunday: still the week of Monday 2021-12-27.
        assert_eq!(
            TimeUnit::Week.period_start(day(2022, 1, 2)),
            day(2021, 12, 27)
        );
        assert_eq!(
            TimeUnit::Month.period_start(day(2022, 2, 28)),
            day(2022, 2, 1)
        );
        assert_eq!(
            TimeUnit::Quarter.period_start(day(2022, 6, 30)),
            day(2022, 4, 1)
        );
        assert_eq!(
            TimeUnit::Year.period_start(day(2022, 12, 31)),
            day(2022, 1, 1)
        );
        assert_eq!(
            TimeUnit::Week.period_start(day(1969, 12, 31)),
            day(1969, 12, 29)
        );
    }
}
