//! `--web.config.file`: TLS, basic authentication, extra response headers and a rate
//! limit, in the file format of the Prometheus exporter toolkit
//! (`docs/web-configuration.md` in prometheus/exporter-toolkit), so the file an operator
//! already writes for node_exporter works here too.
//!
//! - `tls_server_config`: `cert_file`/`key_file` (or `cert`/`key` inline, PEM),
//!   `client_auth_type` (the toolkit's five values), `client_ca_file` (or `client_ca`),
//!   `min_version`/`max_version` (`TLS12`, `TLS13`), `cipher_suites` (TLS 1.2 suites
//!   rustls offers, by their Go/IANA names), `prefer_server_cipher_suites`,
//!   `curve_preferences` (`X25519`, `CurveP256`, `CurveP384`). TLS is on when a
//!   certificate, key, client CA or client auth type is set, as in the toolkit.
//!   `client_allowed_sans` is refused as unsupported.
//! - `basic_auth_users`: user → bcrypt hash; every endpoint then needs the credentials.
//!   A successful or failed check of (user, hash, password) is cached by its SHA-256
//!   digest (at most [`AUTH_CACHE_SIZE`] entries), so a scrape costs a bcrypt only once.
//! - `http_server_config`: `headers` (the toolkit's five security headers) and `http2`
//!   (accepted; errlens serves HTTP/1.1 only).
//! - `rate_limit`: `interval` and `burst` of a token bucket over all requests (429).
//!
//! Unknown keys are refused (the toolkit parses strictly too), and relative paths are
//! read from the file's directory. The file and the files it names are read at start;
//! while serving, a change to any of them (checked at most once a second, on a request
//! or a new connection) reloads them all, and a file that no longer loads is reported
//! on stderr while the previous settings stay in force.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// Checked (user, hash, password) outcomes kept, as the exporter toolkit keeps.
pub const AUTH_CACHE_SIZE: usize = 100;

/// How often the files are checked for changes, at most.
const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// The realm a 401 names.
const REALM: &str = "Basic realm=\"errlens\"";

/// A web configuration file that cannot be used: which file, which key, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfigError {
    /// The file.
    pub file: PathBuf,
    /// The key, as a dotted path (`tls_server_config.cert_file`); empty for the whole
    /// file.
    pub key: String,
    /// Why, on one line.
    pub message: String,
}

impl fmt::Display for WebConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.key, self.message)
        }
    }
}

impl std::error::Error for WebConfigError {}

// ---------------------------------------------------------------------------------------
// The file, as written.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    http_server_config: Option<HttpFile>,
    #[serde(default, deserialize_with = "unique_map")]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<RateLimitFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    /// Accepted, with no effect: errlens speaks HTTP/1.1 only.
    #[serde(default)]
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default, deserialize_with = "unique_map")]
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    #[serde(default)]
    interval: Option<GoDuration>,
    #[serde(default)]
    burst: Option<u32>,
}

/// A map of strings in which a key may appear once (as the toolkit's strict YAML
/// parsing has it), or null.
fn unique_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = Option<BTreeMap<String, String>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of strings")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = map.next_entry::<String, String>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("{k:?} is set twice")));
                }
                out.insert(k, v);
            }
            Ok(Some(out))
        }
    }
    d.deserialize_option(Unique)
}

/// A duration as the toolkit's YAML library reads one: a Go duration string (`1s`,
/// `250ms`, `1m30s`) or an integer of nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GoDuration {
    Nanos(u64),
    Text(String),
}

// ---------------------------------------------------------------------------------------
// The file, loaded.

/// Client certificate policy (`client_auth_type`), as Go's `tls.ClientAuthType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    NoClientCert,
    /// One is asked for, not required, not verified.
    RequestClientCert,
    /// One is required, not verified.
    RequireAnyClientCert,
    /// One is asked for and, if sent, verified against the client CA.
    VerifyClientCertIfGiven,
    /// One is required and verified against the client CA.
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(s: &str) -> Option<ClientAuth> {
        Some(match s {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            // The toolkit still reads the old name.
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            _ => return None,
        })
    }
}

impl fmt::Display for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A loaded web configuration file.
pub struct WebConfig {
    /// The TLS server settings, when TLS is on.
    tls: Option<Arc<rustls::ServerConfig>>,
    client_auth: ClientAuth,
    /// User → bcrypt hash.
    users: HashMap<String, String>,
    /// The highest cost among the hashes: an unknown user is checked against a hash of
    /// this cost, so a reply's timing does not tell which users exist.
    max_cost: u32,
    dummy_hash: OnceLock<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Token bucket: one token per interval, at most `burst`.
    rate_limit: Option<(Duration, u32)>,
    /// The file and the files it names, for change detection.
    watched: Vec<PathBuf>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No hashes in logs.
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("client_auth", &self.client_auth)
            .field("users", &self.users.len())
            .field("headers", &self.headers)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl WebConfig {
    /// Whether connections are TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tls.is_some()
    }

