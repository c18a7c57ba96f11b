//! Summaries merge exactly: a log split into shards at random points, each shard
//! audited on its own (summary serialized and read back), the summaries merged in
//! order, gives the same report as one pass over the whole log. Also: latency
//! quantiles against exact nearest-rank quantiles.

mod common;

use common::split;
use errlens_audit::{AuditConfig, Auditor, Report, ReportOptions, Summary};
use errlens_gen::{generate, GenConfig};
use proptest::prelude::*;
use serde_json::Value;

fn log(seed: u64, lines: u64, attempt_field: bool) -> Vec<u8> {
    let cfg = GenConfig {
        seed,
        lines,
        garbage_per_mille: 10,
        attempt_field,
        // Dense traffic so retry chains often cross shard boundaries.
        mean_gap_ms: 200,
        ..GenConfig::default()
    };
    let mut out = Vec::new();
    generate(&cfg, &mut out).unwrap();
    out
}

fn audit(bytes: &[u8], mergeable: bool) -> Summary {
    let mut a = Auditor::new(AuditConfig {
        mergeable_chains: mergeable,
        ..AuditConfig::default()
    });
    a.read("log", bytes).unwrap();
    a.finish()
}

/// The report as JSON, without what legitimately differs between a sharded and a
/// single run: per-input stats and line numbers of the malformed sample.
fn comparable(s: &Summary) -> Value {
    let mut v = serde_json::to_value(Report::from_summary(
        s,
        &ReportOptions {
            top: 1000,
            ..Default::default()
        },
    ))
    .unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("inputs");
    o.remove("malformed_sample");
    v
}

fn merged(shards: &[&[u8]]) -> Summary {
    let mut acc: Option<Summary> = None;
    for shard in shards {
        let s = audit(shard, true);
        // Through the wire format, as `errlens merge` reads it.
        let s = Summary::from_json(s.to_json().as_bytes()).unwrap();
        match &mut acc {
            Some(a) => a.merge(&s).unwrap(),
            None => acc = Some(s),
        }
    }
    acc.unwrap()
}

fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(
                    &x.get(k).cloned().unwrap_or(Value::Null),
                    &y.get(k).cloned().unwrap_or(Value::Null),
                    &format!("{path}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: single {a} merged {b}")),
        _ => {}
    }
}

fn check(seed: u64, attempt_field: bool, cuts: &[f64]) {
    let bytes = log(seed, 6_000, attempt_field);
    let single = comparable(&audit(&bytes, false));
    let shards = split(&bytes, cuts);
    let merged = comparable(&merged(&shards));
    let mut d = Vec::new();
    diff(&single, &merged, "", &mut d);
    assert!(
        d.is_empty(),
        "seed {seed}, attempt {attempt_field}, {} shards:\n{}",
        shards.len(),
        d.join("\n")
    );
    assert!(
        single["retries"]["total"].as_u64().unwrap() > 100,
        "the log has retries to judge"
    );
}

#[test]
fn two_shards_cut_in_the_middle() {
    check(7, true, &[0.5]);
    check(7, false, &[0.5]);
}

#[test]
fn many_tiny_shards() {
    let cuts: Vec<f64> = (1..40).map(|i| i as f64 / 40.0).collect();
    check(11, true, &cuts);
    check(11, false, &cuts);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn random_shards_merge_to_the_single_run(
        seed in 1u64..10_000,
        attempt_field in any::<bool>(),
        cuts in proptest::collection::vec(0.0f64..1.0, 1..6),
    ) {
        check(seed, attempt_field, &cuts);
    }
}

#[test]
fn merge_of_nothing_new_is_identity() {
    let bytes = log(3, 2_000, true);
    let s = audit(&bytes, true);
    let mut m = s.clone();
    m.merge(&audit(b"", true)).unwrap();
    assert_eq!(comparable(&m), comparable(&s));
}

/// Exact nearest-rank quantile of sorted values.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

#[test]
fn latency_quantiles_within_one_percent_of_exact() {
    let bytes = log(5, 50_000, true);
    let mut by_provider: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in bytes.split(|b| *b == b'\n') {
        let Ok(v) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let (Some(url), Some(ms)) = (v["url"].as_str(), v["latency_ms"].as_f64()) else {
            continue;
        };
        if v["status"].as_u64().is_none() {
            continue;
        }
        let p = if url.contains("simkl") {
            "simkl"
        } else {
            "tmdb"
        };
        by_provider.entry(p.to_owned()).or_default().push(ms);
    }
    let report = Report::from_summary(&audit(&bytes, false), &ReportOptions::default());
    for (p, mut values) in by_provider {
        values.sort_by(f64::total_cmp);
        let q = report.latency_ms[&p];
        assert_eq!(q.count as usize, values.len());
        for (name, got, want) in [
            ("p50", q.p50, nearest_rank(&values, 0.50)),
            ("p90", q.p90, nearest_rank(&values, 0.90)),
            ("p99", q.p99, nearest_rank(&values, 0.99)),
            ("max", q.max, *values.last().unwrap()),
        ] {
            assert!(
                (got - want).abs() <= want * 0.01,
                "{p} {name}: {got} vs exact {want}"
            );
        }
    }
}

/// A summary does not depend on where its input was cut: a chain the single pass closed
/// by its clock is not left open by a merge (the cut here falls before a failure whose
/// chain expires ten minutes later), and latency histograms grown by merging serialize
/// as those grown by recording. Both found by the `audit_merge` fuzz target
/// (fuzz/regressions/audit_merge/).
#[test]
fn summaries_do_not_depend_on_the_cut() {
    let mut lines: Vec<String> = vec![
        r#"{"ts":1795168800000,"url":"https://api.simkl.com/c","status":200}"#.into(),
        r#"{"ts":1795168801000,"url":"https://api.simkl.com/a","status":500}"#.into(),
        r#"{"ts":1795169400000,"url":"https://api.simkl.com/b","status":200}"#.into(),
    ];
    // One endpoint whose latencies fill more buckets than a list holds, low ones first.
    for (i, ms) in (1..=30).chain(2_000..2_031).enumerate() {
        lines.push(format!(
            r#"{{"ts":{},"url":"https://api.simkl.com/e","status":200,"latency_ms":{ms}}}"#,
            1_795_169_400_000u64 + i as u64
        ));
    }
    let text = lines.join("\n") + "\n";
    let whole = audit(text.as_bytes(), false);
    for cut in [1, 2, 3, 33] {
        let at = lines[..cut].iter().map(|l| l.len() + 1).sum::<usize>();
        let mut merged = audit(&text.as_bytes()[..at], false);
        merged.merge(&audit(&text.as_bytes()[at..], true)).unwrap();
        let json = |s: &Summary| {
            let mut v: Value = serde_json::from_str(&s.to_json()).unwrap();
            v.as_object_mut().unwrap().remove("inputs");
            v
        };
        assert_eq!(
            json(&merged)["chain_state"]["tails"],
            json(&whole)["chain_state"]["tails"],
            "open chains, cut after line {cut}"
        );
        assert_eq!(
            json(&merged)["endpoints"],
            json(&whole)["endpoints"],
            "endpoint rows, cut after line {cut}"
        );
    }
}
