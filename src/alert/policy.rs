//! Which alerts to raise: from confirmed state changes, checks and the clock to
//! [`Alert`]s, never more than one per state change, and no floods.
//!
//! Pure: no I/O and no clock; the daemon feeds it (`on_event` for each confirmed
//! DOWN or UP, `on_check` for every check, `tick` about once a second, `on_contracts`
//! about once a minute with what [`contracts::facts`] read from the store) and sends
//! what it returns. The rules (docs/alerts.md, "When slawatch alerts"):
//!
//! - **One alert per state change**, in the language of the probe's first contract
//!   (`[[contract]] lang`, else `[alerts] lang`, else English).
//! - **Flap damping**: a probe changing state `flap_changes` times within
//!   `flap_window` gets one `Flapping` alert instead of the change that made it
//!   flap; after that its changes raise no alert of their own: at the first change a
//!   whole window after its last flap alert, one `FlapSummary`; once it has held its
//!   state for a whole window, a final `FlapSummary` with `stable = true`.
//! - **Digest**: a DOWN, UP or flap alert is held for `digest_window` from the first
//!   one held for its group (the provider of its probe's first contract's plan, else
//!   `all`); when the window ends, `digest_min` or more held alerts become one
//!   `Digest`, fewer are released as they are. An alert is thus up to
//!   `digest_window` late.
//! - **Off line once**: while the scheduler finds this machine off line (every
//!   `[[control]]` target failed), one `Offline` alert, none per probe (their checks
//!   are `unknown` and open no outage); one `Online` with the span at the first check
//!   that worked again.
//! - **Certificates**: a check's `cert_not_after` inside the probe's
//!   `cert_expiry_warn` raises one `CertExpiring` per certificate, and one more when
//!   it is inside [`CERT_LAST_DAYS`] days (if that is closer than the warning).
//! - **Contracts** (`on_contracts`): one `Breach` per contract and open period as
//!   soon as its counted downtime so far breaches the target, again when the credit
//!   owed at least doubles; one `DeadlineNear` 14 and 3 days before the last day to
//!   claim for a breached, closed period.
//!
//! Cheap on the common path: `on_check` for a check without a certificate and with
//! the machine on line is two comparisons and returns an empty `Vec` (no
//! allocation); with a certificate, one hash lookup by the probe's name.

pub(crate) mod contracts;

use super::{Alert, AlertEvent};
use crate::config::{Config, Damping};
use crate::model::{Check, Status, UtcMillis};
use crate::outage::{Event, Outage};
use crate::report::Lang;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

pub(crate) use contracts::Fact;

/// A certificate gets a second alert this many days before it expires.
pub(crate) const CERT_LAST_DAYS: i64 = 3;

const DAY_MS: i64 = 86_400_000;

/// The alerting state of the whole daemon.
#[derive(Debug)]
pub(crate) struct Policy {
    damping: Damping,
    flap_window_ms: i64,
    digest_window_ms: i64,
    default_lang: Lang,
    /// Group names; a probe's `group` indexes it (0 is `all`).
    groups: Vec<String>,
    probes: HashMap<String, ProbeState>,
    /// Probes flapping now (few): `tick` walks these, not every probe.
    flapping: Vec<String>,
    /// DOWN and UP alerts held for a digest, per group name.
    held: BTreeMap<String, Hold>,
    /// Since when this machine is off line, if it is.
    offline_since: Option<UtcMillis>,
    /// Credit (cents) of the last breach alert per `breach:CONTRACT:PERIOD_START`.
    breaches: HashMap<String, Option<Decimal>>,
    /// Deadline alert keys already raised.
    deadlines: HashSet<String>,
}

#[derive(Debug, Default)]
struct ProbeState {
    lang: Option<Lang>,
    group: usize,
    /// `cert_expiry_warn`, ms; none: the probe has no TLS.
    cert_warn_ms: Option<i64>,
    /// Instants of its state changes within the flap window (not flapping).
    changes: VecDeque<i64>,
    flap: Option<Flap>,
    /// The certificate (`notAfter`) and level (1: inside the warning, 2: inside
    /// [`CERT_LAST_DAYS`]) last alerted.
    cert_sent: Option<(i64, u8)>,
}

#[derive(Debug, Clone, Copy)]
struct Flap {
    /// When its last flap alert (`Flapping` or a summary) was raised.
    last_alert: i64,
    /// Changes since then.
    changes: u32,
    last_change: i64,
    up: bool,
}

#[derive(Debug)]
struct Hold {
    opened: i64,
    alerts: Vec<Alert>,
}

