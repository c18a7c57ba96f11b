//! Classification hot path: ns per record over a realistic mix of Simkl statuses and
//! error ids, TMDB codes and unknown providers (records parsed beforehand). The working
//! set is 2,000 records (~650 KB, of which classification reads each record's first 64
//! bytes: ~130 KB) so it stays in cache: with 20,000 the loop measures memory
//! bandwidth, not classification.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use errlens_classify::Registry;
use errlens_parse::parse_line_with;

fn bench(c: &mut Criterion) {
    let log = errlens_bench::log(2_000);
    let registry = Registry::builtin();
    let records: Vec<_> = errlens_bench::lines(&log)
        .into_iter()
        .filter_map(|l| parse_line_with(l, registry.map()).ok())
        .collect();
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("realistic_mix", |b| {
        b.iter(|| {
            let mut failures = 0u32;
            for r in &records {
                failures += u32::from(registry.classify(black_box(r)).failure);
            }
            failures
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
