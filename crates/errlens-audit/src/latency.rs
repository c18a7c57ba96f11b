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
//! histogram's own buckets, so nothing is rounded differently — and becomes a histogram
//! once it holds more than [`SPARSE_BUCKETS`] distinct buckets. Both forms are the same
//! distribution: equal, serialized and merged alike.
//!
//! A histogram's counts array is larger than the CPU's cache, so recording a value in
//! it mostly waits for memory. A histogram therefore collects values in a short buffer
//! and records them [`PENDING`] at a time, so that the waits of one batch overlap. Every
//! read sees the buffered values; [`Latency::settle`] records them for reads without a
//! copy.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::OnceLock;

/// Highest latency recorded exactly: one hour. Longer ones are clamped to it.
const MAX_US: u64 = 3_600_000_000;

/// Distinct buckets a distribution keeps as a list before it becomes a histogram.
pub const SPARSE_BUCKETS: usize = 24;

/// Values a histogram buffers before recording them (see the module docs).
pub const PENDING: usize = 32;

/// A latency distribution.
#[derive(Debug, Clone, Default)]
pub struct Latency(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// Few distinct buckets: each bucket's lowest value (µs) and its count, unsorted.
    Sparse(Vec<(u64, u64)>),
    /// A histogram.
    Dense(Box<Dense>),
}

/// A histogram and the values not yet recorded in it.
#[derive(Debug, Clone)]
struct Dense {
    histogram: Histogram<u64>,
    /// Values (µs, at most [`MAX_US`], so they fit) waiting to be recorded.
    pending: [u32; PENDING],
    /// How many of `pending` are in use.
    waiting: usize,
}

impl Dense {
    fn new(histogram: Histogram<u64>) -> Box<Dense> {
        Box::new(Dense {
            histogram,
            pending: [0; PENDING],
            waiting: 0,
        })
    }

    /// Buffers one value, recording the batch once the buffer is full.
    #[inline]
    fn push(&mut self, us: u64) {
        // `us` is clamped to MAX_US < 2^32 by the caller.
        self.pending[self.waiting] = us as u32;
        self.waiting += 1;
        if self.waiting == PENDING {
            self.settle();
        }
    }

    /// Records the buffered values.
    fn settle(&mut self) {
        for &us in &self.pending[..self.waiting] {
            record(&mut self.histogram, u64::from(us), 1);
        }
        self.waiting = 0;
    }

    /// The histogram with the buffered values: borrowed when there are none.
    fn whole(&self) -> Cow<'_, Histogram<u64>> {
        if self.waiting == 0 {
            return Cow::Borrowed(&self.histogram);
        }
        let mut settled = self.clone();
        settled.settle();
        Cow::Owned(settled.histogram)
    }
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

impl Default for Repr {
    fn default() -> Self {
        Repr::Sparse(Vec::new())
    }
}

/// An empty histogram. Auto-resizing: memory follows the largest value seen, not the
/// bound.
fn empty() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("3 significant digits is valid");
    h.auto(true);
    h
}

/// The lowest value of `us`'s bucket (buckets depend only on the precision).
fn bucket(us: u64) -> u64 {
    static SHAPE: OnceLock<Histogram<u64>> = OnceLock::new();
    SHAPE.get_or_init(empty).lowest_equivalent(us)
}

