//! Spiking neurons as pure step functions: a leaky membrane, the leaky integrate-and-fire
//! neuron (threshold and reset) and the escape-noise neuron (stochastic firing whose rate is a
//! sigmoid of the voltage).
//!
//! ```text
//! membrane:     τ_m dV/dt = −(V − V_rest) + u(t)
//! LIF:          a spike when V reaches θ; then V ← V_reset, held there for t_ref
//! escape noise: a spike in [t, t + dt) with probability 1 − exp(−ρ(V)·dt),
//!               ρ(V) = ρ_max · σ(β (V − θ)),   σ(a) = 1 / (1 + e^(−a))
//! ```
//!
//! Voltages are dimensionless, in units of the rest-to-threshold gap (`v_rest = 0`,
//! `v_threshold = 1` by default; multiply by ≈ 15–20 mV for a cortical neuron). Times are in ms,
//! rates in Hz. The membrane is integrated with the exponential-Euler step, exact when the drive
//! `u` is constant over the step.
//!
//! Each step function maps `(state, drive, params, dt_ms[, rng])` to the next state and whether
//! (and when) the neuron spiked; nothing is hidden in the neuron.

use rand::RngExt;
use serde::{Deserialize, Serialize};

/// The passive membrane: `τ_m dV/dt = −(V − V_rest) + u`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembraneParams {
    /// τ_m, the membrane time constant (ms).
    pub tau_membrane_ms: f64,
    /// V_rest, the voltage the membrane relaxes to without drive.
    pub v_rest: f64,
}

impl MembraneParams {
    /// The voltage after `dt_ms` with the drive `u` held constant:
    /// `V_∞ + (V − V_∞)·e^(−dt/τ_m)` with `V_∞ = V_rest + u`.
    ///
    /// ```
    /// use bpdl::spiking::neuron::MembraneParams;
    /// let m = MembraneParams { tau_membrane_ms: 10.0, v_rest: 0.0 };
    /// // one time constant toward V_∞ = 1 covers 1 − 1/e of the way
    /// let v = m.relax(0.0, 1.0, 10.0);
    /// assert!((v - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
    /// ```
    #[inline]
    pub fn relax(&self, v: f64, drive: f64, dt_ms: f64) -> f64 {
        let v_inf = self.v_rest + drive;
        v_inf + (v - v_inf) * (-dt_ms / self.tau_membrane_ms).exp()
    }
}

/// Leaky integrate-and-fire: the membrane plus a hard threshold and a reset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifParams {
    /// The membrane.
    pub membrane: MembraneParams,
    /// θ, the firing threshold.
    pub v_threshold: f64,
    /// The voltage right after a spike.
    pub v_reset: f64,
    /// t_ref, how long the voltage is held at `v_reset` after a spike (ms).
    pub refractory_ms: f64,
}

/// What a neuron carries from one step to the next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeuronState {
    /// The membrane voltage V.
    pub v: f64,
    /// Refractory time still to run (ms); 0 when the neuron can integrate.
    pub refractory_left_ms: f64,
}

impl NeuronState {
    /// A neuron at voltage `v`, not refractory.
    pub fn at(v: f64) -> Self {
        Self {
            v,
            refractory_left_ms: 0.0,
        }
    }
}

/// One step of a neuron: its next state, and the time of its spike in the step if it fired.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The state at the end of the step.
    pub state: NeuronState,
    /// `Some(offset_ms)` with `0 ≤ offset_ms ≤ dt_ms` when the neuron spiked in this step.
    pub spike_offset_ms: Option<f64>,
}

/// One step of the LIF neuron under drive `u` (held constant over the step).
///
/// The spike time is interpolated linearly inside the step, where the voltage crosses θ, so
/// spike times are not quantised to `dt_ms`. A refractory neuron stays at `v_reset`.
///
/// ```
/// use bpdl::spiking::neuron::{lif_step, LifParams, MembraneParams, NeuronState};
/// let p = LifParams {
///     membrane: MembraneParams { tau_membrane_ms: 20.0, v_rest: 0.0 },
///     v_threshold: 1.0, v_reset: 0.0, refractory_ms: 2.0,
/// };
/// // a drive of 2 from rest reaches θ = 1 after τ_m·ln 2 ≈ 13.86 ms
/// let (mut s, mut t, dt) = (NeuronState::at(0.0), 0.0, 0.1);
/// let spike_ms = loop {
///     let step = lif_step(s, 2.0, &p, dt);
///     if let Some(off) = step.spike_offset_ms { break t + off; }
///     s = step.state;
///     t += dt;
/// };
/// assert!((spike_ms - 20.0 * 2f64.ln()).abs() < 1e-3);
/// ```
#[inline]
pub fn lif_step(state: NeuronState, drive: f64, p: &LifParams, dt_ms: f64) -> Step {
    if state.refractory_left_ms > 0.0 {
        return Step {
            state: NeuronState {
                v: p.v_reset,
                refractory_left_ms: (state.refractory_left_ms - dt_ms).max(0.0),
            },
            spike_offset_ms: None,
        };
    }
    let v = p.membrane.relax(state.v, drive, dt_ms);
    if v >= p.v_threshold {
        let offset = crossing_offset(state.v, v, p.v_threshold, dt_ms);
        Step {
            state: NeuronState {
                v: p.v_reset,
                refractory_left_ms: p.refractory_ms,
            },
            spike_offset_ms: Some(offset),
        }
    } else {
        Step {
            state: NeuronState::at(v),
            spike_offset_ms: None,
        }
    }
}

