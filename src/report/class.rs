//! The class summary of a consumer association (issue 13): one line per member's
//! service over a period, the distribution of outage lengths, and per member and in
//! total what the contracts owe, what the provider offered as goodwill and what each
//! compared regulation would give, with every member's evidence digest and the chain
//! head. Written as CSV, JSON (`docs/class-summary.md`) and HTML
//! (`templates/class-summary.html`), all three streamed: a row is written as soon as
//! its member is evaluated, and only the accumulators ([`Summary`]) stay in memory.
//!
//! Also the per-member configuration ([`member_config`]): the configuration with
//! only one member's contracts, and only the goodwill and maintenance that name them,
//! so nothing of another member can reach that member's report or letter.

use super::Lang;
use super::compare::RemedyKind;
use super::data::{ContractReport, Report, ReportError};
use crate::config::{Config, Contract};
use crate::members::Member;
use crate::model::UtcMillis;
use crate::sla::PeriodSpec;
use crate::store::{Incident, Reader};
use askama::Template;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

/// The outage-length buckets, upper bounds exclusive, in ms: < 1 h, 1-6 h, 6-24 h,
/// 1-3 d, 3-7 d, and > 7 d (the rest).
const BUCKET_BOUNDS_MS: [i64; 5] = [
    3_600_000,
    6 * 3_600_000,
    24 * 3_600_000,
    3 * 86_400_000,
    7 * 86_400_000,
];

/// The buckets' names, as every format writes them.
pub(crate) const BUCKETS: [&str; 6] = ["<1h", "1-6h", "6-24h", "1-3d", "3-7d", ">7d"];

/// The bucket of an outage length: a member-service counts once, by its total
/// outage time in the period.
pub(crate) fn bucket(ms: i64) -> usize {
    BUCKET_BOUNDS_MS
        .iter()
        .position(|b| ms < *b)
        .unwrap_or(BUCKET_BOUNDS_MS.len())
}

/// Who a row belongs to, beside its contract report: the member record's fields the
/// summary shows and the seals it rests on.
#[derive(Clone, Debug)]
pub(crate) struct Holder {
    /// Member id.
    pub member: String,
    /// Service id.
    pub service: String,
    /// The member's name.
    pub name: String,
    /// The member record's seal hash (hex).
    pub record_seal: String,
    /// The seal hashes of the contract's incident records (id, hash), oldest first.
    pub incident_seals: Vec<(i64, String)>,
}

/// One member-service over the period.
#[derive(Clone, Debug)]
pub(crate) struct ServiceRow {
    /// Member id.
    pub member: String,
    /// Service id.
    pub service: String,
    /// The member's name.
    pub name: String,
    /// The contract's plan.
    pub plan: String,
    /// The provider (the contract's, else the plan's).
    pub provider: String,
    /// ISO 4217 of every amount of the row.
    pub currency: String,
    /// Incidents (outages and recorded incidents) overlapping the period.
    pub incidents: usize,
    /// Their time inside the period, ms (overlaps counted once).
    pub outage_ms: i64,
    /// The SLA was breached.
    pub breach: bool,
    /// What the contract owes, money (rounded to the cent).
    pub owed: Decimal,
    /// And days of service.
    pub owed_days: u32,
    /// What the provider's goodwill is worth (days valued at the day value).
    pub goodwill: Decimal,
    /// Goodwill given but not valued ("Business Mail upgrade"), shown as text.
    pub goodwill_other: Vec<String>,
    /// Per compared plan (`compare_with`): its id and what it would give by analogy
    /// (none when it cannot be evaluated).
    pub compared: Vec<(String, Option<Decimal>)>,
    /// The member record's seal hash.
    pub record_seal: String,
    /// The seal hashes of the contract's incident records.
    pub incident_seals: Vec<(i64, String)>,
    /// SHA-256 over `member SEAL` and one `incident ID SEAL` line per record
    /// (`docs/class-summary.md`), hex.
    pub evidence_digest: String,
}

