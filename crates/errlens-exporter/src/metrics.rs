//! The exporter's metrics, registered on a caller-supplied [`Registry`].
//!
//! Every label value comes from a closed set: the loaded providers (and `unknown`),
//! classes, HTTP statuses (100–599), the error labels of each provider's definition
//! (else `other`), retry kinds, and for
//! clients and endpoints a bounded set of admitted names (else `other`). Raw log text
//! never becomes a label value, so the number of series is bounded whatever the logs
//! contain (see [`series_bound`]).

use errlens_audit::chains::RetryCounts;
use errlens_classify::{Class, Registry as Providers, Verdict};
use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Default latency buckets, seconds: API calls from a few ms to tens of seconds.
pub const DEFAULT_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Retry kinds, the values of the `kind` label.
pub const RETRY_KINDS: [&str; 5] = ["ok", "wasted", "early", "over_limit", "post_after_429"];

/// Every metric errlens exports.
#[derive(Clone)]
pub struct Metrics {
    /// Records by provider, HTTP status and class.
    pub requests: IntCounterVec,
    /// Failures by provider, class and error id / TMDB code.
    pub failures: IntCounterVec,
    /// Failures under an HTTP status below 400.
    pub hidden_failures: IntCounterVec,
    /// Records whose envelope disagrees with the HTTP status.
    pub status_mismatches: IntCounterVec,
    /// Retry judgements by provider and kind (a retry may count under several kinds).
    pub retries: IntCounterVec,
    /// Retries by provider (each retry once).
    pub retry_attempts: IntCounterVec,
    /// Finished retry chains by outcome.
    pub chains: IntCounterVec,
    /// HTTP 429 responses by provider and client.
    pub rate_limited_by_client: IntCounterVec,
    /// HTTP 412 responses by provider and client.
    pub client_id_failed_by_client: IntCounterVec,
    /// Requests by provider and client.
    pub requests_by_client: IntCounterVec,
    /// Requests by provider, templated endpoint and status code class.
    pub endpoint_requests: IntCounterVec,
    /// Latency by provider.
    pub duration: HistogramVec,
    /// Lines read by result (record, malformed, blank).
    pub lines: IntCounterVec,
    /// Bytes read from all inputs.
    pub bytes_read: IntCounter,
    /// Rotations, truncations and re-creations seen on followed files.
    pub file_rotations: IntCounter,
    /// Files currently followed.
    pub files_followed: IntGauge,
    /// `--follow` paths and patterns that name no file.
    pub follow_targets_missing: IntGauge,
    /// Records whose time was too far in the future to be used.
    pub suspicious_timestamps: prometheus::IntCounter,
    /// Retry-chain keys tracked.
    pub chain_keys: IntGauge,
    /// Time of the newest record, Unix seconds.
    pub last_record_timestamp: Gauge,
    /// Build information (always 1).
    pub build_info: IntGaugeVec,
    /// The providers whose names and error labels the label values are.
    pub providers: Arc<Providers>,
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

impl Metrics {
    /// Creates every metric and registers it on `registry`, with label values from
    /// `providers`.
    pub fn register(
        registry: &Registry,
        buckets: &[f64],
        providers: &Arc<Providers>,
    ) -> prometheus::Result<Metrics> {
        let r = registry;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "errlens_request_duration_seconds",
                "Latency of logged API requests, by provider.",
            )
            .buckets(buckets.to_vec()),
            &["provider"],
        )?;
        r.register(Box::new(duration.clone()))?;
        let bytes_read =
            IntCounter::new("errlens_bytes_read_total", "Bytes read from all inputs.")?;
        r.register(Box::new(bytes_read.clone()))?;
        let file_rotations = IntCounter::new(
            "errlens_file_rotations_total",
            "Rotations (rename, copytruncate, truncation, deletion and re-creation) seen on followed files.",
        )?;
        r.register(Box::new(file_rotations.clone()))?;
        let files_followed = IntGauge::new("errlens_files_followed", "Files currently followed.")?;
        r.register(Box::new(files_followed.clone()))?;
        let follow_targets_missing = IntGauge::new(
            "errlens_follow_targets_missing",
            "--follow paths and patterns that match no file at the last poll.",
        )?;
        r.register(Box::new(follow_targets_missing.clone()))?;
        let suspicious_timestamps = prometheus::IntCounter::new(
            "errlens_suspicious_timestamps_total",
            "Records whose time is further in the future than --future-skew: counted, their time not used.",
        )?;
        r.register(Box::new(suspicious_timestamps.clone()))?;
        let chain_keys = IntGauge::new(
            "errlens_chain_keys",
            "Retry-chain keys tracked (bounded by --max-chain-keys).",
        )?;
        r.register(Box::new(chain_keys.clone()))?;
        let last_record_timestamp = Gauge::new(
            "errlens_last_record_timestamp_seconds",
            "Timestamp of the newest record read, Unix seconds (0 before the first).",
        )?;
        r.register(Box::new(last_record_timestamp.clone()))?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "errlens_build_info",
                "errlens build information (always 1).",
            ),
            &["version", "commit"],
        )?;
        r.register(Box::new(build_info.clone()))?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("ERRLENS_COMMIT")])
            .set(1);
        // The process's own CPU, memory and file descriptors (`process_*`), as every
        // Prometheus exporter exports them.
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let m = Metrics {
            requests: counter(r, "errlens_requests_total", "Logged API requests by provider, HTTP status and class.", &["provider", "status", "class"])?,
            failures: counter(r, "errlens_failures_total", "Failed requests by provider, class and error (an error label of the provider's definition — a Simkl error id, a TMDB code —, none or other).", &["provider", "class", "error"])?,
            hidden_failures: counter(r, "errlens_hidden_failures_total", "Failures logged under an HTTP status below 400 (e.g. TMDB 21 under 200).", &["provider"])?,
            status_mismatches: counter(r, "errlens_status_mismatches_total", "Records whose error envelope disagrees with the logged HTTP status.", &["provider"])?,
            retries: counter(r, "errlens_retries_total", "Retry judgements by provider and kind: ok, wasted, early, over_limit, post_after_429 (a retry can have several faults).", &["provider", "kind"])?,
            retry_attempts: counter(r, "errlens_retry_attempts_total", "Retries by provider, each counted once.", &["provider"])?,
            chains: counter(r, "errlens_retry_chains_total", "Finished retry chains by provider and outcome (recovered, abandoned).", &["provider", "outcome"])?,
            rate_limited_by_client: counter(r, "errlens_rate_limited_by_client_total", "HTTP 429 responses by provider and client (top clients by volume, the rest as other).", &["provider", "client"])?,
            client_id_failed_by_client: counter(r, "errlens_client_id_failed_by_client_total", "HTTP 412 responses by provider and client (top clients by volume, the rest as other).", &["provider", "client"])?,
            requests_by_client: counter(r, "errlens_requests_by_client_total", "Requests by provider and client (top clients by volume, the rest as other).", &["provider", "client"])?,
            endpoint_requests: counter(r, "errlens_endpoint_requests_total", "Requests by provider, templated endpoint and status (2xx..5xx, 429, 412).", &["provider", "endpoint", "code"])?,
            duration,
            lines: counter(r, "errlens_lines_total", "Input lines by result: record, malformed or blank.", &["result"])?,
            bytes_read,
            file_rotations,
            files_followed,
            follow_targets_missing,
            suspicious_timestamps,
            chain_keys,
            last_record_timestamp,
            build_info,
            providers: Arc::clone(providers),
        };
        // Pre-create the closed-set series so dashboards and alerts see zeros, not
        // absent series, before the first event.
        for result in ["record", "malformed", "blank"] {
            m.lines.with_label_values(&[result]);
        }
        for p in providers.providers() {
            let p = p.name.as_str();
            m.hidden_failures.with_label_values(&[p]);
            m.status_mismatches.with_label_values(&[p]);
            m.retry_attempts.with_label_values(&[p]);
            for kind in RETRY_KINDS {
                m.retries.with_label_values(&[p, kind]);
            }
            for outcome in ["recovered", "abandoned"] {
                m.chains.with_label_values(&[p, outcome]);
            }
        }
        Ok(m)
    }

    /// Counts a judged retry of the provider with registry index `provider`.
    pub fn retry(&self, provider: u8, j: &RetryCounts) {
        let p = self.provider_name(provider);
        self.retry_attempts.with_label_values(&[p]).inc();
        for (kind, n) in [
            ("ok", j.ok),
            ("wasted", j.wasted),
            ("early", j.early),
            ("over_limit", j.over_limit),
            ("post_after_429", j.post_after_429),
        ] {
            if n > 0 {
                self.retries.with_label_values(&[p, kind]).inc_by(n);
            }
        }
    }

    /// The name of the provider with registry index `i`.
    pub fn provider_name(&self, i: u8) -> &str {
        self.providers.name(errlens_parse::ProviderId::new(i))
    }

    /// Counts one classified record (everything but clients, endpoints and retries).
    pub fn record(&self, v: &Verdict, latency_ms: Option<f64>, ts_ms: Option<i64>) {
        let p = self.providers.name(v.provider);
        self.requests
            .with_label_values(&[p, status_label(v.status), v.class.as_str()])
            .inc();
        if v.failure {
            self.failures
                .with_label_values(&[
                    p,
                    v.class.as_str(),
                    self.providers.label(v.provider, v.error),
                ])
                .inc();
        }
        if v.hidden_failure {
            self.hidden_failures.with_label_values(&[p]).inc();
        }
        if v.status_mismatch {
            self.status_mismatches.with_label_values(&[p]).inc();
        }
        if let Some(ms) = latency_ms {
            self.duration.with_label_values(&[p]).observe(ms / 1000.0);
        }
        if let Some(ts) = ts_ms {
            let secs = ts as f64 / 1000.0;
            if secs > self.last_record_timestamp.get() {
                self.last_record_timestamp.set(secs);
            }
        }
    }
}

