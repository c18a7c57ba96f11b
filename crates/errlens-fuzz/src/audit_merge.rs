//! `audit_merge`: a multi-line input through the audit (`errlens-audit`), whole and in
//! pieces.
//!
//! The first three bytes are settings, the rest is the input: bytes 0–1 (little
//! endian) pick the line boundary the input is split at (among the start, the end and
//! every newline); byte 2 picks the read block size (`1 + (b & 0x7f)` bytes) and, with
//! its high bit, a small line cap (80 bytes) instead of the default.
//!
//! Asserts, comparing summaries as serialized JSON ([`Summary::to_json`]):
//!
//! - the audit read in small blocks is, byte for byte, the audit read in one block;
//! - the audits of the two shards (the second a mergeable shard, through the summary
//!   wire format, as `errlens merge` reads it) merged as `errlens report --threads N`
//!   merges the parts of a file — malformed line numbers re-based, input statistics
//!   joined — give the single pass's summary;
//! - so do the parallel paths: [`audit_stream`] with 1 and 2 workers, and
//!   [`audit_file`] with 2 workers in 1 KiB parts (inputs of 2 KiB and more), the file
//!   memory-mapped and read.
//!
//! "The single pass's summary" is what `docs/report-schema.md` promises of a merge:
//! the finalized summaries ([`Summary::finalized`], the report's source) are equal,
//! every count and quantile, with latency histograms compared by their counts
//! ([`same_histogram`]); retry judgements (retries, chains, per-client retries) are compared
//! too when the documented conditions for their exactness hold — every record has a
//! time, in input order, and no key has more than 32 attempts ([`judgements_exact`]).

use errlens_audit::latency::Latency;
use errlens_audit::parallel::{audit_file, audit_stream, FileRead};
use errlens_audit::{AuditConfig, Auditor, Summary};
use errlens_classify::Registry;
use errlens_parse::detect::SNIFF_BYTES;
use errlens_parse::frame::READ_BLOCK;
use errlens_parse::frame::{frame_all, Frames};
use errlens_parse::{Decoder, IngestConfig, ParseError, Record, RecordSink, DEFAULT_MAX_LINE};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The small line cap the settings byte may pick.
const SMALL_CAP: usize = 80;

/// The name of the input in every summary.
const NAME: &str = "fuzz";

/// The smallest part [`audit_file`] cuts a file into.
const CHUNK: u64 = 1 << 10;

/// The target: see the module docs.
pub fn audit_merge(data: &[u8]) {
    let mut settings = [0u8; 3];
    let n = data.len().min(3);
    settings[..n].copy_from_slice(&data[..n]);
    let input = &data[n..];
    let cut_pick = usize::from(u16::from_le_bytes([settings[0], settings[1]]));
    let block = 1 + usize::from(settings[2] & 0x7f);
    let max_line = if settings[2] & 0x80 != 0 {
        SMALL_CAP
    } else {
        errlens_parse::DEFAULT_MAX_LINE
    };
    let config = AuditConfig {
        ingest: Arc::new(IngestConfig {
            providers: Arc::clone(Registry::builtin().map()),
            max_line,
            ..IngestConfig::default()
        }),
        ..AuditConfig::default()
    };
    // One shape for the whole input and every part of it, sniffed at its start (as
    // `errlens report` reads a file in parts).
    let decoder = Decoder::new(&config.ingest, &input[..input.len().min(SNIFF_BYTES)]);
    // One read for the whole input (a READ_BLOCK buffer, no bigger than needed).
    let whole = audit(&config, &decoder, input, READ_BLOCK.min(input.len().max(1)));
    let small = audit(&config, &decoder, input, block);
    let (a, b) = (whole.to_json(), small.to_json());
    if a != b {
        let mut out = Vec::new();
        diff(
            &serde_json::from_str(&a).expect("summary JSON"),
            &serde_json::from_str(&b).expect("summary JSON"),
            "",
            &mut out,
        );
        panic!(
            "read in blocks of {block} bytes: the summary differs:\n{}",
            out.join("\n")
        );
    }
    let exact = judgements_exact(&config, &decoder, input);
    let whole = Final {
        json: whole.finalized().to_json(),
        summary: whole,
    };

    if !decoder.is_document() {
        let cut = cut_at(input, cut_pick);
        let first = audit(&config, &decoder, &input[..cut], block);
        let second = audit(
            &AuditConfig {
                mergeable_chains: true,
                ..config.clone()
            },
            &decoder,
            &input[cut..],
            block,
        );
        let second = Summary::from_json(second.to_json().as_bytes())
            .expect("a summary reads back from its own JSON");
        same(
            &format!("merged shards cut at byte {cut}"),
            &whole,
            &combine(first, &second),
            exact,
        );
    }

    for threads in [1, 2] {
        let (got, result) = audit_stream(input, NAME, &config, threads);
        result.expect("a stream in memory reads without an I/O error");
        same(&format!("stream on {threads} threads"), &whole, &got, exact);
    }
    if input.len() as u64 >= 2 * CHUNK {
        for mmap in [true, false] {
            same(
                &format!("file in 1 KiB parts on 2 threads, mmap {mmap}"),
                &whole,
                &in_parts(input, &config, mmap),
                exact,
            );
        }
    }
}

