//! `errlens report` and `errlens merge`: read inputs, audit, render.

use super::Outcome;
use crate::cli::{MergeArgs, ReportArgs, ReportFormat as Format};
use crate::{output, render};
use anyhow::{bail, Context};
use errlens_audit::{parallel, AuditConfig, Auditor, Report, ReportOptions, Summary};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let registry = super::providers::load(&args.ingest.providers)?;
    let ingest = Arc::new(super::ingest::config(&args.ingest, &registry)?);
    for p in &args.filter.providers {
        super::providers::resolve(&registry, p, "--provider")?;
    }
    let filter = args.filter.filter().map(Arc::new);
    let mut failed = false;
    let mut summary: Option<Summary> = None;
    let progress = Progress::start(&files);
    for (i, file) in files.iter().enumerate() {
        let config = AuditConfig {
            registry: registry.clone(),
            ingest: ingest.clone(),
            filter: filter.clone(),
            malformed_sample: args.malformed_sample,
            retry_window_ms: args.retry_window,
            // Inputs after the first continue it: chains across them are resolved when
            // their summaries merge; with --emit-summary the first may continue another
            // shard too.
            mergeable_chains: args.emit_summary.is_some() || i > 0,
            progress: progress.as_ref().map(|p| p.bytes.clone()),
        };
        let read = parallel::FileRead {
            mmap: !args.no_mmap,
            ..parallel::FileRead::default()
        };
        let part = audit_input(file, &config, threads, read, &mut failed);
        match &mut summary {
            Some(s) => s.merge_owned(part)?,
            None => summary = Some(part),
        }
    }
    let summary = summary.expect("at least one input");
    drop(progress);
    if let Some(path) = &args.emit_summary {
        std::fs::write(path, summary.to_json())
            .with_context(|| format!("cannot write summary {}", path.display()))?;
    }
    let opts = ReportOptions {
        top: args.top,
        registry,
    };
    let report = emit(&summary, opts, args.format, args.output.as_deref())?;
    let not_understood = explain_empty_inputs(&summary, ingest.shape.as_ref());
    let tripped = gates(&report, &args.fail_on)?;
    Ok(if failed {
        Outcome::InputErrors
    } else if not_understood {
        Outcome::NothingUnderstood
    } else if tripped {
        Outcome::GatesTripped
    } else {
        Outcome::Ok
    })
}

/// Checks the `--fail-on` gates, naming on stderr those that tripped. Whether any did.
fn gates(report: &Report, gates: &[errlens_audit::gate::Gate]) -> anyhow::Result<bool> {
    if gates.is_empty() {
        return Ok(false);
    }
    let figures = errlens_audit::gate::figures(report);
    let tripped = errlens_audit::gate::check(gates, &figures)?;
    for t in &tripped {
        eprintln!("errlens: gate tripped: {t}");
    }
    Ok(!tripped.is_empty())
}

/// Says on stderr, for every input with lines of which none was a record, what its
/// lines look like and how to read them. Returns whether there was such an input.
fn explain_empty_inputs(summary: &Summary, forced: Option<&errlens_parse::Shape>) -> bool {
    let mut any = false;
    for input in &summary.inputs {
        if input.records > 0 || input.malformed == 0 || input.error.is_some() {
            continue;
        }
        any = true;
        let hint = match errlens_parse::open_input(&input.file) {
            Ok(mut r) if input.file != "-" => {
                errlens_parse::input::head(&mut r, errlens_parse::detect::SNIFF_BYTES)
                    .map(|h| errlens_parse::front::hint(&h, forced))
                    .unwrap_or_default()
            }
            _ => "try --shape NAME (see `errlens shapes`), or --map status=PATH … / --mapping FILE"
                .to_owned(),
        };
        eprintln!(
            "errlens: {}: {} line{}, no request record understood ({} malformed, read as {}): {hint}",
            input.file,
            input.lines,
            if input.lines == 1 { "" } else { "s" },
            input.malformed,
            input.shape_name().unwrap_or("unknown"),
        );
    }
    any
}

