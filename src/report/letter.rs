//! Claim letters: plain text, formal register, in Italian or English, addressed to
//! the provider, citing the contract, the measured outages (in the plan's zone),
//! availability against the target, what is owed and in what form, the deadline,
//! and the report attached by file name. Written only when the SLA was breached or
//! something is owed; otherwise [`nothing_to_claim`] says so.
//!
//! The plan's terms are quoted as [`crate::sla::Plan::describe`] writes them (in
//! English) in both languages: they are a citation, not prose.

use super::data::ContractReport;
use super::text;
use crate::sla::plan::CreditForm;
use jiff::civil::Date;
use std::fmt::Write as _;

/// The letter's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Italian.
    It,
    /// English.
    En,
}

impl Lang {
    /// Parses `it` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "it" => Some(Lang::It),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `it`, `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}

/// The letter's file name: `claim-CONTRACT-PERIOD-LANG.txt` (characters other than
/// letters, digits, `.`, `_` and `-` in the contract id become `_`).
pub fn file_name(contract: &str, period: &str, lang: Lang) -> String {
    format!(
        "claim-{}-{period}-{}.txt",
        super::html::id_of(contract),
        lang.as_str()
    )
}

/// Whether there is anything to claim: a breach, or something owed.
pub fn claimable(c: &ContractReport) -> bool {
    c.evaluation.breach || c.owes()
}

/// One line saying there is nothing to claim, and why.
pub fn nothing_to_claim(c: &ContractReport, lang: Lang) -> String {
    let ev = &c.evaluation;
    let a = text::availability(c);
    match lang {
        Lang::En => format!(
            "{}, {}: nothing to claim: availability {a} against the {} % target, no breach and nothing owed.",
            c.contract.id, ev.period.label, c.plan.objective.target
        ),
        Lang::It => format!(
            "{}, {}: nulla da richiedere: disponibilità {} rispetto al {} % garantito, nessuna violazione e nessun indennizzo dovuto.",
            c.contract.id,
            ev.period.label,
            it_num(&a),
            it_num(&c.plan.objective.target.to_string())
        ),
    }
}

/// Decimal points as Italian decimal commas ("99.5 %" -> "99,5 %"); dates and times
/// are left alone.
fn it_num(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    for (i, ch) in s.char_indices() {
        let digit_before = i > 0 && b[i - 1].is_ascii_digit();
        let digit_after = b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if ch == '.' && digit_before && digit_after {
            out.push(',');
        } else {
            out.push(ch);
        }
    }
    out
}

const MONTHS_IT: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn long_date(d: Date, lang: Lang) -> String {
    let m = usize::try_from(d.month() - 1).unwrap_or(0);
    match lang {
        Lang::It => format!("{} {} {}", d.day(), MONTHS_IT[m], d.year()),
        Lang::En => format!("{} {} {}", d.day(), MONTHS_EN[m], d.year()),
    }
}

fn form_it(f: Option<CreditForm>) -> &'static str {
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
}

fn form_en(f: Option<CreditForm>) -> &'static str {
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

/// What is owed, in the letter's words: "20.00 EUR", "3 giorni di servizio (pari a 9.99 EUR)".
fn owed(c: &ContractReport, lang: Lang) -> Option<String> {
    let e = &c.evaluation;
    let money = e
        .credit
        .as_ref()
        .map(|m| format!("{} {}", m.amount, m.currency));
    let days = text::extension(c);
    match (lang, days, money) {
        (Lang::En, Some(d), Some(m)) => Some(format!("{d} of service (worth {m})")),
        (Lang::En, Some(d), None) => Some(format!("{d} of service")),
        (Lang::En, None, Some(m)) => Some(m),
        (Lang::It, Some(_), m) => {
            let d = match (e.extension_days, &e.extension_hours) {
                (Some(1), _) => "1 giorno".to_owned(),
                (Some(n), _) => format!("{n} giorni"),
                (None, Some(h)) => format!("{} ore", crate::sla::num::exact(h)),
                _ => String::new(),
            };
            Some(it_num(&match m {
                Some(m) => format!("{d} di servizio (pari a {m})"),
                None => format!("{d} di servizio"),
            }))
        }
        (Lang::It, None, Some(m)) => Some(it_num(&m)),
        (_, None, None) => None,
    }
}

