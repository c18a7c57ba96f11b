//! The live pipeline: records in, metrics updated. Shared by every input.
//!
//! It is the exporter's [`RecordSink`]: the ingest front (`errlens-parse`) frames and
//! decodes every input — followed files, standard input, `/ingest` bodies — in its own
//! shape, and hands the records here. It applies exactly what `errlens report` applies —
//! the same decoder, classifier and retry-chain state machine — so live metrics and
//! offline reports agree.

use crate::metrics::{code_label, Admission, Metrics};
use errlens_audit::chains::{OpenChain, RetryCounts, Sink, Tracker};
use errlens_audit::endpoint::{template_into, Secrets};
use errlens_classify::Registry as Providers;
use errlens_parse::frame::Frames;
use errlens_parse::{Decoder, IngestConfig, ParseError, Record, RecordSink};
use std::sync::Arc;

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Retry window for inferred retries, ms.
    pub retry_window_ms: i64,
    /// Clients that get their own label (top K by volume; at most 2K ever).
    pub top_clients: usize,
    /// Endpoints that get their own label (top K by volume; at most 2K ever).
    pub top_endpoints: usize,
    /// The providers records are classified with; the ingest configuration's provider
    /// map must be theirs (with any `--provider-host` overrides).
    pub providers: Arc<Providers>,
    /// How inputs are read (shape, provider map, line cap).
    pub ingest: Arc<IngestConfig>,
    /// Retry-chain keys tracked at most (the longest-idle are closed beyond it).
    pub max_chain_keys: usize,
    /// A record time further than this ahead of the clock is suspicious: counted, and
    /// not used as a time (ms).
    pub future_skew_ms: i64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            retry_window_ms: 60_000,
            top_clients: 20,
            top_endpoints: 50,
            providers: Providers::builtin_shared(),
            ingest: Arc::new(IngestConfig {
                providers: Arc::clone(Providers::builtin().map()),
                ..IngestConfig::default()
            }),
            max_chain_keys: 100_000,
            future_skew_ms: 600_000,
        }
    }
}

/// Classifies and counts records into [`Metrics`].
pub struct Pipeline {
    metrics: Metrics,
    ingest: Arc<IngestConfig>,
    future_skew_ms: i64,
    tracker: Tracker,
    clients: Admission,
    endpoints: Admission,
    endpoint: String,
    providers: Arc<Providers>,
    secrets: Secrets,
}

struct MetricsSink<'a>(&'a Metrics);

impl Sink for MetricsSink<'_> {
    fn retry(&mut self, provider: u8, judged: &RetryCounts) {
        self.0.retry(provider, judged);
    }
    fn chain(&mut self, chain: &OpenChain) {
        if chain.retries > 0 {
            let outcome = if chain.last.failure {
                "abandoned"
            } else {
                "recovered"
            };
            self.0
                .chains
                .with_label_values(&[self.0.provider_name(chain.last.provider), outcome])
                .inc();
        }
    }
}

impl Pipeline {
    /// A pipeline counting into `metrics`.
    pub fn new(metrics: Metrics, cfg: &PipelineConfig) -> Self {
        Pipeline {
            metrics,
            ingest: cfg.ingest.clone(),
            future_skew_ms: cfg.future_skew_ms,
            // A live stream starts here: nothing before it to resolve; its state is
            // bounded by arrival and by count, whatever the logs hold.
            tracker: Tracker::live(cfg.retry_window_ms, cfg.max_chain_keys),
            clients: Admission::new(cfg.top_clients, 10_000),
            endpoints: Admission::new(cfg.top_endpoints, 10_000),
            endpoint: String::with_capacity(64),
            secrets: Secrets::of(&cfg.providers),
            providers: Arc::clone(&cfg.providers),
        }
    }

    /// The metrics this pipeline counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// How inputs are read.
    pub fn ingest(&self) -> &IngestConfig {
        &self.ingest
    }

    /// A decoder for an input that starts with `head`.
    pub fn decoder(&self, head: &[u8]) -> Decoder {
        Decoder::new(&self.ingest, head)
    }

