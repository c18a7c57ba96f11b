//! The streaming auditor: lines in, aggregates kept, a [`Summary`] out.
//!
//! Per record it does a fixed amount of work with no allocation once its tables are
//! warm: a lookup in the capped tables of error ids, clients and endpoints
//! ([`crate::capped`]), one hash of the retry key, counters, and a histogram record.

use crate::capped::{Capped, MAX_NAME_BYTES, OTHER};
use crate::chains::{ChainCounts, OpenChain, RetryCounts, Sink, Tracker};
use crate::endpoint::{chain_seed, template_into, Secrets};
use crate::latency::Latency;
use crate::path_cache::{self, PathCache};
use crate::summary::{
    count_chain, ClientStats, EndpointStats, GroupCount, InputStats, MalformedLine, MinuteStats,
    Pressure, Summary,
};
use errlens_classify::{Registry, Verdict};
use errlens_parse::frame::{read_frames, Framer, Frames, READ_BLOCK};
use errlens_parse::{Decoder, IngestConfig, ParseError, ProviderId, Record, RecordSink};
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::io::{self, BufRead, Read};
use std::sync::Arc;

/// Endpoints (provider and templated path) with their own row, by default: past it, the
/// endpoints of smallest stable hash keep theirs and the rest are counted in their
/// provider's `<other>` row (see [`Caps`]).
pub const MAX_ENDPOINTS: usize = 500;

/// Client ids with their own row, by default: past it, the ids of smallest stable hash
/// keep theirs and the rest are counted in one `<other>` row (see [`Caps`]).
pub const MAX_CLIENTS: usize = 10_000;

/// Distinct error ids (Simkl `error`, OMDb messages…) with their own groups, by
/// default: past it, the ids of smallest stable hash keep theirs and the groups of every
/// other id are counted under the error `<other>` (see [`Caps`]). Real APIs have tens.
pub const MAX_ERRORS: usize = 10_000;

/// Raw paths whose endpoint row is remembered (16 bytes each: 1 MiB). Measured on 5M
/// generated lines, one thread: 2^14 took 10% less CPU time than a 2^15-key map of
/// whole paths; smaller tables re-templated more paths for no further gain; 2^16 took
/// 2–3% less CPU time than 2^14 (fewer paths re-templated), 2^18 no less than 2^16.
const ENDPOINT_CACHE: usize = 1 << 16;

/// Settings of an audit.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// How many malformed lines the report lists (the rest are only counted).
    pub malformed_sample: usize,
    /// The providers records are classified with. The ingest configuration's
    /// provider map must be this registry's (with any `--provider-host` overrides).
    pub registry: Arc<Registry>,
    /// How inputs are read: shape (forced or detected), provider map, line cap.
    pub ingest: Arc<IngestConfig>,
    /// Which records to keep (`--since`, `--status`, …); the rest are counted as
    /// filtered.
    pub filter: Option<std::sync::Arc<crate::filter::Filter>>,
    /// Without an `attempt` field, a request of the same key this soon after a failed
    /// one is a retry (milliseconds).
    pub retry_window_ms: i64,
    /// Whether this input may continue an earlier one (a shard to be merged after
    /// another): each key's first events then stay unresolved in the summary so a merge
    /// can judge them exactly. Costs memory per distinct key seen early in the input.
    pub mergeable_chains: bool,
    /// Bytes read so far, for a progress display (added in batches, shared by workers).
    pub progress: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

/// How many distinct client ids and endpoints keep their own row in a summary.
///
/// With more distinct ids than `clients`, the `clients` ids of smallest stable hash
/// (FNV-1a, finalized; the same in every process and version) keep their row and every
/// other id is counted in one `<other>` row. A client in the bottom `clients` of the
/// whole input is in the bottom of every part it occurs in, so the rows are exact, sum
/// to the total, and are the same for any thread count or shard split: a deterministic
/// sample, not the busiest ids. The same holds for endpoints (provider and templated
/// path), whose folded rows are kept per provider (endpoint `<other>`), and for error
/// ids, whose folded groups keep their provider, status and code (error `<other>`). A
/// merge applies the smaller caps of its summaries. Every name is cut to
/// [`crate::MAX_NAME_BYTES`] first, so the tables' memory is bounded whatever the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Client ids with their own row; default [`MAX_CLIENTS`].
    pub clients: usize,
    /// Endpoints with their own row; default [`MAX_ENDPOINTS`].
    pub endpoints: usize,
    /// Error ids with their own groups; default [`MAX_ERRORS`].
    pub errors: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            clients: MAX_CLIENTS,
            endpoints: MAX_ENDPOINTS,
            errors: MAX_ERRORS,
        }
    }
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            malformed_sample: 10,
            registry: Registry::builtin_shared(),
            ingest: Arc::new(IngestConfig {
                providers: Arc::clone(Registry::builtin().map()),
                ..IngestConfig::default()
            }),
            filter: None,
            retry_window_ms: 60_000,
            mergeable_chains: false,
            progress: None,
        }
    }
}

