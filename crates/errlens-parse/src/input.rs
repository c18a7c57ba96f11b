//! Opening inputs: files, `-` for standard input, and transparent decompression of
//! gzip and zstd.
//!
//! Compression is recognised by its magic bytes rather than the file name, so a rotated
//! `app.log.1` that logrotate compressed, a `.zst` from a zstd rotation, or a `.gz` that
//! is really plain text, all read correctly. Both decoders read concatenated members
//! (`cat a.gz b.gz`, multi-frame zstd).

use flate2::bufread::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Size of the read buffer for every input.
const BUF_SIZE: usize = 256 * 1024;

/// Why an input could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or its first bytes could not be read.
    #[error("{path}: {source}")]
    Open {
        /// The path as given.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
}

/// Opens `path` (or standard input for `-`) as a buffered byte stream, decompressing
/// gzip and zstd when the data starts with their magic bytes.
pub fn open_input(path: &str) -> Result<Box<dyn BufRead + Send>, InputError> {
    let err = |source| InputError::Open {
        path: path.to_owned(),
        source,
    };
    let reader: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        let p = Path::new(path);
        if p.is_dir() {
            return Err(err(io::Error::other("is a directory")));
        }
        Box::new(File::open(p).map_err(err)?)
    };
    wrap(reader).map_err(err)
}

/// Maps a plain file's bytes into memory, or `None` when it cannot be (empty, not a
/// regular file, a mapping error): the caller then reads it.
///
/// Parsing lines where they lie in the page cache saves copying every byte into a
/// read buffer (about a tenth of a one-thread audit). The mapping covers the file's
/// length when it is made: lines appended later are not seen. A file *truncated*
/// while it is mapped (logrotate's `copytruncate`) makes the lost pages unreadable and
/// the process ends with SIGBUS, so callers offer to read instead (`--no-mmap`).
pub fn map_file(file: &File) -> Option<memmap2::Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: a read-only mapping. Another process writing the file while it is mapped
    // is outside what Rust can promise (as for every mmap reader, ripgrep's included):
    // errlens parses the bytes as untrusted input, so changed bytes are at worst read
    // as other lines, and a truncation ends the process (the risk documented above).
    let map = unsafe { memmap2::MmapOptions::new().map(file) }.ok()?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// Gzip's magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Zstandard's frame magic number (little endian 0xFD2FB528).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// How an input is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard (RFC 8878).
    Zstd,
}

