//! Several vantages, one verdict (issue 18): the shared PostgreSQL store.
//!
//! Each vantage runs the same daemon with its own SQLite database, which stays the
//! store of record: it keeps probing and recording when the network to PostgreSQL
//! is down. A shipper (`ship.rs`) copies what the vantage has *sealed* to the
//! PostgreSQL named by `[shared] url`, in seal order, idempotent by (vantage, seal
//! number), catching up after a disconnection. `--shared` commands (`read.rs`)
//! read one vantage at a time back out of PostgreSQL into an in-memory SQLite
//! database with the local schema, so every reader, report and `verify` runs the
//! one code path it runs on a local file; the consensus across vantages
//! (`vantages = "K of N"`) is the report's (`report::data`).
//!
//! The PostgreSQL schema is `migrations/postgres/`, applied by refinery at connect:
//! each SQLite table of evidence mirrored column for column with `vantage` added
//! (SQLite's `coverage.vantage` is `row_vantage` there), keyed by (vantage, id).
//!
//! Invariant: PostgreSQL holds only sealed rows, each in the state of its latest
//! shipped seal; after every committed shipping transaction a vantage's rows and
//! seals in PostgreSQL verify on their own, as its SQLite does.
//! Invariant: the shipper's cursor is PostgreSQL's `max(seals.id)` of the vantage,
//! read at every batch, never a number kept in memory: commits a crashed server
//! lost are shipped again. The local SQLite never waits for PostgreSQL.
//! Invariant: the password never appears in a log, an error or the database; the
//! URL in `[shared] url` holds none (the configuration refuses one).

pub mod pg;
pub mod read;
pub mod ship;
pub(crate) mod tables;
