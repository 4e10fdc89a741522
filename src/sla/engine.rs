//! The evaluation of SLA-MODEL.md section 3, steps 1 to 11, in its normative order.
//! Credits and claim deadlines (steps 12 and 13) are in `credit.rs`.

use super::credit::{self, CreditInput};
use super::group::Group;
use super::intervals::Intervals;
use super::num::{self, MINUTE_MS, Q, dec, int, ts};
use super::period::{self, Period, PeriodSpec};
use super::plan::{
    BreachIf, CustomerType, EndAt, FeePeriod, FragmentRounding, MaintenanceRule, Measurement,
    Method, MinIncident, MissingData, Objective, PartialPeriod, Plan, SliceBadIf, StartFrom,
    Window,
};
use super::timeline::MaintenanceWindow;
use super::timeline::Timeline;
use super::{Evaluation, IncidentOutcome, Overrides, SlaError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use num_traits::{One, Signed, Zero};
use std::collections::BTreeMap;

/// What took away all of an incident's time in the period (steps 4 to 8).
struct NothingLeft<'a> {
    /// The incident's interval inside the period.
    whole: Intervals,
    carve: &'a Intervals,
    too_short: bool,
    min_ms: Option<i64>,
    rounded: bool,
    /// The domain after clipping (step 7), before missing data.
    domain: &'a Intervals,
    business_hours: bool,
    /// No-data time inside the domain.
    gaps: &'a Intervals,
    missing_data: MissingData,
}

/// Why an incident inside the period counts for nothing: each step that removed some
/// of it, named; when the only one is missing data, said so plainly.
fn nothing_left_reason(n: &NothingLeft<'_>) -> String {
    let mut steps: Vec<String> = Vec::new();
    let maintenance = !n.whole.intersect(n.carve).is_empty();
    if maintenance {
        steps.push("excluded maintenance".into());
    }
    if n.too_short {
        steps.push(match n.min_ms {
            Some(ms) => format!("the minimum length of {}", human(ms)),
            None => "the minimum length".into(),
        });
    }
    if n.rounded {
        steps.push("rounding to whole clock minutes".into());
    }
    if !n.whole.subtract(n.domain).is_empty() {
        steps.push(if n.business_hours {
            "time outside the business hours or the service's dates".into()
        } else {
            "time outside the service's dates".into()
        });
    }
    let no_data = !n.whole.intersect(n.gaps).is_empty();
    let policy = match n.missing_data {
        MissingData::Exclude => "which policy 'exclude' leaves out of the measured time",
        MissingData::AsUp => "which policy 'as_up' counts as up",
        MissingData::AsDown => "",
    };
    if no_data && !policy.is_empty() {
        if steps.is_empty() && n.whole.subtract(n.gaps).is_empty() {
            return format!("all its time in the period fell in time without data, {policy}");
        }
        steps.push(format!("time without data, {policy}"));
    }
    match steps.len() {
        0 => "nothing of it counts in the period's measured time".into(),
        1 if maintenance && n.whole.subtract(n.carve).is_empty() => {
            "all its time in the period fell in announced maintenance, which the plan excludes"
                .into()
        }
        1 => format!("nothing left after {}", steps[0]),
        _ => {
            let last = steps.pop().unwrap_or_default();
            format!("nothing left after {} and {last}", steps.join(", "))
        }
    }
}

fn human(ms: i64) -> String {
    num::human_ms(&int(ms))
}

/// Evaluates one plan over one period: SLA-MODEL.md section 3, one call per step.
pub fn evaluate(
    plan: &Plan,
    overrides: &Overrides,
    spec: PeriodSpec,
    claim_date: Option<Date>,
    tl: &Timeline,
) -> Result<Evaluation, SlaError> {
    let mut tr: Vec<String> = Vec::new();
    let m = &plan.measurement;
    let fee = overrides.fee.unwrap_or(plan.fee);
    let currency = overrides
        .currency
        .clone()
        .unwrap_or_else(|| plan.currency.clone());
    let fee_period: FeePeriod = overrides.fee_period.unwrap_or(plan.fee_period);
    let customer_type: CustomerType = overrides.customer_type.unwrap_or(plan.customer_type);
    let missing_data = overrides.missing_data.unwrap_or(m.missing_data);

    // Values only the plan can judge (affected_users against measurement.users).
    if let Some(e) = tl.check_against(plan).into_iter().next() {
        return Err(SlaError::Input(e.to_string()));
    }

    let (period, domain) = resolve_period(&plan.window, spec, claim_date, tl, &mut tr)?;
    let mut domain = measured_domain(&plan.window, &period, domain, &mut tr)?;
    let mut outcomes = fresh_outcomes(tl);
    let groups = select_incidents(m, &plan.exclusions.causes, tl, &mut outcomes, &mut tr);
    let mut groups = merge_close_incidents(groups, m, &mut tr);
    let carve = qualifying_maintenance(
        &plan.exclusions.maintenance,
        &plan.window.timezone,
        &tl.maintenance,
        &period,
        &mut tr,
    )?;
    let frags = cut_maintenance(&groups, &carve);
    let mut too_short = vec![false; groups.len()];
    let mut rounded = vec![false; groups.len()];
    let frags = drop_short_fragments(
        frags,
        m.min_incident,
        &period,
        &groups,
        &mut too_short,
        &mut tr,
    );
    let frags = round_fragments(frags, m.fragment_rounding, &period, &mut rounded, &mut tr);
    clip_to_domain(&frags, &domain, &mut groups);
    let clipped_domain = domain.clone();
    let no_data = apply_missing_data(missing_data, tl, &mut domain, &mut groups, &mut tr);
    record_outcomes(
        &groups,
        tl,
        &Fates {
            period: &period,
            carve: &carve,
            too_short: &too_short,
            rounded: &rounded,
            min_ms: m.min_incident.map(|x| x.ms),
            domain: &clipped_domain,
            business_hours: plan.window.business_hours.is_some(),
            gaps: &no_data.gaps,
            missing_data,
        },
        &mut outcomes,
        &mut tr,
    );
    let (d, t) = measure(m, &period, &domain, &groups, &no_data.gap_pieces, &mut tr)?;
    let availability = availability(&d, &t, &mut tr);
    let breach = breach(&plan.objective, availability.as_ref(), &d, &t, &mut tr);

    // 12 and 13.
    let c = credit::compute(
        &CreditInput {
            plan,
            fee,
            fee_period,
            currency: &currency,
            customer_type,
            period: &period,
            domain: &domain,
            groups: &groups,
            gap_pieces: &no_data.gap_pieces,
            availability: availability.as_ref(),
            downtime: &d,
            measured: &t,
            breach,
        },
        &mut tr,
    )?;
    let claim_deadline = credit::deadline(plan, &period, &groups, &mut tr)?;

    Ok(Evaluation {
        plan: plan.id.clone(),
        period,
        timezone: plan.window.timezone_name.clone(),
        downtime_ms: d,
        measured_ms: t,
        availability,
        breach,
        credit: c.money,
        credit_pct_of_fee: c.pct,
        extension_days: c.extension_days,
        extension_hours: c.extension_hours,
        form: plan.credit.form,
        claim_deadline,
        missing_data,
        no_data_ms: no_data.no_data_ms,
        incidents: outcomes,
        trace: tr,
    })
}

