//! TLS for `errlens serve` (rustls, ring provider): a listener that completes each
//! handshake in its own task, with the settings of the web configuration in force at
//! that moment, and hands the HTTP server ([`crate::conn::serve`]) the finished
//! connections; and the client-certificate verifier of `RequestClientCert` and
//! `RequireAnyClientCert` (a certificate is asked for, its possession proven, and not
//! verified against a CA).

use crate::web::Web;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a plain-HTTP request on the TLS port gets, as Go's server answers it.
const PLAIN_HTTP_REPLY: &[u8] = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/// Accepts client certificates without verifying them against a CA (Go's
/// `RequestClientCert` and `RequireAnyClientCert`); the handshake signature is still
/// checked, so the client holds the certificate's key.
#[derive(Debug)]
pub struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyClientCert {
    /// A verifier that requires a certificate (`mandatory`) or only asks for one.
    pub fn new(mandatory: bool, algorithms: WebPkiSupportedAlgorithms) -> AnyClientCert {
        AnyClientCert {
            mandatory,
            algorithms,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TCP listener whose connections the HTTP server gets after their TLS handshake
/// (through axum's `Listener` trait).
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `tcp` (within a Tokio runtime); each handshake uses the TLS
    /// settings of `web` in force when the connection arrives. Accepting stops when
    /// the listener is dropped.
    pub fn new(tcp: TcpListener, web: Arc<Web>) -> io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(tcp, web, tx));
        Ok(TlsListener { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop ended (its listener failed for good): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    web: Arc<Web>,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            () = tx.closed() => return,
            accepted = tcp.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // As axum does: a failed connection is skipped; anything else (too
                    // many open files) is waited out.
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) {
                        eprintln!("errlens: accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
        };
        let Some(config) = web.current().tls().cloned() else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(stream, config)).await {
                Ok(Ok(Some(tls))) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => handshake_failed(peer, &e),
                Err(_) => {
                    handshake_failed(peer, &io::Error::new(io::ErrorKind::TimedOut, "timed out"))
                }
            }
        });
    }
}

/// The TLS handshake; a plain-HTTP request instead gets a plain 400 saying so (None).
async fn handshake(
    mut stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<Option<TlsStream<TcpStream>>> {
    let mut first = [0u8; 1];
    // 0x16: a TLS handshake record; a letter: an HTTP method.
    if stream.peek(&mut first).await? == 1 && first[0].is_ascii_uppercase() {
        // Read the request head first, and what follows until the client closes (for a
        // second at most), so that closing does not reset the reply away.
        let mut buf = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
        stream.write_all(PLAIN_HTTP_REPLY).await?;
        stream.shutdown().await?;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        })
        .await;
        return Ok(None);
    }
    let _ = stream.set_nodelay(true);
    Ok(Some(
        tokio_rustls::TlsAcceptor::from(config)
            .accept(stream)
            .await?,
    ))
}

/// Reports a failed handshake on stderr, at most once every 10 seconds (a scanner must
/// not flood the log), with how many were not reported since.
fn handshake_failed(peer: SocketAddr, e: &io::Error) {
    static LAST: Mutex<Option<(Instant, u64)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    match &mut *last {
        Some((at, quiet)) if at.elapsed() < Duration::from_secs(10) => *quiet += 1,
        _ => {
            let quiet = last.map_or(0, |(_, q)| q);
            let more = if quiet > 0 {
                format!(" ({quiet} more since the last report)")
            } else {
                String::new()
            };
            eprintln!("errlens: TLS handshake with {peer} failed: {e}{more}");
            *last = Some((Instant::now(), 0));
        }
    }
}
