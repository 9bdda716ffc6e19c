//! A checkpoint (`checkpoint.safetensors`) as `bpdl sample --run`, `train` (resume) and
//! `reproduce --run` read it: `checkpoint::from_bytes`, the bytes-in-memory form of `load`.
#![no_main]
use std::path::Path;

use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bpdl::checkpoint::from_bytes(Path::new("checkpoint.safetensors"), data.to_vec());
});
