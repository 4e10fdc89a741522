//! `slawatch probe NAME`: one check now, printed with its phases; exit 0 up, 1 down,
//! 2 configuration error.

use crate::peers::nginx::Nginx;
use crate::util::{closed_addr, slawatch, stdout_of};
use predicates::str::contains;

fn config(dir: &std::path::Path, nginx: &Nginx) -> std::path::PathBuf {
    let closed = closed_addr();
    let path = dir.join("probes.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[http]]
name = "site"
url = "{}"
ca_file = "{}"
expect_body = "OK"

[[tcp]]
name = "closed"
target = "{closed}"
"#,
            nginx.https_url("/health"),
            nginx.ca().display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn up_prints_phases_and_exits_0() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &nginx);
    let out = stdout_of(&["probe", "site", "--config"], &cfg, 0);
    assert!(out.starts_with("site (http): up - HTTP 200 OK\n"), "{out}");
    for phase in [
        "connect",
        "tls",
        "first byte",
        "total",
        "certificate  valid until",
    ] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(phase)),
            "no {phase} line in\n{out}"
        );
    }
}

#[test]
fn down_exits_1_and_json_has_the_class() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &nginx);
    let out = stdout_of(&["probe", "closed", "--json", "--config"], &cfg, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "down");
    assert_eq!(v["class"], "refused");
    assert!(v["phases"]["connect"].is_u64(), "{v}");
}

#[test]
fn unknown_name_or_bad_config_exits_2() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &nginx);
    slawatch()
        .args(["probe", "nope", "--config"])
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(contains(
            "has no probe named 'nope'; its probes are: site, closed",
        ));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[tcp]]\nname = \"x\"\ntarget = 5\n").unwrap();
    slawatch()
        .args(["probe", "x", "--config"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains("bad.toml:3:"));
}
