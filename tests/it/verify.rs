//! `slawatch verify`: the hash chain over the checks catches a row altered,
//! deleted or inserted by hand, survives retention and restarts, and a report's
//! evidence digest is recomputed from the database.

use crate::util::slawatch;
use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::store::{Reader, Store};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MIN: i64 = 60_000;
/// Runs never span one of these (a UTC day); "hour" below means one such span.
const HOUR: i64 = slawatch::store::RUN_SPAN_MS;
/// 2024-04-01T00:00:00Z: a whole span, so the test reads in whole spans.
const T0: i64 = 1_711_929_600_000;

fn check(probe: &str, at: i64, status: Status) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(at),
        status,
        class: (status == Status::Down).then_some(ErrorClass::Timeout),
        detail: if status == Status::Down {
            "no answer in 10 s".to_owned()
        } else {
            String::new()
        },
        phases: Phases {
            total: Some(Duration::from_millis(40)),
            ..Phases::default()
        },
        cert_not_after: None,
    }
}

/// Three spans of two probes checked 12 times a span: web fails three times in a
/// row in the second span, mail has one unknown check. Returns the number of rows
/// (runs + failures) and leaves the store open.
fn write_hours(store: &Store, from: i64, hours: i64) {
    store
        .register_probes(&[
            ("web".to_owned(), "http".to_owned()),
            ("mail".to_owned(), "imap".to_owned()),
        ])
        .unwrap();
    for i in 0..hours * 12 {
        let at = from + i * (HOUR / 12);
        let web = if (at - from) / HOUR == 1 && (3..6).contains(&(i % 12)) {
            Status::Down
        } else {
            Status::Up
        };
        store.record_check(&check("web", at, web)).unwrap();
        let mail = if i == 7 { Status::Unknown } else { Status::Up };
        store.record_check(&check("mail", at + 1000, mail)).unwrap();
        store.heartbeat("office", UtcMillis(at + 2000)).unwrap();
    }
}

fn database() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("evidence.db");
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0, 3);
    store.close().unwrap();
    (dir, db)
}

fn rows(db: &Path) -> i64 {
    let c = Reader::open(db).unwrap().counts().unwrap();
    c.runs + c.failures
}

/// Seals in the chain: every sealed row once, an outage sealed open and closed twice.
fn seals(db: &Path) -> i64 {
    one_i64(db, "SELECT count(*) FROM seals")
}

/// Runs `slawatch verify --database DB ARGS`, asserts the exit code, returns stdout.
fn verify(db: &Path, args: &[&str], code: i32) -> String {
    let out = slawatch()
        .arg("verify")
        .arg("--database")
        .arg(db)
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .clone();
    String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap()
}

/// A writable connection as an attacker would open it, with `sql` applied.
fn tamper(db: &Path, sql: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

fn one_i64(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_database_written_by_the_store_verifies_with_every_row_sealed() {
    let (_dir, db) = database();
    let n = rows(&db);
    // web: hours 0 and 2 one run each, hour 1 split by three failures; mail: the
    // unknown check splits hour 0 in three runs.
    assert_eq!(n, 2 + 2 + 3 + 3 + 1 + 1);
    // Every heartbeat (two hours apart) is its own coverage segment, sealed too.
    let n = n + 36;
    assert_eq!(seals(&db), n);
    let out = verify(&db, &[], 0);
    assert!(
        out.starts_with(&format!("ok: {n} rows sealed, chain intact (head ")),
        "{out}"
    );
    // Closed cleanly: nothing is left open.
    assert!(!out.contains("open run"), "{out}");
    let head = Reader::open(&db).unwrap().chain_head().unwrap().unwrap();
    assert_eq!(head.0, n);
    assert!(out.contains(&head.1), "{out}");
    let json: serde_json::Value = serde_json::from_str(&verify(&db, &["--json"], 0)).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["sealed"], n);
    assert_eq!(json["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn an_altered_failure_fails_and_is_named() {
    let (_dir, db) = database();
    let row = one_i64(&db, "SELECT min(id) FROM failures");
    let at = one_i64(&db, &format!("SELECT at FROM failures WHERE id = {row}"));
    tamper(
        &db,
        &format!(
            "DROP TRIGGER failures_append_only_update;
             UPDATE failures SET detail = 'all fine' WHERE id = {row};"
        ),
    );
    let out = verify(&db, &[], 1);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("FAILED"), "{out}");
    assert!(
        first.contains(&format!(
            "failures row {row} (probe web, {}) was altered after it was sealed",
            UtcMillis(at)
        )),
        "{out}"
    );
    assert!(out.contains("1 problem"), "{out}");
}

#[test]
fn an_altered_run_count_fails_and_is_named() {
    let (_dir, db) = database();
    let row = one_i64(
        &db,
        "SELECT r.id FROM runs r JOIN probes p ON p.id = r.probe_id
         WHERE p.name = 'mail' ORDER BY r.count DESC LIMIT 1",
    );
    tamper(
        &db,
        &format!(
            "DROP TRIGGER runs_append_only_update;
             UPDATE runs SET count = count + 3 WHERE id = {row};"
        ),
    );
    let out = verify(&db, &[], 1);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains(&format!("runs row {row} (probe mail, 2024-04-0")),
        "{out}"
    );
    assert!(out.contains("was altered after it was sealed"), "{out}");
}

#[test]
fn a_deleted_failure_fails_and_is_named() {
    let (_dir, db) = database();
    let row = one_i64(&db, "SELECT max(id) FROM failures");
    let at = one_i64(&db, &format!("SELECT at FROM failures WHERE id = {row}"));
    tamper(
        &db,
        &format!(
            "DROP TRIGGER failures_append_only_delete;
             DELETE FROM failures WHERE id = {row};"
        ),
    );
    let out = verify(&db, &[], 1);
    assert!(
        out.lines().next().unwrap().contains(&format!(
            "failures row {row} (probe web, {}) was deleted after it was sealed",
            UtcMillis(at)
        )),
        "{out}"
    );
}

#[test]
fn a_failure_inserted_by_hand_fails_and_a_forged_seal_breaks_the_chain() {
    let (_dir, db) = database();
    tamper(
        &db,
        &format!(
            "INSERT INTO failures (probe_id, at, class, detail)
             SELECT id, {}, 'timeout', 'forged' FROM probes WHERE name = 'mail';",
            T0 + 30 * MIN
        ),
    );
    let out = verify(&db, &[], 1);
    assert!(
        out.contains("(probe mail, 2024-04-01T00:30:00.000Z) is not sealed"),
        "{out}"
    );
    // Sealing it by hand with a made-up chain value does not help.
    let next = one_i64(&db, "SELECT max(id) + 1 FROM seals");
    tamper(
        &db,
        &format!(
            "INSERT INTO seals (id, tbl, row_id, row_hash, chain, probe, at)
             SELECT {next}, 'failures', max(id), '{0}', '{0}', 'mail', 0 FROM failures;",
            "ab".repeat(32)
        ),
    );
    let out = verify(&db, &[], 1);
    assert!(out.contains(&format!("seal {next}: failures row")), "{out}");
    assert!(out.contains("the chain is broken here"), "{out}");
}

#[test]
fn triggers_refuse_a_naive_edit_of_sealed_evidence() {
    let (_dir, db) = database();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE failures SET detail = 'fine'",
        "DELETE FROM failures",
        "UPDATE runs SET count = 1",
        "DELETE FROM runs",
        "UPDATE seals SET chain = ''",
        "DELETE FROM seals",
        "UPDATE probes SET name = 'other' WHERE name = 'web'",
    ] {
        let err = conn.execute_batch(sql).unwrap_err().to_string();
        assert!(err.contains("evidence is append-only"), "{sql}: {err}");
    }
    drop(conn);
    verify(&db, &[], 0);
}

