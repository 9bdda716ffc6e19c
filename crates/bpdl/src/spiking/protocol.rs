//! The Fig. 1 experiment: many trials around one presynaptic spike at `t = 0`, each with its own
//! postsynaptic drive; the presynaptic spike is paired with the nearest postsynaptic spike, and
//! Eq. 1 gives the weight change. Binning `ΔW` by `Δt = t_post − t_pre` traces the STDP window.
//!
//! ```text
//! τ_m dV/dt = −(V − V_rest) + u_rest(t) + I_pre(t)        (the postsynaptic membrane)
//! I_pre(t)  = w_pre e^(−t/τ_s) for t ≥ 0                  (the presynaptic spike's own input)
//! ΔW        = η · dV/dt(0)                                 (Eq. 1 integrated over S_pre = δ(t))
//! Δt        = t_post − 0, t_post the postsynaptic spike nearest to 0 within ±window
//! ```
//!
//! "The rest of the inputs" `u_rest` is one of two drives ([`Drive`]):
//! - **ramp** (the paper's argument, gap S5): per trial a start voltage `V(0)` below threshold
//!   and a slope `s`, with `u_rest(t) = V(0) − V_rest + s·(t + τ_m)`, the current under which
//!   the free membrane follows `V(t) = V(0) + s·t` exactly;
//! - **Ornstein–Uhlenbeck** (slowly varying random input): `du = (μ − u) dt/τ_u + σ √(2/τ_u) dW`,
//!   stationary with mean μ and standard deviation σ.
//!
//! (in [`super::drive`]) and the postsynaptic spikes come from one of the models of
//! [`SpikeModel`]; `spiking::window` bins the trials into the window. Trial `k` draws
//! its randomness from its own generator ([`crate::rng::row_rng`]), so the result does not
//! depend on how many threads run the trials.

use serde::{Deserialize, Serialize};

use super::drive::DriveState;
pub use super::drive::{Drive, OuDrive, PoissonDrive, RampDrive};
use super::neuron::{
    EscapeNoiseParams, LifParams, MembraneParams, NeuronState, crossing_offset, escape_noise_step,
    lif_step,
};
use super::stdp::{voltage_slope_per_ms, weight_change};
use crate::backend::Device;
use crate::rng::row_rng;

/// How postsynaptic spikes are generated from the voltage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpikeModel {
    /// Deterministic threshold on the free voltage (no reset): a spike wherever V crosses θ,
    /// upward or downward (gap S5.3a). A neuron above threshold fires continually, so its
    /// last spike marks the downward crossing; that is the paper's "V was higher in the past
    /// and crossed threshold before time 0".
    Threshold {
        /// The membrane.
        membrane: MembraneParams,
        /// θ.
        v_threshold: f64,
    },
    /// Leaky integrate-and-fire: spike at the upward crossing, then reset.
    Lif(LifParams),
    /// Stochastic (escape-noise) firing, with or without reset.
    EscapeNoise(EscapeNoiseParams),
}

impl SpikeModel {
    /// The membrane shared by every model.
    pub fn membrane(&self) -> &MembraneParams {
        match self {
            Self::Threshold { membrane, .. } => membrane,
            Self::Lif(p) => &p.membrane,
            Self::EscapeNoise(p) => &p.membrane,
        }
    }

    /// θ.
    pub fn v_threshold(&self) -> f64 {
        match self {
            Self::Threshold { v_threshold, .. } => *v_threshold,
            Self::Lif(p) => p.v_threshold,
            Self::EscapeNoise(p) => p.v_threshold,
        }
    }
}

/// The presynaptic spike's own input to the postsynaptic neuron: an exponentially decaying
/// current `w e^(−t/τ_s)` from `t = 0` (its integral, `w·τ_s`, is the PSP's area × 1/τ_m).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreSynapse {
    /// w, the current right after the presynaptic spike (voltage units).
    pub weight: f64,
    /// τ_s, the synaptic time constant (ms).
    pub tau_synapse_ms: f64,
}

impl Default for PreSynapse {
    fn default() -> Self {
        Self {
            weight: 0.0,
            tau_synapse_ms: 5.0,
        }
    }
}

