//! `slawatch members import|list` and the member columns of `slawatch incident
//! import` (issue 13): 500 members and their observations imported, a re-import
//! that changes nothing, a bad row refused whole with its line and column, unknown
//! plans with a suggestion, attachments checked against their SHA-256, and `verify`
//! finding an edited member record.

use crate::util::slawatch;
use slawatch::members::Member;
use slawatch::store::Reader;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The association's configuration: Libero's plans, AGCOM's to compare with.
const CONFIG: &str = r#"
[daemon]
database = "association.db"
reports_dir = "reports"
vantage = "association"

[[imap]]
name = "libero-imap"
host = "imapmail.libero.test"
port = 993
tls = "implicit"

[[plan]]
id = "libero-mail-free"
provider = "Italiaonline S.p.A."
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"

[[plan]]
id = "libero-mail-plus"
provider = "Italiaonline S.p.A."
currency = "EUR"
fee = "19.99"
fee_period = "year"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"

[[plan]]
id = "agcom-347-18-interruption"
customer_type = "business"
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "daily_flat"
credit.per_day = "6.00"
credit.day_count = "local_calendar_days_touched"
credit.business_multiplier = "2"

[members]
lang = "it"
unmonitored = "as_up"

[[members.provider]]
name = "Italiaonline S.p.A."
address = "Via del Bosco Rinnovato 8, 20057 Assago (MI)"
pec = "reclami@italiaonline-pec.test"

[[members.plan]]
plan = "libero-mail-plus"
compare_with = ["agcom-347-18-interruption"]
probes = ["libero-imap"]
"#;

const HEADER: &str = "member,service,name,email,address,plan,fee,fee_period,customer_type,\
                      service_start,lang";

/// A directory with the configuration; its database is `association.db` beside it.
fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let db = dir.path().join("association.db");
    (dir, config, db)
}

/// Row `i` (1-based) of a members file, `name` its member's name.
fn member_row(i: usize, name: &str) -> String {
    let plus = i.is_multiple_of(2);
    format!(
        "m-{i:04},mail,{name},m{i}@example.test,\"Via Roma {i}, Milano\",{},{},{},{},2019-03-01,{}",
        if plus {
            "libero-mail-plus"
        } else {
            "libero-mail-free"
        },
        if plus { "19.99" } else { "" },
        if plus { "year" } else { "" },
        if i.is_multiple_of(7) { "business" } else { "" },
        if i.is_multiple_of(3) { "en" } else { "" },
    )
}