/// The start of the line `pick` chooses among the input's line starts and its end, as
/// errlens' framer cuts the input into lines.
fn cut_at(input: &[u8], pick: usize) -> usize {
    /// The offset after each framed line (its terminator included).
    struct Ends(Vec<usize>);
    impl Frames for Ends {
        fn line(&mut self, _: &[u8], raw_len: u64) {
            self.too_long(raw_len);
        }
        fn too_long(&mut self, raw_len: u64) {
            let last = self.0.last().copied().unwrap_or(0);
            self.0.push(last + raw_len as usize);
        }
    }
    let mut bounds = Ends(vec![0]);
    frame_all(input, DEFAULT_MAX_LINE, &mut bounds);
    bounds.0[pick % bounds.0.len()]
}

/// One input audited with `decoder` (fresh), read in blocks of `block` bytes.
fn audit(config: &AuditConfig, decoder: &Decoder, input: &[u8], block: usize) -> Summary {
    let mut a = Auditor::new(config.clone());
    a.read_decoded(NAME, &mut decoder.clone(), input, block)
        .expect("memory reads without an I/O error");
    a.finish()
}

/// `second`, which followed `first` in the input, merged into it as the parallel audit
/// merges the parts of one file: the second part's malformed lines renumbered after the
/// first's lines, the parts' input statistics joined into the input's.
fn combine(mut first: Summary, second: &Summary) -> Summary {
    let lines: u64 = first.inputs.iter().map(|i| i.lines).sum();
    let mut second = second.clone();
    for m in &mut second.malformed_sample {
        m.line += lines;
    }
    first
        .merge(&second)
        .expect("shards of one run share their provider definitions");
    if first.inputs.len() > 1 {
        let mut one = first.inputs[0].clone();
        for i in &first.inputs[1..] {
            one.absorb(i);
        }
        first.inputs = vec![one];
    }
    first
}

/// The input as a file, audited by 2 workers in parts of [`CHUNK`] bytes, mapped or
/// read.
fn in_parts(input: &[u8], config: &AuditConfig, mmap: bool) -> Summary {
    static FILES: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "errlens-fuzz-{}-{}.log",
        std::process::id(),
        FILES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, input).expect("a temporary file");
    let got = audit_file(&path, NAME, config, 2, FileRead { chunk: CHUNK, mmap });
    let _ = std::fs::remove_file(&path);
    got.expect("a file just written reads")
}

/// Whether the retry judgements of a merge are documented to be exact for `input`
/// (`docs/report-schema.md`): every record has a time and the times never go back, and
/// no client has more than 32 records (so no key has more than 32 unresolved attempts
/// at a shard's start). Across a boundary with missing or out-of-order times a merge
/// may judge a chain differently; every count stays exact.
fn judgements_exact(config: &AuditConfig, decoder: &Decoder, input: &[u8]) -> bool {
    #[derive(Default)]
    struct Times {
        last: Option<i64>,
        ordered: bool,
        per_client: HashMap<String, usize>,
        lines: u64,
    }
    impl RecordSink for Times {
        fn record(&mut self, rec: &Record<'_>) {
            match rec.ts_ms {
                Some(t) if self.last.is_none_or(|l| l <= t) => self.last = Some(t),
                _ => self.ordered = false,
            }
            *self
                .per_client
                .entry(rec.client_id.as_deref().unwrap_or("").to_owned())
                .or_default() += 1;
        }
        fn blank(&mut self) {}
        fn malformed(&mut self, _: u64, _: &ParseError) {}
    }
    struct Feed<'a>(&'a mut Decoder, &'a mut Times);
    impl Frames for Feed<'_> {
        fn line(&mut self, line: &[u8], _: u64) {
            self.1.lines += 1;
            self.0.line(self.1.lines, line, &mut *self.1);
        }
        fn too_long(&mut self, _: u64) {
            self.1.lines += 1;
        }
    }
    let mut t = Times {
        ordered: true,
        ..Times::default()
    };
    let mut d = decoder.clone();
    if d.is_document() {
        d.document(input, &mut t)
            .expect("a document in memory reads without an I/O error");
    } else {
        frame_all(input, config.ingest.max_line, &mut Feed(&mut d, &mut t));
    }
    t.ordered && t.per_client.values().all(|&n| n <= 32)
}

