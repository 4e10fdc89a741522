//! The report model: for one period and each contract, the timeline the SLA engine
//! evaluates, built from the store and the configuration, and the evaluation.
//!
//! How the timeline is built (the decisions a reader of a report may question):
//!
//! - **Outages** of each probe of the contract (and the manual incidents entered for
//!   that probe) are combined by the contract's `unavailable_when`: `any` is their
//!   union, `all` their intersection, `k of n` the time when at least k probes are
//!   down at once. Outages are fetched over the period widened by
//!   [`SEARCH_MARGIN_MS`] on each side, so a combined outage that crosses the
//!   period's edge is whole. An outage still open counts until the period's end.
//! - **Manual incidents** for the contract (not one probe) are added to the combined
//!   outages as they are. Each combined incident keeps the sources it rests on:
//!   `measured` (the probes' outages), `manual`, `status-page`.
//! - Incidents are passed to the engine **whole**, not clipped: the engine judges the
//!   minimum length on whole fragments and clips each one to the period itself
//!   (SLA-MODEL.md section 3, steps 5 and 7); the report shows both the whole
//!   interval and the minutes counted in the period.
//! - **Service start and end** are the contract's `start` and `end` dates, at local
//!   midnight in the plan's time zone. The time before monitoring began (the first
//!   coverage segment) is *not* moved into `service_start`: it is no data, and the
//!   plan's `missing_data` policy decides what it means.
//! - **No data** is the time in the period, while the contract runs, that was not
//!   measured: not covered by any coverage segment (heartbeats of any vantage), or
//!   not measured for enough of the contract's probes (below), and that no recorded
//!   incident makes down. No data is never uptime and never downtime by itself: the
//!   contract's `unmonitored` decides (`plan`, the default, hands it to the plan's
//!   `missing_data`; `as_up`, `as_down` and `exclude` replace that policy for this
//!   contract through `sla::Overrides::missing_data`).
//! - **A recorded incident is data, never no data.** One for the contract is the
//!   contract down over its span, with or without checks (the daemon may never have
//!   run). One for a probe is that probe measured *down* over its span: data for
//!   that probe, combined with the others like a measured outage. Under `any` it
//!   makes the contract down. Under `k of n` with k > 1 it makes the contract down
//!   only where k probes are down (measured or recorded); where fewer are and the
//!   others were not measured, nobody knows whether the contract was down: that
//!   time stays no data for the contract (and follows `unmonitored`), never uptime.
//!   A record never reaches outside its own span: the measured time around it keeps
//!   its state. Record a contract-level incident when the whole service was down.
//! - **Per probe**, a moment is *no data* when the probe's last check before it was
//!   `unknown` (slawatch could not judge: its own fault, the machine off line, a
//!   check that panicked), or when no check of the probe started within its
//!   allowance before it ([`allowance_ms`]: the longer of `interval` and
//!   `retry_interval`, plus `timeout`, plus [`STALL_SLACK_MS`]: a stalled or dead
//!   probe loop, or the daemon not running). Otherwise the probe is *measured*:
//!   *down* inside one of its outages, *up* elsewhere. An outage's unknown or
//!   unmeasured stretches are no data, not downtime (the outage splits there).
//!   A run of up (or unknown) checks keeps only its first and last check, so the
//!   daemon gives the store each probe's allowance (`Store::set_run_gaps`): a check
//!   arriving later than that after the run's last one starts a new run, and a stall
//!   in the middle shows as the gap between two runs.
//! - **Combining** the probes by `unavailable_when` (k of the contract's n probes
//!   must be down; `any` is k = 1, `all` is k = n): a moment is *down* when at least
//!   k probes were measured down (or entered as down by hand); *up* when more than
//!   n − k were measured up, so that even if every probe without data had been down
//!   the contract was not; *no data* otherwise. With `any`, one probe without data
//!   and none down is no data; with `all`, one probe measured up is enough for up.
//! - **Maintenance** windows of the configuration that name the contract or one of
//!   its probes apply to the whole contract (the provider announced work on the
//!   service). Every such window that starts before the period's end is passed, so
//!   a yearly maintenance budget is consumed in order.
//!
//! - **Several vantages** (issue 18, [`build_vantages`]): each probe's down and
//!   no-data time is first the k-of-n consensus over the vantages' stores
//!   (`consensus.rs`: down where k vantages saw it down, no data where fewer than
//!   k were measuring), then the probes combine as above. One vantage under the
//!   default rule (any one) skips the consensus: its report is what it always was.
//!
//! Proven minimum and uncertainty of a combined incident: the same combination is
//! applied to the probes' proven intervals (first to last failed check) and to their
//! possible intervals (last success before, to the end); the proven minimum is the
//! proven time inside the incident, the uncertainty how much earlier the possible
//! interval begins. Manual incidents prove nothing by checks: they add no proven
//! time and no uncertainty.

use crate::config::{Config, Contract, Probe, ProbeSpec, Unavailability};
use crate::model::{Status, UtcMillis};
use crate::outage::Outage;
use crate::sla::intervals::Intervals;
use crate::sla::num::{self, DAY_MS, Q};
use crate::sla::timeline::{Gap, Incident, MaintenanceWindow};
use crate::sla::{
    self, CustomerType, Evaluation, FeePeriod, Overrides, PeriodSpec, Plan, Timeline,
};
use crate::store::{CheckSpan, Coverage, EvidenceDigest, ProbeEvidence, Reader, StoreError};
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

/// How far outside the period outages are read, so combined incidents are whole.
pub const SEARCH_MARGIN_MS: i64 = 31 * DAY_MS;

/// A report is provisional until this long after its period's end: runs never span
/// a UTC day (`store::RUN_SPAN_MS`), so a day after the end every run that began in
/// the period is over and sealed, and the evidence digest no longer changes; the
/// extra hour covers checks still in flight at the day's end.
pub const SEAL_AFTER_MS: i64 = crate::store::RUN_SPAN_MS + 3_600_000;

/// Slack added to a probe's longest expected time between two checks before the
/// time after its last check is no data: scheduling lag under the concurrency
/// limits, and the control checks a failure waits for.
pub(crate) const STALL_SLACK_MS: i64 = 10_000;

/// How long a check's verdict stands when no other check of its probe follows: the
/// longer of `interval` and `retry_interval`, plus the check's budget (`timeout`, or
/// a mail round trip's `max_delivery + 2 × timeout`), plus [`STALL_SLACK_MS`].
pub(crate) fn allowance_ms(probe: &Probe) -> i64 {
    let s = &probe.schedule;
    let budget = match &probe.spec {
        ProbeSpec::Mailflow(m) => crate::probe::mailflow::budget(m, s.timeout),
        _ => s.timeout,
    };
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    ms(s.interval.max(s.retry_interval))
        .saturating_add(ms(budget))
        .saturating_add(STALL_SLACK_MS)
}