    /// The rustls server settings, when TLS is on.
    pub fn tls(&self) -> Option<&Arc<rustls::ServerConfig>> {
        self.tls.as_ref()
    }

    /// The client certificate policy.
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    /// How many basic-auth users there are (0: no authentication).
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// One line for the start-up log: what the file turns on.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.tls.is_some() {
            parts.push(format!("TLS (client certificates: {})", self.client_auth));
        } else {
            parts.push("no TLS".to_owned());
        }
        match self.users.len() {
            0 => parts.push("no basic auth".to_owned()),
            1 => parts.push("basic auth (1 user)".to_owned()),
            n => parts.push(format!("basic auth ({n} users)")),
        }
        if !self.headers.is_empty() {
            parts.push(format!("{} extra headers", self.headers.len()));
        }
        if let Some((interval, burst)) = self.rate_limit {
            parts.push(format!("rate limit 1 per {interval:?}, burst {burst}"));
        }
        parts.join(", ")
    }

    /// Reads and checks a web configuration file, with the certificates and keys it
    /// names.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let err = |key: &str, message: String| WebConfigError {
            file: path.to_owned(),
            key: key.to_owned(),
            message: one_line(&message),
        };
        let text = std::fs::read_to_string(path).map_err(|e| err("", e.to_string()))?;
        let file: FileConfig = if is_empty_yaml(&text) {
            FileConfig::default()
        } else {
            yaml_serde::from_str(&text).map_err(|e| err("", e.to_string()))?
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut watched = vec![path.to_owned()];

        let (tls, client_auth) = match &file.tls_server_config {
            Some(t) => tls_config(t, dir, &mut watched).map_err(|(k, m)| err(&k, m))?,
            None => (None, ClientAuth::NoClientCert),
        };

        let mut users = HashMap::new();
        let mut max_cost = 0;
        for (user, hash) in file.basic_auth_users.unwrap_or_default() {
            let key = format!("basic_auth_users.{user}");
            let parts: bcrypt::HashParts = hash.parse().map_err(|e| {
                err(
                    &key,
                    format!("not a bcrypt hash ({e}): write one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"),
                )
            })?;
            max_cost = max_cost.max(parts.get_cost());
            users.insert(user, hash);
        }

        let mut headers = Vec::new();
        if let Some(http) = &file.http_server_config {
            for (name, value) in http.headers.iter().flatten() {
                let key = format!("http_server_config.headers.{name}");
                if let Some(h) = extra_header(name, value).map_err(|m| err(&key, m))? {
                    headers.push(h);
                }
            }
        }

        let rate_limit = match &file.rate_limit {
            None => None,
            Some(r) => {
                let interval = match &r.interval {
                    None => Duration::ZERO,
                    Some(GoDuration::Nanos(n)) => Duration::from_nanos(*n),
                    Some(GoDuration::Text(s)) => parse_go_duration(s).ok_or_else(|| {
                        err(
                            "rate_limit.interval",
                            format!("{s:?} is not a duration (e.g. 1s, 250ms, 1m30s)"),
                        )
                    })?,
                };
                let burst = r.burst.unwrap_or(0);
                if interval.is_zero() {
                    None
                } else if burst == 0 {
                    return Err(err(
                        "rate_limit.burst",
                        "must be at least 1 when an interval is set (0 would refuse every request)"
                            .to_owned(),
                    ));
                } else {
                    Some((interval, burst))
                }
            }
        };

        Ok(WebConfig {
            tls,
            client_auth,
            users,
            max_cost,
            dummy_hash: OnceLock::new(),
            headers,
            rate_limit,
            watched,
        })
    }

    /// A hash no password is checked against successfully, of the users' highest cost.
    fn dummy_hash(&self) -> &str {
        self.dummy_hash.get_or_init(|| {
            // Any password: an unknown user is refused whatever the outcome.
            bcrypt::hash("errlens: no such user", self.max_cost.clamp(4, 31)).unwrap_or_default()
        })
    }
}

/// Whether a YAML text holds no document (blank or only comments): an empty web
/// configuration, which turns nothing on (as in the toolkit).
fn is_empty_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A path relative to the configuration file's directory.
fn resolve(dir: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_owned()
    } else {
        dir.join(p)
    }
}

