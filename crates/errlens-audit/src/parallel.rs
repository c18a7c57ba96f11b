//! Parallel audit on all cores, merged in order: files in newline-aligned parts
//! ([`audit_file`]), streams in batches of whole lines ([`audit_stream`]).
//!
//! A file is cut into a few parts per worker (a few, not one, so a worker slowed by a
//! busy core does not hold the others up). Each part is audited on its own (every part
//! but the first as a mergeable shard), streaming through a fixed read buffer, and the
//! summaries are merged in file order as they complete, with [`Summary::merge`] — the
//! same exact merge as `errlens merge`, so retry chains that cross a part boundary are
//! judged as in one pass and every count equals the single-threaded result. At most
//! `2 × threads` parts are in flight, and a summary's size is bounded (per-client and
//! per-endpoint rows are capped, see [`crate::Caps`]), so peak memory does not grow
//! with the file size.

use crate::{AuditConfig, Auditor, Summary};
use errlens_parse::frame::{read_frames, Frames};
use errlens_parse::Decoder;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

/// Default smallest part: large enough that per-part overhead (a summary and a merge)
/// vanishes.
pub const DEFAULT_CHUNK: u64 = 4 << 20;

/// How [`audit_file`] reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRead {
    /// The smallest part a file is cut into for the workers.
    pub chunk: u64,
    /// Map the file into memory ([`errlens_parse::input::map_file`]) and parse lines
    /// where they lie; `false` reads it in blocks (for files that may be truncated while
    /// they are audited). Files that cannot be mapped are read either way.
    pub mmap: bool,
}

impl Default for FileRead {
    fn default() -> Self {
        FileRead {
            chunk: DEFAULT_CHUNK,
            mmap: true,
        }
    }
}

/// A part's summary and the lines it held (to re-base malformed line numbers).
struct Part {
    summary: Summary,
    lines: u64,
}

/// Audits the regular file at `path` (named `name` in reports) with up to `threads`
/// workers, in parts of at least `read.chunk` bytes, memory-mapped unless `read.mmap`
/// is false. One pass when the file is small or one thread is asked for.
pub fn audit_file(
    path: &Path,
    name: &str,
    config: &AuditConfig,
    threads: usize,
    read: FileRead,
) -> io::Result<Summary> {
    let file = File::open(path)?;
    let map = if read.mmap {
        errlens_parse::input::map_file(&file)
    } else {
        None
    };
    // The length the mapping covers, else the length now.
    let len = match &map {
        Some(m) => m.len() as u64,
        None => file.metadata()?.len(),
    };
    let chunk = read.chunk.max(1 << 10);
    // The shape is sniffed once, at the start of the file, for every part.
    let mut head = vec![0u8; (errlens_parse::detect::SNIFF_BYTES as u64).min(len) as usize];
    file.read_exact_at(&mut head, 0)?;
    let decoder = Decoder::new(&config.ingest, &head);
    let read_range = |a: &mut Auditor, (start, end): (u64, u64)| match &map {
        Some(m) => a.read_decoded_bytes(
            name,
            &mut decoder.clone(),
            &m[start as usize..end as usize],
            &mut |read| release(m, read),
        ),
        None => a.read_decoded(
            name,
            &mut decoder.clone(),
            Range {
                file: &file,
                at: start,
                end,
            },
            errlens_parse::frame::READ_BLOCK,
        ),
    };
    if threads <= 1 || len < 2 * chunk || decoder.is_document() {
        let mut a = Auditor::new(config.clone());
        if map.is_some() {
            read_range(&mut a, (0, len))?;
        } else {
            // To the end, whatever the length is by then (as a stream is read).
            a.read_decoded(
                name,
                &mut decoder.clone(),
                &file,
                errlens_parse::frame::READ_BLOCK,
            )?;
        }
        return Ok(a.finish());
    }
    // Four parts a worker, shrinking towards the end of the file so that the last ones
    // are short and no worker waits long for another to finish: for T threads, 2T
    // parts of weight 4, T of weight 2 and T of weight 1 (the last a third as long as
    // equal parts would be). Saturating, so no thread count overflows the sizes.
    let t = threads as u64;
    let unit = len.div_ceil(t.saturating_mul(11));
    let weight = |i: usize| match i as u64 {
        i if i < t.saturating_mul(2) => 4,
        i if i < t.saturating_mul(3) => 2,
        _ => 1,
    };
    let bounds =
        errlens_parse::frame::line_aligned_parts(&file, len, |i| chunk.max(weight(i) * unit))?;
    let bounds = &bounds;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(io::Error::other)?;
    let audit_part = |i: usize| -> io::Result<Part> {
        let mut a = Auditor::new(AuditConfig {
            // Only the first part knows nothing came before it.
            mergeable_chains: config.mergeable_chains || i > 0,
            ..config.clone()
        });
        read_range(&mut a, bounds[i])?;
        let summary = a.finish();
        let lines = summary.inputs.iter().map(|s| s.lines).sum();
        Ok(Part { summary, lines })
    };
    // Workers take parts in file order and the parts are merged in that order as they
    // come: the merged summary then starts at the file's start, so each part's
    // unresolved chain prefixes are resolved as it is merged instead of being carried
    // along. A worker takes a token per part and the merger gives it back once the
    // part is merged, so at most `2 × threads` parts are audited or waiting at once.
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let in_flight = 2 * threads.max(1);
    let (tokens_tx, tokens_rx) = mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        tokens_tx
            .send(())
            .expect("the channel has room for every token");
    }
    let tokens_rx = Mutex::new(tokens_rx);
    let (parts_tx, parts_rx) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.scope(|s| {
                for _ in 0..threads.max(1) {
                    let parts_tx = parts_tx.clone();
                    let (next, stop, tokens_rx) = (&next, &stop, &tokens_rx);
                    let audit_part = &audit_part;
                    s.spawn(move |_| loop {
                        // The merger gives a token back per part merged; it stops us
                        // when it is done or failed.
                        let token = tokens_rx.lock().map(|rx| rx.recv());
                        if !matches!(token, Ok(Ok(()))) || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= bounds.len() {
                            break;
                        }
                        let part = std::panic::catch_unwind(AssertUnwindSafe(|| audit_part(i)));
                        if parts_tx.send((i, part)).is_err() {
                            break;
                        }
                    });
                }
                drop(parts_tx);
            });
        });
        merge_in_order(parts_rx, tokens_tx, &stop, bounds.len())
            .map(|part| part.expect("a file split in parts has parts").summary)
    })
}

