//! The SMTP probe against in-process peers on 127.0.0.1: what a real server will
//! not do (garbage, floods, stalls, resets, bad certificates, injected bytes) and
//! the AUTH variants; then (`mod real`) against a real Postfix with Dovecot SASL.

use crate::certs::{DAY, ca_chain, now_secs, secs_to_millis, self_signed, server_config};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use slawatch::config::{Credentials, MailEndpoint, Secret, SmtpSpec, TlsMode, TlsSettings};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::conn::Usage;
use slawatch::probe::smtp;
use slawatch::probe::wire::{BUFFERED_LINES, MAX_LINE};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

const TIMEOUT: Duration = Duration::from_secs(5);
const PASSWORD: &str = "s3cret-Pa55";

/// A peer that runs `handler` on every accepted connection.
async fn raw_peer<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handler(stream));
        }
    });
    addr
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What a scripted peer does with a command line.
enum Act {
    /// Write these bytes.
    Say(&'static [u8]),
    /// Write these bytes, then run a TLS handshake with the peer's configuration.
    StartTls(&'static [u8]),
    /// Write these bytes, then read whatever comes (a ClientHello) and send garbage.
    BreakTls(&'static [u8]),
    /// Answer nothing, ever.
    Hang,
}

type Script = Arc<dyn Fn(&str) -> Act + Send + Sync>;

/// A scripted SMTP peer: the banner, then `script`'s answer to each command line.
/// `implicit` wraps the whole connection in TLS; `starttls` serves STARTTLS. Every
/// command line received is recorded.
struct Peer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
}

async fn peer(
    banner: &'static [u8],
    implicit: Option<Arc<ServerConfig>>,
    starttls: Option<Arc<ServerConfig>>,
    script: Script,
) -> Peer {
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    let addr = raw_peer(move |tcp| {
        let (implicit, starttls, script, log) = (
            implicit.clone(),
            starttls.clone(),
            script.clone(),
            log.clone(),
        );
        async move {
            let mut io: Box<dyn Io> = match implicit {
                Some(config) => match TlsAcceptor::from(config).accept(tcp).await {
                    Ok(tls) => Box::new(tls),
                    Err(_) => return,
                },
                None => Box::new(tcp),
            };
            if io.write_all(banner).await.is_err() {
                return;
            }
            let mut reader = BufReader::new(io);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let line = line.trim_end().to_owned();
                log.lock().unwrap().push(line.clone());
                match script(&line) {
                    Act::Say(bytes) => {
                        if reader.get_mut().write_all(bytes).await.is_err() {
                            return;
                        }
                    }
                    Act::StartTls(bytes) => {
                        let mut io = reader.into_inner();
                        if io.write_all(bytes).await.is_err() {
                            return;
                        }
                        let config = starttls.clone().expect("the peer has a TLS config");
                        match TlsAcceptor::from(config).accept(io).await {
                            Ok(tls) => reader = BufReader::new(Box::new(tls)),
                            Err(_) => return,
                        }
                    }
                    Act::BreakTls(bytes) => {
                        let mut io = reader.into_inner();
                        let _ = io.write_all(bytes).await;
                        let mut hello = [0u8; 512];
                        let _ = io.read(&mut hello).await;
                        let _ = io.write_all(b"this is not a TLS record\r\n").await;
                        let _ = io.shutdown().await;
                        return;
                    }
                    Act::Hang => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                }
            }
        }
    })
    .await;
    Peer { addr, received }
}

/// A well-behaved server: EHLO announces `ehlo` (a complete 250 reply), AUTH PLAIN
/// accepts `PASSWORD` for any user, and QUIT is answered.
fn server(ehlo: &'static [u8]) -> Script {
    Arc::new(move |line: &str| {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO ") {
            Act::Say(ehlo)
        } else if upper == "STARTTLS" {
            Act::StartTls(b"220 2.0.0 Ready to start TLS\r\n")
        } else if let Some(token) = line.strip_prefix("AUTH PLAIN ") {
            let raw = BASE64.decode(token).unwrap_or_default();
            if raw.ends_with(PASSWORD.as_bytes()) {
                Act::Say(b"235 2.7.0 Authentication successful\r\n")
            } else {
                Act::Say(b"535 5.7.8 Error: authentication failed\r\n")
            }
        } else if upper == "QUIT" {
            Act::Say(b"221 2.0.0 Bye\r\n")
        } else {
            Act::Say(b"502 5.5.2 Error: command not recognized\r\n")
        }
    })
}

