//! Providers as data, and the classifier that applies them.
//!
//! A provider — Simkl, TMDB, or any API a user describes — is one TOML definition
//! ([`def`]): its hosts, its response envelope, its status and error tables (each row
//! with a class, whether it is a failure, a retry policy, a message for end users and
//! a remedy for the developer) and its rate-limit facts. A [`Registry`] holds the
//! definitions a run loads, built in and from `--providers` files, and gives every
//! provider an index. [`Registry::classify`] turns a parsed
//! [`Record`](errlens_parse::Record) into a [`Verdict`]: a pure, allocation-free
//! function that runs once per log line. [`tables`] holds the closed vocabularies and
//! the generic HTTP table for statuses no provider lists.
#![deny(missing_docs)]

mod classify;
pub mod def;
mod fast;
pub mod registry;
pub mod tables;

pub use classify::{shown_error_id, Envelope, ErrorLabel, Group, Rule, Verdict};
pub use def::{DefError, ErrorKey, ErrorRow, ErrorsBy, Provider, Source, StatusRow};
pub use registry::{Registry, Stamp, BUILTIN, UNKNOWN};
pub use tables::{Class, RetryPolicy, RowInfo};
