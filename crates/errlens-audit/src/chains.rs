//! Retry chains: linking the attempts of one logical request and judging each retry.
//!
//! Attempts are linked by key (client_id, method, URL). With an `attempt` field,
//! attempt n follows the latest earlier attempt of the key; without one, a request that
//! arrives within the retry window after a *failed* attempt of the same key is a retry.
//! Each retry is judged against the attempt before it (wasted, early, over_limit,
//! post_after_429; `ok` when none applies).
//!
//! The tracker is a per-key state machine built to merge exactly. A shard cannot know
//! what happened to a key before its first line, so each key's first events are kept as
//! an unresolved *prefix* until an event arrives whose meaning cannot depend on earlier
//! history (an `attempt` of 1, a request after a local success, or a gap longer than the
//! window). The shard also exports each key's open *tail* state. Merging two adjacent
//! shards replays the right one's prefixes on the left one's tails, so a merged summary
//! judges chains exactly as one pass would (for time-ordered logs; see
//! `docs/report-schema.md` for the limits). A single pass is the same machine with no
//! prior state.

use crate::chain_table::Table;
use crate::endpoint::{chain_key_seeded, chain_seed};
use errlens_classify::Verdict;
use errlens_parse::Record;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Waits recommended before attempts 2..6 (Simkl's schedule), in milliseconds.
const BACKOFF_MS: [i64; 5] = [1_000, 2_000, 4_000, 8_000, 16_000];
/// Attempts above this are over the limit (more than 5 retries).
pub const MAX_ATTEMPTS: u32 = 6;
/// A chain state is kept at most this long after its last attempt, whatever
/// `Retry-After` said, so memory stays bounded.
pub const MAX_HORIZON_MS: i64 = 3_600_000;
/// Out-of-order tolerance: states are swept this long after they could last link.
const SWEEP_SLACK_MS: i64 = 60_000;
/// Events kept in one key's unresolved prefix before it is resolved as if it had no
/// history (a client retrying one URL forever across a shard boundary).
const MAX_PREFIX: usize = 32;

/// One attempt, reduced to what chain judgement needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Request time, Unix ms.
    pub ts: Option<i64>,
    /// Logged attempt number.
    pub attempt: Option<u32>,
    /// Failed.
    pub failure: bool,
    /// Failed with a retryable error.
    pub retryable: bool,
    /// A 429 from a provider where POSTing again right after extends the block.
    pub blocks_posts: bool,
    /// An HTTP POST.
    pub post: bool,
    /// The response's Retry-After, ms.
    pub retry_after_ms: Option<i64>,
    /// Provider, as its registry index.
    pub provider: u8,
}

impl Event {
    /// The event of a classified record.
    pub fn of(rec: &Record<'_>, v: &Verdict) -> Event {
        Event {
            ts: rec.ts_ms,
            attempt: rec.attempt,
            failure: v.failure,
            retryable: v.retryable(),
            blocks_posts: v.blocks_posts,
            post: rec
                .method
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case("POST")),
            // Retry-After as logged, else the least wait the provider documents.
            retry_after_ms: rec
                .retry_after_s
                .map(|s| (s * 1000.0).round() as i64)
                .or(v.min_wait_ms.map(i64::from)),
            provider: rec.provider.index() as u8,
        }
    }

    /// How long after this attempt a later one can still be linked to it.
    fn horizon_ms(&self, window_ms: i64) -> i64 {
        window_ms
            .max(self.retry_after_ms.unwrap_or(0))
            .min(MAX_HORIZON_MS.max(window_ms))
    }
}

/// Counts of retries and their judgements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryCounts {
    /// Retries (attempt > 1, or inferred).
    pub total: u64,
    /// Retries after a deterministic (non-retryable) failure.
    pub wasted: u64,
    /// Retries sooner than the backoff schedule or Retry-After allowed.
    pub early: u64,
    /// Retries beyond the 6th attempt.
    pub over_limit: u64,
    /// POSTs retried after a Simkl 429 (which extends Simkl's block).
    pub post_after_429: u64,
    /// Retries with no fault found.
    pub ok: u64,
    /// Retries whose previous attempt is not in the log (only over_limit was judged).
    pub unlinked: u64,
}

