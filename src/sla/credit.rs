//! Steps 12 and 13 of SLA-MODEL.md section 3: the credit a breach owes, and the
//! deadline to claim it.
//!
//! Order (written down and tested): the scheme's raw figure; per-incident caps
//! inside the scheme; period caps (percent of the fee, days, money value, amount);
//! `min_credit` (a credit below it is not issued); then rounding half-up to the cent.
//! Nothing is rounded before that last step.

use super::SlaError;
use super::group::Group;
use super::intervals::Intervals;
use super::num::{self, DAY_MS, Q, dec, hours, int, ts};
use super::period::{self, Period};
use super::plan::{
    Aggregate, AvailabilityBand, BandValue, CountFrom, Credit, CustomerType, DayCount,
    DayValueBasis, Deadline, DurationBand, FeePeriod, LostTime, PerUnit, Plan, Scheme,
    UnitRounding, UnitScope, WindowKind,
};
use num_bigint::BigInt;
use num_traits::{Signed, Zero};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// What the credit step needs.
pub(super) struct CreditInput<'a> {
    pub(super) plan: &'a Plan,
    pub(super) fee: Decimal,
    pub(super) fee_period: FeePeriod,
    pub(super) currency: &'a str,
    pub(super) customer_type: CustomerType,
    pub(super) period: &'a Period,
    pub(super) domain: &'a Intervals,
    pub(super) groups: &'a [Group],
    pub(super) gap_pieces: &'a Intervals,
    pub(super) availability: Option<&'a Q>,
    pub(super) downtime: &'a Q,
    pub(super) measured: &'a Q,
    pub(super) breach: bool,
}

/// The credit step's result.
#[derive(Debug, Default)]
pub(super) struct CreditOutcome {
    pub(super) money: Option<super::Money>,
    pub(super) pct: Option<Q>,
    pub(super) extension_days: Option<u32>,
    pub(super) extension_hours: Option<Q>,
}

/// The raw figure of a scheme, before period caps.
#[derive(Debug, PartialEq)]
enum Raw {
    Pct(Q),
    Days(Q),
    Money(Q),
}

impl Raw {
    /// Days of service when `days`, else a percentage of the fee.
    fn days_or_pct(days: bool, v: Q) -> Raw {
        if days { Raw::Days(v) } else { Raw::Pct(v) }
    }
}

fn units(x: &Q, unit_ms: i64, r: UnitRounding) -> BigInt {
    let q = x / int(unit_ms);
    match r {
        UnitRounding::Floor => num::floor(&q),
        UnitRounding::Ceil => num::ceil(&q),
        UnitRounding::Nearest => num::nearest(&q),
    }
}

fn band_for_duration<'a>(tiers: &'a [DurationBand], ms: &Q) -> Option<&'a DurationBand> {
    tiers
        .iter()
        .filter(|b| int(b.at_least_ms) <= *ms)
        .max_by_key(|b| b.at_least_ms)
}

fn band_value(v: BandValue) -> Q {
    match v {
        BandValue::Pct(p) => dec(p),
        BandValue::Days(d) => int(i64::from(d)),
    }
}

/// Counted downtime of each incident, chronologically (ms).
fn per_incident(groups: &[Group]) -> Vec<(usize, Q)> {
    groups
        .iter()
        .filter(|g| !g.counted.is_empty())
        .map(|g| (g.members[0] + 1, int(g.counted.measure())))
        .collect()
}

/// What every scheme may price against: the fee for the period, a day's value and the
/// allowance the target leaves.
struct Basis {
    /// The fee for the period (the fee scaled from its `fee_period`).
    period_fee: Q,
    /// The period's days (a rolling window's length in days).
    days_in_period: Q,
    /// A day's fee per `day_value_basis`.
    day_value: Q,
    /// (1 - target) x T, ms: the downtime the target allows.
    allowance: Q,
    /// How the period's fee was scaled, for the trace.
    factor_why: String,
}

fn basis(i: &CreditInput<'_>) -> Basis {
    let c = &i.plan.credit;
    let (factor, factor_why) = period::fee_factor(&i.plan.window, i.period, i.fee_period);
    let period_fee = dec(i.fee) * &factor;
    let length = match i.plan.window.kind {
        WindowKind::Rolling { length_ms, .. } => Some(length_ms),
        _ => None,
    };
    let days_in_period = i.period.days(length);
    let day_value = match c.day_value_basis {
        DayValueBasis::DaysInPeriod => &period_fee / &days_in_period,
        DayValueBasis::Thirty => &period_fee / int(30),
    };
    let allowance = (int(1) - dec(i.plan.objective.target) / int(100)) * i.measured;
    Basis {
        period_fee,
        days_in_period,
        day_value,
        allowance,
        factor_why,
    }
}

