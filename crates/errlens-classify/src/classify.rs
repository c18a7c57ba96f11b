//! The classifier: one record in, one [`Verdict`] out, no allocation.

use crate::tables::{self, Class, RetryPolicy, RowInfo};
use errlens_parse::{Provider, Record, StatusSource};

/// Which table row decided a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A row of [`tables::SIMKL_STATUS`] (index).
    SimklStatus(u8),
    /// A row of [`tables::SIMKL_ERRORS`] (index).
    SimklError(u8),
    /// A TMDB code row (the code, 1–47).
    Tmdb(u8),
    /// A row of the generic [`tables::HTTP`] table (index; `u8::MAX` for none).
    Http(u8),
}

impl Rule {
    /// The decided row's name, user message and remedy.
    pub fn info(self) -> RowInfo {
        match self {
            Rule::SimklStatus(i) => {
                let r = &tables::SIMKL_STATUS[usize::from(i)];
                RowInfo {
                    name: r.name,
                    user_message: r.user_message,
                    remedy: r.remedy,
                }
            }
            Rule::SimklError(i) => {
                let r = &tables::SIMKL_ERRORS[usize::from(i)];
                let status = tables::simkl_status(r.status).map(|(_, s)| s);
                RowInfo {
                    name: r.error,
                    user_message: r
                        .user_message
                        .unwrap_or(status.map_or("", |s| s.user_message)),
                    remedy: r.remedy,
                }
            }
            Rule::Tmdb(code) => {
                let r = tables::tmdb_code(i64::from(code)).expect("rule holds a table code");
                RowInfo {
                    name: r.message,
                    user_message: r.user_message,
                    remedy: r.remedy,
                }
            }
            Rule::Http(i) => {
                let r = tables::HTTP
                    .get(usize::from(i))
                    .unwrap_or(&tables::HTTP_UNKNOWN);
                RowInfo {
                    name: r.class.as_str(),
                    user_message: "",
                    remedy: r.remedy,
                }
            }
        }
    }
}

/// The error a record reports, as a closed set fit for metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorLabel {
    /// No error id or TMDB code was logged.
    None,
    /// A known Simkl `error` id (index into [`tables::SIMKL_ERRORS`]; the first row
    /// with that id).
    SimklId(u8),
    /// A TMDB code from the table (1–47).
    TmdbCode(u8),
    /// An error id or code outside the tables.
    Other,
}

impl ErrorLabel {
    /// The label value: the Simkl id, the TMDB code as digits, `other` or `none`.
    pub fn as_str(self) -> &'static str {
        const CODES: [&str; 48] = [
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
            "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29",
            "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43",
            "44", "45", "46", "47",
        ];
        match self {
            ErrorLabel::None => "none",
            ErrorLabel::SimklId(i) => tables::SIMKL_ERRORS[usize::from(i)].error,
            ErrorLabel::TmdbCode(c) => CODES[usize::from(c)],
            ErrorLabel::Other => "other",
        }
    }
}

/// What a response means: class, failure, retry policy and the anomalies seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The provider the record was judged as.
    pub provider: Provider,
    /// The HTTP status as logged.
    pub status: u16,
    /// Outcome class.
    pub class: Class,
    /// Whether the request failed.
    pub failure: bool,
    /// How a client should react.
    pub retry: RetryPolicy,
    /// A failure logged under an HTTP status below 400 (e.g. TMDB 21 under 200).
    pub hidden_failure: bool,
    /// The envelope disagrees with the logged HTTP status.
    pub status_mismatch: bool,
    /// The row that decided.
    pub rule: Rule,
    /// The error id or code, as a closed label.
    pub error: ErrorLabel,
    /// `false` when the provider has a table and this status (Simkl) or code (TMDB)
    /// is not in it, so the generic HTTP table judged it.
    pub in_table: bool,
}

impl Verdict {
    /// Whether retrying can help (the product's retryable sets).
    pub fn retryable(&self) -> bool {
        self.retry.retryable()
    }
}

