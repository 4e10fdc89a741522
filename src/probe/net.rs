//! What every network probe shares: the check's clock and deadline, name
//! resolution, connecting, and turning the outcome into a [`Check`](crate::model::Check).
//!
//! A probe builds a [`super::Run`] when it starts (the one wall-clock read of a check),
//! runs its steps under `Run::deadline`, and hands the outcome to [`super::Run::finish`].
//! Each step waits at most until that same deadline, so a timeout names the step it
//! happened in, and the whole check can never outlive its `timeout`.

use super::Failure;
use crate::model::{ErrorClass, Phases, UtcMillis};
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The wall-clock instant a check starts: the one wall-clock read of a probe.
#[expect(
    clippy::disallowed_methods,
    reason = "a check is stamped with the wall clock when it starts"
)]
pub fn wall_clock_now() -> UtcMillis {
    UtcMillis::from_timestamp(jiff::Timestamp::now())
}

/// `host` without the brackets of an IPv6 literal (`[::1]` is `::1`).
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Where the probes look host names up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resolver {
    /// The system's resolver (getaddrinfo: `/etc/hosts`, `/etc/resolv.conf`), as the
    /// daemon uses it.
    #[default]
    System,
    /// One DNS server asked directly over UDP (A, then AAAA), with no retries: tests
    /// use it to have a real resolver they can kill, without the system's.
    Server(SocketAddr),
}

tokio::task_local! {
    static RESOLVER: Resolver;
}

/// Runs `f` with every name it looks up (its probes' hosts, `[[control]]` names)
/// going to `resolver`. Outside such a scope names go to the system's resolver.
pub(crate) async fn with_resolver<F: std::future::Future>(resolver: Resolver, f: F) -> F::Output {
    RESOLVER.scope(resolver, f).await
}

/// The resolver of the running task ([`with_resolver`]), else the system's.
pub(crate) fn current_resolver() -> Resolver {
    RESOLVER.try_with(|r| *r).unwrap_or_default()
}

