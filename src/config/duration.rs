//! Human durations as written in `probes.toml`: `"30s"`, `"5m"`, `"1h 30m"`, `"14d"`, `"250ms"`.
//!
//! Units: `ms`, `s`, `m`, `h`, `d` (24 h), `w` (7 d). Parts may be separated by spaces and
//! must not repeat a unit. Integers only, so every value is exact.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// A parsed configuration duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    /// The wrapped duration.
    pub(crate) fn get(self) -> Duration {
        self.0
    }
}

/// Why a duration string did not parse. The message says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationError(String);

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

const HINT: &str =
    "write a duration such as \"30s\", \"5m\", \"1h 30m\" or \"14d\" (units ms, s, m, h, d, w)";

/// Parses a duration string.
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    let bad = |why: &str| DurationError(format!("invalid duration '{input}': {why}; {HINT}"));
    let s = input.trim();
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    let mut seen: Vec<&str> = Vec::new();
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(bad("expected a whole number"));
        }
        let n: u64 = s[start..i]
            .parse()
            .map_err(|_| bad("the number is too large"))?;
        if bytes.get(i) == Some(&b'.') {
            return Err(bad(
                "fractions are not allowed, use a smaller unit (\"1500ms\", not \"1.5s\")",
            ));
        }
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        if unit.is_empty() {
            return Err(bad("a unit is missing after the number"));
        }
        let Some(&(name, factor)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(bad(&format!("unknown unit '{unit}'")));
        };
        if seen.contains(&name) {
            return Err(bad(&format!("the unit '{name}' appears twice")));
        }
        seen.push(name);
        total_ms = n
            .checked_mul(factor)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(|| bad("it is too large"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration the way [`parse`] reads it, largest units first (`"1h 30m"`).
pub fn format(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut parts = Vec::new();
    for &(name, factor) in UNITS.iter().rev().filter(|(n, _)| *n != "w") {
        if ms >= factor {
            parts.push(format!("{}{name}", ms / factor));
            ms %= factor;
        }
    }
    parts.join(" ")
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s)
            .map(ConfigDuration)
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h 30m", 5_400_000),
            ("1h30m", 5_400_000),
            ("14d", 1_209_600_000),
            ("250ms", 250),
            ("2w", 1_209_600_000),
            (" 10 s ", 10_000),
            ("0s", 0),
        ];
        for (s, ms) in cases {
            assert_eq!(parse(s), Ok(Duration::from_millis(ms)), "{s}");
        }
    }

    #[test]
    fn rejects_with_a_reason() {
        let cases = [
            ("", "it is empty"),
            ("10", "a unit is missing"),
            ("ten s", "expected a whole number"),
            ("10x", "unknown unit 'x'"),
            ("1m 2m", "appears twice"),
            ("1.5s", "fractions are not allowed"),
            ("99999999999999999999s", "too large"),
        ];
        for (s, why) in cases {
            let e = parse(s).unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
            assert!(e.contains("such as \"30s\""), "{e}");
        }
    }

    #[test]
    fn format_round_trips() {
        for ms in [0u64, 1, 999, 1000, 61_000, 5_400_000, 90_061_001] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse(&format(d)), Ok(d), "{}", format(d));
        }
        assert_eq!(format(Duration::from_secs(5400)), "1h 30m");
    }
}
