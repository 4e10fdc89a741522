//! A year of reports from the shared store (issue 18): the year database of
//! `benches/reports.rs` (1,000 probes, 1,000 contracts, generated once and cached
//! under `target/bench-reports/KEY/`) shipped once into a throw-away PostgreSQL
//! (`ship/pg.rs`) under `SLAWATCH_BENCH_VANTAGES` vantage names (default 3: the
//! same evidence three times, `v1`, `v2`, `v3`, so the consensus runs over three
//! vantages that agree), then what `slawatch report --shared --period 2025-MM`
//! does for each month of 2025: `shared::read::vantages` (every vantage copied out
//! of PostgreSQL into its SQLite copy) and `report::build_vantages` (every
//! contract, the consensus over the vantages).
//!
//!     cargo bench --bench shared_reports
//!     SLAWATCH_BENCH_SHORT=1 cargo bench --bench shared_reports   # CI: 10 probes, a month, 1 run
//!
//! The store is read once per run and the 12 months built from that copy (one
//! `report --shared` per month would copy it 12 times: the "12 x read" column says
//! what that costs). Timed per run: the read, the builds, the total; CPU of this
//! process (user + system, `/proc/self/stat`), CPU of the server's processes, and
//! wall. Then the same months from the local SQLite (`report::build`, as
//! `benches/reports.rs`), for comparison on the same machine at the same time.
//! Medians of `SLAWATCH_BENCH_RUNS` runs (default 3; 1 in the short mode). The
//! digest of the reports' JSON is printed: it must not change when the code is
//! made faster. Other knobs: `SLAWATCH_BENCH_PROBES`, `SLAWATCH_BENCH_CONTRACTS`,
//! `SLAWATCH_BENCH_MONTHS`, `SLAWATCH_BENCH_LOCAL=0` (skip the local comparison).

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

use sha2::{Digest as _, Sha256};
use slawatch::model::UtcMillis;
use slawatch::report::{self, Format, Lang, Report};
use slawatch::shared::ship::{Source, ship_once};
use slawatch::store::Reader;
use std::time::{Duration, Instant};

/// CPU of this process, CPU of the server, wall.
#[derive(Clone, Copy, Default)]
struct Cost {
    cpu: Duration,
    server: Duration,
    wall: Duration,
}

fn measured<T>(server: &pg::Postgres, f: impl FnOnce() -> T) -> (T, Cost) {
    let (c0, s0, w0) = (process_cpu(), server.cpu(), Instant::now());
    let out = f();
    let cost = Cost {
        wall: w0.elapsed(),
        cpu: process_cpu() - c0,
        server: server.cpu() - s0,
    };
    (out, cost)
}

