//! `POST /v1/logs`: an OTLP/HTTP logs receiver
//! (<https://opentelemetry.io/docs/specs/otlp/#otlphttp>), so an OpenTelemetry SDK or
//! Collector `otlphttp` exporter can send its log records straight to `errlens serve`.
//!
//! The body is an `ExportLogsServiceRequest` in binary protobuf
//! (`Content-Type: application/x-protobuf`) or in the OTLP JSON protobuf encoding
//! (`application/json`), possibly compressed (`Content-Encoding: gzip`, also `deflate`
//! and `zstd`: the `/ingest` decompression, capped at `--max-body`). It is decoded into
//! the official message types (`opentelemetry-proto`), written back as one OTLP/JSON
//! line — what the Collector's file exporter writes — and read by the `otlp` shape,
//! so there is one mapping from OTLP log records to request records (the shape's), and
//! each record is counted exactly as `errlens report` counts it in an OTLP/JSON file:
//! a record the shape reads is a request (`errlens_lines_total{result="record"}`), one
//! it cannot (no HTTP status, …) is malformed and reported back as rejected in the
//! response's `partial_success`. A request is not a line: `--max-line-bytes` does not
//! apply to it (the body limit does).
//!
//! Responses follow the specification: 200 with an `ExportLogsServiceResponse` in the
//! request's encoding (`partial_success` set only when some records were rejected; the
//! sender must not retry those); 400 for a body that does not decode, 413 for one over
//! the size limit, 415 for another content type or encoding (none of them retryable),
//! and 503 with `Retry-After` while errlens is stopping (retryable). Error bodies are a
//! `google.rpc.Status` in the request's encoding (plain text for an unknown content
//! type, which names no encoding).

use crate::pipeline::Pipeline;
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use errlens_parse::{Decoder, IngestConfig, ParseError, Record, RecordSink, Shape, ShapeKind};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use prost::Message;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The default OTLP/HTTP path for logs.
pub const PATH: &str = "/v1/logs";

/// What `POST /v1/logs` needs of the server's state.
#[derive(Clone)]
pub struct Receiver {
    /// The pipeline records are counted into.
    pub pipeline: Arc<Mutex<Pipeline>>,
    /// Set on the stop signal: requests are then refused with 503 (retryable).
    pub stopping: Arc<AtomicBool>,
    /// Largest body, before and after decompression.
    pub max_body: usize,
}

impl Receiver {
    /// The receiver of a server's state.
    pub fn of(state: &AppState, max_body: usize) -> Receiver {
        Receiver {
            pipeline: state.pipeline.clone(),
            stopping: state.stopping.clone(),
            max_body,
        }
    }
}

/// Adds `POST /v1/logs` to a router (the caller decides whether to serve it at all, and
/// layers the body limit and the Host allow-list over it).
pub fn route<S: Clone + Send + Sync + 'static>(router: Router<S>, receiver: Receiver) -> Router<S> {
    router.route(PATH, post(logs).with_state(receiver))
}

/// The two OTLP/HTTP payload encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Binary protobuf, `application/x-protobuf`.
    Protobuf,
    /// JSON protobuf encoding, `application/json`.
    Json,
}

impl Encoding {
    /// The encoding a request's `Content-Type` names (parameters such as `charset`
    /// aside), or `None`.
    pub fn of(headers: &HeaderMap) -> Option<Encoding> {
        let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
        let media = ct.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }

    /// The response's `Content-Type`: the request's.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }

    /// Decodes an `ExportLogsServiceRequest`.
    pub fn decode(self, body: &[u8]) -> Result<ExportLogsServiceRequest, String> {
        match self {
            Encoding::Protobuf => ExportLogsServiceRequest::decode(body)
                .map_err(|e| format!("not a protobuf ExportLogsServiceRequest: {e}")),
            Encoding::Json => serde_json::from_slice(body)
                .map_err(|e| format!("not an OTLP/JSON ExportLogsServiceRequest: {e}")),
        }
    }

    /// A body in this encoding.
    fn body(self, protobuf: Vec<u8>, json: serde_json::Value) -> Response {
        let bytes = match self {
            Encoding::Protobuf => protobuf,
            Encoding::Json => json.to_string().into_bytes(),
        };
        ([(header::CONTENT_TYPE, self.content_type())], bytes).into_response()
    }
}

