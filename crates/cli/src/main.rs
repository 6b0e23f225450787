//! `sifr`: the one binary. It parses the command line and hands each command to its module;
//! the work itself lives in the library crates.

mod apply;
mod client;
mod demo;
mod eval;
mod memory;
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
    /// Start a server seeded with a demo organisation and a year of sample bills, and show its
    /// KPIs.
    Demo(demo::DemoArgs),
    /// Run the HTTP server (SIF's REST API).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations to the catalog and every tenant.
    Migrate(migrate::MigrateArgs),
    /// Create, list or delete tenants.
    Tenant(tenant::TenantArgs),
    /// Run a pipeline over a CSV file and write its results as files (no server, no database).
    Run(run::RunArgs),
    /// Log in to a server and keep the token in a profile.
    Login(client::login::LoginArgs),
    /// Forget the token kept in a profile.
    Logout(client::login::LogoutArgs),
    /// Groups: list, get, create, update, delete.
    Groups(client::groups::GroupsArgs),
    /// Users and their roles in groups: list, get, create (grant), update, delete (revoke).
    Users(client::users::UsersArgs),
    /// Activities and their impacts (emission factors): list, get, create, update, delete, import.
    Impacts(client::impacts::ImpactsArgs),
    /// Reference datasets (CSV lookup tables): list, get, create, update, delete, download.
    Datasets(client::datasets::DatasetsArgs),
    /// Calculations (reusable formulas): list, get, create, update, delete.
    Calculations(client::calculations::CalculationsArgs),
    /// Pipelines: list, get, create, update, delete, validate (dry run).
    Pipelines(client::pipelines::PipelinesArgs),
    /// Metric (KPI) definitions: list, get, create, update, delete; and their values.
    Metrics(client::metrics::MetricsArgs),
    /// Pipeline executions: run a pipeline over a CSV file or inline rows, list, get, errors.
    #[command(alias = "executions")]
    Execution(client::executions::ExecutionArgs),
    /// The activities a pipeline stored, and the audit trail of one.
    Activities(client::activities::ActivitiesArgs),
    /// Create or update resources from YAML or JSON manifests, showing the plan first.
    Apply(apply::ApplyArgs),
}

fn main() -> ExitCode {
    memory::one_arena_per_core();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Tenant(args) => tenant::run(args),
        Command::Run(args) => run::run(args),
        Command::Login(args) => client::run(args),
        Command::Logout(args) => client::run(args),
        Command::Groups(args) => client::run(args),
        Command::Users(args) => client::run(args),
        Command::Impacts(args) => client::run(args),
        Command::Datasets(args) => client::run(args),
        Command::Calculations(args) => client::run(args),
        Command::Pipelines(args) => client::run(args),
        Command::Metrics(args) => client::run(args),
        Command::Execution(args) => client::run(args),
        Command::Activities(args) => client::run(args),
        Command::Apply(args) => client::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
