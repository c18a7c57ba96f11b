//! The live pipeline: one line in, metrics updated. Shared by every input.
//!
//! It applies exactly what `errlens report` applies — the same parser, classifier and
//! retry-chain state machine — so live metrics and offline reports agree.

use crate::metrics::{code_label, Admission, Metrics};
use errlens_audit::chains::{OpenChain, RetryCounts, Sink, Tracker};
use errlens_audit::endpoint::template_into;
use errlens_classify::classify;
use errlens_parse::{is_blank, parse_line, ParseError, Provider};

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Retry window for inferred retries, ms.
    pub retry_window_ms: i64,
    /// Clients that get their own label (top K by volume; at most 2K ever).
    pub top_clients: usize,
    /// Endpoints that get their own label (top K by volume; at most 2K ever).
    pub top_endpoints: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            retry_window_ms: 60_000,
            top_clients: 20,
            top_endpoints: 50,
        }
    }
}

/// What a line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// A request record.
    Record,
    /// White space only.
    Blank,
    /// Not a record, and why.
    Malformed(ParseError),
}

/// Parses, classifies and counts lines into [`Metrics`].
pub struct Pipeline {
    metrics: Metrics,
    tracker: Tracker,
    clients: Admission,
    endpoints: Admission,
    endpoint: String,
}

struct MetricsSink<'a>(&'a Metrics);

impl Sink for MetricsSink<'_> {
    fn retry(&mut self, provider: u8, judged: &RetryCounts) {
        self.0.retry(provider_of(provider), judged);
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
                .with_label_values(&[provider_of(chain.last.provider).as_str(), outcome])
                .inc();
        }
    }
}

fn provider_of(i: u8) -> Provider {
    Provider::ALL[usize::from(i).min(2)]
}

impl Pipeline {
    /// A pipeline counting into `metrics`.
    pub fn new(metrics: Metrics, cfg: &PipelineConfig) -> Self {
        Pipeline {
            metrics,
            // A live stream starts here: nothing before it to resolve.
            tracker: Tracker::new(cfg.retry_window_ms, false),
            clients: Admission::new(cfg.top_clients, 10_000),
            endpoints: Admission::new(cfg.top_endpoints, 10_000),
            endpoint: String::with_capacity(64),
        }
    }

    /// The metrics this pipeline counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts one line (without its newline) and says what it was.
    pub fn line(&mut self, bytes: &[u8]) -> LineOutcome {
        let m = &self.metrics;
        if is_blank(bytes) {
            m.lines.with_label_values(&["blank"]).inc();
            return LineOutcome::Blank;
        }
        let rec = match parse_line(bytes) {
            Ok(rec) => rec,
            Err(e) => {
                m.lines.with_label_values(&["malformed"]).inc();
                return LineOutcome::Malformed(e);
            }
        };
        m.lines.with_label_values(&["record"]).inc();
        let v = classify(&rec);
        m.record(&v, rec.latency_ms, rec.ts_ms);
        let p = rec.provider.as_str();
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
            template_into(path, &mut self.endpoint);
            let label = self.endpoints.label(&self.endpoint);
            m.endpoint_requests
                .with_label_values(&[p, label, code_label(rec.status)])
                .inc();
        }
        let mut sink = MetricsSink(&self.metrics);
        self.tracker.observe(&rec, &v, 0, &mut sink);
        LineOutcome::Record
    }

    /// Counts every newline-terminated line of `chunk`; a final line without a newline
    /// is counted too (a complete body). Returns (records, malformed sample).
    pub fn body(&mut self, chunk: &[u8], sample: usize) -> BodyOutcome {
        let mut out = BodyOutcome::default();
        let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        if body.is_empty() {
            return out;
        }
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match self.line(line) {
                LineOutcome::Record => out.records += 1,
                LineOutcome::Blank => out.blank += 1,
                LineOutcome::Malformed(e) => {
                    out.malformed += 1;
                    if out.errors.len() < sample {
                        out.errors.push((i as u64 + 1, e.to_string()));
                    }
                }
            }
        }
        self.metrics.bytes_read.inc_by(chunk.len() as u64);
        out
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
        let m = Metrics::register(&r, &DEFAULT_BUCKETS).unwrap();
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
