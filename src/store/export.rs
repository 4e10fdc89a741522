//! Reading sealed evidence out for the shared store (issue 18, `shared::ship`).
//!
//! [`sealed_batch`] reads, in one read transaction of its own read-only
//! connection (one WAL snapshot: the writer is never blocked), the seals after a
//! cursor, up to a count, and every row they seal. An outage has two seals (open,
//! then closed; `seal.rs`): a batch holding one is extended to the row's latest
//! seal in the snapshot, so the row is read once, in the state that seal hashes.
//! Rows not sealed yet (a probe's open run, the coverage segment still growing)
//! are not read: only sealed rows leave.
//!
//! Invariant: read-only; every row of a batch is in the state of its latest seal
//! in the batch.

use super::{BUSY_TIMEOUT, StoreError, sql};
use crate::shared::tables::{CARRIED, SEALED};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// One value as SQLite stores it (STRICT tables: integers, text or NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    /// A real or a blob: no evidence column holds one.
    Other(&'static str),
}

impl Cell {
    fn of(v: Value) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Integer(i) => Cell::Int(i),
            Value::Text(s) => Cell::Text(s),
            Value::Real(_) => Cell::Other("a real number"),
            Value::Blob(_) => Cell::Other("a blob"),
        }
    }

    /// The integer, 0 for anything else.
    pub(crate) fn int(&self) -> i64 {
        match self {
            Cell::Int(i) => *i,
            _ => 0,
        }
    }

    /// The text, "" for anything else.
    pub(crate) fn text(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            _ => "",
        }
    }
}

/// Rows of one table, columns as `PRAGMA table_info` lists them, by id.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) table: &'static str,
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Vec<Cell>>,
}

/// One batch read from one snapshot.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// `seals` rows: [`SEAL_COLUMNS`].
    pub(crate) seals: Rows,
    /// The `probes` rows (id, name, kind) the batch's rows name.
    pub(crate) probes: Rows,
    /// The rows sealed, per table of `SEALED` in its order, each followed by the
    /// rows it carries (`CARRIED`).
    pub(crate) tables: Vec<Rows>,
    /// The last seal of the batch: (id, chain).
    pub(crate) head: Option<(i64, String)>,
    /// The store's highest seal in the snapshot (0: none).
    pub(crate) local_head: i64,
    /// The chain value of seal `cursor` in this store (`None`: no such seal), to
    /// tell that the shipped prefix is this store's.
    pub(crate) at_cursor: Option<String>,
}

/// The columns of `seals`, in the order of [`Batch::seals`].
pub(crate) const SEAL_COLUMNS: [&str; 7] =
    ["id", "tbl", "row_id", "row_hash", "chain", "probe", "at"];

/// The read-only connection.
fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(path))?;
    Ok(conn)
}

/// The store's highest seal (0: none).
///
/// # Errors
/// The database cannot be read.
pub(crate) fn seal_head(path: &Path) -> Result<i64, StoreError> {
    open(path)?
        .query_row("SELECT coalesce(max(id), 0) FROM seals", [], |r| r.get(0))
        .map_err(sql(path))
}

/// The batch of seals after `cursor` (at most `max_seals`, more when an outage's
/// second seal follows) with their rows, from one snapshot of `path`.
///
/// # Errors
/// The database cannot be read.
pub(crate) fn sealed_batch(
    path: &Path,
    cursor: i64,
    max_seals: usize,
) -> Result<Batch, StoreError> {
    let mut conn = open(path)?;
    let tx = conn.transaction().map_err(sql(path))?;
    let batch = read_in(&tx, cursor, max_seals).map_err(sql(path))?;
    tx.finish().map_err(sql(path))?;
    Ok(batch)
}

/// The columns of `table`, as `PRAGMA table_info` lists them.
fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let cols = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols)
}

/// Appends to `out` the rows of its table whose `key` is one of `keys`.
fn rows_where(
    conn: &Connection,
    out: &mut Rows,
    key: &str,
    keys: &BTreeSet<i64>,
) -> rusqlite::Result<()> {
    let list = out
        .columns
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let keys: Vec<i64> = keys.iter().copied().collect();
    let n = out.columns.len();
    for chunk in keys.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {list} FROM \"{}\" WHERE \"{key}\" IN ({marks}) ORDER BY id",
            out.table
        ))?;
        let mut rows = stmt.query(rusqlite::params_from_iter(chunk.iter()))?;
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(Cell::of(r.get::<_, Value>(i)?));
            }
            out.rows.push(row);
        }
    }
    Ok(())
}

