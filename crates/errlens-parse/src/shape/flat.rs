//! The flat shape: one JSON object per line with errlens' own field names and their
//! aliases (`ts`/`time`/`timestamp`/`@timestamp`, `status`/`http_status`,
//! `latency_ms`/`duration_ms`/`elapsed_ms`, the Simkl and TMDB envelope fields at the
//! top level). The common plain line is read by the scanner in [`super::fast`];
//! anything it does not accept (escapes, nested values, non-ASCII bytes, unusual
//! numbers, invalid JSON) goes through serde_json, which has the last word on what is
//! valid. A field of the wrong type is ignored rather than failing the line.

use crate::provider::ProviderMap;
use crate::raw::{Field, Raw};
use crate::record::{ParseError, Record};
use crate::value::Scalar;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// Parses one JSON-lines request record.
///
/// The common flat shape is read by a scanner ([`crate::fast`]); anything it does not
/// accept (escapes, nested values, non-ASCII bytes, unusual numbers, invalid JSON) goes
/// through serde_json, which has the last word on what is valid.
///
/// This is the flat shape without a provider map (every record is of the unknown
/// provider); [`parse_line_with`] names providers, and the ingest front
/// ([`crate::front`]) reads every shape.
#[inline]
pub fn parse_line(line: &[u8]) -> Result<Record<'_>, ParseError> {
    parse(line, None)
}

/// Parses one flat line, naming its provider with `map`.
#[inline]
pub fn parse_line_with<'a>(line: &'a [u8], map: &ProviderMap) -> Result<Record<'a>, ParseError> {
    parse(line, Some(map))
}

/// Parses one flat line.
#[inline]
pub(crate) fn parse<'a>(
    line: &'a [u8],
    map: Option<&ProviderMap>,
) -> Result<Record<'a>, ParseError> {
    // Filled in place: the record-to-be is a few hundred bytes, not worth moving.
    let mut raw = Raw::default();
    // One `take_record` call for both paths: the record is then built where the
    // caller keeps it (two calls cost a copy of the whole record each line).
    let fast = super::fast::scan(line, &mut raw, map);
    if !fast {
        raw = parse_serde(line, map)?;
    }
    let rec = raw.take_record(map);
    if fast {
        // The fast path borrows every string from the line (it takes no escapes), so
        // the record-to-be owns nothing and is not dropped field by field (~35
        // instructions a line).
        debug_assert!(raw.owns_nothing());
        std::mem::forget(raw);
    }
    rec
}

/// Reads one line with serde_json only (the reference the fast path must equal).
pub(crate) fn parse_serde<'a>(
    line: &'a [u8],
    map: Option<&ProviderMap>,
) -> Result<Raw<'a>, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let raw = match de.deserialize_map(RawVisitor { map }) {
        Ok(raw) => raw,
        Err(e) if e.is_data() => return Err(ParseError::NotObject),
        Err(e) => return Err(ParseError::InvalidJson(json_reason(&e))),
    };
    de.end()
        .map_err(|e| ParseError::InvalidJson(json_reason(&e)))?;
    Ok(raw)
}

/// The flat line read by the fast scanner alone (`None` when it leaves the line to
/// serde_json) and by serde_json alone: the two readings that must agree whenever the
/// scanner answers. A hook for the fuzz targets (`crates/errlens-fuzz`), not API.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn fast_and_serde<'a>(
    line: &'a [u8],
    map: Option<&ProviderMap>,
) -> (
    Option<Result<Record<'a>, ParseError>>,
    Result<Record<'a>, ParseError>,
) {
    let mut raw = Raw::default();
    let fast = super::fast::scan(line, &mut raw, map).then(|| raw.into_record(map));
    let serde = parse_serde(line, map).and_then(|raw| raw.into_record(map));
    (fast, serde)
}

/// Parses one line with serde_json only, to a record.
#[cfg(test)]
pub(crate) fn parse_line_serde(line: &[u8]) -> Result<Record<'_>, ParseError> {
    parse_serde(line, None)?.into_record(None)
}

/// A short reason without serde_json's line number (always 1 for one line).
pub(crate) fn json_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => format!("{} at column {}", &msg[..i], e.column()),
        None => msg,
    }
}

/// Reads a JSON object's fields into a [`Raw`] read with `map`.
pub(crate) struct RawVisitor<'m> {
    pub(crate) map: Option<&'m ProviderMap>,
}

/// A key, as the field it names (extra keys recorded in the record-to-be).
struct KeySeed<'r, 'a, 'm>(&'r mut Raw<'a>, Option<&'m ProviderMap>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_, '_> {
    type Value = Field;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeySeed<'_, '_, '_> {
    type Value = Field;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(self.0.field_of(v, self.1))
    }
}

impl<'de> Visitor<'de> for RawVisitor<'_> {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        while let Some(field) = map.next_key_seed(KeySeed(&mut raw, self.map))? {
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
