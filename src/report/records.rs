//! The evidence recorded by hand: every stored incident record that concerns a
//! contract in the period ([`super::ContractReport::records`]), superseded and
//! withdrawn ones included, so a reader sees what was entered, when, what
//! corrected it and why; and what the figures take from those records (the latest
//! record of each chain, a withdrawn one not at all, an open one until the
//! period's end or the report's time, its cause).

use super::{ContractReport, Lang, Report};
use crate::config::Contract;
use crate::model::UtcMillis;
use crate::store::{Incident, IncidentSource};
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The records that concern contract `c` (its id, or one of its probes) and
/// overlap `[from, to)` (an open one from its start on), with the whole chain
/// (earlier and later records) of each, oldest id first.
pub(super) fn of(all: &[Incident], c: &Contract, from: i64, to: i64) -> Vec<Incident> {
    let concerns = |i: &Incident| match (&i.contract, &i.probe) {
        (Some(id), _) => *id == c.id,
        (None, Some(p)) => c.probes.contains(p),
        (None, None) => false,
    };
    let mut ids: BTreeSet<i64> = all
        .iter()
        .filter(|i| concerns(i))
        .filter(|i| i.start.0 < to && (i.open || i.end.0 > from))
        .map(|i| i.id)
        .collect();
    // Whole chains: a record's predecessors and successors, until nothing is added.
    loop {
        let before = ids.len();
        for i in all {
            if let Some(s) = i.supersedes {
                if ids.contains(&i.id) {
                    ids.insert(s);
                } else if ids.contains(&s) {
                    ids.insert(i.id);
                }
            }
        }
        if ids.len() == before {
            break;
        }
    }
    let mut v: Vec<Incident> = all
        .iter()
        .filter(|i| ids.contains(&i.id))
        .cloned()
        .collect();
    v.sort_by_key(|i| i.id);
    v
}

/// What the figures read of the records in effect: an open record ends at `at`
/// (the report's time; the period's end clips it further), never before it starts.
pub(super) fn open_until(mut effective: Vec<Incident>, at: UtcMillis) -> Vec<Incident> {
    for i in &mut effective {
        if i.open {
            i.end = UtcMillis(at.0.max(i.start.0));
        }
    }
    effective
}

/// [`open_until`]'s records with an open one ending at `period_end` at the latest:
/// an open incident counts until the period's end or the report's time, whichever
/// is first.
pub(super) fn clip_open(manual: &[Incident], period_end: i64) -> Vec<Incident> {
    let mut v = manual.to_vec();
    for i in &mut v {
        if i.open && i.end.0 > period_end {
            i.end = UtcMillis(period_end.max(i.start.0));
        }
    }
    v
}

/// The cause of a stretch of downtime: the one every record in it gives, none when
/// a record gives none or two disagree. Measured outages carry no cause: the
/// person's record says what caused the time it covers.
pub(super) fn common_cause(causes: &[Option<String>]) -> Option<String> {
    let first = causes.first()?.clone()?;
    causes
        .iter()
        .all(|c| c.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// The zone a record was entered in, else the plan's.
fn zone_of(i: &Incident, plan: &TimeZone) -> TimeZone {
    i.tz.as_deref()
        .and_then(|t| crate::store::parse_zone(t).ok())
        .map_or_else(|| plan.clone(), |(_, tz)| tz)
}

/// "29 Apr 2011 04:30 (+02:00)", "29 aprile 2011 04:30 (+02:00)".
fn when(ms: UtcMillis, tz: &TimeZone, lang: Lang) -> String {
    let z = ms.to_timestamp().to_zoned_datetime(tz.clone());
    let day = match lang {
        Lang::En => z.strftime("%-d %b %Y").to_string(),
        Lang::It => format!(
            "{} {} {}",
            z.day(),
            super::words::month(z.date(), lang),
            z.year()
        ),
    };
    format!("{day} {}", z.strftime("%H:%M (%:z)"))
}

fn source(s: IncidentSource, lang: Lang) -> &'static str {
    match (s, lang) {
        (IncidentSource::Manual, Lang::En) => "entered by hand",
        (IncidentSource::StatusPage, Lang::En) => "provider's status page",
        (IncidentSource::Provider, Lang::En) => "provider's statement",
        (IncidentSource::Manual, Lang::It) => "inserimento manuale",
        (IncidentSource::StatusPage, Lang::It) => "pagina di stato del fornitore",
        (IncidentSource::Provider, Lang::It) => "dichiarazione del fornitore",
    }
}

/// One record's fields as text, unescaped: the Markdown escapes them with `md::esc`,
/// the HTML template (`templates/records.html`) by default.
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) concerns: String,
    pub(crate) source: String,
    pub(crate) cause: String,
    pub(crate) entered: String,
    pub(crate) start: String,
    pub(crate) end: String,
    pub(crate) note: String,
    pub(crate) attachments: Vec<String>,
    pub(crate) status: String,
}

