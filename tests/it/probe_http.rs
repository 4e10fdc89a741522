//! The HTTP(S) probe against a real nginx (one instance per test) and, for what
//! nginx will not do (garbage, endless headers, stalls, resets, bad certificates),
//! in-process peers on 127.0.0.1.

use crate::certs::{DAY, ca_chain, now_secs, secs_to_millis, tls_server};
use crate::peers::nginx::{BIG_HEAD, BIG_TAIL, Nginx};
use crate::peers::wait_closed;
use slawatch::config::{HttpMethod, HttpSpec, StatusMatcher};
use slawatch::model::{Check, ErrorClass, Status, UtcMillis};
use slawatch::probe::http::{self, MAX_BODY, MAX_HEAD};
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

const TIMEOUT: Duration = Duration::from_secs(5);
/// How late past its deadline a check may end (scheduling on a loaded 2-core CI box).
const MARGIN: Duration = Duration::from_secs(2);

fn spec(url: &str) -> HttpSpec {
    HttpSpec {
        url: url.to_owned(),
        host: "127.0.0.1".to_owned(),
        method: HttpMethod::Get,
        expect_status: StatusMatcher::Default,
        expect_body: None,
        expect_body_regex: None,
        max_response_time: None,
        follow_redirects: 5,
        tls_verify: true,
        ca_file: None,
        cert_expiry_warn: Duration::from_secs(14 * DAY),
        headers: Vec::new(),
        secret_headers: Vec::new(),
    }
}

async fn run(spec: &HttpSpec) -> Check {
    http::check("web", spec, TIMEOUT).await
}

#[track_caller]
fn assert_up(check: &Check) {
    assert_eq!(check.status, Status::Up, "{check:?}");
    assert_eq!(check.class, None, "{check:?}");
}

#[track_caller]
fn assert_down(check: &Check, class: ErrorClass) {
    assert_eq!(check.status, class.status(), "{check:?}");
    assert_eq!(check.class, Some(class), "{check:?}");
}

/// The leaf's notAfter, read from the PEM nginx serves.
fn leaf_not_after(nginx: &Nginx) -> UtcMillis {
    let leaf = CertificateDer::pem_file_iter(&nginx.pem.cert)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    UtcMillis(cert.validity().not_after.timestamp() * 1000)
}

// ---- against nginx ----------------------------------------------------------

#[tokio::test]
async fn nginx_http_up_with_phases_and_our_request_headers() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.http_url("/health"));
    s.expect_body = Some("OK".to_owned());
    let c = run(&s).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 200 OK");
    assert_eq!(c.probe, "web");
    assert!(c.phases.connect.is_some(), "{c:?}");
    assert!(c.phases.first_byte.is_some(), "{c:?}");
    assert!(c.phases.total.is_some(), "{c:?}");
    // An IP literal is not looked up; plain HTTP has no TLS.
    assert_eq!((c.phases.resolve, c.phases.tls), (None, None));
    assert_eq!(c.cert_not_after, None);
    let log = nginx.access_log_when(|l| l.contains("GET /health"));
    assert!(log.contains("\"GET /health HTTP/1.1\" 200"), "{log}");
    assert!(
        log.contains(concat!("\"slawatch/", env!("CARGO_PKG_VERSION"), "\"")),
        "{log}"
    );
}

#[tokio::test]
async fn nginx_https_up_with_ca_file_records_the_leaf_expiry() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.https_url("/health"));
    s.ca_file = Some(nginx.ca());
    s.expect_body = Some("OK".to_owned());
    let c = run(&s).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 200 OK");
    assert!(
        c.phases.connect.is_some() && c.phases.tls.is_some(),
        "{c:?}"
    );
    assert!(c.phases.first_byte.is_some(), "{c:?}");
    assert_eq!(c.cert_not_after, Some(leaf_not_after(&nginx)));
}

#[tokio::test]
async fn nginx_https_without_ca_file_is_unknown_issuer() {
    let nginx = Nginx::start();
    let c = run(&spec(&nginx.https_url("/health"))).await;
    assert_down(&c, ErrorClass::Certificate);
    assert_eq!(c.detail, "unknown issuer");
    // The rejected certificate's expiry is still evidence.
    assert_eq!(c.cert_not_after, Some(leaf_not_after(&nginx)));
    assert!(c.phases.tls.is_some(), "{c:?}");
    assert_eq!(c.phases.first_byte, None);
}

