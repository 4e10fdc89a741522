//! The Markdown report, for pasting into a ticket. Free text is escaped so it can
//! neither break a table (`|`, newlines) nor inject markup (`<`, `[`, `*` ...).

use super::Lang;
use super::data::{ContractReport, Report};
use super::text;
use std::fmt::Write as _;

/// Escapes text for a Markdown paragraph or table cell: ASCII punctuation that
/// Markdown or HTML gives a meaning is backslash-escaped, line breaks become spaces.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' | '&' => {
                out.push('\\');
                out.push(ch);
            }
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn row(s: &mut String, cells: &[String]) {
    s.push('|');
    for c in cells {
        let _ = write!(s, " {c} |");
    }
    s.push('\n');
}

fn contract(s: &mut String, c: &ContractReport, chain: Option<&(i64, String)>, lang: Lang) {
    let ev = &c.evaluation;
    let tz = &c.plan.window.timezone;
    let _ = writeln!(
        s,
        "\n## {} — {}\n",
        esc(&c.contract.id),
        esc(&text::customer(c))
    );
    let _ = writeln!(
        s,
        "Plan **{}**{}: {}.\n",
        esc(&c.plan.id),
        c.plan
            .provider
            .as_deref()
            .map(|p| format!(" of {}", esc(p)))
            .unwrap_or_default(),
        esc(&c.plan.describe())
    );
    let facts = [
        ("Period", esc(&text::period(c))),
        (
            "Availability",
            format!(
                "{} (target {} %)",
                esc(&text::availability(c)),
                c.plan.objective.target
            ),
        ),
        ("Downtime", esc(&text::downtime(ev))),
        (
            "Measured time",
            format!("{} min", text::minutes_q(&ev.measured_ms)),
        ),
        ("No data", esc(&text::no_data(c))),
        (
            "SLA breached",
            if ev.breach { "**yes**" } else { "no" }.to_owned(),
        ),
        ("Compensation", esc(&text::compensation(c))),
        ("Claim", esc(&text::deadline(c))),
        ("Deadline", super::deadline::md(c, lang)),
        (
            "Probes",
            esc(&format!(
                "{} (unavailable when {} down)",
                c.contract.probes.join(", "),
                super::data::unavailable_when_text(&c.contract)
            )),
        ),
        (
            "Evidence",
            format!(
                "SHA-256 `{}` over {} checks ({} runs, {} failed checks){}",
                c.evidence.sha256,
                c.evidence.checks,
                c.evidence.runs,
                c.evidence.failures,
                chain.map_or(String::new(), |(seal, head)| format!(
                    "; hash chain head at seal {seal}: `{head}`"
                ))
            ),
        ),
    ];
    for (k, v) in facts {
        let _ = writeln!(s, "- **{k}:** {v}");
    }
    if c.incidents.is_empty() {
        s.push_str("\nNo outage in this period.\n");
    } else {
        s.push_str("\n### Incidents\n\n");
        row(
            s,
            &[
                "#",
                "Start",
                "End",
                "Duration",
                "Proven",
                "Uncertainty (start / end)",
                "Counted",
                "Classes",
                "Probes",
                "Vantage",
                "Source",
                "Details",
            ]
            .map(String::from),
        );
        row(
            s,
            &std::array::from_fn::<String, 12, _>(|_| "---".to_owned()),
        );
        for (i, r) in c.incidents.iter().enumerate() {
            row(
                s,
                &[
                    (i + 1).to_string(),
                    esc(&text::local(r.start.0, tz)),
                    format!(
                        "{}{}",
                        esc(&text::local(r.end.0, tz)),
                        if r.open { " (still open)" } else { "" }
                    ),
                    format!("{} min", text::minutes(r.duration_ms())),
                    format!("{} min", text::minutes(r.proven_ms)),
                    text::uncertainty(r),
                    esc(&text::fate(r)),
                    esc(&text::classes(r)),
                    esc(&r.probes.join(", ")),
                    esc(&r.vantages.join(", ")),
                    esc(&r.sources.join(", ")),
                    r.details
                        .iter()
                        .map(|d| esc(d))
                        .collect::<Vec<_>>()
                        .join("; "),
                ],
            );
        }
    }
    if !c.maintenance.is_empty() {
        s.push_str("\n### Maintenance\n\n");
        for m in &c.maintenance {
            let _ = writeln!(
                s,
                "- {} to {} (announced {}){}",
                esc(&text::local(m.start.0, tz)),
                esc(&text::local(m.end.0, tz)),
                esc(&m
                    .announced_at
                    .map_or_else(|| "unknown".to_owned(), |a| text::local(a.0, tz))),
                m.note
                    .as_deref()
                    .map(|n| format!(": {}", esc(n)))
                    .unwrap_or_default()
            );
        }
    }
    if !c.gaps.is_empty() {
        s.push_str("\n### No data\n\n");
        for (a, b) in &c.gaps {
            let _ = writeln!(
                s,
                "- {} to {} ({} min)",
                esc(&text::local(a.0, tz)),
                esc(&text::local(b.0, tz)),
                text::minutes(b.0 - a.0)
            );
        }
    }
    // The working goes in a fenced block, so nothing in it needs escaping; a fence
    // inside a line (never written by the engine) is broken up.
    s.push_str("\n### How the figures were computed\n\n```text\n");
    for (i, line) in ev.trace.iter().enumerate() {
        let _ = writeln!(s, "{:>2}. {}", i + 1, line.replace("```", "'''"));
    }
    s.push_str("```\n");
}

