//! End to end: `errlens report --format json` on generated logs, against counts that an
//! independent oracle in this file computes from the spec (over `serde_json::Value`,
//! sharing no code with errlens).

use assert_cmd::Command;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A small deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

const SIMKL_IDS: [(u16, &str); 12] = [
    (400, "empty_field"),
    (400, "RATE_LIMIT"),
    (401, "user_token_failed"),
    (403, "forbidden"),
    (404, "id_err"),
    (409, "already_watched"),
    (412, "client_id_failed"),
    (429, "rate_limit"),
    (429, "user_limit_exceeded"),
    (500, "internal"),
    (502, "made_up_error"),
    (503, "overloaded_new"),
];
const SIMKL_STATUS: [u16; 16] = [
    200, 201, 204, 302, 400, 401, 403, 404, 409, 412, 429, 500, 502, 503, 504, 418,
];
const TMDB_HTTP: [u16; 47] = [
    200, 501, 401, 405, 422, 404, 401, 403, 503, 401, 500, 201, 200, 401, 500, 401, 401, 400, 406,
    422, 200, 400, 400, 504, 429, 400, 400, 400, 400, 401, 401, 401, 401, 404, 401, 401, 404, 401,
    401, 200, 422, 405, 502, 500, 403, 503, 400,
];

fn gen_line(r: &mut Rng) -> Vec<u8> {
    let ts_keys = ["ts", "time", "timestamp", "@timestamp"];
    let lat_keys = ["latency_ms", "duration_ms", "elapsed_ms"];
    let mut o = serde_json::Map::new();
    let ts = 1_795_168_800 + r.below(86_400);
    match r.below(4) {
        0 => o.insert(
            r.pick(&ts_keys).to_string(),
            json!(format!(
                "2026-11-20T{:02}:{:02}:{:02}Z",
                ts % 24,
                ts % 60,
                ts % 59
            )),
        ),
        1 => o.insert(r.pick(&ts_keys).to_string(), json!(ts)),
        2 => o.insert(
            r.pick(&ts_keys).to_string(),
            json!(ts * 1000 + r.below(1000)),
        ),
        _ => None,
    };
    o.insert(
        "method".into(),
        json!(*r.pick(&["GET", "GET", "POST", "DELETE"])),
    );
    o.insert(r.pick(&lat_keys).to_string(), json!(r.below(5000)));
    if r.chance(60) {
        o.insert("client_id".into(), json!(format!("app-{}", r.below(7))));
    }
    if r.chance(30) {
        o.insert("attempt".into(), json!(1 + r.below(8)));
    }
    let put_status = |o: &mut serde_json::Map<String, Value>, r: &mut Rng, s: u16| {
        let key = if r.chance(20) {
            "http_status"
        } else {
            "status"
        };
        let v = if r.chance(15) {
            json!(s.to_string())
        } else {
            json!(s)
        };
        o.insert(key.into(), v);
    };
    match r.below(10) {
        // Simkl by host.
        0..=3 => {
            let host = if r.chance(80) {
                "api.simkl.com"
            } else {
                "api.simkl.org"
            };
            if r.chance(70) {
                o.insert(
                    "url".into(),
                    json!(format!("https://{host}/sync/x/{}", r.below(100))),
                );
            } else {
                o.insert("host".into(), json!(host));
                o.insert("path".into(), json!("/sync/activities"));
            }
            let (status, err) = if r.chance(50) {
                let (s, e) = *r.pick(&SIMKL_IDS);
                (s, Some(e))
            } else {
                (*r.pick(&SIMKL_STATUS), None)
            };
            put_status(&mut o, r, status);
            if let Some(e) = err {
                o.insert("error".into(), json!(e));
                let code = if r.chance(10) { 429 } else { status };
                o.insert("code".into(), json!(code));
            }
        }
        // Simkl envelope only (code is the status).
        4 => {
            let (s, e) = *r.pick(&SIMKL_IDS);
            o.insert("error".into(), json!(e));
            o.insert("code".into(), json!(s));
        }
        // TMDB by host or by envelope.
        5..=7 => {
            if r.chance(75) {
                o.insert(
                    "url".into(),
                    json!(format!(
                        "https://api.themoviedb.org/3/movie/{}",
                        r.below(1000)
                    )),
                );
            }
            match r.below(10) {
                0..=6 => {
                    let code = 1 + r.below(49); // 48, 49: unknown codes
                    let http = if code <= 47 && !r.chance(5) {
                        TMDB_HTTP[code as usize - 1]
                    } else {
                        *r.pick(&[200, 404, 500])
                    };
                    put_status(&mut o, r, http);
                    o.insert("status_code".into(), json!(code));
                    o.insert("success".into(), json!(matches!(code, 1 | 12 | 13 | 40)));
                    o.insert("status_message".into(), json!("msg"));
                }
                7 => {
                    put_status(&mut o, r, 422);
                    o.insert("errors".into(), json!(["bad query"]));
                }
                _ => {
                    let s = *r.pick(&[200, 429, 500, 503]);
                    put_status(&mut o, r, s)
                }
            }
            if !o.contains_key("url") && !o.contains_key("status_code") && !o.contains_key("errors")
            {
                o.insert("success".into(), json!(true));
            }
        }
        // Unknown provider.
        8 => {
            o.insert("url".into(), json!("https://cdn.example.com/x"));
            let s = *r.pick(&[200, 301, 404, 429, 500, 503, 504, 599]);
            put_status(&mut o, r, s);
        }
        // Garbage of every kind.
        _ => {
            return match r.below(10) {
                0 => b"".to_vec(),
                1 => b"   \t".to_vec(),
                2 => b"not json at all".to_vec(),
                3 => b"[1,2]".to_vec(),
                4 => br#"{"status":"OK"}"#.to_vec(),
                5 => br#"{"status":200"#.to_vec(),
                6 => b"{\"status\":200,\"client_id\":\"\xff\"}".to_vec(),
                7 => b"{\"status\":200}\x00".to_vec(),
                8 => br#"{"status_code":25,"success":false}"#.to_vec(),
                _ => br#"{"status":700}"#.to_vec(),
            };
        }
    }
    let mut line = serde_json::to_vec(&Value::Object(o)).unwrap();
    if r.chance(5) {
        line.push(b'\r');
    }
    line
}

