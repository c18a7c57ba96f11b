//! Every shape gives the flat log's report: generated flat logs (any seed, with
//! garbage, with and without `attempt`) are rewritten in each shape by
//! `errlens_gen::shapes`, read with the shape detected as with no flags, and must give
//! exactly the report of the flat log holding the same fields — every count, group,
//! retry judgement, pressure figure and endpoint — with latency quantiles within 1%
//! (unit conversions such as ns → ms are not exact in binary floating point).

use errlens_audit::{AuditConfig, Auditor, Report, ReportOptions};
use errlens_gen::{generate, shapes, GenConfig};
use proptest::prelude::*;
use serde_json::Value;

fn report(text: &str, threads: usize) -> Value {
    let cfg = AuditConfig {
        malformed_sample: 0,
        ..AuditConfig::default()
    };
    let summary = if threads == 1 {
        let mut a = Auditor::new(cfg);
        a.read("log", text.as_bytes()).unwrap();
        a.finish()
    } else {
        let (s, r) = errlens_audit::parallel::audit_stream(text.as_bytes(), "log", &cfg, threads);
        r.unwrap();
        s
    };
    serde_json::to_value(Report::from_summary(
        &summary,
        &ReportOptions {
            top: 1000,
            ..Default::default()
        },
    ))
    .unwrap()
}

/// Removes what legitimately differs between shapes (how each input was read, why a
/// garbage line is malformed) and checks latency figures within 1%, then removes them.
fn comparable(mut r: Value, other: &mut Value) -> Result<Value, String> {
    for v in [&mut r, &mut *other] {
        let o = v.as_object_mut().unwrap();
        o.remove("inputs");
        o.remove("malformed_sample");
        o.remove("malformed_by_reason");
    }
    close(&mut r, &mut *other, "")?;
    Ok(r)
}

/// Compares every number under a `latency_ms` or `latency` key within 1% and zeroes
/// both, so the rest can be compared exactly.
fn close(a: &mut Value, b: &mut Value, key: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x.iter_mut() {
                if let Some(w) = y.get_mut(k) {
                    let k = if key.contains("latency") {
                        key
                    } else {
                        k.as_str()
                    };
                    close(v, w, k)?;
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (v, w) in x.iter_mut().zip(y.iter_mut()) {
                close(v, w, key)?;
            }
        }
        (Value::Number(x), Value::Number(y)) if key.contains("latency") => {
            let (p, q) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (p - q).abs() > 0.01 * p.abs().max(q.abs()) {
                return Err(format!("{key}: {p} vs {q}"));
            }
            *x = 0.into();
            *y = 0.into();
        }
        _ => {}
    }
    Ok(())
}

fn flat_log(seed: u64, lines: u64, attempt_field: bool) -> String {
    let mut out = Vec::new();
    generate(
        &GenConfig {
            seed,
            lines,
            garbage_per_mille: 20,
            attempt_field,
            ..GenConfig::default()
        },
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

fn check(seed: u64, lines: u64, attempt_field: bool, threads: usize) -> Result<(), TestCaseError> {
    let flat = flat_log(seed, lines, attempt_field);
    for shape in shapes::SHAPES {
        let want = report(&shapes::reference(&flat, shape), 1);
        let mut got = report(&shapes::convert(&flat, shape), threads);
        prop_assert!(
            want["records"].as_u64().unwrap() > 0,
            "{shape}: the reference has records"
        );
        let want = comparable(want, &mut got)
            .map_err(|e| TestCaseError::fail(format!("{shape}, seed {seed}: {e}")))?;
        if want != got {
            let (w, g) = (want.as_object().unwrap(), got.as_object().unwrap());
            let diff: Vec<String> = w
                .iter()
                .filter(|(k, v)| g.get(*k) != Some(v))
                .map(|(k, v)| format!("{k}: flat {v} vs {shape} {}", g[k]))
                .collect();
            return Err(TestCaseError::fail(format!(
                "{shape}, seed {seed}, attempt {attempt_field}: {}",
                diff.join("; ")
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn every_shape_gives_the_flat_report(
        seed in any::<u64>(),
        lines in 50u64..600,
        attempt_field in any::<bool>(),
        threads in 1usize..3,
    ) {
        check(seed, lines, attempt_field, threads)?;
    }
}

#[test]
fn a_larger_log_in_every_shape() {
    check(7, 5_000, true, 2).unwrap();
}
