//! The DNS probe against a real unbound (authoritative for `example.test`, see
//! `peers/unbound.rs`) and against hostile in-process servers on 127.0.0.1 for what
//! unbound will not do: garbage, wrong ids, wrong answers, stalls, resets.

use crate::peers::unbound::Unbound;
use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::A;
use hickory_resolver::proto::rr::{Name, RData, Record};
use slawatch::config::{DnsSpec, DnsTransport, RecordType};
use slawatch::model::{Check, ErrorClass, Status};
use slawatch::probe::dns;
use std::future::Future;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const TIMEOUT: Duration = Duration::from_secs(5);
/// A short deadline for checks that must end by it.
const SHORT: Duration = Duration::from_millis(600);
/// How far past its deadline a check may end on a loaded CI machine.
const MARGIN: Duration = Duration::from_secs(3);

fn spec(server: SocketAddr, transport: DnsTransport, query: &str, record: RecordType) -> DnsSpec {
    DnsSpec {
        query: query.to_owned(),
        record,
        server: Some(server),
        server_host: server.ip().to_string(),
        transport,
        expect_rcode: "NOERROR".to_owned(),
        expect_answer: Vec::new(),
    }
}

fn expecting(mut spec: DnsSpec, answers: &[&str]) -> DnsSpec {
    spec.expect_answer = answers.iter().map(|s| (*s).to_owned()).collect();
    spec
}

#[track_caller]
fn assert_up(check: &Check) {
    assert_eq!(check.status, Status::Up, "{check:?}");
    assert_eq!(check.class, None, "{check:?}");
}

#[track_caller]
fn assert_down(check: &Check, class: ErrorClass) {
    assert_eq!(check.status, class.status(), "{check:?}");
    assert_eq!(check.class, Some(class), "{check:?}");
}

/// Runs a check that must end by its deadline (`SHORT`), and returns it.
async fn check_by_deadline(spec: &DnsSpec) -> Check {
    let start = Instant::now();
    let c = dns::check("d", spec, SHORT).await;
    let took = start.elapsed();
    assert!(took >= SHORT, "ended before its deadline: {took:?} {c:?}");
    assert!(
        took < SHORT + MARGIN,
        "ended long after its deadline: {took:?}"
    );
    c
}

// ---------------------------------------------------------------- real unbound

