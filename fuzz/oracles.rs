// The checks behind the three fuzz targets, one function per target, each taking the raw
// input. Plain Rust on `downlink::wire` only, so a stable `cargo test` can replay
// fuzz/corpus and fuzz/regressions through exactly what the fuzzer runs:
//
//     mod oracles {
//         include!("../fuzz/oracles.rs");
//     }
//
// A failed check panics with a message naming the broken property; `Err` from the code
// under test is never a failure, since hostile input is supposed to be refused. There are
// no `use` items at the top so the file can be included next to the includer's own imports.

/// How many elements the `.npy` oracle formats, as the preview does.
pub const PREVIEW_LIMIT: usize = 16;

/// Whether `slice` is a borrowed window of `whole` (the zero-copy promise of the decoders).
fn is_within(whole: &[u8], slice: &[u8]) -> bool {
    let whole = whole.as_ptr_range();
    let slice = slice.as_ptr_range();
    whole.start <= slice.start && slice.end <= whole.end
}

/// `.npy` reading: the three entry points agree, whatever parses survives a write and a
/// re-read unchanged, and formatting its elements does not panic.
pub fn npy_decode(data: &[u8]) {
    use downlink::wire::npy::{parse_npy, NpyHeader, Trailing};
    use downlink::wire::pyliteral;

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pyliteral::PyValue::Str(s)) = pyliteral::parse(text) {
            let again = pyliteral::parse(&pyliteral::repr_str(&s));
            assert_eq!(
                again,
                Ok(pyliteral::PyValue::Str(s)),
                "repr_str does not re-parse to the same string"
            );
        }
    }

    let header_only = NpyHeader::parse(data);
    let allowed = parse_npy(data, Trailing::Allow);
    let strict = parse_npy(data, Trailing::Reject);

    if let Ok(view) = &allowed {
        assert_eq!(
            header_only.as_ref().ok(),
            Some(&(view.header.clone(), view.data_offset)),
            "parse_npy and NpyHeader::parse disagree on the header"
        );
        assert!(
            is_within(data, view.data),
            "the data slice is not a window of the input"
        );
        assert_eq!(
            view.data,
            &data[view.data_offset..view.data_offset + view.data.len()],
            "the data slice does not start at data_offset"
        );
        let exact = view.data_offset + view.data.len() == data.len();
        assert_eq!(
            strict.is_ok(),
            exact,
            "Trailing::Reject disagrees with the byte count"
        );
    } else {
        assert!(
            strict.is_err(),
            "Trailing::Reject accepts what Trailing::Allow refuses"
        );
        if let Err(e) = &header_only {
            assert_eq!(
                allowed.as_ref().err(),
                Some(e),
                "parse_npy reports a different header error"
            );
        }
    }
    if let Ok(view) = &strict {
        assert_eq!(
            allowed.as_ref().ok(),
            Some(view),
            "the two Trailing modes see different views"
        );
    }

    let Ok(view) = allowed else {
        return;
    };
    npy_round_trip(&view.header, view.data);
    let itemsize = view.header.dtype.itemsize();
    let preview =
        downlink::wire::format::format_elements(view.data, &view.header.dtype, PREVIEW_LIMIT);
    let expected = view
        .data
        .len()
        .checked_div(itemsize)
        .map_or(0, |n| n.min(PREVIEW_LIMIT));
    assert_eq!(
        preview.len(),
        expected,
        "format_elements returned the wrong number of elements"
    );
}

/// `write_npy` then `parse_npy` gives back the same header and data. Only the version may
/// rise: a 1.0 header can spell non-Latin-1 names with `\u` escapes, and the writer then
/// needs 3.0, as NumPy's `np.save` does (regressions/npy_decode/v1-unicode-escape-promotes-to-v3).
fn npy_round_trip(header: &downlink::wire::npy::NpyHeader, data: &[u8]) {
    use downlink::wire::npy::{parse_npy, write_npy, Trailing, ALIGN};

    let written = match write_npy(header, data) {
        Ok(written) => written,
        Err(e) => panic!("write_npy refuses a header and data that parse_npy accepted: {e}"),
    };
    let view = match parse_npy(&written, Trailing::Reject) {
        Ok(view) => view,
        Err(e) => panic!("parse_npy refuses what write_npy wrote: {e}\nheader: {header:?}"),
    };
    assert!(
        view.header.version >= header.version,
        "write_npy lowered the version"
    );
    let same_version = downlink::wire::npy::NpyHeader {
        version: header.version,
        ..view.header.clone()
    };
    assert_eq!(
        &same_version, header,
        "the header changed across write_npy and parse_npy"
    );
    assert_eq!(
        view.data, data,
        "the data changed across write_npy and parse_npy"
    );
    assert_eq!(
        view.data_offset % ALIGN,
        0,
        "write_npy did not align the data"
    );
}

