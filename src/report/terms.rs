//! A plan's terms in one sentence, in the letter's language. The English is
//! [`crate::sla::Plan::describe`] (what `slawatch plans` shows); the Italian says
//! the same for every objective, window, credit scheme and cap, in Italian words
//! with Italian numbers.

use super::Lang;
use super::words::{self, it_prep};
use crate::sla::num;
use crate::sla::plan::{
    AvailabilityBand, BandValue, BreachIf, Plan, RollingAnchor, Scheme, UnitRounding, WindowKind,
};
use rust_decimal::Decimal;

/// The plan's terms in `lang`.
pub fn describe(plan: &Plan, lang: Lang) -> String {
    match lang {
        Lang::En => plan.describe(),
        Lang::It => italian(plan),
    }
}

fn d(x: &Decimal) -> String {
    words::dec(x, Lang::It)
}

fn days_it(n: &str) -> String {
    if n == "1" {
        "1 giorno".to_owned()
    } else {
        format!("{n} giorni")
    }
}

fn band_value(v: BandValue) -> String {
    match v {
        BandValue::Pct(p) => format!("{} del canone", words::pct(&p.to_string(), Lang::It)),
        BandValue::Days(n) => format!("{} di servizio", days_it(&n.to_string())),
    }
}

fn span(ms: i64) -> String {
    words::span(&num::int(ms), Lang::It)
}

/// "ogni ora", "ogni giorno", "ogni periodo di 30 minuti", with the rounding.
fn per_unit(unit_ms: i64, rounding: UnitRounding) -> String {
    let (noun, feminine) = match unit_ms {
        3_600_000 => ("ora".to_owned(), true),
        86_400_000 => ("giorno".to_owned(), false),
        60_000 => ("minuto".to_owned(), false),
        ms => (format!("periodo di {}", span(ms)), false),
    };
    let adj = match (rounding, feminine) {
        (UnitRounding::Ceil, true) => " iniziata",
        (UnitRounding::Ceil, false) => " iniziato",
        (UnitRounding::Floor, true) => " intera",
        (UnitRounding::Floor, false) => " intero",
        (UnitRounding::Nearest, _) => "",
    };
    format!("ogni {noun}{adj}")
}

