//! The function library: compiling each call (static checks, constant arguments prepared once)
//! and evaluating it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::audit::resource_use;
use crate::compile::{CompileError, Compiler, Node, Program};
use crate::eval::{EvalError, Frame};
use crate::resources::{ResourceQuery, VersionSelector};
use crate::syntax::ast::{Call, Expr, Function, NamedOption};
use crate::value::Value;

/// A compiled function call.
#[derive(Debug)]
pub(crate) enum CallNode {
    Coalesce(Vec<Node>),
    Concat(Vec<Node>),
    Lowercase(Node),
    Uppercase(Node),
    Search {
        text: Node,
        pattern: Node,
        ignore_case: Option<Node>,
    },
    Switch {
        value: Node,
        cases: Vec<(Node, Node)>,
        default: Option<Node>,
        ignore_case: Option<Node>,
    },
    Split {
        text: Node,
        regex: Node,
        /// The regex, compiled once when it is a constant.
        compiled: Option<fancy_regex::Regex>,
        limit: Option<Node>,
        index: Option<Node>,
    },
    GetValue {
        json: Node,
        path: Node,
        compiled: Option<sifr_jsonpath::JsonPath>,
    },
    Ref(Node),
    AssignToGroup(Node),
    AsTimestamp {
        value: Node,
        pattern: Node,
        timezone: Option<Node>,
        locale: Option<Node>,
        round_down_to: Option<Node>,
        /// The pattern with its options, compiled once when they are all constants.
        compiled: Option<sifr_javatime::TimestampPattern>,
    },
    Convert {
        value: Node,
        from: Node,
        to: Node,
        kind: Option<Node>,
        /// The unit pair, resolved once when both units and the kind are constants.
        compiled: Option<sifr_units::Conversion>,
    },
    Impact {
        activity: Node,
        impact: Node,
        component: Node,
        options: ResourceOptions,
        /// Set when every argument is a constant: the factor is resolved once per session.
        site: Option<SiteId>,
    },
    Lookup {
        value: Node,
        dataset: Node,
        key_column: Node,
        output_column: Node,
        options: ResourceOptions,
        /// Set when everything but the value is a constant: the dataset is resolved once per
        /// session and results are remembered per value.
        site: Option<SiteId>,
    },
    Caml(Node),
    Custom {
        name: String,
        args: Vec<Node>,
        options: ResourceOptions,
    },
}

/// `group=`, `tenant=`, `version=`, `versionAsAt=` of IMPACT, LOOKUP and calculation calls.
#[derive(Debug)]
pub(crate) struct ResourceOptions {
    group: Option<Node>,
    tenant: Option<Node>,
    version: Option<Node>,
    version_as_at: Option<Node>,
}

