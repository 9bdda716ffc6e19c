//! The `learning.rule` key and the `[learning.spiking]` table: which learning rule the M-step
//! uses, and the simulation of the spiking one ([`crate::learning::spiking`]).
//!
//! ```text
//! presynaptic:   a spike in each step of dt with probability ρ_max·dt·r,  r = clip(ũ/s, 0, 1)
//! postsynaptic:  τ dV/dt = V* − V,   V(0) = a = ûW + b,   V* = a − γ·(y − t) ⊙ φ'(y)
//! weights:       ΔW_ij = η Σ_{spikes of i} dV_j/dt          (Eq. 1, over T = N·dt)
//! ```
//!
//! The defaults, and why (the measurement is in the module doc of
//! [`crate::learning::spiking`]):
//!
//! * τ = 10 ms, a cortical membrane time constant, and T = 30 ms = 3τ: the voltage covers
//!   1 − e⁻³ = 95 % of its way to V* during the presentation, so longer presentations would add
//!   steps (cost) but almost no signal;
//! * ρ_max = 200 Hz, a high but physiological rate, with dt = 1 ms: at most one spike in five
//!   steps (ρ_max·dt = 0.2), N = 30 steps per presentation. A presynaptic neuron at the full rate
//!   then fires 6 spikes per presentation and the kernel-weighted count that Eq. 1 sums has a
//!   relative standard deviation of about 1/√(2τρ_max) ≈ 0.5 per synapse and example: moderate
//!   noise, averaged further over the 100 examples of a minibatch;
//! * γ = 1: the voltage moves toward one gradient step `a − e` of its map's loss. It only sets the
//!   size of the voltage excursion: η is derived from `learning.lr` so that the expected update is
//!   the rate learner's step whatever γ is;
//! * s = 4 for the layers whose values are not bounded by 1 (softplus, relu, tanh, linear: a
//!   value of 4 fires at ρ_max, above that the rate saturates), 1 for x and sigmoid layers.
//!
//! Measured (paper architecture after 2 epochs of the rate rule on 5,000 MNIST images, one
//! minibatch of 100, the same corruption): the cosine between the spiking rule's ΔW and the
//! clipped rate rule's (`learning.clip_inputs`) is 0.978, 0.965, 0.971, 0.962 for f1, g1, f2, g2
//! at these defaults; 0.95–0.92 at ρ_max = 100 Hz or T = 10 ms, 0.99 at ρ_max = 500 Hz or
//! τ = 20 ms with T = 60 ms (which costs twice the draws), 0.996–0.999 at 1000 Hz.

use serde::{Deserialize, Serialize};

use super::{Validate, check, positive_finite};
use crate::error::Result;

/// Which local rule changes the weights in the M-step (`learning.rule`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LearningRule {
    /// The rate rule: each map's closed-form gradient `(2/B)·uᵀe` ([`crate::learning::m_step`]),
    /// the paper's Algorithm 2 TRAIN (the default).
    #[default]
    Rate,
    /// Eq. 1 in a network of spiking neurons: Poisson presynaptic spikes times the slope of a
    /// nudged postsynaptic voltage ([`crate::learning::spiking::m_step`]); equal to the rate rule
    /// in expectation.
    Spiking,
}

/// How the spiking rule sums Eq. 1 over the presentation (`learning.spiking.accumulation`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Accumulation {
    /// The voltage trajectory is closed-form, so `Σ_t S_i(t)·dV_j/dt = (Σ_t S_i(t)·k(t))·(V*_j −
    /// V_j(0))`: the spikes are drawn step by step, each weighted by the kernel k, and one
    /// product per map delivers them [default: measured faster, `bpdl bench`].
    #[default]
    Kernel,
    /// The voltages are integrated step by step and every step adds `S(t)ᵀ·dV(t)/dt` to the
    /// accumulated ΔW (one product per map and step): the same numbers up to rounding, N times
    /// the products; the hook for measuring spike pairs inside the network.
    PerStep,
}

/// The simulation of the spiking M-step (`[learning.spiking]`; read only with
/// `learning.rule = "spiking"`). See the module doc for where the defaults come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpikingLearningConfig {
    /// T, how long each example is presented (ms); a whole number of `dt_ms` steps [default: 30].
    pub presentation_ms: f64,
    /// dt, the simulation's time step (ms) [default: 1].
    pub dt_ms: f64,
    /// ρ_max, the presynaptic rate of a value at the top of its range (Hz); at most one spike per
    /// step: `rate_max_hz · dt_ms ≤ 1000` [default: 200].
    pub rate_max_hz: f64,
    /// τ, the membrane time constant with which the voltage relaxes toward its nudged target (ms)
    /// [default: 10].
    pub tau_ms: f64,
    /// γ, the nudging gain: the target voltage is `V* = a − γ·e`, `e = (y − t) ⊙ φ'(y)`. Sets the
    /// size of the voltage excursion only (η compensates) [default: 1].
    pub nudging_gain: f64,
    /// s, the value that fires at `rate_max_hz` in a layer whose non-linearity is not bounded to
    /// [0, 1] (softplus, relu, tanh, linear); x and sigmoid layers use 1. Values are clipped to
    /// [0, s] [default: 4].
    pub unbounded_scale: f64,
    /// `"kernel"` (one product per map) or `"per-step"` (one per map and time step).
    pub accumulation: Accumulation,
    /// The in-network STDP window ([`crate::learning::stdp_window`]): how many synapses of every
    /// map (f and g of every layer) are sampled, with a seeded stream, and have their pre- and
    /// postsynaptic spike pairs recorded during training; 0 records nothing. Recording reads the
    /// M-step's spikes and voltages and draws the postsynaptic spikes from a stream of its own,
    /// so the training is the same with it on or off; the run folder gets `stdp_window.json`
    /// and its figure [default: 0].
    pub window_synapses: usize,
    /// Record one example of every `window_every`-th minibatch [default: 1].
    pub window_every: usize,
}

