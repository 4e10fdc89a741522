//! The hash chain that makes the evidence append-only: a later edit, insertion or
//! deletion of a sealed row is detectable (`slawatch verify`).
//!
//! What is sealed, and when (each row as soon as it can no longer change, or each
//! state a report can rest on):
//! - `failures`: in the transaction that inserts the row;
//! - `runs`: when the writer starts another run for its probe, when a check or
//!   heartbeat of a later UTC day arrives (runs never span a day,
//!   [`super::RUN_SPAN_MS`]), before a prune, and when the writer stops; until then it
//!   is *open*: at most one per probe, in the day of the newest instant;
//! - `outages`: twice, each state as it is written: open (END empty), then closed.
//!   Only an open outage may change (trigger), so a row has at most two seals, and
//!   only the last is compared with the row as it reads now;
//! - `coverage`: when the segment can no longer grow: a heartbeat after a gap, a
//!   heartbeat of a later UTC day (the next segment starts where this one ended, so
//!   no time is lost), the writer stopping, or a crashed writer's segment at the next
//!   start. At most one segment is open: the newest, in the newest day. Heartbeats
//!   in between update it unsealed (a seal per heartbeat would be 31 M seals a year);
//! - `incidents`, `maintenance` and `goodwill`: in the transaction that inserts them;
//! - `alerts` and `alert_attempts` (issue 17): in the transaction that inserts them
//!   (an alert once per channel and key; its attempts appended, never changed);
//! - `prunes`: retention is an event in the chain. A prune seals a row saying up to
//!   which seal and before which instant rows of `runs` and `failures` were deleted,
//!   the retention applied, the counts, and the SHA-256 over the deleted rows' row
//!   hashes. Their seals are kept (about 200 bytes a row), so the chain stays whole
//!   and `verify` recomputes that digest and checks the cut against the retention.
//!
//! A seal is one row of `seals`, in chain order (`id` = 1, 2, 3, ... with no gap):
//!
//! ```text
//! row_hash = SHA-256(canonical line of the row)          (the lines of digest.rs)
//! chain    = SHA-256(previous chain || row_hash)          (32 + 32 raw bytes)
//! ```
//!
//! both stored as lower-case hex. The chain before the first seal is 32 zero bytes,
//! or, in a database pruned before migration 3, the checkpoint kept in `meta`
//! (`chain_checkpoint_seal`, `chain_checkpoint_hash`: the last pruned seal and its
//! chain value). Migration 3 records that checkpoint as a sealed prune event that
//! deleted nothing; `verify` trusts a checkpoint in `meta` only with that record. By hand: `printf '%s%s' PREV ROW_HASH | xxd -r -p | sha256sum`.
//!
//! Triggers (migrations 2 and 3) refuse to update or delete a sealed row, so a slip
//! at the `sqlite3` prompt fails loudly; someone who drops them is still caught by
//! the chain. What a chain alone cannot catch is a rewrite of every seal from the
//! edit on, or the newest seals cut off or appended: only a chain head held outside
//! the database (a report that states it, `Reader::chain_head`, or the daemon's
//! checkpoint file, `verify --checkpoint`) pins the prefix up to it.

pub(super) use super::digest::Table;
use super::digest::{hex, row_line};
use super::{RUN_SPAN_MS, Reader, StoreError, sql};
use crate::model::UtcMillis;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// A SHA-256 value.
pub(super) type Hash = [u8; 32];

/// The chain before the first seal of a database that never pruned.
pub(super) const GENESIS: Hash = [0; 32];

/// No prune may cut checks younger than this, whatever the configuration says
/// (400 days: a year of evidence plus a claim window). `config` refuses a shorter
/// retention, and `verify` flags a prune event that cut newer than it.
pub const MIN_RETENTION_MS: i64 = 400 * 86_400_000;

/// `meta` keys of the retention checkpoint of databases pruned before migration 3.
const CHECKPOINT_SEAL: &str = "chain_checkpoint_seal";
const CHECKPOINT_HASH: &str = "chain_checkpoint_hash";

/// The SHA-256 of a canonical line.
pub(super) fn row_hash(line: &str) -> Hash {
    Sha256::digest(line.as_bytes()).into()
}

/// One link: `SHA-256(prev || row_hash)`.
pub(super) fn link(prev: &Hash, row_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(row_hash);
    h.finalize().into()
}

/// The chain over `row_hashes`, starting from `start`.
#[cfg(test)]
fn fold<'a>(start: Hash, row_hashes: impl IntoIterator<Item = &'a Hash>) -> Hash {
    row_hashes
        .into_iter()
        .fold(start, |prev, row| link(&prev, row))
}

