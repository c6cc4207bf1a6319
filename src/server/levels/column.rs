//! One column of a charted array, read in place from the memory map in its own dtype and
//! byte order (no converted copy), with its min/max pyramid once built.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use half::f16;

use crate::lod::{m4_scan, Count, LodError, M4Bin, Pyramid, Sample, Truth, View};
use crate::wire::dtype::{ScalarKind, ScalarType};

/// Where a column's samples lie in the array's data bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Byte offset of sample 0.
    pub offset: usize,
    /// Bytes from one sample to the next (the row size for a column of a C-order array).
    pub stride: usize,
    /// Number of samples.
    pub len: usize,
    /// Stored in the other byte order than the machine's.
    pub swap: bool,
}

impl Layout {
    /// Column `column` of an array of `shape` (0-d, 1-D or 2-D) with `itemsize`-byte
    /// elements in the given memory order.
    pub fn of_column(
        shape: &[u64],
        fortran: bool,
        itemsize: usize,
        column: usize,
        swap: bool,
    ) -> Layout {
        let (len, width) = match shape {
            [] => (1, 1),
            [n] => (*n as usize, 1),
            [n, c, ..] => (*n as usize, *c as usize),
        };
        let (offset, stride) = if fortran {
            (column * len * itemsize, itemsize)
        } else {
            (column * itemsize, width * itemsize)
        };
        Layout {
            offset,
            stride,
            len,
            swap,
        }
    }
}

/// The level of detail of one column, whatever its sample type.
pub trait ColumnLod: Send + Sync + fmt::Debug {
    /// Number of samples.
    fn len(&self) -> u64;
    /// Whether the column has no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether the pyramid is ready (else queries scan).
    fn is_indexed(&self) -> bool;
    /// The M4 bins of `[start, stop)`.
    ///
    /// # Errors
    /// As [`Pyramid::m4`].
    fn m4(&self, start: u64, stop: u64, bins: usize) -> Result<Vec<M4Bin>, LodError>;
    /// The M4 bins of the non-empty sample ranges `[a, b)`, in order.
    ///
    /// # Errors
    /// As [`Pyramid::m4_ranges`].
    fn m4_ranges(&self, ranges: &[(usize, usize)]) -> Result<Vec<M4Bin>, LodError>;
    /// Build the pyramid, or load it from `cache` (blocking, O(N)), if not done yet.
    fn index(&self, cache: Option<&Path>);
    /// The same column grown by an append, now at `layout` in `data`, its pyramid (if any)
    /// extended by the new samples only.
    fn grown(self: Box<Self>, data: Bytes, layout: Layout) -> Option<Box<dyn ColumnLod>>;
    /// Bytes of memory the pyramid holds (0 before it is built).
    fn pyramid_bytes(&self) -> usize;
    /// Bytes of the samples (what a build reads).
    fn sample_bytes(&self) -> u64;
}

/// A column of samples of type `T`.
struct Typed<T: Sample> {
    data: Bytes,
    layout: Layout,
    pyramid: OnceLock<Pyramid<T>>,
}

impl<T: Sample> fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("dtype", &String::from_utf8_lossy(&T::DTYPE))
            .field("layout", &self.layout)
            .field("indexed", &self.pyramid.get().is_some())
            .finish()
    }
}

impl<T: Sample> Typed<T> {
    /// The column, if `data` holds all of it.
    fn new(data: Bytes, layout: Layout) -> Option<Typed<T>> {
        let column = Typed {
            data,
            layout,
            pyramid: OnceLock::new(),
        };
        column.try_view()?;
        Some(column)
    }

    fn try_view(&self) -> Option<View<'_, T>> {
        let Layout {
            offset,
            stride,
            len,
            swap,
        } = self.layout;
        View::new(self.data.get(offset..)?, len, stride, swap)
    }

    /// The samples (checked when the column was made, so never the empty fallback).
    fn view(&self) -> View<'_, T> {
        self.try_view().unwrap_or(View::Slice(&[]))
    }
}

impl<T: Sample> ColumnLod for Typed<T> {
    fn len(&self) -> u64 {
        self.layout.len as u64
    }

    fn is_indexed(&self) -> bool {
        self.pyramid.get().is_some()
    }

    fn m4(&self, start: u64, stop: u64, bins: usize) -> Result<Vec<M4Bin>, LodError> {
        let view = self.view();
        match self.pyramid.get() {
            Some(pyramid) => pyramid.m4(&view, start, stop, bins),
            None => m4_scan(&view, start, stop, bins),
        }
    }

