//! An association's members (issue 13): who they are, which service they hold on
//! which plan, and the contract each (member, service) stands for at report time.
//!
//! Members are imported from a CSV file (`slawatch members import`, columns in
//! `docs/members.md`) and kept in the database as sealed records
//! (`crate::store::MemberRecord`, migration 6): a record is never changed, a changed
//! row is a new record superseding the old one. This module checks a row
//! ([`check_row`]), turns a stored record into a [`Member`], and a member into the
//! [`Contract`] reports evaluate ([`Member::contract`]), with the defaults of the
//! configuration's `[members]` section.

use crate::config::{Config, Contract, CustomerType, FeePeriod, Unavailability};
use crate::report::Lang;
use crate::store::{MemberRecord, Reader, StoredMember};
use rust_decimal::Decimal;

/// One member's service, as it counts (the latest record of its key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The member's id: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
    pub member: String,
    /// The service's id: `[a-z0-9][a-z0-9-]{0,31}`.
    pub service: String,
    /// Who the member is.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<String>,
    /// The provider's name (default: the plan's).
    pub provider: Option<String>,
    /// The `[[plan]]` id.
    pub plan: String,
    /// The fee (default: the plan's).
    pub fee: Option<Decimal>,
    /// What the fee pays for (default: the plan's).
    pub fee_period: Option<FeePeriod>,
    /// Consumer or business (default: the plan's).
    pub customer_type: Option<CustomerType>,
    /// First day of the service.
    pub service_start: Option<jiff::civil::Date>,
    /// The language of the member's letters (default: `[members] lang`, else English).
    pub lang: Option<Lang>,
    /// The customer code the provider gave.
    pub customer_code: Option<String>,
    /// The contract's number as the provider writes it.
    pub contract_number: Option<String>,
    /// The record's seal number in the chain.
    pub seq: i64,
    /// The record's seal hash (SHA-256 of its canonical line, lower-case hex).
    pub digest: String,
}

impl Member {
    /// The contract id this (member, service) stands for: `"{member}.{service}"`.
    pub fn contract_id(&self) -> String {
        contract_id(&self.member, &self.service)
    }

    /// The contract this row stands for, with `[members]`' defaults (`unmonitored`,
    /// the plan's `compare_with` and probes) and the provider's addressee
    /// (`[[members.provider]]`, matched on the member's provider, else the plan's).
    /// Without probes all its time is unmonitored and counted by `unmonitored`.
    pub fn contract(&self, cfg: &Config) -> Contract {
        let settings = &cfg.members;
        let plan = cfg.plans.iter().find(|p| p.id == self.plan);
        let provider = self
            .provider
            .clone()
            .or_else(|| plan.and_then(|p| p.provider.clone()));
        let addressee = provider.as_deref().and_then(|name| {
            settings
                .providers
                .iter()
                .find(|p| p.name.trim().eq_ignore_ascii_case(name.trim()))
        });
        let per_plan = settings.plans.iter().find(|p| p.plan == self.plan);
        Contract {
            id: self.contract_id(),
            plan: self.plan.clone(),
            customer: Some(self.name.clone()),
            customer_type: self.customer_type,
            fee: self.fee,
            currency: None,
            fee_period: self.fee_period,
            probes: per_plan.map(|p| p.probes.clone()).unwrap_or_default(),
            unavailable_when: Unavailability::Any,
            start: self.service_start,
            end: None,
            unmonitored: settings.unmonitored,
            compare_with: per_plan.map(|p| p.compare_with.clone()).unwrap_or_default(),
            customer_address: self.address.clone(),
            customer_code: self.customer_code.clone(),
            contract_number: self.contract_number.clone(),
            customer_email: self.email.clone(),
            provider_name: addressee.map(|a| a.name.clone()).or(self.provider.clone()),
            provider_address: addressee.and_then(|a| a.address.clone()),
            provider_email: addressee.and_then(|a| a.email.clone()),
            provider_pec: addressee.and_then(|a| a.pec.clone()),
            lang: Some(self.lang(cfg).as_str().to_owned()),
            vantages: cfg.plan_vantages.get(&self.plan).copied(),
        }
    }

