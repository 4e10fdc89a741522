//! Pure parsers for what SMTP, IMAP and POP3 servers send.
//!
//! The mail probes speak these protocols by hand. Everything that interprets bytes
//! from the server lives here as pure functions and small state machines: no I/O, no
//! clock, no async. A probe reads from its socket, [`LineSplitter::feed`]s the bytes,
//! pulls complete lines with [`LineSplitter::next_line`] and hands each one to the
//! parser of its protocol. Every failure is a [`WireError`], which is always
//! [`ErrorClass::Protocol`].
//!
//! # Caps, and why
//!
//! The server may be broken or hostile (a 10 MB banner, a line that never ends, a
//! literal announcing 100 GB), so every buffer has a cap and going past it is an
//! error, never growth:
//!
//! - [`MAX_LINE`] (8 KiB) per SMTP or POP3 line. RFC 5321's reply-line limit and RFC 1939
//!   allow 512 octets, but real servers send longer banners and EHLO lines; sixteen
//!   times the standard is generous and still small.
//! - [`IMAP_MAX_LINE`] (64 KiB) per IMAP line. RFC 9051 sets no limit on response
//!   lines; CAPABILITY lists run to a few hundred bytes, but `* SEARCH` results grow
//!   with the mailbox (64 KiB holds about 9000 six-digit message numbers).
//! - A splitter holds at most [`BUFFERED_LINES`] lines' worth of unread bytes. A
//!   probe that drains every line after each read of at most one line's worth never
//!   gets near it; only a peer that floods ahead of the conversation does.
//! - [`SMTP_MAX_REPLY_LINES`] and [`POP3_MAX_LINES`] (256 lines): an EHLO reply or a
//!   CAPA list has about a dozen. With the line cap, one reply is at most 2 MiB.
//! - [`IMAP_MAX_LITERAL`] (1 MiB): the probes fetch no message bodies, so literals
//!   are small (mailbox names, ID fields). They are skipped, never buffered.
//! - Error messages quote at most [`SNIPPET_BYTES`] (60) bytes of the input, with
//!   everything but printable ASCII escaped, so garbage never floods a log.
//!
//! # Bytes and text
//!
//! Lines stay bytes until a parser has checked their structure: codes, tags and
//! status words are ASCII and compared as bytes. The free text that is kept
//! (`String`) is decoded lossily (invalid UTF-8 becomes U+FFFD); nothing panics on
//! any input.

use crate::model::ErrorClass;
use std::fmt;
use std::mem;

/// Cap on one SMTP or POP3 line, terminator excluded (see the module docs).
pub const MAX_LINE: usize = 8 * 1024;
/// Cap on one IMAP line, terminator excluded (see the module docs).
pub const IMAP_MAX_LINE: usize = 64 * 1024;
/// A [`LineSplitter`] holds at most this many lines' worth of unread bytes.
pub const BUFFERED_LINES: usize = 4;
/// Cap on the lines of one SMTP reply.
pub(crate) const SMTP_MAX_REPLY_LINES: usize = 256;
/// Cap on the lines of one POP3 multi-line response (CAPA).
pub(crate) const POP3_MAX_LINES: usize = 256;
/// Cap on the size an IMAP literal may announce.
pub(crate) const IMAP_MAX_LITERAL: u64 = 1024 * 1024;
/// Error messages quote at most this many bytes of the offending input.
pub(crate) const SNIPPET_BYTES: usize = 60;

/// A short, sanitised quotation of the input an error is about: at most
/// [`SNIPPET_BYTES`] bytes in single quotes, followed by `...` when cut, with every
/// byte outside printable ASCII (and `\`, `'`) escaped as `\xNN`, `\\`, `\'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Snippet(String);

impl Snippet {
    /// Quotes the start of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        use fmt::Write as _;
        let mut s = String::from("'");
        for &b in bytes.iter().take(SNIPPET_BYTES) {
            match b {
                b'\\' | b'\'' => {
                    s.push('\\');
                    s.push(char::from(b));
                }
                0x20..=0x7e => s.push(char::from(b)),
                _ => {
                    let _ = write!(s, "\\x{b:02x}");
                }
            }
        }
        s.push('\'');
        if bytes.len() > SNIPPET_BYTES {
            s.push_str("...");
        }
        Snippet(s)
    }

    /// The quotation, quotes included.
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a server sent that is not the protocol. Messages quote the input only
/// through a [`Snippet`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    /// A line, terminator excluded, is longer than the splitter's cap; `start` quotes
    /// its beginning.
    #[error("line longer than {limit} bytes: {start}")]
    LineTooLong {
        /// The cap that was exceeded.
        limit: usize,
        /// The beginning of the line.
        start: Snippet,
    },
    /// More than `limit` bytes arrived ahead of the lines read so far.
    #[error("more than {limit} bytes sent ahead of the conversation")]
    BufferFull {
        /// The splitter's total cap.
        limit: usize,
    },
    /// An SMTP reply line does not start with a code 200-599.
    #[error("SMTP reply line without a code 200-599: {line}")]
    SmtpCode {
        /// The line.
        line: Snippet,
    },
    /// An SMTP reply code is followed by something other than '-', ' ' or the end.
    #[error("SMTP reply code not followed by '-' or ' ': {line}")]
    SmtpSeparator {
        /// The line.
        line: Snippet,
    },
    /// A line of a multi-line SMTP reply has another code than the first line.
    #[error("SMTP reply line with code {got} inside a {expected} reply: {line}")]
    SmtpMixedCodes {
        /// The first line's code.
        expected: u16,
        /// This line's code.
        got: u16,
        /// The line.
        line: Snippet,
    },
    /// An SMTP reply has more than `limit` lines.
    #[error("SMTP reply longer than {limit} lines")]
    SmtpTooManyLines {
        /// [`SMTP_MAX_REPLY_LINES`].
        limit: usize,
    },
    /// A line is not an IMAP response; `reason` says what is wrong with it.
    #[error("not an IMAP response ({reason}): {line}")]
    ImapSyntax {
        /// What is wrong, in a few words.
        reason: &'static str,
        /// The line.
        line: Snippet,
    },
    /// An IMAP literal announces more than `limit` bytes.
    #[error("IMAP literal of {announced} bytes, over the {limit}-byte limit")]
    ImapLiteralTooLarge {
        /// The announced size as sent (it may not fit any integer).
        announced: Snippet,
        /// [`IMAP_MAX_LITERAL`].
        limit: u64,
    },
    /// The first line from an IMAP server is not `* OK`, `* PREAUTH` or `* BYE`.
    #[error("IMAP greeting is not '* OK', '* PREAUTH' or '* BYE': {line}")]
    ImapGreeting {
        /// The line.
        line: Snippet,
    },
    /// A POP3 status line is not `+OK` or `-ERR`.
    #[error("POP3 status line is not '+OK' or '-ERR': {line}")]
    Pop3Status {
        /// The line.
        line: Snippet,
    },
    /// A POP3 multi-line response has more than `limit` lines.
    #[error("POP3 multi-line response longer than {limit} lines")]
    Pop3TooManyLines {
        /// The parser's cap, e.g. [`POP3_MAX_LINES`].
        limit: usize,
    },
}

impl WireError {
    /// The class a check that failed this way is recorded with: always
    /// [`ErrorClass::Protocol`] (the peer spoke, but not the protocol).
    pub(crate) fn class(&self) -> ErrorClass {
        match self {
            WireError::LineTooLong { .. }
            | WireError::BufferFull { .. }
            | WireError::SmtpCode { .. }
            | WireError::SmtpSeparator { .. }
            | WireError::SmtpMixedCodes { .. }
            | WireError::SmtpTooManyLines { .. }
            | WireError::ImapSyntax { .. }
            | WireError::ImapLiteralTooLarge { .. }
            | WireError::ImapGreeting { .. }
            | WireError::Pop3Status { .. }
            | WireError::Pop3TooManyLines { .. } => ErrorClass::Protocol,
        }
    }
}