impl RetryCounts {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &RetryCounts) {
        self.total += o.total;
        self.wasted += o.wasted;
        self.early += o.early;
        self.over_limit += o.over_limit;
        self.post_after_429 += o.post_after_429;
        self.ok += o.ok;
        self.unlinked += o.unlinked;
    }

    /// Retries with at least one fault.
    pub fn bad(&self) -> u64 {
        self.total - self.ok - self.unlinked
    }
}

/// Counts of finished chains (logical requests that had at least one retry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCounts {
    /// Chains with at least one retry.
    pub chains: u64,
    /// Chains whose last attempt succeeded.
    pub recovered: u64,
    /// Chains whose last attempt failed.
    pub abandoned: u64,
}

impl ChainCounts {
    /// Adds `o` into `self`.
    pub fn add(&mut self, o: &ChainCounts) {
        self.chains += o.chains;
        self.recovered += o.recovered;
        self.abandoned += o.abandoned;
    }
}

/// The open chain of one key: its latest attempt and where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenChain {
    /// The latest attempt.
    pub last: Event,
    /// Its position in the chain (1 = first attempt).
    pub position: u32,
    /// Retries in the chain so far.
    pub retries: u32,
}

/// Where the outcome of a judged retry or a closed chain is counted.
pub trait Sink {
    /// Counts one retry of `provider` by the key's client.
    fn retry(&mut self, provider: u8, judged: &RetryCounts);
    /// Counts one finished chain.
    fn chain(&mut self, chain: &OpenChain);
}

/// Judges `ev` given the key's open chain, returning the new open chain. Closes (counts)
/// the previous chain when `ev` starts a new one. The single state-transition function
/// used by both single passes and merges.
#[inline(always)]
pub fn step(prev: Option<OpenChain>, ev: Event, window_ms: i64, sink: &mut impl Sink) -> OpenChain {
    let linked = prev.filter(|p| match (p.last.ts, ev.ts) {
        (Some(a), Some(b)) => b - a <= p.last.horizon_ms(window_ms),
        // Without both timestamps the gap is unknown: adjacent attempts are linked.
        _ => true,
    });
    let continues = match (ev.attempt, linked) {
        (Some(a), _) if a <= 1 => None,
        (Some(a), Some(p)) if p.position < a => Some(p),
        (Some(_), _) => None,
        (None, Some(p)) if p.last.failure => Some(p),
        (None, _) => None,
    };
    let position = match (ev.attempt, continues) {
        (Some(a), _) => a.max(1),
        // A logged attempt of u32::MAX must not wrap the next position to 0.
        (None, Some(p)) => p.position.saturating_add(1),
        (None, None) => 1,
    };
    let is_retry = position > 1;
    if let Some(p) = prev {
        if continues.is_none() {
            sink.chain(&p);
        }
    }
    if is_retry {
        let mut j = RetryCounts {
            total: 1,
            over_limit: u64::from(position > MAX_ATTEMPTS),
            ..RetryCounts::default()
        };
        match continues {
            Some(p) => {
                j.wasted = u64::from(p.last.failure && !p.last.retryable);
                j.post_after_429 = u64::from(ev.post && p.last.blocks_posts);
                if let (Some(a), Some(b)) = (p.last.ts, ev.ts) {
                    let idx = (position.clamp(2, 6) - 2) as usize;
                    let wait = BACKOFF_MS[idx].max(p.last.retry_after_ms.unwrap_or(0));
                    j.early = u64::from(b - a < wait);
                }
                j.ok = u64::from(j.wasted + j.early + j.over_limit + j.post_after_429 == 0);
            }
            None => j.unlinked = 1,
        }
        sink.retry(ev.provider, &j);
    }
    OpenChain {
        last: ev,
        position,
        retries: continues
            .map_or(0, |p| p.retries)
            .saturating_add(u32::from(is_retry)),
    }
}

