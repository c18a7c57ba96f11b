//! The subcommands. Each returns an [`Outcome`]; `main` maps it to an exit code.

pub mod diff;
pub mod docs;
pub mod explain;
pub mod gen;
pub mod ingest;
pub mod providers;
pub mod report;
pub mod serve;
pub mod shapes;
pub mod tables;

/// How a command ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was read and rendered.
    Ok,
    /// The report was rendered, but some inputs could not be (fully) read.
    InputErrors,
    /// The report was rendered, but an input had lines and not one record was
    /// understood in them.
    NothingUnderstood,
    /// The report was rendered, and a `--fail-on` gate tripped.
    GatesTripped,
}
