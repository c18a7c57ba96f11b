//! The chain tracker's per-key table: one 64-byte, cache-line-aligned slot per
//! (client, method, URL) key, holding the key's open chain packed into 32 bytes.
//!
//! Every record with a URL reads and writes its key's slot, and keys are spread at
//! random (the key is a hash): the slot is usually not in the core's own caches. A
//! `HashMap<u64, Slot>` with the chain as [`OpenChain`] (56 bytes) took 104 bytes per
//! entry, laid out without regard to cache lines: two or three lines per record. Here
//! a slot is exactly one line (the table is a [`hashbrown::HashTable`] of
//! `#[repr(align(64))]` slots, the key inside the slot, hashed as itself: it is
//! already an XXH3 hash), and the chain is packed and unpacked exactly on the way in
//! and out ([`Packed`]; a test holds the round trip).

use crate::chains::{Event, OpenChain};
use hashbrown::HashTable;

/// An [`OpenChain`] in 32 bytes: the options as flag bits beside plain values. The
/// `failure` flag stays a `bool`, so `Option<Packed>` needs no extra byte.
#[derive(Debug, Clone, Copy)]
struct Packed {
    ts: i64,
    retry_after_ms: i64,
    position: u32,
    retries: u32,
    attempt: u32,
    provider: u8,
    bits: u8,
    failure: bool,
}

const HAS_TS: u8 = 1;
const HAS_RETRY_AFTER: u8 = 1 << 1;
const HAS_ATTEMPT: u8 = 1 << 2;
const RETRYABLE: u8 = 1 << 3;
const BLOCKS_POSTS: u8 = 1 << 4;
const POST: u8 = 1 << 5;

impl From<OpenChain> for Packed {
    #[inline(always)]
    fn from(c: OpenChain) -> Packed {
        let e = c.last;
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        Packed {
            ts: e.ts.unwrap_or(0),
            retry_after_ms: e.retry_after_ms.unwrap_or(0),
            position: c.position,
            retries: c.retries,
            attempt: e.attempt.unwrap_or(0),
            provider: e.provider,
            bits: flag(e.ts.is_some(), HAS_TS)
                | flag(e.retry_after_ms.is_some(), HAS_RETRY_AFTER)
                | flag(e.attempt.is_some(), HAS_ATTEMPT)
                | flag(e.retryable, RETRYABLE)
                | flag(e.blocks_posts, BLOCKS_POSTS)
                | flag(e.post, POST),
            failure: e.failure,
        }
    }
}

impl From<Packed> for OpenChain {
    #[inline(always)]
    fn from(p: Packed) -> OpenChain {
        let has = |bit: u8| p.bits & bit != 0;
        OpenChain {
            last: Event {
                ts: has(HAS_TS).then_some(p.ts),
                attempt: has(HAS_ATTEMPT).then_some(p.attempt),
                failure: p.failure,
                retryable: has(RETRYABLE),
                blocks_posts: has(BLOCKS_POSTS),
                post: has(POST),
                retry_after_ms: has(HAS_RETRY_AFTER).then_some(p.retry_after_ms),
                provider: p.provider,
            },
            position: p.position,
            retries: p.retries,
        }
    }
}

/// One key's state in a shard: its unresolved prefix and its open chain.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Slot {
    /// The key (a hash of client id, method and URL).
    pub(crate) key: u64,
    open: Option<Packed>,
    /// The key's first events while they may continue an earlier shard's chain.
    /// Boxed, a pointer: a `Vec` (24 bytes) or a boxed slice (16) would not leave the
    /// slot one line, and most keys never have a prefix.
    #[allow(clippy::box_collection)]
    prefix: Option<Box<Vec<Event>>>,
    /// Wall-clock arrival of the key's last event (live trackers only).
    pub(crate) arrived_ms: i64,
    /// The key's client (an id the caller keeps).
    pub(crate) client: u32,
    /// Whether the prefix is complete (a later event was independent of history).
    pub(crate) prefix_closed: bool,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 64);

impl Slot {
    /// The open chain.
    #[inline(always)]
    pub(crate) fn open(&self) -> Option<OpenChain> {
        self.open.map(OpenChain::from)
    }

    /// Whether a chain is open.
    #[inline(always)]
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Sets the open chain.
    #[inline(always)]
    pub(crate) fn set_open(&mut self, chain: OpenChain) {
        self.open = Some(chain.into());
    }

