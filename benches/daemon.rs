//! The daemon under load: N probes (default 10,000) at one interval (default 60 s)
//! against a local nginx on loopback, measured from outside the process.
//!
//!     cargo bench --bench daemon
//!     SLAWATCH_BENCH_PROBES=1000 SLAWATCH_BENCH_SECONDS=120 cargo bench --bench daemon
//!
//! What it does: starts nginx (Debian's `nginx-light`, as the tests do) listening on
//! 127.0.0.1-127.0.0.16 (so per-host limits behave as with many hosts), writes a
//! `probes.toml` with N `[[http]]` probes (plain HTTP, `expect_body`), starts the
//! release `slawatch run` with `/metrics` on loopback, lets one interval pass as
//! warm-up, then measures for `SLAWATCH_BENCH_SECONDS` (default 180):
//!
//! - CPU: user + system time of the daemon process (from `/proc/PID/stat`) over the
//!   window, as a share of one core and per check;
//! - RSS: the largest resident set seen (`/proc/PID/status` `VmRSS`, sampled every
//!   second) and the kernel's high-water mark `VmHWM`;
//! - scheduling lag: p50 and p99 from the daemon's `slawatch_schedule_lag_seconds`
//!   histogram (the bucket bound the percentile falls in), counted over the window;
//! - store: database bytes (file + WAL) per check stored, after a clean stop.
//!
//! Nothing leaves the machine: every address is 127.0.0.x.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness run by hand: a failed set-up step should stop it loudly"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOSTS: u8 = 16;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in its own process group, killed with all its workers when dropped (also
/// when the benchmark panics).
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

fn start_nginx(dir: &Path, port: u16) -> Nginx {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("health"), "OK\n").unwrap();
    let mut listens = String::new();
    for h in 1..=HOSTS {
        let _ = writeln!(listens, "    listen 127.0.0.{h}:{port};");
    }
    let conf = format!(
        "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  \
         fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  \
         keepalive_timeout 0;\n  server {{\n{listens}    root {www};\n  }}\n}}\n",
        d = dir.display(),
        www = www.display()
    );
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .args(["-g", "daemon off; master_process on;", "-e"])
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, so one signal stops the master and its workers.
        .process_group(0)
        .spawn()
        .expect("nginx is installed (scripts/test.sh installs nginx-light)");
    let nginx = Nginx(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nginx did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nginx
}

fn write_config(dir: &Path, probes: u64, interval_s: u64, port: u16, metrics: u16) {
    // A check's timeout and retries must fit in the interval (the configuration says so).
    let retry = interval_s.clamp(1, 10);
    let mut s = format!(
        "[daemon]\ndatabase = \"bench.db\"\nvantage = \"bench\"\ninterval = \"{interval_s}s\"\n\
         timeout = \"{retry}s\"\nretry_interval = \"{retry}s\"\nmetrics_listen = \"127.0.0.1:{metrics}\"\n\n"
    );
    for i in 0..probes {
        let host = 1 + (i % u64::from(HOSTS));
        let _ = write!(
            s,
            "[[http]]\nname = \"p{i}\"\nurl = \"http://127.0.0.{host}:{port}/health?p={i}\"\nexpect_body = \"OK\"\n\n"
        );
    }
    std::fs::write(dir.join("probes.toml"), s).unwrap();
}

/// User + system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn status_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn ticks_per_second() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100)
}

/// GET /metrics from the daemon.
fn metrics(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// The lag histogram: upper bound (text) -> cumulative count, in bucket order.
fn lag_buckets(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("slawatch_schedule_lag_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, rest) = l.split_once("\"} ")?;
            Some((le.to_owned(), rest.trim().parse().ok()?))
        })
        .collect()
}

