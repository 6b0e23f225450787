//! Reusing formula results across rows.
//!
//! Within one execution every resource is pinned to one version, so a formula's result depends
//! only on the row values it reads: its parameters and the earlier outputs it names in `REF`.
//! Many formulas read few, low-cardinality values (`LOOKUP(:fuel, ...)`, `AS_TIMESTAMP(:date,
//! ...)`, `IMPACT(REF('activity'), ...)`), so each evaluation thread keeps, per output, the
//! results (and audit records) it computed, keyed by those values. A cache that misses more
//! than it hits switches itself off, and none grows beyond a fixed size.
//!
//! Formulas whose dependencies cannot be known statically are never cached: calculation calls
//! (a stored calculation may read any parameter of the row), `REF` with a computed name, and
//! the row identifier (unique per row).
//!
//! Input cells are cached the same way ([`CellCache`]): a repeated date, site or category
//! becomes the same value without being read and allocated again.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHasher};

use sifr_calc::syntax::ast::{Expr, ExprKind, Function};
use sifr_calc::{EvalError, InputError, InputType, Schema, Value};

use crate::audit::Fragment;
use crate::validate::{ROW_IDENTIFIER, ROW_NUMBER};

/// What a formula reads from its row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dependencies {
    /// Parameter slots.
    pub params: Vec<usize>,
    /// Indexes of earlier outputs read with `REF`.
    pub refs: Vec<usize>,
}

/// The outcome of analysing one formula.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// Set when the result may be cached, keyed by these dependencies.
    pub memo: Option<Dependencies>,
    /// The parameter slots the formula names.
    pub params: Vec<usize>,
    /// The formula calls a stored calculation, which may read any parameter of the row.
    pub reads_any_parameter: bool,
    /// The formula may read the row identifier.
    pub uses_row_identifier: bool,
    /// The formula is one parameter (`:site`): its value is the parameter's.
    pub parameter: Option<usize>,
}

/// Analyses the formula of output `index`; `output_index` maps output keys to their positions.
pub(crate) fn analyse(
    formula: &str,
    schema: &Schema,
    index: usize,
    output_index: &HashMap<&str, usize>,
) -> Analysis {
    let Ok(parsed) = sifr_calc::syntax::parse(formula) else {
        return Analysis {
            reads_any_parameter: true,
            ..Analysis::default()
        };
    };
    let mut walk = Walk {
        schema,
        index,
        output_index,
        deps: Dependencies::default(),
        cacheable: true,
        costly: false,
        row_identifier: false,
        row_number: false,
        calls_calculation: false,
    };
    for statement in &parsed.formula.statements {
        walk.expr(statement);
    }
    walk.deps.params.sort_unstable();
    walk.deps.params.dedup();
    walk.deps.refs.sort_unstable();
    walk.deps.refs.dedup();
    let parameter = match parsed.formula.statements.as_slice() {
        [
            Expr {
                kind: ExprKind::Token(name),
                ..
            },
        ] => schema.slot(name),
        _ => None,
    };
    Analysis {
        parameter,
        params: walk.deps.params.clone(),
        reads_any_parameter: walk.calls_calculation,
        memo: (walk.cacheable && walk.costly && !walk.row_identifier && !walk.row_number)
            .then_some(walk.deps),
        uses_row_identifier: walk.row_identifier,
    }
}

struct Walk<'a> {
    schema: &'a Schema,
    index: usize,
    output_index: &'a HashMap<&'a str, usize>,
    deps: Dependencies,
    cacheable: bool,
    /// The formula calls something worth caching (a look-up, a parse, a conversion).
    costly: bool,
    row_identifier: bool,
    /// Reads the row's number, which differs on every row.
    row_number: bool,
    calls_calculation: bool,
}

impl Walk<'_> {
    fn expr(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Number(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Null => {}
            ExprKind::Token(name) => {
                if let Some(slot) = self.schema.slot(name) {
                    // Both differ on every row: results that read them are never cached.
                    self.row_identifier |= name == ROW_IDENTIFIER;
                    self.row_number |= name == ROW_NUMBER;
                    self.deps.params.push(slot);
                }
            }
            ExprKind::Neg(inner) => self.expr(inner),
            ExprKind::Binary(_, lhs, rhs) => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Set(_, value) => self.expr(value),
            ExprKind::Call(call) => {
                match &call.function {
                    Function::Ref => match call.args.first().map(|a| &a.kind) {
                        Some(ExprKind::Str(name)) => {
                            // An unknown or later output reads as null on every row.
                            if let Some(&i) = self.output_index.get(name.as_str())
                                && i < self.index
                            {
                                self.deps.refs.push(i);
                            }
                        }
                        _ => self.cacheable = false,
                    },
                    Function::Custom(_) => {
                        self.cacheable = false;
                        self.row_identifier = true;
                        self.calls_calculation = true;
                    }
                    Function::If
                    | Function::Coalesce
                    | Function::Concat
                    | Function::Lowercase
                    | Function::Uppercase => {}
                    _ => self.costly = true,
                }
                for arg in &call.args {
                    self.expr(arg);
                }
                for (_, value) in &call.options {
                    self.expr(value);
                }
                if let Some(index) = &call.index {
                    self.expr(index);
                }
            }
        }
    }
}

