//! How tall the panels are: by the default rule (164 px each, 124 px from five panels on),
//! a density chosen in the toolbar, or dragged with the handle under the chart. The choice
//! is the user's, kept in `localStorage` for every chart of this site.

use leptos::prelude::*;

use super::Chart;
use crate::chart::PANEL_HEIGHT_RANGE;

/// Where the chosen panel height is kept.
const STORAGE_KEY: &str = "downlink-panel-px";
/// The densities offered: a name and a panel height (`None`: the default rule).
const DENSITIES: [(&str, Option<f64>); 4] = [
    ("auto", None),
    ("compact", Some(80.0)),
    ("comfortable", Some(164.0)),
    ("tall", Some(280.0)),
];

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The height kept from an earlier visit, if any.
fn kept() -> Option<f64> {
    let text = storage()?.get_item(STORAGE_KEY).ok().flatten()?;
    text.parse::<f64>().ok().filter(|h| h.is_finite())
}

fn keep(height: Option<f64>) {
    if let Some(storage) = storage() {
        let _ = match height {
            Some(h) => storage.set_item(STORAGE_KEY, &format!("{h:.0}")),
            None => storage.remove_item(STORAGE_KEY),
        };
    }
}

impl Chart {
    fn set_panel_px(&self, height: Option<f64>) {
        let (lo, hi) = PANEL_HEIGHT_RANGE;
        let height = height.map(|h| h.clamp(lo, hi).round());
        self.panel_px.set(height);
        keep(height);
    }
}

/// Take up the height kept from an earlier visit (in the browser, after hydration).
pub(super) fn restore(chart: Chart) {
    Effect::new(move |_| {
        if let Some(h) = kept() {
            chart.panel_px.set(Some(h));
        }
    });
}

/// The density menu of the toolbar.
#[component]
pub(super) fn DensityMenu(chart: Chart) -> impl IntoView {
    let selected = move |h: Option<f64>| chart.panel_px.get() == h;
    view! {
        <label class="density" title="Height of each panel (or drag the handle under the chart)">
            <select
                data-testid="density"
                aria-label="Panel height"
                on:change=move |ev| {
                    let name = event_target_value(&ev);
                    if let Some((_, h)) = DENSITIES.iter().find(|(n, _)| *n == name) {
                        chart.set_panel_px(*h);
                    }
                }
            >
                {DENSITIES.iter().map(|&(name, h)| view! { <option value=name selected=move || selected(h)>{name}</option> }).collect_view()}
                <option value="custom" disabled=true selected=move || chart.panel_px.get().is_some_and(|h| !DENSITIES.iter().any(|d| d.1 == Some(h)))>"custom"</option>
            </select>
        </label>
    }
}

/// The handle under the chart: dragging it makes every panel taller or shorter.
#[component]
pub(super) fn ResizeHandle(chart: Chart) -> impl IntoView {
    // While dragging: the pointer's y and the panel height when the drag started.
    let from = StoredValue::new(None::<(f64, f64)>);
    let _moved = window_event_listener(leptos::ev::mousemove, move |ev| {
        if let Some((y0, h0)) = from.get_value() {
            let panels = chart.panels().len().max(1) as f64;
            chart.set_panel_px(Some(h0 + (f64::from(ev.client_y()) - y0) / panels));
        }
    });
    let _up = window_event_listener(leptos::ev::mouseup, move |_| from.set_value(None));
    view! {
        <div
            class="resize"
            data-testid="chart-resize"
            role="separator"
            aria-orientation="horizontal"
            title="Drag to make the panels taller or shorter"
            on:mousedown=move |ev| {
                ev.prevent_default();
                let now = chart.panel_px.get_untracked().unwrap_or_else(|| {
                    let panels = chart.panels().len().max(1) as f64;
                    (crate::chart::chart_height(chart.panels().len()) - crate::chart::AXIS_HEIGHT) / panels
                });
                from.set_value(Some((f64::from(ev.client_y()), now)));
            }
        ></div>
    }
}
