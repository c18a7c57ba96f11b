//! The provider definition format: one TOML file per API (its hosts, its envelope, its
//! status and error tables, its rate-limit facts), read and checked into a
//! [`Provider`]. The format is documented in `docs/providers.md`; the built-in
//! definitions are in this crate's `providers/` directory.

use crate::tables::{Class, RetryPolicy};
use errlens_parse::{EnvelopeSlot, ProviderId};
use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

/// Why a provider definition cannot be used: the file, the line and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {reason}")]
pub struct DefError {
    /// The definition's source (a path, or `builtin:NAME`).
    pub file: String,
    /// 1-based line of the offending value (0 when the file could not be read).
    pub line: usize,
    /// The field, as a TOML path (`[[error]] #3 retry`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Embedded in the binary.
    Builtin,
    /// Loaded with `--providers FILE`.
    File(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builtin => f.write_str("built-in"),
            Source::File(p) => f.write_str(p),
        }
    }
}

/// What a provider's `[[error]]` rows are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorsBy {
    /// No error rows.
    #[default]
    None,
    /// The `error` value is an id; rows match by (HTTP status, id), and an id known
    /// under another status only names the error.
    Id,
    /// The provider's own code (`own_code`); the row decides whatever the status.
    Code,
    /// The `error` value is a message, matched exactly; the row decides whatever the
    /// status.
    Message,
}

impl ErrorsBy {
    /// The name used in definitions.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorsBy::None => "none",
            ErrorsBy::Id => "id",
            ErrorsBy::Code => "code",
            ErrorsBy::Message => "message",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Spanned<String>,
    title: String,
    #[serde(default)]
    docs: Vec<String>,
    hosts: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    secret_segments: Vec<Spanned<String>>,
    envelope: Option<Spanned<EnvelopeFile>>,
    #[serde(default)]
    rate_limit: RateLimit,
    #[serde(default)]
    status: Vec<Spanned<StatusFile>>,
    #[serde(default)]
    error: Vec<Spanned<ErrorFile>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EnvelopeFile {
    error: Option<String>,
    code: Option<String>,
    message: Option<String>,
    own_code: Option<String>,
    status_message: Option<String>,
    success: Option<String>,
    errors: Option<String>,
    #[serde(default)]
    errors_by: ErrorsBy,
    #[serde(default)]
    false_is_failure: bool,
    #[serde(default)]
    recognize: BTreeMap<String, u8>,
}

/// Rate-limit facts the audit uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// POSTing again right after a 429 extends the block (Simkl).
    #[serde(default)]
    pub post_after_429_extends_block: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusFile {
    status: u16,
    name: String,
    class: Class,
    retry: RetryPolicy,
    #[serde(default)]
    user_message: String,
    remedy: String,
    min_wait_s: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorFile {
    id: Option<String>,
    code: Option<i64>,
    message: Option<String>,
    status: Option<u16>,
    name: Option<String>,
    class: Option<Class>,
    retry: Option<RetryPolicy>,
    user_message: Option<String>,
    remedy: String,
    #[serde(default)]
    when: String,
    #[serde(default = "yes")]
    documented: bool,
    min_wait_s: Option<f64>,
}

fn yes() -> bool {
    true
}

/// The envelope keys of a provider, by slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// `(slot, key)` for every key the definition names.
    pub keys: Vec<(EnvelopeSlot, String)>,
    /// Keys that name the provider without a host, with their priority.
    pub recognize: Vec<(String, u8)>,
    /// What error rows are matched against.
    pub errors_by: ErrorsBy,
    /// A false success flag with no matching row is a failure.
    pub false_is_failure: bool,
    /// The body echoes the HTTP status (a `code` key): a different one is a mismatch.
    pub echoes_status: bool,
}

impl Envelope {
    /// The key of `slot`, if the definition names one.
    pub fn key(&self, slot: EnvelopeSlot) -> Option<&str> {
        self.keys
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, k)| k.as_str())
    }
}

/// A row of a provider's status table.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    /// HTTP status.
    pub status: u16,
    /// The provider's name for it.
    pub name: String,
    /// Outcome class.
    pub class: Class,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// What to tell an end user.
    pub user_message: String,
    /// What the developer should do.
    pub remedy: String,
    /// The least wait before a retry, in milliseconds, when the provider documents one.
    pub min_wait_ms: Option<u32>,
}

