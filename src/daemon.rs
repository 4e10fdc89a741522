//! `slawatch run`: wires config, scheduler, probes, confirmation, store, metrics and
//! systemd together, and survives reloads and stops without losing data.
//!
//! Life cycle:
//! 1. load and validate the configuration (a bad one: exit status 2, nothing started);
//! 2. open the store, register the probes (all of them; only those this vantage
//!    runs, [`Config::runs_here`], are scheduled, on reloads too), resume the outages still open in the
//!    database (their probes start DOWN) and the delivery of the alerts still
//!    pending (`alert::deliver`: each alert is stored before it is sent, every
//!    attempt after it);
//! 3. start the scheduler, the metrics server (if configured) and the heartbeat;
//!    tell systemd READY;
//! 4. each check: metrics, store, confirmation state machine, outage rows;
//! 5. SIGHUP: reload. A bad file is logged and the old configuration keeps running;
//!    a good one restarts the scheduler with the new probes (the confirmation state
//!    of probes that still exist is kept);
//! 6. SIGTERM/SIGINT: stop scheduling, drain checks in flight (at most
//!    [`DRAIN_LIMIT`]), flush the store, exit 0.
//!
//! Coverage: a heartbeat every [`HEARTBEAT`] extends the current coverage segment in
//! the store, so the time the daemon was stopped, crashed or the machine was down
//! shows as a gap (no data).
//!
//! One daemon per database: before opening the store it takes `DATABASE.lock`
//! ([`crate::store::DbLock`]) and holds it until it exits; a second `run` exits 1
//! naming the holder.
//!
//! Health: with the heartbeat the daemon reports the store's progress to
//! [`crate::metrics::Health`], and pings the systemd watchdog only while checks
//! arrive from the scheduler and commits succeed within their bounds; `/healthz`
//! answers 503 with the reasons otherwise, or when records were set aside lately.
//! A store that cannot commit on a reload is logged, not fatal: the daemon goes on.

