//! The report: the versioned JSON contract `errlens.report/v1`, rendered from a
//! [`Summary`].
//!
//! Field names here are a public contract (documented in `docs/report-schema.md`):
//! later versions add fields, never rename or remove them.

use crate::capped::OTHER;
use crate::chains::RetryCounts;
use crate::latency::{Latency, Quantiles};
pub use crate::summary::MalformedLine;
use crate::summary::{ClientStats, EndpointStats, InputStats, Pressure, Resolved, Summary};
use errlens_classify::{Registry, Stamp};
use errlens_parse::timestamp::format_minute;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The schema id of the report contract.
pub const SCHEMA: &str = "errlens.report/v1";

/// One (provider, status, error, own code) combination and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// A loaded provider's name (`simkl`, `tmdb`, …) or `unknown`.
    pub provider: String,
    /// HTTP status as logged.
    pub status: u16,
    /// The error: an error id as logged (shown only when it looks like an id), or the
    /// label of the matched row for providers whose errors are messages.
    pub error: Option<String>,
    /// The provider's own code as logged (TMDB's `status_code`), for providers whose
    /// errors are matched by code; the name is v1's.
    pub tmdb_code: Option<i64>,
    /// The same own code, under a provider-neutral name.
    #[serde(default)]
    pub code: Option<i64>,
    /// The body's success flag said false, for a provider where that alone is a
    /// failure (OMDb's `"Response":"False"`); present only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsuccessful: bool,
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
    /// `false` when the provider's table lacks this status, code or message: the
    /// generic HTTP table judged it.
    #[serde(default = "yes")]
    pub in_table: bool,
    /// Records in the group.
    pub count: u64,
}

fn yes() -> bool {
    true
}

/// Records left out by `--since`, `--until`, `--provider`, `--client`, `--endpoint`,
/// `--status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filtered {
    /// Records left out (not in any other count of the report).
    pub records: u64,
    /// What was kept, filter by filter (`status 4xx`, `provider tmdb`).
    pub by: Vec<String>,
}

/// The report contract, `errlens.report/v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The provider definitions the records were classified with (name and content
    /// hash), in report order.
    #[serde(default)]
    pub definitions: Vec<Stamp>,
    /// Lines that parsed as records.
    pub records: u64,
    /// Lines that are not records (not a JSON object, or no usable HTTP status).
    pub malformed: u64,
    /// White-space-only lines.
    pub blank: u64,
    /// Records the report's filters left out, and the filters (absent without
    /// filters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Filtered>,
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
    /// Retry hygiene: retries, their judgements and chains.
    pub retries: Retries,
    /// 429 and 412 pressure.
    pub pressure: PressureReport,
    /// Latency quantiles per provider, milliseconds.
    pub latency_ms: BTreeMap<String, Quantiles>,
}

/// Options of a rendered report (not part of the aggregate state).
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// How many clients and endpoints to list before folding the rest into `other`.
    pub top: usize,
    /// The providers the summary was made with (groups are judged by them).
    pub registry: Arc<Registry>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            top: 10,
            registry: Registry::builtin_shared(),
        }
    }
}

/// Retry judgements of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRetries {
    /// The client id (`""` when none was logged).
    pub client_id: String,
    /// Its retries and their judgements.
    #[serde(flatten)]
    pub retries: RetryCounts,
}

/// The `retries` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retries {
    /// Retries (records with attempt > 1, or inferred) and their judgements.
    #[serde(flatten)]
    pub counts: RetryCounts,
    /// Chains (logical requests with at least one retry).
    pub chains: u64,
    /// Chains whose last attempt succeeded.
    pub recovered: u64,
    /// Chains whose last attempt failed.
    pub abandoned: u64,
    /// Per provider.
    pub by_provider: BTreeMap<String, RetryCounts>,
    /// Clients with faulty retries, worst first (top N).
    pub worst_clients: Vec<ClientRetries>,
}

/// Requests and pressure of one slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// Requests.
    pub requests: u64,
    /// HTTP 429 responses.
    #[serde(rename = "429")]
    pub r429: u64,
    /// HTTP 412 responses.
    #[serde(rename = "412")]
    pub r412: u64,
}

impl From<&Pressure> for Slice {
    fn from(p: &Pressure) -> Self {
        Slice {
            requests: p.requests,
            r429: p.rate_limited,
            r412: p.client_id_failed,
        }
    }
}

/// Pressure of one named slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named<K> {
    /// What the slice is (`client_id`, `provider` + `endpoint`, or `minute`).
    #[serde(flatten)]
    pub key: K,
    /// Its requests and pressure.
    #[serde(flatten)]
    pub slice: Slice,
}

/// A client key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientKey {
    /// Client id; `other` folds the clients past the top N, `<other>` those past the
    /// cap on distinct clients.
    pub client_id: String,
}

/// A provider key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderKey {
    /// Provider name.
    pub provider: String,
}

