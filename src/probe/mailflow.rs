//! The mail round-trip probe (`[[mailflow]]`): send a uniquely tagged message
//! through an `[[smtp]]` probe's server, find it through an `[[imap]]` probe's
//! mailbox, record how long delivery took, and delete it.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`]. The
//! caller looks up the two referenced probes and passes their specs.
//!
//! # Steps
//!
//! 1. IMAP: the [`super::imap`] probe's own [`Client`] and steps (connect, TLS as
//!    configured, the greeting with PREAUTH, login with the AUTHENTICATE PLAIN
//!    fallback and literals for non-ASCII, the mailbox name in modified UTF-7),
//!    then `SELECT` of the IMAP probe's `mailbox` (read-write: the message is
//!    deleted at the end), so the round trip and the IMAP probe it names classify a
//!    server alike. The mailbox is opened before sending, so the delivery time does
//!    not include an IMAP login.
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
//! cannot be selected is `content`, as for the IMAP probe. Once the message is found the check is `up`;
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
//! The check runs in one [`Run`] (its deadline is the budget); opening the mailbox
//! and sending each run under the `timeout` sub-deadline. A timeout names the step
//! ("IMAP: no answer within 10000 ms during greeting"). The certificate's expiry is
//! the earliest of both sides' and is kept whatever fails after a handshake.
//!
//! `connect`, `tls` and `login` are those of the SMTP session (what sending mail
//! costs a user); `first_byte` is the **delivery time**, from the server's
//! acceptance of the message to the first search that finds it (so it is precise to
//! the polling interval, 250 ms to 1 s); `total` is the whole check, deletion
//! included. The detail says "delivered in N ms" too.

use super::imap::Client;
use super::smtp::{Session, quote};
use super::wire::SmtpReply;
use super::{Failure, Outcome, Run, Up};
use crate::config::{ImapSpec, MailflowSpec, SmtpSpec};
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
    let budget = budget(spec, timeout);
    Run::check(name, budget, async |run| {
        steps(spec, smtp, imap, timeout, run).await
    })
    .await
    .0
}

async fn steps(
    spec: &MailflowSpec,
    smtp: &SmtpSpec,
    imap_spec: &ImapSpec,
    timeout: Duration,
    run: &mut Run,
) -> Outcome {
    // A sub-deadline: opening the mailbox and sending must each be done within
    // `timeout` of the start; the rest of the budget is the delivery's.
    let setup = run.start + timeout;
    run.side = Some("IMAP");
    let mut imap = run
        .until(setup, async |run| open_mailbox(run, imap_spec).await)
        .await
        .map_err(|f| prefixed("IMAP", f))?;

    // The phases are the SMTP session's: what sending mail costs a user.
    run.phases = Phases::default();
    run.side = Some("SMTP");
    let token = new_token(run.started_at);
    let message = compose(spec, &token, run.started_at);
    run.until(setup, async |run| send(run, smtp, spec, &message).await)
        .await
        .map_err(|f| prefixed("SMTP", f))?;
    let sent = Instant::now();

    let found_by = sent + spec.max_delivery;
    let mut wait = POLL_MIN;
    let uids = loop {
        let uids = search(run, &mut imap, &token)
            .await
            .map_err(|f| prefixed("IMAP", f))?;
        if !uids.is_empty() {
            break uids;
        }
        let now = Instant::now();
        if now >= found_by {
            imap.logout(run).await;
            return Err(Failure::new(
                ErrorClass::Delivery,
                format!("not delivered within {} ms", spec.max_delivery.as_millis()),
            ));
        }
        run.at("waiting for delivery");
        tokio::time::sleep_until(found_by.min(now + wait)).await;
        wait = (wait * 2).min(POLL_MAX);
    };
    let delivery = sent.elapsed();
    run.phases.first_byte = Some(delivery);

    let mut notes = vec![format!("delivered in {} ms", delivery.as_millis())];
    match delete(run, &mut imap, &uids).await {
        Ok(None) => {}
        Ok(Some(note)) => notes.push(note),
        Err(f) => notes.push(format!("could not delete the probe message: {}", f.detail)),
    }
    imap.logout(run).await;
    Ok(Up::new(notes.join("; ")))
}

fn prefixed(side: &str, f: Failure) -> Failure {
    Failure {
        detail: format!("{side}: {}", f.detail),
        ..f
    }
}

/// The IMAP probe's steps up to its mailbox, which is SELECTed (read-write: the
/// message is deleted at the end): the same client, so the same classes.
async fn open_mailbox(run: &mut Run, spec: &ImapSpec) -> Result<Client, Failure> {
    let mut client = Client::connect(run, &spec.endpoint).await?;
    let Some(credentials) = &spec.endpoint.credentials else {
        if !client.preauth {
            return Err(Failure::new(
                ErrorClass::Unknown,
                "the IMAP probe has no credentials: the mailbox cannot be searched",
            ));
        }
        client.open_mailbox(run, &spec.mailbox, false).await?;
        return Ok(client);
    };
    client.login(run, credentials).await?;
    client.open_mailbox(run, &spec.mailbox, false).await?;
    Ok(client)
}

/// The UIDs of the messages tagged with `token` (after a `NOOP`, so that mail
/// delivered since the last command is visible).
async fn search(run: &mut Run, imap: &mut Client, token: &str) -> Result<Vec<u32>, Failure> {
    imap.command(run, &[b"NOOP\r\n".to_vec()], "NOOP").await?;
    let done = imap
        .ok(
            run,
            &format!("UID SEARCH HEADER {PROBE_HEADER} {token}"),
            "SEARCH",
        )
        .await?;
    Ok(done.search)
}

/// Flags `uids` deleted and expunges them, never another message (see step 4 of
/// the module documentation). `Ok(Some(note))` when they were left flagged.
async fn delete(run: &mut Run, imap: &mut Client, uids: &[u32]) -> Result<Option<String>, Failure> {
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    imap.ok(
        run,
        &format!("UID STORE {set} +FLAGS.SILENT (\\Deleted)"),
        "STORE",
    )
    .await?;
    let expunge = if imap.capabilities(run).await?.has("UIDPLUS") {
        format!("UID EXPUNGE {set}")
    } else {
        // A plain EXPUNGE removes every message flagged \Deleted: only when
        // all of them are probe messages.
        let done = imap
            .ok(
                run,
                &format!("UID SEARCH DELETED NOT HEADER {PROBE_HEADER} \"\""),
                "SEARCH DELETED",
            )
            .await?;
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
    imap.ok(run, &expunge, "EXPUNGE").await?;
    Ok(None)
}

/// Sends `message` through `smtp` to `spec.to`.
async fn send(
    run: &mut Run,
    smtp: &SmtpSpec,
    spec: &MailflowSpec,
    message: &[u8],
) -> Result<(), Failure> {
    let (mut session, _) = Session::open(run, smtp).await?;
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
        let reply = session.command(run, line.as_bytes(), what).await?;
        if !ok.contains(&reply.code) {
            return Err(refused(what, &reply));
        }
    }
    let reply = session.data(run, message, "message").await?;
    if reply.code != 250 {
        return Err(refused("message", &reply));
    }
    session.quit(run).await;
    Ok(())
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
    fn the_budget_covers_delivery_and_both_sessions() {
        assert_eq!(
            budget(&spec(), Duration::from_secs(10)),
            Duration::from_secs(320)
        );
    }
}
