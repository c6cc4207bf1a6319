//! What the `/view/{name}` page shows, assembled on the server: the array or group, the
//! arrays the URL adds, their series and timestamps, the charts they make (one in time,
//! one by index per other length), each chart's first window from the URL, and its first
//! frame as SVG.

use std::sync::Arc;

use crate::catalog::{
    stack, ArrayDetail, ChartInit, SeriesInfo, SeriesTime, TimeAxis, ViewData, ViewUrl,
};
use crate::chart::{chart_height, render_svg, ChartSpec, Panel, Series, Theme, XAxis};
use crate::server::describe::{chartable, info_of, is_datetime_1d, timestamps_for, timestamps_of};
use crate::server::error::ApiError;
use crate::server::levels::Window;
use crate::server::repr::{self, Selection, SliceSpec};
use crate::server::store::{Store, StoreError, StoredArray};
use crate::server::AppState;
use crate::wire::format::format_elements;

/// Width of the server-rendered chart, CSS px: the page's content column on a desktop.
pub const SVG_WIDTH: f64 = 1084.0;

/// What the URL asks of a view: the window, the series toggled off or overlaid, and what
/// is added to it.
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
    /// Keys of the series overlaid on the panel above.
    pub joined: Vec<String>,
    /// Arrays and groups from anywhere added to the view: `NAME` or `NAME@TIMES`.
    pub added: Vec<String>,
}

/// An array picked for a view, with the key its series are named by and its timestamps.
struct Picked {
    array: Arc<StoredArray>,
    key: String,
    time: Option<Arc<StoredArray>>,
}

/// The view of `name`: an array, else a group (names below `name/`), with at most
/// `preview_len` values previewed, and whatever the query adds.
///
/// # Errors
/// [`StoreError::NotFound`] when the name is neither (404), [`StoreError::Invalid`] when
/// the array is unreadable (422), and a `time=` that cannot be its timestamps (422).
pub fn view(
    state: &AppState,
    name: &str,
    query: &ViewQuery,
    preview_len: usize,
) -> Result<ViewData, ApiError> {
    let store = &state.store;
    let (array, members, mut picked) = match store.get(name) {
        Ok(array) => {
            let (count, values) = preview(&array, preview_len);
            let detail = ArrayDetail {
                info: info_of(&array),
                fortran_order: array.header.fortran_order,
                count,
                preview: values,
                origin: String::new(),
            };
            let picked = Picked {
                time: timestamps_for(store, &array, query.time.as_deref())?,
                key: array.name.rsplit('/').next().unwrap_or(name).to_string(),
                array,
            };
            (Some(detail), Vec::new(), vec![picked])
        }
        Err(StoreError::NotFound(_)) => {
            let members = group_members(store, name)?;
            let named = match &query.time {
                Some(t) => Some(named_timestamps(store, t)?),
                None => None,
            };
            let prefix = name.len() + 1;
            let picked = pick_members(store, &members, named, |a| a.name[prefix..].to_string());
            let infos = members.iter().map(|a| info_of(a)).collect();
            (None, infos, picked)
        }
        Err(err) => return Err(err.into()),
    };
    let mut notices = Vec::new();
    for entry in &query.added {
        match added(store, entry) {
            Ok(more) => picked.extend(
                more.into_iter()
                    .filter(|p| !picked.iter().any(|q| q.array.name == p.array.name))
                    .collect::<Vec<_>>(),
            ),
            Err(why) => notices.push(format!("Could not add {entry}: {why}.")),
        }
    }
    let url = ViewUrl {
        name: name.to_string(),
        time: query.time.clone(),
        added: query.added.clone(),
    };
    Ok(ViewData {
        name: name.to_string(),
        array,
        members,
        charts: charts(state, picked, query, notices, url),
    })
}

/// The members of the group `name` (its direct members), or 404.
fn group_members(store: &Store, name: &str) -> Result<Vec<Arc<StoredArray>>, ApiError> {
    let prefix = format!("{name}/");
    let members: Vec<Arc<StoredArray>> = store
        .list()
        .into_iter()
        .filter(|a| a.name.starts_with(&prefix) && !a.name[prefix.len()..].contains('/'))
        .collect();
    if members.is_empty() {
        return Err(StoreError::NotFound(name.to_string()).into());
    }
    Ok(members)
}

