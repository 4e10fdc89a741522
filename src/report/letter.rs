//! Letters a person can send: plain text, formal register, fully in Italian or fully
//! in English, one per contract and period, addressed to the provider (legal name,
//! address, PEC or e-mail from the contract), from the customer (name, address,
//! customer code, contract number), citing the plan's `clause` as legal basis.
//!
//! The kind is chosen from the report model ([`kind`]), in this order:
//! 1. [`Kind::Regulator`]: a `compare_with` plan (a regulator's indemnity) gives more
//!    money than the contract: a complaint that asks for that amount by analogy and
//!    announces conciliation before an ADR body (never CORECOM by name: a
//!    regulation compared by analogy does not open its own body to the case);
//! 2. [`Kind::Credit`]: the contract owes an amount or days: a claim for them;
//! 3. [`Kind::Goodwill`]: the provider announced a goodwill remedy that applies: a
//!    request for it;
//! 4. [`Kind::BreachNotice`]: a breach, nothing owed by the contract (a liability
//!    clause, terms not captured): documents the breach and reserves every right,
//!    never asks for an amount.
//!
//! Invariant: no letter asks for nothing: an amount is asked only when it is above
//! zero, and with nothing to ask and no breach there is no letter.
//!
//! The deadline is judged at the letter's date ([`super::deadline::status`]): within
//! it (and how many days are left), or passed on a date, and then the letter says so
//! and rests on good faith and the regulator, never on the contractual term.
//! Dates, times and numbers are written as `super::words` writes them; no ISO
//! timestamp, no store id, no probe name.
//!
//! The sentences live in one askama template per language, `templates/letter-it.txt`
//! and `templates/letter-en.txt` (plain text, no escaping, compiled in). This module
//! computes the facts once for both (`Facts`: names, dates, amounts and minutes in
//! words, the kind asked, the deadline's state, the outages, the remedies); each
//! template only chooses its sentences and fills them in.
//!
//! Invariant: no string literal of this module reads as a letter's sentence (only
//! the words the report shares, `owed` and `class_words`, and the terminal lines
//! [`nothing_to_claim`] and [`missing_addressee`]); both templates word every kind
//! (tested).

use super::Lang;
use super::compare::{Remedy, RemedyKind};
use super::data::{ContractReport, IncidentRow};
use super::deadline::{self, DeadlineState};
use super::words::{self, it_prep};
use super::{terms, text};
use crate::model::UtcMillis;
use crate::sla::plan::{CreditForm, MissingData, Scheme};
use askama::Template;
use jiff::civil::Date;
use rust_decimal::Decimal;

/// The letter's file name: `claim-CONTRACT-PERIOD-LANG.txt` (characters other than
/// letters, digits, `.`, `_` and `-` in the contract id become `_`).
pub(crate) fn file_name(contract: &str, period: &str, lang: Lang) -> String {
    format!(
        "claim-{}-{period}-{}.txt",
        super::html::id_of(contract),
        lang.as_str()
    )
}

/// The stem of the report a letter attaches, of its contract alone and in its
/// language: `slawatch-PERIOD-CONTRACT-LANG` (`.html` is added by the renderer).
pub fn report_stem(contract: &str, period: &str, lang: Lang) -> String {
    format!(
        "{}-{}",
        super::file_stem(period, Some(&super::html::id_of(contract))),
        lang.as_str()
    )
}

/// What the contract owes, in words: "2,99 EUR", "3 giorni di servizio
/// (controvalore 9,99 EUR)" / "EUR 2.99", "3 days of service (worth EUR 9.99)";
/// none when nothing above zero.
pub(crate) fn owed(c: &ContractReport, lang: Lang) -> Option<String> {
    let ev = &c.evaluation;
    let it = lang == Lang::It;
    let money =
        positive(ev.credit.as_ref().map(|m| m.amount)).map(|m| words::money(&m, &c.currency, lang));
    let days = match (ev.extension_days, &ev.extension_hours) {
        (Some(1), _) => Some(if it { "1 giorno" } else { "1 day" }.to_owned()),
        (Some(d), _) if d > 0 => Some(format!("{d} {}", if it { "giorni" } else { "days" })),
        (None, Some(h)) if *h > crate::sla::num::int(0) => Some(format!(
            "{} {}",
            words::number(&crate::sla::num::exact(h), lang),
            if it { "ore" } else { "hours" }
        )),
        _ => None,
    };
    let (of_service, worth) = if it {
        ("di servizio", "controvalore")
    } else {
        ("of service", "worth")
    };
    match (days, money) {
        (Some(d), Some(m)) => Some(format!("{d} {of_service} ({worth} {m})")),
        (Some(d), None) => Some(format!("{d} {of_service}")),
        (None, Some(m)) => Some(m),
        (None, None) => None,
    }
}

