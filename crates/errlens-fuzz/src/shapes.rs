//! `shapes`: the bytes as one line, and as a whole input, through every shape
//! errlens-parse knows — each built-in shape forced (`errlens report --shape NAME`),
//! two custom mappings (`--map`), and detection (no flag, with and without a small line
//! cap and client redaction) — through the same public API `errlens report` uses
//! ([`Decoder`], [`Shape`], the framer).
//!
//! Asserts: nothing panics; every framed line gives at least one outcome (a record, a
//! malformed line or a blank line) and exactly one for a forced shape with one record a
//! line, so nothing is lost; blank lines are blank; `Shape::parse_one` and
//! `Shape::parse_line` agree; the decoder's per-shape record counts add up to the
//! records it handed out; the framer gives the same lines whatever pieces the input
//! arrives in, and as many as the input has; every record is valid
//! ([`crate::check::record`]).

use crate::check::{self, Tally};
use errlens_classify::Registry;
use errlens_parse::detect::{self, SNIFF_BYTES};
use errlens_parse::frame::{frame_all, Frames};
use errlens_parse::mapping::MappingBuilder;
use errlens_parse::redact::Redactor;
use errlens_parse::{
    is_blank, Decoder, Framer, IngestConfig, ParseError, Record, RecordSink, Shape, ShapeKind,
};
use std::sync::{Arc, OnceLock};

/// The small line cap of one detected configuration (lines over it are malformed).
const SMALL_CAP: usize = 64;

/// Every way an input is read: each built-in shape forced, two custom mappings, and
/// detection (twice).
fn configs() -> &'static [IngestConfig] {
    static CONFIGS: OnceLock<Vec<IngestConfig>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let providers = Arc::clone(Registry::builtin().map());
        let forced = |shape: Shape| IngestConfig {
            shape: Some(shape),
            providers: Arc::clone(&providers),
            ..IngestConfig::default()
        };
        let mut out: Vec<IngestConfig> = ShapeKind::ALL
            .into_iter()
            .map(|k| forced(Shape::Builtin(k)))
            .collect();
        // `--map` over a JSON shape's paths, and over the flat names.
        let mut ecs = MappingBuilder::new(Some(ShapeKind::Ecs)).expect("ecs is a JSON shape");
        for arg in [
            "status=resp.code",
            "url=req.url",
            "latency_ms=took:s",
            "attempt=try:plus_one",
        ] {
            ecs.arg(arg).expect("a valid --map argument");
        }
        out.push(forced(Shape::Custom(Arc::new(ecs.build()))));
        let mut flat = MappingBuilder::new(None).expect("the flat names");
        for arg in [
            "status=response.status",
            "envelope=response.body",
            "ts=t:ns",
        ] {
            flat.arg(arg).expect("a valid --map argument");
        }
        out.push(forced(Shape::Custom(Arc::new(flat.build()))));
        // Detected, as with no flag; and with a small cap and redacted client ids.
        out.push(IngestConfig {
            providers: Arc::clone(&providers),
            ..IngestConfig::default()
        });
        out.push(IngestConfig {
            providers,
            max_line: SMALL_CAP,
            redact: Some(Redactor::new(b"errlens-fuzz")),
            ..IngestConfig::default()
        });
        out
    })
}

/// The target: see the module docs.
pub fn shapes(data: &[u8]) {
    for cfg in configs() {
        if let Some(shape) = &cfg.shape {
            one_line(shape, cfg, data);
        }
        line_through_decoder(cfg, data);
        input(cfg, data);
    }
    framing(data);
    detection(data);
}

/// The bytes as one line read by `shape` directly: `parse_line` and `parse_one` agree.
fn one_line(shape: &Shape, cfg: &IngestConfig, line: &[u8]) {
    let map = Some(&*cfg.providers);
    let mut outcomes: Vec<Result<Record<'static>, ParseError>> = Vec::new();
    shape.parse_line(line, map, &mut |r| {
        if let Ok(rec) = r {
            check::record(rec);
        }
        outcomes.push(r.map(|rec| rec.clone().into_owned()).map_err(Clone::clone));
    });
    if shape.one_per_line() {
        assert_eq!(
            outcomes.len(),
            1,
            "{}: one outcome for a line of a one-record shape",
            shape.name()
        );
    }
    let one = shape.parse_one(line, map).map(Record::into_owned);
    match outcomes.first() {
        Some(first) => assert_eq!(
            &one,
            first,
            "{}: parse_one is parse_line's first outcome",
            shape.name()
        ),
        None => assert!(
            matches!(one, Err(ParseError::NoStatus(_))),
            "{}: a line without outcomes is no record for parse_one: {one:?}",
            shape.name()
        ),
    }
}

/// The bytes as one line (newlines and all) through a decoder, as a forced shape or
/// with detection.
fn line_through_decoder(cfg: &IngestConfig, line: &[u8]) {
    let mut d = Decoder::new(cfg, line);
    let mut t = Tally::default();
    d.line(1, line, &mut t);
    check_line(cfg, &d, line, &t);
    assert_eq!(
        d.records_by_shape().values().sum::<u64>(),
        t.records,
        "records by shape add up"
    );
}

