//! Inline filters `[?(...)]`: Jayway's `FilterCompiler`, value nodes and evaluators.
//!
//! Grammar (Jayway 2.8): `or := and ('||' and)*`, `and := operand ('&&' operand)*`,
//! `operand := '!' operand | '(' or ')' | value [operator value]`. A value alone must be a path
//! and tests existence. Comparison semantics follow Jayway's value nodes, including their
//! asymmetries: `1 == '1'` holds (a number compares with a numeric string), `'1.0' == 1` does
//! not (a string compares texts), and a node of the wrong kind makes the whole filter false.

use std::cmp::Ordering;
use std::sync::Arc;

use fancy_regex::Regex;

use crate::eval::{self, EvalError, Options};
use crate::parser::{self, ParseFailure};
use crate::path::{self, Budget, CharIndex, Fault, Path, invalid};
use crate::value::{BigDec, Value};

#[derive(Debug)]
pub(crate) struct Filter {
    expr: Expr,
}

#[derive(Debug)]
enum Expr {
    Relation {
        left: Operand,
        op: Operator,
        right: Operand,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug)]
enum Operand {
    Path {
        path: Path,
        exists_check: bool,
        should_exist: bool,
    },
    Value(Node),
}

/// Jayway's evaluated value nodes.
#[derive(Debug, Clone)]
enum Node {
    Str(String),
    Number(BigDec),
    Bool(bool),
    Null,
    Undefined,
    Json(Json),
    Pattern(Arc<Regex>),
    /// A string inside a JSON array that is itself a valid path; Jayway keeps it unevaluated, and
    /// it equals nothing.
    UnresolvedPath,
}

#[derive(Debug, Clone)]
enum Json {
    /// A literal from the filter text, parsed lazily by Jayway (parse errors surface on use).
    Literal {
        text: String,
        parsed: Result<Value, String>,
    },
    /// A document value reached through a path.
    Parsed(Value),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Operator {
    Gte,
    Lte,
    Eq,
    TypeSafeEq,
    Ne,
    TypeSafeNe,
    Lt,
    Gt,
    Regex,
    Nin,
    In,
    Contains,
    All,
    Size,
    Exists,
    Type,
    Matches,
    Empty,
    SubsetOf,
    AnyOf,
    NoneOf,
}

impl Operator {
    fn from_text(text: &str) -> Option<Operator> {
        Some(match text.to_ascii_uppercase().as_str() {
            ">=" => Operator::Gte,
            "<=" => Operator::Lte,
            "==" => Operator::Eq,
            "===" => Operator::TypeSafeEq,
            "!=" => Operator::Ne,
            "!==" => Operator::TypeSafeNe,
            "<" => Operator::Lt,
            ">" => Operator::Gt,
            "=~" => Operator::Regex,
            "NIN" => Operator::Nin,
            "IN" => Operator::In,
            "CONTAINS" => Operator::Contains,
            "ALL" => Operator::All,
            "SIZE" => Operator::Size,
            "EXISTS" => Operator::Exists,
            "TYPE" => Operator::Type,
            "MATCHES" => Operator::Matches,
            "EMPTY" => Operator::Empty,
            "SUBSETOF" => Operator::SubsetOf,
            "ANYOF" => Operator::AnyOf,
            "NONEOF" => Operator::NoneOf,
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

/// Compiles the text of one `[?(...)]` token, brackets included.
pub(crate) fn compile(criteria: &str, budget: &mut Budget) -> Result<Filter, Fault> {
    let mut filter = CharIndex::new(criteria);
    filter.trim();
    if !filter.current_char_is('[')? || !filter.last_char_is(']')? {
        return invalid(format!(
            "Filter must start with '[' and end with ']'. {criteria}"
        ));
    }
    filter.position += 1;
    filter.increment_end(-1);
    filter.trim();
    if !filter.current_char_is('?')? {
        return invalid(format!(
            "Filter must start with '[?' and end with ']'. {criteria}"
        ));
    }
    filter.position += 1;
    filter.trim();
    if !filter.current_char_is('(')? || !filter.last_char_is(')')? {
        return invalid(format!(
            "Filter must start with '[?(' and end with ')]'. {criteria}"
        ));
    }
    let mut compiler = FilterCompiler { filter, budget };
    match compiler.read_or() {
        Ok(expr) => {
            compiler.filter.skip_blanks();
            if compiler.filter.in_bounds_here() {
                let f = &compiler.filter;
                return invalid(format!(
                    "Expected end of filter expression instead of: {}",
                    f.sub(f.position, f.length())?
                ));
            }
            Ok(Filter { expr })
        }
        Err(Fault::Invalid(message)) => Err(Fault::Invalid(message)),
        // Any other failure (a number or regex that does not parse...) is reported generically.
        Err(Fault::Other(_)) => {
            let f = &compiler.filter;
            invalid(format!(
                "Failed to parse filter: {}, error on position: {}, char: {}",
                f.text(),
                f.position,
                f.current_char()?
            ))
        }
    }
}

struct FilterCompiler<'b> {
    filter: CharIndex,
    budget: &'b mut Budget,
}

fn is_relational_operator_char(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '~' | '!')
}

impl FilterCompiler<'_> {
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Fault>) -> Result<T, Fault> {
        self.budget.enter()?;
        let result = f(self);
        self.budget.leave();
        result
    }

