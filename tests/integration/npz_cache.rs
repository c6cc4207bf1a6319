//! Deflated `.npz` members through the router: inflated once into `DIR/.downlink/npz/`,
//! served from there, and the inflated files of an old version removed when the archive
//! changes.
#![cfg(feature = "ssr")]

use crate::common;

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use downlink::server::write::WriteConfig;
use downlink::server::{router, AppState};
use downlink::wire::dtype::DType;
use downlink::wire::npy::{parse_npy, write_npy, NpyHeader, Trailing, Version};
use leptos::prelude::LeptosOptions;

fn deflated_npz(path: &std::path::Path, members: &[(&str, Vec<u8>)]) {
    let mut out = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, values) in members {
        let header = NpyHeader {
            version: Version::V1,
            dtype: DType::parse_descr("<f8").unwrap(),
            fortran_order: false,
            shape: vec![values.len() as u64 / 8],
        };
        out.start_file(*name, options).unwrap();
        out.write_all(&write_npy(&header, values).unwrap()).unwrap();
    }
    out.finish().unwrap();
}

fn inflated_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for group in std::fs::read_dir(dir.join(".downlink/npz"))
        .into_iter()
        .flatten()
    {
        for file in std::fs::read_dir(group.unwrap().path()).unwrap() {
            files.push(file.unwrap().path());
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn deflated_members_are_inflated_once_to_disk_and_follow_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("run.npz");
    deflated_npz(&npz, &[("x.npy", common::f64s([1.0, 2.0, 3.0]))]);
    let state = AppState::new(
        LeptosOptions::builder().output_name("downlink").build(),
        dir.path(),
        WriteConfig::default(),
    );
    let app = router(state);
    let get = |uri: &str| Request::get(uri.to_string()).body(Body::empty()).unwrap();

    let (status, _, body) = common::respond(&app, get("/api/arrays/run/x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        parse_npy(&body, Trailing::Reject).unwrap().data,
        common::f64s([1.0, 2.0, 3.0])
    );
    let first = inflated_files(dir.path());
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].extension().is_some_and(|e| e == "npy"));

    // A new version of the archive (another length, so the file's identity changes).
    deflated_npz(&npz, &[("x.npy", common::f64s([4.0, 5.0, 6.0, 7.0]))]);
    let (status, _, body) = common::respond(&app, get("/api/arrays/run/x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        parse_npy(&body, Trailing::Reject).unwrap().data,
        common::f64s([4.0, 5.0, 6.0, 7.0])
    );
    let second = inflated_files(dir.path());
    assert_eq!(
        second.len(),
        1,
        "the old version's file is gone: {second:?}"
    );
    assert_ne!(first, second);
    assert!(
        !common::respond(&app, get("/api/arrays"))
            .await
            .2
            .windows(9)
            .any(|w| w == b".downlink"),
        "the cache is never listed"
    );
}
