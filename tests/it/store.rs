//! The evidence store: compact runs, every failure kept, outages, coverage,
//! migrations, and commits that do not wait for a flush.

use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::outage::{Event, Outage};
use slawatch::store::{Counts, Reader, Store, StoreError};
use std::time::Duration;

fn check(probe: &str, at: i64, status: Status, total_ms: u64) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(at),
        status,
        class: (status == Status::Down).then_some(ErrorClass::Refused),
        detail: if status == Status::Down {
            "connection refused".to_owned()
        } else {
            String::new()
        },
        phases: Phases {
            total: Some(Duration::from_millis(total_ms)),
            ..Phases::default()
        },
        cert_not_after: None,
    }
}

fn outage(probe: &str, start: i64, end: Option<i64>, last_failure: i64) -> Outage {
    Outage {
        probe: probe.to_owned(),
        start: UtcMillis(start),
        end: end.map(UtcMillis),
        last_failure: UtcMillis(last_failure),
        last_success_before: Some(UtcMillis(start - 60_000)),
        class: ErrorClass::Refused,
        detail: "connection refused".to_owned(),
        failed_checks: 2,
    }
}

#[test]
fn up_checks_merge_into_runs_and_every_failure_is_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/evidence.db");
    let store = Store::open(&db).unwrap();
    store
        .register_probes(&[("web".to_owned(), "http".to_owned())])
        .unwrap();
    for i in 0..100 {
        store
            .record_check(&check(
                "web",
                i * 60_000,
                Status::Up,
                10 + u64::try_from(i).unwrap(),
            ))
            .unwrap();
    }
    store
        .record_check(&check("web", 100 * 60_000, Status::Down, 5))
        .unwrap();
    store
        .record_check(&check("web", 101 * 60_000, Status::Down, 5))
        .unwrap();
    for i in 102..110 {
        store
            .record_check(&check("web", i * 60_000, Status::Up, 20))
            .unwrap();
    }
    store.close().unwrap();
    let r = Reader::open(&db).unwrap();
    assert_eq!(
        r.counts().unwrap(),
        // Runs: minutes 0-99, then 102-109 (the failures split them).
        Counts {
            checks: 110,
            runs: 2,
            failures: 2,
            outages: 0
        }
    );
    let states = r.probe_states().unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].kind, "http");
    assert_eq!(
        states[0].last_check,
        Some((UtcMillis(109 * 60_000), Status::Up, None))
    );
    assert_eq!(
        r.last_check_at("web").unwrap(),
        Some(UtcMillis(109 * 60_000))
    );
    assert_eq!(r.last_check_at("nope").unwrap(), None);
}

#[test]
fn a_run_never_spans_a_utc_day() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    let day = slawatch::store::RUN_SPAN_MS;
    assert_eq!(day, 86_400_000);
    // 23:58, 23:59, then 00:00 and 00:01 of the next UTC day.
    for at in [day - 120_000, day - 60_000, day, day + 60_000] {
        store
            .record_check(&check("web", at, Status::Up, 10))
            .unwrap();
    }
    store.close().unwrap();
    let c = Reader::open(&db).unwrap().counts().unwrap();
    assert_eq!((c.checks, c.runs), (4, 2));
}

#[test]
fn a_slow_flag_or_unknown_starts_a_new_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    let mut slow = check("web", 2, Status::Up, 3000);
    slow.class = Some(ErrorClass::Slow);
    store
        .record_check(&check("web", 1, Status::Up, 10))
        .unwrap();
    store.record_check(&slow).unwrap();
    store
        .record_check(&check("web", 3, Status::Unknown, 10))
        .unwrap();
    store
        .record_check(&check("web", 4, Status::Unknown, 10))
        .unwrap();
    store
        .record_check(&check("web", 5, Status::Up, 10))
        .unwrap();
    store.close().unwrap();
    let c = Reader::open(&db).unwrap().counts().unwrap();
    assert_eq!((c.checks, c.runs, c.failures), (5, 4, 0));
}

