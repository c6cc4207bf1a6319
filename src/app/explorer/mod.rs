//! The interactive chart: the server's SVG first frame, then a hydrated canvas that zooms,
//! pans and reads exact values.
//!
//! State lives in signals (window, cursor, selection, hidden and overlaid series), gathered
//! in [`Chart`]; the bins fetched for each array live beside them, non-reactive, with a
//! version signal bumped when they change. A change of view redraws on the next animation
//! frame from the bins already held, and a debounced fetch of `/api/lod` refines it;
//! answers to superseded views are dropped. On a time axis every series is fetched and
//! placed by its own timestamps, so series at several rates share the axis. The pieces:
//!
//! - `view`: the window, zoom, pan, drags, overlays and the address bar as plain logic;
//! - `held`: the bins held per array;
//! - `effects`: drawing, the address bar, the readout and live updates;
//! - `refine`: fetching the LOD of each view, placed by each series' timestamps;
//! - `legend`: the series chips (toggle, overlay, remove) and the picker that adds series;
//! - `client` and `browser`: `fetch` and the other browser services;
//! - `export` and `readout`: the export buttons and the readout line;
//! - `measure`: the statistics of the window and its spectrum, below the chart;
//! - `yaxis`: each panel's y range (auto, manual, log) and y zoom;
//! - `cursors`: the two measurement cursors and their differences;
//! - `height`: the panels' height (density menu, drag handle);
//! - `clock`: the start and rate of a chart by index, set from the toolbar.

mod browser;
mod client;
mod clock;
mod cursors;
mod effects;
mod export;
mod height;
mod held;
mod legend;
mod measure;
mod readout;
mod refine;
pub mod view;
mod yaxis;

use std::collections::HashMap;

use leptos::html;
use leptos::prelude::*;

use crate::catalog::{stack, ChartInit, SeriesInfo, TimeAxis};
use crate::chart::{chart_height_with, ChartSpec, PanelRect, Theme, XAxis, YScale};
use browser::perf_mark;
use clock::ClockTool;
use cursors::{CursorBar, CursorLines, Cursors, CLICK_PX};
use export::{ExportMenu, ExportNote};
use height::{DensityMenu, ResizeHandle};
use held::Held;
use legend::Legend;
use measure::{Measure, MeasurePanel};
use readout::{Readout, ReadoutBar};
use view::{Drag, Extent, PlotBox, UrlState, Window, KEY_PAN, MIN_WIDTH_PX, STEP_ZOOM};
use yaxis::YControls;

/// Every piece of the chart's state; all of it `Copy`, so handlers and effects share it.
#[derive(Clone, Copy)]
struct Chart {
    init: StoredValue<ChartInit>,
    /// The time axis, if the series are charted in time (x is then ns after its start).
    time: Option<TimeAxis>,
    /// Samples of the longest array now (the series grow when data is appended).
    len: RwSignal<u64>,
    /// Samples of each charted array now.
    lengths: StoredValue<HashMap<String, u64>>,
    /// The version (ETag without the quotes) of each charted array and timestamps now, as
    /// tile URLs name them.
    versions: StoredValue<HashMap<String, String>>,
    /// The end of the x axis now: `len`, or one ns after the newest sample.
    end: RwSignal<f64>,
    /// The window, in x units.
    window: RwSignal<Window>,
    /// On a time axis, the samples `[first, last + 1)` of each array the window shows, as
    /// the latest refined answers found them.
    shown: RwSignal<HashMap<String, (u64, u64)>>,
    hidden: RwSignal<Vec<String>>,
    /// Keys of the series overlaid on the panel above theirs.
    joined: RwSignal<Vec<String>>,
    /// Width of the chart's container, CSS px (0 until measured).
    width: RwSignal<f64>,
    /// Keep the newest samples in view as data arrives.
    follow: RwSignal<bool>,
    /// The x under the pointer.
    cursor: RwSignal<Option<f64>>,
    /// A box zoom's selection, in x.
    selection: RwSignal<Option<(f64, f64)>>,
    readout: RwSignal<Option<Readout>>,
    /// Fetches in flight.
    pending: RwSignal<u32>,
    /// Whether the bins of the current view have arrived (for people: the progress bar;
    /// for tests: `data-settled`).
    settled: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    /// Whether the canvas has drawn data (then the server's SVG is hidden).
    drawn: RwSignal<bool>,
    /// Bumped when `held` changes.
    version: RwSignal<u64>,
    /// Bumped when a charted array changes on the server.
    data_generation: RwSignal<u64>,
    /// Where the last frame put its plots.
    plot: RwSignal<Option<PlotBox>>,
    /// Where the last frame put each panel, with its y range.
    rects: RwSignal<Vec<PanelRect>>,
    /// Each panel's y scale, by the key of its first series (autoscaled when missing).
    y_scales: RwSignal<HashMap<String, YScale>>,
    held: StoredValue<HashMap<String, Held>>,
    /// The latest view a refining fetch was started for.
    generation: StoredValue<u64>,
    drag: StoredValue<Option<Drag>>,
    canvas_ref: NodeRef<html::Canvas>,
    host_ref: NodeRef<html::Div>,
    /// The statistics and spectrum of the window.
    measure: Measure,
    /// The two measurement cursors.
    cursors: Cursors,
    /// Each panel's height as the user chose it (`None`: the default rule).
    panel_px: RwSignal<Option<f64>>,
}

