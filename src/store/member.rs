//! An association's members (issue 13, migration 6): records that are never changed.
//!
//! A member has one record per service they hold (key: `member` + `service`). A
//! changed row for a key is a new record whose `supersedes` names the latest record
//! of that key; an identical row stores nothing, so importing a file twice changes
//! nothing. The latest record of each key is what counts. Every record is sealed
//! ([`super::seal::seal`]) in the transaction that inserts it; its canonical line is
//!
//! ```text
//! member|MEMBER|SERVICE|NAME|EMAIL|ADDRESS|PROVIDER|PLAN|FEE|FEE_PERIOD|CUSTOMER_TYPE|SERVICE_START|LANG|CUSTOMER_CODE|CONTRACT_NUMBER|SUPERSEDES|CREATED_AT\n
//! ```
//!
//! with absent values empty (they are stored as NULL, never as '').
//!
//! The fields are text as `crate::members` checked and normalised them; this module
//! only stores, seals and reads them back.

use super::digest::Table;
use super::{Incident, Reader, StoreError, open_rw, seal, sql};
use crate::model::UtcMillis;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

/// The migration that added the members table.
pub(super) const MEMBERS_MIGRATION: i64 = 6;

/// The columns of a member record, in the order of its canonical line.
pub(super) const MEMBER_COLUMNS: &str = "member, service, name, email, address, provider, plan, \
     fee, fee_period, customer_type, service_start, lang, customer_code, contract_number, \
     supersedes, created_at";

/// Where `created_at` is in [`MEMBER_COLUMNS`].
pub(super) const CREATED_AT_COLUMN: usize = 15;

/// One member's service as stored: the text `crate::members` checked and normalised
/// (absent values `None`, never empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MemberRecord {
    /// The member's id.
    pub(crate) member: String,
    /// The service's id.
    pub(crate) service: String,
    /// Who the member is.
    pub(crate) name: String,
    /// E-mail address.
    pub(crate) email: Option<String>,
    /// Postal address.
    pub(crate) address: Option<String>,
    /// The provider's name, when given.
    pub(crate) provider: Option<String>,
    /// The `[[plan]]` id.
    pub(crate) plan: String,
    /// The fee, decimal text.
    pub(crate) fee: Option<String>,
    /// `month` or `year`.
    pub(crate) fee_period: Option<String>,
    /// `consumer` or `business`.
    pub(crate) customer_type: Option<String>,
    /// `YYYY-MM-DD`.
    pub(crate) service_start: Option<String>,
    /// `it` or `en`.
    pub(crate) lang: Option<String>,
    /// The customer code the provider gave.
    pub(crate) customer_code: Option<String>,
    /// The contract's number as the provider writes it.
    pub(crate) contract_number: Option<String>,
}

impl MemberRecord {
    /// The fields stored in the member's row, in [`MEMBER_COLUMNS`] order (the first 14).
    fn texts(&self) -> [Option<&str>; 14] {
        [
            Some(self.member.as_str()),
            Some(self.service.as_str()),
            Some(self.name.as_str()),
            self.email.as_deref(),
            self.address.as_deref(),
            self.provider.as_deref(),
            Some(self.plan.as_str()),
            self.fee.as_deref(),
            self.fee_period.as_deref(),
            self.customer_type.as_deref(),
            self.service_start.as_deref(),
            self.lang.as_deref(),
            self.customer_code.as_deref(),
            self.contract_number.as_deref(),
        ]
    }
}

/// A stored member record that counts (the latest of its key), with its seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredMember {
    /// What was stored.
    pub(crate) record: MemberRecord,
    /// Its row id.
    pub(crate) id: i64,
    /// Its seal's number in the chain (0 if unsealed, which `verify` names).
    pub(crate) seal: i64,
    /// Its seal's row hash: SHA-256 of its canonical line, lower-case hex.
    pub(crate) digest: String,
}