    /// Counts an `/ingest` body: NDJSON or any line shape, a JSON array of records
    /// (Fluent Bit's `format json`), or a HAR document. Returns what it held, with the
    /// first `sample` malformed lines.
    pub fn body(&mut self, body: &[u8], sample: usize) -> BodyOutcome {
        let mut decoder = self.decoder(body);
        let mut out = BodySink {
            pipeline: self,
            outcome: BodyOutcome::default(),
            sample,
            number: 0,
        };
        let array = if body.trim_ascii_start().starts_with(b"[") {
            // A JSON array body when the whole body is one; else lines (an NDJSON body
            // may well start with a line that is an array).
            serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(body).ok()
        } else {
            None
        };
        if decoder.is_document() {
            // Read from memory: no read error can occur.
            let _ = decoder.document(body, &mut out);
        } else if let Some(elements) = array {
            out.array(elements, &mut decoder);
        } else {
            let cap = out.pipeline.ingest.max_line;
            errlens_parse::frame::frame_all(
                body,
                cap,
                &mut Lines {
                    sink: &mut out,
                    decoder: &mut decoder,
                    cap,
                },
            );
        }
        out.pipeline.metrics.bytes_read.inc_by(body.len() as u64);
        out.outcome
    }
}

impl RecordSink for Pipeline {
    fn record(&mut self, rec: &Record<'_>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        if rec.ts_ms.is_some_and(|ts| ts > now + self.future_skew_ms) {
            // A time from the future would freeze the clock the state is swept by.
            self.metrics.suspicious_timestamps.inc();
            let mut timeless = rec.clone();
            timeless.ts_ms = None;
            return self.count(&timeless, now);
        }
        self.count(rec, now)
    }
    fn blank(&mut self) {
        self.metrics.lines.with_label_values(&["blank"]).inc();
    }
    fn malformed(&mut self, _line: u64, _error: &ParseError) {
        self.metrics.lines.with_label_values(&["malformed"]).inc();
    }
}

impl Pipeline {
    /// Counts one record whose time (if any) is plausible; `now` is the wall clock.
    fn count(&mut self, rec: &Record<'_>, now: i64) {
        let m = &self.metrics;
        m.lines.with_label_values(&["record"]).inc();
        let v = self.providers.classify(rec);
        m.record(&v, rec.latency_ms, rec.ts_ms);
        let p = self.providers.name(rec.provider);
        let client = self.clients.label(rec.client_id.as_deref().unwrap_or(""));
        let client = if client.is_empty() { "none" } else { client };
        m.requests_by_client.with_label_values(&[p, client]).inc();
        if rec.status == 429 {
            m.rate_limited_by_client
                .with_label_values(&[p, client])
                .inc();
        }
        if rec.status == 412 {
            m.client_id_failed_by_client
                .with_label_values(&[p, client])
                .inc();
        }
        if let Some(path) = rec.path() {
            self.endpoint.clear();
            template_into(path, &mut self.endpoint, &self.secrets);
            let label = self.endpoints.label(&self.endpoint);
            m.endpoint_requests
                .with_label_values(&[p, label, code_label(rec.status)])
                .inc();
        }
        let mut sink = MetricsSink(&self.metrics);
        self.tracker.tick(now, &mut sink);
        self.tracker.observe(rec, &v, 0, &mut sink);
        self.metrics.chain_keys.set(self.tracker.keys() as i64);
    }
}

/// Framed lines of one input, decoded into a sink (the pipeline, or a body's counts).
pub struct Lines<'a, S: RecordSink> {
    /// Where records go.
    pub sink: &'a mut S,
    /// The input's decoder.
    pub decoder: &'a mut Decoder,
    /// The line cap (named in the malformed reason).
    pub cap: usize,
}

impl<S: RecordSink + Numbered> Frames for Lines<'_, S> {
    fn line(&mut self, line: &[u8], _raw_len: u64) {
        let n = self.sink.next_number();
        self.decoder.line(n, line, self.sink);
    }
    fn too_long(&mut self, _raw_len: u64) {
        let n = self.sink.next_number();
        self.sink.malformed(n, &ParseError::TooLong(self.cap));
    }
}

/// A sink that numbers the lines it is given.
pub trait Numbered {
    /// The next line's 1-based number.
    fn next_number(&mut self) -> u64;
}

/// A followed file's or standard input's lines: counted in the pipeline, numbered.
pub struct Counted<'a> {
    /// The pipeline.
    pub pipeline: &'a mut Pipeline,
    /// Lines so far.
    pub number: &'a mut u64,
}

impl RecordSink for Counted<'_> {
    fn record(&mut self, rec: &Record<'_>) {
        self.pipeline.record(rec);
    }
    fn blank(&mut self) {
        self.pipeline.blank();
    }
    fn malformed(&mut self, line: u64, error: &ParseError) {
        self.pipeline.malformed(line, error);
    }
}

