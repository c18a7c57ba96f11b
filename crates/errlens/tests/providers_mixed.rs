//! Four APIs in one log, checked against an independent oracle: Simkl and TMDB (built
//! in), Trakt and OMDb (loaded with `--providers`).
//!
//! The test generates a deterministic mixed log from the four provider definitions,
//! reads those definitions as plain TOML (never through errlens' own code), applies the
//! rules of docs/providers.md ("Which provider a record belongs to" and "How a verdict
//! is decided") itself, and compares every group of `errlens report --format json`
//! with its own result. A second test reads the same log without `--providers`: Trakt's
//! and OMDb's records are then nobody's, so `unknown`, judged by the generic HTTP table.

mod common;

use assert_cmd::Command;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Value as Toml;

/// OMDb's API key, in the query of every OMDb URL: no output may show it.
const SECRET: &str = "SECRETKEY123";
const LINES: usize = 3000;
/// Simkl error ids no table has (id-like, so reports keep them as logged).
const UNKNOWN_IDS: [&str; 2] = ["brand_new_id", "quota.v2-exceeded"];
/// An OMDb error text no row has.
const UNKNOWN_MESSAGE: &str = "Some new error.";

// ---- The provider definitions, as plain TOML ----

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `--providers` files, in the order given.
fn provider_files() -> [PathBuf; 2] {
    [
        repo().join("providers/trakt.toml"),
        repo().join("providers/omdb.toml"),
    ]
}

/// The built-in definitions (Simkl, TMDB), then the files when `with_files`.
fn definitions(with_files: bool) -> Vec<Toml> {
    let builtin = repo().join("crates/errlens-classify/providers");
    let mut paths = vec![builtin.join("simkl.toml"), builtin.join("tmdb.toml")];
    if with_files {
        paths.extend(provider_files());
    }
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            toml::from_str(&text).unwrap_or_else(|e| panic!("{p:?}: {e}"))
        })
        .collect()
}

fn name(def: &Toml) -> &str {
    def["name"].as_str().unwrap()
}

fn def_named<'a>(defs: &'a [Toml], n: &str) -> &'a Toml {
    defs.iter().find(|d| name(d) == n).unwrap()
}

fn envelope<'a>(def: &'a Toml, key: &str) -> Option<&'a Toml> {
    def.get("envelope")?.get(key)
}

fn env_str<'a>(def: &'a Toml, key: &str) -> Option<&'a str> {
    envelope(def, key)?.as_str()
}

/// The rows of `[[status]]` or `[[error]]`.
fn rows<'a>(def: &'a Toml, table: &str) -> &'a [Toml] {
    def.get(table)
        .and_then(Toml::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn int(row: &Toml, key: &str) -> Option<i64> {
    row.get(key)?.as_integer()
}

fn text<'a>(row: &'a Toml, key: &str) -> Option<&'a str> {
    row.get(key)?.as_str()
}

fn statuses(def: &Toml) -> Vec<i64> {
    rows(def, "status")
        .iter()
        .map(|r| int(r, "status").unwrap())
        .collect()
}

/// The exact (not `*.`) hosts of a definition.
fn hosts(def: &Toml) -> Vec<&str> {
    def["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Toml::as_str)
        .filter(|h| !h.starts_with("*."))
        .collect()
}

// ---- The log ----

/// splitmix64 with a fixed seed: the same log on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }
}

