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
//! A run counts whole in the period its first check is in, even the checks it goes
//! on to hold after the period's end. Runs never span a UTC day
//! ([`super::RUN_SPAN_MS`]), so once a period and the UTC day its last run began in
//! are over, its digest never changes unless a row is edited.

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

/// The columns [`run_line`] reads, for a run aliased `run` and its probe `probe`.
pub(super) fn run_columns(run: &str, probe: &str) -> String {
    format!(
        "{probe}.name, {run}.status, {run}.class, {run}.first_at, {run}.last_at, {run}.count, \
         {run}.lat_min_ms, {run}.lat_sum_ms, {run}.lat_max_ms"
    )
}

/// The columns [`fail_line`] reads, for a failure aliased `fail` and its probe `probe`.
pub(super) fn fail_columns(fail: &str, probe: &str) -> String {
    format!(
        "{probe}.name, {fail}.at, {fail}.class, {fail}.detail, {fail}.resolve_ms, \
         {fail}.connect_ms, {fail}.tls_ms, {fail}.first_byte_ms, {fail}.login_ms, \
         {fail}.total_ms, {fail}.cert_not_after"
    )
}

/// The canonical line of a run (see the module docs), from [`run_columns`] starting
/// at column `i`, and the checks it stands for. The one definition the evidence
/// digest and the seals of the hash chain share.
pub(super) fn run_line(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<(String, i64)> {
    let name = r.get::<_, Option<String>>(i)?.unwrap_or_default();
    let status = r.get::<_, Option<String>>(i + 1)?.unwrap_or_default();
    let class = r.get::<_, Option<String>>(i + 2)?.unwrap_or_default();
    let first = opt(r.get(i + 3)?);
    let last = opt(r.get(i + 4)?);
    let count = r.get::<_, Option<i64>>(i + 5)?.unwrap_or(0);
    let min = opt(r.get(i + 6)?);
    let sum = opt(r.get(i + 7)?);
    let max = opt(r.get(i + 8)?);
    Ok((
        format!(
            "run|{}|{status}|{class}|{first}|{last}|{count}|{min}|{sum}|{max}\n",
            escape(&name)
        ),
        count,
    ))
}

/// The canonical line of a failed check (see the module docs), from
/// [`fail_columns`] starting at column `i`.
pub(super) fn fail_line(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    let name = r.get::<_, Option<String>>(i)?.unwrap_or_default();
    let mut line = format!(
        "fail|{}|{}|{}|{}",
        escape(&name),
        opt(r.get(i + 1)?),
        r.get::<_, Option<String>>(i + 2)?.unwrap_or_default(),
        escape(&r.get::<_, Option<String>>(i + 3)?.unwrap_or_default())
    );
    for c in i + 4..i + 11 {
        line.push('|');
        line.push_str(&opt(r.get(c)?));
    }
    line.push('\n');
    Ok(line)
}

/// Lower-case hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
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
            .prepare_cached(&format!(
                "SELECT {} FROM runs r JOIN probes p ON p.id = r.probe_id
                 WHERE p.name = ?1 AND r.first_at >= ?2 AND r.first_at < ?3
                 ORDER BY r.first_at, r.id",
                run_columns("r", "p")
            ))
            .map_err(sql(&self.path))?;
        for name in &names {
            let rows = runs
                .query_map(rusqlite::params![name, from.0, to.0], |r| run_line(r, 0))
                .map_err(sql(&self.path))?;
            for row in rows {
                let (line, count) = row.map_err(sql(&self.path))?;
                hasher.update(line.as_bytes());
                d.runs += 1;
                d.checks += count;
            }
        }
        let mut fails = self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM failures f JOIN probes p ON p.id = f.probe_id
                 WHERE p.name = ?1 AND f.at >= ?2 AND f.at < ?3
                 ORDER BY f.at, f.id",
                fail_columns("f", "p")
            ))
            .map_err(sql(&self.path))?;
        for name in &names {
            let rows = fails
                .query_map(rusqlite::params![name, from.0, to.0], |r| fail_line(r, 0))
                .map_err(sql(&self.path))?;
            for line in rows {
                hasher.update(line.map_err(sql(&self.path))?.as_bytes());
                d.failures += 1;
                d.checks += 1;
            }
        }
        d.sha256 = hex(&hasher.finalize());
        Ok(d)
    }
}
