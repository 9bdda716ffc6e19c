//! Oracle: the paper's settings as written out in `experiments/`. The committed config files
//! must parse (no unknown keys, values in range) and the paper's experiment file must be exactly
//! the library's defaults, so that the README's default command and the documented file can never
//! drift apart.

use std::path::Path;

fn experiments() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
}

#[test]
fn the_papers_experiment_file_is_the_default_config() {
    let path = experiments().join("mnist-reproduction/config.toml");
    let from_file: bpdl::Config = bpdl::config::resolve(Some(&path), &[]).unwrap();
    assert_eq!(from_file, bpdl::Config::paper());
}

#[test]
fn every_experiment_config_parses() {
    let stdp = experiments().join("stdp-curve/config.toml");
    let _: bpdl::spiking::StdpConfig = bpdl::config::resolve(Some(&stdp), &[]).unwrap();
    for entry in std::fs::read_dir(experiments()).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("config.toml");
        if file.is_file() && !dir.ends_with("stdp-curve") {
            let _: bpdl::Config = bpdl::config::resolve(Some(&file), &[])
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
    }
}

/// Issue 14's stage (a): `spiking-em/config.toml` is the paper's experiment with the spiking
/// M-step (default `[learning.spiking]`, with the in-network STDP window recorded) and nothing
/// else changed, and its control is the same
/// run with the rate rule on the clipped inputs, so that the two differ by the spike noise alone.
#[test]
fn the_spiking_experiment_is_the_papers_with_the_spiking_rule_and_its_control_the_rate_rule() {
    let dir = experiments().join("spiking-em");
    let spiking: bpdl::Config = bpdl::config::resolve(Some(&dir.join("config.toml")), &[]).unwrap();
    let mut expected = bpdl::Config::paper();
    expected.learning.rule = bpdl::config::LearningRule::Spiking;
    // the in-network STDP window is recorded; the training is the same with it off
    expected.learning.spiking.window_synapses = 1000;
    assert_eq!(spiking, expected);
    let control: bpdl::Config =
        bpdl::config::resolve(Some(&dir.join("control-rate.toml")), &[]).unwrap();
    expected.learning.spiking.window_synapses = 0;
    expected.learning.rule = bpdl::config::LearningRule::Rate;
    expected.learning.clip_inputs = true;
    assert_eq!(control, expected);
}
