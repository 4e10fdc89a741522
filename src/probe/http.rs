//! The HTTP(S) probe: one request, our own connection, every phase timed.
//!
//! # Steps (per hop; a followed redirect is a new hop on a new connection)
//!
//! 1. [`net::connect`]: resolve (names only) and connect. Failures keep the classes
//!    of every other probe: `dns`, `refused`, `timeout`, `unknown` (no route).
//! 2. For `https://`, the TLS step ([`super::Run::tls`]) with the spec's
//!    `tls_verify` / `ca_file`: a bad certificate is `certificate`, any other
//!    handshake failure `tls`.
//! 3. hyper's connection-level HTTP/1.1 client (no pool: nothing is reused between
//!    checks or hops) sends `GET`/`HEAD` with `Host`, `User-Agent:
//!    slawatch/<version>`, the spec's `headers` (which may replace those two) and
//!    `Connection: close`. The response head is capped at [`MAX_HEAD`]: a bigger
//!    one, or bytes that are not HTTP/1, are `protocol`. A reset or a close before
//!    the response is complete is `refused`.
//! 4. A 3xx with `Location` is followed (the URL resolved against the current one)
//!    while fewer than `follow_redirects` were followed; one more is `status`
//!    ("too many redirects"). With `follow_redirects = 0` a 3xx is an ordinary
//!    answer, judged by `expect_status`.
//!
//! # Secret headers on redirects
//!
//! The secret headers (`Authorization`, `Proxy-Authorization`, `Cookie` and every
//! header from `headers_env` / `headers_file`) go only to the configured URL's
//! origin (scheme, host and port): a hop to another origin is sent without them. A
//! redirect from `https` to `http` out of a hop that carried them is refused, class
//! `status` ("redirect from https to http ... refused"): the server's answer is
//! what fails, as for a redirect to a non-http URL.
//! 5. A status outside `expect_status` is `status` ("HTTP 500 Internal Server Error
//!    (expected 200-399)"); the body is then not read.
//! 6. For `GET`, at most [`MAX_BODY`] bytes of the body are read (reading stops
//!    there, the rest is never fetched) and matched against `expect_body` /
//!    `expect_body_regex`; a miss is `content`. The detail quotes the expectation
//!    (from the config), never the body.
//! 7. Up, but slower overall than `max_response_time`: up with flag `slow`.
//!
//! The whole check runs under one deadline ([`super::Run`]); each wait (connect,
//! handshake, response head, every body chunk) stops at it, so a stall is `timeout`
//! with the step in the detail, and the check ends by its deadline.
//!
//! # Phases
//!
//! `resolve`, `connect` and `tls` are summed over the hops; `first_byte` is, summed
//! over the hops, the time from the connection being ready (after TLS) to the
//! response head. `total` is the whole check, body included.
//!
//! # Certificates
//!
//! `cert_not_after` is the earliest `notAfter` of every chain seen on the way (a
//! redirect through a host with an expiring certificate still breaks users), and
//! the up detail carries [`super::tls::TlsInfo::notes`] ("not verified: ...",
//! "certificate expires in 5 d").

use super::conn::Usage;
use super::net;
use super::{Failure, Outcome, Run, Up, quote};
use crate::config::{HttpMethod, HttpSpec, StatusMatcher, TlsSettings};
use crate::model::{Check, ErrorClass, Phases};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HOST, HeaderName, HeaderValue, LOCATION, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use reqwest::Url;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, timeout_at};

/// The most body bytes read and kept: 1 MiB. Expectations match within this prefix.
pub const MAX_BODY: usize = 1024 * 1024;

/// The largest response head (status line and headers) accepted: 64 KiB. This is
/// also hyper's read buffer limit, so a peer cannot make the probe hold more.
pub const MAX_HEAD: usize = 64 * 1024;

/// The default `User-Agent`.
const USER_AGENT_VALUE: &str = concat!("slawatch/", env!("CARGO_PKG_VERSION"));

/// Checks one `[[http]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &HttpSpec, timeout: Duration) -> Check {
    check_with_usage(name, spec, timeout).await.0
}

/// [`check`], also returning what the check read: `peak_buffered` is the most body
/// bytes held at once (at most [`MAX_BODY`]; hyper's own buffer is capped
/// separately at [`MAX_HEAD`]), `bytes_read` every byte read from the peers, TLS
/// records included, over all hops.
pub async fn check_with_usage(name: &str, spec: &HttpSpec, timeout: Duration) -> (Check, Usage) {
    Run::check(name, timeout, async |run| {
        steps(&mut Ctx { spec, run }).await
    })
    .await
}

