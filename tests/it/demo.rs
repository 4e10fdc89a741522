//! `slawatch demo --fast`: the report it writes shows exactly the outages the demo
//! injected, the compensation the plan owes for them, and evidence that verifies.
//!
//! How the daemon merges the injected phases: each service's two failure phases
//! follow each other with no success between them (site: refusing, then hanging;
//! mailbox: refusing logins, then unreachable), so each service makes ONE outage,
//! from its first failed check to its first success after the recovery. The services
//! fail at different times, with every service up in between, so the contract
//! (`unavailable_when = "any"`) shows two incidents.
//!
//! Tolerance (documented in `scenario.json`'s pace): an outage starts at its first
//! failed check, which begins at most one `interval` after the failure was injected
//! (the grid); it ends when the first success answers, at most `retry_interval`
//! after the last failed check ended, which itself ends by its `timeout`. Each end
//! is allowed `SLACK` more for a loaded machine (scheduling lag), and 50 ms before
//! the injected instant (the two clocks are read a few instructions apart).

use crate::util::slawatch;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// Scheduling lag allowed on a loaded 2-core machine, on each end of an outage.
const SLACK_MS: i64 = 500;
/// How much earlier than the injected instant a measured one may be.
const EARLY_MS: i64 = 50;

fn ms(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    s.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .as_millisecond()
}