/// What a letter asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The contract owes an amount or days.
    Credit,
    /// A breach, nothing owed by the contract: notice and reservation of rights.
    BreachNotice,
    /// The announced goodwill remedy at this index of `comparison.remedies`.
    Goodwill(usize),
    /// The compared plan at this index of `comparison.remedies` gives more than
    /// the contract: complaint before conciliation.
    Regulator(usize),
}

fn positive(d: Option<Decimal>) -> Option<Decimal> {
    d.filter(|m| *m > Decimal::ZERO)
}

/// What the contract itself owes in money (0 when nothing).
fn contract_money(c: &ContractReport) -> Decimal {
    c.evaluation
        .credit
        .as_ref()
        .map_or(Decimal::ZERO, |m| m.amount)
}

/// The kind of letter the contract's report calls for, if any.
pub fn kind(c: &ContractReport) -> Option<Kind> {
    let remedies = &c.comparison.remedies;
    let own = contract_money(c);
    let regulator = remedies
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == RemedyKind::Compared)
        .filter_map(|(i, r)| positive(r.money).map(|m| (i, m)))
        .filter(|(_, m)| *m > own)
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    if let Some((i, _)) = regulator {
        return Some(Kind::Regulator(i));
    }
    if c.owes() {
        return Some(Kind::Credit);
    }
    let goodwill = remedies.iter().position(|r| {
        r.kind == RemedyKind::Goodwill
            && (positive(r.money).is_some() || r.days.is_some_and(|d| d > 0) || r.other.is_some())
    });
    if let Some(i) = goodwill {
        return Some(Kind::Goodwill(i));
    }
    c.evaluation.breach.then_some(Kind::BreachNotice)
}

/// Whether there is a letter to write.
pub(crate) fn claimable(c: &ContractReport) -> bool {
    kind(c).is_some()
}

/// One line saying there is nothing to claim, and why (for the terminal).
pub(crate) fn nothing_to_claim(c: &ContractReport, lang: Lang) -> String {
    let ev = &c.evaluation;
    let a = ev.availability_pct();
    match lang {
        Lang::En => format!(
            "{}, {}: nothing to claim: availability {} against the {} target, no breach and nothing owed.",
            c.contract.id,
            ev.period.label,
            a.map_or_else(
                || "n/a (nothing measured)".to_owned(),
                |a| words::pct(&a, lang)
            ),
            words::pct(&c.plan.objective.target.to_string(), lang)
        ),
        Lang::It => format!(
            "{}, {}: nulla da richiedere: disponibilità {} rispetto {} garantito, nessuna violazione e nessun indennizzo dovuto.",
            c.contract.id,
            ev.period.label,
            a.map_or_else(|| "non misurata".to_owned(), |a| words::pct(&a, lang)),
            it_prep("a", &words::pct(&c.plan.objective.target.to_string(), lang))
        ),
    }
}

/// The warning to print when the letter has no addressee address: which key to add.
pub(crate) fn missing_addressee(c: &ContractReport) -> Option<String> {
    let k = &c.contract;
    (k.provider_address.is_none() && k.provider_pec.is_none()).then(|| {
        format!(
            "the letter for contract '{}' has no addressee address: add provider_address = \"...\" \
             (postal) or provider_pec = \"...\" (certified e-mail) to its [[contract]]",
            k.id
        )
    })
}

/// The letter for one contract, or none when there is nothing to ask or notify.
/// `report_file` is the attached report's file name; `vantage` this slawatch's
/// vantage; `date` the letter's date (its deadline is judged at that date's start
/// in the plan's zone).
pub fn render(
    c: &ContractReport,
    lang: Lang,
    report_file: &str,
    vantage: &str,
    date: Date,
) -> Option<String> {
    let facts = Facts::of(c, kind(c)?, report_file, vantage, date, lang);
    // Rendering fails only when a value's `Display` fails; every value here is a
    // string or an integer, whose `Display` never does.
    let mut letter = match lang {
        Lang::It => ItalianLetter(&facts).render(),
        Lang::En => EnglishLetter(&facts).render(),
    }
    .ok()?;
    // askama drops the template file's final line break; a text file ends with one.
    letter.push('\n');
    Some(letter)
}

