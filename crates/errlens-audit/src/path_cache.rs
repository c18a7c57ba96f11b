//! A cache from (provider, raw path) to what a path was found to be, so a path seen
//! before is neither templated nor looked up by name again.
//!
//! Most paths are short (`/3/movie/550`, `/sync/activities`): their key is held inline,
//! in 32 bytes hashed and compared as four words, so a lookup touches one table slot
//! and no heap memory. Longer paths use a map of boxed keys. The cache is emptied when
//! it holds `cap` keys, so its memory is bounded whatever the input.

use rustc_hash::FxHashMap as HashMap;

/// Paths of at most this many bytes are held inline.
const SHORT: usize = 30;

/// Provider index, path length and path, zero-padded: equal keys are equal paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ShortKey([u64; 4]);

impl ShortKey {
    #[inline]
    fn of(provider: u8, path: &[u8]) -> Option<ShortKey> {
        if path.len() > SHORT {
            return None;
        }
        let mut b = [0u8; 32];
        b[0] = provider;
        b[1] = path.len() as u8;
        b[2..2 + path.len()].copy_from_slice(path);
        let word = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8"));
        Some(ShortKey([word(0), word(1), word(2), word(3)]))
    }
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct PathCache<V> {
    short: HashMap<ShortKey, V>,
    long: HashMap<Box<[u8]>, V>,
    /// The long key being looked up.
    scratch: Vec<u8>,
    cap: usize,
}

impl<V: Copy> PathCache<V> {
    /// An empty cache of at most `cap` keys.
    pub(crate) fn new(cap: usize) -> Self {
        PathCache {
            short: HashMap::default(),
            long: HashMap::default(),
            scratch: Vec::new(),
            cap,
        }
    }

    /// The value of `path` under `provider`, if cached.
    #[inline]
    pub(crate) fn get(&mut self, provider: u8, path: &str) -> Option<V> {
        match ShortKey::of(provider, path.as_bytes()) {
            Some(k) => self.short.get(&k).copied(),
            None => {
                long_key(&mut self.scratch, provider, path);
                self.long.get(&self.scratch[..]).copied()
            }
        }
    }

    /// Caches `v` for `path` under `provider` (emptying the cache first when full).
    pub(crate) fn insert(&mut self, provider: u8, path: &str, v: V) {
        if self.short.len() + self.long.len() >= self.cap {
            self.short.clear();
            self.long.clear();
        }
        match ShortKey::of(provider, path.as_bytes()) {
            Some(k) => {
                self.short.insert(k, v);
            }
            None => {
                long_key(&mut self.scratch, provider, path);
                self.long.insert(self.scratch.as_slice().into(), v);
            }
        }
    }

    /// Keys held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }
}

/// The key of a long path: the provider's index, then the path.
fn long_key(out: &mut Vec<u8>, provider: u8, path: &str) {
    out.clear();
    out.push(provider);
    out.extend_from_slice(path.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_paths_by_provider() {
        let mut c = PathCache::new(100);
        let long = format!("/{}", "x".repeat(SHORT));
        let paths = ["/", "/a", "/a\0", "/3/movie/550", &long[..SHORT], &long];
        for (i, p) in paths.iter().enumerate() {
            for provider in [0u8, 1, 255] {
                assert_eq!(c.get(provider, p), None, "{p:?}");
                c.insert(provider, p, (i, provider));
            }
        }
        for (i, p) in paths.iter().enumerate() {
            for provider in [0u8, 1, 255] {
                assert_eq!(c.get(provider, p), Some((i, provider)), "{p:?}");
            }
        }
        assert_eq!(c.get(2, "/a"), None);
        assert_eq!(c.get(0, "/b"), None);
        assert_eq!(c.len(), paths.len() * 3);
    }

    #[test]
    fn bounded() {
        let mut c = PathCache::new(10);
        for i in 0..95 {
            c.insert(0, &format!("/p/{i}"), i);
            c.insert(0, &format!("/{}/{i}", "long".repeat(10)), i);
            assert!(c.len() <= 10);
        }
        assert_eq!(c.get(0, "/p/94"), Some(94));
    }
}
