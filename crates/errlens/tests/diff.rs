//! `errlens diff`: a report against itself shows no change and no delta gate trips;
//! two generated logs with a known change show exactly that change, from reports and
//! from summaries alike.

use assert_cmd::Command;
use errlens_gen::{generate, GenConfig};
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn errlens() -> Command {
    Command::cargo_bin("errlens").unwrap()
}

fn generated(seed: u64) -> String {
    let mut out = Vec::new();
    generate(
        &GenConfig {
            seed,
            lines: 3_000,
            ..GenConfig::default()
        },
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// Writes `log`, its JSON report and its summary; returns (report, summary) paths.
fn report_of(dir: &Path, name: &str, log: &str) -> (PathBuf, PathBuf) {
    let l = dir.join(format!("{name}.log"));
    std::fs::write(&l, log).unwrap();
    let (r, s) = (
        dir.join(format!("{name}.json")),
        dir.join(format!("{name}.sum")),
    );
    errlens()
        .args(["report", "-f", "json", "-o", r.to_str().unwrap()])
        .args(["--emit-summary", s.to_str().unwrap(), l.to_str().unwrap()])
        .assert()
        .success();
    (r, s)
}

#[test]
fn a_report_against_itself_shows_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let (r, s) = report_of(dir.path(), "a", &generated(5));
    for (old, new) in [(&r, &r), (&s, &s), (&r, &s)] {
        let out = errlens()
            .args([
                "diff",
                "-f",
                "json",
                old.to_str().unwrap(),
                new.to_str().unwrap(),
            ])
            .args([
                "--fail-on",
                "delta.failures.share > 0",
                "--fail-on",
                "delta.retries.wasted != 0",
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(d["schema"], "errlens.diff/v1");
        assert_eq!(d["changed"], Value::Array(vec![]));
        assert_eq!(d["new_groups"], Value::Array(vec![]));
    }
    errlens()
        .args(["diff", r.to_str().unwrap(), r.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("no change"));
}

#[test]
fn a_known_change_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let base = generated(6);
    // The same traffic plus 300 TMDB 404s with code 34 on one title, never seen before.
    let mut worse = base.clone();
    for i in 0..300 {
        worse.push_str(&format!(
            "{{\"ts\":{},\"method\":\"GET\",\"url\":\"https://api.themoviedb.org/3/tv/{i}\",\"status\":404,\"status_code\":34,\"status_message\":\"not found\",\"success\":false,\"client_id\":\"new-app\"}}\n",
            1_795_200_000 + i
        ));
    }
    let (old, _) = report_of(dir.path(), "old", &base);
    let (new, new_sum) = report_of(dir.path(), "new", &worse);
    let old_r: Value = serde_json::from_str(&std::fs::read_to_string(&old).unwrap()).unwrap();
    let new_r: Value = serde_json::from_str(&std::fs::read_to_string(&new).unwrap()).unwrap();
    for target in [&new, &new_sum] {
        let out = errlens()
            .args([
                "diff",
                "-f",
                "json",
                old.to_str().unwrap(),
                target.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        let change = |path: &str| {
            d["changed"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["path"] == path)
                .cloned()
                .unwrap_or_else(|| panic!("{path} not in {}", d["changed"]))
        };
        let records = change("records");
        assert_eq!(records["delta"], 300.0);
        let failures = change("failures");
        assert_eq!(
            failures["delta"].as_f64().unwrap(),
            new_r["failures"].as_f64().unwrap() - old_r["failures"].as_f64().unwrap()
        );
        assert!(change("failures.share")["delta"].as_f64().unwrap() > 0.0);
        assert_eq!(change("by_status.404")["delta"], 300.0);
        let had_34 = old_r["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["tmdb_code"] == 34 && g["status"] == 404);
        let new_34 = d["new_groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["tmdb_code"] == 34);
        assert_eq!(new_34, !had_34);
    }
    // Gates on the delta; markdown for a PR comment.
    let gate = |expr: &str| {
        errlens()
            .args([
                "diff",
                old.to_str().unwrap(),
                new.to_str().unwrap(),
                "--fail-on",
                expr,
            ])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(gate("delta.by_status.404 >= 300"), Some(1));
    assert_eq!(gate("delta.by_status.404 > 300"), Some(0));
    assert_eq!(gate("delta.provider.tmdb.failures > 0"), Some(1));
    errlens()
        .args([
            "diff",
            "-f",
            "markdown",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("## errlens diff")
                .and(predicate::str::contains("| records |")),
        );
    errlens()
        .args([
            "diff",
            "-f",
            "csv",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
        ])
        .assert()
        .code(2);
}
