//! A year of reports (issue 15): 1,000 contracts, 12 monthly reports each (12,000
//! contract reports), from a generated database of a year of 1,000 probes.
//!
//!     cargo bench --bench reports
//!     SLAWATCH_BENCH_SHORT=1 cargo bench --bench reports     # CI: 10 contracts, a month
//!
//! The database is generated once through the library's `Store` (`reports/yeardb.rs`
//! says what it holds) and cached under `target/bench-reports/KEY/`, KEY naming every
//! parameter; delete the folder to generate it again. Each run then does what
//! `slawatch report --period 2025-MM` does for each month of 2025, every contract:
//! opens the database, builds the report (`report::build`: every contract's
//! evidence, timeline and SLA evaluation), renders it (HTML, the default, and the
//! other formats the daemon writes: Markdown, CSV, JSON) and writes the files
//! (`report::auto::write_atomically`, synced). Build, render and write are timed
//! apart: CPU time of the thread (`/proc/thread-self/schedstat`, nanoseconds; the
//! reports are made on this one thread) and wall time; the table gives the median of
//! `SLAWATCH_BENCH_RUNS` runs (default 5; 1 in the short mode). The digest of every
//! file written is printed: it must not change when the code is made faster.
//!
//! Other knobs: `SLAWATCH_BENCH_PROBES`, `SLAWATCH_BENCH_CONTRACTS`,
//! `SLAWATCH_BENCH_MONTHS` (how many months of 2025 are reported).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness run by hand: a failed set-up step should stop it loudly"
)]

#[path = "reports/yeardb.rs"]
mod yeardb;

#[path = "support/common.rs"]
mod common;
use common::{env_usize, median, target_dir};

use sha2::{Digest as _, Sha256};
use slawatch::model::UtcMillis;
use slawatch::report::{self, Format, Lang};
use slawatch::store::Reader;
use std::time::{Duration, Instant};

/// CPU time of this thread, from the scheduler's own accounting (ns).
fn thread_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    let ns: u64 = s.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_nanos(ns)
}