/// Parses 64 hex digits.
fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The last seal: its id (0 when none) and chain value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) seal: i64,
    pub(super) chain: Hash,
}

fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<Option<(i64, String)>> {
    let get = |key: &str| {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .optional()
    };
    Ok(match (get(CHECKPOINT_SEAL)?, get(CHECKPOINT_HASH)?) {
        (Some(seal), Some(hash)) => Some((seal.parse().unwrap_or(-1), hash)),
        _ => None,
    })
}

/// The head the writer continues from: the last seal, else the checkpoint, else genesis.
pub(super) fn head(conn: &rusqlite::Connection) -> rusqlite::Result<Head> {
    let last = conn
        .query_row(
            "SELECT id, chain FROM seals ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    let (seal, chain) = match last {
        Some(l) => l,
        None => match checkpoint(conn)? {
            Some(c) => c,
            None => {
                return Ok(Head {
                    seal: 0,
                    chain: GENESIS,
                });
            }
        },
    };
    // A head that does not parse was edited; the writer goes on from it and
    // `verify` names the damage.
    Ok(Head {
        seal,
        chain: unhex(&chain).unwrap_or(GENESIS),
    })
}

/// Seals row `row` of `table`: hashes its canonical line as stored and appends the
/// link to the chain. The head is read from the database, not trusted from
/// `head`: `slawatch incident add` seals from another connection while the daemon
/// runs. `QueryReturnedNoRows` when the row does not exist.
pub(super) fn seal(
    tx: &rusqlite::Connection,
    head: &mut Head,
    table: Table,
    row: i64,
) -> rusqlite::Result<()> {
    let Some(found) = row_line(tx, table, row)? else {
        return Err(rusqlite::Error::QueryReturnedNoRows);
    };
    let current = self::head(tx)?;
    let rh = row_hash(&found.line);
    let next = Head {
        seal: current.seal + 1,
        chain: link(&current.chain, &rh),
    };
    tx.prepare_cached(
        "INSERT INTO seals (id, tbl, row_id, row_hash, chain, probe, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        next.seal,
        table.as_str(),
        row,
        hex(&rh),
        hex(&next.chain),
        found.who,
        found.at
    ])?;
    *head = next;
    Ok(())
}

/// Seals every row of a database from before migration 2, oldest first (runs
/// before failures at the same instant). Runs in the migration's transaction: the
/// writer of that time is gone, so none of its runs can change any more.
pub(super) fn seal_legacy(tx: &rusqlite::Connection) -> rusqlite::Result<()> {
    let mut rows: Vec<(i64, u8, i64)> = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT first_at, 0, id FROM runs UNION ALL SELECT at, 1, id FROM failures")?;
        for r in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            rows.push(r?);
        }
    }
    rows.sort_unstable();
    let mut h = head(tx)?;
    for (_, t, id) in rows {
        let table = if t == 0 { Table::Runs } else { Table::Failures };
        seal(tx, &mut h, table, id)?;
    }
    Ok(())
}

/// Migration 3: seals every row of the tables it brings into the chain, oldest
/// first. No writer runs during a migration, so no segment or outage is still
/// being written by it; an open outage is sealed open.
pub(super) fn seal_legacy_v3(tx: &rusqlite::Connection) -> rusqlite::Result<()> {
    // A database pruned before migration 3 starts its chain at the checkpoint in
    // `meta`, which anyone can write. Record it as a sealed event that deleted
    // nothing, before any seal of the tables migration 3 brings in, so `verify` can
    // tell it from a checkpoint written later to hide a cut prefix.
    if let Some((seal_id, _)) = checkpoint(tx)? {
        tx.execute(
            "INSERT INTO prunes (at, before, up_to_seal, retention_ms, runs, failures, checks, digest)
             VALUES (?1, 0, ?2, ?1, 0, 0, 0, ?3)",
            params![
                MIN_RETENTION_MS,
                seal_id,
                hex(&Sha256::digest(b""))
            ],
        )?;
        let mut h = head(tx)?;
        seal(tx, &mut h, Table::Prunes, tx.last_insert_rowid())?;
    }
    let mut rows: Vec<(i64, u8, i64)> = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT start, 0, id FROM outages UNION ALL SELECT start, 1, id FROM coverage
             UNION ALL SELECT start, 2, id FROM incidents
             UNION ALL SELECT start, 3, id FROM maintenance",
        )?;
        for r in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
            rows.push(r?);
        }
    }
    rows.sort_unstable();
    let mut h = head(tx)?;
    for (_, t, id) in rows {
        let table = match t {
            0 => Table::Outages,
            1 => Table::Coverage,
            2 => Table::Incidents,
            _ => Table::Maintenance,
        };
        seal(tx, &mut h, table, id)?;
    }
    Ok(())
}

