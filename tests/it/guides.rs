//! The four user guides (`docs/guide-*.md`) run as they are written, so what they
//! quote never drifts from what slawatch prints.
//!
//! Each guide's files (`docs/guides/NAME.toml` and every `docs/guides/NAME-*` file it
//! uses) are copied into a temporary folder, which stands for the reader's folder the
//! guide names in `<!-- folder: ~/shop -->`. Then, in the guide's order:
//!
//! - `<!-- env: NAME=VALUE -->` sets a variable for the commands that follow (a
//!   password the guide tells the reader to export);
//! - `<!-- output: slawatch ARGS -->` runs that command in the folder; it must succeed,
//!   and its standard output followed by its standard error must equal the fenced block
//!   that follows the marker, after normalising (below). The command must also be one
//!   the guide shows in a `sh` block, so the reader runs what the test runs;
//! - `<!-- excerpt: PATH -->`: the fenced block that follows must be consecutive lines
//!   of the file PATH (relative to the folder) as the commands above wrote it (CSV
//!   files' CRLF line ends read as LF).
//!
//! Normalising, the only things that depend on the day and the machine: the temporary
//! folder's path is replaced by the guide's folder; the claim deadline's state, which a
//! report judges at the moment it is generated ("SOON: last day 30 November 2026 (4
//! days left)", "PASSED: the last day was ..."), is reduced to its last day on both
//! sides ("last day 30 November 2026"); and the hash chain's head, which seals the
//! moment each record was stored, is reduced to "head <sha256>" on both sides. Letters
//! carry their `--date`, so they need nothing.

use crate::util::{repo_file, slawatch};

const GUIDES: [&str; 4] = ["shop-owner", "it-admin", "consumer-association", "provider"];

/// One marked block of a guide.
#[derive(Debug)]
enum Step {
    Env(String, String),
    Output {
        line: usize,
        args: Vec<String>,
        expected: String,
        /// The block's first and past-the-last line (0-based), to bless.
        body: (usize, usize),
    },
    Excerpt {
        line: usize,
        path: String,
        expected: String,
    },
}

/// A guide's folder (`<!-- folder: ... -->`), its marked steps, and the commands of
/// its `sh` blocks (continuation lines joined, spaces collapsed).
struct Guide {
    folder: String,
    steps: Vec<Step>,
    shown: Vec<String>,
}

/// Words as a shell splits them: spaces separate, single and double quotes group.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut quote: Option<char> = None;
    for ch in s.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse(name: &str, text: &str) -> Guide {
    let lines: Vec<&str> = text.lines().collect();
    let mut folder = None;
    let mut steps = Vec::new();
    let mut shown = Vec::new();
    // The fenced block that starts after line `i`: (its text, the line after it).
    let block = |i: usize| -> (String, usize) {
        let mut j = i + 1;
        while j < lines.len() && lines[j].trim().is_empty() {
            j += 1;
        }
        assert!(
            j < lines.len() && lines[j].starts_with("```"),
            "docs/guide-{name}.md:{}: a marker must be followed by a fenced block",
            i + 1
        );
        let mut body = Vec::new();
        j += 1;
        while j < lines.len() && !lines[j].starts_with("```") {
            body.push(lines[j]);
            j += 1;
        }
        assert!(
            j < lines.len(),
            "docs/guide-{name}.md:{}: unclosed block",
            i + 1
        );
        (body.join("\n") + "\n", j + 1)
    };
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        if l == "```sh" {
            let (body, next) = block(i - 1);
            let mut cmd = String::new();
            for b in body.lines() {
                let b = b.split(" # ").next().unwrap_or("").trim();
                if b.starts_with('#') {
                    continue;
                }
                match b.strip_suffix('\\') {
                    Some(part) => {
                        cmd.push_str(part);
                        cmd.push(' ');
                    }
                    None => {
                        cmd.push_str(b);
                        shown.push(words(&cmd).join(" "));
                        cmd.clear();
                    }
                }
            }
            i = next;
            continue;
        }
        let Some(marker) = l
            .strip_prefix("<!--")
            .and_then(|m| m.strip_suffix("-->"))
            .map(str::trim)
        else {
            i += 1;
            continue;
        };
        if let Some(f) = marker.strip_prefix("folder:") {
            folder = Some(f.trim().to_owned());
        } else if let Some(e) = marker.strip_prefix("env:") {
            let (k, v) = e.trim().split_once('=').expect("env: NAME=VALUE");
            steps.push(Step::Env(k.to_owned(), v.to_owned()));
        } else if let Some(c) = marker.strip_prefix("output:") {
            let args = words(c);
            assert_eq!(
                args.first().map(String::as_str),
                Some("slawatch"),
                "docs/guide-{name}.md:{}",
                i + 1
            );
            let (expected, next) = block(i);
            steps.push(Step::Output {
                line: i + 1,
                args: args[1..].to_vec(),
                body: (next - 1 - expected.lines().count(), next - 1),
                expected,
            });
            i = next;
            continue;
        } else if let Some(p) = marker.strip_prefix("excerpt:") {
            let (expected, next) = block(i);
            steps.push(Step::Excerpt {
                line: i + 1,
                path: p.trim().to_owned(),
                expected,
            });
            i = next;
            continue;
        }
        i += 1;
    }
    Guide {
        folder: folder
            .unwrap_or_else(|| panic!("docs/guide-{name}.md: no <!-- folder: ... --> marker")),
        steps,
        shown,
    }
}

