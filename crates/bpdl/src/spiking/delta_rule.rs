//! The SGD claim of §2 (last paragraph): when the neural dynamics move a neuron's voltage toward
//! a target, Eq. 1 alone performs the delta rule.
//!
//! ```text
//! rate level:   V = Wᵀs,  ΔV = β (y − V)  ⇒  ΔW = η s ΔV = ηβ s (y − Wᵀs) = −ηβ ∂/∂W ½ (y − Wᵀs)²
//! spiking:      dV/dt = (F(t) − V)/τ_m + λ (y − V),   F(t) = Σ_i W_i c_i(t)
//!               τ_s dc_i/dt = −c_i + S_i(t) / r_max     (so E[c_i] = x_i)
//!               ΔW_i = η Σ_{spikes of i} dV/dt          (Eq. 1, nothing else)
//! ```
//!
//! Presynaptic neuron `i` fires Poisson spikes at `x_i · r_max` while example `x` is shown. Each
//! presentation starts with the voltage at the feed-forward prediction `Wᵀx` (the neuron has
//! settled on it, as h is initialised by the feed-forward pass q in Algorithm 1) and then a
//! teacher pulls it toward `y` at rate λ. Because Poisson spikes are independent of the voltage
//! slope just before them, the expected update over a presentation of length T is
//!
//! ```text
//! E[ΔW_i] = η (r_max/1000) x_i E[ΔV] = ε x_i (y − Wᵀx),   ε = η (r_max/1000) (λ/k) (1 − e^(−kT)),
//! k = 1/τ_m + λ
//! ```
//!
//! the delta rule with learning rate ε ([`effective_learning_rate`]). [`run`] trains a spiking
//! neuron this way on a small linear regression task and compares its weights with the
//! least-squares solution and with the rate-level delta rule run on the same example order.

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;

/// The regression task, the spiking neuron and the training schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeltaRuleParams {
    /// Input dimension, not counting the bias input (a presynaptic neuron always at `r_max`).
    pub inputs: usize,
    /// Training examples.
    pub examples: usize,
    /// Standard deviation of the noise added to the targets `y = w*ᵀx + noise`.
    pub target_noise_std: f64,
    /// r_max, the presynaptic rate for `x_i = 1` (Hz).
    pub rate_max_hz: f64,
    /// τ_m (ms).
    pub tau_membrane_ms: f64,
    /// τ_s, the presynaptic current's time constant (ms).
    pub tau_synapse_ms: f64,
    /// λ, how fast the teacher pulls the voltage toward the target (per ms).
    pub nudge_rate_per_ms: f64,
    /// T, the duration of one presentation (ms).
    pub presentation_ms: f64,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Passes over the examples.
    pub epochs: usize,
    /// η of Eq. 1 at the start of training.
    pub eta: f64,
    /// η is divided by `1 + epoch / eta_decay_epochs` (the 1/t decay that lets SGD converge).
    pub eta_decay_epochs: f64,
}

impl Default for DeltaRuleParams {
    fn default() -> Self {
        // A small task (3 inputs and a bias, 100 examples); the neuron's settings were chosen in
        // the search of experiments/stdp-curve/README.md to keep the spike noise of Eq. 1 small:
        // a 10 ms synaptic current smooths the feed-forward drive, 15 ms presentations cover
        // the nudge (k T = 3.75) without adding noise after it, 400 Hz rates average many spikes.
        Self {
            inputs: 3,
            examples: 100,
            target_noise_std: 0.1,
            rate_max_hz: 400.0,
            tau_membrane_ms: 20.0,
            tau_synapse_ms: 10.0,
            nudge_rate_per_ms: 0.2,
            presentation_ms: 15.0,
            dt_ms: 0.1,
            epochs: 1000,
            eta: 0.5,
            eta_decay_epochs: 10.0,
        }
    }
}

/// `ε = η (r_max/1000) (λ/k) (1 − e^(−kT))` with `k = 1/τ_m + λ`: the delta-rule learning rate
/// that Eq. 1 implements on average.
pub fn effective_learning_rate(p: &DeltaRuleParams, eta: f64) -> f64 {
    let k = 1.0 / p.tau_membrane_ms + p.nudge_rate_per_ms;
    eta * p.rate_max_hz * 1e-3 * (p.nudge_rate_per_ms / k) * (1.0 - (-k * p.presentation_ms).exp())
}

/// Eq. 1 at the rate level: `ΔW = η s ΔV`.
///
/// ```
/// use bpdl::spiking::delta_rule::eq1_rate_step;
/// assert_eq!(eq1_rate_step(0.5, &[1.0, 2.0], 1.25), vec![0.625, 1.25]);
/// ```
pub fn eq1_rate_step(eta: f64, s: &[f64], delta_v: f64) -> Vec<f64> {
    s.iter().map(|&si| eta * si * delta_v).collect()
}

