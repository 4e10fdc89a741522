//! The one integration-test binary (one link step, shared helpers).

mod config;
mod probe_tcp;
mod sla;
mod systemd;
mod util;
