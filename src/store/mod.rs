//! The evidence store: the only module that touches the database.
//!
//! SQLite (bundled) in WAL mode. One writer thread owns the writing connection and
//! batches everything sent to it into transactions: a commit at least every
//! [`COMMIT_EVERY`], so a crash loses at most the last second of checks. Readers
//! (`slawatch status`, `outages`, reports) open their own read-only connections
//! and never block the writer.
//!
//! Durability: `synchronous = FULL`, so every commit syncs the WAL to disk before it
//! returns. A process crash (kill -9) loses only what was not yet committed, at most
//! the last [`COMMIT_EVERY`]; a power loss or kernel crash loses the same and no more
//! (with `NORMAL`, WAL commits reach the disk only at a checkpoint, so a power loss
//! could lose every commit since the last one). The price is one fsync a second.
//!
//! The writer never wedges: each transaction is `BEGIN IMMEDIATE` (it waits for
//! the write lock up front, instead of failing half-way); a failed commit is retried
//! with backoff ([`COMMIT_TRIES`]); a batch that still fails is set aside, written as
//! JSON lines to `DATABASE.set-aside.jsonl` ([`set_aside_path`]), logged and counted,
//! and the writer goes on with what comes after. When a message itself is refused (a
//! constraint or trigger: the poison), the batch is retried message by message, so
//! only the poison is set aside. The queue to the writer is bounded
//! ([`QUEUE_CAPACITY`]): a record that finds it full waits for room (back-pressure,
//! so a bulk producer loses nothing); in the daemon it waits at most
//! [`QUEUE_PATIENCE`], and one that still does not fit is counted in
//! [`WriterStats::dropped`], logged, and the daemon's coverage is cut there, so the
//! time it covers shows as no data, never as measured.
//!
//! Checks are stored compactly. Consecutive checks of a probe with the same status
//! and class (up, up flagged slow, unknown) are one row of `runs`, updated in place
//! (count, first and last time, latency min/sum/max) within one UTC day
//! ([`RUN_SPAN_MS`]); every failed (down) check is its own row of `failures`, with
//! its class, detail and phases, because each one is evidence. A year of a probe
//! checked every minute that never fails is 365 rows.
//!
//! The checks are append-only: every row of `runs` and `failures` is sealed into a
//! hash chain once it can no longer change (see `seal.rs`), triggers refuse to
//! edit a sealed row, and `Reader::verify_chain` finds any edit made despite them.
//!
//! Invariant: nothing here reads the clock; every instant comes from the caller.
//! Invariant: no secret reaches the database: details come from probes, which never
//! put one in a detail.

mod alert;
mod copy;
mod digest;
pub(crate) mod export;
mod incident;
mod lock;
mod member;
mod query;
mod schema;
mod seal;

pub(crate) use alert::{AlertState, Attempt, NewAlert, Outcome, StoredAlert};
pub(crate) use copy::{Cell, EvidenceCopy};
#[doc(hidden)]
pub use digest::fuzz_canonical_line;
pub use digest::{EvidenceDigest, split_line};
pub(crate) use digest::{ProbeEvidence, combine_evidence};
pub use incident::{NewIncident, add_incidents, effective_incidents, parse_zone};
pub use lock::{DbLock, LockError, lock_path};
pub(crate) use member::{MemberImport, MemberRecord, Put, StoredMember};
pub use query::{AnnouncedWindow, CheckSpan, set_meta};
pub use seal::{
    ChainProblem, ChainReport, MAX_PROBLEMS, MIN_RETENTION_MS, ProblemKind, RetentionPolicy,
};

use crate::model::{Check, ErrorClass, Status, UtcMillis};
use crate::outage::{Event, Outage};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The writer commits at least this often while it has something to write.
pub(crate) const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// A heartbeat more than this after the last one starts a new coverage segment:
/// the time between is a no-data gap.
pub const COVERAGE_GAP_MS: i64 = 5_000;

/// A run never spans a UTC day boundary: once its day is over it never changes (and
/// is sealed into the hash chain), so a period's evidence has a stable digest from
/// at most a day after the period ends, in any time zone. One row per probe and day
/// for a probe that never fails: 365 a year. (Runs cut at every hour would make
/// 8,760 rows and seals a year per probe: with the seals, a year of 1,000 probes
/// went from about 350 MiB to over 2 GiB; see BENCHMARKS.md.)
pub const RUN_SPAN_MS: i64 = 86_400_000;

/// The migration that introduced the hash chain (`seals`).
const SEALS_MIGRATION: usize = 2;

/// The migration that sealed every table a report reads and made retention an event.
const EVERYTHING_SEALED_MIGRATION: usize = 3;

/// How long a connection waits for a lock held by another.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages the queue to the writer holds at most: minutes of checks of 10,000
/// probes. One that does not fit is dropped and counted ([`WriterStats::dropped`]),
/// and the coverage segment is cut there, so the time shows as no data.
pub const QUEUE_CAPACITY: usize = 65_536;

/// How long a record of the daemon waits for room in a full queue before it is
/// dropped (once per episode of a full queue; see [`Store::with_queue_patience`]).
pub(crate) const QUEUE_PATIENCE: Duration = Duration::from_secs(1);

/// A batch is committed at the latest when it holds this many messages.
const MAX_BATCH: usize = 10_000;

/// Tries of a batch whose commit fails for a reason other than its content (busy,
/// read-only, disk full, I/O): the first, then after 250 ms, 500 ms, 1 s. After that
/// it is set aside.
pub(crate) const COMMIT_TRIES: u32 = 4;

/// The wait before the second try; doubled before each further one.
const RETRY_BACKOFF: Duration = Duration::from_millis(250);

/// Where batches that could not be committed are set aside: `DATABASE.set-aside.jsonl`,
/// one JSON object a line (`error`, `kind`, and the record: `check` as JSON, the
/// others as text), appended, never rewritten.
pub fn set_aside_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".set-aside.jsonl");
    PathBuf::from(name)
}

/// What the writer has done, for `/metrics` and `/healthz`. Shared with the writer
/// thread; read with [`Store::stats`].
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Commits that failed (each try counts).
    pub commit_failures: AtomicU64,
    /// Batches (or single messages of an isolated batch) set aside.
    pub set_aside_batches: AtomicU64,
    /// Messages set aside.
    pub set_aside_messages: AtomicU64,
    /// Messages that could not be queued because the queue was full.
    pub dropped: AtomicU64,
    /// Messages sent and not yet committed or set aside.
    pub queued: AtomicUsize,
    /// The most messages `queued` has held at once since the store opened: whether the
    /// writer keeps up (a second's worth of records at most) or falls behind.
    pub queued_max: AtomicUsize,
}

impl WriterStats {
    /// One more message queued (or about to be): counts it and its high-water mark.
    fn enqueue(&self) {
        let now = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
        self.queued_max.fetch_max(now, Ordering::Relaxed);
    }
}

