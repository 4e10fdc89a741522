//! `slawatch incident`: names checked against the configuration, local times,
//! open incidents, amend and withdraw chains, attachments, CSV import, and what a
//! report makes of the records. The configuration is the report fixture's
//! (`tests/fixtures/report/probes.toml`: plans in Europe/Rome, `hosting-pro`
//! excluding the causes `customer` and `force_majeure`).

use crate::util::{fixture, slawatch};
use slawatch::model::UtcMillis;
use slawatch::report;
use slawatch::store::{Incident, Reader, Store};
use std::path::{Path, PathBuf};

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn config() -> PathBuf {
    fixture("report/probes.toml")
}

/// A fresh database in a temporary directory.
fn fresh() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ev.db");
    Store::open(&db).unwrap().close().unwrap();
    (dir, db)
}

/// `slawatch incident ARGS --config FIXTURE --database DB`: (stdout, stderr) after
/// asserting the exit code.
fn incident(db: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = slawatch()
        .arg("incident")
        .args(args)
        .arg("--config")
        .arg(config())
        .arg("--database")
        .arg(db)
        .assert()
        .code(code)
        .get_output()
        .clone();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn records(db: &Path) -> Vec<Incident> {
    Reader::open(db).unwrap().incidents().unwrap()
}

#[test]
fn incident_local_times_take_the_plan_zone_or_tz_and_are_stored_exactly() {
    let (_dir, db) = fresh();
    // The contract's plan is in Europe/Rome: January is UTC+1.
    let (out, _) = incident(
        &db,
        &[
            "add",
            "--contract",
            "rossi-shop",
            "--start",
            "2023-01-05T10:00",
            "--end",
            "2023-01-05T12:30",
            "--source",
            "status-page",
        ],
        0,
    );
    assert_eq!(
        out.trim(),
        "incident 1 recorded: 5 Jan 2023 10:00 to 5 Jan 2023 12:30 Europe/Rome (+01:00), status-page"
    );
    // A probe takes the zone of its contract's plan; summer time is UTC+2.
    incident(
        &db,
        &[
            "add",
            "--probe",
            "blog-site",
            "--start",
            "2023-07-01T08:00",
            "--end",
            "2023-07-01T09:00",
        ],
        0,
    );
    // --tz wins over the plan; an offset in the time wins over both.
    let (out, _) = incident(
        &db,
        &[
            "add",
            "--probe",
            "shop-site",
            "--tz",
            "America/New_York",
            "--start",
            "2023-07-01T08:00",
            "--end",
            "2023-07-01T11:00-02:00",
            "--source",
            "provider",
        ],
        0,
    );
    assert!(
        out.contains("1 Jul 2023 08:00 to 1 Jul 2023 09:00 America/New_York (-04:00), provider"),
        "{out}"
    );
    let r = records(&db);
    let got: Vec<(i64, i64, Option<&str>)> = r
        .iter()
        .map(|i| (i.start.0, i.end.0, i.tz.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (
                at("2023-01-05T09:00:00Z"),
                at("2023-01-05T11:30:00Z"),
                Some("Europe/Rome")
            ),
            (
                at("2023-07-01T06:00:00Z"),
                at("2023-07-01T07:00:00Z"),
                Some("Europe/Rome")
            ),
            (
                at("2023-07-01T12:00:00Z"),
                at("2023-07-01T13:00:00Z"),
                Some("America/New_York")
            ),
        ]
    );
    assert_eq!(r[2].source.as_str(), "provider");
}

#[test]
fn incident_end_before_start_and_a_clock_change_are_refused_with_what_to_write() {
    let (_dir, db) = fresh();
    let (_, err) = incident(
        &db,
        &[
            "add",
            "--probe",
            "shop-site",
            "--start",
            "2023-01-05T10:00",
            "--end",
            "2023-01-05T09:00",
        ],
        2,
    );
    assert!(err.contains("is not after the start"), "{err}");
    // 29 October 2023 02:30 happens twice in Rome.
    let (_, err) = incident(
        &db,
        &["add", "--probe", "shop-site", "--start", "2023-10-29T02:30"],
        2,
    );
    assert!(err.contains("write it with its offset"), "{err}");
    assert!(records(&db).is_empty());
}

#[test]
fn incident_unknown_names_are_refused_with_did_you_mean() {
    let (_dir, db) = fresh();
    let (_, err) = incident(
        &db,
        &["add", "--probe", "shop-sit", "--start", "2023-01-05T10:00Z"],
        2,
    );
    assert!(err.contains("no probe 'shop-sit'"), "{err}");
    assert!(err.contains("did you mean 'shop-site'?"), "{err}");
    let (_, err) = incident(
        &db,
        &[
            "add",
            "--contract",
            "rossi-shpo",
            "--start",
            "2023-01-05T10:00Z",
        ],
        2,
    );
    assert!(err.contains("did you mean 'rossi-shop'?"), "{err}");
    assert!(records(&db).is_empty());
}

#[test]
fn incident_without_a_readable_configuration_needs_an_explicit_database() {
    let (dir, db) = fresh();
    let missing = dir.path().join("nowhere.toml");
    // No configuration and no --database: refused, saying what to give.
    let out = slawatch()
        .current_dir(dir.path())
        .env_remove("SLAWATCH_DATABASE")
        .args([
            "incident",
            "add",
            "--probe",
            "web",
            "--start",
            "2023-01-05T10:00Z",
        ])
        .arg("--config")
        .arg(&missing)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--database FILE to record without checking names"),
        "{err}"
    );
    // With --database: stored unchecked, with a warning; a local time needs --tz.
    let run = |extra: &[&str], code: i32| {
        let out = slawatch()
            .args(["incident", "add", "--probe", "web"])
            .args(extra)
            .arg("--config")
            .arg(&missing)
            .arg("--database")
            .arg(&db)
            .assert()
            .code(code)
            .get_output()
            .clone();
        String::from_utf8(out.stderr).unwrap()
    };
    let err = run(&["--start", "2023-01-05T10:00"], 2);
    assert!(err.contains("no zone is known: give --tz"), "{err}");
    let err = run(&["--start", "2023-01-05T10:00", "--tz", "+01:00"], 0);
    assert!(
        err.contains("names, causes and zones are not checked"),
        "{err}"
    );
    assert_eq!(records(&db)[0].start.0, at("2023-01-05T09:00:00Z"));
}