/// The no-data time of one probe in `[from, to)`, from its checks (by first check):
/// the time under an `unknown` verdict, and the time no check's verdict covers (a
/// verdict stands from its first check until the next check, at most `allow_ms`
/// after its last check).
pub(crate) fn probe_no_data(spans: &[CheckSpan], allow_ms: i64, from: i64, to: i64) -> Intervals {
    let mut measured = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        if s.status == Status::Unknown {
            continue;
        }
        let next = spans.get(i + 1).map_or(i64::MAX, |n| n.first.0);
        let end = s
            .last
            .0
            .saturating_add(allow_ms)
            .min(next)
            .max(s.last.0.saturating_add(1));
        measured.push((s.first.0, end));
    }
    Intervals::single(from, to).subtract(&Intervals::of(measured))
}

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The database could not be read.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The period, the contract or a plan does not fit.
    #[error("{0}")]
    Input(String),
}

/// The report of one period.
#[derive(Clone, Debug)]
pub struct Report {
    /// The period asked for: "2023-01".
    pub period: String,
    /// When the report was made.
    pub generated_at: UtcMillis,
    /// True when made before every contract's period ended (plus [`SEAL_AFTER_MS`]):
    /// the figures are so far, and the rest of the period shows as no data.
    pub provisional: bool,
    /// The vantage of this slawatch (`[daemon] vantage`).
    pub vantage: String,
    /// One per contract, in configuration order.
    pub contracts: Vec<ContractReport>,
    /// Contracts that could not be evaluated for this period, with the reason.
    pub skipped: Vec<(String, String)>,
    /// The hash chain's head when the report was made (seal number, hex): stating it
    /// pins every sealed check up to there, so a later rewrite of the chain shows.
    pub chain: Option<(i64, String)>,
}

/// One contract over the period.
#[derive(Clone, Debug)]
pub struct ContractReport {
    /// The contract as configured.
    pub contract: Contract,
    /// Its plan.
    pub plan: Plan,
    /// The fee, currency, fee period and customer type in force (contract over plan).
    pub fee: Decimal,
    /// ISO 4217.
    pub currency: String,
    /// What the fee pays for.
    pub fee_period: FeePeriod,
    /// Consumer or business.
    pub customer_type: CustomerType,
    /// What the engine was given.
    pub timeline: Timeline,
    /// What the engine answered.
    pub evaluation: Evaluation,
    /// One per timeline incident, in the same order.
    pub incidents: Vec<IncidentRow>,
    /// The maintenance windows that overlap the period.
    pub maintenance: Vec<crate::config::Maintenance>,
    /// No-data intervals inside the period (and the contract's life).
    pub gaps: Vec<(UtcMillis, UtcMillis)>,
    /// The digest of the checks of the contract's probes in the period.
    pub evidence: EvidenceDigest,
    /// What the figures rest on: monitoring, recorded incidents, or both.
    pub basis: super::basis::Basis,
    /// What the contract owes, what the provider offered, what compared plans would
    /// give by analogy, and which is largest (`compare::build`).
    pub comparison: super::compare::Comparison,
    /// Every incident record entered by hand that concerns the contract in the
    /// period, superseded and withdrawn ones included (the evidence list;
    /// `records.rs`).
    pub records: Vec<crate::store::Incident>,
    /// The claim deadline's state at the report's `generated_at`.
    pub deadline: Option<super::deadline::DeadlineStatus>,
    /// With several vantages (or a contract needing more than one): the rule, each
    /// vantage's view beside the consensus, and who saw each incident; `None` for a
    /// report of one vantage under the default rule (nothing new to show).
    pub consensus: Option<super::consensus::View>,
}

/// One incident with its evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRow {
    /// First failed check (or stated start), whole (not clipped to the period).
    pub start: UtcMillis,
    /// When the first success after it got its answer (exclusive), or where its
    /// probes stopped being measured; the period's end when still open.
    pub end: UtcMillis,
    /// The outage had not ended when the report was made.
    pub open: bool,
    /// Time between the first and last failed check inside the incident, ms.
    pub proven_ms: i64,
    /// How much earlier it may have begun (back to the last success), ms; none
    /// when no check succeeded before it or it rests on manual evidence only.
    pub uncertainty_ms: Option<i64>,
    /// How much of its end is not proven by failed checks: from the last failed
    /// check inside it to its end (the answer of the first success, or where the
    /// probes stopped being measured), ms; none while open or on manual evidence only.
    pub end_uncertainty_ms: Option<i64>,
    /// Error classes seen, with the number of failed checks of each in the incident
    /// (an outage row's class counts at least once).
    pub classes: Vec<(String, i64)>,
    /// Probes that were down in it.
    pub probes: Vec<String>,
    /// Vantages that were probing during it.
    pub vantages: Vec<String>,
    /// `measured`, `manual`, `status-page`.
    pub sources: Vec<String>,
    /// The outages' details and the manual incidents' notes, as stored.
    pub details: Vec<String>,
    /// Overlap with the contract's maintenance windows, ms.
    pub maintenance_ms: i64,
    /// Downtime it contributes to the period, ms (from the engine).
    pub counted_ms: Q,
    /// Why it does not count (from the engine), or none.
    pub excluded: Option<String>,
}

impl IncidentRow {
    /// Whole duration, ms.
    pub(crate) fn duration_ms(&self) -> i64 {
        self.end.0 - self.start.0
    }
}

/// `any`, `all`, `2 of 3`.
pub fn unavailable_when_text(c: &Contract) -> String {
    match c.unavailable_when {
        Unavailability::Any => "any".into(),
        Unavailability::All => "all".into(),
        Unavailability::AtLeast(k) => format!("{k} of {}", c.probes.len()),
    }
}

/// The contract terms that override the plan's.
pub fn overrides(c: &Contract) -> Overrides {
    Overrides {
        fee: c.fee,
        currency: c.currency.clone(),
        fee_period: c.fee_period,
        customer_type: c.customer_type,
        missing_data: c.unmonitored.missing_data(),
    }
}

/// The time when at least `k` of the interval sets hold (k >= 1).
pub fn at_least(sets: &[Intervals], k: usize) -> Intervals {
    let mut edges: Vec<(i64, i64)> = Vec::new();
    for s in sets {
        for (a, b) in s.iter() {
            edges.push((a, 1));
            edges.push((b, -1));
        }
    }
    // At one instant ends come before starts: intervals are half-open.
    edges.sort_unstable();
    let k = i64::try_from(k.max(1)).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    let (mut n, mut open) = (0i64, None);
    for (t, d) in edges {
        n += d;
        match open {
            None if n >= k => open = Some(t),
            Some(s) if n < k => {
                if t > s {
                    out.push((s, t));
                }
                open = None;
            }
            _ => {}
        }
    }
    Intervals::of(out)
}

