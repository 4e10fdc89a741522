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
        email: None,
        webhooks: vec![Webhook {
            url,
            headers: vec![("X-Slawatch-Token".into(), "t0ken-value".into())],
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
        tracing::subscriber::set_default(sub)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn webhook_posts_the_exact_json_with_the_custom_header() {
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
            "probe": "shop-site",
            "start": "2024-04-03T10:15:30.000Z",
            "end": null,
            "duration_ms": null,
            "proven_ms": 60_000,
            "uncertainty_ms": 30_000,
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
            "probe": "shop-site",
            "start": "2024-04-03T10:15:30.000Z",
            "end": "2024-04-03T10:27:30.000Z",
            "duration_ms": 720_000,
            "proven_ms": 60_000,
            "uncertainty_ms": 30_000,
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
    let logs = Logs::default();
    let _guard = logs.capture();
    // A port nobody listens on.
    let url = format!("http://{}/hook", crate::peers::free_addr());
    let alerter = Alerter::new(&hooks(url.clone()));
    alerter.notify(&Event::Opened(outage(None)), "fra-1");
    alerter.idle().await;
    assert_eq!(alerter.failed(), 1);
    let text = logs.text();
    assert!(
        text.contains("webhook alert not delivered (tried twice)"),
        "{text}"
    );
    assert!(text.contains(&url), "the log names the target: {text}");
    assert!(
        !text.contains("t0ken-value"),
        "a header value leaked: {text}"
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
