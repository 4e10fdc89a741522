//! What the store says about the contracts, for the alerts [`super::Policy`] raises
//! about them: a breach in the open period (with the credit owed so far) and claim
//! deadlines of breached, closed periods.
//!
//! The figures are the report's: each period goes through [`crate::report::build`],
//! the same reading of the store and the same engine (`sla::evaluate`) as `slawatch
//! report` and, given that timeline, `slawatch sla`. For the open period the
//! timeline is cut at `now` ([`up_to`]): what has not happened yet is neither no data
//! nor downtime, it counts as measured up. So a breach is raised only when the
//! downtime counted so far breaks the target for the whole period, whatever the rest
//! of it brings, and the credit is the least the period will owe.

use crate::config::Config;
use crate::model::UtcMillis;
use crate::report::Lang;
use crate::sla::num::{Q, int};
use crate::sla::plan::{BreachIf, Window};
use crate::sla::{PeriodSpec, Timeline};
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// How many closed periods back the deadlines are looked for (months; a yearly plan
/// looks at the last year).
pub(crate) const DEADLINE_MONTHS_BACK: i32 = 12;

/// One thing the policy may alert on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fact {
    /// The open period is breached already.
    Breach {
        /// The contract.
        contract: String,
        /// Its `lang`.
        lang: Option<Lang>,
        /// `YYYY-MM-DD`, the period's first local day.
        period_start: String,
        /// `YYYY-MM-DD`, exclusive.
        period_end: String,
        /// Counted downtime so far, ms (rounded down).
        downtime_ms: i64,
        /// What the target allows over the whole period, ms (rounded down).
        allowed_ms: i64,
        /// Owed so far; none when the plan's remedy is not computable.
        credit: Option<Decimal>,
        /// ISO 4217.
        currency: String,
    },
    /// A breached, closed period whose claim deadline has not passed.
    Claimable {
        /// The contract.
        contract: String,
        /// Its `lang`.
        lang: Option<Lang>,
        /// `YYYY-MM-DD`.
        period_start: String,
        /// `YYYY-MM-DD`, exclusive.
        period_end: String,
        /// The last day to claim, `YYYY-MM-DD`.
        last_day: String,
        /// Whole local days left until it (0: today).
        days_left: i64,
    },
}

/// The period of `window` that holds `now`.
pub(crate) fn open_spec(window: &Window, now: UtcMillis) -> PeriodSpec {
    use crate::sla::plan::WindowKind;
    let d = crate::sla::period::local_date(now.0, &window.timezone);
    let this = match window.kind {
        WindowKind::CalendarYear => return PeriodSpec::Year(d.year()),
        _ => PeriodSpec::Month {
            year: d.year(),
            month: d.month(),
        },
    };
    // A billing cycle starting later in this month: the open one began last month.
    match crate::sla::period::resolve(window, this, None) {
        Ok(p) if now.0 < p.start => previous(this),
        _ => this,
    }
}

/// The period before `spec`.
pub(crate) fn previous(spec: PeriodSpec) -> PeriodSpec {
    match spec {
        PeriodSpec::Month { year, month: 1 } => PeriodSpec::Month {
            year: year - 1,
            month: 12,
        },
        PeriodSpec::Month { year, month } => PeriodSpec::Month {
            year,
            month: month - 1,
        },
        PeriodSpec::Year(y) => PeriodSpec::Year(y - 1),
    }
}

/// `timeline` as known at `now`: incidents and gaps cut there, nothing after it.
pub(crate) fn up_to(timeline: &Timeline, now: UtcMillis) -> Timeline {
    let mut t = timeline.clone();
    t.incidents.retain(|i| i.start.0 < now.0);
    for i in &mut t.incidents {
        i.end = UtcMillis(i.end.0.min(now.0));
    }
    t.gaps.retain(|g| g.start.0 < now.0);
    for g in &mut t.gaps {
        g.end = UtcMillis(g.end.0.min(now.0));
    }
    t
}

fn floor_ms(q: &Q) -> i64 {
    i64::try_from(crate::sla::num::floor(q)).unwrap_or(i64::MAX)
}

/// What the target allows over `measured` (ms).
fn allowed(breach_if: &BreachIf, target: Decimal, measured: &Q) -> i64 {
    let pct = match breach_if {
        BreachIf::AvailabilityLtTarget => Decimal::ONE_HUNDRED - target,
        BreachIf::DowntimeGtPct(p) => *p,
        BreachIf::AnyDowntime => Decimal::ZERO,
    };
    floor_ms(&(measured * crate::sla::num::dec(pct) / int(100)))
}

