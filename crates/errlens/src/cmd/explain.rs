//! `errlens explain`: one table row of a provider, with its user message and remedy.

use super::Outcome;
use crate::cli::{ExplainArgs, ExplainFormat};
use crate::output;
use anyhow::bail;
use errlens_classify::{tables, ErrorKey, ErrorRow, ErrorsBy, Provider, Registry};
use serde::Serialize;

/// The JSON form's own schema name (not the report's).
pub const EXPLAIN_SCHEMA: &str = "errlens.explain/v1";

/// One explained row, as printed or serialized.
#[derive(Debug, Serialize)]
pub struct Explained {
    pub(crate) schema: &'static str,
    pub(crate) provider: String,
    /// HTTP status the row applies to (`None`: any status).
    pub(crate) status: Option<u16>,
    /// The error id, or a message row's label.
    pub(crate) error: Option<String>,
    /// The provider's own code (named for TMDB in v1).
    pub(crate) tmdb_code: Option<i64>,
    /// The exact message a message row matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    pub(crate) name: String,
    pub(crate) class: &'static str,
    pub(crate) failure: bool,
    pub(crate) retryable: bool,
    pub(crate) retry: &'static str,
    pub(crate) user_message: String,
    pub(crate) remedy: String,
    /// `false` for a status outside the provider's table, judged by the generic HTTP
    /// table.
    pub(crate) in_table: bool,
    /// Further error ids known under this status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) known_error_ids: Vec<String>,
}

/// Runs `errlens explain`.
pub fn run(args: ExplainArgs) -> anyhow::Result<Outcome> {
    let registry = super::providers::load(&args.providers)?;
    let id = super::providers::resolve(&registry, &args.provider, "explain")?;
    let Some(p) = registry.get(id) else {
        bail!("`unknown` has no table: records of no provider are judged by the generic HTTP table alone (see `errlens tables`)");
    };
    let rows = lookup(&registry, p, args.code.trim())?;
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

fn error_row(p: &Provider, r: &ErrorRow) -> Explained {
    let (error, code, message) = match &r.key {
        ErrorKey::Id(i) => (Some(i.clone()), None, None),
        ErrorKey::Code(c) => (None, Some(*c), None),
        ErrorKey::Message(m) => (Some(r.label.clone()), None, Some(m.clone())),
    };
    Explained {
        schema: EXPLAIN_SCHEMA,
        provider: p.name.clone(),
        status: r.status,
        error,
        tmdb_code: code,
        message,
        name: if r.when.is_empty() {
            r.name.clone()
        } else {
            r.when.clone()
        },
        class: r.class.as_str(),
        failure: r.failure(),
        retryable: r.retry.retryable(),
        retry: r.retry.as_str(),
        user_message: r.user_message.clone(),
        remedy: r.remedy.clone(),
        in_table: true,
        known_error_ids: Vec::new(),
    }
}

/// An HTTP status of `p`: its status row, or the generic table's verdict.
fn status_row(registry: &Registry, p: &Provider, status: u16) -> Explained {
    match p.status_row(status) {
        Some((_, r)) => Explained {
            schema: EXPLAIN_SCHEMA,
            provider: p.name.clone(),
            status: Some(status),
            error: None,
            tmdb_code: None,
            message: None,
            name: r.name.clone(),
            class: r.class.as_str(),
            failure: !(200..400).contains(&status),
            retryable: r.retry.retryable(),
            retry: r.retry.as_str(),
            user_message: r.user_message.clone(),
            remedy: r.remedy.clone(),
            in_table: true,
            known_error_ids: p
                .errors
                .iter()
                .filter(|e| e.status == Some(status) && matches!(e.key, ErrorKey::Id(_)))
                .map(|e| e.label.clone())
                .collect(),
        },
        None => {
            let v = registry.judge(p.id, status, Default::default());
            let (_, row) = tables::http_status(status);
            Explained {
                schema: EXPLAIN_SCHEMA,
                provider: p.name.clone(),
                status: Some(status),
                error: None,
                tmdb_code: None,
                message: None,
                name: format!("not in {}'s status table", p.title),
                class: v.class.as_str(),
                failure: v.failure,
                retryable: v.retryable(),
                retry: v.retry.as_str(),
                user_message: String::new(),
                remedy: row.remedy.to_owned(),
                in_table: !p.has_status_table(),
                known_error_ids: Vec::new(),
            }
        }
    }
}

fn lookup(registry: &Registry, p: &Provider, code: &str) -> anyhow::Result<Vec<Explained>> {
    let number = code.parse::<i64>().ok();
    if p.envelope.errors_by == ErrorsBy::Code {
        if let Some(n) = number {
            if let Some((_, r)) = p.row_by_code(n) {
                return Ok(vec![error_row(p, r)]);
            }
            if !(100..=599).contains(&n) || !p.has_status_table() {
                let codes: Vec<i64> = p
                    .errors
                    .iter()
                    .filter_map(|r| match r.key {
                        ErrorKey::Code(c) => Some(c),
                        _ => None,
                    })
                    .collect();
                let range = match (codes.iter().min(), codes.iter().max()) {
                    (Some(a), Some(b)) => format!("codes {a}-{b}"),
                    _ => "no codes".to_owned(),
                };
                bail!("{} code {n} is not in {}'s table ({range}); errlens classifies unknown codes by their HTTP status", p.title, p.title);
            }
        } else {
            bail!(
                "{} errors are codes (the body's {}), got {code:?}",
                p.title,
                p.envelope
                    .key(errlens_parse::EnvelopeSlot::OwnCode)
                    .unwrap_or("own code")
            );
        }
    }
    if let Some(n) = number {
        let Some(status) = u16::try_from(n).ok().filter(|s| (100..=599).contains(s)) else {
            bail!("{n} is not an HTTP status (100-599)");
        };
        return Ok(vec![status_row(registry, p, status)]);
    }
    let rows: Vec<Explained> = p
        .errors
        .iter()
        .filter(|r| {
            r.label == code || matches!(&r.key, ErrorKey::Id(t) | ErrorKey::Message(t) if t == code)
        })
        .map(|r| error_row(p, r))
        .collect();
    if rows.is_empty() {
        let hint = p
            .errors
            .iter()
            .find(|r| {
                r.label.eq_ignore_ascii_case(code)
                    || matches!(&r.key, ErrorKey::Id(t) | ErrorKey::Message(t) if t.eq_ignore_ascii_case(code))
            })
            .map(|r| format!(" (matching is case-sensitive: did you mean {:?}?)", r.label))
            .unwrap_or_default();
        let what = match p.envelope.errors_by {
            ErrorsBy::None => format!("{} has no error ids", p.title),
            ErrorsBy::Message => format!(
                "{code:?} is not a known {} error message or label{hint}",
                p.title
            ),
            _ => format!("{code:?} is not a known {} error id{hint}", p.title),
        };
        bail!(
            "{what}; give an HTTP status (e.g. 429) or one of the rows in `errlens tables --provider {}`",
            p.name
        );
    }
    Ok(rows)
}
