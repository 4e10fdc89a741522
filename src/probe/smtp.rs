//! The SMTP probe: banner, EHLO, STARTTLS, EHLO again, optional AUTH, QUIT. It
//! never sends a message (the `[[mailflow]]` probe does, through `Session`).
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`]. The whole
//! dialogue runs under one deadline (`timeout` from the start, see
//! [`super::Run`]), every read is bounded by [`LineConn`] and every reply by
//! [`SmtpReplyParser`].
//!
//! # Steps and classes
//!
//! 1. Connect ([`net::connect`]: `dns`, `refused`, `timeout`). With
//!    `tls = "implicit"` (SMTPS, 465) the TLS handshake follows at once
//!    ([`tls::handshake`]: `tls`, `certificate`, `timeout`).
//! 2. The banner. `220` is up. A `421` or `554` banner (or any other 4xx/5xx) is
//!    `refused`: the server is there and says, in the protocol, that it will not
//!    serve this client now (RFC 5321 §3.1 names 554 for exactly that); for a user
//!    that is the same as a refused connection. Garbage, a line that never ends, a
//!    reply of more than 256 lines, or a 2xx/3xx other than 220 is `protocol`.
//! 3. `EHLO spec.helo`; a reply other than 250 is `protocol` (`421` is `refused`).
//! 4. With `tls = "starttls"`: no `STARTTLS` among the EHLO keywords is `tls`
//!    ("STARTTLS required but not offered"); a reply other than 220 to `STARTTLS`
//!    is `tls`; bytes sent after the 220 and before the handshake are `protocol`
//!    (command injection, see [`LineConn::start_tls`]); then the handshake (`tls`,
//!    `certificate`) and EHLO again, since the first EHLO's answer is void.
//! 5. With credentials: `AUTH PLAIN` (the password in the initial response) if the
//!    server offers PLAIN, else `AUTH LOGIN`. A reply other than 235 is `auth`
//!    (535 bad credentials, 454 temporary failure, 534 mechanism too weak...), and
//!    so are "AUTH not offered" and "no mechanism we speak". Neither the password
//!    nor its base64 form ever reaches a detail.
//!    With `tls = "none"` the password goes in clear, as configured.
//! 6. `QUIT`. The service has proven itself by then: a missing `221` does not turn
//!    the check down, and the wait for it is short ([`QUIT_WAIT`]).
//!
//! A `421` ("service not available, closing channel") in answer to any command is
//! `refused`, like a connection the server closes.
//!
//! # Phases
//!
//! `connect` and `tls` (implicit, or after STARTTLS) as usual; `first_byte` is the
//! wait for the banner, from the moment the connection was ready (after the TLS
//! handshake with implicit TLS); `login` is the AUTH exchange; `total` the whole check.
//! Note that Postfix with TLS 1.3 sends its session ticket and the EHLO reply in two
//! writes: with delayed ACKs a client sees a ~40 ms stall after STARTTLS, so the
//! total is not a pure measure of the server's speed.

use super::conn::{LineConn, Usage};
use super::net;
use super::tls::{self, TlsInfo};
use super::wire::{MAX_LINE, SmtpReply, SmtpReplyParser, Snippet, ehlo_keywords};
use super::{Failure, Outcome, Run, Up};
use crate::config::{Credentials, SmtpSpec, TlsMode};
use crate::model::{Check, ErrorClass, Phases, UtcMillis};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;
use tokio::time::Instant;

/// The longest wait for the server's answer to `QUIT`.
pub(crate) const QUIT_WAIT: Duration = Duration::from_secs(1);

/// Checks one `[[smtp]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &SmtpSpec, timeout: Duration) -> Check {
    check_with_usage(name, spec, timeout).await.0
}

/// [`check`], also returning what the connection buffered and read, so tests can
/// assert that a hostile server cannot make the probe hold more than a few lines.
pub async fn check_with_usage(name: &str, spec: &SmtpSpec, timeout: Duration) -> (Check, Usage) {
    let mut run = Run::begin(timeout);
    let mut usage = Usage::default();
    let (deadline, started_at) = (run.deadline, run.started_at);
    let outcome = run
        .within(async |phases| steps(spec, deadline, started_at, phases, &mut usage).await)
        .await;
    (run.finish(name, outcome), usage)
}