pub(crate) fn compile(
    compiler: &mut Compiler<'_>,
    expr: &Expr,
    call: &Call,
) -> Result<CallNode, CompileError> {
    let mut args = compiler.args(call)?.into_iter();
    let mut arg = || args.next().unwrap_or(Node::Const(Value::Absent));
    Ok(match &call.function {
        Function::Coalesce => CallNode::Coalesce(compiler.args(call)?),
        Function::Concat => CallNode::Concat(compiler.args(call)?),
        Function::Lowercase => CallNode::Lowercase(arg()),
        Function::Uppercase => CallNode::Uppercase(arg()),
        Function::Search => CallNode::Search {
            text: arg(),
            pattern: arg(),
            ignore_case: compiler.option(call, NamedOption::IgnoreCase)?,
        },
        Function::Switch => {
            let value = arg();
            let rest: Vec<Node> = args.collect();
            if !rest.len().is_multiple_of(2) {
                return Err(compiler.error(
                    expr,
                    "The SWITCH function requires a list of values to check along with their corresponding results.",
                ));
            }
            let mut rest = rest.into_iter();
            let mut cases = Vec::new();
            while let (Some(case), Some(result)) = (rest.next(), rest.next()) {
                cases.push((case, result));
            }
            CallNode::Switch {
                value,
                cases,
                default: compiler.option(call, NamedOption::Default)?,
                ignore_case: compiler.option(call, NamedOption::IgnoreCase)?,
            }
        }
        Function::Split => {
            let text = arg();
            let regex = arg();
            let compiled = match regex.constant() {
                Some(Value::Str(pattern)) => Some(
                    fancy_regex::Regex::new(pattern)
                        .map_err(|e| compiler.error(expr, format!("invalid SPLIT regex: {e}")))?,
                ),
                _ => None,
            };
            let index = call
                .index
                .as_deref()
                .map(|i| compiler.expr(i))
                .transpose()?;
            CallNode::Split {
                text,
                regex,
                compiled,
                limit: compiler.option(call, NamedOption::Limit)?,
                index,
            }
        }
        Function::GetValue => {
            let json = arg();
            let path = arg();
            let compiled = match path.constant() {
                Some(Value::Str(text)) => sifr_jsonpath::JsonPath::compile(text).ok(),
                _ => None,
            };
            CallNode::GetValue {
                json,
                path,
                compiled,
            }
        }
        Function::Ref => CallNode::Ref(arg()),
        Function::AssignToGroup => CallNode::AssignToGroup(arg()),
        Function::AsTimestamp => {
            let value = arg();
            let pattern = arg();
            let timezone = compiler.option(call, NamedOption::Timezone)?;
            let locale = compiler.option(call, NamedOption::Locale)?;
            let round_down_to = compiler.option(call, NamedOption::RoundDownTo)?;
            let compiled = constant_text(&pattern).and_then(|pattern| {
                let timezone = optional_constant_text(timezone.as_ref())?;
                let locale = optional_constant_text(locale.as_ref())?;
                let round = optional_constant_text(round_down_to.as_ref())?;
                // A constant pattern that does not compile fails on every row with its own
                // message, so it is left to evaluation to report.
                timestamp_pattern(pattern, timezone, locale, round).ok()
            });
            CallNode::AsTimestamp {
                value,
                pattern,
                timezone,
                locale,
                round_down_to,
                compiled,
            }
        }
        Function::Convert => {
            let value = arg();
            let from = arg();
            let to = arg();
            let kind = compiler.option(call, NamedOption::QuantityKind)?;
            let compiled = match (constant_text(&from), constant_text(&to)) {
                (Some(from), Some(to)) => optional_constant_text(kind.as_ref())
                    .and_then(|kind| sifr_units::Conversion::new(from, to, kind).ok()),
                _ => None,
            };
            CallNode::Convert {
                value,
                from,
                to,
                kind,
                compiled,
            }
        }
        Function::Impact => {
            let (activity, impact, component) = (arg(), arg(), arg());
            let options = ResourceOptions::compile(compiler, call)?;
            let constant = [&activity, &impact, &component]
                .iter()
                .all(|n| n.constant().is_some())
                && options.are_constant();
            CallNode::Impact {
                activity,
                impact,
                component,
                options,
                site: constant.then(|| compiler.site()),
            }
        }
        Function::Lookup => {
            let (value, dataset, key_column, output_column) = (arg(), arg(), arg(), arg());
            let options = ResourceOptions::compile(compiler, call)?;
            let constant = [&dataset, &key_column, &output_column]
                .iter()
                .all(|n| n.constant().is_some())
                && options.are_constant();
            CallNode::Lookup {
                value,
                dataset,
                key_column,
                output_column,
                options,
                site: constant.then(|| compiler.site()),
            }
        }
        Function::Caml => CallNode::Caml(arg()),
        Function::Custom(name) => CallNode::Custom {
            name: name.clone(),
            args: compiler.args(call)?,
            options: ResourceOptions::compile(compiler, call)?,
        },
        Function::If => unreachable!("IF compiles to its own node"),
    })
}

/// A compiled AS_TIMESTAMP pattern. Rounding down uses the zone's offset at the rounded
/// instant (the start of March in Denver is 07:00Z, not the 06:00Z that reusing the offset of
/// a March 21 value would give).
fn timestamp_pattern(
    pattern: &str,
    timezone: Option<&str>,
    locale: Option<&str>,
    round_down_to: Option<&str>,
) -> Result<sifr_javatime::TimestampPattern, sifr_javatime::TimestampError> {
    Ok(
        sifr_javatime::TimestampPattern::new(pattern, timezone, locale, round_down_to)?
            .with_rounding_offset(sifr_javatime::RoundingOffset::ZoneRules),
    )
}

