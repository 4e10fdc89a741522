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
    let write = |probes: &str| write_one_second_config(&cfg, probes);
    let hup = |child: &Child| signal(child, "HUP");
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

/// The README's alternative to the demo, the daemon on its own: examples/first-run.toml
/// runs with nothing set up and its one probe (the daemon's own /metrics) is recorded up.
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

/// Waits up to 15 s for `child` to exit; kills it and fails if it does not.
fn exits_within_15_s(child: &mut Child, what: &str, log: &Path) -> std::process::ExitStatus {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "{what} still running after 15 s; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Sends `sig` (`TERM`, `HUP`) to `child`, asserting `kill` succeeded.
fn signal(child: &Child, sig: &str) {
    assert!(
        Command::new("kill")
            .args(["-s", sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

fn sigterm(child: &Child) {
    signal(child, "TERM");
}

/// Writes a daemon configuration with `evidence.db` and 1 s interval, retry and
/// timeout, followed by `probes`.
fn write_one_second_config(cfg: &Path, probes: &str) {
    std::fs::write(
        cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"1s\"\nretry_interval = \"1s\"\ntimeout = \"1s\"\n{probes}"
        ),
    )
    .unwrap();
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((code, body))
}

/// The checks of `probe` stored so far (its runs' counts plus its failures).
fn checks_of(db: &Path, probe: &str) -> Option<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row(
        "SELECT (SELECT coalesce(sum(count), 0) FROM runs WHERE probe_id = p.id)
              + (SELECT count(*) FROM failures WHERE probe_id = p.id)
         FROM probes p WHERE p.name = ?1",
        [probe],
        |r| r.get(0),
    )
    .ok()
}

/// Adds a trigger to the daemon's database (waiting for its write lock).
fn add_trigger(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Issue 11: a second `slawatch run` on the same database used to start, seal the
/// first daemon's open runs and wedge it. Now it exits 1 naming the holder (the
/// first daemon's pid) and the lock file, while the first goes on and stores every
/// check; readers still work meanwhile.
#[test]
fn a_second_daemon_on_the_same_database_is_refused_and_the_first_stores_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let log2 = dir.path().join("second.log");
    let db = dir.path().join("evidence.db");
    let counter = Counted::start("127.0.0.1:0".parse().unwrap());
    let cfg = config(dir.path(), counter.addr, closed_addr());
    let mut first = start(&cfg, &log);
    eventually("a check of 'counter'", &log, || {
        reader(&db)?.last_check_at("counter").ok()?.map(|_| ())
    });
    let mut second = start(&cfg, &log2);
    let status = exits_within_15_s(&mut second, "the second daemon", &log2);
    assert_eq!(status.code(), Some(1), "{status:?}");
    let err = std::fs::read_to_string(&log2).unwrap();
    assert!(
        err.contains(&format!("pid {}", first.id())) && err.contains("evidence.db.lock"),
        "{err}"
    );
    // Readers work while the daemon holds the lock.
    let out = Command::new(slawatch_bin())
        .args(["status", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("counter"));
    let out = Command::new(slawatch_bin())
        .args([
            "incident",
            "add",
            "--probe",
            "counter",
            "--source",
            "manual",
            "--start",
            "2026-01-10T08:00:00Z",
            "--end",
            "2026-01-10T09:00:00Z",
            "--note",
            "seen before monitoring",
            "--database",
        ])
        .arg(&db)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "incident add while the daemon runs: {out:?}"
    );
    // The first goes on: more checks, then a clean stop with every one stored.
    let seen = counter.total();
    eventually("more checks of 'counter'", &log, || {
        (counter.total() >= seen + 3).then_some(())
    });
    sigterm(&first);
    assert!(first.wait().unwrap().success());
    let stored = checks_of(&db, "counter").unwrap();
    assert_eq!(
        stored,
        i64::try_from(counter.total()).unwrap(),
        "every accepted check stored"
    );
    assert!(!slawatch::store::set_aside_path(&db).exists());
}

/// Issue 11: a failed commit of the probes on SIGHUP used to end the daemon (and
/// lose the checks it held). Now it is logged and set aside, and probing goes on.
#[test]
fn a_failed_flush_on_reload_is_logged_and_the_daemon_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let a = Counted::start("127.0.0.1:0".parse().unwrap());
    let b = Counted::start("127.0.0.1:0".parse().unwrap());
    let cfg = dir.path().join("probes.toml");
    let write = |probes: &str| write_one_second_config(&cfg, probes);
    write(&format!("[[tcp]]\nname = \"a\"\ntarget = \"{}\"\n", a.addr));
    let mut daemon = start(&cfg, &log);
    eventually("a check of 'a'", &log, || {
        reader(&db)?.last_check_at("a").ok()?.map(|_| ())
    });
    // The database refuses probe "b": registering it on reload fails.
    add_trigger(
        &db,
        "CREATE TRIGGER no_b BEFORE INSERT ON probes WHEN NEW.name = 'b'
         BEGIN SELECT RAISE(ABORT, 'no b here'); END;",
    );
    write(&format!(
        "[[tcp]]\nname = \"a\"\ntarget = \"{}\"\n[[tcp]]\nname = \"b\"\ntarget = \"{}\"\n",
        a.addr, b.addr
    ));
    signal(&daemon, "HUP");
    eventually("the failed registration in the log", &log, || {
        std::fs::read_to_string(&log)
            .ok()?
            .contains("registering the reloaded probes failed; going on")
            .then_some(())
    });
    let before = checks_of(&db, "a").unwrap();
    eventually("more checks of 'a' stored after the reload", &log, || {
        (checks_of(&db, "a")? >= before + 3).then_some(())
    });
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon ended");
    assert!(b.total() >= 1, "'b' is probed");
    sigterm(&daemon);
    let exit = exits_within_15_s(&mut daemon, "the daemon", &log);
    assert!(exit.success(), "{exit:?}");
    let set_aside = std::fs::read_to_string(slawatch::store::set_aside_path(&db)).unwrap();
    assert!(set_aside.contains("no b here"), "{set_aside}");
}

/// Issue 11: with one probe's failed checks refused by the database (a trigger), the
/// other probe's checks are still stored, the refused ones are set aside and counted
/// in /metrics, and /healthz answers 503 saying so (it used to answer 200 while
/// the writer was wedged).
#[test]
fn refused_checks_are_set_aside_the_rest_stored_and_healthz_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let good = Counted::start("127.0.0.1:0".parse().unwrap());
    let metrics = closed_addr();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"1s\"\nretry_interval = \"1s\"\n\
             timeout = \"1s\"\nmetrics_listen = \"{metrics}\"\n\
             [[tcp]]\nname = \"good\"\ntarget = \"{}\"\n\
             [[tcp]]\nname = \"bad\"\ntarget = \"{}\"\n",
            good.addr,
            closed_addr()
        ),
    )
    .unwrap();
    let mut daemon = start(&cfg, &log);
    eventually("a failed check of 'bad' stored", &log, || {
        (checks_of(&db, "bad")? >= 1).then_some(())
    });
    let (code, body) = eventually("/healthz to answer", &log, || http_get(metrics, "/healthz"));
    assert_eq!(code, 200, "{body}");
    add_trigger(
        &db,
        "CREATE TRIGGER poison BEFORE INSERT ON failures
         WHEN NEW.probe_id = (SELECT id FROM probes WHERE name = 'bad')
         BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END;",
    );
    let body = eventually("/healthz to report what was set aside", &log, || {
        let (code, body) = http_get(metrics, "/healthz")?;
        (code == 503 && body.contains("set aside")).then_some(body)
    });
    assert!(body.contains("evidence.db.set-aside.jsonl"), "{body}");
    let before = checks_of(&db, "good").unwrap();
    eventually("more checks of 'good' stored", &log, || {
        (checks_of(&db, "good")? >= before + 3).then_some(())
    });
    let (_, text) = http_get(metrics, "/metrics").unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert!(
        value("slawatch_store_set_aside_batches_total ") >= 1,
        "{text}"
    );
    assert!(
        value("slawatch_store_commit_failures_total ") >= 1,
        "{text}"
    );
    assert_eq!(value("slawatch_store_dropped_total "), 0, "{text}");
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon ended");
    sigterm(&daemon);
    assert!(exits_within_15_s(&mut daemon, "the daemon", &log).success());
    let set_aside = std::fs::read_to_string(slawatch::store::set_aside_path(&db)).unwrap();
    assert!(
        set_aside
            .lines()
            .all(|l| l.contains("\"probe\":\"bad\"") && l.contains("poisoned by the test")),
        "{set_aside}"
    );
}

