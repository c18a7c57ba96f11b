//! cargo-fuzz harness of the `audit_merge` target: the oracle is `errlens_fuzz::audit_merge`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| errlens_fuzz::audit_merge(data));
