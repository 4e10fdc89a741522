//! The claim deadline's state at a moment: open, soon (within [`SOON_DAYS`]) or
//! passed. The report computes it at `generated_at`; a letter at its own date.
//!
//! Days are local calendar days in the plan's zone, counted to the last day to
//! claim (the day before an exclusive deadline at local midnight, else the
//! deadline's own day): `days` is how many days are left until that last day (0 on
//! the last day itself), or, once passed, how many days have gone by since the
//! deadline.

use super::Lang;
use super::data::ContractReport;
use super::words;
use crate::model::UtcMillis;
use jiff::tz::TimeZone;

/// Within this many days of the last day, a deadline is [`DeadlineState::Soon`].
pub(crate) const SOON_DAYS: i64 = 7;

/// Where a claim deadline stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineState {
    /// More than [`SOON_DAYS`] days left.
    Open,
    /// At most [`SOON_DAYS`] days left (0: today is the last day).
    Soon,
    /// The deadline has passed.
    Passed,
}

impl DeadlineState {
    /// `open`, `soon`, `passed` (JSON, CSV).
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineState::Open => "open",
            DeadlineState::Soon => "soon",
            DeadlineState::Passed => "passed",
        }
    }
}

/// A claim deadline judged at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlineStatus {
    /// The deadline (exclusive).
    pub deadline: UtcMillis,
    /// The last local day to claim, when the deadline is at a local midnight.
    pub last_day: Option<jiff::civil::Date>,
    /// Open, soon or passed.
    pub state: DeadlineState,
    /// Days left until the last day (open, soon), or days since the deadline (passed).
    pub days: i64,
}

/// The deadline's state at `at`, in the zone `tz`.
pub(crate) fn status(deadline: UtcMillis, at: UtcMillis, tz: &TimeZone) -> DeadlineStatus {
    let local = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned_datetime(tz.clone()).date())
            .unwrap_or_default()
    };
    let last_day = super::text::last_day(deadline.0, tz);
    let today = local(at.0);
    let between = |a: jiff::civil::Date, b: jiff::civil::Date| {
        // Date::until spans whole days (its largest unit is the day).
        a.until(b).map_or(0, |s| i64::from(s.get_days()))
    };
    if at.0 >= deadline.0 {
        let first_late = local(deadline.0);
        return DeadlineStatus {
            deadline,
            last_day,
            state: DeadlineState::Passed,
            days: between(first_late, today).max(0),
        };
    }
    let last = last_day.unwrap_or_else(|| local(deadline.0));
    let days = between(today, last).max(0);
    DeadlineStatus {
        deadline,
        last_day,
        state: if days <= SOON_DAYS {
            DeadlineState::Soon
        } else {
            DeadlineState::Open
        },
        days,
    }
}

/// The contract's deadline at `at`, if its plan states one.
pub(crate) fn of(c: &ContractReport, at: UtcMillis) -> Option<DeadlineStatus> {
    c.evaluation
        .claim_deadline
        .map(|d| status(UtcMillis(d), at, &c.plan.window.timezone))
}

/// The last day to claim in words, or the deadline instant when it is not at a
/// local midnight: "2 marzo 2023" / "2 March 2023".
pub(crate) fn last_day_words(s: &DeadlineStatus, tz: &TimeZone, lang: Lang) -> String {
    match s.last_day {
        Some(d) => words::date(d, lang),
        None => words::datetime(s.deadline.0, tz, lang),
    }
}