/// A group's key apart from its error id (which names the table it is counted in), so
/// counting a record allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct LiveKey {
    provider: ProviderId,
    status: u16,
    tmdb_code: Option<i64>,
    unsuccessful: bool,
}

/// The groups of one error id: few (an id usually comes with one status), so a list.
type ErrorGroups = Vec<(LiveKey, u64)>;

/// Adds `n` to `key`'s count in `groups`.
#[inline]
fn bump(groups: &mut ErrorGroups, key: LiveKey, n: u64) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, c)) => *c += n,
        None => groups.push((key, n)),
    }
}

/// Where reading one input stands: its statistics and the current line number.
pub(crate) struct Cursor {
    pub(crate) stats: InputStats,
    number: u64,
    /// Bytes not yet added to the shared progress counter.
    unreported: u64,
}

impl Cursor {
    /// Records the input's shape and the records each shape read.
    pub(crate) fn set_shape(&mut self, decoder: &Decoder) {
        self.stats.shape = Some(decoder.shape().name().to_owned());
        self.stats.shapes = decoder.records_by_shape();
    }

    pub(crate) fn new(name: &str) -> Cursor {
        Cursor {
            stats: InputStats {
                file: name.to_owned(),
                ..InputStats::default()
            },
            number: 0,
            unreported: 0,
        }
    }

    /// Counts one line of `raw_len` bytes (terminator included).
    #[inline]
    fn count(&mut self, raw_len: u64) {
        self.number += 1;
        self.stats.lines += 1;
        self.stats.bytes += raw_len;
        self.unreported += raw_len;
    }
}

/// The audit as the ingest front's observer, for one input.
struct AuditSink<'a> {
    auditor: &'a mut Auditor,
    cursor: &'a mut Cursor,
}

impl RecordSink for AuditSink<'_> {
    #[inline]
    fn record(&mut self, rec: &Record<'_>) {
        if let Some(f) = &self.auditor.config.filter {
            if !f.keeps(rec, &self.auditor.config.registry) {
                self.auditor.summary.filtered += 1;
                return;
            }
        }
        self.cursor.stats.records += 1;
        let verdict = self.auditor.config.registry.classify(rec);
        self.auditor.observe(rec, &verdict);
    }
    fn blank(&mut self) {
        self.auditor.blank();
    }
    fn malformed(&mut self, line: u64, error: &ParseError) {
        self.cursor.stats.malformed += 1;
        self.auditor.malformed(&self.cursor.stats.file, line, error);
    }
}

/// Framed lines of one input, decoded into the audit.
pub(crate) struct Feed<'a> {
    pub(crate) auditor: &'a mut Auditor,
    pub(crate) cursor: &'a mut Cursor,
    pub(crate) decoder: &'a mut Decoder,
}

impl Frames for Feed<'_> {
    #[inline]
    fn line(&mut self, line: &[u8], raw_len: u64) {
        let c = &mut *self.cursor;
        c.count(raw_len);
        if c.unreported >= 1 << 20 {
            self.auditor.report_progress(&mut c.unreported);
        }
        let number = c.number;
        self.decoder.line(
            number,
            line,
            &mut AuditSink {
                auditor: self.auditor,
                cursor: self.cursor,
            },
        );
    }
    fn too_long(&mut self, raw_len: u64) {
        self.cursor.count(raw_len);
        self.cursor.stats.malformed += 1;
        let error = ParseError::TooLong(self.decoder_cap());
        self.auditor
            .malformed(&self.cursor.stats.file, self.cursor.number, &error);
    }
}

impl Feed<'_> {
    fn decoder_cap(&self) -> usize {
        self.auditor.config.ingest.max_line
    }
}

/// Where an input's bytes come from.
enum Source<'b, R> {
    /// A reader, read in blocks of the given size.
    Stream(R, usize),
    /// All of them, in memory, and what to do with each window once it is read.
    Bytes(&'b [u8], &'b mut dyn FnMut(&[u8])),
}

/// Bytes in memory are framed this many at a time (a line across two windows is the
/// framer's to join, as across two reads).
const BYTES_WINDOW: usize = 4 << 20;