/// The hour of the newest instant the writer recorded: a check or a heartbeat.
/// Runs of earlier hours can no longer change, so they must be sealed.
pub(super) fn newest_hour(conn: &rusqlite::Connection) -> rusqlite::Result<Option<i64>> {
    let newest: Option<i64> = conn.query_row(
        "SELECT max(coalesce((SELECT max(last_at) FROM runs), -9223372036854775808),
                    coalesce((SELECT max(at) FROM failures), -9223372036854775808),
                    coalesce((SELECT max(end) FROM coverage), -9223372036854775808))",
        [],
        |r| r.get(0),
    )?;
    Ok(newest
        .filter(|n| *n != i64::MIN)
        .map(|n| n.div_euclid(RUN_SPAN_MS)))
}

/// Unsealed runs, each with its probe, first instant, and whether it may still be
/// open: the latest run of its probe, in the hour of the newest instant (`hour`).
fn unsealed_runs(
    conn: &rusqlite::Connection,
    hour: Option<i64>,
) -> rusqlite::Result<Vec<(i64, String, i64, bool)>> {
    let mut stmt = conn.prepare(
        "SELECT r.id, coalesce(p.name, ''), r.first_at,
                r.id = (SELECT max(r2.id) FROM runs r2 WHERE r2.probe_id = r.probe_id)
         FROM runs r LEFT JOIN probes p ON p.id = r.probe_id
         WHERE NOT EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'runs' AND s.row_id = r.id)
         ORDER BY r.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let first: i64 = r.get(2)?;
        let latest: bool = r.get(3)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            first,
            latest && Some(first.div_euclid(RUN_SPAN_MS)) == hour,
        ))
    })?;
    rows.collect()
}

/// Unsealed coverage segments, each with its vantage, start, and whether it may
/// still be open: the newest segment, starting in the day of the newest instant.
fn unsealed_coverage(
    conn: &rusqlite::Connection,
    hour: Option<i64>,
) -> rusqlite::Result<Vec<(i64, String, i64, bool)>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.vantage, c.start, c.id = (SELECT max(id) FROM coverage)
         FROM coverage c
         WHERE NOT EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'coverage' AND s.row_id = c.id)
         ORDER BY c.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let start: i64 = r.get(2)?;
        let latest: bool = r.get(3)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            start,
            latest && Some(start.div_euclid(RUN_SPAN_MS)) == hour,
        ))
    })?;
    rows.collect()
}

/// At start-up: seals the runs and the coverage segment the previous writer left
/// open (it stopped without sealing them: a crash). A new writer never extends
/// them. Unsealed rows that could not have been open are left for `verify` to
/// report, and counted.
pub(super) fn seal_left_open(
    tx: &rusqlite::Connection,
    head: &mut Head,
) -> rusqlite::Result<usize> {
    let hour = newest_hour(tx)?;
    let mut strays = 0;
    for (id, _, _, open) in unsealed_runs(tx, hour)? {
        if open {
            seal(tx, head, Table::Runs, id)?;
        } else {
            strays += 1;
        }
    }
    for (id, _, _, open) in unsealed_coverage(tx, hour)? {
        if open {
            seal(tx, head, Table::Coverage, id)?;
        } else {
            strays += 1;
        }
    }
    Ok(strays)
}

/// The UTC midnight at or before `at`: a prune cuts at a day boundary, so a run
/// (which never spans a day) is either wholly before the cut or wholly after.
fn day_floor(at: i64) -> i64 {
    at - at.rem_euclid(RUN_SPAN_MS)
}

