//! The input options shared by `report` and `serve`, turned into the ingest front's
//! configuration.

use crate::cli::IngestArgs;
use anyhow::Context;
use errlens_classify::Registry;
use errlens_parse::mapping::MappingBuilder;
use errlens_parse::{IngestConfig, Shape};
use std::sync::Arc;

/// Builds the ingest configuration: a forced or custom shape, the provider map of
/// `registry` with `--provider-host` overrides, line cap.
pub fn config(args: &IngestArgs, registry: &Registry) -> anyhow::Result<IngestConfig> {
    let shape = if args.map.is_empty() && args.mapping.is_none() {
        args.shape.map(Shape::Builtin)
    } else {
        let mut b = MappingBuilder::new(args.shape).context("--shape with --map/--mapping")?;
        if let Some(path) = &args.mapping {
            b.file(path)?;
        }
        for m in &args.map {
            b.arg(m)?;
        }
        Some(Shape::Custom(Arc::new(b.build())))
    };
    let mut hosts = Vec::new();
    for (host, name) in &args.provider_host {
        let id = super::providers::resolve(registry, name, "--provider-host")?;
        if id.is_unknown() {
            anyhow::bail!("--provider-host {host}={name}: name a provider, not `unknown`");
        }
        hosts.push((host.clone(), id));
    }
    Ok(IngestConfig {
        shape,
        providers: registry.map_with_hosts(&hosts),
        max_line: args.max_line_bytes,
        redact: args
            .redact_clients
            .then(errlens_parse::redact::Redactor::from_env),
    })
}
