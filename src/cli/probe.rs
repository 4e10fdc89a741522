//! `slawatch probe NAME`: run one check now and print it with its phases.

use super::{CliError, ConfigArg};
use crate::model::{Check, Status};
use std::process::ExitCode;
use std::time::Duration;

/// Run one probe's check now and print the verdict, the error class and each phase.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch probe shop-site\n  \
    slawatch probe mailbox --config /etc/slawatch/probes.toml --json\n\n\
    The check is the one the daemon runs: same settings, same timeout, nothing is \
    stored. A mailflow probe really sends its tagged message and deletes it once found.\n\n\
    Exit status: 0 up (also when flagged slow), 1 down or unknown, 2 the configuration \
    is invalid or has no such probe.")]
pub(super) struct Args {
    /// The probe's name, as in probes.toml.
    #[arg(value_name = "NAME")]
    name: String,
    #[command(flatten)]
    config: ConfigArg,
    /// Print the check as JSON (the fields the database stores), phases in milliseconds.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(args: Args) -> Result<ExitCode, CliError> {
    let config = crate::config::load(&args.config.config)?;
    let Some(probe) = config.probe(&args.name) else {
        let names: Vec<&str> = config.probes.iter().map(|p| p.name.as_str()).collect();
        return Err(CliError::bad(format!(
            "{} has no probe named '{}'; its probes are: {}",
            args.config.config.display(),
            args.name,
            if names.is_empty() {
                "(none)".to_owned()
            } else {
                names.join(", ")
            }
        )));
    };
    let runtime = super::runtime(tokio::runtime::Builder::new_current_thread())?;
    // From `[daemon] source_address`, as the daemon's checks.
    let check = runtime.block_on(crate::probe::net::with_source(
        config.daemon.source_address,
        crate::probe::run(&config, probe),
    ));
    if args.json {
        let s = serde_json::to_string_pretty(&check)
            .map_err(|e| CliError::failure(format!("cannot print the check as JSON: {e}")))?;
        println!("{s}");
    } else {
        print!("{}", render(&check, probe.spec.kind()));
    }
    Ok(if check.status == Status::Up {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Milliseconds with one decimal, from whole microseconds (no float arithmetic).
fn ms(d: Duration) -> String {
    let us = d.as_micros();
    format!("{}.{} ms", us / 1000, (us % 1000) / 100)
}

/// The human form: a verdict line, then one line per phase that happened.
fn render(check: &Check, kind: &str) -> String {
    let mut out = format!("{} ({kind}): {}", check.probe, check.status);
    if let Some(class) = check.class {
        out.push_str(&format!(" [{class}]"));
    }
    if !check.detail.is_empty() {
        out.push_str(&format!(" - {}", super::db::terminal_safe(&check.detail)));
    }
    out.push('\n');
    out.push_str(&format!("  started      {}\n", check.started_at));
    let p = &check.phases;
    for (label, phase) in [
        ("resolve", p.resolve),
        ("connect", p.connect),
        ("tls", p.tls),
        ("first byte", p.first_byte),
        ("login", p.login),
        ("total", p.total),
    ] {
        if let Some(d) = phase {
            out.push_str(&format!("  {label:<12} {}\n", ms(d)));
        }
    }
    if let Some(na) = check.cert_not_after {
        out.push_str(&format!("  certificate  valid until {na}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorClass, Phases, UtcMillis};

    #[test]
    fn renders_the_phases_that_happened() {
        let check = Check {
            probe: "shop-site".to_owned(),
            started_at: UtcMillis(1_712_139_330_000),
            status: Status::Down,
            class: Some(ErrorClass::Status),
            detail: "HTTP 500".to_owned(),
            phases: Phases {
                connect: Some(Duration::from_micros(1_234)),
                total: Some(Duration::from_micros(20_050)),
                ..Phases::default()
            },
            cert_not_after: None,
        };
        assert_eq!(
            render(&check, "http"),
            "shop-site (http): down [status] - HTTP 500\n  \
             started      2024-04-03T10:15:30.000Z\n  \
             connect      1.2 ms\n  \
             total        20.0 ms\n"
        );
    }
}
