//! The caps on distinct clients and endpoints are exact: past the cap, the clients (and
//! endpoints) of smallest stable hash keep their row and every other one is counted in
//! `other`, so the rows always sum to the total, and the result is the same for one
//! pass, any thread count, and any split into merged shards.

mod common;

use errlens_audit::parallel::{audit_file, audit_stream, FileRead};
use errlens_audit::{
    AuditConfig, Auditor, Caps, Report, ReportOptions, Summary, MAX_CLIENTS, MAX_ENDPOINTS,
    MAX_ERRORS,
};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A time-ordered log over `clients` client ids (every one used) and `endpoints`
/// distinct endpoint templates (half Simkl, half TMDB, every one used), with retries:
/// a failed request is often retried by the same client on the same URL soon after,
/// with an `attempt` field or (`attempt_field` false) without one. Records without a
/// client id, without a URL, and malformed lines are mixed in.
fn log(seed: u64, lines: usize, clients: usize, endpoints: usize, attempt_field: bool) -> String {
    log_with_errors(seed, lines, clients, endpoints, attempt_field, 0)
}

/// [`log`], where Simkl failures carry one of `errors` distinct error ids (an `error`
/// field, as Simkl's body has) when `errors` > 0: every id at least once, then at random.
fn log_with_errors(
    seed: u64,
    lines: usize,
    clients: usize,
    endpoints: usize,
    attempt_field: bool,
    errors: usize,
) -> String {
    let mut r = Rng(seed);
    let mut next_error = 0;
    let url = |e: usize, id: u64| {
        if e % 2 == 0 {
            format!("https://api.simkl.com/sync/e{e}x/{id}")
        } else {
            format!("https://api.themoviedb.org/3/e{e}x/{id}")
        }
    };
    let mut out = String::new();
    let mut ts: u64 = 1_795_168_800_000;
    // The request being retried: client, URL, attempt.
    let mut retry: Option<(String, String, u32)> = None;
    // New requests so far.
    let mut i = 0;
    for _ in 0..lines {
        ts += r.below(1_500);
        if r.below(200) == 0 {
            out.push_str("not json\n");
            continue;
        }
        let (client, url, attempt) = match retry.take() {
            Some((c, u, a)) if r.below(3) > 0 => (c, u, a + 1),
            _ => {
                // Every client and endpoint at least once, then at random.
                let c = if i < clients {
                    i
                } else {
                    r.below(clients as u64) as usize
                };
                let e = if i < endpoints {
                    i
                } else {
                    r.below(endpoints as u64) as usize
                };
                let client = match r.below(50) {
                    0 if i >= clients => String::new(),
                    _ => format!("client-{c:06}"),
                };
                i += 1;
                (client, url(e, r.below(4)), 1)
            }
        };
        let status = [200, 200, 200, 200, 429, 500, 412, 404, 503][r.below(9) as usize];
        let mut o = serde_json::json!({
            "ts": ts,
            "method": if r.below(10) == 0 { "POST" } else { "GET" },
            "status": status,
            "latency_ms": 5 + r.below(400),
        });
        if r.below(100) > 0 {
            o["url"] = url.clone().into();
        }
        if !client.is_empty() {
            o["client_id"] = client.clone().into();
        }
        if attempt_field {
            o["attempt"] = attempt.into();
        }
        if errors > 0 && status != 200 && url.contains("simkl") {
            let e = if next_error < errors {
                next_error += 1;
                next_error - 1
            } else {
                r.below(errors as u64) as usize
            };
            o["error"] = format!("error_{e:07}").into();
        }
        out.push_str(&o.to_string());
        out.push('\n');
        if status != 200 {
            retry = Some((client, url, attempt));
        }
    }
    out
}

fn opts(top: usize) -> ReportOptions {
    ReportOptions {
        top,
        ..Default::default()
    }
}

fn report(s: &Summary, top: usize) -> Value {
    serde_json::to_value(Report::from_summary(s, &opts(top))).unwrap()
}

