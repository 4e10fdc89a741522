//! `slawatch report`: the breach report of a period (HTML, Markdown, CSV, JSON) from
//! the evidence database and the configuration's contracts, and claim letters.

use super::{CliError, PeriodSource};
use crate::model::UtcMillis;
use crate::report::{self, Format, Lang, ReportError};
use std::path::PathBuf;

/// Write the breach report of a billing period, and claim letters.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch report --period 2023-01\n      \
    writes reports/slawatch-2023-01.html ([daemon] reports_dir) for every contract\n  \
    slawatch report --period 2023-01 --contract rossi-shop --format md --out -\n      \
    prints one contract's report as Markdown, to paste into a ticket\n  \
    slawatch report --period 2023-01 --format all --out /tmp/evidence\n      \
    writes .html, .md, -contracts.csv, -incidents.csv, -records.csv and .json\n  \
    slawatch report --period 2023-01 --letter --lang it\n      \
    also writes, for each contract with a breach or something owed, the letter\n      \
    claim-CONTRACT-2023-01-it.txt and the report of that contract alone,\n      \
    slawatch-2023-01-CONTRACT-it.html, which the letter attaches\n  \
    slawatch report --period 2023-01 --per-member --date 2023-02-20\n      \
    for each member of the database (slawatch members import), writes into\n      \
    reports/members/MEMBER/ the report of that member's services alone and\n      \
    their letters, in the member's language\n  \
    slawatch report --period 2023-01 --shared --format json\n      \
    the report from the evidence the vantages shipped to the shared PostgreSQL\n      \
    ([shared]) instead of this machine's database\n\n\
    Each contract is evaluated by its plan over the period, in the plan's time zone: \
    its probes' outages combined by unavailable_when, manual incidents (slawatch incident add), \
    the configuration's maintenance windows, and the time slawatch was not probing (no data). \
    The figures are those `slawatch sla` gives for the same timeline (--format json includes it). \
    Every report states the SHA-256 digest of the checks it rests on. \
    `slawatch run` writes each closed period's reports (every format) to reports_dir by itself, once. \
    After the files, a summary per contract: breach, what the contract owes, what the provider offered \
    ([[goodwill]]), what compare_with plans would give by analogy, the largest, and the claim deadline.\n\n\
    Exit status: 0 written, 1 a file or the database could not be read or written, \
    2 bad input (configuration, period, contract, options).")]
pub(super) struct Args {
    #[command(flatten)]
    from: PeriodSource,
    /// Only this contract (default: every contract of the configuration).
    #[arg(long, value_name = "ID")]
    contract: Option<String>,
    /// html (one self-contained file), md, csv (three files), json, or all.
    #[arg(long, value_name = "FORMAT", default_value = "html",
          value_parser = ["html", "md", "csv", "json", "all"])]
    format: String,
    /// The folder to write to (default: [daemon] reports_dir); `-` prints a
    /// single-file format to standard output.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also write a letter for each contract with a breach or something owed (a
    /// claim, a notice of breach, a request for announced goodwill, a complaint
    /// before conciliation), with the report of that contract alone attached.
    #[arg(long)]
    letter: bool,
    /// The language of the letters and of the HTML and Markdown reports.
    #[arg(long, value_name = "LANG", value_parser = ["it", "en"])]
    lang: Option<String>,
    /// The letters' date, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "DATE")]
    date: Option<jiff::civil::Date>,
    /// For each member of the database (`slawatch members import`), write into
    /// REPORTS_DIR/members/MEMBER/ the report of that member's services alone and,
    /// where there is something to claim, the letter, in the member's language.
    #[arg(long, conflicts_with_all = ["contract", "letter", "lang"])]
    per_member: bool,
    /// Read the evidence of every vantage from the shared PostgreSQL that [shared]
    /// of the configuration names, instead of this machine's database.
    #[arg(long, conflicts_with_all = ["database", "per_member"])]
    shared: bool,
    /// With --shared, only this vantage's evidence (repeat for several; default:
    /// every one).
    #[arg(long = "vantage", value_name = "NAME", requires = "shared")]
    vantages: Vec<String>,
}

