//! `/metrics` (Prometheus text format) and `/healthz`, off unless `metrics_listen` is set.
//!
//! The daemon updates a [`Metrics`] as checks arrive; rendering takes a snapshot under
//! one short lock. The format is written by hand: it is a few lines of text, and a
//! registry crate would bring globals or macros for no gain.

use crate::model::{Check, Status};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// `/healthz` fails, and the watchdog is no longer pinged, when no commit of the
/// evidence store has succeeded for this long (the daemon writes a heartbeat every
/// second, so a healthy writer commits every second; SQLite waits up to 5 s for a
/// lock and a failing batch is retried for about 2 s before it is set aside).
pub(crate) const COMMIT_STALL: Duration = Duration::from_secs(30);

/// `/healthz` reports evidence set aside for this long after it happened.
pub(crate) const SET_ASIDE_SHOWN: Duration = Duration::from_secs(600);

/// What `/healthz` and the systemd watchdog judge: real progress (checks arriving
/// from the scheduler, commits of the store succeeding), not a timer. The daemon
/// reports progress as it happens; the verdict is computed when asked, so a daemon
/// whose loop is stuck stops reporting and is found stale.
#[derive(Debug, Default)]
pub(crate) struct Health {
    state: Mutex<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    started: Option<Instant>,
    /// No check for longer than this is a stall (from the probes' schedules).
    check_bound: Option<Duration>,
    last_check: Option<Instant>,
    commits: u64,
    last_commit: Option<Instant>,
    set_aside: u64,
    last_set_aside: Option<Instant>,
    set_aside_file: String,
}

/// The verdict: why the daemon is stalled (the watchdog stops, `/healthz` 503), and
/// what else is wrong (`/healthz` 503, the watchdog goes on: a restart would not help).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// No progress: no check arriving, no commit succeeding, not started.
    pub stalled: Vec<String>,
    /// Evidence set aside recently.
    pub warnings: Vec<String>,
    /// What is fine, for the 200 answer.
    pub fine: String,
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The daemon starts probing (again, after a reload) at `now`: checks are due at
    /// least every `check_bound` (`None`: no probe, none due); records that could not
    /// be committed go to `set_aside_file`.
    pub(crate) fn start(&self, now: Instant, check_bound: Option<Duration>, set_aside_file: &str) {
        let mut s = self.lock();
        s.started.get_or_insert(now);
        // A reload restarts the scheduler: its first checks are due from now on.
        s.last_check = Some(s.last_check.map_or(now, |l| l.max(now)));
        s.check_bound = check_bound;
        set_aside_file.clone_into(&mut s.set_aside_file);
    }

    /// A check arrived from the scheduler.
    pub(crate) fn check_arrived(&self, now: Instant) {
        self.lock().last_check = Some(now);
    }

    /// The store's counters as of `now`: commits made and batches set aside so far.
    pub(crate) fn writer(&self, now: Instant, commits: u64, set_aside: u64) {
        let mut s = self.lock();
        if commits > s.commits || s.last_commit.is_none() && commits > 0 {
            s.commits = commits;
            s.last_commit = Some(now);
        }
        if set_aside > s.set_aside {
            s.set_aside = set_aside;
            s.last_set_aside = Some(now);
        }
    }

    /// The verdict at `now`.
    pub(crate) fn verdict(&self, now: Instant) -> Verdict {
        let s = self.lock();
        let mut v = Verdict::default();
        let Some(started) = s.started else {
            v.stalled.push("not probing yet".to_owned());
            return v;
        };
        let age = |t: Option<Instant>| now.saturating_duration_since(t.unwrap_or(started));
        let check_age = age(s.last_check);
        if let Some(bound) = s.check_bound
            && check_age > bound
        {
            v.stalled.push(format!(
                "no check has arrived from the scheduler for {}s (at most {}s expected)",
                check_age.as_secs(),
                bound.as_secs()
            ));
        }
        let commit_age = age(s.last_commit);
        if commit_age > COMMIT_STALL {
            v.stalled.push(format!(
                "no commit of the evidence store has succeeded for {}s (at most {}s \
                 expected): the writer is stuck, see the log",
                commit_age.as_secs(),
                COMMIT_STALL.as_secs()
            ));
        }
        if let Some(last) = s.last_set_aside {
            let ago = now.saturating_duration_since(last);
            if ago <= SET_ASIDE_SHOWN {
                v.warnings.push(format!(
                    "{} batch(es) of records could not be committed and were set aside in \
                     {}, the last {}s ago",
                    s.set_aside,
                    s.set_aside_file,
                    ago.as_secs()
                ));
            }
        }
        v.fine = format!(
            "last check {}s ago, last commit {}s ago",
            check_age.as_secs(),
            commit_age.as_secs()
        );
        v
    }
}