use crate::alert::Alerter;
use crate::alert::deliver::Queue;
use crate::alert::policy::Policy;
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::metrics::Metrics;
use crate::model::{Status, UtcMillis};
use crate::outage::{Confirmation, Event};
use crate::scheduler::{self, Runner, Scheduled, Stats};
use crate::store::{DbLock, Reader, Store, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the daemon records that it is alive and probing.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long a stop waits for alerts still being sent (each is stored; what is not
/// delivered yet is sent after the next start).
const ALERT_DRAIN: Duration = Duration::from_secs(5);

/// How long a stop or a reload waits for the checks in flight. Most checks end by
/// their timeout, well within it; a mail round trip can run for `max_delivery`, and
/// is abandoned (not recorded) rather than hold up a reload or outlast systemd's
/// `TimeoutStopSec`.
pub(crate) const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// How often checks older than `retention` are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Nothing is pruned this long after the daemon starts: a wrong clock or
/// configuration gets an hour to be seen before any evidence goes.
const PRUNE_GRACE: Duration = Duration::from_secs(3600);

/// How often a checkpoint is appended to `checkpoint_file` besides start and stop.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(86_400);

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration is invalid (exit status 2).
    #[error("{0}")]
    Config(#[from] config::ConfigErrors),
    /// The evidence database could not be opened or written.
    #[error("evidence store: {0}")]
    Store(#[from] StoreError),
    /// A signal handler, listener or the runtime failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// The wall clock, in one place for the daemon.
#[expect(
    clippy::disallowed_methods,
    reason = "the daemon stamps heartbeats and retention with the wall clock"
)]
pub fn now() -> UtcMillis {
    UtcMillis::from_timestamp(jiff::Timestamp::now())
}

/// Makes the runner for a configuration: the real probes in production, scripted
/// ones in tests.
pub(crate) type RunnerFactory = dyn Fn(Arc<Config>) -> Arc<dyn Runner> + Send + Sync;

/// Runs the daemon with the real probes until SIGTERM/SIGINT or `stop`.
///
/// # Errors
/// A bad configuration at start, a database that cannot be opened or written, or a
/// signal handler that cannot be installed.
pub(crate) async fn run(config_path: &Path, stop: CancellationToken) -> Result<(), DaemonError> {
    run_with(config_path, &|c| scheduler::live::live_runner(c), stop).await
}

/// [`run`] with another runner.
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    config_path: &Path,
    runner: &RunnerFactory,
    stop: CancellationToken,
) -> Result<(), DaemonError> {
    let mut config = Arc::new(config::load(config_path)?);
    let database = config.daemon.database.clone();
    let holder = format!(
        "pid {}, vantage {:?}, started {}, slawatch {}",
        std::process::id(),
        config.daemon.vantage,
        now(),
        env!("CARGO_PKG_VERSION")
    );
    // Held until this function returns: one daemon per database.
    let _lock = DbLock::acquire(&database, &holder).map_err(StoreError::from)?;
    let store = Store::open(&database)?.with_queue_patience(crate::store::QUEUE_PATIENCE);
    if let Err(e) = register(&store, &config) {
        // Set aside, not lost; the checks still go on being recorded.
        tracing::error!(error = %e, "registering the probes failed; going on");
    }
    let mut machines = resume(&database, &config)?;
    let metrics = Arc::new(Metrics::default());
    // One clock for the whole run (kept across reloads): stamps never go back.
    let clock = Arc::new(Clock::system());
    let set_aside_file = crate::store::set_aside_path(&database)
        .display()
        .to_string();
    let writer_stats = store.stats();
    let mut stalled = false;
    let mut policy = Policy::new(&config);
    let mut contract_watch = crate::alert::policy::contracts::Watch::default();
    let alerts_stop = CancellationToken::new();
    let (mut alerts, mut delivery) = Queue::start(
        Alerter::new(&config.alerts),
        Reader::open(&database)?.alerts(None)?,
        clock.clone(),
        metrics.clone(),
        alerts_stop.clone(),
    );
    for o in machines.values().filter_map(Confirmation::open_outage) {
        metrics.set_outage(&o.probe, true);
        tracing::warn!(probe = %o.probe, since = %o.start, "resuming an open outage");
    }
    // Issue 18: the sealed evidence ships to `[shared]` on its own task.
    let mut shipper = crate::shared::ship::Shipper::start(&config, metrics.clone());
    let metrics_stop = CancellationToken::new();
    if let Some(addr) = config.daemon.metrics_listen {
        let (m, c) = (metrics.clone(), metrics_stop.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::metrics::serve(addr, m, c).await {
                tracing::error!(%addr, error = %e, "metrics listener failed");
            }
        });
    }
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let started = tokio::time::Instant::now();
    let mut last_prune: Option<tokio::time::Instant> = None;
    write_checkpoint(&config, "start");
    let mut last_checkpoint = started;
    let mut reports = crate::report::auto::AutoReports::default();

    let result = loop {
        let vantage = config.daemon.vantage.clone();
        // Only the probes this vantage runs (`vantages` of a probe); the others are
        // other vantages' to check.
        let here = probes_here(&config);
        for p in &here {
            metrics.register(&p.name, p.spec.kind());
            machines
                .entry(p.name.clone())
                .and_modify(|m| m.set_thresholds(p.schedule.confirm_down, p.schedule.confirm_up))
                .or_insert_with(|| {
                    Confirmation::new(&p.name, p.schedule.confirm_down, p.schedule.confirm_up)
                });
        }
        let round = CancellationToken::new();
        let (tx, mut rx) = mpsc::channel::<Scheduled>(4096);
        let stats = Arc::new(Stats::default());
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let shards = scheduler::shards_for(&here, cores);
        // What the round needs of the list, taken before it moves to the scheduler:
        // with 100,000 probes a second copy of it was about 40 MiB.
        let (running, bound) = (here.len(), check_bound(&here));
        let sched = tokio::spawn(scheduler::run(
            here,
            runner(config.clone()),
            clock.clone(),
            config.daemon.concurrency,
            config.daemon.per_host_concurrency,
            tx,
            stats.clone(),
            round.clone(),
            shards,
        ));
        tracing::info!(
            probes = running,
            database = %database.display(),
            "probing: {}",
            config.summary()
        );
        tracing::info!(
            "{} of the {} configured probes run here (vantage '{vantage}'), on {shards} thread(s)",
            running,
            config.probes.len()
        );
        store.heartbeat(&vantage, clock.now())?;
        metrics.health.start(Instant::now(), bound, &set_aside_file);
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        let mut beat = tokio::time::interval(HEARTBEAT);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reload = loop {
            tokio::select! {
                Some(s) = rx.recv() => on_check(&store, &metrics, (&mut alerts, &mut policy), &vantage, &mut machines, s)?,
                Some(attempt) = delivery.attempts.recv() => store.record_alert_attempt(&attempt)?,
                _ = beat.tick() => {
                    let t = clock.now();
                    record_clock_steps(&database, &clock);
                    store.heartbeat(&vantage, t)?;
                    metrics.heartbeat_unix.store(u64::try_from(t.0 / 1000).unwrap_or(0), Ordering::Relaxed);
                    metrics.in_flight.store(u64::try_from(stats.in_flight.load(Ordering::Relaxed)).unwrap_or(0), Ordering::Relaxed);
                    metrics.writer_queue.store(u64::try_from(store.queue_len()).unwrap_or(u64::MAX), Ordering::Relaxed);
                    stalled = report_progress(&metrics, &writer_stats, stalled);
                    if prune_due(started, last_prune, tokio::time::Instant::now()) {
                        last_prune = Some(tokio::time::Instant::now());
                        store.prune(t, config.daemon.retention)?;
                    }
                    if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
                        last_checkpoint = tokio::time::Instant::now();
                        // The head of what is committed; a failed flush is the
                        // writer's to retry, not a reason to stop probing.
                        if let Err(e) = store.flush() {
                            tracing::warn!(error = %e, "flush before the daily checkpoint failed");
                        }
                        write_checkpoint(&config, "daily");
                    }
                    reports.tick(&config, t);
                    for alert in policy.tick(t) {
                        alerts.raise(&store, &alert, &vantage)?;
                    }
                    if let Some(facts) = contract_watch.tick(&config, t) {
                        for alert in policy.on_contracts(&facts, t) {
                            alerts.raise(&store, &alert, &vantage)?;
                        }
                    }
                }
                _ = hup.recv() => {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
                    match config::load(config_path) {
                        Ok(new) if new.daemon.database != database => {
                            tracing::error!(
                                "reload refused: [daemon] database changed from {} to {}; \
                                 restart slawatch to switch databases. The running configuration stays.",
                                database.display(), new.daemon.database.display()
                            );
                            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
                        }
                        Ok(new) => break Some(Arc::new(new)),
                        Err(errors) => {
                            tracing::error!("reload refused, the running configuration stays:\n{errors}");
                            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
                        }
                    }
                }
                _ = term.recv() => break None,
                _ = int.recv() => break None,
                () = stop.cancelled() => break None,
            }
        };
        // Stop scheduling and drain: checks in flight still arrive and are stored.
        round.cancel();
        let drained = tokio::time::timeout(DRAIN_LIMIT, async {
            while let Some(s) = rx.recv().await {
                on_check(
                    &store,
                    &metrics,
                    (&mut alerts, &mut policy),
                    &vantage,
                    &mut machines,
                    s,
                )?;
            }
            Ok::<(), StoreError>(())
        })
        .await;
        match drained {
            Ok(result) => result?,
            Err(_) => {
                let left = stats.in_flight.load(Ordering::Relaxed);
                tracing::warn!(
                    in_flight = left,
                    "{left} check(s) still running after {DRAIN_LIMIT:?}; abandoned, not recorded"
                );
                sched.abort();
            }
        }
        let _ = sched.await;
        match reload {
            Some(new) => {
                let names: Vec<String> = probes_here(&new).iter().map(|p| p.name.clone()).collect();
                machines.retain(|k, _| names.contains(k));
                metrics.retain(&names);
                if let Err(e) = register(&store, &new) {
                    // Set aside, not lost; the new configuration runs all the same.
                    tracing::error!(error = %e, "registering the reloaded probes failed; going on");
                }
                tracing::info!(path = %config_path.display(), "configuration reloaded");
                alerts.set_channels(Alerter::new(&new.alerts));
                policy.reconfigure(&new);
                if crate::shared::ship::Shipper::differs(shipper.as_ref(), &new) {
                    if let Some(old) = shipper.take() {
                        old.stop().await;
                    }
                    shipper = crate::shared::ship::Shipper::start(&new, metrics.clone());
                }
                config = new;
            }
            None => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
                // Alerts held for a digest are queued now (sent during the drain
                // below, or after the next start), not lost with the process.
                for alert in policy.flush(clock.now()) {
                    alerts.raise(&store, &alert, &config.daemon.vantage)?;
                }
                store.heartbeat(&config.daemon.vantage, clock.now())?;
                break Ok(());
            }
        }
    };
    metrics_stop.cancel();
    // Alerts being sent: give them a moment and store how they ended. What is not
    // delivered stays pending in the database and is sent after the next start.
    alerts_stop.cancel();
    if tokio::time::timeout(ALERT_DRAIN, &mut delivery.task)
        .await
        .is_err()
    {
        delivery.task.abort();
        tracing::warn!("alerts still sending after {ALERT_DRAIN:?}; abandoned, they stay pending");
    }
    while let Ok(attempt) = delivery.attempts.try_recv() {
        if let Err(e) = store.record_alert_attempt(&attempt) {
            tracing::error!(error = %e, "a delivery attempt could not be stored");
        }
    }
    match store.close() {
        Ok(()) => tracing::info!("stopped; every check is committed"),
        // Already set aside, logged and counted by the writer: the stop is clean.
        Err(e @ StoreError::Commit { .. }) => {
            tracing::error!(error = %e, "stopped; some records were set aside, not committed");
        }
        Err(e) => return Err(e.into()),
    }
    write_checkpoint(&config, "stop");
    // Last: the seals of the close above and the stop checkpoint ship too (bounded).
    if let Some(s) = shipper {
        s.stop().await;
    }
    result
}

