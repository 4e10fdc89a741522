//! slawatch: watch hosting and mail services, keep the evidence, compute what the SLA owes.
//!
//! Data flows one way (see `ARCHITECTURE.md`):
//! `probes.toml -> config -> scheduler -> probe::* -> store -> sla -> report`.

pub mod alert;
pub mod checkpoint;
pub mod cli;
pub(crate) mod clock;
pub mod config;
pub mod daemon;
pub(crate) mod demo;
pub(crate) mod logging;
pub mod members;
pub(crate) mod metrics;
pub mod model;
pub mod outage;
pub mod probe;
pub mod report;
pub mod scheduler;
pub mod shared;
pub mod sla;
pub mod store;
