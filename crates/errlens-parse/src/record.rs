//! The request record and its JSON-lines field mapping.
//!
//! One line is one request. Fields are found by name, aliases included (see the table
//! in [`Field`]), with lenient types: a number in a string is still a number, and a
//! field of the wrong type is ignored rather than failing the line. A line is
//! malformed only when it is not a JSON object or has no usable HTTP status.

use crate::timestamp;
use crate::value::Scalar;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The API a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// api.simkl.com / api.simkl.org.
    Simkl,
    /// api.themoviedb.org.
    Tmdb,
    /// Neither host nor envelope says; classified by HTTP status alone.
    Unknown,
}

impl Provider {
    /// All providers, in report order.
    pub const ALL: [Provider; 3] = [Provider::Simkl, Provider::Tmdb, Provider::Unknown];

    /// The lower-case name used in reports and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Simkl => "simkl",
            Provider::Tmdb => "tmdb",
            Provider::Unknown => "unknown",
        }
    }

    /// Parses a name as printed by [`Provider::as_str`].
    pub fn from_name(s: &str) -> Option<Provider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }

    /// The provider that serves `host` (case-insensitive, port ignored), if known.
    pub fn from_host(host: &str) -> Option<Provider> {
        let host = match host.bytes().rposition(|c| c == b':') {
            Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
            _ => host,
        };
        let host = host.strip_suffix('.').unwrap_or(host);
        // The length rules out most hosts before any byte is compared.
        match host.len() {
            13 if host.eq_ignore_ascii_case("api.simkl.com")
                || host.eq_ignore_ascii_case("api.simkl.org") =>
            {
                Some(Provider::Simkl)
            }
            18 if host.eq_ignore_ascii_case("api.themoviedb.org") => Some(Provider::Tmdb),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which field the record's HTTP status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusSource {
    /// `status` or `http_status`.
    Status,
    /// The Simkl envelope's `code`, used because no `status` was logged.
    EnvelopeCode,
}

/// One logged API request, borrowing its strings from the input line where it can.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<'a> {
    /// The API, from the URL host, else the envelope shape.
    pub provider: Provider,
    /// The HTTP status (100–599).
    pub status: u16,
    /// Where [`Record::status`] came from.
    pub status_source: StatusSource,
    /// Request time in Unix milliseconds (`ts`, `time`, `timestamp`, `@timestamp`).
    pub ts_ms: Option<i64>,
    /// HTTP method as logged.
    pub method: Option<Cow<'a, str>>,
    /// Full URL as logged.
    pub url: Option<Cow<'a, str>>,
    /// `host` field, when the log splits the URL.
    pub host: Option<Cow<'a, str>>,
    /// `path` field, when the log splits the URL.
    pub path: Option<Cow<'a, str>>,
    /// Latency in milliseconds (`latency_ms`, `duration_ms`, `elapsed_ms`).
    pub latency_ms: Option<f64>,
    /// The calling app's client id.
    pub client_id: Option<Cow<'a, str>>,
    /// Attempt number of this request (1 = first try).
    pub attempt: Option<u32>,
    /// The response's `Retry-After`, in seconds.
    pub retry_after_s: Option<f64>,
    /// Simkl envelope `error` id.
    pub error: Option<Cow<'a, str>>,
    /// Simkl envelope `code` (the HTTP status echoed in the body).
    pub code: Option<i64>,
    /// Simkl envelope `message`.
    pub message: Option<Cow<'a, str>>,
    /// TMDB envelope `status_code` (TMDB's own code, never the HTTP status).
    pub tmdb_code: Option<i64>,
    /// TMDB envelope `status_message`.
    pub status_message: Option<Cow<'a, str>>,
    /// TMDB envelope `success`.
    pub success: Option<bool>,
    /// Number of entries in a TMDB 422 `errors` array, when present.
    pub errors: Option<usize>,
    /// Where the host and the path (without query) sit in `url`, split once at parse
    /// time because every stage asks for them.
    url_parts: UrlParts,
}

/// Byte ranges of the host and path within a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct UrlParts {
    host: Option<(u32, u32)>,
    path: Option<(u32, u32)>,
}