#[test]
fn outages_open_close_and_resume_with_their_latest_failure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    store
        .record_outage(&Event::Opened(outage("a", 1_000_000, None, 1_010_000)))
        .unwrap();
    store
        .record_outage(&Event::Opened(outage("b", 2_000_000, None, 2_010_000)))
        .unwrap();
    // More failures of "b" recorded after the outage row, then a "crash".
    store
        .record_check(&check("b", 2_020_000, Status::Down, 1))
        .unwrap();
    store
        .record_check(&check("b", 2_030_000, Status::Down, 1))
        .unwrap();
    store
        .record_outage(&Event::Closed(outage(
            "a",
            1_000_000,
            Some(1_500_000),
            1_400_000,
        )))
        .unwrap();
    store.flush().unwrap();
    let r = Reader::open(&db).unwrap();
    let all = r.outages(None, None).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].end, Some(UtcMillis(1_500_000)));
    assert_eq!(all[0].last_failure, UtcMillis(1_400_000));
    let open = r.open_outages().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].probe, "b");
    assert_eq!(open[0].last_failure, UtcMillis(2_030_000));
    // Filters: by probe, and "since" keeps open outages and those ending after it.
    assert_eq!(r.outages(None, Some("a")).unwrap().len(), 1);
    let since = r.outages(Some(UtcMillis(1_600_000)), None).unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].probe, "b");
    let states = r.probe_states().unwrap();
    let b = states.iter().find(|s| s.name == "b").unwrap();
    assert_eq!(
        b.open_outage.as_ref().map(|o| o.start),
        Some(UtcMillis(2_000_000))
    );
    assert_eq!(
        b.last_check,
        Some((
            UtcMillis(2_030_000),
            Status::Down,
            Some(ErrorClass::Refused)
        ))
    );
    drop(store);
}

#[test]
fn heartbeats_extend_coverage_and_a_gap_starts_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    for t in [0, 1000, 2000, 3000] {
        store.heartbeat("here", UtcMillis(t)).unwrap();
    }
    store.heartbeat("here", UtcMillis(60_000)).unwrap();
    store.heartbeat("here", UtcMillis(61_000)).unwrap();
    store.close().unwrap();
    // A restart always starts a new segment, even right after the last heartbeat.
    let store = Store::open(&db).unwrap();
    store.heartbeat("here", UtcMillis(62_000)).unwrap();
    store.close().unwrap();
    let cov = Reader::open(&db)
        .unwrap()
        .coverage(UtcMillis(0), UtcMillis(100_000))
        .unwrap();
    let spans: Vec<(i64, i64)> = cov.iter().map(|c| (c.start.0, c.end.0)).collect();
    assert_eq!(spans, vec![(0, 3000), (60_000, 61_000), (62_000, 62_000)]);
}

#[test]
fn commits_happen_within_a_second_without_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    store.record_check(&check("web", 1, Status::Up, 1)).unwrap();
    let reader = Reader::open(&db).unwrap();
    // The writer commits at least every second; poll for generous margin.
    let mut seen = 0;
    for _ in 0..50 {
        seen = reader.counts().unwrap().checks;
        if seen == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(seen, 1, "the check was not committed within 5 s");
    // The writer stays alive: nothing has closed it.
    store.record_check(&check("web", 2, Status::Up, 1)).unwrap();
    store.flush().unwrap();
    assert_eq!(reader.counts().unwrap().checks, 2);
    assert_eq!(store.queue_len(), 0);
}

