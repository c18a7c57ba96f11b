//! Writes the fuzz targets' seed corpus, `fuzz/corpus/TARGET/`, from `fixtures/`:
//! `cargo run -p errlens-fuzz --example seed_corpus`. Deterministic: running it again
//! writes the same files (which are committed). Each file is named after its source;
//! `fuzz/README.md` lists the sources and the settings headers.

use errlens_exporter::otlp_http::Encoding;
use prost::Message;
use std::io::Write;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fixture's text.
fn fixture(path: &str) -> String {
    std::fs::read_to_string(root().join("fixtures").join(path))
        .unwrap_or_else(|e| panic!("fixtures/{path}: {e}"))
}

/// A fixture's lines without `#` comments and blank lines (the lines of a malformed
/// case table: its second column).
fn lines(path: &str) -> Vec<String> {
    fixture(path)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| match l.split_once('\t') {
            Some((_, line)) if path.ends_with(".tsv") => line.to_owned(),
            _ => l.to_owned(),
        })
        .collect()
}

/// The first `n` lines of a fixture, one a line.
fn joined(path: &str, n: usize) -> Vec<u8> {
    let mut out = String::new();
    for l in lines(path).into_iter().take(n) {
        out.push_str(&l);
        out.push('\n');
    }
    out.into_bytes()
}

/// The JSON-lines fixtures of the line shapes, by shape.
const SHAPES: [(&str, &str); 8] = [
    ("ecs", "shapes/ecs.jsonl"),
    ("caddy", "shapes/caddy.jsonl"),
    ("envoy", "shapes/envoy.jsonl"),
    ("nginx", "shapes/nginx.jsonl"),
    ("traefik", "shapes/traefik.jsonl"),
    ("otlp", "shapes/otlp.jsonl"),
    ("logfmt", "shapes/logfmt.log"),
    ("clf", "shapes/clf.log"),
];

/// One line of every shape, a blank line and CRLF endings: a mixed input.
fn mixed() -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (_, path)) in SHAPES.iter().enumerate() {
        out.extend_from_slice(lines(path)[i % 3].as_bytes());
        out.extend_from_slice(if i % 2 == 0 { b"\n" } else { b"\r\n" });
    }
    out.extend_from_slice(b"\n");
    out.extend_from_slice(lines("logs/sample.jsonl")[0].as_bytes());
    out
}

/// Where a target's files go; emptied first.
struct Corpus {
    dir: PathBuf,
    files: usize,
}

impl Corpus {
    fn new(target: &str) -> Corpus {
        let dir = root().join("fuzz/corpus").join(target);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the corpus directory");
        Corpus { dir, files: 0 }
    }

    fn add(&mut self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join(name), bytes).expect("a corpus file");
        self.files += 1;
    }

    /// A file of settings bytes and then `body`.
    fn add_with(&mut self, name: &str, settings: &[u8], body: &[u8]) {
        let mut v = settings.to_vec();
        v.extend_from_slice(body);
        self.add(name, &v);
    }
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    w.write_all(body).expect("writing to memory");
    w.finish().expect("writing to memory")
}

fn zlib(body: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    w.write_all(body).expect("writing to memory");
    w.finish().expect("writing to memory")
}

