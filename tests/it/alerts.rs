//! Outage alerts: webhooks against an in-process HTTP server, e-mail through the
//! real Postfix (submission with STARTTLS + AUTH, and SMTPS) into Dovecot's Maildir.

use crate::peers::dovecot::Dovecot;
use crate::peers::postfix::{Postfix, RECIPIENT};
use slawatch::alert::{Alerter, MAX_IN_FLIGHT};
use slawatch::config::{Alerts, EmailAlerts, Secret, Webhook};
use slawatch::model::{ErrorClass, UtcMillis};
use slawatch::outage::{Event, Outage};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn outage(end: Option<i64>) -> Outage {
    Outage {
        probe: "shop-site".into(),
        start: UtcMillis(1_712_139_330_000),
        end: end.map(UtcMillis),
        last_failure: UtcMillis(1_712_139_390_000),
        last_success_before: Some(UtcMillis(1_712_139_300_000)),
        class: ErrorClass::Timeout,
        detail: "no answer in 10s".into(),
        failed_checks: 3,
    }
}

fn hooks(url: String) -> Alerts {
    Alerts {
        lang: None,
        email: None,
        webhooks: vec![Webhook {
            url: Secret::new(url),
            secret: None,
            headers: vec![("X-Slawatch-Token".into(), "t0ken-value".into())],
            timeout: Duration::from_secs(10),
        }],
    }
}

/// One received request: lowercase header lines and the body.
struct Request {
    head: String,
    body: String,
}

/// Answers `count` requests with 200 and hands each over.
async fn http_server(count: usize) -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        for _ in 0..count {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let split = loop {
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed before the headers ended");
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..split]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .expect("a content-length");
            while buf.len() < split + len {
                let n = sock.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed inside the body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8(buf[split..split + len].to_vec()).unwrap();
            sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
            tx.send(Request { head, body }).await.unwrap();
        }
    });
    (url, rx)
}

/// Log lines written while the guard lives (current-thread runtime: the spawned
/// sends run on this thread and see the default subscriber).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

/// The alert tests run one at a time: two of them capture the log with a
/// thread-local subscriber, and tracing caches per callsite whether anyone listens,
/// so a send logging on another test's thread at the same moment can hide the line
/// a capturing test waits for.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let me = self.clone();
        let sub = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || me.clone())
            .finish();
        let guard = tracing::subscriber::set_default(sub);
        // A callsite first hit on another thread may have cached "no one listens".
        tracing::callsite::rebuild_interest_cache();
        guard
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn webhook_posts_the_exact_json_with_the_custom_header() {
    let _serial = SERIAL.lock().await;
    let (url, mut rx) = http_server(2).await;
    let alerter = Alerter::new(&hooks(url));
    alerter.notify(&Event::Opened(outage(None)), "fra-1");
    let opened = rx.recv().await.unwrap();
    assert!(
        opened.head.starts_with("post /hook http/1.1\r\n"),
        "{}",
        opened.head
    );
    assert!(
        opened
            .head
            .contains("\r\ncontent-type: application/json\r\n"),
        "{}",
        opened.head
    );
    assert!(
        opened
            .head
            .contains("\r\nx-slawatch-token: t0ken-value\r\n"),
        "{}",
        opened.head
    );
    let json: serde_json::Value = serde_json::from_str(&opened.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "event": "outage_opened",
            "key": "down:shop-site:1712139330000",
            "probe": "shop-site",
            "start": "2024-04-03T10:15:30.000Z",
            "end": null,
            "duration_ms": null,
            "proven_ms": 60_000,
            "uncertainty_ms": 30_000,
            "last_success_before": "2024-04-03T10:15:00.000Z",
            "failed_checks": 3,
            "class": "timeout",
            "detail": "no answer in 10s",
            "vantage": "fra-1",
        })
    );

    alerter.notify(&Event::Closed(outage(Some(1_712_140_050_000))), "fra-1");
    let closed = rx.recv().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&closed.body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "event": "outage_closed",
            "key": "up:shop-site:1712139330000",
            "probe": "shop-site",
            "start": "2024-04-03T10:15:30.000Z",
            "end": "2024-04-03T10:27:30.000Z",
            "duration_ms": 720_000,
            "proven_ms": 60_000,
            "uncertainty_ms": 30_000,
            "last_success_before": "2024-04-03T10:15:00.000Z",
            "failed_checks": 3,
            "class": "timeout",
            "detail": "no answer in 10s",
            "vantage": "fra-1",
        })
    );
    alerter.idle().await;
    assert_eq!((alerter.failed(), alerter.dropped()), (0, 0));
}

