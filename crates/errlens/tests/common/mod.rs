//! Shared helpers for the integration tests: `errlens report` as JSON, and `errlens
//! serve` (and Prometheus) as real processes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `errlens report ARGS --format json`, which must succeed, as JSON.
pub fn json_report(args: &[&str]) -> serde_json::Value {
    let out = assert_cmd::Command::cargo_bin("errlens")
        .unwrap()
        .arg("report")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An HTTP agent that returns 4xx/5xx responses instead of errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// A running `errlens serve`; stopped with SIGTERM when dropped.
pub struct Serve {
    pub child: Child,
    pub addr: String,
    /// `http`, or `https` with a `--web.config.file` that turns TLS on.
    pub scheme: String,
    stderr: mpsc::Receiver<String>,
}

impl Serve {
    /// Starts `errlens serve ARGS --listen 127.0.0.1:0` and waits for its address.
    // The child is owned by the returned `Serve`, whose `Drop` terminates and waits for
    // it; the lint cannot see through the move.
    #[allow(clippy::zombie_processes)]
    pub fn start(args: &[&str]) -> Serve {
        let bin = assert_cmd::cargo::cargo_bin("errlens");
        // Tests stop at once unless they ask for a grace period.
        let grace: &[&str] = if args.contains(&"--shutdown-grace") {
            &[]
        } else {
            &["--shutdown-grace", "0"]
        };
        let mut child = Command::new(bin)
            .arg("serve")
            .args(args)
            .args(grace)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("errlens serve starts");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("errlens serve prints its address");
            let Some(url) = line.strip_prefix("errlens: serving metrics on ") else {
                continue;
            };
            let (scheme, rest) = url.split_once("://").expect("a URL");
            return Serve {
                child,
                addr: rest.trim_end_matches("/metrics").to_owned(),
                scheme: scheme.to_owned(),
                stderr: rx,
            };
        }
    }

    /// GET a path, returning (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut r = agent()
            .get(format!("http://{}{path}", self.addr))
            .call()
            .expect("request");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    }

    /// POST a body to a path, returning (status, body).
    pub fn post(&self, path: &str, body: &[u8]) -> (u16, String) {
        let mut r = agent()
            .post(format!("http://{}{path}", self.addr))
            .send(body)
            .expect("request");
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    }

    /// The /metrics text.
    pub fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200);
        body
    }

    /// Sum of every series of `name` (with any labels) in the /metrics text.
    pub fn sum(&self, name: &str) -> f64 {
        metric_sum(&self.metrics(), name)
    }

    /// Waits until `sum(name) == want` (true) or the timeout passes (false).
    pub fn wait_for(&self, name: &str, want: f64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.sum(name) == want {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.sum(name) == want
    }

    /// Sends SIGTERM, waits for exit, and returns the totals it printed:
    /// (records, malformed, blank).
    pub fn stop(mut self) -> (u64, u64, u64) {
        terminate(&self.child);
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "errlens serve exits 0 on SIGTERM: {status}"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(line) = self
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if let Some(rest) = line.strip_prefix("errlens: stopped: ") {
                let n: Vec<u64> = rest
                    .split(", ")
                    .map(|p| p.split(' ').next().unwrap().parse().unwrap())
                    .collect();
                return (n[0], n[1], n[2]);
            }
        }
        panic!("no shutdown totals printed");
    }

    /// Kills the process with SIGKILL (no shutdown, no final checkpoint) and waits.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Resident memory of the process, KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            terminate(&self.child);
            let _ = self.child.wait();
        }
    }
}

/// Sends SIGTERM to a child (the shell's builtin `kill`: no procps needed).
pub fn terminate(child: &Child) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -TERM {}", child.id()))
        .status();
}

/// Sum of every sample of metric `name` in Prometheus text format.
pub fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A JSON-lines request record numbered `i` (unique first bytes, so every line differs).
pub fn record(i: u64) -> String {
    let status = [200, 200, 200, 429, 412, 500][(i % 6) as usize];
    format!(
        r#"{{"seq":{i},"ts":{},"method":"GET","url":"https://api.simkl.com/sync/activities/{}","status":{status},"client_id":"c{}","latency_ms":{}}}"#,
        1_795_168_800 + i,
        i % 50,
        i % 7,
        10 + i % 90
    )
}