impl UrlParts {
    fn of(url: &str) -> UrlParts {
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
    pub fn path(&self) -> Option<&str> {
        match self.path.as_deref() {
            Some(p) => Some(p.split(['?', '#']).next().unwrap_or(p)),
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

/// Splits a URL into the byte ranges of its host and its path (without query or
/// fragment; empty for a URL with no path). Either may be missing: `/3/movie/1` has no
/// host.
fn split_url(
    url: &str,
) -> (
    Option<std::ops::Range<usize>>,
    Option<std::ops::Range<usize>>,
) {
    // URLs are short: plain loops beat memchr's set-up here.
    let bytes = url.as_bytes();
    let path_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|&c| c == b'?' || c == b'#')
            .map_or(url.len(), |i| from + i)
    };
    // A scheme is at most a few letters: look for "://" only near the start.
    let head = &bytes[..url.len().min(16)];
    let scheme_end = head
        .iter()
        .enumerate()
        .position(|(i, &c)| c == b':' && head.get(i + 1..i + 3) == Some(b"//"));
    let rest = match scheme_end {
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

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not valid JSON (syntax error, truncation, invalid UTF-8 or NUL bytes).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// Valid JSON, but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// An object without a usable integer HTTP status.
    #[error("no usable HTTP status (status, http_status or code: an integer 100-599)")]
    NoStatus,
    /// Longer than the line cap; only its start was read.
    #[error("line longer than {0} bytes")]
    TooLong(usize),
}

/// Parses one JSON-lines request record.
///
/// The common flat shape is read by a scanner ([`crate::fast`]); anything it does not
/// accept (escapes, nested values, non-ASCII bytes, unusual numbers, invalid JSON) goes
/// through serde_json, which has the last word on what is valid.
#[inline]
pub fn parse_line(line: &[u8]) -> Result<Record<'_>, ParseError> {
    // Filled in place: the record-to-be is a few hundred bytes, not worth moving.
    let mut raw = Raw::default();
    if crate::fast::scan(line, &mut raw) {
        raw.into_record()
    } else {
        parse_line_serde(line)
    }
}

/// Parses one line with serde_json only (the reference the fast path must equal).
pub(crate) fn parse_line_serde(line: &[u8]) -> Result<Record<'_>, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let raw = match de.deserialize_map(RawVisitor) {
        Ok(raw) => raw,
        Err(e) if e.is_data() => return Err(ParseError::NotObject),
        Err(e) => return Err(ParseError::InvalidJson(json_reason(&e))),
    };
    de.end()
        .map_err(|e| ParseError::InvalidJson(json_reason(&e)))?;
    raw.into_record()
}

/// A short reason without serde_json's line number (always 1 for one line).
fn json_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => format!("{} at column {}", &msg[..i], e.column()),
        None => msg,
    }
}

/// The field names errlens reads, aliases folded together.
///
/// | field        | aliases                                 |
/// |--------------|-----------------------------------------|
/// | `ts`         | `time`, `timestamp`, `@timestamp`       |
/// | `status`     | `http_status`                           |
/// | `latency_ms` | `duration_ms`, `elapsed_ms`             |
#[derive(Clone, Copy)]
pub(crate) enum Field {
    Ts,
    Method,
    Url,
    Host,
    Path,
    Status,
    HttpStatus,
    Latency,
    ClientId,
    Attempt,
    RetryAfter,
    Error,
    Code,
    Message,
    StatusCode,
    StatusMessage,
    Success,
    Errors,
    Other,
}

impl Field {
    pub(crate) fn from_name(name: &str) -> Field {
        // Dispatch on the length first: each arm then compares at most a few short
        // byte strings, which compile to integer compares (this runs for every key).
        match (name.len(), name.as_bytes()) {
            (2, b"ts") => Field::Ts,
            (3, b"url") => Field::Url,
            (4, b"time") => Field::Ts,
            (4, b"host") => Field::Host,
            (4, b"path") => Field::Path,
            (4, b"code") => Field::Code,
            (5, b"error") => Field::Error,
            (6, b"method") => Field::Method,
            (6, b"status") => Field::Status,
            (6, b"errors") => Field::Errors,
            (7, b"attempt") => Field::Attempt,
            (7, b"message") => Field::Message,
            (7, b"success") => Field::Success,
            (9, b"timestamp") => Field::Ts,
            (9, b"client_id") => Field::ClientId,
            (10, b"@timestamp") => Field::Ts,
            (10, b"latency_ms" | b"elapsed_ms") => Field::Latency,
            (11, b"http_status") => Field::HttpStatus,
            (11, b"duration_ms") => Field::Latency,
            (11, b"retry_after") => Field::RetryAfter,
            (11, b"status_code") => Field::StatusCode,
            (14, b"status_message") => Field::StatusMessage,
            _ => Field::Other,
        }
    }
}

impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(Field::from_name(v))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Field values as found, before status resolution and provider detection.
#[derive(Default)]
pub(crate) struct Raw<'a> {
    ts: Option<Scalar<'a>>,
    method: Option<Cow<'a, str>>,
    url: Option<Cow<'a, str>>,
    host: Option<Cow<'a, str>>,
    path: Option<Cow<'a, str>>,
    status: Option<i64>,
    http_status: Option<i64>,
    latency_ms: Option<f64>,
    client_id: Option<Cow<'a, str>>,
    attempt: Option<u32>,
    retry_after_s: Option<f64>,
    error: Option<Cow<'a, str>>,
    code: Option<i64>,
    message: Option<Cow<'a, str>>,
    tmdb_code: Option<i64>,
    status_message: Option<Cow<'a, str>>,
    success: Option<bool>,
    errors: Option<usize>,
}

fn http_status(v: Option<i64>) -> Option<u16> {
    v.filter(|s| (100..=599).contains(s)).map(|s| s as u16)
}

