//! Counter values across restarts: a snapshot of every `errlens_*` counter and
//! histogram, saved in the checkpoint together with the file positions, and the
//! baseline that adds the restored values to what `/metrics` exposes after a restart,
//! so Prometheus sees the counters go on where they were instead of a reset.
//!
//! The snapshot and the positions are saved from one instant (the follow thread writes
//! both after a poll, when every line up to the saved positions is counted): after a
//! crash, the lines after the positions are read again and counted on top of the
//! restored values, so nothing is lost and nothing is counted twice.

use prometheus::proto::{Bucket, Counter, Histogram, LabelPair, Metric, MetricFamily, MetricType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metric families a snapshot keeps: errlens' own counters and histograms (never
/// the process collector's, which start again with every process).
fn kept(f: &MetricFamily) -> bool {
    f.name().starts_with("errlens_")
        && matches!(
            f.get_field_type(),
            MetricType::COUNTER | MetricType::HISTOGRAM
        )
}

/// One series' value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// A counter.
    Counter(f64),
    /// A histogram: cumulative bucket counts by upper bound, count and sum.
    Histogram {
        /// `(upper bound, cumulative count)`, without `+Inf`.
        buckets: Vec<(f64, u64)>,
        /// Observations.
        count: u64,
        /// Sum of the observations.
        sum: f64,
    },
}

/// One series: its labels and value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Label pairs, in the registry's order.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: Value,
}

/// One metric family of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    /// Metric name.
    pub name: String,
    /// Its help text (to expose a family no series of which has been touched since).
    pub help: String,
    /// Its series.
    pub series: Vec<Series>,
}

/// The values of errlens' counters and histograms in `families`.
pub fn snapshot(families: &[MetricFamily]) -> Vec<Family> {
    families
        .iter()
        .filter(|f| kept(f))
        .map(|f| Family {
            name: f.name().to_owned(),
            help: f.help().to_owned(),
            series: f
                .get_metric()
                .iter()
                .map(|m| Series {
                    labels: m
                        .get_label()
                        .iter()
                        .map(|l| (l.name().to_owned(), l.value().to_owned()))
                        .collect(),
                    value: match f.get_field_type() {
                        MetricType::HISTOGRAM => {
                            let h = m.get_histogram();
                            Value::Histogram {
                                buckets: h
                                    .get_bucket()
                                    .iter()
                                    .map(|b| (b.upper_bound(), b.cumulative_count()))
                                    .collect(),
                                count: h.get_sample_count(),
                                sum: h.get_sample_sum(),
                            }
                        }
                        _ => Value::Counter(m.get_counter().get_value()),
                    },
                })
                .collect(),
        })
        .collect()
}

type Key = (String, Vec<(String, String)>);

/// Restored values, added to the live ones whenever metrics are gathered.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    families: Vec<Family>,
    values: BTreeMap<Key, Value>,
}

impl Baseline {
    /// The baseline of a restored snapshot.
    pub fn new(families: Vec<Family>) -> Baseline {
        let mut values = BTreeMap::new();
        for f in &families {
            for s in &f.series {
                values.insert((f.name.clone(), s.labels.clone()), s.value.clone());
            }
        }
        Baseline { families, values }
    }

    /// Whether nothing was restored.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `families` (as gathered) with the restored values added: a series present in both
    /// is summed, a restored series not touched since is exposed with its restored
    /// value. A histogram whose buckets changed (other `--buckets`) keeps its live
    /// values only.
    pub fn apply(&self, mut families: Vec<MetricFamily>) -> Vec<MetricFamily> {
        if self.is_empty() {
            return families;
        }
        let mut seen: BTreeMap<&Key, ()> = BTreeMap::new();
        for f in families.iter_mut().filter(|f| kept(f)) {
            let name = f.name().to_owned();
            for m in f.mut_metric() {
                let labels: Vec<(String, String)> = m
                    .get_label()
                    .iter()
                    .map(|l| (l.name().to_owned(), l.value().to_owned()))
                    .collect();
                let key = (name.clone(), labels);
                if let Some((k, v)) = self.values.get_key_value(&key) {
                    add(m, v);
                    seen.insert(k, ());
                }
            }
        }
        // Restored series that have not been touched since the restart.
        for f in &self.families {
            let missing: Vec<&Series> = f
                .series
                .iter()
                .filter(|s| !seen.contains_key(&(f.name.clone(), s.labels.clone())))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let at = match families.iter().position(|x| x.name() == f.name) {
                Some(i) => i,
                None => {
                    let mut family = MetricFamily::default();
                    family.set_name(f.name.clone());
                    family.set_help(f.help.clone());
                    family.set_field_type(match missing[0].value {
                        Value::Counter(_) => MetricType::COUNTER,
                        Value::Histogram { .. } => MetricType::HISTOGRAM,
                    });
                    families.push(family);
                    families.len() - 1
                }
            };
            for s in missing {
                let mut m = Metric::from_label(
                    s.labels
                        .iter()
                        .map(|(n, v)| {
                            let mut l = LabelPair::default();
                            l.set_name(n.clone());
                            l.set_value(v.clone());
                            l
                        })
                        .collect(),
                );
                match &s.value {
                    Value::Counter(_) => m.set_counter(Counter::default()),
                    Value::Histogram { buckets, .. } => {
                        let mut h = Histogram::default();
                        h.set_bucket(
                            buckets
                                .iter()
                                .map(|(ub, _)| {
                                    let mut b = Bucket::default();
                                    b.set_upper_bound(*ub);
                                    b
                                })
                                .collect(),
                        );
                        m.set_histogram(h);
                    }
                }
                add(&mut m, &s.value);
                families[at].mut_metric().push(m);
            }
        }
        families.sort_by(|a, b| a.name().cmp(b.name()));
        families
    }
}

