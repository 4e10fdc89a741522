//! `slawatch plans`: the plans of a file, one readable line each.

use super::CliError;
use std::path::PathBuf;

/// List the plans of a file with a one-line reading of each.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch plans --plans probes.toml\n  \
    slawatch plans --plans sla-catalogue.toml\n\n\
    Each line: the plan's id, then its promise, window and time zone, credit scheme and caps, \
    e.g. \"99.9 % per calendar month (Europe/Rome); 10 % / 25 % of the fee below 99.9 / 99.0 %; \
    cap 100 % of the fee\". Exit status: 0 listed, 2 the file is invalid.")]
pub(super) struct Args {
    /// A TOML file with [[plan]] tables (a probes.toml works).
    #[arg(
        long,
        value_name = "FILE",
        env = "SLAWATCH_CONFIG",
        default_value = "probes.toml"
    )]
    plans: PathBuf,
}

pub(super) fn run(a: Args) -> Result<(), CliError> {
    let plans = crate::config::load_plans(&a.plans)?;
    {
        {
            let width = plans.iter().map(|p| p.id.len()).max().unwrap_or(0);
            for p in &plans {
                println!("{:width$}  {}", p.id, p.describe());
            }
            if plans.is_empty() {
                println!("{}: no [[plan]] tables", a.plans.display());
            }
            Ok(())
        }
    }
}