impl Default for SpikingLearningConfig {
    fn default() -> Self {
        Self {
            presentation_ms: 30.0,
            dt_ms: 1.0,
            rate_max_hz: 200.0,
            tau_ms: 10.0,
            nudging_gain: 1.0,
            unbounded_scale: 4.0,
            accumulation: Accumulation::Kernel,
            window_synapses: 0,
            window_every: 1,
        }
    }
}

impl SpikingLearningConfig {
    /// N = T/dt, the number of time steps of a presentation.
    pub fn steps(&self) -> usize {
        (self.presentation_ms / self.dt_ms).round() as usize
    }

    /// `ρ_max·dt`, the spike probability per step of a presynaptic neuron at the full rate.
    pub fn max_spike_probability(&self) -> f64 {
        self.rate_max_hz * 1e-3 * self.dt_ms
    }

    /// `q = e^(−dt/τ)`, the voltage's decay per step toward its target.
    pub fn decay_per_step(&self) -> f64 {
        (-self.dt_ms / self.tau_ms).exp()
    }
}

impl Validate for SpikingLearningConfig {
    fn validate(&self) -> Result<()> {
        let key = |k: &str| format!("learning.spiking.{k}");
        check(
            positive_finite(self.presentation_ms) && self.presentation_ms <= 10_000.0,
            key("presentation_ms"),
            "must be in (0, 10000] ms",
        )?;
        check(
            positive_finite(self.dt_ms) && self.dt_ms <= self.presentation_ms,
            key("dt_ms"),
            "must be a positive time step of at most learning.spiking.presentation_ms",
        )?;
        let steps = self.presentation_ms / self.dt_ms;
        check(
            steps <= 100_000.0 && (steps - steps.round()).abs() <= 1e-6 * steps,
            key("presentation_ms"),
            "must be a whole number of learning.spiking.dt_ms steps, at most 100000 of them",
        )?;
        check(
            positive_finite(self.rate_max_hz),
            key("rate_max_hz"),
            "must be a positive rate (Hz)",
        )?;
        check(
            self.max_spike_probability() <= 1.0,
            key("rate_max_hz"),
            "allows at most one spike per time step: rate_max_hz · dt_ms must be ≤ 1000",
        )?;
        check(
            positive_finite(self.tau_ms) && self.tau_ms <= 1e6,
            key("tau_ms"),
            "must be in (0, 1e6] ms",
        )?;
        check(
            positive_finite(self.nudging_gain) && self.nudging_gain <= 1e6,
            key("nudging_gain"),
            "must be in (0, 1e6]",
        )?;
        check(
            positive_finite(self.unbounded_scale) && self.unbounded_scale <= 1e6,
            key("unbounded_scale"),
            "must be in (0, 1e6]",
        )?;
        check(
            self.window_synapses as f64 * steps <= 1e8,
            key("window_synapses"),
            "records window_synapses × N spike flags per map: at most 1e8 (fewer synapses or \
             a shorter presentation)",
        )?;
        check(
            self.window_every >= 1,
            key("window_every"),
            "must be at least 1 (every minibatch)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, resolve};

    #[test]
    fn the_default_rule_is_the_rate_rule_and_the_defaults_are_valid() {
        let c = Config::default();
        assert_eq!(c.learning.rule, LearningRule::Rate);
        let s = c.learning.spiking;
        s.validate().unwrap();
        assert_eq!(s.steps(), 30);
        assert!((s.max_spike_probability() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn the_rule_and_the_spiking_table_are_read_from_keys() {
        let c: Config = resolve(
            None,
            &[
                "learning.rule=\"spiking\"".into(),
                "learning.spiking.dt_ms=0.5".into(),
                "learning.spiking.accumulation=\"per-step\"".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.learning.rule, LearningRule::Spiking);
        assert_eq!(c.learning.spiking.steps(), 60);
        assert_eq!(c.learning.spiking.accumulation, Accumulation::PerStep);
    }

    #[test]
    fn an_out_of_range_spiking_setting_is_an_error_naming_its_key() {
        for (bad, key) in [
            ("learning.spiking.dt_ms=0", "learning.spiking.dt_ms"),
            ("learning.spiking.dt_ms=40", "learning.spiking.dt_ms"),
            (
                "learning.spiking.dt_ms=0.7",
                "learning.spiking.presentation_ms",
            ),
            (
                "learning.spiking.presentation_ms=-1",
                "learning.spiking.presentation_ms",
            ),
            (
                "learning.spiking.rate_max_hz=2000",
                "learning.spiking.rate_max_hz",
            ),
            (
                "learning.spiking.rate_max_hz=0",
                "learning.spiking.rate_max_hz",
            ),
            ("learning.spiking.tau_ms=0", "learning.spiking.tau_ms"),
            (
                "learning.spiking.nudging_gain=-1",
                "learning.spiking.nudging_gain",
            ),
            (
                "learning.spiking.unbounded_scale=0",
                "learning.spiking.unbounded_scale",
            ),
            (
                "learning.spiking.accumulation=\"dense\"",
                "learning.spiking.accumulation",
            ),
            (
                "learning.spiking.window_every=0",
                "learning.spiking.window_every",
            ),
            (
                "learning.spiking.window_synapses=10000000",
                "learning.spiking.window_synapses",
            ),
            ("learning.rule=\"hebbian\"", "learning.rule"),
            ("learning.spiking.tau=3", "learning.spiking.tau"),
        ] {
            let err = resolve::<Config>(None, &[bad.into()]).unwrap_err();
            assert!(err.to_string().contains(key), "{bad}: {err}");
        }
    }
}
