//! Replays the fuzzers' kept corpus and every regression input through the same checks the
//! fuzz targets run (`fuzz/oracles.rs`), on stable Rust: what the fuzzers once found stays
//! fixed. The fuzzers themselves (`cargo +nightly fuzz run <target>`) are not run in CI.

#[allow(dead_code)]
mod oracles {
    include!("../../fuzz/oracles.rs");
}

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut found = Vec::new();
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let bytes = std::fs::read(entry.path()).unwrap();
                found.push((entry.path().display().to_string(), bytes));
            }
        }
    }
    found
}

fn replay(target: &str, oracle: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no corpus for {target}");
    for (path, bytes) in &inputs {
        let result = std::panic::catch_unwind(|| oracle(bytes));
        assert!(result.is_ok(), "{target}: {path} fails its oracle");
    }
}

#[test]
fn npy_decode_corpus() {
    replay("npy_decode", oracles::npy_decode);
}

#[test]
fn bundle_decode_corpus() {
    replay("bundle_decode", oracles::bundle_decode);
}

#[test]
fn upload_corpus() {
    replay("upload", oracles::upload);
}