/// Where, inside a step of length `dt_ms` that goes from `v0` to `v1`, the straight line between
/// them crosses `level` (clamped to `[0, dt_ms]`).
#[inline]
pub fn crossing_offset(v0: f64, v1: f64, level: f64, dt_ms: f64) -> f64 {
    let dv = v1 - v0;
    if dv == 0.0 {
        return 0.0;
    }
    (dt_ms * (level - v0) / dv).clamp(0.0, dt_ms)
}

/// The escape-noise neuron: the membrane plus stochastic firing at rate
/// `ρ(V) = ρ_max σ(β (V − θ))`, optionally with a reset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscapeNoiseParams {
    /// The membrane.
    pub membrane: MembraneParams,
    /// θ, the voltage at which the rate is half its maximum.
    pub v_threshold: f64,
    /// β, the steepness of the sigmoid (per unit of voltage): the rate goes from 12 % to 88 %
    /// of its maximum over θ ± 2/β.
    pub steepness: f64,
    /// ρ_max, the rate far above threshold (Hz).
    pub rate_max_hz: f64,
    /// `Some(v)`: a spike resets the voltage to `v` (held for `refractory_ms`); `None`: spikes do
    /// not touch the voltage (the voltage is the free membrane potential, as in the paper's
    /// argument, where spikes are read out of V).
    pub v_reset: Option<f64>,
    /// After a spike the neuron cannot fire for this long (ms).
    pub refractory_ms: f64,
}

/// `ρ(V) = ρ_max σ(β (V − θ))` in Hz.
///
/// ```
/// use bpdl::spiking::neuron::{escape_rate_hz, EscapeNoiseParams, MembraneParams};
/// let p = EscapeNoiseParams {
///     membrane: MembraneParams { tau_membrane_ms: 20.0, v_rest: 0.0 },
///     v_threshold: 1.0, steepness: 10.0, rate_max_hz: 200.0, v_reset: None, refractory_ms: 0.0,
/// };
/// assert_eq!(escape_rate_hz(1.0, &p), 100.0); // half the maximum at threshold
/// ```
#[inline]
pub fn escape_rate_hz(v: f64, p: &EscapeNoiseParams) -> f64 {
    p.rate_max_hz / (1.0 + (-p.steepness * (v - p.v_threshold)).exp())
}

/// The probability of at least one spike in a step of `dt_ms` at rate `rate_hz`:
/// `1 − exp(−ρ·dt)`.
#[inline]
pub fn spike_probability(rate_hz: f64, dt_ms: f64) -> f64 {
    -(-rate_hz * dt_ms * 1e-3).exp_m1()
}

