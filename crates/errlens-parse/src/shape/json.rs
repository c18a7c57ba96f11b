//! JSON shapes mapped by path: a tree of the paths a shape reads, walked once over
//! each object as serde_json parses it, without building a value tree.
//!
//! A path is matched in full, never by its leaf name: `http.response.status_code` is
//! the HTTP status in ECS, while a top-level `status_code` is something else. Nested
//! objects and dotted keys are the same path (`{"http":{"response":{"status_code":1}}}`
//! and `{"http.response.status_code":1}`, or any mix of the two). Values that are not
//! on a path are skipped by serde_json without being built. A path segment written
//! `~name` matches case-insensitively (HTTP header names). A leaf is a value (with unit
//! and priority, see [`Target`]), an embedded response envelope (a JSON string or
//! object parsed a second time for the Simkl/TMDB envelope fields), or a list of
//! `{name, value}` headers.

use crate::provider::ProviderMap;
use crate::raw::{Field, Raw, Target};
use crate::record::ParseError;
use crate::shape::flat;
use crate::value::Scalar;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// What a path leads to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Leaf {
    /// A value for a record field.
    Value(Target),
    /// A response body holding the provider's error envelope: a JSON string (parsed a
    /// second time) or an object.
    Envelope,
    /// An array of `{name, value}` headers: each listed header name
    /// (case-insensitive) fills its target.
    Headers(&'static [(&'static str, Target)]),
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(Box<str>, u32)>,
    /// Children's names compare case-insensitively.
    ci: bool,
    leaf: Option<Leaf>,
}

/// The paths one shape reads.
#[derive(Debug, Clone)]
pub(crate) struct PathMap {
    nodes: Vec<Node>,
}

impl PathMap {
    /// Builds the tree from `(path, leaf)` pairs; paths are dot-separated.
    pub(crate) fn new<'p>(entries: impl IntoIterator<Item = (&'p str, Leaf)>) -> PathMap {
        let mut nodes = vec![Node::default()];
        for (path, leaf) in entries {
            let mut at = 0usize;
            for seg in path.split('.') {
                let (seg, ci) = match seg.strip_prefix('~') {
                    Some(s) => (s, true),
                    None => (seg, false),
                };
                if ci {
                    nodes[at].ci = true;
                }
                let found = nodes[at]
                    .children
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(seg) && (ci || **k == *seg))
                    .map(|&(_, c)| c as usize);
                at = match found {
                    Some(c) => c,
                    None => {
                        nodes.push(Node::default());
                        let c = nodes.len() - 1;
                        nodes[at].children.push((seg.into(), c as u32));
                        c
                    }
                };
            }
            nodes[at].leaf = Some(leaf);
        }
        PathMap { nodes }
    }

    /// The child of `node` named `seg`.
    #[inline]
    fn child(&self, node: u32, seg: &str) -> Option<u32> {
        let n = &self.nodes[node as usize];
        if n.ci {
            n.children
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(seg))
                .map(|&(_, c)| c)
        } else {
            n.children
                .iter()
                .find(|(k, _)| **k == *seg)
                .map(|&(_, c)| c)
        }
    }

    /// The node a key leads to from `node`: the key as one name, else split at dots.
    #[inline]
    fn walk(&self, node: u32, key: &str) -> Option<u32> {
        if let Some(c) = self.child(node, key) {
            return Some(c);
        }
        if !key.contains('.') {
            return None;
        }
        key.split('.').try_fold(node, |at, seg| self.child(at, seg))
    }

    /// Reads one line holding one JSON object into `raw`.
    pub(crate) fn read_line<'a>(
        &self,
        line: &'a [u8],
        raw: &mut Raw<'a>,
        providers: Option<&ProviderMap>,
    ) -> Result<(), ParseError> {
        let mut de = serde_json::Deserializer::from_slice(line);
        match de.deserialize_map(NodeVisitor {
            map: self,
            node: 0,
            raw,
            providers,
        }) {
            Ok(()) => {}
            Err(e) if e.is_data() => return Err(ParseError::NotObject),
            Err(e) => return Err(ParseError::InvalidJson(flat::json_reason(&e))),
        }
        de.end()
            .map_err(|e| ParseError::InvalidJson(flat::json_reason(&e)))
    }

    /// A seed that reads one object (a HAR entry, say) from the root of the tree.
    pub(crate) fn seed<'m, 'r, 'a>(
        &'m self,
        raw: &'r mut Raw<'a>,
        providers: Option<&'m ProviderMap>,
    ) -> NodeSeed<'m, 'r, 'a> {
        NodeSeed {
            map: self,
            node: 0,
            raw,
            providers,
        }
    }
}

/// Reads the value at `node` into the record being built.
pub(crate) struct NodeSeed<'m, 'r, 'a> {
    map: &'m PathMap,
    node: u32,
    raw: &'r mut Raw<'a>,
    providers: Option<&'m ProviderMap>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.map.nodes[self.node as usize].leaf {
            Some(Leaf::Envelope) => d.deserialize_any(EnvelopeVisitor {
                raw: self.raw,
                providers: self.providers,
            }),
            Some(Leaf::Headers(names)) => d.deserialize_any(HeadersVisitor {
                names,
                raw: self.raw,
            }),
            _ => d.deserialize_any(NodeVisitor {
                map: self.map,
                node: self.node,
                raw: self.raw,
                providers: self.providers,
            }),
        }
    }
}

