//! The mail round-trip probe (`[[mailflow]]`): send a uniquely tagged message
//! through an `[[smtp]]` probe's server, find it through an `[[imap]]` probe's
//! mailbox, record how long delivery took, and delete it.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`]. The
//! caller looks up the two referenced probes and passes their specs.
//!
//! # Steps
//!
//! 1. IMAP: connect, TLS as configured (implicit or STARTTLS), `LOGIN`, `SELECT`
//!    the IMAP probe's `mailbox` (read-write: the message is deleted at the end).
//!    The mailbox is opened before sending, so the delivery time does not include
//!    an IMAP login.
//! 2. SMTP: the [`super::smtp`] probe's dialogue up to AUTH (with the SMTP probe's
//!    credentials), then `MAIL FROM:<from>`, `RCPT TO:<to>`, `DATA` and the message,
//!    dot-stuffed. The message carries a fresh random token in its `Subject`, in an
//!    `X-Slawatch-Probe: <token>` header and in its `Message-ID`, a `Date`, and no
//!    secret. Then `QUIT`.
//! 3. IMAP: `NOOP` (so the server shows new mail) and
//!    `UID SEARCH HEADER X-Slawatch-Probe <token>`, every 250 ms at first, slowing
//!    to once a second, until it is found or `max_delivery` has passed since the
//!    server accepted the message (its `250` after the dot).
//! 4. IMAP: `UID STORE <uid> +FLAGS.SILENT (\Deleted)`, then `UID EXPUNGE <uid>`
//!    when the server has UIDPLUS (only our message goes). Without UIDPLUS a plain
//!    `EXPUNGE` would remove every message flagged `\Deleted`, the user's too, so
//!    it is sent only when `UID SEARCH DELETED NOT HEADER X-Slawatch-Probe ""`
//!    finds no message flagged `\Deleted` but probe messages; otherwise our message
//!    stays flagged and the detail says so. (Another client flagging a message
//!    between that search and the `EXPUNGE` is the one window left.) `LOGOUT`.
//!
//! # Classes
//!
//! SMTP and IMAP failures keep their own classes, and their details start with
//! `SMTP:` or `IMAP:`: `dns`, `refused`, `timeout`, `tls`, `certificate`,
//! `protocol`, `auth` (a refused login on either side), as in [`super::smtp`]. A
//! message the SMTP server refuses (a 4xx/5xx to `MAIL FROM`, `RCPT TO`, `DATA` or
//! after the body) is `delivery`, like one that does not arrive within
//! `max_delivery`: in both cases mail does not get through. An IMAP mailbox that
//! cannot be selected is `protocol`. Once the message is found the check is `up`;
//! a failure to delete it only adds a note to the detail (a message that arrives
//! after `max_delivery` is not deleted by later checks: they only touch their own).
//!
//! # Deadline
//!
//! `timeout` is the budget of each part that talks to a server, and the delivery
//! gets its own `max_delivery`: opening the mailbox and sending must both finish
//! within `timeout` of the start; the search runs until `max_delivery` after the
//! message was accepted; deleting and logging out have until the check's deadline,
//! which is `max_delivery + 2 × timeout` after the start (see [`budget`]).
//!
//! # Phases
//!
//! `connect`, `tls` and `login` are those of the SMTP session (what sending mail
//! costs a user); `first_byte` is the **delivery time**, from the server's
//! acceptance of the message to the first search that finds it (so it is precise to
//! the polling interval, 250 ms to 1 s); `total` is the whole check, deletion
//! included. The detail says "delivered in N ms" too.

use super::conn::{LineConn, Usage};
use super::net;
use super::smtp::{Session, quote};
use super::tls::{self, TlsInfo};
use super::wire::{
    GreetingKind, IMAP_MAX_LINE, ImapCapabilities, ImapResponse, ImapStatus, SmtpReply, Snippet,
    parse_imap_greeting, parse_imap_response,
};
use super::{Failure, Outcome, Run, Up};
use crate::config::{ImapSpec, MailflowSpec, SmtpSpec, TlsMode};
use crate::model::{Check, ErrorClass, Phases, UtcMillis};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// The header that tags a probe message.
pub(crate) const PROBE_HEADER: &str = "X-Slawatch-Probe";

