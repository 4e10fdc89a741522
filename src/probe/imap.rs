//! The IMAP probe: greeting, CAPABILITY, STARTTLS, LOGIN, EXAMINE, LOGOUT.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`], and the
//! whole conversation runs under one deadline (`timeout` from its start, see
//! [`Run`]). The steps, and how each failure is classified:
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
//!
//! The steps are those of [`Client`], the one IMAP client of the crate: the mail
//! round trip ([`super::mailflow`]) opens its mailbox with the same greeting,
//! STARTTLS, login and SELECT (read-write, where this probe EXAMINEs), so both
//! classify a server the same way.

use super::conn::{LineConn, Usage};
use super::mail::{self, wire_failure};
use super::wire::{self, GreetingKind, IMAP_MAX_LINE, ImapCapabilities, ImapResponse, ImapStatus};
use super::{Failure, Outcome, Run, Up, quote};
use crate::config::{Credentials, ImapSpec, MailEndpoint, TlsMode};
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
    Run::check(name, timeout, async |run| steps(spec, run).await).await
}

async fn steps(spec: &ImapSpec, run: &mut Run) -> Outcome {
    let endpoint = &spec.endpoint;
    let mut client = Client::connect(run, endpoint).await?;
    let Some(credentials) = &endpoint.credentials else {
        // No login: the greeting and a command answered are the check.
        let caps = client.capability(run).await?;
        client.logout(run).await;
        let kind = if client.preauth {
            "preauthenticated"
        } else {
            "no login"
        };
        return Ok(Up::new(format!(
            "IMAP ready ({kind}, {} capabilities)",
            caps.atoms().len()
        )));
    };
    client.login(run, credentials).await?;
    let done = client.open_mailbox(run, &spec.mailbox, true).await?;
    client.logout(run).await;
    let count = match done.exists {
        Some(1) => "1 message".to_owned(),
        Some(n) => format!("{n} messages"),
        None => "opened".to_owned(),
    };
    Ok(Up::new(format!("IMAP ok, {}: {count}", spec.mailbox)))
}

/// The crate's IMAP client: the steps of the module docs, each classifying its
/// failures, over a [`LineConn`] (which STARTTLS replaces) in a check's [`Run`].
#[derive(Debug)]
pub(crate) struct Client {
    conn: LineConn,
    tags: u32,
    /// The text of an untagged BYE, once one arrived.
    bye: Option<String>,
    /// The capabilities last announced (greeting, code, `* CAPABILITY`), void after
    /// STARTTLS and login.
    caps: Option<ImapCapabilities>,
    /// The greeting was `* PREAUTH`: the connection is logged in already.
    pub(crate) preauth: bool,
}

/// How a tagged command ended, and what came with it.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) status: ImapStatus,
    /// The text of the reply's `[CODE]`, if any.
    code: Option<String>,
    text: String,
    /// The last `* N EXISTS`.
    pub(crate) exists: Option<u32>,
    /// The capabilities of a `* CAPABILITY` or of a `[CAPABILITY ...]` code.
    capabilities: Option<ImapCapabilities>,
    /// The numbers of `* SEARCH` responses (at most [`MAX_SEARCH`]).
    pub(crate) search: Vec<u32>,
}

/// Most numbers kept from the `* SEARCH` responses to one command.
pub(crate) const MAX_SEARCH: usize = 16;

impl Done {
    /// What the server said, `[CODE] text`, quoted short for a detail.
    pub(crate) fn said(&self) -> wire::Snippet {
        match &self.code {
            Some(code) => quote(format!("[{code}] {}", self.text)),
            None => quote(&self.text),
        }
    }
}

