//! Which API a record belongs to, as the ingest front needs to know it: provider ids,
//! and the [`ProviderMap`] that names a record's provider from its host or, without a
//! known host, from the envelope keys it carries.
//!
//! The parser knows no provider by name. `errlens-classify` builds a [`ProviderMap`]
//! from its provider definitions (hosts, envelope keys, recognition rules) and hands it
//! to the ingest front in [`crate::IngestConfig`]; without one, every record is of the
//! unknown provider.

use crate::raw::{strip_port, Field};
use crate::word::Words;

/// A provider: an index into the registry that built the [`ProviderMap`]. Index 0 is
/// the unknown provider (neither host nor envelope says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ProviderId(u8);

impl ProviderId {
    /// The unknown provider.
    pub const UNKNOWN: ProviderId = ProviderId(0);
    /// The most providers a registry holds (the unknown one included).
    pub const LIMIT: usize = u8::MAX as usize + 1;

    /// The provider at `index` of its registry.
    pub const fn new(index: u8) -> ProviderId {
        ProviderId(index)
    }

    /// The index, for per-provider arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Whether this is the unknown provider.
    pub const fn is_unknown(self) -> bool {
        self.0 == 0
    }
}

/// A record field that holds part of a provider's response envelope, for envelope keys
/// of provider definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeSlot {
    /// The error id (or error text) the provider's error rows are matched against.
    Error,
    /// The HTTP status echoed in the body.
    Code,
    /// A message for people.
    Message,
    /// The provider's own code (never the HTTP status).
    OwnCode,
    /// A second message field (`status_message`).
    StatusMessage,
    /// A success flag (`true`/`false`, or the strings `"True"`/`"False"`).
    Success,
    /// An array of error details (its length is kept).
    Errors,
}

impl EnvelopeSlot {
    /// Every slot, with the key errlens reads into it by default.
    pub const ALL: [(EnvelopeSlot, &'static str); 7] = [
        (EnvelopeSlot::Error, "error"),
        (EnvelopeSlot::Code, "code"),
        (EnvelopeSlot::Message, "message"),
        (EnvelopeSlot::OwnCode, "status_code"),
        (EnvelopeSlot::StatusMessage, "status_message"),
        (EnvelopeSlot::Success, "success"),
        (EnvelopeSlot::Errors, "errors"),
    ];

    /// The slot's name in provider definitions.
    pub fn name(self) -> &'static str {
        match self {
            EnvelopeSlot::Error => "error",
            EnvelopeSlot::Code => "code",
            EnvelopeSlot::Message => "message",
            EnvelopeSlot::OwnCode => "own_code",
            EnvelopeSlot::StatusMessage => "status_message",
            EnvelopeSlot::Success => "success",
            EnvelopeSlot::Errors => "errors",
        }
    }

    /// The key errlens reads into this slot without any definition.
    pub fn default_key(self) -> &'static str {
        EnvelopeSlot::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("", |(_, k)| k)
    }

    pub(crate) fn field(self) -> Field {
        match self {
            EnvelopeSlot::Error => Field::Error,
            EnvelopeSlot::Code => Field::Code,
            EnvelopeSlot::Message => Field::Message,
            EnvelopeSlot::OwnCode => Field::StatusCode,
            EnvelopeSlot::StatusMessage => Field::StatusMessage,
            EnvelopeSlot::Success => Field::Success,
            EnvelopeSlot::Errors => Field::Errors,
        }
    }
}

/// Why a host pattern or envelope key cannot be added to a [`ProviderMap`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A host pattern that is not a host name or `*.` followed by one.
    #[error("host {0:?} is not a host name (a `*.` prefix matches subdomains)")]
    BadHost(String),
    /// A key errlens already reads as another field.
    #[error("key {key:?} is errlens' own `{field}` field, not the {slot} slot")]
    TakenKey {
        /// The key.
        key: String,
        /// The field errlens reads it as.
        field: &'static str,
        /// The slot it was asked for.
        slot: &'static str,
    },
    /// The same extra key asked for two slots.
    #[error("key {key:?} is already the {slot} slot of another provider")]
    KeyClash {
        /// The key.
        key: String,
        /// The slot it already fills.
        slot: &'static str,
    },
    /// More extra envelope keys than a record can track.
    #[error("more than {0} envelope keys beyond errlens' own")]
    TooManyKeys(usize),
}

/// What a recognition rule looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// A value in one of errlens' own fields.
    Field(Field),
    /// A provider's own key (bit in [`crate::raw::Raw`]'s `extra_seen`).
    Extra(u32),
}