async fn unbound_answers(transport: DnsTransport) {
    let u = Unbound::start();
    let s = |q: &str, r| spec(u.addr, transport, q, r);

    let c = dns::check(
        "d",
        &expecting(s("shop.example.test", RecordType::A), &["192.0.2.10"]),
        TIMEOUT,
    )
    .await;
    assert_up(&c);
    assert_eq!(c.detail, "NOERROR, 1 answer: 192.0.2.10");
    assert_eq!(c.probe, "d");
    assert!(
        c.phases.first_byte.is_some() && c.phases.total.is_some(),
        "{c:?}"
    );
    match transport {
        DnsTransport::Udp => assert_eq!(c.phases.connect, None, "{c:?}"),
        DnsTransport::Tcp => assert!(c.phases.connect.is_some(), "{c:?}"),
    }

    // Non-canonical spelling of the address still matches.
    let c = dns::check(
        "d",
        &expecting(
            s("SHOP.example.test", RecordType::Aaaa),
            &["2001:DB8:0::10"],
        ),
        TIMEOUT,
    )
    .await;
    assert_up(&c);
    assert_eq!(c.detail, "NOERROR, 1 answer: 2001:db8::10");

    let c = dns::check(
        "d",
        &expecting(s("example.test", RecordType::Mx), &["10 Mail.Example.Test"]),
        TIMEOUT,
    )
    .await;
    assert_up(&c);
    assert_eq!(c.detail, "NOERROR, 1 answer: 10 mail.example.test.");

    let c = dns::check(
        "d",
        &expecting(
            s("example.test", RecordType::Txt),
            &["v=spf1 ip4:192.0.2.25 -all"],
        ),
        TIMEOUT,
    )
    .await;
    assert_up(&c);
    // A TXT record of several strings is compared as their concatenation.
    let c = dns::check(
        "d",
        &expecting(
            s("long.example.test", RecordType::Txt),
            &["first part second part"],
        ),
        TIMEOUT,
    )
    .await;
    assert_up(&c);

    let c = dns::check(
        "d",
        &expecting(s("example.test", RecordType::Ns), &["ns1.example.test"]),
        TIMEOUT,
    )
    .await;
    assert_up(&c);
    let c = dns::check("d", &s("example.test", RecordType::Soa), TIMEOUT).await;
    assert_up(&c);
    assert!(
        c.detail.starts_with("NOERROR, 1 answer: ns1.example.test."),
        "{c:?}"
    );

    // A wrong expectation is content, naming what is missing and what came.
    let c = dns::check(
        "d",
        &expecting(
            s("shop.example.test", RecordType::A),
            &["192.0.2.10", "192.0.2.99"],
        ),
        TIMEOUT,
    )
    .await;
    assert_down(&c, ErrorClass::Content);
    assert_eq!(c.detail, "missing 192.0.2.99; got 192.0.2.10");
    // TXT is case-sensitive.
    let c = dns::check(
        "d",
        &expecting(
            s("example.test", RecordType::Txt),
            &["V=SPF1 IP4:192.0.2.25 -ALL"],
        ),
        TIMEOUT,
    )
    .await;
    assert_down(&c, ErrorClass::Content);
    // NOERROR without records (no MX at shop) when an answer is expected: content.
    let c = dns::check(
        "d",
        &expecting(
            s("shop.example.test", RecordType::Mx),
            &["10 mail.example.test"],
        ),
        TIMEOUT,
    )
    .await;
    assert_down(&c, ErrorClass::Content);
    assert_eq!(
        c.detail,
        "missing 10 mail.example.test; got no answer records"
    );

    // A missing name: NXDOMAIN is a status failure unless it is what is expected.
    let c = dns::check("d", &s("missing.example.test", RecordType::A), TIMEOUT).await;
    assert_down(&c, ErrorClass::Status);
    assert_eq!(c.detail, "rcode NXDOMAIN, expected NOERROR");
    let mut nx = s("missing.example.test", RecordType::A);
    nx.expect_rcode = "NXDOMAIN".to_owned();
    let c = dns::check("d", &nx, TIMEOUT).await;
    assert_up(&c);
    assert_eq!(c.detail, "NXDOMAIN, no answer");

    // Outside example.test unbound refuses, and never sends a query anywhere.
    let c = dns::check("d", &s("www.example.com", RecordType::A), TIMEOUT).await;
    assert!(
        !u.trap_received(),
        "unbound tried to recurse: {c:?}\n{}",
        u.log_text()
    );
    assert_down(&c, ErrorClass::Status);
    assert_eq!(c.detail, "rcode REFUSED, expected NOERROR");
}

#[tokio::test]
async fn unbound_over_udp() {
    unbound_answers(DnsTransport::Udp).await;
}

#[tokio::test]
async fn unbound_over_tcp() {
    unbound_answers(DnsTransport::Tcp).await;
}