/// What `/metrics` shows of one probe.
#[derive(Debug, Default, Clone)]
struct ProbeMetrics {
    kind: String,
    up: Option<bool>,
    last_latency_ms: u64,
    checks: u64,
    failures: u64,
    unknown: u64,
    outage_open: bool,
}

/// Live figures of the daemon, shared between the check consumer and the HTTP server.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    probes: Mutex<BTreeMap<String, ProbeMetrics>>,
    /// Scheduling lag of the last check, in microseconds.
    pub last_lag_us: AtomicU64,
    /// Largest scheduling lag since start, in microseconds.
    pub max_lag_us: AtomicU64,
    /// Checks running now.
    pub in_flight: AtomicU64,
    /// Records sent to the store and not yet committed.
    pub writer_queue: AtomicU64,
    /// Unix seconds of the last heartbeat (the scheduler made progress).
    pub heartbeat_unix: AtomicU64,
    /// Progress, as `/healthz` and the watchdog judge it.
    pub health: Health,
    /// Failed commits of the evidence store (each try).
    pub store_commit_failures: AtomicU64,
    /// Batches of records set aside (not committed, written to the set-aside file).
    pub store_set_aside_batches: AtomicU64,
    /// Records set aside.
    pub store_set_aside_records: AtomicU64,
    /// Records dropped because the writer's queue was full.
    pub store_dropped: AtomicU64,
    /// Start lags by bucket of [`LAG_BUCKETS_US`] (not cumulative; the last is +Inf).
    lag_buckets: [AtomicU64; LAG_BUCKETS_US.len() + 1],
    /// Sum of all start lags, in microseconds.
    lag_sum_us: AtomicU64,
    /// Checks that panicked (each stored as an `unknown` check of its probe).
    pub check_panics: AtomicU64,
    /// Issue 17: alerts queued and not yet delivered nor given up.
    pub(crate) alerts_pending: AtomicU64,
    /// Alerts delivered since start.
    pub(crate) alerts_sent: AtomicU64,
    /// Alerts given up since start (undelivered for `GIVE_UP_AFTER`).
    pub(crate) alerts_failed: AtomicU64,
    /// Checks that started more than their probe's interval after they were due.
    pub checks_late: AtomicU64,
    /// The most records the writer's queue has held at once.
    pub writer_queue_max: AtomicU64,
    /// Issue 18: whether a shipper runs (`[shared]` set); the two below are
    /// rendered only then.
    pub(crate) shared_enabled: std::sync::atomic::AtomicBool,
    /// Seals of the local store not yet in the shared store.
    pub(crate) shared_unshipped: AtomicU64,
    /// Unix ms of the last successful ship (0: none yet).
    pub(crate) shared_last_ship_ms: AtomicU64,
    /// Unix ms the shipper started (the age before a first ship).
    pub(crate) shared_since_ms: AtomicU64,
}

/// Upper bounds of the schedule-lag histogram, in microseconds (1 ms to 5 s).
pub(crate) const LAG_BUCKETS_US: [u64; 12] = [
    1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000,
    5_000_000,
];

/// Microseconds as decimal seconds ("0.001", "2.5"), without float arithmetic.
fn seconds(us: u64) -> String {
    let frac = format!("{:06}", us % 1_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{}", us / 1_000_000)
    } else {
        format!("{}.{frac}", us / 1_000_000)
    }
}

impl Metrics {
    /// Registers a probe so it shows before its first check.
    pub(crate) fn register(&self, name: &str, kind: &str) {
        let mut p = self.probes.lock().unwrap_or_else(PoisonError::into_inner);
        p.entry(name.to_owned()).or_default().kind = kind.to_owned();
    }

