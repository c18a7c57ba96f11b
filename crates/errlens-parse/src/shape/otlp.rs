//! OTLP/JSON logs: one `ExportLogsServiceRequest` a line, as the OpenTelemetry
//! Collector's file exporter writes them (`resourceLogs[].scopeLogs[].logRecords[]`),
//! any number of records a line. Also the body of `POST /v1/logs` in JSON.
//!
//! Attributes are read by the HTTP semantic conventions (current names first, the older
//! `http.method`/`http.url`/`http.status_code` after them); the time is `timeUnixNano`;
//! the envelope is the record's body (a `stringValue` holding JSON, or a
//! `kvlistValue`); the client is attribute `client_id`, else the resource's
//! `service.name`. `intValue` is a string in OTLP/JSON (a number is accepted too).

use super::finish;
use crate::provider::ProviderMap;
use crate::raw::{Field, Raw, Target, Unit};
use crate::record::{ParseError, Record};
use crate::value::Scalar;
use serde::Deserialize;
use std::borrow::Cow;

/// Where the shape reads each field, for `errlens shapes`.
pub(crate) const FIELDS: &[(&str, &str)] = &[
    (
        "ts",
        "resourceLogs[].scopeLogs[].logRecords[].timeUnixNano (ns), else observedTimeUnixNano",
    ),
    ("method", "attributes http.request.method, http.method"),
    (
        "url",
        "attributes url.full, http.url; or server.address + url.path (http.target)",
    ),
    (
        "status",
        "attributes http.response.status_code, http.status_code",
    ),
    (
        "latency_ms",
        "attributes http.client.request.duration (s), duration_ms",
    ),
    (
        "client_id",
        "attribute client_id, else resource service.name",
    ),
    (
        "attempt",
        "attribute http.request.resend_count (+1), attempt",
    ),
    (
        "retry_after",
        "attribute http.response.header.retry-after, retry_after",
    ),
    ("envelope", "body (stringValue with JSON, or kvlistValue)"),
];

const fn t(field: Field) -> Target {
    Target::new(field)
}

/// Log record attributes and where they go.
const ATTRIBUTES: &[(&str, Target)] = &[
    ("http.request.method", t(Field::Method)),
    ("http.method", t(Field::Method).prio(1)),
    ("url.full", t(Field::Url)),
    ("http.url", t(Field::Url).prio(1)),
    ("server.address", t(Field::Host)),
    ("url.path", t(Field::Path)),
    ("http.target", t(Field::Path).prio(1)),
    ("http.response.status_code", t(Field::Status)),
    ("http.status_code", t(Field::Status).prio(1)),
    (
        "http.client.request.duration",
        t(Field::Latency).unit(Unit::Seconds),
    ),
    ("duration_ms", t(Field::Latency).prio(1)),
    ("client_id", t(Field::ClientId)),
    (
        "http.request.resend_count",
        t(Field::Attempt).unit(Unit::PlusOne),
    ),
    ("attempt", t(Field::Attempt).prio(1)),
    ("http.response.header.retry-after", t(Field::RetryAfter)),
    ("retry_after", t(Field::RetryAfter).prio(1)),
];

#[derive(Deserialize)]
struct Batch<'a> {
    #[serde(rename = "resourceLogs", alias = "resource_logs", borrow, default)]
    resource_logs: Option<Vec<ResourceLogs<'a>>>,
}

#[derive(Deserialize)]
struct ResourceLogs<'a> {
    #[serde(borrow, default)]
    resource: Option<Resource<'a>>,
    #[serde(rename = "scopeLogs", alias = "scope_logs", borrow, default)]
    scope_logs: Vec<ScopeLogs<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeLogs<'a> {
    #[serde(rename = "logRecords", alias = "log_records", borrow, default)]
    log_records: Vec<LogRecord<'a>>,
}

