//! The daemon under load: N probes (default 10,000) at one interval (default 60 s)
//! against a local nginx on loopback, a share of them HTTPS, measured from outside
//! the process.
//!
//!     cargo bench --bench daemon
//!     SLAWATCH_BENCH_PROBES=100000 SLAWATCH_BENCH_HTTPS_PERCENT=50 cargo bench --bench daemon
//!     SLAWATCH_BENCH_PROBES=10000,100000 SLAWATCH_BENCH_HTTPS_PERCENT=50 cargo bench --bench daemon
//!     SLAWATCH_BENCH_PROBES=1000 SLAWATCH_BENCH_SECONDS=120 cargo bench --bench daemon
//!
//! What it does: makes a test CA and a certificate for 127.0.0.1-127.0.0.16 (rcgen),
//! starts nginx (Debian's `nginx-light`, as the tests do) listening on those 16
//! addresses in plain HTTP and in HTTPS (so per-host limits behave as with many
//! hosts), writes a `probes.toml` with N `[[http]]` probes (`expect_body`; every
//! probe whose number modulo 100 is under `SLAWATCH_BENCH_HTTPS_PERCENT`, default 0,
//! is `https://` with the test CA as its `ca_file`), starts the release
//! `slawatch run` with `/metrics` on loopback, lets one interval pass as warm-up,
//! then measures for `SLAWATCH_BENCH_SECONDS` (default 180):
//!
//! - CPU: user + system time of the daemon process (from `/proc/PID/stat`) over the
//!   window, as a share of one core and per check (the checks the daemon's own lag
//!   histogram counted in the window); nginx's CPU (master and workers) likewise;
//! - RSS: the largest resident set seen (`/proc/PID/status` `VmRSS`, sampled every
//!   second), the kernel's high-water mark `VmHWM`, and RSS per probe;
//! - scheduling lag: p50, p90, p99 and the highest bucket reached, from the daemon's
//!   `slawatch_schedule_lag_seconds` histogram (the bucket bound the percentile
//!   falls in), counted over the window;
//! - checks that started later than their interval (`slawatch_checks_late_total`);
//! - store: the writer queue's high-water mark (`slawatch_writer_queue_max`),
//!   records dropped and set aside, database bytes (file + WAL) per check stored,
//!   after a clean stop.
//!
//! `SLAWATCH_BENCH_PER_HOST` sets `per_host_concurrency` (default: the daemon's, 4):
//! with only 16 addresses for N probes, the per-host limit is what a busy machine
//! queues on first.
//!
//! With several N (comma-separated) each runs in turn with a fresh nginx and
//! database, and the summary adds the RSS slope between the smallest and the largest
//! N: the memory each further probe costs, without the fixed part.
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
use std::path::{Path, PathBuf};
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

/// Seconds since the epoch: the test certificate must be valid by rustls' clock.
#[expect(
    clippy::disallowed_methods,
    reason = "the test certificate is dated against the real clock rustls verifies with"
)]
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A test CA (`ca.pem`) and a leaf for 127.0.0.1-127.0.0.16 signed by it
/// (`cert.pem`, `key.pem`), valid from a day ago for a year. Returns the CA's path.
fn write_certificates(dir: &Path) -> PathBuf {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose, date_time_ymd,
    };
    let dated = |mut p: CertificateParams| {
        let now = now_secs();
        p.not_before = date_time_ymd(1970, 1, 1) + Duration::from_secs(now - 86_400);
        p.not_after = date_time_ymd(1970, 1, 1) + Duration::from_secs(now + 365 * 86_400);
        p
    };
    let mut ca = dated(CertificateParams::new(Vec::<String>::new()).unwrap());
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "slawatch bench root");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let root = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let sans: Vec<String> = (1..=HOSTS).map(|h| format!("127.0.0.{h}")).collect();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = dated(CertificateParams::new(sans).unwrap())
        .signed_by(&leaf_key, &root)
        .unwrap();
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, root.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
    ca_path
}

fn start_nginx(dir: &Path, port: u16, tls_port: u16) -> Nginx {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("health"), "OK\n").unwrap();
    let mut listens = String::new();
    for h in 1..=HOSTS {
        let _ = writeln!(listens, "    listen 127.0.0.{h}:{port};");
        let _ = writeln!(listens, "    listen 127.0.0.{h}:{tls_port} ssl;");
    }
    let conf = format!(
        "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/tmp;\n  proxy_temp_path {d}/tmp;\n  \
         fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n  scgi_temp_path {d}/tmp;\n  \
         keepalive_timeout 0;\n  server {{\n{listens}    ssl_certificate {d}/cert.pem;\n    \
         ssl_certificate_key {d}/key.pem;\n    root {www};\n  }}\n}}\n",
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
    while TcpStream::connect(("127.0.0.1", port)).is_err()
        || TcpStream::connect(("127.0.0.1", tls_port)).is_err()
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nginx
}