impl ServiceRow {
    /// The row of one member's contract report.
    pub(crate) fn of(h: Holder, c: &ContractReport) -> ServiceRow {
        let (ps, pe) = (c.evaluation.period.start, c.evaluation.period.end);
        let mut spans: Vec<(i64, i64)> = c
            .incidents
            .iter()
            .map(|r| (r.start.0.max(ps), r.end.0.min(pe)))
            .filter(|(s, e)| s < e)
            .collect();
        let incidents = spans.len();
        spans.sort_unstable();
        let mut outage_ms = 0;
        let mut reach = i64::MIN;
        for (s, e) in spans {
            let s = s.max(reach);
            if e > s {
                outage_ms += e - s;
            }
            reach = reach.max(e);
        }
        let remedies = &c.comparison.remedies;
        let (owed, owed_days) = remedies
            .iter()
            .find(|r| r.kind == RemedyKind::Contract)
            .map_or((Decimal::ZERO, 0), |r| {
                // The contract's money is its credit; days of service apart.
                (r.money.unwrap_or_default(), r.days.unwrap_or(0))
            });
        let mut goodwill = Decimal::ZERO;
        let mut goodwill_other = Vec::new();
        let mut compared = Vec::new();
        for r in remedies {
            match r.kind {
                RemedyKind::Contract => {}
                RemedyKind::Goodwill => {
                    if let Some(m) = r.money {
                        goodwill += m;
                    }
                    match (&r.other, r.money) {
                        (Some(o), _) => goodwill_other.push(format!("{}: {o}", r.label)),
                        (None, None) => goodwill_other.push(r.label.clone()),
                        (None, Some(_)) => {}
                    }
                }
                RemedyKind::Compared => compared.push((
                    r.plan_id.clone().unwrap_or_else(|| r.label.clone()),
                    if r.why_nothing.is_some() && r.money.is_none() {
                        None
                    } else {
                        Some(r.money.unwrap_or_default())
                    },
                )),
            }
        }
        let evidence_digest = evidence_digest(&h.record_seal, &h.incident_seals);
        ServiceRow {
            member: h.member,
            service: h.service,
            name: h.name,
            plan: c.plan.id.clone(),
            provider: c
                .contract
                .provider_name
                .clone()
                .unwrap_or_else(|| c.plan.provider.clone().unwrap_or_default()),
            currency: c.currency.clone(),
            incidents,
            outage_ms,
            breach: c.evaluation.breach,
            owed,
            owed_days,
            goodwill,
            goodwill_other,
            compared,
            record_seal: h.record_seal,
            incident_seals: h.incident_seals,
            evidence_digest,
        }
    }

    /// At least one outage or recorded incident in the period.
    pub(crate) fn affected(&self) -> bool {
        self.incidents > 0
    }
}

/// The evidence digest of one member-service: SHA-256 of the lines
/// `member RECORD_SEAL\n` then `incident ID SEAL\n` per incident record, hex.
pub(crate) fn evidence_digest(record_seal: &str, incidents: &[(i64, String)]) -> String {
    let mut h = Sha256::new();
    h.update(format!("member {record_seal}\n").as_bytes());
    for (id, seal) in incidents {
        h.update(format!("incident {id} {seal}\n").as_bytes());
    }
    h.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The sums of one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Member-services in this currency.
    pub services: u64,
    /// Of them affected.
    pub affected: u64,
    /// Owed by the contracts, money.
    pub owed: Decimal,
    /// Owed by the contracts, days of service.
    pub owed_days: u64,
    /// Goodwill, valued.
    pub goodwill: Decimal,
    /// Per compared plan, what it would give.
    pub compared: BTreeMap<String, Decimal>,
}

impl Totals {
    fn add(&mut self, r: &ServiceRow) {
        self.services += 1;
        self.affected += u64::from(r.affected());
        self.owed += r.owed;
        self.owed_days += u64::from(r.owed_days);
        self.goodwill += r.goodwill;
        for (id, m) in &r.compared {
            *self.compared.entry(id.clone()).or_default() += m.unwrap_or_default();
        }
    }
}

/// The accumulators of a class summary: counts, the distribution, sums per
/// currency. Constant size in the number of members.
#[derive(Clone, Debug, Default)]
pub(crate) struct Summary {
    /// The period's label.
    pub period: String,
    /// When the summary was made.
    pub generated_at: UtcMillis,
    /// The hash chain's head then (seal, hex).
    pub chain: Option<(i64, String)>,
    /// Members seen.
    pub members: u64,
    /// Members with at least one affected service.
    pub members_affected: u64,
    /// Member-services seen.
    pub services: u64,
    /// Member-services affected.
    pub services_affected: u64,
    /// Affected member-services per outage-length bucket ([`BUCKETS`]).
    pub distribution: [u64; 6],
    /// Per currency.
    pub totals: BTreeMap<String, Totals>,
    /// Contracts that could not be evaluated over the period: (contract, reason).
    pub skipped: u64,
}

impl Summary {
    /// Adds one member's rows.
    pub(crate) fn add_member(&mut self, rows: &[ServiceRow]) {
        self.members += 1;
        self.members_affected += u64::from(rows.iter().any(ServiceRow::affected));
        for r in rows {
            self.services += 1;
            if r.affected() {
                self.services_affected += 1;
                if let Some(n) = self.distribution.get_mut(bucket(r.outage_ms)) {
                    *n += 1;
                }
            }
            self.totals.entry(r.currency.clone()).or_default().add(r);
        }
    }
}

/// Money as every format writes it: two decimals, a dot.
pub(crate) fn money(d: Decimal) -> String {
    format!(
        "{:.2}",
        d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    )
}

fn hours(ms: i64) -> String {
    let h = Decimal::from(ms) / Decimal::from(3_600_000);
    format!("{:.2}", h.round_dp(2))
}

