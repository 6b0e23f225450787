//! JSONPath evaluation for sifr's `GET_VALUE(json, jsonPath)` formula function.
//!
//! SIF evaluated `GET_VALUE` with Jayway JsonPath 2.8 on json-smart in its default configuration
//! and turned the Java result into text. This crate reproduces that pipeline:
//!
//! * the JSON text is parsed as json-smart's permissive mode does (see [`Document::parse`] for
//!   what that accepts beyond standard JSON);
//! * the path is Jayway's dialect: `$`, `.key`, `['key']`, `["key"]`, `['a','b']`, `[0]`, `[-1]`,
//!   `[0,2]`, `[*]`, `.*`, slices `[1:3]` `[:2]` `[-2:]`, deep scan `..key` `..*`, filters
//!   `[?(...)]` with `== != < <= > >= =~ in nin subsetof anyof noneof contains size empty`,
//!   `&&`, `||`, `!`, existence tests `[?(@.k)]`, and the functions `length() size() min() max()
//!   avg() sum() stddev() keys() first() last() index(n) concat(...) append(...)`;
//! * the result is rendered with Java's `toString` of each value ([`JsonPathValue`]).
//!
//! ```
//! use sifr_jsonpath::{Item, JsonPath, JsonPathValue, get_value};
//!
//! let json = r#"{"a":[{"k":"x","v":1.50},{"k":"y","v":{"w":2}}]}"#;
//! assert_eq!(
//!     get_value(json, "$.a[?(@.k == 'x')].v"),
//!     Ok(JsonPathValue::List(vec![Item::Text("1.5".to_string())]))
//! );
//! assert_eq!(
//!     get_value(json, "$.a[1].v"),
//!     Ok(JsonPathValue::ObjectText("{w=2}".to_string()))
//! );
//! let path = JsonPath::compile("$.a[0].k").expect("valid path");
//! assert_eq!(path.query(json), Ok(JsonPathValue::Scalar(Item::Text("x".to_string()))));
//! assert_eq!(
//!     get_value(json, "$.b").map_err(|e| e.to_string()),
//!     Err("No results for path: $['b']".to_string())
//! );
//! ```
//!
//! A path is *definite* when every step selects at most one value: no `..`, `*`, filter, slice,
//! or list of indexes, and no list of keys except as the last step (Jayway merges trailing keys
//! into one object). A definite path that selects nothing is an error; an indefinite path yields
//! a (possibly empty) list.
//!
//! Jayway's accidental behaviour is kept where it changes results, for example: `$['a']x` ignores
//! the trailing `x`; `[1:-1]` selects nothing (only `to` is clamped); after `..[0]` the next step
//! reads every element of each array found; `$.list[*].price.sum()` fails because the function
//! applies to each price; an existence test on an indefinite path holds whenever the path can be
//! followed; `1 == '1'` holds but `'1.0' == 1` does not.
//!
//! Where this crate differs from SIF, by design:
//! * limits, so that no input can exhaust the stack: a path (with everything nested in it) has
//!   at most 64 tokens and 16 levels of nesting, where each filter, each parenthesised group or
//!   `!` inside a filter, and each function argument path counts one level;
//! * `=~` uses a backtracking engine (look-around and back-references work) whose syntax and
//!   case folding are close to, not identical with, `java.util.regex`; the flags are the letters
//!   right after the closing `/` (`i`, `m`, `s`, `x` are honoured);
//! * `length(path)` appends `[*]` to its argument for each call instead of mutating a cached
//!   path as Jayway does;
//! * positions in path error messages count characters rather than UTF-16 units, and
//!   lone UTF-16 surrogates from `\u` escapes become U+FFFD;
//! * messages of JVM exceptions (an index out of range inside the path compiler) follow Java 17's
//!   wording as far as it is known.

mod eval;
mod filter;
mod functions;
mod parser;
mod path;
mod value;

use std::fmt;

use eval::{EvalError, Options};
use parser::ParseFailure;
use path::Budget;
use value::Value;

/// What `GET_VALUE` receives from the path evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonPathValue {
    /// The result was an array: an indefinite path's results, or a definite path landing on an
    /// array (`append()` results too). Empty when an indefinite path matched nothing.
    List(Vec<Item>),
    /// A single non-array, non-object value, e.g. a string, number or boolean; JSON `null` is
    /// `Scalar(Item::Null)`. Also the key set of `keys()` (Java text `[a, b]`).
    Scalar(Item),
    /// A definite path landed on an object: Java's `Map.toString()` text, e.g. `{b=1, c=[1,2]}`.
    ObjectText(String),
}

/// One value, as the Java `toString()` of the element.
///
/// Numbers print as Java prints the class json-smart chose: integers exactly (`7`,
/// `12345678901234567890`), decimals as `Double` (`1.5`, `1000.0`, `1.0E-7`), or as `BigDecimal`
/// when the literal is longer than 18 characters (`1.0000000000000000000`). Strings are unquoted,
/// booleans `true`/`false`, objects `{k=v, k2=v2}`, arrays compact JSON (`[1,"a",{"k":2}]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Null,
    Text(String),
}

