//! `slawatch verify`: walks the hash chain over the evidence, holds retention's
//! prune events to the retention, checks a checkpoint file against the chain, and,
//! given a report, recomputes the evidence digest it states.

use super::CliError;
use super::db::DbArgs;
use crate::report::evidence::{self, ChainHead, Claim};
use crate::report::verify::{CheckedClaim, Verification, VerifyError, verify};
use crate::store::RetentionPolicy;
use serde_json::json;
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
    slawatch verify --checkpoint /srv/elsewhere/slawatch.checkpoints\n  \
    slawatch verify --shared\n\n\
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
    evidence digest and counts (evidence.sha256, checks, runs and failed_checks over \
    evidence.probes from evidence.from to evidence.to) are recomputed from the \
    database, and its chain head (evidence.chain.seal, evidence.chain.head), when \
    stated, is looked up; a report of another format, or whose evidence has a field \
    missing or one slawatch never writes, is refused (docs/report-json.md).\n\n\
    With --shared, each vantage's evidence in the shared PostgreSQL ([shared]) is \
    verified on its own, as its own database would be: its chain walked, its \
    shipped checkpoint lines held against it, and the last seal the store recorded \
    for it (vantages.last_seal and last_chain) looked up, so a chain cut off at its \
    end or rewritten is caught too; each line names the vantage. Prune events are \
    held to the retention each recorded (never under 400 days): this configuration \
    is not the other vantages'.\n\n\
    Exit status: 0 the chain is intact (and the report matches; with --shared, every \
    vantage's chain), 1 something was altered or does not match (on any vantage), or \
    the shared store cannot be read, 2 no database, a database without a chain, a \
    report or checkpoint file that cannot be read, or --shared without [shared].")]
pub(super) struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// A report in JSON (`slawatch report --format json`) whose evidence digest to recompute.
    #[arg(long, value_name = "FILE.json", conflicts_with = "shared")]
    report: Option<PathBuf>,
    /// The checkpoint file the daemon appends the chain head to (`[daemon]
    /// checkpoint_file`), ideally a copy kept off this machine.
    #[arg(long, value_name = "FILE", conflicts_with = "shared")]
    checkpoint: Option<PathBuf>,
}

