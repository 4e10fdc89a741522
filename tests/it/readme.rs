//! The README's set-up commands are what CI runs: `scripts/readme-commands.sh` reads
//! them from the README (never a copy), checks that the second is the script `.ci/run`
//! calls, and runs the first in a fresh clone; `scripts/test.sh` ends by calling it.
//! The README's install lines are the unit's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::repo_file;

fn readme_commands(args: &[&str]) -> Output {
    Command::new(repo_file("scripts/readme-commands.sh"))
        .args(args)
        .output()
        .expect("scripts/readme-commands.sh runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The README with its set-up block's text `from` replaced by `to`, in `dir`.
fn edited_readme(dir: &Path, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let block = text.find("## Set-up: two commands").unwrap();
    let (head, tail) = text.split_at(block);
    assert!(
        tail.contains(from),
        "the README's set-up section has {from:?}"
    );
    let path = dir.join("README.md");
    std::fs::write(&path, format!("{head}{}", tail.replacen(from, to, 1))).unwrap();
    path
}

/// The README's set-up commands, as the script reads them.
fn setup_commands() -> Vec<String> {
    let out = readme_commands(&["--check-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// The newcomer's first command is the demo; the second, the whole test suite.
#[test]
fn the_readme_setup_commands_are_the_demo_then_the_test_script() {
    assert_eq!(
        setup_commands(),
        ["cargo run --release -- demo", "./scripts/test.sh"]
    );
}

/// CI (`.ci/run`) runs the README's second command, and that script ends by running
/// the README's commands in a fresh clone (not `--check-only`).
#[test]
fn ci_runs_the_readme_test_command_which_runs_the_readme_commands() {
    let commands = setup_commands();
    let ci = std::fs::read_to_string(repo_file(".ci/run")).unwrap();
    let ci_commands: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !l.starts_with("set ") && !l.starts_with("cd "))
        .collect();
    assert_eq!(ci_commands, [commands[1].as_str()], "{ci}");
    let script = commands[1].strip_prefix("./").unwrap();
    let test_sh = std::fs::read_to_string(repo_file(script)).unwrap();
    let steps: Vec<&str> = test_sh
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with([' ', '#', '\t']))
        .collect();
    let tests = steps.iter().position(|s| *s == "cargo test --locked");
    assert!(tests.is_some(), "{script} runs the tests: {steps:?}");
    assert_eq!(
        steps.last(),
        Some(&"./scripts/readme-commands.sh"),
        "{script} ends with the README's commands in a fresh clone, after the tests"
    );
}

/// The script reads the README each time: an edited command is what it prints, a
/// continuation line joined, comment lines and a trailing comment dropped.
#[test]
fn readme_commands_follow_an_edited_readme() {
    let dir = tempfile::tempdir().unwrap();
    let readme = edited_readme(
        dir.path(),
        "cargo run --release -- demo\n",
        "cargo run --release -- \\\n    demo --dir elsewhere   # a comment line follows\n# not a command\n",
    );
    let out = readme_commands(&["--readme", readme.to_str().unwrap(), "--check-only"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "cargo run --release -- demo --dir elsewhere\n./scripts/test.sh\n"
    );
}

/// A README whose set-up block CI could not run as documented is refused, naming the
/// file and line and what to write.
#[test]
fn readme_commands_refuse_a_setup_block_ci_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let line_of = |readme: &Path, text: &str| {
        1 + std::fs::read_to_string(readme)
            .unwrap()
            .lines()
            .position(|l| l == text)
            .unwrap()
    };
    let cases = [
        (
            "./scripts/test.sh\n",
            "./scripts/test.sh --quick\n",
            "./scripts/test.sh --quick",
            "the second set-up command is './scripts/test.sh --quick': write ./scripts/test.sh",
        ),
        (
            "./scripts/test.sh\n",
            "./scripts/test.sh\nmake install\n",
            "cargo run --release -- demo",
            "the set-up block holds 3 commands, not 2",
        ),
        (
            "## Set-up: two commands\n",
            "## Set-up in two commands\n",
            "",
            "no ```sh block under \"## Set-up: two commands\"",
        ),
    ];
    for (from, to, at, says) in cases {
        let readme = edited_readme(dir.path(), from, to);
        let out = readme_commands(&["--readme", readme.to_str().unwrap(), "--check-only"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{to:?}: {err}");
        let line = if at.is_empty() {
            1
        } else {
            line_of(&readme, at)
        };
        let want = format!("{}:{line}: {says}", readme.display());
        assert!(err.contains(&want), "{to:?}: wanted {want:?} in {err:?}");
        assert_eq!(stdout(&out), "", "nothing printed for CI to run");
    }
}

/// The run mode runs the first command in a fresh clone of HEAD with `--fast`
/// appended and checks what it wrote: here the README's first command is replaced by
/// one that proves where it runs and writes (or fails to write) the demo's files.
#[test]
fn readme_commands_run_the_first_in_a_fresh_clone_and_check_its_reports() {
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo_file(""))
        .output()
        .unwrap();
    let head = stdout(&head).trim().to_owned();
    assert_eq!(head.len(), 40, "a git checkout");
    let fresh = format!(
        "test \"$(git rev-parse HEAD)\" = {head} && test -f Cargo.toml && test ! -e target \
         && test \"$(pwd)\" != {} && mkdir -p slawatch-demo/reports",
        repo_file("").display()
    );
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            // The JSON report is written only if `--fast` was appended.
            format!(
                "{fresh} && touch slawatch-demo/probes.toml slawatch-demo/reports/r.html \
                 && sh -c 'test \"$0\" = --fast && touch slawatch-demo/reports/r.json'"
            ),
            0,
            "ok: it exited 0 and wrote slawatch-demo/ with its reports",
        ),
        (
            format!("{fresh} && touch slawatch-demo/probes.toml && echo"),
            1,
            "--fast' exited 0 but did not write an HTML report, a JSON report",
        ),
        (
            format!("{fresh} && false"),
            1,
            "the README's first command failed in a fresh clone",
        ),
    ];
    for (command, code, says) in cases {
        let readme = edited_readme(dir.path(), "cargo run --release -- demo", &command);
        let out = readme_commands(&["--readme", readme.to_str().unwrap()]);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(code), "{command}:\n{text}");
        assert!(
            text.contains(says),
            "{command}: wanted {says:?} in:\n{text}"
        );
    }
}

/// The README installs exactly as the unit's header says (each `Install:` line, with
/// `sudo`), in its "Run it under systemd" block.
#[test]
fn the_readme_installs_as_the_unit_header_says() {
    let unit = std::fs::read_to_string(repo_file("systemd/slawatch.service")).unwrap();
    let mut install = Vec::new();
    let mut inside = false;
    for l in unit.lines() {
        if let Some(first) = l.strip_prefix("# Install:") {
            inside = true;
            install.push(first.trim().to_owned());
        } else if inside && let Some(more) = l.strip_prefix("#   ") {
            install.push(more.trim().to_owned());
        } else if inside {
            break;
        }
    }
    assert!(install.len() >= 4, "{install:?}");
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let section = readme
        .split("### Run it under systemd")
        .nth(1)
        .expect("a \"Run it under systemd\" section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("an sh block in it");
    let lines: Vec<&str> = block.lines().collect();
    for step in &install {
        let sudo = step
            .split(" && ")
            .map(|c| format!("sudo {c}"))
            .collect::<Vec<_>>()
            .join(" && ");
        assert!(
            lines.contains(&sudo.as_str()),
            "the README lacks {sudo:?}:\n{block}"
        );
    }
}
