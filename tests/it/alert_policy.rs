//! When slawatch alerts (issue 17): the real daemon, probes against loopback, alerts
//! to a loopback webhook receiver that counts what it gets.

use crate::util::{Daemon, closed_addr, slawatch};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A webhook receiver on loopback: answers 200 to every POST and hands its body over.
fn receiver() -> (String, mpsc::Receiver<serde_json::Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16_384];
                loop {
                    let Ok(n) = sock.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if buf.len() < i + 4 + len {
                        continue;
                    }
                    let _ = sock.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    let body = serde_json::from_slice(&buf[i + 4..i + 4 + len]).unwrap();
                    let _ = tx.send(body);
                    return;
                }
            });
        }
    });
    (url, rx)
}

/// Every post received until `quiet` passes with none after the last, or `limit`.
fn posts_until_quiet(
    rx: &mpsc::Receiver<serde_json::Value>,
    quiet: Duration,
    limit: Duration,
) -> Vec<serde_json::Value> {
    let end = Instant::now() + limit;
    let mut out = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(quiet.min(left)) {
            Ok(v) => out.push(v),
            Err(_) if !out.is_empty() => break,
            Err(_) => {}
        }
    }
    out
}

fn log_of(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

#[test]
fn alertpolicy_200_probes_failing_within_seconds_post_one_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (url, rx) = receiver();
    let victim = closed_addr();
    let mut cfg = format!(
        r#"
[daemon]
database = "evidence.db"
interval = "2s"
retry_interval = "1s"
timeout = "1s"
confirm_down = 2
concurrency = 256
per_host_concurrency = 256

[alerts]
digest_window = "10s"

[[alerts.webhook]]
url = "{url}"
"#
    );
    for i in 0..200 {
        cfg.push_str(&format!(
            "\n[[tcp]]\nname = \"p{i:03}\"\ntarget = \"{victim}\"\n"
        ));
    }
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, cfg).unwrap();
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&path);
    // The first post, then 15 s more for any other (the digest window is 10 s).
    let first = rx.recv_timeout(Duration::from_secs(60));
    let more = posts_until_quiet(&rx, Duration::from_secs(15), Duration::from_secs(20));
    drop(daemon);
    let first = first.unwrap_or_else(|_| panic!("no post in 60 s; log:\n{}", log_of(&log)));
    assert_eq!(first["event"], "digest", "{first}");
    assert_eq!(first["group"], "all", "{first}");
    let down = first["down"].as_array().unwrap();
    assert_eq!(down.len(), 200, "every probe in the one digest");
    assert!(down.iter().all(|o| o["class"] == "refused"), "{first}");
    assert!(
        more.is_empty(),
        "one digest, not {} more posts: {more:?}",
        more.len()
    );
}

#[test]
fn alertpolicy_off_line_posts_once_for_every_probe_then_once_on_line_again() {
    let dir = tempfile::tempdir().unwrap();
    let (url, rx) = receiver();
    let victim = closed_addr();
    // The control target is down at first (nothing listens), then answers.
    let control = closed_addr();
    let mut cfg = format!(
        r#"
[daemon]
database = "evidence.db"
interval = "1s"
retry_interval = "1s"
timeout = "1s"
confirm_down = 2

[alerts]
digest_window = "0s"

[[alerts.webhook]]
url = "{url}"

[[control]]
name = "gateway"
tcp = "{control}"
"#
    );
    for i in 0..20 {
        cfg.push_str(&format!(
            "\n[[tcp]]\nname = \"p{i}\"\ntarget = \"{victim}\"\n"
        ));
    }
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, cfg).unwrap();
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&path);
    let offline = rx.recv_timeout(Duration::from_secs(30));
    // Several rounds of every probe failing off line: nothing more.
    let during = posts_until_quiet(&rx, Duration::from_secs(5), Duration::from_secs(5));
    let back = TcpListener::bind(control).unwrap();
    std::thread::spawn(move || for _ in back.incoming() {});
    let after = posts_until_quiet(&rx, Duration::from_secs(5), Duration::from_secs(30));
    drop(daemon);
    let offline = offline.unwrap_or_else(|_| panic!("no post in 30 s; log:\n{}", log_of(&log)));
    assert_eq!(offline["event"], "offline", "{offline}");
    assert!(
        during.is_empty(),
        "nothing per probe while off line: {during:?}"
    );
    let events: Vec<&str> = after.iter().map(|p| p["event"].as_str().unwrap()).collect();
    // On line again, the probes' own refusals count: an online alert first, then
    // their outages (not this test's subject).
    assert_eq!(events.first(), Some(&"online"), "{after:?}");
    assert_eq!(events.iter().filter(|e| **e == "online").count(), 1);
    assert_eq!(after[0]["since"], offline["since"], "{after:?}");
}

