//! Shapes: how a log's structure maps onto a [`Record`].
//!
//! One file per shape family; this one lists the built-in shapes, their sources and the
//! paths each reads. To add a shape: a [`ShapeKind`] variant with its name, spec and
//! fields here, its reading in [`Shape::parse_line`] (a path table for a JSON shape is
//! enough), and its markers in [`crate::detect`].
//!
//! | shape | file | reads |
//! |---|---|---|
//! | `flat` | [`flat`], `fast.rs` | errlens' own flat JSON lines |
//! | `ecs`, `caddy`, `envoy`, `nginx`, `traefik` | [`json`] + tables here | JSON objects by path |
//! | `otlp` | [`otlp`] | OTLP/JSON export batches, several records per line |
//! | `har` | [`har`] | a HAR 1.2 document, streamed entry by entry |
//! | `logfmt`, `clf` | [`text`] ([`logfmt`], [`clf`] grammars) | text lines |
//! | custom | [`crate::mapping`] | `--map` / `--mapping` paths over JSON |

pub(crate) mod clf;
mod fast;
pub(crate) mod flat;
pub(crate) mod har;
pub(crate) mod json;
mod key_order;
pub(crate) mod logfmt;
pub(crate) mod otlp;
mod structure;
mod text;

use crate::mapping::CustomShape;
use crate::provider::ProviderMap;
use crate::raw::{Field, Raw, Target, Unit};
use crate::record::{ParseError, Record};
use json::{Leaf, PathMap};
use std::sync::{Arc, OnceLock};
#[allow(clippy::enum_glob_use)]
use Field::*;

/// A built-in shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShapeKind {
    /// errlens' flat JSON lines (the fast path).
    Flat,
    /// Elastic Common Schema JSON documents.
    Ecs,
    /// OpenTelemetry OTLP/JSON log export batches.
    Otlp,
    /// Caddy's JSON access log.
    Caddy,
    /// Envoy / Istio JSON access log.
    Envoy,
    /// nginx `log_format … escape=json`.
    Nginx,
    /// Traefik's JSON access log.
    Traefik,
    /// A HAR 1.2 document.
    Har,
    /// logfmt `key=value` lines with the flat field names.
    Logfmt,
    /// Common / Combined Log Format, with optional trailing `key=value` fields.
    Clf,
}

impl ShapeKind {
    /// Every built-in shape, in the order `errlens shapes` lists them.
    pub const ALL: [ShapeKind; 10] = [
        ShapeKind::Flat,
        ShapeKind::Ecs,
        ShapeKind::Otlp,
        ShapeKind::Caddy,
        ShapeKind::Envoy,
        ShapeKind::Nginx,
        ShapeKind::Traefik,
        ShapeKind::Har,
        ShapeKind::Logfmt,
        ShapeKind::Clf,
    ];

    /// The shape's name (`--shape NAME`, reports).
    pub fn name(self) -> &'static str {
        match self {
            ShapeKind::Flat => "flat",
            ShapeKind::Ecs => "ecs",
            ShapeKind::Otlp => "otlp",
            ShapeKind::Caddy => "caddy",
            ShapeKind::Envoy => "envoy",
            ShapeKind::Nginx => "nginx",
            ShapeKind::Traefik => "traefik",
            ShapeKind::Har => "har",
            ShapeKind::Logfmt => "logfmt",
            ShapeKind::Clf => "clf",
        }
    }

    /// The shape named `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<ShapeKind> {
        ShapeKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// What the shape is, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            ShapeKind::Flat => "errlens' flat JSON lines (the fast path)",
            ShapeKind::Ecs => "Elastic Common Schema JSON (Filebeat, Elastic APM, ecs-logging)",
            ShapeKind::Otlp => {
                "OpenTelemetry OTLP/JSON logs (Collector file exporter), many records a line"
            }
            ShapeKind::Caddy => "Caddy JSON access log",
            ShapeKind::Envoy => "Envoy / Istio JSON access log",
            ShapeKind::Nginx => "nginx log_format … escape=json",
            ShapeKind::Traefik => "Traefik JSON access log",
            ShapeKind::Har => "HAR 1.2 document (browser dev tools, mitmproxy, Charles)",
            ShapeKind::Logfmt => "logfmt key=value lines with the flat field names",
            ShapeKind::Clf => "Common/Combined Log Format, optional trailing key=value",
        }
    }

    /// The public specification the shape is written from.
    pub fn spec(self) -> &'static str {
        match self {
            ShapeKind::Flat => "docs/shapes.md#flat (errlens)",
            ShapeKind::Ecs => "https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html",
            ShapeKind::Otlp => "https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding + https://opentelemetry.io/docs/specs/semconv/http/http-spans/",
            ShapeKind::Caddy => "https://caddyserver.com/docs/caddyfile/directives/log",
            ShapeKind::Envoy => "https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage + https://istio.io/latest/docs/tasks/observability/logs/access-log/",
            ShapeKind::Nginx => "https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format",
            ShapeKind::Traefik => "https://doc.traefik.io/traefik/observability/access-logs/",
            ShapeKind::Har => "http://www.softwareishard.com/blog/har-12-spec/",
            ShapeKind::Logfmt => "https://brandur.org/logfmt + https://pkg.go.dev/github.com/go-logfmt/logfmt",
            ShapeKind::Clf => "https://httpd.apache.org/docs/current/logs.html#common",
        }
    }

    /// Whether the shape is one document rather than lines (HAR).
    pub fn is_document(self) -> bool {
        self == ShapeKind::Har
    }

    /// The record fields the shape reads and where: `(field, paths)` pairs, for
    /// `errlens shapes`.
    pub fn fields(self) -> Vec<(&'static str, String)> {
        match self {
            ShapeKind::Flat | ShapeKind::Logfmt => flat_fields(),
            ShapeKind::Otlp => otlp::FIELDS
                .iter()
                .map(|(f, p)| (*f, (*p).to_owned()))
                .collect(),
            ShapeKind::Clf => text::CLF_FIELDS
                .iter()
                .map(|(f, p)| (*f, (*p).to_owned()))
                .collect(),
            k => fields_of(path_table(k)),
        }
    }

    /// Where the shape looks for the HTTP status (for "no usable HTTP status").
    pub(crate) fn status_paths(self) -> &'static str {
        match self {
            ShapeKind::Flat | ShapeKind::Logfmt => ParseError::FLAT_STATUS,
            ShapeKind::Otlp => "attributes http.response.status_code, http.status_code",
            ShapeKind::Clf => "the status after the request line",
            k => built(k).status_paths,
        }
    }
}

