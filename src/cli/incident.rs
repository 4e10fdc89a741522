//! `slawatch incident add|list|amend|withdraw|import`: evidence entered by hand.
//!
//! Names are checked against the configuration (`--config`): an unknown probe or
//! contract is refused with the closest name ("did you mean"), a cause the plan
//! does not exclude is warned about, and local times take the plan's zone. Without
//! a readable configuration, `--database` must be given explicitly: the record is
//! then stored unchecked (a warning says so) and local times need `--tz`.
//!
//! Records are never changed: `amend` and `withdraw` store a new sealed record that
//! supersedes the latest one of its chain (`crate::store::add_incidents`).
//! Attachments are hashed (SHA-256, sealed with the record) and copied, named by
//! their hash, into `DATABASE.attachments/` (mode 0700), at most 50 MiB each.

use super::CliError;
use crate::config::Config;
use crate::model::UtcMillis;
use crate::store::{Incident, IncidentSource, NewIncident, Reader, parse_zone};
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// An import file larger than this is refused (it is read whole).
const MAX_IMPORT_BYTES: u64 = 16 * 1024 * 1024;

/// An attachment larger than this is refused.
const MAX_ATTACHMENT_BYTES: u64 = 50 * 1024 * 1024;

/// Record, correct or list outages seen outside the probes: before monitoring
/// began, published on the provider's status page, or stated by the provider.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident add --contract rossi-shop --start 2011-04-29T04:30 --end 2011-05-02T18:00 \
    --source status-page --cause force_majeure --attach status-page.pdf\n  \
    slawatch incident list --all\n  \
    slawatch incident amend 4 --end 2011-05-03T09:00 --reason \"restore confirmed later\"\n  \
    slawatch incident withdraw 4 --reason \"entered for the wrong contract\"\n  \
    slawatch incident import outages.csv\n\n\
    Records are never changed or deleted: amend and withdraw add a sealed record that \
    supersedes the previous one, and `slawatch verify` checks them all.")]
pub(super) struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    Add(AddArgs),
    List(ListArgs),
    Amend(AmendArgs),
    Withdraw(WithdrawArgs),
    Import(ImportArgs),
}

/// Where the configuration and the database are: [`super::Where`], its `--database`
/// help telling what giving it changes for an incident.
#[derive(Debug, Clone, clap::Args)]
#[command(mut_arg("database", |a| a.help(
    "The SQLite database (default: [daemon] database of the configuration). Given \
     explicitly, an unreadable configuration only disables the name checks"
)))]
struct At {
    #[command(flatten)]
    at: super::Where,
}

/// Record an outage seen by hand; reports count it and mark it with its source.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident add --probe mailbox --start 2023-01-22T08:00 --end 2023-01-27T18:30 \
    --note \"webmail and IMAP down, no reply from support\"\n  \
    slawatch incident add --contract rossi-shop --source status-page --tz Europe/Rome \
    --start 2011-04-29T04:30 --cause force_majeure --note \"https://status.example.test/123\"\n\n\
    Times: local (2011-04-29T04:30) in --tz, else the zone of the contract's plan (or of \
    the plan of a contract the probe belongs to); or with their own offset \
    (2011-04-29T04:30+02:00, ...Z). No --end: the incident is open and counts until the \
    report's period end or the report's time. Safe while the daemon runs.")]
struct AddArgs {
    #[command(flatten)]
    at: At,
    /// The probe the incident concerns (a name of the configuration).
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "contract",
        conflicts_with = "contract"
    )]
    probe: Option<String>,
    /// The contract the incident concerns (an id of the configuration).
    #[arg(long, value_name = "ID")]
    contract: Option<String>,
    /// When it began: local, or with an offset.
    #[arg(long, value_name = "T")]
    start: String,
    /// When it ended (exclusive); none = still open.
    #[arg(long, value_name = "T")]
    end: Option<String>,
    /// The zone of local times: an IANA name (Europe/Rome) or an offset (+02:00).
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// What caused it (force_majeure, customer...): a plan excludes the causes of its
    /// `exclusions.causes`.
    #[arg(long, value_name = "CAUSE")]
    cause: Option<String>,
    /// Who saw it: manual (you), status-page (the provider published it), provider
    /// (the provider's own statement, e.g. a press release).
    #[arg(long, value_name = "SOURCE", default_value = "manual", value_parser = parse_source)]
    source: IncidentSource,
    /// What was seen, or a link to the provider's notice.
    #[arg(long, value_name = "TEXT", default_value = "")]
    note: String,
    /// A file kept as evidence (a screenshot, the press release): its SHA-256 is
    /// sealed and a copy kept. Repeatable; at most 50 MiB each.
    #[arg(long, value_name = "FILE")]
    attach: Vec<PathBuf>,
}

/// List the incidents: what counts (the latest record of each, withdrawn ones
/// left out), or with --all every record and what superseded what.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident list --config probes.toml\n  \
    slawatch incident list --all --database /var/lib/slawatch/slawatch.db --json")]
struct ListArgs {
    #[command(flatten)]
    at: At,
    /// Every record, superseded and withdrawn ones too.
    #[arg(long)]
    all: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Correct an incident: a new record that supersedes it (the original stays, sealed).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident amend 4 --end 2011-05-03T09:00 --reason \"restore confirmed by support\"\n  \
    slawatch incident amend 4 --attach letter.pdf --reason \"the provider's letter\"\n\n\
    Only the latest record of an incident can be amended; `incident list --all` shows it.")]
