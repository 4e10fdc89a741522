//! Shipping a vantage's sealed evidence to the shared PostgreSQL.
//!
//! [`ship_once`] copies one batch: the seals after the vantage's cursor in
//! PostgreSQL (read there at every call, never kept in memory: a server that
//! crashed may have lost commits it acknowledged), up to a count, with the rows
//! they seal, in one PostgreSQL transaction. The daemon's [`Shipper`] calls it in a
//! loop: again at once while a batch was full, else every [`SHIP_EVERY`],
//! reconnecting with a backoff of 1 s doubling to 30 s while the server is away.
//!
//! The batch is read from the vantage's SQLite in one read transaction of its own
//! read-only connection (one snapshot; WAL readers never block the writer). An
//! outage has two seals (open, then closed): a batch holding one of them is
//! extended to the row's latest seal in the snapshot, so the row ships once, in
//! the state that seal hashes, and PostgreSQL never holds a row in a state no
//! shipped seal covers. Rows not sealed yet (the open run of a probe, the coverage
//! segment still growing) stay behind: only sealed rows ship.
//!
//! Idempotent by (vantage, seal number): every INSERT is `ON CONFLICT DO NOTHING`,
//! except `outages`, upserted while the shipped row is still open (the migration's
//! trigger lets an open outage close, once). Shipping a batch twice, or two
//! shippers at once, never duplicates a row and never fails.
//!
//! Each table's rows go in one `INSERT ... SELECT ... FROM unnest($2::bigint[],
//! $3::text[], ...)`: one statement and one round trip per table and batch, with
//! parameters (no SQL built from values), whatever the batch's size.
//!
//! Invariant: only rows a shipped seal covers are written, in the same transaction
//! as that seal; `vantages.last_seal` and `last_chain` name the highest seal shipped.

use super::pg::{connect_and_migrate, describe};
use super::tables::pg_column;
use crate::config::{Config, SharedSettings};
use crate::metrics::Metrics;
use crate::store::export::{Cell, Rows, seal_head, sealed_batch};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_postgres::types::ToSql;
use tokio_util::sync::CancellationToken;

/// How often the daemon ships when the last batch was not full.
pub(crate) const SHIP_EVERY: Duration = Duration::from_secs(2);

/// The most seals the daemon ships in one transaction (an outage's second seal may
/// extend a batch past it).
pub(crate) const BATCH_SEALS: usize = 20_000;

/// The first and the longest wait before connecting again.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The longest a connection (with the migration) or a batch may take before the
/// connection is dropped and made again: a network cut without a reset would
/// otherwise hold the shipper until TCP gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const BATCH_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a stop waits for the last ship.
pub(crate) const LAST_SHIP: Duration = Duration::from_secs(2);

/// What one [`ship_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shipped {
    /// Seals shipped by this call (0: PostgreSQL was up to date).
    pub seals: usize,
    /// Rows shipped with them (evidence rows, their probes and carried rows).
    pub rows: usize,
    /// The vantage's highest seal in PostgreSQL after this call.
    pub head: i64,
    /// The local store's highest seal, in the snapshot read.
    pub local_head: i64,
    /// Whether the batch reached `max_seals` (more may wait).
    pub full: bool,
}

/// Why a batch could not be shipped.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// The vantage's SQLite could not be read (the message names the file).
    #[error("reading the local store {0}")]
    Local(String),
    /// PostgreSQL refused a statement or the connection broke (the server's
    /// message, never a password).
    #[error("shared store: {0}")]
    Remote(String),
    /// A row of the local store does not fit its PostgreSQL table (a schema from
    /// another slawatch version, a row edited by hand).
    #[error("a sealed row does not fit the shared store's schema: {0}")]
    Unfit(String),
    /// The vantage's seals in PostgreSQL are not this database's.
    #[error("{0}")]
    Diverged(String),
}

impl From<tokio_postgres::Error> for ShipError {
    fn from(e: tokio_postgres::Error) -> ShipError {
        ShipError::Remote(describe(&e))
    }
}