/// Names a record's provider: by host (with `--provider-host` overrides first), else by
/// the envelope keys it carries; and reads the envelope keys provider definitions add.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderMap {
    overrides: Vec<(String, ProviderId)>,
    exact: Vec<(String, ProviderId)>,
    /// `exact`'s names as [`Words`], in the same order (names over 32 bytes left out:
    /// no host that has words equals them).
    exact_words: Vec<(Words, ProviderId)>,
    /// `(".example.com", id)` for `*.example.com`.
    wildcard: Vec<(String, ProviderId)>,
    /// Keys beyond errlens' own field names, with the field they fill.
    extras: Vec<(String, Field)>,
    /// Recognition rules, best first: `(priority, order added, what, provider)`.
    rules: Vec<(u8, usize, Seen, ProviderId)>,
    /// Providers whose `status_code` is their own code.
    own_status_code: Vec<ProviderId>,
}

/// The most keys beyond errlens' own a map holds.
const MAX_EXTRAS: usize = 32;

impl ProviderMap {
    /// An empty map: every record is of the unknown provider.
    pub fn new() -> ProviderMap {
        ProviderMap::default()
    }

    /// Adds a host pattern of `provider`: a host name (case-insensitive, a trailing dot
    /// ignored) or `*.` and a domain, for every subdomain of it.
    pub fn add_host(&mut self, pattern: &str, provider: ProviderId) -> Result<(), MapError> {
        let p = pattern.trim().to_ascii_lowercase();
        let p = p.strip_suffix('.').unwrap_or(&p).to_owned();
        let (wild, name) = match p.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, p.clone()),
        };
        let ok = !name.is_empty()
            && name.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok {
            return Err(MapError::BadHost(pattern.to_owned()));
        }
        if wild {
            self.wildcard.push((format!(".{name}"), provider));
        } else {
            if let Some(w) = Words::of(name.as_bytes()) {
                self.exact_words.push((w, provider));
            }
            self.exact.push((name, provider));
        }
        Ok(())
    }

    /// Adds `host` (case-insensitive, port ignored) as `provider`'s, ahead of every
    /// pattern (`--provider-host`, for proxies and caches that log their own host).
    pub fn override_host(&mut self, host: &str, provider: ProviderId) {
        let host = strip_port(host.trim()).to_ascii_lowercase();
        self.overrides.retain(|(h, _)| *h != host);
        self.overrides.push((host, provider));
    }

    /// Whether `--provider-host` added any host.
    pub fn has_overrides(&self) -> bool {
        !self.overrides.is_empty()
    }

    /// Reads `key` into `slot` (a provider's envelope key). errlens' own key for the
    /// slot needs nothing; a key that is errlens' name of another field is refused.
    pub fn add_key(&mut self, key: &str, slot: EnvelopeSlot) -> Result<(), MapError> {
        let field = slot.field();
        match Field::from_name(key) {
            Field::Other => {}
            f if f == field => return Ok(()),
            f => {
                return Err(MapError::TakenKey {
                    key: key.to_owned(),
                    field: f.canonical(),
                    slot: slot.name(),
                })
            }
        }
        if let Some((_, f)) = self.extras.iter().find(|(k, _)| k == key) {
            if *f == field {
                return Ok(());
            }
            let slot = EnvelopeSlot::ALL
                .iter()
                .find(|(s, _)| s.field() == *f)
                .map_or("other", |(s, _)| s.name());
            return Err(MapError::KeyClash {
                key: key.to_owned(),
                slot,
            });
        }
        if self.extras.len() == MAX_EXTRAS {
            return Err(MapError::TooManyKeys(MAX_EXTRAS));
        }
        self.extras.push((key.to_owned(), field));
        Ok(())
    }

    /// A record without a provider host whose envelope has `key` is `provider`'s; of
    /// several rules that hold, the lowest `priority` wins, then the first added. The
    /// key must be errlens' own or added with [`ProviderMap::add_key`] first.
    pub fn recognize(&mut self, key: &str, priority: u8, provider: ProviderId) -> bool {
        let seen = match Field::from_name(key) {
            Field::Other => match self.extras.iter().position(|(k, _)| k == key) {
                Some(i) => Seen::Extra(1 << i),
                None => return false,
            },
            f => Seen::Field(f),
        };
        let order = self.rules.len();
        self.rules.push((priority, order, seen, provider));
        self.rules.sort_by_key(|r| (r.0, r.1));
        true
    }

    /// `provider` reads `status_code` as its own code: on its hosts a lone
    /// `status_code` is not taken for the HTTP status.
    pub fn owns_status_code(&mut self, provider: ProviderId) {
        if !self.own_status_code.contains(&provider) {
            self.own_status_code.push(provider);
        }
    }

    pub(crate) fn reads_status_code(&self, provider: ProviderId) -> bool {
        self.own_status_code.contains(&provider)
    }

    /// The field an extra key fills, and its bit.
    #[inline]
    pub(crate) fn extra(&self, key: &str) -> Option<(Field, u32)> {
        self.extras
            .iter()
            .position(|(k, _)| k == key)
            .map(|i| (self.extras[i].1, 1 << i))
    }

    /// Whether any key beyond errlens' own is read.
    #[inline]
    pub(crate) fn has_extras(&self) -> bool {
        !self.extras.is_empty()
    }

    /// The provider that serves `host` (case-insensitive, port and trailing dot
    /// ignored), if any.
    #[inline]
    pub fn provider_of_host(&self, host: &str) -> Option<ProviderId> {
        // Most hosts end in a letter: no port to look for.
        let h = match host.as_bytes().last() {
            Some(b) if b.is_ascii_digit() => strip_port(host),
            _ => host,
        };
        let h = h.strip_suffix('.').unwrap_or(h).as_bytes();
        // A host logged as a definition spells it (names are kept in lower case) is
        // found by its words; the first name equal to it is also the first equal
        // ignoring case, so the answer is the one the loops below give.
        if self.overrides.is_empty() {
            if let Some(w) = Words::of(h) {
                if let Some((_, p)) = self.exact_words.iter().find(|(x, _)| *x == w) {
                    return Some(*p);
                }
            }
        }
        // Lengths first: most candidates are ruled out without reading a byte.
        // Logged hosts are mostly lower case, as definitions spell them: a plain
        // compare first (a case-insensitive one cost ~50 instructions a record).
        let eq = |(k, p): &(String, ProviderId)| {
            (k.len() == h.len() && (k.as_bytes() == h || k.as_bytes().eq_ignore_ascii_case(h)))
                .then_some(*p)
        };
        if !self.overrides.is_empty() {
            if let Some(p) = self.overrides.iter().find_map(eq) {
                return Some(p);
            }
        }
        if let Some(p) = self.exact.iter().find_map(eq) {
            return Some(p);
        }
        self.wildcard.iter().find_map(|(suffix, p)| {
            let n = suffix.len();
            (h.len() > n && h[h.len() - n..].eq_ignore_ascii_case(suffix.as_bytes())).then_some(*p)
        })
    }

    /// The provider an envelope implies, by the rules.
    pub(crate) fn by_envelope(
        &self,
        is_set: impl Fn(Field) -> bool,
        extra_seen: u32,
    ) -> ProviderId {
        self.rules
            .iter()
            .find(|(_, _, seen, _)| match *seen {
                Seen::Field(f) => is_set(f),
                Seen::Extra(bit) => extra_seen & bit != 0,
            })
            .map_or(ProviderId::UNKNOWN, |r| r.3)
    }
}

