//! The HTML report: one self-contained file (inline CSS and SVG, no script, no
//! external asset), printable, readable on a phone (every table scrolls inside its
//! own box; nothing is wider than the page at 375 px).
//!
//! The markup is in askama templates (`templates/report.html` and the fragments it
//! includes), compiled with the crate. Every value reaches the page through a
//! template expression, which escapes it with [`Html`]; no markup is built in Rust
//! and nothing is marked `|safe`. [`Page`]'s methods give the templates the text
//! (unescaped, from `text`, `words` and the other report modules) and the numbers
//! (the SVG spans, the availability bar). The page's `Content-Security-Policy`
//! allows inline styles only: no script, image, font, frame, form or base URL.

use super::Lang;
use super::compare::Remedy;
use super::data::{ContractReport, IncidentRow, Report};
use super::{text, words};
use crate::sla::num;
use askama::Template;
use rust_decimal::Decimal;
use std::borrow::Borrow;
use std::fmt;

/// The escaper of every `.html` template (`templates/askama.toml`): `&`, `<`, `>`,
/// `"` and `'` as the entities the report has always written, and a control
/// character other than newline and tab as U+FFFD (askama's own `Html` escaper
/// writes numeric entities and leaves control characters in the page).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut done = 0;
        for (i, ch) in s.char_indices() {
            let with = match ch {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                c if c.is_control() && c != '\n' && c != '\t' => "\u{FFFD}",
                _ => continue,
            };
            dest.write_str(&s[done..i])?;
            dest.write_str(with)?;
            done = i + ch.len_utf8();
        }
        dest.write_str(&s[done..])
    }
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

/// The SVG width unit count: spans are placed to 1/10000 of the period.
const W: i64 = 10_000;
/// The narrowest span drawn, so a five-minute outage in a month stays visible.
const MIN_SPAN: i64 = 30;

fn x_of(t: i64, start: i64, end: i64) -> i64 {
    let len = i128::from((end - start).max(1));
    let off = i128::from(t.clamp(start, end) - start);
    i64::try_from(off * i128::from(W) / len).unwrap_or(W)
}

/// One `<rect>` of the timeline (`templates/timeline.html`).
pub(crate) struct Span {
    pub(crate) class: &'static str,
    pub(crate) x: i64,
    pub(crate) y: u32,
    pub(crate) width: i64,
    pub(crate) height: u32,
    pub(crate) title: String,
}

/// The span from `x0` to `x1`, widened to [`MIN_SPAN`] and kept inside the strip.
/// The bottom of a strip (the contract's own or a vantage's): "outside the contract"
/// over the whole period, then up over the contract's life in it, titled by `up`.
fn background(c: &ContractReport, up: impl Fn(i64, i64) -> String, lang: Lang) -> Vec<Span> {
    let (ps, pe) = (c.evaluation.period.start, c.evaluation.period.end);
    let mut out = vec![span(
        "out",
        0,
        W,
        0,
        100,
        text::t(lang, "outside the contract", "fuori dal contratto").to_owned(),
    )];
    let life_s = c.timeline.service_start.map_or(ps, |t| t.0.max(ps));
    let life_e = c.timeline.service_end.map_or(pe, |t| t.0.min(pe));
    if life_e > life_s {
        out.push(span(
            "up",
            x_of(life_s, ps, pe),
            x_of(life_e, ps, pe),
            0,
            100,
            up(life_s, life_e),
        ));
    }
    out
}

fn span(class: &'static str, x0: i64, x1: i64, y: u32, height: u32, title: String) -> Span {
    let width = (x1 - x0).max(MIN_SPAN);
    Span {
        class,
        x: x0.min(W - width).max(0),
        y,
        width,
        height,
        title,
    }
}

/// The figures of the availability bar (`templates/bar.html`), on a scale from
/// `lo` to 100 % that shows the target.
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) class: &'static str,
    pub(crate) colour: &'static str,
    /// Width of the filled part and x of the target's mark, of 1000.
    pub(crate) fill: i64,
    pub(crate) mark: i64,
    pub(crate) availability: String,
    pub(crate) target: String,
    pub(crate) lo: String,
}

/// The whole report as one template: `templates/report.html`.
#[derive(Template)]
#[template(path = "report.html", config = "templates/askama.toml")]
struct Page<'a> {
    r: &'a Report,
    lang: Lang,
    /// In Italian (the templates' `{% if it %}` holds the Italian sentences).
    it: bool,
    /// When the report was made, in words.
    generated: String,
    /// The summary's owed total and its days of service (", and 3 days of service").
    owed: String,
    more: String,
}

