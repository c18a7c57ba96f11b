//! Shared inputs for errlens' criterion benchmarks (`benches/` at the repository top).
#![deny(missing_docs)]

use errlens_gen::{generate, GenConfig};

/// A realistic log of `lines` lines (seeded, both providers, retry chains, 0.5% garbage).
pub fn log(lines: u64) -> Vec<u8> {
    let mut out = Vec::new();
    generate(
        &GenConfig {
            seed: 42,
            lines,
            garbage_per_mille: 5,
            ..GenConfig::default()
        },
        &mut out,
    )
    .expect("writing to a Vec cannot fail");
    out
}

/// The lines of `log`, without newlines.
pub fn lines(log: &[u8]) -> Vec<&[u8]> {
    log.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect()
}