fn italian(plan: &Plan) -> String {
    let window = match plan.window.kind {
        WindowKind::CalendarMonth => "per mese solare".to_owned(),
        WindowKind::CalendarYear => "per anno solare".to_owned(),
        WindowKind::BillingCycle { anchor_day } => {
            format!("per ciclo di fatturazione a partire dal giorno {anchor_day}")
        }
        WindowKind::Rolling { length_ms, anchor } => format!(
            "nei {} giorni precedenti {}",
            length_ms / num::DAY_MS,
            match anchor {
                RollingAnchor::ClaimDate => "la richiesta",
                RollingAnchor::PeriodEnd => "la fine del periodo",
            }
        ),
    };
    let zone = format!("fuso orario {}", plan.window.timezone_name);
    let mut s = match &plan.objective.breach_if {
        BreachIf::AvailabilityLtTarget => format!(
            "disponibilità garantita pari {} {window} ({zone})",
            it_prep(
                "a",
                &words::pct(&plan.objective.target.to_string(), Lang::It)
            )
        ),
        BreachIf::DowntimeGtPct(p) => format!(
            "disservizio non superiore {} {window} ({zone})",
            it_prep("a", &words::pct(&p.to_string(), Lang::It))
        ),
        BreachIf::AnyDowntime => format!("nessun disservizio ammesso {window} ({zone})"),
    };
    if plan.window.business_hours.is_some() {
        s.push_str(", solo in orario lavorativo");
    }
    let bands = |b: &[AvailabilityBand]| {
        b.iter()
            .map(|b| {
                format!(
                    "{} con disponibilità inferiore {}",
                    band_value(b.value),
                    it_prep("a", &words::pct(&b.below.to_string(), Lang::It))
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let credit = match &plan.credit.scheme {
        Scheme::None => "nessun indennizzo".to_owned(),
        Scheme::Unspecified => "indennizzo non specificato".to_owned(),
        Scheme::Goodwill => "solo indennizzi offerti a discrezione del fornitore".to_owned(),
        Scheme::TieredPercent(b) | Scheme::TieredDays(b) => bands(b),
        Scheme::DowntimeTiers(t) | Scheme::IncidentTiers { tiers: t, .. } => {
            let per = if matches!(plan.credit.scheme, Scheme::DowntimeTiers(_)) {
                "con un disservizio complessivo nel periodo di almeno"
            } else {
                "per ogni interruzione di almeno"
            };
            t.iter()
                .map(|b| format!("{} {per} {}", band_value(b.value), span(b.at_least_ms)))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Scheme::PerUnitPercent(u) => format!(
            "{} del canone per {} di disservizio",
            words::pct(&u.per_unit.to_string(), Lang::It),
            per_unit(u.unit_ms, u.rounding)
        ),
        Scheme::PerUnitDays(u) => format!(
            "{} di servizio per {} di disservizio",
            days_it(&d(&u.per_unit)),
            per_unit(u.unit_ms, u.rounding)
        ),
        Scheme::ProrataMultiplier {
            multiplier,
            hours_basis,
            ..
        } => format!(
            "indennizzo pari {}ore di disservizio moltiplicate per il canone e divise per {} ore",
            if *multiplier == Decimal::ONE {
                "alle ".to_owned()
            } else {
                format!("a {} volte le ", d(multiplier))
            },
            d(hours_basis)
        ),
        Scheme::DailyFlat {
            per_day,
            business_multiplier,
            ..
        } => {
            let mut s = format!(
                "{} per ogni giorno di disservizio",
                words::money(per_day, &plan.currency, Lang::It)
            );
            if *business_multiplier != Decimal::ONE {
                s.push_str(&format!(
                    " (moltiplicati per {} per le imprese)",
                    d(business_multiplier)
                ));
            }
            s
        }
        Scheme::PerDayOverThreshold { threshold_pct } => format!(
            "il canone di un giorno per ogni giorno con disservizio superiore {}",
            it_prep("a", &words::pct(&threshold_pct.to_string(), Lang::It))
        ),
    };
    s.push_str("; ");
    s.push_str(&credit);
    let mut caps = Vec::new();
    if let Some(c) = plan.credit.cap_pct_of_fee {
        caps.push(format!(
            "{} del canone",
            words::pct(&c.to_string(), Lang::It)
        ));
    }
    if let Some(c) = plan.credit.cap_days {
        caps.push(days_it(&d(&c)));
    }
    if let Some(c) = plan.credit.cap_amount {
        caps.push(words::money(&c, &plan.currency, Lang::It));
    }
    if !caps.is_empty() {
        s.push_str(&format!("; limite massimo {}", caps.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(credit: &str) -> Plan {
        let toml = format!(
            "[[plan]]\nid = \"p\"\ncurrency = \"EUR\"\nfee = \"10.00\"\n\
             window.kind = \"calendar_month\"\nwindow.timezone = \"Europe/Rome\"\n\
             objective.target = \"99.9\"\n{credit}\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.toml");
        std::fs::write(&path, toml).unwrap();
        crate::config::load_plans(&path).unwrap().remove(0)
    }

    #[test]
    fn prorata_reads_as_a_sentence() {
        let one = plan(
            "credit.scheme = \"prorata_multiplier\"\ncredit.multiplier = \"1\"\ncredit.hours_basis = \"720\"",
        );
        assert!(
            describe(&one, Lang::It).ends_with(
                "; indennizzo pari alle ore di disservizio moltiplicate per il canone e divise per 720 ore"
            ),
            "{}",
            describe(&one, Lang::It)
        );
        let ten = plan(
            "credit.scheme = \"prorata_multiplier\"\ncredit.multiplier = \"10\"\ncredit.hours_basis = \"720\"",
        );
        assert!(
            describe(&ten, Lang::It).ends_with(
                "; indennizzo pari a 10 volte le ore di disservizio moltiplicate per il canone e divise per 720 ore"
            ),
            "{}",
            describe(&ten, Lang::It)
        );
        assert_eq!(describe(&ten, Lang::En), ten.describe());
    }
}
