//! The syntax tree of a formula.

use rust_decimal::Decimal;

/// Byte range of a construct in the formula text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A formula: statements separated by newlines; its value is the last statement's.
#[derive(Clone, Debug, PartialEq)]
pub struct Formula {
    pub statements: Vec<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    /// Covers the construct including any parentheses written around it.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(Decimal),
    Str(String),
    Bool(bool),
    /// The `null` literal.
    Null,
    /// `:name` — a parameter or a variable.
    Token(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `set :name = value`
    Set(String, Box<Expr>),
    Call(Call),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Pow,
    Mul,
    Div,
    Add,
    Sub,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl BinOp {
    /// Binding strength: higher binds tighter. All binary operators associate to the left.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Pow => 4,
            BinOp::Mul | BinOp::Div => 3,
            BinOp::Add | BinOp::Sub => 2,
            BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::Ne => 1,
        }
    }

    /// `+ - * / ^`, as opposed to comparisons.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinOp::Pow | BinOp::Mul | BinOp::Div | BinOp::Add | BinOp::Sub
        )
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Pow => "^",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Expr>,
    /// Named options in the order written; when one is repeated the last one counts.
    pub options: Vec<(NamedOption, Expr)>,
    /// `SPLIT(...)[index]`
    pub index: Option<Box<Expr>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    AsTimestamp,
    AssignToGroup,
    GetValue,
    Coalesce,
    Concat,
    Convert,
    If,
    Impact,
    Lookup,
    Split,
    Caml,
    Lowercase,
    Uppercase,
    Ref,
    Switch,
    Search,
    /// `#name(...)`: a stored calculation.
    Custom(String),
}

/// How many positional arguments a function takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

impl Function {
    pub fn name(&self) -> &str {
        match self {
            Function::AsTimestamp => "AS_TIMESTAMP",
            Function::AssignToGroup => "ASSIGN_TO_GROUP",
            Function::GetValue => "GET_VALUE",
            Function::Coalesce => "COALESCE",
            Function::Concat => "CONCAT",
            Function::Convert => "CONVERT",
            Function::If => "IF",
            Function::Impact => "IMPACT",
            Function::Lookup => "LOOKUP",
            Function::Split => "SPLIT",
            Function::Caml => "CAML",
            Function::Lowercase => "LOWERCASE",
            Function::Uppercase => "UPPERCASE",
            Function::Ref => "REF",
            Function::Switch => "SWITCH",
            Function::Search => "SEARCH",
            Function::Custom(name) => name,
        }
    }

    pub fn arity(&self) -> Arity {
        match self {
            Function::AssignToGroup
            | Function::Caml
            | Function::Lowercase
            | Function::Uppercase
            | Function::Ref => Arity::Exactly(1),
            Function::AsTimestamp | Function::GetValue | Function::Split | Function::Search => {
                Arity::Exactly(2)
            }
            Function::Convert | Function::If | Function::Impact => Arity::Exactly(3),
            Function::Lookup => Arity::Exactly(4),
            Function::Coalesce | Function::Concat | Function::Custom(_) => Arity::AtLeast(1),
            Function::Switch => Arity::AtLeast(2),
        }
    }

    /// The named options this function accepts.
    pub fn options(&self) -> &'static [NamedOption] {
        use NamedOption::*;
        match self {
            Function::AsTimestamp => &[Timezone, Locale, RoundDownTo],
            Function::Convert => &[QuantityKind],
            Function::Impact | Function::Lookup | Function::Custom(_) => {
                &[Group, Tenant, Version, VersionAsAt]
            }
            Function::Split => &[Limit],
            Function::Switch => &[Default, IgnoreCase],
            Function::Search => &[IgnoreCase],
            _ => &[],
        }
    }
}

/// A named option of a function call (`timezone='UTC'`, `version=2`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NamedOption {
    Default,
    Group,
    IgnoreCase,
    Locale,
    /// Written `qualityKind=` (or the documented `quantityKind=`).
    QuantityKind,
    Tenant,
    Timezone,
    Version,
    VersionAsAt,
    RoundDownTo,
    Limit,
}

impl NamedOption {
    pub fn name(self) -> &'static str {
        match self {
            NamedOption::Default => "default",
            NamedOption::Group => "group",
            NamedOption::IgnoreCase => "ignoreCase",
            NamedOption::Locale => "locale",
            NamedOption::QuantityKind => "qualityKind",
            NamedOption::Tenant => "tenant",
            NamedOption::Timezone => "timezone",
            NamedOption::Version => "version",
            NamedOption::VersionAsAt => "versionAsAt",
            NamedOption::RoundDownTo => "roundDownTo",
            NamedOption::Limit => "limit",
        }
    }
}

impl Expr {
    /// Resets every span to zero, so that trees can be compared by structure alone.
    pub fn clear_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ExprKind::Neg(inner) | ExprKind::Set(_, inner) => inner.clear_spans(),
            ExprKind::Binary(_, lhs, rhs) => {
                lhs.clear_spans();
                rhs.clear_spans();
            }
            ExprKind::Call(call) => {
                call.args.iter_mut().for_each(Expr::clear_spans);
                call.options.iter_mut().for_each(|(_, e)| e.clear_spans());
                if let Some(index) = &mut call.index {
                    index.clear_spans();
                }
            }
            _ => {}
        }
    }
}