/// Retry and chain counters (per client, they are in the client's [`ClientStats`]).
#[derive(Debug, Default)]
struct RetryTotals {
    total: RetryCounts,
    /// Per provider, by registry index.
    by_provider: Vec<RetryCounts>,
    chains: ChainCounts,
}

/// A chain sink that knows which client the current record belongs to. A live tracker
/// only judges retries of the record being observed, so `client` is its row (or the
/// `<other>` row).
struct LiveSink<'a> {
    client: &'a mut RetryCounts,
    totals: &'a mut RetryTotals,
}

impl Sink for LiveSink<'_> {
    fn retry(&mut self, provider: u8, judged: &RetryCounts) {
        let t = &mut *self.totals;
        t.total.add(judged);
        if let Some(p) = t.by_provider.get_mut(usize::from(provider)) {
            p.add(judged);
        }
        self.client.add(judged);
    }
    fn chain(&mut self, chain: &OpenChain) {
        count_chain(&mut self.totals.chains, chain);
    }
}

/// One endpoint's counts while auditing.
#[derive(Debug, Default)]
struct EndpointRow {
    provider: ProviderId,
    pressure: Pressure,
    latency: Latency,
}

/// Consumes request lines or records and keeps every aggregate of the report.
#[derive(Debug)]
pub struct Auditor {
    config: AuditConfig,
    summary: Summary,
    /// Groups of records without an error id.
    groups: HashMap<LiveKey, u64>,
    /// Groups of records without an error id, own code or false success flag — most
    /// records — counted by provider and status in an array (`provider × 600 +
    /// status`) and added to `groups` at the end.
    plain_groups: Vec<u64>,
    /// Error ids with their own groups (bottom-k by stable hash, see [`crate::capped`]).
    errors: Capped<ErrorGroups>,
    /// The groups of every other error id.
    errors_other: HashMap<LiveKey, u64>,
    /// Clients with their own row (bottom-k by stable hash, see [`crate::capped`]).
    clients: Capped<ClientStats>,
    /// Every other client.
    clients_other: ClientStats,
    /// Per client row (by slot): the retry-chain seeds of its last two methods.
    seeds: Vec<[Seed; 2]>,
    /// Endpoints (`provider endpoint`) with their own row.
    endpoints: Capped<EndpointRow>,
    /// Every other endpoint, per provider (by registry index).
    endpoints_other: Vec<(Pressure, Latency)>,
    /// Endpoint rows by provider and raw path, so a path seen before is neither
    /// templated nor looked up again: its [`Capped::answer`] in `endpoints`.
    endpoint_cache: PathCache<(u32, u32)>,
    minutes: HashMap<i64, Pressure>,
    /// The minute being counted and its counts so far (not yet in `minutes`).
    minute: (Option<i64>, Pressure),
    /// Records per HTTP status, indexed by status.
    by_status: Box<[u64; 600]>,
    /// Per provider, by registry index.
    providers: Vec<Pressure>,
    /// Per provider, by registry index.
    latency: Vec<Latency>,
    /// Credential segments of the loaded providers.
    secrets: Secrets,
    tracker: Tracker,
    retries: RetryTotals,
    scratch: String,
}

/// A retry-chain seed ([`chain_seed`]) a client row had for a method: the client's
/// id hashed, then the method. A client mostly repeats one or two methods (GET, and
/// POST to write), so a row keeps its last two and most records skip two of the chain
/// key's three hashes.
#[derive(Debug, Clone, Copy)]
struct Seed {
    /// The id of the row's entry (a slot is reused when its entry is evicted).
    id: u32,
    /// The method's length (`u8::MAX`: none cached) and bytes, up to 8.
    len: u8,
    word: u64,
    seed: u64,
}

impl Seed {
    const NONE: Seed = Seed {
        id: 0,
        len: u8::MAX,
        word: 0,
        seed: 0,
    };

    /// The seed of `client` (whose row is `slot`, entry `id`) and `method`, from the
    /// row's cache when its method is the same.
    #[inline]
    fn of(seeds: &mut Vec<[Seed; 2]>, slot: usize, id: u32, client: &str, method: &str) -> u64 {
        let m = method.as_bytes();
        if m.len() > 8 {
            return chain_seed(client, method);
        }
        let word = errlens_parse::word::padded(m);
        let hit = |s: &Seed| s.id == id && usize::from(s.len) == m.len() && s.word == word;
        if let Some(s) = seeds
            .get(slot)
            .and_then(|ways| ways.iter().find(|s| hit(s)))
        {
            return s.seed;
        }
        let seed = chain_seed(client, method);
        if seeds.len() <= slot {
            seeds.resize(slot + 1, [Seed::NONE; 2]);
        }
        // The newer way first; the older one is dropped.
        let ways = &mut seeds[slot];
        ways[1] = ways[0];
        ways[0] = Seed {
            id,
            len: m.len() as u8,
            word,
            seed,
        };
        seed
    }
}