/// A database problem, with the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file was written by a newer slawatch.
    #[error(
        "{path}: schema version {found} is newer than this slawatch knows ({known}); \
         upgrade slawatch or use another database"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest this build applies.
        known: i64,
    },
    /// A commit the caller waited for failed.
    #[error("{path}: commit failed: {message}")]
    Commit {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },
    /// The file has no slawatch schema.
    #[error("{0}: not a slawatch database (no schema); has `slawatch run` written it yet?")]
    NotSlawatch(PathBuf),
    /// The writer thread could not be started.
    #[error("cannot start the database writer: {0}")]
    Thread(std::io::Error),
    /// The writer thread is gone (it panicked or the store was closed).
    #[error("{0}: the writer thread has stopped")]
    WriterGone(PathBuf),
    /// Another daemon holds the database.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// A write the evidence rules forbid (amending a superseded incident...), and why.
    #[error("{0}")]
    Refused(String),
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens (creating if needed) the database and brings its schema up to date.
fn open_rw(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A missing folder is created; failing that, SQLite's error says it all.
        let _ = std::fs::create_dir_all(dir);
    }
    let mut conn = Connection::open(path).map_err(sql(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(path))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql(path))?;
    // FULL: every commit syncs the WAL, so a power loss loses at most what was not
    // yet committed (the writer commits every second), as a kill -9 does. NORMAL
    // would lose every commit since the last checkpoint. See the module docs.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql(path))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql(path))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Applies the migrations the file lacks, each in its own transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let known = i64::try_from(schema::MIGRATIONS.len()).unwrap_or(i64::MAX);
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql(path))?;
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (i, migration) in schema::MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction().map_err(sql(path))?;
        tx.execute_batch(migration).map_err(sql(path))?;
        if i + 1 == SEALS_MIGRATION {
            seal::seal_legacy(&tx).map_err(sql(path))?;
        }
        if i + 1 == EVERYTHING_SEALED_MIGRATION {
            seal::seal_legacy_v3(&tx).map_err(sql(path))?;
        }
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )
        .map_err(sql(path))?;
        tx.commit().map_err(sql(path))?;
    }
    Ok(())
}

/// What the writer is asked to do.
#[derive(Debug)]
enum Msg {
    Probes(Vec<(String, String)>),
    /// Per probe, the longest time between two checks that one run may span.
    RunGaps(Vec<(String, i64)>),
    Maintenance(Vec<crate::config::Maintenance>),
    Goodwill(Vec<crate::config::Goodwill>),
    Check(Box<Check>),
    Outage(Box<Event>),
    /// Issue 17: an alert queued on one channel, and a delivery attempt of one.
    Alert(Box<NewAlert>),
    AlertAttempt(Box<Attempt>),
    Heartbeat(String, UtcMillis),
    Prune {
        now: UtcMillis,
        retention_ms: i64,
    },
    /// Seal every open run: the writer is stopping and will never extend them.
    SealOpen,
    Flush(mpsc::Sender<Result<(), String>>),
    /// Records were dropped before this (the queue was full): the coverage segment
    /// ends at the last heartbeat before it. Handled by the writer loop, not `apply`.
    Gap,
}

impl Msg {
    fn kind(&self) -> &'static str {
        match self {
            Msg::Probes(_) => "probes",
            Msg::RunGaps(_) => "run_gaps",
            Msg::Maintenance(_) => "maintenance",
            Msg::Goodwill(_) => "goodwill",
            Msg::Check(_) => "check",
            Msg::Outage(_) => "outage",
            Msg::Alert(_) => "alert",
            Msg::AlertAttempt(_) => "alert_attempt",
            Msg::Heartbeat(..) => "heartbeat",
            Msg::Prune { .. } => "prune",
            Msg::SealOpen => "seal-open",
            Msg::Flush(_) => "flush",
            Msg::Gap => "gap",
        }
    }

    /// The record as a JSON value, for the set-aside file: a check in full, the
    /// others as their debug text (they hold no secret).
    fn to_json(&self) -> serde_json::Value {
        match self {
            Msg::Check(check) => serde_json::to_value(check.as_ref())
                .unwrap_or_else(|_| serde_json::Value::String(format!("{check:?}"))),
            Msg::Heartbeat(vantage, at) => serde_json::json!({"vantage": vantage, "at": at.0}),
            Msg::Prune { now, retention_ms } => {
                serde_json::json!({"now": now.0, "retention_ms": retention_ms})
            }
            Msg::Probes(list) => serde_json::json!(list),
            Msg::RunGaps(list) => serde_json::json!(list),
            Msg::Outage(event) => serde_json::Value::String(format!("{event:?}")),
            Msg::Maintenance(w) => serde_json::Value::String(format!("{w:?}")),
            Msg::Goodwill(g) => serde_json::Value::String(format!("{g:?}")),
            Msg::Alert(a) => serde_json::Value::String(format!("{a:?}")),
            Msg::AlertAttempt(a) => serde_json::Value::String(format!("{a:?}")),
            Msg::SealOpen | Msg::Flush(_) | Msg::Gap => serde_json::Value::Null,
        }
    }
}

/// The writing side: cheap to call from async code (a channel send), committed by
/// the writer thread within [`COMMIT_EVERY`].
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    tx: Option<mpsc::SyncSender<Msg>>,
    stats: Arc<WriterStats>,
    /// A record was dropped (queue full) and the writer has not yet been told.
    gap_owed: AtomicBool,
    /// How long a record waits for room in a full queue before it is dropped; `None`:
    /// as long as it takes (lossless back-pressure, the default).
    patience: Option<Duration>,
    thread: Option<JoinHandle<()>>,
}

impl Store {
    /// Opens the database (creating it and its folder), migrates it and starts the writer.
    ///
    /// # Errors
    /// When the file cannot be opened or migrated, or is from a newer slawatch.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = open_rw(path)?;
        let state = start_state(&mut conn).map_err(sql(path))?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let stats = Arc::new(WriterStats::default());
        let writer = Writer {
            conn,
            path: path.to_path_buf(),
            state,
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("slawatch-store".to_owned())
            .spawn(move || writer.run(&rx))
            .map_err(StoreError::Thread)?;
        Ok(Store {
            path: path.to_path_buf(),
            tx: Some(tx),
            stats,
            gap_owed: AtomicBool::new(false),
            patience: None,
            thread: Some(thread),
        })
    }

    /// Bounds how long a record waits for room in a full queue before it is dropped
    /// (counted, and the coverage cut there). The daemon sets [`QUEUE_PATIENCE`], so
    /// a wedged writer never stops probing; without it every record waits for room,
    /// as a bulk producer (an import, a benchmark, a fixture) wants.
    #[must_use]
    pub fn with_queue_patience(mut self, patience: Duration) -> Store {
        self.patience = Some(patience);
        self
    }

