//! `sifr calculations`: reusable formulas that pipeline formulas call as `#name(...)`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::resource::{CALCULATIONS, DeleteCommand, GetCommand, ListCommand, show, typed_field};
use super::{Body, Command, Connection, Settings};

#[derive(Args, Debug)]
pub struct CalculationsArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: CalculationsCommand,
}

#[derive(Subcommand, Debug)]
enum CalculationsCommand {
    /// List the calculations of the group in context.
    List(ListCommand),
    /// Show a calculation.
    Get(GetCommand),
    /// Create a calculation in the group in context.
    Create {
        /// The name formulas call it by (`#name(...)`) [default: the file's `name`].
        name: Option<String>,
        #[command(flatten)]
        fields: Fields,
    },
    /// Write a new version of a calculation.
    Update {
        /// The id, or the name in the group in context.
        target: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete a calculation and all its versions.
    Delete(DeleteCommand),
}

/// The fields a command line can set; `--file` holds the whole body.
#[derive(Args, Debug)]
struct Fields {
    /// JSON or YAML file with the body; the flags below override its fields.
    #[arg(long, short = 'f', value_name = "FILE")]
    file: Option<PathBuf>,
    /// The formula, e.g. ':x*2'.
    #[arg(long)]
    formula: Option<String>,
    /// A one-line summary.
    #[arg(long)]
    summary: Option<String>,
    /// What it is, for people.
    #[arg(long)]
    description: Option<String>,
    /// A parameter, in call order: KEY:TYPE[:DESCRIPTION] (repeatable).
    #[arg(long = "parameter", value_name = "KEY:TYPE[:DESCRIPTION]")]
    parameters: Vec<String>,
    /// The result (the calculation's output): NAME:TYPE[:DESCRIPTION].
    #[arg(long, value_name = "NAME:TYPE[:DESCRIPTION]")]
    result: Option<String>,
    /// A tag, key=value (repeatable; key= removes it on update).
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    tags: Vec<String>,
}

impl Fields {
    fn body(&self) -> anyhow::Result<Body> {
        let mut body = Body::from_file(self.file.as_deref())?;
        body.set("formula", self.formula.clone());
        body.set("summary", self.summary.clone());
        body.set("description", self.description.clone());
        if !self.parameters.is_empty() {
            let parameters = self
                .parameters
                .iter()
                .enumerate()
                .map(|(index, spec)| {
                    let (key, kind, description) = typed_field(spec, "--parameter")?;
                    Ok(json!({"index": index, "key": key, "type": kind, "description": description}))
                })
                .collect::<anyhow::Result<Vec<Value>>>()?;
            body.set("parameters", Some(parameters));
        }
        if let Some(spec) = &self.result {
            let (name, kind, description) = typed_field(spec, "--result")?;
            body.set(
                "outputs",
                Some(json!([{"name": name, "type": kind, "description": description}])),
            );
        }
        body.tags(&self.tags)?;
        Ok(body)
    }
}

impl Command for CalculationsArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let kind = &CALCULATIONS;
        match self.command {
            CalculationsCommand::List(list) => list.run(kind, &session).await,
            CalculationsCommand::Get(get) => get.run(kind, &session).await,
            CalculationsCommand::Create { name, fields } => {
                let mut body = fields.body()?;
                body.set("name", name);
                body.require("name", "NAME")?;
                body.require("formula", "--formula")?;
                body.require("summary", "--summary")?;
                body.require("outputs", "--result")?;
                let created = kind.create(&session, None, &body.into_value()).await?;
                show(kind, &session, &created)
            }
            CalculationsCommand::Update { target, fields } => {
                let id = kind.id(&session, &target).await?;
                let updated = kind
                    .update(&session, None, &id, &fields.body()?.into_value())
                    .await?;
                show(kind, &session, &updated)
            }
            CalculationsCommand::Delete(delete) => delete.run(kind, &session).await,
        }
    }
}
