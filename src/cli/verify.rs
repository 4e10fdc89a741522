//! `slawatch verify`: walks the hash chain over the evidence, holds retention's
//! prune events to the retention, checks a checkpoint file against the chain, and,
//! given a report, recomputes the evidence digest it states.

use super::CliError;
use super::db::DbArgs;
use crate::model::UtcMillis;
use crate::store::{ChainReport, Reader, RetentionPolicy};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Check that the stored checks are as they were written, and that a report's
/// evidence digest still matches the database.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch verify\n  \
    slawatch verify --database /var/lib/slawatch/slawatch.db\n  \
    slawatch verify --report reports/2023-01/report.json\n  \
    slawatch verify --report report.json --json\n  \
    slawatch verify --checkpoint /srv/elsewhere/slawatch.checkpoints\n\n\
    Every row a report reads (failed checks, finished runs of checks, outages open \
    and closed, finished coverage segments, incidents, maintenance windows, and \
    retention's prune events) is sealed into a hash chain as it is written: row_hash \
    = SHA-256 of the row's canonical line, chain = SHA-256(previous chain || \
    row_hash). verify recomputes each sealed row's hash from what the row says now, \
    and each link from the one before; a row edited, deleted or inserted by hand is \
    named (table, row id, probe, instant). Rows deleted by retention must be \
    accounted for by a prune event whose digest matches and whose cut is older than \
    the retention: the configuration's when it names the database (no --database), \
    else the one each event recorded, never less than 400 days. Runs and the coverage \
    segment of the current UTC day may still grow and are not sealed yet. With \
    --checkpoint, every line of the daemon's checkpoint file ([daemon] \
    checkpoint_file) must follow the one before and name a seal whose chain value the \
    database still holds; the first line that disagrees is named. With --report, the report's \
    evidence digest (evidence.sha256 over evidence.probes from evidence.from to \
    evidence.to) is recomputed from the database, and its chain head \
    (evidence.chain.seal, evidence.chain.head), when stated, is looked up.\n\n\
    Exit status: 0 the chain is intact (and the report matches), 1 something was \
    altered or does not match, 2 no database, a database without a chain, or a \
    report or checkpoint file that cannot be read.")]
pub(super) struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// A report in JSON (`slawatch report --format json`) whose evidence digest to recompute.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// The checkpoint file the daemon appends the chain head to (`[daemon]
    /// checkpoint_file`), ideally a copy kept off this machine.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
}

/// Checks the database's chain against every line of a checkpoint file: `Ok` with
/// the lines checked, or the first line that disagrees (1-based) and why.
fn check_checkpoints(
    reader: &Reader,
    text: &str,
) -> Result<Result<usize, (usize, String)>, String> {
    let lines = match crate::checkpoint::check_links(text) {
        Ok(l) => l,
        Err(bad) => return Ok(Err(bad)),
    };
    let head = reader.chain_head().map_err(|e| e.to_string())?;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if line.seal == 0 {
            continue;
        }
        match reader.chain_at(line.seal).map_err(|e| e.to_string())? {
            Some(found) if found == line.chain => {}
            Some(found) => {
                return Ok(Err((
                    n,
                    format!(
                        "the database holds chain {found} at seal {}, the line says {}: \
                         the chain was rewritten (or the file belongs to another database)",
                        line.seal, line.chain
                    ),
                )));
            }
            None => {
                let why = match &head {
                    Some((h, _)) if *h < line.seal => format!(
                        "seal {} is past the database's last seal {h}: seals were cut off \
                         (or the file belongs to another database)",
                        line.seal
                    ),
                    None => format!(
                        "seal {} is not in the database, whose chain is empty: it was \
                         replaced (or the file belongs to another database)",
                        line.seal
                    ),
                    Some(_) => format!(
                        "seal {} is not in the database: it was pruned before seals were \
                         kept (slawatch before migration 3), so it cannot be checked",
                        line.seal
                    ),
                };
                return Ok(Err((n, why)));
            }
        }
    }
    Ok(Ok(lines.len()))
}

/// One `evidence` object of a report, and where in the file it is.
#[derive(Debug)]
struct Claim {
    path: String,
    sha256: String,
    checks: Option<i64>,
    probes: Vec<String>,
    from: UtcMillis,
    to: UtcMillis,
    chain: Option<(i64, String)>,
}

