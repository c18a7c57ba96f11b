//! The structural pass of the fast path: one vectorized sweep over a line that finds
//! every `"` (as a bitmask, simdjson-style) and checks that the line is plain printable
//! ASCII without backslashes, so the scanner then jumps from quote to quote instead of
//! searching byte by byte.
//!
//! Three implementations give the same masks: AVX2 (chosen at run time when the CPU
//! has it), SSE2 (every x86-64 CPU) and a portable one for other targets. A test holds
//! them to each other on every tail length.

use std::mem::MaybeUninit;

/// Lines longer than this are left to serde_json (the masks live on the stack).
pub(crate) const MAX_LINE: usize = 64 * WORDS;
const WORDS: usize = 32;

/// The quotes of a plain line, one bit per byte, and whether it holds a space.
pub(crate) struct Structure {
    /// Written up to `words` by `fill` (left uninitialized past it: zeroing 256 bytes
    /// per line cost more than finding its quotes).
    quotes: [MaybeUninit<u64>; WORDS],
    /// 64-byte words of the line.
    words: usize,
    /// Whether a space occurs anywhere in the line.
    pub(crate) spaces: bool,
}

impl Structure {
    /// An empty structure, to be [`fill`](Structure::fill)ed.
    #[inline(always)]
    pub(crate) fn new() -> Structure {
        Structure {
            // SAFETY: an array of `MaybeUninit` needs no initialization. (Written as
            // `[MaybeUninit::uninit(); WORDS]`, it was zeroed by a memset every line.)
            quotes: unsafe { MaybeUninit::<[MaybeUninit<u64>; WORDS]>::uninit().assume_init() },
            words: 0,
            spaces: false,
        }
    }

    /// Finds the masks of `line`; `false` when it is not plain (a byte outside
    /// printable ASCII 0x20–0x7f, a backslash) or longer than [`MAX_LINE`].
    ///
    /// Control characters — even JSON's tab and CR white space — and escapes send the
    /// line to serde_json, so strings found here need no unescaping and no checks.
    #[inline(always)]
    pub(crate) fn fill(&mut self, line: &[u8]) -> bool {
        if line.len() > MAX_LINE {
            return false;
        }
        self.words = line.len().div_ceil(64);
        #[cfg(target_arch = "x86_64")]
        {
            // `is_x86_feature_detected!` caches its answer: one load after the first.
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                unsafe { x86::fill_avx2(self, line) }
            } else {
                // SAFETY: SSE2 is part of x86-64.
                unsafe { x86::fill_sse2(self, line) }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        fill!(self, line, masks_portable)
    }

    /// The index of the first `"` at or after `from`.
    #[inline(always)]
    pub(crate) fn quote_from(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        let mut bits = self.quote_word(w)? & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
            w += 1;
            bits = self.quote_word(w)?;
        }
    }

    /// The quotes of the line's 64-byte block `w`, if the line has that block.
    /// (A method, not a closure: the closure was left a call.)
    #[inline(always)]
    fn quote_word(&self, w: usize) -> Option<u64> {
        // SAFETY: `fill` wrote every word below `words`.
        Some(unsafe { self.quotes[..self.words].get(w)?.assume_init() })
    }
}

/// Fills a [`Structure`] (zeroed, `words` set) with the masks of a line (at most
/// [`MAX_LINE`] bytes) block by block, with a function from a 64-byte block to its
/// [`Masks`]; `false` if the line is not plain. A macro, so that each instruction set's
/// version is compiled (and its block function inlined) with that set enabled.
macro_rules! fill {
    ($s:expr, $line:expr, $masks:expr) => {{
        let (s, line): (&mut Structure, &[u8]) = ($s, $line);
        let (mut bad, mut spaces) = (false, false);
        let mut chunks = line.chunks_exact(64);
        for (w, chunk) in chunks.by_ref().enumerate() {
            let m = $masks(chunk.try_into().expect("64 bytes"));
            s.quotes[w] = std::mem::MaybeUninit::new(m.quote);
            bad |= m.bad;
            spaces |= m.space;
        }
        let tail = chunks.remainder().len();
        if tail > 0 {
            let m = if line.len() >= 64 {
                // The last 64 bytes of the line, overlapping the previous block: byte
                // `j` of the tail is bit `64 - tail + j`.
                let m = $masks(line[line.len() - 64..].try_into().expect("64 bytes"));
                Masks {
                    quote: m.quote >> (64 - tail),
                    ..m
                }
            } else {
                // A short line, padded with a byte that is plain and neither a quote
                // nor a space.
                let mut block = [b'a'; 64];
                block[..tail].copy_from_slice(line);
                $masks(&block)
            };
            s.quotes[line.len() / 64] = std::mem::MaybeUninit::new(m.quote);
            bad |= m.bad;
            spaces |= m.space;
        }
        s.spaces = spaces;
        !bad
    }};
}
#[cfg_attr(target_arch = "x86_64", allow(unused_imports))]
use fill;

/// Of a 64-byte block: bit `i` set where byte `i` is a quote; whether any byte is not
/// plain; whether any byte is a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    quote: u64,
    bad: bool,
    space: bool,
}