const BANNER: &[u8] = b"220 mx.example.test ESMTP Postfix\r\n";
const EHLO_PLAIN: &[u8] = b"250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n\
    250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
const EHLO_AUTH: &[u8] = b"250-mx.example.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n\
    250-AUTH=PLAIN LOGIN\r\n250 8BITMIME\r\n";
const EHLO_NO_TLS: &[u8] = b"250-mx.example.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

fn tls_settings(ca_file: Option<&Path>) -> TlsSettings {
    TlsSettings {
        verify: true,
        ca_file: ca_file.map(Path::to_path_buf),
        server_name: None,
        cert_expiry_warn: Duration::from_secs(14 * DAY),
    }
}

fn spec(addr: SocketAddr, tls_mode: TlsMode, ca_file: Option<&Path>, login: bool) -> SmtpSpec {
    SmtpSpec {
        endpoint: MailEndpoint {
            host: addr.ip().to_string(),
            port: addr.port(),
            tls_mode,
            tls: tls_settings(ca_file),
            credentials: login.then(|| Credentials {
                username: "probe@example.test".to_owned(),
                password: Secret::new(PASSWORD.to_owned()),
            }),
        },
        helo: "probe.example.test".to_owned(),
    }
}

fn wrong_password(mut s: SmtpSpec) -> SmtpSpec {
    if let Some(c) = &mut s.endpoint.credentials {
        c.password = Secret::new("not-the-password".to_owned());
    }
    s
}

#[track_caller]
fn assert_down(check: &Check, class: ErrorClass) {
    assert_eq!(check.status, class.status(), "{check:?}");
    assert_eq!(check.class, Some(class), "{check:?}");
    assert!(!check.detail.contains(PASSWORD), "{check:?}");
}

/// The splitter never held more than its cap, whatever the peer sent.
#[track_caller]
fn assert_bounded(usage: Usage) {
    assert!(
        usage.peak_buffered <= MAX_LINE * BUFFERED_LINES,
        "{usage:?}"
    );
}

/// A STARTTLS peer with a chain trusted through `ca.pem`; the CA file's path.
fn trusted_chain(dir: &Path) -> (Arc<ServerConfig>, std::path::PathBuf, u64) {
    let now = now_secs();
    let leaf_end = now + 60 * DAY;
    let (served, ca_file) = ca_chain(dir, &["127.0.0.1"], now + 365 * DAY, leaf_end);
    (server_config(served), ca_file, leaf_end)
}

#[tokio::test]
async fn plain_banner_and_ehlo_is_up_and_sends_no_mail() {
    let p = peer(BANNER, None, None, server(EHLO_PLAIN)).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_eq!((c.status, c.class), (Status::Up, None), "{c:?}");
    assert_eq!(c.detail, "SMTP ok");
    assert!(c.phases.connect.is_some() && c.phases.first_byte.is_some());
    assert_eq!((c.phases.tls, c.phases.login), (None, None));
    let received = p.received.lock().unwrap().clone();
    assert_eq!(received, ["EHLO probe.example.test", "QUIT"]);
}

