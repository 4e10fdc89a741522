//! How an alert reads: the e-mail's subject, plain text and HTML, in the alert's
//! language; the webhook's JSON body.
//!
//! Stub (issue 17 in progress): English subjects, the JSON's fields as text, no HTML.

use super::{Alert, AlertEvent};

/// One e-mail, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mail {
    /// `[slawatch] DOWN shop-site (timeout)`: a person can filter on it.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part; `None` sends plain text only.
    pub html: Option<String>,
}

/// The e-mail for `alert`.
pub(crate) fn mail(alert: &Alert, vantage: &str) -> Mail {
    let subject = match &alert.event {
        AlertEvent::Down { outage } => {
            super::subject(&crate::outage::Event::Opened(outage.clone()))
        }
        AlertEvent::Up { outage } => super::subject(&crate::outage::Event::Closed(outage.clone())),
        other => format!("[slawatch] {}", body_value(other, vantage)["event"]),
    };
    Mail {
        subject,
        text: text(&body_value(&alert.event, vantage)),
        html: None,
    }
}

/// The webhook's JSON body for `alert`.
pub(crate) fn body(alert: &Alert, vantage: &str) -> String {
    let mut v = body_value(&alert.event, vantage);
    if let Some(m) = v.as_object_mut() {
        m.insert("key".into(), alert.key.clone().into());
    }
    v.to_string()
}

fn body_value(event: &AlertEvent, vantage: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(event).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("vantage".into(), vantage.into());
    }
    v
}

/// The plain-text body: the payload's fields, one `name: value` per line.
fn text(payload: &serde_json::Value) -> String {
    let mut out = String::new();
    if let Some(map) = payload.as_object() {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            out.push_str(&format!("{k}: {v}\n"));
        }
    }
    out
}
