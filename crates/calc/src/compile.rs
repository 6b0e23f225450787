//! Compiling a formula: parse once, resolve names to slots, check calls, and precompute what
//! does not depend on the row (audit keys, constant patterns and units), so that evaluating a
//! row walks a small tree without parsing or name look-ups.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::audit::source_key;
use crate::functions::{self, CallNode};
use crate::syntax::ast::{BinOp, Call, Expr, ExprKind, Function, NamedOption};
use crate::syntax::{self, SyntaxError};
use crate::value::Value;

/// The parameters a formula can read, in slot order: the columns of an input row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    names: Vec<String>,
    slots: HashMap<String, usize>,
}

impl Schema {
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut schema = Schema::default();
        for name in names {
            let name = name.into();
            if !schema.slots.contains_key(&name) {
                schema.slots.insert(name.clone(), schema.names.len());
                schema.names.push(name);
            }
        }
        schema
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn slot(&self, name: &str) -> Option<usize> {
        self.slots.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A formula that cannot be compiled: a syntax error or a failed static check, with its
/// position.
pub type CompileError = SyntaxError;

/// A compiled formula, ready to evaluate against any number of rows.
#[derive(Debug)]
pub struct Program {
    pub(crate) source: Arc<str>,
    pub(crate) schema: Arc<Schema>,
    /// Compiled calculation calls made from this formula.
    pub(crate) calls: CallCache,
    pub(crate) statements: Vec<Node>,
    pub(crate) variables: usize,
    warnings: Vec<String>,
    assigns_group: bool,
}

impl Program {
    pub fn compile(source: &str, schema: &Schema) -> Result<Program, CompileError> {
        Program::compile_shared(source, Arc::new(schema.clone()))
    }

    fn compile_shared(source: &str, schema: Arc<Schema>) -> Result<Program, CompileError> {
        let parsed = syntax::parse(source)?;
        let mut compiler = Compiler {
            source,
            schema: &schema,
            variables: HashMap::new(),
            assigns_group: false,
            program: PROGRAMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            sites: 0,
        };
        let statements = parsed
            .formula
            .statements
            .iter()
            .map(|statement| compiler.expr(statement))
            .collect::<Result<Vec<_>, _>>()?;
        let mut warnings = Vec::new();
        if let Some(span) = parsed.ignored {
            let (line, column) = syntax::position(source, span.start);
            warnings.push(format!(
                "Line {line}:{column} the text '{}' after the end of the expression is ignored",
                &source[span.start..span.end]
            ));
        }
        let variables = compiler.variables.len();
        let assigns_group = compiler.assigns_group;
        Ok(Program {
            source: Arc::from(source),
            schema,
            calls: CallCache::default(),
            statements,
            variables,
            warnings,
            assigns_group,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Things that compile but are probably not what the author meant.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// True when the formula calls ASSIGN_TO_GROUP: its value names the group of the row.
    pub fn assigns_group(&self) -> bool {
        self.assigns_group
    }
}

/// A compiled expression.
#[derive(Debug)]
pub(crate) enum Node {
    Const(Value),
    Param {
        slot: usize,
        key: Arc<str>,
    },
    Var {
        slot: usize,
        name: Arc<str>,
        key: Arc<str>,
    },
    Neg(Box<Node>),
    Binary {
        op: BinOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        /// The source text of the whole operation, for messages.
        text: Arc<str>,
    },
    Set {
        slot: usize,
        name: Arc<str>,
        value: Box<Node>,
        key: Arc<str>,
        /// The name is a parameter's: assigning to it fails when evaluated.
        is_parameter: bool,
    },
    If {
        condition: Box<Node>,
        then: Box<Node>,
        otherwise: Box<Node>,
        text: Arc<str>,
    },
    /// A function call whose value is recorded under `key` in the audit.
    Call {
        call: Box<CallNode>,
        key: Arc<str>,
    },
}

pub(crate) struct Compiler<'a> {
    source: &'a str,
    schema: &'a Schema,
    variables: HashMap<String, usize>,
    assigns_group: bool,
    /// This program's identity, for per-session caches of its call sites.
    program: u64,
    sites: u32,
}

/// Source of program identities.
static PROGRAMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Compiler<'_> {
    pub(crate) fn text(&self, expr: &Expr) -> Arc<str> {
        Arc::from(source_key(&self.source[expr.span.start..expr.span.end]))
    }

    pub(crate) fn error(&self, expr: &Expr, message: impl Into<String>) -> CompileError {
        let (line, column) = syntax::position(self.source, expr.span.start);
        SyntaxError {
            line,
            column,
            message: message.into(),
        }
    }

    /// A new call site whose resolution a session may remember.
    pub(crate) fn site(&mut self) -> functions::SiteId {
        self.sites += 1;
        functions::SiteId {
            program: self.program,
            call: self.sites,
        }
    }

    fn variable(&mut self, name: &str) -> usize {
        let next = self.variables.len();
        *self.variables.entry(name.to_owned()).or_insert(next)
    }

    pub(crate) fn expr(&mut self, expr: &Expr) -> Result<Node, CompileError> {
        Ok(match &expr.kind {
            ExprKind::Number(n) => Node::Const(Value::Number(*n)),
            ExprKind::Str(s) => Node::Const(Value::str(s.as_str())),
            ExprKind::Bool(b) => Node::Const(Value::Bool(*b)),
            ExprKind::Null => Node::Const(Value::Absent),
            ExprKind::Token(name) => {
                let key = self.text(expr);
                match self.schema.slot(name) {
                    Some(slot) => Node::Param { slot, key },
                    None => Node::Var {
                        slot: self.variable(name),
                        name: Arc::from(name.as_str()),
                        key,
                    },
                }
            }
            ExprKind::Neg(inner) => Node::Neg(Box::new(self.expr(inner)?)),
            ExprKind::Binary(op, lhs, rhs) => Node::Binary {
                op: *op,
                lhs: Box::new(self.expr(lhs)?),
                rhs: Box::new(self.expr(rhs)?),
                text: self.text(expr),
            },
            ExprKind::Set(name, value) => Node::Set {
                slot: self.variable(name),
                name: Arc::from(name.as_str()),
                value: Box::new(self.expr(value)?),
                key: self.text(expr),
                is_parameter: self.schema.slot(name).is_some(),
            },
            ExprKind::Call(call) if call.function == Function::If => Node::If {
                condition: Box::new(self.expr(&call.args[0])?),
                then: Box::new(self.expr(&call.args[1])?),
                otherwise: Box::new(self.expr(&call.args[2])?),
                text: self.text(expr),
            },
            ExprKind::Call(call) => {
                if call.function == Function::AssignToGroup {
                    self.assigns_group = true;
                }
                Node::Call {
                    call: Box::new(functions::compile(self, expr, call)?),
                    key: self.text(expr),
                }
            }
        })
    }

    /// Compiles every argument.
    pub(crate) fn args(&mut self, call: &Call) -> Result<Vec<Node>, CompileError> {
        call.args.iter().map(|arg| self.expr(arg)).collect()
    }

    /// Compiles the last occurrence of a named option, if any.
    pub(crate) fn option(
        &mut self,
        call: &Call,
        option: NamedOption,
    ) -> Result<Option<Node>, CompileError> {
        call.options
            .iter()
            .rev()
            .find(|(o, _)| *o == option)
            .map(|(_, value)| self.expr(value))
            .transpose()
    }
}

impl Node {
    /// The value of a node that does not depend on the row.
    pub(crate) fn constant(&self) -> Option<&Value> {
        match self {
            Node::Const(value) => Some(value),
            _ => None,
        }
    }
}

/// Formulas compiled for calculation calls, by their substituted text. Bounded: when full it is
/// emptied, which costs recompiling, never correctness.
#[derive(Debug, Default)]
pub(crate) struct CallCache(Mutex<HashMap<String, Arc<Program>>>);

const CALL_CACHE_CAPACITY: usize = 4096;

impl CallCache {
    pub(crate) fn get_or_compile(
        &self,
        source: &str,
        schema: &Arc<Schema>,
    ) -> Result<Arc<Program>, crate::eval::EvalError> {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(program) = lock().get(source) {
            return Ok(program.clone());
        }
        let program = Arc::new(
            Program::compile_shared(source, schema.clone())
                .map_err(|e| crate::eval::EvalError::new(e.to_string()))?,
        );
        let mut cache = lock();
        if cache.len() >= CALL_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(source.to_owned(), program.clone());
        Ok(program)
    }
}
