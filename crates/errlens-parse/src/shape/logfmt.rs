//! logfmt (`key=value key2="quoted \"value\""`): the text grammar, written with `nom`.
//!
//! The grammar follows the go-logfmt decoder (`github.com/go-logfmt/logfmt`), the
//! reference implementation of the Heroku logfmt convention:
//!
//! ```text
//! line   = sep* ( pair ( sep+ pair )* )? sep*
//! sep    = any byte <= ' '                (space, tab, CR, other ASCII controls)
//! pair   = key ( '=' value? )?            (a lone `key` or `key=` has an empty value)
//! key    = ( any char > ' ' except '=' and '"' )+
//! value  = quoted | bare
//! bare   = ( any char > ' ' except '=' and '"' )+
//! quoted = '"' ( char except '"' and '\' | escape )* '"'
//! escape = '\' ( '"' | '\' | '/' | '\'' | 'b' | 'f' | 'n' | 'r' | 't' | 'u' hex{4} )
//! ```
//!
//! Behaviours worth knowing (all as go-logfmt does, unless marked):
//!
//! * `=` and `"` inside a **bare** value are errors (`a=b=c`, `a=b"c`): go-logfmt's
//!   encoder always quotes values containing them, so such a line was not written by a
//!   logfmt encoder.
//! * `\uXXXX` escapes decode UTF-16, surrogate pairs included; a lone surrogate becomes
//!   U+FFFD (as go-logfmt and `encoding/json` do). `\'` is accepted, like go-logfmt.
//! * Raw control characters inside a quoted value are kept as they are (go-logfmt keeps
//!   them only when the value has no escape; here it is the same either way).
//! * A quoted value must be followed by a separator or the end of the line (go-logfmt
//!   also accepts `a="x"b=c`; here that is an error — stricter, by design).
//! * A line must have at least one `=` to be logfmt: `hello world` is two lone keys to
//!   go-logfmt, but here it is plain text and an error.

use std::borrow::Cow;

use nom::character::complete::char;
use nom::combinator::opt;
use nom::error::{ErrorKind, ParseError};
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// Why a line is not logfmt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextError(pub(crate) String);

/// Calls `f` with every `key=value` pair of `line`, in order (a quoted value unescaped;
/// a bare key without `=` gives an empty value). Returns the number of pairs; an error
/// when the line is not logfmt (no pair with `=`, an unterminated quote, …).
///
/// `f` is called only when the whole line is logfmt: on `Err` it has not been called at
/// all. (The line is validated in a first, allocation-free pass; a second pass decodes
/// and calls `f`.) Values without escapes are [`Cow::Borrowed`] slices of `line`; only a
/// quoted value with an escape allocates.
pub(crate) fn for_each_pair<'a>(
    line: &'a str,
    f: &mut dyn FnMut(&'a str, Cow<'a, str>),
) -> Result<usize, TextError> {
    // Cheap reject of plain-text lines: no `=` at all, no pair with a value.
    if memchr::memchr(b'=', line.as_bytes()).is_none() {
        return Err(TextError("logfmt: no key=value pair".into()));
    }
    // Pass 1: validate only (no decoding, no allocation, `f` untouched).
    let pairs = scan(line, false, &mut |_, _| {})?;
    // Pass 2: the line is known to be valid; decode and report.
    let again = scan(line, true, &mut |k, v| f(k, v))?;
    debug_assert_eq!(pairs, again);
    Ok(again)
}

