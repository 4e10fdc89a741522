//! The command-line face (clap). Each subcommand lives in its own file with an
//! `Args` struct and a `run(args) -> ExitCode`; this file only dispatches.
//!
//! Exit status: 0 success (a probe is up), 1 runtime failure (a probe is down),
//! 2 bad input (configuration, arguments, timeline).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit status for bad input: a configuration, an argument or a file that does not parse.
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "slawatch",
    version,
    about = "Watch hosting sites and mail services, keep the evidence of every outage, \
             and compute what each SLA owes.",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {}

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {}
}
