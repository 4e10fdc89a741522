//! The IMAP probe: greeting, CAPABILITY, STARTTLS, LOGIN, EXAMINE, LOGOUT.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`], and the
//! whole conversation runs under one deadline (`timeout` from its start, see
//! [`Run`](super::Run)). The steps, and how each failure is classified:
//!
//! 1. **Connect** ([`super::net::connect`]: `dns`, `refused`, `timeout`), and for
//!    `tls = "implicit"` the TLS handshake (`tls`, or `certificate` for a chain that
//!    does not verify).
//! 2. **Greeting** (phase `first_byte`). `* OK` and `* PREAUTH` go on. `* BYE` is
//!    the server refusing service to this client: `refused`, like a closed port,
//!    since the service is not there for us (RFC 9051 §7.1.5). Anything else is
//!    `protocol`.
//! 3. **CAPABILITY**, unless the greeting carried a `[CAPABILITY ...]` code and a
//!    login follows (the login then proves the server answers commands). Without
//!    credentials the check ends here: greeting and capabilities.
//! 4. **STARTTLS** for `tls = "starttls"`: not offered, refused, or impossible after
//!    a PREAUTH greeting is `tls`; the handshake as in step 1. Capabilities are
//!    asked again over TLS (RFC 9051 §6.2.1: those from before are void). Bytes the
//!    server sent after its OK and before the handshake are `protocol` (see
//!    [`LineConn::start_tls`]).
//! 5. **Login** (phase `login`): `LOGIN user pass`, or `AUTHENTICATE PLAIN` (with
//!    SASL-IR when offered) when the server announces `LOGINDISABLED`. `NO` is
//!    `auth`. `LOGINDISABLED` without `AUTH=PLAIN` is also `auth`: the server will
//!    not let this client log in on this connection (usually it wants TLS first;
//!    the fix is `tls = "starttls"`), so the detail says so. `BAD` is `protocol`.
//!    The detail names the user, never the password.
//! 6. **EXAMINE mailbox** (read-only, unlike SELECT). `NO` is `content`: the server
//!    works and answered properly, but the mailbox the probe is configured to watch
//!    cannot be opened (it does not exist, or the server failed to read it). `BAD`
//!    is `protocol`. The `up` detail gives the count from `* N EXISTS`.
//! 7. **LOGOUT**, best effort: its answer is awaited briefly (never into the last
//!    moments before the deadline) and any failure,
//!    including the server closing after `* BYE`, is ignored.
//!
//! While waiting for a tagged reply, untagged lines are read and passed over
//! (`EXISTS`, `CAPABILITY` and `BYE` are noted), literals are skipped unread, and a
//! server that keeps talking is cut off after [`super::conn::MAX_READ`] bytes (`protocol`).
//! A connection that closes after an untagged `BYE` is `refused`, with the BYE
//! text in the detail. Server text is quoted short and sanitised ([`wire::Snippet`]).
//!
//! Arguments (user, password, mailbox) are sent as quoted strings when they can be,
//! otherwise as literals (non-synchronising with `LITERAL+`); the mailbox name is
//! encoded in modified UTF-7 (RFC 3501 §5.1.3).

use super::conn::{LineConn, Usage};
use super::mail::{self, Progress, Step, quote, wire_failure};
use super::wire::{self, GreetingKind, IMAP_MAX_LINE, ImapCapabilities, ImapResponse, ImapStatus};
use super::{Failure, Outcome, Up};
use crate::config::{Credentials, ImapSpec, TlsMode};
use crate::model::{Check, ErrorClass};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use std::time::Duration;
use tokio::time::Instant;

/// Checks one `[[imap]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &ImapSpec, timeout: Duration) -> Check {
    check_with_usage(name, spec, timeout).await.0
}

/// [`check`], also returning what the connection held and read (for tests: memory
/// stays bounded whatever the server sends).
pub async fn check_with_usage(name: &str, spec: &ImapSpec, timeout: Duration) -> (Check, Usage) {
    mail::check(name, spec, (&spec.endpoint, IMAP_MAX_LINE), timeout, steps).await
}

