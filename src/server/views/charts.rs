//! The charts of a view: each picked array's series, on one time axis where their
//! timestamps allow and by index per length where not, with the notices that say so; each
//! chart's first window from the URL, and its first frame as SVG.

use crate::catalog::{stack, ChartInit, SeriesInfo, SeriesTime, TimeAxis, ViewUrl};
use crate::chart::{chart_height, render_svg, ChartSpec, Panel, Series, Theme, XAxis};
use crate::server::describe::chartable;
use crate::server::error::ApiError;
use crate::server::levels::Window;
use crate::server::store::StoredArray;
use crate::server::AppState;

use super::compose::Picked;
use super::{ViewQuery, SVG_WIDTH};

/// Whether an array can be charted here, and if not, why.
fn why_not_charted(array: &StoredArray) -> Option<String> {
    if let Err(why) = chartable(&array.header) {
        return Some(why);
    }
    match array.header.shape.first() {
        Some(0) => Some("it is empty".into()),
        None => Some("it is a single value (0-d)".into()),
        Some(_) => None,
    }
}

/// The series of one array: itself, or one per column.
fn series_of(array: &StoredArray, key: &str, time: Option<SeriesTime>) -> Vec<SeriesInfo> {
    let dtype = array.header.dtype.descr_string();
    let len = array.header.shape[0];
    let columns = array.header.shape.get(1).copied().unwrap_or(1) as u32;
    let one = |key: String, column: u32, label: String| SeriesInfo {
        key,
        array: array.name.clone(),
        column,
        columns: if array.header.shape.len() == 1 {
            1
        } else {
            columns
        },
        label,
        dtype: dtype.clone(),
        len,
        version: array.etag.clone(),
        time: time.clone(),
    };
    if array.header.shape.len() == 1 {
        return vec![one(key.to_string(), 0, key.to_string())];
    }
    (0..columns)
        .map(|c| one(format!("{key}.{c}"), c, format!("{key}[:, {c}]")))
        .collect()
}

/// The checked timestamps `times`, or why they cannot be an axis.
fn series_time(state: &AppState, times: &StoredArray) -> Result<SeriesTime, String> {
    let stamps = state.levels.timestamps(times).map_err(|e| e.to_string())?;
    let index = stamps.index().map_err(|e| e.to_string())?;
    let (first, last) = index.span().ok_or("the timestamps are empty")?;
    let unit = stamps.unit_ns;
    Ok(SeriesTime {
        array: times.name.clone(),
        version: times.etag.clone(),
        unit_ns: unit,
        first_ns: first.saturating_mul(unit),
        last_ns: last.saturating_mul(unit),
        spacing_ns: index.spacing().map(|s| s.saturating_mul(unit)),
    })
}

/// The charts of `picked`: those with usable timestamps on one time axis, then one chart by
/// index per length of the others; `notices` (and why each series is charted as it is)
/// shown on the first, which keeps the address bar. `Err` says why nothing can be charted.
pub(super) fn charts(
    state: &AppState,
    picked: Vec<Picked>,
    query: &ViewQuery,
    mut notices: Vec<String>,
    url: ViewUrl,
) -> Result<Vec<ChartInit>, String> {
    let mut timed: Vec<SeriesInfo> = Vec::new();
    let mut by_index: Vec<(u64, Vec<SeriesInfo>)> = Vec::new();
    // Timestamps that cannot be an axis: their name, why, and the series they would time.
    let mut refused: Vec<(String, String, Vec<String>)> = Vec::new();
    for p in picked {
        if let Some(why) = why_not_charted(&p.array) {
            notices.push(format!("{} is not charted: {why}.", p.key));
            continue;
        }
        match p.time.as_ref().map(|t| series_time(state, t)) {
            Some(Ok(time)) => timed.extend(series_of(&p.array, &p.key, Some(time))),
            untimed => {
                if let (Some(Err(why)), Some(t)) = (untimed, &p.time) {
                    match refused.iter_mut().find(|(name, _, _)| *name == t.name) {
                        Some((_, _, keys)) => keys.push(p.key.clone()),
                        None => refused.push((t.name.clone(), why, vec![p.key.clone()])),
                    }
                }
                let series = series_of(&p.array, &p.key, None);
                let len = series[0].len;
                match by_index.iter_mut().find(|(l, _)| *l == len) {
                    Some((_, all)) => all.extend(series),
                    None => by_index.push((len, series)),
                }
            }
        }
    }
    for (name, why, keys) in refused {
        notices.push(format!(
            "Charted by sample index: {why} ({name}, the timestamps of {}).",
            keys.join(", ")
        ));
    }
    let mut groups: Vec<(Option<TimeAxis>, Vec<SeriesInfo>)> = Vec::new();
    if let Some(axis) = TimeAxis::spanning(timed.iter().filter_map(|s| s.time.as_ref())) {
        groups.push((Some(axis), timed));
    }
    let several = groups.len() + by_index.len() > 1;
    let mut index_notices = Vec::new();
    for (len, series) in by_index {
        if several {
            let keys: Vec<&str> = series.iter().map(|s| s.key.as_str()).collect();
            index_notices.push(format!(
                "By sample index ({len} samples): {}, with no timestamps as long as {}.",
                keys.join(", "),
                if keys.len() == 1 { "it" } else { "them" }
            ));
        }
        groups.push((None, series));
    }
    if groups.is_empty() {
        let mut why =
            String::from("Nothing here can be charted (only numeric 1-D and 2-D arrays).");
        for notice in notices {
            why.push(' ');
            why.push_str(&notice);
        }
        return Err(why);
    }
    let mut index_notices = index_notices.into_iter();
    let charts = groups
        .into_iter()
        .enumerate()
        .map(|(i, (time, series))| {
            let main = i == 0;
            let mut notes = if main {
                std::mem::take(&mut notices)
            } else {
                Vec::new()
            };
            if time.is_none() && several {
                notes.extend(index_notices.next());
            }
            let len = series.iter().map(|s| s.len).max().unwrap_or(0);
            // A chart by index whose first array has a clock reads in time.
            let clock = match time {
                None => series.first().and_then(|s| state.clocks.get(&s.array)),
                Some(_) => None,
            };
            let mut init = ChartInit {
                clock,
                y: query.y.clone(),
                len,
                window: window(time, len, query, main),
                series,
                hidden: query.hidden.clone(),
                joined: query.joined.clone(),
                time,
                notices: notes,
                url: main.then(|| url.clone()),
                svg: String::new(),
            };
            init.svg = first_frame(state, &init).unwrap_or_else(|err| {
                tracing::warn!("first chart frame failed: {err}");
                String::new()
            });
            init
        })
        .collect();
    Ok(charts)
}

