//! The ingest front's decoding half: lines (from the [`crate::frame`] framer) or a whole
//! document in, records out to a [`RecordSink`] — the one observer trait both the audit
//! and the live exporter implement.
//!
//! A [`Decoder`] reads one input. Its shape is forced (`--shape`, `--map`,
//! `--mapping`) or sniffed from the input's first lines ([`crate::detect`]). With a
//! sniffed shape, a line the input's shape cannot read is detected on its own and read
//! by its own shape, so mixed inputs (two services' logs in one file) are read whole;
//! with a forced shape every line is read by it.

use crate::detect::{self, Detection};
use crate::provider::ProviderMap;
use crate::record::{ParseError, Record};
use crate::shape::{Shape, ShapeKind};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

/// Where decoded lines go: the observer both consumers implement.
pub trait RecordSink {
    /// A request record.
    fn record(&mut self, rec: &Record<'_>);
    /// A white-space-only line.
    fn blank(&mut self);
    /// A line (or one record of a multi-record line) that is not a record, with its
    /// 1-based line number (entry number in a document) within the input.
    fn malformed(&mut self, line: u64, error: &ParseError);
}

/// How every input of a run is read.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// A shape for every input (`--shape`, `--map`, `--mapping`); `None` detects it per
    /// input.
    pub shape: Option<Shape>,
    /// How records are assigned to providers: the loaded provider definitions' hosts
    /// and envelope keys, with `--provider-host` overrides.
    pub providers: Arc<ProviderMap>,
    /// Lines longer than this are malformed (`--max-line-bytes`).
    pub max_line: usize,
    /// Replace client ids by a keyed hash (`--redact-clients`).
    pub redact: Option<crate::redact::Redactor>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            shape: None,
            providers: Arc::default(),
            max_line: crate::frame::DEFAULT_MAX_LINE,
            redact: None,
        }
    }
}

/// Reads one input's lines into records.
#[derive(Debug, Clone)]
pub struct Decoder {
    shape: Shape,
    /// Other shapes may read lines the input's shape cannot.
    fallback: bool,
    providers: Arc<ProviderMap>,
    detection: Option<Detection>,
    /// Records per shape name.
    records: BTreeMap<String, u64>,
    /// One slot per built-in shape: records read by it (counted without a map lookup).
    by_kind: [u64; ShapeKind::ALL.len()],
    /// Records read by the input's own shape one line at a time (the common case: a
    /// plain count, joined to the shape's name when the counts are asked for).
    own: u64,
    held: Vec<ParseError>,
    redact: Option<crate::redact::Redactor>,
}

/// Hands a record to `sink`, its client id redacted when asked.
#[inline]
fn emit(redact: Option<&crate::redact::Redactor>, rec: &Record<'_>, sink: &mut impl RecordSink) {
    match (redact, rec.client_id.as_deref()) {
        (Some(r), Some(id)) => {
            let mut owned = rec.clone();
            owned.client_id = Some(std::borrow::Cow::Owned(r.name(id)));
            sink.record(&owned);
        }
        _ => sink.record(rec),
    }
}

impl Decoder {
    /// A decoder for an input whose first bytes are `head` (sniffed unless the shape is
    /// forced).
    pub fn new(cfg: &IngestConfig, head: &[u8]) -> Decoder {
        let (shape, fallback, detection) = match &cfg.shape {
            Some(s) => (s.clone(), false, None),
            None => {
                let d = detect::sniff(head);
                let kind = d.shape.unwrap_or(ShapeKind::Flat);
                (Shape::Builtin(kind), true, Some(d))
            }
        };
        Decoder {
            shape,
            fallback,
            providers: Arc::clone(&cfg.providers),
            detection,
            records: BTreeMap::new(),
            by_kind: [0; ShapeKind::ALL.len()],
            own: 0,
            held: Vec::new(),
            redact: cfg.redact.clone(),
        }
    }

    /// The input's shape (detected or forced).
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// What sniffing found (`None` when the shape was forced).
    pub fn detection(&self) -> Option<&Detection> {
        self.detection.as_ref()
    }

    /// Whether the input is one document (HAR) rather than lines.
    pub fn is_document(&self) -> bool {
        self.shape.kind().is_some_and(ShapeKind::is_document)
    }