impl<'a> Raw<'a> {
    /// Stores one field's value (the same mapping for the serde path and the fast path).
    pub(crate) fn set(&mut self, field: Field, v: Scalar<'a>) {
        match field {
            Field::Ts => self.ts = Some(v),
            Field::Method => self.method = v.into_str(),
            Field::Url => self.url = v.into_str(),
            Field::Host => self.host = v.into_str(),
            Field::Path => self.path = v.into_str(),
            Field::Status => self.status = v.as_i64(),
            Field::HttpStatus => self.http_status = v.as_i64(),
            Field::Latency => self.latency_ms = v.as_f64().filter(|l| *l >= 0.0),
            Field::ClientId => self.client_id = v.into_str(),
            Field::Attempt => self.attempt = v.as_i64().and_then(|a| u32::try_from(a).ok()),
            Field::RetryAfter => self.retry_after_s = v.as_f64().filter(|r| *r >= 0.0),
            Field::Error => self.error = v.into_str(),
            Field::Code => self.code = v.as_i64(),
            Field::Message => self.message = v.into_str(),
            Field::StatusCode => self.tmdb_code = v.as_i64(),
            Field::StatusMessage => self.status_message = v.into_str(),
            Field::Success => self.success = v.as_bool(),
            Field::Errors => {
                self.errors = match v {
                    Scalar::Seq(n) => Some(n),
                    _ => None,
                }
            }
            Field::Other => {}
        }
    }

    #[inline]
    pub(crate) fn into_record(self) -> Result<Record<'a>, ParseError> {
        let (status, status_source) =
            match http_status(self.status).or_else(|| http_status(self.http_status)) {
                Some(s) => (s, StatusSource::Status),
                None => match http_status(self.code) {
                    Some(s) => (s, StatusSource::EnvelopeCode),
                    None => return Err(ParseError::NoStatus),
                },
            };
        let ts_ms = self.ts.as_ref().and_then(|ts| match ts {
            Scalar::Str(s) => timestamp::parse_rfc3339(s)
                .or_else(|| s.trim().parse::<f64>().ok().and_then(timestamp::from_epoch)),
            other => other.as_f64().and_then(timestamp::from_epoch),
        });
        let mut rec = Record {
            provider: Provider::Unknown,
            status,
            status_source,
            ts_ms,
            method: self.method,
            url: self.url,
            host: self.host,
            path: self.path,
            latency_ms: self.latency_ms,
            client_id: self.client_id,
            attempt: self.attempt,
            retry_after_s: self.retry_after_s,
            error: self.error,
            code: self.code,
            message: self.message,
            tmdb_code: self.tmdb_code,
            status_message: self.status_message,
            success: self.success,
            errors: self.errors,
            url_parts: UrlParts::default(),
        };
        if let Some(u) = rec.url.as_deref() {
            rec.url_parts = UrlParts::of(u);
        }
        rec.provider = rec
            .host()
            .and_then(Provider::from_host)
            .unwrap_or_else(|| envelope_provider(&rec));
        Ok(rec)
    }
}

/// The provider an envelope's shape implies: TMDB's `status_code` (or its other
/// envelope fields) or Simkl's `error`/`code`.
fn envelope_provider(r: &Record<'_>) -> Provider {
    if r.tmdb_code.is_some() {
        Provider::Tmdb
    } else if r.error.is_some() || r.code.is_some() {
        Provider::Simkl
    } else if r.status_message.is_some() || r.success.is_some() || r.errors.is_some() {
        Provider::Tmdb
    } else {
        Provider::Unknown
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        while let Some(field) = map.next_key::<Field>()? {
            if let Field::Other = field {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let v: Scalar<'de> = map.next_value()?;
            raw.set(field, v);
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn root_path() {
        let r = p(r#"{"url":"https://api.simkl.com","status":200}"#);
        assert_eq!((r.host(), r.path()), (Some("api.simkl.com"), Some("/")));
    }

    #[test]
    fn host_matching() {
        assert_eq!(
            Provider::from_host("API.SIMKL.COM:443"),
            Some(Provider::Simkl)
        );
        assert_eq!(Provider::from_host("api.simkl.org"), Some(Provider::Simkl));
        assert_eq!(
            Provider::from_host("api.themoviedb.org."),
            Some(Provider::Tmdb)
        );
        assert_eq!(Provider::from_host("simkl.com"), None);
        assert_eq!(Provider::from_host("evil-api.simkl.com.example"), None);
    }

    #[test]
    fn path_drops_query() {
        let r = p(r#"{"url":"https://api.themoviedb.org/3/movie/550?api_key=x","status":200}"#);
        assert_eq!(r.path(), Some("/3/movie/550"));
        assert_eq!(r.provider, Provider::Tmdb);
    }

    #[test]
    fn first_usable_status_wins_then_code() {
        assert_eq!(p(r#"{"status":"oops","http_status":404}"#).status, 404);
        let r = p(r#"{"status":0,"code":412,"error":"client_id_failed"}"#);
        assert_eq!(
            (r.status, r.status_source),
            (412, StatusSource::EnvelopeCode)
        );
        assert_eq!(parse_line(br#"{"status":1000}"#), Err(ParseError::NoStatus));
    }
}
