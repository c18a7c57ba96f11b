//! Common and Combined Log Format lines, with optional trailing `key=value` fields
//! (nginx `rt=`, `urt=`, `host=`): the text grammar, written with `nom`.
//!
//! ```text
//! line     = host SP ident SP authuser SP "[" time "]" SP request SP status SP bytes
//!            ( SP quoted-referer ( SP quoted-user-agent )? )? ( SP trailing )* SP?
//! request  = '"' METHOD SP TARGET ( SP PROTOCOL )? '"'     (anything else: no method/target)
//! status   = 3 digits, 100..=599
//! bytes    = digits | "-"
//! trailing = key "=" ( bare | quoted ) | bare | quoted       (items without a key are skipped)
//! time     = dd "/" Mon "/" yyyy ":" HH ":" MM ":" SS SP ("+" | "-") hhmm
//! ```
//!
//! `SP` is one or more spaces or tabs. Quoted fields use the escapes web servers write:
//! `\"`, `\\`, `\xHH` (nginx; bytes are reassembled as UTF-8, invalid sequences become
//! U+FFFD) and Apache's `\b \n \r \t \v`; an unknown escape is kept as written. A field
//! with no escape borrows from the line, one with an escape is [`Cow::Owned`].
//!
//! Tolerances, for logs as they are found:
//!
//! * a request line without protocol (HTTP/0.9 `"GET /"`) gives method and target; a
//!   garbage request line (`"-"`, a TLS handshake as `\x16\x03…`) gives neither, and the
//!   line still parses;
//! * a `"` inside the request line that the server did not escape (old Apache): the
//!   request ends at the first `"` after which a status follows;
//! * a referer/user agent/trailing quote left open (a truncated line) drops that field
//!   and everything after it, keeping the rest of the line;
//! * trailing items that are not `key=value` (nginx's default `main` format ends in
//!   `"$http_x_forwarded_for"`) are skipped, and so are `-` values (`urt="-"`).
//!
//! `parse` also checks the time with [`time_ms`], so a line with an impossible date is
//! not CLF.

use std::borrow::Cow;

use nom::bytes::complete::{tag, take};
use nom::character::complete::{char, one_of};
use nom::combinator::{map_opt, opt, verify};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};
use smallvec::SmallVec;

use crate::find::first_of;

/// One parsed access-log line. Fields logged as `-` are `None`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClfLine<'a> {
    /// Client address (`%h`).
    pub remote_host: Option<&'a str>,
    /// The request time as logged inside the brackets: `10/Oct/2000:13:55:36 -0700`.
    pub time: &'a str,
    /// That time as Unix milliseconds ([`time_ms`]; `parse` checks it anyway).
    pub time_ms: i64,
    /// The request line's method, when the request line has one.
    pub method: Option<Cow<'a, str>>,
    /// The request target (`/path?query` or an absolute URL).
    pub target: Option<Cow<'a, str>>,
    /// HTTP status.
    pub status: u16,
    /// Response bytes (`-` is `None`).
    pub bytes: Option<u64>,
    /// Combined format: referer.
    pub referer: Option<Cow<'a, str>>,
    /// Combined format: user agent.
    pub user_agent: Option<Cow<'a, str>>,
    /// Trailing `key=value` fields (values unquoted and unescaped; `-` values skipped),
    /// the first [`INLINE_EXTRA`] of them without an allocation.
    pub extra: SmallVec<[(&'a str, Cow<'a, str>); INLINE_EXTRA]>,
}

/// How many trailing fields a line holds without a heap allocation: nginx formats with
/// `rt=`, `urt=`, `host=` and a few application fields fit (a `Vec` grown per line was
/// ~7% of reading a CLF log: an allocation, a reallocation and a free per line).
const INLINE_EXTRA: usize = 8;

/// The parse result of this grammar; errors carry nothing (a line is CLF or it is not).
type PResult<'a, T> = IResult<&'a str, T, ()>;

/// How many `"` inside a request line are tried as its end before giving up (bounds the
/// work on hostile lines full of quotes).
const MAX_REQUEST_QUOTES: usize = 16;