/// What the steps share: the spec and the check's context.
struct Ctx<'a> {
    spec: &'a HttpSpec,
    run: &'a mut Run,
}

/// One response as far as the probe read it.
struct Answer {
    status: StatusCode,
    location: Option<HeaderValue>,
    /// The first [`MAX_BODY`] bytes of the body (empty when not read).
    body: Vec<u8>,
    /// Whether the body was cut at [`MAX_BODY`].
    truncated: bool,
}

async fn steps(cx: &mut Ctx<'_>) -> Outcome {
    follow(cx).await
}

async fn follow(cx: &mut Ctx<'_>) -> Outcome {
    let spec = cx.spec;
    let mut url = Url::parse(&spec.url).map_err(|e| {
        Failure::new(
            ErrorClass::Unknown,
            format!("url '{}' does not parse: {e}", spec.url),
        )
    })?;
    let origin = url.origin();
    let has_secrets = has_secret_headers(spec);
    let mut redirects = 0_u32;
    let answer = loop {
        let with_secrets = has_secrets && url.origin() == origin;
        let answer = hop(cx, &url, with_secrets).await?;
        let Some(location) = answer
            .location
            .as_ref()
            .filter(|_| wants_follow(spec, &answer))
        else {
            break answer;
        };
        if redirects >= spec.follow_redirects {
            return Err(Failure::new(
                ErrorClass::Status,
                format!(
                    "too many redirects (more than {}; last HTTP {} to {})",
                    spec.follow_redirects,
                    answer.status.as_u16(),
                    quote(location.as_bytes())
                ),
            ));
        }
        let next = next_url(&url, location)?;
        if with_secrets && url.scheme() == "https" && next.scheme() == "http" {
            return Err(Failure::new(
                ErrorClass::Status,
                format!(
                    "redirect from https to http {} refused: the probe's secret headers \
                     would travel unencrypted",
                    quote(location.as_bytes())
                ),
            ));
        }
        url = next;
        redirects += 1;
    };
    let via = match redirects {
        0 => String::new(),
        1 => " after 1 redirect".to_owned(),
        n => format!(" after {n} redirects"),
    };
    let status = status_text(answer.status);
    if !spec.expect_status.matches(answer.status.as_u16()) {
        let location = answer
            .location
            .as_ref()
            .map(|l| format!(" to {}", quote(l.as_bytes())))
            .unwrap_or_default();
        return Err(Failure::new(
            ErrorClass::Status,
            format!(
                "{status}{location} (expected {}){via}",
                expected(&spec.expect_status)
            ),
        ));
    }
    check_body(spec, &answer)?;
    let mut notes = vec![format!("{status}{via}")];
    let elapsed = cx.run.start.elapsed();
    let flag = match spec.max_response_time {
        Some(max) if elapsed > max => {
            notes.push(format!(
                "slow: {} ms (max {} ms)",
                elapsed.as_millis(),
                max.as_millis()
            ));
            Some(ErrorClass::Slow)
        }
        _ => None,
    };
    Ok(Up {
        detail: notes.join("; "),
        flag,
    })
}

