//! Retry judgements on chains built by hand: each judgement, on-time retries, inferred
//! chains, and chain outcomes.

use errlens_audit::{AuditConfig, Auditor, Report, ReportOptions};
use serde_json::json;

/// One attempt: seconds after 10:00:00, method, provider host, status, extras.
fn line(t: f64, method: &str, url: &str, status: u16, extra: serde_json::Value) -> String {
    let mut o = json!({
        "ts": (1_795_168_800_000.0 + t * 1000.0).round() as i64,
        "method": method,
        "url": url,
        "status": status,
        "client_id": "app",
    });
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    o.to_string()
}

fn report(lines: &[String]) -> Report {
    let mut a = Auditor::new(AuditConfig::default());
    a.read("t", lines.join("\n").as_bytes()).unwrap();
    Report::from_summary(&a.finish(), &ReportOptions::default())
}

const TMDB: &str = "https://api.themoviedb.org/3/movie/0";
const SIMKL: &str = "https://api.simkl.com/sync/activities";
const HISTORY: &str = "https://api.simkl.com/sync/history";

#[test]
fn wasted_after_tmdb_44() {
    let r = report(&[
        line(
            0.0,
            "GET",
            TMDB,
            500,
            json!({"status_code": 44, "attempt": 1}),
        ),
        line(
            5.0,
            "GET",
            TMDB,
            500,
            json!({"status_code": 44, "attempt": 2}),
        ),
    ]);
    let x = &r.retries;
    assert_eq!(
        (x.counts.total, x.counts.wasted, x.counts.early, x.counts.ok),
        (1, 1, 0, 0)
    );
    assert_eq!((x.chains, x.recovered, x.abandoned), (1, 0, 1));
}

/// A daily quota (`user_limit_exceeded`) is not a rate limit to back off from: any
/// retry before the reset is wasted, however long the client waited.
#[test]
fn wasted_after_simkl_daily_quota() {
    let quota = |t: f64, attempt: u32| {
        line(
            t,
            "GET",
            SIMKL,
            429,
            json!({"error": "user_limit_exceeded", "code": 429, "attempt": attempt}),
        )
    };
    let r = report(&[quota(0.0, 1), quota(2.0, 2), quota(45.0, 3)]);
    let x = &r.retries;
    assert_eq!((x.counts.total, x.counts.wasted, x.counts.ok), (2, 2, 0));
    let g = r
        .groups
        .iter()
        .find(|g| g.error.as_deref() == Some("user_limit_exceeded"))
        .unwrap();
    assert_eq!(
        (g.retry.as_str(), g.retryable, g.in_table),
        ("never", false, true)
    );
    // Rate limited by the per-second limit instead: a late enough retry is fine.
    let rate = |t: f64, attempt: u32| {
        line(
            t,
            "GET",
            SIMKL,
            429,
            json!({"error": "rate_limit", "attempt": attempt}),
        )
    };
    let r = report(&[rate(0.0, 1), rate(2.0, 2)]);
    assert_eq!((r.retries.counts.wasted, r.retries.counts.ok), (0, 1));
}

/// Statuses outside Simkl's table are judged by the generic HTTP table (504 and
/// Cloudflare's 520-524 are retryable) and flagged `in_table: false`.
#[test]
fn simkl_statuses_outside_its_table() {
    let r = report(&[
        line(0.0, "GET", SIMKL, 504, json!({"attempt": 1})),
        line(2.0, "GET", SIMKL, 522, json!({"attempt": 2})),
        line(6.0, "GET", SIMKL, 200, json!({"attempt": 3})),
    ]);
    assert_eq!((r.retries.counts.wasted, r.retries.counts.ok), (0, 2));
    for g in r.groups.iter().filter(|g| g.status != 200) {
        assert!(!g.in_table && g.retryable, "{g:?}");
    }
}

/// A logged attempt of u32::MAX, then a retry without an attempt: the position
/// saturates instead of wrapping to 0 (a panic with overflow checks, a lost retry
/// without), and both retries are counted, over the limit.
#[test]
fn attempt_at_u32_max_does_not_overflow() {
    let r = report(&[
        line(0.0, "GET", SIMKL, 500, json!({"attempt": u32::MAX})),
        line(2.0, "GET", SIMKL, 500, json!({})),
    ]);
    let c = &r.retries.counts;
    assert_eq!((c.total, c.over_limit, c.unlinked), (2, 2, 1));
}