/// The bucket bound below which `per_mille` of the window's checks fell.
fn percentile(start: &[(String, u64)], end: &[(String, u64)], per_mille: u64) -> String {
    let deltas: Vec<(String, u64)> = end
        .iter()
        .map(|(le, n)| {
            let before = start.iter().find(|(l, _)| l == le).map_or(0, |(_, n)| *n);
            (le.clone(), n - before)
        })
        .collect();
    let total = deltas.last().map_or(0, |(_, n)| *n);
    let want = (total * per_mille).div_ceil(1000);
    deltas
        .iter()
        .find(|(_, n)| *n >= want)
        .map_or("?".to_owned(), |(le, _)| format!("<= {le} s"))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("daemon: bench");
        return;
    }
    let probes = env_u64("SLAWATCH_BENCH_PROBES", 10_000);
    let interval = env_u64("SLAWATCH_BENCH_INTERVAL", 60);
    let seconds = env_u64("SLAWATCH_BENCH_SECONDS", 180);
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics_port) = (free_port(), free_port());
    let nginx = start_nginx(dir.path(), port);
    write_config(dir.path(), probes, interval, port, metrics_port);
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["run", "--config"])
        .arg(dir.path().join("probes.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    eprintln!(
        "bench: {probes} http probes every {interval} s; warm-up {interval} s, then measuring {seconds} s"
    );
    std::thread::sleep(Duration::from_secs(interval));
    if let Ok(Some(status)) = daemon.try_wait() {
        panic!("the daemon exited during the warm-up ({status}); its error is above");
    }
    let lag0 = lag_buckets(&metrics(metrics_port));
    let ticks0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let mut rss_max = 0;
    while t0.elapsed() < Duration::from_secs(seconds) {
        rss_max = rss_max.max(status_kb(pid, "VmRSS:"));
        std::thread::sleep(Duration::from_secs(1));
    }
    let wall = t0.elapsed();
    let ticks = cpu_ticks(pid) - ticks0;
    let text = metrics(metrics_port);
    let lag1 = lag_buckets(&text);
    let hwm = status_kb(pid, "VmHWM:");
    let checks = lag1.last().map_or(0, |(_, n)| *n) - lag0.last().map_or(0, |(_, n)| *n);
    let failures: u64 = text
        .lines()
        .filter(|l| l.starts_with("slawatch_probe_failures_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    // Stop cleanly (drain and commit), then weigh the database.
    let _ = Command::new("kill")
        .args(["-s", "TERM", &pid.to_string()])
        .status();
    let status = daemon.wait().unwrap();
    drop(nginx);
    let db = dir.path().join("bench.db");
    let bytes: u64 = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    let reader = slawatch::store::Reader::open(&db).unwrap();
    let counts = reader.counts().unwrap();

    let tck = ticks_per_second();
    let cpu_us = ticks * 1_000_000 / tck;
    let wall_us = u64::try_from(wall.as_micros()).unwrap();
    let mut out = BTreeMap::new();
    out.insert("probes", probes.to_string());
    out.insert("interval_s", interval.to_string());
    out.insert("window_s", wall.as_secs().to_string());
    out.insert("checks_in_window", checks.to_string());
    out.insert("failed_checks_total", failures.to_string());
    out.insert(
        "cpu_percent_of_one_core",
        format!(
            "{}.{}",
            cpu_us * 100 / wall_us,
            (cpu_us * 1000 / wall_us) % 10
        ),
    );
    out.insert(
        "cpu_us_per_check",
        (cpu_us.checked_div(checks).unwrap_or(0)).to_string(),
    );
    out.insert("rss_max_mib", format!("{}", rss_max / 1024));
    out.insert("vmhwm_mib", format!("{}", hwm / 1024));
    out.insert("lag_p50", percentile(&lag0, &lag1, 500));
    out.insert("lag_p99", percentile(&lag0, &lag1, 990));
    out.insert("checks_stored", counts.checks.to_string());
    out.insert("db_bytes", bytes.to_string());
    out.insert(
        "db_bytes_per_check",
        format!(
            "{}",
            bytes
                .checked_div(u64::try_from(counts.checks).unwrap_or(1).max(1))
                .unwrap_or(0)
        ),
    );
    out.insert("daemon_exit", format!("{status}"));
    for (k, v) in &out {
        println!("{k:>26}  {v}");
    }
}
