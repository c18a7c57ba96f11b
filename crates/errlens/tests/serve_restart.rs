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
