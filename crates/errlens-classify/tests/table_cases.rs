//! Data-driven table test: every row of `fixtures/tables/cases.tsv` is turned into a
//! log line, parsed and classified, and the verdict compared with the row's
//! expectations. The fixture must cover every row of the built-in definitions, and the
//! definitions must hold the product rules.

use errlens_classify::{ErrorKey, Registry, RetryPolicy};
use errlens_parse::parse_line_with;
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
    let reg = Registry::builtin();
    for c in &cases {
        let line = log_line(c);
        let rec = parse_line_with(line.as_bytes(), reg.map()).unwrap();
        assert_eq!(reg.name(rec.provider), c.provider, "line {}", c.line_no);
        let v = reg.classify(&rec);
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
    for p in Registry::builtin().providers() {
        let mine: Vec<&Case> = cases.iter().filter(|c| c.provider == p.name).collect();
        assert!(!mine.is_empty(), "{} untested", p.name);
        let statuses: BTreeSet<u16> = mine
            .iter()
            .filter(|c| c.error.is_none() && c.tmdb_code.is_none())
            .map(|c| c.status)
            .collect();
        for r in &p.statuses {
            assert!(
                statuses.contains(&r.status),
                "{} {} untested",
                p.name,
                r.status
            );
        }
        for r in &p.errors {
            let covered = mine.iter().any(|c| match &r.key {
                ErrorKey::Id(id) => c.status == r.status.unwrap() && c.error.as_ref() == Some(id),
                ErrorKey::Code(code) => c.tmdb_code == Some(*code),
                ErrorKey::Message(m) => c.error.as_ref() == Some(m),
            });
            assert!(covered, "{} {:?} untested", p.name, r.key);
        }
    }
}

#[test]
fn builtin_definitions_hold_the_product_rules() {
    let reg = Registry::builtin();
    let simkl = reg.get(reg.by_name("simkl").unwrap()).unwrap();
    let retryable: Vec<u16> = simkl
        .statuses
        .iter()
        .filter(|r| r.retry.retryable())
        .map(|r| r.status)
        .collect();
    assert_eq!(retryable, [429, 500, 502, 503]);
    for r in &simkl.statuses {
        assert_eq!(
            r.class.is_success(),
            (200..400).contains(&r.status),
            "{}",
            r.status
        );
    }
    let quota = simkl
        .errors
        .iter()
        .find(|r| r.label == "user_limit_exceeded")
        .unwrap();
    assert_eq!(
        quota.retry,
        RetryPolicy::Never,
        "a daily quota is not retryable"
    );

    let tmdb = reg.get(reg.by_name("tmdb").unwrap()).unwrap();
    let codes = |f: &dyn Fn(&errlens_classify::ErrorRow) -> bool| -> Vec<i64> {
        tmdb.errors
            .iter()
            .filter(|r| f(r))
            .map(|r| match r.key {
                ErrorKey::Code(c) => c,
                _ => panic!("TMDB rows are codes"),
            })
            .collect()
    };
    assert_eq!(codes(&|r| r.retry.retryable()), [9, 11, 15, 24, 25, 43, 46]);
    assert_eq!(codes(&|r| !r.failure()), [1, 12, 13, 40]);
    assert_eq!(codes(&|_| true), (1..=47).collect::<Vec<i64>>());
}

#[test]
fn every_row_has_a_remedy() {
    for p in Registry::builtin().providers() {
        for r in &p.statuses {
            assert!(!r.remedy.is_empty(), "{} {}", p.name, r.status);
            if !r.class.is_success() {
                assert!(!r.user_message.is_empty(), "{} {}", p.name, r.status);
            }
        }
        for r in &p.errors {
            assert!(
                !r.remedy.is_empty() && !r.name.is_empty(),
                "{} {}",
                p.name,
                r.label
            );
            if r.failure() {
                assert!(!r.user_message.is_empty(), "{} {}", p.name, r.label);
            }
        }
    }
}