async fn steps(
    spec: &SmtpSpec,
    deadline: Instant,
    started_at: UtcMillis,
    phases: &mut Phases,
    usage: &mut Usage,
) -> Outcome {
    let (mut session, opened) = Session::open(spec, deadline, phases, usage).await?;
    session.quit().await;
    *usage = session.usage();
    let mut notes = vec![opened.summary()];
    if let Some(info) = &opened.tls {
        notes.extend(info.notes(started_at, &spec.endpoint.tls));
    }
    Ok(Up {
        detail: notes.join("; "),
        flag: None,
        cert_not_after: opened.tls.and_then(|i| i.cert_not_after),
    })
}

/// What opening a [`Session`] established, for the check's detail.
#[derive(Debug)]
pub(crate) struct Opened {
    /// The TLS handshake's result, implicit or after STARTTLS.
    pub(crate) tls: Option<TlsInfo>,
    /// How TLS was started: "SMTPS", "STARTTLS" or `None`.
    pub(crate) tls_how: Option<&'static str>,
    /// The AUTH mechanism used, if any.
    pub(crate) auth: Option<&'static str>,
}

impl Opened {
    /// "SMTP ok (STARTTLS, AUTH PLAIN)".
    pub(crate) fn summary(&self) -> String {
        let parts: Vec<String> = self
            .tls_how
            .map(str::to_owned)
            .into_iter()
            .chain(self.auth.map(|m| format!("AUTH {m}")))
            .collect();
        if parts.is_empty() {
            "SMTP ok".to_owned()
        } else {
            format!("SMTP ok ({})", parts.join(", "))
        }
    }
}

/// An SMTP conversation past the banner, EHLO, TLS and AUTH: ready for `MAIL FROM`
/// (the mailflow probe) or `QUIT` (the SMTP probe).
#[derive(Debug)]
pub(crate) struct Session {
    conn: LineConn,
}

impl Session {
    /// Connects and runs steps 1-5 of the module docs, recording the phases.
    /// `usage` is kept up to date even when a step fails.
    pub(crate) async fn open(
        spec: &SmtpSpec,
        deadline: Instant,
        phases: &mut Phases,
        usage: &mut Usage,
    ) -> Result<(Session, Opened), Failure> {
        let ep = &spec.endpoint;
        let server_name = ep.tls.server_name.as_deref().unwrap_or(&ep.host);
        let stream = net::connect(&ep.host, ep.port, deadline, phases).await?;
        let mut opened = Opened {
            tls: None,
            tls_how: None,
            auth: None,
        };
        let mut conn = if ep.tls_mode == TlsMode::Implicit {
            let t = Instant::now();
            let result = tls::handshake(stream, server_name, &ep.tls, deadline).await;
            phases.tls = Some(
                result
                    .as_ref()
                    .map_or_else(|_| t.elapsed(), |(_, i)| i.duration),
            );
            let (stream, info) = result?;
            opened.tls = Some(info);
            opened.tls_how = Some("SMTPS");
            LineConn::tls(stream, MAX_LINE, deadline)
        } else {
            LineConn::plain(stream, MAX_LINE, deadline)
        };
        if let Some(c) = &ep.credentials {
            conn.redact_credentials(&c.username, c.password.expose());
        }

        let t = Instant::now();
        let banner = read_reply(&mut conn, "banner", usage).await;
        phases.first_byte = Some(t.elapsed());
        let banner = banner?;
        match banner.code {
            220 => {}
            400..=599 => {
                return Err(Failure::new(
                    ErrorClass::Refused,
                    format!("the server refuses service: {}", quote(&banner)),
                ));
            }
            _ => {
                return Err(Failure::new(
                    ErrorClass::Protocol,
                    format!("banner is not 220: {}", quote(&banner)),
                ));
            }
        }

        let mut keywords = ehlo(&mut conn, &spec.helo, usage).await?;
        if ep.tls_mode == TlsMode::Starttls {
            if !keywords.iter().any(|(k, _)| k == "STARTTLS") {
                return Err(Failure::new(
                    ErrorClass::Tls,
                    "STARTTLS required but not offered",
                ));
            }
            let reply = command(&mut conn, b"STARTTLS\r\n", "STARTTLS", usage).await?;
            if reply.code != 220 {
                return Err(Failure::new(
                    ErrorClass::Tls,
                    format!("STARTTLS refused: {}", quote(&reply)),
                ));
            }
            let t = Instant::now();
            let result = conn.start_tls(server_name, &ep.tls).await;
            phases.tls = Some(
                result
                    .as_ref()
                    .map_or_else(|_| t.elapsed(), |(_, i)| i.duration),
            );
            let (tls_conn, info) = result?;
            conn = tls_conn;
            opened.tls = Some(info);
            opened.tls_how = Some("STARTTLS");
            keywords = ehlo(&mut conn, &spec.helo, usage).await?;
        }

        if let Some(creds) = &ep.credentials {
            let t = Instant::now();
            let result = auth(&mut conn, creds, &keywords, usage).await;
            phases.login = Some(t.elapsed());
            opened.auth = Some(result?);
        }
        *usage = conn.usage();
        Ok((Session { conn }, opened))
    }