/// Where the probes go: nginx's two ports and the test CA.
struct Target<'a> {
    port: u16,
    tls_port: u16,
    ca: &'a Path,
    https_percent: u64,
    /// `per_host_concurrency` (0: the default).
    per_host: u64,
}

fn write_config(dir: &Path, probes: u64, interval_s: u64, target: &Target<'_>, metrics: u16) {
    // A check's timeout and retries must fit in the interval (the configuration says so).
    let retry = interval_s.clamp(1, 10);
    let mut s = format!(
        "[daemon]\ndatabase = \"bench.db\"\nvantage = \"bench\"\ninterval = \"{interval_s}s\"\n\
         timeout = \"{retry}s\"\nretry_interval = \"{retry}s\"\nmetrics_listen = \"127.0.0.1:{metrics}\"\n\n"
    );
    if target.per_host > 0 {
        s.insert_str(
            s.find("\n\n").unwrap(),
            &format!("\nper_host_concurrency = {}", target.per_host),
        );
    }
    for i in 0..probes {
        let host = 1 + (i % u64::from(HOSTS));
        if i % 100 < target.https_percent {
            let _ = write!(
                s,
                "[[http]]\nname = \"p{i}\"\nurl = \"https://127.0.0.{host}:{}/health?p={i}\"\n\
                 expect_body = \"OK\"\nca_file = \"{}\"\n\n",
                target.tls_port,
                target.ca.display()
            );
        } else {
            let _ = write!(
                s,
                "[[http]]\nname = \"p{i}\"\nurl = \"http://127.0.0.{host}:{}/health?p={i}\"\n\
                 expect_body = \"OK\"\n\n",
                target.port
            );
        }
    }
    std::fs::write(dir.join("probes.toml"), s).unwrap();
}

/// User + system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// User + system CPU time of every process in process group `pgid` (nginx's master
/// and workers), in clock ticks.
fn group_cpu_ticks(pgid: u32) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // pgrp is field 5 (1-based), the third after the name.
        if fields.get(2).and_then(|f| f.parse::<u32>().ok()) == Some(pgid) {
            total += cpu_ticks(pid);
        }
    }
    total
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

