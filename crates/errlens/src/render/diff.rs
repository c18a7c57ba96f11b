//! `errlens diff` as terminal text and as Markdown (for a pull-request comment).

use super::TextTable;
use errlens_audit::diff::{Change, Diff, GroupChange};
use std::path::Path;

fn num(v: f64, share: bool) -> String {
    if share {
        format!("{:.2}%", v * 100.0)
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn changes(d: &Diff) -> TextTable {
    let mut t = TextTable::new(&["figure", "old", "new", "change"]);
    t.title = Some(format!(
        "Changed beyond the tolerance ({}: shares absolute, others relative)",
        d.tolerance
    ));
    for Change {
        path,
        old,
        new,
        delta,
    } in &d.changed
    {
        let share = path.ends_with("share");
        let sign = if *delta > 0.0 { "+" } else { "" };
        t.rows.push(vec![
            path.clone(),
            num(*old, share),
            num(*new, share),
            format!("{sign}{}", num(*delta, share)),
        ]);
    }
    t
}

fn groups(title: &str, g: &[GroupChange]) -> TextTable {
    let mut t = TextTable::new(&["provider", "status", "error / code", "class", "count"]);
    t.title = Some(title.to_owned());
    for x in g {
        let what = match (&x.error, x.tmdb_code) {
            (Some(e), _) => e.clone(),
            (None, Some(c)) => format!("code {c}"),
            _ => String::new(),
        };
        t.rows.push(vec![
            x.provider.clone(),
            x.status.to_string(),
            what,
            x.class.clone(),
            x.count.to_string(),
        ]);
    }
    t
}

fn sections(d: &Diff) -> Vec<TextTable> {
    let mut out = Vec::new();
    if !d.changed.is_empty() {
        out.push(changes(d));
    }
    if !d.new_groups.is_empty() {
        out.push(groups("New failure groups", &d.new_groups));
    }
    if !d.gone_groups.is_empty() {
        out.push(groups("Failure groups gone", &d.gone_groups));
    }
    out
}

/// The diff as aligned terminal text.
pub fn table(d: &Diff, old: &Path, new: &Path) -> String {
    let mut s = format!("errlens diff\n  {} → {}\n", old.display(), new.display());
    if d.is_empty() {
        s.push_str("  no change beyond the tolerance\n");
        return s;
    }
    for t in sections(d) {
        s.push('\n');
        s.push_str(&t.text());
    }
    s
}

/// The diff as one self-contained HTML page (its JSON inside, script id
/// `errlens-diff`).
pub fn html(d: &Diff, old: &Path, new: &Path) -> String {
    use super::html::{esc, page_end, page_start, table_html};
    let mut out = page_start("errlens diff");
    out.push_str(&format!(
        "<div class=\"muted\">{} → {}</div>\n",
        esc(&old.display().to_string()),
        esc(&new.display().to_string())
    ));
    if d.is_empty() {
        out.push_str("<p>No change beyond the tolerance.</p>\n");
    }
    for t in sections(d) {
        table_html(&mut out, &t);
    }
    page_end(&mut out, "errlens-diff", d);
    out
}

/// The diff as GitHub-flavoured Markdown.
pub fn markdown(d: &Diff, old: &Path, new: &Path) -> String {
    let mut s = format!(
        "## errlens diff\n\n`{}` → `{}`\n\n",
        old.display(),
        new.display()
    );
    if d.is_empty() {
        s.push_str("No change beyond the tolerance.\n");
        return s;
    }
    for t in sections(d) {
        s.push_str(&t.markdown());
        s.push('\n');
    }
    s
}
