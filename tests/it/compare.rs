//! Contract, goodwill and regulation side by side (`report::compare`), over
//! `tests/fixtures/compare/probes.toml`: the contract `rossi-mail` is on a plan whose
//! liability clause excludes any credit (`credit.scheme = "none"`, breach on any
//! downtime), the provider announced a goodwill of 15 days, and the contract is
//! compared with `agcom-like` (2.50 EUR per local day touched, by analogy) and with
//! `yearly-offer` (a calendar-year window, which cannot be evaluated over a month).
//!
//! The evidence: one incident recorded with `slawatch incident add`, 2023-01-22
//! 10:00 to 2023-01-27 18:00 (Europe/Rome), 7,680 minutes touching 6 local days,
//! and the daemon's heartbeats over it (so it is monitored time; the rest of the
//! month is unmonitored, which both plans count as up). January has 44,640 minutes:
//! availability 1 − 7680/44640 = 82.7957 %.
//!
//! - the contract: breached, 0.00 EUR, because of its liability clause;
//! - the goodwill: 15 days × 29.90 EUR / 31 days = 14.4677… → 14.47 EUR, plus the
//!   Business Mail upgrade (shown, not valued);
//! - agcom-like: 6 days × 2.50 EUR = 15.00 EUR, the largest;
//! - yearly-offer: no figure, and the reason.

use crate::util::{fixture, slawatch};
use serde_json::Value;
use slawatch::model::UtcMillis;
use slawatch::store::Store;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn config() -> PathBuf {
    fixture("compare/probes.toml")
}

/// The database: heartbeats over the incident, then the incident, recorded as a
/// user would.
fn db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compare-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("slawatch.db");
        let store = Store::open(&db).unwrap();
        let mut t = at("2023-01-22T08:00:00Z");
        while t <= at("2023-01-27T18:00:00Z") {
            store.heartbeat("test-1", UtcMillis(t)).unwrap();
            t += slawatch::store::COVERAGE_GAP_MS;
        }
        store.close().unwrap();
        slawatch()
            .args(["incident", "add", "--contract", "rossi-mail"])
            .args(["--start", "2023-01-22T10:00:00+01:00"])
            .args(["--end", "2023-01-27T18:00:00+01:00"])
            .args([
                "--source",
                "status-page",
                "--note",
                "status page: mail down",
            ])
            .arg("--config")
            .arg(config())
            .arg("--database")
            .arg(&db)
            .assert()
            .success();
        db
    })
}

