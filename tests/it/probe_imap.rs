//! The IMAP probe against a real Dovecot, and against in-process peers for what
//! Dovecot will not do (garbage, floods, hangs, resets, LOGINDISABLED, injection
//! after STARTTLS).

use crate::peers::dovecot::Dovecot;
use crate::peers::scripted::{Act, say, serve};
use slawatch::config::{Credentials, ImapSpec, MailEndpoint, Secret, TlsMode, TlsSettings};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::conn::MAX_READ;
use slawatch::probe::imap;
use slawatch::probe::wire::{BUFFERED_LINES, IMAP_MAX_LINE};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);
/// Dovecot answers a wrong password after `auth_failure_delay` (2 s).
const SLOW_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn endpoint(
    addr: SocketAddr,
    tls_mode: TlsMode,
    ca: Option<&Path>,
    login: Option<(&str, &str)>,
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
        credentials: login.map(|(user, pass)| Credentials {
            username: user.to_owned(),
            password: Secret::new(pass.to_owned()),
        }),
    }
}

fn spec(endpoint: MailEndpoint, mailbox: &str) -> ImapSpec {
    ImapSpec {
        endpoint,
        mailbox: mailbox.to_owned(),
    }
}

/// The probe against Dovecot `d`: `mode`, its CA, and its user with `password`.
fn dovecot_spec(d: &Dovecot, mode: TlsMode, password: Option<&str>, mailbox: &str) -> ImapSpec {
    let addr = if mode == TlsMode::Implicit {
        d.imaps
    } else {
        d.imap
    };
    let login = password.map(|p| (d.user.as_str(), p));
    spec(endpoint(addr, mode, Some(&d.ca), login), mailbox)
}

#[track_caller]
fn assert_class(check: &Check, class: ErrorClass) {
    assert_eq!(check.status, class.status(), "{check:?}");
    assert_eq!(check.class, Some(class), "{check:?}");
}

#[track_caller]
fn assert_up(check: &Check, detail: &str) {
    assert_eq!(check.status, Status::Up, "{check:?}");
    assert_eq!(check.class, None, "{check:?}");
    assert_eq!(check.detail, detail, "{check:?}");
}

#[tokio::test]
async fn dovecot_up_in_every_tls_mode_with_login_and_examine() {
    let d = Dovecot::start();
    d.deliver("one");
    d.deliver("two");
    let pw = Some(d.password.as_str());
    let plain = dovecot_spec(&d, TlsMode::None, pw, "INBOX");
    let starttls = dovecot_spec(&d, TlsMode::Starttls, pw, "INBOX");
    let implicit = dovecot_spec(&d, TlsMode::Implicit, pw, "INBOX");
    let anonymous = dovecot_spec(&d, TlsMode::Starttls, None, "INBOX");
    let (plain, starttls, implicit, anonymous) = tokio::join!(
        imap::check("plain", &plain, TIMEOUT),
        imap::check("starttls", &starttls, TIMEOUT),
        imap::check("implicit", &implicit, TIMEOUT),
        imap::check("anonymous", &anonymous, TIMEOUT),
    );
    for c in [&plain, &starttls, &implicit] {
        assert_up(c, "IMAP ok, INBOX: 2 messages");
        assert!(c.phases.connect.is_some() && c.phases.first_byte.is_some());
        assert!(c.phases.login.is_some(), "{c:?}");
    }
    assert_eq!((plain.phases.tls, plain.cert_not_after), (None, None));
    for c in [&starttls, &implicit, &anonymous] {
        assert!(c.phases.tls.is_some(), "{c:?}");
        assert!(c.cert_not_after.is_some(), "{c:?}");
    }
    assert_eq!(anonymous.status, Status::Up, "{anonymous:?}");
    assert!(
        anonymous.detail.starts_with("IMAP ready (no login, "),
        "{anonymous:?}"
    );
    assert_eq!(anonymous.phases.login, None);
}