    /// The language of the member's letters: the row's, else `[members] lang`, else
    /// English.
    pub fn lang(&self, cfg: &Config) -> Lang {
        self.lang
            .or_else(|| cfg.members.lang.as_deref().and_then(Lang::parse))
            .unwrap_or(Lang::En)
    }

    /// The member a stored record stands for. The record was checked when it was
    /// imported; a value that no longer reads (an edited row, which `verify`
    /// names) is left out rather than guessed.
    pub(crate) fn from_stored(s: StoredMember) -> Member {
        let r = s.record;
        Member {
            fee: r.fee.as_deref().and_then(|f| f.parse().ok()),
            fee_period: r.fee_period.as_deref().and_then(fee_period),
            customer_type: r.customer_type.as_deref().and_then(CustomerType::parse),
            service_start: r.service_start.as_deref().and_then(|d| d.parse().ok()),
            lang: r.lang.as_deref().and_then(Lang::parse),
            member: r.member,
            service: r.service,
            name: r.name,
            email: r.email,
            address: r.address,
            provider: r.provider,
            plan: r.plan,
            customer_code: r.customer_code,
            contract_number: r.contract_number,
            seq: s.seal,
            digest: s.digest,
        }
    }
}

/// `"{member}.{service}"`: the contract id of a member's service.
pub(crate) fn contract_id(member: &str, service: &str) -> String {
    format!("{member}.{service}")
}

/// Reads `month` or `year`.
pub(crate) fn fee_period(s: &str) -> Option<FeePeriod> {
    match s {
        "month" => Some(FeePeriod::Month),
        "year" => Some(FeePeriod::Year),
        _ => None,
    }
}

/// `month` or `year`.
pub(crate) fn fee_period_str(p: FeePeriod) -> &'static str {
    match p {
        FeePeriod::Month => "month",
        FeePeriod::Year => "year",
    }
}

impl Reader {
    /// Every member that counts (the latest record per key), ordered by (member,
    /// service), streamed: never the whole table in memory. Stops at `f`'s first
    /// error.
    ///
    /// # Errors
    /// On a database error, or `f`'s.
    pub fn for_each_member(
        &self,
        mut f: impl FnMut(Member) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.for_each_member_record(|s| f(Member::from_stored(s)))
    }
}

/// The columns of `members.csv`, in the order `docs/members.md` documents them.
pub(crate) const COLUMNS: [&str; 14] = [
    "member",
    "service",
    "name",
    "email",
    "address",
    "provider",
    "plan",
    "fee",
    "fee_period",
    "customer_type",
    "service_start",
    "lang",
    "customer_code",
    "contract_number",
];

/// The columns every row must fill.
pub(crate) const REQUIRED: [&str; 4] = ["member", "service", "name", "plan"];

/// A problem with one field of a row: its column and what is wrong, what to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RowError {
    /// The column (one of [`COLUMNS`]).
    pub(crate) column: &'static str,
    /// What is wrong and what to write instead.
    pub(crate) message: String,
}

fn row_err(column: &'static str, message: String) -> RowError {
    RowError { column, message }
}

