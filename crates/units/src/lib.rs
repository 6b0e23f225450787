//! Unit conversion behind the formula function
//! `CONVERT(value, fromUnit, toUnit, qualityKind=…)`, reproducing SIF, which used
//! qudtlib 4.3.0 and its bundled QUDT 2.1.25 ontology.
//!
//! * Units are found by symbol (case-sensitive, only within the given quantity kind) or by
//!   label (case-insensitive, any spelling or language QUDT lists, any kind); see
//!   [`resolve`].
//! * Values convert as `((value + fromOffset) × fromMultiplier / toMultiplier) − toOffset`
//!   between units of the same QUDT dimension vector; see [`Conversion`].
//!
//! The unit data (`data/*.tsv`, from QUDT by `scripts/gen_units.py`) is © QUDT.org under
//! CC BY 4.0; see `NOTICE.md`.
//!
//! ```
//! use rust_decimal::Decimal;
//! use sifr_units::{Conversion, convert};
//!
//! let metres = convert(Decimal::TEN, "foot", "meter", None)?;
//! assert_eq!(metres.to_string(), "3.048");
//!
//! let to_mj = Conversion::new("kW⋅h", "MJ", Some("energy"))?;
//! assert_eq!(to_mj.apply(Decimal::ONE)?.to_string(), "3.6");
//! # Ok::<(), sifr_units::UnitError>(())
//! ```

mod conversion;
mod error;
mod scientific;
mod table;

