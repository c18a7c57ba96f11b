//! The classifier: one record in, one [`Verdict`] out, no allocation — by the
//! record's provider definition in the [`Registry`], else the generic HTTP table.

use crate::def::{ErrorsBy, Provider};
use crate::registry::Registry;
use crate::tables::{self, Class, RetryPolicy, RowInfo};
use errlens_parse::{ProviderId, Record, StatusSource};

/// Which table row decided a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A row of the provider's status table (index).
    Status(ProviderId, u16),
    /// A row of the provider's error table (index).
    Error(ProviderId, u16),
    /// A row of the generic [`tables::HTTP`] table (index; `u8::MAX` for none).
    Http(u8),
}

/// The error a record reports, as a closed set fit for metric labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorLabel {
    /// No error id, code or message was logged.
    None,
    /// A row of the provider's error table (index; for ids, the first row with it).
    Known(u16),
    /// An error outside the provider's table.
    Other,
}

/// What a response means: class, failure, retry policy and the anomalies seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The provider the record was judged as.
    pub provider: ProviderId,
    /// The HTTP status as logged.
    pub status: u16,
    /// Outcome class.
    pub class: Class,
    /// Whether the request failed.
    pub failure: bool,
    /// How a client should react.
    pub retry: RetryPolicy,
    /// A failure logged under an HTTP status below 400 (e.g. TMDB 21 under 200).
    pub hidden_failure: bool,
    /// The envelope disagrees with the logged HTTP status.
    pub status_mismatch: bool,
    /// The row that decided.
    pub rule: Rule,
    /// The error id, code or message, as a closed label.
    pub error: ErrorLabel,
    /// `false` when the provider's table lacks this status, code or message, so the
    /// generic HTTP table judged it.
    pub in_table: bool,
    /// The least wait before a retry the provider documents, in milliseconds.
    pub min_wait_ms: Option<u32>,
    /// A 429 from a provider where POSTing again right after extends the block.
    pub blocks_posts: bool,
}

impl Verdict {
    /// Whether retrying can help (the product's retryable sets).
    pub fn retryable(&self) -> bool {
        self.retry.retryable()
    }
}

/// An error id as reports may show it: verbatim when it looks like an id
/// (`[A-Za-z0-9_.-]{1,64}`), else `<invalid>` — a proxy that echoes a token or a whole
/// body into `error` must not have it printed.
pub fn shown_error_id(error: &str) -> &str {
    let ok = (1..=64).contains(&error.len())
        && error
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        error
    } else {
        "<invalid>"
    }
}

/// The envelope values that decide a verdict.
#[derive(Debug, Clone, Copy, Default)]
pub struct Envelope<'a> {
    /// The error id or message.
    pub error: Option<&'a str>,
    /// The provider's own code.
    pub own_code: Option<i64>,
    /// The HTTP status echoed in the body, when the status was logged apart from it.
    pub echoed: Option<i64>,
    /// The success flag.
    pub success: Option<bool>,
}

impl<'a> Envelope<'a> {
    /// A record's envelope.
    pub fn of(r: &'a Record<'_>) -> Envelope<'a> {
        Envelope {
            error: r.error.as_deref(),
            own_code: r.tmdb_code,
            echoed: match r.status_source {
                StatusSource::Status => r.code,
                StatusSource::EnvelopeCode => None,
            },
            success: r.success,
        }
    }
}

impl Registry {
    /// Classifies a parsed record: the verdict [`Registry::judge`] gives its provider,
    /// status and [`Envelope`].
    ///
    /// The verdict is read from tables built when the definitions were loaded: per
    /// status, the verdict of a record with nothing else to go by (most of a log), and
    /// per error row, the verdict the row decides; the record's success flag, echoed
    /// status and error key then only pick one and patch it. A status outside the
    /// tables (a record's is 100–599) goes through [`Registry::judge`].
    #[inline]
    pub fn classify(&self, r: &Record<'_>) -> Verdict {
        if let Some(lane) = self.lanes.get(r.provider.index()) {
            if let Some(plain) = lane.plain(r.status) {
                return lane.classify(self, r, plain);
            }
        }
        self.judge(r.provider, r.status, Envelope::of(r))
    }

    /// Classifies from the fields that decide a verdict.
    pub fn judge(&self, provider: ProviderId, status: u16, env: Envelope<'_>) -> Verdict {
        let mut v = match self.get(provider) {
            Some(p) => judge(p, status, env),
            None => generic(provider, status, ErrorLabel::None),
        };
        v.hidden_failure = v.failure && status < 400;
        v
    }

