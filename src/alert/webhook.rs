//! The webhook channel: one `POST` of the alert's JSON body to a
//! `[[alerts.webhook]]`.

use crate::config::{Webhook, url_origin};

/// `webhook 1 (https://hooks.example.test)`: numbered from 1 in the configuration's
/// order, and only the origin, since a webhook URL's path often is its token.
pub(crate) fn target(i: usize, url: &str) -> String {
    format!("webhook {} ({})", i + 1, url_origin(url))
}

/// Posts `body` to `hook`; any 2xx is a success. The error never holds the URL.
pub(crate) async fn post(http: &reqwest::Client, hook: &Webhook, body: &str) -> Result<(), String> {
    let mut req = http
        .post(hook.url.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    for (k, v) in &hook.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().await.map_err(|e| {
        // reqwest's message names the URL; keep only the cause chain.
        let e = e.without_url();
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(c) = src {
            s.push_str(": ");
            s.push_str(&c.to_string());
            src = c.source();
        }
        s
    })?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", resp.status()))
    }
}