#[expect(
    clippy::disallowed_methods,
    reason = "a report is stamped with the time it was made, and a letter dated today"
)]
fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Where a report's evidence comes from.
enum Source {
    /// This machine's database.
    Local(crate::store::Reader),
    /// Every vantage of the shared store (`--shared`).
    Shared(Vec<crate::shared::read::SharedVantage>),
}

pub(super) fn run(a: Args) -> Result<(), CliError> {
    if a.date.is_some() && !a.letter && !a.per_member {
        return Err(CliError::bad(
            "--date dates letters: add --letter (or --per-member), or leave --date out",
        ));
    }
    if a.per_member {
        return per_member(a);
    }
    let config = crate::config::load(&a.from.config.config)?;
    if config.contracts.is_empty() {
        return Err(CliError::bad(format!(
            "{}: has no [[contract]]: a report is per contract; add one that binds probes to a plan",
            config.path.display()
        )));
    }
    let stdout = a.out.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let formats: Vec<Format> = match a.format.as_str() {
        "all" => Format::ALL.to_vec(),
        f => Format::parse(f).into_iter().collect(),
    };
    if stdout && (formats.len() != 1 || formats[0] == Format::Csv) {
        return Err(CliError::bad(
            "--out - prints one file, and this format writes several: give --out DIR",
        ));
    }
    if stdout && a.letter {
        return Err(CliError::bad(
            "--letter writes one file per contract: give --out DIR",
        ));
    }
    // After the checks of the arguments: reading the shared store copies it.
    let source = if a.shared {
        Source::Shared(super::db::shared_vantages(&config, &a.vantages)?)
    } else {
        Source::Local(a.from.open(&config)?)
    };
    let generated = now();
    let generated_at = UtcMillis::from_timestamp(generated);
    let only = a.contract.as_deref();
    let report = match &source {
        Source::Local(reader) => report::build(&config, reader, &a.from.period, only, generated_at),
        Source::Shared(vantages) => {
            let list: Vec<(String, &crate::store::Reader)> = vantages
                .iter()
                .map(|v| (v.name.clone(), &v.reader))
                .collect();
            report::build_vantages(&config, &list, &a.from.period, only, generated_at)
        }
    }
    .map_err(|e| match e {
        ReportError::Input(e) => CliError::bad(e),
        e @ ReportError::Store(_) => CliError::failure(e),
    })?;
    for (id, why) in &report.skipped {
        eprintln!(
            "warning: contract '{id}' not evaluated for {}: {why}",
            report.period
        );
    }
    let stem = report::file_stem(&report.period, a.contract.as_deref());
    let lang = a.lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::En);
    if stdout {
        for (_, content) in report::render(&report, formats[0], &stem, lang) {
            print!("{content}");
        }
        return Ok(());
    }
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| config.daemon.reports_dir.clone());
    let write = |name: &str, content: &str| {
        let path =
            report::auto::write_atomically(&dir, name, content).map_err(CliError::failure)?;
        println!("wrote {}", path.display());
        Ok::<(), CliError>(())
    };
    for f in &formats {
        for (name, content) in report::render(&report, *f, &stem, lang) {
            write(&name, &content)?;
        }
    }
    if a.letter {
        letters(&report, &config, lang, a.date, generated, &write)?;
    }
    let lang = a.lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::En);
    print!("{}", report::summary::render(&report, lang));
    Ok(())
}

