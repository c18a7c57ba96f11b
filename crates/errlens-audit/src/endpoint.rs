//! Endpoint templating and request keys.
//!
//! Pressure and latency are reported per endpoint, so ids in paths are templated
//! (`/3/movie/550` → `/3/movie/:id`) to keep one row per route, not per title, and
//! segments that are credentials are templated whatever they look like
//! (`/oauth/pin/ABCD1234` → `/oauth/pin/:code`), so no report or label prints them.
//! Which segments are credentials is data: each provider definition lists its
//! `secret_segments`, and every loaded provider's apply to every path (a proxy that
//! logs its own host must not leak a code either).

use errlens_classify::Registry;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// The most segments a secret template may have before its credential segment.
pub const MAX_BEFORE: usize = errlens_classify::def::MAX_SECRET_DEPTH;

/// Credential segments: each rule is the literal segments that precede a credential
/// (`:name` in a template matches any segment) and the placeholder that replaces it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    rules: Vec<(Vec<String>, String)>,
    /// Bit `n` set: some rule's segment just before its credential has `n` bytes (bit
    /// 63: 63 or more, or any segment), so most segments are ruled out by one test.
    lengths: u64,
}

impl Secrets {
    /// The rules of endpoint templates such as `/oauth/pin/:code` (each `:name`
    /// segment after the first literal one is a credential).
    pub fn new<'t>(templates: impl IntoIterator<Item = &'t str>) -> Secrets {
        let mut rules = Vec::new();
        for t in templates {
            let segs: Vec<&str> = t.trim_start_matches('/').split('/').collect();
            for (k, seg) in segs.iter().enumerate() {
                if k > 0 && k <= MAX_BEFORE && seg.starts_with(':') {
                    let before = segs[..k].iter().map(|s| s.to_ascii_lowercase()).collect();
                    let rule = (before, (*seg).to_owned());
                    if !rules.contains(&rule) {
                        rules.push(rule);
                    }
                }
            }
        }
        let lengths = rules
            .iter()
            .fold(0u64, |m, (want, _): &(Vec<String>, String)| {
                let last = &want[want.len() - 1];
                if last.starts_with(':') {
                    u64::MAX
                } else {
                    m | 1 << last.len().min(63)
                }
            });
        Secrets { rules, lengths }
    }

    /// The secret segments of every provider in `registry`.
    pub fn of(registry: &Registry) -> Secrets {
        Secrets::new(
            registry
                .providers()
                .iter()
                .flat_map(|p| p.secret_segments.iter().map(String::as_str)),
        )
    }

    /// Whether a segment right after `prev` may be a credential: the cheap test made
    /// for every segment (a length compare per rule, mostly).
    #[inline]
    fn may_follow(&self, prev: &str) -> bool {
        if self.lengths & (1 << prev.len().min(63)) == 0 {
            return false;
        }
        self.rules.iter().any(|(want, _)| {
            let last = &want[want.len() - 1];
            last.starts_with(':') || (last.len() == prev.len() && last.eq_ignore_ascii_case(prev))
        })
    }

    /// The placeholder for the segment that follows `before` (the path up to it,
    /// without the separating `/`), if a rule's segments end `before`.
    fn placeholder(&self, before: &str) -> Option<&str> {
        self.rules.iter().find_map(|(want, ph)| {
            let mut segs = before.rsplit('/').filter(|s| !s.is_empty());
            let all = want.iter().rev().all(|w| {
                segs.next()
                    .is_some_and(|b| w.starts_with(':') || w.eq_ignore_ascii_case(b))
            });
            all.then_some(ph.as_str())
        })
    }
}