#[tokio::test]
async fn killed_unbound_is_refused_over_udp_and_tcp() {
    let mut u = Unbound::start();
    let udp = spec(
        u.addr,
        DnsTransport::Udp,
        "shop.example.test",
        RecordType::A,
    );
    let tcp = spec(
        u.addr,
        DnsTransport::Tcp,
        "shop.example.test",
        RecordType::A,
    );
    assert_up(&dns::check("d", &udp, TIMEOUT).await);
    u.daemon.kill();
    crate::peers::wait_closed(u.addr);
    // UDP: the ICMP port unreachable reaches the connected socket as "refused".
    let c = dns::check("d", &udp, TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(c.detail.contains("port unreachable"), "{c:?}");
    let c = dns::check("d", &tcp, TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(c.detail.contains("refused"), "{c:?}");
}

#[tokio::test]
async fn frozen_unbound_times_out_by_the_deadline() {
    let u = Unbound::start();
    let udp = spec(
        u.addr,
        DnsTransport::Udp,
        "shop.example.test",
        RecordType::A,
    );
    let tcp = spec(
        u.addr,
        DnsTransport::Tcp,
        "shop.example.test",
        RecordType::A,
    );
    assert_up(&dns::check("d", &udp, TIMEOUT).await);
    u.daemon.freeze();
    let (cu, ct) = tokio::join!(check_by_deadline(&udp), check_by_deadline(&tcp));
    u.daemon.thaw();
    assert_down(&cu, ErrorClass::Timeout);
    assert_down(&ct, ErrorClass::Timeout);
    // The kernel completed the TCP handshake; the answer never came.
    assert!(ct.phases.connect.is_some(), "{ct:?}");
    assert_eq!(ct.phases.first_byte, None, "{ct:?}");
}

// ---------------------------------------------------------------- hostile servers

/// A response to the query in `query` with `rcode` and `answers`.
fn response(query: &[u8], rcode: ResponseCode, answers: Vec<Record>) -> Message {
    let q = Message::from_vec(query).unwrap();
    let mut m = Message::response(q.metadata.id, OpCode::Query);
    m.metadata.response_code = rcode;
    m.add_queries(q.queries.iter().cloned());
    m.add_answers(answers);
    m
}

fn a_record(name: &str, ip: [u8; 4]) -> Record {
    Record::from_rdata(
        Name::from_str(name).unwrap(),
        300,
        RData::A(A::new(ip[0], ip[1], ip[2], ip[3])),
    )
}

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().unwrap()
}

/// A UDP server answering each datagram with what `reply` makes of it (any number
/// of datagrams, possibly none). Returns its address and how many queries it got.
async fn udp_server(
    reply: impl Fn(&[u8]) -> Vec<Vec<u8>> + Send + 'static,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            counter.fetch_add(1, Ordering::SeqCst);
            for datagram in reply(&buf[..n]) {
                let _ = socket.send_to(&datagram, from).await;
            }
        }
    });
    (addr, seen)
}

/// A TCP server handing each connection to `serve`.
async fn tcp_server<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    tcp_serve(listener, serve)
}

fn tcp_serve<F, Fut>(listener: TcpListener, serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    addr
}

/// Reads one length-prefixed query.
async fn read_query(stream: &mut TcpStream) -> Vec<u8> {
    let len = stream.read_u16().await.unwrap();
    let mut q = vec![0u8; usize::from(len)];
    stream.read_exact(&mut q).await.unwrap();
    q
}

/// Writes one length-prefixed message.
async fn write_framed(stream: &mut TcpStream, msg: &[u8]) {
    let mut framed = u16::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    let _ = stream.write_all(&framed).await;
}

