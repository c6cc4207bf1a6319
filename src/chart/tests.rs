//! The chart's contract: ticks, calendar arithmetic, layout and the frames it draws.

use plotters::prelude::{IntoDrawingArea, SVGBackend};
use proptest::prelude::*;

use super::ticks::nice_ticks_from;
use super::time::{civil_from_days, days_from_civil, time_ticks_exact};
use super::*;
use crate::lod::{m4_scan, M4Bin};

// ---------------------------------------------------------------------------------------
// Helpers.

const NS_PER_S: i64 = 1_000_000_000;
const NS_PER_DAY: i64 = 86_400 * NS_PER_S;
/// 2026-03-14T09:26:53Z.
const PI_DAY: i64 = 1_773_480_413_000_000_000;

/// The step between consecutive ticks, checked to be one nice step for all of them.
fn common_step(ticks: &[(f64, String)], context: &str) -> Option<f64> {
    let step = ticks.get(1)?.0 - ticks.first()?.0;
    for pair in ticks.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        // Far from zero a tick is only exact to its own ulps: -167837376.8 and the next
        // one can be 0.2 apart to within 3e-8.
        let magnitude = pair[0].0.abs().max(pair[1].0.abs());
        let slack = step * 1e-9 + 4.0 * f64::EPSILON * magnitude;
        assert!(
            (gap - step).abs() <= slack,
            "{context}: uneven gap {gap} vs {step}"
        );
    }
    Some(step)
}

/// Whether `step` is 1, 2 or 5 × 10^k.
/// The 1, 2, 2.5 or 5 × 10^k within `tolerance` (relative) of `step`, if there is one.
fn nice_near(step: f64, tolerance: f64) -> Option<f64> {
    let exponent = step.log10().floor();
    let scale = 10f64.powf(exponent);
    let mantissa = step / scale;
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| (mantissa - m).abs() <= tolerance * m)
        .map(|m| m * scale)
}

/// A label read back as a number (SI suffixes and exponent form included).
fn parse_label(label: &str) -> f64 {
    let (number, factor) = match label.chars().last() {
        Some('k') => (&label[..label.len() - 1], 1e3),
        Some('M') => (&label[..label.len() - 1], 1e6),
        Some('G') => (&label[..label.len() - 1], 1e9),
        Some('T') => (&label[..label.len() - 1], 1e12),
        _ => (label, 1.0),
    };
    number
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("label {label:?} is not a number"))
        * factor
}

/// Checks everything `nice_ticks` promises for one range.
fn check_nice(lo: f64, hi: f64, max_ticks: usize) {
    let context = format!("nice_ticks({lo:e}, {hi:e}, {max_ticks})");
    let ticks = nice_ticks(lo, hi, max_ticks);
    assert!(ticks.len() <= max_ticks, "{context}: {} ticks", ticks.len());
    assert!(ticks.len() >= 2, "{context}: only {ticks:?}");
    for (value, label) in &ticks {
        assert!(
            *value >= lo - (hi - lo) * 1e-12 && *value <= hi + (hi - lo) * 1e-12,
            "{context}: {value} outside"
        );
        // Sign and fifteen digits: a narrow window far from zero needs them all.
        assert!(label.len() <= 16, "{context}: long label {label:?}");
        assert!(
            !label.contains("00000001") && !label.contains("9999999"),
            "{context}: float noise in {label:?}"
        );
        let back = parse_label(label);
        let step = common_step(&ticks, &context).unwrap_or(1.0);
        assert!(
            (back - value).abs() <= step * 1e-6,
            "{context}: {label:?} reads {back}, not {value}"
        );
    }
    let step = common_step(&ticks, &context).expect("two ticks");
    // Ticks far from zero carry their own rounding into the measured step.
    let tolerance = 1e-9 + 8.0 * f64::EPSILON * lo.abs().max(hi.abs()) / step;
    let Some(step) = nice_near(step, tolerance) else {
        panic!("{context}: step {step}");
    };
    for (value, _) in &ticks {
        let multiple = value / step;
        assert!(
            (multiple - multiple.round()).abs() < 1e-6,
            "{context}: {value} is not a multiple of {step}"
        );
    }
    let labels: std::collections::HashSet<_> = ticks.iter().map(|(_, l)| l).collect();
    assert_eq!(
        labels.len(),
        ticks.len(),
        "{context}: repeated labels in {ticks:?}"
    );
}

fn bin_of(index: u64, value: f64) -> M4Bin {
    M4Bin {
        first_index: index,
        first: value,
        min_index: index,
        min: value,
        max_index: index,
        max: value,
        last_index: index,
        last: value,
    }
}

fn series(name: &str, color: usize, bins: Vec<M4Bin>) -> Series {
    Series {
        name: name.to_owned(),
        unit: String::new(),
        color,
        bins,
        gap: None,
        spacing: 1.0,
    }
}

fn spec(width: f64, x_range: (f64, f64), x_axis: XAxis, panels: Vec<Series>) -> ChartSpec {
    ChartSpec {
        width,
        height: panels.len().max(1) as f64 * 150.0 + AXIS_HEIGHT,
        x_range,
        x_axis,
        panels: panels.into_iter().map(Panel::from).collect(),
        theme: Theme::Light,
    }
}

/// A wavy signal with a spike.
fn wave(len: usize, phase: f64) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let t = i as f64 / 50.0 + phase;
            t.sin() * 10.0 + (3.0 * t).cos() + if i == len / 3 { 25.0 } else { 0.0 }
        })
        .collect()
}

/// Asserts the document is one `<svg>` element with balanced tags.
fn assert_well_formed(svg: &str) {
    assert!(
        svg.starts_with("<svg "),
        "starts with {:?}",
        &svg[..20.min(svg.len())]
    );
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "does not end with </svg>"
    );
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            open.push(tag.split_whitespace().next().expect("tag name"));
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed {open:?}");
}

/// The text of every `<text>` element.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|t| {
            let body = &t[t.find('>').expect("text tag") + 1..];
            body[..body.find("</text>").expect("closed")]
                .trim()
                .to_owned()
        })
        .collect()
}

/// The value of `name="…"` in each `<element …>`.
fn attributes(svg: &str, element: &str, name: &str) -> Vec<String> {
    let needle = format!(" {name}=\"");
    svg.split(&format!("<{element} "))
        .skip(1)
        .filter_map(|e| {
            let tag = format!(" {}", &e[..e.find('>')?]);
            let start = tag.find(&needle)? + needle.len();
            Some(tag[start..start + tag[start..].find('"')?].to_owned())
        })
        .collect()
}