// ---- the configuration of one member ----

/// What a configuration holds of every member before [`member_config`] narrows it.
pub(crate) struct Whole {
    goodwill: Vec<crate::config::Goodwill>,
    maintenance: Vec<crate::config::Maintenance>,
}

impl Whole {
    /// Takes `config`'s own contracts, goodwill and maintenance out of it: from now
    /// on `config` holds one member at a time (no copy of the configuration).
    pub(crate) fn take(config: &mut Config) -> Whole {
        config.contracts.clear();
        Whole {
            goodwill: std::mem::take(&mut config.goodwill),
            maintenance: std::mem::take(&mut config.maintenance),
        }
    }
}

/// Makes `config` the configuration of one member: only `contracts` (that
/// member's), and only the goodwill and maintenance that name one of them, their
/// contract lists cut to these; everything else (plans, probes, daemon) as loaded.
pub(crate) fn member_config(whole: &Whole, contracts: Vec<Contract>, config: &mut Config) {
    let ids: Vec<&str> = contracts.iter().map(|c| c.id.as_str()).collect();
    config.goodwill.clear();
    for g in &whole.goodwill {
        if contracts.iter().any(|c| g.names(c)) {
            let mut g = g.clone();
            g.contracts.retain(|c| ids.contains(&c.as_str()));
            config.goodwill.push(g);
        }
    }
    config.maintenance.clear();
    for m in &whole.maintenance {
        let named = m.contracts.iter().any(|c| ids.contains(&c.as_str()));
        let by_probe = m
            .probes
            .iter()
            .any(|p| contracts.iter().any(|c| c.probes.contains(p)));
        if named || by_probe {
            let mut m = m.clone();
            m.contracts.retain(|c| ids.contains(&c.as_str()));
            config.maintenance.push(m);
        }
    }
    config.contracts = contracts;
}

// ---- one member at a time ----

/// Builds each member's report from the database: the configuration narrowed to
/// that member ([`member_config`]) and only the incident records of that member's
/// contracts and of their probes, read per contract (never the whole table).
pub(crate) struct MemberReports<'a> {
    config: &'a mut Config,
    whole: Whole,
    reader: &'a Reader,
    spec: PeriodSpec,
    generated_at: UtcMillis,
    probe_records: Vec<Incident>,
}

/// One member's report and, per contract, who holds it.
pub(crate) struct OneMember {
    /// The member's contracts only.
    pub(crate) report: Report,
    /// One per row of the member, in service order.
    pub(crate) holders: Vec<Holder>,
    /// The member's language.
    pub(crate) lang: Lang,
}

impl<'a> MemberReports<'a> {
    /// Takes `config`'s own contracts, goodwill and maintenance out of it: from then
    /// on it holds one member at a time.
    pub(crate) fn new(
        config: &'a mut Config,
        reader: &'a Reader,
        period: &str,
        generated_at: UtcMillis,
    ) -> Result<MemberReports<'a>, ReportError> {
        let spec = PeriodSpec::parse(period).map_err(|e| ReportError::Input(e.to_string()))?;
        let whole = Whole::take(config);
        Ok(MemberReports {
            config,
            whole,
            reader,
            spec,
            generated_at,
            probe_records: reader.probe_records()?,
        })
    }

    /// The configuration as it stands for the last member reported.
    pub(crate) fn config(&self) -> &Config {
        self.config
    }

    /// The report of one member's rows (all of one member).
    pub(crate) fn report(&mut self, rows: &[Member]) -> Result<OneMember, ReportError> {
        let contracts: Vec<Contract> = rows.iter().map(|m| m.contract(self.config)).collect();
        let lang = rows.first().map_or(Lang::En, |m| m.lang(self.config));
        let probes: Vec<&String> = contracts.iter().flat_map(|c| c.probes.iter()).collect();
        let mut records: Vec<Incident> = self
            .probe_records
            .iter()
            .filter(|i| i.probe.as_ref().is_some_and(|p| probes.contains(&p)))
            .cloned()
            .collect();
        let mut holders = Vec::with_capacity(rows.len());
        for m in rows {
            let own = self.reader.contract_records(&m.contract_id())?;
            holders.push(Holder {
                member: m.member.clone(),
                service: m.service.clone(),
                name: m.name.clone(),
                record_seal: m.digest.clone(),
                incident_seals: own
                    .iter()
                    .map(|(i, seal)| (i.id, seal.clone().unwrap_or_default()))
                    .collect(),
            });
            records.extend(own.into_iter().map(|(i, _)| i));
        }
        records.sort_by_key(|i| (i.start.0, i.id));
        member_config(&self.whole, contracts, self.config);
        let report = super::data::build_from(
            self.config,
            self.reader,
            self.spec,
            self.config.contracts.iter().collect(),
            &records,
            false,
            self.generated_at,
        )?;
        Ok(OneMember {
            report,
            holders,
            lang,
        })
    }
}

