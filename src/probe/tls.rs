//! The TLS client step every probe shares: handshake, certificate verdict, chain expiry.
//!
//! # Never abort just to learn the certificate is bad
//!
//! The real verifier (rustls-platform-verifier: the system's roots plus the
//! `ca_file` anchor, webpki underneath) is wrapped in a `RecordingVerifier` that
//! stores its [`Verdict`] before answering rustls:
//!
//! - `verify = true`: a bad certificate fails the handshake, and the stored verdict
//!   turns that failure into [`ErrorClass::Certificate`] with a short detail
//!   ("certificate expired at ...", "unknown issuer", "name mismatch") instead of
//!   the generic [`ErrorClass::Tls`].
//! - `verify = false`: the handshake continues whatever the verdict, and the verdict
//!   and the chain's expiry are still reported in the [`TlsInfo`].
//!
//! Handshake signatures are always checked with the provider's algorithms, so a
//! peer that does not hold the certificate's key still fails (as `Tls`).
//!
//! # Set up once
//!
//! One `Arc<ClientConfig>` per distinct (`ca_file` content, `verify`), built at the
//! first check that needs it and shared by every later one (`client_config`); the
//! verifier over the system roots inside it is shared between the two `verify`
//! values. The server name is not part of the key: it is given per connection (and
//! sent as SNI, which rustls leaves out for an IP literal).
//!
//! The verdict belongs to one connection, and rustls gives a shared verifier no way
//! to tell connections apart. So the handshake runs inside a task-local slot
//! (`SEEN`, like `net`'s resolver scope): rustls verifies synchronously while the
//! handshake future is polled, so the verifier writes into the slot of the
//! handshake that called it, and concurrent handshakes never see each other's.
//!
//! # Verified once per chain
//!
//! Each `RecordingVerifier` (one per trust set and `verify`) remembers the chains
//! its real verifier found good, keyed by the SHA-256 of the server name, the
//! stapled OCSP response and every certificate's bytes in order, with the chain's
//! validity window (the latest `notBefore`, the earliest `notAfter`). A later
//! handshake that presents the same chain for the same name is answered from
//! there if the check's time is inside the window; otherwise (or for any chain
//! not seen, or not good, or with a certificate that does not parse) the real
//! verifier runs. The verdict and `notAfter` recorded are the same as a full
//! verification's: webpki's answer depends on nothing else (no revocation lists
//! are configured), and trust sets live in separate verifiers. The handshake
//! signature, which proves the peer holds the certificate's key, is verified by
//! rustls at every handshake. At most [`MAX_VERIFIED`] chains are kept per
//! verifier; past that the cache starts again empty.
//!
//! # No session resumption
//!
//! Every check measures a full handshake: a resumed one skips the certificate (no
//! chain sent, nothing verified, no `notAfter`), costs the server less and would
//! make the TLS phase of one check incomparable with the next. A shared config
//! would otherwise resume across checks (rustls' default session store lives in
//! the config), so resumption is disabled in it.
//!
//! # Expiry warnings
//!
//! [`expiry_warning`] is how a certificate close to its end is flagged: the check
//! stays `up` with `class = None` (the `Slow` class is for response time) and the
//! detail says "certificate expires in 5 d". It is a pure function of the chain's
//! earliest `notAfter`, `now` and `cert_expiry_warn`.

use super::Failure;
use crate::config::TlsSettings;
use crate::model::{ErrorClass, UtcMillis};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::Resumption;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// What the certificate verifier concluded about the peer's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Trusted, valid now, and for the server name.
    Ok,
    /// A certificate of the chain is past its `notAfter` (when known).
    Expired(Option<UtcMillis>),
    /// A certificate of the chain is before its `notBefore`.
    NotYetValid,
    /// The chain does not lead to a trusted root.
    UnknownIssuer,
    /// The certificate is not for the server name.
    NameMismatch,
    /// Any other certificate problem (bad encoding, revoked, bad signature, purpose).
    Other(String),
}

