//! When each probe runs: spread over its interval, re-checked soon after a failure,
//! limited globally and per host, and never charged for slawatch's own outages.
//!
//! Each probe has a fixed grid: `base + offset + k × interval`, where `offset` is a
//! hash of the probe's name modulo the interval. Checks are due on that grid, so there
//! is no thundering herd at :00 and no drift however long a process runs (the next
//! due time is computed from the grid, never by adding the interval to "now"). A grid
//! point missed because a check ran long is skipped, not run late in a burst. After a
//! failed check the next one is due `retry_interval` after the failed one started
//! (start to start, so a slow failure does not stretch the retries and an outage's
//! end is seen within one `retry_interval` of the recovery), off the grid, until a
//! check succeeds again.
//!
//! Offsets are whole multiples of [`SPREAD_STEP`] (100 ms): the probes whose grid
//! points fall in the same step start together, on one wake-up of the thread instead of
//! one each. Measured on HTTP checks at 100 a second (BENCHMARKS.md), that batching is
//! about 40 % of the daemon's CPU per check; it costs nothing in lag (a check is due on
//! its step, and starts on it) and keeps the spread: a 60 s interval still has 600
//! distinct starting points.
//!
//! The probe loops run on [`shards_for`] threads, each a single-threaded tokio runtime
//! (the daemon's own thread is the first): a check's timer, its task, its sockets and
//! the loop that hands it on stay on one thread, with no wake-up of another thread per
//! check. One thread carries about a hundred thousand plain checks a minute; a bigger
//! load (by [`check_cost`]) gets more threads, up to the machine's cores.
//!
//! The scheduler does not probe by itself: it calls a [`Runner`], so the daemon plugs
//! in the real probes ([`live::live_runner`]) and the tests a scripted one.
//!
//! Every check is stamped with the daemon's [`Clock`] when it starts, so check
//! instants never go backwards within a run, whatever the wall clock does.
//!
//! A check that panics (a bug in slawatch, never the provider's fault) becomes an
//! `unknown` check of its probe, with class `unknown`: its time is no data. The
//! panic is logged with the probe's name, counted ([`Stats::panics`], the metric
//! `slawatch_check_panics_total`), and the probe's loop goes on at its next due time
//! as after any check. Each check runs in its own task, so a panic unwinds only
//! that task; the task is aborted if the loop is dropped.

pub mod live;

use crate::clock::Clock;
use crate::config::{Probe, Schedule};
use crate::model::{Check, ErrorClass, Phases, Status};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A boxed future, as returned by [`Runner`] methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the scheduler calls to check a probe and to ask whether this machine is on line.
pub trait Runner: Send + Sync + 'static {
    /// Runs one check of `probe`. Never fails: failure is a `Check`.
    fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check>;

    /// Whether this machine is on line right now (some `[[control]]` target answers).
    /// With no control targets configured, always true.
    fn online(&self) -> BoxFuture<'static, bool>;
}

/// A check as the scheduler hands it on.
#[derive(Debug, Clone)]
pub(crate) struct Scheduled {
    /// The check; `Unknown` when it failed while the machine was off line.
    pub check: Check,
    /// How late the check started relative to when it was due.
    pub lag: Duration,
    /// The runner panicked: the check is slawatch's `unknown`, not the probe's.
    pub panicked: bool,
    /// The check failed while every `[[control]]` target failed: this machine is off
    /// line (the check is `unknown`). The alert policy raises one alert for that.
    pub offline: bool,
    /// The check started more than its probe's interval after it was due (waiting
    /// for a slot of the concurrency limits): a grid point's worth of time went
    /// unmeasured. Counted by the metric `slawatch_checks_late_total`.
    pub late: bool,
}

/// Counters the daemon exports as metrics.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Checks running now.
    pub in_flight: AtomicUsize,
    /// Checks finished since start.
    pub completed: AtomicUsize,
    /// Largest lag seen in the last reported window, in microseconds.
    pub max_lag_us: AtomicI64,
    /// Checks whose runner panicked since start (each became an `unknown` check).
    pub panics: AtomicUsize,
}

/// Deterministic spread: where in its interval a probe's grid starts.
///
/// FNV-1a of the name, mixed, modulo the interval in milliseconds: stable across restarts
/// and machines, so the same probe is always checked at the same second.
pub(crate) fn offset(name: &str, interval: Duration) -> Duration {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's low bits barely change between names like "p1" and "p2": finish with
    // splitmix64's mixer so offsets are spread evenly.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let ms = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let step = u64::try_from(SPREAD_STEP.as_millis())
        .unwrap_or(1)
        .clamp(1, ms);
    Duration::from_millis(h % ms / step * step)
}

/// The granularity of the spread: every probe's offset is a whole multiple of it, so
/// the probes due in the same step start on one wake-up (see the module's doc).
pub(crate) const SPREAD_STEP: Duration = Duration::from_millis(100);

