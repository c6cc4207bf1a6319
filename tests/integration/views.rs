//! What a view is made of, as the server assembles it: each series with its own
//! timestamps, several rates on one time axis, the others by index with a notice, arrays
//! added from anywhere, and the first frame stacked and overlaid as the URL says.
#![cfg(feature = "ssr")]

use crate::common;

use downlink::catalog::{ChartInit, ViewData};
use downlink::server::views::{view, ViewQuery};
use downlink::server::write::WriteConfig;
use downlink::server::AppState;
use leptos::prelude::LeptosOptions;

use common::{f64s, save};

/// 2026-01-01T00:00:00Z in ns.
const START_NS: i64 = 1_767_225_600_000_000_000;

fn datetimes(counts: impl IntoIterator<Item = i64>) -> Vec<u8> {
    counts.into_iter().flat_map(i64::to_le_bytes).collect()
}

/// A group at two rates: `fast` at 10 Hz by `t` (ns) over 100 s, `hk_volts` and `hk_amps`
/// at 1 Hz by `t_hk` (ms) over 300 s starting a minute earlier, `raw` with no timestamps
/// of its length, `nat` whose own timestamps hold a NaT, and a string array.
fn fixture() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    save(
        p,
        "rig/t",
        "<M8[ns]",
        &[1000],
        false,
        &datetimes((0..1000).map(|i| START_NS + i * 100_000_000)),
    );
    save(
        p,
        "rig/fast",
        "<f8",
        &[1000],
        false,
        &f64s((0..1000).map(f64::from)),
    );
    let hk_ms = (0..300).map(|i| START_NS / 1_000_000 - 60_000 + i * 1000);
    save(p, "rig/t_hk", "<M8[ms]", &[300], false, &datetimes(hk_ms));
    let counts: Vec<u8> = (0..300i16).flat_map(|i| (2800 + i).to_le_bytes()).collect();
    save(p, "rig/hk_volts", "<i2", &[300], false, &counts);
    save(
        p,
        "rig/hk_amps",
        "<f4",
        &[300],
        false,
        &(0..300)
            .flat_map(|i| (i as f32).to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    save(
        p,
        "rig/raw",
        "<f8",
        &[7],
        false,
        &f64s((0..7).map(f64::from)),
    );
    let mut stamps: Vec<i64> = (0..50).map(|i| START_NS + i).collect();
    stamps[20] = i64::MIN;
    save(p, "rig/t_nat", "<M8[ns]", &[50], false, &datetimes(stamps));
    save(
        p,
        "rig/nat",
        "<f8",
        &[50],
        false,
        &f64s((0..50).map(f64::from)),
    );
    save(p, "rig/names", "|S2", &[2], false, b"abcd");
    // Elsewhere: a series with timestamps under another name, and plain values.
    save(
        p,
        "lab/t_probe",
        "<M8[s]",
        &[5],
        false,
        &datetimes((0..5).map(|i| START_NS / 1_000_000_000 + 30 * i)),
    );
    save(
        p,
        "lab/probe",
        "<f8",
        &[5],
        false,
        &f64s([1.0, 2.0, 3.0, 4.0, 5.0]),
    );
    save(
        p,
        "lab/clock",
        "<M8[s]",
        &[5],
        false,
        &datetimes((0..5).map(|i| START_NS / 1_000_000_000 + i)),
    );
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        p,
        WriteConfig::default(),
    );
    (dir, state)
}

fn charts(data: &ViewData) -> &[ChartInit] {
    data.charts.as_ref().expect("charts")
}

/// The text of every `<text>` element of an SVG.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim())
        })
        .collect()
}

fn keys(chart: &ChartInit) -> Vec<&str> {
    chart.series.iter().map(|s| s.key.as_str()).collect()
}