/// `google.rpc.Status`, the body of OTLP/HTTP failures (`details` not used).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    /// A `google.rpc.Code`; OTLP does not use it.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// What went wrong, for the developer.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// A failure: `status` with a `google.rpc.Status` body in `enc`.
fn failure(enc: Encoding, status: StatusCode, message: &str) -> Response {
    // google.rpc.Code: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL.
    let code = match status {
        StatusCode::BAD_REQUEST | StatusCode::UNSUPPORTED_MEDIA_TYPE => 3,
        StatusCode::PAYLOAD_TOO_LARGE => 8,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        _ => 13,
    };
    let message = message.trim_end().to_owned();
    let json = serde_json::json!({ "code": code, "message": message });
    let mut r = enc.body(Status { code, message }.encode_to_vec(), json);
    *r.status_mut() = status;
    r
}

/// What one request held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LogsOutcome {
    /// Log records counted as requests.
    pub records: u64,
    /// Log records that are not requests errlens reads: rejected.
    pub rejected: u64,
    /// Why, by error kind, with the first such error's text.
    pub reasons: Vec<(&'static str, u64, String)>,
}

impl LogsOutcome {
    /// The response's `partial_success`: set only when records were rejected.
    pub fn partial_success(&self) -> Option<ExportLogsPartialSuccess> {
        if self.rejected == 0 {
            return None;
        }
        let why: Vec<String> = self
            .reasons
            .iter()
            .map(|(kind, n, first)| format!("{n} {kind} ({first})"))
            .collect();
        Some(ExportLogsPartialSuccess {
            rejected_log_records: self.rejected as i64,
            error_message: format!(
                "{} of {} log records are not API requests errlens reads (otlp shape: HTTP \
                 semantic-convention attributes, envelope in the body): {}",
                self.rejected,
                self.records + self.rejected,
                why.join("; ")
            ),
        })
    }
}

/// Counts one decoded request into the pipeline, through the `otlp` shape.
pub fn count(pipeline: &mut Pipeline, request: &ExportLogsServiceRequest) -> LogsOutcome {
    // The OTLP/JSON encoding of the request, on one line (serde_json escapes newlines):
    // the line the `otlp` shape reads, as in a Collector file-exporter file.
    let line = serde_json::to_vec(request).expect("an OTLP request serializes to JSON");
    let cfg = IngestConfig {
        shape: Some(Shape::Builtin(ShapeKind::Otlp)),
        ..pipeline.ingest().clone()
    };
    let mut decoder = Decoder::new(&cfg, &line);
    let mut sink = Sink {
        pipeline,
        outcome: LogsOutcome::default(),
    };
    decoder.line(1, &line, &mut sink);
    sink.outcome
}

struct Sink<'a> {
    pipeline: &'a mut Pipeline,
    outcome: LogsOutcome,
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, rec: &Record<'_>) {
        self.outcome.records += 1;
        self.pipeline.record(rec);
    }
    fn blank(&mut self) {
        // A request without log records: counted as `errlens report` counts an empty
        // batch line.
        self.pipeline.blank();
    }
    fn malformed(&mut self, line: u64, error: &ParseError) {
        self.outcome.rejected += 1;
        let kind = error.kind();
        match self.outcome.reasons.iter_mut().find(|(k, _, _)| *k == kind) {
            Some((_, n, _)) => *n += 1,
            None => self.outcome.reasons.push((kind, 1, error.to_string())),
        }
        self.pipeline.malformed(line, error);
    }
}

