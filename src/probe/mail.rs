//! What the mailbox probes ([`super::imap`], [`super::pop3`]) share: opening the
//! connection (TCP, then TLS at once for `tls = "implicit"`), upgrading it after
//! STARTTLS/STLS, reading lines while keeping account of memory, and the pieces of
//! an `up` detail.
//!
//! A [`Progress`] lives outside the steps of a check, so what was learnt before a
//! timeout cancelled them (the bytes held, the certificate's `notAfter`) still
//! reaches the [`Check`](crate::model::Check) and the tests.

use super::conn::{LineConn, Usage};
use super::net;
use super::tls;
use super::wire::{Snippet, WireError};
use super::{Failure, Outcome, Run};
use crate::config::{MailEndpoint, TlsMode, TlsSettings};
use crate::model::{Phases, UtcMillis};
use std::time::Duration;
use tokio::time::Instant;

/// How long the answer to LOGOUT (IMAP) or QUIT (POP3) is awaited at most.
const FAREWELL_WAIT: Duration = Duration::from_secs(2);
/// The farewell's wait ends this long before the deadline, so a server that does
/// not answer it cannot turn a finished check into a timeout.
const FAREWELL_MARGIN: Duration = Duration::from_millis(100);

/// Runs a mailbox probe's `steps` as one check named `name`: under the check's
/// deadline, the connection to `endpoint` opened for them (lines up to `max_line`),
/// a timeout keeping what the steps had learnt (memory use, the certificate's
/// expiry), and the `Check` built with the phases they timed.
pub(super) async fn check<S>(
    name: &str,
    spec: &S,
    (endpoint, max_line): (&MailEndpoint, usize),
    timeout: Duration,
    steps: impl AsyncFnOnce(&S, LineConn, Step<'_>) -> Outcome,
) -> (crate::model::Check, Usage) {
    let mut run = Run::begin(timeout);
    let mut progress = Progress::default();
    let (deadline, started_at) = (run.deadline, run.started_at);
    let outcome = run
        .within(async |phases| {
            let mut step = Step {
                deadline,
                started_at,
                phases,
                progress: &mut progress,
            };
            let conn = open(endpoint, max_line, &mut step).await?;
            steps(spec, conn, step).await
        })
        .await
        .map_err(|f| progress.fail(f));
    let usage = progress.usage;
    (run.finish(name, outcome), usage)
}

/// What every step of a mailbox check carries besides the connection: the
/// check's deadline and start, and where it records its phases and progress.
pub(super) struct Step<'a> {
    pub(super) deadline: Instant,
    pub(super) started_at: UtcMillis,
    pub(super) phases: &'a mut Phases,
    pub(super) progress: &'a mut Progress,
}

/// Until when the answer to a farewell (LOGOUT, QUIT) is awaited: at most
/// [`FAREWELL_WAIT`] and not into the last [`FAREWELL_MARGIN`] before `deadline`. Its
/// outcome never changes the check's.
pub(super) fn farewell_until(deadline: Instant) -> Instant {
    let margin = deadline.checked_sub(FAREWELL_MARGIN).unwrap_or(deadline);
    (Instant::now() + FAREWELL_WAIT).min(margin)
}

/// What a check learnt so far, kept when its steps are cancelled.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// The connection's [`Usage`] after its last read.
    pub(super) usage: Usage,
    /// The earliest `notAfter` of the server's chain, once TLS is up.
    pub(super) cert_not_after: Option<UtcMillis>,
    /// Notes for an `up` detail from the TLS step ("not verified: ...").
    pub(super) tls_notes: Vec<String>,
}

impl Progress {
    /// `failure`, carrying the certificate's `notAfter` when TLS got that far.
    pub(super) fn fail(&self, mut failure: Failure) -> Failure {
        failure.cert_not_after = failure.cert_not_after.or(self.cert_not_after);
        failure
    }

    /// `main` followed by the TLS notes, `; `-separated.
    pub(super) fn detail(&self, main: String) -> String {
        std::iter::once(main)
            .chain(self.tls_notes.iter().cloned())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The name a TLS handshake with `endpoint` checks: `server_name` or the host.
fn server_name(endpoint: &MailEndpoint) -> &str {
    endpoint
        .tls
        .server_name
        .as_deref()
        .unwrap_or_else(|| net::bare_host(&endpoint.host))
}

/// Connects to `endpoint`, with an immediate TLS handshake when its mode is
/// implicit. Lines longer than `max_line` will be refused; echoes of the
/// endpoint's credentials are redacted from every line read.
async fn open(
    endpoint: &MailEndpoint,
    max_line: usize,
    step: &mut Step<'_>,
) -> Result<LineConn, Failure> {
    let deadline = step.deadline;
    let stream = net::connect(&endpoint.host, endpoint.port, deadline, step.phases).await?;
    let mut conn = if endpoint.tls_mode == TlsMode::Implicit {
        let t = Instant::now();
        let result = tls::handshake(stream, server_name(endpoint), &endpoint.tls, deadline).await;
        let settings = &endpoint.tls;
        let stream = timed_tls(
            result,
            t,
            step.started_at,
            settings,
            step.phases,
            step.progress,
        )?;
        LineConn::tls(stream, max_line, deadline)
    } else {
        LineConn::plain(stream, max_line, deadline)
    };
    if let Some(c) = &endpoint.credentials {
        conn.redact_credentials(&c.username, c.password.expose());
    }
    Ok(conn)
}

/// Upgrades `conn` after the server accepted STARTTLS (IMAP) or STLS (POP3).
pub(super) async fn upgrade(
    conn: LineConn,
    endpoint: &MailEndpoint,
    started_at: UtcMillis,
    phases: &mut Phases,
    progress: &mut Progress,
) -> Result<LineConn, Failure> {
    let t = Instant::now();
    let result = conn.start_tls(server_name(endpoint), &endpoint.tls).await;
    let conn = timed_tls(result, t, started_at, &endpoint.tls, phases, progress)?;
    Ok(conn)
}

/// Records the TLS phase (the handshake's own time, or the whole step's when it
/// failed), the certificate's `notAfter` and the notes of a handshake's result.
fn timed_tls<T>(
    result: Result<(T, tls::TlsInfo), Failure>,
    t: Instant,
    started_at: UtcMillis,
    settings: &TlsSettings,
    phases: &mut Phases,
    progress: &mut Progress,
) -> Result<T, Failure> {
    phases.tls = Some(
        result
            .as_ref()
            .map_or_else(|_| t.elapsed(), |(_, i)| i.duration),
    );
    let (conn, info) = result?;
    progress.cert_not_after = info.cert_not_after;
    progress.tls_notes = info.notes(started_at, settings);
    Ok(conn)
}

/// The next line from `conn`, recording what the connection held.
pub(super) async fn read_line(
    conn: &mut LineConn,
    progress: &mut Progress,
    what: &str,
) -> Result<Vec<u8>, Failure> {
    let line = conn.read_line(what).await;
    progress.usage = conn.usage();
    line
}

/// A failure for a line that broke the protocol during step `what`.
pub(super) fn wire_failure(what: &str, e: &WireError) -> Failure {
    Failure::new(e.class(), format!("{what}: {e}"))
}

/// Server text for a detail: short, printable, quoted.
pub(super) fn quote(text: &str) -> Snippet {
    Snippet::of(text.as_bytes())
}
