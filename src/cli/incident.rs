//! `slawatch incident add|list`: evidence entered by hand.

use super::EXIT_BAD_INPUT;
use super::db::DbArgs;
use crate::model::UtcMillis;
use crate::store::{Incident, IncidentSource};
use std::process::ExitCode;

/// Record or list outages seen outside the probes: before monitoring began, or
/// published on the provider's status page.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident add --probe mailbox --start 2023-01-10T08:00:00+01:00 \
    --end 2023-01-13T18:30:00+01:00 --note \"IMAP down, no reply from support\"\n  \
    slawatch incident list --config probes.toml\n\n\
    Reports count a recorded incident as evidence, marked with its source.")]
pub(super) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    Add(AddArgs),
    List(ListArgs),
}

/// Record an outage seen by hand; reports mark it with its source.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident add --probe mailbox --start 2023-01-10T08:00:00+01:00 \
    --end 2023-01-13T18:30:00+01:00 --note \"webmail and IMAP down, no reply from support\"\n  \
    slawatch incident add --contract rossi-shop --source status-page \
    --start 2023-01-10T07:00:00Z --end 2023-01-10T09:00:00Z --note \"https://status.example.test/123\"\n\n\
    Instants need their zone (Z or +01:00). Safe while the daemon runs.")]
struct AddArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The probe the incident concerns.
    #[arg(long, value_name = "NAME", required_unless_present = "contract")]
    probe: Option<String>,
    /// The contract the incident concerns.
    #[arg(long, value_name = "ID")]
    contract: Option<String>,
    /// When it began, RFC 3339 with a zone.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    start: UtcMillis,
    /// When it ended (exclusive), RFC 3339 with a zone.
    #[arg(long, value_name = "INSTANT", value_parser = parse_instant)]
    end: UtcMillis,
    /// Who saw it: manual (you) or status-page (the provider published it).
    #[arg(long, value_name = "SOURCE", default_value = "manual", value_parser = parse_source)]
    source: IncidentSource,
    /// What was seen, or a link to the provider's notice.
    #[arg(long, value_name = "TEXT", default_value = "")]
    note: String,
}

/// List the incidents entered by hand, oldest first.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident list --config probes.toml\n  \
    slawatch incident list --database /var/lib/slawatch/slawatch.db")]
struct ListArgs {
    #[command(flatten)]
    db: DbArgs,
}

/// An instant with its zone, read as the timeline file reads one (offsets beyond
/// -23:59..+23:59 refused, so `+24:00` never shifts an incident by a day).
fn parse_instant(s: &str) -> Result<UtcMillis, String> {
    if s.parse::<jiff::Timestamp>().is_err() && !s.contains(['Z', 'z', '+']) {
        return Err(format!(
            "'{s}' is not an instant with a zone: write e.g. 2023-01-10T08:00:00+01:00"
        ));
    }
    crate::sla::timeline::parse_instant(s)
}

fn parse_source(s: &str) -> Result<IncidentSource, String> {
    IncidentSource::parse(s).ok_or_else(|| format!("'{s}': write manual or status-page"))
}

#[expect(
    clippy::disallowed_methods,
    reason = "an incident records when it was entered"
)]
fn now() -> UtcMillis {
    UtcMillis::from_timestamp(jiff::Timestamp::now())
}

pub(super) fn run(a: Args) -> ExitCode {
    match a.command {
        Sub::Add(a) => add(a),
        Sub::List(a) => list(&a),
    }
}

fn add(a: AddArgs) -> ExitCode {
    if a.end <= a.start {
        eprintln!("error: --end {} is not after --start {}", a.end, a.start);
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let path = match a.db.database_path() {
        Ok(p) => p,
        Err(code) => return code,
    };
    let incident = Incident {
        id: 0,
        probe: a.probe,
        contract: a.contract,
        start: a.start,
        end: a.end,
        source: a.source,
        note: a.note,
        created_at: now(),
    };
    match crate::store::add_incident(&path, &incident) {
        Ok(id) => {
            println!(
                "incident {id} recorded: {} to {} ({})",
                incident.start,
                incident.end,
                incident.source.as_str()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn list(a: &ListArgs) -> ExitCode {
    let reader = match a.db.open() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let incidents = match reader.incidents() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if a.db.json {
        let v: Vec<serde_json::Value> = incidents
            .iter()
            .map(|i| {
                serde_json::json!({
                    "id": i.id,
                    "probe": i.probe,
                    "contract": i.contract,
                    "start": i.start.to_string(),
                    "end": i.end.to_string(),
                    "source": i.source.as_str(),
                    "note": i.note,
                    "created_at": i.created_at.to_string(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else if incidents.is_empty() {
        println!("no incidents");
    } else {
        for i in &incidents {
            let what = match (&i.probe, &i.contract) {
                (Some(p), _) => format!("probe {p}"),
                (None, Some(c)) => format!("contract {c}"),
                (None, None) => "-".to_owned(),
            };
            println!(
                "{:>4}  {}  {}  {:<11}  {}  {}",
                i.id,
                i.start,
                i.end,
                i.source.as_str(),
                super::db::terminal_safe(&what),
                super::db::terminal_safe(&i.note)
            );
        }
    }
    ExitCode::SUCCESS
}
