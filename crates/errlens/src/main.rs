//! The `errlens` binary: argument parsing, rendering and exit codes.
//!
//! Everything that decides *what* a log means lives in the library crates; this binary
//! only wires inputs to an audit and renders the result. Exit codes are decided in
//! [`run`] alone: 0 success, 1 when a `--fail-on` gate tripped, 2 for usage errors and
//! inputs that could not be read, 3 when an input had lines but not one of them was
//! understood (2 and 3 take precedence over 1). A closed pipe
//! (`errlens report … | head`) is not an error.

mod cli;
mod cmd;
mod duration;
mod output;
mod render;

use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("errlens: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Parses arguments, runs the command and maps its outcome to an exit code.
fn run() -> anyhow::Result<ExitCode> {
    let args = cli::parse();
    render::term::init(args.color, args.width);
    let outcome = match args.command {
        cli::Command::Report(a) => cmd::report::run(a)?,
        cli::Command::Merge(a) => cmd::report::merge(a)?,
        cli::Command::Explain(a) => cmd::explain::run(a)?,
        cli::Command::Tables(a) => cmd::tables::run(a)?,
        cli::Command::Providers(a) => cmd::providers::run(a)?,
        cli::Command::Shapes(a) => cmd::shapes::run(a)?,
        cli::Command::Diff(a) => cmd::diff::run(a)?,
        cli::Command::Completions(a) => cmd::docs::completions(a)?,
        cli::Command::Man => cmd::docs::man()?,
        cli::Command::Gen(a) => cmd::gen::run(a)?,
        cli::Command::Serve(a) => cmd::serve::run(a)?,
    };
    Ok(match outcome {
        cmd::Outcome::Ok => ExitCode::SUCCESS,
        cmd::Outcome::InputErrors => ExitCode::from(2),
        cmd::Outcome::NothingUnderstood => ExitCode::from(3),
        cmd::Outcome::GatesTripped => ExitCode::from(1),
    })
}
