//! `errlens serve`: the live exporter, with its own registry.

use super::Outcome;
use crate::cli::ServeArgs;
use errlens_exporter::follow::FollowConfig;
use errlens_exporter::metrics::DEFAULT_BUCKETS;
use errlens_exporter::pipeline::PipelineConfig;
use errlens_exporter::web::Web;
use errlens_exporter::{run as serve, ServeConfig};
use std::sync::Arc;
use std::time::Duration;

/// Runs `errlens serve` until SIGTERM or SIGINT.
pub fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    // First: a web configuration that cannot be used stops errlens before it listens.
    let web = match &args.web_config_file {
        Some(path) => Some(Arc::new(
            Web::open(path).map_err(|e| anyhow::anyhow!("--web.config.file {e}"))?,
        )),
        None => None,
    };
    let providers = super::providers::load(&args.ingest.providers)?;
    let cfg = ServeConfig {
        listen: args.listen,
        follow: FollowConfig {
            patterns: args.follow,
            from_start: args.from_start,
            poll: Duration::from_millis(args.poll_interval as u64),
            follow_symlinks: args.follow_symlinks,
        },
        ready_needs_files: !args.ready_without_files,
        shutdown_timeout: Duration::from_millis(args.shutdown_timeout as u64),
        shutdown_grace: Duration::from_millis(args.shutdown_grace as u64),
        limits: errlens_exporter::conn::Limits {
            max_connections: args.max_connections,
            idle_timeout: Duration::from_millis(args.read_timeout as u64),
            header_timeout: Duration::from_millis(args.header_timeout as u64),
            body_timeout: Duration::from_millis(args.body_timeout as u64),
        },
        stdin: args.stdin,
        state_dir: args.state_dir,
        max_body: args.max_body,
        ingest: !args.no_ingest,
        allowed_hosts: args.allowed_hosts,
        pipeline: PipelineConfig {
            retry_window_ms: args.retry_window,
            top_clients: args.top_clients,
            top_endpoints: args.top_endpoints,
            max_chain_keys: args.max_chain_keys,
            future_skew_ms: args.future_skew,
            ingest: std::sync::Arc::new(super::ingest::config(&args.ingest, &providers)?),
            providers,
        },
        buckets: args
            .buckets
            .map_or_else(|| DEFAULT_BUCKETS.to_vec(), |b| b.0),
        web: web.clone(),
    };
    let registry = prometheus::Registry::new();
    let tls = web.as_ref().is_some_and(|w| w.config().tls_enabled());
    let totals = serve(cfg, &registry, |addr| {
        if let Some(web) = &web {
            eprintln!(
                "errlens: web config {}: {}",
                web.path().display(),
                web.config().summary()
            );
        }
        let scheme = if tls { "https" } else { "http" };
        eprintln!("errlens: serving metrics on {scheme}://{addr}/metrics");
    })?;
    eprintln!(
        "errlens: stopped: {} records, {} malformed, {} blank",
        totals.records, totals.malformed, totals.blank
    );
    Ok(Outcome::Ok)
}
