//! Incidents entered by hand (`slawatch incident`): records that are never changed.
//!
//! An amendment or a withdrawal is a new record whose `supersedes` names the record
//! it replaces; the chain of records from the first to the latest is the incident's
//! history, and [`effective_incidents`] gives what counts (the latest record of each
//! chain, withdrawn ones dropped). A record is superseded at most once, and only the
//! latest record of a chain may be amended or withdrawn.
//!
//! Every record is sealed ([`super::seal::seal`]) in the transaction that inserts it,
//! with its attachments (file name, SHA-256, size) in its canonical line. A record
//! that uses none of migration 4's columns keeps migration 3's line
//! (`incident|...`), so records stored before it still verify; any other has the
//! line
//!
//! ```text
//! incident2|PROBE|CONTRACT|START|END|SOURCE|NOTE|CREATED_AT|OPEN|CAUSE|SUPERSEDES|WITHDRAWN|REASON|TZ|N|NAME|SHA256|SIZE|...\n
//! ```
//!
//! where OPEN and WITHDRAWN are 0 or 1, N the number of attachments and each
//! attachment adds its NAME, SHA256 and SIZE, in the order they were stored.

use super::digest::{RowLine, Table, join_line};
use super::{Incident, IncidentSource, StoreError, open_rw, seal, sql};
use crate::model::UtcMillis;
use rusqlite::{OptionalExtension, params};
use std::collections::HashSet;
use std::path::Path;

/// The migration that added causes, supersession, withdrawal, zones, open records
/// and attachments.
pub(super) const CORRECTIONS_MIGRATION: i64 = 4;

/// Whether `conn`'s schema has migration 4's columns.
pub(super) fn has_corrections(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(v >= CORRECTIONS_MIGRATION)
}

/// Migration 4's part of an incident's canonical line: `found` (migration 3's
/// line) becomes the `incident2` line when the record uses any new column.
pub(super) fn extend_line(
    conn: &rusqlite::Connection,
    id: i64,
    found: &mut RowLine,
) -> rusqlite::Result<()> {
    if !has_corrections(conn)? {
        return Ok(());
    }
    let row = conn
        .prepare_cached(
            "SELECT open, cause, supersedes, withdrawn, reason, tz FROM incidents WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .optional()?;
    let Some((open, cause, supersedes, withdrawn, reason, tz)) = row else {
        return Ok(());
    };
    let attachments = attachments_of(conn, id)?;
    if open == 0
        && cause.is_none()
        && supersedes.is_none()
        && withdrawn == 0
        && reason.is_none()
        && tz.is_none()
        && attachments.is_empty()
    {
        return Ok(());
    }
    let old = super::digest::split_line(&found.line).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })?;
    let mut fields: Vec<String> = old.into_iter().skip(1).collect();
    fields.push(open.to_string());
    fields.push(cause.unwrap_or_default());
    fields.push(supersedes.map(|s| s.to_string()).unwrap_or_default());
    fields.push(withdrawn.to_string());
    fields.push(reason.unwrap_or_default());
    fields.push(tz.unwrap_or_default());
    fields.push(attachments.len().to_string());
    for (name, sha, size) in attachments {
        fields.extend([name, sha, size.to_string()]);
    }
    let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
    found.line = join_line("incident2", &refs);
    Ok(())
}

fn attachments_of(
    conn: &rusqlite::Connection,
    id: i64,
) -> rusqlite::Result<Vec<(String, String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, sha256, size FROM incident_attachments WHERE incident = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// An incident of a row selected with [`V4_COLUMNS`] (or migration 3's
/// equivalent), attachments not yet read.
fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
    let source: String = r.get(5)?;
    Ok(Incident {
        id: r.get(0)?,
        probe: r.get(1)?,
        contract: r.get(2)?,
        start: UtcMillis(r.get(3)?),
        end: UtcMillis(r.get(4)?),
        source: IncidentSource::parse(&source).unwrap_or(IncidentSource::Manual),
        note: r.get(6)?,
        created_at: UtcMillis(r.get(7)?),
        cause: r.get(8)?,
        supersedes: r.get(9)?,
        withdrawn: r.get::<_, i64>(10)? != 0,
        reason: r.get(11)?,
        tz: r.get(12)?,
        attachments: Vec::new(),
        open: r.get::<_, i64>(13)? != 0,
    })
}

/// The columns [`from_row`] reads, from a schema with migration 4.
const V4_COLUMNS: &str = "id, probe, contract, start, end, source, note, created_at,
                cause, supersedes, withdrawn, reason, tz, open";

