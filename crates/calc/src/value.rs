//! Values of the formula language and their canonical text.

use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::number;

/// A value produced by evaluating a formula.
///
/// `Null` is an empty input or a missing result (a lookup without a match, `REF` of an unknown
/// output); `Absent` is what the `null` literal evaluates to. Both compare equal to `null`, but
/// `Absent` cannot be turned into text, assigned to a variable or stored as a result.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Absent,
    Null,
    Number(Decimal),
    Bool(bool),
    Str(Arc<str>),
    /// The items of a JSON array picked out by `GET_VALUE`.
    List(Arc<[Value]>),
    /// JSON text, produced by `SPLIT` without an index.
    Json(Arc<str>),
}

/// The kind of a value, for type checks and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Absent,
    Null,
    Number,
    Bool,
    Str,
    List,
    Json,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Absent => "absent",
            Kind::Null => "null",
            Kind::Number => "number",
            Kind::Bool => "boolean",
            Kind::Str => "string",
            Kind::List => "list",
            Kind::Json => "json",
        }
    }
}

impl Value {
    pub fn str(text: impl Into<Arc<str>>) -> Value {
        Value::Str(text.into())
    }

    pub fn kind(&self) -> Kind {
        match self {
            Value::Absent => Kind::Absent,
            Value::Null => Kind::Null,
            Value::Number(_) => Kind::Number,
            Value::Bool(_) => Kind::Bool,
            Value::Str(_) => Kind::Str,
            Value::List(_) => Kind::List,
            Value::Json(_) => Kind::Json,
        }
    }

    /// `Null` or `Absent`.
    pub fn is_nullish(&self) -> bool {
        matches!(self, Value::Null | Value::Absent)
    }

    /// The canonical text, `None` for `Absent` (which has no text).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Absent => None,
            other => Some(other.to_string()),
        }
    }

    /// Appends the canonical text (nothing for `Absent`, `""` for `Null`).
    pub fn write_text(&self, out: &mut String) {
        match self {
            Value::Absent | Value::Null => {}
            Value::Number(n) => number::write_text(out, *n),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Str(s) | Value::Json(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match item {
                        Value::Str(s) => {
                            out.push('"');
                            out.push_str(s);
                            out.push('"');
                        }
                        Value::Null | Value::Absent => out.push_str("null"),
                        other => other.write_text(out),
                    }
                }
                out.push(']');
            }
        }
    }

    /// Turns text into a value: a number if the whole text is decimal syntax (16 significant
    /// digits), a boolean if it is exactly `true` or `false`, a string otherwise.
    /// Used for lookup outputs, split elements, JSON scalars and switch defaults.
    pub fn retype(text: &str) -> Result<Value, number::Overflow> {
        if let Some(n) = number::parse_input(text) {
            return n.map(Value::Number);
        }
        Ok(match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::str(other),
        })
    }
}

/// The declared type of an input column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    Number,
    Boolean,
    /// `string` and every other declared type.
    Text,
}

impl InputType {
    /// The type a pipeline or calculation declares by name (`number`, `boolean`, `string`...).
    pub fn from_declared(name: &str) -> InputType {
        match name {
            "number" => InputType::Number,
            "boolean" => InputType::Boolean,
            _ => InputType::Text,
        }
    }
}

/// An input cell that does not hold a value of its column's type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a number")]
pub struct InputError {
    pub text: String,
}

impl Value {
    /// Reads an input cell as a value of its column's declared type: empty or missing → null;
    /// `number` → a decimal with 16 significant digits; `boolean` → true exactly when the text is
    /// `true` in any case; otherwise the text, without one pair of surrounding double quotes.
    pub fn from_input(text: Option<&str>, kind: InputType) -> Result<Value, InputError> {
        let text = match text {
            None | Some("") => return Ok(Value::Null),
            Some(text) => text,
        };
        Ok(match kind {
            InputType::Number => match number::parse_input(text) {
                Some(Ok(n)) => Value::Number(n),
                _ => {
                    return Err(InputError {
                        text: text.to_owned(),
                    });
                }
            },
            InputType::Boolean => Value::Bool(text.eq_ignore_ascii_case("true")),
            InputType::Text => {
                let unquoted = text
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(text);
                Value::str(unquoted)
            }
        })
    }
}

impl fmt::Display for Value {
    /// The canonical text; `Absent` and `Null` print nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) | Value::Json(s) => f.write_str(s),
            Value::Absent | Value::Null => Ok(()),
            other => {
                let mut out = String::new();
                other.write_text(&mut out);
                f.write_str(&out)
            }
        }
    }
}

impl From<Decimal> for Value {
    fn from(n: Decimal) -> Self {
        Value::Number(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retyping_text() {
        assert_eq!(
            Value::retype("007").unwrap(),
            Value::Number(Decimal::from(7))
        );
        assert_eq!(Value::retype("true").unwrap(), Value::Bool(true));
        assert_eq!(Value::retype("True").unwrap(), Value::str("True"));
        assert_eq!(Value::retype("").unwrap(), Value::str(""));
        assert_eq!(Value::retype(" 5").unwrap(), Value::str(" 5"));
    }

    #[test]
    fn reading_input_cells() {
        let read = |t: Option<&str>, k| Value::from_input(t, k);
        assert_eq!(read(Some(""), InputType::Number), Ok(Value::Null));
        assert_eq!(read(None, InputType::Text), Ok(Value::Null));
        assert_eq!(
            read(Some("yes"), InputType::Boolean),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            read(Some("TRUE"), InputType::Boolean),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            read(Some("\"a b\""), InputType::Text),
            Ok(Value::str("a b"))
        );
        assert_eq!(read(Some("007"), InputType::Text), Ok(Value::str("007")));
        assert_eq!(
            read(Some("12345678901234567890"), InputType::Number)
                .unwrap()
                .to_string(),
            "12345678901234570000"
        );
        assert!(read(Some("12 kg"), InputType::Number).is_err());
    }

    #[test]
    fn list_text_quotes_strings_only() {
        let list = Value::List(Arc::from(vec![
            Value::str("a"),
            Value::Number(Decimal::new(15, 1)),
            Value::Null,
            Value::Bool(false),
        ]));
        assert_eq!(list.to_string(), "[\"a\",1.5,null,false]");
    }
}
