//! A plan's terms, typed: the model of SLA-MODEL.md section 2.
//!
//! `config` builds these from `[[plan]]` tables (and reports every mistake with its
//! position); the engine only reads them. Durations are integer milliseconds, money
//! and percentages decimals, wall-clock rules civil times in a named time zone.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use serde::Deserialize;

/// One SLO on one service for one customer contract.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Unique id.
    pub id: String,
    /// Who promises.
    pub provider: Option<String>,
    /// What is promised.
    pub service: Option<String>,
    /// Where the terms were read.
    pub source: Option<String>,
    /// How firmly the terms were verified.
    pub verified: Option<Verified>,
    /// Plans of a bundle share a group.
    pub group: Option<String>,
    /// How a group's credits combine.
    pub group_rule: GroupRule,
    /// Which probers feed the plan (`https+imap`), informative.
    pub probe: Option<String>,
    /// For the business multiplier of per-day indemnities.
    pub customer_type: CustomerType,
    /// ISO 4217 code of `fee`.
    pub currency: String,
    /// The fee of the service for one `fee_period`.
    pub fee: Decimal,
    /// What `fee` pays for.
    pub fee_period: FeePeriod,
    /// The measurement window.
    pub window: Window,
    /// The promise.
    pub objective: Objective,
    /// How downtime is measured.
    pub measurement: Measurement,
    /// What does not count.
    pub exclusions: Exclusions,
    /// What a breach owes.
    pub credit: Credit,
    /// How and by when to claim.
    pub claim: Claim,
    /// Non-contractual remedies recorded for history.
    pub goodwill: Vec<Goodwill>,
    /// The contract clause a letter cites as its legal basis
    /// ("art. 6.1 delle Condizioni generali").
    pub clause: Option<String>,
}

/// `verified`: how firm the encoded terms are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verified {
    /// Read from the contract text.
    Text,
    /// Partly from the text.
    Partial,
    /// From memory or third parties.
    Memory,
    /// Made up for an example.
    Synthetic,
}

/// `group_rule`: how the credits of plans sharing a `group` combine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRule {
    /// Credits add up (default).
    #[default]
    Sum,
    /// Only the largest applies (credits not cumulative).
    BestForCustomer,
}

/// Consumer or business customer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerType {
    /// A consumer (default).
    #[default]
    Consumer,
    /// A business: per-day indemnities apply `business_multiplier`.
    Business,
}

impl CustomerType {
    /// The name written in plans, contracts, reports and the calculator's flags.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerType::Consumer => "consumer",
            CustomerType::Business => "business",
        }
    }

    /// Reads [`CustomerType::as_str`]'s names; `None` for anything else.
    pub fn parse(s: &str) -> Option<CustomerType> {
        [CustomerType::Consumer, CustomerType::Business]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// `fee_period`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeePeriod {
    /// The fee is monthly (default).
    #[default]
    Month,
    /// The fee is yearly.
    Year,
}

/// `[plan.window]`.
#[derive(Clone, Debug)]
pub struct Window {
    /// Which periods.
    pub kind: WindowKind,
    /// IANA name of the zone periods are computed in.
    pub timezone_name: String,
    /// That zone.
    pub timezone: TimeZone,
    /// What happens when the service exists for part of a period.
    pub partial_period: PartialPeriod,
    /// Measure only inside these local hours.
    pub business_hours: Option<WeeklyHours>,
}

/// `window.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// Local calendar months.
    CalendarMonth,
    /// Months starting on `anchor_day` (clamped to the month's length).
    BillingCycle {
        /// 1..=31
        anchor_day: i8,
    },
    /// Local calendar years.
    CalendarYear,
    /// A window of fixed length ending at the claim date or the period end.
    Rolling {
        /// Milliseconds.
        length_ms: i64,
        /// Where it ends.
        anchor: RollingAnchor,
    },
}

/// `window.anchor` of a rolling window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollingAnchor {
    /// Ends at the start of the claim date.
    ClaimDate,
    /// Ends at the end of the named period (default).
    #[default]
    PeriodEnd,
}

/// `window.partial_period`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartialPeriod {
    /// Measure only while the service exists (default).
    #[default]
    Prorate,
    /// Measure the whole period.
    Full,
}

