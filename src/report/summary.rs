//! The terminal summary `slawatch report` prints after the files it wrote: per
//! contract, whether the SLA was breached, what the contract owes, what the
//! provider offered, what compared plans (a regulation) would give by analogy,
//! which is largest, and the claim deadline. Plain text, no escaping beyond
//! dropping control characters (text from the configuration is printed).

use super::Lang;
use super::compare::{self, RemedyKind};
use super::data::{ContractReport, Report};

/// Text from the configuration with its control characters dropped, so a name can
/// not move the cursor or forge a line.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// One contract's lines.
pub(crate) fn contract(c: &ContractReport, lang: Lang) -> String {
    let e = &c.evaluation;
    let name = match &c.contract.customer {
        Some(who) => format!("{} ({})", clean(&c.contract.id), clean(who)),
        None => clean(&c.contract.id),
    };
    let availability = e.availability_pct().map(|a| super::words::pct(&a, lang));
    let breach = match (lang, e.breach) {
        (Lang::En, true) => "yes",
        (Lang::En, false) => "no",
        (Lang::It, true) => "sì",
        (Lang::It, false) => "no",
    };
    let breach = match availability {
        Some(a) => match lang {
            Lang::En => format!("{breach} (availability {a})"),
            Lang::It => format!("{breach} (disponibilità {a})"),
        },
        None => breach.to_owned(),
    };
    let labels: [&str; 6] = match lang {
        Lang::En => [
            "SLA breached",
            "contract owes",
            "provider offered",
            "by analogy",
            "largest",
            "claim by",
        ],
        Lang::It => [
            "SLA violato",
            "dovuto dal contratto",
            "offerto dal fornitore",
            "per analogia",
            "il più alto",
            "reclamo entro",
        ],
    };
    let values = [
        breach,
        compare::of_kind(c, RemedyKind::Contract, lang),
        compare::of_kind(c, RemedyKind::Goodwill, lang),
        compare::of_kind(c, RemedyKind::Compared, lang),
        compare::largest_text(c, lang),
        super::deadline::phrase(c, lang).0,
    ];
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut s = format!("{name}, {}:\n", e.period.label);
    // What the figures rest on comes first, as in every other format.
    s.push_str(&format!("  {}\n", clean(&super::basis::summary(c, lang))));
    for (l, v) in labels.iter().zip(values) {
        let pad = width - l.chars().count();
        s.push_str(&format!("  {l}{}  {}\n", " ".repeat(pad), clean(&v)));
    }
    s
}

/// The summary of a report: one block per contract, then the contracts skipped.
pub(crate) fn render(r: &Report, lang: Lang) -> String {
    let mut s = String::new();
    for c in &r.contracts {
        s.push('\n');
        s.push_str(&contract(c, lang));
        if !s.ends_with('\n') {
            s.push('\n');
        }
    }
    for (id, why) in &r.skipped {
        s.push_str(&match lang {
            Lang::En => format!("\n{}: not evaluated ({})\n", clean(id), clean(why)),
            Lang::It => format!("\n{}: non valutato ({})\n", clean(id), clean(why)),
        });
    }
    s
}
