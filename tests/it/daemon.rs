//! `slawatch run` as a process: outages confirmed and stored, `kill -9` in the
//! middle of an outage loses at most the last second of checks, the restart
//! resumes and closes the outage, and the daemon's absence is a coverage gap.
//!
//! The services are in-process TCP listeners on 127.0.0.1 that count the
//! connections they accept: the count is what the daemon must have stored.

use crate::util::{closed_addr, slawatch_bin};
use slawatch::store::Reader;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A TCP service that records when it accepted each connection.
struct Counted {
    addr: SocketAddr,
    accepted: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
}

impl Counted {
    fn start(addr: SocketAddr) -> Counted {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (accepted.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        a.lock().unwrap().push(Instant::now());
                        drop(conn);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Counted {
            addr,
            accepted,
            stop,
        }
    }

    fn accepted_before(&self, t: Instant) -> usize {
        self.accepted
            .lock()
            .unwrap()
            .iter()
            .filter(|a| **a < t)
            .count()
    }

    fn total(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn config(dir: &Path, counter: SocketAddr, victim: SocketAddr) -> std::path::PathBuf {
    let path = dir.join("probes.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[daemon]
database = "evidence.db"
vantage = "test"
interval = "1s"
retry_interval = "1s"
timeout = "1s"
confirm_down = 2
confirm_up = 1

[[tcp]]
name = "counter"
target = "{counter}"

[[tcp]]
name = "victim"
target = "{victim}"
"#
        ),
    )
    .unwrap();
    path
}

fn start(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(slawatch_bin())
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Polls `f` every 100 ms for up to 20 s.
fn eventually<T>(what: &str, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "{what} did not happen within 20 s; daemon log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn reader(db: &Path) -> Option<Reader> {
    Reader::open(db).ok()
}

#[test]
fn kill_9_mid_outage_loses_at_most_a_second_and_the_outage_closes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let counter = Counted::start("127.0.0.1:0".parse().unwrap());
    // The victim's port: free now, so its checks are refused.
    let victim_addr = closed_addr();
    let cfg = config(dir.path(), counter.addr, victim_addr);

    let mut daemon = start(&cfg, &log);
    let open = eventually("the victim's outage to open", &log, || {
        let o = reader(&db)?.open_outages().ok()?;
        o.into_iter().find(|o| o.probe == "victim")
    });
    // Let the outage run a little, then pull the plug without warning.
    std::thread::sleep(Duration::from_millis(2500));
    let killed_at = Instant::now();
    daemon.kill().unwrap(); // SIGKILL
    daemon.wait().unwrap();
    let accepted_total = counter.total();
    let must_have = counter.accepted_before(killed_at - Duration::from_millis(1000));

    let r = reader(&db).unwrap();
    let counts = r.counts().unwrap();
    let states = r.probe_states().unwrap();
    let counter_checks: usize = {
        // checks of "counter" = all checks minus the victim's failures
        let victim_failures = usize::try_from(counts.failures).unwrap();
        usize::try_from(counts.checks).unwrap() - victim_failures
    };
    assert!(
        counter_checks >= must_have && counter_checks <= accepted_total,
        "stored {counter_checks} checks of 'counter'; it accepted {accepted_total}, \
         {must_have} of them more than a second before the kill"
    );
    assert!(
        states
            .iter()
            .any(|s| s.name == "victim" && s.open_outage.is_some()),
        "{states:?}"
    );
    drop(r);

    // The victim recovers while the daemon is away; the daemon comes back.
    let _victim = Counted::start(victim_addr);
    std::thread::sleep(Duration::from_millis(1500));
    let restarted_at = Instant::now();
    let mut daemon = start(&cfg, &log);
    let closed = eventually("the victim's outage to close", &log, || {
        let all = reader(&db)?.outages(None, Some("victim")).ok()?;
        all.iter().any(|o| o.end.is_some()).then_some(all)
    });
    assert_eq!(closed.len(), 1, "exactly one outage: {closed:?}");
    let o = &closed[0];
    assert_eq!(
        o.start, open.start,
        "the outage keeps its start across the crash"
    );
    assert!(o.failed_checks >= 2, "{o:?}");
    let end = o.end.unwrap();
    assert!(end > o.last_failure, "{o:?}");

    // Stop cleanly: SIGTERM drains and exits 0.
    let status = Command::new("kill")
        .args(["-s", "TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = daemon.wait().unwrap();
    assert!(exit.success(), "{exit:?}");

    // Coverage: two segments, the gap at least the time the daemon was dead
    // (minus the heartbeat period it may have missed before the kill).
    let cov = reader(&db)
        .unwrap()
        .coverage(
            slawatch::model::UtcMillis(0),
            slawatch::model::UtcMillis(i64::MAX),
        )
        .unwrap();
    assert_eq!(cov.len(), 2, "{cov:?}");
    let gap_ms = cov[1].start.0 - cov[0].end.0;
    let dead_ms = i64::try_from((restarted_at - killed_at).as_millis()).unwrap();
    assert!(
        gap_ms >= dead_ms - 1100,
        "coverage gap {gap_ms} ms, daemon dead for {dead_ms} ms"
    );
    // The outage's end comes after the restart's first heartbeat: the daemon
    // never claimed to see the recovery while it was dead.
    assert!(
        end >= cov[1].start,
        "end {end} before restart {}",
        cov[1].start
    );
}

#[test]
fn a_bad_configuration_exits_2_and_creates_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"soon\"\n",
    )
    .unwrap();
    let out = Command::new(slawatch_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("probes.toml:3:"), "{err}");
    assert!(!dir.path().join("evidence.db").exists());
}

#[test]
fn when_every_control_target_fails_checks_are_unknown_and_no_outage_opens() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let (victim, control_a, control_b) = (closed_addr(), closed_addr(), closed_addr());
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[daemon]
database = "evidence.db"
interval = "1s"
retry_interval = "1s"
timeout = "1s"
confirm_down = 2

[[control]]
name = "control-a"
tcp = "{control_a}"

[[control]]
name = "control-b"
tcp = "{control_b}"

[[tcp]]
name = "victim"
target = "{victim}"
"#
        ),
    )
    .unwrap();
    let mut daemon = start(&cfg, &log);
    let states = eventually("four checks of the victim", &log, || {
        let r = reader(&db)?;
        (r.counts().ok()?.checks >= 4).then(|| r.probe_states().ok())?
    });
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let r = reader(&db).unwrap();
    assert_eq!(r.outages(None, None).unwrap(), vec![], "no outage may open");
    let counts = r.counts().unwrap();
    assert_eq!(counts.failures, 0, "no check may count as down: {counts:?}");
    let victim = states.iter().find(|s| s.name == "victim").unwrap();
    assert_eq!(
        victim.last_check.map(|c| (c.1, c.2)),
        Some((
            slawatch::model::Status::Unknown,
            Some(slawatch::model::ErrorClass::Unknown)
        ))
    );
}

