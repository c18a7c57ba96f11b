//! Record building: field values as a shape found them, turned into a [`Record`].
//!
//! Every shape — the flat fast path, JSON paths, OTLP attributes, HAR entries, logfmt
//! and CLF — fills one [`Raw`] through [`Raw::set`] (flat names) or [`Raw::set_mapped`]
//! (a [`Target`]: a field with its unit and priority), and [`Raw::into_record`] applies
//! the rules every shape shares: which status wins, the provider by host (with
//! `--provider-host` overrides) or else by envelope, and timestamps.

use crate::provider::{ProviderId, ProviderMap};
use crate::record::{ParseError, Record, StatusSource, UrlParts};
use crate::timestamp;
use crate::value::Scalar;
use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The field names errlens reads, aliases folded together.
///
/// | field        | aliases                                 |
/// |--------------|-----------------------------------------|
/// | `ts`         | `time`, `timestamp`, `@timestamp`       |
/// | `status`     | `http_status`                           |
/// | `latency_ms` | `duration_ms`, `elapsed_ms`             |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Fields with a value slot (all but [`Field::Other`]).
    pub(crate) const COUNT: usize = Field::Other as usize;

    /// The canonical name of a field, as `--map` and mapping files spell it.
    pub(crate) fn canonical(self) -> &'static str {
        match self {
            Field::Ts => "ts",
            Field::Method => "method",
            Field::Url => "url",
            Field::Host => "host",
            Field::Path => "path",
            Field::Status => "status",
            Field::HttpStatus => "http_status",
            Field::Latency => "latency_ms",
            Field::ClientId => "client_id",
            Field::Attempt => "attempt",
            Field::RetryAfter => "retry_after",
            Field::Error => "error",
            Field::Code => "code",
            Field::Message => "message",
            Field::StatusCode => "status_code",
            Field::StatusMessage => "status_message",
            Field::Success => "success",
            Field::Errors => "errors",
            Field::Other => "other",
        }
    }

    #[inline]
    pub(crate) fn from_name(name: &str) -> Field {
        // This runs for every key of every line. A name of 4 to 16 bytes is known by its
        // length and two overlapping words, its first and last four (or eight) bytes:
        // integer compares against constants instead of byte-string compares.
        let b = name.as_bytes();
        let n = b.len();
        match n {
            2 if b == b"ts" => Field::Ts,
            3 if b == b"url" => Field::Url,
            4..=7 => {
                const fn k(s: &[u8]) -> (usize, u32, u32) {
                    (s.len(), head4(s), tail4(s))
                }
                const TIME: (usize, u32, u32) = k(b"time");
                const HOST: (usize, u32, u32) = k(b"host");
                const PATH: (usize, u32, u32) = k(b"path");
                const CODE: (usize, u32, u32) = k(b"code");
                const ERROR: (usize, u32, u32) = k(b"error");
                const METHOD: (usize, u32, u32) = k(b"method");
                const STATUS: (usize, u32, u32) = k(b"status");
                const ERRORS: (usize, u32, u32) = k(b"errors");
                const ATTEMPT: (usize, u32, u32) = k(b"attempt");
                const MESSAGE: (usize, u32, u32) = k(b"message");
                const SUCCESS: (usize, u32, u32) = k(b"success");
                // Constants as patterns: the compiler makes a decision tree of them.
                match (n, head4(b), tail4(b)) {
                    TIME => Field::Ts,
                    HOST => Field::Host,
                    PATH => Field::Path,
                    CODE => Field::Code,
                    ERROR => Field::Error,
                    METHOD => Field::Method,
                    STATUS => Field::Status,
                    ERRORS => Field::Errors,
                    ATTEMPT => Field::Attempt,
                    MESSAGE => Field::Message,
                    SUCCESS => Field::Success,
                    _ => Field::Other,
                }
            }
            8..=16 => {
                const fn k(s: &[u8]) -> (usize, u64, u64) {
                    (s.len(), head8(s), tail8(s))
                }
                const TIMESTAMP: (usize, u64, u64) = k(b"timestamp");
                const CLIENT_ID: (usize, u64, u64) = k(b"client_id");
                const AT_TIMESTAMP: (usize, u64, u64) = k(b"@timestamp");
                const LATENCY_MS: (usize, u64, u64) = k(b"latency_ms");
                const ELAPSED_MS: (usize, u64, u64) = k(b"elapsed_ms");
                const HTTP_STATUS: (usize, u64, u64) = k(b"http_status");
                const DURATION_MS: (usize, u64, u64) = k(b"duration_ms");
                const RETRY_AFTER: (usize, u64, u64) = k(b"retry_after");
                const STATUS_CODE: (usize, u64, u64) = k(b"status_code");
                const STATUS_MESSAGE: (usize, u64, u64) = k(b"status_message");
                match (n, head8(b), tail8(b)) {
                    TIMESTAMP | AT_TIMESTAMP => Field::Ts,
                    CLIENT_ID => Field::ClientId,
                    LATENCY_MS | ELAPSED_MS | DURATION_MS => Field::Latency,
                    HTTP_STATUS => Field::HttpStatus,
                    RETRY_AFTER => Field::RetryAfter,
                    STATUS_CODE => Field::StatusCode,
                    STATUS_MESSAGE => Field::StatusMessage,
                    _ => Field::Other,
                }
            }
            _ => Field::Other,
        }
    }
}

