//! `errlens report` and `errlens merge`: read inputs, audit, render.

use super::Outcome;
use crate::cli::{Format, MergeArgs, ReportArgs};
use crate::{output, render};
use anyhow::{bail, Context};
use errlens_audit::{AuditConfig, Auditor, Report, ReportOptions, Summary};
use std::io::IsTerminal;
use std::path::Path;

/// Runs `errlens report`.
pub fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    let mut files = args.files;
    if files.is_empty() {
        if std::io::stdin().is_terminal() {
            bail!("no input: give log files, or `-` to read standard input (see `errlens report --help`)");
        }
        files.push("-".to_owned());
    }
    if files.iter().filter(|f| *f == "-").count() > 1 {
        bail!("`-` (standard input) can be given only once");
    }
    let mut auditor = Auditor::new(AuditConfig {
        malformed_sample: args.malformed_sample,
        retry_window_ms: args.retry_window,
        mergeable_chains: args.emit_summary.is_some(),
        ..AuditConfig::default()
    });
    let mut failed = false;
    for file in &files {
        match errlens_parse::open_input(file) {
            Ok(reader) => {
                if let Err(e) = auditor.read(file, reader) {
                    eprintln!("errlens: {file}: read error, stopped this input: {e}");
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("errlens: {e}");
                auditor.unreadable(file, &e.to_string());
                failed = true;
            }
        }
    }
    let summary = auditor.finish();
    if let Some(path) = &args.emit_summary {
        std::fs::write(path, summary.to_json())
            .with_context(|| format!("cannot write summary {}", path.display()))?;
    }
    let opts = ReportOptions { top: args.top };
    emit(&summary, opts, args.format, args.output.as_deref())?;
    Ok(if failed {
        Outcome::InputErrors
    } else {
        Outcome::Ok
    })
}

/// Runs `errlens merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<Outcome> {
    let mut merged: Option<Summary> = None;
    for path in &args.summaries {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let s = Summary::from_json(&bytes).with_context(|| format!("{}", path.display()))?;
        match &mut merged {
            Some(m) => m.merge(&s),
            None => merged = Some(s),
        }
    }
    let summary = merged.expect("clap requires at least one summary");
    let opts = ReportOptions { top: args.top };
    emit(&summary, opts, args.format, args.output.as_deref())?;
    Ok(Outcome::Ok)
}

fn emit(
    summary: &Summary,
    opts: ReportOptions,
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let report = Report::from_summary(summary, opts);
    let text = match format {
        Format::Table => render::table::report(&report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
        Format::Csv => render::csv::report(&report),
        Format::Markdown => render::markdown::report(&report),
    };
    output::write_all(out, &text)
}
