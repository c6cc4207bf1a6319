//! The clock of a chart by index: the start time and sample rate of its first array, set
//! from the toolbar (`PUT /api/clock/{name}`, with the same auth as every write) so its
//! samples read in time and its spectrum in Hz. The page loads again with the new axis.

use leptos::prelude::*;

use super::Chart;
use crate::chart::{format_time_ns, parse_time_ns};

/// The toolbar's **Clock** button and its form, on charts by index.
#[component]
pub(super) fn ClockTool(chart: Chart) -> impl IntoView {
    let array = chart
        .init
        .with_value(|i| i.series.first().map(|s| s.array.clone()));
    let clock = chart.init.with_value(|i| i.clock);
    let timed = chart.time.is_some();
    let open = RwSignal::new(false);
    let start = RwSignal::new(clock.map_or_else(String::new, |c| format_time_ns(c.start_ns)));
    let rate = RwSignal::new(clock.map_or_else(String::new, |c| c.rate_hz.to_string()));
    let error = RwSignal::new(None::<String>);
    let (Some(array), false) = (array, timed) else {
        return ().into_any();
    };
    // Only `Copy` captures, so the handlers can be used in any closure.
    let array = StoredValue::new(array);
    let save = move |_| {
        let start_text = start.get_untracked();
        let start_ns = if start_text.trim().is_empty() {
            Some(0)
        } else {
            parse_time_ns(start_text.trim())
        };
        let (Some(start_ns), Ok(rate)) = (start_ns, rate.get_untracked().trim().parse::<f64>())
        else {
            error.set(Some(
                "the start is an ISO 8601 instant and the rate a number of Hz".into(),
            ));
            return;
        };
        let json = serde_json::json!({ "rate_hz": rate, "start": start_ns }).to_string();
        let array = array.get_value();
        leptos::task::spawn_local(async move {
            match crate::app::live::put_clock(&array, json).await {
                Ok(()) => reload(),
                Err(err) => error.set(Some(err)),
            }
        });
    };
    let clear = move |_| {
        let array = array.get_value();
        leptos::task::spawn_local(async move {
            match crate::app::live::delete_clock(&array).await {
                Ok(()) => reload(),
                Err(err) => error.set(Some(err)),
            }
        });
    };
    view! {
        <span class="clock-tool">
            <button
                class="tool"
                class:on=clock.is_some()
                data-testid="clock-toggle"
                title="Give these samples a start time and a sample rate, so they read in time"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "Clock"
            </button>
            <Show when=move || open.get()>
                <span class="clock-form" data-testid="clock-form">
                    <input class="clock-start" data-testid="clock-start" placeholder="start: 2026-03-14T09:00:00Z"
                        prop:value=move || start.get() on:input=move |ev| start.set(event_target_value(&ev)) />
                    <input class="ybound" data-testid="clock-rate" placeholder="Hz"
                        prop:value=move || rate.get() on:input=move |ev| rate.set(event_target_value(&ev)) />
                    " Hz "
                    <button class="tool" data-testid="clock-save" on:click=save>"Save"</button>
                    <Show when=move || clock.is_some()>
                        <button class="tool" data-testid="clock-clear" on:click=clear>"Remove"</button>
                    </Show>
                    {move || error.get().map(|e| view! { <span class="error" role="alert" data-testid="clock-error">{e}</span> })}
                </span>
            </Show>
        </span>
    }
    .into_any()
}

/// Load the page again (the server draws the new axis).
fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}