/// Parses one CLF / Combined line; `None` when the line is not one.
pub(crate) fn parse(line: &str) -> Option<ClfLine<'_>> {
    let line = line.trim_end_matches(|c: char| c.is_ascii_whitespace());
    let (rest, (host, _, _, _, _, _, time, _)) = (
        token,
        sp,
        token,
        sp,
        token,
        sp,
        delimited(char('['), run(1, |b| b != b']'), char(']')),
        sp,
    )
        .parse(line)
        .ok()?;
    let time_ms = time_ms(time)?;

    // The request line: the first `"` (not escaped) after which the status follows.
    let body = rest.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut from = 0;
    for _ in 0..MAX_REQUEST_QUOTES {
        let close = from + closing_quote(&bytes[from..])?;
        if let Ok((tail, (status, bytes_sent))) = after_request(&body[close + 1..]) {
            let (method, target) = request(&body[..close]);
            let mut out = ClfLine {
                remote_host: dash_none(host),
                time,
                time_ms,
                method,
                target,
                status,
                bytes: bytes_sent,
                referer: None,
                user_agent: None,
                extra: SmallVec::new(),
            };
            combined_and_trailing(tail, &mut out);
            return Some(out);
        }
        from = close + 1;
    }
    None
}

/// The CLF time `10/Oct/2000:13:55:36 -0700` as Unix milliseconds.
///
/// The format is exactly `dd/Mon/yyyy:HH:MM:SS ±hhmm` (English month abbreviations, as
/// logged: `Oct`); `None` for anything else, including impossible dates (`31/Feb`),
/// hours past 23, minutes or seconds past 59 and offsets past 23:59.
pub(crate) fn time_ms(s: &str) -> Option<i64> {
    let parsed: PResult<'_, _> = (
        digits(2),
        char('/'),
        map_opt(take(3usize), month),
        char('/'),
        digits(4),
        char(':'),
        digits(2),
        char(':'),
        digits(2),
        char(':'),
        digits(2),
        char(' '),
        one_of("+-"),
        digits(2),
        digits(2),
    )
        .parse(s);
    let (rest, (day, _, month, _, year, _, hour, _, min, _, sec, _, sign, oh, om)) = parsed.ok()?;
    if !rest.is_empty()
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
        || oh > 23
        || om > 59
    {
        return None;
    }
    let offset = (oh * 3600 + om * 60) * if sign == '-' { -1 } else { 1 };
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    Some((secs - offset) * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`); `month` is 1..=12.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // 0..=399
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1; // 0..=365
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..=146096
    era * 146_097 + doe - 719_468
}

/// The number of days in `month` (1..=12) of `year`.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The month number of an English three-letter abbreviation, as logged (`Oct`).
fn month(name: &str) -> Option<i64> {
    let m = match name {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    Some(m)
}

/// `nom` parser: the longest run of at least `min` bytes satisfying `pred`. The
/// predicates here answer alike for every non-ASCII byte, so a run ends at an ASCII
/// byte or at the end: always a char boundary. (Byte-wise for speed; `nom`'s own
/// `take_while` decodes chars.)
fn run<'a>(min: usize, pred: impl Fn(u8) -> bool) -> impl Fn(&'a str) -> PResult<'a, &'a str> {
    move |input: &'a str| {
        let n = input.bytes().position(|b| !pred(b)).unwrap_or(input.len());
        if n < min {
            return Err(nom::Err::Error(()));
        }
        Ok((&input[n..], &input[..n]))
    }
}

/// Not a field separator.
fn not_sp(b: u8) -> bool {
    b != b' ' && b != b'\t'
}

/// `nom` parser: exactly `n` ASCII digits, as a number.
fn digits<'a>(n: usize) -> impl Fn(&'a str) -> PResult<'a, i64> {
    move |input: &'a str| {
        let d = input
            .as_bytes()
            .get(..n)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .ok_or(nom::Err::Error(()))?;
        let value = d
            .iter()
            .fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0'));
        Ok((&input[n..], value))
    }
}

/// Field separator: one or more spaces or tabs.
fn sp(input: &str) -> PResult<'_, &str> {
    run(1, |b| b == b' ' || b == b'\t')(input)
}

/// A whitespace-free token.
fn token(input: &str) -> PResult<'_, &str> {
    run(1, not_sp)(input)
}

/// The rest of a whitespace-free token (possibly empty).
fn rest_of_token(input: &str) -> PResult<'_, &str> {
    run(0, not_sp)(input)
}

/// `None` for a field logged as `-`.
fn dash_none(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

/// What must follow the request line's closing quote: status and bytes, each ending at a
/// separator or the end of the line. `Err` when this quote was not the request's end.
fn after_request(input: &str) -> PResult<'_, (u16, Option<u64>)> {
    let status = verify(digits(3), |s| (100..600).contains(s)).map(|s| s as u16);
    let bytes_sent = tag("-")
        .map(|_| None)
        .or(map_opt(run(1, |b| b.is_ascii_digit()), |d: &str| {
            d.parse::<u64>().ok().map(Some)
        }));
    let (rest, fields) = (preceded(sp, status), preceded(sp, bytes_sent)).parse(input)?;
    match rest.chars().next() {
        None | Some(' ' | '\t') => Ok((rest, fields)),
        Some(_) => Err(nom::Err::Error(())),
    }
}

/// The referer and user agent (when quoted fields follow), then the trailing items.
fn combined_and_trailing<'a>(mut rest: &'a str, out: &mut ClfLine<'a>) {
    for slot in 0..2 {
        let Ok((after, raw)) = preceded(sp, quoted).parse(rest) else {
            break;
        };
        let value = dash_none(raw).map(unescape);
        if slot == 0 {
            out.referer = value;
        } else {
            out.user_agent = value;
        }
        rest = after;
    }
    loop {
        let Ok((after, _)) = sp(rest) else {
            // Nothing left, or a field glued to the previous one: drop the remainder.
            return;
        };
        rest = after;
        let Ok((after, (key, value))) = trailing(rest) else {
            // An unterminated quote: the line was cut; keep what was parsed.
            return;
        };
        rest = after;
        if let (Some(key), Some(raw)) = (key, value) {
            if raw != "-" {
                out.extra.push((key, unescape(raw)));
            }
        }
    }
}

/// One trailing item, as `(key, raw value)`: `key=value`, `key="value"`, or an item
/// without a key (a bare token or a quoted string, reported with `key` `None`). Always
/// consumes up to a separator or the end of the line.
fn trailing(input: &str) -> PResult<'_, (Option<&str>, Option<&str>)> {
    if input.starts_with('"') {
        let (rest, _) = quoted(input)?;
        let (rest, _) = rest_of_token(rest)?;
        return Ok((rest, (None, None)));
    }
    let pair = (
        run(1, |b| not_sp(b) && b != b'=' && b != b'"'),
        preceded(char('='), opt(quoted)),
    )
        .parse(input);
    match pair {
        Ok((rest, (key, Some(raw)))) => {
            // Junk glued after a closing quote makes the item keyless.
            let (after, junk) = rest_of_token(rest)?;
            Ok((after, (junk.is_empty().then_some(key), Some(raw))))
        }
        Ok((rest, (key, None))) => {
            let (after, raw) = rest_of_token(rest)?;
            Ok((after, (Some(key), Some(raw))))
        }
        Err(nom::Err::Failure(e)) => Err(nom::Err::Failure(e)),
        Err(_) => {
            let (after, _) = rest_of_token(input)?;
            Ok((after, (None, None)))
        }
    }
}

/// A quoted field: its raw (still escaped) contents. An unterminated quote is a
/// `Failure`, so that alternatives are not tried.
fn quoted(input: &str) -> PResult<'_, &str> {
    let body = input.strip_prefix('"').ok_or(nom::Err::Error(()))?;
    match closing_quote(body.as_bytes()) {
        Some(end) => Ok((&body[end + 1..], &body[..end])),
        None => Err(nom::Err::Failure(())),
    }
}

/// The index of the first `"` in `b` that is not escaped by a `\`.
fn closing_quote(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[i] == b'"' {
            return Some(i);
        }
        i += 2; // the backslash and the byte it escapes
    }
}