/// Writes, for each contract of `report` with something to claim, its letter in
/// `lang` and the report of that contract alone, which the letter attaches (never
/// the other contracts' figures); prints why the others get none.
fn letters(
    report: &report::Report,
    config: &crate::config::Config,
    lang: Lang,
    date: Option<jiff::civil::Date>,
    generated: jiff::Timestamp,
    write: &dyn Fn(&str, &str) -> Result<(), CliError>,
) -> Result<u64, CliError> {
    let mut written = 0;
    for c in &report.contracts {
        let date = date.unwrap_or_else(|| {
            generated
                .to_zoned_datetime(c.plan.window.timezone.clone())
                .date()
        });
        if !report::letter::claimable(c) {
            println!("{}", report::letter::nothing_to_claim(c, lang));
            continue;
        }
        let own = report::Report {
            contracts: vec![c.clone()],
            skipped: Vec::new(),
            ..report.clone()
        };
        let own_stem = report::letter::report_stem(&c.contract.id, &report.period, lang);
        let mut attached = String::new();
        for (name, content) in report::render(&own, Format::Html, &own_stem, lang) {
            write(&name, &content)?;
            attached = name;
        }
        let Some(text) = report::letter::render(c, lang, &attached, &report.vantage, date) else {
            continue;
        };
        if let Some(w) = report::letter::missing_addressee(c) {
            eprintln!("warning: {}: {w}", config.path.display());
        }
        let name = report::letter::file_name(&c.contract.id, &report.period, lang);
        write(&name, &text)?;
        written += 1;
    }
    Ok(written)
}

/// `--per-member`: one folder per member, with the report of that member's services
/// only and their letters, in the member's language. A member's report is built from
/// a configuration holding only that member's contracts and from that member's
/// records (`report::class::MemberReports`): nothing of another member is read.
fn per_member(a: Args) -> Result<(), CliError> {
    let mut config = crate::config::load(&a.from.config.config)?;
    let reader = a.from.open(&config)?;
    if a.out.as_deref().is_some_and(|p| p.as_os_str() == "-") {
        return Err(CliError::bad(
            "--per-member writes one folder per member: give --out DIR",
        ));
    }
    let formats: Vec<Format> = match a.format.as_str() {
        "all" => Format::ALL.to_vec(),
        f => Format::parse(f).into_iter().collect(),
    };
    let root = a
        .out
        .clone()
        .unwrap_or_else(|| config.daemon.reports_dir.clone())
        .join("members");
    let generated = now();
    let (mut members, mut letters_written) = (0u64, 0u64);
    let result = (|| -> anyhow::Result<()> {
        let mut reports = report::class::MemberReports::new(
            &mut config,
            &reader,
            &a.from.period,
            UtcMillis::from_timestamp(generated),
        )?;
        report::class::each_member(&reader, |rows| {
            let Some(first) = rows.first() else {
                return Ok(());
            };
            let one = reports.report(rows)?;
            let dir = root.join(&first.member);
            let write = |name: &str, content: &str| {
                let path = report::auto::write_atomically(&dir, name, content)
                    .map_err(CliError::failure)?;
                println!("wrote {}", path.display());
                Ok::<(), CliError>(())
            };
            for (id, why) in &one.report.skipped {
                eprintln!(
                    "warning: contract '{id}' not evaluated for {}: {why}",
                    one.report.period
                );
            }
            let stem = report::file_stem(&one.report.period, None);
            for f in &formats {
                for (name, content) in report::render(&one.report, *f, &stem, one.lang) {
                    write(&name, &content).map_err(|e| anyhow::anyhow!("{e}"))?;
                }
            }
            letters_written += letters(
                &one.report,
                reports.config(),
                one.lang,
                a.date,
                generated,
                &write,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            members += 1;
            Ok(())
        })
    })();
    result.map_err(|e| match e.downcast::<ReportError>() {
        Ok(ReportError::Input(e)) => CliError::bad(e),
        Ok(e) => CliError::failure(e),
        Err(e) => CliError::failure(format!("{e:#}")),
    })?;
    println!(
        "{members} members, {letters_written} letters written under {}",
        root.display()
    );
    Ok(())
}