/// The letter in Italian: `templates/letter-it.txt` words the [`Facts`]. Every
/// character of a template's text reaches the letter, whatever a crate-wide
/// `askama.toml` makes the default (`whitespace = "preserve"`): the templates trim
/// only where a tag says so (`{%-`, `-%}`).
#[derive(Template)]
#[template(path = "letter-it.txt", escape = "none", whitespace = "preserve")]
struct ItalianLetter<'f, 'a>(&'f Facts<'a>);

/// The letter in English: `templates/letter-en.txt` words the [`Facts`].
#[derive(Template)]
#[template(path = "letter-en.txt", escape = "none", whitespace = "preserve")]
struct EnglishLetter<'f, 'a>(&'f Facts<'a>);

impl<'a> std::ops::Deref for ItalianLetter<'_, 'a> {
    type Target = Facts<'a>;
    fn deref(&self) -> &Facts<'a> {
        self.0
    }
}

impl<'a> std::ops::Deref for EnglishLetter<'_, 'a> {
    type Target = Facts<'a>;
    fn deref(&self) -> &Facts<'a> {
        self.0
    }
}

/// Everything a letter says, computed once for both languages: names as
/// configured, dates, times, numbers and amounts already in the letter's language
/// ([`super::words`]), and which sentence applies as a choice (an enum or a flag).
/// The templates hold every sentence and only choose and fill them.
struct Facts<'a> {
    ask: Ask<'a>,
    customer: String,
    customer_address: Option<&'a str>,
    customer_code: Option<&'a str>,
    customer_email: Option<&'a str>,
    /// The provider's name (contract over plan); none: "the provider".
    provider: Option<String>,
    provider_address: Option<&'a str>,
    provider_pec: Option<&'a str>,
    provider_email: Option<&'a str>,
    /// The letter's date.
    date: String,
    contract: ContractRef<'a>,
    period: PeriodWords,
    service: Option<&'a str>,
    clause: Option<&'a str>,
    /// The plan's terms in words ([`terms::describe`]).
    terms: String,
    vantage: &'a str,
    /// The vantages the figures rest on, when more than one.
    vantages: Option<Vantages>,
    /// Checks were made in the period (the figures rest on monitoring).
    measured: bool,
    /// Some interruption comes from a record other than monitoring.
    recorded: bool,
    zone: &'a str,
    /// The interruptions counted under the contract.
    outages: Vec<Outage>,
    /// How many interruptions inside the period the contract's terms exclude.
    excluded: usize,
    availability: Option<String>,
    target: String,
    downtime: String,
    measured_minutes: String,
    no_data: Option<NoData>,
    breach: bool,
    /// What the contract owes in words ([`owed`]); none when nothing above zero.
    owed: Option<String>,
    form: Option<CreditForm>,
    /// The claim deadline has passed at the letter's date.
    late: bool,
    /// The contract excludes compensation (a liability clause), rather than
    /// stating none that can be computed.
    liability: bool,
    deadline: Term,
    /// The attached report's file name.
    file: &'a str,
    /// How many checks the digest covers; none when nothing was measured.
    checks: Option<String>,
    digest: &'a str,
}

