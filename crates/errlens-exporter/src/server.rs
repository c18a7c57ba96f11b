//! The HTTP endpoints: `/`, `/metrics`, `/healthz`, `/ready`, `POST /ingest` and `POST
//! /v1/logs` (OTLP/HTTP, [`crate::otlp_http`]), and what guards them: a Host allow-list
//! against DNS rebinding (on a loopback address, only loopback names by default), no
//! `/ingest` nor `/v1/logs` with `--no-ingest`, and no `/ingest`
//! body of the content types a browser page may send without asking (`text/plain`,
//! form data), so a web page cannot inject records. With a `--web.config.file`, every
//! request passes [`crate::web::guard`] first (rate limit, basic auth, extra headers).
//! A request body must arrive whole within `--web.body-timeout`
//! ([`crate::conn::body_deadline`]).

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
    /// Counter values restored from the checkpoint, added to what `/metrics` exposes.
    pub baseline: Arc<crate::counters::Baseline>,
    /// With a state directory: the counter values last saved, which `/metrics` exposes
    /// instead of the live ones.
    pub durable: Option<Arc<Mutex<Vec<crate::counters::Family>>>>,
    /// Set on the stop signal: `/ingest` then answers 503 (the sender retries
    /// elsewhere or later), while `/metrics` still answers.
    pub stopping: Arc<AtomicBool>,
}

/// How the HTTP side is exposed.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Largest `/ingest` body, before and after decompression.
    pub max_body: usize,
    /// Serve `POST /ingest` at all.
    pub ingest: bool,
    /// Host names (without port) requests may name; empty: any.
    pub allowed_hosts: Vec<String>,
    /// The `--web.config.file` settings every request is checked against first.
    pub web: Option<Arc<crate::web::Web>>,
    /// How long a request body may take to arrive once its head has been read and
    /// checked (`--web.body-timeout`, [`crate::conn::body_deadline`]); None: no limit.
    pub body_timeout: Option<std::time::Duration>,
}

/// Host names a loopback listener answers by default.
pub const LOOPBACK_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "::1", "[::1]"];

/// The router with every endpoint.
pub fn router(state: AppState, http: &HttpConfig) -> Router {
    let max_body = http.max_body;
    let ingest = move |s: State<AppState>, headers: HeaderMap, body: Bytes| {
        ingest(s, headers, body, max_body)
    };
    let mut r = Router::new()
        .route("/", get(landing))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/ready", get(ready));
    if http.ingest {
        r = r.route("/ingest", post(ingest));
        r = crate::otlp_http::route(r, crate::otlp_http::Receiver::of(&state, max_body));
    }
    let allowed: Arc<Vec<String>> = Arc::new(
        http.allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
    );
    let body_timeout = http.body_timeout;
    let r = r
        .layer(DefaultBodyLimit::max(max_body))
        // Inside the checks below: the body's clock starts once the head passed them.
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                crate::conn::body_deadline(body_timeout, req, next)
            },
        ))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let allowed = allowed.clone();
                async move {
                    if !host_allowed(req.headers(), &allowed) {
                        return (
                            StatusCode::MISDIRECTED_REQUEST,
                            "this Host is not served here (see --allowed-host)\n",
                        )
                            .into_response();
                    }
                    next.run(req).await
                }
            },
        ));
    // Outermost: nothing answers before the credentials are checked.
    let r = match &http.web {
        Some(web) => {
            let web = web.clone();
            r.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    crate::web::guard(web.clone(), req, next)
                },
            ))
        }
        None => r,
    };
    r.with_state(state)
}

/// Whether the request's Host (port removed) is allowed; an empty list allows any.
fn host_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let host = host.trim().to_ascii_lowercase();
    let name = if host.starts_with('[') {
        // [::1]:9477
        host.split_once(']')
            .map_or(host.as_str(), |(a, _)| a)
            .trim_start_matches('[')
    } else {
        host.rsplit_once(':').map_or(host.as_str(), |(a, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                a
            } else {
                host.as_str()
            }
        })
    };
    allowed.iter().any(|a| a.trim_matches(['[', ']']) == name)
}

/// Content types a browser page may POST without a CORS preflight: never records.
fn browser_simple(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let media = ct.split(';').next()?.trim().to_ascii_lowercase();
    matches!(
        media.as_str(),
        "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
    )
    .then_some(media)
}

async fn metrics(State(s): State<AppState>) -> Response {
    let encoder = TextEncoder::new();
    let mut buf = Vec::with_capacity(16 * 1024);
    let families = match &s.durable {
        Some(saved) => {
            let saved = saved.lock().unwrap_or_else(|e| e.into_inner()).clone();
            crate::counters::Baseline::new(saved).replace(s.registry.gather())
        }
        None => s.baseline.apply(s.registry.gather()),
    };
    match encoder.encode(&families, &mut buf) {
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
<h1>errlens exporter</h1><p>errlens {} ({}): API request logs (Simkl, TMDB and any loaded provider definition) as Prometheus metrics.</p><ul>\
<li><a href=\"metrics\">/metrics</a>: the metrics</li>\
<li><a href=\"healthz\">/healthz</a>: the process is up</li>\
<li><a href=\"ready\">/ready</a>: every input has started</li>\
<li>POST /ingest: log lines, a JSON array of records or a HAR document</li>\
<li>POST /v1/logs: OpenTelemetry logs (OTLP/HTTP, protobuf or JSON)</li></ul></body></html>\n",
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
    if s.stopping.load(Ordering::Acquire) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "errlens is stopping: send this body again later\n",
        )
            .into_response();
    }
    if let Some(media) = browser_simple(&headers) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {media} is refused (a web page could send it): send application/x-ndjson or application/json\n"),
        )
            .into_response();
    }
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

/// The body as sent, or decompressed by its `Content-Encoding` (gzip, deflate, zstd) up to
/// `max_body` bytes: a larger result is refused with 413, an encoding errlens does not
/// read with 415, a corrupt body with 400. Public for the fuzz targets
/// (`crates/errlens-fuzz`), not API.
#[doc(hidden)]
pub fn decode(
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
        // HTTP's "deflate" is the zlib format (RFC 9110; OpenTelemetry SDKs offer it).
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        Some("zstd") => match zstd::stream::read::Decoder::new(&body[..]) {
            Ok(d) => Box::new(d),
            Err(e) => return Err((StatusCode::BAD_REQUEST, format!("zstd body: {e}\n"))),
        },
        Some(other) => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                "Content-Encoding {other:?} is not read: send identity, gzip, deflate or zstd\n"
            ),
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
