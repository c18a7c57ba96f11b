//! `errlens serve`'s OTLP/HTTP logs receiver (`POST /v1/logs`) fed by the real
//! OpenTelemetry Python SDK: a `LoggerProvider` with a `BatchLogRecordProcessor` and
//! the OTLP/HTTP log exporters (binary protobuf and JSON, each plain and gzip), run by
//! `tests/otel/emit_logs.py` in the virtual environment `scripts/test` creates
//! (`target/otel-venv`). The records describe API calls by the HTTP semantic
//! conventions, with known truth: the counters must equal it exactly, and equal what
//! `errlens report` counts in the same records written as an OTLP/JSON file (each
//! exported batch, one line, by the SDK's own JSON encoder). Then: the responses decoded
//! by the official protobuf classes (partial success, a 400 `google.rpc.Status`), and
//! the guards (content types, Host allow-list, `--no-ingest`).

mod common;

use common::Serve;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The virtual environment's Python, which scripts/test creates.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/otel-venv");
    let python = venv.join("bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args([
                "-c",
                "import opentelemetry.sdk._logs, opentelemetry.exporter.otlp.proto.http._log_exporter, \
                 opentelemetry.exporter.otlp.json.http._log_exporter",
            ])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} is missing or lacks the OpenTelemetry SDK and its OTLP/HTTP exporters: run \
         scripts/test, which creates it",
        venv.display()
    );
    python
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otel/emit_logs.py")
}

/// 2026-01-01T00:00:00Z, ns.
const T0_NS: u64 = 1_767_225_600_000_000_000;

/// One kind of log record: its attributes and body, and what errlens must make of it —
/// `(provider, status, class)` and the failure's `(class, error)` — or `None` for a
/// record that is not an API call (rejected: no HTTP status).
struct Kind {
    attributes: Value,
    body: Option<Value>,
    request: Option<(&'static str, &'static str, &'static str)>,
    failure: Option<(&'static str, &'static str)>,
}

fn kinds() -> Vec<Kind> {
    let call = |method: &str, url: &str, status: u16| json!({"http.request.method": method, "url.full": url, "http.response.status_code": status});
    let with = |mut v: Value, key: &str, val: Value| {
        v[key] = val;
        v
    };
    vec![
        Kind {
            attributes: with(
                call("GET", "https://api.simkl.com/sync/activities", 200),
                "client_id",
                json!("simkl-app"),
            ),
            body: None,
            request: Some(("simkl", "200", "success")),
            failure: None,
        },
        Kind {
            attributes: with(
                call("POST", "https://api.simkl.com/sync/history", 429),
                "client_id",
                json!("simkl-app"),
            ),
            // A JSON envelope as a string body.
            body: Some(json!(r#"{"error":"rate_limit","code":429}"#)),
            request: Some(("simkl", "429", "rate_limited")),
            failure: Some(("rate_limited", "rate_limit")),
        },
        Kind {
            attributes: call("GET", "https://api.simkl.com/sync/all-items/shows", 412),
            body: Some(json!(
                r#"{"error":"client_id_failed","code":412,"message":"client_id is wrong"}"#
            )),
            request: Some(("simkl", "412", "client_id_failed")),
            failure: Some(("client_id_failed", "client_id_failed")),
        },
        Kind {
            attributes: with(
                call("GET", "https://api.simkl.com/search/movie?q=alien", 500),
                "http.client.request.duration",
                json!(0.75),
            ),
            body: None,
            request: Some(("simkl", "500", "server_error")),
            failure: Some(("server_error", "none")),
        },
        Kind {
            attributes: call("GET", "https://api.themoviedb.org/3/movie/550", 200),
            body: None,
            request: Some(("tmdb", "200", "success")),
            failure: None,
        },
        Kind {
            attributes: call("GET", "https://api.themoviedb.org/3/search/movie", 429),
            // A map body: the SDK sends it as a kvlistValue.
            body: Some(json!({
                "status_code": 25,
                "status_message": "Your request count (#) is over the allowed limit of (40).",
                "success": false
            })),
            request: Some(("tmdb", "429", "rate_limited")),
            failure: Some(("rate_limited", "25")),
        },
        Kind {
            attributes: call("GET", "https://api.themoviedb.org/3/movie/0", 404),
            body: Some(json!(
                r#"{"status_code":34,"status_message":"The resource you requested could not be found.","success":false}"#
            )),
            request: Some(("tmdb", "404", "not_found")),
            failure: Some(("not_found", "34")),
        },
        Kind {
            // The URL in parts (server.address + url.path).
            attributes: json!({
                "http.request.method": "GET",
                "server.address": "api.simkl.com",
                "url.path": "/users/settings",
                "http.response.status_code": 401
            }),
            body: None,
            request: Some(("simkl", "401", "unauthorized")),
            failure: Some(("unauthorized", "none")),
        },
        Kind {
            // An application log line, not an API call.
            attributes: json!({"cache.entries": 120}),
            body: Some(json!("cache warmed")),
            request: None,
            failure: None,
        },
    ]
}

/// Each run: (encoding, compression, records of each kind).
const RUNS: [(&str, &str, u64); 4] = [
    ("protobuf", "none", 5),
    ("protobuf", "gzip", 3),
    ("json", "none", 2),
    ("json", "gzip", 1),
];

/// The expected counters: lines by result, requests by (provider, status, class),
/// failures by (provider, class, error).
#[derive(Debug, Default, PartialEq)]
struct Truth {
    lines: BTreeMap<String, u64>,
    requests: BTreeMap<Vec<String>, u64>,
    failures: BTreeMap<Vec<String>, u64>,
}

/// Every sample of `name` with its label values (in `labels` order), zeros left out.
fn series(text: &str, name: &str, labels: &[&str]) -> BTreeMap<Vec<String>, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name).and_then(|r| r.strip_prefix('{')) else {
            continue;
        };
        let (body, value) = rest.rsplit_once("} ").expect("a labelled sample");
        let value: f64 = value.trim().parse().unwrap();
        let map: BTreeMap<&str, &str> = body
            .split("\",")
            .filter_map(|kv| kv.split_once("=\""))
            .map(|(k, v)| (k.trim_start_matches(','), v.trim_end_matches('"')))
            .collect();
        if value > 0.0 {
            let key = labels.iter().map(|l| map[l].to_owned()).collect();
            *out.entry(key).or_default() += value as u64;
        }
    }
    out
}

