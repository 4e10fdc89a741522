//! Several vantages, one verdict (issue 18): three local stores, one per vantage
//! (milano-1, roma-1, torino-1), built with the Store API over 2023-01-10 UTC, and
//! reports over them under the default rule (any one vantage) and "2 of 3".
//!
//! Every store measures the probe `site` every minute all day, except:
//! - 02:00 to 03:00: all three see it down (one outage in every rule);
//! - 06:00 to 06:30: only milano-1 sees it down (its own network, say);
//! - 12:00 to 14:00: roma-1 and torino-1 are not running; milano-1 sees the site
//!   down 12:30 to 12:45.

use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::outage::{Event, Outage};
use slawatch::report::{self, ContractReport, Format, Lang, Report};
use slawatch::store::{Reader, Store};
use std::path::Path;
use std::time::Duration;

const MIN: i64 = 60_000;
const BEAT: i64 = 5_000;

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn t(hm: &str) -> i64 {
    at(&format!("2023-01-10T{hm}:00Z"))
}

const CONFIG: &str = r#"
[daemon]
database = "slawatch.db"
vantage = "milano-1"
interval = "1m"

[[http]]
name = "site"
url = "https://site.example.test/"

[[plan]]
id = "any-plan"
provider = "Hosting Example"
currency = "EUR"
fee = "100.00"
[plan.window]
kind = "calendar_month"
timezone = "UTC"
[plan.objective]
target = "99.9"
[plan.measurement]
method = "time"
missing_data = "exclude"
[plan.credit]
scheme = "tiered_percent"
tiers = [{ below = "99.9", pct = "10" }]

[[plan]]
id = "two-plan"
provider = "Hosting Example"
currency = "EUR"
fee = "100.00"
vantages = "2 of 3"
[plan.window]
kind = "calendar_month"
timezone = "UTC"
[plan.objective]
target = "99.9"
[plan.measurement]
method = "time"
missing_data = "exclude"
[plan.credit]
scheme = "tiered_percent"
tiers = [{ below = "99.9", pct = "10" }]

[[contract]]
id = "any"
plan = "any-plan"
customer = "Rossi"
probes = ["site"]

[[contract]]
id = "two"
plan = "any-plan"
customer = "Rossi"
probes = ["site"]
vantages = "2 of 3"

[[contract]]
id = "from-plan"
plan = "two-plan"
customer = "Rossi"
probes = ["site"]

[[contract]]
id = "override"
plan = "two-plan"
customer = "Rossi"
probes = ["site"]
vantages = "1 of 3"
"#;

/// One vantage's store: running over `[from, to)` except `off`, the site down
/// over each of `down`.
fn store(db: &Path, vantage: &str, off: Option<(i64, i64)>, down: &[(i64, i64)]) {
    let store = Store::open(db).unwrap();
    store
        .register_probes(&[("site".to_owned(), "http".to_owned())])
        .unwrap();
    store.set_run_gaps(&[("site".to_owned(), 90_000)]).unwrap();
    let (from, to) = (at("2023-01-10T00:00:00Z"), at("2023-01-11T00:00:00Z"));
    let mut now = from;
    while now < to {
        if off.is_none_or(|(a, b)| now < a || now >= b) {
            store.heartbeat(vantage, UtcMillis(now)).unwrap();
            if now % MIN == 0 {
                let is_down = down.iter().any(|&(a, b)| a <= now && now < b);
                store
                    .record_check(&Check {
                        probe: "site".to_owned(),
                        started_at: UtcMillis(now),
                        status: if is_down { Status::Down } else { Status::Up },
                        class: is_down.then_some(ErrorClass::Refused),
                        detail: if is_down {
                            "connection refused".to_owned()
                        } else {
                            String::new()
                        },
                        phases: Phases {
                            total: Some(Duration::from_millis(40)),
                            ..Phases::default()
                        },
                        cert_not_after: None,
                    })
                    .unwrap();
            }
        }
        now += BEAT;
    }
    for &(s, e) in down {
        store
            .record_outage(&Event::Closed(Outage {
                probe: "site".to_owned(),
                start: UtcMillis(s),
                end: Some(UtcMillis(e)),
                last_failure: UtcMillis(e - MIN),
                last_success_before: Some(UtcMillis(s - MIN)),
                class: ErrorClass::Refused,
                detail: "connection refused".to_owned(),
                failed_checks: u32::try_from((e - s) / MIN).unwrap(),
            }))
            .unwrap();
    }
    store.close().unwrap();
}

