//! Shipping a vantage's sealed evidence to PostgreSQL (issue 18): a year of 1,000
//! probes (the database of `benches/reports.rs`, generated once and cached under
//! `target/bench-reports/KEY/`) shipped whole into an empty shared store, as a
//! daemon catching up does: `shared::ship::ship_once` in batches of the daemon's
//! size until a batch is not full.
//!
//!     cargo bench --bench ship
//!     SLAWATCH_BENCH_SHORT=1 cargo bench --bench ship    # CI: 10 probes, a month, 1 run
//!
//! PostgreSQL is a throw-away cluster on loopback (`ship/pg.rs`: Debian's server,
//! password authentication, TLS off). Each run ships into a fresh database. Rows
//! per second count the seals and the evidence rows (runs, failures, outages,
//! coverage, ..., probes) shipped, over the wall time of the whole catch-up. CPU:
//! this process's (user + system, `/proc/self/stat`: the shipper and its SQLite
//! reads) and the server's (its processes', the same way). Medians of
//! `SLAWATCH_BENCH_RUNS` runs (default 3; 1 in the short mode).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness run by hand: a failed set-up step should stop it loudly"
)]

#[path = "reports/yeardb.rs"]
mod yeardb;

#[path = "ship/pg.rs"]
mod pg;

#[path = "support/common.rs"]
mod common;
use common::{env_usize, median, process_cpu, target_dir};

use slawatch::shared::ship::{Source, ship_once};
use std::time::Instant;

/// The daemon's batch (`shared::ship::BATCH_SEALS`).
const BATCH: usize = 20_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("ship: bench");
        return;
    }
    let short = std::env::var("SLAWATCH_BENCH_SHORT").is_ok_and(|v| v == "1");
    let p = yeardb::Params {
        probes: env_usize("SLAWATCH_BENCH_PROBES", if short { 10 } else { 1000 }),
        contracts: env_usize("SLAWATCH_BENCH_CONTRACTS", if short { 10 } else { 1000 }),
        days: if short { 32 } else { 367 },
    };
    let runs = env_usize("SLAWATCH_BENCH_RUNS", if short { 1 } else { 3 }).max(1);
    let dir = target_dir().join("bench-reports").join(p.key());
    let db = dir.join("slawatch.db");
    if !db.exists() {
        let out = tempfile::tempdir().unwrap();
        let config_path = out.path().join("slawatch.toml");
        std::fs::write(
            &config_path,
            yeardb::config_toml(&p, &db, &out.path().join("reports")),
        )
        .unwrap();
        let config = slawatch::config::load(&config_path).unwrap();
        let tmp = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        eprintln!("generating {} (once; cached)", dir.display());
        yeardb::generate(&p, &tmp.join("slawatch.db"), &config.maintenance, |day| {
            if day % 30 == 0 {
                eprintln!("  day {day} of {}", p.days);
            }
        });
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).unwrap();
    }
    let server = pg::Postgres::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "ship: {} ({} probes, {} days), batches of {BATCH} seals, {runs} run(s)",
        db.display(),
        p.probes,
        p.days
    );
    println!(
        "| run | seals | rows (seals + evidence) | batches | wall | rows/s (wall) | shipper CPU | server CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut walls = Vec::new();
    let mut rates = Vec::new();
    let mut cpus = Vec::new();
    let mut server_cpus = Vec::new();
    for run in 1..=runs {
        let name = format!("run{run}");
        server
            .psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap();
        let text = format!(
            "[daemon]\nvantage = \"bench\"\ndatabase = \"{}\"\n\n[shared]\n\
             url = \"postgres://slawatch@{}/{name}?sslmode=disable\"\npassword_env = \"PG_PASSWORD\"\n",
            db.display(),
            server.addr
        );
        let env = |k: &str| (k == "PG_PASSWORD").then(|| pg::PASSWORD.to_owned());
        let config = slawatch::config::parse_str(&text, &dir.join("ship.toml"), &env).unwrap();
        let settings = config.shared.clone().unwrap();
        let (seals, rows, batches, wall, cpu, server_cpu) = rt.block_on(async {
            let mut client = slawatch::shared::pg::connect_and_migrate(&settings)
                .await
                .unwrap();
            let source = Source {
                database: &db,
                vantage: "bench",
                checkpoint_file: None,
            };
            let (c0, s0, w0) = (process_cpu(), server.cpu(), Instant::now());
            let (mut seals, mut rows, mut batches) = (0, 0, 0);
            loop {
                let s = ship_once(source, &mut client, BATCH).await.unwrap();
                seals += s.seals;
                rows += s.rows;
                batches += 1;
                if !s.full {
                    break;
                }
            }
            (
                seals,
                rows,
                batches,
                w0.elapsed(),
                process_cpu() - c0,
                server.cpu() - s0,
            )
        });
        let total = seals + rows;
        let rate =
            u64::try_from(total).unwrap() * 1000 / u64::try_from(wall.as_millis().max(1)).unwrap();
        println!(
            "| {run} | {seals} | {total} | {batches} | {} ms | {rate} | {} ms | {} ms |",
            wall.as_millis(),
            cpu.as_millis(),
            server_cpu.as_millis()
        );
        assert_eq!(
            server.psql(&name, "SELECT count(*) FROM seals").unwrap(),
            seals.to_string()
        );
        walls.push(wall);
        rates.push(rate);
        cpus.push(cpu);
        server_cpus.push(server_cpu);
    }
    println!(
        "median: wall {} ms, {} rows/s, shipper CPU {} ms, server CPU {} ms",
        median(&mut walls).as_millis(),
        median(&mut rates),
        median(&mut cpus).as_millis(),
        median(&mut server_cpus).as_millis()
    );
}
