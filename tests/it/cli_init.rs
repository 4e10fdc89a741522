//! The newcomer's commands: `slawatch init` (a starter probes.toml that passes
//! check-config), shell completions and the man page generated from the CLI, `--help`
//! that has an example everywhere, and a repository whose links all resolve.

use crate::util::{repo_file, slawatch};
use std::collections::BTreeSet;
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

/// Whether TOKEN names a file of the repository rather than one of the user's: it sits
/// under a top-level directory of the repository, or is a capitalised Markdown file.
fn is_repo_path(token: &str) -> bool {
    const ROOTS: [&str; 8] = [
        "docs/",
        "systemd/",
        "examples/",
        "tests/",
        "src/",
        "scripts/",
        "benches/",
        "fuzz/",
    ];
    let name = token.rsplit('/').next().unwrap_or(token);
    let stem = name.split('.').next().unwrap_or(name);
    let capitals = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
    };
    // A pattern (`fuzz/corpus/*/`) or a placeholder in any segment
    // (`src/cli/<subcommand>.rs`, `tests/fixtures/config/invalid/NAME.toml`,
    // `fuzz/corpus/TARGET/`) names no one file.
    let placeholder = token.split('/').any(|seg| {
        let seg_stem = seg.split('.').next().unwrap_or(seg);
        capitals(seg_stem) && !seg.ends_with(".md")
    });
    let pattern = token.contains(['*', '<', '{']) || placeholder;
    !pattern
        && (ROOTS.iter().any(|r| token.starts_with(r)) || (name.ends_with(".md") && capitals(stem)))
}

/// The anchors GitHub gives the headings of a Markdown text (outside code blocks).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for l in markdown.lines() {
        if l.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && l.starts_with('#') {
            let title = l.trim_start_matches('#').trim().to_lowercase();
            let slug: String = title
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            out.insert(slug);
        }
    }
    out
}

/// Path-like tokens of TEXT: words of letters, digits and `._/-`, trailing dots cut.
fn path_tokens(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "._/-".contains(c)))
        .map(|t| t.trim_end_matches('.'))
        .filter(|t| t.contains('/') || t.ends_with(".md"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_link_and_path_in_readme_docs_and_help_resolves() {
    let root = repo_file("");
    let mut docs = vec![repo_file("README.md"), repo_file("ARCHITECTURE.md")];
    for e in std::fs::read_dir(repo_file("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            docs.push(p);
        }
    }
    assert!(
        docs.iter().any(|d| d.ends_with("docs/plans.md")),
        "{docs:?}"
    );
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let code = regex::Regex::new(r"`([^`\s]+)`").unwrap();
    let mut broken = Vec::new();
    let mut links = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        let shown = doc.strip_prefix(&root).unwrap().display().to_string();
        for c in link.captures_iter(&text) {
            let target = &c[1];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            links += 1;
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(file)
            };
            if !path.exists() {
                broken.push(format!("{shown}: link {target}"));
            } else if !anchor.is_empty()
                && !anchors(&std::fs::read_to_string(&path).unwrap()).contains(anchor)
            {
                broken.push(format!("{shown}: link {target}: no such heading"));
            }
        }
        // A path written as code (`docs/plans.md`) must be there too.
        for c in code.captures_iter(&text) {
            let t = c[1].trim_end_matches(['.', ',', ':']);
            if is_repo_path(t) && !root.join(t).exists() {
                broken.push(format!("{shown}: path {t}"));
            }
        }
    }
    assert!(links >= 8, "only {links} relative links found");
    let mut mentioned = 0;
    for (path, text) in every_help() {
        for t in path_tokens(&text) {
            if is_repo_path(&t) {
                mentioned += 1;
                if !root.join(&t).exists() {
                    broken.push(format!("slawatch {} --help: {t}", path.join(" ")));
                }
            }
        }
    }
    assert!(
        mentioned >= 2,
        "--help mentions {mentioned} repository paths"
    );
    assert!(broken.is_empty(), "not in the repository: {broken:#?}");
}

#[test]
fn every_example_of_docs_plans_md_is_a_valid_configuration() {
    let text = std::fs::read_to_string(repo_file("docs/plans.md")).unwrap();
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for l in text.lines() {
        match (&mut block, l) {
            (None, "```toml") => block = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                block = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    let ids: Vec<String> = blocks
        .iter()
        .flat_map(|b| b.lines())
        .filter_map(|l| l.strip_prefix("id = \""))
        .map(|l| l.trim_end_matches('"').to_owned())
        .collect();
    assert!(blocks.len() >= 12, "{} toml examples", blocks.len());
    // All examples together, with the two probes the contract example names, form one
    // configuration that check-config accepts.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plans.toml");
    let probes = "[[http]]\nname = \"shop-home\"\nurl = \"https://shop.example.test/\"\n\n\
                  [[http]]\nname = \"shop-health\"\nurl = \"https://shop.example.test/health\"\n\n";
    std::fs::write(&file, format!("{probes}{}", blocks.join("\n"))).unwrap();
    let ok = check_config(&file);
    assert!(ok.contains("1 contract"), "{ok}");
    let out = slawatch()
        .args(["plans", "--plans"])
        .arg(&file)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8(out).unwrap();
    // The reading the page quotes for its first plan is the one `plans` prints.
    let first = listed
        .lines()
        .find(|l| l.starts_with("hosting-pro "))
        .unwrap();
    let reading = first.trim_start_matches("hosting-pro").trim();
    assert!(
        text.replace('\n', " ").contains(reading),
        "docs/plans.md does not quote {reading:?}"
    );
    for id in ids.iter().filter(|id| *id != "shop") {
        assert!(
            listed.lines().any(|l| l.starts_with(&format!("{id} "))),
            "{id} not listed:\n{listed}"
        );
    }
}
