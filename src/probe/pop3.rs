//! The POP3 probe: greeting, CAPA, STLS, USER/PASS (or AUTH PLAIN), STAT, QUIT.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`], and the
//! whole conversation runs under one deadline (`timeout` from its start, see
//! [`Run`]). The steps, and how each failure is classified:
//!
//! 1. **Connect** ([`super::net::connect`]: `dns`, `refused`, `timeout`), and for
//!    `tls = "implicit"` the TLS handshake (`tls`, or `certificate`).
//! 2. **Greeting** (phase `first_byte`): `+OK` goes on; `-ERR` is the server
//!    refusing service to this client, `refused` (as an IMAP `* BYE` greeting);
//!    anything else is `protocol`.
//! 3. **CAPA** (RFC 2449). A `-ERR` is allowed (an RFC 1939-only server): nothing is
//!    known then, and USER/PASS and STLS are simply tried. Without credentials the
//!    check ends here: greeting and CAPA.
//! 4. **STLS** for `tls = "starttls"` (RFC 2595): not in a CAPA list, or answered
//!    `-ERR`, is `tls`; bytes sent after the `+OK` and before the handshake are
//!    `protocol`. CAPA is asked again over TLS.
//! 5. **Login** (phase `login`): USER/PASS, unless CAPA lists SASL PLAIN and not
//!    USER, then `AUTH PLAIN` with an initial response (RFC 5034). A `-ERR` to any
//!    of them is `auth` (the detail names the user, never the password); so is a
//!    server that offers neither, and credentials with a line break (they cannot
//!    be sent).
//! 6. **STAT**: `+OK n size` gives the `up` detail; `-ERR` is `content` (the
//!    maildrop cannot be read, as a refused EXAMINE in IMAP); an unreadable answer
//!    is `protocol`.
//! 7. **QUIT**, best effort: awaited briefly (never into the last moments before
//!    the deadline), failures ignored.
//!
//! Lines are capped at [`wire::MAX_LINE`], a CAPA list at [`wire::POP3_MAX_LINES`],
//! and a conversation at [`super::conn::MAX_READ`] bytes (`protocol`).

use super::conn::{LineConn, Usage};
use super::mail::{self, wire_failure};
use super::wire::{self, MAX_LINE, POP3_MAX_LINES, Pop3MultiLine, Pop3Status};
use super::{Failure, Outcome, Run, Up, quote};
use crate::config::{Credentials, Pop3Spec, TlsMode};
use crate::model::{Check, ErrorClass};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;
use tokio::time::Instant;

/// Checks one `[[pop3]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &Pop3Spec, timeout: Duration) -> Check {
    check_with_usage(name, spec, timeout).await.0
}

/// [`check`], also returning what the connection held and read (for tests: memory
/// stays bounded whatever the server sends).
pub async fn check_with_usage(name: &str, spec: &Pop3Spec, timeout: Duration) -> (Check, Usage) {
    Run::check(name, timeout, async |run| steps(spec, run).await).await
}

/// A CAPA list: `(KEYWORD, arguments)`.
type Capa = Vec<(String, Vec<String>)>;

fn has(capa: &Capa, keyword: &str) -> bool {
    capa.iter().any(|(k, _)| k == keyword)
}

fn sasl_plain(capa: &Capa) -> bool {
    capa.iter()
        .any(|(k, args)| k == "SASL" && args.iter().any(|a| a.eq_ignore_ascii_case("PLAIN")))
}

async fn steps(spec: &Pop3Spec, run: &mut Run) -> Outcome {
    let endpoint = &spec.endpoint;
    let mut conn = mail::open(run, endpoint, MAX_LINE).await?;

    let t = Instant::now();
    let greeting = status(&mut conn, run, "greeting").await?;
    run.phases.first_byte = Some(t.elapsed());
    if !greeting.ok {
        return Err(Failure::new(
            ErrorClass::Refused,
            format!("the server refused service: {}", quote(&greeting.text)),
        ));
    }

    let mut capa = read_capa(&mut conn, run).await?;
    if endpoint.tls_mode == TlsMode::Starttls {
        if capa.as_ref().is_some_and(|c| !has(c, "STLS")) {
            return Err(Failure::new(
                ErrorClass::Tls,
                "STLS required but not offered",
            ));
        }
        let reply = command(&mut conn, run, b"STLS\r\n", "STLS").await?;
        if !reply.ok {
            return Err(Failure::new(
                ErrorClass::Tls,
                format!("STLS refused: {}", quote(&reply.text)),
            ));
        }
        conn = mail::upgrade(run, conn, endpoint).await?;
        // The list may change once TLS is on (USER often appears only then).
        capa = read_capa(&mut conn, run).await?;
    }

    let Some(credentials) = &endpoint.credentials else {
        quit(&mut conn, run).await;
        let known = capa.map_or_else(
            || "no CAPA".to_owned(),
            |c| format!("{} capabilities", c.len()),
        );
        return Ok(Up::new(format!("POP3 ready (no login, {known})")));
    };

    let t = Instant::now();
    login(&mut conn, run, capa.as_ref(), credentials).await?;
    run.phases.login = Some(t.elapsed());

    let stat = command(&mut conn, run, b"STAT\r\n", "STAT").await?;
    if !stat.ok {
        return Err(Failure::new(
            ErrorClass::Content,
            format!("STAT refused: {}", quote(&stat.text)),
        ));
    }
    let mut numbers = stat.text.split(' ').map(str::parse::<u64>);
    let (Some(Ok(count)), Some(Ok(size))) = (numbers.next(), numbers.next()) else {
        return Err(Failure::new(
            ErrorClass::Protocol,
            format!("STAT: not '+OK count size': {}", quote(&stat.text)),
        ));
    };
    quit(&mut conn, run).await;
    let messages = if count == 1 { "message" } else { "messages" };
    Ok(Up::new(format!(
        "POP3 ok, {count} {messages} ({size} bytes)"
    )))
}

