//! Prints the time per `parse_millis` call for a few compiled patterns (no assertions).
//! Run with `cargo run --release --example timing`.

use std::hint::black_box;
use std::time::Instant;

use sifr_javatime::TimestampPattern;

/// Pattern, timezone, locale and values parsed in turn.
type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [&'a str]);

fn main() {
    let cases: [Case; 6] = [
        (
            "yyyy-MM-dd",
            None,
            None,
            &["2022-01-21", "1999-12-31", "2024-02-29"],
        ),
        (
            "M/d/yy HH:mm",
            None,
            None,
            &["1/21/22 13:40", "12/31/99 23:59", "7/4/23 09:05"],
        ),
        (
            "M/d/yy HH:mm",
            Some("America/Denver"),
            None,
            &["1/21/22 13:40", "7/4/23 09:05"],
        ),
        (
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            None,
            None,
            &["2022-07-25T18:23:54.097+05:30"],
        ),
        (
            "d MMM yyyy",
            Some("UTC"),
            Some("fr"),
            &["21 janv. 2022", "3 sept. 2021"],
        ),
        (
            "M/d/yy HH:mm:ss zzz",
            None,
            None,
            &["1/21/22 13:40:13 PST", "7/21/22 13:40:13 PDT"],
        ),
    ];
    const ITERATIONS: u32 = 1_000_000;
    for (pattern, zone, locale, values) in cases {
        let compiled = match TimestampPattern::new(pattern, zone, locale, None) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{pattern}: {e}");
                continue;
            }
        };
        let start = Instant::now();
        let mut sum = 0i64;
        for i in 0..ITERATIONS {
            let value = values[i as usize % values.len()];
            sum = sum.wrapping_add(compiled.parse_millis(black_box(value)).unwrap_or(0));
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS);
        println!("{pattern:<32} zone={zone:<16?} {ns:>7.1} ns/parse (checksum {sum})");
    }
}
