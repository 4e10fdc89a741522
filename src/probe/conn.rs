//! A line-oriented connection for the mail protocols (SMTP, IMAP, POP3): plain or
//! TLS, upgraded in place by STARTTLS, read through a bounded [`LineSplitter`].
//!
//! Reads and writes wait as long as the check's runner lets them (the deadline is
//! set once, by [`Run::check`](super::Run::check)), and every failure is a
//! classified [`Failure`]: a reset or a close by the server is `refused`, an overlong line or more than [`MAX_READ`] bytes in one
//! check is `protocol`. Memory is bounded by the splitter's cap (a few lines) plus
//! one read buffer, whatever the peer sends; [`LineConn::usage`] reports what was
//! held, so tests can assert it.
//!
//! Every line and every failure detail read through a [`LineConn`] goes through one
//! sanitiser, [`Redactor`]: once the probe's credentials are registered
//! ([`LineConn::redact_credentials`]), a server that echoes what authentication sent
//! (`AUTH PLAIN <base64>`, the `LOGIN` password, its base64, an IMAP quoted string)
//! has each echo replaced by `***` before any parser, detail or log sees the line.

use super::net::io_failure;
use super::wire::LineSplitter;
use super::{Failure, Run};
use crate::config::TlsSettings;
use crate::model::ErrorClass;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Most bytes one check reads from a mail server, all replies together. A probe's
/// conversation is a few kilobytes; a server that keeps talking is cut off here.
pub const MAX_READ: u64 = 4 * 1024 * 1024;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 4096;

/// The byte stream under a [`LineConn`].
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// What a connection held and read, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// The most bytes the line splitter held at once.
    pub peak_buffered: usize,
    /// All bytes read from the peer.
    pub bytes_read: u64,
}

/// The byte strings a server must never get to echo into a detail: every form in
/// which authentication sends the password. Shorter forms than 3 bytes are not
/// matched (they would blank out ordinary text).
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a form inside another is not replaced first.
    forms: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} forms)", self.forms.len())
    }
}

impl Redactor {
    /// The forms of `password` (sent with `username`) in SMTP `AUTH PLAIN` / `LOGIN`,
    /// IMAP `LOGIN` (atom, quoted string or literal) and `AUTHENTICATE PLAIN`, POP3
    /// `PASS` and `AUTH PLAIN`: the password itself, its IMAP-quoted form, and the
    /// base64 of the password and of both PLAIN messages (without and with the user
    /// as authorisation id), padded and unpadded.
    pub(crate) fn for_credentials(username: &str, password: &str) -> Redactor {
        let (u, p) = (username.as_bytes(), password.as_bytes());
        let plain = [&b"\0"[..], u, b"\0", p].concat();
        let plain_authz = [u, b"\0", u, b"\0", p].concat();
        let quoted = password.replace('\\', "\\\\").replace('"', "\\\"");
        let mut forms = vec![p.to_vec(), quoted.into_bytes()];
        for data in [&plain[..], &plain_authz, p] {
            forms.push(STANDARD.encode(data).into_bytes());
            forms.push(STANDARD_NO_PAD.encode(data).into_bytes());
        }
        forms.retain(|f| f.len() >= 3);
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        Redactor { forms }
    }

    /// `bytes` with every registered form replaced by `***`.
    pub(crate) fn bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        let mut out = bytes;
        for form in &self.forms {
            if !out.windows(form.len()).any(|w| w == form.as_slice()) {
                continue;
            }
            let mut next = Vec::with_capacity(out.len());
            let mut i = 0;
            while i < out.len() {
                if out[i..].starts_with(form) {
                    next.extend_from_slice(b"***");
                    i += form.len();
                } else {
                    next.push(out[i]);
                    i += 1;
                }
            }
            out = next;
        }
        out
    }

    /// `text` with every registered form replaced by `***`.
    pub(crate) fn text(&self, text: String) -> String {
        if self.forms.is_empty() {
            return text;
        }
        String::from_utf8_lossy(&self.bytes(text.into_bytes())).into_owned()
    }

    /// `f` with its detail sanitised.
    fn failure(&self, f: Failure) -> Failure {
        Failure {
            detail: self.text(f.detail),
            ..f
        }
    }
}

/// A plain or TLS connection read line by line, under one deadline.
#[derive(Debug)]
pub(crate) struct LineConn {
    stream: Stream,
    lines: LineSplitter,
    usage: Usage,
    redactor: Redactor,
}

impl LineConn {
    /// Wraps a connected plain stream; lines longer than `max_line` are refused.
    pub(crate) fn plain(stream: TcpStream, max_line: usize) -> Self {
        LineConn {
            stream: Stream::Plain(stream),
            lines: LineSplitter::new(max_line),
            usage: Usage::default(),
            redactor: Redactor::default(),
        }
    }

    /// Wraps a completed TLS stream (implicit TLS).
    pub(crate) fn tls(stream: TlsStream<TcpStream>, max_line: usize) -> Self {
        LineConn {
            stream: Stream::Tls(Box::new(stream)),
            lines: LineSplitter::new(max_line),
            usage: Usage::default(),
            redactor: Redactor::default(),
        }
    }

    /// What was held and read so far.
    pub(crate) fn usage(&self) -> Usage {
        self.usage
    }