struct KeySeed<'m> {
    map: &'m PathMap,
    node: u32,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<u32>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Option<u32>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<u32>, E> {
        Ok(self.map.walk(self.node, v))
    }
}

struct NodeVisitor<'m, 'r, 'a> {
    map: &'m PathMap,
    node: u32,
    raw: &'r mut Raw<'a>,
    providers: Option<&'m ProviderMap>,
}

impl<'a> NodeVisitor<'_, '_, 'a> {
    fn scalar<E>(self, v: Scalar<'a>) -> Result<(), E> {
        if let Some(Leaf::Value(t)) = self.map.nodes[self.node as usize].leaf {
            self.raw.set_mapped(t, v);
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(next) = map.next_key_seed(KeySeed {
            map: self.map,
            node: self.node,
        })? {
            match next {
                Some(child) => map.next_value_seed(NodeSeed {
                    map: self.map,
                    node: child,
                    raw: self.raw,
                    providers: self.providers,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // A list where a value is expected: a header's values (the first one counts),
        // or TMDB's `errors` (counted).
        match self.map.nodes[self.node as usize].leaf {
            Some(Leaf::Value(t)) if t.field == Field::Errors => {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                self.raw.set_mapped(t, Scalar::Seq(n));
            }
            Some(Leaf::Value(t)) => {
                if let Some(first) = seq.next_element::<Scalar<'de>>()? {
                    self.raw.set_mapped(t, first);
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
            }
            _ => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Scalar::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(i64::try_from(v).map_or(Scalar::U64(v), Scalar::I64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Scalar::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.scalar(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.scalar(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A response body: the Simkl/TMDB envelope, as a JSON string or an object.
pub(crate) struct EnvelopeVisitor<'r, 'a> {
    pub(crate) raw: &'r mut Raw<'a>,
    /// Provider definitions' own envelope keys.
    pub(crate) providers: Option<&'r ProviderMap>,
}

/// Parses `text` as a JSON object and takes its envelope fields (anything else — an
/// HTML error page, plain text — is not an envelope and is ignored).
pub(crate) fn envelope_from_text(raw: &mut Raw<'_>, text: &str, providers: Option<&ProviderMap>) {
    let t = text.trim_start();
    if t.starts_with('{') {
        if let Ok(env) = flat::parse_serde(t.as_bytes(), providers) {
            raw.fill_envelope(env);
        }
    }
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a response body")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        envelope_from_text(self.raw, v, self.providers);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let env = flat::RawVisitor {
            map: self.providers,
        }
        .visit_map(map)?;
        self.raw.fill_envelope(env);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// `[{"name": …, "value": …}, …]`.
struct HeadersVisitor<'r, 'a> {
    names: &'static [(&'static str, Target)],
    raw: &'r mut Raw<'a>,
}

#[derive(serde::Deserialize)]
struct Header<'a> {
    #[serde(borrow, default)]
    name: Option<Scalar<'a>>,
    #[serde(borrow, default)]
    value: Option<Scalar<'a>>,
}

impl<'de> Visitor<'de> for HeadersVisitor<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of headers")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(h) = seq.next_element::<Option<Header<'de>>>()? {
            let Some(Header {
                name: Some(Scalar::Str(name)),
                value: Some(value),
            }) = h
            else {
                continue;
            };
            if let Some((_, t)) = self
                .names
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                self.raw.set_mapped(*t, value);
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // A header map instead of a list: `{"Retry-After": "5"}`.
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            match self
                .names
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                Some((_, t)) => {
                    let v: Scalar<'de> = map.next_value()?;
                    self.raw.set_mapped(*t, v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::Unit;

    fn map() -> PathMap {
        PathMap::new([
            (
                "http.response.status_code",
                Leaf::Value(Target::new(Field::Status)),
            ),
            (
                "event.duration",
                Leaf::Value(Target::new(Field::Latency).unit(Unit::Nanos)),
            ),
            ("http.response.body.content", Leaf::Envelope),
            (
                "resp.~retry-after",
                Leaf::Value(Target::new(Field::RetryAfter)),
            ),
        ])
    }

    fn read(line: &str) -> crate::Record<'_> {
        let mut raw = Raw::default();
        map().read_line(line.as_bytes(), &mut raw, None).unwrap();
        raw.into_record(None).unwrap()
    }

    #[test]
    fn nested_and_dotted_paths_are_one() {
        for l in [
            r#"{"http":{"response":{"status_code":404}}}"#,
            r#"{"http.response.status_code":404}"#,
            r#"{"http":{"response.status_code":404}}"#,
            r#"{"http.response":{"status_code":"404"}}"#,
        ] {
            assert_eq!(read(l).status, 404, "{l}");
        }
    }

    #[test]
    fn full_paths_only() {
        let mut raw = Raw::default();
        map()
            .read_line(
                br#"{"status_code":404,"response":{"status_code":500}}"#,
                &mut raw,
                None,
            )
            .unwrap();
        assert!(raw.into_record(None).is_err());
    }

    #[test]
    fn units_envelopes_and_headers() {
        let r = read(
            r#"{"http.response.status_code":200,"event.duration":1500000,"http":{"response":{"body":{"content":"{\"status_code\":21,\"status_message\":\"x\"}"}}},"resp":{"Retry-After":["7"]}}"#,
        );
        assert_eq!(r.latency_ms, Some(1.5));
        assert_eq!(r.tmdb_code, Some(21));
        assert_eq!(r.retry_after_s, Some(7.0));
    }
}
