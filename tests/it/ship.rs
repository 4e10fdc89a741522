//! Shipping sealed evidence to the shared PostgreSQL (issue 18), against a real
//! PostgreSQL (`peers::postgres`): every sealed table copied as SQLite holds it,
//! nothing twice, two vantages kept apart, commits the server lost shipped again,
//! and a daemon that keeps probing while the server is down for a minute.

use crate::peers::postgres::{PASSWORD, Postgres};
use crate::util::{closed_addr, slawatch_bin};
use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::outage::{Event, Outage};
use slawatch::shared::ship::{Shipped, Source, ship_once};
use slawatch::store::{Incident, IncidentSource, Store};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DAY: i64 = 86_400_000;
/// 2026-11-02T00:00:00Z.
const T0: i64 = 1_762_041_600_000;

/// Every table that ships, with the column its rows are ordered by.
const TABLES: &[&str] = &[
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
    "incident_attachments",
    "seals",
    "probes",
];

fn check(probe: &str, at: i64, status: Status) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(at),
        status,
        class: (status == Status::Down).then_some(ErrorClass::Refused),
        detail: if status == Status::Down {
            "connection refused".to_owned()
        } else {
            String::new()
        },
        phases: Phases {
            total: Some(Duration::from_millis(12)),
            ..Phases::default()
        },
        cert_not_after: None,
    }
}

fn outage(start: i64, end: Option<i64>) -> Outage {
    Outage {
        probe: "mail".to_owned(),
        start: UtcMillis(start),
        end: end.map(UtcMillis),
        last_failure: UtcMillis(end.map_or(start + 60_000, |e| e - 60_000)),
        last_success_before: Some(UtcMillis(start - 60_000)),
        class: ErrorClass::Refused,
        detail: "connection refused".to_owned(),
        failed_checks: 3,
    }
}

/// A store with runs over two UTC days, failures, an outage (left open: the
/// caller closes it), coverage with a gap, maintenance and goodwill.
fn store_with_an_open_outage(db: &Path) -> Store {
    let store = Store::open(db).unwrap();
    store
        .register_probes(&[
            ("web".to_owned(), "http".to_owned()),
            ("mail".to_owned(), "imap".to_owned()),
        ])
        .unwrap();
    store
        .record_maintenance(&[slawatch::config::Maintenance {
            contracts: vec!["rossi-shop".to_owned()],
            probes: vec!["web".to_owned()],
            start: UtcMillis(T0 + 3_600_000),
            end: UtcMillis(T0 + 7_200_000),
            announced_at: Some(UtcMillis(T0 - DAY)),
            note: Some("firmware".to_owned()),
        }])
        .unwrap();
    store
        .record_goodwill(&[slawatch::config::Goodwill {
            event: "Arezzo data-centre fire".to_owned(),
            date: jiff::civil::date(2026, 11, 2),
            announced: None,
            contracts: vec!["rossi-shop".to_owned()],
            plans: Vec::new(),
            extension_days: Some(7),
            amount: Some("12.50".parse().unwrap()),
            upgrade: None,
            source: Some("status page".to_owned()),
            note: None,
        }])
        .unwrap();
    for i in 0..30 {
        let at = T0 + DAY - 15 * 60_000 + i * 60_000;
        store.heartbeat("milano-1", UtcMillis(at)).unwrap();
        store.record_check(&check("web", at, Status::Up)).unwrap();
        let mail = if (10..13).contains(&i) {
            Status::Down
        } else {
            Status::Up
        };
        store.record_check(&check("mail", at, mail)).unwrap();
    }
    // A gap in the heartbeats: the coverage segment before it is sealed.
    store
        .heartbeat("milano-1", UtcMillis(T0 + DAY + 3_600_000))
        .unwrap();
    store
        .record_outage(&Event::Opened(outage(T0 + DAY - 5 * 60_000, None)))
        .unwrap();
    store.flush().unwrap();
    store
}

fn closes_the_outage_and_adds_an_incident(store: Store, db: &Path) {
    store
        .record_outage(&Event::Closed(outage(
            T0 + DAY - 5 * 60_000,
            Some(T0 + DAY - 2 * 60_000),
        )))
        .unwrap();
    store.close().unwrap();
    slawatch::store::add_incident(
        db,
        &Incident {
            probe: Some("web".to_owned()),
            start: UtcMillis(T0 + 600_000),
            end: UtcMillis(T0 + 1_200_000),
            source: IncidentSource::StatusPage,
            note: "DNS errors on the status page".to_owned(),
            created_at: UtcMillis(T0 + DAY),
            attachments: vec![("status.png".to_owned(), "ab".repeat(32))],
            ..Incident::default()
        },
    )
    .unwrap();
}

