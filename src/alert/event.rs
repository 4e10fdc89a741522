//! What an alert is about: the events of issue 17, one type for every channel.
//!
//! An [`Alert`] is one event with what every channel needs to render it: a stable
//! key (one alert per state change: the queue refuses a second alert with the same
//! key), when it was raised, and the language of the contracts it concerns. The
//! [`AlertEvent`] serialises to the webhook's JSON body (`event` names the variant
//! in snake case); the e-mail renders the same facts as text and HTML.

use crate::model::UtcMillis;
use crate::outage::Outage;
use crate::report::Lang;
use serde::Serialize;

/// One alert: an event, keyed, dated, in a language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Alert {
    /// Unique per state change, e.g. `down:shop-site:1712139330000`: raising the same
    /// alert twice (a restart, a replayed check) queues it once.
    pub key: String,
    /// When slawatch raised it.
    pub raised_at: UtcMillis,
    /// The language of the contracts it concerns (`[alerts] lang` when none says).
    pub lang: Lang,
    /// What happened.
    pub event: AlertEvent,
}

/// What happened. The webhook body is this, serialised, plus `vantage` and `key`.
/// DOWN and UP keep the first release's names (`outage_opened`, `outage_closed`)
/// and its flat body: the outage's fields beside `event`.
#[allow(
    dead_code,
    reason = "issue 17 in progress: the policy raises these next"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum AlertEvent {
    /// A probe was confirmed DOWN: the outage just opened.
    #[serde(rename = "outage_opened")]
    Down {
        /// The open outage (`end` is `null`), its fields flattened into the body.
        #[serde(flatten)]
        outage: Outage,
    },
    /// A probe is UP again: the outage with its end, duration and proven minimum.
    #[serde(rename = "outage_closed")]
    Up {
        /// The closed outage, flattened likewise.
        #[serde(flatten)]
        outage: Outage,
    },
    /// A probe changed state `changes` times within the flap window: from now on it
    /// gets summaries, not an alert per change.
    Flapping {
        /// The probe.
        probe: String,
        /// State changes counted in the window.
        changes: u32,
        /// The window's length in milliseconds.
        window_ms: i64,
    },
    /// What a flapping probe did since it was declared flapping; `stable` when it has
    /// stopped flapping (its state held for a whole window).
    FlapSummary {
        /// The probe.
        probe: String,
        /// State changes since the last flap alert.
        changes: u32,
        /// Since when (RFC 3339 in the body).
        #[serde(serialize_with = "rfc3339")]
        since: UtcMillis,
        /// Its state now: `up` or `down`.
        state: String,
        /// It held that state for a whole window: flapping is over.
        stable: bool,
    },
    /// Many probes changed state within a short window: one alert naming them all.
    Digest {
        /// What they share (a provider, a contract, or `all`).
        group: String,
        /// Probes that went DOWN in the window, with their outages.
        down: Vec<Outage>,
        /// Probes that came UP in the window, with their outages.
        up: Vec<Outage>,
        /// The `Flapping` and `FlapSummary` alerts of the window, each as its own
        /// body would be (`event`, `probe`, ...).
        flaps: Vec<AlertEvent>,
    },
    /// A contract's counted downtime crossed its SLA target while the period is
    /// still open.
    Breach {
        /// The contract.
        contract: String,
        /// The billing period, `YYYY-MM-DD` inclusive start.
        period_start: String,
        /// `YYYY-MM-DD`, exclusive end.
        period_end: String,
        /// Counted downtime so far in the period, milliseconds.
        downtime_ms: i64,
        /// The downtime the target allows over the whole period, milliseconds.
        allowed_ms: i64,
        /// Credit owed so far, a decimal string in the contract's currency ("12.50");
        /// `null` when the plan's remedy is not computable (a liability clause, a
        /// goodwill credit).
        credit: Option<String>,
        /// The currency (ISO 4217).
        currency: String,
    },
    /// The deadline to claim for a breached period is near (14 and 3 days before).
    DeadlineNear {
        /// The contract.
        contract: String,
        /// The period the claim is for, `YYYY-MM-DD` start.
        period_start: String,
        /// `YYYY-MM-DD`, exclusive end.
        period_end: String,
        /// The last day to claim, `YYYY-MM-DD`.
        deadline: String,
        /// Whole days left.
        days_left: u32,
    },
    /// A probe's certificate is inside its `cert_expiry_warn`.
    CertExpiring {
        /// The probe.
        probe: String,
        /// The certificate's earliest `notAfter` (RFC 3339 in the body).
        #[serde(serialize_with = "rfc3339")]
        not_after: UtcMillis,
        /// Whole days left.
        days_left: i64,
    },
    /// This machine is off line (every `[[control]]` target failed): one alert for
    /// that, none per probe.
    Offline {
        /// The first check that found the machine off line (RFC 3339 in the body).
        #[serde(serialize_with = "rfc3339")]
        since: UtcMillis,
    },
    /// This machine is on line again.
    Online {
        /// When it went off line (RFC 3339 in the body).
        #[serde(serialize_with = "rfc3339")]
        since: UtcMillis,
        /// When it answered again (RFC 3339 in the body).
        #[serde(serialize_with = "rfc3339")]
        until: UtcMillis,
    },
    /// `slawatch alerts test`.
    Test,
}

/// An instant in the webhook body: RFC 3339 in UTC with milliseconds, like the
/// outage's `start` and `end`, never bare milliseconds.
fn rfc3339<S: serde::Serializer>(t: &UtcMillis, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

impl Alert {
    /// The alert for a probe's confirmed state change.
    pub(crate) fn of_event(
        event: &crate::outage::Event,
        raised_at: UtcMillis,
        lang: Lang,
    ) -> Alert {
        let (kind, outage, event) = match event {
            crate::outage::Event::Opened(o) => ("down", o, AlertEvent::Down { outage: o.clone() }),
            crate::outage::Event::Closed(o) => ("up", o, AlertEvent::Up { outage: o.clone() }),
        };
        Alert {
            key: format!("{kind}:{}:{}", outage.probe, outage.start.0),
            raised_at,
            lang,
            event,
        }
    }
}
