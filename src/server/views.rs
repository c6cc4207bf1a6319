//! What the `/view/{name}` page shows, assembled on the server: the array or group, its
//! series, the window from the URL, and the first chart frame as SVG.

use std::sync::Arc;

use crate::app::explorer::{chart_height, x_axis};
use crate::catalog::{ArrayDetail, ChartInit, SeriesInfo, TimeInfo, ViewData};
use crate::chart::{render_svg, ChartSpec, Series, Theme};
use crate::server::api::{info_of, TIME_MEMBERS};
use crate::server::levels::LevelsCache;
use crate::server::store::{StoreError, StoredArray};
use crate::server::{preview, AppState};
use crate::wire::dtype::{ScalarKind, TimeUnit};

/// Width of the server-rendered chart, CSS px: the page's content column on a desktop.
pub const SVG_WIDTH: f64 = 1084.0;

/// The view of `name`: an array, else a group (names below `name/`).
///
/// # Errors
/// [`StoreError`] when the name is neither (404) or the array is unreadable (422).
pub fn view(
    state: &AppState,
    name: &str,
    window: (Option<u64>, Option<u64>),
    hidden: &[String],
    preview_len: usize,
) -> Result<ViewData, StoreError> {
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
            let chart = chart(state, series, time_of(state, &array), window, hidden);
            Ok(ViewData {
                name: name.to_string(),
                array: Some(detail),
                members: Vec::new(),
                chart,
            })
        }
        Err(StoreError::NotFound(_)) => {
            let prefix = format!("{name}/");
            let members: Vec<Arc<StoredArray>> = state
                .store
                .list()
                .into_iter()
                .filter(|a| a.name.starts_with(&prefix) && !a.name[prefix.len()..].contains('/'))
                .collect();
            if members.is_empty() {
                return Err(StoreError::NotFound(name.to_string()));
            }
            let time = members.iter().find(|a| is_time_member(a)).map(Arc::clone);
            // The shared x axis: the timestamps' length, else the first chartable member's.
            let len = time.as_ref().map(|t| t.header.shape[0]).or_else(|| {
                members
                    .iter()
                    .find(|a| chartable(a))
                    .map(|a| a.header.shape[0])
            });
            let series = members
                .iter()
                .filter(|a| chartable(a) && Some(a.header.shape[0]) == len)
                .filter(|a| time.as_ref().is_none_or(|t| t.name != a.name))
                .flat_map(|a| series_of(a, &a.name[prefix.len()..]))
                .collect::<Vec<_>>();
            // Plain series first, then the columns of (N, C) arrays.
            let mut series = series;
            series.sort_by_key(|s| s.columns > 1);
            let time = time.map(|t| (t.name.clone(), time_info(&t)));
            let chart = chart(
                state,
                series,
                time.and_then(|(n, i)| Some((n, i?))),
                window,
                hidden,
            );
            Ok(ViewData {
                name: name.to_string(),
                array: None,
                members: members.iter().map(|a| info_of(a)).collect(),
                chart,
            })
        }
        Err(err) => Err(err),
    }
}

/// Whether an array can be charted: 1-D or 2-D of a numeric dtype, not empty.
fn chartable(array: &StoredArray) -> bool {
    let numeric = array.header.dtype.as_scalar().is_some_and(|s| {
        matches!(
            s.kind,
            ScalarKind::Bool
                | ScalarKind::Int
                | ScalarKind::UInt
                | ScalarKind::Float
                | ScalarKind::DateTime
                | ScalarKind::TimeDelta
        ) && s.size <= 8
    });
    numeric && matches!(array.header.shape.len(), 1 | 2) && array.header.shape[0] > 0
}

fn is_time_member(array: &StoredArray) -> bool {
    let leaf = array.name.rsplit('/').next().unwrap_or("");
    TIME_MEMBERS.contains(&leaf)
        && array.header.shape.len() == 1
        && array
            .header
            .dtype
            .as_scalar()
            .is_some_and(|s| s.kind == ScalarKind::DateTime)
}