/// The claim deadline's state, judged when the report is generated, reduced to the
/// last day it names: the same on the day the guide was written and on any later day.
fn normalise(s: &str) -> String {
    let re = regex::Regex::new(
        r"(?:SOON: )?last day ([^()\n]+?) \((?:\d+ days? left|today is the last day)\)|PASSED: the last day was ([^\n]+)",
    )
    .unwrap();
    re.replace_all(s, |c: &regex::Captures| {
        format!("last day {}", c.get(1).or(c.get(2)).unwrap().as_str())
    })
    .into_owned()
}

/// The hash chain's head (`slawatch verify`) seals the moment each row was stored.
fn normalise_head(s: &str) -> String {
    regex::Regex::new(r"head [0-9a-f]{64}")
        .unwrap()
        .replace_all(s, "head <sha256>")
        .into_owned()
}

/// Runs one guide in a temporary folder and checks every marked block.
fn run_guide(name: &str) {
    let text = std::fs::read_to_string(repo_file(&format!("docs/guide-{name}.md"))).unwrap();
    run_guide_text(name, &text, &repo_file("docs/guides"));
}

/// Runs the guide `text` with its files from `files` (`NAME.toml`, `NAME-*`).
fn run_guide_text(name: &str, text: &str, files: &std::path::Path) {
    let guide = parse(name, text);
    let dir = tempfile::tempdir().unwrap();
    let mut copied = 0;
    for e in std::fs::read_dir(files).unwrap() {
        let e = e.unwrap();
        let f = e.file_name().to_string_lossy().into_owned();
        if f == format!("{name}.toml") || f.starts_with(&format!("{name}-")) {
            std::fs::copy(e.path(), dir.path().join(&f)).unwrap();
            copied += 1;
        }
    }
    assert!(copied > 0, "no docs/guides/{name}.toml");
    let outputs = guide
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Output { .. }))
        .count();
    assert!(
        outputs >= 2,
        "docs/guide-{name}.md quotes {outputs} outputs: a guide shows its commands' output"
    );
    let real = dir.path().canonicalize().unwrap();
    let mut env: Vec<(String, String)> = Vec::new();
    // GUIDES_BLESS=1 rewrites the quoted outputs with what slawatch prints (then read
    // the diff: the guide's words around them may need to change too).
    let bless = std::env::var_os("GUIDES_BLESS").is_some();
    let mut blessed: Vec<((usize, usize), String)> = Vec::new();
    for step in &guide.steps {
        match step {
            Step::Env(k, v) => env.push((k.clone(), v.clone())),
            Step::Output {
                line,
                args,
                expected,
                body,
            } => {
                let cmd = format!("slawatch {}", args.join(" "));
                assert!(
                    guide.shown.contains(&cmd),
                    "docs/guide-{name}.md:{line}: `{cmd}` is not in any sh block of the guide; shown: {:#?}",
                    guide.shown
                );
                let out = slawatch()
                    .args(args)
                    .current_dir(&real)
                    .env_remove("SLAWATCH_CONFIG")
                    .env_remove("SLAWATCH_DATABASE")
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .output()
                    .unwrap();
                let printed = String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr);
                assert!(
                    out.status.success(),
                    "docs/guide-{name}.md:{line}: `{cmd}` failed:\n{printed}"
                );
                let printed = printed
                    .replace(&real.display().to_string(), &guide.folder)
                    .replace(&dir.path().display().to_string(), &guide.folder);
                if bless {
                    blessed.push((*body, printed));
                    continue;
                }
                similar_asserts(
                    &normalise_head(&normalise(expected)),
                    &normalise_head(&normalise(&printed)),
                    &format!("docs/guide-{name}.md:{line}: the output of `{cmd}` drifted"),
                );
            }
            Step::Excerpt {
                line,
                path,
                expected,
            } => {
                // CSV files end their lines with CRLF (RFC 4180); a guide shows lines.
                let file = std::fs::read_to_string(real.join(path))
                    .unwrap_or_else(|e| {
                        panic!("docs/guide-{name}.md:{line}: {path} was not written: {e}")
                    })
                    .replace("\r\n", "\n");
                if bless {
                    eprintln!("--- {path}:\n{file}");
                    continue;
                }
                assert!(
                    file.contains(expected.as_str()),
                    "docs/guide-{name}.md:{line}: the excerpt of {path} is not in it any more; it reads:\n{file}"
                );
            }
        }
    }
    if bless {
        let path = repo_file(&format!("docs/guide-{name}.md"));
        std::fs::write(&path, rewrite(text, &blessed)).unwrap();
        panic!("docs/guide-{name}.md blessed: unset GUIDES_BLESS and run again");
    }
}

