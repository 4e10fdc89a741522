//! The DNS probe: one query to one server, and a verdict on the raw response.
//!
//! A resolver library hides exactly what a probe must see (it retries, fails over to
//! other servers, caches, and turns rcodes into errors), so [`check`] builds the query
//! with hickory-proto's message types and moves the bytes itself:
//!
//! 1. **Server.** `spec.server`, or the resolver the probes use: the first
//!    `nameserver` of `/etc/resolv.conf` (parsed by hickory-resolver's system-config
//!    code, port 53), or the server of [`net::Resolver::Server`] when a test set one.
//!    An unreadable or empty resolv.conf is this machine's fault: `unknown`. Without
//!    `server` the probe asks this machine's resolver, so the live runner treats its
//!    `refused` and `timeout` like a failed name lookup (see `scheduler::live::live_runner`).
//! 2. **Query.** One message: `spec.record` of `spec.query` (made fully qualified),
//!    class IN, a random id, RD set, and an EDNS(0) OPT record advertising a
//!    [`UDP_PAYLOAD`]-byte payload. It is sent once: no retries, so a lost datagram
//!    is a `timeout`, as a user would have seen it.
//! 3. **Transport.**
//!    - UDP: a socket `connect()`ed to the server, so the kernel drops datagrams from
//!      anyone else and reports an ICMP port unreachable as "connection refused"
//!      (`refused`). The id (the first two bytes) is checked before anything is
//!      parsed: a datagram with **another id** (or shorter than an id) is ignored
//!      and waiting continues until the deadline, as stub resolvers (hickory-net's
//!      UDP client among them) do against spoofed or stale datagrams, so a guessed
//!      datagram cannot fake an outage; if nothing else comes, the `timeout` detail
//!      counts them. A datagram with our id that does not decode as a DNS message, or
//!      is larger than the payload we advertised, is `protocol`. A
//!      reply with the TC bit set is retried **once over TCP** (RFC 7766 §5), and that
//!      answer is judged; its detail says so.
//!    - TCP: connect (the `connect` phase, classified by [`net::connect`]), the query
//!      with its 2-byte length prefix, then a 2-byte length and exactly that many
//!      bytes (the first read takes the length and what came with it: usually the
//!      whole response, one read rather than two). The buffer grows only as bytes arrive (at most [`TCP_CHUNK`] at a
//!      time), so a peer announcing 65535 bytes and stalling costs what it sent, and
//!      ends as `timeout`. A reset or early close is `refused`; a length shorter than a
//!      DNS header is `protocol`; on TCP a wrong id is `protocol` too (the connection
//!      is ours alone).
//! 4. **Match.** The response must have the QR bit, our id, and echo our question
//!    (name case-insensitively, type, class), else `protocol`. A response without a
//!    question section is tolerated only with an error rcode (servers answering
//!    FORMERR/NOTIMP often omit it).
//! 5. **Verdict.** The rcode must equal `spec.expect_rcode`, else `status`
//!    ("rcode NXDOMAIN, expected NOERROR"). Then each of `spec.expect_answer` must
//!    match an answer-section record (see [`answer_matches`] for the normalisation),
//!    else `content` with what was missing and what came.
//!
//! Phases: `connect` is the TCP connect (`None` over plain UDP), `first_byte` runs
//! from sending the judged query to the first byte of its response (the datagram,
//! or the TCP length prefix), `total` is the whole check. Everything runs under the
//! check's one deadline ([`Run`]).

use super::conn::Usage;
use super::net;
use super::{Failure, Outcome, Run, Up};
use crate::config::{DnsSpec, DnsTransport, RecordType};
use crate::model::{Check, ErrorClass, Phases};
use hickory_resolver::proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_resolver::proto::rr::{DNSClass, Name, RData, Record, RecordType as WireType};
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

/// The EDNS(0) UDP payload we advertise, and the largest datagram accepted.
pub const UDP_PAYLOAD: u16 = 4096;

/// The most bytes a TCP response read adds to its buffer at once.
pub const TCP_CHUNK: usize = 4096;