struct Fixture {
    dir: tempfile::TempDir,
    config: slawatch::config::Config,
}

const NAMES: [&str; 3] = ["milano-1", "roma-1", "torino-1"];

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let both = (t("02:00"), t("03:00"));
    let off = Some((t("12:00"), t("14:00")));
    store(
        &dir.path().join("milano-1.db"),
        "milano-1",
        None,
        &[both, (t("06:00"), t("06:30")), (t("12:30"), t("12:45"))],
    );
    store(&dir.path().join("roma-1.db"), "roma-1", off, &[both]);
    store(&dir.path().join("torino-1.db"), "torino-1", off, &[both]);
    let path = dir.path().join("slawatch.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let config = slawatch::config::load(&path).unwrap();
    Fixture { dir, config }
}

fn generated_at() -> UtcMillis {
    UtcMillis(at("2023-02-05T00:00:00Z"))
}

impl Fixture {
    fn readers(&self, names: &[&str]) -> Vec<(String, Reader)> {
        names
            .iter()
            .map(|n| {
                let db = self.dir.path().join(format!("{n}.db"));
                ((*n).to_owned(), Reader::open(&db).unwrap())
            })
            .collect()
    }

    fn report(&self, names: &[&str]) -> Report {
        let readers = self.readers(names);
        let views: Vec<(String, &Reader)> = readers.iter().map(|(n, r)| (n.clone(), r)).collect();
        report::build_vantages(&self.config, &views, "2023-01", None, generated_at()).unwrap()
    }
}

fn contract<'r>(r: &'r Report, id: &str) -> &'r ContractReport {
    r.contracts.iter().find(|c| c.contract.id == id).unwrap()
}

fn spans(c: &ContractReport) -> Vec<(i64, i64)> {
    c.incidents.iter().map(|r| (r.start.0, r.end.0)).collect()
}

/// Minutes of no data inside `[a, b)`.
fn no_data_in(c: &ContractReport, a: i64, b: i64) -> i64 {
    c.gaps
        .iter()
        .map(|(s, e)| (e.0.min(b) - s.0.max(a)).max(0))
        .sum::<i64>()
        / MIN
}