/// The first four bytes of `b` (at least four long), little endian.
#[inline(always)]
const fn head4(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The last four bytes of `b` (at least four long), little endian.
#[inline(always)]
const fn tail4(b: &[u8]) -> u32 {
    let n = b.len();
    u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]])
}

/// The first eight bytes of `b` (at least eight long), little endian.
#[inline(always)]
const fn head8(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The last eight bytes of `b` (at least eight long), little endian.
#[inline(always)]
const fn tail8(b: &[u8]) -> u64 {
    let n = b.len();
    u64::from_le_bytes([
        b[n - 8],
        b[n - 7],
        b[n - 6],
        b[n - 5],
        b[n - 4],
        b[n - 3],
        b[n - 2],
        b[n - 1],
    ])
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

/// How a mapped value is converted before it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// As the flat shape reads it (times: RFC 3339 or epoch by magnitude; latency ms).
    Natural,
    /// Seconds (a duration or an epoch time).
    Seconds,
    /// Milliseconds.
    Millis,
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
    /// A count of re-sends: the attempt is the value plus one.
    PlusOne,
}

impl Unit {
    /// Milliseconds per unit, for durations and epoch times.
    fn to_ms(self) -> f64 {
        match self {
            Unit::Seconds => 1e3,
            Unit::Micros => 1e-3,
            Unit::Nanos => 1e-6,
            Unit::Natural | Unit::Millis | Unit::PlusOne => 1.0,
        }
    }

    /// The unit's name in mapping files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Unit::Natural => "auto",
            Unit::Seconds => "s",
            Unit::Millis => "ms",
            Unit::Micros => "us",
            Unit::Nanos => "ns",
            Unit::PlusOne => "plus_one",
        }
    }

    /// Parses a unit name: `auto`, `s`, `ms`, `us` (or `µs`), `ns`, `plus_one`.
    pub(crate) fn from_name(s: &str) -> Option<Unit> {
        Some(match s {
            "auto" => Unit::Natural,
            "s" => Unit::Seconds,
            "ms" => Unit::Millis,
            "us" | "µs" => Unit::Micros,
            "ns" => Unit::Nanos,
            "plus_one" => Unit::PlusOne,
            _ => return None,
        })
    }
}

/// Where a shape puts a value: a field, its unit and its priority among the paths
/// that fill the same field (0 first; a later value of equal priority replaces an
/// earlier one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) field: Field,
    pub(crate) unit: Unit,
    pub(crate) prio: u8,
}

impl Target {
    pub(crate) const fn new(field: Field) -> Target {
        Target {
            field,
            unit: Unit::Natural,
            prio: 0,
        }
    }
    pub(crate) const fn unit(mut self, unit: Unit) -> Target {
        self.unit = unit;
        self
    }
    pub(crate) const fn prio(mut self, prio: u8) -> Target {
        self.prio = prio;
        self
    }
}

