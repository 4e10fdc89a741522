//! The one integration-test binary (one link step, shared helpers).

mod alerts;
mod browser;
mod certs;
mod cli_db;
mod cli_init;
mod cli_probe;
mod compare;
mod config;
mod daemon;
mod examples;
mod incident;
mod letters;
mod peers;
mod probe_dns;
mod probe_http;
mod probe_imap;
mod probe_mailflow;
mod probe_pop3;
mod probe_smtp;
mod probe_tcp;
mod report;
mod sla;
mod store;
mod systemd;
mod util;
mod verify;
