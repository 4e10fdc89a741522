//! `slawatch alerts`: the alerts the daemon queued (sent, pending, failed), and
//! `slawatch alerts test`: a test alert through every configured channel, now.

use super::db::{DbArgs, human, parse_since, table, terminal_safe};
use super::{CliError, ConfigArg};
use crate::alert::{Alert, AlertEvent, Alerter};
use crate::model::UtcMillis;
use crate::store::{AlertState, StoredAlert};
use std::process::ExitCode;

/// The alerts the daemon raised, one row per channel: sent, pending or failed.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  \
    slawatch alerts\n  \
    slawatch alerts --pending\n  \
    slawatch alerts --failed --since 2026-11-01 --json\n  \
    slawatch alerts test --config probes.toml\n\n\
    Every alert is stored in the evidence database before it is sent, once per channel \
    (e-mail, each webhook), with what is sent, and every delivery attempt after it: the \
    record of when the customer was told. A failed attempt is retried after 10 s, then \
    20 s, 40 s ... up to every hour; an alert still undelivered 3 days after it was \
    raised is given up (failed). A restarted daemon resumes the pending ones. \
    Times are UTC."
)]
pub(super) struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Only alerts not delivered yet (still retried).
    #[arg(long, conflicts_with_all = ["failed", "sent"])]
    pending: bool,
    /// Only alerts given up (undelivered 3 days after they were raised).
    #[arg(long, conflicts_with = "sent")]
    failed: bool,
    /// Only alerts delivered.
    #[arg(long)]
    sent: bool,
    /// Only alerts raised at or after this instant: 2026-11-01 (midnight UTC) or
    /// 2026-11-01T08:00:00Z.
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<UtcMillis>,
}

/// Sends a test alert through every configured channel now ([alerts.email] and each
/// [[alerts.webhook]]) and says what each did. Exit status 1 if any failed.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch alerts test\n  \
    slawatch alerts test --config /etc/slawatch/probes.toml\n\n\
    The test alert ([slawatch] TEST; a webhook gets \"event\": \"test\") is sent once, \
    synchronously, without the queue: nothing is stored and nothing is retried. A \
    channel that fails says why (the SMTP server by host and port, a webhook by its \
    number and origin: never a password or a URL's path). Fix it in probes.toml and \
    run this again.")]
struct TestArgs {
    #[command(flatten)]
    config: ConfigArg,
}

pub(super) fn run(a: Args) -> Result<ExitCode, CliError> {
    match a.command {
        Some(Sub::Test(t)) => test(&t),
        None => list(&a.list).map(|()| ExitCode::SUCCESS),
    }
}

fn list(a: &ListArgs) -> Result<(), CliError> {
    let reader = a.db.open()?;
    let all = reader.alerts(a.since).map_err(CliError::failure)?;
    let wanted = |s: &StoredAlert| match (a.pending, a.failed, a.sent) {
        (true, ..) => s.state == AlertState::Pending,
        (_, true, _) => s.state == AlertState::Failed,
        (.., true) => s.state == AlertState::Sent,
        _ => true,
    };
    let list: Vec<&StoredAlert> = all.iter().filter(|s| wanted(s)).collect();
    if a.db.json {
        let items: Vec<serde_json::Value> = list
            .iter()
            .map(|s| {
                serde_json::json!({
                    "channel": s.alert.channel,
                    "key": s.alert.key,
                    "event": s.alert.event,
                    "subject": s.alert.subject,
                    "raised_at": s.alert.raised_at.to_string(),
                    "state": s.state.as_str(),
                    "attempts": s.attempts,
                    "last_attempt": s.last_attempt.map(|t| t.to_string()),
                    "last_error": s.last_error,
                    "sent_at": s.sent_at.map(|t| t.to_string()),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return Ok(());
    }
    if list.is_empty() {
        println!("no alerts");
        return Ok(());
    }
    let mut rows = vec![
        [
            "RAISED",
            "STATE",
            "CHANNEL",
            "KEY",
            "SUBJECT/EVENT",
            "ATTEMPTS",
            "SENT",
            "LAST ERROR",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for s in list {
        let sent = match (s.sent_at, s.state) {
            (Some(t), _) => format!("{t} (+{})", human(t.0 - s.alert.raised_at.0)),
            (None, AlertState::Pending) => "-".to_owned(),
            (None, _) => "never".to_owned(),
        };
        rows.push(vec![
            s.alert.raised_at.to_string(),
            s.state.as_str().to_owned(),
            s.alert.channel.clone(),
            s.alert.key.clone(),
            terminal_safe(s.alert.subject.as_deref().unwrap_or(&s.alert.event)),
            s.attempts.to_string(),
            sent,
            terminal_safe(s.last_error.as_deref().unwrap_or("-")),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

fn test(a: &TestArgs) -> Result<ExitCode, CliError> {
    let config = crate::config::load(&a.config.config)?;
    let alerter = Alerter::new(&config.alerts);
    if alerter.channels().is_empty() {
        return Err(CliError::bad(format!(
            "{}: no alert channel is configured (or none could be set up: see the log \
             above); add [alerts.email] or [[alerts.webhook]] (docs/alerts.md)",
            a.config.config.display()
        )));
    }
    let now = crate::probe::net::wall_clock_now();
    let alert = Alert {
        key: format!("test:{}", now.0),
        raised_at: now,
        lang: config
            .alerts
            .lang
            .as_deref()
            .and_then(crate::report::Lang::parse)
            .unwrap_or(crate::report::Lang::En),
        event: AlertEvent::Test,
    };
    let rt = super::runtime(tokio::runtime::Builder::new_current_thread())?;
    let results = rt.block_on(alerter.send_alert_now(&alert, &config.daemon.vantage));
    let mut failed = 0;
    for d in &results {
        let ms = d.took.as_millis();
        match &d.result {
            Ok(()) => println!("{}: delivered in {ms} ms", d.channel),
            Err(why) => {
                failed += 1;
                println!("{}: FAILED after {ms} ms: {why}", d.channel);
            }
        }
    }
    if failed == 0 {
        println!("all {} channel(s) delivered the test alert", results.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{failed} of {} channel(s) failed: fix them in {} and run `slawatch alerts test` again",
            results.len(),
            a.config.config.display()
        );
        Ok(ExitCode::FAILURE)
    }
}
