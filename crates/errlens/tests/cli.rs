//! CLI behaviour of every subcommand: outputs, formats and exit codes.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::io::Write;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/logs/sample.jsonl"
);

fn errlens() -> Command {
    Command::cargo_bin("errlens").unwrap()
}

#[test]
fn report_table_is_the_default() {
    errlens()
        .args(["report", SAMPLE])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Failures by provider, status and error",
        ))
        .stdout(predicate::str::contains("client_id_failed"))
        .stdout(predicate::str::contains("Hidden failures"))
        .stdout(predicate::str::contains("Malformed lines (first 7 of 7)"));
}

#[test]
fn report_json_has_the_v1_contract() {
    let r = common::json_report(&[SAMPLE]);
    assert_eq!(r["schema"], "errlens.report/v1");
    for key in [
        "records",
        "malformed",
        "blank",
        "failures",
        "hidden_failures",
        "status_mismatches",
        "by_status",
        "groups",
        "malformed_sample",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    let g = &r["groups"][0];
    for key in [
        "provider",
        "status",
        "error",
        "tmdb_code",
        "class",
        "failure",
        "retryable",
        "count",
    ] {
        assert!(g.get(key).is_some(), "group missing {key}");
    }
    let m = &r["malformed_sample"][0];
    assert!(m["line"].is_u64() && m["file"].is_string() && m["reason"].is_string());
}

#[test]
fn csv_and_markdown() {
    errlens()
        .args(["report", SAMPLE, "--format", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "provider,status,error,tmdb_code,class,failure,retryable,retry,hidden_failure,count\n",
        ))
        .stdout(predicate::str::contains(
            "tmdb,200,,21,not_found,true,false,never,true,1",
        ));
    errlens()
        .args(["report", SAMPLE, "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("## errlens report"))
        .stdout(predicate::str::contains("| provider | status |"));
}

#[test]
fn output_file_and_stdin_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    errlens()
        .args(["report", SAMPLE, "-f", "json", "-o"])
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let from_file: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();

    let data = std::fs::read(SAMPLE).unwrap();
    let stdin_out = errlens()
        .args(["report", "-", "--format", "json"])
        .write_stdin(data.clone())
        .output()
        .unwrap();
    let from_stdin: Value = serde_json::from_slice(&stdin_out.stdout).unwrap();
    assert_eq!(from_file["groups"], from_stdin["groups"]);
    assert_eq!(from_stdin["inputs"][0]["file"], "-");

    let gz = dir.path().join("sample.log.gz");
    let mut enc = flate2_writer(&gz);
    enc.write_all(&data).unwrap();
    drop(enc);
    let from_gz = common::json_report(&[gz.to_str().unwrap()]);
    assert_eq!(from_file["groups"], from_gz["groups"]);
    assert_eq!(from_file["records"], from_gz["records"]);
}

/// Writes a generated log with 5 garbage lines per mille to `path`.
fn gen(path: &std::path::Path, args: &[&str]) {
    errlens()
        .arg("gen")
        .args(args)
        .args(["--garbage-per-mille", "5", "-o"])
        .arg(path)
        .assert()
        .success();
}

#[test]
fn mapped_and_read_files_report_the_same_on_any_thread_count() {
    // A log long enough to be cut into parts, with garbage and a last line without
    // its newline.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    gen(&log, &["--lines", "60000", "--seed", "9"]);
    let mut bytes = std::fs::read(&log).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    std::fs::write(&log, &bytes).unwrap();
    let report = |extra: &[&str]| -> Value {
        let out = errlens()
            .args(["report", "--format", "json"])
            .arg(&log)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{extra:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let want = report(&["-j1", "--no-mmap"]);
    assert_eq!(want["inputs"][0]["lines"], 60_000);
    assert!(want["records"].as_u64().unwrap() > 59_000);
    for extra in [
        &["-j1"][..],
        &["-j2"],
        &["-j3", "--no-mmap"],
        &["-j2", "--no-mmap"],
    ] {
        assert_eq!(report(extra), want, "{extra:?}");
    }
}

/// A gzip writer via the system `gzip`, so the test does not share the code under test.
fn flate2_writer(path: &std::path::Path) -> impl Write {
    struct Gz(std::process::Child);
    impl Write for Gz {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.stdin.as_mut().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Drop for Gz {
        fn drop(&mut self) {
            drop(self.0.stdin.take());
            assert!(self.0.wait().unwrap().success());
        }
    }
    let file = std::fs::File::create(path).unwrap();
    Gz(std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(file)
        .spawn()
        .expect("gzip on PATH"))
}

#[test]
fn missing_input_is_reported_and_exits_2_but_the_rest_is_processed() {
    let out = errlens()
        .args(["report", "/nonexistent/a.log", SAMPLE, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/a.log"));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["records"].as_u64().unwrap() > 0);
    assert!(r["inputs"][0]["error"].is_string());
}

#[test]
fn usage_errors_exit_2() {
    errlens()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Usage"));
    errlens()
        .args(["report", "--format", "xml", SAMPLE])
        .assert()
        .code(2);
    errlens().args(["frobnicate"]).assert().code(2);
    errlens()
        .args(["report", "-", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only once"));
}

#[test]
fn explain_rows() {
    errlens()
        .args(["explain", "simkl", "412"])
        .assert()
        .success()
        .stdout(predicate::str::contains("client_id failed"))
        .stdout(predicate::str::contains("never"))
        .stdout(predicate::str::contains("remedy:"));
    errlens()
        .args(["explain", "simkl", "client_id_failed"])
        .assert()
        .success()
        .stdout(predicate::str::contains("simkl 412 client_id_failed"));
    let out = errlens()
        .args(["explain", "tmdb", "25", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["status"].as_u64(), v["retryable"].as_bool()),
        (Some(429), Some(true))
    );
    assert_eq!(v["class"], "rate_limited");
    let out = errlens()
        .args(["explain", "tmdb", "44", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["status"].as_u64(), v["retryable"].as_bool()),
        (Some(500), Some(false))
    );
    // `empty_field` is known under two statuses: both rows are shown.
    let out = errlens()
        .args(["explain", "simkl", "empty_field", "-f", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2));
}

#[test]
fn explain_unknowns_fail_helpfully() {
    errlens()
        .args(["explain", "tmdb", "48"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1-47"));
    errlens()
        .args(["explain", "simkl", "CLIENT_ID_FAILED"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "did you mean \"client_id_failed\"",
        ));
    errlens().args(["explain", "imdb", "1"]).assert().code(2);
}

#[test]
fn tables_in_every_format() {
    errlens()
        .args(["tables"])
        .assert()
        .success()
        .stdout(predicate::str::contains("TMDB: status_code"))
        .stdout(predicate::str::contains("user_limit_exceeded"));
    let out = errlens()
        .args(["tables", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "errlens.tables/v2");
    let p = &v["providers"];
    assert_eq!(
        (p[0]["name"].as_str(), p[1]["name"].as_str()),
        (Some("simkl"), Some("tmdb"))
    );
    assert_eq!(p[1]["errors"].as_array().unwrap().len(), 47);
    assert_eq!(p[0]["statuses"].as_array().unwrap().len(), 14);
    assert_eq!(p[0]["errors"].as_array().unwrap().len(), 18);
    let out = errlens()
        .args(["tables", "--format", "csv", "--provider", "tmdb"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 48);
    errlens()
        .args(["tables", "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::contains("### Simkl: HTTP statuses"));
}

#[test]
fn closed_pipe_is_not_an_error() {
    // 20k distinct error ids make a CSV far larger than a pipe's buffer, so errlens is
    // still writing when `head -c1` closes the pipe; it must exit 0 quietly.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("many.jsonl");
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!("{{\"status\":400,\"error\":\"id_{i}\"}}\n"));
    }
    std::fs::write(&log, text).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("errlens");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' report --format csv '{}' | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}",
            bin.display(),
            log.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn emit_summary_and_merge_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("all.jsonl");
    gen(&log, &["--lines", "9000", "--seed", "4", "--no-attempt"]);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut summaries = Vec::new();
    for (i, part) in lines.chunks(3000).enumerate() {
        let shard = dir.path().join(format!("shard{i}.jsonl"));
        std::fs::write(&shard, part.join("\n") + "\n").unwrap();
        let summary = dir.path().join(format!("shard{i}.summary.json"));
        errlens()
            .arg("report")
            .arg(&shard)
            .arg("--emit-summary")
            .arg(&summary)
            .args(["-o", "/dev/null"])
            .assert()
            .success();
        summaries.push(summary);
    }
    let merged = errlens()
        .arg("merge")
        .args(&summaries)
        .args(["-f", "json"])
        .output()
        .unwrap();
    assert!(merged.status.success());
    let mut merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    let mut single = common::json_report(&[log.to_str().unwrap()]);
    for v in [&mut merged, &mut single] {
        v.as_object_mut().unwrap().remove("inputs");
        v.as_object_mut().unwrap().remove("malformed_sample");
    }
    assert_eq!(merged, single);
    assert!(single["retries"]["total"].as_u64().unwrap() > 0);

    // A file that is not a summary is a clear error.
    errlens()
        .arg("merge")
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an errlens summary"));
}

#[test]
fn report_has_retry_pressure_and_latency_sections() {
    let r = common::json_report(&[SAMPLE]);
    for k in [
        "total",
        "wasted",
        "early",
        "over_limit",
        "post_after_429",
        "chains",
        "recovered",
        "abandoned",
    ] {
        assert!(r["retries"][k].is_u64(), "retries.{k}");
    }
    for k in [
        "rate_limited",
        "client_id_failed",
        "by_client",
        "by_endpoint",
        "per_minute",
    ] {
        assert!(!r["pressure"][k].is_null(), "pressure.{k}");
    }
    let c = &r["pressure"]["by_client"][0];
    assert!(
        c["client_id"].is_string()
            && c["requests"].is_u64()
            && c["429"].is_u64()
            && c["412"].is_u64()
    );
    let m = &r["pressure"]["per_minute"][0];
    assert!(m["minute"].is_string() && m["429"].is_u64());
    for k in ["p50", "p90", "p99", "max"] {
        assert!(r["latency_ms"]["simkl"][k].is_f64(), "latency_ms.simkl.{k}");
    }
    errlens()
        .args(["report", SAMPLE])
        .assert()
        .success()
        .stdout(predicate::str::contains("Retry hygiene"))
        .stdout(predicate::str::contains("Rate-limit pressure"))
        .stdout(predicate::str::contains("Latency"));
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    for (shell, marker) in [
        ("bash", "_errlens()"),
        ("zsh", "#compdef errlens"),
        ("fish", "complete -c errlens"),
    ] {
        errlens()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("fail-on")));
    }
    errlens()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH errlens 1").and(predicate::str::contains("diff")));
    errlens().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn colour_and_width() {
    let out = errlens()
        .args(["report", "--color", "always", SAMPLE])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\x1b[31m") && text.contains("\x1b[33m"),
        "{text}"
    );
    // Not a terminal, so `auto` does not colour; `never` never does.
    for choice in ["auto", "never"] {
        let out = errlens()
            .args(["report", "--color", choice, SAMPLE])
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains('\x1b'),
            "{choice}"
        );
    }
    let out = errlens()
        .args(["report", "--width", "60", SAMPLE])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The failures table: from its title to the blank line after it.
    let table_lines: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Failures by provider"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(table_lines.len() > 3);
    assert!(
        table_lines.iter().all(|l| l.chars().count() <= 60),
        "{text}"
    );
    assert!(text.contains('…'));
}
