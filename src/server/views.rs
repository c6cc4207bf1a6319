//! What the `/view/{name}` page shows, assembled on the server: the array or group, its
//! series, the window from the URL, and the first chart frame as SVG.

use std::sync::Arc;

use crate::catalog::{ArrayDetail, ChartInit, SeriesInfo, TimeAxis, ViewData};
use crate::chart::{chart_height, render_svg, ChartSpec, Series, Theme, XAxis};
use crate::server::describe::{chartable, info_of, is_timestamps, timestamps_for};
use crate::server::error::ApiError;
use crate::server::levels::Window;
use crate::server::repr::{self, Selection, SliceSpec};
use crate::server::store::{StoreError, StoredArray};
use crate::server::AppState;
use crate::wire::format::format_elements;

/// Width of the server-rendered chart, CSS px: the page's content column on a desktop.
pub const SVG_WIDTH: f64 = 1084.0;

/// What the URL asks of a view: the window and the series toggled off.
#[derive(Debug, Clone, Default)]
pub struct ViewQuery {
    /// First sample of the window (default 0), for a chart by index.
    pub start: Option<u64>,
    /// One past its last sample (default: the series' length).
    pub stop: Option<u64>,
    /// First instant of the window, ns since the Unix epoch, for a chart in time.
    pub t0: Option<i64>,
    /// One past its last instant.
    pub t1: Option<i64>,
    /// The timestamps to chart by, instead of the group's (`?time=`).
    pub time: Option<String>,
    /// Keys of the series toggled off.
    pub hidden: Vec<String>,
}

/// The view of `name`: an array, else a group (names below `name/`), with at most
/// `preview_len` values previewed.
///
/// # Errors
/// [`StoreError::NotFound`] when the name is neither (404), [`StoreError::Invalid`] when
/// the array is unreadable (422).
pub fn view(
    state: &AppState,
    name: &str,
    query: &ViewQuery,
    preview_len: usize,
) -> Result<ViewData, ApiError> {
    match state.store.get(name) {
        Ok(array) => {
            let (count, values) = preview(&array, preview_len);
            let detail = ArrayDetail {
                info: info_of(&array),
                fortran_order: array.header.fortran_order,
                count,
                preview: values,
                origin: String::new(),
            };
            let series = series_of(&array, array.name.rsplit('/').next().unwrap_or(name));
            let time = timestamps_for(&state.store, &array, query.time.as_deref())?;
            Ok(ViewData {
                name: name.to_string(),
                array: Some(detail),
                members: Vec::new(),
                chart: chart(state, series, time, query),
            })
        }
        Err(StoreError::NotFound(_)) => group_view(state, name, query),
        Err(err) => Err(err.into()),
    }
}

/// The view of a group: every member at the group's length, stacked.
fn group_view(state: &AppState, name: &str, query: &ViewQuery) -> Result<ViewData, ApiError> {
    let prefix = format!("{name}/");
    let members: Vec<Arc<StoredArray>> = state
        .store
        .list()
        .into_iter()
        .filter(|a| a.name.starts_with(&prefix) && !a.name[prefix.len()..].contains('/'))
        .collect();
    if members.is_empty() {
        return Err(StoreError::NotFound(name.to_string()).into());
    }
    let time = match &query.time {
        Some(named) => Some(state.store.get(named)?),
        None => members.iter().find(|a| is_timestamps(a)).map(Arc::clone),
    };
    // The shared x axis: the timestamps' length, else the first chartable member's.
    let len = time.as_ref().map(|t| t.header.shape[0]).or_else(|| {
        members
            .iter()
            .find(|a| is_chartable(a))
            .map(|a| a.header.shape[0])
    });
    let mut series = members
        .iter()
        .filter(|a| a.header.shape.first().copied() == len)
        .filter(|a| time.as_ref().is_none_or(|t| t.name != a.name))
        .flat_map(|a| series_of(a, &a.name[prefix.len()..]))
        .collect::<Vec<_>>();
    // Plain series first, then the columns of (N, C) arrays.
    series.sort_by_key(|s| s.columns > 1);
    Ok(ViewData {
        name: name.to_string(),
        array: None,
        members: members.iter().map(|a| info_of(a)).collect(),
        chart: chart(state, series, time, query),
    })
}

/// Whether an array can be charted here: chartable, and not empty.
fn is_chartable(array: &StoredArray) -> bool {
    chartable(&array.header).is_ok() && array.header.shape.first().is_some_and(|&n| n > 0)
}