// ---------------------------------------------------------------- the oracle

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn http(v: Option<&Value>) -> Option<i64> {
    v.and_then(int).filter(|s| (100..=599).contains(s))
}

/// (provider, status, error, tmdb_code) → (count, failure, retryable).
type Groups = BTreeMap<(String, u64, Option<String>, Option<i64>), (u64, bool, bool)>;

#[derive(Default, Debug)]
struct Expected {
    records: u64,
    malformed: u64,
    blank: u64,
    failures: u64,
    hidden: u64,
    mismatches: u64,
    by_status: BTreeMap<String, u64>,
    groups: Groups,
}

fn oracle(lines: &[Vec<u8>]) -> Expected {
    let mut e = Expected::default();
    for raw in lines {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            e.blank += 1;
            continue;
        }
        let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(raw) else {
            e.malformed += 1;
            continue;
        };
        let logged = http(o.get("status")).or_else(|| http(o.get("http_status")));
        let Some(status) = logged.or_else(|| http(o.get("code"))) else {
            e.malformed += 1;
            continue;
        };
        e.records += 1;
        let host = o
            .get("host")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                o.get("url")
                    .and_then(Value::as_str)
                    .and_then(|u| u.split("://").nth(1))
                    .map(|r| r.split('/').next().unwrap().to_owned())
            });
        let error = o.get("error").and_then(Value::as_str).map(str::to_owned);
        let tcode = o.get("status_code").and_then(int);
        let provider = match host.as_deref() {
            Some("api.simkl.com" | "api.simkl.org") => "simkl",
            Some("api.themoviedb.org") => "tmdb",
            _ if tcode.is_some() => "tmdb",
            _ if error.is_some() || o.get("code").and_then(int).is_some() => "simkl",
            _ if o.contains_key("success")
                || o.contains_key("errors")
                || o.contains_key("status_message") =>
            {
                "tmdb"
            }
            _ => "unknown",
        };
        let ok_http = (200..400).contains(&status);
        let (failure, retryable, mismatch) = match (provider, tcode) {
            ("simkl", _) => {
                let code = o.get("code").and_then(int);
                // Simkl's retryable statuses; outside its table (504, 520-524) the
                // generic set decides; a daily quota (`user_limit_exceeded`) is never
                // retryable before its reset.
                let in_table = [
                    200, 201, 204, 302, 400, 401, 403, 404, 409, 412, 429, 500, 502, 503,
                ]
                .contains(&status);
                let retryable = if in_table {
                    [429, 500, 502, 503].contains(&status)
                        && !(status == 429 && error.as_deref() == Some("user_limit_exceeded"))
                } else {
                    [429, 500, 502, 503, 504, 520, 521, 522, 523, 524].contains(&status)
                };
                (
                    !ok_http,
                    retryable,
                    logged.is_some() && code.is_some_and(|c| c != status),
                )
            }
            ("tmdb", Some(c)) if (1..=47).contains(&c) => (
                ![1, 12, 13, 40].contains(&c),
                [9, 11, 15, 24, 25, 43, 46].contains(&c),
                TMDB_HTTP[c as usize - 1] as i64 != status,
            ),
            _ => (
                !ok_http,
                [429, 500, 502, 503, 504, 520, 521, 522, 523, 524].contains(&status),
                false,
            ),
        };
        e.failures += u64::from(failure);
        e.hidden += u64::from(failure && status < 400);
        e.mismatches += u64::from(mismatch);
        *e.by_status.entry(status.to_string()).or_default() += 1;
        let key = (
            provider.to_owned(),
            status as u64,
            if provider == "tmdb" { None } else { error },
            if provider == "tmdb" { tcode } else { None },
        );
        let g = e.groups.entry(key).or_insert((0, failure, retryable));
        g.0 += 1;
    }
    e
}