    /// Queues a record without waiting. A full queue drops it: counted, logged, and
    /// the coverage is cut before the next record that fits (a `Gap`).
    fn send(&self, msg: Msg) -> Result<(), StoreError> {
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| StoreError::WriterGone(self.path.clone()))?;
        let mut msg = msg;
        if self.gap_owed.load(Ordering::Relaxed) {
            // The gap marker goes first; the record waits behind it.
            match self.try_send(tx, Msg::Gap) {
                Ok(()) => {
                    self.gap_owed.store(false, Ordering::Relaxed);
                    tracing::warn!(
                        database = %self.path.display(),
                        dropped = self.stats.dropped.load(Ordering::Relaxed),
                        "the writer's queue has room again; the coverage restarts here"
                    );
                }
                Err(mpsc::TrySendError::Full(_)) => {
                    self.dropped(&msg);
                    return Ok(());
                }
                Err(mpsc::TrySendError::Disconnected(_)) => {
                    return Err(StoreError::WriterGone(self.path.clone()));
                }
            }
        }
        match self.try_send_patiently(tx, msg) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(m)) => {
                msg = m;
                if !self.gap_owed.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        database = %self.path.display(),
                        capacity = QUEUE_CAPACITY,
                        "the writer's queue is full: records are dropped (counted in \
                         slawatch_store_dropped_total) and the time shows as no data"
                    );
                }
                self.dropped(&msg);
                Ok(())
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                Err(StoreError::WriterGone(self.path.clone()))
            }
        }
    }

    /// [`Store::try_send`], but a full queue is first given the store's patience to
    /// make room (back-pressure: a writer that is only behind loses nothing). Once a
    /// record was dropped, the next ones are dropped at once until the queue has room
    /// again, so a wedged writer costs one wait per episode, not one per record.
    fn try_send_patiently(
        &self,
        tx: &mpsc::SyncSender<Msg>,
        msg: Msg,
    ) -> Result<(), mpsc::TrySendError<Msg>> {
        let mut msg = match self.try_send(tx, msg) {
            Err(mpsc::TrySendError::Full(m)) if !self.gap_owed.load(Ordering::Relaxed) => m,
            other => return other,
        };
        // The writer may be asleep until its next commit: a full queue wakes it.
        self.wake();
        let Some(patience) = self.patience else {
            self.stats.enqueue();
            return tx.send(msg).map_err(|mpsc::SendError(m)| {
                self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                mpsc::TrySendError::Disconnected(m)
            });
        };
        let deadline = Instant::now() + patience;
        loop {
            if Instant::now() >= deadline {
                return Err(mpsc::TrySendError::Full(msg));
            }
            std::thread::sleep(Duration::from_millis(1));
            match self.try_send(tx, msg) {
                Err(mpsc::TrySendError::Full(m)) => msg = m,
                other => return other,
            }
        }
    }

    fn try_send(
        &self,
        tx: &mpsc::SyncSender<Msg>,
        msg: Msg,
    ) -> Result<(), mpsc::TrySendError<Msg>> {
        self.stats.enqueue();
        tx.try_send(msg)
            .inspect(|()| {
                if self.stats.queued.load(Ordering::Relaxed) >= MAX_BATCH {
                    self.wake();
                }
            })
            .inspect_err(|_| {
                self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            })
    }

    /// Wakes the writer before its next commit is due (see `Writer::run`): for a
    /// flush, the end, or a queue that holds a batch.
    fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    fn dropped(&self, msg: &Msg) {
        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        // A line a record would flood the journal: an episode's start is logged at
        // error, its end at warn (with the count), each record only at debug.
        tracing::debug!(kind = msg.kind(), record = %msg.to_json(), "dropped: the writer's queue is full");
    }

    /// Queues a control message, waiting for room: these must not be lost.
    fn send_wait(&self, msg: Msg) -> Result<(), StoreError> {
        self.stats.enqueue();
        // Woken before (a full queue must drain) and after (it must not wait a second).
        self.wake();
        let sent = self.tx.as_ref().and_then(|tx| tx.send(msg).ok());
        self.wake();
        sent.ok_or_else(|| {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            StoreError::WriterGone(self.path.clone())
        })
    }

    /// Messages waiting for the writer.
    pub fn queue_len(&self) -> usize {
        self.stats.queued.load(Ordering::Relaxed)
    }

    /// What the writer has done so far (commits, failures, set aside, dropped).
    pub fn stats(&self) -> Arc<WriterStats> {
        self.stats.clone()
    }

    /// Records the configured probes (name, kind); names already known keep their id.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn register_probes(&self, probes: &[(String, String)]) -> Result<(), StoreError> {
        self.send(Msg::Probes(probes.to_vec()))
    }

    /// Tells the writer, per probe, the longest time between two of its checks that
    /// one run may span (its stall allowance, `report::data::allowance_ms`). A check
    /// arriving later starts a new run, so a probe loop that stalled in the middle of
    /// a run of `up` checks shows as a gap between runs (no data), never as uptime.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn set_run_gaps(&self, gaps: &[(String, i64)]) -> Result<(), StoreError> {
        self.send(Msg::RunGaps(gaps.to_vec()))
    }

    /// Records the maintenance windows the configuration announces, once each (the
    /// same scope, start and end are not stored twice), so the database keeps what
    /// was announced even after the configuration changes. The scope is
    /// `contract:ID` or `probe:NAME`, one row per name the window applies to.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn record_maintenance(
        &self,
        windows: &[crate::config::Maintenance],
    ) -> Result<(), StoreError> {
        self.send(Msg::Maintenance(windows.to_vec()))
    }

    /// Records the goodwill offers the configuration states, once each (a row with
    /// the same content is not stored twice; a changed offer is a new row, and the
    /// old one stays), sealed, so the database keeps what was offered even after
    /// the configuration changes. One row per contract or plan named: the scope is
    /// `contract:ID` or `plan:ID`.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn record_goodwill(&self, offers: &[crate::config::Goodwill]) -> Result<(), StoreError> {
        self.send(Msg::Goodwill(offers.to_vec()))
    }

    /// Records one check.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn record_check(&self, check: &Check) -> Result<(), StoreError> {
        self.send(Msg::Check(Box::new(check.clone())))
    }

    /// Records an outage opening or closing.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn record_outage(&self, event: &Event) -> Result<(), StoreError> {
        self.send(Msg::Outage(Box::new(event.clone())))
    }

    /// Queues an alert on its channel (once per channel and key), with what is sent.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub(crate) fn record_alert(&self, alert: &NewAlert) -> Result<(), StoreError> {
        self.send(Msg::Alert(Box::new(alert.clone())))
    }

    /// Appends a delivery attempt to its alert.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub(crate) fn record_alert_attempt(&self, attempt: &Attempt) -> Result<(), StoreError> {
        self.send(Msg::AlertAttempt(Box::new(attempt.clone())))
    }

    /// Records that the daemon at `vantage` was running and probing at `at`.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn heartbeat(&self, vantage: &str, at: UtcMillis) -> Result<(), StoreError> {
        self.send(Msg::Heartbeat(vantage.to_owned(), at))
    }

    /// Retention at `now`: deletes runs and failed checks older than `retention`
    /// (never less than [`MIN_RETENTION_MS`]; cut at UTC midnight) and records a
    /// sealed prune event saying what went. Their seals, outages, coverage,
    /// maintenance and incidents are kept forever.
    ///
    /// # Errors
    /// Only when the writer has stopped.
    pub fn prune(&self, now: UtcMillis, retention: Duration) -> Result<(), StoreError> {
        self.send(Msg::Prune {
            now,
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
        })
    }

    /// Commits everything sent so far and waits for it.
    ///
    /// # Errors
    /// When the writer has stopped, or some of it could not be committed and was set
    /// aside (the message says how much and where).
    pub fn flush(&self) -> Result<(), StoreError> {
        let (ack, done) = mpsc::channel();
        self.send_wait(Msg::Flush(ack))?;
        match done.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Commit {
                path: self.path.clone(),
                message,
            }),
            Err(_) => Err(StoreError::WriterGone(self.path.clone())),
        }
    }

    /// Flushes and stops the writer.
    ///
    /// # Errors
    /// As [`Store::flush`].
    pub fn close(mut self) -> Result<(), StoreError> {
        let result = self.send_wait(Msg::SealOpen).and_then(|()| self.flush());
        self.tx = None;
        self.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        result
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the channel makes the writer commit what it holds and return.
        self.tx = None;
        self.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The open run of a probe, as the writer last wrote it.
#[derive(Debug, Clone, Copy)]
struct OpenRun {
    row: i64,
    status: Status,
    class: Option<ErrorClass>,
    /// The UTC day of its first check (a span of `RUN_SPAN_MS`): a run never spans two.
    hour: i64,
    /// Its last check's start.
    last_at: i64,
}

/// The coverage segment the writer extends.
#[derive(Clone, Copy, Debug)]
struct OpenSegment {
    row: i64,
    end: UtcMillis,
    /// The UTC day it was started for: it is sealed at the first heartbeat of a
    /// later day, which starts the next segment where it ended (so a segment holds
    /// at most the gap before its day's first heartbeat from the day before).
    day: i64,
}

/// What the writer remembers between messages. Copied before each transaction and
/// put back if it rolls back, so no row id of a rolled-back write is kept. The maps
/// that change only when probes are registered are shared (`Arc`, copied on write):
/// copying them for every commit cost a string allocation per probe per second.
#[derive(Clone, Debug)]
struct State {
    probe_ids: Arc<HashMap<String, i64>>,
    open_runs: HashMap<i64, OpenRun>,
    /// The coverage segment being extended (unsealed until it can no longer grow).
    coverage: Option<OpenSegment>,
    /// The last seal of the hash chain.
    head: seal::Head,
    /// The span (UTC day) of the newest check or heartbeat: a run of an earlier day can
    /// no longer change, so it is sealed.
    hour: Option<i64>,
    /// Per probe id, the longest time between two checks one run may span (see
    /// [`Store::set_run_gaps`]); a probe without one is never cut for a gap.
    run_gaps: Arc<HashMap<i64, i64>>,
}

/// The writer's state at start-up: the chain's head, the newest hour, and the runs
/// a previous writer left open (a crash) sealed, since this one never extends them.
fn start_state(conn: &mut Connection) -> rusqlite::Result<State> {
    let tx = conn.transaction()?;
    let mut head = seal::head(&tx)?;
    let strays = seal::seal_left_open(&tx, &mut head)?;
    if strays > 0 {
        tracing::warn!(
            runs = strays,
            "unsealed runs that cannot be open: inserted by hand? `slawatch verify` names them"
        );
    }
    let hour = seal::newest_hour(&tx)?;
    tx.commit()?;
    Ok(State {
        probe_ids: Arc::default(),
        open_runs: HashMap::new(),
        coverage: None,
        head,
        hour,
        run_gaps: Arc::default(),
    })
}

/// The writer thread's state.
struct Writer {
    conn: Connection,
    path: PathBuf,
    state: State,
    stats: Arc<WriterStats>,
}

fn ms(d: Option<Duration>) -> Option<i64> {
    d.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether SQLite refused the content of the batch (a constraint or a trigger's
/// `RAISE`): retrying the same batch cannot help, one message of it is the poison.
fn refused_content(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::ConstraintViolation | rusqlite::ErrorCode::TypeMismatch)
    )
}

impl Writer {
    /// The writer's loop. It sleeps (parked) until the next commit is due and then
    /// takes every queued message at once: a record arriving does not wake it, so a
    /// daemon's checks cost the writer one wake-up a second, not one each. The
    /// senders wake it early ([`Store::wake`]) for what must not wait: a flush, the
    /// end, or a queue of [`MAX_BATCH`] records.
    fn run(mut self, rx: &mpsc::Receiver<Msg>) {
        let mut pending: Vec<Msg> = Vec::new();
        let mut since_commit = Instant::now();
        loop {
            loop {
                match rx.try_recv() {
                    Ok(Msg::Flush(ack)) => {
                        self.stats.queued.fetch_sub(1, Ordering::Relaxed);
                        let result = self.write(&mut pending);
                        since_commit = Instant::now();
                        let _ = ack.send(result);
                    }
                    Ok(msg) => {
                        pending.push(msg);
                        if pending.len() >= MAX_BATCH {
                            break;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        // Dropped without `close`: seal the open runs too (a new writer
                        // never extends them). Counted as queued, as `send` would.
                        if !self.state.open_runs.is_empty() || self.state.coverage.is_some() {
                            self.stats.enqueue();
                            pending.push(Msg::SealOpen);
                        }
                        let _ = self.write(&mut pending);
                        return;
                    }
                }
            }
            if since_commit.elapsed() >= COMMIT_EVERY || pending.len() >= MAX_BATCH {
                let _ = self.write(&mut pending);
                since_commit = Instant::now();
                // What arrived during the commit is taken before sleeping again.
                continue;
            }
            // A wake-up given before this point is kept: park returns at once.
            std::thread::park_timeout(COMMIT_EVERY.saturating_sub(since_commit.elapsed()));
        }
    }

    /// Commits `pending` and empties it, whatever happens: retried with backoff, then
    /// isolated message by message when its content is refused, and what still fails
    /// is set aside. `Err` says what was set aside.
    fn write(&mut self, pending: &mut Vec<Msg>) -> Result<(), String> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut backoff = RETRY_BACKOFF;
        let mut error = None;
        let mut refused = false;
        for attempt in 1..=COMMIT_TRIES {
            match self.commit(pending) {
                Ok(()) => {
                    self.done(pending.len());
                    pending.clear();
                    return Ok(());
                }
                Err(e) => {
                    self.stats.commit_failures.fetch_add(1, Ordering::Relaxed);
                    refused = refused_content(&e);
                    tracing::warn!(
                        database = %self.path.display(),
                        attempt,
                        of = COMMIT_TRIES,
                        records = pending.len(),
                        error = %e,
                        "commit failed"
                    );
                    error = Some(e);
                    if refused {
                        break;
                    }
                    if attempt < COMMIT_TRIES {
                        std::thread::sleep(backoff);
                        backoff = backoff.saturating_mul(2);
                    }
                }
            }
        }
        let error = error.map_or_else(String::new, |e| e.to_string());
        let batch = std::mem::take(pending);
        if batch.len() == 1 || !refused {
            let n = batch.len();
            self.set_aside(&batch, &error);
            return Err(format!(
                "{n} record(s) could not be committed ({error}); set aside in {}",
                set_aside_path(&self.path).display()
            ));
        }
        // One message is the poison: commit them one by one, set aside what fails.
        let mut failed = 0;
        for msg in batch {
            let one = std::slice::from_ref(&msg);
            match self.commit(one) {
                Ok(()) => self.done(1),
                Err(e) => {
                    self.stats.commit_failures.fetch_add(1, Ordering::Relaxed);
                    failed += 1;
                    self.set_aside(one, &e.to_string());
                }
            }
        }
        if failed == 0 {
            Ok(())
        } else {
            Err(format!(
                "{failed} record(s) refused by the database; set aside in {}",
                set_aside_path(&self.path).display()
            ))
        }
    }

    fn done(&self, records: usize) {
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats.queued.fetch_sub(records, Ordering::Relaxed);
    }

    /// Appends `batch` to the set-aside file, logs it and counts it. If even the file
    /// cannot be written, the log line carries the records.
    fn set_aside(&self, batch: &[Msg], error: &str) {
        let file = set_aside_path(&self.path);
        self.stats.set_aside_batches.fetch_add(1, Ordering::Relaxed);
        let n = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        self.stats
            .set_aside_messages
            .fetch_add(n, Ordering::Relaxed);
        self.stats.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        let mut lines = String::new();
        for msg in batch {
            let line = serde_json::json!({
                "error": error,
                "kind": msg.kind(),
                "record": msg.to_json(),
            });
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .and_then(|mut f| {
                f.write_all(lines.as_bytes())?;
                f.sync_data()
            });
        match written {
            Ok(()) => tracing::error!(
                database = %self.path.display(),
                file = %file.display(),
                records = batch.len(),
                kinds = %kinds(batch),
                error,
                "records could not be committed; set aside"
            ),
            Err(e) => tracing::error!(
                database = %self.path.display(),
                file = %file.display(),
                file_error = %e,
                error,
                records = %lines,
                "records could not be committed nor set aside; here they are"
            ),
        }
    }

    /// Writes `batch` in one `BEGIN IMMEDIATE` transaction; on failure the writer's
    /// state is as before.
    fn commit(&mut self, batch: &[Msg]) -> Result<(), rusqlite::Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Row ids handed out inside a transaction that rolls back must be forgotten.
        let saved = self.state.clone();
        let result = (|| {
            for msg in batch {
                apply(&tx, &mut self.state, msg)?;
            }
            Ok::<(), rusqlite::Error>(())
        })();
        match result.and_then(|()| tx.commit()) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.state = saved;
                Err(e)
            }
        }
    }
}

