//! The closed vocabularies of a verdict — [`Class`] and [`RetryPolicy`] — and the
//! generic HTTP table that judges a status no provider table lists (and every record of
//! the unknown provider). The providers' own tables are data: see [`crate::registry`].
//!
//! The generic table's product rules: success exactly 2xx/3xx; retryable exactly
//! {429, 500, 502, 503, 504, 520–524} (Cloudflare's 520–524 sit in front of most APIs).

use serde::{Deserialize, Serialize};

/// What kind of outcome a response is. A closed set: it is used as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// The call did what was asked.
    Success,
    /// A redirect to follow (a success).
    Redirect,
    /// The request itself is wrong: missing or invalid parameters or ids.
    BadRequest,
    /// The user or app is not authenticated (bad, revoked or missing credentials).
    Unauthorized,
    /// Authenticated but not permitted.
    Forbidden,
    /// The URL or resource does not exist.
    NotFound,
    /// The request conflicts with existing state (duplicate, already done, locked).
    Conflict,
    /// Simkl 412: the app's client_id is missing, wrong, suspended or capped.
    ClientIdFailed,
    /// Rate limit hit.
    RateLimited,
    /// The service does not support this method, format or service.
    Unsupported,
    /// Another 4xx.
    ClientError,
    /// The provider failed internally (transient).
    ServerError,
    /// The provider is offline, overloaded or in maintenance (transient).
    Unavailable,
    /// The provider's backend timed out (transient).
    Timeout,
    /// An HTTP status outside every table (1xx, unusual codes).
    Unknown,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 15] = [
        Class::Success,
        Class::Redirect,
        Class::BadRequest,
        Class::Unauthorized,
        Class::Forbidden,
        Class::NotFound,
        Class::Conflict,
        Class::ClientIdFailed,
        Class::RateLimited,
        Class::Unsupported,
        Class::ClientError,
        Class::ServerError,
        Class::Unavailable,
        Class::Timeout,
        Class::Unknown,
    ];

    /// The snake_case name used in reports and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Success => "success",
            Class::Redirect => "redirect",
            Class::BadRequest => "bad_request",
            Class::Unauthorized => "unauthorized",
            Class::Forbidden => "forbidden",
            Class::NotFound => "not_found",
            Class::Conflict => "conflict",
            Class::ClientIdFailed => "client_id_failed",
            Class::RateLimited => "rate_limited",
            Class::Unsupported => "unsupported",
            Class::ClientError => "client_error",
            Class::ServerError => "server_error",
            Class::Unavailable => "unavailable",
            Class::Timeout => "timeout",
            Class::Unknown => "unknown",
        }
    }

    /// Parses a name as printed by [`Class::as_str`].
    pub fn from_name(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the class is an outcome that did what was asked (success, redirect).
    pub fn is_success(self) -> bool {
        matches!(self, Class::Success | Class::Redirect)
    }
}

/// How a client should react to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryPolicy {
    /// A success: nothing to retry.
    None,
    /// Deterministic: retrying the same request cannot succeed.
    Never,
    /// Rate limited: wait (respecting `Retry-After`), then retry with backoff.
    Backoff,
    /// Transient: retry with exponential backoff (1, 2, 4, 8, 16 s), then give up.
    Exponential,
}

impl RetryPolicy {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryPolicy::None => "none",
            RetryPolicy::Never => "never",
            RetryPolicy::Backoff => "backoff",
            RetryPolicy::Exponential => "exponential",
        }
    }

    /// Whether a retry can help.
    pub fn retryable(self) -> bool {
        matches!(self, RetryPolicy::Backoff | RetryPolicy::Exponential)
    }
}

/// A row of the generic HTTP table used when no provider table applies.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct HttpRow {
    /// Lowest status of the range.
    pub from: u16,
    /// Highest status of the range.
    pub to: u16,
    /// Outcome class.
    pub class: Class,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// What the developer should do.
    pub remedy: &'static str,
}

/// The descriptive part of whichever row decided a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowInfo<'a> {
    /// Short name of the row.
    pub name: &'a str,
    /// What to tell an end user.
    pub user_message: &'a str,
    /// What the developer should do.
    pub remedy: &'a str,
}

use Class::*;
use RetryPolicy::{Backoff, Exponential, Never, None as NoRetry};

const fn http(
    from: u16,
    to: u16,
    class: Class,
    retry: RetryPolicy,
    remedy: &'static str,
) -> HttpRow {
    HttpRow {
        from,
        to,
        class,
        retry,
        remedy,
    }
}

