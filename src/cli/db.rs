//! `slawatch status` and `slawatch outages`: read the evidence database, also while
//! the daemon writes it.

use super::{CliError, ConfigArg};
use crate::model::UtcMillis;
use crate::store::Reader;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the database is: `--database`, or the `[daemon] database` of the configuration.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct DbArgs {
    #[command(flatten)]
    pub(super) config: ConfigArg,
    /// The SQLite database to read (default: [daemon] database of the configuration).
    /// Reading it this way needs no secret of the configuration.
    #[arg(long, value_name = "FILE", env = "SLAWATCH_DATABASE")]
    database: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(super) json: bool,
    /// Read every vantage's evidence from the shared PostgreSQL that [shared] of the
    /// configuration names, instead of this machine's database; each row says
    /// which vantage it comes from.
    #[arg(long, conflicts_with = "database")]
    pub(super) shared: bool,
    /// With --shared, only this vantage (repeat for several; default: every one).
    #[arg(long = "vantage", value_name = "NAME", requires = "shared")]
    pub(super) vantages: Vec<String>,
}

impl DbArgs {
    /// The database's path, or why there is none.
    pub(super) fn database_path(&self) -> Result<PathBuf, CliError> {
        match &self.database {
            Some(p) => Ok(p.clone()),
            None => match crate::config::load(&self.config.config) {
                Ok(c) => Ok(c.daemon.database),
                Err(errors) => Err(CliError::from(errors).with_line(
                    "hint: --database FILE reads the database without the configuration",
                )),
            },
        }
    }

    /// The configuration, when it is what names the database (no `--database`).
    pub(super) fn config_if_used(&self) -> Option<crate::config::Config> {
        match &self.database {
            Some(_) => None,
            None => crate::config::load(&self.config.config).ok(),
        }
    }

    /// Opens the database read-only, or says why not.
    pub(super) fn open(&self) -> Result<Reader, CliError> {
        let path = self.database_path()?;
        Reader::open(&path).map_err(CliError::bad)
    }

    /// What to read: this machine's database (no vantage name), or with `--shared`
    /// every vantage of the shared store, by name.
    pub(super) fn views(&self) -> Result<Vec<(Option<String>, Reader)>, CliError> {
        if !self.shared {
            return Ok(vec![(None, self.open()?)]);
        }
        let config = crate::config::load(&self.config.config)?;
        Ok(shared_vantages(&config, &self.vantages)?
            .into_iter()
            .map(|v| (Some(v.name), v.reader))
            .collect())
    }
}

/// Every vantage (or those `only` names) of the shared store `config`'s `[shared]`
/// names, read back (`shared::read`), or why not: no `[shared]` is bad input, a
/// store that cannot be read a failure (its message names the server, never the
/// password).
pub(super) fn shared_vantages(
    config: &crate::config::Config,
    only: &[String],
) -> Result<Vec<crate::shared::read::SharedVantage>, CliError> {
    let Some(settings) = &config.shared else {
        return Err(CliError::bad(format!(
            "no [shared] in {}: add [shared] url = \"postgres://USER@HOST/DATABASE\" with \
             password_env or password_file (the store the vantages ship to), or leave \
             --shared out to read this machine's database",
            config.path.display()
        )));
    };
    let options = crate::shared::read::ReadOptions {
        only: only.to_vec(),
        keep_in: None,
    };
    let vantages = crate::shared::read::read(settings, &options).map_err(CliError::failure)?;
    if vantages.is_empty() {
        return Err(CliError::failure(format!(
            "the shared store {} holds no vantage yet: none has shipped evidence to it",
            crate::config::url_origin(&settings.url)
        )));
    }
    Ok(vantages)
}

/// `value` (a JSON object) with `"vantage": name` first when there is a name.
fn with_vantage(vantage: Option<&str>, value: serde_json::Value) -> serde_json::Value {
    match (vantage, value) {
        (Some(v), serde_json::Value::Object(fields)) => {
            let mut out = serde_json::Map::new();
            out.insert("vantage".to_owned(), v.into());
            out.extend(fields);
            serde_json::Value::Object(out)
        }
        (_, value) => value,
    }
}

