//! Bounded line splitting over any buffered reader.
//!
//! A log with a multi-gigabyte "line" (a binary blob, a file with no newlines) must not
//! make errlens allocate gigabytes, so lines longer than a cap are cut: the reader
//! keeps the first `max` bytes, flags the line as truncated and skips to the next
//! newline. The caller counts a truncated line as malformed.

use std::io::{self, BufRead};

/// Default cap on one line's length: 1 MiB, far above any real request record.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// One line of input, without its terminating `\n` or `\r\n`.
#[derive(Debug)]
pub struct Line<'a> {
    /// 1-based line number within its input.
    pub number: u64,
    /// The line's bytes (at most the reader's cap).
    pub bytes: &'a [u8],
    /// Whether the line was longer than the cap and cut.
    pub truncated: bool,
    /// Bytes the line took in the input, terminator included.
    pub raw_len: u64,
}

/// Splits a [`BufRead`] into numbered, length-capped lines, reusing one buffer.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader with the [`DEFAULT_MAX_LINE`] cap.
    pub fn new(inner: R) -> Self {
        Self::with_max_line(inner, DEFAULT_MAX_LINE)
    }

    /// A reader that cuts lines longer than `max` bytes.
    pub fn with_max_line(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(256),
            max: max.max(1),
            number: 0,
        }
    }

    /// Lines returned so far.
    pub fn lines_read(&self) -> u64 {
        self.number
    }

    /// The next line, or `None` at end of input. A final line without a newline is
    /// still a line.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut truncated = false;
        let mut raw_len = 0u64;
        let mut saw_newline = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let content = if done {
                &chunk[..take - 1]
            } else {
                &chunk[..take]
            };
            let room = self.max.saturating_sub(self.buf.len());
            if content.len() > room {
                truncated = true;
            }
            self.buf
                .extend_from_slice(&content[..content.len().min(room)]);
            raw_len += take as u64;
            self.inner.consume(take);
            if done {
                saw_newline = true;
                break;
            }
        }
        if raw_len == 0 && !saw_newline {
            return Ok(None);
        }
        if !truncated && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        self.number += 1;
        Ok(Some(Line {
            number: self.number,
            bytes: &self.buf,
            truncated,
            raw_len,
        }))
    }
}

/// Whether a line holds nothing but ASCII white space (such lines are counted as
/// blank, not malformed).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Vec<(u64, Vec<u8>, bool)> {
        let mut r = LineReader::with_max_line(io::BufReader::with_capacity(4, input), max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push((l.number, l.bytes.to_vec(), l.truncated));
        }
        out
    }

    #[test]
    fn splits_and_strips_terminators() {
        let got = collect(b"a\r\nbb\n\nccc", 100);
        assert_eq!(
            got,
            vec![
                (1, b"a".to_vec(), false),
                (2, b"bb".to_vec(), false),
                (3, b"".to_vec(), false),
                (4, b"ccc".to_vec(), false),
            ]
        );
    }

    #[test]
    fn empty_input_has_no_lines_and_trailing_newline_adds_none() {
        assert!(collect(b"", 10).is_empty());
        assert_eq!(collect(b"x\n", 10).len(), 1);
    }

    #[test]
    fn long_lines_are_cut_and_skipped_past() {
        let got = collect(b"0123456789abcdef\nok\n", 5);
        assert_eq!(got[0], (1, b"01234".to_vec(), true));
        assert_eq!(got[1], (2, b"ok".to_vec(), false));
    }

    #[test]
    fn blank_detection() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r"));
        assert!(!is_blank(b" {} "));
    }
}
