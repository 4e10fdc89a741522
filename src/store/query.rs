//! Reads for reports: the outages, failed-check classes and markers one contract and
//! one period need. Kept apart from `mod.rs` so report queries grow here.

use super::{Reader, StoreError, open_rw, sql};
use crate::model::{Status, UtcMillis};
use crate::outage::Outage;
use rusqlite::OptionalExtension;
use std::path::Path;

/// A recorded maintenance window: `(scope, start, end, announced_at)`, the scope
/// being `contract:ID` or `probe:NAME`.
pub type AnnouncedWindow = (String, UtcMillis, UtcMillis, Option<UtcMillis>);

/// Checks of one probe as the store keeps them: a run of up or unknown checks (first
/// to last check, `count` of them), or one failed check (`first == last`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckSpan {
    /// The first check's start.
    pub first: UtcMillis,
    /// The last check's start.
    pub last: UtcMillis,
    /// Their status.
    pub status: Status,
    /// How many checks.
    pub count: i64,
}

impl Reader {
    /// The checks of `probe` overlapping `[from, to)` as [`CheckSpan`]s, by first
    /// check (for per-probe no-data in reports). A run never spans a UTC day, so its
    /// last check is before `to + RUN_SPAN_MS`: saying so bounds the index range
    /// (`runs_covering` starts with `probe_id, last_at`), which otherwise runs to the probe's last run.
    ///
    /// # Errors
    /// On a database error.
    pub fn check_spans(
        &self,
        probe: &str,
        from: UtcMillis,
        to: UtcMillis,
    ) -> Result<Vec<CheckSpan>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.first_at, r.last_at, r.status, r.count
                   FROM runs r JOIN probes p ON p.id = r.probe_id
                  WHERE p.name = ?1 AND r.last_at >= ?2 AND r.first_at < ?3
                    AND r.last_at < ?3 + ?4
                 UNION ALL
                 SELECT f.at, f.at, 'down', 1
                   FROM failures f JOIN probes p ON p.id = f.probe_id
                  WHERE p.name = ?1 AND f.at >= ?2 AND f.at < ?3
                 ORDER BY 1, 2",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map(
                rusqlite::params![probe, from.0, to.0, super::RUN_SPAN_MS],
                |r| {
                    let status: String = r.get(2)?;
                    Ok(CheckSpan {
                        first: UtcMillis(r.get(0)?),
                        last: UtcMillis(r.get(1)?),
                        status: Status::parse(&status).unwrap_or(Status::Unknown),
                        count: r.get(3)?,
                    })
                },
            )
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// Outages of `probe` overlapping `[from, to)`: open ones, or ending after `from`,
    /// and starting before `to`; oldest first. An open outage's last failure is
    /// brought up to date as in [`Reader::outages`].
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn outages_overlapping(
        &self,
        probe: &str,
        from: UtcMillis,
        to: UtcMillis,
    ) -> Result<Vec<Outage>, StoreError> {
        self.query_outages(
            "p.name = ?1 AND (o.end IS NULL OR o.end > ?2) AND o.start < ?3",
            &[&probe, &from.0, &to.0],
        )
    }

    /// The maintenance windows recorded from the configuration, by start.
    ///
    /// # Errors
    /// On a database error.
    pub fn maintenance(&self) -> Result<Vec<AnnouncedWindow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT scope, start, end, announced_at FROM maintenance ORDER BY start, scope",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    UtcMillis(r.get(1)?),
                    UtcMillis(r.get(2)?),
                    r.get::<_, Option<i64>>(3)?.map(UtcMillis),
                ))
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// The classes of the failed checks of `probe` in `[from, to)`, with how many
    /// checks failed with each, by class name.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn failure_classes(
        &self,
        probe: &str,
        from: UtcMillis,
        to: UtcMillis,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT f.class, count(*) FROM failures f JOIN probes p ON p.id = f.probe_id
                 WHERE p.name = ?1 AND f.at >= ?2 AND f.at < ?3
                 GROUP BY f.class ORDER BY f.class",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map(rusqlite::params![probe, from.0, to.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// When monitoring began: the start of the first coverage segment.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn monitoring_since(&self) -> Result<Option<UtcMillis>, StoreError> {
        self.conn
            .query_row("SELECT min(start) FROM coverage", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|v| v.map(UtcMillis))
            .map_err(sql(&self.path))
    }

    /// A value of the `meta` table.
    ///
    /// # Errors
    /// On a database error.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(sql(&self.path))
    }

    /// The keys of the `meta` table starting with `prefix`, sorted.
    ///
    /// # Errors
    /// On a database error.
    pub fn meta_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT key FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([prefix], |r| r.get(0))
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }
}

/// Sets a value of the `meta` table (a marker such as "the report of 2023-01 was
/// written"); safe while the daemon runs, as [`super::add_incident`] is.
///
/// # Errors
/// When the database cannot be opened or written.
pub fn set_meta(path: &Path, key: &str, value: &str) -> Result<(), StoreError> {
    let conn = open_rw(path)?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map_err(sql(path))?;
    Ok(())
}
