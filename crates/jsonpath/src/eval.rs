//! Path evaluation, following Jayway's path tokens with the default configuration (no options),
//! plus `REQUIRE_PROPERTIES` which Jayway switches on for existence tests in filters.

use std::sync::Arc;

use crate::functions::{self, Function};
use crate::parser::{self, ParseFailure};
use crate::path::{Param, Path, Token};
use crate::value::{Map, Value};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// A missing property is an error even where the path is indefinite.
    pub(crate) require_properties: bool,
}

/// The Java exceptions evaluation can raise, by how callers treat them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EvalError {
    /// `PathNotFoundException` (a kind of `InvalidPathException`).
    PathNotFound(String),
    /// `InvalidPathException`; filters treat it as "no match".
    InvalidPath(String),
    /// `IndexOutOfBoundsException`; array steps swallow it.
    IndexOutOfBounds(String),
    /// `InvalidJsonException` from a JSON function argument; the text is json-smart's message.
    InvalidJson(String),
    /// Any other failure (`JsonPathException` and JVM exceptions); the text is its message.
    Other(String),
}

/// Evaluates `path` with `document` as `$`/`@` and returns what Jayway's `getValue` returns: the
/// single result of a definite path, or all results as an array.
pub(crate) fn read(
    path: &Path,
    document: &Value,
    root: &Value,
    options: Options,
) -> Result<Value, EvalError> {
    let mut ctx = Context {
        path,
        root,
        options,
        results: Vec::new(),
    };
    if path.tokens.is_empty() {
        ctx.results.push(document.clone());
    } else {
        ctx.evaluate(0, &path.root.to_string(), document)?;
    }
    if !path.is_definite() {
        return Ok(Value::Array(Arc::new(ctx.results)));
    }
    // A function in the middle of a path adds its own result before the rest of the path does;
    // the last result is the path's.
    ctx.results
        .pop()
        .ok_or_else(|| EvalError::PathNotFound(format!("No results for path: {path}")))
}

struct Context<'a> {
    path: &'a Path,
    root: &'a Value,
    options: Options,
    results: Vec<Value>,
}

