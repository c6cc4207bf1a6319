//! Everything that can be wrong with bytes that claim to be an array.
//!
//! The messages end up in HTTP responses, so each one is a whole sentence that names the
//! offending value and, where it helps, the limit it broke; none of them leak server paths.

/// A reason why an `.npy` document, a dtype, a conversion or a bundle was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The first six bytes are not `\x93NUMPY`.
    #[error("the data is not a .npy file: it does not start with the magic string \\x93NUMPY")]
    BadMagic,
    /// The format version bytes name a version this reader does not know.
    #[error(
        "the .npy format version {major}.{minor} is not supported (only 1.0, 2.0 and 3.0 are)"
    )]
    UnsupportedVersion {
        /// First version byte.
        major: u8,
        /// Second version byte.
        minor: u8,
    },
    /// The document ends before the magic, the length field or the header text is complete.
    #[error(
        "the .npy header is truncated: it needs {needed} bytes but only {available} are present"
    )]
    HeaderTruncated {
        /// Bytes the header claims, counted from the start of the document.
        needed: u64,
        /// Bytes actually present.
        available: usize,
    },
    /// The header length field is larger than Downlink (and NumPy by default) accepts.
    #[error("the .npy header is {len} bytes long, over the limit of {limit} bytes")]
    HeaderTooLong {
        /// Length the header claims.
        len: u64,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A version 3.0 header whose text is not UTF-8.
    #[error("the .npy header is not valid UTF-8 text (first bad byte at offset {position} of the header)")]
    HeaderNotUtf8 {
        /// Byte offset of the first invalid sequence within the header text.
        position: usize,
    },
    /// The header text is not a Python literal of the subset NumPy writes.
    #[error("the header has a syntax error at byte {position}: {message}")]
    HeaderSyntax {
        /// Byte offset within the header text.
        position: usize,
        /// What was expected or found there.
        message: &'static str,
    },
    /// Brackets nest deeper than the parser allows.
    #[error("the header nests brackets more than {limit} levels deep (at byte {position})")]
    HeaderTooDeep {
        /// Byte offset of the bracket that went too deep.
        position: usize,
        /// The nesting limit.
        limit: usize,
    },
    /// The header literal is valid but is not a dict.
    #[error("the .npy header must be a Python dict, but it is {found}")]
    HeaderNotDict {
        /// What it was instead ("a list", "a string", ...).
        found: &'static str,
    },
    /// One of `descr`, `fortran_order`, `shape` is missing.
    #[error("the .npy header has no '{0}' key")]
    MissingKey(&'static str),
    /// A key other than `descr`, `fortran_order`, `shape`.
    #[error("the .npy header has an unexpected key {0}")]
    ExtraKey(String),
    /// The same key appears twice.
    #[error("the .npy header has the key '{0}' twice")]
    DuplicateKey(String),
    /// A header key holds a value of the wrong type.
    #[error("the .npy header's '{key}' must be {expected}")]
    BadHeaderValue {
        /// The key whose value is wrong.
        key: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
    /// A type string or record description Downlink cannot interpret.
    #[error("the dtype {descr} is not supported: {reason}")]
    BadDescr {
        /// The offending spelling, quoted as given.
        descr: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An `O` (Python object) dtype anywhere in the description.
    #[error("object arrays need pickle, which Downlink refuses")]
    ObjectDtype,
    /// A record field with a `(title, name)` pair instead of a plain name.
    #[error("the record field {0} has a title, which Downlink does not support")]
    FieldTitle(String),
    /// Two record fields share a name.
    #[error("the record has two fields named '{0}'")]
    DuplicateField(String),
    /// A negative entry in a shape.
    #[error("dimension {index} of the shape is negative ({value})")]
    NegativeDimension {
        /// Position in the shape.
        index: usize,
        /// The value found.
        value: i128,
    },
    /// The element count or byte length of a shape does not fit in 64 bits (or in memory).
    #[error(
        "the shape {shape:?} with {itemsize}-byte items describes more bytes than can be addressed"
    )]
    ShapeOverflow {
        /// The shape, as far as it could be read.
        shape: Vec<u64>,
        /// Item size in bytes.
        itemsize: u64,
    },
    /// A dtype whose item size is larger than Downlink accepts.
    #[error("the dtype's item size is over the limit of {limit} bytes")]
    ItemsizeTooLarge {
        /// The limit.
        limit: usize,
    },
    /// Fewer data bytes than the header promises.
    #[error("the array data is truncated: expected {expected} bytes, found {found}")]
    DataTruncated {
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        found: usize,
    },
    /// More data bytes than the header promises, where that is not allowed.
    #[error("the array data has trailing bytes: expected {expected} bytes, found {found}")]
    TrailingBytes {
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        found: usize,
    },
    /// A buffer handed to a writer or converter has the wrong length for its shape or dtype.
    #[error("the buffer has {found} bytes but {expected} were expected")]
    LengthMismatch {
        /// Bytes needed.
        expected: u64,
        /// Bytes given.
        found: usize,
    },
    /// A buffer whose length is not a whole number of elements.
    #[error("the buffer of {len} bytes is not a whole number of {itemsize}-byte elements")]
    RaggedBuffer {
        /// Buffer length in bytes.
        len: usize,
        /// Element size in bytes.
        itemsize: usize,
    },
    /// The pair of dtypes has no conversion.
    #[error("unsupported conversion from {from} to {to}")]
    UnsupportedConversion {
        /// Source dtype spelling.
        from: String,
        /// Target dtype spelling.
        to: String,
    },
    /// The body does not start with `DLBUNDLE`.
    #[error("the data is not a Downlink bundle: it does not start with the magic string DLBUNDLE")]
    BadBundleMagic,
    /// A bundle version other than 1.
    #[error("the bundle format version {0} is not supported (only version 1 is)")]
    UnsupportedBundleVersion(u32),
    /// The bundle is too short for its fixed prefix or its JSON header.
    #[error("the bundle is truncated: it needs {needed} bytes but only {available} are present")]
    BundleTruncated {
        /// Bytes the bundle needs.
        needed: u64,
        /// Bytes present.
        available: usize,
    },
    /// An `.npz` archive that cannot be read in the browser.
    #[error("not a readable .npz: {0}")]
    BadNpz(String),
    /// The bundle's JSON header is not the expected JSON.
    #[error("the bundle header is not valid: {0}")]
    BadBundleHeader(String),
    /// One array entry of a bundle is inconsistent.
    #[error("bundle array {index} ('{name}') is not valid: {reason}")]
    BadBundleEntry {
        /// Position of the entry in the header.
        index: usize,
        /// Its name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}
