//! The disk-cache encoding of a [`Pyramid`], so a server does not rebuild it on every start.
//!
//! ```text
//! offset 0   8 bytes   magic b"DLLODPYR"
//! offset 8   u32 LE    version = 1
//! offset 12  4 bytes   sample type, NumPy spelling padded with NUL: b"<f4\0" or b"<f8\0"
//! offset 16  u32 LE    BLOCK
//! offset 20  u32 LE    FANOUT
//! offset 24  u64 LE    len: samples covered
//! offset 32  u32 LE    L: number of levels (at least 1)
//! offset 36  u32 LE    0 (reserved)
//! offset 40  L × u64   node count of each level
//! then                 for each level, for each node: its minimum, then its maximum (samples LE)
//! last 8     u64 LE    checksum of every byte before it
//! ```
//!
//! Everything after the magic is derived from `len`, so the reader recomputes the level
//! table from the `len` the caller expects and checks the bytes against it before it
//! allocates anything: a cache over a series that has since grown or shrunk is refused as
//! stale. The checksum catches damaged bytes, and every node is then checked against its
//! children. What cannot be checked without the samples is whether level 0 matches them: key
//! the cache by the series' identity (file, size, modification time), not its length alone.

use super::kernels::{summarize_nodes, MAX, MIN};
use super::pyramid::{level_counts, Level, BLOCK, FANOUT};
use super::{LodError, Pyramid, Sample};

/// The eight bytes every cached pyramid starts with.
pub const PYRAMID_MAGIC: &[u8; 8] = b"DLLODPYR";
/// The only cache version so far.
pub const PYRAMID_VERSION: u32 = 1;
/// Magic, version, sample type, block, fan-out, len, level count, reserved.
const FIXED_LEN: usize = 40;
/// Bytes of the trailing checksum.
const CHECKSUM_LEN: usize = 8;

/// FNV-1a over little-endian 64-bit words (then the tail bytes), with a rotation for
/// diffusion. Every step is a bijection of the state, so any change to a single word is
/// always detected. Not a defence against deliberate forgery: the node checks are.
pub(super) fn checksum(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let (words, tail) = bytes.as_chunks::<8>();
    let mut hash = OFFSET;
    for word in words {
        hash = (hash ^ u64::from_le_bytes(*word))
            .wrapping_mul(PRIME)
            .rotate_left(23);
    }
    for &byte in tail {
        hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME).rotate_left(23);
    }
    hash ^ bytes.len() as u64
}

/// Reads the little-endian field of `N` bytes at `offset` of a buffer already known to be
/// long enough.
fn field<const N: usize>(bytes: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[offset..offset + N]);
    out
}