/// Local weekly hours: business hours, or recurring maintenance slots.
#[derive(Clone, Debug)]
pub struct WeeklyHours {
    /// IANA name of the zone.
    pub timezone_name: String,
    /// The zone the wall-clock times are in.
    pub timezone: TimeZone,
    /// The weekdays the slot starts on.
    pub days: Vec<Weekday>,
    /// Local start.
    pub start: Time,
    /// Local end; at or before `start` means the next day ("21:00"–"06:00"), and
    /// "24:00" is written as `end_of_day = true`.
    pub end: Time,
    /// `end` was "24:00".
    pub end_of_day: bool,
    /// Local dates without hours (business hours only).
    pub holidays: Vec<Date>,
}

/// `[plan.objective]`.
#[derive(Clone, Debug)]
pub struct Objective {
    /// Availability promised, percent.
    pub target: Decimal,
    /// When the promise is broken.
    pub breach_if: BreachIf,
}

/// `objective.breach_if`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreachIf {
    /// Availability below the target (strict).
    AvailabilityLtTarget,
    /// Downtime above this percentage of the measured time.
    DowntimeGtPct(Decimal),
    /// Any counted downtime at all.
    AnyDowntime,
}

/// `[plan.measurement]`.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// How D and T are measured.
    pub method: Method,
    /// Incidents with an error rate at or below this are not downtime.
    pub down_if_error_rate_gt: Option<Decimal>,
    /// Slices with fewer requests are not judged (needs request counts).
    pub min_requests_per_slice: Option<u64>,
    /// Fragments shorter than this (or not longer, if exclusive) are dropped.
    pub min_incident: Option<MinIncident>,
    /// Incidents closer than this are joined, with the gap.
    pub merge_gap_ms: Option<i64>,
    /// Rounding of each fragment.
    pub fragment_rounding: FragmentRounding,
    /// Where an incident starts counting.
    pub start_from: StartFrom,
    /// Where it stops.
    pub end_at: EndAt,
    /// What monitoring gaps mean.
    pub missing_data: MissingData,
}

/// `measurement.min_incident` with its exclusivity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinIncident {
    /// Milliseconds.
    pub ms: i64,
    /// "More than": a fragment of exactly `ms` is dropped too.
    pub exclusive: bool,
}

/// `measurement.method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Seconds of downtime.
    Time,
    /// Fixed slices judged bad or good.
    TimeSlices {
        /// Slice length, ms.
        slice_ms: i64,
        /// When a slice is bad.
        bad_if: SliceBadIf,
    },
    /// Mean of per-slice error rates.
    ErrorRateSlices {
        /// Slice length, ms.
        slice_ms: i64,
    },
    /// User-minutes.
    UserWeighted {
        /// Total users, the denominator of `affected_users`.
        users: Option<u64>,
    },
}

/// `measurement.slice_bad_if`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliceBadIf {
    /// Any overlap with a fragment (default).
    #[default]
    Any,
    /// The whole measured part of the slice is down.
    Full,
    /// The slice's error rate exceeds `down_if_error_rate_gt`.
    ErrorRateGt,
}

/// `measurement.fragment_rounding`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FragmentRounding {
    /// Exact (default).
    #[default]
    None,
    /// Start rounded up, end down, to whole clock minutes.
    WholeClockMinutes,
}

/// `measurement.start_from`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartFrom {
    /// When monitoring saw it (default).
    #[default]
    Detected,
    /// When the customer reported it; never reported = never counts.
    Reported,
    /// When reported, else when detected.
    ReportedOrDetected,
}

/// `measurement.end_at`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndAt {
    /// When service came back (default).
    #[default]
    Restored,
    /// When the provider confirmed it back (`confirmed_restored_at`).
    ConfirmedRestored,
}

/// `measurement.missing_data`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingData {
    /// Gaps are neither up nor down: removed from the measured time (default).
    #[default]
    Exclude,
    /// Gaps count as up.
    AsUp,
    /// Gaps count as down.
    AsDown,
}

impl MissingData {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MissingData::Exclude => "exclude",
            MissingData::AsUp => "as_up",
            MissingData::AsDown => "as_down",
        }
    }
}

/// `[plan.exclusions]`.
#[derive(Clone, Debug, Default)]
pub struct Exclusions {
    /// Incidents with these causes do not count.
    pub causes: Vec<String>,
    /// Announced maintenance.
    pub maintenance: MaintenanceRule,
}

/// `exclusions.maintenance`.
#[derive(Clone, Debug, Default)]
pub struct MaintenanceRule {
    /// Announced windows are carved out of incidents (default: no).
    pub excluded: bool,
    /// Announced at least this long before the start (ms).
    pub min_notice_ms: i64,
    /// At most this much excluded maintenance per local calendar year (ms).
    pub max_per_year_ms: Option<i64>,
    /// Only inside these slots.
    pub recurring: Vec<WeeklyHours>,
}

