//! The providers a run knows: the built-in definitions plus any `--providers FILE`,
//! each an index ([`ProviderId`]) into one [`Registry`] built at start-up. Every stage
//! — ingest (hosts and envelope keys), classification, the audit, metrics, rendering,
//! `explain` and `tables` — reads providers from here; nothing else names one.
//!
//! A new built-in provider is its TOML file in this crate's `providers/` directory and
//! one line in [`BUILTIN`].

use crate::def::{DefError, Provider, Source};
use errlens_parse::{ProviderId, ProviderMap};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The built-in definitions, in report order: `(name, TOML text)`.
pub const BUILTIN: &[(&str, &str)] = &[
    ("simkl", include_str!("../providers/simkl.toml")),
    ("tmdb", include_str!("../providers/tmdb.toml")),
];

/// The name of records no provider claims.
pub const UNKNOWN: &str = "unknown";

/// A provider definition as a summary records it: name and content hash.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    /// Provider name.
    pub name: String,
    /// First 16 hex digits of the SHA-256 of its definition.
    pub hash: String,
}

/// The loaded providers, and the map the ingest front names providers with.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Provider `i` has id `i + 1` (id 0 is the unknown provider).
    providers: Vec<Provider>,
    map: Arc<ProviderMap>,
    /// Per provider index (0: unknown), the tables of [`Registry::classify`].
    pub(crate) lanes: Vec<crate::fast::Lane>,
}

