//! Figures as text, shared by every format: instants in the plan's zone, exact
//! minutes, money, the remedy's form. No escaping here; each format escapes.

use super::data::{ContractReport, IncidentRow};
use super::{Lang, words};
use crate::model::UtcMillis;
use crate::sla::num::{self, Q};
use crate::sla::plan::CreditForm;
use jiff::tz::TimeZone;

/// The evidence's checks, runs and failed checks as numbers are written in `lang`
/// (digits as they are in English, `words::number` in Italian).
pub(super) fn evidence_counts_in(c: &ContractReport, lang: Lang) -> (String, String, String) {
    let e = &c.evidence;
    match lang {
        Lang::En => (
            e.checks.to_string(),
            e.runs.to_string(),
            e.failures.to_string(),
        ),
        Lang::It => (
            words::number(&e.checks.to_string(), lang),
            words::number(&e.runs.to_string(), lang),
            words::number(&e.failures.to_string(), lang),
        ),
    }
}

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

// ---- the same figures in the report's language (English: the functions above) ----

/// `en` or `it`.
pub(super) fn t(lang: Lang, en: &'static str, it: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::It => it,
    }
}

/// An instant in the plan's zone: [`local`] in English, "29 aprile 2011, ore
/// 04:30" in Italian.
pub(super) fn local_in(ms: i64, tz: &TimeZone, lang: Lang) -> String {
    match lang {
        Lang::En => local(ms, tz),
        Lang::It => words::datetime(ms, tz, lang),
    }
}

/// Exact minutes of a duration in ms, with the language's separators.
pub(super) fn minutes_in(ms: i64, lang: Lang) -> String {
    match lang {
        Lang::En => minutes(ms),
        Lang::It => words::minutes(&num::int(ms), lang),
    }
}

/// Exact minutes of a rational, with the language's separators.
pub(super) fn minutes_q_in(ms: &Q, lang: Lang) -> String {
    match lang {
        Lang::En => minutes_q(ms),
        Lang::It => words::minutes(ms, lang),
    }
}

/// [`availability`] in the language.
pub(super) fn availability_in(c: &ContractReport, lang: Lang) -> String {
    match lang {
        Lang::En => availability(c),
        Lang::It => c.evaluation.availability_pct().map_or_else(
            || "n/d (nulla è stato misurato)".to_owned(),
            |a| words::pct(&a, lang),
        ),
    }
}

/// The target: "99.9 %" / "99,9 %".
pub(super) fn target_in(c: &ContractReport, lang: Lang) -> String {
    words::pct(&c.plan.objective.target.to_string(), lang)
}

fn form_it(f: Option<CreditForm>) -> &'static str {
    match f {
        Some(CreditForm::FutureInvoiceCredit) => "accredito su una fattura futura",
        Some(CreditForm::Refund) => "rimborso",
        Some(CreditForm::TermExtension) => "giorni di servizio gratuiti",
        Some(CreditForm::ExtensionOrMonetary) => "giorni di servizio o il loro controvalore",
        Some(CreditForm::ServiceUpgrade) => "miglioramento del servizio",
        None => "forma non indicata dal piano",
    }
}

/// [`compensation`] in the language.
pub(super) fn compensation_in(c: &ContractReport, lang: Lang) -> String {
    if lang == Lang::En {
        return compensation(c);
    }
    if c.evaluation.credit.is_some() && !c.owes() {
        return "nulla di dovuto".to_owned();
    }
    let what = super::letter::owed(c, lang)
        .unwrap_or_else(|| "non calcolabile dai termini del piano".to_owned());
    format!("{what} ({})", form_it(c.evaluation.form))
}

/// [`deadline`] in the language: "entro il 2 marzo 2023 compreso".
pub(super) fn deadline_in(c: &ContractReport, lang: Lang) -> String {
    if lang == Lang::En {
        return deadline(c);
    }
    let tz = &c.plan.window.timezone;
    match c.evaluation.claim_deadline {
        None => "nessun termine nel piano".to_owned(),
        Some(d) => match last_day(d, tz) {
            Some(day) => format!(
                "entro {} compreso",
                words::it_prep("", &words::date(day, lang))
            ),
            None => format!("prima del {}", words::datetime(d, tz, lang)),
        },
    }
}

/// [`no_data`] in the language.
pub(super) fn no_data_in(c: &ContractReport, lang: Lang) -> String {
    if lang == Lang::En {
        return no_data(c);
    }
    let e = &c.evaluation;
    let what = match e.missing_data {
        crate::sla::plan::MissingData::Exclude => "tolto dal tempo misurato",
        crate::sla::plan::MissingData::AsUp => "contato come servizio disponibile",
        crate::sla::plan::MissingData::AsDown => "contato come disservizio",
    };
    format!(
        "{} min (criterio «{}»: {what})",
        minutes_in(e.no_data_ms, lang),
        e.missing_data.as_str()
    )
}

/// [`period`] in the language.
pub(super) fn period_in(c: &ContractReport, lang: Lang) -> String {
    if lang == Lang::En {
        return period(c);
    }
    let tz = &c.plan.window.timezone;
    let p = &c.evaluation.period;
    format!(
        "{} ({}): {} {}",
        p.label,
        c.plan.window.timezone_name,
        words::it_prep("da", &words::datetime(p.start, tz, lang)),
        words::it_prep("a", &words::datetime(p.end, tz, lang))
    )
}