    fn read_or(&mut self) -> Result<Expr, Fault> {
        let mut ops = vec![self.read_and()?];
        loop {
            let savepoint = self.filter.position;
            if self.filter.has_significant_sub_sequence("||") {
                ops.push(self.read_and()?);
            } else {
                self.filter.position = savepoint;
                break;
            }
        }
        Ok(if ops.len() == 1 {
            ops.remove(0)
        } else {
            Expr::Or(ops)
        })
    }

    fn read_and(&mut self) -> Result<Expr, Fault> {
        let mut ops = vec![self.read_and_operand()?];
        loop {
            let savepoint = self.filter.position;
            if self.filter.has_significant_sub_sequence("&&") {
                ops.push(self.read_and_operand()?);
            } else {
                self.filter.position = savepoint;
                break;
            }
        }
        Ok(if ops.len() == 1 {
            ops.remove(0)
        } else {
            Expr::And(ops)
        })
    }

    fn read_and_operand(&mut self) -> Result<Expr, Fault> {
        let savepoint = self.filter.skip_blanks().position;
        if self.filter.skip_blanks().current_char_is('!')? {
            self.filter.read_significant_char('!')?;
            match self.filter.skip_blanks().current_char()? {
                // `!@.x` is a negated existence test, read below as a value.
                '$' | '@' => self.filter.position = savepoint,
                _ => {
                    let operand = self.nested(Self::read_and_operand)?;
                    return Ok(Expr::Not(Box::new(operand)));
                }
            }
        }
        if self.filter.skip_blanks().current_char_is('(')? {
            self.filter.read_significant_char('(')?;
            let inner = self.nested(Self::read_or)?;
            self.filter.read_significant_char(')')?;
            return Ok(inner);
        }
        self.read_expression()
    }

    fn read_expression(&mut self) -> Result<Expr, Fault> {
        let left = self.read_operand()?;
        let savepoint = self.filter.position;
        let relation = self
            .read_operator()
            .and_then(|op| Ok((op, self.read_operand()?)));
        match relation {
            Ok((op, right)) => return Ok(Expr::Relation { left, op, right }),
            Err(Fault::Invalid(_)) => self.filter.position = savepoint,
            Err(other) => return Err(other),
        }
        let Operand::Path {
            path, should_exist, ..
        } = left
        else {
            return invalid("Expected path node");
        };
        Ok(Expr::Relation {
            left: Operand::Path {
                path,
                exists_check: true,
                should_exist,
            },
            op: Operator::Exists,
            right: Operand::Value(Node::Bool(should_exist)),
        })
    }

    fn read_operand(&mut self) -> Result<Operand, Fault> {
        match self.filter.skip_blanks().current_char()? {
            '$' | '@' => self.read_path(),
            '!' => {
                self.filter.position += 1;
                match self.filter.skip_blanks().current_char()? {
                    '$' | '@' => self.read_path(),
                    _ => invalid("Unexpected character: !"),
                }
            }
            _ => self.read_literal().map(Operand::Value),
        }
    }