/// The report without what legitimately differs between shards and one pass.
fn comparable(s: &Summary, top: usize) -> Value {
    let mut v = report(s, top);
    let o = v.as_object_mut().unwrap();
    o.remove("inputs");
    o.remove("malformed_sample");
    v
}

fn single(text: &str, caps: Caps) -> Summary {
    let mut a = Auditor::with_caps(AuditConfig::default(), caps);
    a.read("log", text.as_bytes()).unwrap();
    a.finish()
}

/// `text` split at the line boundaries nearest after the given fractions.
fn split<'a>(text: &'a str, cuts: &[f64]) -> Vec<&'a str> {
    common::split(text.as_bytes(), cuts)
        .into_iter()
        .map(|s| std::str::from_utf8(s).expect("cut at newlines"))
        .collect()
}

/// Each shard audited on its own (the first as the start of the input when
/// `first_starts`, as `errlens report` does with several files; else every shard as
/// `--emit-summary` writes them), through the wire format, merged in order.
fn merged(shards: &[&str], caps: Caps, first_starts: bool) -> Summary {
    let mut acc: Option<Summary> = None;
    for (i, shard) in shards.iter().enumerate() {
        let config = AuditConfig {
            mergeable_chains: i > 0 || !first_starts,
            ..AuditConfig::default()
        };
        let mut a = Auditor::with_caps(config, caps);
        a.read("log", shard.as_bytes()).unwrap();
        let s = Summary::from_json(a.finish().to_json().as_bytes()).unwrap();
        match &mut acc {
            Some(m) => m.merge(&s).unwrap(),
            None => acc = Some(s),
        }
    }
    acc.unwrap()
}