/// Runs the grammar over `line`, calling `f` for every pair. With `decode` false the
/// values passed to `f` are not decoded (quoted values with escapes are only validated,
/// and `f` receives an empty value for them).
fn scan<'a, F: FnMut(&'a str, Cow<'a, str>)>(
    line: &'a str,
    decode: bool,
    f: &mut F,
) -> Result<usize, TextError> {
    let mut rest = line;
    let mut pairs = 0usize;
    let mut with_equals = false;
    loop {
        rest = skip_sep(rest);
        if rest.is_empty() {
            break;
        }
        match pair(rest, decode) {
            Ok((after, (key, value))) => {
                // A pair ends at a separator or at the end of the line.
                if let Some(&b) = after.as_bytes().first() {
                    if !is_sep(b) {
                        return Err(Fail::unexpected(after).into_text(line));
                    }
                }
                with_equals |= value.is_some();
                pairs += 1;
                f(key, value.unwrap_or(Cow::Borrowed("")));
                rest = after;
            }
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => return Err(e.into_text(line)),
            // Only `complete` parsers are used; they never ask for more input.
            Err(nom::Err::Incomplete(_)) => {
                return Err(TextError("logfmt: incomplete input".into()));
            }
        }
    }
    if with_equals {
        Ok(pairs)
    } else {
        Err(TextError("logfmt: no key=value pair".into()))
    }
}

/// Why the grammar stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// Something other than what the grammar allows here (reported as the character).
    Unexpected,
    /// A quoted value without its closing `"`.
    Unterminated,
    /// A `\` escape that is not one of the allowed ones.
    BadEscape,
}

/// The `nom` error type of this grammar: where it stopped and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fail<'a> {
    /// The remaining input at the point of failure.
    at: &'a str,
    /// The reason.
    why: Why,
}

impl<'a> Fail<'a> {
    /// An unexpected character (or end of line) at `at`.
    fn unexpected(at: &'a str) -> Self {
        Fail {
            at,
            why: Why::Unexpected,
        }
    }

    /// The human-readable error, with the byte offset into `line`.
    fn into_text(self, line: &str) -> TextError {
        let pos = line.len().saturating_sub(self.at.len());
        let msg = match self.why {
            Why::Unterminated => format!("logfmt: unterminated quoted value at byte {pos}"),
            Why::BadEscape => format!("logfmt: invalid escape in quoted value at byte {pos}"),
            Why::Unexpected => match self.at.chars().next() {
                Some(c) => format!("logfmt: unexpected {c:?} at byte {pos}"),
                None => format!("logfmt: unexpected end of line at byte {pos}"),
            },
        };
        TextError(msg)
    }
}

impl<'a> ParseError<&'a str> for Fail<'a> {
    fn from_error_kind(at: &'a str, _kind: ErrorKind) -> Self {
        Fail::unexpected(at)
    }

    fn append(_at: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// The parse result of this grammar.
type PResult<'a, T> = IResult<&'a str, T, Fail<'a>>;

/// A separator byte: any byte at or below `' '`.
fn is_sep(b: u8) -> bool {
    b <= b' '
}

/// A key or bare-value byte: above `' '`, not `=` and not `"` (every non-ASCII byte is one).
fn is_word(b: u8) -> bool {
    WORD[usize::from(b)]
}

/// [`is_word`] as a table: one load per byte in the hot loop.
static WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = b' ' as usize + 1;
    while b < 256 {
        t[b] = b != b'=' as usize && b != b'"' as usize;
        b += 1;
    }
    t
};

/// The length of the longest prefix of `input` made of bytes satisfying `pred`. Since
/// the predicates here answer alike for every non-ASCII byte, the prefix ends at an
/// ASCII byte or at the end: always a char boundary. (Byte-wise for speed; `nom`'s own
/// `take_while` decodes chars.)
fn span(input: &str, pred: impl Fn(u8) -> bool) -> usize {
    input.bytes().position(|b| !pred(b)).unwrap_or(input.len())
}

/// Skips separators.
fn skip_sep(input: &str) -> &str {
    &input[span(input, is_sep)..]
}

/// A key, or a bare value: one or more word bytes.
fn word(input: &str) -> PResult<'_, &str> {
    match span(input, is_word) {
        0 => Err(nom::Err::Error(Fail::unexpected(input))),
        n => Ok((&input[n..], &input[..n])),
    }
}