/// An error id as reports may show it: verbatim when it looks like an id
/// (`[A-Za-z0-9_.-]{1,64}`), else `<invalid>` — a proxy that echoes a token or a whole
/// body into `error` must not have it printed.
pub fn shown_error_id(error: &str) -> &str {
    let ok = (1..=64).contains(&error.len())
        && error
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        error
    } else {
        "<invalid>"
    }
}

/// Classifies a parsed record.
pub fn classify(r: &Record<'_>) -> Verdict {
    let simkl_code = match (r.provider, r.status_source) {
        (Provider::Simkl, StatusSource::Status) => r.code,
        _ => None,
    };
    classify_parts(
        r.provider,
        r.status,
        r.error.as_deref(),
        r.tmdb_code,
        simkl_code,
    )
}

/// Classifies from the fields that decide a verdict: provider, HTTP status, Simkl
/// `error` id, TMDB `status_code`, and the Simkl envelope `code` when the HTTP status
/// was logged separately (for the mismatch check).
pub fn classify_parts(
    provider: Provider,
    status: u16,
    error: Option<&str>,
    tmdb_code: Option<i64>,
    simkl_code: Option<i64>,
) -> Verdict {
    let mut v = match provider {
        Provider::Simkl => simkl(status, error, simkl_code),
        Provider::Tmdb => match tmdb_code {
            Some(code) => tmdb(status, code),
            None => generic(provider, status, ErrorLabel::None),
        },
        Provider::Unknown => generic(provider, status, ErrorLabel::None),
    };
    v.hidden_failure = v.failure && status < 400;
    v
}

fn simkl(status: u16, error: Option<&str>, code: Option<i64>) -> Verdict {
    // The label names the first row with the id, which may sit under another status;
    // the exact row is usually that same row, so the second scan is rarely needed.
    let first = error.and_then(tables::simkl_error_any);
    let exact = match (error, first) {
        (Some(_), Some(i)) if tables::SIMKL_ERRORS[i].status == status => {
            Some((i, &tables::SIMKL_ERRORS[i]))
        }
        (Some(e), Some(_)) => tables::simkl_error(status, e),
        _ => None,
    };
    let label = match (error, first) {
        (None, _) => ErrorLabel::None,
        (Some(_), Some(i)) => ErrorLabel::SimklId(i as u8),
        (Some(_), None) => ErrorLabel::Other,
    };
    let mismatch = code.is_some_and(|c| c != i64::from(status));
    let mut v = match tables::simkl_status(status) {
        Some((i, row)) => {
            let (rule, class, retry) = match exact {
                Some((j, er)) => (
                    Rule::SimklError(j as u8),
                    er.class,
                    er.retry.unwrap_or(row.retry),
                ),
                None => (Rule::SimklStatus(i as u8), row.class, row.retry),
            };
            Verdict {
                provider: Provider::Simkl,
                status,
                class,
                failure: !(200..400).contains(&status),
                retry,
                hidden_failure: false,
                status_mismatch: false,
                rule,
                error: label,
                in_table: true,
            }
        }
        None => {
            // A status Simkl's table doesn't list (504, Cloudflare's 520-524): the
            // generic HTTP table judges it, retryability included.
            let mut v = generic(Provider::Simkl, status, label);
            v.in_table = false;
            v
        }
    };
    v.status_mismatch = mismatch;
    v
}

fn tmdb(status: u16, code: i64) -> Verdict {
    match tables::tmdb_code(code) {
        Some(row) => Verdict {
            provider: Provider::Tmdb,
            status,
            class: row.class,
            failure: !row.success(),
            retry: row.retry,
            hidden_failure: false,
            status_mismatch: row.http != status,
            rule: Rule::Tmdb(row.code),
            error: ErrorLabel::TmdbCode(row.code),
            in_table: true,
        },
        None => Verdict {
            in_table: false,
            ..generic(Provider::Tmdb, status, ErrorLabel::Other)
        },
    }
}