impl Policy {
    /// A policy for `config` (`[alerts]`, the contracts' languages and providers).
    pub(crate) fn new(config: &Config) -> Policy {
        let damping = config.alert_damping;
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let mut p = Policy {
            damping,
            flap_window_ms: ms(damping.flap_window).max(1),
            digest_window_ms: ms(damping.digest_window),
            default_lang: config
                .alerts
                .lang
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or(Lang::En),
            groups: vec!["all".to_owned()],
            probes: HashMap::with_capacity(config.probes.len()),
            flapping: Vec::new(),
            held: BTreeMap::new(),
            offline_since: None,
            breaches: HashMap::new(),
            deadlines: HashSet::new(),
        };
        for probe in &config.probes {
            let warn = probe.spec.cert_expiry_warn();
            p.probes.insert(
                probe.name.clone(),
                ProbeState {
                    cert_warn_ms: warn.filter(|w| !w.is_zero()).map(ms),
                    ..ProbeState::default()
                },
            );
        }
        // The first contract naming a probe gives its language and group.
        for c in &config.contracts {
            let lang = c.lang.as_deref().and_then(Lang::parse);
            let provider = config
                .plans
                .iter()
                .find(|plan| plan.id == c.plan)
                .and_then(|plan| plan.provider.clone());
            let group = match provider {
                Some(name) => match p.groups.iter().position(|g| *g == name) {
                    Some(i) => i,
                    None => {
                        p.groups.push(name);
                        p.groups.len() - 1
                    }
                },
                None => 0,
            };
            for name in &c.probes {
                if let Some(st) = p.probes.get_mut(name)
                    && st.lang.is_none()
                {
                    st.lang = Some(lang.unwrap_or(p.default_lang));
                    st.group = group;
                }
            }
        }
        p
    }

    /// A reloaded configuration: the languages, groups, windows and warnings are the
    /// new ones; what is held, flapping, off line or already alerted stays.
    pub(crate) fn reconfigure(&mut self, config: &Config) {
        let mut next = Policy::new(config);
        for (name, old) in self.probes.drain() {
            if let Some(st) = next.probes.get_mut(&name) {
                st.changes = old.changes;
                st.flap = old.flap;
                st.cert_sent = old.cert_sent;
            }
        }
        next.flapping = std::mem::take(&mut self.flapping);
        next.flapping
            .retain(|n| next.probes.get(n).is_some_and(|s| s.flap.is_some()));
        next.held = std::mem::take(&mut self.held);
        next.offline_since = self.offline_since;
        next.breaches = std::mem::take(&mut self.breaches);
        next.deadlines = std::mem::take(&mut self.deadlines);
        *self = next;
    }

    /// The language of `probe`'s alerts.
    fn lang_of(&self, probe: &str) -> Lang {
        self.probes
            .get(probe)
            .and_then(|s| s.lang)
            .unwrap_or(self.default_lang)
    }

    /// A probe's confirmed state change, at `now`.
    pub(crate) fn on_event(&mut self, event: &Event, now: UtcMillis) -> Vec<Alert> {
        let (outage, up) = match event {
            Event::Opened(o) => (o, false),
            Event::Closed(o) => (o, true),
        };
        let (window, threshold) = (self.flap_window_ms, self.damping.flap_changes);
        let lang = self.lang_of(&outage.probe);
        if !self.probes.contains_key(&outage.probe) {
            // Not configured (any more): alerts as usual, in the default language.
            self.probes
                .insert(outage.probe.clone(), ProbeState::default());
        }
        let Some(st) = self.probes.get_mut(&outage.probe) else {
            return Vec::new();
        };
        let group = st.group;
        if let Some(flap) = &mut st.flap {
            flap.changes += 1;
            flap.last_change = now.0;
            flap.up = up;
            if now.0 - flap.last_alert >= window {
                let alert = summary(&outage.probe, flap, now, lang, false);
                flap.last_alert = now.0;
                flap.changes = 0;
                return self.hold_or_send(group, alert, now);
            }
            return Vec::new();
        }
        st.changes.push_back(now.0);
        while st.changes.front().is_some_and(|&t| t <= now.0 - window) {
            st.changes.pop_front();
        }
        let counted = u32::try_from(st.changes.len()).unwrap_or(u32::MAX);
        if counted >= threshold {
            st.changes.clear();
            st.flap = Some(Flap {
                last_alert: now.0,
                changes: 0,
                last_change: now.0,
                up,
            });
            self.flapping.push(outage.probe.clone());
            // Its alerts still held for a digest are what made it flap: this says it.
            for hold in self.held.values_mut() {
                hold.alerts.retain(|a| probe_of(a) != Some(&outage.probe));
            }
            let alert = Alert {
                key: format!("flapping:{}:{}", outage.probe, now.0),
                raised_at: now,
                lang,
                event: AlertEvent::Flapping {
                    probe: outage.probe.clone(),
                    changes: counted,
                    window_ms: window,
                },
            };
            return self.hold_or_send(group, alert, now);
        }
        self.hold_or_send(group, Alert::of_event(event, now, lang), now)
    }

