//! Tags: string key/value pairs on groups, users and resources. Keys are unique regardless of
//! case, values may be hierarchical (`Material/Metal/Steel`), and look-ups ignore case.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::ParseError;

/// The separator of hierarchical tag values.
pub const TAG_HIERARCHY: char = '/';

/// The tags a record carries, keys and values as given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
pub struct TagMap(BTreeMap<String, String>);

impl TagMap {
    pub fn get(&self, key: &str) -> Option<&str> {
        let key = key.to_lowercase();
        self.0
            .iter()
            .find(|(k, _)| k.to_lowercase() == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets the keys of `patch` that carry a value and removes those set to null or `""`. A key
    /// replaces any existing key that differs only in case.
    pub fn apply(&mut self, patch: &TagPatch) {
        for (key, value) in &patch.0 {
            let lower = key.to_lowercase();
            self.0
                .retain(|existing, _| existing.to_lowercase() != lower);
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                self.0.insert(key.clone(), value.to_owned());
            }
        }
    }

    /// `(key, value, value)` lower-cased where look-ups need it: one entry per tag.
    pub fn index_entries(&self) -> impl Iterator<Item = TagIndexEntry> + '_ {
        self.0.iter().map(|(k, v)| TagIndexEntry {
            key: k.to_lowercase(),
            value: v.clone(),
            value_lower: v.to_lowercase(),
        })
    }
}

impl<'de> Deserialize<'de> for TagMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let patch = TagPatch::deserialize(deserializer)?;
        let mut tags = TagMap::default();
        tags.apply(&patch);
        Ok(tags)
    }
}

/// One row of a tag index: the key and value as stores search them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagIndexEntry {
    pub key: String,
    pub value: String,
    pub value_lower: String,
}

/// A change to tags as a request carries it: a value sets the key; null or `""` removes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
pub struct TagPatch(BTreeMap<String, Option<String>>);

impl TagPatch {
    pub fn parse(entries: BTreeMap<String, Option<String>>) -> Result<Self, ParseError> {
        let mut seen = BTreeMap::new();
        for key in entries.keys() {
            if key.is_empty() {
                return Err(ParseError::new("Tag keys must not be empty."));
            }
            if let Some(previous) = seen.insert(key.to_lowercase(), key) {
                return Err(ParseError::new(format!(
                    "Tag keys '{previous}' and '{key}' differ only in case; tag keys are case-insensitive."
                )));
            }
        }
        Ok(Self(entries))
    }
}

impl<'de> Deserialize<'de> for TagPatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<String, Option<String>>::deserialize(deserializer)?;
        Self::parse(entries).map_err(serde::de::Error::custom)
    }
}

/// A `key:value` filter of a listing; it matches the value and, for hierarchical values, every
/// value below it (`type:Material/Plastic` matches `Material/Plastic/ABS`), ignoring case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagFilter {
    pub key: String,
    pub value: String,
}

impl TagFilter {
    /// Parses `key:value`, split at the first `:`; both parts are lower-cased.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        match input.split_once(':') {
            Some((key, value)) if !key.is_empty() && !value.is_empty() => Ok(Self {
                key: key.to_lowercase(),
                value: value.to_lowercase(),
            }),
            _ => Err(ParseError::new(format!(
                "Invalid tag filter '{input}': expected 'key:value'."
            ))),
        }
    }

    /// The prefix a lower-cased value below this filter's value starts with.
    pub fn child_prefix(&self) -> String {
        format!("{}{TAG_HIERARCHY}", self.value)
    }
}

/// One page of the distinct values of a tag key (`GET /tags/{key}`): lower-cased full value →
/// the last level of the value as first written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagValues {
    pub values: BTreeMap<String, String>,
    /// Set when the page is full: the last value, to pass as `fromValue` for the next page.
    pub last: Option<String>,
}

