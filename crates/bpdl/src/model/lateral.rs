//! A learned lateral top prior (paper §9: "lateral connections to implement priors among
//! neurons of a layer"): every top unit predicts itself from the other units of its layer,
//!
//! ```text
//! a_i = Σ_{j≠i} V_ij h_j + c_i,      ĥ_i = φ(a_i)                          (V_ii = 0)
//! linear:   φ = id,   p(h_i | h_{−i}) = N(ĥ_i, s_i²),   loss ½ Σ_i (ĥ_i − h_i)²
//! sigmoid:  φ = sigm, p(h_i | h_{−i}) = Bernoulli(ĥ_i), loss −Σ_i h_i log ĥ_i + (1 − h_i) log(1 − ĥ_i)
//! local rule (both):  ΔV_ij = −η (ĥ_i − h_i) h_j,   Δc_i = −η (ĥ_i − h_i)   (= −η ∂loss)
//! ```
//!
//! a denoising auto-encoder within the layer whose "corruption" hides unit i from its own
//! prediction. The rule is local: post-synaptic error times pre-synaptic activity. Fitted by
//! minibatch SGD with heavy-ball momentum on the inferred top codes of the training set
//! ([`LateralPrior::fit`]), after which the linear variant estimates its residual variances
//! `s_i² = mean (ĥ_i − h_i)²` (multiplied by `train.prior_variance_scale`, like the Gaussian's).
//!
//! At its optimum the linear variant holds the conditionals of the full-covariance Gaussian
//! `N(μ, Σ)` of the codes: with `Λ = Σ⁻¹`, `V_ij = −Λ_ij/Λ_ii`, `c_i = μ_i − Σ_j V_ij μ_j`,
//! `s_i² = 1/Λ_ii` (least squares of `h_i` on `h_{−i}`). The sigmoid variant is a fully
//! connected dependency network, trained by pseudo-likelihood (Heckerman et al. 2000; Besag
//! 1975): for near-binary sigmoid codes, which a Gaussian cannot describe.
//!
//! **Sampling** ([`LateralPrior::sample`]) runs the dependency network as a Gibbs chain, started
//! from the Gaussian draw of the prior: systematic-scan sweeps (each unit in turn, from the
//! current values of the others). When the conditionals are those of one joint distribution (a
//! Gaussian with symmetric `Λ`; a Boltzmann machine, `V` symmetric, for the sigmoid), each unit's
//! update leaves that joint invariant, so the chain converges to it. Updating all units at once
//! from the previous state (a parallel, "synchronous" step) is cheaper but samples another
//! distribution (for a Gaussian, the solution of a Lyapunov equation, not `Σ`) and can diverge
//! when `V`'s spectral radius exceeds 1, so the sweeps are sequential. The sample returned is
//! the chain's last state for the linear variant and the conditional means `ĥ = sigm(a)` of the
//! last state for the sigmoid one (values in [0, 1] like the training codes, and the expectation
//! of the next unit-wise Bernoulli draw).
//!
//! **Density.** [`LateralPrior::pseudo_log_likelihood`] is `Σ_i log p(h_i | h_{−i})`, reported
//! as the top-prior term `log p(h_L)` (the dependency network has no normalised joint density).
//!
//! Symbols: `n` top units, `V` the lateral weights (stored `[n_in, n_out]`: `weight[j, i] =
//! V_ij`), `c` the biases, `s²` the residual variances, `B` a minibatch.

use ndarray::{Array1, ArrayView2, s};

use crate::Activation;
pub use crate::backend::lateral::Conditional;
use crate::backend::{Device, Matrix};
use crate::config::LateralPriorConfig;
use crate::data::batches::{batches, epoch_order, gather_rows};
use crate::error::{Error, Result};
use crate::rng::Rng;

impl Conditional {
    /// φ of the predictions.
    pub fn activation(self) -> Activation {
        match self {
            Self::Linear => Activation::Linear,
            Self::Sigmoid => Activation::Sigmoid,
        }
    }

    /// The name in configs and checkpoints (`"linear"`, `"sigmoid"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Sigmoid => "sigmoid",
        }
    }
}