/// Computes the credit (step 12): the scheme's raw figure, then the period caps, the
/// amount cap, the minimum, and rounding to the cent, each a function of its own.
pub(super) fn compute(
    i: &CreditInput<'_>,
    tr: &mut Vec<String>,
) -> Result<CreditOutcome, SlaError> {
    if let Some(nothing) = uncomputed(i, tr) {
        return Ok(nothing);
    }
    let c = &i.plan.credit;
    let b = basis(i);
    tr.push(format!(
        "Fee for the period = {} {} ({}).",
        num::fixed(&b.period_fee, 2),
        i.currency,
        b.factor_why
    ));
    let mut extension_hours = None;
    let raw = match &c.scheme {
        Scheme::None | Scheme::Unspecified | Scheme::Goodwill => Raw::Money(Q::zero()),
        Scheme::TieredPercent(bands) | Scheme::TieredDays(bands) => {
            tiered(bands, i.availability, tr)
        }
        Scheme::DowntimeTiers(tiers) => downtime_tiers(tiers, i.downtime, tr),
        Scheme::IncidentTiers { tiers, aggregate } => incident_tiers(
            tiers,
            *aggregate,
            c.cap_per_incident_pct_of_fee,
            i.groups,
            tr,
        ),
        Scheme::PerUnitPercent(u) => per_unit(i, u, true, &b.allowance, tr),
        Scheme::PerUnitDays(u) => per_unit(i, u, false, &b.allowance, tr),
        Scheme::ProrataMultiplier {
            multiplier,
            hours_basis,
            lost_time,
            deductible_per_incident_ms,
        } => {
            let (raw, ext) = prorata_multiplier(
                i,
                Prorata {
                    multiplier: *multiplier,
                    hours_basis: *hours_basis,
                    lost_time: *lost_time,
                    deductible_ms: *deductible_per_incident_ms,
                },
                &b.allowance,
                tr,
            );
            extension_hours = ext;
            raw
        }
        Scheme::DailyFlat {
            per_day,
            day_count,
            business_multiplier,
        } => daily_flat(i, *per_day, *day_count, *business_multiplier, tr)?,
        Scheme::PerDayOverThreshold { threshold_pct } => {
            per_day_over_threshold(i, *threshold_pct, &b.day_value, tr)?
        }
    };

    let mut extension_days = None;
    let mut pct = None;
    let amount = match raw {
        Raw::Pct(p) => {
            let (a, p) = percent_of_fee(p, c, &b, i.currency, tr);
            pct = Some(p);
            a
        }
        Raw::Days(d) => {
            let v = days_of_service(d, c, &b, i.currency, tr);
            extension_days = v.extension_days;
            extension_hours = extension_hours.or(v.extension_hours);
            v.amount
        }
        Raw::Money(a) => money_capped(a, c, &b, tr),
    };
    let amount = cap_amount(amount, c, i.currency, tr);
    let amount = min_credit(amount, c, i.currency, tr);
    let rounded = num::round_dec(&amount, 2);
    tr.push(format!(
        "Credit owed = {rounded} {} (rounded half-up to the cent).",
        i.currency
    ));
    Ok(CreditOutcome {
        money: Some(super::Money {
            amount: rounded,
            currency: i.currency.to_owned(),
        }),
        pct,
        extension_days,
        extension_hours,
    })
}

/// Schemes `unspecified`, `goodwill` and `none`, and a period without a breach: the
/// outcome without computing anything (goodwill on record is traced, not owed).
fn uncomputed(i: &CreditInput<'_>, tr: &mut Vec<String>) -> Option<CreditOutcome> {
    let c = &i.plan.credit;
    match &c.scheme {
        Scheme::Unspecified => {
            tr.push("Credit: the plan's remedy is not specified; nothing computed.".into());
            return Some(CreditOutcome::default());
        }
        Scheme::Goodwill => {
            tr.push("Credit: goodwill only, not computed.".into());
            return Some(CreditOutcome::default());
        }
        _ => {}
    }
    for g in &i.plan.goodwill {
        tr.push(format!(
            "Goodwill on record (not contractual): {} -> {}{}.",
            g.event.as_deref().unwrap_or("event"),
            g.remedy.as_deref().unwrap_or("remedy"),
            g.extension_days
                .map(|d| format!(", {d} days"))
                .unwrap_or_default()
        ));
    }
    let zero = || {
        Some(CreditOutcome {
            money: Some(super::Money {
                amount: Decimal::new(0, 2),
                currency: i.currency.to_owned(),
            }),
            ..Default::default()
        })
    };
    if matches!(c.scheme, Scheme::None) {
        tr.push(
            "Credit: the plan owes nothing (scheme none); the breach is still reported.".into(),
        );
        return zero();
    }
    if !i.breach {
        tr.push("No breach -> no credit.".into());
        return zero();
    }
    None
}

/// Schemes `tiered_percent` and `tiered_days`: the band of the lowest `below` the
/// availability is under (the two differ only in the band's unit).
fn tiered(bands: &[AvailabilityBand], availability: Option<&Q>, tr: &mut Vec<String>) -> Raw {
    let hundred = int(100);
    let a = availability
        .map(|a| a * &hundred)
        .unwrap_or_else(|| hundred.clone());
    let band = bands
        .iter()
        .filter(|b| a < dec(b.below))
        .min_by_key(|b| b.below);
    match band {
        Some(b) => {
            tr.push(format!(
                "A = {} % < {} % -> band {}.",
                num::fixed(&a, 4),
                b.below,
                match b.value {
                    BandValue::Pct(p) => format!("{p} %"),
                    BandValue::Days(d) => format!("{d} days"),
                }
            ));
            raw_of_band(b.value)
        }
        None => {
            tr.push(format!(
                "A = {} % is in no band of the table -> 0.",
                num::fixed(&a, 4)
            ));
            Raw::Pct(Q::zero())
        }
    }
}

