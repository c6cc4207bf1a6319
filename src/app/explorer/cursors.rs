//! Two measurement cursors, A and B: a click on the chart places one (A first, then B, then
//! the nearer one moves), a drag of a cursor line moves it, Escape or the bar's × clears
//! both. Each reads every visible series at its sample nearest the cursor, exactly (as the
//! crosshair readout does), and the bar under the chart shows Δt (or Δindex), 1/Δt and each
//! series' Δy between the two.

use leptos::prelude::*;

use super::effects::points_under;
use super::measure::number;
use super::readout::{read_exact, Readout};
use super::Chart;
use crate::chart::parse_time_ns;

/// A pointer this close to a cursor line (CSS px) grabs it instead of panning.
pub const GRAB_PX: f64 = 6.0;
/// A press and release this close together (CSS px) is a click, not a drag.
pub const CLICK_PX: f64 = 3.0;

/// The two cursors' places and readings.
#[derive(Clone, Copy)]
pub(super) struct Cursors {
    /// A's and B's x, if placed.
    pub at: RwSignal<[Option<f64>; 2]>,
    /// The cursor being dragged.
    pub dragging: StoredValue<Option<usize>>,
    /// What A and B read (in that order), once read.
    read: RwSignal<[Option<Readout>; 2]>,
}

impl Cursors {
    pub(super) fn new() -> Cursors {
        Cursors {
            at: RwSignal::new([None, None]),
            dragging: StoredValue::new(None),
            read: RwSignal::new([None, None]),
        }
    }

    /// The cursor whose line is within [`GRAB_PX`] of `px`, given how x maps to px.
    pub(super) fn grab(&self, px: f64, px_of: impl Fn(f64) -> f64) -> Option<usize> {
        let at = self.at.get_untracked();
        (0..2)
            .filter_map(|i| Some((i, (px_of(at[i]?) - px).abs())))
            .filter(|(_, d)| *d <= GRAB_PX)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    }

    /// A click at `x`: place A, then B, then move the nearer one.
    pub(super) fn click(&self, x: f64) {
        self.at.update(|at| match at {
            [None, _] => at[0] = Some(x),
            [Some(_), None] => at[1] = Some(x),
            [Some(a), Some(b)] => {
                let nearer = usize::from((x - *a).abs() > (x - *b).abs());
                at[nearer] = Some(x);
            }
        });
    }

    pub(super) fn clear(&self) {
        self.at.set([None, None]);
        self.read.set([None, None]);
    }
}

/// Read the samples under each placed cursor whenever it moves or the data changes.
pub(super) fn follow(chart: Chart) {
    let cursors = chart.cursors;
    for i in 0..2 {
        Effect::new(move |_| {
            chart.version.track();
            chart.hidden.track();
            let Some(x) = cursors.at.with(|at| at[i]) else {
                cursors.read.update(|r| r[i] = None);
                return;
            };
            let (at, points) = points_under(chart, x);
            leptos::task::spawn_local(async move {
                let found = read_exact(at, points).await;
                if cursors.at.with_untracked(|at| at[i]) != Some(x) {
                    return;
                }
                match found {
                    Ok(readout) => cursors.read.update(|r| r[i] = Some(readout)),
                    Err(err) => chart.error.set(Some(err)),
                }
            });
        });
    }
}

/// One series' difference between the cursors.
struct Delta {
    key: String,
    label: String,
    a: String,
    b: String,
    index: (u64, u64),
    dy: Option<f64>,
    /// B's time less A's, ns, on a time axis.
    dt_ns: Option<i64>,
}

fn deltas(a: &Readout, b: &Readout) -> Vec<Delta> {
    a.values
        .iter()
        .filter_map(|va| {
            let vb = b.values.iter().find(|v| v.key == va.key)?;
            let value = |text: &str| text.trim().parse::<f64>().ok();
            let time = |t: &Option<String>| t.as_deref().and_then(parse_time_ns);
            Some(Delta {
                key: va.key.clone(),
                label: va.label.clone(),
                a: va.value.clone(),
                b: vb.value.clone(),
                index: (va.index, vb.index),
                dy: value(&vb.value).zip(value(&va.value)).map(|(b, a)| b - a),
                dt_ns: time(&vb.time).zip(time(&va.time)).map(|(b, a)| b - a),
            })
        })
        .collect()
}

