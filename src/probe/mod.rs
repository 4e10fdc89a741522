//! Probes: the code that checks one service and turns the outcome into a
//! [`Check`].
//!
//! [`wire`] interprets what mail servers send (SMTP, IMAP, POP3) as pure functions,
//! so the probes that speak those protocols over the network only move bytes.
//! [`tls`] is the TLS client step every probe shares: it records the certificate
//! verdict instead of aborting on it, and the earliest `notAfter` of the chain.
//! [`tcp`] is the TCP probe (connect, optional TLS). [`http`] is the HTTP(S) probe:
//! its own connection per check ([`net::connect`], [`tls::handshake`]) under hyper's
//! connection-level HTTP/1.1 client, so every phase is timed and classified.
//! [`dns`] is the DNS probe: one query, sent by hand over UDP or TCP, and a verdict on
//! the raw response's rcode and answer records.
//! [`imap`] and [`pop3`] check a mailbox server (greeting, STARTTLS/STLS, optional
//! login, EXAMINE or STAT) over a [`conn::LineConn`], sharing their connection
//! steps in the private `mail` module. [`smtp`] is the SMTP probe (banner, EHLO,
//! STARTTLS, AUTH, QUIT; it never sends a message); [`mailflow`] sends a tagged
//! message through an SMTP probe's server and finds it (then deletes it) through an
//! IMAP probe's mailbox.

pub mod conn;
pub mod dns;
pub mod http;
pub mod imap;
mod mail;
pub mod mailflow;
pub mod net;
pub mod pop3;
pub mod smtp;
pub mod tcp;
pub mod tls;
pub mod wire;

use crate::config::{Config, ControlTarget, Probe, ProbeSpec};
use crate::model::Check;
use crate::scheduler::{BoxFuture, Runner};
use std::sync::Arc;
use std::time::Duration;

/// Runs one check of `probe` now, with its own timeout. A `[[mailflow]]` probe
/// looks up the `[[smtp]]` and `[[imap]]` probes it names in `config`, and may run
/// up to [`mailflow::budget`] (`max_delivery` plus twice the timeout).
pub async fn run(config: &Config, probe: &Probe) -> Check {
    let name = probe.name.as_str();
    let timeout = probe.schedule.timeout;
    match &probe.spec {
        ProbeSpec::Http(s) => http::check(name, s, timeout).await,
        ProbeSpec::Dns(s) => dns::check(name, s, timeout).await,
        ProbeSpec::Tcp(s) => tcp::check(name, s, timeout).await,
        ProbeSpec::Imap(s) => imap::check(name, s, timeout).await,
        ProbeSpec::Pop3(s) => pop3::check(name, s, timeout).await,
        ProbeSpec::Smtp(s) => smtp::check(name, s, timeout).await,
        ProbeSpec::Mailflow(s) => {
            let smtp = config.probe(&s.smtp).and_then(|p| match &p.spec {
                ProbeSpec::Smtp(x) => Some(x),
                _ => None,
            });
            let imap = config.probe(&s.imap).and_then(|p| match &p.spec {
                ProbeSpec::Imap(x) => Some(x),
                _ => None,
            });
            match (smtp, imap) {
                (Some(smtp), Some(imap)) => mailflow::check(name, s, smtp, imap, timeout).await,
                // The configuration check makes this unreachable for a loaded config.
                _ => net::Run::begin(timeout).finish(
                    name,
                    Err(net::Failure::new(
                        crate::model::ErrorClass::Unknown,
                        format!(
                            "mailflow needs the [[smtp]] probe '{}' and the [[imap]] probe '{}'",
                            s.smtp, s.imap
                        ),
                    )),
                ),
            }
        }
    }
}

/// Whether a `[[control]]` target answers: a TCP connect, or any HTTP response.
pub async fn control(target: &ControlTarget, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut phases = crate::model::Phases::default();
    match target {
        ControlTarget::Tcp { host, port } => net::connect(host, *port, deadline, &mut phases)
            .await
            .is_ok(),
        ControlTarget::Http(url) => http_answers(url, timeout).await,
    }
}

/// Whether `url` gives any HTTP response (redirects not followed, no pooling).
async fn http_answers(url: &str, timeout: Duration) -> bool {
    // No proxy: a control target is reached directly, as the probes reach services.
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .pool_max_idle_per_host(0)
        .build()
    else {
        return false;
    };
    client.get(url).send().await.is_ok()
}

/// How long an answer to "is this machine on line?" stands. When a provider's outage
/// fails hundreds of probes at once, each failed check asks; within this window they
/// share one round of control checks instead of each starting its own.
pub const ONLINE_FRESH: Duration = Duration::from_secs(1);

/// The real probes behind the scheduler.
#[derive(Debug)]
struct LiveRunner {
    config: Arc<Config>,
    /// The last answer about the control targets and when it was learnt. The lock is
    /// held while a round runs, so callers arriving meanwhile wait for its answer.
    online: Arc<tokio::sync::Mutex<Option<(tokio::time::Instant, bool)>>>,
}

impl Runner for LiveRunner {
    fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check> {
        let config = self.config.clone();
        Box::pin(async move { run(&config, &probe).await })
    }

    fn online(&self) -> BoxFuture<'static, bool> {
        let controls = self.config.controls.clone();
        let last = self.online.clone();
        Box::pin(async move {
            if controls.is_empty() {
                return true;
            }
            let mut last = last.lock().await;
            if let Some((at, answer)) = *last
                && at.elapsed() < ONLINE_FRESH
            {
                return answer;
            }
            let answer = any_control_answers(controls).await;
            *last = Some((tokio::time::Instant::now(), answer));
            answer
        })
    }
}

/// Whether any of `controls` answers; they are tried together.
async fn any_control_answers(controls: Vec<crate::config::Control>) -> bool {
    let mut set = tokio::task::JoinSet::new();
    for c in controls {
        set.spawn(async move { control(&c.target, c.timeout).await });
    }
    while let Some(r) = set.join_next().await {
        if r.unwrap_or(false) {
            return true;
        }
    }
    false
}

/// The runner the daemon uses: every probe kind, and the `[[control]]` targets.
pub fn live_runner(config: Arc<Config>) -> Arc<dyn Runner> {
    Arc::new(LiveRunner {
        config,
        online: Arc::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Many failed checks asking at once share one round of control checks.
    #[tokio::test]
    async fn concurrent_online_questions_share_one_round() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let a = accepted.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        let text = format!("[[control]]\nname = \"c\"\ntcp = \"{addr}\"\n");
        let config =
            crate::config::parse_str(&text, std::path::Path::new("probes.toml"), &|_| None)
                .unwrap();
        let runner = live_runner(Arc::new(config));
        let answers = futures_join_all((0..20).map(|_| runner.online()).collect::<Vec<_>>()).await;
        assert!(answers.iter().all(|a| *a));
        // Give the listener task a moment to count what arrived.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    async fn futures_join_all(futs: Vec<BoxFuture<'static, bool>>) -> Vec<bool> {
        let mut set = tokio::task::JoinSet::new();
        for f in futs {
            set.spawn(f);
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    }
}