/// Whether `ev` starts something whose meaning cannot depend on the key's history
/// before `local_prev` (the key's previous event in this shard, if any).
fn independent(local_prev: Option<&Event>, ev: &Event, window_ms: i64) -> bool {
    if matches!(ev.attempt, Some(a) if a <= 1) {
        return true;
    }
    match local_prev {
        None => false,
        Some(p) => {
            let gap_breaks =
                matches!((p.ts, ev.ts), (Some(a), Some(b)) if b - a > p.horizon_ms(window_ms));
            ev.attempt.is_none() && (!p.failure || gap_breaks)
        }
    }
}

/// A key's unresolved prefix, as stored in a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Key hash.
    pub key: u64,
    /// The key's client id (`<other>` for a client folded past the summary's cap:
    /// borrowed, so the many keys of folded clients cost no allocation).
    pub client: Cow<'static, str>,
    /// The unresolved events, in order.
    pub events: Vec<Event>,
    /// Whether a later event of this key (in [`Tail`]) started independently.
    pub closed: bool,
}

/// A key's open chain, as stored in a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tail {
    /// Key hash.
    pub key: u64,
    /// The key's client id (`<other>` for a client folded past the summary's cap:
    /// borrowed, so the many keys of folded clients cost no allocation).
    pub client: Cow<'static, str>,
    /// The open chain.
    pub chain: OpenChain,
}

/// The chain tracker of one shard.
#[derive(Debug, Default)]
pub struct Tracker {
    window_ms: i64,
    /// Whether earlier shards may precede this one (so first events stay unresolved).
    buffer_prefixes: bool,
    /// Each key's unresolved prefix and open chain (`chain_table`).
    slots: Table,
    min_ts: Option<i64>,
    max_ts: Option<i64>,
    last_sweep_ts: i64,
    scratch: String,
    /// Live trackers: bounds by arrival, not log time (see [`Tracker::live`]).
    live: Option<Live>,
}

/// A live tracker's bounds: keys are also swept by wall-clock arrival (log time may be
/// missing or wrong), and at most `max_keys` are kept.
#[derive(Debug, Default, Clone, Copy)]
struct Live {
    max_keys: usize,
    wall_ms: i64,
    last_wall_sweep: i64,
}

impl Tracker {
    /// A tracker linking inferred retries within `window_ms`. With
    /// `buffer_prefixes`, the shard may follow another one, so each key's first events
    /// stay unresolved until a merge or the end; without it, the stream is known to
    /// start here and nothing is buffered.
    pub fn new(window_ms: i64, buffer_prefixes: bool) -> Self {
        Tracker {
            window_ms,
            buffer_prefixes,
            ..Tracker::default()
        }
    }

    /// A tracker for a live stream (nothing precedes it) whose state is bounded
    /// whatever the logs hold: a key is also closed once no event of it has *arrived*
    /// for the longest retry horizon (records without a time, or with a wrong one, are
    /// swept too), and at most `max_keys` keys are kept (the longest-idle are closed
    /// first). Call [`Tracker::tick`] with the wall clock.
    pub fn live(window_ms: i64, max_keys: usize) -> Self {
        Tracker {
            window_ms,
            live: Some(Live {
                max_keys: max_keys.max(1),
                ..Live::default()
            }),
            ..Tracker::default()
        }
    }

    /// Keys tracked now.
    pub fn keys(&self) -> usize {
        self.slots.len()
    }

