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
//! `|`, `\` and newlines in every field are escaped as `\|`, `\\` and `\n`. Runs are
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
//! incident2|PROBE|...|CREATED_AT|OPEN|CAUSE|SUPERSEDES|WITHDRAWN|REASON|TZ|N|ATTACHMENTS...\n
//! maintenance|SCOPE|START|END|ANNOUNCED_AT|NOTE\n
//! goodwill|SCOPE|EVENT|DATE|ANNOUNCED|EXTENSION_DAYS|AMOUNT|UPGRADE|SOURCE|NOTE\n
//! member|MEMBER|SERVICE|NAME|EMAIL|ADDRESS|PROVIDER|PLAN|FEE|FEE_PERIOD|CUSTOMER_TYPE|SERVICE_START|LANG|CUSTOMER_CODE|CONTRACT_NUMBER|SUPERSEDES|CREATED_AT\n
//! alert|CHANNEL|KEY|EVENT|RAISED_AT|SUBJECT|BODY|HTML\n
//! alert_attempt|CHANNEL|KEY|AT|OUTCOME|ERROR|TOOK_MS\n
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

use super::{CheckSpan, Reader, StoreError, sql};
use crate::model::{Status, UtcMillis};
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
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

/// Appends `s` to `out` escaped as [`escape`] does (`\` as `\\`, `|` as `\|`, a
/// newline as `\n`), without a string of its own: reports build a line per run.
fn push_escaped(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = rest.find(['\\', '|', '\n']) {
        let (plain, special) = rest.split_at(i);
        out.push_str(plain);
        let mut special = special.chars();
        out.push_str(match special.next() {
            Some('\\') => "\\\\",
            Some('|') => "\\|",
            _ => "\\n",
        });
        rest = special.as_str();
    }
    out.push_str(rest);
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
    let count_text = count.to_string();
    Ok((
        join_line(
            "run",
            &[
                &name,
                &status,
                &class,
                &first,
                &last,
                &count_text,
                &min,
                &sum,
                &max,
            ],
        ),
        count,
    ))
}