impl Chart {
    fn new(init: ChartInit) -> Chart {
        let lengths = init
            .series
            .iter()
            .map(|s| (s.array.clone(), s.len))
            .collect();
        let versions = init
            .series
            .iter()
            .flat_map(|s| {
                let time = s
                    .time
                    .as_ref()
                    .map(|t| (t.array.clone(), t.version.clone()));
                [(s.array.clone(), s.version.clone())]
                    .into_iter()
                    .chain(time)
            })
            .collect();
        Chart {
            time: init.time,
            len: RwSignal::new(init.len),
            lengths: StoredValue::new(lengths),
            versions: StoredValue::new(versions),
            end: RwSignal::new(init.x_end()),
            window: RwSignal::new(init.window),
            shown: RwSignal::new(HashMap::new()),
            hidden: RwSignal::new(init.hidden.clone()),
            joined: RwSignal::new(init.joined.clone()),
            width: RwSignal::new(0.0),
            follow: RwSignal::new(false),
            cursor: RwSignal::new(None),
            selection: RwSignal::new(None),
            readout: RwSignal::new(None),
            pending: RwSignal::new(0),
            settled: RwSignal::new(false),
            error: RwSignal::new(None),
            drawn: RwSignal::new(false),
            version: RwSignal::new(0),
            data_generation: RwSignal::new(0),
            plot: RwSignal::new(None),
            rects: RwSignal::new(Vec::new()),
            y_scales: RwSignal::new(init.y.iter().cloned().collect()),
            held: StoredValue::new(HashMap::new()),
            generation: StoredValue::new(0),
            drag: StoredValue::new(None),
            canvas_ref: NodeRef::new(),
            host_ref: NodeRef::new(),
            measure: Measure::new(),
            cursors: Cursors::new(),
            panel_px: RwSignal::new(None),
            init: StoredValue::new(init),
        }
    }

    /// The panels, top to bottom, each its visible series with their colour index.
    fn panels(&self) -> Vec<Vec<(usize, SeriesInfo)>> {
        let (hidden, joined) = (self.hidden.get(), self.joined.get());
        self.init.with_value(|i| {
            stack(&i.series, &hidden, &joined)
                .into_iter()
                .map(|panel| {
                    panel
                        .into_iter()
                        .map(|n| (n, i.series[n].clone()))
                        .collect()
                })
                .collect()
        })
    }

    /// The visible series with their colour index, top to bottom.
    fn visible(&self) -> Vec<(usize, SeriesInfo)> {
        self.panels().into_iter().flatten().collect()
    }