impl Page<'_> {
    fn t<'s>(&self, en: &'s str, it: &'s str) -> &'s str {
        if self.it { it } else { en }
    }

    fn ui(&self, key: &str) -> &'static str {
        words::ui(key, self.lang)
    }

    fn yes_no(&self, c: &ContractReport) -> &'static str {
        if c.evaluation.breach { "yes" } else { "no" }
    }

    fn anchor(&self, c: &ContractReport) -> String {
        id_of(&c.contract.id)
    }

    fn customer(&self, c: &ContractReport) -> String {
        text::customer(c)
    }

    fn availability(&self, c: &ContractReport) -> String {
        text::availability_in(c, self.lang)
    }

    fn target(&self, c: &ContractReport) -> String {
        text::target_in(c, self.lang)
    }

    fn compensation(&self, c: &ContractReport) -> String {
        text::compensation_in(c, self.lang)
    }

    fn claim(&self, c: &ContractReport) -> String {
        text::deadline_in(c, self.lang)
    }

    fn period(&self, c: &ContractReport) -> String {
        text::period_in(c, self.lang)
    }

    fn downtime(&self, c: &ContractReport) -> String {
        text::downtime_in(&c.evaluation, self.lang)
    }

    fn measured(&self, c: &ContractReport) -> String {
        text::minutes_q_in(&c.evaluation.measured_ms, self.lang)
    }

    fn no_data(&self, c: &ContractReport) -> String {
        text::no_data_in(c, self.lang)
    }

    fn terms(&self, c: &ContractReport) -> String {
        super::terms::describe(&c.plan, self.lang)
    }

    /// An instant in the plan's zone.
    fn local(&self, c: &ContractReport, ms: impl Borrow<i64>) -> String {
        text::local_in(*ms.borrow(), &c.plan.window.timezone, self.lang)
    }

    fn minutes(&self, ms: impl Borrow<i64>) -> String {
        text::minutes_in(*ms.borrow(), self.lang)
    }

    fn uncertainty(&self, i: &IncidentRow) -> String {
        text::uncertainty_in(i, self.lang)
    }

    fn fate(&self, i: &IncidentRow) -> String {
        text::fate_in(i, self.lang)
    }

    fn classes(&self, i: &IncidentRow) -> String {
        text::classes_in(i, self.lang)
    }

    fn sources(&self, i: &IncidentRow) -> String {
        text::sources_in(i, self.lang)
    }

    /// The verdict's "owed", or "nothing owed".
    fn owed(&self, c: &ContractReport) -> String {
        super::letter::owed(c, self.lang).unwrap_or_else(|| self.ui("nothing owed").to_owned())
    }

    /// The largest remedy, when the provider's offer or a compared plan gives more
    /// than the contract.
    fn largest(&self, c: &ContractReport) -> Option<String> {
        match c.comparison.largest {
            Some(i) if i > 0 => Some(super::compare::largest_text(c, self.lang)),
            _ => None,
        }
    }

    fn deadline_phrase(&self, c: &ContractReport) -> String {
        super::deadline::phrase(c, self.lang).0
    }

    /// Whether the deadline needs attention (soon or passed).
    fn deadline_flag(&self, c: &ContractReport) -> bool {
        super::deadline::phrase(c, self.lang).1
    }

    fn basis(&self, c: &ContractReport) -> String {
        super::basis::summary(c, self.lang)
    }

    fn basis_lines(&self, c: &ContractReport) -> Vec<(String, String)> {
        super::basis::record_lines(c, self.lang)
    }

    fn compare_title(&self) -> &'static str {
        super::compare::title(self.lang)
    }

    fn compare_heads(&self) -> [&'static str; 3] {
        super::compare::headers(self.lang)
    }

    fn compare_method(&self) -> &'static str {
        super::compare::method(self.lang)
    }

    fn is_largest(&self, c: &ContractReport, i: impl Borrow<usize>) -> bool {
        c.comparison.largest == Some(*i.borrow())
    }

    fn remedy_label(&self, rm: &Remedy) -> String {
        super::compare::label(rm, self.lang)
    }

    fn remedy_breach(&self, rm: &Remedy) -> &'static str {
        super::compare::breach_text(rm, self.lang)
    }

    fn remedy_gives(&self, c: &ContractReport, rm: &Remedy) -> String {
        super::compare::gives(rm, &c.currency, self.lang)
    }

    fn records_words(&self) -> super::records::Words {
        super::records::words(self.lang)
    }

    fn records(&self, c: &ContractReport) -> Vec<super::records::Row> {
        super::records::rows(&c.records, &c.plan.window.timezone, self.lang)
    }

    fn incident_heads(&self) -> [&'static str; 12] {
        match self.lang {
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
        }
    }

    /// The contract fact: customer, fee, probes and what counts as unavailable.
    fn contract_terms(&self, c: &ContractReport) -> String {
        let lang = self.lang;
        let fee = match lang {
            Lang::En => format!("{} {}", c.fee, c.currency),
            Lang::It => words::money(&c.fee, &c.currency, lang),
        };
        let period = match (lang, c.fee_period) {
            (Lang::En, crate::sla::FeePeriod::Month) => "month",
            (Lang::En, crate::sla::FeePeriod::Year) => "year",
            (Lang::It, crate::sla::FeePeriod::Month) => "mese",
            (Lang::It, crate::sla::FeePeriod::Year) => "anno",
        };
        let probes = c.contract.probes.join(", ");
        match lang {
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
        }
    }

    /// "over 12 checks (3 runs, 1 failed checks)".
    fn evidence_counts(&self, c: &ContractReport) -> String {
        let lang = self.lang;
        let (checks, runs, failures) = text::evidence_counts_in(c, lang);
        match lang {
            Lang::En => format!("over {checks} checks ({runs} runs, {failures} failed checks)"),
            Lang::It => {
                format!("su {checks} controlli ({runs} serie, {failures} controlli falliti)")
            }
        }
    }

    fn timeline_label(&self, c: &ContractReport) -> String {
        let period = &c.evaluation.period.label;
        match self.lang {
            Lang::En => format!(
                "Timeline of {} over {period}: up, down, no data and maintenance",
                c.contract.id
            ),
            Lang::It => format!(
                "Andamento di {} nel periodo {period}: disponibile, disservizio, senza dati e manutenzione",
                c.contract.id
            ),
        }
    }

    /// The timeline's spans, drawn in this order: outside the contract's life, up
    /// over its life, no data, each incident, maintenance (a band at the top).
    fn spans(&self, c: &ContractReport) -> Vec<Span> {
        let lang = self.lang;
        let ev = &c.evaluation;
        let (ps, pe) = (ev.period.start, ev.period.end);
        let tz = &c.plan.window.timezone;
        let x = |t: i64| x_of(t, ps, pe);
        let during = |s: i64, e: i64| {
            format!(
                "{} {} {}",
                text::local_in(s.max(ps), tz, lang),
                text::t(lang, "to", "–"),
                text::local_in(e.min(pe), tz, lang)
            )
        };
        let mut out = background(
            c,
            |life_s, life_e| {
                format!(
                    "{}: {}",
                    text::t(
                        lang,
                        "up (no outage measured)",
                        "disponibile (nessun disservizio misurato)"
                    ),
                    during(life_s, life_e)
                )
            },
            lang,
        );
        for (a, b) in &c.gaps {
            out.push(span(
                "nodata",
                x(a.0),
                x(b.0),
                0,
                100,
                format!(
                    "{}: {}",
                    text::t(lang, "no data", "senza dati"),
                    during(a.0, b.0)
                ),
            ));
        }
        for (i, r) in c.incidents.iter().enumerate() {
            out.push(span(
                if r.excluded.is_none() {
                    "down"
                } else {
                    "dropped"
                },
                x(r.start.0),
                x(r.end.0),
                0,
                100,
                format!(
                    "{} {}: {} {} ({})",
                    text::t(lang, "incident", "interruzione"),
                    i + 1,
                    text::t(lang, "down", "disservizio"),
                    during(r.start.0, r.end.0),
                    text::fate_in(r, lang)
                ),
            ));
        }
        for m in &c.maintenance {
            out.push(span(
                "maint",
                x(m.start.0),
                x(m.end.0),
                0,
                28,
                format!(
                    "{}: {}",
                    text::t(lang, "maintenance", "manutenzione"),
                    during(m.start.0, m.end.0)
                ),
            ));
        }
        out
    }

    /// The consensus rule in words.
    fn consensus_rule(&self, view: &super::consensus::View) -> String {
        super::consensus::rule_in(view, self.lang)
    }

    /// The probes whose consensus cannot be reached, one sentence each.
    fn consensus_short(&self, view: &super::consensus::View) -> Vec<String> {
        super::consensus::short_in(view, self.lang)
    }

    /// The incidents table's vantage cell: who saw it under a consensus, else the
    /// vantages probing during it.
    fn incident_vantages(&self, c: &ContractReport, i: &usize, row: &IncidentRow) -> String {
        match &c.consensus {
            Some(view) => view
                .incidents
                .get(*i)
                .map(|seen| super::consensus::seen_in(seen, self.lang))
                .unwrap_or_default(),
            None => row.vantages.join(", "),
        }
    }

    /// One vantage's strip: up over the contract's life, its no data, what it saw
    /// down.
    fn vantage_spans(&self, c: &ContractReport, v: &super::consensus::VantageView) -> Vec<Span> {
        let lang = self.lang;
        let (ps, pe) = (c.evaluation.period.start, c.evaluation.period.end);
        let tz = &c.plan.window.timezone;
        let x = |t: i64| x_of(t, ps, pe);
        let during = |s: i64, e: i64| {
            format!(
                "{}: {} {} {}",
                v.name,
                text::local_in(s.max(ps), tz, lang),
                text::t(lang, "to", "–"),
                text::local_in(e.min(pe), tz, lang)
            )
        };
        let mut out = background(
            c,
            |life_s, life_e| {
                format!(
                    "{} {}",
                    text::t(lang, "up", "disponibile"),
                    during(life_s, life_e)
                )
            },
            lang,
        );
        for &(a, b) in &v.no_data {
            let title = format!(
                "{} {}",
                text::t(lang, "no data", "senza dati"),
                during(a, b)
            );
            out.push(span("nodata", x(a), x(b), 0, 100, title));
        }
        for &(a, b) in &v.down {
            let title = format!(
                "{} {}",
                text::t(lang, "saw down", "disservizio rilevato"),
                during(a, b)
            );
            out.push(span("down", x(a), x(b), 0, 100, title));
        }
        out
    }

    /// The timeline's colours and what they mean; "outside the contract" only when
    /// the contract starts or ends inside the period.
    fn legend(&self, c: &ContractReport) -> Vec<(&'static str, &'static str)> {
        let lang = self.lang;
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
        items
    }

    /// The availability bar, or `None` when nothing was measured.
    fn bar(&self, c: &ContractReport) -> Option<Bar> {
        let lang = self.lang;
        let ev = &c.evaluation;
        let target = c.plan.objective.target;
        let a = ev.availability.as_ref()?;
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
        let (pa, pt) = (
            words::pct(&a.to_string(), lang),
            words::pct(&target.to_string(), lang),
        );
        Some(Bar {
            label: match lang {
                Lang::En => format!("Availability {a} % against a target of {target} %"),
                Lang::It => format!(
                    "Disponibilità {pa} a fronte di un obiettivo pari {}",
                    words::it_prep("a", &pt)
                ),
            },
            class: if ev.breach { "down" } else { "up" },
            colour: if ev.breach { "#c62828" } else { "#2e7d32" },
            fill: scale(a),
            mark: (scale(target) - 2).clamp(0, 996),
            availability: pa,
            target: pt,
            lo: words::pct(&lo.to_string(), lang),
        })
    }
}

