//! STDP as stochastic gradient descent (paper §2, Eq. 1, Fig. 1).
//!
//! ```text
//! ΔW_ij ∝ S_i · dV_j/dt                                                   (Eq. 1)
//! ```
//!
//! A synapse changes by its presynaptic spike train times the rate of change of the
//! postsynaptic voltage. The paper argues that this rule, simulated around a presynaptic spike
//! with a postsynaptic voltage that rises or falls at varied rates, gives the STDP window of
//! Bi & Poo (1998): potentiation when the postsynaptic spike follows the presynaptic one,
//! depression when it precedes it, both fading as |Δt| grows (Fig. 1); and that when the neural
//! dynamics move V toward better values of an objective J, Eq. 1 is stochastic gradient descent
//! on J, the delta rule for a neuron nudged toward a target.
//!
//! | symbol | meaning | unit / name |
//! |---|---|---|
//! | S_i | presynaptic spike train (a sum of deltas) | spikes |
//! | V_j | postsynaptic membrane voltage | threshold gaps (`v_rest = 0`, `v_threshold = 1`) |
//! | dV_j/dt | its slope when the presynaptic spike arrives | per ms (`dv_dt_per_ms`) |
//! | Δt | t_post − t_pre, nearest postsynaptic spike | ms (`delta_t_ms`) |
//! | ΔW | weight change, `η · dV/dt` per presynaptic spike | `dw` |
//! | τ_m | membrane time constant | ms (`tau_membrane_ms`) |
//! | θ, β, ρ_max | threshold, escape steepness, maximal rate | `v_threshold`, `steepness`, `rate_max_hz` |
//! | A₊, τ₊, A₋, τ₋ | exponential fit of the window | `a_plus`, `tau_plus_ms`, … |
//!
//! | module | what |
//! |---|---|
//! | [`neuron`] | membrane, LIF, escape-noise neuron: pure step functions |
//! | [`stdp`] | Eq. 1 ([`stdp::weight_change`]) and the classic pair rule ([`stdp::PairStdp`]) |
//! | [`drive`] | the drives of a trial: ramp (the paper's argument), Ornstein–Uhlenbeck, Poisson |
//! | [`protocol`] | the Fig. 1 trials and nearest-spike pairing |
//! | [`window`] | binning the trials into a [`window::StdpCurve`], the pair-rule correlation |
//! | [`fit`] | exponential fit per branch, the Bi & Poo and Abarbanel reference windows |
//! | [`delta_rule`] | Eq. 1 on a neuron nudged toward a target is the delta rule |
//! | [`experiment`] | `bpdl stdp`: all of the above from one [`StdpConfig`] |
//!
//! The paper gives no simulation parameters; ours, and the search that chose them, are in
//! `experiments/stdp-curve/README.md`.

pub mod config;
pub mod delta_rule;
pub mod drive;
pub mod experiment;
pub mod fit;
pub mod neuron;
pub mod protocol;
pub mod stdp;
pub mod window;

pub use config::StdpConfig;
pub use experiment::{StdpReport, run};
pub use protocol::Trial;
pub use window::StdpCurve;