/// The canonical line of a failed check (see the module docs), from
/// [`fail_columns`] starting at column `i`.
pub(super) fn fail_line(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    let mut fields = vec![
        r.get::<_, Option<String>>(i)?.unwrap_or_default(),
        opt(r.get(i + 1)?),
        r.get::<_, Option<String>>(i + 2)?.unwrap_or_default(),
        r.get::<_, Option<String>>(i + 3)?.unwrap_or_default(),
    ];
    for c in i + 4..i + 11 {
        fields.push(opt(r.get(c)?));
    }
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    Ok(join_line("fail", &fields))
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
    /// Issue 12: goodwill offers (migration 3 already allows 'goodwill' in `seals.tbl`).
    Goodwill,
    /// Issue 13: an association's members (migration 6).
    Members,
    /// Issue 17: alerts queued, one row per channel (migration 7).
    Alerts,
    /// Issue 17: every delivery attempt of an alert (migration 7).
    AlertAttempts,
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
            Table::Goodwill => "goodwill",
            Table::Members => "members",
            Table::Alerts => "alerts",
            Table::AlertAttempts => "alert_attempts",
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
            Table::Goodwill,
            Table::Members,
            Table::Alerts,
            Table::AlertAttempts,
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
        Table::Goodwill => (
            "SELECT scope, event, date, announced, extension_days, amount, upgrade, source,
                    note, at
             FROM goodwill WHERE id = ?1"
                .to_owned(),
            |r| {
                Ok(RowLine {
                    line: format!(
                        "goodwill|{}|{}|{}|{}|{}|{}|{}|{}|{}\n",
                        text(r, 0)?,
                        text(r, 1)?,
                        text(r, 2)?,
                        text(r, 3)?,
                        opt(r.get(4)?),
                        text(r, 5)?,
                        text(r, 6)?,
                        text(r, 7)?,
                        text(r, 8)?
                    ),
                    who: r.get(0)?,
                    at: r.get(9)?,
                })
            },
        ),
        Table::Members => (
            format!(
                "SELECT {} FROM members WHERE id = ?1",
                super::member::MEMBER_COLUMNS
            ),
            |r| {
                let fields = super::member::line_fields(r)?;
                let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
                Ok(RowLine {
                    line: join_line("member", &refs),
                    who: format!("{}.{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    at: r.get(super::member::CREATED_AT_COLUMN)?,
                })
            },
        ),
        Table::Alerts => (
            "SELECT channel, key, event, raised_at, subject, body, html FROM alerts WHERE id = ?1"
                .to_owned(),
            |r| {
                Ok(RowLine {
                    line: format!(
                        "alert|{}|{}|{}|{}|{}|{}|{}\n",
                        text(r, 0)?,
                        text(r, 1)?,
                        text(r, 2)?,
                        opt(r.get(3)?),
                        text(r, 4)?,
                        text(r, 5)?,
                        text(r, 6)?
                    ),
                    who: r.get(1)?,
                    at: r.get(3)?,
                })
            },
        ),
        Table::AlertAttempts => (
            "SELECT l.channel, l.key, a.at, a.outcome, a.error, a.took_ms
             FROM alert_attempts a LEFT JOIN alerts l ON l.id = a.alert WHERE a.id = ?1"
                .to_owned(),
            |r| {
                Ok(RowLine {
                    line: format!(
                        "alert_attempt|{}|{}|{}|{}|{}|{}\n",
                        text(r, 0)?,
                        text(r, 1)?,
                        opt(r.get(2)?),
                        text(r, 3)?,
                        text(r, 4)?,
                        opt(r.get(5)?)
                    ),
                    who: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    at: r.get(2)?,
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
    let mut found = conn.prepare_cached(&sql)?.query_row([id], f).optional()?;
    if table == Table::Incidents
        && let Some(found) = &mut found
    {
        super::incident::extend_line(conn, id, found)?;
    }
    Ok(found)
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
        let parts = names
            .iter()
            .map(|name| self.probe_evidence(name, from, to))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(combine_evidence(parts.iter()))
    }

    /// One probe's share of [`Reader::evidence_digest`] over `[from, to)`: its
    /// canonical lines, to be hashed by [`combine_evidence`]. A report reads it once
    /// per probe and period for every contract that names the probe.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn probe_evidence(
        &self,
        name: &str,
        from: UtcMillis,
        to: UtcMillis,
    ) -> Result<ProbeEvidence, StoreError> {
        let mut p = ProbeEvidence::default();
        // A run's last check is at or after its first and in the same UTC day
        // (`RUN_SPAN_MS`): the bounds on `last_at` change no row, they let the
        // index `runs_covering (probe_id, last_at, ...)` read only the period's runs.
        let mut runs = self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM runs r JOIN probes p ON p.id = r.probe_id
                 WHERE p.name = ?1 AND r.first_at >= ?2 AND r.first_at < ?3
                   AND r.last_at >= ?2 AND r.last_at < ?3 + ?4
                 ORDER BY r.first_at, r.id",
                run_columns("r", "p")
            ))
            .map_err(sql(&self.path))?;
        let rows = runs
            .query_map(
                rusqlite::params![name, from.0, to.0, super::RUN_SPAN_MS],
                |r| run_line(r, 0),
            )
            .map_err(sql(&self.path))?;
        for row in rows {
            let (line, count) = row.map_err(sql(&self.path))?;
            p.runs.push_str(&line);
            p.run_count += 1;
            p.checks += count;
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
        let rows = fails
            .query_map(rusqlite::params![name, from.0, to.0], |r| fail_line(r, 0))
            .map_err(sql(&self.path))?;
        for line in rows {
            p.fails.push_str(&line.map_err(sql(&self.path))?);
            p.fail_count += 1;
            p.checks += 1;
        }
        Ok(p)
    }
}

impl Reader {
    /// One read of `name`'s runs and failed checks for a report: its
    /// [`CheckSpan`]s overlapping `[from, to)` (as [`Reader::check_spans`] gives
    /// them) and its share of the evidence digest over `[ev_from, ev_to)` (as
    /// [`Reader::probe_evidence`] gives it), which must lie within `[from, to)`.
    /// Every run the digest counts is one of the spans (its first and last check
    /// are in `[ev_from, ev_to + RUN_SPAN_MS)`), so the digest's lines are made
    /// from the rows read for the spans, in the same order (`first_at, id` for
    /// runs, `at, id` for failures). A period outside the span is read apart.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn spans_and_evidence(
        &self,
        name: &str,
        (from, to): (UtcMillis, UtcMillis),
        (ev_from, ev_to): (UtcMillis, UtcMillis),
    ) -> Result<(Vec<CheckSpan>, ProbeEvidence), StoreError> {
        if ev_from < from || ev_to > to || ev_from > ev_to {
            return Ok((
                self.check_spans(name, from, to)?,
                self.probe_evidence(name, ev_from, ev_to)?,
            ));
        }
        let mut p = ProbeEvidence::default();
        let mut spans = Vec::new();
        // `runs_covering` holds every column read here: the rows come from the
        // index alone, without a look-up in the table per run.
        let mut runs = self
            .conn
            .prepare_cached(&spans_runs_sql())
            .map_err(sql(&self.path))?;
        let span_ms = super::RUN_SPAN_MS;
        let mut rows = runs
            .query(rusqlite::params![name, from.0, to.0, span_ms])
            .map_err(sql(&self.path))?;
        while let Some(r) = rows.next().map_err(sql(&self.path))? {
            let (first, last): (i64, i64) = (
                r.get(0).map_err(sql(&self.path))?,
                r.get(1).map_err(sql(&self.path))?,
            );
            let status: String = r.get(2).map_err(sql(&self.path))?;
            spans.push(CheckSpan {
                first: UtcMillis(first),
                last: UtcMillis(last),
                status: Status::parse(&status).unwrap_or(Status::Unknown),
                count: r.get(3).map_err(sql(&self.path))?,
            });
            if first >= ev_from.0
                && first < ev_to.0
                && last >= ev_from.0
                && last < ev_to.0.saturating_add(span_ms)
            {
                let (line, count) = run_line(r, 4).map_err(sql(&self.path))?;
                p.runs.push_str(&line);
                p.run_count += 1;
                p.checks += count;
            }
        }
        let mut fails = self
            .conn
            .prepare_cached(&spans_fails_sql())
            .map_err(sql(&self.path))?;
        let mut rows = fails
            .query(rusqlite::params![name, from.0, to.0])
            .map_err(sql(&self.path))?;
        while let Some(r) = rows.next().map_err(sql(&self.path))? {
            let at: i64 = r.get(0).map_err(sql(&self.path))?;
            spans.push(CheckSpan {
                first: UtcMillis(at),
                last: UtcMillis(at),
                status: Status::Down,
                count: 1,
            });
            if at >= ev_from.0 && at < ev_to.0 {
                p.fails.push_str(&fail_line(r, 1).map_err(sql(&self.path))?);
                p.fail_count += 1;
                p.checks += 1;
            }
        }
        // As `check_spans` orders them (`ORDER BY first, last` over runs, then
        // failures): a stable sort keeps a run before a failed check with the same
        // first and last.
        spans.sort_by_key(|s| (s.first, s.last));
        Ok((spans, p))
    }
}

/// One probe's canonical run and failure lines over a period
/// ([`Reader::probe_evidence`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct ProbeEvidence {
    /// The run lines, oldest first.
    runs: String,
    /// The failure lines, oldest first.
    fails: String,
    run_count: i64,
    fail_count: i64,
    checks: i64,
}