#[test]
fn incident_cause_is_stored_and_warned_about_unless_the_plan_excludes_it() {
    let (_dir, db) = fresh();
    let (_, err) = incident(
        &db,
        &[
            "add",
            "--contract",
            "rossi-shop",
            "--start",
            "2023-01-05T10:00",
            "--cause",
            "force_majeur",
        ],
        0,
    );
    assert!(err.contains("did you mean 'force_majeure'?"), "{err}");
    assert!(
        err.contains("the plan excludes customer, force_majeure"),
        "{err}"
    );
    let (_, err) = incident(
        &db,
        &[
            "add",
            "--contract",
            "rossi-shop",
            "--start",
            "2023-01-05T10:00",
            "--cause",
            "force_majeure",
        ],
        0,
    );
    assert!(!err.contains("warning"), "{err}");
    let causes: Vec<Option<String>> = records(&db).into_iter().map(|i| i.cause).collect();
    assert_eq!(
        causes,
        [
            Some("force_majeur".to_owned()),
            Some("force_majeure".to_owned())
        ]
    );
}

#[test]
fn incident_without_end_is_open() {
    let (_dir, db) = fresh();
    let (out, _) = incident(
        &db,
        &["add", "--probe", "shop-mail", "--start", "2023-01-22T08:00"],
        0,
    );
    assert!(
        out.contains("22 Jan 2023 08:00 (open, no end yet)"),
        "{out}"
    );
    let (json, _) = incident(&db, &["list", "--json"], 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["open"], true);
    assert_eq!(v[0]["end"], serde_json::Value::Null);
    assert!(records(&db)[0].open);
}

