//! Shared vocabulary: instants, check results and their classification.
//!
//! Everything here is plain data. Probes produce [`Check`]s, the store keeps them,
//! the outage logic and the SLA engine read them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// An instant: integer milliseconds since the Unix epoch, UTC.
///
/// All stored instants have this precision (DESIGN.md, "Measurement rules").
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UtcMillis(pub i64);

impl UtcMillis {
    /// Converts from a `jiff::Timestamp`, truncating below the millisecond.
    pub(crate) fn from_timestamp(ts: jiff::Timestamp) -> Self {
        UtcMillis(ts.as_millisecond())
    }

    /// Converts to a `jiff::Timestamp`.
    ///
    /// # Panics
    /// Never for instants between years -9999 and 9999, which is every instant slawatch stores.
    pub(crate) fn to_timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::MIN)
    }
}

impl fmt::Display for UtcMillis {
    /// RFC 3339 in UTC with millisecond precision, e.g. `2024-04-03T10:15:30.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ts = self.to_timestamp();
        write!(f, "{ts:.3}")
    }
}

/// The verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The service answered as a user would expect.
    Up,
    /// The service failed the check; `Check::class` says how.
    Down,
    /// slawatch could not judge (its own fault, e.g. the machine was off line).
    Unknown,
}

impl Status {
    /// The stable lower-case name used in the database, reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Down => "down",
            Status::Unknown => "unknown",
        }
    }

    /// Parses [`Status::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "up" => Status::Up,
            "down" => Status::Down,
            "unknown" => Status::Unknown,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a check failed (or, for `Slow`, a flag on an `up` check). CONFIG.md fixes the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// Name resolution failed.
    Dns,
    /// The connection was refused or reset before the service answered.
    Refused,
    /// A step did not finish within its timeout or the check's deadline.
    Timeout,
    /// The TLS handshake failed, or STARTTLS was required and not offered.
    Tls,
    /// The certificate is expired, not yet valid, untrusted or for another name.
    Certificate,
    /// The peer spoke, but not the protocol (garbage, overlong lines, bad replies).
    Protocol,
    /// Login refused.
    Auth,
    /// An unexpected HTTP status or DNS rcode.
    Status,
    /// The answer's content did not match (keyword, regex, DNS records).
    Content,
    /// A mail round trip did not arrive in time.
    Delivery,
    /// Up, but slower than `max_response_time`.
    Slow,
    /// The check could not be judged.
    Unknown,
}

impl ErrorClass {
    /// Every class, in a stable order.
    pub(crate) const ALL: [ErrorClass; 12] = [
        ErrorClass::Dns,
        ErrorClass::Refused,
        ErrorClass::Timeout,
        ErrorClass::Tls,
        ErrorClass::Certificate,
        ErrorClass::Protocol,
        ErrorClass::Auth,
        ErrorClass::Status,
        ErrorClass::Content,
        ErrorClass::Delivery,
        ErrorClass::Slow,
        ErrorClass::Unknown,
    ];

    /// The stable lower-case name used in the database, reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Dns => "dns",
            ErrorClass::Refused => "refused",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Tls => "tls",
            ErrorClass::Certificate => "certificate",
            ErrorClass::Protocol => "protocol",
            ErrorClass::Auth => "auth",
            ErrorClass::Status => "status",
            ErrorClass::Content => "content",
            ErrorClass::Delivery => "delivery",
            ErrorClass::Slow => "slow",
            ErrorClass::Unknown => "unknown",
        }
    }

    /// The status of a check that failed with this class: `unknown` for
    /// [`ErrorClass::Unknown`] (slawatch could not judge), `down` for every other.
    pub fn status(self) -> Status {
        match self {
            ErrorClass::Unknown => Status::Unknown,
            _ => Status::Down,
        }
    }

    /// Parses [`ErrorClass::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long each phase of a check took. A phase that did not happen is `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    /// Name resolution.
    #[serde(with = "opt_ms")]
    pub resolve: Option<Duration>,
    /// TCP connect.
    #[serde(with = "opt_ms")]
    pub connect: Option<Duration>,
    /// TLS handshake (implicit or after STARTTLS).
    #[serde(with = "opt_ms")]
    pub tls: Option<Duration>,
    /// First byte of the HTTP response, or the greeting / banner of a mail server.
    #[serde(with = "opt_ms")]
    pub first_byte: Option<Duration>,
    /// Authentication.
    #[serde(with = "opt_ms")]
    pub login: Option<Duration>,
    /// The whole check.
    #[serde(with = "opt_ms")]
    pub total: Option<Duration>,
}

/// The result of one check of one probe. Probes never fail: failure is a `Check` with
/// `status = Down` and a class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The probe's unique name from `probes.toml`.
    pub probe: String,
    /// When the check started.
    pub started_at: UtcMillis,
    /// The verdict.
    pub status: Status,
    /// Why it is down; `Slow` may flag an `up` check.
    pub class: Option<ErrorClass>,
    /// A short human-readable detail ("HTTP 500", "connection refused", ...). Never a secret.
    pub detail: String,
    /// Phase timings.
    pub phases: Phases,
    /// The earliest `notAfter` of the peer's certificate chain, when TLS was used.
    pub cert_not_after: Option<UtcMillis>,
}

/// Serialises `Option<Duration>` as integer milliseconds (or null).
mod opt_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ErrorClass::ALL {
            assert_eq!(ErrorClass::parse(c.as_str()), Some(c));
        }
        for s in [Status::Up, Status::Down, Status::Unknown] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(ErrorClass::parse("nope"), None);
    }

    #[test]
    fn instants_print_as_rfc3339_millis() {
        assert_eq!(
            UtcMillis(1_712_139_330_000).to_string(),
            "2024-04-03T10:15:30.000Z"
        );
    }

    #[test]
    fn phases_serialise_as_millis() {
        let p = Phases {
            connect: Some(Duration::from_micros(1500)),
            ..Phases::default()
        };
        let v = serde_json::to_value(p).unwrap();
        assert_eq!(v["connect"], 1);
        assert!(v["tls"].is_null());
    }
}
