//! Latency histograms: hdrhistogram with 3 significant digits, serialized losslessly.
//!
//! Values are recorded in microseconds (so sub-millisecond latencies keep their
//! precision) and reported in milliseconds. In a summary a histogram is the base64 of
//! its V2 serialization, which round-trips every count exactly, so merged summaries give
//! the same quantiles as one run.
//!
//! A full histogram of latencies up to a second takes ~90 KB, and a report keeps one per
//! endpoint row (up to 500 per part being audited), most of which see a handful of
//! values. So a distribution starts as a short list of (bucket, count) pairs — the
//! histogram's own buckets, so nothing is rounded differently — and becomes a counts
//! array once it holds more than [`SPARSE_BUCKETS`] distinct buckets. Both forms are the
//! same distribution: equal, serialized and merged alike.
//!
//! The counts array is laid out as hdrhistogram's own (3 significant digits, a lowest
//! discernible value of 1 µs; see [`index`]), so recording a value is an index
//! computation and an increment, where `Histogram::record` also grows, checks and
//! tracks the minimum, maximum and total (~65 instructions a record). hdrhistogram
//! itself reads the distribution (quantiles) and writes it (the V2 serialization): a
//! histogram is built from the counts when one is asked for, bucket by bucket. The
//! array is larger than the CPU's cache, so values are counted [`PENDING`] at a time
//! (their misses overlap); every read sees the buffered values.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// Highest latency recorded exactly: one hour. Longer ones are clamped to it.
const MAX_US: u64 = 3_600_000_000;

/// Distinct buckets a distribution keeps as a list before it becomes a counts array.
pub const SPARSE_BUCKETS: usize = 24;

/// A latency distribution.
#[derive(Debug, Clone, Default)]
pub struct Latency(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// Few distinct buckets: each bucket's lowest value (µs) and its count, unsorted.
    Sparse(Vec<(u64, u64)>),
    /// Counts by bucket index, and values not yet counted.
    Dense(Box<Dense>),
}

/// Values buffered before they are counted (see [`Dense`]).
pub const PENDING: usize = 32;

/// A counts array and the bucket indices of the values not yet counted in it.
///
/// The array is larger than the CPU's cache, so counting a value mostly waits for
/// memory; buffered and counted [`PENDING`] at a time, the waits of a batch overlap.
/// Every read sees the buffered values; [`Latency::settle`] counts them.
#[derive(Debug, Clone)]
struct Dense {
    /// Counts by bucket index (see [`index`]), as long as the highest bucket used.
    counts: Vec<u64>,
    pending: [u32; PENDING],
    /// How many of `pending` are in use.
    waiting: usize,
}

impl Dense {
    fn new(counts: Vec<u64>) -> Box<Dense> {
        Box::new(Dense {
            counts,
            pending: [0; PENDING],
            waiting: 0,
        })
    }

    /// Buffers the value of bucket index `i`, counting the batch once it is full.
    #[inline]
    fn push(&mut self, i: usize) {
        // Indices of values up to MAX_US are below 2^15.
        self.pending[self.waiting] = i as u32;
        self.waiting += 1;
        if self.waiting == PENDING {
            self.settle();
        }
    }

    /// Counts the buffered values.
    fn settle(&mut self) {
        for &i in &self.pending[..self.waiting] {
            count(&mut self.counts, i as usize, 1);
        }
        self.waiting = 0;
    }

    /// The counts with the buffered values: borrowed when there are none.
    fn settled(&self) -> Cow<'_, [u64]> {
        if self.waiting == 0 {
            return Cow::Borrowed(&self.counts);
        }
        let mut d = self.clone();
        d.settle();
        Cow::Owned(d.counts)
    }
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Sparse(Vec::new())
    }
}