    /// `alert` held for its group's digest, or returned when digests are off.
    fn hold_or_send(&mut self, group: usize, alert: Alert, now: UtcMillis) -> Vec<Alert> {
        if self.digest_window_ms <= 0 {
            return vec![alert];
        }
        let Some(group) = self.groups.get(group).or_else(|| self.groups.first()) else {
            return vec![alert];
        };
        match self.held.get_mut(group) {
            Some(hold) => hold.alerts.push(alert),
            None => {
                self.held.insert(
                    group.clone(),
                    Hold {
                        opened: now.0,
                        alerts: vec![alert],
                    },
                );
            }
        }
        Vec::new()
    }

    /// Every check as it is stored: `offline` when the scheduler found this machine
    /// off line for it (every `[[control]]` target failed).
    pub(crate) fn on_check(&mut self, check: &Check, offline: bool, now: UtcMillis) -> Vec<Alert> {
        if offline {
            if self.offline_since.is_none() {
                let since = check.started_at;
                self.offline_since = Some(since);
                return vec![Alert {
                    key: format!("offline:{}", since.0),
                    raised_at: now,
                    lang: self.default_lang,
                    event: AlertEvent::Offline { since },
                }];
            }
            return Vec::new();
        }
        let mut out = Vec::new();
        // A check that answered (up, or down with the control targets answering)
        // shows the machine on line; an `unknown` of another cause says nothing.
        if let Some(since) = self.offline_since
            && check.status != Status::Unknown
        {
            self.offline_since = None;
            out.push(Alert {
                key: format!("online:{}", since.0),
                raised_at: now,
                lang: self.default_lang,
                event: AlertEvent::Online { since, until: now },
            });
        }
        if let Some(not_after) = check.cert_not_after {
            self.certificate(check, not_after, now, &mut out);
        }
        out
    }