    /// Live trackers: sets the wall clock (Unix ms) and sweeps by arrival at most every
    /// 10 s, and by count whenever the key bound is passed.
    pub fn tick(&mut self, wall_ms: i64, sink: &mut impl Sink) {
        let Some(live) = &mut self.live else {
            return;
        };
        live.wall_ms = wall_ms;
        let max_keys = live.max_keys;
        let by_time = wall_ms - live.last_wall_sweep > 10_000;
        if by_time {
            live.last_wall_sweep = wall_ms;
            let cutoff = wall_ms - MAX_HORIZON_MS - SWEEP_SLACK_MS;
            self.slots.retain(|slot| {
                if slot.arrived_ms >= cutoff {
                    return true;
                }
                if let Some(open) = slot.take_open() {
                    sink.chain(&open);
                }
                false
            });
        }
        if self.slots.len() > max_keys {
            // Close the longest-idle tenth beyond the bound, so this runs rarely.
            let keep = max_keys - max_keys / 10;
            let mut arrivals: Vec<i64> = self.slots.iter().map(|s| s.arrived_ms).collect();
            let drop = self.slots.len() - keep;
            let (_, nth, _) = arrivals.select_nth_unstable(drop - 1);
            let cutoff = *nth;
            let mut dropped = 0;
            self.slots.retain(|slot| {
                if dropped < drop && slot.arrived_ms <= cutoff {
                    dropped += 1;
                    if let Some(open) = slot.take_open() {
                        sink.chain(&open);
                    }
                    return false;
                }
                true
            });
        }
    }

    /// Processes one classified record of client `client` (an id the caller keeps).
    ///
    /// Records are keyed by (client_id, method, URL), the URL as logged or `host` +
    /// `path`. A record without either cannot be linked; if it logs an attempt > 1 it
    /// still counts as a retry, judged `unlinked`.
    pub fn observe(&mut self, rec: &Record<'_>, v: &Verdict, client: u32, sink: &mut impl Sink) {
        // A record without a URL or path has no key: nothing to hash. (Without a URL
        // the path is the logged field's: whether there is one is all that is asked.)
        let seed = if rec.url.is_some() || rec.path.is_some() {
            chain_seed(
                rec.client_id.as_deref().unwrap_or(""),
                rec.method.as_deref().unwrap_or(""),
            )
        } else {
            0
        };
        self.observe_seeded(rec, v, seed, client, sink);
    }

    /// [`Tracker::observe`] given the [`chain_seed`] of the record's client id and
    /// method (which a caller may have remembered).
    pub fn observe_seeded(
        &mut self,
        rec: &Record<'_>,
        v: &Verdict,
        seed: u64,
        client: u32,
        sink: &mut impl Sink,
    ) {
        let ev = Event::of(rec, v);
        // The path is only wanted without a URL: not computed for the usual record.
        let path = match &rec.url {
            Some(url) => Ok(url),
            None => Err(rec.path()),
        };
        let key = match path {
            Ok(url) => chain_key_seeded(seed, url),
            Err(Some(path)) => {
                let url = &mut self.scratch;
                url.clear();
                url.push_str(rec.host().unwrap_or(""));
                url.push_str(path);
                chain_key_seeded(seed, url)
            }
            Err(None) => {
                if let Some(a) = ev.attempt.filter(|a| *a > 1) {
                    sink.retry(
                        ev.provider,
                        &RetryCounts {
                            total: 1,
                            over_limit: u64::from(a > MAX_ATTEMPTS),
                            unlinked: 1,
                            ..RetryCounts::default()
                        },
                    );
                }
                return;
            }
        };
        self.push(key, client, ev, sink);
    }

