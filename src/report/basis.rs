//! What a contract's figures rest on, said first in every report and letter:
//! monitoring (which vantages, how much of the period), recorded incidents (how
//! many, from which sources, with their notes and links), or both; and how the time
//! with neither checks nor a record was counted (the contract's `unmonitored`, or
//! the plan's `missing_data` when it says `plan`).
//!
//! Figures here are shares and hours with one decimal, rounded half-up in integer
//! arithmetic: "62.0 %" and "446.4 h" in English, "62,0 %" and "446,4 h" in Italian.
//! The text carries no instant, so no ISO timestamp reaches Italian prose.

use super::data::ContractReport;
use super::md;
use crate::config::Unmonitored;
use crate::report::Lang;
use crate::sla::intervals::Intervals;
use crate::sla::plan::MissingData;
use crate::store::{Coverage, Incident};
use std::fmt::Write as _;

/// What the figures of one contract over one period rest on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Basis {
    /// Vantages that probed the contract's probes in the period, and the measured time.
    pub vantages: Vec<String>,
    /// Time in the period the checks measured (records aside), ms.
    pub monitored_ms: i64,
    /// The period's length, ms.
    pub period_ms: i64,
    /// Recorded incidents the figures rest on: (store id, source, note/link).
    pub recorded: Vec<(i64, String, String)>,
    /// Time with neither checks nor a record, ms (the report's no-data time).
    pub unmonitored_ms: i64,
    /// How the contract asked that time to be counted.
    pub unmonitored: Unmonitored,
}

/// What [`build`] reads, all already computed by `data.rs`.
pub(super) struct Inputs<'a> {
    /// Heartbeat segments read for the contract (any vantage).
    pub(super) coverage: &'a [Coverage],
    /// Time the checks alone measured, inside the period and the contract's life.
    pub(super) monitored: &'a Intervals,
    /// The period, ms.
    pub(super) period: (i64, i64),
    /// The recorded incidents of the contract and its probes overlapping the period.
    pub(super) recorded: &'a [&'a Incident],
    /// The contract's no-data time in the period.
    pub(super) gaps: &'a Intervals,
    /// The contract's choice.
    pub(super) unmonitored: Unmonitored,
}

/// The basis of one contract's figures.
pub(super) fn build(i: &Inputs<'_>) -> Basis {
    let (ps, pe) = i.period;
    let monitored = i.monitored.clip(ps, pe);
    let mut vantages: Vec<String> = i
        .coverage
        .iter()
        .filter(|c| {
            !monitored
                .intersect(&Intervals::single(c.start.0, c.end.0))
                .is_empty()
        })
        .map(|c| c.vantage.clone())
        .collect();
    vantages.sort();
    vantages.dedup();
    let mut recorded: Vec<(i64, String, String)> = i
        .recorded
        .iter()
        .map(|r| (r.id, r.source.as_str().to_owned(), r.note.clone()))
        .collect();
    recorded.sort();
    recorded.dedup();
    Basis {
        vantages,
        monitored_ms: monitored.measure(),
        period_ms: pe - ps,
        recorded,
        unmonitored_ms: i.gaps.clip(ps, pe).measure(),
        unmonitored: i.unmonitored,
    }
}

/// `num / den` with one decimal, half-up, in the language's notation.
fn tenths(num: i64, den: i64, lang: Lang) -> String {
    let (n, d) = (i128::from(num.max(0)), i128::from(den.max(1)));
    let t = (n * 20 + d) / (2 * d);
    let sep = match lang {
        Lang::It => ',',
        Lang::En => '.',
    };
    format!("{}{sep}{}", t / 10, t % 10)
}

/// Hours with one decimal: "446.4 h"; under an hour in minutes ("12.5 min"), under a
/// minute in seconds ("13.2 s"), so a short measurement never reads as "0.0 h".
fn hours(ms: i64, lang: Lang) -> String {
    if ms > 0 && ms < 60_000 {
        format!("{} s", tenths(ms, 1_000, lang))
    } else if ms > 0 && ms < 3_600_000 {
        format!("{} min", tenths(ms, 60_000, lang))
    } else {
        format!("{} h", tenths(ms, 3_600_000, lang))
    }
}

/// True when some time was measured but less than a rounded tenth of a percent.
fn tiny(ms: i64, of: i64) -> bool {
    ms > 0 && tenths(ms.saturating_mul(100), of, Lang::En) == "0.0"
}

/// Percent of the period with one decimal: "62.0 %".
fn share(ms: i64, of: i64, lang: Lang) -> String {
    format!("{} %", tenths(ms.saturating_mul(100), of, lang))
}

/// A source as people read it.
fn source(s: &str, lang: Lang) -> String {
    match (s, lang) {
        ("manual", Lang::En) => "manual record".into(),
        ("manual", Lang::It) => "registrazione manuale".into(),
        ("status-page", Lang::En) => "the provider's status page".into(),
        ("status-page", Lang::It) => "pagina di stato del fornitore".into(),
        ("provider", Lang::En) => "the provider's statement".into(),
        ("provider", Lang::It) => "comunicazione del fornitore".into(),
        (other, _) => other.to_owned(),
    }
}

