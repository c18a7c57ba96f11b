//! `--fail-on` gates: each documented example trips on a log built to trip it and not
//! on a healthy one; exit codes 0 (no gate tripped), 1 (a gate tripped, report still
//! written), 2 (usage: bad expression, unknown path; input errors win over gates).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::json;
use std::path::Path;

const SIMKL: &str = "https://api.simkl.com/sync/activities";
const TMDB: &str = "https://api.themoviedb.org/3/movie/550";

fn line(t: u64, url: &str, status: u16, latency: u64, extra: serde_json::Value) -> String {
    let mut o = json!({
        "ts": 1_795_168_800 + t,
        "method": "GET",
        "url": url,
        "status": status,
        "latency_ms": latency,
        "client_id": "app",
    });
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o.to_string()
}

/// 200 successes, fast, on both providers.
fn healthy() -> Vec<String> {
    (0..200)
        .map(|i| {
            line(
                i * 2,
                if i % 2 == 0 { SIMKL } else { TMDB },
                200,
                40 + i % 30,
                json!({}),
            )
        })
        .collect()
}

/// The healthy log plus what each example gate looks for.
fn troubled() -> Vec<String> {
    let mut v = healthy();
    // TMDB failures: 30 of 130 TMDB records (23%), one hidden under 200.
    for i in 0..29 {
        v.push(line(
            500 + i,
            &format!("https://api.themoviedb.org/3/movie/{i}"),
            404,
            30,
            json!({"status_code": 34, "status_message": "nf", "success": false}),
        ));
    }
    v.push(line(
        540,
        TMDB,
        200,
        30,
        json!({"status_code": 21, "status_message": "Entry not found", "success": false}),
    ));
    // Simkl 429s (rate limited) and slow calls.
    for i in 0..10 {
        v.push(line(
            600 + i * 3,
            SIMKL,
            429,
            3000,
            json!({"error": "rate_limit", "client_id": format!("c{i}")}),
        ));
    }
    // A wasted retry: a deterministic 412 retried.
    v.push(line(
        700,
        SIMKL,
        412,
        10,
        json!({"error": "client_id_failed", "attempt": 1, "client_id": "bad"}),
    ));
    v.push(line(
        702,
        SIMKL,
        412,
        10,
        json!({"error": "client_id_failed", "attempt": 2, "client_id": "bad"}),
    ));
    v
}

fn write(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.display().to_string()
}

fn report(file: &str, gate: &str) -> std::process::Output {
    Command::cargo_bin("errlens")
        .unwrap()
        .args(["report", "--format", "json", "--fail-on", gate, file])
        .output()
        .unwrap()
}

const EXAMPLES: [&str; 6] = [
    "failures.share > 0.05",
    "retries.wasted > 0",
    "pressure.rate_limited_share > 0.02",
    "hidden_failures > 0",
    "provider.tmdb.failures.share > 0.1",
    "latency_ms.simkl.p99 > 800",
];

#[test]
fn every_example_trips_on_trouble_only() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.log", &healthy());
    let bad = write(dir.path(), "bad.log", &troubled());
    for gate in EXAMPLES {
        let ok = report(&good, gate);
        assert_eq!(
            ok.status.code(),
            Some(0),
            "{gate} on the healthy log: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let tripped = report(&bad, gate);
        assert_eq!(tripped.status.code(), Some(1), "{gate} on the troubled log");
        let stderr = String::from_utf8_lossy(&tripped.stderr);
        assert!(
            stderr.contains("gate tripped") && stderr.contains(gate),
            "{stderr}"
        );
        // The report is still written.
        let r: serde_json::Value = serde_json::from_slice(&tripped.stdout).unwrap();
        assert_eq!(r["schema"], "errlens.report/v1");
    }
    // Several gates: each tripped one is named; percentages read as shares.
    let out = Command::cargo_bin("errlens")
        .unwrap()
        .args(["report", "-f", "json", &bad])
        .args([
            "--fail-on",
            "failures.share > 90%",
            "--fail-on",
            "retries.wasted >= 1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("retries.wasted >= 1 (value 1)") && !stderr.contains("90%"),
        "{stderr}"
    );
    // A provider with no traffic has no failures: its gate reads 0, it does not error.
    assert_eq!(
        report(&good, "provider.nowhere.failures > 0").status.code(),
        Some(0)
    );
}

#[test]
fn usage_errors_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.log", &troubled());
    Command::cargo_bin("errlens")
        .unwrap()
        .args(["report", "--fail-on", "failure.share > 0", &bad])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown path")
                .and(predicate::str::contains("failures.share")),
        );
    Command::cargo_bin("errlens")
        .unwrap()
        .args(["report", "--fail-on", "failures.share >> 1", &bad])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PATH OP NUMBER"));
    // An input that cannot be read: 2, even with a tripped gate.
    Command::cargo_bin("errlens")
        .unwrap()
        .args([
            "report",
            "--fail-on",
            "records > 0",
            &bad,
            "/nonexistent/x.log",
        ])
        .assert()
        .code(2);
}

#[test]
fn merge_takes_gates_too() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.log", &troubled());
    let sum = dir.path().join("s.json");
    Command::cargo_bin("errlens")
        .unwrap()
        .args([
            "report",
            "-o",
            "/dev/null",
            "--emit-summary",
            sum.to_str().unwrap(),
            &bad,
        ])
        .assert()
        .success();
    let merge = |gate: &str| {
        Command::cargo_bin("errlens")
            .unwrap()
            .args(["merge", "--fail-on", gate, sum.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(merge("retries.wasted > 0"), Some(1));
    assert_eq!(merge("retries.wasted > 5"), Some(0));
}
