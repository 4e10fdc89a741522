//! One probe shape (issue 15): what the shared runner and the one IMAP client
//! promise across probes.
//!
//! - A login refused after TLS keeps the certificate's expiry, for SMTP and the
//!   mail round trip (real Postfix with Dovecot SASL, real Dovecot).
//! - The round trip and the IMAP probe agree on the same server: PREAUTH, a
//!   non-ASCII password, a non-ASCII mailbox name, two literals in one response
//!   (in-process IMAP servers: each checks what a real one would not let us see).
//! - A timeout names the step it cut short.

use crate::peers::dovecot::Dovecot;
use crate::peers::postfix::{Postfix, RECIPIENT};
use crate::peers::scripted::{Act, say, serve};
use slawatch::config::{
    Credentials, ImapSpec, MailEndpoint, MailflowSpec, Secret, SmtpSpec, TlsMode, TlsSettings,
};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::{imap, mailflow, smtp};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// Over Dovecot's 2 s `auth_failure_delay` plus Postfix's 1 s error sleep.
const TIMEOUT: Duration = Duration::from_secs(10);

fn endpoint(
    addr: SocketAddr,
    tls_mode: TlsMode,
    ca: Option<&Path>,
    password: &str,
) -> MailEndpoint {
    MailEndpoint {
        host: addr.ip().to_string(),
        port: addr.port(),
        tls_mode,
        tls: TlsSettings {
            verify: true,
            ca_file: ca.map(Path::to_path_buf),
            server_name: None,
            cert_expiry_warn: Duration::from_secs(14 * 86_400),
        },
        credentials: Some(Credentials {
            username: RECIPIENT.to_owned(),
            password: Secret::new(password.to_owned()),
        }),
    }
}

fn flow() -> MailflowSpec {
    MailflowSpec {
        smtp: "out".to_owned(),
        imap: "in".to_owned(),
        from: RECIPIENT.to_owned(),
        to: RECIPIENT.to_owned(),
        max_delivery: Duration::from_secs(5),
    }
}

#[track_caller]
fn assert_auth_with_cert(c: &Check, prefix: &str) {
    assert_eq!(
        (c.status, c.class),
        (Status::Down, Some(ErrorClass::Auth)),
        "{c:?}"
    );
    assert!(c.detail.starts_with(prefix), "{c:?}");
    assert!(c.phases.tls.is_some(), "the handshake came first: {c:?}");
    assert!(
        c.cert_not_after.is_some(),
        "the certificate seen before the refused login is lost: {c:?}"
    );
}

#[tokio::test]
async fn probeshape_smtp_login_refused_after_tls_keeps_the_certificate() {
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    for (addr, mode) in [
        (p.submission, TlsMode::Starttls),
        (p.smtps, TlsMode::Implicit),
    ] {
        let spec = SmtpSpec {
            endpoint: endpoint(addr, mode, Some(&p.ca), "wrong-password"),
            helo: "probe.example.test".to_owned(),
        };
        let c = smtp::check("s", &spec, TIMEOUT).await;
        assert_auth_with_cert(&c, "login refused: '535");
    }
}

#[tokio::test]
async fn probeshape_mailflow_login_refused_after_tls_keeps_the_certificate() {
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let imap = |password: &str| ImapSpec {
        endpoint: endpoint(d.imap, TlsMode::Starttls, Some(&d.ca), password),
        mailbox: "INBOX".to_owned(),
    };
    let smtp = |password: &str| SmtpSpec {
        endpoint: endpoint(p.submission, TlsMode::Starttls, Some(&p.ca), password),
        helo: "probe.example.test".to_owned(),
    };
    // The SMTP side refuses the login: both handshakes were made.
    let c = mailflow::check(
        "flow",
        &flow(),
        &smtp("wrong-password"),
        &imap(&d.password),
        TIMEOUT,
    )
    .await;
    assert_auth_with_cert(&c, "SMTP: login refused: '535");
    // The IMAP side refuses the login: only its handshake was made.
    let c = mailflow::check(
        "flow",
        &flow(),
        &smtp(&d.password),
        &imap("wrong-password"),
        TIMEOUT,
    )
    .await;
    assert_eq!(
        (c.status, c.class),
        (Status::Down, Some(ErrorClass::Auth)),
        "{c:?}"
    );
    assert!(c.detail.starts_with("IMAP: login refused"), "{c:?}");
    assert!(c.cert_not_after.is_some(), "{c:?}");
    assert!(!p.log_text().contains("status=sent"), "{}", p.log_text());
}