/// The first wait between two searches; it doubles up to [`POLL_MAX`].
pub(crate) const POLL_MIN: Duration = Duration::from_millis(250);
/// The longest wait between two searches.
pub(crate) const POLL_MAX: Duration = Duration::from_secs(1);

/// Most UIDs kept from one `SEARCH` answer (only one message carries the token).
const MAX_UIDS: usize = 16;

/// The whole check's budget: `max_delivery + 2 × timeout` (see the module docs).
pub(crate) fn budget(spec: &MailflowSpec, timeout: Duration) -> Duration {
    spec.max_delivery
        .saturating_add(timeout)
        .saturating_add(timeout)
}

/// Checks one `[[mailflow]]` probe named `name`: sends through `smtp`'s server,
/// looks in `imap`'s mailbox. Runs within [`budget`]`(spec, timeout)`.
pub async fn check(
    name: &str,
    spec: &MailflowSpec,
    smtp: &SmtpSpec,
    imap: &ImapSpec,
    timeout: Duration,
) -> Check {
    let mut run = Run::begin(budget(spec, timeout));
    let setup_deadline = run.start + timeout;
    let outcome = tokio::time::timeout_at(
        run.deadline,
        steps(
            spec,
            smtp,
            imap,
            Deadlines {
                setup: setup_deadline,
                end: run.deadline,
            },
            run.started_at,
            &mut run.phases,
        ),
    )
    .await
    .unwrap_or_else(|_| Err(run.timed_out()));
    run.finish(name, outcome)
}

#[derive(Clone, Copy)]
struct Deadlines {
    /// Opening the mailbox and sending the message end by then.
    setup: Instant,
    /// The check's deadline.
    end: Instant,
}

async fn steps(
    spec: &MailflowSpec,
    smtp: &SmtpSpec,
    imap_spec: &ImapSpec,
    deadlines: Deadlines,
    started_at: UtcMillis,
    phases: &mut Phases,
) -> Outcome {
    let mut imap_phases = Phases::default();
    let (mut imap, imap_tls) = tokio::time::timeout_at(
        deadlines.setup,
        Imap::open(imap_spec, deadlines.end, &mut imap_phases),
    )
    .await
    .unwrap_or_else(|_| {
        Err(Failure::new(
            ErrorClass::Timeout,
            "mailbox not opened in time",
        ))
    })
    .map_err(|f| prefixed("IMAP", f))?;

    let token = new_token(started_at);
    let message = compose(spec, &token, started_at);
    let smtp_tls = send(smtp, spec, &message, deadlines.setup, phases)
        .await
        .map_err(|f| prefixed("SMTP", f))?;
    let sent = Instant::now();

    let found_by = sent + spec.max_delivery;
    let mut wait = POLL_MIN;
    let uids = loop {
        let uids = imap.search(&token).await.map_err(|f| prefixed("IMAP", f))?;
        if !uids.is_empty() {
            break uids;
        }
        let now = Instant::now();
        if now >= found_by {
            imap.logout().await;
            return Err(Failure::new(
                ErrorClass::Delivery,
                format!("not delivered within {} ms", spec.max_delivery.as_millis()),
            ));
        }
        tokio::time::sleep_until(found_by.min(now + wait)).await;
        wait = (wait * 2).min(POLL_MAX);
    };
    let delivery = sent.elapsed();
    phases.first_byte = Some(delivery);

    let mut notes = vec![format!("delivered in {} ms", delivery.as_millis())];
    match imap.delete(&uids).await {
        Ok(None) => {}
        Ok(Some(note)) => notes.push(note),
        Err(f) => notes.push(format!("could not delete the probe message: {}", f.detail)),
    }
    imap.logout().await;
    for (what, info, settings) in [
        ("SMTP", &smtp_tls, &smtp.endpoint.tls),
        ("IMAP", &imap_tls, &imap_spec.endpoint.tls),
    ] {
        if let Some(info) = info {
            notes.extend(
                info.notes(started_at, settings)
                    .into_iter()
                    .map(|n| format!("{what} {n}")),
            );
        }
    }
    let cert_not_after = [&smtp_tls, &imap_tls]
        .into_iter()
        .filter_map(|i| i.as_ref().and_then(|i| i.cert_not_after))
        .min();
    Ok(Up {
        detail: notes.join("; "),
        flag: None,
        cert_not_after,
    })
}

