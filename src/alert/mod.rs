//! Alerts: what is raised (`policy`), how it reads (`render`), the channels that
//! carry it (`mail`, `webhook`), and the durable queue that delivers it
//! (`deliver`).
//!
//! An [`Alert`] raised by the daemon is rendered once per configured channel and
//! stored in the evidence database (`alerts`, sealed: an alert sent is evidence of
//! when the customer was told), with what is sent, before any attempt. The delivery
//! task (`deliver`) sends what is pending, retries with exponential backoff, and
//! appends every attempt (`alert_attempts`); it survives a restart (pending alerts
//! are read back at start) and never blocks the probing loop. See docs/alerts.md,
//! "Delivery and the queue".
//!
//! Logs and stored errors name a channel, never a secret: a webhook by its number
//! and origin (`webhook 1 (https://hooks.example.test)`: the path and query of many
//! webhook URLs are the token), the SMTP server by host and port
//! (`email (mail.example.test:465)`).
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
//! 12m 30s` (the duration truncated to the second).

pub(crate) mod deliver;
mod event;
pub(crate) mod mail;
pub(crate) mod policy;
pub(crate) mod render;
pub(crate) mod webhook;

pub(crate) use event::{Alert, AlertEvent};

use crate::config::{Alerts, Webhook, url_origin};
use crate::model::UtcMillis;
use crate::outage::Event;
use crate::store::NewAlert;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per attempt, for a webhook and for an SMTP command.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// The configured channels, ready to send. Cheap to clone.
#[derive(Clone)]
pub struct Alerter {
    inner: Arc<Inner>,
}

struct Inner {
    /// Each webhook with its channel name (`webhook N (ORIGIN)`).
    webhooks: Vec<(String, Webhook)>,
    http: Option<reqwest::Client>,
    /// The e-mail channel with its name (`email (HOST:PORT)`).
    email: Option<(String, mail::Email)>,
}

/// What one channel did with one alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The channel: `email (HOST:PORT)` or `webhook N (ORIGIN)`.
    pub channel: String,
    /// How long the attempt took.
    pub took: Duration,
    /// `Err` says why it was not delivered (never with a secret).
    pub result: Result<(), String>,
}

impl Alerter {
    /// The channels of `[alerts]`. A channel that cannot be set up (an unreadable
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
            Ok(m) => Some((format!("email ({})", m.target), m)),
            Err(why) => {
                // Only the origin: the URL's userinfo may hold a password.
                let smtp = url_origin(&e.smtp_url);
                tracing::error!(smtp = %smtp, "e-mail alerts disabled: {why}");
                None
            }
        });
        let webhooks = if http.is_some() {
            alerts
                .webhooks
                .iter()
                .enumerate()
                .map(|(i, h)| (webhook::target(i, h.url.expose()), h.clone()))
                .collect()
        } else {
            Vec::new()
        };
        Alerter {
            inner: Arc::new(Inner {
                webhooks,
                http,
                email,
            }),
        }
    }

    /// The channels' names, in order: the e-mail first, then the webhooks.
    pub fn channels(&self) -> Vec<String> {
        let email = self.inner.email.iter().map(|(n, _)| n.clone());
        email
            .chain(self.inner.webhooks.iter().map(|(n, _)| n.clone()))
            .collect()
    }

    /// `alert` rendered for each channel, as the queue stores and sends it.
    pub(crate) fn render(&self, alert: &Alert, vantage: &str) -> Vec<NewAlert> {
        let event = serde_json::to_value(&alert.event)
            .ok()
            .and_then(|v| v.get("event").and_then(|e| e.as_str().map(str::to_owned)))
            .unwrap_or_default();
        let mut out = Vec::new();
        if let Some((name, _)) = &self.inner.email {
            let m = render::mail(alert, vantage);
            out.push(NewAlert {
                channel: name.clone(),
                key: alert.key.clone(),
                event: event.clone(),
                raised_at: alert.raised_at,
                subject: Some(m.subject),
                body: m.text,
                html: m.html,
            });
        }
        if !self.inner.webhooks.is_empty() {
            let body = render::body(alert, vantage);
            for (name, _) in &self.inner.webhooks {
                out.push(NewAlert {
                    channel: name.clone(),
                    key: alert.key.clone(),
                    event: event.clone(),
                    raised_at: alert.raised_at,
                    subject: None,
                    body: body.clone(),
                    html: None,
                });
            }
        }
        out
    }

    /// The longest one attempt on `channel` may take: [`deliver::ATTEMPT_LIMIT`], or a
    /// webhook's own `timeout` plus 5 s when that is longer.
    pub(crate) fn attempt_limit(&self, channel: &str) -> Duration {
        self.inner
            .webhooks
            .iter()
            .find(|(n, _)| n == channel)
            .map_or(deliver::ATTEMPT_LIMIT, |(_, hook)| {
                deliver::ATTEMPT_LIMIT.max(hook.timeout + Duration::from_secs(5))
            })
    }

    /// One attempt to deliver `a` on its channel, at `now` (the instant a webhook's
    /// signature is computed for). The one place that calls the channels' send.
    pub(crate) async fn deliver(&self, a: &NewAlert, now: UtcMillis) -> Result<(), String> {
        if let Some((name, email)) = &self.inner.email
            && *name == a.channel
        {
            let m = render::Mail {
                subject: a.subject.clone().unwrap_or_default(),
                text: a.body.clone(),
                html: a.html.clone(),
            };
            return mail::send(email, &m).await;
        }
        if let Some(http) = &self.inner.http
            && let Some((_, hook)) = self.inner.webhooks.iter().find(|(n, _)| *n == a.channel)
        {
            return webhook::post(http, hook, &a.body, now).await;
        }
        Err(format!(
            "{} is no longer configured: nothing to send it through",
            a.channel
        ))
    }

    /// Sends `alert` through every channel now, one after the other, and says what
    /// each did. Nothing is stored: `slawatch alerts test` and tests use it; the
    /// daemon queues its alerts instead (`deliver`).
    pub async fn send_now(&self, alert_event: &Event, vantage: &str) -> Vec<Delivery> {
        let now = crate::probe::net::wall_clock_now();
        let alert = Alert::of_event(alert_event, now, crate::report::Lang::En);
        self.send_alert_now(&alert, vantage).await
    }

    /// [`Alerter::send_now`] for any alert.
    pub(crate) async fn send_alert_now(&self, alert: &Alert, vantage: &str) -> Vec<Delivery> {
        let mut out = Vec::new();
        for a in self.render(alert, vantage) {
            let t0 = Instant::now();
            let limit = self.attempt_limit(&a.channel);
            let result = tokio::time::timeout(limit, self.deliver(&a, alert.raised_at))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")));
            out.push(Delivery {
                channel: a.channel,
                took: t0.elapsed(),
                result,
            });
        }
        out
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
        let subject = |e: &Event| {
            let alert = Alert::of_event(e, UtcMillis(0), crate::report::Lang::En);
            render::mail(&alert, "fra-1").subject
        };
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
