//! The operations every versioned SIF resource shares (activities, reference datasets,
//! calculations, pipelines, metrics), written once over a [`Kind`], and the `list`, `get` and
//! `delete` subcommands built on them. A resource is named by its id or by its name in the
//! group in context.

use anyhow::{Context as _, bail};
use clap::Args;
use reqwest::Method;
use serde_json::Value;
use sifr_domain::ResourceId;

use super::http::ClientError;
use super::output::{Column, column};
use super::{ListArgs, Session, list_all};

/// A kind of versioned resource: where it lives and how it is shown.
pub struct Kind {
    /// The resource in messages: `calculation`.
    pub noun: &'static str,
    /// The module prefix and the resource's path segment: `["calculations", "calculations"]`.
    pub path: [&'static str; 2],
    /// The list's field in listing answers.
    pub list_key: &'static str,
    pub columns: &'static [Column],
}

pub const ACTIVITIES: Kind = Kind {
    noun: "activity",
    path: ["impacts", "activities"],
    list_key: "activities",
    columns: &[
        column("ID", "id"),
        column("NAME", "name"),
        column("VERSION", "version"),
        column("STATE", "state"),
        column("IMPACTS", "impacts"),
        column("DESCRIPTION", "description"),
    ],
};

pub const DATASETS: Kind = Kind {
    noun: "reference dataset",
    path: ["referenceDatasets", "referenceDatasets"],
    list_key: "referenceDatasets",
    columns: &[
        column("ID", "id"),
        column("NAME", "name"),
        column("VERSION", "version"),
        column("STATE", "state"),
        column("STATUS", "status"),
        column("HEADERS", "datasetHeaders"),
    ],
};

pub const CALCULATIONS: Kind = Kind {
    noun: "calculation",
    path: ["calculations", "calculations"],
    list_key: "calculations",
    columns: &[
        column("ID", "id"),
        column("NAME", "name"),
        column("VERSION", "version"),
        column("STATE", "state"),
        column("FORMULA", "formula"),
    ],
};

pub const PIPELINES: Kind = Kind {
    noun: "pipeline",
    path: ["pipelines", "pipelines"],
    list_key: "pipelines",
    columns: &[
        column("ID", "id"),
        column("NAME", "name"),
        column("VERSION", "version"),
        column("STATE", "state"),
        column("TYPE", "type"),
    ],
};

pub const METRICS: Kind = Kind {
    noun: "metric",
    path: ["pipelines", "metrics"],
    list_key: "metrics",
    columns: &[
        column("ID", "id"),
        column("NAME", "name"),
        column("VERSION", "version"),
        column("AGGREGATION", "aggregationType"),
        column("OUTPUT METRICS", "outputMetrics"),
    ],
};

impl Kind {
    /// The path of the resource `id`, followed by `rest`.
    pub fn segments<'a>(&'a self, id: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
        let mut segments = vec![self.path[0], self.path[1], id];
        segments.extend_from_slice(rest);
        segments
    }

    /// The resource named `name` in `group` (the group in context when `None`), if any.
    pub async fn find(
        &self,
        session: &Session,
        group: Option<&str>,
        name: &str,
    ) -> anyhow::Result<Option<Value>> {
        let mut found = list_all(
            session,
            &self.path,
            self.list_key,
            &ListArgs::default(),
            Some(name),
            group,
        )
        .await?;
        Ok(found.pop())
    }