    /// Processes one event of key `key` by client `client`.
    pub fn push(&mut self, key: u64, client: u32, ev: Event, sink: &mut impl Sink) {
        if let Some(ts) = ev.ts {
            self.min_ts = Some(self.min_ts.map_or(ts, |m| m.min(ts)));
            self.max_ts = Some(self.max_ts.map_or(ts, |m| m.max(ts)));
        }
        let window = self.window_ms;
        let shard_start = self.min_ts;
        let slot = self.slots.slot(key, client);
        if let Some(live) = &self.live {
            slot.arrived_ms = live.wall_ms;
        }
        if !self.buffer_prefixes || slot.prefix_closed || slot.is_open() {
            slot.set_open(step(slot.open(), ev, window, sink));
        } else {
            let prev = slot.prefix().last();
            // A first event far past the shard's start cannot continue anything from
            // before the shard (for time-ordered input).
            let late = matches!((prev, ev.ts, shard_start), (None, Some(t), Some(s)) if t - s > MAX_HORIZON_MS + SWEEP_SLACK_MS);
            if late || independent(prev, &ev, window) {
                slot.prefix_closed = true;
                slot.set_open(step(None, ev, window, sink));
            } else if slot.prefix().len() >= MAX_PREFIX {
                // Give up waiting: resolve as if the key had no history.
                let prefix = slot.take_prefix();
                let mut open = None;
                for e in prefix.into_iter().chain(std::iter::once(ev)) {
                    open = Some(step(open, e, window, sink));
                }
                slot.prefix_closed = true;
                slot.set_open(open.expect("the event itself was stepped"));
            } else {
                slot.push_prefix(ev);
            }
        }
        if let Some(now) = self.max_ts {
            if now - self.last_sweep_ts > 60_000 {
                self.last_sweep_ts = now;
                self.sweep(now, sink);
            }
        }
    }

    /// Closes open chains that can no longer be continued and frees their keys.
    fn sweep(&mut self, now: i64, sink: &mut impl Sink) {
        let window = self.window_ms;
        self.slots.retain(|slot| {
            if slot.open().is_some_and(|o| expired(&o, window, Some(now))) {
                sink.chain(&slot.take_open().expect("checked"));
            }
            // A key with an unresolved prefix must stay: a merge may still resolve it.
            !slot.prefix().is_empty() || slot.is_open()
        });
    }

    /// Ends the shard: its unresolved prefixes and open tails, named by client.
    pub fn finish(self, client_name: impl Fn(u32) -> Cow<'static, str>) -> ChainState {
        let mut heads = Vec::new();
        let mut tails = Vec::new();
        for mut slot in self.slots.into_slots() {
            let key = slot.key;
            let client = client_name(slot.client);
            if !slot.prefix().is_empty() {
                heads.push(Head {
                    key,
                    client: client.clone(),
                    events: slot.take_prefix(),
                    closed: slot.prefix_closed,
                });
            }
            if let Some(chain) = slot.open() {
                tails.push(Tail { key, client, chain });
            }
        }
        heads.sort_by_key(|h| h.key);
        tails.sort_by_key(|t| t.key);
        ChainState {
            window_ms: self.window_ms,
            min_ts: self.min_ts,
            max_ts: self.max_ts,
            start: !self.buffer_prefixes,
            heads,
            tails,
        }
    }
}

/// The unresolved boundary state of a summary's chains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    /// The retry window the chains were linked with, ms.
    pub window_ms: i64,
    /// Earliest timestamp seen.
    pub min_ts: Option<i64>,
    /// Latest timestamp seen.
    pub max_ts: Option<i64>,
    /// Unresolved prefixes, by key.
    pub heads: Vec<Head>,
    /// Open chains, by key.
    pub tails: Vec<Tail>,
    /// Whether nothing precedes this state's input (it was read without buffering
    /// prefixes, or merged onto such a state): it has no prefixes, and a merge resolves
    /// the prefixes of the state it is given at once (nothing on the left can continue
    /// them any more), so merging shards in order keeps no prefixes.
    #[serde(default)]
    pub start: bool,
}

/// Counts per client and overall that chain events update.
pub trait ClientSink {
    /// Counts a judged retry for `client` (by name).
    fn retry(&mut self, client: &str, provider: u8, judged: &RetryCounts);
    /// Counts a finished chain.
    fn chain(&mut self, chain: &OpenChain);
}

struct Named<'a, S: ClientSink> {
    client: &'a str,
    inner: &'a mut S,
}

