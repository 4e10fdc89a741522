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
    let t = |en: &'static str, it: &'static str| text::t(lang, en, it);
    let local = |ms: i64| esc(&text::local_in(ms, tz, lang));
    let _ = writeln!(
        s,
        "\n## {} — {}\n",
        esc(&c.contract.id),
        esc(&text::customer(c))
    );
    s.push_str(&super::basis::md(c, lang));
    s.push_str(&super::compare::md(c, lang));
    let _ = writeln!(
        s,
        "{} **{}**{}: {}.\n",
        t("Plan", "Piano"),
        esc(&c.plan.id),
        c.plan
            .provider
            .as_deref()
            .map(|p| format!(" {} {}", t("of", "di"), esc(p)))
            .unwrap_or_default(),
        esc(&super::terms::describe(&c.plan, lang))
    );
    let (checks, runs, failures) = text::evidence_counts_in(c, lang);
    let probes = c.contract.probes.join(", ");
    let facts = [
        (t("Period", "Periodo"), esc(&text::period_in(c, lang))),
        (
            t("Availability", "Disponibilità"),
            format!(
                "{} ({} {})",
                esc(&text::availability_in(c, lang)),
                t("target", "garantita"),
                text::target_in(c, lang)
            ),
        ),
        (
            t("Downtime", "Disservizio"),
            esc(&text::downtime_in(ev, lang)),
        ),
        (
            t("Measured time", "Tempo misurato"),
            format!("{} min", text::minutes_q_in(&ev.measured_ms, lang)),
        ),
        (t("No data", "Senza dati"), esc(&text::no_data_in(c, lang))),
        (
            t("SLA breached", "SLA violato"),
            if ev.breach {
                format!("**{}**", t("yes", "sì"))
            } else {
                t("no", "no").to_owned()
            },
        ),
        (
            t("Compensation", "Indennizzo"),
            esc(&text::compensation_in(c, lang)),
        ),
        (t("Claim", "Richiesta"), esc(&text::deadline_in(c, lang))),
        (t("Deadline", "Termine"), super::deadline::md(c, lang)),
        (
            t("Probes", "Sonde"),
            esc(&format!("{probes} ({})", text::unavailable_in(c, lang))),
        ),
        (
            t("Evidence", "Prove"),
            format!(
                "SHA-256 `{}` {}{}",
                c.evidence.sha256,
                match lang {
                    Lang::En =>
                        format!("over {checks} checks ({runs} runs, {failures} failed checks)"),
                    Lang::It => format!(
                        "su {checks} controlli ({runs} serie, {failures} controlli falliti)"
                    ),
                },
                chain.map_or(String::new(), |(seal, head)| format!(
                    "; {} {seal}: `{head}`",
                    t(
                        "hash chain head at seal",
                        "testa della catena di hash al sigillo"
                    )
                ))
            ),
        ),
    ];
    for (k, v) in facts {
        let _ = writeln!(s, "- **{k}:** {v}");
    }
    if c.incidents.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            t(
                "No outage in this period.",
                "Nessun disservizio nel periodo."
            )
        );
    } else {
        let _ = write!(s, "\n### {}\n\n", t("Incidents", "Interruzioni"));
        row(
            s,
            &match lang {
                Lang::En => [
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
                ],
                Lang::It => [
                    "#",
                    "Inizio",
                    "Fine",
                    "Durata",
                    "Provato",
                    "Incertezza (inizio / fine)",
                    "Conteggio",
                    "Classi",
                    "Sonde",
                    "Punto di rilevazione",
                    "Fonte",
                    "Dettagli",
                ],
            }
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
                    local(r.start.0),
                    format!(
                        "{}{}",
                        local(r.end.0),
                        if r.open {
                            t(" (still open)", " (ancora in corso)")
                        } else {
                            ""
                        }
                    ),
                    format!("{} min", text::minutes_in(r.duration_ms(), lang)),
                    format!("{} min", text::minutes_in(r.proven_ms, lang)),
                    text::uncertainty_in(r, lang),
                    esc(&text::fate_in(r, lang)),
                    esc(&text::classes_in(r, lang)),
                    esc(&r.probes.join(", ")),
                    esc(&c.consensus.as_ref().map_or_else(
                        || r.vantages.join(", "),
                        |v| {
                            v.incidents
                                .get(i)
                                .map(|seen| super::consensus::seen_in(seen, lang))
                                .unwrap_or_default()
                        },
                    )),
                    esc(&text::sources_in(r, lang)),
                    r.details
                        .iter()
                        .map(|d| esc(d))
                        .collect::<Vec<_>>()
                        .join("; "),
                ],
            );
        }
    }
    if let Some(view) = &c.consensus {
        vantages(s, view, tz, lang);
    }
    s.push_str(&super::records::md(c, lang));
    if !c.maintenance.is_empty() {
        let _ = write!(s, "\n### {}\n\n", t("Maintenance", "Manutenzione"));
        for m in &c.maintenance {
            let _ = writeln!(
                s,
                "- {} {} {} ({} {}){}",
                local(m.start.0),
                t("to", "–"),
                local(m.end.0),
                t("announced", "annunciata"),
                m.announced_at
                    .map_or_else(|| t("unknown", "non nota").to_owned(), |a| local(a.0)),
                m.note
                    .as_deref()
                    .map(|n| format!(": {}", esc(n)))
                    .unwrap_or_default()
            );
        }
    }
    if !c.gaps.is_empty() {
        let _ = write!(s, "\n### {}\n\n", t("No data", "Senza dati"));
        for (a, b) in &c.gaps {
            let _ = writeln!(
                s,
                "- {} {} {} ({} min)",
                local(a.0),
                t("to", "–"),
                local(b.0),
                text::minutes_in(b.0 - a.0, lang)
            );
        }
    }
    // The working goes in a fenced block, so nothing in it needs escaping; a fence
    // inside a line (never written by the engine) is broken up.
    let _ = write!(
        s,
        "\n### {}\n\n```text\n",
        t(
            "How the figures were computed",
            "Come sono state calcolate le cifre (passaggi del motore di calcolo, in inglese)"
        )
    );
    for (i, line) in ev.trace.iter().enumerate() {
        let _ = writeln!(s, "{:>2}. {}", i + 1, line.replace("```", "'''"));
    }
    s.push_str("```\n");
}

