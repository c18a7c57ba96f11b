//! Parser cases from `fixtures/parse/`: every alias and shape (`records.jsonl`) and
//! every malformed kind (`malformed.tsv`), plus byte-level garbage and a property test
//! that no input panics.

use errlens_classify::Registry;
use errlens_parse::{ParseError, Record, StatusSource};

/// Parses one line as a run with the built-in providers does.
fn parse_line(line: &[u8]) -> Result<Record<'_>, ParseError> {
    errlens_parse::parse_line_with(line, Registry::builtin().map())
}
use proptest::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!("{}/../../fixtures/parse/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture readable")
}

fn field(r: &Record<'_>, name: &str) -> Value {
    let s = |c: &Option<std::borrow::Cow<'_, str>>| c.as_deref().map_or(Value::Null, Value::from);
    match name {
        "provider" => Registry::builtin().name(r.provider).into(),
        "status" => r.status.into(),
        "status_source" => match r.status_source {
            StatusSource::Status => "status",
            StatusSource::EnvelopeCode => "envelope_code",
        }
        .into(),
        "ts_ms" => r.ts_ms.map_or(Value::Null, Value::from),
        "method" => s(&r.method),
        "client_id" => s(&r.client_id),
        "error" => s(&r.error),
        "message" => s(&r.message),
        "status_message" => s(&r.status_message),
        "host" => r.host().map_or(Value::Null, Value::from),
        "path" => r.path().map_or(Value::Null, Value::from),
        "latency_ms" => r.latency_ms.map_or(Value::Null, Value::from),
        "retry_after_s" => r.retry_after_s.map_or(Value::Null, Value::from),
        "attempt" => r.attempt.map_or(Value::Null, Value::from),
        "code" => r.code.map_or(Value::Null, Value::from),
        "tmdb_code" => r.tmdb_code.map_or(Value::Null, Value::from),
        "success" => r.success.map_or(Value::Null, Value::from),
        "errors" => r.errors.map_or(Value::Null, Value::from),
        other => panic!("fixture names unknown field {other}"),
    }
}

#[test]
fn record_cases() {
    let text = fixture("records.jsonl");
    let mut n = 0;
    for line in text.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let name = case["name"].as_str().unwrap();
        let raw = case["line"].as_str().unwrap();
        let rec = parse_line(raw.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (k, want) in case["expect"].as_object().unwrap() {
            let got = field(&rec, k);
            let same = match (got.as_f64(), want.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                _ => &got == want,
            };
            assert!(same, "{name}: {k} = {got}, want {want}");
        }
        n += 1;
    }
    assert!(n >= 30);
}

#[test]
fn malformed_cases() {
    let text = fixture("malformed.tsv");
    let mut kinds = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (kind, raw) = line.split_once('\t').unwrap();
        let err = parse_line(raw.as_bytes()).expect_err(raw);
        let got = err.kind();
        assert_eq!(got, kind, "{raw}");
        kinds.insert(got);
    }
    assert_eq!(kinds.len(), 3, "every parse-level kind has a case");
}

#[test]
fn byte_level_garbage_is_invalid_json() {
    for raw in [
        &b"{\"status\":200,\"client_id\":\"\xff\xfe\"}"[..],
        b"{\"status\":200,\x00\"a\":1}",
        b"\x00\x00\x00",
        b"\x1f\x8b\x08\x00binary",
        b"{\"status\":200,\"method\":\"GET\xc3\"}",
    ] {
        assert!(
            matches!(parse_line(raw), Err(ParseError::InvalidJson(_))),
            "{raw:?}"
        );
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_line(deep.as_bytes()).is_err());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_line(&bytes);
    }

    #[test]
    fn mutated_records_never_panic(cut in 0usize..200, byte in any::<u8>(), at in 0usize..200) {
        let base = br#"{"ts":"2026-11-20T10:00:00Z","method":"GET","url":"https://api.simkl.com/x","status":429,"error":"rate_limit","code":429,"retry_after":"10","attempt":2}"#;
        let mut v = base.to_vec();
        if at < v.len() { v[at] = byte; }
        v.truncate(cut.min(v.len()));
        let _ = parse_line(&v);
    }
}
