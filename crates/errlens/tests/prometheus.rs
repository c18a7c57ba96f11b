//! A real Prometheus scrapes `errlens serve`: the counts it stores equal the counts of
//! `errlens report` on the same log.

mod common;

use common::{gen_log, Prometheus, Serve};
use serde_json::Value;
use std::time::Duration;

#[test]
fn prometheus_counts_equal_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    gen_log(&log, 20_000, 9, 3);
    let out = assert_cmd::Command::cargo_bin("errlens")
        .unwrap()
        .arg("report")
        .arg(&log)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let count = |k: &str| report[k].as_f64().unwrap();

    let serve = Serve::start(&["--follow", log.to_str().unwrap(), "--from-start"]);
    let lines = count("records") + count("malformed") + count("blank");
    assert!(serve.wait_for("errlens_lines_total", lines, Duration::from_secs(30)));

    let prom = Prometheus::start(&serve.addr);
    let t = Duration::from_secs(30);
    let records = count("records");
    assert_eq!(
        prom.wait_for("sum(errlens_requests_total)", records, t),
        Some(records)
    );
    for status in ["429", "412"] {
        let want = report["by_status"][status].as_f64().unwrap();
        let q = format!("sum(errlens_requests_total{{status=\"{status}\"}})");
        assert_eq!(prom.wait_for(&q, want, t), Some(want), "{q}");
        let by_client = format!(
            "sum(errlens_{}_by_client_total)",
            if status == "429" {
                "rate_limited"
            } else {
                "client_id_failed"
            }
        );
        assert_eq!(
            prom.wait_for(&by_client, want, t),
            Some(want),
            "{by_client}"
        );
    }
    for (q, key) in [
        ("sum(errlens_failures_total)", "failures"),
        ("sum(errlens_hidden_failures_total)", "hidden_failures"),
        ("sum(errlens_status_mismatches_total)", "status_mismatches"),
    ] {
        let want = count(key);
        assert_eq!(prom.wait_for(q, want, t), Some(want), "{q}");
    }
    // The same retry judgements as the report.
    let retries = &report["retries"];
    let total = retries["total"].as_f64().unwrap();
    assert_eq!(
        prom.wait_for("sum(errlens_retry_attempts_total)", total, t),
        Some(total)
    );
    for kind in ["wasted", "early", "over_limit", "post_after_429", "ok"] {
        let want = retries[kind].as_f64().unwrap();
        let q = format!("sum(errlens_retries_total{{kind=\"{kind}\"}})");
        assert_eq!(prom.wait_for(&q, want, t), Some(want), "{q}");
    }
    let malformed = count("malformed");
    assert_eq!(
        prom.wait_for(
            "sum(errlens_lines_total{result=\"malformed\"})",
            malformed,
            t
        ),
        Some(malformed)
    );
    // Scrape-time timestamps: the sample is recent, not the log's 2026-11-20 times.
    let age = prom
        .query("time() - timestamp(errlens_build_info)")
        .unwrap();
    assert!(age < 30.0, "sample is {age} s old");
}