#[tokio::test]
async fn a_hanging_webhook_does_not_block_and_the_bound_drops_the_excess() {
    let _serial = SERIAL.lock().await;
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            h.lock().unwrap().push(sock);
        }
    });
    let alerter = Alerter::new(&hooks(url));
    for _ in 0..MAX_IN_FLIGHT {
        alerter.notify(&Event::Opened(outage(None)), "fra-1");
    }
    // Every notify returned while its send is still running.
    assert_eq!(alerter.in_flight(), MAX_IN_FLIGHT);
    assert_eq!(alerter.dropped(), 0);
    alerter.notify(&Event::Opened(outage(None)), "fra-1");
    assert_eq!(alerter.dropped(), 1, "the send over the bound is dropped");
    assert_eq!(alerter.in_flight(), MAX_IN_FLIGHT);
}

#[tokio::test]
async fn a_down_webhook_is_retried_once_then_logged_without_secrets() {
    let _serial = SERIAL.lock().await;
    let logs = Logs::default();
    let _guard = logs.capture();
    // A port nobody listens on; the path is the kind of token many webhooks carry.
    let addr = crate::peers::free_addr();
    let url = format!("http://{addr}/hooks/T0KEN-IN-PATH");
    let alerter = Alerter::new(&hooks(url));
    alerter.notify(&Event::Opened(outage(None)), "fra-1");
    alerter.idle().await;
    assert_eq!(alerter.failed(), 1);
    let text = logs.text();
    assert!(
        text.contains("webhook alert not delivered (tried twice)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("webhook 1 (http://{addr})")),
        "the log names the target: {text}"
    );
    assert!(
        !text.contains("t0ken-value"),
        "a header value leaked: {text}"
    );
    assert!(
        !text.contains("T0KEN-IN-PATH"),
        "the URL's path leaked: {text}"
    );
}

/// Waits for a message with `subject` in the test user's Maildir.
fn wait_for_mail(d: &Dovecot, subject: &str) -> String {
    let maildir = d.path().join("mail").join(&d.user);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for sub in ["new", "cur"] {
            for f in std::fs::read_dir(maildir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
            {
                let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                if text.contains(&format!("Subject: {subject}")) {
                    return text;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no message with subject {subject:?} in {} after 30 s; postfix log:\n{}",
            maildir.display(),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn email(url: String, p: &Postfix, d: &Dovecot) -> Alerts {
    Alerts {
        lang: None,
        email: Some(EmailAlerts {
            smtp_url: url,
            username: Some(d.user.clone()),
            password: Some(Secret::new(d.password.clone())),
            from: format!("slawatch <{RECIPIENT}>"),
            to: vec![RECIPIENT.to_owned()],
            ca_file: Some(p.ca.clone()),
        }),
        webhooks: Vec::new(),
    }
}

#[tokio::test]
async fn email_alert_through_submission_starttls_with_auth_arrives() {
    let _serial = SERIAL.lock().await;
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let alerter = Alerter::new(&email(
        format!("smtp://127.0.0.1:{}", p.submission.port()),
        &p,
        &d,
    ));
    alerter.notify(&Event::Opened(outage(None)), "fra-1");
    alerter.idle().await;
    assert_eq!(
        alerter.failed(),
        0,
        "postfix log:\n{}",
        std::fs::read_to_string(&p.log).unwrap_or_default()
    );
    let mail = wait_for_mail(&d, "[slawatch] DOWN shop-site (timeout)");
    assert!(mail.contains("event: outage_opened"), "{mail}");
    assert!(mail.contains("vantage: fra-1"), "{mail}");
}

#[tokio::test]
async fn email_alert_through_smtps_arrives() {
    let _serial = SERIAL.lock().await;
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let alerter = Alerter::new(&email(
        format!("smtps://127.0.0.1:{}", p.smtps.port()),
        &p,
        &d,
    ));
    alerter.notify(&Event::Closed(outage(Some(1_712_140_050_000))), "fra-1");
    alerter.idle().await;
    assert_eq!(
        alerter.failed(),
        0,
        "postfix log:\n{}",
        std::fs::read_to_string(&p.log).unwrap_or_default()
    );
    let mail = wait_for_mail(&d, "[slawatch] UP shop-site after 12m");
    assert!(mail.contains("duration_ms: 720000"), "{mail}");
}

/// Reads one HTTP request on a std listener, answers 200, returns its body.
fn read_one_post(listener: &std::net::TcpListener) -> String {
    use std::io::Read;
    let (mut sock, _) = listener.accept().unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed mid-request");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= i + 4 + len {
                sock.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .unwrap();
                return String::from_utf8(buf[i + 4..i + 4 + len].to_vec()).unwrap();
            }
        }
    }
}

#[test]
fn the_daemon_posts_outage_opened_when_a_refused_probe_is_confirmed_down() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = hook.local_addr().unwrap();
    let victim = crate::util::closed_addr();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[daemon]
database = "evidence.db"
vantage = "test-vantage"
interval = "1s"
retry_interval = "1s"
timeout = "1s"
confirm_down = 2

[[tcp]]
name = "victim"
target = "{victim}"

[alerts]
# Sent at once, not held for a digest (the default holds it 30 s).
digest_window = "0s"

[[alerts.webhook]]
url = "http://{hook_addr}/hook"
"#
        ),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(read_one_post(&hook));
    });
    let out = std::fs::File::create(&log).unwrap();
    let mut daemon = std::process::Command::new(crate::util::slawatch_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let body = rx.recv_timeout(Duration::from_secs(30));
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let body = body.unwrap_or_else(|_| {
        panic!(
            "no webhook within 30 s; daemon log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["event"], "outage_opened", "{json}");
    assert_eq!(json["probe"], "victim", "{json}");
    assert_eq!(json["class"], "refused", "{json}");
    assert_eq!(json["vantage"], "test-vantage", "{json}");
    assert_eq!(json["end"], serde_json::Value::Null, "{json}");
}

#[tokio::test]
async fn a_failing_webhook_is_tried_exactly_twice() {
    let _serial = SERIAL.lock().await;
    // Accepts and closes at once: every attempt fails, each is one connection.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let attempts = Arc::new(Mutex::new(0u32));
    let a = attempts.clone();
    tokio::spawn(async move {
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            *a.lock().unwrap() += 1;
            drop(sock);
        }
    });
    let alerter = Alerter::new(&hooks(url));
    alerter.notify(&Event::Opened(outage(None)), "fra-1");
    alerter.idle().await;
    assert_eq!(alerter.failed(), 1);
    assert_eq!(*attempts.lock().unwrap(), 2, "one try and one retry");
}

#[tokio::test]
async fn email_to_a_server_with_an_untrusted_certificate_fails_and_logs_no_password() {
    let _serial = SERIAL.lock().await;
    let logs = Logs::default();
    let _guard = logs.capture();
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let mut alerts = email(format!("smtps://127.0.0.1:{}", p.smtps.port()), &p, &d);
    alerts.email.as_mut().unwrap().ca_file = None;
    let alerter = Alerter::new(&alerts);
    alerter.notify(&Event::Opened(outage(None)), "fra-1");
    alerter.idle().await;
    assert_eq!(
        alerter.failed(),
        1,
        "the test CA is not trusted without ca_file"
    );
    let text = logs.text();
    assert!(
        text.contains(&format!("smtp=127.0.0.1:{}", p.smtps.port())),
        "{text}"
    );
    assert!(
        text.contains("e-mail alert not delivered (tried twice)"),
        "{text}"
    );
    assert!(!text.contains(&d.password), "the password leaked: {text}");
}

#[tokio::test]
async fn an_smtp_url_with_a_password_is_logged_by_its_origin_only() {
    let _serial = SERIAL.lock().await;
    let logs = Logs::default();
    let _guard = logs.capture();
    let alerts = Alerts {
        lang: None,
        email: Some(EmailAlerts {
            smtp_url: "smtps://alerts:PL4NTED-pw@127.0.0.1:1/PATH-T0K?q=QUERY-T0K".into(),
            username: None,
            password: None,
            from: "not an address".into(),
            to: vec![RECIPIENT.into()],
            ca_file: None,
        }),
        webhooks: Vec::new(),
    };
    let _alerter = Alerter::new(&alerts);
    let text = logs.text();
    assert!(text.contains("e-mail alerts disabled"), "{text}");
    assert!(text.contains("smtps://127.0.0.1:1"), "{text}");
    for planted in ["PL4NTED-pw", "alerts:", "PATH-T0K", "QUERY-T0K"] {
        assert!(!text.contains(planted), "{planted} leaked: {text}");
    }
}
