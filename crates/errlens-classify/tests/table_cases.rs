//! Data-driven table test: every row of `fixtures/tables/cases.tsv` is turned into a
//! log line, parsed and classified, and the verdict compared with the row's
//! expectations. The fixture must cover every table row.

use errlens_classify::{classify, tables};
use errlens_parse::parse_line;
use std::collections::BTreeSet;

struct Case {
    line_no: usize,
    provider: String,
    status: u16,
    error: Option<String>,
    tmdb_code: Option<i64>,
    code: Option<i64>,
    class: String,
    failure: bool,
    retryable: bool,
    hidden: bool,
    mismatch: bool,
    note: String,
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/tables/cases.tsv"
    );
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'));
    let (_, head) = lines.next().expect("header");
    assert!(head.starts_with("provider\tstatus"));
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let b = |s: &str| match s {
        "true" => true,
        "false" => false,
        other => panic!("not a bool: {other}"),
    };
    lines
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 11, "line {}: {l}", i + 1);
            Case {
                line_no: i + 1,
                provider: f[0].into(),
                status: f[1].parse().unwrap(),
                error: opt(f[2]),
                tmdb_code: opt(f[3]).map(|s| s.parse().unwrap()),
                code: opt(f[4]).map(|s| s.parse().unwrap()),
                class: f[5].into(),
                failure: b(f[6]),
                retryable: b(f[7]),
                hidden: b(f[8]),
                mismatch: b(f[9]),
                note: f[10].into(),
            }
        })
        .collect()
}

fn log_line(c: &Case) -> String {
    let host = match c.provider.as_str() {
        "simkl" => "api.simkl.com",
        "tmdb" => "api.themoviedb.org",
        _ => "api.example.com",
    };
    let mut obj = serde_json::json!({
        "url": format!("https://{host}/x"),
        "status": c.status,
    });
    if let Some(e) = &c.error {
        obj["error"] = e.clone().into();
    }
    if let Some(t) = c.tmdb_code {
        obj["status_code"] = t.into();
    }
    if let Some(code) = c.code {
        obj["code"] = code.into();
    }
    obj.to_string()
}

#[test]
fn every_case_classifies_as_expected() {
    let cases = cases();
    assert!(cases.len() > 100);
    let mut failures = Vec::new();
    for c in &cases {
        let line = log_line(c);
        let rec = parse_line(line.as_bytes()).unwrap();
        assert_eq!(rec.provider.as_str(), c.provider, "line {}", c.line_no);
        let v = classify(&rec);
        let got = (
            v.class.as_str(),
            v.failure,
            v.retryable(),
            v.hidden_failure,
            v.status_mismatch,
        );
        let want = (
            c.class.as_str(),
            c.failure,
            c.retryable,
            c.hidden,
            c.mismatch,
        );
        if got != want {
            failures.push(format!(
                "fixture line {} ({}): {line}\n  got  {got:?}\n  want {want:?}",
                c.line_no, c.note
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixture_covers_every_table_row() {
    let cases = cases();
    let simkl_statuses: BTreeSet<u16> = cases
        .iter()
        .filter(|c| c.provider == "simkl" && c.error.is_none())
        .map(|c| c.status)
        .collect();
    for r in &tables::SIMKL_STATUS {
        assert!(
            simkl_statuses.contains(&r.status),
            "Simkl {} untested",
            r.status
        );
    }
    for r in &tables::SIMKL_ERRORS {
        assert!(
            cases.iter().any(|c| c.provider == "simkl"
                && c.status == r.status
                && c.error.as_deref() == Some(r.error)),
            "Simkl {} {} untested",
            r.status,
            r.error
        );
    }
    for code in 1..=47 {
        assert!(
            cases
                .iter()
                .any(|c| c.provider == "tmdb" && c.tmdb_code == Some(code)),
            "TMDB {code} untested"
        );
    }
}

#[test]
fn every_row_has_a_remedy() {
    for r in &tables::SIMKL_STATUS {
        assert!(!r.remedy.is_empty(), "{}", r.status);
        if !(200..400).contains(&r.status) {
            assert!(!r.user_message.is_empty(), "{}", r.status);
        }
    }
    for r in &tables::TMDB {
        assert!(!r.remedy.is_empty() && !r.message.is_empty(), "{}", r.code);
        if !r.success() {
            assert!(!r.user_message.is_empty(), "{}", r.code);
        }
    }
}
