//! Contract, goodwill and regulation side by side: for one contract over one period,
//! what the contract owes, what the provider offered (`[[goodwill]]`), and what
//! other plans (`compare_with`: a regulator's indemnity, a competing offer) would
//! give on the same evidence, each valued in money, and which is largest.
//!
//! The rules (each is stated in the report's method line, [`METHOD_EN`]):
//!
//! - **A day of service is worth** the contract's fee for the report's period
//!   divided by the period's local calendar days: the fee scaled to the period as
//!   the engine scales it (`sla::period::fee_factor`: a monthly fee for a month,
//!   1/12 of a yearly fee for a month, 12 monthly fees for a year; a rolling window
//!   by its length), over the days of that period (a rolling window: its length in
//!   24-hour days). It is the engine's own default (`day_value_basis =
//!   "days_in_period"`), so a day the contract gives and a day a goodwill gives are
//!   worth the same. A consumer association can check it with a calculator: 15 days
//!   of a 29.90 EUR monthly fee in January are 15 × 29.90 / 31 = 14.47 EUR.
//! - **Rounding**: exact until the end, then half-up to the currency's 2 decimals.
//! - **The contract** is the engine's evaluation: its credit (days of a day scheme
//!   are already valued by the engine at the plan's `day_value_basis`). A liability
//!   clause (`credit.scheme = "none"`) is named as the reason nothing is owed, and
//!   `breach` still says whether the SLA was broken.
//! - **A goodwill** applies to the contract's report when it names the contract (or
//!   its plan) and either its date is inside the period (local dates, the plan's
//!   zone), or it is before the period and one of the contract's incidents began on
//!   or after that date and runs into the period (the same event going on). It is
//!   worth its `extension_days` at the day value plus its `amount`; an `upgrade` is
//!   shown, not valued. It was offered, not owed: `breach` is false.
//! - **A compared plan** is evaluated by the engine on the contract's own timeline
//!   and period, with the contract's customer type, and with the compared plan's
//!   own fee and currency; when that plan states no fee (0, as a regulation's flat
//!   indemnities do), the contract's fee and fee period stand in (same currency
//!   only). Its money is compared only in the contract's currency. A compared plan
//!   whose window does not fit the period gives its reason, not a figure. It
//!   applies by analogy: the contract does not grant it.
//! - **Largest**: the remedy of greatest money value (ties: the earlier one, so the
//!   contract first); none when no remedy is worth more than zero.

use super::Lang;
use super::data::{ContractReport, IncidentRow};
use crate::config::{Config, Contract, Goodwill};
use crate::sla::num::{self, Q, dec, int};
use crate::sla::plan::{Scheme, WindowKind};
use crate::sla::{self, Evaluation, FeePeriod, Overrides, Period, PeriodSpec, Plan, Timeline};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Which side a remedy comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemedyKind {
    /// The contract's own plan.
    Contract,
    /// What the provider offered beyond the contract (`[[goodwill]]`).
    Goodwill,
    /// Another plan on the same evidence, by analogy (`compare_with`).
    Compared,
}

impl RemedyKind {
    /// `contract`, `goodwill`, `compared`.
    pub fn as_str(self) -> &'static str {
        match self {
            RemedyKind::Contract => "contract",
            RemedyKind::Goodwill => "goodwill",
            RemedyKind::Compared => "compared",
        }
    }
}

/// One remedy, valued in the contract's currency where it can be.
#[derive(Clone, Debug)]
pub struct Remedy {
    /// Contract, goodwill or compared plan.
    pub kind: RemedyKind,
    /// "contract (aruba-dedicated-2011)", the goodwill's event, the compared plan's id.
    pub label: String,
    /// The contract's plan or the compared plan.
    pub plan_id: Option<String>,
    /// The SLA of this plan was breached (goodwill: false).
    pub breach: bool,
    /// Value in the contract's currency, rounded half-up to the cent; days are
    /// valued at the day value (module docs).
    pub money: Option<Decimal>,
    /// Days of service given or owed.
    pub days: Option<u32>,
    /// What is given but not valued: "Business Mail upgrade".
    pub other: Option<String>,
    /// Why it is worth nothing (or cannot be valued), in English.
    pub why_nothing: Option<String>,
    /// The engine's evaluation (contract and compared plans).
    pub evaluation: Option<Evaluation>,
    /// How a letter cites it: the plan's `clause`, else its `provider` (a
    /// regulation's name: "delibera AGCOM 347/18/CONS, Allegato A, art. 6"); none
    /// for a goodwill, or a plan that names neither.
    pub reference: Option<String>,
}