/// Prints what `v` found; `label` starts its first line (`vantage NAME: ` with
/// `--shared`), `checkpoints` names where the checkpoint lines came from.
fn print_text(v: &Verification, label: &str, checkpoints: Option<&str>) {
    let chain = &v.chain;
    if chain.intact() {
        match &chain.head {
            Some((seal, head)) => println!(
                "{label}ok: {} rows sealed, chain intact (head {head} at seal {seal})",
                chain.sealed
            ),
            None => println!("{label}ok: 0 rows sealed, chain empty"),
        }
    } else {
        let total = chain.problems.len() + usize::try_from(chain.more_problems).unwrap_or(0);
        if let Some(first) = chain.problems.first() {
            println!("{label}FAILED: the evidence was altered: {first}");
        }
        for p in chain.problems.iter().skip(1).take(9) {
            println!("  also: {p}");
        }
        if total > 10 {
            println!("  ... {} more problems", total - 10);
        }
        println!(
            "{label}{} rows sealed, {total} problem{}",
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
    for c in &v.claims {
        print_claim(c);
    }
    match (&v.checkpoints, checkpoints) {
        (Some(Ok(n)), Some(f)) => println!("{f}: all {n} lines match the chain"),
        (Some(Err(d)), Some(f)) => {
            println!("{f}: line {} DISAGREES: {}", d.line, d.why);
        }
        _ => {}
    }
}

fn print_claim(c: &CheckedClaim) {
    let e = &c.claim.evidence;
    let what = format!(
        "{} ({} to {}, probes {})",
        c.claim.path,
        e.from,
        e.to,
        e.probes.join(", ")
    );
    if c.digest_ok() {
        println!(
            "report {what}: digest matches ({}, {} checks)",
            c.found.sha256, c.found.checks
        );
    } else {
        println!(
            "report {what}: digest MISMATCH: the report states {} over {} checks \
             ({} runs, {} failed), the database gives {} over {} checks ({} runs, {} failed)",
            e.sha256,
            e.checks,
            e.runs,
            e.failed_checks,
            c.found.sha256,
            c.found.checks,
            c.found.runs,
            c.found.failures
        );
    }
    if let Some(ChainHead { seal, head }) = &e.chain {
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

fn print_json(v: &Verification) {
    println!("{}", json_of(v));
}

/// What `v` found, as `--json` prints it.
fn json_of(v: &Verification) -> serde_json::Value {
    let chain = &v.chain;
    json!({
        "ok": v.ok(),
        "checkpoint_file": v.checkpoints.as_ref().map(|c| match c {
            Ok(n) => json!({"ok": true, "lines": n}),
            Err(d) => json!({"ok": false, "line": d.line, "message": d.why}),
        }),
        "open_coverage": chain.open_coverage,
        "prune_events": chain.prune_events,
        "pruned_rows": chain.pruned_rows,
        "sealed": chain.sealed,
        "head": chain.head.as_ref().map(ChainHead::of),
        "checkpoint": chain.checkpoint.as_ref().map(ChainHead::of),
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
        "reports": v.claims.iter().map(|c| json!({
            "path": c.claim.path,
            "stated": c.claim.evidence.sha256,
            "recomputed": c.found.sha256,
            "checks": c.found.checks,
            "digest_matches": c.digest_ok(),
            "chain_matches": c.claim.evidence.chain.as_ref().map(|_| c.chain_ok()),
        })).collect::<Vec<_>>(),
    })
}

/// The claims of the report at `file`, or why it cannot be read (bad input).
fn read_claims(file: &Path) -> Result<Vec<Claim>, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::bad(format!("{}: cannot read the report: {e}", file.display())))?;
    evidence::claims(&text).map_err(|e| CliError::bad(e.in_file(file)))
}

pub(super) fn run(a: Args) -> Result<ExitCode, CliError> {
    if a.db.shared {
        return run_shared(&a);
    }
    let claims = a
        .report
        .as_deref()
        .map(read_claims)
        .transpose()?
        .unwrap_or_default();
    let checkpoint_text = a
        .checkpoint
        .as_deref()
        .map(|f| {
            std::fs::read_to_string(f).map_err(|e| {
                CliError::bad(format!(
                    "{}: cannot read the checkpoint file: {e}",
                    f.display()
                ))
            })
        })
        .transpose()?;
    let reader = a.db.open()?;
    let policy = RetentionPolicy {
        retention_ms: a
            .db
            .config_if_used()
            .map(|c| i64::try_from(c.daemon.retention.as_millis()).unwrap_or(i64::MAX)),
        now: Some(crate::daemon::now()),
    };
    let v = verify(&reader, policy, claims, checkpoint_text.as_deref()).map_err(|e| match e {
        VerifyError::NoChain => CliError::bad(format!(
            "{}: has no hash chain yet (written by an older slawatch); \
             `slawatch run` adds it and seals the rows it holds when it next opens the file",
            reader_path(&a.db)
        )),
        VerifyError::Store(e) => CliError::failure(e),
    })?;
    if a.db.json {
        print_json(&v);
    } else {
        let file = a
            .checkpoint
            .as_deref()
            .map(|f| format!("checkpoint {}", f.display()));
        print_text(&v, "", file.as_deref());
    }
    Ok(if v.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn reader_path(db: &DbArgs) -> String {
    db.database_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// `verify --shared`: each vantage of the shared store verified on its own.
fn run_shared(a: &Args) -> Result<ExitCode, CliError> {
    let config = crate::config::load(&a.db.config.config)?;
    let vantages = super::db::shared_vantages(&config, &a.db.vantages)?;
    // Each vantage prunes by its own configuration, which this one is not: its
    // prune events are held to the retention each recorded (never under 400 days).
    let policy = RetentionPolicy {
        retention_ms: None,
        now: Some(crate::daemon::now()),
    };
    let mut all_ok = true;
    let mut out = Vec::new();
    for vantage in &vantages {
        let lines = (!vantage.checkpoints.is_empty()).then_some(vantage.checkpoints.as_str());
        let v = verify(&vantage.reader, policy, Vec::new(), lines).map_err(|e| match e {
            VerifyError::NoChain => CliError::failure(format!(
                "vantage '{}': the copy has no hash chain",
                vantage.name
            )),
            VerifyError::Store(e) => CliError::failure(e),
        })?;
        let head = recorded_head(vantage).map_err(CliError::failure)?;
        let ok = v.ok() && head.is_none();
        all_ok &= ok;
        if a.db.json {
            let mut value = json_of(&v);
            if let Some(fields) = value.as_object_mut() {
                fields.insert("ok".to_owned(), ok.into());
                fields.insert("vantage".to_owned(), vantage.name.clone().into());
                fields.insert(
                    "recorded_head".to_owned(),
                    json!({"seal": vantage.last_seal, "head": vantage.last_chain}),
                );
                fields.insert("recorded_head_problem".to_owned(), head.clone().into());
                fields.insert("rows_copied".to_owned(), vantage.rows.into());
            }
            out.push(value);
        } else {
            let label = format!("vantage {}: ", vantage.name);
            let source = format!("vantage {}: checkpoints shipped", vantage.name);
            print_text(&v, &label, Some(&source));
            match &head {
                Some(why) => println!("{label}FAILED: {why}"),
                None if vantage.last_seal > 0 => println!(
                    "{label}the last seal the shared store recorded ({}) matches the chain",
                    vantage.last_seal
                ),
                None => {}
            }
        }
    }
    if a.db.json {
        println!("{}", json!({"ok": all_ok, "vantages": out}));
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What is wrong between a vantage's chain and the head the shared store recorded
/// for it (`vantages.last_seal`, `last_chain`): `None` when they agree.
fn recorded_head(
    v: &crate::shared::read::SharedVantage,
) -> Result<Option<String>, crate::store::StoreError> {
    let have = v.reader.chain_head()?.map_or(0, |(seal, _)| seal);
    if v.last_seal == 0 && have == 0 {
        return Ok(None);
    }
    if have < v.last_seal {
        return Ok(Some(format!(
            "the shared store recorded seal {} as this vantage's last (vantages.last_seal), \
             but its chain ends at seal {have}: seals were cut off its end",
            v.last_seal
        )));
    }
    let stored = v.reader.chain_at(v.last_seal)?;
    if stored.is_some() && stored != v.last_chain {
        return Ok(Some(format!(
            "seal {} holds chain {}, but the shared store recorded {} for it \
             (vantages.last_chain): the chain was rewritten",
            v.last_seal,
            stored.unwrap_or_default(),
            v.last_chain.as_deref().unwrap_or("nothing")
        )));
    }
    if have > v.last_seal {
        return Ok(Some(format!(
            "the chain goes on to seal {have} past the last seal the shared store \
             recorded ({}, vantages.last_seal): seals were added beside the shipper",
            v.last_seal
        )));
    }
    Ok(None)
}