#[test]
fn wasted_after_simkl_412() {
    let r = report(&[
        line(
            0.0,
            "GET",
            SIMKL,
            412,
            json!({"error": "client_id_failed", "attempt": 1}),
        ),
        line(
            2.0,
            "GET",
            SIMKL,
            412,
            json!({"error": "client_id_failed", "attempt": 2}),
        ),
        line(
            10.0,
            "GET",
            SIMKL,
            412,
            json!({"error": "client_id_failed", "attempt": 3}),
        ),
    ]);
    assert_eq!((r.retries.counts.total, r.retries.counts.wasted), (2, 2));
    assert_eq!(r.retries.worst_clients[0].client_id, "app");
    assert_eq!(r.retries.worst_clients[0].retries.wasted, 2);
}

#[test]
fn early_after_429_with_retry_after_10() {
    let r = report(&[
        line(
            0.0,
            "GET",
            SIMKL,
            429,
            json!({"error": "rate_limit", "retry_after": 10, "attempt": 1}),
        ),
        // 3 s later: past the 1 s backoff but before Retry-After's 10 s.
        line(
            3.0,
            "GET",
            SIMKL,
            429,
            json!({"error": "rate_limit", "retry_after": 10, "attempt": 2}),
        ),
        // 10.5 s after that: honours both.
        line(13.5, "GET", SIMKL, 200, json!({"attempt": 3})),
    ]);
    let x = &r.retries;
    assert_eq!(
        (x.counts.total, x.counts.early, x.counts.wasted, x.counts.ok),
        (2, 1, 0, 1)
    );
    assert_eq!((x.chains, x.recovered, x.abandoned), (1, 1, 0));
}

#[test]
fn on_time_retries_are_not_flagged() {
    // 1, 2, 4, 8 s waits before attempts 2..5: exactly the schedule.
    let mut t = 0.0;
    let mut lines = vec![line(t, "GET", SIMKL, 503, json!({"attempt": 1}))];
    for (attempt, wait) in [(2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0)] {
        t += wait;
        let status = if attempt == 5 { 200 } else { 503 };
        lines.push(line(t, "GET", SIMKL, status, json!({"attempt": attempt})));
    }
    let x = report(&lines).retries;
    assert_eq!(
        (
            x.counts.total,
            x.counts.ok,
            x.counts.early,
            x.counts.wasted,
            x.counts.over_limit
        ),
        (4, 4, 0, 0, 0)
    );
    // One second short of the schedule before attempt 4 is early.
    lines[3] = line(1.0 + 2.0 + 3.0, "GET", SIMKL, 503, json!({"attempt": 4}));
    let x = report(&lines).retries;
    assert_eq!((x.counts.early, x.counts.ok), (1, 3));
}

#[test]
fn over_limit_beyond_attempt_6() {
    let mut lines = Vec::new();
    let mut t = 0.0;
    for attempt in 1..=8 {
        lines.push(line(
            t,
            "GET",
            TMDB,
            503,
            json!({"status_code": 46, "attempt": attempt}),
        ));
        t += 20.0;
    }
    let x = report(&lines).retries;
    assert_eq!(
        (
            x.counts.total,
            x.counts.over_limit,
            x.counts.early,
            x.counts.wasted
        ),
        (7, 2, 0, 0)
    );
    assert_eq!((x.chains, x.abandoned), (1, 1));
}

#[test]
fn post_after_simkl_429() {
    let r = report(&[
        line(
            0.0,
            "POST",
            HISTORY,
            429,
            json!({"error": "rate_limit", "attempt": 1}),
        ),
        line(30.0, "POST", HISTORY, 201, json!({"attempt": 2})),
        // A GET retried after a 429 is fine.
        line(
            40.0,
            "GET",
            SIMKL,
            429,
            json!({"error": "rate_limit", "attempt": 1}),
        ),
        line(50.0, "GET", SIMKL, 200, json!({"attempt": 2})),
    ]);
    let x = &r.retries;
    assert_eq!(
        (x.counts.total, x.counts.post_after_429, x.counts.ok),
        (2, 1, 1)
    );
}

