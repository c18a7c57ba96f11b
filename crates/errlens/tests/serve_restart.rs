//! Counters survive restarts: `errlens serve --state-dir` saves its counter values with
//! the file positions (one checkpoint, one instant) and restores them, so a scraper
//! never sees a counter go down, and after crashes (SIGKILL) and stops (SIGTERM) while
//! a writer appends, the final counters equal the truth exactly — nothing lost, nothing
//! counted twice. On SIGTERM, `/metrics` keeps answering for `--shutdown-grace` with
//! the final values, while `/ingest` answers 503.

mod common;

use common::{metric_sum, record, Serve};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Lines the writer appends: 30,000, or `ERRLENS_RESTART_LINES` (the acceptance run
/// uses 200,000).
fn lines() -> u64 {
    std::env::var("ERRLENS_RESTART_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000)
}

/// The metrics a scraper sees, by name: records, 429s, retries judged.
fn scrape(text: &str) -> [f64; 3] {
    let requests_429: f64 = text
        .lines()
        .filter(|l| l.starts_with("errlens_requests_total{") && l.contains("status=\"429\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    [
        text.lines()
            .find(|l| l.starts_with("errlens_lines_total{result=\"record\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0),
        requests_429,
        metric_sum(text, "errlens_request_duration_seconds_count"),
    ]
}

#[test]
fn counters_survive_kills_and_stops_exactly() {
    let total = lines();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.jsonl");
    let state = dir.path().join("state");
    std::fs::write(&log, "").unwrap();

    // The writer appends every line once, in small bursts, while errlens restarts.
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (log, written, done) = (log.clone(), written.clone(), done.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
            let mut i = 0;
            while i < total {
                let mut burst = String::new();
                for _ in 0..300.min(total - i) {
                    burst.push_str(&record(i));
                    burst.push('\n');
                    i += 1;
                }
                f.write_all(burst.as_bytes()).unwrap();
                written.store(i, Ordering::Release);
                std::thread::sleep(Duration::from_millis(30));
            }
            done.store(true, Ordering::Release);
        })
    };

    let args = [
        "--follow",
        log.to_str().unwrap(),
        "--from-start",
        "--state-dir",
        state.to_str().unwrap(),
        "--poll-interval",
        "20ms",
    ];
    let mut last = [0.0f64; 3];
    let mut scrapes = 0;
    let mut check = |text: &str, when: &str| {
        let now = scrape(text);
        for k in 0..3 {
            assert!(
                now[k] >= last[k],
                "a counter went down {when}: {last:?} then {now:?}"
            );
        }
        last = now;
        scrapes += 1;
    };
    // Five crashes and five stops, alternating, while the writer writes.
    for round in 0..10 {
        let serve = Serve::start(&args);
        for _ in 0..3 {
            check(&serve.metrics(), &format!("in round {round}"));
            std::thread::sleep(Duration::from_millis(60));
        }
        if round % 2 == 0 {
            serve.kill();
        } else {
            serve.stop();
        }
    }
    writer.join().unwrap();
    assert!(done.load(Ordering::Acquire));
    assert_eq!(written.load(Ordering::Acquire), total);

    // The last run reads the rest; its counters must equal the truth exactly.
    let serve = Serve::start(&args);
    let deadline = Instant::now() + Duration::from_secs(30);
    while scrape(&serve.metrics())[0] < total as f64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = serve.metrics();
    check(&text, "at the end");
    let truth_429 = (0..total).filter(|i| i % 6 == 3).count() as f64;
    assert_eq!(
        scrape(&text),
        [total as f64, truth_429, total as f64],
        "records, 429s and latency observations after 5 kills and 5 stops"
    );
    assert!(scrapes > 30);
}

#[test]
fn stopping_keeps_metrics_for_the_grace_period_and_refuses_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let serve = Serve::start(&[
        "--state-dir",
        state.to_str().unwrap(),
        "--shutdown-grace",
        "2s",
    ]);
    let body: String = (0..100).map(|i| record(i) + "\n").collect();
    assert_eq!(serve.post("/ingest", body.as_bytes()).0, 200);
    common::terminate(&serve.child);
    // During the grace period: the final values, and no new bodies.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(scrape(&serve.metrics())[0], 100.0);
    let (status, _) = serve.post("/ingest", body.as_bytes());
    assert_eq!(status, 503);
    let started = Instant::now();
    let (records, _, _) = serve.stop();
    assert_eq!(records, 100);
    assert!(started.elapsed() < Duration::from_secs(5));

    // /ingest counts were checkpointed too: a restart goes on from them.
    let again = Serve::start(&["--state-dir", state.to_str().unwrap()]);
    assert_eq!(scrape(&again.metrics())[0], 100.0);
    assert_eq!(again.post("/ingest", body.as_bytes()).0, 200);
    // With a state directory /metrics shows what is saved: one poll interval later.
    assert!(again.wait_for("errlens_lines_total", 200.0, Duration::from_secs(5)));
}

/// The checkpoint is written as the docs say, seen by strace on a real stop: the
/// temporary file is fsync'd, renamed over the state file, and the directory is
/// fsync'd after the rename (so a power loss leaves the old state or the new one).
#[test]
fn checkpoints_are_fsynced_then_renamed_then_the_directory_fsynced() {
    common::require_from("strace", "strace");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.jsonl");
    let state = dir.path().join("state");
    let trace = dir.path().join("trace");
    std::fs::write(&log, format!("{}\n{}\n", record(0), record(1))).unwrap();
    let status = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,fsync,fdatasync,rename,renameat,renameat2",
        ])
        .arg("-o")
        .arg(&trace)
        .args(["timeout", "--preserve-status", "-s", "TERM", "3"])
        .arg(assert_cmd::cargo::cargo_bin("errlens"))
        .arg("serve")
        .arg("--follow")
        .arg(&log)
        .arg("--from-start")
        .arg("--state-dir")
        .arg(&state)
        .args(["--listen", "127.0.0.1:0", "--shutdown-grace", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "errlens serve stops cleanly on SIGTERM"
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    // The syscalls after the pid, one per line.
    let calls: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, c)| c.trim_start()))
        .collect();
    let fd_of = |call: &str| -> Option<String> {
        call.rsplit_once("= ").map(|(_, fd)| fd.trim().to_owned())
    };
    let state_file = state.join("errlens-serve.state.json");
    let tmp = format!("{}.tmp", state_file.display());
    let rename = calls
        .iter()
        .rposition(|c| {
            c.starts_with("rename")
                && c.contains(&tmp)
                && c.contains(&format!("{}\"", state_file.display()))
        })
        .unwrap_or_else(|| panic!("no rename of the state file in:\n{text}"));
    // Before it: the temporary file opened and that fd fsync'd.
    let tmp_fd = calls[..rename]
        .iter()
        .rposition(|c| c.starts_with("openat") && c.contains(&format!("\"{tmp}\"")))
        .and_then(|i| fd_of(calls[i]))
        .expect("the temporary file is opened");
    assert!(
        calls[..rename]
            .iter()
            .any(|c| c.starts_with(&format!("fsync({tmp_fd})"))
                || c.starts_with(&format!("fdatasync({tmp_fd})"))),
        "the temporary file is fsync'd before the rename:\n{text}"
    );
    // After it: the directory opened and fsync'd.
    let dir_open = calls[rename..]
        .iter()
        .position(|c| c.starts_with("openat") && c.contains(&format!("\"{}\"", state.display())))
        .map(|i| rename + i)
        .expect("the state directory is opened after the rename");
    let dir_fd = fd_of(calls[dir_open]).unwrap();
    assert!(
        calls[dir_open..]
            .iter()
            .any(|c| c.starts_with(&format!("fsync({dir_fd})"))),
        "the directory is fsync'd after the rename:\n{text}"
    );
}
