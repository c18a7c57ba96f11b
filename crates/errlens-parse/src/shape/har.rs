//! HAR 1.2 documents (browser dev tools, mitmproxy, Charles): one JSON document, read
//! streaming — entry by entry as serde_json reaches it, never as a whole value tree.
//!
//! Each `log.entries[]` element is read by the `har` path table in [`super`]
//! (`startedDateTime`, `time`, `request.method`, `request.url`, `response.status`, the
//! envelope in `response.content.text`, `Retry-After` among `response.headers[]`).

use super::{built, finish, ShapeKind};
use crate::provider::ProviderMap;
use crate::raw::Raw;
use crate::record::{ParseError, Record};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::io;

/// Calls `out` for every entry of a HAR document held in memory; an error means the
/// document is broken from that point (entries before it were delivered).
pub(crate) fn read(
    doc: &[u8],
    providers: Option<&ProviderMap>,
    out: &mut dyn FnMut(Result<&Record<'_>, &ParseError>),
) -> Result<(), ParseError> {
    let mut de = serde_json::Deserializer::from_slice(doc);
    run(&mut de, providers, out)
}

/// Calls `out` for every entry of a HAR document read from `reader`, holding one entry
/// at a time. Returns the number of bytes read and the document error, if any; a read
/// error (not the document's fault) is an `Err`.
pub fn read_stream<R: io::Read>(
    reader: R,
    providers: Option<&ProviderMap>,
    out: &mut dyn FnMut(Result<&Record<'_>, &ParseError>),
) -> io::Result<(u64, Result<(), ParseError>)> {
    let mut counted = Counted {
        inner: reader,
        n: 0,
        failed: None,
    };
    let r = {
        let mut de = serde_json::Deserializer::from_reader(&mut counted);
        run(&mut de, providers, out)
    };
    match counted.failed {
        Some(e) => Err(e),
        None => Ok((counted.n, r)),
    }
}

struct Counted<R> {
    inner: R,
    n: u64,
    /// The read error that ended the document, kept apart from syntax errors.
    failed: Option<io::Error>,
}

impl<R: io::Read> io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.n += n as u64;
                Ok(n)
            }
            Err(e) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                self.failed = Some(e);
                Err(copy)
            }
        }
    }
}

fn run<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    providers: Option<&ProviderMap>,
    out: &mut dyn FnMut(Result<&Record<'_>, &ParseError>),
) -> Result<(), ParseError> {
    let reason = |e: serde_json::Error| ParseError::InvalidJson(format!("HAR document: {e}"));
    (&mut *de)
        .deserialize_map(Doc {
            providers,
            out,
            depth: 0,
        })
        .map_err(reason)?;
    de.end().map_err(reason)
}

/// The document, then `log`: every key but the way to `entries` is skipped.
struct Doc<'h, 'o, 'f> {
    providers: Option<&'h ProviderMap>,
    out: &'o mut (dyn FnMut(Result<&Record<'_>, &ParseError>) + 'f),
    /// 0 at the document, 1 inside `log`.
    depth: u8,
}

impl<'de> Visitor<'de> for Doc<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Doc {
            providers,
            out,
            depth,
        } = self;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match (depth, &*key) {
                (0, "log") => map.next_value_seed(Doc {
                    providers,
                    out: &mut *out,
                    depth: 1,
                })?,
                (1, "entries") => map.next_value_seed(Entries {
                    providers,
                    out: &mut *out,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Doc<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

struct Entries<'h, 'o, 'f> {
    providers: Option<&'h ProviderMap>,
    out: &'o mut (dyn FnMut(Result<&Record<'_>, &ParseError>) + 'f),
}

impl<'de> DeserializeSeed<'de> for Entries<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("HAR entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let b = built(ShapeKind::Har);
        loop {
            let mut raw = Raw::default();
            match seq.next_element_seed(Entry(b.map.seed(&mut raw, self.providers)))? {
                None => return Ok(()),
                Some(false) => {
                    (self.out)(Err(&ParseError::NotObject));
                }
                Some(true) => match finish(&mut raw, self.providers, b.status_paths) {
                    Ok(rec) => (self.out)(Ok(&rec)),
                    Err(e) => (self.out)(Err(&e)),
                },
            }
        }
    }
}

/// One entry: `true` when it was an object.
struct Entry<'m, 'r, 'a>(super::json::NodeSeed<'m, 'r, 'a>);

impl<'de> DeserializeSeed<'de> for Entry<'_, '_, 'de> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(EntryVisitor(self.0))
    }
}

struct EntryVisitor<'m, 'r, 'a>(super::json::NodeSeed<'m, 'r, 'a>);

impl<'de> Visitor<'de> for EntryVisitor<'_, '_, 'de> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        self.0
            .deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(true)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[
      {"startedDateTime":"2026-11-20T10:00:00.000Z","time":84.5,
       "request":{"method":"GET","url":"https://api.themoviedb.org/3/movie/1?api_key=x","headers":[]},
       "response":{"status":200,"headers":[{"name":"Retry-After","value":"3"}],
                   "content":{"size":1,"mimeType":"application/json","text":"{\"success\":false,\"status_code\":21,\"status_message\":\"Entry not found\"}"}}},
      {"startedDateTime":"2026-11-20T10:00:01Z","time":12,"request":{"method":"POST","url":"https://api.simkl.com/sync/history"},
       "response":{"status":0}},
      7
    ]}}"#;

    #[test]
    fn entries_stream_out() {
        let mut got = Vec::new();
        let (n, r) = read_stream(DOC.as_bytes(), None, &mut |r| {
            got.push(
                r.map(|r| (r.status, r.tmdb_code, r.retry_after_s, r.latency_ms))
                    .map_err(|e| e.kind()),
            )
        })
        .unwrap();
        r.unwrap();
        assert_eq!(n, DOC.len() as u64);
        assert_eq!(
            got,
            [
                Ok((200, Some(21), Some(3.0), Some(84.5))),
                Err("no_status"),
                Err("not_object")
            ]
        );
    }

    #[test]
    fn broken_documents_keep_what_was_read() {
        let cut = &DOC[..DOC.find("\"POST\"").unwrap()];
        let mut ok = 0;
        let r = read(cut.as_bytes(), None, &mut |r| ok += usize::from(r.is_ok()));
        assert_eq!(ok, 1);
        assert!(r.is_err());
    }
}
