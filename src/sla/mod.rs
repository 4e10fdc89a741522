//! The SLA engine: given a plan's terms, a period and what happened, the
//! availability, whether the SLA was breached, the credit owed and the working.
//!
//! Pure: no I/O, no clock, no database, no network. Every input is passed in
//! (instants as UTC milliseconds), every ratio is an exact rational ([`num::Q`]),
//! money is rounded half-up to the cent only at the end. The order of the steps is
//! SLA-MODEL.md section 3, exactly; each step writes a line to the trace.

mod credit;
mod engine;
mod group;
pub(crate) mod intervals;
pub mod num;
pub(crate) mod period;
pub mod plan;
pub mod timeline;

pub use engine::{MAX_SLICES, MIN_SLICE_MS, check_slices, evaluate};
pub use period::{Period, PeriodSpec};
pub use plan::{CustomerType, FeePeriod, Plan};
pub use timeline::Timeline;

use num::Q;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Contract terms that override the plan's.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// The fee actually paid.
    pub fee: Option<Decimal>,
    /// Its currency.
    pub currency: Option<String>,
    /// What the fee pays for.
    pub fee_period: Option<FeePeriod>,
    /// Consumer or business.
    pub customer_type: Option<CustomerType>,
    /// What no data means, overriding the plan's `measurement.missing_data` (a
    /// contract's `unmonitored`); `Evaluation::missing_data` names the one applied.
    pub missing_data: Option<plan::MissingData>,
}

/// Input the engine cannot evaluate (a period that does not fit the window, ...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    /// Says what to change.
    #[error("{0}")]
    Input(String),
}

/// An amount of money, exact to the cent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// Rounded half-up to the cent.
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
}

/// What became of one timeline incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentOutcome {
    /// Index in the timeline's incidents.
    pub index: usize,
    /// Downtime it contributes to this period, ms (merged incidents share a figure).
    pub counted_ms: Q,
    /// Why it does not count, if it does not.
    pub excluded: Option<String>,
}

/// The evaluation of one plan over one period.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Plan id.
    pub plan: String,
    /// The resolved period.
    pub period: Period,
    /// The plan's time zone.
    pub timezone: String,
    /// D, ms (weighted for weighted methods).
    pub downtime_ms: Q,
    /// T, ms.
    pub measured_ms: Q,
    /// A = 1 − D/T, exact; none when nothing was measured.
    pub availability: Option<Q>,
    /// Per the plan's `breach_if`.
    pub breach: bool,
    /// What is owed; none when the plan's remedy is not computable.
    pub credit: Option<Money>,
    /// The percentage of the fee, for percentage schemes.
    pub credit_pct_of_fee: Option<Q>,
    /// Whole days of service owed.
    pub extension_days: Option<u32>,
    /// Service time owed when it is not whole days, hours.
    pub extension_hours: Option<Q>,
    /// How it is paid.
    pub form: Option<plan::CreditForm>,
    /// Exclusive instant by which to claim, ms.
    pub claim_deadline: Option<i64>,
    /// The policy applied to no-data time.
    pub missing_data: plan::MissingData,
    /// No-data time inside the domain, ms.
    pub no_data_ms: i64,
    /// Each timeline incident's fate.
    pub incidents: Vec<IncidentOutcome>,
    /// The working, one step per line, in the order of the model.
    pub trace: Vec<String>,
}

fn instant(ms: i64) -> String {
    num::ts(ms)
}

impl Evaluation {
    /// `availability_pct`: percent, 4 decimals, half-up.
    pub fn availability_pct(&self) -> Option<String> {
        self.availability
            .as_ref()
            .map(|a| num::fixed(&(a * num::int(100)), 4))
    }

