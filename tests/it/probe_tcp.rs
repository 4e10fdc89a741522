//! The TCP probe and the shared TLS step against in-process peers on 127.0.0.1.
//!
//! Certificates come from rcgen with chosen validity; no DNS name is ever used.

use crate::certs::{DAY, ca_chain, now_secs, secs_to_millis, self_signed, tls_server};
use slawatch::config::{TcpSpec, TlsSettings};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::tcp;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A plain listener whose accepted connections get `reply` (if any) and are then held open.
async fn plain_server(reply: Option<&'static [u8]>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held: Vec<TcpStream> = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            if let Some(reply) = reply {
                let _ = stream.write_all(reply).await;
            }
            held.push(stream);
        }
    });
    addr
}

fn settings(verify: bool, ca_file: Option<&Path>, warn_days: u64) -> TlsSettings {
    TlsSettings {
        verify,
        ca_file: ca_file.map(Path::to_path_buf),
        server_name: None,
        cert_expiry_warn: Duration::from_secs(warn_days * DAY),
    }
}

async fn run(addr: SocketAddr, tls: Option<TlsSettings>, timeout: Duration) -> Check {
    let spec = TcpSpec {
        host: addr.ip().to_string(),
        port: addr.port(),
        tls,
    };
    tcp::check("t", &spec, timeout).await
}

#[track_caller]
fn assert_down(check: &Check, class: ErrorClass) {
    assert_eq!(check.status, class.status(), "{check:?}");
    assert_eq!(check.class, Some(class), "{check:?}");
}

#[tokio::test]
async fn plain_tcp_up() {
    let addr = plain_server(None).await;
    let c = run(addr, None, TIMEOUT).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert_eq!(c.class, None);
    assert_eq!(c.probe, "t");
    assert!(c.phases.connect.is_some() && c.phases.total.is_some());
    assert_eq!(c.phases.tls, None);
    assert_eq!(c.cert_not_after, None);
}

#[tokio::test]
async fn nothing_listening_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = run(addr, None, TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(c.detail.contains("refused"), "{c:?}");
}

#[tokio::test]
async fn silent_tls_peer_times_out_within_the_deadline() {
    let addr = plain_server(None).await;
    let timeout = Duration::from_millis(400);
    let start = Instant::now();
    let c = run(addr, Some(settings(true, None, 0)), timeout).await;
    let took = start.elapsed();
    assert_down(&c, ErrorClass::Timeout);
    assert!(took >= timeout, "{took:?}");
    // The point is that the check ends at its deadline instead of hanging; the bound
    // is generous so a loaded CI machine cannot make it flaky (speed is benchmarked).
    assert!(took < timeout + Duration::from_secs(3), "{took:?}");
    assert!(c.phases.connect.is_some(), "{c:?}");
}

#[tokio::test]
async fn garbage_instead_of_server_hello_is_tls() {
    let addr = plain_server(Some(b"HTTP/1.1 400 Bad Request\r\n\r\nnot TLS at all\r\n")).await;
    let c = run(addr, Some(settings(true, None, 0)), TIMEOUT).await;
    assert_down(&c, ErrorClass::Tls);
    assert!(c.phases.tls.is_some(), "{c:?}");
}

#[tokio::test]
async fn valid_chain_is_up_with_the_earliest_not_after_of_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_secs();
    let (intermediate_end, leaf_end) = (now + 30 * DAY, now + 60 * DAY);
    let (served, ca_file) = ca_chain(dir.path(), &["127.0.0.1"], intermediate_end, leaf_end);
    let addr = tls_server(served).await;
    let c = run(addr, Some(settings(true, Some(&ca_file), 14)), TIMEOUT).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert_eq!(c.class, None);
    assert_eq!(c.detail, "TLS ok");
    // The intermediate expires first: the chain's expiry is the intermediate's.
    assert_eq!(c.cert_not_after, Some(secs_to_millis(intermediate_end)));
    assert!(c.phases.connect.is_some() && c.phases.tls.is_some());
}

#[tokio::test]
async fn expired_leaf_is_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_secs();
    let leaf_end = now - 3600;
    let (served, ca_file) = ca_chain(dir.path(), &["127.0.0.1"], now + 365 * DAY, leaf_end);
    let addr = tls_server(served).await;
    let c = run(addr, Some(settings(true, Some(&ca_file), 14)), TIMEOUT).await;
    assert_down(&c, ErrorClass::Certificate);
    assert_eq!(
        c.detail,
        format!("certificate expired at {}", secs_to_millis(leaf_end))
    );
    // The rejected chain's expiry is still evidence.
    assert_eq!(c.cert_not_after, Some(secs_to_millis(leaf_end)));
}

