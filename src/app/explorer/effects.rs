//! What the chart does on its own: redraw when anything drawn changes, follow its
//! container's width, refine the bins from the server, keep the address bar and the readout
//! up to date, and follow the server's changes to the charted arrays.

use leptos::prelude::*;

use super::browser::{perf_mark, perf_measure, replace_query, sleep_ms};
use super::client::{fetch_lod, fetch_shape};
use super::readout::{read_exact, READOUT_DEBOUNCE_MS};
use super::view::{self, bins_for, PlotBox};
use super::Chart;
use crate::catalog::{ArrayChange, LiveEvent};
use crate::chart::{ChartSpec, Layout, Series};

/// Delay between the last change of view and the refining fetch, ms.
const FETCH_DEBOUNCE_MS: i32 = 20;
/// Delay between the last change of view and the address bar following it, ms.
const URL_DEBOUNCE_MS: i32 = 150;

/// Start everything the chart does by itself (effects run in the browser only).
pub(super) fn start(chart: Chart) {
    redraw(chart);
    measure(chart);
    refine(chart);
    keep_url(chart);
    read_under_cursor(chart);
    follow_changes(chart);
}

/// Redraw on the next animation frame whenever anything drawn changes: the frame and each
/// visible panel's bins over the window, merged from the bins held once per change of
/// window, size, data or series. The crosshair and the box-zoom band are page elements over
/// the canvas, so moving the mouse does not redraw it.
fn redraw(chart: Chart) {
    let scene = Memo::new(move |_| {
        let len = chart.len.get();
        chart.version.track();
        let mut frame = chart.frame();
        let bins = bins_for(frame.width);
        let (lo, hi) = view::samples(frame.x_range, len);
        frame.panels = chart.held.with_value(|held| {
            chart
                .visible()
                .into_iter()
                .map(|(color, series)| Series {
                    bins: held
                        .get(&series.array)
                        .map(|h| h.bins(series.column as usize, lo, hi, bins))
                        .unwrap_or_default(),
                    name: series.label,
                    unit: String::new(),
                    color,
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
                let has_data = spec.panels.iter().any(|p| !p.bins.is_empty());
                (draw_canvas(&canvas, spec), has_data)
            });
            perf_measure("dl-draw", "dl-draw-start");
            match drew {
                Ok(layout) => {
                    let placed = PlotBox::of(&layout);
                    if chart.plot.get_untracked() != placed {
                        chart.plot.set(placed);
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

/// Fetch the LOD of the window for each visible array, debounced (the first time at once),
/// all at once; drop the answers of superseded views (but keep overviews).
fn refine(chart: Chart) {
    Effect::new(move |previous: Option<()>| {
        let len = chart.len.get();
        chart.data_generation.track();
        let window = chart.window.get();
        let px = chart.width.get();
        if px <= 0.0 {
            return;
        }
        let first_run = previous.is_none();
        chart.generation.update_value(|g| *g += 1);
        let mine = chart.generation.get_value();
        // A hidden series is fetched when shown again.
        let arrays = chart.visible_arrays();
        let bins = bins_for(px) as u64;
        let (lo, hi) = view::samples(window, len);
        leptos::task::spawn_local(async move {
            if !first_run {
                sleep_ms(FETCH_DEBOUNCE_MS).await;
                if chart.generation.get_value() != mine {
                    return;
                }
            }
            chart.pending.update(|p| *p += 1);
            // All requests at once: the answer takes as long as the slowest, not the sum.
            let requests = arrays.iter().flat_map(|array| {
                let overview_missing = chart
                    .held
                    .with_value(|h| h.get(array).is_none_or(|h| h.overview.is_none()));
                let overview = overview_missing.then(|| (array.clone(), true, 0, len));
                overview.into_iter().chain([(array.clone(), false, lo, hi)])
            });
            let mut results = futures_util::future::join_all(requests.map(
                |(array, overview, from, to)| async move {
                    let result = fetch_lod(&array, from, to, bins).await;
                    (array, overview, result)
                },
            ))
            .await;
            chart.pending.update(|p| *p = p.saturating_sub(1));
            if chart.generation.get_value() != mine {
                results.retain(|(_, overview, _)| *overview);
            }
            let refined = results
                .iter()
                .any(|(_, overview, r)| !overview && r.is_ok());
            for (array, overview, result) in results {
                match result {
                    Ok(answer) => chart.held.update_value(|h| {
                        let entry = h.entry(array).or_default();
                        if overview {
                            entry.overview = Some(answer);
                        } else {
                            entry.detail = Some(answer);
                        }
                    }),
                    Err(err) => chart.error.set(Some(err)),
                }
            }
            chart.version.update(|v| *v += 1);
            if refined {
                perf_measure("dl-wheel-to-refined", "dl-wheel");
            }
        });
    });
}

/// Keep the view in the URL (window and hidden series), so reload and links restore it;
/// once the view rests, not on every frame of a zoom.
fn keep_url(chart: Chart) {
    let url_generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let query = view::url_query(chart.window.get(), chart.len.get(), &chart.hidden.get());
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

/// Read the exact samples under the cursor once it rests on one.
fn read_under_cursor(chart: Chart) {
    Effect::new(move |_| {
        let Some(x) = chart.cursor.get() else {
            chart.readout.set(None);
            return;
        };
        let len = chart.len.get_untracked();
        let index = view::sample_at(x, len);
        let series = chart.visible();
        let (time_array, time) = chart.init.with_value(|i| (i.time_array.clone(), i.time));
        leptos::task::spawn_local(async move {
            sleep_ms(READOUT_DEBOUNCE_MS).await;
            if chart
                .cursor
                .get_untracked()
                .map(|c| view::sample_at(c, len))
                != Some(index)
            {
                return;
            }
            match read_exact(index, &series, time_array.as_deref(), time).await {
                Ok(found) => chart.readout.set(Some(found)),
                Err(err) => chart.error.set(Some(err)),
            }
        });
    });
}

/// Follow appends to, replacements and deletions of the charted arrays. The stream does not
/// replay what happened before it connected, so on each (re)connect compare lengths.
fn follow_changes(chart: Chart) {
    crate::app::live::on_changes(move |event| match event {
        LiveEvent::Connected => {
            let mut arrays: Vec<String> = chart
                .init
                .with_value(|i| i.series.iter().map(|s| s.array.clone()).collect());
            arrays.dedup();
            leptos::task::spawn_local(async move {
                for name in arrays {
                    let Ok(shape) = fetch_shape(&name).await else {
                        continue;
                    };
                    if shape.first() != Some(&chart.len.get_untracked()) {
                        changed(chart, &name, &shape);
                    }
                }
            });
        }
        LiveEvent::Changed(ArrayChange { name, shape, .. }) => {
            if is_charted(chart, &name) {
                changed(chart, &name, &shape);
            }
        }
        LiveEvent::Deleted(ArrayChange { name, .. }) => {
            if is_charted(chart, &name) {
                chart.error.set(Some(format!("{name} was deleted")));
            }
        }
    });
}

fn is_charted(chart: Chart, array: &str) -> bool {
    chart
        .init
        .with_value(|i| i.series.iter().any(|s| s.array == array))
}

/// The charted array `name` now has `shape`: refetch its overview, and follow its new end if
/// asked to.
fn changed(chart: Chart, name: &str, shape: &[u64]) {
    chart.held.update_value(|h| {
        if let Some(entry) = h.get_mut(name) {
            entry.overview = None;
        }
    });
    let grown = shape.first().copied().unwrap_or(0);
    if grown != chart.len.get_untracked() {
        chart.len.set(grown);
        if chart.follow.get_untracked() {
            chart
                .window
                .set(view::following(chart.window.get_untracked(), grown as f64));
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
    let ratio = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .max(1.0);
    let size = (
        (spec.width * ratio).round() as u32,
        (spec.height * ratio).round() as u32,
    );
    // Resizing reallocates (and clears) the canvas: only when the size changes.
    if (canvas.width(), canvas.height()) != size {
        canvas.set_width(size.0);
        canvas.set_height(size.1);
        let _ = canvas.set_attribute(
            "style",
            &format!("width:{}px;height:{}px", spec.width, spec.height),
        );
    }
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