/// The array `name` given as timestamps (`time=`, or `@` in `add=`): a 1-D datetime64.
fn named_timestamps(store: &Store, name: &str) -> Result<Arc<StoredArray>, ApiError> {
    crate::names::validate_name(name)?;
    let times = store.get(name)?;
    if !is_datetime_1d(&times) {
        return Err(ApiError::Unchartable(format!(
            "'{name}' cannot be timestamps: they are a 1-D datetime64 array"
        )));
    }
    Ok(times)
}

/// The members of a group as picked arrays, keyed by `key_of`: each with the timestamps
/// `named` where they are as long as it, else its own ([`timestamps_of`]). The timestamps
/// in use are the axis, not series. The members are ordered by their timestamps (those at
/// one rate together, the untimed last), then plain series before (N, C) arrays.
fn pick_members(
    store: &Store,
    members: &[Arc<StoredArray>],
    named: Option<Arc<StoredArray>>,
    key_of: impl Fn(&StoredArray) -> String,
) -> Vec<Picked> {
    let mut picked: Vec<Picked> = members
        .iter()
        .map(|array| {
            let len = array.header.shape.first().copied();
            let time = named
                .as_ref()
                .filter(|t| t.header.shape.first().copied() == len && t.name != array.name)
                .map(Arc::clone)
                .or_else(|| timestamps_of(store, array));
            Picked {
                array: Arc::clone(array),
                key: key_of(array),
                time,
            }
        })
        .collect();
    let axes: Vec<String> = picked
        .iter()
        .filter_map(|p| p.time.as_ref().map(|t| t.name.clone()))
        .collect();
    picked.retain(|p| !axes.contains(&p.array.name));
    picked.sort_by_key(|p| {
        let time = p.time.as_ref().map(|t| t.name.clone());
        (time.is_none(), time, p.array.header.shape.len() > 1)
    });
    picked
}

/// What `add=ENTRY` adds: the array or group `NAME`, charted by the timestamps `TIMES`
/// when the entry is `NAME@TIMES` (else each by its own).
fn added(store: &Store, entry: &str) -> Result<Vec<Picked>, String> {
    let (name, times) = match entry.split_once('@') {
        Some((name, times)) => (name, Some(times)),
        None => (entry, None),
    };
    crate::names::validate_name(name).map_err(|e| e.to_string())?;
    let named = times
        .map(|t| named_timestamps(store, t))
        .transpose()
        .map_err(|e| e.to_string())?;
    match store.get(name) {
        Ok(array) => {
            let time = match &named {
                Some(t) => {
                    timestamps_for(store, &array, Some(&t.name)).map_err(|e| e.to_string())?
                }
                None => timestamps_of(store, &array),
            };
            Ok(vec![Picked {
                key: name.to_string(),
                array,
                time,
            }])
        }
        Err(StoreError::NotFound(_)) => {
            let members = group_members(store, name).map_err(|e| e.to_string())?;
            Ok(pick_members(store, &members, named, |a| a.name.clone()))
        }
        Err(err) => Err(err.to_string()),
    }
}

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
        time: time.clone(),
    };
    if array.header.shape.len() == 1 {
        return vec![one(key.to_string(), 0, key.to_string())];
    }
    (0..columns)
        .map(|c| one(format!("{key}.{c}"), c, format!("{key}[:, {c}]")))
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

/// The checked timestamps `times`, or why they cannot be an axis.
fn series_time(state: &AppState, times: &StoredArray) -> Result<SeriesTime, String> {
    let stamps = state.levels.timestamps(times).map_err(|e| e.to_string())?;
    let index = stamps.index().map_err(|e| e.to_string())?;
    let (first, last) = index.span().ok_or("the timestamps are empty")?;
    let unit = stamps.unit_ns;
    Ok(SeriesTime {
        array: times.name.clone(),
        unit_ns: unit,
        first_ns: first.saturating_mul(unit),
        last_ns: last.saturating_mul(unit),
        spacing_ns: index.spacing().map(|s| s.saturating_mul(unit)),
    })
}

/// The charts of `picked`: those with usable timestamps on one time axis, then one chart by
/// index per length of the others; `notices` (and why each series is charted as it is)
/// shown on the first, which keeps the address bar. `Err` says why nothing can be charted.
fn charts(
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
            let mut init = ChartInit {
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
    let x_axis = match init.time {
        Some(axis) => XAxis::Time {
            t0_ns: axis.first_ns,
            ns_per_sample: 1.0,
        },
        None => XAxis::Index,
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