/// A duration in ns as text, in the unit that suits it.
fn duration_text(ns: i64) -> String {
    let s = ns as f64 / 1e9;
    match s.abs() {
        a if a >= 1.0 => format!("{} s", number(Some(s))),
        a if a >= 1e-3 => format!("{} ms", number(Some(s * 1e3))),
        a if a >= 1e-6 => format!("{} µs", number(Some(s * 1e6))),
        _ => format!("{ns} ns"),
    }
}

/// The cursor lines over the chart.
#[component]
pub(super) fn CursorLines(chart: Chart) -> impl IntoView {
    let lines = move || {
        let (Some(plot), window) = (chart.plot.get(), chart.window.get()) else {
            return Vec::new();
        };
        let at = chart.cursors.at.get();
        ["A", "B"]
            .into_iter()
            .zip(at)
            .filter_map(|(name, x)| {
                let style = plot.crosshair_style(window, x?)?;
                Some(view! {
                    <div class="mark" data-testid="cursor-line" data-name=name style=style>
                        <span class="mark-name">{name}</span>
                    </div>
                })
            })
            .collect::<Vec<_>>()
    };
    view! { {lines} }
}

/// The bar under the chart: each cursor's place and every series' difference.
#[component]
pub(super) fn CursorBar(chart: Chart) -> impl IntoView {
    let cursors = chart.cursors;
    let body = move || {
        let placed = cursors.at.get().iter().filter(|x| x.is_some()).count();
        if placed == 0 {
            return None;
        }
        let [a, b] = cursors.read.get();
        let (Some(a), Some(b)) = (a, b) else {
            let hint = if placed == 1 {
                "A placed: click again to place B"
            } else {
                "reading…"
            };
            return Some(view! { <span class="muted">{hint}</span> }.into_any());
        };
        let rows = deltas(&a, &b);
        let first = rows.first();
        let dindex = first.map(|d| d.index.1 as i64 - d.index.0 as i64);
        // By index with a clock, Δt follows from the rate.
        let clocked = chart
            .clock()
            .zip(dindex)
            .map(|(c, d)| (d as f64 * c.ns_per_sample()).round() as i64);
        let dt = first.and_then(|d| d.dt_ns).or(clocked);
        let span = match (dt, dindex) {
            (Some(ns), _) => {
                let rate =
                    (ns != 0).then(|| format!(" · 1/Δt = {} Hz", number(Some(1e9 / ns as f64))));
                format!("Δt = {}{}", duration_text(ns), rate.unwrap_or_default())
            }
            (None, Some(d)) => {
                let rate = (d != 0)
                    .then(|| format!(" · 1/Δindex = {} per sample", number(Some(1.0 / d as f64))));
                format!("Δindex = {d}{}", rate.unwrap_or_default())
            }
            _ => String::new(),
        };
        Some(
            view! {
                <span class="at" data-testid="cursor-span" data-dt-ns=dt.map(|d| d.to_string()) data-dindex=dindex.map(|d| d.to_string())>
                    {format!("A {} → B {}", a.at, b.at)} " · " {span}
                </span>
                {rows.into_iter().map(|d| view! {
                    <span
                        class="value"
                        data-testid="cursor-delta"
                        data-key=d.key
                        data-index-a=d.index.0.to_string()
                        data-index-b=d.index.1.to_string()
                        data-dy=d.dy.map(|v| v.to_string())
                    >
                        <span class="muted">{d.label}</span>
                        " Δy = " <code>{number(d.dy)}</code>
                        <span class="muted">{format!(" ({} → {})", d.a, d.b)}</span>
                    </span>
                }).collect_view()}
            }
            .into_any(),
        )
    };
    view! {
        <Show when=move || cursors.at.with(|at| at.iter().any(Option::is_some))>
            <div class="readout cursors" data-testid="cursors">
                {body}
                <button class="ytool" data-testid="cursors-clear" title="Clear the cursors (Esc)" on:click=move |_| cursors.clear()>"×"</button>
            </div>
        </Show>
    }
}
