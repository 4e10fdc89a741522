//! The policy against a simulated clock: every instant is passed in.

use super::*;
use crate::model::ErrorClass;
use crate::sla::Timeline;

const MIN: i64 = 60_000;
const T0: i64 = 1_790_000_000_000;

fn config(extra: &str) -> Config {
    let mut text = String::from(
        r#"
[daemon]
database = "evidence.db"

[alerts]
lang = "en"
"#,
    );
    text.push_str(extra);
    crate::config::parse_str(&text, std::path::Path::new("/tmp/probes.toml"), &|_| None).unwrap()
}

/// `n` TCP probes `p0`..; the first `in_contract` of them in contract `c` of
/// provider "Example Hosting", language Italian.
fn probes(n: usize, in_contract: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "[[tcp]]\nname = \"p{i}\"\ntarget = \"127.0.0.1:9\"\n\n"
        ));
    }
    if in_contract > 0 {
        let names: Vec<String> = (0..in_contract).map(|i| format!("\"p{i}\"")).collect();
        s.push_str(&format!(
            r#"
[[plan]]
id = "hosting"
provider = "Example Hosting"
objective.target = "99.9"

[[contract]]
id = "c"
plan = "hosting"
lang = "it"
probes = [{}]
"#,
            names.join(", ")
        ));
    }
    s
}

fn outage(probe: &str, start: i64, end: Option<i64>) -> Outage {
    Outage {
        probe: probe.to_owned(),
        start: UtcMillis(start),
        end: end.map(UtcMillis),
        last_failure: UtcMillis(start),
        last_success_before: None,
        class: ErrorClass::Refused,
        detail: "connection refused".into(),
        failed_checks: 2,
    }
}

fn down(probe: &str, at: i64) -> Event {
    Event::Opened(outage(probe, at, None))
}

fn up(probe: &str, start: i64, at: i64) -> Event {
    Event::Closed(outage(probe, start, Some(at)))
}

/// Feeds a change at `at` and ticks every second up to it.
struct Sim {
    policy: Policy,
    now: i64,
    alerts: Vec<Alert>,
}

impl Sim {
    fn new(extra: &str) -> Sim {
        Sim {
            policy: Policy::new(&config(extra)),
            now: T0,
            alerts: Vec::new(),
        }
    }

    fn until(&mut self, t: i64) {
        while self.now + 1000 <= t {
            self.now += 1000;
            let out = self.policy.tick(UtcMillis(self.now));
            self.alerts.extend(out);
        }
    }

    fn event(&mut self, at: i64, e: &Event) {
        self.until(at);
        let out = self.policy.on_event(e, UtcMillis(at));
        self.alerts.extend(out);
    }

