//! The one line framer: bytes in, whole lines out, with one cap on a line's length.
//!
//! Every input errlens reads — files read in blocks, parts of files on many cores,
//! decompressed streams, followed files that grow between polls, `/ingest` bodies —
//! goes through [`Framer`]. It delivers whole lines *in place*; only a line that
//! straddles two pushes is copied, and a line longer than the cap is skipped by its length without ever being
//! buffered whole, so a multi-gigabyte "line" (a binary blob, a file without newlines)
//! costs no memory. [`read_frames`] drives a framer from any [`Read`].

use std::io::{self, Read};

/// Default cap on one line's length: 1 MiB, far above any real request record.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// Bytes read at a time by [`read_frames`] callers that have no reason to choose:
/// big enough that per-read costs vanish, above the default line cap.
pub const READ_BLOCK: usize = 2 << 20;

/// Where a framer delivers its input, one line at a time, in input order.
pub trait Frames {
    /// A line without its `\n` or `\r\n`, at most the cap long; `raw_len` bytes with
    /// its terminator.
    fn line(&mut self, line: &[u8], raw_len: u64);
    /// A line longer than the cap, skipped: `raw_len` bytes including its newline.
    fn too_long(&mut self, raw_len: u64);
}

/// Cuts a byte stream that arrives in pieces into whole lines (see the module docs).
///
/// A line is too long when the bytes before its newline (a `\r` included) are more than
/// the cap.
#[derive(Debug, Clone)]
pub struct Framer {
    max_line: usize,
    /// The start of a line whose newline has not arrived yet.
    partial: Vec<u8>,
    /// Inside a line over the cap: its bytes so far (it is being skipped).
    skipping: Option<u64>,
}

impl Framer {
    /// A framer that skips lines longer than `max_line` bytes (at least 1).
    pub fn new(max_line: usize) -> Framer {
        Framer {
            max_line: max_line.max(1),
            partial: Vec::new(),
            skipping: None,
        }
    }

    /// The line cap.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Bytes held for a line whose newline has not arrived (or that is being skipped).
    pub fn pending(&self) -> u64 {
        self.skipping.unwrap_or(self.partial.len() as u64)
    }