/// Headers that carry credentials even when written inline.
const SECRET_NAMES: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// Whether an inline header is a credential (sent only to the configured origin).
fn is_secret_name(name: &str) -> bool {
    SECRET_NAMES.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Whether the spec sends any secret header.
fn has_secret_headers(spec: &HttpSpec) -> bool {
    !spec.secret_headers.is_empty() || spec.headers.iter().any(|(n, _)| is_secret_name(n))
}

/// Whether `answer` is a redirect this spec follows (the count is checked apart).
fn wants_follow(spec: &HttpSpec, answer: &Answer) -> bool {
    spec.follow_redirects > 0 && answer.status.is_redirection() && answer.location.is_some()
}

/// The URL a `Location` points to, resolved against `base`.
fn next_url(base: &Url, location: &HeaderValue) -> Result<Url, Failure> {
    let bad = |why: &str| {
        Failure::new(
            ErrorClass::Protocol,
            format!("redirect Location {} {why}", quote(location.as_bytes())),
        )
    };
    let text = location.to_str().map_err(|_| bad("is not visible ASCII"))?;
    let url = base
        .join(text)
        .map_err(|e| bad(&format!("does not parse: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Failure::new(
            ErrorClass::Status,
            format!(
                "redirect to {}, which is not an http(s) URL with a host",
                quote(text.as_bytes())
            ),
        ));
    }
    Ok(url)
}

/// Matches the body against `expect_body` and `expect_body_regex`.
fn check_body(spec: &HttpSpec, answer: &Answer) -> Result<(), Failure> {
    if spec.expect_body.is_none() && spec.expect_body_regex.is_none() {
        return Ok(());
    }
    let body = String::from_utf8_lossy(&answer.body);
    let scope = if answer.truncated {
        format!("the first {} bytes of the body", answer.body.len())
    } else {
        format!("the body ({} bytes)", answer.body.len())
    };
    if let Some(text) = &spec.expect_body
        && !body.contains(text.as_str())
    {
        return Err(Failure::new(
            ErrorClass::Content,
            format!("{} not found in {scope}", quote(text.as_bytes())),
        ));
    }
    if let Some(re) = &spec.expect_body_regex
        && !re.is_match(&body)
    {
        return Err(Failure::new(
            ErrorClass::Content,
            format!(
                "regex {} does not match {scope}",
                quote(re.as_str().as_bytes())
            ),
        ));
    }
    Ok(())
}

/// One request on a new connection to `url`.
async fn hop(cx: &mut Ctx<'_>, url: &Url, with_secrets: bool) -> Result<Answer, Failure> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    let request = request(cx.spec, url, with_secrets)?;
    let mut hop_phases = Phases::default();
    cx.run.at("connect");
    let connected = net::connect(host, port, cx.run.deadline, &mut hop_phases).await;
    add_phase(&mut cx.run.phases.resolve, hop_phases.resolve);
    add_phase(&mut cx.run.phases.connect, hop_phases.connect);
    let tcp = connected?;
    let counter = Arc::new(AtomicU64::new(0));
    let result = if url.scheme() == "https" {
        let settings = TlsSettings {
            verify: cx.spec.tls_verify,
            ca_file: cx.spec.ca_file.clone(),
            server_name: None,
            cert_expiry_warn: cx.spec.cert_expiry_warn,
        };
        let stream = cx.run.tls(tcp, host, &settings).await?;
        let io = Counted {
            inner: stream,
            read: counter.clone(),
        };
        exchange(cx, io, request).await
    } else {
        let io = Counted {
            inner: tcp,
            read: counter.clone(),
        };
        exchange(cx, io, request).await
    };
    cx.run.usage.bytes_read += counter.load(Ordering::Relaxed);
    result
}

/// The request for `url`: origin-form target, `Host`, `User-Agent`, the spec's
/// headers (the secret ones only `with_secrets`), `Connection: close`.
fn request(
    spec: &HttpSpec,
    url: &Url,
    with_secrets: bool,
) -> Result<Request<Empty<Bytes>>, Failure> {
    let method = match spec.method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Head => Method::HEAD,
    };
    let mut target = url.path().to_owned();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let bad = |what: String| Failure::new(ErrorClass::Unknown, what);
    let mut req = Request::builder()
        .method(method)
        .uri(target.as_str())
        .body(Empty::new())
        .map_err(|e| bad(format!("cannot request {}: {e}", quote(target.as_bytes()))))?;
    let host = url.host_str().unwrap_or_default();
    let host = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let headers = req.headers_mut();
    headers.insert(
        HOST,
        HeaderValue::from_str(&host).map_err(|_| {
            bad(format!(
                "host {} is not a header value",
                quote(host.as_bytes())
            ))
        })?,
    );
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    let secret = spec
        .secret_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.expose()));
    let inline = spec.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    for (name, value) in inline.chain(secret.filter(|_| with_secrets)) {
        if !with_secrets && is_secret_name(name) {
            continue;
        }
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            bad(format!(
                "{} is not a valid header name",
                quote(name.as_bytes())
            ))
        })?;
        // The value may be a secret (an API key): never quote it.
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            bad(format!(
                "the value of header '{n}' is not a valid header value"
            ))
        })?;
        v.set_sensitive(true);
        headers.insert(n, v);
    }
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    Ok(req)
}

