//! Numbers, money, dates, times and durations as words in Italian or English, and
//! the Italian prepositions and articles in front of a number.
//!
//! One convention, everywhere a person reads prose (letters, the report in Italian):
//! Italian "1.234,50 EUR", "97,5694 %", "29 aprile 2011", "29 aprile 2011, ore 04:30";
//! English "EUR 1,234.50", "97.5694 %", "29 April 2011", "29 April 2011, 04:30".
//! Never an ISO timestamp in prose.

use super::Lang;
use crate::sla::num::{self, Q};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

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

/// A plain decimal number as text ("1234.5", "-3") with the language's separators:
/// "1.234,5" / "1,234.5". Anything that is not a plain number is returned as is.
pub(crate) fn number(s: &str, lang: Lang) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
    {
        return s.to_owned();
    }
    let (group, point) = match lang {
        Lang::It => ('.', ','),
        Lang::En => (',', '.'),
    };
    let mut out = String::from(sign);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(group);
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push(point);
        out.push_str(f);
    }
    out
}

/// A decimal as written in the configuration, with the language's separators.
pub(crate) fn dec(d: &Decimal, lang: Lang) -> String {
    number(&d.to_string(), lang)
}

/// A percentage: "97,5694 %" / "97.5694 %".
pub(crate) fn pct(s: &str, lang: Lang) -> String {
    format!("{} %", number(s, lang))
}

/// Money: "1.234,50 EUR" / "EUR 1,234.50" (two decimals).
pub(crate) fn money(amount: &Decimal, currency: &str, lang: Lang) -> String {
    let mut a = *amount;
    a.rescale(2);
    match lang {
        Lang::It => format!("{} {currency}", number(&a.to_string(), lang)),
        Lang::En => format!("{currency} {}", number(&a.to_string(), lang)),
    }
}

/// Exact minutes of a duration in ms: "2.520" / "2,520", "209,5".
pub(crate) fn minutes(ms: &Q, lang: Lang) -> String {
    number(&num::minutes(ms), lang)
}

/// A duration in words: "2 giorni, 3 ore e 30 minuti" / "2 days, 3 hours and 30
/// minutes"; whole minutes (seconds dropped only when zero, else exact minutes).
pub(crate) fn span(ms: &Q, lang: Lang) -> String {
    let secs = num::minutes(&(ms * num::int(60)))
        .parse::<i64>()
        .ok()
        .filter(|s| *s >= 0);
    let Some(total) = secs else {
        return match lang {
            Lang::It => format!("{} minuti", minutes(ms, lang)),
            Lang::En => format!("{} minutes", minutes(ms, lang)),
        };
    };
    let (d, h, m, sec) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    let unit = |n: i64, one: &str, many: &str| {
        format!(
            "{} {}",
            number(&n.to_string(), lang),
            if n == 1 { one } else { many }
        )
    };
    let mut parts = Vec::new();
    let (day, days, hour, hours, minute, mins, second, seconds, and) = match lang {
        Lang::It => (
            "giorno", "giorni", "ora", "ore", "minuto", "minuti", "secondo", "secondi", "e",
        ),
        Lang::En => (
            "day", "days", "hour", "hours", "minute", "minutes", "second", "seconds", "and",
        ),
    };
    if d > 0 {
        parts.push(unit(d, day, days));
    }
    if h > 0 {
        parts.push(unit(h, hour, hours));
    }
    if m > 0 || (parts.is_empty() && sec == 0) {
        parts.push(unit(m, minute, mins));
    }
    if sec > 0 {
        parts.push(unit(sec, second, seconds));
    }
    match parts.len() {
        1 => parts.remove(0),
        n => {
            let last = parts.remove(n - 1);
            format!("{} {and} {last}", parts.join(", "))
        }
    }
}

/// The day of the month as written: "1º" for the first in Italian, else the number.
fn day(d: Date, lang: Lang) -> String {
    match (lang, d.day()) {
        (Lang::It, 1) => "1º".to_owned(),
        (_, n) => n.to_string(),
    }
}

/// "aprile" / "April".
pub(crate) fn month(d: Date, lang: Lang) -> &'static str {
    let m = usize::try_from(d.month() - 1).unwrap_or(0);
    match lang {
        Lang::It => MONTHS_IT[m],
        Lang::En => MONTHS_EN[m],
    }
}

/// "29 aprile 2011" / "29 April 2011".
pub(crate) fn date(d: Date, lang: Lang) -> String {
    format!("{} {} {}", day(d, lang), month(d, lang), d.year())
}

/// "aprile 2011" / "April 2011".
pub(crate) fn month_year(d: Date, lang: Lang) -> String {
    format!("{} {}", month(d, lang), d.year())
}

/// "29 aprile 2011, ore 04:30" / "29 April 2011, 04:30" (seconds when not zero).
pub(crate) fn datetime(ms: i64, tz: &TimeZone, lang: Lang) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else {
        return format!("{ms} ms");
    };
    let z = ts.to_zoned_datetime(tz.clone());
    let t = if z.second() == 0 && z.subsec_nanosecond() == 0 {
        z.strftime("%H:%M").to_string()
    } else {
        z.strftime("%H:%M:%S").to_string()
    };
    match lang {
        Lang::It => format!("{}, ore {t}", date(z.date(), lang)),
        Lang::En => format!("{}, {t}", date(z.date(), lang)),
    }
}

/// Whether an Italian number is read starting with a vowel ("otto", "undici",
/// "uno", "ottanta"...): the article before it elides ("l'8", "all'11 %").
fn vowel(int: &str) -> bool {
    let digits: String = int.chars().filter(char::is_ascii_digit).collect();
    digits.starts_with('8') || digits == "1" || (digits.starts_with("11") && digits.len() % 3 == 2)
}

