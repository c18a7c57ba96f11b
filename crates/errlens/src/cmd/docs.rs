//! `errlens completions SHELL` and `errlens man`: shell completions (clap_complete) and
//! the man page (clap_mangen), both generated from the clap definitions, so they never
//! drift from `--help`.

use super::Outcome;
use crate::cli::{command, CompletionsArgs};
use std::io::Write;

/// Prints the completion script for a shell.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut cmd = command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "errlens", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(Outcome::Ok)
}

/// Prints the man page (its SUBCOMMANDS section lists every command; `errlens
/// COMMAND --help` has their options).
pub fn man() -> anyhow::Result<Outcome> {
    let mut out = Vec::new();
    clap_mangen::Man::new(command()).render(&mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(Outcome::Ok)
}