/// The value of an unlabelled metric (0 when absent, as with an older daemon).
fn scalar(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
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

/// The window's cumulative counts per bucket (end minus start).
fn window(start: &[(String, u64)], end: &[(String, u64)]) -> Vec<(String, u64)> {
    end.iter()
        .map(|(le, n)| {
            let before = start.iter().find(|(l, _)| l == le).map_or(0, |(_, n)| *n);
            (le.clone(), n - before)
        })
        .collect()
}

/// The bucket bound below which `per_mille` of the window's checks fell.
fn percentile(deltas: &[(String, u64)], per_mille: u64) -> String {
    let total = deltas.last().map_or(0, |(_, n)| *n);
    let want = (total * per_mille).div_ceil(1000);
    deltas
        .iter()
        .find(|(_, n)| *n >= want)
        .map_or("?".to_owned(), |(le, _)| bound(le))
}

/// The highest bucket any check of the window fell in.
fn max_bucket(deltas: &[(String, u64)]) -> String {
    let total = deltas.last().map_or(0, |(_, n)| *n);
    deltas
        .iter()
        .find(|(_, n)| *n >= total)
        .map_or("?".to_owned(), |(le, _)| bound(le))
}

fn bound(le: &str) -> String {
    if le == "+Inf" {
        "> 5 s".to_owned()
    } else {
        format!("<= {le} s")
    }
}

/// `a / b` as a decimal with one digit after the point.
fn tenths(a: u64, b: u64) -> String {
    if b == 0 {
        return "?".to_owned();
    }
    format!("{}.{}", a / b, (a * 10 / b) % 10)
}

/// One run: N probes against a fresh nginx and database; the figures by name.
fn run(
    probes: u64,
    interval: u64,
    seconds: u64,
    https_percent: u64,
) -> BTreeMap<&'static str, String> {
    let dir = tempfile::tempdir().unwrap();
    let (port, tls_port, metrics_port) = (free_port(), free_port(), free_port());
    let ca = write_certificates(dir.path());
    let nginx = start_nginx(dir.path(), port, tls_port);
    let target = Target {
        port,
        tls_port,
        ca: &ca,
        https_percent,
        per_host: env_u64("SLAWATCH_BENCH_PER_HOST", 0),
    };
    write_config(dir.path(), probes, interval, &target, metrics_port);
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["run", "--config"])
        .arg(dir.path().join("probes.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    let nginx_pgid = nginx.0.id();
    eprintln!(
        "bench: {probes} http probes ({https_percent} % https) every {interval} s; \
         warm-up {interval} s, then measuring {seconds} s"
    );
    std::thread::sleep(Duration::from_secs(interval));
    if let Ok(Some(status)) = daemon.try_wait() {
        panic!("the daemon exited during the warm-up ({status}); its error is above");
    }
    let text0 = metrics(metrics_port);
    let lag0 = lag_buckets(&text0);
    let ticks0 = cpu_ticks(pid);
    let nginx0 = group_cpu_ticks(nginx_pgid);
    let t0 = Instant::now();
    let mut rss_max = 0;
    while t0.elapsed() < Duration::from_secs(seconds) {
        rss_max = rss_max.max(status_kb(pid, "VmRSS:"));
        std::thread::sleep(Duration::from_secs(1));
    }
    let wall = t0.elapsed();
    let ticks = cpu_ticks(pid) - ticks0;
    let nginx_ticks = group_cpu_ticks(nginx_pgid) - nginx0;
    let text = metrics(metrics_port);
    let lag = window(&lag0, &lag_buckets(&text));
    let hwm = status_kb(pid, "VmHWM:");
    let checks = lag.last().map_or(0, |(_, n)| *n);
    let failures: u64 = text
        .lines()
        .filter(|l| l.starts_with("slawatch_probe_failures_total{"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    let late =
        scalar(&text, "slawatch_checks_late_total") - scalar(&text0, "slawatch_checks_late_total");
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
    let nginx_us = nginx_ticks * 1_000_000 / tck;
    let wall_us = u64::try_from(wall.as_micros()).unwrap();
    let mut out = BTreeMap::new();
    out.insert("probes", probes.to_string());
    out.insert("https_percent", https_percent.to_string());
    out.insert(
        "per_host_concurrency",
        match target.per_host {
            0 => "default".to_owned(),
            n => n.to_string(),
        },
    );
    out.insert("interval_s", interval.to_string());
    out.insert("window_s", wall.as_secs().to_string());
    out.insert("checks_in_window", checks.to_string());
    out.insert("failed_checks_total", failures.to_string());
    out.insert("cpu_percent_of_one_core", tenths(cpu_us * 100, wall_us));
    out.insert(
        "cpu_us_per_check",
        (cpu_us.checked_div(checks).unwrap_or(0)).to_string(),
    );
    out.insert(
        "nginx_cpu_percent_of_one_core",
        tenths(nginx_us * 100, wall_us),
    );
    out.insert("rss_max_mib", format!("{}", rss_max / 1024));
    out.insert("vmhwm_mib", format!("{}", hwm / 1024));
    out.insert("rss_kib_per_probe", tenths(rss_max, probes));
    out.insert("lag_p50", percentile(&lag, 500));
    out.insert("lag_p90", percentile(&lag, 900));
    out.insert("lag_p99", percentile(&lag, 990));
    out.insert("lag_max_bucket", max_bucket(&lag));
    out.insert("checks_late_over_interval", late.to_string());
    out.insert(
        "writer_queue_max",
        scalar(&text, "slawatch_writer_queue_max").to_string(),
    );
    out.insert(
        "store_dropped_total",
        scalar(&text, "slawatch_store_dropped_total").to_string(),
    );
    out.insert(
        "store_set_aside_records_total",
        scalar(&text, "slawatch_store_set_aside_records_total").to_string(),
    );
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
    out.insert("load_avg_1min", load_average());
    out.insert("daemon_exit", format!("{status}"));
    out.insert("rss_kib", rss_max.to_string());
    out
}

/// The machine's 1-minute load average: how busy the shared cores were.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("daemon: bench");
        return;
    }
    let sizes: Vec<u64> = std::env::var("SLAWATCH_BENCH_PROBES")
        .unwrap_or_else(|_| "10000".to_owned())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("SLAWATCH_BENCH_PROBES: a number of probes, or several separated by commas")
        })
        .collect();
    let interval = env_u64("SLAWATCH_BENCH_INTERVAL", 60);
    let seconds = env_u64("SLAWATCH_BENCH_SECONDS", 180);
    let https_percent = env_u64("SLAWATCH_BENCH_HTTPS_PERCENT", 0).min(100);
    let runs: Vec<_> = sizes
        .iter()
        .map(|&n| run(n, interval, seconds, https_percent))
        .collect();
    let keys: Vec<&str> = runs[0]
        .keys()
        .copied()
        .filter(|k| *k != "rss_kib")
        .collect();
    println!();
    for k in keys {
        let mut line = format!("{k:>30}");
        for r in &runs {
            let _ = write!(line, "  {:>12}", r[k]);
        }
        println!("{line}");
    }
    let rss = |r: &BTreeMap<&str, String>| r["rss_kib"].parse::<u64>().unwrap();
    if let (Some(first), Some(last)) = (runs.first(), runs.last())
        && sizes.len() > 1
        && sizes[sizes.len() - 1] > sizes[0]
    {
        let slope =
            rss(last).saturating_sub(rss(first)) * 1024 / (sizes[sizes.len() - 1] - sizes[0]);
        println!(
            "{:>30}  {slope} bytes per probe (RSS max, {} to {} probes)",
            "rss_slope",
            sizes[0],
            sizes[sizes.len() - 1]
        );
    }
}