    /// The visible series, one per array (the first of its columns), in order.
    fn visible_arrays(&self) -> Vec<SeriesInfo> {
        let mut arrays: Vec<SeriesInfo> = Vec::new();
        for (_, s) in self.visible() {
            if !arrays.iter().any(|a| a.array == s.array) {
                arrays.push(s);
            }
        }
        arrays
    }

    /// The version of the charted array (or timestamps) `array` now, as tile URLs name it.
    fn version_of(&self, array: &str) -> String {
        self.versions
            .with_value(|v| v.get(array).cloned())
            .unwrap_or_default()
    }

    /// Learn the version of `array` from the server (after a tile URL was refused as stale).
    async fn refresh_version(self, array: &str) {
        if let Ok((_, version)) = client::fetch_head(array).await {
            self.versions.update_value(|v| {
                v.insert(array.to_string(), version);
            });
        }
    }

    /// Samples of `array` now.
    fn length_of(&self, array: &str) -> u64 {
        self.lengths
            .with_value(|l| l.get(array).copied())
            .unwrap_or_else(|| self.len.get_untracked())
    }

    fn x_axis(&self) -> XAxis {
        match (self.time, self.clock()) {
            (Some(axis), _) => XAxis::Time {
                t0_ns: axis.first_ns,
                ns_per_sample: 1.0,
            },
            (None, Some(clock)) => XAxis::Time {
                t0_ns: clock.start_ns,
                ns_per_sample: clock.ns_per_sample(),
            },
            (None, None) => XAxis::Index,
        }
    }

    /// The clock of a chart by index, if its first array has one.
    fn clock(&self) -> Option<crate::catalog::Clock> {
        self.init.with_value(|i| i.clock)
    }

    /// How far the x axis goes now, and how narrow a window may get.
    fn extent(&self) -> Extent {
        match &self.time {
            Some(axis) => Extent::time(axis, self.end.get_untracked()),
            None => Extent::samples(self.len.get_untracked()),
        }
    }

    /// The samples of `array` the window shows (by index: those it covers; in time: as
    /// last refined).
    fn shown_samples(&self, array: &str) -> (u64, u64) {
        match self.time {
            Some(_) => self
                .shown
                .with(|s| s.get(array).copied())
                .unwrap_or((0, self.length_of(array))),
            None => {
                self.len.track();
                view::samples(self.window.get(), self.length_of(array))
            }
        }
    }

    /// The frame of the chart now, without its data: size, window and axis.
    fn frame(&self) -> ChartSpec {
        ChartSpec {
            width: self.width.get().max(MIN_WIDTH_PX),
            height: self.height(),
            x_range: self.window.get(),
            x_axis: self.x_axis(),
            panels: Vec::new(),
            theme: Theme::Light,
        }
    }

    /// The chart's height now, CSS px.
    fn height(&self) -> f64 {
        chart_height_with(self.panels().len(), self.panel_px.get())
    }

    /// The address bar's query for this view, with `added` instead of what is added now.
    fn url_query(&self, added: Option<&[String]>) -> Option<String> {
        let url = self.init.with_value(|i| i.url.clone())?;
        let (hidden, joined) = (self.hidden.get(), self.joined.get());
        let mut y: Vec<(String, YScale)> = self.y_scales.get().into_iter().collect();
        y.sort_by(|a, b| a.0.cmp(&b.0));
        self.end.track();
        self.len.track();
        let state = UrlState {
            y: &y,
            window: self.window.get(),
            extent: self.extent(),
            time: self.time.as_ref(),
            time_asked: url.time.as_deref(),
            added: added.unwrap_or(&url.added),
            hidden: &hidden,
            joined: &joined,
        };
        Some(state.query())
    }

    fn set_window(&self, window: Window) {
        self.window.set(view::clamp_window(window, self.extent()));
    }

    fn reset(&self) {
        self.set_window((0.0, self.end.get_untracked()));
    }

    /// A view the user chose (a zoom or a pan): Follow lets go, visibly, so the next
    /// append does not pull the view back; its button turns it on again.
    fn user_view(&self, window: Window) {
        if self.follow.get_untracked() {
            self.follow.set(false);
        }
        self.window.set(window);
    }

