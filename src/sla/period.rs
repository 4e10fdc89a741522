//! Periods, local days and weekly hours, computed in the plan's time zone and
//! converted to UTC milliseconds (SLA-MODEL.md section 3, step 1).
//!
//! A local midnight that does not exist (a DST gap at 00:00) resolves to the first
//! instant after the gap; an ambiguous one to the earlier instant (jiff's
//! "compatible" disambiguation, as RFC 5545 does).

use super::SlaError;
use super::intervals::Intervals;
use super::num::{DAY_MS, Q, int, ratio};
use super::plan::{FeePeriod, RollingAnchor, WeeklyHours, Window, WindowKind};
use jiff::ToSpan;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use std::fmt;

/// The period asked for on the command line: `2024-04` or `2024`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodSpec {
    /// A month.
    Month {
        /// Year.
        year: i16,
        /// 1..=12
        month: i8,
    },
    /// A year.
    Year(i16),
}

impl PeriodSpec {
    /// Parses `YYYY-MM` or `YYYY`.
    pub fn parse(s: &str) -> Result<Self, SlaError> {
        let bad = || {
            SlaError::Input(format!(
                "period '{s}' does not parse: write YYYY-MM for a month (2024-04) or YYYY for a year (2024)"
            ))
        };
        let (y, m) = match s.split_once('-') {
            Some((y, m)) => (y, Some(m)),
            None => (s, None),
        };
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        match m {
            None => Ok(PeriodSpec::Year(year)),
            Some(m) if m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()) => {
                let month: i8 = m.parse().map_err(|_| bad())?;
                if (1..=12).contains(&month) {
                    Ok(PeriodSpec::Month { year, month })
                } else {
                    Err(bad())
                }
            }
            Some(_) => Err(bad()),
        }
    }
}

impl fmt::Display for PeriodSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodSpec::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            PeriodSpec::Year(y) => write!(f, "{y:04}"),
        }
    }
}

/// A resolved period: UTC bounds and what fees and days refer to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// "2024-04", "2024", or "365 days to 2024-05-01".
    pub label: String,
    /// First instant (inclusive), ms.
    pub start: i64,
    /// End (exclusive), ms.
    pub end: i64,
    /// Local date of the start.
    pub first_day: Date,
    /// Local date of the end (exclusive).
    pub end_day: Date,
    /// Whole months the period spans (1 or 12), or none for rolling windows.
    pub months: Option<u32>,
}

impl Period {
    /// Local calendar days in the period (rolling windows: length / 24 h).
    pub(crate) fn days(&self, length_ms: Option<i64>) -> Q {
        match length_ms {
            Some(ms) => ratio(ms, DAY_MS),
            None => int(i64::from(
                self.first_day
                    .until(self.end_day)
                    .map_or(0, |s| s.get_days()),
            )),
        }
    }
}

fn date(y: i16, m: i8, d: i8) -> Result<Date, SlaError> {
    Date::new(y, m, d).map_err(|e| SlaError::Input(format!("no such date {y}-{m}-{d}: {e}")))
}

/// Local midnight of `d` in `tz`, in UTC ms.
pub(crate) fn midnight(d: Date, tz: &TimeZone) -> Result<i64, SlaError> {
    local(d, Time::midnight(), tz)
}

/// A local wall-clock instant in UTC ms (gaps resolve forward, folds to the earlier).
pub(crate) fn local(d: Date, t: Time, tz: &TimeZone) -> Result<i64, SlaError> {
    d.to_datetime(t)
        .to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| SlaError::Input(format!("{d} {t} cannot be placed in the time zone: {e}")))
}

/// The local date of an instant.
pub(crate) fn local_date(ms: i64, tz: &TimeZone) -> Date {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
        .date()
}

fn add_months(d: Date, n: i32) -> Result<Date, SlaError> {
    d.checked_add(n.months())
        .map_err(|e| SlaError::Input(format!("{d} + {n} months is out of range: {e}")))
}

