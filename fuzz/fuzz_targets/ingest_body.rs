//! cargo-fuzz harness of the `ingest_body` target: the oracle is `errlens_fuzz::ingest_body`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| errlens_fuzz::ingest_body(data));