/// Sends `request` over `io` with hyper's HTTP/1.1 client and reads the answer,
/// driving the connection in this task (nothing is spawned, nothing outlives it).
async fn exchange<S>(
    cx: &mut Ctx<'_>,
    io: Counted<S>,
    request: Request<Empty<Bytes>>,
) -> Result<Answer, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let deadline = cx.run.deadline;
    let spec = cx.spec;
    cx.run.at("HTTP request");
    let head = request.method() == Method::HEAD;
    let ready = Instant::now();
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(io))
        .await
        .map_err(|e| hyper_failure("HTTP connection", &e))?;
    let first_byte = &mut cx.run.phases.first_byte;
    let peak = &mut cx.run.usage.peak_buffered;
    let work = async move {
        // Not a second deadline but the check's own, caught here: hyper drives the
        // connection beside this future, and the detail says how far the answer got.
        let response = match timeout_at(deadline, sender.send_request(request)).await {
            Err(_) => {
                return Err(Failure::new(
                    ErrorClass::Timeout,
                    "no HTTP response head before the deadline",
                ));
            }
            Ok(r) => r.map_err(|e| hyper_failure("HTTP response", &e))?,
        };
        add_phase(first_byte, Some(ready.elapsed()));
        let status = response.status();
        let location = response.headers().get(LOCATION).cloned();
        let mut answer = Answer {
            status,
            location,
            body: Vec::new(),
            truncated: false,
        };
        if !head && !wants_follow(spec, &answer) && spec.expect_status.matches(status.as_u16()) {
            read_body(response, &mut answer, deadline).await?;
        }
        *peak = (*peak).max(answer.body.len());
        Ok(answer)
    };
    let mut work = pin!(work);
    let mut conn = pin!(conn);
    let mut conn_done = false;
    loop {
        tokio::select! {
            biased;
            answer = &mut work => return answer,
            // The connection ends (cleanly or not) when the exchange is over; its
            // errors also reach the request or the body, so `work` says what failed.
            _ = &mut conn, if !conn_done => conn_done = true,
        }
    }
}

/// Reads at most [`MAX_BODY`] bytes of `response`'s body into `answer`.
async fn read_body(
    response: Response<Incoming>,
    answer: &mut Answer,
    deadline: Instant,
) -> Result<(), Failure> {
    let mut body = response.into_body();
    while answer.body.len() < MAX_BODY {
        // The check's own deadline, caught here to say how much of the body came.
        let frame = match timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(Failure::new(
                    ErrorClass::Timeout,
                    format!(
                        "HTTP body stalled after {} bytes until the deadline",
                        answer.body.len()
                    ),
                ));
            }
            Ok(None) => return Ok(()),
            Ok(Some(frame)) => frame.map_err(|e| hyper_failure("HTTP body", &e))?,
        };
        if let Ok(data) = frame.into_data() {
            let room = MAX_BODY - answer.body.len();
            if data.len() > room {
                answer.truncated = true;
            }
            answer
                .body
                .extend_from_slice(data.get(..room).unwrap_or(&data));
        }
    }
    // Exactly MAX_BODY bytes read: whether more would follow is not asked.
    answer.truncated = true;
    Ok(())
}

/// Classifies a hyper error: head too large or not HTTP is `protocol`; a reset or a
/// close before the response is complete is `refused` (as [`net::io_failure`]).
fn hyper_failure(what: &str, e: &hyper::Error) -> Failure {
    if e.is_parse_too_large() {
        return Failure::new(
            ErrorClass::Protocol,
            format!("{what}: head larger than {} KiB", MAX_HEAD / 1024),
        );
    }
    if e.is_parse() {
        return Failure::new(
            ErrorClass::Protocol,
            format!("{what}: not an HTTP/1 response ({e})"),
        );
    }
    let closed_early = || {
        Failure::new(
            ErrorClass::Refused,
            format!("{what}: connection closed before the response was complete"),
        )
    };
    match io_source(e) {
        Some(io) if io.kind() == io::ErrorKind::UnexpectedEof => closed_early(),
        Some(io) => net::io_failure(what, io),
        None if e.is_incomplete_message() || e.is_canceled() || e.is_closed() => closed_early(),
        None => Failure::new(ErrorClass::Protocol, format!("{what}: {e}")),
    }
}

/// The I/O error behind `e`, if any.
fn io_source(e: &hyper::Error) -> Option<&io::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return Some(io);
        }
        source = s.source();
    }
    None
}

/// "HTTP 500 Internal Server Error".
fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// What `expect_status` accepts, for a detail: "200-399", "200, 204", "2xx".
fn expected(m: &StatusMatcher) -> String {
    match m {
        StatusMatcher::Default => "200-399".to_owned(),
        StatusMatcher::Codes(c) => c.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
        StatusMatcher::Class(k) => format!("{k}xx"),
    }
}