/// One column's values, as PostgreSQL takes them.
enum Column {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

/// The PostgreSQL types of every column of the schema: (table, column) → `bigint`
/// or `text`.
async fn pg_types(
    client: &tokio_postgres::Transaction<'_>,
) -> Result<HashMap<(String, String), String>, ShipError> {
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text
             FROM information_schema.columns WHERE table_schema = current_schema()",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// Inserts `rows` for `vantage`: `ON CONFLICT DO NOTHING`, or for `outages` an
/// update of a row still open in PostgreSQL.
async fn insert(
    tx: &tokio_postgres::Transaction<'_>,
    types: &HashMap<(String, String), String>,
    vantage: &str,
    rows: &Rows,
) -> Result<usize, ShipError> {
    if rows.rows.is_empty() {
        return Ok(0);
    }
    let mut names = Vec::new();
    let mut casts = Vec::new();
    let mut values: Vec<Column> = Vec::new();
    for (i, c) in rows.columns.iter().enumerate() {
        let pg = pg_column(rows.table, c);
        let ty = types
            .get(&(rows.table.to_owned(), pg.to_owned()))
            .ok_or_else(|| {
                ShipError::Remote(format!(
                    "the table {} has no column {pg}: is this slawatch older than the schema's?",
                    rows.table
                ))
            })?;
        let mismatch = |r: &[Cell]| {
            let what = match &r[i] {
                Cell::Int(_) => "an integer",
                Cell::Text(_) => "text",
                Cell::Null => "NULL",
                Cell::Other(what) => what,
            };
            ShipError::Unfit(format!(
                "{}.{c} of row {} holds {what}, PostgreSQL's column is {ty}",
                rows.table,
                r[0].int()
            ))
        };
        let col = if ty == "bigint" {
            let mut v = Vec::with_capacity(rows.rows.len());
            for r in &rows.rows {
                v.push(match &r[i] {
                    Cell::Int(n) => Some(*n),
                    Cell::Null => None,
                    _ => return Err(mismatch(r)),
                });
            }
            Column::Int(v)
        } else {
            let mut v = Vec::with_capacity(rows.rows.len());
            for r in &rows.rows {
                v.push(match &r[i] {
                    Cell::Text(s) => Some(s.clone()),
                    Cell::Null => None,
                    _ => return Err(mismatch(r)),
                });
            }
            Column::Text(v)
        };
        casts.push(format!(
            "${}::{}[]",
            i + 2,
            if ty == "bigint" { "bigint" } else { "text" }
        ));
        names.push(format!("\"{pg}\""));
        values.push(col);
    }
    let list = names.join(", ");
    let conflict = if rows.table == "outages" {
        let set = names
            .iter()
            .filter(|n| n.as_str() != "\"id\"")
            .map(|n| format!("{n} = EXCLUDED.{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("ON CONFLICT (vantage, id) DO UPDATE SET {set} WHERE outages.\"end\" IS NULL")
    } else {
        "ON CONFLICT DO NOTHING".to_owned()
    };
    let sql = format!(
        "INSERT INTO {} (vantage, {list}) SELECT $1, * FROM unnest({}) {conflict}",
        rows.table,
        casts.join(", ")
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&vantage];
    for v in &values {
        params.push(match v {
            Column::Int(v) => v,
            Column::Text(v) => v,
        });
    }
    tx.execute(&sql, &params).await?;
    Ok(rows.rows.len())
}

/// The checkpoint lines of `file` for `vantage` up to seal `head`, parsed:
/// (at ms, event, seal, chain, line). A line that does not parse is left out
/// (`slawatch verify --checkpoint` names it); no file yet: none.
fn checkpoint_lines(
    file: &Path,
    vantage: &str,
    head: i64,
) -> Vec<(i64, String, i64, String, String)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let p = crate::checkpoint::parse_line(l).ok()?;
            let at = p.at.parse::<jiff::Timestamp>().ok()?.as_millisecond();
            (p.vantage == vantage && p.seal <= head)
                .then(|| (at, p.event, p.seal, p.chain, l.to_owned()))
        })
        .collect()
}

/// Where a vantage's evidence comes from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The vantage's SQLite database (`[daemon] database`).
    pub database: &'a Path,
    /// Its name (`[daemon] vantage`).
    pub vantage: &'a str,
    /// `[daemon] checkpoint_file`, if set: its lines ship to `checkpoints`.
    pub checkpoint_file: Option<&'a Path>,
}

