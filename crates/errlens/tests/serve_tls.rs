//! `errlens serve --web.config.file` (the Prometheus exporter-toolkit format): a real
//! Prometheus scrapes errlens over TLS with basic auth (its `tls_config` and
//! `basic_auth`); without credentials, with a wrong password and over plain HTTP every
//! endpoint is refused; client certificates are required when the file says so; a
//! rotated certificate is picked up while serving; an unusable file stops errlens with
//! exit code 2 and one line naming the file and the key.
//!
//! The CA, server and client certificates are made here (rcgen), the password hashes
//! too (bcrypt, cost 4).

mod common;

use base64::Engine as _;
use common::{record, Prometheus, Serve};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::Path;
use std::time::{Duration, Instant};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

const USER: &str = "prometheus";
const PASSWORD: &str = "scrape-secret";

/// A CA that signs server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf certificate and its key, as PEM.
    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "errlens test");
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Writes `server.crt` and `server.key` for localhost and 127.0.0.1 into `dir`.
    fn server_files(&self, dir: &Path) {
        let (cert, key) = self.leaf(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        std::fs::write(dir.join("server.crt"), cert).unwrap();
        std::fs::write(dir.join("server.key"), key).unwrap();
    }
}

/// An agent trusting `ca` only, with a client certificate if given; 4xx/5xx are
/// responses, not errors.
fn tls_agent(ca: &str, client: Option<&(String, String)>) -> ureq::Agent {
    let roots = RootCerts::new_with_certs(&[Certificate::from_pem(ca.as_bytes()).unwrap()]);
    let mut tls = TlsConfig::builder().root_certs(roots);
    if let Some((cert, key)) = client {
        tls = tls.client_cert(Some(ClientCert::new_with_certs(
            &[Certificate::from_pem(cert.as_bytes()).unwrap()],
            PrivateKey::from_pem(key.as_bytes()).unwrap(),
        )));
    }
    ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

/// GET `url`, with an Authorization header if given: (status, WWW-Authenticate, body),
/// or the transport error.
fn get(
    agent: &ureq::Agent,
    url: &str,
    authorization: Option<&str>,
) -> Result<(u16, String, String), ureq::Error> {
    let mut req = agent.get(url);
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    let mut r = req.call()?;
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    Ok((r.status().as_u16(), challenge, body))
}

fn write_web_config(dir: &Path, tls_extra: &str) -> String {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let path = dir.join("web.yml");
    // Relative paths: read from the file's directory, as the toolkit reads them.
    std::fs::write(
        &path,
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{tls_extra}\
             http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n\
             basic_auth_users:\n  {USER}: {hash}\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn prometheus_scrapes_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("errlens test CA");
    ca.server_files(dir.path());
    std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
    let web = write_web_config(dir.path(), "");
    let log = dir.path().join("api.log");
    let records = 300u64;
    let text: String = (0..records).map(|i| record(i) + "\n").collect();
    std::fs::write(&log, text).unwrap();

    let serve = Serve::start(&[
        "--web.config.file",
        &web,
        "--follow",
        log.to_str().unwrap(),
        "--from-start",
    ]);
    assert_eq!(serve.scheme, "https", "the start-up line names https");
    let base = format!("https://{}", serve.addr);
    let agent = tls_agent(&ca.pem(), None);
    let good = basic(USER, PASSWORD);

    // Every endpoint needs the credentials (as the toolkit protects every path).
    for path in ["/metrics", "/", "/healthz", "/ready", "/no-such-page"] {
        let (status, challenge, _) = get(&agent, &format!("{base}{path}"), None).unwrap();
        assert_eq!(status, 401, "{path} without credentials");
        assert_eq!(challenge, "Basic realm=\"errlens\"", "{path}");
    }
    for bad in [
        basic(USER, "wrong"),
        basic("nobody", PASSWORD),
        basic(USER, ""),
        "Basic !!!".to_owned(),
        "Bearer abc".to_owned(),
    ] {
        let (status, _, _) = get(&agent, &format!("{base}/metrics"), Some(&bad)).unwrap();
        assert_eq!(status, 401, "{bad}");
    }
    let r = agent
        .post(format!("{base}/ingest"))
        .header("Content-Type", "application/x-ndjson")
        .send(record(records) + "\n")
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "POST /ingest without credentials");

    // With them: the metrics, with the configured header; a cached check answers fast.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _, body) = get(&agent, &format!("{base}/metrics"), Some(&good)).unwrap();
        assert_eq!(status, 200);
        if common::metric_sum(&body, "errlens_requests_total") == records as f64 {
            break;
        }
        assert!(Instant::now() < deadline, "the log was not counted: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = agent
        .get(format!("{base}/healthz"))
        .header("Authorization", &good)
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
    let t = Instant::now();
    for _ in 0..20 {
        let (status, _, _) = get(&agent, &format!("{base}/healthz"), Some(&good)).unwrap();
        assert_eq!(status, 200);
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "20 authenticated requests took {:?}",
        t.elapsed()
    );

    // Plain HTTP to the TLS port: no metrics, a 400 saying why (as Go's servers answer).
    let mut r = common::agent()
        .get(format!("http://{}/metrics", serve.addr))
        .header("Authorization", &good)
        .call()
        .expect("a plain-HTTP reply");
    assert_eq!(r.status().as_u16(), 400);
    let body = r.body_mut().read_to_string().unwrap_or_default();
    assert!(body.contains("HTTP request to an HTTPS server"), "{body}");
    // A client that does not trust the CA does not get through.
    let stranger = tls_agent(&Ca::new("another CA").pem(), None);
    assert!(get(&stranger, &format!("{base}/metrics"), Some(&good)).is_err());

    // A real Prometheus, with its tls_config and basic_auth.
    let prom = Prometheus::start_with_job(
        &serve.addr,
        None,
        &format!(
            "    scheme: https\n    tls_config:\n      ca_file: '{}'\n    basic_auth:\n      username: {USER}\n      password: {PASSWORD}\n",
            dir.path().join("ca.crt").display()
        ),
    );
    let t = Duration::from_secs(30);
    assert_eq!(prom.wait_for("up{job=\"errlens\"}", 1.0, t), Some(1.0));
    assert_eq!(
        prom.wait_for("sum(errlens_requests_total)", records as f64, t),
        Some(records as f64)
    );
    drop(prom);
    serve.stop();
}

#[test]
fn prometheus_without_the_password_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("errlens test CA");
    ca.server_files(dir.path());
    std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
    let web = write_web_config(dir.path(), "");
    let serve = Serve::start(&["--web.config.file", &web]);
    let prom = Prometheus::start_with_job(
        &serve.addr,
        None,
        &format!(
            "    scheme: https\n    tls_config:\n      ca_file: '{}'\n    basic_auth:\n      username: {USER}\n      password: not-it\n",
            dir.path().join("ca.crt").display()
        ),
    );
    assert_eq!(
        prom.wait_for("up{job=\"errlens\"}", 0.0, Duration::from_secs(30)),
        Some(0.0)
    );
    let targets = common::agent()
        .get(format!("{}/api/v1/targets", prom.url))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        targets.contains("401"),
        "the scrape error names 401: {targets}"
    );
}