impl Verdict {
    fn from_error(err: &rustls::Error) -> Self {
        match err {
            rustls::Error::InvalidCertificate(e) => match e {
                CertificateError::Expired => Verdict::Expired(None),
                CertificateError::ExpiredContext { not_after, .. } => {
                    Verdict::Expired(Some(unix_to_millis(*not_after)))
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Verdict::NotYetValid
                }
                CertificateError::UnknownIssuer => Verdict::UnknownIssuer,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => Verdict::NameMismatch,
                other => Verdict::Other(format!("{other:?}")),
            },
            other => Verdict::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Ok => f.write_str("certificate ok"),
            Verdict::Expired(Some(at)) => write!(f, "certificate expired at {at}"),
            Verdict::Expired(None) => f.write_str("certificate expired"),
            Verdict::NotYetValid => f.write_str("certificate not yet valid"),
            Verdict::UnknownIssuer => f.write_str("unknown issuer"),
            Verdict::NameMismatch => f.write_str("name mismatch"),
            Verdict::Other(s) => write!(f, "invalid certificate: {s}"),
        }
    }
}

fn unix_to_millis(t: UnixTime) -> UtcMillis {
    UtcMillis(
        i64::try_from(t.as_secs())
            .unwrap_or(i64::MAX)
            .saturating_mul(1000),
    )
}

/// What a completed handshake established (the stream itself is returned beside it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsInfo {
    /// How long the handshake took.
    pub duration: Duration,
    /// The earliest `notAfter` of every certificate the peer sent (`None` if none parsed).
    pub cert_not_after: Option<UtcMillis>,
    /// The verifier's verdict; not `Ok` only when `verify = false`.
    pub verdict: Verdict,
}

/// What the verifier saw: its verdict and the chain's earliest `notAfter`.
#[derive(Debug)]
struct Seen {
    verdict: Verdict,
    not_after: Option<UtcMillis>,
}

tokio::task_local! {
    /// The running handshake's slot for what its verifier saw (see the module doc).
    static SEEN: Cell<Option<Seen>>;
}