    /// The id of the resource named by `target`: an id as it is, else a name in the group in
    /// context.
    pub async fn id(&self, session: &Session, target: &str) -> anyhow::Result<String> {
        if ResourceId::parse(target).is_ok() {
            return Ok(target.to_owned());
        }
        match self.find(session, None, target).await? {
            Some(found) => found["id"]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("the {} named '{target}' has no id", self.noun)),
            None => Err(ClientError::NotFound(format!(
                "no {} named '{target}' in group '{}'",
                self.noun,
                session.group()
            ))
            .into()),
        }
    }

    /// Like [`Kind::id`], but a name may also be that of a resource of an ancestor of the group
    /// in context (the nearest), as when reading what a pipeline of a parent group stored here.
    pub async fn inherited_id(&self, session: &Session, target: &str) -> anyhow::Result<String> {
        if ResourceId::parse(target).is_ok() {
            return Ok(target.to_owned());
        }
        let from_here_up = ListArgs {
            parents: true,
            ..ListArgs::default()
        };
        let found = list_all(
            session,
            &self.path,
            self.list_key,
            &from_here_up,
            Some(target),
            None,
        )
        .await?;
        // The nearest group has the longest path.
        let depth = |item: &Value| item["groups"][0].as_str().map_or(0, str::len);
        match found.iter().max_by_key(|item| depth(item)) {
            Some(nearest) => nearest["id"]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("the {} named '{target}' has no id", self.noun)),
            None => Err(ClientError::NotFound(format!(
                "no {} named '{target}' in group '{}' or above it",
                self.noun,
                session.group()
            ))
            .into()),
        }
    }

    pub async fn get(&self, session: &Session, id: &str) -> anyhow::Result<Value> {
        Ok(session
            .client
            .call(Method::GET, &self.segments(id, &[]))
            .value()
            .await?)
    }

    /// Creates a resource in `group` (the group in context when `None`).
    pub async fn create(
        &self,
        session: &Session,
        group: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let mut call = session.client.call(Method::POST, &self.path).json(body);
        if let Some(group) = group {
            call = call.group(group);
        }
        Ok(call.value().await?)
    }

    /// Writes a new version of resource `id`.
    pub async fn update(
        &self,
        session: &Session,
        group: Option<&str>,
        id: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let mut call = session
            .client
            .call(Method::PATCH, &self.segments(id, &[]))
            .json(body);
        if let Some(group) = group {
            call = call.group(group);
        }
        Ok(call.value().await?)
    }
}

/// `list`: the resources of the group in context.
#[derive(Args, Debug)]
pub struct ListCommand {
    #[command(flatten)]
    filters: ListArgs,
    /// Only the resource of this name.
    #[arg(long)]
    name: Option<String>,
}

impl ListCommand {
    pub async fn run(&self, kind: &Kind, session: &Session) -> anyhow::Result<()> {
        let items = list_all(
            session,
            &kind.path,
            kind.list_key,
            &self.filters,
            self.name.as_deref(),
            None,
        )
        .await?;
        session.format.list(&items, kind.columns)
    }
}

/// `get`: one resource, by id or name.
#[derive(Args, Debug)]
pub struct GetCommand {
    /// The id, or the name in the group in context.
    target: String,
    /// That version rather than the latest.
    #[arg(long)]
    version: Option<u32>,
}

impl GetCommand {
    pub async fn run(&self, kind: &Kind, session: &Session) -> anyhow::Result<()> {
        let id = kind.id(session, &self.target).await?;
        let item = match self.version {
            Some(version) => {
                let version = version.to_string();
                session
                    .client
                    .call(Method::GET, &kind.segments(&id, &["versions", &version]))
                    .value()
                    .await?
            }
            None => kind.get(session, &id).await?,
        };
        session.format.one(&item, kind.columns)
    }
}

/// `delete`: removes a resource and all its versions.
#[derive(Args, Debug)]
pub struct DeleteCommand {
    /// The id, or the name in the group in context.
    target: String,
}

impl DeleteCommand {
    pub async fn run(&self, kind: &Kind, session: &Session) -> anyhow::Result<()> {
        let id = kind.id(session, &self.target).await?;
        session.confirm(&format!("delete {} '{}'", kind.noun, self.target))?;
        session
            .client
            .call(Method::DELETE, &kind.segments(&id, &[]))
            .send()
            .await?;
        session
            .format
            .note(&format!("Deleted {} '{}' ({id}).", kind.noun, self.target))
    }
}

/// Prints a created or changed resource.
pub fn show(kind: &Kind, session: &Session, item: &Value) -> anyhow::Result<()> {
    session.format.one(item, kind.columns)
}

/// Splits `KEY:TYPE[:DESCRIPTION]`, the short form of parameters and outputs.
pub fn typed_field(spec: &str, flag: &str) -> anyhow::Result<(String, String, String)> {
    let mut parts = spec.splitn(3, ':');
    let key = parts.next().unwrap_or_default();
    let Some(kind) = parts.next().filter(|k| !k.is_empty() && !key.is_empty()) else {
        bail!("{flag} {spec}: expected NAME:TYPE or NAME:TYPE:DESCRIPTION");
    };
    let description = parts.next().unwrap_or(key);
    Ok((key.to_owned(), kind.to_owned(), description.to_owned()))
}
