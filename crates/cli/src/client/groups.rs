//! `sifr groups`: the group tree of a tenant. A group is named by its path (`/acme/emea`), or
//! by its name under the group in context. Requests about a group are made from its parent,
//! which is where SIF lets admins manage it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sifr_domain::{GroupName, GroupPath};

use super::http::ClientError;
use super::output::{Column, column};
use super::{Body, Command, Connection, ListArgs, Session, Settings, list_all};

const COLUMNS: &[Column] = &[
    column("ID", "id"),
    column("NAME", "name"),
    column("STATE", "state"),
    column("DESCRIPTION", "description"),
];

#[derive(Args, Debug)]
pub struct GroupsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: GroupsCommand,
}

#[derive(Subcommand, Debug)]
enum GroupsCommand {
    /// List the sub-groups of the group in context.
    List(ListArgs),
    /// Show a group with its configuration.
    Get {
        /// The group's path, or its name under the group in context.
        #[arg(value_name = "GROUP")]
        path: String,
    },
    /// Create a group.
    Create {
        /// The new group's path (/acme/emea), or its name under the group in context.
        #[arg(value_name = "GROUP")]
        path: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Change a group's description, state, tags or configuration.
    Update {
        /// The group's path, or its name under the group in context.
        #[arg(value_name = "GROUP")]
        path: String,
        /// active or disabled (a group must be disabled before it is deleted).
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete a disabled group that has no sub-groups and no users.
    Delete {
        /// The group's path, or its name under the group in context.
        #[arg(value_name = "GROUP")]
        path: String,
    },
}

#[derive(Args, Debug)]
struct Fields {
    /// JSON or YAML file with the body (description, tags, configuration); the flags below
    /// override its fields.
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// What it is, for people.
    #[arg(long)]
    description: Option<String>,
    /// A tag, key=value (repeatable; key= removes it on update).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
}

impl Fields {
    fn body(&self) -> anyhow::Result<Body> {
        let mut body = Body::from_file(self.file.as_deref())?;
        body.set("description", self.description.clone());
        body.tags(&self.tags)?;
        Ok(body)
    }
}

/// The group a command names: a path, or a name under the group in context.
fn path(session: &Session, raw: &str) -> anyhow::Result<GroupPath> {
    if raw.starts_with('/') {
        return Ok(GroupPath::parse(raw)?);
    }
    Ok(session.group().child(&GroupName::parse(raw)?)?)
}

/// Where requests about `group` are made from: its parent (the root for the root).
fn context(group: &GroupPath) -> GroupPath {
    group.parent().unwrap_or_else(GroupPath::root)
}

/// The group at `path`, if it exists.
pub async fn find(session: &Session, path: &GroupPath) -> anyhow::Result<Option<Value>> {
    let answer = session
        .client
        .call(Method::GET, &["accessManagement", "groups", path.as_str()])
        .group(context(path).as_str())
        .value()
        .await;
    match answer {
        Ok(group) => Ok(Some(group)),
        Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Creates the group at `path` with the fields of `body` (its name is set here).
pub async fn create(session: &Session, path: &GroupPath, mut body: Body) -> anyhow::Result<Value> {
    let name = path
        .as_str()
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .context("the root group exists in every tenant; it cannot be created")?;
    body.set("name", Some(name));
    Ok(session
        .client
        .call(Method::POST, &["accessManagement", "groups"])
        .group(context(path).as_str())
        .json(&body.into_value())
        .value()
        .await?)
}

pub async fn update(session: &Session, path: &GroupPath, body: &Value) -> anyhow::Result<Value> {
    Ok(session
        .client
        .call(
            Method::PATCH,
            &["accessManagement", "groups", path.as_str()],
        )
        .group(context(path).as_str())
        .json(body)
        .value()
        .await?)
}

impl Command for GroupsArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let format = session.format;
        match self.command {
            GroupsCommand::List(filters) => {
                let groups = list_all(
                    &session,
                    &["accessManagement", "groups"],
                    "groups",
                    &filters,
                    None,
                    None,
                )
                .await?;
                format.list(&groups, COLUMNS)
            }
            GroupsCommand::Get { path: raw } => {
                let path = path(&session, &raw)?;
                match find(&session, &path).await? {
                    Some(found) => format.one(&found, COLUMNS),
                    None => Err(ClientError::NotFound(format!("Group '{path}' not found.")).into()),
                }
            }
            GroupsCommand::Create { path: raw, fields } => {
                let path = path(&session, &raw)?;
                let created = create(&session, &path, fields.body()?).await?;
                format.one(&created, COLUMNS)
            }
            GroupsCommand::Update {
                path: raw,
                state,
                fields,
            } => {
                let path = path(&session, &raw)?;
                let mut body = fields.body()?;
                body.set("state", state);
                let updated = update(&session, &path, &body.into_value()).await?;
                format.one(&updated, COLUMNS)
            }
            GroupsCommand::Delete { path: raw } => {
                let path = path(&session, &raw)?;
                session.confirm(&format!("delete group '{path}'"))?;
                session
                    .client
                    .call(
                        Method::DELETE,
                        &["accessManagement", "groups", path.as_str()],
                    )
                    .group(context(&path).as_str())
                    .send()
                    .await?;
                format.note(&format!("Deleted group '{path}'."))
            }
        }
    }
}