/// Appends the templated form of `path` to `out`: numeric segments,
/// IMDb-style ids (`tt0111161`) and long hex or UUID segments become `:id`; a leading
/// numeric segment is an API version (`/3`, `/4` on TMDB) and is kept; a credential
/// segment (by `secrets`) becomes its placeholder.
pub fn template_into(path: &str, out: &mut String, secrets: &Secrets) {
    let start = out.len();
    let b = path.as_bytes();
    let track = !secrets.rules.is_empty();
    // Copied in runs, replacing only id segments: most paths have one id or none.
    let mut run = 0;
    let mut seg_start = 0;
    // The segment before this one (its range), for credential segments.
    let mut prev = 0..0;
    let mut index = 0;
    // One pass: each segment ends at a `/`, or the path at its query, fragment or end.
    let end = loop {
        let seg_end = segment_end(b, seg_start);
        if seg_end > seg_start {
            let seg = &b[seg_start..seg_end];
            let secret = if track && !prev.is_empty() && secrets.may_follow(&path[prev.clone()]) {
                secrets.placeholder(&path[..seg_start - 1])
            } else {
                None
            };
            // A short numeric second segment is an API version (`/3`), kept.
            let version = || index == 1 && seg.len() <= 2 && seg.iter().all(u8::is_ascii_digit);
            let replacement = match secret {
                Some(placeholder) => Some(placeholder),
                None if is_id(seg) && !version() => Some(":id"),
                None => None,
            };
            if let Some(r) = replacement {
                out.push_str(&path[run..seg_start]);
                out.push_str(r);
                run = seg_end;
            }
            prev = seg_start..seg_end;
        }
        if b.get(seg_end) != Some(&b'/') {
            break seg_end;
        }
        seg_start = seg_end + 1;
        index += 1;
    };
    out.push_str(&path[run..end]);
    if out.len() == start {
        out.push('/');
    }
}