fn generic(provider: Provider, status: u16, error: ErrorLabel) -> Verdict {
    let (i, row) = tables::http_status(status);
    Verdict {
        provider,
        status,
        class: row.class,
        failure: !(200..400).contains(&status),
        retry: row.retry,
        hidden_failure: false,
        status_mismatch: false,
        rule: Rule::Http(u8::try_from(i).unwrap_or(u8::MAX)),
        error,
        in_table: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use errlens_parse::parse_line;

    fn v(line: &str) -> Verdict {
        classify(&parse_line(line.as_bytes()).unwrap())
    }

    #[test]
    fn tmdb_edge_cases() {
        let t21 = v(r#"{"url":"https://api.themoviedb.org/3/x","status":200,"status_code":21}"#);
        assert!(t21.failure && t21.hidden_failure && !t21.status_mismatch);
        assert_eq!(t21.class, Class::NotFound);
        let t44 = v(r#"{"status":500,"status_code":44}"#);
        assert!(t44.failure && !t44.retryable());
        let t8 = v(r#"{"status":403,"status_code":8}"#);
        assert_eq!(t8.class, Class::Conflict);
        for code in [13, 40] {
            let ok = v(&format!(r#"{{"status":200,"status_code":{code}}}"#));
            assert!(!ok.failure && !ok.hidden_failure);
        }
    }

    #[test]
    fn mismatches() {
        assert!(v(r#"{"status":500,"status_code":25}"#).status_mismatch);
        assert!(v(r#"{"status":429,"code":412,"error":"client_id_failed"}"#).status_mismatch);
        // The code was used as the status, so it cannot disagree with it.
        assert!(!v(r#"{"code":412,"error":"client_id_failed"}"#).status_mismatch);
    }

    #[test]
    fn unknown_ids_and_codes_fall_back_to_status() {
        let s = v(r#"{"status":429,"error":"brand_new_id"}"#);
        assert_eq!(
            (s.class, s.error, s.retryable()),
            (Class::RateLimited, ErrorLabel::Other, true)
        );
        let t = v(r#"{"status":503,"status_code":99}"#);
        assert_eq!(
            (t.class, t.error, t.retryable()),
            (Class::Unavailable, ErrorLabel::Other, true)
        );
        // Outside Simkl's table: the generic HTTP table decides, and says so.
        let s504 = v(r#"{"url":"https://api.simkl.com/x","status":504}"#);
        assert!(s504.failure && s504.retryable() && !s504.in_table);
        let s522 = v(r#"{"url":"https://api.simkl.com/x","status":522}"#);
        assert!(s522.retryable() && !s522.in_table && s522.class == Class::Timeout);
        let quota =
            v(r#"{"url":"https://api.simkl.com/x","status":429,"error":"user_limit_exceeded"}"#);
        assert!(quota.failure && !quota.retryable() && quota.in_table);
        assert!(quota.rule.info().user_message.contains("midnight"));
    }

    #[test]
    fn error_ids_are_shown_only_when_they_look_like_ids() {
        assert_eq!(shown_error_id("client_id_failed"), "client_id_failed");
        assert_eq!(shown_error_id("RATE_LIMIT"), "RATE_LIMIT");
        assert_eq!(shown_error_id("v1.bad-id"), "v1.bad-id");
        assert_eq!(shown_error_id("Bearer eyJhbGciOi"), "<invalid>");
        assert_eq!(shown_error_id(""), "<invalid>");
        assert_eq!(shown_error_id(&"a".repeat(65)), "<invalid>");
        assert_eq!(shown_error_id("token=abc"), "<invalid>");
    }

    #[test]
    fn labels_are_closed() {
        assert_eq!(
            v(r#"{"status":412,"error":"client_id_failed"}"#)
                .error
                .as_str(),
            "client_id_failed"
        );
        assert_eq!(v(r#"{"status":429,"status_code":25}"#).error.as_str(), "25");
        assert_eq!(v(r#"{"status":200}"#).error.as_str(), "none");
    }
}
