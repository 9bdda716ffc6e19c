//! `bpdl stdp`: the Fig. 1 run, its fit and comparisons, the deterministic-threshold check and
//! the delta-rule demonstration, from one [`StdpConfig`] (its figure, Fig. 1, is built by
//! `crate::reproduce::figures::fig1`).
//!
//! ```text
//! curve  = bin(run_trials(protocol))                 mean ΔW ± s.e. per Δt bin
//! fit    = A₊ e^(−Δt/τ₊) (Δt > 0),  −A₋ e^(Δt/τ₋) (Δt < 0)
//! corr   = Pearson(curve, reference window at the bin centres)
//! check  = ΔW·Δt / (η·Δθ) − 1 on the ramp drive with a deterministic threshold (≈ 0)
//! ```

use serde::{Deserialize, Serialize};

use super::config::StdpConfig;
use super::delta_rule::{self, DeltaRuleReport};
use super::fit::{WindowFit, abarbanel_window, bi_poo_window, fit_window, pearson};
use super::protocol::{Drive, PreSynapse, ProtocolParams, SpikeModel, Trial, run_trials};
use super::window::{StdpCurve, bin_trials, correlation_with_pair_rule};
use crate::backend::Device;
use crate::error::Result;
use crate::rng::{Seed, fill_key};

/// τ is searched in `[TAU_MIN_MS, TAU_MAX_MS]` when fitting (ms).
pub const TAU_MIN_MS: f64 = 1.0;
/// The upper end of the τ search (ms).
pub const TAU_MAX_MS: f64 = 1000.0;

/// The deterministic-threshold variant (gap S1): on a ramp, `ΔW = η·Δθ/Δt` on both branches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeterministicCheck {
    /// Trials run.
    pub trials: usize,
    /// Trials with a threshold crossing in the window.
    pub paired: usize,
    /// Paired trials with Δt > 0 (rising voltage).
    pub potentiation_pairs: usize,
    /// Paired trials with Δt < 0 (falling voltage).
    pub depression_pairs: usize,
    /// `max |ΔW·Δt/(η·Δθ) − 1|` over the paired trials.
    pub max_relative_error: f64,
}

/// Everything `bpdl stdp` measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdpReport {
    /// The simulated window.
    pub curve: StdpCurve,
    /// Its exponential fit.
    pub fit: WindowFit,
    /// Correlation of the bin means with the Bi & Poo (2001) exponential window at the bin
    /// centres (bins with at least `protocol.min_bin_count` trials).
    pub correlation_with_bi_poo: Option<f64>,
    /// The same with the Abarbanel et al. (2002) window.
    pub correlation_with_abarbanel: Option<f64>,
    /// Trial-by-trial correlation of Eq. 1's ΔW with the pair rule's ΔW at the same Δt.
    pub correlation_with_pair_rule: Option<f64>,
    /// Bins used for the fit and the correlations.
    pub bins_used: usize,
    /// The deterministic-threshold check.
    pub deterministic: DeterministicCheck,
    /// The deterministic-threshold window (ramp drive), binned like `curve`: `ΔW ∝ 1/Δt`.
    pub deterministic_curve: StdpCurve,
    /// The delta-rule demonstration.
    pub delta_rule: DeltaRuleReport,
    /// Neuron time steps simulated in all (Fig. 1 trials, deterministic check, delta rule).
    pub neuron_steps: u64,
}

/// The protocol of the deterministic check: the config's ramp and membrane, a threshold neuron
/// without reset, no presynaptic input.
pub fn deterministic_params(cfg: &StdpConfig) -> ProtocolParams {
    let mut p = cfg.protocol_params();
    p.neuron = SpikeModel::Threshold {
        membrane: *p.neuron.membrane(),
        v_threshold: cfg.neuron.v_threshold,
    };
    p.drive = Drive::Ramp(cfg.drive.ramp);
    p.pre = PreSynapse {
        weight: 0.0,
        ..p.pre
    };
    p
}

/// Checks `ΔW = η·Δθ/Δt` on the paired trials of a deterministic run.
pub fn deterministic_check(trials: &[Trial], eta: f64) -> DeterministicCheck {
    let paired: Vec<(f64, &Trial)> = trials
        .iter()
        .filter_map(|t| t.delta_t_ms.map(|d| (d, t)))
        .collect();
    let max_relative_error = paired
        .iter()
        .map(|(d, t)| (t.dw * d / (eta * t.gap) - 1.0).abs())
        .fold(0.0, f64::max);
    DeterministicCheck {
        trials: trials.len(),
        paired: paired.len(),
        potentiation_pairs: paired.iter().filter(|p| p.0 > 0.0).count(),
        depression_pairs: paired.iter().filter(|p| p.0 < 0.0).count(),
        max_relative_error,
    }
}

