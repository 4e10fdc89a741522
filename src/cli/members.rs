//! `slawatch members import|list`: an association's members, in bulk.
//!
//! `import` reads the CSV twice, streaming: the first pass checks every row and
//! collects every error (`FILE:LINE:COL`), storing nothing; only when all rows are
//! valid does the second pass store them, in one transaction, each record sealed.
//! A row identical to the record that counts for its key stores nothing; a changed
//! one is a new record superseding it. Neither pass holds the file in memory (the
//! first keeps each key seen, to refuse a key given twice). The file is hashed on
//! both passes: if it changed in between, nothing is stored.

use super::{CliError, Where};
use crate::config::Config;
use crate::members::{COLUMNS, Member, REQUIRED, RowError, check_row};
use crate::model::UtcMillis;
use crate::store::{MemberImport, Put, Reader};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, IsTerminal as _, Read, Seek as _};
use std::path::{Path, PathBuf};

/// At most this many errors are printed; the count says how many there were.
const MAX_PRINTED_ERRORS: usize = 200;

/// An association's members: import them from a CSV file, list them.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch members import members.csv --dry-run\n  \
    slawatch members import members.csv\n  \
    slawatch members list\n  \
    slawatch members list --json\n  \
    slawatch members summary --period 2023-01\n\n\
    One row per member and service; the columns are in docs/members.md. Records are \
    never changed or deleted: a changed row is a new sealed record that supersedes the \
    previous one, and `slawatch verify` checks them all.")]
pub(super) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    Import(ImportArgs),
    List(ListArgs),
    Summary(super::class_summary::Args),
}

impl Where {
    fn resolve(&self) -> Result<(Config, PathBuf), CliError> {
        let config = crate::config::load(&self.config.config).map_err(|e| {
            CliError::from(e).with_line(
                "hint: members' plans are checked against the configuration's [[plan]] \
                 tables; give --config FILE",
            )
        })?;
        let database = self
            .database
            .clone()
            .unwrap_or_else(|| config.daemon.database.clone());
        Ok((config, database))
    }
}

/// Import members from a CSV file: every row checked first, nothing stored unless
/// all are valid.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch members import members.csv --dry-run --config probes.toml\n  \
    slawatch members import members.csv --config probes.toml\n\n\
    The file, with a header naming its columns (any order):\n  \
    member,service,name,email,plan,fee,fee_period,customer_type,service_start,lang\n  \
    m-0117,mail,Anna Rossi,anna@example.test,libero-mail-plus,19.99,year,consumer,2019-03-01,it\n\n\
    Required: member, service, name, plan (a [[plan]] id of the configuration). Empty \
    fee, fee_period and customer_type take the plan's; empty lang takes [members] lang. \
    Every error is named FILE:LINE:COLUMN. Importing the same file again stores nothing; \
    a changed row is a new record that supersedes the old one. Exit status: 0 imported \
    (or nothing new), 2 the file has errors (nothing stored).")]
struct ImportArgs {
    #[command(flatten)]
    at: Where,
    /// Check every row and say what would be stored, storing nothing.
    #[arg(long)]
    dry_run: bool,
    /// The CSV file.
    file: PathBuf,
}

/// List the members that count (the latest record of each member and service).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch members list\n  \
    slawatch members list --json > members.json\n\n\
    Each line: the contract id (member.service), the plan, the name. --json prints one \
    array, each member with its seal number (seq) and seal hash (digest).")]
struct ListArgs {
    #[command(flatten)]
    at: Where,
    /// One JSON array instead of lines.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(a: Args) -> Result<(), CliError> {
    match a.command {
        Sub::Import(a) => import(&a),
        Sub::List(a) => list(&a),
        Sub::Summary(a) => super::class_summary::run(a),
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "a member record records when it was entered"
)]
fn now() -> UtcMillis {
    UtcMillis::from_timestamp(jiff::Timestamp::now())
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(buf.get(..n).unwrap_or_default());
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The file, opened for one pass, hashed as it is read.
fn open_pass(path: &Path, file: &str) -> Result<csv::Reader<Hashing<std::fs::File>>, CliError> {
    let f =
        std::fs::File::open(path).map_err(|e| CliError::bad(format!("cannot read {file}: {e}")))?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(Hashing {
            inner: f,
            hash: Sha256::new(),
            bytes: 0,
        }))
}

