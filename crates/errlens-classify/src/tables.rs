//! The classification tables, as data that reads like the providers' pages.
//!
//! Product rules these tables encode (see the README's "Classification rules"):
//! - Simkl: success is any 2xx/3xx; retryable exactly {429, 500, 502, 503}; everything
//!   else in Simkl's table is deterministic. Known `error` ids refine the message and
//!   remedy of their status; one changes retryability: `user_limit_exceeded` (429) is a
//!   daily quota, never retryable before its reset. Statuses outside Simkl's table are
//!   judged by [`HTTP`] (504 and Cloudflare's 520–524 retryable).
//! - TMDB: success exactly codes {1, 12, 13, 40}; retryable exactly codes
//!   {9, 11, 15, 24, 25, 43, 46}. A response without `status_code` is judged by its
//!   HTTP status with [`HTTP`].
//! - Unknown provider (and unknown Simkl statuses, unknown TMDB codes): [`HTTP`].

use serde::Serialize;

/// What kind of outcome a response is. A closed set: it is used as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
}

/// How a client should react to a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

/// A row of Simkl's status table.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SimklStatusRow {
    /// HTTP status.
    pub status: u16,
    /// Simkl's name for it.
    pub name: &'static str,
    /// Outcome class.
    pub class: Class,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// What to tell an end user.
    pub user_message: &'static str,
    /// What the developer should do.
    pub remedy: &'static str,
}

/// A known Simkl `error` id under a given status.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SimklErrorRow {
    /// HTTP status the id is returned with.
    pub status: u16,
    /// The machine-readable `error` id.
    pub error: &'static str,
    /// Outcome class (may refine the status's class).
    pub class: Class,
    /// When Simkl returns it.
    pub when: &'static str,
    /// What the developer should do.
    pub remedy: &'static str,
    /// Whether the id is in Simkl's own docs (`true`) or only seen in client code.
    pub documented: bool,
    /// A retry policy of its own, where the id changes what its status means for a
    /// retry (a daily quota is not a rate limit to back off from).
    pub retry: Option<RetryPolicy>,
    /// What to tell an end user, where the status's message does not fit.
    pub user_message: Option<&'static str>,
}

/// A row of TMDB's status-code table.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TmdbRow {
    /// TMDB's own code (`status_code`), 1–47.
    pub code: u8,
    /// The HTTP status TMDB sends it with.
    pub http: u16,
    /// TMDB's message.
    pub message: &'static str,
    /// Outcome class.
    pub class: Class,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// What to tell an end user.
    pub user_message: &'static str,
    /// What the developer should do.
    pub remedy: &'static str,
}