/// The contract's no-data time: when at least `k` probes were down or without data
/// (`down_or_no_data`, one set per probe), but the contract was not `down` (fewer
/// than `k` measured down): it may have been down, nobody measured whether.
pub(crate) fn no_data_of(down_or_no_data: &[Intervals], k: usize, down: &Intervals) -> Intervals {
    at_least(down_or_no_data, k).subtract(down)
}

fn needed(c: &Contract) -> usize {
    match c.unavailable_when {
        Unavailability::Any => 1,
        Unavailability::All => c.probes.len().max(1),
        Unavailability::AtLeast(k) => usize::try_from(k).unwrap_or(usize::MAX),
    }
}

fn overlaps(a: (i64, i64), b: (i64, i64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// What one probe contributes.
struct ProbeDown {
    name: String,
    outages: Vec<Outage>,
    manual: Vec<crate::store::Incident>,
    /// End used for each outage (open ones run to the period's end).
    ends: Vec<i64>,
    /// Time the probe was not measured ([`probe_no_data`]); with several
    /// vantages, the consensus's no data.
    no_data: Intervals,
    /// With several vantages (or a contract needing more than one): the k-of-n
    /// consensus over them, which decides down, proven and possible time; the
    /// outages above are then every vantage's, for the incidents' details.
    consensus: Option<super::consensus::ProbeConsensus>,
}

impl ProbeDown {
    fn manual_set(&self) -> Intervals {
        Intervals::of(self.manual.iter().map(|i| (i.start.0, i.end.0)))
    }

    /// Measured down: outages where the probe was measured (with several vantages,
    /// where the consensus says so).
    fn measured_down(&self) -> Intervals {
        if let Some(c) = &self.consensus {
            return c.down.clone();
        }
        Intervals::of(
            self.outages
                .iter()
                .zip(&self.ends)
                .map(|(o, e)| (o.start.0, *e)),
        )
        .subtract(&self.no_data)
    }

    /// Measured down, or entered down by hand.
    fn down(&self) -> Intervals {
        self.measured_down().union(&self.manual_set())
    }

    /// Down or without data: the time this probe may have been down.
    fn down_or_no_data(&self) -> Intervals {
        self.down().union(&self.no_data)
    }

    fn proven(&self) -> Intervals {
        if let Some(c) = &self.consensus {
            return c.proven.clone();
        }
        Intervals::of(
            self.outages
                .iter()
                .map(|o| (o.start.0, o.last_failure.0.max(o.start.0))),
        )
    }

    fn possible(&self) -> Intervals {
        if let Some(c) = &self.consensus {
            return c.possible.union(&self.manual_set());
        }
        let mut v: Vec<(i64, i64)> = self
            .outages
            .iter()
            .zip(&self.ends)
            .map(|(o, e)| (o.last_success_before.map_or(o.start.0, |s| s.0), *e))
            .collect();
        v.extend(self.manual.iter().map(|i| (i.start.0, i.end.0)));
        Intervals::of(v)
    }
}

/// One probe's contribution from its vantages' evidence: with one vantage under the
/// default rule, that vantage's as it always was; else the consensus over them
/// (`consensus::of_probe`), which then decides down, no data, proven and possible.
fn probe_down(
    name: &str,
    views: Vec<super::consensus::VantageProbe>,
    manual: Vec<crate::store::Incident>,
    several: bool,
    rule: crate::config::Consensus,
    (from, to): (i64, i64),
) -> ProbeDown {
    if !several {
        let (outages, ends, no_data) = views.into_iter().next().map_or_else(
            || (Vec::new(), Vec::new(), Intervals::empty()),
            |v| (v.outages, v.ends, v.no_data),
        );
        return ProbeDown {
            name: name.to_owned(),
            outages,
            manual,
            ends,
            no_data,
            consensus: None,
        };
    }
    let k = usize::try_from(rule.k).unwrap_or(usize::MAX);
    let c = super::consensus::of_probe(views, k, from, to);
    ProbeDown {
        name: name.to_owned(),
        outages: c.views.iter().flat_map(|v| v.outages.clone()).collect(),
        ends: c.views.iter().flat_map(|v| v.ends.clone()).collect(),
        manual,
        no_data: c.no_data.clone(),
        consensus: Some(c),
    }
}

fn sorted(set: BTreeSet<String>) -> Vec<String> {
    set.into_iter().collect()
}

/// Builds the report of `period` for every contract, or only `only`.
///
/// # Errors
/// A period that does not parse, an unknown contract, or a database error. A
/// contract whose plan cannot be evaluated over this period (a yearly window asked
/// for a month) is listed in [`Report::skipped`] unless it was asked for by name.
pub fn build(
    config: &Config,
    reader: &Reader,
    period: &str,
    only: Option<&str>,
    generated_at: UtcMillis,
) -> Result<Report, ReportError> {
    let spec = PeriodSpec::parse(period).map_err(|e| ReportError::Input(e.to_string()))?;
    let contracts = chosen(config, only)?;
    let all_records = reader.incidents()?;
    build_from(
        config,
        reader,
        spec,
        contracts,
        &all_records,
        only.is_some(),
        generated_at,
    )
}

/// Every contract of `config`, or only the one named `only`.
fn chosen<'c>(config: &'c Config, only: Option<&str>) -> Result<Vec<&'c Contract>, ReportError> {
    Ok(match only {
        Some(id) => vec![
            config
                .contracts
                .iter()
                .find(|c| c.id == id)
                .ok_or_else(|| {
                    ReportError::Input(format!(
                        "no contract '{id}' in {}; the contracts there are: {}",
                        config.path.display(),
                        config
                            .contracts
                            .iter()
                            .map(|c| c.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
        ],
        None => config.contracts.iter().collect(),
    })
}

/// [`build`] over several vantages' evidence (issue 18): `vantages` holds each
/// vantage's name and its store (a `--shared` read, `shared::read`), and each
/// contract's consensus (`vantages = "K of N"`, default any one) decides when the
/// service was down. With one vantage it is [`build`], the view named as given.
///
/// # Errors
/// As [`build`]; no vantage at all is an input error.
pub fn build_vantages(
    config: &Config,
    vantages: &[(String, &Reader)],
    period: &str,
    only: Option<&str>,
    generated_at: UtcMillis,
) -> Result<Report, ReportError> {
    match vantages {
        [] => Err(ReportError::Input(
            "no vantage has shipped evidence to the shared store yet".to_owned(),
        )),
        // One vantage is `build` under its own name (its records as they are).
        _ => {
            let spec = PeriodSpec::parse(period).map_err(|e| ReportError::Input(e.to_string()))?;
            let contracts = chosen(config, only)?;
            let stores = vantages
                .iter()
                .map(|(_, r)| r.incidents())
                .collect::<Result<Vec<_>, _>>()?;
            let all_records = super::consensus::merge_records(&stores);
            build_over(
                config,
                vantages,
                spec,
                contracts,
                &all_records,
                only.is_some(),
                generated_at,
            )
        }
    }
}

/// [`build`] of `contracts` from the incident records given (every record that may
/// concern them: `slawatch report --per-member` passes one member's, never the whole
/// store's, so a member's report reads nothing of another member).
pub(crate) fn build_from(
    config: &Config,
    reader: &Reader,
    spec: PeriodSpec,
    contracts: Vec<&Contract>,
    all_records: &[crate::store::Incident],
    by_name: bool,
    generated_at: UtcMillis,
) -> Result<Report, ReportError> {
    build_over(
        config,
        &[(config.daemon.vantage.clone(), reader)],
        spec,
        contracts,
        all_records,
        by_name,
        generated_at,
    )
}

/// What a report reads from: each vantage's name and store, with the read caches
/// of each and each store's chain head.
struct Sources<'v, 'r> {
    views: &'v [(String, &'r Reader)],
    coverage: Vec<CoverageCache>,
    read: Vec<ProbeCache>,
    chains: Vec<Option<(i64, String)>>,
}

/// [`build_from`] over one or several vantages' stores.
fn build_over(
    config: &Config,
    views: &[(String, &Reader)],
    spec: PeriodSpec,
    contracts: Vec<&Contract>,
    all_records: &[crate::store::Incident],
    by_name: bool,
    generated_at: UtcMillis,
) -> Result<Report, ReportError> {
    let chains = views
        .iter()
        .map(|(_, r)| r.chain_head())
        .collect::<Result<Vec<_>, _>>()?;
    let manual =
        super::records::open_until(crate::store::effective_incidents(all_records), generated_at);
    let mut report = Report {
        period: spec.to_string(),
        generated_at,
        provisional: false,
        vantage: config.daemon.vantage.clone(),
        contracts: Vec::new(),
        skipped: Vec::new(),
        // One chain head, or each vantage's in its view (`consensus::VantageView`).
        chain: match chains.as_slice() {
            [one] => one.clone(),
            _ => None,
        },
    };
    let mut src = Sources {
        views,
        coverage: views.iter().map(|_| CoverageCache::default()).collect(),
        read: views.iter().map(|_| ProbeCache::default()).collect(),
        chains,
    };
    for c in contracts {
        let Some(plan) = config.plans.iter().find(|p| p.id == c.plan) else {
            report
                .skipped
                .push((c.id.clone(), format!("plan '{}' not found", c.plan)));
            continue;
        };
        match contract_report(config, &mut src, &manual, c, plan, spec)? {
            Ok(mut cr) => {
                let (ps, pe) = (cr.evaluation.period.start, cr.evaluation.period.end);
                cr.records = super::records::of(all_records, c, ps, pe);
                cr.deadline = super::deadline::of(&cr, generated_at);
                if generated_at.0 < cr.evaluation.period.end + SEAL_AFTER_MS {
                    report.provisional = true;
                }
                report.contracts.push(cr);
            }
            Err(reason) if by_name => {
                return Err(ReportError::Input(format!("contract '{}': {reason}", c.id)));
            }
            Err(reason) => report.skipped.push((c.id.clone(), reason)),
        }
    }
    Ok(report)
}

/// The coverage segments around a period, read once per report and window: every
/// contract whose plan has the same zone reads the same span.
#[derive(Default)]
struct CoverageCache {
    /// `(from, to)` and the segments overlapping it.
    spans: Vec<((i64, i64), Vec<Coverage>)>,
}

impl CoverageCache {
    fn get(&mut self, reader: &Reader, from: i64, to: i64) -> Result<&[Coverage], StoreError> {
        let i = match self.spans.iter().position(|(k, _)| *k == (from, to)) {
            Some(i) => i,
            None => {
                let read = reader.coverage(UtcMillis(from), UtcMillis(to))?;
                self.spans.push(((from, to), read));
                self.spans.len() - 1
            }
        };
        Ok(self.spans.get(i).map_or(&[][..], |(_, v)| v.as_slice()))
    }

    /// The segments [`Self::get`] read for `(from, to)`, if it did.
    fn peek(&self, from: i64, to: i64) -> &[Coverage] {
        self.spans
            .iter()
            .find(|(k, _)| *k == (from, to))
            .map_or(&[][..], |(_, v)| v.as_slice())
    }
}

/// What a report reads of one probe over one span, read once per report: probes
/// are shared by contracts (1.8 on average in the year bench), and every contract
/// whose plan has the same zone reads the same span. Within one report the store
/// is read as it was at the first read, as it was before this cache for each
/// contract.
#[derive(Default)]
struct ProbeCache {
    /// `(probe, from, to)` and its outages overlapping the span.
    outages: HashMap<(String, i64, i64), Vec<Outage>>,
    /// `(probe, from, to)` and its no-data time ([`probe_no_data`]).
    no_data: HashMap<(String, i64, i64), Intervals>,
    /// `(probe, from, to)` and its share of the evidence digest.
    evidence: HashMap<(String, i64, i64), ProbeEvidence>,
}

impl ProbeCache {
    fn outages(
        &mut self,
        reader: &Reader,
        name: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<Outage>, StoreError> {
        let key = (name.to_owned(), from, to);
        if let Some(o) = self.outages.get(&key) {
            return Ok(o.clone());
        }
        let read = reader.outages_overlapping(name, UtcMillis(from), UtcMillis(to))?;
        self.outages.insert(key, read.clone());
        Ok(read)
    }

    fn no_data(
        &mut self,
        reader: &Reader,
        probe: &Probe,
        name: &str,
        from: i64,
        to: i64,
    ) -> Result<Intervals, StoreError> {
        let key = (name.to_owned(), from, to);
        if let Some(n) = self.no_data.get(&key) {
            return Ok(n.clone());
        }
        // A contract reads the probe's evidence over its period, the span without
        // its margins: both come from one read of the runs and failed checks.
        let (ps, pe) = (from + SEARCH_MARGIN_MS, to - SEARCH_MARGIN_MS);
        let (spans, evidence) = reader.spans_and_evidence(
            name,
            (UtcMillis(from), UtcMillis(to)),
            (UtcMillis(ps), UtcMillis(pe)),
        )?;
        self.evidence
            .entry((name.to_owned(), ps, pe))
            .or_insert(evidence);
        let read = probe_no_data(&spans, allowance_ms(probe), from, to);
        self.no_data.insert(key, read.clone());
        Ok(read)
    }

    /// [`Reader::evidence_digest`] of `probes` over `[from, to)`, each probe read once.
    fn evidence(
        &mut self,
        reader: &Reader,
        probes: &[String],
        from: i64,
        to: i64,
    ) -> Result<EvidenceDigest, StoreError> {
        let mut names: Vec<&String> = probes.iter().collect();
        names.sort();
        names.dedup();
        for name in &names {
            let key = ((*name).clone(), from, to);
            if let std::collections::hash_map::Entry::Vacant(slot) = self.evidence.entry(key) {
                slot.insert(reader.probe_evidence(name, UtcMillis(from), UtcMillis(to))?);
            }
        }
        let parts: Vec<&ProbeEvidence> = names
            .iter()
            .filter_map(|name| self.evidence.get(&((*name).clone(), from, to)))
            .collect();
        Ok(crate::store::combine_evidence(parts.iter().copied()))
    }

    /// The parts [`Self::evidence`] read of `probes` over `[from, to)`, in name order.
    fn evidence_parts(&self, probes: &[String], from: i64, to: i64) -> Vec<&ProbeEvidence> {
        let mut names: Vec<&String> = probes.iter().collect();
        names.sort();
        names.dedup();
        names
            .iter()
            .filter_map(|name| self.evidence.get(&((*name).clone(), from, to)))
            .collect()
    }
}

/// The report of one contract; `Ok(Err(reason))` when its plan cannot be evaluated
/// over this period.
fn contract_report(
    config: &Config,
    src: &mut Sources<'_, '_>,
    manual: &[crate::store::Incident],
    c: &Contract,
    plan: &Plan,
    spec: PeriodSpec,
) -> Result<Result<ContractReport, String>, ReportError> {
    let tz = &plan.window.timezone;
    // The period alone first, to know what to read.
    let period = match sla::period::resolve(&plan.window, spec, None) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let (ps, pe) = (period.start, period.end);
    let manual = &super::records::clip_open(manual, pe);
    let service_start = match c.start {
        Some(d) => {
            Some(sla::period::midnight(d, tz).map_err(|e| ReportError::Input(e.to_string()))?)
        }
        None => None,
    };
    let service_end = match c.end {
        Some(d) => {
            Some(sla::period::midnight(d, tz).map_err(|e| ReportError::Input(e.to_string()))?)
        }
        None => None,
    };
    let (from, to) = (ps - SEARCH_MARGIN_MS, pe + SEARCH_MARGIN_MS);
    // The consensus decides with several vantages, or when one is not enough.
    // Without a rule: any one of the vantages the report reads ("1 of 3").
    let rule = c.vantages.unwrap_or(crate::config::Consensus {
        k: 1,
        n: u32::try_from(src.views.len()).unwrap_or(u32::MAX).max(1),
    });
    let several = src.views.len() > 1 || rule.k > 1;
    for ((_, reader), cache) in src.views.iter().zip(&mut src.coverage) {
        cache.get(reader, from, to)?;
    }
    let covs: Vec<&[Coverage]> = src.coverage.iter().map(|c| c.peek(from, to)).collect();

    // Each probe's down time.
    let mut probes: Vec<ProbeDown> = Vec::new();
    for name in &c.probes {
        let mine = manual
            .iter()
            .filter(|i| i.probe.as_deref() == Some(name.as_str()) && i.contract.is_none())
            .filter(|i| overlaps((i.start.0, i.end.0), (from, to)))
            .cloned()
            .collect();
        let mut views = Vec::new();
        // Only the vantages that run the probe hold evidence for it.
        let runs_on = config
            .probe(name)
            .map(|p| config.vantages_of(p))
            .unwrap_or_default();
        for (i, (vantage, reader)) in src.views.iter().enumerate() {
            if several && !runs_on.is_empty() && !runs_on.contains(vantage) {
                continue;
            }
            let (Some(read), Some(cov)) = (src.read.get_mut(i), covs.get(i)) else {
                continue;
            };
            let outages = read.outages(reader, name, from, to)?;
            let ends = outages
                .iter()
                .map(|o| o.end.map_or(pe.max(o.last_failure.0 + 1), |e| e.0))
                .collect();
            let mut no_data = match config.probe(name) {
                Some(p) => read.no_data(reader, p, name, from, to)?,
                // Not configured any more: only coverage and its outages speak for it.
                None => Intervals::empty(),
            };
            if several {
                // A vantage not running at all was not measuring either.
                let covered = Intervals::of(cov.iter().map(|s| (s.start.0, s.end.0)));
                no_data = no_data.union(&Intervals::single(from, to).subtract(&covered));
            }
            views.push(super::consensus::VantageProbe {
                vantage: vantage.clone(),
                outages,
                ends,
                no_data,
            });
        }
        probes.push(probe_down(name, views, mine, several, rule, (from, to)));
    }
    let contract_manual: Vec<&crate::store::Incident> = manual
        .iter()
        .filter(|i| i.contract.as_deref() == Some(c.id.as_str()))
        .filter(|i| overlaps((i.start.0, i.end.0), (from, to)))
        .collect();

    // Maintenance that applies to the contract.
    let applies: Vec<&crate::config::Maintenance> = config
        .maintenance
        .iter()
        .filter(|m| m.contracts.contains(&c.id) || m.probes.iter().any(|p| c.probes.contains(p)))
        .filter(|m| m.start.0 < pe)
        .collect();

    let joined: Vec<Coverage>;
    let coverage: &[Coverage] = match covs.as_slice() {
        [one] => one,
        _ => {
            joined = covs.concat();
            &joined
        }
    };
    let service = (service_start, service_end);
    if life_of((ps, pe), service).is_empty() {
        return Ok(Err(format!(
            "the contract is not in force during {} (it runs from {} to {})",
            period.label,
            c.start
                .map_or_else(|| "the beginning".to_owned(), |d| d.to_string()),
            c.end.map_or_else(|| "no end".to_owned(), |d| d.to_string())
        )));
    }
    let evidence_in = Evidence {
        contract_id: &c.id,
        k: needed(c),
        period: (ps, pe),
        service,
        probes,
        contract_manual,
        maintenance: &applies,
        coverage,
    };
    let Assembled {
        timeline,
        mut rows,
        gaps,
        monitored,
    } = timeline_of(&evidence_in, |probe, s, e| {
        // Every vantage's failed checks, by class.
        let mut all: std::collections::BTreeMap<String, i64> = Default::default();
        for (_, reader) in src.views {
            for (class, n) in reader.failure_classes(probe, UtcMillis(s), UtcMillis(e))? {
                *all.entry(class).or_insert(0) += n;
            }
        }
        Ok::<_, StoreError>(all.into_iter().collect())
    })?;

    let ov = overrides(c);
    let evaluation = match sla::evaluate(plan, &ov, spec, None, &timeline) {
        Ok(ev) => ev,
        Err(e) => return Ok(Err(e.to_string())),
    };
    for o in &evaluation.incidents {
        if let Some(r) = rows.get_mut(o.index) {
            r.counted_ms = o.counted_ms.clone();
            r.excluded = o.excluded.clone();
        }
    }
    // Each vantage's digest, and the report's over every vantage in their order.
    let mut digests = Vec::new();
    for ((_, reader), read) in src.views.iter().zip(&mut src.read) {
        digests.push(read.evidence(reader, &c.probes, ps, pe)?);
    }
    let evidence = match digests.as_slice() {
        [one] => one.clone(),
        _ => crate::store::combine_evidence(
            src.read
                .iter()
                .flat_map(|r| r.evidence_parts(&c.probes, ps, pe))
                .collect::<Vec<_>>()
                .into_iter(),
        ),
    };
    let consensus = several.then(|| {
        super::consensus::view(
            rule,
            src.views,
            &src.chains,
            &evidence_in
                .probes
                .iter()
                .map(|p| (p.name.as_str(), p.consensus.as_ref()))
                .collect::<Vec<_>>(),
            evidence_in.k,
            &life_of((ps, pe), service),
            &rows,
        )
    });
    let recorded: Vec<&crate::store::Incident> = evidence_in
        .probes
        .iter()
        .flat_map(|p| p.manual.iter())
        .chain(evidence_in.contract_manual.iter().copied())
        .filter(|i| overlaps((i.start.0, i.end.0), (ps, pe)))
        .collect();
    let basis = super::basis::build(&super::basis::Inputs {
        coverage,
        monitored: &monitored,
        period: (ps, pe),
        recorded: &recorded,
        gaps: &gaps,
        unmonitored: c.unmonitored,
    });
    let mut cr = ContractReport {
        contract: c.clone(),
        plan: plan.clone(),
        fee: ov.fee.unwrap_or(plan.fee),
        currency: ov.currency.unwrap_or_else(|| plan.currency.clone()),
        fee_period: ov.fee_period.unwrap_or(plan.fee_period),
        customer_type: ov.customer_type.unwrap_or(plan.customer_type),
        timeline,
        evaluation,
        incidents: rows,
        maintenance: applies
            .into_iter()
            .filter(|m| overlaps((m.start.0, m.end.0), (ps, pe)))
            .cloned()
            .collect(),
        gaps: gaps
            .iter()
            .map(|(s, e)| (UtcMillis(s), UtcMillis(e)))
            .collect(),
        evidence,
        basis,
        comparison: super::compare::Comparison::default(),
        records: Vec::new(),
        deadline: None,
        consensus,
    };
    cr.comparison = super::compare::build(config, &cr, spec);
    Ok(Ok(cr))
}

/// The contract's life inside the period: the period cut to its start and end.
fn life_of(period: (i64, i64), service: (Option<i64>, Option<i64>)) -> Intervals {
    Intervals::single(
        period.0.max(service.0.unwrap_or(i64::MIN)),
        period.1.min(service.1.unwrap_or(i64::MAX)),
    )
}

/// What the store and the configuration say about one contract around one period,
/// read before the assembly: the input of [`timeline_of`], which reads nothing.
struct Evidence<'a> {
    /// The contract's id (named in the notes of its own records).
    contract_id: &'a str,
    /// How many of its probes must be down at once (`unavailable_when`).
    k: usize,
    /// The period, ms.
    period: (i64, i64),
    /// The contract's start and end (local midnights), ms.
    service: (Option<i64>, Option<i64>),
    /// Each probe's outages, records and unmeasured time, over the period widened
    /// by [`SEARCH_MARGIN_MS`].
    probes: Vec<ProbeDown>,
    /// The records for the contract as a whole.
    contract_manual: Vec<&'a crate::store::Incident>,
    /// The maintenance windows that apply to the contract and start before the
    /// period's end.
    maintenance: &'a [&'a crate::config::Maintenance],
    /// The coverage segments (heartbeats of any vantage).
    coverage: &'a [Coverage],
}

/// The timeline the engine evaluates, with what the report shows beside it.
#[derive(Debug)]
struct Assembled {
    timeline: Timeline,
    /// One per timeline incident, in the same order; `counted_ms` and `excluded` are
    /// the engine's to fill.
    rows: Vec<IncidentRow>,
    /// No data inside the period and the contract's life.
    gaps: Intervals,
    /// What the checks alone measured, records aside: the basis's monitored time.
    monitored: Intervals,
}

/// The evidence-to-timeline assembly (the module's documentation says how and why):
/// the probes combined by `unavailable_when` with the contract's records into
/// incidents, the unmeasured time into gaps, the maintenance windows, and one
/// evidence row per incident. `failure_classes(probe, start, end)` counts a probe's
/// failed checks by class over an incident: the only thing asked of the store.
fn timeline_of<E>(
    ev: &Evidence<'_>,
    mut failure_classes: impl FnMut(&str, i64, i64) -> Result<Vec<(String, i64)>, E>,
) -> Result<Assembled, E> {
    let (ps, pe) = ev.period;
    let (probes, k, coverage) = (&ev.probes, ev.k, ev.coverage);
    let contract_manual = &ev.contract_manual;
    let down = at_least(&probes.iter().map(ProbeDown::down).collect::<Vec<_>>(), k).union(
        &Intervals::of(contract_manual.iter().map(|i| (i.start.0, i.end.0))),
    );
    let proven = at_least(&probes.iter().map(ProbeDown::proven).collect::<Vec<_>>(), k);
    let possible = at_least(
        &probes.iter().map(ProbeDown::possible).collect::<Vec<_>>(),
        k,
    )
    .union(&Intervals::of(
        contract_manual.iter().map(|i| (i.start.0, i.end.0)),
    ));
    let maint_set = Intervals::of(ev.maintenance.iter().map(|m| (m.start.0, m.end.0)));

    // Coverage and no data.
    let covered = Intervals::of(coverage.iter().map(|s| (s.start.0, s.end.0)));
    let life = life_of(ev.period, ev.service);
    let unknown = no_data_of(
        &probes
            .iter()
            .map(ProbeDown::down_or_no_data)
            .collect::<Vec<_>>(),
        k,
        &down,
    );
    // A recorded incident is data: where it makes the contract down, that time is
    // downtime, never no data (also when no check ran at all).
    let gaps = life
        .subtract(&covered)
        .union(&unknown.intersect(&life))
        .subtract(&down);
    // What the checks alone measured, records aside: the basis's monitored time.
    let checks_down = at_least(
        &probes
            .iter()
            .map(ProbeDown::measured_down)
            .collect::<Vec<_>>(),
        k,
    );
    let monitored = life.intersect(&covered).subtract(&no_data_of(
        &probes
            .iter()
            .map(|p| p.measured_down().union(&p.no_data))
            .collect::<Vec<_>>(),
        k,
        &checks_down,
    ));

    let mut timeline = Timeline {
        service_start: ev.service.0.map(UtcMillis),
        service_end: ev.service.1.map(UtcMillis),
        gaps: gaps
            .iter()
            .map(|(s, e)| Gap {
                start: UtcMillis(s),
                end: UtcMillis(e),
            })
            .collect(),
        maintenance: ev
            .maintenance
            .iter()
            .map(|m| MaintenanceWindow {
                start: m.start,
                end: m.end,
                announced_at: m.announced_at,
            })
            .collect(),
        incidents: Vec::new(),
    };

    let mut rows: Vec<IncidentRow> = Vec::new();
    for (s, e) in down.iter() {
        if !overlaps((s, e), (ps, pe)) {
            continue;
        }
        let mut names = BTreeSet::new();
        let mut sources = BTreeSet::new();
        let mut details: Vec<String> = Vec::new();
        let mut classes: std::collections::BTreeMap<String, i64> = Default::default();
        let mut open = false;
        let mut any_lsb = false;
        let mut causes: Vec<Option<String>> = Vec::new();
        for p in probes {
            let mut seen = false;
            // Under a consensus, a vantage's outage is evidence of this incident
            // only where the consensus found the probe down.
            let agreed = p
                .consensus
                .as_ref()
                .is_none_or(|c| !c.down.clip(s, e).is_empty());
            for (o, end) in p.outages.iter().zip(&p.ends) {
                if agreed && overlaps((o.start.0, *end), (s, e)) {
                    seen = true;
                    sources.insert("measured".to_owned());
                    open |= o.end.is_none();
                    any_lsb |= o.last_success_before.is_some();
                    classes.entry(o.class.as_str().to_owned()).or_insert(0);
                    let d = format!("{}: {}", p.name, o.detail);
                    if !details.contains(&d) {
                        details.push(d);
                    }
                }
            }
            for i in &p.manual {
                if overlaps((i.start.0, i.end.0), (s, e)) {
                    seen = true;
                    sources.insert(i.source.as_str().to_owned());
                    open |= i.open;
                    causes.push(i.cause.clone());
                    if !i.note.is_empty() {
                        details.push(format!("{} ({}): {}", p.name, i.source.as_str(), i.note));
                    }
                }
            }
            if seen {
                names.insert(p.name.clone());
                for (class, n) in failure_classes(&p.name, s, e)? {
                    let slot = classes.entry(class).or_insert(0);
                    *slot += n;
                }
            }
        }
        for i in contract_manual {
            if overlaps((i.start.0, i.end.0), (s, e)) {
                sources.insert(i.source.as_str().to_owned());
                open |= i.open;
                causes.push(i.cause.clone());
                if !i.note.is_empty() {
                    details.push(format!(
                        "{} ({}): {}",
                        ev.contract_id,
                        i.source.as_str(),
                        i.note
                    ));
                }
            }
        }
        // An outage row's class with no failed check left (pruned) still shows, once.
        let classes: Vec<(String, i64)> = classes.into_iter().map(|(k, n)| (k, n.max(1))).collect();
        let uncertainty_ms = if any_lsb {
            possible
                .iter()
                .find(|&(a, b)| a <= s && s < b)
                .map(|(a, _)| s - a)
        } else {
            None
        };
        let proven_here = proven.clip(s, e);
        let end_uncertainty_ms = if open || !sources.contains("measured") {
            None
        } else {
            proven_here.hull().map(|(_, b)| e - b)
        };
        let vantages: BTreeSet<String> = coverage
            .iter()
            .filter(|v| overlaps((v.start.0, v.end.0.max(v.start.0 + 1)), (s, e)))
            .map(|v| v.vantage.clone())
            .collect();
        let note = format!(
            "{} ({})",
            names.iter().cloned().collect::<Vec<_>>().join(", "),
            sources.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        timeline.incidents.push(Incident {
            start: UtcMillis(s),
            end: UtcMillis(e),
            note: Some(if names.is_empty() {
                ev.contract_id.to_owned() + &note
            } else {
                note
            }),
            cause: super::records::common_cause(&causes),
            ..Incident::default()
        });
        rows.push(IncidentRow {
            start: UtcMillis(s),
            end: UtcMillis(e),
            open,
            proven_ms: proven_here.measure(),
            uncertainty_ms,
            end_uncertainty_ms,
            classes,
            probes: sorted(names),
            vantages: sorted(vantages),
            sources: sorted(sources),
            details,
            maintenance_ms: maint_set.clip(s, e).measure(),
            counted_ms: num::int(0),
            excluded: None,
        });
    }

    Ok(Assembled {
        timeline,
        rows,
        gaps,
        monitored,
    })
}

impl Report {
    /// Contracts whose SLA was breached.
    pub(crate) fn breached(&self) -> usize {
        self.contracts
            .iter()
            .filter(|c| c.evaluation.breach)
            .count()
    }

    /// What is owed in total, per currency (sorted by currency), and the days.
    pub(crate) fn owed(&self) -> (Vec<(String, Decimal)>, u32) {
        let mut money: std::collections::BTreeMap<String, Decimal> = Default::default();
        let mut days = 0u32;
        for c in &self.contracts {
            if let Some(m) = &c.evaluation.credit {
                *money.entry(m.currency.clone()).or_default() += m.amount;
            }
            days += c.evaluation.extension_days.unwrap_or(0);
        }
        // A currency owed nothing is not listed: "owed: nothing", never "0.00 EUR".
        (
            money.into_iter().filter(|(_, a)| !a.is_zero()).collect(),
            days,
        )
    }
}

impl ContractReport {
    /// Something is owed: money above zero or days of service.
    pub(crate) fn owes(&self) -> bool {
        let e = &self.evaluation;
        e.credit.as_ref().is_some_and(|m| m.amount > Decimal::ZERO)
            || e.extension_days.is_some_and(|d| d > 0)
            || e.extension_hours.as_ref().is_some_and(|h| *h > num::int(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[(i64, i64)]) -> Intervals {
        Intervals::of(v.iter().copied())
    }

    #[test]
    fn k_of_n_combines_union_intersection_and_counts() {
        let a = set(&[(0, 10), (20, 30)]);
        let b = set(&[(5, 25)]);
        let c = set(&[(8, 9), (24, 40)]);
        let all = [a, b, c];
        assert_eq!(at_least(&all, 1).iter().collect::<Vec<_>>(), vec![(0, 40)]);
        assert_eq!(
            at_least(&all, 2).iter().collect::<Vec<_>>(),
            vec![(5, 10), (20, 30)]
        );
        assert_eq!(
            at_least(&all, 3).iter().collect::<Vec<_>>(),
            vec![(8, 9), (24, 25)]
        );
        assert!(at_least(&all, 4).is_empty());
    }

    #[test]
    fn touching_intervals_of_one_probe_do_not_count_twice() {
        // [0,10) and [10,20) of one probe, and [5,15) of another: 2 of 2 is [5,15).
        let a = set(&[(0, 10), (10, 20)]);
        let b = set(&[(5, 15)]);
        assert_eq!(
            at_least(&[a, b], 2).iter().collect::<Vec<_>>(),
            vec![(5, 15)]
        );
    }

    use crate::model::Status;
    use crate::store::CheckSpan;

    fn span(first: i64, last: i64, status: Status) -> CheckSpan {
        CheckSpan {
            first: UtcMillis(first),
            last: UtcMillis(last),
            status,
            count: 1,
        }
    }

    #[test]
    fn a_probe_has_no_data_under_unknown_checks_and_after_a_stall() {
        let spans = [
            span(0, 300, Status::Up),
            span(400, 500, Status::Unknown),
            span(600, 600, Status::Down),
            // The loop stalled: nothing from 600 + 150 until 2000.
            span(2000, 2100, Status::Up),
        ];
        let nd = probe_no_data(&spans, 150, -100, 3000);
        assert_eq!(
            nd.iter().collect::<Vec<_>>(),
            vec![(-100, 0), (400, 600), (750, 2000), (2250, 3000)]
        );
    }

    #[test]
    fn combining_probes_needs_enough_measured_down_and_enough_measured_up() {
        // Probe a is down over [0, 100); probe b has no data over [50, 150).
        let down = [set(&[(0, 100)]), set(&[])];
        let maybe = [set(&[(0, 100)]), set(&[(50, 150)])];
        // any (1 of 2): down while a is down; no data where only b is unknown.
        let d1 = at_least(&down, 1);
        assert_eq!(d1.iter().collect::<Vec<_>>(), vec![(0, 100)]);
        assert_eq!(
            no_data_of(&maybe, 1, &d1).iter().collect::<Vec<_>>(),
            vec![(100, 150)]
        );
        // all (2 of 2): never down; no data where a is down and b unknown, up
        // where either was measured up.
        let d2 = at_least(&down, 2);
        assert!(d2.is_empty());
        assert_eq!(
            no_data_of(&maybe, 2, &d2).iter().collect::<Vec<_>>(),
            vec![(50, 100)]
        );
    }

    // The evidence-to-timeline assembly, from in-memory evidence (no database).

    use crate::model::ErrorClass;
    use std::convert::Infallible;

    fn probe(name: &str, outages: Vec<Outage>, no_data: &[(i64, i64)]) -> ProbeDown {
        ProbeDown {
            name: name.into(),
            ends: outages
                .iter()
                .map(|o| o.end.map_or(10_000, |e| e.0))
                .collect(),
            outages,
            manual: Vec::new(),
            no_data: set(no_data),
            consensus: None,
        }
    }

    fn outage(start: i64, end: i64, last_failure: i64, lsb: Option<i64>) -> Outage {
        Outage {
            probe: "web".into(),
            start: UtcMillis(start),
            end: Some(UtcMillis(end)),
            last_failure: UtcMillis(last_failure),
            last_success_before: lsb.map(UtcMillis),
            class: ErrorClass::Refused,
            detail: "connection refused".into(),
            failed_checks: 3,
        }
    }

    fn covered(v: &[(i64, i64)]) -> Vec<Coverage> {
        v.iter()
            .map(|&(s, e)| Coverage {
                vantage: "home".into(),
                start: UtcMillis(s),
                end: UtcMillis(e),
            })
            .collect()
    }

    fn evidence<'a>(probes: Vec<ProbeDown>, k: usize, coverage: &'a [Coverage]) -> Evidence<'a> {
        Evidence {
            contract_id: "acme",
            k,
            period: (0, 10_000),
            service: (None, None),
            probes,
            contract_manual: Vec::new(),
            maintenance: &[],
            coverage,
        }
    }

    #[test]
    fn timeline_of_makes_an_outage_an_incident_with_its_evidence() {
        let coverage = covered(&[(0, 10_000)]);
        let ev = evidence(
            vec![probe("web", vec![outage(1000, 2000, 1800, Some(900))], &[])],
            1,
            &coverage,
        );
        let mut asked = Vec::new();
        let a = timeline_of(&ev, |p, s, e| {
            asked.push((p.to_owned(), s, e));
            Ok::<_, Infallible>(vec![(ErrorClass::Refused.as_str().to_owned(), 3)])
        })
        .unwrap();
        assert_eq!(asked, vec![("web".to_owned(), 1000, 2000)]);
        assert_eq!(a.timeline.incidents.len(), 1);
        let inc = &a.timeline.incidents[0];
        assert_eq!((inc.start.0, inc.end.0), (1000, 2000));
        assert_eq!(inc.note.as_deref(), Some("web (measured)"));
        let r = &a.rows[0];
        assert_eq!(r.proven_ms, 800);
        assert_eq!(r.uncertainty_ms, Some(100));
        assert_eq!(r.end_uncertainty_ms, Some(200));
        assert_eq!(
            r.classes,
            vec![(ErrorClass::Refused.as_str().to_owned(), 3)]
        );
        assert_eq!(r.vantages, vec!["home".to_owned()]);
        assert_eq!(r.details, vec!["web: connection refused".to_owned()]);
        assert!(a.gaps.is_empty());
        assert_eq!(a.monitored, set(&[(0, 10_000)]));
    }

    #[test]
    fn timeline_of_lets_a_contract_record_fill_a_hole_and_leaves_the_rest_no_data() {
        let coverage = covered(&[(0, 4000), (6000, 10_000)]);
        let record = crate::store::Incident {
            contract: Some("acme".into()),
            start: UtcMillis(4500),
            end: UtcMillis(5000),
            note: "power cut".into(),
            cause: Some("power".into()),
            ..Default::default()
        };
        let mut ev = evidence(vec![probe("web", vec![], &[])], 1, &coverage);
        ev.contract_manual = vec![&record];
        ev.service = (None, Some(8000));
        let a = timeline_of(&ev, |_, _, _| Ok::<_, Infallible>(vec![])).unwrap();
        assert_eq!(
            a.gaps,
            set(&[(4000, 4500), (5000, 6000)]),
            "the record is data"
        );
        assert_eq!(a.timeline.service_end, Some(UtcMillis(8000)));
        let inc = &a.timeline.incidents[0];
        assert_eq!((inc.start.0, inc.end.0), (4500, 5000));
        assert_eq!(inc.cause.as_deref(), Some("power"));
        assert_eq!(inc.note.as_deref(), Some("acme (manual)"));
        let r = &a.rows[0];
        assert_eq!(r.sources, vec!["manual".to_owned()]);
        assert_eq!(
            (r.proven_ms, r.uncertainty_ms, r.end_uncertainty_ms),
            (0, None, None)
        );
        assert_eq!(r.details, vec!["acme (manual): power cut".to_owned()]);
        assert_eq!(a.monitored, set(&[(0, 4000), (6000, 8000)]));
    }

    #[test]
    fn timeline_of_with_all_probes_needed_makes_one_down_probe_beside_an_unmeasured_one_no_data() {
        let coverage = covered(&[(0, 10_000)]);
        let ev = evidence(
            vec![
                probe("web", vec![outage(1000, 3000, 2900, None)], &[]),
                probe("mail", vec![], &[(2000, 4000)]),
            ],
            2,
            &coverage,
        );
        let a = timeline_of(&ev, |_, _, _| Ok::<_, Infallible>(vec![])).unwrap();
        assert!(a.timeline.incidents.is_empty(), "2 of 2 were never down");
        assert_eq!(a.gaps, set(&[(2000, 3000)]));
        assert_eq!(a.monitored, set(&[(0, 2000), (3000, 10_000)]));
    }
}