/// Each probe's state (up, DOWN since when), and its latest check.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch status\n  \
    slawatch status --database /var/lib/slawatch/slawatch.db --json\n  \
    slawatch status --shared\n\n\
    STATE is the confirmed state: DOWN only after confirm_down failed checks. \
    With --shared, every vantage's view from the shared PostgreSQL ([shared]), one \
    row per vantage and probe: what each vantage has shipped, which is what it has \
    sealed (a run of checks is sealed when its UTC day ends, a failed check at once). \
    Exit status: 0 every probe up, 1 some probe is DOWN (on any vantage), 2 no \
    database, or --shared without [shared].")]
pub(super) struct StatusArgs {
    #[command(flatten)]
    db: DbArgs,
}

/// Confirmed outages, oldest first, with their proven minimum and uncertainty.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch outages\n  \
    slawatch outages --since 2026-11-01 --probe mailbox\n  \
    slawatch outages --since 2026-11-24T08:00:00Z --json\n  \
    slawatch outages --shared --since 2026-11-01\n\n\
    With --shared, the outages every vantage shipped to the shared PostgreSQL \
    ([shared]), each with its VANTAGE. \
    An outage runs from the first failed check of the confirmed streak to the first \
    successful check after it. PROVEN is first to last failed check; UNCERTAINTY is \
    the time before the start back to the last success, when the service may already \
    have been down. Times are UTC.")]
pub(super) struct OutagesArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Only outages still open or ending at or after this instant: 2026-11-01
    /// (midnight UTC) or 2026-11-01T08:00:00Z.
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<UtcMillis>,
    /// Only this probe's outages.
    #[arg(long, value_name = "NAME")]
    probe: Option<String>,
}

pub(super) fn parse_since(s: &str) -> Result<UtcMillis, String> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(UtcMillis::from_timestamp(ts));
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(UtcMillis::from_timestamp(z.timestamp()));
    }
    Err(format!(
        "'{s}' is neither a date (2026-11-01) nor an instant with a zone (2026-11-01T08:00:00Z)"
    ))
}

/// "2 h 5 min 3 s", "850 ms".
pub(super) fn human(ms: i64) -> String {
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "min"), (s, "s")]
        .iter()
        .skip_while(|(v, _)| *v == 0)
        .filter(|(v, _)| *v != 0)
        .map(|(v, u)| format!("{v} {u}"))
        .collect();
    parts.join(" ")
}

