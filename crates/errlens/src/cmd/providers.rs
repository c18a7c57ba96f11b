//! Loading provider definitions for a command (`--providers FILE`), and `errlens
//! providers`: what is loaded, from where, with which content hash.

use super::Outcome;
use crate::cli::{ExplainFormat, ProvidersArgs, ProvidersCmdArgs};
use crate::{output, render};
use errlens_classify::Registry;
use std::sync::Arc;

/// The built-in providers plus the `--providers` files; a broken file is an error
/// naming the file, the line and the field.
pub fn load(args: &ProvidersArgs) -> anyhow::Result<Arc<Registry>> {
    if args.files.is_empty() {
        return Ok(Registry::builtin_shared());
    }
    let r = Registry::load(&args.files).map_err(|e| anyhow::anyhow!("provider definition {e}"))?;
    Ok(Arc::new(r))
}

/// A provider name given on the command line, checked against the loaded ones.
pub fn resolve(
    registry: &Registry,
    name: &str,
    what: &str,
) -> anyhow::Result<errlens_parse::ProviderId> {
    registry.by_name(name).ok_or_else(|| {
        let names: Vec<&str> = registry.names().collect();
        anyhow::anyhow!(
            "{what}: no provider {name:?} is loaded (loaded: {}; load others with --providers FILE)",
            names.join(", ")
        )
    })
}

/// Runs `errlens providers`.
pub fn run(args: ProvidersCmdArgs) -> anyhow::Result<Outcome> {
    let registry = load(&args.providers)?;
    let text = match args.format {
        ExplainFormat::Table => render::providers::text(&registry),
        ExplainFormat::Json => render::providers::json(&registry)?,
    };
    output::write_all(None, &text)?;
    Ok(Outcome::Ok)
}
