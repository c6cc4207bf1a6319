//! The demo data set, written to a missing or empty data directory on first start.
//!
//! - `demo/pass.npz`: three five-minute ground-station passes at 50 Hz, 90 minutes of loss of
//!   signal apart (one orbit) — `t` (datetime64[ns] at a
//!   fixed rate), `bus_voltage`, four temperatures, `rssi` and an (N, 4) attitude quaternion,
//!   with plausible physics (sunlight heating, transmitter load steps, elevation-driven
//!   signal strength) and sensor noise. Beside them, housekeeping recorded on board at 1 Hz
//!   through the whole three hours, gaps included, and downlinked with the passes: `t_hk`
//!   (datetime64[ms]), `hk_battery_adc` (int16 ADC counts), `hk_solar_a` (float32 amps)
//!   and `hk_eclipse` (bool).
//! - `demo/vibration.npy`: 50 million float32 samples of an accelerometer at 25.6 kHz — two
//!   machine tones and broadband noise, with impact bursts (ringing that decays in tens of
//!   milliseconds) worth zooming into. No timestamps: a clock (`/api/clock`) gives it its
//!   start (the first pass's) and its rate, so it reads in time.
//!
//! Everything is derived from fixed seeds, so every machine gets the same bytes. Files are
//! written under a hidden temporary name and renamed into place, so a crash never leaves a
//! half-written array behind.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::wire::dtype::DType;
use crate::wire::npy::{NpyHeader, Version};

/// Samples of the big vibration series.
pub const VIBRATION_SAMPLES: usize = 50_000_000;
/// Its sample rate, Hz.
pub const VIBRATION_RATE: f64 = 25_600.0;
/// Samples of the pass telemetry (three passes of 5 minutes at 50 Hz).
pub const PASS_SAMPLES: usize = 45_000;
/// Passes in the demo telemetry.
pub const PASSES: usize = 3;
/// Loss of signal between two passes, seconds.
pub const PASS_GAP_S: f64 = 90.0 * 60.0;
/// One orbit, seconds: 62% of it in sunlight.
const ORBIT_S: f64 = 95.0 * 60.0;
/// Telemetry rate, Hz.
pub const PASS_RATE: f64 = 50.0;
/// Start of the pass: 2026-03-14T09:26:53Z, in ns since the Unix epoch.
pub const PASS_START_NS: i64 = 1_773_480_413_000_000_000;
/// Housekeeping rate, Hz (one sample a second, from a minute before the first pass to a
/// minute after the last).
pub const HK_RATE: f64 = 1.0;
/// Volts per count of the battery voltage's ADC.
const HK_VOLTS_PER_COUNT: f64 = 0.01;

/// Write the demo into `dir` if the directory is missing or holds nothing visible.
/// Returns whether it wrote anything.
///
/// # Errors
/// I/O errors creating the directory or the files.
pub fn ensure_demo(dir: &Path) -> std::io::Result<bool> {
    if dir.exists() {
        let visible = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .any(|e| !e.file_name().to_string_lossy().starts_with('.'));
        if visible {
            return Ok(false);
        }
    }
    let demo = dir.join("demo");
    std::fs::create_dir_all(&demo)?;
    write_pass(&demo.join("pass.npz"))?;
    write_vibration(&demo.join("vibration.npy"))?;
    // The accelerometer has no timestamps: its clock says when it ran, so it reads in time.
    let clocks = crate::server::clock::Clocks::new(dir.join(".downlink").join("clock"));
    clocks.set(
        "demo/vibration",
        &crate::catalog::Clock {
            start_ns: PASS_START_NS,
            rate_hz: VIBRATION_RATE,
        },
    )?;
    Ok(true)
}

fn header(descr: &str, shape: &[u64]) -> std::io::Result<Vec<u8>> {
    let dtype = DType::parse_descr(descr)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    Ok(NpyHeader {
        version: Version::V1,
        dtype,
        fortran_order: false,
        shape: shape.to_vec(),
    }
    .to_bytes())
}

/// Write `path` through a hidden temporary file in the same directory, then rename.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    write(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn f32_le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn npy_member(descr: &str, shape: &[u64], data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut doc = header(descr, shape)?;
    doc.extend_from_slice(data);
    Ok(doc)
}

/// Box–Muller-free cheap normal noise: the sum of four uniforms, scaled to unit variance.
fn noise(rng: &mut SmallRng) -> f64 {
    let sum: f64 = (0..4).map(|_| rng.gen::<f64>()).sum();
    (sum - 2.0) * (3.0f64).sqrt()
}