    fn zoom_about(&self, x: f64, factor: f64) {
        let extent = self.extent();
        self.user_view(view::zoomed(self.window.get_untracked(), x, factor, extent));
    }

    fn zoom_center(&self, factor: f64) {
        let (start, stop) = self.window.get_untracked();
        self.zoom_about((start + stop) / 2.0, factor);
    }

    fn pan_by(&self, fraction: f64) {
        let extent = self.extent();
        self.user_view(view::panned(self.window.get_untracked(), fraction, extent));
    }

    /// The plot as last drawn (before the first frame, where a frame without data puts it).
    fn placed(&self) -> PlotBox {
        self.plot.get_untracked().unwrap_or_else(|| {
            let layout = untrack(|| self.frame()).layout();
            PlotBox {
                left: layout.plot_left,
                right: layout.plot_right,
                top: 0.0,
                bottom: 0.0,
            }
        })
    }

    /// The CSS px from the chart's left and the x under the pointer at `client_x`.
    fn x_at(&self, client_x: f64) -> Option<(f64, f64)> {
        let host = self.host_ref.get_untracked()?;
        let px = client_x - host.get_bounding_client_rect().left();
        let x = self
            .placed()
            .x_map(self.window.get_untracked())
            .x_from_px(px);
        Some((px, x))
    }

    fn toggle_in(list: RwSignal<Vec<String>>, key: String) {
        list.update(|keys| {
            if let Some(at) = keys.iter().position(|k| *k == key) {
                keys.remove(at);
            } else {
                keys.push(key);
            }
        });
    }

    fn toggle(&self, key: String) {
        Chart::toggle_in(self.hidden, key);
    }

    fn toggle_join(&self, key: String) {
        Chart::toggle_in(self.joined, key);
    }

    fn toggle_follow(&self) {
        let on = !self.follow.get_untracked();
        self.follow.set(on);
        if on {
            let extent = self.extent();
            self.window
                .set(view::following(self.window.get_untracked(), extent));
        }
    }

    fn on_wheel(&self, ev: leptos::ev::WheelEvent) {
        ev.prevent_default();
        if self.wheel_y(&ev) {
            return;
        }
        perf_mark("dl-wheel");
        if let Some((_, x)) = self.x_at(ev.client_x() as f64) {
            self.zoom_about(
                x,
                view::wheel_factor(ev.delta_y(), ev.delta_mode(), ev.ctrl_key()),
            );
        }
    }

    fn on_down(&self, ev: leptos::ev::MouseEvent) {
        if ev.button() != 0 {
            return;
        }
        if let Some((px, x)) = self.x_at(ev.client_x() as f64) {
            let map = self.placed().x_map(self.window.get_untracked());
            if let Some(grabbed) = self.cursors.grab(px, |x| map.px_from_x(x)) {
                self.cursors.dragging.set_value(Some(grabbed));
                return;
            }
            self.drag.set_value(Some(Drag {
                from_px: px,
                from_x: x,
                window: self.window.get_untracked(),
                boxed: ev.shift_key(),
            }));
            if let Some(host) = self.host_ref.get_untracked() {
                let _ = host.focus();
            }
        }
    }

    fn on_move(&self, ev: leptos::ev::MouseEvent) {
        let Some((px, x)) = self.x_at(ev.client_x() as f64) else {
            return;
        };
        self.cursor.set(Some(x));
        if let Some(i) = self.cursors.dragging.get_value() {
            self.cursors.at.update(|at| at[i] = Some(x));
            return;
        }
        match self.drag.get_value() {
            Some(d) if d.boxed => self.selection.set(Some(d.selection(x))),
            Some(d) => {
                let panned = d.panned_to(px, &self.placed(), self.extent());
                if panned != self.window.get_untracked() {
                    self.user_view(panned);
                }
            }
            None => {}
        }
    }

