//! Finding the first of a few bytes in a short string (a URL's authority or path),
//! sixteen bytes at a time.
//!
//! URLs in request logs are 20–80 bytes: too short for `memchr`'s set-up to pay off,
//! long enough that a byte loop costs more than the rest of splitting them. SSE2 is
//! part of every x86-64 CPU; other targets use the byte loop. A test holds the two to
//! each other.

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

    proptest! {
        #[test]
        fn any_bytes(b in prop::collection::vec(prop::sample::select(vec![b'a', b'/', b'?', b'#', b'@', 0, 0xff]), 0..100)) {
            prop_assert_eq!(first_of(&b, [b'/', b'?', b'#', b'@']), first_of_bytes(&b, [b'/', b'?', b'#', b'@']));
            prop_assert_eq!(first_of(&b, [b'?', b'#']), first_of_bytes(&b, [b'?', b'#']));
        }
    }
}