#[test]
fn client_certificates_and_certificate_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("errlens test CA");
    ca.server_files(dir.path());
    std::fs::write(dir.path().join("ca.crt"), ca.pem()).unwrap();
    let web = write_web_config(
        dir.path(),
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\n",
    );
    let serve = Serve::start(&["--web.config.file", &web]);
    let url = format!("https://{}/healthz", serve.addr);
    let good = basic(USER, PASSWORD);

    let client = ca.leaf(&["client.test"], ExtendedKeyUsagePurpose::ClientAuth);
    let (status, _, _) = get(&tls_agent(&ca.pem(), Some(&client)), &url, Some(&good)).unwrap();
    assert_eq!(status, 200, "a client certificate from the client CA");
    // Credentials are still needed with a certificate.
    let (status, _, _) = get(&tls_agent(&ca.pem(), Some(&client)), &url, None).unwrap();
    assert_eq!(status, 401);
    assert!(
        get(&tls_agent(&ca.pem(), None), &url, Some(&good)).is_err(),
        "no client certificate: refused"
    );
    let other = Ca::new("another CA").leaf(&["client.test"], ExtendedKeyUsagePurpose::ClientAuth);
    assert!(
        get(&tls_agent(&ca.pem(), Some(&other)), &url, Some(&good)).is_err(),
        "a client certificate from another CA: refused"
    );

    // Rotation: a new server certificate from a new CA is served once its files change.
    let next = Ca::new("next CA");
    next.server_files(dir.path());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = get(&tls_agent(&next.pem(), Some(&client)), &url, Some(&good));
        if matches!(r, Ok((200, _, _))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    serve.stop();
}

/// `errlens serve --web.config.file FILE`, which must fail at once: its stderr.
fn refused(file: &Path) -> String {
    let out = assert_cmd::Command::cargo_bin("errlens")
        .unwrap()
        .args(["serve", "--listen", "127.0.0.1:0", "--web.config.file"])
        .arg(file)
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    err
}

#[test]
fn an_unusable_web_config_stops_serve_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yml");
    for (text, says) in [
        (
            "tls_server_config:\n  cert_filse: server.crt\n",
            "tls_server_config: unknown field `cert_filse`",
        ),
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "tls_server_config.cert_file: reading",
        ),
        (
            "basic_auth_users:\n  john: doe\n",
            "basic_auth_users.john: not a bcrypt hash",
        ),
        (
            "http_server_config:\n  headers:\n    Server: errlens\n",
            "http_server_config.headers.Server",
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let err = refused(&file);
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(err.starts_with("errlens: --web.config.file "), "{err}");
    }
    let err = refused(&dir.path().join("absent.yml"));
    assert!(err.contains("No such file"), "{err}");
}
