//! The class summary of a consumer association at scale (issue 13): 100,000 members
//! with one mailbox and one outage each, imported with `slawatch members import` and
//! `slawatch incident import`, then summed up with `slawatch members summary` (CSV,
//! JSON and HTML), each timed as the release binary runs it, with its peak RSS.
//!
//!     cargo bench --bench class
//!     SLAWATCH_BENCH_MEMBERS=10000 SLAWATCH_BENCH_RUNS=3 cargo bench --bench class
//!
//! Prints, per step, the median wall time over the runs and the largest peak RSS
//! (the child's `VmHWM`).

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
database = "class.db"
reports_dir = "reports"
vantage = "bench"

[[plan]]
id = "libero-mail-plus"
provider = "Italiaonline S.p.A."
customer_type = "consumer"
currency = "EUR"
fee = "19.99"
fee_period = "year"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"

[[plan]]
id = "agcom-347-18-interruption"
provider = "AGCOM delibera 347/18/CONS"
customer_type = "business"
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "daily_flat"
credit.per_day = "6.00"
credit.day_count = "local_calendar_days_touched"
credit.business_multiplier = "2"

[members]
lang = "it"
unmonitored = "as_up"

[[members.plan]]
plan = "libero-mail-plus"
compare_with = ["agcom-347-18-interruption"]

[[goodwill]]
event = "Disservizio"
date = "2023-01-22"
plans = ["libero-mail-plus"]
extension_days = 183
"#;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the binary in `dir`, returns its wall time and peak RSS in KiB (its
/// `VmHWM`, read every 20 ms while it runs).
fn timed(dir: &Path, args: &[&str]) -> (Duration, u64) {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .current_dir(dir)
        .args(args)
        .args(["--config", "probes.toml"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("the slawatch binary runs");
    let status_file = format!("/proc/{}/status", child.id());
    let mut hwm = 0;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file)
            && let Some(line) = s.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            hwm = hwm.max(kib);
        }
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = t.elapsed();
    assert!(status.success(), "slawatch {args:?} failed");
    (wall, hwm)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("class: bench");
        return;
    }
    let n = env_u64("SLAWATCH_BENCH_MEMBERS", 100_000);
    let runs = env_u64("SLAWATCH_BENCH_RUNS", 1).max(1);
    let mut members = String::from("member,service,name,plan\n");
    let mut incidents = String::from("member,service,start,end,tz,source,note\n");
    for i in 0..n {
        let _ = writeln!(members, "m{i:06},mail,Member {i},libero-mail-plus");
        let (day, hour) = (22 + i % 5, i % 24);
        let _ = writeln!(
            incidents,
            "m{i:06},mail,2023-01-{day:02}T{hour:02}:00,2023-01-27T19:00,Europe/Rome,manual,seen"
        );
    }
    let steps = ["members import", "incident import", "members summary"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); steps.len()];
    let mut rss = [0u64; 3];
    for _ in 0..runs {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let d = dir.path();
        std::fs::write(d.join("probes.toml"), CONFIG).expect("written");
        std::fs::write(d.join("members.csv"), &members).expect("written");
        std::fs::write(d.join("incidents.csv"), &incidents).expect("written");
        let args: [&[&str]; 3] = [
            &["members", "import", "members.csv"],
            &["incident", "import", "incidents.csv"],
            &[
                "members", "summary", "--period", "2023-01", "--out", "summary",
            ],
        ];
        for (i, a) in args.iter().enumerate() {
            let (t, r) = timed(d, a);
            times[i].push(t);
            rss[i] = rss[i].max(r);
        }
        let csv = std::fs::read_to_string(d.join("summary/class-summary-2023-01.csv"))
            .expect("the summary's CSV");
        assert_eq!(
            csv.lines().count() as u64,
            n + 2,
            "a row per member, header, total"
        );
    }
    println!("{n} members, {runs} run(s): median wall time, peak RSS");
    for (i, s) in steps.iter().enumerate() {
        println!(
            "  {s:<16} {:>8.2} s  {:>6} MiB",
            median(times[i].clone()).as_secs_f64(),
            rss[i] / 1024
        );
    }
}
