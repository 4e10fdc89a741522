//! The hash chain that makes the checks append-only: a later edit, insertion or
//! deletion of a sealed row is detectable (`slawatch verify`).
//!
//! Every row of `failures` is sealed in the transaction that inserts it; a row of
//! `runs` is sealed as soon as it can no longer change: when the writer starts
//! another run for its probe, when a check or heartbeat of a later UTC day arrives
//! (runs never span a day, [`super::RUN_SPAN_MS`]), before a prune, and when the
//! writer stops (a new writer never extends an old run). Until then it is *open*:
//! at most one per probe, in the hour of the newest instant in the database.
//!
//! A seal is one row of `seals`, in chain order (`id` = 1, 2, 3, ... with no gap):
//!
//! ```text
//! row_hash = SHA-256(canonical line of the row)          (the lines of digest.rs)
//! chain    = SHA-256(previous chain || row_hash)          (32 + 32 raw bytes)
//! ```
//!
//! both stored as lower-case hex. The chain before the first seal is 32 zero bytes,
//! or, after retention pruned the oldest rows, the checkpoint kept in `meta`
//! (`chain_checkpoint_seal`, `chain_checkpoint_hash`: the last pruned seal and its
//! chain value). By hand: `printf '%s%s' PREV ROW_HASH | xxd -r -p | sha256sum`.
//!
//! Triggers (migration 2) refuse to update or delete a sealed row, so a slip at the
//! `sqlite3` prompt fails loudly; someone who drops them is still caught by the chain.
//! What a chain alone cannot catch is a rewrite of every seal from the edit on, or
//! the newest seals cut off: a report that states the chain head it saw
//! (`Reader::chain_head`) pins that prefix.

use super::digest::{fail_columns, fail_line, hex, run_columns, run_line};
use super::{RUN_SPAN_MS, Reader, StoreError, sql};
use crate::model::UtcMillis;
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 value.
pub(super) type Hash = [u8; 32];

/// The chain before the first seal of a database that never pruned.
pub(super) const GENESIS: Hash = [0; 32];

/// `meta` keys of the retention checkpoint.
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

/// The table a seal covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Table {
    Runs,
    Failures,
}

impl Table {
    fn as_str(self) -> &'static str {
        match self {
            Table::Runs => "runs",
            Table::Failures => "failures",
        }
    }
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
/// link to the chain.
pub(super) fn seal(
    tx: &rusqlite::Connection,
    head: &mut Head,
    table: Table,
    row: i64,
) -> rusqlite::Result<()> {
    let (line, probe, at) = match table {
        Table::Runs => tx
            .prepare_cached(&format!(
                "SELECT {} FROM runs r JOIN probes p ON p.id = r.probe_id WHERE r.id = ?1",
                run_columns("r", "p")
            ))?
            .query_row([row], |r| {
                Ok((
                    run_line(r, 0)?.0,
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(3)?,
                ))
            })?,
        Table::Failures => tx
            .prepare_cached(&format!(
                "SELECT {} FROM failures f JOIN probes p ON p.id = f.probe_id WHERE f.id = ?1",
                fail_columns("f", "p")
            ))?
            .query_row([row], |r| {
                Ok((
                    fail_line(r, 0)?,
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                ))
            })?,
    };
    let rh = row_hash(&line);
    let next = Head {
        seal: head.seal + 1,
        chain: link(&head.chain, &rh),
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
        probe,
        at
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

/// At start-up: seals the runs the previous writer left open (it stopped without
/// sealing them: a crash). A new writer never extends them. Unsealed runs that
/// could not have been open are left for `verify` to report, and returned.
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
    Ok(strays)
}

/// Retention: deletes the longest prefix of the chain whose rows all ended before
/// `before`, with their seals, and moves the checkpoint to its last seal. A row
/// sealed after a newer one (a run sealed at its hour's end, after a failure)
/// waits for a later prune. Every open run must be sealed first.
pub(super) fn prune(tx: &rusqlite::Connection, before: UtcMillis) -> rusqlite::Result<()> {
    let first_kept: Option<i64> = tx
        .query_row(
            "SELECT s.id FROM seals s
             LEFT JOIN runs r ON s.tbl = 'runs' AND r.id = s.row_id
             LEFT JOIN failures f ON s.tbl = 'failures' AND f.id = s.row_id
             WHERE coalesce(r.last_at, f.at) IS NULL OR coalesce(r.last_at, f.at) >= ?1
             ORDER BY s.id LIMIT 1",
            [before.0],
            |r| r.get(0),
        )
        .optional()?;
    let cut: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, chain FROM seals WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT 1",
            [first_kept],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((cut, chain)) = cut else {
        return Ok(());
    };
    // The checkpoint moves first: the triggers let rows and seals at or below it go.
    for (key, value) in [(CHECKPOINT_SEAL, cut.to_string()), (CHECKPOINT_HASH, chain)] {
        tx.prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![key, value])?;
    }
    tx.prepare_cached(
        "DELETE FROM runs WHERE id IN (SELECT row_id FROM seals WHERE tbl = 'runs' AND id <= ?1)",
    )?
    .execute([cut])?;
    tx.prepare_cached(
        "DELETE FROM failures WHERE id IN
           (SELECT row_id FROM seals WHERE tbl = 'failures' AND id <= ?1)",
    )?
    .execute([cut])?;
    tx.prepare_cached("DELETE FROM seals WHERE id <= ?1")?
        .execute([cut])?;
    Ok(())
}

