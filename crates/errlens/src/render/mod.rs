//! Renderers, one file per format: aligned text (`table`), CSV, Markdown, HTML, and
//! the diff's; a new format is its own file here plus one variant of the command's
//! format enum in `cli.rs`.
//!
//! All three share [`TextTable`], so a section looks the same in every format.

pub mod csv;
pub mod diff;
pub mod explain;
pub mod html;
pub mod json;
pub mod markdown;
pub mod providers;
pub mod table;
pub mod tables;
pub mod term;

/// The formats `report` and `merge` render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Aligned text for a terminal.
    Table,
    /// The versioned JSON contract (errlens.report/v1).
    Json,
    /// One row per group.
    Csv,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One self-contained HTML page (charts, sortable tables, the JSON report inside).
    Html,
}

/// Renders a report (`report`, `merge`) in `format`: the one place a report format is
/// registered. A new format is its own file here, a variant above and an arm below.
pub fn report(format: ReportFormat, r: &errlens_audit::Report) -> anyhow::Result<String> {
    Ok(match format {
        ReportFormat::Table => table::report(r),
        ReportFormat::Json => json::render(r)?,
        ReportFormat::Csv => csv::report(r),
        ReportFormat::Markdown => markdown::report(r),
        ReportFormat::Html => html::report(r),
    })
}

/// A titled table of strings, renderable as aligned text or Markdown.
#[derive(Debug, Clone, Default)]
pub struct TextTable {
    /// Section heading.
    pub title: Option<String>,
    /// Column headers.
    pub head: Vec<String>,
    /// Rows, each as long as `head`.
    pub rows: Vec<Vec<String>>,
    /// Columns to right-align (numbers).
    pub right: Vec<usize>,
    /// Colours per row (empty, or as long as `rows`), used when colours are on.
    pub paint: Vec<Option<term::Paint>>,
}

impl TextTable {
    /// An empty table with these headers.
    pub fn new(head: &[&str]) -> Self {
        TextTable {
            head: head.iter().map(|h| h.to_string()).collect(),
            ..TextTable::default()
        }
    }

    /// Aligned text with a title line, fitted to the terminal's width (the widest
    /// columns are narrowed, their cells cut with an ellipsis) and coloured per row when
    /// the terminal allows.
    pub fn text(&self) -> String {
        let term = term::get();
        let mut widths = self.widths();
        if let Some(max) = term.width {
            // Two spaces of indent and two between columns.
            let total = |w: &[usize]| 2 + w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
            while total(&widths) > max {
                let (i, &w) = widths
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, w)| **w)
                    .expect("a table has columns");
                if w <= 6 {
                    break;
                }
                widths[i] = w - 1;
            }
        }
        let fit = |c: &str, w: usize| -> String {
            if c.chars().count() <= w {
                c.to_owned()
            } else {
                let mut s: String = c.chars().take(w.saturating_sub(1)).collect();
                s.push('…');
                s
            }
        };
        let mut out = String::new();
        if let Some(t) = &self.title {
            out.push_str(t);
            out.push('\n');
        }
        let line = |cells: &[String], paint: Option<term::Paint>, out: &mut String| {
            let mut l = String::from("  ");
            for (i, c) in cells.iter().enumerate() {
                let w = widths[i];
                let c = &fit(c, w);
                let last = i + 1 == cells.len();
                let pad = w.saturating_sub(c.chars().count());
                if self.right.contains(&i) {
                    l.push_str(&" ".repeat(pad));
                    l.push_str(c);
                } else {
                    l.push_str(c);
                    if !last {
                        l.push_str(&" ".repeat(pad));
                    }
                }
                if !last {
                    l.push_str("  ");
                }
            }
            let l = l.trim_end();
            match paint {
                Some(p) => out.push_str(&p.apply(l, term)),
                None => out.push_str(l),
            }
            out.push('\n');
        };
        line(&self.head, None, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        line(&rule, None, &mut out);
        for (i, r) in self.rows.iter().enumerate() {
            line(r, self.paint.get(i).copied().flatten(), &mut out);
        }
        out
    }

    /// A GitHub-flavoured Markdown table under a `###` heading.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        if let Some(t) = &self.title {
            out.push_str(&format!("### {t}\n\n"));
        }
        let esc = |c: &String| c.replace('|', "\\|").replace('\n', " ");
        out.push_str(&format!(
            "| {} |\n",
            self.head.iter().map(esc).collect::<Vec<_>>().join(" | ")
        ));
        out.push_str(&format!(
            "|{}|\n",
            (0..self.head.len())
                .map(|i| if self.right.contains(&i) {
                    "---:"
                } else {
                    "---"
                })
                .collect::<Vec<_>>()
                .join("|")
        ));
        for r in &self.rows {
            out.push_str(&format!(
                "| {} |\n",
                r.iter().map(esc).collect::<Vec<_>>().join(" | ")
            ));
        }
        out
    }

    fn widths(&self) -> Vec<usize> {
        let mut w: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < w.len() {
                    w[i] = w[i].max(c.chars().count());
                }
            }
        }
        w
    }
}

/// Formats an integer with thousands separators (`12,345`).
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part` as a percentage of `whole`, one decimal (`—` when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_and_percent() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 0), "—");
    }

    #[test]
    fn markdown_escapes_pipes() {
        let mut t = TextTable::new(&["a"]);
        t.rows.push(vec!["x|y".into()]);
        assert!(t.markdown().contains("x\\|y"));
    }
}