async fn logs(
    State(s): State<Receiver>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(enc) = Encoding::of(&headers) else {
        let got = headers
            .get(header::CONTENT_TYPE)
            .map_or("none".into(), |v| String::from_utf8_lossy(v.as_bytes()));
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {got} is not read here: send application/x-protobuf or \
                 application/json (OTLP/HTTP)\n"
            ),
        )
            .into_response();
    };
    if s.stopping.load(Ordering::Acquire) {
        let mut r = failure(
            enc,
            StatusCode::SERVICE_UNAVAILABLE,
            "errlens is stopping: send this request again later",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        return r;
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => return failure(enc, e.status(), &e.body_text()),
    };
    let body = match crate::server::decode(&headers, body, s.max_body) {
        Ok(b) => b,
        Err((status, message)) => return failure(enc, status, &message),
    };
    let pipeline = s.pipeline.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let request = enc.decode(&body)?;
        let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
        p.metrics().bytes_read.inc_by(body.len() as u64);
        Ok::<_, String>(count(&mut p, &request))
    })
    .await;
    match outcome {
        Ok(Ok(out)) => {
            let partial = out.partial_success();
            let json = match &partial {
                // int64 is a decimal string in the JSON protobuf encoding.
                Some(p) => serde_json::json!({ "partialSuccess": {
                    "rejectedLogRecords": p.rejected_log_records.to_string(),
                    "errorMessage": p.error_message,
                }}),
                None => serde_json::json!({}),
            };
            let protobuf = ExportLogsServiceResponse {
                partial_success: partial,
            }
            .encode_to_vec();
            enc.body(protobuf, json)
        }
        Ok(Err(message)) => failure(enc, StatusCode::BAD_REQUEST, &message),
        Err(_) => failure(
            enc,
            StatusCode::INTERNAL_SERVER_ERROR,
            "counting the request failed",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, DEFAULT_BUCKETS};
    use crate::pipeline::PipelineConfig;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use std::io::Write;

    /// The receiver alone on 127.0.0.1 (behind the server's body limit), served by its
    /// own runtime. `--no-ingest` and the Host allow-list are tested on `errlens serve`
    /// itself (crates/errlens/tests/serve_otlp.rs).
    struct Server {
        addr: String,
        metrics: Metrics,
        stopping: Arc<AtomicBool>,
        _runtime: tokio::runtime::Runtime,
    }

    impl Server {
        fn start(max_body: usize) -> Server {
            let registry = prometheus::Registry::new();
            let cfg = PipelineConfig::default();
            let metrics = Metrics::register(&registry, &DEFAULT_BUCKETS, &cfg.providers).unwrap();
            let stopping = Arc::new(AtomicBool::new(false));
            let receiver = Receiver {
                pipeline: Arc::new(Mutex::new(Pipeline::new(metrics.clone(), &cfg))),
                stopping: stopping.clone(),
                max_body,
            };
            let app = route(Router::new(), receiver)
                .layer(axum::extract::DefaultBodyLimit::max(max_body));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            runtime.spawn(async move { axum::serve(listener, app).await });
            Server {
                addr,
                metrics,
                stopping,
                _runtime: runtime,
            }
        }

        /// POSTs `body` to /v1/logs with these headers: (status, content type, body).
        fn post(&self, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, Vec<u8>) {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut req = agent.post(format!("http://{}{PATH}", self.addr));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let mut resp = req.send(body).unwrap();
            let ct = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            let body = resp.body_mut().read_to_vec().unwrap();
            (resp.status().as_u16(), ct, body)
        }

        fn lines(&self, result: &str) -> u64 {
            self.metrics.lines.with_label_values(&[result]).get()
        }

        fn requests(&self, provider: &str, status: &str, class: &str) -> u64 {
            self.metrics
                .requests
                .with_label_values(&[provider, status, class])
                .get()
        }
    }

    const PROTOBUF: (&str, &str) = ("content-type", "application/x-protobuf");
    const JSON: (&str, &str) = ("content-type", "application/json");

    fn string(key: &str, v: &str) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.to_owned())),
            }),
            ..Default::default()
        }
    }

    fn int(key: &str, v: i64) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(v)),
            }),
            ..Default::default()
        }
    }

    /// A log record of an API call (`status` None: an application log line).
    fn call(url: &str, status: Option<i64>, body: Option<&str>) -> LogRecord {
        let mut attributes = vec![
            string("http.request.method", "GET"),
            string("url.full", url),
        ];
        if let Some(s) = status {
            attributes.push(int("http.response.status_code", s));
        }
        LogRecord {
            time_unix_nano: 1_795_168_800_000_000_000,
            body: body.map(|b| AnyValue {
                value: Some(any_value::Value::StringValue(b.to_owned())),
            }),
            attributes,
            trace_id: vec![0x5b; 16],
            span_id: vec![0xee; 8],
            ..Default::default()
        }
    }

    fn request(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: None,
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    /// Two Simkl calls (a 200, a 429 with its envelope), one TMDB 200 that is TMDB
    /// code 25, and one record without a status.
    fn mixed() -> ExportLogsServiceRequest {
        request(vec![
            call("https://api.simkl.com/sync/activities", Some(200), None),
            call(
                "https://api.simkl.com/sync/history",
                Some(429),
                Some(r#"{"error":"rate_limit","code":429}"#),
            ),
            call(
                "https://api.themoviedb.org/3/movie/550",
                Some(429),
                Some(r#"{"status_code":25,"status_message":"over the limit"}"#),
            ),
            call("https://api.simkl.com/users/settings", None, None),
        ])
    }

    #[test]
    fn protobuf_partial_success() {
        let s = Server::start(1 << 20);
        let (status, ct, body) = s.post(&[PROTOBUF], &mixed().encode_to_vec());
        assert_eq!((status, ct.as_str()), (200, "application/x-protobuf"));
        let resp = ExportLogsServiceResponse::decode(&body[..]).unwrap();
        let partial = resp.partial_success.expect("partial_success is set");
        assert_eq!(partial.rejected_log_records, 1);
        assert!(
            partial.error_message.contains("1 no_status")
                && partial.error_message.contains("http.response.status_code"),
            "{}",
            partial.error_message
        );
        assert_eq!((s.lines("record"), s.lines("malformed")), (3, 1));
        assert_eq!(s.requests("simkl", "200", "success"), 1);
        assert_eq!(s.requests("simkl", "429", "rate_limited"), 1);
        assert_eq!(s.requests("tmdb", "429", "rate_limited"), 1);
    }

    #[test]
    fn full_success_leaves_partial_success_unset() {
        let s = Server::start(1 << 20);
        let mut req = mixed();
        req.resource_logs[0].scope_logs[0].log_records.pop();
        let (status, ct, body) = s.post(&[PROTOBUF], &req.encode_to_vec());
        assert_eq!((status, ct.as_str()), (200, "application/x-protobuf"));
        assert!(body.is_empty(), "an empty ExportLogsServiceResponse");
        let (status, ct, body) = s.post(&[JSON], &serde_json::to_vec(&req).unwrap());
        assert_eq!(
            (status, ct.as_str(), &body[..]),
            (200, "application/json", &b"{}"[..])
        );
        // An empty request is a success too (counted as an empty batch: blank).
        let (status, _, body) = s.post(&[PROTOBUF], b"");
        assert_eq!((status, body.len()), (200, 0));
        assert_eq!(
            (s.lines("record"), s.lines("malformed"), s.lines("blank")),
            (6, 0, 1)
        );
    }

    #[test]
    fn json_partial_success() {
        let s = Server::start(1 << 20);
        // Pretty-printed, with an unknown field (ignored, per the spec) and a charset.
        let body = serde_json::to_vec_pretty(&serde_json::json!({
            "resourceLogs": serde_json::to_value(mixed()).unwrap()["resourceLogs"],
            "somethingNew": 1,
        }))
        .unwrap();
        let (status, ct, body) = s.post(
            &[("content-type", "application/json; charset=utf-8")],
            &body,
        );
        assert_eq!((status, ct.as_str()), (200, "application/json"));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["partialSuccess"]["rejectedLogRecords"], "1");
        assert!(v["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("no_status"));
        assert_eq!((s.lines("record"), s.lines("malformed")), (3, 1));
    }

    #[test]
    fn bad_bodies_are_400_with_a_status() {
        let s = Server::start(1 << 20);
        // Field 1 (resource_logs), length 16, one byte present.
        let (status, ct, body) = s.post(&[PROTOBUF], &[0x0a, 0x10, 0x01]);
        assert_eq!((status, ct.as_str()), (400, "application/x-protobuf"));
        let st = Status::decode(&body[..]).unwrap();
        assert_eq!(st.code, 3);
        assert!(st.message.contains("protobuf"), "{}", st.message);
        for bad in [
            &b"{\"resourceLogs\":"[..],
            b"[1]",
            b"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"traceId\":\"xyz\"}]}]}]}",
        ] {
            let (status, ct, body) = s.post(&[JSON], bad);
            assert_eq!((status, ct.as_str()), (400, "application/json"));
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["code"], 3);
            assert!(v["message"].as_str().unwrap().contains("OTLP/JSON"));
        }
        // A corrupt gzip body.
        let (status, _, _) = s.post(&[PROTOBUF, ("content-encoding", "gzip")], b"not gzip");
        assert_eq!(status, 400);
        assert_eq!(s.lines("record") + s.lines("malformed"), 0);
    }

    #[test]
    fn other_content_types_are_415() {
        let s = Server::start(1 << 20);
        let body = mixed().encode_to_vec();
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/grpc",
            "application/x-ndjson",
        ] {
            let (status, _, text) = s.post(&[("content-type", ct)], &body);
            assert_eq!(status, 415, "{ct}");
            let text = String::from_utf8(text).unwrap();
            assert!(text.contains("application/x-protobuf"), "{text}");
        }
        let (status, _, _) = s.post(&[], &body);
        assert_eq!(status, 415);
        // An encoding errlens does not read: 415 with a Status.
        let (status, ct, _) = s.post(&[PROTOBUF, ("content-encoding", "br")], &body);
        assert_eq!((status, ct.as_str()), (415, "application/x-protobuf"));
        assert_eq!(s.lines("record") + s.lines("malformed"), 0);
    }

    #[test]
    fn compressed_and_size_limited() {
        let s = Server::start(4096);
        let body = mixed().encode_to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&body).unwrap();
        let (status, _, _) = s.post(
            &[PROTOBUF, ("content-encoding", "gzip")],
            &gz.finish().unwrap(),
        );
        assert_eq!(status, 200);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&body).unwrap();
        let (status, _, _) = s.post(
            &[PROTOBUF, ("content-encoding", "deflate")],
            &z.finish().unwrap(),
        );
        assert_eq!(status, 200);
        assert_eq!((s.lines("record"), s.lines("malformed")), (6, 2));
        // Over the limit as sent, and only once decompressed: 413 with a Status.
        let many = request(
            (0..200)
                .map(|_| call("https://api.simkl.com/sync/activities", Some(200), None))
                .collect(),
        )
        .encode_to_vec();
        assert!(many.len() > 4096);
        let (status, ct, body) = s.post(&[PROTOBUF], &many);
        assert_eq!((status, ct.as_str()), (413, "application/x-protobuf"));
        assert_eq!(Status::decode(&body[..]).unwrap().code, 8);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&many).unwrap();
        let small = gz.finish().unwrap();
        assert!(small.len() < 4096);
        let (status, ct, body) = s.post(&[JSON, ("content-encoding", "gzip")], &small);
        assert_eq!((status, ct.as_str()), (413, "application/json"));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], 8);
        assert_eq!(s.lines("record"), 6);
    }

    #[test]
    fn stopping_is_503_with_retry_after() {
        let s = Server::start(1 << 20);
        s.stopping.store(true, Ordering::Release);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let resp = agent
            .post(format!("http://{}{PATH}", s.addr))
            .header("content-type", "application/x-protobuf")
            .send(&mixed().encode_to_vec()[..])
            .unwrap();
        assert_eq!(resp.status().as_u16(), 503);
        assert_eq!(resp.headers().get("retry-after").unwrap(), "5");
        assert_eq!(s.lines("record"), 0);
    }

    #[test]
    fn json_round_trip_keeps_what_the_shape_reads() {
        // The line the shape reads: int64 as strings, ids as hex, lowerCamelCase.
        let line = serde_json::to_string(&mixed()).unwrap();
        assert!(
            line.contains(r#""timeUnixNano":"1795168800000000000""#),
            "{line}"
        );
        assert!(line.contains(r#""intValue":"429""#), "{line}");
        assert!(
            line.contains(&format!(r#""traceId":"{}""#, "5b".repeat(16))),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
