//! Reading the shared store back (issue 18): each vantage's evidence copied out of a
//! real PostgreSQL equals what its own SQLite holds, row by row; `status`,
//! `outages`, `report` and `verify` take `--shared`; `verify --shared` finds rows
//! edited in PostgreSQL and names the vantage and the row.

use crate::peers::postgres::{PASSWORD, Postgres};
use crate::util::slawatch;
use rusqlite::types::Value;
use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::store::{Reader, Store};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A run span (a UTC day): runs never cross one.
const DAY: i64 = slawatch::store::RUN_SPAN_MS;
const MIN: i64 = 60_000;
/// 2024-04-01T00:00:00Z.
const T0: i64 = 1_711_929_600_000;

/// Every table a vantage ships, references first (as `shared::tables` lists them).
const TABLES: &[&str] = &[
    "probes",
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
];

fn check(probe: &str, at: i64, status: Status, detail: &str) -> Check {
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(at),
        status,
        class: (status == Status::Down).then_some(ErrorClass::Timeout),
        detail: if status == Status::Down {
            detail.to_owned()
        } else {
            String::new()
        },
        phases: Phases {
            total: Some(Duration::from_millis(40)),
            ..Phases::default()
        },
        cert_not_after: None,
    }
}

/// A vantage's own database after three days: `web` and `mail` checked 12 times a
/// day, `web` failing three times in a row on day `bad_day` (an outage, opened and
/// closed), coverage, a maintenance window and a manual incident; and its
/// checkpoint file (start and stop lines). Returns (database, checkpoint file).
fn vantage_db(dir: &Path, vantage: &str, bad_day: i64) -> (PathBuf, PathBuf) {
    let db = dir.join(format!("{vantage}.db"));
    let cp = dir.join(format!("{vantage}.checkpoints"));
    slawatch::checkpoint::append(&cp, UtcMillis(T0), "start", vantage, None).unwrap();
    let store = Store::open(&db).unwrap();
    store
        .register_probes(&[
            ("web".to_owned(), "http".to_owned()),
            ("mail".to_owned(), "imap".to_owned()),
        ])
        .unwrap();
    let step = DAY / 12;
    let detail = format!("no answer in 10 s from {vantage}");
    for i in 0..36 {
        let at = T0 + i * step;
        let down = i / 12 == bad_day && (3..6).contains(&(i % 12));
        let web = if down { Status::Down } else { Status::Up };
        store.record_check(&check("web", at, web, &detail)).unwrap();
        store
            .record_check(&check("mail", at + 1000, Status::Up, ""))
            .unwrap();
        store.heartbeat(vantage, UtcMillis(at + 2000)).unwrap();
    }
    let outage = slawatch::outage::Outage {
        probe: "web".to_owned(),
        start: UtcMillis(T0 + bad_day * DAY + 3 * step),
        end: None,
        last_failure: UtcMillis(T0 + bad_day * DAY + 5 * step),
        last_success_before: Some(UtcMillis(T0 + bad_day * DAY + 2 * step)),
        class: ErrorClass::Timeout,
        detail,
        failed_checks: 3,
    };
    store
        .record_outage(&slawatch::outage::Event::Opened(outage.clone()))
        .unwrap();
    store
        .record_outage(&slawatch::outage::Event::Closed(slawatch::outage::Outage {
            end: Some(UtcMillis(T0 + bad_day * DAY + 6 * step)),
            ..outage
        }))
        .unwrap();
    store
        .record_maintenance(&[slawatch::config::Maintenance {
            contracts: vec!["shop".to_owned()],
            probes: vec![],
            start: UtcMillis(T0 + 2 * DAY),
            end: UtcMillis(T0 + 2 * DAY + 60 * MIN),
            announced_at: Some(UtcMillis(T0)),
            note: Some("kernel update".to_owned()),
        }])
        .unwrap();
    store.close().unwrap();
    slawatch::store::add_incident(
        &db,
        &slawatch::store::Incident {
            id: 0,
            probe: Some("mail".to_owned()),
            contract: None,
            start: UtcMillis(T0 + DAY),
            end: UtcMillis(T0 + DAY + 90 * MIN),
            source: slawatch::store::IncidentSource::StatusPage,
            note: format!("status page seen from {vantage}: mail degraded"),
            created_at: UtcMillis(T0 + 3 * DAY),
            ..Default::default()
        },
    )
    .unwrap();
    let head = Reader::open(&db).unwrap().chain_head().unwrap();
    slawatch::checkpoint::append(&cp, UtcMillis(T0 + 3 * DAY), "stop", vantage, head).unwrap();
    (db, cp)
}