async fn steps(spec: &ImapSpec, mut conn: LineConn, step: Step<'_>) -> Outcome {
    let Step {
        deadline,
        started_at,
        phases,
        progress,
    } = step;
    let endpoint = &spec.endpoint;
    let mut s = Session {
        deadline,
        tags: 0,
        bye: None,
        progress,
    };

    let t = Instant::now();
    let line = s.read(&mut conn, "greeting").await?;
    phases.first_byte = Some(t.elapsed());
    let greeting = wire::parse_imap_greeting(&line).map_err(|e| wire_failure("greeting", &e))?;
    let preauth = match greeting.kind {
        GreetingKind::Ok => false,
        GreetingKind::PreAuth => true,
        GreetingKind::Bye => {
            return Err(Failure::new(
                ErrorClass::Refused,
                format!("the server refused service: {}", quote(&greeting.text)),
            ));
        }
    };
    let mut caps = greeting.capabilities;

    if endpoint.tls_mode == TlsMode::Starttls {
        if preauth {
            return Err(Failure::new(
                ErrorClass::Tls,
                "STARTTLS required, but the server greeted with PREAUTH (no STARTTLS after login)",
            ));
        }
        let offered = match caps.take() {
            Some(c) => c,
            None => s.capability(&mut conn).await?,
        };
        if !offered.starttls() {
            return Err(Failure::new(
                ErrorClass::Tls,
                "STARTTLS required but not offered",
            ));
        }
        let done = s
            .command(&mut conn, &[b"STARTTLS\r\n".to_vec()], "STARTTLS")
            .await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Tls,
                format!("STARTTLS refused: {}", done.said()),
            ));
        }
        conn = mail::upgrade(conn, endpoint, started_at, phases, s.progress).await?;
    }

    let Some(credentials) = &endpoint.credentials else {
        // No login: the greeting and a command answered are the check.
        let caps = s.capability(&mut conn).await?;
        s.logout(&mut conn).await;
        let kind = if preauth {
            "preauthenticated"
        } else {
            "no login"
        };
        return Ok(s.up(format!(
            "IMAP ready ({kind}, {} capabilities)",
            caps.atoms().len()
        )));
    };

    if !preauth {
        let caps = match caps {
            Some(c) => c,
            None => s.capability(&mut conn).await?,
        };
        let t = Instant::now();
        let done = s.login(&mut conn, &caps, credentials).await?;
        phases.login = Some(t.elapsed());
        match done.status {
            ImapStatus::Ok => {}
            ImapStatus::No => {
                return Err(Failure::new(
                    ErrorClass::Auth,
                    format!(
                        "login refused for {}: {}",
                        quote(&credentials.username),
                        done.said()
                    ),
                ));
            }
            ImapStatus::Bad => {
                return Err(Failure::new(
                    ErrorClass::Protocol,
                    format!("login: BAD {}", done.said()),
                ));
            }
        }
    }

    let mailbox = astring(mailbox_name(&spec.mailbox).as_bytes());
    // Modified UTF-7 is printable ASCII: the name is always a quoted string.
    let done = s
        .command(
            &mut conn,
            &build(&[Arg::Atom(b"EXAMINE"), mailbox], false),
            "EXAMINE",
        )
        .await?;
    match done.status {
        ImapStatus::Ok => {}
        ImapStatus::No => {
            return Err(Failure::new(
                ErrorClass::Content,
                format!("EXAMINE {} refused: {}", quote(&spec.mailbox), done.said()),
            ));
        }
        ImapStatus::Bad => {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!("EXAMINE: BAD {}", done.said()),
            ));
        }
    }
    s.logout(&mut conn).await;
    let count = match done.exists {
        Some(1) => "1 message".to_owned(),
        Some(n) => format!("{n} messages"),
        None => "opened".to_owned(),
    };
    Ok(s.up(format!("IMAP ok, {}: {count}", spec.mailbox)))
}

/// The conversation's state besides the connection (which STARTTLS replaces).
struct Session<'a> {
    deadline: Instant,
    tags: u32,
    /// The text of an untagged BYE, once one arrived.
    bye: Option<String>,
    progress: &'a mut Progress,
}

/// How a tagged command ended, and what came with it.
#[derive(Debug)]
struct Done {
    status: ImapStatus,
    /// The text of the reply's `[CODE]`, if any.
    code: Option<String>,
    text: String,
    /// The last `* N EXISTS`.
    exists: Option<u32>,
    /// The capabilities of a `* CAPABILITY` or of a `[CAPABILITY ...]` code.
    capabilities: Option<ImapCapabilities>,
}

impl Done {
    /// What the server said, `[CODE] text`, quoted short for a detail.
    fn said(&self) -> wire::Snippet {
        match &self.code {
            Some(code) => quote(&format!("[{code}] {}", self.text)),
            None => quote(&self.text),
        }
    }
}

