//! The complete aggregate state of an audit, serializable and mergeable.
//!
//! A summary holds counts, not records, so it is small whatever the log size, and two
//! summaries of disjoint inputs merge into the summary of their union
//! ([`Summary::merge`]). `errlens report --emit-summary` writes one; `errlens merge`
//! combines them.

use crate::capped::{kept, OTHER};
use crate::chains::{ChainCounts, ChainState, ClientSink, OpenChain, RetryCounts};
use crate::latency::Latency;
use errlens_classify::{Registry, Stamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema id written into every serialized summary.
pub const SUMMARY_SCHEMA: &str = "errlens.summary/v3";

/// Why a summary could not be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// Not JSON, or not a summary's shape.
    #[error("not an errlens summary: {0}")]
    Decode(#[from] serde_json::Error),
    /// A summary of a schema this version does not read.
    #[error("unsupported summary schema {found:?} (this errlens reads {SUMMARY_SCHEMA:?})")]
    Schema {
        /// The schema the file declares.
        found: String,
    },
    /// Summaries made with different provider definitions: their counts do not add up.
    #[error("made with different provider definitions: {mine} here, {theirs} there (load the same --providers files for every summary)")]
    Definitions {
        /// This summary's definitions (`name@hash, …`).
        mine: String,
        /// The other summary's.
        theirs: String,
    },
}

fn stamps_text(s: &[Stamp]) -> String {
    s.iter()
        .map(|d| format!("{}@{}", d.name, d.hash))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Count of one (provider, status, error id, TMDB code) combination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GroupCount {
    /// Provider name.
    pub provider: String,
    /// HTTP status.
    pub status: u16,
    /// Raw Simkl `error` id, if logged.
    pub error: Option<String>,
    /// The provider's own code (TMDB's `status_code`), for providers whose errors are
    /// matched by code.
    pub tmdb_code: Option<i64>,
    /// The body's success flag said false, for a provider where that alone is a failure
    /// (OMDb's `"Response":"False"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsuccessful: bool,
    /// Records in the group.
    pub count: u64,
}

/// One malformed line, as shown in the report's sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedLine {
    /// 1-based line number within its input.
    pub line: u64,
    /// The input's name as given (`-` for stdin).
    pub file: String,
    /// Why it is not a record.
    pub reason: String,
}

/// What was read from one input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputStats {
    /// The input's name as given.
    pub file: String,
    /// Lines read (records, malformed and blank).
    pub lines: u64,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Why reading stopped early, if it did.
    pub error: Option<String>,
    /// The shape the input was read in (detected or forced); `None` for an input that
    /// could not be opened.
    #[serde(default)]
    pub shape: Option<String>,
    /// Records per shape that read them (several for a mixed input).
    #[serde(default)]
    pub shapes: std::collections::BTreeMap<String, u64>,
    /// Records read from this input.
    #[serde(default)]
    pub records: u64,
    /// Malformed lines (or records) of this input.
    #[serde(default)]
    pub malformed: u64,
}

impl InputStats {
    /// The shape to name for this input: the one shape that read its records, `mixed`
    /// when several did, else the shape it was read in.
    pub fn shape_name(&self) -> Option<&str> {
        match self.shapes.len() {
            0 => self.shape.as_deref(),
            1 => self.shapes.keys().next().map(String::as_str),
            _ => Some("mixed"),
        }
    }

    /// Adds the counts of another part of the same input.
    pub fn absorb(&mut self, other: &InputStats) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.records += other.records;
        self.malformed += other.malformed;
        for (k, n) in &other.shapes {
            *self.shapes.entry(k.clone()).or_default() += n;
        }
        if self.shape.is_none() {
            self.shape.clone_from(&other.shape);
        }
        if self.error.is_none() {
            self.error.clone_from(&other.error);
        }
    }
}

/// Requests and rate-limit pressure of one slice (a provider, client or minute).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pressure {
    /// Records.
    pub requests: u64,
    /// Records with HTTP status 429.
    pub rate_limited: u64,
    /// Records with HTTP status 412 (Simkl: client_id failed).
    pub client_id_failed: u64,
}