/// What the letter asks for ([`Kind`] with what it needs).
enum Ask<'a> {
    Credit,
    BreachNotice,
    /// The announced goodwill remedy.
    Goodwill(Offer<'a>),
    /// A compared plan's indemnity, asked by analogy.
    Regulator(Compared<'a>),
}

/// How the letter names the contract: by its number, by the customer's account
/// on a free service, or (last resort) by the configuration's id.
enum ContractRef<'a> {
    Number(&'a str),
    Account(&'a str),
    Id(&'a str),
}

/// The period: a calendar month or year by name, else its first and last day.
enum PeriodWords {
    Named(String),
    Dates(String, String),
}

/// One counted interruption.
struct Outage {
    /// The local day when it starts and ends on the same day; `from` and `to` are
    /// then clock times, else dates with times.
    day: Option<String>,
    from: String,
    to: String,
    open: bool,
    /// Minutes counted in the period.
    counted: String,
    /// Where it was seen, each once, in the order of the row's sources.
    sources: Vec<Source>,
    /// Its error classes in words ([`class_words`]).
    results: Vec<&'static str>,
    /// The vantages that saw it, when the report rests on more than one.
    seen: Option<SeenFrom>,
}

/// The vantages that saw an interruption: how many, and their names.
struct SeenFrom {
    count: usize,
    names: String,
}

/// The vantages a report rests on, when more than one, and its rule's `k`.
struct Vantages {
    count: usize,
    names: String,
    k: u32,
}

/// The vantages of `c`'s report, when more than one.
fn vantages_of(c: &ContractReport) -> Option<Vantages> {
    let view = c.consensus.as_ref().filter(|v| v.vantages.len() > 1)?;
    Some(Vantages {
        count: view.vantages.len(),
        names: view
            .vantages
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        k: view.rule.k,
    })
}

/// Who saw incident `index`, when the report rests on more than one vantage: a
/// letter from one vantage says nothing new.
fn seen_from(c: &ContractReport, index: usize) -> Option<SeenFrom> {
    let view = c.consensus.as_ref().filter(|v| v.vantages.len() > 1)?;
    let seen = view.incidents.get(index)?;
    (!seen.seen_by.is_empty()).then(|| SeenFrom {
        count: seen.seen_by.len(),
        names: seen.seen_by.join(", "),
    })
}

/// Where an interruption was seen.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Measured,
    StatusPage,
    Provider,
    Seen,
}

/// Time neither measured nor recorded as interrupted.
struct NoData {
    minutes: String,
    counted: Unmeasured,
}

/// How unmeasured time counts.
enum Unmeasured {
    /// As available, by the customer's own choice (`unmonitored`).
    ChosenAsUp,
    /// As the contract's terms say.
    Contract(MissingData),
}

/// The claim deadline at the letter's date.
enum Term {
    /// The contract sets none.
    None,
    /// Passed; its last day.
    Passed(String),
    /// Open; its last day and the days left in words.
    Within(String, String),
}

/// A remedy the provider announced, in words.
struct Offer<'a> {
    label: &'a str,
    /// Free days of service (above zero).
    days: Option<u32>,
    /// Their money value, with `days`.
    worth: Option<String>,
    /// An amount, without `days`.
    money: Option<String>,
    other: Option<&'a str>,
}

/// A compared plan's indemnity.
struct Compared<'a> {
    /// The rules cited: their reference, else the plan's label.
    cited: &'a str,
    amount: String,
    /// The goodwill the provider announced, said so the letter does not read as
    /// if nothing had been offered.
    offered: Option<Offer<'a>>,
}

