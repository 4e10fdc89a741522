//! Letters a person can send, over the report fixture (`tests/fixtures/report/`,
//! see `report.rs`): rossi-shop breached January 2023 (99.4602 % against 99.9 %)
//! and is owed 2.99 EUR; its claim deadline is 2 March 2023 (30 days after the
//! period's end).
//!
//! Each kind of letter, in Italian and English, is snapshotted: the credit claim
//! (the fixture as it is), the breach notice (the same evidence under a plan with a
//! liability clause, `scheme = "none"`), and, with the comparison filled by hand,
//! the request for announced goodwill and the complaint before conciliation.

use crate::report::{config_path, fixture_db, generated_at};
use crate::util::slawatch;
use rust_decimal::Decimal;
use slawatch::model::UtcMillis;
use slawatch::report::compare::{Comparison, Remedy, RemedyKind};
use slawatch::report::letter::{self, Kind};
use slawatch::report::{self, ContractReport, Format, Lang, Report};
use slawatch::store::Reader;
use std::path::{Path, PathBuf};

fn date(y: i16, m: i8, d: i8) -> jiff::civil::Date {
    jiff::civil::date(y, m, d)
}

/// The fixture's configuration with `edit` applied, written into `dir`.
fn config_variant(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(config_path()).unwrap();
    let path = dir.join("probes.toml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn build(config: &Path, at: UtcMillis) -> Report {
    let config = slawatch::config::load(config).unwrap();
    let reader = Reader::open(fixture_db()).unwrap();
    report::build(&config, &reader, "2023-01", None, at).unwrap()
}

fn rossi(r: &Report) -> ContractReport {
    r.contracts
        .iter()
        .find(|c| c.contract.id == "rossi-shop")
        .unwrap()
        .clone()
}

/// rossi-shop as the fixture has it: breach, 2.99 EUR owed.
fn credit() -> ContractReport {
    rossi(&build(&config_path(), generated_at()))
}

/// The same evidence under a liability clause: breach, nothing owed.
fn breach_only() -> ContractReport {
    let dir = tempfile::tempdir().unwrap();
    let path = config_variant(dir.path(), |t| {
        t.replacen("scheme = \"tiered_percent\"\ntiers = [", "scheme = \"none\"\nold_tiers = [", 1)
            .replacen("old_tiers = [\n  { below = \"99.9\", pct = \"10\" },\n  { below = \"99.0\", pct = \"25\" },\n  { below = \"95.0\", pct = \"100\" },\n]\n", "", 1)
            .replacen("cap_pct_of_fee = \"100\"\nform = \"future_invoice_credit\"\n", "", 1)
    });
    rossi(&build(&path, generated_at()))
}

fn remedy(kind: RemedyKind, label: &str, money: Option<&str>, days: Option<u32>) -> Remedy {
    Remedy {
        kind,
        label: label.to_owned(),
        plan_id: (kind != RemedyKind::Goodwill).then(|| label.to_owned()),
        breach: kind != RemedyKind::Goodwill,
        money: money.map(|m| m.parse::<Decimal>().unwrap()),
        days,
        other: None,
        why_nothing: None,
        evaluation: None,
        reference: None,
    }
}

/// The contract's own remedy, first, as the compare part puts it.
fn own(c: &ContractReport) -> Remedy {
    let mut r = remedy(
        RemedyKind::Contract,
        &format!("contract ({})", c.plan.id),
        None,
        None,
    );
    r.money = c.evaluation.credit.as_ref().map(|m| m.amount);
    r
}

/// The breach under a liability clause, with a goodwill offer announced.
fn goodwill() -> ContractReport {
    let mut c = breach_only();
    let mut g = remedy(
        RemedyKind::Goodwill,
        "Arezzo data-centre fire",
        Some("9.97"),
        Some(10),
    );
    g.other = Some("Business Mail".to_owned());
    c.comparison = Comparison {
        remedies: vec![own(&c), g],
        largest: Some(1),
    };
    c
}

/// The credit claim, where a regulator's indemnity gives more than the contract.
fn regulator() -> ContractReport {
    let mut c = credit();
    c.comparison = Comparison {
        remedies: vec![
            own(&c),
            remedy(
                RemedyKind::Compared,
                "agcom-347-18-free-service",
                Some("1.00"),
                None,
            ),
            remedy(
                RemedyKind::Compared,
                "agcom-347-18-free-service",
                Some("12.50"),
                None,
            ),
        ],
        largest: Some(2),
    };
    c
}

fn write(c: &ContractReport, lang: Lang, day: jiff::civil::Date) -> String {
    letter::render(
        c,
        lang,
        &format!(
            "{}.html",
            letter::report_stem(&c.contract.id, "2023-01", lang)
        ),
        "milano-1",
        day,
    )
    .unwrap()
}

// ---- one letter of each kind, in both languages ----

#[test]
fn each_kind_is_chosen_from_the_report() {
    assert_eq!(letter::kind(&credit()), Some(Kind::Credit));
    assert_eq!(letter::kind(&breach_only()), Some(Kind::BreachNotice));
    assert_eq!(letter::kind(&goodwill()), Some(Kind::Goodwill(1)));
    // The largest of the compared remedies that give more than the contract.
    assert_eq!(letter::kind(&regulator()), Some(Kind::Regulator(2)));
}

#[test]
fn letter_snapshots_of_every_kind() {
    let day = date(2023, 2, 2);
    for (name, c) in [
        ("breach", breach_only()),
        ("goodwill", goodwill()),
        ("regulator", regulator()),
    ] {
        for lang in [Lang::It, Lang::En] {
            insta::assert_snapshot!(
                format!("letter_{name}_{}", lang.as_str()),
                write(&c, lang, day)
            );
        }
    }
}

#[test]
fn the_breach_notice_asks_for_no_amount_and_reserves_every_right() {
    let c = breach_only();
    assert!(c.evaluation.breach);
    let it = write(&c, Lang::It, date(2023, 2, 2));
    assert!(it.contains("mi riservo ogni diritto"), "{it}");
    assert!(
        it.contains("clausola di limitazione della responsabilità"),
        "{it}"
    );
    assert!(!it.contains("EUR"), "{it}");
    let en = write(&c, Lang::En, date(2023, 2, 2));
    assert!(en.contains("reserve all my rights"), "{en}");
    assert!(!en.contains("EUR"), "{en}");
}

#[test]
fn the_letter_names_addressee_customer_and_clause_but_no_internal_id() {
    let c = credit();
    let it = write(&c, Lang::It, date(2023, 2, 2));
    for want in [
        "Spett.le Hosting Example S.p.A.\nVia dei Server 10\n52100 Arezzo AR\nPEC: reclami@pec.hosting.test",
        "Rossi S.r.l.\nVia Roma 1\n52100 Arezzo AR\nCodice cliente: C-004512",
        "contratto n. HP-2022-0815",
        "«Shared hosting Pro (site and mail)»",
        "(art. 6.1 delle Condizioni generali di servizio)",
        "pari al 99,4602 %",
        "pari al 99,9 %",
        "pari a 2,99 EUR",
        "gennaio 2023",
        "dal 31 dicembre 2022, ore 23:30, al 1º gennaio 2023, ore 01:10",
        "il 10 gennaio 2023, dalle ore 08:00 alle ore 10:30",
        "slawatch-2023-01-rossi-shop-it",
    ] {
        assert!(it.contains(want), "{want:?} missing from:\n{it}");
    }
    // No plan id, no probe name, no contract id where a number is configured.
    let body = it.replace("slawatch-2023-01-rossi-shop-it", "");
    for internal in [
        "hosting-pro",
        "shop-site",
        "shop-mail",
        "rossi-shop",
        "del 9",
    ] {
        assert!(!body.contains(internal), "{internal:?} in:\n{it}");
    }
    let en = write(&c, Lang::En, date(2023, 2, 2));
    for want in [
        "contract no. HP-2022-0815",
        "EUR 2.99",
        "99.4602 %",
        "January 2023",
    ] {
        assert!(en.contains(want), "{want:?} missing from:\n{en}");
    }
}

// ---- fully Italian ----

/// Words of the English description that may stand in an Italian letter: the
/// same in both languages, units, proper nouns of the time zone.
const SAME_IN_BOTH: [&str; 6] = ["per", "sla", "eur", "europe", "rome", "min"];

fn words_of(s: &str) -> Vec<String> {
    s.split(|ch: char| !ch.is_alphabetic() && ch != '\'')
        .flat_map(|w| w.split('\''))
        .filter(|w| w.chars().count() > 1)
        .map(str::to_lowercase)
        .collect()
}

#[test]
fn the_italian_letters_have_no_english_word_of_the_terms_and_no_iso_timestamp() {
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T?").unwrap();
    for c in [credit(), breach_only(), goodwill(), regulator()] {
        let english: Vec<String> = words_of(&c.plan.describe())
            .into_iter()
            .filter(|w| !SAME_IN_BOTH.contains(&w.as_str()))
            .collect();
        assert!(english.contains(&"calendar".to_owned()), "{english:?}");
        // Proper nouns the user configured (service, provider, customer, event)
        // stay as written.
        let mut proper: Vec<String> = Vec::new();
        for s in [&c.plan.service, &c.plan.provider, &c.contract.customer]
            .into_iter()
            .flatten()
        {
            proper.extend(words_of(s));
        }
        for r in &c.comparison.remedies {
            proper.extend(words_of(&r.label));
            proper.extend(r.other.iter().flat_map(|o| words_of(o)));
        }
        for day in [date(2023, 2, 2), date(2023, 2, 25), date(2023, 3, 10)] {
            let it = write(&c, Lang::It, day);
            for w in words_of(&it) {
                assert!(
                    !english.contains(&w) || proper.contains(&w),
                    "English word {w:?} in the Italian letter:\n{it}"
                );
            }
            let text = it.replace(&c.evidence.sha256, "");
            assert!(!iso.is_match(&text), "ISO timestamp in:\n{it}");
        }
    }
}

// ---- the deadline, told truthfully ----

#[test]
fn the_letter_tells_the_deadline_as_it_stands_at_its_date() {
    let c = credit();
    let open = write(&c, Lang::It, date(2023, 2, 2));
    assert!(
        open.contains("entro il termine previsto dal contratto: l'ultimo giorno utile è il 2 marzo 2023 (mancano 28 giorni)"),
        "{open}"
    );
    let soon = write(&c, Lang::En, date(2023, 2, 25));
    assert!(
        soon.contains("the last day to claim is 2 March 2023 (5 days left)"),
        "{soon}"
    );
    let last = write(&c, Lang::It, date(2023, 3, 2));
    assert!(last.contains("(oggi è l'ultimo giorno)"), "{last}");
    for lang in [Lang::It, Lang::En] {
        let late = write(&c, lang, date(2023, 3, 10));
        assert!(!late.contains("entro il termine"), "{late}");
        assert!(!late.contains("within the contractual deadline"), "{late}");
        assert!(!late.contains("mi spetta"), "{late}");
        assert!(!late.contains("I am therefore owed"), "{late}");
        assert!(
            late.contains("è scaduto: l'ultimo giorno utile era il 2 marzo 2023")
                || late.contains("has passed: the last day was 2 March 2023"),
            "{late}"
        );
        assert!(
            late.contains("buona fede") || late.contains("good faith"),
            "{late}"
        );
    }
}

#[test]
fn the_report_flags_the_deadline_in_every_format() {
    let at = |s: &str| UtcMillis(s.parse::<jiff::Timestamp>().unwrap().as_millisecond());
    let cases = [
        ("2023-02-02T08:00:00Z", "open", 28),
        ("2023-02-25T08:00:00Z", "soon", 5),
        ("2023-03-10T08:00:00Z", "passed", 7),
    ];
    for (when, state, days) in cases {
        let r = build(&config_path(), at(when));
        let json = &report::render(&r, Format::Json, "x", Lang::En)[0].1;
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let c = v["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["contract"]["id"] == "rossi-shop")
            .unwrap();
        assert_eq!(c["deadline"]["state"], state, "{when}");
        assert_eq!(c["deadline"]["days"], days, "{when}");
        assert_eq!(c["deadline"]["last_day"], "2023-03-02");
        let csv = &report::render(&r, Format::Csv, "x", Lang::En)[0].1;
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let col = header
            .iter()
            .position(|h| *h == "claim_deadline_state")
            .unwrap();
        let row = csv.lines().find(|l| l.contains("rossi-shop")).unwrap();
        assert_eq!(row.split(',').nth(col), Some(state), "{row}");
        let html = &report::render(&r, Format::Html, "x", Lang::En)[0].1;
        let md = &report::render(&r, Format::Md, "x", Lang::En)[0].1;
        let flagged = state != "open";
        assert_eq!(html.contains("<strong class=\"flag\">"), flagged, "{when}");
        assert_eq!(md.contains("**SOON") || md.contains("**PASSED"), flagged);
        let it = &report::render(&r, Format::Html, "x", Lang::It)[0].1;
        match state {
            "passed" => assert!(
                it.contains("SCADUTO: l&#39;ultimo giorno era il 2 marzo 2023"),
                "{it}"
            ),
            "soon" => {
                assert!(it.contains(
                    "IN SCADENZA: l&#39;ultimo giorno è il 2 marzo 2023 (mancano 5 giorni)"
                ))
            }
            _ => assert!(it.contains("l&#39;ultimo giorno è il 2 marzo 2023 (mancano 28 giorni)")),
        }
    }
}

// ---- never a letter asking for nothing ----

#[test]
fn no_letter_asks_for_zero() {
    let zero = |c: &mut ContractReport| {
        if let Some(m) = c.evaluation.credit.as_mut() {
            m.amount = Decimal::ZERO;
        }
    };
    // A zero credit and no breach: no letter at all.
    let mut c = credit();
    zero(&mut c);
    c.evaluation.breach = false;
    assert_eq!(letter::kind(&c), None);
    assert!(letter::render(&c, Lang::It, "r.html", "v", date(2023, 2, 2)).is_none());
    // A zero credit with a breach: a notice, never an amount.
    c.evaluation.breach = true;
    assert_eq!(letter::kind(&c), Some(Kind::BreachNotice));
    // Goodwill worth nothing and a compared plan giving nothing: still a notice.
    c.comparison = Comparison {
        remedies: vec![
            own(&c),
            remedy(RemedyKind::Goodwill, "Nothing", Some("0.00"), Some(0)),
            remedy(RemedyKind::Compared, "agcom-x", Some("0.00"), None),
        ],
        largest: None,
    };
    assert_eq!(letter::kind(&c), Some(Kind::BreachNotice));
    for lang in [Lang::It, Lang::En] {
        let text = write(&c, lang, date(2023, 2, 2));
        for zero in ["0,00", "0.00"] {
            assert!(!text.contains(zero), "{zero} in:\n{text}");
        }
    }
}

// ---- the command: one report per letter, and a warning for a missing address ----

#[test]
fn the_command_attaches_a_report_of_the_contract_alone_in_the_letters_language() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    // No addressee address nor PEC for rossi-shop.
    let config = config_variant(dir.path(), |t| {
        t.replace(
            "provider_address = \"Via dei Server 10\\n52100 Arezzo AR\"\n",
            "",
        )
        .replace("provider_pec = \"reclami@pec.hosting.test\"\n", "")
    });
    let out = slawatch()
        .args(["report", "--period", "2023-01", "--letter", "--lang", "it"])
        .args(["--date", "2023-02-02", "--config"])
        .arg(&config)
        .arg("--database")
        .arg(fixture_db())
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "the letter for contract 'rossi-shop' has no addressee address: add provider_address"
        ) && stderr.contains("provider_pec"),
        "{stderr}"
    );
    let own = std::fs::read_to_string(out_dir.join("slawatch-2023-01-rossi-shop-it.html")).unwrap();
    assert!(own.contains("rossi-shop"));
    assert!(
        !own.contains("bianchi-blog"),
        "another customer's data attached"
    );
    assert!(
        !own.contains("Maria Bianchi"),
        "another customer's data attached"
    );
    assert!(own.contains("<html lang=\"it\">"));
    let all = std::fs::read_to_string(out_dir.join("slawatch-2023-01.html")).unwrap();
    assert!(all.contains("bianchi-blog"));
    let text = std::fs::read_to_string(out_dir.join("claim-rossi-shop-2023-01-it.txt")).unwrap();
    assert!(
        text.contains("Allego il rapporto slawatch-2023-01-rossi-shop-it.html"),
        "{text}"
    );
    // --lang without --letter: the reports in Italian.
    let out = slawatch()
        .args([
            "report", "--period", "2023-01", "--lang", "it", "--format", "md", "--out", "-",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--database")
        .arg(fixture_db())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("Rapporto SLA")
    );
}

