//! Shape detection: which shape a line, or the start of an input, is in.
//!
//! A JSON line is recognised by its top-level keys (and whether their values are
//! objects): each built-in shape has markers no other shape's lines carry (OTLP's
//! `resourceLogs`, Traefik's `DownstreamStatus`, Envoy's `response_code`, Caddy's
//! `request` object, ECS's `http`/`url`/`event` objects or dotted `http.*` keys, nginx's
//! `request_uri`/`request_time`/`time_iso8601`, the flat names). A text line is CLF when
//! the CLF grammar accepts it, logfmt when the logfmt grammar does and a flat field name
//! is among its keys. An input is sniffed on its first lines: the shape most of them
//! are in wins, and lines in another shape are still read by theirs (see
//! [`crate::front`]). A HAR document is recognised by its first key, `log`.

use crate::raw::Field;
use crate::shape::{clf, logfmt, ShapeKind};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// Lines looked at when sniffing an input.
pub const SNIFF_LINES: usize = 64;
/// Bytes looked at when sniffing an input.
pub const SNIFF_BYTES: usize = 64 << 10;

/// What sniffing the start of an input found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The shape to start with; `None` when no sampled line was in any shape.
    pub shape: Option<ShapeKind>,
    /// Sampled lines per shape they were in, most first.
    pub votes: Vec<(ShapeKind, usize)>,
    /// Non-blank lines sampled.
    pub sampled: usize,
    /// Whether the input looks binary (NUL or many control bytes).
    pub binary: bool,
}

impl Detection {
    /// Why this shape was picked, in one sentence.
    pub fn reason(&self) -> String {
        if self.binary {
            return "the input looks binary (NUL or control bytes), not a text log".to_owned();
        }
        match self.shape {
            Some(ShapeKind::Har) => "the document starts with a HAR `log` object".to_owned(),
            Some(k) => {
                let n = self.votes.iter().find(|(s, _)| *s == k).map_or(0, |v| v.1);
                let others: Vec<String> = self
                    .votes
                    .iter()
                    .filter(|(s, _)| *s != k)
                    .map(|(s, n)| format!("{s} {n}"))
                    .collect();
                let mut s = format!("{n} of {} sampled lines are {k}", self.sampled);
                if !others.is_empty() {
                    s.push_str(&format!(
                        " (also: {}; those lines are read by their own shape)",
                        others.join(", ")
                    ));
                }
                s
            }
            None if self.sampled == 0 => "no lines to sample".to_owned(),
            None => format!("none of {} sampled lines is in a known shape", self.sampled),
        }
    }
}

/// Sniffs the start of an input (up to [`SNIFF_BYTES`] of it).
pub fn sniff(head: &[u8]) -> Detection {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    let controls = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c)))
        .count();
    let binary = !head.is_empty() && (head.contains(&0) || controls * 10 > head.len());
    let mut d = Detection {
        shape: None,
        votes: Vec::new(),
        sampled: 0,
        binary,
    };
    if binary {
        return d;
    }
    if is_har_start(head) && !one_line_of_another_shape(head) {
        d.shape = Some(ShapeKind::Har);
        d.votes.push((ShapeKind::Har, 1));
        d.sampled = 1;
        return d;
    }
    let mut lines = head.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        // A cut last line is no evidence.
        if lines.peek().is_none() && head.len() == SNIFF_BYTES {
            break;
        }
        if crate::frame::is_blank(line) {
            continue;
        }
        d.sampled += 1;
        if let Some(k) = detect_line(line.strip_suffix(b"\r").unwrap_or(line)) {
            match d.votes.iter_mut().find(|(s, _)| *s == k) {
                Some(v) => v.1 += 1,
                None => d.votes.push((k, 1)),
            }
        }
        if d.sampled >= SNIFF_LINES {
            break;
        }
    }
    // Most votes first; ties go to the earlier shape in the list.
    d.votes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    d.shape = d.votes.first().map(|v| v.0);
    d
}

/// Whether the first line is a whole JSON object in a line shape (an ECS event with a
/// `log` object, say), rather than the start of a HAR document.
fn one_line_of_another_shape(head: &[u8]) -> bool {
    let first = head.split(|&b| b == b'\n').next().unwrap_or(b"");
    matches!(detect_line(first), Some(k) if k != ShapeKind::Har)
}

/// Whether a document starts `{ "log":` (white space allowed).
fn is_har_start(head: &[u8]) -> bool {
    let mut rest = head.trim_ascii_start();
    if head.starts_with(b"\xef\xbb\xbf") {
        rest = head[3..].trim_ascii_start();
    }
    let Some(r) = rest.strip_prefix(b"{") else {
        return false;
    };
    r.trim_ascii_start().starts_with(b"\"log\"")
}

/// The shape one line is in, if any.
pub fn detect_line(line: &[u8]) -> Option<ShapeKind> {
    let t = line.trim_ascii();
    if t.first() == Some(&b'{') {
        let keys = top_keys(t)?;
        return json_shape(&keys);
    }
    let text = std::str::from_utf8(t).ok()?;
    if clf::parse(text).is_some() {
        return Some(ShapeKind::Clf);
    }
    let mut known = false;
    let ok = logfmt::for_each_pair(text, &mut |k, _| {
        known |= Field::from_name(k) != Field::Other;
    });
    (ok.is_ok() && known).then_some(ShapeKind::Logfmt)
}

/// A top-level key and whether its value is an object.
type Keys = Vec<(String, bool)>;

