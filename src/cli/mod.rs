//! The command-line face (clap). Each subcommand lives in its own file with an
//! `Args` struct and a `run(args) -> Result<ExitCode, CliError>`; this file only
//! dispatches, and prints a subcommand's error and maps it to its exit status, once.
//!
//! Exit status: 0 success (a probe is up), 1 runtime failure (a probe is down),
//! 2 bad input (configuration, arguments, timeline).
#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "clap prints the doc comments of the Args structs as --help, where [daemon] \
              and [[plan]] are sections of probes.toml, not links; escaping them would show \
              the backslashes"
)]

mod alerts;
mod check_config;
mod class_summary;
mod completions;
mod db;
mod demo;
mod incident;
mod init;
mod man;
mod members;
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
pub(crate) const EXIT_BAD_INPUT: u8 = 2;

/// Why a subcommand stopped: the one error type of every subcommand. `main` prints
/// it to stderr as its `Display` says and exits with [`CliError::exit_code`]; no
/// subcommand prints its own error or picks its own failing status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Bad input (exit 2): a configuration, an argument, a period, a file that does
    /// not parse. Printed as `error: MESSAGE`.
    #[error("error: {0}")]
    BadInput(String),
    /// A failure while running (exit 1): I/O, the database, the runtime. Printed as
    /// `error: MESSAGE`.
    #[error("error: {0}")]
    Failure(String),
    /// Bad input found as several messages at once (exit 2), each line printed as it
    /// is: the configuration's errors and their count, a timeline's errors and the
    /// hint that follows them.
    #[error("{}", .0.join("\n"))]
    Lines(Vec<String>),
}

impl CliError {
    /// The process's exit status for this error: 1 for a failure, 2 for bad input.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Self::Failure(_) => ExitCode::FAILURE,
            Self::BadInput(_) | Self::Lines(_) => ExitCode::from(EXIT_BAD_INPUT),
        }
    }

    /// Bad input, printed as `error: MESSAGE`.
    pub(crate) fn bad(message: impl std::fmt::Display) -> Self {
        Self::BadInput(message.to_string())
    }

    /// A failure, printed as `error: MESSAGE`.
    pub(crate) fn failure(message: impl std::fmt::Display) -> Self {
        Self::Failure(message.to_string())
    }

    /// The same error with one more line printed after it (a hint); bad input stays
    /// bad input and a failure stays a failure.
    #[must_use]
    pub(crate) fn with_line(self, line: impl Into<String>) -> Self {
        let line = line.into();
        match self {
            Self::Lines(mut lines) => {
                lines.push(line);
                Self::Lines(lines)
            }
            Self::BadInput(_) => Self::Lines(vec![self.to_string(), line]),
            Self::Failure(m) => Self::Failure(format!("{m}\n{line}")),
        }
    }
}

/// A tokio runtime from `builder` (with its I/O and timers), or the failure to start one.
fn runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, CliError> {
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the async runtime: {e}")))
}

/// Every error of the configuration, each on its line, then their count.
impl From<crate::config::ConfigErrors> for CliError {
    fn from(errors: crate::config::ConfigErrors) -> Self {
        Self::Lines(errors.to_string().lines().map(str::to_owned).collect())
    }
}

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
    Alerts(alerts::Args),
    Incident(incident::Args),
    Members(members::Args),
    Plans(plans::Args),
    Sla(sla::Args),
    Report(report::Args),
    Verify(verify::Args),
    Completions(completions::Args),
    Man(man::Args),
}

/// `--config FILE`, shared by every subcommand that reads probes.toml.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigArg {
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

/// Where the configuration and the database are (`incident`, `members`).
#[derive(Debug, Clone, Args)]
pub(crate) struct Where {
    #[command(flatten)]
    pub(crate) config: ConfigArg,
    /// The SQLite database (default: [daemon] database of the configuration).
    #[arg(long, value_name = "FILE", env = "SLAWATCH_DATABASE")]
    pub(crate) database: Option<PathBuf>,
}

/// What a report reads: the configuration, the database and the billing period
/// (`slawatch report` and `slawatch members summary`).
#[derive(Debug, clap::Args)]
pub(crate) struct PeriodSource {
    #[command(flatten)]
    pub(crate) config: ConfigArg,
    /// The SQLite database to read (default: [daemon] database of the configuration).
    #[arg(long, value_name = "FILE", env = "SLAWATCH_DATABASE")]
    database: Option<PathBuf>,
    /// The billing period: YYYY-MM for monthly plans, YYYY for yearly ones.
    #[arg(long, value_name = "PERIOD")]
    pub(crate) period: String,
}