struct AmendArgs {
    #[command(flatten)]
    at: At,
    /// The record to supersede.
    id: i64,
    // What the amendment changes: the options of `add`, each optional (none = as it
    // was), with a help line of its own.
    #[arg(long, value_name = "T", help = "New start")]
    start: Option<String>,
    #[arg(long, value_name = "T", help = "New end (closes an open incident)")]
    end: Option<String>,
    #[arg(
        long,
        value_name = "ZONE",
        help = "The zone of local times (default: the record's, else the plan's)"
    )]
    tz: Option<String>,
    #[arg(long, value_name = "CAUSE", help = "New cause")]
    cause: Option<String>,
    #[arg(long, value_name = "TEXT", help = "New note")]
    note: Option<String>,
    #[arg(
        long,
        value_name = "FILE",
        help = "Another file kept as evidence (the record's own attachments are kept)"
    )]
    attach: Vec<PathBuf>,
    /// Why (required): it is stored with the record.
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

/// Withdraw an incident: a new record saying it no longer counts (the original
/// stays, sealed, and reports list it as withdrawn).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident withdraw 4 --reason \"entered for the wrong contract\"")]
struct WithdrawArgs {
    #[command(flatten)]
    at: At,
    /// The record to withdraw.
    id: i64,
    /// Why (required): it is stored with the record.
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

/// Record many incidents from a CSV file: all rows are checked first, and nothing
/// is stored unless every row is right.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch incident import outages.csv --config probes.toml\n\n\
    Example file:\n  \
    probe,contract,start,end,tz,cause,source,note,attach\n  \
    ,rossi-shop,2011-04-29T04:30,2011-05-02T18:00,Europe/Rome,force_majeure,status-page,fire,shot.png\n  \
    mailbox,,2023-01-22T08:00,,,,manual,still down,\n\n\
    One of probe or contract per row; end empty = open; tz, cause, note and attach may \
    be empty; source is manual, status-page or provider (empty = manual); attach lists \
    files separated by ';', relative to the CSV file.\n\n\
    An association's members: columns member and service instead of probe or contract \
    name a member's service imported with `slawatch members import` (its contract is \
    member.service; times are local in its plan's zone); sha256, next to attach, is each \
    file's expected SHA-256 (';'-separated), checked before anything is stored.")]
struct ImportArgs {
    #[command(flatten)]
    at: At,
    /// The CSV file.
    file: PathBuf,
}

fn parse_source(s: &str) -> Result<IncidentSource, String> {
    IncidentSource::parse(s).ok_or_else(|| format!("'{s}': write manual, status-page or provider"))
}

#[expect(
    clippy::disallowed_methods,
    reason = "an incident records when it was entered"
)]
fn now() -> UtcMillis {
    UtcMillis::from_timestamp(jiff::Timestamp::now())
}

pub(super) fn run(a: Args) -> Result<(), CliError> {
    match a.command {
        Sub::Add(a) => add(a),
        Sub::List(a) => list(&a),
        Sub::Amend(a) => amend(a),
        Sub::Withdraw(a) => withdraw(&a),
        Sub::Import(a) => import(&a),
    }
}

/// The configuration (when readable) and the database.
struct Ctx {
    config: Option<Config>,
    database: PathBuf,
}

impl At {
    fn resolve(&self, checks_names: bool) -> Result<Ctx, CliError> {
        match (
            crate::config::load(&self.at.config.config),
            &self.at.database,
        ) {
            (Ok(c), Some(d)) => Ok(Ctx {
                config: Some(c),
                database: d.clone(),
            }),
            (Ok(c), None) => Ok(Ctx {
                database: c.daemon.database.clone(),
                config: Some(c),
            }),
            (Err(e), Some(d)) => {
                if checks_names {
                    eprintln!(
                        "warning: the configuration {} cannot be read, so probe and contract \
                         names, causes and zones are not checked: {}",
                        self.at.config.config.display(),
                        e.to_string().lines().next().unwrap_or_default()
                    );
                }
                Ok(Ctx {
                    config: None,
                    database: d.clone(),
                })
            }
            (Err(e), None) => Err(CliError::from(e).with_line(
                "hint: the configuration names the database and the probes and \
                 contracts an incident may concern; give --config FILE, or --database \
                 FILE to record without checking names",
            )),
        }
    }
}

/// A record as written by the user, before it is checked.
#[derive(Debug, Default)]
struct Draft {
    probe: Option<String>,
    contract: Option<String>,
    start: String,
    end: Option<String>,
    tz: Option<String>,
    cause: Option<String>,
    source: IncidentSource,
    note: String,
    attach: Vec<PathBuf>,
    /// The expected SHA-256 of each attachment (import's `sha256`), when given.
    sha256: Vec<String>,
    /// For a member's service (import's `member` + `service`): the plan of its
    /// stored record. The contract is then the member's, known to the database
    /// rather than to the configuration.
    member_plan: Option<String>,
}

/// A checked attachment: where it is, its name, hash and size.
#[derive(Clone, Debug)]
struct Attachment {
    path: PathBuf,
    name: String,
    sha256: String,
    size: u64,
}

/// A checked record, ready to store.
struct Checked {
    incident: Incident,
    attachments: Vec<Attachment>,
    zone: Option<(String, TimeZone)>,
    warnings: Vec<String>,
}

/// A problem with one field of a draft (`field` names the CSV column).
struct FieldError {
    field: &'static str,
    message: String,
}

fn err(field: &'static str, message: String) -> FieldError {
    FieldError { field, message }
}

