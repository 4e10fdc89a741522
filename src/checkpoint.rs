//! The checkpoint file: the chain head leaves the machine.
//!
//! The daemon appends one line at start, at least daily, and at stop to the file
//! `[daemon] checkpoint_file` names (opened with `O_APPEND`, never rewritten):
//!
//! ```text
//! slawatch-checkpoint 1 at=2026-11-26T10:00:00Z event=start vantage=office seal=4711 chain=HEX64 prev=HEX64
//! ```
//!
//! `seal` and `chain` are the hash chain's head at that instant (`seal=0` and 64
//! zeros before the first seal); `prev` is the SHA-256 of the previous line's bytes,
//! its newline included (64 zeros on the first line), so an edited, removed,
//! reordered or truncated line breaks the line after it. The vantage is written
//! with every byte outside `A-Z a-z 0-9 . _ -` as `%XX`. A copy held by someone
//! else (the file on another machine, mailed to the customer) pins the chain up to
//! each line: `slawatch verify --checkpoint FILE` checks the database against it.
//!
//! Invariant: pure apart from [`append`]; the instant is passed in.

use crate::model::UtcMillis;
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::Path;

const MAGIC: &str = "slawatch-checkpoint 1";
const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One checkpoint line, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// When it was written, as written (RFC 3339).
    pub at: String,
    /// `start`, `daily` or `stop`.
    pub event: String,
    /// The probing location (decoded).
    pub vantage: String,
    /// The chain head's seal number (0: empty chain).
    pub seal: i64,
    /// The chain value at that seal, lower-case hex.
    pub chain: String,
    /// SHA-256 of the previous line, lower-case hex.
    pub prev: String,
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn decode(s: &str) -> Option<String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The line for `head` (seal and chain hex), after a file whose last line is
/// `last` (without its newline), newline included.
pub(crate) fn format_line(
    last: Option<&str>,
    at: UtcMillis,
    event: &str,
    vantage: &str,
    head: Option<(i64, String)>,
) -> String {
    let prev = last.map_or_else(|| ZERO.to_owned(), |l| sha_hex(format!("{l}\n").as_bytes()));
    let (seal, chain) = head.unwrap_or((0, ZERO.to_owned()));
    format!(
        "{MAGIC} at={at} event={event} vantage={} seal={seal} chain={chain} prev={prev}\n",
        encode(vantage)
    )
}

/// Parses one line (without its newline), or says what is wrong with it.
///
/// # Errors
/// When the line is not a checkpoint line.
pub(crate) fn parse_line(line: &str) -> Result<Line, String> {
    let rest = line
        .strip_prefix(MAGIC)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| format!("does not start with '{MAGIC}'"))?;
    let mut fields = std::collections::HashMap::new();
    for part in rest.split(' ') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not KEY=VALUE"))?;
        fields.insert(k, v);
    }
    let get = |k: &str| {
        fields
            .get(k)
            .map(|v| (*v).to_owned())
            .ok_or_else(|| format!("has no {k}="))
    };
    let hex64 = |k: &str| {
        let v = get(k)?;
        if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(v.to_ascii_lowercase())
        } else {
            Err(format!("{k}= is not 64 hex digits"))
        }
    };
    Ok(Line {
        at: get("at")?,
        event: get("event")?,
        vantage: decode(&get("vantage")?).ok_or("vantage= is not %-encoded UTF-8")?,
        seal: get("seal")?
            .parse()
            .map_err(|_| "seal= is not a number".to_owned())?,
        chain: hex64("chain")?,
        prev: hex64("prev")?,
    })
}

/// What is wrong with a checkpoint file's lines taken alone: the first line that
/// does not parse or does not follow the one before, 1-based, and why.
pub(crate) fn check_links(text: &str) -> Result<Vec<Line>, (usize, String)> {
    let mut out = Vec::new();
    let mut last: Option<&str> = None;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        let Some(l) = raw.strip_suffix('\n') else {
            return Err((
                n,
                "the line is cut short (no newline): the file was truncated".to_owned(),
            ));
        };
        let line =
            parse_line(l).map_err(|e| (n, format!("the line is not a checkpoint line: it {e}")))?;
        let want = last.map_or_else(|| ZERO.to_owned(), |p| sha_hex(format!("{p}\n").as_bytes()));
        if line.prev != want {
            return Err((
                n,
                if n == 1 {
                    "the line does not start the file (its prev= is not zeros): lines before it were removed or the lines reordered"
                        .to_owned()
                } else {
                    format!(
                        "the line does not follow line {}: its prev= is not the SHA-256 of that \
                         line (lines were edited, removed or reordered)",
                        n - 1
                    )
                },
            ));
        }
        out.push(line);
        last = Some(l);
    }
    Ok(out)
}

/// Appends the line for `head` to `file` (created if missing, `O_APPEND`).
///
/// # Errors
/// When the file cannot be read or written.
pub fn append(
    file: &Path,
    at: UtcMillis,
    event: &str,
    vantage: &str,
    head: Option<(i64, String)>,
) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    // A line torn by a crash mid-write ends the file without a newline: the next
    // line starts on its own line, and verify names the torn one.
    let torn = !text.is_empty() && !text.ends_with('\n');
    let last = text.lines().last();
    let mut line = format_line(last, at, event, vantage, head);
    if torn {
        line.insert(0, '\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(file)?;
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_chain_and_an_edit_breaks_the_next() {
        let a = format_line(
            None,
            UtcMillis(0),
            "start",
            "office 1",
            Some((3, "ab".repeat(32))),
        );
        let b = format_line(
            a.strip_suffix('\n'),
            UtcMillis(1000),
            "stop",
            "office 1",
            None,
        );
        let text = format!("{a}{b}");
        let lines = check_links(&text).unwrap();
        assert_eq!(lines[0].vantage, "office 1");
        assert_eq!(lines[0].seal, 3);
        assert_eq!(lines[1].seal, 0);
        let edited = text.replacen("seal=3", "seal=4", 1);
        assert_eq!(check_links(&edited).unwrap_err().0, 2);
        let swapped = format!("{b}{a}");
        assert_eq!(check_links(&swapped).unwrap_err().0, 1);
        assert_eq!(check_links(&text[..text.len() - 1]).unwrap_err().0, 2);
    }
}
