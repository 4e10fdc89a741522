//! Probes: the code that checks one service and turns the outcome into a
//! [`Check`](crate::model::Check).
//!
//! [`wire`] interprets what mail servers send (SMTP, IMAP, POP3) as pure functions,
//! so the probes that speak those protocols over the network only move bytes.
//! [`tls`] is the TLS client step every probe shares: it records the certificate
//! verdict instead of aborting on it, and the earliest `notAfter` of the chain.
//! [`tcp`] is the TCP probe (connect, optional TLS). [`http`] is the HTTP(S) probe:
//! its own connection per check ([`net::connect`], [`tls::handshake`]) under hyper's
//! connection-level HTTP/1.1 client, so every phase is timed and classified.
//! [`dns`] is the DNS probe: one query, sent by hand over UDP or TCP, and a verdict on
//! the raw response's rcode and answer records.
//! [`imap`] and [`pop3`] check a mailbox server (greeting, STARTTLS/STLS, optional
//! login, EXAMINE or STAT) over a [`conn::LineConn`], sharing their connection
//! steps in the private `mail` module. [`smtp`] is the SMTP probe (banner, EHLO,
//! STARTTLS, AUTH, QUIT; it never sends a message); [`mailflow`] sends a tagged
//! message through an SMTP probe's server and finds it (then deletes it) through an
//! IMAP probe's mailbox.

pub mod conn;
pub mod dns;
pub mod http;
pub mod imap;
mod mail;
pub mod mailflow;
pub mod net;
pub mod pop3;
pub mod smtp;
pub mod tcp;
pub mod tls;
pub mod wire;