/// The generic HTTP table, first matching range wins. Retryable exactly
/// {429, 500, 502, 503, 504, 520–524} (520–524 are Cloudflare's, in front of both
/// providers); success exactly 2xx/3xx.
pub static HTTP: [HttpRow; 21] = [
    http(200, 299, Success, NoRetry, "Success."),
    http(
        300,
        399,
        Redirect,
        NoRetry,
        "A redirect: follow the Location header.",
    ),
    http(
        400,
        400,
        BadRequest,
        Never,
        "Fix the request before resending.",
    ),
    http(
        401,
        401,
        Unauthorized,
        Never,
        "Fix or renew the credentials.",
    ),
    http(
        403,
        403,
        Forbidden,
        Never,
        "The caller is not permitted; don't retry.",
    ),
    http(
        404,
        404,
        NotFound,
        Never,
        "The resource doesn't exist; don't retry.",
    ),
    http(
        405,
        406,
        Unsupported,
        Never,
        "Use a method or format the resource supports.",
    ),
    http(
        409,
        409,
        Conflict,
        Never,
        "The request conflicts with existing state; don't retry.",
    ),
    http(
        410,
        410,
        NotFound,
        Never,
        "The resource is gone; don't retry.",
    ),
    http(
        422,
        422,
        BadRequest,
        Never,
        "Fix the parameters before resending.",
    ),
    http(
        429,
        429,
        RateLimited,
        Backoff,
        "Rate limited: back off and respect Retry-After.",
    ),
    http(
        400,
        499,
        ClientError,
        Never,
        "A client error: fix the request; retrying unchanged cannot help.",
    ),
    http(
        500,
        500,
        ServerError,
        Exponential,
        "A server error: retry with exponential backoff.",
    ),
    http(
        501,
        501,
        Unsupported,
        Never,
        "Not implemented by the server; don't retry.",
    ),
    http(
        502,
        502,
        ServerError,
        Exponential,
        "Bad gateway: retry with exponential backoff.",
    ),
    http(
        503,
        503,
        Unavailable,
        Exponential,
        "Unavailable: retry after the delay, respecting Retry-After.",
    ),
    http(
        504,
        504,
        Timeout,
        Exponential,
        "Gateway timeout: retry with exponential backoff.",
    ),
    http(
        520,
        520,
        ServerError,
        Exponential,
        "Cloudflare 520: the origin returned an unexpected response; retry with exponential backoff.",
    ),
    http(
        521,
        521,
        Unavailable,
        Exponential,
        "Cloudflare 521: the origin server is down; retry with exponential backoff.",
    ),
    http(
        522,
        524,
        Timeout,
        Exponential,
        "Cloudflare 522-524: the origin timed out or is unreachable; retry with exponential backoff.",
    ),
    http(
        500,
        599,
        ServerError,
        Never,
        "An unusual server error: investigate before retrying.",
    ),
];

/// Row index + 1 of each HTTP status in [`HTTP`] (first matching range; 0: none),
/// built at compile time.
static HTTP_INDEX: [u8; 600] = {
    let mut idx = [0u8; 600];
    let mut status = 0;
    while status < 600 {
        let mut i = 0;
        while i < HTTP.len() {
            if HTTP[i].from as usize <= status && status <= HTTP[i].to as usize {
                idx[status] = (i + 1) as u8;
                break;
            }
            i += 1;
        }
        status += 1;
    }
    idx
};

/// The generic HTTP row for `status`.
pub fn http_status(status: u16) -> (usize, &'static HttpRow) {
    match HTTP_INDEX.get(usize::from(status)).copied().unwrap_or(0) {
        0 => (usize::MAX, &HTTP_UNKNOWN),
        i => (usize::from(i) - 1, &HTTP[usize::from(i) - 1]),
    }
}

/// Anything outside the generic table (1xx): not a success, nothing to retry.
pub static HTTP_UNKNOWN: HttpRow = http(
    0,
    0,
    Unknown,
    Never,
    "An HTTP status outside every table: check what the client logged.",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_retry_set_matches_product_rules() {
        let retryable: Vec<u16> = (100..600)
            .filter(|&s| http_status(s).1.retry.retryable())
            .collect();
        let mut want = vec![429, 500, 502, 503, 504];
        want.extend(520..=524);
        assert_eq!(retryable, want);
        for s in 100..600 {
            assert_eq!(
                http_status(s).1.class.is_success(),
                (200..400).contains(&s),
                "{s}"
            );
        }
    }

    #[test]
    fn class_names_roundtrip() {
        for c in Class::ALL {
            assert_eq!(Class::from_name(c.as_str()), Some(c));
        }
    }
}
