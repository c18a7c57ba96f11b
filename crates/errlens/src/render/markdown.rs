//! The report as Markdown: the terminal report's sections as GFM tables.

use super::table;
use errlens_audit::Report;

/// The report as GitHub-flavoured Markdown.
pub fn report(r: &Report) -> String {
    let mut out = String::from("## errlens report\n\n");
    for l in table::totals(r) {
        out.push_str(&format!("- {l}\n"));
    }
    for t in table::sections(r) {
        out.push('\n');
        out.push_str(&t.markdown());
    }
    out
}
