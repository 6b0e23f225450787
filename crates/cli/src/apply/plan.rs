//! The plan: each document resolved against the server (groups by path, users by email in
//! their group, resources by name in their group) and compared with what is there; then
//! carried out, kind by kind in dependency order.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sifr_domain::GroupPath;

use super::diff::{Change, changes};
use super::manifest::{Document, Kind};
use crate::client::resource::{self, ACTIVITIES, CALCULATIONS, DATASETS, METRICS, PIPELINES};
use crate::client::{Body, FORBIDDEN, NOT_FOUND, Session, datasets, exit_code, groups, users};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
}

/// What applying one document does.
pub struct Step {
    pub document: Document,
    pub action: Action,
    pub changes: Vec<Change>,
    /// The id of the resource it changes.
    pub id: Option<String>,
}

impl Step {
    /// The plan line's marker.
    pub fn marker(&self) -> char {
        match self.action {
            Action::Create => '+',
            Action::Update => '~',
            Action::Unchanged => '=',
        }
    }

    /// The step as the JSON plan shows it.
    pub fn json(&self) -> Value {
        let document = &self.document;
        let mut step = json!({
            "kind": document.kind.name(),
            "name": document.name,
            "group": document.group.to_string(),
            "action": self.action,
            "changes": self.changes,
        });
        if let Some(id) = &self.id {
            step["id"] = json!(id);
        }
        step
    }