impl<'a> Facts<'a> {
    fn of(
        c: &'a ContractReport,
        kind: Kind,
        file: &'a str,
        vantage: &'a str,
        date: Date,
        lang: Lang,
    ) -> Self {
        let k = &c.contract;
        let ev = &c.evaluation;
        let tz = &c.plan.window.timezone;
        let money = |d: &Decimal| words::money(d, &c.currency, lang);
        let offer = |r: &'a Remedy| {
            let days = r.days.filter(|d| *d > 0);
            let amount = positive(r.money).map(|m| money(&m));
            Offer {
                label: &r.label,
                days,
                worth: days.and(amount.clone()),
                money: if days.is_some() { None } else { amount },
                other: r.other.as_deref(),
            }
        };
        let remedies = &c.comparison.remedies;
        let ask = match kind {
            Kind::Credit => Ask::Credit,
            Kind::BreachNotice => Ask::BreachNotice,
            Kind::Goodwill(i) => Ask::Goodwill(offer(&remedies[i])),
            Kind::Regulator(i) => Ask::Regulator(Compared {
                cited: remedies[i]
                    .reference
                    .as_deref()
                    .unwrap_or(&remedies[i].label),
                amount: positive(remedies[i].money)
                    .map(|m| money(&m))
                    .unwrap_or_default(),
                offered: remedies
                    .iter()
                    .find(|g| g.kind == RemedyKind::Goodwill)
                    .map(offer),
            }),
        };
        let status = crate::sla::period::midnight(date, tz)
            .ok()
            .and_then(|at| deadline::of(c, UtcMillis(at)));
        let deadline = match &status {
            None => Term::None,
            Some(d) if d.state == DeadlineState::Passed => {
                Term::Passed(deadline::last_day_words(d, tz, lang))
            }
            Some(d) => Term::Within(
                deadline::last_day_words(d, tz, lang),
                deadline::days_left(d.days, lang),
            ),
        };
        let no_data = (ev.no_data_ms > 0).then(|| NoData {
            minutes: words::minutes(&crate::sla::num::int(ev.no_data_ms), lang),
            counted: match ev.missing_data {
                MissingData::AsUp if k.unmonitored != crate::config::Unmonitored::Plan => {
                    Unmeasured::ChosenAsUp
                }
                m => Unmeasured::Contract(m),
            },
        });
        Facts {
            ask,
            customer: text::customer(c),
            customer_address: k.customer_address.as_deref().map(str::trim_end),
            customer_code: k.customer_code.as_deref(),
            customer_email: k.customer_email.as_deref(),
            provider: k.provider_name.clone().or_else(|| c.plan.provider.clone()),
            provider_address: k.provider_address.as_deref().map(str::trim_end),
            provider_pec: k.provider_pec.as_deref(),
            provider_email: k.provider_email.as_deref(),
            date: words::date(date, lang),
            contract: match (&k.contract_number, &k.customer_email) {
                (Some(n), _) => ContractRef::Number(n),
                (None, Some(e)) => ContractRef::Account(e),
                (None, None) => ContractRef::Id(&k.id),
            },
            period: period_words(c, lang),
            service: c.plan.service.as_deref(),
            clause: c.plan.clause.as_deref(),
            terms: terms::describe(&c.plan, lang),
            vantage,
            vantages: vantages_of(c),
            measured: c.evidence.checks > 0,
            recorded: c
                .incidents
                .iter()
                .any(|r| r.sources.iter().any(|x| x != "measured")),
            zone: &c.plan.window.timezone_name,
            outages: c
                .incidents
                .iter()
                .enumerate()
                .filter(|(_, r)| r.excluded.is_none())
                .map(|(i, r)| outage(c, i, r, lang))
                .collect(),
            excluded: c
                .incidents
                .iter()
                .filter(|r| {
                    r.excluded
                        .as_deref()
                        .is_some_and(|w| w != "outside the period")
                })
                .count(),
            availability: ev.availability_pct().map(|a| words::pct(&a, lang)),
            target: words::pct(&c.plan.objective.target.to_string(), lang),
            downtime: words::minutes(&ev.downtime_ms, lang),
            measured_minutes: words::minutes(&ev.measured_ms, lang),
            no_data,
            breach: ev.breach,
            owed: owed(c, lang),
            form: ev.form,
            late: matches!(deadline, Term::Passed(_)),
            liability: matches!(c.plan.credit.scheme, Scheme::None),
            deadline,
            file,
            checks: (c.evidence.checks > 0)
                .then(|| words::number(&c.evidence.checks.to_string(), lang)),
            digest: &c.evidence.sha256,
        }
    }

    /// What the contract owes in words, empty when nothing (a credit letter is
    /// written only when something is owed).
    fn owed_words(&self) -> &str {
        self.owed.as_deref().unwrap_or_default()
    }
}

/// "gennaio 2023" for a calendar month, "2023" for a year, else the first and
/// last day.
fn period_words(c: &ContractReport, lang: Lang) -> PeriodWords {
    let p = &c.evaluation.period;
    let last = p.end_day.yesterday().unwrap_or(p.end_day);
    if p.first_day.day() == 1 && p.months == Some(1) && last.month() == p.first_day.month() {
        PeriodWords::Named(words::month_year(p.first_day, lang))
    } else if p.first_day.day() == 1 && p.first_day.month() == 1 && p.months == Some(12) {
        PeriodWords::Named(p.first_day.year().to_string())
    } else {
        PeriodWords::Dates(words::date(p.first_day, lang), words::date(last, lang))
    }
}