/// The rows of `table` a vantage ships: every row of `probes` and `seals`, the
/// sealed rows of the sealed tables, the attachments of sealed incidents.
fn shipped_filter(table: &str) -> String {
    match table {
        "probes" | "seals" => String::new(),
        "incident_attachments" => {
            " WHERE incident IN (SELECT row_id FROM seals WHERE tbl = 'incidents')".to_owned()
        }
        t => format!(" WHERE id IN (SELECT row_id FROM seals WHERE tbl = '{t}')"),
    }
}

fn columns(conn: &rusqlite::Connection, table: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .unwrap();
    stmt.query_map([table], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Every row of `table` (`filter` applied), by id, every column.
fn rows_of(conn: &rusqlite::Connection, table: &str, filter: &str) -> Vec<Vec<Value>> {
    let n = columns(conn, table).len();
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM \"{table}\"{filter} ORDER BY id"))
        .unwrap();
    stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Ships `db`'s sealed rows and `checkpoints`'s lines to PostgreSQL as `vantage`
/// with the daemon's own shipper, until nothing is left.
fn ship(
    pg_settings: &slawatch::config::SharedSettings,
    db: &Path,
    checkpoints: &Path,
    vantage: &str,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = slawatch::shared::pg::connect_and_migrate(pg_settings)
            .await
            .unwrap();
        let source = slawatch::shared::ship::Source {
            database: db,
            vantage,
            checkpoint_file: Some(checkpoints),
        };
        let last = *crate::ship::ship_all(source, &mut client, 1000)
            .await
            .last()
            .unwrap();
        assert_eq!(last.head, last.local_head);
    });
}

/// A configuration of the vantage `milano-1` (database `local`) with `[shared]`
/// on `pg`, a plan and a contract over `web` and `mail`.
fn config(dir: &Path, local: &Path, shared: &str) -> PathBuf {
    let cfg = dir.join("probes.toml");
    std::fs::write(
        &cfg,
        format!(
            "[daemon]\nvantage = \"milano-1\"\ndatabase = \"{}\"\n\n{shared}\n\
             [[http]]\nname = \"web\"\nurl = \"http://127.0.0.1:9/\"\n\n\
             [[tcp]]\nname = \"mail\"\ntarget = \"127.0.0.1:9\"\n\n\
             [[plan]]\nid = \"hosting\"\ncurrency = \"EUR\"\nfee = \"20.00\"\n\
             window.kind = \"calendar_month\"\nwindow.timezone = \"UTC\"\n\
             objective.target = \"99.9\"\nmeasurement.method = \"time\"\n\
             credit.scheme = \"tiered_percent\"\n\
             credit.tiers = [{{ below = \"99.9\", pct = \"10\" }}, {{ below = \"99.0\", pct = \"25\" }}]\n\n\
             [[contract]]\nid = \"shop\"\nplan = \"hosting\"\nprobes = [\"web\", \"mail\"]\n\
             unmonitored = \"as_up\"\n",
            local.display()
        ),
    )
    .unwrap();
    cfg
}

fn settings_of(cfg: &Path) -> slawatch::config::SharedSettings {
    slawatch::config::load(cfg).unwrap().shared.unwrap()
}

