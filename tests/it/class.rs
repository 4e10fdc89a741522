//! Issue 13, data out: 520 members imported with `members import` and their
//! observations with `incident import`, then `report --per-member` (a folder per
//! member, letters in the member's language, nothing of another member) and
//! `members summary` (totals equal the sum over the members, in CSV and JSON).
//!
//! Member ids (`M0001`) and names (`Socio Q0001`) are fixed width, so none is a
//! substring of another and a regex finds every mention of any member.

use crate::util::slawatch;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const MEMBERS: usize = 520;

const CONFIG: &str = r#"
[daemon]
database = "class.db"
reports_dir = "reports"
vantage = "associazione"

[[plan]]
id = "libero-mail-free"
provider = "Italiaonline S.p.A."
service = "Libero Mail (gratuita)"
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"
clause = "art. 6.1 delle Condizioni generali di contratto"

[[plan]]
id = "libero-mail-plus"
provider = "Italiaonline S.p.A."
service = "Libero Mail Plus"
customer_type = "consumer"
currency = "EUR"
fee = "19.99"
fee_period = "year"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"
clause = "art. 6.1 delle Condizioni generali di contratto"

[[plan]]
id = "agcom-347-18-interruption"
provider = "AGCOM delibera 347/18/CONS Allegato A, art. 6 c.1"
service = "Main service, complete interruption"
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
clause = "delibera AGCOM 347/18/CONS, Allegato A, art. 6, comma 1"

[[plan]]
id = "agcom-347-18-free-service"
provider = "AGCOM delibera 347/18/CONS Allegato A, art. 6 c.4"
service = "Free service, malfunction"
customer_type = "consumer"
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "daily_flat"
credit.per_day = "1.00"
credit.day_count = "local_calendar_days_touched"
credit.cap_amount = "100.00"
clause = "delibera AGCOM 347/18/CONS, Allegato A, art. 6, comma 4"

[members]
lang = "it"
unmonitored = "as_up"

[[members.provider]]
name = "Italiaonline S.p.A."
address = "Via del Bosco Rinnovato 8, 20057 Assago (MI)"
pec = "reclami@italiaonline-pec.test"

[[members.plan]]
plan = "libero-mail-free"
compare_with = ["agcom-347-18-free-service"]

[[members.plan]]
plan = "libero-mail-plus"
compare_with = ["agcom-347-18-interruption"]

[[goodwill]]
event = "Disservizio Libero Mail"
date = "2023-01-22"
plans = ["libero-mail-plus"]
extension_days = 183

[[goodwill]]
event = "Disservizio Libero Mail"
date = "2023-01-22"
plans = ["libero-mail-free"]
upgrade = "+20 % di spazio"
"#;

fn id(i: usize) -> String {
    format!("M{i:04}")
}

fn name(i: usize) -> String {
    format!("Socio Q{i:04}")
}

/// Every member has a mailbox; every fifth also a second one (`pec`). Members with
/// an odd number write in English, the others take `[members] lang` (Italian).
fn members_csv() -> String {
    let mut s = String::from("member,service,name,email,plan,lang,customer_code\n");
    for i in 1..=MEMBERS {
        let plan = if i % 2 == 0 {
            "libero-mail-plus"
        } else {
            "libero-mail-free"
        };
        let lang = if i % 2 == 1 { "en" } else { "" };
        let _ = writeln!(
            s,
            "{},mail,{},{}@libero.test,{plan},{lang},C{i:06}",
            id(i),
            name(i),
            id(i).to_lowercase()
        );
        if i % 5 == 0 {
            let _ = writeln!(
                s,
                "{},pec,{},{}@pec.test,libero-mail-plus,{lang},P{i:06}",
                id(i),
                name(i),
                id(i).to_lowercase()
            );
        }
    }
    s
}

/// One outage per mailbox, of a length that walks through every bucket; members
/// whose number ends in 7 saw nothing.
fn incidents_csv() -> String {
    let mut s = String::from("member,service,start,end,tz,source,note\n");
    let lengths_min: [i64; 6] = [30, 180, 720, 2400, 6000, 11400];
    for i in 1..=MEMBERS {
        if i % 10 == 7 {
            continue;
        }
        let min = lengths_min[i % lengths_min.len()];
        let start = jiff::civil::datetime(2023, 1, 22, 23, 0, 0, 0);
        let end = start
            .checked_add(jiff::SignedDuration::from_mins(min))
            .unwrap();
        let _ = writeln!(
            s,
            "{},mail,{},{},Europe/Rome,manual,\"could not log in\"",
            id(i),
            start.strftime("%Y-%m-%dT%H:%M"),
            end.strftime("%Y-%m-%dT%H:%M")
        );
    }
    s
}

struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

/// The imported database, the per-member folders and the summary, made once.
fn case() -> &'static Case {
    static CASE: OnceLock<Case> = OnceLock::new();
    CASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        std::fs::write(root.join("probes.toml"), CONFIG).unwrap();
        std::fs::write(root.join("members.csv"), members_csv()).unwrap();
        std::fs::write(root.join("incidents.csv"), incidents_csv()).unwrap();
        let run = |args: &[&str]| {
            slawatch()
                .current_dir(&root)
                .args(args)
                .args(["--config", "probes.toml"])
                .assert()
                .success();
        };
        run(&["members", "import", "members.csv"]);
        run(&["incident", "import", "incidents.csv"]);
        run(&[
            "report",
            "--per-member",
            "--period",
            "2023-01",
            "--date",
            "2023-02-20",
        ]);
        run(&[
            "members", "summary", "--period", "2023-01", "--out", "summary",
        ]);
        Case { _dir: dir, root }
    })
}

fn member_dirs(c: &Case) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(c.root.join("reports/members"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), e.path())
        })
        .collect();
    v.sort();
    v
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn class_every_member_gets_a_folder_with_its_report_and_letters() {
    let c = case();
    let dirs = member_dirs(c);
    assert_eq!(dirs.len(), MEMBERS, "one folder per member");
    for (i, (member, dir)) in dirs.iter().enumerate() {
        let n = i + 1;
        assert_eq!(member, &id(n));
        let names: Vec<String> = files(dir)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.contains(&"slawatch-2023-01.html".to_owned()),
            "{member}: {names:?}"
        );
        // Every mailbox with an outage is breached (any downtime) and gets a letter
        // in the member's language, with the report of that mailbox alone.
        let lang = if n % 2 == 1 { "en" } else { "it" };
        if n % 10 != 7 {
            let letter = format!("claim-{member}.mail-2023-01-{lang}.txt");
            let attached = format!("slawatch-2023-01-{member}.mail-{lang}.html");
            assert!(names.contains(&letter), "{member}: {names:?}");
            assert!(names.contains(&attached), "{member}: {names:?}");
        }
        for n in names.iter().filter(|n| n.starts_with("claim-")) {
            assert!(n.ends_with(&format!("-{lang}.txt")), "{member}: {n}");
        }
    }
}

#[test]
fn class_no_member_file_mentions_another_member() {
    let c = case();
    let any = regex::Regex::new(r"M\d{4}|Q\d{4}").unwrap();
    let mut scanned = 0;
    for (member, dir) in member_dirs(c) {
        let own_name_tag = format!("Q{}", &member[1..]);
        for f in files(&dir) {
            let text = std::fs::read_to_string(&f).unwrap();
            for m in any.find_iter(&text) {
                assert!(
                    m.as_str() == member || m.as_str() == own_name_tag,
                    "{} mentions {} (not {member})",
                    f.display(),
                    m.as_str()
                );
            }
            scanned += 1;
        }
        // And the member's own data is there.
        let report = std::fs::read_to_string(dir.join("slawatch-2023-01.html")).unwrap();
        assert!(report.contains(&member), "{member}'s report names it");
    }
    assert!(scanned >= MEMBERS * 2, "{scanned} files scanned");
}

#[test]
fn class_letters_are_in_each_members_language() {
    let c = case();
    // M0001 wrote `en`, M0002 nothing: [members] lang = "it".
    let en = files(&c.root.join("reports/members/M0001"));
    let it = files(&c.root.join("reports/members/M0002"));
    let letter = |v: &[PathBuf]| {
        v.iter()
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("claim-")
            })
            .cloned()
            .unwrap()
    };
    let (en, it) = (letter(&en), letter(&it));
    assert!(
        en.to_string_lossy().ends_with("-en.txt"),
        "{}",
        en.display()
    );
    assert!(
        it.to_string_lossy().ends_with("-it.txt"),
        "{}",
        it.display()
    );
    let it_text = std::fs::read_to_string(&it).unwrap();
    let en_text = std::fs::read_to_string(&en).unwrap();
    assert!(it_text.contains("Oggetto"), "{it_text}");
    assert!(en_text.contains("Subject"), "{en_text}");
    assert!(it_text.contains("Socio Q0002") && en_text.contains("Socio Q0001"));
}

fn dec(s: &str) -> Decimal {
    if s.is_empty() {
        Decimal::ZERO
    } else {
        s.parse().unwrap()
    }
}

