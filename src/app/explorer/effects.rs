//! What the chart does on its own: redraw when anything drawn changes, follow its
//! container's width, refine the bins from the server (`refine`), keep the address bar and
//! the readout up to date, and follow the server's changes to the charted arrays.

use leptos::prelude::*;

use super::browser::{perf_mark, perf_measure, replace_query, sleep_ms};
use super::client::fetch_head;
use super::readout::{read_exact, Point, READOUT_DEBOUNCE_MS};
use super::view::{self, bins_for, PlotBox, Window};
use super::Chart;
use crate::catalog::{ArrayChange, LiveEvent, SeriesTime};
use crate::chart::{format_time_ns, ChartSpec, Layout, Panel, Series};

/// Delay between the last change of view and the address bar following it, ms.
const URL_DEBOUNCE_MS: i32 = 150;

/// Start everything the chart does by itself (effects run in the browser only).
pub(super) fn start(chart: Chart) {
    redraw(chart);
    measure(chart);
    super::refine::refine(chart);
    keep_url(chart);
    read_under_cursor(chart);
    follow_changes(chart);
    super::measure::follow_view(chart);
    super::cursors::follow(chart);
    super::height::restore(chart);
}

/// The whole x positions a window covers: `[floor(start), ceil(stop))` within `[0, end]`.
pub(super) fn positions((start, stop): Window, end: f64) -> (u64, u64) {
    (
        start.floor().max(0.0) as u64,
        stop.ceil().clamp(0.0, end) as u64,
    )
}

/// Redraw on the next animation frame whenever anything drawn changes: the frame and each
/// visible series' bins over the window, merged from the bins held once per change of
/// window, size, data or series. The crosshair and the box-zoom band are page elements over
/// the canvas, so moving the mouse does not redraw it.
fn redraw(chart: Chart) {
    let scene = Memo::new(move |_| {
        let end = chart.end.get();
        chart.version.track();
        let mut frame = chart.frame();
        let bins = bins_for(frame.width);
        let (lo, hi) = positions(frame.x_range, end);
        let scales = chart.y_scales.get();
        frame.panels = chart.held.with_value(|held| {
            chart
                .panels()
                .into_iter()
                .map(|members| Panel {
                    y: members
                        .first()
                        .and_then(|(_, s)| scales.get(&s.key).copied())
                        .unwrap_or_default(),
                    series: members
                        .into_iter()
                        .map(|(color, series)| Series {
                            bins: held
                                .get(&series.array)
                                .map(|h| h.bins(series.column as usize, lo, hi, bins))
                                .unwrap_or_default(),
                            gap: series.time.as_ref().and_then(SeriesTime::gap),
                            spacing: series.time.as_ref().map_or(1.0, SeriesTime::spacing),
                            name: series.label,
                            unit: String::new(),
                            color,
                        })
                        .collect(),
                })
                .collect::<Vec<_>>()
        });
        frame
    });
    let frame_queued = StoredValue::new(false);
    Effect::new(move |_| {
        scene.track();
        if frame_queued.get_value() {
            return;
        }
        frame_queued.set_value(true);
        request_animation_frame(move || {
            frame_queued.set_value(false);
            let Some(canvas) = chart.canvas_ref.get_untracked() else {
                return;
            };
            perf_mark("dl-draw-start");
            let (drew, has_data) = scene.with_untracked(|spec| {
                let has_data = spec.panels.iter().any(Panel::has_bins);
                (draw_canvas(&canvas, spec), has_data)
            });
            perf_measure("dl-draw", "dl-draw-start");
            match drew {
                Ok(layout) => {
                    let placed = PlotBox::of(&layout);
                    if chart.plot.get_untracked() != placed {
                        chart.plot.set(placed);
                    }
                    if chart.rects.with_untracked(|r| *r != layout.panels) {
                        chart.rects.set(layout.panels.clone());
                    }
                    if has_data && !chart.drawn.get_untracked() {
                        chart.drawn.set(true);
                    }
                }
                Err(err) => chart.error.set(Some(err)),
            }
        });
    });
}

/// Measure the container once mounted, and on window resizes.
fn measure(chart: Chart) {
    Effect::new(move |_| {
        if let Some(host) = chart.host_ref.get() {
            chart.width.set(host.client_width() as f64);
        }
    });
    let _resize = window_event_listener(leptos::ev::resize, move |_| {
        if let Some(host) = chart.host_ref.get_untracked() {
            chart.width.set(host.client_width() as f64);
        }
    });
}

/// Keep the view in the URL (window, added, hidden and overlaid series), so reload and
/// links restore it; once the view rests, not on every frame of a zoom. Only the page's
/// main chart does.
fn keep_url(chart: Chart) {
    if chart.init.with_value(|i| i.url.is_none()) {
        return;
    }
    let url_generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let Some(query) = chart.url_query(None) else {
            return;
        };
        url_generation.update_value(|g| *g += 1);
        let mine = url_generation.get_value();
        leptos::task::spawn_local(async move {
            sleep_ms(URL_DEBOUNCE_MS).await;
            if url_generation.get_value() == mine {
                replace_query(&query);
            }
        });
    });
}