/// Finds every `evidence` object with a `sha256` in the report, depth first.
fn claims(v: &Value, path: &str, out: &mut Vec<Result<Claim, String>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = format!("{path}.{k}");
                if k == "evidence" && child.is_object() {
                    out.push(claim(child, &here));
                } else {
                    claims(child, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                claims(child, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn instant(v: &Value, path: &str, key: &str) -> Result<UtcMillis, String> {
    let s = v
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{path}.{key}: missing; expected an RFC 3339 instant"))?;
    s.parse::<jiff::Timestamp>()
        .map(UtcMillis::from_timestamp)
        .map_err(|e| format!("{path}.{key}: '{s}' is not an RFC 3339 instant: {e}"))
}

fn claim(v: &Value, path: &str) -> Result<Claim, String> {
    let sha256 = v
        .get("sha256")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{path}.sha256: missing; expected 64 hex digits"))?
        .to_owned();
    let probes = v
        .get("probes")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{path}.probes: missing; expected an array of probe names"))?
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{path}.probes[{i}]: expected a probe name (a string)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let chain = match v.get("chain") {
        None | Some(Value::Null) => None,
        Some(c) => Some((
            c.get("seal")
                .and_then(Value::as_i64)
                .ok_or_else(|| format!("{path}.chain.seal: expected the seal number"))?,
            c.get("head")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{path}.chain.head: expected 64 hex digits"))?
                .to_owned(),
        )),
    };
    Ok(Claim {
        path: path.to_owned(),
        sha256,
        checks: v.get("checks").and_then(Value::as_i64),
        probes,
        from: instant(v, path, "from")?,
        to: instant(v, path, "to")?,
        chain,
    })
}

/// Reads the report's evidence claims, or says why not.
fn read_claims(file: &Path) -> Result<Vec<Claim>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read the report: {e}", file.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not JSON ({e}); give the report written with --format json",
            file.display()
        )
    })?;
    let mut out = Vec::new();
    claims(&v, "$", &mut out);
    if out.is_empty() {
        return Err(format!(
            "{}: states no evidence digest (no \"evidence\" object with sha256, probes, from, to)",
            file.display()
        ));
    }
    out.into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// What checking one claim against the database found.
struct Checked {
    claim: Claim,
    found_sha256: String,
    found_checks: i64,
    /// The chain value the database holds at the claimed seal (None: seal gone).
    found_chain: Option<Option<String>>,
}

impl Checked {
    fn digest_ok(&self) -> bool {
        self.found_sha256 == self.claim.sha256
            && self.claim.checks.is_none_or(|c| c == self.found_checks)
    }

    fn chain_ok(&self) -> bool {
        match (&self.claim.chain, &self.found_chain) {
            (Some((_, head)), Some(found)) => found.as_deref() == Some(head.as_str()),
            _ => true,
        }
    }
}

fn check_claims(reader: &Reader, claims: Vec<Claim>) -> Result<Vec<Checked>, String> {
    let mut out = Vec::new();
    for claim in claims {
        let d = reader
            .evidence_digest(&claim.probes, claim.from, claim.to)
            .map_err(|e| e.to_string())?;
        let found_chain = match &claim.chain {
            Some((seal, _)) => Some(reader.chain_at(*seal).map_err(|e| e.to_string())?),
            None => None,
        };
        out.push(Checked {
            claim,
            found_sha256: d.sha256,
            found_checks: d.checks,
            found_chain,
        });
    }
    Ok(out)
}

fn print_text(chain: &ChainReport, checked: &[Checked]) {
    if chain.intact() {
        match &chain.head {
            Some((seal, head)) => println!(
                "ok: {} rows sealed, chain intact (head {head} at seal {seal})",
                chain.sealed
            ),
            None => println!("ok: 0 rows sealed, chain empty"),
        }
    } else {
        let total = chain.problems.len() + usize::try_from(chain.more_problems).unwrap_or(0);
        if let Some(first) = chain.problems.first() {
            println!("FAILED: the evidence was altered: {first}");
        }
        for p in chain.problems.iter().skip(1).take(9) {
            println!("  also: {p}");
        }
        if total > 10 {
            println!("  ... {} more problems", total - 10);
        }
        println!(
            "{} rows sealed, {total} problem{}",
            chain.sealed,
            if total == 1 { "" } else { "s" }
        );
    }
    if chain.open_runs > 0 {
        println!(
            "{} open run{} not yet sealed (the current UTC day's; sealed when it ends)",
            chain.open_runs,
            if chain.open_runs == 1 { "" } else { "s" }
        );
    }
    if chain.open_coverage > 0 {
        println!(
            "the newest coverage segment is open, not yet sealed (sealed at a gap, at UTC \
             midnight or when the daemon stops)"
        );
    }
    if let Some((seal, _)) = &chain.checkpoint {
        println!("the chain starts after seal {seal}: older rows were pruned by retention");
    }
    if chain.prune_events > 0 {
        println!(
            "{} row{} deleted by retention, accounted for by {} prune event{}",
            chain.pruned_rows,
            if chain.pruned_rows == 1 { "" } else { "s" },
            chain.prune_events,
            if chain.prune_events == 1 { "" } else { "s" }
        );
    }
    for c in checked {
        let what = format!(
            "{} ({} to {}, probes {})",
            c.claim.path,
            c.claim.from,
            c.claim.to,
            c.claim.probes.join(", ")
        );
        if c.digest_ok() {
            println!(
                "report {what}: digest matches ({}, {} checks)",
                c.found_sha256, c.found_checks
            );
        } else {
            println!(
                "report {what}: digest MISMATCH: the report states {}{}, the database gives {} over {} checks",
                c.claim.sha256,
                c.claim
                    .checks
                    .map(|n| format!(" over {n} checks"))
                    .unwrap_or_default(),
                c.found_sha256,
                c.found_checks
            );
        }
        if let Some((seal, head)) = &c.claim.chain {
            match &c.found_chain {
                Some(Some(found)) if found == head => {
                    println!("report {}: chain head at seal {seal} matches", c.claim.path);
                }
                Some(Some(found)) => println!(
                    "report {}: chain head MISMATCH at seal {seal}: the report states {head}, \
                     the database holds {found} (the chain was rewritten)",
                    c.claim.path
                ),
                _ => println!(
                    "report {}: chain head MISMATCH: seal {seal} is not in the database \
                     (the chain was cut or rewritten)",
                    c.claim.path
                ),
            }
        }
    }
}

fn print_json(
    chain: &ChainReport,
    checked: &[Checked],
    checkpoints: Option<&Result<usize, (usize, String)>>,
) {
    let v = json!({
        "ok": chain.intact()
            && checkpoints.is_none_or(Result::is_ok)
            && checked.iter().all(|c| c.digest_ok() && c.chain_ok()),
        "checkpoint_file": checkpoints.map(|c| match c {
            Ok(n) => json!({"ok": true, "lines": n}),
            Err((line, why)) => json!({"ok": false, "line": line, "message": why}),
        }),
        "open_coverage": chain.open_coverage,
        "prune_events": chain.prune_events,
        "pruned_rows": chain.pruned_rows,
        "sealed": chain.sealed,
        "head": chain.head.as_ref().map(|(seal, head)| json!({"seal": seal, "chain": head})),
        "checkpoint": chain.checkpoint.as_ref().map(|(seal, head)| json!({"seal": seal, "chain": head})),
        "open_runs": chain.open_runs,
        "problems": chain.problems.iter().map(|p| json!({
            "seal": p.seal,
            "table": p.table,
            "row": p.row,
            "probe": p.probe,
            "at": p.at.map(|a| a.to_string()),
            "message": p.to_string(),
        })).collect::<Vec<_>>(),
        "more_problems": chain.more_problems,
        "reports": checked.iter().map(|c| json!({
            "path": c.claim.path,
            "stated": c.claim.sha256,
            "recomputed": c.found_sha256,
            "checks": c.found_checks,
            "digest_matches": c.digest_ok(),
            "chain_matches": c.claim.chain.as_ref().map(|_| c.chain_ok()),
        })).collect::<Vec<_>>(),
    });
    println!("{v}");
}

pub(super) fn run(a: Args) -> Result<ExitCode, CliError> {
    let claims = a
        .report
        .as_deref()
        .map(read_claims)
        .transpose()
        .map_err(CliError::bad)?
        .unwrap_or_default();
    let checkpoint_text = a
        .checkpoint
        .as_deref()
        .map(std::fs::read_to_string)
        .transpose()
        .map_err(|e| {
            CliError::bad(format!(
                "{}: cannot read the checkpoint file: {e}",
                a.checkpoint.as_deref().unwrap_or(Path::new("")).display()
            ))
        })?;
    let reader = a.db.open()?;
    let policy = RetentionPolicy {
        retention_ms: a
            .db
            .config_if_used()
            .map(|c| i64::try_from(c.daemon.retention.as_millis()).unwrap_or(i64::MAX)),
        now: Some(crate::daemon::now()),
    };
    if !reader.has_chain().map_err(CliError::failure)? {
        return Err(CliError::bad(format!(
            "{}: has no hash chain yet (written by an older slawatch); \
             `slawatch run` adds it and seals the rows it holds when it next opens the file",
            reader_path(&a.db)
        )));
    }
    let chain = reader
        .verify_chain_with(policy)
        .map_err(CliError::failure)?;
    let checked = check_claims(&reader, claims).map_err(CliError::failure)?;
    let checkpoints = checkpoint_text
        .as_deref()
        .map(|t| check_checkpoints(&reader, t))
        .transpose()
        .map_err(CliError::failure)?;
    let file = a.checkpoint.as_deref().map(Path::display);
    if a.db.json {
        print_json(&chain, &checked, checkpoints.as_ref());
    } else {
        print_text(&chain, &checked);
        match (&checkpoints, file) {
            (Some(Ok(n)), Some(f)) => {
                println!("checkpoint {f}: all {n} lines match the chain");
            }
            (Some(Err((line, why))), Some(f)) => {
                println!("checkpoint {f}: line {line} DISAGREES: {why}");
            }
            _ => {}
        }
    }
    let checkpoints_ok = checkpoints.as_ref().is_none_or(Result::is_ok);
    Ok(
        if chain.intact() && checkpoints_ok && checked.iter().all(|c| c.digest_ok() && c.chain_ok())
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

fn reader_path(db: &DbArgs) -> String {
    db.database_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