/// Retention: deletes the rows of `runs` and `failures` sealed so far whose
/// instant is before `now - retention` (rounded down to UTC midnight), after
/// recording and sealing a `prunes` row that says what went. Their seals stay.
/// Nothing deleted, nothing recorded. Every open run must be sealed first.
pub(super) fn prune(
    tx: &rusqlite::Connection,
    head: &mut Head,
    now: UtcMillis,
    retention_ms: i64,
) -> rusqlite::Result<()> {
    let before = day_floor(now.0.saturating_sub(retention_ms.max(MIN_RETENTION_MS)));
    let up_to = self::head(tx)?.seal;
    let mut going: Vec<(Table, i64, String, i64)> = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT s.tbl, s.row_id, s.row_hash, coalesce(r.count, 0)
             FROM seals s
             LEFT JOIN runs r ON s.tbl = 'runs' AND r.id = s.row_id
             LEFT JOIN failures f ON s.tbl = 'failures' AND f.id = s.row_id
             WHERE s.tbl IN ('runs', 'failures') AND s.id <= ?1 AND s.at < ?2
               AND coalesce(r.id, f.id) IS NOT NULL
             ORDER BY s.id",
        )?;
        let rows = stmt.query_map(params![up_to, before], |r| {
            let tbl: String = r.get(0)?;
            Ok((
                if tbl == "runs" {
                    Table::Runs
                } else {
                    Table::Failures
                },
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })?;
        for row in rows {
            going.push(row?);
        }
    }
    if going.is_empty() {
        return Ok(());
    }
    let mut digest = Sha256::new();
    let (mut runs, mut failures, mut checks) = (0i64, 0i64, 0i64);
    for (table, _, rh, count) in &going {
        digest.update(unhex(rh).unwrap_or(GENESIS));
        if *table == Table::Runs {
            runs += 1;
            checks += count;
        } else {
            failures += 1;
            checks += 1;
        }
    }
    tx.prepare_cached(
        "INSERT INTO prunes (at, before, up_to_seal, retention_ms, runs, failures, checks, digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        now.0,
        before,
        up_to,
        retention_ms,
        runs,
        failures,
        checks,
        hex(&digest.finalize())
    ])?;
    let event = tx.last_insert_rowid();
    seal(tx, head, Table::Prunes, event)?;
    // The event exists, so the triggers let exactly these rows go.
    for (table, id, _, _) in going {
        tx.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", table.as_str()))?
            .execute([id])?;
    }
    Ok(())
}

/// What is wrong with one link of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The row's content no longer hashes to its seal: edited after sealing.
    Altered,
    /// The sealed row is gone (and no prune event accounts for it).
    Missing,
    /// The seal's chain value does not follow from the previous one and its row hash:
    /// a seal was edited, inserted or removed.
    BrokenLink,
    /// Seal ids jump: seals were deleted.
    Gap {
        /// The id the chain expected next.
        expected: i64,
    },
    /// A failed check with no seal: inserted by hand (failures are sealed as written).
    UnsealedFailure,
    /// A run with no seal that can no longer be open (not the latest of its probe,
    /// or of a day before the newest instant): inserted by hand.
    UnsealedRun,
    /// An outage, coverage segment (other than the open one), incident,
    /// maintenance window or prune event with no seal: inserted by hand.
    Unsealed,
    /// A row sealed more often than the writer seals it (once; an outage twice):
    /// re-sealed after an edit.
    SealedAgain,
    /// The seal names a table that holds no evidence.
    UnknownTable,
    /// A stored hash is not 64 hex digits.
    BadHash,
    /// A prune event's digest or counts do not match the seals of the rows that
    /// are gone: rows were deleted beside it, or it was edited.
    PruneMismatch,
    /// A prune event cut checks newer than the retention allowed.
    PruneTooRecent {
        /// The retention applied (the configuration's, or the larger of the
        /// recorded one and [`MIN_RETENTION_MS`]).
        retention_ms: i64,
    },
    /// A prune event dated after `verify` ran, or covering seals after its own.
    PruneForged,
    /// The chain starts after a checkpoint in `meta` that no sealed event records
    /// (only migration 3 records one, for a database pruned before it): the seals
    /// up to it were deleted and the checkpoint written to hide it.
    UnrecordedCheckpoint,
}

