//! `sifr users`: who may do what where. Creating a user grants an email a role in the group in
//! context (inviting the user when unknown); deleting revokes that grant.

use anyhow::bail;
use clap::{Args, Subcommand};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::http::ClientError;
use super::login::stdin_line;
use super::output::{Column, column};
use super::{Body, Command, Connection, ListArgs, Session, Settings, list_all};

const COLUMNS: &[Column] = &[
    column("EMAIL", "email"),
    column("STATE", "state"),
    column("GROUPS", "groups"),
    column("DEFAULT GROUP", "defaultGroup"),
];

#[derive(Args, Debug)]
pub struct UsersArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// List the users granted the group in context.
    List(ListArgs),
    /// Show a user with the roles they hold.
    Get { email: String },
    /// Grant a user a role in the group in context, inviting the user when unknown.
    #[command(visible_alias = "grant")]
    Create {
        email: String,
        /// reader, contributor or admin.
        #[arg(long)]
        role: String,
        /// A new user's password, from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        fields: Fields,
    },
    /// Change a user's state, default group, tags or password.
    Update {
        email: String,
        /// active, invited or disabled.
        #[arg(long)]
        state: Option<String>,
        /// A new password, from the first line of standard input (your own only).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        fields: Fields,
    },
    /// Revoke a user's role in the group in context; a user with no group left is removed.
    #[command(visible_alias = "revoke")]
    Delete { email: String },
}

#[derive(Args, Debug)]
struct Fields {
    /// The group the user works in by default.
    #[arg(long, value_name = "GROUP")]
    default_group: Option<String>,
    /// A tag, key=value (repeatable; key= removes it on update).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
}

impl Fields {
    fn body(&self, password_stdin: bool) -> anyhow::Result<Body> {
        let mut body = Body(serde_json::Map::new());
        body.set("defaultGroup", self.default_group.clone());
        body.tags(&self.tags)?;
        if password_stdin {
            body.set("password", Some(stdin_line()?));
        }
        Ok(body)
    }
}

/// The user `email`, if the group in context (`group`, else the session's) may see them.
pub async fn find(
    session: &Session,
    group: Option<&str>,
    email: &str,
) -> anyhow::Result<Option<Value>> {
    let mut call = session
        .client
        .call(Method::GET, &["accessManagement", "users", email]);
    if let Some(group) = group {
        call = call.group(group);
    }
    match call.value().await {
        Ok(user) => Ok(Some(user)),
        Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Grants `email` the `role` in `group` with the other fields of `body`.
pub async fn grant(
    session: &Session,
    group: Option<&str>,
    email: &str,
    role: &str,
    mut body: Body,
) -> anyhow::Result<Value> {
    body.set("email", Some(email));
    body.set("role", Some(role));
    let mut call = session
        .client
        .call(Method::POST, &["accessManagement", "users"])
        .json(&body.into_value());
    if let Some(group) = group {
        call = call.group(group);
    }
    Ok(call.value().await?)
}

/// Changes a user; the server answers nothing, so the user is read back.
pub async fn update(
    session: &Session,
    group: Option<&str>,
    email: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut call = session
        .client
        .call(Method::PATCH, &["accessManagement", "users", email])
        .json(body);
    if let Some(group) = group {
        call = call.group(group);
    }
    call.send().await?;
    match find(session, group, email).await? {
        Some(user) => Ok(user),
        None => Ok(json!({"email": email})),
    }
}

impl Command for UsersArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let format = session.format;
        match self.command {
            UsersCommand::List(filters) => {
                let users = list_all(
                    &session,
                    &["accessManagement", "users"],
                    "users",
                    &filters,
                    None,
                    None,
                )
                .await?;
                format.list(&users, COLUMNS)
            }
            UsersCommand::Get { email } => match find(&session, None, &email).await? {
                Some(user) => format.one(&user, COLUMNS),
                None => Err(ClientError::NotFound(format!("User '{email}' not found.")).into()),
            },
            UsersCommand::Create {
                email,
                role,
                password_stdin,
                fields,
            } => {
                let user =
                    grant(&session, None, &email, &role, fields.body(password_stdin)?).await?;
                format.one(&user, COLUMNS)
            }
            UsersCommand::Update {
                email,
                state,
                password_stdin,
                fields,
            } => {
                let mut body = fields.body(password_stdin)?;
                body.set("state", state);
                if body.0.is_empty() {
                    bail!(
                        "nothing to change: give --state, --default-group, --tag or --password-stdin"
                    );
                }
                let user = update(&session, None, &email, &body.into_value()).await?;
                format.one(&user, COLUMNS)
            }
            UsersCommand::Delete { email } => {
                session.confirm(&format!(
                    "revoke the role of user '{email}' in group '{}'",
                    session.group()
                ))?;
                session
                    .client
                    .call(Method::DELETE, &["accessManagement", "users", &email])
                    .send()
                    .await?;
                format.note(&format!(
                    "Revoked the role of user '{email}' in group '{}'.",
                    session.group()
                ))
            }
        }
    }
}
