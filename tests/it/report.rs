//! Breach reports and claim letters over a fixture database built with the Store
//! API (checks, outages, heartbeats, a manual incident) and the configuration
//! `tests/fixtures/report/probes.toml`. Every instant is pinned; nothing reads the clock.
//!
//! The fixture, January 2023 in Europe/Rome (UTC+1), period
//! 2022-12-31T23:00Z to 2023-01-31T23:00Z (44,640 min):
//!
//! rossi-shop (shop-site + shop-mail, unavailable when any is down; 29.90 EUR,
//! 99.9 %, 10 % below 99.9):
//! 1. shop-site down 2022-12-31T22:30Z to 2023-01-01T00:10Z (100 min, crosses the
//!    period's start: 70 min counted);
//! 2. shop-mail down 2023-01-10T07:00Z to 09:00Z (timeout) and shop-site down
//!    08:30Z to 09:30Z (refused, a detail full of markup): one incident of 150 min;
//! 3. shop-site down 2023-01-15T01:10Z to 01:50Z, inside the maintenance window
//!    01:00Z to 03:00Z announced five days before: excluded;
//! 4. a status-page incident for the contract, 2023-01-20T12:00Z to 12:20Z (20 min).
//!
//! No data: the daemon stopped 2023-01-25T00:00Z to 03:00Z (180 min, policy exclude).
//! Downtime 70 + 150 + 20 = 240 min of 44,460 measured: 99.4602 %, a breach,
//! 10 % of 29.90 = 2.99 EUR.
//!
//! bianchi-blog (blog-site, from 2023-01-10 local, 99.5 %): one 30-minute outage on
//! 2023-01-12; 31,680 min in the contract minus the 180 min gap: 99.9048 %, no breach.

use crate::util::{fixture, slawatch};
use serde_json::Value;
use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::outage::{Event, Outage};
use slawatch::report::{self, Format, Lang, Report};
use slawatch::store::{Incident, IncidentSource, Reader, Store};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

const MIN: i64 = 60_000;
/// Checks run every five minutes; heartbeats every five seconds.
const STEP: i64 = 5 * MIN;
const BEAT: i64 = 5_000;

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

/// When the report is made: the day after the period was sealed.
pub(crate) fn generated_at() -> UtcMillis {
    UtcMillis(at("2023-02-02T08:00:00Z"))
}

const MARKUP: &str = "connection refused <script>alert(1)</script> | a,b \"quoted\"";

struct Down {
    probe: &'static str,
    start: &'static str,
    end: &'static str,
    class: ErrorClass,
    detail: &'static str,
}

fn outages() -> Vec<Down> {
    let d = |probe, start, end, class, detail| Down {
        probe,
        start,
        end,
        class,
        detail,
    };
    vec![
        d(
            "shop-site",
            "2022-12-31T22:30:00Z",
            "2023-01-01T00:10:00Z",
            ErrorClass::Status,
            "HTTP 503",
        ),
        d(
            "shop-mail",
            "2023-01-10T07:00:00Z",
            "2023-01-10T09:00:00Z",
            ErrorClass::Timeout,
            "no TLS handshake within 10 s",
        ),
        d(
            "shop-site",
            "2023-01-10T08:30:00Z",
            "2023-01-10T09:30:00Z",
            ErrorClass::Refused,
            MARKUP,
        ),
        d(
            "shop-site",
            "2023-01-15T01:10:00Z",
            "2023-01-15T01:50:00Z",
            ErrorClass::Refused,
            "connection refused",
        ),
        d(
            "blog-site",
            "2023-01-12T10:00:00Z",
            "2023-01-12T10:30:00Z",
            ErrorClass::Status,
            "HTTP 500",
        ),
    ]
}

/// The daemon ran from here to there, except during the gap.
const RUN_FROM: &str = "2022-12-28T00:00:00Z";
const RUN_TO: &str = "2023-02-01T06:00:00Z";
const GAP: (&str, &str) = ("2023-01-25T00:00:00Z", "2023-01-25T03:00:00Z");

fn check(probe: &str, t: i64, down: Option<&Down>) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(t),
        status: if down.is_some() {
            Status::Down
        } else {
            Status::Up
        },
        class: down.map(|d| d.class),
        detail: down.map(|d| d.detail.to_owned()).unwrap_or_default(),
        phases: Phases {
            total: Some(Duration::from_millis(
                40 + u64::try_from(t / STEP % 7).unwrap(),
            )),
            ..Phases::default()
        },
        cert_not_after: None,
    }
}

/// Builds the fixture database at `db` with the Store API.
fn build_db(db: &Path) {
    let store = Store::open(db).unwrap();
    store
        .register_probes(&[
            ("shop-site".to_owned(), "http".to_owned()),
            ("shop-mail".to_owned(), "tcp".to_owned()),
            ("blog-site".to_owned(), "http".to_owned()),
        ])
        .unwrap();
    let (from, to) = (at(RUN_FROM), at(RUN_TO));
    let (gap_s, gap_e) = (at(GAP.0), at(GAP.1));
    let downs = outages();
    // Heartbeats and checks in time order, as the daemon sends them.
    let mut t = from;
    while t <= to {
        if !(gap_s < t && t < gap_e) {
            store.heartbeat("milano-1", UtcMillis(t)).unwrap();
            if t % STEP == 0 && t != gap_s {
                for probe in ["shop-site", "shop-mail", "blog-site"] {
                    let down = downs
                        .iter()
                        .find(|d| d.probe == probe && at(d.start) <= t && t < at(d.end));
                    store.record_check(&check(probe, t, down)).unwrap();
                }
            }
        }
        t += BEAT;
    }
    for d in &downs {
        let (s, e) = (at(d.start), at(d.end));
        store
            .record_outage(&Event::Closed(Outage {
                probe: d.probe.to_owned(),
                start: UtcMillis(s),
                end: Some(UtcMillis(e)),
                last_failure: UtcMillis(e - STEP),
                last_success_before: Some(UtcMillis(s - STEP)),
                class: d.class,
                detail: d.detail.to_owned(),
                failed_checks: u32::try_from((e - s) / STEP).unwrap(),
            }))
            .unwrap();
    }
    store.close().unwrap();
    slawatch::store::add_incident(
        db,
        &Incident {
            id: 0,
            probe: None,
            contract: Some("rossi-shop".to_owned()),
            start: UtcMillis(at("2023-01-20T12:00:00Z")),
            end: UtcMillis(at("2023-01-20T12:20:00Z")),
            source: IncidentSource::StatusPage,
            note: "Provider status page: DNS resolution errors".to_owned(),
            created_at: UtcMillis(at("2023-01-21T09:00:00Z")),
            ..Default::default()
        },
    )
    .unwrap();
}