/// Milliseconds since the epoch now, to compare with the instants the daemon stores.
#[expect(
    clippy::disallowed_methods,
    reason = "the test compares the daemon's wall-clock stamps with when it stopped a server"
)]
fn wall_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Issue 5's "must show" against real nginx: with a 5 s interval, a server stopped
/// for 60 s (SIGKILL: `refused`) and one frozen for 60 s (SIGSTOP: `timeout`) each
/// give exactly one outage starting and ending within one interval of the stop and
/// the restart; a server frozen for a single failed check gives no outage.
#[test]
fn real_servers_stopped_or_frozen_for_a_minute_give_one_outage_each() {
    use crate::peers::nginx::Nginx;
    const INTERVAL_MS: i64 = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let mut stopped = Nginx::start();
    let frozen = Nginx::start();
    let blip = Nginx::start();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[daemon]
database = "evidence.db"
interval = "5s"
retry_interval = "5s"
timeout = "2s"
confirm_down = 2
confirm_up = 1

[[http]]
name = "stopped"
url = "{}"

[[http]]
name = "frozen"
url = "{}"

[[http]]
name = "blip"
url = "{}"
"#,
            stopped.http_url("/health"),
            frozen.http_url("/health"),
            blip.http_url("/health"),
        ),
    )
    .unwrap();
    let mut daemon = start(&cfg, &log);
    eventually("a first up check of every probe", &log, || {
        let states = reader(&db)?.probe_states().ok()?;
        (states.len() == 3
            && states.iter().all(|s| {
                s.last_check
                    .is_some_and(|c| c.1 == slawatch::model::Status::Up)
            }))
        .then_some(())
    });

    // One failed check only: freeze "blip" until the daemon has recorded a failure.
    blip.daemon.freeze();
    eventually("one failed check of 'blip'", &log, || {
        let s = reader(&db)?.probe_states().ok()?;
        let b = s.into_iter().find(|s| s.name == "blip")?;
        (b.last_check?.1 == slawatch::model::Status::Down).then_some(())
    });
    blip.daemon.thaw();

    let stop_at = wall_ms();
    stopped.daemon.kill();
    frozen.daemon.freeze();
    std::thread::sleep(Duration::from_secs(60));
    let restart_begun = wall_ms();
    stopped.restart();
    frozen.daemon.thaw();
    let back_at = wall_ms();
    let outages = eventually("both outages to close", &log, || {
        let all = reader(&db)?.outages(None, None).ok()?;
        (all.iter().filter(|o| o.end.is_some()).count() >= 2).then_some(all)
    });
    let _ = Command::new("kill")
        .args(["-s", "TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().unwrap().success());

    let by = |name: &str| -> Vec<&slawatch::outage::Outage> {
        outages.iter().filter(|o| o.probe == name).collect()
    };
    assert_eq!(
        by("blip"),
        Vec::<&slawatch::outage::Outage>::new(),
        "one failure is no outage"
    );
    for (name, class) in [
        ("stopped", slawatch::model::ErrorClass::Refused),
        ("frozen", slawatch::model::ErrorClass::Timeout),
    ] {
        let list = by(name);
        assert_eq!(list.len(), 1, "exactly one outage of {name}: {outages:?}");
        let o = list[0];
        assert_eq!(o.class, class, "{o:?}");
        let (start, end) = (o.start.0, o.end.unwrap().0);
        assert!(
            (stop_at..=stop_at + INTERVAL_MS).contains(&start),
            "{name}: outage starts {} ms after the stop",
            start - stop_at
        );
        // Retries run start to start every interval, so the first success comes at
        // most one interval after the service is back; 500 ms covers the check's own
        // duration and scheduling on a loaded 2-core machine. A check is stamped when
        // it starts: one that was waiting on the frozen server when it was thawed
        // succeeds with a start up to one timeout (2 s) before the thaw.
        assert!(
            (restart_begun - 2_000..=back_at + INTERVAL_MS + 500).contains(&end),
            "{name}: outage ends {} ms after the service was back",
            end - back_at
        );
    }
}

#[test]
fn sighup_reloads_a_good_configuration_and_keeps_the_old_one_on_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let a = Counted::start("127.0.0.1:0".parse().unwrap());
    let b = Counted::start("127.0.0.1:0".parse().unwrap());
    let cfg = dir.path().join("probes.toml");
    let write = |probes: &str| {
        std::fs::write(
            &cfg,
            format!(
                "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"1s\"\nretry_interval = \"1s\"\ntimeout = \"1s\"\n{probes}"
            ),
        )
        .unwrap();
    };
    let hup = |child: &Child| {
        assert!(
            Command::new("kill")
                .args(["-s", "HUP", &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
    };
    write(&format!("[[tcp]]\nname = \"a\"\ntarget = \"{}\"\n", a.addr));
    let mut daemon = start(&cfg, &log);
    eventually("a check of 'a'", &log, || {
        reader(&db)?.last_check_at("a").ok()?.map(|_| ())
    });

    // A bad file: the log says why, and "a" goes on being checked.
    write("[[tcp]]\nname = \"a\"\ntarget = \"not an address\"\n");
    hup(&daemon);
    eventually("the refusal in the log", &log, || {
        std::fs::read_to_string(&log)
            .ok()?
            .contains("reload refused, the running configuration stays")
            .then_some(())
    });
    let seen = a.total();
    eventually("more checks of 'a' after the bad reload", &log, || {
        (a.total() >= seen + 2).then_some(())
    });

    // A good file with "b" instead of "a": "b" is checked, "a" no more.
    write(&format!("[[tcp]]\nname = \"b\"\ntarget = \"{}\"\n", b.addr));
    hup(&daemon);
    eventually("a check of 'b'", &log, || (b.total() >= 2).then_some(()));
    let a_after = a.total();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        a.total() <= a_after + 1,
        "'a' is still checked after the reload"
    );
    daemon.kill().unwrap();
    daemon.wait().unwrap();
}

/// The README's first command: examples/first-run.toml runs with nothing set up and
/// its one probe (the daemon's own /metrics) is recorded up.
#[test]
fn the_first_run_example_records_its_probe_up() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let example =
        std::fs::read_to_string(crate::util::repo_file("examples/first-run.toml")).unwrap();
    let port = closed_addr().port();
    let cfg = dir.path().join("first-run.toml");
    std::fs::write(
        &cfg,
        example.replace("127.0.0.1:9187", &format!("127.0.0.1:{port}")),
    )
    .unwrap();
    let mut daemon = start(&cfg, &log);
    let db = dir.path().join("first-run.db");
    eventually("the own-metrics probe recorded up", &log, || {
        let states = reader(&db)?.probe_states().ok()?;
        let s = states.into_iter().find(|s| s.name == "own-metrics")?;
        (s.last_check?.1 == slawatch::model::Status::Up).then_some(())
    });
    let _ = Command::new("kill")
        .args(["-s", "INT", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().unwrap().success(), "Ctrl-C stops it cleanly");
}

/// systemd's notify protocol, as `Type=notify` and `WatchdogSec` need it: READY once
/// probing, WATCHDOG with the heartbeat, RELOADING then READY on SIGHUP, STOPPING on
/// SIGTERM.
#[test]
fn the_daemon_speaks_sd_notify() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"1s\"\nretry_interval = \"1s\"\n\
             timeout = \"1s\"\n[[tcp]]\nname = \"x\"\ntarget = \"{}\"\n",
            closed_addr()
        ),
    )
    .unwrap();
    let log_file = std::fs::File::create(&log).unwrap();
    let mut daemon = Command::new(slawatch_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &socket_path)
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut wait_for = |what: &str| {
        let mut buf = [0u8; 512];
        loop {
            let n = socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no {what} from the daemon ({e}); saw {seen:?}"));
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l == what);
            seen.push(msg);
            if hit {
                return;
            }
        }
    };
    wait_for("READY=1");
    wait_for("WATCHDOG=1");
    let signal = |sig: &str| {
        Command::new("kill")
            .args(["-s", sig, &daemon.id().to_string()])
            .status()
            .unwrap();
    };
    signal("HUP");
    wait_for("RELOADING=1");
    wait_for("READY=1");
    signal("TERM");
    wait_for("STOPPING=1");
    assert!(daemon.wait().unwrap().success());
}