impl Auditor {
    /// A new, empty audit, with the default [`Caps`].
    pub fn new(config: AuditConfig) -> Self {
        Self::with_caps(config, Caps::default())
    }

    /// A new, empty audit keeping rows for at most `caps` distinct clients and
    /// endpoints (smaller caps than the default are for tests).
    pub fn with_caps(config: AuditConfig, caps: Caps) -> Self {
        let summary = Summary {
            malformed_sample_cap: config.malformed_sample,
            max_clients: caps.clients,
            max_endpoints: caps.endpoints,
            max_errors: caps.errors,
            filter: config
                .filter
                .as_ref()
                .map(|f| f.describe())
                .unwrap_or_default(),
            definitions: config.registry.stamps(),
            ..Summary::default()
        };
        let slots = config.registry.slots();
        Auditor {
            secrets: Secrets::of(&config.registry),
            tracker: Tracker::new(config.retry_window_ms, config.mergeable_chains),
            clients: Capped::new(caps.clients),
            clients_other: ClientStats::default(),
            seeds: Vec::new(),
            endpoints: Capped::new(caps.endpoints),
            endpoints_other: vec![Default::default(); slots],
            endpoint_cache: PathCache::new(ENDPOINT_CACHE),
            config,
            summary,
            groups: HashMap::default(),
            plain_groups: vec![0; slots * 600],
            errors: Capped::new(caps.errors),
            errors_other: HashMap::default(),
            minutes: HashMap::default(),
            minute: (None, Pressure::default()),
            by_status: Box::new([0; 600]),
            providers: vec![Pressure::default(); slots],
            latency: vec![Latency::default(); slots],
            retries: RetryTotals {
                by_provider: vec![RetryCounts::default(); slots],
                ..RetryTotals::default()
            },
            scratch: String::with_capacity(64),
        }
    }

    /// Reads every line of `reader`, naming it `name` in reports: its shape is the
    /// configured one, or sniffed from its first bytes. An I/O error stops this input (it
    /// is recorded in its [`InputStats`] and returned); what was read before it stays
    /// counted.
    ///
    /// Reads in large blocks and parses lines where they lie in the block, so no line
    /// is copied; a line longer than the cap is counted as malformed and skipped
    /// without being buffered whole. A document shape (HAR) is read as one document.
    pub fn read<R: BufRead>(&mut self, name: &str, mut reader: R) -> io::Result<()> {
        let head = errlens_parse::input::head(&mut reader, errlens_parse::detect::SNIFF_BYTES)?;
        let mut decoder = Decoder::new(&self.config.ingest, &head);
        self.read_decoded(name, &mut decoder, reader, READ_BLOCK)
    }

    /// Reads `reader` with a decoder made for its input (parts of one file share the
    /// shape detected at its start), in blocks of `block` bytes.
    #[doc(hidden)]
    pub fn read_decoded<R: Read>(
        &mut self,
        name: &str,
        decoder: &mut Decoder,
        reader: R,
        block: usize,
    ) -> io::Result<()> {
        self.read_from(name, decoder, Source::Stream(reader, block))
    }

    /// Reads the bytes of a whole input (a memory-mapped file, or a part of one) with
    /// a decoder made for it: lines are parsed where they lie, none is copied. They are
    /// framed in windows of a few MiB, each handed to `done` once its lines are read
    /// (a mapped file's pages are then released, so they do not pile up as resident
    /// memory).
    #[doc(hidden)]
    pub fn read_decoded_bytes(
        &mut self,
        name: &str,
        decoder: &mut Decoder,
        bytes: &[u8],
        done: &mut dyn FnMut(&[u8]),
    ) -> io::Result<()> {
        self.read_from(name, decoder, Source::<&[u8]>::Bytes(bytes, done))
    }