/// `slawatch report` with `args`; its standard output.
fn report(args: &[&str]) -> String {
    let out = slawatch()
        .arg("report")
        .args(args)
        .arg("--config")
        .arg(config())
        .arg("--database")
        .arg(db())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(period: &str) -> Value {
    let text = report(&["--period", period, "--format", "json", "--out", "-"]);
    let v: Value = serde_json::from_str(&text).unwrap();
    v["contracts"][0].clone()
}

#[test]
fn compare_json_values_each_remedy_and_names_the_largest() {
    let c = json("2023-01");
    assert_eq!(c["evaluation"]["breach"], true);
    assert_eq!(c["evaluation"]["availability_pct"], "82.7957");
    let cmp = &c["comparison"];
    assert_eq!(cmp["currency"], "EUR");
    let r = cmp["remedies"].as_array().unwrap();
    assert_eq!(r.len(), 4, "{cmp:#}");

    // The contract: breached, nothing owed, and why.
    assert_eq!(r[0]["kind"], "contract");
    assert_eq!(r[0]["label"], "contract (mail-pro)");
    assert_eq!(r[0]["breach"], true);
    assert_eq!(r[0]["money"], "0.00");
    let why = r[0]["why_nothing"].as_str().unwrap();
    assert!(
        why.contains("liability clause (credit.scheme = \"none\")")
            && why.contains("SLA was breached"),
        "{why}"
    );

    // The goodwill: 15 days at 29.90 / 31 = 14.47 EUR, and the upgrade not valued.
    assert_eq!(r[1]["kind"], "goodwill");
    assert_eq!(r[1]["label"], "Mail outage of 22-27 January");
    assert_eq!(r[1]["breach"], false);
    assert_eq!(r[1]["money"], "14.47");
    assert_eq!(r[1]["days"], 15);
    assert_eq!(r[1]["other"], "Business Mail");
    assert_eq!(r[1]["why_nothing"], Value::Null);

    // The regulation by analogy: 6 local days touched × 2.50 = 15.00 EUR.
    assert_eq!(r[2]["kind"], "compared");
    assert_eq!(r[2]["plan"], "agcom-like");
    assert_eq!(r[2]["breach"], true);
    assert_eq!(r[2]["money"], "15.00");
    assert_eq!(r[2]["availability_pct"], "82.7957");

    // A plan that does not fit the period gives its reason, not a figure or a failure.
    assert_eq!(r[3]["kind"], "compared");
    assert_eq!(r[3]["money"], Value::Null);
    let why = r[3]["why_nothing"].as_str().unwrap();
    assert!(
        why.starts_with("cannot be evaluated over this period: a calendar_year plan"),
        "{why}"
    );

    assert_eq!(cmp["largest"], 2);
    assert!(cmp["method"].as_str().unwrap().contains("by analogy"));
}

#[test]
fn compare_the_terminal_summary_says_it_in_english_and_italian() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let en = report(&["--period", "2023-01", "--out", out]);
    for line in [
        "rossi-mail (Mario Rossi), 2023-01:",
        "  SLA breached      yes (availability 82.7957 %)",
        "  contract owes     nothing: the contract's liability clause (credit.scheme = \"none\") \
         excludes any credit, although the SLA was breached",
        "  provider offered  Mail outage of 22-27 January: 14.47 EUR (15 days of service); \
         Business Mail (not valued)",
        "  by analogy        agcom-like (by analogy): 15.00 EUR | yearly-offer (by analogy): \
         nothing: cannot be evaluated over this period: a calendar_year plan is evaluated per \
         year: write --period YYYY, not '2023-01'",
        "  largest           agcom-like (by analogy): 15.00 EUR",
        "  claim by          PASSED: the last day was 2 March 2023",
    ] {
        assert!(en.lines().any(|l| l == line), "no line {line:?} in:\n{en}");
    }
    let it = report(&[
        "--period",
        "2023-01",
        "--out",
        out,
        "--letter",
        "--lang",
        "it",
        "--date",
        "2023-02-02",
    ]);
    for line in [
        "  SLA violato            sì (disponibilità 82,7957 %)",
        "  dovuto dal contratto   nulla: la clausola di limitazione di responsabilità del \
         contratto (credit.scheme = \"none\") esclude ogni indennizzo, benché lo SLA sia stato \
         violato",
        "  offerto dal fornitore  Mail outage of 22-27 January: 14,47 EUR (15 giorni di \
         servizio); Business Mail (non valutato)",
        "  per analogia           agcom-like (per analogia): 15,00 EUR | yearly-offer (per \
         analogia): nulla: non valutabile su questo periodo (a calendar_year plan is evaluated \
         per year: write --period YYYY, not '2023-01')",
        "  il più alto            agcom-like (per analogia): 15,00 EUR",
        "  reclamo entro          SCADUTO: l'ultimo giorno era il 2 marzo 2023",
    ] {
        assert!(it.lines().any(|l| l == line), "no line {line:?} in:\n{it}");
    }
}

#[test]
fn compare_every_file_format_shows_the_comparison() {
    let dir = tempfile::tempdir().unwrap();
    report(&[
        "--period",
        "2023-01",
        "--format",
        "all",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let html = read("slawatch-2023-01.html");
    assert!(html.contains("<table class=\"compare\">"), "{html}");
    assert!(html.contains(
        "<tr class=\"largest\"><td>★ agcom-like (by analogy)</td><td>yes</td><td>15.00 EUR</td>"
    ));
    assert!(html.contains("<td>14.47 EUR (15 days of service); Business Mail (not valued)</td>"));
    // The table comes first in the contract's section, before the plan's terms.
    let section = &html[html.find("<section class=\"contract\"").unwrap()..];
    assert!(section.find("class=\"compare\"").unwrap() < section.find("<p>Plan ").unwrap());

    let md = read("slawatch-2023-01.md");
    assert!(
        md.contains("| ★ agcom-like (by analogy) | yes | 15.00 EUR |"),
        "{md}"
    );
    assert!(md.contains("| contract (mail-pro) | yes | nothing: the contract's liability clause"));
    // A plan that could not be evaluated judged nothing: no "no" in its breach cell.
    assert!(
        md.contains("| yearly-offer (by analogy) | — | nothing: cannot be evaluated"),
        "{md}"
    );

    let csv = read("slawatch-2023-01-contracts.csv");
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",contract_remedy,goodwill,compared_by_analogy,largest")
    );
    let row = lines.next().unwrap();
    assert!(
        row.ends_with(
            ",Mail outage of 22-27 January: 14.47 EUR (15 days of service); Business Mail (not \
             valued),\"agcom-like (by analogy): 15.00 EUR | yearly-offer (by analogy): nothing: \
             cannot be evaluated over this period: a calendar_year plan is evaluated per year: \
             write --period YYYY, not '2023-01'\",agcom-like (by analogy): 15.00 EUR"
        ),
        "{row}"
    );
}

