//! The follower, driven poll by poll: partial lines, over-long lines, copytruncate with
//! the copy beside the file, and resuming from a checkpoint.

use errlens_exporter::checkpoint::Checkpoints;
use errlens_exporter::follow::{FollowConfig, Follower};
use errlens_exporter::metrics::{Metrics, DEFAULT_BUCKETS};
use errlens_exporter::pipeline::{Pipeline, PipelineConfig};
use errlens_parse::IngestConfig;
use prometheus::Registry;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

fn setup() -> (Metrics, Mutex<Pipeline>) {
    setup_capped(1 << 20)
}

fn setup_capped(max_line: usize) -> (Metrics, Mutex<Pipeline>) {
    let m = Metrics::register(
        &Registry::new(),
        &DEFAULT_BUCKETS,
        &errlens_classify::Registry::builtin_shared(),
    )
    .unwrap();
    let cfg = PipelineConfig {
        ingest: std::sync::Arc::new(IngestConfig {
            max_line,
            ..IngestConfig::default()
        }),
        ..PipelineConfig::default()
    };
    let p = Mutex::new(Pipeline::new(m.clone(), &cfg));
    (m, p)
}

fn cfg(path: &Path) -> FollowConfig {
    FollowConfig {
        patterns: vec![path.display().to_string()],
        from_start: true,
        poll: Duration::from_millis(10),
        follow_symlinks: false,
    }
}

fn lines(m: &Metrics, result: &str) -> u64 {
    m.lines.with_label_values(&[result]).get()
}

fn append(path: &Path, s: &str) {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(s.as_bytes())
        .unwrap();
}

const LINE: &str = r#"{"url":"https://api.simkl.com/x","status":200}"#;

/// A distinct line, as real log lines are (they carry timestamps).
fn line(i: u32) -> String {
    format!(r#"{{"ts":{i},"url":"https://api.simkl.com/x","status":200}}"#)
}

#[test]
fn partial_line_is_held_until_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(&log, &format!("{LINE}\n{}", &LINE[..10]));
    let (m, p) = setup();
    let mut f = Follower::new(cfg(&log), None).unwrap();
    f.poll(&p).unwrap();
    assert_eq!((lines(&m, "record"), lines(&m, "malformed")), (1, 0));
    append(&log, &format!("{}\n", &LINE[10..]));
    f.poll(&p).unwrap();
    assert_eq!((lines(&m, "record"), lines(&m, "malformed")), (2, 0));
}

#[test]
fn over_long_line_is_one_malformed_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    let (m, p) = setup_capped(100);
    let mut f = Follower::new(cfg(&log), None).unwrap();
    append(&log, &"x".repeat(80));
    f.poll(&p).unwrap();
    append(&log, &"x".repeat(80)); // now over the cap, no newline yet
    f.poll(&p).unwrap();
    append(&log, &format!("{}\n{LINE}\n", "x".repeat(500)));
    f.poll(&p).unwrap();
    assert_eq!((lines(&m, "record"), lines(&m, "malformed")), (1, 1));
}

#[test]
fn copytruncate_reads_the_unread_tail_from_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    let (m, p) = setup();
    let mut f = Follower::new(cfg(&log), None).unwrap();
    append(&log, &format!("{}\n", line(1)));
    f.poll(&p).unwrap();
    // Two more lines, then copytruncate before errlens polls again.
    append(&log, &format!("{}\n{}\n", line(2), line(3)));
    std::fs::copy(&log, dir.path().join("a.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, &format!("{}\n", line(4)));
    f.poll(&p).unwrap();
    assert_eq!(lines(&m, "record"), 4);
    assert_eq!(m.file_rotations.get(), 1);
}

#[test]
fn resumes_from_checkpoint_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    let state = dir.path().join("state");
    append(&log, &format!("{LINE}\n{LINE}\n"));
    {
        let (m, p) = setup();
        let mut f = Follower::new(cfg(&log), Some(Checkpoints::open(&state).unwrap())).unwrap();
        f.poll(&p).unwrap();
        assert_eq!(lines(&m, "record"), 2);
    }
    append(&log, &format!("{LINE}\n"));
    let (m, p) = setup();
    let mut f = Follower::new(cfg(&log), Some(Checkpoints::open(&state).unwrap())).unwrap();
    f.poll(&p).unwrap();
    assert_eq!(
        lines(&m, "record"),
        1,
        "only the line written while stopped"
    );
}