/// Step 1: the period in `window.timezone`, and the domain it starts as: the whole
/// period, shortened to the service's life with `partial_period = "prorate"`.
fn resolve_period(
    window: &Window,
    spec: PeriodSpec,
    claim_date: Option<Date>,
    tl: &Timeline,
    tr: &mut Vec<String>,
) -> Result<(Period, Intervals), SlaError> {
    let period: Period = period::resolve(window, spec, claim_date)?;
    tr.push(format!(
        "Period = {} in {} = {} -> {} = {}.",
        period.label,
        window.timezone_name,
        ts(period.start),
        ts(period.end),
        human(period.end - period.start)
    ));
    let mut domain = Intervals::single(period.start, period.end);
    if window.partial_period == PartialPeriod::Prorate
        && (tl.service_start.is_some() || tl.service_end.is_some())
    {
        let s = tl.service_start.map_or(i64::MIN, |t| t.0);
        let e = tl.service_end.map_or(i64::MAX, |t| t.0);
        domain = domain.clip(s, e);
        tr.push(format!(
            "Partial period (prorate): measured only while the service exists -> {}.",
            human(domain.measure())
        ));
    }
    Ok((period, domain))
}

/// Step 2: the measured domain, inside business hours if the plan sets them.
fn measured_domain(
    window: &Window,
    period: &Period,
    domain: Intervals,
    tr: &mut Vec<String>,
) -> Result<Intervals, SlaError> {
    let Some(bh) = &window.business_hours else {
        return Ok(domain);
    };
    let hours = period::weekly(bh, period.start, period.end)?;
    let domain = domain.intersect(&hours);
    tr.push(format!(
        "Business hours {}-{} {} ({}) -> domain = {}.",
        bh.start,
        if bh.end_of_day {
            "24:00".to_owned()
        } else {
            bh.end.to_string()
        },
        bh.days
            .iter()
            .map(|d| format!("{d:?}")[..3].to_owned())
            .collect::<Vec<_>>()
            .join(","),
        bh.timezone_name,
        human(domain.measure())
    ));
    Ok(domain)
}

/// One outcome per timeline incident, counting nothing until a step says otherwise.
fn fresh_outcomes(tl: &Timeline) -> Vec<IncidentOutcome> {
    (0..tl.incidents.len())
        .map(|index| IncidentOutcome {
            index,
            counted_ms: int(0),
            excluded: None,
        })
        .collect()
}

/// Step 3, first half: excluded causes and low error rates dropped, starts moved to the
/// report and ends to the confirmed restore as the plan says; each dropped incident's
/// outcome says why. The survivors, one group each, sorted by start.
fn select_incidents(
    m: &Measurement,
    excluded_causes: &[String],
    tl: &Timeline,
    outcomes: &mut [IncidentOutcome],
    tr: &mut Vec<String>,
) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, inc) in tl.incidents.iter().enumerate() {
        let why = |o: &mut IncidentOutcome, r: String| o.excluded = Some(r);
        if let Some(c) = &inc.cause
            && excluded_causes.iter().any(|x| x == c)
        {
            tr.push(format!(
                "Incident {} ({} -> {}): cause '{c}' is excluded.",
                i + 1,
                ts(inc.start.0),
                ts(inc.end.0)
            ));
            why(
                &mut outcomes[i],
                format!("cause '{c}' excluded by the plan"),
            );
            continue;
        }
        let er = inc.error_rate.map_or_else(Q::one, dec);
        if let (Some(th), false) = (
            m.down_if_error_rate_gt,
            matches!(m.method, Method::ErrorRateSlices { .. }),
        ) && er <= dec(th)
        {
            tr.push(format!(
                "Incident {}: error rate {} <= {th} -> not downtime.",
                i + 1,
                num::exact(&er)
            ));
            why(
                &mut outcomes[i],
                format!("error rate {} at or below {th}", num::exact(&er)),
            );
            continue;
        }
        let mut start = inc.start.0;
        match (m.start_from, inc.reported_at) {
            (StartFrom::Detected, _) => {}
            (StartFrom::Reported, None) => {
                tr.push(format!(
                    "Incident {}: never reported -> counts from the report, so not at all.",
                    i + 1
                ));
                why(
                    &mut outcomes[i],
                    "never reported, and the plan counts from the report".into(),
                );
                continue;
            }
            (StartFrom::Reported | StartFrom::ReportedOrDetected, Some(r)) => {
                if r.0 > start {
                    tr.push(format!(
                        "Incident {}: counted from the report at {}.",
                        i + 1,
                        ts(r.0)
                    ));
                }
                start = start.max(r.0);
            }
            (StartFrom::ReportedOrDetected, None) => {}
        }
        let end = match (m.end_at, inc.confirmed_restored_at) {
            (EndAt::ConfirmedRestored, Some(c)) => {
                tr.push(format!(
                    "Incident {}: counted until the confirmed restore at {}.",
                    i + 1,
                    ts(c.0)
                ));
                c.0
            }
            _ => inc.end.0,
        };
        if end <= start {
            tr.push(format!(
                "Incident {}: reported only after it ended -> 0.",
                i + 1
            ));
            why(&mut outcomes[i], "reported only after it ended".into());
            continue;
        }
        let impact = match (inc.affected_users, m.method) {
            // `Timeline::check_against` has made sure that a <= u and u > 0.
            (Some(a), Method::UserWeighted { users: Some(u) }) => num::ratio(
                i64::try_from(a).unwrap_or(i64::MAX),
                i64::try_from(u).unwrap_or(i64::MAX),
            ),
            _ => inc.impact.map_or_else(Q::one, dec),
        };
        groups.push(Group {
            members: vec![i],
            start,
            end,
            error_rate: er,
            impact,
            counted: Intervals::empty(),
        });
    }
    groups.sort_by_key(|g| (g.start, g.end));
    groups
}

/// Step 3, second half: overlapping or touching incidents are one outage for the time
/// methods; the weighted methods keep them apart (their rates add up) unless
/// `merge_gap` says; incidents closer than `merge_gap` are joined with the gap.
fn merge_close_incidents(groups: Vec<Group>, m: &Measurement, tr: &mut Vec<String>) -> Vec<Group> {
    let weighted = matches!(
        m.method,
        Method::ErrorRateSlices { .. } | Method::UserWeighted { .. }
    );
    let gap_ms = m.merge_gap_ms.unwrap_or(0);
    let mut merged: Vec<Group> = Vec::new();
    for g in groups {
        if let Some(last) = merged.last_mut() {
            let gap = g.start - last.end;
            let join = (m.merge_gap_ms.is_some() && gap < gap_ms) || (!weighted && gap <= 0);
            if join {
                if gap > 0 {
                    tr.push(format!(
                        "Incidents {} and {} are {} apart (< merge gap {}) -> joined with the gap.",
                        last.members
                            .iter()
                            .map(|x| (x + 1).to_string())
                            .collect::<Vec<_>>()
                            .join("+"),
                        g.members[0] + 1,
                        human(gap),
                        human(gap_ms)
                    ));
                }
                last.end = last.end.max(g.end);
                last.members.extend(g.members);
                last.error_rate = num::max(last.error_rate.clone(), g.error_rate);
                last.impact = num::max(last.impact.clone(), g.impact);
                continue;
            }
        }
        merged.push(g);
    }
    merged
}