// ---- the round trip and the IMAP probe agree -----------------------------------

/// The password of the non-ASCII case.
const NON_ASCII_PASSWORD: &str = "pässwört-密码";
/// The mailbox of the non-ASCII case, and its modified UTF-7 name.
const NON_ASCII_MAILBOX: &str = "Entwürfe";
const NON_ASCII_MAILBOX_UTF7: &str = "\"Entw&APw-rfe\"";

/// The tag of a LOGIN whose password follows as a literal.
static LITERAL_LOGIN_TAG: Mutex<String> = Mutex::new(String::new());

/// An IMAP mailbox holding the probe message as UID 7 (UIDPLUS, LITERAL+): it
/// opens only `mailbox` (the quoted argument as sent), accepts LOGIN with any
/// ASCII password, or with [`NON_ASCII_PASSWORD`] sent as a literal (never quoted:
/// IMAP forbids 8-bit quoted strings), and answers the open with `untagged`.
fn mailbox(line: &str, mailbox: &str, untagged: &str) -> Act {
    let (tag, cmd) = line.split_once(' ').unwrap_or((line, ""));
    let ok = |u: &str| Act::Say(format!("{u}{tag} OK done\r\n").into_bytes());
    if line == NON_ASCII_PASSWORD {
        let tag = LITERAL_LOGIN_TAG.lock().unwrap().clone();
        return Act::Say(format!("{tag} OK logged in\r\n").into_bytes());
    }
    match cmd {
        "CAPABILITY" => ok("* CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS\r\n"),
        "NOOP" => ok(""),
        "LOGOUT" => Act::SayAndClose(format!("* BYE\r\n{tag} OK bye\r\n").into_bytes()),
        c if c.starts_with("LOGIN ") && c.ends_with("+}") => {
            *LITERAL_LOGIN_TAG.lock().unwrap() = tag.to_owned();
            Act::Say(Vec::new())
        }
        c if c.starts_with("LOGIN ") && c.is_ascii() => ok(""),
        c if c.starts_with("LOGIN ") => Act::Say(
            format!("{tag} NO [AUTHENTICATIONFAILED] 8-bit quoted string\r\n").into_bytes(),
        ),
        c if c.starts_with("SELECT ") || c.starts_with("EXAMINE ") => {
            let (_, name) = c.split_once(' ').unwrap_or_default();
            if name == mailbox {
                ok(untagged)
            } else {
                Act::Say(format!("{tag} NO [NONEXISTENT] no such mailbox\r\n").into_bytes())
            }
        }
        c if c.starts_with("UID SEARCH HEADER X-Slawatch-Probe ") => ok("* SEARCH 7\r\n"),
        c if c.starts_with("UID STORE 7 ") || c == "UID EXPUNGE 7" => ok(""),
        _ => Act::Say(format!("{tag} BAD unexpected\r\n").into_bytes()),
    }
}

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

/// The IMAP probe and the round trip (through an accepting SMTP server) on the
/// IMAP server `respond` greeting with `greeting`, with `password` and `mailbox`.
async fn both(
    greeting: &str,
    respond: fn(&str) -> Act,
    password: &str,
    mailbox: &str,
    timeout: Duration,
) -> (Check, Check) {
    let imap_addr = serve(say(greeting), respond).await;
    let smtp_addr = serve(say("220 mx.example.test ESMTP\r\n"), accepting_smtp).await;
    let imap = ImapSpec {
        endpoint: endpoint(imap_addr, TlsMode::None, None, password),
        mailbox: mailbox.to_owned(),
    };
    let smtp = SmtpSpec {
        endpoint: endpoint(smtp_addr, TlsMode::None, None, "password"),
        helo: "probe.example.test".to_owned(),
    };
    let probe = imap::check("in", &imap, timeout).await;
    let round_trip = mailflow::check("flow", &flow(), &smtp, &imap, timeout).await;
    (probe, round_trip)
}