/// The fixture database, built once per test run.
pub(crate) fn fixture_db() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("slawatch.db");
        build_db(&db);
        db
    })
}

pub(crate) fn config_path() -> PathBuf {
    fixture("report/probes.toml")
}

fn fixture_report() -> Report {
    let config = slawatch::config::load(&config_path()).unwrap();
    let reader = Reader::open(fixture_db()).unwrap();
    report::build(&config, &reader, "2023-01", None, generated_at()).unwrap()
}

fn rendered(format: Format) -> Vec<(String, String)> {
    report::render(&fixture_report(), format, "slawatch-2023-01", Lang::En)
}

/// Writes the HTML report of the fixture into `dir` and returns its path (for the
/// browser test).
pub(crate) fn fixture_html_report(dir: &Path) -> PathBuf {
    let (name, html) = rendered(Format::Html).remove(0);
    let path = dir.join(name);
    std::fs::write(&path, html).unwrap();
    path
}

fn letter(lang: Lang) -> String {
    let r = fixture_report();
    let c = r
        .contracts
        .iter()
        .find(|c| c.contract.id == "rossi-shop")
        .unwrap();
    report::letter::render(
        c,
        lang,
        &format!("slawatch-2023-01-rossi-shop-{}.html", lang.as_str()),
        &r.vantage,
        jiff::civil::date(2023, 2, 2),
    )
    .unwrap()
}

// ---- snapshots of every format and both letters ----

#[test]
fn html_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture_html_report(dir.path());
    assert_eq!(path.file_name().unwrap(), "slawatch-2023-01.html");
    insta::assert_snapshot!("report_html", std::fs::read_to_string(path).unwrap());
}

#[test]
fn markdown_snapshot() {
    let files = rendered(Format::Md);
    assert_eq!(files[0].0, "slawatch-2023-01.md");
    insta::assert_snapshot!("report_md", files[0].1);
}

#[test]
fn csv_snapshots() {
    let files = rendered(Format::Csv);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "slawatch-2023-01-contracts.csv",
            "slawatch-2023-01-incidents.csv",
            "slawatch-2023-01-records.csv"
        ]
    );
    insta::assert_snapshot!("report_contracts_csv", files[0].1);
    insta::assert_snapshot!("report_incidents_csv", files[1].1);
}

#[test]
fn json_snapshot() {
    let v: Value = serde_json::from_str(&rendered(Format::Json)[0].1).unwrap();
    insta::assert_json_snapshot!("report_json", v);
}

#[test]
fn letter_snapshots() {
    insta::assert_snapshot!("letter_it", letter(Lang::It));
    insta::assert_snapshot!("letter_en", letter(Lang::En));
}

// ---- the figures ----

fn contract<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contract"]["id"] == id)
        .unwrap()
}

#[test]
fn the_breach_and_the_figures_behind_it() {
    let v = report::to_json(&fixture_report());
    let shop = contract(&v, "rossi-shop");
    let e = &shop["evaluation"];
    assert_eq!(e["period"]["start"], "2022-12-31T23:00:00Z");
    assert_eq!(e["period"]["timezone"], "Europe/Rome");
    assert_eq!(e["downtime_minutes"], "240");
    assert_eq!(e["measured_minutes"], "44460");
    assert_eq!(e["availability_pct"], "99.4602");
    assert_eq!(e["breach"], true);
    assert_eq!(e["credit"]["amount"], "2.99");
    assert_eq!(e["credit"]["currency"], "EUR");
    // 30 local days after 2023-02-01 00:00 in Rome.
    assert_eq!(e["claim_deadline"], "2023-03-02T23:00:00Z");
    let blog = contract(&v, "bianchi-blog");
    assert_eq!(blog["evaluation"]["availability_pct"], "99.9048");
    assert_eq!(blog["evaluation"]["breach"], false);
    assert_eq!(blog["owes"], false);
    assert_eq!(v["summary"]["breached"], 1);
    assert_eq!(v["summary"]["owed"][0]["amount"], "2.99");
    // The evidence digest is stated, and is the store's.
    let reader = Reader::open(fixture_db()).unwrap();
    let d = reader
        .evidence_digest(
            &["shop-site".to_owned(), "shop-mail".to_owned()],
            UtcMillis(at("2022-12-31T23:00:00Z")),
            UtcMillis(at("2023-01-31T23:00:00Z")),
        )
        .unwrap();
    assert_eq!(shop["evidence"]["sha256"], d.sha256.as_str());
    assert_eq!(shop["evidence"]["checks"], d.checks);
    assert!(d.checks > 17_000, "{d:?}");
}