/// A time as written: with its own offset or `Z`, or local in `zone`.
fn parse_time(s: &str, zone: Option<&(String, TimeZone)>) -> Result<UtcMillis, String> {
    let s = s.trim();
    let pieces = jiff::fmt::temporal::Pieces::parse(s).map_err(|_| {
        format!(
            "'{s}' is not a time: write it like 2011-04-29T04:30 (local) or \
             2011-04-29T04:30+02:00"
        )
    })?;
    if pieces.offset().is_some() {
        return crate::sla::timeline::parse_instant(s);
    }
    let Some((name, tz)) = zone else {
        return Err(format!(
            "'{s}' is a local time and no zone is known: give --tz (e.g. Europe/Rome), or \
             write it with its offset (e.g. {s}+02:00)"
        ));
    };
    let dt = pieces.date().to_datetime(pieces.time().unwrap_or_default());
    let ts = tz.to_ambiguous_timestamp(dt).unambiguous().map_err(|_| {
        format!(
            "'{s}' happens twice or never in {name} (a clock change): write it with its \
             offset, e.g. {s}+02:00"
        )
    })?;
    Ok(UtcMillis::from_timestamp(ts))
}

/// The plans that concern a probe or a contract.
fn plans_for<'c>(
    config: &'c Config,
    probe: Option<&str>,
    contract: Option<&str>,
) -> Vec<(&'c str, &'c crate::sla::Plan)> {
    config
        .contracts
        .iter()
        .filter(|c| {
            contract == Some(c.id.as_str())
                || probe.is_some_and(|p| c.probes.iter().any(|q| q == p))
        })
        .filter_map(|c| {
            config
                .plans
                .iter()
                .find(|p| p.id == c.plan)
                .map(|p| (c.id.as_str(), p))
        })
        .collect()
}

/// The plans that concern a record: its member's plan, else [`plans_for`].
fn plans_of<'c>(
    config: &'c Config,
    probe: Option<&str>,
    contract: Option<&'c str>,
    member_plan: Option<&str>,
) -> Vec<(&'c str, &'c crate::sla::Plan)> {
    match member_plan {
        Some(id) => config
            .plans
            .iter()
            .filter(|p| p.id == id)
            .map(|p| (contract.unwrap_or_default(), p))
            .collect(),
        None => plans_for(config, probe, contract),
    }
}

/// The zone local times are read in: `--tz`, else the record's own, else the plan's.
fn zone_for(
    config: Option<&Config>,
    probe: Option<&str>,
    contract: Option<&str>,
    member_plan: Option<&str>,
    tz: Option<&str>,
) -> Result<Option<(String, TimeZone)>, String> {
    if let Some(tz) = tz.filter(|t| !t.trim().is_empty()) {
        return parse_zone(tz).map(Some);
    }
    let Some(config) = config else {
        return Ok(None);
    };
    let mut zones: BTreeMap<&str, (&str, &TimeZone)> = BTreeMap::new();
    let mut which: Vec<String> = Vec::new();
    for (cid, p) in plans_of(config, probe, contract, member_plan) {
        zones.insert(&p.window.timezone_name, (cid, &p.window.timezone));
        which.push(format!("{cid}: {}", p.window.timezone_name));
    }
    match zones.len() {
        0 => Ok(None),
        1 => Ok(zones
            .into_iter()
            .next()
            .map(|(n, (_, tz))| (n.to_owned(), tz.clone()))),
        _ => Err(format!(
            "the probe belongs to contracts in different zones ({}): give --tz",
            which.join(", ")
        )),
    }
}

/// "29 Apr 2011 04:30" in `tz` (UTC without one).
fn local(ms: UtcMillis, tz: Option<&TimeZone>) -> String {
    let tz = tz.cloned().unwrap_or(TimeZone::UTC);
    ms.to_timestamp()
        .to_zoned_datetime(tz)
        .strftime("%-d %b %Y %H:%M")
        .to_string()
}

/// "Europe/Rome (+02:00)" at `at`; "UTC" without a zone.
fn zone_label(zone: Option<&(String, TimeZone)>, at: UtcMillis) -> String {
    match zone {
        Some((name, tz)) => {
            if name.starts_with(['+', '-']) {
                name.clone()
            } else {
                let z = at.to_timestamp().to_zoned_datetime(tz.clone());
                format!("{name} ({})", z.strftime("%:z"))
            }
        }
        None => "UTC".to_owned(),
    }
}

/// Checks a name against the configuration, with the closest one when unknown.
fn check_name(
    config: Option<&Config>,
    field: &'static str,
    kind: &str,
    name: &str,
    names: impl Fn(&Config) -> Vec<String>,
) -> Option<FieldError> {
    let config = config?;
    let all = names(config);
    if all.iter().any(|n| n == name) {
        return None;
    }
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let hint = crate::config::did_you_mean(name, &refs)
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default();
    Some(err(
        field,
        format!(
            "no {kind} '{name}' in {}{hint} (the {kind}s there: {})",
            config.path.display(),
            if refs.is_empty() {
                "none".to_owned()
            } else {
                refs.join(", ")
            }
        ),
    ))
}

/// The causes the plans concerning the record exclude, and a warning when `cause`
/// is not one of them.
fn cause_warning(
    config: Option<&Config>,
    probe: Option<&str>,
    contract: Option<&str>,
    member_plan: Option<&str>,
    cause: &str,
) -> Option<String> {
    let config = config?;
    let mut causes: Vec<&str> = plans_of(config, probe, contract, member_plan)
        .into_iter()
        .flat_map(|(_, p)| p.exclusions.causes.iter().map(String::as_str))
        .collect();
    causes.sort_unstable();
    causes.dedup();
    if causes.contains(&cause) {
        return None;
    }
    let hint = crate::config::did_you_mean(cause, &causes)
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    Some(if causes.is_empty() {
        format!(
            "warning: cause '{cause}' is recorded, but the plan excludes no cause: the \
             incident counts as downtime"
        )
    } else {
        format!(
            "warning: cause '{cause}' is not one the plan excludes{hint}: it is recorded and \
             counts as downtime; the plan excludes {}",
            causes.join(", ")
        )
    })
}