impl Numbered for Counted<'_> {
    fn next_number(&mut self) -> u64 {
        *self.number += 1;
        *self.number
    }
}

/// One `/ingest` body's counts, on top of the pipeline's.
struct BodySink<'a> {
    pipeline: &'a mut Pipeline,
    outcome: BodyOutcome,
    sample: usize,
    number: u64,
}

impl BodySink<'_> {
    /// A JSON array body: each element is one line of the input. An element that is a
    /// shipper's wrapper around a raw log line — a string `log` with nothing beside it
    /// but the wrapper's own keys ([`WRAPPER_KEYS`]: Fluent Bit, Docker, CRI) — is that
    /// line.
    fn array(&mut self, elements: Vec<&serde_json::value::RawValue>, decoder: &mut Decoder) {
        for el in elements {
            let n = self.next_number();
            let bytes = el.get().as_bytes();
            match unwrap_log(bytes) {
                Some(line) => {
                    let line = line.trim_end_matches(['\n', '\r']);
                    decoder.line(n, line.as_bytes(), self);
                }
                None => decoder.line(n, bytes, self),
            }
        }
    }
}

/// Keys a log shipper puts beside the raw line it wraps in `log`.
pub const WRAPPER_KEYS: &[&str] = &[
    "log",
    "date",
    "time",
    "timestamp",
    "@timestamp",
    "stream",
    "tag",
    "_p",
    "logtag",
    "source",
    "partial_message",
    "container_id",
    "container_name",
    "kubernetes",
    "docker",
];

/// The raw line inside a shipper's wrapper object, if `element` is one.
fn unwrap_log(element: &[u8]) -> Option<String> {
    let map: std::collections::BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(element).ok()?;
    if !map.keys().all(|k| WRAPPER_KEYS.contains(&k.as_str())) {
        return None;
    }
    match map.get("log")? {
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

impl Numbered for BodySink<'_> {
    fn next_number(&mut self) -> u64 {
        self.number += 1;
        self.number
    }
}

impl RecordSink for BodySink<'_> {
    fn record(&mut self, rec: &Record<'_>) {
        self.outcome.records += 1;
        self.pipeline.record(rec);
    }
    fn blank(&mut self) {
        self.outcome.blank += 1;
        self.pipeline.blank();
    }
    fn malformed(&mut self, line: u64, error: &ParseError) {
        self.outcome.malformed += 1;
        if self.outcome.errors.len() < self.sample {
            self.outcome.errors.push((line, error.to_string()));
        }
        self.pipeline.malformed(line, error);
    }
}

/// What a body of lines contained.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BodyOutcome {
    /// Records counted.
    pub records: u64,
    /// Blank lines.
    pub blank: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// The first malformed lines: (1-based line number, reason).
    pub errors: Vec<(u64, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::DEFAULT_BUCKETS;
    use prometheus::Registry;

    #[test]
    fn counts_lines_and_retries() {
        let r = Registry::new();
        let m = Metrics::register(
            &r,
            &DEFAULT_BUCKETS,
            &errlens_classify::Registry::builtin_shared(),
        )
        .unwrap();
        let mut p = Pipeline::new(m.clone(), &PipelineConfig::default());
        let body = concat!(
            r#"{"ts":1795168800,"url":"https://api.simkl.com/sync/activities","status":412,"error":"client_id_failed","client_id":"a","attempt":1}"#,
            "\n",
            r#"{"ts":1795168801,"url":"https://api.simkl.com/sync/activities","status":412,"error":"client_id_failed","client_id":"a","attempt":2}"#,
            "\n",
            "\n",
            "garbage\n",
        );
        let out = p.body(body.as_bytes(), 5);
        assert_eq!((out.records, out.blank, out.malformed), (2, 1, 1));
        assert_eq!(out.errors[0].0, 4);
        assert_eq!(m.retries.with_label_values(&["simkl", "wasted"]).get(), 1);
        assert_eq!(
            m.rate_limited_by_client
                .with_label_values(&["simkl", "a"])
                .get(),
            0
        );
        assert_eq!(
            m.client_id_failed_by_client
                .with_label_values(&["simkl", "a"])
                .get(),
            2
        );
        assert_eq!(
            m.failures
                .with_label_values(&["simkl", "client_id_failed", "client_id_failed"])
                .get(),
            2
        );
        assert_eq!(m.last_record_timestamp.get(), 1_795_168_801.0);
    }
}