impl<S: ClientSink> Sink for Named<'_, S> {
    fn retry(&mut self, provider: u8, judged: &RetryCounts) {
        self.inner.retry(self.client, provider, judged);
    }
    fn chain(&mut self, chain: &OpenChain) {
        self.inner.chain(chain);
    }
}

impl ChainState {
    /// Merges `right` (the state of the shard that follows `self`) into `self`,
    /// counting every retry and chain the boundary resolves into `sink`.
    pub fn merge(&mut self, right: ChainState, sink: &mut impl ClientSink) {
        let window = self.window_ms.max(right.window_ms);
        // Hash maps while merging (keys are already hashes), sorted once at the end.
        let mut tails: HashMap<u64, Tail> = std::mem::take(&mut self.tails)
            .into_iter()
            .map(|t| (t.key, t))
            .collect();
        let mut heads: HashMap<u64, Head> = std::mem::take(&mut self.heads)
            .into_iter()
            .map(|h| (h.key, h))
            .collect();
        let right_tails: HashMap<u64, Tail> = right.tails.into_iter().map(|t| (t.key, t)).collect();
        let mut out_tails: HashMap<u64, Tail> = HashMap::default();
        out_tails.reserve(tails.len() + right_tails.len());

        for h in right.heads {
            if let Some(t) = tails.remove(&h.key) {
                // Replay the right prefix on the left's open chain.
                let mut named = Named {
                    client: &t.client,
                    inner: sink,
                };
                let mut open = Some(t.chain);
                for e in &h.events {
                    open = Some(step(open, *e, window, &mut named));
                }
                let open = open.expect("a head has events");
                if h.closed || expired(&open, window, right.max_ts) {
                    // The right side started a new chain after the prefix (or its
                    // clock went past the chain's horizon).
                    named.chain(&open);
                } else {
                    out_tails.insert(
                        h.key,
                        Tail {
                            key: h.key,
                            client: t.client,
                            chain: open,
                        },
                    );
                }
            } else if self.start {
                // Nothing can precede the left side: the prefix has no history.
                let mut named = Named {
                    client: &h.client,
                    inner: sink,
                };
                replay_fresh(&h, window, right.max_ts, &mut named, &mut out_tails);
            } else if let Some(lh) = heads.get_mut(&h.key) {
                if lh.closed {
                    // Left resolved this key after its prefix, and its open chain is
                    // gone (swept): the right prefix starts with no linkable history.
                    let mut named = Named {
                        client: &h.client,
                        inner: sink,
                    };
                    replay_fresh(&h, window, right.max_ts, &mut named, &mut out_tails);
                } else {
                    lh.events.extend_from_slice(&h.events);
                    lh.closed = h.closed;
                    if lh.events.len() > MAX_PREFIX {
                        let lh = heads.remove(&h.key).expect("present");
                        let mut named = Named {
                            client: &lh.client,
                            inner: sink,
                        };
                        replay_fresh(&lh, window, right.max_ts, &mut named, &mut out_tails);
                    }
                }
            } else if first_ts(&h)
                .zip(self.min_ts)
                .is_some_and(|(t, s)| t - s > MAX_HORIZON_MS + SWEEP_SLACK_MS)
            {
                // Far past the left's start: nothing earlier can continue it.
                let mut named = Named {
                    client: &h.client,
                    inner: sink,
                };
                replay_fresh(&h, window, right.max_ts, &mut named, &mut out_tails);
            } else {
                heads.insert(h.key, h);
            }
        }
        // A left prefix that the right side followed with an independent start is
        // complete.
        for (key, lh) in heads.iter_mut() {
            if right_tails.contains_key(key) {
                lh.closed = true;
            }
        }
        // Left chains the right side saw again are over; so are those expired by the
        // right side's clock. The rest stay open for the next shard.
        for (key, t) in tails {
            let seen_right = right_tails.contains_key(&key) || out_tails.contains_key(&key);
            if seen_right || expired(&t.chain, window, right.max_ts) {
                sink.chain(&t.chain);
            } else {
                out_tails.insert(key, t);
            }
        }
        for (key, t) in right_tails {
            out_tails.insert(key, t);
        }
        self.window_ms = window;
        self.min_ts = min_opt(self.min_ts, right.min_ts);
        self.max_ts = max_opt(self.max_ts, right.max_ts);
        self.heads = heads.into_values().collect();
        self.heads.sort_unstable_by_key(|h| h.key);
        self.tails = out_tails.into_values().collect();
        self.tails.sort_unstable_by_key(|t| t.key);
    }