/// What is wrong with one link of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The row's content no longer hashes to its seal: edited after sealing.
    Altered,
    /// The sealed row is gone.
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
    /// A stored hash is not 64 hex digits.
    BadHash,
}

/// One problem the walk found, located as precisely as the database allows: a row
/// that is gone is named by the probe and instant its seal recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainProblem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The seal, when a seal is involved.
    pub seal: Option<i64>,
    /// `runs` or `failures` (or `seals`).
    pub table: &'static str,
    /// The row id in `table`.
    pub row: Option<i64>,
    /// The row's probe, as it reads now.
    pub probe: Option<String>,
    /// The row's instant (a run's first check), as it reads now.
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
        match (&self.probe, self.at) {
            (Some(p), Some(at)) => write!(f, " (probe {p}, {at})")?,
            (Some(p), None) => write!(f, " (probe {p})")?,
            (None, Some(at)) => write!(f, " ({at})")?,
            (None, None) => {}
        }
        let why = match &self.kind {
            ProblemKind::Altered => {
                "was altered after it was sealed (its content no longer matches the seal)"
                    .to_owned()
            }
            ProblemKind::Missing => "was deleted after it was sealed".to_owned(),
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
            ProblemKind::BadHash => "the seal's stored hash is not 64 hex digits".to_owned(),
        };
        write!(f, " {why}")
    }
}

/// The outcome of walking the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Seals walked (rows sealed and still kept).
    pub sealed: i64,
    /// The last seal's id and chain value (hex); the checkpoint's when every sealed
    /// row was pruned; `None` for an empty chain.
    pub head: Option<(i64, String)>,
    /// Where the chain starts after retention: the last pruned seal and its chain value.
    pub checkpoint: Option<(i64, String)>,
    /// Runs not yet sealed because they may still grow (current hour).
    pub open_runs: i64,
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

impl Reader {
    /// Whether the database has the hash chain (migration 2). An older file gets it
    /// when a writer (`slawatch run`) next opens it.
    ///
    /// # Errors
    /// On a database error.
    pub fn has_chain(&self) -> Result<bool, StoreError> {
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

    /// Walks the hash chain: recomputes every sealed row's hash from its current
    /// content and every link from the one before, and looks for rows that should
    /// be sealed and are not.
    ///
    /// # Errors
    /// On a database error (a database older than migration 2 has no chain).
    pub fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        let e = sql(&self.path);
        let checkpoint = checkpoint(&self.conn).map_err(&e)?;
        let mut report = ChainReport {
            sealed: 0,
            head: checkpoint.clone(),
            checkpoint: checkpoint.clone(),
            open_runs: 0,
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
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT s.id, s.tbl, s.row_id, s.row_hash, s.chain, r.id, f.id, s.probe, s.at, {}, {}
                 FROM seals s
                 LEFT JOIN runs r ON s.tbl = 'runs' AND r.id = s.row_id
                 LEFT JOIN probes pr ON pr.id = r.probe_id
                 LEFT JOIN failures f ON s.tbl = 'failures' AND f.id = s.row_id
                 LEFT JOIN probes pf ON pf.id = f.probe_id
                 ORDER BY s.id",
                run_columns("r", "pr"),
                fail_columns("f", "pf")
            ))
            .map_err(&e)?;
        const RUN_AT: usize = 9;
        const FAIL_AT: usize = RUN_AT + 9;
        let mut rows = stmt.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let id: i64 = r.get(0).map_err(&e)?;
            let tbl: String = r.get(1).map_err(&e)?;
            let row_id: i64 = r.get(2).map_err(&e)?;
            let stored_row: String = r.get(3).map_err(&e)?;
            let stored_chain: String = r.get(4).map_err(&e)?;
            let (table, present, line, probe, at) = if tbl == "runs" {
                let (line, _) = run_line(r, RUN_AT).map_err(&e)?;
                (
                    "runs",
                    r.get::<_, Option<i64>>(5).map_err(&e)?.is_some(),
                    line,
                    r.get::<_, Option<String>>(RUN_AT).map_err(&e)?,
                    r.get::<_, Option<i64>>(RUN_AT + 3).map_err(&e)?,
                )
            } else {
                (
                    if tbl == "failures" {
                        "failures"
                    } else {
                        "seals"
                    },
                    r.get::<_, Option<i64>>(6).map_err(&e)?.is_some(),
                    fail_line(r, FAIL_AT).map_err(&e)?,
                    r.get::<_, Option<String>>(FAIL_AT).map_err(&e)?,
                    r.get::<_, Option<i64>>(FAIL_AT + 1).map_err(&e)?,
                )
            };
            // A row that is gone is named by where its seal says it was.
            let (probe, at) = if present {
                (probe, at)
            } else {
                (
                    r.get::<_, Option<String>>(7).map_err(&e)?,
                    r.get::<_, Option<i64>>(8).map_err(&e)?,
                )
            };
            report.sealed += 1;
            report.head = Some((id, stored_chain.clone()));
            let problem = |kind| ChainProblem {
                kind,
                seal: Some(id),
                table,
                row: Some(row_id),
                probe: probe.clone(),
                at: at.map(UtcMillis),
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
            if !present {
                report.push(problem(ProblemKind::Missing));
            } else if row_hash(&line) != rh {
                report.push(problem(ProblemKind::Altered));
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
