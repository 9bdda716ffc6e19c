//! `Idx::parse_gz` (a gzipped IDX file in memory, as `Idx::read` decodes `*.gz`) as images and
//! as labels, and `gunzip` with a 1 MiB limit: a gzip bomb must be refused within the bound.
#![no_main]
use std::path::Path;

use bpdl::data::idx::{IMAGES_MAGIC, Idx, LABELS_MAGIC, gunzip};
use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz-images-idx3-ubyte.gz");
    let _ = Idx::parse_gz(path, data, IMAGES_MAGIC, "images");
    let _ = Idx::parse_gz(path, data, LABELS_MAGIC, "labels");
    let _ = Idx::from_file_bytes(path, data, LABELS_MAGIC, "labels");
    let _ = gunzip(path, data, 1 << 20);
});