/// An endpoint key, with its latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointKey {
    /// Provider name.
    pub provider: String,
    /// Templated path; `other` folds the endpoints past the top N, `<other>` (per
    /// provider) those past the cap on distinct endpoints.
    pub endpoint: String,
    /// Latency quantiles, milliseconds (null when none was logged).
    pub latency_ms: Option<Quantiles>,
}

/// A minute key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinuteKey {
    /// The minute, RFC 3339 UTC (`2026-11-20T10:04Z`).
    pub minute: String,
}

/// The minute with the most responses of one status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// The minute, RFC 3339 UTC.
    pub minute: String,
    /// Responses of the status in that minute.
    pub count: u64,
    /// All requests in that minute.
    pub requests: u64,
}

/// The `pressure` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PressureReport {
    /// Records with HTTP 429.
    pub rate_limited: u64,
    /// Records with HTTP 412.
    pub client_id_failed: u64,
    /// 429s as a share of records (0..1).
    pub rate_limited_share: f64,
    /// 412s as a share of records (0..1).
    pub client_id_failed_share: f64,
    /// Per provider.
    pub by_provider: Vec<Named<ProviderKey>>,
    /// Top N clients by requests, then `other` (the rows sum to the records).
    pub by_client: Vec<Named<ClientKey>>,
    /// Top N endpoints by requests, then `other` (the rows sum to the records with a
    /// path).
    pub by_endpoint: Vec<Named<EndpointKey>>,
    /// Every minute with records (records without a timestamp are not in it).
    pub per_minute: Vec<Named<MinuteKey>>,
    /// The minute with the most 429s and the one with the most 412s.
    pub peak_minute: BTreeMap<String, Option<Peak>>,
}

impl Report {
    /// Renders the report of a summary, resolving chains still open at its edges.
    pub fn from_summary(s: &Summary, opts: &ReportOptions) -> Report {
        // Only the counts that resolving the open chains changes are copied (not the
        // histograms); a summary of an older version over its endpoint cap is folded.
        let capped;
        let s = if s.endpoints_over_cap() {
            capped = s.finalized();
            &capped
        } else {
            s
        };
        let resolved = s.resolve();
        let registry = &opts.registry;
        let mut groups: Vec<Group> = s
            .groups
            .iter()
            .map(|g| {
                let id = registry
                    .by_name(&g.provider)
                    .unwrap_or(errlens_parse::ProviderId::UNKNOWN);
                let v = registry.judge_group(
                    id,
                    g.status,
                    g.error.as_deref(),
                    g.tmdb_code,
                    g.unsuccessful,
                );
                Group {
                    provider: g.provider.clone(),
                    status: g.status,
                    error: g.error.clone(),
                    tmdb_code: g.tmdb_code,
                    code: g.tmdb_code,
                    unsuccessful: g.unsuccessful,
                    class: v.class.as_str().to_owned(),
                    failure: v.failure,
                    retryable: v.retryable(),
                    retry: v.retry.as_str().to_owned(),
                    hidden_failure: v.hidden_failure,
                    in_table: v.in_table,
                    count: g.count,
                }
            })
            .collect();
        // Most frequent first; ties in a stable, readable order.
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| {
                    provider_rank(registry, &a.provider).cmp(&provider_rank(registry, &b.provider))
                })
                .then_with(|| a.status.cmp(&b.status))
                .then_with(|| a.error.cmp(&b.error))
                .then_with(|| a.tmdb_code.cmp(&b.tmdb_code))
        });
        Report {
            schema: SCHEMA.to_owned(),
            definitions: s.definitions.clone(),
            records: s.records,
            malformed: s.malformed,
            blank: s.blank,
            filtered: (!s.filter.is_empty()).then(|| Filtered {
                records: s.filtered,
                by: s.filter.clone(),
            }),
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
            inputs: s
                .inputs
                .iter()
                .map(|i| InputStats {
                    // The shape that read the input's records (`mixed` for several).
                    shape: i.shape_name().map(str::to_owned),
                    ..i.clone()
                })
                .collect(),
            retries: retries(&resolved, opts),
            pressure: pressure(s, &resolved, opts),
            latency_ms: s
                .latency
                .iter()
                .filter_map(|(p, l)| Some((p.clone(), l.quantiles()?)))
                .collect(),
        }
    }
}

