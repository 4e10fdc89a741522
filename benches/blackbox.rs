//! slawatch and prometheus-blackbox-exporter side by side: CPU per check, per kind,
//! on the same real servers in the same run (issue 15).
//!
//!     cargo bench --bench blackbox                 # full mode: 300 probes, 30 s windows
//!     cargo bench --bench blackbox -- --short      # CI: small N, 2 s windows
//!     SLAWATCH_BENCH_KINDS=http,dns_udp cargo bench --bench blackbox
//!
//! What it does: starts the tests' real peers (`tests/it/peers/`: nginx, unbound,
//! Dovecot, Postfix delivering to Dovecot over LMTP, a second nginx frozen with
//! SIGSTOP for timeouts, and a closed port for refusals), all on 127.0.0.1 with
//! kernel-chosen ports and configs in temp dirs, and one `prometheus-blackbox-exporter`
//! (Debian's package) on 127.0.0.1 with a module per kind written to a temp dir. Then,
//! for each kind, one after the other:
//!
//! - **slawatch**: the release `slawatch run` with N probes of that kind (300 in full
//!   mode) at a 3 s interval, so 100 checks/s; after one interval of warm-up, the
//!   user + system CPU of the process (`/proc/PID/stat`) over the window, divided by
//!   the checks its own `/metrics` counter `slawatch_probe_checks_total` reports for
//!   the kind over the same window (retries of failing probes included);
//! - **blackbox_exporter**: 4 keep-alive HTTP clients (hyper) sending
//!   `GET /probe?module=M&target=T` back to back for the same window; its CPU over
//!   the window divided by the probes answered.
//!
//! It prints a table: kind, each side's CPU per check, the ratio, the target (0.5 for
//! every kind, 0.3 for HTTP and DNS) and PASS or "over". The mail round trip
//! (`mailflow`) has no blackbox_exporter counterpart: its own cost is printed alone.
//! No timing is asserted: the short mode asserts only that each side did checks,
//! with the outcome the kind expects, and that the table printed.
//!
//! Nothing leaves the machine: every address is 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark harness: a failed set-up step should stop it loudly"
)]

// The tests' own harness for the real servers, shared rather than copied.
#[allow(dead_code, reason = "the bench uses a part of the tests' helpers")]
#[path = "../tests/it/certs.rs"]
mod certs;
#[allow(dead_code, reason = "the bench uses a part of the tests' helpers")]
#[path = "../tests/it/peers/mod.rs"]
mod peers;

use base64::Engine as _;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use peers::dovecot::Dovecot;
use peers::nginx::Nginx;
use peers::postfix::Postfix;
use peers::unbound::Unbound;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian package's binary.
const EXPORTER: &str = "prometheus-blackbox-exporter";
/// The environment variable the daemon reads the mail password from.
const PASSWORD_ENV: &str = "SLAWATCH_BENCH_PASSWORD";
/// blackbox_exporter's clients, each on one keep-alive connection.
const CLIENTS: usize = 4;

/// How big and how long.
struct Mode {
    short: bool,
    /// Probes per kind (the mail round trip: a tenth).
    probes: u64,
    /// The measured window, per side and kind.
    window: Duration,
    /// Before a window, for the daemon: its first interval.
    warmup: Duration,
}

impl Mode {
    fn from_env() -> Mode {
        let short = std::env::args().any(|a| a == "--short")
            || std::env::var("SLAWATCH_BENCH_SHORT").is_ok_and(|v| v == "1");
        let env = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let (probes, seconds, warmup) = if short { (30, 2, 1) } else { (300, 30, 3) };
        Mode {
            short,
            probes: env("SLAWATCH_BENCH_PROBES", probes),
            window: Duration::from_secs(env("SLAWATCH_BENCH_SECONDS", seconds)),
            warmup: Duration::from_secs(warmup),
        }
    }
}

/// What a kind's checks should conclude.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Up,
    Down,
}

