//! `errlens explain`: one table row, with its user message and remedy.

use super::Outcome;
use crate::cli::{ExplainArgs, ExplainFormat, TableProvider};
use crate::output;
use anyhow::bail;
use errlens_classify::tables;
use serde::Serialize;

/// The JSON form's own schema name (not the report's).
pub const EXPLAIN_SCHEMA: &str = "errlens.explain/v1";

/// One explained row, as printed or serialized.
#[derive(Debug, Serialize)]
pub struct Explained {
    pub(crate) schema: &'static str,
    pub(crate) provider: &'static str,
    /// HTTP status the row applies to.
    pub(crate) status: u16,
    pub(crate) error: Option<&'static str>,
    pub(crate) tmdb_code: Option<u8>,
    pub(crate) name: &'static str,
    pub(crate) class: &'static str,
    pub(crate) failure: bool,
    pub(crate) retryable: bool,
    pub(crate) retry: &'static str,
    pub(crate) user_message: &'static str,
    pub(crate) remedy: &'static str,
    /// `false` for a status outside the provider's table, judged by the generic HTTP
    /// table.
    pub(crate) in_table: bool,
    /// Further error ids known under this status (Simkl).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) known_error_ids: Vec<&'static str>,
}

/// Runs `errlens explain`.
pub fn run(args: ExplainArgs) -> anyhow::Result<Outcome> {
    let rows = lookup(args.provider, args.code.trim())?;
    let text = match args.format {
        ExplainFormat::Json => {
            if rows.len() == 1 {
                crate::render::json::render(&rows[0])?
            } else {
                crate::render::json::render(&rows)?
            }
        }
        ExplainFormat::Table => crate::render::explain::text(&rows),
    };
    output::write_all(None, &text)?;
    Ok(Outcome::Ok)
}

fn lookup(provider: TableProvider, code: &str) -> anyhow::Result<Vec<Explained>> {
    match provider {
        TableProvider::Tmdb => {
            let Ok(n) = code.parse::<i64>() else {
                bail!("TMDB codes are numbers 1-47 (the body's status_code), got {code:?}");
            };
            let Some(r) = tables::tmdb_code(n) else {
                bail!("TMDB code {n} is not in TMDB's table (codes 1-47); errlens classifies unknown codes by their HTTP status");
            };
            Ok(vec![Explained {
                schema: EXPLAIN_SCHEMA,
                in_table: true,
                provider: "tmdb",
                status: r.http,
                error: None,
                tmdb_code: Some(r.code),
                name: r.message,
                class: r.class.as_str(),
                failure: !r.success(),
                retryable: r.retry.retryable(),
                retry: r.retry.as_str(),
                user_message: r.user_message,
                remedy: r.remedy,
                known_error_ids: Vec::new(),
            }])
        }
        TableProvider::Simkl => {
            if let Ok(status) = code.parse::<u16>() {
                if !(100..=599).contains(&status) {
                    bail!("{status} is not an HTTP status (100-599)");
                }
                let Some((_, r)) = tables::simkl_status(status) else {
                    // Outside Simkl's table: the generic HTTP table's verdict.
                    let v = errlens_classify::classify_parts(
                        errlens_parse::Provider::Simkl,
                        status,
                        None,
                        None,
                        None,
                    );
                    let (_, row) = tables::http_status(status);
                    return Ok(vec![Explained {
                        schema: EXPLAIN_SCHEMA,
                        provider: "simkl",
                        status,
                        error: None,
                        tmdb_code: None,
                        name: "not in Simkl's table",
                        class: v.class.as_str(),
                        failure: v.failure,
                        retryable: v.retryable(),
                        retry: v.retry.as_str(),
                        user_message: "",
                        remedy: row.remedy,
                        in_table: false,
                        known_error_ids: Vec::new(),
                    }]);
                };
                return Ok(vec![Explained {
                    schema: EXPLAIN_SCHEMA,
                    in_table: true,
                    provider: "simkl",
                    status: r.status,
                    error: None,
                    tmdb_code: None,
                    name: r.name,
                    class: r.class.as_str(),
                    failure: !(200..400).contains(&r.status),
                    retryable: r.retry.retryable(),
                    retry: r.retry.as_str(),
                    user_message: r.user_message,
                    remedy: r.remedy,
                    known_error_ids: tables::SIMKL_ERRORS
                        .iter()
                        .filter(|e| e.status == status)
                        .map(|e| e.error)
                        .collect(),
                }]);
            }
            let rows: Vec<Explained> = tables::SIMKL_ERRORS
                .iter()
                .filter(|e| e.error == code)
                .map(|e| {
                    let (_, st) =
                        tables::simkl_status(e.status).expect("ids sit under table statuses");
                    let retry = e.retry.unwrap_or(st.retry);
                    Explained {
                        schema: EXPLAIN_SCHEMA,
                        in_table: true,
                        provider: "simkl",
                        status: e.status,
                        error: Some(e.error),
                        tmdb_code: None,
                        name: e.when,
                        class: e.class.as_str(),
                        failure: true,
                        retryable: retry.retryable(),
                        retry: retry.as_str(),
                        user_message: e.user_message.unwrap_or(st.user_message),
                        remedy: e.remedy,
                        known_error_ids: Vec::new(),
                    }
                })
                .collect();
            if rows.is_empty() {
                let hint = tables::SIMKL_ERRORS
                    .iter()
                    .find(|e| e.error.eq_ignore_ascii_case(code))
                    .map(|e| format!(" (ids are case-sensitive: did you mean {:?}?)", e.error))
                    .unwrap_or_default();
                bail!("{code:?} is not a known Simkl error id{hint}; give an HTTP status (e.g. 429) or one of the ids in `errlens tables --provider simkl`");
            }
            Ok(rows)
        }
    }
}
