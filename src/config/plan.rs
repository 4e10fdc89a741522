//! `[[plan]]` tables: the serde mirror of SLA-MODEL.md section 2 and its conversion
//! to the engine's typed [`crate::sla::Plan`], every mistake reported with its position.
//!
//! Values are checked while they are deserialized (decimals, ISO 8601 durations, time
//! zones, enum names), so toml attaches the exact span to each error; the rules
//! between keys (a scheme and the keys it needs) are checked after, at the key that
//! decides.

use super::diag::Ctx;
use crate::sla::num::{DAY_MS, HOUR_MS, MINUTE_MS};
use crate::sla::plan::{self as p, Plan};
use crate::sla::timeline::DecimalText;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// An ISO 8601 duration (`PT1M`, `P5D`, `PT1H1S`, `PT0.5S`) in milliseconds. Days are
/// 24 hours; years and months are refused (their length varies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct IsoDuration(pub(super) i64);

/// Parses an ISO 8601 duration to milliseconds.
pub(super) fn parse_iso_duration(s: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "'{s}' is not an ISO 8601 duration: write it like \"PT10M\", \"PT1H30M\", \"P5D\" or \"PT0S\""
        )
    };
    let rest = s.strip_prefix('P').ok_or_else(bad)?;
    if rest.is_empty() {
        return Err(bad());
    }
    let (date_part, time_part) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut take = |part: &str, units: &[(char, i64)]| -> Result<(), String> {
        let mut num = String::new();
        let mut last = 0usize;
        for ch in part.chars() {
            if ch.is_ascii_digit() || ch == '.' {
                num.push(ch);
                continue;
            }
            let pos = units.iter().position(|(u, _)| *u == ch).ok_or_else(|| {
                if matches!(ch, 'Y' | 'M') && units.len() == 2 {
                    format!("'{s}': years and months have no fixed length; write days instead, such as \"P365D\"")
                } else {
                    bad()
                }
            })?;
            if pos < last || num.is_empty() {
                return Err(bad());
            }
            last = pos + 1;
            let value: Decimal = num.parse().map_err(|_| bad())?;
            let ms = value * Decimal::from(units[pos].1);
            if !ms.fract().is_zero() {
                return Err(format!("'{s}' is finer than a millisecond"));
            }
            let ms: i64 = ms.try_into().map_err(|_| bad())?;
            total = total.checked_add(ms).ok_or_else(bad)?;
            num.clear();
        }
        if num.is_empty() { Ok(()) } else { Err(bad()) }
    };
    take(date_part, &[('W', 7 * DAY_MS), ('D', DAY_MS)])?;
    if let Some(t) = time_part {
        take(t, &[('H', HOUR_MS), ('M', MINUTE_MS), ('S', 1000)])?;
    }
    Ok(total)
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_iso_duration(&s)
            .map(IsoDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// An IANA time zone name, looked up in the bundled database.
#[derive(Clone, Debug)]
pub(super) struct Tz(String, TimeZone);

impl<'de> Deserialize<'de> for Tz {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match TimeZone::get(&s) {
            Ok(tz) => Ok(Tz(s, tz)),
            Err(_) => Err(serde::de::Error::custom(format!(
                "'{s}' is not an IANA time zone name: write one such as \"Europe/Rome\", \"America/Los_Angeles\" or \"UTC\""
            ))),
        }
    }
}

/// A local wall-clock time "HH:MM" (or "24:00" as an end).
#[derive(Clone, Copy, Debug)]
pub(super) struct Clock {
    time: Time,
    end_of_day: bool,
}

impl<'de> Deserialize<'de> for Clock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "24:00" {
            return Ok(Clock {
                time: Time::midnight(),
                end_of_day: true,
            });
        }
        // "HH:MM" exactly: "9:5" is refused.
        let t = s
            .split_once(':')
            .filter(|_| s.len() == 5)
            .and_then(|(h, m)| {
                let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
                Time::new(h, m, 0, 0).ok()
            });
        t.map(|time| Clock {
            time,
            end_of_day: false,
        })
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "'{s}' is not a time of day: write HH:MM such as \"09:00\" or \"24:00\""
            ))
        })
    }
}

/// A weekday name: "Mon", "Monday", case-insensitive.
#[derive(Clone, Copy, Debug)]
pub(super) struct Day(Weekday);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let days = [
            ("mon", Weekday::Monday),
            ("tue", Weekday::Tuesday),
            ("wed", Weekday::Wednesday),
            ("thu", Weekday::Thursday),
            ("fri", Weekday::Friday),
            ("sat", Weekday::Saturday),
            ("sun", Weekday::Sunday),
        ];
        let l = s.to_ascii_lowercase();
        days.iter()
            .find(|(n, _)| l.get(..3).is_some_and(|p| p == *n) && full_names_match(&l))
            .map(|(_, d)| Day(*d))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "'{s}' is not a weekday: write Mon, Tue, Wed, Thu, Fri, Sat or Sun"
                ))
            })
    }
}

