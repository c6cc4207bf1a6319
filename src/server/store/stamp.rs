//! The identity of one file version, and the hash that turns it into an ETag.

use std::time::UNIX_EPOCH;

/// Identity of one version of a file: any write that Downlink or another program makes
/// changes at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileStamp {
    len: u64,
    modified_ns: i128,
    inode: u64,
}

impl FileStamp {
    pub(super) fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        FileStamp {
            len: meta.len(),
            modified_ns,
            inode: meta.ino(),
        }
    }

    /// The identity of an object in a bucket: its size and its ETag (no modification
    /// time: a listing and a HEAD give it at different precisions, and every replica must
    /// derive the same validators).
    pub(super) fn of_object(size: u64, e_tag: &str) -> FileStamp {
        let mut h = Fnv64::new();
        h.write(e_tag.as_bytes());
        FileStamp {
            len: size,
            modified_ns: 0,
            inode: h.finish(),
        }
    }

    /// A short strong validator for this file version plus a member name.
    pub(super) fn etag(&self, member: &str) -> String {
        let mut h = Fnv64::new();
        h.write(&self.len.to_le_bytes());
        h.write(&self.modified_ns.to_le_bytes());
        h.write(&self.inode.to_le_bytes());
        h.write(member.as_bytes());
        format!("{:016x}", h.finish())
    }
}

/// FNV-1a, 64 bit: a tiny stable hash for validators (not for security).
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Fnv64 {
    /// A hasher at FNV's offset basis.
    pub fn new() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    /// Mix `bytes` into the hash.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64::new()
    }
}
