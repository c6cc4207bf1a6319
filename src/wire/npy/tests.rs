use super::*;
use crate::wire::dtype::{DType, ScalarType};
use proptest::prelude::*;

/// `np.save(f, np.arange(3, dtype='<f4'))` with NumPy 2.x.
const GOLDEN_ARANGE3_F4: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }                                                            \n\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40";

/// `np.save(f, np.zeros(2, [('x', '<f4'), ('y', '<i2', (3,))]))`, header only.
const GOLDEN_RECORD_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': [('x', '<f4'), ('y', '<i2', (3,))], 'fortran_order': False, 'shape': (2,), }                               \n";

fn header(dtype: &str, shape: &[u64]) -> NpyHeader {
    NpyHeader {
        version: Version::V1,
        dtype: DType::parse_descr(dtype).expect("valid descr"),
        fortran_order: false,
        shape: shape.to_vec(),
    }
}

fn record(literal: &str) -> DType {
    pyliteral::parse(literal)
        .and_then(|v| DType::from_descr_value(&v))
        .expect("valid record")
}

/// Magic, version 1.0 and a correct length around arbitrary header text.
fn v1_with_text(text: &str) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

fn all_dtypes() -> Vec<DType> {
    let mut dtypes: Vec<DType> = [
        "|b1",
        "|i1",
        "<i2",
        ">i2",
        "<i4",
        ">i4",
        "<i8",
        ">i8",
        "|u1",
        "<u2",
        ">u2",
        "<u4",
        ">u4",
        "<u8",
        ">u8",
        "<f2",
        ">f2",
        "<f4",
        ">f4",
        "<f8",
        ">f8",
        "<f16",
        "<c8",
        ">c8",
        "<c16",
        ">c16",
        "<c32",
        "<M8[ns]",
        ">M8[s]",
        "<M8",
        "<M8[10ms]",
        "<m8[D]",
        ">m8[us]",
        "|S10",
        "|S1",
        "<U5",
        ">U1",
        "|V8",
        "|S0",
    ]
    .iter()
    .map(|d| DType::parse_descr(d).expect("valid"))
    .collect();
    dtypes.push(record("[('x', '<f4'), ('y', '<i2', (3,))]"));
    dtypes.push(record(
        "[('a', [('b', '>f8'), ('', '|V3')]), ('t', '<M8[ns]', (2, 2)), ('s', '|S3')]",
    ));
    dtypes.push(record("[('é', '<u2'), (\"it's\", '|b1')]"));
    dtypes.push(record("[('日本', '<f4')]"));
    dtypes
}

