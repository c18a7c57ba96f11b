//! Request-log parsing for errlens: bytes in, borrowed [`Record`]s out.
//!
//! This crate owns everything between raw input bytes and a typed request record:
//! opening inputs (files, stdin, gzip, see [`input`]), splitting them into bounded lines
//! ([`lines`]), recognising the JSON-lines shapes errlens reads and mapping their field
//! aliases ([`record`]), and timestamps ([`timestamp`]). It knows nothing about what a
//! status *means*; that is `errlens-classify`'s job.
#![deny(missing_docs)]

mod fast;
pub mod input;
pub mod lines;
pub mod record;
pub mod timestamp;
mod value;

pub use input::{open_input, InputError};
pub use lines::{is_blank, Line, LineReader, DEFAULT_MAX_LINE};
pub use record::{parse_line, ParseError, Provider, Record, StatusSource};