/// Every remedy of one contract over the period.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// `remedies[0]` is always the contract.
    pub remedies: Vec<Remedy>,
    /// The index of the remedy of greatest money value; none when none is worth
    /// more than zero.
    pub largest: Option<usize>,
}

/// The method line every format shows with the comparison.
pub(crate) const METHOD_EN: &str = "Days are valued at the contract's fee for the period divided by \
    the period's calendar days (the engine's days_in_period rule), exactly, then rounded half-up \
    to the cent; compared plans are evaluated on the same evidence, with the contract's customer \
    type, by analogy: the contract does not grant them.";
/// [`METHOD_EN`] in Italian.
pub(crate) const METHOD_IT: &str = "I giorni sono valutati al canone del contratto per il periodo \
    diviso per i giorni di calendario del periodo (la stessa regola con cui il calcolo valuta i \
    giorni dovuti dal contratto), con calcolo esatto e un solo arrotondamento commerciale al \
    centesimo; i piani di confronto sono valutati sulle stesse prove, con il tipo di cliente del \
    contratto, per analogia: il contratto non li prevede.";

/// The value of one day of service: `fee` (per `fee_period`) scaled to `period` as
/// the engine scales it, over the period's local days. Exact.
pub(crate) fn day_value(fee: Decimal, fee_period: FeePeriod, plan: &Plan, period: &Period) -> Q {
    let (factor, _) = sla::period::fee_factor(&plan.window, period, fee_period);
    let length = match plan.window.kind {
        WindowKind::Rolling { length_ms, .. } => Some(length_ms),
        _ => None,
    };
    let days = period.days(length);
    if days <= int(0) {
        return int(0);
    }
    dec(fee) * factor / days
}

/// `days` at `day_value` plus `amount`, rounded half-up to the cent.
pub(crate) fn value(days: Option<u32>, day_value: &Q, amount: Option<Decimal>) -> Decimal {
    let q = int(i64::from(days.unwrap_or(0))) * day_value + dec(amount.unwrap_or_default());
    num::round_dec(&q, 2)
}

/// The index of the remedy of greatest money value (ties: the earliest); none when
/// none is worth more than zero.
pub(crate) fn largest(remedies: &[Remedy]) -> Option<usize> {
    let mut best: Option<(usize, Decimal)> = None;
    for (i, r) in remedies.iter().enumerate() {
        if let Some(m) = r.money
            && m > Decimal::ZERO
            && best.is_none_or(|(_, b)| m > b)
        {
            best = Some((i, m));
        }
    }
    best.map(|(i, _)| i)
}

/// Whether goodwill `g` applies to the contract's report of `period` (module docs).
pub(crate) fn applies(
    g: &Goodwill,
    c: &Contract,
    plan: &Plan,
    period: &Period,
    rows: &[IncidentRow],
) -> bool {
    if !g.names(c) || g.date >= period.end_day {
        return false;
    }
    if g.date >= period.first_day {
        return true;
    }
    let tz = &plan.window.timezone;
    rows.iter().any(|r| {
        r.start.0 < period.start
            && r.end.0 > period.start
            && sla::period::local_date(r.start.0, tz) >= g.date
    })
}

