//! The demo's story and its files: the pace (`--fast` or not), the failures injected
//! and when, the configuration written to `DIR/probes.toml`, and `DIR/scenario.json`,
//! which records what was injected with real instants (and the files the demo wrote,
//! so a rerun removes exactly those).

use super::Mode;
use crate::model::UtcMillis;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The marker that tells a demo's `scenario.json` from any other file of that name.
pub(crate) const MARK: &str = "slawatch-demo/1";

/// The probes' names in the written configuration.
pub(crate) const SITE: &str = "demo-site";
/// The IMAP probe.
pub(crate) const MAILBOX: &str = "demo-mailbox";
/// The SMTP probe.
pub(crate) const SMTP: &str = "demo-smtp";

/// The demo's files in DIR, besides the reports (recorded in `scenario.json`).
pub(crate) const DATABASE: &str = "demo.db";
/// The configuration.
pub(crate) const CONFIG: &str = "probes.toml";
/// The mailbox password the IMAP probe reads (`password_file`).
pub(crate) const PASSWORD: &str = "mailbox.password";
/// The injected schedule.
pub(crate) const SCENARIO: &str = "scenario.json";
/// Where the reports go (`[daemon] reports_dir`).
pub(crate) const REPORTS: &str = "reports";

/// How fast the story goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pace {
    /// `[daemon] interval` (at least 1s, as check-config requires of everyone).
    pub(crate) interval: Duration,
    /// `[daemon] timeout`.
    pub(crate) timeout: Duration,
    /// `[daemon] retry_interval`.
    pub(crate) retry: Duration,
    /// Everything up before the first failure.
    pub(crate) warmup: Duration,
    /// The length of each failure phase.
    pub(crate) phase: Duration,
    /// Every service up between the site's recovery and the mailbox's first failure:
    /// long enough for the site's end to be seen before the mailbox fails, so the
    /// contract (down when any service is) shows two incidents, not one merged.
    pub(crate) between: Duration,
    /// The longest wait, after the last phase, for the daemon to see every service up.
    pub(crate) settle: Duration,
}

impl Pace {
    /// `--fast`: the whole story in about 14 s.
    pub(crate) const FAST: Pace = Pace {
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(800),
        retry: Duration::from_millis(500),
        warmup: Duration::from_millis(1500),
        phase: Duration::from_millis(2500),
        between: Duration::from_secs(2),
        settle: Duration::from_secs(4),
    };
    /// The default: about 80 s, slow enough to watch each outage being confirmed.
    pub(crate) const NORMAL: Pace = Pace {
        interval: Duration::from_secs(2),
        timeout: Duration::from_millis(1500),
        retry: Duration::from_secs(1),
        warmup: Duration::from_secs(6),
        phase: Duration::from_secs(17),
        between: Duration::from_secs(6),
        settle: Duration::from_secs(8),
    };

    /// The scheduled length of the story, from the first check to the last recovery.
    pub(crate) fn story(&self) -> Duration {
        self.warmup + self.phase * 4 + self.between
    }
}

/// A service of the demo provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    /// The hosting site (HTTP).
    Site,
    /// The mailbox (IMAP).
    Mailbox,
}

impl Service {
    /// The probe that watches it.
    pub(crate) fn probe(self) -> &'static str {
        match self {
            Service::Site => SITE,
            Service::Mailbox => MAILBOX,
        }
    }
}

/// One step of the story: from its start, `service` behaves as `mode`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// The service.
    pub(crate) service: Service,
    /// How it behaves.
    pub(crate) mode: Mode,
    /// What the user reads.
    pub(crate) label: &'static str,
}

