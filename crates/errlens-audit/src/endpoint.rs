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
    let end = b
        .iter()
        .position(|&c| c == b'?' || c == b'#')
        .unwrap_or(b.len());
    // Copy the path in runs, replacing only id segments: most paths have one id or
    // none, so this is one or three copies instead of one per segment.
    let mut run = 0;
    let mut seg_start = 0;
    // The segment before this one, for credential segments.
    let mut prev = "";
    let track = !secrets.rules.is_empty();
    for i in 0.. {
        let seg_end = b[seg_start..end]
            .iter()
            .position(|&c| c == b'/')
            .map_or(end, |p| seg_start + p);
        let seg = &path[seg_start..seg_end];
        let version = i == 1 && seg.len() <= 2 && seg.bytes().all(|c| c.is_ascii_digit());
        let secret = if track && !seg.is_empty() && !prev.is_empty() && secrets.may_follow(prev) {
            secrets.placeholder(&path[..seg_start.saturating_sub(1)])
        } else {
            None
        };
        if let Some(placeholder) = secret {
            out.push_str(&path[run..seg_start]);
            out.push_str(placeholder);
            run = seg_end;
        } else if !seg.is_empty() && !version && is_id(seg) {
            out.push_str(&path[run..seg_start]);
            out.push_str(":id");
            run = seg_end;
        }
        if !seg.is_empty() {
            prev = seg;
        }
        if seg_end == end {
            break;
        }
        seg_start = seg_end + 1;
    }
    out.push_str(&path[run..end]);
    if out.len() == start {
        out.push('/');
    }
}

fn is_id(seg: &str) -> bool {
    let b = seg.as_bytes();
    // Most segments are words: rule them out without counting.
    if !b[0].is_ascii_digit() && !b.starts_with(b"tt") && !b.starts_with(b"nm") && b.len() < 16 {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    if digits == b.len() {
        return true;
    }
    if b.len() > 2 && (b.starts_with(b"tt") || b.starts_with(b"nm")) && digits == b.len() - 2 {
        return true;
    }
    // Slugs with an id prefix: `550-fight-club`.
    if let Some((head, _)) = seg.split_once('-') {
        if !head.is_empty() && head.bytes().all(|c| c.is_ascii_digit()) {
            return true;
        }
    }
    b.len() >= 16 && b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-') && digits > 0
}

/// A stable 64-bit hash of a retry-chain key: client id, method (case-insensitive) and
/// URL. Stable across runs and versions, so summaries written by different processes
/// merge: XXH3-64 chained through its seed, `xxh3(url, seed: xxh3(METHOD, seed:
/// xxh3(client, seed: 0)))`, the method in ASCII upper case. (Summaries of schema v2
/// used FNV-1a over the three parts, which costs a dependent multiplication per byte.)
pub fn chain_key(client: &str, method: &str, url: &str) -> u64 {
    let h = xxh3_64(client.as_bytes());
    let h = if method.bytes().any(|c| c.is_ascii_lowercase()) {
        xxh3_64_with_seed(method.to_ascii_uppercase().as_bytes(), h)
    } else {
        xxh3_64_with_seed(method.as_bytes(), h)
    };
    xxh3_64_with_seed(url.as_bytes(), h)
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

    /// The straightforward definition: split at `/`, template each segment, join.
    fn reference(path: &str) -> String {
        let end = path.find(['?', '#']).unwrap_or(path.len());
        let mut out = String::new();
        for (i, seg) in path[..end].split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            let version = i == 1 && seg.len() <= 2 && seg.bytes().all(|b| b.is_ascii_digit());
            if !seg.is_empty() && !version && is_id(seg) {
                out.push_str(":id");
            } else {
                out.push_str(seg);
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn runs_equal_the_segment_definition(
            segs in proptest::collection::vec("(|[0-9]{1,3}|tt[0-9]{2,7}|[a-z]{1,8}|[0-9]{2}-[a-z]{2}|[0-9a-f]{16,20}|\\?x=1|#f)", 0..7),
            lead in proptest::bool::ANY,
        ) {
            let mut p = segs.join("/");
            if lead {
                p.insert(0, '/');
            }
            let mut out = String::from("prefix ");
            template_into(&p, &mut out, &Secrets::default());
            proptest::prop_assert_eq!(&out["prefix ".len()..], reference(&p), "{}", p);
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