/// The index of the bucket of `us` (at most [`MAX_US`]) in hdrhistogram's counts array
/// for 3 significant digits and a lowest discernible value of 1: 2,048 sub-buckets
/// (`2 × 10³` rounded up to a power of two), of which each bucket after the first uses
/// the upper half at twice the previous bucket's unit. (A test holds it to
/// hdrhistogram's buckets.)
#[inline]
fn index(us: u64) -> usize {
    const HALF_COUNT_MAGNITUDE: u32 = 10;
    const SUB_BUCKET_MASK: u64 = (1 << (HALF_COUNT_MAGNITUDE + 1)) - 1;
    // 64 - unit magnitude (0) - sub-bucket count magnitude (11).
    const LEADING_ZERO_COUNT_BASE: u32 = 53;
    let bucket = LEADING_ZERO_COUNT_BASE - (us | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = (us >> bucket) as usize;
    ((bucket as usize + 1) << HALF_COUNT_MAGNITUDE) + sub_bucket - (1 << HALF_COUNT_MAGNITUDE)
}

/// The lowest value of the bucket at `i` (the inverse of [`index`]).
fn bucket_low(i: usize) -> u64 {
    let (bucket, sub_bucket) = match (i >> 10).checked_sub(1) {
        Some(b) => (b, (i & 1023) + 1024),
        None => (0, i),
    };
    (sub_bucket as u64) << bucket
}

/// Records `n` values `us` (at most [`MAX_US`]).
#[inline]
fn record(h: &mut Histogram<u64>, us: u64, n: u64) {
    // Not `saturating_record`: it clamps to the current (auto-growing) range before
    // growing it. `record_n` grows the histogram; with the value already clamped to
    // MAX_US it cannot fail.
    h.record_n(us, n)
        .expect("an auto-resizing histogram records any clamped value");
}

/// Adds `n` values of bucket index `i` to `counts`. Saturating, as hdrhistogram's own
/// counts are: a summary read from a file may hold any count.
#[inline]
fn count(counts: &mut Vec<u64>, i: usize, n: u64) {
    match counts.get_mut(i) {
        Some(c) => *c = c.saturating_add(n),
        None => {
            counts.resize(i + 1, 0);
            counts[i] = n;
        }
    }
}

/// An empty histogram. Auto-resizing: memory follows the largest value seen, not the
/// bound.
#[cfg(test)]
fn empty() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("3 significant digits is valid");
    h.auto(true);
    h
}

/// The lowest value of `us`'s bucket (buckets depend only on the precision).
fn bucket(us: u64) -> u64 {
    bucket_low(index(us))
}

/// The histogram of `(bucket low, count)` pairs, sized for values up to `high`.
fn dense(buckets: impl Iterator<Item = (u64, u64)>, high: u64) -> Histogram<u64> {
    // Sized for the largest value at once, not grown value by value.
    let high = high.max(2);
    let mut h = Histogram::new_with_max(high, 3).expect("3 significant digits, high >= 2");
    h.auto(true);
    for (b, n) in buckets {
        record(&mut h, b, n);
    }
    h
}

/// The `(bucket low, count)` pairs of a counts array.
fn pairs(counts: &[u64]) -> impl Iterator<Item = (u64, u64)> + '_ {
    counts
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(i, &n)| (bucket_low(i), n))
}

/// The counts array of `(bucket low, count)` pairs.
fn counts_of(pairs: impl Iterator<Item = (u64, u64)>) -> Vec<u64> {
    let mut counts = Vec::new();
    for (b, n) in pairs {
        count(&mut counts, index(b), n);
    }
    counts
}

/// `h` with its highest trackable value (written in the serialization's header) set by
/// its largest value alone: recording and merging grow it differently, and a summary
/// must not depend on how its audit was split.
fn canonical(h: &Histogram<u64>) -> Histogram<u64> {
    let mut c =
        Histogram::new_with_max(h.max().max(2), 3).expect("3 significant digits, high >= 2");
    c.auto(true);
    c.add(h).expect("auto-resizing histograms always add");
    c
}

