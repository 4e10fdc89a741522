//! Outage alerts: webhooks against an in-process HTTP server, e-mail through the
//! real Postfix (submission with STARTTLS + AUTH, and SMTPS) into Dovecot's Maildir;
//! the durable queue at daemon level (one DOWN and one UP mail, a server down at
//! alert time and a kill -9, `slawatch alerts` and `alerts test`, `verify`).

use crate::peers::dovecot::Dovecot;
use crate::peers::postfix::{Postfix, RECIPIENT};
use crate::util::{Daemon, email, mails, outage, wait_for_mail, webhook_receiver};
use slawatch::alert::Alerter;
use slawatch::config::{Alerts, EmailAlerts, Secret, Webhook};
use slawatch::outage::Event;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    let (url, mut rx) = webhook_receiver(2, "/hook").await;
    let alerter = Alerter::new(&hooks(url));
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    assert!(sent.iter().all(|d| d.result.is_ok()), "{sent:?}");
    let opened = rx.recv().await.unwrap();
    // Header names are case-insensitive: compare the block lowercased.
    let head = opened.head.to_lowercase();
    assert!(head.starts_with("post /hook http/1.1\r\n"), "{head}");
    assert!(
        head.contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nx-slawatch-token: t0ken-value\r\n"),
        "{head}"
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

    let sent = alerter
        .send_now(&Event::Closed(outage(Some(1_712_140_050_000))), "fra-1")
        .await;
    assert!(sent.iter().all(|d| d.result.is_ok()), "{sent:?}");
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
}

#[tokio::test]
async fn a_down_webhook_fails_naming_its_channel_without_secrets() {
    let _serial = SERIAL.lock().await;
    // A port nobody listens on; the path is the kind of token many webhooks carry.
    let addr = crate::peers::free_addr();
    let url = format!("http://{addr}/hooks/T0KEN-IN-PATH");
    let alerter = Alerter::new(&hooks(url));
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].channel, format!("webhook 1 (http://{addr})"));
    let why = sent[0].result.clone().unwrap_err();
    assert!(!why.contains("t0ken-value"), "a header value leaked: {why}");
    assert!(
        !why.contains("T0KEN-IN-PATH"),
        "the URL's path leaked: {why}"
    );
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
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    assert!(
        sent.len() == 1 && sent[0].result.is_ok(),
        "{sent:?}; postfix log:\n{}",
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
    let sent = alerter
        .send_now(&Event::Closed(outage(Some(1_712_140_050_000))), "fra-1")
        .await;
    assert!(
        sent.len() == 1 && sent[0].result.is_ok(),
        "{sent:?}; postfix log:\n{}",
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
    let daemon = Daemon::start(&cfg);
    let body = rx.recv_timeout(Duration::from_secs(30));
    drop(daemon);
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
async fn email_to_a_server_with_an_untrusted_certificate_fails_and_logs_no_password() {
    let _serial = SERIAL.lock().await;
    let logs = Logs::default();
    let _guard = logs.capture();
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let mut alerts = email(format!("smtps://127.0.0.1:{}", p.smtps.port()), &p, &d);
    alerts.email.as_mut().unwrap().ca_file = None;
    let alerter = Alerter::new(&alerts);
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0].channel,
        format!("email (127.0.0.1:{})", p.smtps.port())
    );
    let why = sent[0].result.clone().unwrap_err();
    assert!(!why.contains(&d.password), "the password leaked: {why}");
    let text = logs.text();
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

/// [`alerts_json`], or `None` while the daemon has not created the database yet.
fn alerts_now(cfg: &std::path::Path, args: &[&str]) -> Option<Vec<serde_json::Value>> {
    let out = std::process::Command::new(crate::util::slawatch_bin())
        .args(["alerts", "--json", "--config"])
        .arg(cfg)
        .args(args)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap())
}