/// Calls `f` with each member's rows of the database, in member order, one member
/// at a time (the rows of one member are consecutive in `for_each_member`).
pub(crate) fn each_member(
    store: &crate::store::Reader,
    mut f: impl FnMut(&[Member]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut group: Vec<Member> = Vec::new();
    store.for_each_member(|m| {
        if group.first().is_some_and(|g| g.member != m.member) {
            f(&group)?;
            group.clear();
        }
        group.push(m);
        Ok(())
    })?;
    if !group.is_empty() {
        f(&group)?;
    }
    Ok(())
}

/// A member's rows of the summary: its report's contracts matched to their holders
/// by contract id (a contract skipped over the period has no row).
pub(crate) fn rows_of(one: OneMember) -> (Vec<ServiceRow>, u64) {
    let OneMember {
        report, holders, ..
    } = one;
    let skipped = report.skipped.len() as u64;
    let rows = holders
        .into_iter()
        .filter_map(|h| {
            let id = format!("{}.{}", h.member, h.service);
            report
                .contracts
                .iter()
                .find(|c| c.contract.id == id)
                .map(|c| ServiceRow::of(h, c))
        })
        .collect();
    (rows, skipped)
}

/// The class summary of `period`: every member of the database, one at a time,
/// through [`MemberReports`] into the accumulators and the files of `formats`,
/// streamed through `files`. Returns the summary and the files written.
///
/// # Errors
/// Bad input ([`ReportError::Input`]) as a report gives it; a database or file error.
pub(crate) fn summarise<F: Files>(
    config: &mut Config,
    reader: &Reader,
    period: &str,
    formats: &[ClassFormat],
    files: F,
    generated_at: UtcMillis,
    lang: Lang,
) -> anyhow::Result<(Summary, Vec<PathBuf>)> {
    let compared = compared_ids(config);
    let mut reports = MemberReports::new(config, reader, period, generated_at)?;
    let label = reports.spec.to_string();
    let mut writers = Writers::create(files, &label, formats, compared, generated_at, lang)
        .map_err(anyhow::Error::msg)?;
    let mut sum = Summary {
        period: label,
        generated_at,
        chain: reader.chain_head()?,
        ..Summary::default()
    };
    each_member(reader, |rows| {
        let (rows, skipped) = rows_of(reports.report(rows)?);
        sum.skipped += skipped;
        sum.add_member(&rows);
        writers.member(&rows).map_err(anyhow::Error::msg)
    })?;
    let written = writers.finish(&sum).map_err(anyhow::Error::msg)?;
    Ok((sum, written))
}

/// The language of what a summary writes when none is asked: `[members] lang`,
/// else English.
pub(crate) fn default_lang(config: &Config) -> Lang {
    config
        .members
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::En)
}