/// The points of every polyline.
fn polylines(svg: &str) -> Vec<Vec<(i32, i32)>> {
    attributes(svg, "polyline", "points")
        .iter()
        .map(|points| {
            points
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').expect("x,y");
                    (x.parse().expect("x"), y.parse().expect("y"))
                })
                .collect()
        })
        .collect()
}

/// `draw` at `scale` into an SVG string of the scaled size.
fn draw_svg(spec: &ChartSpec, scale: f64) -> String {
    let mut svg = String::new();
    {
        let size = (
            (spec.width * scale).round() as u32,
            (spec.height * scale).round() as u32,
        );
        let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&area, spec, scale).expect("draws");
    }
    svg
}

// ---------------------------------------------------------------------------------------
// nice_ticks.

#[test]
fn nice_ticks_over_many_magnitudes() {
    for exponent in -9..=12 {
        let unit = 10f64.powi(exponent);
        for (lo, hi) in [
            (0.0, 1.0),
            (0.0, 7.3),
            (1.0, 1.7),
            (-3.7, 12.2),
            (-1.0, 1.0),
            (-9.0, -2.5),
            (0.1, 0.35),
            (1000.0, 1000.4),
        ] {
            for max_ticks in [4, 5, 6, 10] {
                check_nice(lo * unit, hi * unit, max_ticks);
            }
        }
    }
}

#[test]
fn nice_ticks_narrow_windows_far_from_zero() {
    check_nice(796_838_253_558.592_7, 796_838_613_427.945_8, 4);
    check_nice(-167_579_847_675.217_16, -167_579_846_525.547_7, 4);
    check_nice(1e12, 1.0004e12, 4);
    check_nice(1.0e-4, 1.0004e-4, 10);
    check_nice(1013.25, 1013.27, 5);
}

#[test]
fn nice_ticks_labels() {
    let labels = |lo, hi, max| -> Vec<String> {
        nice_ticks(lo, hi, max)
            .into_iter()
            .map(|(_, l)| l)
            .collect()
    };
    assert_eq!(labels(0.1, 0.35, 4), ["0.1", "0.2", "0.3"]);
    assert_eq!(
        nice_ticks(0.1, 0.35, 4)[2].0,
        0.3,
        "no float noise in the value either"
    );
    assert_eq!(
        labels(0.1, 0.35, 5),
        ["0.10", "0.15", "0.20", "0.25", "0.30"]
    );
    assert_eq!(labels(0.0, 1.0, 5), ["0.0", "0.5", "1.0"]);
    assert_eq!(labels(-3.7, 12.2, 5), ["0", "5", "10"]);
    assert_eq!(labels(-2.0, 2.0, 5), ["-2", "-1", "0", "1", "2"]);
    assert_eq!(
        labels(0.0, 100_000.0, 6),
        ["0", "20k", "40k", "60k", "80k", "100k"]
    );
    assert_eq!(labels(1e6, 2.6e6, 5), ["1.0M", "1.5M", "2.0M", "2.5M"]);
    assert_eq!(labels(0.0, 3e12, 4), ["0", "1T", "2T", "3T"]);
    assert_eq!(
        labels(1.0e-9, 1.9e-9, 5),
        ["1.0e-9", "1.2e-9", "1.4e-9", "1.6e-9", "1.8e-9"]
    );
    assert_eq!(
        labels(-2e-9, 2e-9, 5),
        ["-2e-9", "-1e-9", "0", "1e-9", "2e-9"]
    );
    assert_eq!(
        labels(0.0, 5e18, 6),
        ["0", "1e18", "2e18", "3e18", "4e18", "5e18"]
    );
    assert_eq!(
        labels(1_000_010.0, 1_000_050.0, 5),
        ["1000010", "1000020", "1000030", "1000040", "1000050"]
    );
    assert_eq!(
        labels(1012.0, 1021.0, 5),
        ["1012", "1014", "1016", "1018", "1020"]
    );
}

#[test]
fn a_quarter_step_when_five_would_leave_one_tick() {
    // Steps of 2M give 5 ticks (over 4), steps of 5M only one: 2.5M gives 3.
    let ticks = nice_ticks(642_965_401_544.0, 642_974_016_022.0, 4);
    let values: Vec<f64> = ticks.iter().map(|(v, _)| *v).collect();
    assert_eq!(values, [642_967.5e6, 642_970e6, 642_972.5e6], "{ticks:?}");
    // Sample indices have no fractions: 2.5 is never a step there.
    assert!(nice_ticks_from(0.0, 4.0, 2, 0)
        .iter()
        .all(|(v, _)| v.fract() == 0.0));
}

#[test]
fn nice_ticks_degenerate_inputs() {
    assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty(), "NaN");
    assert!(nice_ticks(0.0, f64::INFINITY, 5).is_empty(), "infinite");
    assert!(nice_ticks(0.0, 1.0, 0).is_empty(), "no ticks wanted");
    assert_eq!(nice_ticks(3.0, 3.0, 5).len(), 1, "a point");
    assert_eq!(nice_ticks(1.0, 0.0, 5), nice_ticks(0.0, 1.0, 5), "reversed");
    assert!(nice_ticks(0.0, 1.0, 1).len() <= 1, "one tick");
}

proptest! {
    #[test]
    fn nice_ticks_properties(lo in -1e12f64..1e12, span_exp in -9.0f64..12.0, max_ticks in 4usize..12) {
        let hi = lo + 10f64.powf(span_exp);
        // Spans far below the magnitude's precision get a single tick by design.
        prop_assume!(hi - lo > lo.abs() * 1e-9);
        check_nice(lo, hi, max_ticks);
    }
}

// ---------------------------------------------------------------------------------------
// Time.