fn constant_text(node: &Node) -> Option<&str> {
    match node.constant()? {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// `Some(None)` when the option is absent, `Some(Some(text))` when it is a constant string,
/// `None` when it depends on the row.
fn optional_constant_text(node: Option<&Node>) -> Option<Option<&str>> {
    match node {
        None => Some(None),
        Some(node) => constant_text(node).map(Some),
    }
}

impl ResourceOptions {
    fn are_constant(&self) -> bool {
        [
            &self.group,
            &self.tenant,
            &self.version,
            &self.version_as_at,
        ]
        .iter()
        .all(|o| o.as_ref().is_none_or(|n| n.constant().is_some()))
    }

    fn compile(compiler: &mut Compiler<'_>, call: &Call) -> Result<Self, CompileError> {
        Ok(ResourceOptions {
            group: compiler.option(call, NamedOption::Group)?,
            tenant: compiler.option(call, NamedOption::Tenant)?,
            version: compiler.option(call, NamedOption::Version)?,
            version_as_at: compiler.option(call, NamedOption::VersionAsAt)?,
        })
    }
}

/// The evaluated resource options of one call.
struct ResolvedOptions {
    group: Option<String>,
    tenant: Option<String>,
    version: Option<String>,
    version_as_at: Option<String>,
}

impl ResolvedOptions {
    fn eval(frame: &mut Frame<'_>, options: &ResourceOptions) -> Result<Self, EvalError> {
        let mut text = |node: &Option<Node>, name: &str| -> Result<Option<String>, EvalError> {
            node.as_ref()
                .map(|n| frame.text(n, &format!("the value of {name}=")))
                .transpose()
        };
        Ok(ResolvedOptions {
            group: text(&options.group, "group")?,
            tenant: text(&options.tenant, "tenant")?,
            version: text(&options.version, "version")?,
            version_as_at: text(&options.version_as_at, "versionAsAt")?,
        })
    }

    fn group<'a>(&'a self, frame: &'a Frame<'_>) -> &'a str {
        self.group
            .as_deref()
            .unwrap_or(&frame.session.group_context)
    }

    /// The version selector; `version=` and `versionAsAt=` together are an error unless
    /// `as_at_wins` (calculation calls, where `versionAsAt=` takes precedence).
    fn selector(&self, as_at_wins: bool) -> Result<VersionSelector, EvalError> {
        match (&self.version, &self.version_as_at) {
            (Some(_), Some(_)) if !as_at_wins => Err(EvalError::new(
                "Version and VersionAsAt are mutually exclusive parameters, specify one or the other.",
            )),
            (_, Some(at)) => Ok(VersionSelector::AsAt(at.clone())),
            (Some(v), None) if v == "latest" => Ok(VersionSelector::Latest),
            (Some(v), None) => v.parse().map(VersionSelector::Exact).map_err(|_| {
                EvalError::new(format!(
                    "version='{v}' is not a version number; use a whole number or 'latest'"
                ))
            }),
            (None, None) => Ok(VersionSelector::Latest),
        }
    }

    fn query(
        &self,
        frame: &Frame<'_>,
        name: &str,
        as_at_wins: bool,
    ) -> Result<ResourceQuery, EvalError> {
        Ok(ResourceQuery {
            name: name.to_owned(),
            group: self.group(frame).to_owned(),
            explicit_group: self.group.is_some(),
            tenant: self.tenant.clone(),
            version: self.selector(as_at_wins)?,
        })
    }
}

fn string_arg(frame: &mut Frame<'_>, node: &Node, message: &str) -> Result<Arc<str>, EvalError> {
    match frame.eval(node)? {
        Value::Str(s) => Ok(s),
        _ => Err(EvalError::new(message)),
    }
}

fn bool_option(frame: &mut Frame<'_>, node: &Option<Node>, name: &str) -> Result<bool, EvalError> {
    match node {
        None => Ok(false),
        Some(node) => match frame.eval(node)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::new(format!(
                "{name}= must be true or false, not the {} '{other}'",
                other.kind().name()
            ))),
        },
    }
}

