//! The interactive chart: the server's SVG first frame, then a hydrated canvas that zooms,
//! pans and reads exact values.
//!
//! State lives in signals (window, cursor, selection, hidden series); the bins fetched for
//! each array live beside them, non-reactive, with a version signal bumped when they change.
//! A change of view redraws on the next animation frame from the bins already held
//! (re-aggregated by `lod::merge_bins`, so zoom and pan answer at once), and a debounced
//! fetch of `/api/lod` refines it; answers to superseded views are dropped.

use std::collections::HashMap;

use leptos::html;
use leptos::prelude::*;

use crate::catalog::{ChartInit, SeriesInfo, TimeInfo};
use crate::chart::{format_time_ns, ChartSpec, Layout, Series, Theme, XAxis};
use crate::lod::{merge_bins, M4Bin};

/// Height of one stacked panel, CSS px (lower when many are stacked).
pub fn panel_height(panels: usize) -> f64 {
    if panels > 4 {
        124.0
    } else {
        164.0
    }
}
/// Extra height for the x axis under the last panel, CSS px.
pub const AXIS_HEIGHT: f64 = 44.0;
/// Narrowest window, in samples, a zoom may reach.
const MIN_WINDOW: f64 = 8.0;
/// Delay between the last change of view and the refining fetch, ms.
const FETCH_DEBOUNCE_MS: i32 = 20;
/// Delay between the last change of view and the address bar following it, ms.
const URL_DEBOUNCE_MS: i32 = 150;

/// The chart's total height for `panels` visible panels.
pub fn chart_height(panels: usize) -> f64 {
    panels.max(1) as f64 * panel_height(panels) + AXIS_HEIGHT
}

/// The x axis of a chart over `len` samples with optional timestamps.
pub fn x_axis(len: u64, time: Option<&TimeInfo>) -> XAxis {
    match time {
        Some(t) if len > 1 => XAxis::Time {
            t0_ns: t.first_ns,
            ns_per_sample: (t.last_ns - t.first_ns) as f64 / (len - 1) as f64,
        },
        Some(t) => XAxis::Time {
            t0_ns: t.first_ns,
            ns_per_sample: 1.0,
        },
        None => XAxis::Index,
    }
}

/// Bins held for one array: the whole range once, and the latest refined window.
#[derive(Debug, Clone, Default)]
struct Held {
    overview: Option<Fetched>,
    detail: Option<Fetched>,
}

/// One `/api/lod` answer: the window and each column's bins.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// First sample of the window.
    pub start: u64,
    /// One past its last sample.
    pub stop: u64,
    /// Bins per column.
    pub columns: Vec<Vec<M4Bin>>,
}

impl Held {
    /// The bins of `column` covering `[start, stop)` at about `bins` bins: detail where it
    /// covers, the overview elsewhere.
    fn bins(&self, column: usize, start: u64, stop: u64, bins: usize) -> Vec<M4Bin> {
        let mut merged: Vec<M4Bin> = Vec::new();
        let detail = self.detail.as_ref();
        if let Some(overview) = &self.overview {
            if let Some(col) = overview.columns.get(column) {
                merged.extend(col.iter().filter(|b| {
                    detail.is_none_or(|d| b.last_index < d.start || b.first_index >= d.stop)
                }));
            }
        }
        if let Some(detail) = detail {
            if let Some(col) = detail.columns.get(column) {
                merged.extend(col.iter());
            }
        }
        merged.sort_by_key(|b| b.first_index);
        merge_bins(&merged, start, stop, bins.max(1))
    }
}

/// What the crosshair reads: the exact sample under the cursor.
#[derive(Debug, Clone, PartialEq)]
struct Readout {
    index: u64,
    time: Option<String>,
    values: Vec<(String, String)>,
}

