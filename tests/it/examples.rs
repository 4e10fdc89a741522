//! The two claims after the fact that ship as examples (`examples/aruba-2011`,
//! `examples/libero-2023`), run as the README runs them: the incidents imported from
//! their CSV, then the report with Italian and English letters. Per contract: the
//! breach, what the contract owes (nothing: a liability clause), what the provider
//! offered (money and days), what the regulation gives by analogy, the largest, and
//! the claim deadline.

use crate::util::{repo_file, slawatch};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A copy of the example in a temporary folder (its database and reports land there),
/// with its incidents imported.
fn imported(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["slawatch.toml", "incidents.csv"] {
        std::fs::copy(
            repo_file(&format!("examples/{name}/{f}")),
            dir.path().join(f),
        )
        .unwrap();
    }
    let config = dir.path().join("slawatch.toml");
    let out = slawatch()
        .args(["incident", "import"])
        .arg(dir.path().join("incidents.csv"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "import {name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, config)
}

/// `slawatch report --format all --letter` in `lang`, dated `date`; the JSON report.
fn report(config: &Path, period: &str, lang: &str, date: &str) -> (Value, PathBuf) {
    let out_dir = config.parent().unwrap().join(format!("reports-{lang}"));
    let out = slawatch()
        .arg("report")
        .arg("--config")
        .arg(config)
        .args([
            "--period", period, "--format", "all", "--letter", "--lang", lang,
        ])
        .args(["--date", date])
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_to_string(out_dir.join(format!("slawatch-{period}.json"))).unwrap();
    (serde_json::from_str(&json).unwrap(), out_dir)
}

fn contract<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contract"]["id"] == id)
        .unwrap_or_else(|| panic!("no contract {id} in {v}"))
}

fn remedy<'a>(c: &'a Value, kind: &str) -> &'a Value {
    c["comparison"]["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} remedy in {c}"))
}

/// What one contract's report must say.
struct Expected {
    id: &'static str,
    availability: &'static str,
    contract_money: Option<&'static str>,
    goodwill_days: Option<u64>,
    goodwill_money: Option<&'static str>,
    goodwill_other: Option<&'static str>,
    regulation: &'static str,
    largest: &'static str,
}

fn check(v: &Value, e: &Expected) {
    let c = contract(v, e.id);
    let id = e.id;
    assert_eq!(c["evaluation"]["breach"], true, "{id}: breach");
    assert_eq!(
        c["evaluation"]["availability_pct"], e.availability,
        "{id}: availability"
    );
    let own = remedy(c, "contract");
    assert_eq!(
        own["money"].as_str(),
        e.contract_money,
        "{id}: contract money"
    );
    assert!(
        own["why_nothing"]
            .as_str()
            .is_some_and(|w| w.contains("liability")),
        "{id}: the liability clause is the reason nothing is owed: {own}"
    );
    let gw = remedy(c, "goodwill");
    assert_eq!(gw["days"].as_u64(), e.goodwill_days, "{id}: goodwill days");
    assert_eq!(
        gw["money"].as_str(),
        e.goodwill_money,
        "{id}: goodwill money"
    );
    assert_eq!(
        gw["other"].as_str(),
        e.goodwill_other,
        "{id}: goodwill upgrade"
    );
    let reg = remedy(c, "compared");
    assert_eq!(
        reg["money"].as_str(),
        Some(e.regulation),
        "{id}: regulation"
    );
    let largest = c["comparison"]["largest"].as_u64().unwrap() as usize;
    assert_eq!(
        c["comparison"]["remedies"][largest]["kind"], e.largest,
        "{id}: the largest"
    );
}

#[test]
fn the_aruba_fire_breaches_every_contract_and_the_regulation_gives_most() {
    let (_dir, config) = imported("aruba-2011");
    let (v, out) = report(&config, "2011-04", "it", "2011-05-10");
    for e in [
        // 12 h of 720 h (04:00-16:00).
        Expected {
            id: "bianchi-basic",
            availability: "98.3333",
            contract_money: Some("0.00"),
            goodwill_days: None,
            goodwill_money: None,
            goodwill_other: Some("Business Mail gratuita"),
            regulation: "12.00",
            largest: "compared",
        },
        // 04:00-21:30: 17.5 h of 720 h.
        Expected {
            id: "bianchi-shop",
            availability: "97.5694",
            contract_money: Some("0.00"),
            goodwill_days: None,
            goodwill_money: None,
            goodwill_other: Some("Business Mail gratuita"),
            regulation: "12.00",
            largest: "compared",
        },
        // 04:00-18:40: 14 h 40 min of 720 h; 15 days at 9.90 EUR a month of 30 days.
        Expected {
            id: "bianchi-vps",
            availability: "97.9630",
            contract_money: Some("0.00"),
            goodwill_days: Some(15),
            goodwill_money: Some("4.95"),
            goodwill_other: None,
            regulation: "12.00",
            largest: "compared",
        },
    ] {
        check(&v, &e);
    }
    for c in v["contracts"].as_array().unwrap() {
        assert!(
            c["deadline"].is_null(),
            "no claim deadline in these terms: {c}"
        );
    }
    for id in ["bianchi-basic", "bianchi-shop", "bianchi-vps"] {
        let letter =
            std::fs::read_to_string(out.join(format!("claim-{id}-2011-04-it.txt"))).unwrap();
        assert!(letter.contains("29 aprile 2011"), "{id}: {letter}");
        assert!(letter.contains("Aruba S.p.A."), "{id}: {letter}");
        assert!(!letter.contains("0,00 EUR"), "{id}: {letter}");
    }
}