/// `[plan.credit]`.
#[derive(Clone, Debug)]
pub struct Credit {
    /// How the amount is computed.
    pub scheme: Scheme,
    /// Cap in percent of the period's fee.
    pub cap_pct_of_fee: Option<Decimal>,
    /// Cap in days (day credits).
    pub cap_days: Option<Decimal>,
    /// Cap per incident, percent of the fee.
    pub cap_per_incident_pct_of_fee: Option<Decimal>,
    /// Absolute cap.
    pub cap_amount: Option<Decimal>,
    /// Cap on the money value of day credits, percent of the fee.
    pub cap_value_pct_of_fee: Option<Decimal>,
    /// Credits below this are not issued.
    pub min_credit: Option<Decimal>,
    /// What a day of service is worth.
    pub day_value_basis: DayValueBasis,
    /// How the remedy is paid.
    pub form: Option<CreditForm>,
}

/// `credit.day_value_basis`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DayValueBasis {
    /// The period's fee over its days (default).
    #[default]
    DaysInPeriod,
    /// The period's fee over 30.
    Thirty,
}

/// `credit.form`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditForm {
    /// Credit on a future invoice.
    FutureInvoiceCredit,
    /// Money back.
    Refund,
    /// Free days of service.
    TermExtension,
    /// Days, or their money value.
    ExtensionOrMonetary,
    /// A better plan.
    ServiceUpgrade,
}

impl CreditForm {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CreditForm::FutureInvoiceCredit => "future_invoice_credit",
            CreditForm::Refund => "refund",
            CreditForm::TermExtension => "term_extension",
            CreditForm::ExtensionOrMonetary => "extension_or_monetary",
            CreditForm::ServiceUpgrade => "service_upgrade",
        }
    }
}

/// A band of an availability table: applies when A < `below` percent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailabilityBand {
    /// Percent, exclusive upper bound.
    pub below: Decimal,
    /// What the band gives.
    pub value: BandValue,
}

/// A band of a duration table: applies when the duration >= `at_least_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationBand {
    /// Inclusive lower bound.
    pub at_least_ms: i64,
    /// What the band gives.
    pub value: BandValue,
}

/// A band's remedy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandValue {
    /// Percent of the period's fee.
    Pct(Decimal),
    /// Days of service.
    Days(u32),
}

/// How per-unit schemes round downtime to units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitRounding {
    /// Whole units only (default).
    #[default]
    Floor,
    /// Every started unit.
    Ceil,
    /// Nearest, halves up.
    Nearest,
}

/// Per-unit schemes: over the period's total, or incident by incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitScope {
    /// Total downtime (default).
    #[default]
    Aggregate,
    /// Each incident rounded on its own.
    Incident,
}

/// Per-unit schemes: count from zero or beyond the allowance (1 − target) × T.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountFrom {
    /// From the first millisecond (default).
    #[default]
    Zero,
    /// Only downtime beyond what the target allows.
    BeyondAllowance,
}

/// `credit.lost_time` of pro-rata schemes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostTime {
    /// The period's measured downtime (default).
    #[default]
    Measured,
    /// Incident by incident (deductible and per-incident cap apply).
    PerIncident,
    /// Downtime beyond the allowance (1 − target) × T.
    BeyondAllowance,
}

/// `credit.day_count` of per-day indemnities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// Local calendar days touched by downtime (default).
    #[default]
    LocalCalendarDaysTouched,
    /// Started 24-hour blocks of each incident.
    #[serde(rename = "started_24h_blocks")]
    Started24hBlocks,
}

/// `credit.aggregate` of incident tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Add the incidents' bands (default).
    #[default]
    Sum,
    /// The largest band.
    Max,
}

/// `credit.scheme` with its parameters.
#[derive(Clone, Debug)]
pub enum Scheme {
    /// Nothing owed; a breach is still reported.
    None,
    /// The remedy is not captured.
    Unspecified,
    /// Not computed; see the plan's `goodwill`.
    Goodwill,
    /// Percent of the fee by availability band.
    TieredPercent(Vec<AvailabilityBand>),
    /// Days of service by availability band.
    TieredDays(Vec<AvailabilityBand>),
    /// Band by total downtime.
    DowntimeTiers(Vec<DurationBand>),
    /// Band per incident, combined.
    IncidentTiers {
        /// The table.
        tiers: Vec<DurationBand>,
        /// Sum or max.
        aggregate: Aggregate,
    },
    /// Percent per unit of downtime.
    PerUnitPercent(PerUnit),
    /// Days per unit of downtime.
    PerUnitDays(PerUnit),
    /// multiplier × lost hours × fee / hours_basis.
    ProrataMultiplier {
        /// Decimal multiplier.
        multiplier: Decimal,
        /// Hours the fee pays for.
        hours_basis: Decimal,
        /// Which hours are lost.
        lost_time: LostTime,
        /// Subtracted from each incident (per_incident), ms.
        deductible_per_incident_ms: i64,
    },
    /// A flat amount per day of disservice.
    DailyFlat {
        /// Per day.
        per_day: Decimal,
        /// Which days.
        day_count: DayCount,
        /// For business customers.
        business_multiplier: Decimal,
    },
    /// A day's fee for each local day whose downtime share exceeds the threshold.
    PerDayOverThreshold {
        /// Percent of the day.
        threshold_pct: Decimal,
    },
}