fn main() {
    let har = fixture("shapes/sample.har").into_bytes();
    let mut total = 0;

    // shapes: single lines of every shape, a few whole inputs, a HAR document.
    let mut c = Corpus::new("shapes");
    for (shape, path) in SHAPES {
        for (i, l) in lines(path).iter().take(3).enumerate() {
            c.add(&format!("{shape}-line{i}"), l.as_bytes());
        }
    }
    for (i, l) in lines("logs/sample.jsonl").iter().step_by(19).enumerate() {
        c.add(&format!("sample-line{i}"), l.as_bytes());
    }
    for (i, l) in lines("parse/malformed.tsv").iter().step_by(5).enumerate() {
        c.add(&format!("malformed-line{i}"), l.as_bytes());
    }
    for (shape, path) in [SHAPES[0], SHAPES[6], SHAPES[7]] {
        c.add(&format!("{shape}-input"), &joined(path, 100));
    }
    c.add("mixed-input", &mixed());
    c.add("sample.har", &har);
    total += c.files;

    // fast_vs_serde: flat lines, plain and not.
    let mut c = Corpus::new("fast_vs_serde");
    for (path, name, step) in [
        ("logs/sample.jsonl", "sample", 3),
        ("logs/four-apis.jsonl", "four-apis", 5),
        ("parse/records.jsonl", "records", 4),
        ("parse/malformed.tsv", "malformed", 2),
    ] {
        for (i, l) in lines(path).iter().step_by(step).enumerate() {
            c.add(&format!("{name}-line{i}"), l.as_bytes());
        }
    }
    total += c.files;

    // audit_merge: [cut, cut, block/cap] and a multi-line input.
    let mut c = Corpus::new("audit_merge");
    for (name, settings, fixture) in [
        ("sample", [7, 0, 0x3f], "logs/sample.jsonl"),
        ("sample-cap80", [20, 0, 0x85], "logs/sample.jsonl"),
        ("four-apis", [3, 0, 0x10], "logs/four-apis.jsonl"),
        ("records", [10, 0, 0x7f], "parse/records.jsonl"),
        ("malformed", [5, 0, 0x02], "parse/malformed.tsv"),
    ] {
        c.add_with(name, &settings, &joined(fixture, 100));
    }
    for (i, (shape, path)) in SHAPES.iter().enumerate() {
        let i = i as u8;
        c.add_with(shape, &[3 * i + 1, 0, 9 * i], &joined(path, 100));
    }
    c.add_with("mixed", &[2, 0, 0x81], &mixed());
    c.add_with("sample.har", &[0, 0, 0x40], &har);
    total += c.files;

    // ingest_body: [encoding, limit] and a body.
    let mut c = Corpus::new("ingest_body");
    const NONE: u8 = 0;
    const GZIP: u8 = 2;
    const DEFLATE: u8 = 4;
    const ZSTD: u8 = 5;
    const BR: u8 = 6;
    const OURS: u8 = 8;
    const MIB: u8 = 255;
    c.add_with("sample", &[NONE, MIB], &joined("logs/sample.jsonl", 20));
    c.add_with("four-apis", &[1, MIB], &joined("logs/four-apis.jsonl", 100));
    let records = lines("parse/records.jsonl");
    c.add_with(
        "array",
        &[NONE, MIB],
        format!("[{}]", records[..10].join(",")).as_bytes(),
    );
    let wrapped: Vec<String> = lines("logs/sample.jsonl")[..4]
        .iter()
        .chain(&lines("shapes/clf.log")[..1])
        .map(|l| serde_json::json!({ "log": format!("{l}\n"), "stream": "stdout" }).to_string())
        .collect();
    c.add_with(
        "fluent-bit-array",
        &[NONE, MIB],
        format!("[{}]", wrapped.join(",")).as_bytes(),
    );
    c.add_with("sample.har", &[NONE, MIB], &har);
    for (i, l) in lines("shapes/otlp.jsonl").iter().take(4).enumerate() {
        c.add_with(&format!("otlp-json{i}"), &[NONE, MIB], l.as_bytes());
        let request = Encoding::Json
            .decode(l.as_bytes())
            .expect("the OTLP fixture decodes");
        c.add_with(
            &format!("otlp-protobuf{i}"),
            &[NONE, MIB],
            &request.encode_to_vec(),
        );
    }
    c.add_with(
        "ecs-gzip-ours",
        &[GZIP | OURS, MIB],
        &joined("shapes/ecs.jsonl", 100),
    );
    c.add_with(
        "logfmt-deflate-ours-limit256",
        &[DEFLATE | OURS, 3],
        &joined("shapes/logfmt.log", 100),
    );
    c.add_with(
        "clf-zstd-ours",
        &[ZSTD | OURS, MIB],
        &joined("shapes/clf.log", 100),
    );
    c.add_with(
        "four-apis-gzip",
        &[GZIP, MIB],
        &gzip(&joined("logs/four-apis.jsonl", 100)),
    );
    c.add_with(
        "records-deflate",
        &[DEFLATE, MIB],
        &zlib(&joined("parse/records.jsonl", 100)),
    );
    c.add_with(
        "otlp-zstd",
        &[ZSTD, MIB],
        &zstd::stream::encode_all(lines("shapes/otlp.jsonl")[0].as_bytes(), 3)
            .expect("writing to memory"),
    );
    c.add_with(
        "sample-gzip-over-limit",
        &[3, 0],
        &gzip(&joined("logs/sample.jsonl", 100)),
    );
    c.add_with("br", &[BR, MIB], b"{\"status\":200}\n");
    c.add_with("empty", &[NONE, MIB], b"");
    total += c.files;
    println!("{total} files written under fuzz/corpus/");
}
