//! The shapes from the command line: detection with no flags, `--shape`, `--map`,
//! `--mapping`, `--provider-host`, `--max-line-bytes`, `errlens shapes`, zstd inputs,
//! and exit code 3 with a hint when nothing in an input is understood.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn errlens() -> Command {
    Command::cargo_bin("errlens").unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/shapes")
        .join(name)
}

/// A fixture without its `#` comment lines, written to `dir`.
fn clean(dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let body: String = if name.ends_with(".har") {
        text
    } else {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn every_fixture_is_read_with_no_flags_and_names_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    for (file, shape) in [
        ("ecs.jsonl", "ecs"),
        ("otlp.jsonl", "otlp"),
        ("caddy.jsonl", "caddy"),
        ("envoy.jsonl", "envoy"),
        ("nginx.jsonl", "nginx"),
        ("traefik.jsonl", "traefik"),
        ("sample.har", "har"),
        ("logfmt.log", "logfmt"),
        ("clf.log", "clf"),
    ] {
        let p = clean(dir.path(), file);
        let r = common::json_report(&[p.to_str().unwrap()]);
        assert_eq!(r["inputs"][0]["shape"], shape, "{file}");
        assert!(
            r["records"].as_u64().unwrap() >= 5,
            "{file}: {}",
            r["records"]
        );
        assert_eq!(r["inputs"][0]["records"], r["records"], "{file}");
        // The table names the shape too.
        errlens()
            .args(["report", p.to_str().unwrap()])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("({shape})")));
    }
}

