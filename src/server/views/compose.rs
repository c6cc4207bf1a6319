//! Which arrays a view is made of: the page's array or group, and what `add=` adds, each
//! with its timestamps.

use std::sync::Arc;

use crate::server::describe::{is_datetime_1d, timestamps_for, timestamps_of};
use crate::server::error::ApiError;
use crate::server::store::{Store, StoreError, StoredArray};

/// An array picked for a view, with the key its series are named by and its timestamps.
pub(super) struct Picked {
    pub(super) array: Arc<StoredArray>,
    pub(super) key: String,
    pub(super) time: Option<Arc<StoredArray>>,
}

/// The members of the group `name` (its direct members), or 404.
pub(super) fn group_members(store: &Store, name: &str) -> Result<Vec<Arc<StoredArray>>, ApiError> {
    let prefix = format!("{name}/");
    let members: Vec<Arc<StoredArray>> = store
        .list()?
        .into_iter()
        .filter(|a| a.name.starts_with(&prefix) && !a.name[prefix.len()..].contains('/'))
        .collect();
    if members.is_empty() {
        return Err(StoreError::NotFound(name.to_string()).into());
    }
    Ok(members)
}

/// The array `name` given as timestamps (`time=`, or `@` in `add=`): a 1-D datetime64.
pub(super) fn named_timestamps(store: &Store, name: &str) -> Result<Arc<StoredArray>, ApiError> {
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
pub(super) fn pick_members(
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
pub(super) fn added(store: &Store, entry: &str) -> Result<Vec<Picked>, String> {
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