/// ~3000 flat JSON lines: Simkl, TMDB, Trakt and OMDb requests, and ~5% lines without a
/// URL (an OMDb body, or a Simkl envelope alone). Needs all four definitions.
fn generate(defs: &[Toml]) -> Vec<Map<String, Value>> {
    let (simkl, tmdb) = (def_named(defs, "simkl"), def_named(defs, "tmdb"));
    let (trakt, omdb) = (def_named(defs, "trakt"), def_named(defs, "omdb"));
    let mut simkl_statuses = statuses(simkl);
    simkl_statuses.extend([504, 522]);
    let simkl_ids: Vec<(i64, &str)> = rows(simkl, "error")
        .iter()
        .map(|r| (int(r, "status").unwrap(), text(r, "id").unwrap()))
        .collect();
    let tmdb_codes = rows(tmdb, "error");
    let mut trakt_statuses = statuses(trakt);
    trakt_statuses.extend([418, 505, 524, 402]);
    let omdb_rows = rows(omdb, "error");
    // Messages OMDb sends under HTTP 200 (hidden failures), and under 401.
    let hidden: Vec<&str> = omdb_rows
        .iter()
        .filter(|r| int(r, "status").is_none_or(|s| s == 200))
        .map(|r| text(r, "message").unwrap())
        .collect();
    let under_401: Vec<&str> = omdb_rows
        .iter()
        .filter(|r| int(r, "status") == Some(401) || text(r, "class") == Some("unauthorized"))
        .map(|r| text(r, "message").unwrap())
        .collect();

    // An OMDb body; `bare` allows a status without any body.
    let omdb_body = |rng: &mut Rng, m: &mut Map<String, Value>, bare: bool| {
        let roll = rng.below(if bare { 100 } else { 94 });
        let (status, error) = match roll {
            0..45 => (200, None),
            45..75 => (200, Some(rng.pick(&hidden))),
            75..88 => (401, Some(rng.pick(&under_401))),
            88..94 => (rng.pick(&[200, 401]), Some(UNKNOWN_MESSAGE)),
            _ => (rng.pick(&[503, 522]), None),
        };
        m.insert("status".into(), json!(status));
        if roll < 94 {
            m.insert(
                "Response".into(),
                json!(if error.is_some() { "False" } else { "True" }),
            );
        }
        if let Some(e) = error {
            m.insert("Error".into(), json!(e));
        }
    };

    let mut rng = Rng(0x5EED_E11E_2026);
    (0..LINES)
        .map(|i| {
            let mut m = Map::new();
            let ts = format!("2026-03-02T09:{:02}:{:02}Z", i / 60 % 60, i % 60);
            m.insert("ts".into(), json!(ts));
            m.insert(
                "method".into(),
                json!(if rng.percent(80) { "GET" } else { "POST" }),
            );
            m.insert("client_id".into(), json!(format!("client{}", rng.below(6))));
            if rng.percent(80) {
                m.insert("latency_ms".into(), json!(20 + rng.below(900)));
            }
            let n = 1000 + rng.below(9000);
            match rng.below(100) {
                0..25 => {
                    let host = rng.pick(&hosts(simkl));
                    let status = rng.pick(&simkl_statuses);
                    m.insert(
                        "url".into(),
                        json!(format!("https://{host}/sync/history/{n}")),
                    );
                    m.insert("status".into(), json!(status));
                    if status >= 400 && rng.percent(70) {
                        let id = simkl_error(&mut rng, &simkl_ids, status);
                        m.insert("error".into(), json!(id));
                        m.insert("code".into(), json!(status));
                    }
                }
                25..50 => {
                    let host = rng.pick(&hosts(tmdb));
                    m.insert("url".into(), json!(format!("https://{host}/3/movie/{n}")));
                    let roll = rng.below(100);
                    if roll < 5 {
                        // No envelope: the generic table judges it.
                        m.insert("status".into(), json!(rng.pick(&[200, 404, 504])));
                    } else {
                        let row = rng.pick(&tmdb_codes.iter().collect::<Vec<_>>());
                        let (code, status, message, success) = if roll < 12 {
                            let status = rng.pick(&[200, 400, 404, 500, 503]);
                            (rng.pick(&[48, 99]), status, "Unknown.", false)
                        } else {
                            let own = int(row, "status").unwrap();
                            // Some codes under a status their row doesn't give.
                            let status = if roll < 22 {
                                rng.pick(&[200, 400, 401, 404, 500, 503])
                            } else {
                                own
                            };
                            let success = text(row, "class") == Some("success");
                            let code = int(row, "code").unwrap();
                            (code, status, text(row, "name").unwrap(), success)
                        };
                        m.insert("status".into(), json!(status));
                        m.insert("status_code".into(), json!(code));
                        m.insert("status_message".into(), json!(message));
                        m.insert("success".into(), json!(success));
                    }
                }
                50..68 => {
                    let host = rng.pick(&hosts(trakt));
                    m.insert(
                        "url".into(),
                        json!(format!("https://{host}/users/me/history/{n}")),
                    );
                    m.insert("status".into(), json!(rng.pick(&trakt_statuses)));
                }
                68..95 => {
                    let host = rng.pick(&hosts(omdb));
                    let url = format!("https://{host}/?apikey={SECRET}&i=tt0111161");
                    m.insert("url".into(), json!(url));
                    omdb_body(&mut rng, &mut m, true);
                }
                _ if rng.percent(50) => omdb_body(&mut rng, &mut m, false),
                _ => {
                    // A Simkl envelope alone: its `code` is the status.
                    let (code, id) = rng.pick(&simkl_ids);
                    let id = if rng.percent(20) {
                        rng.pick(&UNKNOWN_IDS)
                    } else {
                        id
                    };
                    m.insert("error".into(), json!(id));
                    m.insert("code".into(), json!(code));
                }
            }
            m
        })
        .collect()
}

