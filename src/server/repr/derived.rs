//! Bytes computed from a stored array while they are sent: the rows a strided slice picks,
//! Fortran-order data reordered into C order, elements converted to another dtype, or any
//! of these together.
//!
//! A [`Derived`] is only a description; [`Derived::fill`] computes any byte range of it on
//! demand, reading the memory map. A response body asks for one chunk at a time as the
//! socket takes it, so a request holds O(chunk) memory whatever the array's size, its
//! first byte goes out at once, and a `Range` computes only the bytes it asks for.

use bytes::Bytes;

use super::Resolved;
use crate::wire::convert::convert_into;
use crate::wire::dtype::ScalarType;

/// Bytes a response body computes at a time (whole elements, at most this).
pub const CHUNK: usize = 1 << 20;

/// A representation's data, computed on demand from a stored array's bytes.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The stored array's data (a slice of the map).
    source: Bytes,
    /// Its shape as stored.
    shape: Vec<u64>,
    /// Whether it is stored in Fortran order (then the output is in C order).
    fortran: bool,
    /// Bytes per stored element.
    itemsize: usize,
    /// The rows of axis 0 the output holds.
    rows: Resolved,
    /// The conversion of each element, if any: from the stored dtype to the output's.
    convert: Option<(ScalarType, ScalarType)>,
    /// In Fortran order, the stride (in elements) of each axis after the first.
    strides: Vec<u64>,
}

impl Derived {
    /// The output of `rows` of a stored array (`source`, of `shape`, in Fortran order when
    /// `fortran`, `itemsize` bytes an element), in C order, each element converted by
    /// `convert`. The caller has checked that `source` holds the shape's bytes and that the
    /// conversion is supported.
    pub fn new(
        source: Bytes,
        shape: Vec<u64>,
        fortran: bool,
        itemsize: usize,
        rows: Resolved,
        convert: Option<(ScalarType, ScalarType)>,
    ) -> Derived {
        // Axis 0 varies fastest in Fortran order: each axis' stride is the product of the
        // axes before it.
        let strides = shape
            .iter()
            .scan(1u64, |stride, &d| {
                let this = *stride;
                *stride *= d;
                Some(this)
            })
            .skip(1)
            .collect();
        Derived {
            source,
            shape,
            fortran,
            itemsize,
            rows,
            convert,
            strides,
        }
    }

    /// Elements per row (the product of the shape after axis 0; 1 for 1-D).
    fn row_elements(&self) -> u64 {
        self.shape[1..].iter().product()
    }

    /// Bytes per output element.
    pub fn out_itemsize(&self) -> usize {
        self.convert
            .as_ref()
            .map_or(self.itemsize, |(_, to)| to.size)
    }

    /// Output elements.
    pub fn elements(&self) -> u64 {
        self.rows.count * self.row_elements()
    }

