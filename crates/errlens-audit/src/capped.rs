//! Exact, mergeable caps on per-client and per-endpoint tables (bottom-k by a stable
//! hash).
//!
//! A log can hold any number of distinct client ids or endpoints, so each table keeps
//! its own row for at most `cap` names and folds every other name into one `<other>`
//! row. Which names keep a row must not depend on the order the input is read in, or on
//! where it was cut into shards, or a merged (or parallel) audit would differ from one
//! pass. So the kept names are the `cap` with the smallest *rank*: a stable 64-bit hash
//! of the name (ties broken by the name itself), computed the same way in every process
//! and version. This is exactly mergeable: a name in the bottom `cap` of a whole log is
//! in the bottom `cap` of every shard it occurs in (a shard has fewer names to compete
//! with), so it keeps its exact counts everywhere, and folding the union of two shards'
//! kept names back to `cap` gives the one-pass result for any split. Conversely, a name
//! folded anywhere (in a shard, or at a merge) is folded in the final result too, since
//! `cap` names of smaller rank exist. Rows plus `<other>` always sum to the total.
//!
//! The kept names are a deterministic sample, not the busiest names: with more than
//! `cap` distinct names, a heavy client can be in `<other>`. The caps are set high enough
//! (see [`crate::MAX_CLIENTS`], [`crate::MAX_ENDPOINTS`]) that real logs rarely reach
//! them.

use errlens_parse::word;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// The longest name (client id, error id, `provider endpoint`) a table keeps, in bytes:
/// a longer one is cut to this at a character boundary before it is looked up, so
/// names that differ only past it share a row. With the caps, this bounds the tables'
/// memory whatever the input.
pub const MAX_NAME_BYTES: usize = 256;

/// `name` cut to at most [`MAX_NAME_BYTES`] bytes, at a character boundary.
#[inline]
pub(crate) fn cut(name: &str) -> &str {
    cut_to(name, MAX_NAME_BYTES)
}