/// The whole fixture in one test: the stores take a few seconds to write.
#[test]
fn consensus_k_of_n_over_three_vantages() {
    let f = fixture();
    let r = f.report(&NAMES);
    assert!(r.chain.is_none(), "each vantage has its own chain head");

    // 2 of 3: only the outage all three saw.
    let two = contract(&r, "two");
    assert_eq!(spans(two), vec![(t("02:00"), t("03:00"))]);
    let view = two.consensus.as_ref().unwrap();
    assert_eq!(view.rule.to_string(), "2 of 3");
    assert_eq!(view.incidents[0].seen_by, NAMES);
    assert_eq!(view.incidents[0].measuring, NAMES);
    assert!(view.vantages.iter().all(|v| v.chain.is_some()));
    // The time only milano-1 saw down is up: the other two measured it up.
    assert_eq!(no_data_in(two, t("05:00"), t("07:00")), 0);
    // Two vantages not measuring: no data, never up, never down (milano-1's
    // outage at 12:30 included).
    assert!(no_data_in(two, t("12:00"), t("14:00")) >= 119);
    // Each vantage's own view beside the consensus.
    let milano = &view.vantages[0];
    assert_eq!(milano.name, "milano-1");
    assert_eq!(
        milano.down,
        vec![
            (t("02:00"), t("03:00")),
            (t("06:00"), t("06:30")),
            (t("12:30"), t("12:45"))
        ]
    );
    let roma = &view.vantages[1];
    assert_eq!(roma.down, vec![(t("02:00"), t("03:00"))]);
    assert!(
        roma.no_data
            .iter()
            .any(|&(a, b)| a <= t("12:01") && b >= t("14:00"))
    );
    assert!(milano.measured_ms > roma.measured_ms);

    // Any one vantage (the default): milano-1's own outages are incidents.
    let any = contract(&r, "any");
    assert_eq!(
        spans(any),
        vec![
            (t("02:00"), t("03:00")),
            (t("06:00"), t("06:30")),
            (t("12:30"), t("12:45"))
        ]
    );
    let seen = &any.consensus.as_ref().unwrap().incidents;
    assert_eq!(seen[1].seen_by, ["milano-1"]);
    assert_eq!(seen[2].measuring, ["milano-1"]);
    assert_eq!(no_data_in(any, t("12:00"), t("14:00")), 0);

    // The plan's rule applies when the contract is silent; the contract's wins.
    assert_eq!(spans(contract(&r, "from-plan")), spans(two));
    assert_eq!(spans(contract(&r, "override")), spans(any));

    // The outage all three saw counts as it does with one vantage.
    let alone = f.report(&["roma-1"]);
    let one = contract(&alone, "any");
    assert!(one.consensus.is_none(), "one vantage: nothing new");
    assert_eq!(spans(one), spans(two));
    assert_eq!(one.incidents[0].counted_ms, two.incidents[0].counted_ms);
    assert_eq!(one.evaluation.downtime_ms, two.evaluation.downtime_ms);
    assert_eq!(one.evaluation.breach, two.evaluation.breach);
    assert!(two.evaluation.breach);

    // Under "2 of 3" with one vantage, nothing can be agreed: all no data.
    let short = contract(&alone, "two");
    assert!(short.incidents.is_empty());
    assert_eq!(
        short.consensus.as_ref().unwrap().short,
        vec![("site".to_owned(), 1)]
    );
    assert_eq!(short.consensus.as_ref().unwrap().vantages[0].name, "roma-1");

    // The rendered reports: the rule, each vantage's view, who saw each incident.
    let json: serde_json::Value = serde_json::from_str(
        &report::render(&r, Format::Json, "slawatch-2023-01", Lang::En)
            .remove(0)
            .1,
    )
    .unwrap();
    let two_json = json["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contract"]["id"] == "two")
        .unwrap();
    assert_eq!(two_json["consensus"]["rule"], "2 of 3");
    assert_eq!(two_json["consensus"]["vantages"][1]["name"], "roma-1");
    assert_eq!(
        two_json["consensus"]["vantages"][0]["down"][1]["start"],
        "2023-01-10T06:00:00.000Z"
    );
    assert_eq!(
        two_json["incidents"][0]["seen_by"],
        serde_json::json!(NAMES)
    );
    let alone_json = report::render(&alone, Format::Json, "slawatch-2023-01", Lang::En)
        .remove(0)
        .1;
    let alone_json: serde_json::Value = serde_json::from_str(&alone_json).unwrap();
    assert!(alone_json["contracts"][0].get("consensus").is_none());
    assert!(
        alone_json["contracts"][0]["incidents"][0]
            .get("seen_by")
            .is_none()
    );
    let md = report::render(&r, Format::Md, "slawatch-2023-01", Lang::En)
        .remove(0)
        .1;
    assert!(
        md.contains("2 of 3: down when at least 2 of the 3 vantages saw it down at once"),
        "{md}"
    );
    assert!(
        md.contains("milano-1, roma-1, torino-1 (3 of 3 measuring)"),
        "{md}"
    );
    let html = report::render(&r, Format::Html, "slawatch-2023-01", Lang::En)
        .remove(0)
        .1;
    assert!(html.contains("<th>Its own view</th>"), "{html}");
    assert!(html.contains("roma-1: 2023-01-10"), "each vantage's strip");
    assert!(html.contains("<td>milano-1, roma-1, torino-1 (3 of 3 measuring)</td>"));
    let md_alone = report::render(&alone, Format::Md, "slawatch-2023-01", Lang::En)
        .remove(0)
        .1;
    assert!(
        md_alone.contains("fewer than the 2 the rule needs"),
        "{md_alone}"
    );

    // Letters cite how many vantages saw each outage; one vantage's do not.
    let letter = |r: &Report, id: &str, lang: Lang| {
        report::letter::render(
            contract(r, id),
            lang,
            "report.html",
            &r.vantage,
            jiff::civil::date(2023, 2, 5),
        )
        .unwrap()
    };
    let en = letter(&r, "two", Lang::En);
    assert!(
        en.contains("seen from 3 independent vantage points (milano-1, roma-1, torino-1)"),
        "{en}"
    );
    let it = letter(&r, "two", Lang::It);
    assert!(
        it.contains("vista da 3 punti di rilevazione indipendenti (milano-1, roma-1, torino-1)"),
        "{it}"
    );
    let en_any = letter(&r, "any", Lang::En);
    assert!(
        en_any.contains("seen from one vantage point only (milano-1)"),
        "{en_any}"
    );
    assert!(
        en.contains("from 3 independent vantage points (milano-1, roma-1, torino-1), counting an interruption when at least 2 of them"),
        "{en}"
    );
    let en_one = letter(&alone, "any", Lang::En);
    assert!(!en_one.contains("vantage point"), "{en_one}");
}