/// Drops the pages of `read` (a window of `map` whose lines are read) from the
/// process's resident memory: they stay in the page cache, and reading them again
/// would only fault them back in. Without it a mapped file counts in full towards
/// the process's peak RSS.
fn release(map: &memmap2::Mmap, read: &[u8]) {
    let offset = read.as_ptr() as usize - map.as_ptr() as usize;
    // SAFETY: a read-only file mapping: its pages are dropped and read again from the
    // file on the next touch, never lost or zeroed.
    let _ = unsafe {
        map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, read.len())
    };
}

/// A part's summary, or why it could not be made.
type PartResult = std::thread::Result<io::Result<Part>>;

/// Merges `n` parts arriving in any order, in their order, giving a token back per
/// part merged. On an error or a panic (passed on), the workers are stopped first.
fn merge_in_order(
    parts: mpsc::Receiver<(usize, PartResult)>,
    tokens: mpsc::SyncSender<()>,
    stop: &AtomicBool,
    n: usize,
) -> io::Result<Option<Part>> {
    // Stops the workers however this ends: no more parts taken (the tokens and the
    // receiver are dropped with this frame too).
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _stop = Stop(stop);
    let mut pending = std::collections::BTreeMap::new();
    let mut merged: Option<Part> = None;
    let mut want = 0;
    while want < n {
        let Ok((i, part)) = parts.recv() else {
            break;
        };
        pending.insert(i, part);
        while let Some(part) = pending.remove(&want) {
            want += 1;
            let part = part.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            merged = Some(match merged.take() {
                None => part,
                Some(a) => combine(a, part),
            });
            // Workers that ran out of parts are gone: nothing to wake.
            let _ = tokens.try_send(());
        }
    }
    if want < n {
        // The workers only stop early when told to: never with parts left.
        return Err(io::Error::other("parts of the file were left unread"));
    }
    Ok(merged)
}

/// `b`, which followed `a` in the input, merged into `a`.
fn combine(mut a: Part, mut b: Part) -> Part {
    for m in &mut b.summary.malformed_sample {
        m.line += a.lines;
    }
    a.summary
        .merge_owned(b.summary)
        .expect("the parts of one run share their provider definitions");
    a.lines += b.lines;
    coalesce_inputs(&mut a.summary);
    a
}

