//! Upload validation: `check_upload` on the whole body, on the prefix the server reads and
//! with a length claimed by the first 8 bytes, checked against `parse_npy`. The checks live
//! in `oracles.rs` so a stable test can replay them.
#![no_main]

// Each target calls one of the three oracles.
#[allow(dead_code)]
mod oracles {
    include!("../oracles.rs");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::upload(data));