/// Appends the seals `after < id <= upto`, at most `limit`, by id.
fn seals_after(
    conn: &Connection,
    seals: &mut Rows,
    after: i64,
    upto: i64,
    limit: usize,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, tbl, row_id, row_hash, chain, probe, at FROM seals
         WHERE id > ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
    )?;
    let mut rows = stmt.query(rusqlite::params![
        after,
        upto,
        i64::try_from(limit).unwrap_or(i64::MAX)
    ])?;
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(SEAL_COLUMNS.len());
        for i in 0..SEAL_COLUMNS.len() {
            row.push(Cell::of(r.get::<_, Value>(i)?));
        }
        seals.rows.push(row);
    }
    Ok(())
}

fn read_in(conn: &Connection, cursor: i64, max_seals: usize) -> rusqlite::Result<Batch> {
    let local_head: i64 =
        conn.query_row("SELECT coalesce(max(id), 0) FROM seals", [], |r| r.get(0))?;
    let at_cursor = conn
        .query_row("SELECT chain FROM seals WHERE id = ?1", [cursor], |r| {
            r.get::<_, String>(0)
        })
        .optional()?;
    let mut batch = Batch {
        local_head,
        at_cursor,
        ..Batch::default()
    };
    batch.seals = Rows {
        table: "seals",
        columns: SEAL_COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        rows: Vec::new(),
    };
    seals_after(conn, &mut batch.seals, cursor, local_head, max_seals.max(1))?;
    // An outage's seals are not split: extend the batch to each outage's latest
    // seal in this snapshot (seal.rs: only outages have more than one).
    let mut checked = 0;
    loop {
        let end = batch.seals.rows.last().map_or(cursor, |r| r[0].int());
        let mut upto = end;
        let mut stmt =
            conn.prepare_cached("SELECT max(id) FROM seals WHERE tbl = 'outages' AND row_id = ?1")?;
        for r in &batch.seals.rows[checked..] {
            if r[1].text() == "outages" {
                let latest: Option<i64> = stmt.query_row([r[2].int()], |x| x.get(0))?;
                upto = upto.max(latest.unwrap_or(0));
            }
        }
        checked = batch.seals.rows.len();
        if upto <= end {
            break;
        }
        seals_after(conn, &mut batch.seals, end, upto, usize::MAX)?;
    }
    let Some(last) = batch.seals.rows.last() else {
        return Ok(batch);
    };
    batch.head = Some((last[0].int(), last[4].text().to_owned()));
    let mut ids: HashMap<&str, BTreeSet<i64>> = HashMap::new();
    for r in &batch.seals.rows {
        ids.entry(r[1].text()).or_default().insert(r[2].int());
    }
    let mut probe_ids = BTreeSet::new();
    let mut tables = Vec::new();
    for table in SEALED {
        let Some(keys) = ids.get(table) else {
            continue;
        };
        let mut rows = Rows {
            table,
            columns: columns(conn, table)?,
            rows: Vec::new(),
        };
        rows_where(conn, &mut rows, "id", keys)?;
        if let Some(p) = rows.columns.iter().position(|c| c == "probe_id") {
            probe_ids.extend(rows.rows.iter().map(|r| r[p].int()));
        }
        let read: BTreeSet<i64> = rows.rows.iter().map(|r| r[0].int()).collect();
        tables.push(rows);
        for (carried, key, owner) in CARRIED {
            if owner == table && !read.is_empty() {
                let mut rows = Rows {
                    table: carried,
                    columns: columns(conn, carried)?,
                    rows: Vec::new(),
                };
                rows_where(conn, &mut rows, key, &read)?;
                tables.push(rows);
            }
        }
    }
    batch.tables = tables;
    batch.probes = Rows {
        table: "probes",
        columns: vec!["id".to_owned(), "name".to_owned(), "kind".to_owned()],
        rows: Vec::new(),
    };
    rows_where(conn, &mut batch.probes, "id", &probe_ids)?;
    Ok(batch)
}
