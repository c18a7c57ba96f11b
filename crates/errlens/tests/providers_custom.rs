//! A fourth provider added only through a TOML file (`fixtures/providers/acme.toml`,
//! a fictional API no Rust code knows): classified by its own tables, recognised by its
//! own envelope keys without a host, audited with its own retry column and minimum
//! wait, merged from summaries (and refused without its definition), exported as
//! metrics, and rendered in every format — with its credential path segment never
//! printed.

mod common;

use assert_cmd::Command;
use common::Serve;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/providers/acme.toml")
}

const SECRET: &str = "SECRETVALUE42";

/// The log: Acme retry chains with known outcomes, an Acme body without a host, a
/// credential path, and Simkl and TMDB records beside them.
fn log() -> String {
    let t0 = 1_795_168_800_000i64; // 2026-11-20T10:00:00Z
    let line = |ms: i64, method: &str, url: &str, status: u16, extra: &str, attempt: u32| {
        format!(
            r#"{{"ts":{},"method":"{method}","url":"{url}","status":{status},"client_id":"app","attempt":{attempt}{extra}}}"#,
            (t0 + ms) as f64 / 1000.0
        )
    };
    let items = "https://api.acme.test/v1/items";
    let mut l = vec![
        // A daily cap (retry: never) retried 10 s later: wasted.
        line(
            0,
            "GET",
            &format!("{items}/1"),
            429,
            r#","ok":false,"errorId":"daily_cap""#,
            1,
        ),
        line(
            10_000,
            "GET",
            &format!("{items}/1"),
            429,
            r#","ok":false,"errorId":"daily_cap""#,
            2,
        ),
        // A plain 429 (backoff, at least 5 s) retried after 2 s: early; then after 20 s: ok.
        line(0, "GET", &format!("{items}/2"), 429, "", 1),
        line(2_000, "GET", &format!("{items}/2"), 429, "", 2),
        line(
            22_000,
            "GET",
            &format!("{items}/2"),
            200,
            r#","ok":true"#,
            3,
        ),
        // A POST after a 429: the block is extended.
        line(0, "POST", "https://eu.acme.example/v1/sync", 429, "", 1),
        line(
            30_000,
            "POST",
            "https://eu.acme.example/v1/sync",
            200,
            "",
            2,
        ),
        // A field error (class from the row, retry from the 400 status row).
        line(
            1_000,
            "GET",
            &format!("{items}/3"),
            400,
            r#","errorId":"bad_field""#,
            1,
        ),
        // An unknown id under a known status, and a status outside Acme's table.
        line(
            1_500,
            "GET",
            &format!("{items}/4"),
            400,
            r#","errorId":"brand_new""#,
            1,
        ),
        line(1_600, "GET", &format!("{items}/5"), 502, "", 1),
        // A credential in the path.
        line(
            2_500,
            "GET",
            &format!("https://api.acme.test/v1/keys/{SECRET}"),
            200,
            "",
            1,
        ),
        // Simkl and TMDB beside them.
        line(
            3_000,
            "GET",
            "https://api.simkl.com/sync/activities",
            412,
            r#","error":"client_id_failed","code":412"#,
            1,
        ),
        line(
            3_100,
            "GET",
            "https://api.themoviedb.org/3/movie/550",
            200,
            r#","status_code":21"#,
            1,
        ),
    ];
    // No host: the `errorId` key names Acme.
    l.push(r#"{"status":429,"errorId":"daily_cap"}"#.to_owned());
    l.join("\n") + "\n"
}

fn write_log(dir: &Path) -> PathBuf {
    let p = dir.join("mixed.jsonl");
    std::fs::write(&p, log()).unwrap();
    p
}

fn group<'a>(r: &'a Value, provider: &str, status: u64, error: Option<&str>) -> &'a Value {
    r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            g["provider"] == provider && g["status"] == status && g["error"].as_str() == error
        })
        .unwrap_or_else(|| panic!("no group {provider} {status} {error:?}: {}", r["groups"]))
}