/// One row of the table.
struct Kind {
    /// The row's name (and `SLAWATCH_BENCH_KINDS` filter).
    name: &'static str,
    /// The `kind` label of slawatch's counters.
    metric: &'static str,
    /// The ratio to meet, per mille (none: no blackbox_exporter counterpart).
    target_per_mille: Option<u64>,
    expect: Expect,
    /// The checks' `timeout`, in seconds.
    timeout_s: u64,
    /// Extra `[daemon]` keys.
    daemon: &'static str,
    /// The probes' tables.
    probes: String,
    /// blackbox_exporter's module and target.
    bbe: Option<(&'static str, String)>,
}

/// The real servers, running for the whole bench.
struct Peers {
    nginx: Nginx,
    frozen: Nginx,
    unbound: Unbound,
    dovecot: Dovecot,
    postfix: Postfix,
    /// A port nothing listens on.
    closed: SocketAddr,
}

impl Peers {
    fn start() -> Peers {
        let nginx = Nginx::start();
        let frozen = Nginx::start();
        frozen.daemon.freeze();
        let unbound = Unbound::start();
        let dovecot = Dovecot::start();
        let postfix = Postfix::start(dovecot.lmtp, &dovecot.auth_socket);
        let closed = peers::free_addr();
        Peers {
            nginx,
            frozen,
            unbound,
            dovecot,
            postfix,
            closed,
        }
    }
}

fn kinds(p: &Peers, n: u64) -> Vec<Kind> {
    let ca = p.nginx.ca();
    let ca = ca.display();
    let mail_ca = p.dovecot.ca.display();
    let smtp_ca = p.postfix.ca.display();
    let user = &p.dovecot.user;
    let many = |n: u64, table: &dyn Fn(u64) -> String| -> String {
        (0..n).map(table).collect::<Vec<_>>().concat()
    };
    let http = |url: String| {
        many(n, &|i| {
            format!(
                "[[http]]\nname = \"p{i}\"\nurl = \"{url}\"\nexpect_body = \"OK\"\nca_file = \"{ca}\"\n\n"
            )
        })
    };
    let dns = |transport: &str| {
        many(n, &|i| {
            format!(
                "[[dns]]\nname = \"p{i}\"\nquery = \"shop.example.test\"\nrecord = \"A\"\n\
                 server = \"{}\"\ntransport = \"{transport}\"\nexpect_answer = [\"192.0.2.10\"]\n\n",
                p.unbound.addr
            )
        })
    };
    let mail = |table: &str, port: u16, tls: &str, ca: &dyn std::fmt::Display, extra: &str| {
        let table = table.to_owned();
        let tls = tls.to_owned();
        let extra = extra.to_owned();
        let ca = ca.to_string();
        move |name: String| {
            format!(
                "[[{table}]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\n\
                 username = \"{user}\"\npassword_env = \"{PASSWORD_ENV}\"\nca_file = \"{ca}\"\n{extra}\n"
            )
        }
    };
    let helo = "helo = \"probe.example.test\"\n";
    let imaps = mail("imap", p.dovecot.imaps.port(), "implicit", &mail_ca, "");
    let imap_starttls = mail("imap", p.dovecot.imap.port(), "starttls", &mail_ca, "");
    let pop3s = mail("pop3", p.dovecot.pop3s.port(), "implicit", &mail_ca, "");
    let smtp = mail(
        "smtp",
        p.postfix.submission.port(),
        "starttls",
        &smtp_ca,
        helo,
    );
    // The round trip's two probes run once an hour: the window counts the round
    // trips only (the `mailflow` label). A tenth of the probes: each round trip is a
    // message through Postfix and Dovecot, which share the two cores.
    let mailflow = format!(
        "{}\ninterval = \"1h\"\n\n{}\ninterval = \"1h\"\n\n{}",
        smtp("mf-smtp".into()).trim_end(),
        imaps("mf-imap".into()).trim_end(),
        many(n.div_ceil(10), &|i| format!(
            "[[mailflow]]\nname = \"p{i}\"\nsmtp = \"mf-smtp\"\nimap = \"mf-imap\"\n\
             from = \"{user}\"\nto = \"{user}\"\nmax_delivery = \"5s\"\ninterval = \"3s\"\n\n"
        ))
    );
    let http_url = p.nginx.http_url("/health");
    let https_url = p.nginx.https_url("/health");
    vec![
        Kind {
            name: "http",
            metric: "http",
            target_per_mille: Some(300),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: http(http_url.clone()),
            bbe: Some(("http", http_url)),
        },
        Kind {
            name: "https",
            metric: "http",
            target_per_mille: Some(500),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: http(https_url.clone()),
            bbe: Some(("https", https_url)),
        },
        Kind {
            name: "tcp",
            metric: "tcp",
            target_per_mille: Some(500),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: many(n, &|i| {
                format!(
                    "[[tcp]]\nname = \"p{i}\"\ntarget = \"{}\"\n\n",
                    p.nginx.http
                )
            }),
            bbe: Some(("tcp", p.nginx.http.to_string())),
        },
        Kind {
            name: "tcp_tls",
            metric: "tcp",
            target_per_mille: Some(500),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: many(n, &|i| {
                format!(
                    "[[tcp]]\nname = \"p{i}\"\ntarget = \"{}\"\ntls = true\nca_file = \"{ca}\"\n\n",
                    p.nginx.https
                )
            }),
            bbe: Some(("tcp_tls", p.nginx.https.to_string())),
        },
        Kind {
            name: "dns_udp",
            metric: "dns",
            target_per_mille: Some(300),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: dns("udp"),
            bbe: Some(("dns_udp", p.unbound.addr.to_string())),
        },
        Kind {
            name: "dns_tcp",
            metric: "dns",
            target_per_mille: Some(300),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: dns("tcp"),
            bbe: Some(("dns_tcp", p.unbound.addr.to_string())),
        },
        Kind {
            name: "imaps",
            metric: "imap",
            target_per_mille: Some(500),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: many(n, &|i| imaps(format!("p{i}"))),
            bbe: Some(("imaps", p.dovecot.imaps.to_string())),
        },
        Kind {
            name: "imap_starttls",
            metric: "imap",
            target_per_mille: Some(500),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: many(n, &|i| imap_starttls(format!("p{i}"))),
            bbe: Some(("imap_starttls", p.dovecot.imap.to_string())),
        },
        Kind {
            name: "pop3s",
            metric: "pop3",
            target_per_mille: Some(500),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: many(n, &|i| pop3s(format!("p{i}"))),
            bbe: Some(("pop3s", p.dovecot.pop3s.to_string())),
        },
        Kind {
            name: "smtp_starttls",
            metric: "smtp",
            target_per_mille: Some(500),
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: many(n, &|i| smtp(format!("p{i}"))),
            bbe: Some(("smtp_starttls", p.postfix.submission.to_string())),
        },
        Kind {
            name: "mailflow",
            metric: "mailflow",
            target_per_mille: None,
            expect: Expect::Up,
            timeout_s: 2,
            daemon: "",
            probes: mailflow,
            bbe: None,
        },
        Kind {
            name: "refused",
            metric: "http",
            target_per_mille: Some(500),
            expect: Expect::Down,
            timeout_s: 2,
            daemon: "",
            probes: http(format!("http://{}/health", p.closed)),
            bbe: Some(("http", format!("http://{}/health", p.closed))),
        },
        Kind {
            name: "timeout",
            metric: "http",
            target_per_mille: Some(500),
            expect: Expect::Down,
            // Every check waits its whole 1 s: up to 150 in flight, all on one host.
            timeout_s: 1,
            daemon: "per_host_concurrency = 256\n",
            probes: http(p.frozen.http_url("/health")),
            bbe: Some(("http_1s", p.frozen.http_url("/health"))),
        },
    ]
}

/// blackbox_exporter's modules: the same steps as slawatch's probes (BENCHMARKS.md
/// says where they differ).
fn exporter_config(p: &Peers) -> String {
    let ca = p.nginx.ca();
    let ca = ca.display();
    let mail_ca = p.dovecot.ca.display();
    let smtp_ca = p.postfix.ca.display();
    let (user, pass) = (&p.dovecot.user, &p.dovecot.password);
    let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
    let steps = |steps: &[(&str, &str)]| -> String {
        let mut s = String::new();
        for (key, value) in steps {
            if *key == "starttls" {
                s.push_str("        - starttls: true\n");
            } else {
                // YAML single quotes: only a quote needs doubling.
                let _ = writeln!(s, "        - {key}: '{}'", value.replace('\'', "''"));
            }
        }
        s
    };
    let login = format!("a3 LOGIN \"{user}\" \"{pass}\"");
    // As slawatch: the capabilities of Dovecot's greeting, no CAPABILITY command.
    let imaps = steps(&[
        ("expect", "^\\* OK"),
        ("send", &login),
        ("expect", "^a3 OK"),
        ("send", "a4 EXAMINE INBOX"),
        ("expect", "^a4 OK"),
        ("send", "a5 LOGOUT"),
        ("expect", "^a5 OK"),
    ]);
    // As slawatch: CAPABILITY again after TLS (the greeting's list no longer holds).
    let imap_starttls = steps(&[
        ("expect", "^\\* OK"),
        ("send", "a2 STARTTLS"),
        ("expect", "^a2 OK"),
        ("starttls", ""),
        ("send", "a1 CAPABILITY"),
        ("expect", "^a1 OK"),
        ("send", &login),
        ("expect", "^a3 OK"),
        ("send", "a4 EXAMINE INBOX"),
        ("expect", "^a4 OK"),
        ("send", "a5 LOGOUT"),
        ("expect", "^a5 OK"),
    ]);
    let pop3s = steps(&[
        ("expect", "^\\+OK"),
        ("send", "CAPA"),
        ("expect", "^\\.$"),
        ("send", &format!("USER {user}")),
        ("expect", "^\\+OK"),
        ("send", &format!("PASS {pass}")),
        ("expect", "^\\+OK"),
        ("send", "STAT"),
        ("expect", "^\\+OK"),
        ("send", "QUIT"),
        ("expect", "^\\+OK"),
    ]);
    let smtp = steps(&[
        ("expect", "^220 "),
        ("send", "EHLO probe.example.test"),
        ("expect", "^250 "),
        ("send", "STARTTLS"),
        ("expect", "^220 "),
        ("starttls", ""),
        ("send", "EHLO probe.example.test"),
        ("expect", "^250 "),
        ("send", &format!("AUTH PLAIN {plain}")),
        ("expect", "^235 "),
        ("send", "QUIT"),
        ("expect", "^221 "),
    ]);
    let http = |timeout: &str, tls: &str| {
        format!(
            "    prober: http\n    timeout: {timeout}\n    http:\n      preferred_ip_protocol: ip4\n      \
             valid_status_codes: [200]\n      fail_if_body_not_matches_regexp: ['OK']\n{tls}"
        )
    };
    let http_tls = format!("      tls_config:\n        ca_file: '{ca}'\n");
    let dns = |transport: &str| {
        format!(
            "    prober: dns\n    timeout: 2s\n    dns:\n      preferred_ip_protocol: ip4\n      \
             transport_protocol: {transport}\n      query_name: shop.example.test\n      query_type: A\n      \
             valid_rcodes: [NOERROR]\n      validate_answer_rrs:\n        \
             fail_if_none_matches_regexp: ['192\\.0\\.2\\.10']\n"
        )
    };
    let tcp = |tls: bool, ca: &dyn std::fmt::Display, script: &str| {
        let mut s =
            "    prober: tcp\n    timeout: 2s\n    tcp:\n      preferred_ip_protocol: ip4\n"
                .to_owned();
        if tls {
            s.push_str("      tls: true\n");
        }
        let _ = writeln!(s, "      tls_config:\n        ca_file: '{ca}'");
        if !script.is_empty() {
            let _ = write!(s, "      query_response:\n{script}");
        }
        s
    };
    format!(
        "modules:\n  http:\n{}  http_1s:\n{}  https:\n{}  tcp:\n{}  tcp_tls:\n{}  dns_udp:\n{}  \
         dns_tcp:\n{}  imaps:\n{}  imap_starttls:\n{}  pop3s:\n{}  smtp_starttls:\n{}",
        http("2s", ""),
        http("1s", ""),
        http("2s", &http_tls),
        tcp(false, &ca, ""),
        tcp(true, &ca, ""),
        dns("udp"),
        dns("tcp"),
        tcp(true, &mail_ca, &imaps),
        tcp(false, &mail_ca, &imap_starttls),
        tcp(true, &mail_ca, &pop3s),
        tcp(false, &smtp_ca, &smtp),
    )
}

/// A child process killed (and reaped) when dropped, also when the bench panics.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts blackbox_exporter on 127.0.0.1 with `config`, after checking the config.
fn start_exporter(dir: &Path, config: &str) -> (Killed, SocketAddr) {
    let file = dir.join("blackbox.yml");
    std::fs::write(&file, config).unwrap();
    let check = Command::new(EXPORTER)
        .arg(format!("--config.file={}", file.display()))
        .arg("--config.check")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {EXPORTER} ({e}): apt-get install prometheus-blackbox-exporter")
        });
    assert!(
        check.status.success(),
        "{EXPORTER} rejected its config:\n{}{}\n{config}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let addr = peers::free_addr();
    let log = std::fs::File::create(dir.join("blackbox.log")).unwrap();
    let child = Command::new(EXPORTER)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let exporter = Killed(child);
    peers::wait_listening(addr, EXPORTER, Some(&dir.join("blackbox.log")));
    (exporter, addr)
}