fn prefixed(side: &str, f: Failure) -> Failure {
    Failure {
        detail: format!("{side}: {}", f.detail),
        ..f
    }
}

/// Sends `message` through `smtp` to `spec.to`; the TLS info of the session.
async fn send(
    smtp: &SmtpSpec,
    spec: &MailflowSpec,
    message: &[u8],
    deadline: Instant,
    phases: &mut Phases,
) -> Result<Option<TlsInfo>, Failure> {
    let mut usage = Usage::default();
    let (mut session, opened) = Session::open(smtp, deadline, phases, &mut usage).await?;
    let refused = |what: &str, reply: &SmtpReply| {
        Failure::new(
            ErrorClass::Delivery,
            format!("{what} refused: {}", quote(reply)),
        )
    };
    let envelope = [
        (
            format!("MAIL FROM:<{}>\r\n", spec.from),
            "MAIL FROM",
            250..=250,
        ),
        (format!("RCPT TO:<{}>\r\n", spec.to), "RCPT TO", 250..=251),
        ("DATA\r\n".to_owned(), "DATA", 354..=354),
    ];
    for (line, what, ok) in envelope {
        let reply = session.command(line.as_bytes(), what, &mut usage).await?;
        if !ok.contains(&reply.code) {
            return Err(refused(what, &reply));
        }
    }
    session.send(message, "message").await?;
    let reply = session.reply("message", &mut usage).await?;
    if reply.code != 250 {
        return Err(refused("message", &reply));
    }
    session.quit().await;
    Ok(opened.tls)
}

/// A fresh token: 32 hex digits from the std hasher's random keys, the start time
/// and a process-wide counter. Unguessable enough that no other mail carries it,
/// and unique across the checks of one process.
pub(crate) fn new_token(started_at: UtcMillis) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(started_at.0);
        h.write_u64(n);
        h.write_u32(std::process::id());
        h.write_usize(i);
        *half = h.finish();
    }
    format!("{:016x}{:016x}", halves[0], halves[1])
}

/// The message for `token`, CRLF line ends, dot-stuffed and terminated by
/// `CRLF.CRLF`, ready to follow `DATA`.
pub(crate) fn compose(spec: &MailflowSpec, token: &str, at: UtcMillis) -> Vec<u8> {
    let date = jiff::fmt::rfc2822::to_string(
        &at.to_timestamp().to_zoned_datetime(jiff::tz::TimeZone::UTC),
    )
    .unwrap_or_default();
    let domain = spec
        .from
        .rsplit_once('@')
        .map_or("slawatch.invalid", |(_, d)| d);
    let text = format!(
        "From: <{from}>\n\
         To: <{to}>\n\
         Subject: slawatch mail round trip {token}\n\
         Date: {date}\n\
         Message-ID: <{token}.slawatch@{domain}>\n\
         {PROBE_HEADER}: {token}\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=us-ascii\n\
         \n\
         This message measures mail delivery for slawatch.\n\
         It is deleted as soon as it is found.\n",
        from = spec.from,
        to = spec.to,
    );
    let mut out = dot_stuff(&text);
    out.extend_from_slice(b".\r\n");
    out
}