/// Bundle reading: every entry is aligned, in bounds, in order and borrowed from the body,
/// and re-encoding what was decoded gives the same entries (and is then a fixed point).
pub fn bundle_decode(data: &[u8]) {
    use downlink::wire::bundle::{decode_bundle, encode_bundle, BundleItem, BUNDLE_ALIGN};

    let Ok(entries) = decode_bundle(data) else {
        return;
    };
    let mut previous_end = 0;
    for entry in &entries {
        let name = &entry.name;
        assert_eq!(
            entry.offset as u64 % BUNDLE_ALIGN,
            0,
            "entry {name:?} is not aligned"
        );
        assert!(
            entry.offset >= previous_end,
            "entry {name:?} overlaps the one before"
        );
        let end = entry.offset.checked_add(entry.data.len());
        assert!(
            end.is_some_and(|end| end <= data.len()),
            "entry {name:?} runs past the body"
        );
        assert!(
            is_within(data, entry.data),
            "entry {name:?} is not a window of the body"
        );
        assert_eq!(
            entry.data,
            &data[entry.offset..entry.offset + entry.data.len()],
            "entry {name:?} does not start at its offset"
        );
        let elements = entry
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let nbytes = elements.and_then(|n| n.checked_mul(entry.dtype.itemsize() as u64));
        assert_eq!(
            nbytes,
            Some(entry.data.len() as u64),
            "entry {name:?} has the wrong length"
        );
        previous_end = entry.offset + entry.data.len();
    }

    let items: Vec<(BundleItem, &[u8])> = entries
        .iter()
        .map(|entry| {
            let item = BundleItem {
                name: entry.name.clone(),
                dtype: entry.dtype.clone(),
                shape: entry.shape.clone(),
                nbytes: entry.data.len() as u64,
            };
            (item, entry.data)
        })
        .collect();
    let encoded = match encode_bundle(&items) {
        Ok(encoded) => encoded,
        Err(e) => panic!("encode_bundle refuses entries decode_bundle accepted: {e}"),
    };
    let decoded = match decode_bundle(&encoded) {
        Ok(decoded) => decoded,
        Err(e) => panic!("decode_bundle refuses what encode_bundle wrote: {e}"),
    };
    assert_eq!(
        decoded.len(),
        entries.len(),
        "re-encoding changed the number of entries"
    );
    for (before, after) in entries.iter().zip(&decoded) {
        assert_eq!(after.name, before.name, "re-encoding changed a name");
        assert_eq!(
            after.dtype, before.dtype,
            "re-encoding changed the dtype of {:?}",
            before.name
        );
        assert_eq!(
            after.shape, before.shape,
            "re-encoding changed the shape of {:?}",
            before.name
        );
        assert_eq!(
            after.data, before.data,
            "re-encoding changed the data of {:?}",
            before.name
        );
    }
    let items: Vec<(BundleItem, &[u8])> = decoded
        .iter()
        .map(|entry| {
            let item = BundleItem {
                name: entry.name.clone(),
                dtype: entry.dtype.clone(),
                shape: entry.shape.clone(),
                nbytes: entry.data.len() as u64,
            };
            (item, entry.data)
        })
        .collect();
    assert_eq!(
        encode_bundle(&items).ok(),
        Some(encoded),
        "encode_bundle is not a fixed point"
    );
}

/// Upload validation: never panics; the whole body, the prefix the server reads and
/// `parse_npy` all agree; a claimed length is accepted only when it is exactly right.
pub fn upload(data: &[u8]) {
    use downlink::wire::npy::{check_upload, parse_npy, NpyHeader, Trailing, MAX_HEADER_LEN};

    let total_len = data.len() as u64;
    let whole = check_upload(data, total_len);
    let parsed = parse_npy(data, Trailing::Reject).map(|view| (view.header, view.data_offset));
    assert_eq!(
        whole, parsed,
        "check_upload on the whole body disagrees with parse_npy"
    );

    // The server reads at most this much before it decides.
    let prefix = &data[..data.len().min(MAX_HEADER_LEN + 12)];
    assert_eq!(
        check_upload(prefix, total_len),
        whole,
        "the prefix does not decide as the whole body does"
    );

    let Some((claimed, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let claimed = u64::from_le_bytes(*claimed);
    for body in [data, rest] {
        if let Ok((header, data_offset)) = check_upload(body, claimed) {
            assert_eq!(
                NpyHeader::parse(body).ok(),
                Some((header.clone(), data_offset)),
                "check_upload accepts a header NpyHeader::parse reads differently"
            );
            let exact = header
                .data_len()
                .ok()
                .and_then(|len| len.checked_add(data_offset as u64));
            assert_eq!(
                exact,
                Some(claimed),
                "check_upload accepts a claimed length that does not fit the shape"
            );
        }
    }
}