/// Wraps the real verifier and stores its verdict instead of (or before) failing.
///
/// Shared by every handshake of one trust set: it keeps no per-connection state
/// and writes what it saw into the calling handshake's task-local `SEEN` slot.
#[derive(Debug)]
struct RecordingVerifier {
    /// `None` when no trust anchor at all could be loaded: every chain is `UnknownIssuer`.
    inner: Option<Arc<dyn ServerCertVerifier>>,
    provider: Arc<CryptoProvider>,
    enforce: bool,
    /// Chains `inner` found good, by [`chain_key`]: see "Verified once per chain".
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

/// A chain the real verifier found good, and the validity window of every
/// certificate in it (seconds since the epoch).
#[derive(Clone, Copy, Debug)]
struct Verified {
    /// The latest `notBefore` of the chain.
    not_before: i64,
    /// The earliest `notAfter` of the chain.
    not_after: i64,
}

impl Verified {
    /// The window of `chain`, or `None` when a certificate does not parse (such a
    /// chain is never cached: it is verified in full at every check).
    fn of(chain: &[&CertificateDer<'_>]) -> Option<Verified> {
        let mut window = Verified {
            not_before: i64::MIN,
            not_after: i64::MAX,
        };
        for der in chain {
            let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
            let validity = cert.validity();
            window.not_before = window.not_before.max(validity.not_before.timestamp());
            window.not_after = window.not_after.min(validity.not_after.timestamp());
        }
        Some(window)
    }

    /// Whether every certificate of the chain is valid at `now` (webpki's rule:
    /// `notBefore <= now <= notAfter`).
    fn valid_at(&self, now: UnixTime) -> bool {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        self.not_before <= now && now <= self.not_after
    }

    fn not_after_millis(&self) -> UtcMillis {
        UtcMillis(self.not_after.saturating_mul(1000))
    }
}

/// At most this many verified chains per trust set; past it the cache starts again
/// empty (chains are verified in full again) instead of growing forever.
const MAX_VERIFIED: usize = 4096;

/// What a verification depends on besides the trust set and the time: the server
/// name, every certificate's bytes (in order) and the stapled OCSP response.
fn chain_key(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    ocsp_response: &[u8],
) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    part(server_name.to_str().as_bytes());
    part(ocsp_response);
    part(end_entity);
    for der in intermediates {
        part(der);
    }
    hash.finalize().into()
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let key = chain_key(end_entity, intermediates, server_name, ocsp_response);
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .copied()
            .filter(|v| v.valid_at(now));
        if let Some(v) = cached {
            let seen = Seen {
                verdict: Verdict::Ok,
                not_after: Some(v.not_after_millis()),
            };
            let _ = SEEN.try_with(|slot| slot.set(Some(seen)));
            return Ok(ServerCertVerified::assertion());
        }
        let result = match &self.inner {
            Some(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        };
        let verdict = match &result {
            Ok(_) => Verdict::Ok,
            Err(e) => Verdict::from_error(e),
        };
        let mut chain = Vec::with_capacity(intermediates.len() + 1);
        chain.push(end_entity);
        chain.extend(intermediates.iter());
        let window = Verified::of(&chain);
        let not_after = match window {
            Some(w) => Some(w.not_after_millis()),
            // A certificate that does not parse: the earliest of those that do.
            None => earliest_not_after(chain.iter().copied()),
        };
        if let (Ok(_), Some(window)) = (&result, window)
            && window.valid_at(now)
        {
            let mut map = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= MAX_VERIFIED {
                map.clear();
            }
            map.insert(key, window);
        }
        // Outside a handshake's scope (never, in `handshake`) there is no one to tell.
        let _ = SEEN.try_with(|slot| slot.set(Some(Seen { verdict, not_after })));
        if self.enforce {
            result
        } else {
            Ok(ServerCertVerified::assertion())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Reads a `ca_file`'s bytes.
///
/// A blocking read on the runtime's thread: a `ca_file` is a few kilobytes on a
/// local disk, read at every TLS check, and handing that to the blocking pool
/// (`tokio::fs`) cost more CPU than the read itself.
fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::new(
            ErrorClass::Unknown,
            format!("cannot read ca_file '{}': {e}", path.display()),
        )
    })
}

/// Every certificate in a `ca_file`'s bytes (at least one).
fn parse_ca_file(
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(bytes).collect();
    match certs {
        Ok(c) if !c.is_empty() => Ok(c),
        _ => Err(Failure::new(
            ErrorClass::Unknown,
            format!("ca_file '{}' holds no PEM certificate", path.display()),
        )),
    }
}

/// The crypto provider, built once.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// A verifier over the system roots plus one set of extra roots; `None` when no
/// trust anchor at all could be loaded.
type CachedVerifier = Option<Arc<dyn ServerCertVerifier>>;

/// A trust set: the SHA-256 of its `ca_file`'s bytes (`None`: no `ca_file`, the
/// system's roots alone).
type TrustKey = Option<[u8; 32]>;

/// At most this many entries per cache. A configuration names a handful of trust
/// sets; only a `ca_file` edited again and again makes new ones, and past the bound
/// the cache starts again empty (rebuilt on demand) instead of growing forever.
const MAX_CACHED: usize = 64;

/// Verifiers by trust set. Building one parses every system root (about 150
/// certificates): done once per distinct trust set, not once per check. Roots
/// added to the system store take effect when the daemon restarts.
static VERIFIERS: OnceLock<Mutex<HashMap<TrustKey, CachedVerifier>>> = OnceLock::new();

/// A client configuration's key: its trust set and `verify`.
type ConfigKey = (TrustKey, bool);

/// Client configurations by trust set and `verify`: see "Set up once".
static CONFIGS: OnceLock<Mutex<HashMap<ConfigKey, Arc<rustls::ClientConfig>>>> = OnceLock::new();

/// The value cached under `key`: the one already there (a concurrent first check
/// built it too), else `value`, inserted within [`MAX_CACHED`].
fn cache_insert<K: std::hash::Hash + Eq, V: Clone>(
    cache: &Mutex<HashMap<K, V>>,
    key: K,
    value: V,
) -> V {
    let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if map.len() >= MAX_CACHED && !map.contains_key(&key) {
        map.clear();
    }
    map.entry(key).or_insert(value).clone()
}

/// The value cached under `key`, if any.
fn cache_get<K: std::hash::Hash + Eq, V: Clone>(
    cache: &Mutex<HashMap<K, V>>,
    key: &K,
) -> Option<V> {
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
        .cloned()
}

/// The shared verifier for trust set `key`, whose `ca_file` holds `extra`.
fn verifier(key: TrustKey, extra: Vec<CertificateDer<'static>>) -> Result<CachedVerifier, Failure> {
    let cache = VERIFIERS.get_or_init(Mutex::default);
    if let Some(v) = cache_get(cache, &key) {
        return Ok(v);
    }
    let has_extra = !extra.is_empty();
    let built = match rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider()) {
        Ok(v) => Some(Arc::new(v) as Arc<dyn ServerCertVerifier>),
        // With `ca_file` roots the only failure is a root rustls cannot use.
        Err(e) if has_extra => {
            return Err(Failure::new(
                ErrorClass::Unknown,
                format!("unusable ca_file certificate: {e}"),
            ));
        }
        // No root at all on this system: nothing is trusted ("unknown issuer").
        Err(_) => None,
    };
    Ok(cache_insert(cache, key, built))
}