fn retries(s: &Resolved, opts: &ReportOptions) -> Retries {
    let r = &s.retries;
    let mut worst: Vec<ClientRetries> = s
        .clients
        .iter()
        // The clients folded past the cap are not one client.
        .filter(|(name, c)| name.as_str() != OTHER && c.retries.bad() > 0)
        .map(|(name, c)| ClientRetries {
            client_id: name.clone(),
            retries: c.retries,
        })
        .collect();
    worst.sort_by(|a, b| {
        b.retries
            .bad()
            .cmp(&a.retries.bad())
            .then_with(|| b.retries.total.cmp(&a.retries.total))
            .then_with(|| a.client_id.cmp(&b.client_id))
    });
    worst.truncate(opts.top);
    Retries {
        counts: *r,
        chains: s.chains.chains,
        recovered: s.chains.recovered,
        abandoned: s.chains.abandoned,
        by_provider: s.retries_by_provider.clone(),
        worst_clients: worst,
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Splits `items` into the `n` with most requests (ties in their given order, which is
/// sorted by name) and the rest.
fn split_top<T>(mut items: Vec<T>, n: usize, requests: impl Fn(&T) -> u64) -> (Vec<T>, Vec<T>) {
    items.sort_by_key(|t| std::cmp::Reverse(requests(t)));
    let rest = items.split_off(n.min(items.len()));
    (items, rest)
}

fn pressure(s: &Summary, resolved: &Resolved, opts: &ReportOptions) -> PressureReport {
    let total: Pressure = s.providers.values().fold(Pressure::default(), |mut a, p| {
        a.add(p);
        a
    });
    let by_provider = s
        .providers
        .iter()
        .map(|(p, c)| Named {
            key: ProviderKey {
                provider: p.clone(),
            },
            slice: c.into(),
        })
        .collect();
    // The clients folded past the summary's cap are one row, `<other>`, ranked like the
    // others (so a reader sees how much of the traffic is not broken down by client);
    // `other` is the rows past the top N. The rows always sum to the records.
    let clients: Vec<(&String, &ClientStats)> = resolved.clients.iter().collect();
    let (top, rest) = split_top(clients, opts.top, |(_, c)| c.pressure.requests);
    let mut by_client: Vec<Named<ClientKey>> = top
        .into_iter()
        .map(|(name, c)| Named {
            key: ClientKey {
                client_id: name.clone(),
            },
            slice: (&c.pressure).into(),
        })
        .collect();
    if !rest.is_empty() {
        let mut other = Pressure::default();
        rest.iter().for_each(|(_, c)| other.add(&c.pressure));
        by_client.push(Named {
            key: ClientKey {
                client_id: "other".to_owned(),
            },
            slice: (&other).into(),
        });
    }

    // Likewise the endpoints folded past the cap: one `<other>` row per provider.
    let endpoints: Vec<&EndpointStats> = s.endpoints.iter().collect();
    let (top, rest) = split_top(endpoints, opts.top, |e| e.pressure.requests);
    let mut by_endpoint: Vec<Named<EndpointKey>> = top
        .into_iter()
        .map(|e| Named {
            key: EndpointKey {
                provider: e.provider.clone(),
                endpoint: e.endpoint.clone(),
                latency_ms: e.latency.quantiles(),
            },
            slice: (&e.pressure).into(),
        })
        .collect();
    if !rest.is_empty() {
        let mut other = Pressure::default();
        let mut latency = Latency::default();
        for e in &rest {
            other.add(&e.pressure);
            latency.merge(&e.latency);
        }
        by_endpoint.push(Named {
            key: EndpointKey {
                provider: "other".to_owned(),
                endpoint: "other".to_owned(),
                latency_ms: latency.quantiles(),
            },
            slice: (&other).into(),
        });
    }
    let per_minute: Vec<Named<MinuteKey>> = s
        .minutes
        .iter()
        .map(|m| Named {
            key: MinuteKey {
                minute: format_minute(m.minute * 1000),
            },
            slice: (&m.pressure).into(),
        })
        .collect();
    let peak = |f: fn(&Pressure) -> u64| {
        s.minutes
            .iter()
            .filter(|m| f(&m.pressure) > 0)
            // Most responses; the earliest minute wins a tie.
            .max_by(|a, b| {
                f(&a.pressure)
                    .cmp(&f(&b.pressure))
                    .then_with(|| b.minute.cmp(&a.minute))
            })
            .map(|m| Peak {
                minute: format_minute(m.minute * 1000),
                count: f(&m.pressure),
                requests: m.pressure.requests,
            })
    };
    let mut peak_minute = BTreeMap::new();
    peak_minute.insert("429".to_owned(), peak(|p| p.rate_limited));
    peak_minute.insert("412".to_owned(), peak(|p| p.client_id_failed));
    PressureReport {
        rate_limited: total.rate_limited,
        client_id_failed: total.client_id_failed,
        rate_limited_share: share(total.rate_limited, total.requests),
        client_id_failed_share: share(total.client_id_failed, total.requests),
        by_provider,
        by_client,
        by_endpoint,
        per_minute,
        peak_minute,
    }
}

impl Report {
    /// A provider's place in report order: the definitions' order, then `unknown` (and
    /// names no definition has) last.
    pub fn provider_rank(&self, name: &str) -> usize {
        self.definitions
            .iter()
            .position(|d| d.name == name)
            .unwrap_or(self.definitions.len())
    }
}

/// Report order: the registry's providers, then `unknown`.
fn provider_rank(registry: &Registry, name: &str) -> usize {
    registry
        .names()
        .position(|p| p == name)
        .unwrap_or(usize::MAX)
}