/// `slawatch ARGS --config CFG`: (exit code, stdout, stderr).
fn run(cfg: &Path, args: &[&str]) -> (i32, String, String) {
    let out = slawatch()
        .args(args)
        .arg("--config")
        .arg(cfg)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn shared_read_each_vantage_reads_back_equal_to_its_own_database_row_by_row() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let (milano, milano_cp) = vantage_db(dir.path(), "milano-1", 0);
    let (roma, roma_cp) = vantage_db(dir.path(), "roma-1", 1);
    let cfg = config(
        dir.path(),
        &milano,
        &pg.shared_toml(&["milano-1", "roma-1"]),
    );
    let settings = settings_of(&cfg);
    ship(&settings, &milano, &milano_cp, "milano-1");
    ship(&settings, &roma, &roma_cp, "roma-1");

    let kept = dir.path().join("copies");
    std::fs::create_dir(&kept).unwrap();
    let read = slawatch::shared::read::read(
        &settings,
        &slawatch::shared::read::ReadOptions {
            only: Vec::new(),
            keep_in: Some(kept.clone()),
        },
    )
    .unwrap();
    let names: Vec<&str> = read.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["milano-1", "roma-1"]);
    for (v, original) in read.iter().zip([&milano, &roma]) {
        let orig = rusqlite::Connection::open(original).unwrap();
        let copy = rusqlite::Connection::open(kept.join(format!("{}.db", v.name))).unwrap();
        let mut total = 0;
        for table in TABLES {
            let want = rows_of(&orig, table, &shipped_filter(table));
            let got = rows_of(&copy, table, "");
            assert_eq!(got, want, "vantage {}: table {table} differs", v.name);
            total += want.len();
        }
        assert!(total > 50, "too little evidence to compare: {total} rows");
        assert_eq!(v.rows, u64::try_from(total).unwrap());
        // The copy has every row the original has: nothing was left unshipped.
        for table in [
            "runs",
            "failures",
            "outages",
            "coverage",
            "incidents",
            "maintenance",
        ] {
            assert_eq!(
                rows_of(&orig, table, "").len(),
                rows_of(&copy, table, "").len(),
                "{table}"
            );
        }
        let report = v.reader.verify_chain().unwrap();
        assert!(report.intact(), "{}: {:?}", v.name, report.problems);
        let local = Reader::open(original).unwrap();
        assert_eq!(v.reader.chain_head().unwrap(), local.chain_head().unwrap());
        assert_eq!(v.last_seal, local.chain_head().unwrap().unwrap().0);
        assert_eq!(
            v.checkpoints,
            std::fs::read_to_string(if v.name == "milano-1" {
                &milano_cp
            } else {
                &roma_cp
            })
            .unwrap()
        );
        assert_eq!(
            v.reader.outages(None, None).unwrap(),
            local.outages(None, None).unwrap()
        );
    }
    // The two vantages' rows stay apart although their ids are the same.
    assert_ne!(
        read[0].reader.outages(None, None).unwrap(),
        read[1].reader.outages(None, None).unwrap()
    );

    // Only one vantage, and a vantage the store lacks is named with the ones it has.
    let one = slawatch::shared::read::read(
        &settings,
        &slawatch::shared::read::ReadOptions {
            only: vec!["roma-1".to_owned()],
            keep_in: None,
        },
    )
    .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].name, "roma-1");
    let e = slawatch::shared::read::read(
        &settings,
        &slawatch::shared::read::ReadOptions {
            only: vec!["torino-1".to_owned()],
            keep_in: None,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no vantage 'torino-1'") && e.contains("milano-1, roma-1"),
        "{e}"
    );
}