/// User + system CPU time of `pid`, in clock ticks (all its threads).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100)
}

/// GET /metrics from the daemon.
fn metrics(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

/// The sum of a per-probe counter over the probes of kind `kind`.
fn counter(text: &str, name: &str, kind: &str) -> u64 {
    let label = format!("kind=\"{kind}\"}}");
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(labels, _)| labels.ends_with(&label))
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum()
}

/// One side's measurement of one kind.
#[derive(Default, Clone, Copy)]
struct Measured {
    checks: u64,
    failed: u64,
    cpu_us: u64,
}

impl Measured {
    fn per_check_us(&self) -> Option<u64> {
        self.cpu_us.checked_div(self.checks)
    }
}

/// The daemon with `kind`'s probes, measured over the window after a warm-up.
fn run_slawatch(mode: &Mode, kind: &Kind, password: &str, tck: u64) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let metrics_addr = peers::free_addr();
    let config = format!(
        "[daemon]\ndatabase = \"bench.db\"\nvantage = \"bench\"\ninterval = \"3s\"\n\
         timeout = \"{}s\"\nretry_interval = \"1s\"\nmetrics_listen = \"{metrics_addr}\"\n{}\n{}",
        kind.timeout_s, kind.daemon, kind.probes
    );
    std::fs::write(dir.path().join("probes.toml"), config).unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_slawatch"))
        .args(["run", "--config"])
        .arg(dir.path().join("probes.toml"))
        .env("RUST_LOG", "warn")
        .env(PASSWORD_ENV, password)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut daemon = Killed(child);
    let pid = daemon.0.id();
    peers::wait_listening(
        metrics_addr,
        "slawatch run",
        Some(&dir.path().join("daemon.log")),
    );
    std::thread::sleep(mode.warmup);
    if let Ok(Some(status)) = daemon.0.try_wait() {
        let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
        panic!("the daemon exited during the warm-up ({status}):\n{log}");
    }
    let before = metrics(metrics_addr);
    let ticks0 = cpu_ticks(pid);
    std::thread::sleep(mode.window);
    let ticks = cpu_ticks(pid) - ticks0;
    let after = metrics(metrics_addr);
    let delta =
        |name: &str| counter(&after, name, kind.metric) - counter(&before, name, kind.metric);
    let measured = Measured {
        checks: delta("slawatch_probe_checks_total"),
        failed: delta("slawatch_probe_failures_total"),
        cpu_us: ticks * 1_000_000 / tck,
    };
    // A clean stop (drain and commit) before the next kind starts.
    let _ = Command::new("kill")
        .args(["-s", "TERM", &pid.to_string()])
        .status();
    let _ = daemon.0.wait();
    measured
}