/// The columns of `table` in SQLite, and the same in PostgreSQL's names.
fn columns(db: &Path, table: &str) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    let cols: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(1))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    cols.into_iter()
        .map(|c| {
            let pg = if table == "coverage" && c == "vantage" {
                "row_vantage".to_owned()
            } else {
                c.clone()
            };
            (c, pg)
        })
        .collect()
}

/// An expression both SQL dialects evaluate to the row as one line of text.
fn line_expr(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("coalesce(CAST(\"{c}\" AS TEXT), 'NULL')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ")
}

/// Every row of `table` in SQLite, one line each, by id.
fn sqlite_rows(db: &Path, table: &str) -> Vec<String> {
    let cols: Vec<String> = columns(db, table).into_iter().map(|c| c.0).collect();
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {} FROM {table} ORDER BY id",
            line_expr(&cols)
        ))
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The same from PostgreSQL, for `vantage`.
fn pg_rows(pg: &Postgres, db: &Path, table: &str, vantage: &str) -> Vec<String> {
    let cols: Vec<String> = columns(db, table).into_iter().map(|c| c.1).collect();
    let out = pg.sql(&format!(
        "SELECT {} FROM {table} WHERE vantage = '{vantage}' ORDER BY id",
        line_expr(&cols)
    ));
    out.lines().map(str::to_owned).collect()
}

fn settings(pg: &Postgres, dir: &Path, vantage: &str) -> slawatch::config::SharedSettings {
    let text = format!(
        "[daemon]\nvantage = \"{vantage}\"\ndatabase = \"{}\"\n\n{}",
        dir.join("v.db").display(),
        pg.shared_toml(&[])
    );
    slawatch::config::parse_str(&text, &dir.join("probes.toml"), &|_| None)
        .unwrap()
        .shared
        .unwrap()
}

async fn client(pg: &Postgres, dir: &Path) -> tokio_postgres::Client {
    slawatch::shared::pg::connect_and_migrate(&settings(pg, dir, "milano-1"))
        .await
        .unwrap()
}

fn source<'a>(db: &'a Path, vantage: &'a str) -> Source<'a> {
    Source {
        database: db,
        vantage,
        checkpoint_file: None,
    }
}

/// Ships in batches of `max` until a batch is not full; the calls' results. The
/// other shared-store tests ship with it too.
pub(crate) async fn ship_all(
    src: Source<'_>,
    client: &mut tokio_postgres::Client,
    max: usize,
) -> Vec<Shipped> {
    let mut out = Vec::new();
    loop {
        let s = ship_once(src, client, max).await.unwrap();
        out.push(s);
        if !s.full {
            return out;
        }
    }
}

fn assert_same(pg: &Postgres, db: &Path, vantage: &str) {
    for t in TABLES {
        assert_eq!(
            pg_rows(pg, db, t, vantage),
            sqlite_rows(db, t),
            "table {t} of {vantage} differs"
        );
    }
}

#[tokio::test]
async fn ship_copies_every_sealed_table_as_sqlite_holds_it_and_nothing_twice() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("milano.db");
    let mut client = client(&pg, dir.path()).await;

    // The outage open: it ships open, with the seals so far.
    let store = store_with_an_open_outage(&db);
    let first = ship_all(source(&db, "milano-1"), &mut client, 4).await;
    assert!(first.len() > 1, "small batches: {first:?}");
    assert_eq!(
        pg.sql("SELECT count(*) FROM outages WHERE \"end\" IS NULL"),
        "1"
    );
    // Then closed, an incident with an attachment: the rest ships, the outage closes.
    closes_the_outage_and_adds_an_incident(store, &db);
    let rest = ship_all(source(&db, "milano-1"), &mut client, 3).await;
    assert!(rest.iter().map(|s| s.seals).sum::<usize>() > 0);
    assert_eq!(
        pg.sql("SELECT count(*) FROM outages WHERE \"end\" IS NULL"),
        "0"
    );
    for t in [
        "runs",
        "failures",
        "outages",
        "coverage",
        "maintenance",
        "incidents",
        "goodwill",
        "incident_attachments",
    ] {
        assert!(!sqlite_rows(&db, t).is_empty(), "the fixture has no {t}");
    }
    assert_same(&pg, &db, "milano-1");
    let local_head = rest.last().unwrap().local_head;
    assert_eq!(rest.last().unwrap().head, local_head);
    let chain: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT chain FROM seals ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        pg.sql("SELECT last_seal || ' ' || last_chain FROM vantages WHERE name = 'milano-1'"),
        format!("{local_head} {chain}")
    );

    // Again: nothing ships, nothing changes (not even `last_shipped`).
    let before = pg.sql("SELECT last_shipped FROM vantages");
    let again = ship_once(source(&db, "milano-1"), &mut client, 1000)
        .await
        .unwrap();
    assert_eq!(
        (again.seals, again.rows, again.full),
        (0, 0, false),
        "{again:?}"
    );
    assert_eq!(pg.sql("SELECT last_shipped FROM vantages"), before);
    assert_same(&pg, &db, "milano-1");

    // A second vantage in the same database: both kept apart.
    let db2 = dir.path().join("roma.db");
    let store = store_with_an_open_outage(&db2);
    store.close().unwrap();
    ship_all(source(&db2, "roma-1"), &mut client, 1000).await;
    assert_same(&pg, &db, "milano-1");
    assert_same(&pg, &db2, "roma-1");
    assert_eq!(pg.sql("SELECT count(*) FROM vantages"), "2");
}

