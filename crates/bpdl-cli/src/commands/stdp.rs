//! `bpdl stdp`: the paper's Fig. 1 (the STDP window from ΔW = η·S_pre·dV_post/dt) and the
//! delta-rule demonstration of §2, written to a run folder.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use bpdl::run::{RunDir, RunInfo};
use bpdl::spiking::{StdpConfig, StdpReport};

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
    print_summary(&out, &report, seconds);
    Ok(())
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.digits$}"))
}

fn print_summary(out: &Path, r: &StdpReport, seconds: f64) {
    let (p, d) = (r.fit.potentiation, r.fit.depression);
    println!(
        "STDP window: {} of {} trials paired, {} bins",
        r.curve.paired, r.curve.trials, r.bins_used
    );
    println!(
        "  fit  τ₊ = {} ms  A₊ = {}   τ₋ = {} ms  A₋ = {}",
        opt(p.map(|f| f.tau_ms), 1),
        opt(p.map(|f| f.amplitude), 4),
        opt(d.map(|f| f.tau_ms), 1),
        opt(d.map(|f| f.amplitude), 4)
    );
    println!(
        "  correlation with Bi & Poo {}, with Abarbanel {}, with the pair rule (per trial) {}",
        opt(r.correlation_with_bi_poo, 3),
        opt(r.correlation_with_abarbanel, 3),
        opt(r.correlation_with_pair_rule, 3)
    );
    println!(
        "  deterministic threshold: ΔW = η·Δθ/Δt on {} pairs ({} Δt > 0, {} Δt < 0), max relative error {:.1e}",
        r.deterministic.paired,
        r.deterministic.potentiation_pairs,
        r.deterministic.depression_pairs,
        r.deterministic.max_relative_error
    );
    let dr = &r.delta_rule;
    println!(
        "delta rule: ‖w − w_ls‖/‖w_ls‖ = {:.4} (spiking, Eq. 1 only), {:.4} (rate-level delta rule); \
         MSE {:.5} vs least squares {:.5}",
        dr.relative_error_spiking, dr.relative_error_rate, dr.mse_spiking, dr.mse_least_squares
    );
    println!(
        "{:.2} s, {:.1} M neuron-steps/s; outputs in {}",
        seconds,
        r.neuron_steps as f64 / seconds.max(1e-9) / 1e6,
        out.display()
    );
}
