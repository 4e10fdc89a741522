//! Several vantages (issue 18) as three real `slawatch run` daemons: their own
//! SQLite files, their own source addresses on loopback (127.0.0.2, .3, .4), the
//! same configuration but for `[daemon] vantage`, `[shared]` naming a real
//! PostgreSQL, and the same real nginx. nginx refuses 127.0.0.2 (`/vantage`: 403),
//! vantage a's "own network cut"; then nginx is killed for a while, everyone's outage.
//!
//! [`three_vantages`] runs the whole scenario and hands back every handle, so
//! assertions over the shared store (`report --shared`, the consensus) can be made
//! on the same run.

use crate::peers::nginx::Nginx;
use crate::peers::postgres::Postgres;
use slawatch::model::{Status, UtcMillis};
use slawatch::outage::Outage;
use slawatch::store::Reader;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The vantages, each with the loopback address its checks leave from.
pub(crate) const VANTAGES: [(&str, &str); 3] =
    [("a", "127.0.0.2"), ("b", "127.0.0.3"), ("c", "127.0.0.4")];

/// How long the tests wait for a daemon to get somewhere (three daemons and their
/// peers start at once on a busy 2-core machine).
const PATIENCE: Duration = Duration::from_secs(60);

/// One vantage's daemon: its configuration, its SQLite store, its log.
pub(crate) struct Vantage {
    /// `[daemon] vantage`.
    pub(crate) name: &'static str,
    /// `[daemon] source_address`.
    pub(crate) source: &'static str,
    /// Its probes.toml.
    pub(crate) config: PathBuf,
    /// Its SQLite evidence store.
    pub(crate) db: PathBuf,
    /// What the daemon printed.
    pub(crate) log: PathBuf,
    daemon: Option<Child>,
}

impl Vantage {
    /// A reader of this vantage's store, once it exists.
    pub(crate) fn reader(&self) -> Option<Reader> {
        Reader::open(&self.db).ok()
    }

    /// Every outage in this vantage's store.
    pub(crate) fn outages(&self, probe: &str) -> Vec<Outage> {
        self.reader()
            .and_then(|r| r.outages(None, Some(probe)).ok())
            .unwrap_or_default()
    }

    /// How many checks of `probe` this vantage stored (0 when it never ran it).
    pub(crate) fn checks(&self, probe: &str) -> i64 {
        let Ok(conn) = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        ) else {
            return 0;
        };
        conn.query_row(
            "SELECT (SELECT coalesce(sum(count), 0) FROM runs WHERE probe_id = p.id)
                  + (SELECT count(*) FROM failures WHERE probe_id = p.id)
             FROM probes p WHERE p.name = ?1",
            [probe],
            |r| r.get(0),
        )
        .unwrap_or(0)
    }

    /// The latest check of `probe`: its status.
    pub(crate) fn last_status(&self, probe: &str) -> Option<Status> {
        let states = self.reader()?.probe_states().ok()?;
        Some(states.into_iter().find(|s| s.name == probe)?.last_check?.1)
    }

    /// The daemon's output so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the daemon as systemd does (SIGTERM) and waits for it: everything it
    /// checked is committed (and, once it ships, shipped as far as it could).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = Command::new("kill")
                .args(["-s", "TERM", &child.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(
                        status.success(),
                        "vantage {} stopped with {status}",
                        self.name
                    );
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            panic!("vantage {} did not stop within 30 s", self.name);
        }
    }
}

impl Drop for Vantage {
    fn drop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The three vantages, their peers and what happened when, after the scenario.
pub(crate) struct Scenario {
    /// a, b and c, in that order (their daemons still running).
    pub(crate) vantages: Vec<Vantage>,
    /// The nginx every vantage probes (running again).
    pub(crate) nginx: Nginx,
    /// The shared store named by `[shared]` in every configuration.
    pub(crate) pg: Postgres,
    /// When nginx was killed, and when it was back (wall clock, ms).
    pub(crate) killed_at: UtcMillis,
    pub(crate) back_at: UtcMillis,
    /// The directory of the configurations and stores.
    #[allow(dead_code, reason = "kept for the stores' lifetime")]
    pub(crate) dir: tempfile::TempDir,
}

impl Scenario {
    /// The vantage named `name`.
    pub(crate) fn vantage(&self, name: &str) -> &Vantage {
        self.vantages
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("no vantage {name}"))
    }
}

