//! The daemon's clock: wall-clock instants that never go backwards within a run.
//!
//! A check is stamped with a wall-clock instant (evidence is in UTC), but the wall
//! clock can be stepped: by NTP correcting a wrong clock, by an operator, by a
//! virtual machine resumed. Stamping each check with a fresh read would then store
//! a check before the one that preceded it, and an outage ending before it began.
//!
//! [`Clock`] maps the monotonic clock (`tokio::time::Instant`) to wall time from an
//! anchor (a monotonic instant and the wall time then), so the time between two
//! stamps is always the time that really passed. Every [`Clock::now`] also reads
//! the wall clock: when it differs from the mapped instant by more than
//! [`STEP_TOLERANCE_MS`] beyond what was already known, the wall clock stepped. The
//! clock then re-anchors at the later of the wall time and the mapped instant (so
//! never before an instant it handed out):
//!
//! - a step **forward** (the machine slept, or its clock was behind) is followed:
//!   stamps jump forward with the wall clock;
//! - a step **back** is not followed within this run: stamps go on from the last
//!   one at the monotonic clock's pace (so durations stay right), ahead of the wall
//!   clock by the step, until the daemon restarts or the wall clock catches up.
//!
//! Either way the step is remembered ([`Clock::take_steps`]) for the daemon to log
//! and record in the store, so a reader of the evidence knows stamps around it may
//! be off by that much.
//!
//! Reading the wall clock goes through a function given at construction, so tests
//! step it at will.

use crate::model::UtcMillis;
use std::sync::{Mutex, PoisonError};
use tokio::time::Instant;

/// A difference between the wall clock and the mapped instant above this is a step.
/// NTP slews (adjusts the rate of) both clocks alike, so slow drift never adds up
/// to it; suspending the machine or setting the clock does.
pub(crate) const STEP_TOLERANCE_MS: i64 = 1_000;

/// Steps kept until [`Clock::take_steps`]; more are dropped (a clock that steps
/// more than this between two heartbeats is broken, and the first are logged).
const MAX_PENDING_STEPS: usize = 64;

/// A step of the wall clock, as detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// The instant the clock would have handed out had the wall clock not stepped.
    pub at: UtcMillis,
    /// What the wall clock said then.
    pub wall: UtcMillis,
    /// How far the wall clock moved against the mapping: positive forward, negative back.
    pub by_ms: i64,
    /// The instant stamps go on from (never before the last one handed out).
    pub now: UtcMillis,
}

impl Step {
    /// "forward" or "back".
    pub(crate) fn direction(&self) -> &'static str {
        if self.by_ms >= 0 { "forward" } else { "back" }
    }
}

#[derive(Debug)]
struct State {
    anchor: Instant,
    anchor_wall: i64,
    /// Wall clock minus mapped instant, as last accepted (0, or negative after a
    /// step back that was not followed).
    offset: i64,
    last: i64,
    steps: Vec<Step>,
}

/// Wall time from the monotonic clock, re-anchored on steps (see the module doc).
pub(crate) struct Clock {
    wall: Box<dyn Fn() -> UtcMillis + Send + Sync>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").field("state", &self.state).finish()
    }
}

/// The system's wall clock.
#[expect(
    clippy::disallowed_methods,
    reason = "the daemon's clock is the one place that reads the wall clock for checks"
)]
pub(crate) fn system_wall() -> UtcMillis {
    UtcMillis::from_timestamp(jiff::Timestamp::now())
}

impl Clock {
    /// A clock on the system's wall clock.
    pub(crate) fn system() -> Clock {
        Clock::with_wall(system_wall)
    }

    /// A clock reading the wall time from `wall` (tests step it).
    pub(crate) fn with_wall(wall: impl Fn() -> UtcMillis + Send + Sync + 'static) -> Clock {
        let now = wall().0;
        Clock {
            wall: Box::new(wall),
            state: Mutex::new(State {
                anchor: Instant::now(),
                anchor_wall: now,
                offset: 0,
                last: now,
                steps: Vec::new(),
            }),
        }
    }

