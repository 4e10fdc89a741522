//! Tidy: the source tree read as text (as rust-analyzer's `tidy` test does), checked
//! against what ARCHITECTURE.md states: which modules are pure, who imports whom, and
//! that every file and `module::item` it cites exists. One table of rules; a known
//! violation is listed with the issue item that removes it, and the test fails when
//! the violation is gone but still listed, so the list only shrinks.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// One rule of ARCHITECTURE.md over part of `src/`.
struct Rule {
    /// The invariant checked, as ARCHITECTURE.md states it.
    invariant: &'static str,
    /// Directories (every `.rs` below) or files, relative to the crate root.
    scope: &'static [&'static str],
    /// Paths inside the scope the rule does not cover.
    except: &'static [&'static str],
    /// Crate modules the files must not import (`crate::m`, `crate::{m, ..}`).
    no_import: &'static [&'static str],
    /// Text the files must not hold outside comments and `#[cfg(test)] mod tests`.
    no_text: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        invariant: "`sla` does no I/O and never reads the clock; it imports nothing from \
                    `config`, `store`, `probe`, the network or the time of day",
        scope: &["src/sla"],
        except: &[],
        no_import: &[
            "config",
            "store",
            "probe",
            "report",
            "cli",
            "daemon",
            "scheduler",
            "metrics",
            "alert",
            "clock",
        ],
        no_text: &[
            "std::fs",
            "std::net",
            "std::io",
            "std::env",
            "std::time",
            "std::process",
            "std::thread",
            "tokio",
            "reqwest",
            "rusqlite",
            "hickory",
            "Timestamp::now",
            "Zoned::now",
            "SystemTime",
            "Instant::now",
            "println!",
            "eprintln!",
        ],
    },
    Rule {
        invariant: "probes.toml -> config -> scheduler -> probe::* -> store -> sla -> report: \
                    a probe does not import the scheduler that runs it, nor what comes after it",
        scope: &["src/probe"],
        except: &[],
        no_import: &["scheduler", "daemon", "store", "sla", "report", "cli"],
        no_text: &[],
    },
    Rule {
        invariant: "`src/probe/wire.rs`: pure: no I/O, clock, async or global state",
        scope: &["src/probe/wire.rs"],
        except: &[],
        no_import: &["clock", "store"],
        no_text: &[
            "std::fs",
            "std::net",
            "tokio",
            "async fn",
            "Timestamp::now",
            "SystemTime",
            "Instant::now",
            "static mut",
        ],
    },
    Rule {
        invariant: "`src/outage.rs`: no I/O and no clock: every instant comes from the checks",
        scope: &["src/outage.rs"],
        except: &[],
        no_import: &["store", "clock", "probe"],
        no_text: &[
            "std::fs",
            "std::net",
            "tokio",
            "Timestamp::now",
            "SystemTime",
            "Instant::now",
        ],
    },
    Rule {
        invariant: "only `store` opens the database",
        scope: &["src"],
        except: &["src/store"],
        no_import: &[],
        no_text: &["rusqlite", "Connection::open"],
    },
    Rule {
        invariant: "`src/store/`: nothing here reads the clock",
        scope: &["src/store"],
        except: &[],
        no_import: &["clock"],
        no_text: &["Timestamp::now", "Zoned::now", "SystemTime"],
    },
    Rule {
        invariant: "`src/report/`: rendering is pure (no I/O, no clock); only `auto.rs` and \
                    the CLI write files",
        scope: &["src/report"],
        except: &["src/report/auto.rs"],
        no_import: &["cli", "daemon", "scheduler"],
        no_text: &[
            "std::fs",
            "File::create",
            "Timestamp::now",
            "Zoned::now",
            "SystemTime",
            "Instant::now",
        ],
    },
];