/// One phrase for a report: "last day 2 March 2023, 28 days left" / "passed on 2
/// March 2023" / "no deadline in the plan"; with `flag` true when it needs
/// attention (soon or passed).
pub(crate) fn phrase(c: &ContractReport, lang: Lang) -> (String, bool) {
    let tz = &c.plan.window.timezone;
    let Some(s) = &c.deadline else {
        return (
            match lang {
                Lang::En => "no deadline in the plan".to_owned(),
                Lang::It => "nessun termine nel contratto".to_owned(),
            },
            false,
        );
    };
    let day = last_day_words(s, tz, lang);
    let text = match (lang, s.state) {
        (Lang::En, DeadlineState::Passed) => format!("PASSED: the last day was {day}"),
        (Lang::It, DeadlineState::Passed) => {
            format!("SCADUTO: l'ultimo giorno era {}", words::it_prep("", &day))
        }
        (Lang::En, _) => format!("last day {day} ({})", days_left(s.days, lang)),
        (Lang::It, _) => format!(
            "l'ultimo giorno è {} ({})",
            words::it_prep("", &day),
            days_left(s.days, lang)
        ),
    };
    let text = match (lang, s.state) {
        (Lang::En, DeadlineState::Soon) => format!("SOON: {text}"),
        (Lang::It, DeadlineState::Soon) => format!("IN SCADENZA: {text}"),
        _ => text,
    };
    (text, s.state != DeadlineState::Open)
}

/// "28 days left", "last day today", "1 day left".
pub(crate) fn days_left(days: i64, lang: Lang) -> String {
    match (lang, days) {
        (Lang::En, 0) => "today is the last day".to_owned(),
        (Lang::En, 1) => "1 day left".to_owned(),
        (Lang::En, n) => format!("{n} days left"),
        (Lang::It, 0) => "oggi è l'ultimo giorno".to_owned(),
        (Lang::It, 1) => "manca 1 giorno".to_owned(),
        (Lang::It, n) => format!("mancano {n} giorni"),
    }
}

/// The JSON object: `{"deadline": RFC 3339, "last_day": "YYYY-MM-DD" | null,
/// "state": "open" | "soon" | "passed", "days": n}`, or null.
pub(crate) fn json(c: &ContractReport) -> serde_json::Value {
    match &c.deadline {
        None => serde_json::Value::Null,
        Some(s) => serde_json::json!({
            "deadline": s.deadline.to_string(),
            "last_day": s.last_day.map(|d| d.to_string()),
            "state": s.state.as_str(),
            "days": s.days,
        }),
    }
}

/// The CSV cell: `open`, `soon`, `passed`, or empty.
pub(crate) fn csv(c: &ContractReport) -> String {
    c.deadline
        .as_ref()
        .map(|s| s.state.as_str().to_owned())
        .unwrap_or_default()
}

/// The Markdown cell: the phrase, in bold when soon or passed.
pub(crate) fn md(c: &ContractReport, lang: Lang) -> String {
    let (text, flag) = phrase(c, lang);
    if flag {
        format!("**{}**", super::md::esc(&text))
    } else {
        super::md::esc(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> UtcMillis {
        UtcMillis(s.parse::<jiff::Timestamp>().unwrap().as_millisecond())
    }

    #[test]
    fn open_soon_and_passed_in_local_days() {
        let tz = TimeZone::get("Europe/Rome").unwrap();
        // Deadline 2023-03-03 00:00 Rome: the last day is 2 March.
        let d = ms("2023-03-02T23:00:00Z");
        let s = status(d, ms("2023-02-02T08:00:00Z"), &tz);
        assert_eq!(s.state, DeadlineState::Open);
        assert_eq!(s.days, 28);
        assert_eq!(s.last_day, Some(jiff::civil::date(2023, 3, 2)));
        let s = status(d, ms("2023-02-23T08:00:00Z"), &tz);
        assert_eq!((s.state, s.days), (DeadlineState::Soon, 7));
        let s = status(d, ms("2023-03-02T22:59:59Z"), &tz);
        assert_eq!((s.state, s.days), (DeadlineState::Soon, 0));
        let s = status(d, ms("2023-03-02T23:00:00Z"), &tz);
        assert_eq!((s.state, s.days), (DeadlineState::Passed, 0));
        let s = status(d, ms("2023-03-12T10:00:00Z"), &tz);
        assert_eq!((s.state, s.days), (DeadlineState::Passed, 9));
    }
}