#[test]
fn open_runs_are_reported_and_sealed_once_their_hour_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0, 1);
    store.flush().unwrap();
    // Both probes' runs of the current hour may still grow.
    let out = verify(&db, &[], 0);
    assert!(out.contains("2 open runs not yet sealed"), "{out}");
    // A heartbeat of the next hour: they can no longer change and are sealed.
    store.heartbeat("office", UtcMillis(T0 + HOUR)).unwrap();
    store.flush().unwrap();
    let out = verify(&db, &[], 0);
    assert!(!out.contains("open run"), "{out}");
    assert!(
        out.starts_with(&format!("ok: {} rows sealed", seals(&db))),
        "{out}"
    );
    // A late check of the hour that is over gets a run sealed at once.
    store
        .record_check(&check("web", T0 + HOUR - 1000, Status::Up))
        .unwrap();
    store.flush().unwrap();
    let out = verify(&db, &[], 0);
    assert!(!out.contains("open run"), "{out}");
    store.close().unwrap();
}

#[test]
fn an_unsealed_run_of_a_past_hour_fails() {
    let (_dir, db) = database();
    tamper(
        &db,
        &format!(
            "INSERT INTO runs (probe_id, status, first_at, last_at, count)
             SELECT id, 'up', {0}, {0}, 1 FROM probes WHERE name = 'web';",
            T0 + 10 * MIN
        ),
    );
    let out = verify(&db, &[], 1);
    assert!(
        out.contains(
            "(probe web, 2024-04-01T00:10:00.000Z) is not sealed although it can no longer be open"
        ),
        "{out}"
    );
}

#[test]
fn the_chain_continues_across_a_restart_and_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0, 1);
    store.close().unwrap();
    let head = Reader::open(&db).unwrap().chain_head().unwrap().unwrap();
    // A restart in the same hour: the new writer starts new runs and chains on.
    let store = Store::open(&db).unwrap();
    store
        .record_check(&check("web", T0 + 59 * MIN, Status::Up))
        .unwrap();
    store
        .record_check(&check("web", T0 + 59 * MIN + 30_000, Status::Down))
        .unwrap();
    store.flush().unwrap();
    // A crash: the writer vanishes without sealing its open runs.
    store
        .record_check(&check("mail", T0 + 59 * MIN + 40_000, Status::Up))
        .unwrap();
    store.flush().unwrap();
    std::mem::forget(store);
    let out = verify(&db, &[], 0);
    assert!(out.contains("1 open run not yet sealed"), "{out}");
    let store = Store::open(&db).unwrap();
    store
        .record_check(&check("mail", T0 + HOUR, Status::Up))
        .unwrap();
    store.close().unwrap();
    let out = verify(&db, &[], 0);
    assert!(
        out.starts_with(&format!("ok: {} rows sealed", seals(&db))),
        "{out}"
    );
    // One chain: the first head is still in it, seal ids have no gap.
    let r = Reader::open(&db).unwrap();
    assert_eq!(r.chain_at(head.0).unwrap(), Some(head.1));
    assert_eq!(one_i64(&db, "SELECT max(id) - count(*) FROM seals"), 0);
}

const DAY: i64 = 86_400_000;
const RETENTION: Duration = Duration::from_secs(400 * 86_400);

#[test]
fn retention_is_a_sealed_event_and_the_chain_stays_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0, 3);
    store.flush().unwrap();
    let before = rows(&db);
    let sealed = seals(&db);
    // 400 days after the second day began: days 0 and 1 go, day 2 stays.
    store
        .prune(UtcMillis(T0 + 2 * DAY + 400 * DAY + 5 * MIN), RETENTION)
        .unwrap();
    store.flush().unwrap();
    let after = rows(&db);
    assert!(after < before, "{before} -> {after}");
    assert_eq!(
        one_i64(
            &db,
            &format!(
                "SELECT count(*) FROM runs WHERE first_at < {}",
                T0 + 2 * DAY
            )
        ),
        0
    );
    assert_eq!(
        one_i64(
            &db,
            &format!(
                "SELECT count(*) FROM runs WHERE first_at >= {}",
                T0 + 2 * DAY
            )
        ),
        2
    );
    // The two open runs are sealed first, then the event; no seal went.
    assert_eq!(seals(&db), sealed + 2 + 1);
    let out = verify(&db, &[], 0);
    assert!(
        out.starts_with(&format!("ok: {} rows sealed", sealed + 3)),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{} rows deleted by retention, accounted for by 1 prune event",
            before - after
        )),
        "{out}"
    );
    // The event is sealed like any row: editing it is found.
    tamper(
        &db,
        "DROP TRIGGER prunes_append_only_update; UPDATE prunes SET failures = failures - 1;",
    );
    let out = verify(&db, &[], 1);
    assert!(out.contains("prunes row 1 ("), "{out}");
    assert!(out.contains("was altered after it was sealed"), "{out}");
    assert!(
        out.contains("does not match the rows that are gone"),
        "{out}"
    );
    store.close().unwrap();
}