fn digest(reports: &[Report]) -> String {
    let mut h = Sha256::new();
    for r in reports {
        for (name, content) in report::render(r, Format::Json, "bench", Lang::En) {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(content.as_bytes());
            h.update([0]);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("shared_reports: bench");
        return;
    }
    let short = std::env::var("SLAWATCH_BENCH_SHORT").is_ok_and(|v| v == "1");
    let p = yeardb::Params {
        probes: env_usize("SLAWATCH_BENCH_PROBES", if short { 10 } else { 1000 }),
        contracts: env_usize("SLAWATCH_BENCH_CONTRACTS", if short { 10 } else { 1000 }),
        days: if short { 32 } else { 367 },
    };
    let months = env_usize("SLAWATCH_BENCH_MONTHS", if short { 1 } else { 12 }).clamp(1, 12);
    let runs = env_usize("SLAWATCH_BENCH_RUNS", if short { 1 } else { 3 }).max(1);
    let n_vantages = env_usize("SLAWATCH_BENCH_VANTAGES", 3).max(1);
    let local = std::env::var("SLAWATCH_BENCH_LOCAL").map_or(true, |v| v != "0");
    let dir = target_dir().join("bench-reports").join(p.key());
    let db = dir.join("slawatch.db");
    let out = tempfile::tempdir().unwrap();
    let config_path = out.path().join("slawatch.toml");
    std::fs::write(
        &config_path,
        yeardb::config_toml(&p, &db, &out.path().join("reports")),
    )
    .unwrap();
    let config = slawatch::config::load(&config_path).unwrap();
    if !db.exists() {
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
    server.psql("postgres", "CREATE DATABASE shared").unwrap();
    let text = format!(
        "[daemon]\nvantage = \"bench\"\ndatabase = \"{}\"\n\n[shared]\n\
         url = \"postgres://slawatch@{}/shared?sslmode=disable\"\npassword_env = \"PG_PASSWORD\"\n",
        db.display(),
        server.addr
    );
    let env = |k: &str| (k == "PG_PASSWORD").then(|| pg::PASSWORD.to_owned());
    let shared = slawatch::config::parse_str(&text, &dir.join("shared.toml"), &env).unwrap();
    let settings = shared.shared.clone().unwrap();
    let names: Vec<String> = (1..=n_vantages).map(|i| format!("v{i}")).collect();

    // Shipped once, as the daemons would have: each name its own catch-up.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let w0 = Instant::now();
    let shipped_rows = rt.block_on(async {
        let mut client = slawatch::shared::pg::connect_and_migrate(&settings)
            .await
            .unwrap();
        let mut rows = 0;
        for name in &names {
            let source = Source {
                database: &db,
                vantage: name,
                checkpoint_file: None,
            };
            loop {
                let s = ship_once(source, &mut client, 20_000).await.unwrap();
                rows += s.seals + s.rows;
                if !s.full {
                    break;
                }
            }
        }
        rows
    });
    drop(rt);
    server.psql("shared", "VACUUM ANALYZE").unwrap();
    let pg_size = server
        .psql("shared", "SELECT pg_database_size('shared') / 1048576")
        .unwrap();
    println!(
        "shared_reports: {} probes x {} days, {} contracts, {months} month(s), {runs} run(s)",
        p.probes, p.days, p.contracts
    );
    println!(
        "shared store: {n_vantages} vantage(s) ({}), the same database shipped under each name; \
         {shipped_rows} rows, {pg_size} MiB, shipped in {} s",
        names.join(", "),
        w0.elapsed().as_secs()
    );

    let periods: Vec<String> = (1..=months).map(|m| format!("2025-{m:02}")).collect();
    let generated_at = UtcMillis(1_771_113_600_000); // 2026-02-15T00:00:00Z
    let mut reads = Vec::new();
    let mut builds = Vec::new();
    let mut digests = Vec::new();
    let mut copied = 0;
    println!();
    println!(
        "| run | read: CPU | server CPU | wall | {months} builds: CPU | wall | total: CPU + server CPU | wall |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for run in 1..=runs {
        let (vantages, read) = measured(&server, || {
            slawatch::shared::read::vantages(&settings).unwrap()
        });
        copied = vantages.iter().map(|v| v.rows).sum::<u64>();
        let list: Vec<(String, &Reader)> = vantages
            .iter()
            .map(|v| (v.name.clone(), &v.reader))
            .collect();
        let (reports, build) = measured(&server, || {
            periods
                .iter()
                .map(|period| {
                    report::build_vantages(&config, &list, period, None, generated_at).unwrap()
                })
                .collect::<Vec<_>>()
        });
        digests.push(digest(&reports));
        println!(
            "| {run} | {} ms | {} ms | {} ms | {} ms | {} ms | {} ms | {} ms |",
            read.cpu.as_millis(),
            read.server.as_millis(),
            read.wall.as_millis(),
            build.cpu.as_millis(),
            build.wall.as_millis(),
            (read.cpu + read.server + build.cpu + build.server).as_millis(),
            (read.wall + build.wall).as_millis()
        );
        reads.push(read);
        builds.push(build);
    }
    assert!(
        digests.windows(2).all(|w| w[0] == w[1]),
        "the reports differ between runs: {digests:?}"
    );
    let m = |v: &[Cost], f: fn(&Cost) -> Duration| median(&mut v.iter().map(f).collect::<Vec<_>>());
    let (rc, rs, rw) = (
        m(&reads, |c| c.cpu),
        m(&reads, |c| c.server),
        m(&reads, |c| c.wall),
    );
    let (bc, bw) = (m(&builds, |c| c.cpu), m(&builds, |c| c.wall));
    println!();
    println!("rows copied per read: {copied}; JSON digest {}", digests[0]);
    println!("median of {runs} run(s), ms          CPU   server CPU     wall");
    println!(
        "{:<30}{:>8} {:>12} {:>8}",
        "read (copy out of PostgreSQL)",
        rc.as_millis(),
        rs.as_millis(),
        rw.as_millis()
    );
    println!(
        "{:<30}{:>8} {:>12} {:>8}",
        format!("{months} builds (consensus)"),
        bc.as_millis(),
        "",
        bw.as_millis()
    );
    println!(
        "{:<30}{:>8} {:>12} {:>8}",
        "total (read once)",
        (rc + bc).as_millis(),
        rs.as_millis(),
        (rw + bw).as_millis()
    );
    println!(
        "{:<30}{:>8} {:>12} {:>8}",
        format!("total ({months} x read, as the CLI)"),
        (rc * u32::try_from(months).unwrap() + bc).as_millis(),
        (rs * u32::try_from(months).unwrap()).as_millis(),
        (rw * u32::try_from(months).unwrap() + bw).as_millis()
    );
    if local {
        let mut locals = Vec::new();
        for _ in 0..runs {
            let (_, cost) = measured(&server, || {
                periods
                    .iter()
                    .map(|period| {
                        let reader = Reader::open(&db).unwrap();
                        report::build(&config, &reader, period, None, generated_at).unwrap()
                    })
                    .collect::<Vec<_>>()
            });
            locals.push(cost);
        }
        println!(
            "{:<30}{:>8} {:>12} {:>8}",
            format!("local SQLite: {months} builds"),
            m(&locals, |c| c.cpu).as_millis(),
            "",
            m(&locals, |c| c.wall).as_millis()
        );
    }
}
