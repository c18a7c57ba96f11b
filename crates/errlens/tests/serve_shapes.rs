//! `errlens serve` counts every shape exactly as `errlens report` does: the generated
//! log in each shape `errlens_gen::shapes` writes (and flat), and each spec fixture in
//! `fixtures/shapes/`, both followed as a file and POSTed to `/ingest`; JSON array
//! bodies (Fluent Bit's `format json`, records or `{"log": "…"}` wrappers); `--shape`
//! forcing the shape.
//!
//! What is compared is what both sides define the same way (docs/metrics.md): lines by
//! result, requests by (provider, status, class), failures by (provider, class), hidden
//! failures and status mismatches by provider, requests, 429s and 412s by client
//! (summed), and retries by (provider, judgement) with their totals — a retry is judged
//! when it arrives, by the same state machine, so these are equal exactly. Finished
//! chains are not: `report` closes the chains still open at the end of its input, while
//! a live `serve` cannot know they are finished, so it has counted at most as many.

mod common;

use common::Serve;
use errlens_gen::shapes::{convert, SHAPES};
use errlens_gen::{generate, GenConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The generated log: fixed seed, ~1500 lines, 1% garbage (malformed and blank lines).
const SEED: u64 = 20_261_120;
const LINES: u64 = 1_500;
const GARBAGE_PER_MILLE: u32 = 10;

/// The spec fixtures and their shapes.
const FIXTURES: [(&str, &str); 9] = [
    ("ecs.jsonl", "ecs"),
    ("otlp.jsonl", "otlp"),
    ("caddy.jsonl", "caddy"),
    ("envoy.jsonl", "envoy"),
    ("nginx.jsonl", "nginx"),
    ("traefik.jsonl", "traefik"),
    ("logfmt.log", "logfmt"),
    ("clf.log", "clf"),
    ("sample.har", "har"),
];

const RETRY_KINDS: [&str; 6] = [
    "total",
    "ok",
    "wasted",
    "early",
    "over_limit",
    "post_after_429",
];

/// How long a followed file may take to be counted.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(10);

/// The generated flat log.
fn flat_log() -> String {
    let cfg = GenConfig {
        seed: SEED,
        lines: LINES,
        garbage_per_mille: GARBAGE_PER_MILLE,
        ..GenConfig::default()
    };
    let mut out = Vec::new();
    generate(&cfg, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// A fixture's text without its `#` comment lines.
fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/shapes")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Every input of the test: (name, expected shape, text).
fn generated_inputs() -> Vec<(String, &'static str, String)> {
    let flat = flat_log();
    let mut inputs = vec![("generated flat".to_owned(), "flat", flat.clone())];
    for shape in SHAPES {
        inputs.push((format!("generated {shape}"), shape, convert(&flat, shape)));
    }
    inputs
}

fn fixture_inputs() -> Vec<(String, &'static str, String)> {
    FIXTURES
        .iter()
        .map(|(file, shape)| (format!("fixture {file}"), *shape, fixture(file)))
        .collect()
}

/// `errlens report --format json ARGS FILE`.
fn report(file: &Path, args: &[&str]) -> Value {
    let out = assert_cmd::Command::cargo_bin("errlens")
        .unwrap()
        .arg("report")
        .args(args)
        .args(["--format", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The counts `serve` and `report` define the same way. Zero entries are left out of
/// the maps (the exporter pre-registers some series at 0; the report omits them).
#[derive(Debug, Default, PartialEq)]
struct Counts {
    /// Lines by result: record, malformed, blank.
    lines: BTreeMap<String, u64>,
    /// Requests by (provider, status, class).
    requests: BTreeMap<(String, String, String), u64>,
    /// Failures by (provider, class).
    failures: BTreeMap<(String, String), u64>,
    /// Hidden failures by provider.
    hidden_failures: BTreeMap<String, u64>,
    /// Status mismatches, all providers.
    status_mismatches: u64,
    /// Requests, HTTP 429 and HTTP 412 (by client, summed over clients).
    by_client: [u64; 3],
    /// Retries by (provider, kind), kind `total` or a judgement.
    retries: BTreeMap<(String, String), u64>,
}

fn bump<K: Ord>(m: &mut BTreeMap<K, u64>, k: K, n: u64) {
    if n > 0 {
        *m.entry(k).or_default() += n;
    }
}

fn int(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A report's counts, and its finished chains (recovered, abandoned).
fn report_counts(r: &Value) -> (Counts, [u64; 2]) {
    let mut c = Counts::default();
    for k in ["records", "malformed", "blank"] {
        let name = if k == "records" { "record" } else { k };
        bump(&mut c.lines, name.to_owned(), int(&r[k]));
    }
    let mut failures = 0;
    let mut hidden = 0;
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for g in r["groups"].as_array().unwrap() {
        let p = g["provider"].as_str().unwrap().to_owned();
        let status = int(&g["status"]).to_string();
        let class = g["class"].as_str().unwrap().to_owned();
        let n = int(&g["count"]);
        bump(&mut by_status, status.clone(), n);
        bump(
            &mut c.requests,
            (p.clone(), status.clone(), class.clone()),
            n,
        );
        if g["failure"].as_bool().unwrap() {
            failures += n;
            bump(&mut c.failures, (p.clone(), class), n);
        }
        if g["hidden_failure"].as_bool().unwrap() {
            hidden += n;
            bump(&mut c.hidden_failures, p, n);
        }
        if status == "429" {
            c.by_client[1] += n;
        }
        if status == "412" {
            c.by_client[2] += n;
        }
        c.by_client[0] += n;
    }
    // The report's own totals agree with its groups (so comparing groups compares them).
    let want_status: BTreeMap<String, u64> = r["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), int(v)))
        .filter(|(_, v)| *v > 0)
        .collect();
    assert_eq!(by_status, want_status, "report groups vs by_status");
    assert_eq!(failures, int(&r["failures"]), "report groups vs failures");
    assert_eq!(
        hidden,
        int(&r["hidden_failures"]),
        "report groups vs hidden_failures"
    );
    assert_eq!(
        c.by_client[0],
        int(&r["records"]),
        "report groups vs records"
    );
    c.status_mismatches = int(&r["status_mismatches"]);
    let retries = &r["retries"];
    let mut total_by_kind = BTreeMap::new();
    for (p, counts) in retries["by_provider"].as_object().unwrap() {
        for kind in RETRY_KINDS {
            let n = int(&counts[kind]);
            bump(&mut c.retries, (p.clone(), kind.to_owned()), n);
            bump(&mut total_by_kind, kind, n);
        }
    }
    for kind in RETRY_KINDS {
        assert_eq!(
            total_by_kind.get(kind).copied().unwrap_or(0),
            int(&retries[kind]),
            "report retries.by_provider vs retries.{kind}"
        );
    }
    let chains = [int(&retries["recovered"]), int(&retries["abandoned"])];
    (c, chains)
}

/// One sample of a metric: its labels and value.
type Sample = (BTreeMap<String, String>, f64);

/// Every sample of metric `name` in Prometheus text format.
fn samples(text: &str, name: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (labels, value) = if let Some(body) = rest.strip_prefix('{') {
            let end = body.rfind('}').expect("closing brace");
            (&body[..end], body[end + 1..].trim())
        } else if let Some(v) = rest.strip_prefix(' ') {
            ("", v.trim())
        } else {
            continue; // another metric whose name starts with `name`
        };
        let mut map = BTreeMap::new();
        let mut s = labels;
        while let Some(eq) = s.find("=\"") {
            let key = s[..eq].trim_start_matches(',').to_owned();
            let mut val = String::new();
            let mut chars = s[eq + 2..].char_indices();
            let mut end = 0;
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '\\' => {
                        if let Some((_, e)) = chars.next() {
                            val.push(match e {
                                'n' => '\n',
                                other => other,
                            });
                        }
                    }
                    '"' => {
                        end = eq + 2 + i + 1;
                        break;
                    }
                    other => val.push(other),
                }
            }
            map.insert(key, val);
            s = &s[end..];
        }
        out.push((map, value.parse().expect("a sample value")));
    }
    out
}

fn count(v: f64) -> u64 {
    assert!(v >= 0.0 && v.fract() == 0.0, "not a count: {v}");
    v as u64
}

/// The counts in a `/metrics` text, and its finished chains (recovered, abandoned).
fn serve_counts(text: &str) -> (Counts, [u64; 2]) {
    let mut c = Counts::default();
    for (l, v) in samples(text, "errlens_lines_total") {
        bump(&mut c.lines, l["result"].clone(), count(v));
    }
    for (l, v) in samples(text, "errlens_requests_total") {
        let key = (
            l["provider"].clone(),
            l["status"].clone(),
            l["class"].clone(),
        );
        bump(&mut c.requests, key, count(v));
    }
    for (l, v) in samples(text, "errlens_failures_total") {
        let key = (l["provider"].clone(), l["class"].clone());
        bump(&mut c.failures, key, count(v));
    }
    for (l, v) in samples(text, "errlens_hidden_failures_total") {
        bump(&mut c.hidden_failures, l["provider"].clone(), count(v));
    }
    for (_, v) in samples(text, "errlens_status_mismatches_total") {
        c.status_mismatches += count(v);
    }
    for (i, name) in [
        "errlens_requests_by_client_total",
        "errlens_rate_limited_by_client_total",
        "errlens_client_id_failed_by_client_total",
    ]
    .into_iter()
    .enumerate()
    {
        for (_, v) in samples(text, name) {
            c.by_client[i] += count(v);
        }
    }
    for (l, v) in samples(text, "errlens_retry_attempts_total") {
        let key = (l["provider"].clone(), "total".to_owned());
        bump(&mut c.retries, key, count(v));
    }
    for (l, v) in samples(text, "errlens_retries_total") {
        let key = (l["provider"].clone(), l["kind"].clone());
        bump(&mut c.retries, key, count(v));
    }
    let mut chains = [0, 0];
    for (l, v) in samples(text, "errlens_retry_chains_total") {
        let i = usize::from(l["outcome"] == "abandoned");
        chains[i] += count(v);
    }
    (c, chains)
}

/// Compares a `serve`'s metrics with a report; returns the differences, one per line.
fn compare(what: &str, report: &Value, metrics: &str) -> Vec<String> {
    let (want, want_chains) = report_counts(report);
    let (got, got_chains) = serve_counts(metrics);
    let mut diffs = Vec::new();
    macro_rules! field {
        ($f:ident) => {
            if got.$f != want.$f {
                diffs.push(format!(
                    "{what}: {}: serve {:?} != report {:?}",
                    stringify!($f),
                    got.$f,
                    want.$f
                ));
            }
        };
    }
    field!(lines);
    field!(requests);
    field!(failures);
    field!(hidden_failures);
    field!(status_mismatches);
    field!(by_client);
    field!(retries);
    // Finished chains: `serve` has not closed the chains still open at its end.
    if got_chains[0] > want_chains[0] || got_chains[1] > want_chains[1] {
        diffs.push(format!(
            "{what}: finished chains (recovered, abandoned): serve {got_chains:?} > report {want_chains:?}"
        ));
    }
    diffs
}

/// The report of `text` written to a file in `dir`, checking the shape it detected.
fn report_of(dir: &Path, name: &str, shape: &str, text: &str) -> (std::path::PathBuf, Value) {
    let file = dir.join(name.replace(' ', "_"));
    std::fs::write(&file, text).unwrap();
    let r = report(&file, &[]);
    assert_eq!(
        r["inputs"][0]["shape"], shape,
        "{name}: report detected {}",
        r["inputs"][0]
    );
    assert!(int(&r["records"]) > 0, "{name}: no records");
    (file, r)
}

/// Follows the file from its start (with `serve ARGS`) until its lines are counted;
/// returns the metrics.
fn follow(file: &Path, report: &Value, args: &[&str]) -> String {
    let mut all = vec![
        "--follow",
        file.to_str().unwrap(),
        "--from-start",
        "--poll-interval",
        "20ms",
    ];
    all.extend_from_slice(args);
    let serve = Serve::start(&all);
    let lines =
        (int(&report["records"]) + int(&report["malformed"]) + int(&report["blank"])) as f64;
    let records = int(&report["records"]) as f64;
    let deadline = Instant::now() + FOLLOW_TIMEOUT;
    let (mut last, mut stable) = (-1.0, 0);
    loop {
        let text = serve.metrics();
        let counted = common::metric_sum(&text, "errlens_lines_total{result=\"record\"}");
        let total = common::metric_sum(&text, "errlens_lines_total");
        if counted == records && total == lines {
            break;
        }
        // Counted otherwise than the report (more lines, or different ones), and done.
        stable = if total == last { stable + 1 } else { 0 };
        last = total;
        if (total >= lines && stable >= 10) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // A few more polls: nothing may be counted twice.
    std::thread::sleep(Duration::from_millis(100));
    serve.metrics()
}

/// POSTs `body` to the `/ingest` of a fresh `serve ARGS`; returns the reply and metrics.
fn ingest(args: &[&str], body: &[u8]) -> (u16, Value, String) {
    let serve = Serve::start(args);
    let (status, reply) = serve.post("/ingest", body);
    let reply: Value = serde_json::from_str(&reply)
        .unwrap_or_else(|e| panic!("/ingest reply is JSON ({e}): {reply}"));
    (status, reply, serve.metrics())
}

/// The `/ingest` reply's counts against the report's.
fn check_reply(what: &str, status: u16, reply: &Value, report: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    for k in ["records", "malformed", "blank"] {
        if reply[k] != report[k] {
            diffs.push(format!(
                "{what}: /ingest reply {k}: {} != report {}",
                reply[k], report[k]
            ));
        }
    }
    let want = if int(&report["malformed"]) > 0 {
        400
    } else {
        200
    };
    if status != want {
        diffs.push(format!(
            "{what}: /ingest status {status} != {want}: {reply}"
        ));
    }
    diffs
}

fn assert_none(diffs: Vec<String>) {
    assert!(
        diffs.is_empty(),
        "serve and report disagree:\n{}",
        diffs.join("\n")
    );
}

/// Every input followed, then POSTed, each against its report.
fn serve_equals_report(inputs: Vec<(String, &'static str, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut diffs = Vec::new();
    for (name, shape, text) in inputs {
        let (file, r) = report_of(dir.path(), &name, shape, &text);

        // A followed HAR file is read as a document once it is whole, not as lines.
        let metrics = follow(&file, &r, &[]);
        diffs.extend(compare(&format!("{name} (followed)"), &r, &metrics));

        // The same bytes as one /ingest body (a HAR body is the whole document).
        let (status, reply, metrics) = ingest(&[], text.as_bytes());
        let what = format!("{name} (POST /ingest)");
        diffs.extend(check_reply(&what, status, &reply, &r));
        diffs.extend(compare(&what, &r, &metrics));
    }
    assert_none(diffs);
}

#[test]
fn generated_log_in_every_shape_serve_equals_report() {
    serve_equals_report(generated_inputs());
}

#[test]
fn spec_fixtures_serve_equals_report() {
    serve_equals_report(fixture_inputs());
}

/// Fluent Bit's `format json`: `[{"date": 1700000000.1, …record…}, …]`, and its
/// wrapper of a raw line, `[{"date": …, "log": "<raw line>"}, …]`.
#[test]
fn ingest_json_array_bodies_count_like_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let flat = flat_log();
    let (_, flat_report) = report_of(dir.path(), "flat", "flat", &flat);
    let mut diffs = Vec::new();

    // Records as objects: the generated log's JSON lines, with Fluent Bit's `date`.
    // Its garbage lines that are valid JSON stay elements; the others cannot be.
    let mut records = Vec::new();
    let mut dropped = 0u64;
    for (i, line) in flat.lines().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(mut o)) => {
                o.insert("date".into(), (1_700_000_000.1 + i as f64).into());
                records.push(Value::Object(o));
            }
            _ => dropped += 1,
        }
    }
    let ndjson: String = records.iter().map(|v| format!("{v}\n")).collect();
    let (_, ndjson_report) = report_of(dir.path(), "objects", "flat", &ndjson);
    assert!(dropped > 0 && int(&ndjson_report["malformed"]) > 0);
    assert_eq!(
        int(&ndjson_report["records"]),
        int(&flat_report["records"]),
        "`date` changes nothing"
    );
    let body = serde_json::to_vec(&records).unwrap();
    let (status, reply, metrics) = ingest(&[], &body);
    diffs.extend(check_reply(
        "array of records",
        status,
        &reply,
        &ndjson_report,
    ));
    diffs.extend(compare("array of records", &ndjson_report, &metrics));

    // The same body as NDJSON counts the same.
    let (_, _, ndjson_metrics) = ingest(&[], ndjson.as_bytes());
    if serve_counts(&ndjson_metrics) != serve_counts(&metrics) {
        diffs.push("array of records: counted unlike the same NDJSON body".to_owned());
    }

    // Raw lines wrapped: every line of the flat log (garbage and blank lines included),
    // and lines of text shapes, which only the wrapper can carry in JSON.
    for (name, shape, text) in [
        ("wrapped flat", "flat", flat.clone()),
        ("wrapped logfmt", "logfmt", fixture("logfmt.log")),
        ("wrapped clf", "clf", fixture("clf.log")),
        ("wrapped ecs", "ecs", convert(&flat, "ecs")),
    ] {
        let (_, r) = report_of(dir.path(), name, shape, &text);
        let body: Vec<Value> = text
            .lines()
            .enumerate()
            .map(|(i, l)| serde_json::json!({"date": 1_700_000_000.25 + i as f64, "log": l}))
            .collect();
        let (status, reply, metrics) = ingest(&[], &serde_json::to_vec(&body).unwrap());
        diffs.extend(check_reply(name, status, &reply, &r));
        diffs.extend(compare(name, &r, &metrics));
        // The bare wrapper, `{"log": "…"}`, with a trailing newline in the line.
        let bare: Vec<Value> = text
            .lines()
            .map(|l| serde_json::json!({"log": format!("{l}\n")}))
            .collect();
        let what = format!("{name} (bare)");
        let (status, reply, metrics) = ingest(&[], &serde_json::to_vec(&bare).unwrap());
        diffs.extend(check_reply(&what, status, &reply, &r));
        diffs.extend(compare(&what, &r, &metrics));
    }
    assert_none(diffs);
}

#[test]
fn forced_shape_reads_every_line_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let flat_line = r#"{"ts":1795168800,"method":"GET","url":"https://api.simkl.com/sync/activities","status":429,"client_id":"c1","retry_after":5}"#;
    let ecs_line = r#"{"@timestamp":"2026-11-20T10:00:01Z","http":{"request":{"method":"GET"},"response":{"status_code":412}},"url":{"full":"https://api.simkl.com/sync/all-items"},"client":{"id":"c1"}}"#;
    let text = format!("{ecs_line}\n{flat_line}\n{ecs_line}\n");

    // Detected: the flat line is read by its own shape.
    let (file, detected) = report_of(dir.path(), "mixed", "mixed", &text);
    assert_eq!(
        detected["inputs"][0]["shapes"],
        serde_json::json!({"ecs": 2, "flat": 1})
    );
    assert_eq!(
        (int(&detected["records"]), int(&detected["malformed"])),
        (3, 0)
    );
    let (status, reply, metrics) = ingest(&[], text.as_bytes());
    let mut diffs = check_reply("mixed, detected", status, &reply, &detected);
    diffs.extend(compare("mixed, detected", &detected, &metrics));

    // Forced: the flat line is malformed (no usable HTTP status where ECS keeps it).
    let forced = report(&file, &["--shape", "ecs"]);
    assert_eq!((int(&forced["records"]), int(&forced["malformed"])), (2, 1));
    let (status, reply, metrics) = ingest(&["--shape", "ecs"], text.as_bytes());
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["errors"][0]["line"], 2, "{reply}");
    diffs.extend(check_reply("mixed, --shape ecs", status, &reply, &forced));
    diffs.extend(compare("mixed, --shape ecs (POST)", &forced, &metrics));
    let metrics = follow(&file, &forced, &["--shape", "ecs"]);
    diffs.extend(compare("mixed, --shape ecs (followed)", &forced, &metrics));
    assert_none(diffs);
}

/// An NDJSON body whose first line happens to be a JSON array (`[1,2,3]` is one of the
/// generator's garbage lines) is still NDJSON: `report` reads the file as lines.
#[test]
fn ingest_ndjson_body_whose_first_line_is_an_array() {
    let dir = tempfile::tempdir().unwrap();
    let flat = flat_log();
    let text = format!("[1,2,3]\n{flat}");
    let (_, r) = report_of(dir.path(), "array first", "flat", &text);
    assert_eq!(
        int(&r["malformed"]),
        1 + int(&report_of(dir.path(), "flat", "flat", &flat).1["malformed"])
    );
    let (status, reply, metrics) = ingest(&[], text.as_bytes());
    // A body is a JSON array only when the whole body is one: an NDJSON body whose
    // first line is an array is read line by line, as `report` reads the file.
    let mut diffs = check_reply("NDJSON body, first line an array", status, &reply, &r);
    diffs.extend(compare("NDJSON body, first line an array", &r, &metrics));
    assert_none(diffs);
}