impl std::fmt::Display for ShapeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn flat_fields() -> Vec<(&'static str, String)> {
    [
        (
            "ts",
            "ts, time, timestamp, @timestamp (RFC 3339 or epoch s/ms)",
        ),
        ("method", "method"),
        ("url", "url, or host + path"),
        ("status", "status, http_status, else the envelope's code"),
        ("latency_ms", "latency_ms, duration_ms, elapsed_ms"),
        ("client_id", "client_id"),
        ("attempt", "attempt"),
        ("retry_after", "retry_after (seconds)"),
        (
            "envelope",
            "error, code, message, status_code, status_message, success, errors",
        ),
    ]
    .iter()
    .map(|(f, p)| (*f, (*p).to_owned()))
    .collect()
}

/// A shape to read with: built-in, or custom (`--map`, `--mapping`).
#[derive(Debug, Clone)]
pub enum Shape {
    /// A built-in shape.
    Builtin(ShapeKind),
    /// A mapping given by the user.
    Custom(Arc<CustomShape>),
}

impl Shape {
    /// The name reports use.
    pub fn name(&self) -> &str {
        match self {
            Shape::Builtin(k) => k.name(),
            Shape::Custom(c) => c.name(),
        }
    }

    /// The built-in kind, if it is one.
    pub fn kind(&self) -> Option<ShapeKind> {
        match self {
            Shape::Builtin(k) => Some(*k),
            Shape::Custom(_) => None,
        }
    }

    /// Whether a line holds at most one record (all shapes but OTLP, whose lines are
    /// batches, and HAR, a document).
    pub fn one_per_line(&self) -> bool {
        !matches!(self, Shape::Builtin(ShapeKind::Otlp | ShapeKind::Har))
    }

    /// Reads a line of a shape with one record per line ([`Shape::one_per_line`]).
    #[inline]
    pub fn parse_one<'a>(
        &self,
        line: &'a [u8],
        map: Option<&ProviderMap>,
    ) -> Result<Record<'a>, ParseError> {
        let kind = match self {
            Shape::Custom(c) => {
                let mut raw = Raw::default();
                c.paths().read_line(line, &mut raw, map)?;
                return finish(&mut raw, map, c.status_paths());
            }
            Shape::Builtin(k) => *k,
        };
        match kind {
            ShapeKind::Flat => flat::parse(line, map),
            ShapeKind::Logfmt => text::logfmt(line, map),
            ShapeKind::Clf => text::clf(line, map),
            ShapeKind::Otlp | ShapeKind::Har => {
                // Not one record a line: the first outcome.
                let mut first: Option<Result<Record<'static>, ParseError>> = None;
                self.parse_line(line, map, &mut |r| {
                    if first.is_none() {
                        first = Some(r.map(|r| r.clone().into_owned()).map_err(Clone::clone));
                    }
                });
                first.unwrap_or(Err(ParseError::NoStatus(kind.status_paths())))
            }
            k => {
                let b = built(k);
                let mut raw = Raw::default();
                b.map.read_line(line, &mut raw, map)?;
                finish(&mut raw, map, b.status_paths)
            }
        }
    }

    /// Reads one line (not a document shape) and hands each record it holds — or why it
    /// holds none — to `out`. Most shapes have one record a line; an OTLP batch has
    /// any number.
    pub fn parse_line(
        &self,
        line: &[u8],
        map: Option<&ProviderMap>,
        out: &mut dyn FnMut(Result<&Record<'_>, &ParseError>),
    ) {
        match self {
            Shape::Builtin(ShapeKind::Otlp) => otlp::parse_line(line, map, out),
            Shape::Builtin(ShapeKind::Har) => {
                // A HAR document on one line: read it as a document.
                if let Err(e) = har::read(line, map, out) {
                    out(Err(&e));
                }
            }
            s => deliver(s.parse_one(line, map), out),
        }
    }
}