/// Step 4, first half: the announced maintenance the plan excludes (enough notice,
/// inside the recurring slots, within the yearly budget), as one set of intervals.
fn qualifying_maintenance(
    rule: &MaintenanceRule,
    tz: &TimeZone,
    maintenance: &[MaintenanceWindow],
    period: &Period,
    tr: &mut Vec<String>,
) -> Result<Intervals, SlaError> {
    let mut carve = Intervals::empty();
    if maintenance.is_empty() {
        return Ok(carve);
    }
    if !rule.excluded {
        tr.push("Maintenance is not excluded by this plan: announced windows still count.".into());
        return Ok(carve);
    }
    let mut windows: Vec<_> = maintenance.iter().collect();
    windows.sort_by_key(|w| (w.start, w.end));
    let mut used: BTreeMap<i16, i64> = BTreeMap::new();
    for w in windows {
        let (s, e) = (w.start.0, w.end.0);
        if s >= period.end {
            continue;
        }
        let notice = w.announced_at.map(|a| s - a.0);
        let ok = match notice {
            Some(n) => n >= rule.min_notice_ms,
            None => rule.min_notice_ms == 0,
        };
        if !ok {
            tr.push(format!(
                "Maintenance {} -> {}: notice {} < {} -> not excluded.",
                ts(s),
                ts(e),
                notice.map_or("unknown".into(), human),
                human(rule.min_notice_ms)
            ));
            continue;
        }
        let mut part = Intervals::single(s, e);
        if !rule.recurring.is_empty() {
            let mut slots = Intervals::empty();
            for r in &rule.recurring {
                slots = slots.union(&period::weekly(r, s, e)?);
            }
            let inside = part.intersect(&slots);
            if inside.measure() < part.measure() {
                tr.push(format!(
                    "Maintenance {} -> {}: only {} falls inside the recurring slots.",
                    ts(s),
                    ts(e),
                    human(inside.measure())
                ));
            }
            part = inside;
        }
        if let Some(budget) = rule.max_per_year_ms {
            let year = period::local_date(s, tz).year();
            let spent = used.entry(year).or_insert(0);
            let left = (budget - *spent).max(0);
            if part.measure() > left {
                tr.push(format!(
                    "Maintenance {} -> {}: the yearly budget of {} has {} left -> only that is excluded.",
                    ts(s),
                    ts(e),
                    human(budget),
                    human(left)
                ));
                part = part.prefix(left);
            }
            *spent += part.measure();
        }
        if part.is_empty() {
            continue;
        }
        if e > period.start {
            tr.push(format!(
                "Maintenance {} -> {} (notice {}): {} excluded.",
                ts(s),
                ts(e),
                notice.map_or("not needed".into(), human),
                human(part.measure())
            ));
        }
        carve = carve.union(&part);
    }
    if let Some(b) = rule.max_per_year_ms {
        for (y, spent) in &used {
            tr.push(format!(
                "Scheduled downtime excluded in {y}: {} of {}.",
                human(*spent),
                human(b)
            ));
        }
    }
    Ok(carve)
}

/// A piece of an incident: (index of its group, start, end).
type Fragment = (usize, i64, i64);

/// Step 4, second half: the qualifying maintenance cut out of every incident, which
/// leaves fragments.
fn cut_maintenance(groups: &[Group], carve: &Intervals) -> Vec<Fragment> {
    let mut frags: Vec<Fragment> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        for (s, e) in Intervals::single(g.start, g.end).subtract(carve).iter() {
            frags.push((gi, s, e));
        }
    }
    frags
}

/// Step 5: fragments shorter than `min_incident` dropped, judged whole before clipping
/// (so an outage across the period's edge is not lost); marks the groups that lost one
/// inside the period in `too_short`.
fn drop_short_fragments(
    mut frags: Vec<Fragment>,
    min: Option<MinIncident>,
    period: &Period,
    groups: &[Group],
    too_short: &mut [bool],
    tr: &mut Vec<String>,
) -> Vec<Fragment> {
    let Some(min) = min else {
        return frags;
    };
    frags.retain(|&(gi, s, e)| {
        let len = e - s;
        let short = if min.exclusive {
            len <= min.ms
        } else {
            len < min.ms
        };
        if short && e > period.start && s < period.end {
            tr.push(format!(
                "Fragment {} -> {} of incident {} lasts {} {} {} -> dropped.",
                ts(s),
                ts(e),
                groups[gi].members[0] + 1,
                human(len),
                if min.exclusive { "<=" } else { "<" },
                human(min.ms)
            ));
            too_short[gi] = true;
        }
        !short
    });
    frags
}

/// Step 6: each fragment rounded to whole clock minutes (start up, end down) when the
/// plan says so; marks the groups that lost one inside the period in `rounded`.
fn round_fragments(
    frags: Vec<Fragment>,
    rounding: FragmentRounding,
    period: &Period,
    rounded: &mut [bool],
    tr: &mut Vec<String>,
) -> Vec<Fragment> {
    if rounding != FragmentRounding::WholeClockMinutes {
        return frags;
    }
    let frags = frags
        .into_iter()
        .filter_map(|(gi, s, e)| {
            let s2 = s.div_euclid(MINUTE_MS) * MINUTE_MS
                + if s.rem_euclid(MINUTE_MS) == 0 {
                    0
                } else {
                    MINUTE_MS
                };
            let e2 = e.div_euclid(MINUTE_MS) * MINUTE_MS;
            if s2 >= e2 && e > period.start && s < period.end {
                rounded[gi] = true;
            }
            (s2 < e2).then_some((gi, s2, e2))
        })
        .collect();
    tr.push("Fragments rounded to whole clock minutes (start up, end down).".into());
    frags
}

/// Step 7: every fragment clipped to the domain, into its group's counted time: an
/// incident across two periods counts in each for its own part.
fn clip_to_domain(frags: &[Fragment], domain: &Intervals, groups: &mut [Group]) {
    for (gi, s, e) in frags {
        let piece = Intervals::single(*s, *e).intersect(domain);
        groups[*gi].counted = groups[*gi].counted.union(&piece);
    }
}

/// What step 8 found: the no-data time inside the domain, and what of it counts as down.
struct NoData {
    /// No-data time inside the domain (before the policy applies).
    gaps: Intervals,
    /// The no-data time counted as down (policy `as_down`), else empty.
    gap_pieces: Intervals,
    /// `gaps`' length, ms.
    no_data_ms: i64,
}

/// Step 8: time without data per `missing_data`: `exclude` takes it out of the
/// domain and of downtime, `as_up` out of downtime, `as_down` counts it as down.
fn apply_missing_data(
    policy: MissingData,
    tl: &Timeline,
    domain: &mut Intervals,
    groups: &mut [Group],
    tr: &mut Vec<String>,
) -> NoData {
    let gaps = Intervals::of(tl.gaps.iter().map(|g| (g.start.0, g.end.0))).intersect(domain);
    let no_data_ms = gaps.measure();
    let mut gap_pieces = Intervals::empty();
    if !gaps.is_empty() {
        match policy {
            MissingData::Exclude => {
                *domain = domain.subtract(&gaps);
                for g in groups.iter_mut() {
                    g.counted = g.counted.subtract(&gaps);
                }
                tr.push(format!("No data for {} (policy exclude): removed from the measured time and from downtime.", human(no_data_ms)));
            }
            MissingData::AsUp => {
                for g in groups.iter_mut() {
                    g.counted = g.counted.subtract(&gaps);
                }
                tr.push(format!(
                    "No data for {} (policy as_up): counted as up.",
                    human(no_data_ms)
                ));
            }
            MissingData::AsDown => {
                gap_pieces = gaps.clone();
                tr.push(format!(
                    "No data for {} (policy as_down): counted as down.",
                    human(no_data_ms)
                ));
            }
        }
    }
    NoData {
        gaps,
        gap_pieces,
        no_data_ms,
    }
}

/// What `record_outcomes` needs to say why an incident counts for nothing.
struct Fates<'a> {
    period: &'a Period,
    carve: &'a Intervals,
    too_short: &'a [bool],
    rounded: &'a [bool],
    min_ms: Option<i64>,
    /// The domain after step 7, before missing data.
    domain: &'a Intervals,
    business_hours: bool,
    gaps: &'a Intervals,
    missing_data: MissingData,
}

