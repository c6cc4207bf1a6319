//! Reading the members of an `.npz` in the browser, where the `zip` crate is not compiled in.
//!
//! Only what `numpy.savez` writes is supported: members stored without compression (method
//! 0), found through the central directory, ZIP64 sizes included. Compressed members
//! (`numpy.savez_compressed`) are refused with a clear error; the server reads both kinds.
//! Every offset and length comes from untrusted bytes and is checked against the buffer.

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

    /// A stored zip of the given members, as Python's zipfile writes it.
    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in members {
            let local = out.len() as u32;
            let crc = 0u32; // not checked by the reader
            out.extend_from_slice(&LOCAL_SIGNATURE.to_le_bytes());
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            central.extend_from_slice(&CENTRAL_SIGNATURE.to_le_bytes());
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&local.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let directory = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&EOCD_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&directory.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
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