/// The addresses of `host:port`. An IP literal is used as is (no lookup, no
/// `resolve` phase); only a name goes to the resolver ([`current_resolver`]), and a
/// failed lookup is `dns` (a fault of this machine while looking up, such as being
/// out of descriptors, is `unknown`).
///
/// # Errors
/// `Dns` when the name does not resolve or has no address.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    phases: &mut Phases,
) -> Result<Vec<SocketAddr>, Failure> {
    if let Ok(ip) = bare_host(host).parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let t = Instant::now();
    let result = match current_resolver() {
        Resolver::System => tokio::net::lookup_host((host, port))
            .await
            .map(Iterator::collect::<Vec<_>>),
        Resolver::Server(server) => super::dns::lookup(server, host).await.map(|ips| {
            ips.into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect()
        }),
    };
    phases.resolve = Some(t.elapsed());
    match result {
        Ok(addrs) => {
            if addrs.is_empty() {
                Err(Failure::new(
                    ErrorClass::Dns,
                    format!("'{host}' has no address"),
                ))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(
            local_failure(&format!("resolving '{host}'"), &e).unwrap_or_else(|| {
                Failure::new(ErrorClass::Dns, format!("cannot resolve '{host}': {e}"))
            }),
        ),
    }
}

/// Resolves `host:port` and connects to the first address that accepts, timing
/// both phases. The last failure is reported.
///
/// # Errors
/// `Dns`, `Refused` (refused, reset, any error from the peer's side), `Timeout`, and
/// `Unknown` for "network unreachable" (this machine has no route: not the
/// provider's fault) and every fault of this machine (see [`local_cause`]: out of
/// descriptors or memory, no local port, a local firewall).
pub(crate) async fn connect(
    host: &str,
    port: u16,
    deadline: Instant,
    phases: &mut Phases,
) -> Result<TcpStream, Failure> {
    let addrs = resolve(host, port, phases).await?;
    let t = Instant::now();
    let result = connect_any(&addrs, deadline).await;
    phases.connect = Some(t.elapsed());
    let stream = result?;
    // Probes write short commands and wait for each reply: Nagle would only add delay.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

async fn connect_any(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, Failure> {
    let mut last = Failure::new(ErrorClass::Unknown, "no address to connect to");
    for addr in addrs {
        // The deadline is caught here, not only by the check's runner: a
        // `[[control]]` check connects outside any runner, and the detail names the
        // address that did not answer.
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

/// The cause, when `e` is a fault of this machine rather than of the peer: out of
/// descriptors or memory, no local port, or a connect forbidden here (a local
/// firewall, a sandbox). Such a failure is `unknown`: it says nothing about the
/// service, so it must never be counted as the provider's downtime.
pub(crate) fn local_cause(e: &io::Error) -> Option<&'static str> {
    match e.raw_os_error()? {
        libc::EMFILE => Some("this process is out of file descriptors (LimitNOFILE)"),
        libc::ENFILE => Some("this machine is out of file descriptors (system-wide limit)"),
        libc::ENOMEM => Some("this machine is out of memory"),
        libc::ENOBUFS => Some("this machine is out of socket buffers"),
        libc::EADDRNOTAVAIL => Some("no local address or port is free on this machine"),
        libc::EACCES | libc::EPERM => {
            Some("this machine forbids the connection (local firewall or sandbox)")
        }
        _ => None,
    }
}

/// The `unknown` failure for a fault of this machine met while doing `what`, if `e`
/// is one (see [`local_cause`]).
pub(crate) fn local_failure(what: &str, e: &io::Error) -> Option<Failure> {
    local_cause(e).map(|cause| {
        Failure::new(
            ErrorClass::Unknown,
            format!("local fault, not the service: {cause}: {what}: {e}"),
        )
    })
}

fn connect_failure(addr: SocketAddr, e: &io::Error) -> Failure {
    if let Some(f) = local_failure(&format!("connect to {addr}"), e) {
        return f;
    }
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

/// Classifies an I/O error on an established connection: a reset or an early close
/// is `refused` (the service went away), a timeout is `timeout`, anything else
/// `protocol`. A fault of this machine (see [`local_cause`]) is `unknown`.
pub(crate) fn io_failure(what: &str, e: &io::Error) -> Failure {
    if let Some(f) = local_failure(what, e) {
        return f;
    }
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
            Failure::new(ErrorClass::Refused, format!("{what}: connection reset"))
        }
        io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof => Failure::new(
            ErrorClass::Refused,
            format!("{what}: the server closed the connection"),
        ),
        io::ErrorKind::TimedOut => Failure::new(ErrorClass::Timeout, format!("{what}: timed out")),
        _ => Failure::new(ErrorClass::Protocol, format!("{what}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_and_an_early_close_are_both_refused_and_told_apart() {
        let reset = io_failure("greeting", &io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(
            (reset.class, reset.detail.as_str()),
            (ErrorClass::Refused, "greeting: connection reset")
        );
        let eof = io_failure("greeting", &io::Error::from(io::ErrorKind::UnexpectedEof));
        assert_eq!(
            (eof.class, eof.detail.as_str()),
            (
                ErrorClass::Refused,
                "greeting: the server closed the connection"
            )
        );
        let other = io_failure("greeting", &io::Error::other("bad record"));
        assert_eq!(other.class, ErrorClass::Protocol);
    }

    #[test]
    fn faults_of_this_machine_are_unknown_and_say_so() {
        for errno in [
            libc::EMFILE,
            libc::ENFILE,
            libc::ENOMEM,
            libc::ENOBUFS,
            libc::EADDRNOTAVAIL,
            libc::EACCES,
            libc::EPERM,
        ] {
            let e = io::Error::from_raw_os_error(errno);
            let addr: SocketAddr = "127.0.0.1:25".parse().unwrap();
            let f = connect_failure(addr, &e);
            assert_eq!(f.class, ErrorClass::Unknown, "{e}");
            assert!(
                f.detail.starts_with("local fault, not the service: "),
                "{f:?}"
            );
            assert_eq!(io_failure("greeting", &e).class, ErrorClass::Unknown);
        }
        let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(local_cause(&refused), None);
    }

    #[test]
    fn brackets_come_off_ipv6_literals() {
        assert_eq!(bare_host("[::1]"), "::1");
        assert_eq!(bare_host("127.0.0.1"), "127.0.0.1");
        assert_eq!(bare_host("mail.example.test"), "mail.example.test");
    }

    #[tokio::test]
    async fn ip_literals_are_not_looked_up() {
        let mut phases = Phases::default();
        let addrs = resolve("[::1]", 25, &mut phases).await.unwrap();
        assert_eq!(addrs, vec!["[::1]:25".parse::<SocketAddr>().unwrap()]);
        assert_eq!(phases.resolve, None);
    }
}
