//! The parallel path gives exactly the single-threaded report: every field, malformed
//! line numbers and retry judgements across chunk boundaries included.

use errlens_audit::parallel::audit_file;
use errlens_audit::{AuditConfig, Auditor, Report, ReportOptions};
use errlens_gen::{generate, GenConfig};
use std::io::Write;

fn check(seed: u64, attempt_field: bool, chunk: u64) {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    generate(
        &GenConfig {
            seed,
            lines: 30_000,
            garbage_per_mille: 8,
            attempt_field,
            mean_gap_ms: 100,
            ..GenConfig::default()
        },
        &mut f,
    )
    .unwrap();
    f.flush().unwrap();
    let cfg = AuditConfig::default();
    let mut single = Auditor::new(cfg.clone());
    single
        .read(
            "log",
            std::io::BufReader::new(std::fs::File::open(f.path()).unwrap()),
        )
        .unwrap();
    let opts = ReportOptions { top: 1000 };
    let want = serde_json::to_value(Report::from_summary(&single.finish(), opts)).unwrap();
    for threads in [1, 2, 3] {
        let got = audit_file(f.path(), "log", &cfg, threads, chunk).unwrap();
        let got = serde_json::to_value(Report::from_summary(&got, opts)).unwrap();
        assert!(want == got, "seed {seed}, attempt {attempt_field}, chunk {chunk}, {threads} threads: reports differ");
    }
    assert!(want["retries"]["total"].as_u64().unwrap() > 1000);
    assert!(want["malformed"].as_u64().unwrap() > 100);
}

#[test]
fn parallel_equals_single_threaded() {
    for (seed, attempt) in [(1, true), (2, false), (3, true)] {
        // ~5 MB logs in 64 KiB chunks: about 80 chunk boundaries each.
        check(seed, attempt, 64 << 10);
    }
}

#[test]
fn small_files_take_the_single_pass() {
    check(4, false, 64 << 20);
}