/// After step 8: each timeline incident's counted time (merged incidents share their
/// group's), and for those left with nothing, why.
fn record_outcomes(
    groups: &[Group],
    tl: &Timeline,
    f: &Fates<'_>,
    outcomes: &mut [IncidentOutcome],
    tr: &mut Vec<String>,
) {
    for (gi, g) in groups.iter().enumerate() {
        let ms = int(g.counted.measure());
        for &i in &g.members {
            outcomes[i].counted_ms = ms.clone();
        }
        let first = g.members[0];
        let o = &tl.incidents[first];
        if g.counted.is_empty() {
            if o.end.0 <= f.period.start || o.start.0 >= f.period.end {
                for &i in &g.members {
                    outcomes[i]
                        .excluded
                        .get_or_insert_with(|| "outside the period".into());
                }
            } else {
                let why = nothing_left_reason(&NothingLeft {
                    whole: Intervals::single(g.start, g.end).clip(f.period.start, f.period.end),
                    carve: f.carve,
                    too_short: f.too_short[gi],
                    min_ms: f.min_ms,
                    rounded: f.rounded[gi],
                    domain: f.domain,
                    business_hours: f.business_hours,
                    gaps: f.gaps,
                    missing_data: f.missing_data,
                });
                for &i in &g.members {
                    outcomes[i].excluded.get_or_insert_with(|| why.clone());
                }
            }
        } else {
            tr.push(format!(
                "Incident {} ({} -> {}): {} counted in the period.",
                g.members
                    .iter()
                    .map(|x| (x + 1).to_string())
                    .collect::<Vec<_>>()
                    .join("+"),
                ts(g.start),
                ts(g.end),
                human(g.counted.measure())
            ));
        }
    }
}

/// Step 10: availability = 1 - D/T, exact; none when nothing was measured.
fn availability(d: &Q, t: &Q, tr: &mut Vec<String>) -> Option<Q> {
    let availability = (!t.is_zero()).then(|| Q::one() - d / t);
    match &availability {
        Some(a) => tr.push(format!(
            "A = 1 - {}/{} min = {} -> {} %.",
            num::minutes(d),
            num::minutes(t),
            num::fixed(a, 10),
            num::fixed(&(a * int(100)), 4)
        )),
        None => tr.push("Nothing was measured in this period: no availability, no breach.".into()),
    }
    availability
}

/// Step 11: the breach per `breach_if`; never without an availability.
fn breach(
    objective: &Objective,
    availability: Option<&Q>,
    d: &Q,
    t: &Q,
    tr: &mut Vec<String>,
) -> bool {
    let hundred = int(100);
    match (availability, &objective.breach_if) {
        (None, _) => false,
        (Some(a), BreachIf::AvailabilityLtTarget) => {
            let b = a * &hundred < dec(objective.target);
            tr.push(format!(
                "{} % {} {} % target -> {}.",
                num::fixed(&(a * &hundred), 4),
                if b { "<" } else { ">=" },
                objective.target,
                if b { "breach" } else { "no breach" }
            ));
            b
        }
        (Some(_), BreachIf::DowntimeGtPct(p)) => {
            let share = d / t * &hundred;
            let b = share > dec(*p);
            tr.push(format!(
                "Downtime = {} % of the measured time {} {p} % -> {}.",
                num::fixed(&share, 4),
                if b { ">" } else { "<=" },
                if b { "breach" } else { "no breach" }
            ));
            b
        }
        (Some(_), BreachIf::AnyDowntime) => {
            let b = d.is_positive();
            tr.push(format!(
                "Any downtime is a breach: {} -> {}.",
                num::minutes(d) + " min",
                if b { "breach" } else { "no breach" }
            ));
            b
        }
    }
}

/// Step 9: D and T in milliseconds (D weighted for the weighted methods).
fn measure(
    m: &Measurement,
    period: &Period,
    domain: &Intervals,
    groups: &[Group],
    gap_pieces: &Intervals,
    tr: &mut Vec<String>,
) -> Result<(Q, Q), SlaError> {
    let down = groups
        .iter()
        .fold(Intervals::empty(), |acc, g| acc.union(&g.counted))
        .union(gap_pieces);
    Ok(match m.method {
        Method::Time => {
            let (d, t) = (down.measure(), domain.measure());
            tr.push(format!(
                "Measure (time): D = {} min, T = {} min.",
                num::minutes(&int(d)),
                num::minutes(&int(t))
            ));
            (int(d), int(t))
        }
        Method::UserWeighted { .. } => {
            let d = user_weighted_downtime(groups, gap_pieces);
            let t = domain.measure();
            tr.push(format!(
                "Measure (user_weighted): D = sum of minutes x share of users affected = {} min, T = {} min.",
                num::minutes(&d),
                num::minutes(&int(t))
            ));
            (d, int(t))
        }
        Method::TimeSlices { slice_ms, bad_if } => {
            let slices = Slices::new(period, domain, slice_ms)?;
            let t = domain.measure();
            let (judge, profile) = match bad_if {
                SliceBadIf::Any => (Judge::Any, Profile::of_set(&down)),
                SliceBadIf::Full => (Judge::Full, Profile::of_set(&down)),
                SliceBadIf::ErrorRateGt => (
                    Judge::RateGt(m.down_if_error_rate_gt.map_or_else(Q::zero, dec)),
                    Profile::of_rates(groups, gap_pieces),
                ),
            };
            let (bad, d) = slices.tally(&profile, &judge);
            tr.push(format!(
                "Measure (time slices of {}, bad if {}, cut at the edges of the measured time): {} bad slices = {} min of {} slices = {} min.",
                human(slice_ms),
                match bad_if {
                    SliceBadIf::Any => "any downtime",
                    SliceBadIf::Full => "down throughout",
                    SliceBadIf::ErrorRateGt => "error rate above the threshold",
                },
                bad,
                num::minutes(&d),
                slices.count(),
                num::minutes(&int(t))
            ));
            if m.min_requests_per_slice.is_some() {
                tr.push(
                    "min_requests_per_slice is not applied: a timeline carries no request counts."
                        .into(),
                );
            }
            (d, int(t))
        }
        Method::ErrorRateSlices { slice_ms } => {
            let slices = Slices::new(period, domain, slice_ms)?;
            let t = domain.measure();
            let (_, d) = slices.tally(&Profile::of_rates(groups, gap_pieces), &Judge::RateCapped);
            tr.push(format!(
                "Measure (error-rate slices of {}, cut at the edges of the measured time): D = sum of min(1, error rate x overlap / slice) x slice = {} min, T = {} min.",
                human(slice_ms),
                num::minutes(&d),
                num::minutes(&int(t))
            ));
            (d, int(t))
        }
    })
}

/// The shortest slice a plan may use (SLA-MODEL.md section 5).
pub const MIN_SLICE_MS: i64 = 1_000;
/// The most slices a period may hold (SLA-MODEL.md section 5).
pub const MAX_SLICES: i64 = 10_000_000;

/// Checks that `span_ms` (called `what` in the message) holds at most [`MAX_SLICES`]
/// slices of `len` ms; the error names `measurement.slice`, the limit and the shortest
/// slice that fits, in whole seconds.
pub fn check_slices(span_ms: i64, len: i64, what: &str) -> Result<(), String> {
    let up = |a: i64, b: i64| a / b + i64::from(a % b != 0);
    let count = up(span_ms, len.max(1));
    if count > MAX_SLICES {
        let shortest = up(up(span_ms, MAX_SLICES), 1_000);
        return Err(format!(
            "measurement.slice {} cuts {what} into {count} slices, more than the limit of 10000000: write a slice of at least \"PT{shortest}S\"",
            human(len)
        ));
    }
    Ok(())
}

/// Downtime as a step function: disjoint segments `(start, end, rate)`, sorted, each
/// with a positive rate (the sum of the error rates of what covers it; 1 for a set).
struct Profile(Vec<(i64, i64, Q)>);

impl Profile {
    /// A set of downtime at rate 1.
    fn of_set(set: &Intervals) -> Self {
        Profile(set.iter().map(|(s, e)| (s, e, Q::one())).collect())
    }