#[test]
fn a_prune_never_cuts_newer_than_400_days_whatever_it_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0, 3);
    store.flush().unwrap();
    let before = rows(&db);
    store
        .prune(UtcMillis(T0 + 3 * DAY), Duration::ZERO)
        .unwrap();
    store.close().unwrap();
    assert_eq!(rows(&db), before);
    assert_eq!(one_i64(&db, "SELECT count(*) FROM prunes"), 0);
}

/// SHA-256, lower-case hex.
fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The attack of issue 11: half a day of failed checks and the outage deleted by
/// hand, passed off as retention with a prune event forged and sealed correctly.
#[test]
fn failed_checks_and_an_outage_deleted_as_if_by_retention_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0, 3);
    let outage = slawatch::outage::Outage {
        probe: "web".to_owned(),
        start: UtcMillis(T0 + DAY + 3 * (HOUR / 12)),
        end: Some(UtcMillis(T0 + DAY + 6 * (HOUR / 12))),
        last_failure: UtcMillis(T0 + DAY + 5 * (HOUR / 12)),
        last_success_before: None,
        class: ErrorClass::Timeout,
        detail: "no answer in 10 s".to_owned(),
        failed_checks: 3,
    };
    store
        .record_outage(&slawatch::outage::Event::Opened(slawatch::outage::Outage {
            end: None,
            ..outage.clone()
        }))
        .unwrap();
    store
        .record_outage(&slawatch::outage::Event::Closed(outage))
        .unwrap();
    store.close().unwrap();
    verify(&db, &[], 0);
    // The failed checks of day 1, and the outage: gone.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (up_to, head): (i64, String) = conn
        .query_row(
            "SELECT id, chain FROM seals ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut gone = Vec::new();
    let mut stmt = conn
        .prepare("SELECT row_hash FROM seals WHERE tbl = 'failures' ORDER BY id")
        .unwrap();
    for h in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        gone.extend(unhex(&h.unwrap()));
    }
    drop(stmt);
    let failures = one_i64(&db, "SELECT count(*) FROM failures");
    assert_eq!(failures, 3);
    let now = T0 + 3 * DAY;
    let before = T0 + 2 * DAY;
    let digest = sha(&gone);
    let line = format!(
        "prune|{now}|{before}|{up_to}|{}|0|{failures}|{failures}|{digest}\n",
        RETENTION.as_millis()
    );
    let rh = sha(line.as_bytes());
    let chain = sha(&[unhex(&head), unhex(&rh)].concat());
    conn.execute_batch(&format!(
        "DROP TRIGGER failures_append_only_delete; DROP TRIGGER outages_append_only_delete;
         INSERT INTO prunes (id, at, before, up_to_seal, retention_ms, runs, failures, checks, digest)
           VALUES (1, {now}, {before}, {up_to}, {}, 0, {failures}, {failures}, '{digest}');
         INSERT INTO seals (id, tbl, row_id, row_hash, chain, probe, at)
           VALUES ({}, 'prunes', 1, '{rh}', '{chain}', '', {now});
         DELETE FROM failures; DELETE FROM outages;",
        RETENTION.as_millis(),
        up_to + 1
    ))
    .unwrap();
    drop(conn);
    let out = verify(&db, &[], 1);
    // The forged event is otherwise perfect: only its cut gives it away.
    assert!(!out.contains("broken"), "{out}");
    assert!(!out.contains("failures row"), "{out}");
    assert!(
        out.contains(&format!(
            "seal {}: prunes row 1 ({}) this prune event cut checks newer than a retention of 400 days allowed",
            up_to + 1,
            UtcMillis(now)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "outages row 1 (probe web, {}) was deleted after it was sealed",
            UtcMillis(T0 + DAY + 3 * (HOUR / 12))
        )),
        "{out}"
    );
}

#[test]
fn a_database_from_before_the_chain_is_sealed_when_a_writer_opens_it() {
    let (_dir, db) = database();
    let n = seals(&db);
    // Make it look like schema 1: no seals, no prunes, no triggers.
    tamper(
        &db,
        &format!(
            "DROP TABLE seals; DROP TABLE prunes; DROP TABLE goodwill;
         DROP TRIGGER outages_append_only_update; DROP TRIGGER outages_append_only_delete;
         DROP TRIGGER coverage_append_only_update; DROP TRIGGER coverage_append_only_delete;
         DROP TRIGGER incidents_append_only_update; DROP TRIGGER incidents_append_only_delete;
         DROP TRIGGER maintenance_append_only_update;
         DROP TRIGGER maintenance_append_only_delete;
         DROP TRIGGER failures_append_only_update; DROP TRIGGER failures_append_only_delete;
         DROP TRIGGER runs_append_only_update; DROP TRIGGER runs_append_only_delete;
         DROP TRIGGER probes_keep_their_name;
         DROP TRIGGER checkpoint_moves_forward; DROP TRIGGER checkpoint_stays;
         {UNDO_MIGRATION_4}
         PRAGMA user_version = 1;"
        ),
    );
    let out = verify(&db, &[], 2);
    assert!(out.contains("has no hash chain yet"), "{out}");
    Store::open(&db).unwrap().close().unwrap();
    let out = verify(&db, &[], 0);
    assert!(out.starts_with(&format!("ok: {n} rows sealed")), "{out}");
}

/// A report's evidence as `slawatch report --format json` states it.
fn report_json(db: &Path, dir: &Path) -> PathBuf {
    let r = Reader::open(db).unwrap();
    let probes = ["web".to_owned()];
    let (from, to) = (UtcMillis(T0), UtcMillis(T0 + 3 * HOUR));
    let d = r.evidence_digest(&probes, from, to).unwrap();
    let (seal, head) = r.chain_head().unwrap().unwrap();
    let v = serde_json::json!({
        "format": "slawatch-report/1",
        "contracts": [{
            "id": "shop",
            "evidence": {
                "sha256": d.sha256,
                "checks": d.checks,
                "runs": d.runs,
                "failed_checks": d.failures,
                "probes": probes,
                "from": from.to_string(),
                "to": to.to_string(),
                "chain": { "seal": seal, "head": head },
            }
        }]
    });
    let path = dir.join("report.json");
    std::fs::write(&path, v.to_string()).unwrap();
    path
}

