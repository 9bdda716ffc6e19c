//! The paper's plasticity rule (Eq. 1) and, for comparison, the classic pair-based STDP rule.
//!
//! ```text
//! Eq. 1 (§2):   ΔW_ij = η · S_i(t) · dV_j/dt
//! pair STDP:    ΔW = +A₊ e^(−Δt/τ₊)   for Δt = t_post − t_pre > 0
//!               ΔW = −A₋ e^( Δt/τ₋)   for Δt < 0
//! ```
//!
//! `S_i` is the presynaptic spike train (a sum of deltas, so integrating Eq. 1 over one spike at
//! `t` gives `η · dV_j/dt(t)`), `V_j` the postsynaptic voltage. Eq. 1 needs no spike timing and no
//! postsynaptic spike at all: only the slope of the postsynaptic voltage when the presynaptic
//! spike arrives. The pair rule needs both spike times and nothing else.
//!
//! The slope is read off the simulated voltage trace ([`voltage_slope_per_ms`]): the change over
//! the step *before* the presynaptic spike arrives, so the spike's own postsynaptic potential,
//! which carries no information about the objective and would push every weight up in
//! proportion to itself, is not counted.

use serde::{Deserialize, Serialize};

/// Eq. 1 for one presynaptic signal value: `η · S_pre · dV_post/dt`.
///
/// `pre_spike` is the presynaptic signal integrated over the step (1 for a spike, 0 otherwise,
/// or a rate); `dv_dt_per_ms` the postsynaptic voltage slope (voltage units per ms).
///
/// ```
/// use bpdl::spiking::stdp::weight_change;
/// assert_eq!(weight_change(0.5, 1.0, 0.2), 0.1);   // rising voltage: potentiation
/// assert_eq!(weight_change(0.5, 1.0, -0.2), -0.1); // falling voltage: depression
/// assert_eq!(weight_change(0.5, 0.0, 0.2), 0.0);   // no presynaptic spike: no change
/// ```
#[inline]
pub fn weight_change(eta: f64, pre_spike: f64, dv_dt_per_ms: f64) -> f64 {
    eta * pre_spike * dv_dt_per_ms
}

/// The slope of a voltage trace sampled every `dt_ms` at sample `n`, as the backward difference
/// `(V[n] − V[n−1]) / dt`: the slope the voltage had when an event at sample `n` arrived.
/// `None` for `n = 0` or `n` past the end.
///
/// ```
/// use bpdl::spiking::stdp::voltage_slope_per_ms;
/// let ramp: Vec<f64> = (0..5).map(|n| 0.3 + 0.02 * n as f64 * 0.5).collect(); // 0.02 per ms
/// assert!((voltage_slope_per_ms(&ramp, 3, 0.5).unwrap() - 0.02).abs() < 1e-12);
/// assert_eq!(voltage_slope_per_ms(&ramp, 0, 0.5), None);
/// ```
#[inline]
pub fn voltage_slope_per_ms(trace: &[f64], n: usize, dt_ms: f64) -> Option<f64> {
    if n == 0 || n >= trace.len() {
        return None;
    }
    Some((trace[n] - trace[n - 1]) / dt_ms)
}

/// Eq. 1 integrated along a whole recording: `η Σ_n S_pre[n] · (V[n] − V[n−1]) / dt`.
///
/// `pre[n]` is the presynaptic signal at sample `n` (spike counts, 0/1, or any real signal);
/// `voltage[n]` the postsynaptic voltage at the same samples. Samples past the shorter of the
/// two are ignored, and sample 0 has no slope.
///
/// ```
/// use bpdl::spiking::stdp::weight_change_along;
/// let v = [0.0, 0.1, 0.3, 0.2];   // slopes after sample 0: 0.1, 0.2, −0.1 (dt = 1)
/// let pre = [1.0, 0.0, 1.0, 1.0]; // spikes at samples 0, 2 and 3
/// assert!((weight_change_along(1.0, &pre, &v, 1.0) - 0.1).abs() < 1e-12);
/// ```
pub fn weight_change_along(eta: f64, pre: &[f64], voltage: &[f64], dt_ms: f64) -> f64 {
    let n = pre.len().min(voltage.len());
    (1..n)
        .filter(|&k| pre[k] != 0.0)
        .filter_map(|k| voltage_slope_per_ms(voltage, k, dt_ms).map(|s| pre[k] * s))
        .sum::<f64>()
        * eta
}

/// The classic pair-based exponential STDP window (Bi & Poo 1998; Song, Miller & Abbott 2000).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairStdp {
    /// A₊, the potentiation for a postsynaptic spike right after the presynaptic one.
    pub a_plus: f64,
    /// A₋ (≥ 0), the depression for a postsynaptic spike right before the presynaptic one.
    pub a_minus: f64,
    /// τ₊, the width of the potentiation branch (ms).
    pub tau_plus_ms: f64,
    /// τ₋, the width of the depression branch (ms).
    pub tau_minus_ms: f64,
}

impl PairStdp {
    /// ΔW for one pre/post pair `Δt = t_post − t_pre` (ms); `Δt = 0` counts as potentiation.
    ///
    /// ```
    /// use bpdl::spiking::stdp::PairStdp;
    /// let r = PairStdp { a_plus: 1.0, a_minus: 0.5, tau_plus_ms: 10.0, tau_minus_ms: 20.0 };
    /// assert!((r.weight_change(10.0) - (-1.0f64).exp()).abs() < 1e-15);
    /// assert!((r.weight_change(-20.0) + 0.5 * (-1.0f64).exp()).abs() < 1e-15);
    /// ```
    #[inline]
    pub fn weight_change(&self, delta_t_ms: f64) -> f64 {
        if delta_t_ms >= 0.0 {
            self.a_plus * (-delta_t_ms / self.tau_plus_ms).exp()
        } else {
            -self.a_minus * (delta_t_ms / self.tau_minus_ms).exp()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pair_rule_is_continuous_in_each_branch_and_decays() {
        let r = PairStdp {
            a_plus: 0.8,
            a_minus: 0.3,
            tau_plus_ms: 17.0,
            tau_minus_ms: 34.0,
        };
        assert_eq!(r.weight_change(0.0), 0.8);
        assert!((r.weight_change(-1e-12) + 0.3).abs() < 1e-9);
        let pos: Vec<f64> = (1..50).map(|t| r.weight_change(t as f64)).collect();
        let neg: Vec<f64> = (1..50).map(|t| r.weight_change(-(t as f64))).collect();
        assert!(pos.windows(2).all(|w| w[1] < w[0] && w[1] > 0.0));
        assert!(neg.windows(2).all(|w| w[1] > w[0] && w[1] < 0.0));
    }
}
