//! The one integration-test binary (one link step, shared helpers).

mod config;
mod sla;
mod systemd;
mod util;