    fn kinds(&self) -> Vec<String> {
        self.alerts
            .iter()
            .map(|a| {
                serde_json::to_value(&a.event).unwrap()["event"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

#[test]
fn one_alert_per_state_change_in_the_first_contracts_language_after_the_hold() {
    let mut s = Sim::new(&probes(2, 1));
    s.event(T0 + 1000, &down("p0", T0));
    assert!(s.alerts.is_empty(), "held for the digest window");
    s.until(T0 + 1000 + 29_000);
    assert!(s.alerts.is_empty());
    s.until(T0 + 1000 + 30_000);
    assert_eq!(s.kinds(), ["outage_opened"]);
    assert_eq!(s.alerts[0].lang, Lang::It, "the contract's language");
    assert_eq!(s.alerts[0].key, format!("down:p0:{T0}"));
    // A probe in no contract: [alerts] lang.
    s.event(T0 + 5 * MIN, &down("p1", T0 + 5 * MIN));
    s.event(T0 + 6 * MIN, &up("p0", T0, T0 + 6 * MIN));
    s.until(T0 + 7 * MIN);
    assert_eq!(
        s.kinds(),
        ["outage_opened", "outage_opened", "outage_closed"]
    );
    assert_eq!(s.alerts[1].lang, Lang::En);
}

#[test]
fn with_digest_window_zero_an_alert_is_not_held() {
    let mut s = Sim::new(&format!("digest_window = \"0s\"\n{}", probes(1, 0)));
    s.event(T0, &down("p0", T0));
    assert_eq!(s.kinds(), ["outage_opened"]);
}

#[test]
fn a_probe_flapping_10_times_in_10_minutes_gives_3_alerts_then_one_stable_summary() {
    // Sent at once (the digest hold is tested on its own).
    let mut s = Sim::new(&format!("digest_window = \"0s\"\n{}", probes(1, 1)));
    // Ten changes, one a minute: DOWN, UP, DOWN, ...
    for k in 0..10 {
        let at = T0 + k * MIN;
        let e = if k % 2 == 0 {
            down("p0", at)
        } else {
            up("p0", at - MIN, at)
        };
        s.event(at, &e);
    }
    s.until(T0 + 10 * MIN);
    assert_eq!(s.kinds(), ["outage_opened", "outage_closed", "flapping"]);
    assert_eq!(s.alerts.len(), 3, "at most 3 alerts for the whole flapping");
    // Nothing more while it holds its state for less than a window...
    s.until(T0 + 9 * MIN + 10 * MIN - 1000);
    assert_eq!(s.alerts.len(), 3);
    // ...then the final summary, stable, with the changes since the flap alert.
    s.until(T0 + 9 * MIN + 10 * MIN);
    assert_eq!(s.alerts.len(), 4);
    match &s.alerts[3].event {
        AlertEvent::FlapSummary {
            changes,
            stable,
            state,
            since,
            ..
        } => {
            assert_eq!(*changes, 7);
            assert!(*stable);
            assert_eq!(state, "up");
            assert_eq!(*since, UtcMillis(T0 + 2 * MIN));
        }
        other => panic!("{other:?}"),
    }
    // Stable again: the next outage alerts as usual.
    s.event(T0 + 30 * MIN, &down("p0", T0 + 30 * MIN));
    s.until(T0 + 31 * MIN);
    assert_eq!(s.kinds().last().unwrap(), "outage_opened");
}

#[test]
fn a_probe_that_keeps_flapping_gets_at_most_one_summary_per_window() {
    let mut s = Sim::new(&format!("digest_window = \"0s\"\n{}", probes(1, 0)));
    // An hour of a change every 30 s.
    for k in 0..120 {
        let at = T0 + k * 30_000;
        let e = if k % 2 == 0 {
            down("p0", at)
        } else {
            up("p0", at - 30_000, at)
        };
        s.event(at, &e);
    }
    let kinds = s.kinds();
    let summaries = kinds.iter().filter(|k| *k == "flap_summary").count();
    assert_eq!(kinds.iter().filter(|k| *k == "flapping").count(), 1);
    // 60 minutes after the flap alert at 1 min: one summary per 10-minute window.
    assert!((5..=6).contains(&summaries), "{kinds:?}");
    let times: Vec<i64> = s
        .alerts
        .iter()
        .filter(|a| matches!(a.event, AlertEvent::FlapSummary { .. }))
        .map(|a| a.raised_at.0)
        .collect();
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= 10 * MIN, "{times:?}");
    }
}

#[test]
fn two_hundred_probes_changing_within_seconds_make_one_digest_per_provider() {
    let mut s = Sim::new(&probes(200, 150));
    for i in 0..200 {
        s.event(T0 + i * 10, &down(&format!("p{i}"), T0));
    }
    // The last group's window opened with p150, 1.5 s in.
    s.until(T0 + 32_000);
    assert_eq!(
        s.kinds(),
        ["digest", "digest"],
        "one per group: {:?}",
        s.alerts.iter().map(|a| &a.key).collect::<Vec<_>>()
    );
    let mut sizes: Vec<(String, usize)> = s
        .alerts
        .iter()
        .map(|a| match &a.event {
            AlertEvent::Digest {
                group,
                down,
                up,
                flaps,
            } => {
                assert!(up.is_empty() && flaps.is_empty());
                (group.clone(), down.len())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    sizes.sort();
    assert_eq!(
        sizes,
        [("Example Hosting".to_owned(), 150), ("all".to_owned(), 50)]
    );
}

#[test]
fn twenty_probes_flapping_together_give_digests_not_twenty_flap_alerts_each_time() {
    let mut s = Sim::new(&probes(20, 20));
    // Ten changes of all twenty probes, one a minute, then quiet.
    for k in 0..10 {
        for i in 0..20 {
            let at = T0 + k * MIN + i * 100;
            let p = format!("p{i}");
            let e = if k % 2 == 0 {
                down(&p, at)
            } else {
                up(&p, at - MIN, at)
            };
            s.event(at, &e);
        }
    }
    s.until(T0 + 40 * MIN);
    // DOWN, UP, flapping, stable: one digest each.
    assert_eq!(s.kinds(), ["digest"; 4]);
    let flaps: Vec<usize> = s
        .alerts
        .iter()
        .map(|a| match &a.event {
            AlertEvent::Digest { flaps, .. } => flaps.len(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(flaps, [0, 0, 20, 20]);
    let body = serde_json::to_value(&s.alerts[2].event).unwrap();
    assert_eq!(body["flaps"][0]["event"], "flapping", "{body}");
}

#[test]
fn fewer_changes_than_digest_min_are_sent_one_by_one_when_the_window_ends() {
    let mut s = Sim::new(&probes(4, 0));
    for i in 0..4 {
        s.event(T0 + i * 1000, &down(&format!("p{i}"), T0));
    }
    s.until(T0 + 29_000);
    assert!(s.alerts.is_empty());
    s.until(T0 + 30_000);
    assert_eq!(s.kinds(), ["outage_opened"; 4]);
}

#[test]
fn a_stop_flushes_what_is_held() {
    let mut s = Sim::new(&probes(6, 0));
    for i in 0..6 {
        s.event(T0, &down(&format!("p{i}"), T0));
    }
    let out = s.policy.flush(UtcMillis(T0 + 1000));
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0].event, AlertEvent::Digest { down, .. } if down.len() == 6));
    assert!(s.policy.tick(UtcMillis(T0 + 60_000)).is_empty());
}

fn check(probe: &str, at: i64, status: Status) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(at),
        status,
        class: None,
        detail: String::new(),
        phases: Default::default(),
        cert_not_after: None,
    }
}

#[test]
fn off_line_is_one_alert_for_every_probe_then_one_on_line_with_the_span() {
    let mut p = Policy::new(&config(&probes(100, 0)));
    let mut out = Vec::new();
    for round in 0..5 {
        for i in 0..100 {
            let at = T0 + round * 1000 + i;
            out.extend(p.on_check(
                &check(&format!("p{i}"), at, Status::Unknown),
                true,
                UtcMillis(at),
            ));
        }
    }
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].event,
        AlertEvent::Offline {
            since: UtcMillis(T0)
        }
    );
    // An unknown check of another cause says nothing about the network.
    assert!(
        p.on_check(
            &check("p1", T0 + 9000, Status::Unknown),
            false,
            UtcMillis(T0 + 9000)
        )
        .is_empty()
    );
    let back = p.on_check(
        &check("p1", T0 + 10_000, Status::Up),
        false,
        UtcMillis(T0 + 10_000),
    );
    assert_eq!(
        back.iter().map(|a| &a.event).collect::<Vec<_>>(),
        [&AlertEvent::Online {
            since: UtcMillis(T0),
            until: UtcMillis(T0 + 10_000)
        }]
    );
    assert_eq!(back[0].key, format!("online:{T0}"));
    assert!(
        p.on_check(
            &check("p2", T0 + 11_000, Status::Down),
            false,
            UtcMillis(T0 + 11_000)
        )
        .is_empty()
    );
}

#[test]
fn a_certificate_alerts_once_inside_the_warning_and_once_inside_three_days() {
    let mut p = Policy::new(&config(
        "[[tcp]]\nname = \"tls\"\ntarget = \"127.0.0.1:9\"\ntls = true\ncert_expiry_warn = \"14d\"\n\n[[tcp]]\nname = \"plain\"\ntarget = \"127.0.0.1:9\"\n",
    ));
    let day = 86_400_000;
    let not_after = T0 + 20 * day;
    let mut out = Vec::new();
    for h in 0..(20 * 24) {
        let at = T0 + h * 3_600_000;
        let mut c = check("tls", at, Status::Up);
        c.cert_not_after = Some(UtcMillis(not_after));
        out.extend(p.on_check(&c, false, UtcMillis(at)));
    }
    let days: Vec<i64> = out
        .iter()
        .map(|a| match a.event {
            AlertEvent::CertExpiring { days_left, .. } => days_left,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(days, [14, 3]);
    assert_eq!(out[0].key, format!("cert:tls:{not_after}:1"));
    // A renewed certificate starts over; a probe without TLS never alerts.
    let mut c = check("tls", T0 + 21 * day, Status::Up);
    c.cert_not_after = Some(UtcMillis(T0 + 30 * day));
    assert_eq!(p.on_check(&c, false, UtcMillis(T0 + 21 * day)).len(), 1);
    let mut c = check("plain", T0, Status::Up);
    c.cert_not_after = Some(UtcMillis(T0 + day));
    assert!(p.on_check(&c, false, UtcMillis(T0)).is_empty());
}

#[test]
fn a_reload_keeps_what_is_held_and_flapping() {
    let cfg = config(&probes(6, 0));
    let mut p = Policy::new(&cfg);
    for i in 0..6 {
        p.on_event(&down(&format!("p{i}"), T0), UtcMillis(T0));
    }
    p.reconfigure(&cfg);
    let out = p.tick(UtcMillis(T0 + 30_000));
    assert_eq!(out.len(), 1, "{out:?}");
}

fn breach(credit: &str) -> Fact {
    Fact::Breach {
        contract: "c".into(),
        lang: Some(Lang::It),
        period_start: "2026-11-01".into(),
        period_end: "2026-12-01".into(),
        downtime_ms: 3_600_000,
        allowed_ms: 2_592_000,
        credit: Some(credit.parse().unwrap()),
        currency: "EUR".into(),
    }
}

#[test]
fn a_breach_alerts_once_per_period_and_again_when_the_credit_doubles() {
    let mut p = Policy::new(&config(""));
    let now = UtcMillis(T0);
    let first = p.on_contracts(&[breach("1.00")], now);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].key, "breach:c:2026-11-01");
    assert_eq!(first[0].lang, Lang::It);
    assert!(p.on_contracts(&[breach("1.00")], now).is_empty());
    assert!(p.on_contracts(&[breach("1.99")], now).is_empty());
    let again = p.on_contracts(&[breach("2.00")], now);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].key, "breach:c:2026-11-01:2.00");
    assert!(p.on_contracts(&[breach("3.99")], now).is_empty());
}

