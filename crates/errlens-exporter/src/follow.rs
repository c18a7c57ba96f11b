//! Following log files by polling: rotation-safe, checkpointed, never re-reading or
//! skipping a line.
//!
//! Files are identified by content, not by path: device, inode and a fingerprint of the
//! first line (FNV-1a of up to 256 bytes). Every poll interval (default 250 ms: the delay
//! between a line being written and counted) the patterns are expanded and:
//!
//! - new bytes of every open file are read and complete lines counted; a partial last
//!   line is held until its newline arrives;
//! - **rename + create** (logrotate's default), **deletion**: a file that no followed path
//!   names any more is still drained for a grace period (a logger that has not reopened
//!   yet may still write to it), then closed and remembered, so finding it again under a
//!   rotated name (`app.log.1`, `app.log.2`, …) never re-reads it; the new file at the
//!   path is read from its start;
//! - **copytruncate** and **truncation**: same inode, smaller than what was read or with a
//!   different first line. Lines written before the truncation that were not read yet
//!   are in the copy: the copy is found beside the file by the old fingerprint and read
//!   from where errlens had got to; reading then restarts at 0. The copy is remembered, so
//!   following `app.log*` does not read it twice;
//! - **inode reuse** (a new file given a recycled inode number): the fingerprint differs,
//!   so it is a new file.
//!
//! Files that exist at start-up are read from their end unless `--from-start` (or a
//! checkpoint says where to resume); files that appear later are read from their start.
//!
//! Limit: when following an exact path, lines can be lost if a file is written *and*
//! rotated away within one poll interval (two rotations between two polls, or a new file
//! filled and copy-truncated before errlens read it): its content then lives only in a
//! rotated file errlens never saw at the path. Following a glob that also matches the
//! rotated names (`app.log*`) reads those files too, without reading anything twice.

use crate::checkpoint::{Checkpoints, FilePosition, State};
use crate::pipeline::{Counted, Lines, Pipeline};
use errlens_parse::{Decoder, Framer};
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a file no followed path names is still drained for late writes.
pub const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// A file a glob matches that has been read to its end and not grown for this long is
/// closed (a glob over rotated files would otherwise keep every one of them open); it
/// is opened again at its position when it grows.
pub const IDLE_CLOSE: Duration = Duration::from_secs(5);
/// Bytes of the first line that make up a file's fingerprint.
const FINGERPRINT_BYTES: usize = 256;
/// Closed files remembered (so a rotated file found again is not re-read).
const KNOWN_CAP: usize = 4096;

/// Settings of the follower.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// Paths or glob patterns.
    pub patterns: Vec<String>,
    /// Read files that exist at start-up from their start.
    pub from_start: bool,
    /// Poll interval.
    pub poll: Duration,
    /// Follow symbolic links that a glob matches (off: a glob never leads out of its
    /// directory through a link; an exact path given as a link is always followed).
    pub follow_symlinks: bool,
}

/// (device, inode).
type FileId = (u64, u64);

/// An open file being read.
#[derive(Debug)]
struct Reader {
    file: File,
    dev: u64,
    ino: u64,
    fingerprint: Option<u64>,
    /// End of the last complete line processed (what a checkpoint saves).
    offset: u64,
    /// File position after the last read.
    read_pos: u64,
    /// Lines of this file (an incomplete last line is held here).
    framer: Framer,
    /// The file's shape, sniffed from its start when its first line is read.
    decoder: Option<Decoder>,
    /// Lines read from this file.
    lines: u64,
    /// A document-shaped file (HAR): its bytes until it is whole, then counted once.
    doc: Vec<u8>,
    /// The document was counted.
    doc_done: bool,
    /// The path it was last seen at.
    path: PathBuf,
    /// Since when no followed path names it.
    gone_since: Option<Instant>,
    /// Since when a read found nothing new.
    idle_since: Option<Instant>,
    /// The first bytes read from offset 0, while the fingerprint is not known yet.
    head: Vec<u8>,
}