/// `n` members, one row each on lines 2..=n+1; `edit` may change a row's text.
fn members_csv(
    dir: &Path,
    file: &str,
    n: usize,
    edit: impl Fn(usize, String) -> String,
) -> PathBuf {
    let mut text = format!("{HEADER}\n");
    for i in 1..=n {
        let row = edit(i, member_row(i, &format!("Member {i}")));
        writeln!(text, "{row}").unwrap();
    }
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// One observation per member: the Libero outage as each saw it, in local time.
fn observations_csv(dir: &Path, n: usize) -> PathBuf {
    let mut text = String::from("member,service,start,end,source,note\n");
    for i in 1..=n {
        writeln!(
            text,
            "m-{i:04},mail,2023-01-{:02}T{:02}:00,2023-01-27T19:00,manual,webmail down",
            22 + i % 3,
            i % 24
        )
        .unwrap();
    }
    let path = dir.join("observations.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// `slawatch ARGS --config CONFIG`: (exit code, stdout, stderr).
fn run(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = slawatch()
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(config: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(config, args);
    assert_eq!(code, 0, "{args:?}\nstdout: {out}\nstderr: {err}");
    out
}

fn one_i64(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// Everything a member import or an incident import could change, as text.
fn dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = String::new();
    for sql in [
        "SELECT id || '|' || member || '|' || service || '|' || name || '|' || \
         coalesce(fee, '') || '|' || coalesce(supersedes, '') FROM members ORDER BY id",
        "SELECT id || '|' || coalesce(contract, '') || '|' || start || '|' || end \
         FROM incidents ORDER BY id",
        "SELECT id || '|' || tbl || '|' || row_id || '|' || chain FROM seals ORDER BY id",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        for row in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            out.push_str(&row.unwrap());
            out.push('\n');
        }
    }
    out
}

fn verify(db: &Path) -> (i32, String) {
    let out = slawatch()
        .arg("verify")
        .arg("--database")
        .arg(db)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

/// The 1-based character column where field `k` of `line` starts.
fn column(line: &str, k: usize) -> usize {
    let mut col = 1;
    let mut quoted = false;
    let mut field = 0;
    for (n, c) in line.chars().enumerate() {
        if field == k {
            return col;
        }
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                field += 1;
                col = n + 2;
            }
            _ => {}
        }
    }
    col
}

#[test]
fn members_500_and_their_observations_import_and_a_reimport_changes_nothing() {
    let (dir, config, db) = setup();
    let members = members_csv(dir.path(), "members.csv", 500, |_, r| r);
    let observations = observations_csv(dir.path(), 500);
    let m = members.to_str().unwrap();
    let o = observations.to_str().unwrap();

    let out = ok(&config, &["members", "import", m, "--dry-run"]);
    assert!(out.contains("would store 500 new"), "{out}");
    assert!(!db.exists(), "a dry run created {}", db.display());

    let out = ok(&config, &["members", "import", m]);
    assert!(out.contains("500 new, 0 changed, 0 unchanged"), "{out}");
    let out = ok(&config, &["incident", "import", o]);
    assert!(out.contains("500 incidents imported"), "{out}");
    assert_eq!(one_i64(&db, "SELECT count(*) FROM members"), 500);
    assert_eq!(one_i64(&db, "SELECT count(*) FROM incidents"), 500);
    assert_eq!(one_i64(&db, "SELECT count(*) FROM seals"), 1000);
    let (code, verified) = verify(&db);
    assert_eq!(code, 0, "{verified}");
    let before = dump(&db);

    // The same files again: nothing stored, and the chain is what it was.
    let out = ok(&config, &["members", "import", m]);
    assert!(out.contains("0 new, 0 changed, 500 unchanged"), "{out}");
    let out = ok(&config, &["incident", "import", o]);
    assert!(out.contains("every row is already recorded"), "{out}");
    assert_eq!(dump(&db), before);
    assert_eq!(verify(&db), (code, verified));

    // What the store gives: every member once, in order, its contract and incident.
    let reader = Reader::open(&db).unwrap();
    assert_eq!(reader.member_count().unwrap(), 500);
    let cfg = slawatch::config::load(&config).unwrap();
    let mut seen: Vec<Member> = Vec::new();
    reader
        .for_each_member(|m| {
            seen.push(m);
            Ok(())
        })
        .unwrap();
    assert_eq!(seen.len(), 500);
    assert_eq!(seen[0].contract_id(), "m-0001.mail");
    assert!(seen.windows(2).all(|w| w[0].member < w[1].member));
    assert!(seen.iter().all(|m| m.digest.len() == 64 && m.seq > 0));
    let plus = &seen[1]; // m-0002: Libero Mail Plus, Italian by [members] lang
    let contract = plus.contract(&cfg);
    assert_eq!(contract.id, "m-0002.mail");
    assert_eq!(contract.fee, Some("19.99".parse().unwrap()));
    assert_eq!(contract.compare_with, ["agcom-347-18-interruption"]);
    assert_eq!(contract.probes, ["libero-imap"]);
    assert_eq!(
        contract.provider_pec.as_deref(),
        Some("reclami@italiaonline-pec.test")
    );
    assert_eq!(plus.lang(&cfg), slawatch::report::Lang::It);
    assert_eq!(seen[2].lang(&cfg), slawatch::report::Lang::En); // m-0003: lang en
    assert!(seen[0].contract(&cfg).probes.is_empty()); // the free plan: no probes
    let incidents = reader.effective_incidents_of("m-0002.mail").unwrap();
    assert_eq!(incidents.len(), 1);
    // 2023-01-24T02:00 in Rome (UTC+1) is 01:00 UTC.
    assert_eq!(
        incidents[0].start.0,
        "2023-01-24T01:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond()
    );

    // A changed row is a new record superseding the old one; the others stay.
    let changed = members_csv(dir.path(), "changed.csv", 500, |i, r| {
        if i == 42 {
            r.replace("Member 42", "Member Forty-Two")
        } else {
            r
        }
    });
    let out = ok(&config, &["members", "import", changed.to_str().unwrap()]);
    assert!(out.contains("0 new, 1 changed, 499 unchanged"), "{out}");
    assert_eq!(one_i64(&db, "SELECT count(*) FROM members"), 501);
    let reader = Reader::open(&db).unwrap();
    assert_eq!(reader.member_count().unwrap(), 500);
    let mut names = Vec::new();
    reader
        .for_each_member(|m| {
            if m.member == "m-0042" {
                names.push(m.name);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(names, ["Member Forty-Two"]);
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");

    let list = ok(&config, &["members", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 500);
    assert_eq!(list[41]["name"], "Member Forty-Two");
}

#[test]
fn members_a_bad_row_is_refused_whole_with_its_line_and_column() {
    let (dir, config, db) = setup();
    let good = members_csv(dir.path(), "members.csv", 500, |_, r| r);
    ok(&config, &["members", "import", good.to_str().unwrap()]);
    let before = dump(&db);
    // Every row changed, and row 311 (line 312) with a fee written the Italian way.
    let bad = members_csv(dir.path(), "bad.csv", 500, |i, r| {
        let r = r.replace("Member", "Socio");
        if i == 311 {
            r.replace("libero-mail-free,,", "libero-mail-free,\"19,99\",")
        } else {
            r
        }
    });
    let text = std::fs::read_to_string(&bad).unwrap();
    let line312 = text.lines().nth(311).unwrap();
    let col = column(line312, 6);
    let (code, out, err) = run(&config, &["members", "import", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    let file = bad.display().to_string();
    assert!(
        err.contains(&format!(
            "error: {file}:312:{col}: fee: fee '19,99' is not an amount"
        )),
        "{err}"
    );
    assert!(
        err.contains("19.99"),
        "the message says what to write: {err}"
    );
    assert!(err.contains("nothing stored: 1 error"), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert_eq!(dump(&db), before, "a refused file changed the database");
}

#[test]
fn members_an_unknown_plan_or_column_is_named_with_the_closest() {
    let (dir, config, db) = setup();
    let file = members_csv(dir.path(), "members.csv", 20, |i, r| {
        if i == 9 {
            r.replace("libero-mail-free", "libero-mail-fre")
        } else {
            r
        }
    });
    let (code, _, err) = run(&config, &["members", "import", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    let col = column(text.lines().nth(9).unwrap(), 5);
    assert!(
        err.contains(&format!(
            "{}:10:{col}: plan: no plan 'libero-mail-fre' in",
            file.display()
        )),
        "{err}"
    );
    assert!(err.contains("did you mean 'libero-mail-free'?"), "{err}");
    assert!(!db.exists());

    let misnamed = dir.path().join("misnamed.csv");
    std::fs::write(
        &misnamed,
        "member,service,name,plan,fees\nm-1,mail,Anna,libero-mail-free,1\n",
    )
    .unwrap();
    let (code, _, err) = run(&config, &["members", "import", misnamed.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("misnamed.csv:1:26: unknown column 'fees'; did you mean 'fee'?"),
        "{err}"
    );
    // The configuration's [[members.plan]] names plans the same way.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        CONFIG.replace(
            "plan = \"libero-mail-plus\"",
            "plan = \"libero-mail-pluss\"",
        ),
    )
    .unwrap();
    let (code, _, err) = run(&broken, &["check-config"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("[[members.plan]] names plan 'libero-mail-pluss', which does not exist")
            && err.contains("did you mean 'libero-mail-plus'?"),
        "{err}"
    );
    // And [members] lang and unmonitored, at their line and column.
    std::fs::write(
        &broken,
        CONFIG
            .replace("lang = \"it\"", "lang = \"itt\"")
            .replace("unmonitored = \"as_up\"", "unmonitored = \"asup\""),
    )
    .unwrap();
    let line = CONFIG.lines().position(|l| l == "lang = \"it\"").unwrap() + 1;
    let (code, _, err) = run(&broken, &["check-config"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "broken.toml:{line}:8: [members] lang 'itt' is not a language of letters (did you \
             mean 'it'?)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "broken.toml:{}:15: [members] unmonitored 'asup' is not a choice (did you mean \
             'as_up'?)",
            line + 1
        )),
        "{err}"
    );
}

#[test]
fn members_an_observation_with_a_wrong_sha256_or_an_unknown_member_is_refused() {
    let (dir, config, db) = setup();
    let members = members_csv(dir.path(), "members.csv", 3, |_, r| r);
    ok(&config, &["members", "import", members.to_str().unwrap()]);
    std::fs::write(dir.path().join("shot.png"), b"the webmail's error page").unwrap();
    let wrong = "a3a8df8a8b2f6c8a0d1a41f6f7a1c42a0ba2f06d7d0c1fd8bc3a0c5f5e1ab0c1";
    let real = {
        use sha2::Digest as _;
        let d = sha2::Sha256::digest(b"the webmail's error page");
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_ne!(wrong, real);
    let csv = dir.path().join("obs.csv");
    let write = |sha: &str, member: &str| {
        std::fs::write(
            &csv,
            format!(
                "member,service,start,end,source,note,attach,sha256\n\
                 {member},mail,2023-01-22T23:00,2023-01-27T19:00,manual,down,shot.png,{sha}\n"
            ),
        )
        .unwrap();
    };
    let before = dump(&db);
    write(wrong, "m-0001");
    let line = std::fs::read_to_string(&csv).unwrap();
    let col = column(line.lines().nth(1).unwrap(), 7);
    let (code, _, err) = run(&config, &["incident", "import", csv.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("obs.csv:2:{col}: sha256: "))
            && err.contains(&format!("has SHA-256 {real}, not {wrong}")),
        "{err}"
    );
    write(&real, "m-0009");
    let (code, _, err) = run(&config, &["incident", "import", csv.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("obs.csv:2:1: member: no member 'm-0009' with service 'mail'"),
        "{err}"
    );
    assert_eq!(dump(&db), before);
    // The right hash, a member that exists: stored, with its attachment sealed.
    write(&real.to_uppercase(), "m-0001");
    let out = ok(&config, &["incident", "import", csv.to_str().unwrap()]);
    assert!(
        out.contains(&format!("1 attachment sha256 {real}")),
        "{out}"
    );
    let incidents = Reader::open(&db)
        .unwrap()
        .effective_incidents_of("m-0001.mail")
        .unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].attachments[0].1, real);
}

#[test]
fn members_verify_finds_an_edited_member_record() {
    let (dir, config, db) = setup();
    let members = members_csv(dir.path(), "members.csv", 10, |_, r| r);
    ok(&config, &["members", "import", members.to_str().unwrap()]);
    let (code, out) = verify(&db);
    assert_eq!(code, 0, "{out}");
    // The triggers refuse a naive edit...
    let refused = rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE members SET fee = '0.00' WHERE id = 4", []);
    assert!(refused.is_err(), "an UPDATE of a member record was allowed");
    // ...and verify finds one made past them.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "DROP TRIGGER members_append_only_update;
             UPDATE members SET fee = '0.00' WHERE id = 4;",
        )
        .unwrap();
    let (code, out) = verify(&db);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("members row 4 (for m-0004.mail,")
            && out.contains("was altered after it was sealed"),
        "{out}"
    );
}