/// Splits a byte stream into lines ended by CRLF or a bare LF, within caps.
///
/// [`feed`](Self::feed) what the socket gave, then call
/// [`next_line`](Self::next_line) until it returns `None`. Lines come out as bytes
/// without their terminator (a CR is only stripped right before the LF). Lines are
/// checked when they are pulled, not when they are fed, so the bytes of an IMAP
/// literal can be [`skip`](Self::skip)ped before they are taken for lines.
///
/// Errors are sticky: the lines before the failure still come out, then
/// `next_line` returns the same error forever and `feed` discards its input.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    /// Received bytes; `buf[pos..]` are unread.
    buf: Vec<u8>,
    /// Start of the unread bytes.
    pos: usize,
    /// `buf[pos..scanned]` is known to hold no LF (keeps scanning linear).
    scanned: usize,
    /// Bytes still to drop from future input (the rest of a skipped literal).
    skip: u64,
    max_line: usize,
    /// Input was dropped because the buffer was full.
    overflowed: bool,
    error: Option<WireError>,
}

impl LineSplitter {
    /// A splitter for lines of at most `max_line` bytes (at least 1), e.g.
    /// [`MAX_LINE`] or [`IMAP_MAX_LINE`].
    pub(crate) fn new(max_line: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            skip: 0,
            max_line: max_line.max(1),
            overflowed: false,
            error: None,
        }
    }

    /// The cap on one line, terminator excluded.
    pub(crate) fn max_line(&self) -> usize {
        self.max_line
    }

    /// The cap on unread bytes: [`BUFFERED_LINES`] times [`Self::max_line`].
    pub(crate) fn max_buffered(&self) -> usize {
        self.max_line.saturating_mul(BUFFERED_LINES)
    }

    /// How many unread bytes are held now; never more than [`Self::max_buffered`].
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes bytes from the peer. Whatever does not fit under
    /// [`Self::max_buffered`] is dropped, and once the lines already held are read,
    /// [`next_line`](Self::next_line) reports [`WireError::LineTooLong`] or
    /// [`WireError::BufferFull`].
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        if self.error.is_some() || self.overflowed {
            return;
        }
        if self.skip > 0 {
            let n = usize::try_from(self.skip).map_or(data.len(), |s| s.min(data.len()));
            self.skip -= n as u64;
            data = &data[n..];
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scanned -= self.pos;
            self.pos = 0;
        }
        let room = self.max_buffered() - self.buf.len();
        if data.len() > room {
            self.overflowed = true;
        }
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// The next complete line, without its terminator; `None` until more bytes are
    /// fed; an error once the stream broke a cap.
    pub(crate) fn next_line(&mut self) -> Option<Result<Vec<u8>, WireError>> {
        if let Some(e) = &self.error {
            return Some(Err(e.clone()));
        }
        let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
            self.scanned = self.buf.len();
            if self.buffered() > self.max_line.saturating_add(1) {
                // Even if the next byte were the LF after a CR, the line is too long.
                return Some(Err(self.fail_line_too_long()));
            }
            if self.overflowed {
                let e = WireError::BufferFull {
                    limit: self.max_buffered(),
                };
                return Some(Err(self.fail(e)));
            }
            return None;
        };
        let lf = self.scanned + i;
        let mut line = &self.buf[self.pos..lf];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.len() > self.max_line {
            return Some(Err(self.fail_line_too_long()));
        }
        let line = line.to_vec();
        self.pos = lf + 1;
        self.scanned = self.pos;
        Some(Ok(line))
    }

    /// Drops the next `n` bytes of the stream unread: the body of an IMAP literal
    /// whose size [`ImapResponse::Untagged`] announced. The line after it is the
    /// rest of the same response.
    pub(crate) fn skip(&mut self, n: u64) {
        let now = usize::try_from(n).map_or(self.buffered(), |n| n.min(self.buffered()));
        self.pos += now;
        self.scanned = self.scanned.max(self.pos);
        self.skip = self.skip.saturating_add(n - now as u64);
    }

    fn fail_line_too_long(&mut self) -> WireError {
        let e = WireError::LineTooLong {
            limit: self.max_line,
            start: Snippet::of(&self.buf[self.pos..]),
        };
        self.fail(e)
    }

    /// Makes `e` sticky and frees the buffer.
    fn fail(&mut self, e: WireError) -> WireError {
        self.buf = Vec::new();
        self.pos = 0;
        self.scanned = 0;
        self.error = Some(e.clone());
        e
    }
}

/// One complete SMTP reply (RFC 5321 §4.2): its code and the text of each line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SmtpReply {
    /// The three-digit code, 200-599.
    pub code: u16,
    /// The text after the code and separator, one entry per line (`""` for a bare
    /// code). Never empty.
    pub lines: Vec<String>,
}

impl SmtpReply {
    /// Whether the reply is positive: 2xx (completion) or 3xx (intermediate).
    pub(crate) fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

/// Assembles SMTP reply lines (`250-first`, `250-...`, `250 last`) into
/// [`SmtpReply`]s. After a reply or an error it starts afresh.
#[derive(Debug, Default)]
pub(crate) struct SmtpReplyParser {
    code: Option<u16>,
    lines: Vec<String>,
}

impl SmtpReplyParser {
    /// A parser waiting for the first line of a reply.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Takes one line (without terminator); returns the reply once its last line
    /// arrived.
    pub(crate) fn push(&mut self, line: &[u8]) -> Result<Option<SmtpReply>, WireError> {
        let result = self.push_line(line);
        if result.is_err() {
            *self = Self::default();
        }
        result
    }

    fn push_line(&mut self, line: &[u8]) -> Result<Option<SmtpReply>, WireError> {
        let code = smtp_code(line).ok_or_else(|| WireError::SmtpCode {
            line: Snippet::of(line),
        })?;
        let last = match line.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => {
                return Err(WireError::SmtpSeparator {
                    line: Snippet::of(line),
                });
            }
        };
        if let Some(expected) = self.code
            && expected != code
        {
            return Err(WireError::SmtpMixedCodes {
                expected,
                got: code,
                line: Snippet::of(line),
            });
        }
        if self.lines.len() >= SMTP_MAX_REPLY_LINES {
            return Err(WireError::SmtpTooManyLines {
                limit: SMTP_MAX_REPLY_LINES,
            });
        }
        self.code = Some(code);
        self.lines.push(text(line.get(4..).unwrap_or_default()));
        if !last {
            return Ok(None);
        }
        self.code = None;
        Ok(Some(SmtpReply {
            code,
            lines: mem::take(&mut self.lines),
        }))
    }
}

/// The reply code at the start of `line`, if it is three digits in 200-599.
fn smtp_code(line: &[u8]) -> Option<u16> {
    let &[a, b, c] = line.get(..3)? else {
        return None;
    };
    if ![a, b, c].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = [a, b, c]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    (200..600).contains(&code).then_some(code)
}

/// The extensions an EHLO reply announces (every line after the greeting line), as
/// `(KEYWORD, parameters)`: the keyword upper-cased, the parameters as sent.
/// `AUTH PLAIN LOGIN` gives `("AUTH", ["PLAIN", "LOGIN"])`, and so does the old
/// form `AUTH=PLAIN LOGIN` (Postfix may send both).
pub(crate) fn ehlo_keywords(reply: &SmtpReply) -> Vec<(String, Vec<String>)> {
    reply
        .lines
        .iter()
        .skip(1)
        .filter_map(|l| keyword_line(l))
        .collect()
}

/// Splits `KEYWORD param...` (or `KEYWORD=param param...`); `None` for a blank line.
fn keyword_line(line: &str) -> Option<(String, Vec<String>)> {
    let mut words = line.split_ascii_whitespace();
    let first = words.next()?;
    let (keyword, inline) = match first.split_once('=') {
        Some((k, v)) => (k, Some(v).filter(|v| !v.is_empty())),
        None => (first, None),
    };
    let params = inline.into_iter().chain(words).map(str::to_owned).collect();
    Some((keyword.to_ascii_uppercase(), params))
}

