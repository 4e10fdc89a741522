//! The command-line face (clap). Each subcommand lives in its own file with an
//! `Args` struct and a `run(args) -> ExitCode`; this file only dispatches.
//!
//! Exit status: 0 success (a probe is up), 1 runtime failure (a probe is down),
//! 2 bad input (configuration, arguments, timeline).

mod check_config;
mod completions;
mod db;
mod demo;
mod incident;
mod init;
mod man;
mod plans;
mod probe;
mod report;
mod run;
mod sla;
mod verify;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for bad input: a configuration, an argument or a file that does not parse.
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "slawatch",
    version,
    about = "Watch hosting sites and mail services, keep the evidence of every outage, \
             and compute what each SLA owes.",
    after_help = "Start with:\n  \
                  See the whole thing in 20 seconds: a provider failing, the outages, a report:\n    \
                  slawatch demo --fast\n  \
                  Write a starter configuration for your site and mailbox:\n    \
                  slawatch init --site https://shop.example.test/ --imap mail.example.test\n  \
                  Validate the configuration:\n    \
                  slawatch check-config --config probes.toml\n  \
                  Run one probe now and see each phase:\n    \
                  slawatch probe shop-site --config probes.toml\n  \
                  Start watching (checks, outages and coverage go to SQLite):\n    \
                  slawatch run --config probes.toml\n  \
                  Read each plan's terms in one line:\n    \
                  slawatch plans --plans probes.toml\n  \
                  What does the contract owe for an outage?\n    \
                  slawatch sla --plans probes.toml --plan ID --timeline outage.json --period 2024-04\n  \
                  The breach report of a month, and claim letters:\n    \
                  slawatch report --period 2024-04 --letter --lang it\n  \
                  Check that no stored check was altered since a report:\n    \
                  slawatch verify --config probes.toml --report slawatch-2024-04.json\n\n\
                  Every subcommand has its own --help with examples; every plan key and \
                  credit scheme is in docs/plans.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Demo(demo::Args),
    Init(init::Args),
    CheckConfig(check_config::Args),
    Run(run::Args),
    Probe(probe::Args),
    Status(db::StatusArgs),
    Outages(db::OutagesArgs),
    Incident(incident::Args),
    Plans(plans::Args),
    Sla(sla::Args),
    Report(report::Args),
    Verify(verify::Args),
    Completions(completions::Args),
    Man(man::Args),
}

/// `--config FILE`, shared by every subcommand that reads probes.toml.
#[derive(Debug, Clone, Args)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        env = "SLAWATCH_CONFIG",
        default_value = "probes.toml"
    )]
    pub config: PathBuf,
}

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Init(a) => init::run(a),
        Command::CheckConfig(a) => check_config::run(a),
        Command::Run(a) => run::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Status(a) => db::status(a),
        Command::Outages(a) => db::outages(a),
        Command::Incident(a) => incident::run(a),
        Command::Plans(a) => plans::run(a),
        Command::Sla(a) => sla::run(a),
        Command::Report(a) => report::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
    }
}