/// The series of one array: itself, or one per column.
fn series_of(array: &StoredArray, key: &str) -> Vec<SeriesInfo> {
    if !chartable(array) {
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

/// The timestamps array of a single array's view (a datetime64 sibling), if any.
fn time_of(state: &AppState, array: &StoredArray) -> Option<(String, TimeInfo)> {
    let (group, leaf) = array.name.rsplit_once('/')?;
    let len = *array.header.shape.first()?;
    TIME_MEMBERS
        .iter()
        .filter(|t| **t != leaf)
        .filter_map(|t| state.store.get(&format!("{group}/{t}")).ok())
        .find(|t| is_time_member(t) && t.header.shape == [len])
        .and_then(|t| Some((t.name.clone(), time_info(&t)?)))
}

/// Nanoseconds per count of a datetime64 unit; `None` for months and years (not fixed).
pub fn unit_ns(unit: TimeUnit, multiplier: u32) -> Option<i64> {
    let base: i64 = match unit {
        TimeUnit::Week => 7 * 86_400_000_000_000,
        TimeUnit::Day => 86_400_000_000_000,
        TimeUnit::Hour => 3_600_000_000_000,
        TimeUnit::Minute => 60_000_000_000,
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Milli => 1_000_000,
        TimeUnit::Micro => 1_000,
        TimeUnit::Nano => 1,
        _ => return None,
    };
    base.checked_mul(i64::from(multiplier))
}

fn time_info(t: &StoredArray) -> Option<TimeInfo> {
    let scalar = t.header.dtype.as_scalar()?;
    let (unit, multiplier) = scalar.unit?;
    let unit_ns = unit_ns(unit, multiplier)?;
    let counts = crate::wire::convert::to_f64_vec(&t.data[..scalar.size], scalar).ok()?;
    let first = *counts.first()?;
    let last_bytes = &t.data[t.data.len() - scalar.size..];
    let last = *crate::wire::convert::to_f64_vec(last_bytes, scalar)
        .ok()?
        .first()?;
    if !first.is_finite() || !last.is_finite() {
        return None;
    }
    Some(TimeInfo {
        unit_ns,
        first_ns: (first as i64).saturating_mul(unit_ns),
        last_ns: (last as i64).saturating_mul(unit_ns),
    })
}

fn chart(
    state: &AppState,
    series: Vec<SeriesInfo>,
    time: Option<(String, TimeInfo)>,
    window: (Option<u64>, Option<u64>),
    hidden: &[String],
) -> Result<ChartInit, String> {
    let Some(first) = series.first() else {
        return Err("nothing here can be charted (only numeric 1-D and 2-D arrays)".into());
    };
    let first = state.store.get(&first.array).map_err(|e| e.to_string())?;
    let len = first.header.shape[0];
    let stop = window.1.unwrap_or(len).min(len);
    let start = window.0.unwrap_or(0).min(stop.saturating_sub(1));
    let mut init = ChartInit {
        len,
        start,
        stop,
        series,
        hidden: hidden.to_vec(),
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
fn first_frame(state: &AppState, init: &ChartInit) -> Result<String, String> {
    let visible: Vec<&SeriesInfo> = init
        .series
        .iter()
        .filter(|s| !init.hidden.contains(&s.key))
        .collect();
    let mut spec = ChartSpec {
        width: SVG_WIDTH,
        height: chart_height(visible.len()),
        x_range: (init.start as f64, init.stop as f64),
        x_axis: x_axis(init.len, init.time.as_ref()),
        panels: Vec::new(),
        theme: Theme::Light,
    };
    let bins = spec.plot_width_px() as usize;
    for series in visible {
        let index = init
            .series
            .iter()
            .position(|s| s.key == series.key)
            .unwrap_or(0);
        let array = state.store.get(&series.array).map_err(|e| e.to_string())?;
        let levels = levels_of(&state.levels, &array)?;
        let column = levels
            .columns
            .get(series.column as usize)
            .ok_or("no such column")?;
        let m4 = column
            .m4(init.start, init.stop, bins.max(1))
            .map_err(|e| e.to_string())?;
        spec.panels.push(Series {
            name: series.label.clone(),
            unit: String::new(),
            color: index,
            bins: m4,
        });
    }
    render_svg(&spec).map_err(|e| e.to_string())
}

fn levels_of(
    levels: &LevelsCache,
    array: &StoredArray,
) -> Result<Arc<crate::server::levels::Levels>, String> {
    levels.get(array).map_err(|e| e.to_string())
}