/// The index of the first `/`, `?` or `#` at or after `from` (`b.len()` if none), eight
/// bytes at a time: `iter().position` with three comparisons cost ~10 instructions a
/// byte, a third of templating a path.
#[inline]
fn segment_end(b: &[u8], from: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const LOWS: u64 = u64::from_ne_bytes([0x7f; 8]);
    // The high bit of each byte of `w` that is `/`, `?` or `#`, exactly (no carry
    // crosses a byte, so bytes shifted out cannot mark others).
    let hits = |w: u64| {
        let zero = |x: u64| !(((x & LOWS) + LOWS) | x | LOWS);
        zero(w ^ (ONES * u64::from(b'/')))
            | zero(w ^ (ONES * u64::from(b'?')))
            | zero(w ^ (ONES * u64::from(b'#')))
    };
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let mut i = from;
    while i + 8 <= b.len() {
        let h = hits(word(i));
        if h != 0 {
            return i + (h.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = b.len() - i;
    if rest == 0 {
        return i;
    }
    if b.len() >= 8 {
        // The last eight bytes, overlapping what was searched: byte `k` of the rest is
        // byte `8 - rest + k` of the word.
        let h = hits(word(b.len() - 8)) >> (8 * (8 - rest));
        return if h == 0 {
            b.len()
        } else {
            i + (h.trailing_zeros() / 8) as usize
        };
    }
    i + b[i..]
        .iter()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest)
}

/// Whether a (non-empty) segment is an id: all digits, an IMDb-style id
/// (`tt0111161`), a slug with an id prefix (`550-fight-club`), or a long hex or UUID
/// segment with a digit.
#[inline]
fn is_id(b: &[u8]) -> bool {
    let imdb = b.starts_with(b"tt") || b.starts_with(b"nm");
    // Most segments are words: ruled out by their first bytes and length.
    if !b[0].is_ascii_digit() && !imdb && b.len() < 16 {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let leading = b.iter().take_while(|c| c.is_ascii_digit()).count();
    digits == b.len()
        || (b.len() > 2 && imdb && digits == b.len() - 2)
        || (leading > 0 && b.get(leading) == Some(&b'-'))
        || (b.len() >= 16 && digits > 0 && b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-'))
}

/// A stable 64-bit hash of a retry-chain key: client id, method (case-insensitive) and
/// URL. Stable across runs and versions, so summaries written by different processes
/// merge: XXH3-64 chained through its seed, `xxh3(url, seed: xxh3(METHOD, seed:
/// xxh3(client, seed: 0)))`, the method in ASCII upper case. (Summaries of schema v2
/// used FNV-1a over the three parts, which costs a dependent multiplication per byte.)
pub fn chain_key(client: &str, method: &str, url: &str) -> u64 {
    chain_key_seeded(chain_seed(client, method), url)
}

/// The part of [`chain_key`] that depends on the client and method alone: the seed
/// of the URL's hash (one client mostly uses one or two methods, so it is worth
/// remembering).
pub fn chain_seed(client: &str, method: &str) -> u64 {
    let h = xxh3_64(client.as_bytes());
    if method.bytes().any(|c| c.is_ascii_lowercase()) {
        xxh3_64_with_seed(method.to_ascii_uppercase().as_bytes(), h)
    } else {
        xxh3_64_with_seed(method.as_bytes(), h)
    }
}

/// [`chain_key`] of `url` given the [`chain_seed`] of its client and method.
#[inline]
pub fn chain_key_seeded(seed: u64, url: &str) -> u64 {
    xxh3_64_with_seed(url.as_bytes(), seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> String {
        let mut s = String::new();
        template_into(p, &mut s, &Secrets::of(Registry::builtin()));
        s
    }

    #[test]
    fn secret_templates_are_data() {
        let s = Secrets::new(["/oauth/pin/:code", "/v2/users/:id/keys/:key"]);
        let t = |p: &str| {
            let mut out = String::new();
            template_into(p, &mut out, &s);
            out
        };
        assert_eq!(t("/api/oauth/pin/ABCD"), "/api/oauth/pin/:code");
        assert_eq!(
            t("/v2/users/alice/keys/SECRETKEY"),
            "/v2/users/:id/keys/:key"
        );
        assert_eq!(t("/v2/users/alice"), "/v2/users/:id");
        assert_eq!(t("/v3/users/alice"), "/v3/users/alice");
        let mut out = String::new();
        template_into("/oauth/pin/ABCD", &mut out, &Secrets::default());
        assert_eq!(out, "/oauth/pin/ABCD", "no definitions, no secret segments");
    }

    #[test]
    fn templates() {
        assert_eq!(t("/3/movie/550"), "/3/movie/:id");
        // Credentials, whatever they look like.
        assert_eq!(t("/oauth/pin/ABCD1234"), "/oauth/pin/:code");
        assert_eq!(t("/oauth/pin/wxyz?client_id=k"), "/oauth/pin/:code");
        assert_eq!(t("/oauth/pin"), "/oauth/pin");
        assert_eq!(t("/3/movie/550/credits?x=1"), "/3/movie/:id/credits");
        assert_eq!(t("/4/list/77/items"), "/4/list/:id/items");
        assert_eq!(t("/tv/episodes/12345"), "/tv/episodes/:id");
        assert_eq!(t("/3/find/tt0111161"), "/3/find/:id");
        assert_eq!(t("/movies/550-fight-club"), "/movies/:id");
        assert_eq!(t("/sync/activities"), "/sync/activities");
        assert_eq!(t("/sync/all-items/shows"), "/sync/all-items/shows");
        assert_eq!(t("/3/list/5f3c1e2a9b8d7c6e5f4a3b2c"), "/3/list/:id");
        assert_eq!(t(""), "/");
        assert_eq!(t("/"), "/");
    }

    /// The straightforward definition: split at `/`, template each segment (a
    /// credential by its rule, else an id), join.
    fn reference(path: &str, secrets: &Secrets) -> String {
        let end = path.find(['?', '#']).unwrap_or(path.len());
        let mut out = String::new();
        let mut at = 0;
        let mut seen = false;
        for (i, seg) in path[..end].split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            let version = i == 1 && seg.len() <= 2 && seg.bytes().all(|b| b.is_ascii_digit());
            let secret = (!seg.is_empty() && seen)
                .then(|| secrets.placeholder(&path[..at - 1]))
                .flatten();
            if let Some(placeholder) = secret {
                out.push_str(placeholder);
            } else if !seg.is_empty() && !version && is_id_reference(seg) {
                out.push_str(":id");
            } else {
                out.push_str(seg);
            }
            seen |= !seg.is_empty();
            at += seg.len() + 1;
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    /// What an id segment is, written out rule by rule.
    fn is_id_reference(seg: &str) -> bool {
        let b = seg.as_bytes();
        let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
        let imdb = b.starts_with(b"tt") || b.starts_with(b"nm");
        digits == b.len()
            || (b.len() > 2 && imdb && digits == b.len() - 2)
            || seg.split_once('-').is_some_and(|(head, _)| {
                !head.is_empty() && head.bytes().all(|c| c.is_ascii_digit())
            })
            || (b.len() >= 16
                && b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')
                && digits > 0)
    }

    proptest::proptest! {
        /// The word-at-a-time search equals a byte search, from every position of any
        /// bytes (the neighbours of `/`, `?` and `#` among them: 0x2e, 0x3e, 0x22, 0x24).
        #[test]
        fn segment_end_equals_a_byte_search(
            b in proptest::collection::vec(proptest::sample::select(
                vec![b'/', b'?', b'#', b'.', b'>', b'"', b'$', b'a', b'0', 0x00, 0x01, 0x7f, 0x80, 0xaf, 0xff]
            ), 0..40),
        ) {
            for from in 0..=b.len() {
                let want = b[from..]
                    .iter()
                    .position(|c| matches!(c, b'/' | b'?' | b'#'))
                    .map_or(b.len(), |p| from + p);
                proptest::prop_assert_eq!(segment_end(&b, from), want, "{:?} from {}", b, from);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2_000, ..Default::default() })]
        #[test]
        fn runs_equal_the_segment_definition(
            segs in proptest::collection::vec(proptest::prop_oneof![
                "(|[0-9]{1,3}|tt[0-9]{0,7}|nm[0-9a-z]{0,4}|[a-z]{1,8}|[0-9]{2}-[a-z]{2}|-[0-9]|[0-9]-)",
                "([0-9a-fA-F-]{14,20}|[a-z-]{15,18}|\\?x=1|#f|é[0-9]|[0-9]é)",
                "(oauth|pin|v2|users|keys|token|PIN)",
            ], 0..8),
            lead in proptest::bool::ANY,
        ) {
            let mut p = segs.join("/");
            if lead {
                p.insert(0, '/');
            }
            let secrets = Secrets::new(["/oauth/pin/:code", "/v2/users/:id/keys/:key", "/:any/token/:t"]);
            for secrets in [Secrets::default(), secrets] {
                let mut out = String::from("prefix ");
                template_into(&p, &mut out, &secrets);
                proptest::prop_assert_eq!(&out["prefix ".len()..], reference(&p, &secrets), "{}", p);
            }
        }
    }

    #[test]
    fn keys_differ_by_each_part_and_ignore_method_case() {
        let k = chain_key("a", "GET", "/x");
        assert_eq!(k, chain_key("a", "get", "/x"));
        assert_ne!(k, chain_key("b", "GET", "/x"));
        assert_ne!(k, chain_key("a", "POST", "/x"));
        assert_ne!(k, chain_key("a", "GET", "/y"));
        assert_ne!(chain_key("ab", "", "c"), chain_key("a", "b", "c"));
        // Keys are stored in summaries: the function may not change within a schema.
        let (client, url) = ("kodi", "https://api.simkl.com/sync/activities");
        let h = xxh3_64_with_seed(b"GET", xxh3_64(client.as_bytes()));
        assert_eq!(
            chain_key(client, "get", url),
            xxh3_64_with_seed(url.as_bytes(), h)
        );
        assert_eq!(chain_key(client, "get", url), chain_key(client, "GET", url));
    }
}