/// Reads a file to attach: its SHA-256 and size, refused over the limit.
fn hash_file(path: &Path) -> Result<Attachment, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file: attach a file", path.display()));
    }
    if meta.len() > MAX_ATTACHMENT_BYTES {
        return Err(too_big(path, meta.len()));
    }
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (sha256, size) = hash_reader(f, path)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Attachment {
        path: path.to_path_buf(),
        name,
        sha256,
        size,
    })
}

fn too_big(path: &Path, size: u64) -> String {
    format!(
        "{} is {} MiB; an attachment is at most 50 MiB: attach an excerpt (the page, a \
         screenshot), or keep the file elsewhere and put its sha256sum in --note",
        path.display(),
        size.div_ceil(1024 * 1024)
    )
}

/// SHA-256 (hex) and length of what `r` gives, refused past the limit.
fn hash_reader(r: impl std::io::Read, path: &Path) -> Result<(String, u64), String> {
    let mut r = r.take(MAX_ATTACHMENT_BYTES + 1);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = r
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
        size += n as u64;
    }
    if size > MAX_ATTACHMENT_BYTES {
        return Err(too_big(path, size));
    }
    let sha = h
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            s.push_str(&format!("{b:02x}"));
            s
        });
    Ok((sha, size))
}

/// Where copies of attachments are kept: `DATABASE.attachments/`.
fn attachments_dir(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".attachments");
    PathBuf::from(name)
}

/// Copies an attachment to `dir/<sha256>` (dir created 0700), checking the copy
/// still has the hash that will be sealed.
fn keep_copy(dir: &Path, a: &Attachment) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dest = dir.join(&a.sha256);
    if dest.exists() {
        return Ok(());
    }
    let tmp = dir.join(format!(".{}.tmp", a.sha256));
    std::fs::copy(&a.path, &tmp)
        .map_err(|e| format!("cannot copy {} to {}: {e}", a.path.display(), tmp.display()))?;
    // Private like the directory, whatever the original's mode.
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", tmp.display()))?;
    let f = std::fs::File::open(&tmp).map_err(|e| format!("cannot read {}: {e}", tmp.display()))?;
    let (sha, _) = hash_reader(f, &tmp)?;
    if sha != a.sha256 {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "{} changed while it was being recorded: run the command again",
            a.path.display()
        ));
    }
    std::fs::rename(&tmp, &dest)
        .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), dest.display()))
}

/// Checks a draft against the configuration; every problem at once.
fn check(
    d: &Draft,
    config: Option<&Config>,
    base: Option<&Path>,
) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let probe = d.probe.as_deref().filter(|s| !s.is_empty());
    let contract = d.contract.as_deref().filter(|s| !s.is_empty());
    match (probe, contract) {
        (None, None) => errors.push(err(
            "probe",
            "name the probe or the contract the incident concerns".to_owned(),
        )),
        (Some(_), Some(_)) => errors.push(err(
            "contract",
            "give the probe or the contract, not both (one record each)".to_owned(),
        )),
        _ => {}
    }
    if let Some(p) = probe
        && let Some(e) = check_name(config, "probe", "probe", p, |c| {
            c.probes.iter().map(|p| p.name.clone()).collect()
        })
    {
        errors.push(e);
    }
    let member_plan = d.member_plan.as_deref();
    if let Some(c) = contract
        && member_plan.is_none()
        && let Some(e) = check_name(config, "contract", "contract", c, |c| {
            c.contracts.iter().map(|c| c.id.clone()).collect()
        })
    {
        errors.push(e);
    }
    let names_bad = !errors.is_empty();
    let zone = match zone_for(config, probe, contract, member_plan, d.tz.as_deref()) {
        Ok(z) => z,
        Err(e) => {
            errors.push(err("tz", e));
            None
        }
    };
    if names_bad && zone.is_none() {
        // Without a known name there is no plan zone: "no zone is known" would
        // only repeat the name's error.
        return Err(errors);
    }
    let start = parse_time(&d.start, zone.as_ref()).map_err(|e| errors.push(err("start", e)));
    let end = match d.end.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(e) => parse_time(e, zone.as_ref())
            .map(Some)
            .map_err(|e| errors.push(err("end", e))),
        None => Ok(None),
    };
    if let (Ok(s), Ok(Some(e))) = (&start, &end)
        && e <= s
    {
        errors.push(err(
            "end",
            format!(
                "the end {} is not after the start {}: swap them, or leave the end out for \
                 an open incident",
                local(*e, zone.as_ref().map(|z| &z.1)),
                local(*s, zone.as_ref().map(|z| &z.1))
            ),
        ));
    }
    let cause = d.cause.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(c) = cause
        && let Some(w) = cause_warning(config, probe, contract, member_plan, c)
    {
        warnings.push(w);
    }
    let mut attachments = Vec::new();
    for f in &d.attach {
        let path = match base {
            Some(b) if f.is_relative() => b.join(f),
            _ => f.clone(),
        };
        match hash_file(&path) {
            Ok(a) => attachments.push(a),
            Err(e) => errors.push(err("attach", e)),
        }
    }
    if !d.sha256.is_empty() {
        if d.sha256.len() != d.attach.len() {
            errors.push(err(
                "sha256",
                format!(
                    "{} SHA-256 value{} for {} attachment{}: give one per file of attach, in \
                     the same order, separated by ';'",
                    d.sha256.len(),
                    if d.sha256.len() == 1 { "" } else { "s" },
                    d.attach.len(),
                    if d.attach.len() == 1 { "" } else { "s" }
                ),
            ));
        } else if attachments.len() == d.attach.len() {
            for (a, want) in attachments.iter().zip(&d.sha256) {
                if !a.sha256.eq_ignore_ascii_case(want) {
                    errors.push(err(
                        "sha256",
                        format!(
                            "{} has SHA-256 {}, not {want}: attach the file that was hashed, or \
                             correct sha256",
                            a.path.display(),
                            a.sha256
                        ),
                    ));
                }
            }
        }
    }
    let (Ok(start), Ok(end)) = (start, end) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        incident: Incident {
            id: 0,
            probe: probe.map(str::to_owned),
            contract: contract.map(str::to_owned),
            start,
            end: end.unwrap_or(start),
            source: d.source,
            note: d.note.clone(),
            created_at: now(),
            cause: cause.map(str::to_owned),
            supersedes: None,
            withdrawn: false,
            reason: None,
            tz: zone.as_ref().map(|z| z.0.clone()),
            attachments: attachments
                .iter()
                .map(|a| (a.name.clone(), a.sha256.clone()))
                .collect(),
            open: end.is_none(),
        },
        attachments,
        zone,
        warnings,
    })
}