fn add_days(d: Date, n: i32) -> Result<Date, SlaError> {
    d.checked_add(n.days())
        .map_err(|e| SlaError::Input(format!("{d} + {n} days is out of range: {e}")))
}

/// The billing cycle starting in `y-m` on `anchor` (clamped to the month's length).
fn cycle_start(y: i16, m: i8, anchor: i8) -> Result<Date, SlaError> {
    let first = date(y, m, 1)?;
    date(y, m, anchor.min(first.days_in_month()))
}

/// Resolves the window for a period spec. `claim_date` anchors rolling windows that
/// end at the claim (default: the end of `spec`).
pub(crate) fn resolve(
    window: &Window,
    spec: PeriodSpec,
    claim_date: Option<Date>,
) -> Result<Period, SlaError> {
    let tz = &window.timezone;
    let need_month = |kind: &str| {
        SlaError::Input(format!(
            "a {kind} plan is evaluated per month: write --period YYYY-MM, not '{spec}'"
        ))
    };
    let (first_day, end_day, months, label) = match (window.kind, spec) {
        (WindowKind::CalendarMonth, PeriodSpec::Month { year, month }) => {
            let d = date(year, month, 1)?;
            (d, add_months(d, 1)?, Some(1), spec.to_string())
        }
        (WindowKind::CalendarMonth, PeriodSpec::Year(_)) => {
            return Err(need_month("calendar_month"));
        }
        (WindowKind::BillingCycle { anchor_day }, PeriodSpec::Month { year, month }) => {
            let d = cycle_start(year, month, anchor_day)?;
            let next = add_months(date(year, month, 1)?, 1)?;
            let e = cycle_start(next.year(), next.month(), anchor_day)?;
            (
                d,
                e,
                Some(1),
                format!("{spec} (cycle from day {anchor_day})"),
            )
        }
        (WindowKind::BillingCycle { .. }, PeriodSpec::Year(_)) => {
            return Err(need_month("billing_cycle"));
        }
        (WindowKind::CalendarYear, PeriodSpec::Year(y)) => {
            let d = date(y, 1, 1)?;
            (d, date(y + 1, 1, 1)?, Some(12), spec.to_string())
        }
        (WindowKind::CalendarYear, PeriodSpec::Month { .. }) => {
            return Err(SlaError::Input(format!(
                "a calendar_year plan is evaluated per year: write --period YYYY, not '{spec}'"
            )));
        }
        (WindowKind::Rolling { length_ms, anchor }, spec) => {
            let spec_end = match spec {
                PeriodSpec::Month { year, month } => add_months(date(year, month, 1)?, 1)?,
                PeriodSpec::Year(y) => date(y + 1, 1, 1)?,
            };
            let end_day = match (anchor, claim_date) {
                (RollingAnchor::ClaimDate, Some(c)) => c,
                _ => spec_end,
            };
            let end = midnight(end_day, tz)?;
            let start = end - length_ms;
            let label = format!("{} days to {end_day}", length_ms / DAY_MS);
            return Ok(Period {
                label,
                start,
                end,
                first_day: local_date(start, tz),
                end_day,
                months: None,
            });
        }
    };
    Ok(Period {
        label,
        start: midnight(first_day, tz)?,
        end: midnight(end_day, tz)?,
        first_day,
        end_day,
        months,
    })
}