/// Ships the seals after the vantage's cursor in PostgreSQL, up to `max_seals`
/// (more when an outage's second seal follows), with their rows, in one
/// transaction; and the checkpoint lines up to the head shipped.
///
/// # Errors
/// The local store unreadable, or PostgreSQL refusing or gone (nothing of the
/// batch is then committed; the next call starts again from PostgreSQL's cursor).
pub async fn ship_once(
    source: Source<'_>,
    client: &mut tokio_postgres::Client,
    max_seals: usize,
) -> Result<Shipped, ShipError> {
    let vantage = source.vantage;
    let shipped = client
        .query_opt(
            "SELECT id, chain FROM seals WHERE vantage = $1 ORDER BY id DESC LIMIT 1",
            &[&vantage],
        )
        .await?;
    let (cursor, chain_at_cursor): (i64, Option<String>) =
        shipped.map_or((0, None), |r| (r.get(0), Some(r.get(1))));
    let db = source.database.to_path_buf();
    let batch = tokio::task::spawn_blocking(move || sealed_batch(&db, cursor, max_seals))
        .await
        .map_err(|e| ShipError::Local(format!("{}: {e}", source.database.display())))?
        .map_err(|e| ShipError::Local(e.to_string()))?;
    if cursor > 0 && batch.at_cursor != chain_at_cursor {
        return Err(ShipError::Diverged(format!(
            "the shared store holds seal {cursor} of vantage '{vantage}' with chain {}, \
             {} holds {}: another vantage ships under this name, or this database is \
             not the one that shipped them. Give each vantage its own [daemon] vantage.",
            chain_at_cursor.as_deref().unwrap_or("?"),
            source.database.display(),
            batch
                .at_cursor
                .as_deref()
                .map_or_else(|| "no such seal".to_owned(), |c| format!("chain {c}"))
        )));
    }
    let seals = batch.seals.rows.len();
    let head = batch.head.as_ref().map_or(cursor, |h| h.0);
    let tx = client.transaction().await?;
    let mut rows = 0;
    if let Some((seal, chain)) = &batch.head {
        let types = pg_types(&tx).await?;
        let now = crate::daemon::now().0;
        tx.execute(
            "INSERT INTO vantages (name, first_shipped, last_shipped, last_seal, last_chain)
             VALUES ($1, $2, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET last_shipped = EXCLUDED.last_shipped,
                 last_chain = CASE WHEN EXCLUDED.last_seal >= vantages.last_seal
                              THEN EXCLUDED.last_chain ELSE vantages.last_chain END,
                 last_seal = GREATEST(vantages.last_seal, EXCLUDED.last_seal)",
            &[&vantage, &now, seal, chain],
        )
        .await?;
        rows += insert(&tx, &types, vantage, &batch.probes).await?;
        for t in &batch.tables {
            rows += insert(&tx, &types, vantage, t).await?;
        }
        insert(&tx, &types, vantage, &batch.seals).await?;
    }
    if let Some(file) = source.checkpoint_file {
        let lines = checkpoint_lines(file, vantage, head);
        if !lines.is_empty() {
            let mut at = Vec::new();
            let mut event = Vec::new();
            let mut seal = Vec::new();
            let mut chain = Vec::new();
            let mut line = Vec::new();
            for l in lines {
                at.push(l.0);
                event.push(l.1);
                seal.push(l.2);
                chain.push(l.3);
                line.push(l.4);
            }
            tx.execute(
                "INSERT INTO checkpoints (vantage, at, event, seal, chain, line)
                 SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[])
                 ON CONFLICT DO NOTHING",
                &[&vantage, &at, &event, &seal, &chain, &line],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Shipped {
        seals,
        rows,
        head,
        local_head: batch.local_head,
        full: seals >= max_seals.max(1),
    })
}

/// The settings a running shipper depends on: a reload that changes any of them
/// restarts it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    url: String,
    password: Option<String>,
    ca_file: Option<PathBuf>,
    vantage: String,
    database: PathBuf,
    checkpoint_file: Option<PathBuf>,
}

impl Target {
    fn of(config: &Config) -> Option<Target> {
        let s = config.shared.as_ref()?;
        Some(Target {
            url: s.url.clone(),
            password: s.password.as_ref().map(|p| p.expose().to_owned()),
            ca_file: s.ca_file.clone(),
            vantage: config.daemon.vantage.clone(),
            database: config.daemon.database.clone(),
            checkpoint_file: config.daemon.checkpoint_file.clone(),
        })
    }
}

/// The daemon's shipping task (when `[shared]` is set).
#[derive(Debug)]
pub(crate) struct Shipper {
    target: Target,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Shipper {
    /// Starts shipping `config`'s store to its `[shared]` store; `None` without one.
    pub(crate) fn start(config: &Config, metrics: Arc<Metrics>) -> Option<Shipper> {
        let target = Target::of(config)?;
        let settings = config.shared.clone()?;
        let stop = CancellationToken::new();
        metrics.shared_enabled.store(true, Ordering::Relaxed);
        metrics.shared_since_ms.store(
            u64::try_from(crate::daemon::now().0).unwrap_or(0),
            Ordering::Relaxed,
        );
        let task = tokio::spawn(run(settings, target.clone(), metrics, stop.clone()));
        Some(Shipper { target, stop, task })
    }

    /// Whether `config` ships elsewhere or otherwise than this shipper does.
    pub(crate) fn differs(this: Option<&Shipper>, config: &Config) -> bool {
        this.map(|s| &s.target) != Target::of(config).as_ref()
    }

    /// Stops the task after one last ship of at most [`LAST_SHIP`].
    pub(crate) async fn stop(mut self) {
        self.stop.cancel();
        let bound = LAST_SHIP + Duration::from_millis(500);
        if tokio::time::timeout(bound, &mut self.task).await.is_err() {
            self.task.abort();
        }
    }
}

/// The shipping loop: see the module's doc.
async fn run(
    settings: SharedSettings,
    target: Target,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) {
    let source = Source {
        database: &target.database,
        vantage: &target.vantage,
        checkpoint_file: target.checkpoint_file.as_deref(),
    };
    let mut client: Option<tokio_postgres::Client> = None;
    let mut backoff = BACKOFF_MIN;
    // Since the store was lost (logged once): seals shipped since it came back.
    let mut lost: Option<usize> = None;
    let mut shipped_head = 0;
    loop {
        if stop.is_cancelled() {
            let last = async {
                let c = match client.take() {
                    Some(c) if !c.is_closed() => c,
                    _ => connect_and_migrate(&settings)
                        .await
                        .map_err(|e| e.to_string())?,
                };
                let mut c = c;
                loop {
                    let s = ship_once(source, &mut c, BATCH_SEALS)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !s.full {
                        return Ok::<Shipped, String>(s);
                    }
                }
            };
            match tokio::time::timeout(LAST_SHIP, last).await {
                Ok(Ok(s)) => tracing::info!(head = s.head, "shared store: every seal shipped"),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "shared store: the last ship failed; the next start catches up")
                }
                Err(_) => tracing::warn!(
                    "shared store: the last ship took over {LAST_SHIP:?}; the next start catches up"
                ),
            }
            return;
        }
        let result = match &mut client {
            Some(c) => {
                match tokio::time::timeout(BATCH_TIMEOUT, ship_once(source, c, BATCH_SEALS)).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => {
                        client = None;
                        Err(format!(
                            "a batch took over {BATCH_TIMEOUT:?}; connecting again"
                        ))
                    }
                }
            }
            None => {
                match tokio::time::timeout(CONNECT_TIMEOUT, connect_and_migrate(&settings)).await {
                    Ok(Ok(c)) => {
                        client = Some(c);
                        continue;
                    }
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!(
                        "shared store {}: no connection within {CONNECT_TIMEOUT:?}",
                        crate::config::url_origin(&settings.url)
                    )),
                }
            }
        };
        let wait = match result {
            Ok(s) => {
                backoff = BACKOFF_MIN;
                shipped_head = s.head;
                metrics.shared_unshipped.store(
                    u64::try_from(s.local_head - s.head).unwrap_or(0),
                    Ordering::Relaxed,
                );
                metrics.shared_last_ship_ms.store(
                    u64::try_from(crate::daemon::now().0).unwrap_or(0),
                    Ordering::Relaxed,
                );
                if let Some(n) = lost.as_mut() {
                    *n += s.seals;
                }
                if s.full {
                    continue;
                }
                if let Some(n) = lost.take() {
                    tracing::info!(
                        caught_up = n,
                        head = s.head,
                        "shared store {} back: {n} seal(s) caught up",
                        crate::config::url_origin(&settings.url)
                    );
                }
                SHIP_EVERY
            }
            Err(e) => {
                if lost.is_none() {
                    tracing::warn!(
                        error = %e,
                        "shared store lost; probing and recording go on locally, \
                         the seals ship when it is back"
                    );
                    lost = Some(0);
                }
                if client
                    .as_ref()
                    .is_some_and(tokio_postgres::Client::is_closed)
                {
                    client = None;
                }
                if let Ok(local) = seal_head(&target.database) {
                    metrics.shared_unshipped.store(
                        u64::try_from(local - shipped_head).unwrap_or(0),
                        Ordering::Relaxed,
                    );
                }
                let w = backoff;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                w
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_lines_keep_this_vantage_up_to_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cp");
        let chain = "ab".repeat(32);
        let l1 = crate::checkpoint::format_line(
            None,
            crate::model::UtcMillis(1_764_151_200_000),
            "start",
            "milano 1",
            Some((3, chain.clone())),
        );
        let l2 = crate::checkpoint::format_line(
            Some(l1.trim_end()),
            crate::model::UtcMillis(1_764_151_260_000),
            "stop",
            "milano 1",
            Some((9, chain)),
        );
        std::fs::write(&file, format!("{l1}{l2}garbage\n")).unwrap();
        let got = checkpoint_lines(&file, "milano 1", 5);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, 1_764_151_200_000);
        assert_eq!(got[0].2, 3);
        assert_eq!(checkpoint_lines(&file, "milano 1", 9).len(), 2);
        assert!(checkpoint_lines(&file, "roma", 9).is_empty());
        assert!(checkpoint_lines(&dir.path().join("none"), "x", 9).is_empty());
    }
}
