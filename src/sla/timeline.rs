//! What happened: incidents, maintenance, monitoring gaps, service start and end.
//!
//! The engine's input besides the plan. The daemon builds a [`Timeline`] from the
//! store; `slawatch sla` reads one from JSON with [`Timeline::from_json`] (the keys of
//! an example case of `sla-examples.json`; other top-level keys are ignored).

use crate::model::UtcMillis;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::fmt;

/// An outage as measured or reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incident {
    /// First failed check (or the reported start).
    pub start: UtcMillis,
    /// First success after it (exclusive).
    pub end: UtcMillis,
    /// Cause tag (`customer`, `force_majeure`, ...), matched against the plan's exclusions.
    pub cause: Option<String>,
    /// Share of requests that failed, 0..=1 (none = all of them).
    pub error_rate: Option<Decimal>,
    /// Share of users affected, 0..=1 (none = all of them).
    pub impact: Option<Decimal>,
    /// Users affected, for `user_weighted` plans that give `measurement.users`.
    pub affected_users: Option<u64>,
    /// When the customer reported it to the provider.
    pub reported_at: Option<UtcMillis>,
    /// When the provider confirmed the service restored.
    pub confirmed_restored_at: Option<UtcMillis>,
    /// Free text.
    pub note: Option<String>,
}

/// A maintenance window announced by the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// Start (inclusive).
    pub start: UtcMillis,
    /// End (exclusive).
    pub end: UtcMillis,
    /// When it was announced; none = unknown notice.
    pub announced_at: Option<UtcMillis>,
}

/// Time when slawatch could not measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// Start (inclusive).
    pub start: UtcMillis,
    /// End (exclusive).
    pub end: UtcMillis,
}

/// Everything the engine needs to know about what happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Outages.
    pub incidents: Vec<Incident>,
    /// Announced maintenance.
    pub maintenance: Vec<MaintenanceWindow>,
    /// Monitoring gaps (no data).
    pub gaps: Vec<Gap>,
    /// The service began here (none = before any period).
    pub service_start: Option<UtcMillis>,
    /// The service ended here (none = still running).
    pub service_end: Option<UtcMillis>,
}

/// A timeline file that cannot be used, located by line and column or JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineError {
    /// Where: `12:5` or `incidents[1].end`.
    pub location: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for TimelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// A decimal written as a JSON or TOML string or integer. Floats are refused: a
