//! The terminal the text formats are written for: whether to colour (`--color
//! auto|always|never`, honouring `NO_COLOR`) and how wide a table may be (`--width`,
//! else the terminal's width when standard output is one). Set once by `main`.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// What the text renderers may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Term {
    /// Whether to use ANSI colours.
    pub color: bool,
    /// The widest a table line may be (`None`: no limit).
    pub width: Option<usize>,
}

static TERM: OnceLock<Term> = OnceLock::new();

/// Decides the terminal from the options and the environment.
pub fn init(choice: ColorChoice, width: Option<usize>) {
    let tty = std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let color = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && !no_color && !dumb,
    };
    let width = width.or_else(|| {
        tty.then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .flatten()
    });
    let _ = TERM.set(Term { color, width });
}

/// The terminal (plain, unlimited until [`init`]).
pub fn get() -> Term {
    TERM.get().copied().unwrap_or_default()
}

/// A colour for a table row or a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// Failures that no retry fixes.
    Red,
    /// Rate limits.
    Yellow,
}

impl Paint {
    /// `text` in this colour when colours are on.
    pub fn apply(self, text: &str, term: Term) -> String {
        if !term.color {
            return text.to_owned();
        }
        let code = match self {
            Paint::Red => "31",
            Paint::Yellow => "33",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}