/// Issue 11's lab test against real nginx: a server frozen (SIGSTOP) for a few
/// seconds and thawed gives one outage whose end is at or after the thaw. Checks run
/// back to back while it hangs (timeout 2 s, retries 2 s start to start), so one is always
/// waiting on the frozen server when it is thawed: it started before the thaw and was
/// answered after, and the outage ends when it was answered, not when it started.
#[test]
fn a_frozen_and_thawed_nginx_gives_an_outage_ending_at_or_after_the_thaw() {
    use crate::peers::nginx::Nginx;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let nginx = Nginx::start();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[daemon]
database = "evidence.db"
interval = "2s"
retry_interval = "2s"
timeout = "2s"
confirm_down = 2
confirm_up = 1

[[http]]
name = "site"
url = "{}"
"#,
            nginx.http_url("/health"),
        ),
    )
    .unwrap();
    let mut daemon = start(&cfg, &log);
    eventually("a first up check", &log, || {
        let s = reader(&db)?.probe_states().ok()?;
        (s.first()?.last_check?.1 == slawatch::model::Status::Up).then_some(())
    });
    let frozen_at = wall_ms();
    nginx.daemon.freeze();
    eventually("the outage to open", &log, || {
        (!reader(&db)?.open_outages().ok()?.is_empty()).then_some(())
    });
    // A little longer, so a check is surely waiting on the frozen server.
    std::thread::sleep(Duration::from_millis(1500));
    let thawed_at = wall_ms();
    nginx.daemon.thaw();
    let outages = eventually("the outage to close", &log, || {
        let all = reader(&db)?.outages(None, None).ok()?;
        all.iter().any(|o| o.end.is_some()).then_some(all)
    });
    let _ = Command::new("kill")
        .args(["-s", "TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().unwrap().success());
    assert_eq!(outages.len(), 1, "{outages:?}");
    let o = &outages[0];
    assert_eq!(o.class, slawatch::model::ErrorClass::Timeout, "{o:?}");
    assert!(o.start.0 >= frozen_at, "{o:?} starts before the freeze");
    let end = o.end.unwrap().0;
    assert!(
        end >= thawed_at,
        "the outage ends {} ms before the thaw: {o:?}",
        thawed_at - end
    );
    // And not long after it: the check waiting at the thaw was answered at once.
    assert!(
        end - thawed_at < 3_000,
        "{} ms after the thaw",
        end - thawed_at
    );
    assert!(end > o.last_failure.0, "{o:?}");
}

/// libfaketime (Debian's `libfaketime`, installed by `scripts/test.sh`): fakes the
/// daemon's wall clock only, from a file the test rewrites.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// Issue 11: the wall clock steps 2 hours back in the middle of an outage (libfaketime
/// in the daemon's process; its monotonic clock is left alone). The outage still ends
/// after it starts, lasts as long as it really did, and the step is recorded.
#[test]
fn a_two_hour_backward_clock_step_leaves_the_outage_intact() {
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: apt-get install libfaketime (scripts/test.sh does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let fake = dir.path().join("faketime");
    std::fs::write(&fake, "+0\n").unwrap();
    let counter = Counted::start("127.0.0.1:0".parse().unwrap());
    let victim_addr = closed_addr();
    let cfg = config(dir.path(), counter.addr, victim_addr);
    let began = Instant::now();
    let out = std::fs::File::create(&log).unwrap();
    let mut daemon = Command::new(slawatch_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "info")
        .env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME_TIMESTAMP_FILE", &fake)
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("FAKETIME_NO_CACHE", "1")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    eventually("the victim's outage to open", &log, || {
        let o = reader(&db)?.open_outages().ok()?;
        o.into_iter().find(|o| o.probe == "victim")
    });
    // Atomically: libfaketime reads the file at every clock read.
    let next = dir.path().join("faketime.next");
    std::fs::write(&next, "-2h\n").unwrap();
    std::fs::rename(&next, &fake).unwrap();
    let stepped = Instant::now();
    // Failed checks after the step, then the victim answers again.
    std::thread::sleep(Duration::from_millis(2500));
    let back = Counted::start(victim_addr);
    let returned = Instant::now();
    let outages = eventually("the outage to close", &log, || {
        let all = reader(&db)?.outages(None, Some("victim")).ok()?;
        all.iter().any(|o| o.end.is_some()).then_some(all)
    });
    let closed_seen = Instant::now();
    let _ = Command::new("kill")
        .args(["-s", "TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().unwrap().success());
    drop(back);

    assert_eq!(outages.len(), 1, "{outages:?}");
    let o = &outages[0];
    let (start, end) = (o.start.0, o.end.unwrap().0);
    assert!(end >= start, "the outage ends before it starts: {o:?}");
    assert!(end > o.last_failure.0 && o.last_failure >= o.start, "{o:?}");
    // It lasted at least from the step to the return, and at most as long as the test.
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap();
    let lasted = end - start;
    assert!(
        lasted >= ms(returned - stepped) && lasted <= ms(closed_seen - began),
        "lasted {lasted} ms; {} ms between the step and the return, {} ms in all: {o:?}",
        ms(returned - stepped),
        ms(closed_seen - began)
    );
    let steps = reader(&db).unwrap().meta_keys("clock_step:").unwrap();
    assert_eq!(steps.len(), 1, "the step is recorded once: {steps:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("the wall clock stepped back"),
        "the step is logged:\n{text}"
    );
}

/// Issue 11: a check that panics (a bug in slawatch) becomes an `unknown` check of its
/// probe, and the probe goes on being checked; the other probes are untouched. The
/// daemon runs in-process with a runner whose checks of "victim" panic.
#[test]
fn a_probe_whose_check_panics_gets_unknown_checks_and_goes_on() {
    use slawatch::config::Probe;
    use slawatch::model::{Check, Phases, Status, UtcMillis};
    use slawatch::scheduler::{BoxFuture, Runner};

    struct Buggy;
    impl Runner for Buggy {
        fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check> {
            Box::pin(async move {
                assert!(probe.name != "victim", "a bug while checking 'victim'");
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

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), closed_addr(), closed_addr());
    let db = dir.path().join("evidence.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let (ran, ()) = rt.block_on(async {
        tokio::join!(
            slawatch::daemon::run_with(
                &cfg,
                &|_| -> Arc<dyn Runner> { Arc::new(Buggy) },
                stop.clone()
            ),
            async {
                tokio::time::sleep(Duration::from_secs(4)).await;
                stop.cancel();
            }
        )
    });
    ran.unwrap();

    let r = reader(&db).unwrap();
    let spans = |name: &str| {
        r.check_spans(name, UtcMillis(0), UtcMillis(i64::MAX))
            .unwrap()
    };
    let victim = spans("victim");
    let checks: i64 = victim.iter().map(|s| s.count).sum();
    assert!(
        checks >= 3,
        "the probe goes on being checked after a panic: {victim:?}"
    );
    assert!(
        victim.iter().all(|s| s.status == Status::Unknown),
        "a panic is unknown, never down: {victim:?}"
    );
    assert!(spans("counter").iter().all(|s| s.status == Status::Up));
    assert_eq!(r.outages(None, None).unwrap(), vec![], "no outage");
}