/// "3 check, 1 heartbeat": what a batch held, for a log line.
fn kinds(batch: &[Msg]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for msg in batch {
        match counts.iter_mut().find(|(k, _)| *k == msg.kind()) {
            Some((_, n)) => *n += 1,
            None => counts.push((msg.kind(), 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The id of probe `name`, registering it (kind unknown) when first seen.
fn probe_id(
    tx: &rusqlite::Transaction<'_>,
    ids: &mut Arc<HashMap<String, i64>>,
    name: &str,
    kind: Option<&str>,
) -> rusqlite::Result<i64> {
    if let Some(id) = ids.get(name) {
        if let Some(kind) = kind {
            tx.prepare_cached("UPDATE probes SET kind = ?2 WHERE id = ?1")?
                .execute(params![id, kind])?;
        }
        return Ok(*id);
    }
    tx.prepare_cached(
        "INSERT INTO probes (name, kind) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET kind = coalesce(?3, kind)",
    )?
    .execute(params![name, kind.unwrap_or("unknown"), kind])?;
    let id: i64 = tx
        .prepare_cached("SELECT id FROM probes WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?;
    Arc::make_mut(ids).insert(name.to_owned(), id);
    Ok(id)
}

/// Seals the open run of `probe`, if any, and forgets it: it will not change again.
fn close_run(
    tx: &rusqlite::Transaction<'_>,
    state: &mut State,
    probe: i64,
) -> rusqlite::Result<()> {
    if let Some(run) = state.open_runs.remove(&probe) {
        match seal::seal(tx, &mut state.head, seal::Table::Runs, run.row) {
            // Deleted by hand while open: `verify` cannot tell, nothing to seal.
            Err(rusqlite::Error::QueryReturnedNoRows) => {
                tracing::warn!(
                    row = run.row,
                    "an open run was deleted by hand before it was sealed"
                );
            }
            other => other?,
        }
    }
    Ok(())
}

/// Seals the coverage segment being extended, if any: it will not grow again.
fn close_coverage(tx: &rusqlite::Transaction<'_>, state: &mut State) -> rusqlite::Result<()> {
    if let Some(seg) = state.coverage.take() {
        match seal::seal(tx, &mut state.head, seal::Table::Coverage, seg.row) {
            Err(rusqlite::Error::QueryReturnedNoRows) => {
                tracing::warn!(
                    row = seg.row,
                    "an open coverage segment was deleted by hand before it was sealed"
                );
            }
            other => other?,
        }
    }
    Ok(())
}

/// Seals the open runs `which` selects, in row order (the chain's order must not
/// depend on a hash map's).
fn close_runs(
    tx: &rusqlite::Transaction<'_>,
    state: &mut State,
    which: impl Fn(&OpenRun) -> bool,
) -> rusqlite::Result<()> {
    let mut closing: Vec<(i64, i64)> = state
        .open_runs
        .iter()
        .filter(|(_, r)| which(r))
        .map(|(p, r)| (r.row, *p))
        .collect();
    closing.sort_unstable();
    for (_, probe) in closing {
        close_run(tx, state, probe)?;
    }
    Ok(())
}

/// Time moves on to `at`: runs of the hours before it can no longer grow.
fn sweep(tx: &rusqlite::Transaction<'_>, state: &mut State, at: UtcMillis) -> rusqlite::Result<()> {
    let hour = hour_of(at);
    if state.hour.is_none_or(|h| hour > h) {
        state.hour = Some(hour);
        close_runs(tx, state, |r| r.hour < hour)?;
    }
    Ok(())
}

/// Stores each goodwill offer once per scope (the same content is not stored
/// twice; `IS` compares absent values as equal), sealing every new row.
fn record_goodwill(
    tx: &rusqlite::Transaction<'_>,
    state: &mut State,
    offers: &[crate::config::Goodwill],
) -> rusqlite::Result<()> {
    let mut exists = tx.prepare_cached(
        "SELECT count(*) FROM goodwill WHERE scope = ?1 AND event = ?2 AND date = ?3
           AND announced IS ?4 AND extension_days IS ?5 AND amount IS ?6 AND upgrade IS ?7
           AND source IS ?8 AND note IS ?9",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO goodwill (scope, event, date, at, announced, extension_days, amount,
                               upgrade, source, note)
         VALUES (?1, ?2, ?3, ?10, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for g in offers {
        let at = crate::sla::period::midnight(g.date, &jiff::tz::TimeZone::UTC).unwrap_or(0);
        let scopes = g
            .contracts
            .iter()
            .map(|c| format!("contract:{c}"))
            .chain(g.plans.iter().map(|p| format!("plan:{p}")));
        for scope in scopes {
            let fields = params![
                scope,
                g.event,
                g.date.to_string(),
                g.announced.map(|d| d.to_string()),
                g.extension_days,
                g.amount.map(|a| a.to_string()),
                g.upgrade,
                g.source,
                g.note,
            ];
            let n: i64 = exists.query_row(fields, |r| r.get(0))?;
            if n == 0 {
                let mut with_at: Vec<&dyn rusqlite::ToSql> = fields.to_vec();
                with_at.push(&at);
                insert.execute(with_at.as_slice())?;
                let row = tx.last_insert_rowid();
                seal::seal(tx, &mut state.head, seal::Table::Goodwill, row)?;
            }
        }
    }
    Ok(())
}

fn apply(tx: &rusqlite::Transaction<'_>, state: &mut State, msg: &Msg) -> rusqlite::Result<()> {
    match msg {
        Msg::Probes(list) => {
            for (name, kind) in list {
                probe_id(tx, &mut state.probe_ids, name, Some(kind))?;
            }
        }
        Msg::RunGaps(list) => {
            for (name, gap) in list {
                let id = probe_id(tx, &mut state.probe_ids, name, None)?;
                Arc::make_mut(&mut state.run_gaps).insert(id, *gap);
            }
        }
        Msg::Maintenance(windows) => {
            let mut insert = tx.prepare_cached(
                "INSERT INTO maintenance (scope, start, end, announced_at, note)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, start, end) DO NOTHING",
            )?;
            for w in windows {
                let scopes = w
                    .contracts
                    .iter()
                    .map(|c| format!("contract:{c}"))
                    .chain(w.probes.iter().map(|p| format!("probe:{p}")));
                for scope in scopes {
                    let added = insert.execute(params![
                        scope,
                        w.start.0,
                        w.end.0,
                        w.announced_at.map(|a| a.0),
                        w.note
                    ])?;
                    if added == 1 {
                        let row = tx.last_insert_rowid();
                        seal::seal(tx, &mut state.head, seal::Table::Maintenance, row)?;
                    }
                }
            }
        }
        Msg::Goodwill(offers) => record_goodwill(tx, state, offers)?,
        Msg::Check(check) => {
            let id = probe_id(tx, &mut state.probe_ids, &check.probe, None)?;
            sweep(tx, state, check.started_at)?;
            write_check(tx, state, id, check)?;
        }
        Msg::Outage(event) => {
            let o = match event.as_ref() {
                Event::Opened(o) | Event::Closed(o) => o,
            };
            let id = probe_id(tx, &mut state.probe_ids, &o.probe, None)?;
            let written = tx
                .prepare_cached(
                    "INSERT INTO outages (probe_id, start, end, last_failure, last_success_before,
                                      class, detail, failed_checks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (probe_id, start) DO UPDATE SET
                    end = excluded.end, last_failure = excluded.last_failure,
                    failed_checks = excluded.failed_checks
                 WHERE outages.end IS NULL",
                )?
                .execute(params![
                    id,
                    o.start.0,
                    o.end.map(|e| e.0),
                    o.last_failure.0,
                    o.last_success_before.map(|s| s.0),
                    o.class.as_str(),
                    o.detail,
                    o.failed_checks,
                ])?;
            // Each state is sealed as written (open, then closed); a closed outage
            // is never written again (the upsert leaves it, the trigger refuses).
            if written == 1 {
                let row: i64 = tx
                    .prepare_cached("SELECT id FROM outages WHERE probe_id = ?1 AND start = ?2")?
                    .query_row(params![id, o.start.0], |r| r.get(0))?;
                seal::seal(tx, &mut state.head, seal::Table::Outages, row)?;
            }
        }
        Msg::Alert(a) => alert::write_alert(tx, &mut state.head, a)?,
        Msg::AlertAttempt(a) => alert::write_attempt(tx, &mut state.head, a)?,
        Msg::Heartbeat(vantage, at) => {
            sweep(tx, state, *at)?;
            let day = hour_of(*at);
            let start = match state.coverage {
                Some(seg) if at.0 >= seg.end.0 && at.0 - seg.end.0 <= COVERAGE_GAP_MS => {
                    if seg.day == day {
                        tx.prepare_cached("UPDATE coverage SET end = ?2 WHERE id = ?1")?
                            .execute(params![seg.row, at.0])?;
                        state.coverage = Some(OpenSegment { end: *at, ..seg });
                        return Ok(());
                    }
                    // A new UTC day: the segment is sealed as it is, and the next
                    // one starts where it ended, so no time between is lost.
                    seg.end
                }
                _ => *at,
            };
            close_coverage(tx, state)?;
            tx.prepare_cached("INSERT INTO coverage (vantage, start, end) VALUES (?1, ?2, ?3)")?
                .execute(params![vantage, start.0, at.0])?;
            state.coverage = Some(OpenSegment {
                row: tx.last_insert_rowid(),
                end: *at,
                day,
            });
        }
        Msg::Prune { now, retention_ms } => {
            // An open run may be among what is pruned: seal every one first (none
            // is updated after a prune), then record the event and delete.
            close_runs(tx, state, |_| true)?;
            seal::prune(tx, &mut state.head, *now, *retention_ms)?;
        }
        Msg::SealOpen => {
            close_runs(tx, state, |_| true)?;
            close_coverage(tx, state)?;
        }
        // Records were dropped after what came before: the segment ends here, and
        // the next heartbeat starts a new one (the time between is no data).
        Msg::Gap => close_coverage(tx, state)?,
        Msg::Flush(_) => {}
    }
    Ok(())
}

fn write_check(
    tx: &rusqlite::Transaction<'_>,
    state: &mut State,
    probe: i64,
    check: &Check,
) -> rusqlite::Result<()> {
    let total = ms(check.phases.total);
    if check.status == Status::Down {
        close_run(tx, state, probe)?;
        let p = &check.phases;
        tx.prepare_cached(
            "INSERT INTO failures (probe_id, at, class, detail, resolve_ms, connect_ms, tls_ms,
                                   first_byte_ms, login_ms, total_ms, cert_not_after)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            probe,
            check.started_at.0,
            check.class.unwrap_or(ErrorClass::Unknown).as_str(),
            check.detail,
            ms(p.resolve),
            ms(p.connect),
            ms(p.tls),
            ms(p.first_byte),
            ms(p.login),
            total,
            check.cert_not_after.map(|c| c.0),
        ])?;
        let row = tx.last_insert_rowid();
        return seal::seal(tx, &mut state.head, seal::Table::Failures, row);
    }
    let hour = hour_of(check.started_at);
    let gap_ok = |run: &OpenRun| {
        state
            .run_gaps
            .get(&probe)
            .is_none_or(|gap| check.started_at.0.saturating_sub(run.last_at) <= *gap)
    };
    if let Some(run) = state.open_runs.get(&probe)
        && run.status == check.status
        && run.class == check.class
        && run.hour == hour
        && gap_ok(run)
    {
        let changed = tx
            .prepare_cached(
                "UPDATE runs SET last_at = ?2, count = count + 1,
                    lat_min_ms = min(coalesce(lat_min_ms, ?3), coalesce(?3, lat_min_ms)),
                    lat_max_ms = max(coalesce(lat_max_ms, ?3), coalesce(?3, lat_max_ms)),
                    lat_sum_ms = lat_sum_ms + coalesce(?3, 0)
                 WHERE id = ?1",
            )?
            .execute(params![run.row, check.started_at.0, total])?;
        if changed == 1 {
            if let Some(run) = state.open_runs.get_mut(&probe) {
                run.last_at = run.last_at.max(check.started_at.0);
            }
            return Ok(());
        }
        // Its row is gone (deleted by hand): nothing left to seal.
        state.open_runs.remove(&probe);
    }
    close_run(tx, state, probe)?;
    tx.prepare_cached(
        "INSERT INTO runs (probe_id, status, class, first_at, last_at, count,
                           lat_min_ms, lat_sum_ms, lat_max_ms)
         VALUES (?1, ?2, ?3, ?4, ?4, 1, ?5, coalesce(?5, 0), ?5)",
    )?
    .execute(params![
        probe,
        check.status.as_str(),
        check.class.map(ErrorClass::as_str),
        check.started_at.0,
        total,
    ])?;
    let row = tx.last_insert_rowid();
    if state.hour.is_some_and(|h| hour < h) {
        // A late check of a day already over: its run can never grow.
        return seal::seal(tx, &mut state.head, seal::Table::Runs, row);
    }
    state.open_runs.insert(
        probe,
        OpenRun {
            row,
            status: check.status,
            class: check.class,
            hour,
            last_at: check.started_at.0,
        },
    );
    Ok(())
}

/// The span ([`RUN_SPAN_MS`], a UTC day) an instant falls in, counted from the epoch.
fn hour_of(at: UtcMillis) -> i64 {
    at.0.div_euclid(RUN_SPAN_MS)
}

/// A probe's state as the database knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeState {
    /// The probe.
    pub name: String,
    /// Its kind (`http`, `imap`, ...).
    pub kind: String,
    /// The open outage, if down.
    pub open_outage: Option<Outage>,
    /// The latest check: when, status and class.
    pub last_check: Option<(UtcMillis, Status, Option<ErrorClass>)>,
}

/// A coverage segment: the daemon ran and probed from `start` to `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The probing location.
    pub vantage: String,
    /// First heartbeat.
    pub start: UtcMillis,
    /// Last heartbeat.
    pub end: UtcMillis,
}

/// Counts of what the database holds, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Checks represented (runs' counts plus failed checks).
    pub checks: i64,
    /// Rows of `runs`.
    pub runs: i64,
    /// Rows of `failures`.
    pub failures: i64,
    /// Rows of `outages`.
    pub outages: i64,
}

/// Where manual evidence comes from; reports mark each incident with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncidentSource {
    /// Seen by the user (e.g. before monitoring began).
    #[default]
    Manual,
    /// Published on the provider's status page.
    StatusPage,
    /// The provider's own statement (a press release, a letter).
    Provider,
}