fn set(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

type KeyError = (String, String);

fn kerr(key: &str, message: impl Into<String>) -> KeyError {
    (format!("tls_server_config.{key}"), message.into())
}

/// The PEM text of an inline value or a file (which is then watched for changes).
fn pem_source(
    inline: &Option<String>,
    inline_key: &str,
    file: &Option<String>,
    file_key: &str,
    dir: &Path,
    watched: &mut Vec<PathBuf>,
) -> Result<Option<(Vec<u8>, String)>, KeyError> {
    match (set(inline), set(file)) {
        (Some(_), Some(_)) => Err(kerr(
            file_key,
            format!("set {inline_key} or {file_key}, not both"),
        )),
        (Some(text), None) => Ok(Some((text.as_bytes().to_vec(), inline_key.to_owned()))),
        (None, Some(f)) => {
            let path = resolve(dir, f);
            let bytes = std::fs::read(&path)
                .map_err(|e| kerr(file_key, format!("reading {}: {e}", path.display())))?;
            watched.push(path);
            Ok(Some((bytes, file_key.to_owned())))
        }
        (None, None) => Ok(None),
    }
}

fn certificates(pem: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>, KeyError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| kerr(key, format!("not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(kerr(key, "no PEM CERTIFICATE block in it"));
    }
    Ok(certs)
}

/// A TLS version by its toolkit name, as its minor number (TLS12: 2).
fn tls_version(v: &Option<String>, key: &str) -> Result<Option<u8>, KeyError> {
    match set(v) {
        None => Ok(None),
        Some("TLS12") => Ok(Some(2)),
        Some("TLS13") => Ok(Some(3)),
        Some(old @ ("TLS10" | "TLS11")) => Err(kerr(
            key,
            format!("{old} is not offered: errlens speaks TLS12 and TLS13"),
        )),
        Some(other) => Err(kerr(
            key,
            format!("unknown TLS version {other:?} (TLS12 or TLS13)"),
        )),
    }
}

/// Whether the `tls_server_config` turns TLS on, as the toolkit decides it.
fn tls_enabled(t: &TlsFile) -> bool {
    [
        &t.cert_file,
        &t.cert,
        &t.key_file,
        &t.key,
        &t.client_ca_file,
        &t.client_ca,
        &t.client_auth_type,
    ]
    .into_iter()
    .any(|v| set(v).is_some())
}

/// The rustls server settings of a `tls_server_config` (None: TLS off).
fn tls_config(
    t: &TlsFile,
    dir: &Path,
    watched: &mut Vec<PathBuf>,
) -> Result<(Option<Arc<rustls::ServerConfig>>, ClientAuth), KeyError> {
    if t.client_allowed_sans
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(kerr(
            "client_allowed_sans",
            "is not supported by errlens: use a client CA that issues only the allowed clients' certificates",
        ));
    }
    if !tls_enabled(t) {
        return Ok((None, ClientAuth::NoClientCert));
    }
    let cert =
        pem_source(&t.cert, "cert", &t.cert_file, "cert_file", dir, watched)?.ok_or_else(|| {
            kerr(
                "cert_file",
                "missing: set cert_file (or cert) to turn TLS on",
            )
        })?;
    let key = pem_source(&t.key, "key", &t.key_file, "key_file", dir, watched)?
        .ok_or_else(|| kerr("key_file", "missing: set key_file (or key) with cert_file"))?;
    let chain = certificates(&cert.0, &cert.1)?;
    let private = PrivateKeyDer::from_pem_slice(&key.0)
        .map_err(|e| kerr(&key.1, format!("no PEM private key in it: {e}")))?;

    let auth_name = set(&t.client_auth_type).unwrap_or("NoClientCert");
    let client_auth = ClientAuth::parse(auth_name).ok_or_else(|| {
        kerr(
            "client_auth_type",
            format!("unknown {auth_name:?}: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"),
        )
    })?;
    let ca = pem_source(
        &t.client_ca,
        "client_ca",
        &t.client_ca_file,
        "client_ca_file",
        dir,
        watched,
    )?;

    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = &t.cipher_suites {
        provider.cipher_suites = cipher_suites(&provider.cipher_suites, names)?;
    }
    if let Some(names) = &t.curve_preferences {
        provider.kx_groups = curves(&provider.kx_groups, names)?;
    }
    let provider = Arc::new(provider);

    let min = tls_version(&t.min_version, "min_version")?.unwrap_or(2);
    let max = tls_version(&t.max_version, "max_version")?.unwrap_or(3);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(2, &rustls::version::TLS12), (3, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(minor, _)| (min..=max).contains(minor))
            .map(|(_, v)| v)
            .collect();
    if versions.is_empty() {
        return Err(kerr(
            "min_version",
            "is above max_version: no TLS version is left",
        ));
    }
    let roots = match &ca {
        None => None,
        Some((pem, key)) => {
            let mut store = rustls::RootCertStore::empty();
            for c in certificates(pem, key)? {
                store
                    .add(c)
                    .map_err(|e| kerr(key, format!("not a usable CA certificate: {e}")))?;
            }
            Some(Arc::new(store))
        }
    };
    let verifier: Arc<dyn rustls::server::danger::ClientCertVerifier> = match client_auth {
        ClientAuth::NoClientCert => {
            if let Some((_, key)) = &ca {
                return Err(kerr(
                    key,
                    "a client CA is set but client_auth_type is NoClientCert: set client_auth_type: RequireAndVerifyClientCert",
                ));
            }
            rustls::server::WebPkiClientVerifier::no_client_auth()
        }
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            Arc::new(crate::tls::AnyClientCert::new(
                client_auth == ClientAuth::RequireAnyClientCert,
                provider.signature_verification_algorithms,
            ))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let roots = roots.ok_or_else(|| {
                kerr(
                    "client_ca_file",
                    format!("missing: client_auth_type {client_auth} verifies client certificates against it"),
                )
            })?;
            let mut b = rustls::server::WebPkiClientVerifier::builder_with_provider(
                roots,
                provider.clone(),
            );
            if client_auth == ClientAuth::VerifyClientCertIfGiven {
                b = b.allow_unauthenticated();
            }
            b.build()
                .map_err(|e| kerr("client_ca_file", format!("{e}")))?
        }
    };

    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| kerr("min_version", e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, private)
        .map_err(|e| {
            kerr(
                &key.1,
                format!(
                    "the key does not go with the certificate in {}: {e}",
                    cert.1
                ),
            )
        })?;
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    // HTTP/1.1 only (what the server speaks).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Some(Arc::new(config)), client_auth))
}

