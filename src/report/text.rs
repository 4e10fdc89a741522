//! Figures as text, shared by every format: instants in the plan's zone, exact
//! minutes, money, the remedy's form. No escaping here; each format escapes.

use super::data::{ContractReport, IncidentRow};
use crate::model::UtcMillis;
use crate::sla::num::{self, Q};
use crate::sla::plan::CreditForm;
use jiff::tz::TimeZone;

/// `2023-01-10 08:00:00 +01:00` (milliseconds only when not zero).
pub(super) fn local(ms: i64, tz: &TimeZone) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else {
        return format!("{ms} ms");
    };
    let z = ts.to_zoned_datetime(tz.clone());
    if ms.rem_euclid(1000) == 0 {
        z.strftime("%Y-%m-%d %H:%M:%S %:z").to_string()
    } else {
        z.strftime("%Y-%m-%d %H:%M:%S%.3f %:z").to_string()
    }
}

/// RFC 3339 in UTC with milliseconds.
pub(super) fn utc(ms: i64) -> String {
    UtcMillis(ms).to_string()
}

/// Exact minutes: "43", "209.5".
pub(super) fn minutes(ms: i64) -> String {
    num::minutes(&num::int(ms))
}

/// Exact minutes of a rational.
pub(super) fn minutes_q(ms: &Q) -> String {
    num::minutes(ms)
}

/// The uncertainty at both ends of an incident: "5 min / 5 min" (before its start,
/// after its last failed check), "unknown" for an end nothing bounds, "open" while
/// it goes on.
pub(super) fn uncertainty(r: &IncidentRow) -> String {
    let start = r
        .uncertainty_ms
        .map_or_else(|| "unknown".to_owned(), |u| format!("{} min", minutes(u)));
    let end = match r.end_uncertainty_ms {
        Some(u) => format!("{} min", minutes(u)),
        None if r.open => "open".to_owned(),
        None => "unknown".to_owned(),
    };
    format!("{start} / {end}")
}

/// "99.6549 %", or "n/a (nothing measured)".
pub(super) fn availability(c: &ContractReport) -> String {
    c.evaluation
        .availability_pct()
        .map_or_else(|| "n/a (nothing measured)".to_owned(), |a| format!("{a} %"))
}

/// "20.00 EUR", "0.00 EUR", or why there is no figure.
pub(super) fn credit(c: &ContractReport) -> String {
    match &c.evaluation.credit {
        Some(m) => format!("{} {}", m.amount, m.currency),
        None => "not computable from the plan's terms".to_owned(),
    }
}

/// The days or hours of service owed, if any: "3 days", "4.5 hours".
pub(super) fn extension(c: &ContractReport) -> Option<String> {
    let e = &c.evaluation;
    match (e.extension_days, &e.extension_hours) {
        (Some(d), _) => Some(format!("{d} day{}", if d == 1 { "" } else { "s" })),
        (None, Some(h)) => Some(format!("{} hours", num::exact(h))),
        _ => None,
    }
}

/// How the remedy is paid, in words.
pub(super) fn form(f: Option<CreditForm>) -> &'static str {
    match f {
        Some(CreditForm::FutureInvoiceCredit) => "credit on a future invoice",
        Some(CreditForm::Refund) => "refund",
        Some(CreditForm::TermExtension) => "free days of service",
        Some(CreditForm::ExtensionOrMonetary) => "days of service or their money value",
        Some(CreditForm::ServiceUpgrade) => "service upgrade",
        None => "not stated by the plan",
    }
}

/// The compensation in one phrase: "2.99 EUR (credit on a future invoice)",
/// "nothing owed", or why there is no figure.
pub(super) fn compensation(c: &ContractReport) -> String {
    if c.evaluation.credit.is_some() && !c.owes() {
        return "nothing owed".to_owned();
    }
    let mut s = credit(c);
    if let Some(x) = extension(c) {
        s = format!("{x} of service, worth {s}");
    }
    format!("{s} ({})", form(c.evaluation.form))
}