fn json_shape(keys: &Keys) -> Option<ShapeKind> {
    let has = |k: &str| keys.iter().any(|(n, _)| n == k);
    let obj = |k: &str| keys.iter().any(|(n, o)| n == k && *o);
    let prefixed = |p: &str| keys.iter().any(|(n, _)| n.starts_with(p));
    let any = |ks: &[&str]| ks.iter().any(|k| has(k));
    if any(&["resourceLogs", "resource_logs"]) {
        return Some(ShapeKind::Otlp);
    }
    let ecs = obj("http")
        || obj("url")
        || obj("event")
        || obj("ecs")
        || prefixed("http.")
        || prefixed("url.")
        || prefixed("event.");
    // ECS events carry a `log` object too (`log.level`, `log.file.path`).
    if obj("log") && !ecs {
        return Some(ShapeKind::Har);
    }
    if any(&[
        "DownstreamStatus",
        "OriginStatus",
        "RequestHost",
        "RequestPath",
        "RouterName",
    ]) {
        return Some(ShapeKind::Traefik);
    }
    if has("response_code") || (has("authority") && has("start_time")) || has("upstream_host") {
        return Some(ShapeKind::Envoy);
    }
    if obj("request") && (has("status") || has("resp_headers")) {
        return Some(ShapeKind::Caddy);
    }
    if ecs {
        return Some(ShapeKind::Ecs);
    }
    if any(&[
        "request_uri",
        "request_time",
        "time_iso8601",
        "upstream_response_time",
        "http_host",
        "request_method",
        "msec",
    ]) {
        return Some(ShapeKind::Nginx);
    }
    keys.iter()
        .any(|(n, _)| Field::from_name(n) != Field::Other)
        .then_some(ShapeKind::Flat)
}

/// The top-level keys of a JSON object line (`None` when it is not one).
fn top_keys(line: &[u8]) -> Option<Keys> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Keys;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
            let mut keys = Vec::new();
            while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let is_obj = map.next_value::<IsObject>()?.0;
                if keys.len() < 256 {
                    keys.push((k.into_owned(), is_obj));
                }
            }
            Ok(keys)
        }
    }
    struct IsObject(bool);
    impl<'de> de::Deserialize<'de> for IsObject {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct O;
            impl<'de> Visitor<'de> for O {
                type Value = IsObject;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any value")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<IsObject, A::Error> {
                    while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(IsObject(true))
                }
                fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<IsObject, A::Error> {
                    while s.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(IsObject(false))
                }
                fn visit_bool<E>(self, _: bool) -> Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_i64<E>(self, _: i64) -> Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_u64<E>(self, _: u64) -> Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_f64<E>(self, _: f64) -> Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_str<E>(self, _: &str) -> Result<IsObject, E> {
                    Ok(IsObject(false))
                }
                fn visit_unit<E>(self) -> Result<IsObject, E> {
                    Ok(IsObject(false))
                }
            }
            d.deserialize_any(O)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    let keys = de.deserialize_map(V).ok()?;
    de.end().ok()?;
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_by_markers() {
        let cases = [
            (
                r#"{"ts":1,"url":"https://api.simkl.com/x","status":200}"#,
                Some(ShapeKind::Flat),
            ),
            (
                r#"{"@timestamp":"x","http":{"response":{"status_code":200}}}"#,
                Some(ShapeKind::Ecs),
            ),
            (r#"{"http.response.status_code":200}"#, Some(ShapeKind::Ecs)),
            (
                r#"{"log":{"level":"info"},"http":{"response":{"status_code":200}}}"#,
                Some(ShapeKind::Ecs),
            ),
            (r#"{"resourceLogs":[]}"#, Some(ShapeKind::Otlp)),
            (
                r#"{"ts":1.5,"request":{"host":"h","uri":"/"},"status":200,"duration":0.1}"#,
                Some(ShapeKind::Caddy),
            ),
            (
                r#"{"start_time":"x","authority":"h","path":"/","response_code":200}"#,
                Some(ShapeKind::Envoy),
            ),
            (
                r#"{"time_iso8601":"x","status":"200","request_uri":"/"}"#,
                Some(ShapeKind::Nginx),
            ),
            (
                r#"{"DownstreamStatus":200,"RequestHost":"h"}"#,
                Some(ShapeKind::Traefik),
            ),
            (
                "status=200 url=https://api.simkl.com/x",
                Some(ShapeKind::Logfmt),
            ),
            (
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#,
                Some(ShapeKind::Clf),
            ),
            ("hello world", None),
            (r#"{"a":1}"#, None),
            ("[1]", None),
        ];
        for (line, want) in cases {
            assert_eq!(detect_line(line.as_bytes()), want, "{line}");
        }
    }

    #[test]
    fn inputs_by_majority() {
        let d = sniff(
            b"{\"status\":200}\nnot json\n{\"status\":500}\n{\"http.response.status_code\":1}\n",
        );
        assert_eq!(d.shape, Some(ShapeKind::Flat));
        assert_eq!(d.votes, [(ShapeKind::Flat, 2), (ShapeKind::Ecs, 1)]);
        assert_eq!(d.sampled, 4);
        assert_eq!(sniff(b"  {\n  \"log\": {").shape, Some(ShapeKind::Har));
        // An ECS event whose first key is its `log` object is ECS, not HAR.
        let ecs = b"{\"log\":{\"level\":\"info\"},\"@timestamp\":\"2026-11-20T10:00:00Z\",\"http\":{\"response\":{\"status_code\":200}}}\n";
        assert_eq!(sniff(ecs).shape, Some(ShapeKind::Ecs));
        assert!(sniff(b"\x00\x01\x02binary").binary);
        assert_eq!(sniff(b"").shape, None);
    }
}