/// A Simkl error id for `status`: mostly one of its rows, else another row's id or
/// an unknown one.
fn simkl_error<'a>(rng: &mut Rng, ids: &[(i64, &'a str)], status: i64) -> &'a str {
    let same: Vec<&str> = ids
        .iter()
        .filter(|(s, _)| *s == status)
        .map(|(_, id)| *id)
        .collect();
    if rng.percent(15) {
        rng.pick(&UNKNOWN_IDS)
    } else if !same.is_empty() && rng.percent(75) {
        rng.pick(&same)
    } else {
        rng.pick(ids).1
    }
}

fn write_log(dir: &Path, lines: &[Map<String, Value>]) -> PathBuf {
    let path = dir.join("mixed.jsonl");
    let text: String = lines
        .iter()
        .map(|m| serde_json::to_string(m).unwrap() + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

// ---- The oracle: docs/providers.md, applied by hand ----

/// A report group: (provider, status, error, tmdb_code, code).
type Key = (String, i64, Option<String>, Option<i64>, Option<i64>);

/// What a report says about a group, besides its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flags {
    failure: bool,
    hidden_failure: bool,
    in_table: bool,
}

/// A URL's host: lower case, without `user@` and port.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// Whether `def` lists `host` (exact, or `*.domain` for every subdomain of it).
fn serves(def: &Toml, host: &str) -> bool {
    def["hosts"].as_array().unwrap().iter().any(|h| {
        let h = h.as_str().unwrap().to_ascii_lowercase();
        match h.strip_prefix('*') {
            Some(dot_domain) => host.ends_with(dot_domain) && host.len() > dot_domain.len(),
            None => h == host,
        }
    })
}

/// The host's provider; else the `recognize` key present with the lowest priority (the
/// first definition on a tie); else none (`unknown`).
fn provider_of<'a>(defs: &'a [Toml], line: &Map<String, Value>) -> Option<&'a Toml> {
    let host = line.get("url").and_then(Value::as_str).and_then(host_of);
    if let Some(def) = host.and_then(|h| defs.iter().find(|d| serves(d, &h))) {
        return Some(def);
    }
    let recognized = defs.iter().enumerate().flat_map(move |(i, def)| {
        let rules = envelope(def, "recognize").and_then(Toml::as_table);
        rules
            .into_iter()
            .flatten()
            .filter(move |(key, _)| line.contains_key(key.as_str()))
            .map(move |(_, prio)| (prio.as_integer().unwrap(), i))
    });
    recognized.min().map(|(_, i)| &defs[i])
}

/// An error id as reports show it: as logged when id-like, else `<invalid>`.
fn shown(e: &str) -> String {
    let id_like = (1..=64).contains(&e.len())
        && e.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    let shown = if id_like { e } else { "<invalid>" };
    shown.to_owned()
}

/// A row is a failure unless its class is `success` or `redirect`.
fn failing(class: Option<&str>) -> bool {
    !matches!(class.expect("a row with a class"), "success" | "redirect")
}