#[test]
fn class_summary_totals_equal_the_sum_over_members_in_csv_and_json() {
    let c = case();
    // CSV: member rows summed per currency == the total rows.
    let mut rdr = csv::Reader::from_path(c.root.join("summary/class-summary-2023-01.csv")).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let money_cols: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| ["owed", "goodwill"].contains(&h.as_str()) || h.starts_with("compared:"))
        .map(|(i, _)| i)
        .collect();
    assert!(money_cols.len() >= 4, "{header:?}");
    let mut sums: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
    let mut totals: BTreeMap<String, Vec<Decimal>> = BTreeMap::new();
    let mut services: BTreeMap<String, u64> = BTreeMap::new();
    let mut member_rows = 0;
    for r in rdr.records() {
        let r = r.unwrap();
        let cur = r[col("currency")].to_owned();
        let vals: Vec<Decimal> = money_cols.iter().map(|i| dec(&r[*i])).collect();
        match &r[col("row")] {
            "member" => {
                member_rows += 1;
                *services.entry(cur.clone()).or_default() += 1;
                let s = sums
                    .entry(cur)
                    .or_insert_with(|| vec![Decimal::ZERO; vals.len()]);
                for (a, v) in s.iter_mut().zip(vals) {
                    *a += v;
                }
            }
            "total" => {
                assert_eq!(r[col("services")].parse::<u64>().unwrap(), services[&cur]);
                totals.insert(cur, vals);
            }
            other => panic!("row kind {other}"),
        }
    }
    assert_eq!(member_rows, MEMBERS + MEMBERS / 5);
    assert_eq!(sums, totals);
    let eur = &totals["EUR"];
    assert!(
        eur.iter().any(|v| *v > Decimal::ZERO),
        "something is owed: {eur:?}"
    );

    // JSON: the same, from the members' services.
    let text = std::fs::read_to_string(c.root.join("summary/class-summary-2023-01.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let members = v["members"].as_array().unwrap();
    assert_eq!(members.len(), MEMBERS);
    let (mut goodwill, mut compared) = (Decimal::ZERO, BTreeMap::<String, Decimal>::new());
    let mut affected = 0;
    for m in members {
        affected += u64::from(m["affected"].as_bool().unwrap());
        for s in m["services"].as_array().unwrap() {
            goodwill += dec(s["goodwill"].as_str().unwrap());
            for cmp in s["compared"].as_array().unwrap() {
                *compared
                    .entry(cmp["plan"].as_str().unwrap().to_owned())
                    .or_default() += dec(cmp["money"].as_str().unwrap_or(""));
            }
            assert_eq!(s["evidence_digest"].as_str().unwrap().len(), 64);
            assert_eq!(s["record_seal"].as_str().unwrap().len(), 64);
        }
    }
    let t = &v["totals"];
    assert_eq!(t["members"], MEMBERS as u64);
    assert_eq!(t["members_affected"].as_u64().unwrap(), affected);
    assert_eq!(affected, (MEMBERS - MEMBERS / 10) as u64);
    let eur = &t["by_currency"]["EUR"];
    assert_eq!(dec(eur["goodwill"].as_str().unwrap()), goodwill);
    for (plan, sum) in &compared {
        assert_eq!(dec(eur["compared"][plan].as_str().unwrap()), *sum, "{plan}");
    }
    // The distribution counts each affected member-service once, in every bucket.
    let dist: Vec<u64> = v["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["services"].as_u64().unwrap())
        .collect();
    assert_eq!(
        dist.iter().sum::<u64>(),
        t["services_affected"].as_u64().unwrap()
    );
    assert!(dist.iter().all(|n| *n > 0), "{dist:?}");
    assert!(v["chain"]["head"].as_str().unwrap().len() == 64);

    // HTML: written, escaped page with the totals.
    let html = std::fs::read_to_string(c.root.join("summary/class-summary-2023-01.html")).unwrap();
    assert!(html.contains("Socio Q0520") && html.trim_end().ends_with("</html>"));
}

#[test]
fn class_bad_options_are_refused_with_what_to_write() {
    let c = case();
    let out = slawatch()
        .current_dir(&c.root)
        .args([
            "members", "summary", "--period", "2023-01", "--format", "csv,pdf",
        ])
        .args(["--config", "probes.toml"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("unknown format 'pdf'") && err.contains("html,csv,json"),
        "{err}"
    );
    let out = slawatch()
        .current_dir(&c.root)
        .args([
            "report",
            "--per-member",
            "--period",
            "2023-01",
            "--out",
            "-",
        ])
        .args(["--config", "probes.toml"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("give --out DIR"), "{err}");
    let out = slawatch()
        .current_dir(&c.root)
        .args(["members", "summary", "--period", "2023-13"])
        .args(["--config", "probes.toml"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(!out.is_empty());
}