fn counters(text: &str) -> Truth {
    Truth {
        lines: series(text, "errlens_lines_total", &["result"])
            .into_iter()
            .map(|(k, v)| (k[0].clone(), v))
            .collect(),
        requests: series(
            text,
            "errlens_requests_total",
            &["provider", "status", "class"],
        ),
        failures: series(
            text,
            "errlens_failures_total",
            &["provider", "class", "error"],
        ),
    }
}

/// `errlens report --format json FILE`.
fn report(file: &Path) -> Value {
    common::json_report(&[file.to_str().unwrap()])
}

/// Retry counts: all retries, and each judgement.
const RETRY_KINDS: [&str; 6] = [
    "total",
    "ok",
    "wasted",
    "early",
    "over_limit",
    "post_after_429",
];

/// What the report and the exporter both define the same way: lines, requests by
/// (provider, status, class), failures by (provider, class), retries by (provider,
/// judgement).
fn report_view(r: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut add = |k: String, n: u64| {
        if n > 0 {
            *out.entry(k).or_default() += n;
        }
    };
    add("lines record".into(), r["records"].as_u64().unwrap());
    add("lines malformed".into(), r["malformed"].as_u64().unwrap());
    add("lines blank".into(), r["blank"].as_u64().unwrap());
    for g in r["groups"].as_array().unwrap() {
        let (p, s, c) = (&g["provider"], &g["status"], &g["class"]);
        let n = g["count"].as_u64().unwrap();
        add(
            format!(
                "requests {} {s} {}",
                p.as_str().unwrap(),
                c.as_str().unwrap()
            ),
            n,
        );
        if g["failure"].as_bool().unwrap() {
            add(
                format!("failures {} {}", p.as_str().unwrap(), c.as_str().unwrap()),
                n,
            );
        }
    }
    for (p, counts) in r["retries"]["by_provider"].as_object().unwrap() {
        for kind in RETRY_KINDS {
            add(
                format!("retries {p} {kind}"),
                counts[kind].as_u64().unwrap(),
            );
        }
    }
    out
}

fn serve_view(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (k, n) in series(text, "errlens_lines_total", &["result"]) {
        *out.entry(format!("lines {}", k[0])).or_default() += n;
    }
    for (k, n) in series(
        text,
        "errlens_requests_total",
        &["provider", "status", "class"],
    ) {
        *out.entry(format!("requests {} {} {}", k[0], k[1], k[2]))
            .or_default() += n;
    }
    for (k, n) in series(text, "errlens_failures_total", &["provider", "class"]) {
        *out.entry(format!("failures {} {}", k[0], k[1]))
            .or_default() += n;
    }
    for (k, n) in series(text, "errlens_retry_attempts_total", &["provider"]) {
        *out.entry(format!("retries {} total", k[0])).or_default() += n;
    }
    for (k, n) in series(text, "errlens_retries_total", &["provider", "kind"]) {
        *out.entry(format!("retries {} {}", k[0], k[1])).or_default() += n;
    }
    out
}

