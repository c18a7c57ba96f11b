//! `errlens providers`: the loaded provider definitions as aligned text or JSON
//! (schema errlens.providers/v1).

use super::TextTable;
use errlens_classify::{Provider, Registry};
use serde::Serialize;

/// The JSON form's own schema name.
pub const PROVIDERS_SCHEMA: &str = "errlens.providers/v1";

#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    title: &'a str,
    source: String,
    hash: &'a str,
    hosts: &'a [String],
    docs: &'a [String],
    errors_by: &'static str,
    statuses: usize,
    errors: usize,
}

fn listed(p: &Provider) -> Listed<'_> {
    Listed {
        name: &p.name,
        title: &p.title,
        source: p.source.to_string(),
        hash: &p.hash,
        hosts: &p.hosts,
        docs: &p.docs,
        errors_by: p.envelope.errors_by.as_str(),
        statuses: p.statuses.len(),
        errors: p.errors.len(),
    }
}

/// One row per loaded provider.
pub fn text(registry: &Registry) -> String {
    let mut t = TextTable::new(&[
        "provider", "title", "source", "hash", "hosts", "statuses", "errors",
    ]);
    t.right = vec![5, 6];
    for p in registry.providers() {
        t.rows.push(vec![
            p.name.clone(),
            p.title.clone(),
            p.source.to_string(),
            p.hash.clone(),
            p.hosts.join(", "),
            p.statuses.len().to_string(),
            match p.envelope.errors_by.as_str() {
                "none" => "—".to_owned(),
                by => format!("{} by {by}", p.errors.len()),
            },
        ]);
    }
    let mut out = t.text();
    out.push_str("\nRecords of no provider (no known host, no recognised envelope) are `unknown`, judged by the generic HTTP table.\n");
    out
}

/// The JSON form.
pub fn json(registry: &Registry) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct All<'a> {
        schema: &'static str,
        providers: Vec<Listed<'a>>,
    }
    super::json::render(&All {
        schema: PROVIDERS_SCHEMA,
        providers: registry.providers().iter().map(listed).collect(),
    })
}