    /// Drops probes that are no longer configured (after a reload).
    pub(crate) fn retain(&self, names: &[String]) {
        let mut p = self.probes.lock().unwrap_or_else(PoisonError::into_inner);
        p.retain(|k, _| names.contains(k));
    }

    /// Records one check.
    pub(crate) fn observe(&self, check: &Check, lag: Duration) {
        let lag_us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.last_lag_us.store(lag_us, Ordering::Relaxed);
        self.max_lag_us.fetch_max(lag_us, Ordering::Relaxed);
        let bucket = LAG_BUCKETS_US
            .iter()
            .position(|b| lag_us <= *b)
            .unwrap_or(LAG_BUCKETS_US.len());
        self.lag_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.lag_sum_us.fetch_add(lag_us, Ordering::Relaxed);
        let mut p = self.probes.lock().unwrap_or_else(PoisonError::into_inner);
        // Every probe is registered: look it up without allocating its name.
        if !p.contains_key(&check.probe) {
            p.insert(check.probe.clone(), ProbeMetrics::default());
        }
        let Some(m) = p.get_mut(&check.probe) else {
            return;
        };
        m.checks += 1;
        match check.status {
            Status::Up => m.up = Some(true),
            Status::Down => {
                m.up = Some(false);
                m.failures += 1;
            }
            Status::Unknown => m.unknown += 1,
        }
        if let Some(total) = check.phases.total {
            m.last_latency_ms = u64::try_from(total.as_millis()).unwrap_or(u64::MAX);
        }
    }