#[derive(Deserialize)]
struct LogRecord<'a> {
    #[serde(rename = "timeUnixNano", alias = "time_unix_nano", borrow, default)]
    time: Option<Scalar<'a>>,
    #[serde(
        rename = "observedTimeUnixNano",
        alias = "observed_time_unix_nano",
        borrow,
        default
    )]
    observed: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    body: Option<AnyValue<'a>>,
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow, default)]
    value: Option<AnyValue<'a>>,
}

#[derive(Deserialize, Default)]
struct AnyValue<'a> {
    #[serde(rename = "stringValue", alias = "string_value", borrow, default)]
    string: Option<Cow<'a, str>>,
    #[serde(rename = "boolValue", alias = "bool_value", default)]
    boolean: Option<bool>,
    #[serde(rename = "intValue", alias = "int_value", borrow, default)]
    int: Option<Scalar<'a>>,
    #[serde(rename = "doubleValue", alias = "double_value", borrow, default)]
    double: Option<Scalar<'a>>,
    #[serde(rename = "arrayValue", alias = "array_value", borrow, default)]
    array: Option<Values<AnyValue<'a>>>,
    #[serde(rename = "kvlistValue", alias = "kvlist_value", borrow, default)]
    kvlist: Option<Values<KeyValue<'a>>>,
}

#[derive(Deserialize)]
struct Values<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
}

impl<'a> AnyValue<'a> {
    /// The value as a scalar; an array gives its first element (header values).
    fn scalar(&self) -> Option<Scalar<'a>> {
        if let Some(s) = &self.string {
            return Some(Scalar::Str(s.clone()));
        }
        if let Some(b) = self.boolean {
            return Some(Scalar::Bool(b));
        }
        if let Some(i) = self.int.as_ref().or(self.double.as_ref()) {
            return Some(i.clone());
        }
        self.array.as_ref()?.values.first()?.scalar()
    }
}

/// Reads one export batch; every log record in it is one outcome for `out`.
pub(crate) fn parse_line(
    line: &[u8],
    map: Option<&ProviderMap>,
    out: &mut dyn FnMut(Result<&Record<'_>, &ParseError>),
) {
    let batch: Batch<'_> = match serde_json::from_slice(line) {
        Ok(b) => b,
        Err(e) => {
            let err = if e.is_data() {
                ParseError::NotObject
            } else {
                ParseError::InvalidJson(super::flat::json_reason(&e))
            };
            return out(Err(&err));
        }
    };
    let Some(resource_logs) = &batch.resource_logs else {
        return out(Err(&ParseError::Syntax {
            shape: "otlp",
            reason: "a JSON object without resourceLogs".to_owned(),
        }));
    };
    for rl in resource_logs {
        let service = rl.resource.as_ref().and_then(|r| {
            r.attributes
                .iter()
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.scalar())
        });
        for sl in &rl.scope_logs {
            for lr in &sl.log_records {
                let r = finish(&mut record(lr, service.clone(), map), map, STATUS_PATHS);
                match &r {
                    Ok(rec) => out(Ok(rec)),
                    Err(e) => out(Err(e)),
                }
            }
        }
    }
}

const STATUS_PATHS: &str = "attributes http.response.status_code, http.status_code";

