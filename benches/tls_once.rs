//! TLS set up once (issue 15): the CPU one HTTPS check costs this process, through
//! the library's `probe::http::check`, against a local nginx on loopback.
//!
//!     cargo bench --bench tls_once
//!     SLAWATCH_BENCH_CHECKS=200 SLAWATCH_BENCH_RUNS=3 cargo bench --bench tls_once
//!
//! What it does: writes a CA and a leaf for 127.0.0.1, starts nginx (Debian's
//! `nginx-light`, as the tests do) with HTTPS on a free loopback port, then, on one
//! current-thread runtime, runs `SLAWATCH_BENCH_CHECKS` (default 1,000) sequential
//! checks per run, `SLAWATCH_BENCH_RUNS` (default 5) runs per case after a warm-up,
//! and prints per case the median, lowest and highest CPU per check: user + system
//! time of this process (`/proc/self/stat`, every thread, so the blocking pool's
//! `ca_file` reads count; clock-tick resolution, 10 ms, hence runs of many checks)
//! over the run, divided by the checks. nginx's own
//! CPU is not counted. Every check must be up, else the bench stops.
//!
//! Cases: `ca_file` with `verify = true` (the chain verified against the system
//! roots plus the file), and no `ca_file` with `verify = false` (the system roots
//! alone; the chain is still verified, to report why it would fail).
//!
//! Nothing leaves the machine: every address is 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness run by hand: a failed set-up step should stop it loudly"
)]

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use slawatch::config::{HttpMethod, HttpSpec, StatusMatcher};
use slawatch::model::Status;
use slawatch::probe::http;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not '{v}'"))
    })
}

/// User + system CPU time of this process so far (every thread), from
/// `/proc/self/stat`, at the clock-tick resolution of `ticks_per_sec`.
fn cpu(ticks_per_sec: u64) -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_micros(ticks * 1_000_000 / ticks_per_sec)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`).
fn clk_tck() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A CA (`ca.pem`) and a leaf for 127.0.0.1 signed by it (`cert.pem`, `key.pem`).
fn write_pem(dir: &Path) -> PathBuf {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "slawatch bench root");
    let root = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &root)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), root.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), leaf_key.serialize_pem()).unwrap();
    dir.join("ca.pem")
}

/// nginx in the foreground, in its own process group, HTTPS on `addr`.
fn start_nginx(dir: &Path, addr: SocketAddr) -> Child {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            r#"user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen {addr} ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        location = /health {{ return 200 "OK\n"; }}
    }}
}}
"#
        ),
    )
    .unwrap();
    let child = Command::new("nginx")
        .arg("-g")
        .arg("daemon off; master_process on;")
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("nginx must be installed (Debian: nginx-light)");
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nginx did not listen on {addr}: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn spec(addr: SocketAddr, ca_file: Option<PathBuf>, verify: bool) -> HttpSpec {
    HttpSpec {
        url: format!("https://{addr}/health"),
        host: "127.0.0.1".to_owned(),
        method: HttpMethod::Get,
        expect_status: StatusMatcher::Default,
        expect_body: None,
        expect_body_regex: None,
        max_response_time: None,
        follow_redirects: 0,
        tls_verify: verify,
        ca_file,
        cert_expiry_warn: Duration::from_secs(14 * 86_400),
        headers: Vec::new(),
        secret_headers: Vec::new(),
    }
}

fn micros(d: Duration) -> String {
    d.as_micros().to_string()
}

fn main() {
    let checks = env_u64("SLAWATCH_BENCH_CHECKS", 1000).max(1);
    let runs = env_u64("SLAWATCH_BENCH_RUNS", 5).max(1);
    let dir = tempfile::tempdir().unwrap();
    let ca = write_pem(dir.path());
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut nginx = start_nginx(dir.path(), addr);
    let tck = clk_tck();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        ("HTTPS, ca_file, verify = true", spec(addr, Some(ca), true)),
        (
            "HTTPS, system roots, verify = false",
            spec(addr, None, false),
        ),
    ];
    println!("{checks} sequential checks per run, {runs} runs per case; CPU of this process");
    println!();
    println!("| case | CPU/check median | lowest | highest |");
    println!("|---|---|---|---|");
    for (name, spec) in &cases {
        let run = |n: u64| {
            rt.block_on(async {
                for _ in 0..n {
                    let c = http::check("bench", spec, Duration::from_secs(5)).await;
                    assert_eq!(c.status, Status::Up, "{c:?}");
                }
            });
        };
        run(20);
        let mut per_check: Vec<Duration> = (0..runs)
            .map(|_| {
                let before = cpu(tck);
                run(checks);
                (cpu(tck) - before) / u32::try_from(checks).unwrap()
            })
            .collect();
        per_check.sort();
        println!(
            "| {name} | {} µs | {} µs | {} µs |",
            micros(per_check[per_check.len() / 2]),
            micros(per_check[0]),
            micros(per_check[per_check.len() - 1]),
        );
    }
    // SIGTERM to the master: it stops its workers and exits.
    let _ = Command::new("kill")
        .args(["-s", "TERM", &nginx.id().to_string()])
        .status();
    nginx.wait().unwrap();
}