/// The status of a tagged IMAP response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImapStatus {
    /// `OK`: the command succeeded.
    Ok,
    /// `NO`: the command failed (e.g. a refused login).
    No,
    /// `BAD`: the command was not understood.
    Bad,
}

/// One IMAP response line (RFC 9051 §7, RFC 3501 §7), classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ImapResponse {
    /// `* ...`: status (`* OK`, `* NO`, `* BAD`, `* BYE`, `* PREAUTH`) or data
    /// (`* CAPABILITY ...`, `* 3 EXISTS`, `* SEARCH 2 5`, ...).
    Untagged {
        /// The message number of `* 3 EXISTS`, `* 7 FETCH ...`.
        number: Option<u32>,
        /// The response name, upper-cased: `OK`, `BYE`, `CAPABILITY`, `EXISTS`...
        kind: String,
        /// The text of a `[RESP-CODE ...]`, for status responses only.
        code: Option<String>,
        /// The rest of the line.
        text: String,
        /// The size of the literal `{N}` that ends a data response: the next `N`
        /// bytes are its body (skip them with [`LineSplitter::skip`]), and the line
        /// after them continues this response.
        literal: Option<u64>,
    },
    /// `TAG OK|NO|BAD [CODE] text`: the end of a command.
    Tagged {
        /// The tag of the command this completes.
        tag: String,
        /// How it ended.
        status: ImapStatus,
        /// The text of a `[RESP-CODE ...]`.
        code: Option<String>,
        /// The human-readable rest.
        text: String,
    },
    /// `+ ...`: the server waits for more of the command.
    Continuation {
        /// The text after `+ `.
        text: String,
    },
}

/// The response names of untagged status responses, which carry `[codes]`.
const IMAP_STATUS_KINDS: [&str; 5] = ["OK", "NO", "BAD", "BYE", "PREAUTH"];

/// Classifies one IMAP response line (without terminator).
pub(crate) fn parse_imap_response(line: &[u8]) -> Result<ImapResponse, WireError> {
    match line {
        [b'+'] => Ok(ImapResponse::Continuation {
            text: String::new(),
        }),
        [b'+', b' ', rest @ ..] => Ok(ImapResponse::Continuation { text: text(rest) }),
        [b'*', b' ', rest @ ..] => parse_untagged(line, rest),
        [b'+' | b'*', ..] => Err(imap_syntax(line, "'+' or '*' without a space")),
        _ => parse_tagged(line),
    }
}

/// `rest` is what follows `* ` in `line`.
fn parse_untagged(line: &[u8], rest: &[u8]) -> Result<ImapResponse, WireError> {
    let (first, after) = split_sp(rest);
    let (number, kind, after) = if !first.is_empty() && first.iter().all(u8::is_ascii_digit) {
        let n = std::str::from_utf8(first)
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| imap_syntax(line, "message number out of range"))?;
        let (kind, after) = split_sp(after.unwrap_or_default());
        (Some(n), kind, after)
    } else {
        (None, first, after)
    };
    if kind.is_empty() || !kind.iter().all(|&b| is_atom_char(b)) {
        return Err(imap_syntax(line, "bad response name"));
    }
    let kind = String::from_utf8_lossy(kind).to_ascii_uppercase();
    let rest = after.unwrap_or_default();
    if number.is_none() && IMAP_STATUS_KINDS.contains(&kind.as_str()) {
        let (code, text) = resp_text(line, rest)?;
        return Ok(ImapResponse::Untagged {
            number,
            kind,
            code,
            text,
            literal: None,
        });
    }
    Ok(ImapResponse::Untagged {
        number,
        kind,
        code: None,
        text: text(rest),
        literal: trailing_literal(rest)?,
    })
}

fn parse_tagged(line: &[u8]) -> Result<ImapResponse, WireError> {
    let (tag, after) = split_sp(line);
    // A tag is ASTRING-CHARs (ATOM-CHARs and ']') except '+'.
    let tag_char = |&b: &u8| (is_atom_char(b) && b != b'+') || b == b']';
    if tag.is_empty() || !tag.iter().all(tag_char) {
        return Err(imap_syntax(line, "bad tag"));
    }
    let (status, rest) = split_sp(after.ok_or_else(|| imap_syntax(line, "no status"))?);
    let status = match status.to_ascii_uppercase().as_slice() {
        b"OK" => ImapStatus::Ok,
        b"NO" => ImapStatus::No,
        b"BAD" => ImapStatus::Bad,
        _ => return Err(imap_syntax(line, "status is not OK, NO or BAD")),
    };
    let (code, text) = resp_text(line, rest.unwrap_or_default())?;
    Ok(ImapResponse::Tagged {
        tag: String::from_utf8_lossy(tag).into_owned(),
        status,
        code,
        text,
    })
}

fn imap_syntax(line: &[u8], reason: &'static str) -> WireError {
    WireError::ImapSyntax {
        reason,
        line: Snippet::of(line),
    }
}

impl ImapResponse {
    /// The capabilities this response lists: those of `* CAPABILITY ...`, or of a
    /// `[CAPABILITY ...]` code in a greeting or a tagged OK.
    pub(crate) fn capabilities(&self) -> Option<ImapCapabilities> {
        let list = match self {
            ImapResponse::Untagged {
                number: None,
                kind,
                text,
                ..
            } if kind == "CAPABILITY" => text.as_str(),
            ImapResponse::Untagged {
                code: Some(code), ..
            }
            | ImapResponse::Tagged {
                code: Some(code), ..
            } => {
                let (name, list) = code.split_once(' ').unwrap_or((code, ""));
                if !name.eq_ignore_ascii_case("CAPABILITY") {
                    return None;
                }
                list
            }
            _ => return None,
        };
        Some(ImapCapabilities(
            list.split_ascii_whitespace()
                .map(str::to_ascii_uppercase)
                .collect(),
        ))
    }
}

/// An IMAP server's capabilities, upper-cased (`IMAP4REV1`, `STARTTLS`,
/// `AUTH=PLAIN`...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ImapCapabilities(Vec<String>);

impl ImapCapabilities {
    /// Every capability, upper-cased, in the server's order.
    pub(crate) fn atoms(&self) -> &[String] {
        &self.0
    }

    /// Whether `atom` is listed (compared without regard to case).
    pub(crate) fn has(&self, atom: &str) -> bool {
        self.0.iter().any(|a| a.eq_ignore_ascii_case(atom))
    }

    /// Whether the server offers STARTTLS.
    pub(crate) fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    /// Whether LOGIN is refused on this connection (RFC 9051: until TLS is on).
    pub(crate) fn login_disabled(&self) -> bool {
        self.has("LOGINDISABLED")
    }

    /// Whether SASL mechanism `mech` is offered (`AUTH=<mech>`).
    pub(crate) fn auth(&self, mech: &str) -> bool {
        self.0.iter().any(|a| {
            a.strip_prefix("AUTH=")
                .is_some_and(|m| m.eq_ignore_ascii_case(mech))
        })
    }
}

/// How an IMAP server greets (RFC 9051 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GreetingKind {
    /// `* OK`: ready for login.
    Ok,
    /// `* PREAUTH`: already authenticated.
    PreAuth,
    /// `* BYE`: the server refuses the connection.
    Bye,
}

/// The first line from an IMAP server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImapGreeting {
    /// OK, PREAUTH or BYE.
    pub kind: GreetingKind,
    /// Capabilities, when the greeting carries a `[CAPABILITY ...]` code.
    pub capabilities: Option<ImapCapabilities>,
    /// The human-readable text.
    pub text: String,
}

/// Parses the greeting line of an IMAP server; anything but an untagged OK,
/// PREAUTH or BYE is a [`WireError::ImapGreeting`].
pub(crate) fn parse_imap_greeting(line: &[u8]) -> Result<ImapGreeting, WireError> {
    let not_greeting = || WireError::ImapGreeting {
        line: Snippet::of(line),
    };
    let response = parse_imap_response(line).map_err(|_| not_greeting())?;
    let capabilities = response.capabilities();
    let ImapResponse::Untagged {
        number: None,
        kind,
        text,
        ..
    } = response
    else {
        return Err(not_greeting());
    };
    let kind = match kind.as_str() {
        "OK" => GreetingKind::Ok,
        "PREAUTH" => GreetingKind::PreAuth,
        "BYE" => GreetingKind::Bye,
        _ => return Err(not_greeting()),
    };
    Ok(ImapGreeting {
        kind,
        capabilities,
        text,
    })
}