#[test]
fn a_provider_from_toml_alone_is_classified_audited_and_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let acme = acme();
    let args = ["--providers", acme.to_str().unwrap(), log.to_str().unwrap()];
    let r = common::json_report(&args);

    assert_eq!(r["records"], 14);
    assert_eq!(
        r["definitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["simkl", "tmdb", "acme"]
    );
    let cap = group(&r, "acme", 429, Some("daily_cap"));
    assert_eq!(
        cap["count"], 3,
        "two with a host, one recognised by its envelope"
    );
    assert_eq!(
        (cap["class"].as_str(), cap["retry"].as_str()),
        (Some("rate_limited"), Some("never"))
    );
    let bad = group(&r, "acme", 400, Some("bad_field"));
    assert_eq!(
        (
            bad["class"].as_str(),
            bad["retry"].as_str(),
            bad["in_table"].as_bool()
        ),
        (Some("bad_request"), Some("never"), Some(true))
    );
    let new = group(&r, "acme", 400, Some("brand_new"));
    assert_eq!(new["in_table"], true, "an unknown id under a known status");
    let g502 = group(&r, "acme", 502, None);
    assert_eq!(
        (g502["in_table"].as_bool(), g502["retryable"].as_bool()),
        (Some(false), Some(true))
    );
    // The built-in providers are judged as without the file.
    assert_eq!(
        group(&r, "simkl", 412, Some("client_id_failed"))["class"],
        "client_id_failed"
    );
    assert_eq!(group(&r, "tmdb", 200, None)["hidden_failure"], true);

    // Retries, by Acme's own retry column, minimum wait and rate-limit fact.
    let acme_retries = &r["retries"]["by_provider"]["acme"];
    assert_eq!(acme_retries["total"], 4, "{acme_retries}");
    assert_eq!(
        acme_retries["wasted"], 1,
        "a daily cap retried: {acme_retries}"
    );
    assert_eq!(
        acme_retries["early"], 1,
        "2 s after a 429 that wants 5 s: {acme_retries}"
    );
    assert_eq!(acme_retries["post_after_429"], 1, "{acme_retries}");
    assert_eq!(acme_retries["ok"], 1, "{acme_retries}");

    // Endpoints: the credential segment is templated.
    let endpoints: Vec<&str> = r["pressure"]["by_endpoint"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["endpoint"].as_str())
        .collect();
    assert!(endpoints.contains(&"/v1/keys/:key"), "{endpoints:?}");

    // Every format names the provider and never prints the credential.
    for format in ["table", "json", "csv", "markdown", "html"] {
        let out = Command::cargo_bin("errlens")
            .unwrap()
            .arg("report")
            .args(args)
            .args(["--format", format, "--top", "100"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("acme"), "--format {format} names acme");
        assert!(
            text.contains("daily_cap"),
            "--format {format} shows its error id"
        );
        assert!(
            !text.contains(SECRET),
            "--format {format} prints the credential"
        );
    }

    // Without the file, the same records are `unknown`, judged by status alone.
    let plain = common::json_report(&[log.to_str().unwrap()]);
    assert!(plain["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["provider"] != "acme"));
    assert_eq!(group(&plain, "unknown", 429, None)["retry"], "backoff");

    // explain and tables read it too.
    Command::cargo_bin("errlens")
        .unwrap()
        .args([
            "explain",
            "acme",
            "daily_cap",
            "--providers",
            acme.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("daily allowance"));
    Command::cargo_bin("errlens")
        .unwrap()
        .args([
            "tables",
            "--provider",
            "acme",
            "--providers",
            acme.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("bad_field"));
    Command::cargo_bin("errlens")
        .unwrap()
        .args([
            "providers",
            "--format",
            "json",
            "--providers",
            acme.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("\"acme\""));
}

#[test]
fn summaries_merge_with_the_same_definitions_only() {
    let dir = tempfile::tempdir().unwrap();
    let acme = acme();
    let text = log();
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = lines.split_at(lines.len() / 2);
    let (pa, pb) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(&pa, a.join("\n") + "\n").unwrap();
    std::fs::write(&pb, b.join("\n") + "\n").unwrap();
    let (sa, sb) = (dir.path().join("a.json"), dir.path().join("b.json"));
    for (log, summary) in [(&pa, &sa), (&pb, &sb)] {
        common::json_report(&[
            "--providers",
            acme.to_str().unwrap(),
            "--emit-summary",
            summary.to_str().unwrap(),
            log.to_str().unwrap(),
        ]);
    }
    let merged = Command::cargo_bin("errlens")
        .unwrap()
        .args([
            "merge",
            "--format",
            "json",
            "--providers",
            acme.to_str().unwrap(),
        ])
        .arg(&sa)
        .arg(&sb)
        .output()
        .unwrap();
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let merged: Value = serde_json::from_slice(&merged.stdout).unwrap();
    let all = dir.path().join("all.jsonl");
    std::fs::write(&all, &text).unwrap();
    let whole =
        common::json_report(&["--providers", acme.to_str().unwrap(), all.to_str().unwrap()]);
    assert_eq!(merged["groups"], whole["groups"]);
    assert_eq!(
        merged["retries"], whole["retries"],
        "chains across the cut resolved"
    );

    // A merge that does not load the definition refuses the summaries.
    Command::cargo_bin("errlens")
        .unwrap()
        .arg("merge")
        .arg(&sa)
        .arg(&sb)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("provider definitions"));
    // So does a merge of summaries made with different definitions.
    let plain = dir.path().join("plain.json");
    common::json_report(&[
        "--emit-summary",
        plain.to_str().unwrap(),
        pb.to_str().unwrap(),
    ]);
    Command::cargo_bin("errlens")
        .unwrap()
        .args(["merge", "--providers", acme.to_str().unwrap()])
        .arg(&sa)
        .arg(&plain)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("provider definitions"));
}

#[test]
fn serve_exports_its_labels() {
    let acme = acme();
    let serve = Serve::start(&["--providers", acme.to_str().unwrap()]);
    let (status, _) = serve.post("/ingest", log().as_bytes());
    assert_eq!(status, 200);
    let m = serve.metrics();
    for want in [
        r#"errlens_failures_total{class="rate_limited",error="daily_cap",provider="acme"} 3"#,
        r#"errlens_retries_total{kind="wasted",provider="acme"} 1"#,
        r#"errlens_retries_total{kind="early",provider="acme"} 1"#,
        r#"errlens_retries_total{kind="post_after_429",provider="acme"} 1"#,
        r#"errlens_hidden_failures_total{provider="tmdb"} 1"#,
    ] {
        assert!(m.contains(want), "no {want} in\n{m}");
    }
    // Closed label sets are pre-created for every loaded provider.
    assert!(m.contains(r#"errlens_retry_attempts_total{provider="acme"}"#));
    assert!(!m.contains(SECRET), "the credential reached /metrics");
    assert!(m.contains(r#"endpoint="/v1/keys/:key""#), "{m}");
}

#[test]
fn a_broken_definition_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(acme())
        .unwrap()
        .replace("class = \"server_error\"", "class = \"server_eror\"");
    std::fs::write(&bad, text).unwrap();
    let out = Command::cargo_bin("errlens")
        .unwrap()
        .args(["tables", "--providers", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad.toml:51: class:") && err.contains("server_eror"),
        "{err}"
    );
}

#[test]
fn a_false_success_flag_keeps_its_verdict_in_the_report_groups() {
    // OMDb: `"Response":"False"` is a failure even without an `Error`; the group must
    // say so (and stay apart from the successes under the same status), as the totals do.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("omdb.jsonl");
    std::fs::write(
        &log,
        concat!(
            r#"{"url":"https://www.omdbapi.com/?i=tt1","status":200,"Response":"False"}"#,
            "\n",
            r#"{"url":"https://www.omdbapi.com/?i=tt2","status":200,"Response":"True"}"#,
            "\n",
            r#"{"url":"https://www.omdbapi.com/?t=x","status":200,"Response":"False","Error":"Movie not found!"}"#,
            "\n",
        ),
    )
    .unwrap();
    let omdb = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../providers/omdb.toml");
    let r = common::json_report(&["--providers", omdb.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(
        (r["failures"].as_u64(), r["hidden_failures"].as_u64()),
        (Some(2), Some(2))
    );
    let groups = r["groups"].as_array().unwrap();
    let failed: u64 = groups
        .iter()
        .filter(|g| g["failure"] == true)
        .map(|g| g["count"].as_u64().unwrap())
        .sum();
    assert_eq!(failed, 2, "groups agree with the totals: {groups:?}");
    assert!(groups
        .iter()
        .any(|g| g["error"].is_null() && g["unsuccessful"] == true && g["hidden_failure"] == true));
}