impl std::str::FromStr for Conditional {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "linear" => Ok(Self::Linear),
            "sigmoid" => Ok(Self::Sigmoid),
            _ => Err(Error::Usage(format!(
                "unknown lateral conditional `{s}`: use linear or sigmoid"
            ))),
        }
    }
}

/// The lateral part of the top prior: `V`, `c`, `s²` and the number of Gibbs sweeps that
/// define its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct LateralPrior {
    /// Linear-Gaussian or sigmoid-Bernoulli conditionals.
    pub conditional: Conditional,
    /// `[n, n]`, `weight[j, i] = V_ij` (from unit j to unit i); the diagonal is 0.
    pub weight: Matrix,
    /// `c`, `[n]`.
    pub bias: Array1<f32>,
    /// `s_i²` of the linear conditionals, `[n]` (ones, unused, for the sigmoid).
    pub var: Array1<f32>,
    /// Gibbs sweeps of [`LateralPrior::sample`].
    pub sweeps: usize,
}

/// Running state of [`LateralPrior::fit`]: gradients and momenta.
#[derive(Debug, Clone)]
pub struct LateralGradient {
    /// `∂loss/∂W` (mean over the minibatch), `[n, n]`, zero diagonal.
    pub weight: Matrix,
    /// `∂loss/∂c`, `[n]`.
    pub bias: Array1<f32>,
    e: Matrix,
}

impl LateralGradient {
    /// Zero gradients for `n` units.
    pub fn new(n: usize) -> Self {
        Self {
            weight: Matrix::zeros((n, n)),
            bias: Array1::zeros(n),
            e: Matrix::zeros((0, n)),
        }
    }
}

impl LateralPrior {
    /// `V = 0`, `c = 0`, `s² = 1` for `n` units.
    pub fn new(conditional: Conditional, n: usize, sweeps: usize) -> Self {
        Self {
            conditional,
            weight: Matrix::zeros((n, n)),
            bias: Array1::zeros(n),
            var: Array1::ones(n),
            sweeps,
        }
    }

    /// n, the number of units.
    pub fn size(&self) -> usize {
        self.bias.len()
    }

    /// `a = h·W + c`, the pre-activations.
    ///
    /// # Shapes
    /// `h, out: [B, n]`.
    pub fn pre_activation(&self, dev: &Device, h: ArrayView2<'_, f32>, out: &mut Matrix) {
        self.apply_with(dev, h, Activation::Linear, out);
    }

    /// `ĥ = φ(h·W + c)`: every unit's prediction from the others (the inference code can use
    /// `α·(ĥ − h)` as the top layer's prior term).
    ///
    /// # Shapes
    /// `h, out: [B, n]` (`out` is resized when it has another shape).
    pub fn prediction(&self, dev: &Device, h: ArrayView2<'_, f32>, out: &mut Matrix) {
        self.apply_with(dev, h, self.conditional.activation(), out);
    }

    fn apply_with(&self, dev: &Device, h: ArrayView2<'_, f32>, act: Activation, out: &mut Matrix) {
        if out.dim() != h.dim() {
            *out = Matrix::zeros(h.dim());
        }
        dev.affine(h, self.weight.view(), self.bias.view(), act, out.view_mut());
    }

    /// The local rule's gradient on a minibatch `h` with predictions `pred = ĥ(h)`:
    /// `∂W_ji = mean_b (ĥ_bi − h_bi) h_bj` (diagonal 0), `∂c_i = mean_b (ĥ_bi − h_bi)`, exactly
    /// the gradient of the variant's loss (mean over the minibatch).
    pub fn local_gradient(
        &self,
        dev: &Device,
        h: ArrayView2<'_, f32>,
        pred: ArrayView2<'_, f32>,
        grad: &mut LateralGradient,
    ) {
        dev.lateral_gradient(
            h,
            pred,
            &mut grad.e,
            grad.weight.view_mut(),
            grad.bias.view_mut(),
        );
    }

