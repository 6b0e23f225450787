//! The demo's sample bills: one a month in [`YEAR`] for every meter of `sites.csv`, from the
//! meter's typical monthly use, the share of it that goes into heating (which follows the
//! seasons) and a small variation drawn from the meter and the month, so that every run
//! produces the same file.

use anyhow::{Context as _, bail};
use rust_decimal::{Decimal, RoundingStrategy};
use sifr_domain::GroupPath;

/// The year the bills are of.
pub const YEAR: u16 = 2024;

/// Heating demand of each month, January first, in percent of an average month's.
const SEASON: [u32; 12] = [170, 155, 130, 100, 70, 50, 40, 40, 60, 100, 135, 150];

/// Largest variation of a bill from its meter's pattern, in percent either way.
const VARIATION: u64 = 5;

/// A meter of a site, from `sites.csv`.
pub struct Meter {
    pub site: GroupPath,
    meter: String,
    fuel: String,
    /// mmBtu used in an average month.
    per_month: Decimal,
    /// The percentage of that use that heats.
    heating: Decimal,
}

/// The meters of `sites.csv` (`site,meter,fuel,mmbtu_per_month,heating_percent`).
pub fn meters(sites: &str) -> anyhow::Result<Vec<Meter>> {
    let mut reader = csv::Reader::from_reader(sites.as_bytes());
    let mut meters = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.context("sites.csv")?;
        let field = |index: usize| {
            record
                .get(index)
                .with_context(|| format!("sites.csv, line {}: too few columns", line + 2))
        };
        let number = |index: usize| -> anyhow::Result<Decimal> {
            let text = field(index)?;
            text.parse()
                .with_context(|| format!("sites.csv, line {}: '{text}' is not a number", line + 2))
        };
        let heating = number(4)?;
        if heating < Decimal::ZERO || heating > Decimal::ONE_HUNDRED {
            bail!(
                "sites.csv, line {}: the heating share is a percentage",
                line + 2
            );
        }
        meters.push(Meter {
            site: GroupPath::parse(field(0)?)
                .with_context(|| format!("sites.csv, line {}", line + 2))?,
            meter: field(1)?.to_owned(),
            fuel: field(2)?.to_owned(),
            per_month: number(3)?,
            heating,
        });
    }
    Ok(meters)
}

/// SplitMix64: a well-mixed number from a counter, the same on every platform.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The bills of every meter for every month, as the CSV file the demo pipeline reads.
pub fn csv(meters: &[Meter]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["date", "site", "meter", "fuel", "mmbtu"])?;
    let hundred = Decimal::ONE_HUNDRED;
    for (index, meter) in meters.iter().enumerate() {
        for (month, season) in (1u64..).zip(SEASON) {
            let draw = mix(index as u64 * 12 + month);
            let variation = Decimal::from(draw % (2 * VARIATION + 1)) - Decimal::from(VARIATION);
            let day = (draw >> 32) % 28 + 1;
            let pattern =
                (hundred - meter.heating) + meter.heating * Decimal::from(season) / hundred;
            let mmbtu = (meter.per_month * pattern / hundred * (hundred + variation) / hundred)
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            writer.write_record([
                format!("{month}/{day}/{YEAR}"),
                meter.site.to_string(),
                meter.meter.clone(),
                meter.fuel.clone(),
                mmbtu.to_string(),
            ])?;
        }
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITES: &str = "site,meter,fuel,mmbtu_per_month,heating_percent\n\
        /usa/a,A1,natural gas,100,0\n\
        /usa/b,B1,propane,100,100\n";

    fn amounts(csv: &str, meter: &str) -> Vec<Decimal> {
        csv.lines()
            .filter(|line| line.contains(meter))
            .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn bills_follow_the_seasons_within_the_variation() {
        let meters = meters(SITES).unwrap();
        let text = csv(&meters).unwrap();
        assert_eq!(text.lines().count(), 1 + 2 * 12);
        assert_eq!(csv(&meters).unwrap(), text, "the same bills on every run");
        let (flat, heating) = (amounts(&text, ",A1,"), amounts(&text, ",B1,"));
        for (month, season) in SEASON.iter().enumerate() {
            let bound = |pattern: Decimal| {
                let spread = pattern * Decimal::from(VARIATION) / Decimal::ONE_HUNDRED;
                (pattern - spread, pattern + spread)
            };
            let (low, high) = bound(Decimal::ONE_HUNDRED);
            assert!(low <= flat[month] && flat[month] <= high, "{}", flat[month]);
            let (low, high) = bound(Decimal::from(*season));
            assert!(low <= heating[month] && heating[month] <= high);
        }
    }

    #[test]
    fn a_bad_sites_file_is_refused_with_its_line() {
        let bad = "site,meter,fuel,mmbtu_per_month,heating_percent\n/usa/a,A1,gas,lots,0\n";
        let error = meters(bad).err().unwrap().to_string();
        assert!(
            error.contains("line 2") && error.contains("lots"),
            "{error}"
        );
        let bad = "site,meter,fuel,mmbtu_per_month,heating_percent\n/usa/a,A1,gas,5,150\n";
        assert!(meters(bad).is_err());
    }
}
