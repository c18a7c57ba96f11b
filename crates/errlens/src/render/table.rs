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
            r.provider_rank(&a.provider),
            a.status,
            &a.error,
            a.tmdb_code,
            std::cmp::Reverse(a.count),
        )
            .cmp(&(
                r.provider_rank(&b.provider),
                b.status,
                &b.error,
                b.tmdb_code,
                std::cmp::Reverse(b.count),
            ))
    });
    for g in &groups {
        // Colour sparingly: rate limits yellow, failures no retry fixes red.
        fail.paint.push(match (g.class.as_str(), g.retry.as_str()) {
            ("rate_limited", _) => Some(super::term::Paint::Yellow),
            (_, "never") => Some(super::term::Paint::Red),
            _ => None,
        });
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

    out.extend(retry_sections(r));
    out.extend(pressure_sections(r));
    if let Some(t) = latency_section(r) {
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
    let lines: u64 = r.inputs.iter().map(|i| i.lines).sum();
    let mut shapes: Vec<&str> = r.inputs.iter().filter_map(|i| i.shape.as_deref()).collect();
    shapes.dedup();
    let shapes = if shapes.is_empty() {
        String::new()
    } else {
        format!(" ({})", shapes.join(", "))
    };
    let mut out = vec![
        format!(
            "{} lines from {} input{}{shapes}: {} records, {} malformed, {} blank",
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
    ];
    if let Some(f) = &r.filtered {
        out.push(format!(
            "filtered out {} records (kept: {})",
            thousands(f.records),
            f.by.join(", ")
        ));
    }
    out
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

/// How a group's error is shown: the error id or label, `code N` (a provider's own
/// code, TMDB's `status_code`), or `—`.
pub fn error_cell(error: Option<&str>, code: Option<i64>) -> String {
    match (error, code) {
        (Some(e), _) => e.to_owned(),
        (None, Some(c)) => format!("code {c}"),
        (None, None) => "—".into(),
    }
}

fn client_cell(c: &str) -> String {
    if c.is_empty() {
        "(no client_id)".to_owned()
    } else {
        c.to_owned()
    }
}

fn retry_sections(r: &Report) -> Vec<TextTable> {
    let x = &r.retries;
    let c = &x.counts;
    if c.total == 0 {
        return Vec::new();
    }
    let mut t = TextTable::new(&["judgement", "retries", "share", "meaning"]);
    t.title = Some(format!(
        "Retry hygiene: {} retries in {} chains ({} recovered, {} abandoned)",
        thousands(c.total),
        thousands(x.chains),
        thousands(x.recovered),
        thousands(x.abandoned)
    ));
    t.right = vec![1, 2];
    for (name, n, meaning) in [
        (
            "wasted",
            c.wasted,
            "retried a deterministic error: cannot succeed",
        ),
        (
            "early",
            c.early,
            "sooner than backoff (1,2,4,8,16 s) or Retry-After",
        ),
        ("over_limit", c.over_limit, "beyond attempt 6"),
        (
            "post_after_429",
            c.post_after_429,
            "POST retried after a 429 where that extends the block (Simkl)",
        ),
        ("ok", c.ok, "no fault found"),
        ("unlinked", c.unlinked, "previous attempt not in the log"),
    ] {
        if n > 0 || name != "unlinked" {
            t.rows.push(vec![
                name.into(),
                thousands(n),
                percent(n, c.total),
                meaning.into(),
            ]);
        }
    }
    let mut out = vec![t];
    if !x.worst_clients.is_empty() {
        let mut w = TextTable::new(&[
            "client_id",
            "retries",
            "wasted",
            "early",
            "over_limit",
            "post_after_429",
        ]);
        w.title = Some("Clients with faulty retries (worst first)".into());
        w.right = vec![1, 2, 3, 4, 5];
        for c in &x.worst_clients {
            let k = &c.retries;
            w.rows.push(vec![
                client_cell(&c.client_id),
                thousands(k.total),
                thousands(k.wasted),
                thousands(k.early),
                thousands(k.over_limit),
                thousands(k.post_after_429),
            ]);
        }
        out.push(w);
    }
    out
}

/// A one-line chart of `counts` (at most `width` characters: longer series are summed
/// into buckets), one block character each, from ▁ to █; 0 is a space.
pub fn sparkline(counts: &[u64], width: usize) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let width = width.max(1);
    let per = counts.len().div_ceil(width).max(1);
    let buckets: Vec<u64> = counts.chunks(per).map(|c| c.iter().sum()).collect();
    let max = buckets.iter().copied().max().unwrap_or(0).max(1);
    buckets
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                BLOCKS[((v * 7).div_ceil(max) as usize).min(7)]
            }
        })
        .collect()
}