    /// Judges a report group: the error as a group holds it (an id, or a message
    /// row's label), the own code, and whether the body's success flag said false
    /// ([`Group::unsuccessful`]).
    pub fn judge_group(
        &self,
        provider: ProviderId,
        status: u16,
        error: Option<&str>,
        own_code: Option<i64>,
        unsuccessful: bool,
    ) -> Verdict {
        let mut env = Envelope {
            error,
            own_code,
            success: unsuccessful.then_some(false),
            ..Envelope::default()
        };
        if let Some(p) = self.get(provider) {
            if p.envelope.errors_by == ErrorsBy::Message {
                if let Some(e) = error {
                    env.error = Some(
                        p.errors
                            .iter()
                            .find(|r| r.label == e)
                            .and_then(|r| match &r.key {
                                crate::def::ErrorKey::Message(m) => Some(m.as_str()),
                                _ => None,
                            })
                            .unwrap_or(e),
                    );
                }
            }
        }
        self.judge(provider, status, env)
    }

    /// The decided row's name, user message and remedy.
    pub fn info(&self, rule: Rule) -> RowInfo<'_> {
        let row = |p: ProviderId| self.get(p);
        match rule {
            Rule::Status(p, i) => match row(p).and_then(|p| p.statuses.get(usize::from(i))) {
                Some(r) => RowInfo {
                    name: &r.name,
                    user_message: &r.user_message,
                    remedy: &r.remedy,
                },
                None => http_info(u8::MAX),
            },
            Rule::Error(p, i) => match row(p).and_then(|p| p.errors.get(usize::from(i))) {
                Some(r) => RowInfo {
                    name: &r.name,
                    user_message: &r.user_message,
                    remedy: &r.remedy,
                },
                None => http_info(u8::MAX),
            },
            Rule::Http(i) => http_info(i),
        }
    }

    /// The label value of an error: the row's label, `other` or `none`.
    #[inline]
    pub fn label(&self, provider: ProviderId, error: ErrorLabel) -> &str {
        match error {
            ErrorLabel::None => "none",
            ErrorLabel::Other => "other",
            ErrorLabel::Known(i) => self
                .get(provider)
                .and_then(|p| p.errors.get(usize::from(i)))
                .map_or("other", |r| r.label.as_str()),
        }
    }

    /// What a report groups a classified record by, besides provider and status.
    pub fn group<'r>(&'r self, r: &'r Record<'_>, v: &Verdict) -> Group<'r> {
        let p = self.get(r.provider);
        let by = p.map(|p| p.envelope.errors_by);
        let error = r.error.as_deref().and_then(|e| match by {
            Some(ErrorsBy::Code) => None,
            Some(ErrorsBy::Message) => Some(match v.error {
                ErrorLabel::Known(_) => self.label(r.provider, v.error),
                _ => shown_error_id(e),
            }),
            _ => Some(shown_error_id(e)),
        });
        Group {
            error,
            code: match by {
                Some(ErrorsBy::Code) => r.tmdb_code,
                _ => None,
            },
            unsuccessful: r.success == Some(false)
                && p.is_some_and(|p| p.envelope.false_is_failure),
        }
    }
}

/// What a report groups a record by, besides its provider and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'r> {
    /// For errors matched by id, the id as logged (shown only when it looks like one);
    /// for messages, the matched row's label; for own codes, none (the code is its own
    /// column).
    pub error: Option<&'r str>,
    /// The provider's own code, for providers whose errors are matched by code.
    pub code: Option<i64>,
    /// The body's success flag said false, for a provider where that alone is a
    /// failure.
    pub unsuccessful: bool,
}

fn http_info(i: u8) -> RowInfo<'static> {
    let r = tables::HTTP
        .get(usize::from(i))
        .unwrap_or(&tables::HTTP_UNKNOWN);
    RowInfo {
        name: r.class.as_str(),
        user_message: "",
        remedy: r.remedy,
    }
}