/// A summary as its report sees it: finalized (open chains resolved), as JSON, without
/// the retry judgements unless `judgements` (see the module docs).
///
/// Summaries are compared finalized because a merge may keep open a chain the single
/// pass already closed (finding 2 in `fuzz/README.md`), which changes no count.
fn comparable(s: &Summary, judgements: bool) -> Value {
    let mut v: Value = serde_json::from_str(&s.finalized().to_json()).expect("summary JSON");
    if !judgements {
        let o = v.as_object_mut().expect("a summary is an object");
        for key in ["retries", "retries_by_provider", "chains"] {
            o.remove(key);
        }
        if let Some(Value::Object(clients)) = o.get_mut("clients") {
            for c in clients.values_mut() {
                if let Some(c) = c.as_object_mut() {
                    c.remove("retries");
                }
            }
        }
    }
    v
}

/// The single pass's summary, and its finalized JSON (made once).
struct Final {
    summary: Summary,
    json: String,
}

/// Panics, naming the differing fields, unless the two summaries are the same as their
/// reports see them ([`comparable`], [`diff`]).
fn same(what: &str, want: &Final, got: &Summary, judgements: bool) {
    if want.json == got.finalized().to_json() {
        return;
    }
    let mut out = Vec::new();
    diff(
        &comparable(&want.summary, judgements),
        &comparable(got, judgements),
        "",
        &mut out,
    );
    if out.is_empty() {
        return;
    }
    panic!(
        "{what}: the summary differs from the single pass's (retry judgements compared: \
         {judgements}):\n{}",
        out.join("\n")
    );
}

/// Whether two values are latency histograms (base64 V2 serializations, which start
/// `HIST`) with the same counts.
///
/// Histograms are compared by their counts because the serialization also carries the
/// histogram's highest trackable value, which auto-resizing sets by how the values
/// arrived (rounded up to a bucket's end when recorded, the largest value when added
/// from another histogram: hdrhistogram 7.6 `record` vs `add`), so the same counts can
/// serialize two ways (finding 1 in `fuzz/README.md`).
fn same_histogram(a: &Value, b: &Value) -> bool {
    let histogram = |v: &Value| match v {
        Value::String(s) if s.starts_with("HIST") => {
            serde_json::from_value::<Latency>(v.clone()).ok()
        }
        _ => None,
    };
    matches!((histogram(a), histogram(b)), (Some(x), Some(y)) if x == y)
}

/// The paths where `a` and `b` differ, histograms compared by their counts.
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b && !same_histogram(a, b) => {
            out.push(format!("{path}: single pass {a}, got {b}"));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_line_starts() {
        assert_eq!(cut_at(b"", 5), 0);
        assert_eq!(cut_at(b"ab\ncd", 1), 3);
        assert_eq!(cut_at(b"ab\ncd", 2), 5);
        assert_eq!(cut_at(b"ab\ncd\n", 2), 6);
        assert_eq!(cut_at(b"ab\ncd\n", 3), 0);
    }

    #[test]
    fn a_retry_across_the_cut() {
        let mut data = vec![1, 0, 5];
        data.extend_from_slice(
            concat!(
                r#"{"ts":1795168800000,"url":"https://api.simkl.com/sync/x","status":429,"client_id":"c","attempt":1}"#,
                "\n",
                r#"{"ts":1795168801000,"url":"https://api.simkl.com/sync/x","status":200,"client_id":"c","attempt":2}"#,
                "\nnot a record\n"
            )
            .as_bytes(),
        );
        audit_merge(&data);
    }
}