/// The plans members compare with (`[[members.plan]] compare_with`), each once, in
/// configuration order: one CSV column each.
fn compared_ids(config: &Config) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for p in &config.members.plans {
        for id in &p.compare_with {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

/// The lines `slawatch members summary` prints after the files it wrote.
pub(crate) fn terminal(sum: &Summary) -> String {
    let mut s = format!(
        "class summary {}: {} of {} members affected ({} of {} services)\n",
        sum.period, sum.members_affected, sum.members, sum.services_affected, sum.services
    );
    let buckets: Vec<String> = BUCKETS
        .iter()
        .zip(sum.distribution)
        .map(|(b, n)| format!("{b} {n}"))
        .collect();
    let _ = writeln!(s, "  outage lengths   {}", buckets.join(", "));
    for (cur, t) in &sum.totals {
        let _ = writeln!(
            s,
            "  {cur}: contracts owe {} ({} days), goodwill {}",
            money(t.owed),
            t.owed_days,
            money(t.goodwill)
        );
        for (id, m) in &t.compared {
            let _ = writeln!(s, "  {cur}: {id} (by analogy) {}", money(*m));
        }
    }
    if sum.skipped > 0 {
        let _ = writeln!(
            s,
            "  not evaluated    {} services (see the warnings)",
            sum.skipped
        );
    }
    if let Some((seal, head)) = &sum.chain {
        let _ = writeln!(s, "  chain            seal {seal} head {head}");
    }
    s
}

// ---- streamed writers ----

/// Where the summary's files go. Rendering does no I/O: the CLI opens the files
/// (`cli::class_summary::Streamed`: a new temporary file renamed into place when
/// whole).
pub(crate) trait Files {
    /// One file being written.
    type W: Write;
    /// Starts the file `name`.
    ///
    /// # Errors
    /// When it cannot be created.
    fn create(&mut self, name: &str) -> Result<Self::W, String>;
    /// `w` is whole: puts it in place and says where.
    ///
    /// # Errors
    /// When it cannot be written.
    fn finish(&mut self, w: Self::W) -> Result<PathBuf, String>;
    /// Appends what was written to `spool` to `out`, then discards `spool`.
    ///
    /// # Errors
    /// When either cannot be read or written.
    fn append(&mut self, out: &mut Self::W, spool: Self::W) -> Result<(), String>;
}

/// The CSV columns (`docs/class-summary.md`); then one `compared:PLAN` column per
/// compared plan.
pub(crate) const CSV_COLUMNS: [&str; 19] = [
    "row",
    "member",
    "service",
    "name",
    "plan",
    "provider",
    "currency",
    "affected",
    "incidents",
    "outage_hours",
    "bucket",
    "breach",
    "owed",
    "owed_days",
    "goodwill",
    "goodwill_other",
    "services",
    "record_seal",
    "evidence_digest",
];

fn csv_line(w: &mut impl Write, cells: &[String]) -> io::Result<()> {
    let mut line = String::new();
    super::csv::line(&mut line, cells);
    w.write_all(line.as_bytes())
}

/// What the summary writes, in which formats; fed member by member.
pub(crate) struct Writers<F: Files> {
    files: F,
    compared: Vec<String>,
    csv: Option<F::W>,
    json: Option<F::W>,
    json_first: bool,
    html_rows: Option<F::W>,
    html: Option<String>,
    lang: super::Lang,
}

/// Formats of the class summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClassFormat {
    /// `class-summary-PERIOD.html`.
    Html,
    /// `class-summary-PERIOD.csv`.
    Csv,
    /// `class-summary-PERIOD.json`.
    Json,
}

impl ClassFormat {
    /// Parses `html`, `csv`, `json`.
    pub(crate) fn parse(s: &str) -> Option<ClassFormat> {
        match s {
            "html" => Some(ClassFormat::Html),
            "csv" => Some(ClassFormat::Csv),
            "json" => Some(ClassFormat::Json),
            _ => None,
        }
    }
}

/// The summary's file name of a format.
pub(crate) fn file_name(period: &str, ext: &str) -> String {
    format!("class-summary-{period}.{ext}")
}

fn io_err(name: &str) -> impl Fn(io::Error) -> String + '_ {
    move |e| format!("{name}: {e}")
}

impl<F: Files> Writers<F> {
    /// Opens the files of `formats` through `files`; `compared` are the compared
    /// plans' ids, one CSV column each.
    pub(crate) fn create(
        mut files: F,
        period: &str,
        formats: &[ClassFormat],
        compared: Vec<String>,
        generated_at: UtcMillis,
        lang: super::Lang,
    ) -> Result<Writers<F>, String> {
        let csv_name = file_name(period, "csv");
        let json_name = file_name(period, "json");
        let mut csv = None;
        if formats.contains(&ClassFormat::Csv) {
            let mut s = files.create(&csv_name)?;
            let mut header: Vec<String> = CSV_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
            header.extend(compared.iter().map(|c| format!("compared:{c}")));
            csv_line(&mut s, &header).map_err(io_err(&csv_name))?;
            csv = Some(s);
        }
        let mut json = None;
        if formats.contains(&ClassFormat::Json) {
            let mut s = files.create(&json_name)?;
            write!(
                s,
                "{{\"format\":\"slawatch-class-summary\",\"version\":1,\"period\":{},\"generated_at\":{},\"members\":[",
                json!(period),
                json!(generated_at.to_timestamp().to_string())
            )
            .map_err(io_err(&json_name))?;
            json = Some(s);
        }
        let (mut html_rows, mut html) = (None, None);
        if formats.contains(&ClassFormat::Html) {
            html_rows = Some(files.create(&format!("class-summary-{period}.rows.part"))?);
            html = Some(file_name(period, "html"));
        }
        Ok(Writers {
            files,
            compared,
            csv,
            json,
            json_first: true,
            html_rows,
            html,
            lang,
        })
    }

