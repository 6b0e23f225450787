//! `sifr eval`: evaluate one formula, or a corpus of formula vectors.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The formula to evaluate.
    formula: Option<String>,
}

pub fn run(_args: EvalArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet available")
}