/// `ATOM-CHAR` of RFC 9051: any CHAR except `(){ %*"\]` and controls.
fn is_atom_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b"(){%*\"\\]".contains(&b)
}

/// Splits at the first space: the token before it and, if there is one, the rest.
fn split_sp(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    match bytes.iter().position(|&b| b == b' ') {
        Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
        None => (bytes, None),
    }
}

/// Splits `[CODE] text` (the end of `line`) into the code and the text.
fn resp_text(line: &[u8], rest: &[u8]) -> Result<(Option<String>, String), WireError> {
    let [b'[', inner @ ..] = rest else {
        return Ok((None, text(rest)));
    };
    let end = inner
        .iter()
        .position(|&b| b == b']')
        .ok_or_else(|| imap_syntax(line, "unterminated [code]"))?;
    let after = &inner[end + 1..];
    let after = after.strip_prefix(b" ").unwrap_or(after);
    Ok((Some(text(&inner[..end])), text(after)))
}

/// The size of the literal that ends `line`, a line that continues a response after
/// the body of an earlier literal (`* 1 FETCH (BODY[] {5}`, five bytes, then
/// ` FLAGS () UID {3}`, three bytes, then `)`). Such a line is not a response of its
/// own, so [`parse_imap_response`] does not apply; this is its only structure.
///
/// # Errors
/// [`WireError::ImapLiteralTooLarge`] over [`IMAP_MAX_LITERAL`].
pub(crate) fn imap_continued_literal(line: &[u8]) -> Result<Option<u64>, WireError> {
    trailing_literal(line)
}

/// The size of the literal (`{N}`, `{N+}`, `~{N}`) that ends `rest`, if any.
fn trailing_literal(rest: &[u8]) -> Result<Option<u64>, WireError> {
    let Some(body) = rest.strip_suffix(b"}") else {
        return Ok(None);
    };
    let Some(open) = body.iter().rposition(|&b| b == b'{') else {
        return Ok(None);
    };
    let inner = &body[open + 1..];
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    let size = digits.iter().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    match size {
        Some(size) if size <= IMAP_MAX_LITERAL => Ok(Some(size)),
        _ => Err(WireError::ImapLiteralTooLarge {
            announced: Snippet::of(digits),
            limit: IMAP_MAX_LITERAL,
        }),
    }
}

/// A POP3 status line (RFC 1939 §3): `+OK text` or `-ERR text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pop3Status {
    /// `+OK` (true) or `-ERR` (false).
    pub ok: bool,
    /// The text after the status, `""` if none.
    pub text: String,
}

