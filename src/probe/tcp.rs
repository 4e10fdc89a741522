//! The TCP probe: connect, optionally complete a TLS handshake, and report.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`]. Connect
//! errors are `refused` (refused, reset, aborted and any other error from the peer's
//! side) except "network unreachable", which means this machine has no route and is
//! `unknown`. An IP literal is used as is; only a name goes to
//! `tokio::net::lookup_host`, and a failed lookup is `dns`. The whole check runs
//! under one deadline (`timeout` from its start); each step waits until that same
//! deadline, so a timeout names the step it happened in.
//!
//! With TLS, the handshake is [`super::tls::handshake`]; the chain's earliest
//! `notAfter` goes into `cert_not_after`. An `up` check whose certificate expires
//! within `cert_expiry_warn` keeps `class = None` and says so in its detail
//! (see [`super::tls::expiry_warning`]).

use super::tls::{self, Failure, Verdict};
use crate::config::{TcpSpec, TlsSettings};
use crate::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The wall-clock instant a check starts: the one wall-clock read of a probe.
#[expect(
    clippy::disallowed_methods,
    reason = "a check is stamped with the wall clock when it starts"
)]
fn wall_clock_now() -> UtcMillis {
    UtcMillis::from_timestamp(jiff::Timestamp::now())
}

/// Checks one `[[tcp]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &TcpSpec, timeout: Duration) -> Check {
    let started_at = wall_clock_now();
    let start = Instant::now();
    let deadline = start + timeout;
    let mut phases = Phases::default();
    let outcome = tokio::time::timeout_at(deadline, run(spec, deadline, started_at, &mut phases))
        .await
        .unwrap_or_else(|_| Err(Failure::new(ErrorClass::Timeout, timeout_detail(timeout))));
    phases.total = Some(start.elapsed());
    let (status, class, detail, cert_not_after) = match outcome {
        Ok((detail, not_after)) => (Status::Up, None, detail, not_after),
        Err(f) => (Status::Down, Some(f.class), f.detail, f.cert_not_after),
    };
    Check {
        probe: name.to_owned(),
        started_at,
        status,
        class,
        detail,
        phases,
        cert_not_after,
    }
}

fn timeout_detail(timeout: Duration) -> String {
    format!("no answer within {} ms", timeout.as_millis())
}

/// `Ok((detail, cert_not_after))` when up.
type StepResult = Result<(String, Option<UtcMillis>), Failure>;

async fn run(
    spec: &TcpSpec,
    deadline: Instant,
    started_at: UtcMillis,
    phases: &mut Phases,
) -> StepResult {
    let addrs = resolve(&spec.host, spec.port, phases).await?;
    let t = Instant::now();
    let stream = connect(&addrs, deadline).await;
    phases.connect = Some(t.elapsed());
    let stream = stream?;
    let Some(settings) = &spec.tls else {
        return Ok(("connected".to_owned(), None));
    };
    let name = settings.server_name.as_deref().unwrap_or(&spec.host);
    let t = Instant::now();
    let result = tls::handshake(stream, name, settings, deadline).await;
    // The handshake's own duration excludes reading ca_file and the system roots;
    // a failed handshake only has the whole step's time.
    phases.tls = Some(result.as_ref().map_or_else(|_| t.elapsed(), |o| o.duration));
    let outcome = result?;
    Ok((
        tls_detail(
            &outcome.verdict,
            outcome.cert_not_after,
            started_at,
            settings,
        ),
        outcome.cert_not_after,
    ))
}

/// The detail of an `up` TLS check: "TLS ok", plus an unverified verdict and an expiry flag.
fn tls_detail(
    verdict: &Verdict,
    not_after: Option<UtcMillis>,
    now: UtcMillis,
    settings: &TlsSettings,
) -> String {
    let mut parts = vec!["TLS ok".to_owned()];
    if *verdict != Verdict::Ok {
        parts.push(format!("not verified: {verdict}"));
    }
    if let Some(warning) =
        not_after.and_then(|na| tls::expiry_warning(na, now, settings.cert_expiry_warn))
        && !matches!(verdict, Verdict::Expired(_))
    {
        parts.push(warning);
    }
    parts.join("; ")
}

async fn resolve(host: &str, port: u16, phases: &mut Phases) -> Result<Vec<SocketAddr>, Failure> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let t = Instant::now();
    let result = tokio::net::lookup_host((host, port)).await;
    phases.resolve = Some(t.elapsed());
    match result {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            if addrs.is_empty() {
                Err(Failure::new(
                    ErrorClass::Dns,
                    format!("'{host}' has no address"),
                ))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(Failure::new(
            ErrorClass::Dns,
            format!("cannot resolve '{host}': {e}"),
        )),
    }
}

/// Tries each address in order; the last failure is reported.
async fn connect(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, Failure> {
    let mut last = Failure::new(ErrorClass::Unknown, "no address to connect to");
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = connect_failure(*addr, &e),
            Err(_) => {
                return Err(Failure::new(
                    ErrorClass::Timeout,
                    format!("connect to {addr} timed out"),
                ));
            }
        }
    }
    Err(last)
}

fn connect_failure(addr: SocketAddr, e: &io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            Failure::new(ErrorClass::Refused, format!("connection to {addr} refused"))
        }
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            Failure::new(ErrorClass::Refused, format!("connection to {addr} reset"))
        }
        io::ErrorKind::TimedOut => {
            Failure::new(ErrorClass::Timeout, format!("connect to {addr} timed out"))
        }
        io::ErrorKind::NetworkUnreachable => Failure::new(
            ErrorClass::Unknown,
            format!("no route to the network of {addr}: {e}"),
        ),
        _ => Failure::new(ErrorClass::Refused, format!("connect to {addr}: {e}")),
    }
}