/// The evidence digest of probes given in name order, without duplicates: every
/// probe's run lines, then every probe's failure lines (what
/// [`Reader::evidence_digest`] has always hashed).
pub(crate) fn combine_evidence<'a, P>(parts: P) -> EvidenceDigest
where
    P: Iterator<Item = &'a ProbeEvidence> + Clone,
{
    let mut hasher = Sha256::new();
    let mut d = EvidenceDigest {
        sha256: String::new(),
        runs: 0,
        failures: 0,
        checks: 0,
    };
    for p in parts.clone() {
        hasher.update(p.runs.as_bytes());
        d.runs += p.run_count;
        d.checks += p.checks;
    }
    for p in parts {
        hasher.update(p.fails.as_bytes());
        d.failures += p.fail_count;
    }
    d.sha256 = hex(&hasher.finalize());
    d
}

/// A canonical line: `kind`, then each field, every one escaped, separated by `|`
/// and ended by a newline. [`split_line`] reads it back, so two different field
/// lists never give the same line (the seals and the digest rest on that).
///
/// A NULL text column is read as the empty string before it gets here, so a run
/// whose `class` is NULL and one whose `class` is `''` give the same line; the
/// writer only ever stores NULL there.
pub(super) fn join_line(kind: &str, fields: &[&str]) -> String {
    let mut line =
        String::with_capacity(kind.len() + fields.iter().map(|f| f.len() + 1).sum::<usize>() + 1);
    push_escaped(&mut line, kind);
    for f in fields {
        line.push('|');
        push_escaped(&mut line, f);
    }
    line.push('\n');
    line
}

