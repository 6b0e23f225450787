//! Formula engine benchmarks: `cargo bench -p sifr-calc`. Figures are recorded in
//! docs/performance.md.
//!
//! Times are the benchmark thread's CPU time, not wall time, so that other work on the machine
//! (builds, other benchmarks) does not inflate them.

use std::hint::black_box;
use std::time::Duration;

use cpu_time::ThreadTime;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use sifr_calc::{
    Activity, Calculation, Component, Dataset, DatasetBuilder, Impact, Program, ResourceError,
    ResourceQuery, ResourceSource, Row, Schema, Session, Value,
};

/// One emission factor and one dataset of `rows` fuel names.
struct Resources {
    activity: Arc<Activity>,
    dataset: Arc<Dataset>,
}

impl Resources {
    fn new(rows: usize) -> Self {
        let activity = Activity {
            id: "a1".into(),
            name: "natural gas".into(),
            version: 1,
            impacts: vec![Impact {
                name: "co2e".into(),
                components: vec![
                    Component {
                        key: "co2".into(),
                        value: Decimal::new(5306, 3),
                    },
                    Component {
                        key: "ch4".into(),
                        value: Decimal::new(1, 3),
                    },
                ],
            }],
        };
        let mut builder =
            DatasetBuilder::new("d1", "fuels", 1, vec!["fuel".into(), "activity".into()]);
        for i in 0..rows {
            builder
                .push_row(&[format!("fuel type {i}"), format!("activity {}", i % 97)])
                .expect("rows have two cells");
        }
        Resources {
            activity: Arc::new(activity),
            dataset: Arc::new(builder.finish()),
        }
    }
}

impl ResourceSource for Resources {
    fn activity(&self, _: &ResourceQuery) -> Result<Option<Arc<Activity>>, ResourceError> {
        Ok(Some(self.activity.clone()))
    }
    fn dataset(&self, _: &ResourceQuery) -> Result<Option<Arc<Dataset>>, ResourceError> {
        Ok(Some(self.dataset.clone()))
    }
    fn calculation(&self, _: &ResourceQuery) -> Result<Option<Arc<Calculation>>, ResourceError> {
        Ok(None)
    }
    fn group_exists(&self, _: &str) -> Result<bool, ResourceError> {
        Ok(true)
    }
}

/// Runs `work` `iterations` times and returns the CPU time this thread spent.
fn cpu_timed<T>(iterations: u64, mut work: impl FnMut() -> T) -> Duration {
    let start = ThreadTime::now();
    for _ in 0..iterations {
        black_box(work());
    }
    start.elapsed()
}

fn bench(c: &mut Criterion, name: &str, formula: &str, params: &[(&str, Value)], rows: usize) {
    let schema = Schema::new(params.iter().map(|(n, _)| *n));
    let values: Vec<Value> = params.iter().map(|(_, v)| v.clone()).collect();
    let program = Program::compile(formula, &schema).expect("the formula compiles");
    let session = Session::new(Arc::new(Resources::new(rows)), "/acme");
    program
        .evaluate(&session, Row::new(&values))
        .expect("the formula evaluates");
    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(1));
    group.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            cpu_timed(iterations, || {
                program.evaluate(&session, Row::new(black_box(&values)))
            })
        })
    });
    group.finish();
}

fn evaluation(c: &mut Criterion) {
    let number = |n: i64, scale: u32| Value::Number(Decimal::new(n, scale));
    let ab = [("a", number(12345, 2)), ("b", number(678, 1))];
    bench(
        c,
        "arithmetic_6_ops",
        "(:a + :b) * 2 - :a / 4 + :b * 1.5",
        &ab,
        1,
    );
    bench(
        c,
        "arithmetic_7_ops",
        "(:a + :b) * 2 - :a / 4 + :b * 1.5 - 3",
        &ab,
        1,
    );
    bench(
        c,
        "as_timestamp_fixed_pattern",
        "AS_TIMESTAMP(:date,'yyyy-MM-dd HH:mm:ss',roundDownTo='month')",
        &[("date", Value::str("2024-03-17 13:45:10"))],
        1,
    );
    bench(
        c,
        "lookup_100k_rows",
        "LOOKUP(:fuel,'fuels','fuel','activity')",
        &[("fuel", Value::str("fuel type 77777"))],
        100_000,
    );
    bench(
        c,
        "impact",
        "IMPACT('natural gas','co2e','co2') * :therms",
        &[("therms", number(1234, 1))],
        1,
    );
}

/// The index probe behind a LOOKUP value seen for the first time.
fn dataset_probe(c: &mut Criterion) {
    let resources = Resources::new(100_000);
    let dataset = &resources.dataset;
    let values: Vec<String> = (0..1024).map(|i| format!("FUEL TYPE {}", i * 97)).collect();
    let column = dataset.column("fuel").expect("the column exists");
    assert_eq!(dataset.find(column, &values[3]), Some(3 * 97));
    let mut next = 0;
    let mut group = c.benchmark_group("dataset");
    group.throughput(Throughput::Elements(1));
    group.bench_function("find_100k_rows_uncached", |b| {
        b.iter_custom(|iterations| {
            cpu_timed(iterations, || {
                next = (next + 1) % values.len();
                dataset.find(column, black_box(&values[next]))
            })
        })
    });
    group.finish();
}

fn compilation(c: &mut Criterion) {
    let schema = Schema::new(["date", "fuel", "therms"]);
    let formula = "IMPACT(LOOKUP(:fuel,'fuels','fuel','activity'),'co2e','co2') * :therms * \
                   COALESCE(LOOKUP('CO2','gwp','gas','gwp'),1) + IF(:therms > 100, 1, 0)";
    c.bench_function("compile/pipeline_formula", |b| {
        b.iter_custom(|iterations| {
            cpu_timed(iterations, || Program::compile(black_box(formula), &schema))
        })
    });
}

criterion_group!(benches, evaluation, dataset_probe, compilation);
criterion_main!(benches);
