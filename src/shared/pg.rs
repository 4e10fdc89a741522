//! Connecting to the shared PostgreSQL: the URL of `[shared] url`, the password
//! from `password_env` / `password_file`, TLS through rustls (the system's roots
//! plus `ca_file`), and the schema migrated by refinery from `migrations/postgres/`.
//!
//! TLS: `sslmode=disable` in the URL turns it off (a Unix socket, a loopback test
//! server); anything else, and no `sslmode` at all, *requires* TLS with a verified
//! certificate: evidence and the password never cross a network in clear.

use crate::config::{SharedSettings, url_origin};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Why the shared store could not be reached or used; the message names the
/// server by its origin only (never a password).
#[derive(Debug, thiserror::Error)]
#[error("shared store {origin}: {message}")]
pub struct SharedError {
    /// `postgres://HOST:PORT` of `[shared] url`.
    pub origin: String,
    /// What failed and what to do.
    pub message: String,
}

impl SharedError {
    /// An error about the store at `settings`.
    pub fn new(settings: &SharedSettings, message: impl Into<String>) -> SharedError {
        SharedError {
            origin: url_origin(&settings.url),
            message: message.into(),
        }
    }
}

/// The client configuration of `settings`: the URL's user, host, port and
/// database, the password set apart, TLS required unless the URL says
/// `sslmode=disable`.
///
/// # Errors
/// A URL tokio-postgres does not accept.
pub fn client_config(settings: &SharedSettings) -> Result<tokio_postgres::Config, SharedError> {
    let mut config = tokio_postgres::Config::from_str(&settings.url)
        .map_err(|e| SharedError::new(settings, format!("the URL does not parse: {e}")))?;
    if let Some(p) = &settings.password {
        config.password(p.expose());
    }
    if !settings.url.contains("sslmode=") {
        config.ssl_mode(SslMode::Require);
    } else if config.get_ssl_mode() == SslMode::Prefer {
        // `prefer` would fall back to clear text on a server without TLS.
        config.ssl_mode(SslMode::Require);
    }
    if config.get_application_name().is_none() {
        config.application_name("slawatch");
    }
    Ok(config)
}

/// The rustls connector: the system's roots plus `ca_file`'s, certificate and host
/// name verified.
fn tls(settings: &SharedSettings) -> Result<tokio_postgres_rustls::MakeRustlsConnect, SharedError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let extra: Vec<CertificateDer<'static>> = match &settings.ca_file {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                SharedError::new(
                    settings,
                    format!("cannot read ca_file '{}': {e}", path.display()),
                )
            })?;
            CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    SharedError::new(
                        settings,
                        format!("ca_file '{}' is not PEM: {e}", path.display()),
                    )
                })?
        }
        None => Vec::new(),
    };
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .map_err(|e| SharedError::new(settings, format!("no usable root certificate: {e}")))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SharedError::new(settings, format!("TLS set-up: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Connects to the shared store and drives the connection on a spawned task.
///
/// # Errors
/// The server unreachable, TLS or authentication refused: the message says which,
/// with the server's origin and never the password.
pub async fn connect(settings: &SharedSettings) -> Result<tokio_postgres::Client, SharedError> {
    let config = client_config(settings)?;
    let (client, connection) = config
        .connect(tls(settings)?)
        .await
        .map_err(|e| SharedError::new(settings, describe(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %describe(&e), "shared store connection ended");
        }
    });
    Ok(client)
}

/// Connects and brings the schema up to date (refinery, `migrations/postgres/`).
///
/// # Errors
/// As [`connect`], or a migration the server refused.
pub async fn connect_and_migrate(
    settings: &SharedSettings,
) -> Result<tokio_postgres::Client, SharedError> {
    let mut client = connect(settings).await?;
    // One vantage migrates at a time: daemons started together against a new
    // database would otherwise each apply V1 and all but one fail (and log the store
    // lost). A session lock, released by the unlock or when the connection closes.
    let lock = |what: &str| format!("SELECT pg_{what}({MIGRATION_LOCK})");
    client
        .batch_execute(&lock("advisory_lock"))
        .await
        .map_err(|e| SharedError::new(settings, format!("locking the schema: {}", describe(&e))))?;
    let migrated = embedded::migrations::runner().run_async(&mut client).await;
    let unlocked = client.batch_execute(&lock("advisory_unlock")).await;
    migrated.map_err(|e| SharedError::new(settings, format!("migrating the schema: {e}")))?;
    unlocked.map_err(|e| {
        SharedError::new(settings, format!("unlocking the schema: {}", describe(&e)))
    })?;
    Ok(client)
}

/// The advisory lock key held while migrating ("slawatch" in ASCII).
const MIGRATION_LOCK: i64 = 0x736c_6177_6174_6368;

/// A tokio-postgres error in one line: the server's message when it sent one,
/// else the client's (connection refused, TLS, timeout).
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                source = inner.source();
            }
            s
        }
    }
}