fn write_pass(path: &Path) -> std::io::Result<()> {
    let n = PASS_SAMPLES;
    let per_pass = n / PASSES;
    let mut rng = SmallRng::seed_from_u64(0x5A7_0001);
    let dt = 1.0 / PASS_RATE;
    let step_ns = (1e9 / PASS_RATE) as i64;
    let duration = per_pass as f64 * dt;
    // Seconds since the first sample: passes follow each other one gap apart.
    let elapsed =
        |i: usize| (i / per_pass) as f64 * (duration + PASS_GAP_S) + (i % per_pass) as f64 * dt;

    let t: Vec<u8> = (0..n)
        .flat_map(|i| {
            let gaps = (i / per_pass) as i64 * (PASS_GAP_S * 1e9) as i64;
            (PASS_START_NS + i as i64 * step_ns + gaps).to_le_bytes()
        })
        .collect();

    // The transmitter keys up in bursts while the station tracks; it loads the bus.
    let tx_on = |s: f64| (s > 60.0 && s < duration - 60.0) && ((s / 20.0) as i64 % 3 != 2);
    let mut bus = Vec::with_capacity(n);
    let mut rssi = Vec::with_capacity(n);
    let mut temps: [Vec<f32>; 4] = Default::default();
    let (mut battery, mut obc, mut panel_px, mut panel_mx) = (18.0, 24.0, -12.0, -15.0);
    let sunlit = |at: f64| at % ORBIT_S < ORBIT_S * 0.62;
    for i in 0..n {
        if i > 0 && i % per_pass == 0 {
            // Out of view: the temperatures go on following the sun, a second at a time.
            let from = elapsed(i - 1);
            for k in 0..PASS_GAP_S as usize {
                let sun = if sunlit(from + k as f64) { 1.0 } else { 0.0 };
                panel_px += ((-12.0 + 75.0 * sun) - panel_px) / 240.0;
                panel_mx += ((-15.0 + 25.0 * sun) - panel_mx) / 300.0;
                battery += ((18.0 + 2.0 * sun) - battery) / 900.0;
                obc += (24.0 - obc) / 120.0;
            }
        }
        // Seconds into this pass.
        let s = (i % per_pass) as f64 * dt;
        let load = if tx_on(s) { 0.45 } else { 0.0 };
        bus.push((28.1 - load - 0.0004 * s + 0.015 * noise(&mut rng)) as f32);
        // Elevation rises to the pass' culmination (each orbit passes the station at another
        // height); free-space loss follows the slant range.
        let culmination = [70.0, 32.0, 51.0][(i / per_pass) % 3];
        let phase = (s / duration - 0.5) * 2.0;
        let elevation = culmination * (1.0 - phase * phase).max(0.0);
        let slant = 550.0 / (elevation.to_radians().sin() + 0.08);
        let fade = 1.5 * (s * 0.7).sin() * (s * 0.05).cos();
        rssi.push((-30.0 - 20.0 * slant.log10() + fade + 0.8 * noise(&mut rng)) as f32);
        // First-order thermal lags toward sunlit or shadowed equilibria.
        let sun = if sunlit(elapsed(i)) { 1.0 } else { 0.0 };
        panel_px += dt * ((-12.0 + 75.0 * sun) - panel_px) / 240.0;
        panel_mx += dt * ((-15.0 + 25.0 * sun) - panel_mx) / 300.0;
        battery += dt * ((18.0 + 4.0 * load + 2.0 * sun) - battery) / 900.0;
        obc += dt * ((24.0 + 9.0 * load) - obc) / 120.0;
        let readings = [battery, obc, panel_px, panel_mx];
        for (series, value) in temps.iter_mut().zip(readings) {
            // Thermistors read in 0.0625 °C steps.
            let read = value + 0.05 * noise(&mut rng);
            series.push(((read / 0.0625).round() * 0.0625) as f32);
        }
    }

    // Slow spin about a tilted axis with reaction-wheel jitter, kept unit-norm.
    let mut attitude = Vec::with_capacity(n * 4);
    let axis = {
        let a = [0.2f64, -0.3, 0.93];
        let norm = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        [a[0] / norm, a[1] / norm, a[2] / norm]
    };
    for i in 0..n {
        let s = elapsed(i);
        let angle = 0.002 * s * std::f64::consts::TAU + 0.3;
        let (sin, cos) = (angle / 2.0).sin_cos();
        let mut q = [
            cos + 0.0005 * noise(&mut rng),
            axis[0] * sin + 0.0005 * noise(&mut rng),
            axis[1] * sin + 0.0005 * noise(&mut rng),
            axis[2] * sin + 0.0005 * noise(&mut rng),
        ];
        let norm = q.iter().map(|c| c * c).sum::<f64>().sqrt();
        for c in &mut q {
            *c /= norm;
        }
        attitude.extend(q.iter().flat_map(|c| c.to_le_bytes()));
    }

    let hk = housekeeping(duration, &tx_on, &sunlit, &mut rng);
    let len = n as u64;
    let hk_len = hk.t_ms.len() as u64;
    let members: Vec<(&str, Vec<u8>)> = vec![
        ("t.npy", npy_member("<M8[ns]", &[len], &t)?),
        ("bus_voltage.npy", npy_member("<f4", &[len], &f32_le(&bus))?),
        (
            "temp_battery.npy",
            npy_member("<f4", &[len], &f32_le(&temps[0]))?,
        ),
        (
            "temp_obc.npy",
            npy_member("<f4", &[len], &f32_le(&temps[1]))?,
        ),
        (
            "temp_panel_px.npy",
            npy_member("<f4", &[len], &f32_le(&temps[2]))?,
        ),
        (
            "temp_panel_mx.npy",
            npy_member("<f4", &[len], &f32_le(&temps[3]))?,
        ),
        ("rssi.npy", npy_member("<f4", &[len], &f32_le(&rssi))?),
        ("attitude.npy", npy_member("<f8", &[len, 4], &attitude)?),
        (
            "t_hk.npy",
            npy_member(
                "<M8[ms]",
                &[hk_len],
                &hk.t_ms
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
            )?,
        ),
        (
            "hk_battery_adc.npy",
            npy_member(
                "<i2",
                &[hk_len],
                &hk.battery_adc
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
            )?,
        ),
        (
            "hk_solar_a.npy",
            npy_member("<f4", &[hk_len], &f32_le(&hk.solar_a))?,
        ),
        ("hk_eclipse.npy", npy_member("|b1", &[hk_len], &hk.eclipse)?),
    ];
    write_atomically(path, |out| {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        // Stored, and 64-byte aligned: each member's data can be served straight from the map.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .with_alignment(64);
        for (name, doc) in &members {
            zip.start_file(*name, options)
                .map_err(std::io::Error::other)?;
            zip.write_all(doc)?;
        }
        let bytes = zip.finish().map_err(std::io::Error::other)?.into_inner();
        out.write_all(&bytes)
    })
}