// ---- the report in Italian ----

#[test]
fn the_report_in_italian() {
    let r = build(&config_path(), generated_at());
    let md = report::render(&r, Format::Md, "x", Lang::It).remove(0).1;
    insta::assert_snapshot!("report_md_it", md);
    // Outside the engine's working (a fenced block, in English), no ISO date.
    let iso = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap();
    for (i, part) in md.split("```").enumerate() {
        if i % 2 == 0 {
            assert!(!iso.is_match(part), "ISO date in:\n{part}");
        }
    }
    for want in [
        "# Rapporto SLA — 2023-01",
        "| rossi-shop | Rossi S.r.l. | 99,4602 % | 99,9 % | **sì** | 2,99 EUR (accredito su una fattura futura) | entro il 2 marzo 2023 compreso |",
        "**Tempo misurato:** 44.460 min",
        "non disponibile quando almeno una sonda è giù",
        "connessione rifiutata (12), nessuna risposta entro il tempo limite (24)",
    ] {
        assert!(md.contains(want), "{want:?} missing from:\n{md}");
    }
    let html = report::render(&r, Format::Html, "x", Lang::It).remove(0).1;
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"it\">"));
    assert!(html.contains("<h2>Riepilogo</h2>"));
    assert!(html.contains("<b>SLA violato:</b> <span class=\"breach\">sì</span>"));
    let en = report::render(&r, Format::Html, "x", Lang::En).remove(0).1;
    assert!(en.contains("<b>SLA breached:</b> <span class=\"breach\">yes</span>"));
}