impl IncidentSource {
    /// The stable name: `manual`, `status-page`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentSource::Manual => "manual",
            IncidentSource::StatusPage => "status-page",
            IncidentSource::Provider => "provider",
        }
    }

    /// Parses [`IncidentSource::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(IncidentSource::Manual),
            "status-page" => Some(IncidentSource::StatusPage),
            "provider" => Some(IncidentSource::Provider),
            _ => None,
        }
    }
}

/// An outage entered by hand (`slawatch incident add`), or one record of its
/// history (an amendment or a withdrawal supersedes the record before it; see
/// [`effective_incidents`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incident {
    /// Row id (0 before it is stored).
    pub id: i64,
    /// The probe it concerns, if one.
    pub probe: Option<String>,
    /// The contract it concerns, if one.
    pub contract: Option<String>,
    /// Start (inclusive).
    pub start: UtcMillis,
    /// End (exclusive).
    pub end: UtcMillis,
    /// Who saw it.
    pub source: IncidentSource,
    /// Free text: what was seen, a link to the status page.
    pub note: String,
    /// When it was entered.
    pub created_at: UtcMillis,
    /// Cause tag (`force_majeure`, ...), matched against the plan's exclusions.
    pub cause: Option<String>,
    /// The record this one replaces (an amendment or a withdrawal).
    pub supersedes: Option<i64>,
    /// This record withdraws the one it supersedes: the incident no longer counts.
    pub withdrawn: bool,
    /// Why it was amended or withdrawn.
    pub reason: Option<String>,
    /// The zone its times were entered in (`Europe/Rome`, `+02:00`), to show them so.
    pub tz: Option<String>,
    /// Files kept as evidence: (file name, SHA-256 lower-case hex).
    pub attachments: Vec<(String, String)>,
    /// No end known yet: it counts until the report's period end or the report's
    /// time, whichever is first (`end` is then `start`).
    pub open: bool,
}

