//! Confirmation: from single checks to outages (DESIGN.md, "Measurement rules").
//!
//! One failure is not an outage. A probe is DOWN after `confirm_down` consecutive
//! failed checks and UP again after `confirm_up` consecutive successes. The outage
//! then runs from the first failed check of the confirmed streak to the first
//! success of the streak that ended it, and carries what makes the figure
//! indisputable: the proven minimum (first to last failed check) and the
//! uncertainty before it (back to the last success before the streak).
//!
//! `unknown` checks (slawatch could not judge: the machine was off line, the check
//! could not be run) are neither failures nor successes: they do not break a streak
//! and do not extend one. Their time is no-data, which the store records apart.
//!
//! Pure: [`Confirmation::observe`] takes checks in time order and returns events;
//! no I/O, no clock.

use crate::model::{Check, ErrorClass, Status, UtcMillis};

/// A confirmed outage, open or closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    /// The probe.
    pub probe: String,
    /// The first failed check of the confirmed streak: the outage's start.
    pub start: UtcMillis,
    /// When the first success of the streak that ended it got its answer (its start
    /// plus its total), always after `last_failure`; `None` while open.
    pub end: Option<UtcMillis>,
    /// The last failed check seen so far (end of the proven minimum).
    pub last_failure: UtcMillis,
    /// The last success before the streak (start of the uncertainty); `None` when
    /// the probe never succeeded before.
    pub last_success_before: Option<UtcMillis>,
    /// The class of the first failed check.
    pub class: ErrorClass,
    /// Its detail.
    pub detail: String,
    /// Failed checks in the outage.
    pub failed_checks: u32,
}

impl Outage {
    /// The proven minimum in milliseconds: first to last failed check.
    pub(crate) fn proven_ms(&self) -> i64 {
        self.last_failure.0 - self.start.0
    }

    /// The uncertainty before the start in milliseconds (last success to first
    /// failure); `None` without an earlier success.
    pub(crate) fn uncertainty_ms(&self) -> Option<i64> {
        self.last_success_before.map(|s| self.start.0 - s.0)
    }

    /// The uncertainty at the end in milliseconds: from the last failed check to the
    /// answer that ended the outage; `None` while open.
    #[cfg(test)]
    pub(crate) fn end_uncertainty_ms(&self) -> Option<i64> {
        self.end.map(|e| e.0 - self.last_failure.0)
    }
}

/// The one JSON shape of an outage, for `slawatch outages --json` and the webhook
/// (which adds `event` and `vantage`): `probe`, `start`, `end` (`null` while open),
/// `duration_ms` (`null` while open), `proven_ms`, `uncertainty_ms` (`null` without
/// an earlier success), `last_success_before` (`null` likewise), `failed_checks`,
/// `class` and `detail`. Instants are RFC 3339 UTC with milliseconds.
impl serde::Serialize for Outage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut o = s.serialize_struct("Outage", 10)?;
        o.serialize_field("probe", &self.probe)?;
        o.serialize_field("start", &self.start.to_string())?;
        o.serialize_field("end", &self.end.map(|e| e.to_string()))?;
        o.serialize_field("duration_ms", &self.end.map(|e| e.0 - self.start.0))?;
        o.serialize_field("proven_ms", &self.proven_ms())?;
        o.serialize_field("uncertainty_ms", &self.uncertainty_ms())?;
        o.serialize_field(
            "last_success_before",
            &self.last_success_before.map(|s| s.to_string()),
        )?;
        o.serialize_field("failed_checks", &self.failed_checks)?;
        o.serialize_field("class", self.class.as_str())?;
        o.serialize_field("detail", &self.detail)?;
        o.end()
    }
}

/// When a check got its answer: its start plus its measured total, rounded up to
/// the millisecond so it is never before the answer (its start when the total is
/// not known).
pub(crate) fn answered_at(check: &Check) -> UtcMillis {
    let total = check.phases.total.map_or(0, |d| {
        i64::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i64::MAX)
    });
    UtcMillis(check.started_at.0.saturating_add(total))
}

/// What a check changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The probe became DOWN: a new open outage.
    Opened(Outage),
    /// The probe is UP again: the outage, now with its end.
    Closed(Outage),
}

/// The confirmed state of one probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// No judged check yet.
    Unknown,
    /// Up (possibly with a failure streak not yet confirmed).
    Up,
    /// Down (possibly with a success streak not yet confirmed).
    Down,
}