/// Issue 11: `/healthz` and the watchdog used to be refreshed every second whatever
/// happened. With a scheduler that delivers no check (every check hangs), /healthz
/// turns 503 once the probes' bound has passed, and back to 200 when checks arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_turns_503_when_no_check_arrives() {
    use slawatch::config::Probe;
    use slawatch::model::{Check, Phases, Status};
    use slawatch::scheduler::{BoxFuture, Runner};
    use tokio_util::sync::CancellationToken;
    struct Held(CancellationToken);
    impl Runner for Held {
        fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check> {
            let release = self.0.clone();
            Box::pin(async move {
                release.cancelled().await;
                Check {
                    probe: probe.name.clone(),
                    started_at: slawatch::daemon::now(),
                    status: Status::Up,
                    class: None,
                    detail: String::new(),
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
    let log = dir.path().join("none.log");
    let metrics = closed_addr();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"1s\"\nretry_interval = \"1s\"\n\
             timeout = \"1s\"\nmetrics_listen = \"{metrics}\"\n\
             [[tcp]]\nname = \"held\"\ntarget = \"{}\"\n",
            closed_addr()
        ),
    )
    .unwrap();
    let release = CancellationToken::new();
    let stop = CancellationToken::new();
    let daemon = {
        let (release, stop, cfg) = (release.clone(), stop.clone(), cfg.clone());
        tokio::spawn(async move {
            slawatch::daemon::run_with(
                &cfg,
                &move |_| Arc::new(Held(release.clone())) as Arc<dyn Runner>,
                stop,
            )
            .await
        })
    };
    let get = move || async move {
        tokio::task::spawn_blocking(move || http_get(metrics, "/healthz"))
            .await
            .unwrap()
    };
    let started = Instant::now();
    let mut first_503 = None;
    while started.elapsed() < Duration::from_secs(40) {
        if let Some((code, body)) = get().await {
            if code == 503 && body.contains("no check has arrived") {
                first_503 = Some(started.elapsed());
                break;
            }
            assert!(
                code == 200 || started.elapsed() < Duration::from_secs(2),
                "{code} {body}"
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let after =
        first_503.unwrap_or_else(|| panic!("never 503; {:?}", std::fs::read_to_string(&log)));
    // The bound for a 1 s interval and 1 s timeout: 2 × 2 s + 10 s.
    assert!(after >= Duration::from_secs(13), "503 after {after:?}");
    release.cancel();
    let mut back = false;
    for _ in 0..40 {
        if get().await.is_some_and(|(code, _)| code == 200) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(back, "/healthz back to 200 once checks arrive");
    stop.cancel();
    daemon.await.unwrap().unwrap();
}

/// Issue 11: a writer that cannot commit (another connection holds the database's
/// write lock) turns `/healthz` 503 ("no commit") once `COMMIT_STALL` has passed and
/// stops the watchdog pings, so systemd would restart the daemon; once the lock is
/// released, commits and pings resume.
#[test]
fn a_writer_that_cannot_commit_turns_healthz_503_and_stops_the_watchdog() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let db = dir.path().join("evidence.db");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let counter = Counted::start("127.0.0.1:0".parse().unwrap());
    let metrics = closed_addr();
    let cfg = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\ninterval = \"1s\"\nretry_interval = \"1s\"\n\
             timeout = \"1s\"\nmetrics_listen = \"{metrics}\"\n\
             [[tcp]]\nname = \"counter\"\ntarget = \"{}\"\n",
            counter.addr
        ),
    )
    .unwrap();
    let log_file = std::fs::File::create(&log).unwrap();
    let mut daemon = Command::new(slawatch_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("RUST_LOG", "info")
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    // Messages from the daemon within `wait`.
    let drain = |wait: Duration| -> Vec<String> {
        socket.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 512];
        let mut seen = Vec::new();
        let start = Instant::now();
        while start.elapsed() < wait {
            match socket.recv(&mut buf) {
                Ok(n) => seen.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(_) => break,
            }
        }
        seen
    };
    let pinged = |msgs: &[String]| msgs.iter().any(|m| m.lines().any(|l| l == "WATCHDOG=1"));
    eventually("a watchdog ping", &log, || {
        pinged(&drain(Duration::from_secs(2))).then_some(())
    });
    eventually("a check stored", &log, || {
        reader(&db)?.last_check_at("counter").ok()?.map(|_| ())
    });
    // Another connection takes the write lock and keeps it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let locked_at = Instant::now();
    let mut body = String::new();
    while locked_at.elapsed() < Duration::from_secs(60) {
        drain(Duration::from_millis(500));
        if let Some((503, b)) = http_get(metrics, "/healthz")
            && b.contains("no commit")
        {
            body = b;
            break;
        }
    }
    assert!(
        body.contains("no commit"),
        "never 503; log:\n{}",
        std::fs::read_to_string(&log).unwrap()
    );
    // The verdict counts from the writer's last commit, which came before the lock
    // was taken (up to a commit interval, more on a loaded machine): not early, but
    // not exactly 30 s after `locked_at` either.
    assert!(locked_at.elapsed() >= Duration::from_secs(25), "{body}");
    // Pings in flight before the verdict are drained; then none for 3 s.
    drain(Duration::from_millis(1200));
    let quiet = drain(Duration::from_secs(3));
    assert!(!pinged(&quiet), "the watchdog is still pinged: {quiet:?}");
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    eventually("watchdog pings again", &log, || {
        pinged(&drain(Duration::from_secs(2))).then_some(())
    });
    let (_, body) = http_get(metrics, "/healthz").unwrap();
    assert!(!body.contains("no commit"), "{body}");
    assert!(daemon.try_wait().unwrap().is_none(), "the daemon ended");
    sigterm(&daemon);
    assert!(exits_within_15_s(&mut daemon, "the daemon", &log).success());
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