/// Stores a manual incident; safe while the daemon runs (SQLite serialises the
/// two writers; this waits up to a few seconds for the daemon's commit).
///
/// # Errors
/// When the database cannot be opened or written.
pub fn add_incident(path: &Path, incident: &Incident) -> Result<i64, StoreError> {
    let ids = add_incidents(
        path,
        &[NewIncident {
            incident: incident.clone(),
            sizes: Vec::new(),
        }],
    )?;
    Ok(ids.first().copied().unwrap_or(0))
}

/// How many prepared statements a [`Reader`] keeps (rusqlite's default is 16).
const READER_STATEMENTS: usize = 64;

/// How much of the database file a [`Reader`] maps into memory (address space,
/// not resident memory: pages come in as they are read).
const READER_MMAP_BYTES: i64 = 1 << 30;

/// A read-only view, safe to open while the daemon writes.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
    path: PathBuf,
}

fn outage_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Outage> {
    let class: String = r.get("class")?;
    Ok(Outage {
        probe: r.get("name")?,
        start: UtcMillis(r.get("start")?),
        end: r.get::<_, Option<i64>>("end")?.map(UtcMillis),
        last_failure: UtcMillis(r.get("last_failure")?),
        last_success_before: r
            .get::<_, Option<i64>>("last_success_before")?
            .map(UtcMillis),
        class: ErrorClass::parse(&class).unwrap_or(ErrorClass::Unknown),
        detail: r.get("detail")?,
        failed_checks: r.get("failed_checks")?,
    })
}