#[test]
fn the_libero_outage_offers_days_and_space_and_the_regulation_gives_most() {
    let (_dir, config) = imported("libero-2023");
    let (v, out) = report(&config, "2023-01", "it", "2023-02-15");
    for e in [
        // 22 Jan 23:00 - 27 Jan 19:00 = 116 h of 744 h; AGCOM 1.00 EUR x 6 days touched.
        Expected {
            id: "rossi-libero",
            availability: "84.4086",
            contract_money: Some("0.00"),
            goodwill_days: None,
            goodwill_money: None,
            goodwill_other: Some("+20 % di spazio nella casella, per sempre"),
            regulation: "6.00",
            largest: "compared",
        },
        // 22 Jan 23:00 - 28 Jan 12:00 = 133 h of 744 h; 183 days at 19.99 / 12 / 31;
        // AGCOM 6.00 EUR x 7 days touched (consumer).
        Expected {
            id: "rossi-mailplus",
            availability: "82.1237",
            contract_money: Some("0.00"),
            goodwill_days: Some(183),
            goodwill_money: Some("9.83"),
            goodwill_other: None,
            regulation: "42.00",
            largest: "compared",
        },
    ] {
        check(&v, &e);
    }
    let letter = std::fs::read_to_string(out.join("claim-rossi-mailplus-2023-01-it.txt")).unwrap();
    assert!(letter.contains("Italiaonline S.p.A."), "{letter}");
    assert!(letter.contains("art. 6.1"), "{letter}");
}

/// The English words of the plans' own descriptions (`slawatch plans`), less those
/// the two languages share and the names the configuration gives (provider, service,
/// customer, goodwill), which stay as written.
fn english_of_plans(config: &Path) -> Vec<String> {
    let out = slawatch()
        .arg("plans")
        .arg("--plans")
        .arg(config)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let words = |s: &str| -> Vec<String> {
        s.split(|ch: char| !ch.is_alphabetic())
            .filter(|w| w.chars().count() > 2)
            .map(str::to_lowercase)
            .collect()
    };
    let shared = ["per", "sla", "eur", "europe", "rome", "min", "none"];
    let names = words(
        &std::fs::read_to_string(config)
            .unwrap()
            .lines()
            .filter(|l| {
                [
                    "provider", "service", "customer", "event", "upgrade", "clause",
                ]
                .iter()
                .any(|k| l.starts_with(&format!("{k} =")) || l.starts_with(&format!("{k}_")))
            })
            .collect::<Vec<_>>()
            .join(" "),
    );
    words(&text)
        .into_iter()
        .filter(|w| !shared.contains(&w.as_str()) && !names.contains(w))
        .collect()
}

#[test]
fn the_examples_letters_are_fully_italian_and_fully_english_and_snapshotted() {
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap();
    let zero = regex::Regex::new(r"(^|[^0-9.,])0[.,]00([^0-9]|$)").unwrap();
    // The contract's fee is a fact, and a free account's is 0.
    let fee = regex::Regex::new(r"(canone|fee) (EUR )?0[.,]00").unwrap();
    for (name, period, date, contracts) in [
        (
            "aruba-2011",
            "2011-04",
            "2011-05-10",
            &["bianchi-basic", "bianchi-shop", "bianchi-vps"][..],
        ),
        (
            "libero-2023",
            "2023-01",
            "2023-02-15",
            &["rossi-libero", "rossi-mailplus"][..],
        ),
    ] {
        let (_dir, config) = imported(name);
        let english = english_of_plans(&config);
        assert!(english.contains(&"calendar".to_owned()), "{english:?}");
        for lang in ["it", "en"] {
            let (_, out) = report(&config, period, lang, date);
            for id in contracts {
                let letter =
                    std::fs::read_to_string(out.join(format!("claim-{id}-{period}-{lang}.txt")))
                        .unwrap_or_else(|e| panic!("{name}: no {lang} letter for {id}: {e}"));
                // Only this contract's report is attached, in the letter's language.
                assert!(
                    letter.contains(&format!("slawatch-{period}-{id}-{lang}.html")),
                    "{letter}"
                );
                let html = std::fs::read_to_string(
                    out.join(format!("slawatch-{period}-{id}-{lang}.html")),
                )
                .unwrap();
                // The claim is in the verdict box, on a phone's first screen; nothing
                // reads as "owed: 0.00".
                let more = if lang == "it" {
                    "Rimedio più alto:"
                } else {
                    "Largest remedy:"
                };
                assert!(
                    html.contains(more),
                    "{id} {lang}: no largest remedy in the verdict"
                );
                let html = fee.replace_all(&html, "");
                assert!(
                    !zero.is_match(&html),
                    "{id} {lang}: an amount of zero in the report"
                );
                assert!(!iso.is_match(&letter), "ISO date in:\n{letter}");
                assert!(!zero.is_match(&letter), "{letter}");
                if lang == "it" {
                    for w in letter
                        .split(|ch: char| !ch.is_alphabetic())
                        .map(str::to_lowercase)
                    {
                        assert!(!english.contains(&w), "English word {w:?} in:\n{letter}");
                    }
                }
                insta::assert_snapshot!(format!("example_{id}_{lang}"), letter);
            }
        }
    }
}

#[test]
fn importing_an_example_twice_records_nothing_twice() {
    let (dir, config) = imported("libero-2023");
    let again = slawatch()
        .args(["incident", "import"])
        .arg(dir.path().join("incidents.csv"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{out}");
    assert!(
        out.contains("incidents.csv:2: already recorded as incident 1; skipped"),
        "{out}"
    );
    assert!(out.contains("nothing new in"), "{out}");
    let list = slawatch()
        .args(["incident", "list", "--all", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
}
