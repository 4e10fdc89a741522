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
//! steps with [`smtp`] in the private `mail` module. [`smtp`] is the SMTP probe
//! (banner, EHLO, STARTTLS, AUTH, QUIT; it never sends a message); [`mailflow`]
//! sends a tagged message through an SMTP probe's server (with [`smtp`]'s session)
//! and finds it (then deletes it) through an IMAP probe's mailbox (with [`imap`]'s
//! client: one IMAP client in the crate).
//!
//! # One probe shape
//!
//! Every probe is `steps(spec, &mut Run) -> Outcome` run by [`Run::check`], the one
//! runner: it sets the check's deadline once (steps do not wrap themselves in
//! deadlines; the few sub-deadlines go through [`Run::until`] and say why), and a
//! check that runs out of time fails naming the step it was at ([`Run::at`]: "no
//! answer within 10000 ms during STARTTLS"). [`Run::tls`] is the one TLS step: it
//! calls [`tls::handshake`], times `phases.tls`, keeps the certificate's earliest
//! `notAfter` and the notes for an `up` detail; [`Run::finish`] writes those notes
//! once and keeps the certificate whatever fails after the handshake. [`quote`] is
//! the one sanitiser of server-provided text in a detail. A new probe kind is one
//! file (its spec's `steps`) and one match arm in [`run`].
//!
//! This root holds what every probe shares: the check's context and runner
//! ([`Run`]), the outcome of its steps ([`Outcome`]: [`Up`] or [`Failure`]), the
//! dispatch of one probe to its module ([`run`]) and the `[[control]]` check
//! ([`control`]). The scheduler's live runner calls these; nothing here imports the
//! scheduler.

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
use conn::Usage;
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
    /// (The certificate's `notAfter` is the context's: [`Run::tls`] keeps it.)
    pub flag: Option<ErrorClass>,
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