/// The outcomes one line gave (`t`): nothing lost.
fn check_line(cfg: &IngestConfig, d: &Decoder, line: &[u8], t: &Tally) {
    let name = d.shape().name();
    if is_blank(line) {
        assert_eq!(
            (t.records, t.blank, t.malformed),
            (0, 1, 0),
            "{name}: a blank line is blank"
        );
        return;
    }
    assert!(
        t.outcomes() >= 1,
        "{name}: a non-blank line gives a record, a malformed line or an empty batch: {:?}",
        String::from_utf8_lossy(line)
    );
    if cfg.shape.is_some() && d.shape().one_per_line() {
        assert_eq!(
            t.outcomes(),
            1,
            "{name} (forced): one outcome a line: {:?}",
            String::from_utf8_lossy(line)
        );
        assert_eq!(t.blank, 0, "{name} (forced): a non-blank line is not blank");
    }
}

/// Each framed line through a decoder, checked on its own.
struct PerLine<'a> {
    cfg: &'a IngestConfig,
    decoder: &'a mut Decoder,
    tally: &'a mut Tally,
    lines: u64,
}

impl Frames for PerLine<'_> {
    fn line(&mut self, line: &[u8], raw_len: u64) {
        assert!(
            (line.len() as u64..=line.len() as u64 + 2).contains(&raw_len),
            "a line's raw length is its length and terminator"
        );
        assert!(line.len() <= self.cfg.max_line, "lines fit the cap");
        self.lines += 1;
        let mut t = Tally::default();
        self.decoder.line(self.lines, line, &mut t);
        check_line(self.cfg, self.decoder, line, &t);
        if t.malformed > 0 {
            assert_eq!(
                t.last_line, self.lines,
                "malformed outcomes name their line"
            );
        }
        add(self.tally, &t);
    }
    fn too_long(&mut self, raw_len: u64) {
        assert!(
            raw_len > self.cfg.max_line as u64,
            "only long lines are skipped"
        );
        self.lines += 1;
        // As the audit counts it.
        self.tally
            .malformed(self.lines, &ParseError::TooLong(self.cfg.max_line));
    }
}

fn add(total: &mut Tally, t: &Tally) {
    total.records += t.records;
    total.blank += t.blank;
    total.malformed += t.malformed;
    total.last_line = total.last_line.max(t.last_line);
}

/// The bytes as a whole input, as `errlens report` reads a file: sniffed on its head
/// (unless forced), then framed lines, or one document.
fn input(cfg: &IngestConfig, data: &[u8]) {
    let head = &data[..data.len().min(SNIFF_BYTES)];
    let mut d = Decoder::new(cfg, head);
    let mut t = Tally::default();
    if d.is_document() {
        let read = d
            .document(data, &mut t)
            .expect("a document in memory reads without an I/O error");
        assert!(read <= data.len() as u64, "no more bytes read than given");
    } else {
        let mut per = PerLine {
            cfg,
            decoder: &mut d,
            tally: &mut t,
            lines: 0,
        };
        frame_all(data, cfg.max_line, &mut per);
        assert_eq!(
            per.lines,
            errlens_parse::frame::line_count(data),
            "every line is framed once"
        );
    }
    assert_eq!(
        d.records_by_shape().values().sum::<u64>(),
        t.records,
        "records by shape add up"
    );
}

/// What the framer delivered: lines (or a skipped line's length), in order.
#[derive(Default, PartialEq, Eq, Debug)]
struct Collected(Vec<(Option<Vec<u8>>, u64)>);

impl Frames for Collected {
    fn line(&mut self, line: &[u8], raw_len: u64) {
        self.0.push((Some(line.to_vec()), raw_len));
    }
    fn too_long(&mut self, raw_len: u64) {
        self.0.push((None, raw_len));
    }
}

/// The framer gives the same lines whatever pieces the input arrives in.
fn framing(data: &[u8]) {
    for cap in [SMALL_CAP, errlens_parse::DEFAULT_MAX_LINE] {
        let mut whole = Collected::default();
        frame_all(data, cap, &mut whole);
        let piece = 1 + data.len() % 13;
        let mut pieces = Collected::default();
        let mut framer = Framer::new(cap);
        for chunk in data.chunks(piece) {
            framer.push(chunk, &mut pieces);
        }
        framer.finish(&mut pieces);
        assert_eq!(whole, pieces, "framing does not depend on the pieces");
        let raw: u64 = whole.0.iter().map(|(_, n)| n).sum();
        assert_eq!(raw, data.len() as u64, "framed lines cover the input");
    }
}

/// Detection and the no-record hint take any bytes.
fn detection(data: &[u8]) {
    let d = detect::sniff(data);
    assert!(
        d.votes.iter().map(|(_, n)| n).sum::<usize>() <= d.sampled,
        "no more votes than sampled lines"
    );
    if let Some(k) = d.shape {
        assert!(
            k == ShapeKind::Har || d.votes.iter().any(|(s, _)| *s == k),
            "the sniffed shape had votes: {d:?}"
        );
    }
    assert!(!d.reason().is_empty());
    let _ = detect::detect_line(data);
    assert!(!errlens_parse::front::hint(data, None).is_empty());
    // The hint for a forced shape, one shape an input (each sniffs the whole head).
    let forced: Vec<&Shape> = configs().iter().filter_map(|c| c.shape.as_ref()).collect();
    let shape = forced[data.len() % forced.len()];
    assert!(!errlens_parse::front::hint(data, Some(shape)).is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_as_the_framer_does() {
        shapes(b"{\"status\":200}\n\nstatus=500\n");
    }
}