    /// Records read so far, per shape name.
    pub fn records_by_shape(&self) -> BTreeMap<String, u64> {
        let mut out = self.records.clone();
        for (k, &n) in ShapeKind::ALL.iter().zip(&self.by_kind) {
            if n > 0 {
                *out.entry(k.name().to_owned()).or_default() += n;
            }
        }
        if self.own > 0 {
            *out.entry(self.shape.name().to_owned()).or_default() += self.own;
        }
        out
    }

    /// Decodes one line (without its terminator), numbered `number` in its input.
    #[inline]
    pub fn line(&mut self, number: u64, line: &[u8], sink: &mut impl RecordSink) {
        if crate::frame::is_blank(line) {
            return sink.blank();
        }
        let map = Some(&*self.providers);
        if self.shape.one_per_line() {
            // The common case, without callbacks: one line, one outcome.
            // Matched by reference: moving the record out of the result copied it.
            match &self.shape.parse_one(line, map) {
                Ok(rec) => {
                    self.own += 1;
                    emit(self.redact.as_ref(), rec, sink);
                }
                Err(e) => {
                    if !self.fall_back(number, line, sink) {
                        sink.malformed(number, e);
                    }
                }
            }
            return;
        }
        let mut records = 0u64;
        let held = &mut self.held;
        held.clear();
        let redact = self.redact.as_ref();
        self.shape.parse_line(line, map, &mut |r| match r {
            Ok(rec) => {
                records += 1;
                emit(redact, rec, sink);
            }
            Err(e) => held.push(e.clone()),
        });
        if records == 0 && !self.held.is_empty() && self.fall_back(number, line, sink) {
            return;
        }
        if records == 0 && self.held.is_empty() {
            // A valid line with nothing in it (an empty OTLP batch).
            return sink.blank();
        }
        self.count_own(records);
        for e in &self.held {
            sink.malformed(number, e);
        }
    }

    /// Counts records read by the input's own shape.
    #[inline]
    fn count_own(&mut self, n: u64) {
        match &self.shape {
            Shape::Builtin(k) => self.by_kind[*k as usize] += n,
            Shape::Custom(c) => *self.records.entry(c.name().to_owned()).or_default() += n,
        }
    }

    /// A line the input's shape could not read, read by the shape it is in (detected
    /// shapes only). Whether that gave any record; if not, nothing was delivered.
    fn fall_back(&mut self, number: u64, line: &[u8], sink: &mut impl RecordSink) -> bool {
        if !self.fallback {
            return false;
        }
        let Some(k) = detect::detect_line(line).filter(|k| Some(*k) != self.shape.kind()) else {
            return false;
        };
        let map = Some(&*self.providers);
        let redact = self.redact.as_ref();
        let mut n = 0u64;
        let mut errs = Vec::new();
        Shape::Builtin(k).parse_line(line, map, &mut |r| match r {
            Ok(rec) => {
                n += 1;
                emit(redact, rec, sink);
            }
            Err(e) => errs.push(e.clone()),
        });
        if n == 0 && errs.is_empty() {
            // A valid line of that shape with nothing in it (an empty OTLP batch).
            sink.blank();
            return true;
        }
        if n == 0 {
            return false;
        }
        self.by_kind[k as usize] += n;
        for e in &errs {
            sink.malformed(number, e);
        }
        true
    }

    /// Decodes a whole document (HAR) from `reader`; entries are numbered from 1. A
    /// broken document is one malformed entry where it breaks. Returns the bytes read,
    /// or the read error that stopped it (entries before it were delivered).
    pub fn document<R: Read>(
        &mut self,
        reader: R,
        sink: &mut impl RecordSink,
    ) -> std::io::Result<u64> {
        let map = Some(&*self.providers);
        let redact = self.redact.as_ref();
        let mut entry = 0u64;
        let mut records = 0u64;
        let read = crate::shape::har::read_stream(reader, map, &mut |r| {
            entry += 1;
            match r {
                Ok(rec) => {
                    records += 1;
                    emit(redact, rec, sink);
                }
                Err(e) => sink.malformed(entry, e),
            }
        });
        self.by_kind[ShapeKind::Har as usize] += records;
        let (bytes, result) = read?;
        if let Err(e) = result {
            sink.malformed(entry + 1, &e);
        }
        Ok(bytes)
    }
}

