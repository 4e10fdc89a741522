//! TLS set up once: one shared client configuration per trust set, which never
//! resumes a session, keeps each connection's certificate evidence apart, and
//! follows an edited `ca_file` at the next check.

use crate::certs::{
    DAY, Served, ca_params, key_der, now_secs, params, secs_to_millis, tls_server, write_pem_files,
};
use crate::peers::nginx::Nginx;
use crate::peers::{Daemon, START_TIMEOUT, free_addr, wait_listening, write};
use rcgen::{CertifiedIssuer, KeyPair};
use slawatch::config::{HttpMethod, HttpSpec, StatusMatcher, TcpSpec, TlsSettings};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::{http, tcp};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

const TIMEOUT: Duration = Duration::from_secs(5);

fn https_spec(url: &str, ca_file: Option<PathBuf>) -> HttpSpec {
    HttpSpec {
        url: url.to_owned(),
        host: "127.0.0.1".to_owned(),
        method: HttpMethod::Get,
        expect_status: StatusMatcher::Default,
        expect_body: None,
        expect_body_regex: None,
        max_response_time: None,
        follow_redirects: 0,
        tls_verify: true,
        ca_file,
        cert_expiry_warn: Duration::from_secs(14 * DAY),
        headers: Vec::new(),
        secret_headers: Vec::new(),
    }
}

#[track_caller]
fn assert_up(check: &Check) {
    assert_eq!(check.status, Status::Up, "{check:?}");
    assert_eq!(check.class, None, "{check:?}");
}

/// An nginx that resumes every session it can (a shared session cache for session
/// IDs, and tickets), on one port with TLS 1.3 only and one with TLS 1.2 only, and
/// logs, per request, the protocol and `$ssl_session_reused` (`r` for a resumed
/// session, `.` for a full handshake).
struct ResumingNginx {
    tls13: SocketAddr,
    tls12: SocketAddr,
    ca: PathBuf,
    _daemon: Daemon,
    dir: tempfile::TempDir,
}

