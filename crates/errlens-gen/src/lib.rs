//! Synthetic request logs: deterministic by seed, realistic in mix, for tests and
//! benchmarks.
//!
//! The log is time-ordered JSON lines in the flat shape errlens reads, from several
//! clients of both providers. Most requests succeed; failures follow both providers'
//! tables (TMDB 21 under 200, 44 under 500, Simkl 412 and 429 with `Retry-After`), and
//! failed requests are retried the way real clients do: well-behaved ones back off and
//! give up, badly-behaved ones retry deterministic errors, ignore `Retry-After`, retry
//! POSTs after a 429 and go past six attempts. Optionally a share of lines is garbage.
#![deny(missing_docs)]

pub mod shapes;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// PRNG seed: the same seed gives the same log.
    pub seed: u64,
    /// Lines to write.
    pub lines: u64,
    /// Malformed or blank lines per thousand.
    pub garbage_per_mille: u32,
    /// Timestamp of the first line, Unix ms.
    pub start_ms: i64,
    /// Mean gap between requests, ms.
    pub mean_gap_ms: u32,
    /// Whether to log `attempt` on retries (otherwise errlens must infer chains).
    pub attempt_field: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 1,
            lines: 10_000,
            garbage_per_mille: 0,
            start_ms: 1_795_168_800_000, // 2026-11-20T10:00:00Z
            mean_gap_ms: 20,
            attempt_field: true,
        }
    }
}

/// A small, fast, deterministic PRNG (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `pct`/100.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    /// One of `xs`.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// How a client retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Retries only retryable errors, backs off 1,2,4,8,16 s, honours Retry-After.
    Good,
    /// Retries everything immediately, up to 10 attempts.
    Hammer,
    /// Retries retryable errors with a fixed 1 s wait, ignoring Retry-After.
    Impatient,
}

struct Client {
    id: &'static str,
    behaviour: Behaviour,
    simkl_share: u64,
}

const CLIENTS: [Client; 6] = [
    Client {
        id: "kodi-scrobbler",
        behaviour: Behaviour::Good,
        simkl_share: 80,
    },
    Client {
        id: "plex-sync",
        behaviour: Behaviour::Impatient,
        simkl_share: 60,
    },
    Client {
        id: "cache-proxy",
        behaviour: Behaviour::Good,
        simkl_share: 10,
    },
    Client {
        id: "media-center",
        behaviour: Behaviour::Hammer,
        simkl_share: 30,
    },
    Client {
        id: "tv-widget",
        behaviour: Behaviour::Impatient,
        simkl_share: 0,
    },
    Client {
        id: "legacy-app",
        behaviour: Behaviour::Hammer,
        simkl_share: 100,
    },
];

const SIMKL_GET: [&str; 6] = [
    "/sync/activities",
    "/sync/all-items/shows",
    "/sync/all-items/movies",
    "/tv/episodes/{}",
    "/movies/{}",
    "/search/movie",
];
const SIMKL_POST: [&str; 4] = [
    "/sync/history",
    "/scrobble/start",
    "/scrobble/stop",
    "/sync/ratings",
];
const TMDB_GET: [&str; 5] = [
    "/3/movie/{}",
    "/3/tv/{}",
    "/3/search/movie",
    "/3/movie/{}/credits",
    "/3/configuration",
];
const TMDB_POST: [&str; 2] = ["/3/movie/{}/rating", "/4/list/{}/items"];

/// One response outcome: (HTTP status, Simkl error id, TMDB code, retryable).
#[derive(Debug, Clone, Copy)]
struct Outcome {
    status: u16,
    error: Option<&'static str>,
    tmdb: Option<u8>,
    retryable: bool,
    retry_after: Option<u32>,
}

fn simkl_outcome(r: &mut Rng, post: bool) -> Outcome {
    let ok = |status| Outcome {
        status,
        error: None,
        tmdb: None,
        retryable: false,
        retry_after: None,
    };
    let err = |status, e, retryable| Outcome {
        status,
        error: Some(e),
        tmdb: None,
        retryable,
        retry_after: None,
    };
    match r.below(1000) {
        0..=869 => ok(if post { 201 } else { 200 }),
        870..=899 => err(429, "rate_limit", true),
        900..=904 => err(429, "user_limit_exceeded", true),
        905..=924 => err(412, "client_id_failed", false),
        925..=939 => err(404, "id_err", false),
        940..=949 => err(401, "user_token_failed", false),
        950..=959 => err(400, "empty_field", false),
        960..=964 => err(409, "already_watched", false),
        965..=969 => err(403, "forbidden", false),
        970..=979 => err(500, "internal", true),
        980..=989 => err(502, "bad_gateway_x", true),
        990..=996 => err(503, "unavailable", true),
        _ => ok(204),
    }
}