impl Baseline {
    /// `families` (as gathered) with errlens' counters and histograms replaced by this
    /// baseline's values (the saved ones); gauges and the process metrics stay live.
    pub fn replace(&self, families: Vec<MetricFamily>) -> Vec<MetricFamily> {
        let rest: Vec<MetricFamily> = families.into_iter().filter(|f| !kept(f)).collect();
        self.apply(rest)
    }
}

/// Adds a restored value to a gathered series.
fn add(m: &mut Metric, v: &Value) {
    match v {
        Value::Counter(c) => {
            let mut counter = m.get_counter().clone();
            counter.set_value(counter.get_value() + c);
            m.set_counter(counter);
        }
        Value::Histogram {
            buckets,
            count,
            sum,
        } => {
            let mut h = m.get_histogram().clone();
            let same = h.get_bucket().len() == buckets.len()
                && h.get_bucket()
                    .iter()
                    .zip(buckets)
                    .all(|(b, (ub, _))| b.upper_bound() == *ub);
            if !same {
                return;
            }
            let merged: Vec<Bucket> = h
                .get_bucket()
                .iter()
                .zip(buckets)
                .map(|(b, (_, n))| {
                    let mut b = b.clone();
                    b.set_cumulative_count(b.cumulative_count() + n);
                    b
                })
                .collect();
            h.set_bucket(merged);
            h.set_sample_count(h.get_sample_count() + count);
            h.set_sample_sum(h.get_sample_sum() + sum);
            m.set_histogram(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

    fn registry() -> (Registry, IntCounterVec, HistogramVec) {
        let r = Registry::new();
        let c = IntCounterVec::new(Opts::new("errlens_x_total", "x"), &["k"]).unwrap();
        let h = HistogramVec::new(
            HistogramOpts::new("errlens_d_seconds", "d").buckets(vec![0.1, 1.0]),
            &["p"],
        )
        .unwrap();
        r.register(Box::new(c.clone())).unwrap();
        r.register(Box::new(h.clone())).unwrap();
        (r, c, h)
    }

    #[test]
    fn restored_values_are_added_and_untouched_series_kept() {
        let (r, c, h) = registry();
        c.with_label_values(&["a"]).inc_by(5);
        c.with_label_values(&["b"]).inc_by(2);
        h.with_label_values(&["p"]).observe(0.05);
        h.with_label_values(&["p"]).observe(0.5);
        let saved = snapshot(&r.gather());
        // A restart: fresh metrics, the snapshot as baseline.
        let (r2, c2, h2) = registry();
        let base = Baseline::new(saved.clone());
        c2.with_label_values(&["a"]).inc();
        h2.with_label_values(&["p"]).observe(5.0);
        let now = snapshot(&base.apply(r2.gather()));
        let get = |name: &str, label: &str| {
            now.iter()
                .find(|f| f.name == name)
                .and_then(|f| f.series.iter().find(|s| s.labels[0].1 == label))
                .map(|s| s.value.clone())
        };
        assert_eq!(get("errlens_x_total", "a"), Some(Value::Counter(6.0)));
        assert_eq!(
            get("errlens_x_total", "b"),
            Some(Value::Counter(2.0)),
            "untouched since"
        );
        assert_eq!(
            get("errlens_d_seconds", "p"),
            Some(Value::Histogram {
                buckets: vec![(0.1, 1), (1.0, 2)],
                count: 3,
                sum: 5.55
            })
        );
        // Saved again and restored again: nothing counted twice.
        let again = snapshot(&Baseline::new(now.clone()).apply(registry().0.gather()));
        assert_eq!(again, now);
        // The exposition stays valid text.
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&base.apply(r2.gather()))
            .unwrap();
        assert!(text.contains("errlens_x_total{k=\"b\"} 2"), "{text}");
    }
}