fn judge(p: &Provider, status: u16, env: Envelope<'_>) -> Verdict {
    // The error row that decides, the label, and whether a logged key matched no row.
    let (row, label, unmatched) = match p.envelope.errors_by {
        ErrorsBy::Id => match env.error {
            None => (None, ErrorLabel::None, false),
            Some(e) => {
                let rows = p.rows_by_text(e);
                let exact = rows
                    .iter()
                    .copied()
                    .find(|&i| p.errors[usize::from(i)].status == Some(status));
                let label = rows
                    .first()
                    .map_or(ErrorLabel::Other, |&i| ErrorLabel::Known(i));
                (exact, label, false)
            }
        },
        ErrorsBy::Message => match env.error {
            None => (None, ErrorLabel::None, false),
            Some(e) => match p.rows_by_text(e).first() {
                Some(&i) => (Some(i), ErrorLabel::Known(i), false),
                None => (None, ErrorLabel::Other, true),
            },
        },
        ErrorsBy::Code => match env.own_code {
            None => (None, ErrorLabel::None, false),
            Some(c) => match p.row_by_code(c) {
                Some((i, _)) => {
                    let i = i as u16;
                    (Some(i), ErrorLabel::Known(i), false)
                }
                None => (None, ErrorLabel::Other, true),
            },
        },
        ErrorsBy::None => (None, ErrorLabel::None, false),
    };
    let mut v = match row {
        Some(i) => {
            let r = &p.errors[usize::from(i)];
            Verdict {
                provider: p.id,
                status,
                class: r.class,
                failure: r.failure(),
                retry: r.retry,
                hidden_failure: false,
                // An id row matched its status; a code or message row expects one.
                status_mismatch: p.envelope.errors_by != ErrorsBy::Id
                    && r.status.is_some_and(|s| s != status),
                rule: Rule::Error(p.id, i),
                error: label,
                in_table: true,
                min_wait_ms: r.min_wait_ms,
                blocks_posts: false,
            }
        }
        None => match p.status_row(status) {
            Some((i, r)) => Verdict {
                provider: p.id,
                status,
                class: r.class,
                failure: !(200..400).contains(&status),
                retry: r.retry,
                hidden_failure: false,
                status_mismatch: false,
                rule: Rule::Status(p.id, i as u16),
                error: label,
                in_table: !unmatched,
                min_wait_ms: r.min_wait_ms,
                blocks_posts: false,
            },
            // A status the provider's table lacks (Simkl 504, Cloudflare's 520-524),
            // or a provider whose table is its codes alone: the generic HTTP table.
            None => {
                let mut v = generic(p.id, status, label);
                v.in_table = !p.has_status_table() && !unmatched;
                v
            }
        },
    };
    // A body that says it failed, with nothing else to go by.
    if p.envelope.false_is_failure && env.success == Some(false) && !v.failure {
        v.failure = true;
        v.class = Class::Unknown;
        v.retry = RetryPolicy::Never;
    }
    v.blocks_posts = status == 429 && p.rate_limit.post_after_429_extends_block;
    if p.envelope.echoes_status && env.echoed.is_some_and(|c| c != i64::from(status)) {
        v.status_mismatch = true;
    }
    v
}

