//! The HTML report: one self-contained file (inline CSS and SVG, no script, no
//! external asset), printable, readable on a phone (every table scrolls inside its
//! own box; nothing is wider than the page at 375 px). All text is escaped.

use super::Lang;
use super::data::{ContractReport, Report};
use super::text;
use crate::sla::num;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A contract id as an HTML id: letters, digits, `-`, `_`, `.`; others become `_`.
pub(super) fn id_of(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

const CSS: &str = "
:root{--up:#2e7d32;--down:#c62828;--dropped:#ef9a9a;--maint:#1565c0;--nodata:#9e9e9e;--out:#eeeeee;--ink:#1a1a1a;--muted:#555}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);background:#fff}
main{max-width:62rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0 .5rem}
h2{font-size:1.2rem;margin:1.6rem 0 .4rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}
h3{font-size:1rem;margin:1rem 0 .3rem}
p,li,dd,dt{overflow-wrap:anywhere}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;word-break:break-all}
.banner{background:#fff3e0;border-left:4px solid #ef6c00;padding:.5rem .8rem}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.3rem .45rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
.scroll>table{min-width:40rem}
th{background:#f5f5f5}
td.num{text-align:right;white-space:nowrap}
.scroll>table.incidents{min-width:64rem}
.incidents td{min-width:5rem}
.incidents td.details{min-width:12rem;overflow-wrap:anywhere;word-break:break-word}
dl.facts{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.2rem .8rem;margin:.5rem 0}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0}
.breach{color:var(--down);font-weight:700}
.flag{color:var(--down);font-weight:700}
.verdict{border:1px solid #ccc;border-left:6px solid var(--up);padding:.4rem .8rem;margin:.5rem 0;max-width:100%}
.verdict.is-breach{border-left-color:var(--down)}
.verdict p{margin:.15rem 0}
.ok{color:var(--up);font-weight:700}
table.compare{margin:.4rem 0}table.compare td{overflow-wrap:anywhere}table.compare th{overflow-wrap:normal}table.compare caption{text-align:left;font-weight:600;padding:.2rem 0}table.compare tr.largest td{font-weight:700;background:#f1f8e9}p.method{font-size:.8rem;color:var(--muted);margin:.2rem 0 .6rem}
svg{display:block;width:100%;max-width:100%}
svg.timeline{height:2.6rem;border:1px solid #bbb}
svg.bar{height:1.4rem;border:1px solid #bbb}
.axis{display:flex;justify-content:space-between;gap:.5rem;font-size:.75rem;color:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.8rem;margin:.3rem 0;padding:0;list-style:none}
.legend span.sw{display:inline-block;width:.9rem;height:.9rem;vertical-align:-.15rem;margin-right:.3rem;border:1px solid #999}
ol.trace{font-size:.85rem;padding-left:1.8rem}
.muted{color:var(--muted)}
footer{margin-top:2rem;font-size:.8rem;color:var(--muted)}
@media (min-width:70rem){main{max-width:80rem}.scroll>table.incidents{min-width:0}.incidents td{min-width:3rem}.incidents td.num{white-space:normal}.incidents td.details{min-width:14rem}}
@media (max-width:40rem){dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4rem}main{padding:.6rem}}
@media print{
  body{font-size:10.5pt}
  main{max-width:none;padding:0}
  .scroll{overflow:visible}
  section.contract{break-before:page}
  table,svg,dl.facts,.legend{break-inside:avoid}
  a{color:inherit;text-decoration:none}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
";

/// The SVG width unit count: spans are placed to 1/10000 of the period.
const W: i64 = 10_000;
/// The narrowest span drawn, so a five-minute outage in a month stays visible.
const MIN_SPAN: i64 = 30;

fn x_of(t: i64, start: i64, end: i64) -> i64 {
    let len = i128::from((end - start).max(1));
    let off = i128::from(t.clamp(start, end) - start);
    i64::try_from(off * i128::from(W) / len).unwrap_or(W)
}

fn rect(out: &mut String, class: &str, x0: i64, x1: i64, y: u32, h: u32, title: &str) {
    let w = (x1 - x0).max(MIN_SPAN);
    let x = x0.min(W - w).max(0);
    let _ = write!(
        out,
        "<rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"><title>{}</title></rect>",
        esc(title)
    );
}

fn timeline_svg(c: &ContractReport, lang: Lang) -> String {
    let ev = &c.evaluation;
    let (ps, pe) = (ev.period.start, ev.period.end);
    let tz = &c.plan.window.timezone;
    let span = |s: i64, e: i64| {
        format!(
            "{} {} {}",
            text::local_in(s.max(ps), tz, lang),
            text::t(lang, "to", "–"),
            text::local_in(e.min(pe), tz, lang)
        )
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"timeline\" id=\"timeline-{}\" viewBox=\"0 0 {W} 100\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(&id_of(&c.contract.id)),
        esc(&match lang {
            Lang::En => format!(
                "Timeline of {} over {}: up, down, no data and maintenance",
                c.contract.id, ev.period.label
            ),
            Lang::It => format!(
                "Andamento di {} nel periodo {}: disponibile, disservizio, senza dati e manutenzione",
                c.contract.id, ev.period.label
            ),
        })
    );
    let _ = write!(
        s,
        "<style>.up{{fill:#2e7d32}}.down{{fill:#c62828}}.dropped{{fill:#ef9a9a}}.maint{{fill:#1565c0}}.nodata{{fill:#9e9e9e}}.out{{fill:#eeeeee}}</style>"
    );
    // Outside the contract's life, then up over its life.
    rect(
        &mut s,
        "out",
        0,
        W,
        0,
        100,
        text::t(lang, "outside the contract", "fuori dal contratto"),
    );
    let life_s = c.timeline.service_start.map_or(ps, |t| t.0.max(ps));
    let life_e = c.timeline.service_end.map_or(pe, |t| t.0.min(pe));
    if life_e > life_s {
        rect(
            &mut s,
            "up",
            x_of(life_s, ps, pe),
            x_of(life_e, ps, pe),
            0,
            100,
            &format!(
                "{}: {}",
                text::t(
                    lang,
                    "up (no outage measured)",
                    "disponibile (nessun disservizio misurato)"
                ),
                span(life_s, life_e)
            ),
        );
    }
    for (a, b) in &c.gaps {
        rect(
            &mut s,
            "nodata",
            x_of(a.0, ps, pe),
            x_of(b.0, ps, pe),
            0,
            100,
            &format!(
                "{}: {}",
                text::t(lang, "no data", "senza dati"),
                span(a.0, b.0)
            ),
        );
    }
    for (i, r) in c.incidents.iter().enumerate() {
        let counted = r.excluded.is_none();
        rect(
            &mut s,
            if counted { "down" } else { "dropped" },
            x_of(r.start.0, ps, pe),
            x_of(r.end.0, ps, pe),
            0,
            100,
            &format!(
                "{} {}: {} {} ({})",
                text::t(lang, "incident", "interruzione"),
                i + 1,
                text::t(lang, "down", "disservizio"),
                span(r.start.0, r.end.0),
                text::fate_in(r, lang)
            ),
        );
    }
    for m in &c.maintenance {
        rect(
            &mut s,
            "maint",
            x_of(m.start.0, ps, pe),
            x_of(m.end.0, ps, pe),
            0,
            28,
            &format!(
                "{}: {}",
                text::t(lang, "maintenance", "manutenzione"),
                span(m.start.0, m.end.0)
            ),
        );
    }
    s.push_str("</svg>");
    s
}

fn legend(c: &ContractReport, lang: Lang) -> String {
    let mut items = vec![
        ("#2e7d32", text::t(lang, "up", "disponibile")),
        (
            "#c62828",
            text::t(lang, "down, counted", "disservizio, contato"),
        ),
        (
            "#ef9a9a",
            text::t(lang, "down, not counted", "disservizio, non contato"),
        ),
        (
            "#1565c0",
            text::t(
                lang,
                "maintenance (top band)",
                "manutenzione (fascia in alto)",
            ),
        ),
        ("#9e9e9e", text::t(lang, "no data", "senza dati")),
    ];
    let ev = &c.evaluation;
    if c.timeline
        .service_start
        .is_some_and(|t| t.0 > ev.period.start)
        || c.timeline.service_end.is_some_and(|t| t.0 < ev.period.end)
    {
        items.push((
            "#eeeeee",
            text::t(lang, "outside the contract", "fuori dal contratto"),
        ));
    }
    let mut s = String::from("<ul class=\"legend\">");
    for (colour, label) in items {
        let _ = write!(
            s,
            "<li><span class=\"sw\" style=\"background:{colour}\"></span>{label}</li>"
        );
    }
    let _ = write!(
        s,
        "<li class=\"muted\">{}</li></ul>",
        text::t(
            lang,
            "short spans are widened to stay visible",
            "i tratti brevi sono allargati per restare visibili"
        )
    );
    s
}

/// The availability bar, on a scale from `lo` to 100 % that shows the target.
fn availability_bar(c: &ContractReport, lang: Lang) -> String {
    let ev = &c.evaluation;
    let target = c.plan.objective.target;
    let Some(a) = ev.availability.as_ref() else {
        return format!(
            "<p class=\"muted\">{}</p>",
            text::t(
                lang,
                "No availability: nothing was measured.",
                "Nessuna disponibilità: nulla è stato misurato."
            )
        );
    };
    let a = num::round_dec(&(a * num::int(100)), 4);
    let hundred = Decimal::from(100);
    let deficit = (hundred - a.min(target)).max(Decimal::new(1, 1));
    let lo = (hundred - deficit * Decimal::from(2))
        .max(Decimal::ZERO)
        .floor();
    let scale = |v: Decimal| -> i64 {
        let x = ((v.max(lo) - lo) * Decimal::from(1000) / (hundred - lo)).round();
        i64::try_from(x.mantissa() / 10i128.pow(x.scale())).unwrap_or(0)
    };
    let fill = scale(a);
    let mark = scale(target);
    let class = if ev.breach { "down" } else { "up" };
    let (pa, pt, plo) = (
        super::words::pct(&a.to_string(), lang),
        super::words::pct(&target.to_string(), lang),
        super::words::pct(&lo.to_string(), lang),
    );
    let (w_target, w_avail, w_mark) = (
        text::t(lang, "target", "garantita"),
        text::t(lang, "availability", "disponibilità"),
        text::t(lang, "black mark", "segno nero"),
    );
    format!(
        "<svg class=\"bar\" viewBox=\"0 0 1000 20\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"{label}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <rect x=\"0\" y=\"0\" width=\"1000\" height=\"20\" fill=\"#eeeeee\"/>\
         <rect class=\"{class}\" x=\"0\" y=\"0\" width=\"{fill}\" height=\"20\" fill=\"{colour}\"/>\
         <rect x=\"{mx}\" y=\"0\" width=\"4\" height=\"20\" fill=\"#1a1a1a\"><title>{w_target} {pt}</title></rect>\
         </svg><div class=\"axis\"><span>{plo}</span><span>{w_avail} {pa} · {w_target} {pt} ({w_mark})</span><span>100 %</span></div>",
        label = esc(&match lang {
            Lang::En => format!("Availability {a} % against a target of {target} %"),
            Lang::It => format!(
                "Disponibilità {pa} a fronte di un obiettivo pari {}",
                super::words::it_prep("a", &pt)
            ),
        }),
        colour = if ev.breach { "#c62828" } else { "#2e7d32" },
        mx = (mark - 2).clamp(0, 996),
    )
}

fn fact(s: &mut String, k: &str, v: &str) {
    let _ = write!(s, "<dt>{}</dt><dd>{v}</dd>", esc(k));
}

/// The box at the top of a contract, before any table: breach, what is owed and the
/// claim deadline, readable on a phone without sideways scrolling.
fn verdict(c: &ContractReport, lang: Lang) -> String {
    use super::words::ui;
    let breach = c.evaluation.breach;
    let owed = super::letter::owed(c, lang);
    format!(
        "<div class=\"verdict {}\"><p><b>{}:</b> <span class=\"{}\">{}</span></p>\
         <p><b>{}:</b> {}</p><p><b>{}:</b> {}</p>{}</div>",
        if breach { "is-breach" } else { "is-ok" },
        ui("breached", lang),
        if breach { "breach" } else { "ok" },
        ui(if breach { "yes" } else { "no" }, lang),
        ui("owed", lang),
        esc(&owed.unwrap_or_else(|| ui("nothing owed", lang).to_owned())),
        ui("deadline", lang),
        super::deadline::html(c, lang),
        largest_line(c, lang)
    )
}

/// When the provider's offer or a compared plan gives more than the contract, the
/// verdict box says so too, so the claim is on a phone's first screen.
fn largest_line(c: &ContractReport, lang: Lang) -> String {
    match c.comparison.largest {
        Some(i) if i > 0 => format!(
            "<p><b>{}:</b> {}</p>",
            match lang {
                Lang::En => "Largest remedy",
                Lang::It => "Rimedio più alto",
            },
            esc(&super::compare::largest_text(c, lang))
        ),
        _ => String::new(),
    }
}

fn contract_section(s: &mut String, c: &ContractReport, chain: Option<&(i64, String)>, lang: Lang) {
    let ev = &c.evaluation;
    let tz = &c.plan.window.timezone;
    let id = id_of(&c.contract.id);
    let t = |en: &'static str, it: &'static str| text::t(lang, en, it);
    let local = |ms: i64| esc(&text::local_in(ms, tz, lang));
    let _ = write!(
        s,
        "<section class=\"contract\" id=\"contract-{}\"><h2>{} — {}</h2>",
        esc(&id),
        esc(&c.contract.id),
        esc(&text::customer(c))
    );
    s.push_str(&verdict(c, lang));
    s.push_str(&super::basis::html(c, lang));
    s.push_str(&super::compare::html(c, lang));
    let _ = write!(
        s,
        "<p>{} <b>{}</b>{}: {}.</p>",
        t("Plan", "Piano"),
        esc(&c.plan.id),
        c.plan
            .provider
            .as_deref()
            .map(|p| format!(" {} {}", t("of", "di"), esc(p)))
            .unwrap_or_default(),
        esc(&super::terms::describe(&c.plan, lang))
    );
    s.push_str("<dl class=\"facts\">");
    fact(s, t("Period", "Periodo"), &esc(&text::period_in(c, lang)));
    fact(
        s,
        t("Availability", "Disponibilità"),
        &format!(
            "{} ({} {})",
            esc(&text::availability_in(c, lang)),
            t("target", "garantita"),
            text::target_in(c, lang)
        ),
    );
    fact(
        s,
        t("Downtime", "Disservizio"),
        &esc(&text::downtime_in(ev, lang)),
    );
    fact(
        s,
        t("Measured time", "Tempo misurato"),
        &format!("{} min", text::minutes_q_in(&ev.measured_ms, lang)),
    );
    fact(
        s,
        t("No data", "Senza dati"),
        &esc(&text::no_data_in(c, lang)),
    );
    fact(
        s,
        t("SLA breached", "SLA violato"),
        &if ev.breach {
            format!("<span class=\"breach\">{}</span>", t("yes", "sì"))
        } else {
            format!("<span class=\"ok\">{}</span>", t("no", "no"))
        },
    );
    fact(
        s,
        t("Compensation", "Indennizzo"),
        &esc(&text::compensation_in(c, lang)),
    );
    fact(
        s,
        t("Claim", "Richiesta"),
        &esc(&text::deadline_in(c, lang)),
    );
    fact(s, t("Deadline", "Termine"), &super::deadline::html(c, lang));
    let fee = match lang {
        Lang::En => format!("{} {}", c.fee, c.currency),
        Lang::It => super::words::money(&c.fee, &c.currency, lang),
    };
    let period = match (lang, c.fee_period) {
        (Lang::En, crate::sla::FeePeriod::Month) => "month",
        (Lang::En, crate::sla::FeePeriod::Year) => "year",
        (Lang::It, crate::sla::FeePeriod::Month) => "mese",
        (Lang::It, crate::sla::FeePeriod::Year) => "anno",
    };
    let probes = c.contract.probes.join(", ");
    fact(
        s,
        t("Contract", "Contratto"),
        &esc(&match lang {
            Lang::En => format!(
                "{} ({}), fee {fee} per {period}, probes {probes} ({})",
                text::customer(c),
                c.customer_type.as_str(),
                text::unavailable_in(c, lang),
            ),
            Lang::It => format!(
                "{} ({}), canone {fee} al {period}, sonde {probes} ({})",
                text::customer(c),
                match c.customer_type {
                    crate::sla::CustomerType::Consumer => "consumatore",
                    crate::sla::CustomerType::Business => "impresa",
                },
                text::unavailable_in(c, lang),
            ),
        }),
    );
    let (checks, runs, failures) = match lang {
        Lang::En => (
            c.evidence.checks.to_string(),
            c.evidence.runs.to_string(),
            c.evidence.failures.to_string(),
        ),
        Lang::It => (
            super::words::number(&c.evidence.checks.to_string(), lang),
            super::words::number(&c.evidence.runs.to_string(), lang),
            super::words::number(&c.evidence.failures.to_string(), lang),
        ),
    };
    fact(
        s,
        t("Evidence", "Prove"),
        &format!(
            "SHA-256 <code>{}</code> {}{}",
            esc(&c.evidence.sha256),
            match lang {
                Lang::En => format!("over {checks} checks ({runs} runs, {failures} failed checks)"),
                Lang::It =>
                    format!("su {checks} controlli ({runs} serie, {failures} controlli falliti)"),
            },
            chain.map_or(String::new(), |(seal, head)| format!(
                "; {} {seal}: <code>{}</code>",
                t(
                    "hash chain head at seal",
                    "testa della catena di hash al sigillo"
                ),
                esc(head)
            ))
        ),
    );
    s.push_str("</dl>");
    let _ = write!(s, "<h3>{}</h3>", t("Availability", "Disponibilità"));
    s.push_str(&availability_bar(c, lang));
    let _ = write!(s, "<h3>{}</h3>", t("Timeline", "Andamento"));
    s.push_str(&timeline_svg(c, lang));
    let _ = write!(
        s,
        "<div class=\"axis\"><span>{}</span><span>{}</span></div>",
        local(ev.period.start),
        local(ev.period.end)
    );
    s.push_str(&legend(c, lang));

    let _ = write!(
        s,
        "<h3>{} ({})</h3>",
        t("Incidents", "Interruzioni"),
        c.incidents.len()
    );
    if c.incidents.is_empty() {
        let _ = write!(
            s,
            "<p>{}</p>",
            t(
                "No outage in this period.",
                "Nessun disservizio nel periodo."
            )
        );
    } else {
        let heads = match lang {
            Lang::En => [
                "#",
                "Start",
                "End",
                "Duration",
                "Proven minimum",
                "Uncertainty (start / end)",
                "Counted",
                "Error classes",
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
                "Minimo provato",
                "Incertezza (inizio / fine)",
                "Conteggio",
                "Classi di errore",
                "Sonde",
                "Punto di rilevazione",
                "Fonte",
                "Dettagli",
            ],
        };
        s.push_str("<div class=\"scroll\"><table class=\"incidents\"><thead><tr>");
        for h in heads {
            let _ = write!(s, "<th>{h}</th>");
        }
        s.push_str("</tr></thead><tbody>");
        for (i, r) in c.incidents.iter().enumerate() {
            let _ = write!(
                s,
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{}{}</td><td class=\"num\">{} min</td>\
                 <td class=\"num\">{} min</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td class=\"details\">{}</td></tr>",
                i + 1,
                local(r.start.0),
                local(r.end.0),
                if r.open {
                    t(" (still open)", " (ancora in corso)")
                } else {
                    ""
                },
                text::minutes_in(r.duration_ms(), lang),
                text::minutes_in(r.proven_ms, lang),
                text::uncertainty_in(r, lang),
                esc(&text::fate_in(r, lang)),
                esc(&text::classes_in(r, lang)),
                esc(&r.probes.join(", ")),
                esc(&r.vantages.join(", ")),
                esc(&text::sources_in(r, lang)),
                r.details
                    .iter()
                    .map(|d| esc(d))
                    .collect::<Vec<_>>()
                    .join("<br>")
            );
        }
        s.push_str("</tbody></table></div>");
    }
    s.push_str(&super::records::html(c, lang));
    if !c.maintenance.is_empty() {
        let _ = write!(
            s,
            "<h3>{}</h3><div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th>\
             <th>{}</th><th>{}</th></tr></thead><tbody>",
            t("Maintenance", "Manutenzione"),
            t("Start", "Inizio"),
            t("End", "Fine"),
            t("Announced", "Annunciata"),
            t("Note", "Nota")
        );
        for m in &c.maintenance {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                local(m.start.0),
                local(m.end.0),
                m.announced_at
                    .map_or_else(|| t("unknown", "non nota").to_owned(), |a| local(a.0)),
                esc(m.note.as_deref().unwrap_or(""))
            );
        }
        let _ = write!(
            s,
            "</tbody></table></div><p class=\"muted\">{}</p>",
            match (lang, c.plan.exclusions.maintenance.excluded) {
                (Lang::En, true) => "This plan excludes qualifying announced maintenance.",
                (Lang::En, false) => "This plan does not exclude announced maintenance.",
                (Lang::It, true) => {
                    "Questo piano esclude la manutenzione annunciata che ne ha i requisiti."
                }
                (Lang::It, false) => "Questo piano non esclude la manutenzione annunciata.",
            }
        );
    }
    if !c.gaps.is_empty() {
        let _ = write!(
            s,
            "<h3>{}</h3><p>{}</p><div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            t("No data", "Senza dati"),
            esc(&text::no_data_in(c, lang)),
            t("From", "Da"),
            t("To", "A"),
            t("Length", "Durata")
        );
        for (a, b) in &c.gaps {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{} min</td></tr>",
                local(a.0),
                local(b.0),
                text::minutes_in(b.0 - a.0, lang)
            );
        }
        s.push_str("</tbody></table></div>");
    }
    let _ = write!(
        s,
        "<h3>{}</h3><ol class=\"trace\">",
        t(
            "How the figures were computed",
            "Come sono state calcolate le cifre (passaggi del motore di calcolo, in inglese)"
        )
    );
    for line in &ev.trace {
        let _ = write!(s, "<li>{}</li>", esc(line));
    }
    s.push_str("</ol></section>");
}

/// The whole report.
pub(super) fn render(r: &Report, lang: Lang) -> String {
    let t = |en: &'static str, it: &'static str| text::t(lang, en, it);
    let mut s = String::with_capacity(32 * 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} {}</title><style>{CSS}</style></head><body><main>",
        lang.as_str(),
        super::words::ui("report", lang),
        esc(&r.period)
    );
    let utc = jiff::tz::TimeZone::UTC;
    let _ = write!(
        s,
        "<header><h1>{} — {}</h1><p class=\"muted\">{}</p>",
        super::words::ui("report", lang),
        esc(&r.period),
        match lang {
            Lang::En => format!(
                "Made by slawatch at vantage <b>{}</b> on {} (UTC). \
                 Instants are shown in each plan's time zone; intervals are [start, end).",
                esc(&r.vantage),
                esc(&text::utc(r.generated_at.0))
            ),
            Lang::It => format!(
                "Prodotto da slawatch dal punto di rilevazione <b>{}</b> il {} (UTC). \
                 Gli orari sono nel fuso orario di ciascun piano; gli intervalli includono l'inizio ed escludono la fine.",
                esc(&r.vantage),
                esc(&super::words::datetime(r.generated_at.0, &utc, lang))
            ),
        }
    );
    if r.provisional {
        let _ = write!(
            s,
            "<p class=\"banner\">{}</p>",
            t(
                "Provisional: made before the period was over and sealed. \
                 The figures are so far; the rest of the period shows as no data.",
                "Provvisorio: prodotto prima che il periodo fosse concluso e sigillato. \
                 Le cifre sono parziali; il resto del periodo risulta senza dati."
            )
        );
    }
    s.push_str("</header>");

    let _ = write!(
        s,
        "<section id=\"summary\"><h2>{}</h2>",
        t("Summary", "Riepilogo")
    );
    let (owed_text, days) = text::owed_total(r, lang);
    let owed_text = esc(&owed_text);
    let more = text::days_of_service(days, lang);
    let n = r.contracts.len();
    let _ = write!(
        s,
        "<p>{}</p>",
        match lang {
            Lang::En => format!(
                "{n} contract{}, {} with the SLA breached. Owed: {owed_text}{}.",
                if n == 1 { "" } else { "s" },
                r.breached(),
                more
            ),
            Lang::It => format!(
                "{n} contratt{}, {} con lo SLA violato. Dovuto: {owed_text}{}.",
                if n == 1 { "o" } else { "i" },
                r.breached(),
                more
            ),
        }
    );
    s.push_str("<div class=\"scroll\"><table><thead><tr>");
    for h in match lang {
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
    } {
        let _ = write!(s, "<th>{h}</th>");
    }
    s.push_str("</tr></thead><tbody>");
    for c in &r.contracts {
        let _ = write!(
            s,
            "<tr><td><a href=\"#contract-{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&id_of(&c.contract.id)),
            esc(&c.contract.id),
            esc(&text::customer(c)),
            esc(&text::availability_in(c, lang)),
            text::target_in(c, lang),
            if c.evaluation.breach {
                format!("<span class=\"breach\">{}</span>", t("yes", "sì"))
            } else {
                format!("<span class=\"ok\">{}</span>", t("no", "no"))
            },
            esc(&text::compensation_in(c, lang)),
            esc(&text::deadline_in(c, lang))
        );
    }
    s.push_str("</tbody></table></div>");
    if !r.skipped.is_empty() {
        let _ = write!(s, "<h3>{}</h3><ul>", t("Not evaluated", "Non valutati"));
        for (id, why) in &r.skipped {
            let _ = write!(s, "<li><b>{}</b>: {}</li>", esc(id), esc(why));
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>");

    for c in &r.contracts {
        contract_section(&mut s, c, r.chain.as_ref(), lang);
    }
    let _ = write!(
        s,
        "<footer><p>{}</p></footer>",
        t(
            "An outage runs from the first failed check of a confirmed streak to the answer of \
             the first successful check after it. The proven minimum is the time from the first to the last \
             failed check; the uncertainty is how much earlier it may have begun (back to the last success) \
             and, at its end, the time from the last failed check to that answer. No data is time when \
             slawatch was not probing, or a probe could not judge (unknown checks) or did not check: never \
             counted as uptime, nor as the provider's downtime unless the plan says so. The evidence digest can be recomputed from the database.",
            "Un disservizio va dal primo controllo fallito di una serie confermata alla risposta del primo \
             controllo riuscito dopo di essa. Il minimo provato è il tempo dal primo all'ultimo controllo \
             fallito; l'incertezza è quanto prima può essere iniziato (fino all'ultimo controllo riuscito) e, \
             alla fine, il tempo dall'ultimo controllo fallito a quella risposta. Senza dati è il tempo in cui \
             slawatch non controllava, o una sonda non poteva giudicare (controlli dall'esito ignoto) o non ha \
             controllato: mai contato come servizio disponibile, né come disservizio del fornitore se il piano \
             non lo prevede. L'impronta delle prove si può ricalcolare dal database."
        )
    );
    s.push_str("</main></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            esc("<script>alert(\"x\" & 'y')</script>\u{7}"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;\u{FFFD}"
        );
        assert_eq!(id_of("rossi shop/<x>"), "rossi_shop__x_");
    }

    #[test]
    fn spans_scale_exactly_and_stay_inside() {
        assert_eq!(x_of(0, 0, 1000), 0);
        assert_eq!(x_of(500, 0, 1000), 5000);
        assert_eq!(x_of(-5, 0, 1000), 0);
        assert_eq!(x_of(5000, 0, 1000), W);
        let mut s = String::new();
        rect(&mut s, "down", W - 1, W, 0, 100, "t");
        assert!(
            s.contains(&format!(
                "x=\"{}\" y=\"0\" width=\"{MIN_SPAN}\"",
                W - MIN_SPAN
            )),
            "{s}"
        );
    }
}
