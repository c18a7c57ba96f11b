//! `errlens serve`: live Prometheus metrics from request logs.
//!
//! Inputs — followed files ([`follow`]), standard input, `POST /ingest` and OTLP/HTTP
//! logs (`POST /v1/logs`, [`otlp_http`]) — feed one [`pipeline::Pipeline`], which
//! parses, classifies and judges retries exactly as `errlens report` does, and counts
//! into [`metrics::Metrics`] on a caller-supplied registry. The HTTP side ([`server`])
//! serves `/metrics`, `/healthz`, `/ready`, `/ingest` and `/v1/logs`, over TLS and
//! behind basic authentication when a `--web.config.file` ([`web`], [`tls`]) asks. On
//! SIGTERM or SIGINT it stops accepting requests, reads what the followed files still
//! hold, saves checkpoints and returns.
#![deny(missing_docs)]

pub mod checkpoint;
pub mod conn;
pub mod counters;
pub mod follow;
pub mod metrics;
pub mod otlp_http;
pub mod pipeline;
pub mod server;
pub mod tls;
pub mod web;

use crate::checkpoint::Checkpoints;
use crate::follow::{FollowConfig, Follower};
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, PipelineConfig};
use prometheus::Registry;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Default listen address: loopback only, port 9477.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9477";

/// Everything `errlens serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address of the HTTP server.
    pub listen: SocketAddr,
    /// Files to follow.
    pub follow: FollowConfig,
    /// Also read standard input.
    pub stdin: bool,
    /// Where to keep checkpoints.
    pub state_dir: Option<PathBuf>,
    /// Largest accepted `/ingest` body, bytes.
    pub max_body: usize,
    /// Serve `POST /ingest`.
    pub ingest: bool,
    /// Host names requests may name (`--allowed-host`); empty: loopback names on a
    /// loopback address, any name otherwise.
    pub allowed_hosts: Vec<String>,
    /// Pipeline settings.
    pub pipeline: PipelineConfig,
    /// `/ready` answers 503 until at least one followed file exists (when following).
    pub ready_needs_files: bool,
    /// After SIGTERM/SIGINT, how long open connections may take to finish before
    /// errlens stops serving anyway (a client holding half a request cannot keep it
    /// from saving its checkpoints and exiting).
    pub shutdown_timeout: Duration,
    /// After SIGTERM/SIGINT and the last read and checkpoint, how long `/metrics` keeps
    /// answering (with the final values) before the server stops.
    pub shutdown_grace: Duration,
    /// Connections open at once, and how long a request head or body may take to
    /// arrive and a connection may go without progress.
    pub limits: conn::Limits,
    /// Latency histogram buckets, seconds.
    pub buckets: Vec<f64>,
    /// The `--web.config.file` settings (TLS, basic auth, headers, rate limit), applied
    /// to every endpoint.
    pub web: Option<Arc<web::Web>>,
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The metrics could not be registered.
    #[error("registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The state directory could not be used.
    #[error("state directory {path}: {source}")]
    State {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another I/O failure (runtime, server).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Totals at shutdown, for the final log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Records counted.
    pub records: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// Blank lines.
    pub blank: u64,
}

