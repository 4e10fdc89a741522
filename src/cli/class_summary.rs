//! `slawatch members summary`: the class summary of an association's members over a
//! period (`report::class`), as HTML, CSV and JSON.

use super::{CliError, PeriodSource};
use crate::model::UtcMillis;
use crate::report::class::{self, ClassFormat};
use crate::report::{Lang, ReportError};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Sum up every member over a period: who was affected, how long, what is owed.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch members summary --period 2023-01\n      \
    writes reports/class-summary-2023-01.html, .csv and .json ([daemon] reports_dir)\n  \
    slawatch members summary --period 2023-01 --format csv --out /tmp/case\n      \
    only the CSV, into /tmp/case\n\n\
    Every member's service is evaluated as `slawatch report --per-member` evaluates it. \
    The summary counts the members affected (an outage or a recorded incident in the period), \
    the distribution of outage lengths per member service (<1h, 1-6h, 6-24h, 1-3d, 3-7d, >7d), \
    and per member and in total per currency what the contract owes, what the provider offered \
    as goodwill and what each compared plan (a regulation) would give by analogy; with each \
    member's evidence digest and the hash chain's head. Formats: docs/class-summary.md.\n\n\
    Exit status: 0 written, 1 a file or the database could not be read or written, \
    2 bad input (configuration, period, options).")]
pub(crate) struct Args {
    #[command(flatten)]
    from: PeriodSource,
    /// Formats, separated by commas: html, csv, json.
    #[arg(long, value_name = "FORMATS", default_value = "html,csv,json")]
    format: String,
    /// The folder to write to (default: [daemon] reports_dir).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The language of the HTML page (default: [members] lang, else en).
    #[arg(long, value_name = "LANG", value_parser = ["it", "en"])]
    lang: Option<String>,
}

#[expect(
    clippy::disallowed_methods,
    reason = "a summary is stamped with the time it was made"
)]
fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let mut formats = Vec::new();
    for f in a.format.split(',').map(str::trim) {
        match ClassFormat::parse(f) {
            Some(f) if !formats.contains(&f) => formats.push(f),
            Some(_) => {}
            None => {
                return Err(CliError::bad(format!(
                    "--format: unknown format '{f}'; write html, csv, json or several \
                     separated by commas (html,csv,json)"
                )));
            }
        }
    }
    let mut config = crate::config::load(&a.from.config.config)?;
    let reader = a.from.open(&config)?;
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| config.daemon.reports_dir.clone());
    let lang = a
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| class::default_lang(&config));
    let generated = UtcMillis::from_timestamp(now());
    let (sum, written) = class::summarise(
        &mut config,
        &reader,
        &a.from.period,
        &formats,
        Folder(dir),
        generated,
        lang,
    )
    .map_err(|e| match e.downcast::<ReportError>() {
        Ok(ReportError::Input(e)) => CliError::bad(e),
        Ok(e) => CliError::failure(e),
        Err(e) => CliError::failure(format!("{e:#}")),
    })?;
    for p in written {
        println!("wrote {}", p.display());
    }
    print!("{}", class::terminal(&sum));
    Ok(())
}

/// A file written in pieces and renamed into place when finished (like
/// [`crate::report::auto::write_atomically`]: a plain name inside `dir`, a new temporary file
/// created exclusively, synced, renamed), so a reader never sees half a summary.
struct Streamed {
    tmp: PathBuf,
    path: PathBuf,
    w: BufWriter<std::fs::File>,
}

impl Streamed {
    fn create(dir: &Path, name: &str) -> Result<Streamed, String> {
        use std::os::unix::fs::OpenOptionsExt;
        if !crate::report::auto::safe_file_name(name) {
            return Err(format!(
                "refusing to write '{}': a file name must stay inside {}",
                name.escape_debug(),
                dir.display()
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        Ok(Streamed {
            tmp,
            path: dir.join(name),
            w: BufWriter::new(f),
        })
    }

    fn finish(mut self) -> Result<PathBuf, String> {
        let tmp = self.tmp.clone();
        self.w
            .flush()
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(self.path.clone())
    }
}

impl Write for Streamed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        // Finished files were renamed: this removes only an abandoned one.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// The summary's files in one folder.
struct Folder(PathBuf);

impl class::Files for Folder {
    type W = Streamed;

    fn create(&mut self, name: &str) -> Result<Streamed, String> {
        Streamed::create(&self.0, name)
    }

    fn finish(&mut self, w: Streamed) -> Result<PathBuf, String> {
        w.finish()
    }

    fn append(&mut self, out: &mut Streamed, spool: Streamed) -> Result<(), String> {
        let path = spool.finish()?;
        let err = |e: io::Error| format!("{}: {e}", path.display());
        let mut part = std::fs::File::open(&path).map_err(err)?;
        io::copy(&mut part, out).map_err(err)?;
        drop(part);
        std::fs::remove_file(&path).map_err(err)
    }
}