/// The rows of `records`, each instant in its own zone (the plan's when it has none).
pub(crate) fn rows(records: &[Incident], plan_tz: &TimeZone, lang: Lang) -> Vec<Row> {
    let by: BTreeMap<i64, &Incident> = records
        .iter()
        .filter_map(|i| i.supersedes.map(|s| (s, i)))
        .collect();
    records
        .iter()
        .map(|i| {
            let tz = zone_of(i, plan_tz);
            let reason = i.reason.clone().unwrap_or_default();
            let status = match (by.get(&i.id), i.supersedes, i.withdrawn, lang) {
                (Some(n), _, _, Lang::En) if n.withdrawn => format!(
                    "withdrawn: {} (#{})",
                    n.reason.as_deref().unwrap_or(""),
                    n.id
                ),
                (Some(n), _, _, Lang::It) if n.withdrawn => format!(
                    "ritirata: {} (n. {})",
                    n.reason.as_deref().unwrap_or(""),
                    n.id
                ),
                (Some(n), _, _, Lang::En) => format!("superseded by #{}", n.id),
                (Some(n), _, _, Lang::It) => format!("sostituita dalla n. {}", n.id),
                (None, Some(s), true, Lang::En) => format!("withdrawal of #{s}: {reason}"),
                (None, Some(s), true, Lang::It) => format!("ritiro della n. {s}: {reason}"),
                (None, Some(s), false, Lang::En) => format!("counts; amends #{s}: {reason}"),
                (None, Some(s), false, Lang::It) => format!("conta; corregge la n. {s}: {reason}"),
                (None, None, _, Lang::En) => "counts".to_owned(),
                (None, None, _, Lang::It) => "conta".to_owned(),
            };
            Row {
                id: i.id.to_string(),
                concerns: match (&i.probe, &i.contract) {
                    (Some(p), _) => p.clone(),
                    (None, Some(id)) => id.clone(),
                    (None, None) => String::new(),
                },
                source: source(i.source, lang).to_owned(),
                cause: i.cause.clone().unwrap_or_default(),
                entered: when(i.created_at, &tz, lang),
                start: when(i.start, &tz, lang),
                end: if i.open {
                    match lang {
                        Lang::En => "open (no end yet)".to_owned(),
                        Lang::It => "in corso (fine non ancora nota)".to_owned(),
                    }
                } else {
                    when(i.end, &tz, lang)
                },
                note: i.note.clone(),
                attachments: i
                    .attachments
                    .iter()
                    .map(|(n, h)| format!("{n} (sha256 {h})"))
                    .collect(),
                status,
            }
        })
        .collect()
}