/// An Italian articulated preposition (or the bare article with `prep = ""`) in
/// front of a number written with [`number`]: `("a", "11 %")` gives "all'11 %",
/// `("da", "29 aprile")` "dal 29 aprile", `("", "8 maggio")` "l'8 maggio".
/// A date's first day is written "1º" and read "primo": no elision.
pub(crate) fn it_prep(prep: &str, text: &str) -> String {
    let lead: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let is_first_day = text.starts_with("1º");
    let elide = !is_first_day && vowel(&lead);
    let (plain, elided, lo) = match prep {
        "a" => ("al", "all'", "allo"),
        "da" => ("dal", "dall'", "dallo"),
        "di" => ("del", "dell'", "dello"),
        "su" => ("sul", "sull'", "sullo"),
        _ => ("il", "l'", "lo"),
    };
    // "zero" takes "lo": "allo 0,5 %".
    if lead.starts_with('0') {
        return format!("{lo} {text}");
    }
    if elide {
        format!("{elided}{text}")
    } else {
        format!("{plain} {text}")
    }
}

/// The report's visible strings that exist in both languages, by key.
pub(crate) fn ui(key: &str, lang: Lang) -> &'static str {
    let (en, it) = match key {
        "report" => ("SLA report", "Rapporto SLA"),
        "made" => (
            "Made by slawatch at vantage",
            "Prodotto da slawatch dal punto di rilevazione",
        ),
        "on" => ("on", "il"),
        "breached" => ("SLA breached", "SLA violato"),
        "yes" => ("yes", "sì"),
        "no" => ("no", "no"),
        "owed" => ("Owed", "Dovuto"),
        "nothing owed" => ("nothing owed", "nulla"),
        "deadline" => ("Claim deadline", "Termine per la richiesta"),
        "availability" => ("Availability", "Disponibilità"),
        "target" => ("target", "garantita"),
        _ => ("", ""),
    };
    match lang {
        Lang::En => en,
        Lang::It => it,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_the_languages_separators() {
        assert_eq!(number("1234.50", Lang::It), "1.234,50");
        assert_eq!(number("1234.50", Lang::En), "1,234.50");
        assert_eq!(number("44460", Lang::It), "44.460");
        assert_eq!(number("999", Lang::It), "999");
        assert_eq!(number("-1000000", Lang::En), "-1,000,000");
        assert_eq!(number("n/a", Lang::It), "n/a");
        assert_eq!(pct("97.5694", Lang::It), "97,5694 %");
        let m = Decimal::new(123_450, 2);
        assert_eq!(money(&m, "EUR", Lang::It), "1.234,50 EUR");
        assert_eq!(money(&m, "EUR", Lang::En), "EUR 1,234.50");
        assert_eq!(money(&Decimal::new(10, 0), "EUR", Lang::It), "10,00 EUR");
    }

    #[test]
    fn dates_and_times_in_words() {
        let d = jiff::civil::date(2011, 4, 29);
        assert_eq!(date(d, Lang::It), "29 aprile 2011");
        assert_eq!(date(d, Lang::En), "29 April 2011");
        assert_eq!(
            date(jiff::civil::date(2011, 5, 1), Lang::It),
            "1º maggio 2011"
        );
        let tz = TimeZone::get("Europe/Rome").unwrap();
        let ms = "2011-04-29T02:30:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(datetime(ms, &tz, Lang::It), "29 aprile 2011, ore 04:30");
        assert_eq!(datetime(ms, &tz, Lang::En), "29 April 2011, 04:30");
    }

    #[test]
    fn italian_articles_elide_before_a_vowel() {
        assert_eq!(it_prep("a", "97,5694 %"), "al 97,5694 %");
        assert_eq!(it_prep("a", "11 %"), "all'11 %");
        assert_eq!(it_prep("a", "8 %"), "all'8 %");
        assert_eq!(it_prep("a", "80 %"), "all'80 %");
        assert_eq!(it_prep("a", "1 %"), "all'1 %");
        assert_eq!(it_prep("a", "18 %"), "al 18 %");
        assert_eq!(it_prep("a", "100 %"), "al 100 %");
        assert_eq!(it_prep("da", "29 aprile"), "dal 29 aprile");
        assert_eq!(it_prep("da", "1º maggio"), "dal 1º maggio");
        assert_eq!(it_prep("a", "2 maggio"), "al 2 maggio");
        assert_eq!(it_prep("", "8 maggio 2011"), "l'8 maggio 2011");
        assert_eq!(it_prep("di", "11 aprile"), "dell'11 aprile");
        assert_eq!(it_prep("a", "11.000 %"), "all'11.000 %");
        assert_eq!(it_prep("a", "110 %"), "al 110 %");
        assert_eq!(it_prep("a", "0,5 %"), "allo 0,5 %");
    }

    #[test]
    fn durations_in_words() {
        let q = |ms: i64| num::int(ms);
        assert_eq!(span(&q(150 * 60_000), Lang::It), "2 ore e 30 minuti");
        assert_eq!(
            span(&q((2 * 1440 + 61) * 60_000), Lang::En),
            "2 days, 1 hour and 1 minute"
        );
        assert_eq!(span(&q(90_000), Lang::It), "1 minuto e 30 secondi");
        assert_eq!(span(&q(3_601_000), Lang::It), "1 ora e 1 secondo");
        assert_eq!(span(&q(1_000), Lang::En), "1 second");
        assert_eq!(span(&(q(1) / q(2)), Lang::It), "0,000008 minuti");
        assert_eq!(span(&q(0), Lang::En), "0 minutes");
    }
}