impl Pressure {
    /// Counts one record with HTTP status `status`.
    pub fn count(&mut self, status: u16) {
        self.requests += 1;
        self.rate_limited += u64::from(status == 429);
        self.client_id_failed += u64::from(status == 412);
    }

    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &Pressure) {
        self.requests += o.requests;
        self.rate_limited += o.rate_limited;
        self.client_id_failed += o.client_id_failed;
    }
}

/// Everything counted per client id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStats {
    /// Requests and pressure.
    #[serde(flatten)]
    pub pressure: Pressure,
    /// Retries by this client and their judgements.
    pub retries: RetryCounts,
}

/// Everything counted per endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// Provider name.
    pub provider: String,
    /// Templated path (`/3/movie/:id`).
    pub endpoint: String,
    /// Requests and pressure.
    #[serde(flatten)]
    pub pressure: Pressure,
    /// Latency distribution.
    pub latency: Latency,
}

/// Requests and pressure in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteStats {
    /// Start of the minute, Unix seconds.
    pub minute: i64,
    /// Requests and pressure.
    #[serde(flatten)]
    pub pressure: Pressure,
}

/// The full aggregate state of an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always [`SUMMARY_SCHEMA`].
    pub schema: String,
    /// The provider definitions the records were classified with (name and hash), in
    /// registry order: provider indices in `chain_state` refer to them (index 0 is
    /// the unknown provider).
    pub definitions: Vec<Stamp>,
    /// Lines that parsed as records.
    pub records: u64,
    /// Lines that did not.
    pub malformed: u64,
    /// White-space-only lines.
    pub blank: u64,
    /// Records left out by the report's filters (`--since`, `--status`, …).
    #[serde(default)]
    pub filtered: u64,
    /// The filters, described (empty when none).
    #[serde(default)]
    pub filter: Vec<String>,
    /// Records classified as failures.
    pub failures: u64,
    /// Failures logged under an HTTP status below 400.
    pub hidden_failures: u64,
    /// Records whose envelope disagrees with the logged HTTP status.
    pub status_mismatches: u64,
    /// Records per HTTP status.
    pub by_status: BTreeMap<u16, u64>,
    /// Records per (provider, status, error id, TMDB code), sorted by key.
    pub groups: Vec<GroupCount>,
    /// Error ids with their own groups: past it, the ids of smallest stable hash keep
    /// theirs and every other id's groups are counted under the error `<other>` (as for
    /// clients, see [`crate::Caps`]).
    #[serde(default = "default_max_errors")]
    pub max_errors: usize,
    /// Malformed lines per reason kind (`invalid_json`, `not_object`, `no_status`,
    /// `too_long`).
    pub malformed_by_reason: BTreeMap<String, u64>,
    /// The first malformed lines, in input order.
    pub malformed_sample: Vec<MalformedLine>,
    /// How many malformed lines the sample keeps.
    pub malformed_sample_cap: usize,
    /// Per-input read statistics, in input order.
    pub inputs: Vec<InputStats>,
    /// Finished retries and their judgements (open chains at the edges are in
    /// `chain_state`).
    pub retries: RetryCounts,
    /// Retries per provider.
    pub retries_by_provider: BTreeMap<String, RetryCounts>,
    /// Finished retry chains.
    pub chains: ChainCounts,
    /// Pressure per provider.
    pub providers: BTreeMap<String, Pressure>,
    /// Per client id (`""` when none was logged). At most `max_clients` ids have their
    /// own entry: those of smallest stable hash (see [`crate::Caps`]);
    /// every other id is counted in the entry `<other>`, so entries sum to the total.
    pub clients: BTreeMap<String, ClientStats>,
    /// Client ids with their own entry in `clients`.
    #[serde(default = "default_max_clients")]
    pub max_clients: usize,
    /// Per (provider, endpoint), sorted. At most `max_endpoints` endpoints have their
    /// own entry (as for clients); the rest are counted in their provider's entry
    /// with endpoint `<other>`.
    pub endpoints: Vec<EndpointStats>,
    /// Endpoints with their own entry in `endpoints` (`<other>` entries not counted).
    #[serde(default = "default_max_endpoints")]
    pub max_endpoints: usize,
    /// Per minute, sorted.
    pub minutes: Vec<MinuteStats>,
    /// Latency per provider.
    pub latency: BTreeMap<String, Latency>,
    /// Retry chains still open at either edge of the input, for exact merging.
    pub chain_state: ChainState,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            schema: SUMMARY_SCHEMA.to_owned(),
            definitions: Registry::builtin().stamps(),
            records: 0,
            malformed: 0,
            blank: 0,
            filtered: 0,
            filter: Vec::new(),
            failures: 0,
            hidden_failures: 0,
            status_mismatches: 0,
            by_status: BTreeMap::new(),
            groups: Vec::new(),
            max_errors: crate::MAX_ERRORS,
            malformed_by_reason: BTreeMap::new(),
            malformed_sample: Vec::new(),
            malformed_sample_cap: 10,
            inputs: Vec::new(),
            retries: RetryCounts::default(),
            retries_by_provider: BTreeMap::new(),
            chains: ChainCounts::default(),
            providers: BTreeMap::new(),
            clients: BTreeMap::new(),
            max_clients: crate::MAX_CLIENTS,
            endpoints: Vec::new(),
            max_endpoints: crate::MAX_ENDPOINTS,
            minutes: Vec::new(),
            latency: BTreeMap::new(),
            chain_state: ChainState {
                window_ms: 60_000,
                ..ChainState::default()
            },
        }
    }
}

