//! Request-log parsing for errlens — the one ingest front: bytes in, borrowed
//! [`Record`]s out.
//!
//! This crate owns everything between raw input bytes and a typed request record:
//! opening inputs and decompressing them ([`input`]), the one line framer with one cap
//! ([`frame`]), shapes — how a log's structure maps onto a record ([`shape`], custom ones
//! in [`mapping`]) — their detection ([`detect`]), record building (`raw`) and the
//! decoder that hands records to a consumer ([`front`]). Which provider a record is
//! for comes from a [`ProviderMap`] built from the provider definitions ([`provider`]).
//! It knows nothing about what a status *means*; that is `errlens-classify`'s job.
#![deny(missing_docs)]

pub mod detect;
mod find;
pub mod frame;
pub mod front;
pub mod input;
pub mod mapping;
pub mod provider;
mod raw;
pub mod record;
pub mod redact;
pub mod shape;
pub mod timestamp;
mod value;
pub mod word;

pub use frame::{is_blank, Framer, Frames, DEFAULT_MAX_LINE};
pub use front::{Decoder, IngestConfig, RecordSink};
pub use input::{open_input, InputError};
pub use provider::{EnvelopeSlot, ProviderId, ProviderMap};
pub use record::{ParseError, Record, StatusSource};
#[doc(hidden)]
pub use shape::flat::fast_and_serde;
pub use shape::flat::{parse_line, parse_line_with};
pub use shape::{Shape, ShapeKind};