#[test]
fn prune_keeps_outages_and_drops_old_checks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    store
        .record_check(&check("web", 1_000, Status::Down, 1))
        .unwrap();
    store
        .record_check(&check("web", 2_000, Status::Up, 1))
        .unwrap();
    store
        .record_check(&check("web", DAY + 9_000, Status::Down, 1))
        .unwrap();
    store
        .record_outage(&Event::Closed(outage("web", 1_000, Some(2_000), 1_000)))
        .unwrap();
    // 400 days after the first day ended: that day goes, the next stays.
    store
        .prune(
            UtcMillis(401 * DAY + 5_000),
            Duration::from_secs(400 * 86_400),
        )
        .unwrap();
    store
        .record_check(&check("web", 402 * DAY, Status::Up, 1))
        .unwrap();
    store.close().unwrap();
    let c = Reader::open(&db).unwrap().counts().unwrap();
    assert_eq!((c.failures, c.runs, c.outages), (1, 1, 1));
}

const DAY: i64 = 86_400_000;

#[test]
fn coverage_is_cut_at_utc_midnight_without_a_gap_and_sealed_when_it_cannot_grow() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    let count = |sql: &str| -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    for at in [DAY - 2_000, DAY - 1_000, DAY + 500, DAY + 1_500] {
        store.heartbeat("office", UtcMillis(at)).unwrap();
    }
    store.flush().unwrap();
    let segs = Reader::open(&db)
        .unwrap()
        .coverage(UtcMillis(0), UtcMillis(2 * DAY))
        .unwrap();
    let spans: Vec<(i64, i64)> = segs.iter().map(|c| (c.start.0, c.end.0)).collect();
    // The new day's segment starts where the old one ended: no second is lost.
    assert_eq!(
        spans,
        vec![(DAY - 2_000, DAY - 1_000), (DAY - 1_000, DAY + 1_500)]
    );
    // The finished day's segment is sealed; today's is still open (thousands of
    // heartbeats a day are not sealed one by one).
    assert_eq!(
        count("SELECT count(*) FROM seals WHERE tbl = 'coverage'"),
        1
    );
    // A gap: sealed, and a new segment.
    store.heartbeat("office", UtcMillis(DAY + 60_000)).unwrap();
    store.flush().unwrap();
    assert_eq!(
        count("SELECT count(*) FROM seals WHERE tbl = 'coverage'"),
        2
    );
    // A crash leaves the segment open; the next writer seals it and never extends it.
    store.heartbeat("office", UtcMillis(DAY + 61_000)).unwrap();
    store.flush().unwrap();
    std::mem::forget(store);
    assert_eq!(
        count("SELECT count(*) FROM seals WHERE tbl = 'coverage'"),
        2
    );
    let store = Store::open(&db).unwrap();
    assert_eq!(
        count("SELECT count(*) FROM seals WHERE tbl = 'coverage'"),
        3
    );
    store.heartbeat("office", UtcMillis(DAY + 62_000)).unwrap();
    // A clean stop seals the open segment.
    store.close().unwrap();
    assert_eq!(count("SELECT count(*) FROM coverage"), 4);
    assert_eq!(
        count("SELECT count(*) FROM seals WHERE tbl = 'coverage'"),
        4
    );
    assert!(Reader::open(&db).unwrap().verify_chain().unwrap().intact());
}

#[test]
fn schema_is_migrated_once_and_a_newer_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    Store::open(&db).unwrap().close().unwrap();
    Store::open(&db).unwrap().close().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, 8);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&db).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("upgrade slawatch"), "{err}");
}

#[test]
fn reader_refuses_a_file_that_is_not_a_slawatch_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    assert!(Reader::open(&missing).is_err());
    let empty = dir.path().join("empty.db");
    rusqlite::Connection::open(&empty)
        .unwrap()
        .execute_batch("CREATE TABLE x (y)")
        .unwrap();
    let err = Reader::open(&empty).unwrap_err();
    assert!(err.to_string().contains("not a slawatch database"), "{err}");
}

