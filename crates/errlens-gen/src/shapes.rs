//! The generated log in every shape errlens reads: each flat line rewritten as ECS,
//! OTLP, Caddy, Envoy, nginx, Traefik, HAR or logfmt, field by field, from the shapes'
//! public field names (not from errlens' reading code), for the property test that
//! every shape gives the flat log's report and for the per-shape benchmarks.
//!
//! A shape that cannot carry a field (Caddy logs no response body, HAR no attempt
//! number) drops it; [`reference`] drops the same fields from the flat line, so the
//! two logs hold the same information. Lines that are not records (garbage) are kept
//! as they are, except in a HAR document, which has no room for them.

use serde_json::{json, Map, Value};

/// The shapes this module writes.
pub const SHAPES: [&str; 9] = [
    "ecs", "otlp", "caddy", "envoy", "nginx", "traefik", "har", "logfmt", "clf",
];

/// The envelope's fields: a shape without a response body drops them all.
const ENVELOPE: &[&str] = &[
    "error",
    "code",
    "message",
    "status_code",
    "status_message",
    "success",
    "errors",
];

/// Whether `shape` cannot carry the flat field `key`.
fn dropped(shape: &str, key: &str) -> bool {
    let (attempt, envelope) = match shape {
        "caddy" => (true, true),
        "envoy" | "nginx" | "traefik" => (false, true),
        "har" => (true, false),
        _ => (false, false),
    };
    (attempt && key == "attempt") || (envelope && ENVELOPE.contains(&key))
}

/// A flat line as a record object, when it is one (garbage is not).
fn record(line: &str) -> Option<Map<String, Value>> {
    let v: Value = serde_json::from_str(line).ok()?;
    let o = v.as_object()?;
    let status_ok = o
        .get("status")
        .and_then(Value::as_i64)
        .is_some_and(|s| (100..=599).contains(&s));
    (status_ok && o.get("url").is_some_and(Value::is_string)).then(|| o.clone())
}