#[test]
fn format_time_ns_known_instants() {
    for (ns, text) in [
        (0, "1970-01-01T00:00:00.000000000Z"),
        (PI_DAY, "2026-03-14T09:26:53.000000000Z"),
        (PI_DAY + 20_000_000, "2026-03-14T09:26:53.020000000Z"),
        (1, "1970-01-01T00:00:00.000000001Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (-NS_PER_DAY, "1969-12-31T00:00:00.000000000Z"),
        (951_782_400 * NS_PER_S, "2000-02-29T00:00:00.000000000Z"),
        (-14_182_940 * NS_PER_S, "1969-07-20T20:17:40.000000000Z"),
        (i64::MIN, "1677-09-21T00:12:43.145224192Z"),
        (i64::MAX, "2262-04-11T23:47:16.854775807Z"),
    ] {
        assert_eq!(format_time_ns(ns), text, "{ns}");
        assert_eq!(parse_time_ns(text), Some(ns), "{text}");
    }
}

#[test]
fn iso_instants_parse_in_every_documented_form() {
    for (text, ns) in [
        ("2026-03-14", PI_DAY - (9 * 3600 + 26 * 60 + 53) * NS_PER_S),
        ("2026-03-14T09:26:53", PI_DAY),
        ("2026-03-14T09:26:53Z", PI_DAY),
        ("2026-03-14T09:26:53.02Z", PI_DAY + 20_000_000),
        ("2026-03-14T10:26:53+01:00", PI_DAY),
        ("2026-03-14T04:56:53.5-04:30", PI_DAY + 500_000_000),
    ] {
        assert_eq!(parse_time_ns(text), Some(ns), "{text}");
    }
    for bad in [
        "",
        "2026-3-14",
        "2026-02-29",
        "2026-13-01",
        "2026-03-14T9:26:53",
        "2026-03-14T09:26:60",
        "2026-03-14T09:26:53.",
        "2026-03-14T09:26:53.0000000001",
        "2026-03-14T09:26:53+1:00",
        "2026-03-14 09:26:53",
        "3000-01-01",
        "+2026-03-14",
        "1773480413000000000",
    ] {
        assert_eq!(parse_time_ns(bad), None, "{bad}");
    }
}

#[test]
fn civil_round_trip() {
    for days in (-800_000..800_000).step_by(7) {
        let (y, m, d) = civil_from_days(days);
        assert!((1..=12).contains(&m) && (1..=31).contains(&d), "{days}");
        assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
    }
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(-1), (1969, 12, 31));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    assert_eq!(days_from_civil(2026, 3, 14), 20_526);
}

/// Spans from 10 ns to 30 years, at a few starts (this century, the epoch, before it, and
/// odd offsets).
fn spans() -> Vec<(i64, i64)> {
    let mut spans = Vec::new();
    let lengths = [
        10,
        37,
        100,
        2_000,
        45_000,
        1_000_000,
        7_300_000,
        250_000_000,
        NS_PER_S,
        13 * NS_PER_S,
        95 * NS_PER_S,
        17 * 60 * NS_PER_S,
        2 * 3600 * NS_PER_S,
        11 * 3600 * NS_PER_S,
        NS_PER_DAY,
        3 * NS_PER_DAY,
        10 * NS_PER_DAY,
        45 * NS_PER_DAY,
        200 * NS_PER_DAY,
        700 * NS_PER_DAY,
        5 * 365 * NS_PER_DAY,
        30 * 365 * NS_PER_DAY,
    ];
    for start in [
        PI_DAY + 20_123_456_789,
        0,
        -1_000_000_007_321,
        -400 * NS_PER_DAY - 5,
    ] {
        for length in lengths {
            spans.push((start, start + length));
        }
    }
    spans
}

#[test]
fn time_ticks_are_sorted_inside_and_few() {
    for (start, end) in spans() {
        for max_ticks in [3, 6, 10] {
            let (ticks, context) = time_ticks_exact(start, 0.0, (end - start) as f64, max_ticks);
            let what = format!(
                "{} .. {} at most {max_ticks}",
                format_time_ns(start),
                format_time_ns(end)
            );
            assert!(ticks.len() <= max_ticks, "{what}: {ticks:?}");
            assert!(!ticks.is_empty(), "{what}: no ticks");
            assert!(ticks.len() >= 2 || max_ticks == 3, "{what}: {ticks:?}");
            assert!(context.ends_with("UTC"), "{what}: context {context:?}");
            for (t, label) in &ticks {
                assert!((start..=end).contains(t), "{what}: {t} outside");
                assert!(
                    !label.is_empty() && label.len() <= 14,
                    "{what}: label {label:?}"
                );
            }
            for pair in ticks.windows(2) {
                assert!(pair[0].0 < pair[1].0, "{what}: not increasing");
                assert_ne!(pair[0].1, pair[1].1, "{what}: repeated label");
            }
        }
    }
}

#[test]
fn time_ticks_fall_on_round_boundaries() {
    for (start, end) in spans() {
        let (ticks, _) = time_ticks_exact(start, 0.0, (end - start) as f64, 8);
        let what = format!("{} .. {}", format_time_ns(start), format_time_ns(end));
        let Some(step) = ticks.get(1).map(|t| t.0 - ticks[0].0) else {
            continue;
        };
        if step < NS_PER_DAY {
            // Fixed steps: every tick a multiple of the step, so midnight is one too.
            for (t, _) in &ticks {
                assert_eq!(
                    t.rem_euclid(step),
                    0,
                    "{what}: {} not on a {step} ns boundary",
                    format_time_ns(*t)
                );
            }
            assert_eq!(
                NS_PER_DAY % step,
                0,
                "{what}: step {step} does not divide a day"
            );
        } else {
            for (t, _) in &ticks {
                assert_eq!(
                    t.rem_euclid(NS_PER_DAY),
                    0,
                    "{what}: {} not at midnight",
                    format_time_ns(*t)
                );
            }
        }
    }
}