/// Violations present today, each with the issue item that removes it: (file,
/// forbidden import or text, why it is still here).
const KNOWN: &[(&str, &str, &str)] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file: without its unit tests (`#[cfg(test)]` then `mod tests`, to
/// the end) and without comment lines.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    body.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match l.find(" // ") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate's top-level modules a text imports: `crate::m` and `crate::{m, n::x}`.
fn crate_imports(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            // Only the top level of the group names modules.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(group[start..j].trim()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            out.insert(ident(group[start..end].trim()));
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn the_code_keeps_the_rules_architecture_md_states() {
    let mut found: BTreeSet<(String, String)> = BTreeSet::new();
    let mut problems: Vec<String> = Vec::new();
    for rule in RULES {
        let mut files = Vec::new();
        for s in rule.scope {
            rs_files(&root().join(s), &mut files);
        }
        assert!(!files.is_empty(), "no files for {:?}", rule.scope);
        for f in files {
            let name = rel(&f);
            if rule
                .except
                .iter()
                .any(|e| name == *e || name.starts_with(&format!("{e}/")))
            {
                continue;
            }
            let text = code(&fs::read_to_string(&f).unwrap());
            let imports = crate_imports(&text);
            let mut bad: Vec<String> = rule
                .no_import
                .iter()
                .filter(|m| imports.contains(**m))
                .map(|m| format!("crate::{m}"))
                .collect();
            bad.extend(
                rule.no_text
                    .iter()
                    .filter(|t| text.contains(**t))
                    .map(|t| (*t).to_owned()),
            );
            for b in bad {
                found.insert((name.clone(), b.clone()));
                if !KNOWN.iter().any(|(kf, kb, _)| *kf == name && *kb == b) {
                    problems.push(format!("{name} uses {b}, but: {}", rule.invariant));
                }
            }
        }
    }
    for (f, b, why) in KNOWN {
        if !found.contains(&((*f).to_owned(), (*b).to_owned())) {
            problems.push(format!(
                "{f} no longer uses {b}: remove it from KNOWN (it was: {why})"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_rules_see_grouped_imports_and_ignore_comments_and_unit_tests() {
    let text = "use crate::{model::UtcMillis, store::{Reader, Store}};\n\
                // use crate::cli;\n\
                fn f() {} // crate::daemon\n\
                #[cfg(test)]\nmod tests {\n    use crate::probe;\n}\n";
    let imports = crate_imports(&code(text));
    assert_eq!(
        imports.into_iter().collect::<Vec<_>>(),
        vec!["model".to_owned(), "store".to_owned()]
    );
}

/// The types every probe shares, and the one file of `src/probe/` that defines them
/// (ARCHITECTURE.md, the paragraph of `src/probe/mod.rs`).
const PROBE_ROOT_TYPES: &[&str] = &["struct Failure", "struct Up", "type Outcome", "struct Run"];

#[test]
fn the_types_every_probe_shares_live_in_the_probe_module_root() {
    let mut files = Vec::new();
    rs_files(&root().join("src/probe"), &mut files);
    let mut problems = Vec::new();
    for item in PROBE_ROOT_TYPES {
        let defines = |text: &str| {
            code(text).lines().any(|l| {
                let l = l.trim_start().trim_start_matches("pub(crate) ");
                let l = l.trim_start_matches("pub ");
                l.strip_prefix(item).is_some_and(|r| {
                    !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
        };
        let at: Vec<String> = files
            .iter()
            .filter(|f| defines(&fs::read_to_string(f).unwrap()))
            .map(|f| rel(f))
            .collect();
        if at != ["src/probe/mod.rs"] {
            problems.push(format!(
                "`{item}` is defined in {at:?}, not in src/probe/mod.rs alone"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Directories whose files import each other one way only (ARCHITECTURE.md, the
/// paragraphs of `src/sla/` and `src/config/`).
const ACYCLIC: &[&str] = &["src/sla", "src/config"];

/// The sibling files a file imports (`super::x` where `x.rs` is beside it).
fn sibling_imports(code: &str, siblings: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("super::") {
        let rest = &code[i + "super::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if siblings.contains(&name) {
            out.insert(name);
        }
    }
    out
}

/// A cycle in `edges`, as the list of its nodes, if there is one.
fn cycle(edges: &[(String, BTreeSet<String>)]) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &[(String, BTreeSet<String>)],
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_owned());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        let next = edges.iter().find(|(f, _)| f == n).map(|(_, t)| t.clone());
        for m in next.unwrap_or_default() {
            if let Some(c) = visit(&m, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .iter()
        .find_map(|(n, _)| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn the_files_of_the_engine_and_of_the_configuration_import_each_other_one_way() {
    for dir in ACYCLIC {
        let mut files = Vec::new();
        rs_files(&root().join(dir), &mut files);
        let stem = |p: &PathBuf| p.file_stem().unwrap().to_string_lossy().into_owned();
        let siblings: BTreeSet<String> = files.iter().map(stem).filter(|s| s != "mod").collect();
        let edges: Vec<(String, BTreeSet<String>)> = files
            .iter()
            .filter(|p| stem(p) != "mod")
            .map(|p| {
                let text = code(&fs::read_to_string(p).unwrap());
                let mut to = sibling_imports(&text, &siblings);
                to.remove(&stem(p));
                (stem(p), to)
            })
            .collect();
        assert!(
            cycle(&edges).is_none(),
            "{dir}: the files import each other in a cycle {:?}; move what they share \
             into a module both import",
            cycle(&edges)
        );
    }
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not() {
    let e = |n: &str, to: &[&str]| (n.to_owned(), to.iter().map(|s| (*s).to_owned()).collect());
    let chain = [
        e("engine", &["credit", "group"]),
        e("credit", &["group"]),
        e("group", &[]),
    ];
    assert_eq!(cycle(&chain), None);
    let loop_ = [e("plan", &["validate"]), e("validate", &["plan"])];
    assert_eq!(
        cycle(&loop_),
        Some(vec![
            "plan".to_owned(),
            "validate".to_owned(),
            "plan".to_owned()
        ])
    );
}

/// Names ARCHITECTURE.md cites that are not this crate's: std and dependencies'
/// items, and methods a derive generates.
const FOREIGN: &[&str] = &["File::try_lock", "Cli::command"];

/// Every `.rs` file and directory of the crate, relative to its root.
fn tree() -> Vec<String> {
    let mut files = Vec::new();
    for d in ["src", "tests", "benches", "fuzz/fuzz_targets"] {
        let p = root().join(d);
        if p.exists() {
            rs_files(&p, &mut files);
        }
    }
    files.iter().map(|p| rel(p)).collect()
}

/// True when `name` is defined somewhere in `texts`: an item, an enum variant or a
/// struct field.
fn defined(name: &str, texts: &[String]) -> bool {
    let items = [
        "fn ", "struct ", "enum ", "const ", "static ", "type ", "trait ", "mod ",
    ];
    texts.iter().any(|t| {
        t.lines().any(|l| {
            let l = l.trim_start().trim_start_matches("pub(crate) ");
            let l = l
                .trim_start_matches("pub(super) ")
                .trim_start_matches("pub ");
            let l = l.trim_start_matches("async ");
            let after = |rest: &str| {
                rest.strip_prefix(name).is_some_and(|r| {
                    !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            };
            items
                .iter()
                .any(|k| l.strip_prefix(k).is_some_and(&after))
                // A variant (`Goodwill,` `Closed {` `Opened(`) or a field (`name:`).
                || (after(l)
                    && l[name.len()..].starts_with([',', ' ', '(', ':', '{'])
                    && !l.contains('='))
        })
    })
}

#[test]
fn every_name_architecture_md_cites_exists() {
    let arch = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let files = tree();
    let texts: Vec<String> = files
        .iter()
        .map(|f| fs::read_to_string(root().join(f)).unwrap())
        .collect();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| {
            let p = Path::new(f);
            let stem = p.file_stem()?.to_str()?;
            if stem == "mod" {
                p.parent()?.file_name()?.to_str().map(str::to_owned)
            } else {
                Some(stem.to_owned())
            }
        })
        .collect();
    let mut missing = Vec::new();
    let mut section = String::new();
    let mut checked = 0;
    for line in arch.lines() {
        if let Some(h) = line.strip_prefix("### `") {
            section = h.trim_end_matches('`').to_owned();
        }
        for (n, cited) in line.split('`').enumerate() {
            if n % 2 == 0
                || cited.contains(['*', '<', ' '])
                || cited.contains("TARGET")
                || cited.contains("NAME")
            {
                continue;
            }
            let cited = cited.trim_end_matches("()");
            let cited = cited.split('(').next().unwrap_or(cited);
            if cited.ends_with(".rs") || cited.starts_with("src/") || cited.starts_with("tests/") {
                checked += 1;
                let p = cited.trim_end_matches('/');
                let ok = root().join(p).exists()
                    || (!section.is_empty() && root().join(&section).join(p).exists())
                    || files.iter().any(|f| f.ends_with(&format!("/{p}")));
                if !ok {
                    missing.push(format!("file `{cited}` (in {section})"));
                }
            } else if cited.contains("::") && !FOREIGN.contains(&cited) {
                let parts: Vec<&str> = cited.split("::").collect();
                if parts.iter().any(|p| {
                    p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                }) {
                    continue;
                }
                checked += 1;
                let (last, path) = parts.split_last().unwrap_or((&"", &[]));
                let path_ok = path
                    .iter()
                    .all(|p| modules.contains(*p) || defined(p, &texts));
                if !path_ok || !defined(last, &texts) {
                    missing.push(format!("name `{cited}` (in {section})"));
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} names read: the parsing broke"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md cites what the tree does not have:\n{}",
        missing.join("\n")
    );
}

#[test]
fn a_cited_name_is_found_only_where_it_is_defined() {
    let texts = vec![
        "pub(crate) fn row_line(x: u8) {}\nenum Table {\n    Goodwill,\n}\nstruct O {\n    pub missing_data: u8,\n}\n"
            .to_owned(),
    ];
    assert!(defined("row_line", &texts));
    assert!(defined("Goodwill", &texts));
    assert!(defined("missing_data", &texts));
    assert!(!defined("row", &texts), "a prefix is not the name");
    assert!(!defined("x", &texts), "a parameter is not an item");
}

/// Hand-made HTML in one report source file: an `esc` function, a call of `esc(`
/// outside a `fn md` (the Markdown parts of a module escape with `md::esc`), or a
/// tag in the code. Each finding is `file: line`.
fn hand_made_html(name: &str, text: &str) -> Vec<String> {
    let tag = regex::Regex::new(
        r"</?(html|head|body|main|header|footer|section|style|meta|title|h[1-6]|p|div|span|b|a|br|code|strong|ul|ol|li|dl|dt|dd|table|caption|thead|tbody|tr|th|td|svg|rect)\b",
    )
    .unwrap();
    let fn_name = regex::Regex::new(r"\bfn\s+(\w+)").unwrap();
    let mut in_md = false;
    let mut found = Vec::new();
    for line in code(text).lines() {
        if let Some(m) = fn_name.captures(line) {
            in_md = &m[1] == "md";
        }
        if line.contains("fn esc")
            || line.contains("html::esc")
            || (line.contains("esc(") && !in_md)
            || tag.is_match(line)
        {
            found.push(format!("{name}: {}", line.trim()));
        }
    }
    found
}

#[test]
fn the_report_html_is_escaped_by_its_templates_not_by_hand() {
    // Markdown escapes its own way (md.rs and each module's `fn md`); every HTML
    // value goes through a template in templates/, escaped by default.
    let mut files = Vec::new();
    rs_files(&root().join("src/report"), &mut files);
    let found: Vec<String> = files
        .iter()
        .filter(|f| rel(f) != "src/report/md.rs")
        .flat_map(|f| hand_made_html(&rel(f), &fs::read_to_string(f).unwrap()))
        .collect();
    assert!(
        found.is_empty(),
        "HTML made or escaped by hand in src/report (write it in a template in templates/, \
         where askama escapes every value):\n  {}",
        found.join("\n  ")
    );
    assert!(
        root().join("templates/report.html").is_file(),
        "the report's template is gone"
    );
}

#[test]
fn hand_made_html_is_found_and_markdown_escaping_and_generics_are_not() {
    let text = "fn esc(s: &str) -> String { s.into() }\n\
                fn html(c: &C) -> String { format!(\"<td>{}</td>\", esc(&c.id)) }\n\
                fn md(c: &C) -> String { esc(&c.id) }\n\
                fn rows(v: Vec<(String, String)>) -> Option<Box<u8>> { None }\n\
                // <p> in a comment\n";
    let found = hand_made_html("x.rs", text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("x.rs: fn esc("), "{found:?}");
    assert!(found[1].contains("<td>"), "{found:?}");
}

/// The `pub mod` declarations of a text (not `pub(crate)`), in order.
fn pub_mods(text: &str) -> Vec<String> {
    code(text)
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("pub mod "))
        .map(|r| r.trim_end_matches(';').trim().to_owned())
        .collect()
}

/// True when `path` (`a::b`) appears in `text` as a whole path segment pair.
fn uses_path(text: &str, path: &str) -> bool {
    text.match_indices(path).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + path.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

#[test]
fn every_public_module_is_used_outside_the_library() {
    // The library's surface (ARCHITECTURE.md, "Cross-cutting rules"): what the
    // binary, the integration tests, the benches and the fuzz targets use.
    let mut outside = Vec::new();
    for d in ["src/main.rs", "tests", "benches", "fuzz/fuzz_targets"] {
        let p = root().join(d);
        if p.exists() {
            rs_files(&p, &mut outside);
        }
    }
    let outside: Vec<String> = outside
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .collect();
    let used = |path: &str| outside.iter().any(|t| uses_path(t, path));
    let lib = fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let mut unused = Vec::new();
    for m in pub_mods(&lib) {
        if !used(&format!("slawatch::{m}")) {
            unused.push(format!("src/lib.rs: pub mod {m}"));
        }
        for parent in [format!("src/{m}/mod.rs"), format!("src/{m}.rs")] {
            let Ok(text) = fs::read_to_string(root().join(&parent)) else {
                continue;
            };
            for sub in pub_mods(&text) {
                if !used(&format!("{m}::{sub}")) {
                    unused.push(format!("{parent}: pub mod {sub}"));
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "public, but nothing outside the library uses them (make them `pub(crate) mod`, \
         then run `cargo fix --lib --allow-dirty`):\n{}",
        unused.join("\n")
    );
}

#[test]
fn a_module_path_is_found_whole() {
    assert!(uses_path(
        "use slawatch::probe::{conn, pop3};",
        "slawatch::probe"
    ));
    assert!(!uses_path("use slawatch::probes;", "slawatch::probe"));
    assert!(uses_path("slawatch::probe::pop3::check", "probe::pop3"));
    assert!(!uses_path("slawatch::probe::pop3x", "probe::pop3"));
    assert_eq!(
        pub_mods("pub mod a;\npub(crate) mod b;\n// pub mod c;\nmod d;\npub mod e;\n"),
        ["a", "e"]
    );
}
