//! Command-line interface definition (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use errlens_parse::ShapeKind;
use std::path::PathBuf;

/// Turn API request logs (Simkl, TMDB, and any API described in a provider file) into
/// answers: what fails, why, and whether your clients retry correctly.
#[derive(Debug, Parser)]
#[command(name = "errlens", version, about, long_about = None)]
#[command(after_help = "Examples:\n  \
    errlens report app.log                 failures by provider, status and error id\n  \
    errlens report --format json logs/*.gz machine-readable (schema errlens.report/v1)\n  \
    kubectl logs app | errlens report -    read standard input\n  \
    errlens explain tmdb 25                what TMDB code 25 means and what to do\n  \
    errlens explain simkl client_id_failed\n  \
    errlens tables --format markdown       every loaded classification table\n  \
    errlens report --providers providers/trakt.toml app.log   also classify Trakt")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Colour the text output: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = crate::render::term::ColorChoice::Auto)]
    pub color: crate::render::term::ColorChoice,

    /// Fit text tables to this many columns (default: the terminal's width when
    /// writing to one, else unlimited).
    #[arg(long, global = true, value_name = "COLUMNS")]
    pub width: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit request logs: failures by provider, status, error id and class.
    Report(ReportArgs),
    /// Combine summaries written by `report --emit-summary` into one report.
    Merge(MergeArgs),
    /// What changed between two reports (JSON reports or summaries).
    #[command(after_help = "Examples:\n  \
        errlens diff yesterday.json today.json\n  \
        errlens diff -f markdown main.json pr.json > comment.md\n  \
        errlens diff old.json new.json --fail-on 'delta.failures.share > 0.01'")]
    Diff(DiffArgs),
    /// Explain one status, error id, own code or error message of a provider.
    Explain(ExplainArgs),
    /// Print the classification tables of the loaded providers.
    Tables(TablesArgs),
    /// List the loaded provider definitions: built in and --providers files.
    #[command(after_help = "Examples:\n  \
        errlens providers\n  \
        errlens providers --providers providers/trakt.toml --providers providers/omdb.toml")]
    Providers(ProvidersCmdArgs),
    /// Print a shell completion script: errlens completions bash > ~/.local/share/bash-completion/completions/errlens
    Completions(CompletionsArgs),
    /// Print the man page (roff): errlens man > ~/.local/share/man/man1/errlens.1
    Man,
    /// List the log shapes errlens reads, or say which one a file is in.
    #[command(after_help = "Examples:\n  \
        errlens shapes                       every shape, its source and the fields it reads\n  \
        errlens shapes --detect access.log   which shape errlens would read a file in, and why")]
    Shapes(ShapesArgs),
    /// Follow logs live and serve Prometheus metrics (retry rates, 429/412 pressure).
    #[command(after_help = "Examples:\n  \
        errlens serve --follow /var/log/app/api.log --state-dir /var/lib/errlens\n  \
        errlens serve --follow '/var/log/app/*.jsonl' --web.listen-address 0.0.0.0:9477\n  \
        app | errlens serve --stdin\n  \
        curl --data-binary @batch.ndjson http://127.0.0.1:9477/ingest\n\n\
        Endpoints: /metrics (Prometheus text format), /healthz, /ready, POST /ingest (lines in any\n\
        shape, a JSON array of records, or a HAR document; the shape is detected per body).\n\
        Followed files are polled every --poll-interval: that is the delay before a written\n\
        line is counted. Rotation by rename, copytruncate, truncation and deletion is handled.")]
    Serve(ServeArgs),
    /// Write a synthetic request log (for benchmarks and tests).
    #[command(hide = true)]
    Gen(GenArgs),
}

/// Which provider definitions a command loads: the built-in ones and these files.
#[derive(Debug, Clone, Default, Args)]
pub struct ProvidersArgs {
    /// Also load this provider definition (TOML; see docs/providers.md and
    /// providers/*.toml), e.g. --providers providers/trakt.toml (repeatable).
    #[arg(
        long = "providers",
        id = "provider_files",
        value_name = "FILE",
        help_heading = "Providers"
    )]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProvidersCmdArgs {
    #[command(flatten)]
    pub providers: ProvidersArgs,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ExplainFormat::Table)]
    pub format: ExplainFormat,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub providers: ProvidersArgs,

    /// The earlier report (`report --format json` output) or summary (`--emit-summary`).
    pub old: PathBuf,
    /// The later report or summary.
    pub new: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Write the diff to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What counts as a change: a share moving more than this (absolute), another
    /// figure moving more than this fraction of its old value.
    #[arg(long, value_name = "X", default_value_t = 0.005)]
    pub tolerance: f64,
    /// Fail (exit 1) when a gate holds; `delta.PATH` is the change of a figure (new
    /// minus old), e.g. 'delta.failures.share > 0.01'; plain paths read the new report.
    #[arg(long = "fail-on", value_name = "EXPR", value_parser = parse_gate)]
    pub fail_on: Vec<errlens_audit::gate::Gate>,
}

/// The formats `diff` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Aligned text for a terminal.
    Table,
    /// JSON (schema errlens.diff/v1).
    Json,
    /// GitHub-flavoured Markdown, for a pull-request comment.
    Markdown,
    /// One self-contained HTML page.
    Html,
}

/// Which records a report keeps; the rest are counted as filtered out.
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Keep records at or after this time: RFC 3339 (2026-11-20T10:00:00Z) or a
    /// duration ago (2h, 30m, 7d). Records without a time are left out.
    #[arg(long, value_name = "TIME", value_parser = crate::duration::parse_time_ms, help_heading = "Filters")]
    pub since: Option<i64>,

    /// Keep records before this time (as --since).
    #[arg(long, value_name = "TIME", value_parser = crate::duration::parse_time_ms, help_heading = "Filters")]
    pub until: Option<i64>,

    /// Keep this provider's records: a loaded provider's name (simkl, tmdb, …) or
    /// unknown (repeatable).
    #[arg(long = "provider", value_name = "NAME", value_parser = parse_provider_name, help_heading = "Filters")]
    pub providers: Vec<String>,

    /// Keep this client id's records (repeatable; "" for records without one).
    #[arg(long = "client", value_name = "ID", help_heading = "Filters")]
    pub clients: Vec<String>,

    /// Keep records whose templated endpoint matches this glob, e.g. '/3/movie/*'
    /// (repeatable).
    #[arg(long = "endpoint", value_name = "GLOB", value_parser = parse_glob, help_heading = "Filters")]
    pub endpoints: Vec<glob::Pattern>,

    /// Keep records with this status: 429, or a class such as 4xx (repeatable).
    #[arg(long = "status", value_name = "STATUS", value_parser = parse_status_filter, help_heading = "Filters")]
    pub statuses: Vec<errlens_audit::filter::StatusFilter>,
}

impl FilterArgs {
    /// The filter, when any was given.
    pub fn filter(&self) -> Option<errlens_audit::filter::Filter> {
        let f = errlens_audit::filter::Filter {
            since_ms: self.since,
            until_ms: self.until,
            providers: self.providers.clone(),
            clients: self.clients.clone(),
            endpoints: self.endpoints.clone(),
            statuses: self.statuses.clone(),
            secrets: Default::default(),
        };
        (!f.is_empty()).then_some(f)
    }
}

/// A provider name as given (checked against the loaded providers when they are).
fn parse_provider_name(s: &str) -> Result<String, String> {
    let n = s.trim().to_ascii_lowercase();
    if n.is_empty() {
        return Err("an empty provider name".to_owned());
    }
    Ok(n)
}

fn parse_glob(s: &str) -> Result<glob::Pattern, String> {
    glob::Pattern::new(s).map_err(|e| format!("{s:?} is not a glob: {e}"))
}

fn parse_status_filter(s: &str) -> Result<errlens_audit::filter::StatusFilter, String> {
    errlens_audit::filter::StatusFilter::parse(s)
        .ok_or_else(|| format!("{s:?}: a status (429) or a class (4xx)"))
}

/// How inputs are read: shared by `report` and `serve`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub providers: ProvidersArgs,

    /// Read every input in this shape instead of detecting it per input: flat, ecs,
    /// otlp, caddy, envoy, nginx, traefik, har, logfmt, clf (see `errlens shapes`).
    #[arg(long, value_name = "NAME", value_parser = parse_shape, help_heading = "Input")]
    pub shape: Option<ShapeKind>,

    /// Where a custom JSON log keeps a field: FIELD=PATH[:UNIT] (repeatable), e.g.
    /// `--map status=resp.code --map latency_ms=took:us`. Starts from --shape if given,
    /// else from the flat field names.
    #[arg(long = "map", value_name = "FIELD=PATH", help_heading = "Input")]
    pub map: Vec<String>,

    /// A TOML file describing a custom JSON shape (field = path, unit, envelope; see
    /// docs/shapes.md). --map entries apply on top of it.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub mapping: Option<PathBuf>,

    /// Count HOST's requests as PROVIDER's (a proxy or cache that logs its own host):
    /// HOST=simkl, HOST=tmdb or another loaded provider (repeatable).
    #[arg(long = "provider-host", value_name = "HOST=PROVIDER", value_parser = parse_provider_host, help_heading = "Input")]
    pub provider_host: Vec<(String, String)>,

    /// Replace every client id by a stable keyed hash (`client-` + 12 hex digits) in
    /// every output and metric label; the key is ERRLENS_REDACT_KEY when set.
    #[arg(long, help_heading = "Input")]
    pub redact_clients: bool,

    /// Lines longer than this are malformed and skipped without being buffered (the one
    /// cap for every input). Bytes, or with a unit: 64KiB, 4MiB.
    #[arg(long, value_name = "BYTES", default_value = "1MiB", value_parser = parse_bytes, help_heading = "Input")]
    pub max_line_bytes: usize,
}

/// Parses a `--fail-on` gate.
fn parse_gate(s: &str) -> Result<errlens_audit::gate::Gate, String> {
    errlens_audit::gate::Gate::parse(s).map_err(|e| e.to_string())
}

/// Parses a shape name.
fn parse_shape(s: &str) -> Result<ShapeKind, String> {
    ShapeKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = ShapeKind::ALL.iter().map(|k| k.name()).collect();
        format!("unknown shape {s:?}; shapes: {}", names.join(", "))
    })
}

/// Parses `HOST=PROVIDER` (the provider is checked once the providers are loaded).
fn parse_provider_host(s: &str) -> Result<(String, String), String> {
    let (host, provider) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected HOST=PROVIDER, e.g. tmdb-cache.internal=tmdb"))?;
    let host = host.trim();
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(format!("{host:?} is not a host name"));
    }
    let provider = parse_provider_name(provider)?;
    Ok((host.to_owned(), provider))
}

/// Parses a byte size: `1048576`, `64KiB`, `4MiB`, `1M`.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (try 1MiB, 65536)"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        u => return Err(format!("unknown unit {u:?} (use KiB, MiB or GiB)")),
    };
    match n.checked_mul(scale) {
        Some(v) if v >= 16 => Ok(v),
        _ => Err(format!("{s:?}: the line cap must be at least 16 bytes")),
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ShapesArgs {
    /// Say which shape errlens would read FILE in, and why (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub detect: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,

    /// A log file or glob pattern to follow (repeatable). Files that exist at start are
    /// read from their end (see --from-start); files created later, from their start.
    #[arg(long, value_name = "PATH")]
    pub follow: Vec<String>,

    /// Read files that exist at start from their beginning.
    #[arg(long)]
    pub from_start: bool,

    /// Let a --follow glob follow symbolic links (by default a glob never leads out of
    /// its directory through a link).
    #[arg(long)]
    pub follow_symlinks: bool,

    /// Answer /ready with 200 even while no --follow target exists (default: 503 until
    /// one does).
    #[arg(long)]
    pub ready_without_files: bool,

    /// After SIGTERM or SIGINT, how long open connections may finish before serving
    /// stops anyway (then the followed files are read a last time, checkpoints saved).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration_ms)]
    pub shutdown_timeout: i64,

    /// After SIGTERM or SIGINT and the last read and checkpoint, how long /metrics
    /// keeps answering with the final values (so a last scrape sees them) before
    /// serving stops; POST /ingest answers 503 meanwhile. 0 to stop at once.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_grace_ms)]
    pub shutdown_grace: i64,

    /// Connections served at once; further clients wait until one closes.
    #[arg(long = "web.max-connections", value_name = "N", default_value_t = 512)]
    pub max_connections: usize,

    /// A connection that sends or receives nothing at all for this long is closed: a
    /// stalled client, or an idle keep-alive connection (the wait between requests).
    #[arg(long = "web.read-timeout", value_name = "DURATION", default_value = "30s", value_parser = parse_duration_ms)]
    pub read_timeout: i64,

    /// A request head (request line and headers) must arrive whole within this time,
    /// counted from the connection's accept for its first request and from the first
    /// byte of each later one; otherwise the connection is closed, even if the head
    /// keeps trickling in (slowloris).
    #[arg(long = "web.header-timeout", value_name = "DURATION", default_value = "10s", value_parser = parse_duration_ms)]
    pub header_timeout: i64,

    /// A request body (POST /ingest, /v1/logs) must arrive whole within this time after
    /// its head; otherwise the request gets 408 Request Timeout, nothing of the body is
    /// counted, and the connection is closed.
    #[arg(long = "web.body-timeout", value_name = "DURATION", default_value = "60s", value_parser = parse_duration_ms)]
    pub body_timeout: i64,

    /// Also read standard input (in any shape; detected from its first bytes).
    #[arg(long)]
    pub stdin: bool,

    /// Address to serve on (the exporter convention's name; `--listen` is an alias).
    #[arg(long = "web.listen-address", visible_alias = "listen", value_name = "ADDR", default_value = errlens_exporter::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,

    /// TLS, basic authentication, extra response headers and a rate limit for every
    /// endpoint, from a YAML file in the Prometheus exporter-toolkit format
    /// (tls_server_config, basic_auth_users, http_server_config, rate_limit; see
    /// docs/metrics.md). Read at start (an unusable file stops errlens); reloaded when
    /// it or a certificate it names changes.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,

    /// Keep read positions here and resume from them after a restart.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// How often followed files are checked (the latency of counting a new line).
    #[arg(long, value_name = "DURATION", default_value = "250ms", value_parser = parse_duration_ms)]
    pub poll_interval: i64,

    /// Retry-chain keys tracked at most (memory bound: ~100 bytes a key); the
    /// longest-idle are closed beyond it.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_chain_keys: usize,

    /// A record time further than this in the future is counted as suspicious and not
    /// used as a time (it would freeze the clock state is swept by).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration_ms)]
    pub future_skew: i64,

    /// Do not serve POST /ingest nor POST /v1/logs (OTLP/HTTP logs).
    #[arg(long)]
    pub no_ingest: bool,

    /// A Host name requests may name (repeatable). Default: on a loopback address only
    /// localhost, 127.0.0.1 and ::1 (no DNS rebinding); elsewhere any.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,

    /// Largest accepted POST /ingest or /v1/logs body, bytes, before and after
    /// decompression (larger bodies get 413).
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body: usize,

    /// Clients with their own label (top K by volume, at most 2K ever; the rest are
    /// `other`).
    #[arg(long, value_name = "K", default_value_t = 20)]
    pub top_clients: usize,

    /// Endpoints with their own label (top K by volume, at most 2K ever).
    #[arg(long, value_name = "K", default_value_t = 50)]
    pub top_endpoints: usize,

    /// Retry window for inferred retries (as for `report`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration_ms)]
    pub retry_window: i64,

    /// Latency histogram buckets in seconds, comma-separated and increasing.
    #[arg(long, value_name = "LIST", value_parser = parse_buckets)]
    pub buckets: Option<Buckets>,
}

/// Histogram bucket bounds, in seconds, strictly increasing (one value of `--buckets`).
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets(pub Vec<f64>);

/// Parses `0.01,0.1,1` into increasing bucket bounds.
pub fn parse_buckets(s: &str) -> Result<Buckets, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| format!("{x:?} is not a number"))
        })
        .collect::<Result<_, _>>()?;
    if v.is_empty() || v.windows(2).any(|w| w[0] >= w[1]) || v[0] <= 0.0 {
        return Err("buckets must be positive and strictly increasing".to_owned());
    }
    Ok(Buckets(v))
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Lines to write.
    #[arg(long, default_value_t = 100_000)]
    pub lines: u64,
    /// PRNG seed: the same seed gives the same log.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Malformed or blank lines per thousand.
    #[arg(long, default_value_t = 0)]
    pub garbage_per_mille: u32,
    /// Leave out the `attempt` field, so retries must be inferred.
    #[arg(long)]
    pub no_attempt: bool,
    /// Mean gap between requests, milliseconds.
    #[arg(long, default_value_t = 20)]
    pub mean_gap_ms: u32,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub use crate::render::ReportFormat;

/// The formats `tables` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// The versioned JSON contract (errlens.report/v1).
    Json,
    /// One row per group (report) or table row (tables).
    Csv,
    /// GitHub-flavoured Markdown.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub ingest: IngestArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Request logs in any shape errlens reads (detected per input; gzip and zstd are
    /// decompressed); `-` reads standard input, which is also the default when it is not
    /// a terminal.
    #[arg(value_name = "FILES")]
    pub files: Vec<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the full aggregate state to FILE, for `errlens merge`. The input may
    /// then be any shard of a larger log: retry chains that cross shard boundaries are
    /// resolved when the summaries are merged in log order.
    #[arg(long, value_name = "FILE")]
    pub emit_summary: Option<PathBuf>,

    /// How many malformed lines to list (all are counted).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub malformed_sample: usize,

    /// Without an `attempt` field, a request repeating the same (client_id, method,
    /// URL) this soon after a failed one counts as a retry. Seconds, or with a unit:
    /// 500ms, 90s, 2m.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration_ms)]
    pub retry_window: i64,

    /// How many clients and endpoints to list before folding the rest into `other`.
    /// (Counts are kept for at most 10,000 client ids, 500 endpoints and 10,000 error
    /// ids: past that, those of smallest stable hash keep theirs and the rest are
    /// counted under `<other>`; see docs/report-schema.md.)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Fail (exit 1) when a gate holds, e.g. 'failures.share > 0.05',
    /// 'retries.wasted > 0', 'provider.tmdb.failures.share > 10%',
    /// 'latency_ms.simkl.p99 > 800' (repeatable). The report is written all the same;
    /// stderr names the gates that tripped and their values.
    #[arg(long = "fail-on", value_name = "EXPR", value_parser = parse_gate)]
    pub fail_on: Vec<errlens_audit::gate::Gate>,

    /// Worker threads (default: all cores). Plain files are read in parallel parts;
    /// standard input and gzip are cut into batches as they stream in. Results are
    /// identical whatever the number; 1 uses the least memory.
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Read plain files in blocks instead of memory-mapping them. Mapping is faster,
    /// but a file truncated while it is audited (logrotate's `copytruncate` on the live
    /// log) ends the run with SIGBUS; reading does not.
    #[arg(long)]
    pub no_mmap: bool,
}

/// Parses `90`, `90s`, `500ms`, `2m` or `1h` to milliseconds (1 ms to 24 h).
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    crate::duration::parse_window_ms(s)
}

/// A duration as [`parse_duration_ms`], or `0` for none.
fn parse_grace_ms(s: &str) -> Result<i64, String> {
    if s.trim().trim_end_matches(['s', 'm']).trim() == "0" {
        return Ok(0);
    }
    parse_duration_ms(s)
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub providers: ProvidersArgs,

    /// Summary files written by `errlens report --emit-summary`.
    #[arg(value_name = "SUMMARIES", required = true)]
    pub summaries: Vec<PathBuf>,

    /// Fail (exit 1) when a gate holds, e.g. 'failures.share > 0.05',
    /// 'retries.wasted > 0', 'provider.tmdb.failures.share > 10%',
    /// 'latency_ms.simkl.p99 > 800' (repeatable). The report is written all the same;
    /// stderr names the gates that tripped and their values.
    #[arg(long = "fail-on", value_name = "EXPR", value_parser = parse_gate)]
    pub fail_on: Vec<errlens_audit::gate::Gate>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How many clients and endpoints to list before folding the rest into `other`.
    /// (Counts are kept for at most 10,000 client ids, 500 endpoints and 10,000 error
    /// ids: past that, those of smallest stable hash keep theirs and the rest are
    /// counted under `<other>`; see docs/report-schema.md.)
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub providers: ProvidersArgs,

    /// Which provider's table to look in (simkl, tmdb, or a --providers one).
    #[arg(value_parser = parse_provider_name)]
    pub provider: String,

    /// An HTTP status (412), an error id (client_id_failed), a provider's own code
    /// (TMDB 25), or an error message or its label (OMDb "Movie not found!").
    pub code: String,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ExplainFormat::Table)]
    pub format: ExplainFormat,
}

/// The formats `explain` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Aligned text for a terminal.
    Table,
    /// JSON (schema errlens.explain/v1).
    Json,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    #[command(flatten)]
    pub providers: ProvidersArgs,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Only this provider's tables.
    #[arg(long, value_name = "NAME", value_parser = parse_provider_name)]
    pub provider: Option<String>,
}

/// The clap command (for completions and the man page).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command()
}

/// Parses the process arguments (exits with a usage message on error).
pub fn parse() -> Cli {
    Cli::parse()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `--buckets` is read back as the type its field has (clap checks this only when
    /// the argument is given, so `debug_assert` cannot).
    #[test]
    fn serve_buckets_parse() {
        let cli = Cli::try_parse_from(["errlens", "serve", "--buckets", "0.005,0.01,1.28"])
            .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("serve");
        };
        assert_eq!(args.buckets, Some(Buckets(vec![0.005, 0.01, 1.28])));
        assert!(Cli::try_parse_from(["errlens", "serve", "--buckets", "1,0.5"]).is_err());
    }

    #[test]
    fn sizes_and_provider_hosts() {
        assert_eq!(parse_bytes("1MiB"), Ok(1 << 20));
        assert_eq!(parse_bytes("64k"), Ok(64 << 10));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("1").is_err());
        assert!(parse_bytes("lots").is_err());
        assert_eq!(
            parse_provider_host("cache.local:8080=TMDB"),
            Ok(("cache.local:8080".to_owned(), "tmdb".to_owned()))
        );
        assert!(parse_provider_host("cache.local=").is_err());
        assert!(parse_provider_host("cache.local").is_err());
        assert!(parse_shape("ECS").is_ok());
        assert!(parse_shape("json").unwrap_err().contains("logfmt"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("60"), Ok(60_000));
        assert_eq!(parse_duration_ms("60s"), Ok(60_000));
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("2m"), Ok(120_000));
        assert_eq!(parse_duration_ms("1.5s"), Ok(1_500));
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("5d").is_err());
        assert!(parse_duration_ms("0").is_err());
    }
}