/// A band's value as a raw figure.
fn raw_of_band(v: BandValue) -> Raw {
    match v {
        BandValue::Pct(p) => Raw::Pct(dec(p)),
        BandValue::Days(d) => Raw::Days(int(i64::from(d))),
    }
}

/// Scheme `downtime_tiers`: the band of the period's total downtime.
fn downtime_tiers(tiers: &[DurationBand], downtime: &Q, tr: &mut Vec<String>) -> Raw {
    match band_for_duration(tiers, downtime) {
        Some(b) => {
            tr.push(format!(
                "Total downtime {} >= {} -> band {}.",
                num::human_ms(downtime),
                num::human_ms(&int(b.at_least_ms)),
                num::exact(&band_value(b.value))
            ));
            raw_of_band(b.value)
        }
        None => {
            tr.push("Total downtime is below every band -> 0.".into());
            Raw::Pct(Q::zero())
        }
    }
}

/// Scheme `incident_tiers`: each incident's band (capped per incident for percent
/// bands), combined by sum or max.
fn incident_tiers(
    tiers: &[DurationBand],
    aggregate: Aggregate,
    cap_per_incident: Option<Decimal>,
    groups: &[Group],
    tr: &mut Vec<String>,
) -> Raw {
    let days = matches!(tiers.first().map(|b| b.value), Some(BandValue::Days(_)));
    let mut values: Vec<Q> = Vec::new();
    for (n, ms) in per_incident(groups) {
        let v = band_for_duration(tiers, &ms).map_or_else(Q::zero, |b| band_value(b.value));
        let v = match (cap_per_incident, days) {
            (Some(cap), false) if v > dec(cap) => dec(cap),
            _ => v,
        };
        tr.push(format!(
            "Incident {n}: {} -> {}{}.",
            num::human_ms(&ms),
            num::exact(&v),
            if days { " days" } else { " %" }
        ));
        values.push(v);
    }
    let total = match aggregate {
        Aggregate::Sum => values.iter().fold(Q::zero(), |a, b| a + b),
        Aggregate::Max => values.iter().cloned().fold(Q::zero(), num::max),
    };
    tr.push(format!(
        "Combined ({}) = {}{}.",
        if aggregate == Aggregate::Sum {
            "sum"
        } else {
            "max"
        },
        num::exact(&total),
        if days { " days" } else { " %" }
    ));
    Raw::days_or_pct(days, total)
}

/// Schemes `per_unit_percent` (`pct_scheme`) and `per_unit_days`: so much per unit
/// of downtime, over the period or per incident, from zero or beyond the allowance.
fn per_unit(
    i: &CreditInput<'_>,
    u: &PerUnit,
    pct_scheme: bool,
    allowance: &Q,
    tr: &mut Vec<String>,
) -> Raw {
    let rounding = match u.rounding {
        UnitRounding::Floor => "full",
        UnitRounding::Ceil => "started",
        UnitRounding::Nearest => "nearest",
    };
    let mut total_units = BigInt::zero();
    let mut total = Q::zero();
    match u.scope {
        UnitScope::Aggregate => {
            let x = match u.count_from {
                CountFrom::Zero => i.downtime.clone(),
                CountFrom::BeyondAllowance => {
                    let x = num::max(Q::zero(), i.downtime - allowance);
                    tr.push(format!(
                        "Allowance (1 - target) x T = {} min; beyond it: {} min.",
                        num::minutes(allowance),
                        num::minutes(&x)
                    ));
                    x
                }
            };
            total_units = units(&x, u.unit_ms, u.rounding);
            total = Q::from_integer(total_units.clone()) * dec(u.per_unit);
            tr.push(format!(
                "Units ({rounding} {}) = {} / {} -> {}.",
                num::human_ms(&int(u.unit_ms)),
                num::minutes(&x) + " min",
                num::human_ms(&int(u.unit_ms)),
                total_units
            ));
        }
        UnitScope::Incident => {
            let mut left = allowance.clone();
            for (n, ms) in per_incident(i.groups) {
                let x = match u.count_from {
                    CountFrom::Zero => ms.clone(),
                    CountFrom::BeyondAllowance => {
                        let x = num::max(Q::zero(), &ms - &left);
                        left = num::max(Q::zero(), &left - &ms);
                        x
                    }
                };
                let k = units(&x, u.unit_ms, u.rounding);
                let mut v = Q::from_integer(k.clone()) * dec(u.per_unit);
                if let (Some(cap), true) = (i.plan.credit.cap_per_incident_pct_of_fee, pct_scheme)
                    && v > dec(cap)
                {
                    tr.push(format!(
                        "Incident {n}: {} % capped at {cap} % per incident.",
                        num::exact(&v)
                    ));
                    v = dec(cap);
                }
                tr.push(format!(
                    "Incident {n}: {} -> {k} {rounding} units of {}.",
                    num::human_ms(&x),
                    num::human_ms(&int(u.unit_ms))
                ));
                total_units += k;
                total += v;
            }
        }
    }
    tr.push(format!(
        "{total_units} units x {} {} = {}{}.",
        u.per_unit,
        if pct_scheme { "%" } else { "days" },
        num::exact(&total),
        if pct_scheme { " %" } else { " days" }
    ));
    Raw::days_or_pct(!pct_scheme, total)
}