    /// The counted time of every group at its error rate, gaps (as_down) at rate 1,
    /// overlapping ones adding up.
    fn of_rates(groups: &[Group], gap_pieces: &Intervals) -> Self {
        let mut events: Vec<(i64, Q)> = Vec::new();
        let one = Q::one();
        let sets = groups
            .iter()
            .map(|g| (&g.counted, &g.error_rate))
            .chain(std::iter::once((gap_pieces, &one)));
        for (set, rate) in sets {
            for (s, e) in set.iter() {
                events.push((s, rate.clone()));
                events.push((e, -rate.clone()));
            }
        }
        events.sort_by_key(|(t, _)| *t);
        let mut out = Vec::new();
        let mut rate = Q::zero();
        for (k, (t, delta)) in events.iter().enumerate() {
            rate += delta;
            if let Some((next, _)) = events.get(k + 1)
                && *next > *t
                && rate.is_positive()
            {
                out.push((*t, *next, rate.clone()));
            }
        }
        Profile(out)
    }
}

/// `user_weighted` downtime: the integral over time of the share of users
/// affected, where the shares of incidents at the same instant add up (as error
/// rates do) but never beyond all users, and no-data counted as down is all users.
/// Summing each incident's minutes x share on its own counted overlapping
/// incidents twice: D could exceed T and availability go below zero.
fn user_weighted_downtime(groups: &[Group], gap_pieces: &Intervals) -> Q {
    let mut edges: Vec<(i64, Q)> = Vec::new();
    let pieces = groups
        .iter()
        .flat_map(|g| g.counted.iter().map(move |p| (p, g.impact.clone())))
        .chain(gap_pieces.iter().map(|p| (p, Q::one())));
    for ((start, end), share) in pieces {
        edges.push((end, -share.clone()));
        edges.push((start, share));
    }
    edges.sort_by_key(|(t, _)| *t);
    let (mut d, mut share, mut at) = (Q::zero(), Q::zero(), i64::MIN);
    for (t, delta) in edges {
        if t > at && share > Q::zero() {
            d += int(t - at) * num::min(Q::one(), share.clone());
        }
        share += delta;
        at = t;
    }
    d
}

/// How a piece of a slice is judged.
enum Judge {
    /// Bad if any of it is down.
    Any,
    /// Bad if all of it is down.
    Full,
    /// Bad if its error rate is above this.
    RateGt(Q),
    /// Counts min(1, its error rate) of its length.
    RateCapped,
}

impl Judge {
    /// (bad, counted downtime) of a piece of `len` ms holding `covered` ms of downtime
    /// whose rate-weighted sum is `sum`.
    fn piece(&self, len: i64, covered: i64, sum: &Q) -> (bool, Q) {
        let whole = |b: bool| (b, if b { int(len) } else { Q::zero() });
        match self {
            Judge::Any => whole(covered > 0),
            Judge::Full => whole(covered == len),
            Judge::RateGt(th) => whole(*sum > th * int(len)),
            Judge::RateCapped => (sum.is_positive(), num::min(sum.clone(), int(len))),
        }
    }
}

/// Slices aligned to the period start, cut at every edge of the measured domain
/// (SLA-MODEL.md section 5): a "piece" is a maximal interval of one slice inside the
/// domain, and it counts only its own length.
///
/// Invariant: slices are never materialised. Inside a segment of constant downtime
/// rate every piece is judged alike, so a run of them is counted in closed form;
/// only the slices holding a segment's edge are looked at piece by piece. Time and
/// memory follow the number of incidents, not the number of slices.
struct Slices {
    start: i64,
    end: i64,
    len: i64,
    /// The domain inside the period, sorted.
    domain: Vec<(i64, i64)>,
}

impl Slices {
    /// Refuses a slice shorter than [`MIN_SLICE_MS`] or a period of more than
    /// [`MAX_SLICES`] slices.
    fn new(period: &Period, domain: &Intervals, len: i64) -> Result<Self, SlaError> {
        if len < MIN_SLICE_MS {
            return Err(SlaError::Input(format!(
                "measurement.slice {} is shorter than the limit of 1 s: write \"PT1S\" or longer, such as \"PT1M\"",
                human(len)
            )));
        }
        check_slices(
            period.end - period.start,
            len,
            &format!("the period {}", period.label),
        )
        .map_err(SlaError::Input)?;
        Ok(Slices {
            start: period.start,
            end: period.end,
            len,
            domain: domain.clip(period.start, period.end).iter().collect(),
        })
    }

    /// The index of the slice holding instant `t`.
    fn index(&self, t: i64) -> i64 {
        (t - self.start).div_euclid(self.len)
    }

    /// The start of slice `i`, clamped to the period.
    fn edge(&self, i: i64) -> i64 {
        (self.start + i * self.len).clamp(self.start, self.end)
    }

    /// The domain's intervals inside `[s, e)`.
    fn domain_in(&self, s: i64, e: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let from = self.domain.partition_point(|&(_, de)| de <= s);
        self.domain[from..]
            .iter()
            .take_while(move |&&(ds, _)| ds < e)
            .map(move |&(ds, de)| (ds.max(s), de.min(e)))
    }

    /// How many pieces lie in `[s, e)` (computed, not enumerated).
    fn count_in(&self, s: i64, e: i64) -> i64 {
        self.domain_in(s, e)
            .map(|(a, b)| self.index(b - 1) - self.index(a) + 1)
            .sum()
    }

    /// How many pieces the domain holds.
    fn count(&self) -> i64 {
        self.count_in(self.start, self.end)
    }

