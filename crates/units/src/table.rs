//! The QUDT 2.1.25 unit table compiled into the crate, and SIF's unit lookup.
//!
//! `data/units.tsv` lists the units in the iteration order of qudtlib's unit map, so "the
//! first unit that matches" means the same here as in SIF. The lookup maps are built once,
//! on first use.

use std::collections::HashMap;
use std::sync::LazyLock;

use rust_decimal::Decimal;

use crate::error::UnitError;
use crate::scientific::Scientific;

const UNIT_NAMESPACE: &str = "http://qudt.org/vocab/unit/";
const DIMENSION_VECTOR_NAMESPACE: &str = "http://qudt.org/vocab/dimensionvector/";
const UNITLESS: &str = "UNITLESS";
/// The quantity kind SIF matches symbols against when none is given; no kind has this label.
const UNSPECIFIED_KIND: &str = "?";

const UNITS_TSV: &str = include_str!("../data/units.tsv");
const KINDS_TSV: &str = include_str!("../data/quantity_kinds.tsv");
const UNIT_COLUMNS: [&str; 7] = [
    "local_name",
    "symbol",
    "multiplier",
    "offset",
    "dimension_vector",
    "quantity_kinds",
    "labels",
];
const KIND_COLUMNS: [&str; 2] = ["local_name", "labels"];

static TABLE: LazyLock<Result<Table, String>> =
    LazyLock::new(|| Table::parse(UNITS_TSV, KINDS_TSV));

/// A resolved unit. Units live for the whole program, so references are cheap to keep.
pub type UnitRef = &'static Unit;

/// A QUDT unit as SIF's CONVERT sees it.
#[derive(Debug)]
pub struct Unit {
    local_name: &'static str,
    symbol: Option<&'static str>,
    labels: Vec<&'static str>,
    quantity_kinds: Vec<&'static str>,
    dimension_vector: &'static str,
    multiplier_text: Option<&'static str>,
    offset_text: Option<&'static str>,
    pub(crate) multiplier: Scientific,
    pub(crate) offset: Decimal,
}

impl Unit {
    /// Local name of the unit's IRI, such as `KiloGM`.
    pub fn local_name(&self) -> &'static str {
        self.local_name
    }

    /// The unit's IRI, such as `http://qudt.org/vocab/unit/KiloGM`.
    pub fn iri(&self) -> String {
        format!("{UNIT_NAMESPACE}{}", self.local_name)
    }

    /// The QUDT symbol (`kg`), matched case-sensitively.
    pub fn symbol(&self) -> Option<&'static str> {
        self.symbol
    }

    /// Every `rdfs:label` in every language (`Metre`, `Meter`), matched case-insensitively.
    pub fn labels(&self) -> &[&'static str] {
        &self.labels
    }

    /// Local names of the unit's quantity kinds, such as `Length`.
    pub fn quantity_kinds(&self) -> &[&'static str] {
        &self.quantity_kinds
    }

    /// Local name of the unit's dimension vector, such as `A0E0L1I0M0H0T0D0`.
    pub fn dimension_vector(&self) -> &'static str {
        self.dimension_vector
    }

    /// IRI of the unit's dimension vector.
    pub fn dimension_vector_iri(&self) -> String {
        format!("{DIMENSION_VECTOR_NAMESPACE}{}", self.dimension_vector)
    }

    /// QUDT's conversion multiplier to the SI unit, exactly as published, if any. A missing
    /// or zero multiplier converts as 1, as in qudtlib.
    pub fn conversion_multiplier(&self) -> Option<&'static str> {
        self.multiplier_text
    }

    /// QUDT's conversion offset (`273.15` for degree Celsius), if any.
    pub fn conversion_offset(&self) -> Option<&'static str> {
        self.offset_text
    }

    /// `unit:UNITLESS`, which converts to and from anything unchanged.
    pub fn is_unitless(&self) -> bool {
        self.local_name == UNITLESS
    }
}

/// Finds the unit SIF's CONVERT would use for `text`.
///
/// The first unit whose symbol is exactly `text` and which has a quantity kind with a label
/// equal to `quantity_kind` ignoring case; otherwise the first unit with any label equal to
/// `text` ignoring case, whatever its kind. Without a quantity kind, symbols never match.
///
/// # Errors
///
/// [`UnitError::NotRecognized`] when no unit matches; its message names `?` as the quantity
/// kind when none was given.
pub fn resolve(text: &str, quantity_kind: Option<&str>) -> Result<UnitRef, UnitError> {
    let kind = quantity_kind.unwrap_or(UNSPECIFIED_KIND);
    table()?
        .resolve(text, kind)
        .ok_or_else(|| UnitError::NotRecognized {
            text: text.to_owned(),
            quantity_kind: kind.to_owned(),
        })
}