impl TmdbRow {
    /// Whether the code reports a success (1, 12, 13, 40).
    pub fn success(&self) -> bool {
        self.retry == RetryPolicy::None
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
pub struct RowInfo {
    /// Short name of the row.
    pub name: &'static str,
    /// What to tell an end user.
    pub user_message: &'static str,
    /// What the developer should do.
    pub remedy: &'static str,
}

use Class::*;
use RetryPolicy::{Backoff, Exponential, Never, None as NoRetry};

const fn simkl(
    status: u16,
    name: &'static str,
    class: Class,
    retry: RetryPolicy,
    user_message: &'static str,
    remedy: &'static str,
) -> SimklStatusRow {
    SimklStatusRow {
        status,
        name,
        class,
        retry,
        user_message,
        remedy,
    }
}

const SIMKL_5XX_USER: &str = "Simkl is having a moment. We'll retry automatically.";

/// Simkl's "At a glance" table, in the page's order.
pub static SIMKL_STATUS: [SimklStatusRow; 14] = [
    simkl(200, "OK", Success, NoRetry, "", "Success. The body contains the resource you requested."),
    simkl(201, "Created", Success, NoRetry, "", "Success. A new resource was created (typical for POST /sync/... and POST /scrobble/...)."),
    simkl(204, "No Content", Success, NoRetry, "", "Success with an empty body (typical for DELETE endpoints)."),
    simkl(302, "Found", Redirect, NoRetry, "", "A redirect: follow the Location header (the redirect endpoint)."),
    simkl(400, "Bad Request", BadRequest, Never, "Something went wrong with that request.", "The request was malformed; the message names the offending parameter. Correct the request, then resend: don't retry it unchanged."),
    simkl(401, "Unauthorized", Unauthorized, Never, "Please sign in again to continue.", "Missing or invalid user access token. Tokens last 5 years, so this means the user removed the app or the token never matched: re-authenticate the user."),
    simkl(403, "Forbidden", Forbidden, Never, "This action isn't available for your account.", "The caller is not permitted (feature gated to Pro/VIP, redirect mismatch, or no consent). Fix the app or contact Simkl; don't retry."),
    simkl(404, "Not Found", NotFound, Never, "We couldn't find that title.", "The URL or resource doesn't exist. Check the endpoint and ids; don't retry."),
    simkl(409, "Conflict", Conflict, Never, "You've already marked this as watched.", "The resource state conflicts with the request (scrobble already finished within the hour, or a duplicate write). Treat a scrobble 409 as a soft success and show watched_at; don't retry the same call."),
    simkl(412, "client_id failed", ClientIdFailed, Never, "This app can't reach Simkl right now.", "The client_id is missing, wrong, suspended or over its request cap. Use the value from developer settings; check the app's status. Retrying cannot help."),
    simkl(429, "Too Many Requests", RateLimited, Backoff, "Slow down — try again in a moment.", "Rate limit hit (10 GET/s, 1 POST/s per client_id and token). Back off exponentially, respect Retry-After, cache responses, and never retry a POST right after a 429: repeated POSTs extend the block."),
    simkl(500, "Internal Server Error", ServerError, Exponential, SIMKL_5XX_USER, "Something broke on Simkl's side. Retry with exponential backoff (1, 2, 4, 8, 16 s); if it persists past ~30 s, report it."),
    simkl(502, "Bad Gateway", ServerError, Exponential, SIMKL_5XX_USER, "Simkl is being upgraded or briefly unreachable. Retry with exponential backoff; check Simkl's status page."),
    simkl(503, "Service Unavailable", Unavailable, Exponential, SIMKL_5XX_USER, "Servers are up but overloaded. Retry after the delay and respect any Retry-After header."),
];

const fn sid(
    status: u16,
    error: &'static str,
    class: Class,
    documented: bool,
    when: &'static str,
    remedy: &'static str,
) -> SimklErrorRow {
    SimklErrorRow {
        status,
        error,
        class,
        when,
        remedy,
        documented,
        retry: None,
        user_message: None,
    }
}

impl SimklErrorRow {
    /// The row with a retry policy and user message of its own.
    const fn own(mut self, retry: RetryPolicy, user_message: &'static str) -> SimklErrorRow {
        self.retry = Some(retry);
        self.user_message = Some(user_message);
        self
    }
}

/// Known Simkl `error` ids. Ids are case-sensitive (`RATE_LIMIT` under 400 is not
/// `rate_limit` under 429). Unknown ids are classified by status.
pub static SIMKL_ERRORS: [SimklErrorRow; 18] = [
    sid(400, "empty_field", BadRequest, true, "A required field is missing.", "Send the missing field named in the message, then resend."),
    sid(400, "wrong_parameter", BadRequest, true, "A field has an unaccepted value.", "Correct the value named in the message, then resend."),
    sid(400, "max_items", BadRequest, false, "Too many items in one request.", "Split the request into smaller batches."),
    sid(400, "RATE_LIMIT", Conflict, false, "Scrobble lock collision: one scrobble per user at a time (20 s lock); the queued request waited too long.", "Serialise scrobbles per user; don't fire overlapping scrobbles for the same user."),
    sid(401, "user_token_failed", Unauthorized, false, "The user's access token is missing, revoked or wrong.", "Re-authenticate the user (the token was revoked or never matched)."),
    sid(401, "secret_error", Unauthorized, false, "The app's client secret is wrong.", "Use the client secret from developer settings."),
    sid(401, "grant_error", Unauthorized, false, "The OAuth grant (code or PIN) is invalid or used.", "Restart the OAuth/PIN flow for a fresh grant."),
    sid(403, "redirect_failed", Forbidden, true, "The OAuth/PIN redirect doesn't match a URL registered for the app.", "Register the redirect URL in developer settings or send the registered one."),
    sid(403, "forbidden", Forbidden, true, "Generic refusal: feature gated to Pro/VIP, or an action the user hasn't consented to.", "Check the user's plan and consent; don't retry."),
    sid(403, "empty_field", BadRequest, false, "A required field is missing on the token endpoint.", "Send every field the token endpoint requires."),
    sid(404, "id_err", NotFound, false, "The id doesn't match any item.", "Check the id and its type before calling."),
    sid(404, "empty", NotFound, false, "Nothing found for the request.", "Treat as an empty result; don't retry."),
    sid(404, "url_failed", NotFound, false, "The URL doesn't exist.", "Check the endpoint path."),
    sid(409, "already_watched", Conflict, false, "The item is already marked watched.", "Treat as a soft success; don't retry."),
    sid(412, "client_id_failed", ClientIdFailed, true, "The client_id is missing, wrong, suspended or capped.", "Use the client_id from developer settings; check whether the app is suspended or over its cap."),
    sid(429, "rate_limit", RateLimited, false, "Per-client or per-token rate limit hit (10 GET/s, 1 POST/s).", "Back off exponentially, respect Retry-After; never retry a POST right after a 429."),
    // A daily quota, not a rate limit: no backoff helps before the reset.
    sid(429, "user_limit_exceeded", RateLimited, false, "The user's daily allowance is used up (Free 500 / Pro 1,000 / VIP 10,000 uncached requests, reset at midnight US Eastern).", "Stop calling for this user until the reset; cache responses. Retrying before the reset is wasted.")
        .own(Never, "You've used today's Simkl allowance; it resets at midnight US Eastern."),
    sid(500, "internal", ServerError, false, "Something broke on Simkl's side.", "Retry with exponential backoff; report it if it persists past ~30 s."),
];

const fn tmdb(
    code: u8,
    http: u16,
    message: &'static str,
    class: Class,
    retry: RetryPolicy,
    user_message: &'static str,
    remedy: &'static str,
) -> TmdbRow {
    TmdbRow {
        code,
        http,
        message,
        class,
        retry,
        user_message,
        remedy,
    }
}

const T_AUTH_USER: &str = "Please sign in to TMDB again.";
const T_LATER: &str = "TMDB is having trouble. We'll retry shortly.";
const T_FIX: &str = "Something went wrong with that request.";
const T_NOT_FOUND: &str = "We couldn't find that title.";

/// TMDB's status-code table, codes 1–47 (row `i` holds code `i + 1`).
pub static TMDB: [TmdbRow; 47] = [
    tmdb(1, 200, "Success.", Success, NoRetry, "", "Success."),
    tmdb(2, 501, "Invalid service: this service does not exist.", Unsupported, Never, T_FIX, "The endpoint doesn't exist: check the path and API version."),
    tmdb(3, 401, "Authentication failed: You do not have permissions to access the service.", Unauthorized, Never, T_AUTH_USER, "The credentials don't grant this service: check the API key or token scope."),
    tmdb(4, 405, "Invalid format: This service doesn't exist in that format.", Unsupported, Never, T_FIX, "Request a format the service supports (JSON)."),
    tmdb(5, 422, "Invalid parameters: Your request parameters are incorrect.", BadRequest, Never, T_FIX, "Fix the parameters; the `errors` array lists which."),
    tmdb(6, 404, "Invalid id: The pre-requisite id is invalid or not found.", NotFound, Never, T_NOT_FOUND, "The id doesn't exist: check it before calling; don't retry."),
    tmdb(7, 401, "Invalid API key: You must be granted a valid key.", Unauthorized, Never, "This app can't reach TMDB right now.", "The API key is invalid: use the key (or v4 read-access token) from TMDB's API settings."),
    tmdb(8, 403, "Duplicate entry: The data you tried to submit already exists.", Conflict, Never, "That's already saved.", "A conflict, not a permission problem: the data already exists. Treat as done; don't resubmit."),
    tmdb(9, 503, "Service offline: This service is temporarily offline, try again later.", Unavailable, Exponential, T_LATER, "Temporarily offline: retry with exponential backoff."),
    tmdb(10, 401, "Suspended API key: Access to your account has been suspended, contact TMDB.", Unauthorized, Never, "This app can't reach TMDB right now.", "The API key is suspended: contact TMDB. Retrying cannot help."),
    tmdb(11, 500, "Internal error: Something went wrong, contact TMDB.", ServerError, Exponential, T_LATER, "TMDB failed internally: retry with exponential backoff; report it if it persists."),
    tmdb(12, 201, "The item/record was updated successfully.", Success, NoRetry, "", "Success."),
    tmdb(13, 200, "The item/record was deleted successfully.", Success, NoRetry, "", "Success."),
    tmdb(14, 401, "Authentication failed.", Unauthorized, Never, T_AUTH_USER, "Authentication failed: restart the login or token flow."),
    tmdb(15, 500, "Failed.", ServerError, Exponential, T_LATER, "A transient failure: retry with exponential backoff."),
    tmdb(16, 401, "Device denied.", Unauthorized, Never, T_AUTH_USER, "The user denied this device: ask them to approve it."),
    tmdb(17, 401, "Session denied.", Unauthorized, Never, T_AUTH_USER, "The session was denied: create a new session."),
    tmdb(18, 400, "Validation failed.", BadRequest, Never, T_FIX, "The request body failed validation: fix it before resending."),
    tmdb(19, 406, "Invalid accept header.", Unsupported, Never, T_FIX, "Send `Accept: application/json`."),
    tmdb(20, 422, "Invalid date range: Should be a range no longer than 14 days.", BadRequest, Never, T_FIX, "Query at most 14 days at a time."),
    tmdb(21, 200, "Entry not found: The item you are trying to edit cannot be found.", NotFound, Never, T_NOT_FOUND, "A failure hidden under HTTP 200: the item to edit doesn't exist. Check `status_code`, not just the HTTP status."),
    tmdb(22, 400, "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer.", BadRequest, Never, T_FIX, "Request pages 1 to 500 only."),
    tmdb(23, 400, "Invalid date: Format needs to be YYYY-MM-DD.", BadRequest, Never, T_FIX, "Format dates as YYYY-MM-DD."),
    tmdb(24, 504, "Your request to the backend server timed out. Try again.", Timeout, Exponential, T_LATER, "The backend timed out: retry with exponential backoff."),
    tmdb(25, 429, "Your request count (#) is over the allowed limit of (40).", RateLimited, Backoff, "Slow down — try again in a moment.", "Rate limited (about 40-50 requests/s): back off, respect Retry-After when sent, and cap retries."),
    tmdb(26, 400, "You must provide a username and password.", BadRequest, Never, T_AUTH_USER, "Send both username and password."),
    tmdb(27, 400, "Too many append to response objects: The maximum number of remote calls is 20.", BadRequest, Never, T_FIX, "Use at most 20 append_to_response items."),
    tmdb(28, 400, "Invalid timezone: Please consult the documentation for a valid timezone.", BadRequest, Never, T_FIX, "Send a timezone from TMDB's list."),
    tmdb(29, 400, "You must confirm this action: Please provide a confirm=true parameter.", BadRequest, Never, T_FIX, "Add confirm=true."),
    tmdb(30, 401, "Invalid username and/or password: You did not provide a valid login.", Unauthorized, Never, T_AUTH_USER, "Wrong login: ask the user to re-enter it."),
    tmdb(31, 401, "Account disabled: Your account is no longer active. Contact TMDB if this is an error.", Unauthorized, Never, "This TMDB account is disabled.", "The account is disabled: the user must contact TMDB."),
    tmdb(32, 401, "Email not verified: Your email address has not been verified.", Unauthorized, Never, "Please verify your TMDB email address.", "The user must verify their email first."),
    tmdb(33, 401, "Invalid request token: The request token is either expired or invalid.", Unauthorized, Never, T_AUTH_USER, "Request a new request token."),
    tmdb(34, 404, "The resource you requested could not be found.", NotFound, Never, T_NOT_FOUND, "The resource doesn't exist: check the path and id; don't retry."),
    tmdb(35, 401, "Invalid token.", Unauthorized, Never, T_AUTH_USER, "The token is invalid: re-authenticate."),
    tmdb(36, 401, "This token hasn't been granted write permission by the user.", Forbidden, Never, "This action needs your permission on TMDB.", "Ask the user to grant write permission to the token."),
    tmdb(37, 404, "The requested session could not be found.", NotFound, Never, T_AUTH_USER, "The session is gone: create a new one."),
    tmdb(38, 401, "You don't have permission to edit this resource.", Forbidden, Never, "This action isn't available for your account.", "The user may not edit this resource."),
    tmdb(39, 401, "This resource is private.", Forbidden, Never, "This item is private.", "The resource is private to its owner."),
    tmdb(40, 200, "Nothing to update.", Success, NoRetry, "", "Success: nothing changed."),
    tmdb(41, 422, "This request token hasn't been approved by the user.", Unauthorized, Never, "Please approve this app on TMDB.", "Send the user to approve the request token first."),
    tmdb(42, 405, "This request method is not supported for this resource.", Unsupported, Never, T_FIX, "Use a method the resource supports."),
    tmdb(43, 502, "Couldn't connect to the backend server.", ServerError, Exponential, T_LATER, "The backend was unreachable: retry with exponential backoff."),
    tmdb(44, 500, "The ID is invalid.", BadRequest, Never, T_NOT_FOUND, "An HTTP 500 that is deterministic: the id is invalid and retrying never helps. Validate ids before calling."),
    tmdb(45, 403, "This user has been suspended.", Forbidden, Never, "This TMDB account is suspended.", "The user is suspended: nothing to retry."),
    tmdb(46, 503, "The API is undergoing maintenance. Try again later.", Unavailable, Exponential, T_LATER, "Maintenance: retry later with exponential backoff."),
    tmdb(47, 400, "The input is not valid.", BadRequest, Never, T_FIX, "Fix the input before resending."),
];

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

/// Row index + 1 of each HTTP status in [`SIMKL_STATUS`] (0: not in the table), built at
/// compile time so the lookup on the hot path is one load.
static SIMKL_STATUS_INDEX: [u8; 600] = {
    let mut idx = [0u8; 600];
    let mut i = 0;
    while i < SIMKL_STATUS.len() {
        idx[SIMKL_STATUS[i].status as usize] = (i + 1) as u8;
        i += 1;
    }
    idx
};

/// The Simkl status row for `status`.
pub fn simkl_status(status: u16) -> Option<(usize, &'static SimklStatusRow)> {
    let i = *SIMKL_STATUS_INDEX.get(usize::from(status))?;
    (i > 0).then(|| (usize::from(i) - 1, &SIMKL_STATUS[usize::from(i) - 1]))
}

/// The known Simkl error row for (`status`, `error`).
pub fn simkl_error(status: u16, error: &str) -> Option<(usize, &'static SimklErrorRow)> {
    SIMKL_ERRORS
        .iter()
        .enumerate()
        // Status first: it rules out most rows without touching the strings.
        .find(|(_, r)| r.status == status && r.error.len() == error.len() && r.error == error)
}

/// Index of a Simkl error id known under any status (for metric labels).
pub fn simkl_error_any(error: &str) -> Option<usize> {
    SIMKL_ERRORS
        .iter()
        .position(|r| r.error.len() == error.len() && r.error == error)
}

/// The TMDB row for `code` (1–47).
pub fn tmdb_code(code: i64) -> Option<&'static TmdbRow> {
    let i = usize::try_from(code).ok()?.checked_sub(1)?;
    TMDB.get(i)
}

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
    fn tmdb_rows_are_indexed_by_code() {
        for (i, r) in TMDB.iter().enumerate() {
            assert_eq!(usize::from(r.code), i + 1);
        }
        assert!(tmdb_code(0).is_none());
        assert!(tmdb_code(48).is_none());
        assert!(tmdb_code(-1).is_none());
    }

    #[test]
    fn retry_sets_match_product_rules() {
        let simkl: Vec<u16> = SIMKL_STATUS
            .iter()
            .filter(|r| r.retry.retryable())
            .map(|r| r.status)
            .collect();
        assert_eq!(simkl, [429, 500, 502, 503]);
        let tmdb: Vec<u8> = TMDB
            .iter()
            .filter(|r| r.retry.retryable())
            .map(|r| r.code)
            .collect();
        assert_eq!(tmdb, [9, 11, 15, 24, 25, 43, 46]);
        let ok: Vec<u8> = TMDB
            .iter()
            .filter(|r| r.success())
            .map(|r| r.code)
            .collect();
        assert_eq!(ok, [1, 12, 13, 40]);
    }

    #[test]
    fn simkl_error_ids_belong_to_table_statuses() {
        for r in &SIMKL_ERRORS {
            assert!(simkl_status(r.status).is_some(), "{}", r.error);
        }
    }

    #[test]
    fn class_names_roundtrip() {
        for c in Class::ALL {
            assert_eq!(Class::from_name(c.as_str()), Some(c));
        }
    }
}
