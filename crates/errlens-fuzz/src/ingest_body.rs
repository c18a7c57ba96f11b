//! `ingest_body`: a body as `errlens serve` receives it on `POST /ingest` and
//! `POST /v1/logs`, without a server: the `Content-Encoding` decoding with its size cap
//! (`errlens_exporter::server::decode`, a `#[doc(hidden)]` hook), then the `/ingest`
//! body parsing ([`Pipeline::body`]: lines of any shape, a JSON array, a HAR document)
//! and the OTLP/HTTP decoding ([`Encoding::decode`] in protobuf and JSON, then
//! [`count`] through the `otlp` shape).
//!
//! The first two bytes are settings, the rest is the body: byte 0 picks the
//! `Content-Encoding` (low 3 bits: none, `identity`, `gzip`, `x-gzip`, `deflate`,
//! `zstd`, `br`, ` GZIP `) and, with bit 3, whether the body is compressed here first
//! (a valid stream) or sent as is (usually corrupt); byte 1 picks the body limit
//! (`(b + 1) × 64` bytes, 1 MiB for 255).
//!
//! Asserts: nothing panics; a decompressed body is never over the limit, a body
//! compressed here comes back byte for byte when it fits and is refused with 413 when it
//! does not, an unknown encoding is 415 and a corrupt one 400; `/ingest` counts every
//! line (or array element) as a record, a blank or a malformed line, its reply agrees
//! with the metrics and samples at most 10 errors; `/v1/logs` counts every log record
//! of a decoded request as a record or a rejection (an empty request as one blank
//! batch), and its `partial_success` says so.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use errlens_exporter::metrics::{Metrics, DEFAULT_BUCKETS};
use errlens_exporter::otlp_http::{count, Encoding};
use errlens_exporter::pipeline::{Pipeline, PipelineConfig};
use std::io::Write;

/// The `Content-Encoding` header byte 0 picks (`None`: no header).
const ENCODINGS: [Option<&str>; 8] = [
    None,
    Some("identity"),
    Some("gzip"),
    Some("x-gzip"),
    Some("deflate"),
    Some("zstd"),
    Some("br"),
    Some(" GZIP "),
];

/// Malformed lines an `/ingest` reply lists (as the server asks).
const SAMPLE: usize = 10;

/// The target: see the module docs.
pub fn ingest_body(data: &[u8]) {
    let mut settings = [0u8; 2];
    let n = data.len().min(2);
    settings[..n].copy_from_slice(&data[..n]);
    let body = &data[n..];
    let encoding = ENCODINGS[usize::from(settings[0] & 7)];
    let ours = settings[0] & 8 != 0;
    let max_body = match settings[1] {
        255 => 1 << 20,
        b => (usize::from(b) + 1) * 64,
    };
    let name = encoding.map(|e| e.trim().to_ascii_lowercase());
    let sent = match (ours, name.as_deref()) {
        (true, Some(e)) => compress(e, body),
        _ => body.to_vec(),
    };
    let mut headers = HeaderMap::new();
    if let Some(e) = encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
    }
    let decoded = errlens_exporter::server::decode(&headers, Bytes::from(sent.clone()), max_body);
    match name.as_deref() {
        None | Some("identity") => {
            // The server's body limit applies before: the body is passed on as sent.
            assert_eq!(
                decoded.as_deref().ok(),
                Some(&sent[..]),
                "an unencoded body is itself"
            );
        }
        Some("br") => assert_eq!(
            status(&decoded),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "an encoding errlens does not read is 415"
        ),
        Some(_) => {
            match &decoded {
                Ok(b) => assert!(
                    b.len() <= max_body,
                    "a decompressed body of {} bytes passed the {max_body}-byte limit",
                    b.len()
                ),
                Err((s, _)) => assert!(
                    *s == StatusCode::BAD_REQUEST || *s == StatusCode::PAYLOAD_TOO_LARGE,
                    "a compressed body is refused with 400 or 413, not {s}"
                ),
            }
            if ours {
                if body.len() <= max_body {
                    assert_eq!(
                        decoded.as_deref().ok(),
                        Some(body),
                        "a body within the limit decompresses to itself"
                    );
                } else {
                    assert_eq!(
                        status(&decoded),
                        Some(StatusCode::PAYLOAD_TOO_LARGE),
                        "a body over the limit once decompressed is 413"
                    );
                }
            }
        }
    }
    if let Ok(body) = decoded {
        ingest(&body);
        otlp(&body);
    }
}

fn status(r: &Result<Bytes, (StatusCode, String)>) -> Option<StatusCode> {
    r.as_ref().err().map(|(s, _)| *s)
}