#[tokio::test]
async fn starttls_and_auth_plain_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let (config, ca_file, leaf_end) = trusted_chain(dir.path());
    // AUTH only after TLS, like Postfix with smtpd_tls_auth_only: the first EHLO
    // does not offer it, the one after STARTTLS does.
    let ehlos = Arc::new(Mutex::new(0));
    let counter = ehlos.clone();
    let script: Script = Arc::new(move |line: &str| {
        if line.starts_with("EHLO") {
            let mut n = counter.lock().unwrap();
            *n += 1;
            return Act::Say(if *n == 1 { EHLO_PLAIN } else { EHLO_AUTH });
        }
        server(EHLO_AUTH)(line)
    });
    let p = peer(BANNER, None, Some(config), script).await;
    let s = spec(p.addr, TlsMode::Starttls, Some(&ca_file), true);
    let c = smtp::check("s", &s, TIMEOUT).await;
    assert_eq!((c.status, c.class), (Status::Up, None), "{c:?}");
    assert_eq!(c.detail, "SMTP ok (STARTTLS, AUTH PLAIN)");
    assert_eq!(c.cert_not_after, Some(secs_to_millis(leaf_end)));
    assert!(c.phases.tls.is_some() && c.phases.login.is_some(), "{c:?}");
    let received = p.received.lock().unwrap().clone();
    assert_eq!(received.len(), 5, "{received:?}");
    assert_eq!(
        received[..3],
        [
            "EHLO probe.example.test",
            "STARTTLS",
            "EHLO probe.example.test"
        ]
    );
    let token = received[3].strip_prefix("AUTH PLAIN ").unwrap();
    assert_eq!(
        BASE64.decode(token).unwrap(),
        format!("\0probe@example.test\0{PASSWORD}").into_bytes()
    );
    assert_eq!(received[4], "QUIT");
}

#[tokio::test]
async fn implicit_tls_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let (config, ca_file, leaf_end) = trusted_chain(dir.path());
    let p = peer(BANNER, Some(config), None, server(EHLO_AUTH)).await;
    let c = smtp::check(
        "s",
        &spec(p.addr, TlsMode::Implicit, Some(&ca_file), true),
        TIMEOUT,
    )
    .await;
    assert_eq!((c.status, c.class), (Status::Up, None), "{c:?}");
    assert_eq!(c.detail, "SMTP ok (SMTPS, AUTH PLAIN)");
    assert_eq!(c.cert_not_after, Some(secs_to_millis(leaf_end)));
}

#[tokio::test]
async fn auth_login_when_plain_is_not_offered() {
    let steps = Arc::new(Mutex::new(0));
    let step = steps.clone();
    let script: Script = Arc::new(move |line: &str| {
        if line.starts_with("EHLO") {
            return Act::Say(b"250-mx\r\n250 AUTH LOGIN CRAM-MD5\r\n");
        }
        if line == "QUIT" {
            return Act::Say(b"221 Bye\r\n");
        }
        let mut n = step.lock().unwrap();
        *n += 1;
        match *n {
            1 if line == "AUTH LOGIN" => Act::Say(b"334 VXNlcm5hbWU6\r\n"),
            2 if BASE64.decode(line).unwrap_or_default() == b"probe@example.test" => {
                Act::Say(b"334 UGFzc3dvcmQ6\r\n")
            }
            3 if BASE64.decode(line).unwrap_or_default() == PASSWORD.as_bytes() => {
                Act::Say(b"235 2.7.0 Authentication successful\r\n")
            }
            _ => Act::Say(b"535 5.7.8 Error: authentication failed\r\n"),
        }
    });
    let p = peer(BANNER, None, None, script).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, true), TIMEOUT).await;
    assert_eq!((c.status, c.class), (Status::Up, None), "{c:?}");
    assert_eq!(c.detail, "SMTP ok (AUTH LOGIN)");
    assert_eq!(*steps.lock().unwrap(), 3);
}

#[tokio::test]
async fn rejected_password_is_auth() {
    let p = peer(BANNER, None, None, server(EHLO_AUTH)).await;
    let s = wrong_password(spec(p.addr, TlsMode::None, None, true));
    let c = smtp::check("s", &s, TIMEOUT).await;
    assert_down(&c, ErrorClass::Auth);
    assert_eq!(
        c.detail,
        "login refused: '535 5.7.8 Error: authentication failed'"
    );
    assert!(c.phases.login.is_some(), "{c:?}");
    assert!(!c.detail.contains("not-the-password"), "{c:?}");
}