/// A TCP server answering each query with `reply(query)`, then holding the connection.
async fn tcp_replying(reply: fn(&[u8]) -> Vec<u8>) -> SocketAddr {
    tcp_server(move |mut stream| async move {
        let q = read_query(&mut stream).await;
        write_framed(&mut stream, &reply(&q)).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await
}

fn wrong_answer(q: &[u8]) -> Vec<u8> {
    bytes(&response(
        q,
        ResponseCode::NoError,
        vec![a_record("shop.example.test.", [192, 0, 2, 66])],
    ))
}

fn nxdomain(q: &[u8]) -> Vec<u8> {
    bytes(&response(q, ResponseCode::NXDomain, vec![]))
}

fn garbage(_: &[u8]) -> Vec<u8> {
    vec![0xff; 40]
}

/// Our query's id, then garbage: a broken server, not a stray datagram.
fn garbage_after_id(q: &[u8]) -> Vec<u8> {
    let mut g = q[..2].to_vec();
    g.extend_from_slice(&[0xff; 38]);
    g
}

/// Garbage starting with an id that is not ours.
fn garbage_other_id(q: &[u8]) -> Vec<u8> {
    let id = u16::from_be_bytes([q[0], q[1]]).wrapping_add(1);
    let mut g = id.to_be_bytes().to_vec();
    g.extend_from_slice(&[0xff; 38]);
    g
}

fn wrong_id(q: &[u8]) -> Vec<u8> {
    let mut m = response(
        q,
        ResponseCode::NoError,
        vec![a_record("shop.example.test.", [192, 0, 2, 10])],
    );
    m.metadata.id = m.metadata.id.wrapping_add(1);
    bytes(&m)
}

fn other_question(q: &[u8]) -> Vec<u8> {
    let mut m = response(
        q,
        ResponseCode::NoError,
        vec![a_record("evil.example.test.", [192, 0, 2, 66])],
    );
    m.queries[0].set_name(Name::from_str("evil.example.test.").unwrap());
    bytes(&m)
}

fn shop(addr: SocketAddr, transport: DnsTransport) -> DnsSpec {
    expecting(
        spec(addr, transport, "shop.example.test", RecordType::A),
        &["192.0.2.10"],
    )
}

#[tokio::test]
async fn garbage_reply_is_protocol() {
    let (udp, _) = udp_server(|q| vec![garbage_after_id(q)]).await;
    let c = dns::check("d", &shop(udp, DnsTransport::Udp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(
        c.detail.starts_with("malformed response (40 bytes)"),
        "{c:?}"
    );
    let tcp = tcp_replying(garbage).await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(
        c.detail.starts_with("malformed response (40 bytes)"),
        "{c:?}"
    );
}

#[tokio::test]
async fn udp_garbage_with_another_id_is_ignored_until_the_deadline() {
    let (udp, _) = udp_server(|q| vec![garbage_other_id(q), vec![0x01]]).await;
    let c = check_by_deadline(&shop(udp, DnsTransport::Udp)).await;
    assert_down(&c, ErrorClass::Timeout);
    assert!(
        c.detail.contains("ignored 2 datagram(s) with a wrong id"),
        "{c:?}"
    );
}

#[tokio::test]
async fn answer_to_another_question_is_protocol() {
    let (udp, _) = udp_server(|q| vec![other_question(q)]).await;
    let c = dns::check("d", &shop(udp, DnsTransport::Udp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(
        c.detail.contains("another question (evil.example.test. A)"),
        "{c:?}"
    );
    let tcp = tcp_replying(other_question).await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
}

#[tokio::test]
async fn udp_reply_with_wrong_id_is_ignored_until_the_deadline() {
    let (udp, seen) = udp_server(|q| vec![wrong_id(q)]).await;
    let c = check_by_deadline(&shop(udp, DnsTransport::Udp)).await;
    assert_down(&c, ErrorClass::Timeout);
    assert!(
        c.detail.contains("ignored 1 datagram(s) with a wrong id"),
        "{c:?}"
    );
    // One query, never resent.
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn udp_wrong_id_then_the_right_reply_is_up() {
    let (udp, _) = udp_server(|q| {
        vec![
            wrong_id(q),
            bytes(&response(
                q,
                ResponseCode::NoError,
                vec![a_record("shop.example.test.", [192, 0, 2, 10])],
            )),
        ]
    })
    .await;
    let c = dns::check("d", &shop(udp, DnsTransport::Udp), TIMEOUT).await;
    assert_up(&c);
}

#[tokio::test]
async fn tcp_reply_with_wrong_id_is_protocol() {
    let tcp = tcp_replying(wrong_id).await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert!(c.detail.contains("does not match query id"), "{c:?}");
}

#[tokio::test]
async fn wrong_answer_is_content() {
    let (udp, _) = udp_server(|q| vec![wrong_answer(q)]).await;
    let c = dns::check("d", &shop(udp, DnsTransport::Udp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Content);
    assert_eq!(c.detail, "missing 192.0.2.10; got 192.0.2.66");
    let tcp = tcp_replying(wrong_answer).await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Content);
    assert_eq!(c.detail, "missing 192.0.2.10; got 192.0.2.66");
}

#[tokio::test]
async fn nxdomain_is_status() {
    let (udp, _) = udp_server(|q| vec![nxdomain(q)]).await;
    let c = dns::check("d", &shop(udp, DnsTransport::Udp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Status);
    assert_eq!(c.detail, "rcode NXDOMAIN, expected NOERROR");
    let tcp = tcp_replying(nxdomain).await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Status);
}

#[tokio::test]
async fn silent_udp_server_times_out_by_the_deadline() {
    let (udp, seen) = udp_server(|_| vec![]).await;
    let c = check_by_deadline(&shop(udp, DnsTransport::Udp)).await;
    assert_down(&c, ErrorClass::Timeout);
    assert_eq!(c.phases.first_byte, None);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "the query must be sent once"
    );
}

#[tokio::test]
async fn tcp_length_announced_then_stall_times_out_with_a_bounded_buffer() {
    let tcp = tcp_server(|mut stream| async move {
        let _ = read_query(&mut stream).await;
        let mut partial = 65535u16.to_be_bytes().to_vec();
        partial.extend_from_slice(&[0u8; 100]);
        let _ = stream.write_all(&partial).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let start = Instant::now();
    let (c, usage) = dns::check_with_usage("d", &shop(tcp, DnsTransport::Tcp), SHORT).await;
    let took = start.elapsed();
    assert_down(&c, ErrorClass::Timeout);
    assert!(took < SHORT + MARGIN, "{took:?}");
    assert!(c.phases.first_byte.is_some(), "{c:?}");
    assert_eq!(usage.bytes_read, 102, "{usage:?}");
    // The buffer grew with what arrived, not with what was announced.
    assert!(usage.peak_buffered <= dns::TCP_CHUNK, "{usage:?}");
}

#[tokio::test]
async fn tcp_short_length_is_protocol() {
    let tcp = tcp_server(|mut stream| async move {
        let _ = read_query(&mut stream).await;
        write_framed(&mut stream, &[0u8; 5]).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert_eq!(c.detail, "a 5-byte response is shorter than a DNS header");
}

#[tokio::test]
async fn tcp_reset_is_refused() {
    let tcp = tcp_server(|mut stream| async move {
        let _ = read_query(&mut stream).await;
        // Linger 0: close sends a RST instead of a FIN.
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
    assert!(c.detail.contains("reset"), "{c:?}");
}

#[tokio::test]
async fn tcp_close_without_answer_is_refused() {
    let tcp = tcp_server(|mut stream| async move {
        let _ = read_query(&mut stream).await;
        drop(stream);
    })
    .await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Refused);
    assert_eq!(c.detail, "connection closed without a response");
}

#[tokio::test]
async fn truncated_udp_answer_is_retried_over_tcp_once() {
    // A UDP socket and a TCP listener on one port, as a real server has.
    let (udp_socket, listener) = loop {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        if let Ok(s) = std::net::UdpSocket::bind(("127.0.0.1", port)) {
            break (s, listener);
        }
    };
    udp_socket.set_nonblocking(true).unwrap();
    let socket = UdpSocket::from_std(udp_socket).unwrap();
    let udp_seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&udp_seen);
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut m = response(&buf[..n], ResponseCode::NoError, vec![]);
            m.metadata.truncation = true;
            let _ = socket.send_to(&bytes(&m), from).await;
        }
    });
    let tcp_seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&tcp_seen);
    let addr = tcp_serve(listener, move |mut stream| {
        let counter = Arc::clone(&counter);
        async move {
            let q = read_query(&mut stream).await;
            counter.fetch_add(1, Ordering::SeqCst);
            let m = response(
                &q,
                ResponseCode::NoError,
                vec![a_record("shop.example.test.", [192, 0, 2, 10])],
            );
            write_framed(&mut stream, &bytes(&m)).await;
        }
    });
    let c = dns::check("d", &shop(addr, DnsTransport::Udp), TIMEOUT).await;
    assert_up(&c);
    assert_eq!(
        c.detail,
        "truncated over UDP, retried over TCP; NOERROR, 1 answer: 192.0.2.10"
    );
    assert!(c.phases.connect.is_some(), "{c:?}");
    assert_eq!(udp_seen.load(Ordering::SeqCst), 1);
    assert_eq!(tcp_seen.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn oversized_udp_datagram_is_protocol() {
    let (udp, _) = udp_server(|q| {
        let mut m = response(q, ResponseCode::NoError, vec![]);
        for i in 0..400u32 {
            let [_, _, b, c] = i.to_be_bytes();
            m.add_answer(a_record("shop.example.test.", [192, 0, b, c]));
        }
        vec![bytes(&m)]
    })
    .await;
    let (c, usage) = dns::check_with_usage("d", &shop(udp, DnsTransport::Udp), TIMEOUT).await;
    assert_down(&c, ErrorClass::Protocol);
    assert_eq!(c.detail, "a datagram larger than the 4096 bytes advertised");
    assert!(
        usage.peak_buffered <= usize::from(dns::UDP_PAYLOAD) + 1,
        "{usage:?}"
    );
}

/// A probe's name lookup failing because this machine's resolver is down is
/// `unknown` (no data), not `dns` (the provider's outage). The live runner looks
/// names up through a real unbound (instead of the system's resolver, which tests
/// never use); a `resolve` control names a name unbound knows. While unbound runs, a
/// missing name is `dns` and a known one is `up`; once unbound is killed, both are
/// `unknown` naming the resolver, and so is a `[[dns]]` probe without `server` (it
/// asks that resolver itself). Without any control name there is no way to tell,
/// and a failed lookup stays `dns`.
#[tokio::test]
async fn a_dead_resolver_is_unknown_not_the_providers_dns() {
    use slawatch::probe::net::Resolver;
    let mut unbound = Unbound::start();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let probes = format!(
        "[[tcp]]\nname = \"web\"\ntarget = \"loopback.example.test:{port}\"\n\n\
         [[tcp]]\nname = \"gone\"\ntarget = \"nosuch.example.test:{port}\"\n\n\
         [[dns]]\nname = \"asks-ours\"\nquery = \"shop.example.test\"\nrecord = \"A\"\n"
    );
    let with_control =
        format!("{probes}\n[[control]]\nname = \"resolver\"\nresolve = \"shop.example.test\"\n");
    let load = |text: &str| {
        Arc::new(
            slawatch::config::parse_str(text, std::path::Path::new("probes.toml"), &|_| None)
                .unwrap(),
        )
    };
    let config = load(&with_control);
    let runner =
        slawatch::scheduler::live::live_runner_with(config.clone(), Resolver::Server(unbound.addr));
    let bare = load(&probes);
    let bare_runner =
        slawatch::scheduler::live::live_runner_with(bare.clone(), Resolver::Server(unbound.addr));
    let check =
        |runner: &Arc<dyn slawatch::scheduler::Runner>,
         c: &slawatch::config::Config,
         name: &str| { runner.check(Arc::new(c.probe(name).unwrap().clone())) };

    let c = check(&runner, &config, "web").await;
    assert_up(&c);
    assert!(c.phases.resolve.is_some(), "{c:?}");
    let c = check(&runner, &config, "gone").await;
    assert_down(&c, ErrorClass::Dns);
    // A [[dns]] probe without `server` asks the resolver the probes use.
    assert_up(&check(&runner, &config, "asks-ours").await);

    unbound.daemon.kill();
    // Past the freshness of the last answer about the resolver.
    tokio::time::sleep(slawatch::scheduler::live::ONLINE_FRESH + Duration::from_millis(200)).await;
    for name in ["web", "gone", "asks-ours"] {
        let c = check(&runner, &config, name).await;
        assert_eq!(
            (c.status, c.class),
            (Status::Unknown, Some(ErrorClass::Unknown)),
            "{c:?}"
        );
        assert!(
            c.detail.starts_with("this machine's resolver failed"),
            "{c:?}"
        );
    }
    // No control name: no way to tell, the lookup failure stays the provider's.
    let c = check(&bare_runner, &bare, "web").await;
    assert_down(&c, ErrorClass::Dns);
    let c = check(&bare_runner, &bare, "asks-ours").await;
    assert_down(&c, ErrorClass::Refused);
    assert!(!unbound.trap_received());
}

/// The response's length and body in three writes (one byte of the length alone,
/// the other with half the body, then the rest), followed by bytes that are no part
/// of it: the probe reads exactly the announced response, however it is cut.
#[tokio::test]
async fn tcp_response_cut_anywhere_and_followed_by_more_bytes_is_up() {
    let tcp = tcp_server(|mut stream| async move {
        let q = read_query(&mut stream).await;
        let body = bytes(&response(
            &q,
            ResponseCode::NoError,
            vec![a_record("shop.example.test.", [192, 0, 2, 10])],
        ));
        let len = u16::try_from(body.len()).unwrap().to_be_bytes();
        let half = body.len() / 2;
        let pause = || tokio::time::sleep(Duration::from_millis(50));
        stream.write_all(&len[..1]).await.unwrap();
        pause().await;
        let mut second = vec![len[1]];
        second.extend_from_slice(&body[..half]);
        stream.write_all(&second).await.unwrap();
        pause().await;
        let mut rest = body[half..].to_vec();
        rest.extend_from_slice(&[0xff; 64]);
        let _ = stream.write_all(&rest).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let c = dns::check("d", &shop(tcp, DnsTransport::Tcp), TIMEOUT).await;
    assert_up(&c);
}