impl Summary {
    /// Reads a summary written by [`Summary::to_json`], checking its schema.
    pub fn from_json(bytes: &[u8]) -> Result<Summary, SummaryError> {
        #[derive(Deserialize)]
        struct Head {
            schema: String,
        }
        let head: Head = serde_json::from_slice(bytes)?;
        if head.schema != SUMMARY_SCHEMA {
            return Err(SummaryError::Schema { found: head.schema });
        }
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Serializes the summary (compact JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary always serializes")
    }

    /// Adds `other` (the summary of inputs disjoint from this one's, read after them)
    /// into `self`. Summaries made with different provider definitions are refused.
    pub fn merge(&mut self, other: &Summary) -> Result<(), SummaryError> {
        self.merge_owned(other.clone())
    }

    /// [`Summary::merge`], consuming `other` (nothing of it is copied).
    pub fn merge_owned(&mut self, other: Summary) -> Result<(), SummaryError> {
        if self.definitions != other.definitions {
            return Err(SummaryError::Definitions {
                mine: stamps_text(&self.definitions),
                theirs: stamps_text(&other.definitions),
            });
        }
        self.records += other.records;
        self.malformed += other.malformed;
        self.blank += other.blank;
        self.filtered += other.filtered;
        for f in other.filter {
            if !self.filter.contains(&f) {
                self.filter.push(f);
            }
        }
        self.failures += other.failures;
        self.hidden_failures += other.hidden_failures;
        self.status_mismatches += other.status_mismatches;
        add_maps(&mut self.by_status, &other.by_status);
        add_maps(&mut self.malformed_by_reason, &other.malformed_by_reason);
        self.max_errors = self.max_errors.min(other.max_errors);
        self.groups = cap_errors(merge_groups(&self.groups, &other.groups), self.max_errors);
        self.malformed_sample_cap = self.malformed_sample_cap.max(other.malformed_sample_cap);
        let room = self
            .malformed_sample_cap
            .saturating_sub(self.malformed_sample.len());
        self.malformed_sample
            .extend(other.malformed_sample.into_iter().take(room));
        self.inputs.extend(other.inputs);
        self.retries.add(&other.retries);
        for (p, r) in &other.retries_by_provider {
            self.retries_by_provider
                .entry(p.clone())
                .or_default()
                .add(r);
        }
        self.chains.add(&other.chains);
        for (p, c) in &other.providers {
            self.providers.entry(p.clone()).or_default().add(c);
        }
        // Both sides kept the ids of smallest hash under their cap: the union, folded
        // back to the cap, is what one pass over both would have kept (see
        // `crate::capped`).
        self.max_clients = self.max_clients.min(other.max_clients);
        for (name, c) in other.clients {
            let mine = self.clients.entry(name).or_default();
            mine.pressure.add(&c.pressure);
            mine.retries.add(&c.retries);
        }
        cap_clients(&mut self.clients, self.max_clients);
        self.max_endpoints = self.max_endpoints.min(other.max_endpoints);
        self.endpoints = merge_sorted(
            std::mem::take(&mut self.endpoints),
            other.endpoints,
            |e| (e.provider.clone(), e.endpoint.clone()),
            |a, b| {
                a.pressure.add(&b.pressure);
                a.latency.merge(&b.latency);
            },
        );
        self.cap_endpoints();
        self.minutes = merge_sorted(
            std::mem::take(&mut self.minutes),
            other.minutes,
            |m| m.minute,
            |a, b| a.pressure.add(&b.pressure),
        );
        for (p, l) in &other.latency {
            self.latency.entry(p.clone()).or_default().merge(l);
        }
        let mut sink = SummarySink {
            definitions: &self.definitions,
            retries: &mut self.retries,
            by_provider: &mut self.retries_by_provider,
            chains: &mut self.chains,
            clients: &mut self.clients,
        };
        self.chain_state.merge(other.chain_state, &mut sink);
        Ok(())
    }

    /// Resolves the chains still open at the edges (as if nothing came before or
    /// after), giving the final retry and chain counts. The report is rendered from
    /// this.
    pub fn finalized(&self) -> Summary {
        let resolved = self.resolve();
        // Everything else as it is; the open chains are resolved, so not copied.
        let Summary {
            schema,
            definitions,
            records,
            malformed,
            blank,
            filtered,
            filter,
            failures,
            hidden_failures,
            status_mismatches,
            by_status,
            groups,
            max_errors,
            malformed_by_reason,
            malformed_sample,
            malformed_sample_cap,
            inputs,
            retries: _,
            retries_by_provider: _,
            chains: _,
            providers,
            clients: _,
            max_clients,
            endpoints,
            max_endpoints,
            minutes,
            latency,
            chain_state,
        } = self;
        let mut s = Summary {
            schema: schema.clone(),
            definitions: definitions.clone(),
            records: *records,
            malformed: *malformed,
            blank: *blank,
            filtered: *filtered,
            filter: filter.clone(),
            failures: *failures,
            hidden_failures: *hidden_failures,
            status_mismatches: *status_mismatches,
            by_status: by_status.clone(),
            // A summary written by an older version may hold more than its cap.
            groups: cap_errors(groups.clone(), *max_errors),
            max_errors: *max_errors,
            malformed_by_reason: malformed_by_reason.clone(),
            malformed_sample: malformed_sample.clone(),
            malformed_sample_cap: *malformed_sample_cap,
            inputs: inputs.clone(),
            retries: resolved.retries,
            retries_by_provider: resolved.retries_by_provider,
            chains: resolved.chains,
            providers: providers.clone(),
            clients: resolved.clients,
            max_clients: *max_clients,
            endpoints: endpoints.clone(),
            max_endpoints: *max_endpoints,
            minutes: minutes.clone(),
            latency: latency.clone(),
            chain_state: ChainState {
                window_ms: chain_state.window_ms,
                ..ChainState::default()
            },
        };
        // A summary written by an older version may hold more than its cap.
        s.cap_endpoints();
        s
    }

    /// The counts that resolving the chains still open changes, resolved: what
    /// [`Summary::finalized`] has in place of this summary's, without copying the rest.
    pub(crate) fn resolve(&self) -> Resolved {
        let mut clients = self.clients.clone();
        // A summary written by an older version may hold more than its cap.
        cap_clients(&mut clients, self.max_clients);
        let mut r = Resolved {
            retries: self.retries,
            retries_by_provider: self.retries_by_provider.clone(),
            chains: self.chains,
            clients,
        };
        let mut sink = SummarySink {
            definitions: &self.definitions,
            retries: &mut r.retries,
            by_provider: &mut r.retries_by_provider,
            chains: &mut r.chains,
            clients: &mut r.clients,
        };
        self.chain_state.finish(&mut sink);
        r
    }

    /// Whether more endpoints than `max_endpoints` have their own entry (a summary
    /// written by an older version).
    pub(crate) fn endpoints_over_cap(&self) -> bool {
        self.endpoints
            .iter()
            .filter(|e| e.endpoint != OTHER)
            .count()
            > self.max_endpoints
    }
}

/// The retry and chain counts of a summary with its open chains resolved.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) retries: RetryCounts,
    pub(crate) retries_by_provider: BTreeMap<String, RetryCounts>,
    pub(crate) chains: ChainCounts,
    pub(crate) clients: BTreeMap<String, ClientStats>,
}