#[tokio::test]
async fn dovecot_refusals_are_classified() {
    let d = Dovecot::start();
    let pw = Some(d.password.as_str());
    let wrong = dovecot_spec(&d, TlsMode::Starttls, Some("not-the-password"), "INBOX");
    let missing = dovecot_spec(&d, TlsMode::Implicit, pw, "No Such Folder");
    let mut untrusted_implicit = dovecot_spec(&d, TlsMode::Implicit, pw, "INBOX");
    untrusted_implicit.endpoint.tls.ca_file = None;
    let mut untrusted_starttls = dovecot_spec(&d, TlsMode::Starttls, pw, "INBOX");
    untrusted_starttls.endpoint.tls.ca_file = None;
    let (wrong, missing, untrusted_implicit, untrusted_starttls) = tokio::join!(
        imap::check("wrong", &wrong, SLOW_TIMEOUT),
        imap::check("missing", &missing, TIMEOUT),
        imap::check("untrusted", &untrusted_implicit, TIMEOUT),
        imap::check("untrusted", &untrusted_starttls, TIMEOUT),
    );
    assert_class(&wrong, ErrorClass::Auth);
    assert!(wrong.detail.contains("probe@example.test"), "{wrong:?}");
    assert!(!wrong.detail.contains("not-the-password"), "{wrong:?}");
    assert!(
        wrong.cert_not_after.is_some(),
        "TLS got that far: {wrong:?}"
    );
    assert_class(&missing, ErrorClass::Content);
    assert!(missing.detail.contains("No Such Folder"), "{missing:?}");
    assert_class(&untrusted_implicit, ErrorClass::Certificate);
    assert_class(&untrusted_starttls, ErrorClass::Certificate);
}

#[tokio::test]
async fn dovecot_frozen_times_out_and_killed_is_refused() {
    let mut d = Dovecot::start();
    let pw = Some(d.password.as_str());
    let plain = dovecot_spec(&d, TlsMode::None, pw, "INBOX");
    let implicit = dovecot_spec(&d, TlsMode::Implicit, pw, "INBOX");
    d.freeze();
    let timeout = Duration::from_secs(1);
    let t = Instant::now();
    let (frozen_plain, frozen_implicit) = tokio::join!(
        imap::check("frozen", &plain, timeout),
        imap::check("frozen", &implicit, timeout),
    );
    let took = t.elapsed();
    d.thaw();
    assert_class(&frozen_plain, ErrorClass::Timeout);
    assert_class(&frozen_implicit, ErrorClass::Timeout);
    assert!(took < timeout + Duration::from_secs(3), "took {took:?}");
    assert!(
        frozen_plain.detail.contains("greeting"),
        "the step is named: {frozen_plain:?}"
    );
    d.kill();
    let killed = imap::check("killed", &plain, TIMEOUT).await;
    assert_class(&killed, ErrorClass::Refused);
}

// In-process peers.

fn peer_spec(addr: SocketAddr, mode: TlsMode, login: bool) -> ImapSpec {
    let login = login.then_some(("probe@example.test", "s3cret-pw"));
    spec(endpoint(addr, mode, None, login), "INBOX")
}

/// The tag of a command line.
fn tag(line: &str) -> &str {
    line.split(' ').next().unwrap_or_default()
}

