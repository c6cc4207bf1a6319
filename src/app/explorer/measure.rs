//! Measurements of the visible window, below the chart: the statistics of every visible
//! series (`/api/stats`, exact from the server) and, on demand, the spectrum of one
//! (`/api/spectrum`, Welch), in its own log-y panel with a readout. Both follow the view
//! once its bins have arrived.

use leptos::html;
use leptos::prelude::*;
use serde::Deserialize;

use super::browser::sleep_ms;
use super::client::fetch_bytes;
use super::view;
use super::Chart;
use crate::catalog::stats::{StatsAnswer, WindowStats};
use crate::catalog::SeriesInfo;
use crate::chart::spectrum::{SpectrumLayout, SpectrumSpec, SPECTRUM_HEIGHT};
use crate::chart::PALETTE_LEN;

/// Delay between a settled view and its measurements, ms.
const MEASURE_DEBOUNCE_MS: i32 = 60;
/// Segment lengths offered for the spectrum; the server's default is 4096.
const SEGMENTS: [u32; 5] = [256, 1024, 4096, 16384, 65536];

/// One series' row of the statistics table.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRow {
    key: String,
    label: String,
    color: usize,
    stats: Result<WindowStats, String>,
}

/// One column's spectrum, as `/api/spectrum` answers it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct ColumnSpectrum {
    psd: Vec<Option<f64>>,
    peak_frequency: Option<f64>,
    segments: usize,
}

/// `/api/spectrum`'s answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Spectrum {
    rate_hz: f64,
    rate_from: String,
    frequency_unit: String,
    nperseg: usize,
    noverlap: usize,
    segments_in_window: usize,
    segments_with_gaps: usize,
    frequency: Vec<f64>,
    columns: Vec<ColumnSpectrum>,
}

/// The measurements' state.
#[derive(Clone, Copy)]
pub(super) struct Measure {
    rows: RwSignal<Vec<StatsRow>>,
    /// Whether the rows are those of the current view (for tests: `data-settled`).
    settled: RwSignal<bool>,
    spectrum_on: RwSignal<bool>,
    /// The series whose spectrum is shown (default: the first visible).
    spectrum_key: RwSignal<Option<String>>,
    nperseg: RwSignal<u32>,
    /// Samples per second typed in, for a series without timestamps.
    rate: RwSignal<Option<f64>>,
    spectrum: RwSignal<Option<(StatsRow, Result<Spectrum, String>)>>,
    layout: RwSignal<Option<SpectrumLayout>>,
    hover: RwSignal<Option<String>>,
    canvas: NodeRef<html::Canvas>,
    generation: StoredValue<u64>,
}

impl Measure {
    pub(super) fn new() -> Measure {
        Measure {
            rows: RwSignal::new(Vec::new()),
            settled: RwSignal::new(false),
            spectrum_on: RwSignal::new(false),
            spectrum_key: RwSignal::new(None),
            nperseg: RwSignal::new(4096),
            rate: RwSignal::new(None),
            spectrum: RwSignal::new(None),
            layout: RwSignal::new(None),
            hover: RwSignal::new(None),
            canvas: NodeRef::new(),
            generation: StoredValue::new(0),
        }
    }
}

/// The query of the visible window of `series`: its samples, or its instants on a time axis.
fn window_query(chart: &Chart, series: &SeriesInfo) -> String {
    let window = chart.window.get_untracked();
    let column = series.column;
    match (chart.time, &series.time) {
        (Some(axis), Some(time)) => {
            let (t0, t1) = view::instants(window, &axis);
            format!("t0={t0}&t1={t1}&time={}&column={column}", time.array)
        }
        _ => {
            let (lo, hi) = view::samples(window, chart.length_of(&series.array));
            format!("start={lo}&stop={hi}&column={column}")
        }
    }
}

async fn fetch_stats(url: String) -> Result<WindowStats, String> {
    let (body, _) = fetch_bytes(&url).await?;
    let answer: StatsAnswer = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    answer
        .columns
        .into_iter()
        .next()
        .ok_or_else(|| "the answer has no column".into())
}

