//! `bpdl stdp`: the paper's Fig. 1 (the STDP window from ΔW = η·S_pre·dV_post/dt) and the
//! delta-rule demonstration of §2, written to a run folder.

use std::time::Instant;

use anyhow::Result;
use bpdl::run::{RunDir, RunInfo};
use bpdl::spiking::StdpConfig;

use crate::Global;
use crate::common::{self, ConfigArgs};

/// Options of `bpdl stdp` (a config such as experiments/stdp-curve/config.toml; `--set
/// drive.kind=ou --set protocol.trials=5000`).
#[derive(Debug, clap::Args)]
pub struct StdpArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(global: &Global, args: &StdpArgs) -> Result<()> {
    let cfg: StdpConfig = args.config.resolve(global, &[], &[])?;
    let out = common::out_dir(global, "runs/stdp");
    let device = bpdl::Device::cpu(global.threads)?;
    let info = RunInfo::new(common::provenance(), cfg.seed, device.threads());
    RunDir::create(&out, &bpdl::config::to_toml_string(&cfg)?, &info)?;

    let spinner = crate::progress::spinner(&format!("simulating {} trials", cfg.protocol.trials));
    let start = Instant::now();
    let report = bpdl::spiking::run(&device, &cfg)?;
    let seconds = start.elapsed().as_secs_f64();
    spinner.finish_and_clear();

    bpdl::reproduce::stdp::write_outputs(&out, &cfg, &report, seconds)?;
    println!("{report}");
    let rate = report.neuron_steps as f64 / seconds.max(1e-9) / 1e6;
    println!(
        "{seconds:.2} s, {rate:.1} M neuron-steps/s; outputs in {}",
        out.display()
    );
    Ok(())
}
