//! The mail round-trip probe against a real Postfix (submission with Dovecot SASL)
//! delivering over LMTP to a real Dovecot, searched over IMAP.

use crate::peers::dovecot::Dovecot;
use crate::peers::free_addr;
use crate::peers::postfix::{Postfix, RECIPIENT};
use slawatch::config::{
    Credentials, ImapSpec, MailEndpoint, MailflowSpec, Secret, SmtpSpec, TlsMode, TlsSettings,
};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::mailflow;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// Over Dovecot's 2 s `auth_failure_delay` plus Postfix's 1 s error sleep.
const TIMEOUT: Duration = Duration::from_secs(10);

fn endpoint(addr: SocketAddr, tls_mode: TlsMode, ca: &Path, d: &Dovecot) -> MailEndpoint {
    MailEndpoint {
        host: addr.ip().to_string(),
        port: addr.port(),
        tls_mode,
        tls: TlsSettings {
            verify: true,
            ca_file: Some(ca.to_path_buf()),
            server_name: None,
            cert_expiry_warn: Duration::from_secs(14 * 86_400),
        },
        credentials: Some(Credentials {
            username: d.user.clone(),
            password: Secret::new(d.password.clone()),
        }),
    }
}

fn smtp_spec(addr: SocketAddr, tls_mode: TlsMode, p: &Postfix, d: &Dovecot) -> SmtpSpec {
    SmtpSpec {
        endpoint: endpoint(addr, tls_mode, &p.ca, d),
        helo: "probe.example.test".to_owned(),
    }
}

fn imap_spec(addr: SocketAddr, tls_mode: TlsMode, d: &Dovecot) -> ImapSpec {
    ImapSpec {
        endpoint: endpoint(addr, tls_mode, &d.ca, d),
        mailbox: "INBOX".to_owned(),
    }
}

fn flow(max_delivery: Duration) -> MailflowSpec {
    MailflowSpec {
        smtp: "out".to_owned(),
        imap: "in".to_owned(),
        from: RECIPIENT.to_owned(),
        to: RECIPIENT.to_owned(),
        max_delivery,
    }
}

/// Messages in the test user's Maildir (new and cur).
fn stored(d: &Dovecot) -> usize {
    let maildir = d.path().join("mail").join(&d.user);
    ["new", "cur"]
        .iter()
        .map(|sub| std::fs::read_dir(maildir.join(sub)).map_or(0, Iterator::count))
        .sum()
}

#[track_caller]
fn assert_down(c: &Check, class: ErrorClass, prefix: &str) {
    assert_eq!((c.status, c.class), (Status::Down, Some(class)), "{c:?}");
    assert!(c.detail.starts_with(prefix), "{c:?}");
}

#[tokio::test]
async fn round_trip_is_up_timed_and_cleaned_up() {
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let spec = flow(Duration::from_secs(20));
    let via_submission = smtp_spec(p.submission, TlsMode::Starttls, &p, &d);
    let via_smtps = smtp_spec(p.smtps, TlsMode::Implicit, &p, &d);
    let imap = imap_spec(d.imap, TlsMode::Starttls, &d);
    let imaps = imap_spec(d.imaps, TlsMode::Implicit, &d);
    // Two checks at once into one mailbox: each finds and deletes only its own.
    let (a, b) = tokio::join!(
        mailflow::check("flow-a", &spec, &via_submission, &imap, TIMEOUT),
        mailflow::check("flow-b", &spec, &via_smtps, &imaps, TIMEOUT),
    );
    let logs = || format!("{}\n{}", p.log_text(), d.log_text());
    for c in [&a, &b] {
        assert_eq!((c.status, c.class), (Status::Up, None), "{c:?}\n{}", logs());
        let delivery = c.phases.first_byte.expect("the delivery time is recorded");
        assert_eq!(
            c.detail,
            format!("delivered in {} ms", delivery.as_millis()),
            "{c:?}"
        );
        assert!(delivery < Duration::from_secs(20), "{c:?}");
        assert!(
            c.phases.connect.is_some() && c.phases.tls.is_some(),
            "{c:?}"
        );
        assert!(
            c.phases.login.is_some() && c.cert_not_after.is_some(),
            "{c:?}"
        );
    }
    // Both messages really went through Postfix and Dovecot...
    let log = p.log_text();
    assert_eq!(log.matches("status=sent").count(), 2, "{log}");
    // ...and are gone from the mailbox.
    assert_eq!(stored(&d), 0, "{}", logs());
}

