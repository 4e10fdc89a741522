//! probes.toml: valid and invalid fixtures, with their exact error text.
//!
//! Each `tests/fixtures/config/invalid/NAME.toml` has `NAME.err` beside it: the exact
//! standard error of `slawatch check-config --config NAME.toml` (run from that folder,
//! so paths print as written). Each valid fixture must print "ok".

use crate::util::{fixture, slawatch};
use std::fs;

fn toml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(fixture(dir))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_fixture_fails_with_its_exact_errors() {
    let files = toml_files("config/invalid");
    assert!(
        files.len() >= 15,
        "at least 15 invalid cases, found {}",
        files.len()
    );
    let mut mismatches = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let expected = fs::read_to_string(file.with_extension("err"))
            .unwrap_or_else(|_| panic!("{name} has no .err file beside it"));
        let out = slawatch()
            .current_dir(fixture("config/invalid"))
            .env_remove("SLAWATCH_TEST_NEVER_SET")
            .args(["check-config", "--config", name])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name} must exit 2");
        assert!(
            out.stdout.is_empty(),
            "{name}: nothing on stdout when invalid"
        );
        let got = String::from_utf8(out.stderr).unwrap();
        if got != expected {
            mismatches.push(format!("--- {name}\nexpected:\n{expected}got:\n{got}"));
        }
        // Every error line names this file with a line and a column.
        for line in got.lines().filter(|l| l.starts_with("error: ")) {
            let rest = line.strip_prefix("error: ").unwrap();
            let mut parts = rest.splitn(4, ':');
            assert_eq!(parts.next(), Some(name), "{line}");
            assert!(
                parts.next().unwrap().parse::<usize>().is_ok(),
                "line number in {line}"
            );
            assert!(
                parts.next().unwrap().parse::<usize>().is_ok(),
                "column in {line}"
            );
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn an_error_in_the_second_probe_points_at_its_own_line() {
    let out = slawatch()
        .current_dir(fixture("config/invalid"))
        .args(["check-config", "--config", "second_probe_error.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("second_probe_error.toml:8:1:"), "{err}");
    assert!(err.contains("[[http]] #2"), "{err}");
}

#[test]
fn errors_are_collected_in_one_pass() {
    let out = slawatch()
        .current_dir(fixture("config/invalid"))
        .args(["check-config", "--config", "many_errors.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error: ")).count(),
        5,
        "{err}"
    );
    assert!(
        err.ends_with("5 errors in the configuration; nothing was changed\n"),
        "{err}"
    );
}

fn with_test_secrets(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env("SLAWATCH_TEST_MAILBOX_PASSWORD", "imap-secret-from-env")
        .env("SLAWATCH_TEST_SMTP_PASSWORD", "smtp-secret-from-env")
        .env("SLAWATCH_TEST_ALERT_PASSWORD", "alert-secret-from-env")
        .env("SLAWATCH_TEST_API_KEY", "api-key-from-env")
        .env(
            "SLAWATCH_TEST_WEBHOOK_URL",
            "https://hooks.example.test/T0KEN",
        )
        .env("SLAWATCH_TEST_WEBHOOK_SECRET", "webhook-secret-from-env")
}

#[test]
fn every_valid_fixture_prints_ok_and_a_summary() {
    let files = toml_files("config/valid");
    assert!(files.len() >= 4);
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let out = with_test_secrets(&mut slawatch())
            .current_dir(fixture("config/valid"))
            .args(["check-config", "--config", &name])
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(
            stdout.starts_with(&format!("ok: {name}: ")),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn the_shipped_example_is_valid() {
    let out = slawatch()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("STATE_DIRECTORY")
        .args(["check-config", "--config", "probes.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = env!("CARGO_MANIFEST_DIR");
    assert_eq!(
        stdout,
        format!(
            "ok: probes.toml: 8 probes (http 2, dns 1, tcp 2, imap 1, pop3 1, smtp 1), \
             3 control targets, 3 plans, 3 contracts, 1 maintenance window\n\
             database: {root}/slawatch.db\n\
             reports: {root}/reports\n"
        )
    );
}

/// The shipped unit's `[Service]` values for `key`, in order.
fn unit_values(key: &str) -> Vec<String> {
    let unit = fs::read_to_string(crate::util::repo_file("systemd/slawatch.service")).unwrap();
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

/// What systemd sets `$STATE_DIRECTORY` to for the shipped unit (`StateDirectory=`
/// under /var/lib for a system service), and the configuration its `ExecStart=` reads.
fn unit_state_and_config() -> (std::path::PathBuf, std::path::PathBuf) {
    let state = unit_values("StateDirectory");
    assert_eq!(state.len(), 1, "one StateDirectory= in the unit: {state:?}");
    let exec = unit_values("ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart= in the unit: {exec:?}");
    let words: Vec<&str> = exec[0].split_whitespace().collect();
    assert_eq!(&words[1..3], ["run", "--config"], "{exec:?}");
    (
        std::path::Path::new("/var/lib").join(&state[0]),
        std::path::PathBuf::from(words[3]),
    )
}

/// The shipped probes.toml, installed where the unit reads it, with the environment
/// the unit gives: the database and reports land in `$STATE_DIRECTORY`, never in the
/// configuration's folder (read-only under `ProtectSystem=strict`).
#[test]
fn the_shipped_files_put_the_database_in_the_state_directory() {
    let (state, config_path) = unit_state_and_config();
    assert_eq!(state, std::path::Path::new("/var/lib/slawatch"));
    let text = fs::read_to_string(crate::util::repo_file("probes.toml")).unwrap();
    let state_text = state.to_str().unwrap().to_owned();
    let env = move |k: &str| (k == "STATE_DIRECTORY").then(|| state_text.clone());
    let c = slawatch::config::parse_str(&text, &config_path, &env).unwrap();
    assert_eq!(c.daemon.database, state.join("slawatch.db"));
    assert_eq!(c.daemon.reports_dir, state.join("reports"));
    // Without systemd the same file keeps its evidence next to itself.
    let c = slawatch::config::parse_str(&text, &config_path, &|_| None).unwrap();
    assert_eq!(
        c.daemon.database,
        config_path.parent().unwrap().join("slawatch.db")
    );
}

/// `check-config` says where the database will be, and notes a database that the
/// shipped unit could not write (outside `$STATE_DIRECTORY`).
#[test]
fn check_config_prints_where_the_database_will_be() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = dir.path().join("probes.toml");
    fs::write(&cfg, "[daemon]\nvantage = \"here\"\n").unwrap();
    let out = slawatch()
        .env("STATE_DIRECTORY", &state)
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "\ndatabase: {}\n",
            state.join("slawatch.db").display()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("note:"), "{stdout}");
    fs::write(&cfg, "[daemon]\ndatabase = \"evidence.db\"\n").unwrap();
    let out = slawatch()
        .env("STATE_DIRECTORY", &state)
        .args(["check-config", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!(
            "\ndatabase: {}\n",
            dir.path().join("evidence.db").display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("note: the database is outside $STATE_DIRECTORY"),
        "{stdout}"
    );
}

/// A real start of the shipped files as the unit runs them, as far as this machine
/// allows (PID 1 is not systemd here, so not through systemctl): the `ExecStart=`
/// command line and `Environment=` of the unit, `$STATE_DIRECTORY` as systemd sets
/// it, and the configuration's folder mounted read-only as `ProtectSystem=strict`
/// makes /etc. It runs in its own network namespace (`unshare --net --mount`): the
/// shipped file's hosts are documentation addresses and `.test` names, so nothing
/// may leave the machine (every check fails locally and is unknown). The daemon must
/// start, create its database in the state directory and stop cleanly on SIGTERM.
#[test]
fn the_shipped_files_start_with_a_read_only_configuration_folder() {
    let (_, unit_config) = unit_state_and_config();
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let state = dir.path().join("state");
    fs::create_dir_all(&etc).unwrap();
    fs::create_dir_all(&state).unwrap();
    let config = etc.join(unit_config.file_name().unwrap());
    fs::copy(crate::util::repo_file("probes.toml"), &config).unwrap();
    let exec = unit_values("ExecStart").remove(0);
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(1)
        .map(|w| {
            if std::path::Path::new(w) == unit_config {
                config.to_str().unwrap().to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    let log = dir.path().join("daemon.log");
    let log_file = fs::File::create(&log).unwrap();
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--net", "--mount", "--", "sh", "-c"])
        .arg(
            "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" && \
             shift && exec \"$@\"",
        )
        .arg("sh")
        .arg(&etc)
        .arg(crate::util::slawatch_bin())
        .args(&args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("STATE_DIRECTORY", &state)
        .stdin(std::process::Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    for env in unit_values("Environment") {
        let (k, v) = env.split_once('=').unwrap();
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("unshare (util-linux) runs");
    let db = state.join("slawatch.db");
    let started = std::time::Instant::now();
    while !db.exists() && started.elapsed() < std::time::Duration::from_secs(20) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the daemon exited ({status}):\n{}",
                fs::read_to_string(&log).unwrap()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        db.exists(),
        "no database in the state directory:\n{}",
        fs::read_to_string(&log).unwrap()
    );
    // A few heartbeats, then a clean stop.
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "{}",
        fs::read_to_string(&log).unwrap()
    );
    std::process::Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(!etc.join("slawatch.db").exists());
    let reader = slawatch::store::Reader::open(&db).unwrap();
    drop(reader);
}

#[test]
fn the_example_names_only_test_hosts_and_documentation_addresses() {
    use slawatch::config::{ControlTarget, ProbeSpec};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("probes.toml");
    let c = slawatch::config::load_with_env(&path, &|_| None).unwrap();
    let documentation = |ip: std::net::IpAddr| {
        let s = ip.to_string();
        s.starts_with("192.0.2.") || s.starts_with("198.51.100.") || s.starts_with("203.0.113.")
    };
    let ok = |host: &str| match host.parse::<std::net::IpAddr>() {
        Ok(ip) => documentation(ip),
        Err(_) => host.ends_with(".test"),
    };
    let mut hosts: Vec<String> = c
        .probes
        .iter()
        .filter_map(|p| p.spec.host().map(str::to_owned))
        .collect();
    for p in &c.probes {
        if let ProbeSpec::Dns(d) = &p.spec {
            hosts.push(d.query.clone());
        }
    }
    for ctl in &c.controls {
        match &ctl.target {
            ControlTarget::Tcp { host, .. } | ControlTarget::Resolve(host) => {
                hosts.push(host.clone());
            }
            ControlTarget::Http(url) => hosts.push(
                reqwest::Url::parse(url)
                    .unwrap()
                    .host_str()
                    .unwrap()
                    .to_owned(),
            ),
        }
    }
    assert!(hosts.len() >= 10);
    for h in hosts {
        assert!(
            ok(&h),
            "probes.toml names '{h}', which is neither under .test nor a documentation address"
        );
    }
}

#[test]
fn secrets_never_appear_in_errors_or_debug_prints() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-V4lue-never-printed";
    fs::write(dir.path().join("pw"), format!("{secret}\n")).unwrap();
    // Valid credentials next to an unrelated error, an inline password and a file
    // password: the secret must appear in none of the output.
    let text = format!(
        r#"
[[imap]]
name = "mailbox"
host = "imap.example.test"
username = "probe@example.test"
password_env = "SLAWATCH_TEST_SECRET"

[[pop3]]
name = "pop"
host = "pop.example.test"
username = "probe@example.test"
password_file = "pw"
interval = "soon"

[[smtp]]
name = "smtp"
host = "smtp.example.test"
username = "probe@example.test"
password = "{secret}"
"#
    );
    let path = dir.path().join("probes.toml");
    fs::write(&path, &text).unwrap();
    let out = slawatch()
        .env("SLAWATCH_TEST_SECRET", secret)
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(all.contains("a password is written inline"), "{all}");
    assert!(!all.contains(secret), "the secret leaked: {all}");

    // The library's Debug print of a loaded config hides the values too.
    let valid = text
        .replace(
            &format!("password = \"{secret}\""),
            "password_env = \"SLAWATCH_TEST_SECRET\"",
        )
        .replace("interval = \"soon\"", "");
    let env = |k: &str| (k == "SLAWATCH_TEST_SECRET").then(|| secret.to_owned());
    let config = slawatch::config::parse_str(&valid, &path, &env)
        .expect("valid once the errors are removed");
    let debug = format!("{config:?} {config:#?}");
    assert!(debug.contains("Secret(***)"), "{debug}");
    assert!(
        !debug.contains(secret),
        "the secret leaked in Debug: {debug}"
    );
    let imap = config.probe("mailbox").unwrap();
    match &imap.spec {
        slawatch::config::ProbeSpec::Imap(i) => {
            assert_eq!(
                i.endpoint.credentials.as_ref().unwrap().password.expose(),
                secret
            )
        }
        other => panic!("expected imap, got {other:?}"),
    }
    match &config.probe("pop").unwrap().spec {
        slawatch::config::ProbeSpec::Pop3(p) => {
            assert_eq!(
                p.endpoint.credentials.as_ref().unwrap().password.expose(),
                secret,
                "trailing newline stripped"
            )
        }
        other => panic!("expected pop3, got {other:?}"),
    }
}

#[test]
fn defaults_and_overrides_are_applied() {
    let env = |k: &str| match k {
        "SLAWATCH_TEST_MAILBOX_PASSWORD"
        | "SLAWATCH_TEST_SMTP_PASSWORD"
        | "SLAWATCH_TEST_ALERT_PASSWORD" => Some("x".to_owned()),
        _ => None,
    };
    let path = fixture("config/valid/mail_with_login.toml");
    let c = slawatch::config::load_with_env(&path, &env).unwrap();
    let flow = c.probe("roundtrip").unwrap();
    assert_eq!(flow.schedule.interval, std::time::Duration::from_secs(900));
    assert_eq!(
        flow.schedule.confirm_down, 2,
        "inherited from the built-in default"
    );
    let imap = c.probe("mailbox").unwrap();
    assert_eq!(imap.schedule.interval, std::time::Duration::from_secs(60));
    assert_eq!(c.daemon.vantage, "test-vantage");
    assert_eq!(
        c.daemon.database,
        std::path::PathBuf::from("/var/lib/slawatch/evidence.db")
    );
    assert_eq!(
        c.daemon.metrics_listen,
        Some("127.0.0.1:9187".parse().unwrap())
    );
    match &c.probe("mailbox-pop").unwrap().spec {
        slawatch::config::ProbeSpec::Pop3(p) => {
            assert_eq!(p.endpoint.port, 110, "STARTTLS POP3 defaults to port 110");
            assert_eq!(p.endpoint.tls_mode, slawatch::config::TlsMode::Starttls);
        }
        other => panic!("{other:?}"),
    }
    // With $STATE_DIRECTORY set (systemd) and no database key, the database goes there.
    let env2 = |k: &str| (k == "STATE_DIRECTORY").then(|| "/var/lib/slawatch".to_owned());
    let c2 = slawatch::config::load_with_env(&fixture("config/valid/minimal.toml"), &env2).unwrap();
    assert_eq!(
        c2.daemon.database,
        std::path::PathBuf::from("/var/lib/slawatch/slawatch.db")
    );
    assert_eq!(c2.daemon.schedule, slawatch::config::DEFAULT_SCHEDULE);
}

#[test]
fn alerts_read_the_ca_file_beside_the_config_and_the_webhook_headers() {
    let env = |k: &str| (k == "SLAWATCH_TEST_ALERT_PASSWORD").then(|| "s3cret".to_owned());
    let path = fixture("config/valid/alerts.toml");
    let c = slawatch::config::load_with_env(&path, &env).unwrap();
    let email = c.alerts.email.as_ref().unwrap();
    assert_eq!(
        email.ca_file.as_deref(),
        Some(fixture("config/valid/alerts-ca.pem").as_path())
    );
    assert_eq!(email.password.as_ref().unwrap().expose(), "s3cret");
    assert_eq!(email.to.len(), 2);
    assert_eq!(c.alerts.webhooks.len(), 2);
    assert_eq!(
        c.alerts.webhooks[0].headers,
        vec![(
            "Authorization".to_owned(),
            "Bearer from-the-fixture".to_owned()
        )]
    );
}

#[test]
fn header_values_and_webhook_secrets_come_from_the_environment_or_a_file() {
    let env = |k: &str| match k {
        "SLAWATCH_TEST_API_KEY" => Some("api-key-from-env".to_owned()),
        "SLAWATCH_TEST_WEBHOOK_URL" => Some("https://hooks.example.test/T0KEN".to_owned()),
        "SLAWATCH_TEST_WEBHOOK_SECRET" => Some("webhook-secret-from-env".to_owned()),
        _ => None,
    };
    let c = slawatch::config::load_with_env(&fixture("config/valid/secret_sources.toml"), &env)
        .unwrap();
    let slawatch::config::ProbeSpec::Http(h) = &c.probe("api").unwrap().spec else {
        panic!("expected http");
    };
    assert_eq!(
        h.headers,
        vec![("X-Request-Source".to_owned(), "slawatch".to_owned())]
    );
    let secrets: Vec<(&str, &str)> = h
        .secret_headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.expose()))
        .collect();
    assert_eq!(
        secrets,
        vec![
            ("X-Api-Key", "api-key-from-env"),
            ("Authorization", "Bearer from-a-file")
        ]
    );
    let hooks = &c.alerts.webhooks;
    assert_eq!(hooks[0].url.expose(), "https://hooks.example.test/T0KEN");
    assert_eq!(
        hooks[0].secret.as_ref().unwrap().expose(),
        "signing-secret-from-a-file"
    );
    assert_eq!(hooks[1].url.expose(), "https://hooks.example.test/plain");
    assert_eq!(
        hooks[1].secret.as_ref().unwrap().expose(),
        "webhook-secret-from-env"
    );
    let debug = format!("{c:?}");
    for value in [
        "api-key-from-env",
        "from-a-file",
        "T0KEN",
        "webhook-secret-from-env",
    ] {
        assert!(!debug.contains(value), "{value} leaked in Debug: {debug}");
    }
}

#[test]
fn secret_urls_never_appear_in_config_errors() {
    let out = slawatch()
        .current_dir(fixture("config/invalid"))
        .args(["check-config", "--config", "secret_sources.toml"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("smtp_url 'https://mail.example.test' must start"),
        "{err}"
    );
    for planted in ["PL4NTED", "T0KEN", "alerts:", "user:"] {
        assert!(!err.contains(planted), "{planted} leaked: {err}");
    }
}

#[test]
fn a_debug_print_of_the_alerts_hides_the_smtp_url_password() {
    let text = r#"
[alerts.email]
smtp_url = "smtps://alerts:PL4NTED-pw@mail.example.test:465"
from = "slawatch <alerts@example.test>"
to = ["ops@example.test"]
"#;
    let path = std::path::Path::new("probes.toml");
    let c = slawatch::config::parse_str(text, path, &|_: &str| None).unwrap();
    let debug = format!("{:?}", c.alerts);
    assert!(debug.contains("smtps://mail.example.test:465"), "{debug}");
    assert!(!debug.contains("PL4NTED"), "{debug}");
}

/// A bad configuration does not restart-loop the unit: `slawatch run` as `ExecStart=`
/// runs it exits with a status `RestartPreventExitStatus=` names, and nothing runs
/// before it (a failing `ExecStartPre=` is not covered by that setting). The unit
/// bounds descriptors, memory and tasks.
#[test]
fn the_unit_does_not_restart_a_bad_configuration_and_has_limits() {
    let prevent = unit_values("RestartPreventExitStatus");
    assert_eq!(prevent, ["2"], "RestartPreventExitStatus=2 in the unit");
    assert!(unit_values("ExecStartPre").is_empty());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("probes.toml");
    fs::write(&cfg, "[daemon]\ninterval = \"soon\"\n").unwrap();
    let exec = unit_values("ExecStart").remove(0);
    let words: Vec<&str> = exec.split_whitespace().collect();
    let out = slawatch()
        .args(&words[1..words.len() - 1])
        .arg(&cfg)
        .env("STATE_DIRECTORY", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("probes.toml:2:"));
    assert!(!dir.path().join("slawatch.db").exists());
    for key in ["LimitNOFILE", "MemoryHigh", "MemoryMax", "TasksMax"] {
        assert_eq!(unit_values(key).len(), 1, "{key}= in the unit");
    }
}

/// A `password_file` naming an endless or huge file (`/dev/zero`, a log) is refused
/// with its line and column instead of hanging `check-config` and filling memory.
#[test]
fn an_endless_or_huge_password_file_is_refused_not_read_forever() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("big"), "x".repeat(100 * 1024)).unwrap();
    let text = r#"
[[pop3]]
name = "pop"
host = "pop.example.test"
username = "probe@example.test"
password_file = "/dev/zero"

[[imap]]
name = "imap"
host = "imap.example.test"
username = "probe@example.test"
password_file = "big"
"#;
    let path = dir.path().join("probes.toml");
    fs::write(&path, text).unwrap();
    let out = slawatch()
        .args(["check-config", "--config"])
        .arg(&path)
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("probes.toml:6:17: password_file '/dev/zero'"),
        "{err}"
    );
    assert!(err.contains("probes.toml:12:"), "{err}");
    assert_eq!(err.matches("too much for a secret").count(), 2, "{err}");
}
