//! The SLA engine through `slawatch sla` and the library: the worked examples of
//! SLA-MODEL.md (`tests/fixtures/sla/examples.json`, copied from shared/) and our own
//! worked cases (`worked.json`), the plan catalogue, bad input, properties (the
//! engine's purity is a rule of `tidy.rs`).

use crate::util::{fixture, slawatch};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::Value;
use slawatch::sla::{self, Overrides, PeriodSpec, Timeline};
use std::fs;
use std::path::Path;

fn cases(file: &str) -> Vec<Value> {
    let text = fs::read_to_string(fixture(file)).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

/// Runs one case through the CLI as the model specifies: its plan_toml to a file,
/// the case itself as the timeline, `--json`.
fn run_case(case: &Value, dir: &Path) -> Value {
    let plan = dir.join("plan.toml");
    let timeline = dir.join("timeline.json");
    fs::write(&plan, case["plan_toml"].as_str().unwrap()).unwrap();
    fs::write(&timeline, serde_json::to_string(case).unwrap()).unwrap();
    let mut cmd = slawatch();
    cmd.arg("sla")
        .arg("--plans")
        .arg(&plan)
        .arg("--timeline")
        .arg(&timeline);
    cmd.args(["--period", case["period"].as_str().unwrap(), "--json"]);
    if let Some(d) = case.get("claim_date").and_then(Value::as_str) {
        cmd.args(["--claim-date", d]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        case["id"],
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

/// Compares every expected field; returns the differences.
fn compare(case: &Value, got: &Value) -> Vec<String> {
    let e = &case["expected"];
    let mut diffs = Vec::new();
    let mut check = |what: &str, ok: bool, g: &Value, x: &Value| {
        if !ok {
            diffs.push(format!("{} {what}: got {g}, expected {x}", case["id"]));
        }
    };
    let a = &got["availability_pct"];
    check(
        "availability_pct",
        a == &e["availability_pct"],
        a,
        &e["availability_pct"],
    );
    for k in ["downtime_minutes", "measured_minutes"] {
        // Exact decimals: "209.5" and the example's "209.50" are the same figure.
        check(k, dec(&got[k]) == dec(&e[k]), &got[k], &e[k]);
    }
    check(
        "breach",
        got["breach"] == e["breach"],
        &got["breach"],
        &e["breach"],
    );
    let amount = got["credit"].get("amount").cloned().unwrap_or(Value::Null);
    check(
        "credit",
        amount == e["credit_eur"],
        &amount,
        &e["credit_eur"],
    );
    check(
        "extension_days",
        got["extension_days"] == e["extension_days"],
        &got["extension_days"],
        &e["extension_days"],
    );
    check(
        "claim_deadline",
        got["claim_deadline"] == e["claim_deadline"],
        &got["claim_deadline"],
        &e["claim_deadline"],
    );
    // Money is always printed with two decimals.
    if let Some(s) = amount.as_str() {
        assert_eq!(
            s.split('.').nth(1).map(str::len),
            Some(2),
            "{}: {s}",
            case["id"]
        );
    }
    diffs
}

/// Runs every case of a file through the CLI and asserts every expected figure.
fn all_cases_match(file: &str, at_least: usize) {
    let cases = cases(file);
    assert!(cases.len() >= at_least, "{file} has its cases");
    let dir = tempfile::tempdir().unwrap();
    let diffs: Vec<String> = cases
        .iter()
        .flat_map(|c| compare(c, &run_case(c, dir.path())))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn every_shared_example_gives_exactly_the_expected_figures() {
    all_cases_match("sla/examples.json", 7);
}

#[test]
fn every_worked_case_gives_exactly_the_expected_figures() {
    all_cases_match("sla/worked.json", 20);
}

#[test]
fn the_worked_cases_cover_every_scheme_method_and_window() {
    let mut all = String::new();
    for file in ["sla/examples.json", "sla/worked.json"] {
        for c in cases(file) {
            all.push_str(c["plan_toml"].as_str().unwrap());
        }
    }
    let needed = [
        "\"tiered_percent\"",
        "\"tiered_days\"",
        "\"downtime_tiers\"",
        "\"incident_tiers\"",
        "\"per_unit_percent\"",
        "\"per_unit_days\"",
        "\"prorata_multiplier\"",
        "\"daily_flat\"",
        "\"per_day_over_threshold\"",
        "\"none\"",
        "\"unspecified\"",
        "\"time_slices\"",
        "\"error_rate_slices\"",
        "\"user_weighted\"",
        "\"calendar_year\"",
        "\"billing_cycle\"",
        "\"rolling\"",
        "business_hours",
        "recurring",
        "max_per_year",
        "merge_gap",
        "\"reported\"",
        "\"whole_clock_minutes\"",
        "\"as_up\"",
        "\"as_down\"",
        "min_incident_exclusive = true",
        "min_credit",
        "cap_amount",
        "cap_days",
        "\"beyond_allowance\"",
        "\"per_incident\"",
        "\"started_24h_blocks\"",
        "\"local_calendar_days_touched\"",
        "\"cycles_after_period\"",
        "\"days_after_period_end\"",
        "\"months_after_period_end\"",
        "\"days_after_incident_start\"",
        "\"downtime_gt_pct\"",
        "\"any_downtime\"",
        "\"ceil\"",
        "\"floor\"",
        "\"nearest\"",
        "\"max\"",
        "\"sum\"",
        "\"reported_or_detected\"",
        "\"confirmed_restored\"",
        "partial_period = \"full\"",
        "fee_period = \"year\"",
        "count_from = \"beyond_allowance\"",
        "unit_scope = \"incident\"",
        "day_value_basis = \"30\"",
    ];
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|n| !all.contains(n))
        .collect();
    assert!(missing.is_empty(), "no worked case exercises {missing:?}");
}

/// A timeline touching every kind of input, for plans of any window.
fn sample_timeline() -> Timeline {
    Timeline::from_json(
        r#"{"incidents": [
              {"start": "2024-04-03T10:00:00Z", "end": "2024-04-03T12:30:00Z", "reported_at": "2024-04-03T10:20:00Z", "error_rate": "0.4", "impact": "0.5"},
              {"start": "2024-04-12T08:00:00Z", "end": "2024-04-12T09:00:00Z", "cause": "customer"},
              {"start": "2024-04-30T23:00:00Z", "end": "2024-05-01T02:00:00Z"}],
            "maintenance": [{"start": "2024-04-20T01:00:00Z", "end": "2024-04-20T03:00:00Z", "announced_at": "2024-04-10T00:00:00Z"}],
            "gaps": [{"start": "2024-04-25T00:00:00Z", "end": "2024-04-25T06:00:00Z"}]}"#,
    )
    .unwrap()
}

#[test]
fn every_catalogue_plan_parses_and_evaluates() {
    let plans = slawatch::config::load_plans(&fixture("sla/catalogue.toml")).unwrap();
    assert_eq!(plans.len(), 41, "the catalogue's 41 plans");
    let tl = sample_timeline();
    let ov = Overrides {
        fee: Some("100.00".parse().unwrap()),
        ..Overrides::default()
    };
    let mut with_downtime = 0;
    for p in &plans {
        let spec = match p.window.kind {
            sla::plan::WindowKind::CalendarYear => PeriodSpec::Year(2024),
            _ => PeriodSpec::Month {
                year: 2024,
                month: 4,
            },
        };
        let ev = sla::evaluate(p, &ov, spec, None, &tl).unwrap_or_else(|e| panic!("{}: {e}", p.id));
        let a = ev.availability.clone().expect("something was measured");
        assert!(
            a > sla::num::int(0) && a <= sla::num::int(1),
            "{}: A = {a}",
            p.id
        );
        if a < sla::num::int(1) {
            with_downtime += 1;
        }
        assert!(!ev.trace.is_empty());
        // A breach with a computable scheme and a fee owes something or says why not.
        if let Some(m) = &ev.credit {
            assert!(m.amount >= Decimal::ZERO, "{}", p.id);
            assert!(m.amount <= Decimal::from(1000), "{}: {}", p.id, m.amount);
        }
        assert!(!p.describe().is_empty());
    }
    // Only plans whose rules drop every sample incident (a 5-day minimum, counting from
    // a report) see none.
    assert!(with_downtime >= 35, "{with_downtime} plans saw downtime");
    let out = slawatch()
        .args(["plans", "--plans"])
        .arg(fixture("sla/catalogue.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 41);
    assert!(
        text.lines().any(|l| l.starts_with("aws-ec2-region ")
            && l.ends_with("99.99 % per calendar month (UTC); 10 % / 30 % / 100 % of the fee below 99.99 / 99.0 / 95.0 %; cap 100 % of the fee")),
        "{text}"
    );
}

#[test]
fn the_example_configuration_s_plans_evaluate() {
    let plans = slawatch::config::load_plans(&fixture("../../probes.toml")).unwrap();
    assert!(plans.len() >= 3);
    for p in &plans {
        sla::evaluate(
            p,
            &Overrides::default(),
            PeriodSpec::Month {
                year: 2024,
                month: 4,
            },
            None,
            &sample_timeline(),
        )
        .unwrap();
    }
}

/// Runs `slawatch sla` on a plan and a timeline written to a temporary folder.
fn run_sla(plan_toml: &str, timeline: &str, period: &str, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("p.toml"), plan_toml).unwrap();
    fs::write(dir.path().join("t.json"), timeline).unwrap();
    slawatch()
        .current_dir(dir.path())
        .args([
            "sla",
            "--plans",
            "p.toml",
            "--timeline",
            "t.json",
            "--period",
            period,
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// Runs `slawatch sla` and returns (exit status, stderr).
fn sla_err(plan_toml: &str, timeline: &str, period: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = run_sla(plan_toml, timeline, period, extra);
    assert!(out.stdout.is_empty(), "no figure is printed on bad input");
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

const PLAN: &str = "[[plan]]\nid = \"p\"\nfee = \"10.00\"\nobjective.target = \"99.9\"\ncredit.scheme = \"tiered_percent\"\ncredit.tiers = [{ below = \"99.9\", pct = \"10\" }]\n";
const TL: &str =
    r#"{"incidents": [{"start": "2024-04-03T10:00:00Z", "end": "2024-04-03T11:00:00Z"}]}"#;

#[test]
fn bad_input_exits_2_with_a_precise_message() {
    let rows: &[(&str, &str, &str, &[&str], &str)] = &[
        (
            "[[plan]]\nid = \"p\"\nobjective.target = \"99.9\"\nmeasurment.method = \"time\"\n",
            TL,
            "2024-04",
            &[],
            "error: p.toml:4:1: in [[plan]] #1: unknown key 'measurment'; did you mean 'measurement'?\n",
        ),
        (
            "[[plan]]\nid = \"p\"\nobjective.target = 99.9\n",
            TL,
            "2024-04",
            &[],
            "error: p.toml:3:20: in [[plan]] #1: write decimals as strings, such as \"99.9\": a binary floating-point number cannot hold most decimals exactly\n",
        ),
        (
            "[[plan]]\nid = \"p\"\nobjective.target = \"99.9\"\nwindow.timezone = \"Europe/Rom\"\n",
            TL,
            "2024-04",
            &[],
            "error: p.toml:4:19: in [[plan]] #1: 'Europe/Rom' is not an IANA time zone name: write one such as \"Europe/Rome\", \"America/Los_Angeles\" or \"UTC\"\n",
        ),
        (
            "[[plan]]\nid = \"p\"\nobjective.target = \"99.9\"\ncredit.scheme = \"per_unit_percent\"\n",
            TL,
            "2024-04",
            &[],
            "error: p.toml:4:17: plan 'p': credit.scheme 'per_unit_percent' needs credit.unit, a positive duration such as \"PT1H\"\nerror: p.toml:4:17: plan 'p': credit.scheme 'per_unit_percent' needs credit.pct_per_unit, such as \"5\"\n",
        ),
        (
            "[[plan]]\nid = \"p\"\nobjective.target = \"99.9\"\nmeasurement.min_incident = \"10m\"\n",
            TL,
            "2024-04",
            &[],
            "error: p.toml:4:28: in [[plan]] #1: '10m' is not an ISO 8601 duration: write it like \"PT10M\", \"PT1H30M\", \"P5D\" or \"PT0S\"\n",
        ),
        (
            PLAN,
            TL,
            "2024-4",
            &[],
            "error: --period: period '2024-4' does not parse: write YYYY-MM for a month (2024-04) or YYYY for a year (2024)\n",
        ),
        (
            PLAN,
            TL,
            "2024",
            &[],
            "error: p: a calendar_month plan is evaluated per month: write --period YYYY-MM, not '2024'\n",
        ),
        (
            PLAN,
            TL,
            "2024-04",
            &["--plan", "q"],
            "error: p.toml: no plan 'q'; the plans there are: p\n",
        ),
        (
            PLAN,
            r#"{"incidents": [{"start": "2024-04-03T10:00:00Z", "end": "2024-04-03T09:00:00Z"}]}"#,
            "2024-04",
            &[],
            "error: t.json:incidents[0].end: ends at 2024-04-03T09:00:00Z, not after its start 2024-04-03T10:00:00Z: intervals are [start, end) with end > start\n1 error in the timeline; nothing was computed\n",
        ),
        (
            PLAN,
            "{\"incidents\": [\n  {\"start\": \"2024-04-03T10:00:00Z\", \"end\": \"2024-04-03T11:00:00Z\", \"casue\": \"x\"}]}",
            "2024-04",
            &[],
            "error: t.json:2:74: unknown field 'casue', expected one of 'start', 'end', 'cause', 'error_rate', 'impact', 'affected_users', 'reported_at', 'confirmed_restored_at', 'note'\n1 error in the timeline; nothing was computed\n",
        ),
    ];
    let mut diffs = Vec::new();
    for (plan, tl, period, extra, want) in rows {
        let (code, err) = sla_err(plan, tl, period, extra);
        assert_eq!(code, Some(2), "{err}");
        let err = err
            .replace("1 error in the configuration; nothing was changed", "")
            .replace("2 errors in the configuration; nothing was changed", "");
        let err = err.trim_end().to_owned() + "\n";
        if err != *want {
            diffs.push(format!("expected:\n{want}got:\n{err}"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// The values SLA-MODEL.md section 5 validates (issue 16): each exits 2, names where
/// the bad value is, and prints no figure.
#[test]
fn out_of_range_values_exit_2_with_their_path() {
    const USERS: &str = "[[plan]]\nid = \"u\"\nfee = \"10.00\"\nobjective.target = \"99.9\"\nmeasurement.method = \"user_weighted\"\nmeasurement.users = 4\ncredit.scheme = \"none\"\n";
    const YEAR_1S: &str = "[[plan]]\nid = \"y\"\nobjective.target = \"99.9\"\nwindow.kind = \"calendar_year\"\nmeasurement.method = \"time_slices\"\nmeasurement.slice = \"PT1S\"\ncredit.scheme = \"none\"\n";
    const AFFECTED: &str = r#"{"incidents": [{"start": "2024-04-03T10:00:00Z", "end": "2024-04-03T11:00:00Z", "affected_users": 5}]}"#;
    let rows: &[(&str, &str, &str, &[&str], &str)] = &[
        (
            PLAN,
            TL,
            "2024-04",
            &["--fee=-5.00"],
            "error: invalid value '-5.00' for '--fee <AMOUNT>': -5.00 is negative: write the fee actually paid, zero or more, such as 9.99",
        ),
        (
            PLAN,
            r#"{"incidents": [{"start": "2024-04-03T10:00:00+24:00", "end": "2024-04-05T11:00:00Z"}]}"#,
            "2024-04",
            &[],
            "error: t.json:incidents[0].start: '2024-04-03T10:00:00+24:00' has the offset +24:00, outside -23:59..+23:59: write the instant in UTC (\"Z\") or with the zone's real offset, such as \"+02:00\"\n1 error in the timeline; nothing was computed",
        ),
        (
            PLAN,
            AFFECTED,
            "2024-04",
            &[],
            "error: t.json:incidents[0].affected_users: 5 affected users, but plan 'p' gives no measurement.users to divide by: set measurement.method = \"user_weighted\" and measurement.users (the total, such as 200), or give the incident an impact (a share such as \"0.25\") instead\n1 error in the timeline; nothing was computed",
        ),
        (
            &USERS.replace("measurement.users = 4\n", ""),
            AFFECTED,
            "2024-04",
            &[],
            "error: t.json:incidents[0].affected_users: 5 affected users, but plan 'u' gives no measurement.users to divide by: set measurement.method = \"user_weighted\" and measurement.users (the total, such as 200), or give the incident an impact (a share such as \"0.25\") instead\n1 error in the timeline; nothing was computed",
        ),
        (
            USERS,
            AFFECTED,
            "2024-04",
            &[],
            "error: t.json:incidents[0].affected_users: 5 affected users, more than plan 'u' has (measurement.users = 4): write at most 4, or correct measurement.users\n1 error in the timeline; nothing was computed",
        ),
        (
            YEAR_1S,
            TL,
            "2024",
            &[],
            "error: p.toml:6:21: plan 'y': measurement.slice 1 s cuts a calendar year of 366 days into 31622400 slices, more than the limit of 10000000: write a slice of at least \"PT4S\"\n1 error in the configuration; nothing was changed",
        ),
        (
            &YEAR_1S.replace("PT1S", "PT0.001S"),
            TL,
            "2024",
            &[],
            "error: p.toml:6:21: plan 'y': measurement.slice is shorter than the limit of 1 s: write \"PT1S\" or longer, such as \"PT1M\"\n1 error in the configuration; nothing was changed",
        ),
    ];
    let mut diffs = Vec::new();
    for (plan, tl, period, extra, want) in rows {
        let (code, err) = sla_err(plan, tl, period, extra);
        assert_eq!(code, Some(2), "{err}");
        let got = err.replace("\n\nFor more information, try '--help'.", "");
        if got.trim_end() != *want {
            diffs.push(format!("expected:\n{want}\ngot:\n{got}"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    // A slice as short as the limit allows still fits a calendar month.
    let month = YEAR_1S.replace("calendar_year", "calendar_month");
    let out = run_sla(&month, TL, "2024-04", &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_human_summary_shows_the_figures_and_the_working() {
    let out = run_sla(PLAN, TL, "2024-04", &[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "availability  99.8611 %",
        "downtime      60 min of 43200 min measured",
        "breach        yes",
        "credit        1.00 EUR",
        "working:",
        "Credit owed = 1.00 EUR (rounded half-up to the cent).",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

/// The engine holds the slice bounds itself, for plans not read from a file.
#[test]
fn the_engine_refuses_more_slices_than_the_limit() {
    let mut plan = month_plan(
        "measurement.method = \"time_slices\"\nmeasurement.slice = \"PT1S\"\ncredit.scheme = \"none\"\n",
    );
    let tl = timeline(&[(10, 5)]);
    assert!(eval(&plan, &tl).availability.is_some(), "1 s fits a month");
    plan.window.kind = sla::plan::WindowKind::CalendarYear;
    let e = sla::evaluate(
        &plan,
        &Overrides::default(),
        PeriodSpec::Year(2024),
        None,
        &tl,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "measurement.slice 1 s cuts the period 2024 into 31622400 slices, more than the limit of 10000000: write a slice of at least \"PT4S\""
    );
    plan.measurement.method = sla::plan::Method::ErrorRateSlices { slice_ms: 999 };
    let e = sla::evaluate(
        &plan,
        &Overrides::default(),
        PeriodSpec::Year(2024),
        None,
        &tl,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("shorter than the limit of 1 s"), "{e}");
}

fn month_plan(extra: &str) -> sla::Plan {
    let text =
        format!("[[plan]]\nid = \"p\"\nfee = \"100.00\"\nobjective.target = \"99.9\"\n{extra}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    fs::write(&path, text).unwrap();
    slawatch::config::load_plans(&path).unwrap().remove(0)
}

const APRIL: i64 = 1_711_929_600_000; // 2024-04-01T00:00:00Z
const MIN: i64 = 60_000;

fn timeline(incidents: &[(i64, i64)]) -> Timeline {
    Timeline {
        incidents: incidents
            .iter()
            .map(|&(s, len)| sla::timeline::Incident {
                start: slawatch::model::UtcMillis(APRIL + s * MIN),
                end: slawatch::model::UtcMillis(APRIL + (s + len) * MIN),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn eval(plan: &sla::Plan, tl: &Timeline) -> sla::Evaluation {
    sla::evaluate(
        plan,
        &Overrides::default(),
        PeriodSpec::Month {
            year: 2024,
            month: 4,
        },
        None,
        tl,
    )
    .unwrap()
}

/// Incidents inside April 2024 as (start minute, length in minutes).
fn incidents() -> impl Strategy<Value = Vec<(i64, i64)>> {
    prop::collection::vec((0i64..40_000, 1i64..600), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn availability_never_rises_when_downtime_is_added(base in incidents(), extra in (0i64..40_000, 1i64..600)) {
        for plan in [month_plan(""), month_plan("measurement.method = \"time_slices\"\nmeasurement.slice = \"PT5M\"\n"), month_plan("measurement.min_incident = \"PT30M\"\n")] {
            let a = eval(&plan, &timeline(&base)).availability.unwrap();
            let mut more = base.clone();
            more.push(extra);
            let b = eval(&plan, &timeline(&more)).availability.unwrap();
            prop_assert!(b <= a, "{b} > {a}");
        }
    }

    #[test]
    fn a_month_s_days_sum_to_the_month(inc in incidents()) {
        // A daily rolling window ending at each day of April: its D and T add up to April's.
        let month = eval(&month_plan(""), &timeline(&inc));
        let day = month_plan("window.kind = \"rolling\"\nwindow.length = \"P1D\"\nwindow.anchor = \"claim_date\"\n");
        let (mut d, mut t) = (sla::num::int(0), sla::num::int(0));
        for n in 2..=31 {
            let claim = if n == 31 { jiff::civil::date(2024, 5, 1) } else { jiff::civil::date(2024, 4, n) };
            let ev = sla::evaluate(&day, &Overrides::default(), PeriodSpec::Month { year: 2024, month: 4 }, Some(claim), &timeline(&inc)).unwrap();
            d += ev.downtime_ms;
            t += ev.measured_ms;
        }
        prop_assert_eq!(d, month.downtime_ms);
        prop_assert_eq!(t, month.measured_ms);
    }

    #[test]
    fn shifting_by_whole_days_changes_nothing_in_utc(inc in prop::collection::vec((0i64..20_000, 1i64..600), 0..6), days in 0i64..7) {
        let plan = month_plan("measurement.method = \"time_slices\"\nmeasurement.slice = \"PT1M\"\n");
        let shifted: Vec<(i64, i64)> = inc.iter().map(|&(s, l)| (s + days * 1440, l)).collect();
        let (a, b) = (eval(&plan, &timeline(&inc)), eval(&plan, &timeline(&shifted)));
        prop_assert_eq!(a.downtime_ms, b.downtime_ms);
        prop_assert_eq!(a.availability, b.availability);
        prop_assert_eq!(a.credit, b.credit);
    }

    #[test]
    fn credits_never_exceed_their_caps(inc in prop::collection::vec((0i64..40_000, 1i64..30_000), 0..5)) {
        let capped = [
            (month_plan("credit.scheme = \"per_unit_percent\"\ncredit.unit = \"PT10M\"\ncredit.unit_rounding = \"ceil\"\ncredit.unit_scope = \"incident\"\ncredit.pct_per_unit = \"5\"\ncredit.cap_pct_of_fee = \"30\"\n"), Decimal::from(30)),
            (month_plan("credit.scheme = \"prorata_multiplier\"\ncredit.multiplier = \"50\"\ncredit.hours_basis = \"720\"\ncredit.lost_time = \"per_incident\"\ncredit.cap_per_incident_pct_of_fee = \"100\"\ncredit.cap_amount = \"250.00\"\n"), Decimal::from(250)),
            (month_plan("credit.scheme = \"tiered_days\"\ncredit.tiers = [{ below = \"99.9\", days = 10 }, { below = \"95\", days = 40 }]\ncredit.cap_days = \"15\"\n"), Decimal::from(50)),
            (month_plan("credit.scheme = \"daily_flat\"\ncredit.per_day = \"6.00\"\ncredit.cap_amount = \"18.00\"\n"), Decimal::from(18)),
        ];
        for (plan, cap) in capped {
            let ev = eval(&plan, &timeline(&inc));
            let amount = ev.credit.unwrap().amount;
            prop_assert!(amount <= cap, "{}: {amount} > {cap}", plan.credit.scheme.name());
            prop_assert!(amount >= Decimal::ZERO);
            if let Some(d) = ev.extension_days {
                prop_assert!(d <= 15);
            }
        }
    }
}

/// The README's calculator example prints what the README shows.
#[test]
fn the_readme_example_holds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let out = slawatch()
        .current_dir(root)
        .args(["sla", "--plans", "probes.toml", "--plan", "mail-business"])
        .args([
            "--timeline",
            "examples/mail-outage-2023-01.json",
            "--period",
            "2023-01",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let shown: Vec<&str> = text.lines().take(6).collect();
    assert_eq!(shown[5], "credit        72.00 EUR");
    for line in shown {
        assert!(readme.contains(line), "README lacks {line:?}");
    }
}

/// Found by the `timeline` fuzz target (kept as
/// `fuzz/corpus/timeline/user-weighted-overlap.json`): `user_weighted` added up
/// overlapping incidents on their own, so a month down for everyone plus one more
/// outage inside it gave D > T and availability -0.0965 %.
#[test]
fn user_weighted_never_counts_more_than_every_user_at_once() {
    let plan = month_plan("measurement.method = \"user_weighted\"\nmeasurement.users = 200\n");
    let all_month = eval(&plan, &timeline(&[(0, 43_200), (100, 60)]));
    assert_eq!(all_month.availability_pct().as_deref(), Some("0.0000"));
    // Shares at the same instant add up (as error rates do), but only to all users:
    // 30 min at 1/2, 30 min at min(1, 1/2 + 3/4), 30 min at 3/4 = 67.5 min.
    let mut tl = timeline(&[(0, 60), (30, 60)]);
    tl.incidents[0].impact = Some("0.5".parse().unwrap());
    tl.incidents[1].impact = Some("0.75".parse().unwrap());
    let ev = eval(&plan, &tl);
    assert_eq!(ev.downtime_ms, sla::num::int(67 * MIN + MIN / 2));
}