/// The chart of `init`'s series: an island (its props travel as JSON; the first frame's SVG
/// is rendered by the server and left in place).
#[island]
pub fn Explorer(init: ChartInit) -> impl IntoView {
    crate::app::island_hydrated();
    // The series grow when data is appended (see the change events below).
    let len_signal = RwSignal::new(init.len);
    let full = move || (0.0, len_signal.get_untracked() as f64);
    let follow = RwSignal::new(false);
    let data_generation = RwSignal::new(0u64);
    let saved = RwSignal::new(None::<Result<String, String>>);
    let window = RwSignal::new((init.start as f64, init.stop as f64));
    let cursor = RwSignal::new(None::<f64>);
    let selection = RwSignal::new(None::<(f64, f64)>);
    let hidden = RwSignal::new(init.hidden.clone());
    let readout = RwSignal::new(None::<Readout>);
    let pending = RwSignal::new(0u32);
    let error = RwSignal::new(None::<String>);
    let drawn = RwSignal::new(false);
    let version = RwSignal::new(0u64);
    let width = RwSignal::new(0.0f64);
    let held = StoredValue::new(HashMap::<String, Held>::new());
    let generation = StoredValue::new(0u64);
    let drag = StoredValue::new(None::<Drag>);
    let frame_queued = StoredValue::new(false);
    let plot = RwSignal::new(None::<PlotBox>);
    let canvas_ref = NodeRef::<html::Canvas>::new();
    let host_ref = NodeRef::<html::Div>::new();
    let init = StoredValue::new(init);

    let visible = move || {
        let hidden = hidden.get();
        init.with_value(|i| {
            i.series
                .iter()
                .enumerate()
                .filter(|(_, s)| !hidden.contains(&s.key))
                .map(|(n, s)| (n, s.clone()))
                .collect::<Vec<_>>()
        })
    };
    let height = move || chart_height(visible().len());

    // The frame of the chart now, without its data: size, window and axis.
    let frame = move || ChartSpec {
        width: width.get().max(320.0),
        height: height(),
        x_range: window.get(),
        x_axis: init.with_value(|i| x_axis(i.len, i.time.as_ref())),
        panels: Vec::new(),
        theme: Theme::Light,
    };

    // What the canvas shows: the frame and each visible panel's bins over the window,
    // merged from the bins held once per change of window, size, data or series. The
    // crosshair and the box-zoom band are page elements over the canvas, so moving the
    // mouse does not redraw it.
    let scene = Memo::new(move |_| {
        let len = len_signal.get();
        version.track();
        let mut frame = frame();
        let (start, stop) = frame.x_range;
        // About one bin per column of the widest plot this frame can have.
        let bins = frame.plot_width_px() as usize;
        let (lo, hi) = (start.floor().max(0.0) as u64, (stop.ceil() as u64).min(len));
        frame.panels = held.with_value(|held| {
            visible()
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

    // Redraw on the next animation frame whenever anything drawn changes.
    Effect::new(move |_| {
        scene.track();
        if frame_queued.get_value() {
            return;
        }
        frame_queued.set_value(true);
        request_animation_frame(move || {
            frame_queued.set_value(false);
            if let Some(canvas) = canvas_ref.get_untracked() {
                perf_mark("dl-draw-start");
                let (drew, has_data) = scene.with_untracked(|spec| {
                    let has_data = spec.panels.iter().any(|p| !p.bins.is_empty());
                    (draw_canvas(&canvas, spec), has_data)
                });
                perf_measure("dl-draw", "dl-draw-start");
                match drew {
                    Ok(layout) => {
                        let placed = PlotBox::of(&layout);
                        if plot.get_untracked() != placed {
                            plot.set(placed);
                        }
                        if has_data && !drawn.get_untracked() {
                            drawn.set(true);
                        }
                    }
                    Err(err) => error.set(Some(err)),
                }
            }
        });
    });

    // Measure the host once mounted, and on window resizes.
    Effect::new(move |_| {
        if let Some(host) = host_ref.get() {
            width.set(host.client_width() as f64);
        }
    });
    let _resize = window_event_listener(leptos::ev::resize, move |_| {
        if let Some(host) = host_ref.get_untracked() {
            width.set(host.client_width() as f64);
        }
    });

    // Refine: fetch the LOD of the window for each array, debounced; drop stale answers.
    Effect::new(move |previous: Option<()>| {
        let len = len_signal.get();
        data_generation.track();
        let (start, stop) = window.get();
        let px = width.get();
        if px <= 0.0 {
            return;
        }
        let first_run = previous.is_none();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        // The arrays of the visible series (a hidden one is fetched when shown again).
        let hidden_now = hidden.get();
        let arrays: Vec<String> = init.with_value(|i| {
            let mut names: Vec<String> = i
                .series
                .iter()
                .filter(|s| !hidden_now.contains(&s.key))
                .map(|s| s.array.clone())
                .collect();
            names.dedup();
            names
        });
        let bins = ((px - 80.0).max(100.0)) as u64;
        let (lo, hi) = (start.floor().max(0.0) as u64, (stop.ceil() as u64).min(len));
        leptos::task::spawn_local(async move {
            if !first_run {
                sleep_ms(FETCH_DEBOUNCE_MS).await;
                if generation.get_value() != mine {
                    return;
                }
            }
            pending.update(|p| *p += 1);
            // All requests at once: the answer takes as long as the slowest, not the sum.
            let requests = arrays.iter().flat_map(|array| {
                let overview_missing =
                    held.with_value(|h| h.get(array).is_none_or(|h| h.overview.is_none()));
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
            pending.update(|p| *p = p.saturating_sub(1));
            if generation.get_value() != mine {
                // A newer view superseded this one; keep only overviews.
                results.retain(|(_, overview, _)| *overview);
            }
            let refined = results
                .iter()
                .any(|(_, overview, r)| !overview && r.is_ok());
            for (array, overview, result) in results {
                match result {
                    Ok(fetched) => held.update_value(|h| {
                        let entry = h.entry(array).or_default();
                        if overview {
                            entry.overview = Some(fetched);
                        } else {
                            entry.detail = Some(fetched);
                        }
                    }),
                    Err(err) => error.set(Some(err)),
                }
            }
            version.update(|v| *v += 1);
            if refined {
                perf_measure("dl-wheel-to-refined", "dl-wheel");
            }
        });
    });

    // Keep the view in the URL (window and hidden series), so reload and links restore it;
    // once the view rests, not on every frame of a zoom.
    let url_generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let len = len_signal.get();
        let (start, stop) = window.get();
        let hidden = hidden.get();
        let (lo, hi) = (start.floor().max(0.0) as u64, (stop.ceil() as u64).min(len));
        let mut query = Vec::new();
        if (lo, hi) != (0, len) {
            query.push(format!("start={lo}"));
            query.push(format!("stop={hi}"));
        }
        if !hidden.is_empty() {
            query.push(format!("hide={}", hidden.join(",")));
        }
        url_generation.update_value(|g| *g += 1);
        let mine = url_generation.get_value();
        leptos::task::spawn_local(async move {
            sleep_ms(URL_DEBOUNCE_MS).await;
            if url_generation.get_value() == mine {
                replace_query(&query.join("&"));
            }
        });
    });

    // Read the exact samples under the cursor, debounced.
    Effect::new(move |_| {
        let Some(x) = cursor.get() else {
            readout.set(None);
            return;
        };
        let len = len_signal.get_untracked();
        let index = (x.round().max(0.0) as u64).min(len.saturating_sub(1));
        let series = visible();
        let (time_array, time) = init.with_value(|i| (i.time_array.clone(), i.time));
        leptos::task::spawn_local(async move {
            sleep_ms(40).await;
            if cursor
                .get_untracked()
                .map(|c| (c.round().max(0.0) as u64).min(len.saturating_sub(1)))
                != Some(index)
            {
                return;
            }
            match read_exact(index, &series, time_array.as_deref(), time).await {
                Ok(found) => readout.set(Some(found)),
                Err(err) => error.set(Some(err)),
            }
        });
    });

    // Follow appends and replacements of the charted arrays.
    let apply_change = move |change: crate::app::live::ChangeData| {
        let charted = init.with_value(|i| i.series.iter().any(|s| s.array == change.name));
        if !charted {
            return;
        }
        if change.kind == "deleted" {
            error.set(Some(format!("{} was deleted", change.name)));
            return;
        }
        held.update_value(|h| {
            if let Some(entry) = h.get_mut(&change.name) {
                entry.overview = None;
            }
        });
        let grown = change.shape.first().copied().unwrap_or(0);
        if grown != len_signal.get_untracked() {
            len_signal.set(grown);
            if follow.get_untracked() {
                let (start, stop) = window.get_untracked();
                let width = stop - start;
                window.set(clamp_window(
                    grown as f64 - width,
                    grown as f64,
                    grown as f64,
                ));
            }
        }
        data_generation.update(|g| *g += 1);
    };
    crate::app::live::on_changes(move |change| {
        if change.kind != "connected" {
            apply_change(change);
            return;
        }
        // Appends made before the stream connected are not replayed: compare lengths.
        let mut arrays: Vec<String> =
            init.with_value(|i| i.series.iter().map(|s| s.array.clone()).collect());
        arrays.dedup();
        leptos::task::spawn_local(async move {
            for name in arrays {
                if let Ok(shape) = fetch_shape(&name).await {
                    if shape.first() != Some(&len_signal.get_untracked()) {
                        apply_change(crate::app::live::ChangeData {
                            kind: "changed".into(),
                            name,
                            shape,
                            etag: String::new(),
                        });
                    }
                }
            }
        });
    });

    let set_window = move |(start, stop): (f64, f64)| {
        window.set(clamp_window(start, stop, len_signal.get_untracked() as f64));
    };
    let zoom_about = move |x: f64, factor: f64| {
        let (start, stop) = window.get_untracked();
        set_window((x - (x - start) * factor, x + (stop - x) * factor));
    };
    let pan_by = move |fraction: f64| {
        let (start, stop) = window.get_untracked();
        let shift = (stop - start) * fraction;
        set_window((start + shift, stop + shift));
    };
    // The plot as last drawn (before the first frame, where a frame without data puts it).
    let placed = move || {
        plot.get_untracked().unwrap_or_else(|| {
            let layout = untrack(frame).layout();
            PlotBox {
                left: layout.plot_left,
                right: layout.plot_right,
                top: 0.0,
                bottom: 0.0,
            }
        })
    };
    let x_at = move |client_x: f64| -> Option<(f64, f64)> {
        let host = host_ref.get_untracked()?;
        let px = client_x - host.get_bounding_client_rect().left();
        Some((px, placed().x_from_px(window.get_untracked(), px)))
    };

    let on_wheel = move |ev: leptos::ev::WheelEvent| {
        ev.prevent_default();
        perf_mark("dl-wheel");
        if let Some((_, x)) = x_at(ev.client_x() as f64) {
            zoom_about(x, 1.0015f64.powf(ev.delta_y()));
        }
    };
    let on_down = move |ev: leptos::ev::MouseEvent| {
        if ev.button() != 0 {
            return;
        }
        if let Some((px, x)) = x_at(ev.client_x() as f64) {
            drag.set_value(Some(Drag {
                from_px: px,
                from_x: x,
                window: window.get_untracked(),
                boxed: ev.shift_key(),
            }));
            if let Some(host) = host_ref.get_untracked() {
                let _ = host.focus();
            }
        }
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some((px, x)) = x_at(ev.client_x() as f64) else {
            return;
        };
        cursor.set(Some(x));
        if let Some(d) = drag.get_value() {
            if d.boxed {
                selection.set(Some((d.from_x.min(x), d.from_x.max(x))));
            } else {
                let p = placed();
                let per_px = (d.window.1 - d.window.0) / (p.right - p.left).max(1.0);
                let shift = (d.from_px - px) * per_px;
                set_window((d.window.0 + shift, d.window.1 + shift));
            }
        }
    };
    let on_up = move |_: leptos::ev::MouseEvent| {
        if let Some(d) = drag.get_value() {
            if d.boxed {
                if let Some((a, b)) = selection.get_untracked() {
                    if b - a >= 1.0 {
                        set_window((a, b));
                    }
                }
                selection.set(None);
            }
        }
        drag.set_value(None);
    };
    let on_leave = move |_: leptos::ev::MouseEvent| {
        cursor.set(None);
        drag.set_value(None);
        selection.set(None);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let (start, stop) = window.get_untracked();
        let center = (start + stop) / 2.0;
        match ev.key().as_str() {
            "+" | "=" => zoom_about(center, 0.5),
            "-" | "_" => zoom_about(center, 2.0),
            "ArrowLeft" => pan_by(-0.2),
            "ArrowRight" => pan_by(0.2),
            "0" | "Home" => set_window(full()),
            _ => return,
        }
        ev.prevent_default();
    };

    // Where the crosshair and the box-zoom band go, over the drawn plot: their style, or
    // hidden.
    const HIDDEN: &str = "display:none";
    let crosshair = move || {
        let shown = || {
            let p = plot.get()?;
            let px = p.px_from_x(window.get(), cursor.get()?);
            (p.left..=p.right).contains(&px).then(|| {
                format!(
                    "left:{}px;top:{}px;height:{}px",
                    px.floor(),
                    p.top,
                    p.bottom - p.top
                )
            })
        };
        shown().unwrap_or_else(|| HIDDEN.into())
    };
    let band = move || {
        let shown = || {
            let p = plot.get()?;
            let (from, to) = selection.get()?;
            let at = |x: f64| p.px_from_x(window.get(), x).clamp(p.left, p.right);
            let (a, b) = (at(from.min(to)), at(from.max(to)));
            (b > a).then(|| {
                format!(
                    "left:{}px;width:{}px;top:{}px;height:{}px",
                    a.floor(),
                    (b.floor() - a.floor()).max(1.0),
                    p.top,
                    p.bottom - p.top
                )
            })
        };
        shown().unwrap_or_else(|| HIDDEN.into())
    };

    let toggle = move |key: String| {
        hidden.update(|h| {
            if let Some(at) = h.iter().position(|k| *k == key) {
                h.remove(at);
            } else {
                h.push(key);
            }
        });
    };

    // The x-axis labels, also as text for screen readers (and tests).
    let x_ticks = move || {
        let (start, stop) = window.get();
        let axis = init.with_value(|i| x_axis(i.len, i.time.as_ref()));
        match axis {
            XAxis::Time {
                t0_ns,
                ns_per_sample,
            } => {
                let at = |x: f64| t0_ns as f64 + x * ns_per_sample;
                crate::chart::time_ticks(at(start), at(stop), 8).0
            }
            XAxis::Index => crate::chart::nice_ticks(start, stop, 8),
        }
        .into_iter()
        .map(|(_, label)| label)
        .collect::<Vec<_>>()
    };
    let svg = init.with_value(|i| i.svg.clone());
    let name_for_save = StoredValue::new(init.with_value(|i| {
        i.series
            .first()
            .map(|s| s.array.clone())
            .unwrap_or_default()
    }));
    let series_list = init.with_value(|i| i.series.clone());
    let name_for_export = init.with_value(|i| {
        i.series
            .first()
            .map(|s| s.array.clone())
            .unwrap_or_default()
    });

    view! {
        <div class="explorer">
            <div class="toolbar">
                <div class="legend" role="group" aria-label="Series">
                    {series_list
                        .into_iter()
                        .enumerate()
                        .map(|(n, s)| {
                            let key = s.key.clone();
                            let key_for_class = s.key.clone();
                            view! {
                                <button
                                    class=move || {
                                        if hidden.get().contains(&key_for_class) { "chip off" } else { "chip" }
                                    }
                                    data-testid="series-toggle"
                                    on:click=move |_| toggle(key.clone())
                                >
                                    <span class=format!("swatch c{}", n % 6)></span>
                                    {s.label}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
                <div class="tools">
                    <span class="window" data-testid="window">
                        {move || {
                            let (a, b) = window.get();
                            format!("samples {} – {}", a.floor().max(0.0) as u64, (b.ceil() as u64).min(len_signal.get()))
                        }}
                    </span>
                    <button class="tool" on:click=move |_| zoom_about((window.get_untracked().0 + window.get_untracked().1) / 2.0, 0.5) title="Zoom in (+)">"+"</button>
                    <button class="tool" on:click=move |_| zoom_about((window.get_untracked().0 + window.get_untracked().1) / 2.0, 2.0) title="Zoom out (−)">"−"</button>
                    <button class="tool" on:click=move |_| set_window(full()) data-testid="reset" title="Reset (0 or double-click)">"Reset"</button>
                    <button
                        class="tool"
                        class:on=move || follow.get()
                        aria-pressed=move || follow.get().to_string()
                        data-testid="follow"
                        title="Keep the newest samples in view as data arrives"
                        on:click=move |_| {
                            let on = !follow.get_untracked();
                            follow.set(on);
                            if on {
                                let len = len_signal.get_untracked() as f64;
                                let (start, stop) = window.get_untracked();
                                set_window((len - (stop - start), len));
                            }
                        }
                    >
                        "Follow"
                    </button>
                    <button class="tool" data-testid="save-window" title="Save the visible window as a new array" on:click=move |_| {
                        let (start, stop) = window.get_untracked();
                        let (lo, hi) = (start.floor().max(0.0) as u64, stop.ceil().max(0.0) as u64);
                        let array = name_for_save.get_value();
                        let suggested = format!("{}_{lo}_{hi}", array.replace('/', "_"));
                        let Some(target) = web_sys::window()
                            .and_then(|w| w.prompt_with_message_and_default("Save the visible window as the array:", &format!("saved/{suggested}")).ok().flatten())
                        else {
                            return;
                        };
                        leptos::task::spawn_local(async move {
                            saved.set(Some(save_window(&array, lo, hi, &target).await.map(|()| target)));
                        });
                    }>"Save window"</button>
                    <ExportMenu window name=name_for_export canvas_ref/>
                </div>
            </div>
            <div
                class="chart-host"
                class:panning=move || drag.with_value(|d| d.is_some_and(|d| !d.boxed))
                tabindex="0"
                data-testid="chart"
                aria-label="Chart: scroll to zoom, drag to pan, shift-drag to zoom to a box, double-click to reset"
                node_ref=host_ref
                style:height=move || format!("{}px", height())
                on:wheel=on_wheel
                on:mousedown=on_down
                on:mousemove=on_move
                on:mouseup=on_up
                on:mouseleave=on_leave
                on:dblclick=move |_| set_window(full())
                on:keydown=on_key
            >
                <div class="chart-svg" class:hidden=move || drawn.get() inner_html=svg data-testid="chart-svg"></div>
                <canvas node_ref=canvas_ref class="chart-canvas" data-testid="chart-canvas"></canvas>
                <div class="band" style=band></div>
                <div class="crosshair" style=crosshair></div>
                <div class="progress" class:active=move || { pending.get() > 0 } role="progressbar" aria-label="Loading"></div>
            </div>
            <ul class="sr-only" data-testid="x-ticks" aria-label="Time axis">
                {move || x_ticks().into_iter().map(|label| view! { <li>{label}</li> }).collect_view()}
            </ul>
            {move || saved.get().map(|outcome| match outcome {
                Ok(name) => view! {
                    <p class="saved" data-testid="saved">"Saved as "<a href=format!("/view/{name}")>{name.clone()}</a></p>
                }.into_any(),
                Err(err) => view! { <p class="error banner" role="alert">{err}</p> }.into_any(),
            })}
            <Show when=move || error.get().is_some()>
                <p class="error banner" role="alert">{move || error.get().unwrap_or_default()}</p>
            </Show>
            <div class="readout" data-testid="readout" aria-live="polite">
                {move || match readout.get() {
                    None => view! { <span class="muted">"Hover the chart to read exact values · scroll to zoom · drag to pan · shift-drag to box-zoom · double-click or 0 to reset"</span> }.into_any(),
                    Some(r) => view! {
                        <span class="at" data-testid="readout-at">
                            {r.time.clone().unwrap_or_default()}
                            <span class="muted">{format!(" sample {}", r.index)}</span>
                        </span>
                        {r.values.into_iter().map(|(label, value)| view! {
                            <span class="value" data-testid="readout-value">
                                <span class="muted">{label}" "</span><code>{value}</code>
                            </span>
                        }).collect_view()}
                    }.into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn ExportMenu(
    window: RwSignal<(f64, f64)>,
    name: String,
    canvas_ref: NodeRef<html::Canvas>,
) -> impl IntoView {
    let name = StoredValue::new(name);
    let slice = move || {
        let (a, b) = window.get();
        format!("{}:{}", a.floor().max(0.0) as u64, b.ceil().max(0.0) as u64)
    };
    let leaf = move || name.with_value(|n| n.replace('/', "_"));
    let npy = move || format!("/api/arrays/{}?slice={}", name.get_value(), slice());
    let png = move |_| {
        if let Some(canvas) = canvas_ref.get_untracked() {
            if let Ok(url) = canvas.to_data_url() {
                download(&url, &format!("{}.png", leaf()));
            }
        }
    };
    let csv = move |_| {
        let first = window.get_untracked().0.floor().max(0.0) as u64;
        let url = format!(
            "/api/arrays/{}?slice={}&format=raw",
            name.get_value(),
            slice()
        );
        let file = format!("{}.csv", leaf());
        leptos::task::spawn_local(async move {
            if let Ok(text) = fetch_csv(&url, first).await {
                download_text(&text, &file);
            }
        });
    };
    view! {
        <span class="export">
            <button class="tool" on:click=png data-testid="export-png">"PNG"</button>
            <a class="tool" href=npy download=move || format!("{}.npy", leaf()) data-testid="export-npy">".npy"</a>
            <button class="tool" on:click=csv data-testid="export-csv">".csv"</button>
        </span>
    }
}

/// Where the last frame put its plots, CSS px from the chart's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PlotBox {
    left: f64,
    right: f64,
    /// Top of the first panel.
    top: f64,
    /// Bottom of the last panel.
    bottom: f64,
}

impl PlotBox {
    /// The sample index under `px` CSS px from the chart's left, for the window
    /// `(start, stop)` (as [`ChartSpec::x_from_px`] maps it).
    fn x_from_px(&self, (start, stop): (f64, f64), px: f64) -> f64 {
        start + (px - self.left) / (self.right - self.left) * (stop - start)
    }

    /// CSS px from the chart's left of the sample index `x` (inverse of `x_from_px`).
    fn px_from_x(&self, (start, stop): (f64, f64), x: f64) -> f64 {
        self.left + (x - start) / (stop - start) * (self.right - self.left)
    }

    fn of(layout: &Layout) -> Option<PlotBox> {
        Some(PlotBox {
            left: layout.plot_left,
            right: layout.plot_right,
            top: layout.panels.first()?.top,
            bottom: layout.panels.last()?.bottom,
        })
    }
}

/// A drag in progress: a pan, or (with shift) a box zoom.
#[derive(Debug, Clone, Copy)]
struct Drag {
    from_px: f64,
    from_x: f64,
    window: (f64, f64),
    boxed: bool,
}

fn clamp_window(start: f64, stop: f64, len: f64) -> (f64, f64) {
    let width = (stop - start).clamp(MIN_WINDOW.min(len), len.max(1.0));
    let start = start.clamp(0.0, (len - width).max(0.0));
    (start, start + width)
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

/// A `performance.mark` for the browser benchmark (`end2end/bench/`).
fn perf_mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// A `performance.measure` from the mark `from` to now (nothing if there is no such mark).
fn perf_measure(name: &str, from: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        if performance.get_entries_by_name(from).length() == 0 {
            return;
        }
        let _ = performance.measure_with_start_mark(name, from);
        performance.clear_marks_with_mark_name(from);
    }
}

/// Wait `ms` milliseconds (browser timers).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// GET `url` as bytes plus the response headers.
async fn fetch_bytes(url: &str) -> Result<(Vec<u8>, web_sys::Headers), String> {
    let response = request(url, "GET").await?;
    let buffer = wasm_bindgen_futures::JsFuture::from(
        response
            .array_buffer()
            .map_err(|_| "cannot read the response")?,
    )
    .await
    .map_err(|_| "cannot read the response")?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    if !response.ok() {
        let message = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {}", response.status()));
        return Err(message);
    }
    Ok((bytes, response.headers()))
}

/// Send a `method` request for `url`; the response, whatever its status.
async fn request(url: &str, method: &str) -> Result<web_sys::Response, String> {
    use wasm_bindgen::JsCast;
    let window = web_sys::window().ok_or("no window")?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|_| format!("cannot reach the server for {url}"))?;
    response.dyn_into().map_err(|_| "not a response".into())
}

/// A raw (`format=raw`) answer: the bytes, and the dtype and shape its headers give.
struct RawArray {
    bytes: Vec<u8>,
    dtype: crate::wire::dtype::DType,
    shape: Vec<u64>,
}

/// GET a `format=raw` URL.
///
/// # Errors
/// Network errors, the server's error messages, and a missing or bad `X-Array-Dtype`.
async fn fetch_raw(url: &str) -> Result<RawArray, String> {
    let (bytes, headers) = fetch_bytes(url).await?;
    let dtype = header(&headers, "x-array-dtype").ok_or("no X-Array-Dtype")?;
    Ok(RawArray {
        bytes,
        dtype: crate::wire::dtype::DType::parse_descr(&dtype).map_err(|e| e.to_string())?,
        shape: parse_shape(&header(&headers, "x-array-shape").unwrap_or_default()),
    })
}

fn header(headers: &web_sys::Headers, name: &str) -> Option<String> {
    headers.get(name).ok().flatten()
}

/// An `X-Array-Shape` value (`45000,4`; empty for a 0-d array) as dimensions.
fn parse_shape(text: &str) -> Vec<u64> {
    text.split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect()
}

/// The shape of `array` now, from a `HEAD` request (no data is sent).
async fn fetch_shape(array: &str) -> Result<Vec<u64>, String> {
    let url = format!("/api/arrays/{array}?format=raw");
    let response = request(&url, "HEAD").await?;
    let shape = header(&response.headers(), "x-array-shape")
        .ok_or(format!("HTTP {} for {url}", response.status()))?;
    Ok(parse_shape(&shape))
}

/// The M4 bins of `[start, stop)` of every column of `array`.
///
/// # Errors
/// Network errors and the server's error messages.
pub async fn fetch_lod(array: &str, start: u64, stop: u64, bins: u64) -> Result<Fetched, String> {
    let url = format!("/api/lod/{array}?start={start}&stop={stop}&bins={bins}");
    let (body, _) = fetch_bytes(&url).await?;
    decode_lod(&body)
}

/// Decode an `/api/lod` body into bins per column.
///
/// # Errors
/// When the body is not the documented bundle.
pub fn decode_lod(body: &[u8]) -> Result<Fetched, String> {
    let entries = crate::wire::bundle::decode_bundle(body).map_err(|e| e.to_string())?;
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name)
            .ok_or(format!("the LOD answer has no '{name}'"))
    };
    let u64s = |data: &[u8]| -> Vec<u64> {
        data.chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect()
    };
    let window = u64s(find("window")?.data);
    let index_entry = find("index")?;
    let index = u64s(index_entry.data);
    let value: Vec<f64> = find("value")?
        .data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect();
    let (columns, bins) = match index_entry.shape[..] {
        [c, b, 4] => (c as usize, b as usize),
        _ => return Err("the LOD answer has an unexpected shape".into()),
    };
    if index.len() != columns * bins * 4 || value.len() != index.len() || window.len() != 2 {
        return Err("the LOD answer is inconsistent".into());
    }
    let columns = (0..columns)
        .map(|c| {
            (0..bins)
                .map(|b| {
                    let at = (c * bins + b) * 4;
                    M4Bin {
                        first_index: index[at],
                        first: value[at],
                        min_index: index[at + 1],
                        min: value[at + 1],
                        max_index: index[at + 2],
                        max: value[at + 2],
                        last_index: index[at + 3],
                        last: value[at + 3],
                    }
                })
                .collect()
        })
        .collect();
    Ok(Fetched {
        start: window[0],
        stop: window[1],
        columns,
    })
}

/// The exact time and values at sample `index`.
async fn read_exact(
    index: u64,
    series: &[(usize, SeriesInfo)],
    time_array: Option<&str>,
    time: Option<TimeInfo>,
) -> Result<Readout, String> {
    let slice = format!("{index}:{}", index + 1);
    let time = match (time_array, time) {
        (Some(array), Some(info)) => {
            let url = format!("/api/arrays/{array}?slice={slice}&format=raw&dtype=%3Ci8");
            let (bytes, _) = fetch_bytes(&url).await?;
            let count = i64::from_le_bytes(
                bytes
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or("short read")?,
            );
            Some(format_time_ns(count.saturating_mul(info.unit_ns)))
        }
        _ => None,
    };
    let mut values = Vec::new();
    let mut cache: HashMap<String, Vec<String>> = HashMap::new();
    for (_, s) in series {
        if !cache.contains_key(&s.array) {
            let url = format!("/api/arrays/{}?slice={slice}&format=raw", s.array);
            let raw = fetch_raw(&url).await?;
            let texts =
                crate::wire::convert::format_elements(&raw.bytes, &raw.dtype, s.columns as usize);
            cache.insert(s.array.clone(), texts);
        }
        let text = cache[&s.array]
            .get(s.column as usize)
            .cloned()
            .unwrap_or_default();
        values.push((s.label.clone(), text));
    }
    Ok(Readout {
        index,
        time,
        values,
    })
}

/// Point the address bar at the current view without a navigation.
fn replace_query(query: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(path) = window.location().pathname() else {
        return;
    };
    let url = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Save a URL (data: or blob:) as a file.
fn download(url: &str, file: &str) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(element) = document.create_element("a") {
        if let Ok(anchor) = element.dyn_into::<web_sys::HtmlAnchorElement>() {
            anchor.set_href(url);
            anchor.set_download(file);
            anchor.click();
        }
    }
}

fn download_text(text: &str, file: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/csv");
    if let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) {
        if let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) {
            download(&url, file);
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    }
}

/// Fetch rows `[lo, hi)` of `array` as raw bytes, wrap them in an `.npy` header built here,
/// and PUT that as the array `target`: the browser ships the typed data as binary.
///
/// # Errors
/// Network errors and the server's error messages.
async fn save_window(array: &str, lo: u64, hi: u64, target: &str) -> Result<(), String> {
    use crate::wire::npy::{NpyHeader, Version};
    let raw = fetch_raw(&format!("/api/arrays/{array}?slice={lo}:{hi}&format=raw")).await?;
    let header = NpyHeader {
        version: Version::V1,
        dtype: raw.dtype,
        fortran_order: false,
        shape: raw.shape,
    };
    let mut document = header.to_bytes();
    document.extend_from_slice(&raw.bytes);
    crate::app::live::put_npy(target, &document, |_| {}).await
}

/// Most rows a CSV export writes; wider windows are cut (the .npy export has no limit).
pub const CSV_MAX_ROWS: usize = 1_000_000;

/// Fetch raw rows and format them as CSV: the sample index (from `first`), then one field
/// per array column.
async fn fetch_csv(url: &str, first: u64) -> Result<String, String> {
    let raw = fetch_raw(url).await?;
    let dim = |i: usize| raw.shape.get(i).map_or(1, |&d| d as usize);
    let rows = dim(0).min(CSV_MAX_ROWS);
    let per_row = dim(1).max(1);
    let texts = crate::wire::convert::format_elements(&raw.bytes, &raw.dtype, rows * per_row);
    let mut out = String::with_capacity(rows * 16);
    out.push_str("index");
    for column in 0..per_row {
        out.push_str(&format!(",c{column}"));
    }
    out.push('\n');
    for (row, chunk) in texts.chunks(per_row).enumerate() {
        out.push_str(&(first + row as u64).to_string());
        for value in chunk {
            out.push(',');
            out.push_str(value);
        }
        out.push('\n');
    }
    Ok(out)
}