/// The probe every vantage runs in the scenario: `/vantage` of the nginx.
pub(crate) const SITE: &str = "site";

#[expect(
    clippy::disallowed_methods,
    reason = "the test compares the daemons' wall-clock stamps with when it killed nginx"
)]
fn wall_ms() -> UtcMillis {
    UtcMillis(
        i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap(),
    )
}

/// Waits (up to [`PATIENCE`]) for `f` to give something; panics with every
/// vantage's log otherwise.
fn eventually<T>(what: &str, vantages: &[Vantage], mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > PATIENCE {
            let logs: Vec<String> = vantages
                .iter()
                .map(|v| format!("--- vantage {}:\n{}", v.name, v.log_text()))
                .collect();
            panic!(
                "{what} did not happen within {PATIENCE:?}\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes the configuration of vantage `name` (checks every second, two failures
/// confirm an outage) and starts `slawatch run` on it.
fn start_vantage(
    dir: &Path,
    name: &'static str,
    source: &'static str,
    shared: &str,
    probes: &str,
) -> Vantage {
    let config = dir.join(format!("{name}.toml"));
    let db = dir.join(format!("{name}.db"));
    let log = dir.join(format!("{name}.log"));
    std::fs::write(
        &config,
        format!(
            "[daemon]\nvantage = \"{name}\"\ndatabase = \"{}\"\nsource_address = \"{source}\"\n\
             interval = \"1s\"\nretry_interval = \"1s\"\ntimeout = \"1s\"\n\
             confirm_down = 2\nconfirm_up = 1\n\n{shared}\n{probes}",
            db.display()
        ),
    )
    .unwrap();
    let out = std::fs::File::create(&log).unwrap();
    let daemon = Command::new(crate::util::slawatch_bin())
        .args(["run", "--config"])
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    Vantage {
        name,
        source,
        config,
        db,
        log,
        daemon: Some(daemon),
    }
}

/// Three vantages probing one nginx, `probes` added to every configuration besides
/// [`SITE`]: a alone sees `site` down (nginx refuses 127.0.0.2) and records an
/// outage; then PostgreSQL is stopped for a minute, and within it nginx is killed
/// until every vantage has an outage and started again until b's and c's have
/// closed. Returns with the daemons still running and PostgreSQL back.
pub(crate) fn three_vantages(probes: &str) -> Scenario {
    let mut nginx = Nginx::start();
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&str> = VANTAGES.iter().map(|(n, _)| *n).collect();
    let shared = pg.shared_toml(&names);
    let probes = format!(
        "[[http]]\nname = \"{SITE}\"\nurl = \"{}\"\n\n{probes}",
        nginx.http_url("/vantage")
    );
    let vantages: Vec<Vantage> = VANTAGES
        .iter()
        .map(|(name, source)| start_vantage(dir.path(), name, source, &shared, &probes))
        .collect();

    // a's own cut: an outage in a's store, while b and c see the site up.
    eventually("a's outage and b's and c's up checks", &vantages, || {
        let a_down = !vantages[0].outages(SITE).is_empty();
        let others_up = vantages[1..]
            .iter()
            .all(|v| v.last_status(SITE) == Some(Status::Up));
        (a_down && others_up).then_some(())
    });

    // The shared store gone for a minute, from before the service fails until after
    // it is back: every vantage records the kill's outage with nowhere to ship it.
    let mut pg = pg;
    let pg_stopped = Instant::now();
    pg.stop();

    // The service itself down: every vantage sees it.
    let killed_at = wall_ms();
    nginx.daemon.kill();
    eventually("an outage in b's and c's stores", &vantages, || {
        vantages[1..]
            .iter()
            .all(|v| !v.outages(SITE).is_empty())
            .then_some(())
    });
    let restart_begun = wall_ms();
    nginx.restart();
    let back_at = restart_begun;
    eventually("b's and c's outages closed", &vantages, || {
        vantages[1..]
            .iter()
            .all(|v| v.outages(SITE).iter().all(|o| o.end.is_some()))
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(60).saturating_sub(pg_stopped.elapsed()));
    pg.start_again();
    Scenario {
        vantages,
        nginx,
        pg,
        killed_at,
        back_at,
        dir,
    }
}

/// A plan, and two contracts over [`SITE`]: `quorum` under "2 of 3" vantages,
/// `anyone` under the default (any one vantage).
const CONTRACTS: &str = "[[plan]]\nid = \"hosting\"\ncurrency = \"EUR\"\nfee = \"20.00\"\n\
    window.kind = \"calendar_month\"\nwindow.timezone = \"UTC\"\n\
    objective.target = \"99.9\"\nmeasurement.method = \"time\"\n\
    credit.scheme = \"tiered_percent\"\n\
    credit.tiers = [{ below = \"99.9\", pct = \"10\" }]\n\n\
    [[contract]]\nid = \"quorum\"\nplan = \"hosting\"\nprobes = [\"site\"]\nvantages = \"2 of 3\"\n\n\
    [[contract]]\nid = \"anyone\"\nplan = \"hosting\"\nprobes = [\"site\"]\n";

/// The highest seal in `v`'s own store.
fn local_head(v: &Vantage) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(&v.db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row("SELECT coalesce(max(id), 0) FROM seals", [], |r| r.get(0))
        .unwrap()
}

/// Ships every vantage's store to the shared store to its last seal, with the
/// daemon's own shipper (the daemons are stopped: their last ship at stop is
/// bounded in time, this one is not).
fn ship_all(s: &Scenario) {
    let config = slawatch::config::load(&s.vantage("a").config).unwrap();
    let settings = config.shared.clone().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = slawatch::shared::pg::connect_and_migrate(&settings)
            .await
            .unwrap();
        for v in &s.vantages {
            let source = slawatch::shared::ship::Source {
                database: &v.db,
                vantage: v.name,
                checkpoint_file: None,
            };
            let last = *crate::ship::ship_all(source, &mut client, 10_000)
                .await
                .last()
                .unwrap();
            assert_eq!(last.head, last.local_head, "vantage {}", v.name);
        }
    });
}

/// `slawatch report --shared` of `contract` over the month of `at`, as JSON.
fn shared_report(s: &Scenario, contract: &str, at: UtcMillis) -> serde_json::Value {
    let month = jiff::Timestamp::from_millisecond(at.0)
        .unwrap()
        .strftime("%Y-%m")
        .to_string();
    let out = crate::util::slawatch()
        .args([
            "report",
            "--shared",
            "--period",
            &month,
            "--contract",
            contract,
        ])
        .args(["--format", "json", "--out", "-", "--config"])
        .arg(&s.vantage("a").config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The incidents of a one-contract report: (start, end, seen_by).
fn incidents(report: &serde_json::Value) -> Vec<(UtcMillis, UtcMillis, Vec<String>)> {
    let at = |v: &serde_json::Value| {
        UtcMillis(
            v.as_str()
                .unwrap()
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_millisecond(),
        )
    };
    report["contracts"][0]["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let seen = i["seen_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            (at(&i["start"]), at(&i["end"]), seen)
        })
        .collect()
}

#[test]
fn a_cut_seen_by_one_vantage_is_its_outage_alone_and_a_stopped_server_everyones() {
    let mut s = three_vantages(CONTRACTS);
    // PostgreSQL was down for a minute: the daemons' own shippers catch up, every
    // seal each vantage had once it returned reaches it, none twice (the key).
    for v in &s.vantages {
        let local = local_head(v);
        eventually(
            &format!("vantage {} caught up", v.name),
            &s.vantages,
            || {
                let shipped: i64 =
                    s.pg.sql(&format!(
                        "SELECT coalesce(max(id), 0) FROM seals WHERE vantage = '{}'",
                        v.name
                    ))
                    .parse()
                    .unwrap();
                (shipped >= local).then_some(())
            },
        );
    }
    // Each vantage's seals are 1..=head, each once: none lost, none twice.
    for v in &s.vantages {
        let whole = s.pg.sql(&format!(
            "SELECT count(*) = max(id) AND count(DISTINCT id) = count(*) FROM seals WHERE vantage = '{}'",
            v.name
        ));
        assert_eq!(whole, "t", "vantage {}", v.name);
    }
    for v in &s.vantages {
        let text = v.log_text();
        assert_eq!(
            text.matches("shared store lost").count(),
            1,
            "vantage {}:\n{text}",
            v.name
        );
    }
    for v in &mut s.vantages {
        v.stop();
    }
    let (a, b, c) = (s.vantage("a"), s.vantage("b"), s.vantage("c"));
    // a: one outage, open since its first checks (403), spanning the kill.
    let a_outages = a.outages(SITE);
    assert_eq!(a_outages.len(), 1, "{a_outages:?}\n{}", a.log_text());
    assert!(a_outages[0].start < s.killed_at, "{a_outages:?}");
    assert!(
        a_outages[0].end.is_none_or(|e| e > s.back_at),
        "{a_outages:?}"
    );
    // b and c: one outage each, the kill's, closed once nginx was back.
    for v in [b, c] {
        let list = v.outages(SITE);
        assert_eq!(list.len(), 1, "vantage {}: {list:?}", v.name);
        let o = &list[0];
        // A check under way when nginx died is stamped when it started: 1 s slack.
        assert!(
            o.start.0 >= s.killed_at.0 - 1_000,
            "vantage {}: {o:?}",
            v.name
        );
        assert!(
            o.end.is_some_and(|e| e >= s.back_at),
            "vantage {}: {o:?}",
            v.name
        );
    }

    // nginx saw each vantage's checks come from its own source address, and only
    // from those: 403 to a (127.0.0.2), 200 to b and c.
    let log = s.nginx.access_log();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for line in log.lines().filter(|l| l.contains("GET /vantage ")) {
        let addr = line.split(' ').next().unwrap_or_default();
        let status = line
            .split("\" ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or_default();
        let Some(v) = s.vantages.iter().find(|v| v.source == addr) else {
            panic!("a check from {addr}, not a vantage's source address:\n{line}");
        };
        let expected = if v.name == "a" { "403" } else { "200" };
        assert_eq!(status, expected, "{line}");
        if !seen.contains(&(addr, status)) {
            seen.push((addr, status));
        }
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            ("127.0.0.2", "403"),
            ("127.0.0.3", "200"),
            ("127.0.0.4", "200")
        ],
        "{log}"
    );

    // The shared store, one verdict. Under "2 of 3": the kill, seen by all three,
    // is one incident; a's own cut before it, seen by a alone while b and c
    // measured the site up, is none.
    ship_all(&s);
    let quorum = shared_report(&s, "quorum", s.killed_at);
    let list = incidents(&quorum);
    assert_eq!(list.len(), 1, "{quorum}");
    let (start, end, seen_by) = &list[0];
    assert_eq!(seen_by, &["a", "b", "c"], "{quorum}");
    assert!(
        start.0 >= s.killed_at.0 - 1_000,
        "{list:?} killed at {:?}",
        s.killed_at
    );
    assert!(end.0 >= s.back_at.0, "{list:?} back at {:?}", s.back_at);
    let consensus = &quorum["contracts"][0]["consensus"];
    assert_eq!(consensus["rule"], "2 of 3", "{consensus}");
    let views: Vec<&str> = consensus["vantages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(views, ["a", "b", "c"], "{consensus}");
    // Under the default (any one vantage), a's cut is the provider's as far as a
    // alone can tell: the incident begins with a's outage, before the kill.
    let anyone = shared_report(&s, "anyone", s.killed_at);
    let list = incidents(&anyone);
    assert_eq!(list.len(), 1, "{anyone}");
    assert_eq!(list[0].0, a_outages[0].start, "{anyone}");
    assert!(list[0].0 < s.killed_at, "{anyone}");
    // verify --shared: every vantage's chain in PostgreSQL holds.
    let out = crate::util::slawatch()
        .args(["verify", "--shared", "--config"])
        .arg(&s.vantage("b").config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["a", "b", "c"] {
        assert!(text.contains(&format!("vantage {name}:")), "{text}");
    }
}

#[test]
fn a_probe_spread_over_vantages_is_checked_by_those_only() {
    let nginx = Nginx::start();
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<&str> = VANTAGES.iter().map(|(n, _)| *n).collect();
    let shared = pg.shared_toml(&names);
    let probes = format!(
        "[[http]]\nname = \"on-b\"\nurl = \"{health}\"\nvantages = [\"b\"]\n\n\
         [[http]]\nname = \"on-two\"\nurl = \"{health}\"\nvantages = 2\n",
        health = nginx.http_url("/health")
    );
    let mut vantages: Vec<Vantage> = VANTAGES
        .iter()
        .map(|(name, source)| start_vantage(dir.path(), name, source, &shared, &probes))
        .collect();
    let config = slawatch::config::load(&vantages[0].config).unwrap();
    let two = config.vantages_of(config.probe("on-two").unwrap());
    assert_eq!(two.len(), 2, "{two:?}");
    let runs = |v: &Vantage, probe: &str| match probe {
        "on-b" => v.name == "b",
        _ => two.iter().any(|n| n == v.name),
    };
    // Each probe checked a few times where it runs...
    eventually(
        "three checks of each probe where it runs",
        &vantages,
        || {
            vantages
                .iter()
                .all(|v| {
                    ["on-b", "on-two"]
                        .iter()
                        .all(|p| !runs(v, p) || v.checks(p) >= 3)
                })
                .then_some(())
        },
    );
    for v in &mut vantages {
        v.stop();
    }
    // ... and never elsewhere.
    for v in &vantages {
        for p in ["on-b", "on-two"] {
            if !runs(v, p) {
                assert_eq!(v.checks(p), 0, "vantage {} checked {p}", v.name);
            }
        }
        // The start says how many of the configured probes run here.
        let here = ["on-b", "on-two"].iter().filter(|p| runs(v, p)).count();
        assert!(
            v.log_text()
                .contains(&format!("{here} of the 2 configured probes run here")),
            "vantage {}:\n{}",
            v.name,
            v.log_text()
        );
    }
    // check-config names the vantages of each spread probe.
    let out = crate::util::stdout_of(&["check-config", "--config"], &vantages[0].config, 0);
    assert!(out.contains("spread: on-b runs on b\n"), "{out}");
    assert!(
        out.contains(&format!(
            "spread: on-two runs on {} (vantages = 2)\n",
            two.join(", ")
        )),
        "{out}"
    );
}

/// An address this machine does not have (192.0.2.1, a documentation address: the
/// bind fails, nothing is sent): every check is `unknown`, this machine's fault,
/// and no outage opens, though nginx is up and answering.
#[test]
fn a_source_address_this_machine_lacks_gives_unknown_checks_not_an_outage() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let probes = format!(
        "[[http]]\nname = \"{SITE}\"\nurl = \"{}\"\n",
        nginx.http_url("/health")
    );
    let mut v = start_vantage(dir.path(), "a", "192.0.2.1", "", &probes);
    let vantages = std::slice::from_ref(&v);
    eventually("three checks", vantages, || {
        (v.checks(SITE) >= 3).then_some(())
    });
    v.stop();
    assert_eq!(
        v.last_status(SITE),
        Some(Status::Unknown),
        "{}",
        v.log_text()
    );
    assert_eq!(v.outages(SITE), Vec::<Outage>::new());
    let states = v.reader().unwrap().probe_states().unwrap();
    let class = states[0].last_check.unwrap().2;
    assert_eq!(class, Some(slawatch::model::ErrorClass::Unknown));
    assert_eq!(nginx.access_log(), "", "a check reached nginx");
    // `slawatch probe` runs the same check: it says why.
    let out = crate::util::slawatch()
        .args(["probe", SITE, "--config"])
        .arg(&v.config)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("this machine does not have the source_address 192.0.2.1"),
        "{out}"
    );
}

/// The README's "Add a second vantage" as written: its `[shared]` block added to a
/// working configuration, its `sed` run on a copy, and `check-config` then says the
/// copy is the second vantage and runs every probe.
#[test]
fn the_readme_adds_a_second_vantage_as_it_says() {
    let readme = std::fs::read_to_string(crate::util::repo_file("README.md")).unwrap();
    let section = readme
        .split("\n## Add a second vantage\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README has a section \"Add a second vantage\"");
    let block = |lang: &str| -> String {
        let start = format!("```{lang}\n");
        let from = section.find(&start).expect(&start) + start.len();
        section[from..].split("```").next().unwrap().to_owned()
    };
    let (toml, sh) = (block("toml"), block("sh"));
    let sed = sh
        .lines()
        .find(|l| l.starts_with("sed "))
        .expect("a sed command");

    let dir = tempfile::tempdir().unwrap();
    let first = std::fs::read_to_string(crate::util::repo_file("examples/first-run.toml"))
        .unwrap()
        .replace("vantage = \"my-laptop\"", "vantage = \"milano-1\"");
    let cfg = dir.path().join("probes.toml");
    std::fs::write(&cfg, format!("{first}\n{toml}")).unwrap();
    let out = crate::util::slawatch()
        .args(["check-config", "--config"])
        .arg(&cfg)
        .env("SLAWATCH_PG_PASSWORD", "not-a-real-one")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("vantage: milano-1 (of milano-1, roma-1); 1 of 1 probes run here\n"),
        "{out}"
    );

    let sed = sed.replace("/etc/slawatch/probes.toml", &cfg.display().to_string());
    let status = Command::new("sh").arg("-c").arg(&sed).status().unwrap();
    assert!(status.success(), "{sed}");
    let out = crate::util::slawatch()
        .args(["check-config", "--config"])
        .arg(&cfg)
        .env("SLAWATCH_PG_PASSWORD", "not-a-real-one")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("vantage: roma-1 (of milano-1, roma-1); 1 of 1 probes run here\n"),
        "{out}"
    );
    assert!(!out.contains("not-a-real-one"), "{out}");
}

/// A reload that gives a probe to this vantage starts it here; before, the vantage
/// never checked it.
#[test]
fn a_reload_that_moves_a_probe_here_starts_checking_it() {
    let nginx = Nginx::start();
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let shared = pg.shared_toml(&["a", "b"]);
    let probes = |moving_on: &str| {
        format!(
            "[[http]]\nname = \"stay\"\nurl = \"{health}\"\n\n\
             [[http]]\nname = \"moving\"\nurl = \"{health}\"\nvantages = [\"{moving_on}\"]\n",
            health = nginx.http_url("/health")
        )
    };
    let mut v = start_vantage(dir.path(), "a", "127.0.0.2", &shared, &probes("b"));
    let vantages = std::slice::from_ref(&v);
    eventually("three checks of 'stay'", vantages, || {
        (v.checks("stay") >= 3).then_some(())
    });
    assert_eq!(v.checks("moving"), 0, "a checked a probe given to b");
    assert!(
        v.log_text()
            .contains("1 of the 2 configured probes run here (vantage 'a')")
    );

    let text = std::fs::read_to_string(&v.config)
        .unwrap()
        .replace("vantages = [\"b\"]", "vantages = [\"a\"]");
    std::fs::write(&v.config, text).unwrap();
    let pid = v.daemon.as_ref().unwrap().id();
    let hup = Command::new("kill")
        .args(["-s", "HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    eventually("checks of 'moving' after the reload", vantages, || {
        (v.checks("moving") >= 2).then_some(())
    });
    v.stop();
    assert!(
        v.log_text()
            .contains("2 of the 2 configured probes run here (vantage 'a')"),
        "{}",
        v.log_text()
    );
}
