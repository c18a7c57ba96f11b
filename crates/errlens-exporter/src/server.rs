//! The HTTP endpoints: `/metrics`, `/healthz`, `/ready` and `POST /ingest`.

use crate::pipeline::Pipeline;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use prometheus::{Encoder, Registry, TextEncoder};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The registry `/metrics` exposes.
    pub registry: Registry,
    /// The pipeline `/ingest` feeds.
    pub pipeline: Arc<Mutex<Pipeline>>,
    /// Set once every input has started (the first poll of followed files is done).
    pub ready: Arc<AtomicBool>,
}

/// The router with every endpoint; `/ingest` bodies are limited to `max_body` bytes,
/// before and after decompression.
pub fn router(state: AppState, max_body: usize) -> Router {
    let ingest = move |s: State<AppState>, headers: HeaderMap, body: Bytes| {
        ingest(s, headers, body, max_body)
    };
    Router::new()
        .route("/", get(landing))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/ingest", post(ingest))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn metrics(State(s): State<AppState>) -> Response {
    let encoder = TextEncoder::new();
    let mut buf = Vec::with_capacity(16 * 1024);
    match encoder.encode(&s.registry.gather(), &mut buf) {
        Ok(()) => (
            [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
            buf,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}\n"),
        )
            .into_response(),
    }
}

/// The landing page, as exporters have one: what this is and where the endpoints are.
async fn landing() -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>errlens exporter</title></head><body>\
<h1>errlens exporter</h1><p>errlens {} ({}): Simkl and TMDB request logs as Prometheus metrics.</p><ul>\
<li><a href=\"metrics\">/metrics</a>: the metrics</li>\
<li><a href=\"healthz\">/healthz</a>: the process is up</li>\
<li><a href=\"ready\">/ready</a>: every input has started</li>\
<li>POST /ingest: log lines, a JSON array of records or a HAR document</li></ul></body></html>\n",
        env!("CARGO_PKG_VERSION"),
        env!("ERRLENS_COMMIT")
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

async fn ready(State(s): State<AppState>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

#[derive(Serialize)]
struct IngestReply {
    records: u64,
    blank: u64,
    malformed: u64,
    /// The first malformed lines: 1-based line number within the body, and why.
    errors: Vec<IngestError>,
}

#[derive(Serialize)]
struct IngestError {
    line: u64,
    reason: String,
}

/// A body in any shape `errlens report` reads (detected per body), a JSON array of
/// records, or a HAR document. Every line is counted; if any is
/// malformed the reply is 400 with the counts (the good lines are still counted). An
/// oversized body is refused whole with 413 by the body limit.
async fn ingest(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
    max_body: usize,
) -> Response {
    let body = match decode(&headers, body, max_body) {
        Ok(b) => b,
        Err(refusal) => return refusal.into_response(),
    };
    let pipeline = s.pipeline.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        pipeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .body(&body, 10)
    })
    .await;
    let Ok(out) = outcome else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "ingest failed\n").into_response();
    };
    let reply = IngestReply {
        records: out.records,
        blank: out.blank,
        malformed: out.malformed,
        errors: out
            .errors
            .into_iter()
            .map(|(line, reason)| IngestError { line, reason })
            .collect(),
    };
    let status = if reply.malformed > 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, axum::Json(reply)).into_response()
}

/// The body as sent, or decompressed by its `Content-Encoding` (gzip, zstd) up to
/// `max_body` bytes: a larger result is refused with 413, an encoding errlens does not
/// read with 415, a corrupt body with 400.
fn decode(
    headers: &HeaderMap,
    body: Bytes,
    max_body: usize,
) -> Result<Bytes, (StatusCode, String)> {
    use std::io::Read;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    let reader: Box<dyn Read + '_> = match encoding.as_deref() {
        None | Some("" | "identity") => return Ok(body),
        Some("gzip" | "x-gzip") => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        Some("zstd") => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(d) => Box::new(d),
            Err(e) => return Err((StatusCode::BAD_REQUEST, format!("zstd body: {e}\n"))),
        },
        Some(other) => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Encoding {other:?} is not read: send identity, gzip or zstd\n"),
            ))
        }
    };
    let mut out = Vec::new();
    // One byte past the limit tells "too large" from "exactly the limit".
    match reader.take(max_body as u64 + 1).read_to_end(&mut out) {
        Ok(_) if out.len() > max_body => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the decompressed body is larger than {max_body} bytes\n"),
        )),
        Ok(_) => Ok(Bytes::from(out)),
        Err(e) => Err((StatusCode::BAD_REQUEST, format!("compressed body: {e}\n"))),
    }
}