/// One step of the escape-noise neuron under drive `u`. The voltage is first integrated over
/// the step; the neuron then fires with probability `1 − exp(−ρ(V)·dt)` at the new voltage
/// (unless refractory). Its spike time is placed in the middle of the step.
#[inline]
pub fn escape_noise_step<R: rand::Rng + ?Sized>(
    state: NeuronState,
    drive: f64,
    p: &EscapeNoiseParams,
    dt_ms: f64,
    rng: &mut R,
) -> Step {
    let refractory = state.refractory_left_ms > 0.0;
    let v = match (refractory, p.v_reset) {
        (true, Some(v_reset)) => v_reset,
        _ => p.membrane.relax(state.v, drive, dt_ms),
    };
    let refractory_left_ms = (state.refractory_left_ms - dt_ms).max(0.0);
    // Draw every step, refractory or not, so the random stream does not depend on the history.
    let u: f64 = rng.random();
    // p(V) ≤ p(ρ_max), so most draws are decided without evaluating the sigmoid (same result).
    let fires = !refractory
        && u < spike_probability(p.rate_max_hz, dt_ms)
        && u < spike_probability(escape_rate_hz(v, p), dt_ms);
    if fires {
        Step {
            state: NeuronState {
                v: p.v_reset.unwrap_or(v),
                refractory_left_ms: p.refractory_ms,
            },
            spike_offset_ms: Some(0.5 * dt_ms),
        }
    } else {
        Step {
            state: NeuronState {
                v,
                refractory_left_ms,
            },
            spike_offset_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn membrane() -> MembraneParams {
        MembraneParams {
            tau_membrane_ms: 20.0,
            v_rest: -0.5,
        }
    }

    #[test]
    fn the_membrane_relaxes_exponentially_toward_rest_plus_drive() {
        // Closed form: V(t) = V_∞ + (V0 − V_∞) e^(−t/τ), V_∞ = V_rest + u; many small steps of a
        // constant drive must land on it (exponential Euler is exact for constant drive).
        let m = membrane();
        let (u, v0, dt, n) = (0.8, 1.2, 0.1, 500);
        let mut v = v0;
        for _ in 0..n {
            v = m.relax(v, u, dt);
        }
        let v_inf = -0.5 + 0.8;
        let expected = v_inf + (v0 - v_inf) * (-(n as f64) * dt / 20.0).exp();
        assert!((v - expected).abs() < 1e-12, "{v} vs {expected}");
    }

    #[test]
    fn lif_fires_at_the_closed_form_time_and_resets() {
        // From V = V_rest with constant drive u > θ − V_rest, θ is reached at
        // T = τ ln(u / (u − (θ − V_rest))); with reset to V_rest and t_ref the period is T + t_ref.
        let p = LifParams {
            membrane: MembraneParams {
                tau_membrane_ms: 10.0,
                v_rest: 0.0,
            },
            v_threshold: 1.0,
            v_reset: 0.0,
            refractory_ms: 3.0,
        };
        let (u, dt) = (1.5, 0.01);
        let period = 10.0 * (1.5f64 / 0.5).ln();
        let mut s = NeuronState::at(0.0);
        let mut spikes = vec![];
        for n in 0..10_000 {
            let step = lif_step(s, u, &p, dt);
            if let Some(off) = step.spike_offset_ms {
                spikes.push(n as f64 * dt + off);
                assert_eq!(step.state.v, 0.0);
            }
            s = step.state;
        }
        assert!(spikes.len() >= 4);
        assert!((spikes[0] - period).abs() < 1e-3, "{spikes:?}");
        for w in spikes.windows(2) {
            // the refractory countdown is quantised to dt
            assert!(
                (w[1] - w[0] - (period + 3.0)).abs() < 2.0 * dt,
                "{spikes:?}"
            );
        }
    }

    #[test]
    fn the_escape_rate_is_a_sigmoid_of_the_voltage() {
        let p = EscapeNoiseParams {
            membrane: membrane(),
            v_threshold: 1.0,
            steepness: 4.0,
            rate_max_hz: 100.0,
            v_reset: None,
            refractory_ms: 0.0,
        };
        // σ(±2) = 1 / (1 + e^∓2)
        let lo = 100.0 / (1.0 + 2f64.exp());
        assert!((escape_rate_hz(0.5, &p) - lo).abs() < 1e-12);
        assert!((escape_rate_hz(1.5, &p) - (100.0 - lo)).abs() < 1e-12);
        assert!((spike_probability(1000.0, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-15);
    }

    #[test]
    fn an_escape_noise_neuron_at_fixed_voltage_fires_at_its_rate() {
        // Held at V = θ (drive = θ − V_rest, V starts there) it is a Bernoulli process with
        // p = 1 − e^(−ρ dt) per step, ρ = ρ_max / 2: the count over N steps has mean N·p and
        // standard deviation √(N p (1 − p)); allow 5 of them.
        let p = EscapeNoiseParams {
            membrane: membrane(),
            v_threshold: 1.0,
            steepness: 10.0,
            rate_max_hz: 80.0,
            v_reset: None,
            refractory_ms: 0.0,
        };
        let mut rng = crate::rng::Rng::seed_from_u64(3);
        let (dt, n) = (0.5, 200_000);
        let mut s = NeuronState::at(1.0);
        let mut count = 0usize;
        for _ in 0..n {
            let step = escape_noise_step(s, 1.5, &p, dt, &mut rng);
            count += usize::from(step.spike_offset_ms.is_some());
            s = step.state;
        }
        let prob = spike_probability(40.0, dt);
        let mean = n as f64 * prob;
        let sd = (n as f64 * prob * (1.0 - prob)).sqrt();
        assert!(
            (count as f64 - mean).abs() < 5.0 * sd,
            "{count} vs {mean} ± {sd}"
        );
    }
}
