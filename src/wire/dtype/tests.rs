use super::*;
use crate::wire::WireError;
use serde_json::json;

fn scalar(text: &str) -> ScalarType {
    match ScalarType::parse(text) {
        Ok(s) => s,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn native(c: char) -> String {
    format!("{}{c}", ByteOrder::NATIVE.as_char())
}

#[test]
fn numpy_spellings_round_trip() {
    for text in [
        "<f4", ">i2", "|u1", "|b1", "<f2", "<c8", "<c16", "<M8[ns]", ">m8[s]", "<M8", "|S10",
        "<U5", "|V8", "<i8", "|i1", "<f16", "<c32", "<M8[10s]", ">u8", "<m8[D]", "|S0", "|V0",
        "<M8[Y]", "<M8[as]",
    ] {
        assert_eq!(scalar(text).descr(), text, "{text}");
        assert_eq!(
            DType::parse_descr(text)
                .map(|d| d.descr_string())
                .as_deref(),
            Ok(text)
        );
    }
}

#[test]
fn short_forms_normalise_like_numpy() {
    assert_eq!(scalar("?"), ScalarType::bool());
    assert_eq!(scalar("b1"), ScalarType::bool());
    assert_eq!(scalar("<b1"), ScalarType::bool());
    assert_eq!(scalar("<u1"), ScalarType::u8());
    assert_eq!(scalar("i1"), ScalarType::i8());
    assert_eq!(scalar("f8").descr(), native('f') + "8");
    assert_eq!(scalar("=i4").descr(), native('i') + "4");
    assert_eq!(scalar("|i4").descr(), native('i') + "4");
    assert_eq!(scalar("i4").descr(), native('i') + "4");
    assert_eq!(scalar("<S3").descr(), "|S3");
    assert_eq!(scalar("a3").descr(), "|S3");
    assert_eq!(scalar("|U2").descr(), native('U') + "2");
    assert_eq!(scalar("<M8[generic]").descr(), "<M8");
    assert_eq!(scalar("<M8[1ns]").descr(), "<M8[ns]");
    assert_eq!(scalar("<M[us]").descr(), "<M8[us]");
    assert_eq!(scalar("<U5").size, 20);
    assert_eq!(scalar("<M8[10s]").unit, Some((TimeUnit::Second, 10)));
}

#[test]
fn refuses_unknown_and_object() {
    assert_eq!(ScalarType::parse("O"), Err(WireError::ObjectDtype));
    assert_eq!(ScalarType::parse("|O"), Err(WireError::ObjectDtype));
    assert_eq!(ScalarType::parse("<O8"), Err(WireError::ObjectDtype));
    for text in [
        "",
        "<",
        "<f3",
        "<i16",
        "<x4",
        "b",
        "<f",
        "<M8[parsec]",
        "<M8[0s]",
        "<M4",
        "<M8[ns",
        "f4 ",
        "<f+4",
        "<i-1",
        "<U",
        "<c4",
        "<f99999999999999999999999",
        "<M8[10generic]",
    ] {
        assert!(
            matches!(ScalarType::parse(text), Err(WireError::BadDescr { .. })),
            "{text:?}"
        );
    }
    assert_eq!(
        ScalarType::parse("|S99999999999"),
        Err(WireError::ItemsizeTooLarge {
            limit: MAX_ITEMSIZE
        })
    );
}

#[test]
fn records_parse_with_offsets() {
    let literal = "[('x', '<f4'), ('', '|V4'), ('y', '<i2', (3,)), ('z', [('a', '|u1'), ('b', '<M8[ns]', (2, 2))])]";
    let dtype = pyliteral::parse(literal)
        .and_then(|v| DType::from_descr_value(&v))
        .expect("valid record");
    let DType::Record { fields, itemsize } = &dtype else {
        panic!("not a record");
    };
    let offsets: Vec<usize> = fields.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, [0, 4, 8, 14]);
    assert_eq!(*itemsize, 14 + 1 + 32);
    assert!(fields[1].is_padding());
    assert_eq!(fields[2].shape, [3]);
    assert_eq!(dtype.descr_literal(), literal);
    assert_eq!(dtype.descr_string(), literal);
}

#[test]
fn golden_record_literal() {
    let dtype = pyliteral::parse("[('x', '<f4'), ('y', '<i2', (3,))]")
        .and_then(|v| DType::from_descr_value(&v))
        .expect("valid record");
    assert_eq!(dtype.descr_literal(), "[('x', '<f4'), ('y', '<i2', (3,))]");
    assert_eq!(dtype.itemsize(), 10);
    assert_eq!(dtype.to_json(), json!([["x", "<f4"], ["y", "<i2", [3]]]));
}

#[test]
fn json_round_trips() {
    let value = json!([
        ["x", "<f4"],
        ["y", "<i2", [3]],
        ["z", [["a", "|u1"]]],
        ["é", ">c16", [2, 0]]
    ]);
    let dtype = DType::from_json(&value).expect("valid");
    assert_eq!(dtype.to_json(), value);
    assert!(!dtype.needs_utf8());
    assert_eq!(DType::from_json(&json!("<f8")), DType::parse_descr("<f8"));
    assert!(matches!(
        DType::from_json(&json!({"a": 1})),
        Err(WireError::BadDescr { .. })
    ));
    assert!(matches!(
        DType::from_json(&json!([["x", "<f4", [-1]]])),
        Err(WireError::BadDescr { .. })
    ));
    assert!(matches!(
        DType::from_json(&json!([["x"]])),
        Err(WireError::BadDescr { .. })
    ));
    assert!(matches!(
        DType::from_json(&json!(3.5)),
        Err(WireError::BadDescr { .. })
    ));
    assert_eq!(
        DType::from_json(&json!([["o", "|O"]])),
        Err(WireError::ObjectDtype)
    );
}

#[test]
fn record_errors() {
    let parse = |text: &str| pyliteral::parse(text).and_then(|v| DType::from_descr_value(&v));
    assert_eq!(
        parse("[('a', '<f4'), ('a', '<f4')]"),
        Err(WireError::DuplicateField("a".into()))
    );
    assert!(matches!(
        parse("[(('t', 'a'), '<f4')]"),
        Err(WireError::FieldTitle(_))
    ));
    assert!(matches!(parse("[('a',)]"), Err(WireError::BadDescr { .. })));
    assert!(matches!(
        parse("[('a', '<f4', (1, 2), 3)]"),
        Err(WireError::BadDescr { .. })
    ));
    assert!(matches!(
        parse("[(1, '<f4')]"),
        Err(WireError::BadDescr { .. })
    ));
    assert!(matches!(parse("3"), Err(WireError::BadDescr { .. })));
    assert!(matches!(
        parse("[('a', '<f8', (99999, 99999, 99999))]"),
        Err(WireError::ItemsizeTooLarge { .. })
    ));
    assert_eq!(parse("[('a', '|O')]"), Err(WireError::ObjectDtype));
    assert_eq!(
        parse("[]"),
        Ok(DType::Record {
            fields: vec![],
            itemsize: 0
        })
    );
    assert_eq!(
        parse("[('a', '<f4', 3)]").map(|d| d.descr_literal()),
        Ok("[('a', '<f4', (3,))]".to_string())
    );
    assert_eq!(
        parse("[('a', '<f4', ())]").map(|d| d.descr_literal()),
        Ok("[('a', '<f4')]".to_string())
    );
}

#[test]
fn order_helpers() {
    let f4 = ScalarType::f32_le();
    assert_eq!(f4.clone().with_order(ByteOrder::Big), ScalarType::f32_be());
    assert_eq!(
        ScalarType::u8().with_order(ByteOrder::Big),
        ScalarType::u8()
    );
    assert_eq!(f4.is_native_order(), ByteOrder::NATIVE == ByteOrder::Little);
    assert!(ScalarType::u8().is_native_order());
    assert!(ScalarType::f16_le().is_numeric());
    assert!(ScalarType::datetime_le(TimeUnit::Nano).is_numeric());
    assert!(!ScalarType::c64_le().is_numeric());
    assert!(!scalar("<f16").is_numeric());
    assert!(!ScalarType::bytes(3).is_numeric());
}