fn tmdb_outcome(r: &mut Rng, post: bool) -> Outcome {
    let code = |status, code, retryable| Outcome {
        status,
        error: None,
        tmdb: Some(code),
        retryable,
        retry_after: None,
    };
    match r.below(1000) {
        0..=879 if post => code(201, 12, false),
        0..=879 => Outcome {
            status: 200,
            error: None,
            tmdb: None,
            retryable: false,
            retry_after: None,
        },
        880..=919 => code(429, 25, true),
        920..=939 => code(404, 34, false),
        940..=949 => code(200, 21, false),
        950..=957 => code(500, 44, false),
        958..=962 => code(401, 7, false),
        963..=969 => code(403, 8, false),
        970..=974 => code(200, 13, false),
        975..=979 => code(200, 40, false),
        980..=986 => code(500, 11, true),
        987..=990 => code(503, 46, true),
        991..=994 => code(504, 24, true),
        995..=996 => code(502, 43, true),
        _ => code(400, 22, false),
    }
}

/// A request waiting to be (re)sent.
struct Pending {
    due_ms: i64,
    client: usize,
    simkl: bool,
    post: bool,
    url: String,
    attempt: u32,
    /// The previous attempt's outcome: a deterministic error repeats on retry.
    last: Option<Outcome>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.due_ms == other.due_ms
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        self.due_ms.cmp(&other.due_ms)
    }
}

