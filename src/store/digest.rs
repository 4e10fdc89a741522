//! The evidence digest: one SHA-256 over the checks a report rests on, so a report
//! can state it and `slawatch verify` can recompute it from the database.
//!
//! The digest covers, for the given probes (sorted by name) and the period
//! `[from, to)`: every run whose first check is in the period, then every failed
//! check in the period, each as one line of text, in this order:
//!
//! ```text
//! run|PROBE|STATUS|CLASS|FIRST_AT|LAST_AT|COUNT|LAT_MIN|LAT_SUM|LAT_MAX\n
//! fail|PROBE|AT|CLASS|DETAIL|RESOLVE|CONNECT|TLS|FIRST_BYTE|LOGIN|TOTAL|CERT_NOT_AFTER\n
//! ```
//!
//! Instants and latencies are integer milliseconds, an absent value is empty, and
//! `|`, `\` and newlines in a detail are escaped as `\|`, `\\` and `\n`. Runs are
//! ordered by probe name, first check and row id; failures by probe name, instant
//! and row id. Anyone can recompute it with `sqlite3` and `sha256sum`.
//!
//! A run never spans a UTC hour ([`super::RUN_SPAN_MS`]), so once a period (and the
//! hour its last run is in) is over, its digest never changes unless a row is edited.

use super::{Reader, StoreError, sql};
use crate::model::UtcMillis;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The digest of a report's evidence and what it counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceDigest {
    /// SHA-256 of the canonical lines, lower-case hex.
    pub sha256: String,
    /// Runs covered.
    pub runs: i64,
    /// Failed checks covered.
    pub failures: i64,
    /// Checks covered (the runs' counts plus the failed checks).
    pub checks: i64,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', "\\n")
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl Reader {
    /// The evidence digest of `probes` over `[from, to)` (see the module docs).
    ///
    /// # Errors
    /// On a database error.
    pub fn evidence_digest(
        &self,
        probes: &[String],
        from: UtcMillis,
        to: UtcMillis,
    ) -> Result<EvidenceDigest, StoreError> {
        let mut names: Vec<&String> = probes.iter().collect();
        names.sort();
        names.dedup();
        let mut hasher = Sha256::new();
        let mut d = EvidenceDigest {
            sha256: String::new(),
            runs: 0,
            failures: 0,
            checks: 0,
        };
        let mut runs = self
            .conn
            .prepare_cached(
                "SELECT r.status, r.class, r.first_at, r.last_at, r.count,
                        r.lat_min_ms, r.lat_sum_ms, r.lat_max_ms
                 FROM runs r JOIN probes p ON p.id = r.probe_id
                 WHERE p.name = ?1 AND r.first_at >= ?2 AND r.first_at < ?3
                 ORDER BY r.first_at, r.id",
            )
            .map_err(sql(&self.path))?;
        for name in &names {
            let rows = runs
                .query_map(rusqlite::params![name, from.0, to.0], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                    ))
                })
                .map_err(sql(&self.path))?;
            for row in rows {
                let (status, class, first, last, count, min, sum, max) =
                    row.map_err(sql(&self.path))?;
                let mut line = String::new();
                let _ = writeln!(
                    line,
                    "run|{}|{status}|{}|{first}|{last}|{count}|{}|{sum}|{}",
                    escape(name),
                    class.unwrap_or_default(),
                    opt(min),
                    opt(max)
                );
                hasher.update(line.as_bytes());
                d.runs += 1;
                d.checks += count;
            }
        }
        let mut fails = self
            .conn
            .prepare_cached(
                "SELECT f.at, f.class, f.detail, f.resolve_ms, f.connect_ms, f.tls_ms,
                        f.first_byte_ms, f.login_ms, f.total_ms, f.cert_not_after
                 FROM failures f JOIN probes p ON p.id = f.probe_id
                 WHERE p.name = ?1 AND f.at >= ?2 AND f.at < ?3
                 ORDER BY f.at, f.id",
            )
            .map_err(sql(&self.path))?;
        for name in &names {
            let rows = fails
                .query_map(rusqlite::params![name, from.0, to.0], |r| {
                    let mut line = format!(
                        "fail|{}|{}|{}|{}",
                        escape(name),
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        escape(&r.get::<_, String>(2)?)
                    );
                    for i in 3..10 {
                        line.push('|');
                        line.push_str(&opt(r.get::<_, Option<i64>>(i)?));
                    }
                    line.push('\n');
                    Ok(line)
                })
                .map_err(sql(&self.path))?;
            for line in rows {
                hasher.update(line.map_err(sql(&self.path))?.as_bytes());
                d.failures += 1;
                d.checks += 1;
            }
        }
        d.sha256 = hasher
            .finalize()
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            });
        Ok(d)
    }
}
