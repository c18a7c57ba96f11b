//! Report filters: a filtered report counts exactly what the unfiltered report of a
//! log pre-filtered here (by this test's own reading of each line) counts, and says how
//! many records it left out and why.

mod common;

use errlens_gen::{generate, GenConfig};
use serde_json::Value;

/// Unix ms of the generator's `YYYY-MM-DDTHH:MM:SS.mmmZ` (days from 2026-11-20).
fn ts_ms(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    assert_eq!(&s[..8], "2026-11-");
    let day = n(8, 10) - 20;
    1_795_168_800_000
        + day * 86_400_000
        + ((n(11, 13) - 10) * 3600 + n(14, 16) * 60 + n(17, 19)) * 1000
        + n(20, 23)
}

#[test]
fn filtered_report_equals_the_report_of_a_prefiltered_log() {
    let mut flat = Vec::new();
    generate(
        &GenConfig {
            seed: 99,
            lines: 6_000,
            garbage_per_mille: 10,
            ..GenConfig::default()
        },
        &mut flat,
    )
    .unwrap();
    let flat = String::from_utf8(flat).unwrap();
    let since = 1_795_168_800_000 + 20_000;
    let until = 1_795_168_800_000 + 100_000;
    let mut pre = String::new();
    let (mut records, mut left_out) = (0u64, 0u64);
    for line in flat.lines() {
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if !o.get("status").is_some_and(Value::is_i64)
            || !o.get("url").is_some_and(Value::is_string)
        {
            continue;
        }
        records += 1;
        if kept_all(&o, since, until) {
            pre.push_str(line);
            pre.push('\n');
        } else {
            left_out += 1;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (full, prefiltered) = (dir.path().join("full.log"), dir.path().join("pre.log"));
    std::fs::write(&full, &flat).unwrap();
    std::fs::write(&prefiltered, &pre).unwrap();
    let since_s = "2026-11-20T10:00:20Z";
    let until_s = "2026-11-20T10:01:40Z";
    let mut got = common::json_report(&[
        "--top",
        "1000",
        "--status",
        "4xx",
        "--status",
        "503",
        "--provider",
        "simkl",
        "--since",
        since_s,
        "--until",
        until_s,
        "--endpoint",
        "/sync/*",
        "--client",
        "kodi-scrobbler",
        "--client",
        "media-center",
        "--client",
        "legacy-app",
        "--client",
        "",
        full.to_str().unwrap(),
    ]);
    let mut want = common::json_report(&["--top", "1000", prefiltered.to_str().unwrap()]);
    assert!(
        want["records"].as_u64().unwrap() > 20,
        "the filters keep something"
    );
    let filtered = got["filtered"].clone();
    assert_eq!(
        filtered["records"].as_u64().unwrap() + got["records"].as_u64().unwrap(),
        records
    );
    assert_eq!(filtered["records"].as_u64().unwrap(), left_out);
    let by: Vec<&str> = filtered["by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        by.iter().any(|b| b.starts_with("status 4xx or 503")),
        "{by:?}"
    );
    for v in [&mut got, &mut want] {
        let o = v.as_object_mut().unwrap();
        for k in [
            "inputs",
            "malformed",
            "blank",
            "malformed_sample",
            "malformed_by_reason",
            "filtered",
        ] {
            o.remove(k);
        }
    }
    assert_eq!(got, want);
}

/// The filters of the test, as the report applies them: every filter must pass.
fn kept_all(o: &serde_json::Map<String, Value>, since: i64, until: i64) -> bool {
    let status = o["status"].as_i64().unwrap();
    let url = o["url"].as_str().unwrap();
    let simkl = url.contains("://api.simkl.com/") || url.contains("://api.simkl.org/");
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_default();
    let t = ts_ms(o["ts"].as_str().unwrap());
    let client = o.get("client_id").and_then(Value::as_str).unwrap_or("");
    ((400..500).contains(&status) || status == 503)
        && simkl
        && t >= since
        && t < until
        && ["kodi-scrobbler", "media-center", "legacy-app", ""].contains(&client)
        && path.starts_with("/sync/")
}