/// The provider's suites limited to the named TLS 1.2 ones, in the given order (TLS 1.3
/// suites are not configurable, as in Go, and are all kept, first).
fn cipher_suites(
    offered: &[rustls::SupportedCipherSuite],
    names: &[String],
) -> Result<Vec<rustls::SupportedCipherSuite>, KeyError> {
    let name_of = |s: &rustls::SupportedCipherSuite| s.suite().as_str().unwrap_or("").to_owned();
    let mut out: Vec<_> = offered
        .iter()
        .filter(|s| s.version() == &rustls::version::TLS13)
        .copied()
        .collect();
    for name in names {
        // Go also names the ChaCha20 suites without their hash.
        let full = if name.ends_with("CHACHA20_POLY1305") {
            format!("{name}_SHA256")
        } else {
            name.clone()
        };
        let Some(suite) = offered.iter().find(|s| name_of(s) == full) else {
            let known: Vec<String> = offered
                .iter()
                .filter(|s| s.version() == &rustls::version::TLS12)
                .map(name_of)
                .collect();
            return Err(kerr(
                "cipher_suites",
                format!(
                    "{name} is not offered (errlens offers {})",
                    known.join(", ")
                ),
            ));
        };
        if !out.iter().any(|s| name_of(s) == full) {
            out.push(*suite);
        }
    }
    Ok(out)
}