#[tokio::test]
async fn nginx_https_unverified_is_up_and_says_so() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.https_url("/health"));
    s.tls_verify = false;
    let c = run(&s).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 200 OK; not verified: unknown issuer");
    assert_eq!(c.cert_not_after, Some(leaf_not_after(&nginx)));
}

#[tokio::test]
async fn nginx_500_is_status() {
    let nginx = Nginx::start();
    let c = run(&spec(&nginx.http_url("/fail"))).await;
    assert_down(&c, ErrorClass::Status);
    assert_eq!(
        c.detail,
        "HTTP 500 Internal Server Error (expected 200-399)"
    );
    let mut s = spec(&nginx.http_url("/fail"));
    s.expect_status = StatusMatcher::Class(5);
    assert_up(&run(&s).await);
}

#[tokio::test]
async fn nginx_body_expectations() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.http_url("/health"));
    s.expect_body = Some("Welcome".to_owned());
    let c = run(&s).await;
    assert_down(&c, ErrorClass::Content);
    assert_eq!(c.detail, "'Welcome' not found in the body (3 bytes)");

    let mut s = spec(&nginx.http_url("/health"));
    s.expect_body_regex = Some(regex::Regex::new("^O[Kk]\\s*$").unwrap());
    assert_up(&run(&s).await);

    s.expect_body_regex = Some(regex::Regex::new("^ERROR").unwrap());
    let c = run(&s).await;
    assert_down(&c, ErrorClass::Content);
    assert_eq!(c.detail, "regex '^ERROR' does not match the body (3 bytes)");
}

#[tokio::test]
async fn nginx_redirect_is_followed_on_a_new_connection() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.https_url("/redirect"));
    s.ca_file = Some(nginx.ca());
    s.expect_body = Some("OK".to_owned());
    let c = run(&s).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 200 OK after 1 redirect");
    assert_eq!(c.cert_not_after, Some(leaf_not_after(&nginx)));
    let log = nginx.access_log_when(|l| l.contains("GET /health"));
    let redirect = log.find("\"GET /redirect HTTP/1.1\" 302").expect(&log);
    let health = log.find("\"GET /health HTTP/1.1\" 200").expect(&log);
    assert!(redirect < health, "{log}");
}

#[tokio::test]
async fn nginx_redirect_not_followed_is_judged_by_expect_status() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.http_url("/redirect"));
    s.follow_redirects = 0;
    s.expect_status = StatusMatcher::Codes(vec![200]);
    let c = run(&s).await;
    assert_down(&c, ErrorClass::Status);
    assert_eq!(c.detail, "HTTP 302 Found to '/health' (expected 200)");
    // The default 200-399 accepts the redirect itself.
    s.expect_status = StatusMatcher::Default;
    let c = run(&s).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 302 Found");
    assert!(!nginx.access_log().contains("/health"));
}

#[tokio::test]
async fn nginx_redirect_loop_is_too_many_redirects() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.http_url("/loop"));
    s.follow_redirects = 3;
    let c = run(&s).await;
    assert_down(&c, ErrorClass::Status);
    assert_eq!(
        c.detail,
        "too many redirects (more than 3; last HTTP 302 to '/loop')"
    );
    // The first request and three followed redirects, each answered.
    let log = nginx.access_log_when(|l| l.matches("GET /loop").count() >= 4);
    assert_eq!(log.matches("GET /loop").count(), 4, "{log}");
}

#[tokio::test]
async fn nginx_slow_answer_is_up_and_flagged_slow() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.http_url("/slow"));
    s.max_response_time = Some(Duration::from_millis(500));
    s.expect_body = Some("slow OK".to_owned());
    let c = run(&s).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert_eq!(c.class, Some(ErrorClass::Slow), "{c:?}");
    assert!(c.detail.starts_with("HTTP 200 OK; slow: "), "{c:?}");
    assert!(c.detail.ends_with(" ms (max 500 ms)"), "{c:?}");
}

#[tokio::test]
async fn nginx_slower_than_the_timeout_is_timeout_by_the_deadline() {
    let nginx = Nginx::start();
    let s = spec(&nginx.http_url("/slow"));
    let timeout = Duration::from_millis(500);
    let t = Instant::now();
    let c = http::check("web", &s, timeout).await;
    assert!(t.elapsed() < timeout + MARGIN, "{:?}", t.elapsed());
    assert_down(&c, ErrorClass::Timeout);
    assert!(c.phases.connect.is_some(), "{c:?}");
}

