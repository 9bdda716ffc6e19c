//! A run folder's `metrics.jsonl` as `read_metrics` reads it back (resume, sweeps, timings).
#![no_main]
use std::path::Path;

use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bpdl::run::parse_metrics(Path::new("metrics.jsonl"), text);
    }
});
