//! The report: the versioned JSON contract `errlens.report/v1`, rendered from a
//! [`Summary`].
//!
//! Field names here are a public contract (documented in `docs/report-schema.md`):
//! later versions add fields, never rename or remove them.

pub use crate::summary::MalformedLine;
use crate::summary::{InputStats, Summary};
use errlens_classify::classify_parts;
use errlens_parse::Provider;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema id of the report contract.
pub const SCHEMA: &str = "errlens.report/v1";

/// One (provider, status, error id, TMDB code) combination and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// `simkl`, `tmdb` or `unknown`.
    pub provider: String,
    /// HTTP status as logged.
    pub status: u16,
    /// Raw Simkl `error` id (unknown ids kept as logged).
    pub error: Option<String>,
    /// Raw TMDB `status_code`.
    pub tmdb_code: Option<i64>,
    /// Outcome class.
    pub class: String,
    /// Whether these records are failures.
    pub failure: bool,
    /// Whether retrying can help.
    pub retryable: bool,
    /// Retry policy (`none`, `never`, `backoff`, `exponential`).
    pub retry: String,
    /// Whether these are failures hidden under an HTTP status below 400.
    pub hidden_failure: bool,
    /// Records in the group.
    pub count: u64,
}

/// The report contract, `errlens.report/v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Lines that parsed as records.
    pub records: u64,
    /// Lines that are not records (not a JSON object, or no usable HTTP status).
    pub malformed: u64,
    /// White-space-only lines.
    pub blank: u64,
    /// Records classified as failures.
    pub failures: u64,
    /// Failures logged under an HTTP status below 400.
    pub hidden_failures: u64,
    /// Records whose envelope disagrees with the logged HTTP status.
    pub status_mismatches: u64,
    /// Records per HTTP status (keys are the status as a string).
    pub by_status: BTreeMap<String, u64>,
    /// Every (provider, status, error, tmdb_code) combination, most frequent first.
    pub groups: Vec<Group>,
    /// The first malformed lines, with line numbers.
    pub malformed_sample: Vec<MalformedLine>,
    /// Malformed lines per reason kind.
    pub malformed_by_reason: BTreeMap<String, u64>,
    /// What was read from each input.
    pub inputs: Vec<InputStats>,
}

impl Report {
    /// Renders the report of a summary.
    pub fn from_summary(s: &Summary) -> Report {
        let mut groups: Vec<Group> = s
            .groups
            .iter()
            .map(|g| {
                let v = classify_parts(
                    g.provider(),
                    g.status,
                    g.error.as_deref(),
                    g.tmdb_code,
                    None,
                );
                Group {
                    provider: g.provider.clone(),
                    status: g.status,
                    error: g.error.clone(),
                    tmdb_code: g.tmdb_code,
                    class: v.class.as_str().to_owned(),
                    failure: v.failure,
                    retryable: v.retryable(),
                    retry: v.retry.as_str().to_owned(),
                    hidden_failure: v.hidden_failure,
                    count: g.count,
                }
            })
            .collect();
        // Most frequent first; ties in a stable, readable order.
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| provider_rank(&a.provider).cmp(&provider_rank(&b.provider)))
                .then_with(|| a.status.cmp(&b.status))
                .then_with(|| a.error.cmp(&b.error))
                .then_with(|| a.tmdb_code.cmp(&b.tmdb_code))
        });
        Report {
            schema: SCHEMA.to_owned(),
            records: s.records,
            malformed: s.malformed,
            blank: s.blank,
            failures: s.failures,
            hidden_failures: s.hidden_failures,
            status_mismatches: s.status_mismatches,
            by_status: s
                .by_status
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            groups,
            malformed_sample: s.malformed_sample.clone(),
            malformed_by_reason: s.malformed_by_reason.clone(),
            inputs: s.inputs.clone(),
        }
    }
}

fn provider_rank(name: &str) -> usize {
    Provider::ALL
        .iter()
        .position(|p| p.as_str() == name)
        .unwrap_or(Provider::ALL.len())
}
