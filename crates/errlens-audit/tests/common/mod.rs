//! Helpers shared by the audit's integration tests.

/// `bytes` split at the line boundaries nearest after the given fractions of its length
/// (shards in order, covering it all; a cut at the same boundary twice gives one).
pub fn split<'a>(bytes: &'a [u8], cuts: &[f64]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|f| {
            let at = (bytes.len() as f64 * f) as usize;
            bytes[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| at + p + 1)
        })
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut shards = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain(std::iter::once(bytes.len())) {
        shards.push(&bytes[start..p]);
        start = p;
    }
    shards
}