/// Reads the facts at `now`: the open period's breaches, and with `closed` the
/// claim deadlines of the last [`DEADLINE_MONTHS_BACK`] months' breached periods.
/// A period that cannot be read or evaluated is logged and left out.
pub(crate) fn facts(
    config: &Config,
    reader: &crate::store::Reader,
    now: UtcMillis,
    closed: bool,
) -> Vec<Fact> {
    let window_of = |plan: &str| {
        config
            .plans
            .iter()
            .find(|p| p.id == plan)
            .map(|p| &p.window)
    };
    let open: BTreeSet<(String, String)> = config
        .contracts
        .iter()
        .filter_map(|c| window_of(&c.plan).map(|w| (c.id.clone(), open_spec(w, now).to_string())))
        .collect();
    let mut labels: BTreeSet<String> = open.iter().map(|(_, l)| l.clone()).collect();
    if closed {
        for c in &config.contracts {
            let Some(w) = window_of(&c.plan) else {
                continue;
            };
            let mut spec = open_spec(w, now);
            let back = if matches!(spec, PeriodSpec::Year(_)) {
                1
            } else {
                DEADLINE_MONTHS_BACK
            };
            for _ in 0..back {
                spec = previous(spec);
                labels.insert(spec.to_string());
            }
        }
    }
    let mut out = Vec::new();
    for label in labels {
        let report = match crate::report::build(config, reader, &label, None, now) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(period = %label, error = %e, "breach and deadline alerts: the period could not be read");
                continue;
            }
        };
        for cr in &report.contracts {
            let lang = cr.contract.lang.as_deref().and_then(Lang::parse);
            let ev = &cr.evaluation;
            let (start, end) = (
                ev.period.first_day.to_string(),
                ev.period.end_day.to_string(),
            );
            if open.contains(&(cr.contract.id.clone(), label.clone())) {
                let Ok(spec) = PeriodSpec::parse(&label) else {
                    continue;
                };
                let timeline = up_to(&cr.timeline, now);
                let ov = crate::report::overrides(&cr.contract);
                let ev = match crate::sla::evaluate(&cr.plan, &ov, spec, None, &timeline) {
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::warn!(contract = %cr.contract.id, error = %e, "breach alert: the open period could not be evaluated");
                        continue;
                    }
                };
                if ev.breach {
                    out.push(Fact::Breach {
                        contract: cr.contract.id.clone(),
                        lang,
                        period_start: start,
                        period_end: end,
                        downtime_ms: floor_ms(&ev.downtime_ms),
                        allowed_ms: allowed(
                            &cr.plan.objective.breach_if,
                            cr.plan.objective.target,
                            &ev.measured_ms,
                        ),
                        credit: ev.credit.as_ref().map(|m| m.amount),
                        currency: ev
                            .credit
                            .as_ref()
                            .map_or_else(|| cr.currency.clone(), |m| m.currency.clone()),
                    });
                }
            } else if ev.breach && ev.period.end <= now.0 {
                let Some(d) = &cr.deadline else { continue };
                if d.state == crate::report::deadline::DeadlineState::Passed {
                    continue;
                }
                let last_day = d.last_day.unwrap_or_else(|| {
                    crate::sla::period::local_date(d.deadline.0, &cr.plan.window.timezone)
                });
                out.push(Fact::Claimable {
                    contract: cr.contract.id.clone(),
                    lang,
                    period_start: start,
                    period_end: end,
                    last_day: last_day.to_string(),
                    days_left: d.days,
                });
            }
        }
    }
    out
}

/// How often the open periods are read for breaches.
pub(crate) const BREACH_EVERY_MS: i64 = 60_000;
/// How often the closed periods are read for deadlines.
pub(crate) const DEADLINE_EVERY_MS: i64 = 3_600_000;

/// The daemon's reading of the facts: at most once every [`BREACH_EVERY_MS`] (the
/// closed periods once every [`DEADLINE_EVERY_MS`]), on a blocking thread, so the
/// probing loop never waits for the store; one reading at a time.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    last: Option<i64>,
    last_closed: Option<i64>,
    busy: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::Mutex<Option<Vec<Fact>>>>,
}

impl Watch {
    /// Called from the daemon's heartbeat (inside the tokio runtime): returns the
    /// facts of a reading that has finished, and starts the next one when due.
    pub(crate) fn tick(
        &mut self,
        config: &std::sync::Arc<Config>,
        now: UtcMillis,
    ) -> Option<Vec<Fact>> {
        use std::sync::atomic::Ordering;
        let done = self
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if config.contracts.is_empty()
            || self.last.is_some_and(|l| now.0 - l < BREACH_EVERY_MS)
            || self.busy.swap(true, Ordering::AcqRel)
        {
            return done;
        }
        self.last = Some(now.0);
        let closed = self
            .last_closed
            .is_none_or(|l| now.0 - l >= DEADLINE_EVERY_MS);
        if closed {
            self.last_closed = Some(now.0);
        }
        let (config, busy, slot) = (config.clone(), self.busy.clone(), self.done.clone());
        tokio::task::spawn_blocking(move || {
            let facts = match crate::store::Reader::open(&config.daemon.database) {
                Ok(reader) => facts(&config, &reader, now, closed),
                Err(e) => {
                    tracing::warn!(error = %e, "breach and deadline alerts: the database could not be read");
                    Vec::new()
                }
            };
            *slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(facts);
            busy.store(false, Ordering::Release);
        });
        done
    }
}