/// The whole report.
pub(super) fn render(r: &Report, lang: Lang) -> String {
    let utc = jiff::tz::TimeZone::UTC;
    let (owed, days) = text::owed_total(r, lang);
    let page = Page {
        r,
        lang,
        it: lang == Lang::It,
        generated: match lang {
            Lang::En => text::utc(r.generated_at.0),
            Lang::It => words::datetime(r.generated_at.0, &utc, lang),
        },
        owed,
        more: text::days_of_service(days, lang),
    };
    // Rendering writes into a String with an escaper and methods that cannot fail;
    // an error would be a bug in a template: said in the file, never a panic.
    page.render()
        .unwrap_or_else(|e| format!("slawatch: the HTML report template failed: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        let escaped = askama::filters::escape("<script>alert(\"x\" & 'y')</script>\u{7}", Html)
            .map(|e| e.to_string());
        assert_eq!(
            escaped.as_deref(),
            Ok("&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;\u{FFFD}")
        );
        assert_eq!(id_of("rossi shop/<x>"), "rossi_shop__x_");
    }

    #[test]
    fn spans_scale_exactly_and_stay_inside() {
        assert_eq!(x_of(0, 0, 1000), 0);
        assert_eq!(x_of(500, 0, 1000), 5000);
        assert_eq!(x_of(-5, 0, 1000), 0);
        assert_eq!(x_of(5000, 0, 1000), W);
        let s = span("down", W - 1, W, 0, 100, "t".to_owned());
        assert_eq!((s.x, s.width), (W - MIN_SPAN, MIN_SPAN));
    }
}
