//! Lenient scalar values: one visitor that accepts any JSON value without failing.
//!
//! Real logs put numbers in strings, strings in numbers and objects where a scalar was
//! expected. A wrong type in one field must not make the whole line malformed, so every
//! field is first read as a [`Scalar`] and converted afterwards; nested arrays and objects
//! are consumed without being built.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Any JSON value, reduced to what a field mapping needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    /// A string, borrowed from the input when it has no escapes.
    Str(Cow<'a, str>),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer too large for `i64`.
    U64(u64),
    /// A floating-point number.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// An array, with its element count.
    Seq(usize),
    /// An object (consumed, not kept).
    Map,
}

impl<'a> Scalar<'a> {
    /// The value as an integer: integers, integral floats and numeric strings.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Scalar::I64(v) => Some(*v),
            Scalar::U64(v) => i64::try_from(*v).ok(),
            Scalar::F64(v) if v.fract() == 0.0 && v.is_finite() && v.abs() < 9.0e15 => {
                Some(*v as i64)
            }
            Scalar::Str(s) => {
                let t = s.trim();
                t.parse::<i64>().ok().or_else(|| {
                    // "429.0" is still a usable integer; "4e2" is not worth guessing at.
                    t.parse::<f64>()
                        .ok()
                        .filter(|f| f.fract() == 0.0 && f.is_finite() && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })
            }
            _ => None,
        }
    }

    /// The value as a finite number: any number or numeric string.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        let v = match self {
            Scalar::I64(v) => *v as f64,
            Scalar::U64(v) => *v as f64,
            Scalar::F64(v) => *v,
            Scalar::Str(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        v.is_finite().then_some(v)
    }

    /// The value as a string, when it is one.
    pub(crate) fn into_str(self) -> Option<Cow<'a, str>> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a boolean: JSON booleans and the strings "true"/"false".
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            Scalar::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Scalar::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
}

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Scalar::U64(v), Scalar::I64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Scalar::Seq(n))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Map)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(json: &str) -> Scalar<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn integers_from_numbers_and_strings() {
        assert_eq!(s("429").as_i64(), Some(429));
        assert_eq!(s("\"429\"").as_i64(), Some(429));
        assert_eq!(s("\" 404 \"").as_i64(), Some(404));
        assert_eq!(s("429.0").as_i64(), Some(429));
        assert_eq!(s("429.5").as_i64(), None);
        assert_eq!(s("\"abc\"").as_i64(), None);
        assert_eq!(s("true").as_i64(), None);
        assert_eq!(s("18446744073709551615").as_i64(), None);
    }

    #[test]
    fn nested_values_are_consumed() {
        assert_eq!(s("[1,[2],{\"a\":3}]"), Scalar::Seq(3));
        assert_eq!(s("{\"a\":{\"b\":[1]}}"), Scalar::Map);
    }

    #[test]
    fn borrowed_when_unescaped() {
        assert!(matches!(
            s("\"plain\""),
            Scalar::Str(Cow::Borrowed("plain"))
        ));
        assert!(matches!(s("\"a\\nb\""), Scalar::Str(Cow::Owned(_))));
    }
}
