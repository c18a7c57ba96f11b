//! The parallel path gives exactly the single-threaded report: every field, malformed
//! line numbers and retry judgements across chunk boundaries included.

use errlens_audit::parallel::{audit_file, audit_stream, FileRead};
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
    let opts = ReportOptions {
        top: 1000,
        ..Default::default()
    };
    let want = serde_json::to_value(Report::from_summary(&single.finish(), &opts)).unwrap();
    for threads in [1, 2, 3] {
        for mmap in [true, false] {
            let got = audit_file(f.path(), "log", &cfg, threads, FileRead { chunk, mmap }).unwrap();
            let got = serde_json::to_value(Report::from_summary(&got, &opts)).unwrap();
            assert!(want == got, "seed {seed}, attempt {attempt_field}, chunk {chunk}, {threads} threads, mmap {mmap}: reports differ");
        }
        let (got, result) = audit_stream(
            std::io::BufReader::new(std::fs::File::open(f.path()).unwrap()),
            "log",
            &cfg,
            threads,
        );
        result.unwrap();
        let got = serde_json::to_value(Report::from_summary(&got, &opts)).unwrap();
        assert!(
            want == got,
            "seed {seed}, attempt {attempt_field}, stream, {threads} threads: reports differ"
        );
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

/// Streams with lines too long to keep, blank lines, CRLF and no final newline: the
/// parallel stream path counts them exactly as one pass does, at any batch boundary.
#[test]
fn stream_with_long_lines_equals_single_threaded() {
    let mut text = String::new();
    for i in 0..60_000 {
        match i % 997 {
            0 => text.push_str(&"x".repeat(3 << 20)),
            1 => text.push_str(&format!("{{\"status\":500,\"m\":\"{}\"}}", "y".repeat(1 << 20))),
            2 => {}
            3 => text.push_str("{\"status\":429,\"client_id\":\"c\"}\r"),
            _ => text.push_str(&format!(
                "{{\"ts\":{},\"url\":\"https://api.simkl.com/sync/{}\",\"status\":{},\"client_id\":\"c{}\",\"attempt\":{}}}",
                1_795_168_800_000u64 + i * 250,
                i % 13,
                [200, 429, 500, 412][(i % 4) as usize],
                i % 7,
                1 + i % 3
            )),
        }
        text.push('\n');
    }
    text.push_str("{\"status\":404}");
    let cfg = AuditConfig::default();
    let mut single = Auditor::new(cfg.clone());
    single.read("log", text.as_bytes()).unwrap();
    let opts = ReportOptions {
        top: 1000,
        ..Default::default()
    };
    let want = serde_json::to_value(Report::from_summary(&single.finish(), &opts)).unwrap();
    assert!(want["malformed"].as_u64().unwrap() >= 120);
    for threads in [2, 3] {
        let (got, result) = audit_stream(text.as_bytes(), "log", &cfg, threads);
        result.unwrap();
        let got = serde_json::to_value(Report::from_summary(&got, &opts)).unwrap();
        assert!(want == got, "{threads} threads: reports differ");
    }
}

/// A read error ends the stream: what came before is counted and the error is kept.
#[test]
fn stream_read_error_is_reported() {
    struct Failing(usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.0 -= 1;
            let line = b"{\"status\":200}\n";
            let n = buf.len().min(line.len());
            buf[..n].copy_from_slice(&line[..n]);
            Ok(n)
        }
    }
    let (got, result) = audit_stream(
        std::io::BufReader::new(Failing(3)),
        "log",
        &AuditConfig::default(),
        2,
    );
    assert!(result.is_err());
    assert_eq!(got.records, 3);
    assert_eq!(got.inputs[0].error.as_deref(), Some("disk on fire"));
}
