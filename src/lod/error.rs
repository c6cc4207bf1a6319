//! Everything that can be wrong with a level-of-detail query or a cached pyramid.
//!
//! The query messages may reach HTTP responses, so each is a whole sentence naming the
//! offending value and the limit it broke.

/// A reason why a query was refused or cached pyramid bytes were rejected.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LodError {
    /// Zero bins were asked for.
    #[error("the number of bins must be at least 1, but 0 were asked for")]
    ZeroBins,
    /// More bins than [`MAX_BINS`](super::MAX_BINS) were asked for.
    #[error("{bins} bins were asked for, over the limit of {limit}")]
    TooManyBins {
        /// Bins asked for.
        bins: usize,
        /// The limit.
        limit: usize,
    },
    /// The window's start is after its stop.
    #[error("the window starts at sample {start}, after its end at sample {stop}")]
    ReversedWindow {
        /// First sample index asked for.
        start: u64,
        /// One past the last sample index asked for.
        stop: u64,
    },
    /// The window ends past the end of the series.
    #[error("the window ends at sample {stop}, past the end of the series of {len} samples")]
    WindowOutOfRange {
        /// One past the last sample index asked for.
        stop: u64,
        /// Samples in the series.
        len: u64,
    },
    /// The samples handed to a pyramid query are not the series the pyramid covers.
    #[error("the pyramid covers {pyramid} samples but the series given has {samples}")]
    LengthMismatch {
        /// Samples the pyramid covers.
        pyramid: u64,
        /// Samples given.
        samples: u64,
    },
    /// Cached bytes that do not start with the pyramid magic.
    #[error("the data is not a cached pyramid: it does not start with the magic string DLLODPYR")]
    CacheBadMagic,
    /// A cache format version this reader does not know.
    #[error("the cached pyramid format version {0} is not supported (only version 1 is)")]
    CacheVersion(u32),
    /// A cache of another sample type (an `f4` cache read as `f8`, say).
    #[error("the cached pyramid holds {found} samples, not {expected}")]
    CacheSampleType {
        /// The type string in the cache.
        found: String,
        /// The type string asked for.
        expected: String,
    },
    /// A cache built with another block size or fan-out.
    #[error(
        "the cached pyramid uses blocks of {block} and fan-out {fanout}, not {expected_block} and {expected_fanout}"
    )]
    CacheLayout {
        /// Block size in the cache.
        block: u32,
        /// Fan-out in the cache.
        fanout: u32,
        /// This build's block size.
        expected_block: u32,
        /// This build's fan-out.
        expected_fanout: u32,
    },
    /// A cache built over a series of another length: the series changed since.
    #[error("the cached pyramid covers {cached} samples but the series has {expected}: the cache is stale")]
    CacheStale {
        /// Samples the cache covers.
        cached: u64,
        /// Samples the series has now.
        expected: u64,
    },
    /// The cache header's level table disagrees with its length.
    #[error("the cached pyramid's header is not valid: {0}")]
    CacheHeader(&'static str),
    /// The cache is shorter or longer than its header implies.
    #[error("the cached pyramid is {found} bytes long but its header implies {expected}")]
    CacheSize {
        /// Bytes the header implies (or the fixed header's length, if even that is missing).
        expected: u64,
        /// Bytes present.
        found: usize,
    },
    /// The checksum does not match the bytes.
    #[error("the cached pyramid's checksum does not match its contents: the bytes are corrupt")]
    CacheChecksum,
    /// A node whose extremes are not those of its children (or not a valid pair).
    #[error("the cached pyramid is inconsistent at node {node} of level {level}")]
    CacheInconsistent {
        /// Level of the node (0 summarises raw blocks).
        level: usize,
        /// Index of the node within its level.
        node: usize,
    },
}