/// The provider's key-exchange groups limited to the named curves, in the given order.
fn curves(
    offered: &[&'static dyn rustls::crypto::SupportedKxGroup],
    names: &[String],
) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, KeyError> {
    let mut out = Vec::new();
    for name in names {
        let group = match name.as_str() {
            "X25519" => rustls::NamedGroup::X25519,
            "CurveP256" => rustls::NamedGroup::secp256r1,
            "CurveP384" => rustls::NamedGroup::secp384r1,
            "CurveP521" => {
                return Err(kerr(
                    "curve_preferences",
                    "CurveP521 is not offered (errlens offers X25519, CurveP256, CurveP384)",
                ))
            }
            other => {
                return Err(kerr(
                    "curve_preferences",
                    format!("unknown curve {other:?} (X25519, CurveP256, CurveP384)"),
                ))
            }
        };
        if let Some(g) = offered.iter().find(|g| g.name() == group) {
            if !out
                .iter()
                .any(|o: &&dyn rustls::crypto::SupportedKxGroup| o.name() == group)
            {
                out.push(*g);
            }
        }
    }
    if out.is_empty() {
        return Err(kerr("curve_preferences", "no curve left"));
    }
    Ok(out)
}

/// The response headers `http_server_config.headers` may set, with the values allowed
/// (empty: any), as in the toolkit. A blank value leaves the header unset.
const EXTRA_HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

fn extra_header(name: &str, value: &str) -> Result<Option<(HeaderName, HeaderValue)>, String> {
    let Some((canonical, allowed)) = EXTRA_HEADERS.iter().find(|(h, _)| *h == name) else {
        let names: Vec<&str> = EXTRA_HEADERS.iter().map(|(h, _)| *h).collect();
        return Err(format!(
            "this header cannot be configured (only {})",
            names.join(", ")
        ));
    };
    if value.is_empty() {
        return Ok(None);
    }
    if !allowed.is_empty() && !allowed.contains(&value) {
        return Err(format!(
            "{value:?} is not allowed (one of {})",
            allowed.join(", ")
        ));
    }
    let value =
        HeaderValue::from_str(value).map_err(|_| format!("{value:?} is not a header value"))?;
    let name = HeaderName::from_bytes(canonical.as_bytes()).expect("a valid header name");
    Ok(Some((name, value)))
}

/// A Go duration: `300ms`, `1.5h`, `2h45m` (units ns, us, µs, ms, s, m, h), or `0`.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

// ---------------------------------------------------------------------------------------
// The configuration in force while serving.

type Stamp = Option<(SystemTime, u64)>;

fn stamps(paths: &[PathBuf]) -> Vec<Stamp> {
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

struct Reload {
    checked: Instant,
    stamps: Vec<Stamp>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The web configuration in force: the file as last loaded, reloaded when it or a file
/// it names changes, with the basic-auth cache and the rate limiter.
pub struct Web {
    path: PathBuf,
    current: RwLock<Arc<WebConfig>>,
    reload: Mutex<Reload>,
    /// SHA-256 of (user, hash, password) → whether the password was right.
    cache: Mutex<HashMap<[u8; 32], bool>>,
    /// One bcrypt at a time: it is slow by design (and the runtime has 2 workers);
    /// requests wait for their turn without holding a thread.
    bcrypt: tokio::sync::Semaphore,
    bucket: Mutex<Option<Bucket>>,
}

impl fmt::Debug for Web {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Web")
            .field("path", &self.path)
            .field("current", &*self.config())
            .finish()
    }
}

impl Web {
    /// Loads the file (see [`WebConfig::load`]).
    pub fn open(path: &Path) -> Result<Web, WebConfigError> {
        let config = WebConfig::load(path)?;
        let stamps = stamps(&config.watched);
        Ok(Web {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(config)),
            reload: Mutex::new(Reload {
                checked: Instant::now(),
                stamps,
            }),
            cache: Mutex::new(HashMap::new()),
            bcrypt: tokio::sync::Semaphore::new(1),
            bucket: Mutex::new(None),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration as last loaded, without looking for changes.
    pub fn config(&self) -> Arc<WebConfig> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The configuration in force, reloaded first if a file changed since the last look
    /// (at most once a second).
    pub fn current(&self) -> Arc<WebConfig> {
        self.maybe_reload();
        self.config()
    }

    fn maybe_reload(&self) {
        // Another thread is looking already: use what is in force.
        let Ok(mut reload) = self.reload.try_lock() else {
            return;
        };
        if reload.checked.elapsed() < RELOAD_CHECK {
            return;
        }
        reload.checked = Instant::now();
        let old = self.config();
        let now = stamps(&old.watched);
        if now == reload.stamps {
            return;
        }
        reload.stamps = now;
        match WebConfig::load(&self.path) {
            Ok(new) if new.tls_enabled() != old.tls_enabled() => eprintln!(
                "errlens: web config {}: TLS cannot be turned {} while serving (restart errlens): keeping the previous settings",
                self.path.display(),
                if new.tls_enabled() { "on" } else { "off" }
            ),
            Ok(new) => {
                reload.stamps = stamps(&new.watched);
                if new.rate_limit != old.rate_limit {
                    *self.bucket.lock().unwrap_or_else(|e| e.into_inner()) = None;
                }
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(new);
                eprintln!("errlens: web config {}: reloaded", self.path.display());
            }
            Err(e) => eprintln!("errlens: web config {e}: keeping the previous settings"),
        }
    }

    /// Whether the rate limit lets one more request through now.
    fn allow(&self, config: &WebConfig) -> bool {
        let Some((interval, burst)) = config.rate_limit else {
            return true;
        };
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let b = bucket.get_or_insert(Bucket {
            tokens: f64::from(burst),
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() / interval.as_secs_f64();
        b.tokens = (b.tokens + refill).min(f64::from(burst));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the request's basic-auth credentials name a user and their password.
    pub async fn authorized(
        self: &Arc<Self>,
        config: &Arc<WebConfig>,
        headers: &HeaderMap,
    ) -> bool {
        let Some((user, password)) = basic_credentials(headers) else {
            return false;
        };
        let hash = config.users.get(&user).cloned();
        let known = hash.is_some();
        let key = {
            let mut h = Sha256::new();
            for part in [
                user.as_bytes(),
                hash.as_deref().unwrap_or("").as_bytes(),
                &password,
            ] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part);
            }
            <[u8; 32]>::from(h.finalize())
        };
        let cached = |web: &Web| {
            web.cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .copied()
        };
        if let Some(ok) = cached(self) {
            return ok && known;
        }
        let Ok(_turn) = self.bcrypt.acquire().await else {
            return false;
        };
        // The same credentials may have been checked while this request waited.
        if let Some(ok) = cached(self) {
            return ok && known;
        }
        let config = config.clone();
        let ok = tokio::task::spawn_blocking(move || {
            match &hash {
                Some(hash) => bcrypt::verify(&password, hash).unwrap_or(false),
                // An unknown user costs as much as a known one.
                None => {
                    let _ = bcrypt::verify(&password, config.dummy_hash());
                    false
                }
            }
        })
        .await
        .unwrap_or(false);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= AUTH_CACHE_SIZE {
            if let Some(evict) = cache.keys().next().copied() {
                cache.remove(&evict);
            }
        }
        cache.insert(key, ok);
        ok && known
    }
}

/// The user and password of an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, Vec<u8>)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// The middleware every request passes first: the rate limit (429), basic
/// authentication (401 with `WWW-Authenticate`), then the extra headers on every
/// response.
pub async fn guard(
    web: Arc<Web>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let config = web.current();
    let mut response = if !web.allow(&config) {
        (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response()
    } else if !config.users.is_empty() && !web.authorized(&config, req.headers()).await {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, REALM)],
            "Unauthorized\n",
        )
            .into_response()
    } else {
        next.run(req).await
    };
    for (name, value) in &config.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A self-signed certificate and its key, as PEM, written to `dir`.
    fn cert_files(dir: &Path) {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        write(dir, "server.crt", &c.cert.pem());
        write(dir, "server.key", &c.signing_key.serialize_pem());
    }

    fn load(dir: &Path, text: &str) -> Result<WebConfig, WebConfigError> {
        WebConfig::load(&write(dir, "web.yml", text))
    }

    // bcrypt of "secret", cost 4.
    fn hash() -> String {
        bcrypt::hash("secret", 4).unwrap()
    }

    #[test]
    fn a_good_file_turns_on_tls_auth_and_headers() {
        let dir = tempfile::tempdir().unwrap();
        cert_files(dir.path());
        let c = load(
            dir.path(),
            &format!(
                "# as node_exporter reads it\ntls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\n  max_version: TLS13\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305]\n  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: true\nhttp_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: ''\nbasic_auth_users:\n  prometheus: {}\nrate_limit:\n  interval: 100ms\n  burst: 10\n",
                hash()
            ),
        )
        .unwrap();
        assert!(c.tls_enabled());
        assert_eq!(c.client_auth(), ClientAuth::NoClientCert);
        assert_eq!(c.users(), 1);
        assert_eq!(c.headers.len(), 3, "a blank header is unset");
        assert_eq!(c.rate_limit, Some((Duration::from_millis(100), 10)));
        assert_eq!(c.watched.len(), 3, "the file, the certificate and the key");
        let tls = c.tls().unwrap();
        assert!(tls.ignore_client_order);
        assert_eq!(
            c.summary(),
            "TLS (client certificates: NoClientCert), basic auth (1 user), 3 extra headers, rate limit 1 per 100ms, burst 10"
        );
    }

    #[test]
    fn inline_pem_and_client_ca_and_every_client_auth_type() {
        let dir = tempfile::tempdir().unwrap();
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
        let (cert, key) = (
            indent(&c.cert.pem()),
            indent(&c.signing_key.serialize_pem()),
        );
        for (auth, ca) in [
            ("RequestClientCert", false),
            ("RequireAnyClientCert", false),
            ("RequireClientCert", false),
            ("VerifyClientCertIfGiven", true),
            ("RequireAndVerifyClientCert", true),
        ] {
            let ca = if ca {
                format!("  client_ca: |\n{cert}")
            } else {
                String::new()
            };
            let c = load(
                dir.path(),
                &format!("tls_server_config:\n  cert: |\n{cert}  key: |\n{key}  client_auth_type: {auth}\n{ca}"),
            )
            .unwrap_or_else(|e| panic!("{auth}: {e}"));
            assert!(c.tls_enabled(), "{auth}");
            assert_eq!(c.watched.len(), 1, "inline: only the file is watched");
        }
    }

    #[test]
    fn no_tls_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "",
            "# nothing\n",
            "tls_server_config:\n",
            "basic_auth_users:\n",
        ] {
            let c = load(dir.path(), text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(!c.tls_enabled());
            assert_eq!(c.users(), 0);
        }
        // Basic auth without TLS is allowed, as in the toolkit.
        let c = load(dir.path(), &format!("basic_auth_users:\n  a: {}\n", hash())).unwrap();
        assert!(!c.tls_enabled());
        assert_eq!(c.users(), 1);
    }

    fn fails(dir: &Path, text: &str) -> WebConfigError {
        match load(dir, text) {
            Ok(c) => panic!("{text:?} loaded: {c:?}"),
            Err(e) => {
                assert!(!e.to_string().contains('\n'), "one line: {e}");
                e
            }
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_their_place() {
        let dir = tempfile::tempdir().unwrap();
        let e = fails(dir.path(), "tls_server_config:\n  cert_filse: server.crt\n");
        assert!(e.message.contains("tls_server_config"), "{e}");
        assert!(e.message.contains("unknown field `cert_filse`"), "{e}");
        assert!(e
            .to_string()
            .starts_with(&dir.path().join("web.yml").display().to_string()));
        let e = fails(dir.path(), "basic_auth_user:\n  a: b\n");
        assert!(e.message.contains("unknown field `basic_auth_user`"), "{e}");
        let e = fails(dir.path(), "http_server_config:\n  header: {}\n");
        assert!(e.message.contains("unknown field `header`"), "{e}");
        let e = fails(
            dir.path(),
            "http_server_config:\n  headers:\n    Server: errlens\n",
        );
        assert_eq!(e.key, "http_server_config.headers.Server");
        let e = fails(
            dir.path(),
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
        );
        assert!(e.message.contains("deny, sameorigin"), "{e}");
        let h = hash();
        let e = fails(
            dir.path(),
            &format!("basic_auth_users:\n  a: {h}\n  a: {h}\n"),
        );
        assert!(
            e.message.contains("basic_auth_users: \"a\" is set twice"),
            "{e}"
        );
        let e = fails(
            dir.path(),
            "rate_limit: {burst: 1}\nrate_limit: {burst: 2}\n",
        );
        assert!(e.message.contains("duplicate field `rate_limit`"), "{e}");
        let e = fails(dir.path(), "tls_server_config: [a]\n");
        assert!(e.message.contains("invalid type"), "{e}");
    }

    #[test]
    fn missing_or_bad_certificate_files() {
        let dir = tempfile::tempdir().unwrap();
        let e = fails(
            dir.path(),
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
        );
        assert_eq!(e.key, "tls_server_config.cert_file");
        assert!(
            e.message
                .contains(&dir.path().join("nope.crt").display().to_string()),
            "{e}"
        );
        cert_files(dir.path());
        let e = fails(dir.path(), "tls_server_config:\n  cert_file: server.crt\n");
        assert_eq!(e.key, "tls_server_config.key_file");
        let e = fails(dir.path(), "tls_server_config:\n  key_file: server.key\n");
        assert_eq!(e.key, "tls_server_config.cert_file");
        // A key that is not the certificate's.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        write(dir.path(), "other.key", &other.signing_key.serialize_pem());
        let e = fails(
            dir.path(),
            "tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n",
        );
        assert_eq!(e.key, "tls_server_config.key_file");
        // The certificate where the key should be.
        let e = fails(
            dir.path(),
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.crt\n",
        );
        assert_eq!(e.key, "tls_server_config.key_file");
        let e = fails(
            dir.path(),
            "tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n",
        );
        assert_eq!(e.key, "tls_server_config.cert_file");
        let tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
        for (extra, key) in [
            (
                "  client_auth_type: RequireAndVerifyClientCert\n",
                "client_ca_file",
            ),
            ("  client_auth_type: Sometimes\n", "client_auth_type"),
            ("  client_ca_file: server.crt\n", "client_ca_file"),
            ("  min_version: TLS10\n", "min_version"),
            ("  max_version: TLS14\n", "max_version"),
            (
                "  min_version: TLS13\n  max_version: TLS12\n",
                "min_version",
            ),
            (
                "  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n",
                "cipher_suites",
            ),
            ("  curve_preferences: [CurveP521]\n", "curve_preferences"),
            (
                "  client_allowed_sans: [a.example]\n",
                "client_allowed_sans",
            ),
            ("  cert: x\n", "cert_file"),
        ] {
            let e = fails(dir.path(), &format!("{tls}{extra}"));
            assert_eq!(e.key, format!("tls_server_config.{key}"), "{extra}: {e}");
        }
    }

    #[test]
    fn bad_bcrypt_hashes_and_rate_limits() {
        let dir = tempfile::tempdir().unwrap();
        let e = fails(dir.path(), "basic_auth_users:\n  john: doe\n");
        assert_eq!(e.key, "basic_auth_users.john");
        assert!(e.message.contains("bcrypt"), "{e}");
        let e = fails(dir.path(), "basic_auth_users:\n  john:\n");
        assert_eq!(e.key, "basic_auth_users.john");
        let e = fails(dir.path(), "rate_limit:\n  interval: soon\n  burst: 1\n");
        assert_eq!(e.key, "rate_limit.interval");
        let e = fails(dir.path(), "rate_limit:\n  interval: 1s\n");
        assert_eq!(e.key, "rate_limit.burst");
        let c = load(dir.path(), "rate_limit:\n  interval: 0\n  burst: 0\n").unwrap();
        assert_eq!(c.rate_limit, None, "interval 0: no limit");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "1", "s", "1x", "-1s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    fn auth(user: &str, pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {token}").parse().unwrap(),
        );
        h
    }

    #[tokio::test(flavor = "current_thread")]
    async fn credentials_are_checked_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "web.yml",
            &format!("basic_auth_users:\n  prometheus: {}\n", hash()),
        );
        let web = Arc::new(Web::open(&path).unwrap());
        let c = web.current();
        assert!(web.authorized(&c, &auth("prometheus", "secret")).await);
        // htpasswd writes $2y$ hashes.
        let y = format!("$2y${}", &hash()[4..]);
        std::fs::write(
            dir.path().join("y.yml"),
            format!("basic_auth_users:\n  u: '{y}'\n"),
        )
        .unwrap();
        let web_y = Arc::new(Web::open(&dir.path().join("y.yml")).unwrap());
        assert!(
            web_y
                .authorized(&web_y.current(), &auth("u", "secret"))
                .await
        );
        assert!(!web.authorized(&c, &auth("prometheus", "Secret")).await);
        assert!(!web.authorized(&c, &auth("nobody", "secret")).await);
        assert!(!web.authorized(&c, &HeaderMap::new()).await);
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert!(!web.authorized(&c, &bearer).await);
        assert_eq!(web.cache.lock().unwrap().len(), 3);
        // Cached: the same answers, without a new entry.
        assert!(web.authorized(&c, &auth("prometheus", "secret")).await);
        assert!(!web.authorized(&c, &auth("nobody", "secret")).await);
        assert_eq!(web.cache.lock().unwrap().len(), 3);
        // Bounded.
        for i in 0..2 * AUTH_CACHE_SIZE {
            web.authorized(&c, &auth("nobody", &i.to_string())).await;
        }
        assert_eq!(web.cache.lock().unwrap().len(), AUTH_CACHE_SIZE);
    }

    #[test]
    fn a_changed_file_is_reloaded_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "web.yml", "basic_auth_users: {}\n");
        let web = Web::open(&path).unwrap();
        assert_eq!(web.current().users(), 0);
        std::fs::write(&path, format!("basic_auth_users:\n  a: {}\n", hash())).unwrap();
        web.reload.lock().unwrap().checked -= RELOAD_CHECK;
        assert_eq!(web.current().users(), 1);
        std::fs::write(&path, "basic_auth_users:\n  a: plain\n").unwrap();
        web.reload.lock().unwrap().checked -= RELOAD_CHECK;
        assert_eq!(web.current().users(), 1, "the broken file is not used");
        cert_files(dir.path());
        std::fs::write(
            &path,
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
        )
        .unwrap();
        web.reload.lock().unwrap().checked -= RELOAD_CHECK;
        assert!(
            !web.current().tls_enabled(),
            "TLS is not turned on while serving"
        );
    }

    #[test]
    fn the_rate_limit_is_a_token_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "web.yml",
            "rate_limit:\n  interval: 1h\n  burst: 2\n",
        );
        let web = Web::open(&path).unwrap();
        let c = web.current();
        assert!(web.allow(&c));
        assert!(web.allow(&c));
        assert!(!web.allow(&c));
    }
}