#[test]
fn a_reports_digest_is_recomputed_and_fails_after_an_edit() {
    let (dir, db) = database();
    let report = report_json(&db, dir.path());
    let out = verify(&db, &["--report", report.to_str().unwrap()], 0);
    assert!(
        out.contains("report $.contracts[0].evidence (2024-04-01T00:00:00.000Z to 2024-04-04T00:00:00.000Z, probes web): digest matches"),
        "{out}"
    );
    assert!(out.contains("chain head at seal"), "{out}");
    tamper(
        &db,
        "DROP TRIGGER failures_append_only_update;
         UPDATE failures SET class = 'refused' WHERE id = (SELECT min(id) FROM failures);",
    );
    let out = verify(&db, &["--report", report.to_str().unwrap()], 1);
    assert!(out.contains("digest MISMATCH: the report states"), "{out}");
    assert!(out.contains("was altered after it was sealed"), "{out}");
}

#[test]
fn the_reports_chain_head_catches_a_cut_the_chain_alone_cannot() {
    let (dir, db) = database();
    let report = report_json(&db, dir.path());
    // Remove the newest seal and its row (the last coverage segment, sealed at
    // the stop): what remains is a valid, shorter chain.
    assert_eq!(
        one_i64(
            &db,
            "SELECT tbl = 'coverage' FROM seals ORDER BY id DESC LIMIT 1"
        ),
        1
    );
    tamper(
        &db,
        "DROP TRIGGER seals_append_only_delete; DROP TRIGGER coverage_append_only_delete;
         DELETE FROM coverage WHERE id = (SELECT row_id FROM seals ORDER BY id DESC LIMIT 1);
         DELETE FROM seals WHERE id = (SELECT max(id) FROM seals);",
    );
    let out = verify(&db, &[], 0);
    assert!(out.starts_with("ok:"), "{out}");
    let out = verify(&db, &["--report", report.to_str().unwrap()], 1);
    assert!(out.contains("chain head MISMATCH"), "{out}");
}

#[test]
fn verify_json_names_the_chain_head_as_the_report_does() {
    let (dir, db) = database();
    let report = report_json(&db, dir.path());
    let stated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let out: serde_json::Value = serde_json::from_str(&verify(
        &db,
        &["--json", "--report", report.to_str().unwrap()],
        0,
    ))
    .unwrap();
    // One shape of a chain head, `{seal, head}`, in the report and in verify's output.
    assert_eq!(out["head"], stated["contracts"][0]["evidence"]["chain"]);
    assert_eq!(out["reports"][0]["chain_matches"], true);
    // A field slawatch never writes is a forged shape: refused, not ignored.
    let forged = dir.path().join("forged.json");
    let text = std::fs::read_to_string(&report)
        .unwrap()
        .replace("\"runs\":", "\"verified\":true,\"runs\":");
    std::fs::write(&forged, text).unwrap();
    let out = verify(&db, &["--report", forged.to_str().unwrap()], 2);
    assert!(out.contains("unknown field `verified`"), "{out}");
}

#[test]
fn verify_without_a_database_or_with_a_bad_report_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify(&dir.path().join("missing.db"), &[], 2);
    assert!(out.contains("error:"), "{out}");
    let (dir, db) = database();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"format": "slawatch-report/1", "contracts": [{"evidence": {"sha256": "00", "checks": 0, "runs": 0, "failed_checks": 0,
"probes": ["web"], "from": "yesterday", "to": "2024-04-01T00:00:00Z", "chain": null}}]}"#,
    )
    .unwrap();
    let out = verify(&db, &["--report", bad.to_str().unwrap()], 2);
    assert!(
        out.contains(&format!(
            "{}:2:38: 'yesterday' is not an RFC 3339 instant",
            bad.display()
        )),
        "{out}"
    );
    std::fs::write(&bad, "{}").unwrap();
    let out = verify(&db, &["--report", bad.to_str().unwrap()], 2);
    assert!(out.contains("states no evidence digest"), "{out}");
}

#[test]
fn verify_help_teaches() {
    let out = slawatch().args(["verify", "--help"]).assert().success();
    let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for want in ["Examples:", "--report", "Exit status: 0", "SHA-256"] {
        assert!(help.contains(want), "{want} missing from:\n{help}");
    }
}

/// A database with every kind of sealed row: checks, an outage (open, then
/// closed), coverage, a maintenance window and a manual incident.
fn database_with_everything() -> (tempfile::TempDir, PathBuf) {
    let (dir, db) = database();
    let store = Store::open(&db).unwrap();
    let outage = slawatch::outage::Outage {
        probe: "web".to_owned(),
        start: UtcMillis(T0 + HOUR + 3 * (HOUR / 12)),
        end: None,
        last_failure: UtcMillis(T0 + HOUR + 5 * (HOUR / 12)),
        last_success_before: Some(UtcMillis(T0 + HOUR + 2 * (HOUR / 12))),
        class: ErrorClass::Timeout,
        detail: "no answer in 10 s".to_owned(),
        failed_checks: 3,
    };
    store
        .record_outage(&slawatch::outage::Event::Opened(outage.clone()))
        .unwrap();
    store
        .record_outage(&slawatch::outage::Event::Closed(slawatch::outage::Outage {
            end: Some(UtcMillis(T0 + HOUR + 6 * (HOUR / 12))),
            ..outage
        }))
        .unwrap();
    store
        .record_maintenance(&[slawatch::config::Maintenance {
            contracts: vec!["hosting".to_owned()],
            probes: vec![],
            start: UtcMillis(T0 + 2 * HOUR),
            end: UtcMillis(T0 + 2 * HOUR + 60 * MIN),
            announced_at: Some(UtcMillis(T0)),
            note: Some("kernel update".to_owned()),
        }])
        .unwrap();
    store.close().unwrap();
    slawatch::store::add_incident(
        &db,
        &slawatch::store::Incident {
            id: 0,
            probe: Some("mail".to_owned()),
            contract: None,
            start: UtcMillis(T0 - HOUR),
            end: UtcMillis(T0 - HOUR + 90 * MIN),
            source: slawatch::store::IncidentSource::StatusPage,
            note: "status page: mail degraded".to_owned(),
            created_at: UtcMillis(T0 + 3 * HOUR),
            ..Default::default()
        },
    )
    .unwrap();
    (dir, db)
}