#[test]
fn the_evidence_digest_is_stable_and_detects_an_edited_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    for i in 0..5 {
        store
            .record_check(&check("web", i * 60_000, Status::Up, 10))
            .unwrap();
    }
    store
        .record_check(&check("web", 5 * 60_000, Status::Down, 10))
        .unwrap();
    store
        .record_check(&check("mail", 0, Status::Up, 10))
        .unwrap();
    store.close().unwrap();
    let probes = ["web".to_owned()];
    let (from, to) = (UtcMillis(0), UtcMillis(3_600_000));
    let r = Reader::open(&db).unwrap();
    let d = r.evidence_digest(&probes, from, to).unwrap();
    assert_eq!((d.runs, d.failures, d.checks), (1, 1, 6));
    assert_eq!(d.sha256.len(), 64);
    // The same question gives the same answer; another probe set another one.
    assert_eq!(r.evidence_digest(&probes, from, to).unwrap(), d);
    let both = ["web".to_owned(), "mail".to_owned()];
    assert_ne!(r.evidence_digest(&both, from, to).unwrap().sha256, d.sha256);
    // The canonical lines, recomputed by hand, give the same digest.
    use sha2::Digest as _;
    let lines = "run|web|up||0|240000|5|10|50|10\n\
                 fail|web|300000|refused|connection refused||||||10|\n";
    let by_hand: String = sha2::Sha256::digest(lines.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(d.sha256, by_hand);
    drop(r);
    // An edit by hand (past the trigger that refuses it) changes it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DROP TRIGGER failures_append_only_update")
        .unwrap();
    conn.execute(
        "UPDATE failures SET detail = 'fine' WHERE detail = 'connection refused'",
        [],
    )
    .unwrap();
    drop(conn);
    let edited = Reader::open(&db)
        .unwrap()
        .evidence_digest(&probes, from, to)
        .unwrap();
    assert_ne!(edited.sha256, d.sha256);
}

#[test]
fn announced_maintenance_is_recorded_once_per_scope() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let window = slawatch::config::Maintenance {
        contracts: vec!["rossi-shop".to_owned()],
        probes: vec!["shop-site".to_owned()],
        start: UtcMillis(1_000),
        end: UtcMillis(2_000),
        announced_at: Some(UtcMillis(500)),
        note: Some("firmware".to_owned()),
    };
    let store = Store::open(&db).unwrap();
    store
        .record_maintenance(std::slice::from_ref(&window))
        .unwrap();
    // A reload sends the same windows again: nothing is stored twice.
    store.record_maintenance(&[window]).unwrap();
    store.close().unwrap();
    let rows = Reader::open(&db).unwrap().maintenance().unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "contract:rossi-shop".to_owned(),
                UtcMillis(1_000),
                UtcMillis(2_000),
                Some(UtcMillis(500))
            ),
            (
                "probe:shop-site".to_owned(),
                UtcMillis(1_000),
                UtcMillis(2_000),
                Some(UtcMillis(500))
            ),
        ]
    );
}

