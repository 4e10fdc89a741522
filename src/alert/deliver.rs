//! The durable alert queue: alerts are stored before they are sent, and a tokio
//! task delivers what is pending.
//!
//! The daemon raises an alert through [`Queue::raise`]: rendered once per channel,
//! each (channel, key) not seen before is recorded in the store (the writer commits
//! within a second) and handed to the delivery task. Raising a key again does
//! nothing: the queue knows every key stored, read at start.
//!
//! The delivery task sends each pending alert, at most [`MAX_SENDING`] at once,
//! and hands every attempt back to the daemon (which appends it to the store). A
//! failed attempt is retried after [`backoff`]: 10 s after the first failure,
//! doubling up to 1 h, no jitter (so the schedule is known in advance); an alert
//! still undelivered [`GIVE_UP_AFTER`] (3 days) after it was raised is given up at
//! its next failed attempt (`failed`). At start the alerts the database holds as
//! pending are read back and resumed where their attempts left off.
//!
//! Invariant: the probing loop never waits for a delivery: raising an alert is a
//! store record and a send on an unbounded channel (alerts are few: the policy
//! keeps one per state change, digests and damps floods).
//! Invariant: an alert is stored before its first attempt, and every attempt is
//! stored after it (a crash between them sends it again: at least once).

use super::{Alert, Alerter};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::model::UtcMillis;
use crate::store::{AlertState, Attempt, NewAlert, Outcome, Store, StoreError, StoredAlert};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The longest one attempt may take, whatever the channel does (a server that
/// accepts the connection and never answers must not hold a slot for ever); a
/// webhook's own `timeout`, when longer, plus a margin (see `Alerter::attempt_limit`).
pub(crate) const ATTEMPT_LIMIT: Duration = Duration::from_secs(30);
/// Deliveries running at once at most.
pub(crate) const MAX_SENDING: usize = 4;
/// The wait after the first failed attempt; doubled after each further one.
pub(crate) const FIRST_RETRY: Duration = Duration::from_secs(10);
/// The longest wait between two attempts.
pub(crate) const MAX_RETRY: Duration = Duration::from_secs(3600);
/// An alert still undelivered this long after it was raised is given up at its
/// next failed attempt.
pub(crate) const GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 86_400);

/// The wait, in ms, after the `failed`-th failed attempt (1, 2, ...): 10 s, 20 s,
/// 40 s ... up to 1 h.
pub(crate) fn backoff(failed: u32) -> i64 {
    let first = i64::try_from(FIRST_RETRY.as_millis()).unwrap_or(i64::MAX);
    let max = i64::try_from(MAX_RETRY.as_millis()).unwrap_or(i64::MAX);
    let shift = failed.saturating_sub(1).min(20);
    first.saturating_mul(1 << shift).min(max)
}

fn give_up_ms() -> i64 {
    i64::try_from(GIVE_UP_AFTER.as_millis()).unwrap_or(i64::MAX)
}

enum Cmd {
    Send(NewAlert),
    Channels(Alerter),
}

/// The daemon's side of the queue: raises alerts, and knows the keys stored.
pub(crate) struct Queue {
    alerter: Alerter,
    known: HashSet<(String, String)>,
    tx: mpsc::UnboundedSender<Cmd>,
}

/// The delivery task's handle: its attempts to store, and its end.
pub(crate) struct Running {
    /// Every attempt, to append to the store.
    pub(crate) attempts: mpsc::UnboundedReceiver<Attempt>,
    /// The task; it ends after `stop` once the sends in flight are done.
    pub(crate) task: tokio::task::JoinHandle<()>,
}

impl Queue {
    /// Starts the delivery task with the alerts `stored` (every alert of the
    /// database: the pending ones are resumed, all their keys known). Must be called
    /// inside a tokio runtime.
    pub(crate) fn start(
        alerter: Alerter,
        stored: Vec<StoredAlert>,
        clock: Arc<Clock>,
        metrics: Arc<Metrics>,
        stop: CancellationToken,
    ) -> (Queue, Running) {
        let known = stored
            .iter()
            .map(|s| (s.alert.channel.clone(), s.alert.key.clone()))
            .collect();
        let now = clock.now();
        let items: Vec<Item> = stored
            .into_iter()
            .filter(|s| s.state == AlertState::Pending)
            .map(|s| Item {
                next_at: s
                    .last_attempt
                    .map_or(now.0, |l| l.0.saturating_add(backoff(s.attempts))),
                failed: s.attempts,
                alert: s.alert,
                sending: false,
            })
            .collect();
        if !items.is_empty() {
            tracing::info!(
                pending = items.len(),
                "resuming the delivery of alerts still pending"
            );
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (attempts_tx, attempts) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            Task {
                alerter: alerter.clone(),
                items,
                clock,
                metrics,
                attempts: attempts_tx,
            },
            rx,
            stop,
        ));
        (Queue { alerter, known, tx }, Running { attempts, task })
    }

    /// Stores `alert` once per channel and queues its delivery; a key already
    /// stored on a channel is left alone.
    ///
    /// # Errors
    /// Only when the store's writer has stopped.
    pub(crate) fn raise(
        &mut self,
        store: &Store,
        alert: &Alert,
        vantage: &str,
    ) -> Result<(), StoreError> {
        for a in self.alerter.render(alert, vantage) {
            if !self.known.insert((a.channel.clone(), a.key.clone())) {
                continue;
            }
            store.record_alert(&a)?;
            // The task gone (stopping): the alert is stored, the next start sends it.
            let _ = self.tx.send(Cmd::Send(a));
        }
        Ok(())
    }

    /// The configuration was reloaded: new alerts go through `alerter`'s channels,
    /// and pending ones on a channel that is gone fail until they are given up.
    pub(crate) fn set_channels(&mut self, alerter: Alerter) {
        self.alerter = alerter.clone();
        let _ = self.tx.send(Cmd::Channels(alerter));
    }
}