/// Parses a POP3 status line. The status is matched without regard to case and
/// must be followed by a space or the end of the line; anything else (an IMAP or
/// SMTP greeting, garbage) is a [`WireError::Pop3Status`].
pub(crate) fn parse_pop3_status(line: &[u8]) -> Result<Pop3Status, WireError> {
    let status = |prefix: &[u8]| {
        let (head, rest) = line.split_at_checked(prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        match rest {
            [] => Some(&b""[..]),
            [b' ', text @ ..] => Some(text),
            _ => None,
        }
    };
    let (ok, rest) = match (status(b"+OK"), status(b"-ERR")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => {
            return Err(WireError::Pop3Status {
                line: Snippet::of(line),
            });
        }
    };
    Ok(Pop3Status {
        ok,
        text: text(rest),
    })
}

/// Collects the body of a POP3 multi-line response (the lines after its `+OK`) up
/// to the terminating `.` line, removing the byte-stuffed leading dots.
#[derive(Debug)]
pub(crate) struct Pop3MultiLine {
    lines: Vec<String>,
    max_lines: usize,
}

impl Pop3MultiLine {
    /// A collector for at most `max_lines` lines, e.g. [`POP3_MAX_LINES`] for CAPA.
    pub(crate) fn new(max_lines: usize) -> Self {
        Pop3MultiLine {
            lines: Vec::new(),
            max_lines,
        }
    }

    /// Takes one line (without terminator); returns the body once the `.` line
    /// arrived, and starts afresh after it or after an error.
    pub(crate) fn push(&mut self, line: &[u8]) -> Result<Option<Vec<String>>, WireError> {
        if line == b"." {
            return Ok(Some(mem::take(&mut self.lines)));
        }
        if self.lines.len() >= self.max_lines {
            self.lines = Vec::new();
            return Err(WireError::Pop3TooManyLines {
                limit: self.max_lines,
            });
        }
        self.lines
            .push(text(line.strip_prefix(b".").unwrap_or(line)));
        Ok(None)
    }
}

/// The capabilities of a POP3 CAPA response body (RFC 2449), as
/// `(KEYWORD, arguments)`: `SASL PLAIN LOGIN` gives `("SASL", ["PLAIN", "LOGIN"])`.
pub(crate) fn pop3_capa_keywords(lines: &[String]) -> Vec<(String, Vec<String>)> {
    lines.iter().filter_map(|l| keyword_line(l)).collect()
}

/// Bytes per `feed` in the protocol fuzz entry points, like a small socket read.
const FUZZ_READ: usize = 512;

/// Fuzz entry point of `fuzz/fuzz_targets/lines.rs`: the first byte of `data`
/// picks the line cap (1-256), the second the size of each feed (1-256); the rest
/// is the stream. Lines ending in an IMAP literal `{N}` make it skip `N` bytes.
///
/// # Panics
/// If an invariant of [`LineSplitter`] or [`WireError`] breaks, which is what the
/// fuzzer looks for. Returns the most bytes the splitter held (the unit tests
/// replay the corpus and check it against the cap).
pub fn fuzz_lines(data: &[u8]) -> usize {
    let [cap, read, stream @ ..] = data else {
        return 0;
    };
    let mut lines = LineSplitter::new(usize::from(*cap) + 1);
    fuzz_drive(
        &mut lines,
        stream,
        usize::from(*read) + 1,
        |lines, line| match trailing_literal(line) {
            Ok(Some(n)) => lines.skip(n),
            Ok(None) => {}
            Err(e) => fuzz_check_error(&e),
        },
    )
}

/// Fuzz entry point of `fuzz/fuzz_targets/smtp_reply.rs`: `data` is what an SMTP
/// server sends. Panics and returns as [`fuzz_lines`] does.
pub fn fuzz_smtp(data: &[u8]) -> usize {
    let mut parser = SmtpReplyParser::new();
    let mut lines = LineSplitter::new(MAX_LINE);
    fuzz_drive(&mut lines, data, FUZZ_READ, |_, line| {
        match parser.push(line) {
            Ok(Some(reply)) => {
                assert!((200..600).contains(&reply.code), "{reply:?}");
                assert!((1..=SMTP_MAX_REPLY_LINES).contains(&reply.lines.len()));
                let _ = (reply.is_positive(), ehlo_keywords(&reply));
            }
            Ok(None) => {}
            Err(e) => fuzz_check_error(&e),
        }
    })
}

/// Fuzz entry point of `fuzz/fuzz_targets/imap_response.rs`: `data` is what an
/// IMAP server sends, greeting first; literals are skipped as a probe would.
/// Panics and returns as [`fuzz_lines`] does.
pub fn fuzz_imap(data: &[u8]) -> usize {
    let mut first = true;
    let mut lines = LineSplitter::new(IMAP_MAX_LINE);
    fuzz_drive(&mut lines, data, FUZZ_READ, |lines, line| {
        if mem::take(&mut first)
            && let Err(e) = parse_imap_greeting(line)
        {
            fuzz_check_error(&e);
        }
        match parse_imap_response(line) {
            Ok(response) => {
                if let Some(caps) = response.capabilities() {
                    let _ = (caps.starttls(), caps.login_disabled(), caps.auth("PLAIN"));
                }
                if let ImapResponse::Untagged {
                    literal: Some(n), ..
                } = response
                {
                    assert!(n <= IMAP_MAX_LITERAL);
                    lines.skip(n);
                }
            }
            Err(e) => fuzz_check_error(&e),
        }
    })
}

/// Fuzz entry point of `fuzz/fuzz_targets/pop3.rs`: `data` is what a POP3 server
/// sends; after the greeting, every `+OK` opens a multi-line body as CAPA's does.
/// Panics and returns as [`fuzz_lines`] does.
pub fn fuzz_pop3(data: &[u8]) -> usize {
    let mut greeted = false;
    let mut body: Option<Pop3MultiLine> = None;
    let mut lines = LineSplitter::new(MAX_LINE);
    fuzz_drive(&mut lines, data, FUZZ_READ, |_, line| {
        if let Some(collector) = &mut body {
            match collector.push(line) {
                Ok(Some(capa)) => {
                    assert!(capa.len() <= POP3_MAX_LINES);
                    let _ = pop3_capa_keywords(&capa);
                    body = None;
                }
                Ok(None) => {}
                Err(e) => {
                    fuzz_check_error(&e);
                    body = None;
                }
            }
            return;
        }
        match parse_pop3_status(line) {
            Ok(status) if status.ok && mem::replace(&mut greeted, true) => {
                body = Some(Pop3MultiLine::new(POP3_MAX_LINES));
            }
            Ok(_) => {}
            Err(e) => fuzz_check_error(&e),
        }
    })
}

/// Feeds `stream` in `read`-byte chunks, drains the lines after each feed into
/// `on_line`, checks the caps, and returns the peak of buffered bytes.
fn fuzz_drive(
    lines: &mut LineSplitter,
    stream: &[u8],
    read: usize,
    mut on_line: impl FnMut(&mut LineSplitter, &[u8]),
) -> usize {
    let mut peak = 0;
    for chunk in stream.chunks(read.max(1)) {
        lines.feed(chunk);
        assert!(lines.buffered() <= lines.max_buffered());
        peak = peak.max(lines.buffered());
        while let Some(line) = lines.next_line() {
            match line {
                Ok(line) => {
                    assert!(line.len() <= lines.max_line());
                    on_line(lines, &line);
                }
                Err(e) => {
                    fuzz_check_error(&e);
                    break;
                }
            }
        }
    }
    peak
}

/// Every error is a protocol error with a short, printable message.
fn fuzz_check_error(e: &WireError) {
    assert_eq!(e.class(), ErrorClass::Protocol);
    let msg = e.to_string();
    assert!(msg.len() <= 320, "{} bytes", msg.len());
    assert!(msg.bytes().all(|b| (0x20..0x7f).contains(&b)), "{msg}");
}

/// Decodes free text lossily.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Lines = Vec<Vec<u8>>;

    /// Feeds `chunks` one by one, draining after each; the lines, or those before
    /// the first error and the error.
    fn split(max_line: usize, chunks: &[&[u8]]) -> Result<Lines, (Lines, WireError)> {
        let mut s = LineSplitter::new(max_line);
        let mut lines = Vec::new();
        for chunk in chunks {
            s.feed(chunk);
            assert!(s.buffered() <= s.max_buffered());
            while let Some(line) = s.next_line() {
                match line {
                    Ok(line) => lines.push(line),
                    Err(e) => return Err((lines, e)),
                }
            }
        }
        Ok(lines)
    }

    #[test]
    fn splits_lines_across_any_chunking() {
        type Chunks = &'static [&'static [u8]];
        #[rustfmt::skip]
        let table: &[(Chunks, Chunks)] = &[
            (&[b"220 hi\r\n"], &[b"220 hi"]),
            (&[b"a\nb\r\nc"], &[b"a", b"b"]),
            (&[b"a\r", b"\nb", b"c\n"], &[b"a", b"bc"]),
            (&[b"\r\n\n"], &[b"", b""]),
            (&[b"a\rb\r\r\n"], &[b"a\rb\r"]), // only the CR before the LF is a terminator
            (&[b"\xff\x00\xfe\r\n"], &[b"\xff\x00\xfe"]), // bytes stay bytes
            (&[b"", b"x", b"", b"\n"], &[b"x"]),
        ];
        for (chunks, want) in table {
            assert_eq!(split(MAX_LINE, chunks).unwrap(), *want, "{chunks:?}");
        }
    }

    #[test]
    fn line_cap_is_exact_and_counts_no_terminator() {
        let (exact, over) = ([b'a'; 8], [b'a'; 9]);
        assert_eq!(split(8, &[&exact, b"\r\n"]).unwrap(), [exact]);
        // The CR of a maximal line may arrive alone before its LF.
        assert_eq!(split(8, &[&exact, b"\r", b"\n"]).unwrap(), [exact]);
        for chunks in [&[&over[..], b"\r\n"][..], &[&over, b"\n"], &[&over, b"x"]] {
            let (lines, e) = split(8, chunks).unwrap_err();
            assert!(lines.is_empty());
            let WireError::LineTooLong { limit: 8, start } = e else {
                panic!("{e:?}")
            };
            assert!(start.as_str().starts_with("'aaaaaaaaa"), "{start}");
        }
    }

    #[test]
    fn ten_megabytes_without_a_newline_stay_within_the_cap() {
        let chunk = vec![b'A'; 64 * 1024];
        let mut s = LineSplitter::new(MAX_LINE);
        let mut first_error = None;
        for _ in 0..160 {
            s.feed(&chunk);
            assert!(s.buffered() <= s.max_buffered(), "{}", s.buffered());
            if let Some(line) = s.next_line() {
                let e = line.unwrap_err();
                assert_eq!(first_error.get_or_insert(e.clone()), &e, "sticky");
            }
        }
        let e = first_error.expect("an overlong line is reported");
        assert!(matches!(
            e,
            WireError::LineTooLong {
                limit: MAX_LINE,
                ..
            }
        ));
        assert_eq!(s.buffered(), 0, "the buffer is freed after an error");

        // The same in one call, without draining in between.
        let mut s = LineSplitter::new(MAX_LINE);
        s.feed(&vec![0u8; 10 * 1024 * 1024]);
        assert!(s.buffered() <= s.max_buffered());
        assert!(matches!(
            s.next_line(),
            Some(Err(WireError::LineTooLong { .. }))
        ));
    }

    #[test]
    fn lines_before_a_failure_still_come_out() {
        let data = [&b"250-one\r\n250 two\r\n"[..], &[b'x'; 100]].concat();
        let (lines, e) = split(16, &[&data]).unwrap_err();
        assert_eq!(lines, [&b"250-one"[..], b"250 two"]);
        assert!(matches!(e, WireError::LineTooLong { limit: 16, .. }));
    }

    #[test]
    fn flooding_ahead_of_the_reader_is_buffer_full() {
        let mut s = LineSplitter::new(4); // holds 16 unread bytes
        s.feed(b"abc\nabc\nabc\nabc\nabc\nabc\n");
        assert_eq!(s.buffered(), 16);
        for _ in 0..4 {
            assert_eq!(s.next_line(), Some(Ok(b"abc".to_vec())));
        }
        assert_eq!(
            s.next_line(),
            Some(Err(WireError::BufferFull { limit: 16 }))
        );
        s.feed(b"more\n");
        assert_eq!(s.buffered(), 0, "input after an error is discarded");
    }

    #[test]
    fn skip_drops_literal_bytes_held_and_still_to_come() {
        let mut s = LineSplitter::new(MAX_LINE);
        s.feed(b"* 1 FETCH (BODY[] {11}\r\nab\n");
        assert_eq!(s.next_line(), Some(Ok(b"* 1 FETCH (BODY[] {11}".to_vec())));
        s.skip(11);
        assert_eq!(s.next_line(), None);
        s.feed(b"cdefgh\r\n");
        assert_eq!(s.next_line(), None, "still inside the literal");
        s.feed(b")\r\na1 OK done\r\n");
        assert_eq!(s.next_line(), Some(Ok(b")".to_vec())));
        assert_eq!(s.next_line(), Some(Ok(b"a1 OK done".to_vec())));
        assert_eq!(s.next_line(), None);
    }

    /// Feeds `lines` to one parser; the replies, and the first error.
    fn smtp(lines: &[&str]) -> (Vec<SmtpReply>, Option<WireError>) {
        let mut p = SmtpReplyParser::new();
        let mut replies = Vec::new();
        for line in lines {
            match p.push(line.as_bytes()) {
                Ok(reply) => replies.extend(reply),
                Err(e) => return (replies, Some(e)),
            }
        }
        (replies, None)
    }

    fn keywords(rows: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        let strings = |p: &[&str]| p.iter().map(|p| p.to_string()).collect();
        rows.iter()
            .map(|(k, p)| (k.to_string(), strings(p)))
            .collect()
    }

    #[test]
    fn postfix_ehlo_reply_and_its_keywords() {
        let (replies, err) = smtp(&[
            "250-127.0.0.1",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-STARTTLS",
            "250-AUTH PLAIN LOGIN",
            "250-ENHANCEDSTATUSCODES",
            "250-8BITMIME",
            "250 CHUNKING",
        ]);
        assert_eq!(err, None);
        let [reply] = &replies[..] else {
            panic!("{replies:?}")
        };
        assert_eq!((reply.code, reply.lines.len()), (250, 8));
        assert_eq!(reply.lines[0], "127.0.0.1");
        assert!(reply.is_positive());
        #[rustfmt::skip]
        let want = keywords(&[
            ("PIPELINING", &[]), ("SIZE", &["10240000"]), ("STARTTLS", &[]),
            ("AUTH", &["PLAIN", "LOGIN"]), ("ENHANCEDSTATUSCODES", &[]), ("8BITMIME", &[]),
            ("CHUNKING", &[]),
        ]);
        assert_eq!(ehlo_keywords(reply), want);
    }

    #[test]
    fn ehlo_keywords_accept_old_auth_form_and_any_case() {
        let lines = ["mx", "AUTH=PLAIN LOGIN", "starttls", "  ", "AUTH= CRAM-MD5"];
        let reply = SmtpReply {
            code: 250,
            lines: lines.map(String::from).to_vec(),
        };
        #[rustfmt::skip]
        let want = keywords(&[
            ("AUTH", &["PLAIN", "LOGIN"]), ("STARTTLS", &[]), ("AUTH", &["CRAM-MD5"]),
        ]);
        assert_eq!(ehlo_keywords(&reply), want);
        let greeting_only = SmtpReply {
            code: 250,
            lines: vec!["mx".into()],
        };
        assert!(ehlo_keywords(&greeting_only).is_empty());
    }

    #[test]
    fn single_line_smtp_replies() {
        #[rustfmt::skip]
        let table: &[(&str, u16, &str, bool)] = &[
            ("220 mx ESMTP Postfix (Debian/GNU)", 220, "mx ESMTP Postfix (Debian/GNU)", true),
            ("250 2.0.0 Ok: queued as 4F1C2", 250, "2.0.0 Ok: queued as 4F1C2", true),
            ("250", 250, "", true),
            ("250 ", 250, "", true),
            ("354 End data with <CR><LF>.<CR><LF>", 354, "End data with <CR><LF>.<CR><LF>", true),
            ("421 4.3.2 Service shutting down", 421, "4.3.2 Service shutting down", false),
            ("535 5.7.8 Error: authentication failed", 535, "5.7.8 Error: authentication failed", false),
            ("599 x", 599, "x", false),
        ];
        for &(line, code, txt, positive) in table {
            let (replies, err) = smtp(&[line]);
            assert_eq!(err, None, "{line}");
            let want = SmtpReply {
                code,
                lines: vec![txt.to_owned()],
            };
            assert_eq!(replies, [want], "{line}");
            assert_eq!(replies[0].is_positive(), positive, "{line}");
        }
        let reply = SmtpReplyParser::new().push(b"220 \xffok").unwrap().unwrap();
        assert_eq!(
            reply.lines,
            ["\u{fffd}ok"],
            "non-UTF-8 text is decoded lossily"
        );
    }

    #[test]
    fn smtp_reply_errors() {
        let code = |l: &str| WireError::SmtpCode {
            line: Snippet::of(l.as_bytes()),
        };
        let sep = |l: &str| WireError::SmtpSeparator {
            line: Snippet::of(l.as_bytes()),
        };
        let mixed = |expected, got, l: &str| WireError::SmtpMixedCodes {
            expected,
            got,
            line: Snippet::of(l.as_bytes()),
        };
        #[rustfmt::skip]
        let table: &[(&[&str], WireError)] = &[
            (&[""], code("")),
            (&["25"], code("25")),
            (&["abc hello"], code("abc hello")),
            (&["2x0 ok"], code("2x0 ok")),
            (&["199 too low"], code("199 too low")),
            (&["600 too high"], code("600 too high")),
            (&["999 nonsense"], code("999 nonsense")),
            (&["+OK POP3 ready"], code("+OK POP3 ready")),
            (&["250_x"], sep("250_x")),
            (&["250\tx"], sep("250\tx")),
            (&["2500"], sep("2500")),
            (&["250-a", "xyz"], code("xyz")),
            (&["250-a", "251 b"], mixed(250, 251, "251 b")),
            (&["250-a", "550-b"], mixed(250, 550, "550-b")),
        ];
        for (lines, want) in table {
            assert_eq!(smtp(lines), (vec![], Some(want.clone())), "{lines:?}");
        }
    }

    #[test]
    fn smtp_reply_line_cap_and_restart() {
        let mut lines = vec!["250-x"; SMTP_MAX_REPLY_LINES - 1];
        lines.push("250 last");
        let (replies, err) = smtp(&lines);
        assert_eq!(err, None);
        assert_eq!(replies[0].lines.len(), SMTP_MAX_REPLY_LINES);

        let (_, err) = smtp(&vec!["250-x"; SMTP_MAX_REPLY_LINES + 1]);
        let limit = SMTP_MAX_REPLY_LINES;
        assert_eq!(err, Some(WireError::SmtpTooManyLines { limit }));

        // After a reply or an error the parser starts a new reply.
        let mut p = SmtpReplyParser::new();
        assert_eq!(p.push(b"250-a"), Ok(None));
        assert!(p.push(b"251 b").is_err());
        assert_eq!(p.push(b"354 go").unwrap().unwrap().code, 354);
        assert_eq!(p.push(b"221 bye").unwrap().unwrap().code, 221);
    }

    const DOVECOT_GREETING: &str = "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID \
        ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.";

    fn untagged(number: Option<u32>, kind: &str, code: Option<&str>, text: &str) -> ImapResponse {
        let (kind, code, text) = (kind.into(), code.map(Into::into), text.into());
        ImapResponse::Untagged {
            number,
            kind,
            code,
            text,
            literal: None,
        }
    }

    fn tagged(tag: &str, status: ImapStatus, code: Option<&str>, text: &str) -> ImapResponse {
        let (tag, code, text) = (tag.into(), code.map(Into::into), text.into());
        ImapResponse::Tagged {
            tag,
            status,
            code,
            text,
        }
    }

    fn continuation(text: &str) -> ImapResponse {
        ImapResponse::Continuation { text: text.into() }
    }

    #[test]
    fn imap_responses_are_classified() {
        use ImapStatus::{Bad, No, Ok};
        let caps = "CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ \
            STARTTLS AUTH=PLAIN";
        #[rustfmt::skip]
        let table = [
            (DOVECOT_GREETING, untagged(None, "OK", Some(caps), "Dovecot (Debian) ready.")),
            ("* ok hi", untagged(None, "OK", None, "hi")),
            ("* OK", untagged(None, "OK", None, "")),
            ("* PREAUTH [CAPABILITY IMAP4rev2] Hi x", untagged(None, "PREAUTH", Some("CAPABILITY IMAP4rev2"), "Hi x")),
            ("* BYE Too many connections", untagged(None, "BYE", None, "Too many connections")),
            ("* NO [ALERT] Quota exceeded", untagged(None, "NO", Some("ALERT"), "Quota exceeded")),
            ("* BAD [] x", untagged(None, "BAD", Some(""), "x")),
            ("* CAPABILITY IMAP4rev1 STARTTLS", untagged(None, "CAPABILITY", None, "IMAP4rev1 STARTTLS")),
            ("* 3 EXISTS", untagged(Some(3), "EXISTS", None, "")),
            ("* 0 RECENT", untagged(Some(0), "RECENT", None, "")),
            ("* 4294967295 EXPUNGE", untagged(Some(u32::MAX), "EXPUNGE", None, "")),
            ("* 7 FETCH (FLAGS (\\Seen))", untagged(Some(7), "FETCH", None, "(FLAGS (\\Seen))")),
            ("* SEARCH 2 5 7", untagged(None, "SEARCH", None, "2 5 7")),
            ("* SEARCH", untagged(None, "SEARCH", None, "")),
            ("* FLAGS (\\Answered \\Flagged)", untagged(None, "FLAGS", None, "(\\Answered \\Flagged)")),
            // A `{N}` in the text of a status response is text, not a literal.
            ("* OK see {5}", untagged(None, "OK", None, "see {5}")),
            ("a1 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).",
                tagged("a1", Ok, Some("READ-ONLY"), "Examine completed (0.001 + 0.000 secs).")),
            ("a2 NO [AUTHENTICATIONFAILED] Authentication failed.",
                tagged("a2", No, Some("AUTHENTICATIONFAILED"), "Authentication failed.")),
            ("a3 bad Error in IMAP command", tagged("a3", Bad, None, "Error in IMAP command")),
            ("A4 OK", tagged("A4", Ok, None, "")),
            ("x]1 OK done", tagged("x]1", Ok, None, "done")),
            ("+ idling", continuation("idling")),
            ("+", continuation("")),
            ("+ ", continuation("")),
        ];
        for (line, want) in table {
            assert_eq!(
                parse_imap_response(line.as_bytes()),
                Result::Ok(want),
                "{line}"
            );
        }
    }

    #[test]
    fn imap_syntax_errors() {
        #[rustfmt::skip]
        let table: &[(&[u8], &str)] = &[
            (b"", "bad tag"),
            (b"*", "'+' or '*' without a space"),
            (b"*OK", "'+' or '*' without a space"),
            (b"+OK Dovecot ready.", "'+' or '*' without a space"),
            (b"* ", "bad response name"),
            (b"*  OK", "bad response name"),
            (b"* 3", "bad response name"),
            (b"* 3 ", "bad response name"),
            (b"* OK\x00 x", "bad response name"),
            (b"* (x) y", "bad response name"),
            (b"* 4294967296 EXISTS", "message number out of range"),
            (b"* 99999999999999999999999 EXISTS", "message number out of range"),
            (b"* OK [CAPABILITY IMAP4rev1", "unterminated [code]"),
            (b"a1 OK [READ-WRITE", "unterminated [code]"),
            (b"a1", "no status"),
            (b"a1 MAYBE x", "status is not OK, NO or BAD"),
            (b"a1 PREAUTH x", "status is not OK, NO or BAD"),
            (b"a1  OK", "status is not OK, NO or BAD"),
            (b"220 mx.example ESMTP", "status is not OK, NO or BAD"),
            (b"a(1 OK x", "bad tag"),
            (b"a+1 OK x", "bad tag"),
            (b"a{1 OK x", "bad tag"),
            (b"\xff\xfe OK x", "bad tag"),
        ];
        for &(line, reason) in table {
            let want = WireError::ImapSyntax {
                reason,
                line: Snippet::of(line),
            };
            assert_eq!(
                parse_imap_response(line),
                Err(want),
                "{}",
                Snippet::of(line)
            );
        }
    }

    #[test]
    fn imap_literals_are_announced_and_capped() {
        let literal = |line: &str| match parse_imap_response(line.as_bytes())? {
            ImapResponse::Untagged { literal, .. } => Ok(literal),
            other => panic!("{other:?}"),
        };
        let too_large = |digits: &str| {
            let announced = Snippet::of(digits.as_bytes());
            Err(WireError::ImapLiteralTooLarge {
                announced,
                limit: IMAP_MAX_LITERAL,
            })
        };
        #[rustfmt::skip]
        let table = [
            ("* 1 FETCH (BODY[HEADER] {342}", Ok(Some(342))),
            ("* LIST () \"/\" {0}", Ok(Some(0))),
            ("* ID (\"name\" {8+}", Ok(Some(8))),
            ("* 1 FETCH (BINARY[] ~{7}", Ok(Some(7))),
            ("* 1 FETCH (BODY[] {1048576}", Ok(Some(IMAP_MAX_LITERAL))),
            ("* 1 FETCH (BODY[] {1048577}", too_large("1048577")),
            ("* 1 FETCH (BODY[] {99999999999}", too_large("99999999999")),
            ("* 1 FETCH (BODY[] {99999999999999999999999999}", too_large("99999999999999999999999999")),
            ("* 1 FETCH (X {abc}", Ok(None)),
            ("* 1 FETCH (X {}", Ok(None)),
            ("* 1 FETCH (X {+}", Ok(None)),
            ("* 1 FETCH (X 5}", Ok(None)),
            ("* 1 FETCH (X {5} y", Ok(None)),
        ];
        for (line, want) in table {
            assert_eq!(literal(line), want, "{line}");
        }
    }

    #[test]
    fn imap_continued_lines_announce_literals() {
        assert_eq!(
            imap_continued_literal(b" UID 7 BODY[HEADER] {12}"),
            Ok(Some(12))
        );
        assert_eq!(imap_continued_literal(b")"), Ok(None));
        assert_eq!(imap_continued_literal(b""), Ok(None));
        assert!(imap_continued_literal(b" X {1048577}").is_err());
    }

    #[test]
    fn imap_greetings() {
        let g = parse_imap_greeting(DOVECOT_GREETING.as_bytes()).unwrap();
        assert_eq!(
            (g.kind, g.text.as_str()),
            (GreetingKind::Ok, "Dovecot (Debian) ready.")
        );
        let caps = g.capabilities.expect("the greeting lists capabilities");
        assert!(caps.has("imap4rev1") && caps.has("LITERAL+") && caps.starttls());
        assert!(!caps.login_disabled());
        assert!(caps.auth("plain") && !caps.auth("LOGIN"));

        #[rustfmt::skip]
        let table = [
            ("* OK IMAP4rev1 Service Ready", GreetingKind::Ok, false),
            ("* PREAUTH [CAPABILITY IMAP4rev1] Logged in", GreetingKind::PreAuth, true),
            ("* BYE Autologout; idle for too long", GreetingKind::Bye, false),
        ];
        for (line, kind, has_caps) in table {
            let g = parse_imap_greeting(line.as_bytes()).unwrap();
            assert_eq!(
                (g.kind, g.capabilities.is_some()),
                (kind, has_caps),
                "{line}"
            );
        }
        #[rustfmt::skip]
        let not_greetings = [
            "+OK Dovecot (Debian) ready.", "220 mx.example ESMTP", "* NO go away",
            "* 1 EXISTS", "* CAPABILITY IMAP4rev1", "a1 OK hi", "+ go on", "",
        ];
        for line in not_greetings {
            let want = WireError::ImapGreeting {
                line: Snippet::of(line.as_bytes()),
            };
            assert_eq!(parse_imap_greeting(line.as_bytes()), Err(want), "{line}");
        }
    }

    #[test]
    fn imap_capabilities_from_lists_and_codes() {
        #[rustfmt::skip]
        let table: &[(&str, Option<&[&str]>)] = &[
            ("* CAPABILITY IMAP4rev1 LOGINDISABLED starttls auth=plain",
                Some(&["IMAP4REV1", "LOGINDISABLED", "STARTTLS", "AUTH=PLAIN"])),
            ("* CAPABILITY", Some(&[])),
            ("a1 OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Logged in", Some(&["IMAP4REV1", "AUTH=PLAIN"])),
            ("* OK [capability IMAP4rev2] hi", Some(&["IMAP4REV2"])),
            ("* OK [ALERT] CAPABILITY is not a code here", None),
            ("* OK [CAPABILITYX IMAP4rev1] x", None),
            ("* 1 CAPABILITY IMAP4rev1", None),
            ("+ CAPABILITY IMAP4rev1", None),
            ("a1 NO x", None),
        ];
        for &(line, want) in table {
            let caps = parse_imap_response(line.as_bytes()).unwrap().capabilities();
            let atoms = caps.map(|c| c.atoms().join(" "));
            assert_eq!(atoms, want.map(|w| w.join(" ")), "{line}");
        }
        let c = parse_imap_response(b"* CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS")
            .unwrap()
            .capabilities()
            .unwrap();
        assert!(c.login_disabled() && c.starttls() && !c.auth("PLAIN"));
    }

    #[test]
    fn pop3_status_lines() {
        #[rustfmt::skip]
        let table: &[(&[u8], bool, &str)] = &[
            (b"+OK Dovecot (Debian) ready.", true, "Dovecot (Debian) ready."),
            (b"+OK", true, ""),
            (b"+ok ", true, ""),
            (b"+Ok 2 320", true, "2 320"),
            (b"-ERR [AUTH] Authentication failed.", false, "[AUTH] Authentication failed."),
            (b"-err", false, ""),
            (b"+OK \xff", true, "\u{fffd}"),
        ];
        for &(line, ok, txt) in table {
            let want = Pop3Status {
                ok,
                text: txt.into(),
            };
            assert_eq!(parse_pop3_status(line), Ok(want), "{}", Snippet::of(line));
        }
        #[rustfmt::skip]
        let not_status: &[&[u8]] = &[
            b"", b"+", b"OK", b"+OKAY", b"+OK\tx", b"-ERRx", b"-ER", b" +OK",
            b"* OK IMAP4rev1 ready", b"220 mx.example ESMTP", b"\xff\xfe\x00",
        ];
        for &line in not_status {
            let want = WireError::Pop3Status {
                line: Snippet::of(line),
            };
            assert_eq!(parse_pop3_status(line), Err(want), "{}", Snippet::of(line));
        }
    }

    #[test]
    fn pop3_capa_body_unstuffing_and_keywords() {
        // Dovecot's CAPA body, after its "+OK".
        #[rustfmt::skip]
        let transcript = [
            "CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE", "STLS", "USER",
            "SASL PLAIN LOGIN", ".",
        ];
        let mut m = Pop3MultiLine::new(POP3_MAX_LINES);
        let (last, body) = transcript.split_last().unwrap();
        for line in body {
            assert_eq!(m.push(line.as_bytes()), Ok(None), "{line}");
        }
        let body = m.push(last.as_bytes()).unwrap().unwrap();
        #[rustfmt::skip]
        let want = keywords(&[
            ("CAPA", &[]), ("TOP", &[]), ("UIDL", &[]), ("RESP-CODES", &[]), ("PIPELINING", &[]),
            ("AUTH-RESP-CODE", &[]), ("STLS", &[]), ("USER", &[]), ("SASL", &["PLAIN", "LOGIN"]),
        ]);
        assert_eq!(pop3_capa_keywords(&body), want);

        // Dot-unstuffing; then the collector starts afresh.
        for line in [&b"..hidden"[..], b". x", b"..", b"plain"] {
            assert_eq!(m.push(line), Ok(None));
        }
        assert_eq!(
            m.push(b".").unwrap().unwrap(),
            [".hidden", " x", ".", "plain"]
        );
        assert_eq!(m.push(b"."), Ok(Some(vec![])));
    }

    #[test]
    fn pop3_multi_line_cap() {
        let mut m = Pop3MultiLine::new(3);
        for _ in 0..3 {
            assert_eq!(m.push(b"x"), Ok(None));
        }
        assert_eq!(m.push(b"x"), Err(WireError::Pop3TooManyLines { limit: 3 }));
        assert_eq!(m.push(b"."), Ok(Some(vec![])), "the lines were dropped");
    }

    #[test]
    fn every_error_is_protocol_and_quotes_little() {
        let mut garbage = b"\x1b[2J\x00".to_vec();
        garbage.resize(10 * 1024 * 1024, 0xff);
        let mut s = LineSplitter::new(MAX_LINE);
        s.feed(&garbage);
        let literal = format!("* 1 FETCH {{{}}}", "9".repeat(1000));
        let errors = [
            s.next_line().unwrap().unwrap_err(),
            WireError::BufferFull { limit: 4 },
            SmtpReplyParser::new().push(&garbage).unwrap_err(),
            SmtpReplyParser::new()
                .push(&[b"2500", &garbage[..]].concat())
                .unwrap_err(),
            smtp(&["250-a", "251 b"]).1.unwrap(),
            WireError::SmtpTooManyLines { limit: 1 },
            parse_imap_response(&garbage).unwrap_err(),
            parse_imap_response(literal.as_bytes()).unwrap_err(),
            parse_imap_greeting(&garbage).unwrap_err(),
            parse_pop3_status(&garbage).unwrap_err(),
            Pop3MultiLine::new(0).push(b"x").unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.class(), ErrorClass::Protocol, "{e:?}");
            let msg = e.to_string();
            assert!(msg.len() <= 320, "{} bytes: {msg}", msg.len());
            assert!(msg.bytes().all(|b| (0x20..0x7f).contains(&b)), "{msg}");
        }
    }

    #[test]
    fn snippets_are_short_and_printable() {
        #[rustfmt::skip]
        let table: &[(&[u8], &str)] = &[
            (b"", "''"),
            (b"250 ok", "'250 ok'"),
            (b"a'b\\c", r"'a\'b\\c'"),
            (b"\x00\x1b[31m\xff", r"'\x00\x1b[31m\xff'"),
            ("é".as_bytes(), r"'\xc3\xa9'"),
        ];
        for (input, want) in table {
            assert_eq!(Snippet::of(input).as_str(), *want);
        }
        let long = Snippet::of(&vec![b'Z'; 10 * 1024 * 1024]);
        assert_eq!(long.as_str(), format!("'{}'...", "Z".repeat(SNIPPET_BYTES)));
    }

    #[test]
    fn fuzz_corpus_replays_within_caps() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        type Entry = fn(&[u8]) -> usize;
        let targets: [(&str, Entry, usize); 4] = [
            ("lines", fuzz_lines, 256 * BUFFERED_LINES),
            ("smtp_reply", fuzz_smtp, MAX_LINE * BUFFERED_LINES),
            ("imap_response", fuzz_imap, IMAP_MAX_LINE * BUFFERED_LINES),
            ("pop3", fuzz_pop3, MAX_LINE * BUFFERED_LINES),
        ];
        for (target, entry, cap) in targets {
            let dir = corpus.join(target);
            let (mut seeds, mut top) = (0, 0);
            for file in std::fs::read_dir(&dir).unwrap() {
                let path = file.unwrap().path();
                let peak = entry(&std::fs::read(&path).unwrap());
                assert!(peak <= cap, "{}: {peak} bytes buffered", path.display());
                seeds += 1;
                top = top.max(peak);
            }
            assert!(seeds >= 10, "{target}: only {seeds} seeds");
            assert!(top > 0, "{target}: no seed buffered anything");
        }
    }

    /// Bytes that steer the parsers into their branches more often than uniform
    /// noise would.
    const ALPHABET: &[u8] = b"0123459 -+*.{}[]~\r\n\r\nOKNOBADERRYECAPILTSa\x00\xff\xc3";

    proptest::proptest! {
        /// A stable-toolchain miniature of the fuzz targets.
        #[test]
        fn arbitrary_streams_keep_the_invariants(
            data in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..2048),
        ) {
            for entry in [fuzz_lines, fuzz_smtp, fuzz_imap, fuzz_pop3] {
                entry(&data);
            }
        }
    }
}