    /// One input: a document read whole, or lines.
    fn read_from<R: Read>(
        &mut self,
        name: &str,
        decoder: &mut Decoder,
        source: Source<'_, R>,
    ) -> io::Result<()> {
        let mut cursor = Cursor::new(name);
        let result = if decoder.is_document() {
            let mut sink = AuditSink {
                auditor: self,
                cursor: &mut cursor,
            };
            let read = match source {
                Source::Stream(reader, _) => decoder.document(reader, &mut sink),
                Source::Bytes(bytes, done) => {
                    let read = decoder.document(bytes, &mut sink);
                    done(bytes);
                    read
                }
            };
            // A document counts as one line.
            cursor.stats.lines += 1;
            read.map(|bytes| {
                cursor.stats.bytes += bytes;
                cursor.unreported += bytes;
            })
        } else {
            let max_line = self.config.ingest.max_line;
            let mut feed = Feed {
                auditor: self,
                cursor: &mut cursor,
                decoder,
            };
            match source {
                Source::Stream(reader, block) => read_frames(reader, block, max_line, &mut feed),
                Source::Bytes(bytes, done) => {
                    let mut framer = Framer::new(max_line);
                    for window in bytes.chunks(BYTES_WINDOW) {
                        framer.push(window, &mut feed);
                        done(window);
                    }
                    framer.finish(&mut feed);
                    Ok(())
                }
            }
        };
        if let Err(e) = &result {
            cursor.stats.error = Some(e.to_string());
        }
        cursor.set_shape(decoder);
        self.end(cursor);
        result
    }

    pub(crate) fn report_progress(&self, bytes: &mut u64) {
        if let Some(p) = &self.config.progress {
            p.fetch_add(*bytes, std::sync::atomic::Ordering::Relaxed);
        }
        *bytes = 0;
    }

    /// Ends an input: its statistics join the summary.
    pub(crate) fn end(&mut self, mut cursor: Cursor) {
        self.report_progress(&mut cursor.unreported);
        self.summary.inputs.push(cursor.stats);
    }

    /// Records an input that could not be opened at all.
    pub fn unreadable(&mut self, name: &str, error: &str) {
        self.summary.inputs.push(InputStats {
            file: name.to_owned(),
            error: Some(error.to_owned()),
            ..InputStats::default()
        });
    }

    /// Counts a malformed line, keeping it in the sample while there is room.
    pub fn malformed(&mut self, file: &str, line: u64, error: &ParseError) {
        self.summary.malformed += 1;
        let kind = error.kind();
        *self
            .summary
            .malformed_by_reason
            .entry(kind.to_owned())
            .or_default() += 1;
        if self.summary.malformed_sample.len() < self.config.malformed_sample {
            self.summary.malformed_sample.push(MalformedLine {
                line,
                file: file.to_owned(),
                reason: error.to_string(),
            });
        }
    }

    /// Counts a blank line.
    pub fn blank(&mut self) {
        self.summary.blank += 1;
    }