/// The delta rule: `ΔW = ε s (y − Wᵀs)`.
pub fn delta_rule_step(epsilon: f64, w: &[f64], s: &[f64], y: f64) -> Vec<f64> {
    let err = y - dot(w, s);
    s.iter().map(|&si| epsilon * si * err).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A linear regression task: rows of `x` (with a trailing bias input of 1) and targets `y`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionTask {
    /// The inputs, one row per example, each `inputs + 1` long (last entry: the bias, 1).
    pub x: Vec<Vec<f64>>,
    /// The targets.
    pub y: Vec<f64>,
    /// The weights that generated the targets.
    pub w_true: Vec<f64>,
}

/// Draws a task: `x_i ~ U(0, 1)`, `w* ~ U(−1, 1)`, `y = w*ᵀx + N(0, noise²)`.
pub fn make_task(p: &DeltaRuleParams, rng: &mut Rng) -> RegressionTask {
    let d = p.inputs + 1;
    let w_true: Vec<f64> = (0..d).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
    let mut x = Vec::with_capacity(p.examples);
    let mut y = Vec::with_capacity(p.examples);
    for _ in 0..p.examples {
        let mut row: Vec<f64> = (0..p.inputs).map(|_| rng.random::<f64>()).collect();
        row.push(1.0);
        let noise: f64 = StandardNormal.sample(rng);
        y.push(dot(&w_true, &row) + p.target_noise_std * noise);
        x.push(row);
    }
    RegressionTask { x, y, w_true }
}

/// The least-squares solution of `x w ≈ y` from the normal equations `(xᵀx) w = xᵀy`
/// (Gaussian elimination with partial pivoting); `None` if `xᵀx` is singular.
///
/// ```
/// use bpdl::spiking::delta_rule::least_squares;
/// // y = 2 x + 1 exactly
/// let x = vec![vec![0.0, 1.0], vec![1.0, 1.0], vec![2.0, 1.0]];
/// let w = least_squares(&x, &[1.0, 3.0, 5.0]).unwrap();
/// assert!((w[0] - 2.0).abs() < 1e-12 && (w[1] - 1.0).abs() < 1e-12);
/// ```
pub fn least_squares(x: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let d = x.first()?.len();
    let mut a = vec![vec![0.0; d + 1]; d];
    for (row, &t) in x.iter().zip(y) {
        for i in 0..d {
            for j in 0..d {
                a[i][j] += row[i] * row[j];
            }
            a[i][d] += row[i] * t;
        }
    }
    for c in 0..d {
        let pivot = (c..d).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[pivot][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, pivot);
        let pivot_row = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot_row[c];
                for (x, p) in row.iter_mut().zip(&pivot_row).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..d).map(|i| a[i][d] / a[i][i]).collect())
}

/// One presentation of `(x, y)` to the spiking neuron with weights `w`: returns Eq. 1's
/// `ΔW_i = η Σ_{spikes of i} dV/dt` accumulated over the presentation, and the number of time
/// steps simulated.
pub fn present(
    w: &[f64],
    x: &[f64],
    y: f64,
    eta: f64,
    p: &DeltaRuleParams,
    rng: &mut Rng,
) -> (Vec<f64>, usize) {
    let dt = p.dt_ms;
    let steps = (p.presentation_ms / dt).round() as usize;
    let p_spike: Vec<f64> = x
        .iter()
        .map(|&xi| (xi * p.rate_max_hz * 1e-3 * dt).clamp(0.0, 1.0))
        .collect();
    let c_decay = (-dt / p.tau_synapse_ms).exp();
    let c_jump = 1.0 / (p.rate_max_hz * 1e-3 * p.tau_synapse_ms);
    // start at the stationary means: c_i = x_i, V = Wᵀx
    let mut c: Vec<f64> = x.to_vec();
    let mut v = dot(w, x);
    let mut v_prev = v;
    let mut dw = vec![0.0; w.len()];
    for _ in 0..steps {
        let slope = (v - v_prev) / dt;
        for i in 0..x.len() {
            c[i] *= c_decay;
            if rng.random::<f64>() < p_spike[i] {
                dw[i] += super::stdp::weight_change(eta, 1.0, slope);
                c[i] += c_jump;
            }
        }
        let f = dot(w, &c);
        v_prev = v;
        v += dt * ((f - v) / p.tau_membrane_ms + p.nudge_rate_per_ms * (y - v));
    }
    (dw, steps)
}

/// What [`run`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaRuleReport {
    /// The least-squares weights (last entry: bias).
    pub w_least_squares: Vec<f64>,
    /// The weights the spiking neuron learned with Eq. 1.
    pub w_spiking: Vec<f64>,
    /// The weights the rate-level delta rule learned with the same effective learning rate and
    /// example order.
    pub w_rate: Vec<f64>,
    /// The weights that generated the targets.
    pub w_true: Vec<f64>,
    /// `‖w_spiking − w_ls‖ / ‖w_ls‖`.
    pub relative_error_spiking: f64,
    /// `‖w_rate − w_ls‖ / ‖w_ls‖`.
    pub relative_error_rate: f64,
    /// `‖w_spiking − w_ls‖`.
    pub weight_error_spiking: f64,
    /// Mean squared error of the least-squares weights on the training set.
    pub mse_least_squares: f64,
    /// Mean squared error of the spiking neuron's weights.
    pub mse_spiking: f64,
    /// Mean squared error of the initial weights (zero).
    pub mse_initial: f64,
    /// ε at the start of training.
    pub effective_learning_rate: f64,
    /// Presentations simulated.
    pub presentations: usize,
    /// Neuron time steps simulated.
    pub steps: usize,
}