struct Item {
    alert: NewAlert,
    /// Failed attempts so far.
    failed: u32,
    /// When the next attempt is due (ms).
    next_at: i64,
    sending: bool,
}

struct Task {
    alerter: Alerter,
    items: Vec<Item>,
    clock: Arc<Clock>,
    metrics: Arc<Metrics>,
    attempts: mpsc::UnboundedSender<Attempt>,
}

type Done = (String, String, Result<(), String>, Duration);

async fn run(mut t: Task, mut rx: mpsc::UnboundedReceiver<Cmd>, stop: CancellationToken) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sending = 0usize;
    loop {
        t.metrics
            .alerts_pending
            .store(u64::try_from(t.items.len()).unwrap_or(0), Ordering::Relaxed);
        let now = t.clock.now().0;
        for item in t.items.iter_mut() {
            if sending >= MAX_SENDING {
                break;
            }
            if item.sending || item.next_at > now {
                continue;
            }
            item.sending = true;
            sending += 1;
            let (alerter, alert, done) = (t.alerter.clone(), item.alert.clone(), done_tx.clone());
            let at = UtcMillis(now);
            tokio::spawn(async move {
                let t0 = Instant::now();
                let limit = alerter.attempt_limit(&alert.channel);
                let result = tokio::time::timeout(limit, alerter.deliver(&alert, at))
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {limit:?}")));
                let _ = done.send((alert.channel, alert.key, result, t0.elapsed()));
            });
        }
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(Cmd::Send(alert)) => t.items.push(Item { alert, failed: 0, next_at: now, sending: false }),
                Some(Cmd::Channels(a)) => t.alerter = a,
                None => break,
            },
            Some(d) = done_rx.recv() => {
                sending = sending.saturating_sub(1);
                t.finish(d);
            }
            _ = tick.tick() => {}
            () = stop.cancelled() => break,
        }
    }
    // Stopping: the sends in flight end by their timeouts; their outcomes are stored.
    // What is still pending stays pending in the database, for the next start.
    while sending > 0 {
        match done_rx.recv().await {
            Some(d) => {
                sending -= 1;
                t.finish(d);
            }
            None => break,
        }
    }
}

