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
    Aggregate, BandValue, CountFrom, CustomerType, DayCount, DayValueBasis, Deadline, DurationBand,
    FeePeriod, LostTime, Plan, Scheme, UnitRounding, UnitScope, WindowKind,
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
enum Raw {
    Pct(Q),
    Days(Q),
    Money(Q),
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

/// Computes the credit (step 12).
pub(super) fn compute(
    i: &CreditInput<'_>,
    tr: &mut Vec<String>,
) -> Result<CreditOutcome, SlaError> {
    let c = &i.plan.credit;
    let currency = i.currency.to_owned();
    let money = |amount: Decimal| {
        Some(super::Money {
            amount,
            currency: currency.clone(),
        })
    };
    let hundred = int(100);
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
    let allowance = (int(1) - dec(i.plan.objective.target) / &hundred) * i.measured;

    match &c.scheme {
        Scheme::Unspecified => {
            tr.push("Credit: the plan's remedy is not specified; nothing computed.".into());
            return Ok(CreditOutcome::default());
        }
        Scheme::Goodwill => {
            tr.push("Credit: goodwill only, not computed.".into());
            return Ok(CreditOutcome::default());
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
    if matches!(c.scheme, Scheme::None) {
        tr.push(
            "Credit: the plan owes nothing (scheme none); the breach is still reported.".into(),
        );
        return Ok(CreditOutcome {
            money: money(Decimal::new(0, 2)),
            ..Default::default()
        });
    }
    if !i.breach {
        tr.push("No breach -> no credit.".into());
        return Ok(CreditOutcome {
            money: money(Decimal::new(0, 2)),
            ..Default::default()
        });
    }
    tr.push(format!(
        "Fee for the period = {} {} ({factor_why}).",
        num::fixed(&period_fee, 2),
        i.currency
    ));

    let mut extension_hours = None;
    let raw = match &c.scheme {
        Scheme::None | Scheme::Unspecified | Scheme::Goodwill => Raw::Money(Q::zero()),
        Scheme::TieredPercent(bands) | Scheme::TieredDays(bands) => {
            let a = i
                .availability
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
                    match b.value {
                        BandValue::Pct(p) => Raw::Pct(dec(p)),
                        BandValue::Days(d) => Raw::Days(int(i64::from(d))),
                    }
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
        Scheme::DowntimeTiers(tiers) => match band_for_duration(tiers, i.downtime) {
            Some(b) => {
                tr.push(format!(
                    "Total downtime {} >= {} -> band {}.",
                    num::human_ms(i.downtime),
                    num::human_ms(&int(b.at_least_ms)),
                    num::exact(&band_value(b.value))
                ));
                match b.value {
                    BandValue::Pct(p) => Raw::Pct(dec(p)),
                    BandValue::Days(d) => Raw::Days(int(i64::from(d))),
                }
            }
            None => {
                tr.push("Total downtime is below every band -> 0.".into());
                Raw::Pct(Q::zero())
            }
        },
        Scheme::IncidentTiers { tiers, aggregate } => {
            let days = matches!(tiers.first().map(|b| b.value), Some(BandValue::Days(_)));
            let mut values: Vec<Q> = Vec::new();
            for (n, ms) in per_incident(i.groups) {
                let v = band_for_duration(tiers, &ms).map_or_else(Q::zero, |b| band_value(b.value));
                let v = match (c.cap_per_incident_pct_of_fee, days) {
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
                if *aggregate == Aggregate::Sum {
                    "sum"
                } else {
                    "max"
                },
                num::exact(&total),
                if days { " days" } else { " %" }
            ));
            if days {
                Raw::Days(total)
            } else {
                Raw::Pct(total)
            }
        }
        Scheme::PerUnitPercent(u) | Scheme::PerUnitDays(u) => {
            let pct_scheme = matches!(c.scheme, Scheme::PerUnitPercent(_));
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
                            let x = num::max(Q::zero(), i.downtime - &allowance);
                            tr.push(format!(
                                "Allowance (1 - target) x T = {} min; beyond it: {} min.",
                                num::minutes(&allowance),
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
                        if let (Some(cap), true) = (c.cap_per_incident_pct_of_fee, pct_scheme)
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
            if pct_scheme {
                Raw::Pct(total)
            } else {
                Raw::Days(total)
            }
        }
        Scheme::ProrataMultiplier {
            multiplier,
            hours_basis,
            lost_time,
            deductible_per_incident_ms,
        } => {
            let rate = dec(*multiplier) * dec(i.fee) / dec(*hours_basis);
            let mut lost_total = Q::zero();
            let amount = match lost_time {
                LostTime::Measured | LostTime::BeyondAllowance => {
                    let lost = if *lost_time == LostTime::Measured {
                        i.downtime.clone()
                    } else {
                        let x = num::max(Q::zero(), i.downtime - &allowance);
                        tr.push(format!(
                            "Allowance (1 - target) x T = {} min; lost beyond it: {} min.",
                            num::minutes(&allowance),
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
                        let lost = num::max(Q::zero(), ms - int(*deductible_per_incident_ms));
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
                            if *deductible_per_incident_ms > 0 {
                                format!(
                                    " after a deductible of {}",
                                    num::human_ms(&int(*deductible_per_incident_ms))
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
            if i.plan.credit.form == Some(super::plan::CreditForm::TermExtension) {
                let ext = dec(*multiplier) * hours(&lost_total);
                tr.push(format!(
                    "As a term extension: {multiplier} x {} h = {} h of service.",
                    num::exact(&hours(&lost_total)),
                    num::exact(&ext)
                ));
                extension_hours = Some(ext);
            }
            Raw::Money(amount)
        }
        Scheme::DailyFlat {
            per_day,
            day_count,
            business_multiplier,
        } => {
            let days = match day_count {
                DayCount::LocalCalendarDaysTouched => {
                    let down = i
                        .groups
                        .iter()
                        .fold(i.gap_pieces.clone(), |a, g| a.union(&g.counted));
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
                dec(*business_multiplier)
            } else {
                int(1)
            };
            let amount = &days * dec(*per_day) * &mult;
            tr.push(format!(
                "Indemnity = {} days x {per_day} {} x {} ({}) = {}.",
                num::exact(&days),
                i.currency,
                num::exact(&mult),
                i.customer_type.as_str(),
                num::fixed(&amount, 2)
            ));
            Raw::Money(amount)
        }
        Scheme::PerDayOverThreshold { threshold_pct } => {
            let down = i
                .groups
                .iter()
                .fold(i.gap_pieces.clone(), |a, g| a.union(&g.counted));
            let mut n = 0i64;
            for (day, s, e) in
                period::local_days(i.period.start, i.period.end, &i.plan.window.timezone)?
            {
                let measured = i.domain.clip(s, e).measure();
                let lost = down.clip(s, e).measure();
                if measured > 0 && int(lost) * &hundred > dec(*threshold_pct) * int(measured) {
                    tr.push(format!(
                        "{day}: {} down of {} > {threshold_pct} % -> 1 day.",
                        num::human_ms(&int(lost)),
                        num::human_ms(&int(measured))
                    ));
                    n += 1;
                }
            }
            let amount = int(n) * &day_value;
            tr.push(format!(
                "{n} days over the threshold x a day's fee {} = {}.",
                num::fixed(&day_value, 4),
                num::fixed(&amount, 4)
            ));
            Raw::Money(amount)
        }
    };

    // Period caps, minimum, rounding.
    let mut extension_days = None;
    let mut pct = None;
    let mut amount = match raw {
        Raw::Pct(mut p) => {
            if let Some(cap) = c.cap_pct_of_fee
                && p > dec(cap)
            {
                tr.push(format!(
                    "{} % capped at {cap} % of the fee.",
                    num::exact(&p)
                ));
                p = dec(cap);
            }
            let a = &p * &period_fee / &hundred;
            tr.push(format!(
                "Credit = {} % x {} = {} {}.",
                num::exact(&p),
                num::fixed(&period_fee, 2),
                num::fixed(&a, 4),
                i.currency
            ));
            pct = Some(p);
            a
        }
        Raw::Days(mut d) => {
            if let Some(cap) = c.cap_days
                && d > dec(cap)
            {
                tr.push(format!("{} days capped at {cap} days.", num::exact(&d)));
                d = dec(cap);
            }
            let a = &d * &day_value;
            tr.push(format!(
                "Money value = {} days x {} / {} days = {} {}.",
                num::exact(&d),
                num::fixed(&period_fee, 2),
                match c.day_value_basis {
                    DayValueBasis::DaysInPeriod => num::exact(&days_in_period),
                    DayValueBasis::Thirty => "30".into(),
                },
                num::fixed(&a, 4),
                i.currency
            ));
            if d.is_integer() {
                extension_days = d.to_integer().try_into().ok();
            } else {
                extension_hours = Some(&d * int(24));
            }
            let mut a = a;
            if let Some(cap) = c.cap_value_pct_of_fee {
                let cap_v = dec(cap) * &period_fee / &hundred;
                if a > cap_v {
                    tr.push(format!("Money value capped at {cap} % of the fee."));
                    a = cap_v;
                }
            }
            a
        }
        Raw::Money(mut a) => {
            if let Some(cap) = c.cap_pct_of_fee {
                let cap_v = dec(cap) * &period_fee / &hundred;
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
    };
    if let Some(cap) = c.cap_amount
        && amount > dec(cap)
    {
        tr.push(format!(
            "{} capped at {cap} {}.",
            num::fixed(&amount, 4),
            i.currency
        ));
        amount = dec(cap);
    }
    if let Some(min) = c.min_credit
        && amount < dec(min)
        && amount.is_positive()
    {
        tr.push(format!(
            "{} is below the minimum credit of {min} {} -> not issued.",
            num::fixed(&amount, 4),
            i.currency
        ));
        amount = Q::zero();
    }
    let rounded = num::round_dec(&amount, 2);
    tr.push(format!(
        "Credit owed = {rounded} {} (rounded half-up to the cent).",
        i.currency
    ));
    Ok(CreditOutcome {
        money: money(rounded),
        pct,
        extension_days,
        extension_hours,
    })
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
