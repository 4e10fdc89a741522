//! `slawatch sla`: the what-if calculator. One plan, one period, a timeline file:
//! the availability, the breach, the credit and the working (SLA-MODEL.md section 4).

use super::CliError;
use crate::sla::{self, Overrides, PeriodSpec, Plan, Timeline};
use std::path::PathBuf;

/// Evaluate one plan over one period from a timeline file, without probing.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch sla --plans probes.toml --plan mail-business \\\n        \
    --timeline examples/mail-outage-2023-01.json --period 2023-01\n  \
    slawatch sla --plans probes.toml --plan hosting-pro --fee 19.90 \\\n        \
    --timeline outage.json --period 2024-04 --json\n\n\
    The timeline is JSON: {\"incidents\": [{\"start\": \"2024-04-03T10:15:30Z\", \"end\": \
    \"2024-04-03T10:47:10Z\", \"cause\": \"provider\"}], \"maintenance\": [{\"start\": ..., \"end\": ..., \
    \"announced_at\": ...}], \"gaps\": [{\"start\": ..., \"end\": ...}], \"service_start\": ...}. \
    Incidents may also carry error_rate, impact, affected_users, reported_at, confirmed_restored_at \
    and note. Instants are RFC 3339; intervals are [start, end).\n\n\
    Exit status: 0 evaluated, 2 bad input (the message names the file and line, or the JSON path).")]
pub(super) struct Args {
    /// A TOML file with [[plan]] tables (a probes.toml works; other sections are ignored).
    #[arg(long, value_name = "FILE")]
    plans: PathBuf,
    /// The plan's id, when the file holds several.
    #[arg(long, value_name = "ID")]
    plan: Option<String>,
    /// The timeline: incidents, maintenance, monitoring gaps (JSON).
    #[arg(long, value_name = "FILE")]
    timeline: PathBuf,
    /// YYYY-MM for monthly windows, YYYY for yearly ones.
    #[arg(long, value_name = "PERIOD")]
    period: String,
    /// The claim date (YYYY-MM-DD) for rolling windows anchored at the claim.
    #[arg(long, value_name = "DATE")]
    claim_date: Option<jiff::civil::Date>,
    /// The fee actually paid, overriding the plan's (a decimal such as 9.99, zero or more).
    #[arg(long, value_name = "AMOUNT", value_parser = parse_fee)]
    fee: Option<rust_decimal::Decimal>,
    /// The fee's currency, overriding the plan's (ISO 4217).
    #[arg(long, value_name = "CODE")]
    currency: Option<String>,
    /// Overrides the plan's customer type.
    #[arg(long, value_name = "TYPE", value_parser = ["consumer", "business"])]
    customer_type: Option<String>,
    /// What no data (the timeline's gaps) means, overriding the plan's
    /// `missing_data`: what a contract's `unmonitored` chooses (a report's JSON
    /// names the policy applied in `evaluation.missing_data`).
    #[arg(long, value_name = "POLICY", value_parser = ["exclude", "as_up", "as_down"])]
    missing_data: Option<String>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    json: bool,
}

/// A `--fee` is validated like a plan's `fee` (SLA-MODEL.md section 5): a decimal,
/// zero or more. A negative fee would turn a credit into a debt.
fn parse_fee(s: &str) -> Result<rust_decimal::Decimal, String> {
    let fee: rust_decimal::Decimal = s.trim().parse().map_err(|_| {
        format!("'{s}' is not a decimal amount: write the fee actually paid, such as 9.99")
    })?;
    if fee.is_sign_negative() && !fee.is_zero() {
        return Err(format!(
            "{fee} is negative: write the fee actually paid, zero or more, such as 9.99"
        ));
    }
    Ok(fee)
}

/// Picks the plan named by `--plan`, or the only one.
pub(super) fn pick<'a>(
    plans: &'a [Plan],
    id: Option<&str>,
    file: &std::path::Path,
) -> Result<&'a Plan, String> {
    let ids = || {
        plans
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match id {
        Some(id) => plans.iter().find(|p| p.id == id).ok_or_else(|| {
            format!(
                "{}: no plan '{id}'; the plans there are: {}",
                file.display(),
                ids()
            )
        }),
        None => match plans {
            [one] => Ok(one),
            [] => Err(format!("{}: has no [[plan]] table", file.display())),
            _ => Err(format!(
                "{}: holds {} plans; name one with --plan: {}",
                file.display(),
                plans.len(),
                ids()
            )),
        },
    }
}

/// A timeline's errors, each with the file and its line and column or JSON path, then
/// their count.
fn timeline_errors(file: &std::path::Path, errors: &[sla::timeline::TimelineError]) -> CliError {
    let mut lines: Vec<String> = errors
        .iter()
        .map(|e| format!("error: {}:{e}", file.display()))
        .collect();
    lines.push(format!(
        "{} error{} in the timeline; nothing was computed",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    ));
    CliError::Lines(lines)
}

pub(super) fn run(a: Args) -> Result<(), CliError> {
    let plans = crate::config::load_plans(&a.plans)?;
    let plan = pick(&plans, a.plan.as_deref(), &a.plans).map_err(CliError::bad)?;
    let spec = PeriodSpec::parse(&a.period).map_err(|e| CliError::bad(format!("--period: {e}")))?;
    let text = std::fs::read_to_string(&a.timeline).map_err(|e| {
        CliError::bad(format!(
            "{}: cannot read the timeline: {e}",
            a.timeline.display()
        ))
    })?;
    let timeline =
        Timeline::from_json(&text).map_err(|errors| timeline_errors(&a.timeline, &errors))?;
    let errors = timeline.check_against(plan);
    if !errors.is_empty() {
        return Err(timeline_errors(&a.timeline, &errors));
    }
    let overrides = Overrides {
        fee: a.fee,
        currency: a.currency,
        fee_period: None,
        customer_type: a
            .customer_type
            .as_deref()
            .and_then(sla::CustomerType::parse),
        missing_data: a.missing_data.as_deref().and_then(|m| {
            use sla::plan::MissingData;
            [MissingData::Exclude, MissingData::AsUp, MissingData::AsDown]
                .into_iter()
                .find(|x| x.as_str() == m)
        }),
    };
    let ev = sla::evaluate(plan, &overrides, spec, a.claim_date, &timeline)
        .map_err(|e| CliError::bad(format!("{}: {e}", plan.id)))?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ev.to_json()).unwrap_or_default()
        );
    } else {
        print!("{}", ev.to_text());
    }
    Ok(())
}