/// The position of each known column in the header, or the header's errors.
fn header_index(
    rdr: &mut csv::Reader<Hashing<std::fs::File>>,
    file: &str,
) -> Result<(BTreeMap<&'static str, usize>, usize), Vec<String>> {
    let header: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_owned()).collect(),
        Err(e) => return Err(vec![format!("{file}:1:1: {e}")]),
    };
    let line: String = header.join(",");
    let cols = super::incident::field_columns(&line);
    let mut errors = Vec::new();
    let mut index = BTreeMap::new();
    for (k, h) in header.iter().enumerate() {
        let col = cols.get(k).copied().unwrap_or(1);
        match COLUMNS.iter().find(|c| **c == h) {
            Some(c) if index.contains_key(c) => errors.push(format!(
                "{file}:1:{col}: column '{h}' given twice: keep one"
            )),
            Some(c) => {
                index.insert(*c, k);
            }
            None => {
                let hint = crate::config::did_you_mean(h, &COLUMNS)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                errors.push(format!(
                    "{file}:1:{col}: unknown column '{h}'{hint} (the columns are {})",
                    COLUMNS.join(",")
                ));
            }
        }
    }
    for c in REQUIRED {
        if !index.contains_key(c) {
            errors.push(format!(
                "{file}:1:1: no '{c}' column: the header needs {}",
                REQUIRED.join(",")
            ));
        }
    }
    if errors.is_empty() {
        Ok((index, header.len()))
    } else {
        Err(errors)
    }
}

/// An error of a row, located once the pass is over: where the row starts in the
/// file (bytes), its line, which field.
struct Located {
    byte: u64,
    line: u64,
    field: Option<usize>,
    message: String,
}

/// The 1-based column of field `field` of the record starting at `byte`.
fn column_of(f: &mut std::io::BufReader<std::fs::File>, byte: u64, field: usize) -> usize {
    let mut line = String::new();
    let ok = f.seek(std::io::SeekFrom::Start(byte)).is_ok() && f.read_line(&mut line).is_ok();
    if !ok {
        return 1;
    }
    super::incident::field_columns(line.trim_end_matches(['\n', '\r']))
        .get(field)
        .copied()
        .unwrap_or(1)
}

fn located_lines(path: &Path, file: &str, errors: &[Located]) -> Vec<String> {
    let mut reader = std::fs::File::open(path).ok().map(std::io::BufReader::new);
    errors
        .iter()
        .map(|e| {
            let col = match (&mut reader, e.field) {
                (Some(r), Some(k)) => column_of(r, e.byte, k),
                _ => 1,
            };
            format!("{file}:{}:{col}: {}", e.line, e.message)
        })
        .collect()
}