/// `text` with CRLF line ends and a dot doubled at the start of every line
/// (RFC 5321 §4.5.2), ending with CRLF.
pub(crate) fn dot_stuff(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    for line in text.lines() {
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The few IMAP commands the round trip needs, over a [`LineConn`].
///
/// Shareable later with the `[[imap]]` probe's client: greeting, STARTTLS and
/// LOGIN are the same steps.
struct Imap {
    conn: LineConn,
    tag: u32,
    caps: Option<ImapCapabilities>,
}

/// How a tagged command ended, with what its untagged responses said.
struct Done {
    status: ImapStatus,
    text: String,
    /// The numbers of `* SEARCH` responses (at most [`MAX_UIDS`]).
    search: Vec<u32>,
}

impl Imap {
    /// Connects, starts TLS as configured, logs in and selects the mailbox.
    async fn open(
        spec: &ImapSpec,
        deadline: Instant,
        phases: &mut Phases,
    ) -> Result<(Imap, Option<TlsInfo>), Failure> {
        let ep = &spec.endpoint;
        let server_name = ep.tls.server_name.as_deref().unwrap_or(&ep.host);
        let stream = net::connect(&ep.host, ep.port, deadline, phases).await?;
        let mut tls_info = None;
        let mut conn = if ep.tls_mode == TlsMode::Implicit {
            let (stream, info) = tls::handshake(stream, server_name, &ep.tls, deadline).await?;
            tls_info = Some(info);
            LineConn::tls(stream, IMAP_MAX_LINE, deadline)
        } else {
            LineConn::plain(stream, IMAP_MAX_LINE, deadline)
        };
        if let Some(c) = &ep.credentials {
            conn.redact_credentials(&c.username, c.password.expose());
        }
        let mut imap = Imap {
            conn,
            tag: 0,
            caps: None,
        };
        let line = imap.conn.read_line("greeting").await?;
        let greeting = parse_imap_greeting(&line)
            .map_err(|e| Failure::new(e.class(), format!("greeting: {e}")))?;
        match greeting.kind {
            GreetingKind::Ok => {}
            GreetingKind::Bye => {
                return Err(Failure::new(
                    ErrorClass::Refused,
                    format!(
                        "the server refuses service: {}",
                        Snippet::of(greeting.text.as_bytes())
                    ),
                ));
            }
            GreetingKind::PreAuth => {
                return Err(Failure::new(
                    ErrorClass::Protocol,
                    "the server pre-authenticated the connection (PREAUTH): cannot log in as the probe's user",
                ));
            }
        }
        imap.caps = greeting.capabilities;

        if ep.tls_mode == TlsMode::Starttls {
            let caps = imap.capabilities().await?;
            if !caps.starttls() {
                return Err(Failure::new(
                    ErrorClass::Tls,
                    "STARTTLS required but not offered",
                ));
            }
            let done = imap.command("STARTTLS", "STARTTLS").await?;
            if done.status != ImapStatus::Ok {
                return Err(Failure::new(
                    ErrorClass::Tls,
                    format!("STARTTLS refused: {}", Snippet::of(done.text.as_bytes())),
                ));
            }
            let (conn, info) = imap.conn.start_tls(server_name, &ep.tls).await?;
            tls_info = Some(info);
            imap = Imap {
                conn,
                tag: imap.tag,
                caps: None,
            };
        }

        let Some(creds) = &ep.credentials else {
            return Err(Failure::new(
                ErrorClass::Unknown,
                "the IMAP probe has no credentials: the mailbox cannot be searched",
            ));
        };
        if imap.capabilities().await?.login_disabled() {
            return Err(Failure::new(
                ErrorClass::Auth,
                "the server forbids LOGIN here (LOGINDISABLED)",
            ));
        }
        let (Some(user), Some(pass)) = (quoted(&creds.username), quoted(creds.password.expose()))
        else {
            return Err(Failure::new(
                ErrorClass::Unknown,
                "the user name or password holds a line break or NUL: not sent",
            ));
        };
        let done = imap
            .command(&format!("LOGIN {user} {pass}"), "LOGIN")
            .await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Auth,
                format!("login refused: {}", Snippet::of(done.text.as_bytes())),
            ));
        }
        // The capabilities may change after login (UIDPLUS appears on some servers).
        imap.caps = None;
        let Some(mailbox) = quoted(&spec.mailbox) else {
            return Err(Failure::new(ErrorClass::Unknown, "invalid mailbox name"));
        };
        let done = imap.command(&format!("SELECT {mailbox}"), "SELECT").await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!(
                    "cannot select {mailbox}: {}",
                    Snippet::of(done.text.as_bytes())
                ),
            ));
        }
        Ok((imap, tls_info))
    }

    /// The capabilities: those already announced, else from `CAPABILITY`.
    async fn capabilities(&mut self) -> Result<ImapCapabilities, Failure> {
        if self.caps.is_none() {
            self.command("CAPABILITY", "CAPABILITY").await?;
        }
        Ok(self.caps.clone().unwrap_or_default())
    }

    /// The UIDs of the messages tagged with `token` (after a `NOOP`, so that mail
    /// delivered since the last command is visible).
    async fn search(&mut self, token: &str) -> Result<Vec<u32>, Failure> {
        self.command("NOOP", "NOOP").await?;
        let done = self
            .command(
                &format!("UID SEARCH HEADER {PROBE_HEADER} {token}"),
                "SEARCH",
            )
            .await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!("SEARCH refused: {}", Snippet::of(done.text.as_bytes())),
            ));
        }
        Ok(done.search)
    }

    /// Flags `uids` deleted and expunges them, never another message (see step 4 of
    /// the module documentation). `Ok(Some(note))` when they were left flagged.
    async fn delete(&mut self, uids: &[u32]) -> Result<Option<String>, Failure> {
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let done = self
            .command(
                &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
                "STORE",
            )
            .await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!("STORE refused: {}", Snippet::of(done.text.as_bytes())),
            ));
        }
        let expunge = if self.capabilities().await?.has("UIDPLUS") {
            format!("UID EXPUNGE {set}")
        } else {
            // A plain EXPUNGE removes every message flagged \Deleted: only when
            // all of them are probe messages.
            let done = self
                .command(
                    &format!("UID SEARCH DELETED NOT HEADER {PROBE_HEADER} \"\""),
                    "SEARCH",
                )
                .await?;
            if done.status != ImapStatus::Ok {
                return Err(Failure::new(
                    ErrorClass::Protocol,
                    format!(
                        "SEARCH DELETED refused: {}",
                        Snippet::of(done.text.as_bytes())
                    ),
                ));
            }
            let others: Vec<u32> = done
                .search
                .into_iter()
                .filter(|u| !uids.contains(u))
                .collect();
            if !others.is_empty() {
                return Ok(Some(format!(
                    "the probe message is left flagged \\Deleted, not expunged: the server \
                     has no UIDPLUS and {} other message{} flagged \\Deleted",
                    others.len(),
                    if others.len() == 1 { " is" } else { "s are" }
                )));
            }
            "EXPUNGE".to_owned()
        };
        let done = self.command(&expunge, "EXPUNGE").await?;
        if done.status != ImapStatus::Ok {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!("EXPUNGE refused: {}", Snippet::of(done.text.as_bytes())),
            ));
        }
        Ok(None)
    }

    /// `LOGOUT`, waiting at most a second for the answer; failures are ignored.
    async fn logout(&mut self) {
        let _ =
            tokio::time::timeout(super::smtp::QUIT_WAIT, self.command("LOGOUT", "LOGOUT")).await;
    }

    /// Sends `tag command` and reads up to its tagged answer. `what` names the step
    /// in failures (and never contains a password).
    async fn command(&mut self, command: &str, what: &str) -> Result<Done, Failure> {
        self.tag += 1;
        let tag = format!("m{}", self.tag);
        self.conn
            .send(format!("{tag} {command}\r\n").as_bytes(), what)
            .await?;
        let mut search = Vec::new();
        let mut bye = None;
        loop {
            let line = match self.conn.read_line(what).await {
                Ok(line) => line,
                Err(f) if f.class == ErrorClass::Refused && bye.is_some() => {
                    let text: String = bye.unwrap_or_default();
                    return Err(Failure::new(
                        ErrorClass::Refused,
                        format!(
                            "{what}: the server said BYE: {}",
                            Snippet::of(text.as_bytes())
                        ),
                    ));
                }
                Err(f) => return Err(f),
            };
            let response = parse_imap_response(&line)
                .map_err(|e| Failure::new(e.class(), format!("{what}: {e}")))?;
            if let Some(caps) = response.capabilities() {
                self.caps = Some(caps);
            }
            match response {
                ImapResponse::Untagged {
                    kind,
                    text,
                    literal,
                    ..
                } => {
                    if let Some(n) = literal {
                        self.conn.skip(n);
                    }
                    match kind.as_str() {
                        "SEARCH" => search.extend(
                            text.split_ascii_whitespace()
                                .filter_map(|n| n.parse::<u32>().ok())
                                .take(MAX_UIDS.saturating_sub(search.len())),
                        ),
                        "BYE" => bye = Some(text),
                        _ => {}
                    }
                }
                ImapResponse::Tagged {
                    tag: t,
                    status,
                    text,
                    ..
                } if t == tag => {
                    return Ok(Done {
                        status,
                        text,
                        search,
                    });
                }
                ImapResponse::Tagged { tag: t, .. } => {
                    return Err(Failure::new(
                        ErrorClass::Protocol,
                        format!(
                            "{what}: answer for an unknown tag {}",
                            Snippet::of(t.as_bytes())
                        ),
                    ));
                }
                ImapResponse::Continuation { .. } => {
                    return Err(Failure::new(
                        ErrorClass::Protocol,
                        format!("{what}: unexpected continuation request"),
                    ));
                }
            }
        }
    }
}