/// Issue 11: a record the database refuses (here a trigger that aborts the inserts
/// of one probe's failed checks: the poison) used to make every later commit fail
/// with it, for ever. Now its batch is retried message by message: the good records
/// are stored, the poison is set aside in `DATABASE.set-aside.jsonl` and counted,
/// and what comes after is committed as usual.
#[test]
fn a_refused_record_is_set_aside_and_the_rest_of_its_batch_and_after_is_stored() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    store
        .register_probes(&[
            ("good".to_owned(), "tcp".to_owned()),
            ("bad".to_owned(), "tcp".to_owned()),
        ])
        .unwrap();
    store.flush().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER poison BEFORE INSERT ON failures
         WHEN NEW.probe_id = (SELECT id FROM probes WHERE name = 'bad')
         BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END;",
    )
    .unwrap();
    drop(conn);
    let t0 = 1_767_225_600_000;
    for i in 0..3 {
        store
            .record_check(&check("good", t0 + i * 1000, Status::Up, 5))
            .unwrap();
    }
    store
        .record_check(&check("bad", t0 + 3000, Status::Down, 5))
        .unwrap();
    store
        .record_check(&check("good", t0 + 4000, Status::Down, 5))
        .unwrap();
    store
        .record_check(&check("good", t0 + 5000, Status::Up, 5))
        .unwrap();
    let err = store.flush().unwrap_err().to_string();
    assert!(err.contains("set aside"), "{err}");
    // What comes after is committed as usual.
    store
        .record_check(&check("good", t0 + 6000, Status::Up, 5))
        .unwrap();
    store.flush().unwrap();
    let stats = store.stats();
    assert_eq!(stats.set_aside_batches.load(Ordering::Relaxed), 1);
    assert_eq!(stats.set_aside_messages.load(Ordering::Relaxed), 1);
    assert!(stats.commit_failures.load(Ordering::Relaxed) >= 2);
    assert_eq!(store.queue_len(), 0);
    store.close().unwrap();

    let r = Reader::open(&db).unwrap();
    let counts = r.counts().unwrap();
    assert_eq!((counts.checks, counts.failures), (6, 1), "{counts:?}");
    let set_aside = std::fs::read_to_string(slawatch::store::set_aside_path(&db)).unwrap();
    let lines: Vec<serde_json::Value> = set_aside
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{set_aside}");
    assert_eq!(lines[0]["kind"], "check");
    assert_eq!(lines[0]["record"]["probe"], "bad");
    assert_eq!(lines[0]["record"]["started_at"], t0 + 3000);
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("poisoned by the test"),
        "{set_aside}"
    );
}

/// A transaction that cannot even begin (another connection holds the write lock)
/// is retried with backoff, so a lock held for less than the retries is no loss.
#[test]
fn a_write_lock_held_by_another_connection_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let store = Store::open(&db).unwrap();
    store
        .record_check(&check("good", 1_767_225_600_000, Status::Up, 5))
        .unwrap();
    store.flush().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    store
        .record_check(&check("good", 1_767_225_601_000, Status::Down, 5))
        .unwrap();
    // Held for 6 s: longer than SQLite's busy timeout (5 s), so the first try fails.
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(6));
        conn.execute_batch("COMMIT").unwrap();
    });
    store.flush().unwrap();
    holder.join().unwrap();
    let stats = store.stats();
    assert!(
        stats
            .commit_failures
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    store.close().unwrap();
    let counts = Reader::open(&db).unwrap().counts().unwrap();
    assert_eq!((counts.checks, counts.failures), (2, 1), "{counts:?}");
    assert!(!slawatch::store::set_aside_path(&db).exists());
}

/// The queue to the writer is bounded: while the writer is held up (another
/// connection holds the write lock), records beyond `QUEUE_CAPACITY` are dropped
/// and counted, never lost silently, and the coverage segment is cut where they
/// were dropped, so that time shows as no data rather than as measured.
#[test]
fn a_full_queue_drops_and_counts_records_and_cuts_the_coverage() {
    use slawatch::store::QUEUE_CAPACITY;
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let t0: i64 = 1_767_225_600_000;
    // The daemon's store: a record waits at most this long for room.
    let store = Store::open(&db)
        .unwrap()
        .with_queue_patience(Duration::from_millis(200));
    store.heartbeat("here", UtcMillis(t0)).unwrap();
    store.flush().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The writer takes this one and blocks on the lock at its next commit.
    store
        .record_check(&check("web", t0 + 1, Status::Up, 5))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let sent = i64::try_from(QUEUE_CAPACITY).unwrap() + 1000;
    for i in 0..sent {
        store
            .record_check(&check("web", t0 + 2 + i, Status::Up, 5))
            .unwrap();
    }
    // Dropped too: the queue is still full.
    store.heartbeat("here", UtcMillis(t0 + 2_000)).unwrap();
    let dropped = store.stats().dropped.load(Ordering::Relaxed);
    assert_eq!(dropped, 1001, "1,000 checks and the heartbeat");
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    // Waits for room in the queue and for the writer to commit what it holds.
    store.flush().unwrap();
    // 3 s after the first heartbeat: it would extend its segment, but records were
    // dropped in between, so a new segment starts.
    store.heartbeat("here", UtcMillis(t0 + 3_000)).unwrap();
    store.flush().unwrap();
    store.close().unwrap();
    let r = Reader::open(&db).unwrap();
    let counts = r.counts().unwrap();
    assert_eq!(counts.checks, 1 + sent - 1000, "{counts:?}");
    let cov = r.coverage(UtcMillis(0), UtcMillis(i64::MAX)).unwrap();
    assert_eq!(
        cov.iter().map(|c| (c.start.0, c.end.0)).collect::<Vec<_>>(),
        vec![(t0, t0), (t0 + 3_000, t0 + 3_000)],
    );
}

