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

fn timeline_svg(c: &ContractReport) -> String {
    let ev = &c.evaluation;
    let (ps, pe) = (ev.period.start, ev.period.end);
    let tz = &c.plan.window.timezone;
    let span = |s: i64, e: i64| {
        format!(
            "{} to {}",
            text::local(s.max(ps), tz),
            text::local(e.min(pe), tz)
        )
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"timeline\" id=\"timeline-{}\" viewBox=\"0 0 {W} 100\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(&id_of(&c.contract.id)),
        esc(&format!(
            "Timeline of {} over {}: up, down, no data and maintenance",
            c.contract.id, ev.period.label
        ))
    );
    let _ = write!(
        s,
        "<style>.up{{fill:#2e7d32}}.down{{fill:#c62828}}.dropped{{fill:#ef9a9a}}.maint{{fill:#1565c0}}.nodata{{fill:#9e9e9e}}.out{{fill:#eeeeee}}</style>"
    );
    // Outside the contract's life, then up over its life.
    rect(&mut s, "out", 0, W, 0, 100, "outside the contract");
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
            &format!("up (no outage measured): {}", span(life_s, life_e)),
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
            &format!("no data: {}", span(a.0, b.0)),
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
                "incident {}: down {} ({})",
                i + 1,
                span(r.start.0, r.end.0),
                text::fate(r)
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
            &format!("maintenance: {}", span(m.start.0, m.end.0)),
        );
    }
    s.push_str("</svg>");
    s
}

fn legend(c: &ContractReport) -> String {
    let mut items = vec![
        ("#2e7d32", "up"),
        ("#c62828", "down, counted"),
        ("#ef9a9a", "down, not counted"),
        ("#1565c0", "maintenance (top band)"),
        ("#9e9e9e", "no data"),
    ];
    let ev = &c.evaluation;
    if c.timeline
        .service_start
        .is_some_and(|t| t.0 > ev.period.start)
        || c.timeline.service_end.is_some_and(|t| t.0 < ev.period.end)
    {
        items.push(("#eeeeee", "outside the contract"));
    }
    let mut s = String::from("<ul class=\"legend\">");
    for (colour, label) in items {
        let _ = write!(
            s,
            "<li><span class=\"sw\" style=\"background:{colour}\"></span>{label}</li>"
        );
    }
    s.push_str("<li class=\"muted\">short spans are widened to stay visible</li></ul>");
    s
}

