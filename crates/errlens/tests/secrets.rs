//! No secret leaves errlens: a client id under `--redact-clients`, a Simkl PIN code in
//! a path, and tokens echoed into `error` appear in no report format, no summary, no
//! merge and no `/metrics` scrape.

mod common;

use assert_cmd::Command;
use common::Serve;
use std::time::Duration;

const CLIENT: &str = "c9f1e3a0client5ecret77";
const PIN: &str = "PINC0DE9";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV";
const BEARER: &str = "Bearer s3cr3tbearer";

fn log() -> String {
    let lines = [
        format!(
            r#"{{"ts":1795168800,"method":"GET","url":"https://api.simkl.com/oauth/pin/{PIN}?client_id={CLIENT}","status":400,"client_id":"{CLIENT}","error":"{TOKEN}"}}"#
        ),
        format!(
            r#"{{"ts":1795168801,"method":"GET","url":"https://api.simkl.com/oauth/pin/{PIN}","status":429,"client_id":"{CLIENT}","error":"{BEARER}","attempt":2}}"#
        ),
        format!(
            r#"{{"ts":1795168802,"method":"GET","url":"https://api.simkl.com/sync/activities","status":412,"client_id":"{CLIENT}","error":"client_id_failed"}}"#
        ),
    ];
    lines.join("\n") + "\n"
}

fn assert_clean(what: &str, text: &str) {
    for secret in [CLIENT, PIN, TOKEN, BEARER, "s3cr3tbearer"] {
        assert!(!text.contains(secret), "{what} shows {secret:?}:\n{text}");
    }
}

#[test]
fn no_secret_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.log");
    std::fs::write(&path, log()).unwrap();
    let file = path.to_str().unwrap();
    let summary = dir.path().join("s.json");
    for format in ["table", "json", "csv", "markdown"] {
        let out = Command::cargo_bin("errlens")
            .unwrap()
            .args([
                "report",
                "--redact-clients",
                "--format",
                format,
                "--top",
                "50",
                file,
            ])
            .args(["--emit-summary", summary.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert_clean(&format!("report --format {format}"), &text);
        assert_clean("stderr", &String::from_utf8_lossy(&out.stderr));
        assert_clean("summary", &std::fs::read_to_string(&summary).unwrap());
        let merged = Command::cargo_bin("errlens")
            .unwrap()
            .args(["merge", "--format", format, summary.to_str().unwrap()])
            .output()
            .unwrap();
        assert_clean(
            &format!("merge --format {format}"),
            &String::from_utf8_lossy(&merged.stdout),
        );
    }
    // The redacted report still counts what it counted, under the stable name.
    let out = Command::cargo_bin("errlens")
        .unwrap()
        .args(["report", "--redact-clients", "--format", "json", file])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["records"], 3);
    let text = r.to_string();
    assert!(text.contains("/oauth/pin/:code"), "{text}");
    assert!(
        text.contains("<invalid>") && text.contains("client_id_failed"),
        "{text}"
    );
    assert!(text.contains("client-"), "{text}");
    // Without --redact-clients the id is shown (it is the user's own log), but the
    // path code and the tokens still are not.
    let out = Command::cargo_bin("errlens")
        .unwrap()
        .args(["report", "--format", "json", file])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(CLIENT));
    for secret in [PIN, TOKEN, BEARER] {
        assert!(!text.contains(secret), "{secret}");
    }
}

#[test]
fn no_secret_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.log");
    std::fs::write(&path, log()).unwrap();
    let serve = Serve::start(&[
        "--follow",
        path.to_str().unwrap(),
        "--from-start",
        "--redact-clients",
        "--poll-interval",
        "20ms",
    ]);
    assert!(serve.wait_for("errlens_lines_total", 3.0, Duration::from_secs(10)));
    let (status, _) = serve.post("/ingest", log().as_bytes());
    assert_eq!(status, 200);
    let text = serve.metrics();
    assert!(text.contains("client-"), "{text}");
    assert_clean("/metrics", &text);
}