/// [`downtime`] in the language: "240 min (4 ore)".
pub(super) fn downtime_in(e: &crate::sla::Evaluation, lang: Lang) -> String {
    if lang == Lang::En {
        return downtime(e);
    }
    if e.downtime_ms >= num::int(num::HOUR_MS) {
        format!(
            "{} min ({})",
            minutes_q_in(&e.downtime_ms, lang),
            words::span(&e.downtime_ms, lang)
        )
    } else {
        format!("{} min", minutes_q_in(&e.downtime_ms, lang))
    }
}

/// The engine's reason an incident does not count, in Italian when known.
fn why_it(why: &str) -> String {
    match why {
        "outside the period" => "fuori dal periodo".to_owned(),
        "nothing left after maintenance, minimum length and clipping" => {
            "nulla resta dopo manutenzione, durata minima e taglio al periodo".to_owned()
        }
        w => match w
            .strip_prefix("cause '")
            .and_then(|r| r.strip_suffix("' excluded by the plan"))
        {
            Some(cause) => format!("causa '{cause}' esclusa dal piano"),
            None => w.to_owned(),
        },
    }
}

/// [`fate`] in the language.
pub(super) fn fate_in(r: &IncidentRow, lang: Lang) -> String {
    if lang == Lang::En {
        return fate(r);
    }
    let m = minutes_in(r.maintenance_ms, lang);
    match &r.excluded {
        Some(_) if r.maintenance_ms > 0 && r.maintenance_ms >= r.duration_ms() => {
            format!("escluso: in manutenzione annunciata ({m} min)")
        }
        Some(why) if r.maintenance_ms > 0 => format!(
            "escluso: {} ({m} min in manutenzione annunciata)",
            why_it(why)
        ),
        Some(why) => format!("escluso: {}", why_it(why)),
        None if r.maintenance_ms > 0 => format!(
            "contato: {} min ({m} min in manutenzione annunciata)",
            minutes_q_in(&r.counted_ms, lang)
        ),
        None => format!("contato: {} min", minutes_q_in(&r.counted_ms, lang)),
    }
}

/// [`uncertainty`] in the language.
pub(super) fn uncertainty_in(r: &IncidentRow, lang: Lang) -> String {
    if lang == Lang::En {
        return uncertainty(r);
    }
    let start = r.uncertainty_ms.map_or_else(
        || "ignota".to_owned(),
        |u| format!("{} min", minutes_in(u, lang)),
    );
    let end = match r.end_uncertainty_ms {
        Some(u) => format!("{} min", minutes_in(u, lang)),
        None if r.open => "in corso".to_owned(),
        None => "ignota".to_owned(),
    };
    format!("{start} / {end}")
}

/// "(unavailable when any down)" / "(non disponibile quando almeno una sonda è giù)".
pub(super) fn unavailable_in(c: &ContractReport, lang: Lang) -> String {
    use crate::config::Unavailability;
    match (lang, c.contract.unavailable_when) {
        (Lang::En, _) => format!(
            "unavailable when {} down",
            super::data::unavailable_when_text(&c.contract)
        ),
        (Lang::It, Unavailability::Any) => {
            "non disponibile quando almeno una sonda è giù".to_owned()
        }
        (Lang::It, Unavailability::All) => {
            "non disponibile quando tutte le sonde sono giù".to_owned()
        }
        (Lang::It, Unavailability::AtLeast(k)) => format!(
            "non disponibile quando almeno {k} sonde su {} sono giù",
            c.contract.probes.len()
        ),
    }
}

/// [`classes`] in the language.
pub(super) fn classes_in(r: &IncidentRow, lang: Lang) -> String {
    if lang == Lang::En {
        return classes(r);
    }
    r.classes
        .iter()
        .map(|(c, n)| format!("{} ({n})", super::letter::class_words(c, lang)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sources of an incident in the language: `measured`, `manual`, `status-page`
/// / "misurato", "manuale", "pagina di stato".
pub(super) fn sources_in(r: &IncidentRow, lang: Lang) -> String {
    r.sources
        .iter()
        .map(|s| match (lang, s.as_str()) {
            (Lang::It, "measured") => "misurato",
            (Lang::It, "manual") => "manuale",
            (Lang::It, "status-page") => "pagina di stato",
            (_, s) => s,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the report owes in total, unescaped: "nothing", "15.00 EUR + 3.00 USD" (the
/// Italian way "15,00 EUR"), for the summary sentence of HTML and Markdown.
pub(super) fn owed_total(r: &super::data::Report, lang: Lang) -> (String, u32) {
    let (owed, days) = r.owed();
    let text = if owed.is_empty() {
        t(lang, "nothing", "nulla").to_owned()
    } else {
        owed.iter()
            .map(|(c, a)| match lang {
                Lang::En => format!("{a} {c}"),
                Lang::It => words::money(a, c, lang),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    };
    (text, days)
}

/// ", and 3 days of service" / " e 3 giorni di servizio", or nothing.
pub(super) fn days_of_service(days: u32, lang: Lang) -> String {
    match (lang, days) {
        (_, 0) => String::new(),
        (Lang::En, d) => format!(", and {d} days of service"),
        (Lang::It, d) => format!(" e {d} giorni di servizio"),
    }
}