#[test]
fn golden_arange_f4() {
    let h = header("<f4", &[3]);
    let data: Vec<u8> = [0.0f32, 1.0, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(h.to_bytes(), &GOLDEN_ARANGE3_F4[..128]);
    assert_eq!(write_npy(&h, &data).as_deref(), Ok(GOLDEN_ARANGE3_F4));
    let view = parse_npy(GOLDEN_ARANGE3_F4, Trailing::Reject).expect("golden parses");
    assert_eq!(view.header, h);
    assert_eq!(view.data_offset, 128);
    assert_eq!(view.data, &data[..]);
}

#[test]
fn golden_record_header() {
    let h = NpyHeader {
        version: Version::V1,
        dtype: record("[('x', '<f4'), ('y', '<i2', (3,))]"),
        fortran_order: false,
        shape: vec![2],
    };
    assert_eq!(h.to_bytes(), GOLDEN_RECORD_HEADER);
    assert_eq!(NpyHeader::parse(GOLDEN_RECORD_HEADER), Ok((h, 128)));
}

#[test]
fn round_trips_every_dtype_version_order_and_shape() {
    let shapes: [&[u64]; 7] = [&[], &[0], &[3, 0], &[5], &[2, 3], &[2, 1, 3], &[1, 2, 1, 2]];
    let mut cases = 0;
    for dtype in all_dtypes() {
        for version in [Version::V1, Version::V2, Version::V3] {
            for fortran_order in [false, true] {
                for shape in shapes {
                    let h = NpyHeader {
                        version,
                        dtype: dtype.clone(),
                        fortran_order,
                        shape: shape.to_vec(),
                    };
                    let len = h.data_len().expect("small") as usize;
                    let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                    let bytes = write_npy(&h, &data).expect("writes");
                    let view = parse_npy(&bytes, Trailing::Reject).expect("parses");
                    let expected_version = if dtype.needs_utf8() {
                        version.max(Version::V3)
                    } else {
                        version
                    };
                    assert_eq!(view.header.version, expected_version, "{h:?}");
                    assert_eq!(
                        NpyHeader {
                            version,
                            ..view.header.clone()
                        },
                        h
                    );
                    assert_eq!(view.data, &data[..], "{h:?}");
                    assert_eq!(view.data_offset % ALIGN, 0, "{h:?}");
                    assert_eq!(bytes[view.data_offset - 1], b'\n');
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, all_dtypes().len() * 3 * 2 * shapes.len());
}

#[test]
fn capacity_reserves_room_and_grows_version() {
    let h = header("<f8", &[10]);
    let small = h.to_bytes();
    assert_eq!(small.len(), 128);
    let big = h.to_bytes_with_capacity(1000);
    assert_eq!(big.len(), 1024);
    assert_eq!(NpyHeader::parse(&big), Ok((h.clone(), 1024)));
    // Rewriting a grown shape into the reserved room keeps the data offset.
    let grown = NpyHeader {
        shape: vec![123_456_789],
        ..h.clone()
    };
    assert_eq!(grown.to_bytes_with_capacity(big.len()).len(), big.len());
    // Past u16, version 1.0 cannot hold the length.
    let huge = h.to_bytes_with_capacity(70_000);
    assert_eq!(huge.len() % ALIGN, 0);
    assert!(huge.len() >= 70_000);
    assert_eq!(&huge[6..8], &[2, 0]);
    assert!(matches!(
        NpyHeader::parse(&huge),
        Err(WireError::HeaderTooLong { .. })
    ));
}

#[test]
fn non_latin1_names_need_version_3() {
    let h = NpyHeader {
        version: Version::V1,
        dtype: record("[('日本', '<f4')]"),
        fortran_order: false,
        shape: vec![1],
    };
    let bytes = h.to_bytes();
    assert_eq!(&bytes[6..8], &[3, 0]);
    let latin = NpyHeader {
        dtype: record("[('é', '<f4')]"),
        ..h
    };
    let bytes = latin.to_bytes();
    assert_eq!(&bytes[6..8], &[1, 0]);
    // Latin-1, not UTF-8: é is the single byte 0xE9.
    assert!(bytes.contains(&0xe9));
    assert_eq!(NpyHeader::parse(&bytes).map(|(h, _)| h), Ok(latin));
}

#[test]
fn hostile_inputs_fail_precisely() {
    let good = write_npy(&header("<f4", &[3]), &[0; 12]).expect("writes");
    assert_eq!(
        parse_npy(b"", Trailing::Reject).err(),
        Some(WireError::HeaderTruncated {
            needed: 8,
            available: 0
        })
    );
    assert_eq!(
        parse_npy(b"\x93NUM", Trailing::Reject).err(),
        Some(WireError::HeaderTruncated {
            needed: 8,
            available: 4
        })
    );
    assert_eq!(
        parse_npy(b"PK\x03\x04zipfile", Trailing::Reject).err(),
        Some(WireError::BadMagic)
    );
    assert_eq!(
        parse_npy(&good[..9], Trailing::Reject).err(),
        Some(WireError::HeaderTruncated {
            needed: 10,
            available: 9
        })
    );
    assert_eq!(
        parse_npy(&good[..100], Trailing::Reject).err(),
        Some(WireError::HeaderTruncated {
            needed: 128,
            available: 100
        })
    );

    let mut version9 = good.clone();
    version9[6] = 9;
    assert_eq!(
        parse_npy(&version9, Trailing::Reject).err(),
        Some(WireError::UnsupportedVersion { major: 9, minor: 0 })
    );

    let mut too_long = MAGIC.to_vec();
    too_long.extend_from_slice(&[2, 0]);
    too_long.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        parse_npy(&too_long, Trailing::Reject).err(),
        Some(WireError::HeaderTooLong {
            len: u64::from(u32::MAX),
            limit: MAX_HEADER_LEN
        })
    );
    let over_limit = v1_with_text(&" ".repeat(MAX_HEADER_LEN + 1));
    assert!(matches!(
        parse_npy(&over_limit, Trailing::Reject),
        Err(WireError::HeaderTooLong { len: 10_001, .. })
    ));

    let syntax = |text: &str| parse_npy(&v1_with_text(text), Trailing::Allow).err();
    assert!(matches!(
        syntax("garbage!"),
        Some(WireError::HeaderSyntax { position: 0, .. })
    ));
    assert!(matches!(
        syntax("{'descr': '<f4', 'shape': (3,"),
        Some(WireError::HeaderSyntax { .. })
    ));
    assert!(matches!(
        syntax("{'descr': '<f4']"),
        Some(WireError::HeaderSyntax { position: 15, .. })
    ));
    assert!(matches!(
        syntax(&"(".repeat(10_000)[..MAX_HEADER_LEN]),
        Some(WireError::HeaderTooDeep { .. })
    ));
    assert_eq!(
        syntax("[1, 2]"),
        Some(WireError::HeaderNotDict { found: "a list" })
    );
    assert_eq!(
        syntax("{'descr': '<f4', 'shape': (3,)}"),
        Some(WireError::MissingKey("fortran_order"))
    );
    assert_eq!(
        syntax("{'fortran_order': False, 'shape': (3,)}"),
        Some(WireError::MissingKey("descr"))
    );
    assert_eq!(
        syntax("{'descr': '<f4', 'fortran_order': False}"),
        Some(WireError::MissingKey("shape"))
    );
    assert_eq!(
        syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}"),
        Some(WireError::ExtraKey("'extra'".into()))
    );
    assert_eq!(
        syntax("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"),
        Some(WireError::DuplicateKey("descr".into()))
    );
    assert_eq!(
        syntax("{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}"),
        Some(WireError::BadHeaderValue {
            key: "fortran_order",
            expected: "True or False"
        })
    );
    assert_eq!(
        syntax("{'descr': '<f4', 'fortran_order': False, 'shape': [3]}"),
        Some(WireError::BadHeaderValue {
            key: "shape",
            expected: "a tuple of integers"
        })
    );
    assert_eq!(
        syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (3, -1)}"),
        Some(WireError::NegativeDimension {
            index: 1,
            value: -1
        })
    );
    assert!(matches!(
        syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"),
        Some(WireError::ShapeOverflow { .. })
    ));
    assert!(matches!(
        syntax("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"),
        Some(WireError::ShapeOverflow { .. })
    ));
    assert!(matches!(
        syntax("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}"),
        Some(WireError::ShapeOverflow { .. })
    ));
    assert_eq!(
        syntax("{'descr': '|O', 'fortran_order': False, 'shape': (3,)}"),
        Some(WireError::ObjectDtype)
    );
    assert_eq!(
        syntax("{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (3,)}"),
        Some(WireError::ObjectDtype)
    );
    assert!(matches!(
        syntax("{'descr': '<q9', 'fortran_order': False, 'shape': (3,)}"),
        Some(WireError::BadDescr { .. })
    ));

    // A shape promising far more data than present fails without allocating it.
    let claim = write_npy(&header("<f8", &[]), &[0; 8]).expect("writes");
    let mut huge = header("<f8", &[1 << 40]).to_bytes();
    huge.extend_from_slice(&claim[claim.len() - 8..]);
    assert_eq!(
        parse_npy(&huge, Trailing::Reject).err(),
        Some(WireError::DataTruncated {
            expected: 8 << 40,
            found: 8
        })
    );

    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        parse_npy(&trailing, Trailing::Reject).err(),
        Some(WireError::TrailingBytes {
            expected: 12,
            found: 13
        })
    );
    assert_eq!(
        parse_npy(&trailing, Trailing::Allow).map(|v| v.data.len()),
        Ok(12)
    );
    assert_eq!(
        parse_npy(&good[..good.len() - 1], Trailing::Allow).err(),
        Some(WireError::DataTruncated {
            expected: 12,
            found: 11
        })
    );

    let mut bad_utf8 = MAGIC.to_vec();
    bad_utf8.extend_from_slice(&[3, 0]);
    let text = b"{'descr': [('\xff', '<f4')], 'fortran_order': False, 'shape': (), }\n";
    bad_utf8.extend_from_slice(&(text.len() as u32).to_le_bytes());
    bad_utf8.extend_from_slice(text);
    assert_eq!(
        parse_npy(&bad_utf8, Trailing::Allow).err(),
        Some(WireError::HeaderNotUtf8 { position: 13 })
    );

    assert_eq!(
        write_npy(&header("<f4", &[3]), &[0; 11]),
        Err(WireError::LengthMismatch {
            expected: 12,
            found: 11
        })
    );
}

