//! `slawatch completions SHELL`: a shell completion script, generated from the clap
//! definition itself, so it never falls behind the commands.

use clap::CommandFactory as _;

/// Print a completion script for a shell.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    slawatch completions bash > ~/.local/share/bash-completion/completions/slawatch\n  \
    slawatch completions zsh > ~/.zfunc/_slawatch   # with fpath+=(~/.zfunc) in ~/.zshrc\n  \
    slawatch completions fish > ~/.config/fish/completions/slawatch.fish\n\n\
    The script goes to standard output. Exit status: 0.")]
pub(super) struct Args {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    shell: clap_complete::Shell,
}

pub(super) fn run(a: &Args) {
    let mut cmd = super::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "slawatch", &mut std::io::stdout());
}