/// The masks byte by byte: the reference the vector versions are tested against.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn masks_portable(block: &[u8; 64]) -> Masks {
    let mut m = Masks {
        quote: 0,
        bad: false,
        space: false,
    };
    for (i, &c) in block.iter().enumerate() {
        m.quote |= u64::from(c == b'"') << i;
        // Below 0x20 wraps to 0xe0 and above; 0x80 and above land at 0x60 and above.
        m.bad |= c.wrapping_sub(0x20) >= 0x60 || c == b'\\';
        m.space |= c == b' ';
    }
    m
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Masks, Structure};
    use std::arch::x86_64::*;

    /// Four 16-byte lanes. Signed compares: bytes 0x80 and above are negative, so
    /// `< 0x20` catches them along with the control characters.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn masks_sse2(block: &[u8; 64]) -> Masks {
        let (quote, backslash, space, low) = (
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b'\\' as i8),
            _mm_set1_epi8(b' ' as i8),
            _mm_set1_epi8(0x20),
        );
        let (mut quotes, mut bad, mut spaces) = (0u64, _mm_setzero_si128(), _mm_setzero_si128());
        for lane in 0..4 {
            // SAFETY: `lane * 16 + 16 <= 64`; unaligned load.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().add(lane * 16).cast()) };
            quotes |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(x, quote)) as u16) << (lane * 16);
            bad = _mm_or_si128(bad, _mm_cmplt_epi8(x, low));
            bad = _mm_or_si128(bad, _mm_cmpeq_epi8(x, backslash));
            spaces = _mm_or_si128(spaces, _mm_cmpeq_epi8(x, space));
        }
        Masks {
            quote: quotes,
            bad: _mm_movemask_epi8(bad) != 0,
            space: _mm_movemask_epi8(spaces) != 0,
        }
    }

    /// [`Structure::fill`] with AVX2 throughout.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn fill_avx2(s: &mut Structure, line: &[u8]) -> bool {
        // SAFETY: this function runs only where AVX2 is available.
        fill!(s, line, |b| unsafe { masks_avx2(b) })
    }

    /// [`Structure::fill`] with SSE2.
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn fill_sse2(s: &mut Structure, line: &[u8]) -> bool {
        // SAFETY: SSE2 is part of x86-64.
        fill!(s, line, |b| unsafe { masks_sse2(b) })
    }

    /// Two 32-byte lanes.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn masks_avx2(block: &[u8; 64]) -> Masks {
        let (quote, backslash, space, low) = (
            _mm256_set1_epi8(b'"' as i8),
            _mm256_set1_epi8(b'\\' as i8),
            _mm256_set1_epi8(b' ' as i8),
            _mm256_set1_epi8(0x20),
        );
        // SAFETY: unaligned loads of the two halves of 64 bytes.
        let (x, y) = unsafe {
            (
                _mm256_loadu_si256(block.as_ptr().cast()),
                _mm256_loadu_si256(block.as_ptr().add(32).cast()),
            )
        };
        let bits = |v: __m256i| u64::from(_mm256_movemask_epi8(v) as u32);
        // AVX2 has only "greater than": `x < 0x20` is `0x20 > x`.
        let bad = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpgt_epi8(low, x), _mm256_cmpgt_epi8(low, y)),
            _mm256_or_si256(
                _mm256_cmpeq_epi8(x, backslash),
                _mm256_cmpeq_epi8(y, backslash),
            ),
        );
        let spaces = _mm256_or_si256(_mm256_cmpeq_epi8(x, space), _mm256_cmpeq_epi8(y, space));
        Masks {
            quote: bits(_mm256_cmpeq_epi8(x, quote)) | bits(_mm256_cmpeq_epi8(y, quote)) << 32,
            bad: _mm256_movemask_epi8(bad) != 0,
            space: _mm256_movemask_epi8(spaces) != 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(line: &[u8]) -> Option<(Vec<usize>, bool)> {
        if line.len() > MAX_LINE
            || line
                .iter()
                .any(|&c| !(0x20..=0x7f).contains(&c) || c == b'\\')
        {
            return None;
        }
        let quotes = (0..line.len()).filter(|&i| line[i] == b'"').collect();
        Some((quotes, line.contains(&b' ')))
    }

    fn found(line: &[u8]) -> Option<(Vec<usize>, bool)> {
        let mut s = Structure::new();
        if !s.fill(line) {
            return None;
        }
        let mut quotes = Vec::new();
        let mut from = 0;
        while let Some(q) = s.quote_from(from) {
            quotes.push(q);
            from = q + 1;
        }
        Some((quotes, s.spaces))
    }

    #[test]
    fn every_length_and_position() {
        for len in 0..=200 {
            for at in 0..len.max(1) {
                for c in [b'"', b' ', b'\\', 0x1f, 0x7f, 0x80, 0xff, b'\t', b'{'] {
                    let mut line = vec![b'x'; len];
                    if at < len {
                        line[at] = c;
                    }
                    assert_eq!(found(&line), reference(&line), "{len} {at} {c:#x}");
                }
            }
        }
        assert!(Structure::new().fill(&vec![b'a'; MAX_LINE]));
        assert!(!Structure::new().fill(&vec![b'a'; MAX_LINE + 1]));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vector_versions_equal_the_reference() {
        let mut block = [0u8; 64];
        for seed in 0..2000u64 {
            for (i, b) in block.iter_mut().enumerate() {
                // Every byte value occurs, and the interesting ones often.
                let x = seed
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .rotate_left(i as u32) as u8;
                *b = [b'"', b' ', b'\\', x, 0x1f, 0x20, 0x7f, 0x80][(x % 8) as usize];
                if seed % 3 == 0 {
                    *b = x;
                }
            }
            let want = masks_portable(&block);
            // SAFETY: SSE2 is part of x86-64.
            assert_eq!(unsafe { x86::masks_sse2(&block) }, want);
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: checked just above.
                assert_eq!(unsafe { x86::masks_avx2(&block) }, want);
            }
        }
    }

    proptest! {
        #[test]
        fn any_bytes(line in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(found(&line), reference(&line));
        }
    }
}