    fn read_literal(&mut self) -> Result<Node, Fault> {
        match self.filter.skip_blanks().current_char()? {
            quote @ ('\'' | '"') => self.read_string(quote),
            't' | 'f' => self.read_boolean(),
            'n' => self.read_null(),
            '{' | '[' => self.read_json(),
            '/' => self.read_pattern(),
            _ => self.read_number(),
        }
    }

    fn read_operator(&mut self) -> Result<Operator, Fault> {
        let f = &mut self.filter;
        let begin = f.skip_blanks().position;
        if is_relational_operator_char(f.current_char()?) {
            while f.in_bounds_here() && is_relational_operator_char(f.current_char()?) {
                f.position += 1;
            }
        } else {
            while f.in_bounds_here() && f.current_char()? != ' ' {
                f.position += 1;
            }
        }
        let text = f.sub(begin, f.position)?;
        Operator::from_text(&text).map_or_else(
            || invalid(format!("Filter operator {text} is not supported!")),
            Ok,
        )
    }

    fn read_null(&mut self) -> Result<Node, Fault> {
        let f = &mut self.filter;
        if f.in_bounds(f.position + 3) && f.sub(f.position, f.position + 4)? == "null" {
            f.position += 4;
            return Ok(Node::Null);
        }
        invalid("Expected <null> value")
    }

    fn read_boolean(&mut self) -> Result<Node, Fault> {
        let f = &mut self.filter;
        let begin = f.position;
        let end = if f.current_char()? == 't' {
            begin + 3
        } else {
            begin + 4
        };
        if !f.in_bounds(end) {
            return invalid("Expected boolean literal");
        }
        let text = f.sub(begin, end + 1)?;
        let value = match text.as_str() {
            "true" => true,
            "false" => false,
            _ => return invalid("Expected boolean literal"),
        };
        f.position = end + 1;
        Ok(Node::Bool(value))
    }

    fn read_json(&mut self) -> Result<Node, Fault> {
        let f = &mut self.filter;
        let begin = f.position;
        let open = f.current_char()?;
        let close = if open == '[' { ']' } else { '}' };
        let closing = f.index_of_matching_close_char(begin, open, close, true, false)?;
        if closing == -1 {
            return invalid(format!("String not closed. Expected ' in {}", f.text()));
        }
        f.position = closing + 1;
        let text = f.sub(begin, f.position)?;
        Ok(Node::Json(Json::literal(text)))
    }

    fn read_pattern(&mut self) -> Result<Node, Fault> {
        let f = &mut self.filter;
        let begin = f.position;
        let closing = f.next_index_of_unescaped(begin, '/');
        if closing == -1 {
            return invalid(format!("Pattern not closed. Expected / in {}", f.text()));
        }
        let mut end = closing + 1;
        while f.in_bounds(end) && f.char_at(end)?.is_ascii_alphabetic() {
            end += 1;
        }
        let pattern = f.sub(begin + 1, closing)?;
        let flags = f.sub(closing + 1, end)?;
        f.position = end;
        compile_pattern(&pattern, &flags).map(|regex| Node::Pattern(Arc::new(regex)))
    }

    fn read_string(&mut self, quote: char) -> Result<Node, Fault> {
        let f = &mut self.filter;
        let begin = f.position;
        let closing = f.next_index_of_unescaped(begin, quote);
        if closing == -1 {
            return invalid(format!(
                "String literal does not have matching quotes. Expected {quote} in {}",
                f.text()
            ));
        }
        f.position = closing + 1;
        let literal = f.sub(begin, f.position)?;
        Ok(Node::Str(string_literal(&literal)?))
    }

    fn read_number(&mut self) -> Result<Node, Fault> {
        let f = &mut self.filter;
        let begin = f.position;
        while f.in_bounds_here() && matches!(f.current_char()?, '0'..='9' | '-' | '.' | 'E' | 'e') {
            f.position += 1;
        }
        let text = f.sub(begin, f.position)?;
        BigDec::parse(&text)
            .map(Node::Number)
            .ok_or_else(|| Fault::Other(format!("java.lang.NumberFormatException: {text}")))
    }