/// `name` cut to at most `max` bytes, at a character boundary: how a logged name is
/// bounded before it is kept (here, and in the exporter's label values).
#[inline]
pub fn cut_to(name: &str, max: usize) -> &str {
    if name.len() <= max {
        return name;
    }
    let mut end = max;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The row every name past the cap is counted in. A name that is literally this is
/// counted there too (it could not be told apart from the fold).
pub(crate) const OTHER: &str = "<other>";

/// A name's rank: FNV-1a 64 of its bytes with the murmur3 finalizer (so similar ids
/// spread over the whole range). Stable across runs, platforms and versions, like
/// [`crate::endpoint::chain_key`]. The empty name (records without a client id) ranks
/// first, so it always keeps its row.
pub(crate) fn rank(name: &str) -> u64 {
    if name.is_empty() {
        return 0;
    }
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name.as_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The names of `names` that keep a row under `cap`, as a flag per name (in the given
/// order): the `cap` of smallest (rank, name).
pub(crate) fn kept<'a>(names: impl Iterator<Item = &'a str>, cap: usize) -> Vec<bool> {
    let mut keys: Vec<(u64, &str, usize)> =
        names.enumerate().map(|(i, n)| (rank(n), n, i)).collect();
    let mut keep = vec![false; keys.len()];
    if keys.len() > cap {
        keys.select_nth_unstable_by(cap, |a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        keys.truncate(cap);
    }
    for (_, _, i) in keys {
        keep[i] = true;
    }
    keep
}

/// A kept name and its counts.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    /// The name.
    pub(crate) name: Box<str>,
    /// Its id: assigned when the name was admitted, never reused (so a chain tracker
    /// holding it can tell later whether the name still has a row).
    pub(crate) id: u32,
    /// Its counts.
    pub(crate) value: T,
}

/// A streaming bottom-k table: exact rows for the `cap` names of smallest rank seen so
/// far. A new name either takes a row (evicting the kept name of largest rank when the
/// table is full, whose counts the caller folds) or is folded at once.
#[derive(Debug)]
pub(crate) struct Capped<T> {
    cap: usize,
    index: HashMap<Box<str>, u32>,
    entries: Vec<Entry<T>>,
    /// Kept names by (rank, name), to find the one to evict.
    by_rank: BTreeMap<(u64, Box<str>), u32>,
    /// The largest kept rank once the table is full (new names of larger rank are
    /// folded without a lookup in `by_rank`).
    max_rank: u64,
    next_id: u32,
    /// The answers for recently looked-up names (see [`Recent`]).
    recent: Box<[Recent; RECENT]>,
}

/// Names remembered in [`Capped::recent`]: a log's clients and error ids mostly repeat
/// a few names.
const RECENT: usize = 64;

/// A recently looked-up name, known by its length and its first and last eight bytes
/// (which are the whole name up to 16 bytes), and its answer: its slot and the id of
/// its entry then (a slot is reused when its entry is evicted), or [`Capped::FOLDED`]
/// for a name folded for good. Direct-mapped: looking it up costs a few instructions
/// where the index costs a string hash, a probe and a compare.
#[derive(Debug, Clone, Copy)]
struct Recent {
    len: usize,
    head: u64,
    tail: u64,
    /// See [`Capped::answer`].
    answer: (u32, u32),
}

impl Recent {
    const EMPTY: Recent = Recent {
        len: usize::MAX,
        head: 0,
        tail: 0,
        answer: (0, 0),
    };

    /// The words that know `name`, and its place in [`Capped::recent`].
    #[inline]
    fn words(name: &str) -> (u64, u64, usize) {
        let b = name.as_bytes();
        let (head, tail) = match b.len() {
            8.. => word::ends(b),
            _ => (word::padded(b), 0),
        };
        let h = (head ^ tail.rotate_left(29) ^ b.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (head, tail, (h >> 58) as usize)
    }
}

impl<T: Default> Capped<T> {
    /// The id of a name that has no row.
    pub(crate) const FOLDED: u32 = u32::MAX;

    /// An empty table keeping at most `cap` names.
    pub(crate) fn new(cap: usize) -> Self {
        Capped {
            cap,
            index: HashMap::default(),
            entries: Vec::new(),
            by_rank: BTreeMap::new(),
            max_rank: u64::MAX,
            next_id: 0,
            recent: Box::new([Recent::EMPTY; RECENT]),
        }
    }

    /// The row of `name`: its slot, or `None` when the name is folded. A name new to
    /// the table is admitted if it ranks below the largest kept one (or there is room);
    /// the entry it evicts is given to `evicted` (to fold its counts).
    #[inline]
    pub(crate) fn slot(&mut self, name: &str, evicted: impl FnOnce(Entry<T>)) -> Option<usize> {
        let name = cut(name);
        let (head, tail, i) = Recent::words(name);
        let r = self.recent[i];
        if r.len == name.len() && r.head == head && r.tail == tail {
            // Equal words are an equal name up to 16 bytes; a longer one is compared
            // (a folded one has no entry to compare with: it is looked up).
            match self.recall(r.answer) {
                Some(None) if name.len() <= 16 => return None,
                Some(Some(s)) if name.len() <= 16 || *self.entries[s].name == *name => {
                    return Some(s)
                }
                _ => {}
            }
        }
        let slot = match self.index.get(name) {
            Some(&slot) => Some(slot as usize),
            None => self.admit(name, evicted),
        };
        self.recent[i] = Recent {
            len: name.len(),
            head,
            tail,
            answer: self.answer(slot),
        };
        slot
    }

    /// An answer of [`Capped::slot`] to remember: the slot and its entry's id, or
    /// [`Capped::FOLDED`].
    #[inline]
    pub(crate) fn answer(&self, slot: Option<usize>) -> (u32, u32) {
        match slot {
            Some(s) => (s as u32, self.entries[s].id),
            None => (Self::FOLDED, 0),
        }
    }

    /// A remembered [`Capped::answer`], if it still holds: a slot whose entry is still
    /// there (its slot is reused when it is evicted), or a fold (a folded name stays
    /// folded: the largest kept rank only falls).
    #[inline]
    pub(crate) fn recall(&self, (slot, id): (u32, u32)) -> Option<Option<usize>> {
        if slot == Self::FOLDED {
            return Some(None);
        }
        (self.entries.get(slot as usize)?.id == id).then_some(Some(slot as usize))
    }

    fn admit(&mut self, name: &str, evicted: impl FnOnce(Entry<T>)) -> Option<usize> {
        // Ids run out after 4 billion admissions (as many distinct names in one input):
        // later names are folded.
        if name == OTHER || self.cap == 0 || self.next_id == Self::FOLDED {
            return None;
        }
        let r = rank(name);
        let full = self.entries.len() >= self.cap;
        if full && r > self.max_rank {
            return None;
        }
        let entry = Entry {
            name: name.into(),
            id: self.next_id,
            value: T::default(),
        };
        let slot = if full {
            let last = self.by_rank.last_entry().expect("a full table has entries");
            let (max_rank, max_name) = last.key();
            if (r, name) > (*max_rank, &**max_name) {
                return None;
            }
            let slot = last.remove();
            let old = std::mem::replace(&mut self.entries[slot as usize], entry);
            self.index.remove(&old.name);
            evicted(old);
            slot
        } else {
            self.entries.push(entry);
            (self.entries.len() - 1) as u32
        };
        self.next_id += 1;
        self.index.insert(name.into(), slot);
        self.by_rank.insert((r, name.into()), slot);
        if self.entries.len() >= self.cap {
            self.max_rank = self.by_rank.last_key_value().map_or(u64::MAX, |(k, _)| k.0);
        }
        Some(slot as usize)
    }

    /// The entry in `slot`.
    #[inline]
    pub(crate) fn entry_mut(&mut self, slot: usize) -> &mut Entry<T> {
        &mut self.entries[slot]
    }

    /// The kept entries, in no particular order.
    pub(crate) fn into_entries(self) -> Vec<Entry<T>> {
        self.entries
    }

    /// The kept entries, in no particular order.
    pub(crate) fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeding names in any order keeps the same bottom `cap`, and eviction hands every
    /// evicted count over: kept + folded = total. Short names, and long names that
    /// differ only in the middle (the same length and first and last eight bytes, so
    /// the same place among the recent names), each name seen many times.
    #[test]
    fn streaming_table_keeps_the_bottom_k_in_any_order() {
        let short: Vec<String> = (0..2_000).map(|i| format!("c{i}")).collect();
        let long: Vec<String> = (0..2_000)
            .map(|i| format!("client--{i:06}--same-tail"))
            .collect();
        let mixed: Vec<String> = (0..2_000)
            .map(|i| match i % 3 {
                0 => format!("{i}"),
                1 => format!("c-{i:08}"),
                _ => format!("client--{i:06}--same-tail"),
            })
            .collect();
        for names in [short, long, mixed] {
            bottom_k_in_any_order(&names);
        }
    }

    fn bottom_k_in_any_order(names: &[String]) {
        let cap = 100;
        let want: Vec<bool> = kept(names.iter().map(String::as_str), cap);
        for order in 0..3u64 {
            let mut t: Capped<u64> = Capped::new(cap);
            let mut folded = 0;
            let mut seq: Vec<usize> = (0..names.len()).collect();
            if order == 1 {
                seq.reverse();
            }
            if order == 2 {
                seq.sort_by_key(|&i| (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            }
            // Each name three times in a row, then again after all others were seen.
            for _ in 0..3 {
                for &i in &seq {
                    for _ in 0..3 {
                        match t.slot(&names[i], |e| folded += e.value) {
                            Some(s) => t.entry_mut(s).value += 1,
                            None => folded += 1,
                        }
                    }
                }
            }
            let mut got = vec![false; names.len()];
            let mut kept_total = 0;
            for e in t.entries() {
                let i = names.iter().position(|n| **n == *e.name).unwrap();
                got[i] = true;
                assert_eq!(e.value, 9, "a kept name was never folded");
                kept_total += e.value;
            }
            assert_eq!(got, want, "order {order}");
            assert_eq!(kept_total + folded, 9 * names.len() as u64);
        }
    }

    /// Summaries written by other processes and versions merge only if ranks never
    /// change.
    #[test]
    fn ranks_are_stable() {
        assert_eq!(rank("client-1"), 0xf93b_d2c1_6ac6_882d);
        assert_eq!(rank("simkl /sync/history"), 0xa71c_698e_c4dd_e6da);
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_NAME_BYTES);
        let c = cut(&long);
        assert!(c.len() <= MAX_NAME_BYTES && c.len() >= MAX_NAME_BYTES - 1);
        assert!(long.starts_with(c));
        assert_eq!(cut("short"), "short");
        let mut t: Capped<u8> = Capped::new(10);
        let a = t.slot(&format!("{long}a"), |_| unreachable!());
        assert_eq!(t.slot(&format!("{long}b"), |_| unreachable!()), a);
        assert_eq!(t.entries()[0].name.len(), c.len());
    }

    #[test]
    fn empty_name_ranks_first_and_other_is_folded() {
        assert_eq!(rank(""), 0);
        assert_ne!(rank("a"), rank("b"));
        let mut t: Capped<u8> = Capped::new(1);
        assert_eq!(t.slot("", |_| unreachable!()), Some(0));
        assert_eq!(t.slot("x", |_| unreachable!()), None);
        assert_eq!(t.slot(OTHER, |_| unreachable!()), None);
        assert_eq!(Capped::<u8>::new(0).slot("", |_| unreachable!()), None);
    }
}