#[tokio::test]
async fn ship_two_shippers_at_once_never_duplicate_nor_fail() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("milano.db");
    closes_the_outage_and_adds_an_incident(store_with_an_open_outage(&db), &db);
    let mut a = client(&pg, dir.path()).await;
    let mut b = client(&pg, dir.path()).await;
    let (ra, rb) = tokio::join!(
        ship_all(source(&db, "milano-1"), &mut a, 2),
        ship_all(source(&db, "milano-1"), &mut b, 2)
    );
    assert!(!ra.is_empty() && !rb.is_empty());
    assert_same(&pg, &db, "milano-1");
}

#[tokio::test]
async fn ship_commits_the_server_lost_are_shipped_again_identical() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("milano.db");
    closes_the_outage_and_adds_an_incident(store_with_an_open_outage(&db), &db);
    let cp = dir.path().join("checkpoints");
    std::fs::write(
        &cp,
        format!(
            "slawatch-checkpoint 1 at=2026-11-26T10:00:00Z event=start vantage=milano-1 seal=3 chain={} prev={}\n",
            "cd".repeat(32),
            "0".repeat(64)
        ),
    )
    .unwrap();
    let src = Source {
        checkpoint_file: Some(&cp),
        ..source(&db, "milano-1")
    };
    let mut client = client(&pg, dir.path()).await;
    ship_all(src, &mut client, 1000).await;
    assert_same(&pg, &db, "milano-1");
    assert_eq!(
        pg.sql("SELECT at || ' ' || event || ' ' || seal FROM checkpoints"),
        "1795687200000 start 3"
    );
    let head: i64 = pg.sql("SELECT max(id) FROM seals").parse().unwrap();
    let open_seal: i64 = pg
        .sql("SELECT min(id) FROM seals WHERE tbl = 'outages'")
        .parse()
        .unwrap();
    assert!(open_seal > 1 && open_seal < head);

    // The server "loses" every commit after the seal before the outage opened.
    let n = open_seal - 1;
    let mut sql = String::new();
    for t in TABLES {
        sql.push_str(&format!("ALTER TABLE {t} DISABLE TRIGGER ALL;"));
    }
    for t in TABLES
        .iter()
        .filter(|t| !["seals", "probes", "incident_attachments"].contains(t))
    {
        sql.push_str(&format!(
            "DELETE FROM {t} x WHERE EXISTS (SELECT 1 FROM seals s WHERE s.vantage = x.vantage \
             AND s.tbl = '{t}' AND s.row_id = x.id AND s.id > {n});"
        ));
    }
    sql.push_str("DELETE FROM incident_attachments;");
    sql.push_str(&format!("DELETE FROM seals WHERE id > {n};"));
    for t in TABLES {
        sql.push_str(&format!("ALTER TABLE {t} ENABLE TRIGGER ALL;"));
    }
    pg.sql(&sql);
    assert_eq!(pg.sql("SELECT max(id) FROM seals"), n.to_string());
    assert_eq!(pg.sql("SELECT count(*) FROM outages"), "0");

    let again = ship_all(src, &mut client, 1000).await;
    assert_eq!(again[0].seals, usize::try_from(head - n).unwrap());
    assert_same(&pg, &db, "milano-1");
    assert_eq!(pg.sql("SELECT count(*) FROM checkpoints"), "1");
}