impl CallNode {
    pub(crate) fn eval(&self, frame: &mut Frame<'_>) -> Result<Value, EvalError> {
        match self {
            CallNode::Coalesce(args) => {
                for arg in args {
                    let value = frame.eval(arg)?;
                    if !value.is_nullish() {
                        return Ok(value);
                    }
                }
                Ok(Value::Null)
            }
            CallNode::Concat(args) => {
                let mut out = String::new();
                for arg in args {
                    frame.eval(arg)?.write_text(&mut out);
                }
                Ok(Value::str(out))
            }
            CallNode::Lowercase(arg) => {
                let s = string_arg(frame, arg, "Evaluated value is not a string.")?;
                Ok(Value::str(s.to_lowercase()))
            }
            CallNode::Uppercase(arg) => {
                let s = string_arg(frame, arg, "Evaluated value is not a string.")?;
                Ok(Value::str(s.to_uppercase()))
            }
            CallNode::Search {
                text,
                pattern,
                ignore_case,
            } => {
                let text = string_arg(frame, text, "Evaluated text is not a string.")?;
                let pattern = string_arg(frame, pattern, "Evaluated match is not a string.")?;
                let found = if bool_option(frame, ignore_case, "ignoreCase")? {
                    search(&text.to_lowercase(), &pattern.to_lowercase())
                } else {
                    search(&text, &pattern)
                };
                Ok(Value::Number(Decimal::from(found)))
            }
            CallNode::Switch {
                value,
                cases,
                default,
                ignore_case,
            } => switch(frame, value, cases, default, ignore_case),
            CallNode::Split {
                text,
                regex,
                compiled,
                limit,
                index,
            } => split(frame, text, regex, compiled.as_ref(), limit, index),
            CallNode::GetValue {
                json,
                path,
                compiled,
            } => get_value(frame, json, path, compiled.as_ref()),
            CallNode::Ref(name) => {
                let name = frame.text(name, "the output name of REF")?;
                Ok(frame.row.refs.output(&name).unwrap_or(Value::Null))
            }
            CallNode::AssignToGroup(group) => assign_to_group(frame, group),
            CallNode::AsTimestamp {
                value,
                pattern,
                timezone,
                locale,
                round_down_to,
                compiled,
            } => {
                let value = frame.text(value, "the value of AS_TIMESTAMP")?;
                let millis = match compiled {
                    Some(pattern) => pattern.parse_millis(&value),
                    None => {
                        let pattern = frame.text(pattern, "the pattern of AS_TIMESTAMP")?;
                        let mut option = |node: &Option<Node>, name: &str| {
                            node.as_ref()
                                .map(|n| frame.text(n, &format!("the value of {name}=")))
                                .transpose()
                        };
                        let timezone = option(timezone, "timezone")?;
                        let locale = option(locale, "locale")?;
                        let round = option(round_down_to, "roundDownTo")?;
                        timestamp_pattern(
                            &pattern,
                            timezone.as_deref(),
                            locale.as_deref(),
                            round.as_deref(),
                        )
                        .and_then(|p| p.parse_millis(&value))
                    }
                }
                .map_err(|e| EvalError::new(e.to_string()))?;
                Ok(Value::Number(Decimal::from(millis)))
            }
            CallNode::Convert {
                value,
                from,
                to,
                kind,
                compiled,
            } => {
                let amount = match frame.eval(value)? {
                    Value::Number(n) => n,
                    other => {
                        return Err(EvalError::new(format!(
                            "Provided value '{other}' must be a number."
                        )));
                    }
                };
                let converted = match compiled {
                    Some(conversion) => conversion.apply(amount),
                    None => {
                        let from = frame.text(from, "the unit to convert from")?;
                        let to = frame.text(to, "the unit to convert to")?;
                        let kind = kind
                            .as_ref()
                            .map(|k| frame.text(k, "the value of qualityKind="))
                            .transpose()?;
                        sifr_units::convert(amount, &from, &to, kind.as_deref())
                    }
                }
                .map_err(|e| EvalError::new(e.to_string()))?;
                Ok(Value::Number(converted))
            }
            CallNode::Impact {
                activity,
                impact,
                component,
                options,
                site,
            } => {
                // Audited evaluations take the full path, which records the resources used.
                if frame.audit.is_none()
                    && let Some(SiteMemo::Impact(value)) = site.and_then(|s| frame.session.memo(s))
                {
                    return Ok(Value::Number(value));
                }
                let value = impact_value(frame, activity, impact, component, options)?;
                if let (Some(site), Value::Number(n)) = (site, &value) {
                    frame.session.remember(*site, SiteMemo::Impact(*n));
                }
                Ok(value)
            }
            CallNode::Lookup {
                value,
                dataset,
                key_column,
                output_column,
                options,
                site,
            } => {
                if frame.audit.is_none()
                    && let Some(SiteMemo::Lookup(memo)) = site.and_then(|s| frame.session.memo(s))
                {
                    return memo.get(frame, value);
                }
                lookup(
                    frame,
                    value,
                    dataset,
                    key_column,
                    output_column,
                    options,
                    *site,
                )
            }
            CallNode::Caml(text) => match frame.eval(text)? {
                v if v.is_nullish() => Err(EvalError::new("CaML input value is not specified")),
                _ => Err(EvalError::new(
                    "CaML feature is not enabled for this tenant. (CAML matched products with a model hosted on AWS SageMaker; sifr does not provide it.)",
                )),
            },
            CallNode::Custom {
                name,
                args,
                options,
            } => custom(frame, name, args, options),
        }
    }
}