/// The terms of scheme `prorata_multiplier`.
#[derive(Clone, Copy)]
struct Prorata {
    multiplier: Decimal,
    hours_basis: Decimal,
    lost_time: LostTime,
    deductible_ms: i64,
}

/// Scheme `prorata_multiplier`: multiplier x hours lost x fee / hours_basis; also
/// the hours of service owed when the credit is a term extension.
fn prorata_multiplier(
    i: &CreditInput<'_>,
    p: Prorata,
    allowance: &Q,
    tr: &mut Vec<String>,
) -> (Raw, Option<Q>) {
    let Prorata {
        multiplier,
        hours_basis,
        lost_time,
        deductible_ms,
    } = p;
    let hundred = int(100);
    let c = &i.plan.credit;
    let rate = dec(multiplier) * dec(i.fee) / dec(hours_basis);
    let mut lost_total = Q::zero();
    let amount = match lost_time {
        LostTime::Measured | LostTime::BeyondAllowance => {
            let lost = if lost_time == LostTime::Measured {
                i.downtime.clone()
            } else {
                let x = num::max(Q::zero(), i.downtime - allowance);
                tr.push(format!(
                    "Allowance (1 - target) x T = {} min; lost beyond it: {} min.",
                    num::minutes(allowance),
                    num::minutes(&x)
                ));
                x
            };
            lost_total = lost.clone();
            hours(&lost) * &rate
        }
        LostTime::PerIncident => {
            let mut sum = Q::zero();
            for (n, ms) in per_incident(i.groups) {
                let lost = num::max(Q::zero(), ms - int(deductible_ms));
                let mut v = hours(&lost) * &rate;
                if let Some(cap) = c.cap_per_incident_pct_of_fee {
                    let cap_v = dec(cap) * dec(i.fee) / &hundred;
                    if v > cap_v {
                        tr.push(format!(
                            "Incident {n}: capped at {cap} % of the fee per incident."
                        ));
                        v = cap_v;
                    }
                }
                tr.push(format!(
                    "Incident {n}: {} h lost{} -> {}.",
                    num::exact(&hours(&lost)),
                    if deductible_ms > 0 {
                        format!(
                            " after a deductible of {}",
                            num::human_ms(&int(deductible_ms))
                        )
                    } else {
                        String::new()
                    },
                    num::fixed(&v, 4)
                ));
                lost_total += lost;
                sum += v;
            }
            sum
        }
    };
    tr.push(format!(
        "{multiplier} x {} h lost x {} / {hours_basis} h = {} {}.",
        num::exact(&hours(&lost_total)),
        i.fee,
        num::fixed(&amount, 4),
        i.currency
    ));
    let mut extension_hours = None;
    if c.form == Some(super::plan::CreditForm::TermExtension) {
        let ext = dec(multiplier) * hours(&lost_total);
        tr.push(format!(
            "As a term extension: {multiplier} x {} h = {} h of service.",
            num::exact(&hours(&lost_total)),
            num::exact(&ext)
        ));
        extension_hours = Some(ext);
    }
    (Raw::Money(amount), extension_hours)
}

/// The downtime of the period, counted gaps included, as one set.
fn down_time(i: &CreditInput<'_>) -> Intervals {
    i.groups
        .iter()
        .fold(i.gap_pieces.clone(), |a, g| a.union(&g.counted))
}

