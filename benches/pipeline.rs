//! The whole audit: parse + classify + audit (groups, retry chains, pressure, latency),
//! MB/s over a generated log.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use errlens_audit::{AuditConfig, Auditor, Report, ReportOptions};

fn bench(c: &mut Criterion) {
    let log = errlens_bench::log(100_000);
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(20);
    g.bench_function("audit_100k_lines", |b| {
        b.iter(|| {
            let mut a = Auditor::new(AuditConfig::default());
            a.read("bench", log.as_slice()).unwrap();
            Report::from_summary(&a.finish(), &ReportOptions::default()).records
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