/// One problem the walk found, located as precisely as the database allows: a row
/// that is gone is named by the probe and instant its seal recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainProblem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The seal, when a seal is involved.
    pub seal: Option<i64>,
    /// The table (`runs`, `failures`, `outages`, `coverage`, `incidents`,
    /// `maintenance`, `prunes`, `goodwill`, or `seals`).
    pub table: &'static str,
    /// The row id in `table`.
    pub row: Option<i64>,
    /// The row's probe (a vantage for coverage, a scope for maintenance), as it reads now.
    pub probe: Option<String>,
    /// The row's instant (a run's first check, a segment's or outage's start), as it reads now.
    pub at: Option<UtcMillis>,
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.seal {
            Some(s) => write!(f, "seal {s}: ")?,
            None => write!(f, "no seal: ")?,
        }
        write!(f, "{}", self.table)?;
        if let Some(r) = self.row {
            write!(f, " row {r}")?;
        }
        let who = match self.table {
            "coverage" => "vantage",
            "maintenance" | "goodwill" => "scope",
            "incidents" | "members" => "for",
            "alerts" | "alert_attempts" => "key",
            _ => "probe",
        };
        match (&self.probe, self.at) {
            (Some(p), Some(at)) if !p.is_empty() => write!(f, " ({who} {p}, {at})")?,
            (Some(p), None) if !p.is_empty() => write!(f, " ({who} {p})")?,
            (_, Some(at)) => write!(f, " ({at})")?,
            _ => {}
        }
        let why = match &self.kind {
            ProblemKind::Altered => {
                "was altered after it was sealed (its content no longer matches the seal)"
                    .to_owned()
            }
            ProblemKind::Missing => {
                "was deleted after it was sealed (no prune event accounts for it)".to_owned()
            }
            ProblemKind::BrokenLink => {
                "the chain is broken here: this seal does not follow from the one before \
                 (a seal was edited, inserted or removed)"
                    .to_owned()
            }
            ProblemKind::Gap { expected } => {
                format!("seals from {expected} are missing: seals were deleted")
            }
            ProblemKind::UnsealedFailure => {
                "is not sealed: failed checks are sealed as they are written, so this row \
                 was inserted by hand"
                    .to_owned()
            }
            ProblemKind::UnsealedRun => {
                "is not sealed although it can no longer be open: inserted by hand".to_owned()
            }
            ProblemKind::Unsealed => {
                "is not sealed: the writer seals it as it writes it (a coverage segment once \
                 it can no longer grow), so this row was inserted by hand"
                    .to_owned()
            }
            ProblemKind::SealedAgain => {
                "was sealed again: the writer seals this row once (an outage twice: open, \
                 then closed), so it was re-sealed after an edit"
                    .to_owned()
            }
            ProblemKind::UnknownTable => "the seal names a table that holds no evidence".to_owned(),
            ProblemKind::BadHash => "the seal's stored hash is not 64 hex digits".to_owned(),
            ProblemKind::PruneMismatch => {
                "this prune event does not match the rows that are gone (its digest or \
                 counts differ): rows were deleted beside retention, or the event was edited"
                    .to_owned()
            }
            ProblemKind::PruneTooRecent { retention_ms } => format!(
                "this prune event cut checks newer than a retention of {} days allowed",
                retention_ms / 86_400_000
            ),
            ProblemKind::UnrecordedCheckpoint => {
                "the chain starts after this seal by a checkpoint in meta that no sealed \
                 event records: the seals up to it were deleted, and the rows with them"
                    .to_owned()
            }
            ProblemKind::PruneForged => {
                "this prune event is dated after now, or covers seals after its own: forged"
                    .to_owned()
            }
        };
        write!(f, " {why}")
    }
}

/// The outcome of walking the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Seals walked.
    pub sealed: i64,
    /// The last seal's id and chain value (hex); the checkpoint's when every sealed
    /// row was pruned; `None` for an empty chain.
    pub head: Option<(i64, String)>,
    /// Where the chain starts in a database pruned before migration 3: the last
    /// pruned seal and its chain value.
    pub checkpoint: Option<(i64, String)>,
    /// Runs not yet sealed because they may still grow (current day).
    pub open_runs: i64,
    /// Coverage segments not yet sealed because they may still grow (0 or 1).
    pub open_coverage: i64,
    /// Prune events in the chain, and the rows they deleted (accounted for).
    pub prune_events: i64,
    /// Rows deleted by retention, accounted for by a prune event.
    pub pruned_rows: i64,
    /// Everything wrong, in chain order, then unsealed rows (at most
    /// [`MAX_PROBLEMS`]; `more_problems` counts the rest).
    pub problems: Vec<ChainProblem>,
    /// Problems found beyond the first [`MAX_PROBLEMS`].
    pub more_problems: u64,
}

/// At most this many problems are kept in a [`ChainReport`].
pub const MAX_PROBLEMS: usize = 100;

impl ChainReport {
    fn push(&mut self, p: ChainProblem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else {
            self.more_problems += 1;
        }
    }

    /// No problem found.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What `verify` holds prune events to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// The configured retention (ms): no prune may cut newer. `None`: the larger of
    /// the one each event recorded and [`MIN_RETENTION_MS`].
    pub retention_ms: Option<i64>,
    /// Now, by the verifier's clock: a prune event dated later is forged.
    pub now: Option<UtcMillis>,
}

/// A prune event as stored, with its seal and what the walk found gone under it.
struct PruneEvent {
    id: i64,
    seal: i64,
    at: i64,
    before: i64,
    up_to: i64,
    retention_ms: i64,
    runs: i64,
    failures: i64,
    digest: String,
    found: Sha256,
    found_runs: i64,
    found_failures: i64,
}

fn prune_events(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<PruneEvent>> {
    let mut stmt = conn.prepare(
        "SELECT p.id, s.id, p.at, p.before, p.up_to_seal, p.retention_ms, p.runs, p.failures,
                p.digest
         FROM prunes p JOIN seals s ON s.tbl = 'prunes' AND s.row_id = p.id
         ORDER BY s.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PruneEvent {
            id: r.get(0)?,
            seal: r.get(1)?,
            at: r.get(2)?,
            before: r.get(3)?,
            up_to: r.get(4)?,
            retention_ms: r.get(5)?,
            runs: r.get(6)?,
            failures: r.get(7)?,
            digest: r.get(8)?,
            found: Sha256::new(),
            found_runs: 0,
            found_failures: 0,
        })
    })?;
    rows.collect()
}