/// Parameters of the per-unit schemes.
#[derive(Clone, Debug)]
pub struct PerUnit {
    /// Unit length, ms.
    pub unit_ms: i64,
    /// Rounding of downtime / unit.
    pub rounding: UnitRounding,
    /// Aggregate or per incident.
    pub scope: UnitScope,
    /// From zero or beyond the allowance.
    pub count_from: CountFrom,
    /// Percent (per_unit_percent) or days (per_unit_days) per unit.
    pub per_unit: Decimal,
}

impl Scheme {
    /// The configuration spelling.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::None => "none",
            Scheme::Unspecified => "unspecified",
            Scheme::Goodwill => "goodwill",
            Scheme::TieredPercent(_) => "tiered_percent",
            Scheme::TieredDays(_) => "tiered_days",
            Scheme::DowntimeTiers(_) => "downtime_tiers",
            Scheme::IncidentTiers { .. } => "incident_tiers",
            Scheme::PerUnitPercent(_) => "per_unit_percent",
            Scheme::PerUnitDays(_) => "per_unit_days",
            Scheme::ProrataMultiplier { .. } => "prorata_multiplier",
            Scheme::DailyFlat { .. } => "daily_flat",
            Scheme::PerDayOverThreshold { .. } => "per_day_over_threshold",
        }
    }
}

/// `[plan.claim]`.
#[derive(Clone, Debug, Default)]
pub struct Claim {
    /// By when.
    pub deadline: Deadline,
    /// The provider credits without a claim.
    pub automatic: Option<bool>,
    /// How to claim.
    pub method: Option<String>,
    /// What to attach.
    pub evidence: Option<String>,
}

/// `claim.deadline`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Deadline {
    /// Not modelled (default).
    #[default]
    None,
    /// By the end of the n-th billing cycle after the period.
    CyclesAfterPeriod(u32),
    /// Days after the period's end (local calendar days).
    DaysAfterPeriodEnd(u32),
    /// Months after the period's end.
    MonthsAfterPeriodEnd(u32),
    /// Days after each incident's start; the earliest is shown.
    DaysAfterIncidentStart(u32),
}

/// One goodwill remedy recorded with a plan.
#[derive(Clone, Debug)]
pub struct Goodwill {
    /// The event.
    pub event: Option<String>,
    /// What was given.
    pub remedy: Option<String>,
    /// Free days given.
    pub extension_days: Option<u32>,
    /// To whom.
    pub applies_to: Vec<String>,
    /// Free text.
    pub note: Option<String>,
}

impl Credit {
    /// A remedy of `scheme` without caps, minimum or form, days valued over the period.
    pub(crate) fn of(scheme: Scheme) -> Credit {
        Credit {
            scheme,
            cap_pct_of_fee: None,
            cap_days: None,
            cap_per_incident_pct_of_fee: None,
            cap_amount: None,
            cap_value_pct_of_fee: None,
            min_credit: None,
            day_value_basis: DayValueBasis::DaysInPeriod,
            form: None,
        }
    }
}

#[cfg(test)]
impl Measurement {
    /// Method `time` with every other key at its default: the unit tests' plain plan.
    pub(crate) fn plain_time() -> Measurement {
        Measurement {
            method: Method::Time,
            down_if_error_rate_gt: None,
            min_requests_per_slice: None,
            min_incident: None,
            merge_gap_ms: None,
            fragment_rounding: FragmentRounding::None,
            start_from: StartFrom::Detected,
            end_at: EndAt::Restored,
            missing_data: MissingData::Exclude,
        }
    }
}