/// Everything a Fig. 1 run needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtocolParams {
    /// The postsynaptic neuron.
    pub neuron: SpikeModel,
    /// The rest of its inputs.
    pub drive: Drive,
    /// The presynaptic spike's own input.
    pub pre: PreSynapse,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Postsynaptic spikes are searched in `[−window, +window]` around the presynaptic one (ms).
    pub window_ms: f64,
    /// Simulated time before `−window` so the random drive and the membrane are stationary (ms).
    pub warmup_ms: f64,
    /// η of Eq. 1.
    pub eta: f64,
}

/// One trial's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// `t_post − t_pre` of the nearest postsynaptic spike (ms), `None` if there was none in the
    /// window.
    pub delta_t_ms: Option<f64>,
    /// The postsynaptic voltage slope when the presynaptic spike arrived (per ms).
    pub dv_dt_per_ms: f64,
    /// Eq. 1: `η · dV/dt(0)`.
    pub dw: f64,
    /// `θ − V(0)`, the distance to threshold when the presynaptic spike arrived.
    pub gap: f64,
    /// Neuron time steps simulated (a trial stops at the first postsynaptic spike after 0).
    pub steps: u32,
}

/// Simulates one trial with its own generator.
pub fn run_trial(p: &ProtocolParams, rng: &mut crate::rng::Rng) -> Trial {
    let dt = p.dt_ms;
    let m = *p.neuron.membrane();
    let theta = p.neuron.v_threshold();
    let n_before = ((p.window_ms + p.warmup_ms) / dt).round() as usize;
    let n_after = (p.window_ms / dt).round() as usize;
    let t_start = -(n_before as f64) * dt;
    let (mut drive, v_start) = DriveState::draw(&p.drive, &m, t_start, dt, rng);
    let mut state = NeuronState::at(v_start);
    let mut v_prev = v_start;
    let (mut last_before, mut first_after) = (None::<f64>, None::<f64>);
    let mut dv_dt = 0.0;
    let mut gap = 0.0;
    let mut steps = 0u32;
    for n in 0..n_before + n_after {
        steps += 1;
        let t = t_start + n as f64 * dt;
        if n == n_before {
            // the presynaptic spike arrives now, at t = 0: read the slope before its own input
            dv_dt = voltage_slope_per_ms(&[v_prev, state.v], 1, dt).unwrap_or(0.0);
            gap = theta - state.v;
        }
        let mut u = drive.next(t, dt, rng);
        if n >= n_before && p.pre.weight != 0.0 {
            u += p.pre.weight * (-(t + 0.5 * dt) / p.pre.tau_synapse_ms).exp();
        }
        let v_before = state.v;
        let spike = match &p.neuron {
            SpikeModel::Threshold {
                membrane,
                v_threshold,
            } => {
                let v = membrane.relax(state.v, u, dt);
                let crossed = (v_before < *v_threshold) != (v < *v_threshold);
                state = NeuronState::at(v);
                crossed.then(|| crossing_offset(v_before, v, *v_threshold, dt))
            }
            SpikeModel::Lif(lif) => {
                let s = lif_step(state, u, lif, dt);
                state = s.state;
                s.spike_offset_ms
            }
            SpikeModel::EscapeNoise(en) => {
                let s = escape_noise_step(state, u, en, dt, rng);
                state = s.state;
                s.spike_offset_ms
            }
        };
        v_prev = v_before;
        if let Some(offset) = spike {
            let ts = t + offset;
            if ts < 0.0 {
                if ts >= -p.window_ms {
                    last_before = Some(ts);
                }
            } else {
                first_after = Some(ts);
                break;
            }
        }
    }
    let delta_t_ms = match (last_before, first_after) {
        (Some(b), Some(a)) => Some(if a <= -b { a } else { b }),
        (b, a) => a.or(b),
    };
    Trial {
        delta_t_ms,
        dv_dt_per_ms: dv_dt,
        dw: weight_change(p.eta, 1.0, dv_dt),
        gap,
        steps,
    }
}

/// Runs `trials` independent trials on `dev`'s threads; trial `k` uses `row_rng(key, k)`, so
/// the trials do not depend on the thread count.
pub fn run_trials(dev: &Device, p: &ProtocolParams, trials: usize, key: u64) -> Vec<Trial> {
    dev.map_indexed(trials, |k| run_trial(p, &mut row_rng(key, k)))
}