/// The guide with the quoted blocks at `blocks` replaced.
fn rewrite(text: &str, blocks: &[((usize, usize), String)]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    for ((from, to), new) in blocks {
        for l in &lines[i..*from] {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str(new);
        i = *to;
    }
    for l in &lines[i..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// `assert_eq!` with the two texts printed whole, line by line.
fn similar_asserts(expected: &str, actual: &str, what: &str) {
    if expected != actual {
        panic!("{what}\n--- the guide quotes:\n{expected}--- slawatch prints:\n{actual}");
    }
}

#[test]
fn guides_configurations_pass_check_config() {
    let host = regex::Regex::new(
        r#"(?m)^(?:url|host|target|query|tcp|resolve|smtp_url) = "(?:[a-z]+://)?([^/:"]+)"#,
    )
    .unwrap();
    for name in GUIDES {
        let path = repo_file(&format!("docs/guides/{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        // Only .test host names (and loopback) in a guide's configuration.
        let mut hosts = 0;
        for c in host.captures_iter(&text) {
            hosts += 1;
            let h = &c[1];
            assert!(
                h.ends_with(".test") || h == "127.0.0.1" || h == "::1",
                "{name}.toml names {h}: a guide uses .test host names only"
            );
        }
        // The association's guide probes nothing: its members' evidence is recorded.
        assert!(
            hosts > 0 || name == "consumer-association",
            "{name}.toml: no host name found to check"
        );
        // The variables the guide tells the reader to export.
        let guide = std::fs::read_to_string(repo_file(&format!("docs/guide-{name}.md"))).unwrap();
        let env: Vec<(String, String)> = parse(name, &guide)
            .steps
            .into_iter()
            .filter_map(|s| match s {
                Step::Env(k, v) => Some((k, v)),
                _ => None,
            })
            .collect();
        let out = slawatch()
            .arg("check-config")
            .arg("--config")
            .arg(&path)
            .envs(env)
            .env_remove("SLAWATCH_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}.toml: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn guides_shop_owner_output_is_what_slawatch_prints() {
    run_guide("shop-owner");
}

#[test]
fn guides_it_admin_output_is_what_slawatch_prints() {
    run_guide("it-admin");
}

#[test]
fn guides_consumer_association_output_is_what_slawatch_prints() {
    run_guide("consumer-association");
}

#[test]
fn guides_provider_output_is_what_slawatch_prints() {
    run_guide("provider");
}

#[test]
fn guides_normalising_keeps_the_last_day_and_a_drift_or_an_unshown_command_is_caught() {
    let soon = "  claim by          SOON: last day 30 November 2026 (4 days left)\n";
    let open = "  claim by          last day 30 November 2026 (25 days left)\n";
    let passed = "  claim by          PASSED: the last day was 30 November 2026\n";
    assert_eq!(normalise(soon), normalise(open));
    assert_eq!(normalise(soon), normalise(passed));
    assert_ne!(
        normalise(soon),
        normalise(&soon.replace("30 November", "1 December"))
    );
    // A guide whose quoted output differs from the command's is refused.
    let g = parse(
        "test",
        "<!-- folder: ~/x -->\n```sh\nslawatch plans --plans a.toml\n```\n<!-- output: slawatch plans --plans a.toml -->\n```text\nsomething else\n```\n",
    );
    assert_eq!(g.shown, ["slawatch plans --plans a.toml"]);
    assert!(matches!(&g.steps[0], Step::Output { args, expected, .. }
        if args == &["plans", "--plans", "a.toml"] && expected == "something else\n"));
    let files = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_file("docs/guides/provider.toml"),
        files.path().join("drift.toml"),
    )
    .unwrap();
    let out = slawatch()
        .args(["plans", "--plans"])
        .arg(files.path().join("drift.toml"))
        .output()
        .unwrap();
    let right = String::from_utf8(out.stdout).unwrap();
    assert!(right.contains("hosting-pro"), "{right}");
    let guide = |quoted: &str| {
        format!(
            "<!-- folder: ~/x -->\n```sh\nslawatch plans --plans drift.toml\n```\n\
             <!-- output: slawatch plans --plans drift.toml -->\n```text\n{quoted}```\n\
             <!-- output: slawatch check-config --config drift.toml -->\n```text\nx\n```\n"
        )
    };
    // The right output passes as far as the next (unshown) command, which is refused.
    let first = std::panic::catch_unwind(|| run_guide_text("drift", &guide(&right), files.path()));
    let why = *first.unwrap_err().downcast::<String>().unwrap();
    assert!(why.contains("is not in any sh block"), "{why}");
    // One changed figure is a drift.
    let wrong = right.replace("99.9", "99.8");
    assert_ne!(wrong, right);
    let second = std::panic::catch_unwind(|| run_guide_text("drift", &guide(&wrong), files.path()));
    let why = *second.unwrap_err().downcast::<String>().unwrap();
    assert!(why.contains("drifted"), "{why}");
}