impl Plan {
    /// One line a person can read: "99.9 % per calendar month (Europe/Rome);
    /// 10 % / 25 % / 100 % of the fee below 99.9 / 99.0 / 95.0 %; cap 100 %".
    pub fn describe(&self) -> String {
        let window = match self.window.kind {
            WindowKind::CalendarMonth => "per calendar month".to_owned(),
            WindowKind::CalendarYear => "per calendar year".to_owned(),
            WindowKind::BillingCycle { anchor_day } => {
                format!("per billing cycle from day {anchor_day}")
            }
            WindowKind::Rolling { length_ms, anchor } => format!(
                "over the {} days before the {}",
                length_ms / crate::sla::num::DAY_MS,
                match anchor {
                    RollingAnchor::ClaimDate => "claim",
                    RollingAnchor::PeriodEnd => "period end",
                }
            ),
        };
        let mut s = match &self.objective.breach_if {
            BreachIf::AvailabilityLtTarget => {
                format!(
                    "{} % {window} ({})",
                    self.objective.target, self.window.timezone_name
                )
            }
            BreachIf::DowntimeGtPct(p) => format!(
                "downtime at most {p} % {window} ({})",
                self.window.timezone_name
            ),
            BreachIf::AnyDowntime => format!(
                "no downtime allowed {window} ({})",
                self.window.timezone_name
            ),
        };
        if self.window.business_hours.is_some() {
            s.push_str(", business hours only");
        }
        let bands = |b: &[AvailabilityBand], unit: &str| {
            let values: Vec<String> = b
                .iter()
                .map(|b| match b.value {
                    BandValue::Pct(p) => format!("{p} %"),
                    BandValue::Days(d) => format!("{d} d"),
                })
                .collect();
            let belows: Vec<String> = b.iter().map(|b| b.below.to_string()).collect();
            format!(
                "{} {unit} below {} %",
                values.join(" / "),
                belows.join(" / ")
            )
        };
        let credit = match &self.credit.scheme {
            Scheme::None => "no credit".to_owned(),
            Scheme::Unspecified => "credit not specified".to_owned(),
            Scheme::Goodwill => "goodwill only".to_owned(),
            Scheme::TieredPercent(b) => bands(b, "of the fee"),
            Scheme::TieredDays(b) => bands(b, "of service"),
            Scheme::DowntimeTiers(t) | Scheme::IncidentTiers { tiers: t, .. } => {
                let per = if matches!(self.credit.scheme, Scheme::DowntimeTiers(_)) {
                    "by total downtime"
                } else {
                    "by incident length"
                };
                let v: Vec<String> = t
                    .iter()
                    .map(|b| {
                        let at = crate::sla::num::human_ms(&crate::sla::num::int(b.at_least_ms));
                        match b.value {
                            BandValue::Pct(p) => format!("{p} % from {at}"),
                            BandValue::Days(d) => format!("{d} d from {at}"),
                        }
                    })
                    .collect();
                format!("{} {per}", v.join(", "))
            }
            Scheme::PerUnitPercent(u) | Scheme::PerUnitDays(u) => {
                let what = if matches!(self.credit.scheme, Scheme::PerUnitPercent(_)) {
                    format!("{} % of the fee", u.per_unit)
                } else {
                    format!("{} d", u.per_unit)
                };
                let unit = crate::sla::num::human_ms(&crate::sla::num::int(u.unit_ms));
                let started = match u.rounding {
                    UnitRounding::Ceil => "started ",
                    UnitRounding::Floor => "full ",
                    UnitRounding::Nearest => "",
                };
                format!("{what} per {started}{unit}")
            }
            Scheme::ProrataMultiplier {
                multiplier,
                hours_basis,
                ..
            } => format!("{multiplier}x lost hours x fee / {hours_basis} h"),
            Scheme::DailyFlat {
                per_day,
                business_multiplier,
                ..
            } => {
                let mut s = format!("{per_day} {} per day of disservice", self.currency);
                if *business_multiplier != Decimal::ONE {
                    s.push_str(&format!(" (x{business_multiplier} for business)"));
                }
                s
            }
            Scheme::PerDayOverThreshold { threshold_pct } => {
                format!("a day's fee per day with more than {threshold_pct} % downtime")
            }
        };
        s.push_str("; ");
        s.push_str(&credit);
        let mut caps = Vec::new();
        if let Some(c) = self.credit.cap_pct_of_fee {
            caps.push(format!("{c} % of the fee"));
        }
        if let Some(c) = self.credit.cap_days {
            caps.push(format!("{c} days"));
        }
        if let Some(c) = self.credit.cap_amount {
            caps.push(format!("{c} {}", self.currency));
        }
        if !caps.is_empty() {
            s.push_str(&format!("; cap {}", caps.join(", ")));
        }
        s
    }
}