fn pressure_sections(r: &Report) -> Vec<TextTable> {
    let p = &r.pressure;
    let mut out = Vec::new();
    let mut t = TextTable::new(&[
        "provider",
        "requests",
        "429",
        "429 share",
        "412",
        "412 share",
    ]);
    t.title = Some(format!(
        "Rate-limit pressure: {} × 429 ({:.2}%), {} × 412 ({:.2}%)",
        thousands(p.rate_limited),
        p.rate_limited_share * 100.0,
        thousands(p.client_id_failed),
        p.client_id_failed_share * 100.0
    ));
    if p.rate_limited > 0 && p.per_minute.len() > 1 {
        let counts: Vec<u64> = p.per_minute.iter().map(|m| m.slice.r429).collect();
        let title = t.title.take().unwrap_or_default();
        t.title = Some(format!(
            "{title}\n  429 per minute: {}",
            sparkline(&counts, 60)
        ));
    }
    t.right = vec![1, 2, 3, 4, 5];
    for row in &p.by_provider {
        let s = &row.slice;
        t.rows.push(vec![
            row.key.provider.clone(),
            thousands(s.requests),
            thousands(s.r429),
            percent(s.r429, s.requests),
            thousands(s.r412),
            percent(s.r412, s.requests),
        ]);
    }
    if t.rows.is_empty() {
        return out;
    }
    out.push(t);

    let mut pk = TextTable::new(&["status", "peak minute (UTC)", "count", "requests", "share"]);
    pk.title = Some("Peak minutes".into());
    pk.right = vec![2, 3, 4];
    for (status, peak) in &p.peak_minute {
        if let Some(m) = peak {
            pk.rows.push(vec![
                status.clone(),
                m.minute.clone(),
                thousands(m.count),
                thousands(m.requests),
                percent(m.count, m.requests),
            ]);
        }
    }
    if !pk.rows.is_empty() {
        out.push(pk);
    }

    if p.rate_limited + p.client_id_failed > 0 {
        let mut c = TextTable::new(&[
            "client_id",
            "requests",
            "429",
            "429 share",
            "412",
            "412 share",
        ]);
        c.title = Some("Top clients by requests".into());
        c.right = vec![1, 2, 3, 4, 5];
        for row in &p.by_client {
            let s = &row.slice;
            c.rows.push(vec![
                client_cell(&row.key.client_id),
                thousands(s.requests),
                thousands(s.r429),
                percent(s.r429, s.requests),
                thousands(s.r412),
                percent(s.r412, s.requests),
            ]);
        }
        out.push(c);
    }

    let mut e = TextTable::new(&[
        "provider", "endpoint", "requests", "429", "412", "p50 ms", "p99 ms",
    ]);
    e.title = Some("Top endpoints by requests".into());
    e.right = vec![2, 3, 4, 5, 6];
    for row in &p.by_endpoint {
        let s = &row.slice;
        let q = row.key.latency_ms;
        e.rows.push(vec![
            row.key.provider.clone(),
            row.key.endpoint.clone(),
            thousands(s.requests),
            thousands(s.r429),
            thousands(s.r412),
            q.map_or("—".into(), |q| format!("{:.1}", q.p50)),
            q.map_or("—".into(), |q| format!("{:.1}", q.p99)),
        ]);
    }
    if !e.rows.is_empty() {
        out.push(e);
    }
    out
}

fn latency_section(r: &Report) -> Option<TextTable> {
    if r.latency_ms.is_empty() {
        return None;
    }
    let mut t = TextTable::new(&[
        "provider", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms",
    ]);
    t.title = Some("Latency".into());
    t.right = vec![1, 2, 3, 4, 5];
    for (p, q) in &r.latency_ms {
        t.rows.push(vec![
            p.clone(),
            thousands(q.count),
            format!("{:.1}", q.p50),
            format!("{:.1}", q.p90),
            format!("{:.1}", q.p99),
            format!("{:.1}", q.max),
        ]);
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8], 60), " ▂▃▅█");
        assert_eq!(sparkline(&[1; 120], 60).chars().count(), 60);
        assert_eq!(sparkline(&[], 10), "");
    }
}