/// The first window of a chart: the URL's on the page's main chart, else all of it.
fn window(time: Option<TimeAxis>, len: u64, query: &ViewQuery, main: bool) -> (f64, f64) {
    let query = if main { query } else { &ViewQuery::default() };
    match time {
        Some(axis) => {
            let end = axis.x_end();
            let x0 = query.t0.map_or(0.0, |t| axis.x_of_ns(t)).clamp(0.0, end);
            let x1 = query.t1.map_or(end, |t| axis.x_of_ns(t)).clamp(0.0, end);
            if x1 > x0 {
                (x0, x1)
            } else {
                (0.0, end)
            }
        }
        None => {
            let stop = query.stop.unwrap_or(len).min(len);
            let start = query.start.unwrap_or(0).min(stop.saturating_sub(1));
            (start as f64, stop as f64)
        }
    }
}

/// The server-rendered SVG of the visible series in the window, stacked as the chart
/// stacks them.
fn first_frame(state: &AppState, init: &ChartInit) -> Result<String, ApiError> {
    let stacked = stack(&init.series, &init.hidden, &init.joined);
    let x_axis = match (init.time, init.clock) {
        (Some(axis), _) => XAxis::Time {
            t0_ns: axis.first_ns,
            ns_per_sample: 1.0,
        },
        (None, Some(clock)) => XAxis::Time {
            t0_ns: clock.start_ns,
            ns_per_sample: clock.ns_per_sample(),
        },
        (None, None) => XAxis::Index,
    };
    let mut spec = ChartSpec {
        width: SVG_WIDTH,
        height: chart_height(stacked.len()),
        x_range: init.window,
        x_axis,
        panels: Vec::new(),
        theme: Theme::Light,
    };
    let bins = spec.plot_width_px() as usize;
    let (x0, x1) = init.window;
    let window = match init.time {
        Some(axis) => {
            let t0 = axis.ns_of_x(x0.floor());
            Window::Time {
                t0,
                t1: axis.ns_of_x(x1.ceil()).max(t0.saturating_add(1)),
            }
        }
        None => Window::Samples {
            start: Some(x0.floor() as u64),
            stop: Some(x1.ceil() as u64),
        },
    };
    for members in stacked {
        let mut panel = Panel::default();
        // The y scale the address gives the panel's first series.
        let first = members.first().map(|&n| init.series[n].key.as_str());
        if let Some((_, scale)) = init.y.iter().find(|(key, _)| Some(key.as_str()) == first) {
            panel.y = *scale;
        }
        for color in members {
            let series = &init.series[color];
            let array = state.store.get(&series.array)?;
            let times = match &series.time {
                Some(t) => Some(state.store.get(&t.array)?),
                None => None,
            };
            let window = match window {
                Window::Samples { start, stop } => Window::Samples {
                    start,
                    stop: stop.map(|s| s.min(series.len)),
                },
                time => time,
            };
            let answer = state.levels.answer(
                &array,
                times.as_deref(),
                window,
                bins,
                Some(u64::from(series.column)),
            )?;
            let bins = match (init.time, &series.time) {
                (Some(axis), Some(time)) => axis.place(&answer, time).unwrap_or_default(),
                _ => answer.columns,
            };
            panel.series.push(Series {
                name: series.label.clone(),
                unit: String::new(),
                color,
                bins: bins.into_iter().next().unwrap_or_default(),
                gap: series.time.as_ref().and_then(SeriesTime::gap),
                spacing: series.time.as_ref().map_or(1.0, SeriesTime::spacing),
            });
        }
        spec.panels.push(panel);
    }
    render_svg(&spec).map_err(|e| ApiError::Internal(e.to_string()))
}