/// Scheme `daily_flat`: so much per day of outage (local calendar days touched, or
/// started 24-hour blocks per incident), times the business multiplier.
fn daily_flat(
    i: &CreditInput<'_>,
    per_day: Decimal,
    day_count: DayCount,
    business_multiplier: Decimal,
    tr: &mut Vec<String>,
) -> Result<Raw, SlaError> {
    let days = match day_count {
        DayCount::LocalCalendarDaysTouched => {
            let down = down_time(i);
            let mut set = BTreeSet::new();
            for (s, e) in down.iter() {
                let mut d = period::local_date(s, &i.plan.window.timezone);
                let last = period::local_date(e - 1, &i.plan.window.timezone);
                while d <= last {
                    set.insert(d);
                    d = period::days_after(d, 1)?;
                }
            }
            tr.push(format!(
                "Local calendar days touched ({}): {}.",
                i.plan.window.timezone_name,
                set.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            int(i64::try_from(set.len()).unwrap_or(i64::MAX))
        }
        DayCount::Started24hBlocks => {
            let mut n = BigInt::zero();
            for (k, ms) in per_incident(i.groups) {
                let b = num::ceil(&(&ms / int(DAY_MS)));
                tr.push(format!(
                    "Incident {k}: {} -> {b} started 24-hour blocks.",
                    num::human_ms(&ms)
                ));
                n += b;
            }
            Q::from_integer(n)
        }
    };
    let mult = if i.customer_type == CustomerType::Business {
        dec(business_multiplier)
    } else {
        int(1)
    };
    let amount = &days * dec(per_day) * &mult;
    tr.push(format!(
        "Indemnity = {} days x {per_day} {} x {} ({}) = {}.",
        num::exact(&days),
        i.currency,
        num::exact(&mult),
        i.customer_type.as_str(),
        num::fixed(&amount, 2)
    ));
    Ok(Raw::Money(amount))
}

/// Scheme `per_day_over_threshold`: a day's fee for each local day whose downtime
/// exceeds the threshold share of its measured time.
fn per_day_over_threshold(
    i: &CreditInput<'_>,
    threshold_pct: Decimal,
    day_value: &Q,
    tr: &mut Vec<String>,
) -> Result<Raw, SlaError> {
    let hundred = int(100);
    let down = down_time(i);
    let mut n = 0i64;
    for (day, s, e) in period::local_days(i.period.start, i.period.end, &i.plan.window.timezone)? {
        let measured = i.domain.clip(s, e).measure();
        let lost = down.clip(s, e).measure();
        if measured > 0 && int(lost) * &hundred > dec(threshold_pct) * int(measured) {
            tr.push(format!(
                "{day}: {} down of {} > {threshold_pct} % -> 1 day.",
                num::human_ms(&int(lost)),
                num::human_ms(&int(measured))
            ));
            n += 1;
        }
    }
    let amount = int(n) * day_value;
    tr.push(format!(
        "{n} days over the threshold x a day's fee {} = {}.",
        num::fixed(day_value, 4),
        num::fixed(&amount, 4)
    ));
    Ok(Raw::Money(amount))
}

/// Period cap of a percentage (`cap_pct_of_fee`), then its money: (amount, percent).
fn percent_of_fee(mut p: Q, c: &Credit, b: &Basis, currency: &str, tr: &mut Vec<String>) -> (Q, Q) {
    if let Some(cap) = c.cap_pct_of_fee
        && p > dec(cap)
    {
        tr.push(format!(
            "{} % capped at {cap} % of the fee.",
            num::exact(&p)
        ));
        p = dec(cap);
    }
    let a = &p * &b.period_fee / int(100);
    tr.push(format!(
        "Credit = {} % x {} = {} {}.",
        num::exact(&p),
        num::fixed(&b.period_fee, 2),
        num::fixed(&a, 4),
        currency
    ));
    (a, p)
}

/// Days of service after their period caps: their money value, and the extension.
struct DaysValue {
    amount: Q,
    extension_days: Option<u32>,
    extension_hours: Option<Q>,
}

/// Period cap of days (`cap_days`), their money value, and the cap of that value
/// (`cap_value_pct_of_fee`).
fn days_of_service(
    mut d: Q,
    c: &Credit,
    b: &Basis,
    currency: &str,
    tr: &mut Vec<String>,
) -> DaysValue {
    if let Some(cap) = c.cap_days
        && d > dec(cap)
    {
        tr.push(format!("{} days capped at {cap} days.", num::exact(&d)));
        d = dec(cap);
    }
    let mut a = &d * &b.day_value;
    tr.push(format!(
        "Money value = {} days x {} / {} days = {} {}.",
        num::exact(&d),
        num::fixed(&b.period_fee, 2),
        match c.day_value_basis {
            DayValueBasis::DaysInPeriod => num::exact(&b.days_in_period),
            DayValueBasis::Thirty => "30".into(),
        },
        num::fixed(&a, 4),
        currency
    ));
    let (extension_days, extension_hours) = if d.is_integer() {
        (d.to_integer().try_into().ok(), None)
    } else {
        (None, Some(&d * int(24)))
    };
    if let Some(cap) = c.cap_value_pct_of_fee {
        let cap_v = dec(cap) * &b.period_fee / int(100);
        if a > cap_v {
            tr.push(format!("Money value capped at {cap} % of the fee."));
            a = cap_v;
        }
    }
    DaysValue {
        amount: a,
        extension_days,
        extension_hours,
    }
}

/// Period cap of a money figure (`cap_pct_of_fee`).
fn money_capped(mut a: Q, c: &Credit, b: &Basis, tr: &mut Vec<String>) -> Q {
    if let Some(cap) = c.cap_pct_of_fee {
        let cap_v = dec(cap) * &b.period_fee / int(100);
        if a > cap_v {
            tr.push(format!(
                "{} capped at {cap} % of the fee = {}.",
                num::fixed(&a, 4),
                num::fixed(&cap_v, 2)
            ));
            a = cap_v;
        }
    }
    a
}

/// The cap on the amount (`cap_amount`).
fn cap_amount(amount: Q, c: &Credit, currency: &str, tr: &mut Vec<String>) -> Q {
    match c.cap_amount {
        Some(cap) if amount > dec(cap) => {
            tr.push(format!(
                "{} capped at {cap} {}.",
                num::fixed(&amount, 4),
                currency
            ));
            dec(cap)
        }
        _ => amount,
    }
}

/// `min_credit`: a positive credit below it is not issued.
fn min_credit(amount: Q, c: &Credit, currency: &str, tr: &mut Vec<String>) -> Q {
    match c.min_credit {
        Some(min) if amount < dec(min) && amount.is_positive() => {
            tr.push(format!(
                "{} is below the minimum credit of {min} {} -> not issued.",
                num::fixed(&amount, 4),
                currency
            ));
            Q::zero()
        }
        _ => amount,
    }
}

/// Step 13: the exclusive instant by which a claim must be received.
pub(super) fn deadline(
    plan: &Plan,
    period: &Period,
    groups: &[Group],
    tr: &mut Vec<String>,
) -> Result<Option<i64>, SlaError> {
    let tz = &plan.window.timezone;
    let d = match plan.claim.deadline {
        Deadline::None => return Ok(None),
        Deadline::CyclesAfterPeriod(n) => {
            let at = match plan.window.kind {
                WindowKind::Rolling { length_ms, .. } => period.end + length_ms * i64::from(n),
                _ => period::midnight(period::end_of_periods_after(&plan.window, period, n)?, tz)?,
            };
            tr.push(format!(
                "Claim by the end of the {n}. billing cycle after the period -> before {}.",
                ts(at)
            ));
            at
        }
        Deadline::DaysAfterPeriodEnd(n) => {
            let at = period::midnight(period::days_after(period.end_day, n)?, tz)?;
            tr.push(format!(
                "Claim within {n} days of the period's end -> before {}.",
                ts(at)
            ));
            at
        }
        Deadline::MonthsAfterPeriodEnd(n) => {
            let at = period::midnight(period::months_after(period.end_day, n)?, tz)?;
            tr.push(format!(
                "Claim within {n} months of the period's end -> before {}.",
                ts(at)
            ));
            at
        }
        Deadline::DaysAfterIncidentStart(n) => {
            let first = groups
                .iter()
                .filter(|g| !g.counted.is_empty())
                .map(|g| g.start)
                .min();
            let Some(start) = first else {
                tr.push(format!(
                    "Claim within {n} days of each incident's start: no incident counted."
                ));
                return Ok(None);
            };
            let at = jiff::Timestamp::from_millisecond(start)
                .ok()
                .and_then(|t| {
                    t.to_zoned_datetime(tz.clone())
                        .checked_add(jiff::ToSpan::days(i64::from(n)))
                        .ok()
                })
                .map(|z| z.timestamp().as_millisecond())
                .ok_or_else(|| SlaError::Input("claim deadline out of range".into()))?;
            tr.push(format!(
                "Claim within {n} days of the first counted incident's start ({}) -> before {}.",
                ts(start),
                ts(at)
            ));
            at
        }
    };
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::num::{HOUR_MS, MINUTE_MS, ratio};
    use crate::sla::plan::{
        BreachIf, Claim, CreditForm, Measurement, Objective, PartialPeriod, Window,
    };

    const H: i64 = HOUR_MS;
    const A0: i64 = 1_711_929_600_000; // 2024-04-01T00:00Z

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn credit(scheme: Scheme) -> Credit {
        Credit::of(scheme)
    }

    /// A monthly plan in UTC at 30.00 EUR a month (a day of April is worth 1.00).
    fn plan(scheme: Scheme) -> Plan {
        Plan {
            id: "p".into(),
            provider: None,
            service: None,
            source: None,
            verified: None,
            group: None,
            group_rule: Default::default(),
            probe: None,
            customer_type: CustomerType::Consumer,
            currency: "EUR".into(),
            fee: d("30.00"),
            fee_period: FeePeriod::Month,
            window: Window {
                kind: WindowKind::CalendarMonth,
                timezone_name: "UTC".into(),
                timezone: jiff::tz::TimeZone::UTC,
                partial_period: PartialPeriod::Prorate,
                business_hours: None,
            },
            objective: Objective {
                target: d("99.9"),
                breach_if: BreachIf::AvailabilityLtTarget,
            },
            measurement: Measurement::plain_time(),
            exclusions: Default::default(),
            credit: credit(scheme),
            claim: Claim {
                deadline: Deadline::None,
                automatic: None,
                method: None,
                evidence: None,
            },
            goodwill: vec![],
            clause: None,
        }
    }

    fn april() -> Period {
        Period {
            label: "2024-04".into(),
            start: A0,
            end: A0 + 30 * 24 * H,
            first_day: jiff::civil::date(2024, 4, 1),
            end_day: jiff::civil::date(2024, 5, 1),
            months: Some(1),
        }
    }

    /// A group counted from hour `s` to hour `e` of April.
    fn group(n: usize, s: i64, e: i64) -> Group {
        Group {
            members: vec![n],
            start: A0 + s * H,
            end: A0 + e * H,
            error_rate: Q::from_integer(1.into()),
            impact: Q::from_integer(1.into()),
            counted: Intervals::single(A0 + s * H, A0 + e * H),
        }
    }

    /// Everything a `CreditInput` borrows.
    struct Fixture {
        plan: Plan,
        period: Period,
        domain: Intervals,
        groups: Vec<Group>,
        gaps: Intervals,
        downtime: Q,
        measured: Q,
    }

    impl Fixture {
        fn new(scheme: Scheme, groups: Vec<Group>) -> Self {
            let period = april();
            let downtime = int(groups.iter().map(|g| g.counted.measure()).sum());
            Fixture {
                plan: plan(scheme),
                domain: Intervals::single(period.start, period.end),
                measured: int(period.end - period.start),
                period,
                groups,
                gaps: Intervals::empty(),
                downtime,
            }
        }

        fn input(&self) -> CreditInput<'_> {
            CreditInput {
                plan: &self.plan,
                fee: self.plan.fee,
                fee_period: self.plan.fee_period,
                currency: &self.plan.currency,
                customer_type: self.plan.customer_type,
                period: &self.period,
                domain: &self.domain,
                groups: &self.groups,
                gap_pieces: &self.gaps,
                availability: None,
                downtime: &self.downtime,
                measured: &self.measured,
                breach: true,
            }
        }
    }

    fn pct_bands() -> Vec<DurationBand> {
        vec![
            DurationBand {
                at_least_ms: H,
                value: BandValue::Pct(d("5")),
            },
            DurationBand {
                at_least_ms: 4 * H,
                value: BandValue::Pct(d("10")),
            },
        ]
    }

    #[test]
    fn uncomputed_schemes_and_no_breach_owe_nothing_without_computing() {
        let mut tr = Vec::new();
        let f = Fixture::new(Scheme::Unspecified, vec![]);
        let o = uncomputed(&f.input(), &mut tr).unwrap();
        assert!(o.money.is_none(), "unspecified: no figure at all");
        let f = Fixture::new(Scheme::None, vec![]);
        let o = uncomputed(&f.input(), &mut tr).unwrap();
        assert_eq!(o.money.unwrap().amount, d("0.00"));
        let f = Fixture::new(Scheme::DowntimeTiers(pct_bands()), vec![]);
        assert!(
            uncomputed(&f.input(), &mut tr).is_none(),
            "a breach is computed"
        );
        let mut no_breach = f.input();
        no_breach.breach = false;
        let o = uncomputed(&no_breach, &mut tr).unwrap();
        assert_eq!(o.money.unwrap().amount, d("0.00"));
    }

    #[test]
    fn tiered_takes_the_lowest_band_the_availability_is_under() {
        let band = |below: &str, pct: &str| AvailabilityBand {
            below: d(below),
            value: BandValue::Pct(d(pct)),
        };
        let bands = [band("99.9", "10"), band("99", "25")];
        let mut tr = Vec::new();
        let a = |x: i64| ratio(x, 1000);
        assert_eq!(tiered(&bands, Some(&a(995)), &mut tr), Raw::Pct(int(10)));
        assert_eq!(tiered(&bands, Some(&a(985)), &mut tr), Raw::Pct(int(25)));
        assert_eq!(tiered(&bands, Some(&a(999)), &mut tr), Raw::Pct(int(0)));
        let days = [AvailabilityBand {
            below: d("99.9"),
            value: BandValue::Days(3),
        }];
        assert_eq!(tiered(&days, Some(&a(995)), &mut tr), Raw::Days(int(3)));
    }

    #[test]
    fn downtime_tiers_takes_the_band_of_the_total() {
        let mut tr = Vec::new();
        let bands = pct_bands();
        assert_eq!(
            downtime_tiers(&bands, &int(2 * H), &mut tr),
            Raw::Pct(int(5))
        );
        assert_eq!(
            downtime_tiers(&bands, &int(4 * H), &mut tr),
            Raw::Pct(int(10))
        );
        assert_eq!(
            downtime_tiers(&bands, &int(H - 1), &mut tr),
            Raw::Pct(int(0))
        );
    }

    #[test]
    fn incident_tiers_caps_each_incident_then_sums_or_takes_the_max() {
        let mut tr = Vec::new();
        let groups = [group(0, 0, 2), group(1, 10, 15)];
        let bands = pct_bands();
        let sum = incident_tiers(&bands, Aggregate::Sum, None, &groups, &mut tr);
        assert_eq!(sum, Raw::Pct(int(15)));
        let max = incident_tiers(&bands, Aggregate::Max, None, &groups, &mut tr);
        assert_eq!(max, Raw::Pct(int(10)));
        let capped = incident_tiers(&bands, Aggregate::Sum, Some(d("8")), &groups, &mut tr);
        assert_eq!(capped, Raw::Pct(int(13)));
    }

    #[test]
    fn per_unit_counts_units_beyond_the_allowance() {
        let unit = |rounding| PerUnit {
            unit_ms: H,
            rounding,
            scope: UnitScope::Aggregate,
            count_from: CountFrom::BeyondAllowance,
            per_unit: d("5"),
        };
        // April: T = 43 200 min, the allowance 43.2 min; 143.2 min down is 100 min beyond.
        let mut f = Fixture::new(Scheme::PerUnitPercent(unit(UnitRounding::Floor)), vec![]);
        f.downtime = ratio(1432 * MINUTE_MS, 10);
        let b = basis(&f.input());
        assert_eq!(b.allowance, ratio(432 * MINUTE_MS, 10));
        let mut tr = Vec::new();
        let mut run = |r, pct| per_unit(&f.input(), &unit(r), pct, &b.allowance, &mut tr);
        assert_eq!(run(UnitRounding::Floor, true), Raw::Pct(int(5)));
        assert_eq!(run(UnitRounding::Ceil, false), Raw::Days(int(10)));
    }

    #[test]
    fn prorata_multiplier_prices_lost_hours_and_gives_hours_of_service() {
        let p = Prorata {
            multiplier: d("2"),
            hours_basis: d("720"),
            lost_time: LostTime::Measured,
            deductible_ms: 0,
        };
        let mut f = Fixture::new(Scheme::None, vec![group(0, 0, 3)]);
        let mut tr = Vec::new();
        let zero = Q::zero();
        let (raw, ext) = prorata_multiplier(&f.input(), p, &zero, &mut tr);
        // 2 x 3 h x 30.00 / 720 h.
        assert_eq!(raw, Raw::Money(ratio(1, 4)));
        assert_eq!(ext, None);
        f.plan.credit.form = Some(CreditForm::TermExtension);
        let per_incident = Prorata {
            lost_time: LostTime::PerIncident,
            deductible_ms: H,
            ..p
        };
        let (raw, ext) = prorata_multiplier(&f.input(), per_incident, &zero, &mut tr);
        assert_eq!(raw, Raw::Money(ratio(1, 6)), "an hour deducted");
        assert_eq!(ext, Some(int(4)));
    }

    #[test]
    fn daily_flat_counts_local_days_touched_and_multiplies_for_businesses() {
        // 22:00 on the 1st to 02:00 on the 2nd touches two days.
        let f = Fixture::new(Scheme::None, vec![group(0, 22, 26)]);
        let mut tr = Vec::new();
        let touched = DayCount::LocalCalendarDaysTouched;
        let raw = daily_flat(&f.input(), d("5"), touched, d("2"), &mut tr).unwrap();
        assert_eq!(raw, Raw::Money(int(10)));
        let mut business = f.input();
        business.customer_type = CustomerType::Business;
        let raw = daily_flat(&business, d("5"), touched, d("2"), &mut tr).unwrap();
        assert_eq!(raw, Raw::Money(int(20)));
        let blocks = daily_flat(
            &f.input(),
            d("5"),
            DayCount::Started24hBlocks,
            d("2"),
            &mut tr,
        );
        assert_eq!(
            blocks.unwrap(),
            Raw::Money(int(5)),
            "4 h is one started block"
        );
    }

    #[test]
    fn per_day_over_threshold_pays_a_day_s_fee_per_day_above_it() {
        // 2 h down on the 1st (8.3 %), 1 h on the 2nd (4.2 %).
        let f = Fixture::new(Scheme::None, vec![group(0, 1, 3), group(1, 30, 31)]);
        let mut tr = Vec::new();
        let b = basis(&f.input());
        let raw = per_day_over_threshold(&f.input(), d("5"), &b.day_value, &mut tr).unwrap();
        assert_eq!(raw, Raw::Money(int(1)));
    }

    /// April's basis (30.00 EUR, a day worth 1.00) and a credit without caps.
    fn april_basis() -> (Basis, Credit) {
        let f = Fixture::new(Scheme::None, vec![]);
        (basis(&f.input()), credit(Scheme::None))
    }

    #[test]
    fn percent_of_fee_caps_the_percentage_before_pricing_it() {
        let (b, mut c) = april_basis();
        let mut tr = Vec::new();
        assert_eq!(
            percent_of_fee(int(60), &c, &b, "EUR", &mut tr),
            (int(18), int(60))
        );
        c.cap_pct_of_fee = Some(d("50"));
        assert_eq!(
            percent_of_fee(int(60), &c, &b, "EUR", &mut tr),
            (int(15), int(50))
        );
    }

    #[test]
    fn days_of_service_cap_the_days_then_their_value() {
        let (b, mut c) = april_basis();
        let mut tr = Vec::new();
        let v = days_of_service(ratio(3, 2), &c, &b, "EUR", &mut tr);
        assert_eq!(
            (v.amount, v.extension_days, v.extension_hours),
            (ratio(3, 2), None, Some(int(36)))
        );
        c.cap_days = Some(d("1"));
        let v = days_of_service(ratio(3, 2), &c, &b, "EUR", &mut tr);
        assert_eq!((v.amount, v.extension_days), (int(1), Some(1)));
        c.cap_value_pct_of_fee = Some(d("2"));
        let v = days_of_service(ratio(3, 2), &c, &b, "EUR", &mut tr);
        assert_eq!(v.amount, ratio(3, 5), "2 % of 30.00");
    }

    #[test]
    fn money_capped_amount_capped_and_the_minimum() {
        let (b, mut c) = april_basis();
        let mut tr = Vec::new();
        assert_eq!(money_capped(int(20), &c, &b, &mut tr), int(20));
        c.cap_pct_of_fee = Some(d("50"));
        assert_eq!(money_capped(int(20), &c, &b, &mut tr), int(15));
        c.cap_amount = Some(d("10"));
        assert_eq!(cap_amount(int(20), &c, "EUR", &mut tr), int(10));
        assert_eq!(cap_amount(int(5), &c, "EUR", &mut tr), int(5));
        c.min_credit = Some(d("1"));
        assert_eq!(min_credit(ratio(1, 2), &c, "EUR", &mut tr), int(0));
        assert_eq!(min_credit(int(2), &c, "EUR", &mut tr), int(2));
        assert_eq!(min_credit(int(0), &c, "EUR", &mut tr), int(0));
    }
}