#[test]
fn tolerates_other_writers() {
    // No trailing newline, no growth room, no padding, keys out of order, Python 2 ints.
    let bytes = v1_with_text("{'shape':(2L,3L),'fortran_order':True,'descr':'<i2'}");
    let (h, offset) = NpyHeader::parse(&bytes).expect("parses");
    assert_eq!(offset, bytes.len());
    assert_eq!(h.shape, [2, 3]);
    assert!(h.fortran_order);
    assert_eq!(h.dtype.descr_string(), "<i2");
    assert_eq!(h.element_count(), Ok(6));
    assert_eq!(h.data_len(), Ok(12));
    // 0-d arrays hold one element.
    assert_eq!(header("<f8", &[]).element_count(), Ok(1));
    assert_eq!(header("<f8", &[3, 0]).data_len(), Ok(0));
}

fn scalar_descr() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "|b1", "|i1", "i2", "i4", "i8", "|u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16",
        "M8[ns]", "m8[s]", "M8[D]", "|S7", "U3", "|V2",
    ])
    .prop_flat_map(|d| {
        let multi = !d.starts_with('|');
        prop::sample::select(if multi { vec!["<", ">"] } else { vec![""] })
            .prop_map(move |o| format!("{o}{d}"))
    })
}

proptest! {
    #[test]
    fn random_headers_round_trip(
        descr in scalar_descr(),
        shape in prop::collection::vec(0u64..6, 0..=4),
        fortran_order: bool,
        version in prop::sample::select(vec![Version::V1, Version::V2, Version::V3]),
    ) {
        let dtype = DType::parse_descr(&descr).expect("valid");
        let h = NpyHeader { version, dtype, fortran_order, shape };
        let len = h.data_len().expect("small") as usize;
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let bytes = write_npy(&h, &data).expect("writes");
        let view = parse_npy(&bytes, Trailing::Reject).expect("parses");
        prop_assert_eq!(&view.header, &h);
        prop_assert_eq!(view.data, &data[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_npy(&bytes, Trailing::Reject);
        let _ = parse_npy(&bytes, Trailing::Allow);
    }

    #[test]
    fn arbitrary_headers_never_panic(
        version in 1u8..=3,
        text in prop::collection::vec(any::<u8>(), 0..200),
        data in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[version, 0]);
        if version == 1 {
            bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
        } else {
            bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }
        bytes.extend_from_slice(&text);
        bytes.extend_from_slice(&data);
        let _ = parse_npy(&bytes, Trailing::Reject);
    }

    #[test]
    fn mutated_headers_never_panic(
        position in 0usize..128,
        byte: u8,
        cut in 0usize..=140,
    ) {
        let mut bytes = GOLDEN_ARANGE3_F4.to_vec();
        bytes[position] = byte;
        bytes.truncate(cut);
        let _ = parse_npy(&bytes, Trailing::Reject);
    }
}

#[test]
fn scalar_constructors_match_descr() {
    assert_eq!(ScalarType::f32_le().descr(), "<f4");
    assert_eq!(ScalarType::bool().descr(), "|b1");
}

fn doc() -> Vec<u8> {
    let header = NpyHeader {
        version: Version::V1,
        dtype: DType::parse_descr("<f4").unwrap(),
        fortran_order: false,
        shape: vec![3],
    };
    write_npy(&header, &[0u8; 12]).unwrap()
}

#[test]
fn upload_must_match_its_shape_exactly() {
    let doc = doc();
    let len = doc.len() as u64;
    assert!(check_upload(&doc, len).is_ok());
    assert!(matches!(
        check_upload(&doc, len - 1),
        Err(WireError::DataTruncated { .. })
    ));
    assert!(matches!(
        check_upload(&doc, len + 1),
        Err(WireError::TrailingBytes { .. })
    ));
    // Only the header needs to be present in the prefix.
    assert!(check_upload(&doc[..128], len).is_ok());
    // A length that ends inside the header is refused, even for an empty array.
    let empty = write_npy(
        &NpyHeader {
            version: Version::V1,
            dtype: DType::parse_descr("<f4").unwrap(),
            fortran_order: false,
            shape: vec![0],
        },
        &[],
    )
    .unwrap();
    assert!(matches!(
        check_upload(&empty, 64),
        Err(WireError::DataTruncated { .. })
    ));
    assert!(check_upload(&empty, empty.len() as u64).is_ok());
}
