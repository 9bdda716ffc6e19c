//! The `inference.dynamics` key and the `[inference.spiking]` table: whether INFERENCE runs as
//! rate updates (Algorithm 2) or as membrane dynamics driven by spikes
//! ([`crate::inference::spiking`]).
//!
//! ```text
//! presynaptic:  a spike in each step of dt with probability ρ_max·dt·clip(v/s, 0, 1)
//! synapse:      τ_s dI/dt = −I + b + (s/ρ_max)·Σ_spikes W_i·δ(t − t_spike)   (so E[I] = vW + b)
//! membrane:     dh/dt = (1/T_it)·[δ(φ(I_bottom-up) − φ(I_refeed)) + α(φ(I_top-down) − h)]
//! ```
//!
//! One iteration of Algorithm 2 lasts `T_it = iteration_ms`, simulated in steps of `dt_ms`. The
//! defaults, and why:
//!
//! * dt = 1 ms and ρ_max = 200 Hz, as in the spiking M-step (`[learning.spiking]`): at most one
//!   spike in five steps;
//! * T_it = 10 ms: the 15 iterations of training take 150 ms, the time a cortical area takes to
//!   settle on a percept; 10 steps per iteration;
//! * τ_s = 10 ms, an excitatory synaptic current's time constant of the order of a membrane's:
//!   the current averages the spikes of the last ~10 ms (a presynaptic unit at the full rate
//!   contributes about 2 spikes), so it lags the voltages it reports by about one iteration;
//! * s = 4 for layers whose values are not bounded by 1, as in the M-step.

use serde::{Deserialize, Serialize};

use super::{Validate, check, positive_finite};
use crate::error::Result;

/// How INFERENCE moves h (`inference.dynamics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dynamics {
    /// Algorithm 2's rate updates `h ← h + δ(f(h_below) − f(g(h))) + α(g(h_above) − h)`, one layer
    /// after the other (the default).
    #[default]
    Rate,
    /// The same terms delivered by Poisson spikes through filtered synapses, integrated by every
    /// h unit's membrane in continuous time ([`crate::inference::spiking`]).
    Spiking,
}

/// The simulation of the spiking E-step (`[inference.spiking]`; read only with
/// `inference.dynamics = "spiking"`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpikingInferenceConfig {
    /// T_it, the time one iteration of Algorithm 2 lasts (ms); a whole number of `dt_ms` steps
    /// [default: 10].
    pub iteration_ms: f64,
    /// dt, the simulation's time step (ms) [default: 1].
    pub dt_ms: f64,
    /// ρ_max, the rate of a value at the top of its range (Hz); `rate_max_hz · dt_ms ≤ 1000`
    /// [default: 200].
    pub rate_max_hz: f64,
    /// τ_s, the synaptic current's time constant (ms) [default: 10].
    pub synapse_tau_ms: f64,
    /// s, the value that fires at ρ_max in a layer not bounded to [0, 1] (softplus, relu, tanh,
    /// linear); x and sigmoid layers use 1 [default: 4].
    pub unbounded_scale: f64,
}

impl Default for SpikingInferenceConfig {
    fn default() -> Self {
        Self {
            iteration_ms: 10.0,
            dt_ms: 1.0,
            rate_max_hz: 200.0,
            synapse_tau_ms: 10.0,
            unbounded_scale: 4.0,
        }
    }
}

impl SpikingInferenceConfig {
    /// M = T_it/dt, the time steps of one iteration.
    pub fn steps_per_iteration(&self) -> usize {
        (self.iteration_ms / self.dt_ms).round() as usize
    }

    /// `ρ_max·dt`, the spike probability per step at the full rate.
    pub fn max_spike_probability(&self) -> f64 {
        self.rate_max_hz * 1e-3 * self.dt_ms
    }

    /// `q = e^(−dt/τ_s)`, the synaptic current's decay per step.
    pub fn synapse_decay(&self) -> f64 {
        (-self.dt_ms / self.synapse_tau_ms).exp()
    }
}

impl Validate for SpikingInferenceConfig {
    fn validate(&self) -> Result<()> {
        let key = |k: &str| format!("inference.spiking.{k}");
        check(
            positive_finite(self.iteration_ms) && self.iteration_ms <= 10_000.0,
            key("iteration_ms"),
            "must be in (0, 10000] ms",
        )?;
        check(
            positive_finite(self.dt_ms) && self.dt_ms <= self.iteration_ms,
            key("dt_ms"),
            "must be a positive time step of at most inference.spiking.iteration_ms",
        )?;
        let steps = self.iteration_ms / self.dt_ms;
        check(
            steps <= 10_000.0 && (steps - steps.round()).abs() <= 1e-6 * steps,
            key("iteration_ms"),
            "must be a whole number of inference.spiking.dt_ms steps, at most 10000 of them",
        )?;
        check(
            positive_finite(self.rate_max_hz) && self.max_spike_probability() <= 1.0,
            key("rate_max_hz"),
            "must be a positive rate (Hz) with rate_max_hz · dt_ms ≤ 1000 (one spike per step)",
        )?;
        check(
            positive_finite(self.synapse_tau_ms) && self.synapse_tau_ms <= 1e6,
            key("synapse_tau_ms"),
            "must be in (0, 1e6] ms",
        )?;
        check(
            positive_finite(self.unbounded_scale) && self.unbounded_scale <= 1e6,
            key("unbounded_scale"),
            "must be in (0, 1e6]",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, resolve};

    #[test]
    fn rate_dynamics_are_the_default_and_the_spiking_table_is_read_from_keys() {
        let c = Config::default();
        assert_eq!(c.inference.dynamics, Dynamics::Rate);
        c.inference.spiking.validate().unwrap();
        assert_eq!(c.inference.spiking.steps_per_iteration(), 10);
        let c: Config = resolve(
            None,
            &[
                "inference.dynamics=\"spiking\"".into(),
                "inference.spiking.dt_ms=0.5".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.inference.dynamics, Dynamics::Spiking);
        assert_eq!(c.inference.spiking.steps_per_iteration(), 20);
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        for (k, v) in [
            ("dt_ms", "0.0"),
            ("iteration_ms", "10.5"),
            ("rate_max_hz", "2000.0"),
            ("synapse_tau_ms", "-1.0"),
        ] {
            let err = resolve::<Config>(None, &[format!("inference.spiking.{k}={v}")])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("inference.spiking.{k}")),
                "{k}: {err}"
            );
        }
        let err = resolve::<Config>(
            None,
            &[
                "inference.dynamics=\"spiking\"".into(),
                "inference.accept=\"if-better\"".into(),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("inference.dynamics"), "{err}");
    }
}
