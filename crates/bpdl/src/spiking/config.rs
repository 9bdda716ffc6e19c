//! The configuration of `bpdl stdp`: the Fig. 1 protocol, the fit, the pair rule it is compared
//! with and the delta-rule demonstration.
//!
//! Every default says where it comes from: **\[paper §2\]**, **\[gap S5\]** (our protocol sketch,
//! `docs/paper-gaps.md#s5`), or **\[search\]**: found by the parameter search documented in
//! `experiments/stdp-curve/README.md`.

use serde::{Deserialize, Serialize};

use super::delta_rule::DeltaRuleParams;
use super::neuron::{EscapeNoiseParams, LifParams, MembraneParams};
use super::protocol::{
    Drive, OuDrive, PoissonDrive, PreSynapse, ProtocolParams, RampDrive, SpikeModel,
};
use super::stdp::PairStdp;
use crate::config::{Validate, check, positive_finite};
use crate::error::Result;

/// Everything `bpdl stdp` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StdpConfig {
    /// Master seed; the trials, the regression task and its training each get their own stream.
    pub seed: u64,
    /// The postsynaptic neuron.
    pub neuron: NeuronConfig,
    /// "The rest of the inputs" of the postsynaptic neuron.
    pub drive: DriveConfig,
    /// Trials, time step, window, binning.
    pub protocol: ProtocolConfig,
    /// The classic pair rule Eq. 1 is compared with, trial by trial.
    pub pair_rule: PairStdp,
    /// The delta-rule demonstration (§2, last paragraph).
    pub delta_rule: DeltaRuleParams,
}

impl Default for StdpConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            neuron: NeuronConfig::default(),
            drive: DriveConfig::default(),
            protocol: ProtocolConfig::default(),
            // the Bi & Poo (2001) exponential fit (see `spiking::fit`)
            pair_rule: PairStdp {
                a_plus: super::fit::BI_POO_A_PLUS,
                a_minus: super::fit::BI_POO_A_MINUS,
                tau_plus_ms: super::fit::BI_POO_TAU_PLUS_MS,
                tau_minus_ms: super::fit::BI_POO_TAU_MINUS_MS,
            },
            delta_rule: DeltaRuleParams::default(),
        }
    }
}

/// How the postsynaptic neuron turns voltage into spikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeuronModel {
    /// Deterministic threshold: with `reset = true` the leaky integrate-and-fire neuron, with
    /// `reset = false` a spike wherever the free voltage crosses θ (gap S5.3a).
    Threshold,
    /// Stochastic firing at rate `ρ_max σ(β (V − θ))`.
    EscapeNoise,
}

/// The postsynaptic neuron (voltages in units of the rest-to-threshold gap).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NeuronConfig {
    /// `threshold` or `escape_noise`.
    pub model: NeuronModel,
    /// τ_m (ms).
    pub tau_membrane_ms: f64,
    /// V_rest.
    pub v_rest: f64,
    /// θ.
    pub v_threshold: f64,
    /// Whether a spike resets the voltage to `v_reset`.
    pub reset: bool,
    /// The voltage after a spike (when `reset`).
    pub v_reset: f64,
    /// Refractory period (ms).
    pub refractory_ms: f64,
    /// β of the escape rate (per unit voltage).
    pub steepness: f64,
    /// ρ_max of the escape rate (Hz).
    pub rate_max_hz: f64,
}

impl Default for NeuronConfig {
    fn default() -> Self {
        Self {
            // [gap S5] stochastic spiking
            model: NeuronModel::EscapeNoise,
            // [search] τ_m = 30 ms (hippocampal pyramidal cells: 20–40 ms) sets the width of the
            // depression branch; 20 ms gives τ₋ ≈ 23–29 ms
            tau_membrane_ms: 30.0,
            // [gap S5] voltage in units of the threshold gap: rest 0, threshold 1
            v_rest: 0.0,
            v_threshold: 1.0,
            // [search] the free membrane potential (no reset): with a reset, Eq. 1 sees the reset
            // as a steep fall and the recovery after it as a rise (anti-STDP after the spike)
            reset: false,
            v_reset: 0.0,
            refractory_ms: 0.0,
            // [gap S5] β = 10 per threshold gap, ρ_max = 0.2 per ms
            steepness: 10.0,
            rate_max_hz: 200.0,
        }
    }
}