/// Hands one outcome to a record callback.
#[inline]
fn deliver(
    r: Result<Record<'_>, ParseError>,
    out: &mut dyn FnMut(Result<&Record<'_>, &ParseError>),
) {
    match &r {
        Ok(rec) => out(Ok(rec)),
        Err(e) => out(Err(e)),
    }
}

/// Builds the record, naming the shape's status paths when there is no status. The
/// record-to-be is borrowed, not moved in: it is a few hundred bytes.
#[inline]
pub(crate) fn finish<'a>(
    raw: &mut Raw<'a>,
    map: Option<&ProviderMap>,
    status_paths: &'static str,
) -> Result<Record<'a>, ParseError> {
    raw.take_record(map).map_err(|e| match e {
        ParseError::NoStatus(_) => ParseError::NoStatus(status_paths),
        e => e,
    })
}

/// A built JSON path shape.
pub(crate) struct Built {
    pub(crate) map: PathMap,
    pub(crate) status_paths: &'static str,
}

/// The record fields of a path table and their paths.
pub(crate) fn fields_of(table: &[(&str, Leaf)]) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut add =
        |field: &'static str, what: String| match out.iter_mut().find(|(f, _)| *f == field) {
            Some((_, p)) => {
                p.push_str(", ");
                p.push_str(&what);
            }
            None => out.push((field, what)),
        };
    for (path, leaf) in table {
        let path = path.replace('~', "");
        match leaf {
            Leaf::Value(t) => {
                let unit = match (t.field, t.unit) {
                    (_, Unit::Natural) => String::new(),
                    (Field::Attempt, Unit::PlusOne) => " (+1)".to_owned(),
                    (_, u) => format!(" ({})", u.name()),
                };
                add(t.field.canonical(), format!("{path}{unit}"));
            }
            Leaf::Envelope => add("envelope", path),
            Leaf::Headers(names) => {
                for (name, t) in names.iter() {
                    add(t.field.canonical(), format!("{path}[name={name}]"));
                }
            }
        }
    }
    out
}

/// Where a table's status paths are, joined for error messages.
pub(crate) fn status_paths_of(table: &[(&str, Leaf)]) -> String {
    table
        .iter()
        .filter(|(_, l)| matches!(l, Leaf::Value(t) if t.field == Field::Status))
        .map(|(p, _)| p.replace('~', ""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The built path map of a JSON path shape (built once).
pub(crate) fn built(kind: ShapeKind) -> &'static Built {
    static CELLS: [OnceLock<Built>; 10] = [const { OnceLock::new() }; 10];
    CELLS[kind as usize].get_or_init(|| {
        let table = path_table(kind);
        Built {
            map: PathMap::new(table.iter().copied()),
            status_paths: Box::leak(status_paths_of(table).into_boxed_str()),
        }
    })
}

const fn v(field: Field) -> Leaf {
    Leaf::Value(Target::new(field))
}
const fn vu(field: Field, unit: Unit) -> Leaf {
    Leaf::Value(Target::new(field).unit(unit))
}
const fn vp(field: Field, prio: u8) -> Leaf {
    Leaf::Value(Target::new(field).prio(prio))
}
const fn vup(field: Field, unit: Unit, prio: u8) -> Leaf {
    Leaf::Value(Target::new(field).unit(unit).prio(prio))
}

/// The paths of each JSON path shape: the whole definition of `ecs`, `caddy`, `envoy`,
/// `nginx`, `traefik`, and of a HAR entry.
pub(crate) fn path_table(kind: ShapeKind) -> &'static [(&'static str, Leaf)] {
    match kind {
        ShapeKind::Ecs => ECS,
        ShapeKind::Caddy => CADDY,
        ShapeKind::Envoy => ENVOY,
        ShapeKind::Nginx => NGINX,
        ShapeKind::Traefik => TRAEFIK,
        ShapeKind::Har => HAR,
        ShapeKind::Flat | ShapeKind::Otlp | ShapeKind::Logfmt | ShapeKind::Clf => &[],
    }
}