    /// From now on (and after a STARTTLS upgrade), every echo of what logging in
    /// as `username` with `password` sends is replaced by `***` in lines read and
    /// in failure details. Called before authentication.
    pub(crate) fn redact_credentials(&mut self, username: &str, password: &str) {
        self.redactor = Redactor::for_credentials(username, password);
    }

    /// The next line, without its terminator, sanitised by the registered
    /// [`Redactor`]. `what` names the step in failures ("greeting", "EHLO reply").
    ///
    /// # Errors
    /// `refused` when the server closes or resets; `protocol` for an overlong line
    /// or more than [`MAX_READ`] bytes in all; details sanitised too.
    pub(crate) async fn read_line(&mut self, what: &str) -> Result<Vec<u8>, Failure> {
        match self.read_line_raw(what).await {
            Ok(line) => Ok(self.redactor.bytes(line)),
            Err(f) => Err(self.redactor.failure(f)),
        }
    }

    /// The next line, without its terminator. `what` names the step in failures
    /// ("greeting", "EHLO reply").
    ///
    /// # Errors
    /// `refused` when the server closes or resets; `protocol` for an overlong line
    /// or more than [`MAX_READ`] bytes in all.
    async fn read_line_raw(&mut self, what: &str) -> Result<Vec<u8>, Failure> {
        let mut buf = [0u8; READ_CHUNK];
        loop {
            if let Some(line) = self.lines.next_line() {
                return line.map_err(|e| Failure::new(e.class(), format!("{what}: {e}")));
            }
            let read = match &mut self.stream {
                Stream::Plain(s) => s.read(&mut buf).await,
                Stream::Tls(s) => s.read(&mut buf).await,
            };
            let n = match read {
                Err(e) => return Err(io_failure(what, &e)),
                Ok(0) => {
                    return Err(Failure::new(
                        ErrorClass::Refused,
                        format!("{what}: the server closed the connection"),
                    ));
                }
                Ok(n) => n,
            };
            self.usage.bytes_read += n as u64;
            if self.usage.bytes_read > MAX_READ {
                return Err(Failure::new(
                    ErrorClass::Protocol,
                    format!("{what}: the server sent more than {MAX_READ} bytes"),
                ));
            }
            self.lines.feed(&buf[..n]);
            self.usage.peak_buffered = self.usage.peak_buffered.max(self.lines.buffered());
        }
    }

    /// Drops the next `n` bytes of the stream (the body of an IMAP literal); they
    /// still count against [`MAX_READ`] when they are read.
    pub(crate) fn skip(&mut self, n: u64) {
        self.lines.skip(n);
    }

    /// Sends `bytes` (a command with its CRLF) and flushes.
    ///
    /// # Errors
    /// `refused` when the server has gone.
    pub(crate) async fn send(&mut self, bytes: &[u8], what: &str) -> Result<(), Failure> {
        let written = match &mut self.stream {
            Stream::Plain(s) => match s.write_all(bytes).await {
                Ok(()) => s.flush().await,
                Err(e) => Err(e),
            },
            Stream::Tls(s) => match s.write_all(bytes).await {
                Ok(()) => s.flush().await,
                Err(e) => Err(e),
            },
        };
        written.map_err(|e| self.redactor.failure(io_failure(what, &e)))
    }

    /// Upgrades a plain connection to TLS after the server accepted STARTTLS (or STLS).
    ///
    /// Bytes the server sent after its "go ahead" and before the handshake are
    /// refused (`protocol`): they would be read as if they came over TLS (the
    /// STARTTLS command-injection attack of CVE-2011-0411).
    ///
    /// The handshake is the context's TLS step ([`Run::tls`]).
    ///
    /// # Errors
    /// Those of [`Run::tls`]; `protocol` for pipelined bytes or a connection
    /// that is already TLS.
    pub(crate) async fn start_tls(
        self,
        run: &mut Run,
        server_name: &str,
        settings: &TlsSettings,
    ) -> Result<LineConn, Failure> {
        let Stream::Plain(stream) = self.stream else {
            return Err(Failure::new(
                ErrorClass::Protocol,
                "STARTTLS on a connection that is already TLS",
            ));
        };
        if self.lines.buffered() > 0 {
            return Err(Failure::new(
                ErrorClass::Protocol,
                "the server sent data after accepting STARTTLS, before the TLS handshake",
            ));
        }
        let stream = run.tls(stream, server_name, settings).await?;
        Ok(LineConn {
            stream: Stream::Tls(Box::new(stream)),
            lines: LineSplitter::new(self.lines.max_line()),
            usage: self.usage,
            redactor: self.redactor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_the_password_is_redacted() {
        let r = Redactor::for_credentials("probe@example.test", "hunter2\"x");
        let plain = STANDARD.encode(b"\0probe@example.test\0hunter2\"x");
        let echo = format!("535 AUTH PLAIN {plain} and hunter2\"x and \"hunter2\\\"x\"");
        let out = r.text(echo);
        assert_eq!(out, "535 AUTH PLAIN *** and *** and \"***\"");
        let login = STANDARD_NO_PAD.encode(b"hunter2\"x");
        assert_eq!(r.text(format!("-ERR {login}")), "-ERR ***");
        let unpadded = STANDARD_NO_PAD.encode(b"\0probe@example.test\0hunter2\"x");
        assert_eq!(r.text(format!("x {unpadded} y")), "x *** y");
        assert_eq!(r.text("nothing to hide".into()), "nothing to hide");
        assert_eq!(Redactor::default().text("hunter2".into()), "hunter2");
    }
}
