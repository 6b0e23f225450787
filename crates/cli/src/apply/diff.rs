//! What a manifest would change on the server: its fields compared with the server's, leaf by
//! leaf. Only what the manifest sets counts: fields it leaves out, keys the server added to an
//! object (defaults, server-kept fields) and tags set elsewhere are not changes.

use std::str::FromStr as _;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};

/// One field that differs: its path (`transformer.transforms[2].formula`), the server's value
/// (none when missing) and the manifest's.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub field: String,
    pub from: Option<Value>,
    pub to: Value,
}

impl Change {
    /// The top-level field the change lies in.
    pub fn top(&self) -> &str {
        self.field.split(['.', '[']).next().unwrap_or(&self.field)
    }
}

/// The fields of `want` whose values differ from `have`'s.
pub fn changes(want: &Map<String, Value>, have: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    for (key, value) in want {
        walk(key.clone(), value, member(have, key), &mut out);
    }
    out
}

/// An object's member by key; keys the server lower-cases (impacts, components) or that differ
/// only in case (tags) are found too.
fn member<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn walk(path: String, want: &Value, have: Option<&Value>, out: &mut Vec<Change>) {
    match (want, have) {
        (Value::Object(want), Some(have @ Value::Object(_))) => {
            for (key, value) in want {
                walk(format!("{path}.{key}"), value, member(have, key), out);
            }
        }
        (Value::Object(want), None) => {
            for (key, value) in want {
                walk(format!("{path}.{key}"), value, None, out);
            }
        }
        (Value::Array(want), Some(Value::Array(have))) if want.len() == have.len() => {
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                walk(format!("{path}[{i}]"), w, Some(h), out);
            }
        }
        // A null asks for the field's absence (a tag to remove).
        (Value::Null, None | Some(Value::Null)) => {}
        (want, Some(have)) if same(want, have) => {}
        (want, have) => out.push(Change {
            field: path,
            from: have.cloned(),
            to: want.clone(),
        }),
    }
}

/// Plain values compared; numbers by value (`1.50` is `1.5`).
fn same(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.to_string(), b.to_string());
            match (decimal(&a), decimal(&b)) {
                (Some(a), Some(b)) => a == b,
                _ => a == b,
            }
        }
        _ => want == have,
    }
}

fn decimal(text: &str) -> Option<Decimal> {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(changes: &[Change]) -> Vec<&str> {
        changes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn only_the_fields_the_manifest_sets_count() {
        let want = json!({"description": "gas", "tags": {"scope": "1"}});
        let have = json!({"id": "x", "description": "gas", "tags": {"Scope": "1", "other": "y"}, "version": 3});
        assert!(changes(want.as_object().unwrap(), &have).is_empty());
    }

    #[test]
    fn changes_are_named_down_to_the_leaf() {
        let want = json!({"transformer": {"transforms": [
            {"index": 0, "formula": ":a"}, {"index": 1, "formula": ":b*2"}
        ]}, "summary": "new"});
        let have = json!({"transformer": {"transforms": [
            {"index": 0, "formula": ":a", "outputs": []}, {"index": 1, "formula": ":b"}
        ]}, "summary": "old"});
        let found = changes(want.as_object().unwrap(), &have);
        assert_eq!(
            fields(&found),
            ["transformer.transforms[1].formula", "summary"]
        );
        assert_eq!(found[0].from, Some(json!(":b")));
        assert_eq!(found[0].to, json!(":b*2"));
        assert_eq!(found[0].top(), "transformer");
    }

    #[test]
    fn numbers_compare_by_value_and_lists_by_length() {
        let want: Value = serde_json::from_str(r#"{"v": 1.50, "list": [1, 2, 3]}"#).unwrap();
        let have: Value = serde_json::from_str(r#"{"v": 1.5, "list": [1, 2]}"#).unwrap();
        let found = changes(want.as_object().unwrap(), &have);
        assert_eq!(fields(&found), ["list"]);
    }

    #[test]
    fn a_null_removes_a_key_that_is_there() {
        let want = json!({"tags": {"gone": null, "kept": null}});
        let have = json!({"tags": {"gone": "x"}});
        let found = changes(want.as_object().unwrap(), &have);
        assert_eq!(fields(&found), ["tags.gone"]);
        let missing = changes(want.as_object().unwrap(), &json!({}));
        assert!(missing.is_empty(), "{missing:?}");
    }
}