impl PeriodSource {
    /// Opens the database to read: `--database`, else the `[daemon] database` of `config`.
    pub(crate) fn open(
        &self,
        config: &crate::config::Config,
    ) -> Result<crate::store::Reader, CliError> {
        let database = self.database.as_deref().unwrap_or(&config.daemon.database);
        crate::store::Reader::open(database).map_err(CliError::bad)
    }
}

/// Parses the command line and runs the subcommand; its error, if any, is printed
/// here and mapped to its exit status here, the one place that does.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Demo(a) => demo::run(a),
        Command::Init(a) => init::run(a).map(success),
        Command::CheckConfig(a) => check_config::run(a),
        Command::Run(a) => run::run(a).map(success),
        Command::Probe(a) => probe::run(a),
        Command::Status(a) => db::status(a),
        Command::Outages(a) => db::outages(a).map(success),
        Command::Alerts(a) => alerts::run(a),
        Command::Incident(a) => incident::run(a).map(success),
        Command::Members(a) => members::run(a).map(success),
        Command::Plans(a) => plans::run(a).map(success),
        Command::Sla(a) => sla::run(a).map(success),
        Command::Report(a) => report::run(a).map(success),
        Command::Verify(a) => verify::run(a),
        Command::Completions(a) => {
            completions::run(&a);
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(a) => man::run(a).map(success),
    }
}

/// Exit 0: for the subcommands whose success is always 0.
fn success((): ()) -> ExitCode {
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_error_prints_as_today_and_maps_each_kind_to_its_status() {
        let bad = CliError::bad("--period: write YYYY-MM");
        assert_eq!(bad.to_string(), "error: --period: write YYYY-MM");
        assert_eq!(bad.exit_code(), ExitCode::from(EXIT_BAD_INPUT));
        let failed = CliError::failure("database is locked");
        assert_eq!(failed.to_string(), "error: database is locked");
        assert_eq!(failed.exit_code(), ExitCode::FAILURE);
        let hinted = CliError::bad("no such file").with_line("hint: write --plans FILE");
        assert_eq!(
            hinted.to_string(),
            "error: no such file\nhint: write --plans FILE"
        );
        assert_eq!(hinted.exit_code(), ExitCode::from(EXIT_BAD_INPUT));
    }

    /// The files of `src/cli/`, as compiled into this test.
    const FILES: [(&str, &str); 17] = [
        ("alerts.rs", include_str!("alerts.rs")),
        ("check_config.rs", include_str!("check_config.rs")),
        ("completions.rs", include_str!("completions.rs")),
        ("db.rs", include_str!("db.rs")),
        ("demo.rs", include_str!("demo.rs")),
        ("incident.rs", include_str!("incident.rs")),
        ("init.rs", include_str!("init.rs")),
        ("man.rs", include_str!("man.rs")),
        ("members.rs", include_str!("members.rs")),
        ("mod.rs", include_str!("mod.rs")),
        ("plans.rs", include_str!("plans.rs")),
        ("probe.rs", include_str!("probe.rs")),
        ("report.rs", include_str!("report.rs")),
        ("run.rs", include_str!("run.rs")),
        ("sla.rs", include_str!("sla.rs")),
        ("verify.rs", include_str!("verify.rs")),
        ("../main.rs", include_str!("../main.rs")),
    ];

    #[test]
    fn no_subcommand_prints_its_own_error_or_picks_its_status() {
        // (text, also forbidden in mod.rs, the one place that maps errors). A panic
        // (`unwrap`, `expect`) is denied crate-wide by clippy (Cargo.toml's lints).
        let forbidden = [
            (concat!("eprintln!(\"", "error"), false),
            (concat!("ExitCode::from(", "EXIT_BAD_INPUT"), false),
        ];
        let mut found = Vec::new();
        for (file, text) in FILES {
            // The code without its unit tests and comment lines.
            let code = text.split("#[cfg(test)]").next().unwrap_or(text);
            for (n, line) in code.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for (f, in_mod) in forbidden {
                    if line.contains(f) && (in_mod || file != "mod.rs") {
                        found.push(format!("src/cli/{file}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "an error printed or a status chosen outside `cli::main`'s one path \
             (return a CliError instead):\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn cli_error_keeps_every_configuration_error_each_on_its_line() {
        let errors = crate::config::parse_str(
            "[daemon]\nbogus = 1\n[[probe]]\nname = 3\n",
            std::path::Path::new("p.toml"),
            &|_| None,
        )
        .err()
        .map(CliError::from);
        let Some(e) = errors else {
            panic!("a configuration with two bad keys was accepted");
        };
        assert_eq!(e.exit_code(), ExitCode::from(EXIT_BAD_INPUT));
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 3, "{text}");
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l.starts_with("error: p.toml:")),
            "{text}"
        );
        assert!(
            lines[lines.len() - 1].ends_with("in the configuration; nothing was changed"),
            "{text}"
        );
    }
}