/// One counted interruption: within one local day its day and clock times, else
/// its start and end with dates; its sources and error classes.
fn outage(c: &ContractReport, index: usize, r: &IncidentRow, lang: Lang) -> Outage {
    let tz = &c.plan.window.timezone;
    // The local day and clock time of an instant.
    let local = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms).ok().map(|t| {
            let z = t.to_zoned_datetime(tz.clone());
            let clock = if z.second() == 0 && z.subsec_nanosecond() == 0 {
                z.strftime("%H:%M").to_string()
            } else {
                z.strftime("%H:%M:%S").to_string()
            };
            (z.date(), clock)
        })
    };
    let (day, from, to) = match (local(r.start.0), local(r.end.0)) {
        (Some((a, from)), Some((b, to))) if a == b => (Some(words::date(a, lang)), from, to),
        _ => (
            None,
            words::datetime(r.start.0, tz, lang),
            words::datetime(r.end.0, tz, lang),
        ),
    };
    let mut sources = Vec::new();
    for src in &r.sources {
        let s = match src.as_str() {
            "measured" => Source::Measured,
            "status-page" => Source::StatusPage,
            "provider" => Source::Provider,
            _ => Source::Seen,
        };
        if !sources.contains(&s) {
            sources.push(s);
        }
    }
    Outage {
        day,
        from,
        to,
        open: r.open,
        counted: words::minutes(&r.counted_ms, lang),
        sources,
        results: r
            .classes
            .iter()
            .map(|(c, _)| class_words(c, lang))
            .collect(),
        seen: seen_from(c, index),
    }
}

