//! CSV output (RFC 4180 quoting).

use super::TextTable;
use errlens_audit::Report;

/// Quotes a field when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A table as CSV, header first.
pub fn table(t: &TextTable) -> String {
    let mut out = String::new();
    for row in std::iter::once(&t.head).chain(&t.rows) {
        out.push_str(&row.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// The report's groups, one row each (totals are in the JSON and table formats).
pub fn report(r: &Report) -> String {
    let mut t = TextTable::new(&[
        "provider",
        "status",
        "error",
        "tmdb_code",
        "class",
        "failure",
        "retryable",
        "retry",
        "hidden_failure",
        "count",
    ]);
    for g in &r.groups {
        t.rows.push(vec![
            g.provider.clone(),
            g.status.to_string(),
            g.error.clone().unwrap_or_default(),
            g.tmdb_code.map(|c| c.to_string()).unwrap_or_default(),
            g.class.clone(),
            g.failure.to_string(),
            g.retryable.to_string(),
            g.retry.clone(),
            g.hidden_failure.to_string(),
            g.count.to_string(),
        ]);
    }
    table(&t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