    /// Sends `line` (with its CRLF) and reads the reply; `421` is `refused`.
    pub(crate) async fn command(
        &mut self,
        line: &[u8],
        what: &str,
        usage: &mut Usage,
    ) -> Result<SmtpReply, Failure> {
        command(&mut self.conn, line, what, usage).await
    }

    /// Reads one reply without sending anything first (after a DATA body).
    pub(crate) async fn reply(
        &mut self,
        what: &str,
        usage: &mut Usage,
    ) -> Result<SmtpReply, Failure> {
        let reply = read_reply(&mut self.conn, what, usage).await?;
        closing(&reply, what)?;
        Ok(reply)
    }

    /// Sends raw bytes (a message body).
    pub(crate) async fn send(&mut self, bytes: &[u8], what: &str) -> Result<(), Failure> {
        self.conn.send(bytes, what).await
    }

    /// What the connection held and read so far.
    pub(crate) fn usage(&self) -> Usage {
        self.conn.usage()
    }

    /// Says `QUIT` and waits at most [`QUIT_WAIT`] for the answer; whatever happens
    /// is ignored (the check's verdict is already made).
    pub(crate) async fn quit(&mut self) {
        let mut ignored = Usage::default();
        let _ = tokio::time::timeout(
            QUIT_WAIT,
            command(&mut self.conn, b"QUIT\r\n", "QUIT", &mut ignored),
        )
        .await;
    }
}

/// Reads one complete reply; `usage` is updated whatever happens.
async fn read_reply(
    conn: &mut LineConn,
    what: &str,
    usage: &mut Usage,
) -> Result<SmtpReply, Failure> {
    let mut parser = SmtpReplyParser::new();
    let result = loop {
        let line = match conn.read_line(what).await {
            Ok(line) => line,
            Err(f) => break Err(f),
        };
        match parser.push(&line) {
            Ok(Some(reply)) => break Ok(reply),
            Ok(None) => {}
            Err(e) => break Err(Failure::new(e.class(), format!("{what}: {e}"))),
        }
    };
    *usage = conn.usage();
    result
}

/// `421` in answer to a command: the server is closing the channel.
fn closing(reply: &SmtpReply, what: &str) -> Result<(), Failure> {
    if reply.code == 421 {
        return Err(Failure::new(
            ErrorClass::Refused,
            format!("{what}: the server closes the connection: {}", quote(reply)),
        ));
    }
    Ok(())
}

/// Sends `line` and reads the reply; `421` is `refused`.
async fn command(
    conn: &mut LineConn,
    line: &[u8],
    what: &str,
    usage: &mut Usage,
) -> Result<SmtpReply, Failure> {
    conn.send(line, what).await?;
    let reply = read_reply(conn, what, usage).await?;
    closing(&reply, what)?;
    Ok(reply)
}