/// The section's title, introduction and column heads in one language.
pub(crate) struct Words {
    pub(crate) title: &'static str,
    pub(crate) intro: &'static str,
    pub(crate) head: [&'static str; 10],
}

pub(crate) fn words(lang: Lang) -> Words {
    match lang {
        Lang::En => Words {
            title: "Evidence recorded by hand",
            intro: "Every record entered for this contract, as stored and sealed: a \
                    correction or a withdrawal is a new record, and the one it replaces stays \
                    listed.",
            head: [
                "#",
                "Concerns",
                "Source",
                "Cause",
                "Entered",
                "Start",
                "End",
                "Note",
                "Attachments",
                "Status",
            ],
        },
        Lang::It => Words {
            title: "Prove registrate a mano",
            intro: "Ogni registrazione inserita per questo contratto, come conservata e \
                    sigillata: una correzione o un ritiro è una nuova registrazione, e quella \
                    che sostituisce resta nell'elenco.",
            head: [
                "N.", "Riguarda", "Fonte", "Causa", "Inserita", "Inizio", "Fine", "Nota",
                "Allegati", "Stato",
            ],
        },
    }
}

/// The list as a Markdown section (empty when the contract has no record).
pub(crate) fn md(c: &ContractReport, lang: Lang) -> String {
    if c.records.is_empty() {
        return String::new();
    }
    let esc = super::md::esc;
    let w = words(lang);
    let mut s = format!("\n### {}\n\n{}\n\n", w.title, esc(w.intro));
    for r in rows(&c.records, &c.plan.window.timezone, lang) {
        let _ = write!(
            s,
            "- #{} {}: {} – {}, {}",
            esc(&r.id),
            esc(&r.concerns),
            esc(&r.start),
            esc(&r.end),
            esc(&r.source)
        );
        if !r.cause.is_empty() {
            let _ = write!(s, ", {} {}", w.head[3].to_lowercase(), esc(&r.cause));
        }
        let _ = write!(
            s,
            "; {} {}; {}",
            w.head[4].to_lowercase(),
            esc(&r.entered),
            esc(&r.status)
        );
        if !r.note.is_empty() {
            let _ = write!(s, "; {}", esc(&r.note));
        }
        for a in &r.attachments {
            let _ = write!(s, "; {}", esc(a));
        }
        s.push('\n');
    }
    s
}

/// The records as JSON (documented in docs/report-json.md, `records[]`).
pub(crate) fn json(c: &ContractReport) -> serde_json::Value {
    let by: BTreeMap<i64, i64> = c
        .records
        .iter()
        .filter_map(|i| i.supersedes.map(|s| (s, i.id)))
        .collect();
    serde_json::Value::Array(
        c.records
            .iter()
            .map(|i| {
                let mut v = record_json(i, by.get(&i.id));
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("entered".into(), super::text::utc(i.created_at.0).into());
                    m.insert(
                        "counts".into(),
                        (!i.withdrawn && !by.contains_key(&i.id)).into(),
                    );
                }
                v
            })
            .collect(),
    )
}

/// The fields of a record that `records[]` of a report's JSON and `slawatch incident
/// list --json` share (each adds its own); `superseded_by` is the record that
/// supersedes it, if any. Times are RFC 3339 UTC.
pub(crate) fn record_json(i: &Incident, superseded_by: Option<&i64>) -> serde_json::Value {
    serde_json::json!({
        "id": i.id,
        "probe": i.probe,
        "contract": i.contract,
        "source": i.source.as_str(),
        "cause": i.cause,
        "start": i.start.to_string(),
        "end": (!i.open).then(|| i.end.to_string()),
        "open": i.open,
        "tz": i.tz,
        "note": i.note,
        "attachments": i.attachments.iter()
            .map(|(n, h)| serde_json::json!({"name": n, "sha256": h}))
            .collect::<Vec<_>>(),
        "supersedes": i.supersedes,
        "superseded_by": superseded_by,
        "withdrawn": i.withdrawn,
        "reason": i.reason,
    })
}