/// Index of the first occurrence in UTF-16 code units, -1 when absent.
fn search(text: &str, pattern: &str) -> i64 {
    match text.find(pattern) {
        Some(byte) => text[..byte].encode_utf16().count() as i64,
        None => -1,
    }
}

fn switch(
    frame: &mut Frame<'_>,
    value: &Node,
    cases: &[(Node, Node)],
    default: &Option<Node>,
    ignore_case: &Option<Node>,
) -> Result<Value, EvalError> {
    let value = frame.eval(value)?;
    if value.is_nullish() {
        return Err(EvalError::new("Invalid expression to evaluate."));
    }
    let ignore_case = bool_option(frame, ignore_case, "ignoreCase")?;
    let wanted = value.to_string();
    let mut matched = None;
    for (i, (case, result)) in cases.iter().enumerate() {
        let case = frame.eval(case)?;
        if case.is_nullish() {
            return Err(EvalError::new(format!(
                "Invalid value at position {} provided.",
                2 * i + 1
            )));
        }
        let case = case.to_string();
        let equal = if ignore_case {
            equals_ignore_case(&wanted, &case)
        } else {
            wanted == case
        };
        if equal {
            matched = Some(frame.eval(result)?);
            break;
        }
    }
    match matched {
        Some(Value::Absent) | None => match default {
            Some(default) => match frame.eval(default)? {
                Value::Str(text) => Ok(Value::retype(&text)?),
                other => Err(EvalError::new(format!(
                    "SWITCH default= must be a string, not the {} '{other}'",
                    other.kind().name()
                ))),
            },
            None => Err(no_switch_result()),
        },
        Some(Value::Null) => Err(no_switch_result()),
        Some(result) => Ok(result),
    }
}

fn no_switch_result() -> EvalError {
    EvalError::new("No possible result identified based on the provided expression to evaluate.")
}

/// Case-insensitive equality character by character, comparing upper and lower case forms.
fn equals_ignore_case(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count()
        && a.chars().zip(b.chars()).all(|(x, y)| {
            x == y || x.to_uppercase().eq(y.to_uppercase()) || x.to_lowercase().eq(y.to_lowercase())
        })
}

