//! The flat shape: one JSON object per line with errlens' own field names and their
//! aliases (`ts`/`time`/`timestamp`/`@timestamp`, `status`/`http_status`,
//! `latency_ms`/`duration_ms`/`elapsed_ms`, the Simkl and TMDB envelope fields at the
//! top level). The common plain line is read by the scanner in [`super::fast`];
//! anything it does not accept (escapes, nested values, non-ASCII bytes, unusual
//! numbers, invalid JSON) goes through serde_json, which has the last word on what is
//! valid. A field of the wrong type is ignored rather than failing the line.

use crate::raw::{Field, HostMap, Raw};
use crate::record::{ParseError, Record};
use crate::value::Scalar;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// Parses one JSON-lines request record.
///
/// The common flat shape is read by a scanner ([`crate::fast`]); anything it does not
/// accept (escapes, nested values, non-ASCII bytes, unusual numbers, invalid JSON) goes
/// through serde_json, which has the last word on what is valid.
///
/// This is the flat shape with the built-in provider hosts; the ingest front
/// ([`crate::front`]) reads every shape.
#[inline]
pub fn parse_line(line: &[u8]) -> Result<Record<'_>, ParseError> {
    parse(line, None)
}

/// Parses one flat line, with `--provider-host` overrides.
#[inline]
pub(crate) fn parse<'a>(line: &'a [u8], hosts: Option<&HostMap>) -> Result<Record<'a>, ParseError> {
    // Filled in place: the record-to-be is a few hundred bytes, not worth moving.
    let mut raw = Raw::default();
    if super::fast::scan(line, &mut raw) {
        raw.into_record_with(hosts)
    } else {
        parse_serde(line)?.into_record_with(hosts)
    }
}

/// Reads one line with serde_json only (the reference the fast path must equal).
pub(crate) fn parse_serde(line: &[u8]) -> Result<Raw<'_>, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let raw = match de.deserialize_map(RawVisitor) {
        Ok(raw) => raw,
        Err(e) if e.is_data() => return Err(ParseError::NotObject),
        Err(e) => return Err(ParseError::InvalidJson(json_reason(&e))),
    };
    de.end()
        .map_err(|e| ParseError::InvalidJson(json_reason(&e)))?;
    Ok(raw)
}

/// Parses one line with serde_json only, to a record.
#[cfg(test)]
pub(crate) fn parse_line_serde(line: &[u8]) -> Result<Record<'_>, ParseError> {
    parse_serde(line)?.into_record()
}

/// A short reason without serde_json's line number (always 1 for one line).
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => format!("{} at column {}", &msg[..i], e.column()),
        None => msg,
    }
}

pub(crate) struct RawVisitor;

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