/// Folds the client entries past `cap` (by stable hash) into `<other>`.
fn cap_clients(clients: &mut BTreeMap<String, ClientStats>, cap: usize) {
    let own = clients.len() - usize::from(clients.contains_key(OTHER));
    if own <= cap {
        return;
    }
    let names: Vec<&str> = clients
        .keys()
        .map(String::as_str)
        .filter(|n| *n != OTHER)
        .collect();
    let keep = kept(names.iter().copied(), cap);
    let folded: Vec<String> = names
        .iter()
        .zip(keep)
        .filter(|(_, k)| !k)
        .map(|(n, _)| (*n).to_owned())
        .collect();
    let mut other = clients.remove(OTHER).unwrap_or_default();
    for name in folded {
        if let Some(c) = clients.remove(&name) {
            other.pressure.add(&c.pressure);
            other.retries.add(&c.retries);
        }
    }
    clients.insert(OTHER.to_owned(), other);
}

impl Summary {
    /// Folds the endpoint entries past `max_endpoints` (by stable hash of `provider
    /// endpoint`, as the auditor ranks them) into their provider's `<other>` entry.
    fn cap_endpoints(&mut self) {
        let own = self
            .endpoints
            .iter()
            .filter(|e| e.endpoint != OTHER)
            .count();
        if own <= self.max_endpoints {
            return;
        }
        let names: Vec<String> = self
            .endpoints
            .iter()
            .filter(|e| e.endpoint != OTHER)
            .map(|e| format!("{} {}", e.provider, e.endpoint))
            .collect();
        let mut keep = kept(names.iter().map(String::as_str), self.max_endpoints).into_iter();
        let mut rows = Vec::with_capacity(self.max_endpoints + 8);
        let mut others: BTreeMap<String, EndpointStats> = BTreeMap::new();
        for e in std::mem::take(&mut self.endpoints) {
            let own = e.endpoint != OTHER;
            if own && keep.next().expect("a flag per own endpoint") {
                rows.push(e);
                continue;
            }
            match others.get_mut(&e.provider) {
                Some(o) => {
                    o.pressure.add(&e.pressure);
                    o.latency.merge(&e.latency);
                }
                None => {
                    others.insert(
                        e.provider.clone(),
                        EndpointStats {
                            endpoint: OTHER.to_owned(),
                            ..e
                        },
                    );
                }
            }
        }
        rows.extend(others.into_values());
        rows.sort_by(|a, b| (&a.provider, &a.endpoint).cmp(&(&b.provider, &b.endpoint)));
        self.endpoints = rows;
    }
}