/// One record's group and verdict.
fn judge(defs: &[Toml], line: &Map<String, Value>) -> (Key, Flags) {
    let status = (line.get("status").or_else(|| line.get("code")))
        .and_then(Value::as_i64)
        .expect("a status");
    let flags = |failure: bool, in_table: bool| Flags {
        failure,
        hidden_failure: failure && status < 400,
        in_table,
    };
    // The generic HTTP table: success is 2xx/3xx.
    let generic_failure = !(200..400).contains(&status);
    let Some(def) = provider_of(defs, line) else {
        let key = ("unknown".to_owned(), status, None, None, None);
        return (key, flags(generic_failure, true));
    };
    let field = |slot: &str| env_str(def, slot).and_then(|key| line.get(key));
    let error = field("error").and_then(Value::as_str);
    let own_code = field("own_code").and_then(Value::as_i64);
    let success = field("success").and_then(|v| match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "True" => Some(true),
        Value::String(s) if s == "False" => Some(false),
        _ => None,
    });
    let errors_by = env_str(def, "errors_by").unwrap_or("");

    // 1. An error row: by (status, id), by own code, or by message text.
    let status_row = rows(def, "status")
        .iter()
        .find(|r| int(r, "status") == Some(status));
    let error_row = rows(def, "error").iter().find(|r| match errors_by {
        "id" => error.is_some() && text(r, "id") == error && int(r, "status") == Some(status),
        "code" => own_code.is_some() && int(r, "code") == own_code,
        "message" => error.is_some() && text(r, "message") == error,
        _ => false,
    });
    // An own code or a message was logged that no row knows.
    let unmatched = error_row.is_none()
        && match errors_by {
            "code" => own_code.is_some(),
            "message" => error.is_some(),
            _ => false,
        };
    let (mut failure, in_table) = match (error_row, status_row) {
        // An id row without a class takes its status row's.
        (Some(e), _) => {
            let class = text(e, "class").or_else(|| status_row.and_then(|s| text(s, "class")));
            (failing(class), true)
        }
        // 2. Else the status row (not "in the table" when an own code or message was
        // logged that no row knows).
        (None, Some(s)) => (failing(text(s, "class")), !unmatched),
        // 3. Else the generic HTTP table: `in_table` false for a provider with a status
        // table (Simkl 504, Trakt 505) or an unknown own code or message (TMDB 99).
        (None, None) => (
            generic_failure,
            rows(def, "status").is_empty() && !unmatched,
        ),
    };
    if envelope(def, "false_is_failure").and_then(Toml::as_bool) == Some(true)
        && success == Some(false)
    {
        failure = true;
    }

    let error_label = match errors_by {
        "id" => error.map(shown),
        "message" => error_row
            .map(|r| text(r, "id").unwrap().to_owned())
            .or_else(|| error.map(shown)),
        _ => None,
    };
    let tmdb_code = own_code.filter(|_| name(def) == "tmdb");
    let code = own_code.filter(|_| errors_by == "code");
    let key = (name(def).to_owned(), status, error_label, tmdb_code, code);
    (key, flags(failure, in_table))
}

/// Every group the oracle expects, with its count.
fn expected(defs: &[Toml], lines: &[Map<String, Value>]) -> BTreeMap<Key, (u64, Flags)> {
    let mut groups: BTreeMap<Key, (u64, Flags)> = BTreeMap::new();
    for line in lines {
        let (key, flags) = judge(defs, line);
        let entry = groups.entry(key.clone()).or_insert((0, flags));
        assert_eq!(entry.1, flags, "oracle: two verdicts in group {key:?}");
        entry.0 += 1;
    }
    groups
}

// ---- The report ----

fn groups_of(report: &Value) -> BTreeMap<Key, (u64, Flags)> {
    let mut groups = BTreeMap::new();
    for g in report["groups"].as_array().expect("groups") {
        assert!(g.get("code").is_some(), "a group without `code`: {g}");
        let key = (
            g["provider"].as_str().unwrap().to_owned(),
            g["status"].as_i64().unwrap(),
            g["error"].as_str().map(str::to_owned),
            g["tmdb_code"].as_i64(),
            g["code"].as_i64(),
        );
        let flags = Flags {
            failure: g["failure"].as_bool().unwrap(),
            hidden_failure: g["hidden_failure"].as_bool().unwrap(),
            in_table: g["in_table"].as_bool().unwrap(),
        };
        let count = g["count"].as_u64().unwrap();
        let dup = groups.insert(key.clone(), (count, flags));
        assert!(dup.is_none(), "group {key:?} listed twice");
    }
    groups
}

/// Per provider: [records, failures, hidden failures].
fn per_provider(groups: &BTreeMap<Key, (u64, Flags)>) -> BTreeMap<String, [u64; 3]> {
    let mut out: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for (key, (n, f)) in groups {
        let p = out.entry(key.0.clone()).or_default();
        p[0] += n;
        p[1] += if f.failure { *n } else { 0 };
        p[2] += if f.hidden_failure { *n } else { 0 };
    }
    out
}

