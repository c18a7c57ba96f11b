//! cargo-fuzz harness of the `shapes` target: the oracle is `errlens_fuzz::shapes`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| errlens_fuzz::shapes(data));
