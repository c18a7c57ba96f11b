//! Byte searches of the hot path, a block at a time: the first of a few bytes in a
//! short string (a URL's authority or path), sixteen bytes at a time, and every
//! newline of a buffer, sixty-four at a time into a bitmask ([`Newlines`]).
//!
//! URLs in request logs are 20–80 bytes and lines 100–300: too short for `memchr`'s
//! set-up per search to pay off, long enough that a byte loop costs more than what is
//! done with them. SSE2 is part of every x86-64 CPU; other targets use byte loops.
//! Tests hold the two to each other.

/// The index of the first byte of `b` that is one of `set`.
#[inline]
pub(crate) fn first_of<const N: usize>(b: &[u8], set: [u8; N]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if b.len() >= 16 {
        // SAFETY: SSE2 is part of x86-64, and the loads stay within `b`.
        return unsafe { sse2::first_of(b, set) };
    }
    first_of_bytes(b, set)
}

/// [`first_of`] a byte at a time.
#[inline]
fn first_of_bytes<const N: usize>(b: &[u8], set: [u8; N]) -> Option<usize> {
    b.iter().position(|c| set.contains(c))
}

/// The positions of every `\n` in a buffer, in order.
///
/// Each 64-byte block is turned into a bitmask of its newlines with one pass of vector
/// compares, then positions are taken off the mask: one search per block instead of
/// one per line.
pub(crate) struct Newlines<'a> {
    b: &'a [u8],
    /// Where the block of `mask` starts.
    base: usize,
    /// Newlines of that block not yet given out.
    mask: u64,
}

impl<'a> Newlines<'a> {
    /// The newlines of `b`.
    #[inline]
    pub(crate) fn new(b: &'a [u8]) -> Newlines<'a> {
        let mut n = Newlines {
            b,
            base: 0,
            mask: 0,
        };
        n.mask = n.block_mask(0);
        n
    }

    /// The newlines of the (up to) 64 bytes of `b` from `at` as bits.
    #[inline(always)]
    fn block_mask(&self, at: usize) -> u64 {
        let b = self.b;
        if at + 64 <= b.len() {
            return newline_mask(b[at..at + 64].try_into().expect("64 bytes"));
        }
        let tail = b.len().saturating_sub(at);
        if tail == 0 {
            0
        } else if b.len() >= 64 {
            // The buffer's last 64 bytes, overlapping the block before.
            newline_mask(b[b.len() - 64..].try_into().expect("64 bytes")) >> (64 - tail)
        } else {
            b[at..]
                .iter()
                .enumerate()
                .fold(0, |m, (i, &c)| m | (u64::from(c == b'\n') << i))
        }
    }
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            if self.base + 64 >= self.b.len() {
                return None;
            }
            self.base += 64;
            self.mask = self.block_mask(self.base);
        }
        let i = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(i)
    }
}

/// Bit `i` set where byte `i` of `block` is a newline.
#[inline(always)]
fn newline_mask(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64.
    return unsafe { sse2::newline_mask(block) };
    #[cfg(not(target_arch = "x86_64"))]
    block
        .iter()
        .enumerate()
        .fold(0, |m, (i, &c)| m | (u64::from(c == b'\n') << i))
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// Bit `i` set where byte `i` of the 16 at `p` is one of `set`.
    #[inline(always)]
    unsafe fn mask<const N: usize>(p: *const u8, set: &[__m128i; N]) -> u32 {
        // SAFETY: the caller guarantees 16 readable bytes at `p`.
        let x = unsafe { _mm_loadu_si128(p.cast()) };
        let mut hit = _mm_setzero_si128();
        for s in set {
            hit = _mm_or_si128(hit, _mm_cmpeq_epi8(x, *s));
        }
        _mm_movemask_epi8(hit) as u32
    }

    /// [`super::newline_mask`]: four 16-byte compares.
    #[inline(always)]
    pub(super) unsafe fn newline_mask(block: &[u8; 64]) -> u64 {
        let nl = _mm_set1_epi8(b'\n' as i8);
        let mut m = 0u64;
        for lane in 0..4 {
            // SAFETY: `lane * 16 + 16 <= 64`; unaligned load.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().add(lane * 16).cast()) };
            m |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(x, nl)) as u16) << (lane * 16);
        }
        m
    }

    /// [`super::first_of`] for `b` of at least 16 bytes: whole blocks of 16, then the
    /// last 16 bytes (overlapping the block before, whose bytes were not hits).
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn first_of<const N: usize>(b: &[u8], set: [u8; N]) -> Option<usize> {
        let set = set.map(|c| _mm_set1_epi8(c as i8));
        let mut i = 0;
        while i + 16 <= b.len() {
            // SAFETY: `i + 16 <= b.len()`.
            let m = unsafe { mask(b.as_ptr().add(i), &set) };
            if m != 0 {
                return Some(i + m.trailing_zeros() as usize);
            }
            i += 16;
        }
        if i == b.len() {
            return None;
        }
        let last = b.len() - 16;
        // SAFETY: `b.len() >= 16`; bytes before `i` were checked already.
        let m = unsafe { mask(b.as_ptr().add(last), &set) } >> (i - last);
        (m != 0).then(|| i + m.trailing_zeros() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_length_and_position() {
        for len in 0usize..80 {
            for at in 0..len.max(1) {
                for second in [
                    None,
                    Some(at + 1),
                    Some(at + 17),
                    Some(len.saturating_sub(1)),
                ] {
                    let mut b = vec![b'a'; len];
                    for (pos, c) in [(Some(at), b'?'), (second, b'#')] {
                        if let Some(p) = pos.filter(|&p| p < len) {
                            b[p] = c;
                        }
                    }
                    assert_eq!(
                        first_of(&b, [b'/', b'?', b'#']),
                        first_of_bytes(&b, [b'/', b'?', b'#']),
                        "{len} {at} {second:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn newlines_at_every_length_and_position() {
        for len in 0usize..200 {
            for at in 0..len.max(1) {
                for every in [0, 1, 7, 63, 64, 65] {
                    let mut b = vec![b'a'; len];
                    for (i, c) in b.iter_mut().enumerate() {
                        if i == at || (every > 0 && i % every == 0) {
                            *c = b'\n';
                        }
                    }
                    let want: Vec<usize> = (0..len).filter(|&i| b[i] == b'\n').collect();
                    assert_eq!(
                        Newlines::new(&b).collect::<Vec<_>>(),
                        want,
                        "{len} {at} {every}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn newlines_of_any_bytes(b in prop::collection::vec(prop::sample::select(vec![b'a', b'\n', b'\r', 0x8a, 0]), 0..400)) {
            let want: Vec<usize> = (0..b.len()).filter(|&i| b[i] == b'\n').collect();
            prop_assert_eq!(Newlines::new(&b).collect::<Vec<_>>(), want);
        }

        #[test]
        fn any_bytes(b in prop::collection::vec(prop::sample::select(vec![b'a', b'/', b'?', b'#', b'@', 0, 0xff]), 0..100)) {
            prop_assert_eq!(first_of(&b, [b'/', b'?', b'#', b'@']), first_of_bytes(&b, [b'/', b'?', b'#', b'@']));
            prop_assert_eq!(first_of(&b, [b'?', b'#']), first_of_bytes(&b, [b'?', b'#']));
        }
    }
}
