//! `.npy` reading: `parse_npy` (both trailing modes), `NpyHeader::parse` and the header
//! literal parser on arbitrary bytes, with a write-and-re-read round trip and a preview of
//! whatever parses. The checks live in `oracles.rs` so a stable test can replay them.
#![no_main]

// Each target calls one of the three oracles.
#[allow(dead_code)]
mod oracles {
    include!("../oracles.rs");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::npy_decode(data));
