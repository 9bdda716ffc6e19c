//! A samples file as `bpdl eval parzen --samples FILE` reads it: `TensorReader::from_bytes`,
//! then the `samples` matrix and the metadata written with it.
#![no_main]
use std::path::Path;

use bpdl::tensor_file::TensorReader;
use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = TensorReader::from_bytes(Path::new("samples.safetensors"), data.to_vec()) {
        let _ = r.matrix("samples", None);
        let _ = r.matrix("samples", Some((10, 784)));
        let _ = r.vector("samples", None);
        let _ = r.shape("samples");
        let _ = r.meta("method");
    }
});