/// 4 keep-alive clients asking the exporter for `module` on `target` back to back
/// for the window; its CPU over all the probes answered.
fn run_exporter(
    mode: &Mode,
    exporter: &Killed,
    addr: SocketAddr,
    (module, target): (&str, &str),
    tck: u64,
) -> Measured {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = format!("/probe?module={module}&target={target}");
    let pid = exporter.0.id();
    let ticks0 = cpu_ticks(pid);
    let until = Instant::now() + mode.window;
    let results: Vec<(u64, u64)> = rt.block_on(async {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(client(addr, path.clone(), until)))
            .collect();
        let mut results = Vec::new();
        for c in clients {
            results.push(c.await.unwrap());
        }
        results
    });
    let ticks = cpu_ticks(pid) - ticks0;
    Measured {
        checks: results.iter().map(|r| r.0 + r.1).sum(),
        failed: results.iter().map(|r| r.1).sum(),
        cpu_us: ticks * 1_000_000 / tck,
    }
}

/// One keep-alive connection: (probes that succeeded, probes that failed).
async fn client(addr: SocketAddr, path: String, until: Instant) -> (u64, u64) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let (mut ok, mut failed) = (0, 0);
    while Instant::now() < until {
        let request = hyper::Request::get(path.as_str())
            .header("host", addr.to_string())
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert!(response.status().is_success(), "{path}: {response:?}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&body);
        if body.lines().any(|l| l == "probe_success 1") {
            ok += 1;
        } else {
            assert!(
                body.lines().any(|l| l == "probe_success 0"),
                "{path}: no probe_success in\n{body}"
            );
            failed += 1;
        }
    }
    (ok, failed)
}