/// Whether `s` is a member id: a letter or digit, then letters, digits, '.', '_'
/// and '-', at most 64 in all.
pub(crate) fn valid_member_id(s: &str) -> bool {
    s.len() <= 64
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `s` is a service id: a lower-case letter or digit, then lower-case
/// letters, digits and '-', at most 32 in all.
pub(crate) fn valid_service_id(s: &str) -> bool {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    s.len() <= 32 && s.bytes().next().is_some_and(ok) && s.bytes().all(|b| ok(b) || b == b'-')
}

/// Checks one row of `members.csv` against the configuration, every problem at
/// once; `get` gives a column's value (trimmed, `None` when absent or empty).
/// Returns the record to store, its values normalised (a fee `19.990` stays as
/// written, as text; names of choices in their one spelling).
///
/// # Errors
/// Every field that is wrong, with its column.
pub(crate) fn check_row<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    cfg: &Config,
) -> Result<MemberRecord, Vec<RowError>> {
    let mut errors = Vec::new();
    let text = |c: &str| get(c).map(str::to_owned);
    let member = get("member").unwrap_or_default();
    if member.is_empty() {
        errors.push(row_err(
            "member",
            "no member id: write the member's number, such as m-0117".to_owned(),
        ));
    } else if !valid_member_id(member) {
        errors.push(row_err(
            "member",
            format!(
                "member id '{}' is not one: use letters, digits, '.', '_' and '-' (a letter or \
                 digit first, at most 64), such as m-0117",
                member.escape_debug()
            ),
        ));
    }
    let service = get("service").unwrap_or_default();
    if service.is_empty() {
        errors.push(row_err(
            "service",
            "no service: write which of the member's services this row is, such as mail".to_owned(),
        ));
    } else if !valid_service_id(service) {
        errors.push(row_err(
            "service",
            format!(
                "service '{}' is not a service id: use lower-case letters, digits and '-' (a \
                 letter or digit first, at most 32), such as mail or pec",
                service.escape_debug()
            ),
        ));
    }
    let name = get("name").unwrap_or_default();
    if name.is_empty() {
        errors.push(row_err(
            "name",
            "no name: write the member's name as letters should address them".to_owned(),
        ));
    }
    let email = get("email");
    if let Some(e) = email
        && (!e.contains('@') || e.chars().any(char::is_whitespace))
    {
        errors.push(row_err(
            "email",
            format!(
                "'{}' is not an e-mail address: write it like name@example.test, or leave it empty",
                e.escape_debug()
            ),
        ));
    }
    let plan = get("plan").unwrap_or_default();
    if plan.is_empty() {
        errors.push(row_err(
            "plan",
            "no plan: write the id of a [[plan]] of the configuration".to_owned(),
        ));
    } else if !cfg.plans.iter().any(|p| p.id == plan) {
        let ids: Vec<&str> = cfg.plans.iter().map(|p| p.id.as_str()).collect();
        let hint = crate::config::did_you_mean(plan, &ids)
            .map(|s| format!("; did you mean '{s}'?"))
            .unwrap_or_default();
        errors.push(row_err(
            "plan",
            format!(
                "no plan '{plan}' in {}{hint} (the plans there: {})",
                cfg.path.display(),
                if ids.is_empty() {
                    "none".to_owned()
                } else {
                    ids.join(", ")
                }
            ),
        ));
    }
    let fee = get("fee").and_then(|f| match f.parse::<Decimal>() {
        Ok(d) if !d.is_sign_negative() => Some(d.to_string()),
        _ => {
            let hint = if f.contains(',') && !f.contains('.') {
                format!(" (a decimal point, not a comma: {})", f.replace(',', "."))
            } else {
                String::new()
            };
            errors.push(row_err(
                "fee",
                format!(
                    "fee '{}' is not an amount{hint}: write a decimal of zero or more, such as \
                     19.99, or leave it empty for the plan's fee",
                    f.escape_debug()
                ),
            ));
            None
        }
    });
    let period = get("fee_period").and_then(|p| match fee_period(p) {
        Some(v) => Some(fee_period_str(v).to_owned()),
        None => {
            let hint = crate::config::did_you_mean(p, &["month", "year"])
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            errors.push(row_err(
                "fee_period",
                format!(
                    "fee_period '{}' is not one{hint}: write month or year, or leave it empty \
                     for the plan's",
                    p.escape_debug()
                ),
            ));
            None
        }
    });
    let customer_type = get("customer_type").and_then(|t| match CustomerType::parse(t) {
        Some(v) => Some(v.as_str().to_owned()),
        None => {
            let hint = crate::config::did_you_mean(t, &["consumer", "business"])
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            errors.push(row_err(
                "customer_type",
                format!(
                    "customer_type '{}' is not one{hint}: write consumer or business, or leave \
                     it empty for the plan's",
                    t.escape_debug()
                ),
            ));
            None
        }
    });
    let service_start = get("service_start").and_then(|d| match d.parse::<jiff::civil::Date>() {
        Ok(date) if d.len() == 10 => Some(date.to_string()),
        _ => {
            errors.push(row_err(
                "service_start",
                format!(
                    "service_start '{}' is not a date: write YYYY-MM-DD, such as 2019-03-01, \
                         or leave it empty",
                    d.escape_debug()
                ),
            ));
            None
        }
    });
    let lang = get("lang").and_then(|l| match Lang::parse(l) {
        Some(v) => Some(v.as_str().to_owned()),
        None => {
            let hint = crate::config::did_you_mean(l, &["it", "en"])
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            errors.push(row_err(
                "lang",
                format!(
                    "lang '{}' is not a language of letters{hint}: write it or en, or leave it \
                     empty for [members] lang",
                    l.escape_debug()
                ),
            ));
            None
        }
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(MemberRecord {
        member: member.to_owned(),
        service: service.to_owned(),
        name: name.to_owned(),
        email: email.map(str::to_owned),
        address: text("address"),
        provider: text("provider"),
        plan: plan.to_owned(),
        fee,
        fee_period: period,
        customer_type,
        service_start,
        lang,
        customer_code: text("customer_code"),
        contract_number: text("contract_number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CONFIG: &str = r#"
[[plan]]
id = "libero-mail-plus"
provider = "Italiaonline S.p.A."
currency = "EUR"
fee = "19.99"
fee_period = "year"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "none"
vantages = "2 of 3"

[members]
lang = "it"
"#;

    fn config() -> Config {
        crate::config::parse_str(CONFIG, std::path::Path::new("p.toml"), &|_| None).unwrap()
    }

    fn row(pairs: &[(&'static str, &'static str)]) -> Result<MemberRecord, Vec<RowError>> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        check_row(|c| map.get(c).copied().filter(|v| !v.is_empty()), &config())
    }

    #[test]
    fn a_good_row_is_normalised_and_a_bad_one_names_every_column_at_once() {
        let r = row(&[
            ("member", "m-0117"),
            ("service", "mail"),
            ("name", "Anna Rossi"),
            ("plan", "libero-mail-plus"),
            ("fee", "19.990"),
            ("service_start", "2019-03-01"),
        ])
        .unwrap();
        assert_eq!(r.fee.as_deref(), Some("19.990"));
        assert_eq!(r.lang, None);
        let bad = row(&[
            ("member", "../m"),
            ("service", "Mail"),
            ("name", ""),
            ("plan", "libero-mail-pluss"),
            ("fee", "19,99"),
            ("fee_period", "yaer"),
            ("customer_type", "privato"),
            ("service_start", "2019-3-1"),
            ("lang", "de"),
            ("email", "anna at example"),
        ])
        .unwrap_err();
        let columns: Vec<&str> = bad.iter().map(|e| e.column).collect();
        assert_eq!(
            columns,
            [
                "member",
                "service",
                "name",
                "email",
                "plan",
                "fee",
                "fee_period",
                "customer_type",
                "service_start",
                "lang"
            ]
        );
        let text: Vec<&str> = bad.iter().map(|e| e.message.as_str()).collect();
        assert!(
            text[4].contains("did you mean 'libero-mail-plus'?"),
            "{text:?}"
        );
        assert!(text[5].contains("not a comma: 19.99"), "{text:?}");
        assert!(text[6].contains("did you mean 'year'?"), "{text:?}");
    }

    #[test]
    fn a_member_takes_its_language_then_the_section_then_english() {
        let cfg = config();
        let m = Member::from_stored(StoredMember {
            record: row(&[
                ("member", "m-1"),
                ("service", "mail"),
                ("name", "Anna"),
                ("plan", "libero-mail-plus"),
            ])
            .unwrap(),
            id: 1,
            seal: 7,
            digest: "ab".to_owned(),
        });
        assert_eq!(m.lang(&cfg), Lang::It);
        assert_eq!(m.contract_id(), "m-1.mail");
        let c = m.contract(&cfg);
        assert_eq!(c.customer.as_deref(), Some("Anna"));
        assert!(c.probes.is_empty());
        assert_eq!(c.fee, None, "the plan's fee applies");
        assert_eq!(
            c.vantages,
            Some(crate::config::Consensus { k: 2, n: 3 }),
            "the plan's consensus applies to a member's contract too"
        );
        let en = Member {
            lang: Some(Lang::En),
            ..m
        };
        assert_eq!(en.lang(&cfg), Lang::En);
        assert!(valid_service_id("pec-2") && !valid_service_id("-pec"));
        assert!(valid_member_id("A.b_c-1") && !valid_member_id(".a"));
    }
}