/// The flat log as the reference for `shape`: the fields it cannot carry removed (and
/// garbage removed for HAR).
pub fn reference(flat: &str, shape: &str) -> String {
    let mut out = String::new();
    for line in flat.lines() {
        match record(line) {
            Some(mut o) => {
                o.retain(|k, _| !dropped(shape, k));
                out.push_str(&Value::Object(o).to_string());
            }
            None if shape == "har" => continue,
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The flat log in `shape`. OTLP lines batch up to four consecutive records; HAR is
/// one document.
pub fn convert(flat: &str, shape: &str) -> String {
    let mut out = String::new();
    let mut batch: Vec<Value> = Vec::new();
    let mut entries: Vec<Value> = Vec::new();
    let flush = |batch: &mut Vec<Value>, out: &mut String| {
        if !batch.is_empty() {
            out.push_str(&otlp_batch(std::mem::take(batch)).to_string());
            out.push('\n');
        }
    };
    for (i, line) in flat.lines().enumerate() {
        let Some(o) = record(line) else {
            flush(&mut batch, &mut out);
            if shape != "har" {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        };
        let f = Flat::of(&o);
        match shape {
            "otlp" => {
                batch.push(otlp_record(&f));
                if batch.len() == 4 {
                    flush(&mut batch, &mut out);
                }
                continue;
            }
            "har" => {
                entries.push(har_entry(&f));
                continue;
            }
            _ => {}
        }
        let text = match shape {
            "ecs" => ecs(&f, i % 2 == 0).to_string(),
            "caddy" => caddy(&f).to_string(),
            "envoy" => envoy(&f, i % 2 == 0).to_string(),
            "nginx" => nginx(&f).to_string(),
            "traefik" => traefik(&f).to_string(),
            "logfmt" => logfmt(&f),
            "clf" => clf(&f),
            other => panic!("unknown shape {other}"),
        };
        out.push_str(&text);
        out.push('\n');
    }
    flush(&mut batch, &mut out);
    if shape == "har" {
        let doc = json!({"log": {"version": "1.2", "creator": {"name": "errlens-gen", "version": "1"}, "entries": entries}});
        out = serde_json::to_string_pretty(&doc).expect("a value serializes");
        out.push('\n');
    }
    out
}

/// The fields of one flat record.
struct Flat<'a> {
    o: &'a Map<String, Value>,
    ts_ms: i64,
    ts: String,
    url: &'a str,
    host: &'a str,
    uri: &'a str,
    status: i64,
    latency: f64,
}

impl<'a> Flat<'a> {
    fn of(o: &'a Map<String, Value>) -> Flat<'a> {
        let ts = o.get("ts").and_then(Value::as_str).unwrap_or("");
        let url = o.get("url").and_then(Value::as_str).unwrap_or("");
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let (host, uri) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        Flat {
            o,
            ts_ms: rfc3339_ms(ts),
            ts: ts.to_owned(),
            url,
            host,
            uri,
            status: o["status"].as_i64().unwrap_or(0),
            latency: o.get("latency_ms").and_then(Value::as_f64).unwrap_or(0.0),
        }
    }
    fn get(&self, k: &str) -> Option<&'a Value> {
        self.o.get(k)
    }
    fn str(&self, k: &str) -> Option<&'a str> {
        self.o.get(k).and_then(Value::as_str)
    }
    /// The envelope fields, as the response body would hold them.
    fn envelope(&self) -> Option<String> {
        let mut env = Map::new();
        for &k in ENVELOPE {
            if let Some(v) = self.o.get(k) {
                env.insert(k.to_owned(), v.clone());
            }
        }
        (!env.is_empty()).then(|| Value::Object(env).to_string())
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (the generator's format) as Unix ms.
fn rfc3339_ms(s: &str) -> i64 {
    let n = |a: usize, b: usize| s.get(a..b).and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (hh, mm, ss, ms) = (n(11, 13), n(14, 16), n(17, 19), n(20, 23));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms
}

fn ecs(f: &Flat<'_>, nested: bool) -> Value {
    let mut labels = Map::new();
    if let Some(c) = f.str("client_id") {
        labels.insert("client_id".into(), json!(c));
    }
    // ECS labels are keyword strings.
    if let Some(a) = f.get("attempt") {
        labels.insert("attempt".into(), json!(a.to_string()));
    }
    if let Some(r) = f.get("retry_after") {
        labels.insert("retry_after".into(), json!(r.to_string()));
    }
    let duration_ns = (f.latency * 1e6).round() as i64;
    if nested {
        let mut response = json!({"status_code": f.status});
        if let Some(env) = f.envelope() {
            response["body"] = json!({"content": env});
        }
        json!({
            "@timestamp": f.ts,
            "ecs": {"version": "8.11.0"},
            "event": {"duration": duration_ns, "kind": "event"},
            "http": {"request": {"method": f.str("method")}, "response": response},
            "url": {"full": f.url},
            "labels": labels,
        })
    } else {
        // The same document with dotted keys, as some shippers flatten it.
        let mut o = Map::new();
        o.insert("@timestamp".into(), json!(f.ts));
        o.insert("ecs.version".into(), json!("8.11.0"));
        o.insert("event.duration".into(), json!(duration_ns));
        o.insert("http.request.method".into(), json!(f.str("method")));
        o.insert("http.response.status_code".into(), json!(f.status));
        if let Some(env) = f.envelope() {
            o.insert("http.response.body.content".into(), json!(env));
        }
        o.insert("url.domain".into(), json!(f.host));
        o.insert(
            "url.path".into(),
            json!(f.uri.split('?').next().unwrap_or("/")),
        );
        o.insert("url.full".into(), json!(f.url));
        for (k, v) in labels {
            o.insert(format!("labels.{k}"), v);
        }
        Value::Object(o)
    }
}

fn otlp_record(f: &Flat<'_>) -> Value {
    let s = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
    let mut attrs = vec![
        s("http.request.method", f.str("method").unwrap_or("GET")),
        s("url.full", f.url),
        json!({"key": "http.response.status_code", "value": {"intValue": f.status.to_string()}}),
        json!({"key": "http.client.request.duration", "value": {"doubleValue": f.latency / 1000.0}}),
    ];
    if let Some(c) = f.str("client_id") {
        attrs.push(s("client_id", c));
    }
    if let Some(a) = f.get("attempt").and_then(Value::as_i64) {
        attrs.push(
            json!({"key": "http.request.resend_count", "value": {"intValue": (a - 1).to_string()}}),
        );
    }
    if let Some(r) = f.get("retry_after") {
        attrs.push(json!({"key": "http.response.header.retry-after", "value": {"arrayValue": {"values": [{"stringValue": r.to_string()}]}}}));
    }
    let mut rec = json!({
        "timeUnixNano": (i128::from(f.ts_ms) * 1_000_000).to_string(),
        "severityNumber": 9,
        "severityText": "INFO",
        "attributes": attrs,
    });
    if let Some(env) = f.envelope() {
        rec["body"] = json!({"stringValue": env});
    }
    rec
}

fn otlp_batch(records: Vec<Value>) -> Value {
    json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "sync-service"}}]},
        "scopeLogs": [{"scope": {"name": "errlens-gen"}, "logRecords": records}]
    }]})
}