/// The longest detail a check reports.
const MAX_DETAIL: usize = 200;

/// Where a resolv.conf lives.
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Checks one `[[dns]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &DnsSpec, timeout: Duration) -> Check {
    check_with_usage(name, spec, timeout).await.0
}

/// [`check`], also reporting what the TCP response buffer held at its largest
/// (`peak_buffered` is the buffer's capacity) and how many response bytes were read
/// (UDP datagrams included).
pub async fn check_with_usage(name: &str, spec: &DnsSpec, timeout: Duration) -> (Check, Usage) {
    Run::check(name, timeout, async |run| steps(spec, run).await).await
}

async fn steps(spec: &DnsSpec, run: &mut Run) -> Outcome {
    let server = match (spec.server, net::current_resolver()) {
        (Some(s), _) => s,
        (None, net::Resolver::Server(s)) => s,
        (None, net::Resolver::System) => system_server().await?,
    };
    let query = build_query(spec)?;
    run.at(match spec.transport {
        DnsTransport::Udp => "DNS query over UDP",
        DnsTransport::Tcp => "DNS query over TCP",
    });
    let mut io = Io {
        deadline: run.deadline,
        phases: &mut run.phases,
        usage: &mut run.usage,
    };
    let response = exchange(spec.transport, server, &query, &mut io).await?;
    // A truncated UDP answer is asked again over TCP.
    let (response, via_tcp) = if spec.transport == DnsTransport::Udp && response.metadata.truncation
    {
        (
            exchange(DnsTransport::Tcp, server, &query, &mut io).await?,
            true,
        )
    } else {
        (response, false)
    };
    judge(spec, &response, via_tcp)
}

/// How long [`lookup`] waits for each answer at most (the check's own deadline
/// usually ends it first).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The addresses of `name` asked of `server` directly: an A query, then an AAAA
/// query, over UDP, each sent once. This is how [`net::Resolver::Server`] looks names
/// up. No usable answer (refused, silence, SERVFAIL) is an error; NXDOMAIN or no
/// address records is an empty list.
pub(super) async fn lookup(server: SocketAddr, name: &str) -> io::Result<Vec<IpAddr>> {
    let mut fqdn = Name::from_str_relaxed(name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    fqdn.set_fqdn(true);
    let mut ips = Vec::new();
    for record in [WireType::A, WireType::AAAA] {
        let mut query = Query::query(fqdn.clone(), record);
        query.set_query_class(DNSClass::IN);
        let mut message = Message::query();
        message.metadata.recursion_desired = true;
        message.add_query(query);
        let mut io = Io {
            deadline: Instant::now() + LOOKUP_TIMEOUT,
            phases: &mut Phases::default(),
            usage: &mut Usage::default(),
        };
        // Straight to UDP: [`exchange`]'s TCP path connects through this resolver.
        let response = async {
            let x = Exchange {
                server,
                query: &message,
                bytes: encode(&message)?,
            };
            exchange_udp(&x, &mut io).await
        }
        .await
        .map_err(|f| io::Error::other(format!("the resolver: {}", f.detail)))?;
        match response.metadata.response_code {
            ResponseCode::NoError => {}
            ResponseCode::NXDomain => return Ok(ips),
            other => {
                return Err(io::Error::other(format!(
                    "resolver {server} answered {}",
                    rcode_name(other)
                )));
            }
        }
        ips.extend(response.answers.iter().filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        }));
    }
    Ok(ips)
}

/// The first `nameserver` of the system's resolv.conf, port 53.
async fn system_server() -> Result<SocketAddr, Failure> {
    let text = tokio::fs::read(RESOLV_CONF).await.map_err(|e| {
        Failure::new(
            ErrorClass::Unknown,
            format!("no server given and cannot read {RESOLV_CONF}: {e}"),
        )
    })?;
    first_nameserver(&text).ok_or_else(|| {
        Failure::new(
            ErrorClass::Unknown,
            format!("no server given and {RESOLV_CONF} names no nameserver"),
        )
    })
}

/// The first nameserver of resolv.conf text, on port 53, as hickory-resolver's
/// system-config code reads it (`None` when there is none).
pub(crate) fn first_nameserver(resolv_conf: &[u8]) -> Option<SocketAddr> {
    let (config, _opts) = hickory_resolver::system_conf::parse_resolv_conf(resolv_conf).ok()?;
    let ip: IpAddr = config.name_servers().first()?.ip;
    Some(SocketAddr::new(ip, 53))
}

fn wire_type(r: RecordType) -> WireType {
    match r {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Mx => WireType::MX,
        RecordType::Txt => WireType::TXT,
        RecordType::Ns => WireType::NS,
        RecordType::Cname => WireType::CNAME,
        RecordType::Soa => WireType::SOA,
        RecordType::Caa => WireType::CAA,
    }
}

/// The query message for `spec`.
fn build_query(spec: &DnsSpec) -> Result<Message, Failure> {
    // IDNA first (internationalised names), then plain ASCII (underscores, as in
    // `_dmarc.example.test`).
    let mut name = Name::from_str_relaxed(&spec.query).map_err(|e| {
        Failure::new(
            ErrorClass::Unknown,
            format!("cannot ask for '{}': {e}", bounded(&spec.query, 80)),
        )
    })?;
    name.set_fqdn(true);
    let mut query = Query::query(name, wire_type(spec.record));
    query.set_query_class(DNSClass::IN);
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(query);
    let mut edns = Edns::new();
    edns.set_max_payload(UDP_PAYLOAD);
    message.set_edns(edns);
    Ok(message)
}

fn encode(query: &Message) -> Result<Vec<u8>, Failure> {
    query
        .to_vec()
        .map_err(|e| Failure::new(ErrorClass::Unknown, format!("cannot encode the query: {e}")))
}

/// What every exchange carries: the check's deadline, and where it records its
/// phases and its use of memory and bandwidth.
struct Io<'a> {
    deadline: Instant,
    phases: &'a mut Phases,
    usage: &'a mut Usage,
}

/// Encodes `query` once and exchanges it with `server` over `transport`.
async fn exchange(
    transport: DnsTransport,
    server: SocketAddr,
    query: &Message,
    io: &mut Io<'_>,
) -> Result<Message, Failure> {
    let x = Exchange {
        server,
        query,
        bytes: encode(query)?,
    };
    match transport {
        DnsTransport::Udp => exchange_udp(&x, io).await,
        DnsTransport::Tcp => exchange_tcp(&x, io).await,
    }
}

/// One query to one server, encoded once whatever carries it.
struct Exchange<'a> {
    server: SocketAddr,
    query: &'a Message,
    bytes: Vec<u8>,
}

/// Sends the query over UDP and waits for its response,
/// ignoring well-formed messages with another id.
async fn exchange_udp(x: &Exchange<'_>, io: &mut Io<'_>) -> Result<Message, Failure> {
    let (server, query, bytes, deadline) = (x.server, x.query, &x.bytes[..], io.deadline);
    // From `[daemon] source_address` when set, else any address of the family.
    let source = net::source_for(server)?;
    let local: SocketAddr = source.unwrap_or_else(|| {
        if server.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        }
    });
    let socket = UdpSocket::bind(local).await.map_err(|e| match source {
        Some(local) => net::bind_failure(local, &e),
        None => net::local_failure("opening a UDP socket", &e).unwrap_or_else(|| {
            Failure::new(
                ErrorClass::Unknown,
                format!("cannot open a UDP socket: {e}"),
            )
        }),
    })?;
    socket
        .connect(server)
        .await
        .map_err(|e| udp_failure(server, &e))?;
    let sent = Instant::now();
    socket
        .send(bytes)
        .await
        .map_err(|e| udp_failure(server, &e))?;
    // One byte more than we accept, so an oversized datagram is seen, not truncated.
    let mut buf = vec![0u8; usize::from(UDP_PAYLOAD) + 1];
    let mut ignored = 0u32;
    loop {
        // A deadline here, not only the runner's: [`lookup`] runs outside any check,
        // and the detail counts the datagrams ignored on the way.
        let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(udp_failure(server, &e)),
            Err(_) => {
                let mut detail = format!("no answer from {server} within the deadline");
                if ignored > 0 {
                    let _ = write!(detail, " (ignored {ignored} datagram(s) with a wrong id)");
                }
                return Err(Failure::new(ErrorClass::Timeout, detail));
            }
        };
        io.usage.bytes_read = io.usage.bytes_read.saturating_add(n as u64);
        io.usage.peak_buffered = io.usage.peak_buffered.max(n);
        // The id first, before any parsing (as hickory-net's UDP client does): a
        // datagram that is not for our query (too short to carry an id, or another
        // id) is dropped without a verdict, so a spoofed or stray datagram cannot end
        // the check early.
        if n < 2 || buf[..2] != query.metadata.id.to_be_bytes() {
            ignored = ignored.saturating_add(1);
            continue;
        }
        io.phases.first_byte = Some(sent.elapsed());
        if n > usize::from(UDP_PAYLOAD) {
            return Err(Failure::new(
                ErrorClass::Protocol,
                format!("a datagram larger than the {UDP_PAYLOAD} bytes advertised"),
            ));
        }
        let response = decode(&buf[..n])?;
        check_match(query, &response)?;
        return Ok(response);
    }
}

fn udp_failure(server: SocketAddr, e: &io::Error) -> Failure {
    if let Some(f) = net::local_failure(&format!("UDP to {server}"), e) {
        return f;
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Failure::new(
            ErrorClass::Refused,
            format!("{server} refused (port unreachable)"),
        ),
        io::ErrorKind::NetworkUnreachable => Failure::new(
            ErrorClass::Unknown,
            format!("no route to the network of {server}: {e}"),
        ),
        _ => Failure::new(ErrorClass::Refused, format!("UDP to {server}: {e}")),
    }
}

/// Sends the query over TCP and reads exactly one
/// length-prefixed response.
async fn exchange_tcp(x: &Exchange<'_>, io: &mut Io<'_>) -> Result<Message, Failure> {
    let (server, query, bytes, deadline) = (x.server, x.query, &x.bytes[..], io.deadline);
    let len = u16::try_from(bytes.len())
        .map_err(|_| Failure::new(ErrorClass::Unknown, "the query is too long for TCP"))?;
    let mut stream: TcpStream =
        net::connect(&server.ip().to_string(), server.port(), deadline, io.phases).await?;
    let mut framed = Vec::with_capacity(bytes.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(bytes);
    let sent = Instant::now();
    stream
        .write_all(&framed)
        .await
        .map_err(|e| net::io_failure("sending the query", &e))?;
    // The length and (nearly always) the whole response arrive together: one read
    // takes both, the length's two bytes first.
    let mut chunk = [0u8; TCP_CHUNK];
    let mut n = read_some(&mut stream, &mut chunk, "reading the response length").await?;
    if n == 0 {
        return Err(Failure::new(
            ErrorClass::Refused,
            "connection closed without a response",
        ));
    }
    io.phases.first_byte = Some(sent.elapsed());
    if n < 2 {
        read_exact(&mut stream, &mut chunk[n..2]).await?;
        n = 2;
    }
    io.usage.bytes_read = io.usage.bytes_read.saturating_add(n as u64);
    let want = usize::from(u16::from_be_bytes([chunk[0], chunk[1]]));
    if want < 12 {
        return Err(Failure::new(
            ErrorClass::Protocol,
            format!("a {want}-byte response is shorter than a DNS header"),
        ));
    }
    let mut body: Vec<u8> = Vec::with_capacity(want.min(TCP_CHUNK));
    // Bytes past the announced length are not part of the response.
    body.extend_from_slice(&chunk[2..n.min(want + 2)]);
    io.usage.peak_buffered = io.usage.peak_buffered.max(body.capacity());
    while body.len() < want {
        let room = (want - body.len()).min(TCP_CHUNK);
        let got = read_some(&mut stream, &mut chunk[..room], "reading the response").await?;
        if got == 0 {
            return Err(Failure::new(
                ErrorClass::Refused,
                format!(
                    "connection closed after {} of {want} announced bytes",
                    body.len()
                ),
            ));
        }
        body.extend_from_slice(&chunk[..got]);
        io.usage.bytes_read = io.usage.bytes_read.saturating_add(got as u64);
        io.usage.peak_buffered = io.usage.peak_buffered.max(body.capacity());
    }
    let response = decode(&body)?;
    if response.metadata.id != query.metadata.id {
        return Err(Failure::new(
            ErrorClass::Protocol,
            format!(
                "response id {} does not match query id {}",
                response.metadata.id, query.metadata.id
            ),
        ));
    }
    check_match(query, &response)?;
    Ok(response)
}

/// One read of at most `buf.len()` bytes (0 at end of stream); the check's runner
/// bounds the wait.
async fn read_some(stream: &mut TcpStream, buf: &mut [u8], what: &str) -> Result<usize, Failure> {
    stream
        .read(buf)
        .await
        .map_err(|e| net::io_failure(what, &e))
}

async fn read_exact(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(), Failure> {
    stream
        .read_exact(buf)
        .await
        .map(|_| ())
        .map_err(|e| net::io_failure("reading the response length", &e))
}

fn decode(bytes: &[u8]) -> Result<Message, Failure> {
    Message::from_vec(bytes).map_err(|e| {
        Failure::new(
            ErrorClass::Protocol,
            bounded(
                &format!("malformed response ({} bytes): {e}", bytes.len()),
                MAX_DETAIL,
            ),
        )
    })
}

/// The response is a response, and to our question.
fn check_match(query: &Message, response: &Message) -> Result<(), Failure> {
    if response.metadata.message_type != MessageType::Response {
        return Err(Failure::new(
            ErrorClass::Protocol,
            "the reply is a query, not a response",
        ));
    }
    let asked = query.queries.first();
    match response.queries.as_slice() {
        [q] if Some(q) == asked => Ok(()),
        [] if response.metadata.response_code != ResponseCode::NoError => Ok(()),
        other => Err(Failure::new(
            ErrorClass::Protocol,
            bounded(
                &format!(
                    "the response answers another question ({})",
                    other
                        .iter()
                        .map(|q| format!("{} {}", q.name(), q.query_type()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                MAX_DETAIL,
            ),
        )),
    }
}

/// The mnemonic of an rcode as `expect_rcode` spells it (`NOERROR`, `NXDOMAIN`, ...).
pub(crate) fn rcode_name(code: ResponseCode) -> String {
    let name = match u16::from(code) {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        other => return format!("RCODE{other}"),
    };
    name.to_owned()
}

/// The text form of a record's data (`192.0.2.10`, `10 mail.example.test.`, the
/// joined strings of a TXT record). hickory's `Display` of some record data (OPT)
/// returns an error instead of text: that becomes `<unprintable>`, never a panic.
pub(crate) fn record_text(data: &RData) -> String {
    let mut s = String::new();
    if write!(s, "{data}").is_err() {
        return "<unprintable>".to_owned();
    }
    s
}

/// Whether an expected answer matches a record of type `record_type` whose text
/// form is `text`.
///
/// The normalisation, for the answer of every type except TXT:
/// - addresses compare as addresses, so an expected `2001:DB8:0::1` matches the
///   canonical `2001:db8::1`;
/// - otherwise both sides are compared case-insensitively (ASCII), word by word
///   (runs of whitespace are one separator), each word without one trailing dot:
///   `10 Mail.Example.Test` matches `10 mail.example.test.`, and `ns1.example.test`
///   matches the NS record `ns1.example.test.`.
///
/// TXT data is compared exactly (after joining a record's strings without a
/// separator): it carries case-sensitive tokens such as DKIM keys and site
/// verification codes.
pub(crate) fn answer_matches(expected: &str, record_type: WireType, text: &str) -> bool {
    if record_type == WireType::TXT {
        return expected == text;
    }
    normalise(expected) == normalise(text)
}

fn normalise(s: &str) -> String {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return ip.to_string();
    }
    s.split_whitespace()
        .map(|w| {
            let w = if w.len() > 1 {
                w.strip_suffix('.').unwrap_or(w)
            } else {
                w
            };
            w.to_ascii_lowercase()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The rcode and answer checks.
fn judge(spec: &DnsSpec, response: &Message, via_tcp: bool) -> Outcome {
    let rcode = rcode_name(response.metadata.response_code);
    if !rcode.eq_ignore_ascii_case(&spec.expect_rcode) {
        return Err(Failure::new(
            ErrorClass::Status,
            format!("rcode {rcode}, expected {}", spec.expect_rcode),
        ));
    }
    let answers: Vec<(&Record, String)> = response
        .answers
        .iter()
        .map(|r| (r, record_text(&r.data)))
        .collect();
    let missing: Vec<&str> = spec
        .expect_answer
        .iter()
        .filter(|want| {
            !answers
                .iter()
                .any(|(r, text)| answer_matches(want, r.record_type(), text))
        })
        .map(String::as_str)
        .collect();
    let got = if answers.is_empty() {
        "no answer records".to_owned()
    } else {
        answers
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !missing.is_empty() {
        return Err(Failure::new(
            ErrorClass::Content,
            bounded(
                &format!("missing {}; got {got}", missing.join(", ")),
                MAX_DETAIL,
            ),
        ));
    }
    let count = answers.len();
    let mut detail = match count {
        0 => format!("{rcode}, no answer"),
        1 => format!("{rcode}, 1 answer: {got}"),
        n => format!("{rcode}, {n} answers: {got}"),
    };
    if via_tcp {
        detail.insert_str(0, "truncated over UDP, retried over TCP; ");
    }
    Ok(Up::new(bounded(&detail, MAX_DETAIL)))
}

/// `s` cut to at most `max` bytes on a character boundary, with `…` when cut.
fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query over UDP leaves from `[daemon] source_address`; one this machine
    /// lacks fails before anything is sent, as `unknown`.
    #[tokio::test]
    async fn udp_queries_leave_from_the_source_address() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let source: IpAddr = "127.0.0.3".parse().unwrap();
        let mut buf = [0u8; 512];
        let from = tokio::select! {
            r = server.recv_from(&mut buf) => r.unwrap().1,
            r = net::with_source(Some(source), lookup(addr, "www.example.test")) => {
                panic!("the lookup ended before the server heard it: {r:?}")
            }
        };
        assert_eq!(from.ip(), source);
        let e = net::with_source(
            Some("192.0.2.1".parse().unwrap()),
            lookup(addr, "www.example.test"),
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("this machine does not have the source_address 192.0.2.1"),
            "{e}"
        );
    }

    #[test]
    fn addresses_compare_as_addresses() {
        assert!(answer_matches("192.0.2.10", WireType::A, "192.0.2.10"));
        assert!(!answer_matches("192.0.2.1", WireType::A, "192.0.2.10"));
        assert!(answer_matches(
            "2001:DB8:0:0::10",
            WireType::AAAA,
            "2001:db8::10"
        ));
        assert!(answer_matches(
            " 2001:db8::10 ",
            WireType::AAAA,
            "2001:db8::10"
        ));
    }

    #[test]
    fn names_ignore_case_and_one_trailing_dot() {
        assert!(answer_matches(
            "10 Mail.Example.Test",
            WireType::MX,
            "10 mail.example.test."
        ));
        assert!(answer_matches(
            "10   mail.example.test.",
            WireType::MX,
            "10 mail.example.test."
        ));
        assert!(!answer_matches(
            "20 mail.example.test",
            WireType::MX,
            "10 mail.example.test."
        ));
        assert!(answer_matches(
            "ns1.example.test",
            WireType::NS,
            "ns1.example.test."
        ));
        assert!(!answer_matches(
            "ns1.example.tes",
            WireType::NS,
            "ns1.example.test."
        ));
        // The root stays the root.
        assert!(answer_matches(".", WireType::NS, "."));
    }

    #[test]
    fn txt_is_compared_exactly() {
        assert!(answer_matches("v=spf1 -all", WireType::TXT, "v=spf1 -all"));
        assert!(!answer_matches("V=SPF1 -ALL", WireType::TXT, "v=spf1 -all"));
        assert!(!answer_matches("token.", WireType::TXT, "token"));
    }

    #[test]
    fn record_text_forms() {
        use hickory_resolver::proto::rr::rdata::{A, AAAA, MX, OPT, TXT};
        use std::str::FromStr;
        assert_eq!(record_text(&RData::A(A::new(192, 0, 2, 10))), "192.0.2.10");
        assert_eq!(
            record_text(&RData::AAAA(AAAA::from_str("2001:db8::10").unwrap())),
            "2001:db8::10"
        );
        let mx = MX::new(10, Name::from_str("mail.example.test.").unwrap());
        assert_eq!(record_text(&RData::MX(mx)), "10 mail.example.test.");
        let txt = TXT::new(vec!["hello ".to_owned(), "world".to_owned()]);
        assert_eq!(record_text(&RData::TXT(txt)), "hello world");
        // hickory's Display fails for OPT: text, not a panic.
        assert_eq!(record_text(&RData::OPT(OPT::default())), "<unprintable>");
    }

    #[test]
    fn rcode_names_are_config_spellings() {
        assert_eq!(rcode_name(ResponseCode::NoError), "NOERROR");
        assert_eq!(rcode_name(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(rcode_name(ResponseCode::ServFail), "SERVFAIL");
        assert_eq!(rcode_name(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode_name(ResponseCode::Unknown(3841)), "RCODE3841");
    }

    #[test]
    fn resolv_conf_first_nameserver() {
        let text = b"# generated\nsearch example.test\nnameserver 192.0.2.53\nnameserver 198.51.100.53\noptions ndots:2\n";
        assert_eq!(
            first_nameserver(text),
            Some("192.0.2.53:53".parse().unwrap())
        );
        assert_eq!(
            first_nameserver(b"nameserver 2001:db8::53\n"),
            Some("[2001:db8::53]:53".parse().unwrap())
        );
        assert_eq!(first_nameserver(b"search example.test\n"), None);
        assert_eq!(first_nameserver(b""), None);
    }

    #[test]
    fn details_are_bounded() {
        let long = "x".repeat(1000);
        let b = bounded(&long, MAX_DETAIL);
        assert!(b.len() <= MAX_DETAIL, "{}", b.len());
        assert!(b.ends_with('…'));
        assert_eq!(bounded("short", MAX_DETAIL), "short");
        let multi = "é".repeat(300);
        assert!(bounded(&multi, 11).len() <= 11);
    }

    #[test]
    fn queries_are_fully_qualified_with_edns() {
        let spec = DnsSpec {
            query: "shop.example.test".into(),
            record: RecordType::Mx,
            server: None,
            server_host: String::new(),
            transport: DnsTransport::Udp,
            expect_rcode: "NOERROR".into(),
            expect_answer: vec![],
        };
        let q = build_query(&spec).unwrap();
        assert_eq!(q.queries[0].name().to_string(), "shop.example.test.");
        assert_eq!(q.queries[0].query_type(), WireType::MX);
        assert!(q.metadata.recursion_desired);
        assert_eq!(q.edns.as_ref().map(Edns::max_payload), Some(UDP_PAYLOAD));
        let back = Message::from_vec(&q.to_vec().unwrap()).unwrap();
        assert_eq!(back.queries, q.queries);
        for name in [
            "_dmarc.example.test",
            "odd_label.example.test.",
            "bücher.example.test",
        ] {
            let spec = DnsSpec {
                query: name.into(),
                ..spec.clone()
            };
            let q = build_query(&spec).unwrap();
            assert!(q.queries[0].name().is_fqdn(), "{name}");
        }
        let spec = DnsSpec {
            query: "a..b".into(),
            ..spec
        };
        assert_eq!(build_query(&spec).unwrap_err().class, ErrorClass::Unknown);
    }
}
