//! `errlens tables`: which tables, in which format (rendered by `render::tables`).

use super::Outcome;
use crate::cli::{TableProvider, TablesArgs};
use crate::{output, render};

/// Runs `errlens tables`.
pub fn run(args: TablesArgs) -> anyhow::Result<Outcome> {
    let want = |p| args.provider.is_none_or(|w| w == p);
    let text = render::tables::render(
        args.format,
        want(TableProvider::Simkl),
        want(TableProvider::Tmdb),
    )?;
    output::write_all(None, &text)?;
    Ok(Outcome::Ok)
}
