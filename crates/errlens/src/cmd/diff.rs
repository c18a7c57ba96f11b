//! `errlens diff OLD NEW`: what changed between two reports (JSON reports or
//! summaries), for people (table, markdown for a PR comment) and machines (JSON), with
//! `--fail-on` on the deltas.

use super::Outcome;
use crate::cli::{DiffArgs, DiffFormat};
use crate::{output, render};
use anyhow::{bail, Context};
use errlens_audit::diff::diff;
use errlens_audit::{Report, ReportOptions};
use errlens_classify::Registry;
use std::path::Path;
use std::sync::Arc;

/// Reads a report (`errlens report --format json`) or a summary (`--emit-summary`,
/// judged by the loaded providers).
fn load(path: &Path, registry: &Arc<Registry>) -> anyhow::Result<Report> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not JSON", path.display()))?;
    match v.get("schema").and_then(|s| s.as_str()) {
        Some(errlens_audit::SCHEMA) => serde_json::from_value(v)
            .with_context(|| format!("{}: not a readable errlens report", path.display())),
        Some(errlens_audit::SUMMARY_SCHEMA) => {
            let s = super::report::read_summary(path, registry)?;
            let opts = ReportOptions {
                registry: registry.clone(),
                ..ReportOptions::default()
            };
            Ok(Report::from_summary(&s, &opts))
        }
        other => bail!(
            "{}: not an errlens report or summary (schema {:?}; write one with `errlens report --format json` or `--emit-summary`)",
            path.display(),
            other.unwrap_or("missing")
        ),
    }
}

/// Runs `errlens diff`.
pub fn run(args: DiffArgs) -> anyhow::Result<Outcome> {
    let registry = super::providers::load(&args.providers)?;
    let old = load(&args.old, &registry)?;
    let new = load(&args.new, &registry)?;
    let d = diff(&old, &new, args.tolerance);
    let text = match args.format {
        DiffFormat::Json => render::json::render(&d)?,
        DiffFormat::Table => render::diff::table(&d, &args.old, &args.new),
        DiffFormat::Markdown => render::diff::markdown(&d, &args.old, &args.new),
        DiffFormat::Html => render::diff::html(&d, &args.old, &args.new),
    };
    output::write_all(args.output.as_deref(), &text)?;
    if args.fail_on.is_empty() {
        return Ok(Outcome::Ok);
    }
    let tripped = errlens_audit::gate::check(&args.fail_on, &d.figures(&new))?;
    for t in &tripped {
        eprintln!("errlens: gate tripped: {t}");
    }
    Ok(if tripped.is_empty() {
        Outcome::Ok
    } else {
        Outcome::GatesTripped
    })
}