    fn on_up(&self, ev: leptos::ev::MouseEvent) {
        if self.cursors.dragging.get_value().is_some() {
            self.cursors.dragging.set_value(None);
            return;
        }
        // A press and release in one place is a click: it places a cursor.
        if let (Some(d), Some((px, x))) = (self.drag.get_value(), self.x_at(ev.client_x() as f64)) {
            if !d.boxed && (px - d.from_px).abs() < CLICK_PX {
                self.cursors.click(x);
            }
        }
        if self.drag.get_value().is_some_and(|d| d.boxed) {
            let extent = self.extent();
            if let Some(window) = self
                .selection
                .get_untracked()
                .and_then(|s| view::boxed_window(s, extent))
            {
                self.user_view(window);
            }
            self.selection.set(None);
        }
        self.drag.set_value(None);
    }

    fn on_leave(&self) {
        self.cursors.dragging.set_value(None);
        self.cursor.set(None);
        self.drag.set_value(None);
        self.selection.set(None);
    }

    fn on_key(&self, ev: leptos::ev::KeyboardEvent) {
        match ev.key().as_str() {
            "+" | "=" => self.zoom_center(1.0 / STEP_ZOOM),
            "-" | "_" => self.zoom_center(STEP_ZOOM),
            "ArrowLeft" => self.pan_by(-KEY_PAN),
            "ArrowRight" => self.pan_by(KEY_PAN),
            "0" | "Home" => self.reset(),
            "Escape" => self.cursors.clear(),
            _ => return,
        }
        ev.prevent_default();
    }
}

/// Hidden overlay style.
const HIDDEN: &str = "display:none";