/// Writes a log of `cfg.lines` lines to `out`; returns the bytes written.
pub fn generate(cfg: &GenConfig, out: &mut impl Write) -> io::Result<u64> {
    let mut r = Rng::new(cfg.seed);
    let mut now = cfg.start_ms;
    let mut queue: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut line = String::with_capacity(320);
    let mut written = 0u64;
    for _ in 0..cfg.lines {
        now += 1 + r.below(u64::from(cfg.mean_gap_ms.max(1)) * 2) as i64;
        line.clear();
        if cfg.garbage_per_mille > 0 && r.below(1000) < u64::from(cfg.garbage_per_mille) {
            garbage(&mut r, &mut line);
        } else {
            // A due retry goes first; otherwise a fresh request.
            let due = queue.peek().is_some_and(|Reverse(p)| p.due_ms <= now);
            let req = match due {
                true => queue.pop().expect("peeked").0,
                false => fresh(&mut r, now),
            };
            let mut outcome = match req.last {
                // Retrying a deterministic error gets the same error.
                Some(last) if !last.retryable => last,
                // A transient error often persists for a while.
                Some(last) if r.chance(40) => last,
                _ if req.simkl => simkl_outcome(&mut r, req.post),
                _ => tmdb_outcome(&mut r, req.post),
            };
            if outcome.status == 429 || outcome.status == 503 {
                outcome.retry_after = Some(*r.pick(&[1, 2, 5, 10, 30]));
            }
            write_record(&mut line, cfg, now, &req, &outcome, &mut r);
            if let Some(next) = retry_of(&req, &outcome, now, &mut r) {
                if queue.len() < 10_000 {
                    queue.push(Reverse(next));
                }
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    Ok(written)
}

fn fresh(r: &mut Rng, now: i64) -> Pending {
    let client = r.below(CLIENTS.len() as u64) as usize;
    let simkl = r.below(100) < CLIENTS[client].simkl_share;
    let post = r.chance(15);
    let tpl = match (simkl, post) {
        (true, false) => *r.pick(&SIMKL_GET),
        (true, true) => *r.pick(&SIMKL_POST),
        (false, false) => *r.pick(&TMDB_GET),
        (false, true) => *r.pick(&TMDB_POST),
    };
    let path = tpl.replace("{}", &(1 + r.below(5000)).to_string());
    let host = if simkl {
        "api.simkl.com"
    } else {
        "api.themoviedb.org"
    };
    Pending {
        due_ms: now,
        client,
        simkl,
        post,
        url: format!("https://{host}{path}"),
        attempt: 1,
        last: None,
    }
}

fn retry_of(req: &Pending, o: &Outcome, now: i64, r: &mut Rng) -> Option<Pending> {
    let failed = o.status >= 400 || o.tmdb.is_some_and(|c| !matches!(c, 1 | 12 | 13 | 40));
    if !failed {
        return None;
    }
    let behaviour = CLIENTS[req.client].behaviour;
    let wait_ms = match behaviour {
        Behaviour::Good => {
            if !o.retryable || req.attempt >= 6 || (req.post && o.status == 429 && req.simkl) {
                return None;
            }
            let backoff = 1000i64 << (req.attempt - 1).min(4);
            backoff.max(i64::from(o.retry_after.unwrap_or(0)) * 1000) + r.below(500) as i64
        }
        Behaviour::Impatient => {
            if !o.retryable || req.attempt >= 8 {
                return None;
            }
            1000
        }
        Behaviour::Hammer => {
            if req.attempt >= 10 || r.chance(5) {
                return None;
            }
            50 + r.below(200) as i64
        }
    };
    Some(Pending {
        due_ms: now + wait_ms,
        client: req.client,
        simkl: req.simkl,
        post: req.post,
        url: req.url.clone(),
        attempt: req.attempt + 1,
        last: Some(*o),
    })
}

fn write_record(
    line: &mut String,
    cfg: &GenConfig,
    now: i64,
    req: &Pending,
    o: &Outcome,
    r: &mut Rng,
) {
    use std::fmt::Write as _;
    let secs = now.div_euclid(1000);
    let (y, mo, d, h, mi, s) = civil(secs);
    let _ = write!(
        line,
        r#"{{"ts":"{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z","method":"{}","url":"{}","status":{},"latency_ms":{},"client_id":"{}""#,
        now.rem_euclid(1000),
        if req.post { "POST" } else { "GET" },
        req.url,
        o.status,
        latency(r, o),
        CLIENTS[req.client].id,
    );
    if cfg.attempt_field {
        let _ = write!(line, r#","attempt":{}"#, req.attempt);
    }
    if let Some(ra) = o.retry_after {
        let _ = write!(line, r#","retry_after":{ra}"#);
    }
    if let Some(e) = o.error {
        let _ = write!(line, r#","error":"{e}","code":{}"#, o.status);
    }
    if let Some(c) = o.tmdb {
        let ok = matches!(c, 1 | 12 | 13 | 40);
        let _ = write!(
            line,
            r#","status_code":{c},"status_message":"tmdb code {c}","success":{ok}"#
        );
    }
    line.push('}');
}

fn latency(r: &mut Rng, o: &Outcome) -> u64 {
    let base = match o.status {
        429 | 412 => 5,
        500..=599 => 400,
        _ => 40,
    };
    // A long tail: mostly near the base, sometimes 10× or 100×.
    let tail = match r.below(100) {
        0 => 100,
        1..=9 => 10,
        _ => 1,
    };
    base + r.below(base * 2) * tail
}

fn garbage(r: &mut Rng, line: &mut String) {
    line.push_str(match r.below(6) {
        0 => "",
        1 => "not json at all",
        2 => r#"{"status":"OK","url":"https://api.simkl.com/x"}"#,
        3 => r#"{"ts":"2026-11-20T10:00:00Z","status":200,"#,
        4 => "[1,2,3]",
        _ => r#"{"status_code":25,"success":false}"#,
    });
}

/// Calendar fields of Unix seconds (UTC).
fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let cfg = GenConfig {
            lines: 500,
            garbage_per_mille: 20,
            ..GenConfig::default()
        };
        let mut a = Vec::new();
        let mut b = Vec::new();
        generate(&cfg, &mut a).unwrap();
        generate(&cfg, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.iter().filter(|&&c| c == b'\n').count(), 500);
        let other = GenConfig { seed: 2, ..cfg };
        let mut c = Vec::new();
        generate(&other, &mut c).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(1_795_168_800), (2026, 11, 20, 10, 0, 0));
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
    }
}