const OUTAGE_COLUMNS: &str = "p.name, o.start, o.end, o.last_failure, o.last_success_before,
                              o.class, o.detail, o.failed_checks";

/// One plan per statement whatever the values bound (SQLite's query planner
/// stability guarantee), on every connection a [`Reader`] reads through. Without it
/// SQLite re-prepared the statements that read a probe's runs on every new period or
/// probe bound: 38 % of a year of reports' build (BENCHMARKS.md). With it each is
/// prepared once.
pub(super) fn one_plan_per_statement(conn: &Connection) -> rusqlite::Result<bool> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
}

impl Reader {
    /// Opens an existing database read-only.
    ///
    /// # Errors
    /// When the file does not exist or is not a slawatch database.
    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql(path))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(path))?;
        // A report asks a dozen kinds of statement per contract (outages, check
        // spans, classes, digests, coverage...): keep every one prepared.
        conn.set_prepared_statement_cache_capacity(READER_STATEMENTS);
        one_plan_per_statement(&conn).map_err(sql(path))?;
        // Reads through a memory map instead of a copy per page (a year of reports
        // reads the same pages many times); WAL frames are still read as before.
        // A platform without mmap keeps reading: the pragma is a hint.
        conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)
            .map_err(sql(path))?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql(path))?;
        if version == 0 {
            return Err(StoreError::NotSlawatch(path.to_path_buf()));
        }
        Ok(Reader {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Outages matching `filter` (SQL over `o` and `p`), oldest first. An open
    /// outage's last failure and failed-check count are brought up to the failed
    /// checks stored since its row was written (the outage row is written when it
    /// opens and when it closes; the daemon may have recorded, or died after, more).
    fn query_outages(
        &self,
        filter: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Outage>, StoreError> {
        // Cached: a year of reports asks this once per contract, probe and month.
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {OUTAGE_COLUMNS},
                        CASE WHEN o.end IS NULL THEN
                          (SELECT max(f.at) FROM failures f
                            WHERE f.probe_id = o.probe_id AND f.at >= o.start) END AS latest,
                        CASE WHEN o.end IS NULL THEN
                          (SELECT count(*) FROM failures f
                            WHERE f.probe_id = o.probe_id AND f.at >= o.start) END AS failed
                 FROM outages o JOIN probes p ON p.id = o.probe_id
                 WHERE {filter} ORDER BY o.start, p.name"
            ))
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map(params, |r| {
                let mut o = outage_from_row(r)?;
                if let Some(latest) = r.get::<_, Option<i64>>("latest")? {
                    o.last_failure = o.last_failure.max(UtcMillis(latest));
                }
                if let Some(failed) = r.get::<_, Option<u32>>("failed")? {
                    o.failed_checks = o.failed_checks.max(failed);
                }
                Ok(o)
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// Outages still open or ending at or after `since` (all when `None`),
    /// optionally of one probe, oldest first.
    ///
    /// # Errors
    /// On a database error.
    pub fn outages(
        &self,
        since: Option<UtcMillis>,
        probe: Option<&str>,
    ) -> Result<Vec<Outage>, StoreError> {
        self.query_outages(
            "(o.end IS NULL OR o.end >= ?1) AND (?2 IS NULL OR p.name = ?2)",
            &[&since.map_or(i64::MIN, |s| s.0), &probe],
        )
    }

    /// The outages still open (see [`Reader::outages`] for their last failure).
    ///
    /// # Errors
    /// On a database error.
    pub fn open_outages(&self) -> Result<Vec<Outage>, StoreError> {
        self.query_outages("o.end IS NULL", &[])
    }

    /// Every known probe with its open outage and latest check, by name.
    ///
    /// # Errors
    /// On a database error.
    pub fn probe_states(&self) -> Result<Vec<ProbeState>, StoreError> {
        let open: HashMap<String, Outage> = self
            .open_outages()?
            .into_iter()
            .map(|o| (o.probe.clone(), o))
            .collect();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.name, p.kind,
                    (SELECT r.last_at FROM runs r WHERE r.probe_id = p.id
                      ORDER BY r.last_at DESC LIMIT 1) AS run_at,
                    (SELECT r.status FROM runs r WHERE r.probe_id = p.id
                      ORDER BY r.last_at DESC LIMIT 1) AS run_status,
                    (SELECT r.class FROM runs r WHERE r.probe_id = p.id
                      ORDER BY r.last_at DESC LIMIT 1) AS run_class,
                    (SELECT f.at FROM failures f WHERE f.probe_id = p.id
                      ORDER BY f.at DESC LIMIT 1) AS fail_at,
                    (SELECT f.class FROM failures f WHERE f.probe_id = p.id
                      ORDER BY f.at DESC LIMIT 1) AS fail_class
                 FROM probes p ORDER BY p.name",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                let name: String = r.get("name")?;
                let run_at: Option<i64> = r.get("run_at")?;
                let fail_at: Option<i64> = r.get("fail_at")?;
                let parse_class = |c: Option<String>| c.as_deref().and_then(ErrorClass::parse);
                let last_check = match (run_at, fail_at) {
                    (Some(ra), fa) if fa.is_none_or(|fa| ra >= fa) => {
                        let status: String = r.get("run_status")?;
                        Some((
                            UtcMillis(ra),
                            Status::parse(&status).unwrap_or(Status::Unknown),
                            parse_class(r.get("run_class")?),
                        ))
                    }
                    (_, Some(fa)) => Some((
                        UtcMillis(fa),
                        Status::Down,
                        parse_class(r.get("fail_class")?),
                    )),
                    _ => None,
                };
                Ok(ProbeState {
                    kind: r.get("kind")?,
                    open_outage: open.get(&name).cloned(),
                    name,
                    last_check,
                })
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// Coverage segments overlapping `[from, to)`, oldest first.
    ///
    /// # Errors
    /// On a database error.
    pub fn coverage(&self, from: UtcMillis, to: UtcMillis) -> Result<Vec<Coverage>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT vantage, start, end FROM coverage
                 WHERE end >= ?1 AND start < ?2 ORDER BY start",
            )
            .map_err(sql(&self.path))?;
        let rows = stmt
            .query_map([from.0, to.0], |r| {
                Ok(Coverage {
                    vantage: r.get(0)?,
                    start: UtcMillis(r.get(1)?),
                    end: UtcMillis(r.get(2)?),
                })
            })
            .map_err(sql(&self.path))?;
        rows.collect::<Result<_, _>>().map_err(sql(&self.path))
    }

    /// Every manual incident record, oldest first, superseded and withdrawn ones
    /// included ([`effective_incidents`] gives what counts).
    ///
    /// # Errors
    /// On a database error.
    pub fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        incident::read_all(&self.conn).map_err(sql(&self.path))
    }

    /// What the database holds.
    ///
    /// # Errors
    /// On a database error.
    pub fn counts(&self) -> Result<Counts, StoreError> {
        self.conn
            .query_row(
                "SELECT (SELECT coalesce(sum(count), 0) FROM runs)
                          + (SELECT count(*) FROM failures),
                        (SELECT count(*) FROM runs),
                        (SELECT count(*) FROM failures),
                        (SELECT count(*) FROM outages)",
                [],
                |r| {
                    Ok(Counts {
                        checks: r.get(0)?,
                        runs: r.get(1)?,
                        failures: r.get(2)?,
                        outages: r.get(3)?,
                    })
                },
            )
            .map_err(sql(&self.path))
    }

    /// The latest check time of `probe`, if any.
    ///
    /// # Errors
    /// On a database error.
    pub fn last_check_at(&self, probe: &str) -> Result<Option<UtcMillis>, StoreError> {
        self.conn
            .query_row(
                "SELECT max(
                    coalesce((SELECT max(r.last_at) FROM runs r WHERE r.probe_id = p.id), -1),
                    coalesce((SELECT max(f.at) FROM failures f WHERE f.probe_id = p.id), -1))
                 FROM probes p WHERE p.name = ?1",
                [probe],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|v| v.filter(|v| *v >= 0).map(UtcMillis))
            .map_err(sql(&self.path))
    }
}