/// What an error row matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKey {
    /// An error id.
    Id(String),
    /// The provider's own code.
    Code(i64),
    /// An exact message.
    Message(String),
}

/// A row of a provider's error table.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    /// What the row matches.
    pub key: ErrorKey,
    /// The label in reports and metrics: the id, the code's digits or the message
    /// row's id.
    pub label: String,
    /// A short name (the provider's message for a code).
    pub name: String,
    /// The HTTP status it comes with: part of the match for ids, the expected status
    /// for codes and messages.
    pub status: Option<u16>,
    /// Outcome class.
    pub class: Class,
    /// Retry policy (an id row without one has its status row's).
    pub retry: RetryPolicy,
    /// What to tell an end user (an id row without one has its status row's).
    pub user_message: String,
    /// What the developer should do.
    pub remedy: String,
    /// When the provider returns it.
    pub when: String,
    /// Whether the provider documents it (`false`: only seen in client code).
    pub documented: bool,
    /// The least wait before a retry, in milliseconds.
    pub min_wait_ms: Option<u32>,
}

impl ErrorRow {
    /// Whether the row reports a failure.
    pub fn failure(&self) -> bool {
        !self.class.is_success()
    }
}

/// One loaded provider definition.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its index in the registry.
    pub id: ProviderId,
    /// The label (`simkl`).
    pub name: String,
    /// The display name (`Simkl`).
    pub title: String,
    /// The pages the tables were written from.
    pub docs: Vec<String>,
    /// Host names and `*.` patterns.
    pub hosts: Vec<String>,
    /// Endpoint templates whose `:name` segments are credentials.
    pub secret_segments: Vec<String>,
    /// The envelope.
    pub envelope: Envelope,
    /// Rate-limit facts.
    pub rate_limit: RateLimit,
    /// The status table, in the definition's order.
    pub statuses: Vec<StatusRow>,
    /// The error table, in the definition's order.
    pub errors: Vec<ErrorRow>,
    /// Where it came from.
    pub source: Source,
    /// The first 16 hex digits of the SHA-256 of the definition's text.
    pub hash: String,
    /// Row index + 1 of each HTTP status (0: not in the table).
    status_index: Box<[u16; 600]>,
    /// Rows by id or message, in order.
    by_text: HashMap<String, Vec<u16>>,
    /// The same, as a list for small tables: a scan comparing lengths first beats
    /// hashing the id on the hot path.
    text_list: Vec<(Box<str>, Vec<u16>)>,
    /// Row + 1 by own code, for codes 0..1024 (0: none); larger codes use `by_code`.
    code_index: Vec<u16>,
    /// Rows by own code.
    by_code: HashMap<i64, u16>,
}

impl Provider {
    /// The status row for `status`, with its index.
    #[inline]
    pub fn status_row(&self, status: u16) -> Option<(usize, &StatusRow)> {
        let i = usize::from(*self.status_index.get(usize::from(status))?);
        (i > 0).then(|| (i - 1, &self.statuses[i - 1]))
    }

    /// The indices of the error rows matching an id or a message, in order.
    #[inline]
    pub fn rows_by_text(&self, text: &str) -> &[u16] {
        if self.text_list.len() <= SCAN_ROWS {
            return self
                .text_list
                .iter()
                .find(|(k, _)| k.len() == text.len() && **k == *text)
                .map_or(&[], |(_, v)| v.as_slice());
        }
        self.by_text.get(text).map_or(&[], Vec::as_slice)
    }

    /// The error row for an own code, with its index.
    #[inline]
    pub fn row_by_code(&self, code: i64) -> Option<(usize, &ErrorRow)> {
        if let Some(&i) = usize::try_from(code)
            .ok()
            .and_then(|c| self.code_index.get(c))
        {
            let i = usize::from(i.checked_sub(1)?);
            return Some((i, &self.errors[i]));
        }
        let i = usize::from(*self.by_code.get(&code)?);
        Some((i, &self.errors[i]))
    }

    /// Whether HTTP statuses outside the status table are judged by the generic table
    /// (`false` for a provider whose table is its own codes alone).
    pub fn has_status_table(&self) -> bool {
        !self.statuses.is_empty()
    }

