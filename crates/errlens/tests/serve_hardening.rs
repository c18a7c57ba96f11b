//! `errlens serve` under operators' conditions: compressed `/ingest` bodies (as Vector
//! and Fluent Bit send them), decompression bombs, unknown encodings, a `--follow`
//! target that does not exist yet, the exporter conventions, a shutdown while clients
//! hold half-sent requests, slow and stalled clients (the connection cap, and the
//! read, header and body timeouts: stalled requests, slowloris heads, trickled bodies),
//! and requests a web page could send.

mod common;

use common::{agent, record, Serve};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// `data` through a system compressor (`gzip -c`, `zstd -c`).
fn compress(tool: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(["-c", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} is installed by scripts/test: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let owned = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&owned).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out.stdout
}

fn post_encoded(serve: &Serve, encoding: &str, body: Vec<u8>) -> (u16, String) {
    let mut r = agent()
        .post(format!("http://{}/ingest", serve.addr))
        .header("Content-Encoding", encoding)
        .send(body)
        .expect("request");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn compressed_ingest_bodies() {
    let serve = Serve::start(&["--max-body", "65536"]);
    let body: String = (0..200).map(|i| record(i) + "\n").collect();
    for tool in ["gzip", "zstd"] {
        let before = serve.sum("errlens_lines_total");
        let (status, reply) = post_encoded(&serve, tool, compress(tool, body.as_bytes()));
        assert_eq!(status, 200, "{tool}: {reply}");
        assert!(reply.contains("\"records\":200"), "{tool}: {reply}");
        assert_eq!(serve.sum("errlens_lines_total") - before, 200.0);
    }
    // A small body that inflates past the limit is refused whole.
    let bomb = compress("gzip", &vec![b'\n'; 1 << 20]);
    assert!(bomb.len() < 65536);
    let before = serve.sum("errlens_lines_total");
    let (status, _) = post_encoded(&serve, "gzip", bomb);
    assert_eq!(status, 413);
    assert_eq!(serve.sum("errlens_lines_total"), before);
    let (status, _) = post_encoded(&serve, "br", b"x".to_vec());
    assert_eq!(status, 415);
    let (status, _) = post_encoded(&serve, "gzip", b"not gzip at all".to_vec());
    assert_eq!(status, 400);
}

#[test]
fn missing_follow_target_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    let serve = Serve::start(&["--follow", log.to_str().unwrap(), "--poll-interval", "20ms"]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(serve.get("/ready").0, 503);
    assert_eq!(serve.sum("errlens_follow_targets_missing"), 1.0);
    std::fs::write(&log, format!("{}\n", record(1))).unwrap();
    assert!(serve.wait_for(
        "errlens_follow_targets_missing",
        0.0,
        Duration::from_secs(5)
    ));
    assert!(serve.wait_for("errlens_files_followed", 1.0, Duration::from_secs(5)));
    assert_eq!(serve.get("/ready").0, 200);
    // --ready-without-files: ready all the same.
    let other = Serve::start(&[
        "--follow",
        dir.path().join("none.log").to_str().unwrap(),
        "--ready-without-files",
        "--poll-interval",
        "20ms",
    ]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(other.get("/ready").0, 200);
}

/// Exporter conventions: `--web.listen-address`, a landing page at `/`, `process_*`
/// metrics and `errlens_build_info{version, commit}`.
#[test]
fn exporter_conventions() {
    let port = common::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("errlens"))
        .args(["serve", "--web.listen-address", &addr])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str| -> Option<(u16, String)> {
        let mut r = agent().get(format!("http://{addr}{path}")).call().ok()?;
        let status = r.status().as_u16();
        Some((status, r.body_mut().read_to_string().unwrap_or_default()))
    };
    let mut landing = None;
    for _ in 0..100 {
        landing = get("/");
        if landing.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, page) = landing.expect("serve answers on --web.listen-address");
    assert_eq!(status, 200);
    for link in ["href=\"metrics\"", "href=\"healthz\"", "href=\"ready\""] {
        assert!(page.contains(link), "{page}");
    }
    let (_, metrics) = get("/metrics").unwrap();
    assert!(
        metrics.contains("process_cpu_seconds_total"),
        "process metrics"
    );
    assert!(metrics.contains("process_resident_memory_bytes"));
    let info = metrics
        .lines()
        .find(|l| l.starts_with("errlens_build_info{"))
        .expect("build info");
    assert!(
        info.contains("version=\"") && info.contains("commit=\""),
        "{info}"
    );
    common::terminate(&child);
    let _ = child.wait();
}

/// SIGTERM while clients hold half-sent requests: serving stops at the shutdown
/// deadline, the followed file is read a last time, the checkpoint is written, and
/// errlens exits 0 with its totals.
#[test]
fn shutdown_has_a_deadline() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("api.log");
    std::fs::write(&log, format!("{}\n", record(1))).unwrap();
    let state = dir.path().join("state");
    let serve = Serve::start(&[
        "--follow",
        log.to_str().unwrap(),
        "--from-start",
        "--poll-interval",
        "20ms",
        "--state-dir",
        state.to_str().unwrap(),
        "--shutdown-timeout",
        "2s",
    ]);
    assert!(serve.wait_for("errlens_lines_total", 1.0, Duration::from_secs(5)));
    // 200 connections that never finish their request.
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut s = std::net::TcpStream::connect(&serve.addr).unwrap();
        s.write_all(b"POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{")
            .unwrap();
        held.push(s);
    }
    // Written after the last poll that could see it only if the final read happens.
    std::fs::write(&log, format!("{}\n{}\n", record(1), record(2))).unwrap();
    let started = std::time::Instant::now();
    let (records, _, _) = serve.stop();
    let took = started.elapsed();
    // The held connections kept it serving until the deadline, and no longer.
    assert!(
        took >= Duration::from_millis(1500),
        "stopped after {took:?}"
    );
    assert!(took < Duration::from_secs(8), "stopped after {took:?}");
    assert_eq!(records, 2);
    assert!(state.join("errlens-serve.state.json").exists());
    drop(held);
}

