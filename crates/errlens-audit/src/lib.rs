//! Stateful analysis of classified API requests, and the report it produces.
//!
//! An [`Auditor`] consumes lines (or already parsed records), classifies them and keeps
//! every aggregate errlens reports. [`Auditor::finish`] yields a [`Summary`]: the
//! complete, serializable aggregate state, which merges with other summaries
//! ([`Summary::merge`]) so shards of a large audit can be processed anywhere and
//! combined. [`Report`] is the versioned, documented JSON contract rendered from a
//! summary (`errlens.report/v1`).
#![deny(missing_docs)]

mod auditor;
mod intern;
pub mod report;
pub mod summary;

pub use auditor::{AuditConfig, Auditor};
pub use report::{Group, MalformedLine, Report, SCHEMA};
pub use summary::{InputStats, Summary, SummaryError, SUMMARY_SCHEMA};