#[tokio::test]
async fn nginx_head_has_no_body_to_read() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.http_url("/big.txt"));
    s.method = HttpMethod::Head;
    let (c, usage) = http::check_with_usage("web", &s, TIMEOUT).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 200 OK");
    assert_eq!(usage.peak_buffered, 0);
    assert!(usage.bytes_read < 4096, "{usage:?}");
    let log = nginx.access_log_when(|l| l.contains("/big.txt"));
    assert!(log.contains("\"HEAD /big.txt HTTP/1.1\" 200"), "{log}");
}

#[tokio::test]
async fn nginx_large_body_is_read_up_to_one_mebibyte_only() {
    let nginx = Nginx::start();
    let mut s = spec(&nginx.http_url("/big.txt"));
    s.expect_body = Some(BIG_TAIL.to_owned());
    let (c, usage) = http::check_with_usage("web", &s, TIMEOUT).await;
    assert_down(&c, ErrorClass::Content);
    assert_eq!(
        c.detail,
        format!("'{BIG_TAIL}' not found in the first {MAX_BODY} bytes of the body")
    );
    assert_eq!(usage.peak_buffered, MAX_BODY);
    // The rest of the 3 MiB was never fetched: at most one more read buffer.
    assert!(
        usage.bytes_read <= (MAX_BODY + 2 * MAX_HEAD) as u64,
        "{usage:?}"
    );
    // What is inside the first MiB is found.
    s.expect_body = Some(BIG_HEAD.to_owned());
    assert_up(&run(&s).await);
}

#[tokio::test]
async fn nginx_killed_is_refused() {
    let mut nginx = Nginx::start();
    let s = spec(&nginx.http_url("/health"));
    assert_up(&run(&s).await);
    nginx.daemon.kill();
    wait_closed(nginx.http);
    let c = run(&s).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(c.detail.contains("refused"), "{c:?}");
}

#[tokio::test]
async fn nginx_frozen_is_timeout_by_the_deadline() {
    let nginx = Nginx::start();
    let s = spec(&nginx.https_url("/health"));
    nginx.daemon.freeze();
    let timeout = Duration::from_secs(1);
    let t = Instant::now();
    let c = http::check("web", &s, timeout).await;
    assert!(t.elapsed() < timeout + MARGIN, "{:?}", t.elapsed());
    assert_down(&c, ErrorClass::Timeout);
    // The kernel completed the handshake from the backlog; TLS got no answer.
    assert!(c.phases.connect.is_some(), "{c:?}");
    assert_eq!(c.detail, "no TLS handshake before the deadline");
}

// ---- in-process hostile peers ------------------------------------------------

/// A listener on 127.0.0.1 whose every connection is handed to `serve`.
async fn peer<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

/// Reads the request head (up to 16 KiB) so replies go to a client that has sent it.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

