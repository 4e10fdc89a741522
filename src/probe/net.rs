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
    static SOURCE: Option<IpAddr>;
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

/// Runs `f` with every connection and query it opens (its probes', its `[[control]]`
/// checks') leaving from `source` (`[daemon] source_address`); `None`, or outside
/// such a scope: from the address the system picks.
pub(crate) async fn with_source<F: std::future::Future>(source: Option<IpAddr>, f: F) -> F::Output {
    SOURCE.scope(source, f).await
}

/// The source address of the running task ([`with_source`]), if one is set.
pub(crate) fn current_source() -> Option<IpAddr> {
    SOURCE.try_with(|s| *s).unwrap_or_default()
}

/// The local address a socket towards `peer` is bound to before it connects or
/// sends: the source address ([`current_source`]) with port 0, or `None` when no
/// source address is set.
///
/// # Errors
/// `Unknown` when the source address and `peer` are of different families (an IPv4
/// source cannot reach an IPv6 peer): this machine's configuration, not the service.
pub(crate) fn source_for(peer: SocketAddr) -> Result<Option<SocketAddr>, Failure> {
    match current_source() {
        None => Ok(None),
        Some(src) if src.is_ipv4() == peer.is_ipv4() => Ok(Some(SocketAddr::new(src, 0))),
        Some(src) => Err(Failure::new(
            ErrorClass::Unknown,
            format!(
                "local fault, not the service: source_address {src} cannot reach {peer} \
                 (another address family)"
            ),
        )),
    }
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
    // With a source address, only the peer's addresses of its family can be reached.
    let reachable: Vec<SocketAddr> = addrs
        .iter()
        .copied()
        .filter(|a| source_for(*a).is_ok())
        .collect();
    if let (Some(first), true) = (addrs.first(), reachable.is_empty()) {
        return Err(source_for(*first).err().unwrap_or(last));
    }
    for addr in &reachable {
        // The deadline is caught here, not only by the check's runner: a
        // `[[control]]` check connects outside any runner, and the detail names the
        // address that did not answer.
        let socket = socket_from_source(*addr)?;
        let attempt = async {
            match socket {
                Some(socket) => socket.connect(*addr).await,
                None => TcpStream::connect(addr).await,
            }
        };
        match tokio::time::timeout_at(deadline, attempt).await {
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

/// A TCP socket towards `peer` bound to the source address ([`current_source`]),
/// or `None` when no source address is set (the system picks when connecting).
///
/// # Errors
/// `Unknown` when the socket cannot be made or bound: a source address this machine
/// does not have (`EADDRNOTAVAIL`) is this machine's fault, never the provider's.
fn socket_from_source(peer: SocketAddr) -> Result<Option<tokio::net::TcpSocket>, Failure> {
    let Some(local) = source_for(peer)? else {
        return Ok(None);
    };
    let bound = if local.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .and_then(|s| s.bind(local).map(|()| s));
    bound.map(Some).map_err(|e| bind_failure(local, &e))
}

/// The `unknown` failure of binding a socket to the source address `local`.
pub(crate) fn bind_failure(local: SocketAddr, e: &io::Error) -> Failure {
    let what = format!("binding source_address {}", local.ip());
    if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
        return Failure::new(
            ErrorClass::Unknown,
            format!(
                "local fault, not the service: this machine does not have the \
                 source_address {} ([daemon] source_address): {e}",
                local.ip()
            ),
        );
    }
    local_failure(&what, e).unwrap_or_else(|| {
        Failure::new(
            ErrorClass::Unknown,
            format!("local fault, not the service: {what}: {e}"),
        )
    })
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

    /// A connection leaves from the source address, on loopback as on any uplink.
    #[tokio::test]
    async fn connections_leave_from_the_source_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let source: IpAddr = "127.0.0.2".parse().unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let connected = with_source(Some(source), async {
            connect("127.0.0.1", port, deadline, &mut Phases::default()).await
        });
        let (stream, accepted) = tokio::join!(connected, listener.accept());
        assert_eq!(stream.unwrap().local_addr().unwrap().ip(), source);
        assert_eq!(accepted.unwrap().1.ip(), source);
    }

    /// A source address this machine does not have, or of the other family, is this
    /// machine's fault: `unknown`, never the provider's `refused`. (192.0.2.1 is a
    /// documentation address no machine has: the bind fails, nothing is sent.)
    #[tokio::test]
    async fn a_source_address_this_machine_lacks_is_unknown() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        for (source, says) in [
            (
                "192.0.2.1",
                "this machine does not have the source_address 192.0.2.1",
            ),
            ("::1", "another address family"),
        ] {
            let f = with_source(Some(source.parse().unwrap()), async {
                connect("127.0.0.1", port, deadline, &mut Phases::default()).await
            })
            .await
            .unwrap_err();
            assert_eq!(f.class, ErrorClass::Unknown, "{f:?}");
            assert!(f.detail.contains(says), "{f:?}");
        }
    }

    #[tokio::test]
    async fn ip_literals_are_not_looked_up() {
        let mut phases = Phases::default();
        let addrs = resolve("[::1]", 25, &mut phases).await.unwrap();
        assert_eq!(addrs, vec!["[::1]:25".parse::<SocketAddr>().unwrap()]);
        assert_eq!(phases.resolve, None);
    }
}