/// Writes a generated log (`errlens gen`) of `lines` lines, with `garbage_per_mille`
/// malformed lines, to `path`.
pub fn gen_log(path: &Path, lines: u64, seed: u64, garbage_per_mille: u32) {
    assert_cmd::Command::cargo_bin("errlens")
        .unwrap()
        .arg("gen")
        .args(["--lines", &lines.to_string(), "--seed", &seed.to_string()])
        .args(["--garbage-per-mille", &garbage_per_mille.to_string(), "-o"])
        .arg(path)
        .assert()
        .success();
}

/// Whether a command is on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Fails the test with a clear message when a required tool is missing.
pub fn require(cmd: &str) {
    assert!(
        have(cmd),
        "`{cmd}` is not installed: run scripts/test, which installs it (Debian package `prometheus`)"
    );
}

/// Fails the test with a clear message when a required tool from another Debian
/// package than `prometheus` is missing.
pub fn require_from(cmd: &str, package: &str) {
    assert!(
        have(cmd),
        "`{cmd}` is not installed: run scripts/test, which installs it (Debian package `{package}`)"
    );
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Appends text to a file.
pub fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A Prometheus server on 127.0.0.1 with a temporary config and storage.
pub struct Prometheus {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second and waits until it is ready.
    pub fn start(target: &str) -> Prometheus {
        Self::start_with_rules(target, None)
    }

    /// Starts Prometheus scraping `target` every second, evaluating the rules file if
    /// given, and waits until it is ready.
    pub fn start_with_rules(target: &str, rules: Option<&Path>) -> Prometheus {
        Self::start_with_job(target, rules, "")
    }

    /// Starts Prometheus scraping `target` every second with more settings for the
    /// scrape job (YAML lines indented by 4, e.g. `    scheme: https\n`), evaluating the
    /// rules file if given, and waits until it is ready.
    pub fn start_with_job(target: &str, rules: Option<&Path>, job: &str) -> Prometheus {
        Self::start_with(target, rules, job, "", None)
    }

    /// As [`Prometheus::start_with_job`], with more top-level configuration (`extra`,
    /// YAML, e.g. an `alerting:` section) and, if given, history: OpenMetrics text
    /// (ending in `# EOF`, timestamps in seconds) written into the fresh storage with
    /// `promtool tsdb create-blocks-from openmetrics` before Prometheus starts — e.g. the
    /// past values of a recorded series that a rule's `offset` looks back at.
    pub fn start_with(
        target: &str,
        rules: Option<&Path>,
        job: &str,
        extra: &str,
        history: Option<&str>,
    ) -> Prometheus {
        require("prometheus");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        let rule_files = match rules {
            Some(r) => format!("rule_files:\n  - '{}'\n", r.display()),
            None => String::new(),
        };
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{rule_files}scrape_configs:\n  - job_name: errlens\n{job}    static_configs:\n      - targets: ['{target}']\n{extra}"
            ),
        )
        .unwrap();
        if let Some(history) = history {
            require("promtool");
            let file = dir.path().join("history.om");
            std::fs::write(&file, history).unwrap();
            let out = Command::new("promtool")
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(&file)
                .arg(dir.path().join("data"))
                .output()
                .expect("promtool runs");
            assert!(
                out.status.success(),
                "promtool tsdb create-blocks-from openmetrics: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        let url = format!("http://127.0.0.1:{port}");
        let p = Prometheus {
            child,
            url,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = agent()
                .get(format!("{}/-/ready", p.url))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if ok {
                return p;
            }
            assert!(Instant::now() < deadline, "prometheus did not become ready");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// GET an HTTP API path (`/api/v1/rules`) and return its `data`; panics unless
    /// Prometheus answers `success`.
    pub fn api(&self, path: &str) -> serde_json::Value {
        let mut r = agent()
            .get(format!("{}{path}", self.url))
            .call()
            .expect("request");
        let v: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(v["status"], "success", "{path}: {v}");
        v["data"].clone()
    }

    /// Evaluates an instant query: Ok(result samples) or Err(Prometheus' error).
    pub fn query_raw(&self, q: &str) -> Result<Vec<serde_json::Value>, String> {
        let mut r = agent()
            .get(format!("{}/api/v1/query", self.url))
            .query("query", q)
            .call()
            .expect("query");
        let v: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// Evaluates an instant query; returns the value of a single-sample result (None
    /// for an empty result).
    pub fn query(&self, q: &str) -> Option<f64> {
        let result = self.query_raw(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let sample = result.first()?;
        sample["value"][1].as_str().unwrap().parse().ok()
    }

    /// Waits until `q` returns `want`.
    pub fn wait_for(&self, q: &str, want: f64, timeout: Duration) -> Option<f64> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.query(q);
            if got == Some(want) || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        terminate(&self.child);
        let _ = self.child.wait();
    }
}