#[test]
fn an_outage_crossing_the_period_start_counts_only_its_part_in_the_period() {
    let v = report::to_json(&fixture_report());
    let first = &contract(&v, "rossi-shop")["incidents"][0];
    assert_eq!(first["start"], "2022-12-31T22:30:00.000Z");
    assert_eq!(first["start_local"], "2022-12-31 23:30:00 +01:00");
    assert_eq!(first["duration_minutes"], "100");
    assert_eq!(first["counted_minutes"], "70");
    assert_eq!(first["proven_minutes"], "95");
    assert_eq!(first["uncertainty_minutes"], "5");
    assert_eq!(first["excluded"], Value::Null);
}

#[test]
fn overlapping_outages_of_two_probes_are_one_incident_with_both_classes() {
    let v = report::to_json(&fixture_report());
    let second = &contract(&v, "rossi-shop")["incidents"][1];
    assert_eq!(second["start"], "2023-01-10T07:00:00.000Z");
    assert_eq!(second["end"], "2023-01-10T09:30:00.000Z");
    assert_eq!(second["counted_minutes"], "150");
    assert_eq!(
        second["probes"],
        serde_json::json!(["shop-mail", "shop-site"])
    );
    assert_eq!(second["vantages"], serde_json::json!(["milano-1"]));
    assert_eq!(second["sources"], serde_json::json!(["measured"]));
    // 24 failed checks of shop-mail (timeout) and 12 of shop-site (refused).
    assert_eq!(
        second["classes"],
        serde_json::json!([
            {"class": "refused", "failed_checks": 12},
            {"class": "timeout", "failed_checks": 24}
        ])
    );
}

#[test]
fn the_outage_inside_announced_maintenance_is_excluded_and_says_so() {
    let r = fixture_report();
    let shop = r
        .contracts
        .iter()
        .find(|c| c.contract.id == "rossi-shop")
        .unwrap();
    let third = &shop.incidents[2];
    assert_eq!(third.start, UtcMillis(at("2023-01-15T01:10:00Z")));
    assert_eq!(third.maintenance_ms, 40 * MIN);
    assert!(third.excluded.is_some(), "{third:?}");
    let md = report::render(&r, Format::Md, "x", Lang::En).remove(0).1;
    assert!(
        md.contains("excluded: within announced maintenance (40 min)"),
        "{md}"
    );
    let html = report::render(&r, Format::Html, "x", Lang::En).remove(0).1;
    assert!(html.contains("excluded: within announced maintenance (40 min)"));
    assert!(html.contains("Storage firmware upgrade"));
}

#[test]
fn the_status_page_incident_is_kept_and_marked() {
    let v = report::to_json(&fixture_report());
    let fourth = &contract(&v, "rossi-shop")["incidents"][3];
    assert_eq!(fourth["sources"], serde_json::json!(["status-page"]));
    assert_eq!(fourth["counted_minutes"], "20");
    assert_eq!(fourth["proven_minutes"], "0");
    assert_eq!(fourth["uncertainty_minutes"], Value::Null);
    assert!(
        fourth["details"][0]
            .as_str()
            .unwrap()
            .contains("DNS resolution errors")
    );
}

#[test]
fn the_no_data_gap_shows_with_its_policy_in_every_format() {
    let r = fixture_report();
    let v = report::to_json(&r);
    let shop = contract(&v, "rossi-shop");
    assert_eq!(
        shop["no_data"],
        serde_json::json!([{"start": "2023-01-25T00:00:00.000Z", "end": "2023-01-25T03:00:00.000Z", "minutes": "180"}])
    );
    assert_eq!(shop["evaluation"]["no_data_minutes"], "180");
    assert_eq!(shop["evaluation"]["missing_data"], "exclude");
    let phrase = "180 min (policy exclude: removed from the measured time)";
    for f in [Format::Html, Format::Md] {
        let text = report::render(&r, f, "x", Lang::En).remove(0).1;
        assert!(text.contains(phrase), "{f:?}");
    }
    let csv = report::render(&r, Format::Csv, "x", Lang::En).remove(0).1;
    assert!(csv.contains(",180,exclude,"), "{csv}");
}

#[test]
fn a_contract_that_starts_mid_period_is_measured_from_its_start() {
    let v = report::to_json(&fixture_report());
    let blog = contract(&v, "bianchi-blog");
    assert_eq!(
        blog["timeline"]["service_start"],
        "2023-01-09T23:00:00.000Z"
    );
    // 22 days from 2023-01-10 local, less the 180 min gap.
    assert_eq!(blog["evaluation"]["measured_minutes"], "31500");
    assert_eq!(blog["evaluation"]["downtime_minutes"], "30");
}

// ---- escaping ----

#[test]
fn a_detail_full_of_markup_and_separators_is_escaped_in_every_format() {
    let r = fixture_report();
    let html = report::render(&r, Format::Html, "x", Lang::En).remove(0).1;
    assert!(!html.contains("<script>"), "raw <script> in the HTML");
    assert!(html.contains(
        "connection refused &lt;script&gt;alert(1)&lt;/script&gt; | a,b &quot;quoted&quot;"
    ));
    let md = report::render(&r, Format::Md, "x", Lang::En).remove(0).1;
    assert!(md.contains("connection refused \\<script\\>alert(1)\\</script\\> \\| a,b \"quoted\""));
    assert!(!md.contains("<script>"));
    // Every incident row of the Markdown table has exactly the header's cells.
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" min |"))
        .collect();
    assert!(!rows.is_empty());
    for row in rows {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 13, "{row}");
    }
    let csv = report::render(&r, Format::Csv, "x", Lang::En).remove(1).1;
    assert!(
        csv.contains(
            "\"shop-site: connection refused <script>alert(1)</script> | a,b \"\"quoted\"\"\nshop-mail: no TLS handshake within 10 s\""
        ),
        "{csv}"
    );
    // Every record has the header's 19 fields (a quoted field may span lines).
    let records = csv_records(&csv);
    assert_eq!(records.len(), 1 + 5);
    for rec in &records {
        assert_eq!(rec.len(), 19, "{rec:?}");
    }
}