/// The canonical line's fields of a row selected with [`MEMBER_COLUMNS`].
pub(super) fn line_fields(r: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<String>> {
    let mut out = Vec::with_capacity(16);
    for i in 0..14 {
        out.push(r.get::<_, Option<String>>(i)?.unwrap_or_default());
    }
    out.push(
        r.get::<_, Option<i64>>(14)?
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    out.push(r.get::<_, i64>(15)?.to_string());
    Ok(out)
}

/// The record of a row selected with [`MEMBER_COLUMNS`] from column `i`.
fn record_from(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<MemberRecord> {
    Ok(MemberRecord {
        member: r.get(i)?,
        service: r.get(i + 1)?,
        name: r.get(i + 2)?,
        email: r.get(i + 3)?,
        address: r.get(i + 4)?,
        provider: r.get(i + 5)?,
        plan: r.get(i + 6)?,
        fee: r.get(i + 7)?,
        fee_period: r.get(i + 8)?,
        customer_type: r.get(i + 9)?,
        service_start: r.get(i + 10)?,
        lang: r.get(i + 11)?,
        customer_code: r.get(i + 12)?,
        contract_number: r.get(i + 13)?,
    })
}

/// What [`MemberImport::put`] did with a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Put {
    /// A key not stored before: a new record.
    New,
    /// A key stored with other values: a new record superseding the latest one.
    Changed,
    /// The latest record of the key holds the same values: nothing stored.
    Unchanged,
}

/// One import of member records: one `BEGIN IMMEDIATE` transaction, each record
/// sealed as inserted. Nothing is stored unless [`MemberImport::commit`] is called;
/// dropped without it, everything is rolled back.
#[derive(Debug)]
pub(crate) struct MemberImport {
    conn: Connection,
    path: PathBuf,
    head: seal::Head,
    open: bool,
}

impl MemberImport {
    /// Opens (creating and migrating if needed) the database and starts the
    /// transaction; safe while the daemon runs (it waits for the write lock).
    ///
    /// # Errors
    /// When the database cannot be opened or locked.
    pub(crate) fn begin(path: &Path) -> Result<MemberImport, StoreError> {
        let conn = open_rw(path)?;
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql(path))?;
        let mut import = MemberImport {
            conn,
            path: path.to_path_buf(),
            head: seal::Head {
                seal: 0,
                chain: seal::GENESIS,
            },
            open: true,
        };
        import.head = seal::head(&import.conn).map_err(sql(path))?;
        Ok(import)
    }

    /// Stores `rec` unless the latest record of its key holds the same values.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn put(
        &mut self,
        rec: &MemberRecord,
        created_at: UtcMillis,
    ) -> Result<Put, StoreError> {
        let e = sql(&self.path);
        let latest = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, {MEMBER_COLUMNS} FROM members WHERE member = ?1 AND service = ?2
                 ORDER BY id DESC LIMIT 1"
            ))
            .map_err(&e)?
            .query_row(params![rec.member, rec.service], |r| {
                Ok((r.get::<_, i64>(0)?, record_from(r, 1)?))
            })
            .optional()
            .map_err(&e)?;
        let supersedes = match latest {
            Some((_, ref old)) if old == rec => return Ok(Put::Unchanged),
            Some((id, _)) => Some(id),
            None => None,
        };
        let t = rec.texts();
        self.conn
            .prepare_cached(&format!(
                "INSERT INTO members ({MEMBER_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
            ))
            .map_err(&e)?
            .execute(params![
                t[0],
                t[1],
                t[2],
                t[3],
                t[4],
                t[5],
                t[6],
                t[7],
                t[8],
                t[9],
                t[10],
                t[11],
                t[12],
                t[13],
                supersedes,
                created_at.0
            ])
            .map_err(&e)?;
        let row = self.conn.last_insert_rowid();
        seal::seal(&self.conn, &mut self.head, Table::Members, row).map_err(&e)?;
        Ok(if supersedes.is_some() {
            Put::Changed
        } else {
            Put::New
        })
    }

    /// Commits every record put.
    ///
    /// # Errors
    /// On a database error (nothing is then stored).
    pub(crate) fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.conn.execute_batch("COMMIT").map_err(sql(&self.path))
    }

    /// Stores nothing (`--dry-run`).
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn rollback(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.conn.execute_batch("ROLLBACK").map_err(sql(&self.path))
    }
}

impl Drop for MemberImport {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Reader {
    fn has_members(&self) -> Result<bool, StoreError> {
        let v: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql(&self.path))?;
        Ok(v >= MEMBERS_MIGRATION)
    }

