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
//!
//! This root holds what every probe shares: a check in progress ([`Run`]), the
//! outcome of its steps ([`Outcome`]: [`Up`] or [`Failure`]), the dispatch of one
//! probe to its module ([`run`]) and the `[[control]]` check ([`control`]). The
//! scheduler's live runner calls these; nothing here imports the scheduler.

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
pub(crate) mod tls;
pub mod wire;

use crate::config::{Config, ControlTarget, Probe, ProbeSpec};
use crate::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use std::time::Duration;
use tokio::time::Instant;

/// A failed step: the class and a short detail, ready to go into a `Check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    /// How it failed.
    pub class: ErrorClass,
    /// A short human-readable detail.
    pub detail: String,
    /// The earliest `notAfter` of the peer's chain, when the peer sent one before failing
    /// (a rejected certificate is still evidence of when it expired).
    pub cert_not_after: Option<UtcMillis>,
}

impl Failure {
    /// A failure of `class` with `detail`.
    pub(crate) fn new(class: ErrorClass, detail: impl Into<String>) -> Self {
        Failure {
            class,
            detail: detail.into(),
            cert_not_after: None,
        }
    }
}

/// What an `up` check reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Up {
    /// A short human detail ("HTTP 200", "IMAP ok, INBOX 3 messages").
    pub detail: String,
    /// `Some(Slow)` for an up check slower than its limit; otherwise `None`.
    pub flag: Option<ErrorClass>,
    /// The earliest `notAfter` of the peer's chain, when TLS was used.
    pub cert_not_after: Option<UtcMillis>,
}

impl Up {
    /// An up outcome with only a detail.
    pub(crate) fn new(detail: impl Into<String>) -> Self {
        Up {
            detail: detail.into(),
            ..Up::default()
        }
    }
}

/// The outcome of a probe's steps.
pub(crate) type Outcome = Result<Up, Failure>;

/// One check in progress: when it started, its deadline, and the phases timed so far.
#[derive(Debug)]
pub(crate) struct Run {
    /// Wall-clock start, stored with the check.
    pub started_at: UtcMillis,
    /// Monotonic start.
    pub start: Instant,
    /// No step waits past this.
    pub deadline: Instant,
    /// The whole check's budget.
    pub timeout: Duration,
    /// Phase timings, filled in by the steps.
    pub phases: Phases,
}

impl Run {
    /// Starts a check with `timeout` overall.
    pub(crate) fn begin(timeout: Duration) -> Self {
        let start = Instant::now();
        Run {
            started_at: net::wall_clock_now(),
            start,
            deadline: start + timeout,
            timeout,
            phases: Phases::default(),
        }
    }

    /// Runs `steps` (given the phases to time) until the deadline; running out of
    /// time is the failure [`Run::timed_out`] describes.
    pub(crate) async fn within(
        &mut self,
        steps: impl AsyncFnOnce(&mut Phases) -> Outcome,
    ) -> Outcome {
        tokio::time::timeout_at(self.deadline, steps(&mut self.phases))
            .await
            .unwrap_or_else(|_| Err(self.timed_out()))
    }

    /// The failure of a check that ran out of time without a more precise step.
    pub(crate) fn timed_out(&self) -> Failure {
        Failure::new(
            ErrorClass::Timeout,
            format!("no answer within {} ms", self.timeout.as_millis()),
        )
    }

    /// Stamps the total time and builds the [`Check`] for probe `name`.
    pub(crate) fn finish(mut self, name: &str, outcome: Outcome) -> Check {
        self.phases.total = Some(self.start.elapsed());
        let (status, class, detail, cert_not_after) = match outcome {
            Ok(up) => (Status::Up, up.flag, up.detail, up.cert_not_after),
            Err(f) => (f.class.status(), Some(f.class), f.detail, f.cert_not_after),
        };
        Check {
            probe: name.to_owned(),
            started_at: self.started_at,
            status,
            class,
            detail,
            phases: self.phases,
            cert_not_after,
        }
    }
}

/// Runs one check of `probe` now, with its own timeout. A `[[mailflow]]` probe
/// looks up the `[[smtp]]` and `[[imap]]` probes it names in `config`, and may run
/// up to [`mailflow::budget`] (`max_delivery` plus twice the timeout).
pub(crate) async fn run(config: &Config, probe: &Probe) -> Check {
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
                _ => Run::begin(timeout).finish(
                    name,
                    Err(Failure::new(
                        ErrorClass::Unknown,
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

/// Whether a `[[control]]` target answers: a TCP connect, any HTTP response, or (for
/// `resolve`) the name resolving to at least one address. (An `http` target goes
/// through reqwest, which always looks its host up with the system's resolver.)
pub(crate) async fn control(target: &ControlTarget, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut phases = crate::model::Phases::default();
    match target {
        ControlTarget::Tcp { host, port } => net::connect(host, *port, deadline, &mut phases)
            .await
            .is_ok(),
        ControlTarget::Http(url) => http_answers(url, timeout).await,
        ControlTarget::Resolve(name) => resolves(name, deadline).await,
    }
}

/// Whether `name` resolves to at least one address by `deadline`.
async fn resolves(name: &str, deadline: tokio::time::Instant) -> bool {
    let mut phases = crate::model::Phases::default();
    tokio::time::timeout_at(deadline, net::resolve(name, 0, &mut phases))
        .await
        .is_ok_and(|r| r.is_ok())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_maps_failures_to_their_status() {
        let run = Run::begin(Duration::from_secs(1));
        let c = run.finish("p", Err(Failure::new(ErrorClass::Unknown, "no route")));
        assert_eq!(c.status, Status::Unknown);
        let run = Run::begin(Duration::from_secs(1));
        let c = run.finish("p", Err(Failure::new(ErrorClass::Auth, "login refused")));
        assert_eq!((c.status, c.class), (Status::Down, Some(ErrorClass::Auth)));
        let run = Run::begin(Duration::from_secs(1));
        let up = Up {
            flag: Some(ErrorClass::Slow),
            ..Up::new("HTTP 200")
        };
        let c = run.finish("p", Ok(up));
        assert_eq!((c.status, c.class), (Status::Up, Some(ErrorClass::Slow)));
        assert!(c.phases.total.is_some());
    }
}