#[test]
fn inferred_chains_without_attempt_field() {
    let r = report(&[
        line(0.0, "GET", SIMKL, 500, json!({})),
        line(0.5, "GET", SIMKL, 500, json!({})), // retry 1: early (< 1 s)
        line(3.0, "GET", SIMKL, 200, json!({})), // retry 2: on time (2 s)
        line(4.0, "GET", SIMKL, 200, json!({})), // after a success: a new request
        line(5.0, "GET", TMDB, 404, json!({"status_code": 34})),
        line(200.0, "GET", TMDB, 404, json!({"status_code": 34})), // beyond the 60 s window
        line(201.0, "GET", TMDB, 404, json!({"status_code": 34})), // retry: wasted, on time (1 s)
    ]);
    let x = &r.retries;
    assert_eq!(
        (x.counts.total, x.counts.early, x.counts.wasted, x.counts.ok),
        (3, 1, 1, 1)
    );
    assert_eq!((x.chains, x.recovered, x.abandoned), (2, 1, 1));
}

#[test]
fn retry_window_is_configurable() {
    let lines = [
        line(0.0, "GET", SIMKL, 500, json!({})),
        line(90.0, "GET", SIMKL, 500, json!({})),
    ];
    assert_eq!(report(&lines).retries.counts.total, 0);
    let mut a = Auditor::new(AuditConfig {
        retry_window_ms: 120_000,
        ..AuditConfig::default()
    });
    a.read("t", lines.join("\n").as_bytes()).unwrap();
    let r = Report::from_summary(&a.finish(), &ReportOptions::default());
    assert_eq!(r.retries.counts.total, 1);
}

#[test]
fn keys_separate_clients_methods_and_urls() {
    let r = report(&[
        line(0.0, "GET", SIMKL, 500, json!({})),
        line(1.0, "POST", SIMKL, 500, json!({})),
        line(2.0, "GET", HISTORY, 500, json!({})),
        line(3.0, "GET", SIMKL, 500, json!({"client_id": "other-app"})),
    ]);
    assert_eq!(r.retries.counts.total, 0);
}

#[test]
fn attempt_without_url_is_an_unlinked_retry() {
    let r = report(&[json!({"status": 429, "error": "rate_limit", "attempt": 9}).to_string()]);
    let x = &r.retries;
    assert_eq!(
        (x.counts.total, x.counts.unlinked, x.counts.over_limit),
        (1, 1, 1)
    );
}

#[test]
fn pressure_by_client_endpoint_and_minute() {
    let r = report(&[
        line(0.0, "GET", SIMKL, 429, json!({})),
        line(
            1.0,
            "GET",
            "https://api.simkl.com/tv/episodes/1",
            412,
            json!({}),
        ),
        line(
            61.0,
            "GET",
            "https://api.simkl.com/tv/episodes/2",
            429,
            json!({"client_id": "b"}),
        ),
        line(
            62.0,
            "GET",
            "https://api.simkl.com/tv/episodes/3",
            429,
            json!({"client_id": "b"}),
        ),
    ]);
    let p = &r.pressure;
    assert_eq!((p.rate_limited, p.client_id_failed), (3, 1));
    assert!((p.rate_limited_share - 0.75).abs() < 1e-9);
    let ep = p
        .by_endpoint
        .iter()
        .find(|e| e.key.endpoint == "/tv/episodes/:id")
        .unwrap();
    assert_eq!((ep.slice.requests, ep.slice.r429, ep.slice.r412), (3, 2, 1));
    assert_eq!(p.per_minute.len(), 2);
    let peak = p.peak_minute["429"].as_ref().unwrap();
    assert_eq!((peak.minute.as_str(), peak.count), ("2026-11-20T10:01Z", 2));
    let b = p.by_client.iter().find(|c| c.key.client_id == "b").unwrap();
    assert_eq!(b.slice.r429, 2);
}