fn caddy(f: &Flat<'_>) -> Value {
    let mut headers = Map::new();
    if let Some(c) = f.str("client_id") {
        headers.insert("Simkl-Api-Key".into(), json!([c]));
    }
    let mut resp = Map::new();
    resp.insert("Content-Type".into(), json!(["application/json"]));
    if let Some(r) = f.get("retry_after") {
        resp.insert("Retry-After".into(), json!([r.to_string()]));
    }
    json!({
        "level": "info",
        "ts": f.ts_ms as f64 / 1000.0,
        "logger": "http.log.access",
        "msg": "handled request",
        "request": {"remote_ip": "10.0.0.7", "proto": "HTTP/2.0", "method": f.str("method"), "host": f.host, "uri": f.uri, "headers": headers},
        "bytes_read": 0,
        "duration": f.latency / 1000.0,
        "size": 512,
        "status": f.status,
        "resp_headers": resp,
    })
}

fn envoy(f: &Flat<'_>, as_string: bool) -> Value {
    let mut o = json!({
        "start_time": f.ts,
        "method": f.str("method"),
        "path": f.uri,
        "protocol": "HTTP/1.1",
        "response_code": if as_string { json!(f.status.to_string()) } else { json!(f.status) },
        "response_flags": "-",
        "bytes_received": 0,
        "bytes_sent": 512,
        "duration": f.latency,
        "authority": f.host,
        "upstream_host": "10.0.0.9:443",
    });
    for k in ["client_id", "attempt", "retry_after"] {
        if let Some(v) = f.get(k) {
            o[k] = v.clone();
        }
    }
    o
}

fn nginx(f: &Flat<'_>) -> Value {
    let mut o = json!({
        "msec": format!("{}.{:03}", f.ts_ms.div_euclid(1000), f.ts_ms.rem_euclid(1000)),
        "remote_addr": "10.0.0.7",
        "request_method": f.str("method"),
        "http_host": f.host,
        "request_uri": f.uri,
        "status": f.status.to_string(),
        "body_bytes_sent": "512",
        "request_time": format!("{:.3}", f.latency / 1000.0),
    });
    if let Some(c) = f.str("client_id") {
        o["client_id"] = json!(c);
    }
    if let Some(a) = f.get("attempt") {
        o["attempt"] = json!(a.to_string());
    }
    if let Some(r) = f.get("retry_after") {
        o["upstream_http_retry_after"] = json!(r.to_string());
    }
    o
}