/// The distinct sources of the recorded incidents, in order of first appearance.
fn sources(b: &Basis, lang: Lang) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, s, _) in &b.recorded {
        let s = source(s, lang);
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn join(items: &[String], lang: Lang) -> String {
    let and = match lang {
        Lang::It => " e ",
        Lang::En => " and ",
    };
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{}{and}{last}", rest.join(", ")),
    }
}

/// What the figures rest on, in one sentence.
fn rests_on(c: &ContractReport, lang: Lang) -> String {
    let b = &c.basis;
    let n = b.recorded.len();
    let monitoring = (b.monitored_ms > 0).then(|| {
        let v = join(&b.vantages, lang);
        match lang {
            Lang::En => format!(
                "monitoring from {} {v} for {} of the period ({} of {})",
                if b.vantages.len() == 1 {
                    "vantage"
                } else {
                    "vantages"
                },
                if tiny(b.monitored_ms, b.period_ms) {
                    "less than 0.1 %".to_owned()
                } else {
                    share(b.monitored_ms, b.period_ms, lang)
                },
                hours(b.monitored_ms, lang),
                hours(b.period_ms, lang)
            ),
            Lang::It => format!(
                "sul monitoraggio {} {v} per {} del periodo ({} su {})",
                if b.vantages.len() == 1 {
                    "dal punto di osservazione"
                } else {
                    "dai punti di osservazione"
                },
                if tiny(b.monitored_ms, b.period_ms) {
                    "meno dello 0,1 %".to_owned()
                } else {
                    crate::report::words::it_prep("", &share(b.monitored_ms, b.period_ms, lang))
                },
                hours(b.monitored_ms, lang),
                hours(b.period_ms, lang)
            ),
        }
    });
    let records = (n > 0).then(|| {
        let s = join(&sources(b, lang), lang);
        match (lang, n) {
            (Lang::En, 1) => format!("1 recorded incident ({s})"),
            (Lang::En, _) => format!("{n} recorded incidents ({s})"),
            (Lang::It, 1) => format!("su 1 incidente registrato ({s})"),
            (Lang::It, _) => format!("su {n} incidenti registrati ({s})"),
        }
    });
    match (lang, monitoring, records) {
        (Lang::En, Some(m), Some(r)) => format!("Figures rest on {m}, and on {r}."),
        (Lang::En, Some(m), None) => format!("Figures rest on {m}; no incident was recorded."),
        (Lang::En, None, Some(r)) => {
            format!("Figures rest on {r}; no monitoring ran in the period.")
        }
        (Lang::En, None, None) => {
            "No monitoring ran in the period and no incident was recorded.".into()
        }
        (Lang::It, Some(m), Some(r)) => format!("I dati si basano {m} e {r}."),
        (Lang::It, Some(m), None) => {
            format!("I dati si basano {m}; nessun incidente è stato registrato.")
        }
        (Lang::It, None, Some(r)) => {
            format!("I dati si basano {r}; nel periodo non era attivo alcun monitoraggio.")
        }
        (Lang::It, None, None) => {
            "Nel periodo non era attivo alcun monitoraggio e nessun incidente è stato registrato."
                .into()
        }
    }
}

/// How the time with neither checks nor a record was counted, in one sentence;
/// none when there was no such time.
fn unmonitored(c: &ContractReport, lang: Lang) -> Option<String> {
    let b = &c.basis;
    if b.unmonitored_ms == 0 {
        return None;
    }
    let h = hours(b.unmonitored_ms, lang);
    let policy = c.evaluation.missing_data;
    let whose = match (b.unmonitored, lang) {
        (Unmonitored::Plan, Lang::En) => {
            format!("the plan's missing_data = \"{}\"", policy.as_str())
        }
        (Unmonitored::Plan, Lang::It) => {
            format!("missing_data = \"{}\" del piano", policy.as_str())
        }
        (u, Lang::En) => format!("the contract's unmonitored = \"{}\"", u.as_str()),
        (u, Lang::It) => format!("unmonitored = \"{}\" del contratto", u.as_str()),
    };
    Some(match (policy, lang) {
        (MissingData::AsUp, Lang::En) => {
            format!("The {h} with neither checks nor a record count as up ({whose}).")
        }
        (MissingData::AsDown, Lang::En) => {
            format!("The {h} with neither checks nor a record count as down ({whose}).")
        }
        (MissingData::Exclude, Lang::En) => format!(
            "The {h} with neither checks nor a record are left out of the measured time ({whose})."
        ),
        (MissingData::AsUp, Lang::It) => format!(
            "Le {h} senza controlli né registrazioni contano come servizio disponibile ({whose})."
        ),
        (MissingData::AsDown, Lang::It) => format!(
            "Le {h} senza controlli né registrazioni contano come servizio non disponibile ({whose})."
        ),
        (MissingData::Exclude, Lang::It) => format!(
            "Le {h} senza controlli né registrazioni sono escluse dal tempo misurato ({whose})."
        ),
    })
}

