//! The POP3 probe against a real Dovecot, and against in-process peers for what
//! Dovecot will not do.

use crate::peers::dovecot::Dovecot;
use crate::peers::scripted::{Act, say, serve};
use crate::probe_imap::endpoint;
use slawatch::config::{MailEndpoint, Pop3Spec, TlsMode};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::conn::MAX_READ;
use slawatch::probe::pop3;
use slawatch::probe::wire::{BUFFERED_LINES, MAX_LINE};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(5);
/// Dovecot answers a wrong password after `auth_failure_delay` (2 s).
const SLOW_TIMEOUT: Duration = Duration::from_secs(10);

fn spec(endpoint: MailEndpoint) -> Pop3Spec {
    Pop3Spec { endpoint }
}

fn dovecot_spec(d: &Dovecot, mode: TlsMode, password: Option<&str>) -> Pop3Spec {
    let addr = if mode == TlsMode::Implicit {
        d.pop3s
    } else {
        d.pop3
    };
    let login = password.map(|p| (d.user.as_str(), p));
    spec(endpoint(addr, mode, Some(&d.ca), login))
}

#[track_caller]
fn assert_class(check: &Check, class: ErrorClass) {
    assert_eq!(check.status, class.status(), "{check:?}");
    assert_eq!(check.class, Some(class), "{check:?}");
}

#[track_caller]
fn assert_up(check: &Check) {
    assert_eq!(check.status, Status::Up, "{check:?}");
    assert_eq!(check.class, None, "{check:?}");
}

#[tokio::test]
async fn dovecot_up_in_every_tls_mode_and_refusals_classified() {
    let d = Dovecot::start();
    d.deliver("one");
    let pw = Some(d.password.as_str());
    let plain = dovecot_spec(&d, TlsMode::None, pw);
    let stls = dovecot_spec(&d, TlsMode::Starttls, pw);
    let implicit = dovecot_spec(&d, TlsMode::Implicit, pw);
    let anonymous = dovecot_spec(&d, TlsMode::Starttls, None);
    let wrong = dovecot_spec(&d, TlsMode::Implicit, Some("not-the-password"));
    let mut untrusted = dovecot_spec(&d, TlsMode::Starttls, pw);
    untrusted.endpoint.tls.ca_file = None;
    let (plain, stls, implicit, anonymous, wrong, untrusted) = tokio::join!(
        pop3::check("plain", &plain, TIMEOUT),
        pop3::check("stls", &stls, TIMEOUT),
        pop3::check("implicit", &implicit, TIMEOUT),
        pop3::check("anonymous", &anonymous, TIMEOUT),
        pop3::check("wrong", &wrong, SLOW_TIMEOUT),
        pop3::check("untrusted", &untrusted, TIMEOUT),
    );
    for c in [&plain, &stls, &implicit] {
        assert_up(c);
        assert!(c.detail.starts_with("POP3 ok, 1 message ("), "{c:?}");
        assert!(c.phases.first_byte.is_some() && c.phases.login.is_some());
    }
    assert_eq!((plain.phases.tls, plain.cert_not_after), (None, None));
    for c in [&stls, &implicit, &anonymous] {
        assert!(
            c.phases.tls.is_some() && c.cert_not_after.is_some(),
            "{c:?}"
        );
    }
    assert_up(&anonymous);
    assert!(
        anonymous.detail.starts_with("POP3 ready (no login, "),
        "{anonymous:?}"
    );
    assert_class(&wrong, ErrorClass::Auth);
    assert!(wrong.detail.contains("probe@example.test"), "{wrong:?}");
    assert!(!wrong.detail.contains("not-the-password"), "{wrong:?}");
    assert_class(&untrusted, ErrorClass::Certificate);
}

#[tokio::test]
async fn dovecot_frozen_times_out_and_killed_is_refused() {
    let mut d = Dovecot::start();
    let pw = Some(d.password.as_str());
    let plain = dovecot_spec(&d, TlsMode::None, pw);
    d.freeze();
    let timeout = Duration::from_secs(1);
    let t = Instant::now();
    let frozen = pop3::check("frozen", &plain, timeout).await;
    let took = t.elapsed();
    d.thaw();
    assert_class(&frozen, ErrorClass::Timeout);
    assert!(took < timeout + Duration::from_secs(3), "took {took:?}");
    d.kill();
    let killed = pop3::check("killed", &plain, TIMEOUT).await;
    assert_class(&killed, ErrorClass::Refused);
}

