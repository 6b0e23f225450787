//! What one evaluation records for the audit trail: the value of every reference, assignment
//! and function call (keyed by its source text), and every resource version it used.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

/// A resource use: field name → text (`activity`, `impact`, `version`, ...).
pub type ResourceUse = BTreeMap<String, String>;

/// Filled during an evaluation when the caller asks for it; evaluations without one record
/// nothing and pay nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    /// Source text → canonical text of its value (`""` for null). A construct evaluated more
    /// than once keeps its last value.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "as_map")]
    pub evaluated: Vec<(Arc<str>, String)>,
    /// One entry per IMPACT call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<ResourceUse>,
    /// One entry per `#calculation` call, nested calls after their caller.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calculations: Vec<ResourceUse>,
    /// One entry per LOOKUP call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_datasets: Vec<ResourceUse>,
}

impl Audit {
    pub fn record(&mut self, key: &Arc<str>, value: String) {
        match self.evaluated.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.evaluated.push((key.clone(), value)),
        }
    }

    /// The evaluated entries as a map.
    pub fn evaluated_map(&self) -> BTreeMap<&str, &str> {
        self.evaluated
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_str()))
            .collect()
    }
}

fn as_map<S: serde::Serializer>(
    entries: &[(Arc<str>, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(entries.iter().map(|(k, v)| (k.as_ref(), v)))
}

/// Builds a resource-use entry from field pairs, leaving out absent ones.
pub(crate) fn resource_use<'a>(
    fields: impl IntoIterator<Item = (&'a str, Option<String>)>,
) -> ResourceUse {
    fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect()
}

/// The text under which a construct is recorded: its source with blank runs removed, as
/// formulas have always been keyed. A single blank survives, and so do blanks next to a comma
/// (`concat(  'a', 'b')` → `concat('a', 'b')`; `set :x   = 1` → `set :x= 1`).
pub fn source_key(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b' ' && bytes[i] != b'\t' {
            let c = source[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        let run = &source[start..i];
        let after_comma = start > 0 && bytes[start - 1] == b',';
        let before_comma = bytes.get(i) == Some(&b',');
        if after_comma {
            // The comma token takes the spaces after it; what follows a tab is a blank run of
            // its own.
            let spaces = run.len() - run.trim_start_matches(' ').len();
            out.push_str(&run[..spaces]);
            if &run[spaces..] == " " {
                out.push(' ');
            }
        } else if (before_comma && !run.contains('\t')) || run == " " {
            out.push_str(run);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_keys_drop_blank_runs() {
        assert_eq!(source_key("concat(  'a', 'b')"), "concat('a', 'b')");
        assert_eq!(source_key("set :ref_name   = 'X'"), "set :ref_name= 'X'");
        assert_eq!(source_key("'10' == 10"), "'10' == 10");
        assert_eq!(source_key("f(a ,  b)"), "f(a ,  b)");
        assert_eq!(source_key("a\t+ b"), "a+ b");
    }
}