pub use conversion::{Conversion, convert};
pub use error::UnitError;
pub use table::{Unit, UnitRef, resolve};

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).expect("test literal")
    }

    fn converted(value: &str, from: &str, to: &str, kind: Option<&str>) -> String {
        convert(dec(value), from, to, kind)
            .unwrap_or_else(|e| panic!("{value} {from} -> {to}: {e}"))
            .to_string()
    }

    fn failure(value: &str, from: &str, to: &str, kind: Option<&str>) -> String {
        convert(dec(value), from, to, kind)
            .expect_err("conversion should fail")
            .to_string()
    }

    /// Asserts that a result agrees with SIF's (34 significant digits, `HALF_EVEN`, given here
    /// as computed from QUDT's factors) to within 1e-24 relative.
    fn assert_close_to_sif(value: &str, from: &str, to: &str, sif: &str) {
        let ours = convert(dec(value), from, to, None).expect("converts");
        let sif: Decimal = sif.parse().expect("reference value");
        let tolerance = sif.abs().max(Decimal::ONE) * dec("0.000000000000000000000001");
        assert!(
            (ours - sif).abs() <= tolerance,
            "{value} {from} -> {to}: {ours}, SIF {sif}"
        );
    }

    #[test]
    fn corpus_vectors() {
        assert_eq!(converted("1", "meter", "centimeter", None), "100");
        assert_eq!(converted("1", "millimetre", "centimeter", None), "0.1");
        assert_eq!(converted("1", "m", "cm", Some("length")), "100");
        assert_eq!(converted("1", "m", "cm", Some("LENGTH")), "100");
        assert_eq!(
            converted("1", "keV/µM", "MeV/cm", Some("linear energy transfer")),
            "10"
        );
        assert_eq!(
            converted("1", "m²/kg", "m²/g", Some("Mass Attenuation Coefficient")),
            "0.001"
        );
        assert_eq!(converted("1.5", "Kilogram", "gram", None), "1500");
        assert_eq!(converted("10", "foot", "meter", None), "3.048");
        assert_eq!(
            failure("1", "meter", "kilogram", None),
            "Cannot convert from http://qudt.org/vocab/unit/M to \
             http://qudt.org/vocab/unit/KiloGM: dimension vectors differ"
        );
        assert_eq!(
            failure("1", "m", "L", None),
            "Unit 'm' ('?' quantity kind) not recognized."
        );
        assert_eq!(
            failure("1", "m", "L", Some("length")),
            "Unit 'L' ('length' quantity kind) not recognized."
        );
    }

    #[test]
    fn the_source_unit_is_resolved_first() {
        assert_eq!(
            failure("1", "nope", "also nope", None),
            "Unit 'nope' ('?' quantity kind) not recognized."
        );
        assert_eq!(
            failure("1", "meter", "also nope", None),
            "Unit 'also nope' ('?' quantity kind) not recognized."
        );
    }

    #[test]
    fn temperatures_apply_offsets() {
        assert_eq!(converted("0", "degree celsius", "kelvin", None), "273.15");
        assert_eq!(converted("-40", "degree celsius", "kelvin", None), "233.15");
        assert_eq!(converted("300", "kelvin", "degree celsius", None), "26.85");
        assert_eq!(converted("-273.15", "degree celsius", "kelvin", None), "0");
        assert_eq!(converted("20", "°C", "K", Some("temperature")), "293.15");
        // QUDT 2.1.25 gives °F the offset 459.669607 and the multiplier 0.5555555555555556,
        // so 212 °F is not quite 100 °C in SIF: (212 + 459.669607) × 0.5555555555555556 − 273.15.
        assert_eq!(
            converted("212", "degree fahrenheit", "degree celsius", None),
            "99.9997816666666965186492"
        );
        assert_close_to_sif(
            "100",
            "degree celsius",
            "degree fahrenheit",
            "212.0003929999999462664000000000043",
        );
    }

    #[test]
    fn energy_units() {
        assert_eq!(converted("1", "kilowatthour", "megajoule", None), "3.6");
        assert_eq!(converted("3.6", "megajoule", "kilowatthour", None), "1");
        assert_eq!(converted("2", "megawatt hour", "gigajoule", None), "7.2");
        assert_eq!(
            converted(
                "1",
                "british thermal unit (international definition)",
                "kilojoule",
                None
            ),
            "1.05505585262"
        );
        assert_eq!(
            converted("1", "ton of oil equivalent", "megawatt hour", None),
            "11.63"
        );
        assert_close_to_sif(
            "1",
            "therm us",
            "kilowatthour",
            "29.30011111111111111111111111111111",
        );
        assert_close_to_sif(
            "1",
            "gigajoule",
            "kilowatthour",
            "277.7777777777777777777777777777778",
        );
    }

    #[test]
    fn volume_units() {
        assert_eq!(converted("1", "cubic metre", "litre", None), "1000");
        assert_eq!(converted("250", "millilitre", "liter", None), "0.25");
        // QUDT 2.1.25 rounds the US gallon to 0.003785412 m³ (exactly: 0.003785411784).
        assert_eq!(converted("1", "us gallon", "litre", None), "3.785412");
        assert_eq!(converted("1", "imperial gallon", "litre", None), "4.54609");
        assert_eq!(converted("2", "gallon (uk)", "liter", None), "9.09218");
        assert_eq!(converted("1", "barrel (us)", "litre", None), "158.9873");
        assert_eq!(
            converted("1", "cubic foot", "cubic meter", None),
            "0.028316846592"
        );
    }

    #[test]
    fn mass_units() {
        assert_eq!(converted("1", "tonne", "kilogram", None), "1000");
        assert_eq!(converted("250", "kilogram", "tonne", None), "0.25");
        assert_eq!(converted("1", "pound mass", "kilogram", None), "0.45359237");
        assert_eq!(converted("1", "short ton", "tonne", None), "0.90718474");
        assert_eq!(converted("1", "long ton", "kilogram", None), "1016.0469088");
        assert_eq!(converted("1", "t", "kg", Some("mass")), "1000");
    }

    #[test]
    fn distance_units() {
        assert_eq!(
            converted("1", "international mile", "kilometre", None),
            "1.609344"
        );
        assert_eq!(converted("1", "nautical mile", "kilometer", None), "1.852");
        assert_eq!(converted("100", "km", "m", Some("Length")), "100000");
        assert_close_to_sif("1", "inch", "foot", "0.08333333333333333333333333333333333");
    }

    #[test]
    fn units_without_a_qudt_multiplier_convert_as_one() {
        // QUDT 2.1.25 has no multiplier for the plain "Barrel" (unit:BBL); qudtlib, and so
        // SIF, converts it as 1 m³. "Barrel (US)" is the one to use.
        assert_eq!(converted("1", "barrel", "litre", None), "1000");
        // Likewise unit:THM_EEC converts as 1 J.
        assert_eq!(converted("1", "thm_eec", "joule", None), "1");
    }

    #[test]
    fn same_unit_and_unitless_pass_values_through() {
        assert_eq!(converted("2.50", "meter", "Metre", None), "2.5");
        assert_eq!(converted("5", "unitless", "meter", None), "5");
        assert_eq!(converted("1.20", "kilogram", "unitless", None), "1.2");
        assert_eq!(converted("-0.0", "unitless", "unitless", None), "0");
    }

    #[test]
    fn a_conversion_resolves_once_and_applies_many_times() {
        let conversion = Conversion::new("km", "m", Some("length")).expect("km -> m");
        assert_eq!(conversion.from_unit().local_name(), "KiloM");
        assert_eq!(conversion.to_unit().local_name(), "M");
        for (value, expected) in [("1", "1000"), ("0.001", "1"), ("-2.5", "-2500")] {
            assert_eq!(
                conversion.apply(dec(value)).expect("in range").to_string(),
                expected
            );
        }
        let from = resolve("degree celsius", None).expect("°C");
        let to = resolve("kelvin", None).expect("K");
        let conversion = Conversion::between(from, to).expect("same dimensions");
        assert_eq!(
            conversion.apply(dec("1")).expect("in range").to_string(),
            "274.15"
        );
        assert!(Conversion::between(from, resolve("metre", None).expect("m")).is_err());
    }

    #[test]
    fn results_outside_the_decimal_range_are_errors() {
        assert_eq!(
            failure("10000000000000000000000000000", "kilometre", "metre", None),
            "Cannot convert 10000000000000000000000000000 from http://qudt.org/vocab/unit/KiloM \
             to http://qudt.org/vocab/unit/M: the result is outside the supported range \
             (magnitude below 7.9E+28, at most 28 decimal places)"
        );
        // One Planck length is 1.616252E-35 m in QUDT: too small for 28 decimal places.
        assert!(
            failure("1", "planck length", "metre", None).contains("outside the supported range")
        );
        // Multipliers beyond the Decimal range still convert when the result fits.
        assert_eq!(
            converted(
                "1000000000000000000000000000",
                "planck length",
                "metre",
                None
            ),
            "0.00000001616252"
        );
        // One solar mass is 1.988435E+30 kg in QUDT.
        assert_eq!(
            converted("1", "solar mass", "tonne", None),
            "1988435000000000000000000000"
        );
        assert!(
            failure("1", "solar mass", "kilogram", None).contains("outside the supported range")
        );
    }
}