fn default_max_clients() -> usize {
    crate::MAX_CLIENTS
}

fn default_max_endpoints() -> usize {
    crate::MAX_ENDPOINTS
}

fn default_max_errors() -> usize {
    crate::MAX_ERRORS
}

/// Counts chain outcomes resolved at a merge or at the end into a summary.
struct SummarySink<'a> {
    definitions: &'a [Stamp],
    retries: &'a mut RetryCounts,
    by_provider: &'a mut BTreeMap<String, RetryCounts>,
    chains: &'a mut ChainCounts,
    clients: &'a mut BTreeMap<String, ClientStats>,
}

impl ClientSink for SummarySink<'_> {
    fn retry(&mut self, client: &str, provider: u8, judged: &RetryCounts) {
        self.retries.add(judged);
        let p = usize::from(provider)
            .checked_sub(1)
            .and_then(|i| self.definitions.get(i))
            .map_or(errlens_classify::UNKNOWN, |d| d.name.as_str());
        self.by_provider
            .entry(p.to_owned())
            .or_default()
            .add(judged);
        // The client has an entry unless it was folded (in its shard or at a merge),
        // and a folded client is folded for good: its retries are `<other>`'s.
        match self.clients.get_mut(client) {
            Some(c) => c.retries.add(judged),
            None => self
                .clients
                .entry(OTHER.to_owned())
                .or_default()
                .retries
                .add(judged),
        }
    }

    fn chain(&mut self, chain: &OpenChain) {
        count_chain(self.chains, chain);
    }
}

/// Counts a finished chain (only chains with at least one retry count).
pub(crate) fn count_chain(c: &mut ChainCounts, chain: &OpenChain) {
    if chain.retries > 0 {
        c.chains += 1;
        if chain.last.failure {
            c.abandoned += 1;
        } else {
            c.recovered += 1;
        }
    }
}