/// Elastic Common Schema: `@timestamp`, `http.*`, `url.*`, `event.duration` (ns), custom fields under `labels.*`.
const ECS: &[(&str, Leaf)] = &[
    ("@timestamp", v(Ts)),
    ("http.request.method", v(Method)),
    ("url.full", v(Url)),
    ("url.original", vp(Url, 1)),
    ("url.domain", v(Host)),
    ("url.path", v(Path)),
    ("http.response.status_code", v(Status)),
    ("event.duration", vu(Latency, Unit::Nanos)),
    ("http.response.body.content", Leaf::Envelope),
    ("labels.client_id", v(ClientId)),
    ("http.request.headers.~simkl-api-key", vp(ClientId, 1)),
    ("labels.attempt", v(Attempt)),
    ("labels.retry_after", v(RetryAfter)),
    ("http.response.headers.~retry-after", vp(RetryAfter, 1)),
];

/// Caddy's access log (`http.log.access`): `duration` in seconds, `ts` epoch seconds.
const CADDY: &[(&str, Leaf)] = &[
    ("ts", v(Ts)),
    ("request.method", v(Method)),
    ("request.host", v(Host)),
    ("request.uri", v(Path)),
    ("status", v(Status)),
    ("duration", vu(Latency, Unit::Seconds)),
    ("resp_headers.~retry-after", v(RetryAfter)),
    ("request.headers.~simkl-api-key", v(ClientId)),
];

/// Envoy / Istio default JSON access log: `duration` in ms.
const ENVOY: &[(&str, Leaf)] = &[
    ("start_time", v(Ts)),
    ("method", v(Method)),
    ("authority", v(Host)),
    ("path", v(Path)),
    ("response_code", v(Status)),
    ("duration", vu(Latency, Unit::Millis)),
    ("client_id", v(ClientId)),
    ("attempt", v(Attempt)),
    ("retry_after", v(RetryAfter)),
];

/// nginx `log_format … escape=json` with the usual variable names: times in seconds.
const NGINX: &[(&str, Leaf)] = &[
    ("time_iso8601", v(Ts)),
    ("msec", vup(Ts, Unit::Seconds, 1)),
    ("request_method", v(Method)),
    ("request_uri", v(Path)),
    ("uri", vp(Path, 1)),
    ("http_host", v(Host)),
    ("host", vp(Host, 1)),
    ("server_name", vp(Host, 2)),
    ("status", v(Status)),
    ("request_time", vu(Latency, Unit::Seconds)),
    ("upstream_response_time", vup(Latency, Unit::Seconds, 1)),
    ("client_id", v(ClientId)),
    ("http_simkl_api_key", vp(ClientId, 1)),
    ("attempt", v(Attempt)),
    ("retry_after", v(RetryAfter)),
    ("upstream_http_retry_after", vp(RetryAfter, 1)),
    ("sent_http_retry_after", vp(RetryAfter, 2)),
];

/// Traefik's JSON access log: `Duration` in ns, `RetryAttempts` re-sends.
const TRAEFIK: &[(&str, Leaf)] = &[
    ("StartUTC", v(Ts)),
    ("StartLocal", vp(Ts, 1)),
    ("RequestMethod", v(Method)),
    ("RequestHost", v(Host)),
    ("RequestAddr", vp(Host, 1)),
    ("RequestPath", v(Path)),
    ("DownstreamStatus", v(Status)),
    ("OriginStatus", vp(Status, 1)),
    ("Duration", vu(Latency, Unit::Nanos)),
    ("RetryAttempts", vu(Attempt, Unit::PlusOne)),
    ("downstream_Retry-After", v(RetryAfter)),
    ("origin_Retry-After", vp(RetryAfter, 1)),
    ("request_Simkl-Api-Key", v(ClientId)),
];

/// One HAR 1.2 entry (`log.entries[]`).
const HAR: &[(&str, Leaf)] = &[
    ("startedDateTime", v(Ts)),
    ("time", vu(Latency, Unit::Millis)),
    ("request.method", v(Method)),
    ("request.url", v(Url)),
    (
        "request.headers",
        Leaf::Headers(&[("simkl-api-key", Target::new(Field::ClientId))]),
    ),
    ("response.status", v(Status)),
    ("response.content.text", Leaf::Envelope),
    (
        "response.headers",
        Leaf::Headers(&[("retry-after", Target::new(Field::RetryAfter))]),
    ),
];
