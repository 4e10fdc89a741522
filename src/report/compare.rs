//! What the contract owes, what the provider offered (goodwill) and what other
//! plans (a regulator's indemnity) would give on the same evidence, side by side.
//!
//! The types are the ones issue 12 agreed on; the compare part fills them.

/// Where a remedy comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemedyKind {
    /// The contract's own plan.
    Contract,
    /// A goodwill offer of the provider.
    Goodwill,
    /// Another plan evaluated on the same evidence (`compare_with`).
    Compared,
}

/// One remedy.
#[derive(Clone, Debug)]
pub struct Remedy {
    /// Where it comes from.
    pub kind: RemedyKind,
    /// "contract (aruba-dedicated-2011)", the goodwill event, the plan id.
    pub label: String,
    /// The contract's plan or the compared plan.
    pub plan_id: Option<String>,
    /// The SLA of this plan was breached (goodwill: false).
    pub breach: bool,
    /// Value in the contract's currency (days valued at the fee per day).
    pub money: Option<rust_decimal::Decimal>,
    /// Days of service.
    pub days: Option<u32>,
    /// Not valued: "Business Mail upgrade".
    pub other: Option<String>,
    /// Why nothing is owed.
    pub why_nothing: Option<String>,
    /// Contract and Compared.
    pub evaluation: Option<crate::sla::Evaluation>,
}

/// Every remedy of one contract; `remedies[0]` is the contract.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    /// The remedies.
    pub remedies: Vec<Remedy>,
    /// The remedy of greatest money value (ties: the contract).
    pub largest: Option<usize>,
}
