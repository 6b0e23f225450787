//! Writes a syntax tree back as formula text that parses to the same tree.

use super::ast::{BinOp, Call, Expr, ExprKind, Formula};
use crate::number;

pub fn print_formula(formula: &Formula) -> String {
    let statements: Vec<String> = formula.statements.iter().map(print_expr).collect();
    statements.join("\n")
}

pub fn print_expr(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr, Context::Free);
    out
}

/// Where an expression is written, which decides whether it needs parentheses.
#[derive(Clone, Copy)]
enum Context {
    /// A statement, an argument or an index: nothing binds around it.
    Free,
    /// The operand of `-`.
    Negated,
    /// The left or right operand of a binary operator.
    Left(BinOp),
    Right(BinOp),
}

fn write_expr(out: &mut String, expr: &Expr, context: Context) {
    let needs_parens = match (&expr.kind, context) {
        (_, Context::Free) => false,
        // `set` takes everything to its right, so as an operand it is always enclosed.
        (ExprKind::Set(..), _) => true,
        (ExprKind::Binary(..), Context::Negated) => true,
        (ExprKind::Binary(op, ..), Context::Left(parent)) => op.precedence() < parent.precedence(),
        (ExprKind::Binary(op, ..), Context::Right(parent)) => {
            op.precedence() <= parent.precedence()
        }
        _ => false,
    };
    if needs_parens {
        out.push('(');
    }
    match &expr.kind {
        ExprKind::Number(n) => number::write_text(out, *n),
        ExprKind::Str(s) => {
            out.push('\'');
            out.push_str(&s.replace('\'', "\\'"));
            out.push('\'');
        }
        ExprKind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ExprKind::Null => out.push_str("null"),
        ExprKind::Token(name) => {
            out.push(':');
            out.push_str(name);
        }
        ExprKind::Neg(inner) => {
            out.push('-');
            write_expr(out, inner, Context::Negated);
        }
        ExprKind::Binary(op, lhs, rhs) => {
            write_expr(out, lhs, Context::Left(*op));
            out.push_str(op.symbol());
            write_expr(out, rhs, Context::Right(*op));
        }
        ExprKind::Set(name, value) => {
            out.push_str("set :");
            out.push_str(name);
            out.push_str(" = ");
            write_expr(out, value, Context::Free);
        }
        ExprKind::Call(call) => write_call(out, call),
    }
    if needs_parens {
        out.push(')');
    }
}

fn write_call(out: &mut String, call: &Call) {
    if matches!(call.function, super::ast::Function::Custom(_)) {
        out.push('#');
    }
    out.push_str(call.function.name());
    out.push('(');
    for (i, arg) in call.args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_expr(out, arg, Context::Free);
    }
    for (option, value) in &call.options {
        out.push(',');
        out.push_str(option.name());
        out.push('=');
        write_expr(out, value, Context::Free);
    }
    out.push(')');
    if let Some(index) = &call.index {
        out.push('[');
        write_expr(out, index, Context::Free);
        out.push(']');
    }
}