fn contract_remedy(plan: &Plan, e: &Evaluation, currency: &str) -> Remedy {
    let money = e
        .credit
        .as_ref()
        .filter(|m| m.currency == currency)
        .map(|m| m.amount);
    let why_nothing = match (&plan.credit.scheme, money) {
        (Scheme::None, _) if e.breach => Some(
            "the contract's liability clause (credit.scheme = \"none\") excludes any credit, \
             although the SLA was breached"
                .to_owned(),
        ),
        _ if !e.breach => Some("the SLA was met".to_owned()),
        (Scheme::None, _) => None,
        (_, None) => Some("the contract names no remedy that can be computed".to_owned()),
        (_, Some(m)) if m.is_zero() => Some(
            "the SLA was breached, but the plan's terms give nothing for this downtime \
             (see the working)"
                .to_owned(),
        ),
        _ => None,
    };
    Remedy {
        kind: RemedyKind::Contract,
        label: format!("contract ({})", plan.id),
        plan_id: Some(plan.id.clone()),
        breach: e.breach,
        money,
        days: e.extension_days,
        other: None,
        why_nothing,
        evaluation: Some(e.clone()),
        reference: plan.clause.clone().or_else(|| plan.provider.clone()),
    }
}

fn compared_remedy(
    other: &Plan,
    c: &ContractReport,
    spec: PeriodSpec,
    timeline: &Timeline,
) -> Remedy {
    let mut ov = Overrides {
        customer_type: Some(c.customer_type),
        ..Overrides::default()
    };
    if other.fee.is_zero() && other.currency == c.currency {
        ov.fee = Some(c.fee);
        ov.fee_period = Some(c.fee_period);
    }
    let mut r = Remedy {
        kind: RemedyKind::Compared,
        label: other.id.clone(),
        plan_id: Some(other.id.clone()),
        breach: false,
        money: None,
        days: None,
        other: None,
        why_nothing: None,
        evaluation: None,
        reference: other.clause.clone().or_else(|| other.provider.clone()),
    };
    match sla::evaluate(other, &ov, spec, None, timeline) {
        Err(e) => r.why_nothing = Some(format!("cannot be evaluated over this period: {e}")),
        Ok(e) => {
            r.breach = e.breach;
            r.days = e.extension_days;
            match &e.credit {
                Some(m) if m.currency == c.currency => r.money = Some(m.amount),
                Some(m) => {
                    r.other = Some(format!("{} {}", m.amount, m.currency));
                    r.why_nothing = Some(format!(
                        "its figure is in {}, not the contract's {}: not compared",
                        m.currency, c.currency
                    ));
                }
                None => {
                    r.why_nothing = Some("the plan names no remedy that can be computed".into());
                }
            }
            if r.why_nothing.is_none() {
                if !e.breach {
                    r.why_nothing = Some("its terms were met".to_owned());
                } else if matches!(other.credit.scheme, Scheme::None) {
                    r.why_nothing = Some(
                        "its liability clause (credit.scheme = \"none\") excludes any credit"
                            .into(),
                    );
                } else if r.money.is_some_and(|m| m.is_zero()) {
                    r.why_nothing = Some("its terms give nothing for this downtime".to_owned());
                }
            }
            r.evaluation = Some(e);
        }
    }
    r
}

/// The comparison of one contract, from its report (every field but `comparison`
/// filled in): the contract, then each goodwill that applies, then each compared
/// plan, in configuration order.
pub fn build(config: &Config, c: &ContractReport, spec: PeriodSpec) -> Comparison {
    let e = &c.evaluation;
    let mut remedies = vec![contract_remedy(&c.plan, e, &c.currency)];
    let dv = day_value(c.fee, c.fee_period, &c.plan, &e.period);
    for g in &config.goodwill {
        if !applies(g, &c.contract, &c.plan, &e.period, &c.incidents) {
            continue;
        }
        let valued = g.extension_days.is_some() || g.amount.is_some();
        remedies.push(Remedy {
            kind: RemedyKind::Goodwill,
            label: g.event.clone(),
            plan_id: None,
            breach: false,
            money: valued.then(|| value(g.extension_days, &dv, g.amount)),
            days: g.extension_days,
            other: g.upgrade.clone(),
            why_nothing: None,
            evaluation: None,
            reference: None,
        });
    }
    for id in &c.contract.compare_with {
        match config.plans.iter().find(|p| &p.id == id) {
            Some(p) => remedies.push(compared_remedy(p, c, spec, &c.timeline)),
            None => remedies.push(Remedy {
                kind: RemedyKind::Compared,
                label: id.clone(),
                plan_id: Some(id.clone()),
                breach: false,
                money: None,
                days: None,
                other: None,
                why_nothing: Some(format!("no plan '{id}' in the configuration")),
                evaluation: None,
                reference: None,
            }),
        }
    }
    let largest = largest(&remedies);
    Comparison { remedies, largest }
}