fn generic(provider: ProviderId, status: u16, error: ErrorLabel) -> Verdict {
    let (i, row) = tables::http_status(status);
    Verdict {
        provider,
        status,
        class: row.class,
        failure: !(200..400).contains(&status),
        retry: row.retry,
        hidden_failure: false,
        status_mismatch: false,
        rule: Rule::Http(u8::try_from(i).unwrap_or(u8::MAX)),
        error,
        in_table: true,
        min_wait_ms: None,
        blocks_posts: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use errlens_parse::parse_line_with;

    fn reg() -> &'static Registry {
        Registry::builtin()
    }

    fn v(line: &str) -> Verdict {
        let r = reg();
        r.classify(&parse_line_with(line.as_bytes(), r.map()).unwrap())
    }

    fn label(line: &str) -> &'static str {
        let v = v(line);
        reg().label(v.provider, v.error)
    }

    #[test]
    fn tmdb_edge_cases() {
        let t21 = v(r#"{"url":"https://api.themoviedb.org/3/x","status":200,"status_code":21}"#);
        assert!(t21.failure && t21.hidden_failure && !t21.status_mismatch);
        assert_eq!(t21.class, Class::NotFound);
        let t44 = v(r#"{"status":500,"status_code":44}"#);
        assert!(t44.failure && !t44.retryable());
        let t8 = v(r#"{"status":403,"status_code":8}"#);
        assert_eq!(t8.class, Class::Conflict);
        for code in [13, 40] {
            let ok = v(&format!(r#"{{"status":200,"status_code":{code}}}"#));
            assert!(!ok.failure && !ok.hidden_failure);
        }
    }

    #[test]
    fn mismatches() {
        assert!(v(r#"{"status":500,"status_code":25}"#).status_mismatch);
        assert!(v(r#"{"status":429,"code":412,"error":"client_id_failed"}"#).status_mismatch);
        // The code was used as the status, so it cannot disagree with it.
        assert!(!v(r#"{"code":412,"error":"client_id_failed"}"#).status_mismatch);
    }

    #[test]
    fn unknown_ids_and_codes_fall_back_to_status() {
        let s = v(r#"{"status":429,"error":"brand_new_id"}"#);
        assert_eq!(
            (s.class, s.error, s.retryable()),
            (Class::RateLimited, ErrorLabel::Other, true)
        );
        let t = v(r#"{"status":503,"status_code":99}"#);
        assert_eq!(
            (t.class, t.error, t.retryable()),
            (Class::Unavailable, ErrorLabel::Other, true)
        );
        // Outside Simkl's table: the generic HTTP table decides, and says so.
        let s504 = v(r#"{"url":"https://api.simkl.com/x","status":504}"#);
        assert!(s504.failure && s504.retryable() && !s504.in_table);
        let s522 = v(r#"{"url":"https://api.simkl.com/x","status":522}"#);
        assert!(s522.retryable() && !s522.in_table && s522.class == Class::Timeout);
        let quota =
            v(r#"{"url":"https://api.simkl.com/x","status":429,"error":"user_limit_exceeded"}"#);
        assert!(quota.failure && !quota.retryable() && quota.in_table);
        assert!(reg().info(quota.rule).user_message.contains("midnight"));
    }

    #[test]
    fn error_ids_are_shown_only_when_they_look_like_ids() {
        assert_eq!(shown_error_id("client_id_failed"), "client_id_failed");
        assert_eq!(shown_error_id("RATE_LIMIT"), "RATE_LIMIT");
        assert_eq!(shown_error_id("v1.bad-id"), "v1.bad-id");
        assert_eq!(shown_error_id("Bearer eyJhbGciOi"), "<invalid>");
        assert_eq!(shown_error_id(""), "<invalid>");
        assert_eq!(shown_error_id(&"a".repeat(65)), "<invalid>");
        assert_eq!(shown_error_id("token=abc"), "<invalid>");
    }

    #[test]
    fn labels_are_closed() {
        assert_eq!(
            label(r#"{"status":412,"error":"client_id_failed"}"#),
            "client_id_failed"
        );
        assert_eq!(label(r#"{"status":429,"status_code":25}"#), "25");
        assert_eq!(label(r#"{"status":200}"#), "none");
        assert_eq!(label(r#"{"status":429,"error":"brand_new"}"#), "other");
    }

    /// The table lookup gives the verdict the full judgement gives, for every provider
    /// and status, with and without an echoed code, a success flag, an error or an
    /// own code (those take the full path).
    #[test]
    fn plain_table_agrees_with_the_full_judgement() {
        let r = Registry::load(&[
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../providers/trakt.toml"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../providers/omdb.toml"),
        ])
        .unwrap();
        let hosts = [
            "",
            r#""url":"https://api.simkl.com/x","#,
            r#""url":"https://api.themoviedb.org/3/x","#,
            r#""url":"https://api.trakt.tv/x","#,
            r#""url":"https://www.omdbapi.com/?t=x","#,
            r#""url":"https://example.com/x","#,
        ];
        let extras = [
            "",
            r#","code":404"#,
            r#","code":200"#,
            r#","success":true"#,
            r#","Response":"False""#,
            r#","error":"not_found""#,
            r#","status_code":34"#,
        ];
        let mut plain = 0;
        for host in hosts {
            for status in (100..600).step_by(7).chain([
                200, 201, 204, 400, 401, 404, 409, 412, 429, 500, 502, 504, 520,
            ]) {
                for extra in extras {
                    let line = format!(r#"{{{host}"status":{status}{extra}}}"#);
                    let rec = parse_line_with(line.as_bytes(), r.map()).unwrap();
                    plain += usize::from(rec.error.is_none() && rec.tmdb_code.is_none());
                    assert_eq!(
                        r.classify(&rec),
                        r.judge(rec.provider, rec.status, Envelope::of(&rec)),
                        "{line}"
                    );
                }
            }
        }
        assert!(plain > 1_000, "the table path was taken ({plain})");
    }

    /// Synthetic definitions that exercise what the built-in ones don't
    /// (`fixtures/providers/classify/`: ids of every length class the text table
    /// distinguishes, codes outside the code index, a provider without rows).
    const EXTRA: &[&str] = &["ids.toml", "codes.toml", "bare.toml"];

    /// The built-in providers, the repository's example definitions and [`EXTRA`].
    fn full_registry() -> &'static Registry {
        static R: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        R.get_or_init(|| {
            let mut defs = Vec::new();
            for f in ["trakt.toml", "omdb.toml"] {
                let path = format!("{}/../../providers/{f}", env!("CARGO_MANIFEST_DIR"));
                let text = std::fs::read_to_string(&path).unwrap();
                defs.push((crate::def::Source::File(path), text));
            }
            for f in EXTRA {
                let path = format!(
                    "{}/../../fixtures/providers/classify/{f}",
                    env!("CARGO_MANIFEST_DIR")
                );
                let text = std::fs::read_to_string(&path).unwrap();
                defs.push((crate::def::Source::File(path), text));
            }
            Registry::with(&defs).unwrap()
        })
    }

    /// The error texts of every row, each with near misses: one byte more, one less,
    /// the first byte changed, the middle byte changed.
    fn texts() -> Vec<String> {
        let mut out = Vec::new();
        for p in full_registry().providers() {
            for row in &p.errors {
                if let crate::def::ErrorKey::Id(t) | crate::def::ErrorKey::Message(t) = &row.key {
                    out.push(t.clone());
                    out.push(format!("{t}x"));
                    let mut b = t.clone().into_bytes();
                    b.pop();
                    out.push(String::from_utf8_lossy(&b).into_owned());
                    let mut b = t.clone().into_bytes();
                    b[0] ^= 0x20;
                    out.push(String::from_utf8_lossy(&b).into_owned());
                    let mut b = t.clone().into_bytes();
                    let mid = b.len() / 2;
                    b[mid] ^= 0x01;
                    out.push(String::from_utf8_lossy(&b).into_owned());
                }
            }
        }
        out.push(String::new());
        out
    }

    /// Every own code of every row, with its neighbours.
    fn codes() -> Vec<i64> {
        let mut out = vec![i64::MIN, -1, 0, 1024, i64::MAX];
        for p in full_registry().providers() {
            for row in &p.errors {
                if let crate::def::ErrorKey::Code(c) = row.key {
                    out.extend([c.saturating_sub(1), c, c.saturating_add(1)]);
                }
            }
        }
        out
    }

    /// Every status some row names, and the statuses around the tables' edges.
    fn statuses() -> Vec<u16> {
        let mut out = vec![0, 99, 100, 200, 399, 400, 429, 599, 600, 601, u16::MAX];
        for p in full_registry().providers() {
            out.extend(p.statuses.iter().map(|r| r.status));
            out.extend(p.errors.iter().filter_map(|r| r.status));
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 20_000, ..Default::default() })]
        /// [`Registry::classify`] gives what [`Registry::judge`] gives, for any
        /// provider, status, error text, own code, success flag and echoed status.
        #[test]
        fn classify_agrees_with_judge(
            provider in 0u8..10,
            status in proptest::prop_oneof![proptest::sample::select(statuses()), 0u16..700],
            error in proptest::option::of(proptest::prop_oneof![
                4 => proptest::sample::select(texts()),
                1 => "[a-z_]{0,30}",
                1 => ".{0,40}",
            ]),
            own_code in proptest::option::of(proptest::prop_oneof![
                proptest::sample::select(codes()),
                -5i64..2000,
                proptest::num::i64::ANY,
            ]),
            success in proptest::option::of(proptest::bool::ANY),
            echo in proptest::option::of((
                proptest::bool::ANY,
                proptest::prop_oneof![0i64..700, proptest::num::i64::ANY],
            )),
            from_status in proptest::bool::ANY,
        ) {
            let reg = full_registry();
            let mut rec = parse_line_with(br#"{"status":200}"#, reg.map()).unwrap();
            rec.provider = ProviderId::new(provider);
            rec.status = status;
            rec.error = error.map(std::borrow::Cow::Owned);
            rec.tmdb_code = own_code;
            rec.success = success;
            // The status itself echoed, or another code.
            rec.code = echo.map(|(same, c)| if same { i64::from(status) } else { c });
            rec.status_source = if from_status {
                StatusSource::Status
            } else {
                StatusSource::EnvelopeCode
            };
            proptest::prop_assert_eq!(
                reg.classify(&rec),
                reg.judge(rec.provider, rec.status, Envelope::of(&rec)),
                "{:?}", rec
            );
        }
    }
}
