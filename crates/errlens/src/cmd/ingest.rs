//! The input options shared by `report` and `serve`, turned into the ingest front's
//! configuration.

use crate::cli::IngestArgs;
use anyhow::Context;
use errlens_parse::mapping::MappingBuilder;
use errlens_parse::{IngestConfig, Shape};
use std::sync::Arc;

/// Builds the ingest configuration: a forced or custom shape, provider hosts, line cap.
pub fn config(args: &IngestArgs) -> anyhow::Result<IngestConfig> {
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
    let mut hosts = errlens_parse::HostMap::default();
    for (host, provider) in &args.provider_host {
        hosts.insert(host, *provider);
    }
    Ok(IngestConfig {
        shape,
        hosts,
        max_line: args.max_line_bytes,
        redact: args
            .redact_clients
            .then(errlens_parse::redact::Redactor::from_env),
    })
}
