//! The fast path: a scanner for the flat, plain request line most logs consist of.
//!
//! It accepts only a strict subset of JSON — an ASCII line with no backslash, holding
//! one object whose values are strings, numbers, `true`, `false` or `null` — and returns
//! `None` for everything else, which then goes through serde_json. So it never accepts
//! a line serde_json rejects, and for every line it accepts it produces the same fields:
//! strings are borrowed exactly as serde_json borrows unescaped strings, short plain
//! integers are converted exactly as serde_json converts them, and every other number is
//! handed to serde_json itself. A property test holds it to that
//! (`tests::fast_path_equals_serde`).

use super::key_order::KeyOrder;
use super::structure::Structure;
use crate::provider::ProviderMap;
use crate::raw::{Field, Raw};
use crate::value::Scalar;
use std::borrow::Cow;

/// Scans `line` into `raw` (which starts empty); `false` means "not the simple shape:
/// ask serde_json", and `raw` is then to be discarded.
#[inline]
pub(crate) fn scan<'a>(line: &'a [u8], raw: &mut Raw<'a>, map: Option<&ProviderMap>) -> bool {
    scan_fields(line, raw, map).is_some()
}

fn scan_fields<'a>(line: &'a [u8], raw: &mut Raw<'a>, map: Option<&ProviderMap>) -> Option<()> {
    let mut st = Structure::new();
    if !st.fill(line) {
        return None;
    }
    // Most lines are compact JSON: without a space anywhere, no white space needs
    // skipping between tokens.
    KeyOrder::with(|order| match st.spaces {
        false => scan_object::<false>(line, &st, raw, map, order),
        true => scan_object::<true>(line, &st, raw, map, order),
    })
}