/// A run of whole lines of a stream, for one worker: bytes, and where lines too long
/// to keep were skipped (offset in `bytes`, the skipped line's length).
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    skipped: Vec<(usize, u64)>,
}

/// Audits a stream (standard input, a decompressed file) on `threads` workers: the
/// reading thread cuts it into batches of whole lines, workers audit batches as
/// mergeable shards, and the results are merged in input order — the same exact merge
/// as for files, so the summary equals one single-threaded pass. At most a few batches
/// are in flight, so memory stays bounded whatever the stream's length.
///
/// Returns the summary of everything read, and the read error that ended the stream
/// early, if any (also recorded in the summary's input statistics).
pub fn audit_stream<R: io::BufRead>(
    mut reader: R,
    name: &str,
    config: &AuditConfig,
    threads: usize,
) -> (Summary, io::Result<()>) {
    let threads = threads.max(1);
    let head = match errlens_parse::input::head(&mut reader, errlens_parse::detect::SNIFF_BYTES) {
        Ok(h) => h,
        Err(e) => {
            let mut a = Auditor::new(config.clone());
            a.unreadable(name, &e.to_string());
            return (a.finish(), Err(e));
        }
    };
    let decoder = Decoder::new(&config.ingest, &head);
    if decoder.is_document() {
        // One document: read as it streams, on this thread.
        let mut a = Auditor::new(config.clone());
        let r = a.read_decoded(
            name,
            &mut decoder.clone(),
            reader,
            errlens_parse::frame::READ_BLOCK,
        );
        return (a.finish(), r);
    }
    let (jobs_tx, jobs_rx) = mpsc::sync_channel::<(usize, Batch)>(threads);
    let jobs_rx = Mutex::new(jobs_rx);
    let (parts_tx, parts_rx) = mpsc::channel::<(usize, Part)>();
    // Batches shipped but not yet merged are limited by tokens: a part's summary (with
    // its histograms) can outweigh its batch, and the merger may lag on a busy machine.
    let in_flight = 2 * threads;
    let (tokens_tx, tokens_rx) = mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        tokens_tx
            .send(())
            .expect("the channel has room for every token");
    }
    // Emptied batch buffers go back to the reading thread: a fixed set of buffers is
    // reused instead of allocating (and fragmenting) one per batch.
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let parts_tx = parts_tx.clone();
            let free_tx = free_tx.clone();
            let jobs_rx = &jobs_rx;
            let decoder = &decoder;
            scope.spawn(move || loop {
                let job = jobs_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((index, mut batch))) = job else {
                    break;
                };
                let part = audit_batch(index, &batch, name, config, decoder);
                batch.bytes.clear();
                let _ = free_tx.send(batch.bytes);
                if parts_tx.send((index, part)).is_err() {
                    break;
                }
            });
        }
        drop(parts_tx);
        drop(free_tx);
        // Merges parts in input order as they arrive.
        let merger = scope.spawn(move || {
            let mut pending = std::collections::BTreeMap::new();
            let mut next = 0;
            let mut merged: Option<Part> = None;
            for (index, part) in parts_rx {
                pending.insert(index, part);
                while let Some(part) = pending.remove(&next) {
                    merged = Some(match merged.take() {
                        None => part,
                        Some(a) => combine(a, part),
                    });
                    next += 1;
                    // The reading thread may be gone (end of input): nothing to wake.
                    let _ = tokens_tx.try_send(());
                }
            }
            merged
        });
        let size = batch_size(threads);
        let mut cutter = Cutter {
            size,
            tokens: tokens_rx,
            jobs: jobs_tx,
            free: free_rx,
            batch: Batch::default(),
            index: 0,
        };
        let result = read_frames(reader, size, config.ingest.max_line, &mut cutter);
        cutter.ship();
        drop(cutter);
        let merged = merger.join().expect("merging does not panic");
        let mut summary = match merged {
            Some(part) => part.summary,
            None => {
                // An empty stream: still one input, with no lines.
                let mut a = Auditor::new(config.clone());
                let mut cursor = crate::auditor::Cursor::new(name);
                cursor.set_shape(&decoder);
                a.end(cursor);
                a.finish()
            }
        };
        if let (Err(e), Some(input)) = (&result, summary.inputs.first_mut()) {
            input.error = Some(e.to_string());
        }
        (summary, result)
    })
}