/// Splits a canonical line (see `join_line`) into its kind and fields, unescaped.
///
/// # Errors
/// If `line` is not one `join_line` can give: no final newline, a newline
/// inside, or a `\` not followed by `\`, `|` or `n`. The message names the byte
/// offset.
pub fn split_line(line: &str) -> Result<Vec<String>, String> {
    let Some(body) = line.strip_suffix('\n') else {
        return Err(format!("byte {}: a line ends with a newline", line.len()));
    };
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '|' => fields.push(std::mem::take(&mut field)),
            '\n' => return Err(format!("byte {at}: a newline inside a line")),
            '\\' => match chars.next() {
                Some((_, '\\')) => field.push('\\'),
                Some((_, '|')) => field.push('|'),
                Some((_, 'n')) => field.push('\n'),
                _ => {
                    return Err(format!("byte {at}: '\\' escapes only '\\', '|' and 'n'"));
                }
            },
            c => field.push(c),
        }
    }
    fields.push(field);
    Ok(fields)
}

/// Fuzz entry point of `fuzz/fuzz_targets/canonical_line.rs`.
///
/// `data` is read twice. As a line: [`split_line`] refuses it or gives fields
/// that [`join_line`] turns back into the same text. As fields (split at each
/// `0xff` byte, decoded lossily): they go through [`join_line`] and back, and the
/// first few are stored as a run and as a failed check in an in-memory SQLite
/// table and read back through [`run_line`] and [`fail_line`], the functions the
/// seals and the digest use, whose lines must split into the stored values.
///
/// # Panics
/// If a line does not split back into what made it, which is what the fuzzer
/// looks for.
#[doc(hidden)]
#[expect(
    clippy::expect_used,
    reason = "a fuzz entry point: a panic is the finding the fuzzer reports"
)]
pub fn fuzz_canonical_line(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(parts) = split_line(text)
    {
        let rest: Vec<&str> = parts[1..].iter().map(String::as_str).collect();
        assert_eq!(join_line(&parts[0], &rest), text);
    }
    let fields: Vec<String> = data
        .split(|b| *b == 0xff)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    let line = join_line(refs[0], &refs[1..]);
    assert_eq!(split_line(&line).as_ref(), Ok(&fields), "{line:?}");

    let text = |i: usize| fields.get(i).cloned().unwrap_or_default();
    let (name, status, class, detail) = (text(0), text(1), fields.get(2).cloned(), text(3));
    FUZZ_DB.with(|conn| {
        let conn = conn.as_ref().expect("an in-memory database opens");
        let run = conn
            .query_row(
                "SELECT ?1, ?2, ?3, 1000, 2000, 3, NULL, 45, 20",
                rusqlite::params![name, status, class],
                |r| run_line(r, 0),
            )
            .expect("an in-memory SELECT");
        let want = [&name, &status, &class.clone().unwrap_or_default()];
        let want: Vec<&str> = ["run"]
            .into_iter()
            .chain(want.iter().map(|s| s.as_str()))
            .chain(["1000", "2000", "3", "", "45", "20"])
            .collect();
        assert_eq!(
            split_line(&run.0).expect("run_line splits"),
            want,
            "{run:?}"
        );
        let fail = conn
            .query_row(
                "SELECT ?1, 1000, ?2, ?3, 1, NULL, 2, 3, NULL, 6, 99",
                rusqlite::params![name, class, detail],
                |r| fail_line(r, 0),
            )
            .expect("an in-memory SELECT");
        let class = class.unwrap_or_default();
        let want: Vec<&str> = ["fail", &name, "1000", &class, &detail]
            .into_iter()
            .chain(["1", "", "2", "3", "", "6", "99"])
            .collect();
        assert_eq!(
            split_line(&fail).expect("fail_line splits"),
            want,
            "{fail:?}"
        );
    });
}