/// `host` without a trailing `:port`.
pub(crate) fn strip_port(host: &str) -> &str {
    match host.bytes().rposition(|c| c == b':') {
        Some(i) if host.as_bytes()[i + 1..].iter().all(u8::is_ascii_digit) => &host[..i],
        _ => host,
    }
}

/// Field values as found, before status resolution and provider detection.
#[derive(Default)]
pub(crate) struct Raw<'a> {
    /// Bits of the provider definitions' own envelope keys seen.
    extra_seen: u32,
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
    /// A time already in Unix milliseconds (a shape that knows its unit).
    ts_ms: Option<i64>,
    /// Per field, 1 + the priority of the value set through [`Raw::set_mapped`] (0:
    /// nothing set that way yet).
    prio: [u8; Field::COUNT],
}

fn http_status(v: Option<i64>) -> Option<u16> {
    v.filter(|s| (100..=599).contains(s)).map(|s| s as u16)
}

impl<'a> Raw<'a> {
    /// The field a key names: errlens' own names, then the keys provider definitions
    /// add (remembered for provider recognition).
    #[inline]
    pub(crate) fn field_of(&mut self, key: &str, map: Option<&ProviderMap>) -> Field {
        match Field::from_name(key) {
            Field::Other => self.extra_field(key, map),
            f => f,
        }
    }

    /// The field a key that is not one of errlens' own names fills, if a provider
    /// definition adds it (remembered for provider recognition).
    #[inline]
    pub(crate) fn extra_field(&mut self, key: &str, map: Option<&ProviderMap>) -> Field {
        match map.filter(|m| m.has_extras()).and_then(|m| m.extra(key)) {
            Some((f, bit)) => {
                self.extra_seen |= bit;
                f
            }
            None => Field::Other,
        }
    }

    /// Stores one field's value (the same mapping for the serde path and the fast path).
    #[inline]
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

    /// [`Raw::set`] of a borrowed string, without going through [`Scalar`] for the
    /// fields that take a string (the fast path's common case).
    #[inline(always)]
    pub(crate) fn set_str(&mut self, field: Field, v: &'a str) {
        let slot = match field {
            Field::Method => &mut self.method,
            Field::Url => &mut self.url,
            Field::Host => &mut self.host,
            Field::Path => &mut self.path,
            Field::ClientId => &mut self.client_id,
            Field::Error => &mut self.error,
            Field::Message => &mut self.message,
            Field::StatusMessage => &mut self.status_message,
            Field::Ts => {
                self.ts = Some(Scalar::Str(Cow::Borrowed(v)));
                return;
            }
            _ => return self.set(field, Scalar::Str(Cow::Borrowed(v))),
        };
        *slot = Some(Cow::Borrowed(v));
    }

    /// [`Raw::set`] of an integer, without going through [`Scalar`] for the fields
    /// that take one.
    #[inline(always)]
    pub(crate) fn set_int(&mut self, field: Field, v: i64) {
        match field {
            Field::Status => self.status = Some(v),
            Field::HttpStatus => self.http_status = Some(v),
            Field::Code => self.code = Some(v),
            Field::StatusCode => self.tmdb_code = Some(v),
            Field::Attempt => self.attempt = u32::try_from(v).ok(),
            // As `Scalar::as_f64` then the sign filter of `Raw::set`.
            Field::Latency => self.latency_ms = (v >= 0).then_some(v as f64),
            Field::RetryAfter => self.retry_after_s = (v >= 0).then_some(v as f64),
            Field::Ts => self.ts = Some(Scalar::I64(v)),
            _ => self.set(field, Scalar::I64(v)),
        }
    }

    /// Whether a value for `t` would be stored (no better-priority value is set).
    #[inline]
    pub(crate) fn wants(&self, t: Target) -> bool {
        match self.prio.get(t.field as usize) {
            Some(&p) => p == 0 || t.prio < p,
            None => false,
        }
    }