/// Copies the attachments and stores the records in one transaction.
fn store(database: &Path, records: &[Checked]) -> Result<Vec<i64>, String> {
    let dir = attachments_dir(database);
    for r in records {
        for a in &r.attachments {
            keep_copy(&dir, a)?;
        }
    }
    let new: Vec<NewIncident> = records
        .iter()
        .map(|r| NewIncident {
            incident: r.incident.clone(),
            sizes: r.attachments.iter().map(|a| a.size).collect(),
        })
        .collect();
    crate::store::add_incidents(database, &new).map_err(|e| e.to_string())
}

/// What makes two records the same evidence: what it concerns, when, from whom,
/// why, what it says, and the files kept with it (ids, entry times and zones aside;
/// an open record's `end` is only a placeholder).
type RecordKey<'a> = (
    &'a Option<String>,
    &'a Option<String>,
    i64,
    Option<i64>,
    &'static str,
    &'a Option<String>,
    &'a str,
    Vec<&'a str>,
);

fn record_key(i: &Incident) -> RecordKey<'_> {
    (
        &i.probe,
        &i.contract,
        i.start.0,
        (!i.open).then_some(i.end.0),
        i.source.as_str(),
        &i.cause,
        &i.note,
        i.attachments.iter().map(|x| x.1.as_str()).collect(),
    )
}

/// "incident 4 recorded: 29 Apr 2011 04:30 to 2 May 2011 18:00 Europe/Rome (+02:00),
/// status-page, 1 attachment sha256 ab12..."
fn confirmation(id: i64, verb: &str, r: &Checked) -> String {
    let i = &r.incident;
    let tz = r.zone.as_ref().map(|z| &z.1);
    let when = if i.open {
        format!("{} (open, no end yet)", local(i.start, tz))
    } else {
        format!("{} to {}", local(i.start, tz), local(i.end, tz))
    };
    let mut s = format!(
        "incident {id} {verb}: {when} {}, {}",
        zone_label(r.zone.as_ref(), i.start),
        i.source.as_str()
    );
    if let Some(c) = &i.cause {
        s.push_str(&format!(", cause {}", super::db::terminal_safe(c)));
    }
    if !i.attachments.is_empty() {
        let n = i.attachments.len();
        let hashes: Vec<String> = i
            .attachments
            .iter()
            .map(|(_, h)| format!("sha256 {h}"))
            .collect();
        s.push_str(&format!(
            ", {n} attachment{} {}",
            if n == 1 { "" } else { "s" },
            hashes.join(", ")
        ));
    }
    s
}

/// Bad input, its text made safe for a terminal.
fn fail(msg: &str) -> CliError {
    CliError::bad(super::db::terminal_safe(msg))
}

/// One line `error: MESSAGE` of an error list, its text made safe for a terminal.
fn error_line(message: &str) -> String {
    format!("error: {}", super::db::terminal_safe(message))
}

/// A draft's field errors, each on its line as `error: --FIELD: MESSAGE`.
fn field_errors<'e>(errors: impl IntoIterator<Item = &'e FieldError>) -> CliError {
    CliError::Lines(
        errors
            .into_iter()
            .map(|e| {
                format!(
                    "error: --{}: {}",
                    e.field,
                    super::db::terminal_safe(&e.message)
                )
            })
            .collect(),
    )
}

fn add(a: AddArgs) -> Result<(), CliError> {
    let ctx = a.at.resolve(true)?;
    let draft = Draft {
        probe: a.probe,
        contract: a.contract,
        start: a.start,
        end: a.end,
        tz: a.tz,
        cause: a.cause,
        source: a.source,
        note: a.note,
        attach: a.attach,
        ..Draft::default()
    };
    let checked =
        check(&draft, ctx.config.as_ref(), None).map_err(|errors| field_errors(&errors))?;
    for w in &checked.warnings {
        eprintln!("{}", super::db::terminal_safe(w));
    }
    let ids = store(&ctx.database, std::slice::from_ref(&checked)).map_err(CliError::failure)?;
    println!(
        "{}",
        confirmation(ids.first().copied().unwrap_or(0), "recorded", &checked)
    );
    Ok(())
}

/// Every record, and the id of the record that superseded each one.
fn read_all(ctx: &Ctx) -> Result<(Vec<Incident>, BTreeMap<i64, i64>), CliError> {
    let reader = Reader::open(&ctx.database).map_err(|e| fail(&e.to_string()))?;
    let all = reader.incidents().map_err(|e| fail(&e.to_string()))?;
    let by: BTreeMap<i64, i64> = all
        .iter()
        .filter_map(|i| i.supersedes.map(|s| (s, i.id)))
        .collect();
    Ok((all, by))
}