/// A small RFC 4180 reader, to check the writer's quoting.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut rec, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => rec.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                rec.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut rec));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

// ---- the report and `slawatch sla` agree ----

#[test]
fn a_report_figure_equals_what_slawatch_sla_gives_for_the_same_timeline() {
    let dir = tempfile::tempdir().unwrap();
    // The report, through the command line.
    let out = slawatch()
        .args(["report", "--period", "2023-01", "--contract", "rossi-shop"])
        .args(["--format", "json", "--out", "-", "--config"])
        .arg(config_path())
        .arg("--database")
        .arg(fixture_db())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shop = contract(&report, "rossi-shop");
    // Its timeline, through the calculator, with the contract's overrides.
    let timeline = dir.path().join("timeline.json");
    std::fs::write(&timeline, serde_json::to_string(&shop["timeline"]).unwrap()).unwrap();
    let out = slawatch()
        .args(["sla", "--plans"])
        .arg(config_path())
        .args(["--plan", "hosting-pro", "--timeline"])
        .arg(&timeline)
        .args([
            "--period",
            "2023-01",
            "--fee",
            "29.90",
            "--customer-type",
            "business",
        ])
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sla: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &shop["evaluation"];
    for key in [
        "availability_pct",
        "downtime_minutes",
        "measured_minutes",
        "no_data_minutes",
        "breach",
        "credit",
        "claim_deadline",
        "incidents",
        "trace",
    ] {
        assert_eq!(sla[key], e[key], "{key}");
    }
    assert_eq!(sla["credit"]["amount"], "2.99");
    assert_eq!(
        report::timeline_json(&fixture_report(), "rossi-shop").unwrap(),
        shop["timeline"]
    );
}

// ---- the command line ----

#[test]
fn the_command_writes_every_format_and_the_letters_it_owes() {
    let dir = tempfile::tempdir().unwrap();
    let out = slawatch()
        .args([
            "report", "--period", "2023-01", "--format", "all", "--letter",
        ])
        .args(["--lang", "it", "--date", "2023-02-02", "--config"])
        .arg(config_path())
        .arg("--database")
        .arg(fixture_db())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "claim-rossi-shop-2023-01-it.txt",
            "slawatch-2023-01-contracts.csv",
            "slawatch-2023-01-incidents.csv",
            "slawatch-2023-01-records.csv",
            "slawatch-2023-01-rossi-shop-it.html",
            "slawatch-2023-01.html",
            "slawatch-2023-01.json",
            "slawatch-2023-01.md",
        ]
    );
    for n in &names {
        assert!(
            stdout.contains(&format!("wrote {}", dir.path().join(n).display())),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("bianchi-blog, 2023-01: nulla da richiedere"),
        "{stdout}"
    );
    // The letter matches the snapshot's but for nothing: same date, same attachment.
    let letter_file =
        std::fs::read_to_string(dir.path().join("claim-rossi-shop-2023-01-it.txt")).unwrap();
    assert_eq!(letter_file, letter(Lang::It));
}

#[test]
fn bad_input_exits_2_and_says_what_to_fix() {
    let run = |args: &[&str]| {
        let out = slawatch()
            .arg("report")
            .args(args)
            .arg("--config")
            .arg(config_path())
            .arg("--database")
            .arg(fixture_db())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    assert!(run(&["--period", "2023-13"]).contains("write YYYY-MM for a month"));
    assert!(run(&["--period", "2023-01", "--contract", "nope"]).contains("no contract 'nope'"));
    assert!(
        run(&["--period", "2023-01", "--format", "csv", "--out", "-"]).contains("give --out DIR")
    );
    assert!(run(&["--period", "2023-01", "--format", "pdf"]).contains("pdf"));
    // A yearly period for monthly plans, named: not evaluable.
    assert!(
        run(&["--period", "2023", "--contract", "rossi-shop"]).contains("contract 'rossi-shop'")
    );
}

// ---- the daemon's own reports ----

#[test]
fn the_daemon_writes_each_closed_period_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("evidence.db");
    std::fs::copy(fixture_db(), &db).unwrap();
    let text = std::fs::read_to_string(config_path())
        .unwrap()
        .replace(
            "database = \"slawatch.db\"        # the tests pass --database",
            &format!("database = {:?}", db.display().to_string()),
        )
        .replace(
            "reports_dir = \"reports\"         # the tests pass --out",
            &format!(
                "reports_dir = {:?}",
                dir.path().join("out").display().to_string()
            ),
        );
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, text).unwrap();
    let config = slawatch::config::load(&path).unwrap();
    assert_eq!(config.daemon.database, db);
    // Monitoring began on 2022-12-28: December and January are over and sealed.
    let files = report::auto::write_due(&config, generated_at()).unwrap();
    let mut names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "slawatch-2022-12-contracts.csv",
            "slawatch-2022-12-incidents.csv",
            "slawatch-2022-12-records.csv",
            "slawatch-2022-12.html",
            "slawatch-2022-12.json",
            "slawatch-2022-12.md",
            "slawatch-2023-01-contracts.csv",
            "slawatch-2023-01-incidents.csv",
            "slawatch-2023-01-records.csv",
            "slawatch-2023-01.html",
            "slawatch-2023-01.json",
            "slawatch-2023-01.md",
        ]
    );
    // The January JSON is the report of the same evidence.
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/slawatch-2023-01.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        contract(&v, "rossi-shop")["evaluation"]["credit"]["amount"],
        "2.99"
    );
    let reader = Reader::open(&db).unwrap();
    assert_eq!(
        reader.meta("report_written:2023-01").unwrap().as_deref(),
        Some("2023-02-02T08:00:00.000Z")
    );
    // Once: an hour later nothing is written again, even with the files gone.
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    let later = UtcMillis(generated_at().0 + 3_600_000);
    assert!(report::auto::write_due(&config, later).unwrap().is_empty());
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_contract_not_in_force_during_the_period_is_listed_as_not_evaluated() {
    let config = slawatch::config::load(&config_path()).unwrap();
    let reader = Reader::open(fixture_db()).unwrap();
    let r = report::build(&config, &reader, "2022-12", None, generated_at()).unwrap();
    let ids: Vec<&str> = r.contracts.iter().map(|c| c.contract.id.as_str()).collect();
    assert_eq!(ids, ["rossi-shop"]);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].0, "bianchi-blog");
    assert!(
        r.skipped[0].1.contains("not in force during 2022-12"),
        "{:?}",
        r.skipped
    );
    let md = report::render(&r, Format::Md, "x", Lang::En).remove(0).1;
    assert!(md.contains("Not evaluated: **bianchi-blog**"), "{md}");
    // December's share of the outage crossing into January: 30 min.
    assert_eq!(
        r.contracts[0].incidents[0].counted_ms,
        slawatch::sla::num::int(30 * MIN)
    );
}