/// The availability bar, on a scale from `lo` to 100 % that shows the target.
fn availability_bar(c: &ContractReport) -> String {
    let ev = &c.evaluation;
    let target = c.plan.objective.target;
    let Some(a) = ev.availability.as_ref() else {
        return "<p class=\"muted\">No availability: nothing was measured.</p>".to_owned();
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
    format!(
        "<svg class=\"bar\" viewBox=\"0 0 1000 20\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"{label}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <rect x=\"0\" y=\"0\" width=\"1000\" height=\"20\" fill=\"#eeeeee\"/>\
         <rect class=\"{class}\" x=\"0\" y=\"0\" width=\"{fill}\" height=\"20\" fill=\"{colour}\"/>\
         <rect x=\"{mx}\" y=\"0\" width=\"4\" height=\"20\" fill=\"#1a1a1a\"><title>target {target} %</title></rect>\
         </svg><div class=\"axis\"><span>{lo} %</span><span>availability {a} % · target {target} % (black mark)</span><span>100 %</span></div>",
        label = esc(&format!(
            "Availability {a} % against a target of {target} %"
        )),
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
         <p><b>{}:</b> {}</p><p><b>{}:</b> {}</p></div>",
        if breach { "is-breach" } else { "is-ok" },
        ui("breached", lang),
        if breach { "breach" } else { "ok" },
        ui(if breach { "yes" } else { "no" }, lang),
        ui("owed", lang),
        esc(&owed.unwrap_or_else(|| ui("nothing owed", lang).to_owned())),
        ui("deadline", lang),
        super::deadline::html(c, lang)
    )
}

fn contract_section(s: &mut String, c: &ContractReport, chain: Option<&(i64, String)>, lang: Lang) {
    let ev = &c.evaluation;
    let tz = &c.plan.window.timezone;
    let id = id_of(&c.contract.id);
    let _ = write!(
        s,
        "<section class=\"contract\" id=\"contract-{}\"><h2>{} — {}</h2>",
        esc(&id),
        esc(&c.contract.id),
        esc(&text::customer(c))
    );
    s.push_str(&verdict(c, lang));
    let _ = write!(
        s,
        "<p>Plan <b>{}</b>{}: {}.</p>",
        esc(&c.plan.id),
        c.plan
            .provider
            .as_deref()
            .map(|p| format!(" of {}", esc(p)))
            .unwrap_or_default(),
        esc(&c.plan.describe())
    );
    s.push_str("<dl class=\"facts\">");
    fact(s, "Period", &esc(&text::period(c)));
    fact(
        s,
        "Availability",
        &format!(
            "{} (target {} %)",
            esc(&text::availability(c)),
            c.plan.objective.target
        ),
    );
    fact(s, "Downtime", &esc(&text::downtime(ev)));
    fact(
        s,
        "Measured time",
        &format!("{} min", text::minutes_q(&ev.measured_ms)),
    );
    fact(s, "No data", &esc(&text::no_data(c)));
    fact(
        s,
        "SLA breached",
        if ev.breach {
            "<span class=\"breach\">yes</span>"
        } else {
            "<span class=\"ok\">no</span>"
        },
    );
    fact(s, "Compensation", &esc(&text::compensation(c)));
    fact(s, "Claim", &esc(&text::deadline(c)));
    fact(s, "Deadline", &super::deadline::html(c, lang));
    fact(
        s,
        "Contract",
        &esc(&format!(
            "{} ({}), fee {} {} per {}, probes {} (unavailable when {} down)",
            text::customer(c),
            c.customer_type.as_str(),
            c.fee,
            c.currency,
            match c.fee_period {
                crate::sla::FeePeriod::Month => "month",
                crate::sla::FeePeriod::Year => "year",
            },
            c.contract.probes.join(", "),
            super::data::unavailable_when_text(&c.contract)
        )),
    );
    fact(
        s,
        "Evidence",
        &format!(
            "SHA-256 <code>{}</code> over {} checks ({} runs, {} failed checks){}",
            esc(&c.evidence.sha256),
            c.evidence.checks,
            c.evidence.runs,
            c.evidence.failures,
            chain.map_or(String::new(), |(seal, head)| format!(
                "; hash chain head at seal {seal}: <code>{}</code>",
                esc(head)
            ))
        ),
    );
    s.push_str("</dl>");
    s.push_str("<h3>Availability</h3>");
    s.push_str(&availability_bar(c));
    s.push_str("<h3>Timeline</h3>");
    s.push_str(&timeline_svg(c));
    let _ = write!(
        s,
        "<div class=\"axis\"><span>{}</span><span>{}</span></div>",
        esc(&text::local(ev.period.start, tz)),
        esc(&text::local(ev.period.end, tz))
    );
    s.push_str(&legend(c));

    let _ = write!(s, "<h3>Incidents ({})</h3>", c.incidents.len());
    if c.incidents.is_empty() {
        s.push_str("<p>No outage in this period.</p>");
    } else {
        s.push_str(
            "<div class=\"scroll\"><table class=\"incidents\"><thead><tr><th>#</th><th>Start</th><th>End</th>\
             <th>Duration</th><th>Proven minimum</th><th>Uncertainty (start / end)</th><th>Counted</th>\
             <th>Error classes</th><th>Probes</th><th>Vantage</th><th>Source</th><th>Details</th></tr></thead><tbody>",
        );
        for (i, r) in c.incidents.iter().enumerate() {
            let _ = write!(
                s,
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{}{}</td><td class=\"num\">{} min</td>\
                 <td class=\"num\">{} min</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td class=\"details\">{}</td></tr>",
                i + 1,
                esc(&text::local(r.start.0, tz)),
                esc(&text::local(r.end.0, tz)),
                if r.open { " (still open)" } else { "" },
                text::minutes(r.duration_ms()),
                text::minutes(r.proven_ms),
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
                    .join("<br>")
            );
        }
        s.push_str("</tbody></table></div>");
    }
    if !c.maintenance.is_empty() {
        s.push_str(
            "<h3>Maintenance</h3><div class=\"scroll\"><table><thead><tr><th>Start</th><th>End</th>\
             <th>Announced</th><th>Note</th></tr></thead><tbody>",
        );
        for m in &c.maintenance {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&text::local(m.start.0, tz)),
                esc(&text::local(m.end.0, tz)),
                esc(&m
                    .announced_at
                    .map_or_else(|| "unknown".to_owned(), |a| text::local(a.0, tz))),
                esc(m.note.as_deref().unwrap_or(""))
            );
        }
        let _ = write!(
            s,
            "</tbody></table></div><p class=\"muted\">This plan {} announced maintenance.</p>",
            if c.plan.exclusions.maintenance.excluded {
                "excludes qualifying"
            } else {
                "does not exclude"
            }
        );
    }
    if !c.gaps.is_empty() {
        let _ = write!(
            s,
            "<h3>No data</h3><p>{}</p><div class=\"scroll\"><table><thead><tr><th>From</th><th>To</th><th>Length</th></tr></thead><tbody>",
            esc(&text::no_data(c))
        );
        for (a, b) in &c.gaps {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{} min</td></tr>",
                esc(&text::local(a.0, tz)),
                esc(&text::local(b.0, tz)),
                text::minutes(b.0 - a.0)
            );
        }
        s.push_str("</tbody></table></div>");
    }
    s.push_str("<h3>How the figures were computed</h3><ol class=\"trace\">");
    for line in &ev.trace {
        let _ = write!(s, "<li>{}</li>", esc(line));
    }
    s.push_str("</ol></section>");
}