impl NeuronConfig {
    /// The library's spike model for these settings.
    pub fn spike_model(&self) -> SpikeModel {
        let membrane = MembraneParams {
            tau_membrane_ms: self.tau_membrane_ms,
            v_rest: self.v_rest,
        };
        match (self.model, self.reset) {
            (NeuronModel::Threshold, false) => SpikeModel::Threshold {
                membrane,
                v_threshold: self.v_threshold,
            },
            (NeuronModel::Threshold, true) => SpikeModel::Lif(LifParams {
                membrane,
                v_threshold: self.v_threshold,
                v_reset: self.v_reset,
                refractory_ms: self.refractory_ms,
            }),
            (NeuronModel::EscapeNoise, reset) => SpikeModel::EscapeNoise(EscapeNoiseParams {
                membrane,
                v_threshold: self.v_threshold,
                steepness: self.steepness,
                rate_max_hz: self.rate_max_hz,
                v_reset: reset.then_some(self.v_reset),
                refractory_ms: self.refractory_ms,
            }),
        }
    }
}

/// Which drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveKind {
    /// A constant slope per trial (the paper's argument).
    Ramp,
    /// Slowly varying random input (Ornstein–Uhlenbeck).
    Ou,
    /// Sparse excitatory input events (shot noise).
    Poisson,
}

/// "The rest of the inputs": the kind, and the settings of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriveConfig {
    /// `ramp` or `ou`.
    pub kind: DriveKind,
    /// Settings of the ramp drive.
    pub ramp: RampDrive,
    /// Settings of the Ornstein–Uhlenbeck drive.
    pub ou: OuDrive,
    /// Settings of the Poisson (shot-noise) drive.
    pub poisson: PoissonDrive,
}

impl Default for DriveConfig {
    fn default() -> Self {
        Self {
            // [search] sparse excitatory input events: the one drive of the three whose voltage
            // rises fast and falls slowly, which makes the window asymmetric like Bi & Poo's
            kind: DriveKind::Poisson,
            // [gap S5] the paper's argument, |s| in 0.01 … 0.5 per ms, V(0) ~ U(0, 1)
            ramp: RampDrive::default(),
            ou: OuDrive::default(),
            // [search] 10 events/s, each a 2 ms current (AMPA-like) whose PSP peaks at 0.6 θ
            poisson: PoissonDrive::default(),
        }
    }
}

impl DriveConfig {
    /// The library's drive for these settings.
    pub fn drive(&self) -> Drive {
        match self.kind {
            DriveKind::Ramp => Drive::Ramp(self.ramp),
            DriveKind::Ou => Drive::OrnsteinUhlenbeck(self.ou),
            DriveKind::Poisson => Drive::Poisson(self.poisson),
        }
    }
}

/// Trials, time step, window and binning of the Fig. 1 run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolConfig {
    /// Trials (one presynaptic spike each).
    pub trials: usize,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Postsynaptic spikes are paired within ±window (ms).
    pub window_ms: f64,
    /// Simulated time before −window (ms).
    pub warmup_ms: f64,
    /// Width of the Δt bins (ms).
    pub bin_ms: f64,
    /// Bins with fewer trials are left out of the fit and the correlations.
    pub min_bin_count: usize,
    /// η of Eq. 1.
    pub eta: f64,
    /// The presynaptic spike's own input to the postsynaptic neuron.
    pub pre: PreSynapse,
    /// Trials of the deterministic-threshold check (ramp drive, threshold neuron, no reset).
    pub deterministic_trials: usize,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self {
            // [search] ≈ 37 000 pairs (37 % of the trials have a postsynaptic spike within
            // ±100 ms), enough to pin τ₊ to ≈ ±1.5 ms, in ≈ 2 s
            trials: 100_000,
            // [gap S5] 1 ms there; 0.1 ms here so Δt is resolved well below the bin width
            dt_ms: 0.1,
            // [gap S5] ±100 ms
            window_ms: 100.0,
            warmup_ms: 50.0,
            bin_ms: 5.0,
            min_bin_count: 20,
            // [gap S5] η = 1
            eta: 1.0,
            pre: PreSynapse::default(),
            deterministic_trials: 10_000,
        }
    }
}

impl StdpConfig {
    /// The library's protocol parameters.
    pub fn protocol_params(&self) -> ProtocolParams {
        ProtocolParams {
            neuron: self.neuron.spike_model(),
            drive: self.drive.drive(),
            pre: self.protocol.pre,
            dt_ms: self.protocol.dt_ms,
            window_ms: self.protocol.window_ms,
            warmup_ms: self.protocol.warmup_ms,
            eta: self.protocol.eta,
        }
    }
}