#[test]
fn outages_coverage_incidents_and_maintenance_are_sealed() {
    let (_dir, db) = database_with_everything();
    let out = verify(&db, &[], 0);
    assert!(
        out.starts_with(&format!("ok: {} rows sealed", seals(&db))),
        "{out}"
    );
    for (tbl, n) in [
        ("outages", 2),
        ("coverage", 36),
        ("incidents", 1),
        ("maintenance", 1),
    ] {
        assert_eq!(
            one_i64(
                &db,
                &format!("SELECT count(*) FROM seals WHERE tbl = '{tbl}'")
            ),
            n,
            "{tbl}"
        );
    }
    // A slip at the sqlite3 prompt fails loudly.
    let conn = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE outages SET end = end + 1",
        "DELETE FROM outages",
        "UPDATE coverage SET end = end + 1",
        "DELETE FROM coverage",
        "UPDATE incidents SET note = ''",
        "DELETE FROM incidents",
        "UPDATE maintenance SET end = end + 1",
        "DELETE FROM maintenance",
        "DELETE FROM seals",
    ] {
        let err = conn.execute_batch(sql).unwrap_err().to_string();
        assert!(err.contains("evidence is append-only"), "{sql}: {err}");
    }
}

#[test]
fn each_newly_sealed_table_edited_by_hand_is_found_and_named() {
    let cases = [
        (
            "DROP TRIGGER outages_append_only_update; UPDATE outages SET end = end - 3600000;",
            format!(
                "outages row 1 (probe web, {}) was altered",
                UtcMillis(T0 + HOUR + 3 * (HOUR / 12))
            ),
        ),
        (
            "DROP TRIGGER coverage_append_only_update; UPDATE coverage SET end = end + 7200000 WHERE id = 5;",
            format!(
                "coverage row 5 (vantage office, {}) was altered",
                UtcMillis(T0 + 4 * (HOUR / 12) + 2000)
            ),
        ),
        (
            "DROP TRIGGER incidents_append_only_update; UPDATE incidents SET end = start;",
            format!(
                "incidents row 1 (for mail, {}) was altered",
                UtcMillis(T0 - HOUR)
            ),
        ),
        (
            "DROP TRIGGER maintenance_append_only_update; UPDATE maintenance SET end = end + 86400000;",
            format!(
                "maintenance row 1 (scope contract:hosting, {}) was altered",
                UtcMillis(T0 + 2 * HOUR)
            ),
        ),
        (
            "DROP TRIGGER outages_append_only_delete; DELETE FROM outages;",
            format!(
                "outages row 1 (probe web, {}) was deleted after it was sealed",
                UtcMillis(T0 + HOUR + 3 * (HOUR / 12))
            ),
        ),
        (
            "DROP TRIGGER coverage_append_only_delete; DELETE FROM coverage WHERE id = 5;",
            format!(
                "coverage row 5 (vantage office, {}) was deleted after it was sealed",
                UtcMillis(T0 + 4 * (HOUR / 12) + 2000)
            ),
        ),
        (
            "DROP TRIGGER incidents_append_only_delete; DELETE FROM incidents;",
            format!(
                "incidents row 1 (for mail, {}) was deleted after it was sealed",
                UtcMillis(T0 - HOUR)
            ),
        ),
        (
            "DROP TRIGGER maintenance_append_only_delete; DELETE FROM maintenance;",
            format!(
                "maintenance row 1 (scope contract:hosting, {}) was deleted after it was sealed",
                UtcMillis(T0 + 2 * HOUR)
            ),
        ),
    ];
    for (sql, expected) in cases {
        let (_dir, db) = database_with_everything();
        tamper(&db, sql);
        let out = verify(&db, &[], 1);
        assert!(out.contains(&expected), "{sql}\n{out}");
    }
}

#[test]
fn rows_inserted_or_reordered_by_hand_are_found() {
    let (_dir, db) = database_with_everything();
    // Two coverage segments swapped (their instants exchanged).
    tamper(
        &db,
        "DROP TRIGGER coverage_append_only_update;
         UPDATE coverage SET start = start + 7200000, end = end + 7200000 WHERE id = 3;
         UPDATE coverage SET start = start - 7200000, end = end - 7200000 WHERE id = 4;",
    );
    let out = verify(&db, &[], 1);
    assert!(out.contains("coverage row 3 (vantage office,"), "{out}");
    assert!(out.contains("coverage row 4 (vantage office,"), "{out}");
    let (_dir, db) = database_with_everything();
    // A segment filling a gap, an outage, an incident and a window made up.
    tamper(
        &db,
        &format!(
            "INSERT INTO coverage (vantage, start, end) VALUES ('office', {0}, {1});
             INSERT INTO outages (probe_id, start, end, last_failure, class, detail, failed_checks)
               SELECT id, {0}, {1}, {0}, 'refused', 'x', 2 FROM probes WHERE name = 'mail';
             INSERT INTO incidents (probe, start, end, source, created_at)
               VALUES ('web', {0}, {1}, 'manual', {1});
             INSERT INTO maintenance (scope, start, end) VALUES ('probe:web', {0}, {1});",
            T0 - 3 * HOUR,
            T0 - 2 * HOUR
        ),
    );
    let out = verify(&db, &[], 1);
    for expected in [
        format!(
            "no seal: coverage row 37 (vantage office, {}) is not sealed",
            UtcMillis(T0 - 3 * HOUR)
        ),
        format!(
            "no seal: outages row 2 (probe mail, {}) is not sealed",
            UtcMillis(T0 - 3 * HOUR)
        ),
        format!(
            "no seal: incidents row 2 (for web, {}) is not sealed",
            UtcMillis(T0 - 3 * HOUR)
        ),
        format!(
            "no seal: maintenance row 2 (scope probe:web, {}) is not sealed",
            UtcMillis(T0 - 3 * HOUR)
        ),
    ] {
        assert!(out.contains(&expected), "{expected}\n{out}");
    }
    // Re-sealing an edited row at the end of the chain (a correct link) is found too.
    let (_dir, db) = database_with_everything();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (last, head): (i64, String) = conn
        .query_row(
            "SELECT id, chain FROM seals ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let line = format!(
        "maintenance|contract:hosting|{}|{}|{}|kernel update\n",
        T0 + 2 * HOUR,
        T0 + 2 * HOUR + 1,
        T0
    );
    let rh = sha(line.as_bytes());
    let chain = sha(&[unhex(&head), unhex(&rh)].concat());
    conn.execute_batch(&format!(
        "DROP TRIGGER maintenance_append_only_update;
         UPDATE maintenance SET end = {};
         INSERT INTO seals (id, tbl, row_id, row_hash, chain, probe, at)
           VALUES ({}, 'maintenance', 1, '{rh}', '{chain}', 'contract:hosting', {});",
        T0 + 2 * HOUR + 1,
        last + 1,
        T0 + 2 * HOUR
    ))
    .unwrap();
    drop(conn);
    let out = verify(&db, &[], 1);
    assert!(
        out.contains("maintenance row 1 (scope contract:hosting"),
        "{out}"
    );
    assert!(out.contains("was sealed again"), "{out}");
}

