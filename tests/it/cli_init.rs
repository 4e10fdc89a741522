//! The newcomer's commands: `slawatch init` (a starter probes.toml that passes
//! check-config), shell completions and the man page generated from the CLI, `--help`
//! that has an example everywhere.

use crate::util::slawatch;
use std::path::Path;

/// `slawatch init ARGS --out DIR/NAME`, asserting exit 0; returns the file's text.
fn init(dir: &Path, name: &str, args: &[&str]) -> String {
    let out = dir.join(name);
    slawatch()
        .arg("init")
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    std::fs::read_to_string(&out).unwrap()
}

/// `slawatch check-config` on FILE with the mailbox password in the environment.
fn check_config(file: &Path) -> String {
    let out = slawatch()
        .args(["check-config", "--config"])
        .arg(file)
        .env("INIT_TEST_MAILBOX_PASSWORD", "s3cret-in-env")
        .env_remove("STATE_DIRECTORY")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn init_output_passes_check_config_for_several_flag_combinations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mailbox.password"), "s3cret-in-file\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--site", "https://shop.example.test/"],
            "1 probe (http 1)",
        ),
        (
            &[
                "--site",
                "https://shop.example.test/",
                "--imap",
                "mail.example.test",
                "--smtp",
                "smtp.example.test",
                "--user",
                "probe@example.test",
                "--password-env",
                "INIT_TEST_MAILBOX_PASSWORD",
                "--provider",
                "Example \"Hosting\" S.p.A.",
                "--plan",
                "hosting-pro",
                "--target",
                "99.95",
                "--fee",
                "9.99",
                "--timezone",
                "Europe/Rome",
            ],
            "3 probes (http 1, imap 1, smtp 1)",
        ),
        (
            &[
                "--imap",
                "mail.example.test:143",
                "--user",
                "probe@example.test",
                "--password-file",
                "mailbox.password",
                "--currency",
                "USD",
                "--target",
                "90",
            ],
            "1 probe (imap 1)",
        ),
        (
            &[
                "--smtp",
                "smtp.example.test:465",
                "--site",
                "http://a.example.test/",
                "--site",
                "https://b.example.test/x?y=1",
            ],
            "3 probes (http 2, smtp 1)",
        ),
        (
            &["--imap", "mail.example.test", "--smtp", "smtp.example.test"],
            "2 probes (imap 1, smtp 1)",
        ),
    ];
    for (i, (args, summary)) in cases.iter().enumerate() {
        let name = format!("probes-{i}.toml");
        let text = init(dir.path(), &name, args);
        let ok = check_config(&dir.path().join(&name));
        assert!(ok.contains(summary), "{args:?}: {ok}\n{text}");
        assert!(ok.contains("1 plan"), "{args:?}: {ok}");
        // The secret is named, never written; the comments say what to do next.
        assert!(!text.contains("s3cret"), "{text}");
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("password =")),
            "{text}"
        );
        assert!(text.contains("slawatch check-config --config"), "{text}");
        assert!(text.contains("systemd"), "{text}");
        assert!(text.contains("docs/plans.md"), "{text}");
    }
}