/// The chart of `init`'s series: an island (its props travel as JSON; the first frame's SVG
/// is rendered by the server and left in place).
#[island]
pub fn Explorer(init: ChartInit) -> impl IntoView {
    crate::app::island_hydrated();
    let svg = init.svg.clone();
    let notices = init.notices.clone();
    let chart = Chart::new(init);
    effects::start(chart);

    // The crosshair snaps to the sample nearest the pointer (the first visible series'),
    // and a dot marks the sample each series' readout read.
    let crosshair = move || {
        let snapped = chart.cursor.get().map(|x| {
            chart.version.track();
            let nearest = effects::points_under(chart, x).1.first().map(|p| p.3);
            nearest.unwrap_or(x)
        });
        let style = chart
            .plot
            .get()
            .zip(snapped)
            .and_then(|(p, x)| p.crosshair_style(chart.window.get(), x));
        style.unwrap_or_else(|| HIDDEN.into())
    };
    let dots = move || {
        let (Some(plot), Some(readout), Some(_)) =
            (chart.plot.get(), chart.readout.get(), chart.cursor.get())
        else {
            return Vec::new();
        };
        let (window, rects, panels) = (chart.window.get(), chart.rects.get(), chart.panels());
        let map = plot.x_map(window);
        readout
            .values
            .iter()
            .filter_map(|v| {
                let panel = panels.iter().position(|p| p.iter().any(|(_, s)| s.key == v.key))?;
                let color = panels[panel].iter().find(|(_, s)| s.key == v.key)?.0;
                let value = match v.value.trim() {
                    "True" => 1.0,
                    "False" => 0.0,
                    text => text.parse().ok()?,
                };
                let y = rects.get(panel)?.px_from_y(value);
                let x = map.px_from_x(v.x);
                let rect = rects.get(panel)?;
                let inside = (plot.left..=plot.right).contains(&x) && rect.contains_px(y);
                inside.then(|| {
                    let style = format!("left:{x:.1}px;top:{y:.1}px");
                    let class = format!("snap swatch c{}", color % crate::chart::PALETTE_LEN);
                    view! { <div class=class style=style data-testid="snap-dot" data-key=v.key.clone()></div> }
                })
            })
            .collect::<Vec<_>>()
    };
    let band = move || {
        let style = chart
            .plot
            .get()
            .zip(chart.selection.get())
            .and_then(|(p, s)| p.band_style(chart.window.get(), s));
        style.unwrap_or_else(|| HIDDEN.into())
    };
    // The x-axis labels, also as text for screen readers (and tests): each tick with where
    // it is drawn and, on a time axis, its instant.
    let x_ticks = move || {
        let (window, plot) = (chart.window.get(), chart.plot.get());
        view::x_ticks(window, chart.x_axis())
            .into_iter()
            .map(|(x, label)| {
                let px = plot.map(|p| format!("{:.1}", p.x_map(window).px_from_x(x)));
                let ns = chart.time.map(|t| t.ns_of_x(x).to_string());
                (label, px, ns)
            })
            .collect::<Vec<_>>()
    };
    // The samples of the first visible array the window shows.
    let window_text = move || {
        let first = chart.visible_arrays().into_iter().next();
        let (lo, hi) = first.map_or((0, 0), |s| chart.shown_samples(&s.array));
        format!("samples {lo} – {hi}")
    };
    let note = RwSignal::new(None::<ExportNote>);

    view! {
        <div class="explorer">
            {notices.into_iter().map(|text| view! { <p class="notice" role="status" data-testid="chart-notice">{text}</p> }).collect_view()}
            <div class="toolbar">
                <Legend chart/>
                <div class="tools">
                    <span class="window" data-testid="window">{window_text}</span>
                    <button class="tool" on:click=move |_| chart.zoom_center(1.0 / STEP_ZOOM) title="Zoom in (+)">"+"</button>
                    <button class="tool" on:click=move |_| chart.zoom_center(STEP_ZOOM) title="Zoom out (−)">"−"</button>
                    <button class="tool" on:click=move |_| chart.reset() data-testid="reset" title="Reset (0 or double-click)">"Reset"</button>
                    <button
                        class="tool"
                        class:on=move || chart.follow.get()
                        aria-pressed=move || chart.follow.get().to_string()
                        data-testid="follow"
                        title="Keep the newest samples in view as data arrives"
                        on:click=move |_| chart.toggle_follow()
                    >
                        "Follow"
                    </button>
                    <ClockTool chart/>
                    <DensityMenu chart/>
                    <ExportMenu chart note/>
                </div>
            </div>
            <div
                class="chart-host"
                class:panning=move || chart.drag.with_value(|d| d.is_some_and(|d| !d.boxed))
                tabindex="0"
                data-testid="chart"
                data-settled=move || chart.settled.get().to_string()
                aria-label="Chart: scroll to zoom, drag to pan, shift-drag to zoom to a box, click to place cursors A and B, Alt+scroll to zoom y, double-click to reset"
                node_ref=chart.host_ref
                style:height=move || format!("{}px", chart.height())
                on:wheel=move |ev| chart.on_wheel(ev)
                on:mousedown=move |ev| chart.on_down(ev)
                on:mousemove=move |ev| chart.on_move(ev)
                on:mouseup=move |ev| chart.on_up(ev)
                on:mouseleave=move |_| chart.on_leave()
                on:dblclick=move |_| {
                    // Its two clicks placed cursors: a reset clears them too.
                    chart.cursors.clear();
                    chart.reset();
                }
                on:keydown=move |ev| chart.on_key(ev)
            >
                <div class="chart-svg" class:hidden=move || chart.drawn.get() inner_html=svg data-testid="chart-svg"></div>
                <canvas node_ref=chart.canvas_ref class="chart-canvas" data-testid="chart-canvas"></canvas>
                <div class="band" style=band></div>
                <div class="crosshair" style=crosshair></div>
                {dots}
                <CursorLines chart/>
                <YControls chart/>
                <div class="progress" class:active=move || { chart.pending.get() > 0 } role="progressbar" aria-label="Loading"></div>
            </div>
            <ResizeHandle chart/>
            <ul class="sr-only" data-testid="x-ticks" aria-label="Time axis">
                {move || x_ticks().into_iter().map(|(label, px, ns)| view! { <li data-px=px data-ns=ns>{label}</li> }).collect_view()}
            </ul>
            {move || note.get().map(|n| n.view())}
            <Show when=move || chart.error.get().is_some()>
                <p class="error banner" role="alert">{move || chart.error.get().unwrap_or_default()}</p>
            </Show>
            <ReadoutBar readout=chart.readout/>
            <CursorBar chart/>
            <MeasurePanel chart/>
        </div>
    }
}