    /// Now: never before an instant this clock handed out before, and as far after
    /// it as the monotonic clock moved (unless the wall clock stepped forward).
    pub(crate) fn now(&self) -> UtcMillis {
        let mono = Instant::now();
        let wall = (self.wall)().0;
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let since =
            i64::try_from(mono.saturating_duration_since(s.anchor).as_millis()).unwrap_or(i64::MAX);
        let mapped = s.anchor_wall.saturating_add(since);
        let diff = wall.saturating_sub(mapped);
        if diff.saturating_sub(s.offset).abs() > STEP_TOLERANCE_MS {
            // `mapped` is never before `last`: the mapping only moves forward.
            let now = wall.max(mapped).max(s.last);
            let step = Step {
                at: UtcMillis(mapped),
                wall: UtcMillis(wall),
                by_ms: diff.saturating_sub(s.offset),
                now: UtcMillis(now),
            };
            // Kept for the daemon to take every second; bounded all the same.
            if s.steps.len() < MAX_PENDING_STEPS {
                s.steps.push(step);
            }
            s.anchor = mono;
            s.anchor_wall = now;
            s.offset = wall.saturating_sub(now);
            s.last = now;
            return UtcMillis(now);
        }
        let now = mapped.max(s.last);
        s.last = now;
        UtcMillis(now)
    }

    /// The steps detected since the last call, oldest first.
    pub(crate) fn take_steps(&self) -> Vec<Step> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut s.steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::Duration;

    const HOUR: i64 = 3_600_000;

    /// A wall clock that follows paused tokio time plus a settable offset.
    fn stepped(start: i64) -> (Clock, Arc<AtomicI64>) {
        let offset = Arc::new(AtomicI64::new(0));
        let base = Instant::now();
        let o = offset.clone();
        let clock = Clock::with_wall(move || {
            let since = i64::try_from((Instant::now() - base).as_millis()).unwrap();
            UtcMillis(start + since + o.load(Ordering::SeqCst))
        });
        (clock, offset)
    }

    #[tokio::test(start_paused = true)]
    async fn follows_the_wall_clock_while_it_does_not_step() {
        let (clock, _) = stepped(1_000_000);
        assert_eq!(clock.now(), UtcMillis(1_000_000));
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), UtcMillis(1_090_000));
        assert!(clock.take_steps().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_back_is_recorded_and_never_followed_backwards() {
        let (clock, offset) = stepped(10 * HOUR);
        tokio::time::advance(Duration::from_secs(10)).await;
        let before = clock.now();
        offset.store(-2 * HOUR, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(5)).await;
        let after = clock.now();
        assert_eq!(after.0 - before.0, 5_000, "durations stay right");
        let steps = clock.take_steps();
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert_eq!(steps[0].by_ms, -2 * HOUR);
        assert_eq!(steps[0].direction(), "back");
        // Later reads go on at the monotonic pace, and the step is not seen again.
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(clock.now().0 - after.0, 60_000);
        assert!(clock.take_steps().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_forward_is_followed_and_recorded() {
        let (clock, offset) = stepped(10 * HOUR);
        let before = clock.now();
        offset.store(HOUR, Ordering::SeqCst);
        let after = clock.now();
        assert_eq!(after.0 - before.0, HOUR);
        assert_eq!(clock.take_steps()[0].by_ms, HOUR);
        // Back to the true time after a step back: not before the last stamp.
        offset.store(0, Ordering::SeqCst);
        let again = clock.now();
        assert!(again >= after, "{again} < {after}");
    }

    #[tokio::test(start_paused = true)]
    async fn small_differences_are_not_steps() {
        let (clock, offset) = stepped(0);
        offset.store(900, Ordering::SeqCst);
        clock.now();
        offset.store(-900, Ordering::SeqCst);
        clock.now();
        assert!(clock.take_steps().is_empty());
    }
}
