//! `errlens tables`: the loaded providers' classification tables as aligned text,
//! Markdown, CSV or JSON (schema errlens.tables/v2).

use super::{csv, TextTable};
use crate::cli::Format;
use errlens_classify::{ErrorKey, ErrorsBy, Provider};
use serde::Serialize;

/// The JSON form's own schema name (not the report's).
pub const TABLES_SCHEMA: &str = "errlens.tables/v2";

#[derive(Serialize)]
struct StatusJson<'a> {
    status: u16,
    name: &'a str,
    class: &'static str,
    failure: bool,
    retry: &'static str,
    user_message: &'a str,
    remedy: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_wait_s: Option<f64>,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    status: Option<u16>,
    name: &'a str,
    class: &'static str,
    failure: bool,
    retry: &'static str,
    user_message: &'a str,
    remedy: &'a str,
    when: &'a str,
    documented: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_wait_s: Option<f64>,
}

#[derive(Serialize)]
struct ProviderJson<'a> {
    name: &'a str,
    title: &'a str,
    source: String,
    hash: &'a str,
    hosts: &'a [String],
    errors_by: &'static str,
    statuses: Vec<StatusJson<'a>>,
    errors: Vec<ErrorJson<'a>>,
}

fn seconds(ms: Option<u32>) -> Option<f64> {
    ms.map(|m| f64::from(m) / 1000.0)
}

fn provider_json(p: &Provider) -> ProviderJson<'_> {
    ProviderJson {
        name: &p.name,
        title: &p.title,
        source: p.source.to_string(),
        hash: &p.hash,
        hosts: &p.hosts,
        errors_by: p.envelope.errors_by.as_str(),
        statuses: p
            .statuses
            .iter()
            .map(|r| StatusJson {
                status: r.status,
                name: &r.name,
                class: r.class.as_str(),
                failure: !(200..400).contains(&r.status),
                retry: r.retry.as_str(),
                user_message: &r.user_message,
                remedy: &r.remedy,
                min_wait_s: seconds(r.min_wait_ms),
            })
            .collect(),
        errors: p
            .errors
            .iter()
            .map(|r| ErrorJson {
                label: &r.label,
                id: match &r.key {
                    ErrorKey::Id(i) => Some(i),
                    _ => None,
                },
                code: match r.key {
                    ErrorKey::Code(c) => Some(c),
                    _ => None,
                },
                message: match &r.key {
                    ErrorKey::Message(m) => Some(m),
                    _ => None,
                },
                status: r.status,
                name: &r.name,
                class: r.class.as_str(),
                failure: r.failure(),
                retry: r.retry.as_str(),
                user_message: &r.user_message,
                remedy: &r.remedy,
                when: &r.when,
                documented: r.documented,
                min_wait_s: seconds(r.min_wait_ms),
            })
            .collect(),
    }
}

/// The tables of `providers` in `format`.
pub fn render(format: Format, providers: &[&Provider]) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => {
            #[derive(Serialize)]
            struct All<'a> {
                schema: &'static str,
                providers: Vec<ProviderJson<'a>>,
            }
            super::json::render(&All {
                schema: TABLES_SCHEMA,
                providers: providers.iter().map(|p| provider_json(p)).collect(),
            })?
        }
        Format::Csv => {
            let mut t = TextTable::new(&HEAD);
            for p in providers {
                t.rows.extend(flat_rows(p));
            }
            csv::table(&t)
        }
        Format::Table | Format::Markdown => {
            let md = format == Format::Markdown;
            let mut out = String::new();
            for p in providers {
                for t in sections(p) {
                    out.push_str(&if md { t.markdown() } else { t.text() });
                    out.push('\n');
                }
            }
            out
        }
    })
}

const HEAD: [&str; 9] = [
    "provider", "status", "error", "code", "class", "failure", "retry", "message", "remedy",
];

/// One CSV row per status and error row.
fn flat_rows(p: &Provider) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for r in &p.statuses {
        rows.push(vec![
            p.name.clone(),
            r.status.to_string(),
            String::new(),
            String::new(),
            r.class.as_str().into(),
            (!(200..400).contains(&r.status)).to_string(),
            r.retry.as_str().into(),
            r.name.clone(),
            r.remedy.clone(),
        ]);
    }
    for r in &p.errors {
        let (error, code) = match &r.key {
            ErrorKey::Code(c) => (String::new(), c.to_string()),
            _ => (r.label.clone(), String::new()),
        };
        let message = match (&r.key, r.when.is_empty()) {
            (ErrorKey::Message(m), _) => m.clone(),
            (_, false) => r.when.clone(),
            (_, true) => r.name.clone(),
        };
        rows.push(vec![
            p.name.clone(),
            r.status.map(|s| s.to_string()).unwrap_or_default(),
            error,
            code,
            r.class.as_str().into(),
            r.failure().to_string(),
            r.retry.as_str().into(),
            message,
            r.remedy.clone(),
        ]);
    }
    rows
}

/// A provider's tables for people: statuses, then its errors as it matches them.
fn sections(p: &Provider) -> Vec<TextTable> {
    let mut out = Vec::new();
    if !p.statuses.is_empty() {
        let mut t = TextTable::new(&["status", "name", "class", "retry", "user message", "remedy"]);
        t.title = Some(format!(
            "{}: HTTP statuses (others: the generic HTTP table)",
            p.title
        ));
        for r in &p.statuses {
            t.rows.push(vec![
                r.status.to_string(),
                r.name.clone(),
                r.class.as_str().into(),
                r.retry.as_str().into(),
                r.user_message.clone(),
                r.remedy.clone(),
            ]);
        }
        out.push(t);
    }
    if p.errors.is_empty() {
        return out;
    }
    let mut t = match p.envelope.errors_by {
        ErrorsBy::Code => {
            let key = p
                .envelope
                .key(errlens_parse::EnvelopeSlot::OwnCode)
                .unwrap_or("own code");
            let mut t = TextTable::new(&["code", "http", "class", "retry", "message", "remedy"]);
            t.title = Some(format!(
                "{}: {key} ({}'s own code, not the HTTP status)",
                p.title, p.title
            ));
            t
        }
        ErrorsBy::Message => {
            let mut t = TextTable::new(&["label", "message", "status", "class", "retry", "remedy"]);
            t.title = Some(format!(
                "{}: error messages (matched exactly; others are `other`)",
                p.title
            ));
            t
        }
        _ => {
            let mut t = TextTable::new(&[
                "status",
                "error",
                "class",
                "retry",
                "documented",
                "when",
                "remedy",
            ]);
            t.title = Some(format!(
                "{}: known error ids (unknown ids are classified by status)",
                p.title
            ));
            t
        }
    };
    for r in &p.errors {
        let status = r
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "any".into());
        t.rows.push(match &r.key {
            ErrorKey::Code(c) => vec![
                c.to_string(),
                status,
                r.class.as_str().into(),
                r.retry.as_str().into(),
                r.name.clone(),
                r.remedy.clone(),
            ],
            ErrorKey::Message(m) => vec![
                r.label.clone(),
                m.clone(),
                status,
                r.class.as_str().into(),
                r.retry.as_str().into(),
                r.remedy.clone(),
            ],
            ErrorKey::Id(id) => vec![
                status,
                id.clone(),
                r.class.as_str().into(),
                r.retry.as_str().into(),
                if r.documented { "yes" } else { "client code" }.into(),
                r.when.clone(),
                r.remedy.clone(),
            ],
        });
    }
    out.push(t);
    out
}