/// Logs each step of the wall clock the daemon's clock saw and records it in the
/// store's `meta` as `clock_step:<instant stamps went on from>`, so a reader of the
/// evidence knows stamps around it may be off by that much. Never fatal.
fn record_clock_steps(database: &Path, clock: &Clock) {
    for step in clock.take_steps() {
        tracing::warn!(
            by_ms = step.by_ms,
            wall = %step.wall,
            stamps_from = %step.now,
            "the wall clock stepped {} by {} ms; check instants go on from {} and never go back",
            step.direction(),
            step.by_ms.abs(),
            step.now
        );
        let value = format!(
            "wall clock stepped {} by {} ms: expected {}, wall clock said {}, stamps went on from {}",
            step.direction(),
            step.by_ms.abs(),
            step.at,
            step.wall,
            step.now
        );
        if let Err(e) =
            crate::store::set_meta(database, &format!("clock_step:{}", step.now), &value)
        {
            tracing::error!(error = %e, "could not record the clock step in the store");
        }
    }
}

/// The probes this vantage runs ([`Config::runs_here`]): every probe unless its
/// `vantages` spreads it over other vantages.
fn probes_here(config: &Config) -> Vec<config::Probe> {
    config
        .probes
        .iter()
        .filter(|p| config.runs_here(p))
        .cloned()
        .collect()
}