    /// Every member record that counts (the latest of each key), ordered by
    /// (member, service), with its seal, one at a time: never the whole table in
    /// memory. Stops at the first error `f` returns.
    ///
    /// # Errors
    /// On a database error, or `f`'s.
    pub(crate) fn for_each_member_record<E: From<StoreError>>(
        &self,
        mut f: impl FnMut(StoredMember) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.has_members()? {
            return Ok(());
        }
        let e = sql(&self.path);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT m.id, coalesce(s.id, 0), coalesce(s.row_hash, ''), {}
                 FROM members m
                 LEFT JOIN seals s ON s.tbl = 'members' AND s.row_id = m.id
                 WHERE NOT EXISTS (SELECT 1 FROM members n WHERE n.supersedes = m.id)
                 ORDER BY m.member, m.service",
                MEMBER_COLUMNS
                    .split(", ")
                    .map(|c| format!("m.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .map_err(&e)?;
        let mut rows = stmt.query([]).map_err(&e)?;
        while let Some(r) = rows.next().map_err(&e)? {
            let stored = (|| {
                Ok::<_, rusqlite::Error>(StoredMember {
                    id: r.get(0)?,
                    seal: r.get(1)?,
                    digest: r.get(2)?,
                    record: record_from(r, 3)?,
                })
            })()
            .map_err(&e)?;
            f(stored)?;
        }
        Ok(())
    }

    /// How many (member, service) keys are stored.
    ///
    /// # Errors
    /// On a database error.
    pub fn member_count(&self) -> Result<u64, StoreError> {
        if !self.has_members()? {
            return Ok(0);
        }
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM members WHERE supersedes IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(sql(&self.path))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The plan of the member record that counts for `member` + `service`, if the
    /// key is stored.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn member_plan(
        &self,
        member: &str,
        service: &str,
    ) -> Result<Option<String>, StoreError> {
        if !self.has_members()? {
            return Ok(None);
        }
        self.conn
            .prepare_cached(
                "SELECT plan FROM members WHERE member = ?1 AND service = ?2
                 ORDER BY id DESC LIMIT 1",
            )
            .map_err(sql(&self.path))?
            .query_row([member, service], |r| r.get(0))
            .optional()
            .map_err(sql(&self.path))
    }

    /// The incidents that count (the latest record of each chain, withdrawals
    /// dropped) recorded on contract id `contract`, oldest start first; read
    /// through the index on `incidents.contract`, not by a scan of every record. A
    /// record and its amendments share their contract (`incident amend` cannot move
    /// one), so what counts is decided among the contract's own records.
    ///
    /// # Errors
    /// On a database error.
    pub fn effective_incidents_of(&self, contract: &str) -> Result<Vec<Incident>, StoreError> {
        Ok(super::effective_incidents(&self.records_of(contract)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(member: &str, name: &str) -> MemberRecord {
        MemberRecord {
            member: member.to_owned(),
            service: "mail".to_owned(),
            name: name.to_owned(),
            plan: "libero-free".to_owned(),
            fee: Some("19.99".to_owned()),
            ..MemberRecord::default()
        }
    }

    #[test]
    fn a_changed_row_supersedes_an_identical_one_is_skipped_and_all_verify() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        let mut import = MemberImport::begin(&db).unwrap();
        assert_eq!(
            import.put(&rec("m-1", "Anna"), UtcMillis(1)).unwrap(),
            Put::New
        );
        assert_eq!(
            import.put(&rec("m-2", "Bruno"), UtcMillis(1)).unwrap(),
            Put::New
        );
        import.commit().unwrap();
        let mut import = MemberImport::begin(&db).unwrap();
        assert_eq!(
            import.put(&rec("m-1", "Anna"), UtcMillis(2)).unwrap(),
            Put::Unchanged
        );
        assert_eq!(
            import
                .put(&rec("m-2", "Bruno Bianchi"), UtcMillis(2))
                .unwrap(),
            Put::Changed
        );
        import.commit().unwrap();
        // A rolled-back import stores nothing.
        let mut import = MemberImport::begin(&db).unwrap();
        assert_eq!(
            import.put(&rec("m-3", "Carla"), UtcMillis(3)).unwrap(),
            Put::New
        );
        import.rollback().unwrap();

        let reader = Reader::open(&db).unwrap();
        assert_eq!(reader.member_count().unwrap(), 2);
        let mut seen = Vec::new();
        reader
            .for_each_member_record(|m| {
                seen.push((m.record.member.clone(), m.record.name.clone(), m.seal));
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                ("m-1".to_owned(), "Anna".to_owned(), 1),
                ("m-2".to_owned(), "Bruno Bianchi".to_owned(), 3)
            ]
        );
        let report = reader.verify_chain().unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(report.sealed, 3);
    }
}