fn table() -> Result<&'static Table, UnitError> {
    TABLE
        .as_ref()
        .map_err(|reason| UnitError::Table(reason.clone()))
}

struct Table {
    units: Vec<Unit>,
    by_symbol: HashMap<&'static str, Vec<usize>>,
    /// Case-folded label to the first unit carrying it.
    by_label: HashMap<String, usize>,
    /// Case-folded quantity-kind label to the kinds carrying it.
    kinds_by_label: HashMap<String, Vec<&'static str>>,
}

impl Table {
    fn parse(units_tsv: &'static str, kinds_tsv: &'static str) -> Result<Self, String> {
        let mut kinds_by_label: HashMap<String, Vec<&'static str>> = HashMap::new();
        for (line, fields) in records("quantity_kinds.tsv", kinds_tsv, &KIND_COLUMNS)? {
            let &[name, labels] = fields.as_slice() else {
                return Err(field_count("quantity_kinds.tsv", line, &KIND_COLUMNS));
            };
            for label in labels.split('|') {
                kinds_by_label
                    .entry(fold_case(label))
                    .or_default()
                    .push(name);
            }
        }

        let mut units = Vec::new();
        for (line, fields) in records("units.tsv", units_tsv, &UNIT_COLUMNS)? {
            units.push(parse_unit(line, &fields)?);
        }

        let mut by_symbol: HashMap<&'static str, Vec<usize>> = HashMap::new();
        let mut by_label = HashMap::new();
        for (index, unit) in units.iter().enumerate() {
            if let Some(symbol) = unit.symbol {
                by_symbol.entry(symbol).or_default().push(index);
            }
            for label in &unit.labels {
                by_label.entry(fold_case(label)).or_insert(index);
            }
        }
        Ok(Self {
            units,
            by_symbol,
            by_label,
            kinds_by_label,
        })
    }

    fn resolve(&self, text: &str, kind: &str) -> Option<&Unit> {
        let by_symbol = self.by_symbol.get(text).and_then(|candidates| {
            let kinds = self.kinds_by_label.get(&fold_case(kind))?;
            candidates
                .iter()
                .map(|&index| &self.units[index])
                .find(|unit| unit.quantity_kinds.iter().any(|k| kinds.contains(k)))
        });
        by_symbol.or_else(|| {
            self.by_label
                .get(&fold_case(text))
                .map(|&index| &self.units[index])
        })
    }
}