async fn fetch_spectrum(url: String) -> Result<Spectrum, String> {
    let (body, _) = fetch_bytes(&url).await?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// Measure each settled view: the statistics of every visible series, and the spectrum of
/// the chosen one when the spectrum is on.
pub(super) fn follow_view(chart: Chart) {
    let measure = chart.measure;
    Effect::new(move |_| {
        if !chart.settled.get() {
            measure.settled.set(false);
            return;
        }
        chart.window.track();
        chart.data_generation.track();
        let visible = chart.visible();
        let spectrum_on = measure.spectrum_on.get();
        let chosen = measure.spectrum_key.get();
        let nperseg = measure.nperseg.get();
        let rate = measure
            .rate
            .get()
            .map_or_else(String::new, |r| format!("&rate={r}"));
        measure.generation.update_value(|g| *g += 1);
        let mine = measure.generation.get_value();
        let asks: Vec<(StatsRow, String)> = visible
            .iter()
            .map(|(color, s)| {
                let row = StatsRow {
                    key: s.key.clone(),
                    label: s.label.clone(),
                    color: *color,
                    stats: Err(String::new()),
                };
                (row, window_query(&chart, s))
            })
            .collect();
        let spectrum = spectrum_on
            .then(|| {
                let found = chosen
                    .as_ref()
                    .and_then(|key| asks.iter().find(|(row, _)| &row.key == key));
                found.or(asks.first()).cloned()
            })
            .flatten();
        let arrays: Vec<String> = visible.iter().map(|(_, s)| s.array.clone()).collect();
        leptos::task::spawn_local(async move {
            sleep_ms(MEASURE_DEBOUNCE_MS).await;
            if measure.generation.get_value() != mine {
                return;
            }
            let stats = asks.iter().zip(&arrays).map(|((row, query), array)| {
                let url = format!("/api/stats/{array}?{query}");
                let mut row = row.clone();
                async move {
                    row.stats = fetch_stats(url).await;
                    row
                }
            });
            let rows = futures_util::future::join_all(stats).await;
            let spectrum = match spectrum {
                Some((row, query)) => {
                    let array = visible
                        .iter()
                        .find(|(_, s)| s.key == row.key)
                        .map(|(_, s)| s.array.clone())
                        .unwrap_or_default();
                    // A rate typed in counts only where the series has no timestamps.
                    let timed = query.contains("&time=");
                    let rate = if timed { "" } else { rate.as_str() };
                    let url = format!("/api/spectrum/{array}?{query}&nperseg={nperseg}{rate}");
                    Some((row, fetch_spectrum(url).await))
                }
                None => None,
            };
            if measure.generation.get_value() != mine {
                return;
            }
            measure.rows.set(rows);
            measure.spectrum.set(spectrum);
            measure.settled.set(true);
        });
    });
    // Draw the spectrum whenever it or the chart's width changes.
    Effect::new(move |_| {
        let width = chart.width.get().max(view::MIN_WIDTH_PX);
        let Some((row, Ok(spectrum))) = measure.spectrum.get() else {
            measure.layout.set(None);
            return;
        };
        let Some(canvas) = measure.canvas.get() else {
            return;
        };
        let column = spectrum.columns.first();
        let spec = SpectrumSpec {
            width,
            height: SPECTRUM_HEIGHT,
            frequency: spectrum.frequency.clone(),
            psd: column.map(|c| c.psd.clone()).unwrap_or_default(),
            title: format!("{} · power spectral density", row.label),
            unit: spectrum.frequency_unit.clone(),
            color: row.color,
        };
        measure.layout.set(draw_canvas(&canvas, &spec).ok());
    });
}

/// Draw `spec` on the canvas at the device's pixel ratio.
#[cfg(feature = "hydrate")]
fn draw_canvas(
    canvas: &web_sys::HtmlCanvasElement,
    spec: &SpectrumSpec,
) -> Result<SpectrumLayout, String> {
    use plotters::prelude::IntoDrawingArea;
    let ratio = super::browser::fit_canvas(canvas, spec.width, spec.height);
    let backend = plotters_canvas::CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or("this browser gives no 2D canvas")?;
    crate::chart::spectrum::draw_spectrum(&backend.into_drawing_area(), spec, ratio)
        .map_err(|e| e.to_string())
}

/// The server never draws on canvases.
#[cfg(not(feature = "hydrate"))]
fn draw_canvas(
    _canvas: &web_sys::HtmlCanvasElement,
    spec: &SpectrumSpec,
) -> Result<SpectrumLayout, String> {
    Ok(SpectrumLayout::of(spec))
}

/// A value to six significant digits, in exponent form when very large or small.
pub fn number(x: Option<f64>) -> String {
    let Some(x) = x else {
        return "–".into();
    };
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor();
    if !(-3.0..6.0).contains(&magnitude) {
        return format!("{x:.4e}");
    }
    let decimals = (5.0 - magnitude).max(0.0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A frequency with its unit: `123.4 Hz`, `12.5 kHz`, `0.0312 cycles/sample`.
fn frequency_text(f: f64, unit: &str) -> String {
    if unit == "Hz" && f >= 1000.0 {
        format!("{} kHz", number(Some(f / 1000.0)))
    } else {
        format!("{} {unit}", number(Some(f)))
    }
}

/// How a spectrum was made, in one line.
fn spectrum_method(s: &Spectrum, segments: usize) -> String {
    let rate = match s.rate_from.as_str() {
        "timestamps" => format!(
            "rate {} from the timestamps",
            frequency_text(s.rate_hz, "Hz")
        ),
        "attached" => format!("rate {}", frequency_text(s.rate_hz, "Hz")),
        _ => "no sample rate: frequencies in cycles per sample".into(),
    };
    let overlap = 100 * s.noverlap / s.nperseg.max(1);
    let gaps = if s.segments_with_gaps > 0 {
        format!(", {} across gaps left out", s.segments_with_gaps)
    } else {
        String::new()
    };
    format!(
        "Welch · Hann · {}-sample segments, {overlap}% overlap · {segments} of {} segments averaged{gaps} · {rate}",
        s.nperseg, s.segments_in_window
    )
}

/// The statistics table and the spectrum panel.
#[component]
pub(super) fn MeasurePanel(chart: Chart) -> impl IntoView {
    let measure = chart.measure;
    let cell = |x: Option<f64>, testid: &'static str| {
        let raw = x.map(|x| x.to_string());
        view! { <td class="num" data-stat=testid data-value=raw>{number(x)}</td> }
    };
    let rows = move || {
        measure
            .rows
            .get()
            .into_iter()
            .map(|row| {
                let swatch = format!("swatch c{}", row.color % PALETTE_LEN);
                let body = match row.stats {
                    Ok(s) => view! {
                        <td class="num" data-stat="samples">{s.samples.to_string()}</td>
                        <td class="num" data-stat="count" data-value=s.count.to_string()>{s.count.to_string()}</td>
                        {cell(s.min, "min")}
                        {cell(s.max, "max")}
                        {cell(s.mean, "mean")}
                        {cell(s.rms, "rms")}
                        {cell(s.std, "std")}
                        <td class="num" data-stat="nan">{s.nan.to_string()}</td>
                    }
                    .into_any(),
                    Err(err) => view! { <td colspan="8" class="error">{err}</td> }.into_any(),
                };
                view! {
                    <tr data-testid="stats-row" data-key=row.key.clone()>
                        <th scope="row"><span class=swatch></span>{row.label}</th>
                        {body}
                    </tr>
                }
            })
            .collect_view()
    };
    let options = move || {
        let chosen = measure.spectrum_key.get();
        chart
            .visible()
            .into_iter()
            .map(|(_, s)| {
                let selected = chosen.as_deref() == Some(s.key.as_str());
                view! { <option value=s.key.clone() selected=selected>{s.label}</option> }
            })
            .collect_view()
    };
    let on_hover = move |ev: leptos::ev::MouseEvent| {
        let (Some(layout), Some(canvas), Some((_, Ok(s)))) = (
            measure.layout.get_untracked(),
            measure.canvas.get_untracked(),
            measure.spectrum.get_untracked(),
        ) else {
            return;
        };
        let px = f64::from(ev.client_x()) - canvas.get_bounding_client_rect().left();
        let step = s.rate_hz / s.nperseg as f64;
        let k = (layout.frequency_from_px(px) / step).round();
        let psd = s.columns.first().map(|c| &c.psd);
        let text = psd.and_then(|psd| {
            let k = (k.max(0.0) as usize).min(psd.len().checked_sub(1)?);
            let f = s.frequency.get(k)?;
            let per = if s.frequency_unit == "Hz" {
                "Hz"
            } else {
                "cycle/sample"
            };
            Some(format!(
                "{} · PSD {} per {per}",
                frequency_text(*f, &s.frequency_unit),
                number(psd[k]),
            ))
        });
        measure.hover.set(text);
    };
    let summary = move || {
        let (row, result) = measure.spectrum.get()?;
        Some(match result {
            Ok(s) => {
                let column = s.columns.first();
                let peak = column.and_then(|c| c.peak_frequency);
                let segments = column.map_or(0, |c| c.segments);
                let peak_text = peak.map_or("no peak: no segment without NaN".into(), |f| {
                    format!("peak {}", frequency_text(f, &s.frequency_unit))
                });
                view! {
                    <p class="spectrum-info">
                        <strong data-testid="spectrum-peak" data-frequency=peak.map(|f| f.to_string())>{peak_text}</strong>
                        " · " {row.label} " · " {spectrum_method(&s, segments)}
                    </p>
                }
                .into_any()
            }
            Err(err) => {
                view! { <p class="error" role="alert" data-testid="spectrum-error">{err}</p> }
                    .into_any()
            }
        })
    };

    view! {
        <section class="measure" aria-label="Measurements of the visible window">
            <table class="stats" data-testid="stats" data-settled=move || measure.settled.get().to_string()>
                <caption>"Statistics of the visible window (exact, from the server)"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Series"</th>
                        <th scope="col">"Samples"</th>
                        <th scope="col">"Count"</th>
                        <th scope="col">"Min"</th>
                        <th scope="col">"Max"</th>
                        <th scope="col">"Mean"</th>
                        <th scope="col">"RMS"</th>
                        <th scope="col">"Std"</th>
                        <th scope="col">"NaN"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <div class="spectrum-tools">
                <button
                    class="tool"
                    class:on=move || measure.spectrum_on.get()
                    aria-pressed=move || measure.spectrum_on.get().to_string()
                    data-testid="spectrum-toggle"
                    title="The power spectral density of the visible window"
                    on:click=move |_| measure.spectrum_on.update(|on| *on = !*on)
                >
                    "Spectrum"
                </button>
                <label>
                    "of "
                    <select
                        data-testid="spectrum-series"
                        on:change=move |ev| measure.spectrum_key.set(Some(event_target_value(&ev)))
                    >
                        {options}
                    </select>
                </label>
                <label>
                    " segments of "
                    <select
                        data-testid="spectrum-nperseg"
                        on:change=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse() {
                                measure.nperseg.set(n);
                            }
                        }
                    >
                        {SEGMENTS.iter().map(|&n| view! { <option value=n.to_string() selected=n == 4096>{n.to_string()}</option> }).collect_view()}
                    </select>
                    " samples"
                </label>
                <label title="Samples per second of a series without timestamps (one with timestamps takes its rate from them)">
                    " rate "
                    <input
                        class="ybound"
                        data-testid="spectrum-rate"
                        placeholder="Hz"
                        on:change=move |ev| {
                            let text = event_target_value(&ev);
                            let rate = text.trim().parse::<f64>().ok().filter(|r| r.is_finite() && *r > 0.0);
                            measure.rate.set(rate);
                        }
                    />
                    " Hz"
                </label>
            </div>
            <Show when=move || measure.spectrum_on.get()>
                <div class="spectrum" data-testid="spectrum">
                    {summary}
                    <canvas
                        node_ref=measure.canvas
                        data-testid="spectrum-canvas"
                        on:mousemove=on_hover
                        on:mouseleave=move |_| measure.hover.set(None)
                    ></canvas>
                    <p class="readout" data-testid="spectrum-readout">
                        {move || measure.hover.get().unwrap_or_else(|| "Hover the spectrum to read a density".into())}
                    </p>
                </div>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_six_significant_digits() {
        assert_eq!(number(Some(28.0123456)), "28.0123");
        assert_eq!(number(Some(-0.5)), "-0.5");
        assert_eq!(number(Some(123456.7)), "123457");
        assert_eq!(number(Some(1.5e-7)), "1.5000e-7");
        assert_eq!(number(Some(0.0)), "0");
        assert_eq!(number(None), "–");
        assert_eq!(frequency_text(2500.0, "Hz"), "2.5 kHz");
        assert_eq!(
            frequency_text(0.125, "cycles/sample"),
            "0.125 cycles/sample"
        );
    }
}