#[test]
fn incident_amend_and_withdraw_add_records_and_refuse_what_was_superseded() {
    let (_dir, db) = fresh();
    incident(
        &db,
        &[
            "add",
            "--contract",
            "rossi-shop",
            "--start",
            "2023-01-05T10:00",
            "--note",
            "first",
        ],
        0,
    );
    let (out, _) = incident(
        &db,
        &[
            "amend",
            "1",
            "--end",
            "2023-01-05T12:00",
            "--reason",
            "restore confirmed by support",
        ],
        0,
    );
    assert!(
        out.contains("incident 2 recorded: 5 Jan 2023 10:00 to 5 Jan 2023 12:00"),
        "{out}"
    );
    assert!(out.contains("supersedes incident 1"), "{out}");
    let (_, err) = incident(&db, &["amend", "1", "--note", "x", "--reason", "r"], 2);
    assert!(err.contains("already superseded by incident 2"), "{err}");
    let (_, err) = incident(&db, &["withdraw", "99", "--reason", "r"], 2);
    assert!(
        err.contains("no incident 99; the incidents are: 1, 2"),
        "{err}"
    );
    // The reason is required, and not empty.
    incident(&db, &["withdraw", "2"], 2);
    let (_, err) = incident(&db, &["withdraw", "2", "--reason", " "], 2);
    assert!(err.contains("--reason is empty"), "{err}");
    let (out, _) = incident(&db, &["withdraw", "2", "--reason", "wrong contract"], 0);
    assert!(
        out.contains("incident 3 recorded: withdraws incident 2"),
        "{out}"
    );
    let (_, err) = incident(&db, &["amend", "3", "--note", "x", "--reason", "r"], 2);
    assert!(err.contains("incident 3 is a withdrawal"), "{err}");

    let r = records(&db);
    assert_eq!(r.len(), 3);
    assert_eq!(
        (r[0].open, r[0].supersedes, &r[0].note[..]),
        (true, None, "first")
    );
    assert_eq!(
        (
            r[1].open,
            r[1].end.0,
            r[1].supersedes,
            r[1].reason.as_deref()
        ),
        (
            false,
            at("2023-01-05T11:00:00Z"),
            Some(1),
            Some("restore confirmed by support")
        )
    );
    assert_eq!((r[2].withdrawn, r[2].supersedes), (true, Some(2)));
    assert!(slawatch::store::effective_incidents(&r).is_empty());
    let (out, _) = incident(&db, &["list"], 0);
    assert_eq!(out.trim(), "no incidents");
    let (out, _) = incident(&db, &["list", "--all"], 0);
    assert!(out.contains("(superseded by #2)"), "{out}");
    assert!(
        out.contains("amends #1: restore confirmed by support"),
        "{out}"
    );
    assert!(out.contains("withdraws #2: wrong contract"), "{out}");
}

/// `sha256sum FILE`'s hash.
fn sha256sum(file: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn incident_attach_seals_the_files_hash_and_keeps_a_private_copy() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, db) = fresh();
    let file = dir.path().join("status page.html");
    std::fs::write(&file, "<h1>Data centre fire: all services down</h1>\n").unwrap();
    let want = sha256sum(&file);
    let (out, _) = incident(
        &db,
        &[
            "add",
            "--contract",
            "rossi-shop",
            "--start",
            "2023-01-05T10:00",
            "--attach",
            file.to_str().unwrap(),
        ],
        0,
    );
    assert!(
        out.contains(&format!("1 attachment sha256 {want}")),
        "{out}"
    );
    assert_eq!(
        records(&db)[0].attachments,
        [("status page.html".to_owned(), want.clone())]
    );
    let kept = dir.path().join("ev.db.attachments");
    assert_eq!(
        std::fs::read(kept.join(&want)).unwrap(),
        std::fs::read(&file).unwrap()
    );
    let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let mode = std::fs::metadata(kept.join(&want))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // An amendment keeps the attachment and adds another.
    let other = dir.path().join("letter.txt");
    std::fs::write(&other, "we apologise").unwrap();
    incident(
        &db,
        &[
            "amend",
            "1",
            "--attach",
            other.to_str().unwrap(),
            "--reason",
            "the provider's letter",
        ],
        0,
    );
    assert_eq!(records(&db)[1].attachments.len(), 2);
    let size: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT size FROM incident_attachments WHERE incident = 2 ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(size, 45);
    // Over 50 MiB: refused, nothing stored.
    let big = dir.path().join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(50 * 1024 * 1024 + 1)
        .unwrap();
    let (_, err) = incident(
        &db,
        &[
            "add",
            "--probe",
            "shop-site",
            "--start",
            "2023-01-05T10:00",
            "--attach",
            big.to_str().unwrap(),
        ],
        2,
    );
    assert!(err.contains("an attachment is at most 50 MiB"), "{err}");
    assert_eq!(records(&db).len(), 2);
}