    /// The JSON object of SLA-MODEL.md section 4 (plus `period.label`,
    /// `period.timezone`, `extension_hours`, `form`, `no_data_minutes`,
    /// `missing_data` and `incidents`).
    pub fn to_json(&self) -> Value {
        json!({
            "plan": self.plan,
            "period": {
                "start": instant(self.period.start),
                "end": instant(self.period.end),
                "label": self.period.label,
                "timezone": self.timezone,
            },
            "availability_pct": self.availability_pct(),
            "downtime_minutes": num::minutes(&self.downtime_ms),
            "measured_minutes": num::minutes(&self.measured_ms),
            "no_data_minutes": num::minutes(&num::int(self.no_data_ms)),
            "missing_data": self.missing_data.as_str(),
            "breach": self.breach,
            "credit": self.credit.as_ref().map(|m| json!({
                "amount": m.amount.to_string(),
                "currency": m.currency,
            })),
            "credit_pct_of_fee": self.credit_pct_of_fee.as_ref().map(num::exact),
            "extension_days": self.extension_days,
            "extension_hours": self.extension_hours.as_ref().map(num::exact),
            "form": self.form.map(plan::CreditForm::as_str),
            "claim_deadline": self.claim_deadline.map(instant),
            "incidents": self.incidents.iter().map(|o| json!({
                "index": o.index,
                "counted_minutes": num::minutes(&o.counted_ms),
                "excluded": o.excluded,
            })).collect::<Vec<_>>(),
            "trace": self.trace,
        })
    }

    /// A short summary for people, followed by the trace.
    pub(crate) fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("plan          {}\n", self.plan));
        s.push_str(&format!(
            "period        {} ({}): {} -> {}\n",
            self.period.label,
            self.timezone,
            instant(self.period.start),
            instant(self.period.end)
        ));
        s.push_str(&format!(
            "availability  {}\n",
            self.availability_pct()
                .map_or("n/a (nothing measured)".into(), |a| format!("{a} %"))
        ));
        s.push_str(&format!(
            "downtime      {} min of {} min measured\n",
            num::minutes(&self.downtime_ms),
            num::minutes(&self.measured_ms)
        ));
        if self.no_data_ms > 0 {
            s.push_str(&format!(
                "no data       {} min (policy {})\n",
                num::minutes(&num::int(self.no_data_ms)),
                self.missing_data.as_str()
            ));
        }
        s.push_str(&format!(
            "breach        {}\n",
            if self.breach { "yes" } else { "no" }
        ));
        let credit = match &self.credit {
            Some(m) => format!("{} {}", m.amount, m.currency),
            None => "not computable from the plan's terms".into(),
        };
        s.push_str(&format!("credit        {credit}\n"));
        if let Some(d) = self.extension_days {
            s.push_str(&format!("extension     {d} days\n"));
        }
        if let Some(h) = &self.extension_hours {
            s.push_str(&format!("extension     {} hours\n", num::exact(h)));
        }
        if let Some(d) = self.claim_deadline {
            s.push_str(&format!("claim before  {}\n", instant(d)));
        }
        s.push_str("\nworking:\n");
        for (n, line) in self.trace.iter().enumerate() {
            s.push_str(&format!("  {:>2}. {line}\n", n + 1));
        }
        s
    }
}

/// Combines the credits of plans sharing a `group` (all in one currency):
/// `sum` adds them, `best_for_customer` keeps the largest.
#[cfg(test)]
pub(crate) fn combine_group(rule: plan::GroupRule, credits: &[Decimal]) -> Decimal {
    match rule {
        plan::GroupRule::Sum => credits.iter().copied().sum(),
        plan::GroupRule::BestForCustomer => credits.iter().copied().max().unwrap_or(Decimal::ZERO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_rules() {
        let c: Vec<Decimal> = ["10.00", "25.50"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(combine_group(plan::GroupRule::Sum, &c).to_string(), "35.50");
        assert_eq!(
            combine_group(plan::GroupRule::BestForCustomer, &c).to_string(),
            "25.50"
        );
        assert_eq!(
            combine_group(plan::GroupRule::BestForCustomer, &[]),
            Decimal::ZERO
        );
    }

    /// One spelling of a customer type, read and written: the plan's serde names,
    /// the reports and the calculator's `--customer-type` agree.
    #[test]
    fn customer_types_read_back_their_names() {
        for t in [CustomerType::Consumer, CustomerType::Business] {
            assert_eq!(CustomerType::parse(t.as_str()), Some(t));
            let from_serde: CustomerType =
                serde_json::from_value(serde_json::json!(t.as_str())).unwrap();
            assert_eq!(from_serde, t);
        }
        assert_eq!(CustomerType::parse("Business"), None);
        assert_eq!(CustomerType::parse(""), None);
    }
}
