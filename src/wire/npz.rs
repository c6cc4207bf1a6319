//! `.npz` archives in the browser, where the `zip` crate is not compiled in: reading the
//! members of uploads, and writing exports.
//!
//! Only what `numpy.savez` writes is read: members stored without compression (method 0),
//! found through the central directory, ZIP64 sizes included. Compressed members
//! (`numpy.savez_compressed`) are refused with a clear error; the server reads both kinds.
//! Every offset and length comes from untrusted bytes and is checked against the buffer.
//!
//! [`write_npz`] writes stored members, each member's data on a 64-byte boundary of the
//! file (as the demo's archives are), so a saved export dropped into a data directory is
//! served straight from its memory map.

use crate::wire::WireError;

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const ZIP64_EXTRA_ID: u16 = 0x0001;
/// The end-of-central-directory record is 22 bytes plus a comment of up to 65,535.
const MAX_EOCD_SEARCH: usize = 22 + 65_535;

/// One member of an archive: its file name and its stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpzMember<'a> {
    /// The member's file name, e.g. `x.npy`.
    pub name: String,
    /// The member's bytes (an `.npy` document for NumPy's archives).
    pub data: &'a [u8],
}

/// Every member's data starts on a multiple of this many bytes of the archive.
const MEMBER_ALIGN: usize = 64;
/// The extra field that pads a local header to the alignment (an unassigned id readers skip).
const PADDING_EXTRA_ID: u16 = 0xD935;
/// Version 2.0 of the zip format: stored members, no ZIP64.
const ZIP_VERSION: u16 = 20;
/// 1980-01-01, the earliest date a zip can hold (exports carry no file dates).
const DOS_DATE: u16 = (1 << 5) | 1;

/// An archive of `members` (file name, bytes), stored without compression, each member's
/// data aligned to 64 bytes: what `numpy.load` opens as an `.npz` when the bytes are `.npy`
/// documents named `*.npy`.
///
/// # Errors
/// [`WireError::BadNpz`] when the archive would need ZIP64 (a member or the whole over
/// 4 GiB, or more than 65,535 members), or a name is longer than 65,535 bytes.
pub fn write_npz(members: &[(String, Vec<u8>)]) -> Result<Vec<u8>, WireError> {
    let too_big = || bad("the export is too big for a zip without ZIP64 (4 GiB)");
    let u32_of = |n: usize| u32::try_from(n).map_err(|_| too_big());
    let u16_of = |n: usize| u16::try_from(n).map_err(|_| bad("a name or count is too long"));
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let local = u32_of(out.len())?;
        let (name_len, size, crc) = (u16_of(name.len())?, u32_of(data.len())?, crc(data));
        // The data follows 30 bytes of header, the name and the padding's 4-byte header.
        let unpadded = out.len() + 30 + name.len() + 4;
        let padding = (MEMBER_ALIGN - unpadded % MEMBER_ALIGN) % MEMBER_ALIGN;
        let fixed = |out: &mut Vec<u8>| {
            // Flags, method (stored), time, date.
            for half in [0, 0, 0, DOS_DATE] {
                out.extend_from_slice(&half.to_le_bytes());
            }
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&name_len.to_le_bytes());
        };
        out.extend_from_slice(&LOCAL_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&ZIP_VERSION.to_le_bytes());
        fixed(&mut out);
        out.extend_from_slice(&u16_of(4 + padding)?.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&PADDING_EXTRA_ID.to_le_bytes());
        out.extend_from_slice(&u16_of(padding)?.to_le_bytes());
        out.resize(out.len() + padding, 0);
        out.extend_from_slice(data);

        central.extend_from_slice(&CENTRAL_SIGNATURE.to_le_bytes());
        central.extend_from_slice(&ZIP_VERSION.to_le_bytes()); // made by
        central.extend_from_slice(&ZIP_VERSION.to_le_bytes()); // needed
        fixed(&mut central);
        // No extra field or comment; disk 0; no attributes.
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&local.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let directory = u32_of(out.len())?;
    let count = u16_of(members.len())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&EOCD_SIGNATURE.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // this disk, the directory's disk
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&u32_of(central.len())?.to_le_bytes());
    out.extend_from_slice(&directory.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // no comment
    u32_of(out.len())?;
    Ok(out)
}

/// The CRC-32 (IEEE) zip records for each member.
fn crc(data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(data);
    hasher.finalize()
}

fn bad(reason: impl Into<String>) -> WireError {
    WireError::BadNpz(reason.into())
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, WireError> {
    bytes
        .get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| bad("truncated"))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, WireError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("truncated"))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, WireError> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| bad("truncated"))
}

fn index(value: u64) -> Result<usize, WireError> {
    usize::try_from(value).map_err(|_| bad("an offset does not fit this machine"))
}