impl<T: Sample> Pyramid<T> {
    /// Serializes the pyramid for a disk cache (layout in the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let nodes: usize = self.levels.iter().map(|level| level.nodes.len()).sum();
        let mut out = Vec::with_capacity(
            FIXED_LEN + 8 * self.levels.len() + 2 * nodes * T::SIZE + CHECKSUM_LEN,
        );
        out.extend_from_slice(PYRAMID_MAGIC);
        out.extend_from_slice(&PYRAMID_VERSION.to_le_bytes());
        out.extend_from_slice(&T::DTYPE);
        out.extend_from_slice(&(BLOCK as u32).to_le_bytes());
        out.extend_from_slice(&(FANOUT as u32).to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&(self.levels.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for level in &self.levels {
            out.extend_from_slice(&(level.nodes.len() as u64).to_le_bytes());
        }
        for level in &self.levels {
            for &[lo, hi] in &level.nodes {
                lo.write_le(&mut out);
                hi.write_le(&mut out);
            }
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Loads a pyramid written by [`Pyramid::to_bytes`] for a series of `expected_len`
    /// samples, validating everything; hostile bytes give an error, never a panic or an
    /// allocation larger than `bytes`.
    ///
    /// # Errors
    /// [`LodError::CacheSize`] if too short for the fixed header, [`LodError::CacheBadMagic`],
    /// [`LodError::CacheVersion`], [`LodError::CacheSampleType`], [`LodError::CacheLayout`],
    /// [`LodError::CacheStale`] if it covers another length, [`LodError::CacheHeader`],
    /// [`LodError::CacheSize`] if the length disagrees with the header,
    /// [`LodError::CacheChecksum`], [`LodError::CacheInconsistent`].
    pub fn from_bytes(bytes: &[u8], expected_len: u64) -> Result<Pyramid<T>, LodError> {
        if bytes.len() < FIXED_LEN + CHECKSUM_LEN {
            return Err(LodError::CacheSize {
                expected: (FIXED_LEN + CHECKSUM_LEN) as u64,
                found: bytes.len(),
            });
        }
        if &field::<8>(bytes, 0) != PYRAMID_MAGIC {
            return Err(LodError::CacheBadMagic);
        }
        let version = u32::from_le_bytes(field(bytes, 8));
        if version != PYRAMID_VERSION {
            return Err(LodError::CacheVersion(version));
        }
        let dtype = field::<4>(bytes, 12);
        if dtype != T::DTYPE {
            let spell = |d: &[u8]| String::from_utf8_lossy(d).trim_end_matches('\0').to_owned();
            return Err(LodError::CacheSampleType {
                found: format!("{:?}", spell(&dtype)),
                expected: format!("{:?}", spell(&T::DTYPE)),
            });
        }
        let (block, fanout) = (
            u32::from_le_bytes(field(bytes, 16)),
            u32::from_le_bytes(field(bytes, 20)),
        );
        if (block as usize, fanout as usize) != (BLOCK, FANOUT) {
            return Err(LodError::CacheLayout {
                block,
                fanout,
                expected_block: BLOCK as u32,
                expected_fanout: FANOUT as u32,
            });
        }
        let len = u64::from_le_bytes(field(bytes, 24));
        if len != expected_len {
            return Err(LodError::CacheStale {
                cached: len,
                expected: expected_len,
            });
        }
        let counts = level_counts(len);
        let level_count = u32::from_le_bytes(field(bytes, 32));
        if level_count as usize != counts.len() {
            return Err(LodError::CacheHeader(
                "its number of levels does not match the number of samples",
            ));
        }
        if u32::from_le_bytes(field(bytes, 36)) != 0 {
            return Err(LodError::CacheHeader("its reserved field is not zero"));
        }
        let payload_start = FIXED_LEN + 8 * counts.len();
        // Checked: `len` is only bounded by the caller, and the product may not fit.
        let expected_size = counts
            .iter()
            .try_fold(0u64, |sum, &count| {
                count.checked_mul(2 * T::SIZE as u64)?.checked_add(sum)
            })
            .and_then(|nodes| nodes.checked_add((payload_start + CHECKSUM_LEN) as u64));
        if expected_size != Some(bytes.len() as u64) {
            return Err(LodError::CacheSize {
                expected: expected_size.unwrap_or(u64::MAX),
                found: bytes.len(),
            });
        }
        for (i, &count) in counts.iter().enumerate() {
            if u64::from_le_bytes(field(bytes, FIXED_LEN + 8 * i)) != count {
                return Err(LodError::CacheHeader(
                    "its level sizes do not match the number of samples",
                ));
            }
        }
        let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if checksum(body) != u64::from_le_bytes(field(sum, 0)) {
            return Err(LodError::CacheChecksum);
        }

        // Every count now fits in usize: all of them together fit in `bytes`.
        let mut levels = Vec::with_capacity(counts.len());
        let mut offset = payload_start;
        for &count in &counts {
            let size = count as usize * 2 * T::SIZE;
            let nodes = body[offset..offset + size]
                .chunks_exact(2 * T::SIZE)
                .filter_map(|pair| {
                    let (lo, hi) = pair.split_at(T::SIZE);
                    Some([T::read_le(lo)?, T::read_le(hi)?])
                })
                .collect();
            offset += size;
            levels.push(Level { nodes });
        }
        check_nodes(&levels)?;
        Ok(Pyramid { len, levels })
    }
}

/// Checks that every level-0 node is a valid pair and every other node the exact summary of
/// its children, so queries on a loaded pyramid always find what they descend to.
fn check_nodes<T: Sample>(levels: &[Level<T>]) -> Result<(), LodError> {
    let Some(base) = levels.first() else {
        return Err(LodError::CacheHeader("it has no level"));
    };
    for (node, &[lo, hi]) in base.nodes.iter().enumerate() {
        // Both NaN (an all-NaN block), or an ordered pair.
        if lo.is_nan() != hi.is_nan() || lo > hi {
            return Err(LodError::CacheInconsistent { level: 0, node });
        }
    }
    for (level, pair) in levels.windows(2).enumerate() {
        let (children, this) = (&pair[0].nodes, &pair[1].nodes);
        for (node, (stored, kids)) in this.iter().zip(children.chunks_exact(FANOUT)).enumerate() {
            let want = summarize_nodes(kids);
            if stored[MIN].to_bits_u64() != want[MIN].to_bits_u64()
                || stored[MAX].to_bits_u64() != want[MAX].to_bits_u64()
            {
                return Err(LodError::CacheInconsistent {
                    level: level + 1,
                    node,
                });
            }
        }
    }
    Ok(())
}
