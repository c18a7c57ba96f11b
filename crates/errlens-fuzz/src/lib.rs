//! Fuzz targets for errlens, as plain functions: each takes arbitrary bytes and panics
//! when a property errlens promises does not hold. The oracles live here, so the
//! cargo-fuzz harnesses under `fuzz/` are one line each and the seed corpus runs in the
//! normal test suite on the stable toolchain (`tests/corpus.rs`).
//!
//! | target | reads the bytes as | asserts |
//! |---|---|---|
//! | [`shapes`] | one line, and a whole input, in every shape (forced, custom, detected) | no panic; every non-blank line is a record or malformed; records are valid |
//! | [`fast_vs_serde`] | one flat line | the fast scanner and serde_json give the same record or error |
//! | [`audit_merge`] | a multi-line input (after a 3-byte header) | audit = merge of the audits of two shards; 1 and 2 threads agree |
//! | [`ingest_body`] | a `POST /ingest` and `POST /v1/logs` body (after a 2-byte header) | no panic; decompression capped; every line and log record counted |
//!
//! See `fuzz/README.md` for how to run them.
#![deny(missing_docs)]

mod audit_merge;
mod fast_vs_serde;
mod ingest_body;
mod shapes;

pub use audit_merge::audit_merge;
pub use fast_vs_serde::fast_vs_serde;
pub use ingest_body::ingest_body;
pub use shapes::shapes;

/// A fuzz target: bytes in, a panic on a property violation.
pub type Target = fn(&[u8]);

/// Every target by its name (the name of its `fuzz/fuzz_targets/NAME.rs` harness and
/// of its corpus directory `fuzz/corpus/NAME/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("shapes", shapes),
    ("fast_vs_serde", fast_vs_serde),
    ("audit_merge", audit_merge),
    ("ingest_body", ingest_body),
];

/// Shared checks of the targets.
mod check {
    use errlens_parse::{ParseError, Record, RecordSink};

    /// The invariants of every record any shape hands out.
    pub(crate) fn record(rec: &Record<'_>) {
        assert!(
            (100..=599).contains(&rec.status),
            "a record's status is 100-599: {rec:?}"
        );
        // Durations are kept only when finite and not negative (`raw.rs`).
        for v in [rec.latency_ms, rec.retry_after_s].into_iter().flatten() {
            assert!(
                v.is_finite() && v >= 0.0,
                "a duration is finite and >= 0: {rec:?}"
            );
        }
        // The URL split is cached at parse time: asking for it must not panic, and an
        // owned copy is the same record.
        let _ = (rec.host(), rec.path());
        assert_eq!(
            &rec.clone().into_owned(),
            rec,
            "an owned record equals its original"
        );
    }

    /// A sink that counts what it is handed and checks every record.
    #[derive(Debug, Default, Clone, PartialEq, Eq)]
    pub(crate) struct Tally {
        /// Records.
        pub(crate) records: u64,
        /// Blank lines (and empty OTLP batches).
        pub(crate) blank: u64,
        /// Malformed lines or records.
        pub(crate) malformed: u64,
        /// The largest line number a malformed outcome named.
        pub(crate) last_line: u64,
    }

    impl Tally {
        /// Outcomes of any kind.
        pub(crate) fn outcomes(&self) -> u64 {
            self.records + self.blank + self.malformed
        }
    }

    impl RecordSink for Tally {
        fn record(&mut self, rec: &Record<'_>) {
            record(rec);
            self.records += 1;
        }
        fn blank(&mut self) {
            self.blank += 1;
        }
        fn malformed(&mut self, line: u64, error: &ParseError) {
            assert!(line >= 1, "malformed line numbers are 1-based: {error}");
            // Every reason renders (it is shown in reports) and has a kind.
            assert!(!error.to_string().is_empty() && !error.kind().is_empty());
            self.malformed += 1;
            self.last_line = self.last_line.max(line);
        }
    }
}