/// Every objective, window, scheme and cap of the catalogue (and the goodwill
/// scheme and a billing cycle, which it lacks), described in Italian without an
/// English word of the English description.
#[test]
fn every_plan_of_the_catalogue_is_described_in_italian() {
    let mut plans =
        slawatch::config::load_plans(&crate::util::fixture("sla/catalogue.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.toml");
    std::fs::write(
        &extra,
        r#"
[[plan]]
id = "goodwill-cycle"
currency = "EUR"
fee = "10.00"
window.kind = "billing_cycle"
window.anchor_day = 15
window.timezone = "Europe/Rome"
objective.target = "99.5"
credit.scheme = "goodwill"
"#,
    )
    .unwrap();
    plans.extend(slawatch::config::load_plans(&extra).unwrap());
    let mut schemes = std::collections::BTreeSet::new();
    for plan in &plans {
        schemes.insert(plan.credit.scheme.name());
        let it = slawatch::report::terms::describe(plan, Lang::It);
        let mut allowed: Vec<String> = SAME_IN_BOTH.iter().map(|w| (*w).to_owned()).collect();
        allowed.extend(words_of(&plan.window.timezone_name));
        allowed.extend(words_of(&plan.currency));
        let english = words_of(&plan.describe());
        for w in words_of(&it) {
            assert!(
                !english.contains(&w) || allowed.contains(&w),
                "plan {}: English word {w:?} in {it:?} (English: {:?})",
                plan.id,
                plan.describe()
            );
        }
    }
    assert_eq!(schemes.len(), 12, "every scheme: {schemes:?}");
}

#[test]
fn a_bad_letter_field_is_refused_with_its_position_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_variant(dir.path(), |t| {
        t.replace(
            "provider_pec = \"reclami@pec.hosting.test\"",
            "provider_pec = \"reclami.pec.hosting.test\"",
        )
        .replace(
            "contract_number = \"HP-2022-0815\"",
            "contract_number = \" \"",
        )
    });
    let out = slawatch()
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    for (key, fix) in [
        (
            "provider_pec",
            "is not an e-mail address: write it as name@domain",
        ),
        ("contract_number", "is empty: write it, or remove the key"),
    ] {
        let at = format!("probes.toml:{}:", line_of(key));
        assert!(
            stderr.lines().any(|l| l.contains(&at) && l.contains(fix)),
            "{key}: no line with {at:?} and {fix:?}:\n{stderr}"
        );
    }
}