    fn read_path(&mut self) -> Result<Operand, Fault> {
        let f = &mut self.filter;
        let previous = f.previous_significant_char();
        let begin = f.position;
        f.position += 1;
        while f.in_bounds_here() {
            if f.current_char()? == '[' {
                let closing = f.index_of_matching_close_char(f.position, '[', ']', true, false)?;
                if closing == -1 {
                    return invalid(format!(
                        "Square brackets does not match in filter {}",
                        f.text()
                    ));
                }
                f.position = closing + 1;
            }
            let c = f.current_char()?;
            let closing_logical = c == ')' && !closes_function_call(f, begin)?;
            if !f.in_bounds_here() || is_relational_operator_char(c) || c == ' ' || closing_logical
            {
                break;
            }
            f.position += 1;
        }
        let text = f.sub(begin, f.position)?;
        // PathCompiler reports every failure as an InvalidPathException.
        let path =
            path::compile(&text, self.budget).map_err(|fault| Fault::Invalid(fault.message()))?;
        Ok(Operand::Path {
            path,
            exists_check: false,
            should_exist: previous != '!',
        })
    }
}

/// The `)` at the cursor closes a function call such as `@.length()`.
fn closes_function_call(f: &CharIndex, lower_bound: i64) -> Result<bool, Fault> {
    let mut idx = f.index_of_previous_significant_char();
    if idx == -1 || f.char_at(idx)? != '(' {
        return Ok(false);
    }
    idx -= 1;
    while f.in_bounds(idx) && idx > lower_bound {
        if f.char_at(idx)? == '.' {
            return Ok(true);
        }
        idx -= 1;
    }
    Ok(false)
}

/// A quoted literal: quotes stripped, escapes decoded.
fn string_literal(literal: &str) -> Result<String, Fault> {
    let mut chars = literal.chars();
    let inner = match (chars.next(), chars.next_back()) {
        (Some(open), Some(close)) if open == close && (open == '\'' || open == '"') => {
            chars.as_str()
        }
        _ => literal,
    };
    path::unescape(inner).map_err(Fault::Other)
}

/// `Pattern.compile(pattern, flags)` matched against whole inputs (`Matcher.matches`). Flags
/// `i`, `m`, `s`, `x` map to inline flags; Java's `d`, `u` and `U` have no effect here.
fn compile_pattern(pattern: &str, flags: &str) -> Result<Regex, Fault> {
    let inline: String = flags.chars().filter(|c| "imsx".contains(*c)).collect();
    let prefix = if inline.is_empty() {
        String::new()
    } else {
        format!("(?{inline})")
    };
    Regex::new(&format!("{prefix}\\A(?:{pattern})\\z"))
        .map_err(|e| Fault::Other(format!("java.util.regex.PatternSyntaxException: {e}")))
}

impl Json {
    fn literal(text: String) -> Json {
        let parsed = parser::parse(&text).map_err(|failure| match failure {
            ParseFailure::Syntax(m) => {
                format!("net.minidev.json.parser.ParseException: {m}")
            }
            ParseFailure::Number(m) => format!("java.lang.NumberFormatException: {m}"),
        });
        Json::Literal { text, parsed }
    }

    fn value(&self) -> Result<Value, EvalError> {
        match self {
            Json::Literal { parsed, .. } => parsed.clone().map_err(EvalError::Other),
            Json::Parsed(value) => Ok(value.clone()),
        }
    }

    /// `JsonNode.equals(JsonNode, ctx)`: this node's raw content against the other's parsed
    /// value. A literal's raw content is its text, which only ever equals a string.
    fn equals_parsed(&self, other: &Json) -> Result<bool, EvalError> {
        let other = other.value()?;
        Ok(match self {
            Json::Literal { text, .. } => matches!(&other, Value::Str(s) if **s == **text),
            Json::Parsed(value) => value.java_equals(&other),
        })
    }

