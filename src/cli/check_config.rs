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
    prove they are there) but never printed. With [shared] vantages or probes \
    spread by `vantages`, it says how many probes run on this vantage and which \
    vantages run each spread probe; with [daemon] source_address, where the checks \
    leave from.")]
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
            print!("{}", vantages(&config));
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

/// The lines about vantages: this vantage, how many probes run here and which
/// vantages run each spread probe (when `[shared] vantages` is given or a probe is
/// spread), and the source address (when set). Empty otherwise.
fn vantages(config: &crate::config::Config) -> String {
    use crate::config::ProbeVantages;
    let mut out = String::new();
    let listed = config.shared.as_ref().map_or(&[][..], |s| &s.vantages[..]);
    let spread: Vec<&crate::config::Probe> = config
        .probes
        .iter()
        .filter(|p| !matches!(p.vantages, ProbeVantages::All))
        .collect();
    if !listed.is_empty() || !spread.is_empty() {
        let here = config.probes.iter().filter(|p| config.runs_here(p)).count();
        out.push_str(&format!(
            "vantage: {}{}; {here} of {} probes run here\n",
            config.daemon.vantage,
            if listed.is_empty() {
                String::new()
            } else {
                format!(" (of {})", listed.join(", "))
            },
            config.probes.len()
        ));
        for p in spread {
            let on = config.vantages_of(p);
            let how = match &p.vantages {
                ProbeVantages::Count(n) => format!(" (vantages = {n})"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "spread: {} runs on {}{how}\n",
                p.name,
                on.join(", ")
            ));
        }
    }
    if let Some(src) = config.daemon.source_address {
        out.push_str(&format!(
            "source address: {src} (every check leaves from it)\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_spread_probe_names_its_vantages_and_the_count_run_here() {
        let text = "[daemon]\nvantage = \"a\"\nsource_address = \"127.0.0.2\"\n\
                    [shared]\nurl = \"postgres://slawatch@db.example.test/slawatch\"\n\
                    vantages = [\"a\", \"b\", \"c\"]\n\
                    [[tcp]]\nname = \"everywhere\"\ntarget = \"127.0.0.1:9\"\n\
                    [[tcp]]\nname = \"on-b\"\ntarget = \"127.0.0.1:9\"\nvantages = [\"b\"]\n\
                    [[tcp]]\nname = \"on-two\"\ntarget = \"127.0.0.1:9\"\nvantages = 2\n";
        let config =
            crate::config::parse_str(text, std::path::Path::new("probes.toml"), &|_| None).unwrap();
        let two = config.vantages_of(config.probe("on-two").unwrap());
        let here = if two.contains(&"a".to_owned()) { 2 } else { 1 };
        assert_eq!(
            vantages(&config),
            format!(
                "vantage: a (of a, b, c); {here} of 3 probes run here\n\
                 spread: on-b runs on b\n\
                 spread: on-two runs on {} (vantages = 2)\n\
                 source address: 127.0.0.2 (every check leaves from it)\n",
                two.join(", ")
            )
        );
    }

    #[test]
    fn a_single_vantage_prints_nothing_more() {
        let text = "[[tcp]]\nname = \"p\"\ntarget = \"127.0.0.1:9\"\n";
        let config =
            crate::config::parse_str(text, std::path::Path::new("probes.toml"), &|_| None).unwrap();
        assert_eq!(vantages(&config), "");
    }
}
