//! Refining: after each change of view, the LOD of the window for every visible array,
//! fetched all at once (and each array's overview once), placed on the axis by the series'
//! own timestamps; answers to superseded views are dropped.

use leptos::prelude::*;

use super::browser::{perf_measure, sleep_ms};
use super::client::{fetch_lod, fetch_lod_time};
use super::effects::positions;
use super::held::Fetched;
use super::view::{self, bins_for, Window};
use super::Chart;
use crate::catalog::{SeriesInfo, TimeAxis};
use crate::lod::LodAnswer;

/// Delay between the last change of view and the refining fetch, ms.
const FETCH_DEBOUNCE_MS: i32 = 20;

/// One fetch the refine effect makes: an array's overview, or its window.
#[derive(Clone)]
struct Wanted {
    /// A series of the array (its first visible column): the array and its timestamps.
    series: SeriesInfo,
    /// Samples of the array now.
    len: u64,
    overview: bool,
}

/// Fetch what `wanted` names: the whole series (by index, so the times of its newest
/// samples come with it), or the window (in time on a time axis, by the series' own
/// timestamps); placed on the axis.
async fn fetch(
    wanted: &Wanted,
    axis: Option<TimeAxis>,
    window: Window,
    bins: u64,
) -> Result<Fetched, String> {
    let (array, len) = (wanted.series.array.as_str(), wanted.len);
    let time = axis.zip(wanted.series.time.as_ref());
    let (answer, covers): (LodAnswer, (f64, f64)) = match (wanted.overview, time) {
        (true, Some((_, time))) => (
            fetch_lod(array, Some(&time.array), 0, len, bins).await?,
            (0.0, f64::MAX),
        ),
        (true, None) => (
            fetch_lod(array, None, 0, len, bins).await?,
            (0.0, len as f64),
        ),
        (false, Some((axis, time))) => {
            let (t0, t1) = view::instants(window, &axis);
            let covers = (axis.x_of_ns(t0), axis.x_of_ns(t1));
            let answer = fetch_lod_time(array, &time.array, t0, t1, bins).await?;
            (answer, covers)
        }
        (false, None) => {
            let (lo, hi) = positions(window, len as f64);
            (
                fetch_lod(array, None, lo, hi, bins).await?,
                (lo as f64, hi as f64),
            )
        }
    };
    let place = time.as_ref().map(|(axis, time)| (axis, *time));
    Fetched::new(answer, covers, place).ok_or_else(|| "the answer has no times".into())
}

/// Fetch the LOD of the window for each visible array, debounced (the first time at once),
/// all at once; drop the answers of superseded views (but keep overviews).
pub(super) fn refine(chart: Chart) {
    Effect::new(move |previous: Option<()>| {
        chart.len.track();
        chart.data_generation.track();
        let window = chart.window.get();
        let px = chart.width.get();
        if px <= 0.0 {
            return;
        }
        let first_run = previous.is_none();
        chart.generation.update_value(|g| *g += 1);
        let mine = chart.generation.get_value();
        if chart.settled.get_untracked() {
            chart.settled.set(false);
        }
        // A hidden series is fetched when shown again.
        let arrays = chart.visible_arrays();
        let bins = bins_for(px) as u64;
        leptos::task::spawn_local(async move {
            if !first_run {
                sleep_ms(FETCH_DEBOUNCE_MS).await;
                if chart.generation.get_value() != mine {
                    return;
                }
            }
            chart.pending.update(|p| *p += 1);
            // All requests at once: the answer takes as long as the slowest, not the sum.
            let wanted = arrays.into_iter().flat_map(|series| {
                let overview_missing = chart
                    .held
                    .with_value(|h| h.get(&series.array).is_none_or(|h| h.overview.is_none()));
                let len = chart.length_of(&series.array);
                let detail = Wanted {
                    series,
                    len,
                    overview: false,
                };
                let overview = overview_missing.then(|| Wanted {
                    overview: true,
                    ..detail.clone()
                });
                overview.into_iter().chain([detail])
            });
            let axis = chart.time;
            let mut results = futures_util::future::join_all(wanted.map(|w| async move {
                let result = fetch(&w, axis, window, bins).await;
                (w, result)
            }))
            .await;
            chart.pending.update(|p| *p = p.saturating_sub(1));
            if chart.generation.get_value() != mine {
                results.retain(|(w, _)| w.overview);
            }
            let refined = results.iter().any(|(w, r)| !w.overview && r.is_ok());
            for (wanted, result) in results {
                match result {
                    Ok(fetched) => accept(chart, wanted, fetched),
                    Err(err) => chart.error.set(Some(err)),
                }
            }
            chart.version.update(|v| *v += 1);
            if chart.generation.get_value() == mine {
                chart.settled.set(true);
            }
            if refined {
                perf_measure("dl-wheel-to-refined", "dl-wheel");
            }
        });
    });
}

/// Hold a fetched answer. On a time axis an overview also says where the axis ends now (its
/// last point is its array's newest sample), and a window which samples it shows.
fn accept(chart: Chart, wanted: Wanted, fetched: Fetched) {
    if let (Some(axis), Some(time)) = (chart.time, &wanted.series.time) {
        if wanted.overview {
            let newest = fetched
                .answer
                .time
                .as_ref()
                .and_then(|t| t.counts.last().copied());
            if let Some(count) = newest {
                let ns = time.ns_of_count(count) - i128::from(axis.first_ns);
                let end = ns as f64 + 1.0;
                if end > chart.end.get_untracked() {
                    chart.end.set(end);
                    if chart.follow.get_untracked() {
                        let extent = chart.extent();
                        chart
                            .window
                            .set(view::following(chart.window.get_untracked(), extent));
                    }
                }
            }
        } else {
            let samples = (fetched.answer.start, fetched.answer.stop);
            chart.shown.update(|s| {
                s.insert(wanted.series.array.clone(), samples);
            });
        }
    }
    chart.held.update_value(|h| {
        let entry = h.entry(wanted.series.array).or_default();
        if wanted.overview {
            entry.overview = Some(fetched);
        } else {
            entry.detail = Some(fetched);
        }
    });
}