// ---- text, shared by every format ----

/// "14.47 EUR" / "14,47 EUR".
fn money_text(m: Decimal, currency: &str, lang: Lang) -> String {
    format!("{} {currency}", super::words::number(&m.to_string(), lang))
}

/// "15 days" / "15 giorni".
fn days_text(d: u32, lang: Lang) -> String {
    match (lang, d) {
        (Lang::En, 1) => "1 day".to_owned(),
        (Lang::En, d) => format!("{d} days"),
        (Lang::It, 1) => "1 giorno".to_owned(),
        (Lang::It, d) => format!("{d} giorni"),
    }
}

/// Who gives it: "contract (plan)", "goodwill: EVENT", "PLAN (by analogy)".
pub(crate) fn label(r: &Remedy, lang: Lang) -> String {
    match (r.kind, lang) {
        (RemedyKind::Contract, Lang::En) => r.label.clone(),
        (RemedyKind::Contract, Lang::It) => {
            format!("contratto ({})", r.plan_id.as_deref().unwrap_or_default())
        }
        (RemedyKind::Goodwill, Lang::En) => format!("goodwill: {}", r.label),
        (RemedyKind::Goodwill, Lang::It) => format!("offerta del fornitore: {}", r.label),
        (RemedyKind::Compared, Lang::En) => format!("{} (by analogy)", r.label),
        (RemedyKind::Compared, Lang::It) => format!("{} (per analogia)", r.label),
    }
}

/// Why a remedy is worth nothing, in the language.
fn why_text(r: &Remedy, lang: Lang) -> Option<String> {
    let why = r.why_nothing.as_deref()?;
    if lang == Lang::En {
        return Some(why.to_owned());
    }
    Some(if why.starts_with("the contract's liability clause") {
        "la clausola di limitazione di responsabilità del contratto (credit.scheme = \"none\") \
             esclude ogni indennizzo, benché lo SLA sia stato violato"
            .to_owned()
    } else if why.starts_with("its liability clause") {
        "la sua clausola di limitazione di responsabilità esclude ogni indennizzo".to_owned()
    } else if why == "the SLA was met" {
        "lo SLA è stato rispettato".to_owned()
    } else if why == "its terms were met" {
        "le sue condizioni sono state rispettate".to_owned()
    } else if why.contains("names no remedy") {
        "nessun indennizzo calcolabile dalle condizioni".to_owned()
    } else if why.contains("give nothing") {
        "le condizioni non danno nulla per questo disservizio".to_owned()
    } else if let Some(reason) = why.strip_prefix("cannot be evaluated over this period: ") {
        format!("non valutabile su questo periodo ({reason})")
    } else {
        why.to_owned()
    })
}

/// What a remedy gives, in one phrase: "14.47 EUR (15 days of service)",
/// "Business Mail (not valued)", "nothing: WHY".
pub(crate) fn gives(r: &Remedy, currency: &str, lang: Lang) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = r.money
        && (!m.is_zero() || r.why_nothing.is_none())
    {
        let mut s = money_text(m, currency, lang);
        if let Some(d) = r.days {
            s.push_str(&match lang {
                Lang::En => format!(" ({} of service)", days_text(d, lang)),
                Lang::It => format!(" ({} di servizio)", days_text(d, lang)),
            });
        }
        parts.push(s);
    }
    if let Some(o) = &r.other {
        parts.push(match lang {
            Lang::En => format!("{o} (not valued)"),
            Lang::It => format!("{o} (non valutato)"),
        });
    }
    if parts.is_empty() || r.money.is_some_and(|m| m.is_zero()) {
        let why = why_text(r, lang);
        let nothing = match lang {
            Lang::En => "nothing",
            Lang::It => "nulla",
        };
        let head = match why {
            Some(w) => format!("{nothing}: {w}"),
            None => nothing.to_owned(),
        };
        parts.insert(0, head);
    }
    parts.join("; ")
}

