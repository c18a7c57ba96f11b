//! Record filters for `report`: `--since`/`--until`, `--provider`, `--client`,
//! `--endpoint` (a glob on the templated endpoint) and `--status` (`429`, `4xx`).
//!
//! A record is kept when it passes every given filter; within one filter, any of its
//! values may match. A record without a timestamp does not pass `--since`/`--until` (its
//! time is unknown). Records filtered out are counted in the summary (`filtered`), so a
//! report says how much it left out and why.

use crate::endpoint::{template_into, Secrets};
use errlens_classify::Registry;
use errlens_parse::Record;
use std::fmt;
use std::sync::OnceLock;

/// A status filter: one status (`429`) or a class (`4xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Exact(u16),
    /// Any status of this hundred (`4xx` is 4).
    Class(u16),
}

impl StatusFilter {
    /// Parses `429` or `4xx`.
    pub fn parse(s: &str) -> Option<StatusFilter> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'5').contains(&b[0]) {
            return Some(StatusFilter::Class(u16::from(b[0] - b'0')));
        }
        s.parse::<u16>()
            .ok()
            .filter(|n| (100..=599).contains(n))
            .map(StatusFilter::Exact)
    }

    fn matches(self, status: u16) -> bool {
        match self {
            StatusFilter::Exact(s) => s == status,
            StatusFilter::Class(c) => status / 100 == c,
        }
    }
}

impl fmt::Display for StatusFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusFilter::Exact(s) => write!(f, "{s}"),
            StatusFilter::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// Which records a report keeps.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Keep records at or after this time (Unix ms).
    pub since_ms: Option<i64>,
    /// Keep records before this time (Unix ms).
    pub until_ms: Option<i64>,
    /// Keep these providers (names as reports print them).
    pub providers: Vec<String>,
    /// Keep these client ids (`""` for records without one).
    pub clients: Vec<String>,
    /// Keep endpoints matching these globs (on `/3/movie/:id`-style endpoints).
    pub endpoints: Vec<glob::Pattern>,
    /// Keep these statuses.
    pub statuses: Vec<StatusFilter>,
    /// The credential segments endpoints are templated with (from the registry, on
    /// first use).
    pub secrets: OnceLock<Secrets>,
}

impl Filter {
    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.since_ms.is_none()
            && self.until_ms.is_none()
            && self.providers.is_empty()
            && self.clients.is_empty()
            && self.endpoints.is_empty()
            && self.statuses.is_empty()
    }

    /// Whether `rec` (of a provider in `registry`) is kept.
    pub fn keeps(&self, rec: &Record<'_>, registry: &Registry) -> bool {
        if self.since_ms.is_some() || self.until_ms.is_some() {
            let Some(ts) = rec.ts_ms else {
                return false;
            };
            if self.since_ms.is_some_and(|s| ts < s) || self.until_ms.is_some_and(|u| ts >= u) {
                return false;
            }
        }
        if !self.providers.is_empty()
            && !self
                .providers
                .iter()
                .any(|p| p.eq_ignore_ascii_case(registry.name(rec.provider)))
        {
            return false;
        }
        if !self.clients.is_empty() {
            let c = rec.client_id.as_deref().unwrap_or("");
            if !self.clients.iter().any(|x| x == c) {
                return false;
            }
        }
        if !self.statuses.is_empty() && !self.statuses.iter().any(|s| s.matches(rec.status)) {
            return false;
        }
        if !self.endpoints.is_empty() {
            let Some(path) = rec.path() else {
                return false;
            };
            let mut endpoint = String::with_capacity(path.len());
            let secrets = self.secrets.get_or_init(|| Secrets::of(registry));
            template_into(path, &mut endpoint, secrets);
            if !self.endpoints.iter().any(|g| g.matches(&endpoint)) {
                return false;
            }
        }
        true
    }

    /// What the filter keeps, for the report (`since 2026-11-20T10:00:00Z`, `status 4xx`).
    pub fn describe(&self) -> Vec<String> {
        let time = |ms: i64| {
            let mut s = errlens_parse::timestamp::format_minute(ms);
            s.push_str(&format!(" (+{}s)", ms.rem_euclid(60_000) / 1000));
            s
        };
        let mut out = Vec::new();
        if let Some(s) = self.since_ms {
            out.push(format!("since {}", time(s)));
        }
        if let Some(u) = self.until_ms {
            out.push(format!("until {}", time(u)));
        }
        let list = |name: &str, v: Vec<String>| format!("{name} {}", v.join(" or "));
        if !self.providers.is_empty() {
            out.push(list("provider", self.providers.clone()));
        }
        if !self.clients.is_empty() {
            out.push(list("client", self.clients.clone()));
        }
        if !self.endpoints.is_empty() {
            out.push(list(
                "endpoint",
                self.endpoints
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect(),
            ));
        }
        if !self.statuses.is_empty() {
            out.push(list(
                "status",
                self.statuses.iter().map(ToString::to_string).collect(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(line: &str) -> Record<'_> {
        errlens_parse::parse_line_with(line.as_bytes(), Registry::builtin().map()).unwrap()
    }

    #[test]
    fn filters_combine() {
        let r = rec(
            r#"{"ts":1795168800,"url":"https://api.themoviedb.org/3/movie/550","status":404,"client_id":"a"}"#,
        );
        let mut f = Filter::default();
        assert!(f.is_empty() && f.keeps(&r, Registry::builtin()));
        f.statuses = vec![StatusFilter::parse("4xx").unwrap()];
        f.providers = vec!["TMDB".into()];
        f.endpoints = vec![glob::Pattern::new("/3/movie/*").unwrap()];
        assert!(f.keeps(&r, Registry::builtin()));
        f.clients = vec!["b".into()];
        assert!(!f.keeps(&r, Registry::builtin()));
        f.clients = vec!["b".into(), "a".into()];
        assert!(f.keeps(&r, Registry::builtin()));
        f.since_ms = Some(1_795_168_800_001);
        assert!(!f.keeps(&r, Registry::builtin()));
        f.since_ms = Some(1_795_168_800_000);
        f.until_ms = Some(1_795_168_800_000);
        assert!(!f.keeps(&r, Registry::builtin()), "until is exclusive");
        assert!(
            !f.keeps(&rec(r#"{"status":404}"#), Registry::builtin()),
            "no time: not in a window"
        );
    }

    #[test]
    fn status_filters() {
        assert_eq!(StatusFilter::parse("429"), Some(StatusFilter::Exact(429)));
        assert_eq!(StatusFilter::parse("5XX"), Some(StatusFilter::Class(5)));
        assert_eq!(StatusFilter::parse("6xx"), None);
        assert_eq!(StatusFilter::parse("42"), None);
    }
}
