//! Evaluating a compiled formula against one row.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::audit::Audit;
use crate::compile::{Node, Program};
use crate::functions::{SiteId, SiteMemo};
use crate::number;
use crate::resources::{PinnedResources, ResourceSource};
use crate::syntax::ast::BinOp;
use rust_decimal::Decimal;

use crate::value::{Kind, Value};

/// A formula that failed on a row. The message names what failed and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

impl EvalError {
    pub fn new(message: impl Into<String>) -> Self {
        EvalError {
            message: message.into(),
        }
    }
}

impl From<number::Overflow> for EvalError {
    fn from(e: number::Overflow) -> Self {
        EvalError::new(e.to_string())
    }
}

impl From<crate::resources::ResourceError> for EvalError {
    fn from(e: crate::resources::ResourceError) -> Self {
        EvalError::new(e.0)
    }
}

/// Outputs already computed for the current row, which `REF('name')` reads.
pub trait Refs {
    fn output(&self, name: &str) -> Option<Value>;
}

/// A row with no earlier outputs.
pub struct NoRefs;

impl Refs for NoRefs {
    fn output(&self, _: &str) -> Option<Value> {
        None
    }
}

impl Refs for HashMap<String, Value> {
    fn output(&self, name: &str) -> Option<Value> {
        self.get(name).cloned()
    }
}

/// What stays the same for every row of one execution: the group in context and the resources,
/// each pinned to the version first resolved.
pub struct Session {
    pub(crate) resources: PinnedResources,
    pub(crate) group_context: String,
    /// What call sites with constant resource arguments resolved.
    memos: RwLock<HashMap<SiteId, SiteMemo>>,
}

impl Session {
    pub fn new(source: Arc<dyn ResourceSource>, group_context: impl Into<String>) -> Self {
        Session {
            resources: PinnedResources::new(source),
            group_context: group_context.into(),
            memos: RwLock::default(),
        }
    }

    pub(crate) fn memo(&self, site: SiteId) -> Option<SiteMemo> {
        self.memos
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&site)
            .cloned()
    }

    pub(crate) fn remember(&self, site: SiteId, memo: SiteMemo) {
        self.memos
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(site)
            .or_insert(memo);
    }

    pub fn group_context(&self) -> &str {
        &self.group_context
    }

    pub fn resources(&self) -> &PinnedResources {
        &self.resources
    }
}

/// One row: parameter values in the slots of the program's [`Schema`](crate::Schema), and the
/// outputs computed before this formula.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub params: &'a [Value],
    pub refs: &'a dyn Refs,
}

impl<'a> Row<'a> {
    pub fn new(params: &'a [Value]) -> Self {
        Row {
            params,
            refs: &NoRefs,
        }
    }
}

/// Calculation calls may nest, but not without end (a calculation calling itself).
const MAX_CALL_DEPTH: usize = 32;

impl Program {
    /// Evaluates the formula for one row.
    pub fn evaluate(&self, session: &Session, row: Row<'_>) -> Result<Value, EvalError> {
        self.run(session, row, None, 0)
    }

    /// Evaluates the formula for one row and records what it used in `audit`.
    pub fn evaluate_audited(
        &self,
        session: &Session,
        row: Row<'_>,
        audit: &mut Audit,
    ) -> Result<Value, EvalError> {
        self.run(session, row, Some(audit), 0)
    }

    pub(crate) fn run(
        &self,
        session: &Session,
        row: Row<'_>,
        audit: Option<&mut Audit>,
        depth: usize,
    ) -> Result<Value, EvalError> {
        if depth > MAX_CALL_DEPTH {
            return Err(EvalError::new(format!(
                "calculation calls nest deeper than {MAX_CALL_DEPTH} levels; does a calculation call itself?"
            )));
        }
        if row.params.len() < self.schema.len() {
            return Err(EvalError::new(format!(
                "the row has {} parameter values, the formula was compiled for {}",
                row.params.len(),
                self.schema.len()
            )));
        }
        let mut frame = Frame {
            session,
            program: self,
            row,
            // Most formulas use no variables: no allocation for them.
            vars: if self.variables == 0 {
                Vec::new()
            } else {
                vec![None; self.variables]
            },
            audit,
            depth,
        };
        let mut result = Value::Absent;
        for statement in &self.statements {
            result = frame.eval(statement)?;
        }
        Ok(result)
    }
}

pub(crate) struct Frame<'a> {
    pub(crate) session: &'a Session,
    pub(crate) program: &'a Program,
    pub(crate) row: Row<'a>,
    vars: Vec<Option<Value>>,
    pub(crate) audit: Option<&'a mut Audit>,
    pub(crate) depth: usize,
}