    /// Frames the next piece of the stream.
    #[inline]
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl Frames) {
        if bytes.is_empty() {
            return;
        }
        // Finish the line in progress first.
        if self.skipping.is_some() || !self.partial.is_empty() {
            let Some(i) = memchr::memchr(b'\n', bytes) else {
                self.hold(bytes);
                return;
            };
            let (head, rest) = bytes.split_at(i + 1);
            if let Some(so_far) = self.skipping.take() {
                out.too_long(so_far + head.len() as u64);
            } else {
                let content = self.partial.len() + i;
                if content > self.max_line {
                    out.too_long(content as u64 + 1);
                } else {
                    self.partial.extend_from_slice(&head[..i]);
                    out.line(strip_cr(&self.partial), content as u64 + 1);
                }
                self.partial.clear();
            }
            bytes = rest;
        }
        // Whole lines go out in place; the unfinished tail is held.
        let mut start = 0;
        for end in crate::find::Newlines::new(bytes) {
            let n = end - start;
            if n > self.max_line {
                out.too_long(n as u64 + 1);
            } else {
                out.line(strip_cr(&bytes[start..end]), n as u64 + 1);
            }
            start = end + 1;
        }
        self.hold(&bytes[start..]);
    }

    /// Holds the start of an unfinished line, or counts it towards a skipped one.
    fn hold(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(so_far) = &mut self.skipping {
            *so_far += bytes.len() as u64;
        } else if self.partial.len() + bytes.len() > self.max_line {
            // Longer than the cap whatever follows: skip to its end.
            self.skipping = Some((self.partial.len() + bytes.len()) as u64);
            self.partial = Vec::new();
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// Ends the stream: a last line without a newline is still a line.
    pub fn finish(&mut self, out: &mut impl Frames) {
        if let Some(so_far) = self.skipping.take() {
            out.too_long(so_far);
        } else if !self.partial.is_empty() {
            let n = self.partial.len() as u64;
            out.line(strip_cr(&self.partial), n);
            self.partial.clear();
        }
    }

    /// Forgets a line in progress (the stream restarts elsewhere).
    pub fn reset(&mut self) {
        self.partial.clear();
        self.skipping = None;
    }
}

#[inline]
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Reads `reader` to its end in blocks of `block` bytes through a [`Framer`] with cap
/// `max_line`. Lines that fit in a block are delivered in place, without a copy.
pub fn read_frames<R: Read>(
    mut reader: R,
    block: usize,
    max_line: usize,
    out: &mut impl Frames,
) -> io::Result<()> {
    let mut framer = Framer::new(max_line);
    let mut buf = vec![0u8; block.max(1)];
    let result = loop {
        match reader.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => framer.push(&buf[..n], out),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    framer.finish(out);
    result
}

/// Frames one complete buffer (an `/ingest` body, a batch of whole lines).
pub fn frame_all(bytes: &[u8], max_line: usize, out: &mut impl Frames) {
    let mut framer = Framer::new(max_line);
    framer.push(bytes, out);
    framer.finish(out);
}

/// `[start, end)` byte ranges of a file of `len` bytes, the `i`-th of about `size(i)`
/// bytes and ending just after a newline (the last at the end of the file): parts that
/// hold whole lines, for reading one file on several cores.
pub fn line_aligned_parts(
    file: &std::fs::File,
    len: u64,
    mut size: impl FnMut(usize) -> u64,
) -> io::Result<Vec<(u64, u64)>> {
    use std::os::unix::fs::FileExt;
    let mut out = Vec::new();
    let mut start = 0;
    let mut window = vec![0u8; 64 << 10];
    while start < len {
        let mut end = start + size(out.len()).max(1);
        if end >= len {
            out.push((start, len));
            break;
        }
        // Move the cut to just after the next newline.
        loop {
            let n = file.read_at(&mut window, end)?;
            if n == 0 {
                end = len;
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &window[..n]) {
                end += i as u64 + 1;
                break;
            }
            end += n as u64;
        }
        // A file that grew since `len` was taken is read to `len`.
        let end = end.min(len);
        out.push((start, end));
        start = end;
    }
    Ok(out)
}

/// Lines in `bytes` as the framer counts them: its newlines, and a last line without
/// one. (What a consumer expects [`frame_all`] to give, counted without framing.)
pub fn line_count(bytes: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
    newlines + u64::from(!bytes.is_empty() && !bytes.ends_with(b"\n"))
}

/// The first line of `bytes` with its newline, when it has one.
pub fn first_line(bytes: &[u8]) -> Option<&[u8]> {
    memchr::memchr(b'\n', bytes).map(|i| &bytes[..=i])
}

/// Whether a line holds nothing but ASCII white space (such lines are counted as
/// blank, not malformed).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A line is a newline or a last unterminated run of bytes; blank lines count.
    #[test]
    fn lines_are_counted_as_framed() {
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"a"), 1);
        assert_eq!(line_count(b"a\n"), 1);
        assert_eq!(line_count(b"a\n\n"), 2);
        assert_eq!(line_count(b"\n"), 1);
        assert_eq!(line_count(b"a\nb"), 2);
    }

    #[derive(Default, Debug, PartialEq)]
    struct Got(Vec<(Vec<u8>, u64, bool)>);
    impl Frames for Got {
        fn line(&mut self, line: &[u8], raw_len: u64) {
            self.0.push((line.to_vec(), raw_len, false));
        }
        fn too_long(&mut self, raw_len: u64) {
            self.0.push((Vec::new(), raw_len, true));
        }
    }

    /// The definition: split at newlines; a line whose bytes before the newline are
    /// more than `max` is too long; a final line without a newline is still a line.
    fn reference(input: &[u8], max: usize) -> Got {
        let mut out = Got::default();
        let mut rest = input;
        while !rest.is_empty() {
            let n = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            let (line, tail) = rest.split_at(n);
            rest = tail;
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            if content.len() > max {
                out.0.push((Vec::new(), n as u64, true));
            } else {
                out.0.push((strip_cr(content).to_vec(), n as u64, false));
            }
        }
        out
    }

    #[test]
    fn splits_and_strips_terminators() {
        let mut got = Got::default();
        read_frames(&b"a\r\nbb\n\nccc"[..], 4, 100, &mut got).unwrap();
        let lines: Vec<_> = got.0.iter().map(|(l, _, _)| l.clone()).collect();
        assert_eq!(lines, [&b"a"[..], b"bb", b"", b"ccc"]);
        assert_eq!(got.0[0].1, 3);
    }

    #[test]
    fn long_lines_are_skipped_by_length() {
        let mut got = Got::default();
        read_frames(&b"0123456789abcdef\nok\n"[..], 3, 5, &mut got).unwrap();
        assert_eq!(got.0[0], (Vec::new(), 17, true));
        assert_eq!(got.0[1], (b"ok".to_vec(), 3, false));
    }

    #[test]
    fn boundaries_cover_the_file_at_newlines() {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let text = "a\nbb\nccc\n".repeat(500) + "tail-without-newline";
        f.write_all(text.as_bytes()).unwrap();
        let len = text.len() as u64;
        let b = line_aligned_parts(f.as_file(), len, |_| 1024).unwrap();
        assert_eq!(b.first().unwrap().0, 0);
        assert_eq!(b.last().unwrap().1, len);
        for w in b.windows(2) {
            assert_eq!(w[0].1, w[1].0);
            assert_eq!(text.as_bytes()[w[0].1 as usize - 1], b'\n');
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
        /// Pushing in any pieces gives exactly what the definition gives, for lines
        /// that fit a piece and lines that straddle pieces alike.
        #[test]
        fn any_piece_sizes_frame_as_defined(
            input in proptest::collection::vec(prop::sample::select(vec![b'a', b'\n', b'\r', b'{']), 0..300),
            block in 1usize..40,
            max in 1usize..30,
        ) {
            let mut got = Got::default();
            read_frames(&input[..], block, max, &mut got).unwrap();
            prop_assert_eq!(got, reference(&input, max));
        }
    }
}