#[track_caller]
fn assert_both_up(probe: &Check, round_trip: &Check) {
    assert_eq!((probe.status, probe.class), (Status::Up, None), "{probe:?}");
    assert_eq!(
        (round_trip.status, round_trip.class),
        (Status::Up, None),
        "the round trip disagrees with the IMAP probe ({probe:?}): {round_trip:?}"
    );
}

const GREETING: &str = "* OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] ready\r\n";

#[tokio::test]
async fn probeshape_preauth_is_up_for_both() {
    let (probe, round_trip) = both(
        "* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] logged in already\r\n",
        |l| mailbox(l, "\"INBOX\"", "* 2 EXISTS\r\n"),
        "password",
        "INBOX",
        TIMEOUT,
    )
    .await;
    assert_both_up(&probe, &round_trip);
    assert!(probe.phases.login.is_none(), "PREAUTH: no login: {probe:?}");
}

#[tokio::test]
async fn probeshape_a_non_ascii_password_is_up_for_both() {
    let (probe, round_trip) = both(
        GREETING,
        |l| mailbox(l, "\"INBOX\"", "* 2 EXISTS\r\n"),
        NON_ASCII_PASSWORD,
        "INBOX",
        TIMEOUT,
    )
    .await;
    assert_both_up(&probe, &round_trip);
}

#[tokio::test]
async fn probeshape_a_non_ascii_mailbox_is_up_for_both() {
    let (probe, round_trip) = both(
        GREETING,
        |l| mailbox(l, NON_ASCII_MAILBOX_UTF7, "* 2 EXISTS\r\n"),
        "password",
        NON_ASCII_MAILBOX,
        TIMEOUT,
    )
    .await;
    assert_both_up(&probe, &round_trip);
    assert_eq!(
        probe.detail,
        format!("IMAP ok, {NON_ASCII_MAILBOX}: 2 messages")
    );
}

#[tokio::test]
async fn probeshape_a_missing_mailbox_is_content_for_both() {
    let (probe, round_trip) = both(
        GREETING,
        |l| mailbox(l, "\"INBOX\"", "* 2 EXISTS\r\n"),
        "password",
        "Archive",
        TIMEOUT,
    )
    .await;
    for c in [&probe, &round_trip] {
        assert_eq!(
            (c.status, c.class),
            (Status::Down, Some(ErrorClass::Content)),
            "{c:?}"
        );
    }
}

#[tokio::test]
async fn probeshape_two_literals_in_one_response_are_up_for_both() {
    let (probe, round_trip) = both(
        GREETING,
        |l| {
            mailbox(
                l,
                "\"INBOX\"",
                "* 1 FETCH (BODY[HEADER] {5}\r\nab\r\nc BODY[TEXT] {4}\r\nxy\r\n)\r\n* 2 EXISTS\r\n",
            )
        },
        "password",
        "INBOX",
        TIMEOUT,
    )
    .await;
    assert_both_up(&probe, &round_trip);
    assert_eq!(probe.detail, "IMAP ok, INBOX: 2 messages");
}

// ---- a timeout names its step ----------------------------------------------------

#[tokio::test]
async fn probeshape_a_timeout_names_its_step() {
    let timeout = Duration::from_millis(500);
    let imap_addr = serve(say("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"), |l| {
        if l.ends_with(" STARTTLS") {
            Act::SayAndHang(Vec::new())
        } else {
            Act::Say(Vec::new())
        }
    })
    .await;
    let imap = ImapSpec {
        endpoint: endpoint(imap_addr, TlsMode::Starttls, None, "password"),
        mailbox: "INBOX".to_owned(),
    };
    let c = imap::check("in", &imap, timeout).await;
    assert_eq!(
        (c.status, c.class, c.detail.as_str()),
        (
            Status::Down,
            Some(ErrorClass::Timeout),
            "no answer within 500 ms during STARTTLS"
        ),
        "{c:?}"
    );
    let smtp = SmtpSpec {
        endpoint: endpoint(crate::peers::free_addr(), TlsMode::None, None, "password"),
        helo: "probe.example.test".to_owned(),
    };
    let c = mailflow::check("flow", &flow(), &smtp, &imap, timeout).await;
    assert_eq!(
        (c.status, c.class, c.detail.as_str()),
        (
            Status::Down,
            Some(ErrorClass::Timeout),
            "IMAP: no answer within 500 ms during STARTTLS"
        ),
        "{c:?}"
    );
}