fn split(
    frame: &mut Frame<'_>,
    text: &Node,
    regex: &Node,
    compiled: Option<&fancy_regex::Regex>,
    limit: &Option<Node>,
    index: &Option<Node>,
) -> Result<Value, EvalError> {
    let text = match frame.eval(text)? {
        v if v.is_nullish() => return Err(EvalError::new("Invalid text to parse.")),
        v => v.to_string(),
    };
    let owned;
    let regex = match compiled {
        Some(regex) => regex,
        None => {
            let pattern = frame.text(regex, "the regex of SPLIT")?;
            owned = fancy_regex::Regex::new(&pattern)
                .map_err(|e| EvalError::new(format!("invalid SPLIT regex '{pattern}': {e}")))?;
            &owned
        }
    };
    let limit = match limit {
        None => 0,
        Some(node) => match frame.eval(node)? {
            Value::Number(n) => n.trunc().to_i64().unwrap_or(i64::MAX),
            other => {
                return Err(EvalError::new(format!(
                    "SPLIT limit= must be a number, not the {} '{other}'",
                    other.kind().name()
                )));
            }
        },
    };
    let parts = java_split(&text, regex, limit)?;
    let Some(index) = index else {
        let json = serde_json::to_string(&parts).map_err(|e| EvalError::new(e.to_string()))?;
        return Ok(Value::Json(Arc::from(json)));
    };
    let index_text = frame.text(index, "the index of SPLIT")?;
    let position: i32 = index_text
        .parse()
        .map_err(|_| EvalError::new(format!("SPLIT index '{index_text}' is not a whole number")))?;
    let part = usize::try_from(position)
        .ok()
        .and_then(|i| parts.get(i))
        .ok_or_else(|| {
            EvalError::new(format!(
                "SPLIT index {position} is out of range: the text splits into {} parts",
                parts.len()
            ))
        })?;
    Ok(Value::retype(part)?)
}

/// Splits around regex matches the way Java's `String.split` does: a positive limit caps the
/// number of parts (the last keeps the rest), zero drops trailing empty parts, a negative limit
/// keeps them; a zero-width match at the start never yields a leading empty part.
fn java_split(
    text: &str,
    regex: &fancy_regex::Regex,
    limit: i64,
) -> Result<Vec<String>, EvalError> {
    let mut parts: Vec<String> = Vec::new();
    let mut index = 0;
    let limited = limit > 0;
    for found in regex.find_iter(text) {
        let found = found.map_err(|e| EvalError::new(format!("SPLIT regex failed: {e}")))?;
        if !limited || (parts.len() as i64) < limit - 1 {
            if index == 0 && found.start() == 0 && found.end() == 0 {
                continue;
            }
            parts.push(text[index..found.start()].to_owned());
            index = found.end();
        } else {
            break;
        }
    }
    if index == 0 {
        return Ok(vec![text.to_owned()]);
    }
    parts.push(text[index..].to_owned());
    if limit == 0 {
        while parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
    }
    Ok(parts)
}

fn get_value(
    frame: &mut Frame<'_>,
    json: &Node,
    path: &Node,
    compiled: Option<&sifr_jsonpath::JsonPath>,
) -> Result<Value, EvalError> {
    let json = match frame.eval(json)? {
        v if v.is_nullish() => return Err(EvalError::new("Invalid json to parse.")),
        v => v.to_string(),
    };
    let result = match compiled {
        Some(path) => path.query(&json),
        None => match frame.eval(path)? {
            v if v.is_nullish() => return Err(EvalError::new("Invalid query to evaluate.")),
            v => sifr_jsonpath::get_value(&json, &v.to_string()),
        },
    }
    .map_err(|e| EvalError::new(e.to_string()))?;
    let item = |item: sifr_jsonpath::Item| match item {
        sifr_jsonpath::Item::Null => Ok(Value::Null),
        sifr_jsonpath::Item::Text(text) => Value::retype(&text),
    };
    Ok(match result {
        sifr_jsonpath::JsonPathValue::List(items) => Value::List(
            items
                .into_iter()
                .map(item)
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        ),
        sifr_jsonpath::JsonPathValue::Scalar(scalar) => item(scalar)?,
        sifr_jsonpath::JsonPathValue::ObjectText(text) => Value::str(text),
    })
}

fn assign_to_group(frame: &mut Frame<'_>, group: &Node) -> Result<Value, EvalError> {
    let group = frame
        .text(group, "the group of ASSIGN_TO_GROUP")?
        .to_lowercase();
    if !frame.session.resources.group_exists(&group)? {
        return Err(EvalError::new(format!(
            "Group passed to ASSIGN_TO_GROUP {group} does not exist."
        )));
    }
    let context = &frame.session.group_context;
    let wanted = path_segments(&group);
    let within = path_segments(context);
    if wanted.len() < within.len() || wanted[..within.len()] != within[..] {
        return Err(EvalError::new(format!(
            "The group passed to ASSIGN_TO_GROUP ({group}) must be the same as or be a child of the group context of execution ({context})"
        )));
    }
    Ok(Value::str(group))
}