/// Milliseconds since the epoch now, as the daemon's clock reads them.
#[expect(
    clippy::disallowed_methods,
    reason = "the recorded incident must lie in the period open now"
)]
fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[test]
fn alertpolicy_a_breach_is_posted_while_the_period_is_open_with_the_credit_slawatch_sla_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (url, rx) = receiver();
    let site = TcpListener::bind("127.0.0.1:0").unwrap();
    let site_addr = site.local_addr().unwrap();
    std::thread::spawn(move || for _ in site.incoming() {});
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[daemon]
database = "evidence.db"
interval = "1s"
retry_interval = "1s"
timeout = "1s"

[[alerts.webhook]]
url = "{url}"

[[tcp]]
name = "site"
target = "{site_addr}"

[[plan]]
id = "hosting"
provider = "Example Hosting"
currency = "EUR"
fee = "9.99"
window.kind = "calendar_month"
window.timezone = "UTC"
objective.target = "99.99"
credit.scheme = "tiered_percent"
credit.tiers = [{{ below = "99.99", pct = "10" }}, {{ below = "99.9", pct = "25" }}, {{ below = "99.0", pct = "50" }}]

[[contract]]
id = "shop"
plan = "hosting"
probes = ["site"]
unmonitored = "as_up"
"#
        ),
    )
    .unwrap();
    // Two hours down, recorded by hand, ending a minute ago (in this month: a run
    // in a month's first minutes has less, still over the 4.3 minutes allowed
    // after the first five).
    let now = now();
    let zoned = now.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    let month_start = zoned
        .date()
        .first_of_month()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let from = (now - jiff::SignedDuration::from_hours(2)).max(month_start);
    let until = now - jiff::SignedDuration::from_mins(1);
    let (from, until) = (
        from.round(jiff::Unit::Second).unwrap(),
        until.round(jiff::Unit::Second).unwrap(),
    );
    slawatch()
        .current_dir(dir.path())
        .args(["incident", "add", "--contract", "shop", "--start"])
        .arg(from.to_string())
        .arg("--end")
        .arg(until.to_string())
        .args(["--note", "provider outage", "--config"])
        .arg(&cfg)
        .assert()
        .success();
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&cfg);
    let post = rx.recv_timeout(Duration::from_secs(60));
    let more = posts_until_quiet(&rx, Duration::from_secs(3), Duration::from_secs(3));
    drop(daemon);
    let post = post.unwrap_or_else(|_| panic!("no post in 60 s; log:\n{}", log_of(&log)));
    assert_eq!(post["event"], "breach", "{post}");
    assert_eq!(post["contract"], "shop", "{post}");
    let period = format!("{:04}-{:02}", zoned.year(), zoned.month());
    assert_eq!(post["period_start"], format!("{period}-01"), "{post}");
    // Still open: the period ends after the alert.
    let period_end: jiff::civil::Date = post["period_end"].as_str().unwrap().parse().unwrap();
    assert!(
        period_end > now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
        "{post}"
    );
    assert_eq!(post["key"], format!("breach:shop:{period}-01"), "{post}");
    assert!(more.is_empty(), "one breach alert: {more:?}");

    // The same timeline through `slawatch sla`: the credit is the same.
    let timeline = dir.path().join("timeline.json");
    std::fs::write(
        &timeline,
        serde_json::json!({"incidents": [{"start": from.to_string(), "end": until.to_string()}]})
            .to_string(),
    )
    .unwrap();
    let out = slawatch()
        .args(["sla", "--plans"])
        .arg(&cfg)
        .args([
            "--plan",
            "hosting",
            "--period",
            &period,
            "--missing-data",
            "as_up",
            "--json",
            "--timeline",
        ])
        .arg(&timeline)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sla: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(sla["breach"], true, "{sla}");
    assert_eq!(
        post["credit"], sla["credit"]["amount"],
        "alert {post}\nsla {sla}"
    );
    assert_eq!(post["currency"], "EUR", "{post}");
    assert_ne!(post["credit"], serde_json::Value::Null);
}

