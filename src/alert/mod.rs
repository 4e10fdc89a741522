//! Alerts when an outage opens and closes: e-mail (lettre) and webhooks (reqwest).
//!
//! [`Alerter::notify`] never blocks the daemon's loop: every send (one per webhook,
//! one for the e-mail) runs on its own tokio task, and at most [`MAX_IN_FLIGHT`]
//! sends run at once. An alert over that bound is logged and dropped, never queued
//! without limit: the evidence is in the database either way, an alert is a
//! courtesy. A failed send is retried once after [`RETRY_AFTER`], then logged with
//! `tracing::warn!` naming the target, never a secret: a webhook by its number and
//! origin (`webhook 1 (https://hooks.example.test)`: the path and query of many
//! webhook URLs are the token), the SMTP server by host and port.
//!
//! # The webhook
//!
//! A `POST` with `Content-Type: application/json`, the configured headers, a 10 s
//! timeout, no redirects followed and no proxy, of one JSON object:
//!
//! | field | value |
//! |---|---|
//! | `event` | `"outage_opened"` or `"outage_closed"` |
//! | `probe` | the probe's name |
//! | `start` | the first failed check, RFC 3339 UTC with milliseconds |
//! | `end` | the first success that ended it; `null` while open |
//! | `duration_ms` | `end - start` in milliseconds; `null` while open |
//! | `proven_ms` | first to last failed check (the proven minimum) |
//! | `uncertainty_ms` | last success before to the first failure; `null` without one |
//! | `last_success_before` | that last success, RFC 3339 UTC; `null` without one |
//! | `failed_checks` | failed checks in the outage so far |
//! | `class` | the error class of the first failed check (`timeout`, `refused`...) |
//! | `detail` | its detail |
//! | `vantage` | `[daemon] vantage`: where the check ran from |
//!
//! Apart from `event` and `vantage`, these are the fields of `slawatch outages
//! --json`: both are the one serialisation of an `Outage` (`src/outage.rs`).
//!
//! Any 2xx answer is a success.
//!
//! # The e-mail
//!
//! `smtps://host[:465]` is implicit TLS, `smtp://host[:587]` STARTTLS, required:
//! nothing is sent in clear. AUTH when both `username` and a password are set. The
//! server's certificate is checked against the system's roots plus `ca_file`.
//! Subject `[slawatch] DOWN shop-site (timeout)` or `[slawatch] UP shop-site after
//! 12m 30s` (the duration truncated to the second); a plain-text body with the
//! webhook's facts, one per line.

mod event;
pub(crate) mod mail;
pub(crate) mod policy;
pub(crate) mod render;
pub(crate) mod webhook;

pub(crate) use event::{Alert, AlertEvent};

use crate::config::{Alerts, Webhook, format_duration, url_origin};
use crate::outage::Event;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Sends in flight at most; more are dropped (and logged).
pub const MAX_IN_FLIGHT: u32 = 8;
/// The wait before the one retry of a failed send.
pub(crate) const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Per attempt, for a webhook and for an SMTP command.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends outage alerts to the configured targets. Cheap to clone.
#[derive(Clone)]
pub struct Alerter {
    inner: Arc<Inner>,
}

struct Inner {
    webhooks: Vec<Webhook>,
    http: Option<reqwest::Client>,
    email: Option<mail::Email>,
    permits: Arc<Semaphore>,
    dropped: AtomicU64,
    failed: AtomicU64,
}

impl Alerter {
    /// An alerter for `[alerts]`. A target that cannot be set up (an unreadable
    /// `ca_file`, a bad address) is logged and left out; the others still work.
    pub fn new(alerts: &Alerts) -> Alerter {
        let http = if alerts.webhooks.is_empty() {
            None
        } else {
            match reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
            {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!(error = %e, "webhook alerts disabled: cannot build the HTTP client");
                    None
                }
            }
        };
        let email = alerts.email.as_ref().and_then(|e| match mail::channel(e) {
            Ok(m) => Some(m),
            Err(why) => {
                // Only the origin: the URL's userinfo may hold a password.
                let smtp = url_origin(&e.smtp_url);
                tracing::error!(smtp = %smtp, "e-mail alerts disabled: {why}");
                None
            }
        });
        Alerter {
            inner: Arc::new(Inner {
                webhooks: alerts.webhooks.clone(),
                http,
                email,
                permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize)),
                dropped: AtomicU64::new(0),
                failed: AtomicU64::new(0),
            }),
        }
    }

    /// Sends `event` to every target in the background and returns at once. Must be
    /// called inside a tokio runtime.
    pub fn notify(&self, event: &Event, vantage: &str) {
        let alert = Alert::of_event(
            event,
            crate::probe::net::wall_clock_now(),
            crate::report::Lang::En,
        );
        self.send(&alert, vantage);
    }

    /// Sends `alert` to every target in the background and returns at once. Must be
    /// called inside a tokio runtime.
    pub(crate) fn send(&self, alert: &Alert, vantage: &str) {
        if let Some(http) = &self.inner.http {
            let body = render::body(alert, vantage);
            for (i, hook) in self.inner.webhooks.iter().enumerate() {
                let target = webhook::target(i, hook.url.expose());
                let Some(permit) = self.permit(&target) else {
                    continue;
                };
                let (http, hook, body, inner) =
                    (http.clone(), hook.clone(), body.clone(), self.inner.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    let now = crate::probe::net::wall_clock_now;
                    let mut result = webhook::post(&http, &hook, &body, now()).await;
                    if result.is_err() {
                        tokio::time::sleep(RETRY_AFTER).await;
                        result = webhook::post(&http, &hook, &body, now()).await;
                    }
                    if let Err(why) = result {
                        inner.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(webhook = %target, "webhook alert not delivered (tried twice): {why}");
                    }
                });
            }
        }
        if let Some(email) = &self.inner.email {
            let Some(permit) = self.permit(&email.target) else {
                return;
            };
            let mail = render::mail(alert, vantage);
            let inner = self.inner.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let Some(email) = &inner.email else { return };
                let mut result = mail::send(email, &mail).await;
                if result.is_err() {
                    tokio::time::sleep(RETRY_AFTER).await;
                    result = mail::send(email, &mail).await;
                }
                if let Err(why) = result {
                    inner.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(smtp = %email.target, "e-mail alert not delivered (tried twice): {why}");
                }
            });
        }
    }

    /// Sends running now.
    pub fn in_flight(&self) -> u32 {
        let free = u32::try_from(self.inner.permits.available_permits()).unwrap_or(MAX_IN_FLIGHT);
        MAX_IN_FLIGHT.saturating_sub(free)
    }

    /// Alerts dropped because [`MAX_IN_FLIGHT`] sends were already running.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Sends that failed twice.
    pub fn failed(&self) -> u64 {
        self.inner.failed.load(Ordering::Relaxed)
    }

    /// Waits until no send is running (each ends within two timeouts and the retry
    /// delay).
    pub async fn idle(&self) {
        if let Ok(all) = self.inner.permits.acquire_many(MAX_IN_FLIGHT).await {
            drop(all);
        }
    }

    fn permit(&self, target: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match self.inner.permits.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                self.inner.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    target_name = %target,
                    "alert dropped: {MAX_IN_FLIGHT} alerts are already being sent"
                );
                None
            }
        }
    }
}