/// The whole report.
pub(super) fn render(r: &Report, lang: Lang) -> String {
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
    let _ = write!(
        s,
        "<header><h1>{} — {}</h1><p class=\"muted\">Made by slawatch at vantage <b>{}</b> on {} (UTC). \
         Instants are shown in each plan's time zone; intervals are [start, end).</p>",
        super::words::ui("report", lang),
        esc(&r.period),
        esc(&r.vantage),
        esc(&text::utc(r.generated_at.0))
    );
    if r.provisional {
        s.push_str(
            "<p class=\"banner\">Provisional: made before the period was over and sealed. \
             The figures are so far; the rest of the period shows as no data.</p>",
        );
    }
    s.push_str("</header>");

    s.push_str("<section id=\"summary\"><h2>Summary</h2>");
    let (owed, days) = r.owed();
    let _ = write!(
        s,
        "<p>{} contract{}, {} with the SLA breached. Owed: {}{}.</p>",
        r.contracts.len(),
        if r.contracts.len() == 1 { "" } else { "s" },
        r.breached(),
        if owed.is_empty() {
            "nothing".to_owned()
        } else {
            esc(&owed
                .iter()
                .map(|(c, a)| format!("{a} {c}"))
                .collect::<Vec<_>>()
                .join(" + "))
        },
        if days > 0 {
            format!(", and {days} days of service")
        } else {
            String::new()
        }
    );
    s.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Contract</th><th>Customer</th><th>Availability</th>\
         <th>Target</th><th>Breach</th><th>Owed</th><th>Claim</th></tr></thead><tbody>",
    );
    for c in &r.contracts {
        let _ = write!(
            s,
            "<tr><td><a href=\"#contract-{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{} %</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&id_of(&c.contract.id)),
            esc(&c.contract.id),
            esc(&text::customer(c)),
            esc(&text::availability(c)),
            c.plan.objective.target,
            if c.evaluation.breach {
                "<span class=\"breach\">yes</span>"
            } else {
                "<span class=\"ok\">no</span>"
            },
            esc(&text::compensation(c)),
            esc(&text::deadline(c))
        );
    }
    s.push_str("</tbody></table></div>");
    if !r.skipped.is_empty() {
        s.push_str("<h3>Not evaluated</h3><ul>");
        for (id, why) in &r.skipped {
            let _ = write!(s, "<li><b>{}</b>: {}</li>", esc(id), esc(why));
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>");

    for c in &r.contracts {
        contract_section(&mut s, c, r.chain.as_ref(), lang);
    }
    s.push_str(
        "<footer><p>An outage runs from the first failed check of a confirmed streak to the answer of \
         the first successful check after it. The proven minimum is the time from the first to the last \
         failed check; the uncertainty is how much earlier it may have begun (back to the last success) \
         and, at its end, the time from the last failed check to that answer. No data is time when \
         slawatch was not probing, or a probe could not judge (unknown checks) or did not check: never \
         counted as uptime, nor as the provider's downtime unless the plan says so. The evidence digest can be recomputed from the database.</p></footer>",
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