/// Holds a connection open without answering (until the client goes).
async fn hold(mut stream: TcpStream) {
    let mut buf = [0_u8; 1024];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

#[tokio::test]
async fn garbage_instead_of_http_is_protocol() {
    let addr = peer(|mut s| async move {
        read_request(&mut s).await;
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n").await;
        hold(s).await;
    })
    .await;
    let c = run(&spec(&url(addr, "/"))).await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(
        c.detail
            .starts_with("HTTP response: not an HTTP/1 response"),
        "{c:?}"
    );
}

#[tokio::test]
async fn endless_header_line_is_protocol_and_bounded() {
    let addr = peer(|mut s| async move {
        read_request(&mut s).await;
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Endless: ").await;
        let chunk = vec![b'a'; 64 * 1024];
        // 10 MB without a line end, as long as the client reads.
        for _ in 0..160 {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
        hold(s).await;
    })
    .await;
    let (c, usage) = http::check_with_usage("web", &spec(&url(addr, "/")), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert_eq!(c.detail, "HTTP response: head larger than 64 KiB");
    assert_eq!(usage.peak_buffered, 0);
    assert!(usage.bytes_read <= 2 * MAX_HEAD as u64, "{usage:?}");
}

#[tokio::test]
async fn stall_before_the_head_is_timeout_by_the_deadline() {
    let addr = peer(hold).await;
    let timeout = Duration::from_millis(800);
    let t = Instant::now();
    let c = http::check("web", &spec(&url(addr, "/")), timeout).await;
    assert!(t.elapsed() < timeout + MARGIN, "{:?}", t.elapsed());
    assert_down(&c, ErrorClass::Timeout);
    assert_eq!(c.detail, "no HTTP response head before the deadline");
    assert_eq!(c.phases.first_byte, None);
}

#[tokio::test]
async fn stall_mid_body_is_timeout_by_the_deadline() {
    let addr = peer(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")
            .await;
        hold(s).await;
    })
    .await;
    let timeout = Duration::from_millis(800);
    let t = Instant::now();
    let c = http::check("web", &spec(&url(addr, "/")), timeout).await;
    assert!(t.elapsed() < timeout + MARGIN, "{:?}", t.elapsed());
    assert_down(&c, ErrorClass::Timeout);
    assert_eq!(
        c.detail,
        "HTTP body stalled after 4 bytes until the deadline"
    );
    assert!(c.phases.first_byte.is_some(), "{c:?}");
}

#[tokio::test]
async fn reset_after_accept_is_refused() {
    let addr = peer(|s| async move {
        s.set_zero_linger().unwrap();
        drop(s);
    })
    .await;
    let c = run(&spec(&url(addr, "/"))).await;
    assert_down(&c, ErrorClass::Refused);
}

#[tokio::test]
async fn reset_mid_body_is_refused() {
    let addr = peer(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
            .await;
        s.set_zero_linger().unwrap();
        drop(s);
    })
    .await;
    let c = run(&spec(&url(addr, "/"))).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(c.detail.contains("connection"), "{c:?}");
}

#[tokio::test]
async fn close_before_the_body_is_complete_is_refused() {
    let addr = peer(|mut s| async move {
        read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
            .await;
    })
    .await;
    let c = run(&spec(&url(addr, "/"))).await;
    assert_down(&c, ErrorClass::Refused);
    assert_eq!(
        c.detail,
        "HTTP body: connection closed before the response was complete"
    );
}

#[tokio::test]
async fn expired_certificate_is_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_secs();
    let leaf_end = now - 3600;
    let (served, ca_file) = ca_chain(dir.path(), &["127.0.0.1"], now + 365 * DAY, leaf_end);
    let addr = tls_server(served).await;
    let mut s = spec(&format!("https://{addr}/"));
    s.ca_file = Some(ca_file);
    let c = run(&s).await;
    assert_down(&c, ErrorClass::Certificate);
    assert_eq!(
        c.detail,
        format!("certificate expired at {}", secs_to_millis(leaf_end))
    );
    assert_eq!(c.cert_not_after, Some(secs_to_millis(leaf_end)));
}

#[tokio::test]
async fn garbage_instead_of_server_hello_is_tls() {
    let addr = peer(|mut s| async move {
        let mut buf = [0_u8; 1024];
        let _ = s.read(&mut buf).await;
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        hold(s).await;
    })
    .await;
    let c = run(&spec(&format!("https://{addr}/"))).await;
    assert_down(&c, ErrorClass::Tls);
    assert!(c.detail.starts_with("TLS handshake failed"), "{c:?}");
}

