//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// `tests/fixtures/...`
pub(crate) fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The `slawatch` binary under test.
pub(crate) fn slawatch() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("slawatch").expect("the slawatch binary is built")
}

/// The path of the `slawatch` binary under test, for processes the test manages itself.
pub(crate) fn slawatch_bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("slawatch")
}

/// A loopback address nothing listens on (bound, then released): connections are refused.
pub(crate) fn closed_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Runs `slawatch ARGS... FILE`, asserts the exit code and returns standard output.
pub(crate) fn stdout_of(args: &[&str], file: &std::path::Path, code: i32) -> String {
    let out = slawatch()
        .args(args)
        .arg(file)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// A file of the repository, by its path from the root.
pub(crate) fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The outage of `shop-site` the alert tests send: opened by three timeouts,
/// closed at `end` (ms) if given.
pub(crate) fn outage(end: Option<i64>) -> slawatch::outage::Outage {
    use slawatch::model::{ErrorClass, UtcMillis};
    slawatch::outage::Outage {
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

/// Every message in the Dovecot test user's Maildir (`new` and `cur`), whole.
pub(crate) fn mails(d: &crate::peers::dovecot::Dovecot) -> Vec<String> {
    let maildir = d.path().join("mail").join(&d.user);
    ["new", "cur"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(maildir.join(sub)).into_iter().flatten())
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
        .collect()
}

/// Waits (up to 30 s) for a message with `subject` in the Dovecot test user's Maildir
/// and returns it whole.
pub(crate) fn wait_for_mail(d: &crate::peers::dovecot::Dovecot, subject: &str) -> String {
    use std::time::{Duration, Instant};
    let maildir = d.path().join("mail").join(&d.user);
    let deadline = Instant::now() + Duration::from_secs(30);
    let wanted = format!("Subject: {subject}");
    loop {
        if let Some(text) = mails(d).into_iter().find(|t| t.contains(&wanted)) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no message with subject {subject:?} in {} after 30 s; Dovecot's log:\n{}",
            maildir.display(),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `slawatch run --config CFG`, its output appended to `daemon.log` beside CFG;
/// killed with SIGKILL (as `kill -9`) when dropped.
pub(crate) struct Daemon {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Daemon {
    pub(crate) fn start(cfg: &std::path::Path) -> Daemon {
        let log = cfg.with_file_name("daemon.log");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = std::process::Command::new(crate::util::slawatch_bin())
            .args(["run", "--config"])
            .arg(cfg)
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // `Child::kill` is SIGKILL: nothing is flushed, nothing is sealed on the way out.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request as received: the raw header block and the body's exact bytes.
pub(crate) struct Request {
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Request {
    /// The value of header `name` (case-insensitive), as sent.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// A loopback webhook receiver at `http://127.0.0.1:PORT{path}`: answers `count`
/// requests with 200 and hands each over, its header block as sent.
pub(crate) async fn webhook_receiver(
    count: usize,
    path: &str,
) -> (String, tokio::sync::mpsc::Receiver<Request>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::channel(16);
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
            let head = String::from_utf8_lossy(&buf[..split]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
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

/// Alerts by e-mail only, through `url` of the test Postfix `p` as Dovecot `d`'s
/// user, trusting the test CA, to the test mailbox.
pub(crate) fn email(
    url: String,
    p: &crate::peers::postfix::Postfix,
    d: &crate::peers::dovecot::Dovecot,
) -> slawatch::config::Alerts {
    use crate::peers::postfix::RECIPIENT;
    use slawatch::config::{Alerts, EmailAlerts, Secret};
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
