//! Jayway's path functions (`$.a.length()`, `$.a.sum()`, ...).
//!
//! Numeric functions read `doubleValue()` and answer a Double; the quirks of Jayway 2.8 are
//! kept: numbers among the arguments count too, `first()` on an empty array fails with an index
//! error, `last()` on a one-element array fails, `keys()` answers a key set (not an array).

use std::sync::Arc;

use crate::eval::EvalError;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Avg,
    Stddev,
    Sum,
    Min,
    Max,
    Concat,
    Length,
    Append,
    Keys,
    First,
    Last,
    Index,
}

impl Function {
    pub(crate) fn named(name: &str) -> Option<Function> {
        Some(match name {
            "avg" => Function::Avg,
            "stddev" => Function::Stddev,
            "sum" => Function::Sum,
            "min" => Function::Min,
            "max" => Function::Max,
            "concat" => Function::Concat,
            "length" | "size" => Function::Length,
            "append" => Function::Append,
            "keys" => Function::Keys,
            "first" => Function::First,
            "last" => Function::Last,
            "index" => Function::Index,
            _ => return None,
        })
    }
}

const EMPTY_AGGREGATION: &str =
    "Aggregation function attempted to calculate value using empty array";

/// Calls `function` on `model` with evaluated arguments (`length()` with a path argument is
/// handled by the evaluator, which can re-read the path).
pub(crate) fn invoke(
    function: Function,
    model: &Value,
    args: &[Value],
) -> Result<Value, EvalError> {
    match function {
        Function::Avg | Function::Stddev | Function::Sum | Function::Min | Function::Max => {
            aggregate(function, model, args)
        }
        Function::Concat => Ok(concat(model, args)),
        Function::Length => Ok(length(model)),
        Function::Append => Ok(append(model, args)),
        Function::Keys => Ok(match model {
            Value::Object(map) => Value::KeySet(Arc::new(map.keys().cloned().collect())),
            _ => Value::Null,
        }),
        Function::First => element_at(model, || Ok(0)),
        Function::Last => element_at(model, || Ok(-1)),
        Function::Index => element_at(model, || {
            numbers(args)
                .first()
                .and_then(|n| n.int_value())
                .ok_or_else(|| {
                    EvalError::IndexOutOfBounds("Index 0 out of bounds for length 0".to_string())
                })
        }),
    }
}

/// `length()` / `size()` without arguments: elements of an array, entries of an object.
pub(crate) fn length(model: &Value) -> Value {
    let count = match model {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => return Value::Null,
    };
    Value::Int(i32::try_from(count).unwrap_or(i32::MAX))
}

/// Jayway's `Parameter.toList(Number.class, ...)`: numeric arguments, and the numeric elements of
/// array arguments.
fn numbers(args: &[Value]) -> Vec<&Value> {
    let mut out = Vec::new();
    for arg in args {
        match arg {
            Value::Array(items) => out.extend(items.iter().filter(|v| v.is_number())),
            number if number.is_number() => out.push(number),
            _ => {}
        }
    }
    out
}

fn aggregate(function: Function, model: &Value, args: &[Value]) -> Result<Value, EvalError> {
    let mut values: Vec<f64> = Vec::new();
    if let Value::Array(items) = model {
        values.extend(items.iter().filter_map(Value::double_value));
    }
    values.extend(numbers(args).into_iter().filter_map(Value::double_value));
    if values.is_empty() {
        return Err(EvalError::Other(EMPTY_AGGREGATION.to_string()));
    }
    let count = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let result = match function {
        Function::Avg => sum / count,
        Function::Stddev => {
            let squares: f64 = values.iter().map(|v| v * v).sum();
            (squares / count - sum * sum / count / count).sqrt()
        }
        Function::Min => values
            .iter()
            .fold(f64::MAX, |min, &v| if min > v { v } else { min }),
        Function::Max => values
            .iter()
            .fold(-f64::MAX, |max, &v| if max < v { v } else { max }),
        _ => sum,
    };
    Ok(Value::Double(result))
}

/// String elements of an array model, then string arguments (array arguments contribute every
/// element's text).
fn concat(model: &Value, args: &[Value]) -> Value {
    let mut out = String::new();
    if let Value::Array(items) = model {
        for item in items.iter() {
            if let Value::Str(s) = item {
                out.push_str(s);
            }
        }
    }
    for arg in args {
        match arg {
            Value::Array(items) => {
                for item in items.iter().filter(|v| !matches!(v, Value::Null)) {
                    out.push_str(&item.java_string());
                }
            }
            Value::Str(s) => out.push_str(s),
            _ => {}
        }
    }
    Value::str(&out)
}

fn append(model: &Value, args: &[Value]) -> Value {
    match model {
        Value::Array(items) if !args.is_empty() => {
            let mut extended = items.as_ref().clone();
            extended.extend(args.iter().cloned());
            Value::Array(Arc::new(extended))
        }
        other => other.clone(),
    }
}

/// `first()`, `last()`, `index(n)`: a non-negative target counts from the start, a negative one
/// from the end (Jayway requires the resulting position to be above zero).
fn element_at(
    model: &Value,
    target: impl FnOnce() -> Result<i32, EvalError>,
) -> Result<Value, EvalError> {
    let Value::Array(items) = model else {
        return Err(EvalError::Other(EMPTY_AGGREGATION.to_string()));
    };
    let target = target()?;
    let len = items.len() as i64;
    let position = if target >= 0 {
        i64::from(target)
    } else {
        let position = len + i64::from(target);
        if position <= 0 {
            return Err(EvalError::Other(format!(
                "Target index:{target} larger than object count:{len}"
            )));
        }
        position
    };
    usize::try_from(position)
        .ok()
        .and_then(|p| items.get(p))
        .cloned()
        .ok_or_else(|| {
            EvalError::IndexOutOfBounds(format!("Index {position} out of bounds for length {len}"))
        })
}