impl Context<'_> {
    fn is_leaf(&self, index: usize) -> bool {
        self.path.is_leaf(index)
    }

    /// Hands `model` to the token after `index`, or records it when `index` is the last token.
    fn proceed(&mut self, index: usize, current: &str, model: &Value) -> Result<(), EvalError> {
        if self.is_leaf(index) {
            self.results.push(model.clone());
            Ok(())
        } else {
            self.evaluate(index + 1, current, model)
        }
    }

    fn evaluate(&mut self, index: usize, current: &str, model: &Value) -> Result<(), EvalError> {
        let path = self.path;
        match &path.tokens[index] {
            Token::Property { names, .. } => self.property(index, current, model, names),
            Token::Index(indexes) => {
                if self.check_array(index, current, model)? {
                    for &i in indexes {
                        self.array_index(index, current, model, i64::from(i))?;
                    }
                }
                Ok(())
            }
            Token::Slice { from, to } => {
                if self.check_array(index, current, model)? {
                    self.slice(index, current, model, *from, *to)?;
                }
                Ok(())
            }
            Token::Wildcard => self.wildcard(index, current, model),
            Token::Scan => self.scan(index, current, model),
            Token::Predicate(filter) => match model {
                Value::Object(_) => {
                    if self.accept(filter, model)? {
                        self.proceed(index, current, model)?;
                    }
                    Ok(())
                }
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if self.accept(filter, item)? {
                            self.array_index(index, current, model, i as i64)?;
                        }
                    }
                    Ok(())
                }
                _ if path.upstream_is_definite(index) => Err(EvalError::InvalidPath(format!(
                    "Filter: {} can not be applied to primitives. Current context is: {}",
                    path.fragments_from(index),
                    model.java_string()
                ))),
                _ => Ok(()),
            },
            Token::Function { name, params } => {
                self.function(index, current, model, name, params.as_deref())
            }
        }
    }

    fn accept(&self, filter: &crate::filter::Filter, item: &Value) -> Result<bool, EvalError> {
        match filter.apply(item, self.root, self.options) {
            Ok(matched) => Ok(matched),
            Err(EvalError::PathNotFound(_) | EvalError::InvalidPath(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    fn property(
        &mut self,
        index: usize,
        current: &str,
        model: &Value,
        names: &[String],
    ) -> Result<(), EvalError> {
        let Value::Object(map) = model else {
            if !self.path.upstream_is_definite(index) {
                return Ok(());
            }
            let fragment = self.path.fragment(index);
            return Err(EvalError::PathNotFound(format!(
                "Expected to find an object with property {fragment} in path {current} but found '{}'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
                model.class_name()
            )));
        };
        if names.len() == 1 {
            return self.single_property(index, current, map, &names[0]);
        }
        if !self.is_leaf(index) {
            for name in names {
                self.single_property(index, current, map, name)?;
            }
            return Ok(());
        }
        // Several names at the end of a path merge into one object.
        let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        let eval_path = format!("{current}[{}]", quoted.join(", "));
        let mut merged = Map::new();
        for name in names {
            match map.get(name.as_str()) {
                Some(value) => {
                    merged.insert(Arc::from(name.as_str()), value.clone());
                }
                None if self.options.require_properties => {
                    return Err(EvalError::PathNotFound(format!(
                        "Missing property in path {eval_path}"
                    )));
                }
                None => {}
            }
        }
        self.results.push(Value::Object(Arc::new(merged)));
        Ok(())
    }

    fn single_property(
        &mut self,
        index: usize,
        current: &str,
        map: &Map,
        name: &str,
    ) -> Result<(), EvalError> {
        let eval_path = format!("{current}['{name}']");
        let Some(value) = map.get(name) else {
            if self.is_leaf(index) {
                if self.options.require_properties {
                    return Err(EvalError::PathNotFound(format!(
                        "No results for path: {eval_path}"
                    )));
                }
                return Ok(());
            }
            let definite =
                self.path.upstream_is_definite(index) && self.path.token_is_definite(index);
            if !definite && !self.options.require_properties {
                return Ok(());
            }
            return Err(EvalError::PathNotFound(format!(
                "Missing property in path {eval_path}"
            )));
        };
        self.proceed(index, &eval_path, value)
    }

    /// Jayway's `checkArrayModel`: whether an array step applies to `model`.
    fn check_array(&self, index: usize, current: &str, model: &Value) -> Result<bool, EvalError> {
        let applies = matches!(model, Value::Array(_));
        if applies || !self.path.upstream_is_definite(index) {
            return Ok(applies);
        }
        Err(EvalError::PathNotFound(if matches!(model, Value::Null) {
            format!("The path {current} is null")
        } else {
            format!(
                "Filter: {} can only be applied to arrays. Current context is: {}",
                self.path.fragments_from(index),
                model.java_string()
            )
        }))
    }

    /// `handleArrayIndex`: a negative index counts from the end; an index outside the array, or
    /// an `IndexOutOfBoundsException` further down the path, yields nothing.
    fn array_index(
        &mut self,
        index: usize,
        current: &str,
        model: &Value,
        i: i64,
    ) -> Result<(), EvalError> {
        let Value::Array(items) = model else {
            return Ok(());
        };
        let len = items.len() as i64;
        let effective = if i < 0 { len + i } else { i };
        let Some(hit) = usize::try_from(effective).ok().and_then(|e| items.get(e)) else {
            return Ok(());
        };
        match self.proceed(index, &format!("{current}[{i}]"), hit) {
            Err(EvalError::IndexOutOfBounds(_)) => Ok(()),
            other => other,
        }
    }

    fn slice(
        &mut self,
        index: usize,
        current: &str,
        model: &Value,
        from: Option<i32>,
        to: Option<i32>,
    ) -> Result<(), EvalError> {
        let len = match model {
            Value::Array(items) => items.len() as i64,
            _ => return Ok(()),
        };
        let (start, end) = match (from, to) {
            (Some(from), None) => {
                let from = i64::from(from);
                let from = if from < 0 { len + from } else { from }.max(0);
                (from, len)
            }
            (Some(from), Some(to)) => (i64::from(from), i64::from(to).min(len)),
            (None, Some(to)) => {
                let to = i64::from(to);
                let to = if to < 0 { len + to } else { to };
                (0, to.min(len))
            }
            (None, None) => return Ok(()),
        };
        if len == 0 || start >= end {
            return Ok(());
        }
        // Indexes below -len address nothing; skipping them keeps huge negative bounds cheap.
        for i in start.max(-len)..end {
            self.array_index(index, current, model, i)?;
        }
        Ok(())
    }

    fn wildcard(&mut self, index: usize, current: &str, model: &Value) -> Result<(), EvalError> {
        match model {
            Value::Object(map) => {
                for (key, value) in map.iter() {
                    self.proceed(index, &format!("{current}['{key}']"), value)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for i in 0..items.len() {
                    match self.array_index(index, current, model, i as i64) {
                        Err(EvalError::PathNotFound(_)) if !self.options.require_properties => {}
                        other => other?,
                    }
                }
                Ok(())
            }
            _ if !self.is_leaf(index) => Err(EvalError::PathNotFound(format!(
                "Expected to find an object or array in path {current} but found '{}'. ",
                model.class_name()
            ))),
            _ => Ok(()),
        }
    }

    /// `..`: visits `model` and everything below it depth first, applying the next token wherever
    /// it can apply. The walk uses an explicit stack so that deep documents cannot exhaust the
    /// call stack.
    fn scan(&mut self, index: usize, current: &str, model: &Value) -> Result<(), EvalError> {
        if self.is_leaf(index) {
            return Err(EvalError::Other("Current path token is a leaf".to_string()));
        }
        let target = index + 1;
        let mut pending = vec![(current.to_string(), model.clone())];
        while let Some((at, node)) = pending.pop() {
            match &node {
                Value::Object(map) => {
                    if self.scan_matches(target, &node)? {
                        self.evaluate(target, &at, &node)?;
                    }
                    for (key, value) in map.iter().rev() {
                        pending.push((format!("{at}['{key}']"), value.clone()));
                    }
                }
                Value::Array(items) => {
                    if self.scan_matches(target, &node)? {
                        if self.is_leaf(target) {
                            self.evaluate(target, &at, &node)?;
                        } else {
                            // Jayway hands the elements straight to the token after the target.
                            for (i, item) in items.iter().enumerate() {
                                self.evaluate(target + 1, &format!("{at}[{i}]"), item)?;
                            }
                        }
                    }
                    for (i, item) in items.iter().enumerate().rev() {
                        pending.push((format!("{at}[{i}]"), item.clone()));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether the token after `..` applies to `model`.
    fn scan_matches(&self, target: usize, model: &Value) -> Result<bool, EvalError> {
        Ok(match &self.path.tokens[target] {
            Token::Property { names, .. } => match model {
                Value::Object(map) => {
                    !self.path.token_is_definite(target)
                        || names.iter().all(|n| map.contains_key(n.as_str()))
                }
                _ => false,
            },
            Token::Index(_) | Token::Slice { .. } => matches!(model, Value::Array(_)),
            Token::Wildcard => true,
            Token::Predicate(filter) => self.accept(filter, model)?,
            Token::Scan | Token::Function { .. } => false,
        })
    }

    fn function(
        &mut self,
        index: usize,
        current: &str,
        model: &Value,
        name: &str,
        params: Option<&[Param]>,
    ) -> Result<(), EvalError> {
        let function = Function::named(name).ok_or_else(|| {
            EvalError::InvalidPath(format!("Function with name: {name} does not exist."))
        })?;
        let params = params.unwrap_or_default();
        let mut args = Vec::with_capacity(params.len());
        for param in params {
            args.push(self.argument(param)?);
        }
        let result = match function {
            Function::Length => self.length(model, params)?,
            other => functions::invoke(other, model, &args)?,
        };
        self.results.push(result.clone());
        if !self.is_leaf(index) {
            self.evaluate(index + 1, current, &result)?;
        }
        Ok(())
    }

    /// A function argument: a path read from the document root, or parsed JSON.
    fn argument(&self, param: &Param) -> Result<Value, EvalError> {
        match param {
            Param::Path(path) => read(path, self.root, self.root, self.options),
            Param::Json(text) => parser::parse(text).map_err(|failure| match failure {
                ParseFailure::Syntax(message) => EvalError::InvalidJson(message),
                ParseFailure::Number(message) => EvalError::Other(message),
            }),
        }
    }

    /// `length()`; with a path argument, the number of children that path reaches from the
    /// current value (Jayway appends `[*]` to it).
    fn length(&self, model: &Value, params: &[Param]) -> Result<Value, EvalError> {
        if let Some(first) = params.first() {
            let Param::Path(path) = first else {
                return Err(EvalError::Other(
                    "Cannot invoke \"com.jayway.jsonpath.internal.Path.isFunctionPath()\" because the return value of \"com.jayway.jsonpath.internal.function.Parameter.getPath()\" is null".to_string(),
                ));
            };
            let children = if path.is_function_path() || path.tokens.is_empty() {
                read(path, model, model, self.options)?
            } else {
                read(&path.with_wildcard(), model, model, self.options)?
            };
            if let Value::Array(items) = children {
                return Ok(Value::Int(i32::try_from(items.len()).unwrap_or(i32::MAX)));
            }
        }
        Ok(functions::length(model))
    }
}
