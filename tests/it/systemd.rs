//! The shipped unit passes `systemd-analyze verify` and keeps its hardening.

use std::path::Path;
use std::process::Command;

/// The unit with its binary path pointed at the binary under test (verify checks
/// that ExecStart is executable).
fn unit_for_test(dir: &Path) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/slawatch.service"),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("slawatch");
    let path = dir.join("slawatch.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/slawatch", bin.to_str().unwrap()),
    )
    .unwrap();
    path
}

fn analyze(args: &[&str], unit: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze is installed by scripts/test.sh (package systemd)")
}

#[test]
fn the_unit_verifies_without_a_single_warning() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test(dir.path());
    let out = analyze(&["verify"], &unit);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // verify exits 0 on unknown keys; a warning is still a defect.
    assert_eq!(text.trim(), "", "systemd-analyze verify printed warnings");
}

#[test]
fn the_unit_is_hardened() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test(dir.path());
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "StateDirectory=slawatch",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
    ] {
        assert!(text.contains(line), "the unit lacks {line:?}");
    }
    let out = analyze(&["security", "--offline=yes"], &unit);
    let report = String::from_utf8_lossy(&out.stdout);
    let level: String = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for slawatch.service: ")
                .nth(1)
        })
        .expect("an overall exposure level")
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    // Compare tenths as integers: the scale is 0.0 (safe) to 10.0 (exposed).
    let tenths: u32 = level.replace('.', "").parse().unwrap();
    assert!(tenths <= 20, "exposure {level} is above 2.0:\n{report}");
}
