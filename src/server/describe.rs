//! What every server-side part says about a stored array: its listing entry, its timestamps
//! and whether it can be charted. The API handlers, the write path, the views and the server
//! functions all depend on this module, not on each other.

use std::sync::Arc;

use crate::catalog::ArrayInfo;
use crate::server::error::ApiError;
use crate::server::repr::etag_for;
use crate::server::store::{Store, StoredArray};
use crate::wire::dtype::{ByteOrder, DType, ScalarKind, TimeUnit};
use crate::wire::npy::NpyHeader;

/// Names a series' timestamps may have in its group, in order of preference.
pub const TIME_MEMBERS: [&str; 3] = ["t", "time", "timestamp"];

/// The listing entry of a stored array.
pub fn info_of(array: &StoredArray) -> ArrayInfo {
    ArrayInfo {
        name: array.name.clone(),
        dtype: array.header.dtype.to_json(),
        shape: array.header.shape.clone(),
        nbytes: array.data.len() as u64,
        etag: etag_for(&array.etag, ""),
    }
}

/// Whether an array can be charted, and if not, why: a plain number dtype
/// ([`ScalarType::is_numeric`](crate::wire::dtype::ScalarType::is_numeric)) in one or two
/// dimensions.
///
/// # Errors
/// A sentence saying what stops it, for a 422 or the page.
pub fn chartable(header: &NpyHeader) -> Result<(), String> {
    let scalar = match &header.dtype {
        DType::Record { .. } => return Err(
            "a structured (record) array cannot be charted; chart its fields as separate arrays"
                .into(),
        ),
        DType::Scalar(scalar) => scalar,
    };
    if !scalar.is_numeric() {
        return Err(format!(
            "dtype {} cannot be charted (only bool, integer, float, datetime64 and timedelta64)",
            scalar.descr()
        ));
    }
    match header.shape.len() {
        0..=2 => Ok(()),
        ndim => Err(format!(
            "an array of {ndim} dimensions cannot be charted (1-D or 2-D only)"
        )),
    }
}

/// Whether `array` can be timestamps: a 1-D datetime64 array.
pub fn is_datetime_1d(array: &StoredArray) -> bool {
    array.header.shape.len() == 1
        && array
            .header
            .dtype
            .as_scalar()
            .is_some_and(|s| s.kind == ScalarKind::DateTime)
}

/// The names, in order of preference, of the group members that may be the timestamps of
/// the member `leaf`: its own `t_<leaf>`, then `t_<prefix>` for each prefix of `leaf`
/// that ends before an `_` (longest first: `t_hk_bus` then `t_hk` for `hk_bus_v`), then
/// the group's shared `t`, `time` and `timestamp`.
pub fn time_candidates(leaf: &str) -> Vec<String> {
    let own = std::iter::once(leaf).chain(
        leaf.char_indices()
            .rev()
            .filter(|&(at, c)| c == '_' && at > 0)
            .map(|(at, _)| &leaf[..at]),
    );
    own.map(|p| format!("t_{p}"))
        .chain(TIME_MEMBERS.iter().map(|t| t.to_string()))
        .filter(|t| t != leaf)
        .collect()
}

/// The timestamps of a series: the first of its group's [`time_candidates`] that is a
/// 1-D datetime64 array as long as the series, if any. A few `stat`s, no listing.
pub fn timestamps_of(store: &Store, array: &StoredArray) -> Option<Arc<StoredArray>> {
    let (group, leaf) = array.name.rsplit_once('/')?;
    let len = *array.header.shape.first()?;
    time_candidates(leaf)
        .iter()
        .filter(|t| crate::names::validate_name(&format!("{group}/{t}")).is_ok())
        .filter_map(|t| store.get(&format!("{group}/{t}")).ok())
        .find(|t| is_datetime_1d(t) && t.header.shape == [len])
}