#[tokio::test]
async fn untrusted_self_signed_is_certificate() {
    let addr = tls_server(self_signed(&["127.0.0.1"], now_secs() + 90 * DAY)).await;
    let c = run(addr, Some(settings(true, None, 14)), TIMEOUT).await;
    assert_down(&c, ErrorClass::Certificate);
    assert_eq!(c.detail, "unknown issuer");
}

#[tokio::test]
async fn wrong_name_is_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_secs();
    let (served, ca_file) = ca_chain(dir.path(), &["127.0.0.2"], now + 90 * DAY, now + 60 * DAY);
    let addr = tls_server(served).await;
    let c = run(addr, Some(settings(true, Some(&ca_file), 14)), TIMEOUT).await;
    assert_down(&c, ErrorClass::Certificate);
    assert_eq!(c.detail, "name mismatch");
}

#[tokio::test]
async fn verify_off_expired_is_up_and_expiry_recorded() {
    let end = now_secs() - 2 * DAY;
    let addr = tls_server(self_signed(&["127.0.0.1"], end)).await;
    let c = run(addr, Some(settings(false, None, 14)), TIMEOUT).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert_eq!(c.class, None);
    assert_eq!(c.cert_not_after, Some(secs_to_millis(end)));
    assert!(c.detail.contains("not verified"), "{c:?}");
    assert!(c.detail.contains("expired"), "{c:?}");
}

#[tokio::test]
async fn expiring_within_warn_window_is_up_and_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_secs();
    let leaf_end = now + 5 * DAY + 3600;
    let (served, ca_file) = ca_chain(dir.path(), &["127.0.0.1"], now + 365 * DAY, leaf_end);
    let addr = tls_server(served).await;
    let c = run(addr, Some(settings(true, Some(&ca_file), 14)), TIMEOUT).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert_eq!(c.class, None);
    assert_eq!(c.detail, "TLS ok; certificate expires in 5 d");
    assert_eq!(c.cert_not_after, Some(secs_to_millis(leaf_end)));
}

#[tokio::test]
async fn server_name_setting_is_what_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_secs();
    let (served, ca_file) = ca_chain(dir.path(), &["127.0.0.2"], now + 90 * DAY, now + 60 * DAY);
    let addr = tls_server(served).await;
    let mut tls = settings(true, Some(&ca_file), 14);
    tls.server_name = Some("127.0.0.2".to_owned());
    let c = run(addr, Some(tls), TIMEOUT).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert_eq!(c.class, None);
}

#[tokio::test]
async fn unreadable_ca_file_is_unknown_not_a_service_fault() {
    let dir = tempfile::tempdir().unwrap();
    let addr = tls_server(self_signed(&["127.0.0.1"], now_secs() + 90 * DAY)).await;
    let missing = dir.path().join("missing.pem");
    let c = run(addr, Some(settings(true, Some(&missing), 14)), TIMEOUT).await;
    assert_down(&c, ErrorClass::Unknown);
    assert!(c.detail.contains("ca_file"), "{c:?}");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let c = run(addr, Some(settings(true, Some(&not_pem), 14)), TIMEOUT).await;
    assert_down(&c, ErrorClass::Unknown);
}