/// Stalled and excess connections: a client that stops in the middle of a request, or
/// holds an idle keep-alive connection, is cut after `--web.read-timeout`; past
/// `--web.max-connections` a client waits until a slot frees, and is then served.
#[test]
fn stalled_connections_are_cut_and_capped() {
    use std::io::{Read as _, Write as _};
    let serve = Serve::start(&["--web.max-connections", "3", "--web.read-timeout", "1s"]);
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = std::net::TcpStream::connect(&serve.addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .unwrap(); // no end
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(100));
    // A fourth client waits for a slot: the stalled ones are cut after 1 s.
    let started = std::time::Instant::now();
    let (status, body) = serve.get("/metrics");
    let waited = started.elapsed();
    assert_eq!(status, 200);
    assert!(body.contains("errlens_lines_total"));
    assert!(
        waited >= Duration::from_millis(700) && waited < Duration::from_secs(5),
        "served after {waited:?}"
    );
    // The stalled connections were closed by errlens.
    for mut s in held {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        let n = s.read_to_end(&mut buf).unwrap_or(0);
        assert!(
            n == 0 || !String::from_utf8_lossy(&buf).contains(" 200 "),
            "{buf:?}"
        );
    }
}

/// Browser pages and DNS rebinding: on a loopback address only loopback Host names are
/// answered; `/ingest` refuses the content types a page may send without asking;
/// `--no-ingest` removes it.
#[test]
fn ingest_is_guarded_against_web_pages() {
    use std::io::{Read as _, Write as _};
    let serve = Serve::start(&[]);
    let raw = |request: String| -> String {
        let mut s = std::net::TcpStream::connect(&serve.addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        reply
    };
    let get = |host: &str| {
        raw(format!(
            "GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ))
    };
    assert!(get("127.0.0.1:9477").starts_with("HTTP/1.1 200"));
    assert!(get("localhost").starts_with("HTTP/1.1 200"));
    assert!(get("[::1]:9477").starts_with("HTTP/1.1 200"));
    assert!(
        get("attacker.example:9477").starts_with("HTTP/1.1 421"),
        "DNS rebinding"
    );
    let body = record(1);
    let post = |ct: &str| {
        raw(format!(
            "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    assert!(post("text/plain").starts_with("HTTP/1.1 415"));
    assert!(post("application/x-www-form-urlencoded").starts_with("HTTP/1.1 415"));
    assert!(post("application/x-ndjson").starts_with("HTTP/1.1 200"));
    assert_eq!(
        serve.sum("errlens_lines_total"),
        1.0,
        "only the NDJSON body counted"
    );
    // An allow-list of one's own.
    let named = Serve::start(&["--allowed-host", "errlens.internal"]);
    let (status, _) = named.get("/metrics");
    assert_eq!(status, 421, "127.0.0.1 is not in the list");
    // No /ingest at all.
    let closed = Serve::start(&["--no-ingest"]);
    let (status, _) = closed.post("/ingest", body.as_bytes());
    assert!(status == 404 || status == 405, "{status}");
}

/// Sends `head` at once, then `drip` one byte every 300 ms (round and round), until
/// errlens closes the connection; returns how long that took from the first byte of
/// `drip`, and what errlens answered meanwhile (empty: it closed without a reply).
fn trickle(stream: &mut std::net::TcpStream, head: &[u8], drip: &[u8]) -> (Duration, String) {
    use std::io::{ErrorKind, Read as _, Write as _};
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    stream.write_all(head).unwrap();
    let started = std::time::Instant::now();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    for &b in drip.iter().cycle() {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "still open after {:?}",
            started.elapsed()
        );
        if stream.write_all(&[b]).is_err() {
            break;
        }
        // The read's timeout paces the drip.
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    (
        started.elapsed(),
        String::from_utf8_lossy(&reply).into_owned(),
    )
}

/// One request on a keep-alive connection, its reply read whole (`GET /healthz`: "ok").
fn healthz_on(stream: &mut std::net::TcpStream) -> String {
    use std::io::{Read as _, Write as _};
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while !reply.ends_with(b"\r\n\r\nok\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// `--web.header-timeout`: a request head trickled in a byte at a time (slowloris) is
/// cut after the header timeout although it never stalls long enough for
/// `--web.read-timeout`, on a new connection and on a keep-alive one (there counted
/// from the request's first byte: a keep-alive connection may sit idle between
/// requests longer than the header timeout). Scrapes are served throughout.
#[test]
fn slowloris_heads_are_cut_at_the_header_timeout() {
    let serve = Serve::start(&["--web.header-timeout", "1s", "--web.read-timeout", "30s"]);
    let addr = serve.addr.clone();
    let fresh = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        trickle(
            &mut s,
            b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
            b"a",
        )
    });
    let addr = serve.addr.clone();
    let kept = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let first = healthz_on(&mut s);
        // Idle for longer than the header timeout: still served.
        std::thread::sleep(Duration::from_millis(1500));
        let second = healthz_on(&mut s);
        let cut = trickle(
            &mut s,
            b"",
            b"GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa",
        );
        (first, second, cut)
    });
    // Scrapes while both trickle.
    std::thread::sleep(Duration::from_millis(500));
    let (status, body) = serve.get("/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("errlens_lines_total"));

    let (took, reply) = fresh.join().unwrap();
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "a new connection's trickled head was cut after {took:?}"
    );
    assert!(!reply.contains(" 200 "), "{reply}");
    let (first, second, (took, reply)) = kept.join().unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        second.starts_with("HTTP/1.1 200"),
        "an idle keep-alive connection is not cut by the header timeout: {second:?}"
    );
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "a keep-alive connection's trickled head was cut after {took:?}"
    );
    assert!(!reply.contains(" 200 "), "{reply}");
    assert_eq!(serve.get("/metrics").0, 200, "scrapes are served after");
}

/// `--web.body-timeout`: a request body trickled in a byte at a time gets 408 (or the
/// connection closed) once the body timeout passes, on `/ingest` and `/v1/logs`, and
/// none of its records is counted, although whole lines had arrived. Scrapes and
/// ingests are served throughout.
#[test]
fn trickled_bodies_time_out_uncounted() {
    let serve = Serve::start(&["--web.body-timeout", "1s", "--web.read-timeout", "30s"]);
    let post = |path: &str, content_type: &str, start: String| {
        let addr = serve.addr.clone();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n\
             Content-Length: 1000\r\n\r\n{start}"
        );
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            trickle(&mut s, head.as_bytes(), b"\n")
        })
    };
    let ingest = post(
        "/ingest",
        "application/x-ndjson",
        format!("{}\n{}\n", record(1), record(2)),
    );
    let otlp = post("/v1/logs", "application/json", "{\"resourceLogs\":[".into());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(serve.get("/metrics").0, 200, "scrapes are served meanwhile");
    for (name, trickled) in [("/ingest", ingest), ("/v1/logs", otlp)] {
        let (took, reply) = trickled.join().unwrap();
        assert!(
            took >= Duration::from_millis(700) && took < Duration::from_secs(3),
            "{name}: trickled body cut after {took:?}"
        );
        assert!(
            reply.is_empty() || reply.starts_with("HTTP/1.1 408"),
            "{name}: {reply}"
        );
    }
    assert_eq!(
        serve.sum("errlens_lines_total"),
        0.0,
        "nothing of a timed-out body is counted"
    );
    // A body sent whole is counted as ever.
    let (status, reply) = serve.post("/ingest", format!("{}\n", record(3)).as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(serve.sum("errlens_lines_total"), 1.0);
}
