//! An incident as the engine carries it from step 3 (incidents merged) to the credit:
//! shared by `engine.rs` and `credit.rs`, importing neither.

use super::intervals::Intervals;
use super::num::Q;

/// An incident after step 3 (several timeline incidents when merged).
#[derive(Clone, Debug)]
pub(super) struct Group {
    /// Indices into the timeline's incidents.
    pub(super) members: Vec<usize>,
    pub(super) start: i64,
    pub(super) end: i64,
    /// Error rate (1 when not given).
    pub(super) error_rate: Q,
    /// Share of users affected (1 when not given).
    pub(super) impact: Q,
    /// Counted downtime of this incident inside the domain, ms (after every step).
    pub(super) counted: Intervals,
}
