//! The fuzz targets' smoke test, on the stable toolchain: every file of every target's
//! seed corpus (`fuzz/corpus/TARGET/`) and of its crash regressions
//! (`fuzz/regressions/TARGET/`, when there are any) through the target function. A
//! target without a corpus, a corpus without a target, or a harness without a target
//! fails.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Names of the entries of `dir` (files without their `.rs`), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let name = e.expect("a directory entry").file_name();
            let name = name.to_string_lossy();
            name.strip_suffix(".rs").unwrap_or(&name).to_owned()
        })
        .collect();
    out.sort();
    out
}

fn run(name: &str) {
    let (_, target) = errlens_fuzz::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no target {name}"));
    let corpus = files(&fuzz_dir().join("corpus").join(name));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{name}/ holds the target's seed corpus: it is missing or empty"
    );
    let regressions = files(&fuzz_dir().join("regressions").join(name));
    for file in corpus.iter().chain(&regressions) {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if let Err(panic) = std::panic::catch_unwind(|| target(&data)) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            panic!("{name} fails on {}: {msg}", file.display());
        }
    }
}

#[test]
fn shapes() {
    run("shapes");
}

#[test]
fn fast_vs_serde() {
    run("fast_vs_serde");
}

#[test]
fn audit_merge() {
    run("audit_merge");
}

#[test]
fn ingest_body() {
    run("ingest_body");
}

/// Every target has a harness, a corpus and a test here; nothing else has.
#[test]
fn targets_harnesses_and_corpora_match() {
    let mut targets: Vec<String> = errlens_fuzz::TARGETS
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    targets.sort();
    assert_eq!(
        names(&fuzz_dir().join("fuzz_targets")),
        targets,
        "harnesses"
    );
    assert_eq!(names(&fuzz_dir().join("corpus")), targets, "corpora");
    let tests = include_str!("corpus.rs");
    for t in &targets {
        assert!(
            tests.contains(&format!("run(\"{t}\")")),
            "tests/corpus.rs runs {t}"
        );
    }
}
