//! A cache from (provider, raw path) to what a path was found to be, so a path seen
//! before is neither templated nor looked up by name again.
//!
//! It is consulted for every record, so it is built small and flat: a
//! fixed table of 16-byte entries (1 MiB at the auditor's size), four ways per set,
//! each entry the path's 64-bit XXH3 hash (seeded with the provider) and the value. A
//! map of whole keys that held every path of a long log was several megabytes, and
//! reading it missed the CPU cache on most lookups. The hash stands for the path as
//! the retry-chain key does: two paths would have to agree in all 64 bits to be
//! confused. A full set drops its oldest entry, so memory is fixed whatever the input.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The key of `path` under `provider` in a [`PathCache`]: its hash, never 0 (the
/// empty mark).
#[inline]
pub(crate) fn key(provider: u8, path: &str) -> u64 {
    xxh3_64_with_seed(path.as_bytes(), u64::from(provider)).max(1)
}

/// One cached path: its hash (0: empty) and value.
#[derive(Debug, Clone, Copy)]
struct Entry<V> {
    hash: u64,
    value: V,
}

/// Entries of one set, the most recently inserted first: one cache line.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Set<V>([Entry<V>; WAYS]);

/// Entries per set.
const WAYS: usize = 4;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct PathCache<V> {
    /// Sets of [`WAYS`] entries, the most recently inserted first.
    sets: Box<[Set<V>]>,
    mask: usize,
}

impl<V: Copy + Default> PathCache<V> {
    /// An empty cache of `cap` entries (rounded up to a power of two, at least [`WAYS`]).
    pub(crate) fn new(cap: usize) -> Self {
        let sets = (cap / WAYS).max(1).next_power_of_two();
        let empty = Entry {
            hash: 0,
            value: V::default(),
        };
        PathCache {
            sets: vec![Set([empty; WAYS]); sets].into_boxed_slice(),
            mask: sets - 1,
        }
    }

    /// Starts loading the set of `hash` into the CPU cache, so that a lookup made a
    /// little later does not wait for memory.
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let set = &self.sets[hash as usize & self.mask];
            // SAFETY: SSE is part of x86-64; a prefetch reads nothing the program sees.
            unsafe {
                use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                _mm_prefetch::<_MM_HINT_T0>((set as *const Set<V>).cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }

    /// The value cached under `hash` (from [`key`]), if any.
    #[inline]
    pub(crate) fn get(&self, hash: u64) -> Option<V> {
        let set = &self.sets[hash as usize & self.mask];
        set.0.iter().find(|e| e.hash == hash).map(|e| e.value)
    }

    /// Caches `v` under `hash` (from [`key`]), dropping the set's oldest
    /// entry.
    pub(crate) fn insert(&mut self, hash: u64, v: V) {
        let set = &mut self.sets[hash as usize & self.mask];
        // Shift the entries before the one replaced: `hash`'s own entry if cached, else
        // the oldest.
        let at = set
            .0
            .iter()
            .position(|e| e.hash == hash)
            .unwrap_or(WAYS - 1);
        set.0.copy_within(..at, 1);
        set.0[0] = Entry { hash, value: v };
    }

    /// Entries held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.sets
            .iter()
            .flat_map(|s| s.0.iter())
            .filter(|e| e.hash != 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_by_provider() {
        let mut c = PathCache::new(1024);
        let long = format!("/{}", "x".repeat(300));
        let paths = ["/", "/a", "/a\0", "/3/movie/550", "", &long[..31], &long];
        for (i, p) in paths.iter().enumerate() {
            for provider in [0u8, 1, 255] {
                assert_eq!(c.get(key(provider, p)), None, "{p:?}");
                c.insert(key(provider, p), (i, provider));
            }
        }
        for (i, p) in paths.iter().enumerate() {
            for provider in [0u8, 1, 255] {
                assert_eq!(c.get(key(provider, p)), Some((i, provider)), "{p:?}");
            }
        }
        assert_eq!(c.get(key(2, "/a")), None);
        assert_eq!(c.get(key(0, "/b")), None);
        assert_eq!(c.len(), paths.len() * 3);
    }

    #[test]
    fn bounded_and_keeps_the_latest() {
        let mut c = PathCache::new(10);
        for i in 0..1000 {
            let p = format!("/p/{i}");
            c.insert(key(0, &p), i);
            assert_eq!(c.get(key(0, &p)), Some(i));
            assert!(c.len() <= 16);
        }
        // Re-inserting a cached path does not evict its set's other entry.
        let mut c = PathCache::new(2);
        c.insert(key(0, "/a"), 1);
        c.insert(key(0, "/b"), 2);
        c.insert(key(0, "/b"), 3);
        assert_eq!(
            (c.get(key(0, "/a")), c.get(key(0, "/b"))),
            (Some(1), Some(3))
        );
    }
}