fn add_phase(total: &mut Option<Duration>, part: Option<Duration>) {
    if let Some(p) = part {
        *total = Some(total.unwrap_or_default() + p);
    }
}

/// A stream that counts the bytes read from it.
struct Counted<S> {
    inner: S,
    read: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len().saturating_sub(before);
        self.read
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_read_like_the_config() {
        assert_eq!(expected(&StatusMatcher::Default), "200-399");
        assert_eq!(expected(&StatusMatcher::Codes(vec![200, 204])), "200, 204");
        assert_eq!(expected(&StatusMatcher::Class(2)), "2xx");
        assert_eq!(
            status_text(StatusCode::INTERNAL_SERVER_ERROR),
            "HTTP 500 Internal Server Error"
        );
        assert_eq!(status_text(StatusCode::from_u16(599).unwrap()), "HTTP 599");
    }

    #[test]
    fn relative_locations_resolve_against_the_current_url() {
        let base = Url::parse("http://127.0.0.1:8080/a/b?q=1").unwrap();
        let next = |l: &'static str| next_url(&base, &HeaderValue::from_static(l));
        assert_eq!(
            next("/health").unwrap().as_str(),
            "http://127.0.0.1:8080/health"
        );
        assert_eq!(next("c").unwrap().as_str(), "http://127.0.0.1:8080/a/c");
        assert_eq!(
            next("https://[::1]:8443/x").unwrap().as_str(),
            "https://[::1]:8443/x"
        );
        assert_eq!(
            next("ftp://127.0.0.1/").unwrap_err().class,
            ErrorClass::Status
        );
    }

    /// A spec for building requests: `method` and plain `headers`, the rest unset.
    fn spec(method: HttpMethod, headers: &[(&str, &str)]) -> HttpSpec {
        HttpSpec {
            url: String::new(),
            host: String::new(),
            method,
            expect_status: StatusMatcher::Default,
            expect_body: None,
            expect_body_regex: None,
            max_response_time: None,
            follow_redirects: 0,
            tls_verify: true,
            ca_file: None,
            cert_expiry_warn: Duration::ZERO,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            secret_headers: Vec::new(),
        }
    }

    #[test]
    fn requests_carry_host_agent_headers_and_close() {
        let spec = spec(
            HttpMethod::Head,
            &[("x-api-key", "s3cret"), ("Connection", "keep-alive")],
        );
        let url = Url::parse("http://[::1]:8080/p?x=1#frag").unwrap();
        let req = request(&spec, &url, true).unwrap();
        assert_eq!(req.method(), Method::HEAD);
        assert_eq!(req.uri(), "/p?x=1");
        let h = req.headers();
        assert_eq!(h[HOST], "[::1]:8080");
        assert_eq!(h[USER_AGENT], USER_AGENT_VALUE);
        assert_eq!(h["x-api-key"], "s3cret");
        assert_eq!(h[CONNECTION], "close");
        let default_port = Url::parse("https://127.0.0.1:443/").unwrap();
        assert_eq!(
            request(&spec, &default_port, true).unwrap().headers()[HOST],
            "127.0.0.1"
        );
        let mut bad = spec.clone();
        bad.headers = vec![("x-key".to_owned(), "line\nbreak s3cret".to_owned())];
        let f = request(&bad, &url, true).unwrap_err();
        assert_eq!(f.class, ErrorClass::Unknown);
        assert!(!f.detail.contains("s3cret"), "{f:?}");
    }

    #[test]
    fn secret_headers_stay_off_other_origins() {
        let mut spec = spec(HttpMethod::Get, &[("Cookie", "sid=1"), ("X-Plain", "p")]);
        spec.secret_headers = vec![(
            "X-Api-Key".to_owned(),
            crate::config::Secret::new("k".into()),
        )];
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        let with = request(&spec, &url, true).unwrap();
        assert_eq!(with.headers()["cookie"], "sid=1");
        assert_eq!(with.headers()["x-api-key"], "k");
        let without = request(&spec, &url, false).unwrap();
        assert!(without.headers().get("cookie").is_none());
        assert!(without.headers().get("x-api-key").is_none());
        assert_eq!(without.headers()["x-plain"], "p");
        assert!(has_secret_headers(&spec));
        spec.headers.clear();
        spec.secret_headers.clear();
        assert!(!has_secret_headers(&spec));
    }
}