/// Where to start reading a newly opened file.
#[derive(Debug, Clone, Copy)]
enum Start {
    Beginning,
    End,
    At(u64),
}

/// The first bytes of a file, for shape detection.
fn file_head(file: &File) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; errlens_parse::detect::SNIFF_BYTES];
    let mut n = 0;
    while n < head.len() {
        match file.read_at(&mut head[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    head.truncate(n);
    Ok(head)
}

fn fingerprint_of(file: &File) -> io::Result<Option<u64>> {
    let mut head = [0u8; FINGERPRINT_BYTES];
    let mut n = 0;
    while n < head.len() {
        match file.read_at(&mut head[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(fingerprint_bytes(&head[..n]))
}

/// The fingerprint of a file's first bytes: its first line (with the newline), or its
/// first 256 bytes; `None` while there is neither.
fn fingerprint_bytes(head: &[u8]) -> Option<u64> {
    let head = &head[..head.len().min(FINGERPRINT_BYTES)];
    let first = match errlens_parse::frame::first_line(head) {
        Some(line) => line,
        None if head.len() == FINGERPRINT_BYTES => head,
        None => return None,
    };
    // FNV-1a: stable across versions, so checkpoints stay valid.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in first {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    Some(h)
}

impl Reader {
    fn open(path: &Path, start: Start, max_line: usize) -> io::Result<Reader> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let fingerprint = fingerprint_of(&file)?;
        let offset = match start {
            Start::Beginning => 0,
            Start::End => meta.len(),
            Start::At(o) if o <= meta.len() => o,
            Start::At(_) => 0,
        };
        file.seek(SeekFrom::Start(offset))?;
        Ok(Reader {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            fingerprint,
            offset,
            read_pos: offset,
            framer: Framer::new(max_line),
            decoder: None,
            lines: 0,
            doc: Vec::new(),
            doc_done: false,
            path: path.to_owned(),
            gone_since: None,
            idle_since: None,
            head: Vec::new(),
        })
    }

    fn id(&self) -> FileId {
        (self.dev, self.ino)
    }

    /// Reads everything available, counting complete lines.
    fn drain(&mut self, buf: &mut Vec<u8>, pipeline: &Mutex<Pipeline>) -> io::Result<()> {
        buf.resize(256 * 1024, 0);
        loop {
            let n = match self.file.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let base = self.read_pos;
            self.read_pos += n as u64;
            // Fingerprint from the bytes read, never from a second look at the file: a
            // truncation between the two would leave the file unidentifiable.
            if self.fingerprint.is_none()
                && base == self.head.len() as u64
                && self.head.len() < FINGERPRINT_BYTES
            {
                let take = n.min(FINGERPRINT_BYTES - self.head.len());
                self.head.extend_from_slice(&buf[..take]);
                self.fingerprint = fingerprint_bytes(&self.head);
            }
            let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
            if self.decoder.is_none() {
                // The shape of the file, from its first bytes (or these, at its start).
                let head = if base == 0 {
                    buf[..n.min(errlens_parse::detect::SNIFF_BYTES)].to_vec()
                } else {
                    file_head(&self.file)?
                };
                self.decoder = Some(p.decoder(&head));
            }
            let decoder = self.decoder.as_mut().expect("set above");
            if decoder.is_document() {
                // A document is not framed: it is counted when it is whole.
                if !self.doc_done {
                    self.doc.extend_from_slice(&buf[..n]);
                }
                p.metrics().bytes_read.inc_by(n as u64);
                continue;
            }
            let cap = self.framer.max_line();
            self.framer.push(
                &buf[..n],
                &mut Lines {
                    sink: &mut Counted {
                        pipeline: &mut p,
                        number: &mut self.lines,
                    },
                    decoder,
                    cap,
                },
            );
            self.offset = self.read_pos - self.framer.pending();
            p.metrics().bytes_read.inc_by(n as u64);
        }
        self.count_document(pipeline);
        Ok(())
    }

    /// Counts a document-shaped file's records once it is a whole JSON document (a HAR
    /// export is written at once, but a poll may see it half written).
    fn count_document(&mut self, pipeline: &Mutex<Pipeline>) {
        let Some(decoder) = self.decoder.as_mut().filter(|d| d.is_document()) else {
            return;
        };
        if self.doc_done || serde_json::from_slice::<serde::de::IgnoredAny>(&self.doc).is_err() {
            return;
        }
        let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
        // Read from memory: no read error can occur.
        let _ = decoder.document(&self.doc[..], &mut *p);
        self.doc = Vec::new();
        self.doc_done = true;
        self.offset = self.read_pos;
    }

    /// Counts a final line that will never get its newline (the file is done).
    fn finish(&mut self, pipeline: &Mutex<Pipeline>) {
        let pending = self.framer.pending();
        if pending == 0 {
            return;
        }
        let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
        let decoder = self.decoder.get_or_insert_with(|| p.decoder(b""));
        let cap = self.framer.max_line();
        self.framer.finish(&mut Lines {
            sink: &mut Counted {
                pipeline: &mut p,
                number: &mut self.lines,
            },
            decoder,
            cap,
        });
        self.offset += pending;
    }

    /// Starts over at the beginning of the (truncated or rewritten) file.
    fn restart(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        self.offset = 0;
        self.read_pos = 0;
        self.framer.reset();
        // New content may be in another shape.
        self.decoder = None;
        self.lines = 0;
        self.doc.clear();
        self.doc_done = false;
        // Known again once the new content's first line is read.
        self.fingerprint = None;
        self.head.clear();
        Ok(())
    }

    fn position(&self, open: bool) -> FilePosition {
        FilePosition {
            path: self.path.clone(),
            dev: self.dev,
            ino: self.ino,
            fingerprint: self.fingerprint,
            offset: self.offset,
            open,
        }
    }
}

/// What a checkpoint saves besides positions: counter values and the last record
/// time, taken when it is written.
pub type CounterSource = Box<dyn FnMut() -> (Vec<crate::counters::Family>, Option<f64>) + Send>;

/// Called with every state once it is saved.
pub type SavedHook = Box<dyn FnMut(&State) + Send>;

/// Follows files and feeds their lines to a pipeline.
pub struct Follower {
    cfg: FollowConfig,
    readers: Vec<Reader>,
    known: VecDeque<FilePosition>,
    path_ids: HashMap<PathBuf, FileId>,
    pending_copies: HashMap<FileId, Instant>,
    checkpoints: Option<Checkpoints>,
    saved: State,
    counters: Option<CounterSource>,
    on_saved: Option<SavedHook>,
    started: bool,
    buf: Vec<u8>,
    /// Patterns that matched no file at the last poll.
    missing: Vec<String>,
    /// Files closed while idle, with their position (read to their end): opened again
    /// there when they change size.
    retired: HashMap<FileId, u64>,
}

impl Follower {
    /// A follower; with `checkpoints`, positions are restored from and saved to it.
    pub fn new(cfg: FollowConfig, mut checkpoints: Option<Checkpoints>) -> io::Result<Follower> {
        let mut saved = match &mut checkpoints {
            Some(c) => c.load()?,
            None => State::default(),
        };
        // One entry per file, the newest (open readers are saved after finished files).
        let mut newest: HashMap<FileId, FilePosition> = HashMap::new();
        for f in saved.files.drain(..) {
            newest.insert((f.dev, f.ino), f);
        }
        saved.files = newest.into_values().collect();
        saved
            .files
            .sort_by(|a, b| (&a.path, a.ino).cmp(&(&b.path, b.ino)));
        Ok(Follower {
            cfg,
            readers: Vec::new(),
            known: saved.files.iter().cloned().collect(),
            path_ids: HashMap::new(),
            pending_copies: HashMap::new(),
            checkpoints,
            saved,
            counters: None,
            on_saved: None,
            started: false,
            buf: Vec::new(),
            missing: Vec::new(),
            retired: HashMap::new(),
        })
    }

    /// Files currently open.
    pub fn open_files(&self) -> usize {
        self.readers.len()
    }

    /// Files followed: open ones and those closed while idle (opened again when they
    /// grow).
    pub fn followed_files(&self) -> usize {
        self.readers.len() + self.retired.len()
    }

    /// Paths and patterns that matched no regular file at the last poll.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// The files the patterns name now, and the patterns that name none.
    fn expand(&self) -> (Vec<PathBuf>, Vec<String>) {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for pat in &self.cfg.patterns {
            let before = out.len();
            if pat.contains(['*', '?', '[']) {
                if let Ok(paths) = glob::glob(pat) {
                    let links = self.cfg.follow_symlinks;
                    out.extend(paths.flatten().filter(|p| {
                        let link = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink());
                        p.is_file() && (links || !link)
                    }));
                }
            } else if Path::new(pat).is_file() {
                out.push(PathBuf::from(pat));
            }
            if out.len() == before {
                missing.push(pat.clone());
            }
        }
        // An exact path that disappears is still looked at (deleted, renamed away).
        for pat in &self.cfg.patterns {
            if !pat.contains(['*', '?', '[']) {
                out.push(PathBuf::from(pat));
            }
        }
        out.sort();
        out.dedup();
        (out, missing)
    }

    fn known_offset(&self, id: FileId, fp: Option<u64>) -> Option<u64> {
        self.known
            .iter()
            .rev()
            .find(|k| (k.dev, k.ino) == id && (k.fingerprint.is_none() || k.fingerprint == fp))
            .map(|k| k.offset)
    }

    fn remember(&mut self, pos: FilePosition) {
        self.known.retain(|k| (k.dev, k.ino) != (pos.dev, pos.ino));
        self.known.push_back(FilePosition { open: false, ..pos });
        while self.known.len() > KNOWN_CAP {
            self.known.pop_front();
        }
    }

    /// Where a file that is not being read starts.
    fn start_of(
        &mut self,
        path: &Path,
        id: FileId,
        fp: Option<u64>,
        first: bool,
        now: Instant,
    ) -> Option<Start> {
        if let Some(offset) = self.known_offset(id, fp) {
            return Some(Start::At(offset));
        }
        if first {
            // A file at a checkpointed path that is not the checkpointed file was
            // created after the checkpoint: all of it is new.
            if self.saved.files.iter().any(|s| s.path == path) {
                return Some(Start::Beginning);
            }
            return Some(if self.cfg.from_start {
                Start::Beginning
            } else {
                Start::End
            });
        }
        if fp.is_some() {
            // Compare with what each open file starts with now: a reader that has not
            // read its file's first line yet has no fingerprint of its own.
            let same = |r: &Reader| {
                r.fingerprint
                    .or_else(|| fingerprint_of(&r.file).ok().flatten())
                    == fp
            };
            if let Some(orig) = self.readers.iter().find(|r| same(r)) {
                // A copy of a file being read: copytruncate in progress. Its truncation
                // will claim it; until then, wait.
                let since = *self.pending_copies.entry(id).or_insert(now);
                if now.duration_since(since) < DRAIN_GRACE {
                    return None;
                }
                // Never claimed: a plain copy, counted up to where the original is.
                return Some(Start::At(orig.offset));
            }
        }
        Some(Start::Beginning)
    }

    /// One poll: discover files, read what is new, handle rotations, save positions.
    pub fn poll(&mut self, pipeline: &Mutex<Pipeline>) -> io::Result<()> {
        let first = !self.started;
        self.started = true;
        let now = Instant::now();
        let (rotations, max_line) = {
            let p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
            (p.metrics().file_rotations.clone(), p.ingest().max_line)
        };

        let mut seen: HashSet<FileId> = HashSet::new();
        let (paths, missing) = self.expand();
        for pat in &missing {
            if !self.missing.contains(pat) {
                eprintln!("errlens: --follow {pat}: no such file (yet): waiting for it");
            }
        }
        self.missing = missing;
        for path in paths {
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                _ => {
                    if self.path_ids.remove(&path).is_some() {
                        rotations.inc(); // deleted, or renamed with no successor yet
                    }
                    continue;
                }
            };
            let id = (meta.dev(), meta.ino());
            if let Some(prev) = self.path_ids.insert(path.clone(), id) {
                if prev != id {
                    rotations.inc(); // another file at the path: rename + create, re-creation
                }
            }
            seen.insert(id);
            if let Some(r) = self.readers.iter_mut().find(|r| r.id() == id) {
                r.path = path;
                r.gone_since = None;
                continue;
            }
            if let Some(&at) = self.retired.get(&id) {
                // Closed while idle: left closed while it has not changed size, then
                // read on from where it was (from its start if it shrank).
                if at == meta.len() {
                    continue;
                }
                self.retired.remove(&id);
                match Reader::open(&path, Start::At(at), max_line) {
                    Ok(r) => self.readers.push(r),
                    Err(e) => eprintln!("errlens: {}: {e}", path.display()),
                }
                continue;
            }
            let fp = File::open(&path)
                .and_then(|f| fingerprint_of(&f))
                .unwrap_or(None);
            let Some(start) = self.start_of(&path, id, fp, first, now) else {
                continue;
            };
            self.pending_copies.remove(&id);
            match Reader::open(&path, start, max_line) {
                Ok(r) => self.readers.push(r),
                Err(e) => eprintln!("errlens: {}: {e}", path.display()),
            }
        }
        if first {
            self.reopen_rotated_while_down(&seen, now, max_line);
        }
        self.retired.retain(|id, _| seen.contains(id));

        for i in 0..self.readers.len() {
            let r = &self.readers[i];
            if !seen.contains(&r.id()) && r.gone_since.is_none() {
                self.readers[i].gone_since = Some(now);
            }
            // Check before reading, also for files no path names any more (a file can be
            // copy-truncated and then renamed between two polls): after a truncation,
            // reading on from the old position would start in the middle of new content.
            let r = &self.readers[i];
            let len = r.file.metadata()?.len();
            let fp_now = fingerprint_of(&r.file)?;
            if len < r.read_pos || (r.fingerprint.is_some() && fp_now != r.fingerprint) {
                rotations.inc();
                // Lines not read before the truncation are in the copy, if one was made:
                // read them first, they are the older ones.
                if let Some(mut c) = self.find_copy(i, max_line) {
                    c.drain(&mut self.buf, pipeline)?;
                    c.finish(pipeline);
                    self.remember(c.position(false));
                }
                self.readers[i].restart()?;
            }
            let before = self.readers[i].read_pos;
            self.readers[i].drain(&mut self.buf, pipeline)?;
            let r = &mut self.readers[i];
            if r.read_pos == before {
                r.idle_since.get_or_insert(now);
            } else {
                r.idle_since = None;
            }
        }

        // Files a glob matches, read to their end and idle: closed (opened again when
        // they grow). Files named by an exact path stay open, to follow a rename.
        let mut i = 0;
        while i < self.readers.len() {
            let r = &self.readers[i];
            let exact = self
                .cfg
                .patterns
                .iter()
                .any(|p| !p.contains(['*', '?', '[']) && Path::new(p) == r.path);
            let idle = r
                .idle_since
                .is_some_and(|t| now.duration_since(t) >= IDLE_CLOSE);
            let whole = r.framer.pending() == 0
                && !r
                    .decoder
                    .as_ref()
                    .is_some_and(|d| d.is_document() && !r.doc_done);
            if !exact && idle && whole && r.gone_since.is_none() {
                let r = self.readers.swap_remove(i);
                self.retired.insert(r.id(), r.offset);
                self.remember(r.position(false));
            } else {
                i += 1;
            }
        }

        // Files gone from every followed path for the grace period are done.
        let mut i = 0;
        while i < self.readers.len() {
            let done = self.readers[i]
                .gone_since
                .is_some_and(|t| now.duration_since(t) >= DRAIN_GRACE);
            if done {
                let mut r = self.readers.swap_remove(i);
                r.finish(pipeline);
                self.remember(r.position(false));
            } else {
                i += 1;
            }
        }
        self.pending_copies.retain(|id, _| seen.contains(id));

        pipeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .metrics()
            .files_followed
            .set(self.followed_files() as i64);
        pipeline
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .metrics()
            .follow_targets_missing
            .set(self.missing.len() as i64);
        self.checkpoint()
    }

    /// The copy of reader `i`'s pre-truncation content, opened where reading got to:
    /// a file beside it with the old fingerprint that nothing else is reading.
    fn find_copy(&self, i: usize, max_line: usize) -> Option<Reader> {
        let r = &self.readers[i];
        let fp = r.fingerprint?;
        let dir = match r.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let p = entry.path();
            let Ok(m) = std::fs::metadata(&p) else {
                continue;
            };
            let id = (m.dev(), m.ino());
            if !m.is_file() || id == r.id() || m.len() < r.offset {
                continue;
            }
            if self.readers.iter().any(|o| o.id() == id)
                || self.known_offset(id, Some(fp)).is_some()
            {
                continue;
            }
            let same = File::open(&p)
                .and_then(|f| fingerprint_of(&f))
                .ok()
                .flatten()
                == Some(fp);
            if same {
                return Reader::open(&p, Start::At(r.offset), max_line).ok();
            }
        }
        None
    }

    /// After a restart: files that were open at the checkpoint but that no followed path
    /// names now (rotated away while errlens was down) are found beside their old path
    /// and drained from their checkpoint.
    fn reopen_rotated_while_down(&mut self, seen: &HashSet<FileId>, now: Instant, max_line: usize) {
        let orphans: Vec<FilePosition> = self
            .saved
            .files
            .iter()
            .filter(|s| s.open && !seen.contains(&(s.dev, s.ino)))
            .cloned()
            .collect();
        for s in orphans {
            let dir = match s.path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
                _ => PathBuf::from("."),
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let p = entry.path();
                let Ok(m) = std::fs::metadata(&p) else {
                    continue;
                };
                if (m.dev(), m.ino()) != (s.dev, s.ino) {
                    continue;
                }
                let fp = File::open(&p)
                    .and_then(|f| fingerprint_of(&f))
                    .ok()
                    .flatten();
                if s.fingerprint.is_some() && fp != s.fingerprint {
                    continue;
                }
                if let Ok(mut r) = Reader::open(&p, Start::At(s.offset), max_line) {
                    r.gone_since = Some(now);
                    self.readers.push(r);
                }
                break;
            }
        }
    }

    /// Saves the position of every open file and the remembered closed ones.
    pub fn checkpoint(&mut self) -> io::Result<()> {
        let Some(c) = &mut self.checkpoints else {
            return Ok(());
        };
        let open: HashSet<FileId> = self.readers.iter().map(Reader::id).collect();
        let mut files: Vec<FilePosition> = self
            .known
            .iter()
            .filter(|k| !open.contains(&(k.dev, k.ino)))
            .map(|k| FilePosition {
                open: false,
                ..k.clone()
            })
            .collect();
        files.extend(self.readers.iter().map(|r| r.position(true)));
        let (counters, last_record_timestamp) = match &mut self.counters {
            Some(source) => source(),
            None => (Vec::new(), None),
        };
        let state = State {
            version: crate::checkpoint::STATE_VERSION,
            files,
            counters,
            last_record_timestamp,
        };
        c.save(&state)?;
        if let Some(saved) = &mut self.on_saved {
            saved(&state);
        }
        Ok(())
    }

    /// Calls `f` with every state saved (once it is on disk).
    pub fn on_saved(&mut self, f: SavedHook) {
        self.on_saved = Some(f);
    }

    /// Saves, with every checkpoint, the counter values `source` gives (taken after the
    /// positions, from the same instant: every line up to them is counted).
    pub fn set_counters(&mut self, source: CounterSource) {
        self.counters = Some(source);
    }

    /// The counter values and last record time restored from the checkpoint.
    pub fn restored_counters(&self) -> (Vec<crate::counters::Family>, Option<f64>) {
        (
            self.saved.counters.clone(),
            self.saved.last_record_timestamp,
        )
    }
}