impl Registry {
    /// The built-in providers alone (built once).
    pub fn builtin() -> &'static Registry {
        Registry::builtin_shared_ref()
    }

    /// The built-in providers alone, shared.
    pub fn builtin_shared() -> Arc<Registry> {
        Arc::clone(Registry::builtin_shared_ref())
    }

    fn builtin_shared_ref() -> &'static Arc<Registry> {
        static BUILT: OnceLock<Arc<Registry>> = OnceLock::new();
        BUILT.get_or_init(|| {
            Arc::new(Registry::with(&[]).expect("the built-in provider definitions are valid"))
        })
    }

    /// The built-in providers plus definitions read from `files`, in order.
    pub fn load(files: &[impl AsRef<Path>]) -> Result<Registry, DefError> {
        let mut texts = Vec::new();
        for f in files {
            let path = f.as_ref();
            let text = std::fs::read_to_string(path).map_err(|e| DefError {
                file: path.display().to_string(),
                line: 0,
                field: "file".into(),
                reason: e.to_string(),
            })?;
            texts.push((Source::File(path.display().to_string()), text));
        }
        Registry::with(&texts)
    }

    /// The built-in providers plus the definitions given as `(source, text)`.
    pub fn with(extra: &[(Source, String)]) -> Result<Registry, DefError> {
        let builtin = BUILTIN
            .iter()
            .map(|(_, text)| (Source::Builtin, (*text).to_owned()));
        let mut providers: Vec<Provider> = Vec::new();
        let mut map = ProviderMap::new();
        for (source, text) in builtin.chain(extra.iter().cloned()) {
            let index = u8::try_from(providers.len() + 1)
                .ok()
                .filter(|&i| usize::from(i) < ProviderId::LIMIT);
            let Some(index) = index else {
                return Err(DefError {
                    file: source.to_string(),
                    line: 0,
                    field: "name".into(),
                    reason: format!("more than {} providers", ProviderId::LIMIT - 2),
                });
            };
            let id = ProviderId::new(index);
            let p = Provider::parse(&text, source.clone(), id)?;
            let clash = |field: &str, reason: String| DefError {
                file: source.to_string(),
                line: 0,
                field: field.into(),
                reason,
            };
            if let Some(other) = providers.iter().find(|o| o.name == p.name) {
                return Err(clash(
                    "name",
                    format!(
                        "provider {:?} is already defined ({})",
                        p.name, other.source
                    ),
                ));
            }
            for h in &p.hosts {
                if let Some(other) = providers
                    .iter()
                    .find(|o| o.hosts.iter().any(|x| x.eq_ignore_ascii_case(h)))
                {
                    return Err(clash(
                        "hosts",
                        format!("host {h:?} is already {}'s", other.name),
                    ));
                }
                map.add_host(h, id)
                    .map_err(|e| clash("hosts", e.to_string()))?;
            }
            for (slot, key) in &p.envelope.keys {
                map.add_key(key, *slot)
                    .map_err(|e| clash(&format!("envelope.{}", slot.name()), e.to_string()))?;
                if *slot == errlens_parse::EnvelopeSlot::OwnCode && key == "status_code" {
                    map.owns_status_code(id);
                }
            }
            for (key, prio) in &p.envelope.recognize {
                map.recognize(key, *prio, id);
            }
            providers.push(p);
        }
        let mut r = Registry {
            providers,
            map: Arc::new(map),
            lanes: Vec::new(),
        };
        r.lanes = crate::fast::Lane::build(&r);
        Ok(r)
    }

    /// The map the ingest front names providers with.
    pub fn map(&self) -> &Arc<ProviderMap> {
        &self.map
    }

    /// The map with `--provider-host` overrides added.
    pub fn map_with_hosts(&self, hosts: &[(String, ProviderId)]) -> Arc<ProviderMap> {
        if hosts.is_empty() {
            return Arc::clone(&self.map);
        }
        let mut m = (*self.map).clone();
        for (h, p) in hosts {
            m.override_host(h, *p);
        }
        Arc::new(m)
    }

    /// Every loaded provider, in report order.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The provider of `id` (`None` for the unknown provider).
    #[inline]
    pub fn get(&self, id: ProviderId) -> Option<&Provider> {
        id.index()
            .checked_sub(1)
            .and_then(|i| self.providers.get(i))
    }

    /// The name of `id` (`unknown` for the unknown provider).
    #[inline]
    pub fn name(&self, id: ProviderId) -> &str {
        self.get(id).map_or(UNKNOWN, |p| p.name.as_str())
    }

    /// The provider named `name` (case-insensitive), `unknown` included.
    pub fn by_name(&self, name: &str) -> Option<ProviderId> {
        if name.eq_ignore_ascii_case(UNKNOWN) {
            return Some(ProviderId::UNKNOWN);
        }
        self.providers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.id)
    }

    /// Slots for per-provider arrays: the providers and the unknown one.
    pub fn slots(&self) -> usize {
        self.providers.len() + 1
    }

    /// Every id in report order: the providers, then the unknown one.
    pub fn ids(&self) -> impl Iterator<Item = ProviderId> + '_ {
        self.providers
            .iter()
            .map(|p| p.id)
            .chain(std::iter::once(ProviderId::UNKNOWN))
    }

    /// Every provider name in report order, `unknown` last.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.ids().map(|id| self.name(id))
    }

    /// The definitions this registry was made with (name and hash), in order.
    pub fn stamps(&self) -> Vec<Stamp> {
        self.providers
            .iter()
            .map(|p| Stamp {
                name: p.name.clone(),
                hash: p.hash.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_load_in_order() {
        let r = Registry::builtin();
        let names: Vec<&str> = r.names().collect();
        let want: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).chain([UNKNOWN]).collect();
        assert_eq!(names, want);
        for (p, (name, _)) in r.providers().iter().zip(BUILTIN) {
            assert_eq!(p.name, *name, "BUILTIN names the file's provider");
            assert_eq!(r.by_name(name), Some(p.id));
        }
        assert_eq!(r.by_name("UNKNOWN"), Some(ProviderId::UNKNOWN));
        assert_eq!(r.by_name("nope"), None);
    }

    #[test]
    fn clashes_are_refused() {
        let dup = (Source::File("dup.toml".into()), BUILTIN[0].1.to_owned());
        let e = Registry::with(&[dup]).unwrap_err();
        assert_eq!((e.file.as_str(), e.field.as_str()), ("dup.toml", "name"));
        let text = "name = \"x\"\ntitle = \"X\"\nhosts = [\"API.SIMKL.COM\"]\n";
        let e = Registry::with(&[(Source::File("x.toml".into()), text.into())]).unwrap_err();
        assert_eq!(e.field, "hosts", "{e}");
    }
}
