//! The diagnostics collector of `probes.toml`: every error with its file, line and
//! column, and the hints that say what to write instead. Both the validation of the
//! whole file (`validate.rs`) and of a plan (`plan.rs`) import it; it imports neither.

use super::ConfigError;
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

/// Collects errors against one source text.
pub(super) struct Ctx<'a> {
    file: &'a Path,
    pub(super) src: &'a str,
    pub(super) errors: Vec<(usize, ConfigError)>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(file: &'a Path, src: &'a str) -> Self {
        Ctx {
            file,
            src,
            errors: Vec::new(),
        }
    }

    pub(super) fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.src, span.start);
        self.errors.push((
            span.start,
            ConfigError {
                file: self.file.to_path_buf(),
                line,
                column,
                message: message.into(),
            },
        ));
    }

    /// Deserializes one value, recording the error (with the innermost span toml knows).
    pub(super) fn de<'i, T: Deserialize<'i>>(
        &mut self,
        v: Spanned<DeValue<'i>>,
        what: &str,
    ) -> Option<T> {
        let outer = v.span();
        match T::deserialize(ValueDeserializer::from(v)) {
            Ok(t) => Some(t),
            Err(e) => {
                let span = e.span().unwrap_or(outer);
                self.err(
                    span,
                    format!("in {what}: {}", explain_serde_message(e.message())),
                );
                None
            }
        }
    }
}

#[cfg(test)]
impl Ctx<'_> {
    /// The errors so far as "LINE:COLUMN MESSAGE", in the order they were recorded.
    pub(super) fn messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|(_, e)| format!("{}:{} {}", e.line, e.column, e.message))
            .collect()
    }
}

/// serde's messages quote with backticks; ours quote values in 'single quotes'.
pub(super) fn tidy_serde_message(m: &str) -> String {
    m.replace('`', "'").trim_end().to_owned()
}

/// Rewrites serde's "unknown field `x`, expected one of `a`, `b`" into a hint.
fn explain_serde_message(m: &str) -> String {
    let m = tidy_serde_message(m);
    let Some(rest) = m.strip_prefix("unknown field '") else {
        return m;
    };
    let Some((field, expected)) = rest.split_once("', expected ") else {
        return m;
    };
    let options: Vec<&str> = expected
        .trim_start_matches("one of ")
        .split(", ")
        .map(|o| o.trim_matches('\''))
        .collect();
    match did_you_mean(field, &options) {
        Some(best) => format!("unknown key '{field}'; did you mean '{best}'?"),
        None => format!(
            "unknown key '{field}'; the keys here are {}",
            options.join(", ")
        ),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..src.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The closest of `options` to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    }
    options
        .iter()
        .map(|o| (distance(word, o), *o))
        .filter(|(d, o)| *d <= 2.max(o.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, src.find('=').unwrap()), (1, 3));
        let second_eq = src.rfind('=').unwrap();
        assert_eq!(line_col(src, second_eq), (2, 4));
    }

    #[test]
    fn suggestions_are_close_only() {
        assert_eq!(did_you_mean("htpp", &["http", "dns"]), Some("http"));
        assert_eq!(did_you_mean("zzzzzz", &["http", "dns"]), None);
    }
}