    /// The holds whose window has ended: a digest each, or their alerts.
    fn release_held(&mut self, now: UtcMillis, out: &mut Vec<Alert>) {
        if self.held.is_empty() {
            return;
        }
        let due: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| now.0.saturating_sub(h.opened) >= self.digest_window_ms)
            .map(|(g, _)| g.clone())
            .collect();
        for group in due {
            let Some(hold) = self.held.remove(&group) else {
                continue;
            };
            let n = u32::try_from(hold.alerts.len()).unwrap_or(u32::MAX);
            if n >= self.damping.digest_min {
                out.push(digest(&group, hold, now));
            } else {
                out.extend(hold.alerts);
            }
        }
    }

    fn certificate(
        &mut self,
        check: &Check,
        not_after: UtcMillis,
        now: UtcMillis,
        out: &mut Vec<Alert>,
    ) {
        let default_lang = self.default_lang;
        let Some(st) = self.probes.get_mut(&check.probe) else {
            return;
        };
        let Some(warn) = st.cert_warn_ms else { return };
        let left = not_after.0 - now.0;
        let level = if left <= CERT_LAST_DAYS * DAY_MS && CERT_LAST_DAYS * DAY_MS < warn {
            2
        } else if left <= warn {
            1
        } else {
            0
        };
        let sent = match st.cert_sent {
            Some((na, l)) if na == not_after.0 => l,
            _ => 0,
        };
        if level <= sent {
            return;
        }
        st.cert_sent = Some((not_after.0, level));
        out.push(Alert {
            key: format!("cert:{}:{}:{level}", check.probe, not_after.0),
            raised_at: now,
            lang: st.lang.unwrap_or(default_lang),
            event: AlertEvent::CertExpiring {
                probe: check.probe.clone(),
                not_after,
                days_left: left.div_euclid(DAY_MS),
            },
        });
    }

    /// Called about once a second: digests, held alerts and stable summaries due.
    pub(crate) fn tick(&mut self, now: UtcMillis) -> Vec<Alert> {
        let mut out = Vec::new();
        self.release_held(now, &mut out);
        if !self.flapping.is_empty() {
            let window = self.flap_window_ms;
            let mut still = Vec::with_capacity(self.flapping.len());
            for name in std::mem::take(&mut self.flapping) {
                let lang = self.lang_of(&name);
                let Some(st) = self.probes.get_mut(&name) else {
                    continue;
                };
                match st.flap {
                    Some(flap) if now.0 - flap.last_change >= window => {
                        st.flap = None;
                        let group = st.group;
                        let alert = summary(&name, &flap, now, lang, true);
                        out.extend(self.hold_or_send(group, alert, now));
                    }
                    Some(_) => still.push(name),
                    None => {}
                }
            }
            self.flapping = still;
        }
        out
    }

    /// Everything still held, released now (the daemon stops): a digest for a group
    /// with `digest_min` alerts held, else the alerts themselves.
    pub(crate) fn flush(&mut self, now: UtcMillis) -> Vec<Alert> {
        for hold in self.held.values_mut() {
            hold.opened = i64::MIN;
        }
        let mut out = Vec::new();
        self.release_held(now, &mut out);
        out
    }

    /// The alerts the contracts' facts call for (see the module's documentation).
    pub(crate) fn on_contracts(&mut self, facts: &[Fact], now: UtcMillis) -> Vec<Alert> {
        let mut out = Vec::new();
        for fact in facts {
            match fact {
                Fact::Breach {
                    contract,
                    lang,
                    period_start,
                    period_end,
                    downtime_ms,
                    allowed_ms,
                    credit,
                    currency,
                } => {
                    let key = format!("breach:{contract}:{period_start}");
                    let amount = *credit;
                    let again = match self.breaches.get(&key) {
                        None => Some(key.clone()),
                        // Again only when what is owed has at least doubled (or
                        // become more than nothing).
                        Some(Some(last)) => amount
                            .filter(|a| *a > Decimal::ZERO && *a >= *last * Decimal::TWO)
                            .map(|a| format!("{key}:{a}")),
                        Some(None) => None,
                    };
                    let Some(alert_key) = again else { continue };
                    self.breaches.insert(key, amount);
                    out.push(Alert {
                        key: alert_key,
                        raised_at: now,
                        lang: lang.unwrap_or(self.default_lang),
                        event: AlertEvent::Breach {
                            contract: contract.clone(),
                            period_start: period_start.clone(),
                            period_end: period_end.clone(),
                            downtime_ms: *downtime_ms,
                            allowed_ms: *allowed_ms,
                            credit: amount.map(|a| a.to_string()),
                            currency: currency.clone(),
                        },
                    });
                }
                Fact::Claimable {
                    contract,
                    lang,
                    period_start,
                    period_end,
                    last_day,
                    days_left,
                } => {
                    let threshold = if *days_left <= 3 {
                        3
                    } else if *days_left <= 14 {
                        14
                    } else {
                        continue;
                    };
                    let key = format!("deadline:{contract}:{period_start}:{threshold}");
                    // Once per threshold; the 3-day alert also covers a 14 not sent.
                    if !self.deadlines.insert(key.clone()) {
                        continue;
                    }
                    if threshold == 3 {
                        self.deadlines
                            .insert(format!("deadline:{contract}:{period_start}:14"));
                    }
                    out.push(Alert {
                        key,
                        raised_at: now,
                        lang: lang.unwrap_or(self.default_lang),
                        event: AlertEvent::DeadlineNear {
                            contract: contract.clone(),
                            period_start: period_start.clone(),
                            period_end: period_end.clone(),
                            deadline: last_day.clone(),
                            days_left: u32::try_from(*days_left).unwrap_or(0),
                        },
                    });
                }
            }
        }
        out
    }
}

/// The probe a DOWN or UP alert is about.
fn probe_of(a: &Alert) -> Option<&String> {
    match &a.event {
        AlertEvent::Down { outage } | AlertEvent::Up { outage } => Some(&outage.probe),
        _ => None,
    }
}

fn summary(probe: &str, flap: &Flap, now: UtcMillis, lang: Lang, stable: bool) -> Alert {
    Alert {
        key: format!(
            "flap-summary:{probe}:{}{}",
            now.0,
            if stable { ":stable" } else { "" }
        ),
        raised_at: now,
        lang,
        event: AlertEvent::FlapSummary {
            probe: probe.to_owned(),
            changes: flap.changes,
            since: UtcMillis(flap.last_alert),
            state: if flap.up { "up" } else { "down" }.to_owned(),
            stable,
        },
    }
}

/// One alert for the held DOWN and UP alerts of `group`.
fn digest(group: &str, hold: Hold, now: UtcMillis) -> Alert {
    let lang = hold.alerts.first().map_or(Lang::En, |a| a.lang);
    let (mut down, mut up): (Vec<Outage>, Vec<Outage>) = (Vec::new(), Vec::new());
    let mut flaps = Vec::new();
    for a in hold.alerts {
        match a.event {
            AlertEvent::Down { outage } => down.push(outage),
            AlertEvent::Up { outage } => up.push(outage),
            other => flaps.push(other),
        }
    }
    Alert {
        key: format!("digest:{group}:{}", hold.opened),
        raised_at: now,
        lang,
        event: AlertEvent::Digest {
            group: group.to_owned(),
            down,
            up,
            flaps,
        },
    }
}

#[cfg(test)]
mod tests;
