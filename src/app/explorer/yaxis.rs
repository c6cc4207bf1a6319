//! Each panel's y axis: autoscaled to the visible window (the default), a manual range typed
//! into the panel's corner, log10, and zoom in y with Alt + wheel over the panel (about the
//! value under the pointer). Its ticks are also listed as text, for screen readers and tests.

use leptos::prelude::*;

use super::measure::number;
use super::view;
use super::Chart;
use crate::chart::layout::{y_ticks, TITLE_ROW};
use crate::chart::YScale;

impl Chart {
    /// The y scale of the panel whose first series is `key`.
    fn y_scale(&self, key: &str) -> YScale {
        self.y_scales
            .with(|s| s.get(key).copied())
            .unwrap_or_default()
    }

    fn set_y_scale(&self, key: String, scale: YScale) {
        self.y_scales.update(|s| {
            if scale == YScale::default() {
                s.remove(&key);
            } else {
                s.insert(key, scale);
            }
        });
    }

    /// The key of each panel's first series, top to bottom.
    fn panel_keys(&self) -> Vec<String> {
        self.panels()
            .into_iter()
            .filter_map(|p| p.first().map(|(_, s)| s.key.clone()))
            .collect()
    }

    /// Alt + wheel: zoom the y axis of the panel under the pointer about the value there.
    /// Whether the event was one.
    pub(super) fn wheel_y(&self, ev: &leptos::ev::WheelEvent) -> bool {
        if !ev.alt_key() {
            return false;
        }
        let Some(host) = self.host_ref.get_untracked() else {
            return true;
        };
        let py = f64::from(ev.client_y()) - host.get_bounding_client_rect().top();
        let rects = self.rects.get_untracked();
        let keys = untrack(|| self.panel_keys());
        if let Some((rect, key)) = rects.iter().zip(keys).find(|(r, _)| r.contains_px(py)) {
            let range = rect.zoomed_y(py, view::wheel_factor(ev.delta_y(), ev.delta_mode(), false));
            let log = self.y_scale(&key).log;
            self.set_y_scale(
                key,
                YScale {
                    range: Some(range),
                    log,
                },
            );
        }
        true
    }
}

/// A typed bound: a finite number, or `None`.
fn parse_bound(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The y controls over each panel's top right corner, and its ticks as text.
#[component]
pub(super) fn YControls(chart: Chart) -> impl IntoView {
    let controls = move || {
        let rects = chart.rects.get();
        let keys = chart.panel_keys();
        rects
            .into_iter()
            .zip(keys)
            .enumerate()
            .map(|(i, (rect, key))| {
                let scale = chart.y_scale(&key);
                let (lo, hi) = rect.y_range;
                let top = format!("top:{}px", (rect.top - TITLE_ROW).max(0.0));
                let ticks = y_ticks(&rect);
                let (k_log, k_lo, k_hi, k_auto) = (key.clone(), key.clone(), key.clone(), key);
                let set_bound = move |key: String, text: String, low: bool| {
                    let Some(v) = parse_bound(&text) else {
                        return;
                    };
                    let current = chart.y_scale(&key);
                    let (a, b) = current.range.unwrap_or((lo, hi));
                    let range = if low { (v, b) } else { (a, v) };
                    if range.0 < range.1 {
                        chart.set_y_scale(key, YScale { range: Some(range), ..current });
                    }
                };
                view! {
                    <div
                        class="ycontrols"
                        data-testid="panel-y"
                        data-panel=i.to_string()
                        data-manual=scale.range.is_some().to_string()
                        style=top
                        on:mousedown=|ev| ev.stop_propagation()
                        on:dblclick=|ev| ev.stop_propagation()
                        on:keydown=|ev| ev.stop_propagation()
                        on:wheel=|ev| ev.stop_propagation()
                    >
                        <input
                            class="ybound"
                            data-testid="y-min"
                            aria-label="Bottom of the y axis"
                            title="Bottom of the y axis (Enter to set)"
                            prop:value=number(Some(lo))
                            on:change=move |ev| set_bound(k_lo.clone(), event_target_value(&ev), true)
                        />
                        " – "
                        <input
                            class="ybound"
                            data-testid="y-max"
                            aria-label="Top of the y axis"
                            title="Top of the y axis (Enter to set)"
                            prop:value=number(Some(hi))
                            on:change=move |ev| set_bound(k_hi.clone(), event_target_value(&ev), false)
                        />
                        <button
                            class="ytool"
                            class:on=scale.range.is_none()
                            data-testid="y-auto"
                            title="Autoscale to the visible window (Alt + wheel zooms y)"
                            on:click=move |_| {
                                let log = chart.y_scale(&k_auto).log;
                                chart.set_y_scale(k_auto.clone(), YScale { range: None, log });
                            }
                        >
                            "auto"
                        </button>
                        <button
                            class="ytool"
                            class:on=scale.log
                            aria-pressed=scale.log.to_string()
                            data-testid="y-log"
                            title="Log scale (values at or below 0 fall below the axis)"
                            on:click=move |_| {
                                let current = chart.y_scale(&k_log);
                                // A manual range that is not positive does not carry over.
                                let range = current.range.filter(|r| current.log || r.0 > 0.0);
                                chart.set_y_scale(k_log.clone(), YScale { range, log: !current.log });
                            }
                        >
                            "log"
                        </button>
                        <ul class="sr-only" data-testid="y-ticks" aria-label="y axis">
                            {ticks.into_iter().map(|(_, label)| view! { <li>{label}</li> }).collect_view()}
                        </ul>
                    </div>
                }
            })
            .collect_view()
    };
    view! { {controls} }
}
