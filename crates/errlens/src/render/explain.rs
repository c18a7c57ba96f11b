//! `errlens explain` as terminal text (its JSON is `render::json`).

use crate::cmd::explain::Explained;
use std::fmt::Write;

/// The explained rows, one block each.
pub fn text(rows: &[Explained]) -> String {
    let mut s = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        block(&mut s, r);
    }
    s
}

fn block(s: &mut String, r: &Explained) {
    let status = r
        .status
        .map_or_else(|| "any status".to_owned(), |s| s.to_string());
    let what = match (&r.error, r.tmdb_code) {
        (Some(e), _) => format!("{} {} {}", r.provider, status, e),
        (None, Some(c)) => format!("{} code {} (HTTP {})", r.provider, c, status),
        (None, None) => format!("{} {}", r.provider, status),
    };
    let _ = writeln!(s, "{what} — {}", r.name);
    if !r.in_table {
        let _ = writeln!(
            s,
            "  table:        not in {}'s table: judged by the generic HTTP table",
            r.provider
        );
    }
    if let Some(m) = &r.message {
        let _ = writeln!(s, "  message:      {m:?} (matched exactly)");
    }
    let _ = writeln!(s, "  class:        {}", r.class);
    let outcome = if r.failure { "failure" } else { "success" };
    let _ = writeln!(s, "  outcome:      {outcome}");
    let retry = match r.retry {
        "never" if r.class == "rate_limited" => {
            "not before the quota resets (a retry before then is wasted)"
        }
        "never" => "never (deterministic: the same request fails the same way)",
        "backoff" => "yes: back off, respect Retry-After (1, 2, 4, 8, 16 s, then give up)",
        "exponential" => "yes: exponential backoff (1, 2, 4, 8, 16 s, then give up)",
        _ => "not applicable",
    };
    let _ = writeln!(s, "  retry:        {retry}");
    if !r.user_message.is_empty() {
        let _ = writeln!(s, "  tell users:   {}", r.user_message);
    }
    let _ = writeln!(s, "  remedy:       {}", r.remedy);
    if !r.known_error_ids.is_empty() {
        let _ = writeln!(s, "  error ids:    {}", r.known_error_ids.join(", "));
    }
}