/// Each vantage's view beside the consensus (several vantages, or a rule needing
/// more than one).
fn vantages(s: &mut String, view: &super::consensus::View, tz: &jiff::tz::TimeZone, lang: Lang) {
    let t = |en: &'static str, it: &'static str| text::t(lang, en, it);
    let local = |ms: i64| esc(&text::local_in(ms, tz, lang));
    let _ = write!(
        s,
        "\n### {}\n\n{}.\n\n",
        t("Vantages", "Punti di rilevazione"),
        esc(&super::consensus::rule_in(view, lang))
    );
    for line in super::consensus::short_in(view, lang) {
        let _ = writeln!(
            s,
            "- **{}** {}",
            t("No consensus:", "Nessun consenso:"),
            esc(&line)
        );
    }
    if !view.short.is_empty() {
        s.push('\n');
    }
    row(
        s,
        &[
            t("Vantage", "Punto di rilevazione"),
            t("Saw down", "Disservizi rilevati"),
            t("No data", "Senza dati"),
            t("Measured", "Misurato"),
            t("Hash chain head", "Testa della catena di hash"),
        ]
        .map(String::from),
    );
    row(
        s,
        &std::array::from_fn::<String, 5, _>(|_| "---".to_owned()),
    );
    for v in &view.vantages {
        let down: Vec<String> = v
            .down
            .iter()
            .map(|&(a, b)| format!("{} {} {}", local(a), t("to", "–"), local(b)))
            .collect();
        let no_data: i64 = v.no_data.iter().map(|(a, b)| b - a).sum();
        row(
            s,
            &[
                esc(&v.name),
                if down.is_empty() {
                    t("none", "nessuno").to_owned()
                } else {
                    down.join("; ")
                },
                format!("{} min", text::minutes_in(no_data, lang)),
                format!("{} min", text::minutes_in(v.measured_ms, lang)),
                v.chain.as_ref().map_or_else(
                    || "—".to_owned(),
                    |(seal, head)| format!("{seal}: `{head}`"),
                ),
            ],
        );
    }
}

/// The whole report.
pub(super) fn render(r: &Report, lang: Lang) -> String {
    let t = |en: &'static str, it: &'static str| text::t(lang, en, it);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {} — {}\n",
        super::words::ui("report", lang),
        esc(&r.period)
    );
    match lang {
        Lang::En => {
            let _ = writeln!(
                s,
                "Made by slawatch at vantage **{}** on {} (UTC). Instants are in each plan's time zone; intervals are \\[start, end).",
                esc(&r.vantage),
                esc(&text::utc(r.generated_at.0))
            );
        }
        Lang::It => {
            let _ = writeln!(
                s,
                "Prodotto da slawatch dal punto di rilevazione **{}** il {} (UTC). Gli orari sono nel fuso orario di ciascun piano; gli intervalli includono l'inizio ed escludono la fine.",
                esc(&r.vantage),
                esc(&super::words::datetime(
                    r.generated_at.0,
                    &jiff::tz::TimeZone::UTC,
                    lang
                ))
            );
        }
    }
    if r.provisional {
        s.push_str(t(
            "\n> **Provisional:** made before the period was over and sealed; the figures are so far.\n",
            "\n> **Provvisorio:** prodotto prima che il periodo fosse concluso e sigillato; le cifre sono parziali.\n",
        ));
    }
    let _ = write!(s, "\n## {}\n\n", t("Summary", "Riepilogo"));
    row(
        &mut s,
        &match lang {
            Lang::En => [
                "Contract",
                "Customer",
                "Availability",
                "Target",
                "Breach",
                "Owed",
                "Claim",
            ],
            Lang::It => [
                "Contratto",
                "Cliente",
                "Disponibilità",
                "Garantita",
                "Violazione",
                "Dovuto",
                "Richiesta",
            ],
        }
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
                esc(&text::availability_in(c, lang)),
                text::target_in(c, lang),
                if c.evaluation.breach {
                    format!("**{}**", t("yes", "sì"))
                } else {
                    t("no", "no").to_owned()
                },
                esc(&text::compensation_in(c, lang)),
                esc(&text::deadline_in(c, lang)),
            ],
        );
    }
    let (owed_text, days) = text::owed_total(r, lang);
    let owed_text = esc(&owed_text);
    let more = text::days_of_service(days, lang);
    let n = r.contracts.len();
    let _ = writeln!(
        s,
        "\n{}",
        match lang {
            Lang::En => format!(
                "{n} contract{}, {} breached; owed: {owed_text}{}.",
                if n == 1 { "" } else { "s" },
                r.breached(),
                more
            ),
            Lang::It => format!(
                "{n} contratt{}, {} con lo SLA violato; dovuto: {owed_text}{}.",
                if n == 1 { "o" } else { "i" },
                r.breached(),
                more
            ),
        }
    );
    for (id, why) in &r.skipped {
        let _ = writeln!(
            s,
            "\n{}: **{}**: {}",
            t("Not evaluated", "Non valutato"),
            esc(id),
            esc(why)
        );
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
