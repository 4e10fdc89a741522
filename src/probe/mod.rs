//! Probes: the code that checks one service and turns the outcome into a
//! [`Check`](crate::model::Check).
//!
//! [`wire`] interprets what mail servers send (SMTP, IMAP, POP3) as pure functions,
//! so the probes that speak those protocols over the network only move bytes.

pub mod wire;