#[test]
fn incident_import_stores_every_row_or_none_and_names_every_bad_one() {
    let (dir, db) = fresh();
    std::fs::write(dir.path().join("shot.png"), b"\x89PNG fake").unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "probe,contract,start,end,tz,cause,source,note,attach\n\
         ,rossi-shop,2023-01-05T10:00,2023-01-05T11:00,,force_majeure,status-page,\"fire, all down\",shot.png\n\
         shop-mail,,2023-01-22T08:00,,UTC,,manual,still down,\n",
    )
    .unwrap();
    let (out, _) = incident(&db, &["import", good.to_str().unwrap()], 0);
    assert!(out.contains("2 incidents imported"), "{out}");
    let r = records(&db);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].start.0, at("2023-01-05T09:00:00Z"));
    assert_eq!(r[0].note, "fire, all down");
    assert_eq!(r[0].attachments.len(), 1);
    assert_eq!(
        (r[1].start.0, r[1].open),
        (at("2023-01-22T08:00:00Z"), true)
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "probe,contract,start,end,tz,cause,source,note,attach\n\
         shop-sit,,2023-01-05T10:00,,,,,,\n\
         shop-site,,2023-01-05T10:00,,,,,ok,\n\
         shop-site,,yesterday,,,,,,\n\
         shop-site,,2023-01-05T10:00,,,,twitter,,\n\
         shop-site,,2023-01-05T10:00,,,,,,missing.pdf\n",
    )
    .unwrap();
    let (_, err) = incident(&db, &["import", bad.to_str().unwrap()], 2);
    let b = bad.display();
    for want in [
        format!("{b}:2:1: probe: no probe 'shop-sit'"),
        "did you mean 'shop-site'?".to_owned(),
        format!("{b}:4:12: start: 'yesterday' is not a time"),
        format!("{b}:5:32: source '"),
        format!("{b}:6:34: attach: cannot read"),
        "nothing stored: 4 errors".to_owned(),
    ] {
        assert!(err.contains(&want), "{want}\n{err}");
    }
    assert_eq!(records(&db).len(), 2, "nothing of the bad file is stored");
}

// ---- what a report makes of the records ----

fn report_of(db: &Path, generated_at: &str) -> report::Report {
    let config = slawatch::config::load(&crate::report::config_path()).unwrap();
    let reader = Reader::open(db).unwrap();
    report::build(
        &config,
        &reader,
        "2023-01",
        Some("rossi-shop"),
        UtcMillis(at(generated_at)),
    )
    .unwrap()
}