#[test]
fn time_ticks_at_each_granularity() {
    let at = |t: i64| time_ticks_exact(t, 0.0, 0.0, 1).0;
    assert_eq!(
        at(PI_DAY).len(),
        1,
        "a point on a whole second is its own tick"
    );

    let case = |start: i64, length: i64, max_ticks: usize| {
        let (ticks, context) = time_ticks_exact(start, 0.0, length as f64, max_ticks);
        let labels: Vec<String> = ticks.iter().map(|(_, l)| l.clone()).collect();
        (ticks, labels, context)
    };

    // 2 hours from 09:26:53: 15-minute ticks on :00/:15/:30/:45.
    let (ticks, labels, context) = case(PI_DAY, 2 * 3600 * NS_PER_S, 8);
    assert_eq!(
        labels,
        ["09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00", "11:15"]
    );
    assert_eq!(context, "2026-03-14 UTC");
    for (t, _) in ticks {
        assert_eq!(t % (15 * 60 * NS_PER_S), 0);
    }

    // 3 seconds: whole seconds, or half seconds with milliseconds.
    let (_, labels, _) = case(PI_DAY, 3 * NS_PER_S, 4);
    assert_eq!(labels, ["09:26:53", "09:26:54", "09:26:55", "09:26:56"]);
    let (_, labels, _) = case(PI_DAY + 20_000_000, 2 * NS_PER_S, 5);
    assert_eq!(
        labels,
        ["09:26:53.500", "09:26:54", "09:26:54.500", "09:26:55"]
    );

    // 1 µs: nanosecond steps, the second in the context.
    let (_, labels, context) = case(PI_DAY + 125, 900, 5);
    assert_eq!(
        labels,
        [
            ".000 000 200",
            ".000 000 400",
            ".000 000 600",
            ".000 000 800",
            ".000 001 000"
        ]
    );
    assert_eq!(context, "2026-03-14 09:26:53 UTC");
    let (_, labels, _) = case(PI_DAY - 30_000, 60_000, 4);
    assert_eq!(
        labels,
        [".999 980", "09:26:53", ".000 020"],
        "a whole second shows the time"
    );

    // Days around the year's end: midnight ticks, the new year shown as the year.
    let new_year = days_from_civil(2027, 1, 1) * NS_PER_DAY;
    let (ticks, labels, context) = case(new_year - 3 * NS_PER_DAY - 5, 6 * NS_PER_DAY, 8);
    assert_eq!(
        labels,
        ["Dec 29", "Dec 30", "Dec 31", "2027", "Jan 2", "Jan 3"]
    );
    assert_eq!(context, "2026 UTC");
    assert!(ticks.iter().all(|(t, _)| t % NS_PER_DAY == 0));

    // Sub-day steps show the date at midnight.
    let (_, labels, _) = case(new_year - 7 * 3600 * NS_PER_S, 12 * 3600 * NS_PER_S, 5);
    assert_eq!(labels, ["18:00", "21:00", "Jan 1", "03:00"]);

    // Months, the year at January.
    let (_, labels, context) = case(
        days_from_civil(2025, 10, 20) * NS_PER_DAY,
        200 * NS_PER_DAY,
        8,
    );
    assert_eq!(labels, ["Nov", "Dec", "2026", "Feb", "Mar", "Apr", "May"]);
    assert_eq!(context, "2025 UTC");

    // Weeks start on Mondays.
    let (ticks, _, _) = case(PI_DAY, 40 * NS_PER_DAY, 8);
    for (t, _) in ticks {
        assert_eq!(
            (t / NS_PER_DAY - 4).rem_euclid(7),
            0,
            "{} is not a Monday",
            format_time_ns(t)
        );
    }

    // Thirty years: five-year ticks on 1 January.
    let (ticks, labels, context) = case(PI_DAY, 30 * 365 * NS_PER_DAY, 8);
    assert_eq!(labels, ["2030", "2035", "2040", "2045", "2050", "2055"]);
    assert_eq!(context, "UTC");
    assert!(ticks
        .iter()
        .all(|(t, _)| format_time_ns(*t).ends_with("-01-01T00:00:00.000000000Z")));

    // Before 1970.
    let (_, labels, context) = case(-NS_PER_DAY, NS_PER_DAY / 2, 5);
    assert_eq!(labels, ["Dec 31", "03:00", "06:00", "09:00", "12:00"]);
    assert_eq!(context, "1969-12-31 UTC");
}

#[test]
fn time_ticks_public_form() {
    let start = 1_000.0;
    let (ticks, context) = time_ticks(start, start + 10.0, 6);
    let values: Vec<f64> = ticks.iter().map(|t| t.0).collect();
    assert_eq!(
        values,
        [1_000.0, 1_002.0, 1_004.0, 1_006.0, 1_008.0, 1_010.0]
    );
    assert_eq!(context, "1970-01-01 00:00:00 UTC");
    assert_eq!(ticks[1].1, ".000 001 002");
    let (ticks, _) = time_ticks(PI_DAY as f64, PI_DAY as f64 + 3600e9, 5);
    assert!(ticks
        .iter()
        .all(|(t, _)| *t >= PI_DAY as f64 && *t <= PI_DAY as f64 + 3600e9));
    assert!(time_ticks(f64::NAN, 1.0, 5).0.is_empty());
    assert!(time_ticks(0.0, 1e9, 0).0.is_empty());
}