/// `body` compressed by the encoding named `e` (as is for one errlens does not read).
fn compress(e: &str, body: &[u8]) -> Vec<u8> {
    let level = flate2::Compression::fast();
    match e {
        "gzip" | "x-gzip" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), level);
            w.write_all(body).expect("writing to memory");
            w.finish().expect("writing to memory")
        }
        "deflate" => {
            let mut w = flate2::write::ZlibEncoder::new(Vec::new(), level);
            w.write_all(body).expect("writing to memory");
            w.finish().expect("writing to memory")
        }
        "zstd" => zstd::stream::encode_all(body, 1).expect("writing to memory"),
        _ => body.to_vec(),
    }
}

/// A pipeline of its own, with the default settings of `errlens serve`.
fn pipeline() -> (Pipeline, Metrics) {
    let cfg = PipelineConfig::default();
    let metrics = Metrics::register(
        &prometheus::Registry::new(),
        &DEFAULT_BUCKETS,
        &cfg.providers,
    )
    .expect("metrics register on a new registry");
    (Pipeline::new(metrics.clone(), &cfg), metrics)
}

/// Lines counted by result.
fn lines(m: &Metrics) -> (u64, u64, u64) {
    let get = |r: &str| m.lines.with_label_values(&[r]).get();
    (get("record"), get("blank"), get("malformed"))
}

/// `POST /ingest`: every line or element counted, the reply as the metrics say.
fn ingest(body: &[u8]) {
    let (mut p, m) = pipeline();
    let document = p.decoder(body).is_document();
    let out = p.body(body, SAMPLE);
    assert_eq!(
        lines(&m),
        (out.records, out.blank, out.malformed),
        "the reply counts what the metrics count"
    );
    assert_eq!(
        out.errors.len() as u64,
        out.malformed.min(SAMPLE as u64),
        "the reply lists the first malformed lines"
    );
    assert!(
        out.errors.windows(2).all(|w| w[0].0 <= w[1].0) && out.errors.iter().all(|e| e.0 >= 1),
        "malformed lines are numbered from 1, in order: {:?}",
        out.errors
    );
    if document {
        return;
    }
    // A JSON array body when the whole body is one (as `Pipeline::body` decides), else
    // lines: each gives at least one outcome.
    let array = body
        .trim_ascii_start()
        .starts_with(b"[")
        .then(|| serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(body).ok())
        .flatten();
    let units = match &array {
        Some(elements) => elements.len() as u64,
        None => errlens_parse::frame::line_count(body),
    };
    assert!(
        out.records + out.blank + out.malformed >= units,
        "{units} lines or elements gave only {out:?}"
    );
}

/// `POST /v1/logs`: every log record of a request that decodes is a record or rejected.
fn otlp(body: &[u8]) {
    for enc in [Encoding::Protobuf, Encoding::Json] {
        let Ok(request) = enc.decode(body) else {
            continue;
        };
        let n: u64 = request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.log_records.len() as u64)
            .sum();
        let (mut p, m) = pipeline();
        let out = count(&mut p, &request);
        let (records, blank, malformed) = lines(&m);
        assert_eq!(
            (records, malformed),
            (out.records, out.rejected),
            "{enc:?}: the metrics count what the response says"
        );
        if n == 0 {
            assert_eq!(
                (out.records, out.rejected, blank),
                (0, 0, 1),
                "{enc:?}: a request without log records is one empty batch"
            );
        } else {
            assert_eq!(
                out.records + out.rejected,
                n,
                "{enc:?}: each of {n} log records is a record or rejected: {out:?}"
            );
        }
        assert_eq!(
            out.reasons.iter().map(|r| r.1).sum::<u64>(),
            out.rejected,
            "{enc:?}: the reasons add up"
        );
        let partial = out.partial_success();
        assert_eq!(
            partial.map(|p| p.rejected_log_records),
            (out.rejected > 0).then_some(out.rejected as i64),
            "{enc:?}: partial_success is set exactly when records were rejected"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_bodies_come_back() {
        for e in [2u8, 3, 4, 5, 7] {
            let mut data = vec![e | 8, 255];
            data.extend_from_slice(b"{\"status\":200}\nstatus=500\n");
            ingest_body(&data);
            // Over a 64-byte limit once decompressed.
            let mut data = vec![e | 8, 0];
            data.extend_from_slice(&[b'\n'; 300]);
            ingest_body(&data);
        }
        ingest_body(&[6, 0, 1, 2, 3]);
    }

    #[test]
    fn otlp_requests_count_every_record() {
        let mut data = vec![0, 255];
        data.extend_from_slice(
            br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"http.response.status_code","value":{"intValue":"429"}}]},{}]}]}]}"#,
        );
        ingest_body(&data);
        ingest_body(&[0, 255]);
    }
}