#[test]
fn opentelemetry_python_sdk_exports_to_serve() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("otlp.jsonl");
    let serve = Serve::start(&[]);
    let endpoint = format!("http://{}/v1/logs", serve.addr);
    let kinds = kinds();
    let mut truth = Truth::default();
    let mut seq = 0u64;
    for (run, (encoding, compression, per_kind)) in RUNS.iter().enumerate() {
        // Kinds interleaved; one second apart.
        let mut records = Vec::new();
        for _ in 0..*per_kind {
            for k in &kinds {
                let mut r = json!({
                    "time_ns": T0_NS + seq * 1_000_000_000,
                    "attributes": k.attributes,
                });
                if let Some(b) = &k.body {
                    r["body"] = b.clone();
                }
                records.push(r);
                seq += 1;
                let result = if let Some((p, s, c)) = k.request {
                    let key = vec![p.to_owned(), s.to_owned(), c.to_owned()];
                    *truth.requests.entry(key).or_default() += 1;
                    if let Some((class, error)) = k.failure {
                        let key = vec![p.to_owned(), class.to_owned(), error.to_owned()];
                        *truth.failures.entry(key).or_default() += 1;
                    }
                    "record"
                } else {
                    "malformed"
                };
                *truth.lines.entry(result.to_owned()).or_default() += 1;
            }
        }
        let file = dir.path().join(format!("records-{run}.json"));
        std::fs::write(&file, serde_json::to_vec(&records).unwrap()).unwrap();
        let out = Command::new(&python)
            .arg(script())
            .args(["emit", "--endpoint", &endpoint])
            .args(["--encoding", encoding, "--compression", compression])
            .arg("--records")
            .arg(&file)
            .arg("--jsonl")
            .arg(&jsonl)
            .args(["--batch", "16"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "emit_logs.py ({encoding}, {compression}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(
            summary["records"],
            records.len(),
            "{encoding} {compression}"
        );
        // Batches of at most 16 records: several requests a run.
        let want_batches = records.len().div_ceil(16);
        assert!(
            summary["batches"].as_u64().unwrap() >= want_batches as u64,
            "{summary}"
        );
    }
    // 99 records: 88 API calls of 8 kinds, 11 application log lines.
    assert_eq!(seq, 99);
    let text = serve.metrics();
    assert_eq!(counters(&text), truth, "the counters equal the truth");
    assert_eq!(truth.lines["record"], 88);
    assert_eq!(truth.lines["malformed"], 11);

    // The same records as an OTLP/JSON file, read by `errlens report`.
    let lines = std::fs::read_to_string(&jsonl).unwrap();
    assert!(lines.lines().count() >= 7, "one line an exported batch");
    let r = report(&jsonl);
    assert_eq!(r["inputs"][0]["shape"], "otlp");
    assert_eq!(serve_view(&text), report_view(&r), "serve and report agree");

    // The responses, decoded by the official protobuf classes.
    let out = Command::new(&python)
        .arg(script())
        .args(["probe", "--endpoint", &endpoint])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "emit_logs.py probe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probe: Value = serde_json::from_slice(&out.stdout).unwrap();
    let partial = &probe["partial"];
    assert_eq!(partial["status"], 200, "{probe}");
    assert_eq!(partial["content_type"], "application/x-protobuf");
    assert_eq!(partial["has_partial_success"], true);
    assert_eq!(partial["rejected_log_records"], 1);
    assert!(partial["error_message"]
        .as_str()
        .unwrap()
        .contains("no_status"));
    let bad = &probe["bad"];
    assert_eq!(bad["status"], 400, "{probe}");
    assert_eq!(bad["content_type"], "application/x-protobuf");
    assert_eq!(bad["code"], 3);
    assert!(bad["message"].as_str().unwrap().contains("protobuf"));
    let after = counters(&serve.metrics());
    assert_eq!(after.lines["record"], 88 + 1);
    assert_eq!(after.lines["malformed"], 11 + 1);
    let (records, malformed, blank) = serve.stop();
    assert_eq!((records, malformed, blank), (89, 12, 0));
}

/// The guards of `/ingest` hold for `/v1/logs`: browser-simple content types (and any
/// other than the two OTLP encodings) are refused, a Host outside the allow-list is
/// refused, and `--no-ingest` removes the endpoint.
#[test]
fn v1_logs_is_guarded() {
    use std::io::{Read as _, Write as _};
    let serve = Serve::start(&[]);
    let raw = |addr: &str, host: &str, ct: &str, body: &str| -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(
            format!(
                "POST /v1/logs HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .unwrap();
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply
    };
    let body = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"url.full","value":{"stringValue":"https://api.simkl.com/sync/activities"}},{"key":"http.response.status_code","value":{"intValue":"200"}}]}]}]}]}"#;
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let reply = raw(&serve.addr, "127.0.0.1", ct, body);
        assert!(reply.starts_with("HTTP/1.1 415"), "{ct}: {reply}");
    }
    let reply = raw(
        &serve.addr,
        "attacker.example:9477",
        "application/json",
        body,
    );
    assert!(reply.starts_with("HTTP/1.1 421"), "DNS rebinding: {reply}");
    assert_eq!(serve.sum("errlens_lines_total"), 0.0, "nothing counted");
    let reply = raw(&serve.addr, "localhost", "application/json", body);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("content-type: application/json"), "{reply}");
    assert!(reply.ends_with("\r\n\r\n{}"), "a full success: {reply}");
    assert_eq!(serve.sum("errlens_requests_total"), 1.0);
    let closed = Serve::start(&["--no-ingest"]);
    let reply = raw(&closed.addr, "127.0.0.1", "application/json", body);
    assert!(
        reply.starts_with("HTTP/1.1 404") || reply.starts_with("HTTP/1.1 405"),
        "--no-ingest: {reply}"
    );
}
