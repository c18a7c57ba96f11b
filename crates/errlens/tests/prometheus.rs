//! A real Prometheus scrapes `errlens serve`: the counts it stores equal the counts of
//! `errlens report` on the same log.

mod common;

use common::{agent, free_port, require, Serve};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus server on 127.0.0.1 with a temporary config and storage.
pub struct Prometheus {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second and waits until it is ready.
    pub fn start(target: &str) -> Prometheus {
        require("prometheus");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: errlens\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let url = format!("http://127.0.0.1:{port}");
        let p = Prometheus {
            child,
            url,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = agent()
                .get(format!("{}/-/ready", p.url))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if ok {
                return p;
            }
            assert!(Instant::now() < deadline, "prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Evaluates an instant query; returns the value of a single-sample result (None
    /// for an empty result).
    pub fn query(&self, q: &str) -> Option<f64> {
        let mut r = agent()
            .get(format!("{}/api/v1/query", self.url))
            .query("query", q)
            .call()
            .expect("query");
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(v["status"], "success", "{q}: {v}");
        let result = v["data"]["result"].as_array().unwrap();
        let sample = result.first()?;
        sample["value"][1].as_str().unwrap().parse().ok()
    }

    /// Waits until `q` returns `want`.
    pub fn wait_for(&self, q: &str, want: f64, timeout: Duration) -> Option<f64> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.query(q);
            if got == Some(want) || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        common::terminate(&self.child);
        let _ = self.child.wait();
    }
}

#[test]
fn prometheus_counts_equal_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    assert_cmd::Command::cargo_bin("errlens")
        .unwrap()
        .args([
            "gen",
            "--lines",
            "20000",
            "--seed",
            "9",
            "--garbage-per-mille",
            "3",
            "-o",
        ])
        .arg(&log)
        .assert()
        .success();
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
