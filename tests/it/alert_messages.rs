//! What the alerts say (issue 17, `alertmsg`): the signed webhook as
//! `docs/webhooks.md` documents it, checked by a loopback receiver that verifies
//! the signature with its own HMAC (the `hmac` crate, not slawatch's code), and the
//! e-mail's two parts read back from Dovecot after real Postfix delivered them.

use crate::peers::dovecot::Dovecot;
use crate::peers::postfix::Postfix;
use crate::util::{email, outage, wait_for_mail, webhook_receiver};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use slawatch::alert::Alerter;
use slawatch::config::{Alerts, Secret, Webhook};
use slawatch::outage::Event;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const SECRET: &str = "whsec-7c1d2e-test-only";
/// The tolerance docs/webhooks.md suggests to receivers.
const TOLERANCE_S: i64 = 300;

fn hook(url: String, secret: Option<&str>) -> Alerts {
    Alerts {
        lang: None,
        email: None,
        webhooks: vec![Webhook {
            url: Secret::new(url),
            secret: secret.map(|s| Secret::new(s.to_owned())),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
        }],
    }
}

/// The receiver's clock, in Unix seconds: the one slawatch stamps evidence with.
fn now_s() -> i64 {
    slawatch::probe::net::wall_clock_now().0.div_euclid(1000)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A receiver's check, written from docs/webhooks.md alone: HMAC-SHA256 keyed with
/// the secret over `"<X-Slawatch-Timestamp>.<body>"`, compared in constant time
/// (`verify_slice`) with the hex after `sha256=` in `X-Slawatch-Signature`; then the
/// timestamp within `TOLERANCE_S` of the receiver's clock, `now`.
fn verify(secret: &str, ts: &str, signature: &str, body: &str, now: i64) -> Result<(), String> {
    let hex = signature
        .strip_prefix("sha256=")
        .ok_or_else(|| format!("signature {signature:?} lacks sha256="))?;
    let tag = unhex(hex).ok_or_else(|| format!("signature {hex:?} is not hex"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    mac.verify_slice(&tag)
        .map_err(|_| "signature mismatch".to_owned())?;
    let ts: i64 = ts
        .parse()
        .map_err(|_| format!("timestamp {ts:?} is not Unix seconds"))?;
    if (now - ts).abs() > TOLERANCE_S {
        return Err(format!(
            "timestamp {ts} is {}s from now: a replay",
            now - ts
        ));
    }
    Ok(())
}

/// The JSON example docs/webhooks.md gives for `event`.
fn documented_example(event: &str) -> serde_json::Value {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/webhooks.md")).unwrap();
    doc.split("```json\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap())
        .find(|v| v["event"] == event)
        .unwrap_or_else(|| panic!("docs/webhooks.md has no example for {event}"))
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn alert_messages_a_receiver_verifies_the_signed_webhook_and_gets_the_documented_body() {
    let (url, mut rx) = webhook_receiver(2, "/hooks/slawatch").await;
    let alerter = Alerter::new(&hook(url, Some(SECRET)));
    let before = now_s();
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    assert!(sent.iter().all(|d| d.result.is_ok()));
    let req = rx.recv().await.unwrap();
    let after = now_s();

    let ts = req
        .header("X-Slawatch-Timestamp")
        .expect("a timestamp header");
    let sig = req
        .header("X-Slawatch-Signature")
        .expect("a signature header");
    let sent: i64 = ts.parse().unwrap();
    assert!(
        (before..=after).contains(&sent),
        "timestamp {sent} is not the send time ({before}..={after})"
    );
    verify(SECRET, &ts, &sig, &req.body, now_s()).unwrap();

    // The documented body: every field of the example, and no other.
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(keys(&body), keys(&documented_example("outage_opened")));
    assert_eq!(body["event"], "outage_opened");
    assert_eq!(body["key"], "down:shop-site:1712139330000");
    assert_eq!(body["start"], "2024-04-03T10:15:30.000Z");
    assert_eq!(body["vantage"], "fra-1");

    // The secret is a key only: never sent.
    assert!(!req.head.contains(SECRET) && !req.body.contains(SECRET));

    // The UP has its own signature over its own body, and the documented fields.
    let sent = alerter
        .send_now(&Event::Closed(outage(Some(1_712_140_050_000))), "fra-1")
        .await;
    assert!(sent.iter().all(|d| d.result.is_ok()));
    let up = rx.recv().await.unwrap();
    let (ts2, sig2) = (
        up.header("X-Slawatch-Timestamp").unwrap(),
        up.header("X-Slawatch-Signature").unwrap(),
    );
    verify(SECRET, &ts2, &sig2, &up.body, now_s()).unwrap();
    let body: serde_json::Value = serde_json::from_str(&up.body).unwrap();
    assert_eq!(keys(&body), keys(&documented_example("outage_closed")));
    assert_eq!(body["duration_ms"], 720_000);
}

#[tokio::test]
async fn alert_messages_a_wrong_secret_a_changed_body_and_a_replay_fail_verification() {
    let (url, mut rx) = webhook_receiver(1, "/hooks/slawatch").await;
    let alerter = Alerter::new(&hook(url, Some(SECRET)));
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    assert!(sent.iter().all(|d| d.result.is_ok()));
    let req = rx.recv().await.unwrap();
    let ts = req.header("X-Slawatch-Timestamp").unwrap();
    let sig = req.header("X-Slawatch-Signature").unwrap();
    let now = now_s();
    verify(SECRET, &ts, &sig, &req.body, now).unwrap();

    // Another secret: refused.
    assert_eq!(
        verify("whsec-someone-else", &ts, &sig, &req.body, now),
        Err("signature mismatch".to_owned())
    );
    // One character of the body changed: refused.
    let forged = req.body.replace("shop-site", "shop-sitf");
    assert_eq!(
        verify(SECRET, &ts, &sig, &forged, now),
        Err("signature mismatch".to_owned())
    );
    // The same request replayed six minutes later: its timestamp gives it away...
    let replayed = verify(SECRET, &ts, &sig, &req.body, now + 360).unwrap_err();
    assert!(replayed.contains("a replay"), "{replayed}");
    // ...and a fresh timestamp on it breaks the signature.
    let fresh = (now + 360).to_string();
    assert_eq!(
        verify(SECRET, &fresh, &sig, &req.body, now + 360),
        Err("signature mismatch".to_owned())
    );
}

#[tokio::test]
async fn alert_messages_a_webhook_without_a_secret_gets_a_timestamp_and_no_signature() {
    let (url, mut rx) = webhook_receiver(1, "/hooks/slawatch").await;
    let alerter = Alerter::new(&hook(url, None));
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    assert!(sent.iter().all(|d| d.result.is_ok()));
    let req = rx.recv().await.unwrap();
    assert!(req.header("X-Slawatch-Timestamp").is_some(), "{}", req.head);
    assert_eq!(req.header("X-Slawatch-Signature"), None, "{}", req.head);
}

#[tokio::test]
async fn alert_messages_a_webhook_slower_than_its_timeout_fails_in_time() {
    // Accepts and reads, never answers: the hook's 1 s timeout ends each attempt.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            held.push(sock);
        }
    });
    let mut alerts = hook(url, Some(SECRET));
    alerts.webhooks[0].timeout = Duration::from_secs(1);
    let alerter = Alerter::new(&alerts);
    let start = Instant::now();
    let sent = alerter
        .send_now(&Event::Opened(outage(None)), "fra-1")
        .await;
    // One attempt of 1 s, far below the 10 s default (the queue retries later).
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(sent.len(), 1);
    assert!(sent[0].result.is_err(), "{:?}", sent[0].result);
}

#[tokio::test]
async fn alert_messages_a_real_mail_has_a_text_and_an_html_part() {
    let d = Dovecot::start();
    let p = Postfix::start(d.lmtp, &d.auth_socket);
    let alerter = Alerter::new(&email(
        format!("smtps://127.0.0.1:{}", p.smtps.port()),
        &p,
        &d,
    ));
    let mut o = outage(Some(1_712_140_070_999));
    o.detail = "<script>alert(1)</script>".into();
    let sent = alerter.send_now(&Event::Closed(o), "fra-1").await;
    assert!(
        sent.iter().all(|d| d.result.is_ok()),
        "postfix log:\n{}",
        std::fs::read_to_string(&p.log).unwrap_or_default()
    );
    let mail = wait_for_mail(&d, "[slawatch] UP shop-site after 12m");
    // The boundary is random and case-sensitive: found through the lower-cased
    // copy (ASCII lower-casing keeps every offset), taken from the mail itself.
    let lower = mail.to_ascii_lowercase();
    let at = lower
        .find("content-type: multipart/alternative;")
        .unwrap_or_else(|| panic!("not multipart/alternative:\n{mail}"));
    let b = at + lower[at..].find("boundary=\"").unwrap() + "boundary=\"".len();
    let boundary = &mail[b..b + mail[b..].find('"').unwrap()];
    let parts: Vec<(String, String)> = mail
        .split(&format!("--{boundary}"))
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|p| {
            let p = p.replace("\r\n", "\n");
            let (head, body) = p.trim_start_matches('\n').split_once("\n\n").unwrap();
            let body = if head
                .to_ascii_lowercase()
                .contains("content-transfer-encoding: quoted-printable")
            {
                unquote(body)
            } else {
                body.to_owned()
            };
            (head.to_ascii_lowercase(), body)
        })
        .collect();
    assert_eq!(parts.len(), 2, "{mail}");
    let (text_head, text) = &parts[0];
    let (html_head, html) = &parts[1];
    assert!(
        text_head.contains("content-type: text/plain; charset=utf-8"),
        "{text_head}"
    );
    assert!(
        html_head.contains("content-type: text/html; charset=utf-8"),
        "{html_head}"
    );
    assert!(
        text.starts_with("shop-site answers again: the outage lasted 12m 20s 999ms, of which 1m proven by failed checks.\n"),
        "{text}"
    );
    assert!(
        text.contains("\nDetail: <script>alert(1)</script>\n"),
        "{text}"
    );
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
}

/// Quoted-printable decoded (RFC 2045 6.7): soft line breaks joined, `=XX` bytes.
fn unquote(s: &str) -> String {
    let s = s.replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], b.get(i + 1..i + 3)) {
            (b'=', Some(hex)) => {
                out.push(u8::from_str_radix(std::str::from_utf8(hex).unwrap(), 16).unwrap());
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}
