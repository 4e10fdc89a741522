//! Reading the shared store back (`--shared`): each vantage's rows copied out of
//! PostgreSQL into a new SQLite database with the local schema, ids kept, and read
//! through the one [`Reader`]. Reports, `status`, `outages` and `verify` run on the
//! copy the code they run on a local file: there is no second SQL dialect of them.
//!
//! Everything is read in one read-only `REPEATABLE READ` transaction: one snapshot
//! of every vantage, never half of a shipping transaction. Rows are fetched
//! through a cursor in batches ([`BATCH`]) and inserted with one prepared
//! statement per table in one SQLite transaction, so memory holds a batch, not a
//! year.

use super::pg::{self, SharedError};
use super::tables;
use crate::config::SharedSettings;
use crate::store::{Cell, EvidenceCopy, Reader};
use std::collections::HashMap;
use std::path::PathBuf;
use tokio_postgres::types::Type;

/// Rows fetched from PostgreSQL per round trip.
const BATCH: i32 = 10_000;

/// One vantage of the shared store, read back.
#[derive(Debug)]
pub struct SharedVantage {
    /// Its name (`[daemon] vantage` of the machine that shipped it).
    pub name: String,
    /// Its evidence, as its own SQLite held it when it shipped.
    pub reader: Reader,
    /// The last seal the shipper recorded for it (`vantages.last_seal`; 0: none).
    pub last_seal: i64,
    /// That seal's chain value as recorded (`vantages.last_chain`).
    pub last_chain: Option<String>,
    /// The checkpoint lines it shipped (`checkpoints.line`), in order, each ended by
    /// a newline: the text of its checkpoint file; empty when none was shipped.
    pub checkpoints: String,
    /// Rows copied, every table together.
    pub rows: u64,
}

/// What to read.
#[derive(Debug, Default, Clone)]
pub struct ReadOptions {
    /// Only these vantages (each must be in the store); empty: every one.
    pub only: Vec<String>,
    /// Keep each copy as the file `DIR/VANTAGE.db` (which must not exist) instead
    /// of a temporary database.
    pub keep_in: Option<PathBuf>,
}

/// Every vantage of the shared store at `settings`, read back, by name.
///
/// # Errors
/// The store unreachable or refusing the login (the message names the server,
/// never the password), no slawatch schema there, a row the local schema refuses.
pub fn vantages(settings: &SharedSettings) -> Result<Vec<SharedVantage>, SharedError> {
    read(settings, &ReadOptions::default())
}

/// The vantages `options` names (every one by default), read back, by name. Blocks:
/// it runs its own single-threaded runtime.
///
/// # Errors
/// As [`vantages`], and a vantage named in `options.only` that the store lacks.
pub fn read(
    settings: &SharedSettings,
    options: &ReadOptions,
) -> Result<Vec<SharedVantage>, SharedError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SharedError::new(settings, format!("cannot start a runtime: {e}")))?;
    rt.block_on(read_async(settings, options))
}

async fn read_async(
    settings: &SharedSettings,
    options: &ReadOptions,
) -> Result<Vec<SharedVantage>, SharedError> {
    let mut client = pg::connect(settings).await?;
    let fail = |what: &str, e: &tokio_postgres::Error| {
        SharedError::new(settings, format!("{what}: {}", pg::describe(e)))
    };
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| fail("starting a read", &e))?;
    let listed = match tx
        .query(
            "SELECT name, last_seal, last_chain FROM vantages ORDER BY name",
            &[],
        )
        .await
    {
        Ok(rows) => rows,
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            return Err(SharedError::new(
                settings,
                "holds no slawatch evidence yet (no `vantages` table): a vantage creates \
                 it when it first ships (`slawatch run` with [shared])",
            ));
        }
        Err(e) => return Err(fail("reading the vantages", &e)),
    };
    let mut heads = Vec::new();
    for r in &listed {
        let name: String = r.try_get(0).map_err(|e| fail("reading the vantages", &e))?;
        let seal: i64 = r.try_get(1).map_err(|e| fail("reading the vantages", &e))?;
        let chain: Option<String> = r.try_get(2).map_err(|e| fail("reading the vantages", &e))?;
        heads.push((name, seal, chain));
    }
    for want in &options.only {
        if !heads.iter().any(|(n, _, _)| n == want) {
            let names: Vec<&str> = heads.iter().map(|(n, _, _)| n.as_str()).collect();
            return Err(SharedError::new(
                settings,
                format!(
                    "has no vantage '{want}'; the vantages there are: {}",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
    }
    let pg_columns = columns(&tx)
        .await
        .map_err(|e| fail("reading the schema", &e))?;
    let mut out = Vec::new();
    for (name, last_seal, last_chain) in heads {
        if !options.only.is_empty() && !options.only.contains(&name) {
            continue;
        }
        let file = options
            .keep_in
            .as_ref()
            .map(|d| d.join(format!("{}.db", file_safe(&name))));
        let copy = EvidenceCopy::create(
            file.as_deref(),
            &format!("the copy of vantage '{name}' of the shared store"),
        )
        .map_err(|e| SharedError::new(settings, e.to_string()))?;
        let mut rows = 0;
        for table in copied_tables() {
            rows += copy_table(&tx, &copy, table, &name, &pg_columns)
                .await
                .map_err(|e| {
                    SharedError::new(
                        settings,
                        format!("copying {table} of vantage '{name}': {e}"),
                    )
                })?;
        }
        let mut checkpoints = String::new();
        for r in tx
            .query(
                "SELECT line FROM checkpoints WHERE vantage = $1 ORDER BY at, seal, event",
                &[&name],
            )
            .await
            .map_err(|e| fail("reading the checkpoints", &e))?
        {
            let line: String = r
                .try_get(0)
                .map_err(|e| fail("reading the checkpoints", &e))?;
            checkpoints.push_str(line.trim_end_matches('\n'));
            checkpoints.push('\n');
        }
        let reader = copy
            .finish()
            .map_err(|e| SharedError::new(settings, e.to_string()))?;
        out.push(SharedVantage {
            name,
            reader,
            last_seal,
            last_chain,
            checkpoints,
            rows,
        });
    }
    // Read-only: ending it changes nothing either way.
    drop(tx.rollback().await);
    Ok(out)
}

/// The tables a vantage's copy holds, in an order where references come first:
/// `probes`, every sealed table, the rows carried by them, and `seals`.
fn copied_tables() -> impl Iterator<Item = &'static str> {
    std::iter::once("probes")
        .chain(tables::SEALED.iter().copied())
        .chain(tables::CARRIED.iter().map(|(t, _, _)| *t))
        .chain(std::iter::once("seals"))
}

/// A vantage name as a file name: bytes outside `A-Z a-z 0-9 . _ -` become `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Each PostgreSQL table's columns.
async fn columns(
    tx: &tokio_postgres::Transaction<'_>,
) -> Result<HashMap<String, Vec<String>>, tokio_postgres::Error> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema()",
            &[],
        )
        .await?
    {
        out.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
    }
    Ok(out)
}

