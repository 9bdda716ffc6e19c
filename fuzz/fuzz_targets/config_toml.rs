//! A TOML config file as `--config FILE` reads it (`resolve_from_text` for the learner's
//! `Config` on the default and on the paper preset, and for the STDP simulation's
//! `StdpConfig`), and as a checkpoint's stored config is read (`from_toml_str`).
#![no_main]
use std::path::Path;

use bpdl::config::{self, Config, Preset};
use bpdl::spiking::StdpConfig;
use bpdl_fuzz as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // `read_to_string` refuses such a file before any parser sees it
    };
    let file = Some((Path::new("fuzz.toml"), text));
    let _ = config::resolve_from_text(&Config::default(), file, &[]);
    let _ = config::resolve_from_text(&Preset::Paper.config(), file, &[]);
    let _ = config::resolve_from_text(&StdpConfig::default(), file, &[]);
    let _ = config::from_toml_str::<Config>(text);
});