/// For this crate's unit tests: a map as the built-in Simkl (1) and TMDB (2)
/// definitions of `errlens-classify` build it (hosts and recognition rules).
#[cfg(test)]
pub(crate) fn test_map() -> ProviderMap {
    let (simkl, tmdb) = (ProviderId::new(1), ProviderId::new(2));
    let mut m = ProviderMap::new();
    for h in ["api.simkl.com", "api.simkl.org"] {
        m.add_host(h, simkl).unwrap();
    }
    for h in ["api.themoviedb.org", "api.tmdb.org"] {
        m.add_host(h, tmdb).unwrap();
    }
    m.recognize("error", 1, simkl);
    m.recognize("code", 1, simkl);
    m.recognize("status_code", 0, tmdb);
    for k in ["status_message", "success", "errors"] {
        m.recognize(k, 2, tmdb);
    }
    m.owns_status_code(tmdb);
    m
}

/// The name of a [`test_map`] provider.
#[cfg(test)]
pub(crate) fn test_name(p: ProviderId) -> &'static str {
    ["unknown", "simkl", "tmdb"][p.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_exact_wildcard_and_overrides() {
        let a = ProviderId::new(1);
        let b = ProviderId::new(2);
        let mut m = ProviderMap::new();
        m.add_host("api.example.com", a).unwrap();
        m.add_host("*.example.org", b).unwrap();
        assert_eq!(m.provider_of_host("API.EXAMPLE.COM:443"), Some(a));
        assert_eq!(m.provider_of_host("api.example.com."), Some(a));
        assert_eq!(m.provider_of_host("x.y.example.org"), Some(b));
        assert_eq!(m.provider_of_host("example.org"), None);
        assert_eq!(m.provider_of_host("evilexample.org"), None);
        assert_eq!(m.provider_of_host("api.example.com.evil"), None);
        m.override_host("cache.local:8080", b);
        assert_eq!(m.provider_of_host("cache.local"), Some(b));
        assert!(m.add_host("bad host", a).is_err());
        assert!(m.add_host("*.", a).is_err());
    }

    #[test]
    fn keys_and_rules() {
        let mut m = ProviderMap::new();
        let p = ProviderId::new(3);
        m.add_key("error", EnvelopeSlot::Error).unwrap();
        assert!(m.add_key("status", EnvelopeSlot::Error).is_err());
        m.add_key("Error", EnvelopeSlot::Error).unwrap();
        assert!(m.add_key("Error", EnvelopeSlot::Success).is_err());
        assert!(m.recognize("Error", 0, p));
        assert!(!m.recognize("Nope", 0, p));
        assert_eq!(m.extra("Error"), Some((Field::Error, 1)));
        assert_eq!(m.by_envelope(|_| false, 1), p);
        assert_eq!(m.by_envelope(|_| false, 0), ProviderId::UNKNOWN);
    }
}
