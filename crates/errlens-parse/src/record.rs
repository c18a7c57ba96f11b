//! The request record every shape produces, its provider, and why a line is not one.

use crate::find::first_of;
use crate::provider::ProviderId;
use std::borrow::Cow;

/// Which field the record's HTTP status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSource {
    /// `status` or `http_status`.
    Status,
    /// The Simkl envelope's `code`, used because no `status` was logged.
    EnvelopeCode,
}

/// One logged API request, borrowing its strings from the input line where it can.
///
/// Laid out in declaration order (`repr(C)`), with what classification reads first, in
/// the first 64 bytes: records held in bulk are classified reading one cache line each.
#[derive(Debug, Clone, PartialEq)]
#[repr(C)]
pub struct Record<'a> {
    /// The envelope's error id or error text (`error`, or a provider's own key).
    pub error: Option<Cow<'a, str>>,
    /// The provider's own code (`status_code`: TMDB's code, never the HTTP status).
    pub tmdb_code: Option<i64>,
    /// The HTTP status echoed in the body (`code`).
    pub code: Option<i64>,
    /// The API, from the URL host, else the envelope (by the run's
    /// [`ProviderMap`](crate::ProviderMap); unknown without one).
    pub provider: ProviderId,
    /// The HTTP status (100–599).
    pub status: u16,
    /// Where [`Record::status`] came from.
    pub status_source: StatusSource,
    /// The envelope's success flag (`success`, or a provider's own key).
    pub success: Option<bool>,
    /// Request time in Unix milliseconds (`ts`, `time`, `timestamp`, `@timestamp`).
    pub ts_ms: Option<i64>,
    /// Latency in milliseconds (`latency_ms`, `duration_ms`, `elapsed_ms`).
    pub latency_ms: Option<f64>,
    /// The response's `Retry-After`, in seconds.
    pub retry_after_s: Option<f64>,
    /// HTTP method as logged.
    pub method: Option<Cow<'a, str>>,
    /// Full URL as logged.
    pub url: Option<Cow<'a, str>>,
    /// The calling app's client id.
    pub client_id: Option<Cow<'a, str>>,
    /// `host` field, when the log splits the URL.
    pub host: Option<Cow<'a, str>>,
    /// `path` field, when the log splits the URL.
    pub path: Option<Cow<'a, str>>,
    /// The envelope's `message`.
    pub message: Option<Cow<'a, str>>,
    /// The envelope's `status_message`.
    pub status_message: Option<Cow<'a, str>>,
    /// Number of entries in an `errors` array (TMDB 422), when present.
    pub errors: Option<usize>,
    /// Where the host and the path (without query) sit in `url`, split once at parse
    /// time because every stage asks for them.
    pub(crate) url_parts: UrlParts,
    /// Attempt number of this request (1 = first try).
    pub attempt: Option<u32>,
}

/// Byte ranges of the host and path within a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct UrlParts {
    host: Option<(u32, u32)>,
    path: Option<(u32, u32)>,
}

impl UrlParts {
    /// The host within `url`, when it has one.
    pub(crate) fn host_in<'u>(&self, url: Option<&'u str>) -> Option<&'u str> {
        let (a, b) = self.host?;
        url?.get(a as usize..b as usize)
    }

    pub(crate) fn of(url: &str) -> UrlParts {
        let (host, path) = split_url(url);
        let r = |r: std::ops::Range<usize>| (r.start as u32, r.end as u32);
        UrlParts {
            host: host.map(r),
            path: path.map(r),
        }
    }
}

impl<'a> Record<'a> {
    /// The request's host: the `host` field, else the URL's authority.
    pub fn host(&self) -> Option<&str> {
        if let Some(h) = self.host.as_deref() {
            return Some(h);
        }
        let (a, b) = self.url_parts.host?;
        self.url
            .as_deref()
            .and_then(|u| u.get(a as usize..b as usize))
    }

    /// The request's path without query or fragment: the `path` field, else the
    /// URL's path.
    #[inline(always)]
    pub fn path(&self) -> Option<&str> {
        match self.path.as_deref() {
            Some(p) => Some(without_query(p)),
            None => {
                let (a, b) = self.url_parts.path?;
                // An empty range is a URL with no path: the root.
                let p = self.url.as_deref()?.get(a as usize..b as usize)?;
                Some(if p.is_empty() { "/" } else { p })
            }
        }
    }