/// Reads one status line.
async fn status(
    conn: &mut LineConn,
    run: &mut Run,
    what: &'static str,
) -> Result<Pop3Status, Failure> {
    let line = mail::read_line(run, conn, what).await?;
    wire::parse_pop3_status(&line).map_err(|e| wire_failure(what, &e))
}

/// Sends `line` (with its CRLF) and reads the status line that answers it.
async fn command(
    conn: &mut LineConn,
    run: &mut Run,
    line: &[u8],
    what: &'static str,
) -> Result<Pop3Status, Failure> {
    run.at(what);
    conn.send(line, what).await?;
    status(conn, run, what).await
}

/// CAPA: the list, or `None` when the server answers `-ERR` (it predates CAPA).
async fn read_capa(conn: &mut LineConn, run: &mut Run) -> Result<Option<Capa>, Failure> {
    if !command(conn, run, b"CAPA\r\n", "CAPA").await?.ok {
        return Ok(None);
    }
    let mut body = Pop3MultiLine::new(POP3_MAX_LINES);
    loop {
        let line = mail::read_line(run, conn, "CAPA").await?;
        if let Some(lines) = body.push(&line).map_err(|e| wire_failure("CAPA", &e))? {
            return Ok(Some(wire::pop3_capa_keywords(&lines)));
        }
    }
}

/// USER/PASS or AUTH PLAIN; every refusal is `auth`.
async fn login(
    conn: &mut LineConn,
    run: &mut Run,
    capa: Option<&Capa>,
    credentials: &Credentials,
) -> Result<(), Failure> {
    let user = &credentials.username;
    let pass = credentials.password.expose();
    let refused = |step: &str, reply: &Pop3Status| {
        Failure::new(
            ErrorClass::Auth,
            format!("{step} refused for {}: {}", quote(user), quote(&reply.text)),
        )
    };
    if [user.as_str(), pass]
        .iter()
        .any(|v| v.contains(['\r', '\n', '\0']))
    {
        return Err(Failure::new(
            ErrorClass::Auth,
            "the user name or password contains a line break or NUL; POP3 cannot send it",
        ));
    }
    match capa {
        Some(c) if !has(c, "USER") && sasl_plain(c) => {}
        Some(c) if !has(c, "USER") => {
            return Err(Failure::new(
                ErrorClass::Auth,
                "the server offers neither USER nor SASL PLAIN",
            ));
        }
        _ => {
            let reply = command(conn, run, format!("USER {user}\r\n").as_bytes(), "USER").await?;
            if !reply.ok {
                return Err(refused("USER", &reply));
            }
            let reply = command(conn, run, format!("PASS {pass}\r\n").as_bytes(), "PASS").await?;
            if !reply.ok {
                return Err(refused("login", &reply));
            }
            return Ok(());
        }
    }
    let response = STANDARD.encode(format!("\0{user}\0{pass}"));
    let reply = command(
        conn,
        run,
        format!("AUTH PLAIN {response}\r\n").as_bytes(),
        "AUTH PLAIN",
    )
    .await?;
    if !reply.ok {
        return Err(refused("AUTH PLAIN", &reply));
    }
    Ok(())
}

/// QUIT, awaited briefly (see [`mail::farewell`]); its outcome does not matter.
async fn quit(conn: &mut LineConn, run: &mut Run) {
    mail::farewell(run, async |run| {
        command(conn, run, b"QUIT\r\n", "QUIT").await.map(|_| ())
    })
    .await;
}