/// The daemon under test, killed if the test fails before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_daemon(config: &Path, log: &Path) -> Running {
    let log = std::fs::File::create(log).unwrap();
    Running(
        Command::new(slawatch_bin())
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Polls `f` every 200 ms for up to `secs`.
fn eventually<T>(secs: u64, what: &str, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "{what} did not happen within {secs} s; daemon log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn local_head(db: &Path) -> (i64, String) {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(
        "SELECT id, chain FROM seals ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or((0, String::new()))
}

fn metrics(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn gauge(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

/// The "PostgreSQL stopped for a minute loses nothing once it returns".
#[test]
fn ship_a_daemon_keeps_probing_through_a_minute_without_postgres_and_catches_up() {
    let mut pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("evidence.db");
    let log = dir.path().join("daemon.log");
    let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let live_addr = live.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in live.incoming() {
            drop(c);
        }
    });
    let metrics_addr = closed_addr();
    let cfg: PathBuf = dir.path().join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\ndatabase = \"evidence.db\"\nvantage = \"milano-1\"\ninterval = \"1s\"\n\
             retry_interval = \"1s\"\ntimeout = \"1s\"\nconfirm_down = 2\nconfirm_up = 1\n\
             metrics_listen = \"{metrics_addr}\"\ncheckpoint_file = \"checkpoints\"\n\n\
             {}\n\
             [[tcp]]\nname = \"dead\"\ntarget = \"{}\"\n\n\
             [[tcp]]\nname = \"live\"\ntarget = \"{live_addr}\"\n",
            pg.shared_toml(&[]),
            closed_addr()
        ),
    )
    .unwrap();
    let mut daemon = start_daemon(&cfg, &log);

    // Shipping: the outage of `dead` reaches PostgreSQL, with the failures.
    eventually(20, "the outage shipped", &log, || {
        let migrated = pg
            .sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'outages'")
            == "1";
        (migrated && pg.sql("SELECT count(*) FROM outages WHERE vantage = 'milano-1'") == "1")
            .then_some(())
    });
    let m = metrics(metrics_addr);
    assert!(
        gauge(&m, "slawatch_shared_seals_unshipped").is_some(),
        "{m}"
    );
    assert!(
        gauge(&m, "slawatch_shared_seconds_since_ship").is_some_and(|s| s < 10),
        "{m}"
    );
    let shipped_before = local_head(&db).0;

    pg.stop();
    let stopped = Instant::now();
    // The daemon goes on probing and sealing locally.
    while stopped.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_secs(5));
        assert!(daemon.0.try_wait().unwrap().is_none(), "the daemon died");
    }
    let (during, _) = local_head(&db);
    assert!(
        during > shipped_before + 30,
        "sealing went on: {shipped_before} -> {during}"
    );
    let m = metrics(metrics_addr);
    assert!(
        gauge(&m, "slawatch_shared_seals_unshipped").is_some_and(|n| n > 0),
        "{m}"
    );
    assert!(
        gauge(&m, "slawatch_shared_seconds_since_ship").is_some_and(|s| s >= 30),
        "{m}"
    );

    pg.start_again();
    let back = Instant::now();
    // The reconnection backoff is capped at 30 s: caught up within it and a batch.
    eventually(40, "the catch-up", &log, || {
        let pg_head: i64 = pg
            .sql("SELECT coalesce(max(id), 0) FROM seals WHERE vantage = 'milano-1'")
            .parse()
            .unwrap();
        (pg_head >= during).then_some(())
    });
    let caught_up_in = back.elapsed();

    assert!(
        Command::new("kill")
            .args(["-s", "TERM", &daemon.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let (head, chain) = local_head(&db);
    assert_eq!(
        pg.sql("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || max(id) FROM seals WHERE vantage = 'milano-1'"),
        format!("{head} {head} {head}"),
        "every seal once (caught up in {caught_up_in:?})"
    );
    assert_eq!(
        pg.sql("SELECT chain FROM seals WHERE vantage = 'milano-1' ORDER BY id DESC LIMIT 1"),
        chain
    );
    assert_eq!(
        pg.sql("SELECT last_seal || ' ' || last_chain FROM vantages"),
        format!("{head} {chain}")
    );
    // The checkpoint lines (start, stop) ship too.
    assert_eq!(
        pg.sql("SELECT string_agg(event, ',' ORDER BY at, seal) FROM checkpoints"),
        "start,stop"
    );
    assert_same(&pg, &db, "milano-1");

    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("shared store lost").count(), 1, "{text}");
    assert_eq!(text.matches("seal(s) caught up").count(), 1, "{text}");
    assert!(
        !text.contains(PASSWORD),
        "the password is in the log:\n{text}"
    );
}

/// No error of the shipper names the password, even the server's refusal.
#[tokio::test]
async fn ship_errors_never_hold_the_password() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.db");
    Store::open(&db).unwrap().close().unwrap();
    let mut client = client(&pg, dir.path()).await;
    // A schema the shipper cannot write: the refusal is an error, no password in it.
    pg.sql("ALTER TABLE runs RENAME COLUMN lat_sum_ms TO lat_sum_gone");
    closes_the_outage_and_adds_an_incident(store_with_an_open_outage(&db), &db);
    let e = ship_once(source(&db, "milano-1"), &mut client, 100)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("runs") && e.contains("lat_sum_ms"), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");
    assert_eq!(
        pg.sql("SELECT count(*) FROM runs"),
        "0",
        "nothing of the batch committed"
    );
}

