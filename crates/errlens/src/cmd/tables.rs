//! `errlens tables`: which providers' tables, in which format (rendered by
//! `render::tables`).

use super::Outcome;
use crate::cli::TablesArgs;
use crate::{output, render};

/// Runs `errlens tables`.
pub fn run(args: TablesArgs) -> anyhow::Result<Outcome> {
    let registry = super::providers::load(&args.providers)?;
    let chosen: Vec<&errlens_classify::Provider> = match &args.provider {
        None => registry.providers().iter().collect(),
        Some(name) => {
            let id = super::providers::resolve(&registry, name, "--provider")?;
            match registry.get(id) {
                Some(p) => vec![p],
                None => anyhow::bail!(
                    "--provider unknown: records of no provider are judged by the generic HTTP table alone"
                ),
            }
        }
    };
    let text = render::tables::render(args.format, &chosen)?;
    output::write_all(None, &text)?;
    Ok(Outcome::Ok)
}