proptest! {
    #[test]
    fn time_ticks_properties(start in -4_000_000_000_000_000_000i64..4_000_000_000_000_000_000, length_exp in 1.0f64..18.0, max_ticks in 2usize..12) {
        let length = 10f64.powf(length_exp) as i64;
        let end = start + length;
        let (ticks, context) = time_ticks_exact(start, 0.0, length as f64, max_ticks);
        prop_assert!(ticks.len() <= max_ticks);
        prop_assert!(context.ends_with("UTC"));
        for (t, _) in &ticks {
            prop_assert!((start..=end).contains(t));
        }
        for pair in ticks.windows(2) {
            prop_assert!(pair[0].0 < pair[1].0);
            prop_assert_ne!(&pair[0].1, &pair[1].1);
        }
    }

    #[test]
    fn civil_round_trip_any_instant(ns in any::<i64>()) {
        let text = format_time_ns(ns);
        let days = ns.div_euclid(NS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        prop_assert!(text.starts_with(&format!("{y:04}-{m:02}-{d:02}T")), "{}", text);
        prop_assert_eq!(days_from_civil(y, m, d), days);
        prop_assert_eq!(text.len(), 30);
    }
}

// ---------------------------------------------------------------------------------------
// Layout and mapping.

#[test]
fn layout_stacks_panels_inside_the_chart() {
    for count in 1..=6 {
        let panels = (0..count)
            .map(|i| series("s", i, vec![bin_of(0, i as f64)]))
            .collect();
        let spec = spec(900.0, (0.0, 100.0), XAxis::Index, panels);
        let layout = spec.layout();
        assert_eq!(layout.panels.len(), count);
        assert!(layout.plot_left < layout.plot_right && layout.plot_right <= spec.width);
        let mut previous_bottom = 0.0;
        for rect in &layout.panels {
            assert!(
                rect.top >= previous_bottom && rect.bottom > rect.top,
                "{count}: {rect:?}"
            );
            previous_bottom = rect.bottom;
        }
        assert!(
            previous_bottom <= spec.height - AXIS_HEIGHT,
            "{count}: room for the axis"
        );
        assert_eq!(layout, spec.layout(), "deterministic");
    }
}

#[test]
fn px_mapping_round_trips() {
    let spec = spec(1234.5, (1_000.25, 9_876_543.5), XAxis::Index, vec![]);
    let layout = spec.layout();
    assert_eq!(spec.px_from_x(spec.x_range.0), layout.plot_left);
    assert!((spec.px_from_x(spec.x_range.1) - layout.plot_right).abs() < 1e-9);
    assert_eq!(
        spec.plot_width_px() as f64,
        layout.plot_right - layout.plot_left
    );
    for x in [1_000.25, 5_000.0, 123_456.789, 9_876_543.5, -50.0, 2e7] {
        let back = spec.x_from_px(spec.px_from_x(x));
        assert!((back - x).abs() <= x.abs() * 1e-12 + 1e-9, "{x} -> {back}");
    }
    for px in [0.0, 64.0, 100.5, 1000.0, 1214.0] {
        let back = spec.px_from_x(spec.x_from_px(px));
        assert!((back - px).abs() < 1e-9, "{px} -> {back}");
    }
}

proptest! {
    #[test]
    fn px_mapping_round_trips_any_window(start in -1e9f64..1e9, width in 1e-3f64..1e9, css in 200.0f64..4000.0, x_frac in -0.5f64..1.5) {
        let spec = spec(css, (start, start + width), XAxis::Index, vec![]);
        let x = start + x_frac * width;
        let back = spec.x_from_px(spec.px_from_x(x));
        prop_assert!((back - x).abs() <= (x.abs() + width) * 1e-12, "{} -> {}", x, back);
    }
}

#[test]
fn y_ranges() {
    let spec_of = |bins| spec(800.0, (0.0, 10.0), XAxis::Index, vec![series("s", 0, bins)]);
    let range = |bins| spec_of(bins).layout().panels[0].y_range;
    assert_eq!(
        range(vec![bin_of(0, 0.0), bin_of(1, 10.0)]),
        (-0.5, 10.5),
        "5% padding"
    );
    assert_eq!(
        range(vec![bin_of(0, 0.0), bin_of(1, 0.0)]),
        (-1.0, 1.0),
        "flat at zero"
    );
    assert_eq!(
        range(vec![bin_of(0, -50.0)]),
        (-55.0, -45.0),
        "flat elsewhere"
    );
    assert_eq!(range(vec![bin_of(0, f64::NAN)]), (0.0, 1.0), "all NaN");
    assert_eq!(range(vec![]), (0.0, 1.0), "empty");
    assert_eq!(
        range(vec![
            bin_of(0, 1.0),
            bin_of(1, f64::INFINITY),
            bin_of(2, 3.0)
        ]),
        (0.9, 3.1),
        "infinities ignored"
    );
    // Only bins overlapping the window count.
    assert_eq!(
        range(vec![bin_of(0, 0.0), bin_of(5, 10.0), bin_of(50, 1000.0)]),
        (-0.5, 10.5)
    );
    let rect = spec_of(vec![bin_of(0, 0.0), bin_of(1, 10.0)])
        .layout()
        .panels[0]
        .clone();
    for y in [-0.5, 0.0, 3.3, 10.5] {
        assert!((rect.y_from_px(rect.px_from_y(y)) - y).abs() < 1e-9, "{y}");
    }
    assert_eq!(rect.px_from_y(-0.5), rect.bottom);
    assert_eq!(rect.px_from_y(10.5), rect.top);
}

// ---------------------------------------------------------------------------------------
// Frames.

#[test]
fn three_panels_on_a_time_axis() {
    let len = 100_000u64;
    let mut chart = spec(
        1000.0,
        (0.0, len as f64),
        XAxis::Time {
            t0_ns: PI_DAY,
            ns_per_sample: 1e7,
        },
        vec![],
    );
    let bins = chart.plot_width_px() as usize;
    for (i, name) in ["alpha", "beta & gamma", "delta"].into_iter().enumerate() {
        let data = wave(len as usize, i as f64);
        let mut s = series(name, i, m4_scan(&data, 0, len, bins).expect("bins"));
        s.unit = if i == 0 { "m/s".into() } else { String::new() };
        chart.panels.push(s.into());
    }
    chart.height = 3.0 * 150.0 + AXIS_HEIGHT;
    let svg = render_svg(&chart).expect("renders");
    assert_well_formed(&svg);
    let texts = texts(&svg);
    for expected in [
        "alpha (m/s)",
        "beta &amp; gamma",
        "delta",
        "2026-03-14 UTC",
        "09:30",
        "09:36",
        "09:40",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "{expected:?} missing from {texts:?}"
        );
    }
    assert_eq!(polylines(&svg).len(), 3, "one path per panel");
    assert!(
        attributes(&svg, "polygon", "points").is_empty(),
        "no band at one bin per pixel: the line covers it"
    );
    assert!(
        attributes(&svg, "text", "font-size")
            .iter()
            .all(|s| s == "12"),
        "12 px text"
    );

    // Every line stays inside its panel's plot.
    let layout = chart.layout();
    for (path, rect) in polylines(&svg).iter().zip(&layout.panels) {
        assert!(
            path.len() > bins,
            "two to four points per column, got {}",
            path.len()
        );
        for &(x, y) in path {
            assert!(
                (layout.plot_left..=layout.plot_right).contains(&f64::from(x))
                    && (rect.top..=rect.bottom).contains(&f64::from(y)),
                "({x}, {y}) outside {rect:?}"
            );
        }
    }
}