/// The shared client configuration for `settings` (see "Set up once").
///
/// The `ca_file` is read at every check and the configuration is keyed by its
/// content, so an edited, replaced or vanished file takes effect at the next check
/// (a configuration reload needs nothing more); it is parsed only when its content
/// is new.
async fn client_config(settings: &TlsSettings) -> Result<Arc<rustls::ClientConfig>, Failure> {
    let ca = match &settings.ca_file {
        Some(path) => Some((path, read_ca_file(path)?)),
        None => None,
    };
    let trust: TrustKey = ca.as_ref().map(|(_, bytes)| Sha256::digest(bytes).into());
    let cache = CONFIGS.get_or_init(Mutex::default);
    if let Some(config) = cache_get(cache, &(trust, settings.verify)) {
        return Ok(config);
    }
    let extra = match &ca {
        Some((path, bytes)) => parse_ca_file(path, bytes)?,
        None => Vec::new(),
    };
    let config = Arc::new(build_config(verifier(trust, extra)?, settings.verify)?);
    Ok(cache_insert(cache, (trust, settings.verify), config))
}

/// A client configuration over `inner` that fails bad chains when `enforce`, and
/// never resumes a session (see "No session resumption").
fn build_config(inner: CachedVerifier, enforce: bool) -> Result<rustls::ClientConfig, Failure> {
    let provider = provider();
    let verifier = RecordingVerifier {
        inner,
        provider: provider.clone(),
        enforce,
        verified: Mutex::default(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(ErrorClass::Unknown, format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    Ok(config)
}

/// The name to send as SNI and to verify: an IP literal becomes `ServerName::IpAddress`.
fn server_name(name: &str) -> Result<ServerName<'static>, Failure> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_owned())
        .map_err(|_| Failure::new(ErrorClass::Unknown, format!("invalid server name '{name}'")))
}

/// The earliest `notAfter` of `certs` (certificates that do not parse are skipped).
pub(crate) fn earliest_not_after<'a>(
    certs: impl IntoIterator<Item = &'a CertificateDer<'a>>,
) -> Option<UtcMillis> {
    certs
        .into_iter()
        .filter_map(|der| x509_parser::parse_x509_certificate(der).ok())
        .map(|(_, cert)| UtcMillis(cert.validity().not_after.timestamp().saturating_mul(1000)))
        .min()
}

/// Runs the TLS client handshake on `stream` for `server_name`, by `deadline`.
///
/// # Errors
/// `Timeout` past the deadline; `Certificate` when `verify = true` and the chain is
/// bad (the detail says why); `Tls` for any other handshake failure (alert, garbage,
/// closed connection); `Unknown` when the `ca_file` cannot be read.
pub(crate) async fn handshake(
    stream: TcpStream,
    server_name_str: &str,
    settings: &TlsSettings,
    deadline: Instant,
) -> Result<(TlsStream<TcpStream>, TlsInfo), Failure> {
    let name = server_name(server_name_str)?;
    let connector = TlsConnector::from(client_config(settings).await?);
    let start = Instant::now();
    let (result, seen) = SEEN
        .scope(Cell::new(None), async {
            let result = tokio::time::timeout_at(deadline, connector.connect(name, stream)).await;
            (result, SEEN.try_with(Cell::take).ok().flatten())
        })
        .await;
    let duration = start.elapsed();
    let seen_not_after = seen.as_ref().and_then(|s| s.not_after);
    let verdict = seen.map(|s| match s.verdict {
        Verdict::Expired(None) => Verdict::Expired(s.not_after),
        v => v,
    });
    let failure = |class, detail: String| Failure {
        class,
        detail,
        cert_not_after: seen_not_after,
    };
    match result {
        Err(_) => Err(failure(
            ErrorClass::Timeout,
            "no TLS handshake before the deadline".to_owned(),
        )),
        Ok(Err(e)) => match verdict {
            Some(v) if v != Verdict::Ok => Err(failure(ErrorClass::Certificate, v.to_string())),
            _ => Err(failure(
                ErrorClass::Tls,
                format!("TLS handshake failed: {e}"),
            )),
        },
        Ok(Ok(stream)) => {
            // The verifier saw the chain the peer sent; it is parsed again only
            // when no verifier ran.
            let cert_not_after = match seen_not_after {
                Some(at) => Some(at),
                None => earliest_not_after(stream.get_ref().1.peer_certificates().unwrap_or(&[])),
            };
            let verdict = match verdict {
                Some(Verdict::Expired(None)) => Verdict::Expired(cert_not_after),
                Some(v) => v,
                None => Verdict::Other("no certificate verified".to_owned()),
            };
            Ok((
                stream,
                TlsInfo {
                    duration,
                    cert_not_after,
                    verdict,
                },
            ))
        }
    }
}

/// Days in a [`Duration`]-like span of milliseconds, for the warning text.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const HOUR_MS: i64 = 60 * 60 * 1000;

/// The flag for a certificate close to expiry, or `None` when it is not.
///
/// `Some("certificate expires in 5 d")` (hours below a day) when `not_after` is less
/// than `warn` after `now`; `Some("certificate expired at ...")` when it is already
/// past. The check stays `up` with `class = None`; only the detail carries the flag.
pub(crate) fn expiry_warning(
    not_after: UtcMillis,
    now: UtcMillis,
    warn: Duration,
) -> Option<String> {
    let left = not_after.0.saturating_sub(now.0);
    if left <= 0 {
        return Some(format!("certificate expired at {not_after}"));
    }
    let warn_ms = i64::try_from(warn.as_millis()).unwrap_or(i64::MAX);
    if left >= warn_ms {
        return None;
    }
    Some(if left >= DAY_MS {
        format!("certificate expires in {} d", left / DAY_MS)
    } else {
        format!("certificate expires in {} h", left / HOUR_MS)
    })
}

impl TlsInfo {
    /// What an `up` check over TLS adds to its detail: the verdict when the chain
    /// was not verified (`verify = false`), and the flag of [`expiry_warning`].
    /// Empty when there is nothing to say.
    pub(crate) fn notes(&self, now: UtcMillis, settings: &TlsSettings) -> Vec<String> {
        let mut notes = Vec::new();
        if self.verdict != Verdict::Ok {
            notes.push(format!("not verified: {}", self.verdict));
        }
        if let Some(warning) = self
            .cert_not_after
            .and_then(|na| expiry_warning(na, now, settings.cert_expiry_warn))
            && !matches!(self.verdict, Verdict::Expired(_))
        {
            notes.push(warning);
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UtcMillis = UtcMillis(1_712_139_330_000);

    #[test]
    fn warning_inside_window_only() {
        let warn = Duration::from_secs(14 * 86_400);
        assert_eq!(
            expiry_warning(UtcMillis(NOW.0 + 5 * DAY_MS + 10), NOW, warn).as_deref(),
            Some("certificate expires in 5 d")
        );
        assert_eq!(
            expiry_warning(UtcMillis(NOW.0 + 3 * HOUR_MS), NOW, warn).as_deref(),
            Some("certificate expires in 3 h")
        );
        assert_eq!(
            expiry_warning(UtcMillis(NOW.0 + 14 * DAY_MS), NOW, warn),
            None
        );
        assert!(
            expiry_warning(UtcMillis(NOW.0 - 1), NOW, warn)
                .unwrap()
                .starts_with("certificate expired at 2024-04-03")
        );
        assert_eq!(
            expiry_warning(UtcMillis(NOW.0 + DAY_MS), NOW, Duration::ZERO),
            None
        );
    }

    #[test]
    fn one_verifier_per_trust_set() {
        let a = verifier(None, Vec::new()).unwrap();
        let b = verifier(None, Vec::new()).unwrap();
        match (a, b) {
            (Some(a), Some(b)) => assert!(Arc::ptr_eq(&a, &b)),
            (None, None) => {}
            other => panic!("the cache returned different verifiers: {other:?}"),
        }
    }

    /// A self-signed CA certificate, PEM, named `cn`.
    fn ca_pem(cn: &str) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.self_signed(&key).unwrap().pem()
    }

    fn settings(ca_file: Option<&std::path::Path>, verify: bool) -> TlsSettings {
        TlsSettings {
            verify,
            ca_file: ca_file.map(std::path::Path::to_path_buf),
            server_name: None,
            cert_expiry_warn: Duration::ZERO,
        }
    }

    async fn config(ca_file: Option<&std::path::Path>, verify: bool) -> Arc<rustls::ClientConfig> {
        client_config(&settings(ca_file, verify)).await.unwrap()
    }

    #[tokio::test]
    async fn one_config_per_trust_set_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.pem"), dir.path().join("b.pem"));
        let pem = ca_pem("slawatch test CA one");
        std::fs::write(&a, &pem).unwrap();
        std::fs::write(&b, &pem).unwrap();
        let first = config(Some(&a), true).await;
        assert!(Arc::ptr_eq(&first, &config(Some(&a), true).await));
        // The same content under another name is the same trust set.
        assert!(Arc::ptr_eq(&first, &config(Some(&b), true).await));
        assert!(!Arc::ptr_eq(&first, &config(Some(&a), false).await));
        assert!(!Arc::ptr_eq(&first, &config(None, true).await));
        assert!(Arc::ptr_eq(
            &config(None, false).await,
            &config(None, false).await
        ));
        // An edited file is a new trust set at the next check, a vanished one an error.
        std::fs::write(&a, ca_pem("slawatch test CA two")).unwrap();
        let edited = config(Some(&a), true).await;
        assert!(!Arc::ptr_eq(&first, &edited));
        assert!(Arc::ptr_eq(&edited, &config(Some(&a), true).await));
        std::fs::remove_file(&a).unwrap();
        let err = client_config(&settings(Some(&a), true)).await.unwrap_err();
        assert!(err.detail.starts_with("cannot read ca_file"), "{err:?}");
        std::fs::write(&a, "no certificate here\n").unwrap();
        let err = client_config(&settings(Some(&a), true)).await.unwrap_err();
        assert!(err.detail.ends_with("holds no PEM certificate"), "{err:?}");
    }

    #[tokio::test]
    async fn shared_configs_never_resume_a_session() {
        for verify in [true, false] {
            let resumption = format!("{:?}", config(None, verify).await.resumption);
            assert!(
                resumption.contains("NoClientSessionStorage") && resumption.contains("Disabled"),
                "{resumption}"
            );
        }
    }

    /// A verifier trusting a fresh root, the chain (leaf for `shop.example.test`,
    /// intermediate) it signed, and the leaf's `notAfter` (seconds).
    fn verifier_and_chain(enforce: bool) -> (RecordingVerifier, Vec<CertificateDer<'static>>, i64) {
        let day = Duration::from_secs(86_400);
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let (start, leaf_end, ca_end) = (1_700_000_000_u64, 1_800_000_000_u64, 1_900_000_000_u64);
        let params = |sans: Vec<String>, end: u64, ca: bool| {
            let mut p = rcgen::CertificateParams::new(sans).unwrap();
            p.not_before = epoch + Duration::from_secs(start) - day;
            p.not_after = epoch + Duration::from_secs(end);
            if ca {
                p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
                p.key_usages = vec![
                    rcgen::KeyUsagePurpose::KeyCertSign,
                    rcgen::KeyUsagePurpose::DigitalSignature,
                ];
            }
            p
        };
        let mut root_params = params(Vec::new(), ca_end, true);
        root_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "slawatch cache root");
        let root =
            rcgen::CertifiedIssuer::self_signed(root_params, rcgen::KeyPair::generate().unwrap())
                .unwrap();
        let mut mid_params = params(Vec::new(), ca_end, true);
        mid_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "slawatch cache intermediate");
        let mid = rcgen::CertifiedIssuer::signed_by(
            mid_params,
            rcgen::KeyPair::generate().unwrap(),
            &root,
        )
        .unwrap();
        let leaf = params(vec!["shop.example.test".to_owned()], leaf_end, false)
            .signed_by(&rcgen::KeyPair::generate().unwrap(), &mid)
            .unwrap();
        let inner = rustls_platform_verifier::Verifier::new_with_extra_roots(
            vec![root.der().clone()],
            provider(),
        )
        .unwrap();
        let verifier = RecordingVerifier {
            inner: Some(Arc::new(inner)),
            provider: provider(),
            enforce,
            verified: Mutex::default(),
        };
        (
            verifier,
            vec![leaf.der().clone(), mid.der().clone()],
            i64::try_from(leaf_end).unwrap(),
        )
    }

    /// What `v` answers and records for `chain` and `name` at `secs`.
    fn verify(
        v: &RecordingVerifier,
        chain: &[CertificateDer<'static>],
        name: &str,
        secs: u64,
    ) -> (bool, Option<Seen>) {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let now = UnixTime::since_unix_epoch(Duration::from_secs(secs));
        SEEN.sync_scope(Cell::new(None), || {
            let ok = v
                .verify_server_cert(&chain[0], &chain[1..], &name, &[], now)
                .is_ok();
            (ok, SEEN.with(Cell::take))
        })
    }

    #[test]
    fn a_verified_chain_is_cached_but_its_validity_is_checked_at_every_check() {
        let (v, chain, leaf_end) = verifier_and_chain(true);
        let (ok, seen) = verify(&v, &chain, "shop.example.test", 1_750_000_000);
        let seen = seen.unwrap();
        assert!(ok);
        assert_eq!(seen.verdict, Verdict::Ok);
        assert_eq!(seen.not_after, Some(UtcMillis(leaf_end * 1000)));
        assert_eq!(v.verified.lock().unwrap().len(), 1);
        // A verifier with no trust anchor at all but the same cache: the chain is
        // answered from the cache, with the same notAfter.
        let cached = RecordingVerifier {
            inner: None,
            provider: provider(),
            enforce: true,
            verified: Mutex::new(v.verified.lock().unwrap().clone()),
        };
        let (ok, seen) = verify(&cached, &chain, "shop.example.test", 1_750_000_001);
        assert!(ok);
        assert_eq!(seen.unwrap().not_after, Some(UtcMillis(leaf_end * 1000)));
        // Past the leaf's notAfter the cache does not answer: expired.
        let after = u64::try_from(leaf_end).unwrap() + 1;
        let (ok, seen) = verify(&v, &chain, "shop.example.test", after);
        assert!(!ok);
        assert_eq!(
            seen.unwrap().verdict,
            Verdict::Expired(Some(UtcMillis(leaf_end * 1000)))
        );
        let (ok, seen) = verify(&cached, &chain, "shop.example.test", after);
        assert!(!ok);
        assert_eq!(seen.unwrap().verdict, Verdict::UnknownIssuer);
        // Before the notBefore either.
        let (ok, seen) = verify(&v, &chain, "shop.example.test", 1_600_000_000);
        assert!(!ok);
        assert_eq!(seen.unwrap().verdict, Verdict::NotYetValid);
        // Another server name, or another chain, is another entry.
        let (ok, seen) = verify(&cached, &chain, "www.example.test", 1_750_000_000);
        assert!(!ok);
        assert_eq!(seen.unwrap().verdict, Verdict::UnknownIssuer);
        let (ok, seen) = verify(&v, &chain, "www.example.test", 1_750_000_000);
        assert!(!ok);
        assert_eq!(seen.unwrap().verdict, Verdict::NameMismatch);
        let (ok, _) = verify(&cached, &chain[..1], "shop.example.test", 1_750_000_000);
        assert!(
            !ok,
            "a chain without its intermediate is not the cached chain"
        );
        assert_eq!(
            v.verified.lock().unwrap().len(),
            1,
            "only good chains are kept"
        );
    }

    #[test]
    fn ip_literals_are_ip_server_names() {
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("mail.example.org"),
            Ok(ServerName::DnsName(_))
        ));
        assert!(server_name("not a name").is_err());
    }

    #[test]
    fn verdicts_classify_webpki_errors() {
        let e = rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(Duration::from_secs(2_000_000_000)),
            not_after: UnixTime::since_unix_epoch(Duration::from_secs(1_712_139_330)),
        });
        assert_eq!(
            Verdict::from_error(&e).to_string(),
            "certificate expired at 2024-04-03T10:15:30.000Z"
        );
        let e = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert_eq!(Verdict::from_error(&e).to_string(), "unknown issuer");
        let e = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert_eq!(Verdict::from_error(&e).to_string(), "name mismatch");
    }
}