/// One or two sentences for the first lines of a report's contract section, a
/// letter or the terminal: "Figures rest on monitoring from vantage X for 62.0 % of
/// the period (446.4 h of 744.0 h), and on 3 recorded incidents (...)." No escaping.
pub fn summary(c: &ContractReport, lang: Lang) -> String {
    let mut s = rests_on(c, lang);
    if let Some(u) = unmonitored(c, lang) {
        s.push(' ');
        s.push_str(&u);
    }
    s
}

/// "#12 (the provider's status page): note", one per recorded incident.
pub(crate) fn record_lines(c: &ContractReport, lang: Lang) -> Vec<(String, String)> {
    c.basis
        .recorded
        .iter()
        .map(|(id, src, note)| (format!("#{id} ({})", source(src, lang)), note.clone()))
        .collect()
}

/// The basis as Markdown, escaped, for the top of a contract's section (ends with a
/// blank line).
pub(crate) fn md(c: &ContractReport, lang: Lang) -> String {
    let mut s = format!(
        "**{}** {}\n\n",
        match lang {
            Lang::En => "Basis.",
            Lang::It => "Base dei dati.",
        },
        md::esc(&summary(c, lang))
    );
    let lines = record_lines(c, lang);
    if !lines.is_empty() {
        for (head, note) in lines {
            let _ = write!(s, "- {}", md::esc(&head));
            if !note.is_empty() {
                let _ = write!(s, ": {}", md::esc(&note));
            }
            s.push('\n');
        }
        s.push('\n');
    }
    s
}

/// The basis in the JSON report (`"basis"`, docs/report-json.md).
pub(crate) fn json(c: &ContractReport) -> serde_json::Value {
    let b = &c.basis;
    serde_json::json!({
        "vantages": b.vantages,
        "monitored_minutes": super::text::minutes(b.monitored_ms),
        "period_minutes": super::text::minutes(b.period_ms),
        "monitored_pct": tenths(b.monitored_ms.saturating_mul(100), b.period_ms, Lang::En),
        "recorded": b.recorded.iter().map(|(id, source, note)| serde_json::json!({
            "id": id, "source": source, "note": note,
        })).collect::<Vec<_>>(),
        "unmonitored_minutes": super::text::minutes(b.unmonitored_ms),
        "unmonitored": b.unmonitored.as_str(),
        "unmonitored_counted": c.evaluation.missing_data.as_str(),
        "summary": summary(c, Lang::En),
    })
}

/// The columns the contracts CSV appends, in order.
pub(crate) const CSV_COLUMNS: [&str; 6] = [
    "basis_vantages",
    "basis_monitored_pct",
    "basis_monitored_hours",
    "basis_recorded_incidents",
    "basis_unmonitored_hours",
    "basis_unmonitored",
];

/// The cells for [`CSV_COLUMNS`] (not yet through `csv::field`).
pub(crate) fn csv(c: &ContractReport) -> Vec<String> {
    let b = &c.basis;
    vec![
        b.vantages.join(" "),
        tenths(b.monitored_ms.saturating_mul(100), b.period_ms, Lang::En),
        tenths(b.monitored_ms, 3_600_000, Lang::En),
        b.recorded
            .iter()
            .map(|(id, s, _)| format!("{id}:{s}"))
            .collect::<Vec<_>>()
            .join(" "),
        tenths(b.unmonitored_ms, 3_600_000, Lang::En),
        b.unmonitored.as_str().to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_round_half_up_in_each_notation() {
        assert_eq!(tenths(62, 100, Lang::En), "0.6");
        assert_eq!(tenths(5, 100, Lang::En), "0.1");
        assert_eq!(tenths(4, 100, Lang::En), "0.0");
        assert_eq!(tenths(1_607_040_000, 3_600_000, Lang::It), "446,4");
        assert_eq!(share(2, 3, Lang::En), "66.7 %");
        assert_eq!(share(0, 0, Lang::It), "0,0 %");
        assert_eq!(hours(2_678_400_000, Lang::En), "744.0 h");
        assert_eq!(hours(13_240, Lang::En), "13.2 s");
        assert_eq!(hours(750_000, Lang::It), "12,5 min");
        assert!(tiny(13_240, 2_592_000_000) && !tiny(0, 2_592_000_000));
    }

    #[test]
    fn lists_join_with_the_language_conjunction() {
        let v = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(join(&v, Lang::En), "a, b and c");
        assert_eq!(join(&v[..1], Lang::It), "a");
        assert_eq!(join(&v[..2], Lang::It), "a e b");
    }
}
