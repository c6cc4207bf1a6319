//! What the `/view/{name}` page shows, assembled on the server: the array or group, the
//! arrays the URL adds, their series and timestamps, the charts they make (one in time,
//! one by index per other length), each chart's first window from the URL, and its first
//! frame as SVG.
//!
//! - `compose`: which arrays a view is made of, each with its timestamps;
//! - `charts`: their series, the charts they make, and each chart's first frame.

mod charts;
mod compose;

use crate::catalog::{ArrayDetail, ViewData, ViewUrl};
use crate::server::describe::{info_of, timestamps_for};
use crate::server::error::ApiError;
use crate::server::repr::{self, Selection, SliceSpec};
use crate::server::store::{StoreError, StoredArray};
use crate::server::AppState;
use crate::wire::format::format_elements;
use charts::charts;
use compose::{added, group_members, named_timestamps, pick_members, Picked};

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
    /// The panels' y scales (`y=`), by the key of a panel's first series.
    pub y: Vec<(String, crate::chart::YScale)>,
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
    let bytes = repr::select(array, &selection, true)
        .ok()
        .and_then(|selected| Some((selected.data.to_bytes().ok()?, selected.dtype)));
    match bytes {
        Some((bytes, dtype)) => (count, format_elements(&bytes, &dtype, limit)),
        None => (count, Vec::new()),
    }
}