/// The timestamps of `array`: the array `named` (which must be a 1-D datetime64 array as
/// long as `array`), else its group's timestamps ([`timestamps_of`]), if any.
///
/// # Errors
/// [`StoreError`] when `named` cannot be read, and a sentence (a 422) when it cannot be
/// `array`'s timestamps.
pub fn timestamps_for(
    store: &Store,
    array: &StoredArray,
    named: Option<&str>,
) -> Result<Option<Arc<StoredArray>>, ApiError> {
    let Some(name) = named else {
        return Ok(timestamps_of(store, array));
    };
    crate::names::validate_name(name)?;
    let times = store.get(name)?;
    let len = array.header.shape.first().copied();
    if !is_datetime_1d(&times) || times.header.shape.first().copied() != len {
        return Err(ApiError::Unchartable(format!(
            "'{name}' cannot be the timestamps of '{}': timestamps are a 1-D datetime64 array as long as the series",
            array.name
        )));
    }
    Ok(Some(times))
}

/// The count of element `index` of a 1-D datetime64 array, read in its byte order (NaT is
/// `i64::MIN`); `None` past the end or for another dtype.
pub fn time_count(times: &StoredArray, index: u64) -> Option<i64> {
    let scalar = times.header.dtype.as_scalar()?;
    if scalar.kind != ScalarKind::DateTime {
        return None;
    }
    let at = usize::try_from(index).ok()?.checked_mul(8)?;
    let bytes: [u8; 8] = times.data.get(at..at + 8)?.try_into().ok()?;
    Some(match scalar.order {
        ByteOrder::Big => i64::from_be_bytes(bytes),
        _ => i64::from_le_bytes(bytes),
    })
}

/// Nanoseconds per count of a datetime64 unit; `None` for months and years (not fixed) and
/// units finer than a nanosecond.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::npy::Version;

    fn header(descr: &str, shape: &[u64]) -> NpyHeader {
        NpyHeader {
            version: Version::V1,
            dtype: DType::parse_descr(descr).unwrap(),
            fortran_order: false,
            shape: shape.to_vec(),
        }
    }

    #[test]
    fn the_chartable_rule() {
        for (descr, shape, ok) in [
            ("<f4", &[10][..], true),
            (">i2", &[10, 3], true),
            ("|b1", &[4], true),
            ("<M8[ns]", &[4], true),
            ("<m8[s]", &[4], true),
            ("<u8", &[], true),
            ("<f4", &[2, 2, 2], false),
            ("<c8", &[4], false),
            ("<f16", &[4], false),
            ("|S3", &[4], false),
        ] {
            assert_eq!(
                chartable(&header(descr, shape)).is_ok(),
                ok,
                "{descr} {shape:?}"
            );
        }
        let record = NpyHeader {
            dtype: DType::from_json(&serde_json::json!([["x", "<f4"]])).unwrap(),
            ..header("<f4", &[3])
        };
        assert!(chartable(&record).unwrap_err().contains("record"));
    }

    #[test]
    fn a_member_looks_for_its_own_timestamps_first() {
        assert_eq!(
            time_candidates("hk_bus_v"),
            ["t_hk_bus_v", "t_hk_bus", "t_hk", "t", "time", "timestamp"]
        );
        assert_eq!(
            time_candidates("rssi"),
            ["t_rssi", "t", "time", "timestamp"]
        );
        // Timestamps are not their own timestamps.
        assert_eq!(time_candidates("t"), ["t_t", "time", "timestamp"]);
        assert_eq!(time_candidates("_x"), ["t__x", "t", "time", "timestamp"]);
    }

    #[test]
    fn time_counts_read_in_either_byte_order() {
        let value: i64 = 1_700_000_000_123_456_789;
        for (descr, bytes) in [
            ("<M8[ns]", value.to_le_bytes()),
            (">M8[ns]", value.to_be_bytes()),
        ] {
            let array = StoredArray {
                name: "g/t".into(),
                header: header(descr, &[1]),
                data: bytes::Bytes::copy_from_slice(&bytes),
                etag: String::new(),
                source: crate::server::store::Source::Npy("g/t.npy".into()),
                filler: None,
                npy_header_memo: Default::default(),
            };
            // Exact to the nanosecond, which an f64 round trip is not at this magnitude.
            assert_eq!(time_count(&array, 0), Some(value), "{descr}");
            assert_eq!(time_count(&array, 1), None, "{descr}");
        }
    }
}