/// The record `id` if it may be superseded, else why not.
fn latest(all: &[Incident], by: &BTreeMap<i64, i64>, id: i64) -> Result<Incident, String> {
    let Some(i) = all.iter().find(|i| i.id == id) else {
        let mut ids: Vec<i64> = all.iter().map(|i| i.id).collect();
        ids.sort_unstable();
        return Err(if ids.is_empty() {
            format!("no incident {id}: the database holds no incident yet")
        } else {
            format!(
                "no incident {id}; the incidents are: {}",
                ids.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    };
    if let Some(n) = by.get(&id) {
        return Err(format!(
            "incident {id} is already superseded by incident {n}: amend or withdraw {n} (the \
             latest record), `slawatch incident list --all` shows the chain"
        ));
    }
    if i.withdrawn {
        return Err(format!(
            "incident {id} is a withdrawal: it cannot be amended or withdrawn; record the \
             outage again with `slawatch incident add`"
        ));
    }
    Ok(i.clone())
}

fn required_reason(reason: &str) -> Result<String, CliError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(fail(
            "--reason is empty: say why (it is stored with the record and shown in reports)",
        ));
    }
    Ok(r.to_owned())
}

fn amend(a: AmendArgs) -> Result<(), CliError> {
    let reason = required_reason(&a.reason)?;
    let ctx = a.at.resolve(true)?;
    let (all, by) = read_all(&ctx)?;
    let old = latest(&all, &by, a.id).map_err(|e| fail(&e))?;
    let tz_shown = a.tz.clone().or_else(|| old.tz.clone());
    // What is not amended is passed on as the exact instant stored.
    let show = |ms: UtcMillis| ms.to_string();
    let end = match (&a.end, old.open) {
        (Some(e), _) => Some(e.clone()),
        (None, true) => None,
        (None, false) => Some(show(old.end)),
    };
    let draft = Draft {
        probe: old.probe.clone(),
        contract: old.contract.clone(),
        start: a.start.clone().unwrap_or_else(|| show(old.start)),
        end,
        tz: tz_shown,
        cause: a.cause.clone().or_else(|| old.cause.clone()),
        source: old.source,
        note: a.note.clone().unwrap_or_else(|| old.note.clone()),
        attach: a.attach.clone(),
        ..Draft::default()
    };
    // The record's names were checked when it was stored; a configuration changed
    // since must not block its correction.
    let mut checked = match check(&draft, ctx.config.as_ref(), None) {
        Ok(c) => c,
        Err(errors) => {
            let fatal: Vec<&FieldError> = errors
                .iter()
                .filter(|e| !matches!(e.field, "probe" | "contract"))
                .collect();
            if !fatal.is_empty() {
                return Err(field_errors(fatal));
            }
            check(&draft, None, None).map_err(|errors| field_errors(&errors))?
        }
    };
    for w in &checked.warnings {
        eprintln!("{}", super::db::terminal_safe(w));
    }
    let mut kept = old.attachments.clone();
    kept.retain(|k| !checked.incident.attachments.contains(k));
    kept.extend(checked.incident.attachments.iter().cloned());
    checked.incident.attachments = kept;
    checked.incident.supersedes = Some(old.id);
    checked.incident.reason = Some(reason);
    // Sizes of carried attachments are taken from their stored rows by the store.
    let new_sizes: Vec<u64> = checked.attachments.iter().map(|a| a.size).collect();
    let carried = checked.incident.attachments.len() - new_sizes.len();
    let result = (|| {
        let dir = attachments_dir(&ctx.database);
        for at in &checked.attachments {
            keep_copy(&dir, at)?;
        }
        let mut sizes = vec![0; carried];
        sizes.extend(new_sizes);
        crate::store::add_incidents(
            &ctx.database,
            &[NewIncident {
                incident: checked.incident.clone(),
                sizes,
            }],
        )
        .map_err(|e| e.to_string())
    })();
    let ids = result.map_err(|e| fail(&e))?;
    let id = ids.first().copied().unwrap_or(0);
    println!(
        "{} (supersedes incident {})",
        confirmation(id, "recorded", &checked),
        old.id
    );
    Ok(())
}

fn withdraw(a: &WithdrawArgs) -> Result<(), CliError> {
    let reason = required_reason(&a.reason)?;
    let ctx = a.at.resolve(false)?;
    let (all, by) = read_all(&ctx)?;
    let old = latest(&all, &by, a.id).map_err(|e| fail(&e))?;
    let record = Incident {
        id: 0,
        created_at: now(),
        supersedes: Some(old.id),
        withdrawn: true,
        reason: Some(reason),
        attachments: Vec::new(),
        ..old.clone()
    };
    let ids = crate::store::add_incidents(
        &ctx.database,
        &[NewIncident {
            incident: record,
            sizes: Vec::new(),
        }],
    )
    .map_err(|e| fail(&e.to_string()))?;
    println!(
        "incident {} recorded: withdraws incident {} (it no longer counts; both stay \
         in the database and in reports' evidence lists)",
        ids.first().copied().unwrap_or(0),
        old.id
    );
    Ok(())
}

fn list(a: &ListArgs) -> Result<(), CliError> {
    let ctx = a.at.resolve(false)?;
    let (all, by) = read_all(&ctx)?;
    let shown: Vec<Incident> = if a.all {
        all.clone()
    } else {
        crate::store::effective_incidents(&all)
    };
    if a.json {
        let v: Vec<serde_json::Value> = shown
            .iter()
            .map(|i| {
                let mut v = crate::report::record_json(i, by.get(&i.id));
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("created_at".into(), i.created_at.to_string().into());
                }
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(());
    }
    if shown.is_empty() {
        println!("no incidents");
        return Ok(());
    }
    for i in &shown {
        let zone = i.tz.as_deref().and_then(|t| parse_zone(t).ok());
        let tz = zone.as_ref().map(|z| &z.1);
        let what = match (&i.probe, &i.contract) {
            (Some(p), _) => format!("probe {p}"),
            (None, Some(c)) => format!("contract {c}"),
            (None, None) => "-".to_owned(),
        };
        let when = if i.open {
            format!("{} (open)", local(i.start, tz))
        } else {
            format!("{} to {}", local(i.start, tz), local(i.end, tz))
        };
        let mut line = format!(
            "{:>4}  {} {}  {:<11}  {}",
            i.id,
            when,
            zone_label(zone.as_ref(), i.start),
            i.source.as_str(),
            super::db::terminal_safe(&what),
        );
        if let Some(c) = &i.cause {
            line.push_str(&format!("  cause {}", super::db::terminal_safe(c)));
        }
        if !i.note.is_empty() {
            line.push_str(&format!("  {}", super::db::terminal_safe(&i.note)));
        }
        if !i.attachments.is_empty() {
            line.push_str(&format!("  [{} attachment(s)]", i.attachments.len()));
        }
        if a.all {
            if i.withdrawn {
                line.push_str(&format!(
                    "  withdraws #{}: {}",
                    i.supersedes.unwrap_or(0),
                    super::db::terminal_safe(i.reason.as_deref().unwrap_or(""))
                ));
            } else if let Some(s) = i.supersedes {
                line.push_str(&format!(
                    "  amends #{s}: {}",
                    super::db::terminal_safe(i.reason.as_deref().unwrap_or(""))
                ));
            }
            if let Some(n) = by.get(&i.id) {
                line.push_str(&format!("  (superseded by #{n})"));
            }
        }
        println!("{line}");
    }
    Ok(())
}

/// The CSV columns, in the order the header names them.
const COLUMNS: [&str; 12] = [
    "probe", "contract", "member", "service", "start", "end", "tz", "cause", "source", "note",
    "attach", "sha256",
];

/// Above this many rows an import prints its counts, not a line per row.
const MAX_ROWS_SHOWN: usize = 100;

/// The 1-based character column where each field of a one-line CSV record starts.
pub(super) fn field_columns(line: &str) -> Vec<usize> {
    let mut cols = vec![1];
    let mut quoted = false;
    for (k, c) in line.chars().enumerate() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => cols.push(k + 2),
            _ => {}
        }
    }
    cols
}