/// CPU and wall time of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (c0, w0) = (thread_cpu(), Instant::now());
    let out = f();
    (out, thread_cpu() - c0, w0.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{}", d.as_millis())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("reports: bench");
        return;
    }
    let short = std::env::var("SLAWATCH_BENCH_SHORT").is_ok_and(|v| v == "1");
    let p = yeardb::Params {
        probes: env_usize("SLAWATCH_BENCH_PROBES", if short { 10 } else { 1000 }),
        contracts: env_usize("SLAWATCH_BENCH_CONTRACTS", if short { 10 } else { 1000 }),
        days: if short { 32 } else { 367 },
    };
    let months = env_usize("SLAWATCH_BENCH_MONTHS", if short { 1 } else { 12 }).clamp(1, 12);
    let runs = env_usize("SLAWATCH_BENCH_RUNS", if short { 1 } else { 5 }).max(1);
    let dir = target_dir().join("bench-reports").join(p.key());
    let db = dir.join("slawatch.db");
    let out = tempfile::tempdir().unwrap();
    let config_path = out.path().join("slawatch.toml");
    std::fs::write(
        &config_path,
        yeardb::config_toml(&p, &db, &out.path().join("reports")),
    )
    .unwrap();
    let config = slawatch::config::load(&config_path).unwrap_or_else(|e| {
        panic!("the generated configuration does not load: {e}");
    });
    if !db.exists() {
        let tmp = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        eprintln!("generating {} (once; cached)", dir.display());
        let (w, cpu, wall) = timed(|| {
            yeardb::generate(&p, &tmp.join("slawatch.db"), &config.maintenance, |day| {
                if day % 30 == 0 {
                    eprintln!("  day {day} of {}", p.days);
                }
            })
        });
        eprintln!(
            "  generated in {:.1?} wall ({:.1?} CPU of this thread): {w:?}",
            wall, cpu
        );
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&tmp, &dir).unwrap();
    }
    let periods: Vec<String> = (1..=months).map(|m| format!("2025-{m:02}")).collect();
    // After every period and its claim window's start: the reports are final.
    let generated_at = UtcMillis(1_771_113_600_000); // 2026-02-15T00:00:00Z
    let counts = Reader::open(&db).unwrap().counts().unwrap();
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{:>22}  {} probes x {} days at 60 s, {} contracts, {} months",
        "workload", p.probes, p.days, p.contracts, months
    );
    println!(
        "{:>22}  {} runs, {} failed checks, {} outages, {} MiB",
        "database",
        counts.runs,
        counts.failures,
        counts.outages,
        size / (1024 * 1024)
    );

    let formats = [Format::Html, Format::Md, Format::Csv, Format::Json];
    let mut build_cpu = Vec::new();
    let mut build_wall = Vec::new();
    let mut render_cpu = vec![Vec::new(); formats.len()];
    let mut write_cpu = Vec::new();
    let mut write_wall = Vec::new();
    let mut digests = Vec::new();
    let mut contract_reports = 0;
    for run in 0..runs {
        let (reports, cpu, wall) = timed(|| {
            periods
                .iter()
                .map(|period| {
                    // As `slawatch report --period P`: its own read-only connection.
                    let reader = Reader::open(&db).unwrap();
                    report::build(&config, &reader, period, None, generated_at).unwrap()
                })
                .collect::<Vec<_>>()
        });
        build_cpu.push(cpu);
        build_wall.push(wall);
        let (run_build_cpu, run_build_wall) = (cpu, wall);
        contract_reports = reports.iter().map(|r| r.contracts.len()).sum::<usize>();
        let mut files: Vec<(String, String)> = Vec::new();
        for (k, f) in formats.iter().enumerate() {
            let (mut rendered, cpu, _) = timed(|| {
                reports
                    .iter()
                    .flat_map(|r| {
                        let stem = format!("slawatch-{}", r.period);
                        report::render(r, *f, &stem, Lang::En)
                    })
                    .collect::<Vec<_>>()
            });
            render_cpu[k].push(cpu);
            files.append(&mut rendered);
        }
        let target = out.path().join(format!("run-{run}"));
        let (bytes, cpu, wall) = timed(|| {
            let mut bytes = 0;
            for (name, content) in &files {
                report::auto::write_atomically(&target, name, content).unwrap();
                bytes += content.len();
            }
            bytes
        });
        write_cpu.push(cpu);
        write_wall.push(wall);
        let mut h = Sha256::new();
        for (name, content) in &files {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(content.as_bytes());
            h.update([0]);
        }
        let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        eprintln!(
            "run {}: build {} ms CPU / {} ms wall; {} files, {} bytes; digest {digest}",
            run + 1,
            ms(run_build_cpu),
            ms(run_build_wall),
            files.len(),
            bytes
        );
        digests.push(digest);
        std::fs::remove_dir_all(&target).unwrap();
    }
    assert!(
        digests.windows(2).all(|w| w[0] == w[1]),
        "the reports differ between runs: {digests:?}"
    );
    println!(
        "{:>22}  {contract_reports} ({} periods x {} contracts, less those not in force)",
        "contract reports",
        periods.len(),
        p.contracts
    );
    println!("{:>22}  {}", "content digest", digests[0]);
    println!();
    println!("median of {runs} run(s), ms     CPU     wall");
    println!(
        "{:<28}{:>8} {:>8}",
        "build (evidence + SLA)",
        ms(median(&mut build_cpu)),
        ms(median(&mut build_wall))
    );
    let mut render_total = Duration::ZERO;
    for (k, f) in formats.iter().enumerate() {
        let m = median(&mut render_cpu[k]);
        render_total += m;
        println!(
            "{:<28}{:>8} {:>8}",
            format!("render {}", f.as_str()),
            ms(m),
            ""
        );
    }
    println!(
        "{:<28}{:>8} {:>8}",
        "write files (synced)",
        ms(median(&mut write_cpu)),
        ms(median(&mut write_wall))
    );
    let html = median(&mut render_cpu[0]);
    println!(
        "{:<28}{:>8}",
        "build + render html",
        ms(median(&mut build_cpu) + html)
    );
    println!(
        "{:<28}{:>8}",
        "build + render all",
        ms(median(&mut build_cpu) + render_total)
    );
}
