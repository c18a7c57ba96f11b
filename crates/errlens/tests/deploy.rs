//! The deployable units in `deploy/`: the systemd unit (systemd-analyze verify and
//! security; its command traced with strace against its own syscall filter), the
//! Dockerfile (hadolint), the Kubernetes sidecar (kubernetes-validate against the
//! Kubernetes schemas), the shipper recipes (parsed: no Collector, Vector or Fluent Bit
//! here), and every errlens command line they hold, run against the real binary with its
//! paths moved to a temporary directory.
//!
//! Tools: systemd-analyze and strace (Debian packages `systemd`, `strace`) and
//! target/deploy-venv (hadolint, kubernetes-validate, PyYAML), all installed by
//! scripts/test. A missing tool fails the test, it never skips it.

mod common;

use common::{agent, free_port, have, metric_sum, record};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy(file: &str) -> PathBuf {
    root().join("deploy").join(file)
}

fn read(file: &str) -> String {
    std::fs::read_to_string(deploy(file)).unwrap_or_else(|e| panic!("deploy/{file}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A tool of target/deploy-venv (made by scripts/test), or a failing test.
fn venv_tool(name: &str) -> PathBuf {
    let path = root().join("target/deploy-venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which creates target/deploy-venv \
         (hadolint, kubernetes-validate, PyYAML from PyPI)",
        path.display()
    );
    path
}

fn systemd_analyze() -> &'static str {
    assert!(
        have("systemd-analyze"),
        "`systemd-analyze` is not installed: run scripts/test, which installs it (Debian package `systemd`)"
    );
    "systemd-analyze"
}

fn strace() -> &'static str {
    assert!(
        have("strace"),
        "`strace` is not installed: run scripts/test, which installs it (Debian package `strace`)"
    );
    "strace"
}

/// A YAML file as JSON, read by PyYAML (safe_load) from target/deploy-venv.
fn yaml(path: &Path) -> Value {
    let out = Command::new(venv_tool("python"))
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", path.display(), text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

// --- systemd ---------------------------------------------------------------------------

/// (section, key, value) of every setting of a unit file, continuation lines joined.
fn unit_settings(unit: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending = String::new();
    for line in unit.lines() {
        let line = line.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        if full.starts_with('[') {
            section = full.trim_matches(['[', ']']).to_owned();
        } else if let Some((k, v)) = full.split_once('=') {
            out.push((section.clone(), k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

fn unit_value<'a>(settings: &'a [(String, String, String)], key: &str) -> Vec<&'a str> {
    settings
        .iter()
        .filter(|(_, k, _)| k == key)
        .map(|(_, _, v)| v.as_str())
        .collect()
}

/// A Go-style duration of errlens's flags or systemd's (`10s`, `500ms`, `1min`).
fn seconds(d: &str) -> f64 {
    let d = d.trim();
    let split = d
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(d.len());
    let n: f64 = d[..split]
        .parse()
        .unwrap_or_else(|_| panic!("duration {d:?}"));
    n * match &d[split..] {
        "" | "s" | "sec" => 1.0,
        "ms" | "msec" => 0.001,
        "m" | "min" => 60.0,
        other => panic!("unit {other:?} in {d:?}"),
    }
}

/// The unit with ExecStart's binary replaced by the one cargo built, written as
/// errlens.service into a temporary directory.
fn unit_for_test() -> (tempfile::TempDir, PathBuf) {
    let unit = read("systemd/errlens.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/errlens serve"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("errlens.service");
    std::fs::write(
        &path,
        unit.replace(
            "ExecStart=/usr/local/bin/errlens ",
            &format!("ExecStart={} ", env!("CARGO_BIN_EXE_errlens")),
        ),
    )
    .unwrap();
    (dir, path)
}

#[test]
fn systemd_unit_verifies_without_a_warning() {
    let (_dir, path) = unit_for_test();
    let out = Command::new(systemd_analyze())
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success() && text(&out).trim().is_empty(),
        "systemd-analyze verify deploy/systemd/errlens.service: {:?}\n{}",
        out.status,
        text(&out)
    );
    // The check is real: a misspelt setting is reported.
    let bad = path.with_file_name("errlens-bad.service");
    let unit = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&bad, unit.replace("ProtectHome=yes", "ProtectHomes=yes")).unwrap();
    let out = Command::new(systemd_analyze())
        .arg("verify")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(text(&out).contains("ProtectHomes"), "{}", text(&out));
}

#[test]
fn systemd_unit_is_hardened() {
    let (_dir, path) = unit_for_test();
    // systemd's own exposure score: 0 (locked down) to 10 (unsafe); 20 = 2.0.
    let out = Command::new(systemd_analyze())
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-analyze security: exposure above 2.0:\n{}",
        text(&out)
    );
    let s = unit_settings(&read("systemd/errlens.service"));
    for (key, want) in [
        ("DynamicUser", "yes"),
        ("StateDirectory", "errlens"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("Restart", "on-failure"),
        ("WantedBy", "multi-user.target"),
    ] {
        assert!(
            unit_value(&s, key).contains(&want),
            "{key}={want} missing: {:?}",
            unit_value(&s, key)
        );
    }
    let exec = unit_value(&s, "ExecStart")[0];
    let args: Vec<&str> = exec.split_whitespace().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| *a == name)
            .map(|i| args[i + 1])
            .unwrap_or_else(|| panic!("ExecStart has no {name}"))
    };
    assert_eq!(
        flag("--state-dir"),
        "/var/lib/errlens",
        "StateDirectory=errlens"
    );
    // The followed logs are read-only, whatever the glob.
    let follow_dir = Path::new(flag("--follow"))
        .parent()
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        unit_value(&s, "ReadOnlyPaths")
            .iter()
            .any(|p| p.trim_start_matches('-') == follow_dir),
        "ReadOnlyPaths= does not cover {follow_dir}"
    );
    // systemd must not kill errlens before it saved its checkpoint.
    let grace = args
        .iter()
        .position(|a| *a == "--shutdown-grace")
        .map_or(2.0, |i| seconds(args[i + 1]));
    let stop = seconds(unit_value(&s, "TimeoutStopSec")[0]);
    assert!(
        stop > seconds(flag("--shutdown-timeout")) + grace + 2.0,
        "TimeoutStopSec={stop}s leaves no room after --shutdown-timeout and --shutdown-grace"
    );
}

// --- the command lines, run for real ---------------------------------------------------

/// A child process killed (SIGKILL), with its own children (errlens under strace), and
/// waited for when dropped, e.g. by a failing assert.
struct Reaped(std::process::Child);

fn children(pid: u32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect()
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            for pid in children(self.0.id()) {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs `errlens ARGS` (a command line of a deploy file, paths moved into a temporary
/// directory): it must serve /healthz, count what it is given (3 lines appended to a
/// followed file, or POSTed to /ingest), and exit 0 within `stop_within` of SIGTERM.
/// With `trace`, it runs under `strace -f` writing there.
fn run_as_deployed(what: &str, args: &[String], stop_within: Duration, trace: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("log-app");
    let state = dir.path().join("lib-errlens");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let log = logs.join("api.jsonl");
    std::fs::write(&log, "").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.ends_with(":9477") {
                return addr.clone();
            }
            a.replace("/var/log/app", logs.to_str().unwrap())
                .replace("/var/lib/errlens", state.to_str().unwrap())
        })
        .collect();
    assert!(
        args.contains(&addr),
        "{what}: no --web.listen-address …:9477"
    );
    let mut command = match trace {
        None => Command::new(env!("CARGO_BIN_EXE_errlens")),
        Some(out) => {
            let mut c = Command::new(strace());
            c.args(["-f", "-qq", "-o"])
                .arg(out)
                .arg(env!("CARGO_BIN_EXE_errlens"));
            c
        }
    };
    let mut child = Reaped(
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let http = agent();
    let get = |path: &str| {
        http.get(format!("http://{addr}{path}"))
            .call()
            .ok()
            .map(|mut r| {
                (
                    r.status().as_u16(),
                    r.body_mut().read_to_string().unwrap_or_default(),
                )
            })
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while get("/healthz").map(|r| r.0) != Some(200) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).ok();
            panic!("{what}: errlens {args:?} exited with {status}:\n{err}");
        }
        assert!(Instant::now() < deadline, "{what}: /healthz never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    let lines: String = (0..3).map(|i| record(i) + "\n").collect();
    if args.iter().any(|a| a == "--follow") {
        // Ready after the first poll of the followed files (slow under strace).
        let deadline = Instant::now() + Duration::from_secs(15);
        while get("/ready").map(|r| r.0) != Some(200) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(get("/ready").map(|r| r.0), Some(200), "{what}: /ready");
        common::append(&log, &lines);
    } else {
        let status = http
            .post(format!("http://{addr}/ingest"))
            .header("Content-Type", "application/x-ndjson")
            .send(lines.as_bytes())
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200, "{what}: POST /ingest");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = get("/metrics").map(|r| r.1).unwrap_or_default();
        if metric_sum(&metrics, "errlens_lines_total") == 3.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: 3 lines not counted:\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGTERM to errlens itself (under strace, the tracer's child).
    let pid = match trace {
        None => child.id(),
        Some(_) => children(child.id())
            .first()
            .expect("strace's child")
            .parse()
            .unwrap(),
    };
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + stop_within;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("{what}: still running {stop_within:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{what}: exit status {status} after SIGTERM"
    );
    if args.iter().any(|a| a == "--state-dir") {
        assert!(
            std::fs::read_dir(&state).unwrap().next().is_some(),
            "{what}: nothing saved in --state-dir"
        );
    }
}

#[test]
fn systemd_exec_start_runs_as_written() {
    let s = unit_settings(&read("systemd/errlens.service"));
    let exec = unit_value(&s, "ExecStart")[0];
    assert!(
        !exec.contains(['"', '\'', '$']),
        "keep ExecStart literal: {exec}"
    );
    let args: Vec<String> = exec.split_whitespace().skip(1).map(String::from).collect();
    let stop = Duration::from_secs_f64(seconds(unit_value(&s, "TimeoutStopSec")[0]));
    run_as_deployed("deploy/systemd/errlens.service", &args, stop, None);
}

/// Every syscall of the named groups (`@system-service`), groups expanded, as
/// `systemd-analyze syscall-filter` lists them.
fn syscall_groups() -> BTreeMap<String, Vec<String>> {
    let out = Command::new(systemd_analyze())
        .arg("syscall-filter")
        .output()
        .unwrap();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with('@') {
            current = Some(line.trim().to_owned());
            groups.entry(line.trim().to_owned()).or_default();
        } else if line.trim_start().starts_with('#') {
            continue; // a group's description, or the list of ungrouped calls
        } else if line.starts_with("    ") {
            if let Some(g) = &current {
                groups.get_mut(g).unwrap().push(line.trim().to_owned());
            }
        } else {
            current = None;
        }
    }
    groups
}

fn expand(name: &str, groups: &BTreeMap<String, Vec<String>>, out: &mut Vec<String>) {
    match groups.get(name) {
        Some(members) => members.iter().for_each(|m| expand(m, groups, out)),
        None => out.push(name.to_owned()),
    }
}

/// The unit's sandbox lets errlens do what it does: every syscall errlens makes (traced
/// while it starts, follows a file, serves, saves its checkpoint and stops) passes
/// SystemCallFilter=, every socket is of a family RestrictAddressFamilies= allows, and no
/// memory is mapped writable and executable (MemoryDenyWriteExecute=).
#[test]
fn systemd_sandbox_allows_every_syscall_errlens_makes() {
    let s = unit_settings(&read("systemd/errlens.service"));
    let groups = syscall_groups();
    assert!(groups.contains_key("@system-service"), "{groups:?}");
    let (mut allowed, mut denied) = (Vec::new(), Vec::new());
    for filter in unit_value(&s, "SystemCallFilter") {
        let (list, names) = match filter.strip_prefix('~') {
            Some(rest) => (&mut denied, rest),
            None => (&mut allowed, filter),
        };
        names
            .split_whitespace()
            .for_each(|n| expand(n, &groups, list));
    }
    let families: Vec<&str> = unit_value(&s, "RestrictAddressFamilies")[0]
        .split_whitespace()
        .collect();

    let exec = unit_value(&s, "ExecStart")[0];
    let args: Vec<String> = exec.split_whitespace().skip(1).map(String::from).collect();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("strace.txt");
    let stop = Duration::from_secs_f64(seconds(unit_value(&s, "TimeoutStopSec")[0]));
    run_as_deployed("traced ExecStart", &args, stop, Some(&trace));

    let trace = std::fs::read_to_string(&trace).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for line in trace.lines() {
        // "PID name(args) = ...", "PID name(args <unfinished ...>", "PID <... name resumed>"
        let call = line
            .split_once(' ')
            .map_or("", |(_, rest)| rest.trim_start());
        let Some((name, rest)) = call.split_once('(') else {
            continue;
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            continue;
        }
        seen.insert(name.to_owned());
        if matches!(name, "socket" | "socketpair") {
            let family = rest.split([',', ')']).next().unwrap_or_default();
            if !families.contains(&family) {
                problems.push(format!("socket family {family}: {line}"));
            }
        }
        if matches!(name, "mmap" | "mprotect" | "pkey_mprotect")
            && rest.contains("PROT_WRITE")
            && rest.contains("PROT_EXEC")
        {
            problems.push(format!("writable and executable memory: {line}"));
        }
    }
    for name in &seen {
        if !allowed.contains(name) || denied.contains(name) {
            problems.push(format!(
                "syscall {name} is not allowed by SystemCallFilter="
            ));
        }
    }
    assert!(seen.len() > 20, "too few syscalls traced: {seen:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!("{} distinct syscalls, all allowed: {seen:?}", seen.len());
}

// --- Docker ----------------------------------------------------------------------------

/// A JSON-array instruction (`CMD ["serve", …]`) of the Dockerfile's last stage.
fn docker_exec_form(dockerfile: &str, instruction: &str) -> Vec<String> {
    let last_stage = dockerfile.rsplit("\nFROM ").next().unwrap();
    let line = last_stage
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("no {instruction} in the runtime stage"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{instruction} {line}: {e}"))
}

#[test]
fn dockerfile_lints_clean_and_has_the_essentials() {
    let out = Command::new(venv_tool("hadolint"))
        .arg("--no-color")
        .arg(deploy("Dockerfile"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && text(&out).trim().is_empty(),
        "hadolint deploy/Dockerfile:\n{}",
        text(&out)
    );
    let d = read("Dockerfile");
    let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms.len(),
        2,
        "a build stage and a runtime stage: {froms:?}"
    );
    assert!(froms[0].starts_with("FROM rust:") && froms[0].ends_with(" AS build"));
    assert!(froms[1].contains("-slim"), "{}", froms[1]);
    assert!(d.contains("cargo build --release --locked -p errlens"));
    assert!(d.contains("COPY --from=build "));
    let last_stage = d.rsplit("\nFROM ").next().unwrap();
    let user = last_stage
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("a numeric USER");
    assert!(uid >= 1000, "non-root, numeric USER: {user}");
    assert!(last_stage.lines().any(|l| l == "EXPOSE 9477"));
    assert_eq!(
        docker_exec_form(&d, "ENTRYPOINT"),
        ["/usr/local/bin/errlens"]
    );
    let cmd = docker_exec_form(&d, "CMD");
    assert_eq!(cmd[0], "serve");
    assert!(cmd
        .windows(2)
        .any(|w| w == ["--web.listen-address", "0.0.0.0:9477"]));
    // The build context's ignore file for this Dockerfile keeps target/ out.
    assert!(read("Dockerfile.dockerignore")
        .lines()
        .any(|l| l == "target/"));
}

#[test]
fn dockerfile_cmd_runs_as_written() {
    let cmd = docker_exec_form(&read("Dockerfile"), "CMD");
    // `docker stop` waits 10 s before SIGKILL.
    run_as_deployed("deploy/Dockerfile CMD", &cmd, Duration::from_secs(10), None);
}

/// The runtime stage has Debian's glibc and libgcc only: the binary must need no more.
#[test]
fn the_binary_needs_only_what_debian_slim_has() {
    let out = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_errlens"))
        .output()
        .unwrap();
    assert!(out.status.success(), "ldd: {}", text(&out));
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let lib = line.split_whitespace().next().unwrap_or_default();
        let known = [
            "linux-vdso",
            "libgcc_s",
            "libm.",
            "libc.",
            "ld-linux",
            "libdl.",
            "libpthread.",
            "librt.",
        ];
        assert!(
            known.iter().any(|k| lib.contains(k)),
            "errlens links {lib}, which debian-slim lacks: install it in deploy/Dockerfile"
        );
    }
}

// --- Kubernetes ------------------------------------------------------------------------

#[test]
fn kubernetes_sidecar_validates_against_the_schemas() {
    let file = deploy("kubernetes/sidecar.yaml");
    for version in [None, Some("1.29.0")] {
        let mut cmd = Command::new(venv_tool("kubernetes-validate"));
        cmd.arg("--strict");
        if let Some(v) = version {
            cmd.args(["-k", v]);
        }
        let out = cmd.arg(&file).output().unwrap();
        assert!(
            out.status.success() && text(&out).contains("passed"),
            "kubernetes-validate --strict {version:?}: {}",
            text(&out)
        );
    }
}

fn errlens_container(pod: &Value) -> &Value {
    pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "errlens")
        .expect("an errlens container")
}

#[test]
fn kubernetes_sidecar_has_the_essentials() {
    let d = yaml(&deploy("kubernetes/sidecar.yaml"));
    let template = &d["spec"]["template"];
    let a = &template["metadata"]["annotations"];
    assert_eq!(a["prometheus.io/scrape"], "true");
    assert_eq!(a["prometheus.io/port"], "9477");
    assert_eq!(a["prometheus.io/path"], "/metrics");
    let pod = &template["spec"];
    let e = errlens_container(pod);
    let args: Vec<&str> = e["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| *a == name)
            .map(|i| args[i + 1])
            .unwrap_or_else(|| panic!("no {name} in {args:?}"))
    };
    assert_eq!(args[0], "serve");
    assert_eq!(flag("--follow"), "/var/log/app/*.jsonl");
    assert_eq!(flag("--web.listen-address"), "0.0.0.0:9477");
    let state = flag("--state-dir");
    // The log volume is an emptyDir shared with the app, read-only for errlens.
    let mounts = |c: &Value| -> BTreeMap<String, (String, bool)> {
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["mountPath"].as_str().unwrap().to_owned(),
                    (
                        m["name"].as_str().unwrap().to_owned(),
                        m["readOnly"].as_bool().unwrap_or(false),
                    ),
                )
            })
            .collect()
    };
    let (log_volume, read_only) = &mounts(e)["/var/log/app"];
    assert!(read_only, "errlens mounts the logs read-only");
    let app = pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] != "errlens")
        .expect("an app container");
    assert_eq!(&mounts(app)["/var/log/app"].0, log_volume);
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| &v["name"] == log_volume)
        .unwrap();
    assert!(volume["emptyDir"].is_object(), "{volume}");
    assert!(
        mounts(e).contains_key(state),
        "--state-dir {state} is a volume"
    );
    // Probes, port, limits, non-root.
    assert_eq!(e["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(e["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(e["ports"][0]["containerPort"], 9477);
    for probe in ["livenessProbe", "readinessProbe"] {
        let port = &e[probe]["httpGet"]["port"];
        assert!(
            port == &e["ports"][0]["name"] || port == 9477,
            "{probe} port {port}"
        );
    }
    for r in ["cpu", "memory"] {
        assert!(e["resources"]["limits"][r].is_string(), "limits.{r}");
        assert!(e["resources"]["requests"][r].is_string(), "requests.{r}");
    }
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(e["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(e["securityContext"]["allowPrivilegeEscalation"], false);
}

#[test]
fn kubernetes_sidecar_args_run_as_written() {
    let d = yaml(&deploy("kubernetes/sidecar.yaml"));
    let pod = &d["spec"]["template"]["spec"];
    let args: Vec<String> = errlens_container(pod)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    run_as_deployed(
        "deploy/kubernetes/sidecar.yaml",
        &args,
        Duration::from_secs(grace),
        None,
    );
}

// --- shippers --------------------------------------------------------------------------

#[test]
fn vector_posts_ndjson_to_ingest() {
    let v: toml::Table = read("shippers/vector.toml").parse().unwrap();
    let sink = &v["sinks"]["errlens"];
    assert_eq!(sink["type"].as_str(), Some("http"));
    assert_eq!(sink["uri"].as_str(), Some("http://errlens:9477/ingest"));
    assert_eq!(sink["method"].as_str(), Some("post"));
    assert_eq!(sink["encoding"]["codec"].as_str(), Some("json"));
    assert_eq!(
        sink["framing"]["method"].as_str(),
        Some("newline_delimited")
    );
    assert_eq!(
        sink["request"]["headers"]["Content-Type"].as_str(),
        Some("application/x-ndjson")
    );
    // file source -> remap (the line's own JSON object) -> sink.
    let remap = &v["transforms"]["app_records"];
    assert_eq!(sink["inputs"][0].as_str(), Some("app_records"));
    assert_eq!(remap["type"].as_str(), Some("remap"));
    assert!(remap["source"].as_str().unwrap().contains("parse_json!"));
    let source_name = remap["inputs"][0].as_str().unwrap();
    let source = &v["sources"][source_name];
    assert_eq!(source["type"].as_str(), Some("file"));
    assert_eq!(source["include"][0].as_str(), Some("/var/log/app/*.jsonl"));
}

/// Fluent Bit's classic format: `[SECTION]` then `Key value` lines (keys case-insensitive).
fn fluent_bit(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut out: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_ascii_uppercase(), BTreeMap::new()));
        } else {
            let (k, v) = line.split_once(char::is_whitespace).expect("Key value");
            let section = &mut out.last_mut().expect("a setting before any [SECTION]").1;
            section.insert(k.to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

#[test]
fn fluent_bit_posts_json_lines_to_ingest() {
    let conf = fluent_bit(&read("shippers/fluent-bit.conf"));
    let section = |name: &str| {
        conf.iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("no [{name}]"))
    };
    let out = section("OUTPUT");
    assert_eq!(out["name"], "http");
    assert_eq!(out["host"], "errlens");
    assert_eq!(out["port"], "9477");
    assert_eq!(out["uri"], "/ingest");
    assert_eq!(out["format"], "json_lines");
    assert_eq!(out["json_date_key"], "false", "no added date key");
    let input = section("INPUT");
    assert_eq!(input["name"], "tail");
    assert_eq!(input["path"], "/var/log/app/*.jsonl");
    assert_eq!(out["match"], input["tag"]);
    // The input's parser exists, is JSON and keeps the record's own time field.
    let parsers_file = &section("SERVICE")["parsers_file"];
    let parsers = fluent_bit(&read(&format!("shippers/{parsers_file}")));
    let parser = parsers
        .iter()
        .map(|(_, s)| s)
        .find(|s| s["name"] == input["parser"])
        .expect("the tail input's parser is defined");
    assert_eq!(parser["format"], "json");
    assert!(!parser.contains_key("time_key"));
}

#[test]
fn otel_collector_exports_logs_to_v1_logs() {
    let c = yaml(&deploy("shippers/otel-collector.yaml"));
    let exporter = &c["exporters"]["otlphttp/errlens"];
    // otlphttp appends /v1/logs to `endpoint` for logs.
    assert_eq!(exporter["endpoint"], "http://errlens:9477");
    assert!(exporter.get("logs_endpoint").is_none());
    assert!(["proto", "json"].contains(&exporter["encoding"].as_str().unwrap()));
    let logs = &c["service"]["pipelines"]["logs"];
    assert_eq!(logs["exporters"], serde_json::json!(["otlphttp/errlens"]));
    for r in logs["receivers"].as_array().unwrap() {
        assert!(
            c["receivers"][r.as_str().unwrap()].is_object(),
            "receiver {r}"
        );
    }
    for p in logs["processors"].as_array().unwrap() {
        assert!(
            c["processors"][p.as_str().unwrap()].is_object(),
            "processor {p}"
        );
    }
}

/// What Vector and Fluent Bit send (gzip NDJSON as application/x-ndjson, a line that did
/// not parse as a wrapper object) is what the recipes say errlens does with it: the
/// records counted, the wrapper malformed, a 400 that neither shipper retries.
#[test]
fn errlens_counts_what_the_shippers_send() {
    assert!(have("gzip"), "`gzip` is not installed: run scripts/test");
    let serve = common::Serve::start(&[]);
    let mut body: String = (0..20).map(|i| record(i) + "\n").collect();
    body.push_str("{\"log\":\"not a JSON line\"}\n");
    let mut gz = Command::new("gzip")
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    gz.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let gzipped = gz.wait_with_output().unwrap().stdout;
    let status = agent()
        .post(format!("http://{}/ingest", serve.addr))
        .header("Content-Type", "application/x-ndjson")
        .header("Content-Encoding", "gzip")
        .send(&gzipped[..])
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 400, "a batch with a malformed line");
    let metrics = serve.metrics();
    let lines = |result: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("errlens_lines_total{{result=\"{result}\"}}")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert_eq!(
        (lines("record"), lines("malformed")),
        (20.0, 1.0),
        "{metrics}"
    );
}
