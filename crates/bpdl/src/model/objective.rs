//! The objective that inference climbs: the joint log-density of the model with Gaussian
//! conditionals of variances σ_l² (unit unless `model.conditional_variance = "learned"`,
//! [`super::noise_variance`]; gap G12), without the `2π` constants (the quantity of the paper's
//! Fig. 4):
//!
//! ```text
//! log p(x, h) + const = Σ_{l=1}^{L} [ −‖h_{l−1} − g_l(h_l)‖² / (2σ_l²) − (n_{l−1}/2)·ln σ_l² ]   (h_0 = x)
//! ```
//!
//! With unit variances this is `−½ Σ_l ‖h_{l−1} − g_l(h_l)‖²`, Algorithm 2's. The top prior
//! `log p(h_L)` is ignored during training (paper §4) and is therefore not part of this quantity;
//! [`log_top_prior`] gives it separately, with its constants.

use ndarray::{Array1, ArrayView2, ArrayViewMut1};

use super::{GenerativeModel, NoiseVariances, TopPrior};
use crate::backend::{Device, Matrix};

/// Writes `log p(x, h) + const` per example into `out`, from the decoders' outputs
/// `g[l−1] = g_l(h_l)` already computed for the current `h` (inference keeps them cached), with
/// the variances `noise`.
///
/// # Shapes
/// `x: [batch, n_0]`, `h[l−1]: [batch, n_l]`, `g[l−1]: [batch, n_{l−1}]`, `out: [batch]`.
pub fn log_joint_from_reconstructions(
    dev: &Device,
    noise: &NoiseVariances,
    x: ArrayView2<'_, f32>,
    (h, g): (&[Matrix], &[Matrix]),
    mut out: ArrayViewMut1<'_, f64>,
) {
    out.fill(0.0);
    for (l, g_l) in g.iter().enumerate() {
        let below = if l == 0 { x } else { h[l - 1].view() };
        let term = noise.term(l, below.ncols());
        dev.half_sq_dist_rows(out.view_mut(), below, g_l.view(), term);
    }
}

/// `log p(x, h) + const` per example, computing the decoders' outputs (allocates; for evaluation
/// and tests, not the hot loop).
pub fn log_joint(
    dev: &Device,
    model: &GenerativeModel,
    x: ArrayView2<'_, f32>,
    h: &[Matrix],
) -> Array1<f64> {
    let g: Vec<Matrix> = model
        .pairs
        .iter()
        .zip(h)
        .map(|(pair, h_l)| pair.decoder.apply(dev, h_l.view()))
        .collect();
    let mut out = Array1::zeros(x.nrows());
    log_joint_from_reconstructions(dev, &model.noise, x, (h, &g), out.view_mut());
    out
}

/// `log N(h_L; mean, Σ)` per example, constants included (Σ diagonal, or `L·Lᵀ` when the prior
/// has a full factor); for a prior with lateral connections, their pseudo-log-likelihood
/// `Σ_i log p(h_i | h_{−i})` ([`super::lateral::LateralPrior::pseudo_log_likelihood`]).
pub fn log_top_prior(dev: &Device, prior: &TopPrior, h_top: ArrayView2<'_, f32>) -> Array1<f64> {
    if let Some(lateral) = &prior.lateral {
        return lateral.pseudo_log_likelihood(dev, h_top);
    }
    dev.log_gaussian_rows(
        h_top,
        prior.mean.view(),
        prior.var.view(),
        prior.factor.as_ref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, array};

    #[test]
    fn log_top_prior_matches_the_univariate_gaussian_density() {
        let dev = Device::cpu(1).unwrap();
        let prior = TopPrior {
            mean: arr1(&[1.0]),
            var: arr1(&[4.0]),
            factor: None,
            lateral: None,
        };
        let lp = log_top_prior(&dev, &prior, array![[3.0f32]].view());
        // N(3; 1, 4) = exp(−(2²)/(2·4)) / √(2π·4)
        let expected = (-0.5f64).exp() / (8.0 * std::f64::consts::PI).sqrt();
        assert!((lp[0] - expected.ln()).abs() < 1e-12);
        // the same density through a 1×1 Cholesky factor (L = 2)
        let full = TopPrior {
            factor: Some(array![[2.0f32]]),
            ..prior
        };
        let lp = log_top_prior(&dev, &full, array![[3.0f32]].view());
        assert!((lp[0] - expected.ln()).abs() < 1e-12);
    }

    /// A correlated 2-D Gaussian through its Cholesky factor against the density written with
    /// the explicit inverse and determinant of Σ = L·Lᵀ.
    #[test]
    fn the_full_covariance_density_matches_the_explicit_two_by_two_inverse() {
        let dev = Device::cpu(1).unwrap();
        // L = [[2, 0], [1.5, 0.5]] → Σ = [[4, 3], [3, 2.5]], det Σ = 1
        let (l00, l10, l11) = (2.0f64, 1.5, 0.5);
        let sigma = [[l00 * l00, l00 * l10], [l00 * l10, l10 * l10 + l11 * l11]];
        let det = sigma[0][0] * sigma[1][1] - sigma[0][1] * sigma[1][0];
        let inv = [
            [sigma[1][1] / det, -sigma[0][1] / det],
            [-sigma[1][0] / det, sigma[0][0] / det],
        ];
        let prior = TopPrior {
            mean: arr1(&[0.5, -1.0]),
            var: arr1(&[sigma[0][0] as f32, sigma[1][1] as f32]),
            factor: Some(array![[l00 as f32, 0.0], [l10 as f32, l11 as f32]]),
            lateral: None,
        };
        let h = array![[1.0f32, 2.0], [-3.0, 0.25], [0.5, -1.0]];
        let lp = log_top_prior(&dev, &prior, h.view());
        for (i, row) in h.rows().into_iter().enumerate() {
            let d = [f64::from(row[0]) - 0.5, f64::from(row[1]) + 1.0];
            let quad = d[0] * (inv[0][0] * d[0] + inv[0][1] * d[1])
                + d[1] * (inv[1][0] * d[0] + inv[1][1] * d[1]);
            let expected =
                -0.5 * quad - 0.5 * (4.0 * std::f64::consts::PI * std::f64::consts::PI * det).ln();
            assert!(
                (lp[i] - expected).abs() < 1e-9,
                "row {i}: {} vs {expected}",
                lp[i]
            );
        }
    }
}