/// The confirmation state machine of one probe.
#[derive(Clone, Debug)]
pub(crate) struct Confirmation {
    probe: String,
    confirm_down: u32,
    confirm_up: u32,
    state: State,
    last_success: Option<UtcMillis>,
    /// The unconfirmed failure streak while up: (first failure, count, class, detail).
    failures: Option<(UtcMillis, u32, ErrorClass, String)>,
    /// The open outage while down.
    open: Option<Outage>,
    /// The unconfirmed success streak while down: (first success's answer, count).
    successes: Option<(UtcMillis, u32)>,
    /// The latest instant seen (a check's start or an outage's last failure): no
    /// check is placed before it.
    latest: Option<UtcMillis>,
}

impl Confirmation {
    /// A probe with no history. Thresholds below 1 count as 1.
    pub(crate) fn new(probe: &str, confirm_down: u32, confirm_up: u32) -> Self {
        Confirmation {
            probe: probe.to_owned(),
            confirm_down: confirm_down.max(1),
            confirm_up: confirm_up.max(1),
            state: State::Unknown,
            last_success: None,
            failures: None,
            open: None,
            successes: None,
            latest: None,
        }
    }

    /// A probe whose outage was still open when the daemon stopped: it resumes DOWN.
    pub(crate) fn resume(open: Outage, confirm_down: u32, confirm_up: u32) -> Self {
        let mut c = Confirmation::new(&open.probe, confirm_down, confirm_up);
        c.state = State::Down;
        c.latest = Some(open.last_failure.max(open.start));
        c.open = Some(open);
        c
    }

    /// Keeps the state, takes new thresholds (a reloaded configuration).
    pub(crate) fn set_thresholds(&mut self, confirm_down: u32, confirm_up: u32) {
        self.confirm_down = confirm_down.max(1);
        self.confirm_up = confirm_up.max(1);
    }

    /// The confirmed state.
    #[cfg(test)]
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// The open outage, if DOWN.
    pub(crate) fn open_outage(&self) -> Option<&Outage> {
        self.open.as_ref()
    }

    /// Takes the next check of this probe (in time order) and says what changed.
    ///
    /// A check stamped before the latest instant already seen (the wall clock was
    /// stepped back between two runs) counts as happening at that instant.
    pub(crate) fn observe(&mut self, check: &Check) -> Option<Event> {
        let at = self
            .latest
            .map_or(check.started_at, |l| l.max(check.started_at));
        self.latest = Some(at);
        match check.status {
            Status::Unknown => None,
            Status::Up => {
                let answered = answered_at(check).max(at);
                self.success(at, answered)
            }
            Status::Down => self.failure(at, check),
        }
    }

    fn success(&mut self, at: UtcMillis, answered: UtcMillis) -> Option<Event> {
        match self.state {
            State::Unknown | State::Up => {
                self.state = State::Up;
                self.failures = None;
                self.last_success = Some(at);
                None
            }
            State::Down => {
                let (first, n) = self.successes.map_or((answered, 1), |(f, n)| (f, n + 1));
                if n < self.confirm_up {
                    self.successes = Some((first, n));
                    return None;
                }
                self.state = State::Up;
                self.successes = None;
                self.last_success = Some(at);
                let mut outage = self.open.take()?;
                // Never at or before the last failure, whatever the clocks said.
                outage.end = Some(first.max(UtcMillis(outage.last_failure.0 + 1)));
                Some(Event::Closed(outage))
            }
        }
    }