/// The whole report.
pub(super) fn render(r: &Report, lang: Lang) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {} — {}\n",
        super::words::ui("report", lang),
        esc(&r.period)
    );
    let _ = writeln!(
        s,
        "Made by slawatch at vantage **{}** on {} (UTC). Instants are in each plan's time zone; intervals are \\[start, end).",
        esc(&r.vantage),
        esc(&text::utc(r.generated_at.0))
    );
    if r.provisional {
        s.push_str("\n> **Provisional:** made before the period was over and sealed; the figures are so far.\n");
    }
    s.push_str("\n## Summary\n\n");
    row(
        &mut s,
        &[
            "Contract",
            "Customer",
            "Availability",
            "Target",
            "Breach",
            "Owed",
            "Claim",
        ]
        .map(String::from),
    );
    row(
        &mut s,
        &std::array::from_fn::<String, 7, _>(|_| "---".to_owned()),
    );
    for c in &r.contracts {
        row(
            &mut s,
            &[
                esc(&c.contract.id),
                esc(&text::customer(c)),
                esc(&text::availability(c)),
                format!("{} %", c.plan.objective.target),
                if c.evaluation.breach { "**yes**" } else { "no" }.to_owned(),
                esc(&text::compensation(c)),
                esc(&text::deadline(c)),
            ],
        );
    }
    let (owed, days) = r.owed();
    let _ = writeln!(
        s,
        "\n{} contract{}, {} breached; owed: {}{}.",
        r.contracts.len(),
        if r.contracts.len() == 1 { "" } else { "s" },
        r.breached(),
        if owed.is_empty() {
            "nothing".to_owned()
        } else {
            owed.iter()
                .map(|(c, a)| format!("{a} {}", esc(c)))
                .collect::<Vec<_>>()
                .join(" + ")
        },
        if days > 0 {
            format!(", and {days} days of service")
        } else {
            String::new()
        }
    );
    for (id, why) in &r.skipped {
        let _ = writeln!(s, "\nNot evaluated: **{}**: {}", esc(id), esc(why));
    }
    for c in &r.contracts {
        contract(&mut s, c, r.chain.as_ref(), lang);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_pipes_markup_and_newlines() {
        assert_eq!(
            esc("a|b <script>*x*\n[l](u)"),
            "a\\|b \\<script\\>\\*x\\* \\[l\\](u)"
        );
    }
}
