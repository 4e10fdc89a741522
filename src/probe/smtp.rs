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
//! 1. Connect ([`super::net::connect`]: `dns`, `refused`, `timeout`). With
//!    `tls = "implicit"` (SMTPS, 465) the TLS handshake follows at once
//!    ([`super::Run::tls`]: `tls`, `certificate`, `timeout`).
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
//!    the check down, and the wait for it is short (see `mail::farewell`).
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
use super::mail;
use super::wire::{MAX_LINE, SmtpReply, SmtpReplyParser, ehlo_keywords};
use super::{Failure, Outcome, Run, Up};
use crate::config::{Credentials, SmtpSpec, TlsMode};
use crate::model::{Check, ErrorClass};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::time::Duration;
use tokio::time::Instant;

/// Checks one `[[smtp]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &SmtpSpec, timeout: Duration) -> Check {
    check_with_usage(name, spec, timeout).await.0
}

/// [`check`], also returning what the connection buffered and read, so tests can
/// assert that a hostile server cannot make the probe hold more than a few lines.
pub async fn check_with_usage(name: &str, spec: &SmtpSpec, timeout: Duration) -> (Check, Usage) {
    Run::check(name, timeout, async |run| steps(spec, run).await).await
}

async fn steps(spec: &SmtpSpec, run: &mut Run) -> Outcome {
    let (mut session, opened) = Session::open(run, spec).await?;
    session.quit(run).await;
    Ok(Up::new(opened.summary()))
}

/// What opening a [`Session`] established, for the check's detail.
#[derive(Debug)]
pub(crate) struct Opened {
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
    /// Connects and runs steps 1-5 of the module docs in `run`, recording the
    /// phases, the connection's usage and the certificate seen.
    pub(crate) async fn open(run: &mut Run, spec: &SmtpSpec) -> Result<(Session, Opened), Failure> {
        let ep = &spec.endpoint;
        let mut opened = Opened {
            tls_how: None,
            auth: None,
        };
        let mut conn = mail::open(run, ep, MAX_LINE).await?;
        if ep.tls_mode == TlsMode::Implicit {
            opened.tls_how = Some("SMTPS");
        }

        let t = Instant::now();
        let banner = read_reply(run, &mut conn, "banner").await;
        run.phases.first_byte = Some(t.elapsed());
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

        let mut keywords = ehlo(run, &mut conn, &spec.helo).await?;
        if ep.tls_mode == TlsMode::Starttls {
            if !keywords.iter().any(|(k, _)| k == "STARTTLS") {
                return Err(Failure::new(
                    ErrorClass::Tls,
                    "STARTTLS required but not offered",
                ));
            }
            let reply = command(run, &mut conn, b"STARTTLS\r\n", "STARTTLS").await?;
            if reply.code != 220 {
                return Err(Failure::new(
                    ErrorClass::Tls,
                    format!("STARTTLS refused: {}", quote(&reply)),
                ));
            }
            conn = mail::upgrade(run, conn, ep).await?;
            opened.tls_how = Some("STARTTLS");
            keywords = ehlo(run, &mut conn, &spec.helo).await?;
        }

        if let Some(creds) = &ep.credentials {
            let t = Instant::now();
            let result = auth(run, &mut conn, creds, &keywords).await;
            run.phases.login = Some(t.elapsed());
            opened.auth = Some(result?);
        }
        Ok((Session { conn }, opened))
    }

    /// Sends `line` (with its CRLF) and reads the reply; `421` is `refused`.
    pub(crate) async fn command(
        &mut self,
        run: &mut Run,
        line: &[u8],
        what: &'static str,
    ) -> Result<SmtpReply, Failure> {
        command(run, &mut self.conn, line, what).await
    }

    /// Sends `bytes` (a message body, ending in `CRLF.CRLF`) and reads the reply.
    pub(crate) async fn data(
        &mut self,
        run: &mut Run,
        bytes: &[u8],
        what: &'static str,
    ) -> Result<SmtpReply, Failure> {
        command(run, &mut self.conn, bytes, what).await
    }

    /// Says `QUIT`, awaited briefly (see [`mail::farewell`]); whatever happens is
    /// ignored (the check's verdict is already made).
    pub(crate) async fn quit(&mut self, run: &mut Run) {
        mail::farewell(run, async |run| {
            command(run, &mut self.conn, b"QUIT\r\n", "QUIT")
                .await
                .map(|_| ())
        })
        .await;
    }
}

/// Reads one complete reply during step `what`.
async fn read_reply(
    run: &mut Run,
    conn: &mut LineConn,
    what: &'static str,
) -> Result<SmtpReply, Failure> {
    let mut parser = SmtpReplyParser::new();
    loop {
        let line = mail::read_line(run, conn, what).await?;
        match parser.push(&line) {
            Ok(Some(reply)) => return Ok(reply),
            Ok(None) => {}
            Err(e) => return Err(mail::wire_failure(what, &e)),
        }
    }
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
    run: &mut Run,
    conn: &mut LineConn,
    line: &[u8],
    what: &'static str,
) -> Result<SmtpReply, Failure> {
    run.at(what);
    conn.send(line, what).await?;
    let reply = read_reply(run, conn, what).await?;
    closing(&reply, what)?;
    Ok(reply)
}

/// `EHLO helo`; the announced extensions.
async fn ehlo(
    run: &mut Run,
    conn: &mut LineConn,
    helo: &str,
) -> Result<Vec<(String, Vec<String>)>, Failure> {
    let line = format!("EHLO {helo}\r\n");
    let reply = command(run, conn, line.as_bytes(), "EHLO").await?;
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
    run: &mut Run,
    conn: &mut LineConn,
    creds: &Credentials,
    keywords: &[(String, Vec<String>)],
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
        let reply = command(run, conn, line.as_bytes(), "AUTH PLAIN").await?;
        return if reply.code == 235 {
            Ok("PLAIN")
        } else {
            Err(rejected(&reply))
        };
    }
    if offers("LOGIN") {
        let steps: [(&[u8], &'static str); 3] = [
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
            let reply = command(run, conn, &line, what).await?;
            let expected = if i == 2 { 235 } else { 334 };
            if reply.code != expected {
                return Err(rejected(&reply));
            }
        }
        return Ok("LOGIN");
    }
    let offered = super::quote(mechs.join(" "));
    Err(Failure::new(
        ErrorClass::Auth,
        format!("the server offers neither AUTH PLAIN nor LOGIN (offered: {offered})"),
    ))
}

/// A reply for a detail: its code and the start of its first line, sanitised.
pub(crate) fn quote(reply: &SmtpReply) -> String {
    let first = reply.lines.first().map_or("", String::as_str);
    super::quote(format!("{} {first}", reply.code)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_tls_and_auth() {
        let mut o = Opened {
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