/// Text from the database or a peer, made safe for a terminal: control characters
/// (C0, DEL, C1: ESC sequences that recolour, move the cursor or retitle the
/// window, line breaks that fake table rows) and the bidirectional overrides that
/// reorder what is shown print as `\x1b` / `\u{202e}` escapes. Every command that
/// prints stored or peer text in human form goes through it; `--json` output is
/// escaped by JSON itself.
pub(super) fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// Aligned columns; every cell through [`terminal_safe`].
pub(super) fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| terminal_safe(c)).collect())
        .collect();
    let rows = &rows;
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub(super) fn status(a: StatusArgs) -> Result<ExitCode, CliError> {
    let mut views = Vec::new();
    for (vantage, reader) in a.db.views()? {
        views.push((vantage, reader.probe_states().map_err(CliError::failure)?));
    }
    let any_down = views
        .iter()
        .any(|(_, states)| states.iter().any(|s| s.open_outage.is_some()));
    let shared = a.db.shared;
    if a.db.json {
        let v: Vec<serde_json::Value> = views
            .iter()
            .flat_map(|(vantage, states)| states.iter().map(move |s| (vantage.as_deref(), s)))
            .map(|(vantage, s)| {
                with_vantage(
                    vantage,
                    serde_json::json!({
                        "probe": s.name,
                        "kind": s.kind,
                        "state": if s.open_outage.is_some() { "down" } else {
                            s.last_check.map_or("none", |c| c.1.as_str())
                        },
                        "down_since": s.open_outage.as_ref().map(|o| o.start.to_string()),
                        "last_check": s.last_check.map(|c| serde_json::json!({
                            "at": c.0.to_string(),
                            "status": c.1.as_str(),
                            "class": c.2.map(|k| k.as_str()),
                        })),
                    }),
                )
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else if views.iter().all(|(_, states)| states.is_empty()) {
        println!("no probes recorded yet: has `slawatch run` started?");
    } else {
        let mut header = vec![
            "PROBE".to_owned(),
            "KIND".to_owned(),
            "STATE".to_owned(),
            "SINCE".to_owned(),
            "LAST CHECK".to_owned(),
        ];
        if shared {
            header.insert(0, "VANTAGE".to_owned());
        }
        let mut rows = vec![header];
        for (vantage, states) in &views {
            for s in states {
                let (state, since) = match &s.open_outage {
                    Some(o) => ("DOWN".to_owned(), o.start.to_string()),
                    None => (
                        s.last_check
                            .map_or("-".to_owned(), |c| c.1.as_str().to_owned()),
                        String::new(),
                    ),
                };
                let last = s
                    .last_check
                    .map_or("never".to_owned(), |(at, st, class)| match class {
                        Some(c) => format!("{at} {st} [{c}]"),
                        None => format!("{at} {st}"),
                    });
                let mut row = vec![s.name.clone(), s.kind.clone(), state, since, last];
                if let Some(v) = vantage {
                    row.insert(0, v.clone());
                }
                rows.push(row);
            }
        }
        print!("{}", table(&rows));
    }
    Ok(if any_down {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub(super) fn outages(a: OutagesArgs) -> Result<(), CliError> {
    let mut list = Vec::new();
    for (vantage, reader) in a.db.views()? {
        for o in reader
            .outages(a.since, a.probe.as_deref())
            .map_err(CliError::failure)?
        {
            list.push((vantage.clone(), o));
        }
    }
    if a.db.json {
        let v: Vec<serde_json::Value> = list
            .iter()
            .map(|(vantage, o)| with_vantage(vantage.as_deref(), serde_json::json!(o)))
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(());
    }
    if list.is_empty() {
        println!("no outages");
        return Ok(());
    }
    let mut header = [
        "PROBE",
        "START",
        "END",
        "DURATION",
        "PROVEN",
        "UNCERTAINTY",
        "CLASS",
        "DETAIL",
    ]
    .map(str::to_owned)
    .to_vec();
    if a.db.shared {
        header.insert(0, "VANTAGE".to_owned());
    }
    let mut rows = vec![header];
    for (vantage, o) in &list {
        let mut row = vec![
            o.probe.clone(),
            o.start.to_string(),
            o.end.map_or("(open)".to_owned(), |e| e.to_string()),
            o.end.map_or(String::new(), |e| human(e.0 - o.start.0)),
            human(o.proven_ms()),
            o.uncertainty_ms().map_or("-".to_owned(), human),
            o.class.as_str().to_owned(),
            o.detail.clone(),
        ];
        if let Some(v) = vantage {
            row.insert(0, v.clone());
        }
        rows.push(row);
    }
    print!("{}", table(&rows));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_text_cannot_drive_the_terminal() {
        assert_eq!(
            terminal_safe("TXT \u{1b}[2J\u{1b}]0;owned\u{7}ok\r\nfake row\u{9b}1m\u{202e}gnp.exe"),
            "TXT \\x1b[2J\\x1b]0;owned\\x07ok\\r\\nfake row\\u{9b}1m\\u{202e}gnp.exe"
        );
        assert_eq!(
            terminal_safe("HTTP 200 OK; é ✓ \\Deleted"),
            "HTTP 200 OK; é ✓ \\Deleted"
        );
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(850), "850 ms");
        assert_eq!(human(61_000), "1 min 1 s");
        assert_eq!(human(7_200_000), "2 h");
        assert_eq!(human(90_061_000), "1 d 1 h 1 min 1 s");
    }

    #[test]
    fn since_takes_a_date_or_an_instant() {
        assert_eq!(
            parse_since("2024-04-03").unwrap().to_string(),
            "2024-04-03T00:00:00.000Z"
        );
        assert_eq!(
            parse_since("2024-04-03T10:15:30+02:00")
                .unwrap()
                .to_string(),
            "2024-04-03T08:15:30.000Z"
        );
        assert!(
            parse_since("yesterday")
                .unwrap_err()
                .contains("neither a date")
        );
    }
}