/// Copies `vantage`'s rows of `table` into `copy`, ids kept: the columns both
/// schemas have (a column the mirror lacks keeps its SQLite default). Returns the
/// rows copied.
async fn copy_table(
    tx: &tokio_postgres::Transaction<'_>,
    copy: &EvidenceCopy,
    table: &str,
    vantage: &str,
    pg_columns: &HashMap<String, Vec<String>>,
) -> Result<u64, String> {
    let there = pg_columns
        .get(table)
        .ok_or_else(|| "the shared store has no such table (an older schema?)".to_owned())?;
    let local = copy.columns(table).map_err(|e| e.to_string())?;
    let both: Vec<String> = local
        .into_iter()
        .filter(|c| there.iter().any(|p| p == tables::pg_column(table, c)))
        .collect();
    let select: Vec<String> = both
        .iter()
        .map(|c| format!("\"{}\"", tables::pg_column(table, c)))
        .collect();
    let query = format!(
        "SELECT {} FROM \"{table}\" WHERE vantage = $1 ORDER BY id",
        select.join(", ")
    );
    let insert = EvidenceCopy::insert_sql(table, &both);
    let stmt = tx.prepare(&query).await.map_err(|e| pg::describe(&e))?;
    let portal = tx
        .bind(&stmt, &[&vantage])
        .await
        .map_err(|e| pg::describe(&e))?;
    let mut inserter = copy.inserter(&insert).map_err(|e| e.to_string())?;
    let mut rows = 0;
    loop {
        let batch = tx
            .query_portal(&portal, BATCH)
            .await
            .map_err(|e| pg::describe(&e))?;
        if batch.is_empty() {
            return Ok(rows);
        }
        let mut cells = Vec::with_capacity(both.len());
        for row in &batch {
            cells.clear();
            for (i, col) in row.columns().iter().enumerate() {
                cells.push(
                    cell(row, i, col.type_())
                        .map_err(|e| format!("column {}: {}", col.name(), pg::describe(&e)))?,
                );
            }
            inserter.insert(&cells).map_err(|e| e.to_string())?;
            rows += 1;
        }
    }
}

/// Column `i` of `row` as a [`Cell`]: the mirror holds BIGINT and TEXT.
fn cell<'r>(
    row: &'r tokio_postgres::Row,
    i: usize,
    ty: &Type,
) -> Result<Cell<'r>, tokio_postgres::Error> {
    Ok(if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?
            .map_or(Cell::Null, Cell::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?
            .map_or(Cell::Null, |v| Cell::Int(i64::from(v)))
    } else {
        row.try_get::<_, Option<&str>>(i)?
            .map_or(Cell::Null, Cell::Text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_a_store_seals_is_copied_after_what_it_references() {
        let t: Vec<&str> = copied_tables().collect();
        assert_eq!(t.first(), Some(&"probes"));
        assert_eq!(t.last(), Some(&"seals"));
        for s in tables::SEALED {
            assert!(t.contains(s), "{s}");
        }
        let pos = |x: &str| t.iter().position(|y| *y == x).unwrap();
        assert!(pos("incidents") < pos("incident_attachments"));
        assert!(pos("alerts") < pos("alert_attempts"));
    }

    #[test]
    fn a_vantage_name_makes_a_harmless_file_name() {
        assert_eq!(file_safe("milano-1"), "milano-1");
        assert_eq!(file_safe("../etc/x y"), ".._etc_x_y");
    }
}