impl Compression {
    /// Recognises compression by magic bytes.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// Whether the file at `path` is a regular file of plain (uncompressed) bytes, the
    /// kind that can be read in parallel parts.
    pub fn is_plain_file(path: &Path) -> bool {
        let Ok(mut f) = File::open(path) else {
            return false;
        };
        if !f.metadata().is_ok_and(|m| m.is_file()) {
            return false;
        }
        let mut magic = [0u8; 4];
        let mut n = 0;
        while n < magic.len() {
            match f.read(&mut magic[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        Compression::sniff(&magic[..n]) == Compression::None
    }
}

/// Buffers `reader`, decompressing it when it starts with gzip's or zstd's magic bytes.
pub fn wrap(reader: Box<dyn Read + Send>) -> io::Result<Box<dyn BufRead + Send>> {
    let mut buf = BufReader::with_capacity(BUF_SIZE, reader);
    let compression = loop {
        match buf.fill_buf() {
            Ok(head) if head.len() < ZSTD_MAGIC.len() && !head.is_empty() => {
                // A short first read: look at more before deciding.
                break Compression::sniff(&peek(&mut buf, ZSTD_MAGIC.len())?);
            }
            Ok(head) => break Compression::sniff(head),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    Ok(match compression {
        Compression::None => Box::new(buf),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUF_SIZE,
            Decompressing::spawn(MultiGzDecoder::new(buf))?,
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            BUF_SIZE,
            Decompressing::spawn(zstd::stream::read::Decoder::with_buffer(buf)?)?,
        )),
    })
}

/// Up to `n` bytes from the start of `buf` without consuming them (a `BufReader` whose
/// first read was short is refilled by moving its bytes to the front).
fn peek(buf: &mut BufReader<Box<dyn Read + Send>>, n: usize) -> io::Result<Vec<u8>> {
    let mut head = buf.fill_buf()?.to_vec();
    let len = head.len();
    buf.consume(len);
    while head.len() < n {
        let more = buf.fill_buf()?;
        if more.is_empty() {
            break;
        }
        let k = more.len();
        head.extend_from_slice(more);
        buf.consume(k);
    }
    let rest = std::mem::replace(buf.get_mut(), Box::new(io::empty()));
    *buf = BufReader::with_capacity(
        BUF_SIZE,
        Box::new(io::Cursor::new(head.clone()).chain(rest)),
    );
    Ok(head)
}

/// Up to `max` bytes from the start of a buffered input, without consuming them: what
/// shape detection sniffs. (Fewer when the first read returned fewer.)
pub fn head(reader: &mut dyn BufRead, max: usize) -> io::Result<Vec<u8>> {
    loop {
        match reader.fill_buf() {
            Ok(b) => return Ok(b[..b.len().min(max)].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Decompression on its own thread: the reader hands out blocks a helper thread has
/// already inflated, so inflating and parsing overlap on two cores.
struct Decompressing {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    block: Vec<u8>,
    pos: usize,
}

impl Decompressing {
    fn spawn(mut inner: impl Read + Send + 'static) -> io::Result<Decompressing> {
        // A few blocks in flight bound the memory whatever the file size.
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(4);
        std::thread::Builder::new()
            .name("errlens-gunzip".into())
            .spawn(move || loop {
                let mut block = vec![0u8; 1 << 20];
                let mut filled = 0;
                let result = loop {
                    match inner.read(&mut block[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == block.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                block.truncate(filled);
                let done = filled == 0;
                let sent = match result {
                    Ok(()) if done => break,
                    Ok(()) => tx.send(Ok(block)),
                    Err(e) => {
                        // Lines inflated before the error still count.
                        let _ = tx.send(Ok(block));
                        let _ = tx.send(Err(e));
                        break;
                    }
                };
                if sent.is_err() {
                    break; // the reader is gone
                }
            })?;
        Ok(Decompressing {
            rx,
            block: Vec::new(),
            pos: 0,
        })
    }
}

impl Read for Decompressing {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.block.len() {
            match self.rx.recv() {
                Ok(Ok(block)) => {
                    self.block = block;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0), // the helper finished: end of input
            }
        }
        let n = out.len().min(self.block.len() - self.pos);
        out[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    #[test]
    fn gzip_is_detected_by_magic() {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"{\"status\":200}\n").unwrap();
        let mut gz = enc.finish().unwrap();
        // A second member, as concatenated rotations produce.
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"{\"status\":404}\n").unwrap();
        gz.extend(enc.finish().unwrap());
        let mut out = String::new();
        wrap(Box::new(io::Cursor::new(gz)))
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "{\"status\":200}\n{\"status\":404}\n");
    }

    #[test]
    fn corrupt_gzip_is_an_error_after_what_inflated() {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&b"{\"status\":200}\n".repeat(1000)).unwrap();
        let mut gz = enc.finish().unwrap();
        let cut = gz.len() / 2;
        gz.truncate(cut);
        let mut out = Vec::new();
        let err = wrap(Box::new(io::Cursor::new(gz)))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap_err();
        assert!(!err.to_string().is_empty());
    }

    #[test]
    fn zstd_is_detected_by_magic() {
        let mut z = zstd::encode_all(&b"{\"status\":200}\n"[..], 1).unwrap();
        z.extend(zstd::encode_all(&b"{\"status\":404}\n"[..], 1).unwrap());
        let mut out = String::new();
        wrap(Box::new(io::Cursor::new(z)))
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "{\"status\":200}\n{\"status\":404}\n");
    }

    #[test]
    fn plain_files_map_and_the_rest_do_not() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        assert!(map_file(f.as_file()).is_none(), "an empty file is read");
        f.write_all(b"{\"status\":200}\n").unwrap();
        f.flush().unwrap();
        let map = map_file(f.as_file()).expect("a regular file maps");
        assert_eq!(&map[..], b"{\"status\":200}\n");
        let dir = File::open(std::env::temp_dir()).unwrap();
        assert!(map_file(&dir).is_none(), "a directory is not mapped");
    }

    #[test]
    fn plain_text_passes_through() {
        let mut out = String::new();
        wrap(Box::new(io::Cursor::new(b"plain\n".to_vec())))
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "plain\n");
    }

    #[test]
    fn missing_file_is_an_error_naming_the_path() {
        let e = open_input("/nonexistent/errlens.log").err().unwrap();
        assert!(e.to_string().starts_with("/nonexistent/errlens.log: "));
    }
}