// In-process peers.

fn peer_spec(addr: SocketAddr, mode: TlsMode, login: bool) -> Pop3Spec {
    let login = login.then_some(("probe@example.test", "s3cret-pw"));
    spec(endpoint(addr, mode, None, login))
}

/// A well-behaved server: USER/PASS of probe@example.test with "s3cret-pw", 2
/// messages.
fn polite(line: &str) -> Act {
    match line {
        "CAPA" => say("+OK\r\nUSER\r\nUIDL\r\n.\r\n"),
        "USER probe@example.test" => say("+OK\r\n"),
        "PASS s3cret-pw" => say("+OK logged in\r\n"),
        "STAT" => say("+OK 2 640\r\n"),
        "QUIT" => Act::SayAndClose(b"+OK bye\r\n".to_vec()),
        _ if line.starts_with("PASS ") => say("-ERR [AUTH] Authentication failed.\r\n"),
        _ => say("-ERR what\r\n"),
    }
}

async fn run(greeting: Act, respond: fn(&str) -> Act, mode: TlsMode, login: bool) -> Check {
    let addr = serve(greeting, respond).await;
    pop3::check("peer", &peer_spec(addr, mode, login), TIMEOUT).await
}

#[tokio::test]
async fn a_polite_peer_is_up_and_a_wrong_password_is_auth() {
    let c = run(say("+OK ready\r\n"), polite, TlsMode::None, true).await;
    assert_up(&c);
    assert_eq!(c.detail, "POP3 ok, 2 messages (640 bytes)");
    fn wrong_password(line: &str) -> Act {
        polite(&line.replace("s3cret-pw", "other"))
    }
    let c = run(say("+OK ready\r\n"), wrong_password, TlsMode::None, true).await;
    assert_class(&c, ErrorClass::Auth);
    assert!(c.detail.contains("Authentication failed"), "{c:?}");
    assert!(!c.detail.contains("s3cret-pw"), "{c:?}");
}

#[tokio::test]
async fn sasl_plain_is_used_when_user_is_not_offered_and_capa_may_be_missing() {
    fn sasl(line: &str) -> Act {
        match line {
            "CAPA" => say("+OK\r\nSASL PLAIN\r\n.\r\n"),
            "AUTH PLAIN AHByb2JlQGV4YW1wbGUudGVzdABzM2NyZXQtcHc=" => say("+OK in\r\n"),
            _ => polite(line),
        }
    }
    let c = run(say("+OK ready\r\n"), sasl, TlsMode::None, true).await;
    assert_up(&c);
    fn old(line: &str) -> Act {
        match line {
            "CAPA" => say("-ERR unknown command\r\n"),
            _ => polite(line),
        }
    }
    let c = run(say("+OK ready\r\n"), old, TlsMode::None, true).await;
    assert_up(&c);
    fn stat_refused(line: &str) -> Act {
        match line {
            "STAT" => say("-ERR [SYS/TEMP] maildrop locked\r\n"),
            _ => polite(line),
        }
    }
    let c = run(say("+OK ready\r\n"), stat_refused, TlsMode::None, true).await;
    assert_class(&c, ErrorClass::Content);
}

#[tokio::test]
async fn bad_greetings() {
    let garbage = run(say("\x1b[2J\0garbage\r\n"), polite, TlsMode::None, false).await;
    assert_class(&garbage, ErrorClass::Protocol);
    let err = run(say("-ERR too busy\r\n"), polite, TlsMode::None, false).await;
    assert_class(&err, ErrorClass::Refused);
    assert!(err.detail.contains("too busy"), "{err:?}");
    let imap = run(
        say("* OK IMAP4rev1 ready\r\n"),
        polite,
        TlsMode::None,
        false,
    )
    .await;
    assert_class(&imap, ErrorClass::Protocol);
}

