//! A new evidence database filled row by row from elsewhere: the copy of one
//! vantage that `--shared` commands read out of PostgreSQL (`shared::read`). It has
//! the schema a new local store gets (the same migrations), its rows keep their
//! ids, and once filled it is read through the one [`Reader`], so every report,
//! status and `verify` runs the code it runs on a local file.
//!
//! The copy is a private temporary SQLite database (SQLite's empty file name: kept
//! in the page cache, spilled to a temporary file when large, gone when the Reader
//! is dropped), or a named file when the caller wants to keep it. It is filled in
//! one transaction without foreign keys (the rows are taken as the other store
//! holds them, so `verify` judges them, not the insert), then made read-only.

use super::{Reader, StoreError, migrate, sql};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Pages the copy keeps in memory while it is filled and read (KiB, as SQLite's
/// negative `cache_size`): 256 MiB, then SQLite spills to its temporary file.
const COPY_CACHE_KIB: i64 = 262_144;

/// One value of a copied row: the evidence tables hold integers, text and NULL.
/// Text is borrowed from the row it was read from: no copy per cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell<'a> {
    /// SQL NULL.
    Null,
    /// An integer (every instant, id and count).
    Int(i64),
    /// Text.
    Text(&'a str),
}

impl rusqlite::ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Cell::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Cell::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Cell::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// An evidence database being filled; [`EvidenceCopy::finish`] makes it a [`Reader`].
#[derive(Debug)]
pub(crate) struct EvidenceCopy {
    conn: Connection,
    /// What errors call it: the file, or what the copy is of.
    name: PathBuf,
}

/// Inserts rows of one table into an [`EvidenceCopy`], prepared once.
pub(crate) struct Inserter<'a> {
    stmt: rusqlite::CachedStatement<'a>,
    name: &'a Path,
}

impl Inserter<'_> {
    /// Inserts one row.
    ///
    /// # Errors
    /// A row the schema refuses (a duplicate id, a wrong type).
    pub(crate) fn insert(&mut self, row: &[Cell<'_>]) -> Result<(), StoreError> {
        self.stmt
            .execute(rusqlite::params_from_iter(row))
            .map_err(sql(self.name))?;
        Ok(())
    }
}

impl EvidenceCopy {
    /// A new, empty evidence database with the current schema: a private temporary
    /// one when `file` is `None` (`name` is what errors call it), else `file`, which
    /// must not exist yet.
    ///
    /// # Errors
    /// When the database cannot be made (the file exists, a disk error).
    pub(crate) fn create(file: Option<&Path>, name: &str) -> Result<EvidenceCopy, StoreError> {
        let name = file.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
        if let Some(f) = file
            && f.exists()
        {
            return Err(StoreError::Refused(format!(
                "{}: already exists; a copy is written to a new file only",
                f.display()
            )));
        }
        let target = file.unwrap_or(Path::new(""));
        let mut conn = Connection::open(target).map_err(sql(&name))?;
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(sql(&name))?;
        conn.pragma_update(None, "synchronous", "OFF")
            .map_err(sql(&name))?;
        conn.pragma_update(None, "cache_size", -COPY_CACHE_KIB)
            .map_err(sql(&name))?;
        migrate(&mut conn, &name)?;
        // No rollback journal for the fill: a copy that fails half-way is dropped
        // whole (a kept file too: it is a new file, made again by reading again).
        conn.pragma_update(None, "journal_mode", "OFF")
            .map_err(sql(&name))?;
        conn.set_prepared_statement_cache_capacity(super::READER_STATEMENTS);
        conn.execute_batch("BEGIN").map_err(sql(&name))?;
        Ok(EvidenceCopy { conn, name })
    }

    /// The columns of `table` in this schema, in order.
    ///
    /// # Errors
    /// On a database error; no such table is an empty list.
    pub(crate) fn columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .map_err(sql(&self.name))?;
        let rows = stmt
            .query_map([table], |r| r.get(0))
            .map_err(sql(&self.name))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.name))
    }

    /// The statement that inserts `columns` of `table`, for [`EvidenceCopy::inserter`].
    pub(crate) fn insert_sql(table: &str, columns: &[String]) -> String {
        let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        )
    }

    /// The prepared `statement` ([`EvidenceCopy::insert_sql`]) rows are inserted with.
    ///
    /// # Errors
    /// A statement the schema refuses (no such table or column).
    pub(crate) fn inserter(&self, statement: &str) -> Result<Inserter<'_>, StoreError> {
        let stmt = self
            .conn
            .prepare_cached(statement)
            .map_err(sql(&self.name))?;
        Ok(Inserter {
            stmt,
            name: &self.name,
        })
    }

    /// Commits what was inserted and reads it, read-only from now on.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn finish(self) -> Result<Reader, StoreError> {
        let EvidenceCopy { conn, name } = self;
        conn.execute_batch("COMMIT").map_err(sql(&name))?;
        conn.pragma_update(None, "query_only", "ON")
            .map_err(sql(&name))?;
        super::one_plan_per_statement(&conn).map_err(sql(&name))?;
        Ok(Reader { conn, path: name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_has_the_schema_keeps_ids_and_reads_as_a_store() {
        let copy = EvidenceCopy::create(None, "copy of test").unwrap();
        let cols = copy.columns("probes").unwrap();
        assert_eq!(cols, ["id", "name", "kind"]);
        let statement = EvidenceCopy::insert_sql("probes", &cols);
        let mut inserter = copy.inserter(&statement).unwrap();
        inserter
            .insert(&[Cell::Int(7), Cell::Text("web"), Cell::Text("http")])
            .unwrap();
        drop(inserter);
        let reader = copy.finish().unwrap();
        let states = reader.probe_states().unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].name, "web");
        assert!(reader.has_chain().unwrap());
        assert!(reader.verify_chain().unwrap().intact());
        // Read-only once finished.
        assert!(reader.conn.execute("DELETE FROM probes", []).is_err());
    }

    #[test]
    fn a_copy_to_a_file_refuses_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("v.db");
        EvidenceCopy::create(Some(&f), "x")
            .unwrap()
            .finish()
            .unwrap();
        let e = EvidenceCopy::create(Some(&f), "x").unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}
