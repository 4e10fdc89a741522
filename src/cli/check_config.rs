//! `slawatch check-config`: validate probes.toml and report every problem at once.

use super::{ConfigArg, EXIT_BAD_INPUT};
use std::process::ExitCode;

/// Validate the configuration and print every error, or "ok" and a summary.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch check-config --config probes.toml\n  \
    SLAWATCH_CONFIG=/etc/slawatch/probes.toml slawatch check-config\n\n\
    Every error names FILE:LINE:COLUMN and says what to write instead. Exit status: \
    0 valid, 2 invalid. Secrets named by password_env / password_file are read (to \
    prove they are there) but never printed.")]
pub(super) struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

pub(super) fn run(args: Args) -> ExitCode {
    match crate::config::load(&args.config.config) {
        Ok(config) => {
            println!("ok: {}: {}", args.config.config.display(), config.summary());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