#[tokio::test]
async fn endless_and_huge_lines_are_protocol_with_bounded_memory() {
    let ten_mb = vec![b'+'; 10 * 1024 * 1024];
    let endless = Act::SayAndHang(ten_mb.clone());
    let huge_greeting = Act::Say([b"+OK ", &ten_mb[..], b"\r\n"].concat());
    for greeting in [endless, huge_greeting] {
        let addr = serve(greeting, polite).await;
        let spec = peer_spec(addr, TlsMode::None, false);
        let (c, usage) = pop3::check_with_usage("peer", &spec, TIMEOUT).await;
        assert_class(&c, ErrorClass::Protocol);
        assert!(c.detail.contains("line longer than"), "{c:?}");
        assert!(
            usage.peak_buffered <= MAX_LINE * BUFFERED_LINES,
            "{usage:?}"
        );
        assert!(usage.bytes_read <= MAX_READ, "{usage:?}");
    }
}

#[tokio::test]
async fn an_endless_capa_list_is_protocol_with_bounded_memory() {
    fn flood(line: &str) -> Act {
        match line {
            "CAPA" => Act::Flood(b"+OK\r\nUSER\r\nTOP\r\nUIDL\r\n".to_vec()),
            _ => polite(line),
        }
    }
    let addr = serve(say("+OK ready\r\n"), flood).await;
    let spec = peer_spec(addr, TlsMode::None, false);
    let (c, usage) = pop3::check_with_usage("peer", &spec, TIMEOUT).await;
    assert_class(&c, ErrorClass::Protocol);
    assert!(c.detail.contains("CAPA"), "{c:?}");
    assert!(
        usage.peak_buffered <= MAX_LINE * BUFFERED_LINES,
        "{usage:?}"
    );
}

#[tokio::test]
async fn a_stall_mid_reply_times_out_by_the_deadline() {
    let timeout = Duration::from_secs(1);
    fn stall_stat(line: &str) -> Act {
        match line {
            "STAT" => Act::SayAndHang(b"+OK 2 6".to_vec()),
            _ => polite(line),
        }
    }
    let addr = serve(say("+OK ready\r\n"), stall_stat).await;
    let spec = peer_spec(addr, TlsMode::None, true);
    let t = Instant::now();
    let c = pop3::check("peer", &spec, timeout).await;
    assert_class(&c, ErrorClass::Timeout);
    assert!(c.detail.contains("STAT"), "{c:?}");
    assert!(
        t.elapsed() < timeout + Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_reset_is_refused() {
    let c = run(Act::Reset, polite, TlsMode::None, false).await;
    assert_class(&c, ErrorClass::Refused);
    fn reset_pass(line: &str) -> Act {
        if line.starts_with("PASS") {
            Act::Reset
        } else {
            polite(line)
        }
    }
    let c = run(say("+OK ready\r\n"), reset_pass, TlsMode::None, true).await;
    assert_class(&c, ErrorClass::Refused);
    assert!(c.detail.contains("PASS"), "{c:?}");
}

#[tokio::test]
async fn stls_required_but_not_offered_or_refused_is_tls() {
    let c = run(say("+OK ready\r\n"), polite, TlsMode::Starttls, true).await;
    assert_class(&c, ErrorClass::Tls);
    assert!(c.detail.contains("not offered"), "{c:?}");
    // No CAPA: STLS is tried, and refused.
    fn no_capa(line: &str) -> Act {
        match line {
            "CAPA" => say("-ERR unknown command\r\n"),
            _ => polite(line),
        }
    }
    let c = run(say("+OK ready\r\n"), no_capa, TlsMode::Starttls, true).await;
    assert_class(&c, ErrorClass::Tls);
    assert!(c.detail.contains("STLS refused"), "{c:?}");
}

#[tokio::test]
async fn bytes_pipelined_after_the_stls_ok_are_protocol() {
    fn inject(line: &str) -> Act {
        match line {
            "CAPA" => say("+OK\r\nSTLS\r\nUSER\r\n.\r\n"),
            "STLS" => Act::SayAndHang(b"+OK go\r\n+OK injected\r\n".to_vec()),
            _ => polite(line),
        }
    }
    let c = run(say("+OK ready\r\n"), inject, TlsMode::Starttls, true).await;
    assert_class(&c, ErrorClass::Protocol);
    assert!(c.detail.contains("after accepting STARTTLS"), "{c:?}");
}