    /// Stores a value found by a shape's mapping: converted by the target's unit, and
    /// only when no value of better priority is set. A value that does not convert
    /// (a string where a number is needed) is ignored and leaves the slot free.
    pub(crate) fn set_mapped(&mut self, t: Target, v: Scalar<'a>) {
        if !self.wants(t) || matches!(v, Scalar::Null) {
            return;
        }
        let stored = match (t.field, t.unit) {
            (_, Unit::Natural) if t.field != Field::Ts => {
                self.set(t.field, v);
                self.is_set(t.field)
            }
            (Field::Ts, Unit::Natural) => {
                self.ts = Some(v);
                self.ts_ms = None;
                true
            }
            (Field::Ts, unit) => {
                self.ts_ms = v
                    .as_f64()
                    .and_then(|n| timestamp::from_epoch_ms(n * unit.to_ms()));
                self.ts = None;
                self.ts_ms.is_some()
            }
            (Field::Attempt, Unit::PlusOne) => {
                self.attempt = v
                    .as_i64()
                    .and_then(|a| a.checked_add(1))
                    .and_then(|a| u32::try_from(a).ok());
                self.attempt.is_some()
            }
            (Field::Latency | Field::RetryAfter, unit) => {
                // Retry-After is kept in seconds, latency in milliseconds.
                let scale = if t.field == Field::RetryAfter {
                    unit.to_ms() / 1e3
                } else {
                    unit.to_ms()
                };
                // nginx lists one timing per upstream (`0.080, 0.003`): the first counts.
                let n = v.as_f64().or_else(|| match &v {
                    Scalar::Str(s) => s
                        .split([',', ' ', ':'])
                        .next()
                        .and_then(|f| f.trim().parse::<f64>().ok())
                        .filter(|f| f.is_finite()),
                    _ => None,
                });
                match n {
                    Some(n) => {
                        self.set(t.field, Scalar::F64(n * scale));
                        self.is_set(t.field)
                    }
                    None => false,
                }
            }
            _ => {
                self.set(t.field, v);
                self.is_set(t.field)
            }
        };
        if stored {
            self.prio[t.field as usize] = t.prio.saturating_add(1);
        }
    }

    /// Whether `field` holds a value.
    fn is_set(&self, field: Field) -> bool {
        match field {
            Field::Ts => self.ts.is_some() || self.ts_ms.is_some(),
            Field::Method => self.method.is_some(),
            Field::Url => self.url.is_some(),
            Field::Host => self.host.is_some(),
            Field::Path => self.path.is_some(),
            Field::Status => self.status.is_some(),
            Field::HttpStatus => self.http_status.is_some(),
            Field::Latency => self.latency_ms.is_some(),
            Field::ClientId => self.client_id.is_some(),
            Field::Attempt => self.attempt.is_some(),
            Field::RetryAfter => self.retry_after_s.is_some(),
            Field::Error => self.error.is_some(),
            Field::Code => self.code.is_some(),
            Field::Message => self.message.is_some(),
            Field::StatusCode => self.tmdb_code.is_some(),
            Field::StatusMessage => self.status_message.is_some(),
            Field::Success => self.success.is_some(),
            Field::Errors => self.errors.is_some(),
            Field::Other => false,
        }
    }

    /// Copies the envelope fields of `env` (a response body parsed on its own) that are
    /// not set yet, detached from the body's buffer.
    pub(crate) fn fill_envelope(&mut self, env: Raw<'_>) {
        fn own(c: Option<Cow<'_, str>>) -> Option<Cow<'static, str>> {
            c.map(|c| Cow::Owned(c.into_owned()))
        }
        if self.error.is_none() {
            self.error = own(env.error);
        }
        if self.code.is_none() {
            self.code = env.code;
        }
        if self.message.is_none() {
            self.message = own(env.message);
        }
        if self.tmdb_code.is_none() {
            self.tmdb_code = env.tmdb_code;
        }
        if self.status_message.is_none() {
            self.status_message = own(env.status_message);
        }
        if self.success.is_none() {
            self.success = env.success;
        }
        if self.errors.is_none() {
            self.errors = env.errors;
        }
        self.extra_seen |= env.extra_seen;
    }

    /// Builds the record: resolves the HTTP status, the provider and the time.
    ///
    /// The provider is the host's (by the [`ProviderMap`]); for any other host, or
    /// none, the envelope decides by the map's recognition rules. One exception keeps
    /// HTTP-client logs honest: on a record with a host whose provider does not read
    /// `status_code` as its own code, a `status_code` with no `status_message` or
    /// `success` beside it is the naming `requests`/`httpx` use for the HTTP status — it
    /// is the status when none other was logged, and it is no envelope.
    #[inline]
    pub(crate) fn into_record(
        mut self,
        map: Option<&ProviderMap>,
    ) -> Result<Record<'a>, ParseError> {
        self.take_record(map)
    }

