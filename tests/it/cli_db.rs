//! `slawatch status`, `outages` and `incident` against a database written by the store.

use crate::util::{slawatch, stdout_of};
use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::outage::{Event, Outage};
use slawatch::store::Store;
use std::path::Path;

fn check(probe: &str, at: i64, status: Status) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(at),
        status,
        class: (status == Status::Down).then_some(ErrorClass::Timeout),
        detail: "no answer within 10000 ms".to_owned(),
        phases: Phases::default(),
        cert_not_after: None,
    }
}

/// 2024-04-03T10:00:00Z
const T0: i64 = 1_712_138_400_000;
const MIN: i64 = 60_000;

fn database(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("evidence.db");
    let store = Store::open(&db).unwrap();
    store
        .register_probes(&[
            ("mailbox".to_owned(), "imap".to_owned()),
            ("shop-site".to_owned(), "http".to_owned()),
        ])
        .unwrap();
    store
        .record_check(&check("shop-site", T0, Status::Up))
        .unwrap();
    store
        .record_check(&check("mailbox", T0, Status::Up))
        .unwrap();
    store
        .record_check(&check("mailbox", T0 + MIN, Status::Down))
        .unwrap();
    store
        .record_check(&check("mailbox", T0 + MIN + 10_000, Status::Down))
        .unwrap();
    let closed = Outage {
        probe: "mailbox".to_owned(),
        start: UtcMillis(T0 + MIN),
        end: Some(UtcMillis(T0 + 125 * MIN)),
        last_failure: UtcMillis(T0 + 124 * MIN),
        last_success_before: Some(UtcMillis(T0)),
        class: ErrorClass::Timeout,
        detail: "no answer within 10000 ms".to_owned(),
        failed_checks: 124,
    };
    store.record_outage(&Event::Closed(closed.clone())).unwrap();
    let open = Outage {
        start: UtcMillis(T0 + 200 * MIN),
        end: None,
        last_failure: UtcMillis(T0 + 201 * MIN),
        last_success_before: Some(UtcMillis(T0 + 199 * MIN)),
        ..closed
    };
    store.record_outage(&Event::Opened(open)).unwrap();
    store.close().unwrap();
    db
}

#[test]
fn status_shows_down_since_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = stdout_of(&["status", "--database"], &db, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("PROBE"), "{out}");
    assert!(
        lines[1].split_whitespace().collect::<Vec<_>>()[..4]
            == ["mailbox", "imap", "DOWN", "2024-04-03T13:20:00.000Z"],
        "{out}"
    );
    assert!(
        lines[2].starts_with("shop-site") && lines[2].contains(" up "),
        "{out}"
    );
}

#[test]
fn outages_lists_duration_proven_and_uncertainty() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let out = stdout_of(&["outages", "--database"], &db, 0);
    let first = out.lines().nth(1).unwrap();
    assert!(
        first.contains(
            "2024-04-03T10:01:00.000Z  2024-04-03T12:05:00.000Z  2 h 4 min  2 h 3 min  1 min"
        ),
        "{out}"
    );
    assert!(out.lines().nth(2).unwrap().contains("(open)"), "{out}");
    // --since after the first outage's end keeps only the open one; --json is parseable.
    let json = slawatch()
        .args([
            "outages",
            "--since",
            "2024-04-03T12:30:00Z",
            "--json",
            "--database",
        ])
        .arg(&db)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["end"], serde_json::Value::Null);
    assert_eq!(v[0]["proven_ms"], 60_000);
}

#[test]
fn incidents_are_added_and_listed_and_bad_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    // No probes.toml where it runs: names are not checked (tests/it/incident.rs
    // checks them against a configuration).
    slawatch()
        .current_dir(dir.path())
        .args([
            "incident",
            "add",
            "--probe",
            "mailbox",
            "--source",
            "status-page",
            "--start",
            "2023-01-10T08:00:00+01:00",
            "--end",
            "2023-01-13T18:30:00+01:00",
            "--note",
            "storage failure",
            "--database",
        ])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "incident 1 recorded: 10 Jan 2023 07:00 to 13 Jan 2023 17:30 UTC, status-page",
        ));
    slawatch()
        .current_dir(dir.path())
        .args(["incident", "list", "--database"])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "status-page  probe mailbox  storage failure",
        ));
    slawatch()
        .current_dir(dir.path())
        .args([
            "incident",
            "add",
            "--probe",
            "mailbox",
            "--start",
            "2023-01-10T08:00:00Z",
            "--end",
            "2023-01-10T07:00:00Z",
            "--database",
        ])
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not after the start"));
    slawatch()
        .current_dir(dir.path())
        .args([
            "incident",
            "add",
            "--probe",
            "mailbox",
            "--start",
            "2023-01-10 08:00",
            "--end",
            "2023-01-10T09:00:00Z",
            "--database",
        ])
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "is a local time and no zone is known: give --tz",
        ));
    // An offset of a day or more would shift the incident: refused, as in timelines.
    slawatch()
        .current_dir(dir.path())
        .args([
            "incident",
            "add",
            "--probe",
            "mailbox",
            "--start",
            "2023-01-10T08:00:00+24:00",
            "--end",
            "2023-01-10T09:00:00Z",
            "--database",
        ])
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("outside -23:59..+23:59"));
}

#[test]
fn a_missing_database_says_so() {
    let dir = tempfile::tempdir().unwrap();
    slawatch()
        .args(["status", "--database"])
        .arg(dir.path().join("nope.db"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nope.db"));
}

#[test]
fn outages_print_peer_text_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("evidence.db");
    let store = Store::open(&db).unwrap();
    store
        .register_probes(&[("zone-txt".to_owned(), "dns".to_owned())])
        .unwrap();
    // A DNS TXT answer as a hostile server could send it, quoted into the detail.
    let hostile = "TXT '\u{1b}[2J\u{1b}]0;pwned\u{7}' expected\r\nzone-txt  FAKE ROW";
    let mut c = check("zone-txt", T0, Status::Down);
    c.detail = hostile.to_owned();
    store.record_check(&c).unwrap();
    let o = Outage {
        probe: "zone-txt".to_owned(),
        start: UtcMillis(T0),
        end: Some(UtcMillis(T0 + MIN)),
        last_failure: UtcMillis(T0),
        last_success_before: None,
        class: ErrorClass::Content,
        detail: hostile.to_owned(),
        failed_checks: 1,
    };
    store.record_outage(&Event::Closed(o)).unwrap();
    store.close().unwrap();
    let out = stdout_of(&["outages", "--database"], &db, 0);
    assert!(
        !out.contains(['\u{1b}', '\u{7}', '\r']),
        "raw control characters printed: {out:?}"
    );
    assert!(out.contains("\\x1b[2J\\x1b]0;pwned\\x07"), "{out:?}");
    assert_eq!(out.lines().count(), 2, "one header and one row: {out:?}");
}
