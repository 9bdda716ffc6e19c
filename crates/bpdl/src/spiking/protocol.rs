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
//! - **ramp** (the paper's argument, spec §5.1): per trial a start voltage `V(0)` below threshold
//!   and a slope `s`, with `u_rest(t) = V(0) − V_rest + s·(t + τ_m)`, the current under which
//!   the free membrane follows `V(t) = V(0) + s·t` exactly;
//! - **Ornstein–Uhlenbeck** (slowly varying random input): `du = (μ − u) dt/τ_u + σ √(2/τ_u) dW`,
//!   stationary with mean μ and standard deviation σ.
//!
//! and the postsynaptic spikes come from one of the models of [`SpikeModel`]. Trial `k` draws
//! its randomness from its own generator ([`crate::rng::row_rng`]), so the result does not
//! depend on how many threads run the trials.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use super::neuron::{
    EscapeNoiseParams, LifParams, MembraneParams, NeuronState, crossing_offset, escape_noise_step,
    lif_step,
};
use super::stdp::{PairStdp, voltage_slope_per_ms, weight_change};
use crate::backend::Device;
use crate::rng::row_rng;

/// How postsynaptic spikes are generated from the voltage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpikeModel {
    /// Deterministic threshold on the free voltage (no reset): a spike wherever V crosses θ,
    /// upward or downward (spec §5.1 3a). A neuron above threshold fires continually, so its
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
        // spec §5.1: V(0) ~ U(0, 1) with θ = 1, |s| in 0.01 … 0.5 per ms, both signs.
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

/// The drive's per-trial state.
enum DriveState {
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
    fn draw(
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
    fn next(&mut self, t_ms: f64, dt_ms: f64, rng: &mut crate::rng::Rng) -> f64 {
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

/// One bin of the STDP window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// The bin's centre (ms).
    pub delta_t_ms: f64,
    /// Mean `Δt` of the trials in the bin (ms).
    pub mean_delta_t_ms: f64,
    /// Mean `ΔW`.
    pub mean_dw: f64,
    /// Standard error of the mean `ΔW` (sample standard deviation / √n; 0 when n < 2).
    pub sem_dw: f64,
    /// Trials in the bin.
    pub n: usize,
}

/// The STDP window: `ΔW` averaged in bins of `Δt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdpCurve {
    /// Non-empty bins in increasing `Δt`.
    pub bins: Vec<Bin>,
    /// Trials run.
    pub trials: usize,
    /// Trials with a postsynaptic spike in the window.
    pub paired: usize,
}

/// Bins paired trials by `Δt` into bins of `bin_ms` over `[−window, window]`, with a bin edge at
/// 0 (so no bin mixes pre-before-post with post-before-pre pairs).
///
/// With a bin width or window that is not a positive number (or more than 10⁶ bins) every trial
/// counts as unpaired and the curve is empty.
pub fn bin_trials(trials: &[Trial], bin_ms: f64, window_ms: f64) -> StdpCurve {
    let bins_per_side = window_ms / bin_ms;
    if !(bin_ms > 0.0 && window_ms > 0.0 && bins_per_side <= 1e6) {
        return StdpCurve {
            bins: vec![],
            trials: trials.len(),
            paired: 0,
        };
    }
    let half = bins_per_side.ceil() as usize;
    // per bin: n, Σ Δt, Σ ΔW, Σ ΔW²
    let mut acc = vec![(0usize, 0.0f64, 0.0f64, 0.0f64); 2 * half];
    let mut paired = 0;
    for t in trials {
        let Some(d) = t.delta_t_ms else { continue };
        if d.abs() > window_ms {
            continue;
        }
        paired += 1;
        let k = ((d / bin_ms).floor() as i64 + half as i64).clamp(0, 2 * half as i64 - 1) as usize;
        let a = &mut acc[k];
        a.0 += 1;
        a.1 += d;
        a.2 += t.dw;
        a.3 += t.dw * t.dw;
    }
    let bins = acc
        .iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(k, &(n, sd, sw, sw2))| {
            let nf = n as f64;
            let mean = sw / nf;
            let sem = if n > 1 {
                ((sw2 - nf * mean * mean).max(0.0) / (nf - 1.0) / nf).sqrt()
            } else {
                0.0
            };
            Bin {
                delta_t_ms: (k as f64 - half as f64 + 0.5) * bin_ms,
                mean_delta_t_ms: sd / nf,
                mean_dw: mean,
                sem_dw: sem,
                n,
            }
        })
        .collect();
    StdpCurve {
        bins,
        trials: trials.len(),
        paired,
    }
}

/// Pearson correlation, over the paired trials, between Eq. 1's `ΔW` and what the pair rule gives
/// for the same `Δt` (the comparison of the companion paper, spec §5.1 item 7). `None` with
/// fewer than 3 pairs or no variance.
pub fn correlation_with_pair_rule(trials: &[Trial], rule: &PairStdp) -> Option<f64> {
    let (a, b): (Vec<f64>, Vec<f64>) = trials
        .iter()
        .filter_map(|t| t.delta_t_ms.map(|d| (t.dw, rule.weight_change(d))))
        .unzip();
    super::fit::pearson(&a, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(d: Option<f64>, dw: f64) -> Trial {
        Trial {
            delta_t_ms: d,
            dv_dt_per_ms: dw,
            dw,
            gap: 0.0,
            steps: 0,
        }
    }

    #[test]
    fn binning_gives_means_standard_errors_and_counts() {
        // bin [0, 5): ΔW = 1, 2, 3 → mean 2, sd 1, sem 1/√3; bin [−5, 0): one trial; unpaired and
        // out-of-window trials are not binned.
        let ts = [
            trial(Some(1.0), 1.0),
            trial(Some(2.0), 2.0),
            trial(Some(4.9), 3.0),
            trial(Some(-0.1), -1.0),
            trial(None, 9.0),
            trial(Some(60.0), 9.0),
        ];
        let c = bin_trials(&ts, 5.0, 50.0);
        assert_eq!((c.trials, c.paired), (6, 4));
        assert_eq!(c.bins.len(), 2);
        let (neg, pos) = (c.bins[0], c.bins[1]);
        assert_eq!(
            (neg.delta_t_ms, neg.n, neg.mean_dw, neg.sem_dw),
            (-2.5, 1, -1.0, 0.0)
        );
        assert_eq!((pos.delta_t_ms, pos.n), (2.5, 3));
        assert!((pos.mean_dw - 2.0).abs() < 1e-12);
        assert!((pos.sem_dw - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!((pos.mean_delta_t_ms - 7.9 / 3.0).abs() < 1e-12);
        assert!(bin_trials(&ts, 0.0, 50.0).bins.is_empty());
        assert!(bin_trials(&ts, f64::NAN, 50.0).bins.is_empty());
    }
}