#[tokio::test]
async fn undelivered_mail_is_delivery() {
    let d = Dovecot::start();
    // Postfix accepts the message but its LMTP next hop is a closed port.
    let p = Postfix::start(free_addr(), &d.auth_socket);
    let max_delivery = Duration::from_millis(1500);
    let start = Instant::now();
    let c = mailflow::check(
        "flow",
        &flow(max_delivery),
        &smtp_spec(p.submission, TlsMode::Starttls, &p, &d),
        &imap_spec(d.imap, TlsMode::None, &d),
        TIMEOUT,
    )
    .await;
    let took = start.elapsed();
    assert_down(&c, ErrorClass::Delivery, "not delivered within 1500 ms");
    assert!(took >= max_delivery, "{took:?}");
    assert!(took < max_delivery + 2 * TIMEOUT, "{took:?}");
    // The SMTP side did its part: Postfix queued the message.
    assert!(p.log_text().contains("status=deferred"), "{}", p.log_text());

    // A recipient the server refuses: mail does not get through either.
    let mut to_nobody = flow(max_delivery);
    to_nobody.to = "nobody@example.test".to_owned();
    let c = mailflow::check(
        "flow",
        &to_nobody,
        &smtp_spec(p.submission, TlsMode::Starttls, &p, &d),
        &imap_spec(d.imap, TlsMode::None, &d),
        TIMEOUT,
    )
    .await;
    assert_down(&c, ErrorClass::Delivery, "SMTP: RCPT TO refused: '550");
}

fn with_wrong_password(mut e: MailEndpoint) -> MailEndpoint {
    if let Some(c) = &mut e.credentials {
        c.password = Secret::new("wrong-password".to_owned());
    }
    e
}

#[tokio::test]
async fn smtp_wrong_password_is_auth_and_sends_nothing() {
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let mut smtp = smtp_spec(p.submission, TlsMode::Starttls, &p, &d);
    smtp.endpoint = with_wrong_password(smtp.endpoint);
    let imap = imap_spec(d.imap, TlsMode::None, &d);
    let c = mailflow::check("flow", &flow(Duration::from_secs(5)), &smtp, &imap, TIMEOUT).await;
    assert_down(&c, ErrorClass::Auth, "SMTP: login refused: '535");
    assert!(c.phases.login.is_some(), "{c:?}");
    assert!(!p.log_text().contains("status=sent"), "{}", p.log_text());
    assert_eq!(stored(&d), 0);
}

#[tokio::test]
async fn imap_wrong_password_is_auth_before_anything_is_sent() {
    let d = Dovecot::start();
    let mut imap = imap_spec(d.imap, TlsMode::None, &d);
    imap.endpoint = with_wrong_password(imap.endpoint);
    // The mailbox is opened first: the SMTP server (nothing listens) is never tried.
    let smtp = SmtpSpec {
        endpoint: endpoint(free_addr(), TlsMode::None, &d.ca, &d),
        helo: "probe.example.test".to_owned(),
    };
    let c = mailflow::check("flow", &flow(Duration::from_secs(5)), &smtp, &imap, TIMEOUT).await;
    assert_down(&c, ErrorClass::Auth, "IMAP: login refused");
}

/// An in-process IMAP "server" that sends `greeting` (if any) and then holds the
/// connection without a word.
async fn silent_imap(greeting: Option<&'static [u8]>) -> SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Some(g) = greeting {
                    let _ = s.write_all(g).await;
                }
                tokio::time::sleep(Duration::from_secs(120)).await;
            });
        }
    });
    addr
}

/// Plain specs with made-up credentials: an SMTP server nothing listens on (the
/// IMAP side fails first, so it is never tried) and the IMAP server at `imap`.
fn unreachable_smtp_and(imap: SocketAddr) -> (SmtpSpec, ImapSpec) {
    let plain = |addr: SocketAddr| MailEndpoint {
        host: addr.ip().to_string(),
        port: addr.port(),
        tls_mode: TlsMode::None,
        tls: TlsSettings {
            verify: true,
            ca_file: None,
            server_name: None,
            cert_expiry_warn: Duration::ZERO,
        },
        credentials: Some(Credentials {
            username: RECIPIENT.to_owned(),
            password: Secret::new("password".to_owned()),
        }),
    };
    let smtp = SmtpSpec {
        endpoint: plain(free_addr()),
        helo: "probe.example.test".to_owned(),
    };
    let imap = ImapSpec {
        endpoint: plain(imap),
        mailbox: "INBOX".to_owned(),
    };
    (smtp, imap)
}