    /// `Σ_i log p(h_i | h_{−i})` per row, in f64 (the pseudo-log-likelihood; for the sigmoid, the
    /// negative cross-entropy, a log-probability when `h` is binary).
    ///
    /// # Shapes
    /// `h: [B, n]`; returns `[B]`.
    pub fn pseudo_log_likelihood(&self, dev: &Device, h: ArrayView2<'_, f32>) -> Array1<f64> {
        let mut a = Matrix::zeros(h.dim());
        self.pre_activation(dev, h, &mut a);
        dev.lateral_log_conditionals(h, a.view(), self.var.view(), self.conditional)
    }

    /// `sweeps` Gibbs sweeps of every row of `h` (one chain per row), in place: `h` holds the
    /// chains' states (binary for the sigmoid).
    pub fn gibbs_sweeps(&self, dev: &Device, h: &mut Matrix, sweeps: usize, rng: &mut Rng) {
        dev.lateral_gibbs_sweeps(
            h.view_mut(),
            (self.weight.view(), self.bias.view(), self.var.view()),
            self.conditional,
            sweeps,
            rng,
        );
    }

    /// The prior's samples from chains started at `h` (the Gaussian draw; clipped to [0, 1] for
    /// the sigmoid): [`LateralPrior::sweeps`] Gibbs sweeps, then `h` ← the last state (linear)
    /// or its conditional means `ĥ` (sigmoid). With 0 sweeps `h` is left as it is.
    pub fn sample(&self, dev: &Device, h: &mut Matrix, rng: &mut Rng) {
        if self.sweeps == 0 {
            return;
        }
        if self.conditional == Conditional::Sigmoid {
            dev.clip_to_unit_interval(h.view_mut());
        }
        self.gibbs_sweeps(dev, h, self.sweeps, rng);
        if self.conditional == Conditional::Sigmoid {
            let mut pred = Matrix::zeros(h.dim());
            self.prediction(dev, h.view(), &mut pred);
            *h = pred;
        }
    }

    /// Fits a lateral prior to `codes` (`[N, n]`, the inferred top codes) by the local rule:
    /// `c` starts at each unit's own mean (its logit for the sigmoid), `V` at 0, then
    /// `settings.epochs` passes of minibatch SGD with momentum in a fresh random order from
    /// `rng`; the linear variant then sets `s_i² = var_scale · mean (ĥ_i − h_i)²` (floored at
    /// 1e-8). The number of sweeps is `settings.sweeps`.
    ///
    /// Fails when the fit diverges (a non-finite loss), naming the epoch.
    pub fn fit(
        dev: &Device,
        conditional: Conditional,
        codes: ArrayView2<'_, f32>,
        settings: &LateralPriorConfig,
        var_scale: f64,
        rng: &mut Rng,
    ) -> Result<Self> {
        let (count, n) = codes.dim();
        let mut prior = Self::new(conditional, n, settings.sweeps);
        if count == 0 {
            return Ok(prior);
        }
        let (mut sum, mut sum_sq) = (Array1::<f64>::zeros(n), Array1::<f64>::zeros(n));
        dev.accumulate_moments(codes, sum.view_mut(), sum_sq.view_mut(), None);
        for (c, &total) in prior.bias.iter_mut().zip(&sum) {
            let m = total / count as f64;
            *c = match conditional {
                Conditional::Linear => m,
                Conditional::Sigmoid => {
                    let m = m.clamp(1e-3, 1.0 - 1e-3);
                    (m / (1.0 - m)).ln()
                }
            } as f32;
        }
        let batch = settings.batch_size.min(count).max(1);
        let mut grad = LateralGradient::new(n);
        let (mut vel_w, mut vel_c) = (Matrix::zeros((n, n)), Matrix::zeros((1, n)));
        let (mut x, mut pred) = (Matrix::zeros((batch, n)), Matrix::zeros((batch, n)));
        let (lr, momentum) = (settings.lr as f32, settings.momentum as f32);
        for epoch in 0..settings.epochs {
            let order = epoch_order(count, rng);
            for rows in order.chunks(batch) {
                if x.nrows() != rows.len() {
                    x = Matrix::zeros((rows.len(), n));
                }
                gather_rows(codes, rows, x.view_mut());
                prior.prediction(dev, x.view(), &mut pred);
                prior.local_gradient(dev, x.view(), pred.view(), &mut grad);
                dev.lateral_momentum_step(
                    prior.weight.view_mut(),
                    vel_w.view_mut(),
                    grad.weight.view(),
                    lr,
                    momentum,
                    true,
                );
                dev.lateral_momentum_step(
                    prior.bias.view_mut().insert_axis(ndarray::Axis(0)),
                    vel_c.view_mut(),
                    grad.bias.view().insert_axis(ndarray::Axis(0)),
                    lr,
                    momentum,
                    false,
                );
            }
            let weights = prior.weight.view();
            let bias = prior.bias.view().insert_axis(ndarray::Axis(0));
            if !(dev.all_finite(weights) && dev.all_finite(bias)) {
                return Err(Error::NonFinite {
                    layer: "the lateral top prior".into(),
                    step: format!(
                        "epoch {} of its fit (lower `train.lateral_prior.lr`)",
                        epoch + 1
                    ),
                });
            }
        }
        if conditional == Conditional::Linear {
            let mut sums = Array1::<f64>::zeros(n);
            for range in batches(count, batch) {
                let h = codes.slice(s![range, ..]);
                prior.prediction(dev, h, &mut pred);
                dev.lateral_residual_sums(h, pred.view(), sums.view_mut());
            }
            prior.var = sums.mapv(|q| ((q / count as f64).max(1e-8) * var_scale) as f32);
        }
        Ok(prior)
    }

