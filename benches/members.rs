//! An association's import at scale (issue 13): 100,000 members with one outage
//! each, imported by the `slawatch` binary as a user runs it: `members import`, then
//! `incident import` of one observation per member, into a fresh database, three
//! times. Prints the median wall time of each and of both, and the peak resident
//! memory of each process (`/usr/bin/time -f %M`, the kernel's maximum RSS).
//!
//!     cargo bench --bench members
//!     SLAWATCH_BENCH_MEMBERS=10000 cargo bench --bench members
//!
//! The files are generated here: half the members on a paid plan with their own fee,
//! every seventh a business, a third in English; each observation a local-time
//! outage of a few days in January 2023.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness run by hand: a failed set-up step should stop it loudly"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
[daemon]
database = "bench.db"
vantage = "bench"

[[plan]]
id = "libero-mail-free"
provider = "Italiaonline S.p.A."
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"

[[plan]]
id = "libero-mail-plus"
provider = "Italiaonline S.p.A."
currency = "EUR"
fee = "19.99"
fee_period = "year"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"

[members]
lang = "it"
unmonitored = "as_up"
"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `slawatch ARGS --config CONFIG` under `/usr/bin/time`: wall time and peak RSS (KiB).
fn timed(dir: &Path, args: &[&str]) -> (Duration, u64) {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("maxrss %M")
        .arg(env!("CARGO_BIN_EXE_slawatch"))
        .args(args)
        .arg("--config")
        .arg(dir.join("probes.toml"))
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    let rss = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("maxrss "))
        .next_back()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (took, rss)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("members: bench");
        return;
    }
    let n = env_usize("SLAWATCH_BENCH_MEMBERS", 100_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("probes.toml"), CONFIG).unwrap();
    let mut members = String::from(
        "member,service,name,email,address,plan,fee,fee_period,customer_type,service_start,lang\n",
    );
    let mut observations = String::from("member,service,start,end,source,note\n");
    for i in 1..=n {
        let plus = i.is_multiple_of(2);
        writeln!(
            members,
            "m-{i:06},mail,Member {i},m{i}@example.test,\"Via Roma {i}, Milano\",{},{},{},{},2019-03-01,{}",
            if plus { "libero-mail-plus" } else { "libero-mail-free" },
            if plus { "19.99" } else { "" },
            if plus { "year" } else { "" },
            if i.is_multiple_of(7) { "business" } else { "" },
            if i.is_multiple_of(3) { "en" } else { "" },
        )
        .unwrap();
        writeln!(
            observations,
            "m-{i:06},mail,2023-01-{:02}T{:02}:00,2023-01-27T19:00,manual,webmail down",
            22 + i % 3,
            i % 24
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("members.csv"), &members).unwrap();
    std::fs::write(dir.path().join("observations.csv"), &observations).unwrap();
    println!(
        "{n} members ({} KiB) and {n} observations ({} KiB)",
        members.len() / 1024,
        observations.len() / 1024
    );
    let (mut m_times, mut o_times, mut both) = (Vec::new(), Vec::new(), Vec::new());
    let (mut m_rss, mut o_rss) = (0u64, 0u64);
    for run in 1..=3 {
        for f in ["bench.db", "bench.db-wal", "bench.db-shm"] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
        let (m, mr) = timed(
            dir.path(),
            &[
                "members",
                "import",
                dir.path().join("members.csv").to_str().unwrap(),
            ],
        );
        let (o, or) = timed(
            dir.path(),
            &[
                "incident",
                "import",
                dir.path().join("observations.csv").to_str().unwrap(),
            ],
        );
        println!(
            "run {run}: members import {:.2} s ({mr} KiB peak), incident import {:.2} s ({or} KiB peak)",
            m.as_secs_f64(),
            o.as_secs_f64()
        );
        m_times.push(m);
        o_times.push(o);
        both.push(m + o);
        m_rss = m_rss.max(mr);
        o_rss = o_rss.max(or);
    }
    // The re-import a user runs by mistake: everything unchanged.
    let (again, _) = timed(
        dir.path(),
        &[
            "members",
            "import",
            dir.path().join("members.csv").to_str().unwrap(),
        ],
    );
    let db = std::fs::metadata(dir.path().join("bench.db")).map_or(0, |m| m.len());
    println!(
        "median of 3: members import {:.2} s, incident import {:.2} s, both {:.2} s; \
         peak RSS {} MiB and {} MiB; re-import of the same members {:.2} s; database {} MiB",
        median(m_times).as_secs_f64(),
        median(o_times).as_secs_f64(),
        median(both).as_secs_f64(),
        m_rss / 1024,
        o_rss / 1024,
        again.as_secs_f64(),
        db / (1024 * 1024)
    );
}