#[tokio::test]
async fn a_silent_mailbox_times_out_within_timeout_not_max_delivery() {
    let (smtp, imap) = unreachable_smtp_and(silent_imap(None).await);
    let timeout = Duration::from_millis(500);
    let start = Instant::now();
    let c = mailflow::check(
        "flow",
        &flow(Duration::from_secs(60)),
        &smtp,
        &imap,
        timeout,
    )
    .await;
    let took = start.elapsed();
    assert_down(&c, ErrorClass::Timeout, "IMAP: ");
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_garbage_greeting_is_protocol() {
    let (smtp, imap) =
        unreachable_smtp_and(silent_imap(Some(b"220 mx.example.test ESMTP\r\n")).await);
    let c = mailflow::check(
        "flow",
        &flow(Duration::from_secs(60)),
        &smtp,
        &imap,
        TIMEOUT,
    )
    .await;
    assert_down(&c, ErrorClass::Protocol, "IMAP: greeting: ");
}

// ---- a mailbox without UIDPLUS (in-process: Dovecot always offers it) --------

use crate::peers::scripted::{Act, say, serve};
use std::sync::atomic::{AtomicBool, Ordering};

/// An SMTP server that accepts any message after `AUTH PLAIN`.
fn accepting_smtp(line: &str) -> Act {
    let up = line.to_ascii_uppercase();
    if up.starts_with("EHLO") {
        say("250-mx.example.test\r\n250 AUTH PLAIN\r\n")
    } else if up.starts_with("AUTH PLAIN") {
        say("235 2.7.0 ok\r\n")
    } else if up.starts_with("MAIL FROM") || up.starts_with("RCPT TO") {
        say("250 2.1.0 ok\r\n")
    } else if up == "DATA" {
        say("354 go ahead\r\n")
    } else if line == "." {
        say("250 2.0.0 queued\r\n")
    } else if up == "QUIT" {
        Act::SayAndClose(b"221 bye\r\n".to_vec())
    } else {
        Act::Say(Vec::new())
    }
}

/// An IMAP mailbox without UIDPLUS where the probe's message is UID 7 and
/// `deleted` answers `UID SEARCH DELETED ...`; a plain `EXPUNGE` sets `expunged`.
fn mailbox_without_uidplus(line: &str, deleted: &str, expunged: &AtomicBool) -> Act {
    let (tag, cmd) = line.split_once(' ').unwrap_or((line, ""));
    let ok = |untagged: &str| Act::Say(format!("{untagged}{tag} OK done\r\n").into_bytes());
    match cmd {
        "CAPABILITY" => ok("* CAPABILITY IMAP4rev1\r\n"),
        "NOOP" => ok(""),
        "EXPUNGE" => {
            expunged.store(true, Ordering::SeqCst);
            ok("* 1 EXPUNGE\r\n")
        }
        "LOGOUT" => Act::SayAndClose(format!("* BYE\r\n{tag} OK bye\r\n").into_bytes()),
        c if c.starts_with("LOGIN ") || c.starts_with("UID STORE 7 ") => ok(""),
        c if c.starts_with("SELECT ") => ok("* 2 EXISTS\r\n"),
        c if c.starts_with("UID SEARCH HEADER X-Slawatch-Probe ") => ok("* SEARCH 7\r\n"),
        c if c.starts_with("UID SEARCH DELETED ") => ok(&format!("* SEARCH{deleted}\r\n")),
        _ => Act::Say(format!("{tag} BAD unexpected\r\n").into_bytes()),
    }
}

static USERS_MAIL_EXPUNGED: AtomicBool = AtomicBool::new(false);
static ONLY_OURS_EXPUNGED: AtomicBool = AtomicBool::new(false);

async fn round_trip_without_uidplus(imap: fn(&str) -> Act) -> Check {
    let greeting = say("* OK [CAPABILITY IMAP4rev1] mailbox ready\r\n");
    let imap_addr = serve(greeting, imap).await;
    let smtp_addr = serve(say("220 mx.example.test ESMTP\r\n"), accepting_smtp).await;
    let (mut smtp, imap) = unreachable_smtp_and(imap_addr);
    smtp.endpoint.host = smtp_addr.ip().to_string();
    smtp.endpoint.port = smtp_addr.port();
    mailflow::check("flow", &flow(Duration::from_secs(5)), &smtp, &imap, TIMEOUT).await
}

#[tokio::test]
async fn without_uidplus_another_deleted_message_is_never_expunged() {
    // UID 3 is the user's own message, flagged \Deleted by their mail client.
    let c = round_trip_without_uidplus(|l| mailbox_without_uidplus(l, " 3", &USERS_MAIL_EXPUNGED))
        .await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert!(
        !USERS_MAIL_EXPUNGED.load(Ordering::SeqCst),
        "EXPUNGE sent: the user's \\Deleted message is gone"
    );
    assert!(
        c.detail.contains(
            "the probe message is left flagged \\Deleted, not expunged: the server has no \
             UIDPLUS and 1 other message is flagged \\Deleted"
        ),
        "{c:?}"
    );
}

#[tokio::test]
async fn without_uidplus_the_probe_message_alone_is_expunged() {
    let c =
        round_trip_without_uidplus(|l| mailbox_without_uidplus(l, "", &ONLY_OURS_EXPUNGED)).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert!(ONLY_OURS_EXPUNGED.load(Ordering::SeqCst), "{c:?}");
    assert!(!c.detail.contains("not expunged"), "{c:?}");
}