    /// Parses and checks one definition; `origin` names it in errors.
    pub fn parse(text: &str, source: Source, id: ProviderId) -> Result<Provider, DefError> {
        let origin = match &source {
            Source::Builtin => "builtin".to_owned(),
            Source::File(p) => p.clone(),
        };
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let err = |offset: usize, field: &str, reason: String| DefError {
            file: origin.clone(),
            line: line_of(offset),
            field: field.to_owned(),
            reason,
        };
        let file: File = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            // toml names the problem in its message's last line, after the snippet.
            let reason = e.message().trim().to_owned();
            let field = e
                .span()
                .map(|s| field_at(text, s.start))
                .unwrap_or_default();
            err(offset, &field, reason)
        })?;

        let name_at = file.name.span().start;
        let name = file.name.into_inner();
        let name_ok = (1..=32).contains(&name.len())
            && name.as_bytes()[0].is_ascii_lowercase()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok || name == "unknown" {
            return Err(err(
                name_at,
                "name",
                format!("{name:?} is not a provider name: [a-z][a-z0-9_]{{0,31}}, not `unknown`"),
            ));
        }
        let hosts_at = file.hosts.span().start;
        let hosts: Vec<Spanned<String>> = file.hosts.into_inner();
        if hosts.is_empty() {
            return Err(err(hosts_at, "hosts", "at least one host is needed".into()));
        }
        let mut probe = errlens_parse::ProviderMap::new();
        for h in &hosts {
            probe
                .add_host(h.get_ref(), id)
                .map_err(|e| err(h.span().start, "hosts", e.to_string()))?;
        }
        let mut secret_segments = Vec::new();
        for s in &file.secret_segments {
            let t = s.get_ref();
            let segs: Vec<&str> = t.split('/').skip(1).collect();
            let ok = t.starts_with('/')
                && segs.iter().skip(1).any(|seg| seg.starts_with(':'))
                && segs.iter().all(|seg| !seg.is_empty());
            if !ok {
                return Err(err(
                    s.span().start,
                    "secret_segments",
                    format!("{t:?} is not an endpoint template with a `:name` segment after a literal one (`/oauth/pin/:code`)"),
                ));
            }
            if let Some(k) = segs
                .iter()
                .rposition(|seg| seg.starts_with(':'))
                .filter(|&k| k > MAX_SECRET_DEPTH)
            {
                return Err(err(
                    s.span().start,
                    "secret_segments",
                    format!("{t:?}: a credential segment at depth {} (at most {MAX_SECRET_DEPTH} segments before it)", k + 1),
                ));
            }
            secret_segments.push(t.clone());
        }

        // The envelope.
        let (env_at, env) = match file.envelope {
            Some(e) => (e.span().start, e.into_inner()),
            None => (0, EnvelopeFile::default()),
        };
        let mut keys = Vec::new();
        for (slot, key) in [
            (EnvelopeSlot::Error, &env.error),
            (EnvelopeSlot::Code, &env.code),
            (EnvelopeSlot::Message, &env.message),
            (EnvelopeSlot::OwnCode, &env.own_code),
            (EnvelopeSlot::StatusMessage, &env.status_message),
            (EnvelopeSlot::Success, &env.success),
            (EnvelopeSlot::Errors, &env.errors),
        ] {
            if let Some(k) = key {
                let field = format!("envelope.{}", slot.name());
                if k.is_empty() {
                    return Err(err(env_at, &field, "an empty key".into()));
                }
                probe
                    .add_key(k, slot)
                    .map_err(|e| err(env_at, &field, e.to_string()))?;
                keys.push((slot, k.clone()));
            }
        }
        let envelope = Envelope {
            recognize: env.recognize.into_iter().collect(),
            errors_by: env.errors_by,
            false_is_failure: env.false_is_failure,
            echoes_status: keys.iter().any(|(s, _)| *s == EnvelopeSlot::Code),
            keys,
        };
        for (k, _) in &envelope.recognize {
            if !envelope.keys.iter().any(|(_, key)| key == k) {
                return Err(err(
                    env_at,
                    "envelope.recognize",
                    format!("{k:?} is not one of this envelope's keys"),
                ));
            }
        }
        let needs = |slot: EnvelopeSlot| envelope.key(slot).is_some();
        match envelope.errors_by {
            ErrorsBy::Id | ErrorsBy::Message if !needs(EnvelopeSlot::Error) => {
                return Err(err(
                    env_at,
                    "envelope.errors_by",
                    format!(
                        "errors matched by {} need the envelope's `error` key",
                        envelope.errors_by.as_str()
                    ),
                ))
            }
            ErrorsBy::Code if !needs(EnvelopeSlot::OwnCode) => {
                return Err(err(
                    env_at,
                    "envelope.errors_by",
                    "errors matched by code need the envelope's `own_code` key".into(),
                ))
            }
            _ => {}
        }
        if envelope.false_is_failure && !needs(EnvelopeSlot::Success) {
            return Err(err(
                env_at,
                "envelope.false_is_failure",
                "needs the envelope's `success` key".into(),
            ));
        }

        // The status table.
        let mut status_index = Box::new([0u16; 600]);
        let mut statuses = Vec::new();
        for (n, row) in file.status.into_iter().enumerate() {
            let at = row.span().start;
            let r = row.into_inner();
            let field = |f: &str| format!("[[status]] #{} {f}", n + 1);
            if !(100..=599).contains(&r.status) {
                return Err(err(
                    at,
                    &field("status"),
                    format!("{} is not an HTTP status (100-599)", r.status),
                ));
            }
            if status_index[usize::from(r.status)] != 0 {
                return Err(err(
                    at,
                    &field("status"),
                    format!("{} is listed twice", r.status),
                ));
            }
            check_retry(r.class, r.retry).map_err(|m| err(at, &field("retry"), m))?;
            let min_wait_ms =
                min_wait(r.min_wait_s).map_err(|m| err(at, &field("min_wait_s"), m))?;
            statuses.push(StatusRow {
                status: r.status,
                name: r.name,
                class: r.class,
                retry: r.retry,
                user_message: r.user_message,
                remedy: r.remedy,
                min_wait_ms,
            });
            status_index[usize::from(r.status)] = u16::try_from(statuses.len()).unwrap_or(u16::MAX);
        }

        // The error table.
        let mut errors = Vec::new();
        let mut by_text: HashMap<String, Vec<u16>> = HashMap::default();
        let mut by_code = HashMap::default();
        let mut seen_labels: HashMap<String, usize> = HashMap::default();
        if envelope.errors_by == ErrorsBy::None && !file.error.is_empty() {
            return Err(err(
                file.error[0].span().start,
                "[[error]] #1",
                "error rows need `envelope.errors_by` (id, code or message)".into(),
            ));
        }
        for (n, row) in file.error.into_iter().enumerate() {
            let at = row.span().start;
            let r = row.into_inner();
            let field = |f: &str| format!("[[error]] #{} {f}", n + 1);
            let index = u16::try_from(errors.len())
                .map_err(|_| err(at, &field(""), "too many error rows".into()))?;
            if let Some(s) = r.status {
                if !(100..=599).contains(&s) {
                    return Err(err(
                        at,
                        &field("status"),
                        format!("{s} is not an HTTP status (100-599)"),
                    ));
                }
            }
            let status_row = r.status.and_then(|s| {
                let i = usize::from(status_index[usize::from(s)]);
                (i > 0).then(|| &statuses[i - 1])
            });
            let (key, label) = match envelope.errors_by {
                ErrorsBy::Id => {
                    let id = r.id.clone().ok_or_else(|| {
                        err(at, &field("id"), "rows matched by id need an `id`".into())
                    })?;
                    if r.status.is_none() {
                        return Err(err(
                            at,
                            &field("status"),
                            "rows matched by id need the `status` they come with".into(),
                        ));
                    }
                    (ErrorKey::Id(id.clone()), id)
                }
                ErrorsBy::Message => {
                    let m = r.message.clone().ok_or_else(|| {
                        err(
                            at,
                            &field("message"),
                            "rows matched by message need a `message`".into(),
                        )
                    })?;
                    let id = r.id.clone().ok_or_else(|| {
                        err(
                            at,
                            &field("id"),
                            "rows matched by message need an `id` label".into(),
                        )
                    })?;
                    (ErrorKey::Message(m), id)
                }
                ErrorsBy::Code => {
                    let c = r.code.ok_or_else(|| {
                        err(
                            at,
                            &field("code"),
                            "rows matched by code need a `code`".into(),
                        )
                    })?;
                    (ErrorKey::Code(c), c.to_string())
                }
                ErrorsBy::None => unreachable!("checked above"),
            };
            if !label_ok(&label) {
                return Err(err(
                    at,
                    &field("id"),
                    format!("{label:?} is not a label: [A-Za-z0-9_.-]{{1,64}}"),
                ));
            }
            // An id row may take its class and retry from its status row; code and
            // message rows decide alone, so they name both.
            let by = envelope.errors_by;
            let inherit = |name: &str| match (by, status_row) {
                (ErrorsBy::Id, Some(s)) => Ok(s),
                (ErrorsBy::Id, None) => Err(err(
                    at,
                    &field(name),
                    format!(
                        "the row's status is not in the status table, so it needs its own `{name}`"
                    ),
                )),
                _ => Err(err(
                    at,
                    &field(name),
                    format!("rows matched by {} need a `{name}`", by.as_str()),
                )),
            };
            let class = match r.class {
                Some(c) => c,
                None => inherit("class")?.class,
            };
            let retry = match r.retry {
                Some(x) => x,
                None => inherit("retry")?.retry,
            };
            check_retry(class, retry).map_err(|m| err(at, &field("retry"), m))?;
            let min_wait_ms =
                match min_wait(r.min_wait_s).map_err(|m| err(at, &field("min_wait_s"), m))? {
                    Some(w) => Some(w),
                    None if r.retry.is_none() => status_row.and_then(|s| s.min_wait_ms),
                    None => None,
                };
            let user_message = r
                .user_message
                .or_else(|| status_row.map(|s| s.user_message.clone()))
                .unwrap_or_default();
            match &key {
                ErrorKey::Id(t) | ErrorKey::Message(t) => {
                    let rows = by_text.entry(t.clone()).or_default();
                    if rows.iter().any(|&i| errors_status(&errors, i) == r.status) {
                        return Err(err(
                            at,
                            &field("id"),
                            format!("{t:?} is listed twice under the same status"),
                        ));
                    }
                    rows.push(index);
                }
                ErrorKey::Code(c) => {
                    if by_code.insert(*c, index).is_some() {
                        return Err(err(at, &field("code"), format!("code {c} is listed twice")));
                    }
                }
            }
            if let ErrorKey::Message(_) = key {
                if let Some(prev) = seen_labels.insert(label.clone(), n) {
                    return Err(err(
                        at,
                        &field("id"),
                        format!("label {label:?} is also row #{}", prev + 1),
                    ));
                }
            }
            let name = r.name.unwrap_or_else(|| match &key {
                ErrorKey::Id(t) | ErrorKey::Message(t) => t.clone(),
                ErrorKey::Code(c) => c.to_string(),
            });
            errors.push(ErrorRow {
                key,
                label,
                name,
                status: r.status,
                class,
                retry,
                user_message,
                remedy: r.remedy,
                when: r.when,
                documented: r.documented,
                min_wait_ms,
            });
        }

        let hash = Sha256::digest(text.as_bytes());
        let hash = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Provider {
            id,
            name,
            title: file.title,
            docs: file.docs,
            hosts: hosts.into_iter().map(Spanned::into_inner).collect(),
            secret_segments,
            envelope,
            rate_limit: file.rate_limit,
            statuses,
            errors,
            source,
            hash,
            status_index,
            text_list: {
                let mut l: Vec<(Box<str>, Vec<u16>)> = by_text
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), v.clone()))
                    .collect();
                l.sort_by_key(|(_, v)| v[0]);
                l
            },
            code_index: {
                let mut idx = vec![0u16; CODE_INDEX];
                for (&c, &i) in &by_code {
                    if let Some(slot) = usize::try_from(c).ok().and_then(|c| idx.get_mut(c)) {
                        *slot = i + 1;
                    }
                }
                idx
            },
            by_text,
            by_code,
        })
    }
}