/// `EHLO helo`; the announced extensions.
async fn ehlo(
    conn: &mut LineConn,
    helo: &str,
    usage: &mut Usage,
) -> Result<Vec<(String, Vec<String>)>, Failure> {
    let line = format!("EHLO {helo}\r\n");
    let reply = command(conn, line.as_bytes(), "EHLO", usage).await?;
    if reply.code != 250 {
        return Err(Failure::new(
            ErrorClass::Protocol,
            format!("EHLO refused: {}", quote(&reply)),
        ));
    }
    Ok(ehlo_keywords(&reply))
}

/// Logs in with PLAIN or LOGIN, whichever is offered (PLAIN first); the mechanism.
async fn auth(
    conn: &mut LineConn,
    creds: &Credentials,
    keywords: &[(String, Vec<String>)],
    usage: &mut Usage,
) -> Result<&'static str, Failure> {
    let Some((_, mechs)) = keywords.iter().find(|(k, _)| k == "AUTH") else {
        return Err(Failure::new(
            ErrorClass::Auth,
            "credentials are configured but the server offers no AUTH",
        ));
    };
    let offers = |m: &str| mechs.iter().any(|x| x.eq_ignore_ascii_case(m));
    let user = creds.username.as_bytes();
    let pass = creds.password.expose().as_bytes();
    let rejected = |reply: &SmtpReply| {
        Failure::new(ErrorClass::Auth, format!("login refused: {}", quote(reply)))
    };
    if offers("PLAIN") {
        let token = BASE64.encode([&b"\0"[..], user, b"\0", pass].concat());
        let line = format!("AUTH PLAIN {token}\r\n");
        let reply = command(conn, line.as_bytes(), "AUTH PLAIN", usage).await?;
        return if reply.code == 235 {
            Ok("PLAIN")
        } else {
            Err(rejected(&reply))
        };
    }
    if offers("LOGIN") {
        let steps: [(&[u8], &str); 3] = [
            (b"AUTH LOGIN\r\n", "AUTH LOGIN"),
            (user, "AUTH LOGIN user name"),
            (pass, "AUTH LOGIN password"),
        ];
        for (i, (data, what)) in steps.into_iter().enumerate() {
            let line = if i == 0 {
                data.to_vec()
            } else {
                format!("{}\r\n", BASE64.encode(data)).into_bytes()
            };
            let reply = command(conn, &line, what, usage).await?;
            let expected = if i == 2 { 235 } else { 334 };
            if reply.code != expected {
                return Err(rejected(&reply));
            }
        }
        return Ok("LOGIN");
    }
    let offered = Snippet::of(mechs.join(" ").as_bytes());
    Err(Failure::new(
        ErrorClass::Auth,
        format!("the server offers neither AUTH PLAIN nor LOGIN (offered: {offered})"),
    ))
}

/// A reply for a detail: its code and the start of its first line, sanitised.
pub(crate) fn quote(reply: &SmtpReply) -> String {
    let first = reply.lines.first().map_or("", String::as_str);
    format!(
        "{}",
        Snippet::of(format!("{} {first}", reply.code).as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_tls_and_auth() {
        let mut o = Opened {
            tls: None,
            tls_how: None,
            auth: None,
        };
        assert_eq!(o.summary(), "SMTP ok");
        o.tls_how = Some("STARTTLS");
        assert_eq!(o.summary(), "SMTP ok (STARTTLS)");
        o.auth = Some("PLAIN");
        assert_eq!(o.summary(), "SMTP ok (STARTTLS, AUTH PLAIN)");
    }

    #[test]
    fn quotes_are_short_and_printable() {
        let reply = SmtpReply {
            code: 554,
            lines: vec![format!("go away\x1b[2J{}", "x".repeat(500))],
        };
        let q = quote(&reply);
        assert!(q.starts_with("'554 go away\\x1b[2J"), "{q}");
        assert!(q.len() < 100, "{q}");
    }
}