/// What to tell a user whose input gave no record: what its lines look like and which
/// `--shape` or `--map` would read them. `forced` is the shape the input was read in
/// when one was given (`--shape`, `--map`, `--mapping`).
pub fn hint(head: &[u8], forced: Option<&Shape>) -> String {
    let d = detect::sniff(head);
    if d.binary {
        return "the input looks binary (NUL or control bytes): is it compressed in a format errlens does not read, or not a log?".to_owned();
    }
    let first = head
        .split(|&b| b == b'\n')
        .find(|l| !crate::frame::is_blank(l))
        .unwrap_or(b"");
    let sample: String = String::from_utf8_lossy(&first[..first.len().min(160)]).into_owned();
    let t = first.trim_ascii();
    let looks = if t.starts_with(b"{") {
        "JSON objects"
    } else if t.starts_with(b"[") {
        "JSON arrays"
    } else if t.contains(&b'=') {
        "key=value text"
    } else {
        "text"
    };
    let mut s = format!("the lines look like {looks}, e.g. {sample:?}.");
    if let Some(f) = forced {
        let status = match f {
            Shape::Builtin(k) => k.status_paths(),
            Shape::Custom(c) => c.status_paths(),
        };
        s.push_str(&format!(
            " They were read as {} (as asked) and none had a usable HTTP status where it looks ({status})",
            f.name()
        ));
        match d.shape {
            Some(k) if Some(k) != f.kind() => s.push_str(&format!(
                "; they look like the {k} shape: try without --shape/--map, or --shape {k}."
            )),
            _ => s.push_str("; check the paths with `errlens shapes`, --map status=PATH."),
        }
        return s;
    }
    match d.shape {
        Some(ShapeKind::Har) => s.push_str(
            " It starts like a HAR document but could not be read whole: is it cut short? (see the malformed reason)",
        ),
        Some(k) => s.push_str(&format!(
            " They look like the {k} shape but hold no usable HTTP status where it looks ({}); describe the log with --map status=PATH (and url=, ts=, …) or a --mapping file.",
            k.status_paths()
        )),
        None => s.push_str(
            " No built-in shape matches; try --shape NAME (see `errlens shapes`), or describe the fields with --map status=PATH --map url=PATH … or --mapping FILE.",
        ),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Count {
        records: Vec<u16>,
        blank: u64,
        malformed: Vec<(u64, &'static str)>,
    }
    impl RecordSink for Count {
        fn record(&mut self, rec: &Record<'_>) {
            self.records.push(rec.status);
        }
        fn blank(&mut self) {
            self.blank += 1;
        }
        fn malformed(&mut self, line: u64, error: &ParseError) {
            self.malformed.push((line, error.kind()));
        }
    }

    #[test]
    fn mixed_inputs_read_each_line_by_its_shape() {
        let input = "{\"status\":200}\n{\"http.response.status_code\":404}\nstatus=500\nnope\n\n";
        let mut d = Decoder::new(&IngestConfig::default(), input.as_bytes());
        let mut c = Count::default();
        for (i, l) in input.lines().enumerate() {
            d.line(i as u64 + 1, l.as_bytes(), &mut c);
        }
        assert_eq!(c.records, [200, 404, 500]);
        assert_eq!(c.malformed, [(4, "invalid_json")]);
        assert_eq!(c.blank, 1);
        let by: Vec<_> = d.records_by_shape().into_iter().collect();
        assert_eq!(
            by,
            [
                ("ecs".to_owned(), 1),
                ("flat".to_owned(), 1),
                ("logfmt".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn forced_shapes_do_not_fall_back() {
        let cfg = IngestConfig {
            shape: Some(Shape::Builtin(ShapeKind::Ecs)),
            ..IngestConfig::default()
        };
        let mut d = Decoder::new(&cfg, b"");
        let mut c = Count::default();
        d.line(1, b"{\"status\":200}", &mut c);
        assert_eq!(c.malformed, [(1, "no_status")]);
    }

    #[test]
    fn hints_name_a_way_out() {
        assert!(hint(b"hello there\n", None).contains("--map"));
        assert!(hint(b"\x00\x00\x01", None).contains("binary"));
        let ecs = Shape::Builtin(ShapeKind::Ecs);
        let h = hint(b"{\"status\":200}\n", Some(&ecs));
        assert!(
            h.contains("read as ecs") && h.contains("--shape flat"),
            "{h}"
        );
    }
}