impl PartialEq for Latency {
    fn eq(&self, other: &Self) -> bool {
        self.histogram() == other.histogram()
    }
}

/// Quantiles of a distribution, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    /// Values recorded.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
}

impl Latency {
    /// Records one latency in milliseconds.
    #[inline]
    pub fn record_ms(&mut self, ms: f64) {
        let x = ms * 1000.0;
        // Whole microseconds (integer milliseconds, as most logs have) need no rounding.
        // (Through i64: x86-64 converts a double to a signed integer in one
        // instruction, to an unsigned one in a dozen.)
        let us = match x as i64 {
            t if t as f64 == x && (0..=MAX_US as i64).contains(&t) => t as u64,
            _ => x.round().clamp(0.0, MAX_US as f64) as u64,
        };
        match &mut self.0 {
            Repr::Dense(d) => d.push(index(us)),
            Repr::Sparse(list) => {
                let b = bucket(us);
                if let Some((_, n)) = list.iter_mut().find(|(k, _)| *k == b) {
                    *n += 1;
                } else if list.len() < SPARSE_BUCKETS {
                    list.push((b, 1));
                } else {
                    let mut counts = counts_of(list.iter().copied());
                    count(&mut counts, index(us), 1);
                    self.0 = Repr::Dense(Dense::new(counts));
                }
            }
        }
    }

    /// Counts the values a distribution still buffers (reads see them either way; a
    /// settled distribution is read without a copy).
    pub fn settle(&mut self) {
        if let Repr::Dense(d) = &mut self.0 {
            d.settle();
        }
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Repr::Sparse(list) => list.iter().fold(0, |s, (_, n)| s.saturating_add(*n)),
            Repr::Dense(d) => d
                .counts
                .iter()
                .fold(d.waiting as u64, |s, n| s.saturating_add(*n)),
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Latency) {
        match (&mut self.0, &other.0) {
            (_, Repr::Sparse(theirs)) if theirs.is_empty() => {}
            (Repr::Sparse(mine), Repr::Sparse(theirs)) => {
                for &(b, n) in theirs {
                    match mine.iter_mut().find(|(k, _)| *k == b) {
                        Some((_, m)) => *m += n,
                        None => mine.push((b, n)),
                    }
                }
                if mine.len() > SPARSE_BUCKETS {
                    self.0 = Repr::Dense(Dense::new(counts_of(mine.iter().copied())));
                }
            }
            (Repr::Dense(mine), Repr::Sparse(theirs)) => {
                for &(b, n) in theirs {
                    count(&mut mine.counts, index(b), n);
                }
            }
            (Repr::Sparse(mine), Repr::Dense(theirs)) => {
                let mut counts = theirs.settled().into_owned();
                for &(b, n) in mine.iter() {
                    count(&mut counts, index(b), n);
                }
                self.0 = Repr::Dense(Dense::new(counts));
            }
            (Repr::Dense(mine), Repr::Dense(theirs)) => {
                let theirs = theirs.settled();
                let mine = &mut mine.counts;
                if mine.len() < theirs.len() {
                    mine.resize(theirs.len(), 0);
                }
                for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                    *m = m.saturating_add(*t);
                }
            }
        }
    }

    /// The value at quantile `q` (0..=1), in milliseconds: the histogram's equivalent
    /// of the nearest-rank quantile.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        // The middle of the value's bucket: within 0.05% of every value in it (3
        // significant digits), and exact values like 800 ms read as 800.0.
        let h = self.histogram();
        h.median_equivalent(h.value_at_quantile(q)) as f64 / 1000.0
    }

    /// p50, p90, p99 and max, or `None` when empty.
    pub fn quantiles(&self) -> Option<Quantiles> {
        let h = self.histogram();
        if h.is_empty() {
            return None;
        }
        let at = |q: f64| h.median_equivalent(h.value_at_quantile(q)) as f64 / 1000.0;
        Some(Quantiles {
            count: h.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: h.median_equivalent(h.max()) as f64 / 1000.0,
        })
    }

    /// The distribution as a histogram (microseconds), built from its buckets.
    pub fn histogram(&self) -> Histogram<u64> {
        match &self.0 {
            Repr::Sparse(list) => {
                let high = list.iter().map(|&(b, _)| b).max().unwrap_or(0);
                dense(list.iter().copied(), high)
            }
            Repr::Dense(d) => {
                let counts = d.settled();
                // The highest bucket used, found from the end.
                let high = counts.iter().rposition(|&n| n > 0).map_or(0, bucket_low);
                dense(pairs(&counts), high)
            }
        }
    }
}