/// The story, one step per phase after the warm-up: the two real incidents,
/// compressed. Each failure phase lasts `Pace::phase`; a recovery starts the next.
pub(crate) const STORY: [Step; 6] = [
    Step {
        service: Service::Site,
        mode: Mode::Refuse,
        label: "site: refusing connections (power cut, as in the data-centre fire)",
    },
    Step {
        service: Service::Site,
        mode: Mode::Hang,
        label: "site: accepts, never answers (the slow restart)",
    },
    Step {
        service: Service::Site,
        mode: Mode::Up,
        label: "site: back",
    },
    Step {
        service: Service::Mailbox,
        mode: Mode::RejectLogin,
        label: "mailbox: refusing logins (the storage failure)",
    },
    Step {
        service: Service::Mailbox,
        mode: Mode::Refuse,
        label: "mailbox: unreachable",
    },
    Step {
        service: Service::Mailbox,
        mode: Mode::Up,
        label: "mailbox: back",
    },
];

/// When each step of [`STORY`] starts, from the start of the story.
pub(crate) fn offsets(pace: &Pace) -> [Duration; 6] {
    let (w, p, b) = (pace.warmup, pace.phase, pace.between);
    [
        w,
        w + p,
        w + p * 2,
        w + p * 2 + b,
        w + p * 3 + b,
        w + p * 4 + b,
    ]
}

/// A step as it happened.
#[derive(Clone, Debug)]
pub(crate) struct Done {
    /// The step.
    pub(crate) step: Step,
    /// When the fake server switched to it.
    pub(crate) at: UtcMillis,
}

/// The addresses the demo provider listens on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Addrs {
    /// HTTP.
    pub(crate) site: SocketAddr,
    /// IMAP.
    pub(crate) imap: SocketAddr,
    /// SMTP.
    pub(crate) smtp: SocketAddr,
}

/// The user the IMAP probe logs in as.
pub(crate) const USER: &str = "demo@mail.demo.test";

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The configuration the daemon runs with: commented, and reusable with `status`,
/// `outages`, `report` and `verify` afterwards. `today` dates the goodwill offer.
pub(crate) fn config(pace: &Pace, a: &Addrs, today: jiff::civil::Date) -> String {
    format!(
        r#"# Written by `slawatch demo`: a small provider on this machine's loopback (a hosting
# site, a mailbox and an outgoing mail server, all inside the demo's process), the
# daemon watching it, and the contract its outages are measured against.
#
# The demo is over, but its evidence stays. Explore it from this directory:
#
#     slawatch status   --config {CONFIG}
#     slawatch outages  --config {CONFIG}
#     slawatch report   --config {CONFIG} --period YYYY-MM --format all --letter
#     slawatch verify   --config {CONFIG}
#
# The ports below were picked by the system for this run only: `slawatch run` with
# this file would find nothing listening. For your own services, start from
# `slawatch init`.

[daemon]
database = "{DATABASE}"           # next to this file
reports_dir = "{REPORTS}"         # next to this file
vantage = "demo"
# Far shorter than you would use for real (60s is usual): the demo compresses hours
# into seconds. An interval is never below 1s.
interval = "{interval}"
timeout = "{timeout}"
retry_interval = "{retry}"      # re-check soon after a failure
confirm_down = 2                  # two failures in a row make an outage
confirm_up = 1                    # one success ends it

[[http]]
name = "{SITE}"
url = "http://{site}/"
expect_body = "{mark}"

[[imap]]
name = "{MAILBOX}"
host = "{imap_host}"
port = {imap_port}
tls = "none"                      # plain text, loopback only; use "implicit" for real
username = "{USER}"
password_file = "{PASSWORD}"      # next to this file; never inline

[[smtp]]
name = "{SMTP}"
host = "{smtp_host}"
port = {smtp_port}
tls = "none"
helo = "probe.demo.test"

# The contract's terms: 99.9 % a month, a share of the fee back below it. Only the
# time the daemon measured counts (missing_data = "exclude"), so the demo's minutes
# are the whole month as far as this plan knows.
[[plan]]
id = "demo-hosting"
provider = "Demo Hosting S.p.A."
service = "Hosting with mail, Business plan"
currency = "EUR"
fee = "30.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "99.9"
measurement.missing_data = "exclude"
credit.scheme = "tiered_percent"
credit.tiers = [{{ below = "99.9", pct = "10" }}, {{ below = "99.0", pct = "25" }}, {{ below = "95.0", pct = "50" }}]
credit.cap_pct_of_fee = "100"
claim.deadline = {{ kind = "days_after_period_end", days = 30 }}

# What a regulator would give for an interrupted service, shown beside the contract
# (by analogy: a flat amount per calendar day touched, doubled for a business).
[[plan]]
id = "regulator-interruption"
provider = "Regulator's indemnity (by analogy)"
service = "Complete interruption of the main service"
customer_type = "business"
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
credit.scheme = "daily_flat"
credit.per_day = "6.00"
credit.day_count = "local_calendar_days_touched"
credit.business_multiplier = "2"

[[contract]]
id = "demo-shop"
plan = "demo-hosting"
customer = "Demo Shop S.r.l."
customer_type = "business"
customer_address = "Via Roma 1, 00100 Roma (RM)"
customer_code = "DEMO-0001"
contract_number = "HB-DEMO-2026"
provider_name = "Demo Hosting S.p.A."
provider_address = "Via del Datacenter 1, 52100 Arezzo (AR)"
provider_pec = "reclami@demo-hosting.test"
probes = ["{SITE}", "{MAILBOX}", "{SMTP}"]
unavailable_when = "any"          # the contract is down when any of its services is
compare_with = ["regulator-interruption"]

# What the provider offered afterwards, outside the contract.
[[goodwill]]
event = "Demo outage"
date = "{today}"
contracts = ["demo-shop"]
amount = "5.00"
"#,
        interval = ms(pace.interval),
        timeout = ms(pace.timeout),
        retry = ms(pace.retry),
        site = a.site,
        mark = super::http::BODY_MARK,
        imap_host = a.imap.ip(),
        imap_port = a.imap.port(),
        smtp_host = a.smtp.ip(),
        smtp_port = a.smtp.port(),
    )
}

