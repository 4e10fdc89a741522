//! Breach reports and claim letters.
//!
//! [`build`] reads the store and the configuration into a [`Report`] (the model:
//! per contract the timeline the SLA engine evaluated, its [`crate::sla::Evaluation`],
//! every incident with its evidence, the evidence digest); the renderers turn the
//! model into HTML (one self-contained file), Markdown, CSV and JSON, and
//! [`letter`] into a claim letter in Italian or English. [`auto`] decides which
//! closed periods the daemon still has to write.
//!
//! Rendering is pure: no I/O, no clock (the report carries `generated_at`).

pub mod auto;
pub mod basis;
pub(crate) mod class;
pub mod compare;
mod consensus;
mod csv;
mod data;
pub(crate) mod deadline;
pub(crate) mod evidence;
pub(crate) use data::allowance_ms;
pub(crate) mod html;
mod json;
pub mod letter;
mod md;
mod records;
pub(crate) use records::record_json;
pub(crate) mod summary;
pub mod terms;
mod text;
pub(crate) mod verify;
pub(crate) mod words;

pub use data::{
    ContractReport, IncidentRow, Report, ReportError, SEAL_AFTER_MS, SEARCH_MARGIN_MS, at_least,
    build, build_vantages, overrides, unavailable_when_text,
};

/// The language of a letter, and of the reports written with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Italian.
    It,
    /// English.
    En,
}

impl Lang {
    /// Parses `it` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "it" => Some(Lang::It),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `it`, `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML file.
    Html,
    /// Markdown, for a ticket.
    Md,
    /// Three CSV files: contracts, incidents and the records entered by hand.
    Csv,
    /// JSON, documented in docs/report-json.md.
    Json,
}

impl Format {
    /// Every format, in the order files are written.
    pub(crate) const ALL: [Format; 4] = [Format::Html, Format::Md, Format::Csv, Format::Json];

    /// Parses `html`, `md`, `csv`, `json`.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "html" => Format::Html,
            "md" | "markdown" => Format::Md,
            "csv" => Format::Csv,
            "json" => Format::Json,
            _ => return None,
        })
    }

    /// The name and file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Md => "md",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// The base of a report's file names: `slawatch-2023-01`, or
/// `slawatch-2023-01-CONTRACT` for one contract.
pub(crate) fn file_stem(period: &str, contract: Option<&str>) -> String {
    match contract {
        Some(c) => format!("slawatch-{period}-{c}"),
        None => format!("slawatch-{period}"),
    }
}

/// The files of one format: (file name, content). CSV is three files
/// (`STEM-contracts.csv`, `STEM-incidents.csv`, `STEM-records.csv`), the others one.
/// HTML and Markdown are written in `lang`; CSV and JSON are data and keep English names.
pub fn render(report: &Report, format: Format, stem: &str, lang: Lang) -> Vec<(String, String)> {
    match format {
        Format::Html => vec![(format!("{stem}.html"), html::render(report, lang))],
        Format::Md => vec![(format!("{stem}.md"), md::render(report, lang))],
        Format::Json => vec![(format!("{stem}.json"), json::render(report))],
        Format::Csv => vec![
            (format!("{stem}-contracts.csv"), csv::contracts(report)),
            (format!("{stem}-incidents.csv"), csv::incidents(report)),
            (format!("{stem}-records.csv"), records::csv(report)),
        ],
    }
}

/// The files of the report a claim letter for `c` attaches: its contract alone, never
/// the other customers' figures, in HTML and in the letter's language. The letter
/// cites the last file's name.
pub(crate) fn letter_attachment(
    report: &Report,
    c: &ContractReport,
    lang: Lang,
) -> Vec<(String, String)> {
    let own = Report {
        contracts: vec![c.clone()],
        skipped: Vec::new(),
        ..report.clone()
    };
    let stem = letter::report_stem(&c.contract.id, &report.period, lang);
    render(&own, Format::Html, &stem, lang)
}

/// The report as JSON (the `json` format), as a value.
pub fn to_json(report: &Report) -> serde_json::Value {
    json::value(report)
}

/// The timeline the engine evaluated for `contract`, in the format of
/// `slawatch sla --timeline`.
pub fn timeline_json(report: &Report, contract: &str) -> Option<serde_json::Value> {
    report
        .contracts
        .iter()
        .find(|c| c.contract.id == contract)
        .map(|c| c.timeline.to_json())
}