impl ResumingNginx {
    fn start() -> ResumingNginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pem = write_pem_files(d);
        std::fs::create_dir(d.join("tmp")).unwrap();
        let (tls13, tls12) = (free_addr(), free_addr());
        let conf = write(
            d,
            "nginx.conf",
            &format!(
                r#"user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    log_format tls "$ssl_protocol $ssl_session_reused";
    access_log {d}/access.log tls;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_session_cache shared:SSL:1m;
    ssl_session_tickets on;
    ssl_session_timeout 10m;
    server {{
        listen {tls13} ssl;
        ssl_protocols TLSv1.3;
        location = /health {{ return 200 "OK\n"; }}
    }}
    server {{
        listen {tls12} ssl;
        ssl_protocols TLSv1.2;
        location = /health {{ return 200 "OK\n"; }}
    }}
}}
"#,
                d = d.display(),
                cert = pem.cert.display(),
                key = pem.key.display(),
            ),
        );
        let mut cmd = Command::new("nginx");
        cmd.arg("-g")
            .arg("daemon off; master_process on;")
            .arg("-e")
            .arg(d.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(d);
        let daemon = Daemon::spawn("nginx", cmd, &d.join("stdout.log"));
        wait_listening(tls13, "nginx (TLS 1.3)", Some(&d.join("error.log")));
        wait_listening(tls12, "nginx (TLS 1.2)", Some(&d.join("error.log")));
        ResumingNginx {
            tls13,
            tls12,
            ca: pem.ca,
            _daemon: daemon,
            dir,
        }
    }

    /// The access log's lines once there are `n` of them.
    fn log_lines(&self, n: usize) -> Vec<String> {
        let start = Instant::now();
        loop {
            let log =
                std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
            let lines: Vec<String> = log.lines().map(str::to_owned).collect();
            if lines.len() >= n {
                return lines;
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "nginx logged {} of {n} requests:\n{log}",
                lines.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A client configuration with rustls' defaults (a session store in the config:
/// sessions are resumed) that trusts `ca`.
fn resuming_client(ca: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// One `GET /health` through `config` (rustls' defaults: sessions are resumed).
async fn get_with(config: Arc<ClientConfig>, addr: SocketAddr) -> bool {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::IpAddress(addr.ip().into());
    let mut tls = TlsConnector::from(config).connect(name, tcp).await.unwrap();
    let resumed =
        tls.get_ref().1.handshake_kind() == Some(tokio_rustls::rustls::HandshakeKind::Resumed);
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
    resumed
}

#[tokio::test]
async fn consecutive_checks_of_a_resuming_server_are_full_handshakes() {
    let nginx = ResumingNginx::start();
    let mut expected = Vec::new();
    for (addr, protocol) in [(nginx.tls13, "TLSv1.3"), (nginx.tls12, "TLSv1.2")] {
        let spec = https_spec(&format!("https://{addr}/health"), Some(nginx.ca.clone()));
        for _ in 0..3 {
            assert_up(&http::check("web", &spec, TIMEOUT).await);
            expected.push(format!("{protocol} ."));
        }
        // The same server resumes a client that offers it: the log tells them apart.
        let resuming = resuming_client(&nginx.ca);
        assert!(!get_with(resuming.clone(), addr).await);
        assert!(get_with(resuming.clone(), addr).await);
        expected.push(format!("{protocol} ."));
        expected.push(format!("{protocol} r"));
    }
    let lines = nginx.log_lines(expected.len());
    assert_eq!(
        lines, expected,
        "per port, three checks (never resumed), then a control client (resumed the second time)"
    );
}

/// A CA and three servers for 127.0.0.1: a valid leaf, an expired leaf (both under
/// the CA) and a self-signed one; each with its own `notAfter`.
struct ThreeServers {
    ca_file: PathBuf,
    ok: (SocketAddr, u64),
    expired: (SocketAddr, u64),
    untrusted: (SocketAddr, u64),
}

async fn three_servers(dir: &Path) -> ThreeServers {
    let now = now_secs();
    let root = CertifiedIssuer::self_signed(
        ca_params("slawatch tls_once root", now + 3650 * DAY),
        KeyPair::generate().unwrap(),
    )
    .unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, root.pem()).unwrap();
    let leaf = |not_after: u64, issuer: Option<&CertifiedIssuer<'_, KeyPair>>| {
        let key = KeyPair::generate().unwrap();
        let p = params(&["127.0.0.1"], not_after);
        let cert = match issuer {
            Some(issuer) => p.signed_by(&key, issuer).unwrap(),
            None => p.self_signed(&key).unwrap(),
        };
        Served {
            chain: vec![cert.der().clone()],
            key: key_der(&key),
        }
    };
    let (ok, expired, untrusted) = (now + 40 * DAY, now - 3600, now + 50 * DAY);
    ThreeServers {
        ok: (tls_server(leaf(ok, Some(&root))).await, ok),
        expired: (tls_server(leaf(expired, Some(&root))).await, expired),
        untrusted: (tls_server(leaf(untrusted, None)).await, untrusted),
        ca_file,
    }
}

fn tcp_tls(addr: SocketAddr, ca_file: &Path, verify: bool) -> TcpSpec {
    TcpSpec {
        host: addr.ip().to_string(),
        port: addr.port(),
        tls: Some(TlsSettings {
            verify,
            ca_file: Some(ca_file.to_path_buf()),
            server_name: None,
            cert_expiry_warn: Duration::from_secs(14 * DAY),
        }),
    }
}

/// Runs `n` checks of each of `specs` at once, interleaved, on two worker threads.
async fn concurrently(specs: &[TcpSpec], n: usize) -> Vec<Vec<Check>> {
    let mut handles = Vec::new();
    for _ in 0..n {
        for spec in specs {
            let spec = spec.clone();
            handles.push(tokio::spawn(async move {
                tcp::check("tls", &spec, TIMEOUT).await
            }));
        }
    }
    let mut out = vec![Vec::new(); specs.len()];
    for (i, h) in handles.into_iter().enumerate() {
        out[i % specs.len()].push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_through_one_config_keep_their_own_certificate_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let s = three_servers(dir.path()).await;
    let at = |secs| Some(secs_to_millis(secs));
    let verified = [
        tcp_tls(s.ok.0, &s.ca_file, true),
        tcp_tls(s.expired.0, &s.ca_file, true),
        tcp_tls(s.untrusted.0, &s.ca_file, true),
    ];
    let [ok, expired, untrusted]: [Vec<Check>; 3] =
        concurrently(&verified, 8).await.try_into().unwrap();
    for c in &ok {
        assert_up(c);
        assert_eq!(c.cert_not_after, at(s.ok.1), "{c:?}");
    }
    for c in &expired {
        assert_eq!(c.class, Some(ErrorClass::Certificate), "{c:?}");
        assert_eq!(
            c.detail,
            format!("certificate expired at {}", secs_to_millis(s.expired.1))
        );
        assert_eq!(c.cert_not_after, at(s.expired.1), "{c:?}");
    }
    for c in &untrusted {
        assert_eq!(c.class, Some(ErrorClass::Certificate), "{c:?}");
        assert_eq!(c.detail, "unknown issuer", "{c:?}");
        assert_eq!(c.cert_not_after, at(s.untrusted.1), "{c:?}");
    }
    // `verify = false` shares another configuration: every check is up and says
    // what its own chain would have failed on.
    let unverified = [
        tcp_tls(s.ok.0, &s.ca_file, false),
        tcp_tls(s.expired.0, &s.ca_file, false),
        tcp_tls(s.untrusted.0, &s.ca_file, false),
    ];
    let [ok, expired, untrusted]: [Vec<Check>; 3] =
        concurrently(&unverified, 8).await.try_into().unwrap();
    let expired_note = format!(
        "not verified: certificate expired at {}",
        secs_to_millis(s.expired.1)
    );
    for (checks, not_after, note) in [
        (&ok, s.ok.1, None),
        (&expired, s.expired.1, Some(expired_note.as_str())),
        (
            &untrusted,
            s.untrusted.1,
            Some("not verified: unknown issuer"),
        ),
    ] {
        for c in checks {
            assert_up(c);
            assert_eq!(c.cert_not_after, at(not_after), "{c:?}");
            match note {
                Some(note) => assert!(c.detail.contains(note), "{c:?}"),
                None => assert!(!c.detail.contains("not verified"), "{c:?}"),
            }
        }
    }
}

#[tokio::test]
async fn an_edited_ca_file_takes_effect_at_the_next_check() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    let other = CertifiedIssuer::self_signed(
        ca_params("slawatch another root", now_secs() + 3650 * DAY),
        KeyPair::generate().unwrap(),
    )
    .unwrap();
    std::fs::write(&other_ca, other.pem()).unwrap();
    let ca_file = dir.path().join("ca.pem");
    let spec = https_spec(&nginx.https_url("/health"), Some(ca_file.clone()));
    let check = || http::check("web", &spec, TIMEOUT);

    std::fs::copy(&other_ca, &ca_file).unwrap();
    let c = check().await;
    assert_eq!(c.class, Some(ErrorClass::Certificate), "{c:?}");
    assert_eq!(c.detail, "unknown issuer");
    // Rewritten in place at once: keyed by content, not by a coarse mtime.
    std::fs::write(&ca_file, std::fs::read(nginx.ca()).unwrap()).unwrap();
    assert_up(&check().await);
    std::fs::copy(&other_ca, &ca_file).unwrap();
    let c = check().await;
    assert_eq!(c.detail, "unknown issuer", "{c:?}");
    std::fs::remove_file(&ca_file).unwrap();
    let c = check().await;
    assert_eq!(c.class, Some(ErrorClass::Unknown), "{c:?}");
    assert!(c.detail.contains("cannot read ca_file"), "{c:?}");
}