    /// Output bytes.
    pub fn len(&self) -> u64 {
        self.elements() * self.out_itemsize() as u64
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stored element that output element `e` is.
    fn source_element(&self, e: u64) -> u64 {
        let per_row = self.row_elements();
        let (row, within) = (e / per_row, e % per_row);
        let stored_row = (self.rows.start + row as i64 * self.rows.step) as u64;
        if !self.fortran {
            return stored_row * per_row + within;
        }
        // The C-order index `within` over shape[1..], as a Fortran offset.
        let mut offset = stored_row;
        let mut rest = within;
        for (&d, &stride) in self.shape[1..].iter().zip(&self.strides).rev() {
            offset += (rest % d) * stride;
            rest /= d;
        }
        offset
    }

    /// Append output bytes `[from, to)` to `out` (`to` at most [`Derived::len`]).
    pub fn fill(&self, from: u64, to: u64, out: &mut Vec<u8>) {
        let out_item = self.out_itemsize() as u64;
        let (first, last) = (from / out_item, to.div_ceil(out_item));
        let start = out.len();
        if self.fortran {
            // Elements one by one, gathered, then converted at once.
            let mut gathered = Vec::with_capacity((last - first) as usize * self.itemsize);
            for e in first..last {
                gathered.extend_from_slice(self.stored(self.source_element(e), 1));
            }
            self.emit(&gathered, out);
        } else {
            // Runs of whole rows (all of them when the rows are contiguous), each converted
            // straight from the map.
            let per_row = self.row_elements();
            let mut e = first;
            while e < last {
                let run = if self.rows.step == 1 {
                    last - e
                } else {
                    (per_row - e % per_row).min(last - e)
                };
                self.emit(self.stored(self.source_element(e), run), out);
                e += run;
            }
        }
        // Trim the partial elements at the ends of the byte range.
        let head = (from - first * out_item) as usize;
        let tail = ((last - first) * out_item - (to - first * out_item)) as usize;
        out.truncate(out.len() - tail);
        out.drain(start..start + head);
    }

    /// `count` stored elements from element `at`, as bytes of the map.
    fn stored(&self, at: u64, count: u64) -> &[u8] {
        let item = self.itemsize as u64;
        &self.source[(at * item) as usize..((at + count) * item) as usize]
    }

    /// Append stored elements to `out`, converted if asked.
    fn emit(&self, elements: &[u8], out: &mut Vec<u8>) {
        match &self.convert {
            None => out.extend_from_slice(elements),
            Some((from_type, to_type)) => {
                let at = out.len();
                out.resize(at + elements.len() / self.itemsize * to_type.size, 0);
                // Whole elements of a supported pair (checked by the caller) never fail.
                let _ = convert_into(elements, from_type, to_type, &mut out[at..]);
            }
        }
    }

    /// Output bytes `[from, to)` as one buffer.
    pub fn bytes(&self, from: u64, to: u64) -> Bytes {
        let mut out = Vec::with_capacity((to - from) as usize);
        self.fill(from, to, &mut out);
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::convert::{convert, fortran_to_c};

    fn rows(start: i64, step: i64, count: u64) -> Resolved {
        Resolved { start, step, count }
    }

    /// The whole output computed the slow, obvious way: reorder, take rows, convert.
    fn reference(d: &Derived) -> Vec<u8> {
        let item = d.itemsize;
        let c = if d.fortran {
            fortran_to_c(&d.source, &d.shape, item)
        } else {
            d.source.to_vec()
        };
        let row = d.shape[1..].iter().product::<u64>() as usize * item;
        let mut picked = Vec::new();
        for r in 0..d.rows.count as i64 {
            let at = (d.rows.start + r * d.rows.step) as usize * row;
            picked.extend_from_slice(&c[at..at + row]);
        }
        match &d.convert {
            Some((from, to)) => convert(&picked, from, to).unwrap(),
            None => picked,
        }
    }

    #[test]
    fn every_byte_range_matches_the_whole_computed_at_once() {
        let scalar = |descr: &str| {
            crate::wire::dtype::DType::parse_descr(descr)
                .unwrap()
                .as_scalar()
                .unwrap()
                .clone()
        };
        let (f4, swapped, f8) = (scalar("<f4"), scalar(">f4"), scalar("<f8"));
        let values: Vec<u8> = (0..24).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let source = Bytes::from(values);
        for (shape, fortran) in [
            (vec![24], false),
            (vec![6, 4], false),
            (vec![6, 4], true),
            (vec![2, 3, 4], true),
        ] {
            for r in [
                rows(0, 1, shape[0]),
                rows(1, 2, shape[0] / 2),
                rows(shape[0] as i64 - 1, -1, shape[0]),
            ] {
                for convert in [
                    None,
                    Some((f4.clone(), f8.clone())),
                    Some((f4.clone(), swapped.clone())),
                ] {
                    let d = Derived::new(source.clone(), shape.clone(), fortran, 4, r, convert);
                    let whole = reference(&d);
                    assert_eq!(d.len(), whole.len() as u64);
                    for from in 0..whole.len() as u64 {
                        for to in [from, from + 1, from + 7, whole.len() as u64] {
                            let to = to.min(whole.len() as u64);
                            assert_eq!(
                                d.bytes(from, to),
                                whole[from as usize..to as usize],
                                "{shape:?} F={fortran} {r:?} [{from}, {to})"
                            );
                        }
                    }
                }
            }
        }
    }
}
