//! The terminal report: totals, then sections that are present only when non-empty.

use super::{percent, thousands, TextTable};
use errlens_audit::Report;

/// Every section of the report, in order, as tables (shared with Markdown).
pub fn sections(r: &Report) -> Vec<TextTable> {
    let mut out = Vec::new();

    let mut fail = TextTable::new(&[
        "provider",
        "status",
        "error / code",
        "class",
        "retry",
        "count",
        "share",
    ]);
    fail.title = Some("Failures by provider, status and error".into());
    fail.right = vec![5, 6];
    let mut groups: Vec<_> = r.groups.iter().filter(|g| g.failure).collect();
    groups.sort_by(|a, b| {
        (
            provider_rank(&a.provider),
            a.status,
            &a.error,
            a.tmdb_code,
            std::cmp::Reverse(a.count),
        )
            .cmp(&(
                provider_rank(&b.provider),
                b.status,
                &b.error,
                b.tmdb_code,
                std::cmp::Reverse(b.count),
            ))
    });
    for g in &groups {
        fail.rows.push(vec![
            g.provider.clone(),
            g.status.to_string(),
            error_cell(g.error.as_deref(), g.tmdb_code),
            g.class.clone(),
            g.retry.clone(),
            thousands(g.count),
            percent(g.count, r.failures),
        ]);
    }
    if !fail.rows.is_empty() {
        out.push(fail);
    }

    let hidden: Vec<_> = r.groups.iter().filter(|g| g.hidden_failure).collect();
    if !hidden.is_empty() {
        let mut t = TextTable::new(&["provider", "status", "error / code", "class", "count"]);
        t.title = Some("Hidden failures (a failure logged under HTTP < 400)".into());
        t.right = vec![4];
        for g in hidden {
            t.rows.push(vec![
                g.provider.clone(),
                g.status.to_string(),
                error_cell(g.error.as_deref(), g.tmdb_code),
                g.class.clone(),
                thousands(g.count),
            ]);
        }
        out.push(t);
    }

    let mut st = TextTable::new(&["status", "requests", "share"]);
    st.title = Some("Requests by HTTP status".into());
    st.right = vec![1, 2];
    for (status, n) in &r.by_status {
        st.rows
            .push(vec![status.clone(), thousands(*n), percent(*n, r.records)]);
    }
    if !st.rows.is_empty() {
        out.push(st);
    }

    if !r.malformed_sample.is_empty() {
        let mut t = TextTable::new(&["file:line", "reason"]);
        t.title = Some(format!(
            "Malformed lines (first {} of {})",
            r.malformed_sample.len(),
            thousands(r.malformed)
        ));
        for m in &r.malformed_sample {
            t.rows
                .push(vec![format!("{}:{}", m.file, m.line), m.reason.clone()]);
        }
        out.push(t);
    }

    let bad_inputs: Vec<_> = r.inputs.iter().filter(|i| i.error.is_some()).collect();
    if !bad_inputs.is_empty() {
        let mut t = TextTable::new(&["input", "lines read", "error"]);
        t.title = Some("Inputs not fully read".into());
        for i in bad_inputs {
            t.rows.push(vec![
                i.file.clone(),
                thousands(i.lines),
                i.error.clone().unwrap_or_default(),
            ]);
        }
        out.push(t);
    }
    out
}

/// The headline totals, one line each.
pub fn totals(r: &Report) -> Vec<String> {
    let lines: u64 = r.records + r.malformed + r.blank;
    vec![
        format!(
            "{} lines from {} input{}: {} records, {} malformed, {} blank",
            thousands(lines),
            r.inputs.len(),
            if r.inputs.len() == 1 { "" } else { "s" },
            thousands(r.records),
            thousands(r.malformed),
            thousands(r.blank)
        ),
        format!(
            "failures {} ({} of records)   hidden failures {}   status mismatches {}",
            thousands(r.failures),
            percent(r.failures, r.records),
            thousands(r.hidden_failures),
            thousands(r.status_mismatches)
        ),
    ]
}

/// The report as aligned terminal text.
pub fn report(r: &Report) -> String {
    let mut out = String::from("errlens report\n");
    for l in totals(r) {
        out.push_str("  ");
        out.push_str(&l);
        out.push('\n');
    }
    for t in sections(r) {
        out.push('\n');
        out.push_str(&t.text());
    }
    out
}

/// How a group's error is shown: the Simkl id, `tmdb N`, or `—`.
pub fn error_cell(error: Option<&str>, tmdb_code: Option<i64>) -> String {
    match (error, tmdb_code) {
        (Some(e), _) => e.to_owned(),
        (None, Some(c)) => format!("tmdb {c}"),
        (None, None) => "—".into(),
    }
}

fn provider_rank(p: &str) -> usize {
    ["simkl", "tmdb", "unknown"]
        .iter()
        .position(|x| *x == p)
        .unwrap_or(3)
}
