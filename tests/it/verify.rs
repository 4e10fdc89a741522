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
        out.starts_with(&format!("ok: {} rows sealed", rows(&db))),
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
        out.starts_with(&format!("ok: {} rows sealed", rows(&db))),
        "{out}"
    );
    // One chain: the first head is still in it, seal ids have no gap.
    let r = Reader::open(&db).unwrap();
    assert_eq!(r.chain_at(head.0).unwrap(), Some(head.1));
    assert_eq!(one_i64(&db, "SELECT max(id) - count(*) FROM seals"), 0);
}

#[test]
fn retention_keeps_the_chain_verifiable_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    write_hours(&store, T0, 3);
    store.flush().unwrap();
    let before = rows(&db);
    store.prune(UtcMillis(T0 + 2 * HOUR)).unwrap();
    store.flush().unwrap();
    let after = rows(&db);
    assert!(after < before, "{before} -> {after}");
    let out = verify(&db, &[], 0);
    assert!(
        out.starts_with(&format!("ok: {after} rows sealed")),
        "{out}"
    );
    assert!(out.contains("older rows were pruned by retention"), "{out}");
    // Nothing that ended in the kept hours was pruned.
    assert_eq!(
        one_i64(
            &db,
            &format!(
                "SELECT count(*) FROM runs WHERE last_at >= {}",
                T0 + 2 * HOUR
            )
        ),
        2
    );
    // The writer chains on after the cut, also when everything is pruned.
    write_hours(&store, T0 + 3 * HOUR, 1);
    store.prune(UtcMillis(T0 + 10 * HOUR)).unwrap();
    store.flush().unwrap();
    assert_eq!(rows(&db), 0);
    verify(&db, &[], 0);
    write_hours(&store, T0 + 11 * HOUR, 1);
    store.close().unwrap();
    let out = verify(&db, &[], 0);
    assert!(
        out.starts_with(&format!("ok: {} rows sealed", rows(&db))),
        "{out}"
    );
    // Removing the oldest kept row is not hidden by the checkpoint.
    let oldest = one_i64(
        &db,
        "SELECT row_id FROM seals WHERE tbl = 'runs' ORDER BY id LIMIT 1",
    );
    let first = one_i64(
        &db,
        &format!("SELECT first_at FROM runs WHERE id = {oldest}"),
    );
    let probe: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            &format!(
                "SELECT p.name FROM runs r JOIN probes p ON p.id = r.probe_id WHERE r.id = {oldest}"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    tamper(
        &db,
        &format!("DROP TRIGGER runs_append_only_delete; DELETE FROM runs WHERE id = {oldest};"),
    );
    let out = verify(&db, &[], 1);
    assert!(
        out.contains(&format!(
            "runs row {oldest} (probe {probe}, {}) was deleted after it was sealed",
            UtcMillis(first)
        )),
        "{out}"
    );
}

#[test]
fn a_database_from_before_the_chain_is_sealed_when_a_writer_opens_it() {
    let (_dir, db) = database();
    let n = rows(&db);
    // Make it look like schema 1: no seals, no triggers.
    tamper(
        &db,
        "DROP TABLE seals;
         DROP TRIGGER failures_append_only_update; DROP TRIGGER failures_append_only_delete;
         DROP TRIGGER runs_append_only_update; DROP TRIGGER runs_append_only_delete;
         DROP TRIGGER probes_keep_their_name;
         DROP TRIGGER checkpoint_moves_forward; DROP TRIGGER checkpoint_stays;
         PRAGMA user_version = 1;",
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
        "contracts": [{
            "id": "shop",
            "evidence": {
                "sha256": d.sha256,
                "checks": d.checks,
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
    // Remove the newest seal and its row: what remains is a valid, shorter chain.
    tamper(
        &db,
        "DROP TRIGGER seals_append_only_delete; DROP TRIGGER runs_append_only_delete;
         DROP TRIGGER failures_append_only_delete;
         DELETE FROM runs WHERE id = (SELECT row_id FROM seals WHERE tbl = 'runs'
                                      ORDER BY id DESC LIMIT 1);
         DELETE FROM seals WHERE id = (SELECT max(id) FROM seals WHERE tbl = 'runs');",
    );
    let out = verify(&db, &[], 0);
    assert!(out.starts_with("ok:"), "{out}");
    let out = verify(&db, &["--report", report.to_str().unwrap()], 1);
    assert!(out.contains("chain head MISMATCH"), "{out}");
}

#[test]
fn verify_without_a_database_or_with_a_bad_report_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify(&dir.path().join("missing.db"), &[], 2);
    assert!(out.contains("error:"), "{out}");
    let (dir, db) = database();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"evidence": {"sha256": "00", "probes": ["web"], "from": "yesterday", "to": "2024-04-01T00:00:00Z"}}"#).unwrap();
    let out = verify(&db, &["--report", bad.to_str().unwrap()], 2);
    assert!(
        out.contains("$.evidence.from: 'yesterday' is not an RFC 3339 instant"),
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