#[test]
fn incident_report_lists_amended_and_withdrawn_records_and_counts_only_what_stands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ev.db");
    std::fs::copy(crate::report::fixture_db(), &db).unwrap();
    let before = report_of(&db, "2023-02-02T08:00:00Z");
    let first = records(&db).iter().map(|i| i.id).max().unwrap_or(0);
    let add = |args: &[&str]| incident(&db, args, 0);
    // A: 5 January 10:00-11:00 local, amended to end at 12:00.
    add(&[
        "add",
        "--contract",
        "rossi-shop",
        "--start",
        "2023-01-05T10:00",
        "--end",
        "2023-01-05T11:00",
    ]);
    add(&[
        "amend",
        &(first + 1).to_string(),
        "--end",
        "2023-01-05T12:00",
        "--reason",
        "support said noon",
    ]);
    // B: 6 January, withdrawn.
    add(&[
        "add",
        "--contract",
        "rossi-shop",
        "--start",
        "2023-01-06T10:00",
        "--end",
        "2023-01-06T11:00",
    ]);
    add(&[
        "withdraw",
        &(first + 3).to_string(),
        "--reason",
        "it was another customer",
    ]);
    // C: 7 January, force majeure, which the plan excludes.
    add(&[
        "add",
        "--contract",
        "rossi-shop",
        "--start",
        "2023-01-07T10:00",
        "--end",
        "2023-01-07T11:00",
        "--cause",
        "force_majeure",
    ]);

    let r = report_of(&db, "2023-02-02T08:00:00Z");
    let c = &r.contracts[0];
    let rows: Vec<(i64, i64)> = c.incidents.iter().map(|i| (i.start.0, i.end.0)).collect();
    assert!(
        rows.contains(&(at("2023-01-05T09:00:00Z"), at("2023-01-05T11:00:00Z"))),
        "{rows:?}"
    );
    assert!(
        !rows.iter().any(|(s, _)| *s == at("2023-01-06T09:00:00Z")),
        "withdrawn counts: {rows:?}"
    );
    let fm = c
        .incidents
        .iter()
        .find(|i| i.start.0 == at("2023-01-07T09:00:00Z"))
        .expect("the force-majeure incident is listed");
    assert!(
        fm.excluded
            .as_deref()
            .is_some_and(|e| e.contains("force_majeure")),
        "{:?}",
        fm.excluded
    );
    // A and C are incidents (C excluded for its cause); B is not.
    assert_eq!(
        c.evaluation.incidents.len(),
        before.contracts[0].evaluation.incidents.len() + 2
    );

    // The evidence list: every record, the original and the withdrawn one included.
    // The fixture's own status-page incident (1) and the five records above.
    assert_eq!(first, 1);
    let ids: Vec<i64> = c.records.iter().map(|i| i.id).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    let files = report::render(&r, report::Format::Html, "x", slawatch::report::Lang::En);
    let html = &files[0].1;
    assert!(
        html.contains("Evidence recorded by hand"),
        "no evidence list"
    );
    assert!(
        html.contains(&format!("superseded by #{}", first + 2)),
        "{html}"
    );
    assert!(
        html.contains("withdrawn: it was another customer"),
        "{html}"
    );
    let md = &report::render(&r, report::Format::Md, "x", slawatch::report::Lang::En)[0].1;
    assert!(
        md.contains(&format!(
            "withdrawal of \\#{}: it was another customer",
            first + 3
        )),
        "{md}"
    );
    let json = report::to_json(&r);
    let recs = json["contracts"][0]["records"].as_array().unwrap();
    let a = recs.iter().find(|x| x["id"] == first + 1).unwrap();
    assert_eq!(a["superseded_by"], first + 2);
    assert_eq!(a["counts"], false);
    let csv = report::render(&r, report::Format::Csv, "x", slawatch::report::Lang::En);
    assert_eq!(csv[2].0, "x-records.csv");
    assert!(csv[2].1.contains("it was another customer"), "{}", csv[2].1);
}

#[test]
fn incident_open_counts_until_the_period_end_or_the_report_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ev.db");
    std::fs::copy(crate::report::fixture_db(), &db).unwrap();
    incident(
        &db,
        &[
            "add",
            "--contract",
            "rossi-shop",
            "--start",
            "2023-01-30T10:00",
        ],
        0,
    );
    let row = |generated: &str| {
        let r = report_of(&db, generated);
        r.contracts[0]
            .incidents
            .iter()
            .find(|i| i.start.0 == at("2023-01-30T09:00:00Z"))
            .map(|i| (i.end.0, i.open))
            .unwrap()
    };
    // Made after the period: until its end (midnight of 1 February in Rome).
    assert_eq!(
        row("2023-02-02T08:00:00Z"),
        (at("2023-01-31T23:00:00Z"), true)
    );
    // Made during the period: until the report's time.
    assert_eq!(
        row("2023-01-30T12:00:00Z"),
        (at("2023-01-30T12:00:00Z"), true)
    );
}