/// Gets a field of a record by column name: trimmed, `None` when absent or empty.
fn getter<'r>(
    rec: &'r csv::StringRecord,
    index: &'r BTreeMap<&'static str, usize>,
) -> impl Fn(&str) -> Option<&'r str> + 'r {
    move |c: &str| {
        index
            .get(c)
            .and_then(|k| rec.get(*k))
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// The first pass: every row checked, every error kept; the number of rows and the
/// file's hash.
fn check_pass(path: &Path, file: &str, config: &Config) -> Result<(u64, Vec<u8>), CliError> {
    let mut rdr = open_pass(path, file)?;
    let (index, width) = header_index(&mut rdr, file).map_err(|es| fail_lines(&es, file))?;
    let mut errors: Vec<Located> = Vec::new();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    let mut rows = 0u64;
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let bar = progress(size, "checking [{bar:32.cyan/blue}] {bytes}/{total_bytes}");
    let mut rec = csv::StringRecord::new();
    loop {
        if let Some(b) = &bar
            && rows.is_multiple_of(1024)
        {
            b.set_position(rdr.position().byte());
        }
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let (byte, line) = e.position().map_or((0, 0), |p| (p.byte(), p.line()));
                errors.push(Located {
                    byte,
                    line,
                    field: None,
                    message: format!("{e}"),
                });
                continue;
            }
        }
        rows += 1;
        let (byte, line) = rec.position().map_or((0, 0), |p| (p.byte(), p.line()));
        if rec.len() != width {
            errors.push(Located {
                byte,
                line,
                field: None,
                message: format!(
                    "{} fields where the header has {width}: one per column, empty ones too",
                    rec.len()
                ),
            });
            continue;
        }
        let get = getter(&rec, &index);
        match check_row(&get, config) {
            Ok(r) => {
                if let Some(first) = seen.get(&(r.member.clone(), r.service.clone())) {
                    errors.push(Located {
                        byte,
                        line,
                        field: index.get("service").copied(),
                        message: format!(
                            "member '{}' service '{}' is already given at line {first}: one \
                             row per member and service",
                            r.member, r.service
                        ),
                    });
                } else {
                    seen.insert((r.member, r.service), line);
                }
            }
            Err(es) => {
                for RowError { column, message } in es {
                    errors.push(Located {
                        byte,
                        line,
                        field: index.get(column).copied(),
                        message: format!("{column}: {message}"),
                    });
                }
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !errors.is_empty() {
        let lines = located_lines(path, file, &errors);
        return Err(fail_lines(&lines, file));
    }
    if rows == 0 {
        return Err(CliError::bad(format!(
            "{file} has no rows under its header: nothing to import"
        )));
    }
    Ok((rows, rdr.into_inner().hash.finalize().to_vec()))
}

/// Every error on its line (at most [`MAX_PRINTED_ERRORS`]), then the count and
/// that nothing was stored.
fn fail_lines(errors: &[String], file: &str) -> CliError {
    let mut lines: Vec<String> = errors
        .iter()
        .take(MAX_PRINTED_ERRORS)
        .map(|e| format!("error: {}", super::db::terminal_safe(e)))
        .collect();
    if errors.len() > MAX_PRINTED_ERRORS {
        lines.push(format!(
            "... and {} more errors",
            errors.len() - MAX_PRINTED_ERRORS
        ));
    }
    lines.push(format!(
        "nothing stored: {} error{} in {file}; correct them and import the file again",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    ));
    CliError::Lines(lines)
}

/// A progress bar on a terminal (stderr), nothing otherwise: `len` rows, or bytes
/// when `template` counts bytes.
fn progress(len: u64, template: &str) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(len),
            indicatif::ProgressDrawTarget::stderr(),
        );
        let style = indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar
    })
}