    /// `JsonNode.equals(Object)`: raw contents compared as they are.
    fn equals_raw(&self, other: &Json) -> bool {
        match (self, other) {
            (Json::Literal { text: a, .. }, Json::Literal { text: b, .. }) => a == b,
            (Json::Parsed(a), Json::Parsed(b)) => a.java_equals(b),
            _ => false,
        }
    }

    fn length(&self) -> Result<i32, EvalError> {
        Ok(match self.value()? {
            Value::Array(items) => i32::try_from(items.len()).unwrap_or(i32::MAX),
            _ => -1,
        })
    }

    fn is_empty(&self) -> Result<bool, EvalError> {
        Ok(match self.value()? {
            Value::Array(items) => items.is_empty(),
            Value::Object(map) => map.is_empty(),
            Value::Str(s) => s.is_empty(),
            _ => true,
        })
    }

    /// `asValueListNode(ctx)`: `None` (Jayway's UNDEFINED) unless the content is an array.
    fn value_list(&self) -> Result<Option<Vec<Node>>, EvalError> {
        match self.value()? {
            Value::Array(items) => items
                .iter()
                .map(to_value_node)
                .collect::<Result<_, _>>()
                .map(Some),
            _ => Ok(None),
        }
    }
}

/// `ValueNode.toValueNode` for the elements of an array used as a value list.
fn to_value_node(value: &Value) -> Result<Node, EvalError> {
    Ok(match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Str(s) => {
            let trimmed = path::java_trim(s);
            if trimmed.starts_with(['$', '@']) && path::compile(trimmed, &mut Budget::new()).is_ok()
            {
                Node::UnresolvedPath
            } else if is_json_text(trimmed) {
                Node::Json(Json::literal(s.to_string()))
            } else {
                Node::Str(string_literal(s).map_err(|fault| EvalError::Other(fault.message()))?)
            }
        }
        Value::Array(_) | Value::Object(_) | Value::KeySet(_) => {
            return Err(EvalError::Other(
                "Could not determine value type".to_string(),
            ));
        }
        number => number_node(&number.number_text().unwrap_or_default())?,
    })
}

fn is_json_text(trimmed: &str) -> bool {
    let bracketed = (trimmed.starts_with('[') && trimmed.ends_with(']'))
        || (trimmed.starts_with('{') && trimmed.ends_with('}'));
    trimmed.chars().count() > 1 && bracketed && parser::parse(trimmed).is_ok()
}