#[test]
fn init_mailflow_block_is_valid_once_uncommented() {
    let dir = tempfile::tempdir().unwrap();
    let text = init(
        dir.path(),
        "probes.toml",
        &[
            "--imap",
            "mail.example.test",
            "--smtp",
            "smtp.example.test",
            "--user",
            "probe@example.test",
            "--password-env",
            "INIT_TEST_MAILBOX_PASSWORD",
        ],
    );
    let mut inside = false;
    let mut lines = Vec::new();
    for l in text.lines() {
        if l == "# [[mailflow]]" {
            inside = true;
        } else if !l.starts_with("# ") {
            inside = false;
        }
        lines.push(if inside {
            l.trim_start_matches("# ")
        } else {
            l
        });
    }
    assert!(lines.contains(&"[[mailflow]]"), "{text}");
    let file = dir.path().join("uncommented.toml");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let ok = check_config(&file);
    assert!(ok.contains("mailflow 1"), "{ok}");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probes.toml");
    std::fs::write(&file, "# mine\n").unwrap();
    slawatch()
        .args(["init", "--site", "https://shop.example.test/", "--out"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    slawatch()
        .args([
            "init",
            "--site",
            "https://shop.example.test/",
            "--force",
            "--out",
        ])
        .arg(&file)
        .assert()
        .code(0);
    assert!(std::fs::read_to_string(&file).unwrap().contains("[[http]]"));
}

#[test]
fn init_bad_flags_say_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("probes.toml");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--site", "shop.example.test"],
            "https://shop.example.test/",
        ),
        (&["--imap", "mail.example.test:99999"], "HOST:PORT"),
        (
            &["--site", "https://a.test/", "--plan", "My Plan"],
            "lower-case",
        ),
        (&["--site", "https://a.test/", "--fee", "ten"], "9.99"),
        (&["--site", "https://a.test/", "--currency", "eur"], "EUR"),
        (
            &["--site", "https://a.test/", "--timezone", "Rome"],
            "Europe/Rome",
        ),
        (
            &[
                "--imap",
                "m.test",
                "--user",
                "u",
                "--password-env",
                "MY-PASS",
            ],
            "MAILBOX_PASSWORD",
        ),
        // A login needs a password source, and a password source a login.
        (&["--imap", "m.test", "--user", "u"], "--password"),
        (&["--imap", "m.test", "--password-env", "P"], "--user"),
        // Nothing to watch.
        (&["--provider", "X"], "--site"),
    ];
    for (args, hint) in cases {
        slawatch()
            .arg("init")
            .args(*args)
            .arg("--out")
            .arg(&file)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(*hint));
        assert!(!file.exists(), "{args:?} wrote a file");
    }
}

/// The subcommands `slawatch [PARENT] --help` lists, without `help`.
fn subcommands(parent: &[&str]) -> Vec<String> {
    let out = slawatch()
        .args(parent)
        .arg("--help")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    out.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // Wrapped descriptions continue further in.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path (`[]`, `["init"]`, `["incident", "add"]`...) and its --help text.
fn every_help() -> Vec<(Vec<String>, String)> {
    let mut todo = vec![Vec::<String>::new()];
    let mut all = Vec::new();
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        for sub in subcommands(&args) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        let out = slawatch()
            .args(&args)
            .arg("--help")
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        all.push((path, String::from_utf8(out).unwrap()));
    }
    all
}

#[test]
fn every_subcommand_help_has_an_example() {
    let helps = every_help();
    assert!(helps.len() > 15, "{} commands", helps.len());
    let mut missing = Vec::new();
    for (path, text) in &helps {
        // An example is a line that runs this very command.
        let invocation = format!("slawatch {}", path.join(" "));
        let has = text
            .lines()
            .any(|l| l.trim_start().starts_with(invocation.trim_end()));
        if !(has && (path.is_empty() || text.contains("Example"))) {
            missing.push(invocation);
        }
    }
    assert!(missing.is_empty(), "no example in --help of {missing:?}");
}

#[test]
fn each_shell_completion_mentions_every_subcommand() {
    let mut commands = subcommands(&[]);
    commands.extend(subcommands(&["incident"]));
    assert!(commands.contains(&"init".to_owned()), "{commands:?}");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = slawatch()
            .args(["completions", shell])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let script = String::from_utf8(out).unwrap();
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell}: no {c}");
        }
    }
    slawatch()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("bash"));
}

#[test]
fn man_page_renders_with_every_subcommand() {
    let commands = subcommands(&[]);
    let out = slawatch()
        .arg("man")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let roff = String::from_utf8(out).unwrap();
    assert!(roff.contains(".TH slawatch 1"), "{roff}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(roff.contains(section), "no {section}");
    }
    let dir = tempfile::tempdir().unwrap();
    slawatch()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    for c in &commands {
        let page = dir.path().join(format!("slawatch-{c}.1"));
        assert!(page.is_file(), "no {}", page.display());
    }
    assert!(dir.path().join("slawatch-incident-add.1").is_file());
    // man(1) where installed: the page renders, examples included.
    if let Ok(out) = std::process::Command::new("man")
        .arg("-l")
        .arg(dir.path().join("slawatch-init.1"))
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("NAME"), "{text}");
        assert!(text.contains("--password-env"), "{text}");
        assert!(text.contains("Examples:"), "{text}");
    }
    slawatch()
        .args(["man", "--out"])
        .arg(dir.path().join("absent/dir"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("absent/dir"));
}