/// Runs the exporter until SIGTERM or SIGINT, registering its metrics on `registry`.
/// Calls `on_listening` with the bound address once the server accepts connections.
pub fn run(
    cfg: ServeConfig,
    registry: &Registry,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<Totals, ServeError> {
    let metrics = Metrics::register(registry, &cfg.buckets, &cfg.pipeline.providers)?;
    let pipeline = Arc::new(Mutex::new(Pipeline::new(metrics.clone(), &cfg.pipeline)));
    let checkpoints = match &cfg.state_dir {
        Some(dir) => Some(Checkpoints::open(dir).map_err(|source| ServeError::State {
            path: dir.clone(),
            source,
        })?),
        None => None,
    };
    let mut follower =
        Follower::new(cfg.follow.clone(), checkpoints).map_err(|source| ServeError::State {
            path: cfg.state_dir.clone().unwrap_or_default(),
            source,
        })?;
    // Counter values restored with the positions, so Prometheus sees no reset; and saved
    // with every checkpoint from then on.
    let baseline = {
        let (families, last) = follower.restored_counters();
        if let Some(t) = last {
            metrics.last_record_timestamp.set(t);
        }
        Arc::new(counters::Baseline::new(families))
    };
    // With a state directory, /metrics exposes the counter values last saved (at most a
    // poll interval behind): a crash then never shows a scraper a value it had seen
    // fall back.
    let durable = cfg.state_dir.as_ref().map(|_| {
        Arc::new(Mutex::new(counters::snapshot(
            &baseline.apply(registry.gather()),
        )))
    });
    if let Some(durable) = &durable {
        let (registry, baseline) = (registry.clone(), baseline.clone());
        let last = metrics.last_record_timestamp.clone();
        follower.set_counters(Box::new(move || {
            let t = last.get();
            (
                counters::snapshot(&baseline.apply(registry.gather())),
                (t > 0.0).then_some(t),
            )
        }));
        let durable = durable.clone();
        follower.on_saved(Box::new(move |state| {
            *durable.lock().unwrap_or_else(|e| e.into_inner()) = state.counters.clone();
        }));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(AtomicBool::new(false));
    let (followed_tx, followed_rx) = std::sync::mpsc::channel::<()>();

    let follow_thread = {
        let (pipeline, stop, ready) = (pipeline.clone(), stop.clone(), ready.clone());
        let needs_files = cfg.ready_needs_files;
        let poll = cfg.follow.poll;
        let follows = !cfg.follow.patterns.is_empty();
        std::thread::Builder::new()
            .name("errlens-follow".into())
            .spawn(move || {
                loop {
                    let stopping = stop.load(Ordering::Acquire);
                    if follows {
                        if let Err(e) = follower.poll(&pipeline) {
                            eprintln!("errlens: following: {e}");
                        }
                    } else if let Err(e) = follower.checkpoint() {
                        // No files: the checkpoint keeps the counters of /ingest and stdin.
                        eprintln!("errlens: saving checkpoints: {e}");
                    }
                    // Ready once the inputs started: with --follow, once a file is
                    // followed (a missing target is not "ready", see --ready-without-files).
                    let files = !follows || !needs_files || follower.followed_files() > 0;
                    ready.store(files, Ordering::Release);
                    // One last poll after the stop signal: what was written is counted.
                    if stopping {
                        break;
                    }
                    sleep_unless(&stop, poll);
                }
                if let Err(e) = follower.checkpoint() {
                    eprintln!("errlens: saving checkpoints: {e}");
                }
                let _ = followed_tx.send(());
            })?
    };

    if cfg.stdin {
        let pipeline = pipeline.clone();
        std::thread::Builder::new()
            .name("errlens-stdin".into())
            .spawn(move || {
                if let Err(e) = feed(&pipeline, std::io::stdin().lock()) {
                    eprintln!("errlens: reading standard input: {e}");
                }
            })?;
    }

    let stopping = Arc::new(AtomicBool::new(false));
    let state = server::AppState {
        registry: registry.clone(),
        pipeline: pipeline.clone(),
        ready,
        baseline,
        durable,
        stopping: stopping.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: cfg.listen,
                source,
            })?;
        on_listening(listener.local_addr()?);
        // The signal starts a graceful shutdown; its deadline ends it regardless.
        let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
        let mut allowed_hosts = cfg.allowed_hosts.clone();
        if allowed_hosts.is_empty() && cfg.listen.ip().is_loopback() {
            allowed_hosts = server::LOOPBACK_HOSTS
                .iter()
                .map(|h| (*h).to_owned())
                .collect();
        }
        let http = server::HttpConfig {
            max_body: cfg.max_body,
            ingest: cfg.ingest,
            allowed_hosts,
            web: cfg.web.clone(),
            body_timeout: Some(cfg.limits.body_timeout),
        };
        // On the stop signal: refuse new /ingest bodies, read the followed files a last
        // time and save the checkpoint, keep /metrics answering for the grace period
        // (a last scrape sees the final values), then stop serving; the deadline ends
        // the connections still open after that.
        let stop_follow = stop.clone();
        let grace = cfg.shutdown_grace;
        let shutdown = async move {
            shutdown_signal().await;
            stopping.store(true, Ordering::Release);
            stop_follow.store(true, Ordering::Release);
            let _ = tokio::task::spawn_blocking(move || followed_rx.recv()).await;
            let _ = signalled_tx.send(());
            tokio::time::sleep(grace).await;
        };
        let router = server::router(state, &http);
        let tls = cfg.web.as_ref().filter(|w| w.config().tls_enabled());
        let server: std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>,
        > = match tls {
            Some(web) => Box::pin(conn::serve(
                tls::TlsListener::new(listener, web.clone())?,
                cfg.limits,
                router,
                shutdown,
            )),
            None => Box::pin(conn::serve(listener, cfg.limits, router, shutdown)),
        };
        let deadline = async move {
            if signalled_rx.await.is_ok() {
                tokio::time::sleep(grace + cfg.shutdown_timeout).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            served = server => served?,
            () = deadline => eprintln!(
                "errlens: connections still open {:?} after the stop signal: closing them",
                cfg.shutdown_timeout
            ),
        }
        Ok::<(), ServeError>(())
    })?;
    stop.store(true, Ordering::Release);
    follow_thread.join().ok();
    let lines = &metrics.lines;
    Ok(Totals {
        records: lines.with_label_values(&["record"]).get(),
        malformed: lines.with_label_values(&["malformed"]).get(),
        blank: lines.with_label_values(&["blank"]).get(),
    })
}