#[test]
fn consensus_a_plan_vantages_that_is_not_k_of_n_is_an_error_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slawatch.toml");
    std::fs::write(
        &path,
        CONFIG.replace(
            "vantages = \"2 of 3\"\n[plan.window]",
            "vantages = \"3 of 2\"\n[plan.window]",
        ),
    )
    .unwrap();
    let err = slawatch::config::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("plan 'two-plan': vantages '3 of 2' must be \"K of N\""),
        "{err}"
    );
    assert!(err.contains("slawatch.toml:33:12:"), "{err}");
}

/// A probe spread over milano-1 and roma-1 only: torino-1's evidence for it does not
/// count, so "2 of 3" needs both of the two that run it.
#[test]
fn consensus_a_probe_spread_over_two_vantages_counts_only_the_two() {
    let mut f = fixture();
    std::fs::write(f.dir.path().join("pw"), "secret\n").unwrap();
    let path = f.dir.path().join("spread.toml");
    let text = CONFIG.replacen(
        "[[http]]\nname = \"site\"\n",
        "[shared]\nurl = \"postgres://slawatch@db.example.test/slawatch\"\npassword_file = \"pw\"\nvantages = [\"milano-1\", \"roma-1\", \"torino-1\"]\n\n[[http]]\nname = \"site\"\nvantages = [\"milano-1\", \"roma-1\"]\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    f.config = slawatch::config::load(&path).unwrap();
    let r = f.report(&NAMES);
    let two = contract(&r, "two");
    assert_eq!(spans(two), vec![(t("02:00"), t("03:00"))]);
    let seen = &two.consensus.as_ref().unwrap().incidents[0];
    assert_eq!(seen.seen_by, ["milano-1", "roma-1"]);
    assert_eq!(seen.measuring, ["milano-1", "roma-1"]);
    // roma-1 off: one of the two measuring is fewer than 2, whatever torino-1 says.
    assert!(no_data_in(two, t("12:00"), t("14:00")) >= 119);
    // torino-1 does not run the probe: its own view measured nothing of it.
    let torino = &two.consensus.as_ref().unwrap().vantages[2];
    assert_eq!((torino.name.as_str(), torino.measured_ms), ("torino-1", 0));
}
