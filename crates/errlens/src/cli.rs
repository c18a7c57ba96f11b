//! Command-line interface definition (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Turn Simkl and TMDB API request logs into answers: what fails, why, and whether
/// your clients retry correctly.
#[derive(Debug, Parser)]
#[command(name = "errlens", version, about, long_about = None)]
#[command(after_help = "Examples:\n  \
    errlens report app.log                 failures by provider, status and error id\n  \
    errlens report --format json logs/*.gz machine-readable (schema errlens.report/v1)\n  \
    kubectl logs app | errlens report -    read standard input\n  \
    errlens explain tmdb 25                what TMDB code 25 means and what to do\n  \
    errlens explain simkl client_id_failed\n  \
    errlens tables --format markdown       both classification tables")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit request logs: failures by provider, status, error id and class.
    Report(ReportArgs),
    /// Combine summaries written by `report --emit-summary` into one report.
    Merge(MergeArgs),
    /// Explain one Simkl status or error id, or one TMDB code.
    Explain(ExplainArgs),
    /// Print the Simkl and TMDB classification tables.
    Tables(TablesArgs),
}

/// Report output formats.
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
    /// JSON-lines request logs (gzip is detected and decompressed); `-` reads standard
    /// input, which is also the default when it is not a terminal.
    #[arg(value_name = "FILES")]
    pub files: Vec<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the full aggregate state to FILE, for `errlens merge`.
    #[arg(long, value_name = "FILE")]
    pub emit_summary: Option<PathBuf>,

    /// How many malformed lines to list (all are counted).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub malformed_sample: usize,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Summary files written by `errlens report --emit-summary`.
    #[arg(value_name = "SUMMARIES", required = true)]
    pub summaries: Vec<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Providers with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableProvider {
    /// Simkl: HTTP statuses and `error` ids.
    Simkl,
    /// TMDB: `status_code` 1-47.
    Tmdb,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Which provider's table to look in.
    #[arg(value_enum)]
    pub provider: TableProvider,

    /// A Simkl HTTP status (412) or error id (client_id_failed), or a TMDB code (25).
    pub code: String,

    /// Output format (table or json).
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Only this provider's table.
    #[arg(long, value_enum)]
    pub provider: Option<TableProvider>,
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
}