/// `slawatch alerts --config CFG --json ARGS...`, parsed.
fn alerts_json(cfg: &std::path::Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = crate::util::slawatch()
        .args(["alerts", "--json", "--config"])
        .arg(cfg)
        .args(args)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice::<Vec<serde_json::Value>>(&out).unwrap()
}

/// Polls `f` every 200 ms until it gives a value; panics after `secs` with `context()`.
fn wait_until<T>(
    secs: u64,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {secs} s\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `Subject:` of every message in the test user's Maildir.
fn subjects(d: &Dovecot) -> Vec<String> {
    let mut out: Vec<String> = mails(d)
        .iter()
        .filter_map(|text| text.lines().find_map(|l| l.strip_prefix("Subject: ")))
        .map(|s| s.trim().to_owned())
        .collect();
    out.sort();
    out
}

/// A daemon configuration: one TCP probe of `victim` every second (DOWN after two
/// refused checks), alerts by e-mail through `smtp_url` of the test Postfix.
fn mail_daemon_config(
    dir: &std::path::Path,
    smtp_url: &str,
    p: &Postfix,
    d: &Dovecot,
    victim: std::net::SocketAddr,
    extra: &str,
) -> std::path::PathBuf {
    let pw = dir.join("smtp-password");
    std::fs::write(&pw, &d.password).unwrap();
    let cfg = dir.join("probes.toml");
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
digest_window = "0s"   # each alert at once: these tests are about delivery

[alerts.email]
smtp_url = "{smtp_url}"
username = "{user}"
password_file = "{pw}"
from = "slawatch <{RECIPIENT}>"
to = ["{RECIPIENT}"]
ca_file = "{ca}"
{extra}
"#,
            user = d.user,
            pw = pw.display(),
            ca = p.ca.display(),
        ),
    )
    .unwrap();
    cfg
}

/// Accepts and drops connections on `addr` from now on: the victim is up.
fn serve(addr: std::net::SocketAddr) {
    let l = std::net::TcpListener::bind(addr).unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            drop(s);
        }
    });
}

#[test]
fn an_outage_sends_exactly_one_down_and_one_up_mail_with_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let victim = crate::util::closed_addr();
    let url = format!("smtp://127.0.0.1:{}", p.submission.port());
    let cfg = mail_daemon_config(dir.path(), &url, &p, &d, victim, "");
    let daemon = Daemon::start(&cfg);
    let context = || {
        format!(
            "daemon log:\n{}\npostfix:\n{}",
            daemon.log_text(),
            p.log_text()
        )
    };
    let down = "[slawatch] DOWN victim (refused)";
    wait_until(
        30,
        "the DOWN mail",
        || subjects(&d).contains(&down.to_owned()).then_some(()),
        context,
    );
    // The victim recovers: the outage closes at the first success.
    serve(victim);
    let up = wait_until(
        30,
        "the UP mail",
        || {
            subjects(&d)
                .into_iter()
                .find(|s| s.starts_with("[slawatch] UP victim after "))
        },
        context,
    );
    // The duration in the subject is the stored outage's, truncated to the second
    // (the outage row is committed within a second of the mail being queued).
    let outages = wait_until(
        5,
        "the closed outage committed",
        || {
            let out = std::process::Command::new(crate::util::slawatch_bin())
                .args(["outages", "--json", "--config"])
                .arg(&cfg)
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            v[0]["duration_ms"].is_u64().then_some(v)
        },
        context,
    );
    assert_eq!(outages.as_array().unwrap().len(), 1, "{outages}");
    let ms = outages[0]["duration_ms"].as_u64().unwrap();
    assert_eq!(
        up,
        format!(
            "[slawatch] UP victim after {}",
            slawatch::config::format_duration(Duration::from_secs(ms / 1000))
        )
    );
    // A few more seconds of probing (up, then the queue idle): still one of each.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        subjects(&d),
        vec![down.to_owned(), up.clone()],
        "{}",
        context()
    );
    let listed = alerts_json(&cfg, &["--sent"]);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().all(|a| a["attempts"] == 1), "{listed:?}");
    assert_eq!(listed[0]["subject"], down);
    assert_eq!(listed[1]["subject"], up.as_str());
}