/// Every incident record, oldest start first (ties by id), from a connection of any
/// schema version.
pub(super) fn read_all(conn: &rusqlite::Connection) -> rusqlite::Result<Vec<Incident>> {
    let v4 = has_corrections(conn)?;
    let sql = if v4 {
        format!("SELECT {V4_COLUMNS} FROM incidents ORDER BY start, id")
    } else {
        "SELECT id, probe, contract, start, end, source, note, created_at,
                NULL, NULL, 0, NULL, NULL, 0
         FROM incidents ORDER BY start, id"
            .to_owned()
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    let mut all: Vec<Incident> = rows.collect::<Result<_, _>>()?;
    if v4 {
        attach(conn, &mut all)?;
    }
    Ok(all)
}

/// The incidents `sql` selects (with [`V4_COLUMNS`]), each with its attachments.
fn select_attached(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Incident>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut out: Vec<Incident> = stmt
        .query_map(params, from_row)?
        .collect::<Result<_, _>>()?;
    attach(conn, &mut out)?;
    Ok(out)
}

/// Reads each incident's attachments (name and SHA-256) into it.
fn attach(conn: &rusqlite::Connection, incidents: &mut [Incident]) -> rusqlite::Result<()> {
    for i in incidents {
        i.attachments = attachments_of(conn, i.id)?
            .into_iter()
            .map(|(n, s, _)| (n, s))
            .collect();
    }
    Ok(())
}

impl super::Reader {
    /// Every record on contract id `contract` (superseded and withdrawn ones too),
    /// oldest start first, each with the row hash of its seal (none before the
    /// chain), through the index on `incidents.contract`: what one member's report
    /// and the class summary read, never the whole table.
    ///
    /// # Errors
    /// On a database error.
    pub fn contract_records(
        &self,
        contract: &str,
    ) -> Result<Vec<(Incident, Option<String>)>, super::StoreError> {
        let records = self.records_of(contract)?;
        let chain = self.has_chain()?;
        records
            .into_iter()
            .map(|i| {
                let seal = if chain {
                    self.conn
                        .prepare_cached(
                            "SELECT row_hash FROM seals WHERE tbl = 'incidents' AND row_id = ?1",
                        )
                        .and_then(|mut st| st.query_row([i.id], |r| r.get(0)).optional())
                        .map_err(super::sql(&self.path))?
                } else {
                    None
                };
                Ok((i, seal))
            })
            .collect()
    }

    /// Every record on contract id `contract`, oldest start first: through the index
    /// on `incidents.contract` (migration 6), or, on an older schema, by reading every
    /// record. One reader for a member's evidence list and for what counts of it.
    pub(crate) fn records_of(&self, contract: &str) -> Result<Vec<Incident>, super::StoreError> {
        let v: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(super::sql(&self.path))?;
        if v < super::member::MEMBERS_MIGRATION {
            return Ok(read_all(&self.conn)
                .map_err(super::sql(&self.path))?
                .into_iter()
                .filter(|i| i.contract.as_deref() == Some(contract))
                .collect());
        }
        self.records_where("contract = ?1", [contract])
    }

    /// Every record that names no contract (a probe's): evidence about a service
    /// that every contract of that probe shares.
    ///
    /// # Errors
    /// On a database error.
    pub fn probe_records(&self) -> Result<Vec<Incident>, super::StoreError> {
        if !has_corrections(&self.conn).map_err(super::sql(&self.path))? {
            return Ok(read_all(&self.conn)
                .map_err(super::sql(&self.path))?
                .into_iter()
                .filter(|i| i.contract.is_none())
                .collect());
        }
        self.records_where("contract IS NULL", [])
    }

    fn records_where(
        &self,
        filter: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Incident>, super::StoreError> {
        select_attached(
            &self.conn,
            &format!("SELECT {V4_COLUMNS} FROM incidents WHERE {filter} ORDER BY start, id"),
            params,
        )
        .map_err(super::sql(&self.path))
    }
}

/// What counts: the latest record of each chain, withdrawn ones dropped, in the
/// order given.
pub fn effective_incidents(all: &[Incident]) -> Vec<Incident> {
    let superseded: HashSet<i64> = all.iter().filter_map(|i| i.supersedes).collect();
    all.iter()
        .filter(|i| !i.withdrawn && !superseded.contains(&i.id))
        .cloned()
        .collect()
}

/// One record to store: the incident and the size in bytes of each of its
/// attachments (same order as [`Incident::attachments`]; a missing or zero size is
/// taken from a stored attachment with the same hash, for one carried over).
#[derive(Clone, Debug)]
pub struct NewIncident {
    /// The record (`id` is ignored).
    pub incident: Incident,
    /// Each attachment's size in bytes.
    pub sizes: Vec<u64>,
}

/// Why a record cannot supersede `target`, if it cannot.
fn refusal(tx: &rusqlite::Connection, target: i64) -> rusqlite::Result<Option<String>> {
    let found: Option<i64> = tx
        .query_row(
            "SELECT withdrawn FROM incidents WHERE id = ?1",
            [target],
            |r| r.get(0),
        )
        .optional()?;
    let Some(withdrawn) = found else {
        let ids: Vec<i64> = tx
            .prepare("SELECT id FROM incidents ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        return Ok(Some(if ids.is_empty() {
            format!("no incident {target}: the database holds no incident yet")
        } else {
            format!(
                "no incident {target}; the incidents are: {}",
                ids.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
    };
    let newer: Option<i64> = tx
        .query_row(
            "SELECT id FROM incidents WHERE supersedes = ?1",
            [target],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(n) = newer {
        return Ok(Some(format!(
            "incident {target} is already superseded by incident {n}: amend or withdraw \
             {n} (the latest record), `slawatch incident list --all` shows the chain"
        )));
    }
    if withdrawn != 0 {
        return Ok(Some(format!(
            "incident {target} is a withdrawal: it cannot be amended or withdrawn; record \
             the outage again with `slawatch incident add`"
        )));
    }
    Ok(None)
}

/// Stores incident records in one transaction, each sealed with its attachments;
/// safe while the daemon runs. A record with `supersedes` must name the latest
/// record of its chain. Nothing is stored if one record is refused.
///
/// # Errors
/// [`StoreError::Refused`] naming the record and why (unknown id, already
/// superseded, a withdrawal); a database error.
pub fn add_incidents(path: &Path, records: &[NewIncident]) -> Result<Vec<i64>, StoreError> {
    let mut conn = open_rw(path)?;
    // IMMEDIATE: the chain's head is read and extended under the write lock, so the
    // daemon's writer and this one never both append the same seal.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql(path))?;
    let mut ids = Vec::with_capacity(records.len());
    let mut head = seal::head(&tx).map_err(sql(path))?;
    for rec in records {
        let i = &rec.incident;
        if let Some(target) = i.supersedes
            && let Some(why) = refusal(&tx, target).map_err(sql(path))?
        {
            return Err(StoreError::Refused(why));
        }
        tx.execute(
            "INSERT INTO incidents (probe, contract, start, end, source, note, created_at,
                                    cause, supersedes, withdrawn, reason, tz, open)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                i.probe,
                i.contract,
                i.start.0,
                if i.open { i.start.0 } else { i.end.0 },
                i.source.as_str(),
                i.note,
                i.created_at.0,
                i.cause,
                i.supersedes,
                i64::from(i.withdrawn),
                i.reason,
                i.tz,
                i64::from(i.open),
            ],
        )
        .map_err(sql(path))?;
        let row = tx.last_insert_rowid();
        for (k, (name, sha)) in i.attachments.iter().enumerate() {
            let size = match rec.sizes.get(k) {
                Some(&s) if s > 0 => s,
                // An attachment carried over from the record amended.
                _ => tx
                    .query_row(
                        "SELECT size FROM incident_attachments WHERE sha256 = ?1 LIMIT 1",
                        [sha],
                        |r| r.get::<_, i64>(0),
                    )
                    .optional()
                    .map_err(sql(path))?
                    .and_then(|s| u64::try_from(s).ok())
                    .unwrap_or(0),
            };
            tx.execute(
                "INSERT INTO incident_attachments (incident, name, sha256, size)
                 VALUES (?1, ?2, ?3, ?4)",
                params![row, name, sha, i64::try_from(size).unwrap_or(i64::MAX)],
            )
            .map_err(sql(path))?;
        }
        seal::seal(&tx, &mut head, Table::Incidents, row).map_err(sql(path))?;
        ids.push(row);
    }
    tx.commit().map_err(sql(path))?;
    Ok(ids)
}

/// A zone as written: an IANA name or a fixed offset (`+02:00`, `-0500`).
pub fn parse_zone(s: &str) -> Result<(String, jiff::tz::TimeZone), String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix(['+', '-']) {
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let shape_ok = rest.chars().all(|c| c.is_ascii_digit() || c == ':')
            && (digits.len() == 2 || digits.len() == 4);
        let h: i32 = digits.get(..2).and_then(|d| d.parse().ok()).unwrap_or(99);
        let m: i32 = digits.get(2..).and_then(|d| d.parse().ok()).unwrap_or(0);
        if !shape_ok || h > 23 || m > 59 {
            return Err(format!(
                "'{s}' is not an offset: write it like +02:00 or -05:00 (at most ±23:59)"
            ));
        }
        let sign = if s.starts_with('-') { -1 } else { 1 };
        let off = jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60))
            .map_err(|e| format!("'{s}': {e}"))?;
        let name = format!("{}{h:02}:{m:02}", if sign < 0 { '-' } else { '+' });
        return Ok((name, jiff::tz::TimeZone::fixed(off)));
    }
    jiff::tz::TimeZone::get(s).map(|tz| (s.to_owned(), tz)).map_err(|_| {
        format!("unknown zone '{s}': write an IANA name such as Europe/Rome, or an offset such as +02:00")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: i64, supersedes: Option<i64>, withdrawn: bool) -> Incident {
        Incident {
            id,
            supersedes,
            withdrawn,
            ..Incident::default()
        }
    }

    #[test]
    fn effective_keeps_the_latest_of_each_chain_and_drops_withdrawals() {
        let all = [
            rec(1, None, false),
            rec(2, None, false),
            rec(3, Some(1), false),
            rec(4, Some(3), false),
            rec(5, Some(2), true),
            rec(6, None, false),
        ];
        let ids: Vec<i64> = effective_incidents(&all).iter().map(|i| i.id).collect();
        assert_eq!(ids, [4, 6]);
    }
}
