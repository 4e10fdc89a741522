//! `slawatch check-config`: validate probes.toml and report every problem at once.

use super::{CliError, ConfigArg};
use std::process::ExitCode;

/// Validate the configuration and print every error, or "ok" and a summary.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch check-config --config probes.toml\n  \
    SLAWATCH_CONFIG=/etc/slawatch/probes.toml slawatch check-config\n\n\
    Every error names FILE:LINE:COLUMN and says what to write instead. Exit status: \
    0 valid, 2 invalid. When valid, it also prints where the database and the reports \
    will be ($STATE_DIRECTORY/slawatch.db under systemd when [daemon] database is left \
    out). Secrets named by password_env / password_file are read (to \
    prove they are there) but never printed.")]
pub(super) struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

pub(super) fn run(args: Args) -> Result<ExitCode, CliError> {
    let config = crate::config::load(&args.config.config)?;
    {
        {
            println!("ok: {}: {}", args.config.config.display(), config.summary());
            let shown = |p: &std::path::Path| {
                std::path::absolute(p)
                    .unwrap_or_else(|_| p.to_path_buf())
                    .display()
                    .to_string()
            };
            println!("database: {}", shown(&config.daemon.database));
            println!("reports: {}", shown(&config.daemon.reports_dir));
            if let Some(state) = std::env::var_os("STATE_DIRECTORY")
                && !config.daemon.database.starts_with(&state)
            {
                println!(
                    "note: the database is outside $STATE_DIRECTORY ({}), the only place \
                     the shipped systemd unit can write: leave [daemon] database out, or \
                     name a writable path",
                    std::path::Path::new(&state).display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