/// What a check of `spec` costs the daemon, in plain checks (a TCP connect, a DNS
/// query, an HTTP request): a TLS handshake about four, a mail round trip about
/// twenty. Measured per kind by `cargo bench --bench blackbox` (BENCHMARKS.md); used
/// only to decide how many threads the probe loops get.
pub(crate) fn check_cost(spec: &crate::config::ProbeSpec) -> u64 {
    use crate::config::ProbeSpec;
    match spec {
        ProbeSpec::Mailflow(_) => 20,
        ProbeSpec::Imap(_) | ProbeSpec::Pop3(_) | ProbeSpec::Smtp(_) => 4,
        // HTTPS and TCP with TLS: the probes that check a certificate.
        ProbeSpec::Http(_) | ProbeSpec::Tcp(_) if spec.cert_expiry_warn().is_some() => 4,
        ProbeSpec::Http(_) | ProbeSpec::Tcp(_) | ProbeSpec::Dns(_) => 1,
    }
}

/// The load one thread of probe loops is given, in plain checks a second
/// ([`check_cost`]): about a fifth of a core at the daemon's measured cost (about
/// 85 µs of CPU per plain check's worth at 100,000 probes, BENCHMARKS.md), leaving
/// room for bursts, retries and the daemon's own loop on the first thread.
const SHARD_LOAD: u64 = 2_000;

/// How many threads run the probe loops: one per [`SHARD_LOAD`] of expected load
/// (every probe checked once per interval, weighted by [`check_cost`]), at least one,
/// at most `cores`.
pub(crate) fn shards_for(probes: &[Probe], cores: usize) -> usize {
    // In thousandths of a plain check a second, so short intervals add up exactly.
    let load_milli: u128 = probes
        .iter()
        .map(|p| {
            let interval_ms = p.schedule.interval.as_millis().max(1);
            u128::from(check_cost(&p.spec)) * 1_000_000 / interval_ms
        })
        .sum();
    let wanted = load_milli.div_ceil(u128::from(SHARD_LOAD) * 1_000).max(1);
    usize::try_from(wanted)
        .unwrap_or(usize::MAX)
        .clamp(1, cores.max(1))
}

/// The first grid point `base + offset + k × interval` that is not before `now`.
pub(crate) fn next_on_grid(
    base: Instant,
    offset: Duration,
    interval: Duration,
    now: Instant,
) -> Instant {
    let first = base + offset;
    if now <= first {
        return first;
    }
    let since = now - first;
    let interval_ns = interval.as_nanos().max(1);
    let k = since.as_nanos().div_ceil(interval_ns);
    let ns = u64::try_from(k * interval_ns).unwrap_or(u64::MAX);
    first + Duration::from_nanos(ns)
}

/// Limits: checks in flight overall and per host.
#[derive(Debug)]
struct Limits {
    global: Arc<Semaphore>,
    per_host: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
    per_host_max: usize,
}

impl Limits {
    fn host(&self, host: &str) -> Arc<Semaphore> {
        let mut map = self
            .per_host
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host_max)))
            .clone()
    }
}

/// Runs every probe on its schedule until cancelled, sending each result to `out`.
///
/// On cancellation no new check starts; checks in flight finish (each is bounded by
/// its own timeout) and are still sent, then this returns. Each check's `started_at`
/// is `clock`'s instant when it started.
#[expect(
    clippy::too_many_arguments,
    reason = "the daemon's wiring: each argument is a separate piece it owns"
)]
pub(crate) async fn run(
    probes: Vec<Probe>,
    runner: Arc<dyn Runner>,
    clock: Arc<Clock>,
    concurrency: u32,
    per_host_concurrency: u32,
    out: mpsc::Sender<Scheduled>,
    stats: Arc<Stats>,
    cancel: CancellationToken,
    shards: usize,
) {
    let shared = Shared {
        base: Instant::now(),
        runner,
        clock,
        limits: Arc::new(Limits {
            global: Arc::new(Semaphore::new(
                usize::try_from(concurrency).unwrap_or(1).max(1),
            )),
            per_host: std::sync::Mutex::new(HashMap::new()),
            per_host_max: usize::try_from(per_host_concurrency).unwrap_or(1).max(1),
        }),
        out,
        stats,
        cancel,
    };
    // Probe i goes to shard i mod n: each thread gets an even share of every kind.
    let n = shards.max(1);
    let mut shares: Vec<Vec<Probe>> = (0..n).map(|_| Vec::new()).collect();
    for (i, probe) in probes.into_iter().enumerate() {
        shares[i % n].push(probe);
    }
    let mine = shares.remove(0);
    // Dropped (this future ended or was aborted): the other shards stop too, their
    // checks in flight aborted, as this shard's are when its `JoinSet` drops.
    let abort = CancellationToken::new();
    let _abort_others = abort.clone().drop_guard();
    let mut others = Vec::new();
    let mut fallback = Vec::new();
    for (i, share) in shares.into_iter().enumerate() {
        if share.is_empty() {
            continue;
        }
        match spawn_shard(i + 1, share, shared.clone(), abort.clone()) {
            Ok(done) => others.push(done),
            Err((e, share)) => {
                // Never a probe lost: its loops run on this thread instead.
                tracing::error!(error = %e, "could not start a probing thread; its probes run on the daemon's thread");
                fallback.extend(share);
            }
        }
    }
    run_shard(mine.into_iter().chain(fallback).collect(), shared).await;
    for done in others {
        let _ = done.await;
    }
}