/// The report agrees with the oracle: per provider, in totals, and group by group.
fn assert_matches(report: &Value, want: &BTreeMap<Key, (u64, Flags)>) {
    assert_eq!(report["records"], LINES as u64);
    assert_eq!(report["malformed"], 0);
    let got = groups_of(report);
    let (got_p, want_p) = (per_provider(&got), per_provider(want));
    assert_eq!(got_p, want_p, "[records, failures, hidden] per provider");
    let requests: BTreeMap<String, u64> = report["pressure"]["by_provider"]
        .as_array()
        .expect("pressure.by_provider")
        .iter()
        .map(|p| {
            (
                p["provider"].as_str().unwrap().to_owned(),
                p["requests"].as_u64().unwrap(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let records: BTreeMap<String, u64> = want_p.iter().map(|(p, n)| (p.clone(), n[0])).collect();
    assert_eq!(requests, records, "pressure.by_provider requests");
    let total = |i: usize| want_p.values().map(|n| n[i]).sum::<u64>();
    assert_eq!(report["failures"], total(1), "failures");
    assert_eq!(report["hidden_failures"], total(2), "hidden_failures");

    let mut diffs: Vec<String> = Vec::new();
    for key in got
        .keys()
        .chain(want.keys().filter(|k| !got.contains_key(*k)))
    {
        let (g, w) = (got.get(key), want.get(key));
        if g != w {
            diffs.push(format!("{key:?}: report {g:?}, oracle {w:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} groups differ (count, flags):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn provider_args() -> Vec<String> {
    provider_files()
        .iter()
        .flat_map(|f| ["--providers".to_owned(), f.to_str().unwrap().to_owned()])
        .collect()
}

#[test]
fn four_providers_agree_with_the_oracle() {
    let all = definitions(true);
    let lines = generate(&all);
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), &lines);
    let want = expected(&all, &lines);

    // The log exercises what it should: every provider, with records outside its
    // tables, and failures hidden under HTTP 200.
    let stats = per_provider(&want);
    for p in ["simkl", "tmdb", "trakt", "omdb"] {
        assert!(stats[p][0] >= 200, "only {} {p} records", stats[p][0]);
        assert!(
            want.iter().any(|(k, (_, f))| k.0 == p && !f.in_table),
            "no {p} record outside its tables"
        );
    }
    assert!(stats["omdb"][2] > 0 && stats["tmdb"][2] > 0);
    assert!(lines.iter().filter(|l| !l.contains_key("url")).count() > 50);

    let mut args = provider_args();
    args.push(log.to_str().unwrap().to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_matches(&common::json_report(&args), &want);

    // The OMDb key rides in the query string: no format prints it.
    for format in ["json", "table", "csv", "markdown", "html"] {
        let out = Command::cargo_bin("errlens")
            .unwrap()
            .args(["report", "--format", format])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "--format {format}: {stderr}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains(SECRET), "--format {format} shows the key");
        assert!(
            !stderr.contains(SECRET),
            "--format {format}: stderr shows the key"
        );
    }
}

#[test]
fn without_provider_files_trakt_and_omdb_are_unknown() {
    let all = definitions(true);
    let builtin = definitions(false);
    let lines = generate(&all);
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), &lines);
    let want = expected(&builtin, &lines);

    let report = common::json_report(&[log.to_str().unwrap()]);
    assert_matches(&report, &want);

    // Every Trakt and OMDb record, with a host or without, is now `unknown`.
    let with = per_provider(&expected(&all, &lines));
    let without = per_provider(&want);
    let unknown = |s: &BTreeMap<String, [u64; 3]>| s.get("unknown").map_or(0, |n| n[0]);
    assert_eq!(
        unknown(&without),
        with["trakt"][0] + with["omdb"][0] + unknown(&with)
    );
    let groups = groups_of(&report);
    assert!(groups.keys().all(|k| k.0 != "trakt" && k.0 != "omdb"));
    // Judged by the generic HTTP table: OMDb's "Response":"False" under 200 passes.
    for (key, (_, flags)) in &groups {
        if key.0 == "unknown" && key.1 == 200 {
            assert!(!flags.failure && flags.in_table, "{key:?}: {flags:?}");
        }
    }
}