    /// (bad pieces, counted downtime in ms) over the whole period.
    fn tally(&self, profile: &Profile, judge: &Judge) -> (i64, Q) {
        let segs = &profile.0;
        let (mut bad, mut d) = (0_i64, Q::zero());
        // Slices holding an edge of a segment: judged piece by piece.
        let mut edges: Vec<i64> = Vec::with_capacity(segs.len() * 2);
        for (s, e, rate) in segs {
            let (first, last) = (self.index(*s), self.index(*e - 1));
            edges.extend([first, last]);
            // The slices strictly between lie wholly inside this segment.
            if last > first + 1 {
                let (rs, re) = (self.edge(first + 1), self.edge(last));
                let (n, len) = (
                    self.count_in(rs, re),
                    self.domain_in(rs, re).map(|(a, b)| b - a).sum::<i64>(),
                );
                // One piece of the run stands for all: same rate, fully covered.
                let (is_bad, _) = judge.piece(1, 1, rate);
                let share = match judge {
                    Judge::RateCapped => num::min(rate.clone(), Q::one()),
                    _ if is_bad => Q::one(),
                    _ => Q::zero(),
                };
                if is_bad {
                    bad += n;
                }
                d += share * int(len);
            }
        }
        edges.sort_unstable();
        edges.dedup();
        for i in edges {
            let (s, e) = (self.edge(i), self.edge(i + 1));
            for (ps, pe) in self.domain_in(s, e) {
                let from = segs.partition_point(|(_, se, _)| *se <= ps);
                let (mut covered, mut sum) = (0_i64, Q::zero());
                for (ss, se, rate) in segs[from..].iter().take_while(|(ss, _, _)| *ss < pe) {
                    let over = se.min(&pe) - ss.max(&ps);
                    covered += over;
                    sum += rate * int(over);
                }
                let (is_bad, counted) = judge.piece(pe - ps, covered, &sum);
                if is_bad {
                    bad += 1;
                }
                d += counted;
            }
        }
        (bad, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::num::HOUR_MS;

    const H: i64 = HOUR_MS;

    #[test]
    fn a_dropped_incident_names_every_step_that_took_its_time() {
        let whole = Intervals::single(0, 10 * H);
        let none = Intervals::empty();
        let all = Intervals::single(-H, 11 * H);
        let first_half = Intervals::single(0, 5 * H);
        let second_half = Intervals::single(5 * H, 10 * H);
        let n = |carve: &Intervals, gaps: &Intervals, too_short: bool, md: MissingData| {
            nothing_left_reason(&NothingLeft {
                whole: whole.clone(),
                carve,
                too_short,
                min_ms: Some(5 * MINUTE_MS),
                rounded: false,
                domain: &all,
                business_hours: false,
                gaps,
                missing_data: md,
            })
        };
        assert_eq!(
            n(&none, &all, false, MissingData::Exclude),
            "all its time in the period fell in time without data, which policy 'exclude' leaves out of the measured time"
        );
        assert_eq!(
            n(&all, &none, false, MissingData::Exclude),
            "all its time in the period fell in announced maintenance, which the plan excludes"
        );
        assert_eq!(
            n(&first_half, &second_half, false, MissingData::AsUp),
            "nothing left after excluded maintenance and time without data, which policy 'as_up' counts as up"
        );
        assert_eq!(
            n(&none, &none, true, MissingData::Exclude),
            "nothing left after the minimum length of 5 min"
        );
        // Under as_down no data is downtime: it never takes an incident's time.
        assert_eq!(
            n(&first_half, &second_half, false, MissingData::AsDown),
            "nothing left after excluded maintenance"
        );
    }

    fn april() -> Period {
        Period {
            label: "2024-04".into(),
            start: 1_711_929_600_000,
            end: 1_711_929_600_000 + 30 * 24 * H,
            first_day: jiff::civil::date(2024, 4, 1),
            end_day: jiff::civil::date(2024, 5, 1),
            months: Some(1),
        }
    }

    fn minutes(q: &Q) -> Q {
        q / int(MINUTE_MS)
    }

    #[test]
    fn a_gap_inside_a_slice_cuts_it_in_two_pieces() {
        let p = april();
        let (g0, g1) = (
            p.start + 8 * H + 20 * MINUTE_MS,
            p.start + 8 * H + 40 * MINUTE_MS,
        );
        let domain = Intervals::single(p.start, p.end).subtract(&Intervals::single(g0, g1));
        let s = Slices::new(&p, &domain, H).unwrap();
        assert_eq!(s.count(), 30 * 24 + 1);
        // Downtime before the gap makes only the piece before it bad.
        let down = Intervals::single(p.start + 8 * H, p.start + 8 * H + 10 * MINUTE_MS);
        let (bad, d) = s.tally(&Profile::of_set(&down), &Judge::Any);
        assert_eq!((bad, minutes(&d)), (1, int(20)));
        // Across two slices: 07:00-08:00, 08:00-08:20 and 08:40-09:00 are bad.
        let down = Intervals::single(p.start + 7 * H + 50 * MINUTE_MS, g1 + MINUTE_MS);
        let (bad, d) = s.tally(&Profile::of_set(&down), &Judge::Any);
        assert_eq!((bad, minutes(&d)), (3, int(100)));
        // Only the piece 08:00-08:20 is down throughout.
        let (bad, d) = s.tally(&Profile::of_set(&down), &Judge::Full);
        assert_eq!((bad, minutes(&d)), (1, int(20)));
    }

    #[test]
    fn a_long_outage_is_counted_without_visiting_every_slice() {
        let p = april();
        // Business hours 09:00-17:30 every day: a month-long outage at rate 1/2.
        let hours = Intervals::of((0..30).map(|k| {
            let day = p.start + k * 24 * H;
            (day + 9 * H, day + 17 * H + 30 * MINUTE_MS)
        }));
        let s = Slices::new(&p, &hours, 1_000).unwrap();
        assert_eq!(s.count(), 30 * 510 * 60);
        let g = Group {
            members: vec![0],
            start: p.start,
            end: p.end,
            error_rate: num::ratio(1, 2),
            impact: Q::one(),
            counted: hours.clone(),
        };
        let profile = Profile::of_rates(std::slice::from_ref(&g), &Intervals::empty());
        let (_, d) = s.tally(&profile, &Judge::RateCapped);
        assert_eq!(minutes(&d), int(30 * 255));
        let (bad, d) = s.tally(&profile, &Judge::RateGt(num::ratio(1, 4)));
        assert_eq!((bad, minutes(&d)), (30 * 510 * 60, int(30 * 510)));
        let (bad, _) = s.tally(&profile, &Judge::RateGt(num::ratio(1, 2)));
        assert_eq!(bad, 0);
    }

    #[test]
    fn overlapping_rates_add_up_and_a_cut_piece_caps_at_its_length() {
        let p = april();
        // The service ends at 00:30 of the last day: the last slice is 30 minutes long.
        let end = p.end - 24 * H + 30 * MINUTE_MS;
        let domain = Intervals::single(p.start, end);
        let s = Slices::new(&p, &domain, H).unwrap();
        let group = |from: i64, rate: Q| Group {
            members: vec![0],
            start: from,
            end,
            error_rate: rate,
            impact: Q::one(),
            counted: Intervals::single(from, end),
        };
        // 0.5 over the last 20 min + 0.75 over the last 30 min = 10 + 22.5 = 32.5 min
        // of error in a 30-min piece: capped at 30.
        let gs = [
            group(end - 20 * MINUTE_MS, num::ratio(1, 2)),
            group(end - 30 * MINUTE_MS, num::ratio(3, 4)),
        ];
        let (_, d) = s.tally(
            &Profile::of_rates(&gs, &Intervals::empty()),
            &Judge::RateCapped,
        );
        assert_eq!(minutes(&d), int(30));
        let (_, d) = s.tally(
            &Profile::of_rates(&gs[..1], &Intervals::empty()),
            &Judge::RateCapped,
        );
        assert_eq!(minutes(&d), int(10));
    }

    /// Every piece enumerated and judged one by one: the reading, spelled out.
    fn naive(s: &Slices, profile: &Profile, judge: &Judge) -> (i64, Q) {
        let (mut bad, mut d) = (0, Q::zero());
        for i in 0..=s.index(s.end - 1) {
            for (ps, pe) in s.domain_in(s.edge(i), s.edge(i + 1)) {
                let (mut covered, mut sum) = (0, Q::zero());
                for (ss, se, r) in &profile.0 {
                    let over = (*se).min(pe) - (*ss).max(ps);
                    if over > 0 {
                        covered += over;
                        sum += r * int(over);
                    }
                }
                let (b, c) = judge.piece(pe - ps, covered, &sum);
                bad += i64::from(b);
                d += c;
            }
        }
        (bad, d)
    }

    proptest::proptest! {
        #[test]
        fn the_closed_form_agrees_with_judging_every_piece(
            holes in proptest::collection::vec((0i64..2_000, 1i64..90), 0..8),
            downs in proptest::collection::vec((0i64..2_000, 1i64..300, 0u8..4), 0..6),
            slice in 1i64..40,
            th in 0u8..4,
        ) {
            // Minutes in a 2000-min period; slices of 1..40 min.
            let p = Period { end: april().start + 2_000 * MINUTE_MS, ..april() };
            let at = |m: i64| p.start + m * MINUTE_MS;
            let domain = Intervals::single(p.start, p.end)
                .subtract(&Intervals::of(holes.iter().map(|&(s, l)| (at(s), at(s + l)))));
            let s = Slices::new(&p, &domain, slice * MINUTE_MS).unwrap();
            let groups: Vec<Group> = downs
                .iter()
                .map(|&(st, l, r)| Group {
                    members: vec![0],
                    start: at(st),
                    end: at(st + l),
                    error_rate: num::ratio(i64::from(r) + 1, 4),
                    impact: Q::one(),
                    counted: Intervals::single(at(st), at(st + l)).intersect(&domain),
                })
                .collect();
            let down = groups.iter().fold(Intervals::empty(), |a, g| a.union(&g.counted));
            let rates = Profile::of_rates(&groups, &Intervals::empty());
            let set = Profile::of_set(&down);
            for (profile, judge) in [
                (&set, Judge::Any),
                (&set, Judge::Full),
                (&rates, Judge::RateGt(num::ratio(i64::from(th), 4))),
                (&rates, Judge::RateCapped),
            ] {
                let (nb, nd) = naive(&s, profile, &judge);
                let (tb, td) = s.tally(profile, &judge);
                proptest::prop_assert_eq!(&td, &nd);
                if !matches!(judge, Judge::RateCapped) {
                    proptest::prop_assert_eq!(tb, nb);
                }
            }
        }
    }

    #[test]
    fn slice_bounds_name_the_key_and_the_limit() {
        assert!(check_slices(31 * 24 * H, 1_000, "a month").is_ok());
        assert!(check_slices(MAX_SLICES * 1_000, 1_000, "x").is_ok());
        let e = check_slices(MAX_SLICES * 1_000 + 1, 1_000, "x").unwrap_err();
        assert!(
            e.starts_with(
                "measurement.slice 1 s cuts x into 10000001 slices, more than the limit of 10000000"
            ),
            "{e}"
        );
        assert!(Slices::new(&april(), &Intervals::empty(), 999).is_err());
    }

    // One test per step of `evaluate`, each from in-memory inputs.

    const A0: i64 = 1_711_929_600_000; // 2024-04-01T00:00Z, a Monday

    fn utc_month() -> Window {
        Window {
            kind: super::super::plan::WindowKind::CalendarMonth,
            timezone_name: "UTC".into(),
            timezone: TimeZone::UTC,
            partial_period: PartialPeriod::Prorate,
            business_hours: None,
        }
    }

    fn time_method() -> Measurement {
        Measurement::plain_time()
    }

    fn at(ms: i64) -> crate::model::UtcMillis {
        crate::model::UtcMillis(ms)
    }

    /// An incident from hour `s` to hour `e` of April.
    fn inc(s: i64, e: i64) -> super::super::timeline::Incident {
        super::super::timeline::Incident {
            start: at(A0 + s * H),
            end: at(A0 + e * H),
            ..Default::default()
        }
    }

    fn group(members: &[usize], s: i64, e: i64) -> Group {
        Group {
            members: members.to_vec(),
            start: A0 + s * H,
            end: A0 + e * H,
            error_rate: Q::one(),
            impact: Q::one(),
            counted: Intervals::empty(),
        }
    }

    fn apr_spec() -> PeriodSpec {
        PeriodSpec::Month {
            year: 2024,
            month: 4,
        }
    }

    #[test]
    fn step1_resolve_period_shortens_the_domain_to_the_service_s_life_only_when_prorated() {
        let tl = Timeline {
            service_start: Some(at(A0 + 10 * 24 * H)),
            ..Default::default()
        };
        let mut tr = Vec::new();
        let (p, d) = resolve_period(&utc_month(), apr_spec(), None, &tl, &mut tr).unwrap();
        assert_eq!((p.start, p.end), (A0, A0 + 30 * 24 * H));
        assert_eq!(d.measure(), 20 * 24 * H);
        assert_eq!(tr.len(), 2, "{tr:?}");
        let full = Window {
            partial_period: PartialPeriod::Full,
            ..utc_month()
        };
        let (_, d) = resolve_period(&full, apr_spec(), None, &tl, &mut tr).unwrap();
        assert_eq!(d.measure(), 30 * 24 * H);
    }

    #[test]
    fn step2_measured_domain_keeps_only_business_hours() {
        let mut tr = Vec::new();
        let period = april();
        let whole = Intervals::single(period.start, period.end);
        let same = measured_domain(&utc_month(), &period, whole.clone(), &mut tr).unwrap();
        assert_eq!(same, whole);
        assert!(tr.is_empty(), "no business hours, no line: {tr:?}");
        use jiff::civil::{Weekday, time};
        let office = Window {
            business_hours: Some(super::super::plan::WeeklyHours {
                timezone_name: "UTC".into(),
                timezone: TimeZone::UTC,
                days: vec![
                    Weekday::Monday,
                    Weekday::Tuesday,
                    Weekday::Wednesday,
                    Weekday::Thursday,
                    Weekday::Friday,
                ],
                start: time(9, 0, 0, 0),
                end: time(17, 0, 0, 0),
                end_of_day: false,
                holidays: vec![],
            }),
            ..utc_month()
        };
        let d = measured_domain(&office, &period, whole, &mut tr).unwrap();
        // April 2024 has 22 weekdays of 8 hours.
        assert_eq!(d.measure(), 22 * 8 * H);
        assert_eq!(tr.len(), 1);
    }

    #[test]
    fn step3_select_incidents_drops_excluded_causes_low_rates_and_unreported_ones() {
        let mut m = time_method();
        m.down_if_error_rate_gt = Some(rust_decimal::Decimal::new(5, 1));
        let mut ddos = inc(1, 2);
        ddos.cause = Some("ddos".into());
        let mut low = inc(3, 4);
        low.error_rate = Some(rust_decimal::Decimal::new(2, 1));
        let tl = Timeline {
            incidents: vec![inc(20, 21), ddos, low, inc(5, 6)],
            ..Default::default()
        };
        let mut outcomes = fresh_outcomes(&tl);
        let mut tr = Vec::new();
        let groups = select_incidents(&m, &["ddos".into()], &tl, &mut outcomes, &mut tr);
        let kept: Vec<_> = groups.iter().map(|g| g.members.clone()).collect();
        assert_eq!(kept, vec![vec![3], vec![0]], "sorted by start");
        assert_eq!(
            outcomes[1].excluded.as_deref(),
            Some("cause 'ddos' excluded by the plan")
        );
        assert_eq!(
            outcomes[2].excluded.as_deref(),
            Some("error rate 0.2 at or below 0.5")
        );
        m.start_from = StartFrom::Reported;
        let mut outcomes = fresh_outcomes(&tl);
        let groups = select_incidents(&m, &[], &tl, &mut outcomes, &mut tr);
        assert!(groups.is_empty());
        assert_eq!(
            outcomes[0].excluded.as_deref(),
            Some("never reported, and the plan counts from the report")
        );
    }

    #[test]
    fn step3_merge_close_incidents_joins_overlaps_for_time_and_gaps_under_merge_gap() {
        let mut tr = Vec::new();
        let groups = || vec![group(&[0], 0, 2), group(&[1], 1, 3), group(&[2], 4, 5)];
        let m = time_method();
        let merged = merge_close_incidents(groups(), &m, &mut tr);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].members, vec![0, 1]);
        assert_eq!(merged[0].end, A0 + 3 * H);
        let weighted = Measurement {
            method: Method::UserWeighted { users: Some(10) },
            ..time_method()
        };
        assert_eq!(merge_close_incidents(groups(), &weighted, &mut tr).len(), 3);
        let gap = Measurement {
            merge_gap_ms: Some(2 * H),
            ..time_method()
        };
        let one = merge_close_incidents(groups(), &gap, &mut tr);
        assert_eq!(one.len(), 1, "1 h apart < 2 h merge gap");
        assert_eq!((one[0].start, one[0].end), (A0, A0 + 5 * H));
    }