/// The fee for the period: `fee` scaled from `fee_period` to the period's length.
/// Returns the factor and a sentence for the trace.
pub(crate) fn fee_factor(window: &Window, period: &Period, fee_period: FeePeriod) -> (Q, String) {
    match (period.months, fee_period, window.kind) {
        (Some(1), FeePeriod::Month, _) => (int(1), "the monthly fee".into()),
        (Some(m), FeePeriod::Month, _) => {
            (int(i64::from(m)), format!("{m} months of a monthly fee"))
        }
        (Some(m), FeePeriod::Year, _) => {
            (ratio(i64::from(m), 12), format!("{m}/12 of a yearly fee"))
        }
        (None, fp, WindowKind::Rolling { length_ms, .. }) => {
            let basis = if fp == FeePeriod::Month { 30 } else { 365 };
            (
                ratio(length_ms, DAY_MS * basis),
                format!(
                    "{} days / {basis} of the {} fee",
                    length_ms / DAY_MS,
                    if basis == 30 { "monthly" } else { "yearly" }
                ),
            )
        }
        (None, _, _) => (int(1), "the fee as given".into()),
    }
}

/// The instants covered by weekly hours within `[start, end)`.
pub(crate) fn weekly(hours: &WeeklyHours, start: i64, end: i64) -> Result<Intervals, SlaError> {
    let tz = &hours.timezone;
    let mut day = add_days(local_date(start, tz), -1)?;
    let last = local_date(end, tz);
    let mut out = Vec::new();
    while day <= last {
        if hours.days.contains(&day.weekday()) && !hours.holidays.contains(&day) {
            let s = local(day, hours.start, tz)?;
            let e = if hours.end_of_day || hours.end <= hours.start {
                let next = add_days(day, 1)?;
                if hours.end_of_day {
                    midnight(next, tz)?
                } else {
                    local(next, hours.end, tz)?
                }
            } else {
                local(day, hours.end, tz)?
            };
            out.push((s.max(start), e.min(end)));
        }
        day = add_days(day, 1)?;
    }
    Ok(Intervals::of(out))
}

/// The local calendar days of `[start, end)` in `tz`, each as its UTC bounds.
pub(crate) fn local_days(
    start: i64,
    end: i64,
    tz: &TimeZone,
) -> Result<Vec<(Date, i64, i64)>, SlaError> {
    let mut out = Vec::new();
    let mut day = local_date(start, tz);
    loop {
        let s = midnight(day, tz)?;
        if s >= end {
            break;
        }
        let next = add_days(day, 1)?;
        let e = midnight(next, tz)?;
        out.push((day, s, e));
        day = next;
    }
    Ok(out)
}

/// The local date on which the `n`-th period after `period` ends, for the windows
/// measured in whole months (calendar months and years, billing cycles).
///
/// Invariant: a billing cycle's dates are computed from the anchor day, never from a
/// clamped date (SLA-MODEL.md section 5): with day 31, the cycle after 31 Jan -> 29 Feb
/// ends on 31 Mar, not on 29 Mar.
pub(crate) fn end_of_periods_after(
    window: &Window,
    period: &Period,
    n: u32,
) -> Result<Date, SlaError> {
    let months = period.months.unwrap_or(1);
    let total = n.saturating_mul(months);
    match window.kind {
        WindowKind::BillingCycle { anchor_day } => {
            // The cycle of `period` starts in the month of its first day; the n-th cycle
            // after it ends where the cycle of (that month + n + 1) starts.
            let month = date(period.first_day.year(), period.first_day.month(), 1)?;
            let target = months_after(month, total.saturating_add(months))?;
            cycle_start(target.year(), target.month(), anchor_day)
        }
        _ => months_after(period.end_day, total),
    }
}

/// The local date `n` months after `d`.
pub(crate) fn months_after(d: Date, n: u32) -> Result<Date, SlaError> {
    add_months(d, i32::try_from(n).unwrap_or(i32::MAX))
}