/// `records.csv`: one row per record of every contract (English status words).
pub(crate) fn csv(r: &Report) -> String {
    let mut out = String::new();
    let line = super::csv::line;
    line(
        &mut out,
        &[
            "period",
            "contract",
            "record",
            "concerns",
            "source",
            "cause",
            "entered",
            "start",
            "end",
            "open",
            "note",
            "attachments",
            "status",
        ]
        .map(String::from),
    );
    for c in &r.contracts {
        for (i, x) in c
            .records
            .iter()
            .zip(rows(&c.records, &c.plan.window.timezone, Lang::En))
        {
            line(
                &mut out,
                &[
                    c.evaluation.period.label.clone(),
                    c.contract.id.clone(),
                    x.id,
                    x.concerns,
                    i.source.as_str().to_owned(),
                    x.cause,
                    super::text::utc(i.created_at.0),
                    super::text::utc(i.start.0),
                    if i.open {
                        String::new()
                    } else {
                        super::text::utc(i.end.0)
                    },
                    i.open.to_string(),
                    x.note,
                    x.attachments.join("\n"),
                    x.status,
                ],
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_holds_only_when_every_record_gives_it() {
        let fm = Some("force_majeure".to_owned());
        assert_eq!(common_cause(&[fm.clone(), fm.clone()]), fm);
        assert_eq!(common_cause(&[fm.clone(), None]), None);
        assert_eq!(
            common_cause(&[fm.clone(), Some("customer".to_owned())]),
            None
        );
        assert_eq!(common_cause(&[]), None);
    }

    #[test]
    fn a_record_reads_as_json_with_the_fields_both_listings_share() {
        let open = Incident {
            id: 7,
            contract: Some("rossi-shop".to_owned()),
            start: UtcMillis(1_304_044_200_000),
            end: UtcMillis(1_304_044_200_000),
            open: true,
            supersedes: Some(6),
            attachments: vec![("shot.png".to_owned(), "cd".repeat(32))],
            ..Incident::default()
        };
        let v = record_json(&open, Some(&9));
        let keys: Vec<&str> = v
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "attachments",
                "cause",
                "contract",
                "end",
                "id",
                "note",
                "open",
                "probe",
                "reason",
                "source",
                "start",
                "superseded_by",
                "supersedes",
                "tz",
                "withdrawn"
            ]
        );
        assert_eq!(v["start"], "2011-04-29T02:30:00.000Z");
        assert_eq!(
            v["end"],
            serde_json::Value::Null,
            "an open record has no end"
        );
        assert_eq!(v["superseded_by"], 9);
        assert_eq!(v["attachments"][0]["name"], "shot.png");
    }

    #[test]
    fn a_chain_reads_in_italian_and_english() {
        let rome = TimeZone::get("Europe/Rome").expect("bundled");
        let rec = |id, supersedes, withdrawn, reason: Option<&str>| Incident {
            id,
            contract: Some("rossi-shop".to_owned()),
            start: UtcMillis(1_304_044_200_000),
            end: UtcMillis(1_304_344_800_000),
            created_at: UtcMillis(1_304_344_800_000),
            source: IncidentSource::Provider,
            supersedes,
            withdrawn,
            reason: reason.map(str::to_owned),
            attachments: vec![("avviso.pdf".to_owned(), "ab".repeat(32))],
            ..Incident::default()
        };
        let chain = [
            rec(1, None, false, None),
            rec(2, Some(1), false, Some("ripristino confermato")),
            rec(3, Some(2), true, Some("contratto sbagliato")),
        ];
        let it: Vec<(String, String, String)> = rows(&chain, &rome, Lang::It)
            .into_iter()
            .map(|r| (r.start, r.source, r.status))
            .collect();
        assert_eq!(
            it[0],
            (
                "29 aprile 2011 04:30 (+02:00)".to_owned(),
                "dichiarazione del fornitore".to_owned(),
                "sostituita dalla n. 2".to_owned()
            )
        );
        assert_eq!(it[1].2, "ritirata: contratto sbagliato (n. 3)");
        assert_eq!(it[2].2, "ritiro della n. 2: contratto sbagliato");
        let en: Vec<String> = rows(&chain, &rome, Lang::En)
            .into_iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(
            en,
            [
                "superseded by #2",
                "withdrawn: contratto sbagliato (#3)",
                "withdrawal of #2: contratto sbagliato"
            ]
        );
        let a = &rows(&chain, &rome, Lang::En)[0].attachments;
        assert_eq!(a[0], format!("avviso.pdf (sha256 {})", "ab".repeat(32)));
    }

    #[test]
    fn italian_dates_are_words() {
        let rome = TimeZone::get("Europe/Rome").expect("bundled");
        assert_eq!(
            when(UtcMillis(1_304_044_200_000), &rome, Lang::It),
            "29 aprile 2011 04:30 (+02:00)"
        );
    }
}