impl TagValues {
    /// Summarises stored values one level below `parent` (top level when `None`), after `from`
    /// (exclusive), at most `count` of them.
    pub fn summarize<'a>(
        stored: impl IntoIterator<Item = &'a str>,
        parent: Option<&str>,
        from: Option<&str>,
        count: Option<usize>,
    ) -> TagValues {
        let parent = parent
            .map(|p| p.trim_end_matches(TAG_HIERARCHY).to_lowercase())
            .filter(|p| !p.is_empty());
        let depth = parent
            .as_ref()
            .map_or(0, |p| p.split(TAG_HIERARCHY).count());
        let mut all = BTreeMap::new();
        for value in stored {
            let lower = value.to_lowercase();
            if let Some(parent) = &parent {
                let below = lower
                    .strip_prefix(parent.as_str())
                    .is_some_and(|rest| rest.starts_with(TAG_HIERARCHY));
                if !below {
                    continue;
                }
            }
            let levels: Vec<&str> = value.split(TAG_HIERARCHY).collect();
            let Some(label) = levels.get(depth) else {
                continue;
            };
            let key = levels[..=depth].join("/").to_lowercase();
            all.entry(key).or_insert_with(|| (*label).to_owned());
        }
        let mut page = TagValues::default();
        for (key, label) in all
            .into_iter()
            .filter(|(key, _)| from.is_none_or(|from| key.as_str() > from))
        {
            if count.is_some_and(|count| page.values.len() == count) {
                break;
            }
            page.values.insert(key, label);
        }
        if count.is_some_and(|count| page.values.len() == count && count > 0) {
            page.last = page.values.keys().next_back().cloned();
        }
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(json: &str) -> TagPatch {
        serde_json::from_str(json).expect("valid patch")
    }

    #[test]
    fn patches_set_replace_and_remove() {
        let mut tags: TagMap =
            serde_json::from_str(r#"{"Type":"Material","a":"1","gone":null}"#).expect("valid");
        assert_eq!(tags.iter().count(), 2);
        tags.apply(&patch(r#"{"type":"Fuel","a":"","b":"2"}"#));
        assert_eq!(tags.get("TYPE"), Some("Fuel"));
        assert_eq!(tags.get("a"), None);
        assert_eq!(
            serde_json::to_value(&tags).expect("serializes"),
            serde_json::json!({"b":"2","type":"Fuel"})
        );
        assert!(serde_json::from_str::<TagPatch>(r#"{"k":"1","K":"2"}"#).is_err());
        assert!(serde_json::from_str::<TagPatch>(r#"{"k":1}"#).is_err());
    }

    #[test]
    fn filters() {
        let filter = TagFilter::parse("Type:Material/Plastic").expect("valid");
        assert_eq!(
            (filter.key.as_str(), filter.value.as_str()),
            ("type", "material/plastic")
        );
        assert_eq!(filter.child_prefix(), "material/plastic/");
        assert_eq!(
            TagFilter::parse("url:http://x").expect("valid").value,
            "http://x"
        );
        assert!(TagFilter::parse("novalue").is_err() && TagFilter::parse(":v").is_err());
    }

    #[test]
    fn summaries_drill_down_and_page() {
        let stored = [
            "Material/Metal/Steel",
            "Material/Plastic",
            "material/metal/Iron",
            "Fuel",
        ];
        let top = TagValues::summarize(stored, None, None, None);
        assert_eq!(
            top.values.into_iter().collect::<Vec<_>>(),
            [
                ("fuel".into(), "Fuel".into()),
                ("material".into(), "Material".into())
            ]
        );
        let metal = TagValues::summarize(stored, Some("material/metal"), None, None);
        assert_eq!(
            metal.values.keys().collect::<Vec<_>>(),
            ["material/metal/iron", "material/metal/steel"]
        );
        assert_eq!(metal.values["material/metal/steel"], "Steel");
        let first = TagValues::summarize(stored, None, None, Some(1));
        assert_eq!(first.last.as_deref(), Some("fuel"));
        let second = TagValues::summarize(stored, None, first.last.as_deref(), Some(1));
        assert_eq!(second.values.keys().collect::<Vec<_>>(), ["material"]);
        let third = TagValues::summarize(stored, None, second.last.as_deref(), Some(1));
        assert!(third.values.is_empty() && third.last.is_none());
    }
}