    #[test]
    fn step4_qualifying_maintenance_needs_notice_and_fits_the_yearly_budget() {
        let period = april();
        let w = |s: i64, e: i64, notice_h: i64| MaintenanceWindow {
            start: at(A0 + s * H),
            end: at(A0 + e * H),
            announced_at: Some(at(A0 + s * H - notice_h * H)),
        };
        let windows = [w(10, 12, 48), w(20, 22, 1), w(30, 33, 48)];
        let mut tr = Vec::new();
        let off = MaintenanceRule::default();
        let none = qualifying_maintenance(&off, &TimeZone::UTC, &windows, &period, &mut tr);
        assert!(none.unwrap().is_empty());
        assert!(tr[0].contains("not excluded by this plan"), "{tr:?}");
        let rule = MaintenanceRule {
            excluded: true,
            min_notice_ms: 24 * H,
            max_per_year_ms: Some(3 * H),
            recurring: vec![],
        };
        let carve =
            qualifying_maintenance(&rule, &TimeZone::UTC, &windows, &period, &mut tr).unwrap();
        // The second lacks notice; the third gets only the budget's last hour.
        assert_eq!(
            carve,
            Intervals::of([(A0 + 10 * H, A0 + 12 * H), (A0 + 30 * H, A0 + 31 * H)])
        );
    }