impl Reader {
    /// Whether the database has the hash chain (migration 2). An older file gets it
    /// when a writer (`slawatch run`) next opens it.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn has_chain(&self) -> Result<bool, StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql(&self.path))?;
        Ok(version >= i64::try_from(super::SEALS_MIGRATION).unwrap_or(i64::MAX))
    }

    /// The last seal's id and chain value (hex), for a report to state: a later
    /// rewrite of the chain up to there no longer matches it. `None` before the first seal.
    ///
    /// # Errors
    /// On a database error (a database older than migration 2 has no chain).
    pub fn chain_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        let h = head(&self.conn).map_err(sql(&self.path))?;
        Ok((h.seal > 0).then(|| (h.seal, hex(&h.chain))))
    }

    /// The chain value stored for seal `id`, if that seal is still kept (or is the
    /// checkpoint).
    ///
    /// # Errors
    /// On a database error.
    pub fn chain_at(&self, id: i64) -> Result<Option<String>, StoreError> {
        let stored: Option<String> = self
            .conn
            .query_row("SELECT chain FROM seals WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(sql(&self.path))?;
        if stored.is_some() {
            return Ok(stored);
        }
        Ok(checkpoint(&self.conn)
            .map_err(sql(&self.path))?
            .filter(|(seal, _)| *seal == id)
            .map(|(_, hash)| hash))
    }

    /// Walks the hash chain with the recorded retention and no clock: see
    /// [`Reader::verify_chain_with`].
    ///
    /// # Errors
    /// On a database error (a database older than migration 2 has no chain).
    pub fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        self.verify_chain_with(RetentionPolicy::default())
    }

    /// Walks the hash chain: recomputes every sealed row's hash from its current
    /// content and every link from the one before, accounts for every row that is
    /// gone by a prune event (whose digest and counts are recomputed, and whose cut
    /// is held to `policy`), and looks for rows that should be sealed and are not.
    ///
    /// # Errors
    /// On a database error (a database older than migration 2 has no chain).
    pub(crate) fn verify_chain_with(
        &self,
        policy: RetentionPolicy,
    ) -> Result<ChainReport, StoreError> {
        let e = sql(&self.path);
        let checkpoint = checkpoint(&self.conn).map_err(&e)?;
        let mut report = ChainReport {
            sealed: 0,
            head: checkpoint.clone(),
            checkpoint: checkpoint.clone(),
            open_runs: 0,
            open_coverage: 0,
            prune_events: 0,
            pruned_rows: 0,
            problems: Vec::new(),
            more_problems: 0,
        };
        let (mut expected, mut prev) = match &checkpoint {
            Some((seal, hash)) => (seal + 1, unhex(hash)),
            None => (1, Some(GENESIS)),
        };
        if checkpoint.is_some() && prev.is_none() {
            report.push(ChainProblem {
                kind: ProblemKind::BadHash,
                seal: checkpoint.as_ref().map(|c| c.0),
                table: "seals",
                row: None,
                probe: None,
                at: None,
            });
        }
        let mut prunes = prune_events(&self.conn).map_err(&e)?;
        if let Some((seal_id, _)) = &checkpoint {
            // Recorded by migration 3 only: before any seal of the tables it added.
            let first_new: Option<i64> = self
                .conn
                .query_row(
                    "SELECT min(id) FROM seals WHERE tbl NOT IN ('runs', 'failures', 'prunes')",
                    [],
                    |r| r.get(0),
                )
                .map_err(&e)?;
            let recorded = prunes.iter().any(|p| {
                p.up_to == *seal_id
                    && p.before == 0
                    && p.runs == 0
                    && p.failures == 0
                    && first_new.is_none_or(|f| p.seal < f)
            });
            if !recorded {
                report.push(ChainProblem {
                    kind: ProblemKind::UnrecordedCheckpoint,
                    seal: Some(*seal_id),
                    table: "seals",
                    row: None,
                    probe: None,
                    at: None,
                });
            }
        }
        // How often each row is sealed, and its last seal: only the last is
        // compared with the row as it reads now.
        let mut seals_of: HashMap<(String, i64), (i64, i64)> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT tbl, row_id, count(*), max(id) FROM seals GROUP BY tbl, row_id")
                .map_err(&e)?;
            let rows = stmt
                .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))
                .map_err(&e)?;
            for row in rows {
                let (k, v) = row.map_err(&e)?;
                seals_of.insert(k, v);
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id, tbl, row_id, row_hash, chain, probe, at FROM seals ORDER BY id")
            .map_err(&e)?;
        let mut rows = stmt.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let id: i64 = r.get(0).map_err(&e)?;
            let tbl: String = r.get(1).map_err(&e)?;
            let row_id: i64 = r.get(2).map_err(&e)?;
            let stored_row: String = r.get(3).map_err(&e)?;
            let stored_chain: String = r.get(4).map_err(&e)?;
            let sealed_who: String = r.get(5).map_err(&e)?;
            let sealed_at: i64 = r.get(6).map_err(&e)?;
            let table = Table::parse(&tbl);
            let now = match table {
                Some(t) => row_line(&self.conn, t, row_id).map_err(&e)?,
                None => None,
            };
            // A row that is gone is named by where its seal says it was.
            let (probe, at) = match &now {
                Some(l) => (l.who.clone(), l.at),
                None => (sealed_who, sealed_at),
            };
            report.sealed += 1;
            report.head = Some((id, stored_chain.clone()));
            let problem = |kind| ChainProblem {
                kind,
                seal: Some(id),
                table: table.map_or("seals", Table::as_str),
                row: Some(row_id),
                probe: Some(probe.clone()),
                at: Some(UtcMillis(at)),
            };
            if id != expected {
                report.push(problem(ProblemKind::Gap { expected }));
            }
            expected = id + 1;
            let (Some(rh), Some(chain)) = (unhex(&stored_row), unhex(&stored_chain)) else {
                report.push(problem(ProblemKind::BadHash));
                prev = None;
                continue;
            };
            let (times, last) = seals_of
                .get(&(tbl.clone(), row_id))
                .copied()
                .unwrap_or((1, id));
            let allowed = if table == Some(Table::Outages) { 2 } else { 1 };
            match table {
                None => report.push(problem(ProblemKind::UnknownTable)),
                Some(_) if times > allowed && id == last => {
                    report.push(problem(ProblemKind::SealedAgain));
                }
                // An earlier state of the row (an outage sealed open): only its link
                // can be checked.
                Some(_) if id != last => {}
                Some(t) => match &now {
                    Some(l) if row_hash(&l.line) != rh => {
                        report.push(problem(ProblemKind::Altered));
                    }
                    Some(_) => {}
                    None => {
                        let by = matches!(t, Table::Runs | Table::Failures)
                            .then(|| {
                                prunes
                                    .iter_mut()
                                    .find(|p| p.seal > id && id <= p.up_to && sealed_at < p.before)
                            })
                            .flatten();
                        match by {
                            Some(p) => {
                                p.found.update(rh);
                                if t == Table::Runs {
                                    p.found_runs += 1;
                                } else {
                                    p.found_failures += 1;
                                }
                                report.pruned_rows += 1;
                            }
                            None => report.push(problem(ProblemKind::Missing)),
                        }
                    }
                },
            }
            // Each link is checked against the stored value before it, so one bad
            // seal is reported once, not at every seal after it.
            if let Some(p) = prev
                && link(&p, &rh) != chain
            {
                report.push(problem(ProblemKind::BrokenLink));
            }
            prev = Some(chain);
        }
        drop(rows);
        for p in prunes {
            report.prune_events += 1;
            let problem = |kind| ChainProblem {
                kind,
                seal: Some(p.seal),
                table: "prunes",
                row: Some(p.id),
                probe: None,
                at: Some(UtcMillis(p.at)),
            };
            if p.up_to >= p.seal || policy.now.is_some_and(|now| p.at > now.0) {
                report.push(problem(ProblemKind::PruneForged));
            }
            let retention_ms = policy
                .retention_ms
                .unwrap_or_else(|| p.retention_ms.max(MIN_RETENTION_MS));
            // An event that deleted nothing (migration 3's record of an old
            // checkpoint) excuses no deletion, whatever its cut.
            let deleted = p.runs + p.failures + p.found_runs + p.found_failures > 0;
            if deleted && p.before > p.at.saturating_sub(retention_ms) {
                report.push(problem(ProblemKind::PruneTooRecent { retention_ms }));
            }
            if hex(&p.found.finalize()) != p.digest
                || p.found_runs != p.runs
                || p.found_failures != p.failures
            {
                report.push(problem(ProblemKind::PruneMismatch));
            }
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT f.id, p.name, f.at FROM failures f LEFT JOIN probes p ON p.id = f.probe_id
                 WHERE NOT EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'failures' AND s.row_id = f.id)
                 ORDER BY f.id",
            )
            .map_err(&e)?;
        let unsealed = stmt
            .query_map([], |r| {
                Ok(ChainProblem {
                    kind: ProblemKind::UnsealedFailure,
                    seal: None,
                    table: "failures",
                    row: Some(r.get(0)?),
                    probe: r.get(1)?,
                    at: Some(UtcMillis(r.get(2)?)),
                })
            })
            .map_err(&e)?;
        for p in unsealed {
            report.push(p.map_err(&e)?);
        }
        let hour = newest_hour(&self.conn).map_err(&e)?;
        for (id, probe, first, open) in unsealed_runs(&self.conn, hour).map_err(&e)? {
            if open {
                report.open_runs += 1;
            } else {
                report.push(ChainProblem {
                    kind: ProblemKind::UnsealedRun,
                    seal: None,
                    table: "runs",
                    row: Some(id),
                    probe: Some(probe),
                    at: Some(UtcMillis(first)),
                });
            }
        }
        for (id, vantage, start, open) in unsealed_coverage(&self.conn, hour).map_err(&e)? {
            if open {
                report.open_coverage += 1;
            } else {
                report.push(ChainProblem {
                    kind: ProblemKind::Unsealed,
                    seal: None,
                    table: "coverage",
                    row: Some(id),
                    probe: Some(vantage),
                    at: Some(UtcMillis(start)),
                });
            }
        }
        for (table, sql_text) in [
            (
                Table::Outages,
                "SELECT o.id, p.name, o.start FROM outages o LEFT JOIN probes p ON p.id = o.probe_id",
            ),
            (
                Table::Incidents,
                "SELECT id, coalesce(probe, contract), start FROM incidents",
            ),
            (
                Table::Maintenance,
                "SELECT id, scope, start FROM maintenance",
            ),
            (Table::Prunes, "SELECT id, NULL, at FROM prunes"),
            (Table::Goodwill, "SELECT id, scope, at FROM goodwill"),
            (
                Table::Members,
                "SELECT id, member || '.' || service, created_at FROM members",
            ),
            (Table::Alerts, "SELECT id, key, raised_at FROM alerts"),
            (
                Table::AlertAttempts,
                "SELECT a.id, l.key, a.at FROM alert_attempts a LEFT JOIN alerts l ON l.id = a.alert",
            ),
        ] {
            // A database not yet migrated (a reader never migrates) has no table of a
            // later schema, and so nothing of it to seal.
            let exists: bool = self
                .conn
                .query_row(
                    "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table.as_str()],
                    |r| r.get(0),
                )
                .map_err(&e)?;
            if !exists {
                continue;
            }
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "SELECT * FROM ({sql_text}) x WHERE NOT EXISTS
                       (SELECT 1 FROM seals s WHERE s.tbl = '{}' AND s.row_id = x.id)
                     ORDER BY x.id",
                    table.as_str()
                ))
                .map_err(&e)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(ChainProblem {
                        kind: ProblemKind::Unsealed,
                        seal: None,
                        table: table.as_str(),
                        row: Some(r.get(0)?),
                        probe: r.get(1)?,
                        at: Some(UtcMillis(r.get(2)?)),
                    })
                })
                .map_err(&e)?;
            for p in rows {
                report.push(p.map_err(&e)?);
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> Hash {
        Sha256::digest(bytes).into()
    }

    #[test]
    fn a_link_hashes_the_previous_chain_then_the_row_hash() {
        let a = row_hash("fail|web|1|refused|x||||||1|\n");
        assert_eq!(a, sha(b"fail|web|1|refused|x||||||1|\n"));
        let mut both = GENESIS.to_vec();
        both.extend_from_slice(&a);
        assert_eq!(link(&GENESIS, &a), sha(&both));
    }

    #[test]
    fn the_fold_depends_on_every_row_and_their_order() {
        let rows: Vec<Hash> = ["a", "b", "c"].iter().map(|l| row_hash(l)).collect();
        let chain = fold(GENESIS, &rows);
        assert_eq!(
            chain,
            link(&link(&link(&GENESIS, &rows[0]), &rows[1]), &rows[2])
        );
        let swapped = [rows[1], rows[0], rows[2]];
        assert_ne!(fold(GENESIS, &swapped), chain);
        let dropped = [rows[0], rows[2]];
        assert_ne!(fold(GENESIS, &dropped), chain);
        let edited = [rows[0], row_hash("B"), rows[2]];
        assert_ne!(fold(GENESIS, &edited), chain);
        // A checkpoint continues the chain exactly: pruning the first row and
        // starting from its chain value gives the same head.
        let cut = fold(GENESIS, &rows[..1]);
        assert_eq!(fold(cut, &rows[1..]), chain);
    }

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        let h = row_hash("x");
        assert_eq!(unhex(&hex(&h)), Some(h));
        assert_eq!(hex(&GENESIS), "0".repeat(64));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"g".repeat(64)), None);
        assert_eq!(unhex(&"é".repeat(32)), None);
    }
}
