//! `slawatch man`: the manual pages, rendered (roff) from the clap definition itself.

use super::CliError;
use clap::CommandFactory as _;
use std::path::PathBuf;

/// Print the manual page, or write one page per command to a directory.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch man | man -l -\n  \
    sudo slawatch man --out /usr/local/share/man/man1 && sudo mandb\n\n\
    Without --out, slawatch(1) goes to standard output. With --out DIR, DIR gets \
    slawatch.1 and a slawatch-SUBCOMMAND.1 for each subcommand. Exit status: 0 written, \
    2 DIR is not a writable directory.")]
pub(super) struct Args {
    /// Write slawatch.1 and one page per subcommand into this directory.
    #[arg(long, short = 'o', value_name = "DIR")]
    out: Option<PathBuf>,
}

pub(super) fn run(a: Args) -> Result<(), CliError> {
    let cmd = super::Cli::command();
    let done = match &a.out {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout()),
        Some(dir) => clap_mangen::generate_to(cmd, dir),
    };
    match done {
        Ok(()) => {
            if let Some(dir) = a.out {
                println!("wrote the manual pages to {}", dir.display());
            }
            Ok(())
        }
        // `slawatch man | head`: the reader stopped reading; nothing went wrong.
        Err(e) if a.out.is_none() && e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::bad(match a.out {
            Some(dir) => format!(
                "{}: {e}: name an existing directory you can write to",
                dir.display()
            ),
            None => format!("standard output: {e}"),
        })),
    }
}