fn run_demo(dir: &Path, cwd: &Path) -> Output {
    slawatch()
        .current_dir(cwd)
        .args(["demo", "--fast", "--dir"])
        .arg(dir)
        .env_remove("SLAWATCH_CONFIG")
        .env_remove("SLAWATCH_DATABASE")
        .output()
        .unwrap()
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn demo_fast_report_shows_exactly_the_injected_outages_and_what_they_owe() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let out = run_demo(&dir, &cwd);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // Without a terminal, progress is plain lines: no redraws.
    assert!(!stderr.contains('\r'), "{stderr:?}");
    assert!(stderr.contains("outage confirmed"), "{stderr}");
    assert!(stderr.contains("site: refusing connections"), "{stderr}");

    let scenario = json(&dir.join("scenario.json"));
    let interval = scenario["interval_ms"].as_i64().unwrap();
    let timeout = scenario["timeout_ms"].as_i64().unwrap();
    let retry = scenario["retry_interval_ms"].as_i64().unwrap();
    let expected = scenario["expected_outages"].as_array().unwrap();
    assert_eq!(expected.len(), 2, "{scenario}");
    // Nothing written outside DIR, and nothing in DIR that scenario.json does not
    // list (so a rerun can remove it all).
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0);
    let listed: Vec<&str> = scenario["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for sub in ["", "reports"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                continue;
            }
            let name = Path::new(sub).join(entry.file_name());
            let name = name.to_str().unwrap();
            assert!(listed.contains(&name), "{name} not in {listed:?}");
        }
    }

    let report_path = dir.join(format!(
        "reports/slawatch-{}.json",
        json_period(&dir.join("reports"))
    ));
    let report = json(&report_path);
    assert_eq!(report["provisional"], true, "the month is not over");
    let c = &report["contracts"][0];
    let incidents = c["incidents"].as_array().unwrap();
    assert_eq!(
        incidents.len(),
        expected.len(),
        "one incident per injected outage: {incidents:#?}\nexpected {expected:#?}"
    );
    for (got, want) in incidents.iter().zip(expected) {
        assert_eq!(got["probes"], serde_json::json!([want["probe"]]), "{got}");
        assert_eq!(got["open"], false, "{got}");
        let (start, end) = (ms(&got["start"]), ms(&got["end"]));
        let (inj_start, inj_end) = (
            want["start_ms"].as_i64().unwrap(),
            want["end_ms"].as_i64().unwrap(),
        );
        let late_start = start - inj_start;
        let late_end = end - inj_end;
        assert!(
            (-EARLY_MS..=interval + SLACK_MS).contains(&late_start),
            "{}: started {late_start} ms after the injection (interval {interval} ms)",
            want["probe"]
        );
        assert!(
            (-EARLY_MS..=timeout + retry + SLACK_MS).contains(&late_end),
            "{}: ended {late_end} ms after the recovery (timeout {timeout}, retry {retry} ms)",
            want["probe"]
        );
        let (got_d, want_d) = (end - start, want["duration_ms"].as_i64().unwrap());
        assert!(
            (got_d - want_d).abs() <= interval + timeout + SLACK_MS,
            "{}: {got_d} ms measured, {want_d} ms injected",
            want["probe"]
        );
    }
    // The classes are the injected failures' own.
    let classes = |i: usize| -> Vec<String> {
        incidents[i]["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["class"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        classes(0).contains(&"refused".to_owned()),
        "{:?}",
        classes(0)
    );
    assert!(
        classes(0).contains(&"timeout".to_owned()),
        "{:?}",
        classes(0)
    );
    assert!(classes(1).contains(&"auth".to_owned()), "{:?}", classes(1));
    assert!(
        classes(1).contains(&"refused".to_owned()),
        "{:?}",
        classes(1)
    );

    // The compensation: the plan's, for that downtime. Only measured time counts, and
    // the outages are most of it: availability far below 95 %, so 50 % of 30.00 EUR.
    let e = &c["evaluation"];
    assert_eq!(e["breach"], true, "{e}");
    assert_eq!(e["credit"]["amount"], "15.00", "{e}");
    assert_eq!(e["credit"]["currency"], "EUR", "{e}");
    // ...and `slawatch sla` gives the same on the report's embedded timeline.
    let tl = tmp.path().join("timeline.json");
    std::fs::write(&tl, c["timeline"].to_string()).unwrap();
    let sla = slawatch()
        .args(["sla", "--plans"])
        .arg(dir.join("probes.toml"))
        .args(["--plan", "demo-hosting", "--timeline"])
        .arg(&tl)
        .args(["--period", report["period"].as_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        sla.status.success(),
        "{}",
        String::from_utf8_lossy(&sla.stderr)
    );
    let sla: Value = serde_json::from_slice(&sla.stdout).unwrap();
    for key in [
        "availability_pct",
        "downtime_minutes",
        "measured_minutes",
        "credit",
    ] {
        assert_eq!(sla[key], e[key], "{key}");
    }
    // The summary says what is owed, and that the figures are provisional.
    assert!(stdout.contains("15.00 EUR"), "{stdout}");
    assert!(stdout.contains("provisional"), "{stdout}");
    assert!(stdout.contains("regulator-interruption"), "{stdout}");
    let letter = dir.join(format!(
        "reports/claim-demo-shop-{}-en.txt",
        report["period"].as_str().unwrap()
    ));
    assert!(letter.exists(), "{}", letter.display());

    // The evidence verifies, and `outages` lists both.
    slawatch()
        .args(["verify", "--database"])
        .arg(dir.join("demo.db"))
        .assert()
        .code(0);
    slawatch()
        .args(["verify", "--config"])
        .arg(dir.join("probes.toml"))
        .arg("--report")
        .arg(&report_path)
        .assert()
        .code(0);
    let listed = slawatch()
        .args(["outages", "--config"])
        .arg(dir.join("probes.toml"))
        .output()
        .unwrap();
    assert!(listed.status.success());
    let listed = String::from_utf8_lossy(&listed.stdout);
    let rows: Vec<&str> = listed
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(
        rows[0].starts_with("demo-site") && rows[1].starts_with("demo-mailbox"),
        "{listed}"
    );
}

/// The period of the one full report in `reports` (`slawatch-YYYY-MM.json`).
fn json_period(reports: &Path) -> String {
    let names: Vec<String> = std::fs::read_dir(reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names
        .iter()
        .find_map(|n| {
            n.strip_prefix("slawatch-")?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no report in {names:?}"))
}

#[test]
fn demo_refuses_a_directory_holding_another_database() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("slawatch.db"), "mine").unwrap();
    let out = run_demo(tmp.path(), tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("slawatch.db") && stderr.contains("--dir"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("slawatch.db")).unwrap(),
        "mine"
    );
    assert!(!tmp.path().join("probes.toml").exists());
}

#[test]
fn demo_stops_cleanly_on_ctrl_c_and_its_evidence_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let child = std::process::Command::new(crate::util::slawatch_bin())
        .args(["demo", "--fast", "--dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the daemon to have recorded checks (its database exists and the
    // site's outage has begun), then interrupt it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !dir.join("demo.db").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_secs(3));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("verify"));
    slawatch()
        .args(["verify", "--database"])
        .arg(dir.join("demo.db"))
        .assert()
        .code(0);
    // The database reads: `status` lists the probes (exit 1 when one is still
    // down, as the interruption may have left the site).
    let status = slawatch()
        .args(["status", "--config"])
        .arg(dir.join("probes.toml"))
        .output()
        .unwrap();
    assert!(matches!(status.status.code(), Some(0 | 1)), "{status:?}");
    assert!(String::from_utf8_lossy(&status.stdout).contains("demo-site"));
}