#[test]
fn an_alert_raised_while_smtp_is_down_is_delivered_after_it_returns_across_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    // Down: every Postfix process stopped; the kernel accepts, nothing answers.
    p.freeze();
    let victim = crate::util::closed_addr();
    let url = format!("smtps://127.0.0.1:{}", p.smtps.port());
    let cfg = mail_daemon_config(dir.path(), &url, &p, &d, victim, "");
    let first = Daemon::start(&cfg);
    let context = || first.log_text();
    // The DOWN alert is stored, and its first attempt failed (no answer in 30 s).
    let pending = wait_until(
        70,
        "a failed attempt of the DOWN alert",
        || {
            alerts_now(&cfg, &["--pending"])?
                .into_iter()
                .find(|a| a["attempts"].as_u64() >= Some(1))
        },
        context,
    );
    assert_eq!(
        pending["key"].as_str().unwrap().split(':').next(),
        Some("down")
    );
    assert_eq!(pending["state"], "pending");
    assert!(pending["last_error"].is_string(), "{pending}");
    assert!(
        !pending["last_error"]
            .as_str()
            .unwrap()
            .contains(&d.password),
        "{pending}"
    );
    drop(first); // kill -9
    assert!(subjects(&d).is_empty());
    p.thaw();
    let second = Daemon::start(&cfg);
    let context = || format!("{}\n{}", second.log_text(), p.log_text());
    wait_until(
        60,
        "the DOWN mail after the restart",
        || (!subjects(&d).is_empty()).then_some(()),
        context,
    );
    assert_eq!(subjects(&d), ["[slawatch] DOWN victim (refused)"]);
    let sent = wait_until(
        10,
        "the delivery recorded",
        || alerts_json(&cfg, &["--sent"]).into_iter().next(),
        context,
    );
    assert_eq!(sent["key"], pending["key"]);
    assert!(sent["attempts"].as_u64() >= Some(2), "{sent}");
    assert!(alerts_json(&cfg, &["--pending"]).is_empty());
}

#[test]
fn alerts_test_says_per_channel_what_happened_and_fails_if_one_did() {
    let dir = tempfile::tempdir().unwrap();
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let dead = crate::util::closed_addr();
    let url = format!("smtp://127.0.0.1:{}", p.submission.port());
    let cfg = mail_daemon_config(
        dir.path(),
        &url,
        &p,
        &d,
        dead,
        &format!("[[alerts.webhook]]\nurl = \"http://{dead}/hook/T0KEN\"\n"),
    );
    let out = crate::util::slawatch()
        .args(["alerts", "test", "--config"])
        .arg(&cfg)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    let email_line = format!("email (127.0.0.1:{}): delivered in ", p.submission.port());
    assert!(text.contains(&email_line), "{text}");
    assert!(
        text.contains(&format!("webhook 1 (http://{dead}): FAILED after ")),
        "{text}"
    );
    assert!(text.contains("1 of 2 channel(s) failed"), "{text}");
    assert!(
        !text.contains("T0KEN") && !text.contains(&d.password),
        "{text}"
    );
    // The test mail arrived; nothing was queued or stored.
    wait_until(
        30,
        "the test mail",
        || {
            subjects(&d)
                .into_iter()
                .find(|s| s.starts_with("[slawatch]") && s.to_lowercase().contains("test"))
        },
        || p.log_text(),
    );
    assert!(!dir.path().join("evidence.db").exists());

    // No channel at all: bad input, saying what to add.
    let bare = dir.path().join("bare.toml");
    std::fs::write(
        &bare,
        format!("[daemon]\ndatabase = \"x.db\"\n\n[[tcp]]\nname = \"v\"\ntarget = \"{dead}\"\n"),
    )
    .unwrap();
    let out = crate::util::slawatch()
        .args(["alerts", "test", "--config"])
        .arg(&bare)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("add [alerts.email] or [[alerts.webhook]]"),
        "{err}"
    );
}

