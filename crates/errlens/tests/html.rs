//! `report --format html` in a real browser: headless Chromium (Debian's `chromium`,
//! installed by scripts/test) opens the page from disk. The page's content security
//! policy forbids every load, so any request it tried would be a console error; the
//! test requires no console error at all, that the page's script ran, that the
//! headline numbers and the failure chart's bar count match the JSON report, and that
//! the JSON embedded in the page equals `--format json`. Screenshots at 1280 and 390
//! pixels wide are kept in `target/html-report/` as test artifacts.

mod common;

use assert_cmd::Command;
use errlens_gen::{generate, GenConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn chromium() -> &'static str {
    common::require("chromium");
    "chromium"
}

/// Runs headless Chromium on `page` with `args`; returns (stdout, stderr).
fn browse(page: &Path, args: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON a page embeds in its `<script type="application/json" id="…">`.
fn embedded(html: &str, id: &str) -> Value {
    let open = format!("<script type=\"application/json\" id=\"{id}\">");
    let start = html.find(&open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end].replace("<\\/", "</")).unwrap()
}

/// No console message of any kind: a script error, or a load the page's policy
/// blocked (any request at all), would be one.
fn assert_quiet_console(browser_log: &str) {
    let console: Vec<&str> = browser_log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused"))
        .collect();
    assert!(console.is_empty(), "console: {console:#?}");
}

fn artifacts() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/html-report");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The text of the element with `id` in a dumped DOM.
fn text_of(dom: &str, id: &str) -> String {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    let end = start + dom[start..].find('<').unwrap();
    dom[start..end].to_owned()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn html_report_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    let mut bytes = Vec::new();
    generate(
        &GenConfig {
            seed: 11,
            lines: 4_000,
            garbage_per_mille: 5,
            ..GenConfig::default()
        },
        &mut bytes,
    )
    .unwrap();
    std::fs::write(&log, bytes).unwrap();
    let page = dir.path().join("report.html");
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("errlens")
            .unwrap()
            .arg("report")
            .args(args)
            .arg(&log)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["--format", "html", "-o", page.to_str().unwrap()]);
    let json: Value = serde_json::from_slice(&run(&["--format", "json"])).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();

    // The embedded report is the JSON report.
    assert_eq!(embedded(&html, "errlens-report"), json);
    // Nothing to load: no remote address in any attribute.
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
    ] {
        assert!(!html.contains(attr), "{attr}");
    }

    let (dom, log_text) = browse(&page, &["--dump-dom"]);
    assert_quiet_console(&log_text);
    assert!(dom.contains("data-ready=\"1\""), "the page's script ran");
    for (id, key) in [
        ("h-records", &json["records"]),
        ("h-failures", &json["failures"]),
        ("h-hidden", &json["hidden_failures"]),
        ("h-wasted", &json["retries"]["wasted"]),
        ("h-429", &json["pressure"]["rate_limited"]),
        ("h-412", &json["pressure"]["client_id_failed"]),
    ] {
        assert_eq!(text_of(&dom, id), thousands(key.as_u64().unwrap()), "#{id}");
    }
    let failure_groups = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["failure"] == true)
        .count();
    assert!(failure_groups > 3);
    assert_eq!(
        dom.matches("class=\"fill bar\"").count(),
        failure_groups.min(25)
    );
    assert_eq!(dom.matches("class=\"series\"").count(), 3);

    for width in [1280, 390] {
        let shot = artifacts().join(format!("report-{width}.png"));
        let _ = std::fs::remove_file(&shot);
        browse(
            &page,
            &[
                &format!("--screenshot={}", shot.display()),
                &format!("--window-size={width},2000"),
            ],
        );
        let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(size > 10_000, "screenshot {width}: {size} bytes");
    }
}

#[test]
fn html_diff_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for (name, extra) in [("old", 0u64), ("new", 200)] {
        let log = dir.path().join(format!("{name}.log"));
        let mut bytes = Vec::new();
        generate(
            &GenConfig {
                seed: 12,
                lines: 1_000 + extra,
                ..GenConfig::default()
            },
            &mut bytes,
        )
        .unwrap();
        std::fs::write(&log, bytes).unwrap();
        let r = dir.path().join(format!("{name}.json"));
        Command::cargo_bin("errlens")
            .unwrap()
            .args([
                "report",
                "-f",
                "json",
                "-o",
                r.to_str().unwrap(),
                log.to_str().unwrap(),
            ])
            .assert()
            .success();
        reports.push(r);
    }
    let page = dir.path().join("diff.html");
    let diff = |format: &str| {
        Command::cargo_bin("errlens")
            .unwrap()
            .args([
                "diff",
                "-f",
                format,
                reports[0].to_str().unwrap(),
                reports[1].to_str().unwrap(),
            ])
            .output()
            .unwrap()
            .stdout
    };
    std::fs::write(&page, diff("html")).unwrap();
    let json: Value = serde_json::from_slice(&diff("json")).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(embedded(&html, "errlens-diff"), json);
    let (dom, log_text) = browse(&page, &["--dump-dom"]);
    assert_quiet_console(&log_text);
    assert!(dom.contains("data-ready=\"1\""));
    assert!(dom.contains(">records<"), "the changed figures are listed");
}