#[test]
fn a_checkpoint_file_is_checked_line_by_line_against_the_chain() {
    let (dir, db) = database_with_everything();
    let file = dir.path().join("checkpoints");
    let head = || Reader::open(&db).unwrap().chain_head().unwrap();
    slawatch::checkpoint::append(&file, UtcMillis(T0), "start", "office", head()).unwrap();
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0 + 3 * HOUR, 1);
    store.close().unwrap();
    slawatch::checkpoint::append(&file, UtcMillis(T0 + 4 * HOUR), "stop", "office", head())
        .unwrap();
    let file_arg = file.to_str().unwrap();
    let out = verify(&db, &["--checkpoint", file_arg], 0);
    assert!(out.contains("all 2 lines match the chain"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    // A line edited (its chain value): the next line no longer follows it.
    let first_chain = text
        .lines()
        .next()
        .unwrap()
        .split(" chain=")
        .nth(1)
        .unwrap()[..64]
        .to_owned();
    let edited = text.replacen(&first_chain, &"0".repeat(64), 1);
    std::fs::write(&file, &edited).unwrap();
    let out = verify(&db, &["--checkpoint", file_arg], 1);
    assert!(
        out.contains("line 2 DISAGREES: the line does not follow line 1"),
        "{out}"
    );
    // Lines reordered.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, format!("{}\n{}\n", lines[1], lines[0])).unwrap();
    let out = verify(&db, &["--checkpoint", file_arg], 1);
    assert!(
        out.contains("line 1 DISAGREES: the line does not start the file"),
        "{out}"
    );
    // The file moved to another database (or this database's chain rewritten).
    std::fs::write(&file, &text).unwrap();
    let (_other_dir, other) = database();
    let out = verify(&other, &["--checkpoint", file_arg], 1);
    assert!(out.contains("line 1 DISAGREES: "), "{out}");
    assert!(
        out.contains("(or the file belongs to another database)"),
        "{out}"
    );
    // The chain rewritten from a seal the first line pins.
    let pinned = text
        .lines()
        .next()
        .unwrap()
        .split(" seal=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    tamper(
        &db,
        &format!(
            "DROP TRIGGER seals_append_only_update; UPDATE seals SET chain = '{}' WHERE id = {pinned};",
            "ab".repeat(32)
        ),
    );
    let out = verify(&db, &["--checkpoint", file_arg], 1);
    assert!(
        out.contains(&format!(
            "line 1 DISAGREES: the database holds chain {} at seal {pinned}",
            "ab".repeat(32)
        )),
        "{out}"
    );
}

/// Milliseconds since the epoch now: the daemon prunes by the wall clock.
#[expect(
    clippy::disallowed_methods,
    reason = "the test writes checks older than the retention by the daemon's clock"
)]
fn wall_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The daemon as a process: checks far older than the retention survive its first
/// hour (today's main pruned them at the first heartbeat), and it appends a
/// checkpoint at start and at stop that `verify --checkpoint` accepts.
#[test]
fn the_daemon_prunes_nothing_in_its_first_hour_and_writes_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let old = wall_ms() - 500 * DAY;
    let store = Store::open(&db).unwrap();
    write_hours(&store, old - old.rem_euclid(DAY), 2);
    store.close().unwrap();
    let before = rows(&db);
    let segments = one_i64(&db, "SELECT count(*) FROM coverage");
    let config = dir.path().join("probes.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\nretention = \"400d\"\ncheckpoint_file = \"{}\"\n",
            db.display(),
            dir.path().join("checkpoints").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("log")).unwrap();
    let mut child = std::process::Command::new(crate::util::slawatch_bin())
        .args(["run", "--config"])
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    // Several heartbeats: today's main prunes at the first one.
    let start = std::time::Instant::now();
    let newest =
        format!("SELECT coalesce(max(end - start), 0) FROM coverage WHERE id > {segments}");
    while one_i64(&db, &newest) < 2_000 {
        assert!(start.elapsed() < Duration::from_secs(20), "no heartbeats");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(rows(&db), before, "checks were pruned in the first hour");
    assert_eq!(one_i64(&db, "SELECT count(*) FROM prunes"), 0);
    let file = dir.path().join("checkpoints");
    let text = std::fs::read_to_string(&file).unwrap();
    let events: Vec<&str> = text
        .lines()
        .map(|l| {
            l.split(" event=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(events, ["start", "stop"], "{text}");
    let head = Reader::open(&db).unwrap().chain_head().unwrap().unwrap();
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains(&format!("seal={} chain={}", head.0, head.1)),
        "{text}"
    );
    let out = verify(&db, &["--checkpoint", file.to_str().unwrap()], 0);
    assert!(out.contains("all 2 lines match the chain"), "{out}");
}

/// digest.rs's promise: the canonical line of each newly sealed row can be
/// recomputed with `sqlite3` (and hashed with any SHA-256 tool) to its seal's row_hash.
#[test]
fn the_new_canonical_lines_are_recomputed_with_sqlite3() {
    let (_dir, db) = database_with_everything();
    for (tbl, row, select) in [
        (
            "outages",
            1,
            "SELECT 'outage', p.name, o.start, o.end, o.last_failure, o.last_success_before,
                    o.class, o.detail, o.failed_checks
             FROM outages o JOIN probes p ON p.id = o.probe_id WHERE o.id = 1",
        ),
        (
            "coverage",
            5,
            "SELECT 'coverage', vantage, start, end FROM coverage WHERE id = 5",
        ),
        (
            "incidents",
            1,
            "SELECT 'incident', probe, contract, start, end, source, note, created_at
             FROM incidents WHERE id = 1",
        ),
        (
            "maintenance",
            1,
            "SELECT 'maintenance', scope, start, end, announced_at, note
             FROM maintenance WHERE id = 1",
        ),
    ] {
        let out = std::process::Command::new("sqlite3")
            .args(["-separator", "|"])
            .arg(&db)
            .arg(select)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stored: String = rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT row_hash FROM seals WHERE tbl = ?1 AND row_id = ?2 ORDER BY id DESC LIMIT 1",
                rusqlite::params![tbl, row],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            sha(&out.stdout),
            stored,
            "{tbl}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The attack as issue 11 ran it: a prefix of the chain cut and the retention
/// checkpoint in `meta` moved past it, so that `verify` used to answer "ok, pruned
/// by retention". Only migration 3 records such a checkpoint now, as a sealed event.
#[test]
fn a_checkpoint_moved_in_meta_to_hide_a_cut_prefix_is_found() {
    let (_dir, db) = database_with_everything();
    let n = one_i64(&db, "SELECT max(id) FROM seals WHERE tbl = 'failures'");
    tamper(
        &db,
        &format!(
            "DROP TRIGGER seals_append_only_delete; DROP TRIGGER runs_append_only_delete;
             DROP TRIGGER failures_append_only_delete; DROP TRIGGER coverage_append_only_delete;
             INSERT INTO meta (key, value) VALUES ('chain_checkpoint_seal', '{n}');
             INSERT INTO meta (key, value)
               SELECT 'chain_checkpoint_hash', chain FROM seals WHERE id = {n};
             DELETE FROM runs WHERE id IN (SELECT row_id FROM seals WHERE tbl = 'runs' AND id <= {n});
             DELETE FROM failures WHERE id IN
               (SELECT row_id FROM seals WHERE tbl = 'failures' AND id <= {n});
             DELETE FROM coverage WHERE id IN
               (SELECT row_id FROM seals WHERE tbl = 'coverage' AND id <= {n});
             DELETE FROM seals WHERE id <= {n};"
        ),
    );
    assert_eq!(one_i64(&db, "SELECT count(*) FROM failures"), 0);
    let out = verify(&db, &[], 1);
    assert!(
        out.starts_with(&format!(
            "FAILED: the evidence was altered: seal {n}: seals the chain starts after this seal \
             by a checkpoint in meta that no sealed event records"
        )),
        "{out}"
    );
    assert!(out.contains("1 problem"), "{out}");
}

/// A database pruned before migration 3 (its chain starts at the checkpoint in
/// `meta`) is upgraded with that checkpoint recorded as a sealed event, and verifies.
#[test]
fn a_database_pruned_before_migration_3_upgrades_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    for i in 0..36 {
        let at = T0 + i * (HOUR / 12);
        let status = if i % 5 == 2 { Status::Down } else { Status::Up };
        store.record_check(&check("web", at, status)).unwrap();
    }
    store.close().unwrap();
    let k = one_i64(&db, "SELECT max(id) / 2 FROM seals");
    // Back to schema 2 (seals of runs and failures only), then pruned as schema 2
    // did: a prefix cut and its last seal kept in meta.
    tamper(
        &db,
        &format!(
            "DROP TRIGGER failures_append_only_delete; DROP TRIGGER runs_append_only_update;
             DROP TRIGGER runs_append_only_delete;
             DROP TRIGGER outages_append_only_update; DROP TRIGGER outages_append_only_delete;
             DROP TRIGGER coverage_append_only_update; DROP TRIGGER coverage_append_only_delete;
             DROP TRIGGER incidents_append_only_update; DROP TRIGGER incidents_append_only_delete;
             DROP TRIGGER maintenance_append_only_update;
             DROP TRIGGER maintenance_append_only_delete;
             DROP TABLE prunes; DROP TABLE goodwill;
             CREATE TABLE seals_v2 (
                 id INTEGER PRIMARY KEY,
                 tbl TEXT NOT NULL CHECK (tbl IN ('runs', 'failures')),
                 row_id INTEGER NOT NULL, row_hash TEXT NOT NULL, chain TEXT NOT NULL,
                 probe TEXT NOT NULL, at INTEGER NOT NULL, UNIQUE (tbl, row_id)) STRICT;
             INSERT INTO seals_v2 SELECT id, tbl, row_id, row_hash, chain, probe, at FROM seals;
             DROP TABLE seals;
             ALTER TABLE seals_v2 RENAME TO seals;
             INSERT INTO meta (key, value) VALUES ('chain_checkpoint_seal', '{k}');
             INSERT INTO meta (key, value)
               SELECT 'chain_checkpoint_hash', chain FROM seals WHERE id = {k};
             DELETE FROM runs WHERE id IN (SELECT row_id FROM seals WHERE tbl = 'runs' AND id <= {k});
             DELETE FROM failures WHERE id IN
               (SELECT row_id FROM seals WHERE tbl = 'failures' AND id <= {k});
             DELETE FROM seals WHERE id <= {k};
             CREATE TRIGGER failures_append_only_delete BEFORE DELETE ON failures BEGIN SELECT 1; END;
             CREATE TRIGGER runs_append_only_update BEFORE UPDATE ON runs BEGIN SELECT 1; END;
             CREATE TRIGGER runs_append_only_delete BEFORE DELETE ON runs BEGIN SELECT 1; END;
             CREATE TRIGGER seals_append_only_update BEFORE UPDATE ON seals BEGIN SELECT 1; END;
             CREATE TRIGGER seals_append_only_delete BEFORE DELETE ON seals BEGIN SELECT 1; END;
             {UNDO_MIGRATION_4}
             PRAGMA user_version = 2;"
        ),
    );
    Store::open(&db).unwrap().close().unwrap();
    let out = verify(&db, &[], 0);
    assert!(
        out.contains(&format!("the chain starts after seal {k}")),
        "{out}"
    );
    assert_eq!(
        one_i64(
            &db,
            &format!("SELECT count(*) FROM prunes WHERE up_to_seal = {k} AND runs = 0")
        ),
        1
    );
}

// ---- incidents amended, withdrawn, with attachments (migration 4) ----

/// What migration 4 added, taken out again (incidents and their ids kept), for a
/// test that makes a database look older; with migration 6's members table (its
/// index on incidents goes with the incidents table) and migration 7's alert queue.
const UNDO_MIGRATION_4: &str = "
    DROP TABLE alert_attempts;
    DROP TABLE alerts;
    DROP TABLE members;
    DROP TABLE incident_attachments;
    DROP INDEX incidents_superseded_once;
    CREATE TABLE incidents_v3 (
        id INTEGER PRIMARY KEY, probe TEXT, contract TEXT, start INTEGER NOT NULL,
        end INTEGER NOT NULL, source TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL) STRICT;
    INSERT INTO incidents_v3
        SELECT id, probe, contract, start, end, source, note, created_at FROM incidents;
    DROP TABLE incidents;
    ALTER TABLE incidents_v3 RENAME TO incidents;";

/// `slawatch incident ARGS --database DB` with no configuration (names unchecked).
fn incident_cli(db: &Path, args: &[&str]) -> String {
    let dir = db.parent().unwrap();
    let out = slawatch()
        .current_dir(dir)
        .arg("incident")
        .args(args)
        .arg("--config")
        .arg(dir.join("no-config.toml"))
        .arg("--database")
        .arg(db)
        .assert()
        .success()
        .get_output()
        .clone();
    String::from_utf8(out.stdout).unwrap()
}

/// `database_with_everything` plus: incident 1 amended (2, with a cause, a zone and
/// an attachment), 2 withdrawn (3), and an open incident (4).
fn database_with_corrections() -> (tempfile::TempDir, PathBuf) {
    let (dir, db) = database_with_everything();
    let file = dir.path().join("notice.txt");
    std::fs::write(&file, "provider notice").unwrap();
    incident_cli(
        &db,
        &[
            "amend",
            "1",
            "--end",
            "2024-04-01T00:30:00Z",
            "--tz",
            "Europe/Rome",
            "--cause",
            "force_majeure",
            "--attach",
            file.to_str().unwrap(),
            "--reason",
            "status page updated",
        ],
    );
    incident_cli(&db, &["withdraw", "2", "--reason", "not our mailbox"]);
    incident_cli(
        &db,
        &["add", "--probe", "web", "--start", "2024-04-01T05:00:00Z"],
    );
    (dir, db)
}

#[test]
fn amended_and_withdrawn_incidents_keep_the_original_and_all_verify() {
    let (_dir, db) = database_with_corrections();
    let out = verify(&db, &[], 0);
    assert!(
        out.starts_with(&format!("ok: {} rows sealed", seals(&db))),
        "{out}"
    );
    assert_eq!(
        one_i64(&db, "SELECT count(*) FROM seals WHERE tbl = 'incidents'"),
        4
    );
    // The original is still there as it was written.
    assert_eq!(
        one_i64(&db, "SELECT end FROM incidents WHERE id = 1"),
        T0 - HOUR + 90 * MIN
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE incidents SET cause = NULL",
        "UPDATE incident_attachments SET sha256 = ''",
        "DELETE FROM incident_attachments",
    ] {
        let err = conn.execute_batch(sql).unwrap_err().to_string();
        assert!(err.contains("evidence is append-only"), "{sql}: {err}");
    }
}

#[test]
fn an_edit_of_any_new_incident_column_or_attachment_is_found() {
    let fake = "0".repeat(64);
    let cases = [
        ("UPDATE incidents SET cause = 'customer' WHERE id = 2", 2),
        ("UPDATE incidents SET supersedes = NULL WHERE id = 2", 2),
        ("UPDATE incidents SET reason = 'typo' WHERE id = 2", 2),
        ("UPDATE incidents SET tz = 'UTC' WHERE id = 2", 2),
        ("UPDATE incidents SET withdrawn = 0 WHERE id = 3", 3),
        ("UPDATE incidents SET open = 0 WHERE id = 4", 4),
        // A migration-3 record given a cause it never had.
        (
            "UPDATE incidents SET cause = 'force_majeure' WHERE id = 1",
            1,
        ),
    ];
    for (sql, row) in cases {
        let (_dir, db) = database_with_corrections();
        tamper(
            &db,
            &format!("DROP TRIGGER incidents_append_only_update; {sql};"),
        );
        let out = verify(&db, &[], 1);
        assert!(
            out.contains(&format!("incidents row {row} (for ")) && out.contains("was altered"),
            "{sql}\n{out}"
        );
    }
    for sql in [
        format!(
            "DROP TRIGGER incident_attachments_append_only_update;
             UPDATE incident_attachments SET sha256 = '{fake}'"
        ),
        "DROP TRIGGER incident_attachments_append_only_update;
         UPDATE incident_attachments SET name = 'other.txt'"
            .to_owned(),
        "DROP TRIGGER incident_attachments_append_only_delete;
         DELETE FROM incident_attachments"
            .to_owned(),
    ] {
        let (_dir, db) = database_with_corrections();
        tamper(&db, &sql);
        let out = verify(&db, &[], 1);
        assert!(out.contains("incidents row 2 (for mail,"), "{sql}\n{out}");
    }
}

#[test]
fn an_incident_sealed_before_migration_4_still_verifies_after_it() {
    let (_dir, db) = database_with_everything();
    // Make the incidents table what migration 3 left, incident 1 and its seal kept.
    tamper(
        &db,
        &format!("DROP TABLE goodwill; {UNDO_MIGRATION_4} PRAGMA user_version = 3;"),
    );
    let n = seals(&db);
    let out = verify(&db, &[], 0);
    assert!(out.starts_with(&format!("ok: {n} rows sealed")), "{out}");
    // A writer applies migration 4; the old record's line is unchanged.
    Store::open(&db).unwrap().close().unwrap();
    assert_eq!(one_i64(&db, "PRAGMA user_version"), 8);
    let out = verify(&db, &[], 0);
    assert!(out.starts_with(&format!("ok: {n} rows sealed")), "{out}");
    incident_cli(&db, &["withdraw", "1", "--reason", "duplicate"]);
    let out = verify(&db, &[], 0);
    assert!(out.starts_with("ok: "), "{out}");
}
