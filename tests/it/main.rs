//! The one integration-test binary (one link step, shared helpers).

// clippy.toml allows them in `#[test]` functions; the shared helpers are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed set-up step should stop the test loudly"
)]

mod alert_messages;
mod alert_policy;
mod alerts;
mod browser;
mod certs;
mod class;
mod cli_db;
mod cli_init;
mod cli_probe;
mod compare;
mod config;
mod consensus;
mod daemon;
mod demo;
mod examples;
mod guides;
mod incident;
mod letters;
mod members;
mod peers;
mod probe_dns;
mod probe_http;
mod probe_imap;
mod probe_mailflow;
mod probe_pop3;
mod probe_smtp;
mod probe_tcp;
mod probeshape;
mod readme;
mod report;
mod shared;
mod shared_read;
mod ship;
mod sla;
mod store;
mod systemd;
mod tidy;
mod tls_once;
mod util;
mod vantages;
mod verify;
mod yearreport;