/// The two halves of the evidence story together: a report's stated digest and chain
/// head verify against the database, and stop verifying once a check is edited.
#[test]
fn a_report_verifies_against_its_database_until_a_check_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slawatch.db");
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", fixture_db().display()));
        if from.exists() {
            std::fs::copy(&from, format!("{}{suffix}", db.display())).unwrap();
        }
    }
    let out = dir.path().join("out");
    slawatch()
        .args([
            "report", "--period", "2023-01", "--format", "json", "--config",
        ])
        .arg(config_path())
        .arg("--database")
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let json = out.join("slawatch-2023-01.json");
    let verify = || {
        slawatch()
            .args(["verify", "--database"])
            .arg(&db)
            .arg("--report")
            .arg(&json)
            .assert()
    };
    verify().success();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'failures'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
    }
    conn.execute(
        "UPDATE failures SET detail = 'all fine' WHERE id = (SELECT min(id) FROM failures)",
        [],
    )
    .unwrap();
    drop(conn);
    verify().code(1);
}

// ---- where report files go ----

#[test]
fn report_files_never_write_through_a_planted_link() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let names = [
        "slawatch-2023-01-contracts.csv",
        "slawatch-2023-01-incidents.csv",
        "slawatch-2023-01.html",
        "slawatch-2023-01.json",
        "slawatch-2023-01.md",
    ];
    // Links where a writer might put its temporary file, and one at a final name.
    for n in names {
        std::os::unix::fs::symlink(&victim, dir.path().join(format!("{n}.tmp"))).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(format!(".{n}.tmp"))).unwrap();
    }
    std::os::unix::fs::symlink(&victim, dir.path().join(names[2])).unwrap();
    let out = slawatch()
        .args([
            "report", "--period", "2023-01", "--format", "all", "--config",
        ])
        .arg(config_path())
        .arg("--database")
        .arg(fixture_db())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for n in names {
        let meta = std::fs::symlink_metadata(dir.path().join(n)).unwrap();
        assert!(meta.file_type().is_file(), "{n} is not a regular file");
    }
}

#[test]
fn a_report_file_name_cannot_leave_the_output_folder() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    for bad in [
        "../escape.html",
        "sub/escape.html",
        ".hidden",
        "..",
        "",
        "a\0b",
    ] {
        let e = report::auto::write_atomically(&out, bad, "x").unwrap_err();
        assert!(e.starts_with("refusing to write"), "{bad:?}: {e}");
    }
    assert!(!root.path().join("escape.html").exists());
    let written = report::auto::write_atomically(&out, "slawatch-2023-01.md", "x").unwrap();
    assert_eq!(written, out.join("slawatch-2023-01.md"));
    // Only the report is left: no temporary file.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

// ---- no data is per probe and never uptime ----

/// One day of monitoring, 2023-03-15 (UTC), on the fixture's configuration:
/// blog-site's checks are all `unknown`; shop-site is down 10:00 to 11:00, its
/// checks are `unknown` from 11:00 to 12:00 (the outage, closed at 12:00, spans
/// both), then up; shop-mail is up all day.
fn unknown_day_db(dir: &Path) -> PathBuf {
    let db = dir.join("slawatch.db");
    let store = Store::open(&db).unwrap();
    let (from, to) = (at("2023-03-15T00:00:00Z"), at("2023-03-16T00:00:00Z"));
    let (down_s, unknown_s, up_s) = (
        at("2023-03-15T10:00:00Z"),
        at("2023-03-15T11:00:00Z"),
        at("2023-03-15T12:00:00Z"),
    );
    let judged = |probe: &str, t: i64, status: Status| Check {
        status,
        class: match status {
            Status::Up => None,
            Status::Down => Some(ErrorClass::Refused),
            Status::Unknown => Some(ErrorClass::Unknown),
        },
        ..check(probe, t, None)
    };
    let mut t = from;
    while t <= to {
        store.heartbeat("milano-1", UtcMillis(t)).unwrap();
        if t % STEP == 0 {
            store
                .record_check(&judged("blog-site", t, Status::Unknown))
                .unwrap();
            store
                .record_check(&judged("shop-mail", t, Status::Up))
                .unwrap();
            let site = if (down_s..unknown_s).contains(&t) {
                Status::Down
            } else if (unknown_s..up_s).contains(&t) {
                Status::Unknown
            } else {
                Status::Up
            };
            store.record_check(&judged("shop-site", t, site)).unwrap();
        }
        t += BEAT;
    }
    store
        .record_outage(&Event::Closed(Outage {
            probe: "shop-site".to_owned(),
            start: UtcMillis(down_s),
            end: Some(UtcMillis(up_s)),
            last_failure: UtcMillis(unknown_s - STEP),
            last_success_before: Some(UtcMillis(down_s - STEP)),
            class: ErrorClass::Refused,
            detail: "connection refused".to_owned(),
            failed_checks: 12,
        }))
        .unwrap();
    store.close().unwrap();
    db
}