#[test]
fn overlaid_series_share_a_panel_and_its_scale() {
    let len = 2_000u64;
    let small: Vec<f64> = (0..len).map(|i| (i as f64 / 100.0).sin()).collect();
    let large: Vec<f64> = small.iter().map(|v| 100.0 + 50.0 * v).collect();
    let mut chart = spec(900.0, (0.0, len as f64), XAxis::Index, vec![]);
    let bins = chart.plot_width_px() as usize;
    let panel = Panel {
        series: vec![
            series("small", 0, m4_scan(&small, 0, len, bins).expect("bins")),
            series("large", 1, m4_scan(&large, 0, len, bins).expect("bins")),
        ],
        ..Panel::default()
    };
    chart.panels = vec![panel];
    let layout = chart.layout();
    assert_eq!(layout.panels.len(), 1);
    let (lo, hi) = layout.panels[0].y_range;
    assert!(lo < -1.0 && hi > 150.0, "one scale spans both: {lo}..{hi}");
    let svg = render_svg(&chart).expect("renders");
    let texts = texts(&svg);
    assert!(texts.iter().any(|t| t == "small") && texts.iter().any(|t| t == "large"));
    let lines = polylines(&svg);
    assert_eq!(lines.len(), 2, "one line per series");
    let rect = &layout.panels[0];
    for line in &lines {
        assert!(line
            .iter()
            .all(|&(_, y)| (rect.top..=rect.bottom).contains(&f64::from(y))));
    }
    // The small series sits at the bottom of the shared scale, the large one above it.
    let mean_y =
        |line: &[(i32, i32)]| line.iter().map(|p| f64::from(p.1)).sum::<f64>() / line.len() as f64;
    assert!(mean_y(&lines[0]) > mean_y(&lines[1]));
    // The titles sit side by side, the second after the first.
    let title_x: Vec<f64> = attributes(&svg, "text", "x")
        .iter()
        .zip(&texts)
        .filter(|(_, t)| *t == "small" || *t == "large")
        .map(|(x, _)| x.parse().unwrap())
        .collect();
    assert!(title_x[1] > title_x[0] + 30.0, "{title_x:?}");
}

#[test]
fn wide_bins_get_a_band() {
    let len = 100_000u64;
    let data = wave(len as usize, 0.0);
    let mut chart = spec(1000.0, (0.0, len as f64), XAxis::Index, vec![]);
    let narrow = (chart.plot_width_px() / 2) as usize;
    let wide = (chart.plot_width_px() / 3) as usize;
    chart.panels = vec![
        series("narrow", 0, m4_scan(&data, 0, len, narrow).expect("bins")).into(),
        series("wide", 1, m4_scan(&data, 0, len, wide).expect("bins")).into(),
    ];
    chart.height = 2.0 * 150.0 + AXIS_HEIGHT;
    let svg = render_svg(&chart).expect("renders");
    let bands = attributes(&svg, "polygon", "points");
    assert_eq!(bands.len(), 1, "a band under 3 px bins only");
    let layout = chart.layout();
    let band: Vec<i32> = bands[0]
        .split_whitespace()
        .map(|p| p.split_once(',').expect("x,y").1.parse().expect("y"))
        .collect();
    let rect = &layout.panels[1];
    assert!(
        band.iter()
            .all(|&y| (rect.top..=rect.bottom).contains(&f64::from(y))),
        "the band is in the second panel"
    );
}

/// Whether `point` lies on one of `path`'s segments.
fn on_polyline(path: &[(i32, i32)], point: (i32, i32)) -> bool {
    let cross = |a: (i32, i32), b: (i32, i32), p: (i32, i32)| {
        i64::from(b.0 - a.0) * i64::from(p.1 - a.1) - i64::from(b.1 - a.1) * i64::from(p.0 - a.0)
    };
    path.windows(2).any(|w| {
        let (a, b) = (w[0], w[1]);
        cross(a, b, point) == 0
            && (a.0.min(b.0)..=a.0.max(b.0)).contains(&point.0)
            && (a.1.min(b.1)..=a.1.max(b.1)).contains(&point.1)
    }) || path == [point]
}

#[test]
fn collinear_vertices_are_merged_without_moving_the_line() {
    // A flat series is one straight stroke: two vertices draw it, through every sample.
    let data = vec![5.0; 1_000];
    let bins = m4_scan(&data, 0, 1_000, 1_000).expect("bins");
    let chart = spec(
        500.0,
        (0.0, 1_000.0),
        XAxis::Index,
        vec![series("flat", 0, bins)],
    );
    let svg = render_svg(&chart).expect("renders");
    let path = &polylines(&svg)[0];
    assert_eq!(path.len(), 2, "{path:?}");
    let layout = chart.layout();
    for i in [0.0, 250.0, 500.0, 999.0] {
        let point = (
            chart.px_from_x(i).round() as i32,
            layout.panels[0].px_from_y(5.0).round() as i32,
        );
        assert!(
            on_polyline(path, point),
            "sample {i} at {point:?} is off {path:?}"
        );
    }
}

#[test]
fn single_samples_get_a_line_and_dots() {
    let data = wave(1_000, 0.0);
    let bins = m4_scan(&data, 500, 540, 1000).expect("bins");
    assert!(bins.iter().all(|b| b.first_index == b.last_index));
    let chart = spec(
        900.0,
        (500.0, 540.0),
        XAxis::Index,
        vec![series("zoomed", 1, bins)],
    );
    let svg = render_svg(&chart).expect("renders");
    assert_well_formed(&svg);
    assert_eq!(polylines(&svg).len(), 1);
    let layout = chart.layout();
    let path = &polylines(&svg)[0];
    for i in 500..540u32 {
        let point = (
            chart.px_from_x(f64::from(i)).round() as i32,
            layout.panels[0].px_from_y(data[i as usize]).round() as i32,
        );
        assert!(on_polyline(path, point), "the line misses sample {i}");
    }
    assert!(
        attributes(&svg, "polygon", "points").is_empty(),
        "no band for single samples"
    );
    assert_eq!(
        attributes(&svg, "circle", "cx").len(),
        40,
        "a dot per sample"
    );
    let texts = texts(&svg);
    for expected in ["zoomed", "index", "500", "510", "520", "530", "540"] {
        assert!(
            texts.iter().any(|t| t == expected),
            "{expected:?} missing from {texts:?}"
        );
    }
    assert!(
        texts
            .iter()
            .all(|t| !t.contains('.') || t.parse::<f64>().is_ok_and(|_| !t.starts_with('5'))),
        "integer index labels only: {texts:?}"
    );
}

#[test]
fn wide_samples_get_no_dots() {
    let data = wave(10_000, 0.0);
    let bins = m4_scan(&data, 0, 10_000, 1000).expect("bins");
    let chart = spec(
        900.0,
        (0.0, 10_000.0),
        XAxis::Index,
        vec![series("dense", 0, bins)],
    );
    let svg = render_svg(&chart).expect("renders");
    assert!(attributes(&svg, "circle", "cx").is_empty());
}

