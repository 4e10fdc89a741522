//! Log output: the journal (with priorities and fields) under systemd, plain lines on
//! standard error otherwise. `RUST_LOG` filters (default `info`).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Where logs go, as decided by [`init`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sink {
    /// systemd's journal (`$JOURNAL_STREAM` was set and the socket answered).
    Journal,
    /// Standard error.
    Stderr,
}

/// Installs the global subscriber once. Safe to call more than once: later calls
/// keep the first subscriber.
pub(crate) fn init() -> Sink {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journal) = tracing_journald::layer()
    {
        let journal = journal.with_syslog_identifier("slawatch".to_owned());
        if tracing_subscriber::registry()
            .with(filter())
            .with(journal)
            .try_init()
            .is_ok()
        {
            return Sink::Journal;
        }
    }
    let under_systemd = std::env::var_os("INVOCATION_ID").is_some();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    // The journal adds its own timestamps; a terminal wants them.
    let _ = if under_systemd {
        tracing_subscriber::registry()
            .with(filter())
            .with(fmt.without_time())
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(filter())
            .with(fmt)
            .try_init()
    };
    Sink::Stderr
}
