//! `results.json` decoded into the typed `Results` (no bpdl command reads the file back today;
//! this keeps its `Deserialize` safe for the tools that will).
#![no_main]
use bpdl::reproduce::Results;
use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<Results>(data);
});