#[test]
fn nan_and_empty_panels() {
    let nan = vec![bin_of(0, f64::NAN), bin_of(1, f64::NAN)];
    let gappy: Vec<M4Bin> = (0..20)
        .map(|i| {
            bin_of(
                i,
                if (8..12).contains(&i) {
                    f64::NAN
                } else {
                    i as f64
                },
            )
        })
        .collect();
    let chart = spec(
        800.0,
        (0.0, 20.0),
        XAxis::Index,
        vec![
            series("nothing", 0, vec![]),
            series("all nan", 1, nan),
            series("gappy", 2, gappy),
        ],
    );
    let svg = render_svg(&chart).expect("renders");
    assert_well_formed(&svg);
    let labels = texts(&svg);
    for expected in [
        "nothing",
        "no data",
        "all nan",
        "no finite values",
        "gappy",
        "0",
        "10",
        "20",
    ] {
        assert!(
            labels.iter().any(|t| t == expected),
            "{expected:?} missing from {labels:?}"
        );
    }
    assert_eq!(polylines(&svg).len(), 2, "the gap splits the line");

    let none = spec(800.0, (0.0, 20.0), XAxis::Index, vec![]);
    let svg = render_svg(&none).expect("renders");
    assert_well_formed(&svg);
    assert!(texts(&svg).contains(&"no data".to_owned()));
}

#[test]
fn lines_are_clipped_to_the_plot() {
    // Bins far beyond the window on both sides, and infinities.
    let bins: Vec<M4Bin> = (0..200)
        .map(|i| {
            let v = match i {
                100 => f64::INFINITY,
                101 => f64::NEG_INFINITY,
                _ => (i as f64 * 0.7).sin() * 1e3,
            };
            bin_of(i, v)
        })
        .collect();
    let chart = spec(
        700.0,
        (50.5, 150.5),
        XAxis::Index,
        vec![series("clipped", 0, bins)],
    );
    let svg = render_svg(&chart).expect("renders");
    let layout = chart.layout();
    let rect = &layout.panels[0];
    let paths = polylines(&svg);
    assert!(!paths.is_empty());
    for &(x, y) in paths.iter().flatten() {
        assert!(
            (layout.plot_left..=layout.plot_right).contains(&f64::from(x))
                && (rect.top..=rect.bottom).contains(&f64::from(y)),
            "({x}, {y}) outside"
        );
    }
    let xs = paths.iter().flatten().map(|p| f64::from(p.0));
    let (min_x, max_x) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    assert_eq!(
        (min_x, max_x),
        (layout.plot_left, layout.plot_right),
        "the line reaches both edges"
    );
}

#[test]
fn m4_points_in_index_order() {
    let data = [0.0, 9.0, 1.0, -4.0, 2.0, 3.0];
    let bins = m4_scan(&data, 0, 6, 1).expect("bins");
    let chart = spec(
        500.0,
        (0.0, 6.0),
        XAxis::Index,
        vec![series("order", 0, bins.clone())],
    );
    let rect = chart.layout().panels[0].clone();
    let svg = render_svg(&chart).expect("renders");
    let path = &polylines(&svg)[0];
    let expected: Vec<(i32, i32)> = [(0, 0.0), (1, 9.0), (3, -4.0), (5, 3.0)]
        .iter()
        .map(|&(i, v)| {
            (
                chart.px_from_x(f64::from(i)).round() as i32,
                rect.px_from_y(v).round() as i32,
            )
        })
        .collect();
    assert_eq!(path, &expected, "first, max, min, last");
}

#[test]
fn scale_two_doubles_everything() {
    let data = wave(5_000, 0.3);
    let mut chart = spec(600.0, (0.0, 5_000.0), XAxis::Index, vec![]);
    let bins = m4_scan(&data, 0, 5_000, chart.plot_width_px() as usize).expect("bins");
    chart.panels.push(series("scaled", 3, bins).into());
    let one = draw_svg(&chart, 1.0);
    let two = draw_svg(&chart, 2.0);
    assert_well_formed(&two);
    assert!(
        two.starts_with("<svg width=\"1200\" height=\"388\""),
        "{}",
        &two[..60]
    );

    // Rectangles (background, grid) are exactly doubled.
    let rects = |svg: &str| -> Vec<[i32; 4]> {
        let get = |name| attributes(svg, "rect", name);
        let (x, y, w, h) = (get("x"), get("y"), get("width"), get("height"));
        (0..x.len())
            .map(|i| [&x[i], &y[i], &w[i], &h[i]].map(|v| v.parse().expect("integer")))
            .collect()
    };
    let (r1, r2) = (rects(&one), rects(&two));
    assert_eq!(r1.len(), r2.len());
    for (a, b) in r1.iter().zip(&r2) {
        assert_eq!(a.map(|v| v * 2), *b, "rect {a:?} vs {b:?}");
    }

    // Path vertices are doubled up to rounding; the lines are thicker.
    let (p1, p2) = (polylines(&one), polylines(&two));
    assert_eq!(p1.len(), p2.len());
    let bound = |p: &Vec<Vec<(i32, i32)>>| {
        p.iter()
            .flatten()
            .fold((i32::MAX, i32::MIN), |(lo, hi), v| {
                (lo.min(v.0), hi.max(v.0))
            })
    };
    let (lo1, hi1) = bound(&p1);
    let (lo2, hi2) = bound(&p2);
    assert_eq!((lo2, hi2), (lo1 * 2, hi1 * 2), "x extent doubles");
    let widths = |svg: &str| attributes(svg, "polyline", "stroke-width");
    assert!(widths(&one).iter().all(|w| w == "1"));
    assert!(widths(&two)
        .iter()
        .all(|w| w.parse::<u32>().expect("width") >= 2));
    // Text positions double (up to rounding) and fonts grow: 24 px, which the SVG backend
    // writes as 24 / 1.24 because `draw` follows the canvas convention.
    let xs = |svg: &str| -> Vec<i32> {
        attributes(svg, "text", "x")
            .iter()
            .map(|x| x.parse().expect("x"))
            .collect()
    };
    let (x1, x2) = (xs(&one), xs(&two));
    assert_eq!(x1.len(), x2.len());
    for (a, b) in x1.iter().zip(&x2) {
        assert!((a * 2 - b).abs() <= 1, "text at {a} then {b}");
    }
    let sizes = |svg: &str| attributes(svg, "text", "font-size");
    let size = |s: &String| s.parse::<f64>().expect("size");
    for (a, b) in sizes(&one).iter().zip(&sizes(&two)) {
        assert!((size(a) * 2.0 - size(b)).abs() < 1e-9, "font {a} then {b}");
    }
}