fn traefik(f: &Flat<'_>) -> Value {
    let mut o = json!({
        "StartUTC": f.ts.replace('Z', "000000Z"),
        "RequestMethod": f.str("method"),
        "RequestHost": f.host,
        "RequestPath": f.uri,
        "RequestProtocol": "HTTP/1.1",
        "DownstreamStatus": f.status,
        "OriginStatus": f.status,
        "Duration": (f.latency * 1e6).round() as i64,
        "RouterName": "api@file",
    });
    if let Some(a) = f.get("attempt").and_then(Value::as_i64) {
        o["RetryAttempts"] = json!(a - 1);
    }
    if let Some(r) = f.get("retry_after") {
        o["downstream_Retry-After"] = json!(r.to_string());
    }
    if let Some(c) = f.str("client_id") {
        o["request_Simkl-Api-Key"] = json!(c);
    }
    o
}

fn har_entry(f: &Flat<'_>) -> Value {
    let mut req_headers = vec![json!({"name": "Accept", "value": "application/json"})];
    if let Some(c) = f.str("client_id") {
        req_headers.push(json!({"name": "simkl-api-key", "value": c}));
    }
    let mut resp_headers = vec![json!({"name": "Content-Type", "value": "application/json"})];
    if let Some(r) = f.get("retry_after") {
        resp_headers.push(json!({"name": "Retry-After", "value": r.to_string()}));
    }
    let mut content = json!({"size": 0, "mimeType": "application/json"});
    if let Some(env) = f.envelope() {
        content["text"] = json!(env);
    }
    json!({
        "startedDateTime": f.ts,
        "time": f.latency,
        "request": {"method": f.str("method"), "url": f.url, "httpVersion": "HTTP/1.1", "headers": req_headers, "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": f.status, "statusText": "", "httpVersion": "HTTP/1.1", "headers": resp_headers, "cookies": [], "content": content, "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {},
        "timings": {"send": 0, "wait": f.latency, "receive": 0},
    })
}

/// nginx's `combined` format plus the `$msec` and flat fields as trailing `key=value`.
fn clf(f: &Flat<'_>) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = &f.ts;
    let n = |a: usize, b: usize| t.get(a..b).unwrap_or("00");
    let month = n(5, 7).parse::<usize>().unwrap_or(1).clamp(1, 12);
    let mut extra = String::new();
    for (k, v) in f.o {
        if matches!(k.as_str(), "ts" | "method" | "url" | "status") {
            continue;
        }
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        extra.push(' ');
        extra.push_str(k);
        extra.push('=');
        quote_into(&mut extra, &text);
    }
    format!(
        "10.0.0.7 - - [{}/{}/{}:{}:{}:{} +0000] \"{} {} HTTP/1.1\" {} 512 \"-\" \"errlens-gen\" host={} msec={}.{:03}{extra}",
        n(8, 10),
        MONTHS[month - 1],
        n(0, 4),
        n(11, 13),
        n(14, 16),
        n(17, 19),
        f.str("method").unwrap_or("GET"),
        f.uri,
        f.status,
        f.host,
        f.ts_ms.div_euclid(1000),
        f.ts_ms.rem_euclid(1000),
    )
}

/// A value as logfmt and CLF trailing fields write it: bare, or quoted with escapes.
fn quote_into(out: &mut String, text: &str) {
    if text.is_empty() || text.contains([' ', '"', '=', '\\']) {
        out.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(text);
    }
}

fn logfmt(f: &Flat<'_>) -> String {
    let mut out = String::new();
    for (k, v) in f.o {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        quote_into(&mut out, &text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_convert() {
        assert_eq!(rfc3339_ms("2026-11-20T10:00:00.123Z"), 1_795_168_800_123);
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00.000Z"), 0);
    }

    #[test]
    fn every_shape_writes_every_record() {
        let mut flat = Vec::new();
        crate::generate(
            &crate::GenConfig {
                lines: 200,
                garbage_per_mille: 50,
                ..crate::GenConfig::default()
            },
            &mut flat,
        )
        .unwrap();
        let flat = String::from_utf8(flat).unwrap();
        let records = flat.lines().filter(|l| record(l).is_some()).count();
        for shape in SHAPES {
            let text = convert(&flat, shape);
            assert!(!text.is_empty(), "{shape}");
            if shape == "har" {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["log"]["entries"].as_array().unwrap().len(), records);
            }
        }
    }
}