/// Lookups between checks of a cache's hit rate.
const CHECK_EVERY: u64 = 4096;
/// Entries a cache holds before it starts over.
const MAX_ENTRIES: usize = 4096;

/// Counts a cache's lookups and hits, and switches it off when it misses more than it hits.
#[derive(Default)]
struct HitRate {
    lookups: u64,
    hits: u64,
    off: bool,
}

impl HitRate {
    /// Counts a lookup; true when the cache has just been switched off.
    fn lookup(&mut self) -> bool {
        self.lookups += 1;
        if !self.off && self.lookups.is_multiple_of(CHECK_EVERY) && self.hits * 2 < self.lookups {
            self.off = true;
            return true;
        }
        false
    }
}

/// One output's cache, owned by one evaluation thread.
#[derive(Default)]
pub(crate) struct MemoCache {
    entries: HashMap<u64, Vec<Entry>, BuildHasherDefault<IdentityHasher>>,
    len: usize,
    rate: HitRate,
}

struct Entry {
    key: Box<[Value]>,
    result: Result<Value, EvalError>,
    audit: Option<Arc<Fragment>>,
}

/// A cached result, and its audit when one was recorded.
pub(crate) type Cached<'a> = (&'a Result<Value, EvalError>, Option<&'a Arc<Fragment>>);

impl MemoCache {
    pub(crate) fn is_enabled(&self) -> bool {
        !self.rate.off
    }

    /// The hash of a key.
    pub(crate) fn hash<'v>(key: impl Iterator<Item = &'v Value>) -> u64 {
        let mut hasher = FxHasher::default();
        for value in key {
            hash_value(value, &mut hasher);
        }
        hasher.finish()
    }

    /// Looks `key` (whose hash is `hash`) up, and counts the lookup.
    pub(crate) fn find<'v>(
        &mut self,
        hash: u64,
        key: impl Iterator<Item = &'v Value> + Clone,
    ) -> Option<Cached<'_>> {
        if self.rate.lookup() {
            self.entries = HashMap::default();
            self.len = 0;
            return None;
        }
        let entry = self.entries.get(&hash)?.iter().find(|entry| {
            let mut wanted = key.clone();
            entry
                .key
                .iter()
                .all(|a| wanted.next().is_some_and(|b| same(a, b)))
                && wanted.next().is_none()
        })?;
        self.rate.hits += 1;
        Some((&entry.result, entry.audit.as_ref()))
    }

    pub(crate) fn insert<'v>(
        &mut self,
        hash: u64,
        key: impl Iterator<Item = &'v Value>,
        result: Result<Value, EvalError>,
        audit: Option<Arc<Fragment>>,
    ) {
        if self.rate.off {
            return;
        }
        if self.len >= MAX_ENTRIES {
            self.entries.clear();
            self.len = 0;
        }
        self.entries.entry(hash).or_default().push(Entry {
            key: key.cloned().collect(),
            result,
            audit,
        });
        self.len += 1;
    }
}

/// The values of one input column by cell text, owned by one evaluation thread.
#[derive(Default)]
pub(crate) struct CellCache {
    values: FxHashMap<Box<str>, Value>,
    rate: HitRate,
}

impl CellCache {
    /// The value of a cell of a column of type `kind`, as [`Value::from_input`] reads it.
    pub(crate) fn read(&mut self, cell: &str, kind: InputType) -> Result<Value, InputError> {
        if self.rate.off {
            return Value::from_input(Some(cell), kind);
        }
        if self.rate.lookup() {
            self.values = FxHashMap::default();
            return Value::from_input(Some(cell), kind);
        }
        if let Some(value) = self.values.get(cell) {
            self.rate.hits += 1;
            return Ok(value.clone());
        }
        let value = Value::from_input(Some(cell), kind)?;
        if self.values.len() >= MAX_ENTRIES {
            self.values.clear();
        }
        self.values.insert(Box::from(cell), value.clone());
        Ok(value)
    }
}

/// Equal values with the same representation: numbers must also agree in scale, so a cached
/// result is exactly what evaluating would give.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y && x.scale() == y.scale(),
        // Cached cells share their text, so most equal strings are one string.
        (Value::Str(x), Value::Str(y)) => Arc::ptr_eq(x, y) || x == y,
        _ => a == b,
    }
}

fn hash_value(value: &Value, hasher: &mut FxHasher) {
    std::mem::discriminant(value).hash(hasher);
    match value {
        Value::Absent | Value::Null => {}
        Value::Number(n) => {
            n.mantissa().hash(hasher);
            n.scale().hash(hasher);
        }
        Value::Bool(b) => b.hash(hasher),
        Value::Str(s) | Value::Json(s) => s.hash(hasher),
        Value::List(items) => {
            for item in items.iter() {
                hash_value(item, hasher);
            }
        }
    }
}

/// Keys are already hashes.
#[derive(Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
