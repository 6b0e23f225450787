//! Checking a formula when a calculation or pipeline is saved, so that a formula that cannot
//! run is refused at once rather than failing on every row later.

use std::collections::HashSet;

use sifr_calc::syntax::ast::{Expr, ExprKind};
use sifr_calc::syntax::{self, SyntaxError};
use sifr_calc::{Program, Schema};
use sifr_engine::{ROW_IDENTIFIER, ROW_NUMBER};

/// Compiles `formula` against the parameter `keys` (the row identifier is always readable).
/// Beyond what the compiler checks, every `:token` the formula reads must be a parameter or a
/// variable the formula sets; otherwise every row would fail with "not found". Errors read
/// `Line l:c message`.
pub(crate) fn check(formula: &str, keys: &[&str]) -> Result<Program, SyntaxError> {
    let schema = Schema::new(keys.iter().copied().chain([ROW_IDENTIFIER, ROW_NUMBER]));
    let program = Program::compile(formula, &schema)?;
    let parsed = syntax::parse(formula)?;
    let mut reads = Vec::new();
    let mut sets = HashSet::new();
    for statement in &parsed.formula.statements {
        tokens(statement, &mut reads, &mut sets);
    }
    if let Some((name, start)) = reads
        .into_iter()
        .find(|(name, _)| schema.slot(name).is_none() && !sets.contains(name))
    {
        let (line, column) = syntax::position(formula, start);
        return Err(SyntaxError {
            line,
            column,
            message: format!(
                "Provided token '{name}' not found as a pipeline parameter or variable."
            ),
        });
    }
    Ok(program)
}

/// The tokens `expr` reads (with their offsets) and the variables it sets.
fn tokens<'a>(expr: &'a Expr, reads: &mut Vec<(&'a str, usize)>, sets: &mut HashSet<&'a str>) {
    match &expr.kind {
        ExprKind::Token(name) => reads.push((name, expr.span.start)),
        ExprKind::Set(name, value) => {
            sets.insert(name);
            tokens(value, reads, sets);
        }
        ExprKind::Neg(inner) => tokens(inner, reads, sets),
        ExprKind::Binary(_, lhs, rhs) => {
            tokens(lhs, reads, sets);
            tokens(rhs, reads, sets);
        }
        ExprKind::Call(call) => {
            let options = call.options.iter().map(|(_, e)| e);
            for arg in call.args.iter().chain(options).chain(call.index.as_deref()) {
                tokens(arg, reads, sets);
            }
        }
        ExprKind::Number(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(formula: &str, keys: &[&str]) -> String {
        match check(formula, keys) {
            Ok(_) => panic!("{formula} should be refused"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn formulas_read_declared_tokens_only() {
        assert!(check(":a + :b", &["a", "b"]).is_ok());
        assert!(check("set :x = :a * 2\n:x + 1", &["a"]).is_ok());
        assert!(check("CONCAT(:___row_identifier___, 'x')", &[]).is_ok());
        assert_eq!(
            error(":a + :missing", &["a"]),
            "Line 1:5 Provided token 'missing' not found as a pipeline parameter or variable."
        );
        assert_eq!(
            error("IF(:a > 1, :other, 0)", &["a"]),
            "Line 1:11 Provided token 'other' not found as a pipeline parameter or variable."
        );
        assert!(error(":a +", &["a"]).starts_with("Line 1:"));
    }
}
