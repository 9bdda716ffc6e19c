//! The real binary, end to end: what a newcomer types must work, and bad input must give a
//! clear message and a failing exit code, never a panic.

mod common;

use common::require_mnist;

use std::process::Output;

fn bpdl(args: &[&str]) -> Output {
    common::bpdl(args, &[("BPDL_DATA_DIR", None)])
}

#[test]
fn data_check_json_reports_the_standard_split_and_official_md5s() {
    let dir = require_mnist();
    let out = bpdl(&[
        "data",
        "check",
        "--json",
        "--offline",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["splits"]["train"]["count"], 50_000);
    assert_eq!(v["splits"]["validation"]["count"], 10_000);
    assert_eq!(v["splits"]["test"]["count"], 10_000);
    assert_eq!(
        v["files"]["train-images-idx3-ubyte.gz"]["md5"],
        "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    );
    assert_eq!(
        v["files"]["t10k-labels-idx1-ubyte.gz"]["md5"],
        "ec29112dd5afa0611ce80d1b7f02629c"
    );
}

#[test]
fn missing_data_offline_fails_with_a_message_saying_where_to_put_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    let out = bpdl(&[
        "data",
        "check",
        "--offline",
        "--data-dir",
        empty.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty"), "{err}");
    assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn fetch_offline_refuses_and_names_the_folder() {
    let out = bpdl(&["data", "fetch", "--offline", "--data-dir", "some/where"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("some/where"), "{err}");
}