/// The error class in words.
pub(crate) fn class_words(class: &str, lang: Lang) -> &'static str {
    match (lang, class) {
        (Lang::It, "dns") => "nome a dominio non risolto",
        (Lang::It, "refused") => "connessione rifiutata",
        (Lang::It, "timeout") => "nessuna risposta entro il tempo limite",
        (Lang::It, "tls") => "errore nella connessione cifrata",
        (Lang::It, "certificate") => "certificato non valido",
        (Lang::It, "protocol") => "risposta non conforme al protocollo",
        (Lang::It, "auth") => "accesso non riuscito",
        (Lang::It, "status") => "risposta di errore",
        (Lang::It, "content") => "contenuto non corretto",
        (Lang::It, "delivery") => "posta non consegnata",
        (Lang::It, "slow") => "risposta troppo lenta",
        (Lang::It, _) => "causa non determinata",
        (Lang::En, "dns") => "name not resolved",
        (Lang::En, "refused") => "connection refused",
        (Lang::En, "timeout") => "no answer in time",
        (Lang::En, "tls") => "encrypted connection failed",
        (Lang::En, "certificate") => "invalid certificate",
        (Lang::En, "protocol") => "answer not following the protocol",
        (Lang::En, "auth") => "login failed",
        (Lang::En, "status") => "error response",
        (Lang::En, "content") => "wrong content",
        (Lang::En, "delivery") => "mail not delivered",
        (Lang::En, "slow") => "answer too slow",
        (Lang::En, _) => "cause not determined",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_to_safe_characters() {
        assert_eq!(
            file_name("../rossi shop", "2023-01", Lang::It),
            "claim-.._rossi_shop-2023-01-it.txt"
        );
    }

    /// Facts with every optional part present, asking `ask`.
    fn facts(ask: Ask<'static>) -> Facts<'static> {
        let offer = || Offer {
            label: "Fire",
            days: Some(10),
            worth: Some("9,97 EUR".to_owned()),
            money: None,
            other: Some("Business Mail"),
        };
        let ask = match ask {
            Ask::Goodwill(_) => Ask::Goodwill(offer()),
            Ask::Regulator(_) => Ask::Regulator(Compared {
                cited: "agcom",
                amount: "12,50 EUR".to_owned(),
                offered: Some(offer()),
            }),
            other => other,
        };
        Facts {
            ask,
            customer: "Rossi S.r.l.".to_owned(),
            customer_address: Some("Via Roma 1"),
            customer_code: Some("C-1"),
            customer_email: Some("a@rossi.test"),
            provider: Some("Hosting S.p.A.".to_owned()),
            provider_address: Some("Via dei Server 10"),
            provider_pec: Some("pec@hosting.test"),
            provider_email: Some("info@hosting.test"),
            date: "2 febbraio 2023".to_owned(),
            contract: ContractRef::Number("HP-1"),
            period: PeriodWords::Named("gennaio 2023".to_owned()),
            service: Some("Hosting"),
            clause: Some("art. 6"),
            terms: "99,9 %".to_owned(),
            vantage: "milano-1",
            vantages: None,
            measured: true,
            recorded: true,
            zone: "Europe/Rome",
            outages: vec![Outage {
                day: Some("10 gennaio 2023".to_owned()),
                from: "08:00".to_owned(),
                to: "10:30".to_owned(),
                open: true,
                counted: "150".to_owned(),
                sources: vec![Source::Measured, Source::StatusPage],
                results: vec!["x"],
                seen: None,
            }],
            excluded: 2,
            availability: Some("99,4 %".to_owned()),
            target: "99,9 %".to_owned(),
            downtime: "240".to_owned(),
            measured_minutes: "44.460".to_owned(),
            no_data: Some(NoData {
                minutes: "180".to_owned(),
                counted: Unmeasured::Contract(MissingData::Exclude),
            }),
            breach: true,
            owed: Some("2,99 EUR".to_owned()),
            form: Some(CreditForm::Refund),
            late: false,
            liability: true,
            deadline: Term::Within("2 marzo 2023".to_owned(), "mancano 28 giorni".to_owned()),
            file: "r.html",
            checks: Some("17.796".to_owned()),
            digest: "7e17",
        }
    }

    fn asks() -> [Ask<'static>; 4] {
        let offer = Offer {
            label: "",
            days: None,
            worth: None,
            money: None,
            other: None,
        };
        [
            Ask::Credit,
            Ask::BreachNotice,
            Ask::Goodwill(offer),
            Ask::Regulator(Compared {
                cited: "",
                amount: String::new(),
                offered: None,
            }),
        ]
    }

    fn subject(letter: &str) -> &str {
        letter
            .lines()
            .find(|l| l.starts_with("Oggetto:") || l.starts_with("Subject:"))
            .unwrap_or_default()
    }

    /// Each template words every kind of letter: four different subjects and
    /// requests, and nothing of the other language.
    #[test]
    fn both_templates_word_every_kind() {
        for (lang, foreign) in [
            (Lang::It, ["the contract", "I ask", "Subject"]),
            (Lang::En, ["contratto", "Vi chiedo", "Oggetto"]),
        ] {
            let mut subjects = Vec::new();
            for ask in asks() {
                let f = facts(ask);
                let letter = match lang {
                    Lang::It => ItalianLetter(&f).render(),
                    Lang::En => EnglishLetter(&f).render(),
                }
                .unwrap();
                assert!(!letter.contains("{{") && !letter.contains("{%"), "{letter}");
                for word in foreign {
                    assert!(!letter.contains(word), "{word:?} in:\n{letter}");
                }
                assert!(letter.contains("Rossi S.r.l."), "{letter}");
                let s = subject(&letter).to_owned();
                assert!(!s.is_empty() && !subjects.contains(&s), "{s:?}\n{letter}");
                subjects.push(s);
            }
            assert_eq!(subjects.len(), 4);
        }
    }

    /// `letter.rs` computes facts; the templates hold the letter's sentences. No
    /// string literal here may read as a sentence of a letter, outside the shared
    /// words the report uses too (`owed`, `class_words`) and the terminal lines
    /// (`nothing_to_claim`, `missing_addressee`).
    #[test]
    fn the_templates_are_the_only_place_of_the_letters_sentences() {
        let full = include_str!("letter.rs");
        let mut code: String = full[..full.find("#[cfg(test)]").unwrap_or(full.len())]
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(|l| format!("{l}\n"))
            .collect();
        for shared in [
            "fn owed(",
            "fn class_words(",
            "fn nothing_to_claim(",
            "fn missing_addressee(",
        ] {
            let start = code.find(shared).unwrap();
            let end = start + code[start..].find("\n}\n").unwrap();
            code.replace_range(start..end, "");
        }
        let mut literals = Vec::new();
        let mut rest = code.as_str();
        while let Some(open) = rest.find('"') {
            let body = &rest[open + 1..];
            let mut end = 0;
            let mut escaped = false;
            for (i, ch) in body.char_indices() {
                match ch {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = i;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            literals.push(&body[..end]);
            rest = &body[end + 1..];
        }
        assert!(literals.contains(&"letter-it.txt"), "{literals:?}");
        let markers = [
            // Italian
            "Vi ",
            "Vostr",
            "contratto",
            "indennizzo",
            "interruzion",
            "servizio",
            "chiedo",
            "giorn",
            "minuti",
            "Spett",
            "presente",
            "periodo", // English
            "I ",
            "you",
            "contract",
            "compensation",
            "interruption",
            "minutes",
            "days",
            "service",
            "letter ",
        ];
        for literal in literals {
            for m in markers {
                assert!(
                    !literal.contains(m),
                    "{literal:?} reads as a letter's sentence: it belongs in templates/letter-*.txt"
                );
            }
        }
    }
}