impl Task {
    fn finish(&mut self, (channel, key, result, took): Done) {
        let Some(i) = self
            .items
            .iter()
            .position(|it| it.alert.channel == channel && it.alert.key == key)
        else {
            return;
        };
        let now = self.clock.now();
        let took_ms = Some(i64::try_from(took.as_millis()).unwrap_or(i64::MAX));
        let outcome = match &result {
            Ok(()) => {
                self.items.swap_remove(i);
                self.metrics.alerts_sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(channel = %channel, key = %key, "alert delivered");
                Outcome::Sent
            }
            Err(why) => {
                let Some(item) = self.items.get_mut(i) else {
                    return;
                };
                item.failed = item.failed.saturating_add(1);
                if now.0.saturating_sub(item.alert.raised_at.0) >= give_up_ms() {
                    self.items.swap_remove(i);
                    self.metrics.alerts_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(channel = %channel, key = %key, "alert not delivered, given up after {GIVE_UP_AFTER:?}: {why}");
                    Outcome::Failed
                } else {
                    item.sending = false;
                    item.next_at = now.0.saturating_add(backoff(item.failed));
                    tracing::warn!(
                        channel = %channel,
                        key = %key,
                        attempt = item.failed,
                        retry_in_ms = backoff(item.failed),
                        "alert not delivered; retried later: {why}"
                    );
                    Outcome::Error
                }
            }
        };
        let _ = self.attempts.send(Attempt {
            channel,
            key,
            at: now,
            outcome,
            error: result.err(),
            took_ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI64;

    const DAY: i64 = 86_400_000;

    fn stored(key: &str, raised_at: i64, attempts: u32, last: Option<i64>) -> StoredAlert {
        StoredAlert {
            alert: NewAlert {
                channel: "webhook 1 (http://gone.test)".into(),
                key: key.into(),
                event: "outage_opened".into(),
                raised_at: UtcMillis(raised_at),
                subject: None,
                body: "{}".into(),
                html: None,
            },
            attempts,
            last_attempt: last.map(UtcMillis),
            last_error: None,
            sent_at: None,
            state: AlertState::Pending,
        }
    }

    async fn next(d: &mut Running) -> Attempt {
        tokio::time::timeout(Duration::from_secs(10), d.attempts.recv())
            .await
            .ok()
            .flatten()
            .unwrap()
    }

    #[tokio::test]
    async fn pending_alerts_resume_on_schedule_and_are_given_up_after_3_days() {
        let t0 = 1_764_000_000_000;
        let wall = Arc::new(AtomicI64::new(t0));
        let w = wall.clone();
        let clock = Arc::new(Clock::with_wall(move || {
            UtcMillis(w.load(Ordering::Relaxed))
        }));
        let metrics = Arc::new(Metrics::default());
        let stop = CancellationToken::new();
        // No channel configured: every attempt fails ("no longer configured").
        let (_queue, mut d) = Queue::start(
            Alerter::new(&crate::config::Alerts::default()),
            vec![
                // Raised 2 days ago, 2 failed attempts, the last one just now: next
                // in 20 s, not yet.
                stored("down:a:1", t0 - 2 * DAY, 2, Some(t0)),
                // Raised 3 days ago, last tried 30 s ago after one failure: due now,
                // and its failure now is its last.
                stored("down:b:1", t0 - 3 * DAY, 1, Some(t0 - 30_000)),
            ],
            clock,
            metrics.clone(),
            stop.clone(),
        );
        let b = next(&mut d).await;
        assert_eq!((b.key.as_str(), b.outcome), ("down:b:1", Outcome::Failed));
        assert!(
            b.error
                .as_deref()
                .is_some_and(|e| e.contains("no longer configured"))
        );
        assert_eq!(metrics.alerts_failed.load(Ordering::Relaxed), 1);
        // 20 s later (on the wall clock) the other one is tried, and retried later.
        wall.store(t0 + 20_000, Ordering::Relaxed);
        let a = next(&mut d).await;
        assert_eq!((a.key.as_str(), a.outcome), ("down:a:1", Outcome::Error));
        assert!((t0 + 20_000..t0 + 21_000).contains(&a.at.0), "{a:?}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(d.attempts.try_recv().is_err(), "retried before its backoff");
        assert_eq!(metrics.alerts_pending.load(Ordering::Relaxed), 1);
        stop.cancel();
        d.task.await.unwrap();
    }

    #[tokio::test]
    async fn a_key_is_stored_and_sent_once_per_channel_also_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("q.db");
        let store = Store::open(&db).unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let alerts = crate::config::Alerts {
            webhooks: vec![crate::config::Webhook {
                url: crate::config::Secret::new(format!("http://{closed}/hook")),
                secret: None,
                headers: Vec::new(),
                timeout: std::time::Duration::from_secs(10),
            }],
            ..crate::config::Alerts::default()
        };
        let channel = format!("webhook 1 (http://{closed})");
        // What an earlier run stored: `down:a:1` on this channel, delivered.
        let mut before = stored("down:a:1", 1_000, 1, Some(2_000));
        before.alert.channel = channel.clone();
        before.state = AlertState::Sent;
        let stop = CancellationToken::new();
        let (mut queue, mut d) = Queue::start(
            Alerter::new(&alerts),
            vec![before],
            Arc::new(Clock::system()),
            Arc::new(Metrics::default()),
            stop.clone(),
        );
        let alert = |key: &str| Alert {
            key: key.into(),
            // Raised now: an alert raised over 3 days ago fails at its first error.
            raised_at: crate::probe::net::wall_clock_now(),
            lang: crate::report::Lang::En,
            event: super::super::AlertEvent::Test,
        };
        for key in ["down:a:1", "down:b:1", "down:b:1"] {
            queue.raise(&store, &alert(key), "fra-1").unwrap();
        }
        // One attempt, of the new key only (the port refuses: retried in 10 s).
        let first = next(&mut d).await;
        assert_eq!(
            (first.key.as_str(), first.outcome),
            ("down:b:1", Outcome::Error)
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(d.attempts.try_recv().is_err(), "a key was sent twice");
        stop.cancel();
        d.task.await.unwrap();
        store.close().unwrap();
        let keys: Vec<(String, String)> = crate::store::Reader::open(&db)
            .unwrap()
            .alerts(None)
            .unwrap()
            .into_iter()
            .map(|s| (s.alert.channel, s.alert.key))
            .collect();
        assert_eq!(keys, [(channel, "down:b:1".to_owned())]);
    }

    #[test]
    fn the_backoff_doubles_from_10_s_up_to_an_hour_without_jitter() {
        let secs: Vec<i64> = (1..=11).map(|n| backoff(n) / 1000).collect();
        assert_eq!(
            secs,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(backoff(u32::MAX), 3_600_000);
    }
}