/// The bins with at least `min_count` trials, as `(bin centre, mean ΔW)`.
pub fn fit_points(curve: &StdpCurve, min_count: usize) -> Vec<(f64, f64)> {
    curve
        .bins
        .iter()
        .filter(|b| b.n >= min_count)
        .map(|b| (b.delta_t_ms, b.mean_dw))
        .collect()
}

/// Runs everything; the seed's streams `stdp/trials`, `stdp/deterministic`, `delta_rule/task`
/// and `delta_rule/train` keep the parts independent.
pub fn run(dev: &Device, cfg: &StdpConfig) -> Result<StdpReport> {
    let seed = Seed(cfg.seed);
    let params = cfg.protocol_params();
    let trials = run_trials(
        dev,
        &params,
        cfg.protocol.trials,
        fill_key(&mut seed.stream("stdp/trials")),
    );
    let steps = |ts: &[Trial]| ts.iter().map(|t| u64::from(t.steps)).sum::<u64>();
    let curve = bin_trials(&trials, cfg.protocol.bin_ms, cfg.protocol.window_ms);
    let points = fit_points(&curve, cfg.protocol.min_bin_count);
    let fit = fit_window(&points, TAU_MIN_MS, TAU_MAX_MS);
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    let reference = |f: fn(f64) -> f64| -> Vec<f64> { xs.iter().map(|&x| f(x)).collect() };
    let det_params = deterministic_params(cfg);
    let det_trials = run_trials(
        dev,
        &det_params,
        cfg.protocol.deterministic_trials,
        fill_key(&mut seed.stream("stdp/deterministic")),
    );
    let delta_rule = delta_rule::run(
        &cfg.delta_rule,
        &mut seed.stream("delta_rule/task"),
        &mut seed.stream("delta_rule/train"),
    )?;
    Ok(StdpReport {
        correlation_with_bi_poo: pearson(&ys, &reference(bi_poo_window)),
        correlation_with_abarbanel: pearson(&ys, &reference(abarbanel_window)),
        correlation_with_pair_rule: correlation_with_pair_rule(&trials, &cfg.pair_rule),
        bins_used: points.len(),
        deterministic: deterministic_check(&det_trials, cfg.protocol.eta),
        deterministic_curve: bin_trials(&det_trials, cfg.protocol.bin_ms, cfg.protocol.window_ms),
        fit,
        curve,
        neuron_steps: steps(&trials) + steps(&det_trials) + delta_rule.steps as u64,
        delta_rule,
    })
}

/// The summary `bpdl stdp` prints: the fitted window, its correlations with the measured
/// windows and the pair rule, the deterministic check and the delta-rule demonstration.
impl std::fmt::Display for StdpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |x: Option<f64>, digits: usize| {
            x.map_or_else(|| "n/a".into(), |v| format!("{v:.digits$}"))
        };
        let (p, d) = (self.fit.potentiation, self.fit.depression);
        let (c, det, dr) = (&self.curve, &self.deterministic, &self.delta_rule);
        writeln!(
            f,
            "STDP window: {} of {} trials paired, {} bins",
            c.paired, c.trials, self.bins_used
        )?;
        writeln!(
            f,
            "  fit  τ₊ = {} ms  A₊ = {}   τ₋ = {} ms  A₋ = {}",
            opt(p.map(|f| f.tau_ms), 1),
            opt(p.map(|f| f.amplitude), 4),
            opt(d.map(|f| f.tau_ms), 1),
            opt(d.map(|f| f.amplitude), 4)
        )?;
        writeln!(
            f,
            "  correlation with Bi & Poo {}, with Abarbanel {}, with the pair rule (per trial) {}",
            opt(self.correlation_with_bi_poo, 3),
            opt(self.correlation_with_abarbanel, 3),
            opt(self.correlation_with_pair_rule, 3)
        )?;
        writeln!(
            f,
            "  deterministic threshold: ΔW = η·Δθ/Δt on {} pairs ({} Δt > 0, {} Δt < 0), max \
             relative error {:.1e}",
            det.paired, det.potentiation_pairs, det.depression_pairs, det.max_relative_error
        )?;
        write!(
            f,
            "delta rule: ‖w − w_ls‖/‖w_ls‖ = {:.4} (spiking, Eq. 1 only), {:.4} (rate-level delta \
             rule); MSE {:.5} vs least squares {:.5}",
            dr.relative_error_spiking, dr.relative_error_rate, dr.mse_spiking, dr.mse_least_squares
        )
    }
}