fn import(a: &ImportArgs) -> Result<(), CliError> {
    let ctx = a.at.resolve(true)?;
    let file = a.file.display().to_string();
    if let Ok(m) = std::fs::metadata(&a.file)
        && m.len() > MAX_IMPORT_BYTES
    {
        return Err(fail(&format!(
            "{file} is {} MiB; an import file is at most 16 MiB: split it into several files",
            m.len().div_ceil(1024 * 1024)
        )));
    }
    let text =
        std::fs::read_to_string(&a.file).map_err(|e| fail(&format!("cannot read {file}: {e}")))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut errors: Vec<String> = Vec::new();
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| fail(&format!("{file}:1: {e}")))?
        .iter()
        .map(|s| s.trim().to_owned())
        .collect();
    let hcols = field_columns(lines.first().copied().unwrap_or_default());
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, h) in header.iter().enumerate() {
        match COLUMNS.iter().find(|c| **c == h) {
            Some(c) => {
                index.insert(c, k);
            }
            None => {
                let hint = crate::config::did_you_mean(h, &COLUMNS)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                errors.push(format!(
                    "{file}:1:{}: unknown column '{h}'{hint} (the header is {})",
                    hcols.get(k).copied().unwrap_or(1),
                    COLUMNS.join(",")
                ));
            }
        }
    }
    for c in ["start"] {
        if !index.contains_key(c) {
            errors.push(format!(
                "{file}:1: no '{c}' column: the header is {}",
                COLUMNS.join(",")
            ));
        }
    }
    let has_member = index.contains_key("member") && index.contains_key("service");
    if !index.contains_key("probe") && !index.contains_key("contract") && !has_member {
        errors.push(format!(
            "{file}:1: no 'probe', 'contract' or 'member' and 'service' columns: the header \
             is {}",
            COLUMNS.join(",")
        ));
    }
    for (one, other) in [("member", "service"), ("service", "member")] {
        if index.contains_key(one) && !index.contains_key(other) {
            errors.push(format!(
                "{file}:1: a '{one}' column without a '{other}' column: a member's service \
                 is named by both"
            ));
        }
    }
    if !errors.is_empty() {
        return Err(CliError::Lines(
            errors.iter().map(|e| error_line(e)).collect(),
        ));
    }
    let base = a.file.parent().map(Path::to_path_buf);
    // Members' services are known to the database, not to the configuration.
    let members = if has_member && ctx.database.exists() {
        Some(Reader::open(&ctx.database).map_err(|e| fail(&e.to_string()))?)
    } else {
        None
    };
    let mut checked: Vec<Checked> = Vec::new();
    // The line of each checked row, for what is said about it.
    let mut rows: Vec<u64> = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(format!("{file}:{line}: {e}"));
                continue;
            }
        };
        let line = rec.position().map_or(0, csv::Position::line);
        let cols = usize::try_from(line)
            .ok()
            .and_then(|l| lines.get(l.wrapping_sub(1)))
            .map(|l| field_columns(l))
            .unwrap_or_default();
        let get = |c: &str| -> Option<String> {
            index
                .get(c)
                .and_then(|k| rec.get(*k))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let at = |c: &str| -> String {
            let col = index.get(c).and_then(|k| cols.get(*k)).copied();
            col.map_or_else(
                || format!("{file}:{line}"),
                |col| format!("{file}:{line}:{col}"),
            )
        };
        if rec.len() != header.len() {
            errors.push(format!(
                "{}: {} fields where the header has {}: one per column, empty ones too",
                at("probe"),
                rec.len(),
                header.len()
            ));
            continue;
        }
        let source = match get("source") {
            None => IncidentSource::Manual,
            Some(s) => match parse_source(&s) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(format!("{}: source {e}", at("source")));
                    continue;
                }
            },
        };
        let mut contract = get("contract");
        let mut member_plan = None;
        match (get("member"), get("service")) {
            (None, None) => {}
            (Some(m), Some(sv)) => {
                if get("probe").is_some() || contract.is_some() {
                    errors.push(format!(
                        "{}: member: give probe, contract, or member and service: one of them",
                        at("member")
                    ));
                    continue;
                }
                let plan = match &members {
                    Some(r) => r.member_plan(&m, &sv).map_err(|e| fail(&e.to_string()))?,
                    None => None,
                };
                let Some(plan) = plan else {
                    errors.push(format!(
                        "{}: member: no member '{m}' with service '{sv}' in {}: import the \
                         members first (`slawatch members import FILE.csv`), or correct the ids",
                        at("member"),
                        ctx.database.display()
                    ));
                    continue;
                };
                contract = Some(crate::members::contract_id(&m, &sv));
                member_plan = Some(plan);
            }
            (Some(_), None) => {
                errors.push(format!(
                    "{}: service: a member's row names the service too, such as mail",
                    at("service")
                ));
                continue;
            }
            (None, Some(_)) => {
                errors.push(format!(
                    "{}: member: a service's row names the member too",
                    at("member")
                ));
                continue;
            }
        }
        let draft = Draft {
            probe: get("probe"),
            contract,
            member_plan,
            sha256: get("sha256")
                .map(|s| {
                    s.split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            start: get("start").unwrap_or_default(),
            end: get("end"),
            tz: get("tz"),
            cause: get("cause"),
            source,
            note: get("note").unwrap_or_default(),
            attach: get("attach")
                .map(|s| {
                    s.split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default(),
        };
        match check(&draft, ctx.config.as_ref(), base.as_deref()) {
            Ok(c) => {
                for w in &c.warnings {
                    eprintln!("{}: {}", at("cause"), super::db::terminal_safe(w));
                }
                checked.push(c);
                rows.push(line);
            }
            Err(es) => {
                for e in es {
                    errors.push(format!("{}: {}: {}", at(e.field), e.field, e.message));
                }
            }
        }
    }
    if !errors.is_empty() {
        let mut lines: Vec<String> = errors.iter().map(|e| error_line(e)).collect();
        lines.push(format!(
            "nothing stored: {} error{} in {file}; correct them and import the file again",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ));
        return Err(CliError::Lines(lines));
    }
    if checked.is_empty() {
        return Err(fail(&format!(
            "{file} has no rows under its header: nothing to import"
        )));
    }
    // Importing the same file again records nothing twice: a row identical to a
    // record that still counts is skipped, and the record named.
    let standing = if ctx.database.exists() {
        match Reader::open(&ctx.database).and_then(|r| r.incidents()) {
            Ok(all) => crate::store::effective_incidents(&all),
            Err(e) => return Err(fail(&e.to_string())),
        }
    } else {
        Vec::new()
    };
    // One lookup per row, not a scan of every record: an association imports many.
    let mut known: std::collections::HashMap<RecordKey<'_>, i64> = Default::default();
    for s in &standing {
        known.entry(record_key(s)).or_insert(s.id);
    }
    let dup: Vec<Option<i64>> = checked
        .iter()
        .map(|c| known.get(&record_key(&c.incident)).copied())
        .collect();
    let mut fresh: Vec<Checked> = Vec::new();
    let many = checked.len() > MAX_ROWS_SHOWN;
    let mut skipped = 0usize;
    for ((c, line), dup) in checked.into_iter().zip(&rows).zip(dup) {
        match dup {
            Some(id) => {
                skipped += 1;
                if !many {
                    println!("{file}:{line}: already recorded as incident {id}; skipped");
                }
            }
            None => fresh.push(c),
        }
    }
    if fresh.is_empty() {
        println!("nothing new in {file}: every row is already recorded");
        return Ok(());
    }
    let checked = fresh;
    let ids = store(&ctx.database, &checked).map_err(|e| fail(&e))?;
    if !many {
        for (id, c) in ids.iter().zip(&checked) {
            println!("{}", confirmation(*id, "recorded", c));
        }
    } else if skipped > 0 {
        println!("{skipped} rows of {file} already recorded; skipped");
    }
    println!("{} incidents imported from {file}", ids.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_take_the_zone_and_offsets_win() {
        let rome = parse_zone("Europe/Rome").ok();
        // 29 April 2011: CEST, UTC+2.
        assert_eq!(
            parse_time("2011-04-29T04:30", rome.as_ref()),
            Ok(UtcMillis(1_304_044_200_000))
        );
        assert_eq!(
            parse_time("2011-04-29T04:30+00:00", rome.as_ref()),
            Ok(UtcMillis(1_304_051_400_000))
        );
        assert!(parse_time("2011-04-29T04:30", None).is_err());
        // 30 October 2011 02:30 happens twice in Rome.
        assert!(parse_time("2011-10-30T02:30", rome.as_ref()).is_err());
        let fixed = parse_zone("+02:00").ok();
        assert_eq!(
            parse_time("2011-04-29T04:30", fixed.as_ref()),
            Ok(UtcMillis(1_304_044_200_000))
        );
        assert!(parse_zone("+24:00").is_err());
        assert!(parse_zone("Europe/Rom").is_err());
    }

    #[test]
    fn csv_columns_skip_quoted_commas() {
        assert_eq!(field_columns("a,\"b,c\",d"), [1, 3, 9]);
    }
}
