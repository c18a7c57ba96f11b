//! Parsing: MB/s per line kind of the flat shape (the generator's mix, the Simkl
//! envelope only, TMDB with a 422 errors array, aliases and numeric strings, malformed
//! lines), and per shape through the ingest front (`shapes/…`: the same generated log
//! rewritten in every shape, detected and decoded as `errlens report` does).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use errlens_classify::Registry;
use errlens_parse::{parse_line_with, Decoder, IngestConfig, ParseError, Record, RecordSink};

fn shape(name: &str, line: &str) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    for _ in 0..2000 {
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
    }
    (name.to_owned(), buf)
}

fn bench(c: &mut Criterion) {
    let generated = errlens_bench::log(20_000);
    let shapes = vec![
        ("generated_mix".to_owned(), generated),
        shape(
            "simkl_envelope_only",
            r#"{"error":"client_id_failed","code":412,"message":"client_id failed"}"#,
        ),
        shape(
            "tmdb_422_errors",
            r#"{"ts":"2026-11-20T10:01:18Z","method":"GET","url":"https://api.themoviedb.org/3/search/movie","status":422,"latency_ms":20,"errors":["query must be provided"]}"#,
        ),
        shape(
            "aliases_numeric_strings",
            r#"{"@timestamp":1795168822000,"method":"GET","host":"api.simkl.com","path":"/users/settings","http_status":"401","elapsed_ms":"40","client_id":"plex-sync","error":"user_token_failed","code":401}"#,
        ),
        shape(
            "malformed",
            r#"{"ts":"2026-11-20T10:02:02Z","method":"GET","url":"https://api.simkl.com/sync/activities",status:200}"#,
        ),
    ];
    let mut g = c.benchmark_group("parse");
    for (name, buf) in &shapes {
        let lines = errlens_bench::lines(buf);
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let mut ok = 0u32;
                for l in &lines {
                    ok +=
                        u32::from(parse_line_with(black_box(l), Registry::builtin().map()).is_ok());
                }
                ok
            })
        });
    }
    g.finish();
}

/// Counts what the decoder hands over.
#[derive(Default)]
struct Count(u64);

impl RecordSink for Count {
    fn record(&mut self, rec: &Record<'_>) {
        self.0 += u64::from(rec.status);
    }
    fn blank(&mut self) {}
    fn malformed(&mut self, _: u64, _: &ParseError) {}
}

fn shapes(c: &mut Criterion) {
    let flat = String::from_utf8(errlens_bench::log(20_000)).expect("the generator writes UTF-8");
    let mut g = c.benchmark_group("shapes");
    let mut inputs = vec![("flat".to_owned(), flat.clone())];
    for shape in errlens_gen::shapes::SHAPES {
        inputs.push((shape.to_owned(), errlens_gen::shapes::convert(&flat, shape)));
    }
    for (name, text) in &inputs {
        let bytes = text.as_bytes();
        let cfg = IngestConfig {
            providers: Registry::builtin().map().clone(),
            ..IngestConfig::default()
        };
        let decoder = Decoder::new(&cfg, bytes);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        if decoder.is_document() {
            g.bench_function(name.as_str(), |b| {
                b.iter(|| {
                    let mut count = Count::default();
                    decoder
                        .clone()
                        .document(black_box(bytes), &mut count)
                        .expect("reading from memory cannot fail");
                    count.0
                })
            });
            continue;
        }
        let lines = errlens_bench::lines(bytes);
        g.bench_function(name.as_str(), |b| {
            b.iter(|| {
                let mut d = decoder.clone();
                let mut count = Count::default();
                for (i, l) in lines.iter().enumerate() {
                    d.line(i as u64, black_box(l), &mut count);
                }
                count.0
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, shapes);
criterion_main!(benches);
