//! The Simkl and TMDB error tables, and the classifier that applies them.
//!
//! The tables in [`tables`] are transcriptions of the providers' own pages (Simkl's
//! error conventions and TMDB's status-code table), one row per code, each with a
//! class, whether it is a failure, a retry policy, a message for end users and a remedy
//! for the developer. [`classify`] turns a parsed [`Record`](errlens_parse::Record)
//! into a [`Verdict`] using them. It is a pure, allocation-free function: it runs once
//! per log line.
#![deny(missing_docs)]

mod classify;
pub mod tables;

pub use classify::{classify, classify_parts, shown_error_id, ErrorLabel, Rule, Verdict};
pub use tables::{Class, RetryPolicy, RowInfo, SimklErrorRow, SimklStatusRow, TmdbRow};