/// Memory for the batches of a stream in flight, whatever the number of workers: with
/// many workers the batches get smaller rather than more memory being used.
const BATCH_BUDGET: usize = 24 << 20;

/// Bytes of whole lines per batch of a stream with `threads` workers: each worker holds
/// one batch and as many wait in the queue.
fn batch_size(threads: usize) -> usize {
    (BATCH_BUDGET / (2 * threads + 1)).clamp(256 << 10, 2 << 20)
}

/// Cuts a stream into [`Batch`]es of about `size` bytes for the workers.
struct Cutter {
    size: usize,
    /// One is taken per batch shipped and given back when its part is merged.
    tokens: std::sync::mpsc::Receiver<()>,
    jobs: std::sync::mpsc::SyncSender<(usize, Batch)>,
    free: std::sync::mpsc::Receiver<Vec<u8>>,
    batch: Batch,
    index: usize,
}

impl Cutter {
    /// Sends the current batch, if it holds anything.
    fn ship(&mut self) {
        if self.batch.bytes.is_empty() && self.batch.skipped.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        // Waits while too many batches are unmerged. The workers and the merger only
        // go away if one panicked; the scope reports that.
        let _ = self.tokens.recv();
        let _ = self.jobs.send((self.index, batch));
        self.index += 1;
    }
}

impl Frames for Cutter {
    fn line(&mut self, line: &[u8], raw_len: u64) {
        if self.batch.bytes.capacity() == 0 {
            self.batch.bytes = self
                .free
                .try_recv()
                // A read adds at most `size` bytes to a batch not yet full.
                .unwrap_or_else(|_| Vec::with_capacity(2 * self.size));
        }
        self.batch.bytes.extend_from_slice(line);
        // The terminator as it was, so byte counts stay exact.
        let terminator: &[u8] = match raw_len - line.len() as u64 {
            0 => b"",
            1 => b"\n",
            _ => b"\r\n",
        };
        self.batch.bytes.extend_from_slice(terminator);
        if self.batch.bytes.len() >= self.size {
            self.ship();
        }
    }
    fn too_long(&mut self, raw_len: u64) {
        self.batch.skipped.push((self.batch.bytes.len(), raw_len));
    }
}

/// Audits one batch as a shard (mergeable unless it is the first).
fn audit_batch(
    index: usize,
    batch: &Batch,
    name: &str,
    config: &AuditConfig,
    decoder: &Decoder,
) -> Part {
    let mut a = Auditor::new(AuditConfig {
        mergeable_chains: config.mergeable_chains || index > 0,
        ..config.clone()
    });
    let mut cursor = crate::auditor::Cursor::new(name);
    let mut decoder = decoder.clone();
    let max_line = config.ingest.max_line;
    {
        let mut feed = crate::auditor::Feed {
            auditor: &mut a,
            cursor: &mut cursor,
            decoder: &mut decoder,
        };
        let mut at = 0;
        // The batch holds whole lines; skipped ones sit between them.
        for &(offset, raw_len) in &batch.skipped {
            errlens_parse::frame::frame_all(&batch.bytes[at..offset], max_line, &mut feed);
            feed.too_long(raw_len);
            at = offset;
        }
        errlens_parse::frame::frame_all(&batch.bytes[at..], max_line, &mut feed);
    }
    cursor.set_shape(&decoder);
    a.end(cursor);
    let summary = a.finish();
    let lines = summary.inputs.iter().map(|s| s.lines).sum();
    Part { summary, lines }
}

/// A byte range of a file, read with positioned reads (workers share one handle).
struct Range<'a> {
    file: &'a File,
    at: u64,
    end: u64,
}

impl io::Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.at) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Parts are of one input: their per-chunk input stats become one.
fn coalesce_inputs(s: &mut Summary) {
    if s.inputs.len() > 1 {
        let mut one = s.inputs[0].clone();
        for i in &s.inputs[1..] {
            one.absorb(i);
        }
        s.inputs = vec![one];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_batches_stay_within_the_budget() {
        assert_eq!(batch_size(2), 2 << 20);
        for threads in 1..=512 {
            let size = batch_size(threads);
            assert!((256 << 10..=2 << 20).contains(&size));
            // Below the floor, the budget holds for every batch in flight.
            if size > 256 << 10 {
                assert!((2 * threads + 1) * size <= BATCH_BUDGET, "{threads}");
            }
        }
    }
}