/// The `status` label: the status as digits, from a static table (never formatted per
/// record).
pub fn status_label(status: u16) -> &'static str {
    static LABELS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let labels = LABELS.get_or_init(|| (0..600).map(|s| s.to_string()).collect());
    labels
        .get(usize::from(status))
        .map_or("other", String::as_str)
}

/// The `code` label of endpoint requests: `429` and `412` kept apart, others by class.
pub fn code_label(status: u16) -> &'static str {
    match status {
        429 => "429",
        412 => "412",
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The longest label value (client id, endpoint) the exporter keeps, in bytes.
pub const MAX_LABEL_BYTES: usize = 128;

/// `name` cut to at most [`MAX_LABEL_BYTES`] bytes, at a character boundary.
pub fn truncate_label(name: &str) -> &str {
    errlens_audit::cut_to(name, MAX_LABEL_BYTES)
}

/// Admits label values (clients, endpoints) up to a bound; everything else is `other`.
///
/// Admission is by volume: names are tracked (at most `track` of them) and a name is
/// admitted once its volume reaches the smallest volume among the admitted ones while
/// fewer than `cap` are admitted (the first `k` are admitted outright). An admitted name
/// keeps its label for good, so its counters never move between series.
#[derive(Debug)]
pub struct Admission {
    k: usize,
    cap: usize,
    track: usize,
    counts: FxHashMap<Box<str>, u64>,
    admitted: FxHashMap<Box<str>, ()>,
}

impl Admission {
    /// Admits the top `k` by volume, at most `2k` ever, tracking at most `track` names.
    pub fn new(k: usize, track: usize) -> Self {
        Admission {
            k,
            cap: 2 * k,
            track,
            counts: FxHashMap::default(),
            admitted: FxHashMap::default(),
        }
    }

    /// Names that can ever have their own label.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Counts one event for `name` and returns its label: the name if admitted, else
    /// `other`. Names are cut to [`MAX_LABEL_BYTES`] first (at a character boundary),
    /// so neither the tracked names nor a label value grows with the input.
    pub fn label<'a>(&mut self, name: &'a str) -> &'a str {
        let name = truncate_label(name);
        if self.admitted.contains_key(name) {
            return name;
        }
        let n = if let Some(n) = self.counts.get_mut(name) {
            *n += 1;
            *n
        } else if self.counts.len() < self.track {
            self.counts.insert(name.into(), 1);
            1
        } else {
            return "other";
        };
        if name == "other" || self.admitted.len() >= self.cap {
            return "other";
        }
        let admit = self.admitted.len() < self.k || {
            let floor = self
                .admitted
                .keys()
                .map(|a| self.counts.get(a).copied().unwrap_or(0))
                .min()
                .unwrap_or(0);
            n > floor
        };
        if admit {
            self.admitted.insert(name.into(), ());
            name
        } else {
            "other"
        }
    }
}