impl Client {
    /// Steps 1, 2 and 4 of the module docs: connect (TLS at once if implicit), the
    /// greeting (phase `first_byte`), STARTTLS when configured.
    pub(crate) async fn connect(run: &mut Run, endpoint: &MailEndpoint) -> Result<Client, Failure> {
        let conn = mail::open(run, endpoint, IMAP_MAX_LINE).await?;
        let mut client = Client {
            conn,
            tags: 0,
            bye: None,
            caps: None,
            preauth: false,
        };
        let t = Instant::now();
        let line = client.read(run, "greeting").await?;
        run.phases.first_byte = Some(t.elapsed());
        let greeting =
            wire::parse_imap_greeting(&line).map_err(|e| wire_failure("greeting", &e))?;
        client.preauth = match greeting.kind {
            GreetingKind::Ok => false,
            GreetingKind::PreAuth => true,
            GreetingKind::Bye => {
                return Err(Failure::new(
                    ErrorClass::Refused,
                    format!("the server refused service: {}", quote(&greeting.text)),
                ));
            }
        };
        client.caps = greeting.capabilities;
        if endpoint.tls_mode == TlsMode::Starttls {
            client = client.starttls(run, endpoint).await?;
        }
        Ok(client)
    }

    async fn starttls(mut self, run: &mut Run, endpoint: &MailEndpoint) -> Result<Client, Failure> {
        if self.preauth {
            return Err(Failure::new(
                ErrorClass::Tls,
                "STARTTLS required, but the server greeted with PREAUTH (no STARTTLS after login)",
            ));
        }
        if !self.capabilities(run).await?.starttls() {
            return Err(Failure::new(
                ErrorClass::Tls,
                "STARTTLS required but not offered",
            ));
        }
        let done = self
            .command(run, &[b"STARTTLS\r\n".to_vec()], "STARTTLS")
            .await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Tls,
                format!("STARTTLS refused: {}", done.said()),
            ));
        }
        self.conn = mail::upgrade(run, self.conn, endpoint).await?;
        // RFC 9051 §6.2.1: the capabilities from before TLS are void.
        self.caps = None;
        Ok(self)
    }

    /// Step 5 (phase `login`), unless the greeting was PREAUTH: LOGIN, or
    /// AUTHENTICATE PLAIN when LOGIN is disabled; `NO` is `auth`, `BAD` `protocol`.
    pub(crate) async fn login(
        &mut self,
        run: &mut Run,
        credentials: &Credentials,
    ) -> Result<(), Failure> {
        if self.preauth {
            return Ok(());
        }
        let caps = self.capabilities(run).await?;
        // The capabilities may change after login (UIDPLUS appears on some servers).
        self.caps = None;
        let t = Instant::now();
        let done = self.authenticate(run, &caps, credentials).await;
        run.phases.login = Some(t.elapsed());
        let done = done?;
        match done.status {
            ImapStatus::Ok => Ok(()),
            ImapStatus::No => Err(Failure::new(
                ErrorClass::Auth,
                format!(
                    "login refused for {}: {}",
                    quote(&credentials.username),
                    done.said()
                ),
            )),
            ImapStatus::Bad => Err(Failure::new(
                ErrorClass::Protocol,
                format!("login: BAD {}", done.said()),
            )),
        }
    }

    /// Step 6: EXAMINE (`read_only`) or SELECT `mailbox`, its name in modified UTF-7.
    /// `NO` is `content` (the server works, the configured mailbox cannot be
    /// opened), `BAD` is `protocol`.
    pub(crate) async fn open_mailbox(
        &mut self,
        run: &mut Run,
        mailbox: &str,
        read_only: bool,
    ) -> Result<Done, Failure> {
        let (verb, what): (&[u8], _) = if read_only {
            (b"EXAMINE", "EXAMINE")
        } else {
            (b"SELECT", "SELECT")
        };
        // Modified UTF-7 is printable ASCII: the name is always a quoted string.
        let name = astring(mailbox_name(mailbox).as_bytes());
        let done = self
            .command(run, &build(&[Arg::Atom(verb), name], false), what)
            .await?;
        match done.status {
            ImapStatus::Ok => Ok(done),
            ImapStatus::No => Err(Failure::new(
                ErrorClass::Content,
                format!("{what} {} refused: {}", quote(mailbox), done.said()),
            )),
            ImapStatus::Bad => Err(Failure::new(
                ErrorClass::Protocol,
                format!("{what}: BAD {}", done.said()),
            )),
        }
    }

    /// Sends `command` (ASCII, without tag and CRLF) and requires `OK`: anything
    /// else is `protocol`, "`what` refused: ...".
    pub(crate) async fn ok(
        &mut self,
        run: &mut Run,
        command: &str,
        what: &'static str,
    ) -> Result<Done, Failure> {
        let line = format!("{command}\r\n").into_bytes();
        let done = self.command(run, &[line], what).await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!("{what} refused: {}", done.said()),
            ));
        }
        Ok(done)
    }

    /// The capabilities: those last announced, else asked with CAPABILITY.
    pub(crate) async fn capabilities(
        &mut self,
        run: &mut Run,
    ) -> Result<ImapCapabilities, Failure> {
        match &self.caps {
            Some(c) => Ok(c.clone()),
            None => self.capability(run).await,
        }
    }

    /// Step 7: LOGOUT, awaited briefly (see [`mail::farewell`]); its outcome does
    /// not matter.
    pub(crate) async fn logout(&mut self, run: &mut Run) {
        mail::farewell(run, async |run| {
            self.command(run, &[b"LOGOUT\r\n".to_vec()], "LOGOUT")
                .await
                .map(|_| ())
        })
        .await;
    }

    async fn read(&mut self, run: &mut Run, what: &'static str) -> Result<Vec<u8>, Failure> {
        mail::read_line(run, &mut self.conn, what)
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
    /// any point. Untagged lines are passed over (`EXISTS`, `SEARCH`, `BYE` and
    /// capabilities noted), with every literal they carry skipped unread.
    pub(crate) async fn command(
        &mut self,
        run: &mut Run,
        chunks: &[Vec<u8>],
        what: &'static str,
    ) -> Result<Done, Failure> {
        self.tags += 1;
        let tag = format!("a{}", self.tags);
        let mut exists = None;
        let mut capabilities = None;
        let mut search = Vec::new();
        run.at(what);
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            if i == 0 {
                self.conn
                    .send(&[tag.as_bytes(), b" ", chunk].concat(), what)
                    .await?;
            } else {
                self.conn.send(chunk, what).await?;
            }
            loop {
                let line = self.read(run, what).await?;
                let response =
                    wire::parse_imap_response(&line).map_err(|e| wire_failure(what, &e))?;
                if let Some(c) = response.capabilities() {
                    self.caps = Some(c.clone());
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
                            "SEARCH" => search.extend(
                                text.split_ascii_whitespace()
                                    .filter_map(|n| n.parse::<u32>().ok())
                                    .take(MAX_SEARCH.saturating_sub(search.len())),
                            ),
                            "BYE" => self.bye = Some(text),
                            _ => {}
                        }
                        if let Some(n) = literal {
                            self.skip_literals(run, n, what).await?;
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
                            search,
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
    /// continuing the same response announce, however many.
    async fn skip_literals(
        &mut self,
        run: &mut Run,
        mut n: u64,
        what: &'static str,
    ) -> Result<(), Failure> {
        loop {
            self.conn.skip(n);
            let line = self.read(run, what).await?;
            match wire::imap_continued_literal(&line).map_err(|e| wire_failure(what, &e))? {
                Some(next) => n = next,
                None => return Ok(()),
            }
        }
    }

    /// CAPABILITY, always sent (without credentials it is the command that proves
    /// the server answers).
    async fn capability(&mut self, run: &mut Run) -> Result<ImapCapabilities, Failure> {
        let done = self
            .command(run, &[b"CAPABILITY\r\n".to_vec()], "CAPABILITY")
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
    async fn authenticate(
        &mut self,
        run: &mut Run,
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
            return self.command(run, &chunks, "LOGIN").await;
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
        self.command(run, &chunks, "AUTHENTICATE PLAIN").await
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
