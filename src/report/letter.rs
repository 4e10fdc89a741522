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
//! Dates, times and numbers are written as [`super::words`] writes them; no ISO
//! timestamp, no store id, no probe name.

use super::Lang;
use super::compare::{Remedy, RemedyKind};
use super::data::{ContractReport, IncidentRow};
use super::deadline::{self, DeadlineState};
use super::words::{self, it_prep};
use super::{terms, text};
use crate::model::UtcMillis;
use crate::sla::plan::{CreditForm, MissingData, Scheme};
use jiff::civil::Date;
use rust_decimal::Decimal;
use std::fmt::Write as _;

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
    let kind = kind(c)?;
    let w = Writer {
        c,
        lang,
        kind,
        file: report_file,
        vantage,
        date,
    };
    Some(w.letter())
}

struct Writer<'a> {
    c: &'a ContractReport,
    lang: Lang,
    kind: Kind,
    file: &'a str,
    vantage: &'a str,
    date: Date,
}

/// The error class in words.
pub(crate) fn class_words(class: &str, lang: Lang) -> &str {
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

impl Writer<'_> {
    fn it(&self) -> bool {
        self.lang == Lang::It
    }

    /// `it` or `en` text.
    fn t<'s>(&self, it: &'s str, en: &'s str) -> &'s str {
        if self.it() { it } else { en }
    }

    fn customer(&self) -> String {
        text::customer(self.c)
    }

    fn provider(&self) -> Option<String> {
        self.c
            .contract
            .provider_name
            .clone()
            .or_else(|| self.c.plan.provider.clone())
    }

    /// "n. 12345"; a free account without a number is named by the customer's
    /// address on it ("relativo all'account x@y"); the contract id only as a last
    /// resort (the configuration's name, not the provider's).
    fn contract_ref(&self) -> String {
        let c = &self.c.contract;
        match (&c.contract_number, &c.customer_email) {
            (Some(n), _) => format!("{} {n}", self.t("n.", "no.")),
            (None, Some(e)) => format!("{} {e}", self.t("relativo all'account", "for the account")),
            (None, None) => c.id.clone(),
        }
    }

    fn dt(&self, ms: i64) -> String {
        words::datetime(ms, &self.c.plan.window.timezone, self.lang)
    }

    fn money(&self, d: &Decimal) -> String {
        words::money(d, &self.c.currency, self.lang)
    }

    /// "gennaio 2023" for a calendar month, "2023" for a year, else the dates.
    fn period(&self) -> String {
        let p = &self.c.evaluation.period;
        let last = p.end_day.yesterday().unwrap_or(p.end_day);
        if p.first_day.day() == 1 && p.months == Some(1) && last.month() == p.first_day.month() {
            words::month_year(p.first_day, self.lang)
        } else if p.first_day.day() == 1 && p.first_day.month() == 1 && p.months == Some(12) {
            p.first_day.year().to_string()
        } else if self.it() {
            format!(
                "{} {}",
                it_prep("da", &words::date(p.first_day, self.lang)),
                it_prep("a", &words::date(last, self.lang))
            )
        } else {
            format!(
                "{} to {}",
                words::date(p.first_day, self.lang),
                words::date(last, self.lang)
            )
        }
    }

    fn letter(&self) -> String {
        let mut s = String::new();
        self.header(&mut s);
        self.opening(&mut s);
        self.incidents(&mut s);
        self.figures(&mut s);
        self.request(&mut s);
        self.deadline(&mut s);
        let checks = words::number(&self.c.evidence.checks.to_string(), self.lang);
        let digest = &self.c.evidence.sha256;
        let attached = match (self.it(), self.c.evidence.checks > 0) {
            (true, true) => format!(
                "Allego il rapporto {}, che elenca ogni interruzione e il metodo di calcolo e riporta \
                 l'impronta SHA-256 {digest} dei {checks} controlli su cui si basa.",
                self.file
            ),
            (true, false) => format!(
                "Allego il rapporto {}, che elenca ogni interruzione registrata, con la sua fonte, e il \
                 metodo di calcolo.",
                self.file
            ),
            (false, true) => format!(
                "Attached: the report {}, which lists every interruption and the method of calculation, \
                 and states the SHA-256 digest {digest} of the {checks} checks it rests on.",
                self.file
            ),
            (false, false) => format!(
                "Attached: the report {}, which lists every recorded interruption, with its source, and \
                 the method of calculation.",
                self.file
            ),
        };
        let _ = writeln!(s, "\n{attached}");
        let _ = write!(
            s,
            "\n{}\n\n{}\n",
            self.t("Distinti saluti,", "Yours faithfully,"),
            self.customer()
        );
        s
    }

    fn header(&self, s: &mut String) {
        let k = &self.c.contract;
        let _ = writeln!(s, "{}", self.customer());
        if let Some(a) = &k.customer_address {
            let _ = writeln!(s, "{}", a.trim_end());
        }
        if let Some(code) = &k.customer_code {
            let _ = writeln!(s, "{} {code}", self.t("Codice cliente:", "Customer code:"));
        }
        if let Some(e) = &k.customer_email {
            let _ = writeln!(s, "{} {e}", self.t("E-mail:", "E-mail:"));
        }
        let _ = writeln!(s);
        let provider = self.provider();
        match (&provider, self.it()) {
            (Some(p), true) => {
                let _ = writeln!(s, "Spett.le {p}");
            }
            (Some(p), false) => {
                let _ = writeln!(s, "To: {p}");
            }
            (None, true) => s.push_str("Spett.le Fornitore\n"),
            (None, false) => s.push_str("To: the provider\n"),
        }
        if let Some(a) = &k.provider_address {
            let _ = writeln!(s, "{}", a.trim_end());
        }
        if let Some(p) = &k.provider_pec {
            let _ = writeln!(s, "{} {p}", self.t("PEC:", "Certified e-mail (PEC):"));
        }
        if let Some(e) = &k.provider_email {
            let _ = writeln!(s, "{} {e}", self.t("E-mail:", "E-mail:"));
        }
        let _ = writeln!(s, "\n{}\n", words::date(self.date, self.lang));
        let subject = match (self.kind, self.it()) {
            (Kind::Credit, true) => {
                "Richiesta di indennizzo per mancato rispetto del livello di servizio"
            }
            (Kind::Credit, false) => "Claim for compensation under the service level agreement",
            (Kind::BreachNotice, true) => "Contestazione di disservizio e riserva di ogni diritto",
            (Kind::BreachNotice, false) => {
                "Notice of breach of the service level and reservation of rights"
            }
            (Kind::Goodwill(_), true) => "Richiesta dell'indennizzo da Voi annunciato",
            (Kind::Goodwill(_), false) => "Request for the compensation you announced",
            (Kind::Regulator(_), true) => {
                "Reclamo e richiesta di indennizzo, preliminare alla conciliazione"
            }
            (Kind::Regulator(_), false) => {
                "Complaint and claim for compensation, prior to conciliation"
            }
        };
        let _ = writeln!(
            s,
            "{} {subject}, {} {}, {}\n",
            self.t("Oggetto:", "Subject:"),
            self.t("contratto", "contract"),
            self.contract_ref(),
            self.period()
        );
        let _ = writeln!(
            s,
            "{}\n",
            self.t("Spettabile Società,", "Dear Sir or Madam,")
        );
    }

    fn opening(&self, s: &mut String) {
        let service = self.c.plan.service.as_deref();
        let terms = terms::describe(&self.c.plan, self.lang);
        let clause = self.c.plan.clause.as_deref();
        if self.it() {
            let _ = writeln!(
                s,
                "scrivo in qualità di Vostro cliente, titolare del contratto {}{}. {}: {}.\n",
                self.contract_ref(),
                service
                    .map(|x| format!(" per il servizio «{x}»"))
                    .unwrap_or_default(),
                match clause {
                    Some(c) => format!(
                        "Il livello di servizio è garantito dal contratto ({c}), che prevede"
                    ),
                    None => "Il livello di servizio garantito dal contratto prevede".to_owned(),
                },
                terms
            );
        } else {
            let _ = writeln!(
                s,
                "I write as your customer, holder of contract {}{}. {}: {}.\n",
                self.contract_ref(),
                service
                    .map(|x| format!(" for the service \"{x}\""))
                    .unwrap_or_default(),
                match clause {
                    Some(c) => format!(
                        "The service level is guaranteed by the contract ({c}), which provides"
                    ),
                    None => "The service level agreement of the contract provides".to_owned(),
                },
                terms
            );
        }
    }

    /// The interruptions counted, with their sources; the basis of the figures.
    fn incidents(&self, s: &mut String) {
        let list: Vec<&IncidentRow> = self
            .c
            .incidents
            .iter()
            .filter(|r| r.excluded.is_none())
            .collect();
        let measured = self.c.evidence.checks > 0;
        let recorded = self
            .c
            .incidents
            .iter()
            .filter(|r| r.sources.iter().any(|x| x != "measured"))
            .count();
        let zone = &self.c.plan.window.timezone_name;
        let basis = match (self.it(), measured, recorded > 0) {
            (true, true, true) => format!(
                "I dati si basano sul monitoraggio che svolgo in proprio con slawatch (punto di rilevazione «{}») \
                 e su interruzioni registrate da altre fonti, indicate per ciascuna.",
                self.vantage
            ),
            (true, true, false) => format!(
                "I dati si basano sul monitoraggio che svolgo in proprio con slawatch (punto di rilevazione «{}»).",
                self.vantage
            ),
            (true, false, _) => "I dati si basano sulle interruzioni registrate, con la fonte indicata per ciascuna: \
                 nel periodo il servizio non era sottoposto al mio monitoraggio automatico."
                .to_owned(),
            (false, true, true) => format!(
                "The figures rest on my own monitoring with slawatch (vantage \"{}\") and on interruptions \
                 recorded from other sources, named for each.",
                self.vantage
            ),
            (false, true, false) => format!(
                "The figures rest on my own monitoring with slawatch (vantage \"{}\").",
                self.vantage
            ),
            (false, false, _) => "The figures rest on the recorded interruptions, each with its source: my \
                 automatic monitoring was not running during the period."
                .to_owned(),
        };
        let _ = writeln!(s, "{basis}\n");
        let n = list.len();
        if self.it() {
            let _ = writeln!(
                s,
                "Nel periodo di riferimento ({}; orari nel fuso orario {zone}) {}:\n",
                self.period(),
                match n {
                    0 => "non risultano interruzioni conteggiate ai sensi del contratto".to_owned(),
                    1 => "risulta la seguente interruzione del servizio, conteggiata ai sensi del contratto".to_owned(),
                    n => format!(
                        "risultano le seguenti {n} interruzioni del servizio, conteggiate ai sensi del contratto"
                    ),
                }
            );
        } else {
            let _ = writeln!(
                s,
                "During the period ({}; times in the {zone} time zone) {}:\n",
                self.period(),
                match n {
                    0 => "no interruption counted under the contract was recorded".to_owned(),
                    1 => "the following interruption of the service was counted under the contract"
                        .to_owned(),
                    n => format!(
                        "the following {n} interruptions of the service were counted under the contract"
                    ),
                }
            );
        }
        for (i, r) in list.iter().enumerate() {
            let counted = words::minutes(&r.counted_ms, self.lang);
            let line = if self.it() {
                format!(
                    "{}{}: {counted} minuti conteggiati nel periodo{}",
                    self.span_words(r),
                    if r.open { " (ancora in corso)" } else { "" },
                    self.source_note(r)
                )
            } else {
                format!(
                    "{}{}: {counted} minutes counted in the period{}",
                    self.span_words(r),
                    if r.open { " (still open)" } else { "" },
                    self.source_note(r)
                )
            };
            let _ = writeln!(s, "  {}. {line}", i + 1);
        }
        let excluded = self
            .c
            .incidents
            .iter()
            .filter(|r| {
                r.excluded
                    .as_deref()
                    .is_some_and(|w| w != "outside the period")
            })
            .count();
        if excluded > 0 {
            let _ = writeln!(
                s,
                "\n{}",
                match (self.it(), excluded) {
                    (true, 1) => "Un'ulteriore interruzione, esclusa dai termini del contratto (ad esempio perché \
                         durante una manutenzione annunciata o troppo breve), non è oggetto della presente."
                        .to_owned(),
                    (true, n) => format!(
                        "Altre {n} interruzioni, escluse dai termini del contratto (ad esempio perché durante \
                         una manutenzione annunciata o troppo brevi), non sono oggetto della presente."
                    ),
                    (false, 1) => "One further interruption is excluded by the contract's terms (such as \
                         announced maintenance or a minimum length) and is not part of this letter."
                        .to_owned(),
                    (false, n) => format!(
                        "{n} further interruptions are excluded by the contract's terms (such as announced \
                         maintenance or a minimum length) and are not part of this letter."
                    ),
                }
            );
        }
    }

    /// "dal 31 dicembre 2022, ore 23:30 al 1º gennaio 2023, ore 01:10", or within
    /// one local day "il 10 gennaio 2023, dalle ore 08:00 alle ore 10:30"; in
    /// English "from ... to ...", "on 10 January 2023, from 08:00 to 10:30".
    fn span_words(&self, r: &IncidentRow) -> String {
        let tz = &self.c.plan.window.timezone;
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
        if let (Some((a, from)), Some((b, to))) = (local(r.start.0), local(r.end.0))
            && a == b
        {
            let day = words::date(a, self.lang);
            return if self.it() {
                format!("{}, dalle ore {from} alle ore {to}", it_prep("", &day))
            } else {
                format!("on {day}, from {from} to {to}")
            };
        }
        let (from, to) = (self.dt(r.start.0), self.dt(r.end.0));
        // "dal 22 gennaio 2023, ore 23:00, al 28 gennaio 2023, ore 12:00": the clock
        // time is set off by commas on both sides, or it reads as part of the range.
        if self.it() {
            format!("{}, {}", it_prep("da", &from), it_prep("a", &to))
        } else {
            format!("from {from} to {to}")
        }
    }

    /// "; recorded by my monitoring (errors: connection refused)", "; published on
    /// your status page", "; seen by me".
    fn source_note(&self, r: &IncidentRow) -> String {
        let mut parts: Vec<&str> = Vec::new();
        for src in &r.sources {
            let part = match (self.it(), src.as_str()) {
                (true, "measured") => "rilevata dal monitoraggio",
                (true, "status-page") => "pubblicata sulla Vostra pagina di stato",
                (true, "provider") => "comunicata da Voi",
                (true, _) => "constatata direttamente",
                (false, "measured") => "recorded by my monitoring",
                (false, "status-page") => "published on your status page",
                (false, "provider") => "stated by you",
                (false, _) => "seen by me",
            };
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        let mut out = String::new();
        if !parts.is_empty() {
            out = format!("; {}", parts.join(self.t(" e ", " and ")));
        }
        if !r.classes.is_empty() {
            let names: Vec<&str> = r
                .classes
                .iter()
                .map(|(c, _)| class_words(c, self.lang))
                .collect();
            let _ = write!(
                out,
                " ({}: {})",
                self.t("esito", "result"),
                names.join(", ")
            );
        }
        out
    }

    fn figures(&self, s: &mut String) {
        let ev = &self.c.evaluation;
        let target = words::pct(&self.c.plan.objective.target.to_string(), self.lang);
        let down = words::minutes(&ev.downtime_ms, self.lang);
        let measured = words::minutes(&ev.measured_ms, self.lang);
        let avail = ev.availability_pct().map(|a| words::pct(&a, self.lang));
        let _ = writeln!(
            s,
            "\n{}",
            match (self.it(), avail) {
                (true, Some(a)) => format!(
                    "La disponibilità misurata nel periodo è pari {}, a fronte di un livello garantito pari {}: \
                     {down} minuti di disservizio su {measured} minuti misurati.",
                    it_prep("a", &a),
                    it_prep("a", &target)
                ),
                (true, None) => format!(
                    "Nel periodo non è stato possibile misurare la disponibilità (livello garantito pari {}).",
                    it_prep("a", &target)
                ),
                (false, Some(a)) => format!(
                    "The availability in the period was {a}, against the committed {target}: {down} minutes \
                     of downtime out of {measured} minutes measured."
                ),
                (false, None) => format!(
                    "No availability could be measured in the period (committed: {target})."
                ),
            }
        );
        if ev.no_data_ms > 0 {
            let mins = words::minutes(&crate::sla::num::int(ev.no_data_ms), self.lang);
            let chosen = self.c.contract.unmonitored != crate::config::Unmonitored::Plan;
            let _ = writeln!(
                s,
                "{}",
                match (self.it(), ev.missing_data) {
                    // The customer's own choice (`unmonitored`), not the contract's terms.
                    (true, MissingData::AsUp) if chosen => format!(
                        "Per {mins} minuti il servizio non è stato misurato né risulta un'interruzione registrata: \
                         questo tempo è considerato, a Vostro favore, come servizio disponibile."
                    ),
                    (false, MissingData::AsUp) if chosen => format!(
                        "For {mins} minutes the service was neither measured nor recorded as interrupted: this \
                         time is counted, in your favour, as available."
                    ),
                    (true, m) => format!(
                        "Per {mins} minuti non è stato possibile misurare; secondo il contratto questo tempo è {}.",
                        match m {
                            MissingData::Exclude => "escluso dal calcolo",
                            MissingData::AsUp => "considerato come servizio disponibile",
                            MissingData::AsDown => "considerato come disservizio",
                        }
                    ),
                    (false, m) => format!(
                        "For {mins} minutes no measurement was possible; under the contract's terms this time is {}.",
                        match m {
                            MissingData::Exclude => "left out of the calculation",
                            MissingData::AsUp => "counted as available",
                            MissingData::AsDown => "counted as unavailable",
                        }
                    ),
                }
            );
        }
        if ev.breach {
            let _ = writeln!(
                s,
                "{}",
                self.t(
                    "Il livello di servizio garantito non è stato quindi rispettato.",
                    "The agreed service level was therefore not met."
                )
            );
        }
    }

    fn owed(&self) -> Option<String> {
        owed(self.c, self.lang)
    }

    fn days(&self, d: u32) -> String {
        match (self.it(), d) {
            (true, 1) => "1 giorno".to_owned(),
            (true, n) => format!("{n} giorni"),
            (false, 1) => "1 day".to_owned(),
            (false, n) => format!("{n} days"),
        }
    }

    fn form(&self) -> &'static str {
        let f = self.c.evaluation.form;
        if self.it() {
            match f {
                Some(CreditForm::FutureInvoiceCredit) => "come accredito sulla prossima fattura",
                Some(CreditForm::Refund) => "come rimborso",
                Some(CreditForm::TermExtension) => "come proroga gratuita del servizio",
                Some(CreditForm::ExtensionOrMonetary) => {
                    "come proroga del servizio o nel suo controvalore in denaro"
                }
                Some(CreditForm::ServiceUpgrade) => "come miglioramento del servizio",
                None => "nella forma prevista dal contratto",
            }
        } else {
            match f {
                Some(CreditForm::FutureInvoiceCredit) => "as a credit on my next invoice",
                Some(CreditForm::Refund) => "as a refund",
                Some(CreditForm::TermExtension) => "as free days of service",
                Some(CreditForm::ExtensionOrMonetary) => {
                    "as days of service or their money value, as the contract allows"
                }
                Some(CreditForm::ServiceUpgrade) => "as a service upgrade",
                None => "in the form the contract provides",
            }
        }
    }

    fn passed(&self) -> bool {
        self.deadline_status()
            .is_some_and(|d| d.state == DeadlineState::Passed)
    }

    fn deadline_status(&self) -> Option<deadline::DeadlineStatus> {
        let tz = &self.c.plan.window.timezone;
        let at = crate::sla::period::midnight(self.date, tz).ok()?;
        deadline::of(self.c, UtcMillis(at))
    }

    fn why_nothing(&self) -> String {
        match (&self.c.plan.credit.scheme, self.it()) {
            (Scheme::None, true) => {
                "Il contratto esclude, con una clausola di limitazione della responsabilità, un indennizzo \
                 per questo disservizio."
            }
            (Scheme::None, false) => {
                "The contract's liability clause excludes any compensation for this breach."
            }
            (_, true) => "Il contratto non indica un indennizzo calcolabile per questo disservizio.",
            (_, false) => "The contract states no compensation that can be computed for this breach.",
        }
        .to_owned()
    }

    fn request(&self, s: &mut String) {
        let remedies = &self.c.comparison.remedies;
        let late = self.passed();
        let text = match self.kind {
            Kind::Credit => {
                let owed = self.owed().unwrap_or_default();
                match (self.it(), late) {
                    (true, false) => format!(
                        "Ai sensi del contratto mi spetta pertanto un indennizzo pari a {owed}. Vi chiedo di \
                         riconoscerlo, {}, e di darmene conferma per iscritto.",
                        self.form()
                    ),
                    (true, true) => format!(
                        "Per questo disservizio il contratto prevede un indennizzo pari a {owed}. Vi chiedo di \
                         riconoscerlo, {}, e di darmene conferma per iscritto.",
                        self.form()
                    ),
                    (false, false) => format!(
                        "Under the terms of the contract I am therefore owed {owed}. I ask you to grant it {} and \
                         to confirm this to me in writing.",
                        self.form()
                    ),
                    (false, true) => format!(
                        "For this breach the contract provides compensation of {owed}. I ask you to grant it {} \
                         and to confirm this to me in writing.",
                        self.form()
                    ),
                }
            }
            Kind::BreachNotice => {
                if self.it() {
                    format!(
                        "{} Con la presente contesto formalmente il disservizio, documentato nel rapporto allegato, \
                         e mi riservo ogni diritto e azione a tutela dei miei interessi, compreso il risarcimento \
                         del danno subito. Vi chiedo di comunicarmi per iscritto le cause del disservizio e le \
                         misure adottate perché non si ripeta.",
                        self.why_nothing()
                    )
                } else {
                    format!(
                        "{} By this letter I formally notify you of the breach, documented in the attached \
                         report, and reserve all my rights and remedies, including compensation for the damage \
                         suffered. I ask you to tell me in writing the causes of the outage and what you have \
                         done so that it does not happen again.",
                        self.why_nothing()
                    )
                }
            }
            Kind::Goodwill(i) => self.goodwill(&remedies[i]),
            Kind::Regulator(i) => self.regulator(&remedies[i]),
        };
        let _ = writeln!(s, "\n{text}");
    }

    /// "15 giorni di servizio gratuiti", "un importo di 10,00 EUR", "«Business Mail»".
    fn offer(&self, r: &Remedy) -> String {
        let mut parts = Vec::new();
        if let Some(d) = r.days.filter(|d| *d > 0) {
            let value = positive(r.money)
                .map(|m| format!(" ({} {})", self.t("controvalore", "worth"), self.money(&m)))
                .unwrap_or_default();
            parts.push(if self.it() {
                format!("{} di servizio gratuiti{value}", self.days(d))
            } else {
                format!("{} of free service{value}", self.days(d))
            });
        } else if let Some(m) = positive(r.money) {
            parts.push(format!(
                "{} {}",
                self.t("un importo di", "an amount of"),
                self.money(&m)
            ));
        }
        if let Some(o) = &r.other {
            parts.push(if self.it() {
                format!("«{o}»")
            } else {
                format!("\"{o}\"")
            });
        }
        parts.join(self.t(" e ", " and "))
    }

    fn goodwill(&self, r: &Remedy) -> String {
        let offer = self.offer(r);
        let before = if self.c.evaluation.breach {
            format!("{} ", self.why_nothing())
        } else {
            String::new()
        };
        if self.it() {
            format!(
                "{before}In relazione all'evento «{}» avete annunciato ai clienti colpiti {offer}. Vi chiedo di \
                 riconoscere quanto annunciato per il contratto {} e di darmene conferma per iscritto, fermo \
                 restando ogni mio altro diritto.",
                r.label,
                self.contract_ref()
            )
        } else {
            format!(
                "{before}In connection with the event \"{}\" you announced to the customers affected {offer}. I ask \
                 you to grant what you announced for contract {} and to confirm this to me in writing, without prejudice to any \
                 other right of mine.",
                r.label,
                self.contract_ref()
            )
        }
    }

    fn regulator(&self, r: &Remedy) -> String {
        let amount = positive(r.money)
            .map(|m| self.money(&m))
            .unwrap_or_default();
        let own = match self.owed() {
            Some(o) if self.it() => format!("Il contratto prevede per questo disservizio {o}. "),
            Some(o) => format!("For this breach the contract provides {o}. "),
            None => format!("{} ", self.why_nothing()),
        };
        // What the provider offered, when it gives less: said, so the letter does not
        // read as if nothing had been offered.
        let offered = self
            .c
            .comparison
            .remedies
            .iter()
            .find(|g| g.kind == RemedyKind::Goodwill)
            .map(|g| {
                let offer = self.offer(g);
                if self.it() {
                    format!(
                        "Quanto da Voi annunciato in relazione all'evento «{}», cioè {offer}, non compensa il \
                         disservizio in misura comparabile. ",
                        g.label
                    )
                } else {
                    format!(
                        "What you announced in connection with the event \"{}\", namely {offer}, does not \
                         compensate the outage to a comparable extent. ",
                        g.label
                    )
                }
            })
            .unwrap_or_default();
        let cited = r.reference.as_deref().unwrap_or(&r.label);
        // Regulations compared by analogy do not bind the provider, and their own
        // conciliation bodies (CORECOM for AGCOM) take only the services they
        // regulate: the letter announces conciliation in general, never a body
        // that may refuse the case.
        if self.it() {
            format!(
                "{own}{offered}Per un disservizio analogo, la disciplina di riferimento ({cited}) riconosce \
                 un indennizzo pari a {amount}, che Vi chiedo di riconoscermi per analogia, dandomene conferma \
                 per iscritto. In mancanza di una risposta soddisfacente entro 30 giorni dal ricevimento della \
                 presente, mi riservo di promuovere un tentativo di conciliazione presso un organismo di \
                 risoluzione alternativa delle controversie."
            )
        } else {
            format!(
                "{own}{offered}For a comparable outage, the reference rules ({cited}) grant compensation of \
                 {amount}, which I ask you to grant me by analogy and to confirm in writing. Without a \
                 satisfactory answer within 30 days of receiving this letter, I reserve the right to seek \
                 conciliation before an alternative dispute resolution body."
            )
        }
    }

    fn deadline(&self, s: &mut String) {
        let tz = &self.c.plan.window.timezone;
        let Some(d) = self.deadline_status() else {
            let _ = writeln!(
                s,
                "\n{}",
                self.t(
                    "Il contratto non fissa un termine per la richiesta.",
                    "The contract sets no deadline for this claim."
                )
            );
            return;
        };
        let day = deadline::last_day_words(&d, tz, self.lang);
        let text = match (d.state, self.it()) {
            (DeadlineState::Passed, true) => format!(
                "Il termine previsto dal contratto per la richiesta è scaduto: l'ultimo giorno utile era {}. \
                 Vi scrivo comunque confidando nella Vostra correttezza e buona fede (artt. 1175 e 1375 del \
                 Codice civile), fermo restando il mio diritto di rivolgermi all'autorità o all'organismo di \
                 conciliazione competente.",
                it_prep("", &day)
            ),
            (DeadlineState::Passed, false) => format!(
                "The contractual deadline for this claim has passed: the last day was {day}. I nonetheless \
                 write in reliance on your good faith and fair dealing, and reserve the right to refer the \
                 matter to the competent authority or conciliation body."
            ),
            (_, true) => format!(
                "La presente è inviata entro il termine previsto dal contratto: l'ultimo giorno utile è {} ({}).",
                it_prep("", &day),
                deadline::days_left(d.days, self.lang)
            ),
            (_, false) => format!(
                "This letter is sent within the contractual deadline: the last day to claim is {day} ({}).",
                deadline::days_left(d.days, self.lang)
            ),
        };
        let _ = writeln!(s, "\n{text}");
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
}