impl Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        V2Serializer::new()
            .serialize(&canonical(&self.histogram()), &mut buf)
            .map_err(|e| serde::ser::Error::custom(format!("histogram: {e:?}")))?;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(buf))
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("histogram: {e:?}")))?;
        // Each recorded bucket by the value it starts at (its count is per bucket).
        let buckets = h.iter_recorded().map(|v| {
            (
                h.lowest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        });
        Ok(Latency(Repr::Dense(Dense::new(counts_of(buckets)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_roundtrip() {
        let mut l = Latency::default();
        for ms in 1..=1000 {
            l.record_ms(ms as f64);
        }
        let q = l.quantiles().unwrap();
        assert_eq!(q.count, 1000);
        assert!((q.p50 - 500.0).abs() <= 0.5, "{q:?}");
        assert!((q.p99 - 990.0).abs() <= 1.0, "{q:?}");
        assert!((q.max - 1000.0).abs() <= 0.5, "{q:?}");
        let json = serde_json::to_string(&l).unwrap();
        let back: Latency = serde_json::from_str(&json).unwrap();
        assert_eq!(back, l);
        assert_eq!(back.quantiles(), l.quantiles());
    }

    /// A list and a histogram of the same values are the same distribution, however
    /// they were recorded and merged.
    #[test]
    fn lists_and_histograms_agree() {
        let values: Vec<f64> = (0..400)
            .map(|i| ((i * 7919) % 1000) as f64 * 1.37)
            .collect();
        let mut whole = Latency::default();
        let mut direct = empty();
        for &v in &values {
            whole.record_ms(v);
            direct.record((v * 1000.0).round() as u64).unwrap();
        }
        assert!(matches!(whole.0, Repr::Dense(_)));
        assert_eq!(whole.histogram(), direct);
        // Merged from small parts: lists merged into lists, into histograms, and the
        // other way round.
        for part in [3, 10, 50, 400] {
            let mut merged = Latency::default();
            for chunk in values.chunks(part) {
                let mut l = Latency::default();
                for &v in chunk {
                    l.record_ms(v);
                }
                merged.merge(&l);
            }
            assert_eq!(merged, whole, "parts of {part}");
            assert_eq!(merged.quantiles(), whole.quantiles());
            let mut other_way = Latency::default();
            for &v in &values[..part] {
                other_way.record_ms(v);
            }
            let mut rest = Latency::default();
            for &v in &values[part..] {
                rest.record_ms(v);
            }
            other_way.merge(&rest);
            assert_eq!(other_way, whole, "{part} then the rest");
        }
        let few = {
            let mut l = Latency::default();
            l.record_ms(12.0);
            l.record_ms(12.0);
            l.record_ms(800.0);
            l
        };
        assert!(matches!(few.0, Repr::Sparse(ref v) if v.len() == 2));
        let back: Latency = serde_json::from_str(&serde_json::to_string(&few).unwrap()).unwrap();
        assert_eq!(back, few);
        assert_eq!(back.quantiles(), few.quantiles());
        assert_eq!(few.quantiles().unwrap().max, 800.0);
        assert!(Latency::default().quantiles().is_none());
    }

    /// The counts array's layout is hdrhistogram's own: every value's bucket index
    /// and that bucket's lowest value agree with a real histogram's, at the edges of
    /// buckets and sub-buckets and between them, up to the clamp.
    #[test]
    fn buckets_are_hdrhistograms() {
        let mut h = empty();
        h.record(MAX_US).unwrap();
        let mut values: Vec<u64> = (0..5_000).collect();
        for shift in 10..=32 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1, p + p / 3, p + p / 2 + 7]);
        }
        let mut n = 1u64;
        for _ in 0..20_000 {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            values.push((n >> 20) % (MAX_US + 1));
        }
        values.push(MAX_US);
        for v in values.into_iter().filter(|v| *v <= MAX_US) {
            assert_eq!(bucket_low(index(v)), h.lowest_equivalent(v), "{v}");
            assert!(index(v) < h.distinct_values(), "{v}");
            // Neighbouring buckets: the next bucket starts past this one's values.
            let next = h.next_non_equivalent(v);
            if next <= MAX_US {
                assert_eq!(index(next), index(v) + 1, "{v} -> {next}");
            }
        }
    }

    /// Counted values are read everywhere: in the length, quantiles, equality, merges
    /// and the serialization, which equal a histogram's that recorded them one by one.
    #[test]
    fn counted_values_are_read() {
        for n in [SPARSE_BUCKETS + 1, 100, 3 * PENDING, 1_000] {
            let mut counted = Latency::default();
            let mut direct = empty();
            for i in 0..n {
                let ms = (i * 37 % 1000) as f64 + 0.5;
                counted.record_ms(ms);
                direct.record((ms * 1000.0).round() as u64).unwrap();
            }
            assert!(matches!(counted.0, Repr::Dense(_)));
            assert_eq!(counted.len(), n as u64);
            assert_eq!(counted.histogram(), direct, "{n} values");
            let json = serde_json::to_string(&counted).unwrap();
            // Values still buffered are read as counted ones.
            let mut settled = counted.clone();
            settled.settle();
            assert_eq!(settled, counted);
            assert_eq!(serde_json::to_string(&settled).unwrap(), json);
            let back: Latency = serde_json::from_str(&json).unwrap();
            assert_eq!(back, counted);
            assert_eq!(serde_json::to_string(&back).unwrap(), json);
            assert_eq!(back.quantiles(), counted.quantiles());
            let mut twice = counted.clone();
            twice.merge(&counted);
            assert_eq!(twice.len(), 2 * n as u64);
            let mut sparse = Latency::default();
            sparse.record_ms(3.0);
            sparse.merge(&counted);
            assert_eq!(sparse.len(), n as u64 + 1);
        }
    }

    /// Counts read from a summary may be anything a V2 payload holds: adding them up
    /// saturates, as hdrhistogram's own counts do, instead of overflowing.
    #[test]
    fn huge_counts_saturate() {
        let mut h = empty();
        for us in [10, 20_000, 3_000_000] {
            h.record_n(us, i64::MAX as u64).unwrap();
        }
        let mut buf = Vec::new();
        V2Serializer::new().serialize(&h, &mut buf).unwrap();
        let json =
            serde_json::to_string(&base64::engine::general_purpose::STANDARD.encode(buf)).unwrap();
        let one: Latency = serde_json::from_str(&json).unwrap();
        assert_eq!(one.len(), u64::MAX);
        let mut merged = one.clone();
        merged.merge(&one);
        merged.merge(&one);
        merged.record_ms(0.01);
        merged.settle();
        assert_eq!(merged.len(), u64::MAX);
        assert!(merged.quantiles().is_some());
    }

    #[test]
    fn extreme_values_are_clamped_not_lost() {
        let mut l = Latency::default();
        l.record_ms(-5.0);
        l.record_ms(1e12);
        assert_eq!(l.len(), 2);
    }
}