/// The upper-cased command of a command line.
fn verb(line: &str) -> String {
    line.split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// A well-behaved server with the given greeting capabilities: LOGIN of
/// probe@example.test with "s3cret-pw" works, EXAMINE INBOX has 3 messages.
fn polite(line: &str) -> Act {
    let t = tag(line);
    match verb(line).as_str() {
        "CAPABILITY" => say(&format!("* CAPABILITY IMAP4rev1\r\n{t} OK done\r\n")),
        "LOGIN" if line.ends_with(r#" "probe@example.test" "s3cret-pw""#) => {
            say(&format!("{t} OK logged in\r\n"))
        }
        "LOGIN" => say(&format!("{t} NO [AUTHENTICATIONFAILED] nope\r\n")),
        "EXAMINE" => say(&format!("* 3 EXISTS\r\n{t} OK [READ-ONLY] done\r\n")),
        "LOGOUT" => say(&format!("* BYE bye\r\n{t} OK bye\r\n")),
        _ => say(&format!("{t} BAD what\r\n")),
    }
}

async fn run(greeting: Act, respond: fn(&str) -> Act, mode: TlsMode, login: bool) -> Check {
    let addr = serve(greeting, respond).await;
    imap::check("peer", &peer_spec(addr, mode, login), TIMEOUT).await
}

#[tokio::test]
async fn a_polite_peer_is_up_and_a_wrong_password_is_auth() {
    let c = run(say("* OK ready\r\n"), polite, TlsMode::None, true).await;
    assert_up(&c, "IMAP ok, INBOX: 3 messages");
    fn wrong_password(line: &str) -> Act {
        polite(&line.replace("s3cret-pw", "other"))
    }
    let c = run(say("* OK ready\r\n"), wrong_password, TlsMode::None, true).await;
    assert_class(&c, ErrorClass::Auth);
    assert!(c.detail.contains("AUTHENTICATIONFAILED"), "{c:?}");
    assert!(!c.detail.contains("s3cret-pw"), "{c:?}");
}

#[tokio::test]
async fn literals_in_responses_are_skipped_unread() {
    // The literal's body looks like the tagged reply; read as a line it would end
    // EXAMINE with NO.
    fn with_literals(line: &str) -> Act {
        let t = tag(line);
        if verb(line) == "EXAMINE" {
            let body = format!("{t} NO fake\r\n");
            let tail = "x {2}\r\n\r\n";
            say(&format!(
                "* 1 FETCH (BODY[] {{{}}}\r\n{body} UID 9 {tail})\r\n* 7 EXISTS\r\n{t} OK done\r\n",
                body.len()
            ))
        } else {
            polite(line)
        }
    }
    let greeting = say("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n");
    let c = run(greeting, with_literals, TlsMode::None, true).await;
    assert_up(&c, "IMAP ok, INBOX: 7 messages");
}

#[tokio::test]
async fn login_disabled_uses_authenticate_plain_or_is_auth() {
    fn plain_ir(line: &str) -> Act {
        let t = tag(line);
        // base64 of "\0probe@example.test\0s3cret-pw"
        let want = "AUTHENTICATE PLAIN AHByb2JlQGV4YW1wbGUudGVzdABzM2NyZXQtcHc=";
        match verb(line).as_str() {
            "AUTHENTICATE" if line.ends_with(want) => say(&format!("{t} OK in\r\n")),
            "AUTHENTICATE" => say(&format!("{t} NO bad sasl\r\n")),
            "LOGIN" => say(&format!("{t} NO LOGIN is disabled\r\n")),
            _ => polite(line),
        }
    }
    let greeting = say("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN SASL-IR] hi\r\n");
    let c = run(greeting, plain_ir, TlsMode::None, true).await;
    assert_up(&c, "IMAP ok, INBOX: 3 messages");

    let greeting = say("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] hi\r\n");
    let c = run(greeting, polite, TlsMode::None, true).await;
    assert_class(&c, ErrorClass::Auth);
    assert!(c.detail.contains("LOGIN"), "{c:?}");
}

#[tokio::test]
async fn authenticate_plain_without_sasl_ir_waits_for_the_continuation() {
    fn continuation(line: &str) -> Act {
        match line {
            "AHByb2JlQGV4YW1wbGUudGVzdABzM2NyZXQtcHc=" => say("a1 OK in\r\n"),
            _ if verb(line) == "AUTHENTICATE" => say("+ \r\n"),
            _ => polite(line),
        }
    }
    let greeting = say("* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=PLAIN] hi\r\n");
    let c = run(greeting, continuation, TlsMode::None, true).await;
    assert_up(&c, "IMAP ok, INBOX: 3 messages");
}

#[tokio::test]
async fn bad_greetings() {
    let garbage = run(say("\x1b[2J\0garbage\r\n"), polite, TlsMode::None, false).await;
    assert_class(&garbage, ErrorClass::Protocol);
    let bye = run(
        say("* BYE too many connections\r\n"),
        polite,
        TlsMode::None,
        false,
    )
    .await;
    assert_class(&bye, ErrorClass::Refused);
    assert!(bye.detail.contains("too many connections"), "{bye:?}");
    let pop3 = run(say("+OK POP3 ready\r\n"), polite, TlsMode::None, false).await;
    assert_class(&pop3, ErrorClass::Protocol);
}

#[tokio::test]
async fn endless_and_huge_lines_are_protocol_with_bounded_memory() {
    let cap = IMAP_MAX_LINE * BUFFERED_LINES;
    let ten_mb = vec![b'A'; 10 * 1024 * 1024];
    let endless = Act::SayAndHang(ten_mb.clone());
    let huge_greeting = Act::Say([b"* OK ", &ten_mb[..], b"\r\n"].concat());
    for greeting in [endless, huge_greeting] {
        let addr = serve(greeting, polite).await;
        let spec = peer_spec(addr, TlsMode::None, false);
        let (c, usage) = imap::check_with_usage("peer", &spec, TIMEOUT).await;
        assert_class(&c, ErrorClass::Protocol);
        assert!(c.detail.contains("line longer than"), "{c:?}");
        assert!(usage.peak_buffered <= cap, "{usage:?}");
        assert!(usage.bytes_read <= MAX_READ, "{usage:?}");
    }
}

#[tokio::test]
async fn an_untagged_flood_is_cut_off_with_bounded_memory() {
    fn flood(line: &str) -> Act {
        match verb(line).as_str() {
            "CAPABILITY" => Act::Flood(b"* 1 EXISTS\r\n* OK still here\r\n".to_vec()),
            _ => polite(line),
        }
    }
    let addr = serve(say("* OK ready\r\n"), flood).await;
    let spec = peer_spec(addr, TlsMode::None, false);
    let (c, usage) = imap::check_with_usage("peer", &spec, TIMEOUT).await;
    assert_class(&c, ErrorClass::Protocol);
    assert!(c.detail.contains("more than"), "{c:?}");
    assert!(
        usage.peak_buffered <= IMAP_MAX_LINE * BUFFERED_LINES,
        "{usage:?}"
    );
    assert!(
        usage.bytes_read > MAX_READ,
        "cut off just after the cap: {usage:?}"
    );
    assert!(usage.bytes_read <= MAX_READ + 64 * 1024, "{usage:?}");
}

#[tokio::test]
async fn a_stall_mid_reply_times_out_by_the_deadline() {
    let timeout = Duration::from_secs(1);
    let addr = serve(Act::SayAndHang(b"* OK [CAPABILITY IMAP4".to_vec()), polite).await;
    let spec = peer_spec(addr, TlsMode::None, true);
    let t = Instant::now();
    let c = imap::check("peer", &spec, timeout).await;
    assert_class(&c, ErrorClass::Timeout);
    assert!(
        t.elapsed() < timeout + Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );

    fn stall_examine(line: &str) -> Act {
        match verb(line).as_str() {
            "EXAMINE" => Act::SayAndHang(b"* 3 EXI".to_vec()),
            _ => polite(line),
        }
    }
    let addr = serve(say("* OK ready\r\n"), stall_examine).await;
    let spec = peer_spec(addr, TlsMode::None, true);
    let c = imap::check("peer", &spec, timeout).await;
    assert_class(&c, ErrorClass::Timeout);
    assert!(c.detail.contains("EXAMINE"), "{c:?}");
    assert!(c.phases.login.is_some(), "{c:?}");
}

#[tokio::test]
async fn a_reset_is_refused() {
    let c = run(Act::Reset, polite, TlsMode::None, false).await;
    assert_class(&c, ErrorClass::Refused);
    fn reset_login(line: &str) -> Act {
        match verb(line).as_str() {
            "LOGIN" => Act::Reset,
            _ => polite(line),
        }
    }
    let c = run(say("* OK ready\r\n"), reset_login, TlsMode::None, true).await;
    assert_class(&c, ErrorClass::Refused);
    assert!(c.detail.contains("LOGIN"), "{c:?}");
}

#[tokio::test]
async fn starttls_required_but_not_offered_is_tls() {
    let c = run(say("* OK ready\r\n"), polite, TlsMode::Starttls, true).await;
    assert_class(&c, ErrorClass::Tls);
    assert!(c.detail.contains("not offered"), "{c:?}");
    let preauth = say("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n");
    let c = run(preauth, polite, TlsMode::Starttls, true).await;
    assert_class(&c, ErrorClass::Tls);
}

#[tokio::test]
async fn bytes_pipelined_after_the_starttls_ok_are_protocol() {
    fn inject(line: &str) -> Act {
        let t = tag(line);
        match verb(line).as_str() {
            "STARTTLS" => Act::SayAndHang(format!("{t} OK go\r\n* OK injected\r\n").into_bytes()),
            _ => polite(line),
        }
    }
    let greeting = say("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
    let c = run(greeting, inject, TlsMode::Starttls, true).await;
    assert_class(&c, ErrorClass::Protocol);
    assert!(c.detail.contains("after accepting STARTTLS"), "{c:?}");
}

#[tokio::test]
async fn a_closed_connection_after_bye_says_so() {
    fn bye(line: &str) -> Act {
        match verb(line).as_str() {
            "CAPABILITY" => Act::SayAndClose(b"* BYE shutting down\r\n".to_vec()),
            _ => polite(line),
        }
    }
    let c = run(say("* OK ready\r\n"), bye, TlsMode::None, false).await;
    assert_class(&c, ErrorClass::Refused);
    assert!(c.detail.contains("BYE: 'shutting down'"), "{c:?}");
}