    /// Resolves everything still open as if nothing came before or after: prefixes
    /// replayed with no history, open chains closed.
    pub fn finish(&self, sink: &mut impl ClientSink) {
        for h in &self.heads {
            let mut named = Named {
                client: &h.client,
                inner: sink,
            };
            let mut open = None;
            for e in &h.events {
                open = Some(step(open, *e, self.window_ms, &mut named));
            }
            // A prefix ends its chain: either a later event (in the tails) started a
            // new one, or nothing followed it.
            if let Some(o) = open {
                named.chain(&o);
            }
        }
        for t in &self.tails {
            sink.chain(&t.chain);
        }
    }
}

fn first_ts(h: &Head) -> Option<i64> {
    h.events.first().and_then(|e| e.ts)
}

/// Whether `chain` can no longer be continued at log time `now` (what a single pass's
/// sweep closes).
fn expired(chain: &OpenChain, window: i64, now: Option<i64>) -> bool {
    matches!((chain.last.ts, now), (Some(a), Some(now)) if a + chain.last.horizon_ms(window) + SWEEP_SLACK_MS < now)
}

/// Replays a prefix that has no history; its chain stays open in `out` unless a later
/// event closed it or it expired by `now`.
fn replay_fresh<S: Sink>(
    h: &Head,
    window: i64,
    now: Option<i64>,
    sink: &mut S,
    out: &mut HashMap<u64, Tail>,
) {
    let mut open = None;
    for e in &h.events {
        open = Some(step(open, *e, window, sink));
    }
    let open = open.expect("a head has events");
    if h.closed || expired(&open, window, now) {
        sink.chain(&open);
    } else {
        out.insert(
            h.key,
            Tail {
                key: h.key,
                client: h.client.clone(),
                chain: open,
            },
        );
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Closed(u64);
    impl Sink for Closed {
        fn retry(&mut self, _: u8, _: &RetryCounts) {}
        fn chain(&mut self, _: &OpenChain) {
            self.0 += 1;
        }
    }

    /// A live tracker closes keys by arrival: events without a time are swept once
    /// nothing of them arrived for the longest horizon, and keys are capped by count.
    #[test]
    fn live_trackers_sweep_by_arrival_and_count() {
        let mut t = Tracker::live(60_000, 1_000);
        let mut sink = Closed::default();
        t.tick(1_000_000, &mut sink);
        let ev = Event {
            ts: None,
            attempt: None,
            failure: true,
            retryable: true,
            blocks_posts: false,
            post: false,
            retry_after_ms: None,
            provider: 0,
        };
        for k in 0..10 {
            t.push(k, 0, ev, &mut sink);
        }
        assert_eq!(t.keys(), 10);
        t.tick(1_000_000 + MAX_HORIZON_MS, &mut sink);
        assert_eq!(t.keys(), 10, "not yet past horizon and slack");
        t.tick(
            1_000_000 + MAX_HORIZON_MS + SWEEP_SLACK_MS + 20_000,
            &mut sink,
        );
        assert_eq!((t.keys(), sink.0), (0, 10));
        for k in 0..5_000 {
            t.push(k, 0, ev, &mut sink);
            t.tick(
                1_000_000 + MAX_HORIZON_MS + SWEEP_SLACK_MS + 20_000,
                &mut sink,
            );
        }
        assert!(t.keys() <= 1_000, "{}", t.keys());
    }
}
