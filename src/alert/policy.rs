//! Which alerts to raise: from confirmed state changes, checks and the clock to
//! [`Alert`]s, never more than one per state change.
//!
//! Stub (issue 17 in progress): one alert per DOWN and per UP, nothing else yet.
//! Flap damping, digests, off-line-once, breach in progress, claim deadlines and
//! certificate expiry belong here. Pure: no I/O; the daemon feeds it and queues what
//! it returns.

use super::Alert;
use crate::config::Config;
use crate::model::{Check, UtcMillis};
use crate::outage::Event;
use crate::report::Lang;

/// The alerting state of the whole daemon.
#[derive(Debug)]
pub(crate) struct Policy {
    lang: Lang,
}

impl Policy {
    /// A policy for `config` (`[alerts]` and the contracts' languages).
    pub(crate) fn new(_config: &Config) -> Policy {
        Policy { lang: Lang::En }
    }

    /// A probe's confirmed state change, at `now`.
    pub(crate) fn on_event(&mut self, event: &Event, now: UtcMillis) -> Vec<Alert> {
        vec![Alert::of_event(event, now, self.lang)]
    }

    /// Every check as it is stored (off line, certificate expiry).
    pub(crate) fn on_check(&mut self, _check: &Check, _now: UtcMillis) -> Vec<Alert> {
        Vec::new()
    }

    /// Called about once a second: digests and flap summaries that are due.
    pub(crate) fn tick(&mut self, _now: UtcMillis) -> Vec<Alert> {
        Vec::new()
    }

    /// Called about once a minute with the store: SLA breaches in the open period and
    /// claim deadlines approaching.
    #[allow(dead_code, reason = "issue 17 in progress: the daemon calls it next")]
    pub(crate) fn contracts(
        &mut self,
        _config: &Config,
        _reader: &crate::store::Reader,
        _now: UtcMillis,
    ) -> Vec<Alert> {
        Vec::new()
    }
}