/// The series of one array: itself, or one per column.
fn series_of(array: &StoredArray, key: &str) -> Vec<SeriesInfo> {
    if !is_chartable(array) {
        return Vec::new();
    }
    let dtype = array.header.dtype.descr_string();
    let columns = array.header.shape.get(1).copied().unwrap_or(1) as u32;
    if array.header.shape.len() == 1 {
        return vec![SeriesInfo {
            key: key.to_string(),
            array: array.name.clone(),
            column: 0,
            columns: 1,
            label: key.to_string(),
            dtype,
        }];
    }
    (0..columns)
        .map(|c| SeriesInfo {
            key: format!("{key}.{c}"),
            array: array.name.clone(),
            column: c,
            columns,
            label: format!("{key}[:, {c}]"),
            dtype: dtype.clone(),
        })
        .collect()
}

/// The element count of `array` and its first `limit` elements (C order) as text.
fn preview(array: &StoredArray, limit: usize) -> (u64, Vec<String>) {
    let header = &array.header;
    let count = header.element_count().unwrap_or(0);
    let mut selection = Selection::default();
    if let Some(&rows) = header.shape.first() {
        let per_row = header.shape[1..]
            .iter()
            .fold(1u64, |acc, &d| acc.saturating_mul(d))
            .max(1);
        let wanted = (limit as u64).div_ceil(per_row).max(1).min(rows);
        selection.slice = Some(SliceSpec {
            start: Some(0),
            stop: Some(wanted as i64),
            step: None,
        });
    }
    match repr::select(array, &selection, true) {
        Ok(selected) => (
            count,
            format_elements(&selected.data, &selected.dtype, limit),
        ),
        Err(_) => (count, Vec::new()),
    }
}

/// The time axis `times` give, or why they give none.
fn time_axis(state: &AppState, times: &StoredArray) -> Result<TimeAxis, String> {
    let stamps = state.levels.timestamps(times).map_err(|e| e.to_string())?;
    let index = stamps.index().map_err(|e| e.to_string())?;
    let (first, last) = index.span().ok_or("the timestamps are empty")?;
    let unit = stamps.unit_ns;
    Ok(TimeAxis {
        unit_ns: unit,
        first_ns: first.saturating_mul(unit),
        last_ns: last.saturating_mul(unit),
        spacing_ns: index.spacing().map(|s| s.saturating_mul(unit)),
    })
}

/// The chart of `series` (on the time axis of `times`, if they give one), or why there is
/// none.
fn chart(
    state: &AppState,
    series: Vec<SeriesInfo>,
    times: Option<Arc<StoredArray>>,
    query: &ViewQuery,
) -> Result<ChartInit, String> {
    let Some(first) = series.first() else {
        return Err("nothing here can be charted (only numeric 1-D and 2-D arrays)".into());
    };
    let first = state.store.get(&first.array).map_err(|e| e.to_string())?;
    let len = first.header.shape[0];
    let (time, notice) = match &times {
        None => (None, None),
        Some(t) => match time_axis(state, t) {
            Ok(axis) => (Some(axis), None),
            Err(why) => (None, Some(format!("Charted by sample index: {why}."))),
        },
    };
    let window = match time {
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
    };
    let mut init = ChartInit {
        len,
        window,
        series,
        hidden: query.hidden.clone(),
        time_array: time.and(times.as_ref()).map(|t| t.name.clone()),
        time_asked: query.time.is_some(),
        time,
        notice,
        svg: String::new(),
    };
    init.svg = first_frame(state, &init).unwrap_or_else(|err| {
        tracing::warn!("first chart frame failed: {err}");
        String::new()
    });
    Ok(init)
}

/// The server-rendered SVG of the visible series in the window.
fn first_frame(state: &AppState, init: &ChartInit) -> Result<String, ApiError> {
    let visible: Vec<(usize, &SeriesInfo)> = init
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| !init.hidden.contains(&s.key))
        .collect();
    let x_axis = match init.time {
        Some(axis) => XAxis::Time {
            t0_ns: axis.first_ns,
            ns_per_sample: 1.0,
        },
        None => XAxis::Index,
    };
    let mut spec = ChartSpec {
        width: SVG_WIDTH,
        height: chart_height(visible.len()),
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
            stop: Some((x1.ceil() as u64).min(init.len)),
        },
    };
    let times = match &init.time_array {
        Some(name) => Some(state.store.get(name)?),
        None => None,
    };
    for (color, series) in visible {
        let array = state.store.get(&series.array)?;
        let answer = state.levels.answer(
            &array,
            times.as_deref(),
            window,
            bins,
            Some(u64::from(series.column)),
        )?;
        let bins = match init.time {
            Some(axis) => axis.place(&answer).unwrap_or_default(),
            None => answer.columns,
        };
        spec.panels.push(Series {
            name: series.label.clone(),
            unit: String::new(),
            color,
            bins: bins.into_iter().next().unwrap_or_default(),
            gap: init.time.and_then(|t| t.gap()),
            spacing: init.time.map_or(1.0, |t| t.spacing()),
        });
    }
    render_svg(&spec).map_err(|e| ApiError::Internal(e.to_string()))
}
