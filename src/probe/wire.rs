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
//! - [`MAX_LINE`] (8 KiB) per SMTP or POP3 line. RFC 5321 §4.5.3.1.5 and RFC 1939 §3
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
pub const SMTP_MAX_REPLY_LINES: usize = 256;
/// Cap on the lines of one POP3 multi-line response (CAPA).
pub const POP3_MAX_LINES: usize = 256;
/// Cap on the size an IMAP literal may announce.
pub const IMAP_MAX_LITERAL: u64 = 1024 * 1024;
/// Error messages quote at most this many bytes of the offending input.
pub const SNIPPET_BYTES: usize = 60;

/// A short, sanitised quotation of the input an error is about: at most
/// [`SNIPPET_BYTES`] bytes in single quotes, followed by `...` when cut, with every
/// byte outside printable ASCII (and `\`, `'`) escaped as `\xNN`, `\\`, `\'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet(String);

impl Snippet {
    /// Quotes the start of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
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
    pub fn as_str(&self) -> &str {
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
pub enum WireError {
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
    pub fn class(&self) -> ErrorClass {
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
pub struct LineSplitter {
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
    pub fn new(max_line: usize) -> Self {
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
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// The cap on unread bytes: [`BUFFERED_LINES`] times [`Self::max_line`].
    pub fn max_buffered(&self) -> usize {
        self.max_line.saturating_mul(BUFFERED_LINES)
    }

    /// How many unread bytes are held now; never more than [`Self::max_buffered`].
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Takes bytes from the peer. Whatever does not fit under
    /// [`Self::max_buffered`] is dropped, and once the lines already held are read,
    /// [`next_line`](Self::next_line) reports [`WireError::LineTooLong`] or
    /// [`WireError::BufferFull`].
    pub fn feed(&mut self, mut data: &[u8]) {
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
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, WireError>> {
        if let Some(e) = &self.error {
            return Some(Err(e.clone()));
        }
        let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
            self.scanned = self.buf.len();
            if self.buffered() > self.max_line + 1 {
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
    pub fn skip(&mut self, n: u64) {
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
pub struct SmtpReply {
    /// The three-digit code, 200-599.
    pub code: u16,
    /// The text after the code and separator, one entry per line (`""` for a bare
    /// code). Never empty.
    pub lines: Vec<String>,
}

impl SmtpReply {
    /// Whether the reply is positive: 2xx (completion) or 3xx (intermediate).
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
}

/// Assembles SMTP reply lines (`250-first`, `250-...`, `250 last`) into
/// [`SmtpReply`]s. After a reply or an error it starts afresh.
#[derive(Debug, Default)]
pub struct SmtpReplyParser {
    code: Option<u16>,
    lines: Vec<String>,
}

impl SmtpReplyParser {
    /// A parser waiting for the first line of a reply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one line (without terminator); returns the reply once its last line
    /// arrived.
    pub fn push(&mut self, line: &[u8]) -> Result<Option<SmtpReply>, WireError> {
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
pub fn ehlo_keywords(reply: &SmtpReply) -> Vec<(String, Vec<String>)> {
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

/// Decodes free text lossily.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one by one, draining after each, and returns every line (or
    /// the first error).
    type Lines = Vec<Vec<u8>>;

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
        type Row<'a> = (&'a [&'a [u8]], &'a [&'a [u8]]);
        let table: &[Row] = &[
            (&[b"220 hi\r\n"], &[b"220 hi"]),
            (&[b"a\nb\r\nc"], &[b"a", b"b"]),
            (&[b"a\r", b"\nb", b"c\n"], &[b"a", b"bc"]),
            (&[b"\r\n\n"], &[b"", b""]),
            // Only the CR before the LF is a terminator.
            (&[b"a\rb\r\r\n"], &[b"a\rb\r"]),
            // Bytes stay bytes: no decoding, no panic.
            (&[b"\xff\x00\xfe\r\n"], &[b"\xff\x00\xfe"]),
            (&[b"", b"x", b"", b"\n"], &[b"x"]),
        ];
        for (chunks, want) in table {
            let got = split(MAX_LINE, chunks).unwrap();
            assert_eq!(got, *want, "chunks {chunks:?}");
        }
    }

    #[test]
    fn line_cap_is_exact_and_counts_no_terminator() {
        let exact = [b'a'; 8];
        let over = [b'a'; 9];
        assert_eq!(split(8, &[&exact, b"\r\n"]).unwrap(), [exact.to_vec()]);
        // The CR of a maximal line may arrive alone before its LF.
        assert_eq!(split(8, &[&exact, b"\r", b"\n"]).unwrap(), [exact.to_vec()]);
        for chunks in [&[&over[..], b"\r\n"][..], &[&over, b"\n"], &[&over, b"x"]] {
            let (lines, e) = split(8, chunks).unwrap_err();
            assert!(lines.is_empty());
            let WireError::LineTooLong { limit, start } = e else {
                panic!("{e:?}")
            };
            assert_eq!(limit, 8);
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
                first_error.get_or_insert(e.clone());
                assert_eq!(Some(&e), first_error.as_ref(), "errors are sticky");
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
        let mut data = b"250-one\r\n250 two\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100));
        let (lines, e) = split(16, &[&data]).unwrap_err();
        assert_eq!(lines, [b"250-one".to_vec(), b"250 two".to_vec()]);
        assert!(matches!(e, WireError::LineTooLong { limit: 16, .. }));
    }

    #[test]
    fn flooding_ahead_of_the_reader_is_buffer_full() {
        // 4 lines of 8 bytes fit in a splitter for 4-byte lines only if read.
        let flood = b"abc\nabc\nabc\nabc\nabc\nabc\n";
        let mut s = LineSplitter::new(4);
        s.feed(flood);
        assert!(s.buffered() <= 16);
        let mut lines = 0;
        let e = loop {
            match s.next_line() {
                Some(Ok(_)) => lines += 1,
                Some(Err(e)) => break e,
                None => panic!("the dropped input must be reported"),
            }
        };
        assert_eq!(lines, 4);
        assert_eq!(e, WireError::BufferFull { limit: 16 });
        s.feed(b"more\n");
        assert_eq!(s.buffered(), 0, "input after an error is discarded");
    }

    #[test]
    fn skip_drops_literal_bytes_held_and_still_to_come() {
        let mut s = LineSplitter::new(MAX_LINE);
        s.feed(b"* 1 FETCH (BODY[] {11}\r\nab\n");
        assert_eq!(s.next_line().unwrap().unwrap(), b"* 1 FETCH (BODY[] {11}");
        s.skip(11);
        assert!(s.next_line().is_none());
        s.feed(b"cdefgh\r\n");
        assert!(s.next_line().is_none(), "still inside the literal");
        s.feed(b")\r\na1 OK done\r\n");
        assert_eq!(s.next_line().unwrap().unwrap(), b")");
        assert_eq!(s.next_line().unwrap().unwrap(), b"a1 OK done");
        assert!(s.next_line().is_none());
    }

    /// Feeds `lines` to one parser; returns the replies and the first error.
    fn smtp(lines: &[&str]) -> (Vec<SmtpReply>, Option<WireError>) {
        let mut p = SmtpReplyParser::new();
        let mut replies = Vec::new();
        for line in lines {
            match p.push(line.as_bytes()) {
                Ok(Some(r)) => replies.push(r),
                Ok(None) => {}
                Err(e) => return (replies, Some(e)),
            }
        }
        (replies, None)
    }

    const POSTFIX_EHLO: &[&str] = &[
        "250-127.0.0.1",
        "250-PIPELINING",
        "250-SIZE 10240000",
        "250-STARTTLS",
        "250-AUTH PLAIN LOGIN",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250 CHUNKING",
    ];

    #[test]
    fn postfix_ehlo_reply_and_its_keywords() {
        let (replies, err) = smtp(POSTFIX_EHLO);
        assert_eq!(err, None);
        let [reply] = &replies[..] else {
            panic!("{replies:?}")
        };
        assert_eq!(reply.code, 250);
        assert_eq!(reply.lines.len(), 8);
        assert_eq!(reply.lines[0], "127.0.0.1");
        assert!(reply.is_positive());
        let kw = |k: &str, p: &[&str]| (k.to_owned(), p.iter().map(|p| p.to_string()).collect());
        assert_eq!(
            ehlo_keywords(reply),
            vec![
                kw("PIPELINING", &[]),
                kw("SIZE", &["10240000"]),
                kw("STARTTLS", &[]),
                kw("AUTH", &["PLAIN", "LOGIN"]),
                kw("ENHANCEDSTATUSCODES", &[]),
                kw("8BITMIME", &[]),
                kw("CHUNKING", &[]),
            ]
        );
    }

    #[test]
    fn ehlo_keywords_accept_old_auth_form_and_any_case() {
        let reply = SmtpReply {
            code: 250,
            lines: [
                "mx.example",
                "AUTH=PLAIN LOGIN",
                "starttls",
                "  ",
                "AUTH= CRAM-MD5",
            ]
            .map(String::from)
            .to_vec(),
        };
        let got = ehlo_keywords(&reply);
        let want: Vec<(String, Vec<String>)> = vec![
            ("AUTH".into(), vec!["PLAIN".into(), "LOGIN".into()]),
            ("STARTTLS".into(), vec![]),
            ("AUTH".into(), vec!["CRAM-MD5".into()]),
        ];
        assert_eq!(got, want);
        let greeting_only = SmtpReply {
            code: 250,
            lines: vec!["mx.example".into()],
        };
        assert!(ehlo_keywords(&greeting_only).is_empty());
    }

    #[test]
    fn single_line_smtp_replies() {
        let table: &[(&str, u16, &str, bool)] = &[
            (
                "220 mx.example ESMTP Postfix (Debian/GNU)",
                220,
                "mx.example ESMTP Postfix (Debian/GNU)",
                true,
            ),
            (
                "250 2.0.0 Ok: queued as 4F1C2",
                250,
                "2.0.0 Ok: queued as 4F1C2",
                true,
            ),
            ("250", 250, "", true),
            ("250 ", 250, "", true),
            (
                "354 End data with <CR><LF>.<CR><LF>",
                354,
                "End data with <CR><LF>.<CR><LF>",
                true,
            ),
            (
                "421 4.3.2 Service shutting down",
                421,
                "4.3.2 Service shutting down",
                false,
            ),
            (
                "535 5.7.8 Error: authentication failed",
                535,
                "5.7.8 Error: authentication failed",
                false,
            ),
            ("599 x", 599, "x", false),
        ];
        for &(line, code, txt, positive) in table {
            let (replies, err) = smtp(&[line]);
            assert_eq!(err, None, "{line}");
            assert_eq!(
                replies,
                [SmtpReply {
                    code,
                    lines: vec![txt.to_owned()]
                }],
                "{line}"
            );
            assert_eq!(replies[0].is_positive(), positive, "{line}");
        }
        // Non-UTF-8 text is decoded lossily.
        let reply = SmtpReplyParser::new().push(b"220 \xffok").unwrap().unwrap();
        assert_eq!(reply.lines, ["\u{fffd}ok"]);
    }

    #[test]
    fn smtp_reply_errors() {
        let code = |l: &str| WireError::SmtpCode {
            line: Snippet::of(l.as_bytes()),
        };
        let sep = |l: &str| WireError::SmtpSeparator {
            line: Snippet::of(l.as_bytes()),
        };
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
            (
                &["250-a", "251 b"],
                WireError::SmtpMixedCodes {
                    expected: 250,
                    got: 251,
                    line: Snippet::of(b"251 b"),
                },
            ),
            (
                &["250-a", "550-b"],
                WireError::SmtpMixedCodes {
                    expected: 250,
                    got: 550,
                    line: Snippet::of(b"550-b"),
                },
            ),
        ];
        for (lines, want) in table {
            let (replies, err) = smtp(lines);
            assert!(replies.is_empty(), "{lines:?}");
            assert_eq!(err.as_ref(), Some(want), "{lines:?}");
        }
    }

    #[test]
    fn smtp_reply_line_cap_and_restart() {
        let mut lines = vec!["250-x"; SMTP_MAX_REPLY_LINES - 1];
        lines.push("250 last");
        let (replies, err) = smtp(&lines);
        assert_eq!(err, None);
        assert_eq!(replies[0].lines.len(), SMTP_MAX_REPLY_LINES);

        let lines = vec!["250-x"; SMTP_MAX_REPLY_LINES + 1];
        let (_, err) = smtp(&lines);
        assert_eq!(
            err,
            Some(WireError::SmtpTooManyLines {
                limit: SMTP_MAX_REPLY_LINES
            })
        );

        // After a reply or an error the parser starts a new reply.
        let mut p = SmtpReplyParser::new();
        assert!(p.push(b"250-a").unwrap().is_none());
        assert!(p.push(b"251 b").is_err());
        assert_eq!(p.push(b"354 go").unwrap().unwrap().code, 354);
        assert_eq!(p.push(b"221 bye").unwrap().unwrap().code, 221);
    }

    #[test]
    fn snippets_are_short_and_printable() {
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
}