/// "yes" / "no" / "—" (a goodwill is not a judgement of the SLA; a plan that could
/// not be evaluated judged nothing).
pub(crate) fn breach_text(r: &Remedy, lang: Lang) -> &'static str {
    match (r.kind, r.breach, lang) {
        (RemedyKind::Goodwill, _, _) => "—",
        (RemedyKind::Compared, _, _) if r.evaluation.is_none() => "—",
        (_, true, Lang::En) => "yes",
        (_, false, Lang::En) => "no",
        (_, true, Lang::It) => "sì",
        (_, false, Lang::It) => "no",
    }
}

/// The largest remedy in one phrase, or that none is worth anything.
pub(crate) fn largest_text(c: &ContractReport, lang: Lang) -> String {
    let cmp = &c.comparison;
    match cmp.largest.and_then(|i| cmp.remedies.get(i)) {
        Some(r) => format!(
            "{}: {}",
            label(r, lang),
            money_text(r.money.unwrap_or_default(), &c.currency, lang)
        ),
        None => match lang {
            Lang::En => "none is worth anything in money".to_owned(),
            Lang::It => "nessuno ha un valore in denaro".to_owned(),
        },
    }
}

/// The remedies of `kind`, each as "LABEL: GIVES" (a goodwill by its event, a
/// compared plan with "by analogy"), joined with " | "; "—" when none.
pub(crate) fn of_kind(c: &ContractReport, kind: RemedyKind, lang: Lang) -> String {
    let v: Vec<String> = c
        .comparison
        .remedies
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| match kind {
            RemedyKind::Contract => gives(r, &c.currency, lang),
            RemedyKind::Goodwill => format!("{}: {}", r.label, gives(r, &c.currency, lang)),
            RemedyKind::Compared => {
                format!("{}: {}", label(r, lang), gives(r, &c.currency, lang))
            }
        })
        .collect();
    if v.is_empty() {
        "—".to_owned()
    } else {
        v.join(" | ")
    }
}

// ---- renderers ----

/// The `comparison` object of the JSON report (docs/report-json.md).
pub(crate) fn json(c: &ContractReport) -> Value {
    let cmp = &c.comparison;
    json!({
        "currency": c.currency,
        "method": METHOD_EN,
        "largest": cmp.largest,
        "remedies": cmp.remedies.iter().map(|r| json!({
            "kind": r.kind.as_str(),
            "label": r.label,
            "plan": r.plan_id,
            "breach": r.breach,
            "money": r.money.map(|m| m.to_string()),
            "days": r.days,
            "other": r.other,
            "why_nothing": r.why_nothing,
            "availability_pct": r.evaluation.as_ref().and_then(Evaluation::availability_pct),
            "text": gives(r, &c.currency, Lang::En),
        })).collect::<Vec<_>>(),
    })
}

/// The table's three column heads (HTML and Markdown).
pub(crate) fn headers(lang: Lang) -> [&'static str; 3] {
    match lang {
        Lang::En => ["Remedy (★ largest)", "Breach", "Gives"],
        Lang::It => ["Rimedio (★ il più alto)", "Violato", "Cosa dà"],
    }
}

/// The table's caption.
pub(crate) fn title(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Contract, goodwill and regulation",
        Lang::It => "Contratto, offerta del fornitore e regolamentazione",
    }
}

/// How the remedies are valued, under the table.
pub(crate) fn method(lang: Lang) -> &'static str {
    match lang {
        Lang::En => METHOD_EN,
        Lang::It => METHOD_IT,
    }
}

/// The same table in Markdown.
pub(crate) fn md(c: &ContractReport, lang: Lang) -> String {
    use super::md::esc;
    let h = headers(lang);
    let mut s = format!(
        "**{}**\n\n| {} | {} | {} |\n|---|---|---|\n",
        title(lang),
        h[0],
        h[1],
        h[2]
    );
    for (i, r) in c.comparison.remedies.iter().enumerate() {
        s.push_str(&format!(
            "| {}{} | {} | {} |\n",
            if c.comparison.largest == Some(i) {
                "★ "
            } else {
                ""
            },
            esc(&label(r, lang)),
            breach_text(r, lang),
            esc(&gives(r, &c.currency, lang))
        ));
    }
    s.push_str(&format!("\n{}\n\n", esc(method(lang))));
    s
}