    /// Converts every borrowed string to an owned one, detaching the record from its
    /// input buffer.
    pub fn into_owned(self) -> Record<'static> {
        fn own(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            c.map(|c| Cow::Owned(c.into_owned()))
        }
        Record {
            provider: self.provider,
            status: self.status,
            status_source: self.status_source,
            ts_ms: self.ts_ms,
            method: own(self.method),
            url: own(self.url),
            host: own(self.host),
            path: own(self.path),
            latency_ms: self.latency_ms,
            client_id: own(self.client_id),
            attempt: self.attempt,
            retry_after_s: self.retry_after_s,
            error: own(self.error),
            code: self.code,
            message: own(self.message),
            tmdb_code: self.tmdb_code,
            status_message: own(self.status_message),
            success: self.success,
            errors: self.errors,
            url_parts: self.url_parts,
        }
    }
}

/// A logged path without its query or fragment (kept out of line: most records have a
/// URL, whose path is split when it is read).
#[inline(never)]
fn without_query(p: &str) -> &str {
    // `?` and `#` are ASCII, so the index of either is a char boundary. (`str::split`
    // with a char set cost ~490 instructions a record on access logs.)
    first_of(p.as_bytes(), [b'?', b'#']).map_or(p, |i| &p[..i])
}

/// Splits a URL into the byte ranges of its host and its path (without query or
/// fragment; empty for a URL with no path). Either may be missing: `/3/movie/1` has no
/// host.
fn split_url(
    url: &str,
) -> (
    Option<std::ops::Range<usize>>,
    Option<std::ops::Range<usize>>,
) {
    let bytes = url.as_bytes();
    let path_end =
        |from: usize| first_of(&bytes[from..], [b'?', b'#']).map_or(url.len(), |i| from + i);
    // A scheme is at most a few letters: look for "://" only near the start (the
    // usual two first: what the search would find for them).
    let rest = if bytes.starts_with(b"https://") {
        8
    } else if bytes.starts_with(b"http://") {
        7
    } else {
        let head = &bytes[..url.len().min(16)];
        let scheme_end = head
            .iter()
            .enumerate()
            .position(|(i, &c)| c == b':' && head.get(i + 1..i + 3) == Some(b"//"));
        match scheme_end {
            Some(i) => i + 3,
            None if url.starts_with("//") => 2,
            None if url.starts_with('/') => return (None, Some(0..path_end(0))),
            None => return (None, None),
        }
    };
    // The authority ends at the path, query or fragment; the host follows its last
    // `@` (user info).
    let mut end = url.len();
    let mut host_start = rest;
    let mut from = rest;
    while let Some(i) = first_of(&bytes[from..], [b'/', b'?', b'#', b'@']) {
        let at = from + i;
        if bytes[at] == b'@' {
            host_start = at + 1;
            from = at + 1;
        } else {
            end = at;
            break;
        }
    }
    let host = (host_start < end).then_some(host_start..end);
    let path = if url[end..].starts_with('/') {
        end..path_end(end)
    } else {
        end..end
    };
    (host, Some(path))
}

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not valid JSON (syntax error, truncation, invalid UTF-8 or NUL bytes).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// Valid JSON, but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// A request without a usable integer HTTP status; says where it was looked for.
    #[error("no usable HTTP status (looked in {0}: an integer 100-599)")]
    NoStatus(&'static str),
    /// Longer than the line cap; only its start was read.
    #[error("line longer than {0} bytes")]
    TooLong(usize),
    /// A text line outside its shape's grammar (logfmt, CLF).
    #[error("not in the {shape} shape: {reason}")]
    Syntax {
        /// The shape whose grammar the line does not follow.
        shape: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl ParseError {
    /// Where the flat shape looks for the HTTP status.
    pub const FLAT_STATUS: &'static str = "status, http_status, code";

    /// The kind of error, as reports count them: `invalid_json`, `not_object`,
    /// `no_status`, `too_long`, `invalid_text`.
    pub fn kind(&self) -> &'static str {
        match self {
            ParseError::InvalidJson(_) => "invalid_json",
            ParseError::NotObject => "not_object",
            ParseError::NoStatus(_) => "no_status",
            ParseError::TooLong(_) => "too_long",
            ParseError::Syntax { .. } => "invalid_text",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_line;

    /// What classification reads sits in the record's first 64 bytes.
    #[test]
    fn classification_fields_share_a_cache_line() {
        use std::mem::{offset_of, size_of};
        let ends = [
            offset_of!(Record<'_>, provider) + size_of::<ProviderId>(),
            offset_of!(Record<'_>, status) + size_of::<u16>(),
            offset_of!(Record<'_>, status_source) + size_of::<StatusSource>(),
            offset_of!(Record<'_>, success) + size_of::<Option<bool>>(),
            offset_of!(Record<'_>, error) + size_of::<Option<Cow<'_, str>>>(),
            offset_of!(Record<'_>, tmdb_code) + size_of::<Option<i64>>(),
            offset_of!(Record<'_>, code) + size_of::<Option<i64>>(),
        ];
        assert!(ends.iter().all(|&e| e <= 64), "{ends:?}");
    }

    fn p(s: &str) -> Record<'_> {
        parse_line(s.as_bytes()).unwrap()
    }

    fn parts(url: &str) -> (Option<&str>, Option<&str>) {
        let (h, p) = split_url(url);
        (h.map(|r| &url[r]), p.map(|r| &url[r]))
    }

    #[test]
    fn url_splitting() {
        assert_eq!(
            parts("https://api.simkl.com/sync/all?x=1"),
            (Some("api.simkl.com"), Some("/sync/all"))
        );
        assert_eq!(
            parts("https://u:p@api.themoviedb.org:443"),
            (Some("api.themoviedb.org:443"), Some(""))
        );
        assert_eq!(
            parts("https://api.simkl.com?x#y"),
            (Some("api.simkl.com"), Some(""))
        );
        assert_eq!(parts("/3/movie/550#frag"), (None, Some("/3/movie/550")));
        assert_eq!(parts("garbage"), (None, None));
        assert_eq!(parts("https://"), (None, Some("")));
        assert_eq!(parts("https://@/x"), (None, Some("/x")));
        // The last `@` of the authority; other schemes and cases by the search.
        assert_eq!(parts("http://a@b@h:1/x"), (Some("h:1"), Some("/x")));
        assert_eq!(parts("HTTPS://H/x?q"), (Some("H"), Some("/x")));
        assert_eq!(parts("ftp://h"), (Some("h"), Some("")));
        assert_eq!(parts("//h/p"), (Some("h"), Some("/p")));
        assert_eq!(parts("https://h/a@b"), (Some("h"), Some("/a@b")));
    }

    /// The split by plain byte loops, the reference for the vectorized one.
    fn reference(
        url: &str,
    ) -> (
        Option<std::ops::Range<usize>>,
        Option<std::ops::Range<usize>>,
    ) {
        let bytes = url.as_bytes();
        let path_end = |from: usize| {
            bytes[from..]
                .iter()
                .position(|&c| c == b'?' || c == b'#')
                .map_or(url.len(), |i| from + i)
        };
        let rest = match url.find("://").filter(|&i| i + 3 <= 16) {
            Some(i) => i + 3,
            None if url.starts_with("//") => 2,
            None if url.starts_with('/') => return (None, Some(0..path_end(0))),
            None => return (None, None),
        };
        let end = bytes[rest..]
            .iter()
            .position(|&c| matches!(c, b'/' | b'?' | b'#'))
            .map_or(url.len(), |i| rest + i);
        let host_start = bytes[rest..end]
            .iter()
            .rposition(|&c| c == b'@')
            .map_or(rest, |i| rest + i + 1);
        let host = (host_start < end).then_some(host_start..end);
        let path = if url[end..].starts_with('/') {
            end..path_end(end)
        } else {
            end..end
        };
        (host, Some(path))
    }

    proptest::proptest! {
        #[test]
        fn split_equals_the_byte_loops(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "https://", "http://", "ftp://", "//", "/", "@", "?", "#", ":", "a", "api.simkl.com",
                "u:p@", "movies", "550", "x=1", "0123456789abcdef", ":443",
            ]), 0..12)
        ) {
            let url = parts.concat();
            proptest::prop_assert_eq!(split_url(&url), reference(&url), "{}", url);
        }
    }

    #[test]
    fn root_path() {
        let r = p(r#"{"url":"https://api.simkl.com","status":200}"#);
        assert_eq!((r.host(), r.path()), (Some("api.simkl.com"), Some("/")));
    }

    #[test]
    fn path_drops_query() {
        let r = p(r#"{"url":"https://api.themoviedb.org/3/movie/550?api_key=x","status":200}"#);
        assert_eq!(r.path(), Some("/3/movie/550"));
    }

    #[test]
    fn first_usable_status_wins_then_code() {
        assert_eq!(p(r#"{"status":"oops","http_status":404}"#).status, 404);
        let r = p(r#"{"status":0,"code":412,"error":"client_id_failed"}"#);
        assert_eq!(
            (r.status, r.status_source),
            (412, StatusSource::EnvelopeCode)
        );
        assert_eq!(
            parse_line(br#"{"status":1000}"#),
            Err(ParseError::NoStatus(ParseError::FLAT_STATUS))
        );
    }
}