/// One log record's fields.
fn record<'a>(
    lr: &LogRecord<'a>,
    service: Option<Scalar<'a>>,
    map: Option<&ProviderMap>,
) -> Raw<'a> {
    let mut raw = Raw::default();
    let ts = Target::new(Field::Ts).unit(Unit::Nanos);
    // An unset time is 0 in OTLP: not a time.
    let nonzero = |s: &&Scalar<'_>| s.as_f64().is_some_and(|v| v > 0.0);
    if let Some(time) = lr
        .time
        .as_ref()
        .filter(nonzero)
        .or(lr.observed.as_ref().filter(nonzero))
    {
        raw.set_mapped(ts, time.clone());
    }
    for kv in &lr.attributes {
        let Some((_, target)) = ATTRIBUTES.iter().find(|(k, _)| *k == kv.key) else {
            continue;
        };
        if let Some(v) = kv.value.as_ref().and_then(AnyValue::scalar) {
            raw.set_mapped(*target, v);
        }
    }
    if let Some(s) = service {
        raw.set_mapped(Target::new(Field::ClientId).prio(2), s);
    }
    match &lr.body {
        Some(AnyValue {
            string: Some(text), ..
        }) => super::json::envelope_from_text(&mut raw, text, map),
        Some(AnyValue {
            kvlist: Some(kv), ..
        }) => {
            let mut env = Raw::default();
            for pair in &kv.values {
                let field = env.field_of(&pair.key, map);
                let value = pair.value.as_ref().and_then(|v| match &v.array {
                    // TMDB's `errors`: counted.
                    Some(a) if field == Field::Errors => Some(Scalar::Seq(a.values.len())),
                    _ => v.scalar(),
                });
                if let Some(v) = value {
                    env.set(field, v);
                }
            }
            raw.fill_envelope(env);
        }
        _ => {}
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_give_each_record() {
        let line = br#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"sync"}}]},"scopeLogs":[{"scope":{"name":"http"},"logRecords":[
            {"timeUnixNano":"1795168800123000000","attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}},{"key":"url.full","value":{"stringValue":"https://api.simkl.com/sync/activities"}},{"key":"http.response.status_code","value":{"intValue":"412"}},{"key":"http.request.resend_count","value":{"intValue":1}},{"key":"http.client.request.duration","value":{"doubleValue":0.25}}],"body":{"stringValue":"{\"error\":\"client_id_failed\",\"code\":412}"}},
            {"timeUnixNano":"0","observedTimeUnixNano":"1795168801000000000","attributes":[{"key":"http.status_code","value":{"intValue":"200"}},{"key":"server.address","value":{"stringValue":"api.themoviedb.org"}},{"key":"url.path","value":{"stringValue":"/3/movie/1"}},{"key":"http.response.header.retry-after","value":{"arrayValue":{"values":[{"stringValue":"30"}]}}},{"key":"client_id","value":{"stringValue":"app"}}],"body":{"kvlistValue":{"values":[{"key":"status_code","value":{"intValue":"21"}},{"key":"success","value":{"boolValue":false}}]}}},
            {"attributes":[]}
        ]}]}]}"#;
        let mut got = Vec::new();
        parse_line(line, Some(&crate::provider::test_map()), &mut |r| {
            got.push(match r {
                Ok(r) => format!(
                    "{} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                    crate::provider::test_name(r.provider),
                    r.status,
                    r.ts_ms,
                    r.attempt,
                    r.latency_ms,
                    r.error.as_deref(),
                    r.tmdb_code,
                    r.retry_after_s,
                    r.client_id.as_deref()
                ),
                Err(e) => e.kind().to_owned(),
            })
        });
        assert_eq!(
            got,
            [
                "simkl 412 Some(1795168800123) Some(2) Some(250.0) Some(\"client_id_failed\") None None Some(\"sync\")",
                "tmdb 200 Some(1795168801000) None None None Some(21) Some(30.0) Some(\"app\")",
                "no_status",
            ]
        );
    }

    #[test]
    fn not_a_batch() {
        let mut kinds = Vec::new();
        parse_line(b"[1]", None, &mut |r| kinds.push(r.err().map(|e| e.kind())));
        parse_line(b"{\"resourceLogs\":", None, &mut |r| {
            kinds.push(r.err().map(|e| e.kind()))
        });
        parse_line(b"{}", None, &mut |r| kinds.push(r.err().map(|e| e.kind())));
        assert_eq!(
            kinds,
            [
                Some("not_object"),
                Some("invalid_json"),
                Some("invalid_text")
            ]
        );
    }
}
