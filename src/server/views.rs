//! What the `/view/{name}` page shows, assembled on the server: the array or group, its
//! series, the window from the URL, and the first chart frame as SVG.

use std::sync::Arc;

use crate::catalog::{ArrayDetail, ChartInit, SeriesInfo, TimeInfo, ViewData};
use crate::chart::{chart_height, render_svg, ChartSpec, Series, Theme, XAxis};
use crate::server::describe::{chartable, info_of, is_timestamps, time_info, timestamps_of};
use crate::server::error::ApiError;
use crate::server::repr::{self, Selection, SliceSpec};
use crate::server::store::{StoreError, StoredArray};
use crate::server::AppState;
use crate::wire::format::format_elements;

/// Width of the server-rendered chart, CSS px: the page's content column on a desktop.
pub const SVG_WIDTH: f64 = 1084.0;

/// What the URL asks of a view: the window and the series toggled off.
#[derive(Debug, Clone, Default)]
pub struct ViewQuery {
    /// First sample of the window (default 0).
    pub start: Option<u64>,
    /// One past its last sample (default: the series' length).
    pub stop: Option<u64>,
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
            let time = timestamps_of(&state.store, &array)
                .and_then(|t| Some((t.name.clone(), time_info(&t)?)));
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
    let time = members.iter().find(|a| is_timestamps(a)).map(Arc::clone);
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
    let time = time.and_then(|t| Some((t.name.clone(), time_info(&t)?)));
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

/// The chart of `series`, or why there is none.
fn chart(
    state: &AppState,
    series: Vec<SeriesInfo>,
    time: Option<(String, TimeInfo)>,
    query: &ViewQuery,
) -> Result<ChartInit, String> {
    let Some(first) = series.first() else {
        return Err("nothing here can be charted (only numeric 1-D and 2-D arrays)".into());
    };
    let first = state.store.get(&first.array).map_err(|e| e.to_string())?;
    let len = first.header.shape[0];
    let stop = query.stop.unwrap_or(len).min(len);
    let start = query.start.unwrap_or(0).min(stop.saturating_sub(1));
    let mut init = ChartInit {
        len,
        start,
        stop,
        series,
        hidden: query.hidden.clone(),
        time_array: time.as_ref().map(|(name, _)| name.clone()),
        time: time.map(|(_, info)| info),
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
    let mut spec = ChartSpec {
        width: SVG_WIDTH,
        height: chart_height(visible.len()),
        x_range: (init.start as f64, init.stop as f64),
        x_axis: XAxis::over_samples(init.len, init.time.map(|t| (t.first_ns, t.last_ns))),
        panels: Vec::new(),
        theme: Theme::Light,
    };
    let bins = spec.plot_width_px() as usize;
    for (color, series) in visible {
        let array = state.store.get(&series.array)?;
        let levels = state.levels.get(&array)?;
        let column = levels
            .columns
            .get(series.column as usize)
            .ok_or_else(|| ApiError::Internal(format!("{} has no such column", series.key)))?;
        spec.panels.push(Series {
            name: series.label.clone(),
            unit: String::new(),
            color,
            bins: column.m4(init.start, init.stop, bins)?,
        });
    }
    render_svg(&spec).map_err(|e| ApiError::Internal(e.to_string()))
}