/// The local date `n` days after `d`.
pub(crate) fn days_after(d: Date, n: u32) -> Result<Date, SlaError> {
    add_days(d, i32::try_from(n).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::plan::PartialPeriod;

    fn window(kind: WindowKind, tz: &str) -> Window {
        Window {
            kind,
            timezone_name: tz.into(),
            timezone: TimeZone::get(tz).unwrap(),
            partial_period: PartialPeriod::Prorate,
            business_hours: None,
        }
    }

    fn hours(w: &Window, p: &str) -> i64 {
        let p = resolve(w, PeriodSpec::parse(p).unwrap(), None).unwrap();
        (p.end - p.start) / 3_600_000
    }

    #[test]
    fn rome_months_have_743_and_745_hours_around_dst() {
        let w = window(WindowKind::CalendarMonth, "Europe/Rome");
        assert_eq!(hours(&w, "2025-03"), 743);
        assert_eq!(hours(&w, "2025-10"), 745);
        assert_eq!(hours(&w, "2024-06"), 720);
        let p = resolve(&w, PeriodSpec::parse("2025-03").unwrap(), None).unwrap();
        assert_eq!(
            jiff::Timestamp::from_millisecond(p.start)
                .unwrap()
                .to_string(),
            "2025-02-28T23:00:00Z"
        );
    }

    #[test]
    fn billing_cycles_clamp_the_anchor_day() {
        let w = window(WindowKind::BillingCycle { anchor_day: 31 }, "UTC");
        let p = resolve(&w, PeriodSpec::parse("2024-02").unwrap(), None).unwrap();
        assert_eq!(
            (p.first_day.to_string(), p.end_day.to_string()),
            ("2024-02-29".into(), "2024-03-31".into())
        );
    }

    #[test]
    fn cycles_after_an_anchor_on_the_31st_do_not_drift() {
        let w = window(WindowKind::BillingCycle { anchor_day: 31 }, "UTC");
        let end = |spec: &str, n: u32| {
            let p = resolve(&w, PeriodSpec::parse(spec).unwrap(), None).unwrap();
            end_of_periods_after(&w, &p, n).unwrap().to_string()
        };
        assert_eq!(end("2024-01", 0), "2024-02-29");
        assert_eq!(end("2024-01", 1), "2024-03-31");
        assert_eq!(end("2024-03", 1), "2024-05-31");
        assert_eq!(end("2024-01", 2), "2024-04-30");
        assert_eq!(end("2024-12", 2), "2025-03-31");
        let w = window(WindowKind::CalendarYear, "UTC");
        let p = resolve(&w, PeriodSpec::parse("2024").unwrap(), None).unwrap();
        assert_eq!(
            end_of_periods_after(&w, &p, 1).unwrap().to_string(),
            "2026-01-01"
        );
    }

    #[test]
    fn years_and_rolling_windows() {
        let w = window(WindowKind::CalendarYear, "UTC");
        assert_eq!(hours(&w, "2024"), 366 * 24);
        assert!(resolve(&w, PeriodSpec::parse("2024-01").unwrap(), None).is_err());
        let w = window(
            WindowKind::Rolling {
                length_ms: 30 * DAY_MS,
                anchor: RollingAnchor::ClaimDate,
            },
            "UTC",
        );
        let p = resolve(
            &w,
            PeriodSpec::parse("2024-04").unwrap(),
            Some(date(2024, 4, 15).unwrap()),
        )
        .unwrap();
        assert_eq!(p.first_day.to_string(), "2024-03-16");
        assert_eq!(p.end - p.start, 30 * DAY_MS);
    }

    #[test]
    fn period_specs_parse_strictly() {
        for bad in ["2024-13", "24-01", "2024-1", "2024/01", "", "2024-01-01"] {
            assert!(PeriodSpec::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(PeriodSpec::parse("2024-04").unwrap().to_string(), "2024-04");
    }

    #[test]
    fn local_days_follow_dst() {
        let tz = TimeZone::get("Europe/Rome").unwrap();
        let start = midnight(date(2025, 3, 30).unwrap(), &tz).unwrap();
        let days = local_days(start, start + 2 * DAY_MS, &tz).unwrap();
        assert_eq!(days[0].2 - days[0].1, 23 * 3_600_000);
        assert_eq!(days.len(), 3); // 23 h + 24 h + the start of the third day
    }
}