    /// Checks what a file could get wrong: finite values, a zero diagonal, positive variances.
    pub fn check(&self) -> std::result::Result<(), String> {
        let n = self.size();
        if self.weight.dim() != (n, n) || self.var.len() != n {
            return Err(format!(
                "lateral weights {:?}, biases [{n}] and variances [{}] do not belong together",
                self.weight.dim(),
                self.var.len()
            ));
        }
        if !self.weight.iter().chain(&self.bias).all(|v| v.is_finite()) {
            return Err("the lateral weights or biases are not finite".into());
        }
        if self.weight.diag().iter().any(|&v| v != 0.0) {
            return Err("the lateral weights connect a unit to itself (non-zero diagonal)".into());
        }
        if !self.var.iter().all(|&v| v.is_finite() && v > 0.0) {
            return Err("the lateral residual variances are not positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;
    use ndarray::Array2;
    use rand::RngExt;

    /// The variant's loss, mean over the rows, written independently in f64 from its definition.
    fn loss_f64(conditional: Conditional, v: &Array2<f64>, c: &[f64], h: &Array2<f64>) -> f64 {
        let (b, n) = h.dim();
        let mut total = 0.0;
        for r in 0..b {
            for i in 0..n {
                let a: f64 = c[i]
                    + (0..n)
                        .filter(|&j| j != i)
                        .map(|j| v[[i, j]] * h[[r, j]])
                        .sum::<f64>();
                total += match conditional {
                    Conditional::Linear => 0.5 * (a - h[[r, i]]).powi(2),
                    Conditional::Sigmoid => {
                        let p = 1.0 / (1.0 + (-a).exp());
                        -(h[[r, i]] * p.ln() + (1.0 - h[[r, i]]) * (1.0 - p).ln())
                    }
                };
            }
        }
        total / b as f64
    }

    /// If the rule were not minus the gradient of its own loss (a missing φ′ cancellation, a
    /// transposed V, a diagonal that leaks), the fit would settle elsewhere than the loss's
    /// minimum, silently.
    #[test]
    fn the_local_rule_is_the_gradient_of_its_own_loss_for_both_variants() {
        let dev = Device::cpu(1).unwrap();
        let (b, n) = (7, 5);
        let mut r = Seed(11).stream("t");
        let h: Matrix = Array2::from_shape_fn((b, n), |_| r.random::<f32>());
        for conditional in [Conditional::Linear, Conditional::Sigmoid] {
            let mut p = LateralPrior::new(conditional, n, 0);
            p.weight =
                Array2::from_shape_fn(
                    (n, n),
                    |(j, i)| {
                        if i == j { 0.0 } else { r.random::<f32>() - 0.5 }
                    },
                );
            p.bias = Array1::from_shape_fn(n, |_| r.random::<f32>() - 0.5);
            let mut pred = Matrix::zeros((b, n));
            p.prediction(&dev, h.view(), &mut pred);
            let mut g = LateralGradient::new(n);
            p.local_gradient(&dev, h.view(), pred.view(), &mut g);
            // V_ij = weight[j, i]
            let v0 = Array2::from_shape_fn((n, n), |(i, j)| f64::from(p.weight[[j, i]]));
            let c0: Vec<f64> = p.bias.iter().map(|&x| f64::from(x)).collect();
            let h64 = h.mapv(f64::from);
            let eps = 1e-6;
            for i in 0..n {
                for j in 0..n {
                    if i == j {
                        assert_eq!(g.weight[[j, i]], 0.0, "the diagonal is not learnt");
                        continue;
                    }
                    let (mut up, mut down) = (v0.clone(), v0.clone());
                    up[[i, j]] += eps;
                    down[[i, j]] -= eps;
                    let fd = (loss_f64(conditional, &up, &c0, &h64)
                        - loss_f64(conditional, &down, &c0, &h64))
                        / (2.0 * eps);
                    let got = f64::from(g.weight[[j, i]]);
                    assert!(
                        (got - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                        "{conditional:?} V[{i},{j}]: {got} vs {fd}"
                    );
                }
                let (mut up, mut down) = (c0.clone(), c0.clone());
                up[i] += eps;
                down[i] -= eps;
                let fd = (loss_f64(conditional, &v0, &up, &h64)
                    - loss_f64(conditional, &v0, &down, &h64))
                    / (2.0 * eps);
                let got = f64::from(g.bias[i]);
                assert!(
                    (got - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                    "{conditional:?} c[{i}]: {got} vs {fd}"
                );
            }
        }
    }

    /// The pseudo-log-likelihood is the sum of the conditionals' log-densities: a hand-computed
    /// two-unit case for each variant.
    #[test]
    fn the_pseudo_log_likelihood_sums_the_log_conditionals() {
        let dev = Device::cpu(1).unwrap();
        let mut p = LateralPrior::new(Conditional::Linear, 2, 0);
        // a_0 = 0.5·h_1 + 0.1, a_1 = −1·h_0 + 0.2
        p.weight = ndarray::array![[0.0, -1.0], [0.5, 0.0]];
        p.bias = ndarray::array![0.1, 0.2];
        p.var = ndarray::array![0.25, 4.0];
        let h = ndarray::array![[1.0f32, 0.0]];
        let (a0, a1) = (0.1f64, -1.0 + 0.2);
        let log_n = |x: f64, m: f64, v: f64| {
            -0.5 * (x - m).powi(2) / v - 0.5 * (2.0 * std::f64::consts::PI * v).ln()
        };
        let expected = log_n(1.0, a0, 0.25) + log_n(0.0, a1, 4.0);
        let got = p.pseudo_log_likelihood(&dev, h.view())[0];
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        p.conditional = Conditional::Sigmoid;
        let sigm = |a: f64| 1.0 / (1.0 + (-a).exp());
        let expected = sigm(a0).ln() + (1.0 - sigm(a1)).ln();
        let got = p.pseudo_log_likelihood(&dev, h.view())[0];
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    }

    #[test]
    fn a_mis_shaped_or_self_connected_prior_fails_its_check() {
        let mut p = LateralPrior::new(Conditional::Sigmoid, 3, 1);
        assert!(p.check().is_ok());
        p.weight[[1, 1]] = 0.5;
        assert!(p.check().unwrap_err().contains("diagonal"));
        p.weight[[1, 1]] = 0.0;
        p.var[2] = 0.0;
        assert!(p.check().unwrap_err().contains("variances"));
        p.var[2] = 1.0;
        p.bias[0] = f32::NAN;
        assert!(p.check().unwrap_err().contains("finite"));
    }
}