    /// Counts one classified record.
    pub fn observe(&mut self, rec: &Record<'_>, v: &Verdict) {
        let p = rec.provider.index();
        // The endpoint cache's set is mostly not in the CPU cache: start loading it
        // now, and count everything else while it comes.
        let path = rec
            .path()
            .map(|path| (path, path_cache::key(p as u8, path)));
        if let Some((_, key)) = path {
            self.endpoint_cache.prefetch(key);
        }
        let s = &mut self.summary;
        s.records += 1;
        s.failures += u64::from(v.failure);
        s.hidden_failures += u64::from(v.hidden_failure);
        s.status_mismatches += u64::from(v.status_mismatch);
        // `status` is 100–599 by construction; the array is turned into the map at the end.
        if let Some(n) = self.by_status.get_mut(usize::from(rec.status)) {
            *n += 1;
        }
        let group = self.config.registry.group(rec, v);
        let key = LiveKey {
            provider: rec.provider,
            status: rec.status,
            tmdb_code: group.code,
            unsuccessful: group.unsuccessful,
        };
        match group.error {
            None if key.tmdb_code.is_none() && !key.unsuccessful => {
                let i = p * 600 + usize::from(rec.status);
                if let Some(n) = self.plain_groups.get_mut(i) {
                    *n += 1;
                } else {
                    *self.groups.entry(key).or_default() += 1;
                }
            }
            None => *self.groups.entry(key).or_default() += 1,
            Some(e) => {
                let other = &mut self.errors_other;
                match self.errors.slot(e, |evicted| {
                    for (k, n) in evicted.value {
                        *other.entry(k).or_default() += n;
                    }
                }) {
                    Some(slot) => bump(&mut self.errors.entry_mut(slot).value, key, 1),
                    None => *other.entry(key).or_default() += 1,
                }
            }
        }

        if let Some(pressure) = self.providers.get_mut(p) {
            pressure.count(rec.status);
        }
        // Latency is recorded once: in the endpoint's histogram when there is a path
        // (provider histograms are merged from them at the end), else here.
        if let (Some(ms), None) = (rec.latency_ms, path) {
            if let Some(l) = self.latency.get_mut(p) {
                l.record_ms(ms);
            }
        }
        if let Some(ts) = rec.ts_ms {
            // Logs are mostly in time order: count into the current minute and touch
            // the map only when the minute changes.
            let minute = ts.div_euclid(60_000);
            if self.minute.0 != Some(minute) {
                self.flush_minute();
                self.minute = (Some(minute), Pressure::default());
            }
            self.minute.1.count(rec.status);
        }

        let client_name = rec.client_id.as_deref().unwrap_or("");
        let other = &mut self.clients_other;
        let slot = self.clients.slot(client_name, |e| {
            other.pressure.add(&e.value.pressure);
            other.retries.add(&e.value.retries);
        });
        let (id, stats) = match slot {
            Some(slot) => {
                let e = self.clients.entry_mut(slot);
                (e.id, &mut e.value)
            }
            None => (Capped::<ClientStats>::FOLDED, other),
        };
        stats.pressure.count(rec.status);
        let method = rec.method.as_deref().unwrap_or("");
        let seed = match slot {
            // A longer id shares its row with others: its seed is its own.
            Some(slot) if client_name.len() <= MAX_NAME_BYTES => {
                Seed::of(&mut self.seeds, slot, id, client_name, method)
            }
            _ => chain_seed(client_name, method),
        };
        let mut sink = LiveSink {
            client: &mut stats.retries,
            totals: &mut self.retries,
        };
        self.tracker.observe_seeded(rec, v, seed, id, &mut sink);

        // Last: the endpoint cache's set, prefetched when the record arrived, has had
        // the client and chain bookkeeping's time to arrive.
        if let Some((path, path_key)) = path {
            // The row may have been evicted and its slot reused since it was cached.
            let cached = self
                .endpoint_cache
                .get(path_key)
                .and_then(|answer| self.endpoints.recall(answer));
            let slot = match cached {
                Some(slot) => slot,
                None => {
                    let slot = self.endpoint_slot(rec.provider, path);
                    self.endpoint_cache
                        .insert(path_key, self.endpoints.answer(slot));
                    slot
                }
            };
            let others = &mut self.endpoints_other;
            let counts = match slot {
                Some(slot) => {
                    let row = &mut self.endpoints.entry_mut(slot).value;
                    Some((&mut row.pressure, &mut row.latency))
                }
                None => others.get_mut(p).map(|(a, b)| (a, b)),
            };
            if let Some((pressure, latency)) = counts {
                pressure.count(rec.status);
                if let Some(ms) = rec.latency_ms {
                    latency.record_ms(ms);
                }
            }
        }
    }

    /// The row of `path` (templated) under `provider`, or `None` when it is counted in
    /// the provider's fold; admitting it may evict another row into the fold.
    fn endpoint_slot(&mut self, provider: ProviderId, path: &str) -> Option<usize> {
        let name = &mut self.scratch;
        name.clear();
        let provider_name = self.config.registry.name(provider);
        name.push_str(provider_name);
        name.push(' ');
        template_into(path, name, &self.secrets);
        // A path templated to the fold's own name can only be counted in the fold.
        if &name[provider_name.len() + 1..] == OTHER {
            return None;
        }
        let others = &mut self.endpoints_other;
        let slot = self.endpoints.slot(name, |mut e| {
            if let Some(o) = others.get_mut(e.value.provider.index()) {
                o.0.add(&e.value.pressure);
                // Counted first: a merge reads buffered values from a copy.
                e.value.latency.settle();
                o.1.merge(&e.value.latency);
            }
        })?;
        // The name holds the provider, so a row's provider never changes.
        self.endpoints.entry_mut(slot).value.provider = provider;
        Some(slot)
    }

    /// Adds the current minute's counts to the per-minute map.
    fn flush_minute(&mut self) {
        if let (Some(m), p) = &self.minute {
            self.minutes.entry(*m).or_default().add(p);
        }
    }