#[tokio::test]
async fn credentials_without_auth_offered_is_auth() {
    let p = peer(BANNER, None, None, server(EHLO_NO_TLS)).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, true), TIMEOUT).await;
    assert_down(&c, ErrorClass::Auth);
    assert_eq!(
        c.detail,
        "credentials are configured but the server offers no AUTH"
    );
}

#[tokio::test]
async fn only_unknown_mechanisms_is_auth() {
    let p = peer(
        BANNER,
        None,
        None,
        server(b"250-mx\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n"),
    )
    .await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, true), TIMEOUT).await;
    assert_down(&c, ErrorClass::Auth);
    assert!(c.detail.contains("CRAM-MD5 XOAUTH2"), "{c:?}");
}

#[tokio::test]
async fn starttls_not_offered_is_tls() {
    let p = peer(BANNER, None, None, server(EHLO_NO_TLS)).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::Starttls, None, true), TIMEOUT).await;
    assert_down(&c, ErrorClass::Tls);
    assert_eq!(c.detail, "STARTTLS required but not offered");
    // Nothing was sent in clear after learning TLS is missing: no AUTH.
    let received = p.received.lock().unwrap().clone();
    assert!(
        !received.iter().any(|l| l.starts_with("AUTH")),
        "{received:?}"
    );
}

#[tokio::test]
async fn starttls_refused_is_tls() {
    let script: Script = Arc::new(|line: &str| {
        if line == "STARTTLS" {
            Act::Say(b"454 4.7.0 TLS not available due to local problem\r\n")
        } else {
            server(EHLO_PLAIN)(line)
        }
    });
    let p = peer(BANNER, None, None, script).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::Starttls, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Tls);
    assert!(c.detail.starts_with("STARTTLS refused: '454"), "{c:?}");
}

#[tokio::test]
async fn garbage_banner_is_protocol() {
    let p = peer(
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        None,
        None,
        server(EHLO_PLAIN),
    )
    .await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(
        c.detail
            .starts_with("banner: SMTP reply line without a code"),
        "{c:?}"
    );
}

#[tokio::test]
async fn non_220_positive_banner_is_protocol() {
    let p = peer(b"250 hello\r\n", None, None, server(EHLO_PLAIN)).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert_eq!(c.detail, "banner is not 220: '250 hello'");
}

#[tokio::test]
async fn refusing_banners_are_refused() {
    for (banner, code) in [
        (
            &b"554 5.3.2 mx.example.test: no SMTP service here\r\n"[..],
            "554",
        ),
        (
            b"421 4.3.2 Service shutting down, closing channel\r\n",
            "421",
        ),
        (
            b"554-mx.example.test\r\n554 blocked: your IP is listed\r\n",
            "554",
        ),
    ] {
        let p = peer(banner, None, None, server(EHLO_PLAIN)).await;
        let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, false), TIMEOUT).await;
        assert_down(&c, ErrorClass::Refused);
        assert!(
            c.detail
                .starts_with(&format!("the server refuses service: '{code} ")),
            "{c:?}"
        );
        assert!(c.phases.first_byte.is_some(), "{c:?}");
    }
}

#[tokio::test]
async fn ehlo_answered_421_is_refused() {
    let p = peer(
        BANNER,
        None,
        None,
        server(b"421 4.7.0 Too many connections\r\n"),
    )
    .await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(
        c.detail
            .starts_with("EHLO: the server closes the connection"),
        "{c:?}"
    );
}

#[tokio::test]
async fn ehlo_refused_is_protocol() {
    let p = peer(BANNER, None, None, server(b"550 5.7.1 go away\r\n")).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert_eq!(c.detail, "EHLO refused: '550 5.7.1 go away'");
}

