//! Short byte strings as machine words: how the hot path knows a name (a client id,
//! an error id, a method) by its length and a word or two, without a call.
//!
//! Copying a slice whose length is only known at run time into a zeroed word compiles
//! to a call to `memcpy`: 15–30 instructions for a name of a few bytes, several times
//! a record. Two overlapping loads read the same bytes inline.

/// The bytes of `b` (at most 8) as a little-endian word, zero-padded: equal to
/// `u64::from_le_bytes` of `b` copied into eight zero bytes.
///
/// # Panics
/// If `b` is longer than 8 bytes.
#[inline(always)]
pub fn padded(b: &[u8]) -> u64 {
    let n = b.len();
    assert!(n <= 8, "at most 8 bytes");
    match n {
        // The first and last four, overlapping: the shared bytes are the same bytes,
        // so or-ing them in place is exact.
        4.. => {
            let lo: [u8; 4] = b[..4].try_into().expect("4 bytes");
            let hi: [u8; 4] = b[n - 4..].try_into().expect("4 bytes");
            let (lo, hi) = (
                u64::from(u32::from_le_bytes(lo)),
                u64::from(u32::from_le_bytes(hi)),
            );
            lo | hi << ((n - 4) * 8)
        }
        1.. => {
            let byte = |i: usize| u64::from(b[i]) << (i * 8);
            byte(0) | byte(n / 2) | byte(n - 1)
        }
        0 => 0,
    }
}

/// The first and last eight bytes of `b` (at least 8 long) as little-endian words.
#[inline(always)]
pub fn ends(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    let head: [u8; 8] = b[..8].try_into().expect("8 bytes");
    let tail: [u8; 8] = b[n - 8..].try_into().expect("8 bytes");
    (u64::from_le_bytes(head), u64::from_le_bytes(tail))
}

/// A byte string of at most 32 bytes as words read inline (no `memcpy`, no `bcmp`):
/// two strings are equal exactly when their `Words` are, so a short name is matched
/// against a table of them by a few compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Words {
    len: u8,
    head: u128,
    tail: u128,
}

impl Words {
    /// The words of `b`, or `None` when it is longer than 32 bytes.
    #[inline(always)]
    pub fn of(b: &[u8]) -> Option<Words> {
        let n = b.len();
        let wide = |at: usize| u128::from_le_bytes(b[at..at + 16].try_into().expect("16 bytes"));
        // Every byte is in one of the words (the two overlap when the length is not
        // a multiple of their size), and the length tells how.
        let (head, tail) = match n {
            0..=8 => (u128::from(padded(b)), 0),
            9..=16 => {
                let (h, t) = ends(b);
                (u128::from(h) | u128::from(t) << 64, 0)
            }
            17..=32 => (wide(0), wide(n - 16)),
            _ => return None,
        };
        Some(Words {
            len: n as u8,
            head,
            tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(b: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(w)
    }

    /// Every length, every position of a distinct byte: the word is the copied one.
    #[test]
    fn padded_is_the_zero_padded_copy() {
        let bytes: Vec<u8> = (1..=8).map(|i| i * 29 + 3).collect();
        for n in 0..=8 {
            assert_eq!(padded(&bytes[..n]), reference(&bytes[..n]), "{n}");
            for at in 0..n {
                let mut b = bytes[..n].to_vec();
                b[at] = 0xff;
                assert_eq!(padded(&b), reference(&b), "{n} {at}");
            }
        }
    }

    /// Words are equal exactly when the strings are: every length to 32, a change
    /// at every position, one byte more or less; none past 32 bytes.
    #[test]
    fn words_are_equal_exactly_when_the_bytes_are() {
        let s: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=32 {
            let a = &s[..n];
            let w = Words::of(a).expect("at most 32 bytes");
            let copy = a.to_vec();
            assert_eq!(Words::of(&copy), Some(w), "{n}");
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert_ne!(Words::of(&b), Some(w), "{n} {at}");
            }
            assert_ne!(Words::of(&s[..n + 1]), Some(w), "{n}");
            if n > 0 {
                assert_ne!(Words::of(&s[..n - 1]), Some(w), "{n}");
                // A trailing zero byte is not the padding.
                let mut z = a[..n - 1].to_vec();
                z.push(0);
                assert_ne!(Words::of(&z), Some(w), "{n}");
            }
        }
        assert_eq!(Words::of(&s[..33]), None);
    }

    /// The two words of every length from 8 to 24 are its first and last eight bytes.
    #[test]
    fn ends_are_the_first_and_last_eight_bytes() {
        let s: Vec<u8> = (0..24u8).map(|i| b'a' + i).collect();
        for n in 8..=24 {
            let (head, tail) = ends(&s[..n]);
            assert_eq!(head.to_le_bytes(), s[..8]);
            assert_eq!(tail.to_le_bytes(), s[n - 8..n]);
        }
    }
}
