//! `errlens gen` (hidden): a synthetic log for benchmarks and tests.

use super::Outcome;
use crate::cli::GenArgs;
use crate::output;
use errlens_gen::{generate, GenConfig};
use std::io::Write;

/// Runs `errlens gen`.
pub fn run(args: GenArgs) -> anyhow::Result<Outcome> {
    let cfg = GenConfig {
        seed: args.seed,
        lines: args.lines,
        garbage_per_mille: args.garbage_per_mille,
        mean_gap_ms: args.mean_gap_ms,
        attempt_field: !args.no_attempt,
        ..GenConfig::default()
    };
    let mut out = output::open(args.output.as_deref())?;
    generate(&cfg, &mut out)?;
    out.flush()?;
    Ok(Outcome::Ok)
}
