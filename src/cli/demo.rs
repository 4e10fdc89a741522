//! `slawatch demo`: the whole of slawatch in a minute, on this machine only.

use super::CliError;
use crate::demo::{self, DemoError, Options};
use crate::report::Lang;
use std::path::PathBuf;
use std::process::ExitCode;

/// See an outage recorded, a breach computed and a claim written, in a minute.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch demo\n      \
    about a minute and a half; everything goes to ./slawatch-demo\n  \
    slawatch demo --fast --dir /tmp/demo --lang it\n      \
    under 20 seconds; the letter and reports in Italian\n\n\
    Inside this process, on loopback only and on ports the system picks, the demo starts \
    a small provider (a hosting site over HTTP, a mailbox over IMAP, an outgoing mail \
    server over SMTP) and the daemon `slawatch run` is, probing it every second or two. \
    Then the provider fails as two real incidents did, compressed: the site refuses \
    connections (a power cut), then accepts and never answers (the slow restart), then \
    recovers; the mailbox refuses logins (a storage failure), then is unreachable, then \
    recovers. The daemon confirms each outage and its end. At the end the demo writes the \
    breach report of the current month (HTML and JSON) and a claim letter in DIR/reports, \
    and prints the compensation owed, the provider's goodwill and what a regulator's \
    indemnity would give.\n\n\
    DIR keeps the configuration (probes.toml, commented), the database (demo.db) and \
    scenario.json (what was injected, when): explore them with `slawatch status`, \
    `outages`, `report` and `verify --config DIR/probes.toml`. Running the demo again in \
    the same DIR removes what the previous demo wrote there, and nothing else.\n\n\
    Ctrl-C stops it cleanly: the daemon finishes its checks and commits them.\n\n\
    Exit status: 0 done, 1 a file, a socket or the daemon failed, 2 DIR holds a \
    configuration or database the demo did not write (choose another --dir), \
    130 interrupted.")]
pub(super) struct Args {
    /// The short story: under 20 seconds instead of about a minute and a half.
    #[arg(long)]
    fast: bool,
    /// Where the configuration, the database and the reports go (created if missing).
    #[arg(long, value_name = "DIR", default_value = "slawatch-demo")]
    dir: PathBuf,
    /// The language of the claim letter and of the reports.
    #[arg(long, value_name = "LANG", value_parser = ["en", "it"], default_value = "en")]
    lang: String,
}

pub(super) fn run(a: Args) -> Result<ExitCode, CliError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.thread_name("slawatch-demo");
    let runtime = super::runtime(builder)?;
    let opts = Options {
        dir: a.dir,
        fast: a.fast,
        lang: Lang::parse(&a.lang).unwrap_or(Lang::En),
    };
    let result = runtime.block_on(demo::run(&opts));
    // Hanging connections of the fake servers are not waited for.
    runtime.shutdown_background();
    match result {
        Ok(o) if o.interrupted => Ok(ExitCode::from(130)),
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e @ DemoError::Dir(_)) => Err(CliError::bad(e)),
        Err(e) => Err(CliError::failure(e)),
    }
}