#[test]
fn shared_read_report_outages_and_status_read_the_shared_store_with_the_vantage() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let (milano, milano_cp) = vantage_db(dir.path(), "milano-1", 0);
    let (roma, roma_cp) = vantage_db(dir.path(), "roma-1", 1);
    let cfg = config(
        dir.path(),
        &milano,
        &pg.shared_toml(&["milano-1", "roma-1"]),
    );
    let settings = settings_of(&cfg);
    ship(&settings, &milano, &milano_cp, "milano-1");

    // One vantage: the same report as from its own database.
    let report = |extra: &[&str]| {
        let mut args = vec![
            "report", "--period", "2024-04", "--format", "json", "--out", "-",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&cfg, &args);
        assert_eq!(code, 0, "{out}{err}");
        let mut v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v.as_object_mut().unwrap().remove("generated_at");
        v
    };
    let local = report(&[]);
    let shared = report(&["--shared"]);
    assert_eq!(shared, local);
    let text = local.to_string();
    assert!(
        text.contains("\"breach\":true"),
        "the report shows no breach: {text}"
    );

    ship(&settings, &roma, &roma_cp, "roma-1");
    // Outages: each vantage's, with its name, the same as its own database lists.
    let (code, out, err) = run(&cfg, &["outages", "--shared", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(list.len(), 2, "{out}");
    for (item, (name, db)) in list.iter().zip([("milano-1", &milano), ("roma-1", &roma)]) {
        assert_eq!(item["vantage"], name, "{out}");
        let mut own =
            serde_json::to_value(&Reader::open(db).unwrap().outages(None, None).unwrap()[0])
                .unwrap();
        own.as_object_mut()
            .unwrap()
            .insert("vantage".to_owned(), name.into());
        assert_eq!(item, &own);
    }
    let (code, out, _) = run(&cfg, &["outages", "--shared"]);
    assert_eq!(code, 0);
    let words = |l: &str| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let lines: Vec<String> = out.lines().map(words).collect();
    assert_eq!(
        lines,
        [
            "VANTAGE PROBE START",
            "milano-1 web 2024-04-01T06:00:00.000Z",
            "roma-1 web 2024-04-02T06:00:00.000Z"
        ],
        "{out}"
    );
    assert!(out.contains("no answer in 10 s from roma-1"), "{out}");

    // Status: every vantage's view of every probe.
    let (code, out, err) = run(&cfg, &["status", "--shared", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let states: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let seen: Vec<(String, String, String)> = states
        .iter()
        .map(|s| {
            (
                s["vantage"].as_str().unwrap().to_owned(),
                s["probe"].as_str().unwrap().to_owned(),
                s["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("milano-1", "mail"),
        ("milano-1", "web"),
        ("roma-1", "mail"),
        ("roma-1", "web"),
    ]
    .iter()
    .map(|(v, p)| ((*v).to_owned(), (*p).to_owned(), "up".to_owned()))
    .collect();
    assert_eq!(seen, want, "{out}");
    let (_, text, _) = run(&cfg, &["status", "--shared"]);
    assert!(text.starts_with("VANTAGE "), "{text}");
    assert!(text.contains("roma-1    web "), "{text}");
    assert_eq!(text.lines().count(), 5, "{text}");

    // Two vantages in one report: the consensus over both (the default rule, any
    // one vantage), each vantage's own view beside it and each one's chain head.
    let both = report(&["--shared"]);
    let consensus = &both["contracts"][0]["consensus"];
    let names: Vec<&str> = consensus["vantages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["milano-1", "roma-1"], "{consensus}");
    assert_eq!(consensus["rule"], "1 of 2", "{consensus}");
    assert!(
        consensus["vantages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["chain"]["head"].is_string()),
        "{consensus}"
    );
    assert!(both["contracts"][0]["evidence"]["chain"].is_null());
    // --vantage picks the ones to read: roma-1's report is not milano-1's.
    let roma_report = report(&["--shared", "--vantage", "roma-1"]);
    assert_ne!(roma_report, local);
    assert_eq!(
        roma_report["contracts"][0]["evidence"]["probes"],
        local["contracts"][0]["evidence"]["probes"]
    );
    let (code, out, err) = run(
        &cfg,
        &["outages", "--shared", "--vantage", "roma-1", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(list.len(), 1, "{out}");
    assert_eq!(list[0]["vantage"], "roma-1", "{out}");
    let (code, _, err) = run(&cfg, &["status", "--shared", "--vantage", "torino-1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("has no vantage 'torino-1'"), "{err}");
    let (code, _, err) = run(&cfg, &["status", "--vantage", "roma-1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--shared"), "{err}");
}

/// Runs `psql` as the cluster's superuser with the append-only trigger of
/// `table` disabled around `sql`, as someone with the keys to the store would.
fn tamper(pg: &Postgres, table: &str, sql: &str) {
    pg.sql(&format!(
        "ALTER TABLE {table} DISABLE TRIGGER {table}_append_only; {sql}; \
         ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"
    ));
}

#[test]
fn shared_read_verify_finds_a_row_edited_in_postgres_and_names_vantage_and_row() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let (milano, milano_cp) = vantage_db(dir.path(), "milano-1", 0);
    let (roma, roma_cp) = vantage_db(dir.path(), "roma-1", 1);
    let cfg = config(
        dir.path(),
        &milano,
        &pg.shared_toml(&["milano-1", "roma-1"]),
    );
    let settings = settings_of(&cfg);
    ship(&settings, &milano, &milano_cp, "milano-1");
    ship(&settings, &roma, &roma_cp, "roma-1");

    let (code, out, err) = run(&cfg, &["verify", "--shared"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("vantage milano-1: ok: "), "{out}");
    assert!(out.contains("vantage roma-1: ok: "), "{out}");
    assert!(
        out.contains("vantage roma-1: checkpoints shipped: all 2 lines match the chain"),
        "{out}"
    );

    // A failed check's detail rewritten in roma-1's rows.
    let failure = pg.sql("SELECT min(id) FROM failures WHERE vantage = 'roma-1'");
    tamper(
        &pg,
        "failures",
        &format!(
            "UPDATE failures SET detail = 'maintenance announced' \
             WHERE vantage = 'roma-1' AND id = {failure}"
        ),
    );
    let (code, out, _) = run(&cfg, &["verify", "--shared"]);
    assert_eq!(code, 1, "{out}");
    let roma_line = out
        .lines()
        .find(|l| l.starts_with("vantage roma-1: FAILED"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        roma_line.contains(&format!("failures row {failure} (probe web"))
            && roma_line.contains("was altered"),
        "{out}"
    );
    assert!(out.contains("vantage milano-1: ok: "), "{out}");

    // An outage shortened in milano-1's rows.
    tamper(
        &pg,
        "outages",
        "UPDATE outages SET \"end\" = \"end\" - 600000 WHERE vantage = 'milano-1'",
    );
    let (code, out, _) = run(&cfg, &["verify", "--shared", "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    let milano_json = &v["vantages"][0];
    assert_eq!(milano_json["vantage"], "milano-1");
    assert_eq!(milano_json["ok"], false);
    let problems = milano_json["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["table"] == "outages" && p["row"] == 1),
        "{out}"
    );

    // roma-1's last seal (its incident's) and the row deleted: the chain alone
    // ends one seal earlier, whole; the head recorded for the vantage and the
    // checkpoint shipped with it catch the cut.
    let last = pg.sql("SELECT max(id) FROM seals WHERE vantage = 'roma-1'");
    tamper(
        &pg,
        "seals",
        &format!("DELETE FROM seals WHERE vantage = 'roma-1' AND id = {last}"),
    );
    tamper(
        &pg,
        "incidents",
        "DELETE FROM incidents WHERE vantage = 'roma-1'",
    );
    let (code, out, _) = run(&cfg, &["verify", "--shared"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "vantage roma-1: FAILED: the shared store recorded seal {last} as this \
             vantage's last (vantages.last_seal), but its chain ends at seal {}",
            last.parse::<i64>().unwrap() - 1
        )),
        "{out}"
    );
    assert!(
        out.contains("vantage roma-1: checkpoints shipped: line 2 DISAGREES"),
        "{out}"
    );
}

#[test]
fn shared_read_without_shared_or_with_a_wrong_password_says_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (milano, _) = vantage_db(dir.path(), "milano-1", 0);
    // No [shared]: each command says what to add; without --shared all is as before.
    let cfg = config(dir.path(), &milano, "");
    for args in [
        &["status", "--shared"][..],
        &["outages", "--shared"],
        &["verify", "--shared"],
        &[
            "report", "--shared", "--period", "2024-04", "--out", "-", "--format", "json",
        ],
    ] {
        let (code, out, err) = run(&cfg, args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(
            err.contains(&format!(
                "error: no [shared] in {}: add [shared] url = ",
                cfg.display()
            )),
            "{args:?}: {err}"
        );
    }
    for args in [&["status"][..], &["outages"], &["verify"]] {
        let (code, out, err) = run(&cfg, args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
    }

    // A wrong password: refused, and neither password is printed.
    let pg = Postgres::start();
    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "not-the-pg-password-7f2e\n").unwrap();
    let shared = pg.shared_toml(&["milano-1"]).replace(
        &pg.password_file.display().to_string(),
        &wrong.display().to_string(),
    );
    let cfg = config(dir.path(), &milano, &shared);
    for args in [
        &["status", "--shared"][..],
        &["verify", "--shared", "--json"],
    ] {
        let (code, out, err) = run(&cfg, args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains("password authentication failed"), "{err}");
        assert!(err.contains(&format!("postgres://{}", pg.addr)), "{err}");
        for secret in ["not-the-pg-password-7f2e", PASSWORD] {
            assert!(!err.contains(secret) && !out.contains(secret), "{out}{err}");
        }
    }
}