/// binary float cannot hold 0.1 exactly, and money must be exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DecimalText(pub Decimal);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = DecimalText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal written as a string, such as \"99.9\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<DecimalText, E> {
                s.trim().parse::<Decimal>().map(DecimalText).map_err(|_| {
                    E::custom(format!(
                        "'{s}' is not a decimal number: write digits with a '.' such as \"99.95\""
                    ))
                })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<DecimalText, E> {
                Ok(DecimalText(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<DecimalText, E> {
                Ok(DecimalText(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<DecimalText, E> {
                Err(E::custom(format!(
                    "write decimals as strings, such as \"{v}\": a binary floating-point number cannot hold most decimals exactly"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct RawTimeline {
    #[serde(default)]
    incidents: Vec<RawIncident>,
    #[serde(default)]
    maintenance: Vec<RawWindow>,
    #[serde(default)]
    gaps: Vec<RawGap>,
    service_start: Option<String>,
    service_end: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncident {
    start: String,
    end: String,
    cause: Option<String>,
    error_rate: Option<DecimalText>,
    impact: Option<DecimalText>,
    affected_users: Option<u64>,
    reported_at: Option<String>,
    confirmed_restored_at: Option<String>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    start: String,
    end: String,
    announced_at: Option<String>,
    #[expect(
        dead_code,
        reason = "accepted so that annotated timelines read as they are"
    )]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGap {
    start: String,
    end: String,
    #[expect(
        dead_code,
        reason = "accepted so that annotated timelines read as they are"
    )]
    note: Option<String>,
}

/// The largest offset from UTC an instant may carry: 23:59 (SLA-MODEL.md section 5).
const MAX_OFFSET_SECONDS: i32 = 23 * 3600 + 59 * 60;

/// Parses an RFC 3339 instant (`Z` or an offset) to milliseconds, truncating below.
///
/// Invariant: an offset outside -23:59..=+23:59 is refused (jiff alone accepts up to
/// 25:59:59, so `+24:00` would silently move the instant by a day).
pub(crate) fn parse_instant(s: &str) -> Result<UtcMillis, String> {
    let bad = || {
        format!(
            "'{s}' is not an RFC 3339 instant: write it like \"2024-04-03T10:15:30Z\" or with an offset, \"2024-04-03T12:15:30+02:00\""
        )
    };
    let pieces = jiff::fmt::temporal::Pieces::parse(s).map_err(|_| bad())?;
    if let Some(jiff::fmt::temporal::PiecesOffset::Numeric(n)) = pieces.offset() {
        let secs = n.offset().seconds();
        if secs.abs() > MAX_OFFSET_SECONDS {
            let a = secs.unsigned_abs();
            return Err(format!(
                "'{s}' has the offset {}{:02}:{:02}, outside -23:59..+23:59: write the instant in UTC (\"Z\") or with the zone's real offset, such as \"+02:00\"",
                if secs < 0 { '-' } else { '+' },
                a / 3600,
                a / 60 % 60
            ));
        }
    }
    s.parse::<jiff::Timestamp>()
        .map(UtcMillis::from_timestamp)
        .map_err(|_| bad())
}

struct Checker {
    errors: Vec<TimelineError>,
}

impl Checker {
    fn instant(&mut self, path: &str, s: &str) -> UtcMillis {
        parse_instant(s).unwrap_or_else(|message| {
            self.errors.push(TimelineError {
                location: path.to_owned(),
                message,
            });
            UtcMillis(0)
        })
    }

    fn opt(&mut self, path: &str, s: Option<&String>) -> Option<UtcMillis> {
        s.map(|s| self.instant(path, s))
    }

    fn interval(&mut self, path: &str, start: &str, end: &str) -> (UtcMillis, UtcMillis) {
        let before = self.errors.len();
        let s = self.instant(&format!("{path}.start"), start);
        let e = self.instant(&format!("{path}.end"), end);
        if self.errors.len() == before && e <= s {
            self.errors.push(TimelineError {
                location: format!("{path}.end"),
                message: format!("ends at {end}, not after its start {start}: intervals are [start, end) with end > start"),
            });
        }
        (s, e)
    }

    fn fraction(&mut self, path: &str, d: Option<DecimalText>) -> Option<Decimal> {
        let d = d?.0;
        if d < Decimal::ZERO || d > Decimal::ONE {
            self.errors.push(TimelineError {
                location: path.to_owned(),
                message: format!("{d} is not a fraction between 0 and 1 (write 30 % as \"0.30\")"),
            });
        }
        Some(d)
    }
}

impl Timeline {
    /// The values that only the plan can judge: `affected_users` is a share of the
    /// plan's `measurement.users`, so it needs them and may not exceed them
    /// (SLA-MODEL.md section 5). Each error carries the JSON path of the bad value.
    pub(crate) fn check_against(&self, plan: &super::Plan) -> Vec<TimelineError> {
        let users = match plan.measurement.method {
            super::plan::Method::UserWeighted { users } => users.filter(|&u| u > 0),
            _ => None,
        };
        let mut errors = Vec::new();
        for (i, inc) in self.incidents.iter().enumerate() {
            let Some(a) = inc.affected_users else {
                continue;
            };
            let message = match users {
                None => format!(
                    "{a} affected users, but plan '{}' gives no measurement.users to divide by: set measurement.method = \"user_weighted\" and measurement.users (the total, such as 200), or give the incident an impact (a share such as \"0.25\") instead",
                    plan.id
                ),
                Some(u) if a > u => format!(
                    "{a} affected users, more than plan '{}' has (measurement.users = {u}): write at most {u}, or correct measurement.users",
                    plan.id
                ),
                Some(_) => continue,
            };
            errors.push(TimelineError {
                location: format!("incidents[{i}].affected_users"),
                message,
            });
        }
        errors
    }

    /// The timeline as the JSON [`Timeline::from_json`] reads (the input of
    /// `slawatch sla --timeline`): instants in UTC with milliseconds, decimals as
    /// strings, absent optional keys left out. `from_json(to_json(t)) == t`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let at = |t: UtcMillis| Value::String(t.to_string());
        let mut incidents = Vec::new();
        for i in &self.incidents {
            let mut o = Map::new();
            o.insert("start".into(), at(i.start));
            o.insert("end".into(), at(i.end));
            if let Some(c) = &i.cause {
                o.insert("cause".into(), json!(c));
            }
            if let Some(r) = i.error_rate {
                o.insert("error_rate".into(), json!(r.to_string()));
            }
            if let Some(r) = i.impact {
                o.insert("impact".into(), json!(r.to_string()));
            }
            if let Some(u) = i.affected_users {
                o.insert("affected_users".into(), json!(u));
            }
            if let Some(r) = i.reported_at {
                o.insert("reported_at".into(), at(r));
            }
            if let Some(r) = i.confirmed_restored_at {
                o.insert("confirmed_restored_at".into(), at(r));
            }
            if let Some(n) = &i.note {
                o.insert("note".into(), json!(n));
            }
            incidents.push(Value::Object(o));
        }
        let maintenance: Vec<Value> = self
            .maintenance
            .iter()
            .map(|w| {
                let mut o = Map::new();
                o.insert("start".into(), at(w.start));
                o.insert("end".into(), at(w.end));
                if let Some(a) = w.announced_at {
                    o.insert("announced_at".into(), at(a));
                }
                Value::Object(o)
            })
            .collect();
        let gaps: Vec<Value> = self
            .gaps
            .iter()
            .map(|g| json!({"start": at(g.start), "end": at(g.end)}))
            .collect();
        let mut o = Map::new();
        o.insert("incidents".into(), Value::Array(incidents));
        o.insert("maintenance".into(), Value::Array(maintenance));
        o.insert("gaps".into(), Value::Array(gaps));
        if let Some(s) = self.service_start {
            o.insert("service_start".into(), at(s));
        }
        if let Some(e) = self.service_end {
            o.insert("service_end".into(), at(e));
        }
        Value::Object(o)
    }

    /// Reads a timeline from JSON text. Every error is returned, each located.
    pub fn from_json(text: &str) -> Result<Timeline, Vec<TimelineError>> {
        let raw: RawTimeline = serde_json::from_str(text).map_err(|e| {
            vec![TimelineError {
                location: format!("{}:{}", e.line(), e.column()),
                message: e
                    .to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or("")
                    .replace('`', "'"),
            }]
        })?;
        let mut c = Checker { errors: Vec::new() };
        let mut tl = Timeline::default();
        for (i, r) in raw.incidents.iter().enumerate() {
            let p = format!("incidents[{i}]");
            let (start, end) = c.interval(&p, &r.start, &r.end);
            tl.incidents.push(Incident {
                start,
                end,
                cause: r.cause.clone(),
                error_rate: c.fraction(&format!("{p}.error_rate"), r.error_rate),
                impact: c.fraction(&format!("{p}.impact"), r.impact),
                affected_users: r.affected_users,
                reported_at: c.opt(&format!("{p}.reported_at"), r.reported_at.as_ref()),
                confirmed_restored_at: c.opt(
                    &format!("{p}.confirmed_restored_at"),
                    r.confirmed_restored_at.as_ref(),
                ),
                note: r.note.clone(),
            });
        }
        for (i, r) in raw.maintenance.iter().enumerate() {
            let p = format!("maintenance[{i}]");
            let (start, end) = c.interval(&p, &r.start, &r.end);
            let announced_at = c.opt(&format!("{p}.announced_at"), r.announced_at.as_ref());
            tl.maintenance.push(MaintenanceWindow {
                start,
                end,
                announced_at,
            });
        }
        for (i, r) in raw.gaps.iter().enumerate() {
            let (start, end) = c.interval(&format!("gaps[{i}]"), &r.start, &r.end);
            tl.gaps.push(Gap { start, end });
        }
        tl.service_start = c.opt("service_start", raw.service_start.as_ref());
        tl.service_end = c.opt("service_end", raw.service_end.as_ref());
        if let (Some(s), Some(e)) = (tl.service_start, tl.service_end)
            && e <= s
        {
            c.errors.push(TimelineError {
                location: "service_end".into(),
                message: "the service ends before it starts".into(),
            });
        }
        if c.errors.is_empty() {
            Ok(tl)
        } else {
            Err(c.errors)
        }
    }
}

/// The largest timeline file [`fuzz_timeline`] reads: 64 KiB holds a few hundred
/// incidents, far more than a period has; larger inputs only slow the fuzzer.
pub(crate) const FUZZ_MAX_TIMELINE: usize = 64 * 1024;

/// Fuzz entry point of `fuzz/fuzz_targets/timeline.rs`: `data` is a timeline file
/// (at most [`FUZZ_MAX_TIMELINE`] bytes; longer inputs are skipped). If
/// [`Timeline::from_json`] refuses it, every error must say where and what; if it
/// reads, `to_json` must read back as the same timeline, and [`evaluate`] over
/// April 2024 (claim date 2024-05-10) with one of `plans` (picked by the input's
/// length) must give figures that make sense: no negative time or money,
/// availability between 0 and 1, no more no-data time than the period holds, one
/// outcome per incident. Returns the number of incidents read.
///
/// # Panics
/// If an invariant breaks, which is what the fuzzer looks for.
///
/// [`evaluate`]: super::evaluate
#[doc(hidden)]
#[expect(
    clippy::expect_used,
    reason = "a fuzz entry point: a panic is the finding the fuzzer reports"
)]
pub fn fuzz_timeline(data: &[u8], plans: &[super::Plan]) -> usize {
    use num_traits::{One, Zero};
    if data.len() > FUZZ_MAX_TIMELINE {
        return 0;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return 0;
    };
    let tl = match Timeline::from_json(text) {
        Ok(tl) => tl,
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(!e.location.is_empty() && !e.message.is_empty(), "{e:?}");
            }
            return 0;
        }
    };
    let again = serde_json::to_string(&tl.to_json()).expect("a JSON value prints");
    assert_eq!(Timeline::from_json(&again).as_ref(), Ok(&tl), "{again}");
    let Some(plan) = plans.get(data.len() % plans.len().max(1)) else {
        return tl.incidents.len();
    };
    let spec = super::PeriodSpec::Month {
        year: 2024,
        month: 4,
    };
    let claim = jiff::civil::date(2024, 5, 10);
    let Ok(ev) = super::evaluate(plan, &super::Overrides::default(), spec, Some(claim), &tl) else {
        return tl.incidents.len();
    };
    let (zero, one) = (super::num::Q::zero(), super::num::Q::one());
    assert!(ev.downtime_ms >= zero && ev.measured_ms >= zero, "{ev:?}");
    if let Some(a) = &ev.availability {
        assert!(*a >= zero && *a <= one, "{}: availability {a}", plan.id);
    }
    if let Some(c) = &ev.credit {
        assert!(
            c.amount >= rust_decimal::Decimal::ZERO,
            "{}: {c:?}",
            plan.id
        );
    }
    assert!(
        (0..=ev.period.end - ev.period.start).contains(&ev.no_data_ms),
        "{}: {} ms no-data",
        plan.id,
        ev.no_data_ms
    );
    assert_eq!(ev.incidents.len(), tl.incidents.len(), "{}", plan.id);
    let _ = (ev.to_json(), ev.to_text(), ev.availability_pct());
    tl.incidents.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_example_case_and_ignores_its_other_keys() {
        let tl = Timeline::from_json(
            r#"{"id": "x", "expected": {"breach": true},
                "incidents": [{"start": "2024-04-03T10:15:30Z", "end": "2024-04-03T12:47:10+02:00", "error_rate": "0.30"}],
                "gaps": [], "maintenance": [{"start": "2024-04-01T00:00:00Z", "end": "2024-04-01T01:00:00Z", "announced_at": "2024-03-01T00:00:00Z"}]}"#,
        )
        .unwrap();
        assert_eq!(tl.incidents[0].end, UtcMillis(1_712_141_230_000));
        assert_eq!(tl.incidents[0].error_rate, Some("0.30".parse().unwrap()));
        assert_eq!(tl.maintenance.len(), 1);
    }

    #[test]
    fn to_json_reads_back_as_the_same_timeline() {
        let tl = Timeline {
            incidents: vec![Incident {
                start: UtcMillis(1_672_531_200_123),
                end: UtcMillis(1_672_534_800_000),
                cause: Some("customer".into()),
                error_rate: Some("0.25".parse().unwrap()),
                impact: None,
                affected_users: Some(3),
                reported_at: Some(UtcMillis(1_672_531_300_000)),
                confirmed_restored_at: None,
                note: Some("a \"quoted\" note".into()),
            }],
            maintenance: vec![MaintenanceWindow {
                start: UtcMillis(1_672_600_000_000),
                end: UtcMillis(1_672_603_600_000),
                announced_at: Some(UtcMillis(1_672_000_000_000)),
            }],
            gaps: vec![Gap {
                start: UtcMillis(1_672_700_000_000),
                end: UtcMillis(1_672_700_060_000),
            }],
            service_start: Some(UtcMillis(1_672_531_200_000)),
            service_end: None,
        };
        let text = serde_json::to_string(&tl.to_json()).unwrap();
        assert_eq!(Timeline::from_json(&text).unwrap(), tl);
        assert!(text.contains("\"2023-01-01T00:00:00.123Z\""), "{text}");
    }

    #[test]
    fn every_bad_value_is_reported_with_its_path() {
        let errs = Timeline::from_json(
            r#"{"incidents": [{"start": "2024-04-03T10:00:00Z", "end": "2024-04-03T09:00:00Z"},
                              {"start": "yesterday", "end": "2024-04-03T09:00:00Z", "error_rate": "1.5"}]}"#,
        )
        .unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("incidents[0].end: ends at"), "{text:?}");
        assert!(text[1].starts_with("incidents[1].start: 'yesterday' is not an RFC 3339 instant"));
        assert!(text[2].starts_with("incidents[1].error_rate: 1.5 is not a fraction"));
    }

    #[test]
    fn offsets_beyond_23_59_are_refused() {
        for bad in [
            "2024-04-03T10:00:00+24:00",
            "2024-04-03T10:00:00-24:00",
            "2024-04-03T10:00:00+25:59",
        ] {
            let e = parse_instant(bad).unwrap_err();
            assert!(e.contains("outside -23:59..+23:59"), "{bad}: {e}");
        }
        assert_eq!(
            parse_instant("2024-04-03T23:59:00+23:59"),
            parse_instant("2024-04-03T00:00:00Z")
        );
        assert_eq!(
            parse_instant("2024-04-02T00:01:00-23:59"),
            parse_instant("2024-04-03T00:00:00Z")
        );
    }

    #[test]
    fn unknown_keys_and_floats_are_refused_with_line_and_column() {
        let e = Timeline::from_json("{\"incidents\": [\n {\"start\": \"2024-04-03T10:00:00Z\", \"end\": \"2024-04-03T11:00:00Z\", \"cuase\": \"x\"}]}").unwrap_err();
        assert!(e[0].location.starts_with("2:"), "{e:?}");
        assert!(e[0].message.contains("unknown field 'cuase'"), "{e:?}");
        let e = Timeline::from_json(r#"{"incidents": [{"start": "2024-04-03T10:00:00Z", "end": "2024-04-03T11:00:00Z", "error_rate": 0.3}]}"#).unwrap_err();
        assert!(e[0].message.contains("write decimals as strings"), "{e:?}");
    }
}
