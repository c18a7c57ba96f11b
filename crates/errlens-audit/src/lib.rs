//! Stateful analysis of classified API requests, and the report it produces.
//!
//! An [`Auditor`] consumes lines (or already parsed records), classifies them and keeps
//! every aggregate errlens reports: counts by provider, status and error; retry chains
//! and the judgement of each retry ([`chains`]); 429/412 pressure per provider, client,
//! endpoint and minute; latency histograms ([`latency`]). [`Auditor::finish`] yields a
//! [`Summary`]: the complete, serializable aggregate state, which merges with other
//! summaries ([`Summary::merge`]) so shards of a large audit can be processed anywhere
//! and combined. [`Report`] is the versioned, documented JSON contract rendered from a
//! summary (`errlens.report/v1`).
#![deny(missing_docs)]

mod auditor;
mod capped;
mod chain_table;
pub mod chains;
pub mod diff;
pub mod endpoint;
pub mod filter;
pub mod gate;
pub mod latency;
pub mod parallel;
mod path_cache;
pub mod report;
pub mod summary;

pub use auditor::{AuditConfig, Auditor, Caps, MAX_CLIENTS, MAX_ENDPOINTS, MAX_ERRORS};
pub use capped::{cut_to, MAX_NAME_BYTES};
pub use report::{Group, MalformedLine, Report, ReportOptions, SCHEMA};
pub use summary::{InputStats, Summary, SummaryError, SUMMARY_SCHEMA};