    /// Ends the audit, returning its summary.
    pub fn finish(mut self) -> Summary {
        self.flush_minute();
        for (i, &n) in self.plain_groups.iter().enumerate() {
            if n > 0 {
                let key = LiveKey {
                    provider: ProviderId::new((i / 600) as u8),
                    status: (i % 600) as u16,
                    tmdb_code: None,
                    unsuccessful: false,
                };
                *self.groups.entry(key).or_default() += n;
            }
        }
        for (status, &n) in self.by_status.iter().enumerate() {
            if n > 0 {
                self.summary.by_status.insert(status as u16, n);
            }
        }
        let registry = &self.config.registry;
        let group = |k: &LiveKey, error: Option<&str>, count: u64| GroupCount {
            provider: registry.name(k.provider).to_owned(),
            status: k.status,
            error: error.map(str::to_owned),
            tmdb_code: k.tmdb_code,
            unsuccessful: k.unsuccessful,
            count,
        };
        let mut groups: Vec<GroupCount> = self
            .groups
            .iter()
            .map(|(k, &n)| group(k, None, n))
            .chain(
                self.errors_other
                    .iter()
                    .map(|(k, &n)| group(k, Some(OTHER), n)),
            )
            .chain(self.errors.entries().iter().flat_map(|e| {
                e.value
                    .iter()
                    .map(move |(k, n)| group(k, Some(&e.name), *n))
            }))
            .collect();
        groups.sort();
        let s = &mut self.summary;
        s.groups = groups;

        // Chains still open are named by client; a client without a row is `<other>`,
        // and stays so at any merge (a name folded here is folded in every union).
        let names: HashMap<u32, &str> = self
            .clients
            .entries()
            .iter()
            .map(|e| (e.id, &*e.name))
            .collect();
        s.chain_state = self.tracker.finish(|id| {
            names
                .get(&id)
                .map_or(Cow::Borrowed(OTHER), |n| Cow::Owned((*n).to_owned()))
        });
        s.retries = self.retries.total;
        s.chains = self.retries.chains;
        let registry = &self.config.registry;
        for id in registry.ids() {
            let (i, name) = (id.index(), registry.name(id));
            if self.providers[i].requests > 0 {
                s.providers.insert(name.to_owned(), self.providers[i]);
            }
            if self.retries.by_provider[i].total > 0 {
                s.retries_by_provider
                    .insert(name.to_owned(), self.retries.by_provider[i]);
            }
        }
        for e in self.clients.into_entries() {
            s.clients.insert(e.name.into(), e.value);
        }
        let other = self.clients_other;
        if other.pressure.requests > 0 || other.retries.total > 0 {
            s.clients.insert(OTHER.to_owned(), other);
        }
        let mut endpoints = self.endpoints.into_entries();
        // Buffered latencies counted, so that none is copied to be read.
        for e in &mut endpoints {
            e.value.latency.settle();
        }
        for o in &mut self.endpoints_other {
            o.1.settle();
        }
        for l in &mut self.latency {
            l.settle();
        }
        // Provider latency: the path-less records' histogram plus every endpoint's.
        let endpoint_latencies = endpoints
            .iter()
            .map(|e| (e.value.provider.index(), &e.value.latency))
            .chain(
                self.endpoints_other
                    .iter()
                    .enumerate()
                    .map(|(p, o)| (p, &o.1)),
            );
        for (p, latency) in endpoint_latencies {
            if !latency.is_empty() {
                if let Some(l) = self.latency.get_mut(p) {
                    l.merge(latency);
                }
            }
        }
        for id in registry.ids() {
            let i = id.index();
            if !self.latency[i].is_empty() {
                s.latency.insert(
                    registry.name(id).to_owned(),
                    std::mem::take(&mut self.latency[i]),
                );
            }
        }
        let mut endpoints: Vec<EndpointStats> = endpoints
            .into_iter()
            .map(|e| {
                let provider = registry.name(e.value.provider);
                EndpointStats {
                    provider: provider.to_owned(),
                    // The name is `provider endpoint`.
                    endpoint: e.name[provider.len() + 1..].to_owned(),
                    pressure: e.value.pressure,
                    latency: e.value.latency,
                }
            })
            .collect();
        for (p, (pressure, latency)) in self.endpoints_other.into_iter().enumerate() {
            if pressure.requests > 0 {
                endpoints.push(EndpointStats {
                    provider: registry.name(ProviderId::new(p as u8)).to_owned(),
                    endpoint: OTHER.to_owned(),
                    pressure,
                    latency,
                });
            }
        }
        endpoints.sort_by(|a, b| (&a.provider, &a.endpoint).cmp(&(&b.provider, &b.endpoint)));
        s.endpoints = endpoints;
        let mut minutes: Vec<MinuteStats> = self
            .minutes
            .into_iter()
            .map(|(m, pressure)| MinuteStats {
                minute: m * 60,
                pressure,
            })
            .collect();
        minutes.sort_by_key(|m| m.minute);
        s.minutes = minutes;
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(input: &str) -> Summary {
        let mut a = Auditor::new(AuditConfig::default());
        a.read("t", input.as_bytes()).unwrap();
        a.finish()
    }

    #[test]
    fn counts_records_blank_and_malformed() {
        let s = audit("{\"status\":200}\n\n  \nnot json\n[1]\n{\"status\":\"x\"}\n{\"status\":429,\"error\":\"rate_limit\"}\n");
        assert_eq!((s.records, s.blank, s.malformed), (2, 2, 3));
        assert_eq!(
            s.malformed_sample
                .iter()
                .map(|m| m.line)
                .collect::<Vec<_>>(),
            [4, 5, 6]
        );
        assert_eq!(s.malformed_by_reason.get("invalid_json"), Some(&1));
        assert_eq!(s.malformed_by_reason.get("not_object"), Some(&1));
        assert_eq!(s.malformed_by_reason.get("no_status"), Some(&1));
        assert_eq!(s.failures, 1);
        assert_eq!(s.inputs[0].lines, 7);
    }

    /// The reference reading: the whole input as one block.
    fn one_block(input: &[u8], config: &AuditConfig) -> Summary {
        let mut a = Auditor::new(config.clone());
        let mut d = Decoder::new(&config.ingest, input);
        a.read_decoded("t", &mut d, input, input.len().max(1))
            .unwrap();
        a.finish()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]
        /// Block reading, with its carry-over and skipping of long lines, equals reading
        /// the input as one block, whatever the block size and line cap.
        #[test]
        fn block_reading_equals_one_block(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("{\"status\":200,\"url\":\"https://api.simkl.com/a/1\"}".to_owned()),
                    proptest::strategy::Just("{\"status\":429,\"client_id\":\"c\"}\r".to_owned()),
                    proptest::strategy::Just(String::new()),
                    proptest::strategy::Just("\r".to_owned()),
                    "[ -~]{0,90}",
                    proptest::strategy::Strategy::prop_map(1usize..200, |n| format!("{{\"status\":500,\"message\":\"{}\"}}", "x".repeat(n))),
                ],
                0..40,
            ),
            final_newline in proptest::bool::ANY,
            block in 2usize..300,
            max_line in 1usize..260,
        ) {
            use proptest::prop_assert_eq;
            let mut text = lines.join("\n");
            if final_newline && !text.is_empty() {
                text.push('\n');
            }
            let ingest = std::sync::Arc::new(IngestConfig { max_line, ..IngestConfig::default() });
            let config = AuditConfig { ingest, malformed_sample: 1000, ..AuditConfig::default() };
            let want = one_block(text.as_bytes(), &config);
            let mut a = Auditor::new(config.clone());
            let mut d = Decoder::new(&config.ingest, text.as_bytes());
            a.read_decoded("t", &mut d, text.as_bytes(), block).unwrap();
            let got = a.finish();
            prop_assert_eq!(
                serde_json::to_value(&got).unwrap(),
                serde_json::to_value(&want).unwrap()
            );
        }
    }

    /// A remembered chain seed is the seed of the client and method asked for: the
    /// row's two last methods are kept, others are hashed again, and a slot reused by
    /// another client (another entry id) does not answer with the old client's seed.
    #[test]
    fn chain_seeds_are_remembered_per_row_and_method() {
        let mut seeds = Vec::new();
        let methods = [
            "GET",
            "POST",
            "get",
            "",
            "DELETE",
            "PATCH",
            "OPTIONS",
            "PROPFIND9",
        ];
        let mut n = 0u64;
        for round in 0..200u32 {
            let slot = (round % 7) as usize;
            // Every 50 rounds, each slot holds a new entry (a new id and client).
            let id = round / 50 * 10 + slot as u32;
            let client = format!("client-{id}");
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let method = methods[(n >> 60) as usize % methods.len()];
            assert_eq!(
                Seed::of(&mut seeds, slot, id, &client, method),
                chain_seed(&client, method),
                "{round} {client} {method}"
            );
        }
        let cached = seeds.iter().flatten().filter(|s| s.len != u8::MAX).count();
        assert!(cached > 7, "rows remember seeds: {cached}");
    }

    #[test]
    fn sample_is_capped_but_count_is_not() {
        let s = audit(&"x\n".repeat(50));
        assert_eq!((s.malformed, s.malformed_sample.len()), (50, 10));
    }

    #[test]
    fn endpoints_are_templated_and_capped() {
        let mut text = String::new();
        for i in 0..(MAX_ENDPOINTS + 50) {
            text.push_str(&format!(
                "{{\"url\":\"https://api.themoviedb.org/3/x{i}/550\",\"status\":200}}\n"
            ));
        }
        let s = audit(&text);
        assert_eq!(s.endpoints.len(), MAX_ENDPOINTS + 1);
        assert!(s.endpoints.iter().any(|e| e.endpoint == "/3/x7/:id"));
        let other = s
            .endpoints
            .iter()
            .find(|e| e.endpoint == "<other>")
            .unwrap();
        assert_eq!(other.pressure.requests, 50);
        let total: u64 = s.endpoints.iter().map(|e| e.pressure.requests).sum();
        assert_eq!(total, s.records);
    }
}