#[tokio::test]
async fn endless_banner_line_is_protocol_and_bounded() {
    let addr = raw_peer(|mut s| async move {
        let chunk = vec![b'A'; 64 * 1024];
        let _ = s.write_all(b"220 ").await;
        for _ in 0..160 {
            // 10 MB, never a line end; the probe hangs up long before.
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let (c, usage) =
        smtp::check_with_usage("s", &spec(addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(
        c.detail.starts_with("banner: line longer than 8192 bytes"),
        "{c:?}"
    );
    assert_bounded(usage);
    assert!(usage.bytes_read < 1024 * 1024, "{usage:?}");
}

#[tokio::test]
async fn ten_megabyte_multiline_banner_is_protocol_and_bounded() {
    let addr = raw_peer(|mut s| async move {
        let line = format!("220-{}\r\n", "x".repeat(1000));
        let block = line.repeat(64);
        for _ in 0..(10 * 1024 * 1024 / block.len()) {
            if s.write_all(block.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = s.write_all(b"220 done\r\n").await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let (c, usage) =
        smtp::check_with_usage("s", &spec(addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert_eq!(c.detail, "banner: SMTP reply longer than 256 lines");
    assert_bounded(usage);
    // 256 lines of 1 KB, plus at most a few reads ahead.
    assert!(usage.bytes_read < 512 * 1024, "{usage:?}");
}

#[tokio::test]
async fn stall_mid_reply_times_out_by_the_deadline() {
    let addr = raw_peer(|mut s| async move {
        let _ = s.write_all(b"220-mx.example.test ESMTP\r\n220-still").await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let timeout = Duration::from_millis(500);
    let start = Instant::now();
    let c = smtp::check("s", &spec(addr, TlsMode::None, None, false), timeout).await;
    let took = start.elapsed();
    assert_down(&c, ErrorClass::Timeout);
    assert_eq!(c.detail, "no answer within 500 ms during banner", "{c:?}");
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn stall_after_auth_times_out() {
    let script: Script = Arc::new(|line: &str| {
        if line.starts_with("AUTH") {
            Act::Hang
        } else {
            server(EHLO_AUTH)(line)
        }
    });
    let p = peer(BANNER, None, None, script).await;
    let timeout = Duration::from_millis(500);
    let c = smtp::check("s", &spec(p.addr, TlsMode::None, None, true), timeout).await;
    assert_down(&c, ErrorClass::Timeout);
    assert_eq!(
        c.detail, "no answer within 500 ms during AUTH PLAIN",
        "{c:?}"
    );
}

#[tokio::test]
async fn reset_is_refused() {
    let addr = raw_peer(|s| async move {
        s.set_zero_linger().unwrap();
        drop(s);
    })
    .await;
    let c = smtp::check("s", &spec(addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
}

#[tokio::test]
async fn close_after_banner_is_refused() {
    let addr = raw_peer(|mut s| async move {
        let _ = s.write_all(BANNER).await;
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).await;
    })
    .await;
    let c = smtp::check("s", &spec(addr, TlsMode::None, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(c.detail.starts_with("EHLO"), "{c:?}");
}

#[tokio::test]
async fn bytes_pipelined_after_starttls_ready_are_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let (config, ca_file, _) = trusted_chain(dir.path());
    let script: Script = Arc::new(|line: &str| {
        if line == "STARTTLS" {
            // Injected plaintext, to be read as if it came over TLS (CVE-2011-0411).
            Act::StartTls(b"220 Ready\r\n250-injected\r\n250 AUTH PLAIN\r\n")
        } else {
            server(EHLO_PLAIN)(line)
        }
    });
    let p = peer(BANNER, None, Some(config), script).await;
    let c = smtp::check(
        "s",
        &spec(p.addr, TlsMode::Starttls, Some(&ca_file), true),
        TIMEOUT,
    )
    .await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(c.detail.contains("after accepting STARTTLS"), "{c:?}");
}

#[tokio::test]
async fn broken_tls_handshake_is_tls() {
    let script: Script = Arc::new(|line: &str| {
        if line == "STARTTLS" {
            Act::BreakTls(b"220 Ready\r\n")
        } else {
            server(EHLO_PLAIN)(line)
        }
    });
    let p = peer(BANNER, None, None, script).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::Starttls, None, false), TIMEOUT).await;
    assert_down(&c, ErrorClass::Tls);
    assert!(c.detail.starts_with("TLS handshake failed"), "{c:?}");
    assert!(c.phases.tls.is_some(), "{c:?}");
}

#[tokio::test]
async fn untrusted_certificate_is_certificate() {
    let config = server_config(self_signed(&["127.0.0.1"], now_secs() + 90 * DAY));
    let p = peer(BANNER, None, Some(config.clone()), server(EHLO_PLAIN)).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::Starttls, None, true), TIMEOUT).await;
    assert_down(&c, ErrorClass::Certificate);
    assert_eq!(c.detail, "unknown issuer");
    assert!(c.cert_not_after.is_some(), "{c:?}");
    // Implicit TLS: the same verdict before any SMTP byte.
    let p = peer(BANNER, Some(config), None, server(EHLO_PLAIN)).await;
    let c = smtp::check("s", &spec(p.addr, TlsMode::Implicit, None, true), TIMEOUT).await;
    assert_down(&c, ErrorClass::Certificate);
    assert_eq!(c.detail, "unknown issuer");
    assert_eq!(c.phases.first_byte, None);
}

// Against a real Postfix (and Dovecot for AUTH): see `peers::postfix`.

mod real {
    use super::*;
    use crate::peers::dovecot::Dovecot;
    use crate::peers::free_addr;
    use crate::peers::postfix::Postfix;

    /// Over Dovecot's 2 s `auth_failure_delay` plus Postfix's 1 s error sleep.
    const SLOW: Duration = Duration::from_secs(10);

    fn real_spec(
        addr: SocketAddr,
        mode: TlsMode,
        ca: Option<&Path>,
        d: Option<&Dovecot>,
    ) -> SmtpSpec {
        let mut s = spec(addr, mode, ca, false);
        s.endpoint.credentials = d.map(|d| Credentials {
            username: d.user.clone(),
            password: Secret::new(d.password.clone()),
        });
        s
    }

    /// A Postfix without Dovecot: the port-25 role works, AUTH would not.
    fn lone_postfix() -> Postfix {
        let dir = tempfile::tempdir().unwrap();
        Postfix::start(free_addr(), &dir.path().join("no-auth-socket"))
    }

    #[tokio::test]
    async fn real_postfix_is_up_on_every_port() {
        let d = Dovecot::start();
        let p = Postfix::start(d.lmtp, &d.auth_socket);
        let ca = Some(p.ca.as_path());
        let c = smtp::check("s", &real_spec(p.smtp, TlsMode::Starttls, ca, None), SLOW).await;
        assert_eq!(
            (c.status, c.class),
            (Status::Up, None),
            "{c:?}\n{}",
            p.log_text()
        );
        assert_eq!(c.detail, "SMTP ok (STARTTLS)");
        assert!(
            c.cert_not_after.is_some() && c.phases.tls.is_some(),
            "{c:?}"
        );

        let s = real_spec(p.submission, TlsMode::Starttls, ca, Some(&d));
        let c = smtp::check("s", &s, SLOW).await;
        assert_eq!(
            (c.status, c.class),
            (Status::Up, None),
            "{c:?}\n{}",
            p.log_text()
        );
        assert_eq!(c.detail, "SMTP ok (STARTTLS, AUTH PLAIN)");
        assert!(c.phases.login.is_some(), "{c:?}");

        let s = real_spec(p.smtps, TlsMode::Implicit, ca, Some(&d));
        let c = smtp::check("s", &s, SLOW).await;
        assert_eq!(
            (c.status, c.class),
            (Status::Up, None),
            "{c:?}\n{}",
            p.log_text()
        );
        assert_eq!(c.detail, "SMTP ok (SMTPS, AUTH PLAIN)");
    }

    #[tokio::test]
    async fn real_postfix_wrong_password_is_auth() {
        let d = Dovecot::start();
        let p = Postfix::start(d.lmtp, &d.auth_socket);
        let s = wrong_password(real_spec(
            p.submission,
            TlsMode::Starttls,
            Some(&p.ca),
            Some(&d),
        ));
        let c = smtp::check("s", &s, SLOW).await;
        assert_down(&c, ErrorClass::Auth);
        assert!(c.detail.starts_with("login refused: '535"), "{c:?}");
        // Without TLS, Postfix (smtpd_tls_auth_only) does not even offer AUTH.
        let s = real_spec(p.submission, TlsMode::None, None, Some(&d));
        let c = smtp::check("s", &s, SLOW).await;
        assert_down(&c, ErrorClass::Auth);
        assert_eq!(
            c.detail,
            "credentials are configured but the server offers no AUTH"
        );
    }

    #[tokio::test]
    async fn real_postfix_without_ca_file_is_certificate() {
        let p = lone_postfix();
        let c = smtp::check("s", &real_spec(p.smtp, TlsMode::Starttls, None, None), SLOW).await;
        assert_down(&c, ErrorClass::Certificate);
        assert_eq!(c.detail, "unknown issuer");
    }

    #[tokio::test]
    async fn real_postfix_killed_is_refused() {
        let mut p = lone_postfix();
        let s = real_spec(p.smtp, TlsMode::Starttls, Some(&p.ca), None);
        let c = smtp::check("s", &s, SLOW).await;
        assert_eq!(c.status, Status::Up, "{c:?}\n{}", p.log_text());
        p.kill();
        let c = smtp::check("s", &s, SLOW).await;
        assert_down(&c, ErrorClass::Refused);
    }

    #[tokio::test]
    async fn real_postfix_frozen_times_out() {
        let p = lone_postfix();
        let s = real_spec(p.smtp, TlsMode::Starttls, Some(&p.ca), None);
        p.freeze();
        let timeout = Duration::from_millis(800);
        let start = Instant::now();
        let c = smtp::check("s", &s, timeout).await;
        let took = start.elapsed();
        assert_down(&c, ErrorClass::Timeout);
        assert_eq!(c.detail, "no answer within 800 ms during banner", "{c:?}");
        assert!(took < timeout + Duration::from_secs(3), "{took:?}");
        p.thaw();
    }
}

// ---- servers that echo the credentials back (SMTP, IMAP, POP3) -------------

mod echo {
    use super::*;
    use crate::peers::scripted::{Act as Do, say, serve};
    use slawatch::config::{ImapSpec, Pop3Spec};

    const USER: &str = "probe@example.test";

    fn endpoint(addr: SocketAddr) -> MailEndpoint {
        MailEndpoint {
            host: addr.ip().to_string(),
            port: addr.port(),
            tls_mode: TlsMode::None,
            tls: tls_settings(None),
            credentials: Some(Credentials {
                username: USER.to_owned(),
                password: Secret::new(PASSWORD.to_owned()),
            }),
        }
    }

    /// Fails if the detail holds any form of the password, or the first 12
    /// characters of one (a detail quotes at most 60 bytes of a reply).
    #[track_caller]
    fn assert_redacted(c: &Check) {
        assert_eq!(c.class, Some(ErrorClass::Auth), "{c:?}");
        let plain = BASE64.encode(format!("\0{USER}\0{PASSWORD}"));
        for form in [PASSWORD.to_owned(), plain, BASE64.encode(PASSWORD)] {
            assert!(
                !c.detail.contains(&form[..form.len().min(12)]),
                "{form} echoed: {c:?}"
            );
        }
        assert!(c.detail.contains("***"), "{c:?}");
    }

    fn smtp_spec(addr: SocketAddr) -> SmtpSpec {
        SmtpSpec {
            endpoint: endpoint(addr),
            helo: "probe.example.test".to_owned(),
        }
    }

    /// Echoes `AUTH PLAIN <token>` in its refusal.
    fn smtp_plain(line: &str) -> Do {
        if line.starts_with("EHLO") {
            say("250-mx.example.test\r\n250 AUTH PLAIN LOGIN\r\n")
        } else if line.starts_with("QUIT") {
            Do::SayAndClose(b"221 bye\r\n".to_vec())
        } else {
            Do::Say(format!("535 {line}\r\n").into_bytes())
        }
    }

    /// AUTH LOGIN, echoing the base64 password in its refusal.
    fn smtp_login(line: &str) -> Do {
        if line.starts_with("EHLO") {
            say("250-mx.example.test\r\n250 AUTH LOGIN\r\n")
        } else if line == "AUTH LOGIN" || line == BASE64.encode(USER) {
            say("334 UGFzc3dvcmQ6\r\n")
        } else if line.starts_with("QUIT") {
            Do::SayAndClose(b"221 bye\r\n".to_vec())
        } else {
            Do::Say(format!("535 {line}\r\n").into_bytes())
        }
    }

    /// Echoes the LOGIN command's arguments (user and quoted password).
    fn imap_login(line: &str) -> Do {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        if rest == "LOGOUT" {
            Do::SayAndClose(format!("* BYE\r\n{tag} OK\r\n").into_bytes())
        } else {
            let args = rest.strip_prefix("LOGIN ").unwrap_or(rest);
            Do::Say(format!("{tag} NO {args}\r\n").into_bytes())
        }
    }

    /// USER/PASS, echoing the PASS line.
    fn pop3_pass(line: &str) -> Do {
        match line {
            "CAPA" => say("+OK\r\nUSER\r\n.\r\n"),
            "QUIT" => Do::SayAndClose(b"+OK bye\r\n".to_vec()),
            l if l.starts_with("USER ") => say("+OK\r\n"),
            l => Do::Say(format!("-ERR {}\r\n", l.trim_start_matches("PASS ")).into_bytes()),
        }
    }

    /// SASL PLAIN only, echoing the initial response.
    fn pop3_plain(line: &str) -> Do {
        match line {
            "CAPA" => say("+OK\r\nSASL PLAIN\r\n.\r\n"),
            "QUIT" => Do::SayAndClose(b"+OK bye\r\n".to_vec()),
            l => Do::Say(format!("-ERR {}\r\n", l.trim_start_matches("AUTH PLAIN ")).into_bytes()),
        }
    }

    #[tokio::test]
    async fn smtp_auth_plain_echo_is_redacted() {
        let addr = serve(say("220 mx.example.test ESMTP\r\n"), smtp_plain).await;
        assert_redacted(&smtp::check("out", &smtp_spec(addr), TIMEOUT).await);
    }

    #[tokio::test]
    async fn smtp_auth_login_echo_is_redacted() {
        let addr = serve(say("220 mx.example.test ESMTP\r\n"), smtp_login).await;
        assert_redacted(&smtp::check("out", &smtp_spec(addr), TIMEOUT).await);
    }

    #[tokio::test]
    async fn imap_login_echo_is_redacted() {
        let greeting = say("* OK [CAPABILITY IMAP4rev1] ready\r\n");
        let addr = serve(greeting, imap_login).await;
        let spec = ImapSpec {
            endpoint: endpoint(addr),
            mailbox: "INBOX".to_owned(),
        };
        assert_redacted(&slawatch::probe::imap::check("in", &spec, TIMEOUT).await);
    }

    #[tokio::test]
    async fn pop3_pass_and_auth_plain_echoes_are_redacted() {
        for script in [pop3_pass as fn(&str) -> Do, pop3_plain] {
            let addr = serve(say("+OK ready\r\n"), script).await;
            let spec = Pop3Spec {
                endpoint: endpoint(addr),
            };
            assert_redacted(&slawatch::probe::pop3::check("pop", &spec, TIMEOUT).await);
        }
    }
}
