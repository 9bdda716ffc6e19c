//! `bpdl stdp`: the paper's Fig. 1 (the STDP window from ΔW = η·S_pre·dV_post/dt) and the
//! delta-rule demonstration of §2, written to a run folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use bpdl::run::{RunDir, RunInfo, write_atomic, write_json};
use bpdl::spiking::{StdpConfig, StdpReport, experiment};
use serde::Serialize;

use crate::Global;
use crate::common;

/// Options of `bpdl stdp`.
#[derive(Debug, clap::Args)]
pub struct StdpArgs {
    /// TOML file with settings (see experiments/stdp-curve/config.toml); defaults otherwise.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override one setting, e.g. `--set drive.kind=ou --set protocol.trials=5000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// `stdp_fit.json`.
#[derive(Serialize)]
struct FitFile<'a> {
    tau_plus_ms: Option<f64>,
    tau_minus_ms: Option<f64>,
    a_plus: Option<f64>,
    a_minus: Option<f64>,
    r_squared_plus: Option<f64>,
    r_squared_minus: Option<f64>,
    correlation_with_bi_poo: Option<f64>,
    correlation_with_abarbanel: Option<f64>,
    correlation_with_pair_rule: Option<f64>,
    bins_used: usize,
    trials: usize,
    paired: usize,
    deterministic_check: &'a experiment::DeterministicCheck,
    neuron_steps: u64,
    seconds: f64,
    neuron_steps_per_second: f64,
    parameters: &'a StdpConfig,
}

pub fn run(global: &Global, args: &StdpArgs) -> Result<()> {
    let mut overrides = args.set.clone();
    if let Some(seed) = global.seed {
        overrides.push(format!("seed={seed}"));
    }
    let cfg: StdpConfig = bpdl::config::resolve(args.config.as_deref(), &overrides)?;
    let out = global
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/stdp"));
    let device = bpdl::Device::cpu(global.threads)?;
    let info = RunInfo {
        provenance: common::provenance(),
        seed: cfg.seed,
        threads: device.threads(),
        started_unix_s: bpdl::run::unix_now(),
    };
    RunDir::create(&out, &bpdl::config::to_toml_string(&cfg)?, &info)?;

    let spinner = common::spinner(&format!("simulating {} trials", cfg.protocol.trials));
    let start = Instant::now();
    let report = bpdl::spiking::run(&device, &cfg)?;
    let seconds = start.elapsed().as_secs_f64();
    spinner.finish_and_clear();

    write_outputs(&out, &cfg, &report, seconds)?;
    print_summary(&out, &report, seconds);
    Ok(())
}

fn curve_csv(curve: &bpdl::spiking::StdpCurve) -> Result<String> {
    let mut csv = String::from("delta_t_ms,mean_dw,sem_dw,n\n");
    for b in &curve.bins {
        writeln!(csv, "{},{},{},{}", b.delta_t_ms, b.mean_dw, b.sem_dw, b.n)?;
    }
    Ok(csv)
}

fn write_outputs(out: &Path, cfg: &StdpConfig, r: &StdpReport, seconds: f64) -> Result<()> {
    write_atomic(&out.join("stdp_curve.csv"), curve_csv(&r.curve)?.as_bytes())?;
    write_atomic(
        &out.join("stdp_curve_deterministic.csv"),
        curve_csv(&r.deterministic_curve)?.as_bytes(),
    )?;
    let (p, d) = (r.fit.potentiation, r.fit.depression);
    let fit = FitFile {
        tau_plus_ms: p.map(|f| f.tau_ms),
        tau_minus_ms: d.map(|f| f.tau_ms),
        a_plus: p.map(|f| f.amplitude),
        a_minus: d.map(|f| f.amplitude),
        r_squared_plus: p.map(|f| f.r_squared),
        r_squared_minus: d.map(|f| f.r_squared),
        correlation_with_bi_poo: r.correlation_with_bi_poo,
        correlation_with_abarbanel: r.correlation_with_abarbanel,
        correlation_with_pair_rule: r.correlation_with_pair_rule,
        bins_used: r.bins_used,
        trials: r.curve.trials,
        paired: r.curve.paired,
        deterministic_check: &r.deterministic,
        neuron_steps: r.neuron_steps,
        seconds,
        neuron_steps_per_second: r.neuron_steps as f64 / seconds.max(1e-9),
        parameters: cfg,
    };
    write_json(&out.join("stdp_fit.json"), &fit)?;
    write_json(&out.join("delta_rule.json"), &r.delta_rule)?;
    experiment::figure(r, cfg)
        .save(&out.join("stdp_curve"))
        .context("writing the figure")?;
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
