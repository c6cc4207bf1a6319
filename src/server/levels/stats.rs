//! Statistics of a window of an array's columns (`/api/stats`): count, NaN count, min and
//! max with their indices, mean, RMS and standard deviation, exact from the samples. With
//! the pyramid and moment tree built, a window of any width costs microseconds.

use super::answer::Window;
use super::{Levels, LevelsCache, LevelsError};
pub use crate::catalog::stats::{StatsAnswer, WindowStats};
use crate::server::store::StoredArray;

impl LevelsCache {
    /// The statistics of `window` of `array` (every column, or `column` alone); a time
    /// window is resolved by `times`, as for [`LevelsCache::answer`].
    ///
    /// # Errors
    /// As [`LevelsCache::answer`].
    pub fn stats(
        &self,
        array: &StoredArray,
        times: Option<&StoredArray>,
        window: Window,
        column: Option<u64>,
    ) -> Result<StatsAnswer, LevelsError> {
        let levels = self.get(array)?;
        let columns = columns_asked(&levels, column)?;
        let (start, stop) = self.sample_range(&levels, array, times, window)?;
        let _scan = self.admit_measure(&levels, &columns, stop - start)?;
        let columns = columns
            .iter()
            .map(|&c| {
                let mut stats = levels.columns[c].stats(start, stop)?;
                stats.column = c as u64;
                Ok(stats)
            })
            .collect::<Result<Vec<_>, LevelsError>>()?;
        Ok(StatsAnswer {
            window: [start, stop],
            columns,
        })
    }
}

/// The columns a query asks for: all, or `column` if the array has it.
pub(super) fn columns_asked(
    levels: &Levels,
    column: Option<u64>,
) -> Result<Vec<usize>, LevelsError> {
    let width = levels.columns.len();
    match column {
        None => Ok((0..width).collect()),
        Some(c) if (c as usize) < width => Ok(vec![c as usize]),
        Some(c) => Err(LevelsError::Window(format!(
            "column={c} is out of range: the array has {width} columns"
        ))),
    }
}