/// Tables with at most this many ids or messages are scanned, not hashed.
const SCAN_ROWS: usize = 32;

/// Own codes below this are found by index.
const CODE_INDEX: usize = 1024;

/// The most segments a secret segment template may have before a credential segment.
pub const MAX_SECRET_DEPTH: usize = 4;

fn errors_status(errors: &[ErrorRow], i: u16) -> Option<u16> {
    errors.get(usize::from(i)).and_then(|r| r.status)
}

/// Whether a label is fit for reports and metric labels.
fn label_ok(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A success has nothing to retry, and a failure has a policy other than `none`.
fn check_retry(class: Class, retry: RetryPolicy) -> Result<(), String> {
    match (class.is_success(), retry) {
        (true, RetryPolicy::None)
        | (false, RetryPolicy::Never | RetryPolicy::Backoff | RetryPolicy::Exponential) => Ok(()),
        (true, r) => Err(format!(
            "a {} row has nothing to retry: `none`, not `{}`",
            class.as_str(),
            r.as_str()
        )),
        (false, _) => Err(format!(
            "a failure ({}) needs `never`, `backoff` or `exponential`",
            class.as_str()
        )),
    }
}

fn min_wait(s: Option<f64>) -> Result<Option<u32>, String> {
    match s {
        None => Ok(None),
        Some(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => {
            Ok(Some((s * 1000.0).round() as u32))
        }
        Some(s) => Err(format!("{s} is not a wait in seconds (0 to 86400)")),
    }
}

/// The key whose value starts at `offset` (`class`, say), for parse errors.
fn field_at(text: &str, offset: usize) -> String {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = &text[start..];
    let line = line.split('\n').next().unwrap_or("");
    match line.split_once('=') {
        Some((k, _)) => k.trim().to_owned(),
        None => line.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Provider, DefError> {
        Provider::parse(text, Source::File("p.toml".into()), ProviderId::new(1))
    }

    const MINIMAL: &str = r#"
name = "acme"
title = "Acme"
hosts = ["api.acme.test", "*.acme.example"]

[envelope]
error = "err"
errors_by = "id"
recognize = { err = 0 }

[[status]]
status = 429
name = "Too Many Requests"
class = "rate_limited"
retry = "backoff"
remedy = "Back off."
min_wait_s = 2

[[error]]
status = 429
id = "quota"
class = "rate_limited"
retry = "never"
remedy = "Wait for the reset."
"#;

    #[test]
    fn reads_a_minimal_definition() {
        let p = parse(MINIMAL).unwrap();
        assert_eq!((p.name.as_str(), p.hash.len()), ("acme", 16));
        assert_eq!(p.status_row(429).unwrap().1.min_wait_ms, Some(2000));
        assert_eq!(p.rows_by_text("quota"), &[0]);
        assert_eq!(p.errors[0].retry, RetryPolicy::Never);
        assert_eq!(p.envelope.key(EnvelopeSlot::Error), Some("err"));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad = MINIMAL.replace(
            "class = \"rate_limited\"\nretry = \"backoff\"",
            "class = \"rate_limitd\"\nretry = \"backoff\"",
        );
        let e = parse(&bad).unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.line, e.field.as_str()),
            ("p.toml", 14, "class"),
            "{e}"
        );
        assert!(e.to_string().starts_with("p.toml:14: class: "), "{e}");

        // An id row without `retry` takes its status row's; without a status row it
        // needs its own.
        assert!(parse(&MINIMAL.replace("retry = \"never\"\n", "")).is_ok());
        let e = parse(
            &MINIMAL
                .replace("status = 429\nid", "status = 418\nid")
                .replace("retry = \"never\"\n", ""),
        )
        .unwrap_err();
        assert_eq!(e.field, "[[error]] #1 retry");
        assert!((19..=21).contains(&e.line), "{e}");
        let e = parse(&MINIMAL.replace("name = \"acme\"", "name = \"Acme!\"")).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "name"));
        let e = parse(&MINIMAL.replace("\"*.acme.example\"", "\"bad host\"")).unwrap_err();
        assert_eq!(e.field, "hosts");
        let e = parse(&MINIMAL.replace("recognize = { err = 0 }", "recognize = { nope = 0 }"))
            .unwrap_err();
        assert_eq!(e.field, "envelope.recognize");
        let e = parse(&MINIMAL.replace("error = \"err\"", "error = \"status\"")).unwrap_err();
        assert!(e.reason.contains("status"), "{e}");
        let e = parse(&format!("{MINIMAL}\n[[status]]\nstatus = 429\nname = \"x\"\nclass = \"success\"\nretry = \"none\"\nremedy = \"\"\n")).unwrap_err();
        assert!(e.reason.contains("twice"), "{e}");
        let e = parse(&format!("{MINIMAL}\nsurprise = 1\n")).unwrap_err();
        assert!(e.reason.contains("surprise"), "{e}");
    }
}