    /// Whether no field holds an owned string (so forgetting the value frees nothing).
    pub(crate) fn owns_nothing(&self) -> bool {
        let borrowed = |c: &Option<Cow<'_, str>>| !matches!(c, Some(Cow::Owned(_)));
        !matches!(self.ts, Some(Scalar::Str(Cow::Owned(_))))
            && [
                &self.method,
                &self.url,
                &self.host,
                &self.path,
                &self.client_id,
                &self.error,
                &self.message,
                &self.status_message,
            ]
            .into_iter()
            .all(borrowed)
    }

    /// [`Raw::into_record`] for a record-to-be the caller keeps: its strings are moved
    /// out and it is left to be dropped. Not a move of the whole record-to-be (a few
    /// hundred bytes) into the call, as passing it by value costs on every line.
    pub(crate) fn take_record(
        &mut self,
        map: Option<&ProviderMap>,
    ) -> Result<Record<'a>, ParseError> {
        let mut url_parts = UrlParts::default();
        if let Some(u) = self.url.as_deref() {
            url_parts = UrlParts::of(u);
        }
        let host = match self.host.as_deref() {
            Some(h) => Some(h),
            None => url_parts.host_in(self.url.as_deref()),
        };
        let by_host = host.map(|h| map.and_then(|m| m.provider_of_host(h)));
        if self.tmdb_code.is_some()
            && matches!(by_host, Some(p) if !p.is_some_and(|p| map.is_some_and(|m| m.reads_status_code(p))))
            && self.status_message.is_none()
            && self.success.is_none()
        {
            if let Some(code) = self.tmdb_code.take() {
                if self.status.is_none() && self.http_status.is_none() {
                    self.http_status = Some(code);
                }
            }
        }
        let (status, status_source) =
            match http_status(self.status).or_else(|| http_status(self.http_status)) {
                Some(s) => (s, StatusSource::Status),
                None => match http_status(self.code) {
                    Some(s) => (s, StatusSource::EnvelopeCode),
                    None => return Err(ParseError::NoStatus(ParseError::FLAT_STATUS)),
                },
            };
        let ts_ms = self.ts_ms.or_else(|| {
            self.ts.as_ref().and_then(|ts| match ts {
                Scalar::Str(s) => timestamp::parse_rfc3339(s)
                    .or_else(|| s.trim().parse::<f64>().ok().and_then(timestamp::from_epoch)),
                other => other.as_f64().and_then(timestamp::from_epoch),
            })
        });
        let provider = match (by_host, map) {
            (Some(Some(p)), _) => p,
            (_, Some(m)) => m.by_envelope(|f| self.is_set(f), self.extra_seen),
            (_, None) => ProviderId::UNKNOWN,
        };
        let rec = Record {
            provider,
            status,
            status_source,
            ts_ms,
            method: self.method.take(),
            url: self.url.take(),
            host: self.host.take(),
            path: self.path.take(),
            latency_ms: self.latency_ms,
            client_id: self.client_id.take(),
            attempt: self.attempt,
            retry_after_s: self.retry_after_s,
            error: self.error.take(),
            code: self.code,
            message: self.message.take(),
            tmdb_code: self.tmdb_code,
            status_message: self.status_message.take(),
            success: self.success,
            errors: self.errors,
            url_parts,
        };
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record-to-be owns something exactly when one of its strings is owned (an
    /// unescaped one, from the serde path): what decides whether it may be forgotten.
    #[test]
    fn owning_is_seen_in_every_string() {
        let mut raw = Raw {
            url: Some(Cow::Borrowed("https://api.simkl.com/sync")),
            ts: Some(Scalar::Str(Cow::Borrowed("2026-11-20T10:00:00Z"))),
            ..Raw::default()
        };
        assert!(raw.owns_nothing());
        raw.status_message = Some(Cow::Owned("quoted \"text\"".to_owned()));
        assert!(!raw.owns_nothing());
        raw.status_message = None;
        raw.ts = Some(Scalar::Str(Cow::Owned("2026-11-20T10:00:00Z".to_owned())));
        assert!(!raw.owns_nothing());
    }

    /// The name match by words knows exactly the names of the table in `Field`'s docs.
    #[test]
    fn field_names_by_words() {
        let names = [
            ("ts", Field::Ts),
            ("time", Field::Ts),
            ("timestamp", Field::Ts),
            ("@timestamp", Field::Ts),
            ("url", Field::Url),
            ("host", Field::Host),
            ("path", Field::Path),
            ("code", Field::Code),
            ("error", Field::Error),
            ("method", Field::Method),
            ("status", Field::Status),
            ("errors", Field::Errors),
            ("attempt", Field::Attempt),
            ("message", Field::Message),
            ("success", Field::Success),
            ("client_id", Field::ClientId),
            ("latency_ms", Field::Latency),
            ("elapsed_ms", Field::Latency),
            ("duration_ms", Field::Latency),
            ("http_status", Field::HttpStatus),
            ("retry_after", Field::RetryAfter),
            ("status_code", Field::StatusCode),
            ("status_message", Field::StatusMessage),
        ];
        let want = |s: &str| {
            names
                .iter()
                .find(|(n, _)| *n == s)
                .map_or(Field::Other, |(_, f)| *f)
        };
        for (name, f) in names {
            assert_eq!(Field::from_name(name), f, "{name}");
            // Every one-byte change, every cut and every extension is known as it
            // should be (mostly as another name).
            let mut b = name.as_bytes().to_vec();
            for i in 0..b.len() {
                let c = b[i];
                for d in [b'a', b'_', b'S', 0, 0x7f] {
                    b[i] = d;
                    let other = std::str::from_utf8(&b).expect("ASCII");
                    assert_eq!(Field::from_name(other), want(other), "{other:?}");
                }
                b[i] = c;
                assert_eq!(
                    Field::from_name(&name[..i]),
                    want(&name[..i]),
                    "{name} cut at {i}"
                );
            }
            for other in [format!("{name}x"), format!("x{name}")] {
                assert_eq!(Field::from_name(&other), Field::Other, "{other}");
            }
        }
        for other in [
            "",
            "t",
            "x",
            "ts ",
            "Status",
            "url_",
            "client_idx",
            "status_messag",
        ] {
            assert_eq!(Field::from_name(other), Field::Other, "{other:?}");
        }
    }

    /// The fast path's typed setters store what [`Raw::set`] stores.
    #[test]
    fn typed_setters_equal_set() {
        let fields = [
            Field::Ts,
            Field::Method,
            Field::Url,
            Field::Host,
            Field::Path,
            Field::Status,
            Field::HttpStatus,
            Field::Latency,
            Field::ClientId,
            Field::Attempt,
            Field::RetryAfter,
            Field::Error,
            Field::Code,
            Field::Message,
            Field::StatusCode,
            Field::StatusMessage,
            Field::Success,
            Field::Errors,
            Field::Other,
        ];
        assert_eq!(fields.len(), Field::COUNT + 1);
        for f in fields {
            for text in ["429", "GET", "", "true", "2026-11-20T10:00:00Z", " 7 "] {
                let (mut a, mut b) = (Raw::default(), Raw::default());
                // With a status, so that a record is made (a later one wins).
                a.set(Field::Status, Scalar::I64(200));
                b.set_int(Field::Status, 200);
                a.set(f, Scalar::Str(Cow::Borrowed(text)));
                b.set_str(f, text);
                assert_eq!(a.into_record(None), b.into_record(None), "{f:?} {text:?}");
            }
            for n in [0, 1, 200, 429, -1, 1 << 40, i64::MIN, i64::MAX] {
                let (mut a, mut b) = (Raw::default(), Raw::default());
                a.set(Field::Status, Scalar::I64(200));
                b.set_int(Field::Status, 200);
                a.set(f, Scalar::I64(n));
                b.set_int(f, n);
                assert_eq!(a.into_record(None), b.into_record(None), "{f:?} {n}");
            }
        }
    }
}
