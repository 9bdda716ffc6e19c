//! `--set key=value` overrides, one per line of the input, on the learner's `Config` and on
//! `StdpConfig` (`resolve_on`), and each alone through `apply_override` on the default tree.
#![no_main]
use bpdl::config::{self, Config};
use bpdl::spiking::StdpConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let overrides = bpdl_fuzz::lines(data);
    let _ = config::resolve_on(&Config::default(), &overrides);
    let _ = config::resolve_on(&StdpConfig::default(), &overrides);
    let mut tree = toml::Table::try_from(Config::default()).expect("the defaults serialise");
    for o in &overrides {
        let _ = config::apply_override(&mut tree, o);
    }
});
