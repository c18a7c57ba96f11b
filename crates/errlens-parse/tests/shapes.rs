//! Every built-in shape on real example lines: `fixtures/shapes/` holds one file per
//! shape, each starting with lines taken from the shape's spec or docs (sources in
//! `fixtures/shapes/README.md` and each file's `#` header), and `expect.jsonl` is the
//! record each one must give, written by hand from the shape contract. The shape is
//! detected, as with no flags; comment lines are stripped first.

use errlens_classify::Registry;
use errlens_parse::{Decoder, IngestConfig, ParseError, Record, RecordSink, ShapeKind};

/// The ingest configuration of a run with the built-in providers.
fn builtin_config() -> IngestConfig {
    IngestConfig {
        providers: Registry::builtin().map().clone(),
        ..IngestConfig::default()
    }
}
use serde_json::Value;
use std::collections::BTreeMap;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/shapes")
}

#[derive(Default)]
struct Collect {
    records: Vec<Value>,
    malformed: Vec<(u64, String)>,
}

impl RecordSink for Collect {
    fn record(&mut self, r: &Record<'_>) {
        let s =
            |c: &Option<std::borrow::Cow<'_, str>>| c.as_deref().map_or(Value::Null, Value::from);
        let host = r.host().map(|h| {
            let h = h.to_ascii_lowercase();
            match h.rsplit_once(':') {
                Some((a, p)) if p.bytes().all(|b| b.is_ascii_digit()) => a.to_owned(),
                _ => h,
            }
        });
        self.records.push(serde_json::json!({
            "provider": Registry::builtin().name(r.provider),
            "status": r.status,
            "method": s(&r.method),
            "host": host,
            "path": r.path(),
            "ts_ms": r.ts_ms,
            "latency_ms": r.latency_ms,
            "client_id": s(&r.client_id),
            "attempt": r.attempt,
            "retry_after_s": r.retry_after_s,
            "error": if Registry::builtin().name(r.provider) == "simkl" { s(&r.error) } else { Value::Null },
            "tmdb_code": if Registry::builtin().name(r.provider) == "tmdb" { r.tmdb_code.map_or(Value::Null, Value::from) } else { Value::Null },
        }));
    }
    fn blank(&mut self) {}
    fn malformed(&mut self, line: u64, e: &ParseError) {
        self.malformed.push((line, e.to_string()));
    }
}

/// A fixture without its `#` comment lines.
fn content(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    if name.ends_with(".har") {
        return text.into_bytes();
    }
    let mut out = String::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        out.push_str(l);
        out.push('\n');
    }
    out.into_bytes()
}

fn decode(name: &str) -> (Decoder, Collect) {
    let bytes = content(name);
    let mut d = Decoder::new(&builtin_config(), &bytes);
    let mut c = Collect::default();
    if d.is_document() {
        d.document(&bytes[..], &mut c).unwrap();
    } else {
        for (i, l) in bytes.split(|&b| b == b'\n').enumerate() {
            d.line(i as u64 + 1, l, &mut c);
        }
    }
    (d, c)
}

fn same(got: &Value, want: &Value, key: &str) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            // Times: the oracle truncates sub-millisecond digits, errlens rounds.
            let tol = if key == "ts_ms" { 1.0 } else { 1e-6 };
            (a - b).abs() <= tol
        }
        _ => got == want,
    }
}