/// One pair: `key`, `key=`, `key=bare` or `key="quoted"`. The value is `None` for a lone
/// key (no `=`), `Some("")` for `key=`.
fn pair<'a>(input: &'a str, decode: bool) -> PResult<'a, (&'a str, Option<Cow<'a, str>>)> {
    (word, opt(preceded(char('='), opt(|i| value(i, decode)))))
        .map(|(key, value)| (key, value.map(|v| v.unwrap_or(Cow::Borrowed("")))))
        .parse(input)
}

/// A value: quoted or bare. Fails (recoverably) at a separator or the end of the line,
/// so that `key=` gives an empty value.
fn value<'a>(input: &'a str, decode: bool) -> PResult<'a, Cow<'a, str>> {
    if input.starts_with('"') {
        quoted(input, decode)
    } else {
        word.map(Cow::Borrowed).parse(input)
    }
}

/// A quoted value, from its opening `"` (the first byte of `input`) through its closing
/// `"`. Without escapes the value borrows from the input; with them it is decoded into
/// an owned string when `decode` is set (and only validated otherwise, giving `""`).
fn quoted(input: &str, decode: bool) -> PResult<'_, Cow<'_, str>> {
    let fail = |at, why| nom::Err::Failure(Fail { at, why });
    let body = &input[1..];
    let bytes = body.as_bytes();
    let Some(first) = memchr::memchr2(b'"', b'\\', bytes) else {
        return Err(fail(input, Why::Unterminated));
    };
    if bytes[first] == b'"' {
        return Ok((&body[first + 1..], Cow::Borrowed(&body[..first])));
    }
    let mut out = decode.then(|| {
        let mut s = String::with_capacity(body.len().min(first + 64));
        s.push_str(&body[..first]);
        s
    });
    let mut i = first;
    loop {
        // Here `bytes[i]` is `"` or `\`, and everything before it is already handled.
        if bytes[i] == b'"' {
            let value = out.map_or(Cow::Borrowed(""), Cow::Owned);
            return Ok((&body[i + 1..], value));
        }
        let (len, c) = match escape(&bytes[i..]) {
            Ok(ok) => ok,
            Err(Why::Unterminated) => return Err(fail(input, Why::Unterminated)),
            Err(why) => return Err(fail(&body[i..], why)),
        };
        if let Some(out) = out.as_mut() {
            out.push(c);
        }
        i += len;
        let start = i;
        match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
            Some(j) => i += j,
            None => return Err(fail(input, Why::Unterminated)),
        }
        if let Some(out) = out.as_mut() {
            out.push_str(&body[start..i]);
        }
    }
}

/// One escape at the start of `b` (which starts with `\`): its length in bytes and the
/// character it stands for. `Unterminated` when the line ends inside the escape's
/// introducer, `BadEscape` for anything not in the grammar.
fn escape(b: &[u8]) -> Result<(usize, char), Why> {
    let Some(&e) = b.get(1) else {
        return Err(Why::Unterminated);
    };
    let c = match e {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'\'' => '\'',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(&b[2..]).ok_or(Why::BadEscape)?;
            if (0xD800..0xDC00).contains(&hi) {
                // A high surrogate: a low one must follow to make a pair.
                if b.get(6..8) == Some(b"\\u".as_slice()) {
                    if let Some(lo @ 0xDC00..=0xDFFF) = hex4(&b[8..]) {
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        let c = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
                        return Ok((12, c));
                    }
                }
            }
            // A scalar value, or a lone surrogate (replaced, as go-logfmt does).
            return Ok((6, char::from_u32(hi).unwrap_or(char::REPLACEMENT_CHARACTER)));
        }
        _ => return Err(Why::BadEscape),
    };
    Ok((2, c))
}