/// Why `GET_VALUE` failed. `Display` gives the message SIF reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPathError {
    /// json-smart rejected the text; the payload is its message, e.g.
    /// `Unexpected character ([) at position 1.`
    #[error("Unable to parse json: {0}")]
    InvalidJson(String),
    /// The path does not compile (Jayway `InvalidPathException`), or a filter could not be
    /// applied where Jayway raises that exception.
    #[error("{0}")]
    InvalidPath(String),
    /// A definite path selected nothing, e.g. `No results for path: $['a']['b']`, or one of its
    /// steps met the wrong kind of value (Jayway `PathNotFoundException`).
    #[error("{0}")]
    PathNotFound(String),
    /// Jayway refused an argument before evaluating: an empty path or JSON text, or a document
    /// that is JSON `null`.
    #[error("{0}")]
    InvalidArgument(String),
    /// Evaluation failed (a function applied to unsuitable values, a number that cannot be
    /// compared...), with the message Jayway or the JVM produced.
    #[error("{0}")]
    Evaluation(String),
}

impl From<EvalError> for JsonPathError {
    fn from(error: EvalError) -> Self {
        match error {
            EvalError::PathNotFound(m) => JsonPathError::PathNotFound(m),
            EvalError::InvalidPath(m) => JsonPathError::InvalidPath(m),
            EvalError::InvalidJson(m) => JsonPathError::InvalidJson(m),
            EvalError::IndexOutOfBounds(m) | EvalError::Other(m) => JsonPathError::Evaluation(m),
        }
    }
}

/// A parsed JSON document, reusable across queries.
#[derive(Debug, Clone)]
pub struct Document {
    root: Value,
}

impl Document {
    /// Parses `json` as json-smart's permissive mode does. Beyond standard JSON it accepts
    /// single-quoted strings, unquoted keys and strings (`{a: hello world}`), `NaN`, leading
    /// zeros, a bare `-` (0), extra commas (`[1,,2,]`), raw control characters in strings, `\xHH`
    /// escapes, and any text after the first value (ignored). Nesting is limited to 400 levels.
    pub fn parse(json: &str) -> Result<Self, JsonPathError> {
        if json.is_empty() {
            return Err(JsonPathError::InvalidArgument(
                "json string can not be null or empty".to_string(),
            ));
        }
        match parser::parse(json) {
            Ok(Value::Null) => Err(JsonPathError::InvalidArgument(
                "json can not be null".to_string(),
            )),
            Ok(root) => Ok(Document { root }),
            Err(ParseFailure::Syntax(message)) => Err(JsonPathError::InvalidJson(message)),
            Err(ParseFailure::Number(message)) => Err(JsonPathError::Evaluation(message)),
        }
    }
}

/// A compiled path, reusable across documents and threads.
#[derive(Debug)]
pub struct JsonPath {
    path: path::Path,
}

impl JsonPath {
    /// Compiles `path` with Jayway's rules: a path not starting with `$` or `@` gets `$.` in
    /// front (`name` is `$.name`, `#x` is `$['#x']`).
    pub fn compile(path: &str) -> Result<Self, JsonPathError> {
        if path.is_empty() {
            return Err(JsonPathError::InvalidArgument(
                "json can not be null or empty".to_string(),
            ));
        }
        path::compile(path, &mut Budget::new())
            .map(|path| JsonPath { path })
            .map_err(path::Fault::into_error)
    }

    /// Whether the path selects at most one value (see the crate documentation).
    pub fn is_definite(&self) -> bool {
        self.path.is_definite()
    }

    /// Parses `json` and evaluates the path on it.
    pub fn query(&self, json: &str) -> Result<JsonPathValue, JsonPathError> {
        self.read(&Document::parse(json)?)
    }

    /// Evaluates the path on a parsed document.
    pub fn read(&self, document: &Document) -> Result<JsonPathValue, JsonPathError> {
        let result = eval::read(
            &self.path,
            &document.root,
            &document.root,
            Options::default(),
        )?;
        Ok(to_result(&result))
    }
}

/// Jayway's normalised path text, e.g. `$['a'][0]`.
impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.fmt(f)
    }
}

/// `GET_VALUE(json, path)`: parses the JSON first (its errors take precedence, as in SIF), then
/// compiles and evaluates the path.
pub fn get_value(json: &str, path: &str) -> Result<JsonPathValue, JsonPathError> {
    let document = Document::parse(json)?;
    JsonPath::compile(path)?.read(&document)
}

fn item(value: &Value) -> Item {
    match value {
        Value::Null => Item::Null,
        other => Item::Text(other.java_string()),
    }
}

fn to_result(value: &Value) -> JsonPathValue {
    match value {
        Value::Array(items) => JsonPathValue::List(items.iter().map(item).collect()),
        Value::Object(_) => JsonPathValue::ObjectText(value.java_string()),
        other => JsonPathValue::Scalar(item(other)),
    }
}
