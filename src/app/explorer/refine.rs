//! Refining: after each change of view, the LOD of the window for every visible array,
//! fetched all at once as tiles whose URLs any HTTP cache may keep (and each array's
//! overview once), placed on the axis by the series' own timestamps; answers to superseded
//! views are dropped.

use leptos::prelude::*;

use super::browser::{perf_measure, sleep_ms};
use super::client::{fetch_lod_time, Failure, TileSet};
use super::effects::positions;
use super::held::Fetched;
use super::view::{self, bins_for, Window};
use super::Chart;
use crate::catalog::{SeriesInfo, TimeAxis};
use crate::lod::tiles::{index_tiles, level_for, time_tile, time_tiles};
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

/// What one fetch brought: the answer, placed on the axis, and the samples the window shows
/// (exact: in time, from a one-bin answer over the window itself).
struct Got {
    fetched: Fetched,
    shows: (u64, u64),
}

/// Fetch what `wanted` names, as tiles of the level with bins of about a pixel (see
/// [`crate::lod::tiles`]): the whole series by index (so the times of its newest samples come
/// with it), or the window (in time on a time axis, by the series' own timestamps); placed
/// on the axis. A tile refused as stale (the array changed and its event is not here yet)
/// is asked again once at the version the server gives.
async fn fetch(
    chart: Chart,
    wanted: &Wanted,
    axis: Option<TimeAxis>,
    window: Window,
    bins: u64,
) -> Result<Got, String> {
    match fetch_tiles(chart, wanted, axis, window, bins).await {
        Err(Failure::Gone(_)) => {
            chart.refresh_version(&wanted.series.array).await;
            if let Some(time) = &wanted.series.time {
                chart.refresh_version(&time.array).await;
            }
            fetch_tiles(chart, wanted, axis, window, bins)
                .await
                .map_err(Failure::message)
        }
        other => other.map_err(Failure::message),
    }
}

/// [`fetch`] once, at the versions the chart knows now.
async fn fetch_tiles(
    chart: Chart,
    wanted: &Wanted,
    axis: Option<TimeAxis>,
    window: Window,
    bins: u64,
) -> Result<Got, Failure> {
    let (series, len) = (&wanted.series, wanted.len);
    let version = chart.version_of(&series.array);
    let time = axis.zip(series.time.as_ref());
    let time_version = time.map(|(_, t)| (t.array.as_str(), chart.version_of(&t.array)));
    let mut tiles = TileSet {
        array: (&series.array, &version),
        time: time_version.as_ref().map(|(t, v)| (*t, v.as_str())),
        in_time: false,
        level: 0,
    };
    let place = time.as_ref().map(|(axis, time)| (axis, *time));
    let placed = |answer: LodAnswer, covers| {
        Fetched::new(answer, covers, place)
            .ok_or_else(|| Failure::from("the answer has no times".to_string()))
    };
    match (wanted.overview, time) {
        (false, Some((axis, time))) => {
            let (t0, t1) = view::instants(window, &axis);
            tiles.in_time = true;
            tiles.level = level_for((t1 - t0) as f64, bins);
            let numbers = time_tiles(tiles.level, t0, t1);
            let from = time_tile(tiles.level, *numbers.start()).map_or(t0, |t| t.0);
            let to = time_tile(tiles.level, *numbers.end()).map_or(t1, |t| t.1);
            let (answer, exact) = futures_util::future::join(
                tiles.fetch(numbers),
                fetch_lod_time(&series.array, &time.array, t0, t1, 1),
            )
            .await;
            let exact = exact?;
            Ok(Got {
                fetched: placed(answer?, (axis.x_of_ns(from), axis.x_of_ns(to)))?,
                shows: (exact.start, exact.stop),
            })
        }
        (overview, _) => {
            if len == 0 {
                return Err(Failure::Failed(format!("{} has no samples", series.array)));
            }
            let (lo, hi) = match overview {
                true => (0, len),
                false => positions(window, len as f64),
            };
            let lo = lo.min(len - 1);
            tiles.level = level_for((hi.max(lo + 1) - lo) as f64, bins);
            let numbers = index_tiles(tiles.level, lo, hi.max(lo + 1));
            let answer = tiles.fetch(numbers.map(|n| n as i64)).await?;
            let shows = (answer.start, answer.stop);
            let covers = match (overview, time) {
                (true, Some(_)) => (0.0, f64::MAX),
                _ => (shows.0 as f64, shows.1 as f64),
            };
            Ok(Got {
                fetched: placed(answer, covers)?,
                shows,
            })
        }
    }
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
                let result = fetch(chart, &w, axis, window, bins).await;
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
                    Ok(got) => accept(chart, wanted, got),
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
fn accept(chart: Chart, wanted: Wanted, Got { fetched, shows }: Got) {
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
            chart.shown.update(|s| {
                s.insert(wanted.series.array.clone(), shows);
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