#[tokio::test]
async fn redirect_across_scheme_and_port_is_followed() {
    let nginx = Nginx::start();
    let target = nginx.https_url("/health");
    let addr = peer(move |mut s| {
        let target = target.clone();
        async move {
            read_request(&mut s).await;
            let reply = format!(
                "HTTP/1.1 301 Moved Permanently\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    })
    .await;
    let mut s = spec(&url(addr, "/old"));
    s.ca_file = Some(nginx.ca());
    let c = run(&s).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 200 OK after 1 redirect");
    assert!(c.phases.tls.is_some(), "{c:?}");
    assert_eq!(c.cert_not_after, Some(leaf_not_after(&nginx)));
}

#[tokio::test]
async fn ipv6_literal_gets_a_bracketed_host_header_and_the_user_headers() {
    let listener = TcpListener::bind("[::1]:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let head = read_request(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
            .await;
        let _ = tx.send(String::from_utf8_lossy(&head).to_lowercase());
    });
    let mut s = spec(&format!("http://{addr}/p?q=1"));
    s.headers = vec![
        ("User-Agent".to_owned(), "custom/1".to_owned()),
        ("X-Token".to_owned(), "abc".to_owned()),
    ];
    s.expect_body = Some("OK".to_owned());
    let c = run(&s).await;
    assert_up(&c);
    let head = rx.await.unwrap();
    assert!(head.starts_with("get /p?q=1 http/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nhost: [::1]:{}\r\n", addr.port())),
        "{head}"
    );
    assert!(head.contains("\r\nuser-agent: custom/1\r\n"), "{head}");
    assert!(!head.contains("slawatch/"), "{head}");
    assert!(head.contains("\r\nx-token: abc\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
}

// ---- secret headers on redirects ---------------------------------------------

/// A peer that records each request head (lower-cased) and answers with `reply`.
async fn recording_peer(
    reply: String,
) -> (SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let addr = peer(move |mut s| {
        let reply = reply.clone();
        let tx = tx.clone();
        async move {
            let head = read_request(&mut s).await;
            let _ = tx.send(String::from_utf8_lossy(&head).to_lowercase());
            let _ = s.write_all(reply.as_bytes()).await;
        }
    })
    .await;
    (addr, rx)
}

#[tokio::test]
async fn a_secret_header_does_not_reach_a_second_host() {
    let (second, mut second_saw) =
        recording_peer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK".to_owned()).await;
    let (first, mut first_saw) = recording_peer(format!(
        "HTTP/1.1 302 Found\r\nLocation: http://{second}/landing\r\nContent-Length: 0\r\n\r\n"
    ))
    .await;
    let mut s = spec(&url(first, "/start"));
    s.headers = vec![
        ("Authorization".to_owned(), "Bearer inline-t0ken".to_owned()),
        ("Cookie".to_owned(), "sid=c00kie".to_owned()),
        ("X-Public".to_owned(), "hello".to_owned()),
    ];
    s.secret_headers = vec![(
        "X-Api-Key".to_owned(),
        slawatch::config::Secret::new("env-k3y".to_owned()),
    )];
    let c = run(&s).await;
    assert_up(&c);
    assert_eq!(c.detail, "HTTP 200 OK after 1 redirect");
    let one = first_saw.recv().await.unwrap();
    assert!(
        one.contains("\r\nauthorization: bearer inline-t0ken\r\n"),
        "{one}"
    );
    assert!(one.contains("\r\nx-api-key: env-k3y\r\n"), "{one}");
    assert!(one.contains("\r\ncookie: sid=c00kie\r\n"), "{one}");
    let two = second_saw.recv().await.unwrap();
    assert!(two.starts_with("get /landing "), "{two}");
    for secret in [
        "authorization",
        "inline-t0ken",
        "x-api-key",
        "env-k3y",
        "cookie",
    ] {
        assert!(
            !two.contains(secret),
            "{secret} reached the second host: {two}"
        );
    }
    assert!(two.contains("\r\nx-public: hello\r\n"), "{two}");
}

#[tokio::test]
async fn a_same_origin_redirect_keeps_the_secret_headers() {
    // One peer that redirects /a to /b on itself, then answers 200.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let addr = peer(move |mut s| {
        let tx = tx.clone();
        async move {
            let head = String::from_utf8_lossy(&read_request(&mut s).await).to_lowercase();
            let reply: &[u8] = if head.starts_with("get /a ") {
                b"HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            };
            let _ = tx.send(head);
            let _ = s.write_all(reply).await;
        }
    })
    .await;
    let mut s = spec(&url(addr, "/a"));
    s.secret_headers = vec![(
        "Authorization".to_owned(),
        slawatch::config::Secret::new("Bearer same".to_owned()),
    )];
    assert_up(&run(&s).await);
    for _ in 0..2 {
        let head = rx.recv().await.unwrap();
        assert!(
            head.contains("\r\nauthorization: bearer same\r\n"),
            "{head}"
        );
    }
}

#[tokio::test]
async fn an_https_to_http_redirect_is_refused_while_secrets_are_set() {
    use tokio_rustls::TlsAcceptor;
    let (plain, mut plain_saw) =
        recording_peer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_owned()).await;
    let acceptor = TlsAcceptor::from(crate::certs::server_config(crate::certs::self_signed(
        &["127.0.0.1"],
        now_secs() + DAY,
    )));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls_addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut buf = [0_u8; 4096];
                let _ = tls.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 301 Moved\r\nLocation: http://{plain}/\r\nContent-Length: 0\r\n\r\n"
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let mut s = spec(&format!("https://{tls_addr}/"));
    s.tls_verify = false;
    s.secret_headers = vec![(
        "Authorization".to_owned(),
        slawatch::config::Secret::new("Bearer t".to_owned()),
    )];
    let c = run(&s).await;
    assert_down(&c, ErrorClass::Status);
    assert!(
        c.detail.starts_with(&format!(
            "redirect from https to http 'http://{plain}/' refused"
        )),
        "{c:?}"
    );
    assert!(plain_saw.try_recv().is_err(), "the http host was contacted");
    // Without secrets the same downgrade is followed.
    s.secret_headers.clear();
    assert_up(&run(&s).await);
    assert!(plain_saw.recv().await.is_some());
}