/// Four hex digits at the start of `b`.
fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = (d as char).to_digit(16)?;
        Some((acc << 4) | v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All pairs of `line` as owned strings.
    fn pairs(line: &str) -> Result<Vec<(String, String)>, TextError> {
        let mut out = Vec::new();
        let n = for_each_pair(line, &mut |k, v| out.push((k.to_owned(), v.into_owned())))?;
        assert_eq!(n, out.len());
        Ok(out)
    }

    /// `pairs` with borrowed literals, for terse expectations.
    fn expect(line: &str, want: &[(&str, &str)]) {
        let got = pairs(line).unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, want, "{line:?}");
    }

    #[test]
    fn brandur_heroku_example() {
        expect(
            r#"at=info method=GET path=/ host=mutelight.org fwd="124.133.52.161" dyno=web.2 connect=4ms service=8ms status=200 bytes=1653"#,
            &[
                ("at", "info"),
                ("method", "GET"),
                ("path", "/"),
                ("host", "mutelight.org"),
                ("fwd", "124.133.52.161"),
                ("dyno", "web.2"),
                ("connect", "4ms"),
                ("service", "8ms"),
                ("status", "200"),
                ("bytes", "1653"),
            ],
        );
    }

    #[test]
    fn brandur_article_other_examples() {
        expect(
            r#"level=info msg="Stopping all fetchers" tag=stopping_fetchers id=ConsumerFetcherManager-1382721708341 module=kafka.consumer.ConsumerFetcherManager"#,
            &[
                ("level", "info"),
                ("msg", "Stopping all fetchers"),
                ("tag", "stopping_fetchers"),
                ("id", "ConsumerFetcherManager-1382721708341"),
                ("module", "kafka.consumer.ConsumerFetcherManager"),
            ],
        );
        expect(
            "foo=bar a=14 baz=\"hello kitty\" cool%story=bro f %^asdf",
            &[
                ("foo", "bar"),
                ("a", "14"),
                ("baz", "hello kitty"),
                ("cool%story", "bro"),
                ("f", ""),
                ("%^asdf", ""),
            ],
        );
    }

    #[test]
    fn empty_and_lone_keys() {
        expect("a= b=2", &[("a", ""), ("b", "2")]);
        expect("a=", &[("a", "")]);
        expect("a b=1 c", &[("a", ""), ("b", "1"), ("c", "")]);
        expect(r#"a="""#, &[("a", "")]);
        expect("  \t a=1\t\tb=2 \r", &[("a", "1"), ("b", "2")]);
        expect("ключ=значение ü=ö", &[("ключ", "значение"), ("ü", "ö")]);
        expect(r"k=C:\path\x", &[("k", r"C:\path\x")]);
    }

    #[test]
    fn quoted_escapes() {
        expect(
            r#"msg="say \"hi\"\\ \/ \n\r\t\b\f" x=1"#,
            &[("msg", "say \"hi\"\\ / \n\r\t\u{8}\u{c}"), ("x", "1")],
        );
        expect(r#"u="\u00e9\u4e2d""#, &[("u", "é中")]);
        expect(r#"u="\ud83d\ude00!""#, &[("u", "😀!")]);
        expect(r#"u="\uD83D\uDE00""#, &[("u", "😀")]);
        expect(r#"u="\ud83dx""#, &[("u", "\u{fffd}x")]);
        expect(r#"u="\ude00""#, &[("u", "\u{fffd}")]);
        expect(r#"u="\ud83d\u0041""#, &[("u", "\u{fffd}A")]);
        expect(r#"q="it\'s""#, &[("q", "it's")]);
        expect(r#"m="a=b c" "#, &[("m", "a=b c")]);
    }

    #[test]
    fn borrowed_without_escape() {
        let line = r#"a=1 b="two words" c="esc\"aped""#;
        let mut kinds = Vec::new();
        for_each_pair(line, &mut |k, v| {
            kinds.push((k, matches!(v, Cow::Borrowed(_))));
        })
        .unwrap();
        assert_eq!(kinds, vec![("a", true), ("b", true), ("c", false)]);
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "   ",
            "hello world",
            "just text, no pairs",
            r#"a="unterminated"#,
            r#"a="esc at end\"#,
            r#"a="bad \x escape""#,
            r#"a="bad \u12 escape""#,
            r#"a="bad \u12g4""#,
            r#"a=1 "b=2""#,
            r#""a"=1"#,
            "=1",
            "a=1 =2",
            "a==b",
            "a=b=c",
            r#"a=b"c"#,
            r#"a="x"b=1"#,
            r#"a="x"#,
            "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1",
        ] {
            let mut called = false;
            let r = for_each_pair(bad, &mut |_, _| called = true);
            assert!(r.is_err(), "{bad:?} parsed as {:?}", pairs(bad));
            assert!(!called, "{bad:?}: f called before the error");
        }
    }

    #[test]
    fn error_messages() {
        let e = pairs(r#"a=1 b="open"#).unwrap_err();
        assert_eq!(e.0, "logfmt: unterminated quoted value at byte 6");
        let e = pairs(r#"a=1 "b"=2"#).unwrap_err();
        assert_eq!(e.0, "logfmt: unexpected '\"' at byte 4");
        let e = pairs(r#"a="\q""#).unwrap_err();
        assert_eq!(e.0, "logfmt: invalid escape in quoted value at byte 3");
        let e = pairs("a=b=c").unwrap_err();
        assert_eq!(e.0, "logfmt: unexpected '=' at byte 3");
        let e = pairs("plain text").unwrap_err();
        assert_eq!(e.0, "logfmt: no key=value pair");
    }

    /// Serialises like go-logfmt's encoder: bare when possible, else quoted with
    /// escapes; `unicode` also writes non-ASCII characters as `\uXXXX` (UTF-16).
    fn encode(pairs: &[(String, String)], unicode: bool) -> String {
        let mut out = String::new();
        for (k, v) in pairs {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(k);
            out.push('=');
            let needs_quotes = v.bytes().any(|b| !is_word(b));
            let escape_unicode = unicode && !v.is_ascii();
            if !needs_quotes && !escape_unicode {
                out.push_str(v);
                continue;
            }
            out.push('"');
            for c in v.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 || c == '\u{7f}' || (unicode && !c.is_ascii()) => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = for_each_pair(&s, &mut |_, _| {});
        }

        #[test]
        fn never_panics_on_logfmt_ish(s in "[a-c=\" \\\\/u0-9dDfF\t]{0,40}") {
            let _ = for_each_pair(&s, &mut |_, _| {});
        }

        #[test]
        fn never_panics_on_mutated_lines(
            at in 0usize..200,
            insert in "[ \"\\\\=/ux0-9a-fD\u{e9}]{0,8}",
        ) {
            let base = r#"a=1 msg="say \"hi\" \u00e9\ud83d\ude00" k= lone é="ü" z=9"#;
            let mut at = at.min(base.len());
            while !base.is_char_boundary(at) {
                at -= 1;
            }
            let line = format!("{}{insert}{}", &base[..at], &base[at..]);
            let _ = for_each_pair(&line, &mut |_, _| {});
            let _ = for_each_pair(&base[..at], &mut |_, _| {});
        }

        #[test]
        fn never_panics_on_any_string(s in proptest::prelude::any::<String>()) {
            let _ = for_each_pair(&s, &mut |_, _| {});
        }

        #[test]
        fn round_trip(
            kv in proptest::collection::vec(
                ("[!#-<>-~\u{e9}\u{4e2d}\u{1f600}]{1,8}", proptest::prelude::any::<String>()),
                1..8,
            ),
            unicode in proptest::prelude::any::<bool>(),
        ) {
            let line = encode(&kv, unicode);
            let got = pairs(&line).map_err(|e| proptest::test_runner::TestCaseError::fail(
                format!("{line:?}: {e:?}")))?;
            proptest::prop_assert_eq!(got, kv, "line {:?}", line);
        }
    }
}