/// Splits a raw request line into method and target (see the module doc).
fn request(raw: &str) -> (Option<Cow<'_, str>>, Option<Cow<'_, str>>) {
    let is_sp = |c: char| c == ' ' || c == '\t';
    let Some((method, rest)) = raw.split_once(is_sp) else {
        return (None, None);
    };
    let rest = rest.trim_matches(is_sp);
    // The protocol is the last word, when it looks like one; otherwise HTTP/0.9.
    let target = match rest.rsplit_once(is_sp) {
        Some((t, proto)) if proto.starts_with("HTTP/") => t.trim_end_matches(is_sp),
        _ => rest,
    };
    if method.is_empty()
        || !method.bytes().all(is_tchar)
        || target.is_empty()
        || (target.starts_with("HTTP/") && target == rest)
    {
        return (None, None);
    }
    (Some(Cow::Borrowed(method)), Some(unescape(target)))
}

/// An HTTP token character (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Undoes the web servers' log escaping (see the module doc); borrows when there is
/// nothing to undo.
fn unescape(raw: &str) -> Cow<'_, str> {
    let b = raw.as_bytes();
    // `first_of`, not `memchr`: most values are a few bytes long, where `memchr`'s
    // set-up (a call and ~70 instructions a value) costs more than the search.
    let Some(first) = first_of(b, [b'\\']) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..first]);
    let mut i = first;
    while i < b.len() {
        if b[i] != b'\\' {
            let next = memchr::memchr(b'\\', &b[i..]).map_or(b.len(), |j| i + j);
            out.extend_from_slice(&b[i..next]);
            i = next;
            continue;
        }
        let (byte, len) = match b.get(i + 1) {
            Some(b'"') => (b'"', 2),
            Some(b'\\') => (b'\\', 2),
            Some(b'b') => (0x08, 2),
            Some(b'n') => (b'\n', 2),
            Some(b'r') => (b'\r', 2),
            Some(b't') => (b'\t', 2),
            Some(b'v') => (0x0b, 2),
            Some(b'x') => match (b.get(i + 2).and_then(hex), b.get(i + 3).and_then(hex)) {
                (Some(h), Some(l)) => ((h << 4) | l, 4),
                _ => (b'\\', 1),
            },
            _ => (b'\\', 1),
        };
        out.push(byte);
        i += len;
    }
    Cow::Owned(match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// The value of one hex digit.
fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APACHE_CLF: &str =
        r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
    const APACHE_COMBINED: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    const MUTATION_BASE: &str = r#"h - - [10/Oct/2000:13:55:36 -0700] "GET /q?\x22caf\xC3\xA9\x22 HTTP/1.1" 200 1 "-" "UA \"é\"" rt=0.1 urt="0.2" x="a b""#;

    fn b(s: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(s))
    }

    #[test]
    fn apache_common_example() {
        let l = parse(APACHE_CLF).unwrap();
        assert_eq!(
            l,
            ClfLine {
                remote_host: Some("127.0.0.1"),
                time: "10/Oct/2000:13:55:36 -0700",
                time_ms: 971_211_336_000,
                method: b("GET"),
                target: b("/apache_pb.gif"),
                status: 200,
                bytes: Some(2326),
                referer: None,
                user_agent: None,
                extra: SmallVec::new(),
            }
        );
        assert_eq!(time_ms(l.time), Some(971_211_336_000));
    }

    #[test]
    fn apache_combined_example() {
        let l = parse(APACHE_COMBINED).unwrap();
        assert_eq!(l.status, 200);
        assert_eq!(l.bytes, Some(2326));
        assert_eq!(l.referer, b("http://www.example.com/start.html"));
        assert_eq!(l.user_agent, b("Mozilla/4.08 [en] (Win98; I ;Nav)"));
        assert!(matches!(l.user_agent, Some(Cow::Borrowed(_))));
        assert!(l.extra.is_empty());
    }

    #[test]
    fn nginx_combined_with_timings() {
        let line = r#"203.0.113.7 - - [05/Mar/2024:09:12:45 +0000] "GET /sync/activities?client_id=abc HTTP/1.1" 429 57 "-" "okhttp/4.12.0" rt=0.123 uct="0.000" uht="0.001" urt="0.120" host=api.simkl.com client_id=abc attempt=2"#;
        let l = parse(line).unwrap();
        assert_eq!(l.remote_host, Some("203.0.113.7"));
        assert_eq!(l.method, b("GET"));
        assert_eq!(l.target, b("/sync/activities?client_id=abc"));
        assert_eq!(l.status, 429);
        assert_eq!(l.bytes, Some(57));
        assert_eq!(l.referer, None);
        assert_eq!(l.user_agent, b("okhttp/4.12.0"));
        let extra: Vec<(&str, &str)> = l.extra.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        assert_eq!(
            extra,
            vec![
                ("rt", "0.123"),
                ("uct", "0.000"),
                ("uht", "0.001"),
                ("urt", "0.120"),
                ("host", "api.simkl.com"),
                ("client_id", "abc"),
                ("attempt", "2"),
            ]
        );
        assert!(l.extra.iter().all(|(_, v)| matches!(v, Cow::Borrowed(_))));
        assert_eq!(time_ms(l.time), Some(1_709_629_965_000));
    }

    #[test]
    fn trailing_dashes_and_keyless_items_are_skipped() {
        let line = r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "POST /oauth/token HTTP/2.0" 502 - "-" "-" "198.51.100.2, 10.0.0.9" rt=1.002 urt="-" uct=- note="a \"b\" c" bare q="x=y z" tail="#;
        let l = parse(line).unwrap();
        assert_eq!(l.bytes, None);
        assert_eq!((l.referer.clone(), l.user_agent.clone()), (None, None));
        let extra: Vec<(&str, &str)> = l.extra.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        assert_eq!(
            extra,
            vec![
                ("rt", "1.002"),
                ("note", "a \"b\" c"),
                ("q", "x=y z"),
                ("tail", "")
            ]
        );
    }

    #[test]
    fn dash_fields() {
        let l = parse(r#"- - - [10/Oct/2000:13:55:36 +0000] "-" 400 -"#).unwrap();
        assert_eq!(l.remote_host, None);
        assert_eq!((l.method, l.target), (None, None));
        assert_eq!(l.status, 400);
        assert_eq!(l.bytes, None);
    }

    #[test]
    fn escapes_in_request_and_user_agent() {
        // nginx writes `"` as \x22 and non-ASCII bytes as \xHH.
        let line = r#"::1 - - [10/Oct/2000:13:55:36 -0700] "GET /search?q=\x22caf\xC3\xA9\x22 HTTP/1.1" 200 12 "-" "Mozilla \"quoted\" \\ back""#;
        let l = parse(line).unwrap();
        assert_eq!(l.remote_host, Some("::1"));
        assert_eq!(l.target.as_deref(), Some("/search?q=\"café\""));
        assert!(matches!(l.target, Some(Cow::Owned(_))));
        assert!(matches!(l.method, Some(Cow::Borrowed("GET"))));
        assert_eq!(l.user_agent.as_deref(), Some(r#"Mozilla "quoted" \ back"#));
        let l = parse(MUTATION_BASE).unwrap();
        assert_eq!(l.target.as_deref(), Some("/q?\"café\""));
        assert_eq!(l.user_agent.as_deref(), Some("UA \"é\""));
        assert_eq!(l.extra.len(), 3);
        // Apache writes `"` as \".
        let line = r#"h - - [10/Oct/2000:13:55:36 -0700] "GET /a\"b HTTP/1.1" 200 1"#;
        assert_eq!(parse(line).unwrap().target.as_deref(), Some("/a\"b"));
        // Invalid UTF-8 from \xHH is replaced, unknown escapes kept.
        assert_eq!(unescape(r"a\xFFb\qc\x4"), "a\u{fffd}b\\qc\\x4");
        assert_eq!(unescape(r"tab\there\"), "tab\there\\");
    }

    #[test]
    fn odd_request_lines() {
        let base = |req: &str| format!("h - - [10/Oct/2000:13:55:36 -0700] \"{req}\" 400 0");
        let mt = |req: &str| {
            let line = base(req);
            let l = parse(&line).unwrap();
            (l.method.map(Cow::into_owned), l.target.map(Cow::into_owned))
        };
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(mt("GET /"), (s("GET"), s("/")));
        assert_eq!(mt("GET / HTTP/1.1"), (s("GET"), s("/")));
        assert_eq!(mt("GET /a b HTTP/1.1"), (s("GET"), s("/a b")));
        assert_eq!(
            mt("CONNECT api.simkl.com:443 HTTP/1.1"),
            (s("CONNECT"), s("api.simkl.com:443"))
        );
        assert_eq!(
            mt(r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03"),
            (None, None)
        );
        assert_eq!(mt(""), (None, None));
        assert_eq!(mt("GET"), (None, None));
        assert_eq!(mt("GET HTTP/1.1"), (None, None));
        assert_eq!(mt("G(T / HTTP/1.1"), (None, None));
        // An unescaped quote inside the request line (old Apache).
        assert_eq!(mt(r#"GET /a"b HTTP/1.0"#), (s("GET"), s("/a\"b")));
    }

    #[test]
    fn more_trailing_fields_than_fit_inline_are_all_kept() {
        let n = INLINE_EXTRA + 3;
        let fields: String = (0..n).map(|i| format!(" k{i}=\"v {i}\"")).collect();
        let line = format!(r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 0{fields}"#);
        let l = parse(&line).unwrap();
        assert!(l.extra.spilled());
        let got: Vec<(String, String)> = l
            .extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let want: Vec<(String, String)> = (0..n)
            .map(|i| (format!("k{i}"), format!("v {i}")))
            .collect();
        assert_eq!(got, want);
        assert_eq!(l.time_ms, 971_211_336_000);
    }

    #[test]
    fn truncated_combined_keeps_the_status() {
        let l = parse(r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 503 0 "https://simkl.com/" "Mozilla/5.0 (Win"#).unwrap();
        assert_eq!(l.status, 503);
        assert_eq!(l.referer.as_deref(), Some("https://simkl.com/"));
        assert_eq!(l.user_agent, None);
        let l =
            parse(r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 0 rt=0.1 urt="0.0"#)
                .unwrap();
        let keys: Vec<&str> = l.extra.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec!["rt"]);
    }

    #[test]
    fn whitespace_tolerance() {
        let line = format!("{APACHE_COMBINED}\r\n");
        let l = parse(&line).unwrap();
        assert_eq!(
            l.user_agent.as_deref(),
            Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
        );
        assert!(parse(&APACHE_CLF.replace("] \"", "]\t\"")).is_some());
    }

    #[test]
    fn not_clf() {
        for bad in [
            "",
            "at=info method=GET path=/ status=200",
            r#"{"status":200}"#,
            // status out of range, not 3 digits, or not followed by bytes
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 600 1"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 099 1"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 2000 1"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 20 1"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 x"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 12x"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 99999999999999999999999"#,
            // bad or missing time
            r#"h - - [31/Feb/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#,
            r#"h - - [10/oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#,
            r#"h - - [] "GET / HTTP/1.0" 200 1"#,
            r#"h - - "GET / HTTP/1.0" 200 1"#,
            // missing fields / unterminated request
            r#"h - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] GET / HTTP/1.0 200 1"#,
            r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0 200 1"#,
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn time_conversion() {
        assert_eq!(time_ms("10/Oct/2000:13:55:36 -0700"), Some(971_211_336_000));
        assert_eq!(time_ms("01/Jan/1970:00:00:00 +0000"), Some(0));
        assert_eq!(time_ms("01/Jan/1970:01:00:00 +0100"), Some(0));
        assert_eq!(time_ms("31/Dec/1969:23:59:59 +0000"), Some(-1000));
        assert_eq!(
            time_ms("29/Feb/2024:12:00:00 +0530"),
            Some(1_709_188_200_000)
        );
        assert_eq!(time_ms("29/Feb/2000:00:00:00 +0000"), Some(951_782_400_000));
        assert_eq!(
            time_ms("01/Mar/2100:00:00:00 +0000"),
            Some(4_107_542_400_000)
        );
        for bad in [
            "31/Feb/2000:00:00:00 +0000",
            "29/Feb/2023:00:00:00 +0000",
            "29/Feb/1900:00:00:00 +0000",
            "31/Apr/2000:00:00:00 +0000",
            "00/Jan/2000:00:00:00 +0000",
            "10/OCT/2000:13:55:36 -0700",
            "10/Okt/2000:13:55:36 -0700",
            "10/Oct/2000:24:00:00 -0700",
            "10/Oct/2000:13:60:36 -0700",
            "10/Oct/2000:13:55:60 -0700",
            "10/Oct/2000:13:55:36 -0760",
            "10/Oct/2000:13:55:36 0700",
            "10/Oct/2000:13:55:36",
            "10/Oct/2000:13:55:36 -0700 ",
            "1/Oct/2000:13:55:36 -0700",
            "10/Oct/00:13:55:36 -0700",
            "2000-10-10T13:55:36Z",
            "",
            "10/Oct/2000:13:55:36 -07０0",
        ] {
            assert_eq!(time_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn days_from_civil_matches_a_day_by_day_walk() {
        let mut days = days_from_civil(1600, 1, 1);
        for year in 1600..2500 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(
                        days_from_civil(year, month, day),
                        days,
                        "{year}-{month}-{day}"
                    );
                    days += 1;
                }
            }
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse(&s);
            let _ = time_ms(&s);
        }

        #[test]
        fn never_panics_on_mutated_lines(
            which in 0usize..3,
            at in 0usize..400,
            insert in "[ \"\\\\\\[\\]=x0-9a-f\u{e9}-]{0,6}",
        ) {
            let base = [APACHE_CLF, APACHE_COMBINED, MUTATION_BASE][which];
            let mut at = at.min(base.len());
            while !base.is_char_boundary(at) {
                at -= 1;
            }
            let line = format!("{}{insert}{}", &base[..at], &base[at..]);
            let _ = parse(&line);
            let _ = parse(&base[..at]);
        }

        #[test]
        fn never_panics_on_any_string(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
            let _ = time_ms(&s);
        }

        #[test]
        fn never_panics_on_clf_ish(tail in "[ \"\\\\x0-9a-fA-F=\\-rtGET/HP.]{0,60}") {
            let line = format!("h - - [10/Oct/2000:13:55:36 -0700] \"{tail}");
            let _ = parse(&line);
            let line = format!("h - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 {tail}");
            proptest::prop_assert!(parse(&line).is_some() || !tail.starts_with(' '));
        }

        #[test]
        fn time_round_trips_through_fields(
            year in 0i64..10_000, month in 1i64..=12, day in 1i64..=28,
            hour in 0i64..24, min in 0i64..60, sec in 0i64..60,
            east in proptest::prelude::any::<bool>(), oh in 0i64..24, om in 0i64..60,
        ) {
            let names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let sign = if east { '+' } else { '-' };
            let s = format!("{day:02}/{}/{year:04}:{hour:02}:{min:02}:{sec:02} {sign}{oh:02}{om:02}",
                            names[(month - 1) as usize]);
            let utc = format!("{day:02}/{}/{year:04}:{hour:02}:{min:02}:{sec:02} +0000",
                              names[(month - 1) as usize]);
            let offset_ms = (oh * 3600 + om * 60) * 1000 * if east { 1 } else { -1 };
            proptest::prop_assert_eq!(time_ms(&s).map(|t| t + offset_ms), time_ms(&utc));
        }
    }
}
