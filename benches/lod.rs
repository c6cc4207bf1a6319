//! LOD query time: exact M4 of a 100M-sample float32 series in 2,000 bins over random
//! windows, from the pyramid and by a full scan of the same windows; and the window
//! statistics (count, min, max, mean, RMS, std) of the same windows from the pyramid and the
//! moment tree, against a plain scan. Prints a table; run
//! with `cargo bench --bench lod` (or `./dev bench`). Not a test: nothing here asserts.

use std::time::{Duration, Instant};

use downlink::lod::{m4_scan, MomentTree, Moments, Pyramid};

const SAMPLES: usize = 100_000_000;
const BINS: usize = 2_000;
const WINDOWS: usize = 400;

/// A deterministic vibration-like series: tones, noise and bursts.
fn series() -> Vec<f32> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    (0..SAMPLES)
        .map(|i| {
            let t = i as f32 * 1e-4;
            (t * 31.0).sin() * 0.4
                + next() * 0.2
                + if i % 3_000_000 < 2_000 {
                    next() * 8.0
                } else {
                    0.0
                }
        })
        .collect()
}

/// Windows with widths spread log-uniformly from 1,000 samples to the whole series.
fn windows() -> Vec<(u64, u64)> {
    let mut state = 42u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..WINDOWS)
        .map(|_| {
            let width =
                (1e3f64.ln() + uniform() * ((SAMPLES as f64).ln() - 1e3f64.ln())).exp() as u64;
            let start = (uniform() * (SAMPLES as u64 - width) as f64) as u64;
            (start, start + width)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn main() {
    let samples = series();
    let started = Instant::now();
    let pyramid = Pyramid::build(&samples);
    let build = started.elapsed();
    let started = Instant::now();
    let moments = MomentTree::build(&samples);
    let moments_build = started.elapsed();
    let windows = windows();

    let time = |f: &dyn Fn(u64, u64)| {
        let mut all: Vec<Duration> = windows
            .iter()
            .map(|&(a, b)| {
                let t = Instant::now();
                f(a, b);
                t.elapsed()
            })
            .collect();
        all.sort();
        all
    };
    let lod = time(&|a, b| {
        std::hint::black_box(pyramid.m4(&samples, a, b, BINS).expect("valid window"));
    });
    let scan = time(&|a, b| {
        std::hint::black_box(m4_scan(&samples, a, b, BINS).expect("valid window"));
    });

    let stats = time(&|a, b| {
        std::hint::black_box(pyramid.min_max(&samples, a, b).expect("valid window"));
        std::hint::black_box(moments.query(&samples, a, b).expect("valid window"));
    });
    let stats_scan = time(&|a, b| {
        std::hint::black_box(m4_scan(&samples, a, b, 1).expect("valid window"));
        std::hint::black_box(Moments::of(&samples, a as usize, b as usize));
    });
    let widest = {
        let t = Instant::now();
        for _ in 0..100 {
            std::hint::black_box(pyramid.min_max(&samples, 1, SAMPLES as u64 - 1).ok());
            std::hint::black_box(moments.query(&samples, 1, SAMPLES as u64 - 1).ok());
        }
        t.elapsed() / 100
    };

    println!("\nLOD of {SAMPLES} float32 samples, {BINS} bins, {WINDOWS} random windows (1e3 to 1e8 samples wide)");
    println!(
        "pyramid build: {} ms, memory {:.1} MB ({:.2}% of the data)\n",
        ms(build),
        pyramid.memory_bytes() as f64 / 1e6,
        100.0 * pyramid.memory_bytes() as f64 / (SAMPLES * 4) as f64
    );
    println!(
        "moment tree build: {} ms, memory {:.1} MB ({:.2}% of the data)\n",
        ms(moments_build),
        moments.memory_bytes() as f64 / 1e6,
        100.0 * moments.memory_bytes() as f64 / (SAMPLES * 4) as f64
    );
    println!("| method | p50 ms | p90 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (name, t) in [
        ("pyramid (`/api/lod`)", &lod),
        ("full scan of the window", &scan),
        (
            "window statistics: pyramid + moment tree (`/api/stats`)",
            &stats,
        ),
        ("window statistics: scan of the window", &stats_scan),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} |",
            ms(percentile(t, 0.5)),
            ms(percentile(t, 0.9)),
            ms(percentile(t, 0.99)),
            ms(*t.last().unwrap_or(&Duration::ZERO))
        );
    }
    println!(
        "\nwindow statistics of [1, {}) (the whole series but its ends): {} ms",
        SAMPLES - 1,
        ms(widest)
    );
}
