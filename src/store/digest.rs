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
//! The hash chain (`seal.rs`) seals these two lines and one for each other row a
//! report reads, defined here once ([`row_line`]), each one line in the same
//! encoding:
//!
//! ```text
//! outage|PROBE|START|END|LAST_FAILURE|LAST_SUCCESS_BEFORE|CLASS|DETAIL|FAILED_CHECKS\n
//! coverage|VANTAGE|START|END\n
//! incident|PROBE|CONTRACT|START|END|SOURCE|NOTE|CREATED_AT\n
//! maintenance|SCOPE|START|END|ANNOUNCED_AT|NOTE\n
//! prune|AT|BEFORE|UP_TO_SEAL|RETENTION_MS|RUNS|FAILURES|CHECKS|DIGEST\n
//! ```
//!
//! Text fields are escaped as details are; an open outage has an empty END. By
//! hand, for example:
//!
//! ```text
//! sqlite3 -separator '|' slawatch.db "SELECT 'coverage', vantage, start, end
//!   FROM coverage WHERE id = 7" | sha256sum       # the seal's row_hash
//! ```
//!
//! (`sqlite3` prints the line without escaping: rows whose text holds `|`, `\` or a
//! newline need the escapes applied first.)
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

/// The evidence tables sealed into the chain, by their table name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Table {
    Runs,
    Failures,
    Outages,
    Coverage,
    Incidents,
    Maintenance,
    Prunes,
    // Issue 12 adds `goodwill`: a table, its line here, and its name below
    // (migration 3 already allows 'goodwill' in `seals.tbl`).
}

impl Table {
    /// The table's name, as `seals.tbl` stores it.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Table::Runs => "runs",
            Table::Failures => "failures",
            Table::Outages => "outages",
            Table::Coverage => "coverage",
            Table::Incidents => "incidents",
            Table::Maintenance => "maintenance",
            Table::Prunes => "prunes",
        }
    }

    /// Parses [`Table::as_str`].
    pub(super) fn parse(s: &str) -> Option<Table> {
        [
            Table::Runs,
            Table::Failures,
            Table::Outages,
            Table::Coverage,
            Table::Incidents,
            Table::Maintenance,
            Table::Prunes,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// A row's canonical line as it reads now, with who it concerns (probe, vantage,
/// scope) and its instant, or `None` when the row is gone.
pub(super) struct RowLine {
    pub(super) line: String,
    pub(super) who: String,
    pub(super) at: i64,
}

fn text(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(escape(&r.get::<_, Option<String>>(i)?.unwrap_or_default()))
}

/// The canonical line of row `id` of `table` (see the module docs): the one
/// definition the seals use for every table.
pub(super) fn row_line(
    conn: &rusqlite::Connection,
    table: Table,
    id: i64,
) -> rusqlite::Result<Option<RowLine>> {
    use rusqlite::OptionalExtension;
    let (sql, f): (String, fn(&rusqlite::Row<'_>) -> rusqlite::Result<RowLine>) = match table {
        Table::Runs => (
            format!(
                "SELECT {} FROM runs r LEFT JOIN probes p ON p.id = r.probe_id WHERE r.id = ?1",
                run_columns("r", "p")
            ),
            |r| {
                Ok(RowLine {
                    line: run_line(r, 0)?.0,
                    who: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    at: r.get(3)?,
                })
            },
        ),
        Table::Failures => (
            format!(
                "SELECT {} FROM failures f LEFT JOIN probes p ON p.id = f.probe_id WHERE f.id = ?1",
                fail_columns("f", "p")
            ),
            |r| {
                Ok(RowLine {
                    line: fail_line(r, 0)?,
                    who: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    at: r.get(1)?,
                })
            },
        ),
        Table::Outages => (
            "SELECT p.name, o.start, o.end, o.last_failure, o.last_success_before, o.class,
                    o.detail, o.failed_checks
             FROM outages o LEFT JOIN probes p ON p.id = o.probe_id WHERE o.id = ?1"
                .to_owned(),
            |r| {
                Ok(RowLine {
                    line: format!(
                        "outage|{}|{}|{}|{}|{}|{}|{}|{}\n",
                        text(r, 0)?,
                        opt(r.get(1)?),
                        opt(r.get(2)?),
                        opt(r.get(3)?),
                        opt(r.get(4)?),
                        text(r, 5)?,
                        text(r, 6)?,
                        opt(r.get(7)?)
                    ),
                    who: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    at: r.get(1)?,
                })
            },
        ),
        Table::Coverage => (
            "SELECT vantage, start, end FROM coverage WHERE id = ?1".to_owned(),
            |r| {
                Ok(RowLine {
                    line: format!(
                        "coverage|{}|{}|{}\n",
                        text(r, 0)?,
                        opt(r.get(1)?),
                        opt(r.get(2)?)
                    ),
                    who: r.get(0)?,
                    at: r.get(1)?,
                })
            },
        ),
        Table::Incidents => (
            "SELECT probe, contract, start, end, source, note, created_at
             FROM incidents WHERE id = ?1"
                .to_owned(),
            |r| {
                let probe: Option<String> = r.get(0)?;
                let contract: Option<String> = r.get(1)?;
                Ok(RowLine {
                    line: format!(
                        "incident|{}|{}|{}|{}|{}|{}|{}\n",
                        text(r, 0)?,
                        text(r, 1)?,
                        opt(r.get(2)?),
                        opt(r.get(3)?),
                        text(r, 4)?,
                        text(r, 5)?,
                        opt(r.get(6)?)
                    ),
                    who: probe.or(contract).unwrap_or_default(),
                    at: r.get(2)?,
                })
            },
        ),
        Table::Maintenance => (
            "SELECT scope, start, end, announced_at, note FROM maintenance WHERE id = ?1"
                .to_owned(),
            |r| {
                Ok(RowLine {
                    line: format!(
                        "maintenance|{}|{}|{}|{}|{}\n",
                        text(r, 0)?,
                        opt(r.get(1)?),
                        opt(r.get(2)?),
                        opt(r.get(3)?),
                        text(r, 4)?
                    ),
                    who: r.get(0)?,
                    at: r.get(1)?,
                })
            },
        ),
        Table::Prunes => (
            "SELECT at, before, up_to_seal, retention_ms, runs, failures, checks, digest
             FROM prunes WHERE id = ?1"
                .to_owned(),
            |r| {
                Ok(RowLine {
                    line: format!(
                        "prune|{}|{}|{}|{}|{}|{}|{}|{}\n",
                        opt(r.get(0)?),
                        opt(r.get(1)?),
                        opt(r.get(2)?),
                        opt(r.get(3)?),
                        opt(r.get(4)?),
                        opt(r.get(5)?),
                        opt(r.get(6)?),
                        text(r, 7)?
                    ),
                    who: String::new(),
                    at: r.get(0)?,
                })
            },
        ),
    };
    conn.prepare_cached(&sql)?.query_row([id], f).optional()
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
