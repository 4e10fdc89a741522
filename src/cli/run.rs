//! `slawatch run`: the daemon.

use super::{CliError, ConfigArg};
use crate::daemon::{self, DaemonError};
use tokio_util::sync::CancellationToken;

/// Probe every configured service on its schedule and record the evidence.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch run --config probes.toml\n  \
    RUST_LOG=debug slawatch run --config /etc/slawatch/probes.toml\n\n\
    Checks, outages and the daemon's own coverage go to the SQLite database named by \
    [daemon] database (default slawatch.db next to the configuration, or \
    $STATE_DIRECTORY/slawatch.db under systemd). Read it while the daemon runs with \
    `slawatch status` and `slawatch outages`. One daemon per database: it holds \
    DATABASE.lock while it runs. Records the database refuses are set aside in \
    DATABASE.set-aside.jsonl (logged, and counted in /metrics).\n\n\
    Signals: SIGHUP reloads the configuration (a bad file is logged and the running one \
    stays); SIGTERM or Ctrl-C finishes the checks in flight, commits everything and exits.\n\n\
    Exit status: 0 stopped cleanly, 1 the database failed or another daemon holds it \
    (stop that one, named in the message, or use another [daemon] database), \
    2 the configuration is invalid.")]
pub(super) struct Args {
    #[command(flatten)]
    config: ConfigArg,
}

pub(super) fn run(args: Args) -> Result<(), CliError> {
    crate::logging::init();
    // One thread for the daemon's loop and the first shard of probe loops, so a check
    // wakes no other thread; the scheduler adds threads when the load needs them
    // (`scheduler::shards_for`). Blocking work (reports, the shipper's reads) goes to
    // tokio's blocking pool.
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.thread_name("slawatch");
    let runtime = super::runtime(builder)?;
    match runtime.block_on(daemon::run(&args.config.config, CancellationToken::new())) {
        Ok(()) => Ok(()),
        Err(DaemonError::Config(errors)) => Err(errors.into()),
        Err(e) => {
            tracing::error!("{e}");
            Err(CliError::failure(e))
        }
    }
}