fn run_errlens(lines: &[Vec<u8>]) -> Value {
    let mut input = Vec::new();
    for l in lines {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    let out = Command::cargo_bin("errlens")
        .unwrap()
        .args(["report", "-", "--format", "json"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(seed: u64, n: usize) {
    let mut rng = Rng(seed);
    let lines: Vec<Vec<u8>> = (0..n).map(|_| gen_line(&mut rng)).collect();
    let want = oracle(&lines);
    let got = run_errlens(&lines);
    let u = |k: &str| got[k].as_u64().unwrap();
    assert_eq!(u("records"), want.records, "records (seed {seed})");
    assert_eq!(u("malformed"), want.malformed, "malformed (seed {seed})");
    assert_eq!(u("blank"), want.blank, "blank (seed {seed})");
    assert_eq!(u("failures"), want.failures, "failures (seed {seed})");
    assert_eq!(u("hidden_failures"), want.hidden, "hidden (seed {seed})");
    assert_eq!(
        u("status_mismatches"),
        want.mismatches,
        "mismatches (seed {seed})"
    );
    let by_status: BTreeMap<String, u64> =
        serde_json::from_value(got["by_status"].clone()).unwrap();
    assert_eq!(by_status, want.by_status, "by_status (seed {seed})");
    let mut groups = BTreeMap::new();
    for g in got["groups"].as_array().unwrap() {
        let key = (
            g["provider"].as_str().unwrap().to_owned(),
            g["status"].as_u64().unwrap(),
            g["error"].as_str().map(str::to_owned),
            g["tmdb_code"].as_i64(),
        );
        let val = (
            g["count"].as_u64().unwrap(),
            g["failure"].as_bool().unwrap(),
            g["retryable"].as_bool().unwrap(),
        );
        assert!(groups.insert(key, val).is_none(), "duplicate group");
    }
    assert_eq!(groups, want.groups, "groups (seed {seed})");
    assert_eq!(
        lines.len() as u64,
        want.records + want.malformed + want.blank,
        "every line accounted"
    );
    assert!(
        want.malformed > 0 && want.hidden > 0 && want.mismatches > 0,
        "generator covers the edge cases"
    );
}

#[test]
fn report_matches_oracle_on_generated_logs() {
    for seed in [1, 2, 3, 0x5eed] {
        check(seed, 4000);
    }
}

#[test]
fn shipped_fixture_matches_oracle() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/logs/sample.jsonl"
    );
    let text = std::fs::read(path).unwrap();
    let lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    let lines = &lines[..lines.len() - usize::from(text.ends_with(b"\n"))];
    let want = oracle(lines);
    let got = run_errlens(lines);
    assert_eq!(got["records"].as_u64(), Some(want.records));
    assert_eq!(got["malformed"].as_u64(), Some(want.malformed));
    assert_eq!(got["failures"].as_u64(), Some(want.failures));
    assert_eq!(got["hidden_failures"].as_u64(), Some(want.hidden));
    assert_eq!(got["status_mismatches"].as_u64(), Some(want.mismatches));
}
