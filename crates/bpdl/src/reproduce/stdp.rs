//! The output files of the STDP experiment (the paper's Fig. 1 and the delta-rule demonstration
//! of §2): the binned window as CSV, its fit and the comparisons as JSON, and the figure.

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::run::{write_atomic, write_json};
use crate::spiking::experiment::DeterministicCheck;
use crate::spiking::{StdpConfig, StdpCurve, StdpReport};

/// `stdp_fit.json`.
#[derive(Serialize)]
pub struct FitFile<'a> {
    /// τ₊ of the potentiation branch (ms).
    pub tau_plus_ms: Option<f64>,
    /// τ₋ of the depression branch (ms).
    pub tau_minus_ms: Option<f64>,
    /// A₊.
    pub a_plus: Option<f64>,
    /// A₋.
    pub a_minus: Option<f64>,
    /// R² of the potentiation fit.
    pub r_squared_plus: Option<f64>,
    /// R² of the depression fit.
    pub r_squared_minus: Option<f64>,
    /// Correlation of the bin means with the Bi & Poo window.
    pub correlation_with_bi_poo: Option<f64>,
    /// The same with the Abarbanel et al. window.
    pub correlation_with_abarbanel: Option<f64>,
    /// Trial-by-trial correlation with the pair rule.
    pub correlation_with_pair_rule: Option<f64>,
    /// Bins used for the fit.
    pub bins_used: usize,
    /// Trials simulated.
    pub trials: usize,
    /// Trials with a pre/post pair.
    pub paired: usize,
    /// The deterministic-threshold check.
    pub deterministic_check: &'a DeterministicCheck,
    /// Neuron time steps simulated.
    pub neuron_steps: u64,
    /// Seconds of the simulation.
    pub seconds: f64,
    /// Simulation speed.
    pub neuron_steps_per_second: f64,
    /// The settings.
    pub parameters: &'a StdpConfig,
}

/// The binned window as CSV: `delta_t_ms,mean_dw,sem_dw,n`.
pub fn curve_csv(curve: &StdpCurve) -> String {
    let mut csv = String::from("delta_t_ms,mean_dw,sem_dw,n\n");
    for b in &curve.bins {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            b.delta_t_ms, b.mean_dw, b.sem_dw, b.n
        ));
    }
    csv
}

/// Writes `stdp_curve.csv`, `stdp_curve_deterministic.csv`, `stdp_fit.json`,
/// `delta_rule.json` and (feature `report`) the figure `stdp_curve.png`/`.svg` into `out`.
pub fn write_outputs(out: &Path, cfg: &StdpConfig, r: &StdpReport, seconds: f64) -> Result<()> {
    write_atomic(&out.join("stdp_curve.csv"), curve_csv(&r.curve).as_bytes())?;
    write_atomic(
        &out.join("stdp_curve_deterministic.csv"),
        curve_csv(&r.deterministic_curve).as_bytes(),
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
    #[cfg(feature = "report")]
    super::figures::fig1(r, cfg).save(&out.join("stdp_curve"))?;
    Ok(())
}