#[test]
fn alerts_lists_sent_and_pending_per_channel_and_verify_finds_an_edited_alert() {
    let dir = tempfile::tempdir().unwrap();
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_addr = hook.local_addr().unwrap();
    std::thread::spawn(move || {
        loop {
            let _ = read_one_post(&hook);
        }
    });
    let dead = crate::util::closed_addr();
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
digest_window = "0s"   # each alert at once: these tests are about delivery

[[alerts.webhook]]
url = "http://{hook_addr}/hook"

[[alerts.webhook]]
url = "http://{dead}/hook"
"#
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&cfg);
    let context = || daemon.log_text();
    let (sent, pending) = wait_until(
        30,
        "one alert sent and one pending with an error",
        || {
            let sent = alerts_now(&cfg, &["--sent"])?;
            let pending = alerts_now(&cfg, &["--pending"])?;
            (sent.len() == 1 && pending.len() == 1 && pending[0]["attempts"] == 1)
                .then_some((sent, pending))
        },
        context,
    );
    drop(daemon);
    assert_eq!(
        sent[0]["channel"],
        format!("webhook 1 (http://{hook_addr})")
    );
    assert_eq!(sent[0]["event"], "outage_opened");
    assert!(sent[0]["sent_at"].is_string(), "{sent:?}");
    assert_eq!(pending[0]["channel"], format!("webhook 2 (http://{dead})"));
    assert_eq!(pending[0]["key"], sent[0]["key"]);
    assert_eq!(pending[0]["sent_at"], serde_json::Value::Null);
    assert!(pending[0]["last_error"].is_string(), "{pending:?}");
    assert!(alerts_json(&cfg, &["--failed"]).is_empty());
    assert_eq!(alerts_json(&cfg, &[]).len(), 2);
    assert!(alerts_json(&cfg, &["--since", "2999-01-01"]).is_empty());
    let table = crate::util::slawatch()
        .args(["alerts", "--config"])
        .arg(&cfg)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(table.starts_with("RAISED"), "{table}");
    assert!(
        table.contains(" sent ") && table.contains(" pending "),
        "{table}"
    );

    // An alert is evidence: an edit after the fact is caught by `verify`.
    let db = dir.path().join("evidence.db");
    crate::util::slawatch()
        .args(["verify", "--database"])
        .arg(&db)
        .assert()
        .code(0);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP TRIGGER alerts_append_only_update;
             UPDATE alerts SET raised_at = raised_at + 3600000;",
        )
        .unwrap();
    let out = crate::util::slawatch()
        .args(["verify", "--database"])
        .arg(&db)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let out = String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap();
    assert!(out.starts_with("FAILED"), "{out}");
    assert!(out.contains("alerts row 1 (key down:victim:"), "{out}");
    assert!(out.contains("was altered after it was sealed"), "{out}");
}

#[test]
fn alerts_help_teaches_the_queue_and_the_test() {
    let help = |args: &[&str]| {
        let out = crate::util::slawatch()
            .args(args)
            .arg("--help")
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let list = help(&["alerts"]);
    for needle in [
        "slawatch alerts --pending",
        "--failed",
        "--since",
        "10 s, then 20 s, 40 s ... up to every hour",
        "3 days",
        "test",
    ] {
        assert!(list.contains(needle), "{needle:?} missing from\n{list}");
    }
    let test = help(&["alerts", "test"]);
    for needle in [
        "every configured channel",
        "Exit status 1 if any failed",
        "nothing is stored",
    ] {
        assert!(test.contains(needle), "{needle:?} missing from\n{test}");
    }
}
