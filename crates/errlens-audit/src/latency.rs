//! Latency histograms: hdrhistogram with 3 significant digits, serialized losslessly.
//!
//! Values are recorded in microseconds (so sub-millisecond latencies keep their
//! precision) and reported in milliseconds. In a summary a histogram is the base64 of
//! its V2 serialization, which round-trips every count exactly, so merged summaries give
//! the same quantiles as one run.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency recorded exactly: one hour. Longer ones are clamped to it.
const MAX_US: u64 = 3_600_000_000;

/// A latency distribution.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        // Auto-resizing: memory follows the largest value seen, not the bound.
        let mut h = Histogram::new(3).expect("3 significant digits is valid");
        h.auto(true);
        Latency(h)
    }
}

impl PartialEq for Latency {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
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
        let us = (ms * 1000.0).round().clamp(0.0, MAX_US as f64) as u64;
        // Not `saturating_record`: it clamps to the current (auto-growing) range before
        // growing it. `record` grows the histogram; with the value already clamped to
        // MAX_US it cannot fail.
        self.0
            .record(us)
            .expect("an auto-resizing histogram records any clamped value");
    }

    /// Values recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Latency) {
        self.0
            .add(&other.0)
            .expect("auto-resizing histograms always add");
    }

    /// The value at quantile `q` (0..=1), in milliseconds: the histogram's equivalent
    /// of the nearest-rank quantile.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        // The middle of the value's bucket: within 0.05% of every value in it (3
        // significant digits), and exact values like 800 ms read as 800.0.
        self.0.median_equivalent(self.0.value_at_quantile(q)) as f64 / 1000.0
    }

    /// p50, p90, p99 and max, or `None` when empty.
    pub fn quantiles(&self) -> Option<Quantiles> {
        (!self.is_empty()).then(|| Quantiles {
            count: self.len(),
            p50: self.quantile_ms(0.50),
            p90: self.quantile_ms(0.90),
            p99: self.quantile_ms(0.99),
            max: self.0.median_equivalent(self.0.max()) as f64 / 1000.0,
        })
    }

    /// The underlying histogram (microseconds).
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.0
    }
}

impl Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut buf)
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
        Ok(Latency(h))
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

    #[test]
    fn extreme_values_are_clamped_not_lost() {
        let mut l = Latency::default();
        l.record_ms(-5.0);
        l.record_ms(1e12);
        assert_eq!(l.len(), 2);
    }
}