/// `us` as milliseconds with two decimals.
fn ms(us: Option<u64>) -> String {
    us.map_or("-".to_owned(), |us| {
        let hundredths = (us + 5) / 10;
        format!("{}.{:02} ms", hundredths / 100, hundredths % 100)
    })
}

/// A per-mille ratio as a decimal.
fn ratio(per_mille: u64) -> String {
    let hundredths = (per_mille + 5) / 10;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("blackbox: bench");
        return;
    }
    let mode = Mode::from_env();
    let only: Option<Vec<String>> = std::env::var("SLAWATCH_BENCH_KINDS")
        .ok()
        .map(|v| v.split(',').map(str::to_owned).collect());
    let tck = ticks_per_second();
    let started = Instant::now();
    let peers = Peers::start();
    let dir = tempfile::tempdir().unwrap();
    let (exporter, exporter_addr) = start_exporter(dir.path(), &exporter_config(&peers));
    let kinds: Vec<Kind> = kinds(&peers, mode.probes)
        .into_iter()
        .filter(|k| only.as_ref().is_none_or(|o| o.iter().any(|n| n == k.name)))
        .collect();
    eprintln!(
        "bench: {} kinds, {} probes each at 3 s, windows of {} s{}",
        kinds.len(),
        mode.probes,
        mode.window.as_secs(),
        if mode.short { " (short mode)" } else { "" }
    );
    let mut rows = Vec::new();
    for kind in &kinds {
        eprintln!("bench: {}: slawatch", kind.name);
        let ours = run_slawatch(&mode, kind, &peers.dovecot.password, tck);
        let theirs = kind.bbe.as_ref().map(|(module, target)| {
            eprintln!("bench: {}: blackbox_exporter", kind.name);
            run_exporter(&mode, &exporter, exporter_addr, (module, target), tck)
        });
        rows.push((kind, ours, theirs));
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| kind | slawatch CPU/check | checks (failed) | blackbox_exporter CPU/probe | probes (failed) | ratio | target | |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|---|---|");
    for (kind, ours, theirs) in &rows {
        let ratio_pm = theirs.and_then(|t| {
            let (a, b) = (ours.per_check_us()?, t.per_check_us()?);
            (a * 1000).checked_div(b)
        });
        let verdict = match (ratio_pm, kind.target_per_mille) {
            (Some(r), Some(t)) if r <= t => "PASS",
            (Some(_), Some(_)) => "over",
            _ => "",
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} ({}) | {} | {} | {} | {} | {verdict} |",
            kind.name,
            ms(ours.per_check_us()),
            ours.checks,
            ours.failed,
            theirs.map_or("none (no such probe)".to_owned(), |t| ms(t.per_check_us())),
            theirs.map_or("-".to_owned(), |t| format!("{} ({})", t.checks, t.failed)),
            ratio_pm.map_or("-".to_owned(), ratio),
            kind.target_per_mille
                .map_or("-".to_owned(), |t| format!("<= {}", ratio(t))),
        );
    }
    println!("{table}");
    println!(
        "CPU: user + system time from /proc/PID/stat ({tck} ticks/s), per check the daemon's \
         own counters report (retries included) and per probe the exporter answered; \
         bench took {} s",
        started.elapsed().as_secs()
    );
    drop(exporter);

    // Not timings: each side did checks, with the outcome the kind expects (a side
    // whose every check failed for another reason would make its row meaningless).
    for (kind, ours, theirs) in &rows {
        let sides = [("slawatch", Some(*ours)), ("blackbox_exporter", *theirs)];
        for (side, m) in sides {
            let Some(m) = m else { continue };
            assert!(m.checks > 0, "{}: {side} did no checks", kind.name);
            match kind.expect {
                Expect::Up => assert!(
                    m.failed < m.checks,
                    "{}: every check of {side} failed",
                    kind.name
                ),
                Expect::Down => assert_eq!(
                    m.failed, m.checks,
                    "{}: a check of {side} succeeded against a dead target",
                    kind.name
                ),
            }
        }
    }
}