fn parse_unit(line: usize, fields: &[&'static str]) -> Result<Unit, String> {
    let &[
        local_name,
        symbol,
        multiplier,
        offset,
        dimension_vector,
        quantity_kinds,
        labels,
    ] = fields
    else {
        return Err(field_count("units.tsv", line, &UNIT_COLUMNS));
    };
    let invalid =
        |what: &str, text: &str| format!("units.tsv line {line}: invalid {what} {text:?}");
    let multiplier_text = non_empty(multiplier);
    let multiplier = match multiplier_text {
        None => Scientific::ONE,
        Some(text) => Scientific::parse(text).ok_or_else(|| invalid("multiplier", text))?,
    };
    let offset_text = non_empty(offset);
    let offset = match offset_text {
        None => Decimal::ZERO,
        Some(text) => Decimal::from_str_exact(text).map_err(|_| invalid("offset", text))?,
    };
    if local_name.is_empty() || dimension_vector.is_empty() || labels.is_empty() {
        return Err(format!(
            "units.tsv line {line}: local name, dimension vector and labels are required"
        ));
    }
    Ok(Unit {
        local_name,
        symbol: non_empty(symbol),
        labels: labels.split('|').collect(),
        quantity_kinds: quantity_kinds.split_whitespace().collect(),
        dimension_vector,
        multiplier_text,
        offset_text,
        // qudtlib treats a zero multiplier like a missing one.
        multiplier: if multiplier.is_zero() {
            Scientific::ONE
        } else {
            multiplier
        },
        offset,
    })
}

/// Data rows of a TSV file (lines starting with `#` are comments) as (line number, fields).
fn records(
    file: &str,
    text: &'static str,
    columns: &[&str],
) -> Result<Vec<(usize, Vec<&'static str>)>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.starts_with('#'));
    match lines.next() {
        Some((_, header)) if header.split('\t').eq(columns.iter().copied()) => {}
        _ => return Err(format!("{file}: the header is not {}", columns.join(" "))),
    }
    Ok(lines
        .map(|(line, text)| (line, text.split('\t').collect()))
        .collect())
}

fn field_count(file: &str, line: usize, columns: &[&str]) -> String {
    format!(
        "{file} line {line}: expected {} tab-separated fields",
        columns.len()
    )
}

fn non_empty(text: &'static str) -> Option<&'static str> {
    (!text.is_empty()).then_some(text)
}

/// Case folding under which two texts are equal exactly when Java's `equalsIgnoreCase`
/// says so: per character, lower case of upper case, with one-to-one mappings only.
fn fold_case(text: &str) -> String {
    text.chars().map(|c| lower(upper(c))).collect()
}

fn upper(c: char) -> char {
    single(c.to_uppercase()).unwrap_or(c)
}

fn lower(c: char) -> char {
    single(c.to_lowercase()).unwrap_or(c)
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> &'static Table {
        table().expect("the embedded table loads")
    }

    fn unit(text: &str, kind: Option<&str>) -> &'static str {
        resolve(text, kind)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .local_name()
    }

    /// Java's `String.hashCode`, spread and masked as `java.util.HashMap` does.
    fn java_bucket(key: &str, capacity: u32) -> u32 {
        let hash = key
            .encode_utf16()
            .fold(0_i32, |h, unit| {
                h.wrapping_mul(31).wrapping_add(i32::from(unit))
            })
            .cast_unsigned();
        (hash ^ (hash >> 16)) & (capacity - 1)
    }

    #[test]
    fn table_holds_all_qudt_2_1_25_units() {
        let table = loaded();
        assert_eq!(table.units.len(), 1778);
        let mut names: Vec<_> = table.units.iter().map(|u| u.local_name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), table.units.len(), "local names are unique");
    }

    #[test]
    fn units_are_in_java_hashmap_iteration_order() {
        // A HashMap of 1778 entries grows to 4096 buckets; it iterates bucket by bucket.
        let buckets: Vec<u32> = loaded()
            .units
            .iter()
            .map(|u| java_bucket(&u.iri(), 4096))
            .collect();
        assert!(buckets.is_sorted());
    }

    #[test]
    fn every_quantity_kind_of_a_unit_has_labels() {
        let table = loaded();
        let known: Vec<&str> = table.kinds_by_label.values().flatten().copied().collect();
        for unit in &table.units {
            for kind in &unit.quantity_kinds {
                assert!(known.contains(kind), "{} refers to {kind}", unit.local_name);
            }
        }
    }

    #[test]
    fn labels_match_ignoring_case_in_every_spelling() {
        for text in ["meter", "Metre", "METRE", "mEtEr"] {
            assert_eq!(unit(text, None), "M");
        }
        for text in ["litre", "Liter", "LITER"] {
            assert_eq!(unit(text, None), "L");
        }
        assert_eq!(unit("kilogram", None), "KiloGM");
        // Non-English labels count too.
        assert_eq!(unit("mikrojoule ", None), "MicroJ");
    }

    #[test]
    fn labels_match_whatever_quantity_kind_is_given() {
        assert_eq!(unit("kilogram", Some("length")), "KiloGM");
        assert_eq!(unit("metre", Some("no such kind")), "M");
    }

    #[test]
    fn symbols_need_a_matching_quantity_kind() {
        assert_eq!(unit("m", Some("length")), "M");
        assert_eq!(unit("m", Some("LENGTH")), "M");
        assert_eq!(unit("kg", Some("Mass")), "KiloGM");
        for kind in [None, Some("mass"), Some("")] {
            assert_eq!(
                resolve("m", kind).map(Unit::local_name),
                Err(UnitError::NotRecognized {
                    text: "m".into(),
                    quantity_kind: kind.unwrap_or("?").into(),
                })
            );
        }
    }

    #[test]
    fn symbols_match_case_sensitively() {
        assert_eq!(unit("cm", Some("length")), "CentiM");
        assert!(resolve("CM", Some("length")).is_err());
        assert!(resolve("KG", Some("mass")).is_err());
        // `L` is the symbol of the litre (volume) and of the lambert (luminance).
        assert_eq!(unit("L", Some("volume")), "L");
        assert_eq!(unit("L", Some("luminance")), "LA");
        // `l` is neither a symbol nor a label.
        assert!(resolve("l", Some("volume")).is_err());
    }

    #[test]
    fn a_symbol_resolves_within_the_requested_kind() {
        // `t` is the symbol of both TON_Metric and TONNE (Mass) and of nothing else.
        let tonne = unit("t", Some("mass"));
        assert!(["TON_Metric", "TONNE"].contains(&tonne));
        // Microwatt and milliwatt share the symbol `mW`; qudtlib's map order puts MilliW first.
        assert_eq!(unit("mW", Some("power")), "MilliW");
    }

    #[test]
    fn the_first_unit_in_map_order_wins_a_shared_symbol() {
        let table = loaded();
        let candidates = &table.by_symbol["mW"];
        let buckets: Vec<u32> = candidates
            .iter()
            .map(|&i| java_bucket(&table.units[i].iri(), 4096))
            .collect();
        let chosen = unit("mW", Some("power"));
        let first = candidates
            .iter()
            .zip(&buckets)
            .min_by_key(|(_, bucket)| **bucket)
            .map(|(&i, _)| table.units[i].local_name);
        assert_eq!(Some(chosen), first);
    }

    #[test]
    fn non_ascii_symbols_resolve() {
        assert_eq!(
            unit("keV/µM", Some("linear energy transfer")),
            "KiloEV-PER-MicroM"
        );
        assert_eq!(unit("°C", Some("temperature")), "DEG_C");
        assert_eq!(unit("kW⋅h", Some("energy")), "KiloW-HR");
    }

    #[test]
    fn unknown_units_are_reported_with_the_kind_as_given() {
        let error = resolve("furlongs per fortnight", Some("Speed")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Unit 'furlongs per fortnight' ('Speed' quantity kind) not recognized."
        );
        let error = resolve("", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Unit '' ('?' quantity kind) not recognized."
        );
    }

    #[test]
    fn unit_accessors_expose_the_qudt_data() {
        let celsius = resolve("degree celsius", None).expect("°C");
        assert_eq!(celsius.iri(), "http://qudt.org/vocab/unit/DEG_C");
        assert_eq!(celsius.symbol(), Some("°C"));
        assert_eq!(celsius.labels(), ["Degree Celsius"]);
        assert!(celsius.quantity_kinds().contains(&"Temperature"));
        assert_eq!(celsius.dimension_vector(), "A0E0L0I0M0H1T0D0");
        assert_eq!(
            celsius.dimension_vector_iri(),
            "http://qudt.org/vocab/dimensionvector/A0E0L0I0M0H1T0D0"
        );
        assert_eq!(celsius.conversion_multiplier(), Some("1.0"));
        assert_eq!(celsius.conversion_offset(), Some("273.15"));
        assert!(!celsius.is_unitless());
        assert!(resolve("unitless", None).expect("UNITLESS").is_unitless());
        // QUDT 2.1.25 gives the plain barrel no multiplier.
        assert_eq!(
            resolve("barrel", None)
                .expect("BBL")
                .conversion_multiplier(),
            None
        );
    }

    #[test]
    fn fold_case_follows_java_equals_ignore_case() {
        assert_eq!(fold_case("Meter"), fold_case("mETER"));
        assert_eq!(fold_case("µ"), fold_case("Μ")); // micro sign ~ Greek capital mu
        assert_ne!(fold_case("Straße"), fold_case("STRASSE"));
        assert_eq!(fold_case("ǅ"), fold_case("ǆ")); // title case
    }

    #[test]
    fn malformed_tables_are_reported_not_panicked_on() {
        let kinds = "local_name\tlabels\nLength\tLength\n";
        let header =
            "local_name\tsymbol\tmultiplier\toffset\tdimension_vector\tquantity_kinds\tlabels\n";
        let cases = [
            ("local_name\n", "header"),
            ("", "header"),
            (&*format!("{header}M\tm\t1.0\n"), "expected 7"),
            (
                &*format!("{header}M\tm\tx\t\tD\tLength\tMetre\n"),
                "multiplier",
            ),
            (
                &*format!("{header}M\tm\t1\t1e3\tD\tLength\tMetre\n"),
                "offset",
            ),
            (
                &*format!("{header}M\tm\t1\t\t\tLength\tMetre\n"),
                "required",
            ),
        ];
        for (units, expected) in cases {
            let units: &'static str = Box::leak(units.to_owned().into_boxed_str());
            let error = Table::parse(units, kinds).err().expect(units);
            assert!(error.contains(expected), "{error}");
        }
        assert!(Table::parse(header, "labels\n").is_err());
    }
}