/// Housekeeping at [`HK_RATE`]: its times (ms since the Unix epoch) and channels.
struct Housekeeping {
    t_ms: Vec<i64>,
    battery_adc: Vec<i16>,
    solar_a: Vec<f32>,
    eclipse: Vec<u8>,
}

/// One sample a second from a minute before the first pass to a minute after the last:
/// the battery charges in sunlight and sags under the transmitter, which keys up in passes
/// only (`tx_on` of the seconds into a pass); `sunlit` of the seconds since the first pass.
fn housekeeping(
    pass_s: f64,
    tx_on: &impl Fn(f64) -> bool,
    sunlit: &impl Fn(f64) -> bool,
    rng: &mut SmallRng,
) -> Housekeeping {
    let span = PASSES as f64 * pass_s + (PASSES - 1) as f64 * PASS_GAP_S;
    let count = ((span + 120.0) * HK_RATE) as usize;
    let mut hk = Housekeeping {
        t_ms: Vec::with_capacity(count),
        battery_adc: Vec::with_capacity(count),
        solar_a: Vec::with_capacity(count),
        eclipse: Vec::with_capacity(count),
    };
    let mut volts = 8.1;
    for k in 0..count {
        let at = k as f64 / HK_RATE - 60.0;
        let in_orbit = at.rem_euclid(pass_s + PASS_GAP_S);
        let transmitting = at >= 0.0 && in_orbit < pass_s && tx_on(in_orbit);
        let sun = sunlit(at.max(0.0));
        let solar = if sun {
            2.4 + 0.1 * (at / 300.0).sin()
        } else {
            0.0
        };
        let load = if transmitting { 1.9 } else { 0.6 };
        volts += (solar - load) * 0.0004 + (8.1 - volts) * 0.0005;
        hk.t_ms
            .push(PASS_START_NS / 1_000_000 + (at * 1000.0) as i64);
        let read = volts + 0.01 * noise(rng);
        hk.battery_adc
            .push((read / HK_VOLTS_PER_COUNT).round() as i16);
        hk.solar_a.push((solar + 0.02 * noise(rng)).max(0.0) as f32);
        hk.eclipse.push(u8::from(!sun));
    }
    hk
}

/// An impact: ringing at `freq` Hz that starts at `start` and decays with `tau` seconds.
#[derive(Debug, Clone, Copy)]
struct Burst {
    start: usize,
    amplitude: f64,
    freq: f64,
    tau: f64,
}

