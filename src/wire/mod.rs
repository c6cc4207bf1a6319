//! The array wire format: NumPy `.npy` documents, dtypes, bulk conversions and the
//! Downlink bundle. Compiles natively and to wasm32 with no `cfg` inside.
//!
//! Both the server and the browser read these bytes, and most of them come from clients
//! nobody vetted. The module is written by hand rather than on `npyz` or `ndarray-npy`.
//! Those crates do cover what we need (datetime units, records), but npyz parses headers
//! through the `py_literal` crate, allocates from the length a header claims before the bytes
//! are there, and reads elements one by one through dynamic readers; ndarray-npy brings
//! ndarray and has no datetimes. Here every length derived from untrusted input is checked
//! and bounded by the bytes actually present before anything is allocated, arrays are viewed
//! in place, and conversions run one monomorphized loop per dtype pair. The Python-literal
//! parser ([`pyliteral`]) is ours for the same reason: it refuses what `ast.literal_eval`
//! refuses (NUL bytes, deep nesting) with positions, and allocates only what it has parsed.
//!
//! - [`dtype`]: scalar and record dtypes and their three spellings (npy literal, plain
//!   string, JSON).
//! - [`pyliteral`]: the Python literal subset `.npy` headers are written in.
//! - [`npy`]: the `.npy` header and whole documents, read and written as NumPy does.
//! - [`convert`](mod@convert): byte-order swaps, numeric casts and `f64` decoding.
//! - [`format`]: elements as NumPy prints them.
//! - [`bundle`]: several arrays in one body, each 64-byte aligned.
//! - [`npz`]: the stored members of an `.npz`, for the browser's uploads.

pub mod bundle;
pub mod convert;
pub mod dtype;
mod error;
pub mod format;
pub mod npy;
pub mod npz;
pub mod pyliteral;

pub use bundle::{
    bundle_header_len, bundle_layout, bundle_spans, decode_bundle, encode_bundle, BundleEntry,
    BundleItem, BundleLayout, BundleSpan, BUNDLE_MAGIC,
};
pub use convert::{can_convert, convert, convert_into, to_f64_vec};
pub use dtype::{ByteOrder, DType, Field, ScalarKind, ScalarType, TimeUnit};
pub use error::WireError;
pub use format::format_elements;
pub use npy::{parse_npy, write_npy, NpyHeader, NpyView, Trailing, Version};
pub use pyliteral::PyValue;