impl Frame<'_> {
    pub(crate) fn record(&mut self, key: &Arc<str>, value: &Value) {
        if let Some(audit) = self.audit.as_deref_mut() {
            audit.record(key, value.to_string());
        }
    }

    pub(crate) fn eval(&mut self, node: &Node) -> Result<Value, EvalError> {
        match node {
            Node::Const(value) => Ok(value.clone()),
            Node::Param { slot, key } => {
                let value = self.row.params[*slot].clone();
                self.record(key, &value);
                Ok(value)
            }
            Node::Var { slot, name, key } => match &self.vars[*slot] {
                Some(value) => {
                    let value = value.clone();
                    self.record(key, &value);
                    Ok(value)
                }
                None => Err(EvalError::new(format!(
                    "Provided token '{name}' not found as a pipeline parameter or variable."
                ))),
            },
            Node::Neg(_) => self.number(node).and_then(|n| {
                n.map(Value::Number)
                    .ok_or_else(|| EvalError::new("Signed expressions must be numeric."))
            }),
            Node::Binary { op, lhs, rhs, text } if op.is_arithmetic() => {
                self.arithmetic(*op, lhs, rhs, text).map(Value::Number)
            }
            Node::Binary { op, lhs, rhs, text } => {
                let left = self.eval(lhs)?;
                let right = self.eval(rhs)?;
                compare(*op, &left, &right, text).map(Value::Bool)
            }
            Node::Set {
                slot,
                name,
                value,
                key,
                is_parameter,
            } => {
                if *is_parameter {
                    return Err(EvalError::new(format!(
                        "Provided token '{name}' is already being used as a pipeline parameter."
                    )));
                }
                let value = self.eval(value)?;
                if value == Value::Absent {
                    return Err(EvalError::new(format!(
                        "cannot assign the null literal to :{name}; assign an empty value such as a parameter, or use COALESCE"
                    )));
                }
                self.record(key, &value);
                self.vars[*slot] = Some(value.clone());
                Ok(value)
            }
            Node::If {
                condition,
                then,
                otherwise,
                text,
            } => match self.eval(condition)? {
                Value::Bool(true) => self.eval(then),
                Value::Bool(false) => self.eval(otherwise),
                _ => Err(EvalError::new(format!(
                    "Predicate '{text}' must evaluate to a boolean."
                ))),
            },
            Node::Call { call, key } => {
                let value = call.eval(self)?;
                self.record(key, &value);
                Ok(value)
            }
        }
    }

    /// Evaluates an operand of arithmetic: `Some` number, or `None` for a value of another
    /// kind. Arithmetic subtrees are computed on decimals directly, without wrapping every
    /// intermediate result in a [`Value`].
    fn number(&mut self, node: &Node) -> Result<Option<Decimal>, EvalError> {
        match node {
            Node::Const(Value::Number(n)) => Ok(Some(*n)),
            Node::Param { slot, key } => {
                let value = &self.row.params[*slot];
                let number = match value {
                    Value::Number(n) => Some(*n),
                    _ => None,
                };
                if let Some(audit) = self.audit.as_deref_mut() {
                    audit.record(key, value.to_string());
                }
                Ok(number)
            }
            Node::Neg(inner) => match self.number(inner)? {
                Some(n) => Ok(Some(-n)),
                None => Err(EvalError::new("Signed expressions must be numeric.")),
            },
            Node::Binary { op, lhs, rhs, text } if op.is_arithmetic() => {
                self.arithmetic(*op, lhs, rhs, text).map(Some)
            }
            other => Ok(match self.eval(other)? {
                Value::Number(n) => Some(n),
                _ => None,
            }),
        }
    }

    /// `+ - * / ^`: both sides are evaluated, then each must be a number.
    fn arithmetic(
        &mut self,
        op: BinOp,
        lhs: &Node,
        rhs: &Node,
        text: &str,
    ) -> Result<Decimal, EvalError> {
        let left = self.number(lhs)?;
        let right = self.number(rhs)?;
        let (a, b) = match (left, right) {
            (Some(a), Some(b)) => (a, b),
            (Some(_), None) => return Err(operand_error("Right", op, text)),
            (None, _) => return Err(operand_error("Left", op, text)),
        };
        let cannot =
            |e: &dyn std::fmt::Display| EvalError::new(format!("'{text}' cannot be computed: {e}"));
        match op {
            BinOp::Add => number::add(a, b).map_err(|e| cannot(&e)),
            BinOp::Sub => number::sub(a, b).map_err(|e| cannot(&e)),
            BinOp::Mul => number::mul(a, b).map_err(|e| cannot(&e)),
            BinOp::Div => number::div(a, b).map_err(|e| cannot(&e)),
            _ => number::pow(a, b).map_err(|e| cannot(&e)),
        }
    }

    /// Evaluates a node whose value is used as text; the `null` literal has no text.
    pub(crate) fn text(&mut self, node: &Node, what: &str) -> Result<String, EvalError> {
        match self.eval(node)? {
            Value::Absent => Err(EvalError::new(format!("{what} is the null literal"))),
            value => Ok(value.to_string()),
        }
    }
}

fn operand_error(side: &str, op: BinOp, text: &str) -> EvalError {
    let operation = match op {
        BinOp::Add | BinOp::Sub => "add/subtract",
        BinOp::Mul | BinOp::Div => "multiple/divide",
        _ => "power",
    };
    EvalError::new(format!(
        "{side} side of '{text}' {operation} operation must be a number."
    ))
}

fn compare(op: BinOp, left: &Value, right: &Value, text: &str) -> Result<bool, EvalError> {
    if left.is_nullish() || right.is_nullish() {
        return match op {
            BinOp::Eq => Ok(left.is_nullish() && right.is_nullish()),
            _ => Err(EvalError::new(format!(
                "Logical expression '{text}' cannot be compared only equal operation can be compared with null value."
            ))),
        };
    }
    if left.kind() != right.kind() {
        return Err(EvalError::new(format!(
            "Logical expression '{text}' cannot be compared as each side if the expression has different types."
        )));
    }
    let ordering = match (left, right) {
        (Value::Number(a), Value::Number(b)) => a.cmp(b),
        _ if left.kind() == Kind::Str => {
            // Strings order by UTF-16 code units, as they always have.
            let (a, b) = (left.to_string(), right.to_string());
            a.encode_utf16().cmp(b.encode_utf16())
        }
        _ => left.to_string().cmp(&right.to_string()),
    };
    Ok(match op {
        BinOp::Gt => ordering == Ordering::Greater,
        BinOp::Ge => ordering != Ordering::Less,
        BinOp::Lt => ordering == Ordering::Less,
        BinOp::Le => ordering != Ordering::Greater,
        BinOp::Eq => ordering == Ordering::Equal,
        _ => ordering != Ordering::Equal,
    })
}