    #[test]
    fn step4_cut_maintenance_splits_an_incident_around_a_window() {
        let groups = [group(&[0], 0, 10), group(&[1], 20, 21)];
        let carve = Intervals::single(A0 + 2 * H, A0 + 3 * H);
        assert_eq!(
            cut_maintenance(&groups, &carve),
            vec![
                (0, A0, A0 + 2 * H),
                (0, A0 + 3 * H, A0 + 10 * H),
                (1, A0 + 20 * H, A0 + 21 * H)
            ]
        );
    }

    #[test]
    fn step5_drop_short_fragments_honours_an_exclusive_minimum() {
        let groups = [group(&[0], 0, 1), group(&[1], 2, 3)];
        let frags = vec![(0, A0, A0 + 5 * MINUTE_MS), (1, A0 + 2 * H, A0 + 3 * H)];
        let mut tr = Vec::new();
        let mut short = vec![false; 2];
        let min = |exclusive| {
            Some(MinIncident {
                ms: 5 * MINUTE_MS,
                exclusive,
            })
        };
        let inclusive = drop_short_fragments(
            frags.clone(),
            min(false),
            &april(),
            &groups,
            &mut short,
            &mut tr,
        );
        assert_eq!(inclusive, frags, "5 min is not shorter than 5 min");
        assert_eq!(short, vec![false, false]);
        let kept = drop_short_fragments(frags, min(true), &april(), &groups, &mut short, &mut tr);
        assert_eq!(kept, vec![(1, A0 + 2 * H, A0 + 3 * H)]);
        assert_eq!(short, vec![true, false]);
    }

    #[test]
    fn step6_round_fragments_moves_starts_up_and_ends_down() {
        let mut tr = Vec::new();
        let mut rounded = vec![false; 2];
        let frags = vec![
            (0, A0 + 30_000, A0 + 3 * MINUTE_MS + 30_000),
            (1, A0 + H + 10_000, A0 + H + 50_000),
        ];
        let same = round_fragments(
            frags.clone(),
            FragmentRounding::None,
            &april(),
            &mut rounded,
            &mut tr,
        );
        assert_eq!(same, frags);
        let r = round_fragments(
            frags,
            FragmentRounding::WholeClockMinutes,
            &april(),
            &mut rounded,
            &mut tr,
        );
        assert_eq!(r, vec![(0, A0 + MINUTE_MS, A0 + 3 * MINUTE_MS)]);
        assert_eq!(rounded, vec![false, true]);
    }

    #[test]
    fn step7_clip_to_domain_counts_only_the_domain_s_part() {
        let mut groups = [group(&[0], 0, 10)];
        let domain = Intervals::of([(A0 + 2 * H, A0 + 4 * H), (A0 + 8 * H, A0 + 20 * H)]);
        clip_to_domain(&[(0, A0, A0 + 10 * H)], &domain, &mut groups);
        assert_eq!(groups[0].counted.measure(), 4 * H);
    }

    #[test]
    fn step8_apply_missing_data_per_policy() {
        let tl = Timeline {
            gaps: vec![super::super::timeline::Gap {
                start: at(A0 + H),
                end: at(A0 + 3 * H),
            }],
            ..Default::default()
        };
        let run = |policy| {
            let mut domain = Intervals::single(A0, A0 + 10 * H);
            let mut groups = [group(&[0], 0, 2)];
            groups[0].counted = Intervals::single(A0, A0 + 2 * H);
            let nd = apply_missing_data(policy, &tl, &mut domain, &mut groups, &mut Vec::new());
            (
                domain.measure() / H,
                groups[0].counted.measure() / H,
                nd.gap_pieces.measure() / H,
                nd.no_data_ms / H,
            )
        };
        assert_eq!(run(MissingData::Exclude), (8, 1, 0, 2));
        assert_eq!(run(MissingData::AsUp), (10, 1, 0, 2));
        assert_eq!(run(MissingData::AsDown), (10, 2, 2, 2));
    }

    #[test]
    fn record_outcomes_shares_a_group_s_time_and_says_why_nothing_counts() {
        let tl = Timeline {
            incidents: vec![inc(0, 2), inc(1, 3), inc(-5, -4)],
            ..Default::default()
        };
        let mut joined = group(&[0, 1], 0, 3);
        joined.counted = Intervals::single(A0, A0 + 3 * H);
        let before = group(&[2], -5, -4);
        let mut outcomes = fresh_outcomes(&tl);
        let period = april();
        let empty = Intervals::empty();
        record_outcomes(
            &[joined, before],
            &tl,
            &Fates {
                period: &period,
                carve: &empty,
                too_short: &[false, false],
                rounded: &[false, false],
                min_ms: None,
                domain: &Intervals::single(period.start, period.end),
                business_hours: false,
                gaps: &empty,
                missing_data: MissingData::Exclude,
            },
            &mut outcomes,
            &mut Vec::new(),
        );
        assert_eq!(outcomes[0].counted_ms, int(3 * H));
        assert_eq!(outcomes[1].counted_ms, int(3 * H));
        assert_eq!(outcomes[2].excluded.as_deref(), Some("outside the period"));
    }

    #[test]
    fn step10_availability_is_exact_and_absent_when_nothing_was_measured() {
        let mut tr = Vec::new();
        assert_eq!(availability(&int(1), &int(0), &mut tr), None);
        assert_eq!(
            availability(&int(1), &int(3), &mut tr),
            Some(num::ratio(2, 3))
        );
    }

    #[test]
    fn step11_breach_per_rule() {
        let objective = |breach_if| Objective {
            target: rust_decimal::Decimal::new(999, 1),
            breach_if,
        };
        let mut tr = Vec::new();
        let a = num::ratio(999, 1000);
        let lt = objective(BreachIf::AvailabilityLtTarget);
        assert!(
            !breach(&lt, Some(&a), &int(1), &int(1000), &mut tr),
            "99.9 is not < 99.9"
        );
        assert!(breach(
            &lt,
            Some(&num::ratio(998, 1000)),
            &int(2),
            &int(1000),
            &mut tr
        ));
        assert!(
            !breach(&lt, None, &int(0), &int(0), &mut tr),
            "nothing measured"
        );
        let pct = objective(BreachIf::DowntimeGtPct(rust_decimal::Decimal::new(1, 1)));
        assert!(!breach(&pct, Some(&a), &int(1), &int(1000), &mut tr));
        assert!(breach(&pct, Some(&a), &int(2), &int(1000), &mut tr));
        let any = objective(BreachIf::AnyDowntime);
        assert!(breach(&any, Some(&a), &int(1), &int(1000), &mut tr));
        assert!(!breach(&any, Some(&Q::one()), &int(0), &int(1000), &mut tr));
    }

    #[test]
    fn step9_measure_counts_gaps_as_down_once_and_weights_by_users() {
        let domain = Intervals::single(A0, A0 + 10 * H);
        let mut a = group(&[0], 0, 2);
        a.counted = Intervals::single(A0, A0 + 2 * H);
        let gap = Intervals::single(A0 + H, A0 + 3 * H);
        let mut tr = Vec::new();
        let (d, t) = measure(
            &time_method(),
            &april(),
            &domain,
            &[a.clone()],
            &gap,
            &mut tr,
        )
        .unwrap();
        assert_eq!((d, t), (int(3 * H), int(10 * H)), "the overlap counts once");
        let users = Measurement {
            method: Method::UserWeighted { users: Some(4) },
            ..time_method()
        };
        a.impact = num::ratio(1, 4);
        let (d, _) = measure(
            &users,
            &april(),
            &domain,
            &[a],
            &Intervals::empty(),
            &mut tr,
        )
        .unwrap();
        assert_eq!(d, num::ratio(2 * H, 4));
    }
}