/// What every probe loop of a round shares, whichever thread it runs on.
#[derive(Clone)]
struct Shared {
    base: Instant,
    runner: Arc<dyn Runner>,
    clock: Arc<Clock>,
    limits: Arc<Limits>,
    out: mpsc::Sender<Scheduled>,
    stats: Arc<Stats>,
    cancel: CancellationToken,
}

/// One shard: the loops of `probes`, on the current thread's runtime, until cancelled.
async fn run_shard(probes: Vec<Probe>, shared: Shared) {
    let mut tasks = JoinSet::new();
    for probe in probes {
        tasks.spawn(probe_loop(Arc::new(probe), shared.clone()));
    }
    drop(shared);
    while tasks.join_next().await.is_some() {}
}

/// Starts shard `i` on a thread of its own with a single-threaded runtime; the
/// receiver completes when the shard has ended. On failure, the probes back.
fn spawn_shard(
    i: usize,
    probes: Vec<Probe>,
    shared: Shared,
    abort: CancellationToken,
) -> Result<tokio::sync::oneshot::Receiver<()>, (std::io::Error, Vec<Probe>)> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Err((e, probes)),
    };
    let (done, ended) = tokio::sync::oneshot::channel();
    // The probes are handed over once the thread exists, so a failed spawn keeps them.
    let (give, take) = std::sync::mpsc::channel::<Vec<Probe>>();
    let spawned = std::thread::Builder::new()
        .name(format!("slawatch-probe-{i}"))
        .spawn(move || {
            let probes = take.recv().unwrap_or_default();
            runtime.block_on(async {
                tokio::select! {
                    () = run_shard(probes, shared) => {}
                    () = abort.cancelled() => {}
                }
            });
            let _ = done.send(());
        });
    match spawned {
        Ok(_) => {
            // The thread holds the receiver until it has taken them: never refused.
            let _ = give.send(probes);
            Ok(ended)
        }
        Err(e) => Err((e, probes)),
    }
}

/// One probe's loop, for the whole round.
async fn probe_loop(probe: Arc<Probe>, shared: Shared) {
    let Shared {
        base,
        runner,
        clock,
        limits,
        out,
        stats,
        cancel,
    } = shared;
    let Schedule {
        interval,
        retry_interval,
        ..
    } = probe.schedule;
    let offset = offset(&probe.name, interval);
    let host_limit = probe.spec.host().map(|h| limits.host(h));
    let mut due = next_on_grid(base, offset, interval, Instant::now());
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep_until(due) => {}
        }
        // Wait for a slot; cancellation while waiting starts nothing.
        let permits = tokio::select! {
            () = cancel.cancelled() => return,
            p = acquire(&limits.global, host_limit.as_ref()) => p,
        };
        let Some(_permits) = permits else { return };
        let started = Instant::now();
        let started_at = clock.now();
        let lag = started.saturating_duration_since(due);
        stats.in_flight.fetch_add(1, Ordering::Relaxed);
        let mut offline = false;
        let (mut check, mut panicked) = match guarded(|| runner.check(probe.clone())).await {
            Ok(check) => (check, false),
            Err(message) => {
                stats.panics.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    probe = %probe.name,
                    panic = %message,
                    "the check panicked (a bug in slawatch): recorded as unknown, the probe goes on"
                );
                (panicked_check(&probe.name, started.elapsed()), true)
            }
        };
        // One clock for every check: instants never go backwards within a run.
        check.started_at = started_at;
        if check.status == Status::Down {
            match guarded(|| runner.online()).await {
                Ok(true) => {}
                Ok(false) => {
                    // slawatch's own connectivity failed, not the provider: no data.
                    offline = true;
                    check.status = Status::Unknown;
                    check.class = Some(ErrorClass::Unknown);
                    check.detail = format!(
                        "machine off line (every control target failed): {}",
                        check.detail
                    );
                }
                Err(message) => {
                    // Whether this machine is on line is not known: neither is the verdict.
                    stats.panics.fetch_add(1, Ordering::Relaxed);
                    panicked = true;
                    tracing::error!(
                        probe = %probe.name,
                        panic = %message,
                        "the control check panicked (a bug in slawatch): the check is recorded as unknown"
                    );
                    check.status = Status::Unknown;
                    check.class = Some(ErrorClass::Unknown);
                    check.detail = format!(
                        "slawatch fault: the control check panicked (see the log): {}",
                        check.detail
                    );
                }
            }
        }
        stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        stats.completed.fetch_add(1, Ordering::Relaxed);
        let lag_us = i64::try_from(lag.as_micros()).unwrap_or(i64::MAX);
        stats.max_lag_us.fetch_max(lag_us, Ordering::Relaxed);
        let failed = check.status != Status::Up;
        if out
            .send(Scheduled {
                check,
                lag,
                panicked,
                offline,
                late: lag > interval,
            })
            .await
            .is_err()
        {
            return; // nobody listens any more
        }
        let now = Instant::now();
        due = if failed {
            (started + retry_interval).max(now)
        } else {
            next_on_grid(
                base,
                offset,
                interval,
                now.max(due + Duration::from_millis(1)),
            )
        };
    }
}