/// Rows, `other` included, sum to the total: requests of clients and endpoints, and
/// retries of clients.
fn check_sums(s: &Summary, report: &Value) {
    let f = s.finalized();
    let requests: u64 = f.clients.values().map(|c| c.pressure.requests).sum();
    assert_eq!(requests, f.records);
    let retries: u64 = f.clients.values().map(|c| c.retries.total).sum();
    assert_eq!(retries, f.retries.total);
    let with_path: u64 = f.endpoints.iter().map(|e| e.pressure.requests).sum();
    let sum = |k: &str| -> u64 {
        report["pressure"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["requests"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum("by_client"), f.records);
    assert_eq!(sum("by_endpoint"), with_path);
}

/// The audits of `text` by every path: parallel files (small parts, so the caps are
/// applied as parts merge, and large ones, so they are applied while a part is read),
/// parallel streams, and merged shards cut anywhere; all must give the single pass's
/// report (listing the top N clients and endpoints for each N of `tops`).
fn check_every_path(text: &str, tops: &[usize]) -> Summary {
    let cfg = AuditConfig::default();
    let want = single(text, Caps::default());
    let reports: Vec<Value> = tops.iter().map(|&top| report(&want, top)).collect();
    let same = |got: &Summary, what: &str| {
        for (&top, want) in tops.iter().zip(&reports) {
            assert!(
                report(got, top) == *want,
                "{what}, top {top}: reports differ"
            );
        }
    };
    for r in &reports {
        check_sums(&want, r);
    }
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f.flush().unwrap();
    for threads in [1, 2, 3] {
        for chunk in [text.len() as u64 / 12, text.len() as u64 / 3] {
            for mmap in [true, false] {
                let got =
                    audit_file(f.path(), "log", &cfg, threads, FileRead { chunk, mmap }).unwrap();
                same(
                    &got,
                    &format!("file, {threads} threads, parts of {chunk}, mmap {mmap}"),
                );
            }
        }
        let (got, result) = audit_stream(text.as_bytes(), "log", &cfg, threads);
        result.unwrap();
        same(&got, &format!("stream, {threads} threads"));
    }
    for cuts in [&[0.5][..], &[0.13, 0.4, 0.41, 0.77], &[0.9]] {
        for first_starts in [true, false] {
            let got = merged(&split(text, cuts), Caps::default(), first_starts);
            for (&top, r) in tops.iter().zip(&reports) {
                let mut want = r.clone();
                let o = want.as_object_mut().unwrap();
                o.remove("inputs");
                o.remove("malformed_sample");
                check_sums(&got, &report(&got, top));
                assert!(
                    comparable(&got, top) == want,
                    "shards cut at {cuts:?} (first starts: {first_starts}), top {top}: reports differ"
                );
            }
        }
    }
    want
}

#[test]
fn clients_past_the_cap_fold_into_other_exactly() {
    let clients = MAX_CLIENTS + 5;
    let text = log(1, 4 * clients, clients, 40, true);
    // Every kept client listed, and only the top 10.
    let tops = [MAX_CLIENTS + 10, 10];
    let s = check_every_path(&text, &tops);
    assert_eq!(
        s.clients.len(),
        MAX_CLIENTS + 1,
        "the kept ids and `<other>`"
    );
    let folded = &s.clients["<other>"];
    assert!(folded.pressure.requests > 0);
    assert!(
        s.clients.contains_key(""),
        "records without a client id keep their row"
    );
    for top in tops {
        let r = report(&s, top);
        let rows = r["pressure"]["by_client"].as_array().unwrap();
        let row = |id: &str| rows.iter().find(|r| r["client_id"] == id);
        if top > MAX_CLIENTS {
            // Every kept client, and the folded ones as one `<other>` row.
            assert_eq!(rows.len(), MAX_CLIENTS + 1);
            assert!(row("other").is_none());
            let folded_row = row("<other>").unwrap();
            assert_eq!(
                folded_row["requests"].as_u64(),
                Some(folded.pressure.requests)
            );
        } else {
            assert_eq!(rows.len(), top + 1);
            assert_eq!(rows.last().unwrap()["client_id"], "other");
        }
        let worst = r["retries"]["worst_clients"].as_array().unwrap();
        assert!(!worst.is_empty());
        assert!(worst.iter().all(|w| w["client_id"] != "<other>"));
    }
}

#[test]
fn endpoints_past_the_cap_fold_into_other_exactly() {
    let endpoints = MAX_ENDPOINTS + 5;
    let text = log(2, 10 * endpoints, 200, endpoints, false);
    let tops = [MAX_ENDPOINTS + 10, 10];
    let s = check_every_path(&text, &tops);
    let own: Vec<_> = s
        .endpoints
        .iter()
        .filter(|e| e.endpoint != "<other>")
        .collect();
    assert_eq!(own.len(), MAX_ENDPOINTS);
    // Folded per provider (provider latency is made of them).
    let folded: Vec<_> = s
        .endpoints
        .iter()
        .filter(|e| e.endpoint == "<other>")
        .collect();
    assert_eq!(folded.len(), 2, "simkl and tmdb");
    for top in tops {
        let r = report(&s, top);
        let rows = r["pressure"]["by_endpoint"].as_array().unwrap();
        if top > MAX_ENDPOINTS {
            assert_eq!(rows.len(), MAX_ENDPOINTS + 2);
            for f in &folded {
                let row = rows
                    .iter()
                    .find(|r| r["provider"] == *f.provider && r["endpoint"] == "<other>")
                    .unwrap();
                assert_eq!(row["requests"].as_u64(), Some(f.pressure.requests));
                assert!(row["latency_ms"]["count"].as_u64().unwrap() > 0);
            }
        } else {
            assert_eq!(rows.len(), top + 1);
            let other = rows.last().unwrap();
            assert_eq!(
                (&other["provider"], &other["endpoint"]),
                (&"other".into(), &"other".into())
            );
        }
    }
}

/// A summary written before the caps (more rows than its cap) is folded when rendered
/// and when merged.
#[test]
fn summaries_over_their_cap_are_folded() {
    let text = log(3, 3_000, 300, 40, true);
    let caps = Caps {
        clients: 1_000,
        endpoints: 1_000,
        errors: 1_000,
    };
    let mut wide = single(&text, caps);
    assert_eq!(wide.clients.len(), 300 + 1);
    let narrow = single(
        &text,
        Caps {
            clients: 20,
            endpoints: 7,
            errors: 1_000,
        },
    );
    wide.max_clients = 20;
    wide.max_endpoints = 7;
    assert_eq!(comparable(&wide, 1_000), comparable(&narrow, 1_000));
    let mut m = wide.clone();
    m.merge(&Summary {
        max_clients: 20,
        ..Summary::default()
    })
    .unwrap();
    assert_eq!(m.clients.len(), 21);
    assert_eq!(comparable(&m, 1_000), comparable(&narrow, 1_000));
}

/// The error ids with their own groups.
fn error_names(s: &Summary) -> BTreeSet<String> {
    s.groups
        .iter()
        .filter_map(|g| g.error.clone())
        .filter(|e| e != "<other>")
        .collect()
}

fn names(
    s: &Summary,
) -> (
    BTreeSet<String>,
    BTreeSet<(String, String)>,
    BTreeSet<String>,
) {
    (
        s.clients.keys().cloned().collect(),
        s.endpoints
            .iter()
            .map(|e| (e.provider.clone(), e.endpoint.clone()))
            .collect(),
        error_names(s),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// With small caps, any split of a log into shards merges to the single pass's
    /// summary (every client's and endpoint's counts and retries, and `<other>`), and
    /// which names keep a row does not depend on the order of the lines.
    #[test]
    fn any_split_merges_to_the_single_pass(
        seed in 1u64..100_000,
        attempt_field in any::<bool>(),
        clients in 1usize..60,
        endpoints in 1usize..30,
        cap_clients in 0usize..12,
        cap_endpoints in 0usize..8,
        errors in 0usize..40,
        cap_errors in 0usize..10,
        first_starts in any::<bool>(),
        cuts in proptest::collection::vec(0.0f64..1.0, 0..6),
    ) {
        let text = log_with_errors(seed, 400, clients, endpoints, attempt_field, errors);
        let caps = Caps { clients: cap_clients, endpoints: cap_endpoints, errors: cap_errors };
        let want = single(&text, caps);
        let got = merged(&split(&text, &cuts), caps, first_starts);
        let (w, g) = (want.finalized(), got.finalized());
        prop_assert_eq!(&w.clients, &g.clients);
        prop_assert!(w.clients.len() <= cap_clients + 1);
        let rows = |s: &Summary| -> Vec<_> {
            s.endpoints.iter().map(|e| (e.provider.clone(), e.endpoint.clone(), e.pressure)).collect()
        };
        prop_assert_eq!(rows(&w), rows(&g));
        prop_assert!(w.endpoints.iter().filter(|e| e.endpoint != "<other>").count() <= cap_endpoints);
        prop_assert_eq!(&w.groups, &g.groups);
        prop_assert!(error_names(&w).len() <= cap_errors);
        check_sums(&want, &report(&want, 100));
        check_sums(&got, &report(&got, 100));
        prop_assert_eq!(comparable(&want, 100), comparable(&got, 100));
        prop_assert_eq!(comparable(&want, 3), comparable(&got, 3));

        // The same names keep a row whatever the order of the lines.
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        let (a, b) = (names(&want), names(&single(&lines.join("\n"), caps)));
        prop_assert_eq!(a, b);
    }
}

#[test]
fn error_ids_past_the_cap_fold_into_other_exactly() {
    let errors = MAX_ERRORS + 5;
    let text = log_with_errors(4, 5 * errors, 300, 20, true, errors);
    let s = check_every_path(&text, &[10]);
    assert_eq!(error_names(&s).len(), MAX_ERRORS);
    let folded: u64 = s
        .groups
        .iter()
        .filter(|g| g.error.as_deref() == Some("<other>"))
        .map(|g| g.count)
        .sum();
    assert!(folded > 0, "the ids past the cap are counted under <other>");
    let total: u64 = s.groups.iter().map(|g| g.count).sum();
    assert_eq!(total, s.records, "groups sum to the records");
    // Folded groups keep their provider and status.
    assert!(s
        .groups
        .iter()
        .filter(|g| g.error.as_deref() == Some("<other>"))
        .all(|g| g.provider == "simkl" && g.status != 200));
}
