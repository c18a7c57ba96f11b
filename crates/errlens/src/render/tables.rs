//! `errlens tables`: both classification tables as aligned text, Markdown, CSV or JSON
//! (schema errlens.tables/v1).

use super::{csv, TextTable};
use crate::cli::Format;
use errlens_classify::tables;
use serde::Serialize;

/// The JSON form's own schema name (not the report's).
pub const TABLES_SCHEMA: &str = "errlens.tables/v1";

#[derive(Serialize)]
struct AllTables {
    schema: &'static str,
    simkl_status: &'static [tables::SimklStatusRow],
    simkl_errors: &'static [tables::SimklErrorRow],
    tmdb: &'static [tables::TmdbRow],
}

/// The tables of the chosen providers in `format`.
pub fn render(format: Format, simkl: bool, tmdb: bool) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => super::json::render(&AllTables {
            schema: TABLES_SCHEMA,
            simkl_status: if simkl { &tables::SIMKL_STATUS } else { &[] },
            simkl_errors: if simkl { &tables::SIMKL_ERRORS } else { &[] },
            tmdb: if tmdb { &tables::TMDB } else { &[] },
        })?,
        Format::Csv => {
            let mut t = flat_table(simkl, tmdb);
            t.title = None;
            csv::table(&t)
        }
        Format::Table | Format::Markdown => {
            let md = format == Format::Markdown;
            let mut out = String::new();
            for t in sectioned(simkl, tmdb) {
                out.push_str(&if md { t.markdown() } else { t.text() });
                out.push('\n');
            }
            out
        }
    })
}

const HEAD: [&str; 9] = [
    "provider",
    "status",
    "error",
    "tmdb_code",
    "class",
    "failure",
    "retry",
    "message",
    "remedy",
];

fn simkl_rows() -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in &tables::SIMKL_STATUS {
        rows.push(vec![
            "simkl".into(),
            r.status.to_string(),
            String::new(),
            String::new(),
            r.class.as_str().into(),
            (!(200..400).contains(&r.status)).to_string(),
            r.retry.as_str().into(),
            r.name.into(),
            r.remedy.into(),
        ]);
    }
    for e in &tables::SIMKL_ERRORS {
        let (_, st) = tables::simkl_status(e.status).expect("ids sit under table statuses");
        rows.push(vec![
            "simkl".into(),
            e.status.to_string(),
            e.error.into(),
            String::new(),
            e.class.as_str().into(),
            "true".into(),
            e.retry.unwrap_or(st.retry).as_str().into(),
            e.when.into(),
            e.remedy.into(),
        ]);
    }
    rows
}

fn tmdb_rows() -> Vec<Vec<String>> {
    tables::TMDB
        .iter()
        .map(|r| {
            vec![
                "tmdb".into(),
                r.http.to_string(),
                String::new(),
                r.code.to_string(),
                r.class.as_str().into(),
                (!r.success()).to_string(),
                r.retry.as_str().into(),
                r.message.into(),
                r.remedy.into(),
            ]
        })
        .collect()
}

fn flat_table(simkl: bool, tmdb: bool) -> TextTable {
    let mut t = TextTable::new(&HEAD);
    if simkl {
        t.rows.extend(simkl_rows());
    }
    if tmdb {
        t.rows.extend(tmdb_rows());
    }
    t
}

fn sectioned(simkl: bool, tmdb: bool) -> Vec<TextTable> {
    let mut out = Vec::new();
    if simkl {
        let mut t = TextTable::new(&["status", "name", "class", "retry", "user message", "remedy"]);
        t.title = Some("Simkl: HTTP statuses (others: the generic HTTP table)".into());
        for r in &tables::SIMKL_STATUS {
            t.rows.push(vec![
                r.status.to_string(),
                r.name.into(),
                r.class.as_str().into(),
                r.retry.as_str().into(),
                r.user_message.into(),
                r.remedy.into(),
            ]);
        }
        out.push(t);
        let mut t = TextTable::new(&[
            "status",
            "error",
            "class",
            "retry",
            "documented",
            "when",
            "remedy",
        ]);
        t.title = Some("Simkl: known error ids (unknown ids are classified by status)".into());
        for e in &tables::SIMKL_ERRORS {
            let status_retry = tables::simkl_status(e.status).map(|(_, s)| s.retry);
            let retry = e.retry.or(status_retry).map_or("", |r| r.as_str());
            t.rows.push(vec![
                e.status.to_string(),
                e.error.into(),
                e.class.as_str().into(),
                retry.into(),
                if e.documented { "yes" } else { "client code" }.into(),
                e.when.into(),
                e.remedy.into(),
            ]);
        }
        out.push(t);
    }
    if tmdb {
        let mut t = TextTable::new(&["code", "http", "class", "retry", "message", "remedy"]);
        t.title = Some("TMDB: status_code (TMDB's own code, not the HTTP status)".into());
        for r in &tables::TMDB {
            t.rows.push(vec![
                r.code.to_string(),
                r.http.to_string(),
                r.class.as_str().into(),
                r.retry.as_str().into(),
                r.message.into(),
                r.remedy.into(),
            ]);
        }
        out.push(t);
    }
    out
}
