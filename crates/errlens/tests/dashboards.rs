//! The Grafana dashboards and Prometheus rules in `dashboards/`: lint, promtool, and
//! every query evaluated in a real Prometheus scraping `errlens serve`.

mod common;

use common::{gen_log, require, Prometheus, Serve};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = root().join("dashboards/grafana");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let v = serde_json::from_slice(&std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        out.len(),
        4,
        "overview, rate limits, retry hygiene, exporter health"
    );
    out
}

/// Every (panel title, expression) of a dashboard.
fn panel_exprs(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            out.push((
                p["title"].as_str().unwrap().to_owned(),
                t["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

/// `$name`, `${name}` and `[[name]]` references in a string.
fn var_refs(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let (start, braced) = if b.get(i + 1) == Some(&b'{') {
                (i + 2, true)
            } else {
                (i + 1, false)
            };
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start {
                out.insert(s[start..j].to_owned());
            }
            i = if braced { j + 1 } else { j };
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn dashboards_lint() {
    let builtins: HashSet<&str> = ["__rate_interval", "__range", "__interval", "__all"].into();
    let mut uids = HashSet::new();
    for (file, d) in dashboards() {
        let uid = d["uid"].as_str().unwrap_or_default();
        assert!(
            !uid.is_empty() && uids.insert(uid.to_owned()),
            "{file}: missing or duplicate uid"
        );
        assert!(
            d["schemaVersion"].as_u64().unwrap() >= 36,
            "{file}: current schema"
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        let names: HashSet<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
        for required in ["datasource", "provider", "client", "instance"] {
            assert!(names.contains(required), "{file}: no `{required}` variable");
        }
        let ds = vars.iter().find(|v| v["name"] == "datasource").unwrap();
        assert_eq!(
            (ds["type"].as_str(), ds["query"].as_str()),
            (Some("datasource"), Some("prometheus")),
            "{file}"
        );

        let text_of_vars = serde_json::to_string(vars).unwrap();
        let mut ids = HashSet::new();
        let mut cells: HashSet<(u64, u64)> = HashSet::new();
        let mut refs = var_refs(&text_of_vars);
        for p in d["panels"].as_array().unwrap() {
            let title = p["title"].as_str().unwrap();
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{file}: duplicate panel id in {title}"
            );
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(
                w >= 1 && h >= 1 && x + w <= 24,
                "{file}: bad gridPos in {title}: {g}"
            );
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(
                        cells.insert((cx, cy)),
                        "{file}: {title} overlaps another panel"
                    );
                }
            }
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{file}: {title} does not use the datasource variable"
            );
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(
                    t["datasource"]["uid"], "${datasource}",
                    "{file}: {title} target"
                );
            }
            refs.extend(var_refs(&serde_json::to_string(p).unwrap()));
        }
        for r in refs {
            assert!(
                names.contains(r.as_str()) || builtins.contains(r.as_str()),
                "{file}: reference to undefined variable ${r}"
            );
        }
    }
}

fn rules_file() -> PathBuf {
    root().join("dashboards/prometheus/errlens-rules.yml")
}

fn promtool(args: &[&str]) {
    promtool_in(&root(), args);
}

fn promtool_in(dir: &Path, args: &[&str]) {
    require("promtool");
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_checks_and_tests_the_rules() {
    promtool(&["check", "rules", "dashboards/prometheus/errlens-rules.yml"]);
    promtool(&[
        "test",
        "rules",
        "dashboards/prometheus/errlens-rules.test.yml",
    ]);
    every_alert_has_a_firing_and_a_silent_case(&root().join("dashboards/prometheus"));
}

fn every_alert_has_a_firing_and_a_silent_case(dir: &Path) {
    let rules = std::fs::read_to_string(dir.join("errlens-rules.yml")).unwrap();
    let tests = std::fs::read_to_string(dir.join("errlens-rules.test.yml")).unwrap();
    let mut alerts = 0;
    for line in rules.lines() {
        if let Some(name) = line.trim().strip_prefix("- alert: ") {
            alerts += 1;
            let name = name.trim_matches('"');
            let cases: Vec<&str> = tests
                .split("  - name: ")
                .filter(|c| {
                    c.contains(&format!("alertname: {name}\n"))
                        || c.contains(&format!("alertname: \"{name}\""))
                })
                .collect();
            assert!(
                cases.iter().any(|c| c.contains("exp_labels")),
                "{name}: no firing case"
            );
            assert!(
                cases.iter().any(|c| c.contains("exp_alerts: []")),
                "{name}: no silent case"
            );
        }
    }
    assert_eq!(alerts, 7, "{}", dir.display());
}

/// Runs `python3 dashboards/generate.py ARGS` (from the repository root).
fn generate(args: &[&str]) -> std::process::Output {
    assert!(
        common::have("python3"),
        "`python3` (3.11 or newer) is not installed: dashboards/generate.py needs it"
    );
    Command::new("python3")
        .arg("dashboards/generate.py")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

/// Generates into a new temporary directory; panics with generate.py's stderr on failure.
fn generate_into(args: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["--out", dir.path().to_str().unwrap()];
    all.extend_from_slice(args);
    let out = generate(&all);
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "generate.py {args:?}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// The generated files under `dashboards/`, relative to it.
const GENERATED: [&str; 6] = [
    "grafana/errlens-overview.json",
    "grafana/errlens-rate-limits.json",
    "grafana/errlens-retry-hygiene.json",
    "grafana/errlens-exporter-health.json",
    "prometheus/errlens-rules.yml",
    "prometheus/errlens-rules.test.yml",
];

#[test]
fn checked_in_files_are_what_generate_py_makes_from_settings_toml() {
    let dir = generate_into(&[]);
    for file in GENERATED {
        let fresh = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let checked_in = std::fs::read_to_string(root().join("dashboards").join(file)).unwrap();
        assert!(
            fresh == checked_in,
            "dashboards/{file} is not what dashboards/generate.py makes from dashboards/settings.toml: \
             run `python3 dashboards/generate.py` and commit the result"
        );
    }
    let written = walk(dir.path());
    assert_eq!(written.len(), GENERATED.len(), "{written:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// The acceptance: a changed threshold keeps the project's own rule tests green,
/// because they are generated from the same settings.
#[test]
fn rules_and_their_tests_generated_with_other_settings_pass_promtool() {
    let variants: [&[&str]; 3] = [
        &["rate_limited_share=0.1"],
        &[
            "rate_limited_share=0.125",
            "rate_limited_rise=3",
            "rate_limited_offset=2h",
            "for_rate_limited=0m",
            "requests_window=10m",
            "wasted_share=0.9",
            "wasted_min_rate=0",
            "malformed_share=0.001",
            "for_down=1m",
            "for_no_records=0m",
        ],
        &[
            "rate_limited_share=0.75",
            "hidden_window=1h",
            "for_hidden=2h",
            "no_records_for=30m",
            "retries_window=2m",
            "for_wasted=1h30m",
            "malformed_window=20m",
            "for_client_id_failed=0m",
            "wasted_min_rate=2.5",
        ],
    ];
    for sets in variants {
        let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s]).collect();
        let dir = generate_into(&args);
        let prom = dir.path().join("prometheus");
        promtool_in(&prom, &["check", "rules", "errlens-rules.yml"]);
        promtool_in(&prom, &["test", "rules", "errlens-rules.test.yml"]);
        every_alert_has_a_firing_and_a_silent_case(&prom);
    }
    // The threshold reaches the rule, its description and the expected annotation.
    let dir = generate_into(&["--set", "rate_limited_share=0.1"]);
    let prom = dir.path().join("prometheus");
    let rules = std::fs::read_to_string(prom.join("errlens-rules.yml")).unwrap();
    assert!(
        rules.contains("errlens:rate_limited:share5m > 0.1 and"),
        "{rules}"
    );
    assert!(rules.contains("with 429, above 10% and"), "{rules}");
    let tests = std::fs::read_to_string(prom.join("errlens-rules.test.yml")).unwrap();
    assert!(tests.contains("with 429, above 10% and"), "{tests}");
    let board: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("grafana/errlens-rate-limits.json")).unwrap(),
    )
    .unwrap();
    let steps = &board["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"];
    assert_eq!(steps[1]["value"], 0.1, "the 429 panel's threshold line");
}

#[test]
fn a_bad_setting_is_one_line_on_stderr_and_exit_code_2() {
    for (set, says) in [
        ("rate_limited_share=abc", "not a number"),
        ("rate_limited_share=1", "out of range"),
        ("rate_limited_share=-0.1", "out of range"),
        ("rate_limited_share=nan", "not a number"),
        ("wasted_share=", "not a number"),
        ("rate_limited_rise=1", "out of range"),
        ("for_rate_limited=ten", "not a Prometheus duration"),
        ("for_rate_limited=90s", "whole minutes"),
        ("requests_window=1m", "out of range"),
        ("for_down=8d", "out of range"),
        ("rate_limited_offset=14m", "must be longer than"),
        ("no_such_setting=1", "unknown setting"),
        ("rate_limited_share", "expected NAME=VALUE"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = generate(&["--out", dir.path().to_str().unwrap(), "--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--set {set}: {stderr}");
        assert!(out.stdout.is_empty(), "--set {set}");
        assert_eq!(stderr.lines().count(), 1, "--set {set}: {stderr}");
        assert!(stderr.ends_with('\n') && !stderr.contains("Traceback"));
        assert!(
            stderr.starts_with("generate.py: ") && stderr.contains(says),
            "--set {set}: {stderr}"
        );
        assert!(walk(dir.path()).is_empty(), "--set {set} wrote files");
    }
    // The acceptance case, to the letter.
    let out = generate(&["--set", "rate_limited_share=abc"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "generate.py: --set rate_limited_share=abc: not a number; rate_limited_share must be \
         a share, 0 < x < 1 (e.g. 0.05 for 5%)\n"
    );
}

#[test]
fn settings_toml_documents_every_setting() {
    let text = std::fs::read_to_string(root().join("dashboards/settings.toml")).unwrap();
    let table: toml::Table = text.parse().unwrap();
    assert!(table.len() >= 18, "{table:?}");
    let lines: Vec<&str> = text.lines().collect();
    let readme = std::fs::read_to_string(root().join("dashboards/README.md")).unwrap();
    for name in table.keys() {
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("{name} =")))
            .unwrap();
        assert!(
            at > 0 && lines[at - 1].starts_with("# "),
            "settings.toml: `{name}` has no comment right above it"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "dashboards/README.md does not mention `{name}`"
        );
    }
}

/// (name, expr, is_alert) of every rule.
fn rule_exprs() -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(rules_file()).unwrap();
    let mut out = Vec::new();
    let mut name: Option<(String, bool)> = None;
    for line in text.lines() {
        let t = line.trim().trim_start_matches("- ");
        if let Some(n) = t.strip_prefix("record: ") {
            name = Some((serde_json::from_str(n).unwrap(), false));
        } else if let Some(n) = t.strip_prefix("alert: ") {
            name = Some((serde_json::from_str(n).unwrap(), true));
        } else if let Some(e) = t.strip_prefix("expr: ") {
            let (n, alert) = name.take().expect("expr after record/alert");
            out.push((n, serde_json::from_str(e).unwrap(), alert));
        }
    }
    assert!(out.len() >= 15);
    out
}

/// A dashboard query made evaluable: Grafana's variables replaced, `label_values`
/// reduced to its series selector.
fn concrete(expr: &str) -> String {
    let mut e = expr
        .replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
        .replace("$__interval", "15s");
    for v in ["instance", "provider", "client"] {
        e = e.replace(&format!("${v}"), ".*");
    }
    if let Some(inner) = e.strip_prefix("label_values(") {
        let selector = inner.rsplit_once(',').map_or(inner, |(s, _)| s);
        return selector.trim().to_owned();
    }
    e
}

fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while let Some(pos) = expr[i..].find("errlens_") {
        let start = i + pos;
        let boundary = start == 0
            || !(b[start - 1].is_ascii_alphanumeric()
                || b[start - 1] == b'_'
                || b[start - 1] == b':');
        let mut j = start;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        if boundary {
            out.insert(expr[start..j].to_owned());
        }
        i = j;
    }
    out
}

#[test]
fn every_query_and_recording_rule_returns_data_from_a_real_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    gen_log(&log, 20_000, 3, 5);
    // The shipped fixture adds status mismatches, which the generator does not make.
    let mut text = std::fs::read(&log).unwrap();
    text.extend(std::fs::read(root().join("fixtures/logs/sample.jsonl")).unwrap());
    let lines = text.iter().filter(|b| **b == b'\n').count() as f64;
    std::fs::write(&log, text).unwrap();

    let serve = Serve::start(&["--follow", log.to_str().unwrap(), "--from-start"]);
    assert!(serve.wait_for("errlens_lines_total", lines, Duration::from_secs(30)));
    let exported: BTreeSet<String> = serve
        .metrics()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    let prom = Prometheus::start_with_rules(&serve.addr, Some(&rules_file()));

    let mut queries: Vec<(String, String, bool)> = Vec::new();
    for (file, d) in dashboards() {
        for (title, expr) in panel_exprs(&d) {
            queries.push((format!("{file}: {title}"), expr, true));
        }
        for v in d["templating"]["list"].as_array().unwrap() {
            if let Some(q) = v["query"]["query"].as_str() {
                queries.push((
                    format!("{file}: variable {}", v["name"]),
                    q.to_owned(),
                    true,
                ));
            }
        }
    }
    for (name, expr, alert) in rule_exprs() {
        // Alerts must parse; only recording rules and panels must return data.
        queries.push((format!("rule {name}"), expr, !alert));
    }

    let mut failures = Vec::new();
    let mut evaluated = 0;
    for (what, expr, needs_data) in &queries {
        for m in metric_names(expr) {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| m.strip_suffix(s).filter(|b| exported.contains(*b)))
                .unwrap_or(&m);
            if !exported.contains(base) {
                failures.push(format!("{what}: `{m}` is not a metric errlens exports"));
            }
        }
        let q = concrete(expr);
        // Rates need two scrapes: give each query a few seconds to have data.
        let deadline = Instant::now() + Duration::from_secs(20);
        let outcome = loop {
            match prom.query_raw(&q) {
                Err(e) => break Err(e),
                Ok(r) if !r.is_empty() || !needs_data => break Ok(r.len()),
                Ok(_) if Instant::now() > deadline => break Err("no data".to_owned()),
                Ok(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        };
        match outcome {
            Ok(_) => evaluated += 1,
            Err(e) => failures.push(format!("{what}: {q}: {e}")),
        }
    }
    // Recording rules ran inside Prometheus too.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (name, _, alert) in rule_exprs() {
        if alert {
            continue;
        }
        while prom.query_raw(&name).map_or(true, |r| r.is_empty()) {
            if Instant::now() > deadline {
                failures.push(format!("recorded series {name} is empty"));
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );
    eprintln!(
        "evaluated {evaluated} queries ({} dashboard panels and variables, {} rules)",
        queries.len() - rule_exprs().len(),
        rule_exprs().len()
    );
}
