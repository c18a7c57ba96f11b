//! cargo-fuzz harness of the `fast_vs_serde` target: the oracle is `errlens_fuzz::fast_vs_serde`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| errlens_fuzz::fast_vs_serde(data));