#[test]
fn every_shape_reads_its_spec_examples() {
    let expect = std::fs::read_to_string(dir().join("expect.jsonl")).unwrap();
    let mut by_file: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in expect.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        by_file
            .entry(v["file"].as_str().unwrap().to_owned())
            .or_default()
            .push(v);
    }
    let shapes = [
        ("ecs.jsonl", ShapeKind::Ecs),
        ("otlp.jsonl", ShapeKind::Otlp),
        ("caddy.jsonl", ShapeKind::Caddy),
        ("envoy.jsonl", ShapeKind::Envoy),
        ("nginx.jsonl", ShapeKind::Nginx),
        ("traefik.jsonl", ShapeKind::Traefik),
        ("sample.har", ShapeKind::Har),
        ("logfmt.log", ShapeKind::Logfmt),
        ("clf.log", ShapeKind::Clf),
    ];
    assert_eq!(
        shapes.len() + 1,
        ShapeKind::ALL.len(),
        "every shape but flat has a fixture"
    );
    let mut failures = Vec::new();
    for (file, kind) in shapes {
        let (d, c) = decode(file);
        assert_eq!(d.shape().kind(), Some(kind), "{file}: detected shape");
        let want = &by_file[file];
        let got: Vec<&Value> = c.records.iter().collect();
        // Records without a status are malformed, not records.
        let want_records: Vec<&Value> = want.iter().filter(|w| !w["status"].is_null()).collect();
        assert_eq!(
            got.len(),
            want_records.len(),
            "{file}: records (malformed: {:?})",
            c.malformed
        );
        assert_eq!(
            c.malformed.len(),
            want.len() - want_records.len(),
            "{file}: malformed"
        );
        for (g, w) in got.iter().zip(&want_records) {
            for (key, wv) in w.as_object().unwrap() {
                if key == "file" || key == "record" {
                    continue;
                }
                if !same(&g[key], wv, key) {
                    failures.push(format!(
                        "{file} record {}: {key} = {}, want {wv}",
                        w["record"], g[key]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

mod no_panic {
    //! No input panics any shape's reader: real example lines from every fixture,
    //! mutated byte by byte, cut and spliced, read by every shape (forced) and with
    //! detection; HAR documents likewise, streamed.

    use super::*;
    use errlens_parse::Shape;
    use proptest::prelude::*;

    fn fixture_lines() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for f in [
            "ecs.jsonl",
            "otlp.jsonl",
            "caddy.jsonl",
            "envoy.jsonl",
            "nginx.jsonl",
            "traefik.jsonl",
            "logfmt.log",
            "clf.log",
        ] {
            for l in content(f).split(|&b| b == b'\n') {
                if !l.is_empty() {
                    out.push(l.to_vec());
                }
            }
        }
        out
    }

    fn read_all(line: &[u8]) {
        let mut sink = Collect::default();
        for k in ShapeKind::ALL {
            let cfg = IngestConfig {
                shape: Some(Shape::Builtin(k)),
                ..builtin_config()
            };
            Decoder::new(&cfg, line).line(1, line, &mut sink);
        }
        Decoder::new(&builtin_config(), line).line(1, line, &mut sink);
        let _ = errlens_parse::detect::sniff(line);
        let _ = errlens_parse::front::hint(line, None);
        let _ = errlens_parse::front::hint(line, Some(&Shape::Builtin(ShapeKind::Otlp)));
    }

    /// Cases per property: 3000 in the suite; `ERRLENS_FUZZ_CASES` for a long run.
    fn cases() -> u32 {
        std::env::var("ERRLENS_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
        #[test]
        fn mutated_example_lines(
            pick in 0usize..80,
            edits in proptest::collection::vec((0usize..2000, any::<u8>(), 0u8..4), 0..6),
            cut in 0usize..2000,
        ) {
            let lines = fixture_lines();
            let mut v = lines[pick % lines.len()].clone();
            for (at, byte, op) in edits {
                let at = at % (v.len() + 1);
                match op {
                    0 if at < v.len() => v[at] = byte,
                    1 => v.insert(at, byte),
                    2 if at < v.len() => { v.remove(at); }
                    _ => {
                        // Splice in a piece of another line (nesting, quotes, escapes).
                        let other = &lines[(pick + at) % lines.len()];
                        let from = at % other.len();
                        let piece = other[from..(from + 40).min(other.len())].to_vec();
                        let at = at.min(v.len());
                        v.splice(at..at, piece);
                    }
                }
            }
            v.truncate(cut.max(1));
            read_all(&v);
        }

        #[test]
        fn arbitrary_bytes(v in proptest::collection::vec(any::<u8>(), 0..400)) {
            read_all(&v);
        }

        #[test]
        fn mutated_har_documents(
            edits in proptest::collection::vec((0usize..20000, any::<u8>()), 0..8),
            cut in 0usize..20000,
        ) {
            let mut doc = content("sample.har");
            for (at, byte) in edits {
                let at = at % doc.len();
                doc[at] = byte;
            }
            doc.truncate(cut.max(1));
            let mut d = Decoder::new(&builtin_config(), &doc);
            let mut sink = Collect::default();
            if d.is_document() {
                d.document(&doc[..], &mut sink).unwrap();
            }
            let _ = errlens_parse::detect::sniff(&doc);
        }
    }
}