fn write_vibration(path: &Path) -> std::io::Result<()> {
    let n = VIBRATION_SAMPLES;
    let mut rng = SmallRng::seed_from_u64(0xB1B_0002);
    // Impacts every few seconds, a handful of them large.
    let mut bursts = Vec::new();
    let mut at = 0usize;
    loop {
        at += rng.gen_range((1.5 * VIBRATION_RATE) as usize..(6.0 * VIBRATION_RATE) as usize);
        if at >= n {
            break;
        }
        let big = rng.gen_bool(0.08);
        bursts.push(Burst {
            start: at,
            amplitude: if big {
                rng.gen_range(4.0..9.0)
            } else {
                rng.gen_range(0.6..2.0)
            },
            freq: rng.gen_range(1_800.0..4_200.0),
            tau: rng.gen_range(0.004..0.03),
        });
    }

    // Two cores: fill halves in parallel, each from its own seed, so the result is fixed.
    const CHUNK: usize = 1 << 20;
    let chunks = n.div_ceil(CHUNK);
    let mut samples = vec![0f32; n];
    let workers = std::thread::available_parallelism()
        .map_or(2, |p| p.get())
        .min(4);
    let per_worker = chunks.div_ceil(workers) * CHUNK;
    std::thread::scope(|scope| {
        for (w, part) in samples.chunks_mut(per_worker).enumerate() {
            let bursts = &bursts;
            scope.spawn(move || fill_vibration(part, w * per_worker, bursts));
        }
    });

    write_atomically(path, |out| {
        out.write_all(&header("<f4", &[n as u64])?)?;
        for block in samples.chunks(CHUNK) {
            out.write_all(&f32_le(block))?;
        }
        Ok(())
    })
}

/// Fill `out`, the samples starting at index `first`, of the vibration series.
fn fill_vibration(out: &mut [f32], first: usize, bursts: &[Burst]) {
    let mut rng = SmallRng::seed_from_u64(0xB1B_1000 + first as u64);
    let dt = 1.0 / VIBRATION_RATE;
    for (offset, value) in out.iter_mut().enumerate() {
        let t = (first + offset) as f64 * dt;
        // Shaft tone at 49.7 Hz with a 3rd harmonic, slowly modulated; broadband noise.
        let tone = 0.35 * (std::f64::consts::TAU * 49.7 * t).sin()
            + 0.12 * (std::f64::consts::TAU * 149.1 * t).sin() * (0.5 + 0.5 * (0.01 * t).sin());
        *value = (tone + 0.08 * noise(&mut rng)) as f32;
    }
    let last = first + out.len();
    for burst in bursts {
        let span = (burst.tau * 6.0 * VIBRATION_RATE) as usize;
        if burst.start >= last || burst.start + span <= first {
            continue;
        }
        let from = burst.start.max(first);
        let to = (burst.start + span).min(last);
        for index in from..to {
            let age = (index - burst.start) as f64 * dt;
            let ring = burst.amplitude
                * (-age / burst.tau).exp()
                * (std::f64::consts::TAU * burst.freq * age).sin();
            out[index - first] += ring as f32;
        }
    }
}

/// The live demo series, appended to by `--demo-live`.
pub const LIVE_NAME: &str = "demo/live";
/// Rows a second of the live series.
pub const LIVE_RATE: u32 = 50;
/// Rows per append (five appends a second).
const LIVE_BATCH: u32 = 10;

/// Append to [`LIVE_NAME`] at [`LIVE_RATE`] rows a second, through the same write path as
/// `POST /api/arrays/{name}`, until the process ends.
pub fn spawn_live(state: crate::server::AppState) {
    tokio::spawn(async move {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/x-npy"),
        );
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(u64::from(
            1000 * LIVE_BATCH / LIVE_RATE,
        )));
        let mut rng = SmallRng::seed_from_u64(0x11FE);
        let mut phase = 0.0f64;
        loop {
            tick.tick().await;
            let rows: Vec<f32> = (0..LIVE_BATCH)
                .map(|_| {
                    phase += 0.02;
                    (phase.sin() * 2.0 + (phase * 0.13).sin() * 5.0 + 0.3 * noise(&mut rng)) as f32
                })
                .collect();
            let body = match header("<f4", &[u64::from(LIVE_BATCH)]) {
                Ok(mut doc) => {
                    doc.extend_from_slice(&f32_le(&rows));
                    doc
                }
                Err(_) => return,
            };
            let result = crate::server::write::append(
                &state.store,
                &state.levels,
                &state.writer,
                LIVE_NAME,
                &headers,
                axum::body::Body::from(body),
            )
            .await;
            if let Err(err) = result {
                tracing::warn!("live demo append failed: {err}");
            }
        }
    });
}