/// `[slawatch] DOWN shop-site (timeout)` / `[slawatch] UP shop-site after 12m 30s`.
pub(crate) fn subject(event: &Event) -> String {
    match event {
        Event::Opened(o) => format!("[slawatch] DOWN {} ({})", o.probe, o.class),
        Event::Closed(o) => {
            let ms = o.end.map_or(0, |e| e.0 - o.start.0);
            // Truncated to the whole second: the exact figure is in the body.
            let secs = u64::try_from(ms / 1000).unwrap_or(0);
            format!(
                "[slawatch] UP {} after {}",
                o.probe,
                format_duration(Duration::from_secs(secs))
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorClass, UtcMillis};
    use crate::outage::Outage;

    fn outage(end: Option<i64>) -> Outage {
        Outage {
            probe: "shop-site".into(),
            start: UtcMillis(1_712_139_330_000),
            end: end.map(UtcMillis),
            last_failure: UtcMillis(1_712_139_390_000),
            last_success_before: Some(UtcMillis(1_712_139_300_000)),
            class: ErrorClass::Timeout,
            detail: "no answer in 10s".into(),
            failed_checks: 3,
        }
    }

    #[test]
    fn subjects_name_the_probe_and_the_cause_or_duration() {
        assert_eq!(
            subject(&Event::Opened(outage(None))),
            "[slawatch] DOWN shop-site (timeout)"
        );
        // 12 min 30.999 s: truncated to the second.
        let closed = Event::Closed(outage(Some(1_712_139_330_000 + 750_999)));
        assert_eq!(subject(&closed), "[slawatch] UP shop-site after 12m 30s");
    }

    #[test]
    fn the_webhook_is_the_outage_as_outages_json_writes_it_plus_event_and_vantage() {
        let o = outage(Some(1_712_139_420_000));
        let alert = Alert::of_event(
            &Event::Closed(o.clone()),
            UtcMillis(0),
            crate::report::Lang::En,
        );
        let mut body: serde_json::Value =
            serde_json::from_str(&render::body(&alert, "fra-1")).unwrap();
        let map = body.as_object_mut().unwrap();
        assert_eq!(map.remove("key").unwrap(), "up:shop-site:1712139330000");
        assert_eq!(map.remove("event").unwrap(), "outage_closed");
        assert_eq!(map.remove("vantage").unwrap(), "fra-1");
        assert_eq!(body, serde_json::to_value(&o).unwrap());
        assert_eq!(body["failed_checks"], 3);
        assert_eq!(body["duration_ms"], 90_000);
    }

    #[test]
    fn a_webhook_is_named_by_number_and_origin_only() {
        assert_eq!(
            webhook::target(0, "https://hooks.example.test/services/T0/B0/SECRET?x=1"),
            "webhook 1 (https://hooks.example.test)"
        );
        assert_eq!(
            webhook::target(2, "http://127.0.0.1:8080/x"),
            "webhook 3 (http://127.0.0.1:8080)"
        );
    }

    #[test]
    fn the_body_carries_every_field() {
        let alert = Alert::of_event(
            &Event::Opened(outage(None)),
            UtcMillis(0),
            crate::report::Lang::En,
        );
        let t = render::mail(&alert, "fra-1").text;
        for line in [
            "event: outage_opened\n",
            "probe: shop-site\n",
            "start: 2024-04-03T10:15:30.000Z\n",
            "end: -\n",
            "duration_ms: -\n",
            "proven_ms: 60000\n",
            "uncertainty_ms: 30000\n",
            "last_success_before: 2024-04-03T10:15:00.000Z\n",
            "failed_checks: 3\n",
            "class: timeout\n",
            "detail: no answer in 10s\n",
            "vantage: fra-1\n",
        ] {
            assert!(t.contains(line), "{line:?} missing from\n{t}");
        }
    }
}