    fn failure(&mut self, at: UtcMillis, check: &Check) -> Option<Event> {
        let class = check.class.unwrap_or(ErrorClass::Unknown);
        match self.state {
            State::Unknown | State::Up => {
                let (first, n, class, detail) = match self.failures.take() {
                    Some((f, n, c, d)) => (f, n + 1, c, d),
                    None => (at, 1, class, check.detail.clone()),
                };
                if n < self.confirm_down {
                    self.failures = Some((first, n, class, detail));
                    return None;
                }
                let outage = Outage {
                    probe: self.probe.clone(),
                    start: first,
                    end: None,
                    last_failure: at,
                    last_success_before: self.last_success,
                    class,
                    detail,
                    failed_checks: n,
                };
                self.state = State::Down;
                self.open = Some(outage.clone());
                Some(Event::Opened(outage))
            }
            State::Down => {
                // A failure breaks an unconfirmed recovery: the outage goes on.
                self.successes = None;
                if let Some(o) = &mut self.open {
                    o.last_failure = at;
                    o.failed_checks += 1;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Phases;

    fn check(at: i64, status: Status) -> Check {
        Check {
            probe: "p".to_owned(),
            started_at: UtcMillis(at),
            status,
            class: (status == Status::Down).then_some(ErrorClass::Timeout),
            detail: String::new(),
            phases: Phases::default(),
            cert_not_after: None,
        }
    }

    #[test]
    fn an_outage_has_one_json_shape_open_and_closed() {
        let mut o = Outage {
            probe: "web".to_owned(),
            start: UtcMillis(1_712_139_330_000),
            end: None,
            last_failure: UtcMillis(1_712_139_390_000),
            last_success_before: Some(UtcMillis(1_712_139_300_000)),
            class: ErrorClass::Timeout,
            detail: "no answer in 10s".to_owned(),
            failed_checks: 3,
        };
        assert_eq!(
            serde_json::to_value(&o).unwrap(),
            serde_json::json!({
                "probe": "web",
                "start": "2024-04-03T10:15:30.000Z",
                "end": null,
                "duration_ms": null,
                "proven_ms": 60_000,
                "uncertainty_ms": 30_000,
                "last_success_before": "2024-04-03T10:15:00.000Z",
                "failed_checks": 3,
                "class": "timeout",
                "detail": "no answer in 10s",
            })
        );
        o.end = Some(UtcMillis(1_712_139_420_500));
        o.last_success_before = None;
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["end"], "2024-04-03T10:17:00.500Z");
        assert_eq!(v["duration_ms"], 90_500);
        assert_eq!(v["uncertainty_ms"], serde_json::Value::Null);
        assert_eq!(v["last_success_before"], serde_json::Value::Null);
    }

    /// Runs a script like "U D D U" (one check per second) and returns the events.
    fn script(c: &mut Confirmation, s: &str) -> Vec<Event> {
        s.split_whitespace()
            .enumerate()
            .filter_map(|(i, t)| {
                let status = match t {
                    "U" => Status::Up,
                    "D" => Status::Down,
                    _ => Status::Unknown,
                };
                c.observe(&check(i64::try_from(i).unwrap() * 1000, status))
            })
            .collect()
    }

    #[test]
    fn one_failure_is_not_an_outage() {
        let mut c = Confirmation::new("p", 2, 1);
        assert_eq!(script(&mut c, "U D U D U"), vec![]);
        assert_eq!(c.state(), State::Up);
    }

    #[test]
    fn confirmed_streak_opens_at_its_first_failure_and_closes_at_first_success() {
        let mut c = Confirmation::new("p", 2, 1);
        let events = script(&mut c, "U U D D D U U");
        let Event::Opened(open) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(open.start, UtcMillis(2000));
        assert_eq!(open.last_success_before, Some(UtcMillis(1000)));
        let Event::Closed(closed) = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(
            (closed.start, closed.end, closed.last_failure),
            (UtcMillis(2000), Some(UtcMillis(5000)), UtcMillis(4000))
        );
        assert_eq!(closed.failed_checks, 3);
        assert_eq!(closed.proven_ms(), 2000);
        assert_eq!(closed.uncertainty_ms(), Some(1000));
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn recovery_needs_confirm_up_successes_and_ends_at_the_first_of_them() {
        let mut c = Confirmation::new("p", 1, 3);
        // Fails at 1, a success at 2 broken by a failure at 3, then U U U from 4.
        let events = script(&mut c, "U D U D U U U");
        assert_eq!(events.len(), 2, "{events:?}");
        let Event::Closed(o) = &events[1] else {
            panic!()
        };
        assert_eq!((o.start, o.end), (UtcMillis(1000), Some(UtcMillis(4000))));
        assert_eq!(o.last_failure, UtcMillis(3000));
    }

    #[test]
    fn unknown_checks_neither_break_nor_extend_a_streak() {
        let mut c = Confirmation::new("p", 2, 1);
        let events = script(&mut c, "U D ? D");
        assert_eq!(events.len(), 1);
        let Event::Opened(o) = &events[0] else {
            panic!()
        };
        assert_eq!(o.start, UtcMillis(1000));
        let mut c = Confirmation::new("p", 2, 1);
        assert_eq!(script(&mut c, "? ? ? ?"), vec![]);
        assert_eq!(c.state(), State::Unknown);
    }

    #[test]
    fn down_from_the_start_has_no_last_success() {
        let mut c = Confirmation::new("p", 2, 1);
        let events = script(&mut c, "D D");
        let Event::Opened(o) = &events[0] else {
            panic!()
        };
        assert_eq!(o.last_success_before, None);
        assert_eq!(o.uncertainty_ms(), None);
    }

    #[test]
    fn a_resumed_outage_closes_with_its_original_start() {
        let open = Outage {
            probe: "p".to_owned(),
            start: UtcMillis(-5000),
            end: None,
            last_failure: UtcMillis(-4000),
            last_success_before: Some(UtcMillis(-6000)),
            class: ErrorClass::Refused,
            detail: "refused".to_owned(),
            failed_checks: 2,
        };
        let mut c = Confirmation::resume(open, 2, 1);
        let events = script(&mut c, "D U");
        let Event::Closed(o) = &events[0] else {
            panic!()
        };
        assert_eq!((o.start, o.end), (UtcMillis(-5000), Some(UtcMillis(1000))));
        assert_eq!((o.last_failure, o.failed_checks), (UtcMillis(0), 3));
    }

    #[test]
    fn an_outage_ends_when_the_first_success_got_its_answer() {
        let mut c = Confirmation::new("p", 2, 1);
        script(&mut c, "U D D");
        // The service hung: this check started at 3 s and was answered 1.8 s later.
        let mut slow = check(3000, Status::Up);
        slow.phases.total = Some(std::time::Duration::from_millis(1800));
        let Some(Event::Closed(o)) = c.observe(&slow) else {
            panic!("closed")
        };
        assert_eq!(o.end, Some(UtcMillis(4800)), "its answer, not its start");
        assert_eq!(o.end_uncertainty_ms(), Some(2800), "from the last failure");
        assert_eq!(o.proven_ms(), 1000);
    }

    #[test]
    fn a_check_stamped_before_the_last_one_never_ends_an_outage_before_it_starts() {
        // Resumed from the store after a restart whose wall clock went 2 h back.
        let open = Outage {
            probe: "p".to_owned(),
            start: UtcMillis(10_000_000),
            end: None,
            last_failure: UtcMillis(10_005_000),
            last_success_before: None,
            class: ErrorClass::Refused,
            detail: "refused".to_owned(),
            failed_checks: 2,
        };
        let mut c = Confirmation::resume(open, 2, 1);
        let back = 10_005_000 - 7_200_000;
        let Some(Event::Closed(o)) = c.observe(&check(back, Status::Up)) else {
            panic!("closed")
        };
        let end = o.end.unwrap();
        assert!(end > o.last_failure && end >= o.start, "{o:?}");
    }

    proptest::proptest! {
        /// Whatever the checks: events alternate Opened/Closed, an outage's instants are
        /// ordered (last success < start <= last failure < end), and it holds at least
        /// `confirm_down` failed checks.
        #[test]
        fn outages_are_well_formed(
            statuses in proptest::collection::vec(0u8..3, 0..200),
            down in 1u32..4,
            up in 1u32..4,
        ) {
            let mut c = Confirmation::new("p", down, up);
            let mut open = false;
            for (i, s) in statuses.iter().enumerate() {
                let status = [Status::Up, Status::Down, Status::Unknown][usize::from(*s)];
                let Some(event) = c.observe(&check(i64::try_from(i).unwrap(), status)) else {
                    continue;
                };
                match event {
                    Event::Opened(o) => {
                        proptest::prop_assert!(!open);
                        proptest::prop_assert!(o.failed_checks >= down);
                        proptest::prop_assert!(o.start <= o.last_failure);
                        open = true;
                    }
                    Event::Closed(o) => {
                        proptest::prop_assert!(open);
                        let end = o.end.unwrap();
                        proptest::prop_assert!(o.start <= o.last_failure && o.last_failure < end);
                        proptest::prop_assert!(o.last_success_before.is_none_or(|s| s < o.start));
                        open = false;
                    }
                }
            }
            proptest::prop_assert_eq!(open, c.state() == State::Down);
        }
        /// Whatever order the instants come in (a wall clock stepped back and forth)
        /// and however long each check took, no outage ends at or before its last
        /// failure or before its start.
        #[test]
        fn outages_never_end_before_they_start(
            checks in proptest::collection::vec((0u8..3, -10_000i64..10_000, 0u64..5_000), 0..200),
        ) {
            let mut c = Confirmation::new("p", 2, 1);
            for (s, at, total) in &checks {
                let status = [Status::Up, Status::Down, Status::Unknown][usize::from(*s)];
                let mut k = check(*at, status);
                k.phases.total = Some(std::time::Duration::from_millis(*total));
                if let Some(Event::Closed(o)) = c.observe(&k) {
                    let end = o.end.unwrap();
                    proptest::prop_assert!(o.start <= o.last_failure && o.last_failure < end, "{o:?}");
                }
            }
        }
    }
}