#[test]
fn a_letter_resting_on_recorded_incidents_alone_says_so() {
    let mut c = credit();
    c.evidence.checks = 0;
    for r in &mut c.incidents {
        r.sources = vec!["status-page".to_owned()];
        r.classes.clear();
    }
    let it = write(&c, Lang::It, date(2023, 2, 2));
    assert!(
        it.contains(
            "I dati si basano sulle interruzioni registrate, con la fonte indicata per ciascuna"
        ),
        "{it}"
    );
    assert!(!it.contains("monitoraggio che svolgo"), "{it}");
    assert!(!it.contains("0 controlli"), "{it}");
    assert!(!it.contains("SHA-256"), "{it}");
    let en = write(&c, Lang::En, date(2023, 2, 2));
    assert!(
        en.contains("The figures rest on the recorded interruptions"),
        "{en}"
    );
    assert!(!en.contains("0 checks"), "{en}");
}

/// The report a letter attaches, in Italian, renders on a phone and a desktop
/// with nothing wider than the window, its summary box on the phone's first screen.
#[test]
fn the_attached_italian_report_renders_on_a_phone_and_a_desktop() {
    let r = build(&config_path(), generated_at());
    let own = Report {
        contracts: vec![rossi(&r)],
        skipped: Vec::new(),
        ..r
    };
    let stem = letter::report_stem("rossi-shop", "2023-01", Lang::It);
    let (name, html) = report::render(&own, Format::Html, &stem, Lang::It).remove(0);
    assert_eq!(name, "slawatch-2023-01-rossi-shop-it.html");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, html).unwrap();
    crate::browser::assert_report_renders(&path);
    let phone = crate::browser::render(&path, 375);
    let [top, bottom, ..] = phone.layout.verdicts[0];
    assert!(
        top >= 0 && bottom <= i64::from(crate::browser::HEIGHT),
        "{}",
        phone.layout.json
    );
}

#[test]
fn days_owed_are_asked_as_days_with_their_value() {
    let mut c = credit();
    c.evaluation.extension_days = Some(3);
    if let Some(m) = c.evaluation.credit.as_mut() {
        m.amount = "1234.5".parse().unwrap();
    }
    c.evaluation.form = Some(slawatch::sla::plan::CreditForm::TermExtension);
    let it = write(&c, Lang::It, date(2023, 2, 2));
    assert!(
        it.contains("un indennizzo pari a 3 giorni di servizio (controvalore 1.234,50 EUR). Vi chiedo di riconoscerlo, come proroga gratuita del servizio"),
        "{it}"
    );
    let en = write(&c, Lang::En, date(2023, 2, 2));
    assert!(
        en.contains("I am therefore owed 3 days of service (worth EUR 1,234.50). I ask you to grant it as free days of service"),
        "{en}"
    );
}