/// Aborts the task when dropped: a check never outlives its probe's loop.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a runner's call in its own task; `Err` with the panic's message if it
/// panicked (while building the future or while running it).
async fn guarded<T: Send + 'static>(
    make: impl FnOnce() -> BoxFuture<'static, T>,
) -> Result<T, String> {
    let fut = std::panic::catch_unwind(std::panic::AssertUnwindSafe(make))
        .map_err(|p| panic_message(p.as_ref()))?;
    let mut task = AbortOnDrop(tokio::spawn(fut));
    match (&mut task.0).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => Err(panic_message(e.into_panic().as_ref())),
        Err(e) => Err(format!("the task ended: {e}")),
    }
}

/// A panic's message, when it is text (at most 200 characters).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    text.chars().take(200).collect()
}

/// The `unknown` check standing for a check that panicked.
fn panicked_check(probe: &str, took: Duration) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: crate::model::UtcMillis(0),
        status: Status::Unknown,
        class: Some(ErrorClass::Unknown),
        detail: "slawatch fault: the check panicked (see the log); no verdict".to_owned(),
        phases: Phases {
            total: Some(took),
            ..Phases::default()
        },
        cert_not_after: None,
    }
}

async fn acquire(
    global: &Arc<Semaphore>,
    host: Option<&Arc<Semaphore>>,
) -> Option<(
    tokio::sync::OwnedSemaphorePermit,
    Option<tokio::sync::OwnedSemaphorePermit>,
)> {
    // The host permit first: a probe waiting on a busy host must not hold a global slot.
    let h = match host {
        Some(h) => Some(h.clone().acquire_owned().await.ok()?),
        None => None,
    };
    let g = global.clone().acquire_owned().await.ok()?;
    Some((g, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_SCHEDULE, ProbeSpec, TcpSpec};
    use crate::model::{Phases, UtcMillis};
    use std::sync::Mutex;

    fn probe(name: &str, host: &str, interval_s: u64, retry_s: u64) -> Probe {
        Probe {
            name: name.to_owned(),
            schedule: Schedule {
                interval: Duration::from_secs(interval_s),
                retry_interval: Duration::from_secs(retry_s),
                ..DEFAULT_SCHEDULE
            },
            spec: ProbeSpec::Tcp(TcpSpec {
                host: host.to_owned(),
                port: 1,
                tls: None,
            }),
            vantages: crate::config::ProbeVantages::All,
        }
    }

    type HostCounts = Arc<Mutex<HashMap<String, (usize, usize)>>>;

    /// A scripted runner: records when each check started (paused tokio time), answers
    /// from a per-probe script (then up), takes `work` to answer, and counts checks
    /// in flight per host (current, maximum).
    struct Script {
        base: Instant,
        started: Mutex<Vec<(String, Duration)>>,
        answers: Mutex<HashMap<String, Vec<Status>>>,
        online: Mutex<bool>,
        work: Duration,
        per_host: HostCounts,
        /// The threads each probe's checks started on.
        threads: Mutex<HashMap<String, std::collections::HashSet<String>>>,
    }

    impl Script {
        fn new(work: Duration) -> Arc<Self> {
            Arc::new(Script {
                base: Instant::now(),
                started: Mutex::new(Vec::new()),
                answers: Mutex::new(HashMap::new()),
                online: Mutex::new(true),
                work,
                per_host: Arc::default(),
                threads: Mutex::default(),
            })
        }

        fn starts_of(&self, name: &str) -> Vec<Duration> {
            self.started
                .lock()
                .unwrap()
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, t)| *t)
                .collect()
        }
    }

    impl Runner for Script {
        fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check> {
            self.started
                .lock()
                .unwrap()
                .push((probe.name.clone(), Instant::now() - self.base));
            self.threads
                .lock()
                .unwrap()
                .entry(probe.name.clone())
                .or_default()
                .insert(std::thread::current().name().unwrap_or("?").to_owned());
            let status = {
                let mut a = self.answers.lock().unwrap();
                a.get_mut(&probe.name)
                    .filter(|v| !v.is_empty())
                    .map_or(Status::Up, |v| v.remove(0))
            };
            let host = probe.spec.host().unwrap_or_default().to_owned();
            {
                let mut m = self.per_host.lock().unwrap();
                for key in [host.clone(), "*all*".to_owned()] {
                    let e = m.entry(key).or_default();
                    e.0 += 1;
                    e.1 = e.1.max(e.0);
                }
            }
            let (work, per_host, name) = (self.work, self.per_host.clone(), probe.name.clone());
            Box::pin(async move {
                tokio::time::sleep(work).await;
                let mut m = per_host.lock().unwrap();
                m.entry(host).or_default().0 -= 1;
                m.entry("*all*".to_owned()).or_default().0 -= 1;
                drop(m);
                Check {
                    probe: name,
                    started_at: UtcMillis(0),
                    status,
                    class: (status == Status::Down).then_some(ErrorClass::Refused),
                    detail: "scripted".to_owned(),
                    phases: Phases::default(),
                    cert_not_after: None,
                }
            })
        }

        fn online(&self) -> BoxFuture<'static, bool> {
            let on = *self.online.lock().unwrap();
            Box::pin(async move { on })
        }
    }

    /// A wall clock that follows paused tokio time from `start`, stepped by `step_ms`
    /// once `step_after_ms` have passed.
    fn paused_clock(start: i64, step_after_ms: i64, step_ms: i64) -> Clock {
        let base = Instant::now();
        Clock::with_wall(move || {
            let since = i64::try_from((Instant::now() - base).as_millis()).unwrap();
            let step = if since >= step_after_ms { step_ms } else { 0 };
            UtcMillis(start + since + step)
        })
    }

    /// Runs the scheduler for `for_` of paused time and returns what it sent.
    async fn drive(
        probes: Vec<Probe>,
        runner: Arc<Script>,
        conc: u32,
        per_host: u32,
        for_: Duration,
    ) -> Vec<Scheduled> {
        let (tx, mut rx) = mpsc::channel(10_000);
        let cancel = CancellationToken::new();
        let stats = Arc::new(Stats::default());
        let task = tokio::spawn(run(
            probes,
            runner,
            Arc::new(paused_clock(0, 0, 0)),
            conc,
            per_host,
            tx,
            stats,
            cancel.clone(),
            1,
        ));
        tokio::time::sleep(for_).await;
        cancel.cancel();
        task.await.unwrap();
        let mut out = Vec::new();
        while let Ok(s) = rx.try_recv() {
            out.push(s);
        }
        out
    }

    #[test]
    fn offsets_are_deterministic_and_inside_the_interval() {
        let i = Duration::from_secs(60);
        let a = offset("shop-home", i);
        assert_eq!(a, offset("shop-home", i));
        assert!(a < i);
        let seconds: std::collections::HashSet<_> = (0..100)
            .map(|n| offset(&format!("p{n}"), i).as_secs())
            .collect();
        // 100 uniform picks among 60 seconds cover about 49 distinct ones.
        assert!(
            seconds.len() > 42,
            "100 probes spread over many seconds, got {}",
            seconds.len()
        );
    }

    #[test]
    fn offsets_are_whole_spread_steps_so_neighbours_share_a_wake_up() {
        for interval in [1, 3, 60, 3_600] {
            let i = Duration::from_secs(interval);
            let steps: std::collections::HashSet<_> = (0..1_000)
                .map(|n| {
                    let o = offset(&format!("p{n}"), i);
                    assert!(o < i);
                    assert_eq!(o.as_nanos() % SPREAD_STEP.as_nanos(), 0, "{o:?} of {i:?}");
                    o
                })
                .collect();
            // Still spread: 1,000 probes use most of the interval's steps.
            let available = (i.as_millis() / SPREAD_STEP.as_millis()).min(1_000);
            assert!(
                steps.len() * 10 >= usize::try_from(available).unwrap() * 6,
                "{} distinct steps of {available} for {i:?}",
                steps.len()
            );
        }
        // An interval shorter than a step: offsets in milliseconds, still inside it.
        let short = Duration::from_millis(40);
        assert!(offset("p1", short) < short);
    }

    #[test]
    fn threads_follow_the_expected_load() {
        // Plain TCP costs one, TCP with TLS four (as HTTPS does).
        let tcp = |n: usize, tls: bool, secs: u64| -> Vec<Probe> {
            (0..n)
                .map(|i| {
                    let mut p = probe(&format!("p{i}"), "h", secs, 10);
                    p.spec = ProbeSpec::Tcp(TcpSpec {
                        host: "h".to_owned(),
                        port: 443,
                        tls: tls.then(|| crate::config::TlsSettings {
                            verify: true,
                            ca_file: None,
                            server_name: None,
                            cert_expiry_warn: Duration::from_secs(86_400),
                        }),
                    });
                    p
                })
                .collect()
        };
        assert_eq!(shards_for(&[], 2), 1, "no probes: still one thread");
        // The blackbox bench: 300 probes at 3 s, 100 checks a second.
        assert_eq!(shards_for(&tcp(300, true, 3), 2), 1);
        // 100,000 plain probes at 60 s: 1,667 a second, one thread.
        assert_eq!(shards_for(&tcp(100_000, false, 60), 2), 1);
        // Half of them with TLS: 833 + 4 x 833 = 4,167 a second; three wanted.
        let half: Vec<Probe> = tcp(50_000, false, 60)
            .into_iter()
            .chain(tcp(50_000, true, 60))
            .collect();
        assert_eq!(shards_for(&half, 2), 2, "at most the cores");
        assert_eq!(shards_for(&half, 8), 3);
        assert_eq!(shards_for(&half, 0), 1, "cores unknown: one");
    }

    #[tokio::test]
    async fn shards_run_every_probe_on_their_own_threads_under_one_set_of_limits() {
        let runner = Script::new(Duration::from_millis(200));
        let probes: Vec<Probe> = (0..12)
            .map(|n| probe(&format!("p{n}"), "busy", 1, 1))
            .chain((0..12).map(|n| probe(&format!("q{n}"), &format!("h{n}"), 1, 1)))
            .collect();
        let (tx, mut rx) = mpsc::channel(10_000);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(
            probes,
            runner.clone(),
            Arc::new(Clock::system()),
            6,
            2,
            tx,
            Arc::new(Stats::default()),
            cancel.clone(),
            3,
        ));
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        cancel.cancel();
        task.await.unwrap();
        let mut sent = 0;
        while rx.try_recv().is_ok() {
            sent += 1;
        }
        let threads = runner.threads.lock().unwrap();
        assert_eq!(
            threads.len(),
            24,
            "every probe was checked: {:?}",
            threads.keys()
        );
        let names: std::collections::HashSet<&String> = threads.values().flatten().collect();
        assert_eq!(names.len(), 3, "three threads ran checks: {names:?}");
        assert!(
            threads.values().all(|t| t.len() == 1),
            "a probe stays on its thread: {threads:?}"
        );
        let m = runner.per_host.lock().unwrap();
        assert_eq!(
            m["busy"].1, 2,
            "at most 2 in flight against one host, across threads"
        );
        assert!(
            m["*all*"].1 <= 6,
            "at most 6 in flight overall: {}",
            m["*all*"].1
        );
        assert_eq!(
            sent,
            runner.started.lock().unwrap().len(),
            "every check was handed on"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn grid_points_never_drift() {
        let base = Instant::now();
        let off = Duration::from_millis(1500);
        let i = Duration::from_secs(60);
        assert_eq!(next_on_grid(base, off, i, base), base + off);
        let late = base + Duration::from_secs(86_400 * 30) + Duration::from_millis(7);
        let n = next_on_grid(base, off, i, late);
        assert!(n >= late);
        assert_eq!(
            (n - base - off).as_nanos() % i.as_nanos(),
            0,
            "still on the grid after 30 days"
        );
        assert!(n - late < i);
    }

    #[tokio::test(start_paused = true)]
    async fn checks_stay_on_the_grid_for_a_day() {
        let runner = Script::new(Duration::from_millis(700));
        let p = probe("steady", "h", 60, 10);
        let off = offset("steady", Duration::from_secs(60));
        let out = drive(vec![p], runner.clone(), 10, 4, Duration::from_secs(86_400)).await;
        let starts = runner.starts_of("steady");
        assert_eq!(starts.len(), 1440, "one check a minute for a day");
        assert_eq!(out.len(), 1440);
        for (k, t) in starts.iter().enumerate() {
            let want = off + Duration::from_secs(60) * u32::try_from(k).unwrap();
            assert!(
                t.abs_diff(want) < Duration::from_millis(5),
                "check {k} at {t:?}, due {want:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_rechecked_at_retry_interval_then_back_on_the_grid() {
        let runner = Script::new(Duration::from_millis(100));
        runner
            .answers
            .lock()
            .unwrap()
            .insert("flaky".into(), vec![Status::Down, Status::Down, Status::Up]);
        let off = offset("flaky", Duration::from_secs(60));
        drive(
            vec![probe("flaky", "h", 60, 10)],
            runner.clone(),
            10,
            4,
            off + Duration::from_secs(150),
        )
        .await;
        let s = runner.starts_of("flaky");
        assert!(s.len() >= 4, "{s:?}");
        // down at off, retry 10 s after it started, again, then up, then the grid.
        let gap = |a: usize, b: usize| s[b] - s[a];
        assert!(
            gap(0, 1).abs_diff(Duration::from_millis(10_000)) < Duration::from_millis(5),
            "{s:?}"
        );
        assert!(
            gap(1, 2).abs_diff(Duration::from_millis(10_000)) < Duration::from_millis(5),
            "{s:?}"
        );
        assert!(
            s[3].abs_diff(off + Duration::from_secs(60)) < Duration::from_millis(5),
            "{s:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn per_host_and_global_limits_hold() {
        let runner = Script::new(Duration::from_secs(5));
        // 20 probes on one host with the same offset would all be due together;
        // names differ, so offsets differ, but 5-second checks still overlap.
        let probes: Vec<Probe> = (0..20)
            .map(|n| probe(&format!("p{n}"), "busy", 10, 10))
            .collect();
        let others: Vec<Probe> = (0..20)
            .map(|n| probe(&format!("q{n}"), &format!("h{n}"), 10, 10))
            .collect();
        let all = probes.into_iter().chain(others).collect();
        drive(all, runner.clone(), 8, 2, Duration::from_secs(120)).await;
        let m = runner.per_host.lock().unwrap();
        assert_eq!(m["busy"].1, 2, "at most 2 in flight against one host");
        assert_eq!(
            m["*all*"].1, 8,
            "at most 8 in flight overall, and the limit is reached"
        );
        let started = runner.started.lock().unwrap().len();
        assert!(started > 100, "work still gets done: {started}");
    }

    /// A check that waits for a slot longer than its interval is marked late (the
    /// metric `slawatch_checks_late_total`); one that waits less is not.
    #[tokio::test(start_paused = true)]
    async fn a_check_waiting_longer_than_its_interval_for_a_slot_is_late() {
        // One slot overall, checks of 25 s, due every 10 s: whichever probe runs
        // first holds the slot while the other's grid point passes.
        let runner = Script::new(Duration::from_secs(25));
        let probes = vec![probe("a", "ha", 10, 10), probe("b", "hb", 10, 10)];
        let out = drive(probes, runner, 1, 1, Duration::from_secs(120)).await;
        assert!(out.len() >= 3, "{out:?}");
        for s in &out {
            assert_eq!(
                s.late,
                s.lag > Duration::from_secs(10),
                "late is a lag over the interval: {s:?}"
            );
        }
        assert!(out.iter().any(|s| s.late), "some check waited 15 s or more");
        assert!(out.iter().any(|s| !s.late), "the first check was on time");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_while_off_line_are_unknown() {
        let runner = Script::new(Duration::from_millis(10));
        runner
            .answers
            .lock()
            .unwrap()
            .insert("site".into(), vec![Status::Down; 3]);
        *runner.online.lock().unwrap() = false;
        let out = drive(
            vec![probe("site", "h", 60, 10)],
            runner,
            10,
            4,
            Duration::from_secs(90),
        )
        .await;
        let statuses: Vec<_> = out.iter().map(|s| s.check.status).collect();
        assert!(statuses.len() >= 3);
        assert!(
            statuses[..3].iter().all(|s| *s == Status::Unknown),
            "{statuses:?}"
        );
        assert_eq!(out[0].check.class, Some(ErrorClass::Unknown));
        assert!(out[0].check.detail.starts_with("machine off line"));
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_lets_checks_in_flight_finish_and_be_sent() {
        let runner = Script::new(Duration::from_secs(8));
        let p = probe("long", "h", 60, 10);
        let off = offset("long", Duration::from_secs(60));
        // Cancel 1 s after the first check started: it still arrives.
        let out = drive(vec![p], runner.clone(), 10, 4, off + Duration::from_secs(1)).await;
        assert_eq!(runner.starts_of("long").len(), 1);
        assert_eq!(out.len(), 1, "the check in flight was drained, not dropped");
    }

    /// A runner whose checks of "buggy" panic: the first while building the check,
    /// the second while running it; then they are up.
    struct Panicky {
        calls: Mutex<usize>,
    }

    impl Runner for Panicky {
        fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check> {
            let n = {
                let mut c = self.calls.lock().unwrap();
                *c += 1;
                *c
            };
            assert!(n != 1, "a bug while building the check");
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                assert!(n != 2, "a bug while running the check");
                Check {
                    probe: probe.name.clone(),
                    started_at: UtcMillis(0),
                    status: Status::Up,
                    class: None,
                    detail: "ok".to_owned(),
                    phases: Phases::default(),
                    cert_not_after: None,
                }
            })
        }

        fn online(&self) -> BoxFuture<'static, bool> {
            Box::pin(async { true })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_check_is_unknown_and_the_probe_goes_on() {
        let (tx, mut rx) = mpsc::channel(100);
        let cancel = CancellationToken::new();
        let stats = Arc::new(Stats::default());
        let off = offset("buggy", Duration::from_secs(60));
        let task = tokio::spawn(run(
            vec![probe("buggy", "h", 60, 10)],
            Arc::new(Panicky {
                calls: Mutex::new(0),
            }),
            Arc::new(paused_clock(0, 0, 0)),
            10,
            4,
            tx,
            stats.clone(),
            cancel.clone(),
            1,
        ));
        tokio::time::sleep(off + Duration::from_secs(90)).await;
        cancel.cancel();
        task.await.unwrap();
        let mut out = Vec::new();
        while let Ok(s) = rx.try_recv() {
            out.push(s);
        }
        let seen: Vec<(Status, bool)> = out.iter().map(|s| (s.check.status, s.panicked)).collect();
        assert_eq!(
            seen[..3],
            [
                (Status::Unknown, true),
                (Status::Unknown, true),
                (Status::Up, false)
            ],
            "{seen:?}"
        );
        assert_eq!(out[0].check.class, Some(ErrorClass::Unknown));
        assert!(out[0].check.detail.contains("panicked"), "{:?}", out[0]);
        assert_eq!(stats.panics.load(Ordering::Relaxed), 2);
        // Retried like any unknown check, 10 s after each start.
        let t: Vec<i64> = out.iter().map(|s| s.check.started_at.0).collect();
        assert_eq!((t[1] - t[0], t[2] - t[1]), (10_000, 10_000), "{t:?}");
    }

    /// A runner whose checks fail and whose control check panics.
    struct PanickyControl;

    impl Runner for PanickyControl {
        fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check> {
            Box::pin(async move {
                Check {
                    probe: probe.name.clone(),
                    started_at: UtcMillis(0),
                    status: Status::Down,
                    class: Some(ErrorClass::Refused),
                    detail: "refused".to_owned(),
                    phases: Phases::default(),
                    cert_not_after: None,
                }
            })
        }

        fn online(&self) -> BoxFuture<'static, bool> {
            Box::pin(async { panic!("a bug in the control check") })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_control_check_makes_the_failure_unknown_and_goes_on() {
        let (tx, mut rx) = mpsc::channel(100);
        let cancel = CancellationToken::new();
        let stats = Arc::new(Stats::default());
        let off = offset("site", Duration::from_secs(60));
        let task = tokio::spawn(run(
            vec![probe("site", "h", 60, 10)],
            Arc::new(PanickyControl),
            Arc::new(paused_clock(0, 0, 0)),
            10,
            4,
            tx,
            stats.clone(),
            cancel.clone(),
            1,
        ));
        tokio::time::sleep(off + Duration::from_secs(25)).await;
        cancel.cancel();
        task.await.unwrap();
        let mut out = Vec::new();
        while let Ok(s) = rx.try_recv() {
            out.push(s);
        }
        assert_eq!(out.len(), 3, "checked at off, +10 s, +20 s: {out:?}");
        assert!(
            out.iter()
                .all(|s| s.panicked && s.check.status == Status::Unknown),
            "{out:?}"
        );
        assert_eq!(stats.panics.load(Ordering::Relaxed), 3);
    }

    /// The wall clock steps 2 h back in the middle of an outage: the outage's end is
    /// after its start and its duration is the time that passed.
    #[tokio::test(start_paused = true)]
    async fn a_two_hour_step_back_leaves_the_outage_intact() {
        const START: i64 = 1_700_000_000_000;
        let runner = Script::new(Duration::from_millis(100));
        runner
            .answers
            .lock()
            .unwrap()
            .insert("site".into(), vec![Status::Down; 6]);
        let off = offset("site", Duration::from_secs(60));
        let step_after = i64::try_from((off + Duration::from_secs(25)).as_millis()).unwrap();
        let clock = Arc::new(paused_clock(START, step_after, -7_200_000));
        let (tx, mut rx) = mpsc::channel(100);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(
            vec![probe("site", "h", 60, 10)],
            runner,
            clock.clone(),
            10,
            4,
            tx,
            Arc::new(Stats::default()),
            cancel.clone(),
            1,
        ));
        tokio::time::sleep(off + Duration::from_secs(90)).await;
        cancel.cancel();
        task.await.unwrap();
        let mut confirm = crate::outage::Confirmation::new("site", 2, 1);
        let mut closed = None;
        let mut last = i64::MIN;
        while let Ok(s) = rx.try_recv() {
            assert!(s.check.started_at.0 >= last, "instants never go back");
            last = s.check.started_at.0;
            if let Some(crate::outage::Event::Closed(o)) = confirm.observe(&s.check) {
                closed = Some(o);
            }
        }
        let o = closed.expect("the outage closed");
        let (start, end) = (o.start.0, o.end.unwrap().0);
        assert!(end >= start, "{o:?}");
        // Down at off, off+10 ... off+50, up at off+60.
        assert_eq!(end - start, 60_000, "{o:?}");
        let steps = clock.take_steps();
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert_eq!(steps[0].by_ms, -7_200_000);
    }
}
