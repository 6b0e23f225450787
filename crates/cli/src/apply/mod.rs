//! `sifr apply`: brings a server in line with manifests. Every manifest is read and checked
//! first; then each document is compared with the server and the plan printed (create,
//! update with the fields that change, or unchanged); then, unless `--dry-run`, the changes
//! are made in dependency order. Applying the same manifests again finds nothing to change
//! and sends nothing.

mod diff;
mod manifest;
mod plan;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

use self::plan::{Action, Step};
use crate::client::output::{Format, emit};
use crate::client::{Command, Connection, Session, Settings};

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    connection: Connection,
    /// A manifest file, or a folder whose .yaml, .yml and .json files are read (repeatable).
    #[arg(short = 'f', long = "file", required = true, value_name = "DIR|FILE")]
    paths: Vec<PathBuf>,
    /// Show the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// A value in a plan line: JSON, cut when long.
fn shown(value: Option<&Value>) -> String {
    let text = value.map_or_else(|| "(none)".to_owned(), Value::to_string);
    if text.chars().count() > 100 {
        let mut short: String = text.chars().take(99).collect();
        short.push('…');
        short
    } else {
        text
    }
}

/// `2 to create, 1 to update, 4 unchanged`, with `words` for the three actions.
fn summary(steps: &[Step], words: [&str; 3]) -> String {
    let counts = plan::counts(steps);
    let count = |action| counts.get(&action).copied().unwrap_or(0);
    format!(
        "{} {}, {} {}, {} {}",
        count(Action::Create),
        words[0],
        count(Action::Update),
        words[1],
        count(Action::Unchanged),
        words[2]
    )
}

const PLANNED: [&str; 3] = ["to create", "to update", "unchanged"];
const DONE: [&str; 3] = ["created", "updated", "unchanged"];

fn print_plan(steps: &[Step]) -> anyhow::Result<()> {
    let mut text = format!("Plan: {}.\n", summary(steps, PLANNED));
    for step in steps {
        text.push_str(&format!("{} {}\n", step.marker(), step.document.label()));
        for change in &step.changes {
            text.push_str(&format!(
                "    {}: {} -> {}\n",
                change.field,
                shown(change.from.as_ref()),
                shown(Some(&change.to))
            ));
        }
    }
    emit(&text)
}

fn plan_json(steps: &[Step], dry_run: bool) -> Value {
    json!({
        "dryRun": dry_run,
        "plan": steps.iter().map(Step::json).collect::<Vec<_>>(),
    })
}

/// Makes the changes of a plan in its order; `done` hears of each change made.
async fn carry_out(
    session: &Session,
    steps: &mut [Step],
    mut done: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let pending = steps
        .iter()
        .filter(|s| s.action != Action::Unchanged)
        .count();
    let mut made = 0;
    for step in steps {
        if step.action == Action::Unchanged {
            continue;
        }
        let verb = if step.action == Action::Create {
            "create"
        } else {
            "update"
        };
        step.id = plan::apply(session, step).await.with_context(|| {
            format!(
                "{}: cannot {verb} {} ({made} of {pending} changes were made before this one)",
                step.document.source,
                step.document.label()
            )
        })?;
        made += 1;
        done(&format!("{verb}d {}", step.document.label()))?;
    }
    Ok(())
}

/// Applies the manifests under `paths` without printing anything; answers what was done
/// (`3 created, 0 updated, 11 unchanged`).
pub async fn apply_quietly(session: &Session, paths: &[PathBuf]) -> anyhow::Result<String> {
    let documents = manifest::load(paths, session.group())?;
    let mut steps = plan::plan(session, plan::order(documents)).await?;
    carry_out(session, &mut steps, |_| Ok(())).await?;
    Ok(summary(&steps, DONE))
}

impl Command for ApplyArgs {
    fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn run(self, settings: Settings) -> anyhow::Result<()> {
        let session = settings.session().await?;
        let format = session.format;
        let documents = manifest::load(&self.paths, session.group())?;
        let mut steps = plan::plan(&session, plan::order(documents)).await?;
        if format == Format::Table {
            print_plan(&steps)?;
        }
        let pending = steps
            .iter()
            .filter(|s| s.action != Action::Unchanged)
            .count();
        if self.dry_run || pending == 0 {
            if format == Format::Json {
                emit(&format!("{}\n", plan_json(&steps, self.dry_run)))?;
            }
            let note = if pending == 0 {
                "Nothing to change."
            } else {
                "Dry run: nothing was changed."
            };
            return format.note(note);
        }
        carry_out(&session, &mut steps, |line| format.note(line)).await?;
        if format == Format::Json {
            emit(&format!("{}\n", plan_json(&steps, false)))?;
        }
        format.note(&format!("Applied: {}.", summary(&steps, DONE)))
    }
}