/// On a time axis, x is time: two passes 95 minutes apart sit where their times say, the
/// pixels between them are as far apart as the gap is long, and the line breaks across the
/// gap instead of joining the passes.
#[test]
fn a_time_axis_is_linear_in_time_and_shows_gaps() {
    const MINUTE: u64 = 60_000_000_000;
    // Two passes of 1,000 samples a second apart, the second 95 minutes after the first.
    let times: Vec<u64> = (0..2000u64)
        .map(|i| i * 1_000_000_000 + if i >= 1000 { 95 * MINUTE } else { 0 })
        .collect();
    let values: Vec<f64> = (0..2000).map(|i| (i as f64 / 50.0).sin()).collect();
    let bins: Vec<M4Bin> = m4_scan(&values, 0, 2000, 2000)
        .expect("bins")
        .into_iter()
        .map(|b| M4Bin {
            first_index: times[b.first_index as usize],
            min_index: times[b.min_index as usize],
            max_index: times[b.max_index as usize],
            last_index: times[b.last_index as usize],
            ..b
        })
        .collect();
    let end = (times[1999] + 1) as f64;
    let axis = XAxis::Time {
        t0_ns: 1_767_225_600_000_000_000,
        ns_per_sample: 1.0,
    };
    let joined = spec(
        1200.0,
        (0.0, end),
        axis,
        vec![series("passes", 0, bins.clone())],
    );
    let mut gapped = joined.clone();
    gapped.panels[0].series[0].gap = Some(5e9);
    gapped.panels[0].series[0].spacing = 1e9;
    // Linear in time across the gap.
    let px = |x: u64| joined.px_from_x(x as f64);
    let per_ns = (px(times[1999]) - px(times[0])) / (times[1999] - times[0]) as f64;
    let across = px(times[1000]) - px(times[999]);
    assert!((across - per_ns * (times[1000] - times[999]) as f64).abs() < 1e-6);
    assert!(
        across > 500.0,
        "the gap takes most of the width: {across} px"
    );
    // One line without the rule, a line per pass with it.
    assert_eq!(polylines(&render_svg(&joined).expect("renders")).len(), 1);
    assert_eq!(polylines(&render_svg(&gapped).expect("renders")).len(), 2);
}

#[test]
fn short_panels_get_enough_y_ticks_to_read_a_value() {
    // Panels of a 10-panel group and of a single chart, over ranges like the demo's.
    for (height, range, at_least) in [
        (60.0, (27.55, 28.05), 3),
        (60.0, (-103.0, -78.0), 3),
        (60.0, (-1.0, 1.0), 3),
        (150.0, (17.9, 19.1), 5),
        (300.0, (0.0, 40.0), 8),
    ] {
        let rect = layout::PanelRect {
            top: 10.0,
            bottom: 10.0 + height,
            y_range: range,
            log: false,
        };
        let ticks = layout::y_ticks(&rect);
        assert!(
            ticks.len() >= at_least,
            "{height} px over {range:?}: {ticks:?}"
        );
        // Labels never crowd: at least 14 px apart (a label is 12 px high).
        for pair in ticks.windows(2) {
            let gap = (rect.px_from_y(pair[0].0) - rect.px_from_y(pair[1].0)).abs();
            assert!(gap >= 14.0, "{height} px over {range:?}: {ticks:?}");
        }
    }
}

#[test]
fn manual_and_log_y_ranges() {
    let bins = vec![bin_of(0, 0.5), bin_of(1, 2000.0), bin_of(2, -3.0)];
    let with = |y: YScale| {
        let mut chart = spec(
            800.0,
            (0.0, 3.0),
            XAxis::Index,
            vec![series("s", 0, bins.clone())],
        );
        chart.panels[0].y = y;
        chart.layout().panels[0].clone()
    };
    // A manual range is kept as it is, and its ticks are nice numbers within it.
    let manual = with(YScale {
        range: Some((-10.0, 10.0)),
        log: false,
    });
    assert_eq!(manual.y_range, (-10.0, 10.0));
    let labels: Vec<String> = layout::y_ticks(&manual).into_iter().map(|t| t.1).collect();
    assert!(
        labels.contains(&"0".to_string()) && labels.contains(&"-10".to_string()),
        "{labels:?}"
    );
    // Log autoscale looks at positive values only: 0.5 to 2000, padded by 5% of the decades.
    let log = with(YScale {
        range: None,
        log: true,
    });
    let (lo, hi) = log.y_range;
    assert!(
        lo < 0.5 && lo > 0.3 && hi > 2000.0 && hi < 3100.0,
        "{:?}",
        log.y_range
    );
    let labels: Vec<String> = layout::y_ticks(&log).into_iter().map(|t| t.1).collect();
    assert_eq!(labels, ["1", "10", "100", "1000"]);
    // Decades are evenly spaced, and a value at or below zero falls below the plot.
    let d = |y: f64| log.px_from_y(y);
    assert!(((d(1.0) - d(10.0)) - (d(10.0) - d(100.0))).abs() < 1e-9);
    assert!((log.y_from_px(d(42.0)) - 42.0).abs() < 1e-9);
    assert_eq!(d(0.0), f64::INFINITY);
    assert_eq!(d(-3.0), f64::INFINITY);
    // A narrow log range gets 1-2-5 ticks; a manual log range that is not positive is ignored.
    let narrow = with(YScale {
        range: Some((1.5, 60.0)),
        log: true,
    });
    let labels: Vec<String> = layout::y_ticks(&narrow).into_iter().map(|t| t.1).collect();
    assert_eq!(labels, ["2", "5", "10", "20", "50"]);
    assert_eq!(
        with(YScale {
            range: Some((-1.0, 10.0)),
            log: true
        })
        .y_range,
        log.y_range
    );
    // Zooming a log axis about a value keeps that value under the pointer.
    let px = d(100.0);
    let (a, b) = log.zoomed_y(px, 0.5);
    let zoomed = layout::PanelRect {
        y_range: (a, b),
        ..log.clone()
    };
    assert!((zoomed.y_from_px(px) - 100.0).abs() < 1e-9);
}