#[test]
fn a_group_at_several_rates_charts_every_member() {
    let (_dir, state) = fixture();
    let data = view(&state, "rig", &ViewQuery::default(), 8).unwrap();
    let charts = charts(&data);
    assert_eq!(
        charts.len(),
        3,
        "in time, and by index for two other lengths"
    );

    // Both rates on one time axis, each series by its own timestamps.
    let timed = &charts[0];
    assert_eq!(keys(timed), ["fast", "hk_amps", "hk_volts"]);
    let axis = timed.time.expect("a time axis");
    assert_eq!(
        axis.first_ns,
        START_NS - 60_000_000_000,
        "the housekeeping starts first"
    );
    assert_eq!(axis.last_ns, START_NS + 239_000_000_000, "and ends last");
    assert_eq!(
        axis.spacing_ns,
        Some(100_000_000),
        "the finer spacing bounds the zoom"
    );
    let by = |key: &str| timed.series.iter().find(|s| s.key == key).unwrap();
    let fast = by("fast").time.as_ref().unwrap();
    assert_eq!((fast.array.as_str(), fast.unit_ns), ("rig/t", 1));
    let hk = by("hk_volts").time.as_ref().unwrap();
    assert_eq!((hk.array.as_str(), hk.unit_ns), ("rig/t_hk", 1_000_000));
    assert_eq!(hk.spacing_ns, Some(1_000_000_000));
    assert!(timed.url.is_some(), "the main chart keeps the address bar");

    // Nothing is dropped without a word: the NaT member, the unmatched length and the
    // string array are each named in a notice.
    let notices = timed.notices.join("\n");
    assert!(
        notices.contains("timestamp 20 is NaT") && notices.contains("rig/t_nat"),
        "{notices}"
    );
    assert!(notices.contains("names is not charted"), "{notices}");
    let by_index: Vec<Vec<&str>> = charts[1..].iter().map(keys).collect();
    assert_eq!(by_index, [vec!["nat"], vec!["raw"]]);
    for chart in &charts[1..] {
        assert!(chart.time.is_none() && chart.url.is_none());
        assert!(
            chart
                .notices
                .iter()
                .any(|n| n.starts_with("By sample index")),
            "{:?}",
            chart.notices
        );
    }
    // The timestamps are the axis, not series.
    assert!(charts
        .iter()
        .flat_map(|c| keys(c))
        .all(|k| !k.starts_with('t')));
    // The first frame draws all three panels of the time chart.
    assert_eq!(
        timed.svg.matches("<polyline").count(),
        3,
        "one line per panel"
    );
}

#[test]
fn arrays_from_anywhere_join_the_view_and_overlay_where_asked() {
    let (_dir, state) = fixture();
    let query = ViewQuery {
        added: vec![
            "lab/probe".into(),
            "lab/clock".into(),
            "lab/probe@lab/clock".into(),
            "missing/x".into(),
            "lab/probe@rig/fast".into(),
        ],
        joined: vec!["lab/probe".into()],
        hidden: vec!["hk_amps".into()],
        ..ViewQuery::default()
    };
    let data = view(&state, "rig/fast", &query, 8).unwrap();
    let main = &charts(&data)[0];
    // The base array by its group's timestamps, the added one by its own (t_probe).
    assert_eq!(keys(main), ["fast", "lab/probe"]);
    let probe = main.series[1].time.as_ref().unwrap();
    assert_eq!(
        (probe.array.as_str(), probe.unit_ns),
        ("lab/t_probe", 1_000_000_000)
    );
    // A datetime array added on its own is charted by index; an array added twice counts
    // once; what cannot be added says why.
    let notices = main.notices.join("\n");
    assert!(notices.contains("Could not add missing/x"), "{notices}");
    assert!(
        notices.contains("Could not add lab/probe@rig/fast") && notices.contains("datetime64"),
        "{notices}"
    );
    assert_eq!(keys(&charts(&data)[1]), ["lab/clock"]);
    // Overlaid: one panel holds both lines.
    assert_eq!(main.svg.matches("<polyline").count(), 2);
    let overlaid = texts(&main.svg);
    assert!(
        overlaid.contains(&"fast") && overlaid.contains(&"lab/probe"),
        "{overlaid:?}"
    );
    // Without the overlay, two panels: one more set of y labels.
    let stacked = view(
        &state,
        "rig/fast",
        &ViewQuery {
            joined: Vec::new(),
            ..query.clone()
        },
        8,
    )
    .unwrap();
    let stacked = &charts(&stacked)[0];
    assert!(stacked.svg.len() > main.svg.len());
    assert!(texts(&stacked.svg).len() > overlaid.len());

    // NAME@TIMES charts by the timestamps named.
    let query = ViewQuery {
        added: vec!["lab/probe@lab/clock".into()],
        ..ViewQuery::default()
    };
    let data = view(&state, "rig/fast", &query, 8).unwrap();
    let probe = charts(&data)[0].series[1].time.as_ref().unwrap();
    assert_eq!(probe.array, "lab/clock");
}

#[test]
fn a_shared_window_in_time_is_kept_from_the_url() {
    let (_dir, state) = fixture();
    let query = ViewQuery {
        t0: Some(START_NS),
        t1: Some(START_NS + 10_000_000_000),
        ..ViewQuery::default()
    };
    let data = view(&state, "rig", &query, 8).unwrap();
    let main = &charts(&data)[0];
    let axis = main.time.unwrap();
    assert_eq!(
        main.window,
        (
            axis.x_of_ns(START_NS),
            axis.x_of_ns(START_NS + 10_000_000_000)
        )
    );
    // The charts by index start whole: the URL's window is the main chart's.
    let raw = &charts(&data)[2];
    assert_eq!(raw.window, (0.0, 7.0));
    // time= must be timestamps.
    let bad = ViewQuery {
        time: Some("rig/fast".into()),
        ..ViewQuery::default()
    };
    let err = view(&state, "rig", &bad, 8).unwrap_err();
    assert_eq!(err.status().as_u16(), 422);
}