#[test]
fn mixed_inputs_are_read_line_by_line_and_named_mixed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mixed.log");
    std::fs::write(
        &p,
        concat!(
            r#"{"url":"https://api.simkl.com/sync/all","status":200}"#,
            "\n",
            r#"{"@timestamp":"2026-11-20T10:00:00Z","http":{"response":{"status_code":429}},"url":{"full":"https://api.themoviedb.org/3/movie/1"}}"#,
            "\n",
            "status=412 url=https://api.simkl.com/sync/all error=client_id_failed\n",
        ),
    )
    .unwrap();
    let r = common::json_report(&[p.to_str().unwrap()]);
    assert_eq!(
        (r["records"].as_u64(), r["malformed"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(r["inputs"][0]["shape"], "mixed");
    assert_eq!(r["inputs"][0]["shapes"]["ecs"], 1);
    assert_eq!(r["by_status"]["429"], 1);
}

#[test]
fn forced_and_custom_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let ecs = clean(dir.path(), "ecs.jsonl");
    // Forcing another shape reads nothing: exit 3, and the hint names a way out.
    errlens()
        .args(["report", "--shape", "caddy", ecs.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("no request record understood"));
    let p = dir.path().join("gateway.log");
    std::fs::write(
        &p,
        concat!(
            r#"{"at":"2026-11-20T10:00:00Z","resp":{"code":412,"body":"{\"error\":\"client_id_failed\",\"code\":412}"},"target":"https://api.simkl.com/sync/all","took_us":2500}"#,
            "\n",
            r#"{"at":"2026-11-20T10:00:01Z","resp":{"code":200},"target":"https://api.themoviedb.org/3/movie/1","took_us":1000}"#,
            "\n"
        ),
    )
    .unwrap();
    let args = [
        "--map",
        "status=resp.code",
        "--map",
        "url=target",
        "--map",
        "ts=at",
        "--map",
        "latency_ms=took_us:us",
        "--map",
        "envelope=resp.body",
        p.to_str().unwrap(),
    ];
    let r = common::json_report(&args);
    assert_eq!(r["records"], 2);
    assert_eq!(r["inputs"][0]["shape"], "custom");
    let g = &r["groups"][0];
    assert_eq!(
        (g["provider"].as_str(), g["error"].as_str()),
        (Some("simkl"), Some("client_id_failed"))
    );
    assert_eq!(
        r["latency_ms"]["simkl"]["max"].as_f64().map(f64::round),
        Some(3.0)
    );
    // The same as a mapping file.
    let m = dir.path().join("gateway.toml");
    std::fs::write(
        &m,
        "name = \"gateway\"\n[fields]\nstatus = \"resp.code\"\nurl = \"target\"\nts = \"at\"\nlatency_ms = { path = \"took_us\", unit = \"us\" }\nenvelope = \"resp.body\"\n",
    )
    .unwrap();
    let r2 = common::json_report(&["--mapping", m.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!(r2["inputs"][0]["shape"], "gateway");
    assert_eq!(r2["groups"], r["groups"]);
    // A broken mapping is a usage error naming the file.
    std::fs::write(&m, "[fields]\nstatus = 3\n").unwrap();
    errlens()
        .args([
            "report",
            "--mapping",
            m.to_str().unwrap(),
            p.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gateway.toml"));
    errlens()
        .args(["report", "--map", "stat=resp.code", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown field"));
    errlens()
        .args(["report", "--shape", "json", p.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("logfmt"));
}

#[test]
fn provider_hosts_and_the_status_code_rule() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("proxy.log");
    std::fs::write(
        &p,
        concat!(
            // An HTTP client's naming: status_code is the HTTP status here.
            r#"{"url":"https://cache.internal/3/movie/1","status_code":404}"#,
            "\n",
            r#"{"url":"https://tmdb-cache.internal/3/movie/1","status":401,"status_code":7,"status_message":"Invalid API key","success":false}"#,
            "\n",
            r#"{"url":"https://api.tmdb.org/3/movie/2","status":200}"#,
            "\n"
        ),
    )
    .unwrap();
    let r = common::json_report(&[p.to_str().unwrap()]);
    assert_eq!(r["records"], 3);
    let providers: Vec<(String, u64)> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                format!("{} {}", g["provider"].as_str().unwrap(), g["status"]),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        providers.contains(&("unknown 404".to_owned(), 1)),
        "{providers:?}"
    );
    assert!(
        providers.contains(&("tmdb 200".to_owned(), 1)),
        "{providers:?}"
    );
    // With the proxy named, its TMDB envelope counts as TMDB's; the bare 404 stays.
    let r = common::json_report(&[
        "--provider-host",
        "tmdb-cache.internal=tmdb",
        p.to_str().unwrap(),
    ]);
    let tmdb: u64 = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["provider"] == "tmdb")
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(tmdb, 2);
    errlens()
        .args(["report", "--provider-host", "x=trakt", p.to_str().unwrap()])
        .assert()
        .code(2);
}

#[test]
fn line_cap_and_zstd() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    let long = format!(r#"{{"status":200,"message":"{}"}}"#, "x".repeat(5000));
    std::fs::write(&p, format!("{long}\n{{\"status\":500}}\n")).unwrap();
    let r = common::json_report(&["--max-line-bytes", "4KiB", p.to_str().unwrap()]);
    assert_eq!(
        (r["records"].as_u64(), r["malformed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(r["malformed_by_reason"]["too_long"], 1);
    // zstd, compressed by the system tool, detected by content whatever the name.
    let z = dir.path().join("rotated.1");
    let out = std::process::Command::new("zstd")
        .args(["-q", "-c", p.to_str().unwrap()])
        .output()
        .expect("zstd is installed by scripts/test");
    std::fs::write(&z, out.stdout).unwrap();
    let rz = common::json_report(&["--max-line-bytes", "4KiB", z.to_str().unwrap()]);
    assert_eq!(rz["records"], r["records"]);
    assert_eq!(rz["inputs"][0]["bytes"], r["inputs"][0]["bytes"]);
}

#[test]
fn nothing_understood_exits_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    std::fs::write(
        &p,
        "2026-11-20 10:00:00 INFO started\n2026-11-20 10:00:01 INFO ready\n",
    )
    .unwrap();
    errlens()
        .args(["report", p.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--map").and(predicate::str::contains("2 lines")));
    // A binary file says so.
    let b = dir.path().join("blob.bin");
    std::fs::write(&b, [0u8, 1, 2, 3, 0, 9, 0, 0, 10, 0, 1]).unwrap();
    errlens()
        .args(["report", b.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("binary"));
    // Blank input is not "nothing understood": there was nothing to understand.
    let e = dir.path().join("empty.log");
    std::fs::write(&e, "\n\n").unwrap();
    errlens()
        .args(["report", e.to_str().unwrap()])
        .assert()
        .success();
}

#[test]
fn shapes_command_lists_and_detects() {
    errlens().arg("shapes").assert().success().stdout(
        predicate::str::contains("http.response.status_code")
            .and(predicate::str::contains("DownstreamStatus"))
            .and(predicate::str::contains("resourceLogs")),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = clean(dir.path(), "traefik.jsonl");
    errlens()
        .args(["shapes", "--detect", p.to_str().unwrap()])
        .assert()
        .success()
        .stdout(
            predicate::str::contains(": traefik")
                .and(predicate::str::contains("sampled lines are traefik")),
        );
}