/// "mon", "monday", "tues"...: a prefix of the English name of at least three letters.
fn full_names_match(l: &str) -> bool {
    const NAMES: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    NAMES.iter().any(|n| n.starts_with(l))
}

/// A local date "YYYY-MM-DD".
#[derive(Clone, Copy, Debug)]
pub(super) struct Day8601(Date);

impl<'de> Deserialize<'de> for Day8601 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Date>().map(Day8601).map_err(|_| {
            serde::de::Error::custom(format!(
                "'{s}' is not a date: write YYYY-MM-DD such as \"2024-12-25\""
            ))
        })
    }
}

/// `credit.day_value_basis`: "days_in_period" or "30" (string or integer).
#[derive(Clone, Copy, Debug)]
pub(super) struct Basis(p::DayValueBasis);

impl<'de> Deserialize<'de> for Basis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Basis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"days_in_period\" or \"30\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Basis, E> {
                match s {
                    "days_in_period" => Ok(Basis(p::DayValueBasis::DaysInPeriod)),
                    "30" => Ok(Basis(p::DayValueBasis::Thirty)),
                    _ => Err(E::custom(format!(
                        "day_value_basis '{s}' must be \"days_in_period\" or \"30\""
                    ))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Basis, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum KindName {
    CalendarMonth,
    BillingCycle,
    CalendarYear,
    Rolling,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum BreachName {
    AvailabilityLtTarget,
    DowntimeGtPct,
    AnyDowntime,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum MethodName {
    Time,
    TimeSlices,
    ErrorRateSlices,
    UserWeighted,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum SchemeName {
    None,
    Unspecified,
    Goodwill,
    TieredPercent,
    TieredDays,
    DowntimeTiers,
    IncidentTiers,
    PerUnitPercent,
    PerUnitDays,
    ProrataMultiplier,
    DailyFlat,
    PerDayOverThreshold,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum DeadlineKind {
    CyclesAfterPeriod,
    DaysAfterPeriodEnd,
    MonthsAfterPeriodEnd,
    DaysAfterIncidentStart,
    None,
}

/// `[[plan]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlan {
    pub(super) id: Spanned<String>,
    provider: Option<String>,
    service: Option<String>,
    source: Option<String>,
    verified: Option<p::Verified>,
    group: Option<String>,
    group_rule: Option<p::GroupRule>,
    probe: Option<String>,
    customer_type: Option<p::CustomerType>,
    currency: Option<Spanned<String>>,
    fee: Option<Spanned<DecimalText>>,
    fee_period: Option<p::FeePeriod>,
    #[serde(default)]
    window: RawWindow,
    objective: Option<RawObjective>,
    #[serde(default)]
    measurement: RawMeasurement,
    #[serde(default)]
    exclusions: RawExclusions,
    credit: Option<RawCredit>,
    #[serde(default)]
    claim: RawClaim,
    #[serde(default)]
    goodwill: Vec<RawGoodwill>,
    clause: Option<String>,
    /// `vantages = "K of N"` (issue 18): the consensus of the plan's contracts that
    /// state none.
    vantages: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    kind: Option<Spanned<KindName>>,
    timezone: Option<Tz>,
    anchor_day: Option<Spanned<i64>>,
    length: Option<IsoDuration>,
    anchor: Option<p::RollingAnchor>,
    partial_period: Option<p::PartialPeriod>,
    business_hours: Option<RawWeekly>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeekly {
    timezone: Option<Tz>,
    days: Option<Vec<Day>>,
    start: Clock,
    end: Spanned<Clock>,
    #[serde(default)]
    holidays: Vec<Day8601>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    target: Spanned<DecimalText>,
    breach_if: Option<Spanned<BreachName>>,
    downtime_gt_pct: Option<Spanned<DecimalText>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasurement {
    method: Option<Spanned<MethodName>>,
    slice: Option<Spanned<IsoDuration>>,
    slice_bad_if: Option<p::SliceBadIf>,
    down_if_error_rate_gt: Option<Spanned<DecimalText>>,
    min_requests_per_slice: Option<u64>,
    min_incident: Option<IsoDuration>,
    min_incident_exclusive: Option<bool>,
    merge_gap: Option<IsoDuration>,
    fragment_rounding: Option<p::FragmentRounding>,
    start_from: Option<p::StartFrom>,
    end_at: Option<p::EndAt>,
    missing_data: Option<p::MissingData>,
    users: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExclusions {
    #[serde(default)]
    causes: Vec<String>,
    maintenance: Option<RawMaintenance>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaintenance {
    excluded: Option<bool>,
    min_notice: Option<IsoDuration>,
    max_per_year: Option<IsoDuration>,
    #[serde(default)]
    recurring: Vec<RawWeekly>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    below: Option<DecimalText>,
    at_least: Option<IsoDuration>,
    pct: Option<DecimalText>,
    days: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredit {
    scheme: Spanned<SchemeName>,
    tiers: Option<Vec<Spanned<RawTier>>>,
    unit: Option<IsoDuration>,
    unit_rounding: Option<p::UnitRounding>,
    unit_scope: Option<p::UnitScope>,
    count_from: Option<p::CountFrom>,
    pct_per_unit: Option<DecimalText>,
    days_per_unit: Option<u32>,
    multiplier: Option<DecimalText>,
    hours_basis: Option<Spanned<DecimalText>>,
    lost_time: Option<p::LostTime>,
    deductible_per_incident: Option<IsoDuration>,
    per_day: Option<DecimalText>,
    day_count: Option<p::DayCount>,
    business_multiplier: Option<DecimalText>,
    daily_threshold_pct: Option<DecimalText>,
    aggregate: Option<p::Aggregate>,
    cap_pct_of_fee: Option<DecimalText>,
    cap_days: Option<DecimalText>,
    cap_per_incident_pct_of_fee: Option<DecimalText>,
    cap_amount: Option<DecimalText>,
    cap_value_pct_of_fee: Option<DecimalText>,
    min_credit: Option<DecimalText>,
    day_value_basis: Option<Basis>,
    form: Option<p::CreditForm>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    deadline: Option<Spanned<RawDeadline>>,
    automatic: Option<bool>,
    method: Option<String>,
    evidence: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadline {
    kind: DeadlineKind,
    n: Option<u32>,
    days: Option<u32>,
    months: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoodwill {
    event: Option<String>,
    remedy: Option<String>,
    extension_days: Option<u32>,
    #[serde(default)]
    applies_to: Vec<String>,
    note: Option<String>,
}

fn weekly(w: &RawWeekly, default_tz: &Tz) -> p::WeeklyHours {
    let tz = w.timezone.as_ref().unwrap_or(default_tz);
    let days = match &w.days {
        Some(d) => d.iter().map(|d| d.0).collect(),
        None => vec![
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ],
    };
    p::WeeklyHours {
        timezone_name: tz.0.clone(),
        timezone: tz.1.clone(),
        days,
        start: w.start.time,
        end: w.end.get_ref().time,
        end_of_day: w.end.get_ref().end_of_day,
        holidays: w.holidays.iter().map(|d| d.0).collect(),
    }
}

/// Checks one plan and builds its typed terms: one function per section of the
/// table, each recording its problems in `cx`. The plan is returned only when none
/// of them found one.
pub(super) fn build(cx: &mut Ctx<'_>, r: &RawPlan) -> Option<Plan> {
    let before = cx.errors.len();
    let tz = r
        .window
        .timezone
        .clone()
        .unwrap_or_else(|| Tz("UTC".into(), TimeZone::UTC));
    let window = window(cx, r, &tz);
    let objective = objective(cx, r);
    let measurement = measurement(cx, r, &window.kind);
    let exclusions = exclusions(&r.exclusions, &tz);
    let credit = credit(cx, r);
    let claim = claim(cx, r);
    let (fee, currency) = fee_and_currency(cx, r);
    (cx.errors.len() == before).then(|| Plan {
        id: r.id.get_ref().clone(),
        provider: r.provider.clone(),
        service: r.service.clone(),
        source: r.source.clone(),
        verified: r.verified,
        group: r.group.clone(),
        group_rule: r.group_rule.unwrap_or_default(),
        probe: r.probe.clone(),
        customer_type: r.customer_type.unwrap_or_default(),
        currency,
        fee,
        fee_period: r.fee_period.unwrap_or_default(),
        window,
        objective,
        measurement,
        exclusions,
        credit,
        claim,
        goodwill: goodwill(&r.goodwill),
        clause: r.clause.clone(),
    })
}

/// The plan's `vantages = "K of N"` (issue 18), for its contracts that state none;
/// `None` when absent or wrong (the mistake is recorded in `cx`).
pub(super) fn consensus(cx: &mut Ctx<'_>, r: &RawPlan) -> Option<crate::config::Consensus> {
    let v = r.vantages.as_ref()?;
    match crate::config::Consensus::parse(v.get_ref()) {
        Ok(c) => Some(c),
        Err(message) => {
            err(cx, r, v.span(), message);
            None
        }
    }
}

/// Records a problem of plan `r` at `span`, prefixed with the plan's id.
fn err(cx: &mut Ctx<'_>, r: &RawPlan, span: Range<usize>, msg: impl fmt::Display) {
    cx.err(span, format!("plan '{}': {msg}", r.id.get_ref()));
}

/// `window`: its kind (a billing cycle's anchor day, a rolling window's length), zone,
/// partial periods and business hours.
fn window(cx: &mut Ctx<'_>, r: &RawPlan, tz: &Tz) -> p::Window {
    let kind = match r.window.kind.as_ref().map(|k| (*k.get_ref(), k.span())) {
        None | Some((KindName::CalendarMonth, _)) => p::WindowKind::CalendarMonth,
        Some((KindName::CalendarYear, _)) => p::WindowKind::CalendarYear,
        Some((KindName::BillingCycle, _)) => {
            let day = r.window.anchor_day.as_ref().map_or(1, |d| *d.get_ref());
            if !(1..=31).contains(&day) {
                let span = r
                    .window
                    .anchor_day
                    .as_ref()
                    .map_or(r.id.span(), Spanned::span);
                err(
                    cx,
                    r,
                    span,
                    format!("window.anchor_day {day} must be a day of the month, 1 to 31"),
                );
            }
            p::WindowKind::BillingCycle {
                anchor_day: i8::try_from(day.clamp(1, 31)).unwrap_or(1),
            }
        }
        Some((KindName::Rolling, span)) => match r.window.length {
            Some(IsoDuration(ms)) if ms > 0 => p::WindowKind::Rolling {
                length_ms: ms,
                anchor: r.window.anchor.unwrap_or_default(),
            },
            _ => {
                err(
                    cx,
                    r,
                    span,
                    "a rolling window needs window.length, a positive duration such as \"P365D\"",
                );
                p::WindowKind::CalendarMonth
            }
        },
    };
    p::Window {
        kind,
        timezone_name: tz.0.clone(),
        timezone: tz.1.clone(),
        partial_period: r.window.partial_period.unwrap_or_default(),
        business_hours: r.window.business_hours.as_ref().map(|w| weekly(w, tz)),
    }
}

/// `objective`: the target (a percentage above 0, at most 100) and when it is broken.
fn objective(cx: &mut Ctx<'_>, r: &RawPlan) -> p::Objective {
    let Some(o) = &r.objective else {
        err(
            cx,
            r,
            r.id.span(),
            "needs objective.target, the availability promised in percent, such as objective.target = \"99.9\"",
        );
        return p::Objective {
            target: Decimal::ONE_HUNDRED,
            breach_if: p::BreachIf::AvailabilityLtTarget,
        };
    };
    let target = o.target.get_ref().0;
    if target <= Decimal::ZERO || target > Decimal::ONE_HUNDRED {
        err(
            cx,
            r,
            o.target.span(),
            format!("objective.target {target} must be a percentage above 0 and at most 100"),
        );
    }
    let breach_if = match o.breach_if.as_ref().map(|b| *b.get_ref()) {
        None | Some(BreachName::AvailabilityLtTarget) => p::BreachIf::AvailabilityLtTarget,
        Some(BreachName::AnyDowntime) => p::BreachIf::AnyDowntime,
        Some(BreachName::DowntimeGtPct) => p::BreachIf::DowntimeGtPct(
            o.downtime_gt_pct
                .as_ref()
                .map_or(Decimal::ONE_HUNDRED - target, |d| d.get_ref().0),
        ),
    };
    p::Objective { target, breach_if }
}

/// `measurement.slice` of a slice method: at least 1 s, and few enough slices for
/// the longest period of `kind` (the engine checks the exact period; a year is judged
/// here at 366 days).
fn slice(
    cx: &mut Ctx<'_>,
    r: &RawPlan,
    kind: &p::WindowKind,
    method_span: Range<usize>,
    method: &str,
) -> i64 {
    match &r.measurement.slice {
        Some(s) if s.get_ref().0 >= crate::sla::MIN_SLICE_MS => {
            let len = s.get_ref().0;
            let longest = match *kind {
                p::WindowKind::CalendarYear => {
                    Some((366 * DAY_MS, "a calendar year of 366 days".to_owned()))
                }
                p::WindowKind::Rolling { length_ms, .. } => Some((
                    length_ms,
                    format!(
                        "the rolling window of {}",
                        crate::sla::num::human_ms(&crate::sla::num::int(length_ms))
                    ),
                )),
                p::WindowKind::CalendarMonth | p::WindowKind::BillingCycle { .. } => None,
            };
            if let Some((span_ms, what)) = longest
                && let Err(e) = crate::sla::check_slices(span_ms, len, &what)
            {
                err(cx, r, s.span(), e);
            }
            len
        }
        Some(s) => {
            err(
                cx,
                r,
                s.span(),
                "measurement.slice is shorter than the limit of 1 s: write \"PT1S\" or longer, such as \"PT1M\"",
            );
            MINUTE_MS
        }
        None => {
            err(
                cx,
                r,
                method_span,
                format!("measurement.method '{method}' needs measurement.slice, such as \"PT1M\""),
            );
            MINUTE_MS
        }
    }
}

/// `measurement`: the method (and its slice), users, the error-rate threshold and
/// how incidents are cut, merged and rounded.
fn measurement(cx: &mut Ctx<'_>, r: &RawPlan, kind: &p::WindowKind) -> p::Measurement {
    let m = &r.measurement;
    let method = match m.method.as_ref().map(|x| (*x.get_ref(), x.span())) {
        None | Some((MethodName::Time, _)) => p::Method::Time,
        Some((MethodName::TimeSlices, span)) => {
            let bad_if = m.slice_bad_if.unwrap_or_default();
            if bad_if == p::SliceBadIf::ErrorRateGt && m.down_if_error_rate_gt.is_none() {
                err(
                    cx,
                    r,
                    span.clone(),
                    "slice_bad_if = \"error_rate_gt\" needs measurement.down_if_error_rate_gt, such as \"0.10\"",
                );
            }
            p::Method::TimeSlices {
                slice_ms: slice(cx, r, kind, span, "time_slices"),
                bad_if,
            }
        }
        Some((MethodName::ErrorRateSlices, span)) => p::Method::ErrorRateSlices {
            slice_ms: slice(cx, r, kind, span, "error_rate_slices"),
        },
        Some((MethodName::UserWeighted, _)) => p::Method::UserWeighted {
            users: m.users.as_ref().map(|u| *u.get_ref()),
        },
    };
    // A share of zero users has no meaning (SLA-MODEL.md section 5).
    if let Some(u) = &m.users
        && *u.get_ref() == 0
    {
        err(
            cx,
            r,
            u.span(),
            "measurement.users = 0: write the total number of users the service has, 1 or more, such as measurement.users = 200",
        );
    }
    if let Some(t) = &m.down_if_error_rate_gt {
        let v = t.get_ref().0;
        if v < Decimal::ZERO || v > Decimal::ONE {
            err(
                cx,
                r,
                t.span(),
                format!(
                    "measurement.down_if_error_rate_gt {v} must be a fraction between 0 and 1 (5 % is \"0.05\")"
                ),
            );
        }
    }
    p::Measurement {
        method,
        down_if_error_rate_gt: m.down_if_error_rate_gt.as_ref().map(|d| d.get_ref().0),
        min_requests_per_slice: m.min_requests_per_slice,
        min_incident: m.min_incident.map(|d| p::MinIncident {
            ms: d.0,
            exclusive: m.min_incident_exclusive.unwrap_or(false),
        }),
        merge_gap_ms: m.merge_gap.map(|d| d.0),
        fragment_rounding: m.fragment_rounding.unwrap_or_default(),
        start_from: m.start_from.unwrap_or_default(),
        end_at: m.end_at.unwrap_or_default(),
        missing_data: m.missing_data.unwrap_or_default(),
    }
}

/// `exclusions`: the excluded causes and the maintenance rule (its recurring
/// windows in the plan's zone unless they name their own). Nothing here can be wrong
/// once deserialized.
fn exclusions(e: &RawExclusions, tz: &Tz) -> p::Exclusions {
    let mt = e.maintenance.as_ref();
    p::Exclusions {
        causes: e.causes.clone(),
        maintenance: p::MaintenanceRule {
            excluded: mt.and_then(|x| x.excluded).unwrap_or(false),
            min_notice_ms: mt.and_then(|x| x.min_notice).map_or(0, |d| d.0),
            max_per_year_ms: mt.and_then(|x| x.max_per_year).map(|d| d.0),
            recurring: mt
                .map(|x| x.recurring.iter().map(|w| weekly(w, tz)).collect())
                .unwrap_or_default(),
        },
    }
}

/// `credit`: the scheme (checked by [`scheme`]) and its caps; none written is
/// `unspecified`.
fn credit(cx: &mut Ctx<'_>, r: &RawPlan) -> p::Credit {
    let Some(c) = &r.credit else {
        return p::Credit::of(p::Scheme::Unspecified);
    };
    let scheme = scheme(cx, r.id.get_ref(), c, *c.scheme.get_ref(), c.scheme.span());
    let d = |x: &Option<DecimalText>| x.map(|v| v.0);
    p::Credit {
        scheme,
        cap_pct_of_fee: d(&c.cap_pct_of_fee),
        cap_days: d(&c.cap_days),
        cap_per_incident_pct_of_fee: d(&c.cap_per_incident_pct_of_fee),
        cap_amount: d(&c.cap_amount),
        cap_value_pct_of_fee: d(&c.cap_value_pct_of_fee),
        min_credit: d(&c.min_credit),
        day_value_basis: c
            .day_value_basis
            .map_or(p::DayValueBasis::DaysInPeriod, |b| b.0),
        form: c.form,
    }
}

/// `claim`: the deadline (each kind with the count it needs) and how a claim is made.
fn claim(cx: &mut Ctx<'_>, r: &RawPlan) -> p::Claim {
    let deadline = match &r.claim.deadline {
        None => p::Deadline::None,
        Some(dl) => {
            let v = dl.get_ref();
            let need = |cx: &mut Ctx<'_>, key: &str, val: Option<u32>| -> u32 {
                val.unwrap_or_else(|| {
                    err(cx, r, dl.span(), format!("this claim.deadline needs '{key}', such as {{ kind = \"days_after_period_end\", days = 30 }}"));
                    0
                })
            };
            match v.kind {
                DeadlineKind::None => p::Deadline::None,
                DeadlineKind::CyclesAfterPeriod => {
                    p::Deadline::CyclesAfterPeriod(need(cx, "n", v.n))
                }
                DeadlineKind::DaysAfterPeriodEnd => {
                    p::Deadline::DaysAfterPeriodEnd(need(cx, "days", v.days))
                }
                DeadlineKind::MonthsAfterPeriodEnd => {
                    p::Deadline::MonthsAfterPeriodEnd(need(cx, "months", v.months))
                }
                DeadlineKind::DaysAfterIncidentStart => {
                    p::Deadline::DaysAfterIncidentStart(need(cx, "days", v.days))
                }
            }
        }
    };
    p::Claim {
        deadline,
        automatic: r.claim.automatic,
        method: r.claim.method.clone(),
        evidence: r.claim.evidence.clone(),
    }
}

/// `fee` (not negative; 0 when left out) and `currency` (an ISO 4217 code; EUR when
/// left out).
fn fee_and_currency(cx: &mut Ctx<'_>, r: &RawPlan) -> (Decimal, String) {
    let fee = r.fee.as_ref().map_or(Decimal::ZERO, |f| f.get_ref().0);
    if let Some(f) = &r.fee
        && fee.is_sign_negative()
    {
        err(cx, r, f.span(), format!("fee {fee} is negative"));
    }
    let currency = r
        .currency
        .as_ref()
        .map_or_else(|| "EUR".to_owned(), |c| c.get_ref().clone());
    if let Some(c) = &r.currency
        && !(c.get_ref().len() == 3 && c.get_ref().bytes().all(|b| b.is_ascii_uppercase()))
    {
        err(
            cx,
            r,
            c.span(),
            format!(
                "currency '{}' must be an ISO 4217 code such as \"EUR\"",
                c.get_ref()
            ),
        );
    }
    (fee, currency)
}

/// `[[plan.goodwill]]`: the provider's published gestures, copied as written.
fn goodwill(raw: &[RawGoodwill]) -> Vec<p::Goodwill> {
    raw.iter()
        .map(|g| p::Goodwill {
            event: g.event.clone(),
            remedy: g.remedy.clone(),
            extension_days: g.extension_days,
            applies_to: g.applies_to.clone(),
            note: g.note.clone(),
        })
        .collect()
}

fn scheme(
    cx: &mut Ctx<'_>,
    id: &str,
    c: &RawCredit,
    name: SchemeName,
    span: std::ops::Range<usize>,
) -> p::Scheme {
    let need = |cx: &mut Ctx<'_>, what: &str| {
        cx.err(
            span.clone(),
            format!(
                "plan '{id}': credit.scheme '{}' needs {what}",
                scheme_str(name)
            ),
        );
    };
    let tiers = c.tiers.as_deref().unwrap_or_default();
    let avail_bands = |cx: &mut Ctx<'_>, days: bool| -> Vec<p::AvailabilityBand> {
        if tiers.is_empty() {
            need(
                cx,
                if days {
                    "credit.tiers, such as [{ below = \"99.9\", days = 3 }]"
                } else {
                    "credit.tiers, such as [{ below = \"99.9\", pct = \"10\" }]"
                },
            );
        }
        let mut out = Vec::new();
        for t in tiers {
            let v = t.get_ref();
            let value = match (v.pct, v.days, days) {
                (Some(p), None, false) => Some(p::BandValue::Pct(p.0)),
                (None, Some(d), true) => Some(p::BandValue::Days(d)),
                _ => None,
            };
            match (v.below, value, v.at_least) {
                (Some(b), Some(value), None) => out.push(p::AvailabilityBand { below: b.0, value }),
                _ => cx.err(
                    t.span(),
                    format!(
                        "plan '{id}': each tier of '{}' is {{ below = \"<percent>\", {} }}",
                        scheme_str(name),
                        if days {
                            "days = <whole days>"
                        } else {
                            "pct = \"<percent of the fee>\""
                        }
                    ),
                ),
            }
        }
        out
    };
    let dur_bands = |cx: &mut Ctx<'_>| -> Vec<p::DurationBand> {
        if tiers.is_empty() {
            cx.err(span.clone(), format!("plan '{id}': credit.scheme '{}' needs credit.tiers, such as [{{ at_least = \"PT30M\", pct = \"25\" }}]", scheme_str(name)));
        }
        let mut out = Vec::new();
        let mut kind: Option<bool> = None;
        for t in tiers {
            let v = t.get_ref();
            let value = match (v.pct, v.days) {
                (Some(p), None) => Some(p::BandValue::Pct(p.0)),
                (None, Some(d)) => Some(p::BandValue::Days(d)),
                _ => None,
            };
            match (v.at_least, value, v.below) {
                (Some(a), Some(value), None) => {
                    let is_days = matches!(value, p::BandValue::Days(_));
                    if kind.is_some_and(|k| k != is_days) {
                        cx.err(t.span(), format!("plan '{id}': the tiers mix pct and days; use one for all"));
                    }
                    kind = Some(is_days);
                    out.push(p::DurationBand { at_least_ms: a.0, value });
                }
                _ => cx.err(t.span(), format!(
                    "plan '{id}': each tier of '{}' is {{ at_least = \"<ISO duration>\", pct = \"<percent>\" }} or {{ at_least = ..., days = <days> }}",
                    scheme_str(name)
                )),
            }
        }
        out
    };
    let per_unit = |cx: &mut Ctx<'_>, per: Option<Decimal>, key: &str| -> p::PerUnit {
        if c.unit.is_none_or(|u| u.0 <= 0) {
            cx.err(span.clone(), format!("plan '{id}': credit.scheme '{}' needs credit.unit, a positive duration such as \"PT1H\"", scheme_str(name)));
        }
        if per.is_none() {
            cx.err(
                span.clone(),
                format!(
                    "plan '{id}': credit.scheme '{}' needs credit.{key}",
                    scheme_str(name)
                ),
            );
        }
        p::PerUnit {
            unit_ms: c.unit.map_or(HOUR_MS, |u| u.0.max(1)),
            rounding: c.unit_rounding.unwrap_or_default(),
            scope: c.unit_scope.unwrap_or_default(),
            count_from: c.count_from.unwrap_or_default(),
            per_unit: per.unwrap_or_default(),
        }
    };
    match name {
        SchemeName::None => p::Scheme::None,
        SchemeName::Unspecified => p::Scheme::Unspecified,
        SchemeName::Goodwill => p::Scheme::Goodwill,
        SchemeName::TieredPercent => p::Scheme::TieredPercent(avail_bands(cx, false)),
        SchemeName::TieredDays => p::Scheme::TieredDays(avail_bands(cx, true)),
        SchemeName::DowntimeTiers => p::Scheme::DowntimeTiers(dur_bands(cx)),
        SchemeName::IncidentTiers => p::Scheme::IncidentTiers {
            tiers: dur_bands(cx),
            aggregate: c.aggregate.unwrap_or_default(),
        },
        SchemeName::PerUnitPercent => p::Scheme::PerUnitPercent(per_unit(
            cx,
            c.pct_per_unit.map(|d| d.0),
            "pct_per_unit, such as \"5\"",
        )),
        SchemeName::PerUnitDays => p::Scheme::PerUnitDays(per_unit(
            cx,
            c.days_per_unit.map(Decimal::from),
            "days_per_unit, such as 1",
        )),
        SchemeName::ProrataMultiplier => {
            if c.multiplier.is_none() {
                need(cx, "credit.multiplier, such as \"10\"");
            }
            let basis = c.hours_basis.as_ref().map(|h| h.get_ref().0);
            match (&c.hours_basis, basis) {
                (None, _) => need(
                    cx,
                    "credit.hours_basis, the hours the fee pays for, such as \"720\"",
                ),
                (Some(h), Some(b)) if b <= Decimal::ZERO => cx.err(
                    h.span(),
                    format!("plan '{id}': credit.hours_basis must be above zero"),
                ),
                _ => {}
            }
            p::Scheme::ProrataMultiplier {
                multiplier: c.multiplier.map_or(Decimal::ONE, |d| d.0),
                hours_basis: basis
                    .filter(|b| *b > Decimal::ZERO)
                    .unwrap_or(Decimal::from(720)),
                lost_time: c.lost_time.unwrap_or_default(),
                deductible_per_incident_ms: c.deductible_per_incident.map_or(0, |d| d.0),
            }
        }
        SchemeName::DailyFlat => {
            if c.per_day.is_none() {
                need(cx, "credit.per_day, the amount per day, such as \"6.00\"");
            }
            p::Scheme::DailyFlat {
                per_day: c.per_day.map_or(Decimal::ZERO, |d| d.0),
                day_count: c.day_count.unwrap_or_default(),
                business_multiplier: c.business_multiplier.map_or(Decimal::ONE, |d| d.0),
            }
        }
        SchemeName::PerDayOverThreshold => {
            if c.daily_threshold_pct.is_none() {
                need(cx, "credit.daily_threshold_pct, such as \"0.5\"");
            }
            p::Scheme::PerDayOverThreshold {
                threshold_pct: c.daily_threshold_pct.map_or(Decimal::ZERO, |d| d.0),
            }
        }
    }
}

fn scheme_str(n: SchemeName) -> &'static str {
    match n {
        SchemeName::None => "none",
        SchemeName::Unspecified => "unspecified",
        SchemeName::Goodwill => "goodwill",
        SchemeName::TieredPercent => "tiered_percent",
        SchemeName::TieredDays => "tiered_days",
        SchemeName::DowntimeTiers => "downtime_tiers",
        SchemeName::IncidentTiers => "incident_tiers",
        SchemeName::PerUnitPercent => "per_unit_percent",
        SchemeName::PerUnitDays => "per_unit_days",
        SchemeName::ProrataMultiplier => "prorata_multiplier",
        SchemeName::DailyFlat => "daily_flat",
        SchemeName::PerDayOverThreshold => "per_day_over_threshold",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// `text` as a plan, and a collector over it.
    fn plan(text: &str) -> (RawPlan, Ctx<'_>) {
        let r = toml::from_str(text).unwrap();
        (r, Ctx::new(Path::new("probes.toml"), text))
    }

    #[test]
    fn the_window_section_checks_the_anchor_day_and_a_rolling_length() {
        let text = "id = \"p\"\nwindow = { kind = \"billing_cycle\", anchor_day = 32 }\n";
        let (r, mut cx) = plan(text);
        let tz = Tz("UTC".into(), TimeZone::UTC);
        let w = window(&mut cx, &r, &tz);
        assert_eq!(w.kind, p::WindowKind::BillingCycle { anchor_day: 31 });
        assert_eq!(
            cx.messages(),
            ["2:49 plan 'p': window.anchor_day 32 must be a day of the month, 1 to 31"]
        );
        let (r, mut cx) = plan("id = \"p\"\nwindow.kind = \"rolling\"\n");
        assert_eq!(window(&mut cx, &r, &tz).kind, p::WindowKind::CalendarMonth);
        assert!(cx.messages()[0].contains("a rolling window needs window.length"));
    }

    #[test]
    fn the_objective_section_needs_a_target_in_range() {
        let (r, mut cx) = plan("id = \"p\"\n");
        assert_eq!(objective(&mut cx, &r).target, Decimal::ONE_HUNDRED);
        assert!(cx.messages()[0].starts_with("1:6 plan 'p': needs objective.target"));
        let (r, mut cx) =
            plan("id = \"p\"\nobjective = { target = \"99\", breach_if = \"downtime_gt_pct\" }\n");
        let o = objective(&mut cx, &r);
        assert_eq!(o.breach_if, p::BreachIf::DowntimeGtPct(Decimal::ONE));
        assert!(cx.errors.is_empty());
        let (r, mut cx) = plan("id = \"p\"\nobjective.target = \"100.5\"\n");
        objective(&mut cx, &r);
        assert!(cx.messages()[0].contains("must be a percentage above 0 and at most 100"));
    }

    #[test]
    fn the_measurement_section_bounds_slices_and_users() {
        let text = "id = \"p\"\nmeasurement = { method = \"time_slices\", users = 0 }\n";
        let (r, mut cx) = plan(text);
        let m = measurement(&mut cx, &r, &p::WindowKind::CalendarMonth);
        assert!(matches!(
            m.method,
            p::Method::TimeSlices {
                slice_ms: MINUTE_MS,
                ..
            }
        ));
        let m = cx.messages();
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].contains("measurement.method 'time_slices' needs measurement.slice"),
            "{m:?}"
        );
        assert!(m[1].contains("measurement.users = 0"), "{m:?}");
        let text = "id = \"p\"\nmeasurement = { method = \"time_slices\", slice = \"PT1S\" }\n";
        let (r, mut cx) = plan(text);
        measurement(&mut cx, &r, &p::WindowKind::CalendarMonth);
        assert!(cx.errors.is_empty());
        // A calendar year is judged at 366 days: one-second slices are too many.
        measurement(&mut cx, &r, &p::WindowKind::CalendarYear);
        assert_eq!(cx.errors.len(), 1);
    }

    #[test]
    fn the_claim_section_needs_the_count_of_its_deadline() {
        let text = "id = \"p\"\nclaim.deadline = { kind = \"days_after_period_end\" }\n";
        let (r, mut cx) = plan(text);
        assert_eq!(
            claim(&mut cx, &r).deadline,
            p::Deadline::DaysAfterPeriodEnd(0)
        );
        assert!(cx.messages()[0].contains("this claim.deadline needs 'days'"));
        let text = "id = \"p\"\nclaim.deadline = { kind = \"cycles_after_period\", n = 1 }\n";
        let (r, mut cx) = plan(text);
        assert_eq!(
            claim(&mut cx, &r).deadline,
            p::Deadline::CyclesAfterPeriod(1)
        );
        assert!(cx.errors.is_empty());
    }

    #[test]
    fn fee_and_currency_are_checked_and_default_to_zero_euros() {
        let (r, mut cx) = plan("id = \"p\"\n");
        assert_eq!(
            fee_and_currency(&mut cx, &r),
            (Decimal::ZERO, "EUR".to_owned())
        );
        let (r, mut cx) = plan("id = \"p\"\nfee = \"-1\"\ncurrency = \"eur\"\n");
        fee_and_currency(&mut cx, &r);
        let m = cx.messages();
        assert!(
            m[0].starts_with("2:7 plan 'p': fee -1 is negative"),
            "{m:?}"
        );
        assert!(
            m[1].starts_with("3:12 plan 'p': currency 'eur' must be an ISO 4217"),
            "{m:?}"
        );
    }

    #[test]
    fn iso_durations() {
        let ok = [
            ("PT1M", MINUTE_MS),
            ("PT10M", 10 * MINUTE_MS),
            ("P5D", 5 * DAY_MS),
            ("PT1H1S", HOUR_MS + 1000),
            ("PT0S", 0),
            ("P365D", 365 * DAY_MS),
            ("PT48H", 48 * HOUR_MS),
            ("PT0.5S", 500),
            ("P1DT12H", DAY_MS + 12 * HOUR_MS),
            ("P2W", 14 * DAY_MS),
        ];
        for (s, ms) in ok {
            assert_eq!(parse_iso_duration(s), Ok(ms), "{s}");
        }
        for s in [
            "",
            "P",
            "PT",
            "1H",
            "PT1",
            "PT1M1H",
            "P1Y",
            "P1M",
            "PT0.0001S",
            "PTxM",
        ] {
            assert!(parse_iso_duration(s).is_err(), "{s}");
        }
        assert!(
            parse_iso_duration("P1Y")
                .unwrap_err()
                .contains("write days instead")
        );
    }
}