    /// The fields an update sends: every top-level field with a change, as the manifest sets
    /// it.
    fn patch(&self) -> Map<String, Value> {
        let changed: HashSet<&str> = self.changes.iter().map(Change::top).collect();
        self.document
            .body
            .iter()
            .filter(|(key, _)| changed.contains(key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

/// The requests of a resource kind; groups and users have their own.
fn resource_kind(kind: Kind) -> anyhow::Result<&'static resource::Kind> {
    match kind {
        Kind::Impact => Ok(&ACTIVITIES),
        Kind::ReferenceDataset => Ok(&DATASETS),
        Kind::Calculation => Ok(&CALCULATIONS),
        Kind::Metric => Ok(&METRICS),
        Kind::Pipeline => Ok(&PIPELINES),
        Kind::Group | Kind::User => anyhow::bail!("a {kind} is not a versioned resource"),
    }
}

/// The names a document refers to among documents of its own kind, which must be applied
/// first: a metric's `outputMetrics`, the calculations a formula calls (`#name(`).
fn references(document: &Document) -> Vec<String> {
    match document.kind {
        Kind::Metric => document
            .body
            .get("outputMetrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        Kind::Calculation => {
            let formula = document
                .body
                .get("formula")
                .and_then(Value::as_str)
                .unwrap_or_default();
            formula
                .split('#')
                .skip(1)
                .filter_map(|rest| {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-'))
                        .collect();
                    rest[name.len()..]
                        .trim_start()
                        .starts_with('(')
                        .then(|| name.to_lowercase())
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Documents in the order they can be applied: by kind, groups parents first, and within a
/// kind what is referred to before what refers to it (else in manifest order; a cycle, which
/// the server refuses, stays in manifest order).
pub fn order(mut documents: Vec<Document>) -> Vec<Document> {
    documents.sort_by_key(|d| {
        let depth = if d.kind == Kind::Group {
            d.name.matches('/').count()
        } else {
            0
        };
        (d.kind, depth)
    });
    let mut runs: Vec<Vec<Document>> = Vec::new();
    for document in documents {
        match runs.last_mut() {
            Some(run) if run[0].kind == document.kind => run.push(document),
            _ => runs.push(vec![document]),
        }
    }
    let mut ordered = Vec::new();
    for mut run in runs {
        while !run.is_empty() {
            let waiting: HashSet<String> = run.iter().map(|d| d.name.to_lowercase()).collect();
            let ready = run
                .iter()
                .position(|d| {
                    let own = d.name.to_lowercase();
                    references(d)
                        .iter()
                        .all(|r| *r == own || !waiting.contains(r))
                })
                .unwrap_or(0);
            ordered.push(run.remove(ready));
        }
    }
    ordered
}

/// The server's view of a user, shaped as a manifest declares one for `group`.
fn user_view(user: &Value, group: &GroupPath) -> Value {
    json!({
        "role": user["groups"].get(group.as_str()),
        "tags": user["tags"],
        "defaultGroup": user["defaultGroup"],
    })
}

/// The step of a document given what the server holds (`None`: nothing yet) and its id;
/// `extra` are changes found outside the body (a dataset's file).
fn outcome(
    document: Document,
    current: Option<(Value, Option<String>)>,
    extra: Vec<Change>,
) -> Step {
    match current {
        None => Step {
            document,
            action: Action::Create,
            changes: Vec::new(),
            id: None,
        },
        Some((have, id)) => {
            let mut found = changes(&document.body, &have);
            found.extend(extra);
            Step {
                action: if found.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Update
                },
                document,
                changes: found,
                id,
            }
        }
    }
}

/// Resolves one document. `new_groups` are the groups the plan creates: nothing can exist in
/// them yet.
async fn resolve(
    session: &Session,
    document: Document,
    new_groups: &HashSet<String>,
) -> anyhow::Result<Step> {
    let group = document.group.to_string();
    if document.kind != Kind::Group && new_groups.contains(&group) {
        return Ok(outcome(document, None, Vec::new()));
    }
    match document.kind {
        Kind::Group => {
            let current = groups::find(session, &document.path()?).await?;
            Ok(outcome(document, current.map(|g| (g, None)), Vec::new()))
        }
        Kind::User => {
            // A user the group cannot see (403) holds no role in it either.
            let found = match users::find(session, Some(&group), &document.name).await {
                Ok(found) => found,
                Err(e) if exit_code(&e) == FORBIDDEN => None,
                Err(e) => return Err(e),
            };
            let current = found
                .filter(|user| user["groups"].get(&group).is_some())
                .map(|user| (user_view(&user, &document.group), None));
            Ok(outcome(document, current, Vec::new()))
        }
        kind => {
            let resource = resource_kind(kind)?;
            let Some(found) = resource.find(session, Some(&group), &document.name).await? else {
                return Ok(outcome(document, None, Vec::new()));
            };
            let id = found["id"]
                .as_str()
                .with_context(|| format!("the {} '{}' has no id", resource.noun, document.name))?
                .to_owned();
            let mut extra = Vec::new();
            if let Some(data) = &document.data {
                // A dataset still waiting for its upload has no file (404).
                let stored = match datasets::download(session, Some(&group), &id, None).await {
                    Ok(stored) => Some(stored),
                    Err(e) if exit_code(&e) == NOT_FOUND => None,
                    Err(e) => return Err(e),
                };
                if stored.as_ref() != Some(&data.bytes) {
                    let from = stored.map_or_else(
                        || "(no file)".to_owned(),
                        |stored| format!("{} bytes", stored.len()),
                    );
                    extra.push(Change {
                        field: "dataFile".into(),
                        from: Some(json!(from)),
                        to: json!(format!(
                            "{} ({} bytes)",
                            data.path.display(),
                            data.bytes.len()
                        )),
                    });
                }
            }
            Ok(outcome(document, Some((found, Some(id))), extra))
        }
    }
}

/// The plan of `documents` (already in application order).
pub async fn plan(session: &Session, documents: Vec<Document>) -> anyhow::Result<Vec<Step>> {
    let mut new_groups = HashSet::new();
    let mut steps = Vec::with_capacity(documents.len());
    for document in documents {
        let source = document.source.clone();
        let step = resolve(session, document, &new_groups)
            .await
            .with_context(|| format!("{source}: cannot compare it with the server"))?;
        if step.document.kind == Kind::Group && step.action == Action::Create {
            new_groups.insert(step.document.name.clone());
        }
        steps.push(step);
    }
    Ok(steps)
}

fn id_of(answer: &Value) -> Option<String> {
    answer["id"].as_str().map(str::to_owned)
}

/// Carries out one step; answers the id of what it created or changed.
pub async fn apply(session: &Session, step: &Step) -> anyhow::Result<Option<String>> {
    let document = &step.document;
    let group = document.group.as_str();
    let body = || Body(document.body.clone());
    match (document.kind, step.action) {
        (_, Action::Unchanged) => Ok(step.id.clone()),
        (Kind::Group, Action::Create) => {
            groups::create(session, &document.path()?, body()).await?;
            Ok(None)
        }
        (Kind::Group, Action::Update) => {
            let patch = Value::Object(step.patch());
            groups::update(session, &document.path()?, &patch).await?;
            Ok(None)
        }
        (Kind::User, action) => {
            let role = document
                .body
                .get("role")
                .and_then(Value::as_str)
                .context("a user needs a role")?;
            let patch = step.patch();
            if action == Action::Create || patch.contains_key("role") {
                users::grant(session, Some(group), &document.name, role, body()).await?;
            } else {
                users::update(session, Some(group), &document.name, &Value::Object(patch)).await?;
            }
            Ok(None)
        }
        (Kind::ReferenceDataset, action) => {
            let data = document.data.as_ref().map(|d| d.bytes.clone());
            let id = if action == Action::Create {
                let mut body = body();
                body.set("name", Some(document.name.as_str()));
                let created =
                    datasets::create(session, Some(group), body, data.unwrap_or_default()).await?;
                id_of(&created).context("the created dataset has no id")?
            } else {
                let id = step
                    .id
                    .clone()
                    .context("an update needs the dataset's id")?;
                let changed_file = step.changes.iter().any(|c| c.field == "dataFile");
                let patch = Body(step.patch());
                datasets::update(
                    session,
                    Some(group),
                    &id,
                    patch,
                    data.filter(|_| changed_file),
                )
                .await?;
                id
            };
            datasets::wait(session, Some(group), &id).await?;
            Ok(Some(id))
        }
        (kind, Action::Create) => {
            let mut body = body();
            body.set("name", Some(document.name.as_str()));
            let created = resource_kind(kind)?
                .create(session, Some(group), &body.into_value())
                .await?;
            Ok(id_of(&created))
        }
        (kind, Action::Update) => {
            let id = step
                .id
                .clone()
                .context("an update needs the resource's id")?;
            let updated = resource_kind(kind)?
                .update(session, Some(group), &id, &Value::Object(step.patch()))
                .await?;
            Ok(id_of(&updated))
        }
    }
}

/// How many steps of each action a plan has.
pub fn counts(steps: &[Step]) -> HashMap<Action, usize> {
    let mut counts = HashMap::new();
    for step in steps {
        *counts.entry(step.action).or_insert(0) += 1;
    }
    counts
}