#[test]
fn a_claim_deadline_alerts_at_14_and_3_days_once_each() {
    let mut p = Policy::new(&config(""));
    let fact = |days_left| Fact::Claimable {
        contract: "c".into(),
        lang: None,
        period_start: "2026-10-01".into(),
        period_end: "2026-11-01".into(),
        last_day: "2026-11-30".into(),
        days_left,
    };
    let mut keys = Vec::new();
    for d in (0..=30).rev() {
        for _ in 0..3 {
            keys.extend(
                p.on_contracts(&[fact(d)], UtcMillis(T0))
                    .into_iter()
                    .map(|a| a.key),
            );
        }
    }
    assert_eq!(
        keys,
        ["deadline:c:2026-10-01:14", "deadline:c:2026-10-01:3"]
    );
    // Started 2 days before: only the 3-day alert.
    let mut p = Policy::new(&config(""));
    let out = p.on_contracts(&[fact(2)], UtcMillis(T0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].key, "deadline:c:2026-10-01:3");
}

#[test]
fn the_open_period_is_cut_at_now_and_the_billing_cycle_found() {
    use crate::sla::timeline::{Gap, Incident};
    let t = Timeline {
        incidents: vec![
            Incident {
                start: UtcMillis(100),
                end: UtcMillis(500),
                ..Incident::default()
            },
            Incident {
                start: UtcMillis(700),
                end: UtcMillis(900),
                ..Incident::default()
            },
        ],
        gaps: vec![Gap {
            start: UtcMillis(300),
            end: UtcMillis(1000),
        }],
        ..Timeline::default()
    };
    let cut = contracts::up_to(&t, UtcMillis(400));
    assert_eq!(cut.incidents.len(), 1);
    assert_eq!(cut.incidents[0].end, UtcMillis(400));
    assert_eq!(
        (cut.gaps[0].start, cut.gaps[0].end),
        (UtcMillis(300), UtcMillis(400))
    );

    let cfg = config(
        "[[plan]]\nid = \"b\"\nobjective.target = \"99.9\"\nwindow.kind = \"billing_cycle\"\nwindow.anchor_day = 15\nwindow.timezone = \"UTC\"\n",
    );
    let w = &cfg.plans[0].window;
    let at = |s: &str| UtcMillis(s.parse::<jiff::Timestamp>().unwrap().as_millisecond());
    assert_eq!(
        contracts::open_spec(w, at("2026-11-26T10:00:00Z")).to_string(),
        "2026-11"
    );
    assert_eq!(
        contracts::open_spec(w, at("2026-11-14T10:00:00Z")).to_string(),
        "2026-10"
    );
    assert_eq!(
        contracts::open_spec(w, at("2026-01-03T10:00:00Z")).to_string(),
        "2025-12"
    );
}