impl Session<'_> {
    fn up(&self, main: String) -> Up {
        Up {
            detail: self.progress.detail(main),
            flag: None,
            cert_not_after: self.progress.cert_not_after,
        }
    }

    async fn read(&mut self, conn: &mut LineConn, what: &str) -> Result<Vec<u8>, Failure> {
        mail::read_line(conn, self.progress, what)
            .await
            .map_err(|f| match (&self.bye, f.class) {
                (Some(bye), ErrorClass::Refused) => Failure::new(
                    ErrorClass::Refused,
                    format!("{what}: the server said BYE: {}", quote(bye)),
                ),
                _ => f,
            })
    }

    /// Sends a command made of `chunks` (the tag is put in front): after each chunk
    /// but the last, the server must ask for more with a `+` continuation (a
    /// synchronising literal, a SASL exchange). A tagged reply ends the command at
    /// any point.
    async fn command(
        &mut self,
        conn: &mut LineConn,
        chunks: &[Vec<u8>],
        what: &str,
    ) -> Result<Done, Failure> {
        self.tags += 1;
        let tag = format!("a{}", self.tags);
        let mut exists = None;
        let mut capabilities = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            if i == 0 {
                conn.send(&[tag.as_bytes(), b" ", chunk].concat(), what)
                    .await?;
            } else {
                conn.send(chunk, what).await?;
            }
            loop {
                let line = self.read(conn, what).await?;
                let response =
                    wire::parse_imap_response(&line).map_err(|e| wire_failure(what, &e))?;
                if let Some(c) = response.capabilities() {
                    capabilities = Some(c);
                }
                match response {
                    ImapResponse::Untagged {
                        number,
                        kind,
                        text,
                        literal,
                        ..
                    } => {
                        match kind.as_str() {
                            "EXISTS" => exists = number.or(exists),
                            "BYE" => self.bye = Some(text),
                            _ => {}
                        }
                        if let Some(n) = literal {
                            self.skip_literals(conn, n, what).await?;
                        }
                    }
                    ImapResponse::Continuation { .. } if !last => break,
                    ImapResponse::Continuation { .. } => {
                        return Err(Failure::new(
                            ErrorClass::Protocol,
                            format!("{what}: unexpected continuation request"),
                        ));
                    }
                    ImapResponse::Tagged {
                        tag: got,
                        status,
                        code,
                        text,
                    } => {
                        if got != tag {
                            return Err(Failure::new(
                                ErrorClass::Protocol,
                                format!("{what}: reply tagged {} to {tag}", quote(&got)),
                            ));
                        }
                        return Ok(Done {
                            status,
                            code,
                            text,
                            exists,
                            capabilities,
                        });
                    }
                }
            }
        }
        // Every chunk but the last breaks out on a continuation; the last returns.
        Err(Failure::new(
            ErrorClass::Protocol,
            format!("{what}: no tagged reply"),
        ))
    }

    /// Skips the body of a literal of `n` bytes and of the literals that the lines
    /// continuing the same response announce.
    async fn skip_literals(
        &mut self,
        conn: &mut LineConn,
        mut n: u64,
        what: &str,
    ) -> Result<(), Failure> {
        loop {
            conn.skip(n);
            let line = self.read(conn, what).await?;
            match wire::imap_continued_literal(&line).map_err(|e| wire_failure(what, &e))? {
                Some(next) => n = next,
                None => return Ok(()),
            }
        }
    }

    async fn capability(&mut self, conn: &mut LineConn) -> Result<ImapCapabilities, Failure> {
        let done = self
            .command(conn, &[b"CAPABILITY\r\n".to_vec()], "CAPABILITY")
            .await?;
        match (done.status, done.capabilities.clone()) {
            (ImapStatus::Ok, Some(caps)) => Ok(caps),
            (ImapStatus::Ok, None) => Err(Failure::new(
                ErrorClass::Protocol,
                "CAPABILITY: no capability list in the reply",
            )),
            (_, _) => Err(Failure::new(
                ErrorClass::Protocol,
                format!("CAPABILITY failed: {}", done.said()),
            )),
        }
    }

    /// LOGIN, or AUTHENTICATE PLAIN when LOGIN is disabled.
    async fn login(
        &mut self,
        conn: &mut LineConn,
        caps: &ImapCapabilities,
        credentials: &Credentials,
    ) -> Result<Done, Failure> {
        let user = credentials.username.as_bytes();
        let pass = credentials.password.expose().as_bytes();
        if !caps.login_disabled() {
            let literal_plus = caps.has("LITERAL+");
            let chunks = build(
                &[Arg::Atom(b"LOGIN"), astring(user), astring(pass)],
                literal_plus,
            );
            return self.command(conn, &chunks, "LOGIN").await;
        }
        if !caps.auth("PLAIN") {
            return Err(Failure::new(
                ErrorClass::Auth,
                "the server disables LOGIN on this connection and offers no AUTH=PLAIN \
                 (does it want TLS first?)",
            ));
        }
        let response = STANDARD.encode([&b"\0"[..], user, b"\0", pass].concat());
        let chunks = if caps.has("SASL-IR") {
            vec![format!("AUTHENTICATE PLAIN {response}\r\n").into_bytes()]
        } else {
            vec![
                b"AUTHENTICATE PLAIN\r\n".to_vec(),
                format!("{response}\r\n").into_bytes(),
            ]
        };
        self.command(conn, &chunks, "AUTHENTICATE PLAIN").await
    }

    /// LOGOUT, awaited briefly (see [`mail::farewell_until`]); its outcome does not
    /// matter.
    async fn logout(&mut self, conn: &mut LineConn) {
        let chunks = [b"LOGOUT\r\n".to_vec()];
        let until = mail::farewell_until(self.deadline);
        let logout = self.command(conn, &chunks, "LOGOUT");
        let _ = tokio::time::timeout_at(until, logout).await;
    }
}

