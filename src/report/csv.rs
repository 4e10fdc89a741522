//! CSV for spreadsheets (RFC 4180): one row per contract and period, and one row per
//! incident. Lines end in CRLF; a field holding a comma, a quote or a line break is
//! quoted, quotes doubled. Every field goes through [`field`]: one that a
//! spreadsheet could run as a formula gets a leading `'` so it shows as text
//! (OWASP's CSV injection advice): it starts with `=`, `+`, `-`, `@`, a tab or a CR,
//! or with their full-width forms (`＝` `＋` `－` `＠`, which some spreadsheets fold
//! to ASCII), or with whitespace before any of these (which some importers trim).
//! No figure of ours starts with one of these.

use super::data::Report;
use super::text;
use crate::sla::num;

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 10] = [
    '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// Whether a spreadsheet could take `s` for a formula.
fn formula_like(s: &str) -> bool {
    s.starts_with(FORMULA_START)
        || s.trim_start_matches(|c: char| c.is_whitespace() || c.is_control())
            .starts_with(FORMULA_START)
}

/// One field, defused and quoted when needed.
pub(super) fn field(s: &str) -> String {
    let guarded = if formula_like(s) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// One CSV row of `cells` (quoted as [`field`] does) ending in CRLF, appended to `out`.
pub(super) fn line(out: &mut String, cells: &[String]) {
    let row: Vec<String> = cells.iter().map(|c| field(c)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `contracts.csv`: one row per contract and period.
pub(super) fn contracts(r: &Report) -> String {
    let mut out = String::new();
    line(
        &mut out,
        &[
            "period",
            "contract",
            "customer",
            "customer_type",
            "plan",
            "terms",
            "timezone",
            "period_start",
            "period_end",
            "availability_pct",
            "target_pct",
            "downtime_minutes",
            "measured_minutes",
            "no_data_minutes",
            "missing_data",
            "breach",
            "credit_amount",
            "currency",
            "extension_days",
            "extension_hours",
            "form",
            "claim_deadline",
            "claim_deadline_state",
            "incidents",
            "incidents_counted",
            "evidence_sha256",
            "evidence_checks",
        ]
        .into_iter()
        .chain(super::basis::CSV_COLUMNS)
        .map(String::from)
        .chain(super::compare::CSV_HEADERS.map(String::from))
        .collect::<Vec<_>>(),
    );
    for c in &r.contracts {
        let e = &c.evaluation;
        line(
            &mut out,
            &[
                e.period.label.clone(),
                c.contract.id.clone(),
                opt(c.contract.customer.as_ref()),
                c.customer_type.as_str().to_owned(),
                c.plan.id.clone(),
                c.plan.describe(),
                c.plan.window.timezone_name.clone(),
                text::utc(e.period.start),
                text::utc(e.period.end),
                opt(e.availability_pct()),
                c.plan.objective.target.to_string(),
                text::minutes_q(&e.downtime_ms),
                text::minutes_q(&e.measured_ms),
                text::minutes(e.no_data_ms),
                e.missing_data.as_str().to_owned(),
                e.breach.to_string(),
                opt(e.credit.as_ref().map(|m| m.amount)),
                e.credit
                    .as_ref()
                    .map_or_else(|| c.currency.clone(), |m| m.currency.clone()),
                opt(e.extension_days),
                opt(e.extension_hours.as_ref().map(num::exact)),
                opt(e.form.map(crate::sla::plan::CreditForm::as_str)),
                opt(e.claim_deadline.map(text::utc)),
                super::deadline::csv(c),
                c.incidents.len().to_string(),
                c.incidents
                    .iter()
                    .filter(|i| i.excluded.is_none())
                    .count()
                    .to_string(),
                c.evidence.sha256.clone(),
                c.evidence.checks.to_string(),
            ]
            .into_iter()
            .chain(super::basis::csv(c))
            .chain(super::compare::csv(c))
            .collect::<Vec<_>>(),
        );
    }
    out
}

/// `incidents.csv`: one row per incident of every contract.
pub(super) fn incidents(r: &Report) -> String {
    let mut out = String::new();
    line(
        &mut out,
        &[
            "period",
            "contract",
            "incident",
            "start",
            "end",
            "start_local",
            "end_local",
            "open",
            "duration_minutes",
            "proven_minutes",
            "uncertainty_minutes",
            "counted_minutes",
            "excluded",
            "maintenance_minutes",
            "classes",
            "probes",
            "vantages",
            "sources",
            "details",
        ]
        .map(String::from),
    );
    for c in &r.contracts {
        let tz = &c.plan.window.timezone;
        for (i, x) in c.incidents.iter().enumerate() {
            line(
                &mut out,
                &[
                    c.evaluation.period.label.clone(),
                    c.contract.id.clone(),
                    (i + 1).to_string(),
                    text::utc(x.start.0),
                    text::utc(x.end.0),
                    text::local(x.start.0, tz),
                    text::local(x.end.0, tz),
                    x.open.to_string(),
                    text::minutes(x.duration_ms()),
                    text::minutes(x.proven_ms),
                    opt(x.uncertainty_ms.map(text::minutes)),
                    text::minutes_q(&x.counted_ms),
                    opt(x.excluded.as_ref()),
                    text::minutes(x.maintenance_ms),
                    x.classes
                        .iter()
                        .map(|(c, n)| format!("{c}:{n}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    x.probes.join(" "),
                    x.vantages.join(" "),
                    x.sources.join(" "),
                    x.details.join("\n"),
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
    fn quotes_as_rfc_4180_says_and_defuses_formulas() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field(""), "");
        for planted in [
            "+1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            " =1+1",
            "\n=1+1",
            "\u{FF1D}1+1",
        ] {
            assert!(
                field(planted).trim_start_matches('"').starts_with('\''),
                "{planted:?} -> {:?}",
                field(planted)
            );
        }
        assert_eq!(field("a = b"), "a = b");
    }
}
