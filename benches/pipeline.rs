//! The whole audit: parse + classify + audit (groups, retry chains, pressure, latency),
//! MB/s over a generated log; and the same log rewritten in every other shape
//! (`pipeline_shapes/…`, `errlens_gen::shapes`), detected and audited as `errlens
//! report` does. The shape logs hold the same records, so their times compare per
//! record (the throughput is each log's own bytes).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use errlens_audit::{AuditConfig, Auditor, Report, ReportOptions};

fn audit(log: &[u8]) -> u64 {
    let mut a = Auditor::new(AuditConfig::default());
    a.read("bench", log).unwrap();
    Report::from_summary(&a.finish(), &ReportOptions::default()).records
}

fn bench(c: &mut Criterion) {
    let log = errlens_bench::log(100_000);
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(20);
    g.bench_function("audit_100k_lines", |b| b.iter(|| audit(&log)));
    g.finish();

    let flat = String::from_utf8(errlens_bench::log(20_000)).unwrap();
    let mut g = c.benchmark_group("pipeline_shapes");
    g.sample_size(10);
    let reference = audit(flat.as_bytes());
    for shape in std::iter::once("flat").chain(errlens_gen::shapes::SHAPES) {
        let text = match shape {
            "flat" => flat.clone(),
            s => errlens_gen::shapes::convert(&flat, s),
        };
        // Every record read, whatever the shape (HAR drops the garbage lines only).
        assert!(audit(text.as_bytes()) >= reference - 200, "{shape}");
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(shape, |b| b.iter(|| audit(text.as_bytes())));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