/// A glob does not lead out of its directory through a symbolic link (unless asked),
/// and a pattern that names no file is reported, then picked up when the file appears.
#[test]
fn globs_skip_links_and_missing_targets_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("other-app.log");
    append(&secret, &format!("{}\n", line(1)));
    std::os::unix::fs::symlink(&secret, dir.path().join("linked.log")).unwrap();
    append(
        &dir.path().join("a.log"),
        &format!("{}\n{}\n", line(2), line(3)),
    );
    let (m, p) = setup();
    let pattern = format!("{}/*.log", dir.path().display());
    let mut f = Follower::new(
        FollowConfig {
            patterns: vec![pattern.clone()],
            ..cfg(&dir.path().join("x"))
        },
        None,
    )
    .unwrap();
    f.poll(&p).unwrap();
    assert_eq!(lines(&m, "record"), 2, "the linked file is not read");
    assert_eq!(f.open_files(), 1);
    // With --follow-symlinks it is.
    let (m2, p2) = setup();
    let mut g = Follower::new(
        FollowConfig {
            patterns: vec![pattern],
            follow_symlinks: true,
            ..cfg(&dir.path().join("x"))
        },
        None,
    )
    .unwrap();
    g.poll(&p2).unwrap();
    assert_eq!(lines(&m2, "record"), 3);

    let missing = dir.path().join("later.log");
    let (m3, p3) = setup();
    let mut h = Follower::new(cfg(&missing), None).unwrap();
    h.poll(&p3).unwrap();
    assert_eq!(h.missing(), [missing.display().to_string()]);
    assert_eq!(m3.follow_targets_missing.get(), 1);
    append(&missing, &format!("{}\n", line(4)));
    h.poll(&p3).unwrap();
    assert!(h.missing().is_empty());
    assert_eq!(m3.follow_targets_missing.get(), 0);
    assert_eq!(lines(&m3, "record"), 1);
}

/// The live state is bounded whatever the logs hold: keys without timestamps are
/// capped, and a time from the far future is counted as suspicious rather than
/// freezing the clock or the last-record gauge.
#[test]
fn live_state_is_bounded() {
    let m = Metrics::register(
        &Registry::new(),
        &DEFAULT_BUCKETS,
        &errlens_classify::Registry::builtin_shared(),
    )
    .unwrap();
    let cfg = PipelineConfig {
        max_chain_keys: 5_000,
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::new(m.clone(), &cfg);
    let mut body = String::new();
    for i in 0..60_000 {
        body.push_str(&format!(
            "{{\"url\":\"https://api.simkl.com/x/{i}\",\"status\":500,\"client_id\":\"c\"}}\n"
        ));
    }
    let out = p.body(body.as_bytes(), 0);
    assert_eq!(out.records, 60_000);
    assert!(m.chain_keys.get() <= 5_000, "{}", m.chain_keys.get());
    let out = p.body(
        br#"{"ts":"9999-12-31T23:59:59Z","url":"https://api.simkl.com/y","status":200}"#,
        0,
    );
    assert_eq!(out.records, 1);
    assert_eq!(m.suspicious_timestamps.get(), 1);
    assert_eq!(m.last_record_timestamp.get(), 0.0);
    p.body(
        br#"{"ts":1795168800,"url":"https://api.simkl.com/y","status":200}"#,
        0,
    );
    assert_eq!(m.last_record_timestamp.get(), 1_795_168_800.0);
}

/// A glob over rotated files does not keep every one of them open: a file read to its
/// end and idle for `IDLE_CLOSE` is closed, and read on from its position if it grows.
#[test]
fn idle_rotated_files_are_released_and_reopened_when_they_grow() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    let (m, p) = setup();
    let mut f = Follower::new(cfg(&dir.path().join("api.log*")), None).unwrap();
    let mut n = 0u32;
    for i in 0..40 {
        for _ in 0..5 {
            append(&log, &(line(n) + "\n"));
            n += 1;
        }
        f.poll(&p).unwrap();
        std::fs::rename(&log, dir.path().join(format!("api.log.{i}"))).unwrap();
        append(&log, "");
    }
    f.poll(&p).unwrap();
    assert_eq!(lines(&m, "record"), u64::from(n));
    assert!(
        f.open_files() > 30,
        "all open while recent: {}",
        f.open_files()
    );
    // Idle past the limit: released (the one being written is idle too, and reopened
    // as soon as it grows).
    std::thread::sleep(errlens_exporter::follow::IDLE_CLOSE + Duration::from_millis(200));
    f.poll(&p).unwrap();
    f.poll(&p).unwrap();
    assert!(f.open_files() <= 1, "still open: {}", f.open_files());
    // A released file that grows is read on from its position, exactly once.
    append(&dir.path().join("api.log.3"), &(line(n) + "\n"));
    append(&log, &(line(n + 1) + "\n"));
    n += 2;
    f.poll(&p).unwrap();
    f.poll(&p).unwrap();
    assert_eq!(lines(&m, "record"), u64::from(n));
    assert_eq!(lines(&m, "malformed"), 0);
}