/// `new NumberNode(text)` for a document number (`new BigDecimal(number.toString())`).
fn number_node(text: &str) -> Result<Node, EvalError> {
    match BigDec::parse(text) {
        Some(number) => Ok(Node::Number(number)),
        None => {
            let offending = text
                .trim_start_matches(['-', '+'])
                .chars()
                .next()
                .unwrap_or(' ');
            Err(EvalError::Other(format!(
                "Character {offending} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark."
            )))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

fn expected(kind: &str) -> EvalError {
    EvalError::InvalidPath(format!("Expected {kind} node"))
}

impl Node {
    fn as_string(&self) -> Result<String, EvalError> {
        match self {
            Node::Str(s) => Ok(s.clone()),
            Node::Number(n) => Ok(n.to_java_string()),
            _ => Err(expected("string")),
        }
    }

    /// `asNumberNode`; `None` is Jayway's `NumberNode.NAN`, a string that is not a number.
    fn as_number(&self) -> Result<Option<BigDec>, EvalError> {
        match self {
            Node::Number(n) => Ok(Some(n.clone())),
            Node::Str(s) => Ok(BigDec::parse(s)),
            _ => Err(expected("number")),
        }
    }

    fn as_bool(&self) -> Result<bool, EvalError> {
        match self {
            Node::Bool(b) => Ok(*b),
            _ => Err(expected("boolean")),
        }
    }

    /// The list behind `in`-style operators: the elements of a JSON array, `None` for other JSON
    /// values, and Jayway's failure for anything that is not JSON.
    fn value_list(&self) -> Result<Option<Vec<Node>>, EvalError> {
        match self {
            Node::Json(json) => json.value_list(),
            _ => Err(expected("value list")),
        }
    }

    /// `ValueNode.equals(Object)`.
    fn java_equals(&self, other: &Node) -> bool {
        match (self, other) {
            (Node::Str(a), Node::Str(_) | Node::Number(_)) => {
                other.as_string().is_ok_and(|b| *a == b)
            }
            (Node::Number(a), Node::Number(_) | Node::Str(_)) => {
                matches!(other.as_number(), Ok(Some(b)) if a.compare(&b) == Ordering::Equal)
            }
            (Node::Bool(a), Node::Bool(b)) => a == b,
            (Node::Null, Node::Null) => true,
            (Node::Json(a), Node::Json(b)) => a.equals_raw(b),
            _ => false,
        }
    }

    fn same_kind(&self, other: &Node) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// Text a regular expression is matched against.
    fn regex_input(&self) -> String {
        match self {
            Node::Str(_) | Node::Number(_) => self.as_string().unwrap_or_default(),
            Node::Bool(b) => b.to_string(),
            _ => String::new(),
        }
    }
}

fn contains(list: &[Node], node: &Node) -> bool {
    list.iter().any(|element| node.java_equals(element))
}

/// Compares two text values as Java's `String.compareTo` does (UTF-16 code units).
fn compare_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

impl Filter {
    /// `Predicate.apply` for one candidate `item`.
    pub(crate) fn apply(
        &self,
        item: &Value,
        root: &Value,
        options: Options,
    ) -> Result<bool, EvalError> {
        apply_expr(&self.expr, item, root, options)
    }
}

fn apply_expr(
    expr: &Expr,
    item: &Value,
    root: &Value,
    options: Options,
) -> Result<bool, EvalError> {
    match expr {
        Expr::Or(ops) => {
            for op in ops {
                if apply_expr(op, item, root, options)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Expr::And(ops) => {
            for op in ops {
                if !apply_expr(op, item, root, options)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Expr::Not(op) => Ok(!apply_expr(op, item, root, options)?),
        Expr::Relation { left, op, right } => {
            let left = evaluate_operand(left, item, root, options)?;
            let right = evaluate_operand(right, item, root, options)?;
            relate(&left, *op, &right)
        }
    }
}

fn evaluate_operand(
    operand: &Operand,
    item: &Value,
    root: &Value,
    options: Options,
) -> Result<Node, EvalError> {
    match operand {
        Operand::Value(node) => Ok(node.clone()),
        Operand::Path {
            path,
            exists_check: true,
            ..
        } => {
            // Existence is tested against the item, with missing properties as errors.
            let strict = Options {
                require_properties: true,
            };
            match eval::read(path, item, root, strict) {
                Ok(_) => Ok(Node::Bool(true)),
                Err(EvalError::PathNotFound(_)) => Ok(Node::Bool(false)),
                Err(other) => Err(other),
            }
        }
        Operand::Path { path, .. } => {
            let document = if path.is_root_path { root } else { item };
            match eval::read(path, document, root, options) {
                Ok(value) => document_node(value),
                Err(EvalError::PathNotFound(_)) => Ok(Node::Undefined),
                Err(other) => Err(other),
            }
        }
    }
}

/// The node for a value a path reached in the document.
fn document_node(value: Value) -> Result<Node, EvalError> {
    Ok(match value {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(b),
        Value::Str(s) => Node::Str(s.to_string()),
        Value::Array(_) | Value::Object(_) => Node::Json(Json::Parsed(value)),
        Value::KeySet(_) => {
            return Err(EvalError::Other(format!(
                "Could not convert class {}:{} to a ValueNode",
                value.class_name(),
                value.java_string()
            )));
        }
        number => number_node(&number.number_text().unwrap_or_default())?,
    })
}

fn relate(left: &Node, op: Operator, right: &Node) -> Result<bool, EvalError> {
    Ok(match op {
        Operator::Exists => {
            if !matches!(left, Node::Bool(_)) && !matches!(right, Node::Bool(_)) {
                return Err(EvalError::Other(
                    "Failed to evaluate exists expression".to_string(),
                ));
            }
            left.as_bool()? == right.as_bool()?
        }
        Operator::Eq => equals(left, right)?,
        Operator::Ne => !equals(left, right)?,
        Operator::TypeSafeEq => left.same_kind(right) && equals(left, right)?,
        Operator::TypeSafeNe => !(left.same_kind(right) && equals(left, right)?),
        Operator::Lt => order(left, right).is_some_and(Ordering::is_lt),
        Operator::Lte => order(left, right).is_some_and(Ordering::is_le),
        Operator::Gt => order(left, right).is_some_and(Ordering::is_gt),
        Operator::Gte => order(left, right).is_some_and(Ordering::is_ge),
        Operator::Regex => regex_matches(left, right)?,
        Operator::Size => {
            let Node::Number(expected) = right else {
                return Ok(false);
            };
            let expected = expected.int_value();
            match left {
                Node::Str(s) => s.encode_utf16().count() as i64 == i64::from(expected),
                Node::Json(json) => json.length()? == expected,
                _ => false,
            }
        }
        Operator::Empty => match left {
            Node::Str(s) => s.is_empty() == right.as_bool()?,
            Node::Json(json) => json.is_empty()? == right.as_bool()?,
            _ => false,
        },
        Operator::In => is_in(left, right)?,
        Operator::Nin => !is_in(left, right)?,
        // Jayway reads the right side of `all` as an already built value list, which no filter
        // text can produce, so `all` never matches.
        Operator::All => return Err(expected("value list")),
        Operator::Contains => match (left, right) {
            (Node::Str(a), Node::Str(b)) => a.contains(b.as_str()),
            (Node::Json(json), _) => json
                .value_list()?
                .is_some_and(|list| list.iter().any(|element| right.java_equals(element))),
            _ => false,
        },
        Operator::SubsetOf => lists(left, right)?
            .is_some_and(|(left, right)| left.iter().all(|l| contains(&right, l))),
        Operator::AnyOf => lists(left, right)?
            .is_some_and(|(left, right)| left.iter().any(|l| contains(&right, l))),
        Operator::NoneOf => lists(left, right)?
            .is_some_and(|(left, right)| !left.iter().any(|l| contains(&right, l))),
        Operator::Type => return Err(expected("class")),
        Operator::Matches => return Err(expected("predicate")),
    })
}

/// The left and right value lists of a set operator.
type ListPair = (Vec<Node>, Vec<Node>);

/// Both sides as value lists, the right one first; `None` (the relation is false) as soon as one
/// side is a JSON value that is not an array.
fn lists(left: &Node, right: &Node) -> Result<Option<ListPair>, EvalError> {
    let Some(right) = right.value_list()? else {
        return Ok(None);
    };
    let Some(left) = left.value_list()? else {
        return Ok(None);
    };
    Ok(Some((left, right)))
}

fn equals(left: &Node, right: &Node) -> Result<bool, EvalError> {
    match (left, right) {
        (Node::Json(a), Node::Json(b)) => a.equals_parsed(b),
        _ => Ok(left.java_equals(right)),
    }
}

fn order(left: &Node, right: &Node) -> Option<Ordering> {
    match (left, right) {
        (Node::Number(a), Node::Number(b)) => Some(a.compare(b)),
        (Node::Str(a), Node::Str(b)) => Some(compare_utf16(a, b)),
        _ => None,
    }
}

fn is_in(left: &Node, right: &Node) -> Result<bool, EvalError> {
    Ok(right
        .value_list()?
        .is_some_and(|list| contains(&list, left)))
}

fn regex_matches(left: &Node, right: &Node) -> Result<bool, EvalError> {
    let (pattern, input) = match (left, right) {
        (Node::Pattern(p), other) if !matches!(other, Node::Pattern(_)) => (p, other),
        (other, Node::Pattern(p)) if !matches!(other, Node::Pattern(_)) => (p, other),
        _ => return Ok(false),
    };
    pattern
        .is_match(&input.regex_input())
        .map_err(|e| EvalError::Other(format!("Regular expression evaluation failed: {e}")))
}