/// "before 2023-03-03 00:00:00 +01:00 (last day 2023-03-02)", or "no deadline in
/// the plan". The engine's deadline is exclusive; at a local midnight the day
/// before is the last day to claim.
pub(super) fn deadline(c: &ContractReport) -> String {
    match c.evaluation.claim_deadline {
        None => "no deadline in the plan".to_owned(),
        Some(d) => match last_day(d, &c.plan.window.timezone) {
            Some(day) => format!(
                "before {} (last day {day})",
                local(d, &c.plan.window.timezone)
            ),
            None => format!("before {}", local(d, &c.plan.window.timezone)),
        },
    }
}

/// The last local day before an exclusive deadline at a local midnight.
pub(super) fn last_day(deadline: i64, tz: &TimeZone) -> Option<jiff::civil::Date> {
    let z = jiff::Timestamp::from_millisecond(deadline)
        .ok()?
        .to_zoned_datetime(tz.clone());
    (z.time() == jiff::civil::Time::midnight())
        .then(|| z.date().yesterday().ok())
        .flatten()
}

/// "refused (3), timeout (1)".
pub(super) fn classes(r: &IncidentRow) -> String {
    r.classes
        .iter()
        .map(|(c, n)| format!("{c} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "counted: 43 min", "excluded: within announced maintenance (40 min)",
/// "excluded: cause 'customer' excluded by the plan".
pub(super) fn fate(r: &IncidentRow) -> String {
    match &r.excluded {
        Some(_) if r.maintenance_ms > 0 && r.maintenance_ms >= r.duration_ms() => format!(
            "excluded: within announced maintenance ({} min)",
            minutes(r.maintenance_ms)
        ),
        Some(why) if r.maintenance_ms > 0 => format!(
            "excluded: {why} ({} min in announced maintenance)",
            minutes(r.maintenance_ms)
        ),
        Some(why) => format!("excluded: {why}"),
        None if r.maintenance_ms > 0 => format!(
            "counted: {} min ({} min in announced maintenance)",
            minutes_q(&r.counted_ms),
            minutes(r.maintenance_ms)
        ),
        None => format!("counted: {} min", minutes_q(&r.counted_ms)),
    }
}

/// The customer, or the contract id when none is configured.
pub(super) fn customer(c: &ContractReport) -> String {
    c.contract
        .customer
        .clone()
        .unwrap_or_else(|| c.contract.id.clone())
}

/// The measured no-data time and what the plan does with it:
/// "120 min (policy exclude: removed from the measured time)".
pub(super) fn no_data(c: &ContractReport) -> String {
    let e = &c.evaluation;
    let what = match e.missing_data {
        crate::sla::plan::MissingData::Exclude => "removed from the measured time",
        crate::sla::plan::MissingData::AsUp => "counted as up",
        crate::sla::plan::MissingData::AsDown => "counted as down",
    };
    format!(
        "{} min (policy {}: {what})",
        minutes(e.no_data_ms),
        e.missing_data.as_str()
    )
}

/// The period with its zone: "2023-01 (Europe/Rome): 2023-01-01 00:00:00 +01:00 to 2023-02-01 00:00:00 +01:00".
pub(super) fn period(c: &ContractReport) -> String {
    let tz = &c.plan.window.timezone;
    let p = &c.evaluation.period;
    format!(
        "{} ({}): {} to {}",
        p.label,
        c.plan.window.timezone_name,
        local(p.start, tz),
        local(p.end, tz)
    )
}

/// "240 min (4 h)"; minutes alone under an hour.
pub(super) fn downtime(e: &crate::sla::Evaluation) -> String {
    if e.downtime_ms >= num::int(num::HOUR_MS) {
        format!(
            "{} min ({})",
            minutes_q(&e.downtime_ms),
            num::human_ms(&e.downtime_ms)
        )
    } else {
        format!("{} min", minutes_q(&e.downtime_ms))
    }
}