/// `/a/b/` → `["", "a", "b"]`: split on `/` without trailing empty segments.
fn path_segments(path: &str) -> Vec<&str> {
    let mut segments: Vec<&str> = path.split('/').collect();
    while segments.last() == Some(&"") {
        segments.pop();
    }
    segments
}

fn impact_value(
    frame: &mut Frame<'_>,
    activity: &Node,
    impact: &Node,
    component: &Node,
    options: &ResourceOptions,
) -> Result<Value, EvalError> {
    let activity_name = frame.text(activity, "the activity of IMPACT")?;
    let impact_name = frame.text(impact, "the impact of IMPACT")?;
    let component_key = frame.text(component, "the component of IMPACT")?;
    let options = ResolvedOptions::eval(frame, options)?;
    let query = options.query(frame, &activity_name, false)?;
    let found = frame.session.resources.activity(&query)?;
    if let Some(audit) = frame.audit.as_deref_mut() {
        let version = found
            .as_ref()
            .map(|a| a.version.to_string())
            .or_else(|| options.version.clone());
        audit.activities.push(resource_use([
            ("activity", Some(activity_name.clone())),
            ("impact", Some(impact_name.clone())),
            ("component", Some(component_key.clone())),
            ("group", Some(query.group.clone())),
            ("tenant", options.tenant.clone()),
            ("version", version),
        ]));
    }
    let activity = found.ok_or_else(|| {
        EvalError::new(format!("Activity with name '{activity_name}' not found."))
    })?;
    let impact = activity
        .impacts
        .iter()
        .find(|i| i.name == impact_name)
        .ok_or_else(|| {
            EvalError::new(format!(
                "Referenced activity impact '{impact_name}' not found."
            ))
        })?;
    let component = impact
        .components
        .iter()
        .find(|c| c.key == component_key)
        .ok_or_else(|| {
            EvalError::new(format!(
                "Referenced activity impact component '{component_key}' not found."
            ))
        })?;
    Ok(Value::Number(component.value))
}

fn lookup(
    frame: &mut Frame<'_>,
    value: &Node,
    dataset: &Node,
    key_column: &Node,
    output_column: &Node,
    options: &ResourceOptions,
    site: Option<SiteId>,
) -> Result<Value, EvalError> {
    let value = frame.text(value, "the value of LOOKUP")?;
    let name = frame.text(dataset, "the dataset of LOOKUP")?;
    let key_column = frame.text(key_column, "the key column of LOOKUP")?;
    let output_column = frame.text(output_column, "the output column of LOOKUP")?;
    if value.is_empty() {
        return Err(EvalError::new(format!(
            "LOOKUP in '{name}' needs a value to look up, but the value is empty"
        )));
    }
    let options = ResolvedOptions::eval(frame, options)?;
    let query = options.query(frame, &name, false)?;
    let found = frame.session.resources.dataset(&query)?;
    if let Some(audit) = frame.audit.as_deref_mut() {
        audit.reference_datasets.push(resource_use([
            ("value", Some(value.clone())),
            ("name", Some(name.clone())),
            ("keyColumn", Some(key_column.clone())),
            ("outputColumn", Some(output_column.clone())),
            ("group", Some(query.group.clone())),
            ("tenant", options.tenant.clone()),
            (
                "version",
                found
                    .as_ref()
                    .map(|d| d.version.to_string())
                    .or_else(|| options.version.clone()),
            ),
        ]));
    }
    let dataset = found.ok_or_else(|| match &query.version {
        VersionSelector::AsAt(at) => EvalError::new(format!(
            "Reference dataset for specified versionAsAt '{at}' not found."
        )),
        _ => EvalError::new(format!("Reference dataset for name '{name}' not found.")),
    })?;
    let (Some(key), Some(output)) = (dataset.column(&key_column), dataset.column(&output_column))
    else {
        return Err(EvalError::new(format!(
            "Requested column '{output_column}' or '{key_column}' not found in dataset '{}' (version {})",
            dataset.id, dataset.version
        )));
    };
    let memo = LookupMemo {
        dataset: dataset.clone(),
        key,
        output,
        results: RwLock::default(),
    };
    let result = memo.find(&value);
    if let Some(site) = site {
        frame
            .session
            .remember(site, SiteMemo::Lookup(Arc::new(memo)));
    }
    result
}