/// The context every probe runs in: when the check started, its one deadline, the
/// step it is at, the phases timed so far, what its connection held and read, and
/// what TLS showed (the certificate's earliest `notAfter`, the notes for an `up`
/// detail). [`Run::check`] is the one runner: it sets the deadline once, and a check
/// that runs out of time fails naming [`Run::step`] ("no answer within 10000 ms
/// during STARTTLS"). What the steps recorded survives their cancellation, so the
/// certificate's expiry is kept whatever fails after the handshake.
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
    /// The step under way, named in a timeout's detail.
    step: &'static str,
    /// What the connection held and read, as of its last read.
    pub usage: Usage,
    /// The earliest `notAfter` of every chain a handshake of this check saw.
    cert_not_after: Option<UtcMillis>,
    /// Notes of the TLS step for an `up` detail ("not verified: ..."), each once.
    tls_notes: Vec<String>,
    /// Put before each TLS note (a round trip says which side: "SMTP", "IMAP").
    pub side: Option<&'static str>,
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
            step: "connect",
            usage: Usage::default(),
            cert_not_after: None,
            tls_notes: Vec::new(),
            side: None,
        }
    }

    /// The one runner: runs `steps` for the probe `name` with `timeout` overall and
    /// builds its [`Check`]; also returns what the connection held and read.
    pub(crate) async fn check(
        name: &str,
        timeout: Duration,
        steps: impl AsyncFnOnce(&mut Run) -> Outcome,
    ) -> (Check, Usage) {
        let mut run = Run::begin(timeout);
        let outcome = tokio::time::timeout_at(run.deadline, steps(&mut run))
            .await
            .unwrap_or_else(|_| Err(run.timed_out()));
        let usage = run.usage;
        (run.finish(name, outcome), usage)
    }

    /// Records that the check is now at `step` (a timeout names it).
    pub(crate) fn at(&mut self, step: &'static str) {
        self.step = step;
    }

    /// Runs `f` until `until`, earlier than the check's deadline: for a step with a
    /// budget of its own (each caller says why). Running out of time is the timeout
    /// of the step then under way.
    pub(crate) async fn until<T>(
        &mut self,
        until: Instant,
        f: impl AsyncFnOnce(&mut Run) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout_at(until, f(self)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::new(
                ErrorClass::Timeout,
                format!(
                    "no answer within {} ms during {}",
                    until.saturating_duration_since(self.start).as_millis(),
                    self.step
                ),
            )),
        }
    }

    /// The failure of a check that ran out of time: the step it was at.
    pub(crate) fn timed_out(&self) -> Failure {
        Failure::new(
            ErrorClass::Timeout,
            format!(
                "no answer within {} ms during {}",
                self.timeout.as_millis(),
                self.step
            ),
        )
    }

    /// The one TLS step: the handshake with `server_name` on `stream`, timed into
    /// `phases.tls` (added up over the handshakes of one check: HTTP redirects), its
    /// certificate's `notAfter` and its notes recorded in the context.
    ///
    /// # Errors
    /// Those of [`tls::handshake`].
    pub(crate) async fn tls(
        &mut self,
        stream: tokio::net::TcpStream,
        server_name: &str,
        settings: &crate::config::TlsSettings,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Failure> {
        self.at("TLS handshake");
        let t = Instant::now();
        let result = tls::handshake(stream, server_name, settings, self.deadline).await;
        // The handshake's own duration excludes reading ca_file and the system roots;
        // a failed handshake only has the whole step's time.
        let took = result
            .as_ref()
            .map_or_else(|_| t.elapsed(), |(_, i)| i.duration);
        self.phases.tls = Some(self.phases.tls.map_or(took, |d| d + took));
        let (stream, info) = result?;
        self.cert_not_after = earliest(self.cert_not_after, info.cert_not_after);
        for note in info.notes(self.started_at, settings) {
            let note = match self.side {
                Some(side) => format!("{side} {note}"),
                None => note,
            };
            if !self.tls_notes.contains(&note) {
                self.tls_notes.push(note);
            }
        }
        Ok(stream)
    }

    /// Stamps the total time and builds the [`Check`] for probe `name`: an `up`
    /// detail gets the TLS notes, and the certificate seen by the TLS step is kept
    /// whatever the outcome.
    pub(crate) fn finish(mut self, name: &str, outcome: Outcome) -> Check {
        self.phases.total = Some(self.start.elapsed());
        let (status, class, detail, cert_not_after) = match outcome {
            Ok(up) => {
                let mut detail = up.detail;
                for note in &self.tls_notes {
                    detail.push_str("; ");
                    detail.push_str(note);
                }
                (Status::Up, up.flag, detail, None)
            }
            Err(f) => (f.class.status(), Some(f.class), f.detail, f.cert_not_after),
        };
        Check {
            probe: name.to_owned(),
            started_at: self.started_at,
            status,
            class,
            detail,
            phases: self.phases,
            cert_not_after: earliest(cert_not_after, self.cert_not_after),
        }
    }
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<UtcMillis>, b: Option<UtcMillis>) -> Option<UtcMillis> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The one sanitiser of what a server sent, for a detail: short, printable, quoted
/// (see [`wire::Snippet`]). Every probe quotes server text through it.
pub(crate) fn quote(text: impl AsRef<[u8]>) -> wire::Snippet {
    wire::Snippet::of(text.as_ref())
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
    // A control check is not a probe's check: it runs outside [`Run::check`].
    tokio::time::timeout_at(deadline, net::resolve(name, 0, &mut phases))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// Whether `url` gives any HTTP response (redirects not followed, no pooling).
async fn http_answers(url: &str, timeout: Duration) -> bool {
    // No proxy: a control target is reached directly, as the probes reach services.
    // From `[daemon] source_address` too, as the probes (`None`: the system picks).
    let Ok(client) = reqwest::Client::builder()
        .local_address(net::current_source())
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

    /// `[[control]]` checks leave from the source address too, HTTP (reqwest) as TCP.
    #[tokio::test]
    async fn control_checks_leave_from_the_source_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let source: std::net::IpAddr = "127.0.0.4".parse().unwrap();
        for target in [
            ControlTarget::Http(format!("http://{addr}/")),
            ControlTarget::Tcp {
                host: "127.0.0.1".to_owned(),
                port: addr.port(),
            },
        ] {
            let control =
                net::with_source(Some(source), control(&target, Duration::from_millis(300)));
            let (_, accepted) = tokio::join!(control, listener.accept());
            assert_eq!(accepted.unwrap().1.ip(), source, "{target:?}");
        }
    }

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

    #[tokio::test(start_paused = true)]
    async fn a_timeout_names_the_step_under_way() {
        let (c, _) = Run::check("p", Duration::from_millis(300), async |run| {
            run.at("STARTTLS");
            std::future::pending::<()>().await;
            Ok(Up::new("never"))
        })
        .await;
        assert_eq!(
            (c.status, c.class, c.detail.as_str()),
            (
                Status::Down,
                Some(ErrorClass::Timeout),
                "no answer within 300 ms during STARTTLS"
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_sub_deadline_times_out_the_step_not_the_check() {
        let (c, _) = Run::check("p", Duration::from_secs(10), async |run| {
            let until = run.start + Duration::from_secs(2);
            run.until(until, async |run| {
                run.at("greeting");
                std::future::pending::<()>().await;
                Ok(())
            })
            .await?;
            Ok(Up::new("never"))
        })
        .await;
        assert_eq!(c.detail, "no answer within 2000 ms during greeting");
    }

    #[test]
    fn the_context_certificate_outlives_a_later_failure() {
        let mut run = Run::begin(Duration::from_secs(1));
        run.cert_not_after = Some(UtcMillis(2_000));
        let c = run.finish("p", Err(Failure::new(ErrorClass::Auth, "login refused")));
        assert_eq!(c.cert_not_after, Some(UtcMillis(2_000)));
        // A rejected chain's own expiry counts too: the earliest is kept.
        let mut run = Run::begin(Duration::from_secs(1));
        run.cert_not_after = Some(UtcMillis(2_000));
        let f = Failure {
            cert_not_after: Some(UtcMillis(1_000)),
            ..Failure::new(ErrorClass::Certificate, "expired")
        };
        assert_eq!(
            run.finish("p", Err(f)).cert_not_after,
            Some(UtcMillis(1_000))
        );
    }

    #[test]
    fn tls_notes_are_written_once_into_an_up_detail() {
        let mut run = Run::begin(Duration::from_secs(1));
        run.tls_notes = vec!["not verified: expired".to_owned()];
        let c = run.finish("p", Ok(Up::new("TLS ok")));
        assert_eq!(c.detail, "TLS ok; not verified: expired");
    }
}