/// The TCP probe against a real server (nginx): up, killed (`refused`), and frozen.
/// A frozen server still completes TCP handshakes from its backlog, so a plain
/// connect stays `up`; only the TLS handshake shows the hang (`timeout`). That is
/// why mail and web services want their own probes, not a bare TCP one.
#[tokio::test]
async fn real_nginx_up_frozen_and_killed() {
    let mut nginx = crate::peers::nginx::Nginx::start();
    let tls = Some(TlsSettings {
        verify: true,
        ca_file: Some(nginx.ca()),
        server_name: None,
        cert_expiry_warn: Duration::from_secs(14 * DAY),
    });
    let c = run(nginx.https, tls.clone(), TIMEOUT).await;
    assert_eq!(
        (c.status, c.detail.as_str()),
        (Status::Up, "TLS ok"),
        "{c:?}"
    );
    nginx.daemon.freeze();
    let c = run(nginx.https, None, TIMEOUT).await;
    assert_eq!(
        c.status,
        Status::Up,
        "a plain connect is answered by the kernel: {c:?}"
    );
    let c = run(nginx.https, tls, Duration::from_millis(700)).await;
    assert_down(&c, ErrorClass::Timeout);
    nginx.daemon.kill();
    // The master is reaped first; a worker may hold the socket a moment longer.
    crate::peers::wait_closed(nginx.http);
    let c = run(nginx.http, None, TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
}

/// Out of file descriptors is this machine's fault: `slawatch probe` run under ever
/// lower `RLIMIT_NOFILE` limits (prlimit) against a real nginx (TCP, HTTP) and a real
/// unbound (DNS over UDP) is `up` while it has
/// descriptors and `unknown` naming the cause when the probe's socket cannot be
/// made, never `refused` (which would be the provider's outage).
#[test]
fn out_of_descriptors_is_unknown_not_refused() {
    let nginx = crate::peers::nginx::Nginx::start();
    let unbound = crate::peers::unbound::Unbound::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[tcp]]\nname = \"web-tcp\"\ntarget = \"{}\"\n\n\
             [[http]]\nname = \"web-http\"\nurl = \"{}\"\n\n\
             [[dns]]\nname = \"ns-udp\"\nquery = \"shop.example.test\"\nrecord = \"A\"\n\
             server = \"{}\"\n",
            nginx.http,
            nginx.http_url("/health"),
            unbound.addr
        ),
    )
    .unwrap();
    for probe in ["web-tcp", "web-http", "ns-udp"] {
        let mut outcomes = Vec::new();
        for limit in 3..=40u32 {
            let out = std::process::Command::new("prlimit")
                .arg(format!("--nofile={limit}:{limit}"))
                .arg(crate::util::slawatch_bin())
                .args(["probe", probe, "--json", "--config"])
                .arg(&cfg)
                .output()
                .expect("prlimit (util-linux) runs");
            let Ok(check) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
                // Too few descriptors to start at all: no check was made.
                continue;
            };
            let status = check["status"].as_str().unwrap().to_owned();
            let detail = check["detail"].as_str().unwrap().to_owned();
            assert!(
                status == "up"
                    || (status == "unknown"
                        && check["class"] == "unknown"
                        && detail.contains("out of file descriptors")),
                "{probe} with {limit} descriptors: {check}"
            );
            outcomes.push(status);
        }
        assert!(
            outcomes.iter().any(|s| s == "unknown"),
            "{probe}: no limit made the probe's own socket fail: {outcomes:?}"
        );
        assert!(
            outcomes.iter().any(|s| s == "up"),
            "{probe}: never up: {outcomes:?}"
        );
    }
}

/// Idle clients of `/metrics` cannot take the descriptors the probes need: the daemon
/// runs with 128 descriptors, 300 clients connect to `metrics_listen` and say
/// nothing, and meanwhile a probe of a real nginx keeps being checked `up` (on main
/// the listener accepted until the process ran out and the probe's connects failed
/// as `refused`); the idle clients are closed and `/healthz` answers again.
#[test]
fn idle_metrics_clients_do_not_starve_the_probes() {
    use std::io::{Read, Write};
    let nginx = crate::peers::nginx::Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let metrics = crate::peers::free_addr();
    let db = dir.path().join("evidence.db");
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\nvantage = \"test\"\n\
             interval = \"1s\"\nretry_interval = \"1s\"\ntimeout = \"1s\"\n\
             metrics_listen = \"{metrics}\"\n\n\
             [[tcp]]\nname = \"web\"\ntarget = \"{}\"\n",
            nginx.http
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut daemon = KillOnDrop(
        std::process::Command::new("prlimit")
            .arg("--nofile=128:128")
            .arg(crate::util::slawatch_bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .stdin(std::process::Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap(),
    );
    let healthz = || -> Option<String> {
        let mut s = std::net::TcpStream::connect_timeout(&metrics, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        answer.starts_with("HTTP/1.1 200").then_some(answer)
    };
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{what} did not happen; daemon log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("/healthz answering", &|| healthz().is_some());

    let idle: Vec<std::net::TcpStream> = (0..300)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&metrics, Duration::from_secs(1)).ok())
        .collect();
    assert!(idle.len() >= 100, "only {} connections made", idle.len());
    let held_since = slawatch::probe::net::wall_clock_now();
    // Checks made while the idle clients hold (or have just been refused) their
    // connections are up, as nginx is.
    let up_since = |t: slawatch::model::UtcMillis| {
        let Ok(r) = slawatch::store::Reader::open(&db) else {
            return false;
        };
        r.probe_states().unwrap().iter().any(|s| {
            s.name == "web"
                && s.last_check
                    .is_some_and(|(at, status, _)| at > t && status == Status::Up)
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    wait("an up check while idle clients hold /metrics", &|| {
        up_since(held_since)
    });
    wait("/healthz answering again", &|| healthz().is_some());
    drop(idle);
    std::process::Command::new("kill")
        .args(["-s", "TERM", &daemon.0.id().to_string()])
        .status()
        .unwrap();
    let status = daemon.0.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    let counts = slawatch::store::Reader::open(&db)
        .unwrap()
        .counts()
        .unwrap();
    assert_eq!(
        (counts.failures, counts.outages),
        (0, 0),
        "no check of the healthy nginx may fail:\n{text}"
    );
}

/// A daemon killed if the test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