/// The claim letter for one contract, or none when there is nothing to claim.
/// `report_file` is the attached report's file name; `date` the letter's date.
pub fn render(
    c: &ContractReport,
    lang: Lang,
    report_file: &str,
    vantage: &str,
    date: Date,
) -> Option<String> {
    if !claimable(c) {
        return None;
    }
    Some(match lang {
        Lang::En => english(c, report_file, vantage, date),
        Lang::It => italian(c, report_file, vantage, date),
    })
}

/// " (errors: timeout, refused)": the error classes seen in an incident, after
/// `label` in the letter's language; empty when none were seen.
fn classes_note(r: &super::IncidentRow, label: &str) -> String {
    if r.classes.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = r.classes.iter().map(|(c, _)| c.as_str()).collect();
    format!(" ({label}: {})", names.join(", "))
}

/// Where an incident's evidence comes from, when not (only) our probes.
fn source_note(r: &super::data::IncidentRow, lang: Lang) -> String {
    let manual = r.sources.iter().any(|s| s == "manual");
    let page = r.sources.iter().any(|s| s == "status-page");
    let measured = r.sources.iter().any(|s| s == "measured");
    if measured || !(manual || page) {
        return String::new();
    }
    match (lang, page) {
        (Lang::En, true) => " (published on your status page)".to_owned(),
        (Lang::En, false) => " (observed by me)".to_owned(),
        (Lang::It, true) => " (pubblicata sulla Vostra pagina di stato)".to_owned(),
        (Lang::It, false) => " (rilevata direttamente)".to_owned(),
    }
}

fn counted(c: &ContractReport) -> Vec<&super::data::IncidentRow> {
    c.incidents
        .iter()
        .filter(|r| r.excluded.is_none())
        .collect()
}

fn excluded_in_period(c: &ContractReport) -> usize {
    c.incidents
        .iter()
        .filter(|r| {
            r.excluded
                .as_deref()
                .is_some_and(|w| w != "outside the period")
        })
        .count()
}

fn english(c: &ContractReport, file: &str, vantage: &str, date: Date) -> String {
    let ev = &c.evaluation;
    let tz = &c.plan.window.timezone;
    let customer = text::customer(c);
    let provider = text::provider(c).unwrap_or_else(|| "the provider".to_owned());
    let mut s = String::new();
    let _ = writeln!(s, "{customer}\n");
    let _ = writeln!(s, "{}\n", long_date(date, Lang::En));
    let _ = writeln!(s, "To: {provider}");
    let _ = writeln!(s, "    Customer service, SLA claims\n");
    let _ = writeln!(
        s,
        "Subject: Claim for compensation under the service level agreement, contract {}, period {}\n",
        c.contract.id, ev.period.label
    );
    s.push_str("Dear Sir or Madam,\n\n");
    let _ = writeln!(
        s,
        "I write as your customer {customer}, holder of contract {} (plan \"{}\"{}). \
         The service level agreement of this contract provides: {}.\n",
        c.contract.id,
        c.plan.id,
        c.plan
            .service
            .as_deref()
            .map(|x| format!(", {x}"))
            .unwrap_or_default(),
        c.plan.describe()
    );
    let list = counted(c);
    let _ = writeln!(
        s,
        "During the period {} ({} to {}, time zone {}), my own monitoring (slawatch, vantage {vantage}) \
         recorded {} interruption{} of the service counted under the contract:\n",
        ev.period.label,
        text::local(ev.period.start, tz),
        text::local(ev.period.end, tz),
        c.plan.window.timezone_name,
        list.len(),
        if list.len() == 1 { "" } else { "s" }
    );
    for (i, r) in list.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {}. from {} to {}{}{}: {} min counted in the period{}",
            i + 1,
            text::local(r.start.0, tz),
            text::local(r.end.0, tz),
            if r.open { " (still open)" } else { "" },
            source_note(r, Lang::En),
            text::minutes_q(&r.counted_ms),
            classes_note(r, "errors")
        );
    }
    if list.is_empty() {
        s.push_str("  (none)\n");
    }
    let excluded = excluded_in_period(c);
    if excluded > 0 {
        let _ = writeln!(
            s,
            "\n{excluded} further interruption{} {} excluded under the contract's terms (such as announced maintenance) and {} not claimed.",
            if excluded == 1 { "" } else { "s" },
            if excluded == 1 { "is" } else { "are" },
            if excluded == 1 { "is" } else { "are" }
        );
    }
    let _ = writeln!(
        s,
        "\nThe measured availability was {} against the committed {} %: {} min of downtime out of {} min measured.",
        text::availability(c),
        c.plan.objective.target,
        text::minutes_q(&ev.downtime_ms),
        text::minutes_q(&ev.measured_ms)
    );
    if ev.no_data_ms > 0 {
        let _ = writeln!(
            s,
            "For {} min no measurement was possible; under the contract's terms this time is {}.",
            text::minutes(ev.no_data_ms),
            match ev.missing_data {
                crate::sla::plan::MissingData::Exclude => "left out of the calculation",
                crate::sla::plan::MissingData::AsUp => "counted as available",
                crate::sla::plan::MissingData::AsDown => "counted as unavailable",
            }
        );
    }
    if ev.breach {
        s.push_str("The agreed service level was therefore not met.\n");
    }
    match owed(c, Lang::En) {
        Some(o) => {
            let _ = writeln!(
                s,
                "\nUnder the terms of the contract I am owed {o}. I ask you to grant it {} and to confirm this to me in writing.",
                form_en(ev.form)
            );
        }
        None => s.push_str(
            "\nThe contract's terms do not state a remedy I can compute. I ask you to tell me in writing \
             the compensation you grant for this breach.\n",
        ),
    }
    match ev.claim_deadline {
        Some(d) => {
            let _ = writeln!(
                s,
                "\nThis claim is made within the contractual deadline: {}.",
                match text::last_day(d, tz) {
                    Some(day) => format!("the last day to claim is {}", long_date(day, Lang::En)),
                    None => format!("claims must arrive before {}", text::local(d, tz)),
                }
            );
        }
        None => s.push_str("\nThe contract sets no deadline for this claim.\n"),
    }
    let _ = writeln!(
        s,
        "\nAttached: the report {file}, which lists every interruption, the method of calculation and the \
         SHA-256 digest {} of the {} checks it rests on.",
        c.evidence.sha256, c.evidence.checks
    );
    let _ = write!(s, "\nYours faithfully,\n\n{customer}\n");
    s
}