/// Audits one input on `threads` workers: plain files memory-mapped (or read, `read`)
/// in parts in parallel, everything else (standard input, gzip) cut into batches as it
/// streams in.
fn audit_input(
    file: &str,
    config: &AuditConfig,
    threads: usize,
    read: parallel::FileRead,
    failed: &mut bool,
) -> Summary {
    if file != "-" && is_plain_file(file) {
        match parallel::audit_file(Path::new(file), file, config, threads, read) {
            Ok(s) => return s,
            Err(e) => {
                eprintln!("errlens: {file}: {e}");
                *failed = true;
                let mut a = Auditor::new(config.clone());
                a.unreadable(file, &e.to_string());
                return a.finish();
            }
        }
    }
    let mut auditor = Auditor::new(config.clone());
    match errlens_parse::open_input(file) {
        Ok(reader) if threads > 1 => {
            // Decompression (on its own thread) feeds batches to the parsing workers.
            let (summary, result) = parallel::audit_stream(reader, file, config, threads);
            if let Err(e) = result {
                eprintln!("errlens: {file}: read error, stopped this input: {e}");
                *failed = true;
            }
            return summary;
        }
        Ok(reader) => {
            if let Err(e) = auditor.read(file, reader) {
                eprintln!("errlens: {file}: read error, stopped this input: {e}");
                *failed = true;
            }
        }
        Err(e) => {
            eprintln!("errlens: {e}");
            auditor.unreadable(file, &e.to_string());
            *failed = true;
        }
    }
    auditor.finish()
}

/// A progress line on a terminal's standard error for runs longer than a second: bytes
/// read (of the total, for plain files) and throughput. Cleared when dropped.
struct Progress {
    bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(files: &[String]) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let total: u64 = files
            .iter()
            .filter(|f| *f != "-" && is_plain_file(f))
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let known = files.iter().all(|f| f != "-" && is_plain_file(f));
        let bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (bytes.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut last: Option<Instant> = None;
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let elapsed = started.elapsed();
                // Quiet for short runs; then twice a second.
                if elapsed < Duration::from_secs(1)
                    || last.is_some_and(|t| t.elapsed() < Duration::from_millis(500))
                {
                    continue;
                }
                last = Some(Instant::now());
                let done = b.load(Ordering::Relaxed);
                let mb = |n: u64| n as f64 / 1e6;
                let rate = mb(done) / elapsed.as_secs_f64();
                let line = if known && total > 0 {
                    format!(
                        "errlens: {:.0} of {:.0} MB ({:.0}%), {:.0} MB/s",
                        mb(done),
                        mb(total),
                        done as f64 * 100.0 / total as f64,
                        rate
                    )
                } else {
                    format!("errlens: {:.0} MB read, {:.0} MB/s", mb(done), rate)
                };
                eprint!("\r{line}\x1b[K");
            }
            if last.is_some() {
                eprint!("\r\x1b[K");
            }
        });
        Some(Progress {
            bytes,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A regular file of uncompressed bytes.
fn is_plain_file(path: &str) -> bool {
    errlens_parse::input::Compression::is_plain_file(Path::new(path))
}

/// Runs `errlens merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<Outcome> {
    let registry = super::providers::load(&args.providers)?;
    let mut merged: Option<Summary> = None;
    for path in &args.summaries {
        let s = read_summary(path, &registry)?;
        match &mut merged {
            Some(m) => m
                .merge_owned(s)
                .with_context(|| format!("cannot merge {}", path.display()))?,
            None => merged = Some(s),
        }
    }
    let summary = merged.expect("clap requires at least one summary");
    let opts = ReportOptions {
        top: args.top,
        registry,
    };
    let report = emit(&summary, opts, args.format, args.output.as_deref())?;
    Ok(if gates(&report, &args.fail_on)? {
        Outcome::GatesTripped
    } else {
        Outcome::Ok
    })
}

/// Reads a summary written by `report --emit-summary`, made with the providers
/// `registry` holds (else its groups would be judged by other tables).
pub fn read_summary(path: &Path, registry: &errlens_classify::Registry) -> anyhow::Result<Summary> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let s = Summary::from_json(&bytes).with_context(|| format!("{}", path.display()))?;
    check_definitions(&s, registry).with_context(|| format!("{}", path.display()))?;
    Ok(s)
}

/// Whether a summary was made with the loaded provider definitions.
pub fn check_definitions(s: &Summary, registry: &errlens_classify::Registry) -> anyhow::Result<()> {
    let mine = registry.stamps();
    if s.definitions != mine {
        let show = |d: &[errlens_classify::Stamp]| {
            d.iter()
                .map(|d| format!("{}@{}", d.name, d.hash))
                .collect::<Vec<_>>()
                .join(", ")
        };
        anyhow::bail!(
            "made with provider definitions {}, but this run loads {} (give the same --providers files as the run that wrote it)",
            show(&s.definitions),
            show(&mine)
        );
    }
    Ok(())
}

/// Renders the report of `summary` and writes it; returns the report.
fn emit(
    summary: &Summary,
    opts: ReportOptions,
    format: Format,
    out: Option<&Path>,
) -> anyhow::Result<Report> {
    let report = Report::from_summary(summary, &opts);
    let text = render::report(format, &report)?;
    output::write_all(out, &text)?;
    Ok(report)
}