#[test]
fn compare_a_goodwill_outside_the_period_does_not_apply() {
    // February: no incident, the goodwill's date is before it and no incident runs
    // into it; the compared plan is still evaluated, and nothing is worth anything.
    let c = json("2023-02");
    let kinds: Vec<&str> = c["comparison"]["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["contract", "compared", "compared"]);
    assert_eq!(
        c["comparison"]["remedies"][0]["why_nothing"],
        "the SLA was met"
    );
    assert_eq!(c["comparison"]["remedies"][1]["money"], "0.00");
    assert_eq!(c["comparison"]["largest"], Value::Null);
}

#[test]
fn compare_the_html_table_fits_a_phone_and_a_desktop() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    report(&["--period", "2023-01", "--out", out]);
    crate::browser::assert_report_renders(&dir.path().join("slawatch-2023-01.html"));
}

/// `slawatch verify --database DB`: its exit code and output.
fn verify(db: &Path) -> (i32, String) {
    let out = slawatch()
        .arg("verify")
        .arg("--database")
        .arg(db)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
    (out.status.code().unwrap(), text)
}

#[test]
fn compare_goodwill_is_stored_once_sealed_and_verified() {
    let config = slawatch::config::load(&config()).unwrap();
    assert_eq!(config.goodwill.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slawatch.db");
    let store = Store::open(&db).unwrap();
    // The daemon records the configuration's offers at every start: the same offer
    // is stored once; a changed one is a new row and the old one stays.
    store.record_goodwill(&config.goodwill).unwrap();
    store.record_goodwill(&config.goodwill).unwrap();
    let mut changed = config.goodwill.clone();
    changed[0].extension_days = Some(30);
    store.record_goodwill(&changed).unwrap();
    store.close().unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: Vec<(String, Option<i64>, String)> = conn
        .prepare("SELECT scope, extension_days, date FROM goodwill ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        [
            (
                "contract:rossi-mail".to_owned(),
                Some(15),
                "2023-01-22".to_owned()
            ),
            (
                "contract:rossi-mail".to_owned(),
                Some(30),
                "2023-01-22".to_owned()
            ),
        ]
    );
    let sealed: i64 = conn
        .query_row(
            "SELECT count(*) FROM seals WHERE tbl = 'goodwill'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sealed, 2);
    // A slip at the sqlite3 prompt fails loudly.
    for sql in [
        "UPDATE goodwill SET amount = '99.00'",
        "DELETE FROM goodwill",
    ] {
        let err = conn.execute_batch(sql).unwrap_err().to_string();
        assert!(err.contains("evidence is append-only"), "{sql}: {err}");
    }
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");

    // An edit past the trigger is found and named.
    conn.execute_batch(
        "DROP TRIGGER goodwill_append_only_update;
         UPDATE goodwill SET extension_days = 365 WHERE id = 1;",
    )
    .unwrap();
    let (code, out) = verify(&db);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("goodwill row 1 (scope contract:rossi-mail, 2023-01-22T00:00:00")
            && out.contains("was altered"),
        "{out}"
    );
}

#[test]
fn compare_the_daemon_records_the_configured_goodwill_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("probes.toml");
    let port = crate::util::closed_addr().port();
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"1s\"\nretry_interval = \"1s\"\n\
             timeout = \"1s\"\n\n[[tcp]]\nname = \"mailbox\"\ntarget = \"127.0.0.1:{port}\"\n\n\
             [[plan]]\nid = \"mail-pro\"\ncurrency = \"EUR\"\nfee = \"29.90\"\n\
             window.kind = \"calendar_month\"\nwindow.timezone = \"Europe/Rome\"\n\
             objective.target = \"99.9\"\nmeasurement.method = \"time\"\ncredit.scheme = \"none\"\n\n\
             [[contract]]\nid = \"rossi-mail\"\nplan = \"mail-pro\"\nprobes = [\"mailbox\"]\n\n\
             [[goodwill]]\nevent = \"Mail outage\"\ndate = \"2023-01-22\"\nplans = [\"mail-pro\"]\n\
             amount = \"10.00\"\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut daemon = std::process::Command::new(crate::util::slawatch_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let db = dir.path().join("evidence.db");
    let started = std::time::Instant::now();
    let row = loop {
        let found =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()
                .and_then(|c| {
                    c.query_row("SELECT scope, amount FROM goodwill", [], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .ok()
                });
        if let Some(row) = found {
            break row;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no goodwill stored within 20 s: {}",
            std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    std::process::Command::new("kill")
        .args(["-s", "TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(daemon.wait().unwrap().success());
    assert_eq!(row, ("plan:mail-pro".to_owned(), "10.00".to_owned()));
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
}