/// The members of an `.npz` (a zip archive of stored members).
///
/// # Errors
/// When the bytes are not a zip archive, a member is compressed or encrypted, or any offset
/// or length points outside the buffer.
pub fn read_npz(bytes: &[u8]) -> Result<Vec<NpzMember<'_>>, WireError> {
    let search_from = bytes.len().saturating_sub(MAX_EOCD_SEARCH);
    let eocd = (search_from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&at| u32_at(bytes, at).is_ok_and(|s| s == EOCD_SIGNATURE))
        .ok_or_else(|| bad("no end-of-central-directory record"))?;
    let mut count = u64::from(u16_at(bytes, eocd + 10)?);
    let mut directory = u64::from(u32_at(bytes, eocd + 16)?);
    if eocd >= 20 && u32_at(bytes, eocd - 20)? == ZIP64_LOCATOR_SIGNATURE {
        let record = index(u64_at(bytes, eocd - 20 + 8)?)?;
        if u32_at(bytes, record)? != ZIP64_EOCD_SIGNATURE {
            return Err(bad("a broken ZIP64 record"));
        }
        count = u64_at(bytes, record + 32)?;
        directory = u64_at(bytes, record + 48)?;
    }
    // Each entry takes at least 46 bytes, so a count larger than that is a lie.
    if count > (bytes.len() / 46) as u64 {
        return Err(bad("the member count is larger than the file"));
    }
    let mut members = Vec::with_capacity(count as usize);
    let mut at = index(directory)?;
    for _ in 0..count {
        if u32_at(bytes, at)? != CENTRAL_SIGNATURE {
            return Err(bad("a broken central directory"));
        }
        let flags = u16_at(bytes, at + 8)?;
        let method = u16_at(bytes, at + 10)?;
        let mut size = u64::from(u32_at(bytes, at + 20)?);
        let name_len = usize::from(u16_at(bytes, at + 28)?);
        let extra_len = usize::from(u16_at(bytes, at + 30)?);
        let comment_len = usize::from(u16_at(bytes, at + 32)?);
        let mut local = u64::from(u32_at(bytes, at + 42)?);
        let name_bytes = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("truncated"))?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let extra = bytes
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(|| bad("truncated"))?;
        if size == u64::from(u32::MAX) || local == u64::from(u32::MAX) {
            (size, local) = zip64_sizes(extra, size, local)?;
        }
        if flags & 1 != 0 {
            return Err(bad(format!("member {name} is encrypted")));
        }
        if method != 0 {
            return Err(bad(format!(
                "member {name} is compressed (numpy.savez_compressed); save it with numpy.savez or upload the arrays as .npy"
            )));
        }
        let local = index(local)?;
        if u32_at(bytes, local)? != LOCAL_SIGNATURE {
            return Err(bad(format!("member {name} has no local header")));
        }
        let start = local
            + 30
            + usize::from(u16_at(bytes, local + 26)?)
            + usize::from(u16_at(bytes, local + 28)?);
        let end = start
            .checked_add(index(size)?)
            .ok_or_else(|| bad("a member size overflows"))?;
        let data = bytes
            .get(start..end)
            .ok_or_else(|| bad(format!("member {name} runs past the end of the file")))?;
        members.push(NpzMember { name, data });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(members)
}

/// Sizes from the ZIP64 extra field: the 64-bit values replace the 32-bit ones that are
/// all ones, in the order uncompressed size, compressed size, local header offset.
fn zip64_sizes(extra: &[u8], size: u64, local: u64) -> Result<(u64, u64), WireError> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at)?;
        let len = usize::from(u16_at(extra, at + 2)?);
        if id == ZIP64_EXTRA_ID {
            let mut field = at + 4;
            let mut next = || -> Result<u64, WireError> {
                let value = u64_at(extra, field)?;
                field += 8;
                Ok(value)
            };
            // Stored members have equal sizes: the uncompressed one comes first.
            let (mut size, mut local) = (size, local);
            if size == u64::from(u32::MAX) {
                size = next()?;
                next()?;
            }
            if local == u64::from(u32::MAX) {
                local = next()?;
            }
            return Ok((size, local));
        }
        at += 4 + len;
    }
    Err(bad("a ZIP64 member without its extra field"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let owned: Vec<(String, Vec<u8>)> = members
            .iter()
            .map(|(name, data)| (name.to_string(), data.to_vec()))
            .collect();
        write_npz(&owned).unwrap()
    }

    #[test]
    fn reads_stored_members() {
        let archive = zip(&[("a.npy", b"first"), ("b.npy", b"second!")]);
        let members = read_npz(&archive).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(
            (members[0].name.as_str(), members[0].data),
            ("a.npy", &b"first"[..])
        );
        assert_eq!(
            (members[1].name.as_str(), members[1].data),
            ("b.npy", &b"second!"[..])
        );
    }

    #[test]
    fn written_members_are_aligned_and_checked() {
        let archive = zip(&[
            ("x.npy", b"first"),
            ("a/long_name.npy", b"second!"),
            ("e", b""),
        ]);
        for member in read_npz(&archive).unwrap() {
            let at = member.data.as_ptr() as usize - archive.as_ptr() as usize;
            assert_eq!(at % MEMBER_ALIGN, 0, "{}", member.name);
        }
        // The CRC of "first" as zlib computes it.
        assert_eq!(crc(b"first"), 0x9271_ee57);
        assert!(archive[14..18] == crc(b"first").to_le_bytes());
    }

    #[test]
    fn hostile_archives_are_errors_not_panics() {
        let archive = zip(&[("a.npy", b"first")]);
        assert!(read_npz(b"").is_err());
        assert!(read_npz(b"PK\x05\x06").is_err());
        for cut in 0..archive.len() {
            let _ = read_npz(&archive[..cut]);
        }
        for at in 0..archive.len() {
            let mut broken = archive.clone();
            broken[at] ^= 0xff;
            let _ = read_npz(&broken);
        }
        let mut compressed = archive.clone();
        let central = archive
            .windows(4)
            .position(|w| w == CENTRAL_SIGNATURE.to_le_bytes())
            .unwrap();
        compressed[central + 10] = 8;
        assert!(read_npz(&compressed)
            .unwrap_err()
            .to_string()
            .contains("compressed"));
    }
}
