//! The drives of the Fig. 1 protocol: "the rest of the inputs" `u_rest(t)` of the
//! postsynaptic membrane in a trial ([`Drive`]), and their per-trial state.
//!
//! ```text
//! ramp:   u_rest(t) = V(0) − V_rest + s·(t + τ_m)     (the free membrane follows V(0) + s·t)
//! OU:     du = (μ − u) dt/τ_u + σ √(2/τ_u) dW          (stationary mean μ, sd σ)
//! Poisson: u = baseline + Σ jumps e^(−(t − t_k)/τ)     (shot noise)
//! ```

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::neuron::MembraneParams;

/// The ramp drive of the paper's argument: a constant voltage slope per trial.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RampDrive {
    /// Lowest start voltage `V(0)` (drawn uniformly in `[v_start_min, v_start_max)`).
    pub v_start_min: f64,
    /// Highest start voltage `V(0)`; below θ, so the neuron is not firing at the presynaptic
    /// spike.
    pub v_start_max: f64,
    /// Smallest slope magnitude |s| (per ms); |s| is log-uniform in `[min, max]`.
    pub slope_min_per_ms: f64,
    /// Largest slope magnitude |s| (per ms).
    pub slope_max_per_ms: f64,
    /// Fraction of trials with a falling voltage (s < 0).
    pub falling_fraction: f64,
    /// Falling slopes are multiplied by this (1 = the same distribution as rising slopes).
    pub falling_slope_scale: f64,
}

impl Default for RampDrive {
    fn default() -> Self {
        // gap S5: V(0) ~ U(0, 1) with θ = 1, |s| in 0.01 … 0.5 per ms, both signs.
        Self {
            v_start_min: 0.0,
            v_start_max: 1.0,
            slope_min_per_ms: 0.01,
            slope_max_per_ms: 0.5,
            falling_fraction: 0.5,
            falling_slope_scale: 1.0,
        }
    }
}

/// Slowly varying random input: a stationary Ornstein–Uhlenbeck drive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OuDrive {
    /// μ, the mean drive (voltage units: the free membrane settles at `V_rest + μ`).
    pub mean: f64,
    /// σ, the stationary standard deviation of the drive.
    pub std: f64,
    /// τ_u, the correlation time of the drive (ms).
    pub tau_ms: f64,
}

impl Default for OuDrive {
    fn default() -> Self {
        Self {
            mean: 0.5,
            std: 0.4,
            tau_ms: 20.0,
        }
    }
}

/// Excitatory synaptic bombardment: Poisson input events, each adding `jump` to a current that
/// decays with τ_s (shot noise), on top of a constant `baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoissonDrive {
    /// Input events per second (all excitatory synapses together) (Hz).
    pub rate_hz: f64,
    /// J, the current added by one event (voltage units). The event's PSP is
    /// `J τ_s/(τ_m − τ_s) (e^(−t/τ_m) − e^(−t/τ_s))`, which peaks at
    /// `t* = τ_m τ_s ln(τ_m/τ_s)/(τ_m − τ_s)`.
    pub jump: f64,
    /// τ_s, the synaptic current's decay (ms).
    pub tau_synapse_ms: f64,
    /// A constant drive added to the shot noise (negative: net inhibition).
    pub baseline: f64,
}

impl Default for PoissonDrive {
    fn default() -> Self {
        // found by the parameter search of experiments/stdp-curve/README.md: with τ_m = 30 ms a
        // jump of 11 over τ_s = 2 ms gives PSPs that peak at 0.6 θ about 6 ms after the event
        Self {
            rate_hz: 10.0,
            jump: 11.0,
            tau_synapse_ms: 2.0,
            baseline: 0.0,
        }
    }
}

/// "The rest of the inputs" to the postsynaptic neuron.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drive {
    /// A constant slope per trial (the paper's argument).
    Ramp(RampDrive),
    /// Slowly varying random input.
    OrnsteinUhlenbeck(OuDrive),
    /// Sparse excitatory input events (shot noise).
    Poisson(PoissonDrive),
}

/// The drive's per-trial state.
pub(crate) enum DriveState {
    Ramp {
        intercept: f64,
        slope: f64,
    },
    Ou {
        u: f64,
        decay: f64,
        kick: f64,
        mean: f64,
    },
    Poisson {
        current: f64,
        decay: f64,
        p_event: f64,
        jump: f64,
        baseline: f64,
    },
}

impl DriveState {
    /// Draws a trial's drive; returns it and the voltage the free membrane has at `t_start`.
    pub(crate) fn draw(
        drive: &Drive,
        m: &MembraneParams,
        t_start_ms: f64,
        dt_ms: f64,
        rng: &mut crate::rng::Rng,
    ) -> (Self, f64) {
        match drive {
            Drive::Ramp(r) => {
                let v0 = r.v_start_min + (r.v_start_max - r.v_start_min) * rng.random::<f64>();
                let (lo, hi) = (r.slope_min_per_ms.ln(), r.slope_max_per_ms.ln());
                let magnitude = (lo + (hi - lo) * rng.random::<f64>()).exp();
                let slope = if rng.random::<f64>() < r.falling_fraction {
                    -magnitude * r.falling_slope_scale
                } else {
                    magnitude
                };
                // V(t) = v0 + s t solves τ dV/dt = −(V − V_rest) + u with u = v0 − V_rest + s (t + τ).
                let intercept = v0 - m.v_rest + slope * m.tau_membrane_ms;
                (Self::Ramp { intercept, slope }, v0 + slope * t_start_ms)
            }
            Drive::OrnsteinUhlenbeck(o) => {
                let z: f64 = StandardNormal.sample(rng);
                let u = o.mean + o.std * z;
                let decay = (-dt_ms / o.tau_ms).exp();
                let kick = o.std * (1.0 - decay * decay).sqrt();
                (
                    Self::Ou {
                        u,
                        decay,
                        kick,
                        mean: o.mean,
                    },
                    m.v_rest + u,
                )
            }
            Drive::Poisson(q) => {
                // start at the mean current (Campbell: rate·jump·τ_s); the warm-up does the rest
                let current = q.rate_hz * 1e-3 * q.jump * q.tau_synapse_ms;
                let state = Self::Poisson {
                    current,
                    decay: (-dt_ms / q.tau_synapse_ms).exp(),
                    p_event: -(-q.rate_hz * 1e-3 * dt_ms).exp_m1(),
                    jump: q.jump,
                    baseline: q.baseline,
                };
                (state, m.v_rest + q.baseline + current)
            }
        }
    }

    /// The drive over the step `[t, t + dt)`, then advance.
    #[inline]
    pub(crate) fn next(&mut self, t_ms: f64, dt_ms: f64, rng: &mut crate::rng::Rng) -> f64 {
        match self {
            // evaluated mid-step: the exponential-Euler step is then exact to O(dt³) for a ramp
            Self::Ramp { intercept, slope } => *intercept + *slope * (t_ms + 0.5 * dt_ms),
            Self::Ou {
                u,
                decay,
                kick,
                mean,
            } => {
                let now = *u;
                let z: f64 = StandardNormal.sample(rng);
                *u = *mean + (*u - *mean) * *decay + *kick * z;
                now
            }
            Self::Poisson {
                current,
                decay,
                p_event,
                jump,
                baseline,
            } => {
                let now = *baseline + *current;
                *current *= *decay;
                if rng.random::<f64>() < *p_event {
                    *current += *jump;
                }
                now
            }
        }
    }
}