    /// Takes the open chain out, leaving none.
    #[inline(always)]
    pub(crate) fn take_open(&mut self) -> Option<OpenChain> {
        self.open.take().map(OpenChain::from)
    }

    /// The unresolved prefix, in order.
    #[inline(always)]
    pub(crate) fn prefix(&self) -> &[Event] {
        self.prefix.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Appends to the unresolved prefix.
    pub(crate) fn push_prefix(&mut self, ev: Event) {
        // Most keys of a high-cardinality log are seen once: room for one event, not
        // the default four.
        self.prefix
            .get_or_insert_with(|| Box::new(Vec::with_capacity(1)))
            .push(ev);
    }

    /// Takes the prefix out, leaving none.
    pub(crate) fn take_prefix(&mut self) -> Vec<Event> {
        self.prefix.take().map_or_else(Vec::new, |p| *p)
    }
}

/// The slots of a shard's keys.
#[derive(Debug, Default)]
pub(crate) struct Table {
    slots: HashTable<Slot>,
}

/// A slot's hash: its key, already a hash.
#[inline(always)]
fn hash(slot: &Slot) -> u64 {
    slot.key
}

impl Table {
    /// The slot of `key`, made for `client` if the key is new.
    #[inline(always)]
    pub(crate) fn slot(&mut self, key: u64, client: u32) -> &mut Slot {
        self.slots
            .entry(key, |s| s.key == key, hash)
            .or_insert_with(|| Slot {
                key,
                open: None,
                prefix: None,
                arrived_ms: 0,
                client,
                prefix_closed: false,
            })
            .into_mut()
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Keeps the slots `keep` says to keep.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&mut Slot) -> bool) {
        self.slots.retain(keep);
    }

    /// Every slot, in no order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter()
    }

    /// Every slot, by value, in no order.
    pub(crate) fn into_slots(self) -> impl Iterator<Item = Slot> {
        self.slots.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packing an open chain and unpacking it gives it back, whatever its options and
    /// flags hold (zero values beside absent ones included).
    #[test]
    fn packed_chains_round_trip() {
        let mut n = 0;
        for ts in [None, Some(0), Some(-5), Some(i64::MAX)] {
            for attempt in [None, Some(0), Some(1), Some(u32::MAX)] {
                for retry_after_ms in [None, Some(0), Some(120_000)] {
                    for flags in 0..16u8 {
                        let c = OpenChain {
                            last: Event {
                                ts,
                                attempt,
                                failure: flags & 1 != 0,
                                retryable: flags & 2 != 0,
                                blocks_posts: flags & 4 != 0,
                                post: flags & 8 != 0,
                                retry_after_ms,
                                provider: flags.wrapping_mul(37),
                            },
                            position: u32::from(flags) * 3 + 1,
                            retries: u32::MAX - u32::from(flags),
                        };
                        assert_eq!(OpenChain::from(Packed::from(c)), c);
                        n += 1;
                    }
                }
            }
        }
        assert_eq!(n, 4 * 4 * 3 * 16);
    }

    /// A slot is one cache line, and the table finds, keeps and drops slots by key.
    #[test]
    fn slots_are_found_by_key() {
        assert_eq!(std::mem::align_of::<Slot>(), 64);
        let mut t = Table::default();
        for k in 0..1_000u64 {
            let s = t.slot(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k as u32);
            assert_eq!(s.client, k as u32);
            s.prefix_closed = k % 2 == 0;
        }
        assert_eq!(t.len(), 1_000);
        // Found again, not made again: the client given now is not taken.
        let s = t.slot(7u64.wrapping_mul(0x9e37_79b9_7f4a_7c15), 99);
        assert_eq!(s.client, 7);
        t.retain(|s| s.prefix_closed);
        assert_eq!(t.len(), 500);
        assert!(t.iter().all(|s| s.client % 2 == 0));
        let mut s = t.into_slots().next().expect("a slot");
        assert!(s.prefix().is_empty() && !s.is_open());
        let ev = Event {
            ts: Some(1),
            attempt: Some(2),
            failure: true,
            retryable: false,
            blocks_posts: false,
            post: true,
            retry_after_ms: None,
            provider: 1,
        };
        s.push_prefix(ev);
        s.push_prefix(ev);
        assert_eq!(s.prefix(), &[ev, ev]);
        assert_eq!(s.take_prefix(), vec![ev, ev]);
        assert!(s.prefix().is_empty());
    }
}