fn import(a: &ImportArgs) -> Result<(), CliError> {
    let (config, database) = a.at.resolve()?;
    let file = a.file.display().to_string();
    let (rows, hash) = check_pass(&a.file, &file, &config)?;

    if a.dry_run && !database.exists() {
        println!(
            "dry run: {file}: {rows} rows valid; would store {rows} new, 0 changed, 0 \
             unchanged (no database yet at {}); nothing stored",
            database.display()
        );
        return Ok(());
    }
    // The second pass: every row is valid; store them in one transaction.
    let mut rdr = open_pass(&a.file, &file)?;
    let (index, _) = header_index(&mut rdr, &file).map_err(|es| fail_lines(&es, &file))?;
    let mut import = MemberImport::begin(&database).map_err(CliError::failure)?;
    let bar = progress(rows, "storing  [{bar:32.cyan/blue}] {pos}/{len} rows");
    let created_at = now();
    let (mut new, mut changed, mut unchanged) = (0u64, 0u64, 0u64);
    let mut rec = csv::StringRecord::new();
    let changed_meanwhile = || {
        CliError::failure(format!(
            "{file} changed while it was being imported: nothing stored; import it again"
        ))
    };
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => return Err(changed_meanwhile()),
        }
        let get = getter(&rec, &index);
        let Ok(r) = check_row(&get, &config) else {
            return Err(changed_meanwhile());
        };
        match import.put(&r, created_at).map_err(CliError::failure)? {
            Put::New => new += 1,
            Put::Changed => changed += 1,
            Put::Unchanged => unchanged += 1,
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if rdr.into_inner().hash.finalize().to_vec() != hash {
        return Err(changed_meanwhile());
    }
    let counts = format!("{new} new, {changed} changed, {unchanged} unchanged");
    if a.dry_run {
        import.rollback().map_err(CliError::failure)?;
        println!("dry run: {file}: {rows} rows valid; would store {counts}; nothing stored");
    } else if new + changed == 0 {
        import.rollback().map_err(CliError::failure)?;
        println!("{file}: {counts}: every row is already recorded; nothing stored");
    } else {
        import.commit().map_err(CliError::failure)?;
        println!("{file}: {counts}");
    }
    Ok(())
}

fn list(a: &ListArgs) -> Result<(), CliError> {
    let (_, database) = a.at.resolve()?;
    if !database.exists() {
        if a.json {
            println!("[]");
        } else {
            println!(
                "no members: there is no database at {} yet; import them with \
                 `slawatch members import FILE.csv`",
                database.display()
            );
        }
        return Ok(());
    }
    let reader = Reader::open(&database).map_err(CliError::failure)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match write_list(&reader, &mut out, a.json, &database) {
        Ok(()) => Ok(()),
        Err(e) => match e.downcast_ref::<std::io::Error>() {
            // `members list | head`: the reader has what it wanted.
            Some(io) if io.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Some(io) => Err(CliError::failure(format!("cannot write the list: {io}"))),
            None => Err(CliError::failure(e)),
        },
    }
}

/// Writes every member to `out`, one line each or one JSON array.
fn write_list(
    reader: &Reader,
    out: &mut impl std::io::Write,
    json: bool,
    database: &Path,
) -> anyhow::Result<()> {
    let mut n = 0u64;
    if json {
        write!(out, "[")?;
    }
    reader.for_each_member(|m: Member| {
        if json {
            let v = json_of(&m);
            write!(out, "{}\n  {v}", if n == 0 { "" } else { "," })?;
        } else {
            writeln!(
                out,
                "{}  {}  {}",
                super::db::terminal_safe(&m.contract_id()),
                super::db::terminal_safe(&m.plan),
                super::db::terminal_safe(&m.name)
            )?;
        }
        n += 1;
        Ok(())
    })?;
    if json {
        writeln!(out, "{}]", if n == 0 { "" } else { "\n" })?;
    } else if n == 0 {
        writeln!(
            out,
            "no members in {}: import them with `slawatch members import FILE.csv`",
            database.display()
        )?;
    }
    out.flush()?;
    Ok(())
}

/// A member as `members list --json` prints it.
fn json_of(m: &Member) -> serde_json::Value {
    serde_json::json!({
        "contract": m.contract_id(),
        "member": m.member,
        "service": m.service,
        "name": m.name,
        "email": m.email,
        "address": m.address,
        "provider": m.provider,
        "plan": m.plan,
        "fee": m.fee.map(|f| f.to_string()),
        "fee_period": m.fee_period.map(crate::members::fee_period_str),
        "customer_type": m.customer_type.map(|t| t.as_str()),
        "service_start": m.service_start.map(|d| d.to_string()),
        "lang": m.lang.map(|l| l.as_str()),
        "customer_code": m.customer_code,
        "contract_number": m.contract_number,
        "seq": m.seq,
        "digest": m.digest,
    })
}