fn sleep_unless(stop: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(20);
    let mut left = total;
    while !left.is_zero() && !stop.load(Ordering::Acquire) {
        let d = left.min(step);
        std::thread::sleep(d);
        left -= d;
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Reads standard input (or any stream) into a pipeline, in its own shape: sniffed
/// from the first bytes unless one is forced. The pipeline is locked per block read,
/// not for the whole stream.
pub fn feed(pipeline: &Mutex<Pipeline>, mut reader: impl BufRead) -> std::io::Result<()> {
    let head = errlens_parse::input::head(&mut reader, errlens_parse::detect::SNIFF_BYTES)?;
    let (mut decoder, cap) = {
        let p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
        (p.decoder(&head), p.ingest().max_line)
    };
    let mut number = 0u64;
    if decoder.is_document() {
        // A document is counted when it is whole.
        let mut doc = Vec::new();
        reader.read_to_end(&mut doc)?;
        let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
        p.metrics().bytes_read.inc_by(doc.len() as u64);
        // Read from memory: no read error can occur.
        let _ = decoder.document(&doc[..], &mut *p);
        return Ok(());
    }
    let mut framer = errlens_parse::Framer::new(cap);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
        p.metrics().bytes_read.inc_by(n as u64);
        let mut sink = pipeline::Counted {
            pipeline: &mut p,
            number: &mut number,
        };
        framer.push(
            &buf[..n],
            &mut pipeline::Lines {
                sink: &mut sink,
                decoder: &mut decoder,
                cap,
            },
        );
    }
    let mut p = pipeline.lock().unwrap_or_else(|e| e.into_inner());
    let mut sink = pipeline::Counted {
        pipeline: &mut p,
        number: &mut number,
    };
    framer.finish(&mut pipeline::Lines {
        sink: &mut sink,
        decoder: &mut decoder,
        cap,
    });
    Ok(())
}