/// Back-pressure: a producer that sends faster than the writer commits (a bulk
/// import, the report fixture: 3 × QUEUE_CAPACITY checks in a tight loop) is made to
/// wait for room instead of losing records; nothing is dropped and every check is
/// stored.
#[test]
fn a_producer_faster_than_the_writer_waits_and_loses_nothing() {
    use slawatch::store::QUEUE_CAPACITY;
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let t0: i64 = 1_767_225_600_000;
    let store = Store::open(&db).unwrap();
    let sent = 3 * i64::try_from(QUEUE_CAPACITY).unwrap();
    for i in 0..sent {
        // Alternating status: one row (and a seal) per check, the writer's slowest case.
        let status = if i % 2 == 0 { Status::Up } else { Status::Down };
        store
            .record_check(&check("web", t0 + i, status, 5))
            .unwrap();
    }
    store.flush().unwrap();
    assert_eq!(store.stats().dropped.load(Ordering::Relaxed), 0);
    store.close().unwrap();
    let counts = Reader::open(&db).unwrap().counts().unwrap();
    assert_eq!(counts.checks, sent, "{counts:?}");
}

/// Issue 11: a probe loop that stalls in the middle of a run of `up` checks used to
/// be invisible (a run keeps only its first and last check), so the stall read as
/// uptime. With the probe's run gap set, a check arriving after a longer gap starts
/// a new run, and the reader sees the hole between the two runs.
#[test]
fn a_stall_inside_a_run_of_up_checks_starts_a_new_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let t0: i64 = 1_767_225_600_000;
    let store = Store::open(&db).unwrap();
    // 60 s interval + 10 s timeout + 10 s slack.
    store
        .set_run_gaps(&[("web".to_owned(), 80_000), ("free".to_owned(), 80_000)])
        .unwrap();
    // Checks every minute, then nothing for 20 minutes, then every minute again.
    let minutes = [0, 1, 2, 3, 23, 24, 25];
    for m in minutes {
        store
            .record_check(&check("web", t0 + m * 60_000, Status::Up, 5))
            .unwrap();
        // A late check within the gap extends the run.
        store
            .record_check(&check("free", t0 + m * 60_000 / 20, Status::Up, 5))
            .unwrap();
    }
    store.close().unwrap();
    let r = Reader::open(&db).unwrap();
    let spans = r
        .check_spans("web", UtcMillis(t0), UtcMillis(t0 + 3_600_000))
        .unwrap();
    let got: Vec<(i64, i64, i64)> = spans
        .iter()
        .map(|s| ((s.first.0 - t0) / 60_000, (s.last.0 - t0) / 60_000, s.count))
        .collect();
    assert_eq!(got, vec![(0, 3, 4), (23, 25, 3)]);
    let free = r
        .check_spans("free", UtcMillis(t0), UtcMillis(t0 + 3_600_000))
        .unwrap();
    assert_eq!(free.len(), 1, "{free:?}");
    // Both runs are sealed and the chain verifies.
    assert!(r.verify_chain().unwrap().problems.is_empty());
}