/// The most series the exporter can create, for the loaded `providers`, `k` admitted
/// clients, `e` admitted endpoints and `buckets` latency buckets: a fixed function of
/// the configuration, not of the logs.
pub fn series_bound(providers: &Providers, k: usize, e: usize, buckets: usize) -> usize {
    let n = providers.slots();
    let statuses = 500;
    let classes = Class::ALL.len();
    // Error labels: each provider's distinct labels, `none` and `other` (the unknown
    // provider has `none` alone).
    let labels: usize = providers
        .providers()
        .iter()
        .map(|p| {
            let mut l: Vec<&str> = p.errors.iter().map(|r| r.label.as_str()).collect();
            l.sort_unstable();
            l.dedup();
            l.len() + 2
        })
        .sum::<usize>()
        + 1;
    let clients = 2 * k + 1;
    let endpoints = 2 * e + 1;
    let providers = n;
    providers * statuses // requests: status determines the class but is bounded by 500 per provider
        + classes * labels // failures
        + providers * 2 // hidden, mismatches
        + providers * (RETRY_KINDS.len() + 1 + 2) // retries, attempts, chains
        + providers * clients * 3 // by-client counters
        + providers * endpoints * 7 // endpoint requests by code
        + providers * (buckets + 3) // histogram buckets, +Inf, sum, count
        + 3 + 4 + 1 // lines, self metrics, build info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_cut_to_a_bounded_length() {
        let long = "é".repeat(200);
        let cut = truncate_label(&long);
        assert!(cut.len() <= MAX_LABEL_BYTES && cut.len() >= MAX_LABEL_BYTES - 1);
        let mut a = Admission::new(2, 10);
        assert_eq!(a.label(&"x".repeat(1 << 20)).len(), MAX_LABEL_BYTES);
        assert_eq!(a.label("short"), "short");
    }

    #[test]
    fn admission_is_bounded_and_sticky() {
        let mut a = Admission::new(2, 100);
        assert_eq!(a.label("a"), "a");
        assert_eq!(a.label("b"), "b");
        // A third name needs more volume than the smallest admitted one.
        assert_eq!(a.label("c"), "other");
        for _ in 0..5 {
            a.label("c");
        }
        assert_eq!(a.label("c"), "c");
        for i in 0..1000 {
            let name = format!("n{i}");
            for _ in 0..10 {
                a.label(&name);
            }
        }
        assert!(a.admitted.len() <= a.cap());
        assert!(a.counts.len() <= 100);
        assert_eq!(a.label("a"), "a", "admitted names stay");
    }

    #[test]
    fn registers_and_encodes() {
        let r = Registry::new();
        let m = Metrics::register(&r, &DEFAULT_BUCKETS, &Providers::builtin_shared()).unwrap();
        m.lines.with_label_values(&["record"]).inc();
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&r.gather())
            .unwrap();
        assert!(text.contains("errlens_lines_total{result=\"record\"} 1"));
        let info = text
            .lines()
            .find(|l| l.starts_with("errlens_build_info{"))
            .expect("build info");
        assert!(
            info.contains("version=\"") && info.contains("commit=\""),
            "{info}"
        );
        // A second registration on the same registry is an error, not a silent clash.
        assert!(Metrics::register(&r, &DEFAULT_BUCKETS, &Providers::builtin_shared()).is_err());
    }

    #[test]
    fn labels_are_static() {
        assert_eq!(status_label(429), "429");
        assert_eq!(status_label(999), "other");
        assert_eq!(code_label(503), "5xx");
        assert_eq!(code_label(412), "412");
    }
}