/// What the cursor at `x` reads: where it is, and each visible series' sample nearest it
/// (by index, the sample at `x`; in time, the nearest of those held, with its own time).
pub(super) fn points_under(chart: Chart, x: f64) -> (String, Vec<Point>) {
    let series = chart.visible();
    let Some(axis) = chart.time else {
        let at = view::sample_at(x, chart.len.get_untracked());
        let points = series
            .into_iter()
            .map(|(_, s)| {
                let index = view::sample_at(x, chart.length_of(&s.array));
                (s, index, None, index as f64)
            })
            .collect();
        let at = match chart.clock() {
            Some(clock) => format!("{} · sample {at}", format_time_ns(clock.ns_of(at))),
            None => format!("sample {at}"),
        };
        return (at, points);
    };
    let points = chart.held.with_value(|held| {
        series
            .into_iter()
            .filter_map(|(_, s)| {
                let (index, at) = held.get(&s.array)?.nearest(s.column as usize, x)?;
                Some((s, index, Some(format_time_ns(axis.ns_of_x(at))), at))
            })
            .collect()
    });
    (format_time_ns(axis.ns_of_x(x)), points)
}

/// The samples a readout at `x` reads, to tell whether the cursor still rests on them.
fn indices(points: &[Point]) -> Vec<u64> {
    points.iter().map(|(_, index, _, _)| *index).collect()
}

/// Read the exact samples under the cursor once it rests on them.
fn read_under_cursor(chart: Chart) {
    Effect::new(move |_| {
        let Some(x) = chart.cursor.get() else {
            chart.readout.set(None);
            return;
        };
        let (at, points) = points_under(chart, x);
        if points.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            sleep_ms(READOUT_DEBOUNCE_MS).await;
            let still = chart
                .cursor
                .get_untracked()
                .map(|c| indices(&points_under(chart, c).1));
            if still.as_deref() != Some(&indices(&points)) {
                return;
            }
            match read_exact(at, points).await {
                Ok(found) => chart.readout.set(Some(found)),
                Err(err) => chart.error.set(Some(err)),
            }
        });
    });
}

/// Follow appends to, replacements and deletions of the charted arrays and their
/// timestamps. The stream does not replay what happened before it connected, so on each
/// (re)connect compare lengths.
fn follow_changes(chart: Chart) {
    crate::app::live::on_changes(move |event| match event {
        LiveEvent::Connected => {
            let mut arrays: Vec<String> = chart
                .init
                .with_value(|i| i.series.iter().map(|s| s.array.clone()).collect());
            arrays.dedup();
            leptos::task::spawn_local(async move {
                for name in arrays {
                    let Ok((shape, version)) = fetch_head(&name).await else {
                        continue;
                    };
                    if version != chart.version_of(&name) {
                        changed(chart, &name, &shape, &version);
                    }
                }
            });
        }
        LiveEvent::Changed(ArrayChange {
            name, shape, etag, ..
        }) => {
            if is_charted(chart, &name) {
                changed(chart, &name, &shape, etag.trim_matches('"'));
            }
        }
        LiveEvent::Deleted(ArrayChange { name, .. }) => {
            if is_charted(chart, &name) {
                chart.error.set(Some(format!("{name} was deleted")));
            }
        }
    });
}

/// Whether `array` is charted, or the timestamps of a charted series.
fn is_charted(chart: Chart, array: &str) -> bool {
    chart.init.with_value(|i| {
        i.series
            .iter()
            .any(|s| s.array == array || s.time.as_ref().is_some_and(|t| t.array == array))
    })
}

/// The charted array (or timestamps) `name` now has `shape` and `version`: refetch the
/// overviews it is part of, and by index follow the new end if asked to (on a time axis the
/// overviews tell the new end; see [`accept`]).
fn changed(chart: Chart, name: &str, shape: &[u64], version: &str) {
    chart.versions.update_value(|v| {
        v.insert(name.to_string(), version.to_string());
    });
    let arrays: Vec<String> = chart.init.with_value(|i| {
        i.series
            .iter()
            .filter(|s| s.array == name || s.time.as_ref().is_some_and(|t| t.array == name))
            .map(|s| s.array.clone())
            .collect()
    });
    chart.held.update_value(|h| {
        for array in &arrays {
            if let Some(entry) = h.get_mut(array) {
                entry.overview = None;
            }
        }
    });
    if arrays.iter().any(|a| a == name) {
        let grown = shape.first().copied().unwrap_or(0);
        chart.lengths.update_value(|l| {
            l.insert(name.to_string(), grown);
        });
        let longest = chart
            .lengths
            .with_value(|l| l.values().copied().max().unwrap_or(0));
        if longest != chart.len.get_untracked() {
            chart.len.set(longest);
            if chart.time.is_none() {
                chart.end.set(longest as f64);
                if chart.follow.get_untracked() {
                    let extent = chart.extent();
                    chart
                        .window
                        .set(view::following(chart.window.get_untracked(), extent));
                }
            }
        }
    }
    chart.data_generation.update(|g| *g += 1);
}

/// Draw `spec` on the canvas at the device's pixel ratio.
///
/// # Errors
/// When the canvas has no 2D context or drawing fails.
#[cfg(feature = "hydrate")]
fn draw_canvas(canvas: &web_sys::HtmlCanvasElement, spec: &ChartSpec) -> Result<Layout, String> {
    use plotters::prelude::IntoDrawingArea;
    let ratio = super::browser::fit_canvas(canvas, spec.width, spec.height);
    let backend = plotters_canvas::CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or("this browser gives no 2D canvas")?;
    let area = backend.into_drawing_area();
    crate::chart::draw(&area, spec, ratio).map_err(|e| e.to_string())
}

/// Draw `spec` on the canvas (the server never draws on canvases).
///
/// # Errors
/// Never.
#[cfg(not(feature = "hydrate"))]
fn draw_canvas(_canvas: &web_sys::HtmlCanvasElement, spec: &ChartSpec) -> Result<Layout, String> {
    Ok(spec.layout())
}