/// The object of a plain line; `SPACES`: whether the line holds a space at all.
#[inline(always)]
fn scan_object<'a, const SPACES: bool>(
    line: &'a [u8],
    st: &Structure,
    raw: &mut Raw<'a>,
    map: Option<&ProviderMap>,
    order: &mut KeyOrder,
) -> Option<()> {
    // Keys beyond errlens' own are looked up only when a definition adds some.
    let extras = map.filter(|m| m.has_extras());
    // SAFETY: `Structure::fill` accepted only bytes in 0x20..=0x7f, and ASCII is valid
    // UTF-8. (Checking again with `str::from_utf8` cost ~4% of a whole report.)
    let s = unsafe { std::str::from_utf8_unchecked(line) };
    let b = s.as_bytes();
    let mut i = ws::<SPACES>(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws::<SPACES>(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        for n in 0.. {
            // The key this line has where the last line had it, else by its name.
            // (Keys a definition adds are always looked up: finding them has effects.)
            let guess = match extras {
                None => order.guess(n, b, i),
                Some(_) => None,
            };
            let field = match guess {
                Some((field, after_colon)) => {
                    i = ws::<SPACES>(b, after_colon);
                    field
                }
                None => {
                    let (key, next) = string(s, st, i)?;
                    let field = match Field::from_name(key) {
                        Field::Other if extras.is_some() => raw.extra_field(key, extras),
                        f => f,
                    };
                    if extras.is_none() && b.get(next) == Some(&b':') {
                        order.learn(n, key, field);
                    }
                    i = ws::<SPACES>(b, next);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    i = ws::<SPACES>(b, i + 1);
                    field
                }
            };
            let keep = !matches!(field, Field::Other);
            // Strings and short plain integers are stored as they are found; every
            // other value is read as a `Scalar` first.
            let int = || match b.get(i) {
                Some(b'0'..=b'9') => plain_int(b, i),
                _ => None,
            };
            let next = if b.get(i) == Some(&b'"') {
                let (v, next) = string(s, st, i)?;
                if keep {
                    raw.set_str(field, v);
                }
                next
            } else if let Some((n, next)) = int() {
                if keep {
                    raw.set_int(field, n);
                }
                next
            } else {
                let (value, next) = value(s, st, i)?;
                if keep {
                    raw.set(field, value);
                }
                next
            };
            i = ws::<SPACES>(b, next);
            match b.get(i) {
                Some(b',') => i = ws::<SPACES>(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (ws::<SPACES>(b, i) == b.len()).then_some(())
}

/// Skips JSON white space (only spaces can occur: `Structure::fill` sent tabs, CR and LF
/// away;
/// none at all when the line has no space: `SPACES` false).
#[inline(always)]
fn ws<const SPACES: bool>(b: &[u8], mut i: usize) -> usize {
    if SPACES {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
    }
    i
}

/// A string starting at `i` (at its opening quote): its content and the index after it.
#[inline(always)]
fn string<'s>(s: &'s str, st: &Structure, i: usize) -> Option<(&'s str, usize)> {
    if s.as_bytes().get(i) != Some(&b'"') {
        return None;
    }
    // No control characters or escapes here: `Structure::fill` checked the whole line.
    let end = st.quote_from(i + 1)?;
    // SAFETY: `i` holds a quote and `end`, the next quote, is after it and inside the
    // line, so `i + 1 <= end <= s.len()`; `Structure::fill` accepted ASCII only, so
    // every index is a char boundary. (Checked slicing was a call per string, ~120
    // instructions a line.)
    Some((unsafe { s.get_unchecked(i + 1..end) }, end + 1))
}

/// A scalar value starting at `i`, and the index after it.
fn value<'s>(s: &'s str, st: &Structure, i: usize) -> Option<(Scalar<'s>, usize)> {
    let b = s.as_bytes();
    match *b.get(i)? {
        b'"' => string(s, st, i).map(|(v, next)| (Scalar::Str(Cow::Borrowed(v)), next)),
        b't' => s[i..]
            .starts_with("true")
            .then_some((Scalar::Bool(true), i + 4)),
        b'f' => s[i..]
            .starts_with("false")
            .then_some((Scalar::Bool(false), i + 5)),
        b'n' => s[i..].starts_with("null").then_some((Scalar::Null, i + 4)),
        b'-' | b'0'..=b'9' => number(s, i),
        // Arrays, objects and anything else: serde_json decides.
        _ => None,
    }
}

/// A non-negative integer of at most 18 digits starting at `i` (a digit) and the index
/// after it, when the number is just that: no leading zero, no fraction, no exponent
/// (`None` sends it to [`number`], which converts or rejects it exactly as serde_json).
#[inline(always)]
fn plain_int(b: &[u8], i: usize) -> Option<(i64, usize)> {
    // One pass that finds the digits and adds them up (finding them first with
    // `digits` and converting them with `int_value` cost ~270 instructions a line).
    let mut v: i64 = 0;
    let mut j = i;
    while let Some(&d) = b.get(j) {
        if !d.is_ascii_digit() {
            break;
        }
        if j - i == 18 {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
        j += 1;
    }
    let leading_zero = j - i > 1 && b[i] == b'0';
    let more = matches!(b.get(j), Some(b'.' | b'e' | b'E'));
    (!leading_zero && !more).then_some((v, j))
}

/// The value of at most 18 ASCII digits (no overflow is possible).
#[inline(always)]
fn int_value(digits: &[u8]) -> i64 {
    digits.iter().fold(0, |v, &d| v * 10 + i64::from(d - b'0'))
}

/// The index after the run of ASCII digits starting at `i`.
fn digits(b: &[u8], i: usize) -> usize {
    i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// A number starting at `i`: validated against JSON's grammar; short plain integers
/// converted here, every other number by serde_json itself (so the value is the same
/// to the bit).
fn number(s: &str, i: usize) -> Option<(Scalar<'_>, usize)> {
    let b = s.as_bytes();
    let mut j = i;
    if b[j] == b'-' {
        j += 1;
    }
    let int_start = j;
    j = digits(b, j);
    let int_len = j - int_start;
    // JSON: at least one digit, no leading zeros.
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return None;
    }
    let mut plain = true;
    if j < b.len() && b[j] == b'.' {
        plain = false;
        let f = j + 1;
        j = digits(b, f);
        if j == f {
            return None;
        }
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        plain = false;
        j += 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let e = j;
        j = digits(b, e);
        if j == e {
            return None;
        }
    }
    let token = &s[i..j];
    let negative = b[i] == b'-';
    // Up to 18 digits fit both u64 and i64 without overflow; `-0` is left to serde_json.
    if plain && int_len <= 18 && !(negative && token == "-0") {
        let v = int_value(&b[int_start..j]);
        return Some((Scalar::I64(if negative { -v } else { v }), j));
    }
    let v: Scalar<'_> = serde_json::from_str(token).ok()?;
    Some((v, j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use crate::shape::flat::parse_line_serde;
    use proptest::prelude::*;

    /// The fast path, when it answers, must give what serde_json gives.
    fn same(line: &[u8]) {
        let mut raw = Raw::default();
        if scan(line, &mut raw, None) {
            let fast: Result<Record<'_>, _> = raw.into_record(None);
            let slow = parse_line_serde(line);
            assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn takes_the_common_shapes() {
        for l in [
            r#"{"ts":"2026-11-20T10:00:00Z","method":"GET","url":"https://api.simkl.com/x","status":200,"latency_ms":84,"client_id":"k","attempt":1}"#,
            r#"{"error":"client_id_failed","code":412,"message":"client_id failed"}"#,
            r#" { "status" : "429" , "retry_after" : 2.5 , "success" : false , "x" : null } "#,
            r#"{}"#,
        ] {
            assert!(scan(l.as_bytes(), &mut Raw::default(), None), "{l}");
            same(l.as_bytes());
        }
    }

    #[test]
    fn leaves_the_rest_to_serde() {
        for l in [
            r#"{"status":200,"errors":["x"]}"#,
            r#"{"status":200,"h":{"a":1}}"#,
            r#"{"status":200,"m":"caf\u00e9"}"#,
            "{\"status\":200,\"m\":\"caf\u{e9}\"}",
            r#"{"status":01}"#,
            r#"{"status":200,}"#,
            r#"{"status":200} x"#,
            "{\"status\":200,\"m\":\"a\tb\"}",
            r#"[1]"#,
            r#"{"status":tru}"#,
        ] {
            assert!(!scan(l.as_bytes(), &mut Raw::default(), None), "{l}");
        }
    }

    #[test]
    fn numbers_match_serde_to_the_bit() {
        for n in [
            "0",
            "7",
            "-7",
            "123456789012345678",
            "1234567890123456789",
            "18446744073709551616",
            "-9223372036854775809",
            "0.1",
            "1.5e3",
            "2.5E-3",
            "1795168800.123",
            "-0.0",
            "99999999999999999999999",
            "3.141592653589793238462643383279",
            "-0",
            "1e2",
            "-1E+2",
        ] {
            let l = format!(r#"{{"status":200,"latency_ms":{n},"ts":{n},"attempt":{n}}}"#);
            same(l.as_bytes());
        }
    }

    /// Lines whose keys resemble each other (prefixes, case, lengths around 16 bytes)
    /// scanned in every order: the key order remembered from one line must never
    /// change what the next one gives.
    #[test]
    fn key_order_guesses_never_change_a_line() {
        let keys = [
            "status",
            "statuses",
            "statu",
            "Status",
            "status_code",
            "status_message",
            "code",
            "error",
            "client_id",
            "client_id_hash_x",
            "client_id_hash_xy",
            "url",
            "u",
            "",
        ];
        let lines: Vec<String> = (0..keys.len())
            .map(|k| {
                let mut l = String::from("{");
                for j in 0..5 {
                    let key = keys[(k + j * 3) % keys.len()];
                    let value = if j % 2 == 0 { "429" } else { r#""rate_limit""# };
                    l.push_str(&format!(r#""{key}":{value},"#));
                }
                l.push_str(r#""pad":"0123456789abcdef"}"#);
                l
            })
            .collect();
        for a in &lines {
            for b in &lines {
                same(a.as_bytes());
                same(b.as_bytes());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn fast_path_equals_serde(
            cut in 0usize..220,
            byte in prop::sample::select(vec![b'"', b'\\', b',', b':', b'{', b'}', b'[', b' ', b'0', b'-', b'.', b'e', 0u8, 0x1f, 0xc3, b'a']),
            at in 0usize..220,
            pick in 0usize..4,
        ) {
            let bases = [
                br#"{"ts":"2026-11-20T10:00:00Z","method":"GET","url":"https://api.simkl.com/sync/x?y=1","status":429,"latency_ms":12.5,"client_id":"c","attempt":2,"retry_after":10,"error":"rate_limit","code":429}"#.as_slice(),
                br#"{"url":"https://api.themoviedb.org/3/movie/1","http_status":"500","status_code":44,"status_message":"x","success":false,"duration_ms":"7"}"#.as_slice(),
                br#"{"@timestamp":1795168800123,"host":"api.simkl.com","path":"/a/1","status":200,"elapsed_ms":0,"extra":null,"flag":true}"#.as_slice(),
                br#"{"error":"client_id_failed","code":412}"#.as_slice(),
            ];
            let mut v = bases[pick].to_vec();
            if at < v.len() { v[at] = byte; }
            v.truncate(cut.min(v.len()).max(1));
            same(&v);
        }
    }
}
