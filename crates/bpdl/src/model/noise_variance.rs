//! The variances of the model's Gaussian conditionals (paper §4, Eq. 7; gap G12):
//!
//! ```text
//! p(h_{l−1} | h_l) = N(g_l(h_l), σ_l² I),      h_0 = x
//! σ_l² ← σ_l² + ρ_t·(‖h_{l−1} − g_l(h_l)‖² / (B·n_{l−1}) − σ_l²),   ρ_t = max(1/t, ρ)
//! ```
//!
//! The paper never gives σ_l²; Algorithm 2 and bpdl's `"unit"` setting take σ_l² = 1 (gap G12),
//! which for pixels in [0, 1] is a density far broader than the data. With
//! `model.conditional_variance = "learned"` the observed layer keeps the maximum-likelihood
//! estimate of σ_1², the M-step of variational EM for that parameter: the mean squared residual of
//! g_1 at the values INFERENCE settled on (the E-step's last iterate, the values the maps then
//! learn toward), averaged over minibatches (a running mean for the first `1/ρ` minibatches,
//! then an exponential average with rate ρ = [`RATE`]). The estimate is local: a unit needs only
//! its own prediction error. It enters the objective `log p(x, h)` (Fig. 4) and, with
//! `inference.weighting = "gauss-newton"`, the weighting of INFERENCE's two terms; the learning
//! rules do not use it (dividing a layer's loss by σ_l² only rescales its learning rate).
//!
//! The latent conditionals keep σ_l² = 1 (l ≥ 2): INFERENCE returns a point, not a posterior
//! with an entropy, so the maximum-likelihood σ_l² of a *latent* layer is degenerate: h_{l−1}
//! can sit on g_l(h_l), sending σ_l² to 0 and `log p(x, h)` to +∞. `"learned-all"` learns them
//! anyway, to measure that (`experiments/inference-fidelity`).

use ndarray::ArrayView2;

use crate::backend::{Device, Matrix};

/// ρ, the rate of the exponential average once `1/ρ` minibatches have been seen.
pub const RATE: f64 = 0.1;

/// σ_l² of every conditional `p(h_{l−1} | h_l)`, `var[l − 1]`, and how many minibatches
/// estimated them (0: the unit variances of gap G12).
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseVariances {
    /// σ_l², index `l − 1` (1 for every layer until learned).
    pub var: Vec<f64>,
    /// Minibatches averaged so far.
    pub updates: u64,
}

impl NoiseVariances {
    /// Unit variances for a model of `depth` latent layers (Algorithm 2, gap G12).
    pub fn unit(depth: usize) -> Self {
        Self {
            var: vec![1.0; depth],
            updates: 0,
        }
    }

    /// `1/σ_l²` of layer `l − 1` (1 for a layer it does not hold).
    pub fn precision(&self, l: usize) -> f64 {
        1.0 / self.var.get(l).copied().unwrap_or(1.0)
    }

    /// `1/σ_l²` and `(n/2)·ln σ_l²` of layer `l − 1`, `n` the width of the layer it predicts:
    /// the weight and the normaliser of its term in `log p(x, h)`.
    pub fn term(&self, l: usize, n: usize) -> (f64, f64) {
        let precision = self.precision(l);
        (precision, -0.5 * n as f64 * precision.ln())
    }

    /// One minibatch's update of σ_l² from the residuals at the inferred values, for the layers
    /// of `recon` (the first `recon.len()`): `x` is the minibatch, `h[l − 1]` the inferred `h_l`,
    /// `recon[l − 1] = g_l(h_l)` at those values.
    pub fn observe(
        &mut self,
        dev: &Device,
        x: ArrayView2<'_, f32>,
        h: &[Matrix],
        recon: &[Matrix],
    ) {
        self.updates += 1;
        let rho = (1.0 / self.updates as f64).max(RATE);
        for (l, (v, g)) in self.var.iter_mut().zip(recon).enumerate() {
            let below = if l == 0 { x } else { h[l - 1].view() };
            let n = (below.nrows() * below.ncols()).max(1) as f64;
            let mse = dev.sum_sq_diff(below, g.view()) / n;
            *v += rho * (mse - *v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The first `1/ρ` updates are the running mean of the per-minibatch mean squared residuals.
    #[test]
    fn the_estimate_is_the_running_mean_of_the_residuals() {
        let dev = Device::cpu(1).unwrap();
        let mut v = NoiseVariances::unit(1);
        let g = vec![array![[0.0f32, 0.0], [0.0, 0.0]]];
        // minibatch residual means: (1 + 4 + 0 + 1)/4 = 1.5, then (9 + 9 + 9 + 9)/4 = 9
        v.observe(&dev, array![[1.0f32, 2.0], [0.0, 1.0]].view(), &[], &g);
        assert!((v.var[0] - 1.5).abs() < 1e-12);
        v.observe(&dev, array![[3.0f32, -3.0], [3.0, 3.0]].view(), &[], &g);
        assert!((v.var[0] - 5.25).abs() < 1e-12);
        let (w, c) = v.term(0, 2);
        assert!((w - 1.0 / 5.25).abs() < 1e-12 && (c - 5.25f64.ln()).abs() < 1e-12);
    }
}