/// Merges two vectors sorted by `key`, combining equal keys with `combine`.
fn merge_sorted<T, K: Ord>(
    a: Vec<T>,
    b: Vec<T>,
    key: impl Fn(&T) -> K,
    combine: impl Fn(&mut T, &T),
) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut bi = b.into_iter().peekable();
    for mut x in a {
        while let Some(y) = bi.next_if(|y| key(y) < key(&x)) {
            out.push(y);
        }
        while let Some(y) = bi.next_if(|y| key(y) == key(&x)) {
            combine(&mut x, &y);
        }
        out.push(x);
    }
    out.extend(bi);
    out
}

fn add_maps<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

type GroupKey = (String, u16, Option<String>, Option<i64>, bool);

fn merge_groups(a: &[GroupCount], b: &[GroupCount]) -> Vec<GroupCount> {
    sum_groups(a.iter().chain(b))
}

/// The groups of the error ids past `cap` (by stable hash) counted under `<other>`.
fn cap_errors(groups: Vec<GroupCount>, cap: usize) -> Vec<GroupCount> {
    if groups.len() <= cap {
        return groups;
    }
    let names: rustc_hash::FxHashSet<&str> = groups
        .iter()
        .filter_map(|g| g.error.as_deref())
        .filter(|e| *e != OTHER)
        .collect();
    if names.len() <= cap {
        return groups;
    }
    let names: Vec<&str> = names.into_iter().collect();
    let keep = kept(names.iter().copied(), cap);
    let folded: std::collections::HashSet<String> = names
        .iter()
        .zip(keep)
        .filter(|(_, k)| !k)
        .map(|(n, _)| (*n).to_owned())
        .collect();
    let renamed: Vec<GroupCount> = groups
        .into_iter()
        .map(|mut g| {
            if g.error.as_ref().is_some_and(|e| folded.contains(e)) {
                g.error = Some(OTHER.to_owned());
            }
            g
        })
        .collect();
    sum_groups(renamed.iter())
}

/// Groups with equal keys added together, sorted.
fn sum_groups<'a>(groups: impl Iterator<Item = &'a GroupCount>) -> Vec<GroupCount> {
    let mut m: BTreeMap<GroupKey, u64> = BTreeMap::new();
    for g in groups {
        *m.entry((
            g.provider.clone(),
            g.status,
            g.error.clone(),
            g.tmdb_code,
            g.unsuccessful,
        ))
        .or_default() += g.count;
    }
    m.into_iter()
        .map(
            |((provider, status, error, tmdb_code, unsuccessful), count)| GroupCount {
                provider,
                status,
                error,
                tmdb_code,
                unsuccessful,
                count,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(status: u16, count: u64) -> GroupCount {
        GroupCount {
            provider: "simkl".into(),
            status,
            error: None,
            tmdb_code: None,
            unsuccessful: false,
            count,
        }
    }

    #[test]
    fn merge_adds_counts_and_groups() {
        let mut a = Summary {
            records: 3,
            groups: vec![g(200, 2), g(429, 1)],
            ..Summary::default()
        };
        a.by_status.insert(200, 2);
        let mut b = Summary {
            records: 2,
            groups: vec![g(429, 2)],
            ..Summary::default()
        };
        b.by_status.insert(429, 2);
        a.merge(&b).unwrap();
        assert_eq!(a.records, 5);
        assert_eq!(a.groups, vec![g(200, 2), g(429, 3)]);
        assert_eq!(a.by_status.get(&429), Some(&2));
    }

    #[test]
    fn json_roundtrip_and_schema_check() {
        let s = Summary {
            records: 7,
            ..Summary::default()
        };
        assert_eq!(Summary::from_json(s.to_json().as_bytes()).unwrap(), s);
        // v2 hashed chain keys differently: its keys would not meet v3's in a merge.
        for old in ["other/v9", "errlens.summary/v2"] {
            let wrong = s.to_json().replace(SUMMARY_SCHEMA, old);
            assert!(matches!(
                Summary::from_json(wrong.as_bytes()),
                Err(SummaryError::Schema { .. })
            ));
        }
    }
}