/// A batch holding an outage's opening also takes its closing when the snapshot
/// has it: after every batch, PostgreSQL's outages are SQLite's, never the open
/// state of a closed one.
#[tokio::test]
async fn ship_never_splits_an_outages_two_seals() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("milano.db");
    closes_the_outage_and_adds_an_incident(store_with_an_open_outage(&db), &db);
    let mut client = client(&pg, dir.path()).await;
    let want = sqlite_rows(&db, "outages");
    assert_eq!(want.len(), 1);
    let mut batches = 0;
    loop {
        let s = ship_once(source(&db, "milano-1"), &mut client, 1)
            .await
            .unwrap();
        batches += 1;
        let got = pg_rows(&pg, &db, "outages", "milano-1");
        assert!(got.is_empty() || got == want, "batch {batches}: {got:?}");
        if got == want {
            // The batch that shipped the outage shipped both its seals.
            assert_eq!(
                pg.sql("SELECT count(*) FROM seals WHERE tbl = 'outages'"),
                "2"
            );
        }
        if !s.full {
            break;
        }
    }
    assert_same(&pg, &db, "milano-1");
}

/// `[shared]` added by a reload: the shipper starts and ships what was sealed.
#[test]
fn ship_a_reload_that_adds_shared_starts_shipping() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("daemon.log");
    let cfg = dir.path().join("probes.toml");
    let base = format!(
        "[daemon]\ndatabase = \"evidence.db\"\nvantage = \"roma-1\"\ninterval = \"1s\"\n\
         retry_interval = \"1s\"\ntimeout = \"1s\"\n\n[[tcp]]\nname = \"dead\"\ntarget = \"{}\"\n",
        closed_addr()
    );
    std::fs::write(&cfg, &base).unwrap();
    let mut daemon = start_daemon(&cfg, &log);
    let db = dir.path().join("evidence.db");
    eventually(20, "failures sealed", &log, || {
        (std::fs::metadata(&db).is_ok() && local_head(&db).0 >= 3).then_some(())
    });
    std::fs::write(&cfg, format!("{}\n{base}", pg.shared_toml(&[]))).unwrap();
    assert!(
        Command::new("kill")
            .args(["-s", "HUP", &daemon.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    eventually(20, "seals shipped after the reload", &log, || {
        let migrated = pg
            .sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'seals'")
            == "1";
        (migrated && pg.sql("SELECT count(*) FROM seals WHERE vantage = 'roma-1'") != "0")
            .then_some(())
    });
    assert!(
        Command::new("kill")
            .args(["-s", "TERM", &daemon.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(daemon.0.wait().unwrap().success());
    let (head, chain) = local_head(&db);
    assert_eq!(
        pg.sql("SELECT max(id) || ' ' || (SELECT chain FROM seals WHERE vantage = 'roma-1' ORDER BY id DESC LIMIT 1) FROM seals WHERE vantage = 'roma-1'"),
        format!("{head} {chain}"),
        "the last ship at stop"
    );
}

/// Two databases shipping under one vantage name: the second is refused, and
/// nothing of it mixes into the first's chain.
#[tokio::test]
async fn ship_refuses_a_second_database_under_a_name_already_shipped() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("milano.db");
    closes_the_outage_and_adds_an_incident(store_with_an_open_outage(&db), &db);
    let other = dir.path().join("other.db");
    let store = store_with_an_open_outage(&other);
    store
        .heartbeat("milano-1", UtcMillis(T0 + 9 * DAY))
        .unwrap();
    store.close().unwrap();
    let mut client = client(&pg, dir.path()).await;
    ship_all(source(&db, "milano-1"), &mut client, 1000).await;
    let e = ship_once(source(&other, "milano-1"), &mut client, 1000)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("another vantage ships under this name"), "{e}");
    assert!(e.contains("[daemon] vantage"), "{e}");
    assert_same(&pg, &db, "milano-1");
}
