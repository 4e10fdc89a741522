//! What the mail probes ([`super::imap`], [`super::pop3`], [`super::smtp`] and the
//! round trip [`super::mailflow`]) share: opening the connection (TCP, then TLS at
//! once for `tls = "implicit"`), upgrading it after STARTTLS/STLS, reading lines
//! while keeping account of memory in the check's [`Run`], and the farewell
//! (LOGOUT, QUIT) that never changes a check's outcome.

use super::conn::LineConn;
use super::net;
use super::wire::WireError;
use super::{Failure, Run};
use crate::config::{MailEndpoint, TlsMode};
use std::time::Duration;
use tokio::time::Instant;

/// How long the answer to LOGOUT (IMAP) or QUIT (POP3, SMTP) is awaited at most.
const FAREWELL_WAIT: Duration = Duration::from_secs(2);
/// The farewell's wait ends this long before the deadline, so a server that does
/// not answer it cannot turn a finished check into a timeout.
const FAREWELL_MARGIN: Duration = Duration::from_millis(100);

/// Until when the answer to a farewell (LOGOUT, QUIT) is awaited: at most
/// [`FAREWELL_WAIT`] and not into the last [`FAREWELL_MARGIN`] before `deadline`.
fn farewell_until(deadline: Instant) -> Instant {
    let margin = deadline.checked_sub(FAREWELL_MARGIN).unwrap_or(deadline);
    (Instant::now() + FAREWELL_WAIT).min(margin)
}

/// Runs a farewell `f` (LOGOUT, QUIT) under a sub-deadline of its own: the verdict
/// is made, so a server that does not answer must neither hold the check long nor
/// turn it into a timeout. Its outcome is ignored.
pub(super) async fn farewell(run: &mut Run, f: impl AsyncFnOnce(&mut Run) -> Result<(), Failure>) {
    let until = farewell_until(run.deadline);
    let _ = run.until(until, f).await;
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
pub(super) async fn open(
    run: &mut Run,
    endpoint: &MailEndpoint,
    max_line: usize,
) -> Result<LineConn, Failure> {
    run.at("connect");
    let stream = net::connect(&endpoint.host, endpoint.port, run.deadline, &mut run.phases).await?;
    let mut conn = if endpoint.tls_mode == TlsMode::Implicit {
        let stream = run
            .tls(stream, server_name(endpoint), &endpoint.tls)
            .await?;
        LineConn::tls(stream, max_line)
    } else {
        LineConn::plain(stream, max_line)
    };
    if let Some(c) = &endpoint.credentials {
        conn.redact_credentials(&c.username, c.password.expose());
    }
    Ok(conn)
}

/// Upgrades `conn` after the server accepted STARTTLS (IMAP, SMTP) or STLS (POP3).
pub(super) async fn upgrade(
    run: &mut Run,
    conn: LineConn,
    endpoint: &MailEndpoint,
) -> Result<LineConn, Failure> {
    conn.start_tls(run, server_name(endpoint), &endpoint.tls)
        .await
}

/// The next line from `conn` during step `what`, recording what the connection held.
pub(super) async fn read_line(
    run: &mut Run,
    conn: &mut LineConn,
    what: &'static str,
) -> Result<Vec<u8>, Failure> {
    run.at(what);
    let line = conn.read_line(what).await;
    run.usage = conn.usage();
    line
}

/// A failure for a line that broke the protocol during step `what`.
pub(super) fn wire_failure(what: &str, e: &WireError) -> Failure {
    Failure::new(e.class(), format!("{what}: {e}"))
}