/// The histogram of a list of buckets.
fn dense(buckets: &[(u64, u64)]) -> Histogram<u64> {
    // Sized for the largest value at once, not grown value by value.
    let high = buckets.iter().map(|&(b, _)| b).max().unwrap_or(0).max(2);
    let mut h = Histogram::new_with_max(high, 3).expect("3 significant digits, high >= 2");
    h.auto(true);
    for &(b, n) in buckets {
        record(&mut h, b, n);
    }
    h
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
        *self.histogram() == *other.histogram()
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
    pub fn record_ms(&mut self, ms: f64) {
        let x = ms * 1000.0;
        // Whole microseconds (integer milliseconds, as most logs have) need no rounding.
        let us = match x as u64 {
            t if t as f64 == x && t <= MAX_US => t,
            _ => x.round().clamp(0.0, MAX_US as f64) as u64,
        };
        match &mut self.0 {
            Repr::Sparse(list) => {
                let b = bucket(us);
                if let Some((_, n)) = list.iter_mut().find(|(k, _)| *k == b) {
                    *n += 1;
                } else if list.len() < SPARSE_BUCKETS {
                    list.push((b, 1));
                } else {
                    let mut h = dense(list);
                    record(&mut h, b, 1);
                    self.0 = Repr::Dense(Dense::new(h));
                }
            }
            Repr::Dense(d) => d.push(us),
        }
    }

    /// Records the values a histogram still buffers (reads see them either way; a
    /// settled histogram is read without a copy).
    pub fn settle(&mut self) {
        if let Repr::Dense(d) = &mut self.0 {
            d.settle();
        }
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Repr::Sparse(list) => list.iter().map(|(_, n)| n).sum(),
            Repr::Dense(d) => d.histogram.len() + d.waiting as u64,
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
                    self.0 = Repr::Dense(Dense::new(dense(mine)));
                }
            }
            (Repr::Dense(d), Repr::Sparse(theirs)) => {
                for &(b, n) in theirs {
                    record(&mut d.histogram, b, n);
                }
            }
            (Repr::Sparse(mine), Repr::Dense(theirs)) => {
                let mut h = theirs.whole().into_owned();
                for &(b, n) in mine.iter() {
                    record(&mut h, b, n);
                }
                self.0 = Repr::Dense(Dense::new(h));
            }
            (Repr::Dense(d), Repr::Dense(theirs)) => d
                .histogram
                .add(&*theirs.whole())
                .expect("auto-resizing histograms always add"),
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
        if self.is_empty() {
            return None;
        }
        let h = self.histogram();
        let at = |q: f64| h.median_equivalent(h.value_at_quantile(q)) as f64 / 1000.0;
        Some(Quantiles {
            count: h.len(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: h.median_equivalent(h.max()) as f64 / 1000.0,
        })
    }

    /// The distribution as a histogram (microseconds): built when it is still a list.
    pub fn histogram(&self) -> Cow<'_, Histogram<u64>> {
        match &self.0 {
            Repr::Sparse(list) => Cow::Owned(dense(list)),
            Repr::Dense(d) => d.whole(),
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
        let mut h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("histogram: {e:?}")))?;
        h.auto(true);
        Ok(Latency(Repr::Dense(Dense::new(h))))
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
        assert_eq!(*whole.histogram(), direct);
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

    /// Buffered values count everywhere: in the length, quantiles, equality, merges and
    /// the serialization, before and after they are recorded.
    #[test]
    fn buffered_values_are_read() {
        for n in [SPARSE_BUCKETS + 1, 100, 3 * PENDING, 3 * PENDING + 7] {
            let mut buffered = Latency::default();
            let mut direct = empty();
            for i in 0..n {
                let ms = (i * 37 % 1000) as f64 + 0.5;
                buffered.record_ms(ms);
                direct.record((ms * 1000.0).round() as u64).unwrap();
            }
            assert_eq!(buffered.len(), n as u64);
            assert_eq!(*buffered.histogram(), direct, "{n} values");
            let json = serde_json::to_string(&buffered).unwrap();
            let mut settled = buffered.clone();
            settled.settle();
            assert_eq!(settled, buffered);
            assert_eq!(serde_json::to_string(&settled).unwrap(), json);
            assert_eq!(settled.quantiles(), buffered.quantiles());
            let mut twice = buffered.clone();
            twice.merge(&buffered);
            assert_eq!(twice.len(), 2 * n as u64);
            let mut sparse = Latency::default();
            sparse.record_ms(3.0);
            sparse.merge(&buffered);
            assert_eq!(sparse.len(), n as u64 + 1);
        }
    }

    #[test]
    fn extreme_values_are_clamped_not_lost() {
        let mut l = Latency::default();
        l.record_ms(-5.0);
        l.record_ms(1e12);
        assert_eq!(l.len(), 2);
    }
}