/// The longest the scheduler may go without delivering a check before the daemon
/// counts as stalled: twice the shortest cycle of the probes run here (interval or
/// retry interval, whichever is longer, plus its timeout and a mail round trip's
/// `max_delivery`), plus 10 s of slack. `None` with no probe to run.
fn check_bound(probes: &[config::Probe]) -> Option<Duration> {
    probes
        .iter()
        .map(|p| {
            let s = &p.schedule;
            let delivery = match &p.spec {
                config::ProbeSpec::Mailflow(m) => m.max_delivery,
                _ => Duration::ZERO,
            };
            s.interval.max(s.retry_interval) + s.timeout + delivery
        })
        .min()
        .map(|cycle| cycle.saturating_mul(2) + Duration::from_secs(10))
}

/// Hands the store's counters to the metrics and pings the watchdog if the daemon
/// makes progress. Returns whether it is stalled now (logged when it changes).
fn report_progress(
    metrics: &Metrics,
    stats: &crate::store::WriterStats,
    was_stalled: bool,
) -> bool {
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let set_aside = load(&stats.set_aside_batches);
    metrics
        .health
        .writer(Instant::now(), load(&stats.commits), set_aside);
    metrics
        .store_commit_failures
        .store(load(&stats.commit_failures), Ordering::Relaxed);
    metrics
        .store_set_aside_batches
        .store(set_aside, Ordering::Relaxed);
    metrics
        .store_set_aside_records
        .store(load(&stats.set_aside_messages), Ordering::Relaxed);
    metrics
        .store_dropped
        .store(load(&stats.dropped), Ordering::Relaxed);
    metrics.writer_queue_max.store(
        u64::try_from(stats.queued_max.load(Ordering::Relaxed)).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    let verdict = metrics.health.verdict(Instant::now());
    if verdict.stalled.is_empty() {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
        if was_stalled {
            tracing::info!("progress again; pinging the watchdog");
        }
        false
    } else {
        if !was_stalled {
            tracing::error!(
                "stalled, not pinging the systemd watchdog (it restarts the daemon): {}",
                verdict.stalled.join("; ")
            );
        }
        true
    }
}

/// Whether retention runs now: never in the first [`PRUNE_GRACE`] after start,
/// then every [`PRUNE_EVERY`].
fn prune_due(
    started: tokio::time::Instant,
    last: Option<tokio::time::Instant>,
    now: tokio::time::Instant,
) -> bool {
    now.duration_since(started) >= PRUNE_GRACE
        && last.is_none_or(|l| now.duration_since(l) >= PRUNE_EVERY)
}

/// Appends the chain head to `[daemon] checkpoint_file`, if set (see
/// `crate::checkpoint`). A failure is logged, never fatal: the evidence matters more.
fn write_checkpoint(config: &Config, event: &str) {
    let Some(file) = &config.daemon.checkpoint_file else {
        return;
    };
    let head = Reader::open(&config.daemon.database).and_then(|r| r.chain_head());
    let result = match head {
        Ok(head) => crate::checkpoint::append(file, now(), event, &config.daemon.vantage, head)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::error!(file = %file.display(), error = %e, "cannot append the chain checkpoint");
    }
}

fn register(store: &Store, config: &Config) -> Result<(), StoreError> {
    let probes: Vec<(String, String)> = config
        .probes
        .iter()
        .map(|p| (p.name.clone(), p.spec.kind().to_owned()))
        .collect();
    store.register_probes(&probes)?;
    let gaps: Vec<(String, i64)> = config
        .probes
        .iter()
        .map(|p| (p.name.clone(), crate::report::allowance_ms(p)))
        .collect();
    store.set_run_gaps(&gaps)?;
    store.record_maintenance(&config.maintenance)?;
    store.record_goodwill(&config.goodwill)?;
    store.flush()
}

/// The confirmation machines of the outages left open in the database.
fn resume(database: &Path, config: &Config) -> Result<HashMap<String, Confirmation>, StoreError> {
    let reader = Reader::open(database)?;
    let mut machines = HashMap::new();
    for o in reader.open_outages()? {
        let (down, up) = config
            .probe(&o.probe)
            .map_or((2, 1), |p| (p.schedule.confirm_down, p.schedule.confirm_up));
        machines.insert(o.probe.clone(), Confirmation::resume(o, down, up));
    }
    Ok(machines)
}

fn on_check(
    store: &Store,
    metrics: &Metrics,
    (alerts, policy): (&mut Queue, &mut Policy),
    vantage: &str,
    machines: &mut HashMap<String, Confirmation>,
    s: Scheduled,
) -> Result<(), StoreError> {
    metrics.observe(&s.check, s.lag);
    if s.panicked {
        metrics.check_panics.fetch_add(1, Ordering::Relaxed);
    }
    if s.late {
        metrics.checks_late.fetch_add(1, Ordering::Relaxed);
    }
    metrics.health.check_arrived(Instant::now());
    if s.check.status != Status::Up {
        tracing::debug!(probe = %s.check.probe, status = %s.check.status, class = ?s.check.class, detail = %s.check.detail, "check failed");
    }
    store.record_check(&s.check)?;
    let now = crate::probe::net::wall_clock_now();
    for alert in policy.on_check(&s.check, s.offline, now) {
        alerts.raise(store, &alert, vantage)?;
    }
    let Some(machine) = machines.get_mut(&s.check.probe) else {
        return Ok(());
    };
    if let Some(event) = machine.observe(&s.check) {
        match &event {
            Event::Opened(o) => {
                tracing::warn!(probe = %o.probe, since = %o.start, class = %o.class, detail = %o.detail, "DOWN");
                metrics.set_outage(&o.probe, true);
            }
            Event::Closed(o) => {
                tracing::info!(probe = %o.probe, since = %o.start, until = ?o.end.map(|e| e.to_string()), "UP again");
                metrics.set_outage(&o.probe, false);
            }
        }
        store.record_outage(&event)?;
        for alert in policy.on_event(&event, now) {
            alerts.raise(store, &alert, vantage)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_pruned_in_the_first_hour_then_hourly() {
        let start = tokio::time::Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        assert!(!prune_due(start, None, start));
        assert!(!prune_due(start, None, at(3599)));
        assert!(prune_due(start, None, at(3600)));
        assert!(!prune_due(start, Some(at(3600)), at(7199)));
        assert!(prune_due(start, Some(at(3600)), at(7200)));
    }
}