    /// Writes one member's rows (all of one member, in service order).
    pub(crate) fn member(&mut self, rows: &[ServiceRow]) -> Result<(), String> {
        if let Some(s) = &mut self.csv {
            for r in rows {
                let mut cells = vec![
                    "member".to_owned(),
                    r.member.clone(),
                    r.service.clone(),
                    r.name.clone(),
                    r.plan.clone(),
                    r.provider.clone(),
                    r.currency.clone(),
                    if r.affected() { "yes" } else { "no" }.to_owned(),
                    r.incidents.to_string(),
                    hours(r.outage_ms),
                    if r.affected() {
                        BUCKETS[bucket(r.outage_ms)].to_owned()
                    } else {
                        String::new()
                    },
                    if r.breach { "yes" } else { "no" }.to_owned(),
                    money(r.owed),
                    r.owed_days.to_string(),
                    money(r.goodwill),
                    r.goodwill_other.join("; "),
                    "1".to_owned(),
                    r.record_seal.clone(),
                    r.evidence_digest.clone(),
                ];
                for id in &self.compared {
                    cells.push(
                        r.compared
                            .iter()
                            .find(|(c, _)| c == id)
                            .and_then(|(_, m)| *m)
                            .map(money)
                            .unwrap_or_default(),
                    );
                }
                csv_line(s, &cells).map_err(|e| e.to_string())?;
            }
        }
        if let Some(s) = &mut self.json
            && let Some(first) = rows.first()
        {
            let v = json!({
                "member": first.member,
                "name": first.name,
                "affected": rows.iter().any(ServiceRow::affected),
                "services": rows.iter().map(service_json).collect::<Vec<_>>(),
            });
            if !self.json_first {
                s.write_all(b",").map_err(|e| e.to_string())?;
            }
            self.json_first = false;
            serde_json::to_writer(&mut *s, &v).map_err(|e| e.to_string())?;
        }
        if let Some(s) = &mut self.html_rows {
            for (i, r) in rows.iter().enumerate() {
                let t = HtmlRow::of(r, i == 0, rows.len(), &self.compared);
                let text = t.render().map_err(|e| e.to_string())?;
                s.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// Writes the totals, closes every file, and returns the paths written.
    pub(crate) fn finish(mut self, sum: &Summary) -> Result<Vec<PathBuf>, String> {
        let mut written = Vec::new();
        if let Some(mut s) = self.csv.take() {
            for (cur, t) in &sum.totals {
                let mut cells = vec![
                    "total".to_owned(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    cur.clone(),
                    t.affected.to_string(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    money(t.owed),
                    t.owed_days.to_string(),
                    money(t.goodwill),
                    String::new(),
                    t.services.to_string(),
                    String::new(),
                    String::new(),
                ];
                for id in &self.compared {
                    cells.push(t.compared.get(id).copied().map(money).unwrap_or_default());
                }
                csv_line(&mut s, &cells).map_err(|e| e.to_string())?;
            }
            written.push(self.files.finish(s)?);
        }
        if let Some(mut s) = self.json.take() {
            let tail = json!({
                "chain": sum.chain.as_ref().map(|(seal, head)| json!({"seal": seal, "head": head})),
                "distribution": BUCKETS.iter().zip(sum.distribution).map(|(b, n)| json!({"bucket": b, "services": n})).collect::<Vec<_>>(),
                "totals": totals_json(sum),
            });
            let Value::Object(map) = tail else {
                return Err("internal: the summary's tail is not an object".to_owned());
            };
            s.write_all(b"]").map_err(|e| e.to_string())?;
            for (k, v) in map {
                write!(s, ",{}:{}", json!(k), v).map_err(|e| e.to_string())?;
            }
            s.write_all(b"}\n").map_err(|e| e.to_string())?;
            written.push(self.files.finish(s)?);
        }
        if let (Some(rows), Some(name)) = (self.html_rows.take(), self.html.take()) {
            let mut out = self.files.create(&name)?;
            let head = HtmlHead::of(sum, &self.compared, self.lang);
            out.write_all(head.render().map_err(|e| e.to_string())?.as_bytes())
                .map_err(io_err(&name))?;
            self.files.append(&mut out, rows)?;
            let foot = HtmlFoot {
                chain: sum
                    .chain
                    .as_ref()
                    .map(|(s, h)| format!("{s} {h}"))
                    .unwrap_or_default(),
                en: self.lang == super::Lang::En,
            };
            out.write_all(foot.render().map_err(|e| e.to_string())?.as_bytes())
                .map_err(io_err(&name))?;
            written.push(self.files.finish(out)?);
        }
        Ok(written)
    }
}

fn service_json(r: &ServiceRow) -> Value {
    json!({
        "service": r.service,
        "plan": r.plan,
        "provider": r.provider,
        "currency": r.currency,
        "affected": r.affected(),
        "incidents": r.incidents,
        "outage_ms": r.outage_ms,
        "bucket": r.affected().then(|| BUCKETS[bucket(r.outage_ms)]),
        "breach": r.breach,
        "owed": money(r.owed),
        "owed_days": r.owed_days,
        "goodwill": money(r.goodwill),
        "goodwill_other": r.goodwill_other,
        "compared": r.compared.iter().map(|(id, m)| json!({"plan": id, "money": m.map(money)})).collect::<Vec<_>>(),
        "record_seal": r.record_seal,
        "incident_seals": r.incident_seals.iter().map(|(id, h)| json!({"incident": id, "seal": h})).collect::<Vec<_>>(),
        "evidence_digest": r.evidence_digest,
    })
}

fn totals_json(sum: &Summary) -> Value {
    json!({
        "members": sum.members,
        "members_affected": sum.members_affected,
        "services": sum.services,
        "services_affected": sum.services_affected,
        "skipped": sum.skipped,
        "by_currency": sum.totals.iter().map(|(cur, t)| (cur.clone(), json!({
            "services": t.services,
            "affected": t.affected,
            "owed": money(t.owed),
            "owed_days": t.owed_days,
            "goodwill": money(t.goodwill),
            "compared": t.compared.iter().map(|(id, m)| (id.clone(), json!(money(*m)))).collect::<serde_json::Map<_, _>>(),
        }))).collect::<serde_json::Map<_, _>>(),
    })
}

// ---- HTML (askama, escaped by default) ----

/// The top of the page: the figures and the distribution, then the member table's head.
#[derive(Template)]
#[template(path = "class-summary.html", block = "head")]
struct HtmlHead {
    en: bool,
    period: String,
    generated_at: String,
    members: u64,
    members_affected: u64,
    services: u64,
    services_affected: u64,
    skipped: u64,
    distribution: Vec<(&'static str, u64)>,
    totals: Vec<TotalLine>,
    compared: Vec<String>,
}

struct TotalLine {
    currency: String,
    services: u64,
    owed: String,
    owed_days: u64,
    goodwill: String,
    compared: Vec<String>,
}

impl HtmlHead {
    fn of(sum: &Summary, compared: &[String], lang: super::Lang) -> HtmlHead {
        HtmlHead {
            en: lang == super::Lang::En,
            period: sum.period.clone(),
            generated_at: sum.generated_at.to_timestamp().to_string(),
            members: sum.members,
            members_affected: sum.members_affected,
            services: sum.services,
            services_affected: sum.services_affected,
            skipped: sum.skipped,
            distribution: BUCKETS.iter().copied().zip(sum.distribution).collect(),
            totals: sum
                .totals
                .iter()
                .map(|(cur, t)| TotalLine {
                    currency: cur.clone(),
                    services: t.services,
                    owed: money(t.owed),
                    owed_days: t.owed_days,
                    goodwill: money(t.goodwill),
                    compared: compared
                        .iter()
                        .map(|id| t.compared.get(id).copied().map(money).unwrap_or_default())
                        .collect(),
                })
                .collect(),
            compared: compared.to_vec(),
        }
    }
}

/// One member-service's row of the member table.
#[derive(Template)]
#[template(path = "class-summary.html", block = "row")]
struct HtmlRow {
    first: bool,
    span: usize,
    member: String,
    name: String,
    service: String,
    plan: String,
    affected: bool,
    hours: String,
    bucket: String,
    currency: String,
    owed: String,
    owed_days: u32,
    goodwill: String,
    goodwill_other: String,
    compared: Vec<String>,
    digest: String,
}

impl HtmlRow {
    fn of(r: &ServiceRow, first: bool, span: usize, compared: &[String]) -> HtmlRow {
        HtmlRow {
            first,
            span,
            member: r.member.clone(),
            name: r.name.clone(),
            service: r.service.clone(),
            plan: r.plan.clone(),
            affected: r.affected(),
            hours: hours(r.outage_ms),
            bucket: if r.affected() {
                BUCKETS[bucket(r.outage_ms)].to_owned()
            } else {
                String::new()
            },
            currency: r.currency.clone(),
            owed: money(r.owed),
            owed_days: r.owed_days,
            goodwill: money(r.goodwill),
            goodwill_other: r.goodwill_other.join("; "),
            compared: compared
                .iter()
                .map(|id| {
                    r.compared
                        .iter()
                        .find(|(c, _)| c == id)
                        .and_then(|(_, m)| *m)
                        .map(money)
                        .unwrap_or_default()
                })
                .collect(),
            digest: r.evidence_digest.clone(),
        }
    }
}

/// The end of the page: the chain head.
#[derive(Template)]
#[template(path = "class-summary.html", block = "foot")]
struct HtmlFoot {
    chain: String,
    en: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_escapes_what_members_wrote() {
        let mut r = row("a", "EUR", "1", 60_000, None);
        r.name = "<script>alert(1)</script> & \"x\"".to_owned();
        let html = HtmlRow::of(&r, true, 1, &["agcom".to_owned()])
            .render()
            .unwrap_or_default();
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn a_members_configuration_keeps_only_its_goodwill_and_maintenance_naming_it() {
        let text = r#"
[[tcp]]
name = "shared"
target = "mail.example.test:993"

[[plan]]
id = "p"
currency = "EUR"
fee = "1.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "99"
measurement.method = "time"
credit.scheme = "none"

"#;
        let mut cfg =
            match crate::config::parse_str(text, std::path::Path::new("probes.toml"), &|_| None) {
                Ok(c) => c,
                Err(e) => panic!("{e:?}"),
            };
        let goodwill = |event: &str, contracts: &[&str]| crate::config::Goodwill {
            event: event.to_owned(),
            date: jiff::civil::date(2023, 1, 22),
            announced: None,
            contracts: contracts.iter().map(|c| (*c).to_owned()).collect(),
            plans: Vec::new(),
            extension_days: Some(3),
            amount: None,
            upgrade: None,
            source: None,
            note: None,
        };
        let maintenance = |contracts: &[&str]| crate::config::Maintenance {
            contracts: contracts.iter().map(|c| (*c).to_owned()).collect(),
            probes: Vec::new(),
            start: UtcMillis(0),
            end: UtcMillis(1),
            announced_at: None,
            note: None,
        };
        cfg.goodwill = vec![
            goodwill("for two members", &["A1.mail", "B2.mail"]),
            goodwill("for the other only", &["B2.mail"]),
        ];
        cfg.maintenance = vec![
            maintenance(&["A1.mail", "B2.mail"]),
            maintenance(&["B2.mail"]),
        ];
        let whole = Whole::take(&mut cfg);
        let member = |id: &str| crate::members::Member {
            member: id.to_owned(),
            service: "mail".to_owned(),
            name: id.to_owned(),
            email: None,
            address: None,
            provider: None,
            plan: "p".to_owned(),
            fee: None,
            fee_period: None,
            customer_type: None,
            service_start: None,
            lang: None,
            customer_code: None,
            contract_number: None,
            seq: 1,
            digest: String::new(),
        };
        let a = member("A1").contract(&cfg);
        member_config(&whole, vec![a], &mut cfg);
        assert_eq!(cfg.contracts.len(), 1);
        assert_eq!(cfg.goodwill.len(), 1);
        assert_eq!(cfg.goodwill[0].contracts, vec!["A1.mail".to_owned()]);
        assert_eq!(cfg.maintenance.len(), 1);
        assert_eq!(cfg.maintenance[0].contracts, vec!["A1.mail".to_owned()]);
    }

    #[test]
    fn buckets_split_at_their_bounds() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(3_599_999), 0);
        assert_eq!(bucket(3_600_000), 1);
        assert_eq!(bucket(6 * 3_600_000), 2);
        assert_eq!(bucket(24 * 3_600_000 - 1), 2);
        assert_eq!(bucket(24 * 3_600_000), 3);
        assert_eq!(bucket(3 * 86_400_000), 4);
        assert_eq!(bucket(7 * 86_400_000 - 1), 4);
        assert_eq!(bucket(7 * 86_400_000), 5);
    }

    #[test]
    fn the_evidence_digest_is_sha256_of_its_documented_lines() {
        // printf 'member ab\nincident 7 cd\n' | sha256sum
        let d = evidence_digest("ab", &[(7, "cd".to_owned())]);
        let mut h = Sha256::new();
        h.update(b"member ab\nincident 7 cd\n");
        let want: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(d, want);
        assert_ne!(d, evidence_digest("ab", &[]));
    }

    fn row(member: &str, cur: &str, owed: &str, ms: i64, compared: Option<&str>) -> ServiceRow {
        ServiceRow {
            member: member.to_owned(),
            service: "mail".to_owned(),
            name: format!("Name {member}"),
            plan: "p".to_owned(),
            provider: "x".to_owned(),
            currency: cur.to_owned(),
            incidents: usize::from(ms > 0),
            outage_ms: ms,
            breach: ms > 0,
            owed: owed.parse().unwrap_or_default(),
            owed_days: 1,
            goodwill: Decimal::new(50, 2),
            goodwill_other: Vec::new(),
            compared: vec![(
                "agcom".to_owned(),
                compared.map(|c| c.parse().unwrap_or_default()),
            )],
            record_seal: "00".to_owned(),
            incident_seals: Vec::new(),
            evidence_digest: String::new(),
        }
    }

    #[test]
    fn totals_are_sums_per_currency_and_the_distribution_counts_affected_services() {
        let mut s = Summary::default();
        s.add_member(&[row("a", "EUR", "1.10", 30 * 60_000, Some("2.00"))]);
        s.add_member(&[
            row("b", "EUR", "0.20", 0, None),
            row("b", "USD", "3.00", 8 * 86_400_000, Some("4.50")),
        ]);
        assert_eq!((s.members, s.members_affected), (2, 2));
        assert_eq!((s.services, s.services_affected), (3, 2));
        assert_eq!(s.distribution, [1, 0, 0, 0, 0, 1]);
        let eur = &s.totals["EUR"];
        assert_eq!(eur.owed, "1.30".parse::<Decimal>().unwrap_or_default());
        assert_eq!(eur.owed_days, 2);
        assert_eq!(eur.goodwill, Decimal::ONE);
        assert_eq!(eur.compared["agcom"], Decimal::from(2));
        assert_eq!(
            s.totals["USD"].compared["agcom"],
            "4.50".parse::<Decimal>().unwrap_or_default()
        );
        assert_eq!(money(Decimal::new(5, 3)), "0.01");
        assert_eq!(money(Decimal::from(3)), "3.00");
    }
}
