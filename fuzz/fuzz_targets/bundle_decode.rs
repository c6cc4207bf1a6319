//! Bundle reading: `decode_bundle` on arbitrary bytes; whatever decodes must be aligned, in
//! bounds and survive `encode_bundle` and a second decode. The checks live in `oracles.rs`
//! so a stable test can replay them.
#![no_main]

// Each target calls one of the three oracles.
#[allow(dead_code)]
mod oracles {
    include!("../oracles.rs");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::bundle_decode(data));
