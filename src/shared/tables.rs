//! The evidence tables as both stores name them: SQLite's (`store::schema`) and
//! their PostgreSQL mirrors (`migrations/postgres/`). Columns are read from SQLite
//! (`PRAGMA table_info`); the PostgreSQL table has the same names plus `vantage`,
//! except SQLite's `coverage.vantage`, which is `row_vantage` there.

/// Every table whose rows are sealed (`seals.tbl`), in an order where a row's
/// references (`incident`, `alert`) come before it. Besides these, `probes` (not
/// sealed: the canonical lines name a row's probe, read through `probe_id`) and
/// [`CARRIED`] travel with them, and `seals` itself.
pub(crate) const SEALED: &[&str] = &[
    "runs",
    "failures",
    "outages",
    "coverage",
    "maintenance",
    "incidents",
    "prunes",
    "goodwill",
    "members",
    "alerts",
    "alert_attempts",
];

/// Tables whose rows are sealed inside another row's canonical line, not on their
/// own: (table, its column naming the sealed row, the sealed row's table). An
/// incident's attachments (name, SHA-256, size) are part of the incident's line.
pub(crate) const CARRIED: &[(&str, &str, &str)] =
    &[("incident_attachments", "incident", "incidents")];

/// The PostgreSQL column of SQLite's `table.column`.
pub(crate) fn pg_column<'a>(table: &str, column: &'a str) -> &'a str {
    match (table, column) {
        ("coverage", "vantage") => "row_vantage",
        _ => column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sealed table of a new SQLite store is listed, with every column
    /// present in the PostgreSQL migration under its mirrored name.
    #[test]
    fn every_sealed_sqlite_table_and_column_has_its_postgres_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        crate::store::Store::open(&path).unwrap().close().unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let sql = include_str!("../../migrations/postgres/V1__evidence.sql");
        let check: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'seals'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        for t in SEALED {
            assert!(
                check.contains(&format!("'{t}'")),
                "seals.tbl does not allow {t}"
            );
            let start = sql
                .find(&format!("CREATE TABLE {t} ("))
                .unwrap_or_else(|| panic!("no PostgreSQL table {t}"));
            let body = &sql[start..start + sql[start..].find(");").unwrap()];
            let mut stmt = conn.prepare(&format!("PRAGMA table_info({t})")).unwrap();
            let cols: Vec<String> = stmt
                .query_map([], |r| r.get::<_, String>(1))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(!cols.is_empty(), "no SQLite table {t}");
            for c in cols {
                let pg = pg_column(t, &c);
                assert!(
                    body.contains(&format!("\n    {pg} "))
                        || body.contains(&format!("\n    \"{pg}\" ")),
                    "{t}.{c} has no PostgreSQL column {pg}"
                );
            }
        }
    }
}