/// `scenario.json`: the pace, each step with the instant it took effect, the
/// outages those steps should make, and the files the demo wrote in DIR.
pub(crate) fn json(
    pace: &Pace,
    done: &[Done],
    ended: Option<UtcMillis>,
    files: &[String],
) -> String {
    let steps: Vec<_> = done
        .iter()
        .map(|d| {
            serde_json::json!({
                "probe": d.step.service.probe(),
                "mode": d.step.mode.as_str(),
                "label": d.step.label,
                "at": d.at.to_string(),
                "at_ms": d.at.0,
            })
        })
        .collect();
    // One expected outage per service: each service's failure phases follow each
    // other with no success between them, so the daemon records them as one outage
    // (from the first failed check to the first success).
    let mut expected = Vec::new();
    for service in [Service::Site, Service::Mailbox] {
        let mine: Vec<&Done> = done.iter().filter(|d| d.step.service == service).collect();
        let start = mine.iter().find(|d| d.step.mode != Mode::Up);
        let end = mine.iter().rev().find(|d| d.step.mode == Mode::Up);
        if let (Some(s), Some(e)) = (start, end) {
            expected.push(serde_json::json!({
                "probe": service.probe(),
                "start": s.at.to_string(),
                "end": e.at.to_string(),
                "start_ms": s.at.0,
                "end_ms": e.at.0,
                "duration_ms": e.at.0 - s.at.0,
                "phases": mine.iter().filter(|d| d.step.mode != Mode::Up).map(|d| d.step.mode.as_str()).collect::<Vec<_>>(),
            }));
        }
    }
    let v = serde_json::json!({
        "format": MARK,
        "interval_ms": pace.interval.as_millis(),
        "timeout_ms": pace.timeout.as_millis(),
        "retry_interval_ms": pace.retry.as_millis(),
        "steps": steps,
        "expected_outages": expected,
        "finished": ended.map(|e| e.to_string()),
        "files": files,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Why DIR cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DirError {
    /// DIR holds a configuration or database the demo did not write.
    #[error(
        "{0} was not written by `slawatch demo` (no demo's {SCENARIO} beside it), and the demo \
         will not overwrite it: pass --dir with a new or empty directory"
    )]
    Foreign(String),
    /// DIR cannot be read or written.
    #[error("{0}")]
    Io(String),
}

/// The files a demo's `scenario.json` says it wrote, when DIR holds one.
fn written_before(dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(SCENARIO)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    if v.get("format")?.as_str()? != MARK {
        return None;
    }
    Some(
        v.get("files")?
            .as_array()?
            .iter()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect(),
    )
}

/// The files the demo writes whatever happens (the reports are added as written).
pub(crate) fn own_files() -> Vec<String> {
    let db = DATABASE;
    [
        CONFIG.to_owned(),
        PASSWORD.to_owned(),
        SCENARIO.to_owned(),
        db.to_owned(),
        format!("{db}-wal"),
        format!("{db}-shm"),
        format!("{db}-journal"),
        format!("{db}.lock"),
        format!("{db}.set-aside.jsonl"),
    ]
    .into()
}

/// A name the demo may remove: relative, plain components, no `..`.
fn is_own_name(name: &str) -> bool {
    let p = Path::new(name);
    !name.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Makes DIR ready: creates it, or, when a previous demo wrote there, removes the
/// files that demo wrote (and nothing else). Refuses a DIR holding a configuration
/// or a database with no demo's `scenario.json`.
pub(crate) fn prepare(dir: &Path) -> Result<(), DirError> {
    let io = |e: std::io::Error| DirError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let before = written_before(dir);
    if before.is_none() {
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let clash = name == CONFIG
                || name == SCENARIO
                || name.starts_with(DATABASE)
                || [".db", ".sqlite", ".sqlite3"]
                    .iter()
                    .any(|x| name.ends_with(x));
            if clash {
                return Err(DirError::Foreign(dir.join(name).display().to_string()));
            }
        }
    }
    let mut names = before.unwrap_or_default();
    names.extend(own_files());
    for name in names.iter().filter(|n| is_own_name(n)) {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(DirError::Io(format!("{}: {e}", dir.join(name).display()))),
        }
    }
    // The reports folder goes only when the demo's files were all it held.
    let _ = std::fs::remove_dir(dir.join(REPORTS));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_foreign_database_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("evidence.db"), "x").unwrap();
        let err = prepare(dir.path()).unwrap_err();
        assert!(matches!(err, DirError::Foreign(_)), "{err}");
        assert!(err.to_string().contains("--dir"), "{err}");
        assert!(dir.path().join("evidence.db").exists());
    }

    #[test]
    fn a_rerun_removes_only_what_the_demo_wrote() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(REPORTS)).unwrap();
        std::fs::write(dir.path().join("reports/a.json"), "x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        std::fs::write(dir.path().join(DATABASE), "x").unwrap();
        let files = vec!["reports/a.json".to_owned(), "../outside".to_owned()];
        std::fs::write(
            dir.path().join(SCENARIO),
            json(&Pace::FAST, &[], None, &files),
        )
        .unwrap();
        prepare(dir.path()).unwrap();
        assert!(!dir.path().join(DATABASE).exists());
        assert!(!dir.path().join(REPORTS).exists());
        assert!(!dir.path().join(SCENARIO).exists());
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn the_written_configuration_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PASSWORD), "secret\n").unwrap();
        let a = Addrs {
            site: "127.0.0.1:40001".parse().unwrap(),
            imap: "127.0.0.1:40002".parse().unwrap(),
            smtp: "127.0.0.1:40003".parse().unwrap(),
        };
        for pace in [Pace::FAST, Pace::NORMAL] {
            let path = dir.path().join(CONFIG);
            std::fs::write(&path, config(&pace, &a, jiff::civil::date(2026, 11, 26))).unwrap();
            let c = crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.probes.len(), 3);
            assert_eq!(c.daemon.database, dir.path().join(DATABASE));
            assert_eq!(c.daemon.reports_dir, dir.path().join(REPORTS));
        }
    }
}
