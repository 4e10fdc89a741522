//! The evidence store's size and write speed: a week of 1,000 probes checked every
//! 60 s (10,080,000 checks, one in a thousand failed), written through the same
//! `Store` the daemon uses, then the file weighed. Every table is written and sealed
//! as the daemon does it: a heartbeat every simulated second (coverage, sealed at
//! each UTC midnight), an outage opened and closed for every failed check (a
//! pessimistic bound: the daemon confirms only streaks), and a maintenance window
//! per probe.
//!
//!     cargo bench --bench store
//!     SLAWATCH_BENCH_PROBES=100 SLAWATCH_BENCH_DAYS=1 cargo bench --bench store
//!
//! Prints checks written per second of wall time (the writer thread's commit
//! throughput, channel included), the database bytes per check, and the size a year
//! would take at the same rate (size × 365 / days).
//!
//! Then the price of durability: the median time of a commit of one second's worth
//! of checks (17 rows: 1,000 probes at 60 s) in a WAL database with
//! `synchronous = NORMAL` (syncs only at checkpoints) and `FULL` (syncs the WAL at
//! every commit, what the store uses), 200 commits each, on the same disk as the
//! benchmark's database (`SLAWATCH_BENCH_COMMITS` changes the count).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness run by hand: a failed set-up step should stop it loudly"
)]

use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::outage::{Event, Outage};
use slawatch::store::{Reader, Store};
use std::time::{Duration, Instant};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("store: bench");
        return;
    }
    let probes = env_u64("SLAWATCH_BENCH_PROBES", 1000);
    let days = env_u64("SLAWATCH_BENCH_DAYS", 7);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let store = Store::open(&db).unwrap();
    let names: Vec<String> = (0..probes).map(|i| format!("probe-{i}")).collect();
    store
        .register_probes(
            &names
                .iter()
                .map(|n| (n.clone(), "http".to_owned()))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let minutes = days * 24 * 60;
    // 2026-01-01T00:00:00Z
    let t0: i64 = 1_767_225_600_000;
    store
        .record_maintenance(
            &names
                .iter()
                .map(|n| slawatch::config::Maintenance {
                    contracts: vec![],
                    probes: vec![n.clone()],
                    start: UtcMillis(t0 + 86_400_000),
                    end: UtcMillis(t0 + 86_400_000 + 3_600_000),
                    announced_at: Some(UtcMillis(t0)),
                    note: Some("kernel update".to_owned()),
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let start = Instant::now();
    let mut written: u64 = 0;
    let mut outages: u64 = 0;
    for m in 0..minutes {
        let at = t0 + i64::try_from(m).unwrap() * 60_000;
        for (i, name) in names.iter().enumerate() {
            let i = u64::try_from(i).unwrap();
            // One check in a thousand fails, spread over probes and time.
            let failed = (m * 7 + i * 13) % 1000 == 0;
            let check = Check {
                probe: name.clone(),
                started_at: UtcMillis(at + i64::try_from(i % 60_000).unwrap()),
                status: if failed { Status::Down } else { Status::Up },
                class: failed.then_some(ErrorClass::Timeout),
                detail: if failed {
                    "no answer within 10000 ms".to_owned()
                } else {
                    String::new()
                },
                phases: Phases {
                    connect: Some(Duration::from_micros(300)),
                    first_byte: Some(Duration::from_millis(3)),
                    total: Some(Duration::from_millis(4 + i % 7)),
                    ..Phases::default()
                },
                cert_not_after: None,
            };
            store.record_check(&check).unwrap();
            written += 1;
            if failed {
                let o = Outage {
                    probe: name.clone(),
                    start: check.started_at,
                    end: None,
                    last_failure: check.started_at,
                    last_success_before: Some(UtcMillis(check.started_at.0 - 60_000)),
                    class: ErrorClass::Timeout,
                    detail: check.detail.clone(),
                    failed_checks: 1,
                };
                store.record_outage(&Event::Opened(o.clone())).unwrap();
                store
                    .record_outage(&Event::Closed(Outage {
                        end: Some(UtcMillis(check.started_at.0 + 60_000)),
                        ..o
                    }))
                    .unwrap();
                outages += 1;
            }
        }
        for s in 0..60 {
            store.heartbeat("bench", UtcMillis(at + s * 1000)).unwrap();
        }
        // Keep the channel from holding more than a few minutes of checks.
        if m % 10 == 9 {
            store.flush().unwrap();
        }
    }
    store.close().unwrap();
    let elapsed = start.elapsed();
    let bytes: u64 = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    let counts = Reader::open(&db).unwrap().counts().unwrap();
    assert_eq!(u64::try_from(counts.checks).unwrap(), written);
    let per_sec = written * 1000 / u64::try_from(elapsed.as_millis()).unwrap().max(1);
    println!("{:>24}  {probes} x {days} d at 60 s", "workload");
    println!("{:>24}  {written}", "checks written");
    let seals = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT (SELECT count(*) FROM seals), (SELECT count(*) FROM coverage)",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )
        .unwrap();
    println!(
        "{:>24}  {} runs, {} failures, {outages} outages, {} coverage segments, {probes} maintenance",
        "rows", counts.runs, counts.failures, seals.1
    );
    println!("{:>24}  {}", "seals", seals.0);
    println!("{:>24}  {:.1?}", "wall time", elapsed);
    println!("{:>24}  {per_sec}", "checks per second");
    println!("{:>24}  {bytes}", "database bytes");
    println!(
        "{:>24}  {}.{:02}",
        "bytes per check",
        bytes / written,
        bytes * 100 / written % 100
    );
    println!(
        "{:>24}  {} MiB",
        "a year at this rate",
        bytes * 365 / days / (1024 * 1024)
    );
    let commits = env_u64("SLAWATCH_BENCH_COMMITS", 200);
    for mode in ["NORMAL", "FULL"] {
        let median = commit_median(&dir.path().join(format!("sync-{mode}.db")), mode, commits);
        println!(
            "{:>24}  {} us (median of {commits})",
            format!("commit, synchronous={mode}"),
            median.as_micros()
        );
    }
}

/// The median time of `n` commits of 17 rows each in a WAL database with `mode`.
fn commit_median(path: &std::path::Path, mode: &str, n: u64) -> Duration {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", mode).unwrap();
    conn.execute_batch("CREATE TABLE t (probe INTEGER, at INTEGER, status TEXT, total_ms INTEGER)")
        .unwrap();
    let mut times = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        for p in 0..17 {
            tx.execute(
                "INSERT INTO t VALUES (?1, ?2, 'up', 4)",
                rusqlite::params![p, i64::try_from(i).unwrap() * 1000],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        times.push(start.elapsed());
    }
    times.sort_unstable();
    times[times.len() / 2]
}