impl Validate for StdpConfig {
    fn validate(&self) -> Result<()> {
        let n = &self.neuron;
        check(
            positive_finite(n.tau_membrane_ms) && n.tau_membrane_ms <= 10_000.0,
            "neuron.tau_membrane_ms",
            "must be in (0, 10000] ms",
        )?;
        check(
            n.v_rest.is_finite(),
            "neuron.v_rest",
            "must be a finite number",
        )?;
        check(
            n.v_threshold.is_finite() && n.v_threshold > n.v_rest,
            "neuron.v_threshold",
            "must be above neuron.v_rest",
        )?;
        check(
            n.v_reset.is_finite() && n.v_reset < n.v_threshold,
            "neuron.v_reset",
            "must be below neuron.v_threshold",
        )?;
        check(
            n.refractory_ms.is_finite() && n.refractory_ms >= 0.0,
            "neuron.refractory_ms",
            "must be ≥ 0",
        )?;
        check(
            positive_finite(n.steepness),
            "neuron.steepness",
            "must be a positive number (per unit voltage)",
        )?;
        check(
            positive_finite(n.rate_max_hz) && n.rate_max_hz <= 1e5,
            "neuron.rate_max_hz",
            "must be in (0, 100000] Hz",
        )?;

        let r = &self.drive.ramp;
        check(
            r.v_start_min.is_finite() && r.v_start_min < r.v_start_max,
            "drive.ramp.v_start_min",
            "must be finite and below drive.ramp.v_start_max",
        )?;
        check(
            r.v_start_max.is_finite() && r.v_start_max <= n.v_threshold,
            "drive.ramp.v_start_max",
            "must be at most neuron.v_threshold (the neuron starts below threshold)",
        )?;
        check(
            positive_finite(r.slope_min_per_ms),
            "drive.ramp.slope_min_per_ms",
            "must be a positive number",
        )?;
        check(
            positive_finite(r.slope_max_per_ms) && r.slope_max_per_ms >= r.slope_min_per_ms,
            "drive.ramp.slope_max_per_ms",
            "must be at least drive.ramp.slope_min_per_ms",
        )?;
        check(
            (0.0..=1.0).contains(&r.falling_fraction),
            "drive.ramp.falling_fraction",
            "must be in [0, 1]",
        )?;
        check(
            positive_finite(r.falling_slope_scale),
            "drive.ramp.falling_slope_scale",
            "must be a positive number",
        )?;
        let o = &self.drive.ou;
        check(
            o.mean.is_finite(),
            "drive.ou.mean",
            "must be a finite number",
        )?;
        check(
            o.std.is_finite() && o.std >= 0.0,
            "drive.ou.std",
            "must be ≥ 0",
        )?;
        check(
            positive_finite(o.tau_ms),
            "drive.ou.tau_ms",
            "must be a positive number of ms",
        )?;

        let p = &self.protocol;
        check(
            (1..=10_000_000).contains(&p.trials),
            "protocol.trials",
            "must be between 1 and 10000000",
        )?;
        check(
            positive_finite(p.dt_ms) && p.dt_ms <= 10.0,
            "protocol.dt_ms",
            "must be in (0, 10] ms",
        )?;
        check(
            positive_finite(p.window_ms) && p.window_ms / p.dt_ms <= 1e7,
            "protocol.window_ms",
            "must be positive and at most 10⁷ time steps",
        )?;
        check(
            p.warmup_ms.is_finite() && p.warmup_ms >= 0.0 && p.warmup_ms / p.dt_ms <= 1e7,
            "protocol.warmup_ms",
            "must be ≥ 0 and at most 10⁷ time steps",
        )?;
        check(
            positive_finite(p.bin_ms) && p.bin_ms <= p.window_ms,
            "protocol.bin_ms",
            "must be positive and at most protocol.window_ms",
        )?;
        check(p.eta.is_finite(), "protocol.eta", "must be a finite number")?;
        check(
            p.pre.weight.is_finite(),
            "protocol.pre.weight",
            "must be a finite number",
        )?;
        check(
            positive_finite(p.pre.tau_synapse_ms),
            "protocol.pre.tau_synapse_ms",
            "must be a positive number of ms",
        )?;
        check(
            p.deterministic_trials <= 10_000_000,
            "protocol.deterministic_trials",
            "must be at most 10000000",
        )?;

        let q = &self.pair_rule;
        check(
            q.a_plus.is_finite(),
            "pair_rule.a_plus",
            "must be a finite number",
        )?;
        check(
            q.a_minus.is_finite(),
            "pair_rule.a_minus",
            "must be a finite number",
        )?;
        check(
            positive_finite(q.tau_plus_ms),
            "pair_rule.tau_plus_ms",
            "must be a positive number of ms",
        )?;
        check(
            positive_finite(q.tau_minus_ms),
            "pair_rule.tau_minus_ms",
            "must be a positive number of ms",
        )?;

        let d = &self.delta_rule;
        check(
            (1..=100).contains(&d.inputs),
            "delta_rule.inputs",
            "must be between 1 and 100",
        )?;
        check(
            d.examples > d.inputs && d.examples <= 100_000,
            "delta_rule.examples",
            "must exceed delta_rule.inputs (and be at most 100000)",
        )?;
        check(
            d.target_noise_std.is_finite() && d.target_noise_std >= 0.0,
            "delta_rule.target_noise_std",
            "must be ≥ 0",
        )?;
        check(
            positive_finite(d.rate_max_hz) && d.rate_max_hz * d.dt_ms * 1e-3 <= 1.0,
            "delta_rule.rate_max_hz",
            "must be positive with rate_max_hz·dt_ms ≤ 1000 (at most one spike per step)",
        )?;
        check(
            positive_finite(d.tau_membrane_ms),
            "delta_rule.tau_membrane_ms",
            "must be a positive number of ms",
        )?;
        check(
            positive_finite(d.tau_synapse_ms),
            "delta_rule.tau_synapse_ms",
            "must be a positive number of ms",
        )?;
        check(
            d.nudge_rate_per_ms.is_finite()
                && d.nudge_rate_per_ms >= 0.0
                && d.nudge_rate_per_ms * d.dt_ms <= 1.0,
            "delta_rule.nudge_rate_per_ms",
            "must be ≥ 0 with nudge_rate_per_ms·dt_ms ≤ 1",
        )?;
        check(
            positive_finite(d.dt_ms) && d.dt_ms <= d.tau_membrane_ms.min(d.tau_synapse_ms),
            "delta_rule.dt_ms",
            "must be positive and at most the membrane and synaptic time constants",
        )?;
        check(
            positive_finite(d.presentation_ms) && d.presentation_ms / d.dt_ms <= 1e6,
            "delta_rule.presentation_ms",
            "must be positive and at most 10⁶ time steps",
        )?;
        check(
            (1..=100_000).contains(&d.epochs),
            "delta_rule.epochs",
            "must be between 1 and 100000",
        )?;
        check(
            d.eta.is_finite() && d.eta >= 0.0,
            "delta_rule.eta",
            "must be ≥ 0",
        )?;
        check(
            positive_finite(d.eta_decay_epochs),
            "delta_rule.eta_decay_epochs",
            "must be a positive number",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::resolve;

    #[test]
    fn the_defaults_are_valid_and_round_trip_through_toml() {
        let c = StdpConfig::default();
        c.validate().unwrap();
        let text = crate::config::to_toml_string(&c).unwrap();
        let back: StdpConfig = crate::config::from_toml_str(&text).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_keys_and_values_are_errors_naming_the_key() {
        let err = resolve::<StdpConfig>(None, &["neuron.tau_membrane=3".into()]).unwrap_err();
        assert!(err.to_string().contains("tau_membrane"), "{err}");
        let err = resolve::<StdpConfig>(None, &["protocol.dt_ms=0".into()]).unwrap_err();
        assert!(err.to_string().contains("protocol.dt_ms"), "{err}");
        let err = resolve::<StdpConfig>(None, &["drive.ramp.v_start_max=2".into()]).unwrap_err();
        assert!(err.to_string().contains("drive.ramp.v_start_max"), "{err}");
        let err = resolve::<StdpConfig>(None, &["drive.kind=sine".into()]).unwrap_err();
        assert!(err.to_string().contains("drive.kind"), "{err}");
    }

    #[test]
    fn the_neuron_settings_select_the_model() {
        let mut n = NeuronConfig {
            model: NeuronModel::Threshold,
            ..NeuronConfig::default()
        };
        assert!(matches!(n.spike_model(), SpikeModel::Threshold { .. }));
        n.reset = true;
        assert!(matches!(n.spike_model(), SpikeModel::Lif(_)));
        n.model = NeuronModel::EscapeNoise;
        assert!(matches!(n.spike_model(), SpikeModel::EscapeNoise(p) if p.v_reset == Some(0.0)));
    }
}