/// A command argument.
#[derive(Debug)]
enum Arg<'a> {
    /// Sent as is (the command name).
    Atom(&'a [u8]),
    /// A quoted string (its content, unescaped).
    Quoted(Vec<u8>),
    /// A literal.
    Literal(Vec<u8>),
}

/// `value` as a quoted string when IMAP allows it (7-bit, no CR, LF or NUL),
/// otherwise as a literal.
fn astring(value: &[u8]) -> Arg<'static> {
    if value
        .iter()
        .all(|&b| (0x01..0x80).contains(&b) && b != b'\r' && b != b'\n')
    {
        Arg::Quoted(value.to_vec())
    } else {
        Arg::Literal(value.to_vec())
    }
}

/// The chunks of a command (without its tag) made of `args`, ending in CRLF: a
/// synchronising literal ends a chunk (the server must say `+` before the rest);
/// with `literal_plus` literals do not wait.
fn build(args: &[Arg<'_>], literal_plus: bool) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut cur = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            cur.push(b' ');
        }
        match arg {
            Arg::Atom(a) => cur.extend_from_slice(a),
            Arg::Quoted(q) => {
                cur.push(b'"');
                for &b in q {
                    if b == b'"' || b == b'\\' {
                        cur.push(b'\\');
                    }
                    cur.push(b);
                }
                cur.push(b'"');
            }
            Arg::Literal(l) if literal_plus => {
                cur.extend_from_slice(format!("{{{}+}}\r\n", l.len()).as_bytes());
                cur.extend_from_slice(l);
            }
            Arg::Literal(l) => {
                cur.extend_from_slice(format!("{{{}}}\r\n", l.len()).as_bytes());
                chunks.push(std::mem::take(&mut cur));
                cur.extend_from_slice(l);
            }
        }
    }
    cur.extend_from_slice(b"\r\n");
    chunks.push(cur);
    chunks
}

/// A mailbox name in modified UTF-7 (RFC 3501 §5.1.3): printable ASCII as is (`&`
/// as `&-`), every other run as `&` + modified base64 of its UTF-16BE + `-`.
fn mailbox_name(name: &str) -> String {
    fn flush(out: &mut String, run: &mut Vec<u8>) {
        if !run.is_empty() {
            out.push('&');
            out.push_str(&STANDARD_NO_PAD.encode(&run).replace('/', ","));
            out.push('-');
            run.clear();
        }
    }
    let mut out = String::new();
    let mut run = Vec::new();
    for ch in name.chars() {
        if (' '..='~').contains(&ch) {
            flush(&mut out, &mut run);
            out.push(ch);
            if ch == '&' {
                out.push('-');
            }
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                run.extend_from_slice(&unit.to_be_bytes());
            }
        }
    }
    flush(&mut out, &mut run);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(chunks: &[Vec<u8>]) -> Vec<String> {
        chunks
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect()
    }

    #[test]
    fn arguments_are_quoted_or_sent_as_literals() {
        let login = |user: &[u8], pass: &[u8], plus| {
            joined(&build(
                &[Arg::Atom(b"LOGIN"), astring(user), astring(pass)],
                plus,
            ))
        };
        assert_eq!(login(b"u@x", b"p", false), ["LOGIN \"u@x\" \"p\"\r\n"]);
        assert_eq!(
            login(b"u", br#"a"b\c"#, false),
            ["LOGIN \"u\" \"a\\\"b\\\\c\"\r\n"]
        );
        assert_eq!(login(b"u", b"", false), ["LOGIN \"u\" \"\"\r\n"]);
        assert_eq!(
            login(b"u", "pä".as_bytes(), false),
            ["LOGIN \"u\" {3}\r\n", "p\u{e4}\r\n"]
        );
        assert_eq!(
            login(b"u", b"a\r\nb", true),
            ["LOGIN \"u\" {4+}\r\na\r\nb\r\n"]
        );
    }

    #[test]
    fn mailbox_names_are_modified_utf7() {
        #[rustfmt::skip]
        let table = [
            ("INBOX", "INBOX"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("A&B", "A&-B"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("😀", "&2D3eAA-"),
        ];
        for (name, want) in table {
            assert_eq!(mailbox_name(name), want, "{name}");
        }
    }
}