thread_local! {
    /// The connection [`fuzz_canonical_line`] selects its rows through.
    static FUZZ_DB: rusqlite::Result<rusqlite::Connection> =
        rusqlite::Connection::open_in_memory();
}

/// The runs [`Reader::spans_and_evidence`] reads: a probe's runs over a window,
/// with the columns of their evidence lines.
fn spans_runs_sql() -> String {
    format!(
        "SELECT r.first_at, r.last_at, r.status, r.count, {}
           FROM runs r JOIN probes p ON p.id = r.probe_id
          WHERE p.name = ?1 AND r.last_at >= ?2 AND r.first_at < ?3
            AND r.last_at < ?3 + ?4
          ORDER BY r.first_at, r.id",
        run_columns("r", "p")
    )
}

/// The failed checks [`Reader::spans_and_evidence`] reads, with their lines' columns.
fn spans_fails_sql() -> String {
    format!(
        "SELECT f.at, {} FROM failures f JOIN probes p ON p.id = f.probe_id
          WHERE p.name = ?1 AND f.at >= ?2 AND f.at < ?3
          ORDER BY f.at, f.id",
        fail_columns("f", "p")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one read of a report gives the spans and the digest lines the two reads
    /// gave, over periods that cut runs and failed checks at both ends, and it reads
    /// the runs from the covering index alone.
    #[test]
    fn one_read_gives_the_spans_and_the_evidence_of_two() {
        use crate::model::{Check, ErrorClass, Phases};
        use crate::store::{RUN_SPAN_MS, Store};
        const T0: i64 = 1_711_929_600_000; // 2024-04-01T00:00:00Z
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evidence.db");
        let store = Store::open(&path).unwrap();
        store
            .register_probes(&[
                ("web".to_owned(), "http".to_owned()),
                ("other".to_owned(), "http".to_owned()),
            ])
            .unwrap();
        let hour = RUN_SPAN_MS / 24;
        for i in 0..24 * 6 {
            let at = T0 + i * hour + 17;
            let status = if i % 7 == 3 || (40..46).contains(&i) {
                Status::Down
            } else {
                Status::Up
            };
            for probe in ["web", "other"] {
                store
                    .record_check(&Check {
                        probe: probe.to_owned(),
                        started_at: UtcMillis(at),
                        status,
                        class: (status == Status::Down).then_some(ErrorClass::Timeout),
                        detail: format!("d|{i}\\"),
                        phases: Phases {
                            total: Some(std::time::Duration::from_millis(
                                40 + u64::try_from(i).unwrap(),
                            )),
                            ..Phases::default()
                        },
                        cert_not_after: None,
                    })
                    .unwrap();
            }
        }
        store.close().unwrap();
        let reader = Reader::open(&path).unwrap();
        let margin = RUN_SPAN_MS + 5 * hour;
        let mut compared = 0;
        for (a, b) in [(0, 6 * 24), (1, 3 * 24), (40, 44), (41, 100), (3, 4)] {
            let (ps, pe) = (T0 + a * hour + 17, T0 + b * hour);
            let (from, to) = (UtcMillis(ps - margin), UtcMillis(pe + margin));
            let (ev_from, ev_to) = (UtcMillis(ps), UtcMillis(pe));
            let (spans, ev) = reader
                .spans_and_evidence("web", (from, to), (ev_from, ev_to))
                .unwrap();
            assert_eq!(spans, reader.check_spans("web", from, to).unwrap());
            let two = reader.probe_evidence("web", ev_from, ev_to).unwrap();
            assert_eq!(
                (ev.runs.as_str(), ev.fails.as_str()),
                (two.runs.as_str(), two.fails.as_str())
            );
            assert_eq!(
                (ev.run_count, ev.fail_count, ev.checks),
                (two.run_count, two.fail_count, two.checks)
            );
            assert!(ev.fail_count > 0 || b - a < 3, "{a}..{b}");
            compared += ev.run_count;
        }
        assert!(compared > 5, "the periods hold runs");
        // Five periods, five sets of bound values: each statement was prepared once
        // and never again (a plan that depended on the values was re-prepared on
        // every new binding, 38 % of a year of reports' build).
        for sql in [spans_runs_sql(), spans_fails_sql()] {
            let st = reader.conn.prepare_cached(&sql).unwrap();
            assert_eq!(
                st.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "re-prepared: {sql}"
            );
        }
        let plan: Vec<String> = reader
            .conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT r.first_at, r.last_at, r.status, r.count, {}
                   FROM runs r JOIN probes p ON p.id = r.probe_id
                  WHERE p.name = ?1 AND r.last_at >= ?2 AND r.first_at < ?3
                    AND r.last_at < ?3 + ?4
                  ORDER BY r.first_at, r.id",
                run_columns("r", "p")
            ))
            .unwrap()
            .query_map(rusqlite::params!["web", 0, 1, RUN_SPAN_MS], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains("USING COVERING INDEX runs_covering")),
            "{plan:?}"
        );
    }

    /// The escaping written in one pass gives the lines the three replacements gave
    /// (every seal and digest already stored rests on them), and reads back.
    #[test]
    fn one_pass_escaping_gives_the_lines_it_always_gave() {
        let before = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('|', "\\|")
                .replace('\n', "\\n")
        };
        for s in [
            "",
            "plain",
            "a|b",
            "\\",
            "\\|\n",
            "|\n\\x\\n|",
            "é|ü\nß\\€",
            "ends with a bar|",
            "\n\n",
        ] {
            assert_eq!(escape(s), before(s), "{s:?}");
            let line = join_line(s, &[s, "x", s]);
            assert_eq!(
                line,
                format!("{}|{}|x|{}\n", before(s), before(s), before(s)),
                "{s:?}"
            );
            assert_eq!(split_line(&line).unwrap(), vec![s, s, "x", s], "{s:?}");
        }
    }

    fn run_of(status: &str, class: Option<&str>) -> String {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.query_row(
            "SELECT 'web', ?1, ?2, 1, 2, 1, 5, 5, 5",
            rusqlite::params![status, class],
            |r| run_line(r, 0),
        )
        .unwrap()
        .0
    }

    /// The status and class of a run were written unescaped: these two rows gave
    /// one line, so a seal could not tell them apart.
    #[test]
    fn rows_that_differ_give_different_lines() {
        let a = run_of("up|x", Some(""));
        let b = run_of("up", Some("x|"));
        assert_ne!(a, b);
        assert_eq!(split_line(&a).unwrap()[2..4], ["up|x", ""]);
        assert_eq!(split_line(&b).unwrap()[2..4], ["up", "x|"]);
        // What real rows hold is not changed by the escaping.
        assert_eq!(run_of("up", None), "run|web|up||1|2|1|5|5|5\n");
    }

    #[test]
    fn split_line_reads_escapes_and_refuses_what_join_never_writes() {
        let line = join_line("fail", &["a|b", "c\\", "d\ne", ""]);
        assert_eq!(line, "fail|a\\|b|c\\\\|d\\ne|\n");
        assert_eq!(
            split_line(&line).unwrap(),
            ["fail", "a|b", "c\\", "d\ne", ""]
        );
        for (bad, at) in [
            ("run|x", "byte 5"),
            ("run|x\ny\n", "byte 5"),
            ("run|\\t\n", "byte 4"),
            ("run|x\\\n", "byte 5"),
        ] {
            let e = split_line(bad).unwrap_err();
            assert!(e.starts_with(at), "{bad:?}: {e}");
        }
    }

    /// Replays `fuzz/corpus/canonical_line/` (the crashes it found are kept there).
    #[test]
    fn fuzz_corpus_replays() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/canonical_line");
        let mut seeds = 0;
        for file in std::fs::read_dir(&dir).unwrap() {
            fuzz_canonical_line(&std::fs::read(file.unwrap().path()).unwrap());
            seeds += 1;
        }
        assert!(seeds >= 10, "only {seeds} seeds in {}", dir.display());
    }
}