/// What a call site with constant resource arguments resolved, kept for the session.
#[derive(Clone, Debug)]
pub(crate) enum SiteMemo {
    Impact(Decimal),
    Lookup(Arc<LookupMemo>),
}

/// A call site in a compiled program, unique across programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SiteId {
    pub(crate) program: u64,
    pub(crate) call: u32,
}

/// Most LOOKUPs of an execution ask a few distinct values many times.
const LOOKUP_MEMO_CAPACITY: usize = 100_000;

/// A LOOKUP call site's dataset and columns, and the results found so far by value.
#[derive(Debug)]
pub(crate) struct LookupMemo {
    dataset: Arc<crate::resources::Dataset>,
    key: usize,
    output: usize,
    results: RwLock<HashMap<Box<str>, Value>>,
}

impl LookupMemo {
    fn get(&self, frame: &mut Frame<'_>, value: &Node) -> Result<Value, EvalError> {
        let value = frame.eval(value)?;
        let text = match &value {
            Value::Absent => return Err(EvalError::new("the value of LOOKUP is the null literal")),
            Value::Str(s) => std::borrow::Cow::Borrowed(s.as_ref()),
            other => std::borrow::Cow::Owned(other.to_string()),
        };
        if text.is_empty() {
            return Err(EvalError::new(format!(
                "LOOKUP in '{}' needs a value to look up, but the value is empty",
                self.dataset.name
            )));
        }
        if let Some(found) = self
            .results
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(text.as_ref())
        {
            return Ok(found.clone());
        }
        self.find(&text)
    }

    fn find(&self, value: &str) -> Result<Value, EvalError> {
        let found = match self.dataset.find(self.key, value) {
            Some(row) => Value::retype(self.dataset.cell(row, self.output))?,
            None => Value::Null,
        };
        let mut results = self.results.write().unwrap_or_else(|e| e.into_inner());
        if results.len() < LOOKUP_MEMO_CAPACITY {
            results.insert(Box::from(value), found.clone());
        }
        Ok(found)
    }
}

/// `#name(args)`: the stored calculation's formula with each declared parameter replaced by
/// the text of its argument (string parameters quoted), evaluated as a formula of its own that
/// shares the caller's row.
fn custom(
    frame: &mut Frame<'_>,
    name: &str,
    args: &[Node],
    options: &ResourceOptions,
) -> Result<Value, EvalError> {
    let mut texts = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        texts.push(frame.text(arg, &format!("argument {} of #{name}", i + 1))?);
    }
    let options = ResolvedOptions::eval(frame, options)?;
    let query = options.query(frame, name, true)?;
    let found = frame.session.resources.calculation(&query)?;
    if let Some(audit) = frame.audit.as_deref_mut() {
        let mut entry = resource_use([
            ("function", Some(name.to_owned())),
            ("group", Some(query.group.clone())),
            ("tenant", options.tenant.clone()),
            (
                "version",
                found
                    .as_ref()
                    .map(|c| c.version.to_string())
                    .or_else(|| options.version.clone()),
            ),
        ]);
        for (i, text) in texts.iter().enumerate() {
            entry.insert(format!("arg{i}"), text.clone());
        }
        audit.calculations.push(entry);
    }
    let calculation = found
        .ok_or_else(|| EvalError::new(format!("Calculation with name '{name}' not found.")))?;
    if texts.len() < calculation.parameters.len() {
        return Err(EvalError::new(format!(
            "#{name} takes {} arguments ({}), but {} were given",
            calculation.parameters.len(),
            calculation
                .parameters
                .iter()
                .map(|p| p.key.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            texts.len()
        )));
    }
    let substituted = crate::substitute::substitute(&calculation, &texts);
    let program = frame.program.compiled_call(&substituted)?;
    let depth = frame.depth + 1;
    program.run(frame.session, frame.row, frame.audit.as_deref_mut(), depth)
}

impl Program {
    /// The compiled form of a substituted calculation formula, cached per caller: rows that
    /// pass the same arguments reuse it.
    fn compiled_call(&self, source: &str) -> Result<Arc<Program>, EvalError> {
        self.calls.get_or_compile(source, &self.schema)
    }
}