#[test]
fn alertpolicy_bad_damping_keys_are_refused_at_their_line_with_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("probes.toml");
    let errors = |alerts: &str| {
        std::fs::write(
            &cfg,
            format!("[daemon]\ndatabase = \"evidence.db\"\n\n[alerts]\n{alerts}"),
        )
        .unwrap();
        let out = slawatch()
            .args(["check-config", "--config"])
            .arg(&cfg)
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone();
        String::from_utf8(out).unwrap()
    };
    let err = errors("flap_changes = 1\nflap_window = \"0s\"\ndigest_min = 0\n");
    for want in [
        "probes.toml:5:16: flap_changes = 1 is too few",
        "write 2 or more, such as 3",
        "probes.toml:6:15: flap_window must be longer than 0s",
        "probes.toml:7:14: digest_min = 0 is too few",
        "3 errors",
    ] {
        assert!(err.contains(want), "{want:?} missing from:\n{err}");
    }
    let err = errors("digest_window = \"soon\"\n");
    assert!(
        err.contains("probes.toml:5:17: in [alerts]: invalid duration 'soon'"),
        "{err}"
    );
}

#[test]
fn alertpolicy_a_breached_closed_period_posts_its_claim_deadline_once() {
    let dir = tempfile::tempdir().unwrap();
    let (url, rx) = receiver();
    let site = TcpListener::bind("127.0.0.1:0").unwrap();
    let site_addr = site.local_addr().unwrap();
    std::thread::spawn(move || for _ in site.incoming() {});
    let today = now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let this_month = today.first_of_month();
    let last_month = this_month - jiff::Span::new().months(1);
    // The claim deadline falls 10 days from today: the last day is 9 days away.
    let days = this_month.until(today).unwrap().get_days() + 10;
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[daemon]
database = "evidence.db"
interval = "1s"
retry_interval = "1s"
timeout = "1s"

[[alerts.webhook]]
url = "{url}"

[[tcp]]
name = "site"
target = "{site_addr}"

[[plan]]
id = "hosting"
currency = "EUR"
fee = "9.99"
window.kind = "calendar_month"
window.timezone = "UTC"
objective.target = "99.9"
credit.scheme = "tiered_percent"
credit.tiers = [{{ below = "99.9", pct = "10" }}]
claim.deadline = {{ kind = "days_after_period_end", days = {days} }}

[[contract]]
id = "shop"
plan = "hosting"
probes = ["site"]
unmonitored = "as_up"
"#
        ),
    )
    .unwrap();
    // Last month: a day down (breached); this month: nothing.
    let from = last_month + jiff::Span::new().days(2);
    slawatch()
        .current_dir(dir.path())
        .args(["incident", "add", "--contract", "shop", "--start"])
        .arg(format!("{from}T08:00:00Z"))
        .arg("--end")
        .arg(format!("{}T08:00:00Z", from + jiff::Span::new().days(1)))
        .args(["--config"])
        .arg(&cfg)
        .assert()
        .success();
    let log = dir.path().join("daemon.log");
    let daemon = Daemon::start(&cfg);
    let post = rx.recv_timeout(Duration::from_secs(60));
    let more = posts_until_quiet(&rx, Duration::from_secs(3), Duration::from_secs(3));
    drop(daemon);
    let post = post.unwrap_or_else(|_| panic!("no post in 60 s; log:\n{}", log_of(&log)));
    assert_eq!(post["event"], "deadline_near", "{post}");
    assert_eq!(post["contract"], "shop", "{post}");
    assert_eq!(post["period_start"], last_month.to_string(), "{post}");
    assert_eq!(post["days_left"], 9, "{post}");
    let last_day = this_month + jiff::Span::new().days(days - 1);
    assert_eq!(post["deadline"], last_day.to_string(), "{post}");
    assert_eq!(
        post["key"],
        format!("deadline:shop:{last_month}:14"),
        "{post}"
    );
    assert!(more.is_empty(), "one alert: {more:?}");
}