fn unknown_day_report() -> Report {
    let dir = tempfile::tempdir().unwrap();
    let db = unknown_day_db(dir.path());
    let config = slawatch::config::load(&config_path()).unwrap();
    let reader = Reader::open(&db).unwrap();
    report::build(&config, &reader, "2023-03", None, generated_at()).unwrap()
}

#[test]
fn a_period_of_only_unknown_checks_is_no_data_not_100_percent() {
    let r = unknown_day_report();
    let v = report::to_json(&r);
    let blog = contract(&v, "bianchi-blog");
    assert_eq!(
        blog["evaluation"]["availability_pct"],
        Value::Null,
        "nothing was measured: {}",
        blog["evaluation"]
    );
    assert_eq!(blog["evaluation"]["measured_minutes"], "0");
    // March in Rome: 31 days less the hour DST takes.
    assert_eq!(blog["evaluation"]["no_data_minutes"], "44580");
    let md = report::render(&r, Format::Md, "x", Lang::En).remove(0).1;
    assert!(md.contains("n/a (nothing measured)"), "{md}");
    assert!(!md.contains("100.0000 %"), "{md}");
}

#[test]
fn unknown_checks_inside_an_outage_are_no_data_not_downtime() {
    let v = report::to_json(&unknown_day_report());
    let shop = contract(&v, "rossi-shop");
    let e = &shop["evaluation"];
    assert_eq!(e["downtime_minutes"], "60", "{e}");
    // Measured: the day less the hour of unknown checks (the rest of March is no data).
    assert_eq!(e["measured_minutes"], "1380", "{e}");
    let incidents = shop["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["start"], "2023-03-15T10:00:00.000Z");
    assert_eq!(incidents[0]["end"], "2023-03-15T11:00:00.000Z");
    // The last failed check was at 10:55: the end is uncertain by 5 minutes.
    assert_eq!(incidents[0]["end_uncertainty_minutes"], "5");
    assert!(
        shop["no_data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["start"] == "2023-03-15T11:00:00.000Z"
                && g["end"] == "2023-03-15T12:00:00.000Z"),
        "{}",
        shop["no_data"]
    );
}

// ---- recorded evidence counts (issue 12): a claim after the fact ----
//
// April 2011 in Europe/Rome: 2011-03-31T22:00Z to 2011-04-30T22:00Z, 43,200 min.
// An Aruba-like plan: any downtime is a breach, no credit (liability clause).

/// A configuration with one site, an Aruba-like plan (missing_data exclude, the
/// default) and one contract, with `unmonitored` set when given.
fn evidence_config(dir: &Path, unmonitored: Option<&str>) -> PathBuf {
    let path = dir.join("probes.toml");
    let mut text = String::from(
        r#"[daemon]
database = "slawatch.db"
vantage = "milano-1"
reports_dir = "reports"
interval = "5m"

[[http]]
name = "shop-site"
url = "https://shop.example.test/"

[[plan]]
id = "aruba-hosting-2011"
provider = "Aruba S.p.A."
currency = "EUR"
fee = "30.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
credit.scheme = "none"

[[contract]]
id = "rossi-shop"
plan = "aruba-hosting-2011"
probes = ["shop-site"]
"#,
    );
    if let Some(u) = unmonitored {
        text.push_str(&format!("unmonitored = \"{u}\"\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `slawatch incident add` with these arguments, against `config`.
fn record(config: &Path, args: &[&str]) {
    slawatch()
        .arg("incident")
        .arg("add")
        .arg("--config")
        .arg(config)
        .args(args)
        .assert()
        .success();
}

/// `slawatch report --format FORMAT --out -` for April 2011.
fn evidence_report(config: &Path, format: &str) -> String {
    let out = slawatch()
        .arg("report")
        .arg("--config")
        .arg(config)
        .args(["--period", "2011-04", "--format", format, "--out", "-"])
        .current_dir(config.parent().unwrap())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// The fire's outage as the agency records it from the status page, and nothing
/// else: the daemon never ran.
fn the_fire_recorded(config: &Path) {
    record(
        config,
        &[
            "--probe",
            "shop-site",
            "--start",
            "2011-04-29T04:30:00+02:00",
            "--end",
            "2011-05-02T10:00:00+02:00",
            "--source",
            "status-page",
            "--note",
            "https://status.example.test/arezzo-fire",
        ],
    );
}

#[test]
fn evidence_a_recorded_outage_without_any_check_is_a_breach_not_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence_config(dir.path(), None);
    the_fire_recorded(&config);
    let v: Value = serde_json::from_str(&evidence_report(&config, "json")).unwrap();
    let c = contract(&v, "rossi-shop");
    let e = &c["evaluation"];
    assert_eq!(e["breach"], true, "{e}");
    // 2011-04-29T02:30Z to the period's end 2011-04-30T22:00Z: 43.5 h.
    assert_eq!(e["downtime_minutes"], "2610", "{e}");
    let incidents = c["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert_eq!(incidents[0]["excluded"], Value::Null, "{}", incidents[0]);
    assert_eq!(incidents[0]["counted_minutes"], "2610");
    assert_eq!(incidents[0]["sources"], serde_json::json!(["status-page"]));
    // The basis names the record, its source and its link; nothing was monitored.
    let b = &c["basis"];
    assert_eq!(b["vantages"], serde_json::json!([]), "{b}");
    assert_eq!(b["monitored_minutes"], "0");
    assert_eq!(b["period_minutes"], "43200");
    assert_eq!(b["recorded"][0]["source"], "status-page", "{b}");
    assert_eq!(
        b["recorded"][0]["note"],
        "https://status.example.test/arezzo-fire"
    );
    assert_eq!(b["unmonitored"], "plan");
    assert_eq!(b["unmonitored_counted"], "exclude");
    assert_eq!(b["unmonitored_minutes"], "40590");
    let md = evidence_report(&config, "md");
    let first = md
        .split("## rossi-shop")
        .nth(1)
        .and_then(|s| s.split("Plan **").next())
        .unwrap();
    assert!(
        first.contains(
            "Figures rest on 1 recorded incident (the provider's status page); \
             no monitoring ran in the period. The 676.5 h with neither checks nor a \
             record are left out of the measured time (the plan's missing\\_data = \
             \"exclude\")."
        ),
        "the basis comes first in the contract's section: {first}"
    );
    assert!(
        first.contains("https://status.example.test/arezzo-fire"),
        "{first}"
    );
    let html = evidence_report(&config, "html");
    let section = html.split("id=\"contract-rossi-shop\"").nth(1).unwrap();
    let basis = section.find("class=\"basis\"").unwrap();
    assert!(basis < section.find("<p>Plan").unwrap(), "{section}");
    let r = report::build(
        &slawatch::config::load(&config).unwrap(),
        &Reader::open(&dir.path().join("slawatch.db")).unwrap(),
        "2011-04",
        None,
        UtcMillis(at("2011-05-03T00:00:00Z")),
    )
    .unwrap();
    let files = report::render(&r, Format::Csv, "x", slawatch::report::Lang::En);
    let csv = &files
        .iter()
        .find(|(n, _)| n.contains("contracts"))
        .unwrap()
        .1;
    let rows = csv_records(csv);
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][col("basis_monitored_hours")], "0.0");
    assert_eq!(rows[1][col("basis_unmonitored_hours")], "676.5");
    assert!(rows[1][col("basis_recorded_incidents")].ends_with(":status-page"));
}

#[test]
fn evidence_each_unmonitored_choice_counts_the_time_without_checks_as_it_says() {
    // (unmonitored, measured, downtime, availability, no data, policy applied)
    let cases = [
        (None, "2610", "2610", "0.0000", "40590", "exclude"),
        (Some("plan"), "2610", "2610", "0.0000", "40590", "exclude"),
        (
            Some("exclude"),
            "2610",
            "2610",
            "0.0000",
            "40590",
            "exclude",
        ),
        // 1 - 2610 / 43200 = 0.939583...
        (Some("as_up"), "43200", "2610", "93.9583", "40590", "as_up"),
        (
            Some("as_down"),
            "43200",
            "43200",
            "0.0000",
            "40590",
            "as_down",
        ),
    ];
    for (u, measured, down, avail, no_data, policy) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = evidence_config(dir.path(), u);
        the_fire_recorded(&config);
        let v: Value = serde_json::from_str(&evidence_report(&config, "json")).unwrap();
        let c = contract(&v, "rossi-shop");
        let e = &c["evaluation"];
        let got = (
            e["measured_minutes"].as_str().unwrap(),
            e["downtime_minutes"].as_str().unwrap(),
            e["availability_pct"].as_str().unwrap(),
            e["no_data_minutes"].as_str().unwrap(),
            e["missing_data"].as_str().unwrap(),
        );
        assert_eq!(got, (measured, down, avail, no_data, policy), "{u:?}: {e}");
        assert_eq!(e["breach"], true, "{u:?}");
        assert_eq!(c["basis"]["unmonitored"], u.unwrap_or("plan"), "{u:?}");
        // The timeline the report evaluated gives the same figures through
        // `slawatch sla` with the policy the report names.
        let tl = dir.path().join("timeline.json");
        std::fs::write(&tl, c["timeline"].to_string()).unwrap();
        let out = slawatch()
            .arg("sla")
            .arg("--plans")
            .arg(&config)
            .arg("--timeline")
            .arg(&tl)
            .args(["--period", "2011-04", "--missing-data", policy, "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let sla: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(sla["availability_pct"], e["availability_pct"], "{u:?}");
        assert_eq!(sla["measured_minutes"], e["measured_minutes"], "{u:?}");
    }
}

/// The daemon ran from 2011-04-27T00:00Z to 2011-04-29T00:00Z only, the site up at
/// every check; then nothing.
fn two_days_monitored(db: &Path) {
    let store = Store::open(db).unwrap();
    store
        .register_probes(&[("shop-site".to_owned(), "http".to_owned())])
        .unwrap();
    let (from, to) = (at("2011-04-27T00:00:00Z"), at("2011-04-29T00:00:00Z"));
    let mut t = from;
    while t <= to {
        store.heartbeat("milano-1", UtcMillis(t)).unwrap();
        if t % STEP == 0 && t < to {
            store.record_check(&check("shop-site", t, None)).unwrap();
        }
        t += BEAT;
    }
    store.close().unwrap();
}

#[test]
fn evidence_a_record_counts_where_no_check_ran_and_only_over_its_own_span() {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence_config(dir.path(), None);
    two_days_monitored(&dir.path().join("slawatch.db"));
    // Crosses from monitored (up) time into the stretch without checks: 8 h.
    record(
        &config,
        &[
            "--probe",
            "shop-site",
            "--start",
            "2011-04-28T22:00:00Z",
            "--end",
            "2011-04-29T06:00:00Z",
            "--source",
            "status-page",
            "--note",
            "status page: Arezzo data centre unreachable",
        ],
    );
    // Wholly inside the stretch without checks: 2 h.
    record(
        &config,
        &[
            "--contract",
            "rossi-shop",
            "--start",
            "2011-04-29T10:00:00Z",
            "--end",
            "2011-04-29T12:00:00Z",
            "--note",
            "our own observation: the shop did not load",
        ],
    );
    let v: Value = serde_json::from_str(&evidence_report(&config, "json")).unwrap();
    let c = contract(&v, "rossi-shop");
    let e = &c["evaluation"];
    // Measured: 48 h of checks, plus 6 h and 2 h of records beyond them.
    assert_eq!(e["measured_minutes"], "3360", "{e}");
    // Down: exactly the records' spans, 480 + 120 min; the monitored up time
    // before 22:00 and the unrecorded time after stay what they were.
    assert_eq!(e["downtime_minutes"], "600", "{e}");
    assert_eq!(e["no_data_minutes"], "39840", "{e}");
    // 1 - 600 / 3360 = 0.82142857...
    assert_eq!(e["availability_pct"], "82.1429", "{e}");
    let counted: Vec<&str> = c["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["counted_minutes"].as_str().unwrap())
        .collect();
    assert_eq!(counted, ["480", "120"], "{}", c["incidents"]);
    let b = &c["basis"];
    assert_eq!(b["vantages"], serde_json::json!(["milano-1"]), "{b}");
    assert_eq!(b["monitored_minutes"], "2880", "{b}");
    assert_eq!(b["monitored_pct"], "6.7", "{b}");
    assert_eq!(b["recorded"].as_array().unwrap().len(), 2, "{b}");
    let r = report::build(
        &slawatch::config::load(&config).unwrap(),
        &Reader::open(&dir.path().join("slawatch.db")).unwrap(),
        "2011-04",
        None,
        UtcMillis(at("2011-05-03T00:00:00Z")),
    )
    .unwrap();
    assert_eq!(
        report::basis::summary(&r.contracts[0], Lang::En),
        "Figures rest on monitoring from vantage milano-1 for 6.7 % of the period \
         (48.0 h of 720.0 h), and on 2 recorded incidents (the provider's status \
         page and manual record). The 664.0 h with neither checks nor a record are \
         left out of the measured time (the plan's missing_data = \"exclude\")."
    );
    assert_eq!(
        report::basis::summary(&r.contracts[0], Lang::It),
        "I dati si basano sul monitoraggio dal punto di osservazione milano-1 per il \
         6,7 % del periodo (48,0 h su 720,0 h) e su 2 incidenti registrati \
         (pagina di stato del fornitore e registrazione manuale). Le 664,0 h senza \
         controlli né registrazioni sono escluse dal tempo misurato (missing_data = \
         \"exclude\" del piano)."
    );
}

#[test]
fn evidence_an_incident_dropped_for_lack_of_data_says_so() {
    // A timeline whose only incident lies inside a monitoring gap, under exclude.
    let dir = tempfile::tempdir().unwrap();
    let config = evidence_config(dir.path(), None);
    let tl = dir.path().join("timeline.json");
    std::fs::write(
        &tl,
        r#"{"incidents": [{"start": "2011-04-29T02:30:00Z", "end": "2011-04-29T12:00:00Z"}],
            "gaps": [{"start": "2011-04-01T00:00:00Z", "end": "2011-04-30T00:00:00Z"}]}"#,
    )
    .unwrap();
    for (policy, why) in [
        (
            "exclude",
            "all its time in the period fell in time without data, which policy 'exclude' \
             leaves out of the measured time",
        ),
        (
            "as_up",
            "all its time in the period fell in time without data, which policy 'as_up' counts as up",
        ),
    ] {
        let out = slawatch()
            .arg("sla")
            .arg("--plans")
            .arg(&config)
            .arg("--timeline")
            .arg(&tl)
            .args(["--period", "2011-04", "--missing-data", policy, "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["incidents"][0]["excluded"], why, "{policy}");
    }
}

#[test]
fn evidence_under_all_a_record_on_one_probe_is_not_the_contract_down_nor_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence_config(dir.path(), None);
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "[[plan]]",
            "[[tcp]]\nname = \"shop-mail\"\ntarget = \"mail.example.test:993\"\n\n[[plan]]",
        )
        .replace(
            "probes = [\"shop-site\"]",
            "probes = [\"shop-site\", \"shop-mail\"]\nunavailable_when = \"all\"",
        );
    std::fs::write(&config, text).unwrap();
    the_fire_recorded(&config);
    // shop-site recorded down, shop-mail never measured: nobody knows whether the
    // contract was down, so the whole month is no data (excluded by the plan).
    let v: Value = serde_json::from_str(&evidence_report(&config, "json")).unwrap();
    let e = &contract(&v, "rossi-shop")["evaluation"];
    assert_eq!(e["measured_minutes"], "0", "{e}");
    assert_eq!(e["no_data_minutes"], "43200", "{e}");
    assert_eq!(e["breach"], false, "{e}");
    assert_eq!(
        contract(&v, "rossi-shop")["basis"]["recorded"][0]["source"],
        "status-page"
    );
    // Recorded on the other probe too: both down, so the contract is.
    record(
        &config,
        &[
            "--probe",
            "shop-mail",
            "--start",
            "2011-04-29T04:30:00+02:00",
            "--end",
            "2011-05-02T10:00:00+02:00",
        ],
    );
    let v: Value = serde_json::from_str(&evidence_report(&config, "json")).unwrap();
    let e = &contract(&v, "rossi-shop")["evaluation"];
    assert_eq!(e["downtime_minutes"], "2610", "{e}");
    assert_eq!(e["measured_minutes"], "2610", "{e}");
    assert_eq!(e["breach"], true, "{e}");
}
