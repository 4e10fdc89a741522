//! The webhook channel: one signed `POST` of the alert's JSON body to a
//! `[[alerts.webhook]]`.
//!
//! # Signature and replay (documented for receivers in `docs/webhooks.md`)
//!
//! Every request carries `X-Slawatch-Timestamp: <unix seconds>`, the time of this
//! attempt (a retry gets a fresh one). With a `secret_env`/`secret_file`, it also
//! carries `X-Slawatch-Signature: sha256=<hex>`, the lower-case hex HMAC-SHA256,
//! keyed with the secret's bytes, of `<timestamp>.<body>` (the header's value, a
//! full stop, the body's exact bytes). A receiver recomputes it, compares in
//! constant time, and refuses a timestamp further than its tolerance (5 minutes
//! suggested) from its own clock: a captured request replayed later is refused for
//! its old timestamp, and a new timestamp breaks the signature.
//!
//! The secret is only ever an HMAC key here: never in a header, a log, an error or
//! the database (the queue stores the body; the signature is made at send time).

use crate::config::{Webhook, url_origin};
use crate::model::UtcMillis;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// The header with the attempt's time, in Unix seconds.
pub(crate) const TIMESTAMP_HEADER: &str = "X-Slawatch-Timestamp";
/// The header with `sha256=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub(crate) const SIGNATURE_HEADER: &str = "X-Slawatch-Signature";

/// `webhook 1 (https://hooks.example.test)`: numbered from 1 in the configuration's
/// order, and only the origin, since a webhook URL's path often is its token.
pub(crate) fn target(i: usize, url: &str) -> String {
    format!("webhook {} ({})", i + 1, url_origin(url))
}

/// The `X-Slawatch-Signature` value for `body` sent at Unix second `timestamp`:
/// `sha256=` and the lower-case hex of HMAC-SHA256(`secret`, `"<timestamp>.<body>"`).
#[expect(
    clippy::expect_used,
    reason = "HMAC takes a key of any length (a longer one is hashed first): new_from_slice cannot fail"
)]
pub(crate) fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 2 * tag.len());
    out.push_str("sha256=");
    for b in tag {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Posts `body` to `hook` at `now`: the timestamp header, the signature when the
/// hook has a secret, the configured headers, within the hook's `timeout`. Any 2xx
/// is a success. The error never holds the URL, a header value or the secret.
pub(crate) async fn post(
    http: &reqwest::Client,
    hook: &Webhook,
    body: &str,
    now: UtcMillis,
) -> Result<(), String> {
    let timestamp = now.0.div_euclid(1000);
    let mut req = http
        .post(hook.url.expose())
        .timeout(hook.timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, timestamp.to_string());
    if let Some(secret) = &hook.secret {
        req = req.header(
            SIGNATURE_HEADER,
            signature(secret.expose().as_bytes(), timestamp, body),
        );
    }
    for (k, v) in &hook.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.body(body.to_owned()).send().await.map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() {
        // The value of
        // printf '%s' '1712139330.{"event":"test"}' | openssl dgst -sha256 -hmac Jefe
        let sig = signature(b"Jefe", 1_712_139_330, "{\"event\":\"test\"}");
        assert_eq!(sig.len(), 7 + 64);
        assert!(sig.starts_with("sha256="));
        assert_eq!(
            sig,
            "sha256=14ca1ac80efe1c3dfd0e1693fab5a173850ab8d3699937fdf3be6282152f8fff"
        );
    }
}