/// The contracts CSV's extra columns.
pub(crate) const CSV_HEADERS: [&str; 4] = [
    "contract_remedy",
    "goodwill",
    "compared_by_analogy",
    "largest",
];

/// The values of [`CSV_HEADERS`] for one contract.
pub(crate) fn csv(c: &ContractReport) -> [String; 4] {
    [
        of_kind(c, RemedyKind::Contract, Lang::En),
        of_kind(c, RemedyKind::Goodwill, Lang::En),
        of_kind(c, RemedyKind::Compared, Lang::En),
        largest_text(c, Lang::En),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn remedy(kind: RemedyKind, money: Option<&str>) -> Remedy {
        Remedy {
            kind,
            label: "x".into(),
            plan_id: None,
            breach: false,
            money: money.map(d),
            days: None,
            other: None,
            why_nothing: None,
            evaluation: None,
            reference: None,
        }
    }

    fn month_plan(fee_period: &str) -> Plan {
        let text = format!(
            "[[plan]]\nid = \"p\"\ncurrency = \"EUR\"\nfee = \"29.90\"\nfee_period = \"{fee_period}\"\n\
             window.kind = \"calendar_month\"\nwindow.timezone = \"Europe/Rome\"\n\
             objective.target = \"99.9\"\nmeasurement.method = \"time\"\ncredit.scheme = \"none\"\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.toml");
        std::fs::write(&path, text).unwrap();
        crate::config::load_plans(&path).unwrap().remove(0)
    }

    fn period(plan: &Plan, label: &str) -> Period {
        sla::period::resolve(&plan.window, PeriodSpec::parse(label).unwrap(), None).unwrap()
    }

    #[test]
    fn a_day_is_the_periods_fee_over_its_days_rounded_half_up_at_the_end() {
        let plan = month_plan("month");
        let jan = period(&plan, "2023-01");
        let dv = day_value(d("29.90"), FeePeriod::Month, &plan, &jan);
        // 15 × 29.90 / 31 = 14.4677… -> 14.47
        assert_eq!(value(Some(15), &dv, None).to_string(), "14.47");
        // Plus an amount, added before rounding: 14.4677… + 10 = 24.4677… -> 24.47
        assert_eq!(value(Some(15), &dv, Some(d("10"))).to_string(), "24.47");
        // February has 28 days: 15 × 29.90 / 28 = 16.0178… -> 16.02
        let feb = period(&plan, "2023-02");
        let dv = day_value(d("29.90"), FeePeriod::Month, &plan, &feb);
        assert_eq!(value(Some(15), &dv, None).to_string(), "16.02");
        // Exactly half a cent rounds up (0.75 / 30 = 0.025 -> 0.03, not 0.02).
        let apr = period(&plan, "2023-04");
        let dv = day_value(d("0.75"), FeePeriod::Month, &plan, &apr);
        assert_eq!(value(Some(1), &dv, None).to_string(), "0.03");
        // A yearly fee: 1/12 of it for the month, over its 31 days:
        // 15 × 120 / 12 / 31 = 4.8387… -> 4.84
        let dv = day_value(d("120"), FeePeriod::Year, &plan, &jan);
        assert_eq!(value(Some(15), &dv, None).to_string(), "4.84");
        // Nothing given is worth 0.00, not an error.
        assert_eq!(value(None, &dv, None).to_string(), "0.00");
    }

    fn row(start: &str, end: &str) -> IncidentRow {
        let ms = |t: &str| {
            crate::model::UtcMillis(t.parse::<jiff::Timestamp>().unwrap().as_millisecond())
        };
        IncidentRow {
            start: ms(start),
            end: ms(end),
            open: false,
            proven_ms: 0,
            uncertainty_ms: None,
            end_uncertainty_ms: None,
            classes: vec![],
            probes: vec![],
            vantages: vec![],
            sources: vec![],
            details: vec![],
            maintenance_ms: 0,
            counted_ms: int(0),
            excluded: None,
        }
    }

    #[test]
    fn a_goodwill_applies_in_its_period_or_to_its_event_running_into_the_next() {
        let plan = month_plan("month");
        let contract = Contract {
            id: "shop".into(),
            plan: "p".into(),
            ..Contract::default()
        };
        let g = Goodwill {
            event: "fire".into(),
            date: jiff::civil::date(2011, 4, 29),
            announced: None,
            contracts: vec![],
            plans: vec!["p".into()],
            extension_days: Some(15),
            amount: None,
            upgrade: None,
            source: None,
            note: None,
        };
        let april = period(&plan, "2011-04");
        let may = period(&plan, "2011-05");
        let june = period(&plan, "2011-06");
        // Its own month, with or without an incident.
        assert!(applies(&g, &contract, &plan, &april, &[]));
        // The next month only through an incident that began on or after the event
        // and runs into it (local dates: 29 April 04:30 in Rome is 02:30Z).
        let fire = row("2011-04-29T02:30:00Z", "2011-05-03T10:00:00Z");
        assert!(applies(
            &g,
            &contract,
            &plan,
            &may,
            std::slice::from_ref(&fire)
        ));
        assert!(!applies(&g, &contract, &plan, &may, &[]));
        let before = row("2011-04-28T20:00:00Z", "2011-05-02T00:00:00Z");
        assert!(!applies(&g, &contract, &plan, &may, &[before]));
        let later = row("2011-05-10T00:00:00Z", "2011-05-11T00:00:00Z");
        assert!(!applies(&g, &contract, &plan, &may, &[later]));
        assert!(!applies(&g, &contract, &plan, &june, &[]));
        // A month before the event never.
        let march = period(&plan, "2011-03");
        assert!(!applies(&g, &contract, &plan, &march, &[fire]));
        // Another contract on another plan: not named.
        let other = Contract {
            plan: "q".into(),
            ..contract
        };
        assert!(!applies(&g, &other, &plan, &april, &[]));
    }

    #[test]
    fn largest_is_the_greatest_money_and_ties_go_to_the_contract() {
        let r = [
            remedy(RemedyKind::Contract, Some("5.00")),
            remedy(RemedyKind::Goodwill, Some("14.47")),
            remedy(RemedyKind::Compared, Some("6.00")),
        ];
        assert_eq!(largest(&r), Some(1));
        let tie = [
            remedy(RemedyKind::Contract, Some("6.00")),
            remedy(RemedyKind::Compared, Some("6.00")),
        ];
        assert_eq!(largest(&tie), Some(0));
        let unvalued = [
            remedy(RemedyKind::Contract, Some("0.00")),
            remedy(RemedyKind::Goodwill, None),
            remedy(RemedyKind::Compared, None),
        ];
        assert_eq!(largest(&unvalued), None);
        assert_eq!(largest(&[]), None);
    }

    #[test]
    fn nothing_owed_says_why_in_both_languages() {
        let mut r = remedy(RemedyKind::Contract, Some("0.00"));
        r.breach = true;
        r.why_nothing = Some(
            "the contract's liability clause (credit.scheme = \"none\") excludes any credit, \
             although the SLA was breached"
                .into(),
        );
        assert!(gives(&r, "EUR", Lang::En).starts_with("nothing: the contract's liability clause"));
        let it = gives(&r, "EUR", Lang::It);
        assert!(it.starts_with("nulla: la clausola di limitazione"), "{it}");
        assert_eq!(breach_text(&r, Lang::It), "sì");
        let mut g = remedy(RemedyKind::Goodwill, Some("14.47"));
        g.days = Some(15);
        g.other = Some("Business Mail".into());
        assert_eq!(
            gives(&g, "EUR", Lang::It),
            "14,47 EUR (15 giorni di servizio); Business Mail (non valutato)"
        );
        assert_eq!(
            super::super::words::date(jiff::civil::date(2011, 4, 29), Lang::It),
            "29 aprile 2011"
        );
    }
}