    fn m4_ranges(&self, ranges: &[(usize, usize)]) -> Result<Vec<M4Bin>, LodError> {
        let view = self.view();
        match self.pyramid.get() {
            Some(pyramid) => pyramid.m4_ranges(&view, ranges),
            None => crate::lod::m4_scan_ranges(&view, ranges),
        }
    }

    fn index(&self, cache: Option<&Path>) {
        if self.is_indexed() {
            return;
        }
        let _ = self.pyramid.set(load_or_build(&self.view(), cache));
    }

    fn grown(self: Box<Self>, data: Bytes, layout: Layout) -> Option<Box<dyn ColumnLod>> {
        let pyramid = self.pyramid.into_inner();
        let next = Typed::<T>::new(data, layout)?;
        if let Some(mut pyramid) = pyramid {
            pyramid.extend(&next.view());
            let _ = next.pyramid.set(pyramid);
        }
        Some(Box::new(next))
    }

    fn pyramid_bytes(&self) -> usize {
        self.pyramid.get().map_or(0, Pyramid::memory_bytes)
    }

    fn sample_bytes(&self) -> u64 {
        (self.layout.len * T::SIZE) as u64
    }
}

/// The pyramid of `samples`: loaded from `cache` if it holds a valid one, else built (and
/// written there, through a temporary file and a rename).
fn load_or_build<T: Sample>(samples: &View<'_, T>, cache: Option<&Path>) -> Pyramid<T> {
    use crate::lod::Series;
    if let Some(path) = cache {
        if let Ok(bytes) = std::fs::read(path) {
            match Pyramid::from_bytes(&bytes, samples.len() as u64) {
                Ok(pyramid) => return pyramid,
                Err(err) => tracing::warn!(path = %path.display(), "rebuilding LOD cache: {err}"),
            }
        }
    }
    let started = Instant::now();
    let pyramid = Pyramid::build(samples);
    let seconds = started.elapsed().as_secs_f64();
    let bytes = (samples.len() * T::SIZE) as f64;
    tracing::info!(
        samples = samples.len(),
        dtype = %String::from_utf8_lossy(&T::DTYPE).trim_end_matches('\0'),
        ms = format!("{:.1}", seconds * 1e3),
        gb_per_s = format!("{:.2}", bytes / seconds.max(1e-9) / 1e9),
        "built a LOD pyramid"
    );
    if let Some(path) = cache {
        if let Err(err) = write_cache(path, &pyramid.to_bytes()) {
            tracing::warn!(path = %path.display(), "cannot write LOD cache: {err}");
        }
    }
    pyramid
}

/// Write through a temporary file and rename, so a crash never leaves a torn cache.
fn write_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(tmp, path)
}

/// The column of `data` at `layout` as samples of `scalar` (a dtype
/// [`ScalarType::is_numeric`] accepts); `None` for another dtype or data too short.
pub fn typed_column(
    scalar: &ScalarType,
    data: Bytes,
    layout: Layout,
) -> Option<Box<dyn ColumnLod>> {
    fn make<T: Sample>(data: Bytes, layout: Layout) -> Option<Box<dyn ColumnLod>> {
        Some(Box::new(Typed::<T>::new(data, layout)?))
    }
    match (scalar.kind, scalar.size) {
        (ScalarKind::Float, 2) => make::<f16>(data, layout),
        (ScalarKind::Float, 4) => make::<f32>(data, layout),
        (ScalarKind::Float, 8) => make::<f64>(data, layout),
        (ScalarKind::Int, 1) => make::<i8>(data, layout),
        (ScalarKind::Int, 2) => make::<i16>(data, layout),
        (ScalarKind::Int, 4) => make::<i32>(data, layout),
        (ScalarKind::Int, 8) => make::<i64>(data, layout),
        (ScalarKind::UInt, 1) => make::<u8>(data, layout),
        (ScalarKind::UInt, 2) => make::<u16>(data, layout),
        (ScalarKind::UInt, 4) => make::<u32>(data, layout),
        (ScalarKind::UInt, 8) => make::<u64>(data, layout),
        (ScalarKind::Bool, 1) => make::<Truth>(data, layout),
        (ScalarKind::DateTime | ScalarKind::TimeDelta, 8) => make::<Count>(data, layout),
        _ => None,
    }
}