fn italian(c: &ContractReport, file: &str, vantage: &str, date: Date) -> String {
    let ev = &c.evaluation;
    let tz = &c.plan.window.timezone;
    let customer = text::customer(c);
    let provider = text::provider(c).unwrap_or_else(|| "Fornitore".to_owned());
    let refund = matches!(ev.form, Some(CreditForm::Refund));
    let mut s = String::new();
    let _ = writeln!(s, "{customer}\n");
    let _ = writeln!(s, "{}\n", long_date(date, Lang::It));
    let _ = writeln!(s, "Spett.le {provider}");
    let _ = writeln!(s, "Servizio clienti, reclami SLA\n");
    let _ = writeln!(
        s,
        "Oggetto: Richiesta di {} per disservizio, contratto {}, periodo {}\n",
        if refund { "rimborso" } else { "indennizzo" },
        c.contract.id,
        ev.period.label
    );
    s.push_str("Spettabile Società,\n\n");
    let _ = writeln!(
        s,
        "la presente è inviata da {customer}, titolare del contratto {} (piano \"{}\"{}). \
         Il livello di servizio garantito dal contratto prevede: \"{}\".\n",
        c.contract.id,
        c.plan.id,
        c.plan
            .service
            .as_deref()
            .map(|x| format!(", {x}"))
            .unwrap_or_default(),
        c.plan.describe()
    );
    let list = counted(c);
    let _ = writeln!(
        s,
        "Nel periodo {} (dal {} al {}, fuso orario {}), il monitoraggio svolto in proprio con slawatch \
         (punto di rilevazione {vantage}) ha registrato {} del servizio {} ai sensi del contratto:\n",
        ev.period.label,
        text::local(ev.period.start, tz),
        text::local(ev.period.end, tz),
        c.plan.window.timezone_name,
        if list.len() == 1 {
            "la seguente interruzione".to_owned()
        } else {
            format!("le seguenti {} interruzioni", list.len())
        },
        if list.len() == 1 {
            "rilevante"
        } else {
            "rilevanti"
        }
    );
    for (i, r) in list.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {}. dal {} al {}{}{}: {} minuti conteggiati nel periodo{}",
            i + 1,
            text::local(r.start.0, tz),
            text::local(r.end.0, tz),
            if r.open { " (ancora in corso)" } else { "" },
            source_note(r, Lang::It),
            it_num(&text::minutes_q(&r.counted_ms)),
            classes_note(r, "errori")
        );
    }
    if list.is_empty() {
        s.push_str("  (nessuna)\n");
    }
    let excluded = excluded_in_period(c);
    if excluded > 0 {
        let _ = writeln!(
            s,
            "\n{}, esclus{} dal contratto (ad esempio per manutenzione programmata e annunciata), non {} oggetto della presente richiesta.",
            if excluded == 1 {
                "Un'ulteriore interruzione".to_owned()
            } else {
                format!("Altre {excluded} interruzioni")
            },
            if excluded == 1 { "a" } else { "e" },
            if excluded == 1 { "è" } else { "sono" }
        );
    }
    let _ = writeln!(
        s,
        "\nLa disponibilità misurata è stata del {}, a fronte del {} % garantito: {} minuti di disservizio su {} minuti misurati.",
        it_num(&text::availability(c)),
        it_num(&c.plan.objective.target.to_string()),
        it_num(&text::minutes_q(&ev.downtime_ms)),
        it_num(&text::minutes_q(&ev.measured_ms))
    );
    if ev.no_data_ms > 0 {
        let _ = writeln!(
            s,
            "Per {} minuti non è stato possibile misurare; secondo il contratto questo tempo è {}.",
            it_num(&text::minutes(ev.no_data_ms)),
            match ev.missing_data {
                crate::sla::plan::MissingData::Exclude => "escluso dal calcolo",
                crate::sla::plan::MissingData::AsUp => "considerato come servizio disponibile",
                crate::sla::plan::MissingData::AsDown => "considerato come disservizio",
            }
        );
    }
    if ev.breach {
        s.push_str("Il livello di servizio concordato non è stato pertanto rispettato.\n");
    }
    match owed(c, Lang::It) {
        Some(o) => {
            let _ = writeln!(
                s,
                "\nAi sensi del contratto spetta {} di {o}. Con la presente se ne chiede il riconoscimento, {}, \
                 e la conferma per iscritto.",
                if refund { "un rimborso" } else { "un indennizzo" },
                form_it(ev.form)
            );
        }
        None => s.push_str(
            "\nIl contratto non indica un indennizzo calcolabile. Si chiede di comunicare per iscritto \
             l'indennizzo riconosciuto per il disservizio.\n",
        ),
    }
    match ev.claim_deadline {
        Some(d) => {
            let _ = writeln!(
                s,
                "\nLa presente richiesta è inviata entro il termine contrattuale, {}.",
                match text::last_day(d, tz) {
                    Some(day) => format!("che scade il {}", long_date(day, Lang::It)),
                    None => format!("fissato prima del {}", text::local(d, tz)),
                }
            );
        }
        None => s.push_str("\nIl contratto non fissa un termine per la richiesta.\n"),
    }
    let _ = writeln!(
        s,
        "\nSi allega il rapporto {file}, con l'elenco delle interruzioni, il metodo di calcolo e l'impronta \
         SHA-256 {} dei {} controlli su cui si basa.",
        c.evidence.sha256, c.evidence.checks
    );
    let _ = write!(s, "\nDistinti saluti,\n\n{customer}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn italian_numbers_use_a_decimal_comma_but_dates_keep_their_dashes() {
        assert_eq!(it_num("99.6543 %"), "99,6543 %");
        assert_eq!(it_num("20.00 EUR"), "20,00 EUR");
        assert_eq!(
            it_num("2023-01-10 08:00:00 +01:00"),
            "2023-01-10 08:00:00 +01:00"
        );
        assert_eq!(it_num("fine."), "fine.");
    }

    #[test]
    fn dates_in_words() {
        let d = jiff::civil::date(2023, 2, 3);
        assert_eq!(long_date(d, Lang::It), "3 febbraio 2023");
        assert_eq!(long_date(d, Lang::En), "3 February 2023");
    }

    #[test]
    fn file_names_keep_to_safe_characters() {
        assert_eq!(
            file_name("../rossi shop", "2023-01", Lang::It),
            "claim-.._rossi_shop-2023-01-it.txt"
        );
    }
}