    /// Marks a probe's outage as open or closed.
    pub(crate) fn set_outage(&self, probe: &str, open: bool) {
        let mut p = self.probes.lock().unwrap_or_else(PoisonError::into_inner);
        p.entry(probe.to_owned()).or_default().outage_open = open;
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let probes = self
            .probes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut s = String::new();
        let mut family =
            |name: &str, kind: &str, help: &str, value: &dyn Fn(&ProbeMetrics) -> Option<u64>| {
                let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for (probe, m) in &probes {
                    if let Some(v) = value(m) {
                        let _ = writeln!(
                            s,
                            "{name}{{probe=\"{}\",kind=\"{}\"}} {v}",
                            escape(probe),
                            escape(&m.kind)
                        );
                    }
                }
            };
        family(
            "slawatch_probe_up",
            "gauge",
            "1 if the last judged check was up, 0 if down.",
            &|m| m.up.map(u64::from),
        );
        family(
            "slawatch_probe_latency_milliseconds",
            "gauge",
            "Duration of the last check.",
            &|m| Some(m.last_latency_ms),
        );
        family(
            "slawatch_probe_checks_total",
            "counter",
            "Checks run since the daemon started.",
            &|m| Some(m.checks),
        );
        family(
            "slawatch_probe_failures_total",
            "counter",
            "Checks that were down.",
            &|m| Some(m.failures),
        );
        family(
            "slawatch_probe_unknown_total",
            "counter",
            "Checks that could not be judged (no data).",
            &|m| Some(m.unknown),
        );
        family(
            "slawatch_probe_outage_open",
            "gauge",
            "1 while a confirmed outage is open.",
            &|m| Some(u64::from(m.outage_open)),
        );
        let scalar = |s: &mut String, name: &str, kind: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        let us = |a: &AtomicU64| a.load(Ordering::Relaxed);
        scalar(
            &mut s,
            "slawatch_schedule_lag_microseconds",
            "gauge",
            "How late the last check started.",
            us(&self.last_lag_us),
        );
        scalar(
            &mut s,
            "slawatch_schedule_lag_max_microseconds",
            "gauge",
            "Largest start lag since start.",
            us(&self.max_lag_us),
        );
        let name = "slawatch_schedule_lag_seconds";
        let _ = writeln!(
            s,
            "# HELP {name} How late checks started relative to when they were due.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (i, bucket) in self.lag_buckets.iter().enumerate() {
            cumulative += us(bucket);
            let le = LAG_BUCKETS_US
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| seconds(*b));
            let _ = writeln!(s, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(s, "{name}_sum {}", seconds(us(&self.lag_sum_us)));
        let _ = writeln!(s, "{name}_count {cumulative}");
        scalar(
            &mut s,
            "slawatch_checks_in_flight",
            "gauge",
            "Checks running now.",
            us(&self.in_flight),
        );
        scalar(
            &mut s,
            "slawatch_writer_queue",
            "gauge",
            "Records waiting to be committed.",
            us(&self.writer_queue),
        );
        scalar(
            &mut s,
            "slawatch_writer_queue_max",
            "gauge",
            "The most records waiting to be committed at once since start.",
            us(&self.writer_queue_max),
        );
        scalar(
            &mut s,
            "slawatch_checks_late_total",
            "counter",
            "Checks that started more than their probe's interval after they were due.",
            us(&self.checks_late),
        );
        scalar(
            &mut s,
            "slawatch_check_panics_total",
            "counter",
            "Checks that panicked (a bug in slawatch); each became an unknown check.",
            us(&self.check_panics),
        );
        scalar(
            &mut s,
            "slawatch_heartbeat_seconds",
            "gauge",
            "Unix time of the last heartbeat.",
            us(&self.heartbeat_unix),
        );
        scalar(
            &mut s,
            "slawatch_store_commit_failures_total",
            "counter",
            "Commits of the evidence store that failed (each try).",
            us(&self.store_commit_failures),
        );
        scalar(
            &mut s,
            "slawatch_store_set_aside_batches_total",
            "counter",
            "Batches of records that could not be committed and were set aside.",
            us(&self.store_set_aside_batches),
        );
        scalar(
            &mut s,
            "slawatch_store_set_aside_records_total",
            "counter",
            "Records set aside in DATABASE.set-aside.jsonl.",
            us(&self.store_set_aside_records),
        );
        scalar(
            &mut s,
            "slawatch_store_dropped_total",
            "counter",
            "Records dropped because the writer's queue was full (no data).",
            us(&self.store_dropped),
        );
        scalar(
            &mut s,
            "slawatch_alerts_pending",
            "gauge",
            "Alerts queued and not yet delivered nor given up.",
            us(&self.alerts_pending),
        );
        scalar(
            &mut s,
            "slawatch_alerts_sent_total",
            "counter",
            "Alerts delivered since the daemon started.",
            us(&self.alerts_sent),
        );
        scalar(
            &mut s,
            "slawatch_alerts_failed_total",
            "counter",
            "Alerts given up since the daemon started (undelivered for 3 days).",
            us(&self.alerts_failed),
        );
        if self.shared_enabled.load(Ordering::Relaxed) {
            scalar(
                &mut s,
                "slawatch_shared_seals_unshipped",
                "gauge",
                "Seals of the local store not yet shipped to the shared PostgreSQL.",
                us(&self.shared_unshipped),
            );
            let last = match us(&self.shared_last_ship_ms) {
                0 => us(&self.shared_since_ms),
                t => t,
            };
            let now = u64::try_from(crate::daemon::now().0).unwrap_or(0);
            scalar(
                &mut s,
                "slawatch_shared_seconds_since_ship",
                "gauge",
                "Seconds since the last successful ship to the shared PostgreSQL (since the shipper started, before a first one).",
                now.saturating_sub(last) / 1000,
            );
        }
        s
    }
}

/// Label values escape backslash, quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `/metrics` and `/healthz` on `addr` until cancelled.
///
/// `/healthz` answers 200 while the daemon makes progress ([`Health::verdict`]: checks
/// arriving, commits succeeding, nothing set aside lately), 503 with the reasons
/// otherwise.
pub(crate) async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    use axum::http::StatusCode;
    use axum::routing::get;
    let m1 = metrics.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m1.clone();
                async move { ([("content-type", "text/plain; version=0.0.4")], m.render()) }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let m = metrics.clone();
                async move {
                    let v = m.health.verdict(Instant::now());
                    if v.stalled.is_empty() && v.warnings.is_empty() {
                        (StatusCode::OK, format!("ok: {}\n", v.fine))
                    } else {
                        let mut body = String::from("unhealthy:\n");
                        for reason in v.stalled.iter().chain(&v.warnings) {
                            let _ = writeln!(body, "- {reason}");
                        }
                        (StatusCode::SERVICE_UNAVAILABLE, body)
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_bounded(listener, app, Bounds::DEFAULT, cancel).await;
    Ok(())
}

/// The most `/metrics` and `/healthz` connections open at once; one more is closed
/// as soon as it is accepted. A scraper needs one; the cap keeps clients that connect
/// and wait from taking the descriptors the probes need.
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// How long a client has to send a request's whole head.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest a connection stays open, idle or not: a response is a few kilobytes
/// rendered in microseconds, so only a client that waits or does not read reaches it.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits of the accept loop (the constants above; tests use shorter ones).
#[derive(Debug, Clone, Copy)]
struct Bounds {
    max_connections: usize,
    header_read_timeout: Duration,
    idle_timeout: Duration,
}

impl Bounds {
    const DEFAULT: Bounds = Bounds {
        max_connections: MAX_CONNECTIONS,
        header_read_timeout: HEADER_READ_TIMEOUT,
        idle_timeout: IDLE_TIMEOUT,
    };
}

/// After a failed accept (out of descriptors, say), wait this long before the next,
/// rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The accept loop: at most `bounds.max_connections` at once, each under the header
/// read and idle timeouts; ends (dropping every connection) when `cancel` fires.
async fn serve_bounded(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    bounds: Bounds,
    cancel: CancellationToken,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(bounds.max_connections));
    let mut conns = tokio::task::JoinSet::new();
    let mut last_warning: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        while conns.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // At most one line a minute: a failing accept repeats every backoff.
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                    tracing::warn!(error = %e, "metrics: accept failed");
                    last_warning = Some(tokio::time::Instant::now());
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            drop(stream); // over the cap: closed at once
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        conns.spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(bounds.header_read_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            // An error is the client's (a bad request, a reset): nothing to record.
            let _ = tokio::time::timeout(bounds.idle_timeout, conn).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorClass, Phases, UtcMillis};

    fn check(probe: &str, status: Status, ms: u64) -> Check {
        Check {
            probe: probe.into(),
            started_at: UtcMillis(0),
            status,
            class: (status == Status::Down).then_some(ErrorClass::Timeout),
            detail: String::new(),
            phases: Phases {
                total: Some(Duration::from_millis(ms)),
                ..Phases::default()
            },
            cert_not_after: None,
        }
    }

    #[test]
    fn the_alert_queue_is_exported() {
        let m = Metrics::default();
        m.alerts_pending.store(2, Ordering::Relaxed);
        m.alerts_sent.store(5, Ordering::Relaxed);
        m.alerts_failed.store(1, Ordering::Relaxed);
        let text = m.render();
        for line in [
            "# TYPE slawatch_alerts_pending gauge\nslawatch_alerts_pending 2\n",
            "# TYPE slawatch_alerts_sent_total counter\nslawatch_alerts_sent_total 5\n",
            "# TYPE slawatch_alerts_failed_total counter\nslawatch_alerts_failed_total 1\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
    }

    #[test]
    fn renders_the_exposition_format() {
        let m = Metrics::default();
        m.register("shop", "http");
        m.register("idle\"x", "tcp");
        m.observe(&check("shop", Status::Up, 12), Duration::from_micros(250));
        m.observe(
            &check("shop", Status::Down, 10_000),
            Duration::from_micros(90),
        );
        m.set_outage("shop", true);
        let text = m.render();
        for line in [
            "slawatch_probe_up{probe=\"shop\",kind=\"http\"} 0",
            "slawatch_probe_latency_milliseconds{probe=\"shop\",kind=\"http\"} 10000",
            "slawatch_probe_checks_total{probe=\"shop\",kind=\"http\"} 2",
            "slawatch_probe_failures_total{probe=\"shop\",kind=\"http\"} 1",
            "slawatch_probe_outage_open{probe=\"shop\",kind=\"http\"} 1",
            "slawatch_probe_checks_total{probe=\"idle\\\"x\",kind=\"tcp\"} 0",
            "slawatch_schedule_lag_max_microseconds 250",
            "slawatch_schedule_lag_microseconds 90",
            "slawatch_schedule_lag_seconds_bucket{le=\"0.001\"} 2",
            "slawatch_schedule_lag_seconds_bucket{le=\"+Inf\"} 2",
            "slawatch_schedule_lag_seconds_sum 0.00034",
            "slawatch_schedule_lag_seconds_count 2",
            "# TYPE slawatch_probe_checks_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // A probe never judged has no up line.
        assert!(!text.contains("slawatch_probe_up{probe=\"idle"));
    }

    #[test]
    fn lag_histogram_is_cumulative() {
        let m = Metrics::default();
        for ms in [0, 3, 3, 150, 7_000] {
            m.observe(&check("p", Status::Up, 1), Duration::from_millis(ms));
        }
        let text = m.render();
        for line in [
            "slawatch_schedule_lag_seconds_bucket{le=\"0.001\"} 1",
            "slawatch_schedule_lag_seconds_bucket{le=\"0.005\"} 3",
            "slawatch_schedule_lag_seconds_bucket{le=\"0.1\"} 3",
            "slawatch_schedule_lag_seconds_bucket{le=\"0.2\"} 4",
            "slawatch_schedule_lag_seconds_bucket{le=\"5\"} 4",
            "slawatch_schedule_lag_seconds_bucket{le=\"+Inf\"} 5",
            "slawatch_schedule_lag_seconds_sum 7.156",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert_eq!(seconds(2_500_000), "2.5");
        assert_eq!(seconds(1_000), "0.001");
    }

    #[test]
    fn late_checks_and_the_writer_queue_high_water_mark_are_exported() {
        let m = Metrics::default();
        m.checks_late.fetch_add(3, Ordering::Relaxed);
        m.writer_queue_max.store(1_667, Ordering::Relaxed);
        let text = m.render();
        for line in [
            "# TYPE slawatch_checks_late_total counter",
            "slawatch_checks_late_total 3",
            "# TYPE slawatch_writer_queue_max gauge",
            "slawatch_writer_queue_max 1667",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    const BOUND: Duration = Duration::from_secs(10);

    fn started(t0: Instant) -> Health {
        let h = Health::default();
        h.start(t0, Some(BOUND), "e.db.set-aside.jsonl");
        h.writer(t0, 1, 0);
        h
    }

    #[test]
    fn health_is_stalled_when_no_check_arrives_within_the_bound() {
        let t0 = Instant::now();
        let h = started(t0);
        let s = |secs| t0 + Duration::from_secs(secs);
        h.writer(s(9), 9, 0);
        assert_eq!(h.verdict(s(9)).stalled, Vec::<String>::new());
        h.writer(s(11), 11, 0);
        let v = h.verdict(s(11));
        assert_eq!(v.stalled.len(), 1, "{v:?}");
        assert!(v.stalled[0].contains("no check has arrived"), "{v:?}");
        // A check brings it back.
        h.check_arrived(s(12));
        h.writer(s(12), 12, 0);
        assert!(h.verdict(s(12)).stalled.is_empty());
    }

    #[test]
    fn health_is_stalled_when_no_commit_succeeds_though_checks_arrive() {
        let t0 = Instant::now();
        let h = started(t0);
        let s = |secs| t0 + Duration::from_secs(secs);
        for t in 1..=40 {
            h.check_arrived(s(t));
            // The counter stays at 1: every commit fails.
            h.writer(s(t), 1, 0);
        }
        let v = h.verdict(s(40));
        assert_eq!(v.stalled.len(), 1, "{v:?}");
        assert!(v.stalled[0].contains("no commit"), "{v:?}");
        // A daemon whose loop stopped reporting is stale just the same.
        let h = started(t0);
        assert!(!h.verdict(s(31)).stalled.is_empty());
    }

    #[test]
    fn health_warns_of_evidence_set_aside_without_stalling() {
        let t0 = Instant::now();
        let h = started(t0);
        let s = |secs| t0 + Duration::from_secs(secs);
        h.check_arrived(s(1));
        h.writer(s(1), 2, 1);
        let v = h.verdict(s(2));
        assert!(v.stalled.is_empty(), "{v:?}");
        assert_eq!(v.warnings.len(), 1, "{v:?}");
        assert!(v.warnings[0].contains("e.db.set-aside.jsonl"), "{v:?}");
        // Shown for SET_ASIDE_SHOWN, then forgotten.
        let later = s(2) + SET_ASIDE_SHOWN;
        h.check_arrived(later);
        h.writer(later, 3, 1);
        assert_eq!(h.verdict(later).warnings, Vec::<String>::new());
    }

    #[tokio::test]
    async fn serves_metrics_and_healthz_on_loopback() {
        let m = Arc::new(Metrics::default());
        m.register("shop", "http");
        let probe_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe_listener.local_addr().unwrap();
        drop(probe_listener);
        let cancel = CancellationToken::new();
        let server = tokio::spawn(serve(addr, m.clone(), cancel.clone()));
        let get = |path: &'static str| async move {
            for _ in 0..50 {
                if let Ok(r) = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .unwrap()
                    .get(format!("http://{addr}{path}"))
                    .send()
                    .await
                {
                    return (r.status().as_u16(), r.text().await.unwrap());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("server did not come up");
        };
        let (code, body) = get("/healthz").await;
        assert_eq!(
            (code, body.as_str()),
            (503, "unhealthy:\n- not probing yet\n")
        );
        let now = Instant::now();
        m.health
            .start(now, Some(Duration::from_secs(60)), "db.set-aside.jsonl");
        m.health.writer(now, 1, 0);
        let (code, body) = get("/healthz").await;
        assert_eq!(code, 200, "{body}");
        assert!(body.starts_with("ok: last check 0s ago"), "{body}");
        let (code, body) = get("/metrics").await;
        assert_eq!(code, 200);
        assert!(
            body.contains("slawatch_probe_checks_total{probe=\"shop\",kind=\"http\"} 0"),
            "{body}"
        );
        cancel.cancel();
        server.await.unwrap().unwrap();
    }

    /// Starts [`serve_bounded`] with a one-route app and `bounds`.
    async fn bounded(bounds: Bounds) -> (SocketAddr, CancellationToken) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok\n" }));
        let cancel = CancellationToken::new();
        tokio::spawn(serve_bounded(listener, app, bounds, cancel.clone()));
        (addr, cancel)
    }

    /// Reads until the server closes the connection (or `limit` passes: `None`).
    async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<String> {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        match tokio::time::timeout(limit, stream.read_to_end(&mut got)).await {
            Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
            Err(_) => None,
        }
    }

    async fn healthz(addr: SocketAddr) -> Option<String> {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        closed_within(&mut s, Duration::from_secs(10)).await
    }

    const LONG: Duration = Duration::from_secs(600);

    #[tokio::test]
    async fn connections_over_the_cap_are_closed_at_once() {
        let (addr, cancel) = bounded(Bounds {
            max_connections: 4,
            header_read_timeout: LONG,
            idle_timeout: LONG,
        })
        .await;
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        // Accepted in order, so the fifth finds every slot taken: closed, with
        // nothing sent, long before any timeout could have closed it.
        let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(
            closed_within(&mut extra, Duration::from_secs(60))
                .await
                .as_deref(),
            Some("")
        );
        // The held ones are still open; once they go, the endpoint answers again.
        drop(idle);
        let mut answer = None;
        for _ in 0..100 {
            answer = healthz(addr).await.filter(|a| !a.is_empty());
            if answer.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let answer = answer.expect("healthz answers once the idle clients left");
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"),
            "{answer}"
        );
        cancel.cancel();
    }

    #[tokio::test]
    async fn a_client_that_sends_nothing_is_closed_by_the_header_timeout() {
        let (addr, cancel) = bounded(Bounds {
            max_connections: 4,
            header_read_timeout: Duration::from_millis(200),
            idle_timeout: LONG,
        })
        .await;
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(
            closed_within(&mut silent, Duration::from_secs(60))
                .await
                .is_some()
        );
        // Half a request head, then silence: closed too.
        use tokio::io::AsyncWriteExt;
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHo")
            .await
            .unwrap();
        assert!(
            closed_within(&mut slow, Duration::from_secs(60))
                .await
                .is_some()
        );
        cancel.cancel();
    }

    #[tokio::test]
    async fn a_kept_alive_idle_connection_is_closed_by_the_idle_timeout() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (addr, cancel) = bounded(Bounds {
            max_connections: 4,
            header_read_timeout: LONG,
            idle_timeout: Duration::from_millis(300),
        })
        .await;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        // Kept alive, then idle: the server closes it.
        assert!(
            closed_within(&mut s, Duration::from_secs(60))
                .await
                .is_some()
        );
        cancel.cancel();
    }
}
