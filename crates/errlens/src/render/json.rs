//! JSON, the machine format of every command: pretty-printed, one trailing newline.
//! Each document carries its own `schema` (`errlens.report/v1`, `errlens.diff/v1`,
//! `errlens.tables/v1`, `errlens.explain/v1`).

use serde::Serialize;

/// `value` as pretty JSON with a final newline.
pub fn render<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}