fn mse(w: &[f64], t: &RegressionTask) -> f64 {
    t.x.iter()
        .zip(&t.y)
        .map(|(x, y)| (y - dot(w, x)).powi(2))
        .sum::<f64>()
        / t.y.len() as f64
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Trains the spiking neuron with Eq. 1 only (and the rate-level delta rule alongside, on the
/// same example order) from zero weights, on a task drawn from `task_rng`.
pub fn run(
    p: &DeltaRuleParams,
    task_rng: &mut Rng,
    train_rng: &mut Rng,
) -> Result<DeltaRuleReport> {
    let task = make_task(p, task_rng);
    let w_ls = least_squares(&task.x, &task.y).ok_or_else(|| {
        Error::config(
            "delta_rule.examples",
            "the regression task is singular: use more examples than inputs",
        )
    })?;
    let d = p.inputs + 1;
    let (mut w_spk, mut w_rate) = (vec![0.0; d], vec![0.0; d]);
    let mut order: Vec<usize> = (0..p.examples).collect();
    let (mut presentations, mut steps) = (0, 0);
    for epoch in 0..p.epochs {
        let eta = p.eta / (1.0 + epoch as f64 / p.eta_decay_epochs);
        let eps = effective_learning_rate(p, eta);
        order.shuffle(train_rng);
        for &k in &order {
            let (dw, n) = present(&w_spk, &task.x[k], task.y[k], eta, p, train_rng);
            for (w, d) in w_spk.iter_mut().zip(dw) {
                *w += d;
            }
            let dr = delta_rule_step(eps, &w_rate, &task.x[k], task.y[k]);
            for (w, d) in w_rate.iter_mut().zip(dr) {
                *w += d;
            }
            presentations += 1;
            steps += n;
        }
    }
    if w_spk.iter().any(|w| !w.is_finite()) {
        return Err(Error::NonFinite {
            layer: "spiking delta-rule weights".into(),
            step: format!("after {presentations} presentations; lower delta_rule.eta"),
        });
    }
    let norm = w_ls
        .iter()
        .map(|w| w * w)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    Ok(DeltaRuleReport {
        relative_error_spiking: distance(&w_spk, &w_ls) / norm,
        relative_error_rate: distance(&w_rate, &w_ls) / norm,
        weight_error_spiking: distance(&w_spk, &w_ls),
        mse_least_squares: mse(&w_ls, &task),
        mse_spiking: mse(&w_spk, &task),
        mse_initial: mse(&vec![0.0; d], &task),
        effective_learning_rate: effective_learning_rate(p, p.eta),
        presentations,
        steps,
        w_least_squares: w_ls,
        w_spiking: w_spk,
        w_rate,
        w_true: task.w_true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq1_on_a_nudged_linear_neuron_is_the_delta_rule_step() {
        // Hand-derived: s = (1, 2), W = (0.5, −1), y = 1 → V = 0.5 − 2 = −1.5, y − V = 2.5.
        // Nudge β = 0.5: ΔV = 1.25; Eq. 1 with η = 0.2: ΔW = 0.2·(1, 2)·1.25 = (0.25, 0.5).
        // Delta rule with ε = ηβ = 0.1: ΔW = 0.1·2.5·(1, 2) = (0.25, 0.5).
        let (s, w, y) = ([1.0, 2.0], [0.5, -1.0], 1.0);
        let dv = 0.5 * (y - dot(&w, &s));
        let eq1 = eq1_rate_step(0.2, &s, dv);
        let delta = delta_rule_step(0.1, &w, &s, y);
        for (a, b) in eq1.iter().zip([0.25, 0.5]) {
            assert!((a - b).abs() < 1e-15);
        }
        assert_eq!(eq1, delta);
    }

    #[test]
    fn least_squares_solves_the_normal_equations() {
        // A consistent overdetermined system: y = x0 − 2 x1 + 0.5 exactly.
        let x: Vec<Vec<f64>> = (0..6)
            .map(|k| vec![k as f64, (k * k % 5) as f64, 1.0])
            .collect();
        let y: Vec<f64> = x.iter().map(|r| r[0] - 2.0 * r[1] + 0.5).collect();
        let w = least_squares(&x, &y).unwrap();
        for (a, b) in w.iter().zip([1.0, -2.0, 0.5]) {
            assert!((a - b).abs() < 1e-10, "{w:?}");
        }
        assert!(least_squares(&[vec![1.0, 2.0], vec![2.0, 4.0]], &[1.0, 2.0]).is_none());
    }
}
