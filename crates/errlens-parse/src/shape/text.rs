//! The text shapes' records: logfmt lines and CLF lines (grammars in [`super::logfmt`]
//! and [`super::clf`]) mapped onto the flat field names.

use super::{clf, finish, logfmt, ShapeKind};
use crate::find::first_of;
use crate::provider::ProviderMap;
use crate::raw::{Field, Raw, Target, Unit};
use crate::record::{ParseError, Record};
use crate::value::Scalar;

/// Where the CLF shape reads each field, for `errlens shapes`.
pub(crate) const CLF_FIELDS: &[(&str, &str)] = &[
    ("ts", "trailing msec= (nginx $msec, epoch s.ms), else [%t] (dd/Mon/yyyy:HH:MM:SS ±hhmm)"),
    ("method", "request line"),
    (
        "url",
        "request line target (a path, or an absolute URL), host=/http_host= for the host",
    ),
    ("status", "%>s after the request line"),
    (
        "latency_ms",
        "trailing rt= / request_time= (s), urt= / upstream_response_time= (s), latency_ms=, duration_ms=, elapsed_ms=",
    ),
    ("client_id", "trailing client_id="),
    ("attempt", "trailing attempt="),
    ("retry_after", "trailing retry_after="),
    (
        "envelope",
        "trailing error=, code=, message=, status_code=, status_message=, success=",
    ),
];

/// Text as UTF-8, or why not.
fn utf8(line: &[u8], shape: ShapeKind) -> Result<&str, ParseError> {
    std::str::from_utf8(line).map_err(|e| ParseError::Syntax {
        shape: shape.name(),
        reason: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    })
}

/// A logfmt line with the flat field names.
pub(crate) fn logfmt<'a>(
    line: &'a [u8],
    map: Option<&ProviderMap>,
) -> Result<Record<'a>, ParseError> {
    let text = utf8(line, ShapeKind::Logfmt)?;
    let mut raw = Raw::default();
    logfmt::for_each_pair(text, &mut |key, value| {
        let field = raw.field_of(key, map);
        if field != Field::Other {
            raw.set(field, Scalar::Str(value));
        }
    })
    .map_err(|e| ParseError::Syntax {
        shape: "logfmt",
        reason: e.0,
    })?;
    finish(&mut raw, map, ShapeKind::Logfmt.status_paths())
}

/// The first number of an nginx timing that may list several upstreams
/// (`0.120, 0.003 : 0.010`).
fn first_number(v: &str) -> Option<Scalar<'static>> {
    // ASCII separators: their index is a char boundary. (`str::find` with a char set
    // cost ~100 instructions a value.)
    let end = first_of(v.as_bytes(), [b',', b' ', b':']).unwrap_or(v.len());
    v[..end].parse::<f64>().ok().map(Scalar::F64)
}

/// A Common / Combined Log Format line.
pub(crate) fn clf<'a>(line: &'a [u8], map: Option<&ProviderMap>) -> Result<Record<'a>, ParseError> {
    let text = utf8(line, ShapeKind::Clf)?;
    let Some(c) = clf::parse(text) else {
        return Err(ParseError::Syntax {
            shape: "clf",
            reason: "expected `host ident user [time] \"request\" status bytes`".to_owned(),
        });
    };
    let mut raw = Raw::default();
    let status = Target::new(Field::Status);
    raw.set_mapped(status, Scalar::I64(i64::from(c.status)));
    // The bracketed time has whole seconds; a trailing nginx `msec=` refines it.
    raw.set_mapped(
        Target::new(Field::Ts).unit(Unit::Millis).prio(1),
        Scalar::I64(c.time_ms),
    );
    // The request line comes first; trailing fields only fill what it lacks.
    if let Some(m) = c.method {
        raw.set_mapped(Target::new(Field::Method), Scalar::Str(m));
    }
    if let Some(target) = c.target {
        let field = if target.starts_with('/') {
            Field::Path
        } else {
            Field::Url
        };
        raw.set_mapped(Target::new(field), Scalar::Str(target));
    }
    for (key, value) in c.extra {
        let (target, value) = match key {
            "rt" | "request_time" => (
                Target::new(Field::Latency).unit(Unit::Seconds),
                first_number(&value),
            ),
            "urt" | "upstream_response_time" => (
                Target::new(Field::Latency).unit(Unit::Seconds).prio(1),
                first_number(&value),
            ),
            "msec" => (
                Target::new(Field::Ts).unit(Unit::Seconds),
                first_number(&value),
            ),
            "http_host" => (Target::new(Field::Host), Some(Scalar::Str(value))),
            "host" => (Target::new(Field::Host).prio(1), Some(Scalar::Str(value))),
            // Status and time come from the line itself.
            _ => match raw.field_of(key, map) {
                Field::Other | Field::Status | Field::HttpStatus | Field::Ts => continue,
                f => (Target::new(f).prio(2), Some(Scalar::Str(value))),
            },
        };
        if let Some(v) = value {
            raw.set_mapped(target, v);
        }
    }
    finish(&mut raw, map, ShapeKind::Clf.status_paths())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{test_map, test_name};

    #[test]
    fn logfmt_lines() {
        let r = logfmt(
            br#"ts=2026-11-20T10:00:00Z method=GET url=https://api.simkl.com/sync/x status=429 latency_ms=12.5 client_id=app attempt=2 retry_after=30 error=rate_limit message="too many requests""#,
            Some(&test_map()),
        )
        .unwrap();
        assert_eq!(r.status, 429);
        assert_eq!(test_name(r.provider), "simkl");
        assert_eq!(r.attempt, Some(2));
        assert_eq!(r.retry_after_s, Some(30.0));
        assert_eq!(r.message.as_deref(), Some("too many requests"));
        assert_eq!(r.ts_ms, Some(1_795_168_800_000));
    }

    #[test]
    fn clf_lines() {
        let line = br#"10.0.0.1 - - [20/Nov/2026:10:00:00 +0000] "GET /3/movie/550?api_key=x HTTP/1.1" 401 87 "-" "curl/8" rt=0.250 urt="0.240" host=api.themoviedb.org client_id=app"#;
        let r = clf(line, Some(&test_map())).unwrap();
        assert_eq!((r.status, test_name(r.provider)), (401, "tmdb"));
        assert_eq!(r.path(), Some("/3/movie/550"));
        assert_eq!(r.latency_ms, Some(250.0));
        assert_eq!(r.client_id.as_deref(), Some("app"));
        assert_eq!(r.ts_ms, Some(1_795_168_800_000));
    }
}
