//! The JSON report (documented field by field in docs/report-json.md). Money,
//! percentages and minutes are decimal strings, instants RFC 3339 in UTC.

use super::data::{ContractReport, Report};
use super::evidence::{ChainHead, Evidence};
use super::text;
use crate::model::UtcMillis;
use crate::sla::num;
use serde_json::{Value, json};

/// The version of this format; a change that removes or renames a field bumps it.
pub(super) const FORMAT: &str = "slawatch-report/1";

fn contract(c: &ContractReport, chain: Option<&(i64, String)>) -> Value {
    let mut v = contract_alone(c, chain);
    if let Some(view) = &c.consensus {
        add_consensus(&mut v, view);
    }
    v
}

/// An interval as `{start, end, minutes}`.
fn span((a, b): (i64, i64)) -> Value {
    json!({"start": text::utc(a), "end": text::utc(b), "minutes": text::minutes(b - a)})
}

/// The contract's `consensus` object (several vantages, or a rule needing more than
/// one) and each incident's `seen_by` and `measuring`; absent otherwise, so a report
/// of one vantage reads as before.
fn add_consensus(v: &mut Value, view: &super::consensus::View) {
    if let Some(rows) = v.get_mut("incidents").and_then(Value::as_array_mut) {
        for (row, seen) in rows.iter_mut().zip(&view.incidents) {
            if let Some(row) = row.as_object_mut() {
                row.insert("seen_by".into(), json!(seen.seen_by));
                row.insert("measuring".into(), json!(seen.measuring));
            }
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "consensus".into(),
            json!({
                "rule": view.rule.to_string(),
                "k": view.rule.k,
                "n": view.rule.n,
                "vantages": view.vantages.iter().map(|w| json!({
                    "name": w.name,
                    "down": w.down.iter().copied().map(span).collect::<Vec<_>>(),
                    "no_data": w.no_data.iter().copied().map(span).collect::<Vec<_>>(),
                    "measured_minutes": text::minutes(w.measured_ms),
                    "chain": w.chain.as_ref().map(ChainHead::of),
                })).collect::<Vec<_>>(),
                "not_reached": view.short.iter().map(|(probe, n)| json!({
                    "probe": probe,
                    "vantages_measuring": n,
                })).collect::<Vec<_>>(),
            }),
        );
    }
}

fn contract_alone(c: &ContractReport, chain: Option<&(i64, String)>) -> Value {
    let tz = &c.plan.window.timezone;
    json!({
        "contract": {
            "id": c.contract.id,
            "customer": c.contract.customer,
            "customer_type": c.customer_type.as_str(),
            "fee": c.fee.to_string(),
            "currency": c.currency,
            "fee_period": match c.fee_period {
                crate::sla::FeePeriod::Month => "month",
                crate::sla::FeePeriod::Year => "year",
            },
            "probes": c.contract.probes,
            "unavailable_when": super::data::unavailable_when_text(&c.contract),
            "start": c.contract.start.map(|d| d.to_string()),
            "end": c.contract.end.map(|d| d.to_string()),
        },
        "plan": {
            "id": c.plan.id,
            "provider": c.plan.provider,
            "service": c.plan.service,
            "terms": c.plan.describe(),
            "target_pct": c.plan.objective.target.to_string(),
            "maintenance_excluded": c.plan.exclusions.maintenance.excluded,
        },
        "evaluation": c.evaluation.to_json(),
        "compensation": text::compensation(c),
        "owes": c.owes(),
        "incidents": c.incidents.iter().enumerate().map(|(i, r)| json!({
            "number": i + 1,
            "start": text::utc(r.start.0),
            "end": text::utc(r.end.0),
            "start_local": text::local(r.start.0, tz),
            "end_local": text::local(r.end.0, tz),
            "open": r.open,
            "duration_minutes": text::minutes(r.duration_ms()),
            "proven_minutes": text::minutes(r.proven_ms),
            "uncertainty_minutes": r.uncertainty_ms.map(text::minutes),
            "end_uncertainty_minutes": r.end_uncertainty_ms.map(text::minutes),
            "counted_minutes": num::minutes(&r.counted_ms),
            "excluded": r.excluded,
            "maintenance_minutes": text::minutes(r.maintenance_ms),
            "classes": r.classes.iter().map(|(c, n)| json!({"class": c, "failed_checks": n})).collect::<Vec<_>>(),
            "probes": r.probes,
            "vantages": r.vantages,
            "sources": r.sources,
            "details": r.details,
        })).collect::<Vec<_>>(),
        "maintenance": c.maintenance.iter().map(|m| json!({
            "start": text::utc(m.start.0),
            "end": text::utc(m.end.0),
            "announced_at": m.announced_at.map(|a| text::utc(a.0)),
            "note": m.note,
        })).collect::<Vec<_>>(),
        "no_data": c.gaps.iter().map(|(a, b)| json!({
            "start": text::utc(a.0),
            "end": text::utc(b.0),
            "minutes": text::minutes(b.0 - a.0),
        })).collect::<Vec<_>>(),
        "evidence": evidence(c, chain),
        "timeline": c.timeline.to_json(),
        "basis": super::basis::json(c),
        "comparison": super::compare::json(c),
        "records": super::records::json(c),
        "deadline": super::deadline::json(c),
    })
}

/// The contract's `evidence` object, through the type `slawatch verify` reads it with.
fn evidence(c: &ContractReport, chain: Option<&(i64, String)>) -> Evidence {
    Evidence {
        sha256: c.evidence.sha256.clone(),
        checks: c.evidence.checks,
        runs: c.evidence.runs,
        failed_checks: c.evidence.failures,
        probes: c.contract.probes.clone(),
        from: UtcMillis(c.evaluation.period.start),
        to: UtcMillis(c.evaluation.period.end),
        chain: chain.map(ChainHead::of),
    }
}

/// The report as a JSON value.
pub(super) fn value(r: &Report) -> Value {
    let (owed, days) = r.owed();
    json!({
        "format": FORMAT,
        "period": r.period,
        "generated_at": text::utc(r.generated_at.0),
        "provisional": r.provisional,
        "vantage": r.vantage,
        "summary": {
            "contracts": r.contracts.len(),
            "breached": r.breached(),
            "owed": owed.iter().map(|(c, a)| json!({"amount": a.to_string(), "currency": c})).collect::<Vec<_>>(),
            "extension_days": days,
        },
        "contracts": r.contracts.iter().map(|c| contract(c, r.chain.as_ref())).collect::<Vec<_>>(),
        "skipped": r.skipped.iter().map(|(id, why)| json!({"contract": id, "reason": why})).collect::<Vec<_>>(),
    })
}

/// The report as pretty-printed JSON text, with a final newline.
pub(super) fn render(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&value(r)).unwrap_or_default();
    s.push('\n');
    s
}
