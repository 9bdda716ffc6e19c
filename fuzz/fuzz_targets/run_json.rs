//! A run folder's `run.json` as `read_info` reads it back.
#![no_main]
use std::path::Path;

use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bpdl::run::parse_info(Path::new("run.json"), text);
    }
});
