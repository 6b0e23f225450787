//! `sifr`: the one binary. It parses the command line and hands each command to its module;
//! the work itself lives in the library crates.

mod eval;
mod migrate;
mod run;
mod serve;
mod tenant;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sifr",
    version,
    about = "Carbon accounting engine: formulas, pipelines, metrics and audit in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate a formula, or run a conformance corpus of formulas.
    Eval(eval::EvalArgs),
    /// Run the HTTP server (SIF's REST API).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations to the catalog and every tenant.
    Migrate(migrate::MigrateArgs),
    /// Create, list or delete tenants.
    Tenant(tenant::TenantArgs),
    /// Run a pipeline over a CSV file and write its results as files (no server, no database).
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Tenant(args) => tenant::run(args),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