/// `s` as an IMAP quoted string; `None` when it holds CR, LF or NUL, which a
/// quoted string cannot carry.
fn quoted(s: &str) -> Option<String> {
    if s.contains(['\r', '\n', '\0']) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MailflowSpec {
        MailflowSpec {
            smtp: "out".into(),
            imap: "in".into(),
            from: "probe@example.test".into(),
            to: "probe@example.test".into(),
            max_delivery: Duration::from_secs(300),
        }
    }

    #[test]
    fn dots_are_stuffed_and_lines_end_in_crlf() {
        assert_eq!(dot_stuff("a\n.b\n..c\nd.\n"), b"a\r\n..b\r\n...c\r\nd.\r\n");
        assert_eq!(dot_stuff(".\r\nx"), b"..\r\nx\r\n");
    }

    #[test]
    fn the_message_is_tagged_dated_and_terminated() {
        let at = UtcMillis(1_712_139_330_000);
        let m = String::from_utf8(compose(&spec(), "abc123", at)).unwrap();
        assert!(
            m.contains("\r\nSubject: slawatch mail round trip abc123\r\n"),
            "{m}"
        );
        assert!(m.contains("\r\nX-Slawatch-Probe: abc123\r\n"), "{m}");
        assert!(
            m.contains("\r\nMessage-ID: <abc123.slawatch@example.test>\r\n"),
            "{m}"
        );
        assert!(
            m.contains("\r\nDate: Wed, 3 Apr 2024 10:15:30 +0000\r\n"),
            "{m}"
        );
        assert!(m.ends_with("found.\r\n.\r\n"), "{m}");
        assert!(!m.replace("\r\n", "").contains('\n'), "bare LF: {m}");
    }

    #[test]
    fn tokens_are_unique_hex() {
        let at = UtcMillis(1);
        let a = new_token(at);
        let b = new_token(at);
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    }

    #[test]
    fn quoting_escapes_and_refuses_line_breaks() {
        assert_eq!(quoted(r#"pa"ss\word"#).unwrap(), r#""pa\"ss\\word""#);
        assert_eq!(quoted("INBOX").unwrap(), "\"INBOX\"");
        assert_eq!(quoted("a\r\nb"), None);
    }

    #[test]
    fn the_budget_covers_delivery_and_both_sessions() {
        assert_eq!(
            budget(&spec(), Duration::from_secs(10)),
            Duration::from_secs(320)
        );
    }
}
